//! The rule engine: a sandboxed Rhai `Engine`, the script-facing claim API, and the evaluator
//! that runs a rule set over a claim with per-rule budgets.

pub mod collect;
pub mod contract;
pub mod hints;
pub mod pool;
pub mod sandbox;
pub mod script_api;
pub mod table_api;

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, Scope};

use crate::claim::Claim;
use crate::finding::{FailureKind, Finding, RuleFailure};
use crate::rules::compile::CHECK_FN;
use crate::rules::{CompiledRule, RuleKind, RuleSet, cases};
use crate::tables::Tables;

pub use pool::EvalPool;
pub use sandbox::EngineLimits;
pub use script_api::ScriptClaim;

thread_local! {
    /// Wall-clock deadline of the rule running on this thread (evaluation is synchronous on
    /// one thread, so the progress callback can read it without locks).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Token the progress callback returns when a rule runs past its deadline.
const TIMEOUT_TOKEN: &str = "rule time budget exceeded";

/// Called by Rhai every operation; checks the clock every 256 operations.
fn progress(ops: u64) -> Option<Dynamic> {
    if !ops.is_multiple_of(256) {
        return None;
    }
    DEADLINE.with(|d| match d.get() {
        Some(deadline) if Instant::now() >= deadline => Some(Dynamic::from(TIMEOUT_TOKEN)),
        _ => None,
    })
}

/// The result of scoring one claim with one rule set.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Findings of every rule, in rule id order, then line order.
    pub findings: Vec<Finding>,
    /// Rules that failed on this claim.
    pub failures: Vec<RuleFailure>,
    /// Rules evaluated (after scope filtering).
    pub rules_evaluated: u32,
}

/// Runs rules over claims. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Evaluator {
    engine: Arc<Engine>,
    timeout: Duration,
}

impl Evaluator {
    /// Builds the sandboxed engine with `limits`.
    pub fn new(limits: &EngineLimits) -> Self {
        let mut engine = sandbox::build_engine(limits);
        engine.on_progress(progress);
        Self {
            engine: Arc::new(engine),
            timeout: limits.rule_timeout,
        }
    }

    /// The shared engine (for compiling rules).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs one rule's `check` on a prepared claim.
    pub fn run_rule(
        &self,
        rule: &CompiledRule,
        claim: &ScriptClaim,
    ) -> Result<Vec<Finding>, RuleFailure> {
        let fail = |kind, message| RuleFailure {
            rule_id: rule.meta.id.clone(),
            rule_version: rule.version.clone(),
            kind,
            message,
        };
        let _current = table_api::CurrentClaim::enter(claim);
        DEADLINE.with(|d| d.set(Some(Instant::now() + self.timeout)));
        let result = self.engine.call_fn_with_options::<Dynamic>(
            CallFnOptions::new().eval_ast(false).rewind_scope(true),
            &mut Scope::new(),
            &rule.ast,
            CHECK_FN,
            (claim.clone(),),
        );
        DEADLINE.with(|d| d.set(None));
        match result {
            Ok(value) => {
                collect::findings(rule, claim, value).map_err(|m| fail(FailureKind::Error, m))
            }
            Err(e) => Err(fail(failure_kind(&e), describe_error(&e))),
        }
    }

    /// Scores `claim` with every applicable rule of `set`.
    pub fn scrub(
        &self,
        set: &RuleSet,
        tables: Arc<Tables>,
        claim: Arc<Claim>,
        as_of: NaiveDate,
    ) -> Evaluation {
        self.scrub_prepared(set, &ScriptClaim::new(claim, as_of, tables))
    }

    /// Scores a prepared claim with every applicable edit rule of `set`.
    pub fn scrub_prepared(&self, set: &RuleSet, script_claim: &ScriptClaim) -> Evaluation {
        let mut out = Evaluation::default();
        for rule in set.candidates(script_claim.claim()) {
            out.rules_evaluated += 1;
            let started = Instant::now();
            let outcome = self.run_rule(rule, script_claim);
            rule.metrics.eval_seconds(started.elapsed().as_secs_f64());
            match outcome {
                Ok(mut f) => {
                    f.iter().for_each(|f| rule.metrics.finding(f.severity));
                    out.findings.append(&mut f);
                }
                Err(failure) => {
                    rule.metrics.failure(failure.kind);
                    out.failures.push(failure);
                }
            }
        }
        out
    }

