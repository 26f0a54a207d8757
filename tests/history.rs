//! History edits against a real server: claims reported as submitted and 835s that paid
//! earlier claims are the patient's history; the annual wellness visit rule fires on a second
//! G0439 within 12 months and not after, the duplicate-claim rule on a service already paid;
//! without a secret (or a member id) the response says history was unavailable. The patient
//! is stored only as a keyed hash: no member id in the database or the audit log. The same
//! flow runs on the embedded store and on a real PostgreSQL.

mod support;

use std::sync::Arc;
use std::time::Duration;

use claimscrub::history::PatientKeyer;
use claimscrub::proto::v1 as pb;
use claimscrub::proto::v1::claim_scrubber_client::ClaimScrubberClient;
use claimscrub::proto::v1::remittances_client::RemittancesClient;
use support::{TestServer, clean_claim, config_with_tokens, line};

const EDITOR: &str = "editor-token-0123456789";
const SECRET: &[u8] = b"a-test-secret-of-at-least-32-bytes-long";
const MEMBER: &str = "1EG4TE5MK73";

fn with_token<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {EDITOR}").parse().unwrap());
    r
}

/// A Medicare claim of the test patient with one line of `code` on `date`.
fn visit(id: &str, code: &str, date: &str) -> pb::Claim {
    let mut c = clean_claim(id);
    c.patient.as_mut().unwrap().member_id = MEMBER.into();
    c.lines = vec![line(1, code, date)];
    c
}

fn scrub_request(c: pb::Claim) -> pb::ScrubClaimRequest {
    pb::ScrubClaimRequest {
        claim: Some(c),
        as_of_date: "2026-02-01".into(),
    }
}

fn ids(r: &pb::ScrubClaimResponse) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule_id.as_str()).collect()
}

/// Ingests the 835 `era`, then scrubs claim `id`: a 99213 on 2025-07-15 for the patient.
async fn ingest_then_scrub(
    remits: &mut RemittancesClient<tonic::transport::Channel>,
    scrub: &mut ClaimScrubberClient<tonic::transport::Channel>,
    era: &str,
    id: &str,
) -> pb::ScrubClaimResponse {
    remits
        .ingest_remittance(with_token(pb::IngestRemittanceRequest {
            x12: era.as_bytes().to_vec(),
            source_name: format!("{id}.835"),
        }))
        .await
        .unwrap();
    scrub
        .scrub_claim(scrub_request(visit(id, "99213", "2025-07-15")))
        .await
        .unwrap()
        .into_inner()
}

