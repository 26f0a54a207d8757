//! Editing rules through the admin API: validate, put (with optimistic concurrency), rollback,
//! disable, enable, delete. Every accepted change is written atomically into the rules
//! directory — where every replica's watcher picks it up — and recorded in the history.

use std::sync::Arc;
use std::time::SystemTime;

use tonic::{Response, Status};

use super::history::{Entry, write_atomic};
use super::{AdminService, rfc3339};
use crate::claim;
use crate::finding::FailureKind;
use crate::proto::v1 as pb;
use crate::registry::CaseResults;
use crate::registry::RuleRegistry;
use crate::rules::source::{RULE_SUFFIX, TESTS_SUFFIX};
use crate::rules::{CompiledRule, RuleFile, RuleLoadError};

/// A proposed new version of a rule.
pub struct Change {
    /// Rule id.
    pub id: String,
    /// Script text.
    pub source: String,
    /// Test file text ("" = keep the existing test file).
    pub tests: String,
    /// Why.
    pub comment: String,
    /// "put" or "rollback".
    pub action: &'static str,
}

/// Rule actions without new content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Rename `NAME.rhai` to `NAME.rhai.disabled`.
    Disable,
    /// Validate and rename back.
    Enable,
    /// Remove the files (the history keeps every version).
    Delete,
}

fn diagnostic(e: &RuleLoadError) -> pb::Diagnostic {
    match e {
        RuleLoadError::Syntax {
            line,
            column,
            message,
            ..
        } => pb::Diagnostic {
            line: *line as u32,
            column: *column as u32,
            message: message.clone(),
        },
        other => pb::Diagnostic {
            line: 0,
            column: 0,
            message: other.to_string(),
        },
    }
}

fn test_results(results: CaseResults) -> Vec<pb::TestResult> {
    results
        .into_iter()
        .map(|(name, r)| pb::TestResult {
            passed: r.is_ok(),
            message: r.err().unwrap_or_default(),
            name,
        })
        .collect()
}

/// The test file beside rule file `name` (`x.rhai` → `x.tests.json`).
fn tests_name(name: &str) -> String {
    format!("{}{TESTS_SUFFIX}", name.trim_end_matches(RULE_SUFFIX))
}

fn candidate(name: &str, source: &str, tests: &str) -> RuleFile {
    RuleFile {
        name: name.to_string(),
        source: Ok(source.to_string()),
        tests: (!tests.trim().is_empty()).then(|| (tests_name(name), Ok(tests.to_string()))),
    }
}

/// Compiles, tests and dry-runs a proposed script. Changes nothing.
pub fn validate(
    registry: &RuleRegistry,
    req: &pb::ValidateRuleRequest,
) -> pb::ValidateRuleResponse {
    let (compiled, results) =
        registry.check_candidate(&candidate("proposed.rhai", &req.source, &req.tests));
    let tests = test_results(results);
    let rule = match compiled {
        Ok(rule) => rule,
        Err(e) => {
            return pb::ValidateRuleResponse {
                valid: false,
                errors: vec![diagnostic(&e)],
                tests,
                ..Default::default()
            };
        }
    };
    let limits = claim::Limits {
        max_lines: 10_000,
        max_string_len: 256,
    };
    let mut samples = Vec::new();
    let mut prepared = Vec::new();
    for (i, r) in req.sample_claims.iter().enumerate() {
        let wire = r.claim.clone().unwrap_or_default();
        match claim::validate::validate(&wire, limits) {
            Ok(c) => {
                let as_of = chrono::NaiveDate::parse_from_str(r.as_of_date.trim(), "%Y-%m-%d")
                    .unwrap_or_else(|_| chrono::Utc::now().date_naive());
                prepared.push((i, Arc::new(c), as_of));
            }
            Err(e) => samples.push((
                i,
                pb::SampleResult {
                    claim_id: wire.claim_id.clone(),
                    findings: vec![],
                    error: format!("invalid sample claim: {e}"),
                },
            )),
        }
    }
    let runs = registry.dry_run(
        &rule,
        &prepared
            .iter()
            .map(|(_, c, d)| (c.clone(), *d))
            .collect::<Vec<_>>(),
    );
    for ((i, c, _), run) in prepared.iter().zip(runs) {
        let result = match run {
            Ok(findings) => pb::SampleResult {
                claim_id: c.id.clone(),
                findings: findings
                    .into_iter()
                    .map(crate::scrub::finding_to_pb)
                    .collect(),
                error: String::new(),
            },
            Err(f) => pb::SampleResult {
                claim_id: c.id.clone(),
                findings: vec![],
                error: format!(
                    "{}: {}",
                    match f.kind {
                        FailureKind::Error => "rule error",
                        FailureKind::Timeout => "time budget exceeded",
                        FailureKind::LimitExceeded => "limit exceeded",
                    },
                    f.message
                ),
            },
        };
        samples.push((*i, result));
    }
    samples.sort_by_key(|(i, _)| *i);
    pb::ValidateRuleResponse {
        valid: tests.iter().all(|t| t.passed),
        errors: vec![],
        tests,
        samples: samples.into_iter().map(|(_, s)| s).collect(),
        rule_id: rule.meta.id.clone(),
        version: rule.version.clone(),
    }
}

