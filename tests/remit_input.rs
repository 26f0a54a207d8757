//! X12 835 remittances in: the real files in ../shared/data/x12/835 (payer and parser-project
//! samples, with their oddities: a 4010 file, a 5010 file with a 4010 ISA, a bare ST..SE)
//! read with claim counts, amounts and adjustment codes checked against the files' own
//! segments; the outcome store (SQLite, and PostgreSQL when there is one) stores them
//! idempotently and stores nothing of a broken file; IngestRemittance over gRPC with roles.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use claimscrub::outcomes::OutcomeStore;
use claimscrub::proto::v1 as pb;
use claimscrub::proto::v1::remittances_client::RemittancesClient;
use support::{TestServer, config, config_with_tokens};

const EDITOR: &str = "editor-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789";

fn files() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/x12/835");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "835"))
        .collect();
    files.sort();
    Some(files)
}

/// The segments of an 835 by plain splitting: the separators from the ISA's fixed positions
/// (or `*` and `~` for a bare ST), each segment's elements.
fn plain_segments(text: &str) -> Vec<Vec<String>> {
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let (element, terminator) = if text.starts_with("ISA") {
        (text.as_bytes()[3] as char, text.as_bytes()[105] as char)
    } else {
        ('*', '~')
    };
    text.split(terminator)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| s.split(element).map(str::to_string).collect())
        .collect()
}

fn cents(text: &str) -> i64 {
    if text.trim().is_empty() {
        return 0;
    }
    let v: f64 = text.trim().parse().unwrap();
    (v * 100.0).round() as i64
}

/// A synthetic 835: two claims, one paid with a contractual adjustment and coinsurance, one
/// denied (CO-50), and a provider-level adjustment.
fn synthetic(trace: &str, isa_control: &str) -> String {
    let isa = format!(
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *251101*1200*^*00501*{isa_control}*0*P*:~"
    );
    let body = [
        "ST*835*0001".to_string(),
        "BPR*I*80*C*ACH************20251105".into(),
        format!("TRN*1*{trace}*1999999999"),
        "DTM*405*20251104".into(),
        "N1*PR*ACME HEALTH".into(),
        "REF*2U*ACME01".into(),
        "N1*PE*CLINIC*XX*1234567893".into(),
        "LX*1".into(),
        "CLP*SYN-1*1*150*90*20*12*PAYER-1".into(),
        "NM1*QC*1*DOE*JANE****MI*MEMBER12345".into(),
        "SVC*HC:99213:25*150*90**1".into(),
        "DTM*472*20251020".into(),
        "CAS*CO*45*40".into(),
        "CAS*PR*2*20".into(),
        "REF*6R*L1".into(),
        "AMT*B6*110".into(),
        "LQ*HE*N130".into(),
        "CLP*SYN-2*4*200*0*0*12*PAYER-2".into(),
        "NM1*QC*1*ROE*RICHARD****MI*MEMBER67890".into(),
        "SVC*HC:97110*200*0**2".into(),
        "DTM*472*20251021".into(),
        "CAS*CO*50*200".into(),
        "PLB*1234567893*20251231*L6:INTEREST*-0.5*WO:SYN-0*10.5".into(),
    ];
    let count = body.len() + 1;
    format!(
        "{isa}\nGS*HP*PAYER*PROVIDER*20251101*1200*7*X*005010X221A1~\n{}~\nSE*{count}*0001~\nGE*1*7~\nIEA*1*{isa_control}~\n",
        body.join("~\n")
    )
}

