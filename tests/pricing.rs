//! Pricing over real gRPC with the bundled rules and tables (the CY2025 PFS sample, the
//! CY2025 GPCI file and the example Acme fee table): amounts and traces on every response,
//! risk-weighted expected revenue, the locality field, payer contracts hot-edited while the
//! service runs, and the full CMS PFS files when ../shared/data has them.
//! Amounts are worked out by hand from the table rows (CF 32.3465).

mod support;

use std::path::Path;
use std::time::Duration;

use claimscrub::proto::v1 as pb;
use support::{TestServer, bundled_rules, config, copy_bundled_rules, eventually};
use tonic::Code;

fn line(number: u32, code: &str, mods: &[&str], units: f64, charge: i64) -> pb::ServiceLine {
    pb::ServiceLine {
        line_number: number,
        procedure_code: code.into(),
        modifiers: mods.iter().map(|m| m.to_string()).collect(),
        units,
        charge_cents: charge,
        service_date: "2025-07-14".into(),
        diagnosis_pointers: vec![1],
        ..Default::default()
    }
}

fn claim(id: &str, payer: &str, kind: pb::PayerType, lines: Vec<pb::ServiceLine>) -> pb::Claim {
    pb::Claim {
        claim_id: id.into(),
        claim_type: pb::ClaimType::Professional as i32,
        payer: Some(pb::Payer {
            payer_id: payer.into(),
            r#type: kind as i32,
        }),
        patient: Some(pb::Patient {
            birth_date: "1950-03-01".into(),
            sex: pb::Sex::Female as i32,
            member_id: String::new(),
        }),
        billing_provider: Some(pb::Provider {
            npi: "1234567893".into(),
            taxonomy: String::new(),
        }),
        place_of_service: "11".into(),
        diagnoses: vec![pb::Diagnosis {
            code: "M17.0".into(),
            present_on_admission: String::new(),
            code_system: String::new(),
        }],
        lines,
        ..Default::default()
    }
}

fn request(claim: pb::Claim) -> pb::ScrubClaimRequest {
    pb::ScrubClaimRequest {
        claim: Some(claim),
        as_of_date: "2025-08-01".into(),
    }
}

fn pricing(resp: &pb::ScrubClaimResponse) -> &pb::ClaimPricing {
    resp.pricing
        .as_ref()
        .expect("every scrubbed claim is priced")
}