fn io_status(e: std::io::Error) -> Status {
    Status::internal(format!("cannot write the rules directory: {e}"))
}

impl AdminService {
    /// Disabled rules (`*.rhai.disabled`) with their metadata, for ListRules.
    pub(super) fn disabled_rules(&self) -> Vec<crate::rules::CompiledRule> {
        let Ok(entries) = std::fs::read_dir(&self.rules_dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".disabled")?;
                let text = std::fs::read_to_string(e.path()).ok()?;
                self.registry.compile(&candidate(stem, &text, "")).ok()
            })
            .collect()
    }

    fn disabled_file(&self, id: &str) -> Option<std::path::PathBuf> {
        let entries = std::fs::read_dir(&self.rules_dir).ok()?;
        entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.to_str().is_some_and(|s| s.ends_with(".rhai.disabled"))
                && std::fs::read_to_string(p).ok().is_some_and(|text| {
                    self.registry
                        .compile(&candidate("x.rhai", &text, ""))
                        .is_ok_and(|r| r.meta.id == id)
                })
        })
    }

    /// Compiles a candidate and runs its tests on a blocking thread.
    async fn check(
        &self,
        file: RuleFile,
    ) -> Result<(Result<CompiledRule, RuleLoadError>, CaseResults), Status> {
        let registry = self.registry.clone();
        tokio::task::spawn_blocking(move || registry.check_candidate(&file))
            .await
            .map_err(|e| Status::internal(e.to_string()))
    }

    async fn reload(&self) -> Result<String, Status> {
        let registry = self.registry.clone();
        let report = tokio::task::spawn_blocking(move || registry.reload())
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(report.version)
    }

    /// Validates and activates a new version of a rule (PutRule, RollbackRule).
    pub(super) async fn apply(
        &self,
        who: &str,
        action: &str,
        change: Change,
        expected: Option<String>,
    ) -> Result<Response<pb::PutRuleResponse>, Status> {
        let _edit = self.edit_lock.lock().await;
        let id = change.id.clone();
        let set = self.registry.snapshot();
        let current = set.get(&id).cloned();
        let current_version = current
            .as_ref()
            .map(|r| r.version.clone())
            .unwrap_or_default();
        if let Some(expected) = expected
            && expected.trim() != current_version
        {
            let why = if current_version.is_empty() {
                format!("rule {id:?} does not exist; send an empty expected_version to create it")
            } else {
                format!(
                    "rule {id:?} is at version {current_version}, not {:?}: someone changed it since you loaded it; reload it and apply your change again",
                    expected.trim()
                )
            };
            self.changed(
                who,
                action,
                &id,
                &current_version,
                "",
                &format!("refused: {why}"),
            );
            return Err(Status::failed_precondition(why));
        }
        let file_name = current
            .as_ref()
            .map_or_else(|| format!("{id}.rhai"), |r| r.file.clone());
        let tests_path = self.rules_dir.join(tests_name(&file_name));
        let tests = if change.tests.trim().is_empty() {
            std::fs::read_to_string(&tests_path).unwrap_or_default()
        } else {
            change.tests.clone()
        };
        let (compiled, results) = self
            .check(candidate(&file_name, &change.source, &tests))
            .await?;
        let test_results = test_results(results);
        let mut errors = Vec::new();
        match &compiled {
            Err(e) => errors.push(diagnostic(e)),
            Ok(rule) if rule.meta.id != id => errors.push(pb::Diagnostic {
                line: 0,
                column: 0,
                message: format!(
                    "the script declares id {:?}, but the request is for {id:?}",
                    rule.meta.id
                ),
            }),
            Ok(_) => {}
        }
        if let Some(failed) = test_results.iter().find(|t| !t.passed) {
            errors.push(pb::Diagnostic {
                line: 0,
                column: 0,
                message: format!("test case failed: {}", failed.message),
            });
        }
        let rule = match compiled {
            Ok(rule) if errors.is_empty() => rule,
            _ => {
                self.changed(
                    who,
                    action,
                    &id,
                    &current_version,
                    "",
                    &format!("refused: {}", errors[0].message),
                );
                return Ok(Response::new(pb::PutRuleResponse {
                    accepted: false,
                    version: current_version,
                    errors,
                    tests: test_results,
                    ruleset_version: set.version.clone(),
                }));
            }
        };
        // Keep the version being replaced restorable, even if it was edited in the directory.
        if let Some(cur) = &current
            && self
                .history
                .version(&id, &cur.version)
                .map_err(io_status)?
                .is_none()
        {
            self.history
                .record(
                    &id,
                    &cur.source,
                    cur.tests_source.as_deref(),
                    &Entry {
                        version: cur.version.clone(),
                        author: "file".into(),
                        time: rfc3339(cur_changed_at(self, &cur.file)),
                        comment: "version in the rules directory before this change".into(),
                        action: "file".into(),
                    },
                )
                .map_err(io_status)?;
        }
        if !change.tests.trim().is_empty() {
            write_atomic(&tests_path, change.tests.as_bytes()).map_err(io_status)?;
        }
        write_atomic(&self.rules_dir.join(&file_name), change.source.as_bytes())
            .map_err(io_status)?;
        self.history
            .record(
                &id,
                &change.source,
                (!tests.is_empty()).then_some(tests.as_str()),
                &Entry {
                    version: rule.version.clone(),
                    author: who.to_string(),
                    time: rfc3339(SystemTime::now()),
                    comment: change.comment.clone(),
                    action: change.action.to_string(),
                },
            )
            .map_err(io_status)?;
        let ruleset_version = self.reload().await?;
        let active = self
            .registry
            .snapshot()
            .get(&id)
            .map(|r| r.version.clone())
            .unwrap_or_default();
        let accepted = active == rule.version;
        self.changed(
            who,
            action,
            &id,
            &current_version,
            &active,
            if accepted {
                "ok"
            } else {
                "written but not active"
            },
        );
        Ok(Response::new(pb::PutRuleResponse {
            accepted,
            version: active,
            errors,
            tests: test_results,
            ruleset_version,
        }))
    }

    /// Disable, enable or delete a rule.
    pub(super) async fn action(
        &self,
        request: tonic::Request<pb::RuleActionRequest>,
        name: &'static str,
        action: Action,
    ) -> Result<Response<pb::RuleActionResponse>, Status> {
        let id = request.get_ref().id.trim().to_string();
        let who = self.admit(&request, super::auth::Role::Editor, name, &id)?;
        let comment = request.into_inner().comment;
        let _edit = self.edit_lock.lock().await;
        let current = self.registry.snapshot().get(&id).cloned();
        let entry = |version: &str, what: &str| Entry {
            version: version.to_string(),
            author: who.clone(),
            time: rfc3339(SystemTime::now()),
            comment: comment.clone(),
            action: what.to_string(),
        };
        match (action, current) {
            (Action::Disable | Action::Delete, Some(rule)) => {
                let what = if action == Action::Disable {
                    "disable"
                } else {
                    "delete"
                };
                // Recorded first: whatever happens to the file, the version stays restorable.
                self.history
                    .record(
                        &id,
                        &rule.source,
                        rule.tests_source.as_deref(),
                        &entry(&rule.version, what),
                    )
                    .map_err(io_status)?;
                let path = self.rules_dir.join(&rule.file);
                if action == Action::Disable {
                    std::fs::rename(
                        &path,
                        self.rules_dir.join(format!("{}.disabled", rule.file)),
                    )
                    .map_err(io_status)?;
                } else {
                    std::fs::remove_file(&path).map_err(io_status)?;
                    let _ = std::fs::remove_file(self.rules_dir.join(tests_name(&rule.file)));
                }
            }
            (Action::Enable, Some(_)) => {
                self.done(&who, name, &id, "already enabled");
                return Err(Status::failed_precondition(format!(
                    "rule {id:?} is already enabled"
                )));
            }
            (Action::Enable, None) => {
                let Some(path) = self.disabled_file(&id) else {
                    self.done(&who, name, &id, "not found");
                    return Err(Status::not_found(format!("no disabled rule has id {id:?}")));
                };
                let text = std::fs::read_to_string(&path).map_err(io_status)?;
                let target = path.with_extension("");
                let file_name = target
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("rule.rhai")
                    .to_string();
                let tests = std::fs::read_to_string(self.rules_dir.join(tests_name(&file_name)))
                    .unwrap_or_default();
                let (compiled, results) = self.check(candidate(&file_name, &text, &tests)).await?;
                let failed = results.iter().find_map(|(_, r)| r.clone().err());
                let rule = match (compiled, failed) {
                    (Ok(rule), None) => rule,
                    (Err(e), _) => {
                        self.done(&who, name, &id, "refused: does not compile");
                        return Err(Status::failed_precondition(format!(
                            "the disabled rule no longer loads: {e}"
                        )));
                    }
                    (Ok(_), Some(why)) => {
                        self.done(&who, name, &id, "refused: tests fail");
                        return Err(Status::failed_precondition(format!(
                            "the disabled rule's tests fail: {why}"
                        )));
                    }
                };
                std::fs::rename(&path, &target).map_err(io_status)?;
                self.history
                    .record(&id, &text, None, &entry(&rule.version, "enable"))
                    .map_err(io_status)?;
            }
            (_, None) => {
                self.done(&who, name, &id, "not found");
                return Err(Status::not_found(format!("no active rule has id {id:?}")));
            }
        }
        let ruleset_version = self.reload().await?;
        self.done(&who, name, &id, "ok");
        Ok(Response::new(pb::RuleActionResponse { ruleset_version }))
    }
}

fn cur_changed_at(svc: &AdminService, file: &str) -> SystemTime {
    svc.status_of(file)
        .map_or_else(SystemTime::now, |s| s.changed_at)
}
