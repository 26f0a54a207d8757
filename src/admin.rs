//! `claimscrub.v1.RuleAdmin`: the authenticated, audited administration API.
//!
//! This version serves the read-only calls (ListRules, GetRule, GetRulesetStatus); changes go
//! through the rules directory, which every replica watches.

pub mod audit;
pub mod auth;

use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use tonic::{Request, Response, Status};

use crate::finding::Severity;
use crate::proto::v1::{self as pb, rule_admin_server::RuleAdmin};
use crate::registry::{FileStatus, RuleRegistry};
use crate::rules::CompiledRule;
use audit::{AuditLog, Record};
use auth::{Role, Tokens};

/// The admin service.
pub struct AdminService {
    registry: Arc<RuleRegistry>,
    tokens: Arc<Tokens>,
    audit: Arc<AuditLog>,
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
    }
}

impl AdminService {
    /// A service over `registry`, authenticating with `tokens` and auditing to `audit`.
    pub fn new(registry: Arc<RuleRegistry>, tokens: Arc<Tokens>, audit: Arc<AuditLog>) -> Self {
        Self {
            registry,
            tokens,
            audit,
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
        self.audit.write(&Record {
            time: rfc3339(SystemTime::now()),
            principal,
            action,
            rule_id,
            old_version: "",
            new_version: "",
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
        let rules = set
            .rules
            .iter()
            .map(|r| {
                info(
                    r,
                    statuses.iter().find(|(f, _)| *f == r.file).map(|(_, s)| s),
                )
            })
            .collect();
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
            .registry
            .tables()
            .snapshot()
            .versions
            .iter()
            .map(|v| pb::TableVersion {
                kind: v.kind.as_str().into(),
                setting: v.setting.map_or(String::new(), |s| s.as_str().into()),
                version: v.version.clone(),
            })
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
}