#[tokio::test]
async fn medicare_pricing_and_expected_revenue() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut client = server.client().await;

    // Manhattan (MAC 13202, locality 01), office. 99214: (1.92 × 1.065 + 1.80 × 1.166 +
    // 0.15 × 1.656) × 32.3465 = 4.392 × 32.3465 = 142.065828 → 142.07.
    // 97110 × 8 units: first unit (0.45 × 1.065 + 0.43 × 1.166 + 0.01 × 1.656) × 32.3465 =
    // (0.47925 + 0.50138 + 0.01656) × 32.3465 = 0.99719 × 32.3465 = 32.2556... → 32.26; each
    // further unit with 50% PE (therapy MPPR): (0.47925 + 0.25069 + 0.01656) × 32.3465 =
    // 0.7465 × 32.3465 = 24.1466... → 24.15; 32.26 + 7 × 24.15 = 201.31. 8 units exceed the MUE of 6, so that line carries a
    // finding and its expected amount is discounted by the finding's denial probability.
    let mut c = claim(
        "P-MCR",
        "MCR-J15",
        pb::PayerType::Medicare,
        vec![
            line(1, "99214", &[], 1.0, 25_000),
            line(2, "97110", &[], 8.0, 40_000),
        ],
    );
    c.locality = "13202-01".into();
    let resp = client.scrub_claim(request(c)).await.unwrap().into_inner();
    let p = pricing(&resp);
    assert_eq!(p.locality, "1320201");
    assert!(p.complete);
    assert_eq!(p.contract_rule_id, "");
    assert_eq!(p.lines[0].allowed_cents, Some(14_207), "{:?}", p.lines[0]);
    assert_eq!(p.lines[0].fee_schedule, "Medicare PFS");
    assert!(p.lines[0].fee_schedule_version.contains("RVU25D"));
    assert!(p.lines[0].trace[0].contains("MANHATTAN"));
    assert_eq!(p.lines[1].allowed_cents, Some(20_131), "{:?}", p.lines[1]);
    assert_eq!(p.total_allowed_cents, 14_207 + 20_131);
    assert_eq!(p.total_charge_cents, 65_000);

    let mue: Vec<&pb::Finding> = resp
        .findings
        .iter()
        .filter(|f| f.rule_id == "mue")
        .collect();
    assert_eq!(mue.len(), 1, "{:?}", resp.findings);
    let risk = mue[0].denial_probability;
    assert!(risk > 0.0);
    // the clean line keeps its value; the MUE line is discounted by its finding
    assert_eq!(p.lines[0].denial_probability, 0.0);
    assert_eq!(p.lines[0].expected_cents, 14_207);
    assert!((p.lines[1].denial_probability - risk).abs() < 1e-9);
    let keep_bp = ((1.0 - risk) * 10_000.0).round() as i128;
    let expected = (20_131i128 * keep_bp + 5_000) / 10_000;
    assert_eq!(i128::from(p.lines[1].expected_cents), expected);
    assert_eq!(
        p.expected_revenue_cents,
        p.lines[0].expected_cents + p.lines[1].expected_cents
    );

    // A line that cannot be priced says why, and the claim says it is incomplete.
    let resp = client
        .scrub_claim(request(claim(
            "P-UNPRICED",
            "MCR-J15",
            pb::PayerType::Medicare,
            vec![
                line(1, "99213", &[], 1.0, 20_000),
                line(2, "E0601", &[], 1.0, 30_000),
            ],
        )))
        .await
        .unwrap()
        .into_inner();
    let p = pricing(&resp);
    assert!(!p.complete);
    assert_eq!(p.lines[0].allowed_cents, Some(8_895));
    assert_eq!(p.lines[1].allowed_cents, None);
    assert!(
        p.lines[1].reason.contains("not in the Medicare PFS"),
        "{}",
        p.lines[1].reason
    );
    assert_eq!(p.total_allowed_cents, 8_895);

    // Streams carry pricing too.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(request(claim(
        "P-STREAM",
        "MCR-J15",
        pb::PayerType::Medicare,
        vec![line(1, "99213", &[], 1.0, 20_000)],
    )))
    .await
    .unwrap();
    drop(tx);
    let mut out = client
        .scrub_claims(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let r = out.message().await.unwrap().unwrap();
    assert_eq!(pricing(&r).lines[0].allowed_cents, Some(8_895));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_malformed_locality_is_an_invalid_argument_naming_the_field() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut client = server.client().await;
    let mut c = claim(
        "P-LOC",
        "MCR-J15",
        pb::PayerType::Medicare,
        vec![line(1, "99213", &[], 1.0, 20_000)],
    );
    c.locality = "01".into();
    let err = client.scrub_claim(request(c)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("claim.locality"),
        "{}",
        err.message()
    );
    server.stop().await.unwrap();
}

fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn payer_contracts_are_hot_edited_and_a_broken_one_never_replaces_a_working_one() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client().await;
    let acme = || {
        claim(
            "P-ACME",
            "ACME",
            pb::PayerType::Commercial,
            vec![line(1, "99203", &[], 1.0, 30_000)],
        )
    };
    let price_now = || {
        let mut client = client.clone();
        async move {
            let r = client
                .scrub_claim(request(acme()))
                .await
                .unwrap()
                .into_inner();
            let p = r.pricing.unwrap();
            (
                p.lines[0].allowed_cents,
                p.contract_rule_id,
                r.rule_failures,
            )
        }
    };
    // 99203 national: (1.60 + 1.61 + 0.16) × 32.3465 = 109.007705 → 109.01; × 115% =
    // 125.3615 → 125.36
    let (amount, contract, _) = price_now().await;
    assert_eq!(contract, "contract-acme-commercial");
    assert_eq!(amount, Some(12_536));

    // The contract is renegotiated to 120%: 109.01 × 120% = 130.812 → 130.81. The edit is
    // live without a restart (its test cases are updated with it).
    let path = dir.path().join("contract-acme-commercial.rhai");
    let original = std::fs::read_to_string(&path).unwrap();
    let tests_path = dir.path().join("contract-acme-commercial.tests.json");
    let tests = std::fs::read_to_string(&tests_path).unwrap();
    write_atomic(
        &tests_path,
        &tests
            .replace("\"allowed_cents\": 12536", "\"allowed_cents\": 13081")
            .replace(
                "115% of the Medicare PFS amount $109.01",
                "120% of the Medicare PFS amount $109.01",
            )
            .replace("contract amount 125.36", "contract amount 130.81"),
    );
    assert!(
        original.contains("percent_of_medicare: 115"),
        "the bundled contract declares its terms"
    );
    write_atomic(
        &path,
        &original.replace("percent_of_medicare: 115", "percent_of_medicare: 120"),
    );
    let took = eventually(Duration::from_secs(10), || async {
        price_now().await.0 == Some(13_081)
    })
    .await;
    assert!(took.is_some(), "the edited contract prices new claims");

    // A contract that does not compile, or whose terms are misspelt, is refused; the 120%
    // version keeps pricing.
    for broken in [
        original.replace("terms: [", "terms: [("),
        original.replace("percent_of_medicare: 115", "percent_of_medicar: 115"),
    ] {
        write_atomic(&path, &broken);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(price_now().await.0, Some(13_081));
    }

    // A contract that runs but returns dollars as a decimal fails on the claim: the line is
    // unpriced with the reason, and the failure is reported (never a silent wrong amount).
    write_atomic(&tests_path, r#"{ "cases": [] }"#);
    let header_end = original.find("    terms: [").unwrap();
    write_atomic(
        &path,
        &format!(
            "{}}};\nfn price(claim, line, medicare) {{ medicare.fee / 100.0 * 1.2 }}\n",
            &original[..header_end]
        ),
    );
    eventually(Duration::from_secs(10), || async {
        price_now().await.0.is_none()
    })
    .await
    .expect("the failing contract becomes active (it compiles and has no failing cases)");
    let (_, contract, failures) = price_now().await;
    assert_eq!(contract, "contract-acme-commercial");
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].message.contains("whole cents"),
        "{}",
        failures[0].message
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn full_cms_pfs_files() {
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/pfs/PPRRVU2025_Oct.csv");
    if !shared.exists() {
        support::skipped(
            "../shared/data/pfs not found; the full PFS test needs CMS's RVU25D files there",
        );
        return;
    }
    let mut cfg = config(&bundled_rules());
    cfg.tables =
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shared-data-tables.toml"));
    let server = TestServer::start(cfg).await;
    let mut client = server.client().await;
    let q4 = |mut l: pb::ServiceLine| {
        l.service_date = "2025-11-03".into();
        l
    };
    // Alaska (02102-01, work GPCI 1.5 floor, PE 1.081, MP 0.592), office:
    // 99213: (1.30 × 1.5 + 1.35 × 1.081 + 0.10 × 0.592) × 32.3465
    //      = (1.95 + 1.45935 + 0.0592) × 32.3465 = 3.46855 × 32.3465 = 112.1954... → 112.20
    // 93000 (global-only ECG, MULT PROC 6, no separate TC row): (0.17 × 1.5 + 0.24 × 1.081 +
    //      0.02 × 0.592) × 32.3465 = (0.255 + 0.25944 + 0.01184) × 32.3465 = 0.52628 ×
    //      32.3465 = 17.0233... → 17.02
    let mut c = claim(
        "P-FULL",
        "MCR-J15",
        pb::PayerType::Medicare,
        vec![
            q4(line(1, "99213", &[], 1.0, 20_000)),
            q4(line(2, "93000", &[], 1.0, 5_000)),
        ],
    );
    c.locality = "0210201".into();
    let resp = client.scrub_claim(request(c)).await.unwrap().into_inner();
    let p = pricing(&resp);
    assert_eq!(p.lines[0].allowed_cents, Some(11_220), "{:?}", p.lines[0]);
    assert_eq!(p.lines[1].allowed_cents, Some(1_702), "{:?}", p.lines[1]);
    assert!(p.lines[0].fee_schedule_version.contains("RVU25D"));

    // Facility (POS 22), national, 27447-50 with 20610 (rows read from the full file):
    // 27447: 38.88 × 32.3465 = 1,257.63192 → 1,257.63; × 150% = 1,886.445 → 1,886.45
    // 20610 facility: (0.79 + 0.44 + 0.13) × 32.3465 = 43.99124 → 43.99; 2nd: 22.00
    let mut c = claim(
        "P-FULL-SURG",
        "MCR-J15",
        pb::PayerType::Medicare,
        vec![
            q4(line(1, "27447", &["50"], 1.0, 500_000)),
            q4(line(2, "20610", &["59"], 1.0, 20_000)),
        ],
    );
    c.place_of_service = "22".into();
    let resp = client.scrub_claim(request(c)).await.unwrap().into_inner();
    let p = pricing(&resp);
    assert_eq!(p.lines[0].allowed_cents, Some(188_645), "{:?}", p.lines[0]);
    assert_eq!(p.lines[1].allowed_cents, Some(2_200), "{:?}", p.lines[1]);

    // Outside the file's dates (the October release covers October-December 2025).
    let resp = client
        .scrub_claim(request(claim(
            "P-FULL-OLD",
            "MCR-J15",
            pb::PayerType::Medicare,
            vec![line(1, "99213", &[], 1.0, 20_000)],
        )))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pricing(&resp).lines[0].allowed_cents, None);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn pricing_never_overstates_completeness() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut client = server.client().await;
    // 36415 (venipuncture, status X) and J1100 (status E) are paid, if covered, under the
    // clinical lab and ASP drug fee schedules, which are not loaded: unpriced, with the
    // reason, and the claim's pricing is not complete (not $0 "priced").
    let c = claim(
        "P-INCOMPLETE",
        "MCR-J15",
        pb::PayerType::Medicare,
        vec![
            line(1, "99213", &[], 1.0, 15_000),
            line(2, "36415", &[], 1.0, 2_000),
            line(3, "J1100", &[], 1.0, 1_000),
        ],
    );
    let resp = client.scrub_claim(request(c)).await.unwrap().into_inner();
    let p = pricing(&resp);
    assert!(!p.complete);
    assert!(p.lines[0].allowed_cents.is_some());
    for l in &p.lines[1..] {
        assert_eq!(l.allowed_cents, None, "{l:?}");
        assert!(l.reason.contains("not loaded"), "{}", l.reason);
    }
    assert!(
        p.no_contract_note.is_empty(),
        "Medicare is priced by its own schedule"
    );

    // A commercial payer with no contract rule: Medicare rates as a stand-in, said so.
    let c = claim(
        "P-NOCONTRACT",
        "OTHERCO",
        pb::PayerType::Commercial,
        vec![line(1, "99213", &[], 1.0, 15_000)],
    );
    let resp = client.scrub_claim(request(c)).await.unwrap().into_inner();
    let p = pricing(&resp);
    assert!(p.contract_rule_id.is_empty());
    assert!(
        p.no_contract_note.contains("commercial payer OTHERCO"),
        "{}",
        p.no_contract_note
    );
    assert_eq!(
        p.lines[0].fee_schedule,
        "Medicare PFS (no contract for commercial payer OTHERCO)"
    );
}
