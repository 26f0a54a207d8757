//! `claimscrub loadgen`: a load generator for a running server on this machine (loopback).
//! Sends the synthetic claim mix unary or over streams with a fixed concurrency, for a number
//! of requests or a duration, and reports throughput, latency percentiles and errors.
//! `--mode health` sends trivial health checks instead: the baseline of what the same load
//! generator gets from a trivial tonic handler. `--edit-rule FILE --edit-every-ms N` rewrites a
//! rule file during the run to measure hot reload under load.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Mutex;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::proto::v1::{self as pb, claim_scrubber_client::ClaimScrubberClient};

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// One ScrubClaim call per claim.
    Unary,
    /// Claims over ScrubClaims streams (one stream per concurrent worker).
    Stream,
    /// grpc.health.v1.Health/Check: a trivial handler, for the baseline.
    Health,
}

/// `claimscrub loadgen` arguments.
#[derive(Debug, clap::Args)]
pub struct LoadgenArgs {
    /// Server address (loopback).
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// What to send.
    #[arg(long, value_enum, default_value_t = Mode::Unary)]
    pub mode: Mode,
    /// Concurrent workers (connections share one HTTP/2 channel per worker).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Total requests (ignored when --duration-secs is given).
    #[arg(long, default_value_t = 20_000)]
    pub requests: u64,
    /// Run for this many seconds instead of a fixed count.
    #[arg(long)]
    pub duration_secs: Option<u64>,
    /// Target total request rate per second (paced, open loop per worker); default: as fast
    /// as the workers can go. Latency is measured from the scheduled send time.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Rewrite this rule file during the run (hot reload under load).
    #[arg(long)]
    pub edit_rule: Option<PathBuf>,
    /// Interval between rule rewrites.
    #[arg(long, default_value_t = 500)]
    pub edit_every_ms: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the request bodies as gRPC frames into this directory and exit, for an
    /// independent HTTP/2 load generator: `scrub.bin` (one ScrubClaim request with a typical
    /// claim of the mix) and `health.bin` (a health check). See docs/BENCHMARKS.md for h2load.
    #[arg(long)]
    pub write_frames: Option<PathBuf>,
}

