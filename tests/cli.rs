//! The command-line tools: `rules test` and `rules check` on the bundled rules, and the
//! README's demo output, which must be exactly what `claimscrub check` prints.

use std::path::Path;
use std::process::Command;

fn claimscrub(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_claimscrub"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run claimscrub");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned()
            + String::from_utf8_lossy(&out.stderr).as_ref(),
    )
}

#[test]
fn bundled_rule_tests_pass() {
    let (ok, out) = claimscrub(&["rules", "test", "--rules", "rules"]);
    assert!(ok, "{out}");
    assert!(out.contains(" 0 failed"), "{out}");
    assert!(!out.contains("FAILED"), "{out}");
}

#[test]
fn bundled_rules_all_load() {
    let (ok, out) = claimscrub(&["rules", "check", "--rules", "rules"]);
    assert!(ok, "{out}");
    assert!(out.contains("0 file(s) failed"), "{out}");
}

#[test]
fn rules_check_reports_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.rhai"),
        "let rule = #{ id: \"broken\" };\nfn check(claim {\n}\n",
    )
    .unwrap();
    let (ok, out) = claimscrub(&["rules", "check", "--rules", dir.path().to_str().unwrap()]);
    assert!(!ok, "a broken rule fails the check");
    assert!(out.contains("broken.rhai:2:16:"), "{out}");
}

#[test]
fn rule_test_failures_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new("rules/units-positive.rhai"),
        dir.path().join("units-positive.rhai"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("units-positive.tests.json"),
        r#"[{"name": "wrongly expects nothing", "claim": {"claim_id": "T",
            "lines": [{"procedure_code": "99213", "units": 0, "service_date": "2024-07-01"}]},
            "expect": []}]"#,
    )
    .unwrap();
    let (ok, out) = claimscrub(&["rules", "test", "--rules", dir.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(
        out.contains("wrongly expects nothing") && out.contains("expected 0 finding(s), got 1"),
        "{out}"
    );
}

/// Replaces the 16-hex-digit ruleset version so the README need not change with every rule edit.
fn normalise(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("ruleset ") {
            Some(i) => format!("{}ruleset <version>", &l[..i]),
            None => l.trim_end().to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[test]
fn readme_demo_output_is_what_check_prints() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("<!-- demo-output:start -->")
        .expect("demo marker in README");
    let end = readme
        .find("<!-- demo-output:end -->")
        .expect("demo end marker");
    let block = &readme[start..end];
    let shown = block
        .split("```text")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a text block");
    let (ok, out) = claimscrub(&["check", "samples/demo-claims.json", "--as-of", "2025-08-01"]);
    assert!(ok, "{out}");
    assert_eq!(
        normalise(shown),
        normalise(&out),
        "README demo output is out of date"
    );
}

#[test]
fn check_json_output_and_invalid_claims() {
    let (ok, out) = claimscrub(&[
        "check",
        "samples/demo-claims.json",
        "--as-of",
        "2025-08-01",
        "--json",
    ]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 7);
    assert_eq!(
        v[3]["table_versions"].as_array().unwrap().len(),
        14,
        "every bundled table is reported"
    );
    assert_eq!(v[1]["findings"][0]["rule_id"], "duplicate-line");
    // Pricing is in the JSON too: the Acme claim is priced by its contract rule, line 2 by
    // the 90471 carve-out (a flat 25.00), and every line carries its calculation.
    let acme = &v[6]["pricing"];
    assert_eq!(acme["contract_rule_id"], "contract-acme-commercial");
    assert_eq!(acme["lines"][1]["allowed_cents"], "2500");
    assert!(acme["lines"][1]["trace"].as_array().unwrap().len() >= 2);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(&file, r#"{"claim_id": "B1", "lines": [{"procedure_code": "99213", "units": 1, "service_date": "07/01/2024"}]}"#).unwrap();
    let (ok, out) = claimscrub(&["check", file.to_str().unwrap()]);
    assert!(!ok, "an invalid claim makes check exit non-zero");
    assert!(out.contains("claim.lines[0].service_date"), "{out}");
}

#[test]
fn serve_refuses_a_rules_directory_where_nothing_loads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.rhai"), "fn check(claim) {").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_claimscrub"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rules",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no rule could be loaded") && err.contains("bad.rhai:1:"),
        "{err}"
    );
}

/// The real binary: starts with the bundled rules, answers health, and exits 0 on SIGTERM.
#[cfg(unix)]
#[tokio::test]
async fn serve_binary_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_claimscrub"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--metrics-listen",
            &metrics_addr,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("server logs its address").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["message"] == "claimscrub serving" {
            let a = v["addr"].as_str().unwrap();
            break a
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
    let mut health = HealthClient::new(channel);
    let status = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, 1);
    let probe = Command::new(env!("CARGO_BIN_EXE_claimscrub"))
        .args(["health", "--addr", &addr])
        .output()
        .unwrap();
    assert!(probe.status.success(), "health probe: {probe:?}");
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "SERVING");
    // One scrub, then the metrics show it, the active rule set and the table sizes.
    let mut client = claimscrub::proto::v1::claim_scrubber_client::ClaimScrubberClient::connect(
        format!("http://{addr}"),
    )
    .await
    .unwrap();
    let claim = serde_json::json!({"claim_id": "MET-1", "lines": [{"procedure_code": "99213", "units": 0, "service_date": "2024-07-01"}]});
    let req = claimscrub::claim::json::request_from_value(&claim).unwrap();
    client.scrub_claim(req).await.unwrap();
    let get = |path: &str| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&metrics_addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    };
    let metrics = get("/metrics");
    assert!(
        get("/anything-else").starts_with("HTTP/1.1 404"),
        "only /metrics is served"
    );
    for expected in [
        "claimscrub_requests_total{rpc=\"ScrubClaim\",status=\"OK\"} 1",
        "claimscrub_findings_total{rule_id=\"units-positive\",severity=\"error\"} 1",
        "claimscrub_ruleset_info{version=",
        "claimscrub_table_rows{kind=\"icd10cm\",setting=\"\"} 98186",
        "claimscrub_scrub_duration_seconds_bucket",
        "claimscrub_rule_eval_duration_seconds_count{rule_id=\"mue\"} 1",
        "# HELP claimscrub_requests_total",
        "claimscrub_build_info{version=",
        "process_resident_memory_bytes",
        "claimscrub_rules_source_ok 1",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("claimscrub stopped")),
        "{rest:?}"
    );
}

