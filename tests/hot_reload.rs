//! Hot reload over real gRPC: add a rule file and it fires; break it and the last good
//! version keeps firing while the failure is reported; delete it and it stops; editors'
//! rename-style saves; reloads under concurrent load never fail a request or mix versions.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use claimscrub::rules::RuleLoadError;
use support::{TestServer, clean_claim, config, copy_bundled_rules, request, rule_ids};

fn always_rule(id: &str, message: &str) -> String {
    format!(
        r#"// test rule
let rule = #{{
    id: "{id}", name: "always", category: "test", severity: "warning",
    carc: "CO-16", denial_probability: 0.1,
}};

fn check(claim) {{
    finding("{message}")
}}
"#
    )
}

async fn messages_of(server: &TestServer, rule: &str) -> Vec<String> {
    let resp = server
        .client()
        .await
        .scrub_claim(request(clean_claim("HR")))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.rule_failures.is_empty(), "{:?}", resp.rule_failures);
    resp.findings
        .into_iter()
        .filter(|f| f.rule_id == rule)
        .map(|f| f.message)
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[tokio::test]
async fn add_break_fix_delete() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    let server = TestServer::start(config(dir.path())).await;
    assert!(messages_of(&server, "always").await.is_empty());

    write(
        dir.path(),
        "always.rhai",
        &always_rule("always", "version one"),
    );
    let took = support::eventually(Duration::from_secs(5), || async {
        messages_of(&server, "always").await == ["version one"]
    })
    .await
    .expect("new rule fires");
    println!("new rule active after {took:?}");
    let good_version = server
        .registry
        .snapshot()
        .get("always")
        .unwrap()
        .version
        .clone();

    // A broken edit: the old version keeps scoring and the error names file, line, column.
    write(
        dir.path(),
        "always.rhai",
        "let rule = #{ id: \"always\" ;\nfn check(claim) { }\n",
    );
    support::eventually(Duration::from_secs(5), || async {
        server
            .registry
            .file_statuses()
            .iter()
            // A plain write is not atomic: the watcher may first see a truncated file. Wait for
            // the complete edit's error.
            .any(|(f, s)| {
                f == "always.rhai" && matches!(s.error, Some(RuleLoadError::Syntax { .. }))
            })
    })
    .await
    .expect("the broken edit is reported");
    let status = server
        .registry
        .file_statuses()
        .into_iter()
        .find(|(f, _)| f == "always.rhai")
        .unwrap()
        .1;
    match status.error.as_ref().unwrap() {
        RuleLoadError::Syntax { line, column, .. } => assert!(*line >= 1 && *column >= 1),
        other => panic!("expected a syntax error, got {other}"),
    }
    assert!(
        status
            .error
            .unwrap()
            .to_string()
            .starts_with("always.rhai:")
    );
    assert_eq!(
        status.active_version.as_deref(),
        Some(good_version.as_str())
    );
    assert_eq!(messages_of(&server, "always").await, ["version one"]);

    // Fixing it activates the fix.
    write(
        dir.path(),
        "always.rhai",
        &always_rule("always", "version two"),
    );
    support::eventually(Duration::from_secs(5), || async {
        messages_of(&server, "always").await == ["version two"]
    })
    .await
    .expect("the fix is activated");

    // Deleting it stops it.
    std::fs::remove_file(dir.path().join("always.rhai")).unwrap();
    support::eventually(Duration::from_secs(5), || async {
        messages_of(&server, "always").await.is_empty()
    })
    .await
    .expect("deleted rule stops firing");
}

#[tokio::test]
async fn rename_style_save_and_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    write(dir.path(), "saved.rhai", &always_rule("saved", "before"));
    let server = TestServer::start(config(dir.path())).await;
    assert_eq!(messages_of(&server, "saved").await, ["before"]);

    // Editors write a hidden temp file, then rename it over the original.
    write(
        dir.path(),
        ".saved.rhai.swp",
        &always_rule("saved", "swap file"),
    );
    write(
        dir.path(),
        ".saved.rhai.tmp",
        &always_rule("saved", "after"),
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        messages_of(&server, "saved").await,
        ["before"],
        "temp files never load"
    );
    std::fs::rename(
        dir.path().join(".saved.rhai.tmp"),
        dir.path().join("saved.rhai"),
    )
    .unwrap();
    support::eventually(Duration::from_secs(5), || async {
        messages_of(&server, "saved").await == ["after"]
    })
    .await
    .expect("renamed file is picked up");
}

