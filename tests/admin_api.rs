//! RuleAdmin over real gRPC: the read-only calls, bearer-token authentication and roles,
//! secure-by-default refusal without a token file, and the audit log (accepted and refused
//! calls, no tokens or claim data).

mod support;

use std::time::Duration;

use claimscrub::proto::v1::{self as pb, rule_admin_client::RuleAdminClient};
use support::{TestServer, config, copy_bundled_rules};
use tonic::Code;
use tonic::transport::Channel;

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
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    copy_bundled_rules(&rules);
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        format!("viewer ana {VIEWER}\nscrubber billing-system {SCRUBBER}\n"),
    )
    .unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut cfg = config(&rules);
    cfg.auth_tokens = Some(tokens);
    cfg.audit_log = audit.clone();
    let server = TestServer::start(cfg).await;
    let mut client = admin(&server).await;

    let list = client
        .list_rules(with_token(pb::ListRulesRequest {}, VIEWER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.rules.len(), server.registry.snapshot().rules.len());
    assert_eq!(list.ruleset_version, server.registry.snapshot().version);
    let ptp = list.rules.iter().find(|r| r.id == "ncci-ptp").unwrap();
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
            s.errors.iter().any(|e| e.file == "broken.rhai")
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
    assert_eq!(s.tables.len(), 9);
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
