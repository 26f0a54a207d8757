//! Configuration: every setting is a flag with an environment variable of the same meaning
//! (listed by `--help`), checked once before the service binds its port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use crate::claim::Limits;
use crate::engine::EngineLimits;
use crate::pricing::PricingSettings;
use crate::scoring::{Bands, FailurePolicy};
use crate::scrub::ScrubSettings;
use crate::watcher::WatchConfig;

/// Listen address variable.
pub const ENV_LISTEN: &str = "CLAIMSCRUB_LISTEN";
/// Default listen address.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:50051";
/// Rules directory variable.
pub const ENV_RULES: &str = "CLAIMSCRUB_RULES";
/// Default rules directory (the bundled `rules/`, relative to the working directory).
pub const DEFAULT_RULES: &str = "rules";

/// Where the rules are.
#[derive(Debug, Clone, Args)]
pub struct RulesArgs {
    /// Directory of `*.rhai` rule files (watched for changes while serving), or a PostgreSQL
    /// rule store shared by several replicas: `postgres://USER[:PASSWORD]@HOST:PORT/DB`
    /// (the password may also come from PGPASSWORD).
    #[arg(
        long = "rules",
        env = ENV_RULES,
        hide_env_values = true,
        default_value = DEFAULT_RULES,
        value_name = "DIR|URL"
    )]
    pub dir: PathBuf,
}

/// Where the rules are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesLocation<'a> {
    /// A rules directory.
    Directory(&'a Path),
    /// A PostgreSQL rule store (the URL).
    Postgres(&'a str),
}

impl RulesLocation<'_> {
    /// The location named by a `--rules` value.
    pub fn of(value: &Path) -> RulesLocation<'_> {
        match value.to_str() {
            Some(url) if crate::store::postgres::is_url(url) => RulesLocation::Postgres(url),
            _ => RulesLocation::Directory(value),
        }
    }
}

impl RulesArgs {
    /// Where the rules are kept.
    pub fn location(&self) -> RulesLocation<'_> {
        RulesLocation::of(&self.dir)
    }

    /// The rule source the tools read: the directory, or the PostgreSQL store (connected and
    /// migrated).
    pub fn source(&self) -> std::io::Result<std::sync::Arc<dyn crate::rules::RuleSource>> {
        Ok(match self.location() {
            RulesLocation::Directory(dir) => std::sync::Arc::new(crate::rules::FsSource::new(dir)),
            RulesLocation::Postgres(url) => {
                std::sync::Arc::new(crate::store::PgStore::connect(url)?)
            }
        })
    }
}

/// Table manifest variable.
pub const ENV_TABLES: &str = "CLAIMSCRUB_TABLES";
/// Default table manifest (the bundled sample tables and ICD-10-CM code set).
pub const DEFAULT_TABLES: &str = "data/tables.toml";

/// Which reference tables to load.
#[derive(Debug, Clone, Args)]
pub struct TablesArgs {
    /// Table manifest (TOML) listing the reference tables to load; `none` loads no tables.
    #[arg(long = "tables", env = ENV_TABLES, default_value = DEFAULT_TABLES, value_name = "FILE")]
    pub manifest: PathBuf,
}

impl TablesArgs {
    /// The manifest path, or `None` for `none`.
    pub fn manifest(&self) -> Option<&Path> {
        (self.manifest.as_os_str() != "none").then_some(self.manifest.as_path())
    }
}

/// Sandbox limits for rule scripts.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Wall-clock budget per rule per claim, in milliseconds.
    #[arg(long, env = "CLAIMSCRUB_RULE_TIMEOUT_MS", default_value_t = 100)]
    pub rule_timeout_ms: u64,
    /// Maximum script operations per rule per claim.
    #[arg(long, env = "CLAIMSCRUB_MAX_OPERATIONS", default_value_t = 1_000_000)]
    pub max_operations: u64,
    /// Maximum script function call depth.
    #[arg(long, env = "CLAIMSCRUB_MAX_CALL_LEVELS", default_value_t = 48)]
    pub max_call_levels: usize,
    /// Maximum string bytes a script may hold in one value (all the strings of a returned
    /// findings array count together).
    #[arg(long, env = "CLAIMSCRUB_MAX_STRING_SIZE", default_value_t = 1_048_576)]
    pub max_string_size: usize,
    /// Maximum array length a script may build.
    #[arg(long, env = "CLAIMSCRUB_MAX_ARRAY_SIZE", default_value_t = 100_000)]
    pub max_array_size: usize,
}

