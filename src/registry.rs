//! The rule registry: a concurrent cache of compiled rules keyed by rule id, the status of
//! every rule file, and the published, immutable [`RuleSet`] snapshot that scores claims.
//!
//! A reload lists the source, recompiles only files whose content changed, runs each changed
//! rule's own test cases, and publishes a new snapshot with one atomic pointer swap. Readers
//! never block on a reload and never see a half-applied one. A file that fails to compile or
//! whose tests fail keeps its last good version active; the error is kept in its status.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use dashmap::DashMap;

use crate::engine::{EvalPool, Evaluator};
use crate::rules::compile::content_version;
use crate::rules::{CompiledRule, RuleLoadError, RuleSet, RuleSource, compile_rule};
use crate::tables::TableStore;
use crate::telemetry::metrics;

/// Load state of one rule file.
#[derive(Debug, Clone)]
pub struct FileStatus {
    /// Content hash of the script and its test file as last read.
    pub hash: String,
    /// The rule id this file provides, if any version of it is active.
    pub rule_id: Option<String>,
    /// The active version (may be older than the file when `error` is set).
    pub active_version: Option<String>,
    /// Why the file's current content is not active, if it is not.
    pub error: Option<RuleLoadError>,
    /// When the file's content was last seen to change.
    pub changed_at: SystemTime,
}

/// Something that happened to the rule set, for watchers (admin API, dashboards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleEvent {
    /// "activated", "rejected" or "removed".
    pub kind: &'static str,
    /// The rule id ("" when a rejected file's id is unknown).
    pub rule_id: String,
    /// The rule file ("" for removals).
    pub file: String,
    /// The version activated.
    pub version: String,
    /// Why a file was rejected.
    pub message: String,
    /// The rule set version after the reload.
    pub ruleset_version: String,
    /// When.
    pub time: SystemTime,
}

/// Each test case's name and outcome (`Err` says why it failed).
pub type CaseResults = Vec<(String, Result<(), String>)>;

/// What one reload did.
#[derive(Debug, Clone, Default)]
pub struct ReloadReport {
    /// Version of the rule set active after the reload.
    pub version: String,
    /// Whether a new rule set was published.
    pub changed: bool,
    /// Rules (id, version, file) activated by this reload.
    pub activated: Vec<(String, String, String)>,
    /// Rule ids no longer active.
    pub removed: Vec<String>,
    /// Files whose new content was rejected.
    pub errors: Vec<RuleLoadError>,
    /// Number of active rules.
    pub rules: usize,
    /// Rule files added, removed, or whose content or load outcome changed.
    pub files_changed: usize,
}

impl ReloadReport {
    /// True when the reload found nothing new: same active set, no file status changed.
    pub fn is_noop(&self) -> bool {
        !self.changed && self.files_changed == 0
    }
}

/// Errors that stop a reload as a whole.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The rules location cannot be listed.
    #[error("cannot read the rules at {location}: {cause}")]
    Source {
        /// Where the rules were looked for.
        location: String,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// The source suddenly lists far fewer rules than are active (every file deleted, a
    /// half-synced directory): not published unless the change was made explicitly.
    #[error(
        "{location} now lists {listed} of the {active} active rule files; the active rules stay in force \
         (delete rules through the admin API, or restore the files)"
    )]
    WouldShrink {
        /// Where the rules were looked for.
        location: String,
        /// Active rule files still listed.
        listed: usize,
        /// Active rule files before.
        active: usize,
    },
    /// Nothing could be loaded at startup.
    #[error("no rule could be loaded from {location}{}", describe_errors(.errors))]
    NothingLoaded {
        /// Where the rules were looked for.
        location: String,
        /// Why each file failed.
        errors: Vec<RuleLoadError>,
    },
}

