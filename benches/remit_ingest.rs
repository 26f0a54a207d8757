//! 835 ingest rate: a synthetic remittance of N claims (two service lines each, three
//! adjustments) read from X12, and read + stored in a fresh SQLite outcome store (and in
//! PostgreSQL when CLAIMSCRUB_BENCH_PG_URL names one), reported as claims per second.
//!
//! With `--calibration N`, also the calibration report over N stored outcomes: N remitted
//! claims (835s of 20,000) and N scrub records with one flag each, in a fresh SQLite store.
//!
//! With `--history P`, the cost a patient-history lookup adds to a scrub: a fresh SQLite
//! store holding P patients' histories (12 submitted claims of two lines each over three
//! years per patient), then the same 4,000 claims (of random patients, with member ids)
//! scrubbed one at a time with history off and on, interleaved, with the bundled rules and
//! tables; p50/p99 of each and of the difference.
//!
//! `cargo bench --bench remit_ingest [-- 20000] [--calibration 1000000] [--history 100000]`

use std::time::Instant;

/// An 835 with `n` claims, each paid with a contractual adjustment and coinsurance on its
/// first line and its second line paid in full.
fn remittance(n: usize, trace: &str) -> String {
    let mut body = vec![
        "ST*835*0001".to_string(),
        format!("BPR*I*{}*C*ACH************20251105", n * 150),
        format!("TRN*1*{trace}*1999999999"),
        "N1*PR*ACME HEALTH".into(),
        "REF*2U*ACME01".into(),
        "N1*PE*CLINIC*XX*1234567893".into(),
        "LX*1".into(),
    ];
    for i in 0..n {
        body.push(format!("CLP*CLAIM-{i}*1*250*150*20*12*PCN{i}"));
        body.push("NM1*QC*1*DOE*JANE****MI*M123".into());
        body.push("SVC*HC:99213*150*90**1".into());
        body.push("DTM*472*20251020".into());
        body.push("CAS*CO*45*40".into());
        body.push("CAS*PR*2*20".into());
        body.push(format!("REF*6R*{i}-1"));
        body.push("SVC*HC:36415*100*60**1".into());
        body.push("DTM*472*20251020".into());
        body.push("CAS*CO*45*40".into());
    }
    let count = body.len() + 1;
    format!(
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *251101*1200*^*00501*000000001*0*P*:~GS*HP*PAYER*PROVIDER*20251101*1200*7*X*005010X221A1~{}~SE*{count}*0001~GE*1*7~IEA*1*000000001~",
        body.join("~")
    )
}

/// The calibration report over `n` stored outcomes.
fn calibration(n: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("calibration.sqlite");
    let store = claimscrub::outcomes::open(path.to_str().expect("UTF-8 path")).expect("store");
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(20_000);
        // Claim ids CLAIM-0.. of each file are offset by the file's start.
        let text =
            remittance(batch, &format!("CAL-{done}")).replace("CLAIM-", &format!("C{done}-"));
        let read = claimscrub::x12::read_835(text.as_bytes()).expect("the file reads");
        store.ingest(&read.remittances).expect("stored");
        let records: Vec<_> = (0..batch)
            .map(|i| claimscrub::outcomes::ScrubRecord {
                claim_id: format!("C{done}-{i}"),
                payer_id: format!("PAYER-{}", i % 7),
                payer_type: "commercial".into(),
                scrubbed_at: claimscrub::outcomes::now(),
                ruleset_version: "v".into(),
                denial_risk: 0.3,
                flags: vec![claimscrub::outcomes::Flag {
                    rule_id: format!("rule-{}", i % 25),
                    rule_version: "r".into(),
                    carc: if i % 2 == 0 {
                        "CO-45".into()
                    } else {
                        "CO-97".into()
                    },
                    declared: 0.4,
                    line: 1,
                    shadow: false,
                }],
                patient_key: None,
                provider: String::new(),
            })
            .collect();
        store.record_scrubs(&records).expect("recorded");
        done += batch;
    }
    println!(
        "calibration: {n} outcomes stored in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let report = claimscrub::api::remit::calibration(store.as_ref(), &Default::default())
        .expect("the report");
    println!(
        "calibration report over {n} outcomes: {:.2} s ({} cells, {} rules)",
        start.elapsed().as_secs_f64(),
        report.cells.len(),
        report.rules.len()
    );
}

