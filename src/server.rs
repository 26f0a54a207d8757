//! Wiring: load the rules, start the watcher, serve gRPC (scrubber, health, reflection) on an
//! already-bound listener until the shutdown future resolves, then drain.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::admin::Admin;
use crate::admin::audit::AuditLog;
use crate::admin::auth::{Role, Tokens};
use crate::api::AdminService;
use crate::api::ScrubberService;
use crate::api::remit::{Outcomes, RemitService};
use crate::config::Config;
use crate::config::RulesLocation;
use crate::proto::v1::remittances_server::RemittancesServer;
use crate::proto::v1::rule_admin_server::RuleAdminServer;
use crate::proto::{self, v1::claim_scrubber_server::ClaimScrubberServer};
use crate::registry::{RegistryError, RuleRegistry};
use crate::rules::FsSource;
use crate::rules::RuleSource;
use crate::runtime::{Runtime, RuntimeError, RuntimeSpec};
use crate::scrub::Scrubber;
use crate::store::{FsRuleStore, PgStore, RuleStore};
use crate::tables::{TableError, TableStore};
use crate::telemetry::metrics;
use crate::watcher;
use crate::watcher::Trigger;
use std::sync::Mutex;

/// Why the service could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The rules could not be loaded at startup.
    #[error(transparent)]
    Rules(#[from] RegistryError),
    /// The reference tables could not be loaded at startup.
    #[error(transparent)]
    Tables(#[from] TableError),
    /// The tables or the evaluation pool could not be set up.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// Thread pool or reflection setup failed.
    #[error("startup failed: {0}")]
    Setup(String),
    /// The gRPC server failed.
    #[error("gRPC server error: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// A loaded, ready-to-serve service.
pub struct App {
    tls: Option<tonic::transport::ServerTlsConfig>,
    config: Config,
    registry: Arc<RuleRegistry>,
    tables: Arc<TableStore>,
    scrubber: Scrubber,
    tokens: Arc<Tokens>,
    admin: Arc<Admin>,
    /// What signals rule changes (taken by the watcher when serving starts).
    trigger: Mutex<Option<Trigger>>,
}

impl App {
    /// Builds the engine and pool and loads the rules (blocking; call before serving).
    pub fn load(config: Config) -> Result<Self, ServeError> {
        let tokens =
            Arc::new(Tokens::load(config.auth_tokens.as_deref()).map_err(ServeError::Setup)?);
        let audit = Arc::new(AuditLog::open(&config.audit_log).map_err(|e| {
            ServeError::Setup(format!(
                "cannot open the audit log {}: {e}",
                config.audit_log.display()
            ))
        })?);
        let (source, store, trigger): (Arc<dyn RuleSource>, Arc<dyn RuleStore>, Trigger) =
            match config.rules_location() {
                RulesLocation::Directory(dir) => (
                    Arc::new(FsSource::new(dir)),
                    Arc::new(FsRuleStore::new(dir, audit.clone())),
                    Trigger::Directory(dir.to_path_buf()),
                ),
                RulesLocation::Postgres(url) => {
                    let pg = Arc::new(connect_waiting(url)?);
                    (pg.clone(), pg.clone(), Trigger::Postgres(pg))
                }
            };
        let runtime = Runtime::build(RuntimeSpec {
            rules: source,
            tables: config.tables.as_deref(),
            engine: config.engine.clone(),
            threads: config.eval_threads,
            queue: config.eval_threads * 64,
        })?;
        let report = &runtime.table_report;
        for v in &report.versions {
            tracing::info!(kind = v.kind.as_str(), setting = v.setting.map_or("", |s| s.as_str()),
                version = %v.version, rows = v.rows, sample = v.partial, "table loaded");
        }
        let samples: Vec<&str> = report
            .versions
            .iter()
            .filter(|v| v.partial)
            .map(|v| v.version.as_str())
            .collect();
        if !samples.is_empty() {
            tracing::warn!(
                tables = %samples.join("; "),
                "running on sample reference tables: codes and pairs missing from them are not checked; load CMS's full files for production (README, \"Run it\")"
            );
        }
        if config.tables.is_some() {
            tracing::info!(millis = report.millis as u64, "reference tables loaded");
        }
        let registry = runtime.registry.clone();
        let report = registry.load_initial()?;
        watcher::log_report(&report);
        metrics::tables_loaded(true, &runtime.tables.snapshot().versions);
        let scrubber = Scrubber::new(&runtime, config.scrub.clone());
        let tls = config.tls.as_ref().map(server_tls).transpose()?;
        let admin = Arc::new(Admin::new(
            registry.clone(),
            runtime.tables.clone(),
            store,
            tokens.clone(),
        ));
        if config.auth_tokens.is_none() {
            tracing::warn!("no --auth-tokens file: the RuleAdmin API refuses every call");
        }
        Ok(Self {
            tls,
            config,
            tables: runtime.tables.clone(),
            registry,
            scrubber,
            tokens,
            admin,
            trigger: Mutex::new(Some(trigger)),
        })
    }

    /// The rule registry.
    pub fn registry(&self) -> &Arc<RuleRegistry> {
        &self.registry
    }
}

/// The scrubber is NOT_SERVING while no rule is active (only an explicit admin change can
/// empty the set): a replica running on nothing must not pass for a working one.
/// Opens the outcome store at `location` (off when `None`). A store that cannot be opened is
/// logged and left off: scrubbing does not depend on it, and IngestRemittance says why.
async fn open_outcomes(location: Option<String>) -> Outcomes {
    let Some(location) = location else {
        return Outcomes::Off("the outcome store is off (--outcomes none)".into());
    };
    match tokio::task::spawn_blocking(move || crate::outcomes::open(&location)).await {
        Ok(Ok(store)) => {
            tracing::info!(store = %store.describe(), "outcome store open");
            Outcomes::Open(store)
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "outcome store unavailable; remittances cannot be stored");
            Outcomes::Off(e.to_string())
        }
        Err(e) => Outcomes::Off(e.to_string()),
    }
}

/// Recomputes the calibrated probabilities from `store` now and every `every`, putting them in
/// force in `live`, until the server stops. A failure keeps the values in force and is logged.
fn spawn_calibration_keeper(
    store: Arc<dyn crate::outcomes::OutcomeStore>,
    live: Arc<crate::calibration::Live>,
    every: std::time::Duration,
    settings: crate::calibration::Settings,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        loop {
            let store = store.clone();
            let computed = tokio::task::spawn_blocking(move || {
                crate::calibration::from_store(store.as_ref(), settings)
            })
            .await;
            match computed {
                Ok(Ok(report)) => {
                    let table = crate::calibration::Table::from_report(&report);
                    tracing::info!(
                        cells = table.len(),
                        "calibrated denial probabilities in force"
                    );
                    live.replace(table);
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "calibration not recomputed"),
                Err(e) => tracing::warn!(error = %e, "calibration not recomputed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
}

fn spawn_health_keeper(
    health: tonic_health::server::HealthReporter,
    registry: Arc<RuleRegistry>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mut events = registry.subscribe();
    tokio::spawn(async move {
        let mut serving = true;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                event = events.recv() => {
                    if matches!(event, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        break;
                    }
                    let now = !registry.snapshot().rules.is_empty();
                    if now != serving {
                        serving = now;
                        let status = if now { ServingStatus::Serving } else { ServingStatus::NotServing };
                        if !now {
                            tracing::error!("no rule is active: reporting NOT_SERVING");
                        }
                        health.set_service_status("", status).await;
                        health
                            .set_service_status("claimscrub.v1.ClaimScrubber", status)
                            .await;
                    }
                }
            }
        }
    })
}

/// Keeps in the history every rule version a reload activates without an admin call (a
/// direct edit of the store). Versions found at start are not written (a read-only or
/// bundled rules directory stays untouched); the history shows them as "found".
fn spawn_history_keeper(
    admin: Arc<Admin>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mut events = admin.registry().subscribe();
    tokio::spawn(async move {
        let record = |admin: Arc<Admin>, id: Option<String>| {
            tokio::task::spawn_blocking(move || admin.record_unrecorded(id.as_deref()))
        };
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                event = events.recv() => match event {
                    Ok(e) if e.kind == "activated" => {
                        let _ = record(admin.clone(), Some(e.rule_id)).await;
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let _ = record(admin.clone(), None).await;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    })
}

/// Connects to the PostgreSQL rule store, waiting (with a log line) while it is unreachable:
/// a replica never serves an empty rule set because its database was down when it started.
fn connect_waiting(url: &str) -> Result<PgStore, ServeError> {
    let mut logged = false;
    loop {
        match PgStore::connect(url) {
            Ok(store) => return Ok(store),
            Err(e) if e.kind() == std::io::ErrorKind::NotConnected => {
                if !logged {
                    tracing::warn!(error = %e, "waiting for the rule database; retrying every 2 s");
                    logged = true;
                }
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
            Err(e) => return Err(ServeError::Setup(e.to_string())),
        }
    }
}

/// Loads the rules and serves until `shutdown` resolves. Used by `main` and by tests (bind
/// port 0 and pass the listener).
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let app = tokio::task::spawn_blocking(move || App::load(config))
        .await
        .map_err(|e| ServeError::Setup(e.to_string()))??;
    serve(app, listener, shutdown).await
}

/// Serves a loaded [`App`] on `listener` until `shutdown` resolves, then drains in-flight
/// requests for at most the configured grace period.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<ClaimScrubberServer<ScrubberService>>()
        .await;
    health.set_service_status("", ServingStatus::Serving).await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        // google.rpc.BadRequest, PreconditionFailure: grpcurl decodes error details with them.
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Setup(e.to_string()))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| ServeError::Setup(e.to_string()))?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let trigger = app
        .trigger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
        .ok_or_else(|| ServeError::Setup("the app is already serving".into()))?;
    let watcher = watcher::spawn(
        trigger,
        app.registry.clone(),
        app.config.watch,
        stop_rx.clone(),
    );

    // A PostgreSQL store records every change in the same transaction; only a directory can
    // be edited behind the API's back.
    let history_keeper = matches!(
        app.config.rules_location(),
        crate::config::RulesLocation::Directory(_)
    )
    .then(|| spawn_history_keeper(app.admin.clone(), stop_rx.clone()));
    let health_keeper = spawn_health_keeper(health.clone(), app.registry.clone(), stop_rx.clone());
    let table_poller =
        spawn_table_poller(app.tables.clone(), app.config.tables_poll, stop_rx.clone());
    // With an outcome store, every scrub is recorded (off the request path) to learn from.
    let outcomes = open_outcomes(app.config.outcomes.clone()).await;
    let scrubber = match &outcomes {
        Outcomes::Open(store) => {
            let scrubber = app
                .scrubber
                .clone()
                .observed_by(crate::outcomes::recorder::Recorder::start(store.clone()));
            let scrubber = match &app.config.history_keyer {
                Some(keyer) => scrubber.with_history(crate::scrub::History {
                    keyer: keyer.clone(),
                    store: store.clone(),
                }),
                None => scrubber,
            };
            match app.config.calibration.refresh {
                Some(every) => {
                    let live = Arc::new(crate::calibration::Live::default());
                    spawn_calibration_keeper(
                        store.clone(),
                        live.clone(),
                        every,
                        app.config.calibration.settings,
                        stop_rx.clone(),
                    );
                    scrubber.calibrated_by(live)
                }
                None => scrubber,
            }
        }
        Outcomes::Off(_) => app.scrubber.clone(),
    };
    let service = ScrubberService::new(scrubber, app.config.stream_window);
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(addr = %addr, rules = %app.registry.location(),
        ruleset_version = %app.registry.snapshot().version, "claimscrub serving");

    let signal = {
        let health = health.clone();
        async move {
            shutdown.await;
            tracing::info!("shutdown requested; draining in-flight requests");
            health
                .set_not_serving::<ClaimScrubberServer<ScrubberService>>()
                .await;
            health
                .set_service_status("", ServingStatus::NotServing)
                .await;
            let _ = stop_tx.send(true);
        }
    };
    let health_only = match app.config.health_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                ServeError::Setup(format!("cannot listen for health probes on {addr}: {e}"))
            })?;
            tracing::info!(addr = %addr, "plain-text health probes (grpc.health.v1 only)");
            let mut stopped = stop_rx.clone();
            Some(tokio::spawn(
                Server::builder()
                    .add_service(health_service.clone())
                    .serve_with_incoming_shutdown(incoming(listener), async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    }),
            ))
        }
        None => None,
    };
    let mut builder = Server::builder();
    if let Some(tls) = app.tls.clone() {
        builder = builder
            .tls_config(tls)
            .map_err(|e| ServeError::Setup(format!("TLS: {e}")))?;
    }
    let scrub_tokens = app.tokens.clone();
    let require_token = app.config.scrub_requires_token;
    let scrub_auth = move |req: tonic::Request<()>| -> Result<tonic::Request<()>, tonic::Status> {
        if require_token {
            scrub_tokens
                .authorize(req.metadata(), Role::Scrubber)
                .map_err(crate::api::status::auth_status)?;
        }
        Ok(req)
    };
    let scrubber_server = ClaimScrubberServer::with_interceptor(service, scrub_auth);
    let admin_server = RuleAdminServer::new(AdminService::new(app.admin.clone()));
    let mut remit_service = RemitService::new(app.admin.clone(), outcomes);
    if let Some(keyer) = &app.config.history_keyer {
        remit_service = remit_service.with_history(keyer.clone(), app.config.scrub.limits);
    }
    let remit_server = RemittancesServer::new(remit_service);
    // The JSON/HTTP face calls the same two services (interceptor and all) in process.
    let http = match app.config.http_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                ServeError::Setup(format!("cannot listen for JSON/HTTP on {addr}: {e}"))
            })?;
            tracing::info!(addr = %addr, "JSON/HTTP (Connect protocol) listening");
            let routes = tonic::service::Routes::new(scrubber_server.clone())
                .add_service(admin_server.clone())
                .add_service(remit_server.clone());
            // TLS like the gRPC port: the same files.
            let tls = match &app.config.tls {
                Some(files) => {
                    Some(crate::http::tls::server_config(files).map_err(ServeError::Setup)?)
                }
                None => None,
            };
            let mut stopped = stop_rx.clone();
            Some(tokio::spawn(crate::http::serve(
                listener,
                crate::http::Gateway::new(routes),
                tls,
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
            )))
        }
        None => None,
    };
    let server = builder
        .layer(tower::util::MapResponseLayer::new(
            crate::api::status::request_error_codes,
        ))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(scrubber_server)
        .add_service(admin_server)
        .add_service(remit_server)
        .serve_with_incoming_shutdown(incoming(listener), signal);

    let grace = app.config.shutdown_grace;
    let mut stopped = stop_rx;
    let deadline = async move {
        let _ = stopped.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    let result = tokio::select! {
        r = server => r.map_err(ServeError::from),
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "grace period over; closing remaining connections");
            Ok(())
        }
    };
    watcher.abort();
    table_poller.abort();
    if let Some(h) = history_keeper {
        h.abort();
    }
    if let Some(h) = health_only {
        h.abort();
    }
    if let Some(h) = http {
        h.abort();
    }
    health_keeper.abort();
    tracing::info!("claimscrub stopped");
    result
}

