//! The edit pack against the full CMS 2024 Q3 tables in ../shared/data (SKIPPED when absent),
//! over real gRPC: real PTP pairs and their modifier indicators, MUE values and adjudication
//! indicators, add-on codes, ICD-10-CM validity by fiscal year, MCE and HCPCS edits. The
//! values asserted here were looked up in the CMS files themselves.

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use claimscrub::proto::v1 as pb;
use support::{TestServer, bundled_rules, clean_claim, config, line, request};

fn shared_manifest() -> Option<PathBuf> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/ncci/ptp_practitioner_2024q3.tsv.gz");
    if !data.exists() {
        support::skipped(
            "../shared/data not found; the full-table tests need the CMS tables there",
        );
        return None;
    }
    Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shared-data-tables.toml"))
}

fn claim_with(lines: Vec<pb::ServiceLine>) -> pb::Claim {
    let mut c = clean_claim("FULL");
    c.lines = lines;
    c
}

fn with_mods(mut l: pb::ServiceLine, mods: &[&str]) -> pb::ServiceLine {
    l.modifiers = mods.iter().map(|m| m.to_string()).collect();
    l
}

fn findings_of<'a>(resp: &'a pb::ScrubClaimResponse, rule: &str) -> Vec<&'a pb::Finding> {
    resp.findings.iter().filter(|f| f.rule_id == rule).collect()
}

