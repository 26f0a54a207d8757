//! `claimscrub.v1.RuleAdmin`: the authenticated, audited administration API.
//!
//! This version serves the read-only calls (ListRules, GetRule, GetRulesetStatus); changes go
//! through the rules directory, which every replica watches.

pub mod audit;
pub mod auth;
pub mod history;

pub mod edit;

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use futures::Stream;

use chrono::{DateTime, SecondsFormat, Utc};
use tonic::{Request, Response, Status};

use crate::finding::Severity;
use crate::proto::v1::{self as pb, rule_admin_server::RuleAdmin};
use crate::registry::{FileStatus, RuleRegistry};
use crate::rules::CompiledRule;
use crate::tables::TableStore;
use audit::{AuditLog, Record};
use auth::{Role, Tokens};
use history::History;

/// The admin service.
pub struct AdminService {
    registry: Arc<RuleRegistry>,
    tables: Arc<TableStore>,
    tokens: Arc<Tokens>,
    audit: Arc<AuditLog>,
    rules_dir: PathBuf,
    history: History,
    /// Serialises edits made through this replica.
    edit_lock: tokio::sync::Mutex<()>,
}

fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Secs, true)
}

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
        load_status: if error.is_empty() {
            "active"
        } else {
            "active_with_errors"
        }
        .into(),
        last_error: error,
        last_changed_by: "file".into(),
        last_changed_at: status.map(|s| rfc3339(s.changed_at)).unwrap_or_default(),
        carc: rule.meta.carc.clone(),
        denial_probability: rule.meta.denial_probability,
        kind: rule.meta.kind.as_str().into(),
    }
}