/// The cost of history lookups in a scrub, over a store of `patients` patients.
fn history(patients: usize) {
    use claimscrub::history::{PatientKeyer, SubmittedClaim, SubmittedLine};
    use claimscrub::proto::v1 as pb;
    use std::path::Path;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("history.sqlite");
    let store = claimscrub::outcomes::open(path.to_str().expect("UTF-8 path")).expect("store");
    let keyer = std::sync::Arc::new(PatientKeyer::new(&[42u8; 32]).expect("secret"));
    let dob = chrono::NaiveDate::from_ymd_opt(1950, 3, 1).expect("date");
    let start = Instant::now();
    let mut batch = Vec::new();
    for p in 0..patients {
        let key = keyer.key(&format!("M{p:09}"), dob);
        for c in 0..12u32 {
            let date = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("date")
                + chrono::Days::new(u64::from(c) * 90 + (p % 60) as u64);
            batch.push(SubmittedClaim {
                claim_id: format!("H{p}-{c}"),
                patient_key: key.clone(),
                provider: "1234567893".into(),
                submitted_at: claimscrub::outcomes::now(),
                lines: vec![
                    SubmittedLine {
                        line_number: 1,
                        date,
                        code: "99213".into(),
                        modifiers: Vec::new(),
                        units: 1.0,
                    },
                    SubmittedLine {
                        line_number: 2,
                        date,
                        code: if c % 4 == 0 { "G0439" } else { "36415" }.into(),
                        modifiers: Vec::new(),
                        units: 1.0,
                    },
                ],
            });
        }
        if batch.len() >= 12_000 {
            store.record_submitted(&batch).expect("stored");
            batch.clear();
        }
    }
    store.record_submitted(&batch).expect("stored");
    println!(
        "history of {patients} patients ({} claims) stored in {:.1} s",
        patients * 12,
        start.elapsed().as_secs_f64()
    );
    // The store lookup alone, for the same patients the scrubs below look up.
    let mut raw = Vec::new();
    let since = chrono::NaiveDate::from_ymd_opt(2010, 11, 3).expect("date");
    for i in 0..4_000 {
        let key = keyer.key(&format!("M{:09}", (i * 7919) % patients), dob);
        let s = Instant::now();
        let rows = store.patient_history(&key, since, 5_000).expect("lookup");
        raw.push(s.elapsed().as_secs_f64() * 1e6);
        assert_eq!(rows.len(), 24);
    }
    raw.sort_by(f64::total_cmp);
    println!(
        "store lookup alone: p50 {:.0} µs, p99 {:.0} µs (24 services each)",
        raw[raw.len() / 2],
        raw[raw.len() * 99 / 100]
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtime = claimscrub::runtime::Runtime::build(claimscrub::runtime::RuntimeSpec::for_dir(
        &root.join("rules"),
        Some(&root.join("data/tables.toml")),
    ))
    .expect("runtime");
    runtime.registry.load_initial().expect("rules load");
    let settings = claimscrub::config::Config::with_rules(root.join("rules")).scrub;
    let off = claimscrub::scrub::Scrubber::new(&runtime, settings);
    let on = off
        .clone()
        .with_history(claimscrub::scrub::History { keyer, store });
    let request = |i: usize| {
        let p = (i * 7919) % patients;
        pb::ScrubClaimRequest {
            claim: Some(pb::Claim {
                claim_id: format!("NEW-{i}"),
                claim_type: pb::ClaimType::Professional as i32,
                payer: Some(pb::Payer {
                    payer_id: "MCR01".into(),
                    r#type: pb::PayerType::Medicare as i32,
                }),
                patient: Some(pb::Patient {
                    birth_date: "1950-03-01".into(),
                    sex: pb::Sex::Female as i32,
                    member_id: format!("M{p:09}"),
                }),
                billing_provider: Some(pb::Provider {
                    npi: "1234567893".into(),
                    taxonomy: String::new(),
                }),
                place_of_service: "11".into(),
                diagnoses: vec![pb::Diagnosis {
                    code: "Z00.00".into(),
                    ..Default::default()
                }],
                lines: ["99213", "G0439"]
                    .iter()
                    .enumerate()
                    .map(|(n, code)| pb::ServiceLine {
                        line_number: n as u32 + 1,
                        procedure_code: (*code).into(),
                        units: 1.0,
                        charge_cents: 15_000,
                        service_date: "2025-11-03".into(),
                        diagnosis_pointers: vec![1],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
            as_of_date: "2025-12-01".into(),
        }
    };
    let (mut t_off, mut t_on) = (Vec::new(), Vec::new());
    let mut fired = 0;
    for i in 0..4_200 {
        let req = request(i);
        let s = Instant::now();
        off.scrub_blocking(&req).expect("scrubbed");
        let a = s.elapsed().as_secs_f64() * 1e6;
        let s = Instant::now();
        let resp = on.scrub_blocking(&req).expect("scrubbed");
        let b = s.elapsed().as_secs_f64() * 1e6;
        assert!(
            resp.history_unavailable.is_empty(),
            "{}",
            resp.history_unavailable
        );
        if i >= 200 {
            // the first 200 warm caches
            t_off.push(a);
            t_on.push(b);
            fired += usize::from(resp.findings.iter().any(|f| f.rule_id == "awv-frequency"));
        }
    }
    let pct = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 - 1.0) * q) as usize]
    };
    let mut diff: Vec<f64> = t_on.iter().zip(&t_off).map(|(b, a)| b - a).collect();
    println!(
        "scrub, history off: p50 {:.0} µs, p99 {:.0} µs",
        pct(&mut t_off, 0.5),
        pct(&mut t_off, 0.99)
    );
    println!(
        "scrub, history on:  p50 {:.0} µs, p99 {:.0} µs (awv-frequency fired on {fired} of 4000)",
        pct(&mut t_on, 0.5),
        pct(&mut t_on, 0.99)
    );
    println!(
        "added by the lookup: p50 {:.0} µs, p99 {:.0} µs",
        pct(&mut diff, 0.5),
        pct(&mut diff, 0.99)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--history") {
        let n = args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        history(n);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--calibration") {
        let n = args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        calibration(n);
        return;
    }
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(20_000);
    let text = remittance(n, "T0");
    println!(
        "835 of {n} claims, {:.1} MiB",
        text.len() as f64 / 1048576.0
    );

    let start = Instant::now();
    let read = claimscrub::x12::read_835(text.as_bytes()).expect("the file reads");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(read.remittances[0].claims.len(), n);
    assert!(read.remittances[0].imbalances().is_empty());
    println!(
        "read:            {:>8.0} claims/s ({:.3} s)",
        n as f64 / secs,
        secs
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("bench.sqlite");
    let store = claimscrub::outcomes::open(path.to_str().expect("UTF-8 path")).expect("store");
    let mut stores = vec![("SQLite", store)];
    if let Ok(url) = std::env::var("CLAIMSCRUB_BENCH_PG_URL") {
        stores.push((
            "PostgreSQL",
            claimscrub::outcomes::open(&url).expect("PostgreSQL"),
        ));
    }
    for (name, store) in stores {
        let mut last = None;
        for round in 0..2 {
            // A trace number of this run: a database kept between runs holds older ones.
            let run = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let text = remittance(n, &format!("{name}-{round}-{run}"));
            let start = Instant::now();
            let read = claimscrub::x12::read_835(text.as_bytes()).expect("the file reads");
            let stored = store.ingest(&read.remittances).expect("stored");
            let secs = start.elapsed().as_secs_f64();
            assert_eq!(stored.stored, [true]);
            last = Some(read);
            println!(
                "read + store ({name}, round {round}): {:>8.0} claims/s ({:.3} s)",
                n as f64 / secs,
                secs
            );
        }
        let start = Instant::now();
        let last = last.expect("two rounds ran");
        let again = store.ingest(&last.remittances).expect("stored");
        println!(
            "the same file again ({name}): skipped in {:.4} s (stored: {:?})",
            start.elapsed().as_secs_f64(),
            again.stored
        );
    }
}
