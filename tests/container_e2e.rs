//! The container image end to end with testcontainers: contract checks against the running
//! container, hot rule edits through a mounted rules directory, three replicas converging on
//! the same rule set, and SIGTERM during a stream. The image is built from a static binary on
//! this host (scripts/build-image.sh) once per test run.
//!
//! Without a reachable Docker engine every test prints `SKIPPED: <reason>` and returns.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use claimscrub::proto::v1::{self as pb, claim_scrubber_client::ClaimScrubberClient};
use futures::StreamExt;
use support::{clean_claim, copy_bundled_rules, request};
use testcontainers::core::{IntoContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const IMAGE: &str = "claimscrub";
const TAG: &str = "test";

static BUILT: OnceLock<Result<(), String>> = OnceLock::new();

/// Builds the image once; `None` (after printing SKIPPED) when no engine is reachable.
fn image() -> Option<()> {
    let built = BUILT.get_or_init(|| {
        match Command::new("docker")
            .args(["version", "--format", "{{.Server.Version}}"])
            .output()
        {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return Err(format!(
                    "no Docker engine reachable: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
            }
            Err(e) => {
                return Err(format!("no Docker engine reachable: docker CLI: {e}"));
            }
        }
        let started = Instant::now();
        let out =
            Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-image.sh"))
                .arg(format!("{IMAGE}:{TAG}"))
                .output()
                .expect("run scripts/build-image.sh");
        assert!(
            out.status.success(),
            "building the image failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        println!(
            "image {IMAGE}:{TAG} built in {:?}: {}",
            started.elapsed(),
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .unwrap_or("")
        );
        Ok(())
    });
    match built {
        Ok(()) => Some(()),
        Err(reason) => {
            support::skipped(reason);
            None
        }
    }
}

/// A rules directory the container's non-root user can read.
fn shared_rules_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_bundled_rules(dir.path());
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::set_permissions(e.unwrap().path(), std::fs::Permissions::from_mode(0o644))
            .unwrap();
    }
    dir
}

fn write_rule(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::rename(tmp, dir.join(name)).unwrap();
}

fn always_rule(message: &str) -> String {
    format!(
        "let rule = #{{ id: \"container-edit\", name: \"edit\", category: \"test\", severity: \"info\", carc: \"CO-16\", denial_probability: 0.0 }};\nfn check(claim) {{ finding(\"{message}\") }}\n"
    )
}