async fn history_flow(outcomes: String, db_text: impl Fn() -> String) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_with_tokens(dir.path(), &format!("editor bo {EDITOR}\n"));
    c.outcomes = Some(outcomes);
    c.history_keyer = Some(Arc::new(PatientKeyer::new(SECRET).unwrap()));
    c.audit_log = dir.path().join("audit.jsonl");
    let server = TestServer::start(c).await;
    let mut scrub = ClaimScrubberClient::new(server.channel().await);
    let mut remits = RemittancesClient::new(server.channel().await);

    // The billing system reports a G0439 sent on 2025-01-15.
    let r = remits
        .record_submitted_claims(with_token(pb::RecordSubmittedClaimsRequest {
            claims: vec![
                visit("AWV-1", "G0439", "2025-01-15"),
                clean_claim("NO-MEMBER"),
            ],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.recorded, 1, "{r:?}");
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].field, "claims[1].patient.member_id");

    // A second G0439 in June 2025: too soon. In January 2026 (12 months on): fine.
    let soon = scrub
        .scrub_claim(scrub_request(visit("AWV-2", "G0439", "2025-06-10")))
        .await
        .unwrap()
        .into_inner();
    assert!(ids(&soon).contains(&"awv-frequency"), "{soon:?}");
    assert_eq!(soon.history_unavailable, "");
    let f = soon
        .findings
        .iter()
        .find(|f| f.rule_id == "awv-frequency")
        .unwrap();
    assert_eq!(f.details["prior_date"], "2025-01-15");
    assert_eq!(f.details["prior_status"], "submitted");
    let later = scrub
        .scrub_claim(scrub_request(visit("AWV-3", "G0439", "2026-01-02")))
        .await
        .unwrap()
        .into_inner();
    assert!(!ids(&later).contains(&"awv-frequency"), "{later:?}");
    // Another patient (another member id) has no such history.
    let mut other = visit("AWV-4", "G0439", "2025-06-10");
    other.patient.as_mut().unwrap().member_id = "9ZZ9ZZ9ZZ99".into();
    let other = scrub
        .scrub_claim(scrub_request(other))
        .await
        .unwrap()
        .into_inner();
    assert!(!ids(&other).contains(&"awv-frequency"));
    // No member id: the rule says nothing and the response says why.
    let mut anon = visit("AWV-5", "G0439", "2025-06-10");
    anon.patient.as_mut().unwrap().member_id.clear();
    let anon = scrub
        .scrub_claim(scrub_request(anon))
        .await
        .unwrap()
        .into_inner();
    assert!(!ids(&anon).contains(&"awv-frequency"));
    assert!(anon.history_unavailable.contains("member_id"), "{anon:?}");

    // A claim scrubbed (and so linked to the patient) and then paid by the payer: sending the
    // same service again is a duplicate (CARC 18).
    let first = visit("DUP-1", "99213", "2025-07-15");
    scrub.scrub_claim(scrub_request(first)).await.unwrap();
    let recorded = support::eventually(Duration::from_secs(20), || {
        let mut remits = remits.clone();
        async move {
            remits
                .get_calibration(with_token(pb::GetCalibrationRequest::default()))
                .await
                .unwrap()
                .into_inner()
                .scrub_records
                >= 5
        }
    })
    .await;
    assert!(recorded.is_some(), "the scrubs were recorded");
    let era = "ST*835*0001~BPR*I*80*C*NON************20250801~TRN*1*HIST1*1MCR01~N1*PR*MEDICARE~\
               REF*2U*MCR01~LX*1~CLP*DUP-1*1*100*80*0*MB*P1~SVC*HC:99213*100*80**1~\
               DTM*472*20250715~CAS*CO*45*20~REF*6R*1~SE*12*0001~";
    let again = ingest_then_scrub(&mut remits, &mut scrub, era, "DUP-2").await;
    let dup = again
        .findings
        .iter()
        .find(|f| f.rule_id == "duplicate-claim")
        .unwrap_or_else(|| panic!("{again:?}"));
    assert_eq!(dup.carc, "CO-18");
    assert_eq!(dup.details["prior_claim"], "DUP-1");
    assert_eq!(dup.details["prior_status"], "paid");
    // The payer reverses that payment (CLP02 22, same payer claim number): it is no longer
    // a paid service, so the same line is no longer a duplicate.
    let reversal = "ST*835*0002~BPR*I*0*C*NON************20250901~TRN*1*HIST2*1MCR01~\
                    N1*PR*MEDICARE~REF*2U*MCR01~LX*1~CLP*DUP-1*22*-100*-80*0*MB*P1~\
                    SVC*HC:99213*-100*-80**-1~DTM*472*20250715~CAS*CO*45*-20~REF*6R*1~\
                    SE*12*0002~";
    let after = ingest_then_scrub(&mut remits, &mut scrub, reversal, "DUP-3").await;
    assert!(!ids(&after).contains(&"duplicate-claim"), "{after:?}");

    // The patient is a keyed hash: the member id is nowhere, and the key is not a plain hash
    // anybody could recompute without the secret.
    let text = db_text();
    let key = PatientKeyer::new(SECRET)
        .unwrap()
        .key(MEMBER, chrono::NaiveDate::from_ymd_opt(1950, 3, 1).unwrap());
    assert!(text.contains(&key), "the store keys the patient");
    assert!(!text.contains(MEMBER), "no member id in the store");
    let plain = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        format!("{MEMBER}1950-03-01").as_bytes(),
    ));
    assert!(!text.contains(&plain));
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.contains("RecordSubmittedClaims"));
    assert!(!audit.contains(MEMBER), "no member id in the audit log");
}

#[tokio::test]
async fn history_edits_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outcomes.sqlite");
    let path = db.clone();
    history_flow(db.display().to_string(), move || {
        // Every file of the database (WAL included), as bytes.
        let mut all = Vec::new();
        for ext in ["", "-wal", "-shm"] {
            let p = format!("{}{ext}", path.display());
            all.extend(std::fs::read(p).unwrap_or_default());
        }
        String::from_utf8_lossy(&all).into_owned()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_edits_on_postgresql() {
    let Some(pg) = support::pg::TestPg::start_or_skip() else {
        return;
    };
    let url = pg.url.clone();
    let dump = url.clone();
    history_flow(url, move || {
        let url = dump.clone();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut text = String::new();
            for table in [
                "scrub_records",
                "submitted_claims",
                "submitted_services",
                "remit_claims",
            ] {
                for row in c
                    .query(&format!("SELECT t::text FROM {table} t"), &[])
                    .unwrap()
                {
                    text.push_str(row.get::<_, &str>(0));
                    text.push('\n');
                }
            }
            text
        })
        .join()
        .unwrap()
    })
    .await;
}