impl EngineArgs {
    /// The engine limits these flags describe.
    pub fn limits(&self) -> EngineLimits {
        EngineLimits {
            rule_timeout: Duration::from_millis(self.rule_timeout_ms.max(1)),
            max_operations: self.max_operations,
            max_call_levels: self.max_call_levels,
            max_string_size: self.max_string_size,
            max_array_size: self.max_array_size,
            ..EngineLimits::default()
        }
    }
}

/// Claim limits and scoring.
#[derive(Debug, Clone, Args)]
pub struct ScrubArgs {
    /// Maximum service lines per claim (larger claims are rejected as invalid).
    #[arg(long, env = "CLAIMSCRUB_MAX_LINES", default_value_t = 999)]
    pub max_lines: usize,
    /// Maximum length of free-text claim fields.
    #[arg(long, env = "CLAIMSCRUB_MAX_STRING_LEN", default_value_t = 64)]
    pub max_string_len: usize,
    /// What a rule failure does to a claim: `open` scores with the other rules, `closed`
    /// makes the claim HIGH risk so it is held for review.
    #[arg(long, env = "CLAIMSCRUB_FAILURE_POLICY", default_value_t = FailurePolicy::Open)]
    pub failure_policy: FailurePolicy,
    /// Lowest denial risk reported as MEDIUM.
    #[arg(long, env = "CLAIMSCRUB_RISK_MEDIUM", default_value_t = 0.2)]
    pub risk_medium: f64,
    /// Lowest denial risk reported as HIGH.
    #[arg(long, env = "CLAIMSCRUB_RISK_HIGH", default_value_t = 0.6)]
    pub risk_high: f64,
    /// Medicare PFS locality for claims that name none: the 5-digit MAC number and 2-digit
    /// locality number from CMS's GPCI file (e.g. 1320201). Without it such claims are priced
    /// at national amounts.
    #[arg(long, env = "CLAIMSCRUB_DEFAULT_LOCALITY", value_name = "MMMMMLL")]
    pub default_locality: Option<String>,
}

impl ScrubArgs {
    /// The settings these flags describe, or why they are inconsistent.
    pub fn settings(&self) -> Result<ScrubSettings, ConfigError> {
        let bands = Bands {
            medium: self.risk_medium,
            high: self.risk_high,
        };
        bands.validate().map_err(ConfigError)?;
        if self.max_lines == 0 {
            return Err(ConfigError("--max-lines must be at least 1".into()));
        }
        let default_locality = match self.default_locality.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(crate::claim::codes::locality_key(text).ok_or_else(|| {
                ConfigError(format!(
                    "--default-locality {text:?} must be the 5-digit MAC number and 2-digit locality number, e.g. 1320201"
                ))
            })?),
        };
        Ok(ScrubSettings {
            limits: Limits {
                max_lines: self.max_lines,
                max_string_len: self.max_string_len.max(1),
            },
            bands,
            policy: self.failure_policy,
            pricing: PricingSettings { default_locality },
        })
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging (`RUST_LOG` sets the filter, default `info`).
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log format.
    #[arg(long, env = "CLAIMSCRUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Where the outcome store is (remittances kept to learn from).
#[derive(Debug, Clone, Args)]
pub struct OutcomesArgs {
    /// The outcome store, where remittances (X12 835) are kept to learn from: the path of an
    /// SQLite file (created when missing) or a `postgres://` URL (it may be the rule
    /// store's database); `none` turns it off. When the server cannot open it, it still
    /// starts and IngestRemittance says why it cannot store.
    #[arg(
        long,
        env = "CLAIMSCRUB_OUTCOMES",
        default_value = "claimscrub-outcomes.sqlite",
        value_name = "PATH|URL"
    )]
    pub outcomes: String,
}

impl OutcomesArgs {
    /// The store's location, `None` when turned off.
    pub fn location(&self) -> Option<&str> {
        match self.outcomes.trim() {
            "" | "none" => None,
            o => Some(o),
        }
    }

    /// Opens the store for a command that needs one (`--outcomes none` is an error).
    pub fn open(&self) -> anyhow::Result<std::sync::Arc<dyn crate::outcomes::OutcomeStore>> {
        let location = self
            .location()
            .ok_or_else(|| anyhow::anyhow!("--outcomes none: there is no outcome store to use"))?;
        Ok(crate::outcomes::open(location)?)
    }
}

