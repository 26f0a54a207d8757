//! Runaway and broken rules are cut off and reported in `rule_failures` while the other rules
//! still score the claim; fail-closed turns any failure into a HIGH-risk claim.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use claimscrub::proto::v1 as pb;
use claimscrub::scoring::FailurePolicy;
use support::{TestServer, clean_claim, config, copy_bundled_rules, request, rule_ids};

fn rule(id: &str, body: &str) -> String {
    format!(
        r#"let rule = #{{ id: "{id}", name: "{id}", category: "test", severity: "error",
            carc: "CO-16", denial_probability: 0.5 }};
{body}
"#
    )
}

fn write_runaways(dir: &Path) {
    let files = [
        ("forever", "fn check(claim) { let n = 0; loop { n += 1; } }"),
        (
            "recurse",
            "fn down(n) { down(n + 1) }\nfn check(claim) { down(0) }",
        ),
        ("hog", "fn check(claim) { let s = \"x\"; loop { s += s; } }"),
        ("typo", "fn check(claim) { claim.linez }"),
        ("wrong-return", "fn check(claim) { 42 }"),
        ("bad-line", "fn check(claim) { finding(\"x\", [99]) }"),
        (
            "bad-action",
            "fn check(claim) { #{ message: \"x\", action: #{ kind: \"explode\", line: 1 } } }",
        ),
        (
            "bad-rarc",
            "fn check(claim) { #{ message: \"x\", rarc: \"CO-16\" } }",
        ),
        ("sleeper", "fn check(claim) { sleep(10); }"),
    ];
    for (id, body) in files {
        std::fs::write(dir.join(format!("{id}.rhai")), rule(id, body)).unwrap();
    }
}

fn zero_units_claim() -> pb::ScrubClaimRequest {
    let mut c = clean_claim("RUNAWAY");
    c.lines[0].units = 0.0;
    request(c)
}

#[tokio::test]
async fn runaway_rules_are_cut_off_and_others_still_score() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    write_runaways(dir.path());
    let mut cfg = config(dir.path());
    cfg.engine.rule_timeout = Duration::from_millis(50);
    cfg.engine.max_operations = u64::MAX;
    let server = TestServer::start(cfg).await;

    let started = Instant::now();
    let resp = server
        .client()
        .await
        .scrub_claim(zero_units_claim())
        .await
        .unwrap()
        .into_inner();
    println!("scored with runaways in {:?}", started.elapsed());
    assert_eq!(
        rule_ids(&resp),
        ["units-positive"],
        "the good rules still score"
    );
    let kinds: Vec<(String, i32)> = resp
        .rule_failures
        .iter()
        .map(|f| (f.rule_id.clone(), f.kind))
        .collect();
    use pb::RuleFailureKind as K;
    assert_eq!(
        kinds,
        [
            ("bad-action".to_string(), K::Error as i32),
            ("bad-line".to_string(), K::Error as i32),
            ("bad-rarc".to_string(), K::Error as i32),
            ("forever".to_string(), K::Timeout as i32),
            ("hog".to_string(), K::LimitExceeded as i32),
            ("recurse".to_string(), K::LimitExceeded as i32),
            ("sleeper".to_string(), K::Error as i32),
            ("typo".to_string(), K::Error as i32),
            ("wrong-return".to_string(), K::Error as i32),
        ]
    );
    for f in &resp.rule_failures {
        assert!(!f.message.is_empty());
        assert_eq!(f.rule_version.len(), 12);
    }
    let typo = resp
        .rule_failures
        .iter()
        .find(|f| f.rule_id == "typo")
        .unwrap();
    assert!(typo.message.contains("line 3"), "{}", typo.message);
    let message = |id: &str| {
        resp.rule_failures
            .iter()
            .find(|f| f.rule_id == id)
            .map(|f| f.message.clone())
            .unwrap()
    };
    assert!(
        message("bad-action")
            .contains("append_modifier, remove_modifier, remove_line or set_units"),
        "{}",
        message("bad-action")
    );
    assert!(
        message("bad-rarc").contains("remark code"),
        "{}",
        message("bad-rarc")
    );
    // Fail-open: the failures do not change the score (units-positive alone = 0.9).
    assert!((resp.denial_risk - 0.9).abs() < 1e-9);
}

#[tokio::test]
async fn operation_limit_stops_loops_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("forever.rhai"),
        rule("forever", "fn check(claim) { loop { } }"),
    )
    .unwrap();
    let mut cfg = config(dir.path());
    cfg.engine.max_operations = 10_000;
    cfg.engine.rule_timeout = Duration::from_secs(30);
    let server = TestServer::start(cfg).await;
    let resp = server
        .client()
        .await
        .scrub_claim(zero_units_claim())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.rule_failures.len(), 1);
    assert_eq!(
        resp.rule_failures[0].kind,
        pb::RuleFailureKind::LimitExceeded as i32
    );
}

#[tokio::test]
async fn fail_closed_holds_the_claim() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    write_runaways(dir.path());
    let mut cfg = config(dir.path());
    cfg.engine.rule_timeout = Duration::from_millis(20);
    cfg.scrub.policy = FailurePolicy::Closed;
    let server = TestServer::start(cfg).await;
    let resp = server
        .client()
        .await
        .scrub_claim(request(clean_claim("CLOSED")))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.findings.is_empty());
    assert!(!resp.rule_failures.is_empty());
    assert_eq!(resp.denial_risk, 1.0);
    assert_eq!(resp.risk_band, pb::RiskBand::High as i32);
}

#[tokio::test]
async fn sandbox_refuses_eval_and_modules_at_load() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    std::fs::write(
        dir.path().join("evil.rhai"),
        rule("evil", "fn check(claim) { eval(\"1\") }"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("importer.rhai"),
        format!(
            "import \"os\" as os;\n{}",
            rule("importer", "fn check(claim) { }")
        ),
    )
    .unwrap();
    let server = TestServer::start(config(dir.path())).await;
    let statuses = server.registry.file_statuses();
    for name in ["evil.rhai", "importer.rhai"] {
        let (_, s) = statuses.iter().find(|(f, _)| f == name).unwrap();
        assert!(s.error.is_some(), "{name} must not load");
        assert!(s.rule_id.is_none());
    }
    assert!(server.registry.snapshot().get("evil").is_none());
}