#[test]
fn every_real_835_reads_with_the_files_own_counts_amounts_and_codes() {
    let Some(files) = files() else {
        support::skipped("../shared/data/x12/835 not found");
        return;
    };
    assert!(files.len() >= 12, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let read =
            claimscrub::x12::read_835(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let segs = plain_segments(&text);
        let of = |id: &'static str| segs.iter().filter(move |s| s[0] == id);
        let claims: Vec<_> = read
            .remittances
            .iter()
            .flat_map(|r| r.claims.iter())
            .collect();
        // Claims: as many as CLP segments, with their ids, charges and payments.
        let clp: Vec<_> = of("CLP").collect();
        assert_eq!(claims.len(), clp.len(), "{name}: claims");
        let el = |s: &Vec<String>, i: usize| s.get(i).map_or(String::new(), |v| v.clone());
        for (c, s) in claims.iter().zip(&clp) {
            assert_eq!(c.claim_id, el(s, 1).trim(), "{name}");
            assert_eq!(c.charge_cents, cents(&el(s, 3)), "{name} {}", c.claim_id);
            assert_eq!(c.paid_cents, cents(&el(s, 4)), "{name} {}", c.claim_id);
        }
        // Transaction sets and their payments (BPR02).
        let bpr: Vec<_> = of("BPR").collect();
        assert_eq!(
            read.remittances.len(),
            bpr.len(),
            "{name}: transaction sets"
        );
        for (r, s) in read.remittances.iter().zip(&bpr) {
            assert_eq!(r.total_paid_cents, cents(&el(s, 2)), "{name}");
        }
        // Service lines: as many as SVC segments.
        let lines: usize = claims.iter().map(|c| c.services.len()).sum();
        assert_eq!(lines, of("SVC").count(), "{name}: service lines");
        // Every CAS group*reason pair of the file, and the total adjusted.
        let mut want = BTreeSet::new();
        let mut want_total = 0;
        for s in of("CAS") {
            for k in 0..6 {
                let at = 2 + 3 * k;
                if let Some(reason) = s.get(at).filter(|r| !r.trim().is_empty()) {
                    want.insert(format!("{}*{}", s[1].trim(), reason.trim()));
                    want_total += cents(s.get(at + 1).map_or("", |v| v.as_str()));
                }
            }
        }
        let all: Vec<_> = claims
            .iter()
            .flat_map(|c| {
                c.adjustments
                    .iter()
                    .chain(c.services.iter().flat_map(|s| s.adjustments.iter()))
            })
            .collect();
        let got: BTreeSet<String> = all
            .iter()
            .map(|a| format!("{}*{}", a.group, a.reason))
            .collect();
        assert_eq!(got, want, "{name}: adjustment codes");
        assert_eq!(
            all.iter().map(|a| a.amount_cents).sum::<i64>(),
            want_total,
            "{name}: adjusted"
        );
        // Remark codes from LQ*HE.
        let lq: BTreeSet<String> = of("LQ")
            .filter(|s| s[1] == "HE")
            .map(|s| s[2].trim().to_string())
            .collect();
        let got_lq: BTreeSet<String> = claims
            .iter()
            .flat_map(|c| c.services.iter().flat_map(|s| s.remarks.iter().cloned()))
            .collect();
        assert_eq!(got_lq, lq, "{name}: LQ remarks");
        // PLB pairs.
        let plb: i64 = of("PLB")
            .flat_map(|s| (0..6).filter_map(move |k| s.get(4 + 2 * k).map(|v| cents(v))))
            .sum();
        let got_plb: i64 = read
            .remittances
            .iter()
            .flat_map(|r| r.provider_adjustments.iter())
            .map(|p| p.amount_cents)
            .sum();
        assert_eq!(got_plb, plb, "{name}: provider adjustments");
        // Nobody's name or member id is read (values that also appear outside NM1, such as
        // a sample's "123456789" in a payee id, say nothing).
        let debug = format!("{:?}", read.remittances);
        let elsewhere: String = segs
            .iter()
            .filter(|s| s[0] != "NM1")
            .map(|s| s.join("*"))
            .collect();
        for nm1 in of("NM1").filter(|s| s[1] == "QC" || s[1] == "IL") {
            for id in [nm1.get(3), nm1.get(9)].into_iter().flatten() {
                let id = id.trim();
                if id.len() > 3 && !elsewhere.contains(id) {
                    assert!(!debug.contains(id), "{name}: {id} was read");
                }
            }
        }
        println!(
            "{name}: {} transaction set(s), {} claims, {lines} lines, {} warning(s), {} imbalance(s)",
            read.remittances.len(),
            claims.len(),
            read.warnings.len(),
            read.remittances
                .iter()
                .map(|r| r.imbalances().len())
                .sum::<usize>()
        );
    }
}

#[test]
fn the_oddities_are_read_and_said() {
    let Some(files) = files() else {
        support::skipped("../shared/data/x12/835 not found");
        return;
    };
    let read = |name: &str| {
        let f = files.iter().find(|f| f.ends_with(name)).unwrap();
        claimscrub::x12::read_835(&std::fs::read(f).unwrap()).unwrap()
    };
    // A bare ST..SE whose SE01 miscounts: read, with the count as a warning.
    let bare = read("edi835parser_blue_cross_nc_sample.835");
    assert_eq!(bare.remittances[0].version, "");
    assert_eq!(bare.remittances[0].payer_id, "560894904");
    assert!(
        bare.warnings.iter().any(|w| w.id == "SE"),
        "{:?}",
        bare.warnings
    );
    let claim = &bare.remittances[0].claims[0];
    assert_eq!(claim.services[0].code, "59430");
    assert_eq!(claim.services[0].line_control, "0001");
    assert_eq!(claim.services[0].allowed_cents, Some(117_540));
    assert_eq!(claim.services[0].submitted_code, "59410");
    // A 5010 file under a 4010 ISA header.
    let old_isa = read("oopfactory_5010_Example1.835");
    assert_eq!(old_isa.remittances[0].version, "5010");
    assert_eq!(old_isa.remittances[0].claims.len(), 10);
    // The 4010 file, version masked.
    let old = read("oopfactory_4010_835_DeIdent_01.835");
    assert_eq!(
        old.remittances
            .iter()
            .map(|r| r.claims.len())
            .sum::<usize>(),
        96
    );
}

#[test]
fn broken_files_are_refused_naming_the_segment() {
    let good = synthetic("T1", "000000001");
    assert!(claimscrub::x12::read_835(good.as_bytes()).is_ok());
    // Cut before the trailer.
    let cut = &good[..good.find("SE*").unwrap()];
    let e = claimscrub::x12::read_835(cut.as_bytes()).unwrap_err();
    assert!(e.message.contains("no SE"), "{e}");
    // An amount that is not a number.
    let bad = good.replace("CLP*SYN-1*1*150*90", "CLP*SYN-1*1*1S0*90");
    let e = claimscrub::x12::read_835(bad.as_bytes()).unwrap_err();
    assert_eq!((e.id.as_str(), e.element), ("CLP", 3), "{e}");
    assert!(e.to_string().contains("segment 11"), "{e}");
    // An 837 is not an 835.
    let e = claimscrub::x12::read_835(
        claimscrub::x12::write::interchange_837p(&[support::clean_claim("X")]).as_bytes(),
    )
    .unwrap_err();
    assert!(e.message.contains("not an 835"), "{e}");
}

/// The store tests, run on SQLite and on PostgreSQL alike.
fn store_behaves(store: &dyn OutcomeStore, db_text: impl Fn() -> String) {
    let one = claimscrub::x12::read_835(synthetic("T1", "000000001").as_bytes()).unwrap();
    let r = &one.remittances[0];
    assert!(r.imbalances().is_empty(), "{:?}", r.imbalances());
    assert_eq!(store.ingest(&one.remittances).unwrap().stored, [true]);
    let counts = store.counts().unwrap();
    assert_eq!(
        (
            counts.remittances,
            counts.claims,
            counts.lines,
            counts.adjustments
        ),
        (1, 2, 2, 3)
    );
    // The same remittance again, in another envelope: nothing changes.
    let again = claimscrub::x12::read_835(synthetic("T1", "000000999").as_bytes()).unwrap();
    assert_eq!(again.remittances[0].key, r.key);
    assert_eq!(store.ingest(&again.remittances).unwrap().stored, [false]);
    assert_eq!(store.counts().unwrap(), counts);
    // A different payment is new.
    let other = claimscrub::x12::read_835(synthetic("T2", "000000002").as_bytes()).unwrap();
    assert_eq!(store.ingest(&other.remittances).unwrap().stored, [true]);
    let stored = store.claim("SYN-2").unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].payer_id, "ACME01");
    assert_eq!(stored[0].status, "4");
    assert_eq!(stored[0].adjustments, ["97110: CO-50 20000"]);
    let paid = store.claim("SYN-1").unwrap();
    assert_eq!(
        paid[0].adjustments,
        ["99213: CO-45 4000", "99213: PR-2 2000"]
    );
    // Scrub records: the newest scrub of each remitted claim gives the flags; the remitted
    // claims' adjustments come with that scrub's payer.
    let record = |claim: &str, line: u32| claimscrub::outcomes::ScrubRecord {
        claim_id: claim.into(),
        payer_id: "ACME01".into(),
        payer_type: "commercial".into(),
        scrubbed_at: claimscrub::outcomes::now(),
        ruleset_version: "v1".into(),
        denial_risk: 0.5,
        flags: vec![claimscrub::outcomes::Flag {
            rule_id: "mue".into(),
            rule_version: "r1".into(),
            carc: "CO-151".into(),
            declared: 0.5,
            line,
            shadow: line == 1,
        }],
        patient_key: None,
        provider: String::new(),
    };
    store
        .record_scrubs(&[
            record("SYN-2", 2),
            record("SYN-2", 1),
            record("NOT-REMITTED", 1),
        ])
        .unwrap();
    assert_eq!(store.scrub_count().unwrap(), 3);
    let mut flags = Vec::new();
    store.flags(&mut |f| flags.push(f)).unwrap();
    assert_eq!(
        flags.len(),
        1,
        "the newest scrub of remitted claims: {flags:?}"
    );
    assert_eq!(
        (
            flags[0].claim_id.as_str(),
            flags[0].flag.line,
            flags[0].flag.shadow
        ),
        ("SYN-2", 1, true),
        "a shadow rule's flag is stored as such"
    );
    let mut adjustments = Vec::new();
    store.adjustments(&mut |a| adjustments.push(a)).unwrap();
    // SYN-2's CO-50 on its one line (twice: two remittances of it are stored).
    assert_eq!(adjustments.len(), 2, "{adjustments:?}");
    assert_eq!(
        (adjustments[0].reason.as_str(), adjustments[0].line.clone()),
        ("50", Some((0, String::new())))
    );
    // No member id or name is stored.
    let text = db_text();
    for secret in ["MEMBER12345", "MEMBER67890", "DOE", "RICHARD"] {
        assert!(!text.contains(secret), "{secret} is in the store");
    }
    // Purge by age: nothing is older than a day ago, everything is older than tomorrow.
    let day = std::time::Duration::from_secs(86_400);
    let yesterday = claimscrub::admin::rfc3339(std::time::SystemTime::now() - day);
    assert_eq!(store.purge_before(&yesterday).unwrap(), 0);
    let tomorrow = claimscrub::admin::rfc3339(std::time::SystemTime::now() + day);
    assert_eq!(store.purge_before(&tomorrow).unwrap(), 2);
    let empty = store.counts().unwrap();
    assert_eq!((empty.claims, empty.lines, empty.adjustments), (0, 0, 0));
}