/// How denial probabilities calibrated from remittances are used in scoring.
#[derive(Debug, Clone, Args)]
pub struct CalibrationFlags {
    /// Score with denial probabilities calibrated from the outcome store's remittances,
    /// recomputed every this many seconds; 0 scores with the rules' declared values only.
    #[arg(
        long,
        env = "CLAIMSCRUB_CALIBRATION_REFRESH_SECS",
        default_value_t = 300
    )]
    pub calibration_refresh_secs: u64,
    /// Remits of flagged lines a rule × payer (or payer type) needs before its calibrated value
    /// is used.
    #[arg(long, env = "CLAIMSCRUB_CALIBRATION_MIN_REMITS", default_value_t = 30)]
    pub calibration_min_remits: u32,
    /// The weight of the rule's declared probability, in pseudo-remits.
    #[arg(
        long,
        env = "CLAIMSCRUB_CALIBRATION_PRIOR_WEIGHT",
        default_value_t = 20.0
    )]
    pub calibration_prior_weight: f64,
}

/// Calibration as configured.
#[derive(Debug, Clone, Copy)]
pub struct CalibrationConfig {
    /// How often to recompute; `None`: declared values only.
    pub refresh: Option<Duration>,
    /// Prior weight and evidence threshold.
    pub settings: crate::calibration::Settings,
}

impl CalibrationFlags {
    /// The checked configuration.
    pub fn config(&self) -> Result<CalibrationConfig, ConfigError> {
        if !(self.calibration_prior_weight.is_finite() && self.calibration_prior_weight > 0.0) {
            return Err(ConfigError(format!(
                "--calibration-prior-weight {} must be a positive number",
                self.calibration_prior_weight
            )));
        }
        Ok(CalibrationConfig {
            refresh: (self.calibration_refresh_secs > 0)
                .then(|| Duration::from_secs(self.calibration_refresh_secs)),
            settings: crate::calibration::Settings {
                prior_weight: self.calibration_prior_weight,
                min_remits: u64::from(self.calibration_min_remits.max(1)),
                ..Default::default()
            },
        })
    }
}

