//! Editing rules: validate, put (with optimistic concurrency), rollback, disable, enable,
//! delete, shadow and activate. Every accepted change is written to the rule store — where every replica's
//! watcher picks it up — recorded in the history and audited. Blocking: run on a blocking
//! thread.

use std::sync::Arc;
use std::time::SystemTime;

use super::history::Entry;
use super::{Admin, AdminError, rfc3339};
use crate::claim;
use crate::finding::FailureKind;
use crate::proto::v1 as pb;
use crate::registry::CaseResults;
use crate::registry::RuleRegistry;
use crate::rules::meta::RuleKind;
use crate::rules::{CompiledRule, RuleFile, RuleLoadError};
use crate::store::{Move, Put, PutError, Retire, tests_name};

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
    /// Switch the rule off (its file is kept).
    Disable,
    /// Validate and switch it back on.
    Enable,
    /// Remove the files (the history keeps every version).
    Delete,
    /// Run it in shadow: evaluated and recorded, never scored (a disabled rule is validated
    /// and enabled in shadow).
    Shadow,
    /// Make a rule in shadow (or a disabled one, validated) score claims.
    Activate,
}

impl Action {
    /// The RPC name, for the audit log.
    pub fn rpc(self) -> &'static str {
        match self {
            Action::Disable => "DisableRule",
            Action::Enable => "EnableRule",
            Action::Delete => "DeleteRule",
            Action::Shadow => "ShadowRule",
            Action::Activate => "ActivateRule",
        }
    }

    fn history_action(self) -> &'static str {
        match self {
            Action::Disable => "disable",
            Action::Enable => "enable",
            Action::Delete => "delete",
            Action::Shadow => "shadow",
            Action::Activate => "activate",
        }
    }
}

