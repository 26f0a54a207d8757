//! RuleAdmin over real gRPC: the read-only calls, bearer-token authentication and roles,
//! secure-by-default refusal without a token file, and the audit log (accepted and refused
//! calls, no tokens or claim data).

mod support;

use std::time::Duration;

use claimscrub::proto::v1::{self as pb, rule_admin_client::RuleAdminClient};
use support::{TestServer, config, copy_bundled_rules};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

const VIEWER: &str = "viewer-token-0123456789";
const SCRUBBER: &str = "scrubber-token-0123456789";

fn with_token<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

async fn admin(server: &TestServer) -> RuleAdminClient<Channel> {
    RuleAdminClient::new(server.channel().await)
}

#[tokio::test]
async fn viewer_reads_rules_status_and_every_call_is_audited() {
    let (dir, rules, cfg) = setup(&format!(
        "viewer ana {VIEWER}\nscrubber billing-system {SCRUBBER}\n"
    ));
    let audit = dir.path().join("audit.jsonl");
    let server = TestServer::start(cfg).await;
    let mut client = admin(&server).await;

    let list = client
        .list_rules(with_token(pb::ListRulesRequest {}, VIEWER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.rules.len(), server.registry.snapshot().rules.len());
    assert_eq!(list.ruleset_version, server.registry.snapshot().version);
    let contract = list
        .rules
        .iter()
        .find(|r| r.id == "contract-acme-commercial")
        .unwrap();
    assert_eq!(contract.kind, "reimbursement");
    let ptp = list.rules.iter().find(|r| r.id == "ncci-ptp").unwrap();
    assert_eq!(ptp.kind, "edit");
    assert_eq!(
        (
            ptp.load_status.as_str(),
            ptp.carc.as_str(),
            ptp.version.len()
        ),
        ("active", "CO-97", 12)
    );

    let rule = client
        .get_rule(with_token(
            pb::GetRuleRequest {
                id: "units-positive".into(),
            },
            VIEWER,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(rule.source.contains("fn check(claim)"));
    assert!(rule.tests.contains("\"cases\""));
    let missing = client
        .get_rule(with_token(pb::GetRuleRequest { id: "nope".into() }, VIEWER))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // A broken edit shows up in the status with file, line and column.
    std::fs::write(
        rules.join("broken.rhai"),
        "let rule = #{ id: \"broken\" ;\n",
    )
    .unwrap();
    let status = support::eventually(Duration::from_secs(5), || {
        let mut client = client.clone();
        async move {
            let s = client
                .get_ruleset_status(with_token(pb::GetRulesetStatusRequest {}, VIEWER))
                .await
                .unwrap()
                .into_inner();
            s.errors
                .iter()
                .any(|e| e.file == "broken.rhai" && e.message.starts_with("broken.rhai:1:"))
        }
    })
    .await;
    assert!(status.is_some(), "the load error is reported");
    let s = client
        .get_ruleset_status(with_token(pb::GetRulesetStatusRequest {}, VIEWER))
        .await
        .unwrap()
        .into_inner();
    assert!(
        s.errors[0].message.starts_with("broken.rhai:1:"),
        "{}",
        s.errors[0].message
    );
    assert_eq!(s.tables.len(), 14);
    assert!(!s.last_reload_at.is_empty());

    // Refusals: no token, unknown token, a role without permission.
    let none = client
        .list_rules(pb::ListRulesRequest {})
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated);
    let wrong = client
        .list_rules(with_token(
            pb::ListRulesRequest {},
            "not-a-real-token-at-all",
        ))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    let denied = client
        .list_rules(with_token(pb::ListRulesRequest {}, SCRUBBER))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.message().contains("billing-system"));

    let log = std::fs::read_to_string(&audit).unwrap();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        records
            .iter()
            .any(|r| r["principal"] == "ana" && r["action"] == "ListRules" && r["outcome"] == "ok")
    );
    assert!(records.iter().any(|r| r["action"] == "GetRule"
        && r["rule_id"] == "nope"
        && r["outcome"] == "not found"));
    let refused = records
        .iter()
        .filter(|r| r["outcome"].as_str().unwrap().starts_with("refused"))
        .count();
    assert_eq!(refused, 3);
    assert!(
        !log.contains(VIEWER) && !log.contains(SCRUBBER) && !log.contains("not-a-real-token"),
        "tokens never logged"
    );
}