/// The load generator runs against a real server in all three modes and reports no errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_smoke() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg =
        claimscrub::config::Config::with_rules(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"));
    cfg.tables = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tables.toml"));
    cfg.audit_log = dir.path().join("audit.jsonl");
    let app = tokio::task::spawn_blocking(move || claimscrub::App::load(cfg))
        .await
        .unwrap()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(claimscrub::serve(app, listener, async {
        let _ = stopped.await;
    }));
    for mode in ["unary", "stream", "health"] {
        let url = format!("http://{addr}");
        let out = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_claimscrub"))
                .args([
                    "loadgen",
                    "--server",
                    &url,
                    "--mode",
                    mode,
                    "--concurrency",
                    "2",
                    "--requests",
                    "200",
                    "--json",
                ])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["requests_ok"], 200, "{mode}: {report}");
        assert_eq!(report["errors"], 0);
        assert!(report["p99_us"].as_u64().unwrap() >= report["p50_us"].as_u64().unwrap());
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[test]
fn remits_import_is_idempotent_and_a_broken_file_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("outcomes.sqlite");
    let store = store.to_str().unwrap();
    let good = dir.path().join("good.835");
    std::fs::write(
        &good,
        "ST*835*1~BPR*I*80*C*ACH************20251105~TRN*1*T1*1999999999~N1*PR*ACME~LX*1~CLP*C1*1*150*80*20*12*P1~SVC*HC:99213*150*80**1~DTM*472*20251020~CAS*CO*45*50~CAS*PR*2*20~SE*11*1~",
    )
    .unwrap();
    let broken = dir.path().join("broken.835");
    std::fs::write(&broken, "ST*835*1~BPR*I*80*C*ACH~CLP*C2*1*1X0*80~SE*4*1~").unwrap();
    let (ok, out) = claimscrub(&[
        "remits",
        "import",
        good.to_str().unwrap(),
        "--outcomes",
        store,
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("1 claim(s): 1 stored, 0 already stored"),
        "{out}"
    );
    let (ok, out) = claimscrub(&[
        "remits",
        "import",
        good.to_str().unwrap(),
        broken.to_str().unwrap(),
        "--outcomes",
        store,
    ]);
    assert!(!ok, "a file that cannot be read fails the command: {out}");
    assert!(out.contains("0 stored, 1 already stored"), "{out}");
    assert!(
        out.contains("broken.835: NOT imported: x12: segment 3 (CLP03)"),
        "{out}"
    );
    assert!(out.contains("holds 1 remittance(s), 1 claim(s)"), "{out}");
    // What was imported today is kept by a purge of what is older than a day.
    let (ok, out) = claimscrub(&[
        "remits",
        "purge",
        "--older-than-days",
        "1",
        "--outcomes",
        store,
    ]);
    assert!(ok && out.contains("deleted 0 remittance(s)"), "{out}");
}

#[test]
fn calibration_reports_an_empty_store_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("outcomes.sqlite");
    let (ok, out) = claimscrub(&["calibration", "--outcomes", store.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("0 scrub records; 0 remitted claims"), "{out}");
    assert!(out.contains("Denials no rule predicted"), "{out}");
    let (ok, out) = claimscrub(&[
        "calibration",
        "--json",
        "--outcomes",
        store.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["priorWeight"], 20.0);
    let png = dir.path().join("reliability.png");
    let (ok, out) = claimscrub(&[
        "calibration",
        "--png",
        png.to_str().unwrap(),
        "--outcomes",
        store.to_str().unwrap(),
    ]);
    assert!(ok && out.contains("reliability diagram written"), "{out}");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    let (ok, out) = claimscrub(&["calibration", "--outcomes", "none"]);
    assert!(!ok && out.contains("no outcome store"), "{out}");
}

#[test]
fn loadgen_writes_grpc_frames_an_independent_load_generator_can_send() {
    use prost::Message;
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = claimscrub(&["loadgen", "--write-frames", dir.path().to_str().unwrap()]);
    assert!(ok, "{out}");
    let frame = std::fs::read(dir.path().join("scrub.bin")).unwrap();
    // gRPC framing: uncompressed flag, 4-byte big-endian length, then the message.
    assert_eq!(frame[0], 0);
    let len = u32::from_be_bytes(frame[1..5].try_into().unwrap()) as usize;
    assert_eq!(len, frame.len() - 5);
    let request = claimscrub::proto::v1::ScrubClaimRequest::decode(&frame[5..]).unwrap();
    assert_eq!(request.claim.unwrap().lines.len(), 6);
    assert_eq!(request.as_of_date, claimscrub::synth::as_of().to_string());
    let health = std::fs::read(dir.path().join("health.bin")).unwrap();
    assert_eq!(health, [0, 0, 0, 0, 0]);
}