/// Why a change was refused because the rule changed meanwhile.
fn stale_why(id: &str, current: &str, by: &str, loaded: &str) -> String {
    format!(
        "rule {id:?} was changed{} to version {current} since this replica loaded version {loaded}; try again",
        if by.is_empty() {
            String::new()
        } else {
            format!(" by {by}")
        }
    )
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

/// A rule id a request may name: the rule id syntax (lower-case letters, digits, `-`, `_`,
/// `.`; not starting with `.`; at most 64 characters). Anything else is a bad request, never
/// a file name.
fn check_id(id: &str) -> Result<(), AdminError> {
    if super::history::valid_id(id) && id.len() <= 64 {
        Ok(())
    } else {
        Err(AdminError::Invalid {
            field: "id",
            message: format!(
                "{id:?} is not a rule id (lower-case letters, digits, -, _ and ., not starting with ., at most 64 characters)"
            ),
        })
    }
}

/// Most sample claims one ValidateRule runs (each within the rule's time budget).
const MAX_SAMPLES: usize = 100;

/// A rule file as the registry would read it from the store.
pub(super) fn candidate(name: &str, source: &str, tests: &str) -> RuleFile {
    RuleFile {
        name: name.to_string(),
        source: Ok(source.to_string()),
        tests: (!tests.trim().is_empty()).then(|| (tests_name(name), Ok(tests.to_string()))),
        shadow: false,
    }
}

/// One sample claim to dry-run: its request, or why it could not be read from the X12 or
/// FHIR input it came in (claim id, problem).
type Sample = Result<pb::ScrubClaimRequest, (String, String)>;

/// The sample claims of a ValidateRule request: `sample_claims`, then the claims read from
/// `sample_x12` and from `sample_fhir`, at most [`MAX_SAMPLES`] in all. An input that cannot
/// be read at all (a broken envelope, JSON that is not a Claim) is an error naming its field;
/// a single claim in it that cannot be mapped is a sample result with that problem.
fn samples(req: &pb::ValidateRuleRequest) -> Result<Vec<Sample>, AdminError> {
    let mut out: Vec<Sample> = req.sample_claims.iter().cloned().map(Ok).collect();
    if !req.sample_x12.is_empty() {
        let read = crate::x12::read_837(&req.sample_x12).map_err(|e| AdminError::Invalid {
            field: "sample_x12",
            message: e.to_string(),
        })?;
        out.extend(read.iter().map(|r| {
            crate::x12::results::request(r, "").ok_or_else(|| {
                (
                    r.claim_id.clone(),
                    r.claim.clone().err().unwrap_or_default(),
                )
            })
        }));
    }
    if !req.sample_fhir.trim().is_empty() {
        let read = crate::fhir::read(&req.sample_fhir).map_err(|e| AdminError::Invalid {
            field: "sample_fhir",
            message: e.to_string(),
        })?;
        out.extend(read.iter().map(|r| {
            crate::fhir::results::request(r, "").ok_or_else(|| {
                let problems: Vec<String> = r
                    .problems
                    .iter()
                    .map(|(p, m)| format!("{p}: {m}"))
                    .collect();
                (r.claim_id.clone(), problems.join("; "))
            })
        }));
    }
    if out.len() > MAX_SAMPLES {
        return Err(AdminError::Invalid {
            field: "sample_claims",
            message: format!(
                "{} sample claims sent (in sample_claims, sample_x12 and sample_fhir together); at most {MAX_SAMPLES} are run",
                out.len()
            ),
        });
    }
    Ok(out)
}

/// The checks of a proposed script: compile, its tests, and the sample claims.
fn validate(
    registry: &RuleRegistry,
    req: &pb::ValidateRuleRequest,
) -> Result<pb::ValidateRuleResponse, AdminError> {
    let inputs = samples(req)?;
    let (compiled, results) =
        registry.check_candidate(&candidate("proposed.rhai", &req.source, &req.tests));
    let tests = test_results(results);
    let rule = match compiled {
        Ok(rule) => rule,
        Err(e) => {
            return Ok(pb::ValidateRuleResponse {
                valid: false,
                errors: vec![diagnostic(&e)],
                tests,
                ..Default::default()
            });
        }
    };
    let limits = claim::Limits {
        max_lines: 10_000,
        max_string_len: 256,
    };
    let mut samples = Vec::new();
    let mut prepared = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        let r = match input {
            Ok(r) => r,
            Err((claim_id, problem)) => {
                samples.push((
                    i,
                    pb::SampleResult {
                        claim_id,
                        findings: vec![],
                        error: format!("invalid sample claim: {problem}"),
                    },
                ));
                continue;
            }
        };
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
    // A rule that fails on a sample claim would fail on real claims like it: not valid.
    let failed_samples: Vec<pb::Diagnostic> = samples
        .iter()
        .filter(|(_, s)| !s.error.is_empty() && !s.error.starts_with("invalid sample claim"))
        .map(|(_, s)| pb::Diagnostic {
            line: 0,
            column: 0,
            message: format!(
                "the rule fails on sample claim {}: {} — it would fail the same way on real claims",
                s.claim_id, s.error
            ),
        })
        .collect();
    Ok(pb::ValidateRuleResponse {
        valid: tests.iter().all(|t| t.passed) && failed_samples.is_empty(),
        errors: failed_samples,
        tests,
        samples: samples.into_iter().map(|(_, s)| s).collect(),
        rule_id: rule.meta.id.clone(),
        version: rule.version.clone(),
    })
}

impl Admin {
    /// Compiles, tests and dry-runs a proposed script. Changes nothing.
    pub fn validate(
        &self,
        who: &str,
        req: &pb::ValidateRuleRequest,
    ) -> Result<pb::ValidateRuleResponse, AdminError> {
        let resp = match validate(&self.registry, req) {
            Ok(r) => r,
            Err(e) => {
                self.done(who, "ValidateRule", "", "bad samples");
                return Err(e);
            }
        };
        self.done(
            who,
            "ValidateRule",
            &resp.rule_id,
            if resp.valid { "ok" } else { "invalid" },
        );
        Ok(resp)
    }

    /// Restores a stored version of a rule (it must still compile and pass its tests).
    pub fn rollback(
        &self,
        who: &str,
        id: &str,
        version: &str,
        comment: String,
    ) -> Result<pb::PutRuleResponse, AdminError> {
        check_id(id)?;
        let Some((source, tests)) = self
            .store
            .version(id, version)
            .map_err(self.store_error("read"))?
        else {
            self.done(who, "RollbackRule", id, "unknown version");
            return Err(AdminError::NotFound(format!(
                "rule {id:?} has no stored version {version:?}; see GetRuleHistory"
            )));
        };
        let change = Change {
            id: id.to_string(),
            source,
            tests: tests.unwrap_or_default(),
            comment,
            action: "rollback",
        };
        self.put(who, "RollbackRule", change, None)
    }

    /// Puts a new version of a rule: refused (with the reasons) unless it compiles, declares
    /// the id, passes its tests and — when `expected` is given — replaces that version.
    pub fn put(
        &self,
        who: &str,
        action: &str,
        change: Change,
        expected: Option<String>,
    ) -> Result<pb::PutRuleResponse, AdminError> {
        check_id(&change.id)?;
        let _edit = self.lock_edits();
        let id = change.id.clone();
        let set = self.registry.snapshot();
        let current = set.get(&id).cloned();
        let current_version = current
            .as_ref()
            .map(|r| r.version.clone())
            .unwrap_or_default();
        let refused = |why: &str| {
            let outcome = format!("refused: {why}");
            self.audit(who, action, &id, &current_version, "", &outcome);
        };
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
            refused(&why);
            return Err(AdminError::precondition("STALE_VERSION", &id, why));
        }
        let file_name = current
            .as_ref()
            .map_or_else(|| format!("{id}.rhai"), |r| r.file.clone());
        let tests = if change.tests.trim().is_empty() {
            self.store
                .read_tests(&file_name)
                .map_err(self.store_error("read"))?
                .unwrap_or_default()
        } else {
            change.tests.clone()
        };
        let (compiled, results) =
            self.registry
                .check_candidate(&candidate(&file_name, &change.source, &tests));
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
                refused(&errors[0].message);
                return Ok(pb::PutRuleResponse {
                    accepted: false,
                    version: current_version,
                    errors,
                    tests: test_results,
                    ruleset_version: set.version.clone(),
                });
            }
        };
        if let Some(cur) = &current
            && let Err(e) = self.keep_restorable(cur)
        {
            self.audit(who, action, &id, &current_version, "", &e.outcome());
            return Err(e);
        }
        let entry = Entry {
            version: rule.version.clone(),
            author: who.to_string(),
            time: rfc3339(SystemTime::now()),
            comment: change.comment.clone(),
            action: change.action.to_string(),
        };
        let put = Put {
            file: &file_name,
            id: &id,
            source: &change.source,
            tests: (!change.tests.trim().is_empty()).then_some(change.tests.as_str()),
            history_tests: (!tests.is_empty()).then_some(tests.as_str()),
            // What was validated against: a shared store refuses the write if another
            // replica changed the rule in the meantime.
            expected: Some(current_version.as_str()),
            entry: &entry,
        };
        match self.store.put(&put) {
            Ok(()) => {}
            Err(PutError::Stale { current, by }) => {
                let who_did = if by.is_empty() {
                    String::new()
                } else {
                    format!(" by {by}")
                };
                let why = format!(
                    "rule {id:?} was changed{who_did} to version {current} while this change was checked; reload it and apply your change again"
                );
                refused(&why);
                return Err(AdminError::precondition("STALE_VERSION", &id, why));
            }
            Err(PutError::Io(e)) => {
                let e = self.store_error("write")(e);
                self.audit(who, action, &id, &current_version, "", &e.outcome());
                return Err(e);
            }
        }
        let ruleset_version = self.reload()?;
        let active = self
            .registry
            .snapshot()
            .get(&id)
            .map(|r| r.version.clone())
            .unwrap_or_default();
        let accepted = active == rule.version;
        self.audit(
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
        Ok(pb::PutRuleResponse {
            accepted,
            version: active,
            errors,
            tests: test_results,
            ruleset_version,
        })
    }

    /// Keeps the version being replaced restorable, even if it was edited in the store
    /// directly (no history entry yet).
    fn keep_restorable(&self, cur: &CompiledRule) -> Result<(), AdminError> {
        let id = &cur.meta.id;
        if self
            .store
            .version(id, &cur.version)
            .map_err(self.store_error("read"))?
            .is_some()
        {
            return Ok(());
        }
        let changed_at = self
            .status_of(&cur.file)
            .map_or_else(SystemTime::now, |s| s.changed_at);
        self.store
            .record(
                id,
                &cur.source,
                cur.tests_source.as_deref(),
                &Entry {
                    version: cur.version.clone(),
                    author: "file".into(),
                    time: rfc3339(changed_at),
                    comment: "version in the rules directory before this change".into(),
                    action: "file".into(),
                },
            )
            .map_err(self.store_error("write"))
    }

    /// Disables, enables or deletes a rule.
    pub fn act(
        &self,
        who: &str,
        id: &str,
        action: Action,
        comment: String,
    ) -> Result<pb::RuleActionResponse, AdminError> {
        check_id(id)?;
        let result = self.act_on_store(who, id, action, comment);
        if let Err(e @ AdminError::Store { .. }) = &result {
            // Refusals are audited where they are decided; a store that fails is audited here.
            self.done(who, action.rpc(), id, &e.outcome());
        }
        result
    }

    fn act_on_store(
        &self,
        who: &str,
        id: &str,
        action: Action,
        comment: String,
    ) -> Result<pb::RuleActionResponse, AdminError> {
        let name = action.rpc();
        let _edit = self.lock_edits();
        let current = self.registry.snapshot().get(id).cloned();
        let entry = |version: &str| Entry {
            version: version.to_string(),
            author: who.to_string(),
            time: rfc3339(SystemTime::now()),
            comment: comment.clone(),
            action: action.history_action().to_string(),
        };
        match (action, current) {
            (Action::Disable | Action::Delete, Some(rule)) => {
                // Recorded first: whatever happens to the file, the version stays restorable.
                let entry = entry(&rule.version);
                let retire = Retire {
                    file: &rule.file,
                    id,
                    source: &rule.source,
                    tests: rule.tests_source.as_deref(),
                    version: &rule.version,
                    delete: action == Action::Delete,
                    entry: &entry,
                };
                self.stored(who, name, id, &rule.version, self.store.retire(&retire))?;
            }
            (Action::Enable, Some(_)) => {
                self.done(who, name, id, "already enabled");
                return Err(AdminError::precondition(
                    "ALREADY_ENABLED",
                    id,
                    format!("rule {id:?} is already enabled"),
                ));
            }
            (Action::Shadow | Action::Activate, Some(rule)) => {
                let to_shadow = action == Action::Shadow;
                if rule.shadow == to_shadow {
                    let (reason, state) = if to_shadow {
                        ("ALREADY_SHADOW", "in shadow")
                    } else {
                        ("ALREADY_ACTIVE", "active")
                    };
                    self.done(who, name, id, &format!("already {state}"));
                    return Err(AdminError::precondition(
                        reason,
                        id,
                        format!("rule {id:?} is already {state}"),
                    ));
                }
                if to_shadow && rule.meta.kind != RuleKind::Edit {
                    self.done(who, name, id, "refused: a payer contract");
                    return Err(AdminError::precondition(
                        "NOT_AN_EDIT",
                        id,
                        format!(
                            "rule {id:?} is a payer contract (kind \"reimbursement\"); only edit rules can run in shadow"
                        ),
                    ));
                }
                let entry = entry(&rule.version);
                let shift = Move {
                    file: &rule.file,
                    id,
                    source: &rule.source,
                    tests: rule.tests_source.as_deref(),
                    version: &rule.version,
                    shadow: to_shadow,
                    entry: &entry,
                };
                self.stored(who, name, id, &rule.version, self.store.shift(&shift))?;
            }
            (Action::Enable | Action::Shadow | Action::Activate, None) => {
                let disabled = self.store.disabled().map_err(self.store_error("read"))?;
                let found = disabled.into_iter().find_map(|d| {
                    let rule = self
                        .registry
                        .compile(&candidate(&d.file, &d.source, ""))
                        .ok()?;
                    (rule.meta.id == id).then_some(d)
                });
                let Some(d) = found else {
                    self.done(who, name, id, "not found");
                    return Err(AdminError::NotFound(format!(
                        "no enabled or disabled rule has id {id:?}"
                    )));
                };
                let shadow = action == Action::Shadow;
                let tests = d.tests.clone().unwrap_or_default();
                let mut file = candidate(&d.file, &d.source, &tests);
                file.shadow = shadow;
                let (compiled, results) = self.registry.check_candidate(&file);
                let failed = results.iter().find_map(|(_, r)| r.clone().err());
                let rule = match (compiled, failed) {
                    (Ok(rule), None) => rule,
                    (Err(e), _) => {
                        self.done(who, name, id, "refused: does not compile");
                        return Err(AdminError::precondition(
                            "DOES_NOT_LOAD",
                            id,
                            format!("the disabled rule no longer loads: {e}"),
                        ));
                    }
                    (Ok(_), Some(why)) => {
                        self.done(who, name, id, "refused: tests fail");
                        return Err(AdminError::precondition(
                            "TESTS_FAIL",
                            id,
                            format!("the disabled rule's tests fail: {why}"),
                        ));
                    }
                };
                self.store
                    .enable(&d.file, shadow)
                    .map_err(self.store_error("write"))?;
                self.store
                    .record(id, &d.source, None, &entry(&rule.version))
                    .map_err(self.store_error("write"))?;
            }
            (_, None) => {
                self.done(who, name, id, "not found");
                return Err(AdminError::NotFound(format!(
                    "no active rule has id {id:?}"
                )));
            }
        }
        let ruleset_version = self.reload()?;
        self.done(who, name, id, "ok");
        Ok(pb::RuleActionResponse { ruleset_version })
    }

    /// The outcome of a version-checked store write of rule `id` (loaded at `loaded`): a
    /// stale version is refused (and audited) naming who changed it.
    fn stored(
        &self,
        who: &str,
        rpc: &str,
        id: &str,
        loaded: &str,
        result: Result<(), PutError>,
    ) -> Result<(), AdminError> {
        match result {
            Ok(()) => Ok(()),
            Err(PutError::Stale { current, by }) => {
                let why = stale_why(id, &current, &by, loaded);
                self.done(who, rpc, id, &format!("refused: {why}"));
                Err(AdminError::precondition("STALE_VERSION", id, why))
            }
            Err(PutError::Io(e)) => Err(self.store_error("write")(e)),
        }
    }

    /// Reloads the registry from the store now (the watcher would, a moment later). The
    /// change was made on purpose, so it may shrink the rule set.
    fn reload(&self) -> Result<String, AdminError> {
        match self.registry.reload_explicit() {
            Ok(report) => Ok(report.version),
            Err(e) => {
                // The change is stored; the watcher (or the next rescan) activates it.
                tracing::warn!(error = %e, "change stored; reload after it failed, the watcher retries");
                Ok(self.registry.snapshot().version.clone())
            }
        }
    }
}
