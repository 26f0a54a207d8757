//! Prometheus metrics, served on a separate HTTP port (`--metrics-listen`, `/metrics`).
//!
//! Names (all prefixed `claimscrub_`):
//! - `requests_total{rpc,status}` — scrub requests (stream claims counted one by one);
//! - `scrub_duration_seconds` — histogram of in-process scrub time per claim;
//! - `findings_total{rule_id,severity}`;
//! - `rule_eval_duration_seconds{rule_id}` — histogram of one rule on one claim;
//! - `rule_failures_total{rule_id,kind}` — errors, timeouts and limit hits;
//! - `rule_reloads_total{outcome}`, `rule_load_errors_total`, `table_reloads_total{outcome}`;
//! - `ruleset_info{version}` — 1 for the active rule set (0 for replaced ones), `rules_active`;
//! - `table_rows{kind,setting}` — rows of each loaded reference table;
//! - `rules_source_ok` — 1 when the last reload could read the rules location;
//! - `build_info{version}`, and the process: `process_resident_memory_bytes`,
//!   `process_cpu_seconds_total`, `process_open_fds`, `process_start_time_seconds`.
//!
//! Every metric has a `# HELP` line.
//!
//! Labels never carry claim data.

use std::net::SocketAddr;
use std::sync::Mutex;

use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::finding::{FailureKind, Severity};
use crate::tables::TableVersion;

/// Installs the global recorder and the HTTP listener (once per process).
pub fn install(listen: SocketAddr) -> Result<(), String> {
    let latency = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        1.0,
    ];
    let listener = std::net::TcpListener::bind(listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot serve metrics on {listen}: {e}"))?;
    let handle = PrometheusBuilder::new()
        .set_buckets(&latency)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())?;
    describe();
    gauge!("claimscrub_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("claimscrub-process-metrics".into())
        .spawn(move || {
            loop {
                sample_process();
                upkeep.run_upkeep();
                std::thread::sleep(std::time::Duration::from_secs(5));
            }
        })
        .map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("claimscrub-metrics-http".into())
        .spawn(move || serve(listener, handle))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// `GET /metrics` on its own small runtime; every other path is 404.
fn serve(listener: std::net::TcpListener, handle: PrometheusHandle) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the metrics listener");
            return;
        }
    };
    runtime.block_on(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let text = render(&handle);
                async move { text }
            }),
        );
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
}

/// The exposition text, without the replaced rule set versions (`ruleset_info` 0): the label
/// set stays bounded however many reloads a replica sees.
fn render(handle: &PrometheusHandle) -> String {
    handle
        .render()
        .lines()
        .filter(|l| !(l.starts_with("claimscrub_ruleset_info{") && l.ends_with(" 0")))
        .fold(String::new(), |mut out, l| {
            out.push_str(l);
            out.push('\n');
            out
        })
}

/// The `# HELP` text of every metric.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "claimscrub_requests_total",
        "Scrub requests by RPC and status (stream claims counted one by one)."
    );
    describe_histogram!(
        "claimscrub_scrub_duration_seconds",
        "In-process time to scrub one claim."
    );
    describe_counter!(
        "claimscrub_findings_total",
        "Findings by rule and severity."
    );
    describe_histogram!(
        "claimscrub_rule_eval_duration_seconds",
        "Time of one rule on one claim."
    );
    describe_counter!(
        "claimscrub_rule_failures_total",
        "Rule errors, timeouts and limit hits on claims."
    );
    describe_counter!(
        "claimscrub_rule_reloads_total",
        "Rule reloads that changed something, by outcome."
    );
    describe_counter!(
        "claimscrub_rule_load_errors_total",
        "Rule files that failed to load."
    );
    describe_counter!(
        "claimscrub_table_reloads_total",
        "Reference table reloads by outcome."
    );
    describe_gauge!(
        "claimscrub_ruleset_info",
        "1 for the active rule set version, 0 for replaced ones."
    );
    describe_gauge!("claimscrub_rules_active", "Rules in the active set.");
    describe_gauge!(
        "claimscrub_table_rows",
        "Rows of each loaded reference table."
    );
    describe_gauge!(
        "claimscrub_rules_source_ok",
        "1 when the last reload could read the rules location, else 0."
    );
    describe_gauge!(
        "claimscrub_build_info",
        "The running claimscrub version (always 1)."
    );
    describe_gauge!(
        "process_resident_memory_bytes",
        "Resident memory of the process."
    );
    describe_gauge!(
        "process_cpu_seconds_total",
        "CPU time (user + system) of the process."
    );
    describe_gauge!("process_open_fds", "Open file descriptors of the process.");
    describe_gauge!(
        "process_start_time_seconds",
        "Process start time, seconds since the Unix epoch."
    );
}

