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
//! - `table_rows{kind,setting}` — rows of each loaded reference table.
//!
//! Labels never carry claim data.

use std::net::SocketAddr;
use std::sync::Mutex;

use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::finding::{FailureKind, Severity};
use crate::tables::TableVersion;

/// Installs the global recorder and the HTTP listener (once per process).
pub fn install(listen: SocketAddr) -> Result<(), String> {
    let latency = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        1.0,
    ];
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .set_buckets(&latency)
        .map_err(|e| e.to_string())?
        .install()
        .map_err(|e| format!("cannot serve metrics on {listen}: {e}"))
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

/// Records a tables (re)load and the table sizes.
pub fn tables_loaded(ok: bool, versions: &[TableVersion]) {
    counter!("claimscrub_table_reloads_total", "outcome" => if ok { "ok" } else { "failed" })
        .increment(1);
    for v in versions {
        gauge!("claimscrub_table_rows", "kind" => v.kind.as_str(), "setting" => v.setting.map_or("", |s| s.as_str()))
            .set(v.rows as f64);
    }
}