    /// Runs one rule on one claim as production would: a claim outside the rule's declared
    /// scope or effective dates gets no findings, and a reimbursement rule never makes any.
    pub fn run_on(
        &self,
        rule: &CompiledRule,
        claim: &Arc<Claim>,
        as_of: NaiveDate,
        tables: &Arc<Tables>,
    ) -> Result<Vec<Finding>, RuleFailure> {
        if rule.meta.kind != RuleKind::Edit || !rule.meta.applies(claim) {
            return Ok(Vec::new());
        }
        self.run_rule(
            rule,
            &ScriptClaim::new(claim.clone(), as_of, tables.clone()),
        )
    }

    /// Runs a rule's own test cases: each case's name and its outcome (`Err` says why it
    /// failed).
    pub fn run_cases(
        &self,
        rule: &CompiledRule,
        tables: &Arc<Tables>,
    ) -> Vec<(String, Result<(), String>)> {
        rule.cases
            .iter()
            .map(|case| {
                if rule.meta.kind == RuleKind::Reimbursement {
                    let claim = ScriptClaim::new(case.claim.clone(), case.as_of, tables.clone());
                    let medicare = crate::pricing::medicare::price_claim(&case.claim, tables, None);
                    let priced = if rule.meta.applies(&case.claim) {
                        self.price_with(rule, &claim, medicare)
                    } else {
                        contract::Priced {
                            lines: medicare,
                            ..Default::default()
                        }
                    };
                    let outcome = match priced.failure {
                        Some(f) => Err(format!(
                            "case {:?}: the rule failed: {}",
                            case.name, f.message
                        )),
                        None => cases::check_prices(case, &priced.lines),
                    };
                    return (case.name.clone(), outcome);
                }
                let outcome = match self.run_on(rule, &case.claim, case.as_of, tables) {
                    Ok(findings) => cases::check_case(case, &findings),
                    Err(f) => Err(format!(
                        "case {:?}: the rule failed: {}",
                        case.name, f.message
                    )),
                };
                (case.name.clone(), outcome)
            })
            .collect()
    }
}

/// Innermost error of a chain of function-call errors.
fn innermost(e: &EvalAltResult) -> &EvalAltResult {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => innermost(inner),
        other => other,
    }
}

fn failure_kind(e: &EvalAltResult) -> FailureKind {
    match innermost(e) {
        EvalAltResult::ErrorTerminated(..) => FailureKind::Timeout,
        EvalAltResult::ErrorTooManyOperations(..)
        | EvalAltResult::ErrorStackOverflow(..)
        | EvalAltResult::ErrorDataTooLarge(..)
        | EvalAltResult::ErrorTooManyVariables(..)
        | EvalAltResult::ErrorTooManyModules(..) => FailureKind::LimitExceeded,
        _ => FailureKind::Error,
    }
}

/// A rule author's description of a script error: what happened and where.
pub fn describe_error(e: &EvalAltResult) -> String {
    let inner = innermost(e);
    let what = match inner {
        EvalAltResult::ErrorTerminated(..) => format!("{TIMEOUT_TOKEN} (the rule ran too long)"),
        EvalAltResult::ErrorTooManyOperations(..) => {
            "operation limit exceeded (endless loop?)".to_string()
        }
        EvalAltResult::ErrorStackOverflow(..) => {
            "call depth limit exceeded (endless recursion?)".to_string()
        }
        EvalAltResult::ErrorFunctionNotFound(sig, _) => {
            let name = sig.split(['(', ' ']).next().unwrap_or(sig);
            format!("unknown function `{name}`{}", hints::for_function(name))
        }
        EvalAltResult::ErrorPropertyNotFound(name, _) => {
            format!("unknown property `{name}`{}", hints::for_property(name))
        }
        EvalAltResult::ErrorDotExpr(msg, _) if msg.contains("Unknown property '") => {
            let name = msg.split('\'').nth(1).unwrap_or("");
            format!("unknown property `{name}`{}", hints::for_property(name))
        }
        other => {
            let mut s = other.to_string();
            // Rhai appends the position itself; we print ours uniformly below.
            if let Some(cut) = s.rfind(" (line ") {
                s.truncate(cut);
            }
            s
        }
    };
    let pos = inner.position();
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("line {l}, col {c}: {what}"),
        (Some(l), None) => format!("line {l}: {what}"),
        _ => what,
    }
}