/// Reads the process's memory, CPU, descriptors and start time from /proc (Linux; nothing
/// elsewhere).
fn sample_process() {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // Fields after the command name (which may contain spaces) start at ") ".
    let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
        return;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = 100.0; // USER_HZ on Linux
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Field numbers of proc(5) minus 3: utime 14, stime 15, starttime 22, rss 24.
    gauge!("process_cpu_seconds_total").set((num(11) + num(12)) / ticks);
    gauge!("process_resident_memory_bytes").set(num(21) * 4096.0);
    if let Some(boot) = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines().find_map(|l| {
            l.strip_prefix("btime ")
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
    }) {
        gauge!("process_start_time_seconds").set(boot + num(19) / ticks);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge!("process_open_fds").set(fds.count() as f64);
    }
}

/// Per-rule metric handles, registered once when the rule is compiled so that evaluation
/// does not hash label sets per call.
#[derive(Debug, Clone)]
pub struct RuleMetrics {
    eval: Histogram,
    findings: [Counter; 3],
    failures: [Counter; 3],
}

impl RuleMetrics {
    /// Handles for rule `id` (no-ops when no recorder is installed).
    pub fn new(id: &str) -> Self {
        let id = id.to_string();
        let finding = |sev: &'static str| counter!("claimscrub_findings_total", "rule_id" => id.clone(), "severity" => sev);
        let failure = |kind: &'static str| counter!("claimscrub_rule_failures_total", "rule_id" => id.clone(), "kind" => kind);
        Self {
            eval: histogram!("claimscrub_rule_eval_duration_seconds", "rule_id" => id.clone()),
            findings: [finding("info"), finding("warning"), finding("error")],
            failures: [
                failure("error"),
                failure("timeout"),
                failure("limit_exceeded"),
            ],
        }
    }

    /// Records one evaluation's duration.
    pub fn eval_seconds(&self, secs: f64) {
        self.eval.record(secs);
    }

    /// Counts a finding.
    pub fn finding(&self, severity: Severity) {
        self.findings[severity as usize].increment(1);
    }

    /// Counts a failure.
    pub fn failure(&self, kind: FailureKind) {
        self.failures[kind as usize].increment(1);
    }
}

/// Counts a scrub request outcome.
pub fn request(rpc: &'static str, status: &'static str) {
    counter!("claimscrub_requests_total", "rpc" => rpc, "status" => status).increment(1);
}

/// Records the in-process scrub time of one claim.
pub fn scrub_seconds(secs: f64) {
    histogram!("claimscrub_scrub_duration_seconds").record(secs);
}

/// Records how long one patient-history lookup took.
pub fn history_lookup_seconds(secs: f64) {
    histogram!("claimscrub_history_lookup_duration_seconds").record(secs);
}

static ACTIVE_RULESET: Mutex<Option<String>> = Mutex::new(None);

/// Records a rules reload and the active rule set.
pub fn rules_reloaded(ok: bool, version: &str, rules: usize, load_errors: usize) {
    counter!("claimscrub_rule_reloads_total", "outcome" => if ok { "ok" } else { "failed" })
        .increment(1);
    counter!("claimscrub_rule_load_errors_total").increment(load_errors as u64);
    if !ok {
        return;
    }
    let mut active = ACTIVE_RULESET.lock().expect("ruleset metric lock");
    if active.as_deref() != Some(version) {
        if let Some(old) = active.take() {
            gauge!("claimscrub_ruleset_info", "version" => old).set(0.0);
        }
        gauge!("claimscrub_ruleset_info", "version" => version.to_string()).set(1.0);
        *active = Some(version.to_string());
    }
    gauge!("claimscrub_rules_active").set(rules as f64);
}

/// Whether the last reload could read the rules location (a directory, or the PostgreSQL
/// rule store) and publish: 1 yes, 0 no (the rules in force are then the previous ones).
pub fn rules_source_ok(ok: bool) {
    gauge!("claimscrub_rules_source_ok").set(if ok { 1.0 } else { 0.0 });
}

/// Records a tables (re)load and the table sizes.
pub fn tables_loaded(ok: bool, versions: &[TableVersion]) {
    counter!("claimscrub_table_reloads_total", "outcome" => if ok { "ok" } else { "failed" })
        .increment(1);
    for v in versions {
        gauge!("claimscrub_table_rows", "kind" => v.kind.as_str(), "setting" => v.setting.map_or("", |s| s.as_str()))
            .set(v.rows as f64);
    }
}
