//! 835 ingest rate: a synthetic remittance of N claims (two service lines each, three
//! adjustments) read from X12, and read + stored in a fresh SQLite outcome store (and in
//! PostgreSQL when CLAIMSCRUB_BENCH_PG_URL names one), reported as claims per second.
//!
//! With `--calibration N`, also the calibration report over N stored outcomes: N remitted
//! claims (835s of 20,000) and N scrub records with one flag each, in a fresh SQLite store.
//!
//! `cargo bench --bench remit_ingest [-- 20000] [--calibration 1000000]`

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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
