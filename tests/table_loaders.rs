//! Table loading end to end: CMS's own layouts (the PTP TXT and MUE CSV excerpts in
//! ../shared/data, also read straight from a ZIP), malformed files rejected with their line
//! number while the old tables stay active, and hot swap of changed tables in a running server.

mod support;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use claimscrub::tables::TableStore;
use claimscrub::tables::code::{day, pack_proc, parse_date};
use support::{TestServer, bundled_rules, clean_claim, config, line, request};

fn excerpt(name: &str) -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/ncci")
        .join(name);
    if p.exists() {
        Some(p)
    } else {
        support::skipped(&format!("{} not found", p.display()));
        None
    }
}

fn manifest(dir: &Path, body: &str) -> std::path::PathBuf {
    let p = dir.join("tables.toml");
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn cms_layouts_plain_and_zipped() {
    let (Some(ptp), Some(mue)) = (
        excerpt("cms_layout_ptp_practitioner_2026q3_excerpt.txt"),
        excerpt("cms_layout_mue_practitioner_2026q3_excerpt.csv"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // CMS ships ZIPs: put the TXT inside one, next to a readme that must be ignored.
    let zip_path = dir.path().join("ccipra-v322r0.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("ccipra-v322r0-f1.txt", opts).unwrap();
    zip.write_all(&std::fs::read(&ptp).unwrap()).unwrap();
    zip.start_file("README.pdf", opts).unwrap();
    zip.write_all(b"%PDF").unwrap();
    zip.finish().unwrap();

    for ptp_path in [ptp.display().to_string(), zip_path.display().to_string()] {
        let m = manifest(
            dir.path(),
            &format!(
                "[[table]]\nkind = \"ncci_ptp\"\nsetting = \"practitioner\"\npath = \"{ptp_path}\"\nformat = \"cms\"\nversion = \"NCCI 2026Q3\"\n\n\
                 [[table]]\nkind = \"mue\"\nsetting = \"practitioner\"\npath = \"{}\"\nformat = \"cms\"\nversion = \"MUE 2026Q3\"\n",
                mue.display()
            ),
        );
        let (store, report) = TableStore::load(&m).unwrap();
        let t = store.snapshot();
        let ptp_rows = report
            .versions
            .iter()
            .find(|v| v.version == "NCCI 2026Q3")
            .unwrap()
            .rows;
        assert_eq!(ptp_rows, 155, "{ptp_path}: every data row of the excerpt");
        let table = t.ptp(claimscrub::tables::Setting::Practitioner).unwrap();
        let c = |s| pack_proc(s).unwrap();
        let dos = |s| day(parse_date(s).unwrap());
        // 0001A / 0591T: effective 2022-01-01, deleted 2023-12-31, indicator 1.
        assert_eq!(
            table
                .in_force(c("0001A"), c("0591T"), dos("2023-12-31"))
                .unwrap()
                .modifier_indicator,
            1
        );
        assert!(
            table
                .in_force(c("0001A"), c("0591T"), dos("2024-01-01"))
                .is_none()
        );
        assert!(
            table
                .in_force(c("0001A"), c("0591T"), dos("2021-12-31"))
                .is_none()
        );
        // MUE 0001U: 1 unit, MAI 2 ("2 Date of Service Edit: Policy").
        let (row, rationale) = t
            .mue(claimscrub::tables::Setting::Practitioner)
            .unwrap()
            .get(c("0001U"), dos("2026-07-01"))
            .unwrap();
        assert_eq!((row.value, row.indicator), (1, 2));
        assert_eq!(rationale, "Code Descriptor / CPT Instruction");
    }
}

#[test]
fn malformed_file_is_rejected_with_its_line_and_old_tables_stay() {
    let dir = tempfile::tempdir().unwrap();
    let mue = dir.path().join("mue.tsv");
    std::fs::write(
        &mue,
        "hcpcs_code\tmue_value\tmue_adjudication_indicator\n97110\t6\t3\n",
    )
    .unwrap();
    let m = manifest(
        dir.path(),
        "[[table]]\nkind = \"mue\"\nsetting = \"practitioner\"\npath = \"mue.tsv\"\nformat = \"tsv\"\nversion = \"v1\"\n",
    );
    let (store, _) = TableStore::load(&m).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        &mue,
        "hcpcs_code\tmue_value\tmue_adjudication_indicator\n97110\t6\t3\n97140\tsix\t3\n",
    )
    .unwrap();
    assert!(store.changed_on_disk());
    let err = store.reload().unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:3: MUE value \"six\" is not a whole number",
            mue.display()
        )
    );
    let t = store.snapshot();
    assert_eq!(t.versions[0].version, "v1");
    assert!(
        t.mue(claimscrub::tables::Setting::Practitioner)
            .unwrap()
            .get(pack_proc("97110").unwrap(), 20_000)
            .is_some()
    );
}

/// A table that reads cleanly but cannot be what was meant is refused and the table in force
/// stays: header only, cut to less than half, or a manifest emptied.
#[test]
fn empty_truncated_or_unlisted_tables_never_replace_the_ones_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let mue = dir.path().join("mue.tsv");
    let header = "hcpcs_code\tmue_value\tmue_adjudication_indicator\n";
    let full: String = (0..10).map(|i| format!("{}\t6\t3\n", 97110 + i)).collect();
    std::fs::write(&mue, format!("{header}{full}")).unwrap();
    let body = "[[table]]\nkind = \"mue\"\nsetting = \"practitioner\"\npath = \"mue.tsv\"\nformat = \"tsv\"\nversion = \"v1\"\n";
    let m = manifest(dir.path(), body);
    let (store, _) = TableStore::load(&m).unwrap();
    let rows = |store: &TableStore| store.snapshot().versions[0].rows;
    assert_eq!(rows(&store), 10);

    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&mue, header).unwrap();
    let err = store.reload().unwrap_err().to_string();
    assert!(err.contains("has no rows"), "{err}");
    assert_eq!(rows(&store), 10);

    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&mue, format!("{header}97110\t6\t3\n97111\t6\t3\n")).unwrap();
    let err = store.reload().unwrap_err().to_string();
    assert!(err.contains("less than half the 10 rows"), "{err}");
    assert_eq!(rows(&store), 10);

    // A genuinely smaller table under a new version label is loaded.
    manifest(dir.path(), &body.replace("v1", "v2"));
    store.reload().unwrap();
    assert_eq!(rows(&store), 2);

    manifest(dir.path(), "");
    let err = store.reload().unwrap_err().to_string();
    assert!(err.contains("lists no tables"), "{err}");
    assert_eq!(rows(&store), 2);
}