#[tokio::test]
async fn without_a_token_file_every_admin_call_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    let server = TestServer::start(config(dir.path())).await;
    let status = admin(&server)
        .await
        .list_rules(with_token(pb::ListRulesRequest {}, VIEWER))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("--auth-tokens"));
}

const EDITOR: &str = "editor-token-0123456789";
const EDITOR2: &str = "editor2-token-0123456789";

/// A rules directory with the bundled rules, a token file with `tokens`, and an audit log,
/// all in a temporary directory.
fn setup(
    tokens: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    claimscrub::config::Config,
) {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    copy_bundled_rules(&rules);
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, tokens).unwrap();
    let mut cfg = config(&rules);
    cfg.auth_tokens = Some(token_file);
    cfg.audit_log = dir.path().join("audit.jsonl");
    (dir, rules, cfg)
}

fn editor_setup() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    claimscrub::config::Config,
) {
    setup(&format!(
        "viewer ana {VIEWER}\neditor bo {EDITOR}\neditor cy {EDITOR2}\n"
    ))
}

async fn zero_units_message(server: &TestServer) -> Option<String> {
    let mut claim = support::clean_claim("ED-1");
    claim.lines[0].units = 0.0;
    let resp = server
        .client()
        .await
        .scrub_claim(support::request(claim))
        .await
        .unwrap()
        .into_inner();
    resp.findings
        .into_iter()
        .find(|f| f.rule_id == "units-positive")
        .map(|f| f.message)
}