async fn start(rules: Option<&Path>) -> (ContainerAsync<GenericImage>, String) {
    let mut req = GenericImage::new(IMAGE, TAG)
        .with_exposed_port(50051.tcp())
        .with_wait_for(WaitFor::message_on_stderr("claimscrub serving"))
        .with_readonly_rootfs(true)
        .with_env_var("CLAIMSCRUB_RELOAD_DEBOUNCE_MS", "100")
        .with_env_var("CLAIMSCRUB_RESCAN_SECS", "2")
        .with_startup_timeout(Duration::from_secs(60));
    if let Some(dir) = rules {
        req = req.with_mount(Mount::bind_mount(dir.display().to_string(), "/rules"));
    }
    let container = req.start().await.expect("container starts");
    let port = container.get_host_port_ipv4(50051.tcp()).await.unwrap();
    let url = format!("http://127.0.0.1:{port}");
    // Wait for gRPC health SERVING.
    let channel = Channel::from_shared(url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = health
            .check(HealthCheckRequest {
                service: "claimscrub.v1.ClaimScrubber".into(),
            })
            .await
            .map(|r| r.into_inner().status);
        if matches!(status, Ok(1)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "container never reported SERVING: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (container, url)
}

async fn client(url: &str) -> ClaimScrubberClient<Channel> {
    ClaimScrubberClient::connect(url.to_string()).await.unwrap()
}

#[tokio::test]
async fn container_serves_the_grpc_contract() {
    if image().is_none() {
        return;
    }
    let (_container, url) = start(None).await;
    let mut c = client(&url).await;

    let mut claim = clean_claim("C-1");
    claim.lines[0].units = 0.0;
    let resp = c.scrub_claim(request(claim)).await.unwrap().into_inner();
    assert!(resp.findings.iter().any(|f| f.rule_id == "units-positive"));
    assert!(
        resp.table_versions.iter().any(|t| t.kind == "icd10cm"),
        "bundled tables load in the image"
    );

    let mut bad = clean_claim("C-BAD");
    bad.lines[0].service_date = "2024-02-30".into();
    let status = c.scrub_claim(request(bad.clone())).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().starts_with("claim.lines[0].service_date"));

    let reqs: Vec<_> = (0..50)
        .map(|i| {
            if i == 25 {
                request(bad.clone())
            } else {
                request(clean_claim(&format!("S-{i}")))
            }
        })
        .collect();
    let out: Vec<pb::ScrubClaimResponse> = c
        .scrub_claims(futures::stream::iter(reqs))
        .await
        .unwrap()
        .into_inner()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(out.len(), 50);
    assert_eq!(
        out[25].error.as_ref().unwrap().field,
        "claim.lines[0].service_date"
    );
    assert_eq!(out[49].claim_id, "S-49");
}

#[tokio::test]
async fn hot_edit_through_a_mounted_rules_directory() {
    if image().is_none() {
        return;
    }
    let dir = shared_rules_dir();
    let (_container, url) = start(Some(dir.path())).await;
    let mut c = client(&url).await;
    let edited = Instant::now();
    write_rule(
        dir.path(),
        "container-edit.rhai",
        &always_rule("edited on the host"),
    );
    let took = support::eventually(Duration::from_secs(15), || {
        let mut c = c.clone();
        async move {
            let resp = c
                .scrub_claim(request(clean_claim("H-1")))
                .await
                .unwrap()
                .into_inner();
            resp.findings
                .iter()
                .any(|f| f.message == "edited on the host")
        }
    })
    .await
    .expect("the container scores with the edited rule");
    println!(
        "host edit active in the container after {took:?} ({:?} since the write)",
        edited.elapsed()
    );
    let _ = c.scrub_claim(request(clean_claim("H-2"))).await.unwrap();
}

#[tokio::test]
async fn three_replicas_converge_on_the_new_ruleset() {
    if image().is_none() {
        return;
    }
    let dir = shared_rules_dir();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(start(Some(dir.path())).await);
    }
    let mut clients = Vec::new();
    for (_, url) in &replicas {
        clients.push(client(url).await);
    }
    let version_of = |mut c: ClaimScrubberClient<Channel>| async move {
        c.scrub_claim(request(clean_claim("R")))
            .await
            .unwrap()
            .into_inner()
            .ruleset_version
    };
    let before = version_of(clients[0].clone()).await;
    for c in &clients[1..] {
        assert_eq!(
            version_of(c.clone()).await,
            before,
            "replicas start on the same rule set"
        );
    }
    let edited = Instant::now();
    write_rule(
        dir.path(),
        "container-edit.rhai",
        &always_rule("replicated"),
    );
    let mut converged = Vec::new();
    for c in &clients {
        let took = support::eventually(Duration::from_secs(15), || {
            let c = c.clone();
            let before = before.clone();
            async move { version_of(c).await != before }
        })
        .await
        .expect("every replica picks up the change");
        converged.push(took);
    }
    let after: Vec<String> =
        futures::future::join_all(clients.iter().map(|c| version_of(c.clone()))).await;
    assert!(
        after.iter().all(|v| *v == after[0]),
        "all replicas report the same ruleset_version: {after:?}"
    );
    println!(
        "3 replicas converged on ruleset {} within {:?} of the edit (per replica: {converged:?})",
        after[0],
        edited.elapsed()
    );
    assert!(edited.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn sigterm_during_a_stream_loses_no_request() {
    if image().is_none() {
        return;
    }
    let (container, url) = start(None).await;
    let mut c = client(&url).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::ScrubClaimRequest>(16);
    let mut responses = c
        .scrub_claims(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let total = 300;
    let sender = tokio::spawn(async move {
        for i in 0..total {
            tx.send(request(clean_claim(&format!("T-{i}"))))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    // Receive a third, then send SIGTERM while requests are still flowing.
    let mut received = Vec::new();
    while received.len() < total / 3 {
        received.push(responses.next().await.unwrap().unwrap().claim_id);
    }
    let id = container.id().to_string();
    let stopper = tokio::task::spawn_blocking(move || {
        Command::new("docker")
            .args(["kill", "--signal", "SIGTERM", &id])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
    });
    while let Some(r) = responses.next().await {
        received.push(
            r.expect("in-flight stream completes after SIGTERM")
                .claim_id,
        );
    }
    sender.await.unwrap();
    assert!(stopper.await.unwrap().success());
    let expected: Vec<String> = (0..total).map(|i| format!("T-{i}")).collect();
    assert_eq!(received, expected, "every request answered, in order");
    // The server drains and exits 0.
    let deadline = Instant::now() + Duration::from_secs(20);
    while container.is_running().await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "container did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(container.exit_code().await.unwrap(), Some(0));
}

/// Three containers (host networking) on one PostgreSQL database started on this host: a
/// put through one replica is active on the other two. Skipped without Docker or PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_three_containers_shares_a_postgresql_rule_store() {
    use claimscrub::proto::v1::rule_admin_client::RuleAdminClient;
    if image().is_none() {
        return;
    }
    let Some(pg) = support::pg::TestPg::start_or_skip() else {
        return;
    };
    let url = pg.url.clone();
    let report =
        tokio::task::spawn_blocking(move || support::pg::import(&url, &support::bundled_rules()))
            .await
            .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let secrets = tempfile::tempdir().unwrap();
    std::fs::set_permissions(secrets.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let tokens = secrets.path().join("tokens");
    std::fs::write(&tokens, "editor ci editor-token-0123456789\n").unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();

    let mut replicas = Vec::new();
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let container = GenericImage::new(IMAGE, TAG)
            .with_wait_for(WaitFor::message_on_stderr("claimscrub serving"))
            .with_network("host")
            .with_readonly_rootfs(true)
            .with_env_var("CLAIMSCRUB_RULES", &pg.url)
            .with_env_var("CLAIMSCRUB_LISTEN", format!("127.0.0.1:{port}"))
            .with_env_var("CLAIMSCRUB_METRICS_LISTEN", "none")
            .with_env_var("CLAIMSCRUB_AUTH_TOKENS", "/secrets/tokens")
            .with_env_var("CLAIMSCRUB_RESCAN_SECS", "60")
            .with_mount(Mount::bind_mount(
                secrets.path().display().to_string(),
                "/secrets",
            ))
            .with_startup_timeout(Duration::from_secs(60))
            .start()
            .await
            .expect("replica container starts");
        replicas.push((container, format!("http://127.0.0.1:{port}")));
    }
    let version_of = |url: String| async move {
        let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
        let mut req = tonic::Request::new(pb::GetRuleRequest {
            id: "units-positive".into(),
        });
        req.metadata_mut().insert(
            "authorization",
            "Bearer editor-token-0123456789".parse().unwrap(),
        );
        RuleAdminClient::new(channel)
            .get_rule(req)
            .await
            .unwrap()
            .into_inner()
            .rule
            .unwrap()
            .version
    };
    let current = version_of(replicas[0].1.clone()).await;
    let source = std::fs::read_to_string(support::bundled_rules().join("units-positive.rhai"))
        .unwrap()
        .replace(
            "units must be more than zero.",
            "units must be more than zero (fleet edit).",
        );
    let channel = Channel::from_shared(replicas[0].1.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut put = tonic::Request::new(pb::PutRuleRequest {
        id: "units-positive".into(),
        source,
        tests: String::new(),
        expected_version: current,
        comment: "fleet".into(),
    });
    put.metadata_mut().insert(
        "authorization",
        "Bearer editor-token-0123456789".parse().unwrap(),
    );
    let resp = RuleAdminClient::new(channel)
        .put_rule(put)
        .await
        .unwrap()
        .into_inner();
    assert!(resp.accepted, "{resp:?}");
    for (_, url) in &replicas[1..] {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut claim = clean_claim("FLEET");
            claim.lines[0].units = 0.0;
            let found = client(url)
                .await
                .scrub_claim(request(claim))
                .await
                .unwrap()
                .into_inner()
                .findings
                .iter()
                .any(|f| f.message.contains("fleet edit"));
            if found {
                break;
            }
            assert!(Instant::now() < deadline, "the put reached {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