#[tokio::test]
async fn edit_pack_on_the_full_cms_tables() {
    let Some(manifest) = shared_manifest() else {
        return;
    };
    let mut cfg = config(&bundled_rules());
    cfg.tables = Some(manifest);
    let started = Instant::now();
    let server = TestServer::start(cfg).await;
    println!(
        "full tables and rules loaded in {:?} (debug build)",
        started.elapsed()
    );
    let client = server.client().await;
    let scrub = |c: pb::Claim| {
        let mut client = client.clone();
        async move { client.scrub_claim(request(c)).await.unwrap().into_inner() }
    };

    // PTP 80053 / 82947: practitioner, modifier indicator 1 ("Laboratory panel").
    let d = "2024-07-15";
    let resp = scrub(claim_with(vec![line(1, "80053", d), line(2, "82947", d)])).await;
    let ptp = findings_of(&resp, "ncci-ptp");
    assert_eq!(ptp.len(), 1);
    assert_eq!(ptp[0].details["modifier_indicator"], "1");
    assert_eq!(ptp[0].details["rationale"], "Laboratory panel");
    assert_eq!(
        ptp[0].details["table_version"],
        "NCCI PTP practitioner 2024Q3"
    );
    assert!(
        resp.table_versions
            .iter()
            .any(|t| t.version == "NCCI PTP practitioner 2024Q3")
    );
    let resp = scrub(claim_with(vec![
        line(1, "80053", d),
        with_mods(line(2, "82947", d), &["91"]),
    ]))
    .await;
    assert!(
        findings_of(&resp, "ncci-ptp").is_empty(),
        "91 is an NCCI-associated modifier"
    );

    // 96372 / 99211: indicator 0 for practitioners (59 does not help), 1 for hospitals.
    let resp = scrub(claim_with(vec![
        line(1, "96372", d),
        with_mods(line(2, "99211", d), &["59"]),
    ]))
    .await;
    let ptp = findings_of(&resp, "ncci-ptp");
    assert_eq!((ptp.len(), ptp[0].carc.as_str()), (1, "CO-236"));
    let mut inst = claim_with(vec![line(1, "96372", d), line(2, "99211", d)]);
    inst.claim_type = pb::ClaimType::Institutional as i32;
    let resp = scrub(inst).await;
    assert_eq!(
        findings_of(&resp, "ncci-ptp")[0].details["modifier_indicator"],
        "1"
    );

    // E/M with a minor procedure: 20610 / 99213 (indicator 1), bypassed by 25 on the E/M.
    let resp = scrub(claim_with(vec![line(1, "20610", d), line(2, "99213", d)])).await;
    assert_eq!(findings_of(&resp, "ncci-ptp").len(), 1);
    let resp = scrub(claim_with(vec![
        line(1, "20610", d),
        with_mods(line(2, "99213", d), &["25"]),
    ]))
    .await;
    assert!(findings_of(&resp, "ncci-ptp").is_empty());

    // 0001A / 0591T was deleted 2023-12-31: applies before, not after.
    let resp = scrub(claim_with(vec![
        line(1, "0001A", "2023-06-01"),
        line(2, "0591T", "2023-06-01"),
    ]))
    .await;
    assert_eq!(findings_of(&resp, "ncci-ptp").len(), 1);
    let resp = scrub(claim_with(vec![
        line(1, "0001A", "2024-02-01"),
        line(2, "0591T", "2024-02-01"),
    ]))
    .await;
    assert!(findings_of(&resp, "ncci-ptp").is_empty());

    // MUEs: 97110 = 6 (MAI 3, summed per day), 83036 = 1 (MAI 2), J1100 = 120 (MAI 3).
    let mut a = line(1, "97110", d);
    a.units = 4.0;
    let mut b = with_mods(line(2, "97110", d), &["59"]);
    b.units = 3.0;
    let resp = scrub(claim_with(vec![a, b])).await;
    let mue = findings_of(&resp, "mue");
    assert_eq!(mue.len(), 1);
    assert_eq!(
        (
            mue[0].details["mue"].as_str(),
            mue[0].details["mai"].as_str()
        ),
        ("6", "3")
    );
    let mut a1c = line(1, "83036", d);
    a1c.units = 2.0;
    let mut dex = line(2, "J1100", d);
    dex.units = 120.0;
    let resp = scrub(claim_with(vec![a1c, dex])).await;
    let mue = findings_of(&resp, "mue");
    assert_eq!(mue.len(), 1, "J1100 at 120 units is at its MUE");
    assert_eq!(mue[0].details["mai"], "2");
    assert_eq!(mue[0].denial_probability, 0.95);

    // Add-on codes: 11045 needs 11042; 90472 is fine with 90471.
    let resp = scrub(claim_with(vec![line(1, "99213", d), line(2, "11045", d)])).await;
    assert_eq!(findings_of(&resp, "addon-code")[0].carc, "CO-107");
    let resp = scrub(claim_with(vec![line(1, "90471", d), line(2, "90472", d)])).await;
    assert!(findings_of(&resp, "addon-code").is_empty());

    // ICD-10-CM by fiscal year: C50.A0 is new in FY2026 (from 2025-10-01).
    let mut c = claim_with(vec![line(1, "99213", "2025-06-02")]);
    c.diagnoses[0].code = "C50.A0".into();
    let resp = scrub(c.clone()).await;
    assert_eq!(
        findings_of(&resp, "icd10-validity")[0].details["code_set"],
        "ICD-10-CM FY2025"
    );
    c.lines[0].service_date = "2025-11-03".into();
    let resp = scrub(c).await;
    assert!(findings_of(&resp, "icd10-validity").is_empty());

    // Code validity against the full code lists: 99999 is not a CPT code (error, naming the
    // lists), ZZ is not a modifier; 99213-25 and 20610-RT are fine.
    let d25 = "2025-11-03";
    let mut c = claim_with(vec![line(1, "99213", d25), line(2, "99999", d25)]);
    c.lines[0].modifiers = vec!["25".into()];
    c.lines[1].modifiers = vec!["ZZ".into()];
    let resp = scrub(c).await;
    let code = findings_of(&resp, "procedure-code-validity");
    assert_eq!(code.len(), 1, "{code:?}");
    assert_eq!(code[0].line_numbers, [2]);
    assert_eq!(code[0].severity, pb::Severity::Error as i32);
    assert!(
        code[0]
            .message
            .contains("PFS RVU25D (CY2025 October release)"),
        "{}",
        code[0].message
    );
    let m = findings_of(&resp, "modifier-validity");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].details["modifier"], "ZZ");
    assert_eq!(m[0].field, "lines[1].modifiers[0]");

    // 93000 is a global-only test (PC/TC indicator 4 in the full PFS file): 93000-26 draws a
    // finding, and the line is unpriced for the same reason.
    let mut c = claim_with(vec![line(1, "93000", d25)]);
    c.lines[0].modifiers = vec!["26".into()];
    let resp = scrub(c).await;
    let pf = findings_of(&resp, "pfs-modifiers");
    assert_eq!(pf.len(), 1);
    assert_eq!(pf[0].details["indicator"], "PC/TC");
    assert_eq!(pf[0].details["value"], "4");
    let priced = &resp.pricing.as_ref().unwrap().lines[0];
    assert!(
        priced.reason.contains("PC/TC indicator 4"),
        "{}",
        priced.reason
    );

    // MCE: pregnancy code on a male patient; HCPCS A4397 terminated 2021-12-31.
    let mut c = claim_with(vec![line(1, "A4397", d)]);
    c.patient.as_mut().unwrap().sex = pb::Sex::Male as i32;
    c.diagnoses[0].code = "O09.90".into();
    let resp = scrub(c).await;
    assert!(
        findings_of(&resp, "mce-age-sex")
            .iter()
            .any(|f| f.carc == "CO-10")
    );
    assert_eq!(
        findings_of(&resp, "procedure-code-validity")[0].carc,
        "CO-181"
    );
}