/// Polls the table manifest and files; reloads and swaps the tables when they change. A
/// malformed file is logged with its line number and the active tables stay.
fn spawn_table_poller(
    store: Arc<TableStore>,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if store.manifest().is_none() {
            return;
        }
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => {}
            }
            let s = store.clone();
            let result =
                tokio::task::spawn_blocking(move || s.changed_on_disk().then(|| s.reload())).await;
            match result {
                Ok(Some(Ok(report))) => {
                    metrics::tables_loaded(true, &report.versions);
                    for v in &report.versions {
                        tracing::info!(kind = v.kind.as_str(), version = %v.version, rows = v.rows, "table active");
                    }
                    tracing::info!(
                        reloaded = report.loaded,
                        reused = report.reused,
                        millis = report.millis as u64,
                        "reference tables reloaded"
                    );
                }
                Ok(Some(Err(e))) => {
                    metrics::tables_loaded(false, &[]);
                    tracing::error!(error = %e, "table reload rejected; previous tables stay active")
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "table reload task failed"),
            }
        }
    })
}

/// Reads the TLS files into a server configuration (mutual TLS when a client CA is given).
fn server_tls(
    files: &crate::config::TlsFiles,
) -> Result<tonic::transport::ServerTlsConfig, ServeError> {
    use tonic::transport::{Certificate, Identity, ServerTlsConfig};
    let read = |p: &std::path::Path| {
        std::fs::read(p)
            .map_err(|e| ServeError::Setup(format!("cannot read TLS file {}: {e}", p.display())))
    };
    let mut tls =
        ServerTlsConfig::new().identity(Identity::from_pem(read(&files.cert)?, read(&files.key)?));
    if let Some(ca) = &files.client_ca {
        tls = tls
            .client_ca_root(Certificate::from_pem(read(ca)?))
            .client_auth_optional(files.client_auth_optional);
    }
    Ok(tls)
}

/// Accepted connections with TCP_NODELAY: gRPC sends small frames, and with Nagle's algorithm
/// and delayed ACKs every unary call would wait ~40 ms. (tonic only sets it on listeners it
/// binds itself; ours is bound by the caller.)
fn incoming(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures::StreamExt;
    TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|s| {
            if let Err(e) = s.set_nodelay(true) {
                tracing::warn!(error = %e, "cannot set TCP_NODELAY");
            }
        })
    })
}