#[tokio::test]
async fn without_a_secret_history_is_off_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_with_tokens(dir.path(), &format!("editor bo {EDITOR}\n"));
    c.outcomes = Some(dir.path().join("o.sqlite").display().to_string());
    let server = TestServer::start(c).await;
    let mut scrub = ClaimScrubberClient::new(server.channel().await);
    let mut remits = RemittancesClient::new(server.channel().await);
    let e = remits
        .record_submitted_claims(with_token(pb::RecordSubmittedClaimsRequest {
            claims: vec![visit("AWV-1", "G0439", "2025-01-15")],
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    assert!(e.message().contains("history"), "{}", e.message());
    let r = scrub
        .scrub_claim(scrub_request(visit("AWV-2", "G0439", "2025-06-10")))
        .await
        .unwrap()
        .into_inner();
    assert!(
        r.history_unavailable.contains("no patient-key secret"),
        "{r:?}"
    );
    // The duplicate-claim rule applies to every claim, so every answer says so.
    let r = scrub
        .scrub_claim(scrub_request(clean_claim("PLAIN")))
        .await
        .unwrap()
        .into_inner();
    assert!(!r.history_unavailable.is_empty());
}

/// The real binary with debug logging: member ids sent in submitted and scrubbed claims —
/// valid, invalid, too long — never reach its log lines or the audit log; nor do the tokens
/// sent over gRPC and JSON/HTTP, good or wrong.
#[tokio::test]
async fn no_member_id_reaches_the_logs() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokens"), format!("editor bo {EDITOR}\n")).unwrap();
    let http_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_claimscrub"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
        .args(["--metrics-listen", "none"])
        .arg("--outcomes")
        .arg(dir.path().join("o.sqlite"))
        .arg("--auth-tokens")
        .arg(dir.path().join("tokens"))
        .arg("--audit-log")
        .arg(dir.path().join("audit.jsonl"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "debug")
        .env(
            "CLAIMSCRUB_HISTORY_SECRET",
            std::str::from_utf8(SECRET).unwrap(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server logs its address");
        seen.push(line.clone());
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["message"] == "claimscrub serving" {
            break v["addr"]
                .as_str()
                .unwrap()
                .trim_start_matches("Some(")
                .trim_end_matches(')')
                .to_string();
        }
    };
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut scrub = ClaimScrubberClient::new(channel.clone());
    let mut remits = RemittancesClient::new(channel);
    let mut bad_date = visit("LOG-2", "G0439", "2025-01-15");
    bad_date.patient.as_mut().unwrap().birth_date = "not a date".into();
    let r = remits
        .record_submitted_claims(with_token(pb::RecordSubmittedClaimsRequest {
            claims: vec![visit("LOG-1", "G0439", "2025-01-15"), bad_date],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.recorded, r.rejected.len()), (1, 1));
    let found = scrub
        .scrub_claim(scrub_request(visit("LOG-3", "G0439", "2025-06-10")))
        .await
        .unwrap()
        .into_inner();
    assert!(ids(&found).contains(&"awv-frequency"), "{found:?}");
    let mut long = visit("LOG-4", "G0439", "2025-06-10");
    long.patient.as_mut().unwrap().member_id = MEMBER.repeat(10);
    let e = scrub.scrub_claim(scrub_request(long)).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("patient.member_id"), "{}", e.message());
    assert!(
        !e.message().contains(MEMBER),
        "the error does not echo the id"
    );
    // The token over JSON/HTTP too (issue #18: never in a log line or the audit): a good
    // one and a wrong one, as a browser's console sends them.
    for token in [EDITOR.to_string(), format!("{EDITOR}-wrong")] {
        use std::io::{Read, Write};
        // The HTTP listener starts just after the gRPC one: give it a moment.
        let mut http = (0..50)
            .find_map(|_| {
                std::net::TcpStream::connect(("127.0.0.1", http_port))
                    .map_err(|_| std::thread::sleep(Duration::from_millis(100)))
                    .ok()
            })
            .expect("the JSON/HTTP port answers");
        write!(
            http,
            "POST /claimscrub.v1.RuleAdmin/WhoAmI HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: 2\r\n\r\n{{}}"
        )
        .unwrap();
        let mut reply = String::new();
        http.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 "), "{reply}");
        assert!(!reply.contains(&token), "the reply does not echo the token");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(rx.try_iter());
    for line in &seen {
        assert!(!line.contains(EDITOR), "a token in the log: {line}");
    }
    assert!(
        seen.iter().any(|l| l.contains("LOG-3")),
        "the logs name claims by id (debug level): {seen:?}"
    );
    for line in &seen {
        assert!(!line.contains(MEMBER), "a member id in the log: {line}");
    }
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(!audit.contains(MEMBER));
    assert!(!audit.contains(EDITOR), "a token in the audit: {audit}");
}
