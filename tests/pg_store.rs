//! The PostgreSQL rule store with a real PostgreSQL server (Debian's package, started by the
//! test as the `postgres` user in a temporary directory): three replicas on one database
//! agree, concurrent puts are serialised, an import is idempotent and an export round-trips,
//! and scrubbing goes on while the database is down.
//!
//! Skipped (with a SKIPPED line) where PostgreSQL is not installed, unless
//! `CLAIMSCRUB_REQUIRE_PG` is set (`.ci/run` sets it after installing PostgreSQL).

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use claimscrub::proto::v1::claim_scrubber_client::ClaimScrubberClient;
use claimscrub::proto::v1::{self as pb, rule_admin_client::RuleAdminClient};
use claimscrub::rules::RuleSource;
use claimscrub::store::{PgStore, transfer};
use support::pg::TestPg;
use support::{
    TestServer, bundled_rules, bundled_tables, clean_claim, config, eventually, request,
};
use tonic::Code;

const EDITOR: &str = "editor-token-0123456789";
const EDITOR2: &str = "editor2-token-0123456789";

fn postgres() -> Option<TestPg> {
    TestPg::start_or_skip()
}

/// Imports `dir` into the database (on a blocking thread: the store's client blocks).
async fn import(pg: &TestPg, dir: &Path) -> transfer::ImportReport {
    let dir = dir.to_path_buf();
    let url = pg.url.clone();
    tokio::task::spawn_blocking(move || support::pg::import(&url, &dir))
        .await
        .unwrap()
}

fn with_token<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

async fn replica(url: &str, tokens: &Path) -> TestServer {
    let mut c = config(&PathBuf::from(url));
    c.auth_tokens = Some(tokens.to_path_buf());
    c.audit_log = PathBuf::from("-");
    c.watch.rescan = Duration::from_secs(30); // NOTIFY, not the rescan, must carry changes
    TestServer::start(c).await
}

async fn admin(server: &TestServer) -> RuleAdminClient<tonic::transport::Channel> {
    RuleAdminClient::new(server.channel().await)
}

