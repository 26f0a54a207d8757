//! Running one rule as production would, outside the scrub pipeline: its own test cases
//! (before a rule is activated, and in `claimscrub rules test`) and dry runs on sample
//! claims (the admin API).

use std::sync::Arc;

use chrono::NaiveDate;

use super::cases::{self, TestCase};
use super::{CompiledRule, RuleKind};
use crate::claim::Claim;
use crate::engine::{Evaluator, ScriptClaim};
use crate::finding::{Finding, RuleFailure};
use crate::history::Lookup;
use crate::pricing::{self, PricingSettings};
use crate::tables::Tables;

/// Runs one rule on one claim as production would: a claim outside the rule's declared
/// scope or effective dates gets no findings, and a reimbursement rule never makes any.
pub fn run_on(
    evaluator: &Evaluator,
    rule: &CompiledRule,
    claim: &Arc<Claim>,
    as_of: NaiveDate,
    tables: &Arc<Tables>,
) -> Result<Vec<Finding>, RuleFailure> {
    run_with_history(evaluator, rule, claim, as_of, tables, Lookup::default())
}

/// [`run_on`] with the patient history `history`.
fn run_with_history(
    evaluator: &Evaluator,
    rule: &CompiledRule,
    claim: &Arc<Claim>,
    as_of: NaiveDate,
    tables: &Arc<Tables>,
    history: Lookup,
) -> Result<Vec<Finding>, RuleFailure> {
    if rule.meta.kind != RuleKind::Edit || !rule.meta.applies(claim) {
        return Ok(Vec::new());
    }
    evaluator.run_rule(
        rule,
        &ScriptClaim::with_history(claim.clone(), as_of, tables.clone(), history),
    )
}

/// Runs a rule's own test cases: each case's name and its outcome (`Err` says why it
/// failed).
pub fn run_cases(
    evaluator: &Evaluator,
    rule: &CompiledRule,
    tables: &Arc<Tables>,
) -> Vec<(String, Result<(), String>)> {
    rule.cases
        .iter()
        .map(|case| {
            let outcome = match rule.meta.kind {
                RuleKind::Reimbursement => price_case(evaluator, rule, case, tables),
                RuleKind::Edit => match run_with_history(
                    evaluator,
                    rule,
                    &case.claim,
                    case.as_of,
                    tables,
                    case.history.clone().map_or_else(
                        || Lookup::off("this test case gives no \"history\""),
                        Lookup::fixed,
                    ),
                ) {
                    Ok(findings) => cases::check_case(case, &findings).map_err(|e| {
                        // A case that fails because the rule never ran says why it did not.
                        match rule.meta.why_not(&case.claim) {
                            Some(why) => format!("{e} — the rule did not run on this claim: {why}"),
                            None => e,
                        }
                    }),
                    Err(f) => Err(failed(case, &f)),
                },
            };
            (case.name.clone(), outcome)
        })
        .collect()
}

/// A payer contract's case: the case claim priced with national Medicare amounts and, when
/// the contract applies to it, the contract's terms — the pricing steps of a scrub.
fn price_case(
    evaluator: &Evaluator,
    rule: &CompiledRule,
    case: &TestCase,
    tables: &Arc<Tables>,
) -> Result<(), String> {
    let settings = PricingSettings::default();
    let medicare = pricing::medicare_prices(&case.claim, tables, &settings);
    let contract = if rule.meta.applies(&case.claim) {
        let view = ScriptClaim::new(case.claim.clone(), case.as_of, tables.clone());
        match evaluator.contract_terms(rule, &view, &medicare) {
            (_, Some(f)) => return Err(failed(case, &f)),
            (contract, None) => Some(contract),
        }
    } else {
        None
    };
    let priced = pricing::price(&case.claim, &settings, medicare, contract.as_ref(), &[]);
    cases::check_prices(case, &priced.lines)
}

fn failed(case: &TestCase, f: &RuleFailure) -> String {
    format!("case {:?}: the rule failed: {}", case.name, f.message)
}
