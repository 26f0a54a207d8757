//! The rule engine: a sandboxed Rhai `Engine`, the script-facing claim API, and the evaluator
//! that runs rule scripts over a claim with per-rule budgets. It only runs scripts: edit
//! rules return findings, payer contracts return terms ([`crate::pricing::Term`]); what the
//! findings and terms mean for the claim is decided by `scoring` and `pricing`.

pub mod collect;
pub mod contract;
pub mod hints;
pub mod pool;
pub mod sandbox;
pub mod script_api;
pub mod table_api;
pub mod warm;

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rhai::{Dynamic, Engine, EvalAltResult};

use crate::claim::Claim;
use crate::finding::{FailureKind, Finding, RuleFailure};
use crate::rules::{CompiledRule, RuleSet};
use crate::tables::Tables;

pub use pool::EvalPool;
pub use sandbox::EngineLimits;
pub use script_api::ScriptClaim;
pub use warm::PerThread;

use warm::CallSite;

/// Name of the function every edit rule defines: `fn check(claim)` returns findings.
pub const CHECK_FN: &str = "check";
/// Name of the function a reimbursement rule without declared `terms` defines:
/// `fn price(claim, line, medicare)` returns a line's contract term.
pub const PRICE_FN: &str = "price";

thread_local! {
    /// Wall-clock deadline of the script call running on this thread (evaluation is
    /// synchronous on one thread, so the progress callback can read it without locks).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Sets this thread's script deadline; clears it when dropped (also on panic).
struct Deadline;

impl Deadline {
    fn start(budget: Duration) -> Self {
        Self::start_at(Instant::now(), budget)
    }

    /// The deadline `budget` after `started` (a clock reading the caller already has).
    fn start_at(started: Instant, budget: Duration) -> Self {
        DEADLINE.with(|d| d.set(Some(started + budget)));
        Deadline
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(None));
    }
}

/// Runs `f` with this thread's script deadline `budget` from now (for script code run
/// outside [`Evaluator::call`], such as a rule's header at compile time).
pub fn within<T>(budget: Duration, f: impl FnOnce() -> T) -> T {
    let _deadline = Deadline::start(budget);
    f()
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

/// The result of running a rule set's edit rules on one claim.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Findings of every rule, in rule id order, then line order.
    pub findings: Vec<Finding>,
    /// Rules that failed on this claim.
    pub failures: Vec<RuleFailure>,
    /// Rules evaluated (after scope filtering).
    pub rules_evaluated: u32,
}

/// Runs rule scripts over claims. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Evaluator {
    engine: Arc<Engine>,
    timeout: Duration,
    /// `check(claim)`, compiled once.
    check: Arc<CallSite>,
    /// `price(claim, line, medicare)`, compiled once.
    price: Arc<CallSite>,
}

impl Evaluator {
    /// Builds the sandboxed engine with `limits`.
    pub fn new(limits: &EngineLimits) -> Self {
        let mut engine = sandbox::build_engine(limits);
        engine.on_progress(progress);
        Self {
            check: Arc::new(CallSite::new(&engine, CHECK_FN, &["claim"])),
            price: Arc::new(CallSite::new(
                &engine,
                PRICE_FN,
                &["claim", "line", "medicare"],
            )),
            engine: Arc::new(engine),
            timeout: limits.rule_timeout,
        }
    }

    /// The shared engine (for compiling rules).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The one way a script function is called: with `claim` current for the table helpers,
    /// within the rule time budget, without re-running the script's top level, keeping the
    /// rule's copy and function-resolution caches on this thread ([`warm`]).
    fn call(
        &self,
        rule: &CompiledRule,
        claim: &ScriptClaim,
        site: &CallSite,
        args: impl IntoIterator<Item = Dynamic>,
        started: Instant,
    ) -> Result<Dynamic, RuleFailure> {
        // A thread's first call of a rule compiles its copy of the rule: not on the budget.
        let started = if rule.per_thread.prepare(&self.engine) {
            Instant::now()
        } else {
            started
        };
        let _current = table_api::CurrentClaim::enter(claim);
        let _deadline = Deadline::start_at(started, self.timeout);
        site.call(&self.engine, &rule.ast, &rule.per_thread, args)
            .map_err(|e| rule_failure(rule, failure_kind(&e), describe_error(&e)))
    }

    /// Runs one edit rule's `check` on a prepared claim: its findings.
    pub fn run_rule(
        &self,
        rule: &CompiledRule,
        claim: &ScriptClaim,
    ) -> Result<Vec<Finding>, RuleFailure> {
        self.run_rule_from(rule, claim, Instant::now())
    }

    /// [`Self::run_rule`] with its time budget counted from `started`.
    fn run_rule_from(
        &self,
        rule: &CompiledRule,
        claim: &ScriptClaim,
        started: Instant,
    ) -> Result<Vec<Finding>, RuleFailure> {
        let args = [Dynamic::from(claim.clone())];
        let value = self.call(rule, claim, &self.check, args, started)?;
        collect::findings(rule, claim, value).map_err(|m| rule_failure(rule, FailureKind::Error, m))
    }

    /// Scores `claim` with every applicable edit rule of `set` (tools and benchmarks).
    pub fn scrub(
        &self,
        set: &RuleSet,
        tables: Arc<Tables>,
        claim: Arc<Claim>,
        as_of: NaiveDate,
    ) -> Evaluation {
        self.run_edits(set, &ScriptClaim::new(claim, as_of, tables))
    }

    /// Runs every applicable edit rule of `set` on a prepared claim.
    pub fn run_edits(&self, set: &RuleSet, script_claim: &ScriptClaim) -> Evaluation {
        let mut out = Evaluation::default();
        for rule in set.candidates(script_claim.claim()) {
            out.rules_evaluated += 1;
            let started = Instant::now();
            let outcome = self.run_rule_from(rule, script_claim, started);
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
}

/// A failure of `rule`.
fn rule_failure(rule: &CompiledRule, kind: FailureKind, message: String) -> RuleFailure {
    RuleFailure {
        rule_id: rule.meta.id.clone(),
        rule_version: rule.version.clone(),
        kind,
        message,
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