/// A message as one gRPC frame: no compression, 4-byte big-endian length, the bytes.
fn grpc_frame(message: &impl prost::Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut frame = Vec::with_capacity(body.len() + 5);
    frame.push(0);
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

/// Writes `scrub.bin` and `health.bin` into `dir` (see [`LoadgenArgs::write_frames`]).
fn write_frames(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let claims = crate::synth::mix(1_000, 0x5eed);
    // The first claim with the mix's median number of lines (6).
    let typical = (0..claims.len() as u64)
        .find(|n| claims[*n as usize].lines.len() == 6)
        .unwrap_or(0);
    std::fs::write(
        dir.join("scrub.bin"),
        grpc_frame(&make_request(&claims, typical)),
    )?;
    let health = HealthCheckRequest {
        service: String::new(),
    };
    std::fs::write(dir.join("health.bin"), grpc_frame(&health))?;
    Ok(())
}

struct Shared {
    next: AtomicU64,
    errors: AtomicU64,
    stop: AtomicBool,
    latencies: Mutex<Vec<u32>>,
}

fn take(shared: &Shared, limit: Option<u64>) -> Option<u64> {
    if shared.stop.load(Ordering::Relaxed) {
        return None;
    }
    let n = shared.next.fetch_add(1, Ordering::Relaxed);
    match limit {
        Some(l) if n >= l => None,
        _ => Some(n),
    }
}

fn make_request(claims: &[pb::Claim], n: u64) -> pb::ScrubClaimRequest {
    pb::ScrubClaimRequest {
        claim: Some(claims[(n % claims.len() as u64) as usize].clone()),
        as_of_date: crate::synth::as_of().to_string(),
    }
}

async fn worker(
    index: usize,
    args: Arc<LoadgenArgs>,
    shared: Arc<Shared>,
    claims: Arc<Vec<pb::Claim>>,
    limit: Option<u64>,
) -> anyhow::Result<()> {
    let channel = tonic::transport::Channel::from_shared(args.server.clone())?
        .connect()
        .await?;
    let mut local = Vec::with_capacity(4096);
    let request = |n: u64| make_request(&claims, n);
    match args.mode {
        Mode::Unary => {
            let mut client = ClaimScrubberClient::new(channel);
            let mut pace = args.rate.map(|r| {
                let workers = args.concurrency.max(1);
                let period = Duration::from_secs_f64(workers as f64 / r.max(0.001));
                // Each worker's schedule is offset by its share of the period, so requests
                // arrive evenly spread rather than in bursts of `concurrency` at once.
                let first =
                    tokio::time::Instant::now() + period.mul_f64(index as f64 / workers as f64);
                let mut i = tokio::time::interval_at(first, period);
                i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                i
            });
            while let Some(n) = take(&shared, limit) {
                let t = match pace.as_mut() {
                    Some(p) => p.tick().await.into_std(),
                    None => Instant::now(),
                };
                match client.scrub_claim(request(n)).await {
                    Ok(_) => local.push(t.elapsed().as_micros() as u32),
                    Err(_) => {
                        shared.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        Mode::Health => {
            let mut client = HealthClient::new(channel);
            while take(&shared, limit).is_some() {
                let t = Instant::now();
                match client
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                {
                    Ok(_) => local.push(t.elapsed().as_micros() as u32),
                    Err(_) => {
                        shared.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        Mode::Stream => {
            let mut client = ClaimScrubberClient::new(channel);
            let (tx, rx) = tokio::sync::mpsc::channel::<pb::ScrubClaimRequest>(64);
            let sent = Arc::new(std::sync::Mutex::new(
                std::collections::VecDeque::<Instant>::new(),
            ));
            let mut responses = client
                .scrub_claims(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await?
                .into_inner();
            let (s2, sh2, c2) = (sent.clone(), shared.clone(), claims.clone());
            let sender = tokio::spawn(async move {
                while let Some(n) = take(&sh2, limit) {
                    s2.lock().expect("sent lock").push_back(Instant::now());
                    if tx.send(make_request(&c2, n)).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(r) = responses.next().await {
                let t = sent.lock().expect("sent lock").pop_front();
                match (r, t) {
                    (Ok(resp), Some(t)) if resp.error.is_none() => {
                        local.push(t.elapsed().as_micros() as u32)
                    }
                    _ => {
                        shared.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            sender.await?;
        }
    }
    shared.latencies.lock().await.extend(local);
    Ok(())
}

/// Runs the load and prints the report.
pub fn run(args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &args.write_frames {
        write_frames(dir)?;
        println!("wrote {0}/scrub.bin and {0}/health.bin", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let args = Arc::new(args);
        let shared = Arc::new(Shared {
            next: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            latencies: Mutex::new(Vec::new()),
        });
        let claims = Arc::new(crate::synth::mix(1_000, 0x5eed));
        let limit = args.duration_secs.is_none().then_some(args.requests);
        let edits = Arc::new(AtomicU64::new(0));
        let editor = args.edit_rule.clone().map(|path| {
            let (shared, edits, every) = (shared.clone(), edits.clone(), args.edit_every_ms);
            tokio::spawn(async move {
                let original = tokio::fs::read_to_string(&path).await.unwrap_or_default();
                while !shared.stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(every)).await;
                    let n = edits.fetch_add(1, Ordering::Relaxed);
                    let _ = tokio::fs::write(&path, format!("{original}\n// loadgen edit {n}\n")).await;
                }
                let _ = tokio::fs::write(&path, original).await;
            })
        });
        let started = Instant::now();
        let workers: Vec<_> = (0..args.concurrency.max(1))
            .map(|i| tokio::spawn(worker(i, args.clone(), shared.clone(), claims.clone(), limit)))
            .collect();
        if let Some(secs) = args.duration_secs {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            shared.stop.store(true, Ordering::Relaxed);
        }
        for w in workers {
            w.await??;
        }
        let elapsed = started.elapsed();
        shared.stop.store(true, Ordering::Relaxed);
        if let Some(e) = editor {
            let _ = e.await;
        }
        let mut lat = std::mem::take(&mut *shared.latencies.lock().await);
        lat.sort_unstable();
        let pct = |p: f64| lat.get(((lat.len().max(1) - 1) as f64 * p) as usize).copied().unwrap_or(0);
        let errors = shared.errors.load(Ordering::Relaxed);
        let ok = lat.len() as f64;
        let report = serde_json::json!({
            "mode": format!("{:?}", args.mode).to_lowercase(),
            "concurrency": args.concurrency,
            "requests_ok": lat.len(),
            "errors": errors,
            "seconds": elapsed.as_secs_f64(),
            "throughput_per_s": ok / elapsed.as_secs_f64(),
            "p50_us": pct(0.5), "p90_us": pct(0.9), "p99_us": pct(0.99), "max_us": lat.last().copied().unwrap_or(0),
            "rule_edits": edits.load(Ordering::Relaxed),
            "target_rate": args.rate,
        });
        if args.json {
            println!("{report}");
        } else {
            println!(
                "{} x{}: {} ok, {} errors in {:.2} s = {:.0}/s; latency p50 {} µs, p90 {} µs, p99 {} µs, max {} µs{}",
                report["mode"].as_str().unwrap_or(""),
                args.concurrency,
                lat.len(),
                errors,
                elapsed.as_secs_f64(),
                ok / elapsed.as_secs_f64(),
                pct(0.5),
                pct(0.9),
                pct(0.99),
                lat.last().copied().unwrap_or(0),
                if args.edit_rule.is_some() { format!("; {} rule edits", edits.load(Ordering::Relaxed)) } else { String::new() }
            );
        }
        Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}