#[tokio::test]
async fn rule_whose_tests_fail_is_not_activated() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    let server = TestServer::start(config(dir.path())).await;
    write(
        dir.path(),
        "picky.tests.json",
        r#"[{"name": "expects nothing", "claim": {"claim_id": "T",
            "lines": [{"procedure_code": "99213", "units": 1, "service_date": "2024-07-01"}]},
            "expect": []}]"#,
    );
    write(
        dir.path(),
        "picky.rhai",
        &always_rule("picky", "fires anyway"),
    );
    support::eventually(Duration::from_secs(5), || async {
        server.registry.file_statuses().iter().any(|(f, s)| {
            f == "picky.rhai" && matches!(s.error, Some(RuleLoadError::TestsFailed { .. }))
        })
    })
    .await
    .expect("test failure is reported");
    assert!(messages_of(&server, "picky").await.is_empty());
}

/// Scrubs continuously from several clients while two rules are rewritten many times. No
/// request may fail, and every response's ruleset_version must always pair with the same
/// rule versions: a claim is scored by exactly one consistent rule set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_under_load_never_fail_or_mix_versions() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    write(dir.path(), "gen-a.rhai", &always_rule("gen-a", "a 0"));
    write(dir.path(), "gen-b.rhai", &always_rule("gen-b", "b 0"));
    let server = Arc::new(TestServer::start(config(dir.path())).await);
    let done = Arc::new(AtomicBool::new(false));

    let mut workers = Vec::new();
    for w in 0..4 {
        let server = server.clone();
        let done = done.clone();
        workers.push(tokio::spawn(async move {
            let mut client = server.client().await;
            let mut seen: Vec<(String, Vec<(String, String)>)> = Vec::new();
            let mut n = 0;
            while !done.load(Ordering::Relaxed) {
                let resp = client
                    .scrub_claim(request(clean_claim(&format!("W{w}-{n}"))))
                    .await
                    .expect("no request fails during reloads")
                    .into_inner();
                assert!(resp.rule_failures.is_empty());
                let mut versions: Vec<(String, String)> = resp
                    .findings
                    .iter()
                    .map(|f| (f.rule_id.clone(), f.rule_version.clone()))
                    .collect();
                versions.sort();
                assert_eq!(rule_ids(&resp), ["gen-a", "gen-b"]);
                seen.push((resp.ruleset_version, versions));
                n += 1;
            }
            seen
        }));
    }
    for generation in 1..=15 {
        write(
            dir.path(),
            "gen-a.rhai",
            &always_rule("gen-a", &format!("a {generation}")),
        );
        write(
            dir.path(),
            "gen-b.rhai",
            &always_rule("gen-b", &format!("b {generation}")),
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    done.store(true, Ordering::Relaxed);

    let mut pairing: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut total = 0;
    for w in workers {
        for (ruleset, versions) in w.await.unwrap() {
            total += 1;
            let known = pairing
                .entry(ruleset.clone())
                .or_insert_with(|| versions.clone());
            assert_eq!(
                *known, versions,
                "ruleset {ruleset} scored with mixed rule versions"
            );
        }
    }
    println!(
        "{total} requests across {} rule set versions",
        pairing.len()
    );
    assert!(pairing.len() > 3, "reloads happened during the run");
    let last = server.registry.snapshot();
    assert!(last.get("gen-a").is_some());
}

#[tokio::test]
async fn an_idle_directory_is_not_reloaded_again_and_again() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    let mut c = config(dir.path());
    c.watch.rescan = std::time::Duration::from_secs(60); // only file events trigger reloads
    let server = TestServer::start(c).await;
    // Reading the rules (every reload opens each file) must not look like a change: before
    // the fix, one touch started a reload every debounce period, forever.
    let applied = server.registry.applied_reloads();
    let touched = std::fs::File::options()
        .append(true)
        .open(dir.path().join("units-positive.rhai"))
        .unwrap();
    drop(touched);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        server.registry.applied_reloads(),
        applied,
        "no change, no reload counted"
    );
    let last = server.registry.last_reload();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        server.registry.last_reload(),
        last,
        "a reload does not trigger the next"
    );

    // A real edit is one counted reload.
    write(dir.path(), "always.rhai", &always_rule("always", "v1"));
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while messages_of(&server, "always").await.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the new rule becomes active");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(server.registry.applied_reloads(), applied + 1);
}

#[tokio::test]
async fn deleting_every_rule_file_keeps_the_rules_in_force() {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    let server = TestServer::start(config(dir.path())).await;
    let before = server.registry.snapshot().version.clone();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let refused = support::eventually(std::time::Duration::from_secs(10), || async {
        server.registry.last_error().is_some()
    })
    .await;
    assert!(refused.is_some(), "the emptied directory is reported");
    assert_eq!(
        server.registry.snapshot().version,
        before,
        "the rules stay in force"
    );
    let resp = server
        .client()
        .await
        .scrub_claim(request(clean_claim("STILL")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.ruleset_version, before);
}
