//! Peak memory of `ScrubX12Stream` on large 837P files: a server (in this process, full CMS
//! tables from ../shared/data when present, else the bundled sample tables) is sent files of
//! 5,000 and 50,000 claims (or the counts given as arguments) in 64 KiB pieces, and the
//! process's peak resident memory (VmHWM, reset before each file with /proc/self/clear_refs)
//! is compared with its resident memory before the file. Bounded memory means the growth does
//! not follow the file's size.
//!
//! `cargo bench --bench x12_stream [-- 5000 50000]`

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use claimscrub::proto::v1::{self as pb, claim_scrubber_client::ClaimScrubberClient};
use claimscrub::x12::write::{HEADER, trailer, transaction_837p};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A status line of /proc/self/status in MiB ("VmRSS", "VmHWM").
fn status_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Writes an 837P of `n` synthetic claims to `path`, 1,000 claims per transaction set, never
/// holding more than one set in memory.
fn write_file(path: &Path, n: usize) -> u64 {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(HEADER.as_bytes()).unwrap();
    let mut sets = 0;
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(1_000);
        let mut claims = claimscrub::synth::mix(batch, 7 + sets as u64);
        for (i, c) in claims.iter_mut().enumerate() {
            c.claim_id = format!("BIG-{}", done + i);
        }
        sets += 1;
        f.write_all(transaction_837p(&claims, sets as u32).as_bytes())
            .unwrap();
        done += batch;
    }
    f.write_all(trailer(sets).as_bytes()).unwrap();
    f.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn main() {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace([',', '_'], "").parse().ok())
        .collect();
    let counts = if counts.is_empty() {
        vec![5_000, 50_000]
    } else {
        counts
    };
    let full = root().join("tests/fixtures/shared-data-tables.toml");
    let (manifest, label) = if root().join("../shared/data").exists() {
        (full, "full CMS tables")
    } else {
        (root().join("data/tables.toml"), "bundled sample tables")
    };
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(usize, std::path::PathBuf, u64)> = counts
        .iter()
        .map(|n| {
            let path = dir.path().join(format!("claims-{n}.837"));
            let size = write_file(&path, *n);
            (*n, path, size)
        })
        .collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = claimscrub::config::Config::with_rules(root().join("rules"));
        c.tables = Some(manifest);
        c.eval_threads = 2;
        c.audit_log = "/dev/null".into();
        c.engine.rule_timeout = Duration::from_secs(5);
        let app = tokio::task::spawn_blocking(move || claimscrub::App::load(c))
            .await
            .unwrap()
            .expect("server loads");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(claimscrub::serve(app, listener, async {
            let _ = stopped.await;
        }));
        let channel = claimscrub_channel(&url).await;
        let mut client = ClaimScrubberClient::new(channel);
        println!("ScrubX12Stream, one client, 64 KiB pieces, server and client in this process, {label}");
        println!("| claims | file MiB | seconds | claims/s | RSS before MiB | peak RSS MiB | growth MiB |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        for (n, path, size) in &files {
            let before = status_mib("VmRSS");
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let start = Instant::now();
            // Sent from a thread that reads 64 KiB at a time, as a client streaming a file would.
            let (tx, rx) = tokio::sync::mpsc::channel::<pb::ScrubX12Chunk>(4);
            let reader_path = path.clone();
            std::thread::spawn(move || {
                use std::io::Read;
                let mut f = std::fs::File::open(reader_path).unwrap();
                let mut first = true;
                loop {
                    let mut buf = vec![0u8; 64 * 1024];
                    let got = f.read(&mut buf).unwrap();
                    if got == 0 {
                        break;
                    }
                    buf.truncate(got);
                    let chunk = pb::ScrubX12Chunk {
                        data: buf,
                        as_of_date: if first { "2024-08-01".into() } else { String::new() },
                    };
                    first = false;
                    if tx.blocking_send(chunk).is_err() {
                        break;
                    }
                }
            });
            let mut stream = client
                .scrub_x12_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .unwrap()
                .into_inner();
            let mut got = 0usize;
            let mut findings = 0usize;
            while let Some(r) = stream.message().await.unwrap() {
                got += 1;
                findings += r.response.map_or(0, |x| x.findings.len());
            }
            assert_eq!(got, *n, "every claim answered");
            let secs = start.elapsed().as_secs_f64();
            let peak = status_mib("VmHWM");
            println!(
                "| {n} | {:.1} | {secs:.1} | {:.0} | {before:.0} | {peak:.0} | {:.0} |",
                *size as f64 / (1024.0 * 1024.0),
                *n as f64 / secs,
                peak - before
            );
            eprintln!("({findings} findings)");
        }
    });
}

async fn claimscrub_channel(url: &str) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap()
}