fn units_rule(message: &str) -> String {
    std::fs::read_to_string(bundled_rules().join("units-positive.rhai"))
        .unwrap()
        .replace(
            "units must be more than zero.",
            &format!("units must be more than zero ({message})."),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_one_database() {
    let Some(pg) = postgres() else { return };
    let first = import(&pg, &bundled_rules()).await;
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    assert!(first.imported.len() > 10);
    // Importing the same directory again changes nothing.
    let again = import(&pg, &bundled_rules()).await;
    assert!(
        again.imported.is_empty() && again.failed.is_empty(),
        "{again:?}"
    );
    assert_eq!(again.unchanged.len(), first.imported.len());

    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        format!("editor bo {EDITOR}\neditor cy {EDITOR2}\n"),
    )
    .unwrap();
    let replicas = [
        replica(&pg.url, &tokens).await,
        replica(&pg.url, &tokens).await,
        replica(&pg.url, &tokens).await,
    ];
    let version = replicas[0].registry.snapshot().version.clone();
    assert!(
        replicas
            .iter()
            .all(|r| r.registry.snapshot().version == version)
    );

    // A put through replica 1 is active on replicas 2 and 3.
    let current = replicas[0]
        .registry
        .snapshot()
        .get("units-positive")
        .unwrap()
        .version
        .clone();
    let put = |source: String, expected: &str, token: &str| {
        with_token(
            pb::PutRuleRequest {
                id: "units-positive".into(),
                source,
                tests: String::new(),
                expected_version: expected.into(),
                comment: "replica test".into(),
            },
            token,
        )
    };
    let resp = admin(&replicas[0])
        .await
        .put_rule(put(units_rule("enter one unit or more"), &current, EDITOR))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.accepted, "{resp:?}");
    let new_version = resp.version.clone();
    for r in &replicas[1..] {
        let seen = eventually(Duration::from_secs(10), || async {
            r.registry
                .snapshot()
                .get("units-positive")
                .is_some_and(|rule| rule.version == new_version)
        })
        .await;
        assert!(seen.is_some(), "the put reached every replica");
        let mut claim = clean_claim("PG-1");
        claim.lines[0].units = 0.0;
        let scored = r
            .client()
            .await
            .scrub_claim(request(claim))
            .await
            .unwrap()
            .into_inner();
        assert!(
            scored
                .findings
                .iter()
                .any(|f| f.rule_id == "units-positive"
                    && f.message.contains("enter one unit or more")),
            "{:?}",
            scored.findings
        );
    }

    // Two puts with the same expected version through two replicas at once: exactly one wins.
    let (a, b) = tokio::join!(
        async {
            admin(&replicas[1])
                .await
                .put_rule(put(
                    units_rule("edit from replica two"),
                    &new_version,
                    EDITOR,
                ))
                .await
        },
        async {
            admin(&replicas[2])
                .await
                .put_rule(put(
                    units_rule("edit from replica three"),
                    &new_version,
                    EDITOR2,
                ))
                .await
        }
    );
    let outcomes = [a, b];
    let won = outcomes
        .iter()
        .filter(|o| o.as_ref().is_ok_and(|r| r.get_ref().accepted))
        .count();
    let lost: Vec<&tonic::Status> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert_eq!(won, 1, "{outcomes:?}");
    assert_eq!(lost.len(), 1, "{outcomes:?}");
    assert_eq!(lost[0].code(), Code::FailedPrecondition, "{:?}", lost[0]);

    // History is shared: every replica lists the import and both puts that succeeded.
    let history = admin(&replicas[2])
        .await
        .get_rule_history(with_token(
            pb::GetRuleHistoryRequest {
                id: "units-positive".into(),
            },
            EDITOR,
        ))
        .await
        .unwrap()
        .into_inner()
        .versions;
    let actions: Vec<&str> = history.iter().map(|v| v.action.as_str()).collect();
    assert_eq!(actions, ["put", "put", "import"], "{history:?}");

    // Most rules deleted through replica 1: the other replicas follow (a database listing is
    // never a half-synced directory, so the shrink guard does not hold them back).
    let ids: Vec<String> = replicas[0]
        .registry
        .snapshot()
        .rules
        .iter()
        .map(|r| r.meta.id.clone())
        .filter(|id| id != "units-positive")
        .collect();
    let mut c = admin(&replicas[0]).await;
    for id in &ids {
        c.delete_rule(with_token(
            pb::RuleActionRequest {
                id: id.clone(),
                comment: "retired".into(),
            },
            EDITOR,
        ))
        .await
        .unwrap();
    }
    for r in &replicas[1..] {
        let followed = eventually(Duration::from_secs(10), || async {
            r.registry.snapshot().rules.len() == 1
        })
        .await;
        assert!(followed.is_some(), "a replica follows a large delete");
    }

    // Export round-trips the store byte for byte.
    let url = pg.url.clone();
    tokio::task::spawn_blocking(move || {
        let out = tempfile::tempdir().unwrap();
        let store = PgStore::connect(&url).unwrap();
        transfer::export(&store, out.path()).unwrap();
        let files = store.list().unwrap();
        assert!(!files.is_empty());
        for file in files {
            let exported = std::fs::read_to_string(out.path().join(&file.name)).unwrap();
            assert_eq!(Ok(exported), file.source);
        }
    })
    .await
    .unwrap();
    for r in replicas {
        r.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrubbing_goes_on_while_the_database_is_down() {
    let Some(pg) = postgres() else { return };
    assert!(import(&pg, &bundled_rules()).await.failed.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("editor bo {EDITOR}\n")).unwrap();
    let server = replica(&pg.url, &tokens).await;
    let version = server.registry.snapshot().version.clone();

    pg.stop().unwrap();
    let mut client = server.client().await;
    for i in 0..50 {
        let resp = client
            .scrub_claim(request(clean_claim(&format!("DOWN-{i}"))))
            .await
            .expect("scrubbing never touches the database");
        assert_eq!(resp.into_inner().ruleset_version, version);
    }
    let current = server
        .registry
        .snapshot()
        .get("units-positive")
        .unwrap()
        .version
        .clone();
    let refused = admin(&server)
        .await
        .put_rule(put_request("while the database is down", &current))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(
        refused.message().contains("unreachable"),
        "{}",
        refused.message()
    );
    let status = || async {
        admin(&server)
            .await
            .get_ruleset_status(with_token(pb::GetRulesetStatusRequest {}, EDITOR))
            .await
            .unwrap()
            .into_inner()
    };
    let reported = eventually(Duration::from_secs(10), || async {
        status()
            .await
            .errors
            .first()
            .is_some_and(|e| e.message.contains("unreachable"))
    })
    .await;
    assert!(
        reported.is_some(),
        "the status names the unreachable store: {:?} (registry: last error {:?}, last reload {:?})",
        status().await.errors,
        server.registry.last_error(),
        server.registry.last_reload().map(|t| t.elapsed())
    );
    assert_eq!(
        server.registry.snapshot().version,
        version,
        "the rules in force stay"
    );

    // Back up: the replica reconnects, the status clears and a put goes through again.
    pg.restart().unwrap();
    let cleared = eventually(Duration::from_secs(15), || async {
        status().await.errors.is_empty()
    })
    .await;
    assert!(
        cleared.is_some(),
        "the replica caught up after the database came back"
    );
    let resp = admin(&server)
        .await
        .put_rule(put_request("after the database came back", &current))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.accepted, "{resp:?}");
    server.stop().await.unwrap();
}

/// A replica killed with SIGKILL in the middle of puts leaves no half-written rule: every
/// stored rule's text matches its version, and that version is in the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_put_leaves_no_half_written_rule() {
    let Some(pg) = postgres() else { return };
    assert!(import(&pg, &bundled_rules()).await.failed.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("editor bo {EDITOR}\n")).unwrap();
    for round in 0..4u64 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_claimscrub"))
            .args(["serve", "--rules", &pg.url, "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--tables")
            .arg(bundled_tables())
            .arg("--auth-tokens")
            .arg(&tokens)
            .args(["--metrics-listen", "none", "--audit-log", "-"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let channel = support::connect_when_up(&url, Duration::from_secs(20))
            .await
            .expect("replica started");
        // Puts back to back; the process is killed while one is in flight.
        let puts = tokio::spawn(async move {
            let mut admin = RuleAdminClient::new(channel);
            for i in 0.. {
                let current = admin
                    .get_rule(with_token(
                        pb::GetRuleRequest {
                            id: "units-positive".into(),
                        },
                        EDITOR,
                    ))
                    .await?
                    .into_inner()
                    .rule
                    .unwrap_or_default()
                    .version;
                admin
                    .put_rule(put_request(&format!("round {round} edit {i}"), &current))
                    .await?;
            }
            Ok::<(), tonic::Status>(())
        });
        tokio::time::sleep(Duration::from_millis(150 + 37 * round)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let _ = puts.await;
        let url = pg.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            for row in db.query("SELECT file, source, version FROM rules", &[]).unwrap() {
                let (file, source, version): (String, String, String) =
                    (row.get(0), row.get(1), row.get(2));
                assert_eq!(
                    claimscrub::rules::compile::content_version(&source),
                    version,
                    "{file}: the stored text is the stored version"
                );
            }
            let version: String = db
                .query_one("SELECT version FROM rules WHERE file = 'units-positive.rhai'", &[])
                .unwrap()
                .get(0);
            let latest: String = db
                .query_one(
                    "SELECT version FROM rule_history WHERE rule_id = 'units-positive' ORDER BY seq DESC LIMIT 1",
                    &[],
                )
                .unwrap()
                .get(0);
            assert_eq!(latest, version, "the history's newest entry is the stored version");
        })
        .await
        .unwrap();
    }
    let url = pg.url.clone();
    let puts: i64 = tokio::task::spawn_blocking(move || {
        let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        db.query_one(
            "SELECT count(*) FROM rule_history WHERE rule_id = 'units-positive' AND action = 'put'",
            &[],
        )
        .unwrap()
        .get(0)
    })
    .await
    .unwrap();
    assert!(
        puts >= 4,
        "puts were in flight when the replicas were killed ({puts} landed)"
    );
}

fn put_request(marker: &str, expected: &str) -> tonic::Request<pb::PutRuleRequest> {
    with_token(
        pb::PutRuleRequest {
            id: "units-positive".into(),
            source: units_rule(marker),
            tests: String::new(),
            expected_version: expected.into(),
            comment: String::new(),
        },
        EDITOR,
    )
}

/// `?sslmode=require`: the store connects over TLS and verifies the server against
/// PGSSLROOTCERT; a server whose certificate it cannot verify is refused.
#[test]
fn the_store_connects_over_verified_tls_when_the_url_requires_it() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let Some(pg) = postgres() else { return };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    pg.enable_tls(&cert.pem(), &key.serialize_pem()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let url = pg.url.replace("127.0.0.1", "localhost") + "?sslmode=require";

    // Without the CA the server's certificate is not trusted: refused, never plain text.
    // SAFETY: this test is the only one that reads or writes PGSSLROOTCERT.
    unsafe { std::env::remove_var("PGSSLROOTCERT") };
    let untrusted = PgStore::connect(&url)
        .err()
        .expect("an unverified server is refused");
    assert!(
        untrusted.to_string().to_lowercase().contains("certificate")
            || untrusted.to_string().contains("TLS"),
        "{untrusted}"
    );
    unsafe { std::env::set_var("PGSSLROOTCERT", &ca_file) };
    let store = PgStore::connect(&url).expect("TLS connection");
    assert!(store.list().unwrap().is_empty());
    unsafe { std::env::remove_var("PGSSLROOTCERT") };
    let mut db = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    let tls_sessions: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE s.ssl AND a.application_name = 'claimscrub'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(tls_sessions >= 1, "the store's session uses TLS");
}

/// A replica started while the database is down waits (not listening, so no probe passes)
/// instead of serving an empty rule set, and serves once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_started_while_the_database_is_down_waits_for_it() {
    let Some(pg) = postgres() else { return };
    assert!(import(&pg, &bundled_rules()).await.failed.is_empty());
    pg.stop().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_claimscrub"))
        .args(["serve", "--rules", &pg.url, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--tables")
        .arg(bundled_tables())
        .args(["--metrics-listen", "none"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        tonic::transport::Channel::from_shared(url.clone())
            .unwrap()
            .connect()
            .await
            .is_err(),
        "nothing is served without the rules"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the replica waits, it does not exit"
    );
    pg.restart().unwrap();
    let channel = support::connect_when_up(&url, Duration::from_secs(20))
        .await
        .expect("the replica serves once the database is back");
    let resp = ClaimScrubberClient::new(channel)
        .scrub_claim(request(clean_claim("BACK")))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.rules_evaluated > 0);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Disabling or deleting is checked against the version the caller saw, in one transaction
/// with its history entry: a stale disable changes nothing.
#[tokio::test]
async fn a_stale_disable_changes_nothing() {
    let Some(pg) = postgres() else { return };
    assert!(import(&pg, &bundled_rules()).await.failed.is_empty());
    let url = pg.url.clone();
    tokio::task::spawn_blocking(move || {
        use claimscrub::store::{PutError, Retire, RuleStore};
        let store = PgStore::connect(&url).unwrap();
        let live = store
            .list()
            .unwrap()
            .into_iter()
            .find(|f| f.name == "units-positive.rhai")
            .unwrap();
        let source = live.source.unwrap();
        let entry = claimscrub::admin::history::Entry {
            version: claimscrub::rules::compile::content_version(&source),
            author: "bo".into(),
            time: "2026-12-01T00:00:00Z".into(),
            comment: String::new(),
            action: "disable".into(),
        };
        let mut retire = Retire {
            file: "units-positive.rhai",
            id: "units-positive",
            source: &source,
            tests: None,
            version: "000000000000",
            delete: false,
            entry: &entry,
        };
        assert!(matches!(store.retire(&retire), Err(PutError::Stale { .. })));
        assert!(store.disabled().unwrap().is_empty(), "nothing disabled");
        assert_eq!(
            store.history("units-positive").unwrap().len(),
            1,
            "no history row"
        );
        retire.version = &entry.version;
        store.retire(&retire).unwrap();
        assert_eq!(store.disabled().unwrap().len(), 1);
        assert_eq!(
            store.history("units-positive").unwrap()[0].action,
            "disable"
        );
        // Who changed each rule last, in one query: the newest entry per rule.
        let last = store
            .last_changes(&["units-positive", "npi-check-digit", "no-such-rule"])
            .unwrap();
        assert_eq!(last["units-positive"].action, "disable");
        assert_eq!(last["units-positive"].author, "bo");
        assert_eq!(
            last.get("npi-check-digit").map(|e| e.action.as_str()),
            store
                .history("npi-check-digit")
                .unwrap()
                .first()
                .map(|e| e.action.as_str())
        );
        assert!(!last.contains_key("no-such-rule"));
    })
    .await
    .unwrap();
}

/// A rule in shadow in the shared database: imported from `NAME.rhai.shadow`, reported apart
/// by every replica, moved by the admin API with its version checked, kept in shadow across
/// an edit, and exported back as `NAME.rhai.shadow`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_in_shadow_is_shared_through_the_database() {
    let Some(pg) = postgres() else { return };
    let src = tempfile::tempdir().unwrap();
    support::copy_bundled_rules(src.path());
    std::fs::rename(
        src.path().join("units-positive.rhai"),
        src.path().join("units-positive.rhai.shadow"),
    )
    .unwrap();
    let report = import(&pg, src.path()).await;
    assert!(report.failed.is_empty(), "{report:?}");
    let tokens = src.path().join("tokens");
    std::fs::write(&tokens, format!("editor bo {EDITOR}\n")).unwrap();
    let server = replica(&pg.url, &tokens).await;
    let mut scrub = ClaimScrubberClient::new(server.channel().await);
    let mut admin = admin(&server).await;
    let mut claim = clean_claim("PG-SHADOW");
    claim.lines[0].units = 0.0;
    let shadow_ids = |r: &pb::ScrubClaimResponse| -> Vec<String> {
        r.shadow_findings
            .iter()
            .map(|f| f.rule_id.clone())
            .collect()
    };
    let r = scrub
        .scrub_claim(request(claim.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shadow_ids(&r), ["units-positive"]);
    assert!(!support::rule_ids(&r).contains(&"units-positive".to_string()));

    let action = || {
        with_token(
            pb::RuleActionRequest {
                id: "units-positive".into(),
                comment: String::new(),
            },
            EDITOR,
        )
    };
    admin.activate_rule(action()).await.unwrap();
    let r = scrub
        .scrub_claim(request(claim.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(support::rule_ids(&r).contains(&"units-positive".to_string()));
    admin.shadow_rule(action()).await.unwrap();
    // An edit of a rule in shadow keeps it in shadow.
    let current = admin
        .get_rule(with_token(
            pb::GetRuleRequest {
                id: "units-positive".into(),
            },
            EDITOR,
        ))
        .await
        .unwrap()
        .into_inner();
    let put = admin
        .put_rule(with_token(
            pb::PutRuleRequest {
                id: "units-positive".into(),
                source: units_rule("edited in shadow"),
                expected_version: current.rule.unwrap().version,
                ..Default::default()
            },
            EDITOR,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(put.accepted, "{put:?}");
    let r = scrub
        .scrub_claim(request(claim.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shadow_ids(&r), ["units-positive"]);
    assert!(r.shadow_findings[0].message.contains("edited in shadow"));

    let url = pg.url.clone();
    tokio::task::spawn_blocking(move || {
        use claimscrub::store::{Move, PutError, RuleStore};
        let store = PgStore::connect(&url).unwrap();
        let live = store.list().unwrap();
        let f = live
            .iter()
            .find(|f| f.name == "units-positive.rhai")
            .unwrap();
        assert!(f.shadow);
        let entry = claimscrub::admin::history::Entry {
            version: "000000000000".into(),
            author: "bo".into(),
            time: "2026-12-01T00:00:00Z".into(),
            comment: String::new(),
            action: "activate".into(),
        };
        let stale = Move {
            file: "units-positive.rhai",
            id: "units-positive",
            source: "x",
            tests: None,
            version: "000000000000",
            shadow: false,
            entry: &entry,
        };
        assert!(matches!(store.shift(&stale), Err(PutError::Stale { .. })));
        assert!(
            store
                .list()
                .unwrap()
                .iter()
                .any(|f| f.name == "units-positive.rhai" && f.shadow)
        );
        let out = tempfile::tempdir().unwrap();
        let written = transfer::export(&store, out.path()).unwrap();
        assert!(
            written.contains(&"units-positive.rhai.shadow".to_string()),
            "{written:?}"
        );
        assert!(out.path().join("units-positive.rhai.shadow").exists());
        assert!(!out.path().join("units-positive.rhai").exists());
    })
    .await
    .unwrap();
}