#[test]
fn the_sqlite_store_is_idempotent_and_keeps_no_identity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outcomes.sqlite");
    let store = claimscrub::outcomes::open(path.to_str().unwrap()).unwrap();
    store_behaves(store.as_ref(), || {
        // The database and its write-ahead log, as bytes.
        let mut all = Vec::new();
        for f in std::fs::read_dir(dir.path()).unwrap() {
            all.extend(std::fs::read(f.unwrap().path()).unwrap());
        }
        String::from_utf8_lossy(&all).to_string()
    });
    // Reopening migrates nothing and keeps the data.
    drop(store);
    let store = claimscrub::outcomes::open(path.to_str().unwrap()).unwrap();
    assert_eq!(store.counts().unwrap().remittances, 0);
}

#[test]
fn the_postgres_store_behaves_the_same() {
    let Some(pg) = support::pg::TestPg::start_or_skip() else {
        return;
    };
    let store = claimscrub::outcomes::open(&pg.url).unwrap();
    let url = pg.url.clone();
    store_behaves(store.as_ref(), move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut text = String::new();
        for table in [
            "remittances",
            "remit_claims",
            "remit_lines",
            "remit_adjustments",
            "provider_adjustments",
        ] {
            for row in c
                .query(&format!("SELECT t::text FROM {table} t"), &[])
                .unwrap()
            {
                text.push_str(&row.get::<_, String>(0));
            }
        }
        text
    });
}

