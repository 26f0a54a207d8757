//! Shared test support: start the real server on an ephemeral port, build claims.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use claimscrub::config::Config;
use claimscrub::proto::v1::{self as pb, claim_scrubber_client::ClaimScrubberClient};
use claimscrub::registry::RuleRegistry;
use claimscrub::{App, ServeError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

pub mod pg;

/// A server running in this process on 127.0.0.1:0.
pub struct TestServer {
    pub addr: SocketAddr,
    pub registry: Arc<RuleRegistry>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), ServeError>>>,
}

/// The bundled rules directory.
pub fn bundled_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// The bundled table manifest.
pub fn bundled_tables() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tables.toml")
}

/// A test configuration over `rules_dir` with the bundled tables and fast reloads.
pub fn config(rules_dir: &Path) -> Config {
    let mut c = Config::with_rules(rules_dir);
    c.tables = Some(bundled_tables());
    c.eval_threads = 2;
    c.watch.debounce = Duration::from_millis(50);
    c.watch.rescan = Duration::from_millis(500);
    c.shutdown_grace = Duration::from_secs(5);
    c
}

/// Copies the bundled rules (scripts and tests) into `dir`.
pub fn copy_bundled_rules(dir: &Path) {
    for entry in std::fs::read_dir(bundled_rules()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.ends_with(".rhai") || name.ends_with(".tests.json") {
            std::fs::copy(entry.path(), dir.join(name)).unwrap();
        }
    }
}

/// A test configuration over a copy of the bundled rules in `dir/rules`, with the token
/// file `dir/tokens` holding `tokens` (`ROLE NAME TOKEN` lines) and the audit log
/// `dir/audit.jsonl`.
pub fn config_with_tokens(dir: &Path, tokens: &str) -> Config {
    let rules = dir.join("rules");
    std::fs::create_dir(&rules).unwrap();
    copy_bundled_rules(&rules);
    std::fs::write(dir.join("tokens"), tokens).unwrap();
    let mut c = config(&rules);
    c.auth_tokens = Some(dir.join("tokens"));
    c.audit_log = dir.join("audit.jsonl");
    c
}

/// A free loopback address (for a second listener such as `http_listen`).
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Waits until something listens on `addr` (at most 20 s: servers start slowly when many
/// tests share two cores).
pub async fn wait_listening(addr: SocketAddr) {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {addr}");
}

impl TestServer {
    /// Loads the rules and serves on an ephemeral port.
    pub async fn start(config: Config) -> TestServer {
        let app = tokio::task::spawn_blocking(move || App::load(config))
            .await
            .unwrap()
            .expect("rules load");
        let registry = app.registry().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(claimscrub::serve(app, listener, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            registry,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// The gRPC endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A connected scrubber client.
    pub async fn client(&self) -> ClaimScrubberClient<Channel> {
        ClaimScrubberClient::connect(self.url()).await.unwrap()
    }

    /// A raw channel (health, reflection).
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Triggers shutdown and waits for the server to stop.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        let _ = self.stop.take().unwrap().send(());
        self.handle.take().unwrap().await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A clean professional claim: valid NPI, one diagnosis, one office visit.
pub fn clean_claim(id: &str) -> pb::Claim {
    pb::Claim {
        claim_id: id.into(),
        claim_type: pb::ClaimType::Professional as i32,
        payer: Some(pb::Payer {
            payer_id: "MCR01".into(),
            r#type: pb::PayerType::Medicare as i32,
        }),
        patient: Some(pb::Patient {
            birth_date: "1950-03-01".into(),
            sex: pb::Sex::Female as i32,
            member_id: String::new(),
        }),
        billing_provider: Some(pb::Provider {
            npi: "1234567893".into(),
            taxonomy: String::new(),
        }),
        place_of_service: "11".into(),
        diagnoses: vec![pb::Diagnosis {
            code: "E11.9".into(),
            present_on_admission: String::new(),
            code_system: String::new(),
        }],
        lines: vec![line(1, "99213", "2025-07-15")],
        ..Default::default()
    }
}

/// A service line with one unit, a charge and a pointer to diagnosis 1.
pub fn line(number: u32, code: &str, date: &str) -> pb::ServiceLine {
    pb::ServiceLine {
        line_number: number,
        procedure_code: code.into(),
        units: 1.0,
        charge_cents: 10_000,
        service_date: date.into(),
        diagnosis_pointers: vec![1],
        ..Default::default()
    }
}

/// A request for `claim` scored as of 2025-08-01.
pub fn request(claim: pb::Claim) -> pb::ScrubClaimRequest {
    pb::ScrubClaimRequest {
        claim: Some(claim),
        as_of_date: "2025-08-01".into(),
    }
}

/// Rule ids of a response's findings.
pub fn rule_ids(resp: &pb::ScrubClaimResponse) -> Vec<String> {
    resp.findings.iter().map(|f| f.rule_id.clone()).collect()
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes; returns the time it took.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Reports a skipped test on the real stderr (not captured by the test harness), so that CI
/// output always shows why a test did not run: never a silent pass.
pub fn skipped(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {reason}");
}

/// A channel to `url` once something accepts connections there, or `None` after `timeout`.
pub async fn connect_when_up(url: &str, timeout: Duration) -> Option<Channel> {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if let Ok(channel) = Channel::from_shared(url.to_string())
            .unwrap()
            .connect()
            .await
        {
            return Some(channel);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}
