//! Rule administration: the authenticated, audited operations behind the `RuleAdmin` API
//! (the gRPC service is [`crate::api::AdminService`]).
//!
//! Reads come from the registry (the active rule set and file statuses) and the tables;
//! every read and write of rule files, tests, their enabled state, history and the audit
//! log goes through the [`RuleStore`] (a directory or PostgreSQL). Changes are written to the
//! store and then reloaded, so every replica watching the same store converges. Every
//! operation here blocks (store I/O, compiling, test cases): the API runs it on a blocking
//! thread.

pub mod audit;
pub mod auth;
pub mod edit;
pub mod error;
pub mod history;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tonic::metadata::MetadataMap;

use crate::finding::Severity;
use crate::proto::v1 as pb;
use crate::registry::{FileStatus, RuleRegistry};
use crate::rules::CompiledRule;
pub use crate::store::{FsRuleStore, RuleStore};
use crate::tables::TableStore;
use audit::Record;
use auth::{Role, Tokens};
pub use error::AdminError;

/// The admin operations over one registry, its tables and its rule store.
pub struct Admin {
    registry: Arc<RuleRegistry>,
    tables: Arc<TableStore>,
    store: Arc<dyn RuleStore>,
    tokens: Arc<Tokens>,
    /// Serialises edits made through this replica.
    edit_lock: Mutex<()>,
}

pub use crate::outcomes::rfc3339;

fn severity(s: Severity) -> i32 {
    let sev = match s {
        Severity::Info => pb::Severity::Info,
        Severity::Warning => pb::Severity::Warning,
        Severity::Error => pb::Severity::Error,
    };
    sev as i32
}

fn info(rule: &CompiledRule, status: Option<&FileStatus>) -> pb::RuleInfo {
    let error = status
        .and_then(|s| s.error.as_ref())
        .map(ToString::to_string)
        .unwrap_or_default();
    pb::RuleInfo {
        id: rule.meta.id.clone(),
        name: rule.meta.name.clone(),
        category: rule.meta.category.clone(),
        severity: severity(rule.meta.severity),
        version: rule.version.clone(),
        enabled: true,
        file: rule.file.clone(),
        load_status: match (rule.shadow, error.is_empty()) {
            (false, true) => "active",
            (false, false) => "active_with_errors",
            (true, true) => "shadow",
            (true, false) => "shadow_with_errors",
        }
        .into(),
        shadow: rule.shadow,
        last_error: error,
        last_changed_by: "file".into(),
        last_changed_at: status.map(|s| rfc3339(s.changed_at)).unwrap_or_default(),
        carc: rule.meta.carc.clone(),
        denial_probability: rule.meta.denial_probability,
        kind: rule.meta.kind.as_str().into(),
    }
}

impl Admin {
    /// Administration of `registry`'s rules kept in `store`, reporting `tables`,
    /// authenticating with `tokens`.
    pub fn new(
        registry: Arc<RuleRegistry>,
        tables: Arc<TableStore>,
        store: Arc<dyn RuleStore>,
        tokens: Arc<Tokens>,
    ) -> Self {
        Self {
            registry,
            tables,
            store,
            tokens,
            edit_lock: Mutex::new(()),
        }
    }

    /// The registry (for event subscriptions).
    pub fn registry(&self) -> &Arc<RuleRegistry> {
        &self.registry
    }

    /// Authenticates a call needing `needed`; refused calls are audited too. Returns the
    /// caller's name.
    pub fn admit(
        &self,
        metadata: &MetadataMap,
        needed: Role,
        action: &str,
        rule_id: &str,
    ) -> Result<String, AdminError> {
        self.principal(metadata, needed, action, rule_id)
            .map(|p| p.name)
    }

    /// The caller (name and role) when its token carries `needed`; a refusal is audited.
    pub fn principal(
        &self,
        metadata: &MetadataMap,
        needed: Role,
        action: &str,
        rule_id: &str,
    ) -> Result<crate::admin::auth::Principal, AdminError> {
        match self.tokens.authorize(metadata, needed) {
            Ok(p) => Ok(p),
            Err(e) => {
                // The id of a refused call is whatever the caller sent: bounded in the record.
                let shown = if history::valid_id(rule_id) && rule_id.len() <= 64 {
                    rule_id
                } else {
                    "(not a rule id)"
                };
                self.audit("anonymous", action, shown, "", "", &format!("refused: {e}"));
                tracing::warn!(action, error = %e, "admin call refused");
                Err(e.into())
            }
        }
    }

    /// Records one audit line.
    pub fn audit(
        &self,
        principal: &str,
        action: &str,
        rule_id: &str,
        old: &str,
        new: &str,
        outcome: &str,
    ) {
        self.store.audit(&Record {
            time: rfc3339(SystemTime::now()),
            principal,
            action,
            rule_id,
            old_version: old,
            new_version: new,
            outcome,
        });
    }