#[tokio::test]
async fn editors_validate_put_roll_back_disable_and_delete_with_history() {
    let (dir, rules, cfg) = editor_setup();
    let server = TestServer::start(cfg.clone()).await;
    let mut c = admin(&server).await;
    let original = std::fs::read_to_string(rules.join("units-positive.rhai")).unwrap();
    let v1 = c
        .get_rule(with_token(
            pb::GetRuleRequest {
                id: "units-positive".into(),
            },
            VIEWER,
        ))
        .await
        .unwrap()
        .into_inner()
        .rule
        .unwrap()
        .version;
    let mut events = c
        .watch_rule_events(with_token(pb::WatchRuleEventsRequest {}, VIEWER))
        .await
        .unwrap()
        .into_inner();

    // ValidateRule: a compile error with its position; a good script dry-run on a sample.
    let bad = c
        .validate_rule(with_token(
            pb::ValidateRuleRequest {
                source: "fn check(claim {".into(),
                ..Default::default()
            },
            EDITOR,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        !bad.valid && bad.errors[0].line == 1 && bad.errors[0].column > 0,
        "{bad:?}"
    );
    let edited = original.replace("units must be more than zero", "units must be at least one");
    let mut sample = support::clean_claim("SAMPLE");
    sample.lines[0].units = 0.0;
    let good = c
        .validate_rule(with_token(
            pb::ValidateRuleRequest {
                source: edited.clone(),
                tests: String::new(),
                sample_claims: vec![support::request(sample)],
                ..Default::default()
            },
            EDITOR,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(good.valid && good.rule_id == "units-positive");
    assert!(good.samples[0].findings[0].message.contains("at least one"));
    // A rule that fails at run time on a sample claim is not "valid": it would fail the same
    // way on real claims.
    let crashing = edited.replacen(
        "fn check(claim) {",
        "fn check(claim) {\n    let boom = [][0];",
        1,
    );
    assert_ne!(crashing, edited, "the rule's check function was found");
    let mut sample = support::clean_claim("SAMPLE-2");
    sample.lines[0].units = 0.0;
    let bad_run = c
        .validate_rule(with_token(
            pb::ValidateRuleRequest {
                source: crashing,
                tests: String::new(),
                sample_claims: vec![support::request(sample)],
                ..Default::default()
            },
            EDITOR,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!bad_run.valid, "{bad_run:?}");
    assert!(
        bad_run.errors[0]
            .message
            .contains("fails on sample claim SAMPLE-2"),
        "{:?}",
        bad_run.errors
    );
    assert!(
        zero_units_message(&server)
            .await
            .unwrap()
            .contains("more than zero"),
        "validate changes nothing"
    );

    // A viewer may not edit; a stale version is refused naming the current one.
    let put = |source: String, expected: String, comment: &str| pb::PutRuleRequest {
        id: "units-positive".into(),
        source,
        tests: String::new(),
        expected_version: expected,
        comment: comment.into(),
    };
    let denied = c
        .put_rule(with_token(put(edited.clone(), v1.clone(), ""), VIEWER))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let stale = c
        .put_rule(with_token(
            put(edited.clone(), "000000000000".into(), ""),
            EDITOR,
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    assert!(stale.message().contains(&v1), "{}", stale.message());
    // The refusal says why in machine-readable form: a PreconditionFailure naming the rule.
    let details = stale.get_error_details();
    let violation = &details
        .precondition_failure()
        .expect("PreconditionFailure details")
        .violations[0];
    assert_eq!(violation.r#type, "STALE_VERSION");
    assert_eq!(violation.subject, "rule/units-positive");
    // A malformed id is a bad request naming the field.
    let bad_id = c
        .get_rule_history(with_token(
            pb::GetRuleHistoryRequest {
                id: "../etc".into(),
            },
            EDITOR,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_id.code(), Code::InvalidArgument);
    let violations = bad_id.get_error_details();
    let field = &violations
        .bad_request()
        .expect("BadRequest details")
        .field_violations[0];
    assert_eq!(field.field, "id");

    // A script that does not compile is refused with its position; nothing changes.
    let syntax = c
        .put_rule(with_token(
            put("fn check(claim {".into(), v1.clone(), "oops"),
            EDITOR,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        !syntax.accepted && syntax.version == v1 && syntax.errors[0].line == 1,
        "{syntax:?}"
    );
    let already = c
        .enable_rule(with_token(
            pb::RuleActionRequest {
                id: "units-positive".into(),
                comment: String::new(),
            },
            EDITOR,
        ))
        .await
        .unwrap_err();
    assert_eq!(already.code(), Code::FailedPrecondition);
    let unknown = c
        .disable_rule(with_token(
            pb::RuleActionRequest {
                id: "no-such-rule".into(),
                comment: String::new(),
            },
            EDITOR,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // A version whose own tests fail is refused; the old one keeps scoring.
    let broken = original.replace(r#""units", "<=", 0"#, r#""units", "<", 0"#);
    assert_ne!(broken, original);
    let refused = c
        .put_rule(with_token(put(broken, v1.clone(), "try"), EDITOR))
        .await
        .unwrap()
        .into_inner();
    assert!(!refused.accepted && refused.version == v1);
    assert!(refused.tests.iter().any(|t| !t.passed));
    assert!(
        zero_units_message(&server)
            .await
            .unwrap()
            .contains("more than zero")
    );

    // A good edit activates at once; a second editor holding the old version is refused.
    let accepted = c
        .put_rule(with_token(
            put(edited.clone(), v1.clone(), "clearer wording"),
            EDITOR,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(accepted.accepted, "{accepted:?}");
    let v2 = accepted.version.clone();
    assert_ne!(v2, v1);
    assert!(
        zero_units_message(&server)
            .await
            .unwrap()
            .contains("at least one")
    );
    let again = original.replace("units must be more than zero", "enter one unit or more");
    let conflict = c
        .put_rule(with_token(put(again.clone(), v1.clone(), "mine"), EDITOR2))
        .await
        .unwrap_err();
    assert_eq!(conflict.code(), Code::FailedPrecondition);
    let v3 = c
        .put_rule(with_token(put(again, v2.clone(), "third"), EDITOR2))
        .await
        .unwrap()
        .into_inner()
        .version;

    // History, newest first, with authors; rollback to v2.
    let history = c
        .get_rule_history(with_token(
            pb::GetRuleHistoryRequest {
                id: "units-positive".into(),
            },
            VIEWER,
        ))
        .await
        .unwrap()
        .into_inner();
    let seen: Vec<(&str, &str)> = history
        .versions
        .iter()
        .map(|v| (v.version.as_str(), v.author.as_str()))
        .collect();
    assert_eq!(seen[..2], [(v3.as_str(), "cy"), (v2.as_str(), "bo")]);
    let back = c
        .rollback_rule(with_token(
            pb::RollbackRuleRequest {
                id: "units-positive".into(),
                version: v2.clone(),
                comment: "undo".into(),
            },
            EDITOR,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(back.accepted && back.version == v2);

    // Disable, enable, delete.
    c.disable_rule(with_token(
        pb::RuleActionRequest {
            id: "units-positive".into(),
            comment: "pause".into(),
        },
        EDITOR,
    ))
    .await
    .unwrap();
    assert!(zero_units_message(&server).await.is_none());
    let listed = c
        .list_rules(with_token(pb::ListRulesRequest {}, VIEWER))
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed
            .rules
            .iter()
            .any(|r| r.id == "units-positive" && !r.enabled)
    );
    c.enable_rule(with_token(
        pb::RuleActionRequest {
            id: "units-positive".into(),
            comment: String::new(),
        },
        EDITOR,
    ))
    .await
    .unwrap();
    assert!(zero_units_message(&server).await.is_some());
    c.delete_rule(with_token(
        pb::RuleActionRequest {
            id: "units-positive".into(),
            comment: "retire".into(),
        },
        EDITOR,
    ))
    .await
    .unwrap();
    assert!(zero_units_message(&server).await.is_none());

    // Events were streamed live.
    let first = tokio::time::timeout(Duration::from_secs(5), events.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.kind.as_str(), first.rule_id.as_str()),
        ("activated", "units-positive")
    );

    // History survives a restart; a deleted rule can be restored from it.
    drop(c);
    server.stop().await.unwrap();
    let server = TestServer::start(cfg).await;
    let mut c = admin(&server).await;
    let history = c
        .get_rule_history(with_token(
            pb::GetRuleHistoryRequest {
                id: "units-positive".into(),
            },
            VIEWER,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(history.versions.iter().any(|v| v.action == "delete"));
    let restored = c
        .rollback_rule(with_token(
            pb::RollbackRuleRequest {
                id: "units-positive".into(),
                version: v3.clone(),
                comment: "restore".into(),
            },
            EDITOR,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(restored.accepted && restored.version == v3);
    assert!(
        zero_units_message(&server)
            .await
            .unwrap()
            .contains("enter one unit")
    );

    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"action\":\"PutRule\"")
        && l.contains(&format!("\"old_version\":\"{v1}\""))
        && l.contains(&format!("\"new_version\":\"{v2}\""))));
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"action\":\"PutRule\"") && l.contains("refused"))
    );
    assert!(
        !audit.contains(EDITOR) && !audit.contains("ED-1"),
        "no tokens or claim data in the audit log"
    );
}

fn cli(args: &[&str], server: &str, token: &str) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_claimscrub"))
        .args(args)
        .env("CLAIMSCRUB_SERVER", server)
        .env("CLAIMSCRUB_TOKEN", token)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The staff command line against a running server: push (refused with a readable reason,
/// then accepted), list, validate with samples, history, rollback, disable/enable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_cli_round_trip() {
    let (dir, rules, cfg) = editor_setup();
    let server = TestServer::start(cfg).await;
    let url = server.url();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let original = std::fs::read_to_string(rules.join("units-positive.rhai")).unwrap();
    let file = work.join("units-positive.rhai");
    let run = |args: Vec<String>, token: &'static str| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            cli(
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
                &url,
                token,
            )
        })
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // A file that was not pulled from the live rule is not pushed over it.
    std::fs::write(&file, original.replace("units must be more than zero", "x")).unwrap();
    let (ok, out) = run(s(&["rules", "push", file.to_str().unwrap()]), EDITOR)
        .await
        .unwrap();
    assert!(!ok && out.contains("was not pulled"), "{out}");

    // Pull the live rule: script, tests and the version it was pulled at.
    let (ok, out) = run(
        s(&[
            "rules",
            "pull",
            "units-positive",
            "--to",
            work.to_str().unwrap(),
        ]),
        VIEWER,
    )
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    assert!(work.join("units-positive.tests.json").exists());

    // A typo is refused with the line, column and a suggestion; nothing changes.
    std::fs::write(
        &file,
        original.replace("text(line.units)", "text(line.unit)"),
    )
    .unwrap();
    let (ok, out) = run(
        s(&["rules", "push", file.to_str().unwrap(), "-m", "typo"]),
        EDITOR,
    )
    .await
    .unwrap();
    assert!(!ok, "{out}");
    assert!(
        out.contains("NOT changed") && out.contains("did you mean `units`?"),
        "{out}"
    );

    // A viewer cannot push.
    std::fs::write(
        &file,
        original.replace("units must be more than zero", "enter at least one unit"),
    )
    .unwrap();
    let (ok, out) = run(s(&["rules", "push", file.to_str().unwrap()]), VIEWER)
        .await
        .unwrap();
    assert!(!ok && out.contains("ask for the editor role"), "{out}");

    // Validate with a sample claim, then push for real.
    let samples = work.join("samples.json");
    std::fs::write(&samples, r#"[{"claim_id": "S1", "lines": [{"procedure_code": "97110", "units": 0, "service_date": "2024-07-01"}]}]"#).unwrap();
    let (ok, out) = run(
        s(&[
            "rules",
            "validate",
            file.to_str().unwrap(),
            "--claims",
            samples.to_str().unwrap(),
        ]),
        EDITOR,
    )
    .await
    .unwrap();
    assert!(
        ok && out.contains("sample S1") && out.contains("enter at least one unit"),
        "{out}"
    );
    let (ok, out) = run(
        s(&["rules", "push", file.to_str().unwrap(), "-m", "wording"]),
        EDITOR,
    )
    .await
    .unwrap();
    assert!(ok && out.contains("is now active at version"), "{out}");

    let (ok, out) = run(s(&["rules", "list"]), VIEWER).await.unwrap();
    assert!(
        ok && out.contains("units-positive") && out.contains("ncci-ptp"),
        "{out}"
    );
    let (ok, out) = run(s(&["rules", "history", "units-positive", "--json"]), VIEWER)
        .await
        .unwrap();
    assert!(ok, "{out}");
    let history: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(history[0]["author"], "bo");
    assert_eq!(history[0]["comment"], "wording");

    // Roll back to the bundled version: the push kept the version it replaced.
    let v_orig = claimscrub::rules::compile::content_version(&original);
    let (ok, out) = run(s(&["rules", "rollback", "units-positive", &v_orig]), EDITOR)
        .await
        .unwrap();
    assert!(
        ok && out.contains(&format!("back at version {v_orig}")),
        "{out}"
    );
    let (ok, out) = run(
        s(&["rules", "rollback", "units-positive", "abcdefabcdef"]),
        EDITOR,
    )
    .await
    .unwrap();
    assert!(!ok && out.contains("no stored version"), "{out}");
    let (ok, out) = run(
        s(&["rules", "disable", "units-positive", "-m", "pause"]),
        EDITOR,
    )
    .await
    .unwrap();
    assert!(ok && out.contains("disabled"), "{out}");
    let (ok, out) = run(s(&["rules", "enable", "units-positive"]), EDITOR)
        .await
        .unwrap();
    assert!(ok && out.contains("enabled"), "{out}");

    // Someone else changes the rule: the stale pulled copy is refused, --force overwrites
    // and says so in the history.
    let other = work.join("other");
    std::fs::create_dir(&other).unwrap();
    let (ok, out) = run(
        s(&[
            "rules",
            "pull",
            "units-positive",
            "--to",
            other.to_str().unwrap(),
        ]),
        EDITOR,
    )
    .await
    .unwrap();
    assert!(ok, "{out}");
    let theirs = other.join("units-positive.rhai");
    std::fs::write(
        &theirs,
        original.replace(
            "units must be more than zero",
            "units must be 1 or more (theirs)",
        ),
    )
    .unwrap();
    let (ok, out) = run(s(&["rules", "push", theirs.to_str().unwrap()]), EDITOR)
        .await
        .unwrap();
    assert!(ok, "{out}");
    std::fs::write(
        &file,
        original.replace(
            "units must be more than zero",
            "units must be 1 or more (mine)",
        ),
    )
    .unwrap();
    let (ok, out) = run(s(&["rules", "push", file.to_str().unwrap()]), EDITOR)
        .await
        .unwrap();
    assert!(!ok && out.contains("someone changed it"), "{out}");
    let (ok, out) = run(
        s(&["rules", "push", file.to_str().unwrap(), "--force"]),
        EDITOR,
    )
    .await
    .unwrap();
    assert!(ok && out.contains("is now active"), "{out}");
    let (_, out) = run(s(&["rules", "history", "units-positive", "--json"]), VIEWER)
        .await
        .unwrap();
    let history: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        history[0]["comment"].as_str().unwrap().contains("forced"),
        "{history}"
    );

    // A new file that does not load is listed, and the status names it.
    std::fs::write(rules.join("broken-new.rhai"), "let rule = #{ id: ").unwrap();
    let listed = support::eventually(Duration::from_secs(10), || {
        let run = &run;
        let s = &s;
        async move {
            let (_, out) = run(s(&["rules", "list"]), VIEWER).await.unwrap();
            out.contains("broken-new.rhai") && out.contains("does not load")
        }
    })
    .await;
    assert!(listed.is_some(), "rules list shows the broken new file");
    let (ok, out) = run(s(&["rules", "status"]), VIEWER).await.unwrap();
    assert!(!ok && out.contains("FAILED  broken-new.rhai"), "{out}");
    std::fs::remove_file(rules.join("broken-new.rhai")).unwrap();

    // Delete: gone from the active set, kept in the history.
    let (ok, out) = run(
        s(&["rules", "delete", "units-positive", "-m", "retired"]),
        EDITOR,
    )
    .await
    .unwrap();
    assert!(ok && out.contains("is deleted"), "{out}");
    assert!(server.registry.snapshot().get("units-positive").is_none());
    let (ok, out) = run(s(&["rules", "history", "units-positive"]), VIEWER)
        .await
        .unwrap();
    assert!(ok && out.contains("delete"), "{out}");
}

/// Makes `dir` unwritable even for root (the immutable attribute), else by mode bits.
fn make_read_only(dir: &std::path::Path, on: bool) -> bool {
    let flag = if on { "+i" } else { "-i" };
    let chattr = std::process::Command::new("chattr")
        .arg(flag)
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    if chattr {
        return true;
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = if on { 0o555 } else { 0o755 };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
    // Mode bits do not stop root.
    std::fs::File::create(dir.join(".probe")).is_err()
}

/// A rules directory mounted read-only (a ConfigMap, a read-only volume): admin writes are
/// refused with FAILED_PRECONDITION saying how this deployment is edited, and audited.
#[tokio::test]
async fn a_read_only_rules_directory_refuses_writes_clearly_and_audits_them() {
    let (dir, rules, cfg) = editor_setup();
    let audit_path = cfg.audit_log.clone();
    let server = TestServer::start(cfg).await;
    let mut c = admin(&server).await;
    let current = server
        .registry
        .snapshot()
        .get("units-positive")
        .unwrap()
        .version
        .clone();
    let source = std::fs::read_to_string(rules.join("units-positive.rhai"))
        .unwrap()
        .replace("units must be more than zero", "units must be 1 or more");
    if !make_read_only(&rules, true) {
        support::skipped("cannot make a directory read-only here (root without chattr)");
        return;
    }
    let refused = c
        .put_rule(with_token(
            pb::PutRuleRequest {
                id: "units-positive".into(),
                source,
                tests: String::new(),
                expected_version: current.clone(),
                comment: String::new(),
            },
            EDITOR,
        ))
        .await;
    let disabled = c
        .disable_rule(with_token(
            pb::RuleActionRequest {
                id: "units-positive".into(),
                comment: String::new(),
            },
            EDITOR,
        ))
        .await;
    make_read_only(&rules, false);
    let refused = refused.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("read-only here"),
        "{}",
        refused.message()
    );
    assert_eq!(disabled.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(
        server
            .registry
            .snapshot()
            .get("units-positive")
            .unwrap()
            .version,
        current,
        "nothing changed"
    );
    let audit = std::fs::read_to_string(audit_path).unwrap();
    for action in ["PutRule", "DisableRule"] {
        assert!(
            audit
                .lines()
                .any(|l| l.contains(&format!("\"action\":\"{action}\""))
                    && l.contains("cannot write the rule store")),
            "{action} failure audited:\n{audit}"
        );
    }
    drop(dir);
}

/// A rule edited directly in the rules directory is kept in the history (so it can be
/// rolled back to), and a restart writes nothing new.
#[tokio::test]
async fn direct_edits_are_kept_in_the_history() {
    let (dir, rules, cfg) = editor_setup();
    let server = TestServer::start(cfg.clone()).await;
    let original = std::fs::read_to_string(rules.join("units-positive.rhai")).unwrap();
    let edited = original.replace("units must be more than zero", "units must be 1 or more");
    std::fs::write(rules.join("units-positive.rhai"), &edited).unwrap();
    let v_edit = claimscrub::rules::compile::content_version(&edited);
    let v_orig = claimscrub::rules::compile::content_version(&original);
    let log = rules.join(".history/units-positive/log.jsonl");
    let kept = support::eventually(Duration::from_secs(10), || {
        let log = log.clone();
        let v_edit = v_edit.clone();
        async move { std::fs::read_to_string(&log).is_ok_and(|t| t.contains(&v_edit)) }
    })
    .await;
    assert!(kept.is_some(), "the direct edit is recorded");
    let history = || async {
        admin(&server)
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
            .versions
    };
    let versions = history().await;
    let seen: Vec<(&str, &str)> = versions
        .iter()
        .map(|v| (v.version.as_str(), v.action.as_str()))
        .collect();
    assert_eq!(seen, [(v_edit.as_str(), "file")]);
    assert_ne!(v_edit, v_orig);
    server.stop().await.unwrap();

    // A restart finds every version recorded: nothing new.
    let lines = std::fs::read_to_string(&log).unwrap().lines().count();
    let server = TestServer::start(cfg).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        lines
    );
    server.stop().await.unwrap();
    drop(dir);
}

/// PutRule into a rules directory that was deleted does not recreate it with one rule (the
/// live set would shrink to that rule): refused, and the rules in force stay.
#[tokio::test]
async fn a_put_never_recreates_a_deleted_rules_directory() {
    let (dir, rules, cfg) = editor_setup();
    let server = TestServer::start(cfg).await;
    let before = server.registry.snapshot();
    let source = std::fs::read_to_string(rules.join("units-positive.rhai")).unwrap();
    let current = before.get("units-positive").unwrap().version.clone();
    std::fs::remove_dir_all(&rules).unwrap();
    let refused = admin(&server)
        .await
        .put_rule(with_token(
            pb::PutRuleRequest {
                id: "units-positive".into(),
                source: source.replace("units must be more than zero", "units must be 1 or more"),
                tests: String::new(),
                expected_version: current,
                comment: String::new(),
            },
            EDITOR,
        ))
        .await
        .unwrap_err();
    assert!(!rules.exists(), "the directory was not recreated");
    assert!(refused.message().contains("does not exist"), "{refused:?}");
    assert_eq!(server.registry.snapshot().rules.len(), before.rules.len());
    drop(dir);
}

/// Validating a slow rule (its test cases each run to the rule's budget) runs on the compile
/// thread: claims are scored meanwhile, not after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_validation_never_holds_up_scoring() {
    let (dir, _rules, mut cfg) = editor_setup();
    cfg.eval_threads = 1;
    let server = TestServer::start(cfg).await;
    let script = r#"let rule = #{ id: "slow", name: "slow", category: "test", severity: "info", carc: "CO-16", denial_probability: 0.1 };
fn check(claim) { let n = 0; loop { n += 1; } }
"#;
    let case = r#"{"name": "spins", "claim": {"claim_id": "T", "lines": [{"line_number": 1, "procedure_code": "99213", "units": 1, "charge_cents": 100, "service_date": "2024-07-01"}]}, "expect": []}"#;
    let tests = format!(
        "{{\"cases\": [{}]}}",
        std::iter::repeat_n(case, 30).collect::<Vec<_>>().join(",")
    );
    let mut c = admin(&server).await;
    let validate = tokio::spawn(async move {
        c.validate_rule(with_token(
            pb::ValidateRuleRequest {
                source: script.into(),
                tests,
                ..Default::default()
            },
            EDITOR,
        ))
        .await
        .map(|r| r.into_inner().valid)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut scrubber = server.client().await;
    for i in 0..5 {
        scrubber
            .scrub_claim(support::request(support::clean_claim(&format!(
                "DURING-{i}"
            ))))
            .await
            .unwrap();
    }
    assert!(
        !validate.is_finished(),
        "the scrubs finished while the validation was still running"
    );
    assert!(
        !validate.await.unwrap().unwrap(),
        "the spinning rule is not valid"
    );
    drop(dir);
}

/// Ids that are not rule ids (".", "..", hidden names, paths) are bad requests naming the
/// field; no file is written.
#[tokio::test]
async fn malformed_rule_ids_are_bad_requests() {
    let (dir, rules, cfg) = editor_setup();
    let server = TestServer::start(cfg).await;
    let mut c = admin(&server).await;
    for id in [".", "..", ".hidden", "../x", "Upper", ""] {
        let status = c
            .put_rule(with_token(
                pb::PutRuleRequest {
                    id: id.into(),
                    source: "let rule = 1;".into(),
                    tests: String::new(),
                    expected_version: String::new(),
                    comment: String::new(),
                },
                EDITOR,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{id:?}: {status:?}");
        let details = status.get_error_details();
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            "id"
        );
    }
    let stray: Vec<_> = std::fs::read_dir(&rules)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.starts_with('.') && n != ".history")
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    drop(dir);
}

/// Deleting the last rule through the admin API is allowed (an explicit change) and the
/// scrubber then reports NOT_SERVING: a replica running on nothing does not pass for working.
#[tokio::test]
async fn no_active_rule_means_not_serving() {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for f in ["units-positive.rhai", "units-positive.tests.json"] {
        std::fs::copy(support::bundled_rules().join(f), rules.join(f)).unwrap();
    }
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, format!("editor bo {EDITOR}\n")).unwrap();
    let mut cfg = config(&rules);
    cfg.auth_tokens = Some(token_file);
    cfg.audit_log = dir.path().join("audit.jsonl");
    let server = TestServer::start(cfg).await;
    admin(&server)
        .await
        .delete_rule(with_token(
            pb::RuleActionRequest {
                id: "units-positive".into(),
                comment: "last one".into(),
            },
            EDITOR,
        ))
        .await
        .unwrap();
    let health = HealthClient::new(server.channel().await);
    let not_serving = support::eventually(Duration::from_secs(5), || {
        let mut health = health.clone();
        async move {
            health
                .check(HealthCheckRequest {
                    service: "claimscrub.v1.ClaimScrubber".into(),
                })
                .await
                .is_ok_and(|r| r.into_inner().status == 2)
        }
    })
    .await;
    assert!(not_serving.is_some(), "NOT_SERVING without rules");
}
