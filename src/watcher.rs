//! Watches the rules directory and triggers reloads. It only notices and signals: the reload
//! step (in the registry) validates.
//!
//! The directory is watched, not single files: editors save by writing a temp file and
//! renaming it, and Kubernetes ConfigMap volumes swap a `..data` symlink. Events are
//! debounced, and the directory is also rescanned periodically in case events are lost
//! (network file systems, inotify queue overflow, a replaced directory).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::registry::{RegistryError, ReloadReport, RuleRegistry};
use crate::rules::source::is_ignored;

/// Watcher timing.
#[derive(Debug, Clone, Copy)]
pub struct WatchConfig {
    /// Quiet time after the last event before reloading.
    pub debounce: Duration,
    /// Periodic full rescan interval.
    pub rescan: Duration,
}

/// Logs a reload's outcome (rule ids, versions, file names and errors only: never claims).
pub fn log_report(r: &ReloadReport) {
    for (id, version, file) in &r.activated {
        tracing::info!(rule_id = %id, rule_version = %version, file = %file, "rule activated");
    }
    for id in &r.removed {
        tracing::info!(rule_id = %id, "rule removed");
    }
    for e in &r.errors {
        tracing::error!(file = %e.file(), error = %e, "rule rejected; last good version stays active");
    }
    if r.changed {
        tracing::info!(ruleset_version = %r.version, rules = r.rules, "rule set published");
    }
}

fn log_result(result: &Result<ReloadReport, RegistryError>) {
    match result {
        Ok(r) => log_report(r),
        Err(e) => tracing::error!(error = %e, "rules reload failed; active rule set unchanged"),
    }
}

fn watch_directory(dir: &Path, tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| is_relevant(&e)) {
            // A full channel already means "reload pending".
            let _ = tx.try_send(());
        }
    })
    .and_then(|mut w| w.watch(dir, RecursiveMode::NonRecursive).map(|()| w));
    match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, dir = %dir.display(), "cannot watch the rules directory; relying on periodic rescans");
            None
        }
    }
}

/// True for an event that can change what a reload reads. A reload only reads the directory,
/// and inotify reports every open (`Access(Open)`): counting those made each reload trigger
/// the next one. Metadata-only changes (atime, `touch`) and names the source never loads
/// (hidden, editor and temp files, `.history/`) do not count either, except the ConfigMap
/// `..data` symlink swap, which replaces every rule file at once.
fn is_relevant(event: &notify::Event) -> bool {
    if event.need_rescan() {
        return true;
    }
    let kind = matches!(
        event.kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any)
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    );
    kind && (event.paths.is_empty() || event.paths.iter().any(|p| is_relevant_path(p)))
}

fn is_relevant_path(path: &Path) -> bool {
    match path.file_name().and_then(|n| n.to_str()) {
        Some("..data") => true,
        Some(name) => !is_ignored(name),
        None => true,
    }
}

/// Starts watching `dir`; reloads `registry` on changes until `shutdown` turns true.
/// What tells the watcher that rules may have changed.
pub enum Trigger {
    /// File events in a rules directory.
    Directory(PathBuf),
    /// `NOTIFY` from a PostgreSQL rule store (its listener thread reconnects by itself).
    Postgres(Arc<crate::store::PgStore>),
}

/// Reloads `registry` when `trigger` signals a change, debounced, and every `config.rescan`
/// in case a signal was lost, until `shutdown`.
pub fn spawn(
    trigger: Trigger,
    registry: Arc<RuleRegistry>,
    config: WatchConfig,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let watcher = match trigger {
        Trigger::Directory(dir) => watch_directory(&dir, tx),
        Trigger::Postgres(store) => {
            store.listen(tx);
            None
        }
    };
    tokio::spawn(async move {
        let _watcher = watcher;
        let mut rescan = tokio::time::interval(config.rescan);
        rescan.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                Some(()) = rx.recv() => {
                    tokio::time::sleep(config.debounce).await;
                    while rx.try_recv().is_ok() {}
                }
                _ = rescan.tick() => {}
            }
            let registry = registry.clone();
            match tokio::task::spawn_blocking(move || registry.reload()).await {
                Ok(result) => log_result(&result),
                Err(e) => tracing::error!(error = %e, "rules reload task failed"),
            }
        }
    })
}