impl AdminService {
    /// A service over `registry` (whose rules live in `rules_dir`) and `tables`,
    /// authenticating with `tokens` and auditing to `audit`.
    pub fn new(
        registry: Arc<RuleRegistry>,
        tables: Arc<TableStore>,
        tokens: Arc<Tokens>,
        audit: Arc<AuditLog>,
        rules_dir: PathBuf,
    ) -> Self {
        let history = History::new(&rules_dir);
        Self {
            registry,
            tables,
            tokens,
            audit,
            rules_dir,
            history,
            edit_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Authenticates and audits a call; refused calls are audited too.
    fn admit<T>(
        &self,
        request: &Request<T>,
        needed: Role,
        action: &str,
        rule_id: &str,
    ) -> Result<String, Status> {
        match self.tokens.authorize(request.metadata(), needed) {
            Ok(p) => Ok(p.name),
            Err(e) => {
                self.audit.write(&Record {
                    time: rfc3339(SystemTime::now()),
                    principal: "anonymous",
                    action,
                    rule_id,
                    old_version: "",
                    new_version: "",
                    outcome: &format!("refused: {e}"),
                });
                tracing::warn!(action, error = %e, "admin call refused");
                Err(e.into())
            }
        }
    }

    fn done(&self, principal: &str, action: &str, rule_id: &str, outcome: &str) {
        self.changed(principal, action, rule_id, "", "", outcome);
    }

    fn changed(
        &self,
        principal: &str,
        action: &str,
        rule_id: &str,
        old: &str,
        new: &str,
        outcome: &str,
    ) {
        self.audit.write(&Record {
            time: rfc3339(SystemTime::now()),
            principal,
            action,
            rule_id,
            old_version: old,
            new_version: new,
            outcome,
        });
    }

    fn status_of(&self, file: &str) -> Option<FileStatus> {
        self.registry
            .file_statuses()
            .into_iter()
            .find(|(f, _)| f == file)
            .map(|(_, s)| s)
    }
}

#[tonic::async_trait]
impl RuleAdmin for AdminService {
    async fn list_rules(
        &self,
        request: Request<pb::ListRulesRequest>,
    ) -> Result<Response<pb::ListRulesResponse>, Status> {
        let who = self.admit(&request, Role::Viewer, "ListRules", "")?;
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
        for r in self.disabled_rules() {
            let mut i = info(&r, None);
            i.enabled = false;
            i.load_status = "disabled".into();
            rules.push(i);
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        self.done(&who, "ListRules", "", "ok");
        Ok(Response::new(pb::ListRulesResponse {
            rules,
            ruleset_version: set.version.clone(),
        }))
    }

    async fn get_rule(
        &self,
        request: Request<pb::GetRuleRequest>,
    ) -> Result<Response<pb::GetRuleResponse>, Status> {
        let id = request.get_ref().id.trim().to_string();
        let who = self.admit(&request, Role::Viewer, "GetRule", &id)?;
        let set = self.registry.snapshot();
        let Some(rule) = set.get(&id) else {
            self.done(&who, "GetRule", &id, "not found");
            return Err(Status::not_found(format!("no active rule has id {id:?}")));
        };
        let status = self.status_of(&rule.file);
        self.done(&who, "GetRule", &id, "ok");
        Ok(Response::new(pb::GetRuleResponse {
            rule: Some(info(rule, status.as_ref())),
            source: rule.source.to_string(),
            tests: rule.tests_source.as_deref().unwrap_or("").to_string(),
        }))
    }

    async fn get_ruleset_status(
        &self,
        request: Request<pb::GetRulesetStatusRequest>,
    ) -> Result<Response<pb::GetRulesetStatusResponse>, Status> {
        let who = self.admit(&request, Role::Viewer, "GetRulesetStatus", "")?;
        let set = self.registry.snapshot();
        let errors = self
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
        let tables = self
            .tables
            .snapshot()
            .versions
            .iter()
            .map(crate::scrub::table_version_to_pb)
            .collect();
        self.done(&who, "GetRulesetStatus", "", "ok");
        Ok(Response::new(pb::GetRulesetStatusResponse {
            ruleset_version: set.version.clone(),
            rules: set.rules.len() as u32,
            last_reload_at: self.registry.last_reload().map(rfc3339).unwrap_or_default(),
            errors,
            tables,
            rules_location: self.registry.location(),
        }))
    }

    async fn validate_rule(
        &self,
        request: Request<pb::ValidateRuleRequest>,
    ) -> Result<Response<pb::ValidateRuleResponse>, Status> {
        let who = self.admit(&request, Role::Editor, "ValidateRule", "")?;
        let req = request.into_inner();
        let registry = self.registry.clone();
        let resp = tokio::task::spawn_blocking(move || edit::validate(&registry, &req))
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
        self.done(
            &who,
            "ValidateRule",
            &resp.rule_id,
            if resp.valid { "ok" } else { "invalid" },
        );
        Ok(Response::new(resp))
    }

    async fn put_rule(
        &self,
        request: Request<pb::PutRuleRequest>,
    ) -> Result<Response<pb::PutRuleResponse>, Status> {
        let id = request.get_ref().id.trim().to_string();
        let who = self.admit(&request, Role::Editor, "PutRule", &id)?;
        let req = request.into_inner();
        let change = edit::Change {
            id: id.clone(),
            source: req.source,
            tests: req.tests,
            comment: req.comment,
            action: "put",
        };
        self.apply(&who, "PutRule", change, Some(req.expected_version))
            .await
    }

    async fn rollback_rule(
        &self,
        request: Request<pb::RollbackRuleRequest>,
    ) -> Result<Response<pb::PutRuleResponse>, Status> {
        let id = request.get_ref().id.trim().to_string();
        let who = self.admit(&request, Role::Editor, "RollbackRule", &id)?;
        let req = request.into_inner();
        let Some((source, tests)) = self
            .history
            .version(&id, req.version.trim())
            .map_err(|e| Status::internal(e.to_string()))?
        else {
            self.done(&who, "RollbackRule", &id, "unknown version");
            return Err(Status::not_found(format!(
                "rule {id:?} has no stored version {:?}; see GetRuleHistory",
                req.version
            )));
        };
        let change = edit::Change {
            id: id.clone(),
            source,
            tests: tests.unwrap_or_default(),
            comment: req.comment,
            action: "rollback",
        };
        self.apply(&who, "RollbackRule", change, None).await
    }

    async fn disable_rule(
        &self,
        request: Request<pb::RuleActionRequest>,
    ) -> Result<Response<pb::RuleActionResponse>, Status> {
        self.action(request, "DisableRule", edit::Action::Disable)
            .await
    }

    async fn enable_rule(
        &self,
        request: Request<pb::RuleActionRequest>,
    ) -> Result<Response<pb::RuleActionResponse>, Status> {
        self.action(request, "EnableRule", edit::Action::Enable)
            .await
    }

    async fn delete_rule(
        &self,
        request: Request<pb::RuleActionRequest>,
    ) -> Result<Response<pb::RuleActionResponse>, Status> {
        self.action(request, "DeleteRule", edit::Action::Delete)
            .await
    }

    async fn get_rule_history(
        &self,
        request: Request<pb::GetRuleHistoryRequest>,
    ) -> Result<Response<pb::GetRuleHistoryResponse>, Status> {
        let id = request.get_ref().id.trim().to_string();
        let who = self.admit(&request, Role::Viewer, "GetRuleHistory", &id)?;
        let mut versions: Vec<pb::RuleVersion> = self
            .history
            .entries(&id)
            .map_err(|e| Status::invalid_argument(e.to_string()))?
            .into_iter()
            .map(|e| pb::RuleVersion {
                version: e.version,
                author: e.author,
                time: e.time,
                comment: e.comment,
                action: e.action,
            })
            .collect();
        if let Some(rule) = self.registry.snapshot().get(&id)
            && versions.first().is_none_or(|v| v.version != rule.version)
        {
            // Edited directly in the rules directory since the last recorded change.
            let status = self.status_of(&rule.file);
            versions.insert(
                0,
                pb::RuleVersion {
                    version: rule.version.clone(),
                    author: "file".into(),
                    time: status.map(|s| rfc3339(s.changed_at)).unwrap_or_default(),
                    comment: "edited in the rules directory".into(),
                    action: "file".into(),
                },
            );
        }
        if versions.is_empty() {
            self.done(&who, "GetRuleHistory", &id, "not found");
            return Err(Status::not_found(format!(
                "no rule or history for id {id:?}"
            )));
        }
        self.done(&who, "GetRuleHistory", &id, "ok");
        Ok(Response::new(pb::GetRuleHistoryResponse { versions }))
    }

    type WatchRuleEventsStream = Pin<Box<dyn Stream<Item = Result<pb::RuleEvent, Status>> + Send>>;

    async fn watch_rule_events(
        &self,
        request: Request<pb::WatchRuleEventsRequest>,
    ) -> Result<Response<Self::WatchRuleEventsStream>, Status> {
        let who = self.admit(&request, Role::Viewer, "WatchRuleEvents", "")?;
        self.done(&who, "WatchRuleEvents", "", "ok");
        let events = tokio_stream::wrappers::BroadcastStream::new(self.registry.subscribe());
        let stream = futures::StreamExt::filter_map(events, |e| async move {
            e.ok().map(|e| {
                Ok(pb::RuleEvent {
                    kind: e.kind.into(),
                    rule_id: e.rule_id,
                    file: e.file,
                    version: e.version,
                    message: e.message,
                    ruleset_version: e.ruleset_version,
                    time: rfc3339(e.time),
                })
            })
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