/// `claimscrub serve` settings.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on for gRPC.
    #[arg(long, env = ENV_LISTEN, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub tables: TablesArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub scrub: ScrubArgs,
    #[command(flatten)]
    pub log: LogArgs,
    /// Token file for the admin API: one `ROLE PRINCIPAL TOKEN` per line (roles viewer,
    /// editor, scrubber). Without it the admin API refuses every call.
    #[arg(long, env = "CLAIMSCRUB_AUTH_TOKENS", value_name = "FILE")]
    pub auth_tokens: Option<PathBuf>,
    /// Audit log of admin actions (JSON lines), appended to; `-` for standard output.
    #[arg(
        long,
        env = "CLAIMSCRUB_AUDIT_LOG",
        default_value = "-",
        value_name = "FILE"
    )]
    pub audit_log: PathBuf,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key. Without it, plain text.
    #[arg(
        long,
        env = "CLAIMSCRUB_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM).
    #[arg(
        long,
        env = "CLAIMSCRUB_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM): mutual TLS.
    #[arg(
        long,
        env = "CLAIMSCRUB_TLS_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,
    /// With --tls-client-ca: accept clients without a certificate too (verify those that send one).
    #[arg(long, env = "CLAIMSCRUB_TLS_CLIENT_AUTH_OPTIONAL")]
    pub tls_client_auth_optional: bool,
    /// Require a bearer token with the scrubber role on the scrub API as well.
    #[arg(long, env = "CLAIMSCRUB_SCRUB_REQUIRES_TOKEN")]
    pub scrub_requires_token: bool,
    /// A second, plain-text listener serving only grpc.health.v1 (e.g. 0.0.0.0:8081), for
    /// Kubernetes gRPC probes and the image's HEALTHCHECK when the main port uses TLS. It
    /// reveals nothing but the serving status. Off unless set.
    #[arg(long, env = "CLAIMSCRUB_HEALTH_LISTEN", value_name = "ADDR")]
    pub health_listen: Option<SocketAddr>,
    /// Address of the JSON/HTTP face of the API (Connect protocol: `POST
    /// /claimscrub.v1.ClaimScrubber/ScrubClaim` with a JSON body; `/openapi.json`). Same tokens
    /// and roles as the gRPC port; TLS with the gRPC port's certificate files when they are
    /// set. Off unless set.
    #[arg(long, env = "CLAIMSCRUB_HTTP_LISTEN", value_name = "ADDR")]
    pub http_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub outcomes: OutcomesArgs,
    #[command(flatten)]
    pub calibration: CalibrationFlags,
    /// File holding the secret (at least 32 bytes) that keys patient identities for history
    /// edits (an HMAC of member id and birth date). Without it (or
    /// `CLAIMSCRUB_HISTORY_SECRET`), history edits are off and responses say so.
    #[arg(long, env = "CLAIMSCRUB_HISTORY_SECRET_FILE", value_name = "FILE")]
    pub history_secret_file: Option<PathBuf>,
    /// Address of the Prometheus metrics HTTP listener (`/metrics`); `none` disables it.
    #[arg(
        long,
        env = "CLAIMSCRUB_METRICS_LISTEN",
        default_value = "0.0.0.0:9090"
    )]
    pub metrics_listen: String,
    /// How often to check the table manifest and files for changes, in seconds.
    #[arg(long, env = "CLAIMSCRUB_TABLES_POLL_SECS", default_value_t = 10)]
    pub tables_poll_secs: u64,
    /// Rule evaluation threads (default: the number of CPU cores).
    #[arg(long, env = "CLAIMSCRUB_EVAL_THREADS")]
    pub eval_threads: Option<usize>,
    /// Claims of one stream evaluated concurrently (responses stay in order).
    #[arg(long, env = "CLAIMSCRUB_STREAM_WINDOW", default_value_t = 16)]
    pub stream_window: usize,
    /// Quiet time after a rules-directory change before reloading, in milliseconds.
    #[arg(long, env = "CLAIMSCRUB_RELOAD_DEBOUNCE_MS", default_value_t = 200)]
    pub reload_debounce_ms: u64,
    /// Periodic rescan of the rules directory, in seconds (catches lost file events).
    #[arg(long, env = "CLAIMSCRUB_RESCAN_SECS", default_value_t = 10)]
    pub rescan_secs: u64,
    /// Seconds to let in-flight requests finish after SIGTERM/Ctrl-C.
    #[arg(long, env = "CLAIMSCRUB_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,
}

/// A configuration problem, found before binding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// The checked server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// Rules directory, or a PostgreSQL URL (see [`Config::rules_location`]).
    pub rules_dir: PathBuf,
    /// Table manifest, or `None` for no tables.
    pub tables: Option<PathBuf>,
    /// Table change polling interval.
    pub tables_poll: Duration,
    /// Sandbox limits.
    pub engine: EngineLimits,
    /// Claim limits and scoring.
    pub scrub: ScrubSettings,
    /// Evaluation threads.
    pub eval_threads: usize,
    /// Per-stream evaluation window.
    pub stream_window: usize,
    /// Rules watcher timing.
    pub watch: WatchConfig,
    /// Drain time on shutdown.
    pub shutdown_grace: Duration,
    /// Admin API token file (`None`: the admin API refuses every call).
    pub auth_tokens: Option<PathBuf>,
    /// Audit log path (`-` = standard output).
    pub audit_log: PathBuf,
    /// TLS settings; `None` serves plain text.
    pub tls: Option<TlsFiles>,
    /// Whether the scrub API needs a scrubber token.
    pub scrub_requires_token: bool,
    /// Plain-text health-only listener, if any.
    pub health_listen: Option<SocketAddr>,
    /// JSON/HTTP listen address, when the JSON face is on.
    pub http_listen: Option<SocketAddr>,
    /// The outcome store (an SQLite path or a PostgreSQL URL), `None` when off.
    pub outcomes: Option<String>,
    /// Calibrated probabilities in scoring.
    pub calibration: CalibrationConfig,
    /// Keys patients for history edits; `None`: history edits are off.
    pub history_keyer: Option<std::sync::Arc<crate::history::PatientKeyer>>,
}

/// TLS files for the server.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
    /// CA for client certificates (mutual TLS), if required.
    pub client_ca: Option<PathBuf>,
    /// Accept clients without certificates when a client CA is set.
    pub client_auth_optional: bool,
}