fn describe_errors(errors: &[RuleLoadError]) -> String {
    if errors.is_empty() {
        " (no *.rhai files found)".into()
    } else {
        format!(
            ":\n  {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    }
}

/// The registry. Share it as `Arc<RuleRegistry>`.
pub struct RuleRegistry {
    evaluator: Evaluator,
    pool: EvalPool,
    source: Arc<dyn RuleSource>,
    tables: Arc<TableStore>,
    rules: DashMap<String, Arc<CompiledRule>>,
    files: DashMap<String, FileStatus>,
    active: ArcSwap<RuleSet>,
    reload_lock: Mutex<()>,
    last_reload: Mutex<Option<SystemTime>>,
    applied: AtomicU64,
    last_error: Mutex<Option<String>>,
    events: tokio::sync::broadcast::Sender<RuleEvent>,
}

impl RuleRegistry {
    /// An empty registry over `source`; call [`RuleRegistry::load_initial`] next. Rule test
    /// cases run against `tables`.
    pub fn new(
        source: Arc<dyn RuleSource>,
        evaluator: Evaluator,
        pool: EvalPool,
        tables: Arc<TableStore>,
    ) -> Self {
        Self {
            evaluator,
            pool,
            source,
            tables,
            rules: DashMap::new(),
            files: DashMap::new(),
            active: ArcSwap::from_pointee(RuleSet::new(Vec::new())),
            reload_lock: Mutex::new(()),
            last_reload: Mutex::new(None),
            applied: AtomicU64::new(0),
            last_error: Mutex::new(None),
            events: tokio::sync::broadcast::channel(256).0,
        }
    }

    /// Subscribes to rule events from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<RuleEvent> {
        self.events.subscribe()
    }

    fn publish(&self, report: &ReloadReport) {
        let now = SystemTime::now();
        let event = |kind, rule_id: &str, file: &str, version: &str, message: String| RuleEvent {
            kind,
            rule_id: rule_id.to_string(),
            file: file.to_string(),
            version: version.to_string(),
            message,
            ruleset_version: report.version.clone(),
            time: now,
        };
        for (id, version, file) in &report.activated {
            let _ = self
                .events
                .send(event("activated", id, file, version, String::new()));
        }
        for id in &report.removed {
            let _ = self
                .events
                .send(event("removed", id, "", "", String::new()));
        }
        for e in &report.errors {
            let _ = self
                .events
                .send(event("rejected", "", e.file(), "", e.to_string()));
        }
    }

    /// First load: fails when the source is unreadable or not a single rule loads.
    pub fn load_initial(&self) -> Result<ReloadReport, RegistryError> {
        let report = self.reload()?;
        if report.rules == 0 {
            return Err(RegistryError::NothingLoaded {
                location: self.source.describe(),
                errors: report.errors,
            });
        }
        Ok(report)
    }

    /// The active rule set (a cheap snapshot; hold it for the whole claim).
    pub fn snapshot(&self) -> Arc<RuleSet> {
        self.active.load_full()
    }

    /// Compiles a rule file with the registry's engine (no tests run, nothing activated).
    pub fn compile(&self, file: &crate::rules::RuleFile) -> Result<CompiledRule, RuleLoadError> {
        compile_rule(self.evaluator.engine(), file)
    }

    /// Compiles `file` and runs its tests against the current tables, without activating it.
    pub fn check_candidate(
        &self,
        file: &crate::rules::RuleFile,
    ) -> (Result<CompiledRule, RuleLoadError>, CaseResults) {
        let tables = self.tables.snapshot();
        self.pool
            .run_blocking(|| match compile_rule(self.evaluator.engine(), file) {
                Ok(rule) => {
                    let results = crate::rules::trial::run_cases(&self.evaluator, &rule, &tables);
                    (Ok(rule), results)
                }
                Err(e) => (Err(e), Vec::new()),
            })
    }

    /// Runs a candidate rule on sample claims (dry run).
    pub fn dry_run(
        &self,
        rule: &CompiledRule,
        claims: &[(std::sync::Arc<crate::claim::Claim>, chrono::NaiveDate)],
    ) -> Vec<Result<Vec<crate::finding::Finding>, crate::finding::RuleFailure>> {
        let tables = self.tables.snapshot();
        self.pool.run_blocking(|| {
            claims
                .iter()
                .map(|(claim, as_of)| {
                    crate::rules::trial::run_on(&self.evaluator, rule, claim, *as_of, &tables)
                })
                .collect()
        })
    }

    /// Where the rules come from.
    pub fn location(&self) -> String {
        self.source.describe()
    }

    /// Status of every known rule file, by file name.
    pub fn file_statuses(&self) -> Vec<(String, FileStatus)> {
        let mut v: Vec<_> = self
            .files
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// When the last reload finished.
    pub fn last_reload(&self) -> Option<SystemTime> {
        *self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Reloads that changed something (the `claimscrub_rule_reloads_total{outcome="ok"}` count).
    pub fn applied_reloads(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Re-reads the source and publishes a new rule set if anything changed. Runs on an
    /// evaluation thread (big stack) and blocks the caller: call it from blocking contexts.
    pub fn reload(&self) -> Result<ReloadReport, RegistryError> {
        self.reload_with(false)
    }

    /// A reload after a change made on purpose (an admin delete or disable): it may shrink
    /// the active set, even to nothing.
    pub fn reload_explicit(&self) -> Result<ReloadReport, RegistryError> {
        self.reload_with(true)
    }

    /// Why the last reload failed, if it did (the active set is then the one before it).
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn reload_with(&self, explicit: bool) -> Result<ReloadReport, RegistryError> {
        let _guard = self
            .reload_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let result = self.pool.run_blocking(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| self.reload_locked(explicit)))
                .unwrap_or_else(|_| {
                    Err(RegistryError::Source {
                        location: self.source.describe(),
                        cause: std::io::Error::other("reload panicked; active rule set unchanged"),
                    })
                })
        });
        *self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(SystemTime::now());
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            result.as_ref().err().map(ToString::to_string);
        metrics::rules_source_ok(result.is_ok());
        // Only real changes count and notify: the watcher's periodic rescans find none.
        match &result {
            Ok(report) if report.is_noop() => {}
            Ok(report) => {
                self.applied.fetch_add(1, Ordering::Relaxed);
                metrics::rules_reloaded(true, &report.version, report.rules, report.errors.len());
                self.publish(report);
            }
            Err(_) => metrics::rules_reloaded(false, "", 0, 0),
        }
        result
    }

    fn reload_locked(&self, explicit: bool) -> Result<ReloadReport, RegistryError> {
        let files = self.source.list().map_err(|cause| RegistryError::Source {
            location: self.source.describe(),
            cause,
        })?;
        if !explicit && !self.source.is_transactional() {
            // Deleting every file (or a half-synced directory) must not silently empty the
            // rules in force: more than half of the active files gone is refused.
            let active: Vec<String> = self
                .files
                .iter()
                .filter(|e| e.value().rule_id.is_some())
                .map(|e| e.key().clone())
                .collect();
            let listed = active
                .iter()
                .filter(|a| files.iter().any(|f| &f.name == *a))
                .count();
            if !active.is_empty()
                && (files.is_empty() || (active.len() >= 4 && listed * 2 < active.len()))
            {
                return Err(RegistryError::WouldShrink {
                    location: self.source.describe(),
                    listed,
                    active: active.len(),
                });
            }
        }
        let tables = self.tables.snapshot();
        let mut report = ReloadReport::default();
        let listed: HashSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
        let hash_of = |f: &crate::rules::RuleFile| {
            let mut text = f
                .source
                .clone()
                .unwrap_or_else(|e| format!("\0unreadable {e}"));
            if let Some((_, t)) = &f.tests {
                text.push('\0');
                text.push_str(t.as_deref().unwrap_or("\0unreadable"));
            }
            if f.shadow {
                text.push_str("\0shadow");
            }
            content_version(&text)
        };

        // Every listed file keeps the id it held after the last reload until it is deleted or
        // compiles to a different id: a stale duplicate never takes an id from its owner, even
        // while the owner's newest edit is broken.
        let mut held: HashMap<String, String> = HashMap::new();
        let mut changed = Vec::new();
        for f in &files {
            let hash = hash_of(f);
            let prev = self.files.get(&f.name).map(|s| s.clone());
            if let Some(id) = prev.as_ref().and_then(|p| p.rule_id.clone()) {
                held.insert(id, f.name.clone());
            }
            match prev {
                Some(p)
                    if p.hash == hash
                        && !matches!(p.error, Some(RuleLoadError::DuplicateId { .. })) => {}
                prev => changed.push((f, hash, prev)),
            }
        }

        let mut new_rules: HashMap<String, Arc<CompiledRule>> = HashMap::new();
        for (f, hash, prev) in changed {
            let outcome = compile_rule(self.evaluator.engine(), f).and_then(|rule| {
                if let Some(other) = held.get(&rule.meta.id).filter(|o| **o != f.name) {
                    return Err(RuleLoadError::DuplicateId {
                        file: f.name.clone(),
                        id: rule.meta.id.clone(),
                        other: other.clone(),
                    });
                }
                let failures: Vec<String> =
                    crate::rules::trial::run_cases(&self.evaluator, &rule, &tables)
                        .into_iter()
                        .filter_map(|(_, outcome)| outcome.err())
                        .collect();
                if failures.is_empty() {
                    Ok(rule)
                } else {
                    Err(RuleLoadError::TestsFailed {
                        file: f.name.clone(),
                        failures,
                    })
                }
            });
            let (status, activated) = match outcome {
                Ok(rule) => {
                    let id = rule.meta.id.clone();
                    if let Some(old) = prev.as_ref().and_then(|p| p.rule_id.as_ref())
                        && *old != id
                        && held.get(old) == Some(&f.name)
                    {
                        held.remove(old);
                    }
                    let activated = (id.clone(), rule.version.clone(), f.name.clone());
                    held.insert(id.clone(), f.name.clone());
                    let status = FileStatus {
                        hash,
                        rule_id: Some(id.clone()),
                        active_version: Some(rule.version.clone()),
                        error: None,
                        changed_at: SystemTime::now(),
                    };
                    new_rules.insert(id, Arc::new(rule));
                    (status, Some(activated))
                }
                Err(error) => {
                    // Keep the last good version of this file (its id stays reserved).
                    let (rule_id, active_version) = match &prev {
                        Some(p)
                            if p.rule_id
                                .as_ref()
                                .is_some_and(|id| held.get(id) == Some(&f.name)) =>
                        {
                            (p.rule_id.clone(), p.active_version.clone())
                        }
                        _ => (None, None),
                    };
                    let status = FileStatus {
                        hash,
                        rule_id,
                        active_version,
                        error: Some(error),
                        changed_at: SystemTime::now(),
                    };
                    (status, None)
                }
            };
            // A duplicate re-checked while its owner still holds the id: same content, same
            // outcome, so nothing changed and nothing is reported again.
            if let Some(p) = &prev
                && p.hash == status.hash
                && p.rule_id == status.rule_id
                && p.active_version == status.active_version
                && p.error == status.error
            {
                continue;
            }
            report.files_changed += 1;
            report.activated.extend(activated);
            report.errors.extend(status.error.clone());
            self.files.insert(f.name.clone(), status);
        }

        let known = self.files.len();
        self.files.retain(|name, _| listed.contains(name.as_str()));
        report.files_changed += known - self.files.len();
        for (id, rule) in new_rules {
            self.rules.insert(id, rule);
        }
        let before: Vec<String> = self.rules.iter().map(|e| e.key().clone()).collect();
        self.rules.retain(|id, _| held.contains_key(id));
        report.removed = before
            .into_iter()
            .filter(|id| !held.contains_key(id))
            .collect();

        let set = RuleSet::new(self.rules.iter().map(|e| e.value().clone()).collect());
        report.rules = set.rules.len();
        report.version = set.version.clone();
        if set.version != self.active.load().version {
            self.active.store(Arc::new(set));
            report.changed = true;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineLimits;
    use crate::rules::MemorySource;

    fn rule(id: &str, message: &str) -> String {
        format!(
            "let rule = #{{ id: \"{id}\", name: \"n\", category: \"c\", severity: \"error\", carc: \"CO-16\", denial_probability: 0.5 }};\nfn check(claim) {{ finding(\"{message}\") }}\n"
        )
    }

    fn registry(source: Arc<MemorySource>) -> RuleRegistry {
        RuleRegistry::new(
            source,
            Evaluator::new(&EngineLimits::default()),
            EvalPool::new(1, 4).unwrap(),
            Arc::new(TableStore::empty()),
        )
    }

    fn owner(r: &RuleRegistry, id: &str) -> Option<(String, String)> {
        let set = r.snapshot();
        let rule = set.get(id)?;
        Some((rule.file.clone(), rule.source.to_string()))
    }

    #[test]
    fn a_stale_duplicate_never_takes_an_id_from_its_owner() {
        let src = Arc::new(MemorySource::new());
        src.put("b", &rule("x", "b1"), None);
        let r = registry(src.clone());
        r.load_initial().unwrap();
        src.put("a-old", &rule("x", "stale"), None);
        let report = r.reload().unwrap();
        assert!(matches!(
            report.errors[0],
            RuleLoadError::DuplicateId { .. }
        ));
        assert_eq!(owner(&r, "x").unwrap().0, "b.rhai");

        // The owner's broken edit keeps its last good version; the duplicate stays out.
        src.put("b", "let rule = #{ id: \"x\" ;", None);
        r.reload().unwrap();
        assert_eq!(owner(&r, "x").unwrap(), ("b.rhai".into(), rule("x", "b1")));

        // A good edit of the owner activates; the duplicate still stays out.
        src.put("b", &rule("x", "b2"), None);
        r.reload().unwrap();
        assert_eq!(owner(&r, "x").unwrap(), ("b.rhai".into(), rule("x", "b2")));

        // Once the owner is deleted, the other file may take the id.
        src.remove("b");
        r.reload().unwrap();
        assert_eq!(owner(&r, "x").unwrap().0, "a-old.rhai");
    }

    #[test]
    fn renaming_a_rule_id_frees_the_old_one() {
        let src = Arc::new(MemorySource::new());
        src.put("a", &rule("x", "a"), None);
        let r = registry(src.clone());
        r.load_initial().unwrap();
        src.put("a", &rule("y", "a"), None);
        let report = r.reload().unwrap();
        assert_eq!(report.removed, ["x"]);
        assert!(owner(&r, "x").is_none() && owner(&r, "y").is_some());
    }

    #[test]
    fn reloads_without_a_change_are_not_counted_or_reported() {
        let src = Arc::new(MemorySource::new());
        src.put("a", &rule("x", "a"), None);
        let r = registry(src.clone());
        r.load_initial().unwrap();
        assert_eq!(r.applied_reloads(), 1);
        for _ in 0..3 {
            assert!(r.reload().unwrap().is_noop());
        }
        assert_eq!(
            r.applied_reloads(),
            1,
            "a rescan that finds nothing is not a reload"
        );

        // A duplicate id is reported once, not again at every rescan.
        src.put("b", &rule("x", "dup"), None);
        let first = r.reload().unwrap();
        assert_eq!(first.errors.len(), 1);
        let again = r.reload().unwrap();
        assert!(again.errors.is_empty() && again.is_noop());

        // A real edit counts exactly once.
        src.put("a", &rule("x", "a2"), None);
        assert!(!r.reload().unwrap().is_noop());
        assert!(r.reload().unwrap().is_noop());
        assert_eq!(r.applied_reloads(), 3);
    }

    #[test]
    fn a_source_that_suddenly_lists_far_fewer_rules_is_not_published() {
        let src = Arc::new(MemorySource::new());
        for n in ["a", "b", "c", "d"] {
            src.put(n, &rule(n, n), None);
        }
        let r = registry(src.clone());
        r.load_initial().unwrap();
        for n in ["a", "b", "c"] {
            src.remove(n);
        }
        let e = r.reload().unwrap_err();
        assert!(
            matches!(
                e,
                RegistryError::WouldShrink {
                    listed: 1,
                    active: 4,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(r.snapshot().rules.len(), 4, "the rules in force stay");
        assert!(r.last_error().unwrap().contains("1 of the 4"));
        // Every file gone: refused too.
        src.remove("d");
        assert!(r.reload().is_err());
        assert_eq!(r.snapshot().rules.len(), 4);
        // One file deleted of four is an ordinary change.
        for n in ["a", "b", "c"] {
            src.put(n, &rule(n, n), None);
        }
        assert_eq!(r.reload().unwrap().rules, 3);
        assert!(r.last_error().is_none());
        // An explicit change (admin delete) may empty the set.
        for n in ["a", "b", "c"] {
            src.remove(n);
        }
        assert_eq!(r.reload_explicit().unwrap().rules, 0);
    }
}