fn with_token<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

#[tokio::test]
async fn ingest_remittance_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_with_tokens(
        dir.path(),
        &format!("viewer ana {VIEWER}\neditor bo {EDITOR}\n"),
    );
    c.outcomes = Some(dir.path().join("outcomes.sqlite").display().to_string());
    let server = TestServer::start(c).await;
    let mut client = RemittancesClient::new(server.channel().await);
    let req = || pb::IngestRemittanceRequest {
        x12: synthetic("T9", "000000009").into_bytes(),
        source_name: "acme-1105.835".into(),
    };
    let resp = client
        .ingest_remittance(with_token(req(), EDITOR))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((resp.stored, resp.already_stored), (1, 0));
    let r = &resp.remittances[0];
    assert_eq!(
        (
            r.payer_id.as_str(),
            r.trace_number.as_str(),
            r.total_paid_cents,
            r.claims,
            r.service_lines
        ),
        ("ACME01", "T9", 8_000, 2, 2)
    );
    assert!(resp.warnings.is_empty(), "{:?}", resp.warnings);
    // Twice: nothing new.
    let resp = client
        .ingest_remittance(with_token(req(), EDITOR))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((resp.stored, resp.already_stored), (0, 1));
    // A viewer may not; no token may not.
    let e = client
        .ingest_remittance(with_token(req(), VIEWER))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    let e = client.ingest_remittance(req()).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    // A broken file: INVALID_ARGUMENT naming the field and segment.
    let mut bad = req();
    bad.x12 = synthetic("T10", "000000010")
        .replace("SVC*HC:97110*200", "SVC*HC:97110*2O0")
        .into_bytes();
    let e = client
        .ingest_remittance(with_token(bad, EDITOR))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(
        e.message().starts_with("x12: segment 22 (SVC02)"),
        "{}",
        e.message()
    );
    // Audited with the file name, never the content.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.contains("IngestRemittance") && audit.contains("acme-1105.835"));
    assert!(!audit.contains("MEMBER12345") && !audit.contains(EDITOR));
    server.stop().await.unwrap();

    // Without an outcome store: FAILED_PRECONDITION saying so.
    let mut c = config(&dir.path().join("rules"));
    c.auth_tokens = Some(dir.path().join("tokens"));
    let server = TestServer::start(c).await;
    let mut client = RemittancesClient::new(server.channel().await);
    let e = client
        .ingest_remittance(with_token(req(), EDITOR))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    assert!(
        e.message().contains("outcome store is off"),
        "{}",
        e.message()
    );
}