/// Default number of evaluation threads: the available cores.
impl Config {
    /// Where the rules are kept.
    pub fn rules_location(&self) -> RulesLocation<'_> {
        RulesLocation::of(&self.rules_dir)
    }
}

/// Evaluation threads by default: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl ServeArgs {
    /// The metrics listen address, `None` when disabled.
    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        match self.metrics_listen.trim() {
            "none" | "" => Ok(None),
            a => a.parse().map(Some).map_err(|_| {
                ConfigError(format!(
                    "--metrics-listen {a:?} is not an address like 0.0.0.0:9090 (or none)"
                ))
            }),
        }
    }

    /// Checks the flags and builds the configuration.
    pub fn config(&self) -> Result<Config, ConfigError> {
        if matches!(self.rules.location(), RulesLocation::Directory(_)) && !self.rules.dir.is_dir()
        {
            return Err(ConfigError(format!(
                "rules directory {} does not exist or is not a directory (set --rules or {ENV_RULES})",
                crate::store::postgres::redact(&self.rules.dir.display().to_string())
            )));
        }
        Ok(Config {
            listen: self.listen,
            rules_dir: self.rules.dir.clone(),
            tables: self.tables.manifest().map(Path::to_path_buf),
            tables_poll: Duration::from_secs(self.tables_poll_secs.max(1)),
            engine: self.engine.limits(),
            scrub: self.scrub.settings()?,
            eval_threads: self.eval_threads.unwrap_or_else(default_threads).max(1),
            stream_window: self.stream_window.max(1),
            watch: WatchConfig {
                debounce: Duration::from_millis(self.reload_debounce_ms),
                rescan: Duration::from_secs(self.rescan_secs.max(1)),
            },
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            auth_tokens: self.auth_tokens.clone(),
            audit_log: self.audit_log.clone(),
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    client_ca: self.tls_client_ca.clone(),
                    client_auth_optional: self.tls_client_auth_optional,
                }),
                _ => None,
            },
            scrub_requires_token: self.scrub_requires_token,
            health_listen: self.health_listen,
            http_listen: self.http_listen,
            outcomes: self.outcomes.location().map(str::to_string),
            calibration: self.calibration.config()?,
            history_keyer: history_keyer(self.history_secret_file.as_deref())?,
        })
    }
}

/// Environment variable holding the history secret itself (the file flag wins).
pub const ENV_HISTORY_SECRET: &str = "CLAIMSCRUB_HISTORY_SECRET";

/// The patient keyer from the secret file, else `CLAIMSCRUB_HISTORY_SECRET`; `None` when
/// neither is set.
fn history_keyer(
    file: Option<&Path>,
) -> Result<Option<std::sync::Arc<crate::history::PatientKeyer>>, ConfigError> {
    let secret = match file {
        Some(path) => std::fs::read(path)
            .map_err(|e| ConfigError(format!("--history-secret-file {}: {e}", path.display())))?,
        None => match std::env::var(ENV_HISTORY_SECRET) {
            Ok(v) if !v.trim().is_empty() => v.into_bytes(),
            _ => return Ok(None),
        },
    };
    crate::history::PatientKeyer::new(&secret)
        .map(|k| Some(std::sync::Arc::new(k)))
        .map_err(ConfigError)
}

impl Config {
    /// A configuration with defaults for `rules_dir` and no tables (tests and tools).
    pub fn with_rules(rules_dir: impl Into<PathBuf>) -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            rules_dir: rules_dir.into(),
            tables: None,
            tables_poll: Duration::from_secs(10),
            engine: EngineLimits::default(),
            scrub: ScrubSettings {
                limits: Limits::default(),
                bands: Bands::default(),
                policy: FailurePolicy::Open,
                pricing: PricingSettings::default(),
            },
            eval_threads: default_threads(),
            stream_window: 16,
            watch: WatchConfig {
                debounce: Duration::from_millis(200),
                rescan: Duration::from_secs(10),
            },
            shutdown_grace: Duration::from_secs(20),
            auth_tokens: None,
            audit_log: PathBuf::from("-"),
            tls: None,
            scrub_requires_token: false,
            health_listen: None,
            http_listen: None,
            outcomes: None,
            calibration: CalibrationConfig {
                refresh: Some(Duration::from_secs(300)),
                settings: crate::calibration::Settings::default(),
            },
            history_keyer: None,
        }
    }
}