/// A new quarter's file dropped in place is picked up by the running server and swapped in.
#[tokio::test]
async fn running_server_swaps_changed_tables() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data"), &data);

    let mut cfg = config(&bundled_rules());
    cfg.tables = Some(data.join("tables.toml"));
    cfg.tables_poll = Duration::from_millis(200);
    let server = TestServer::start(cfg).await;
    let mut claim = clean_claim("SWAP");
    claim.lines = vec![
        line(1, "99213", "2024-07-15"),
        line(2, "36415", "2024-07-15"),
    ];
    let ptp_count = |server: &TestServer, claim: claimscrub::proto::v1::Claim| {
        let url = server.url();
        async move {
            let mut client =
                claimscrub::proto::v1::claim_scrubber_client::ClaimScrubberClient::connect(url)
                    .await
                    .unwrap();
            let resp = client
                .scrub_claim(request(claim))
                .await
                .unwrap()
                .into_inner();
            resp.findings
                .iter()
                .filter(|f| f.rule_id == "ncci-ptp")
                .count()
        }
    };
    assert_eq!(ptp_count(&server, claim.clone()).await, 0);

    // A malformed update is rejected: the old table keeps scoring.
    let ptp = data.join("ncci/ptp_practitioner_sample.tsv");
    let good = std::fs::read_to_string(&ptp).unwrap();
    std::fs::write(&ptp, format!("{good}99213\t36415\t\t*\t7\tbad indicator\n")).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(ptp_count(&server, claim.clone()).await, 0);

    // The corrected file is swapped in.
    std::fs::write(&ptp, format!("{good}99213\t36415\t\t*\t0\tCMS policy\n")).unwrap();
    let took = support::eventually(Duration::from_secs(10), || {
        let claim = claim.clone();
        let server = &server;
        async move { ptp_count(server, claim).await == 1 }
    })
    .await
    .expect("the new table is used");
    println!("table change picked up after {took:?}");
}

/// Copies a directory tree (the bundled data) so a test can change it.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