    /// Records a call that changed no version.
    pub fn done(&self, principal: &str, action: &str, rule_id: &str, outcome: &str) {
        self.audit(principal, action, rule_id, "", "", outcome);
    }

    fn store_error(&self, action: &'static str) -> impl Fn(std::io::Error) -> AdminError + '_ {
        move |source| AdminError::Store {
            action,
            location: self.store.describe(),
            source,
        }
    }

    fn status_of(&self, file: &str) -> Option<FileStatus> {
        self.registry
            .file_statuses()
            .into_iter()
            .find(|(f, _)| f == file)
            .map(|(_, s)| s)
    }

    fn lock_edits(&self) -> std::sync::MutexGuard<'_, ()> {
        self.edit_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every rule: active ones with their load status, then the disabled ones.
    pub fn list_rules(&self, who: &str) -> Result<pb::ListRulesResponse, AdminError> {
        let set = self.registry.snapshot();
        let statuses = self.registry.file_statuses();
        let mut rules: Vec<pb::RuleInfo> = set
            .rules
            .iter()
            .map(|r| {
                info(
                    r,
                    statuses.iter().find(|(f, _)| *f == r.file).map(|(_, s)| s),
                )
            })
            .collect();
        // Files that never loaded (a new file with an error) have no rule yet: list them by
        // file so their author sees why.
        for (file, status) in &statuses {
            if let (None, Some(error)) = (&status.rule_id, &status.error) {
                rules.push(pb::RuleInfo {
                    file: file.clone(),
                    load_status: "failed".into(),
                    last_error: error.to_string(),
                    last_changed_at: rfc3339(status.changed_at),
                    ..Default::default()
                });
            }
        }
        for r in self.disabled_rules()? {
            let mut i = info(&r, None);
            i.enabled = false;
            i.load_status = "disabled".into();
            rules.push(i);
        }
        self.name_last_changes(&mut rules)?;
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        self.done(who, "ListRules", "", "ok");
        Ok(pb::ListRulesResponse {
            rules,
            ruleset_version: set.version.clone(),
        })
    }

    /// Who last changed each rule and when, from the history: the newest entry's author when
    /// it produced the version in force (or disabled it); else the rule was last changed
    /// directly where it is kept, and stays "file" with the file's change time.
    fn name_last_changes(&self, rules: &mut [pb::RuleInfo]) -> Result<(), AdminError> {
        let ids: Vec<&str> = rules
            .iter()
            .filter(|r| !r.id.is_empty())
            .map(|r| r.id.as_str())
            .collect();
        let last = self
            .store
            .last_changes(&ids)
            .map_err(self.store_error("read"))?;
        for r in rules.iter_mut() {
            if let Some(e) = last.get(&r.id)
                && (e.version == r.version || (!r.enabled && e.action == "disable"))
            {
                r.last_changed_by = e.author.clone();
                r.last_changed_at = e.time.clone();
            }
        }
        Ok(())
    }

    /// One active rule with its script and tests.
    pub fn get_rule(&self, who: &str, id: &str) -> Result<pb::GetRuleResponse, AdminError> {
        let set = self.registry.snapshot();
        let Some(rule) = set.get(id) else {
            self.done(who, "GetRule", id, "not found");
            return Err(AdminError::NotFound(format!(
                "no active rule has id {id:?}"
            )));
        };
        let status = self.status_of(&rule.file);
        self.done(who, "GetRule", id, "ok");
        Ok(pb::GetRuleResponse {
            rule: Some(info(rule, status.as_ref())),
            source: rule.source.to_string(),
            tests: rule.tests_source.as_deref().unwrap_or("").to_string(),
        })
    }

    /// The active rule set, load errors and table versions.
    pub fn ruleset_status(&self, who: &str) -> pb::GetRulesetStatusResponse {
        let set = self.registry.snapshot();
        let mut errors: Vec<pb::RuleLoadError> = self
            .registry
            .file_statuses()
            .into_iter()
            .filter_map(|(file, s)| {
                s.error.map(|e| pb::RuleLoadError {
                    file,
                    message: e.to_string(),
                })
            })
            .collect();
        if let Some(message) = self.registry.last_error() {
            // The rules location as a whole (missing directory, unreachable database, a
            // reload that would have emptied the set): no one file.
            errors.insert(
                0,
                pb::RuleLoadError {
                    file: String::new(),
                    message,
                },
            );
        }
        let tables = self
            .tables
            .snapshot()
            .versions
            .iter()
            .map(crate::scrub::table_version_to_pb)
            .collect();
        self.done(who, "GetRulesetStatus", "", "ok");
        pb::GetRulesetStatusResponse {
            ruleset_version: set.version.clone(),
            rules: set.rules.len() as u32,
            last_reload_at: self.registry.last_reload().map(rfc3339).unwrap_or_default(),
            errors,
            tables,
            rules_location: self.registry.location(),
        }
    }

    /// One stored version of a rule: its script and tests.
    pub fn version(
        &self,
        who: &str,
        id: &str,
        version: &str,
    ) -> Result<pb::GetRuleVersionResponse, AdminError> {
        if !history::valid_id(id) {
            self.done(who, "GetRuleVersion", id, "invalid id");
            return Err(AdminError::Invalid {
                field: "id",
                message: format!("{id:?} is not a valid rule id"),
            });
        }
        match self
            .store
            .version(id, version.trim())
            .map_err(self.store_error("read"))?
        {
            Some((source, tests)) => Ok(pb::GetRuleVersionResponse {
                version: version.trim().to_string(),
                source,
                tests: tests.unwrap_or_default(),
            }),
            None => Err(AdminError::NotFound(format!(
                "rule {id:?} has no stored version {version:?}; see GetRuleHistory"
            ))),
        }
    }

    /// A rule's versions, newest first; a version edited directly in the store since the
    /// last recorded change comes first.
    pub fn history(&self, who: &str, id: &str) -> Result<pb::GetRuleHistoryResponse, AdminError> {
        if !history::valid_id(id) {
            self.done(who, "GetRuleHistory", id, "invalid id");
            return Err(AdminError::Invalid {
                field: "id",
                message: format!("{id:?} is not a valid rule id"),
            });
        }
        let mut versions: Vec<pb::RuleVersion> = self
            .store
            .history(id)
            .map_err(self.store_error("read"))?
            .into_iter()
            .map(|e| pb::RuleVersion {
                version: e.version,
                author: e.author,
                time: e.time,
                comment: e.comment,
                action: e.action,
            })
            .collect();
        // The active version was never recorded: it was edited in the store directly (a
        // replica still catching up runs a recorded version and adds nothing).
        if let Some(rule) = self.registry.snapshot().get(id)
            && versions.iter().all(|v| v.version != rule.version)
        {
            let status = self.status_of(&rule.file);
            let comment = if versions.is_empty() {
                "found in the rules directory (no change recorded)"
            } else {
                "edited in the rules directory"
            };
            versions.insert(
                0,
                pb::RuleVersion {
                    version: rule.version.clone(),
                    author: "file".into(),
                    time: status.map(|s| rfc3339(s.changed_at)).unwrap_or_default(),
                    comment: comment.into(),
                    action: "file".into(),
                },
            );
        }
        if versions.is_empty() {
            self.done(who, "GetRuleHistory", id, "not found");
            return Err(AdminError::NotFound(format!(
                "no rule or history for id {id:?}"
            )));
        }
        self.done(who, "GetRuleHistory", id, "ok");
        Ok(pb::GetRuleHistoryResponse { versions })
    }

    /// Records in the history every active version that was never recorded — a rule edited
    /// in the store directly (a file dropped into the rules directory) — so the history keeps
    /// it and it can be rolled back to. Runs after each reload that activated something;
    /// edits through this API are recorded before they reload, and the edit lock keeps this
    /// from running in the middle of one.
    pub fn record_unrecorded(&self, only: Option<&str>) {
        let _edit = self.lock_edits();
        let set = self.registry.snapshot();
        for rule in set
            .rules
            .iter()
            .filter(|r| only.is_none_or(|id| r.meta.id == id))
        {
            let id = &rule.meta.id;
            match self.store.version(id, &rule.version) {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(rule_id = %id, error = %e, "cannot read the rule history");
                    return;
                }
            }
            let changed_at = self
                .status_of(&rule.file)
                .map_or_else(SystemTime::now, |s| s.changed_at);
            let entry = history::Entry {
                version: rule.version.clone(),
                author: "file".into(),
                time: rfc3339(changed_at),
                comment: format!("found in {}", self.store.describe()),
                action: "file".into(),
            };
            if let Err(e) =
                self.store
                    .record(id, &rule.source, rule.tests_source.as_deref(), &entry)
            {
                tracing::warn!(rule_id = %id, error = %e,
                    "cannot record a rule version in the history (read-only store?)");
                return;
            }
        }
    }

    /// Disabled rules with their metadata (those that still compile).
    fn disabled_rules(&self) -> Result<Vec<CompiledRule>, AdminError> {
        let disabled = match self.store.disabled() {
            Ok(d) => d,
            Err(e) => {
                // The active rules are still listed; the store's state is in the status.
                tracing::warn!(error = %e, "cannot list disabled rules");
                Vec::new()
            }
        };
        Ok(disabled
            .into_iter()
            .filter_map(|d| {
                self.registry
                    .compile(&edit::candidate(&d.file, &d.source, ""))
                    .ok()
            })
            .collect())
    }
}
