//! The PostgreSQL rule store under a fleet (issue #15): propagation latency of a put to three
//! replicas (p50/p99 over 100 puts), put throughput, and scrub throughput over gRPC with the
//! PostgreSQL store against a rules directory (scrubbing never touches the database, so the
//! two must match). Starts its own PostgreSQL server (Debian's package) as the test suite
//! does; prints SKIPPED without one.
//!
//! Run: `cargo bench --bench propagation`. Results: docs/BENCHMARKS.md.

#[path = "../tests/support/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use claimscrub::config::Config;
use claimscrub::proto::v1::rule_admin_client::RuleAdminClient;
use claimscrub::proto::v1::{self as pb, claim_scrubber_client::ClaimScrubberClient};
use claimscrub::registry::RuleRegistry;
use tonic::transport::Channel;

const EDITOR: &str = "editor-token-0123456789";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

struct Replica {
    url: String,
    registry: Arc<RuleRegistry>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(rules: &str, tokens: &Path) -> Replica {
    let mut c = Config::with_rules(PathBuf::from(rules));
    c.tables = Some(root().join("data/tables.toml"));
    c.auth_tokens = Some(tokens.to_path_buf());
    c.audit_log = PathBuf::from("/dev/null");
    c.watch.debounce = Duration::from_millis(5);
    c.watch.rescan = Duration::from_secs(60);
    c.eval_threads = 1;
    let app = tokio::task::spawn_blocking(move || claimscrub::App::load(c))
        .await
        .unwrap()
        .expect("replica loads");
    let registry = app.registry().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(claimscrub::serve(app, listener, async {
        let _ = stopped.await;
    }));
    Replica {
        url,
        registry,
        _stop: stop,
    }
}

async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn clean_claim(id: &str) -> pb::Claim {
    let text = std::fs::read_to_string(root().join("samples/demo-claims.json")).unwrap();
    let mut reqs = claimscrub::claim::json::requests_from_str(&text).unwrap();
    let mut claim = reqs.remove(0).claim.unwrap();
    claim.claim_id = id.into();
    claim
}

async fn scrubs_per_second(url: &str, n: usize) -> f64 {
    let mut client = ClaimScrubberClient::new(channel(url).await);
    let claim = clean_claim("BENCH");
    let started = Instant::now();
    for _ in 0..n {
        client
            .scrub_claim(pb::ScrubClaimRequest {
                claim: Some(claim.clone()),
                as_of_date: "2025-01-15".into(),
            })
            .await
            .unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let Some(db) = pg::TestPg::start_or_skip() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let url = db.url.clone();
        let rules = root().join("rules");
        let imported = tokio::task::spawn_blocking({
            let (url, rules) = (url.clone(), rules.clone());
            move || pg::import(&url, &rules)
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::write(&tokens, format!("editor bench {EDITOR}\n")).unwrap();
        let replicas = [
            start(&url, &tokens).await,
            start(&url, &tokens).await,
            start(&url, &tokens).await,
        ];
        println!(
            "{} rules imported; 3 replicas on one PostgreSQL database",
            imported.imported.len()
        );

        let original = std::fs::read_to_string(rules.join("units-positive.rhai")).unwrap();
        let mut latencies = Vec::new();
        let mut put_times = Vec::new();
        for i in 0..100 {
            let through = &replicas[i % 3];
            let mut admin = RuleAdminClient::new(channel(&through.url).await);
            let current = through
                .registry
                .snapshot()
                .get("units-positive")
                .unwrap()
                .version
                .clone();
            let source = original.replace(
                "units must be more than zero.",
                &format!("units must be more than zero (edit {i})."),
            );
            let mut req = tonic::Request::new(pb::PutRuleRequest {
                id: "units-positive".into(),
                source,
                tests: String::new(),
                expected_version: current,
                comment: format!("bench {i}"),
            });
            req.metadata_mut()
                .insert("authorization", format!("Bearer {EDITOR}").parse().unwrap());
            let started = Instant::now();
            if std::env::var_os("BENCH_DEBUG").is_some() {
                eprintln!("put {i} through replica {}", i % 3);
            }
            let resp = admin.put_rule(req).await.unwrap().into_inner();
            if std::env::var_os("BENCH_DEBUG").is_some() {
                eprintln!("put {i} answered: accepted {}", resp.accepted);
            }
            put_times.push(started.elapsed().as_secs_f64() * 1e3);
            assert!(resp.accepted, "{resp:?}");
            loop {
                if replicas.iter().all(|r| {
                    r.registry
                        .snapshot()
                        .get("units-positive")
                        .is_some_and(|rule| rule.version == resp.version)
                }) {
                    break;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            latencies.push(started.elapsed().as_secs_f64() * 1e3);
        }
        latencies.sort_by(f64::total_cmp);
        put_times.sort_by(f64::total_cmp);
        println!(
            "propagation, put to active on all 3 replicas (100 puts): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().unwrap()
        );
        let total: f64 = put_times.iter().sum();
        println!(
            "put (validate, test, commit, reload on the replica called): p50 {:.1} ms, p99 {:.1} ms; {:.0} puts/s one after another",
            percentile(&put_times, 0.5),
            percentile(&put_times, 0.99),
            100.0 / (total / 1e3)
        );

        let directory = start(rules.to_str().unwrap(), &tokens).await;
        for _ in 0..2 {
            let pg = scrubs_per_second(&replicas[0].url, 2_000).await;
            let dir = scrubs_per_second(&directory.url, 2_000).await;
            println!(
                "unary ScrubClaim, one client, 2,000 claims: PostgreSQL store {pg:.0}/s, rules directory {dir:.0}/s ({:+.1}%)",
                100.0 * (pg - dir) / dir
            );
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status")
            && let Some(rss) = status.lines().find(|l| l.starts_with("VmRSS"))
        {
            println!("process with 4 replicas (3 PostgreSQL, 1 directory) and the sample tables: {rss}");
        }
    });
}
