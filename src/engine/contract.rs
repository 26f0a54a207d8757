//! Payer contracts: running a reimbursement rule's `price(claim, line, medicare)` on each
//! line into [`Term`]s, and the money helpers contract scripts use. Applying the terms is
//! [`crate::pricing::contract`]'s job.
//!
//! `medicare` is a map: `allowed` (cents after every CMS adjustment and the lower-of-charge
//! rule, or `()` when Medicare cannot price the line), `fee` (cents before the lower-of rule,
//! or `()`), `priced` (bool), `reason` (why unpriced or zero) and `version` (the PFS tables
//! used). The Medicare calculation steps stay in the line's trace, before the contract's. `price` returns:
//! - `()` — the contract has no term for this line: the Medicare price stands;
//! - an integer — the contract amount in cents;
//! - `#{ amount: cents, trace: "…" }` — the amount with a trace step a biller can follow;
//! - `#{ unpriced: "why" }` — the contract cannot price this line.
//!
//! Pricing then applies the lower of charge and contract amount.

use std::time::Instant;

use rhai::{Dynamic, Engine, ImmutableString, Map};

use super::{Evaluator, ScriptClaim};
use crate::finding::{FailureKind, RuleFailure};
use crate::money::{format_cents, percent};
use crate::pricing::{Contract, LinePrice, Term};
use crate::rules::CompiledRule;

fn medicare_map(p: &LinePrice) -> Map {
    let cents = |c: Option<i64>| c.map_or(Dynamic::UNIT, Dynamic::from_int);
    let mut m = Map::new();
    m.insert("allowed".into(), cents(p.allowed_cents));
    m.insert("fee".into(), cents(p.fee_cents.or(p.allowed_cents)));
    m.insert(
        "priced".into(),
        Dynamic::from_bool(p.allowed_cents.is_some()),
    );
    m.insert("reason".into(), Dynamic::from(p.reason.clone()));
    m.insert("version".into(), Dynamic::from(p.schedule_version.clone()));
    m
}

fn term_of(value: Dynamic) -> Result<Term, String> {
    if value.is_unit() {
        return Ok(Term::Medicare);
    }
    if let Ok(cents) = value.as_int() {
        return amount(cents).map(|cents| Term::Price {
            cents,
            trace: String::new(),
        });
    }
    if value.is_float() {
        return Err("`price` returned a decimal number; return whole cents (an integer), e.g. `percent_of(medicare.fee, 115)` or `2500` for $25.00".into());
    }
    let Some(map) = value.read_lock::<Map>() else {
        return Err(format!(
            "`price` must return cents (an integer), #{{ amount: cents, trace: \"...\" }}, #{{ unpriced: \"why\" }} or () — not {}",
            value.type_name()
        ));
    };
    for key in map.keys() {
        if !matches!(key.as_str(), "amount" | "trace" | "unpriced") {
            return Err(format!(
                "unknown key `{key}` in the map `price` returned; allowed keys are: amount, trace, unpriced"
            ));
        }
    }
    let text = |key: &str| -> Result<String, String> {
        match map.get(key) {
            None => Ok(String::new()),
            Some(v) => v
                .clone()
                .into_immutable_string()
                .map(|s| s.to_string())
                .map_err(|t| format!("`{key}` must be a string, not {t}")),
        }
    };
    if map.contains_key("unpriced") {
        let why = text("unpriced")?;
        return Ok(Term::Unpriced(if why.is_empty() {
            "the contract does not price this line".into()
        } else {
            why
        }));
    }
    let cents = match map.get("amount") {
        None => return Err("the map `price` returned needs `amount` (cents) or `unpriced`".into()),
        Some(v) if v.is_float() => {
            return Err("`amount` is a decimal number; use whole cents (an integer)".into());
        }
        Some(v) => v
            .as_int()
            .map_err(|t| format!("`amount` must be whole cents (an integer), not {t}"))?,
    };
    Ok(Term::Price {
        cents: amount(cents)?,
        trace: text("trace")?,
    })
}

fn amount(cents: i64) -> Result<i64, String> {
    if cents < 0 {
        Err(format!("the contract amount {cents} is negative"))
    } else {
        Ok(cents)
    }
}

impl Evaluator {
    /// Runs a reimbursement rule's `price` on every line: the contract's terms, in line order,
    /// or why the rule failed. `medicare` is each line's Medicare PFS price (the scripts'
    /// `medicare` argument).
    pub fn contract_terms(
        &self,
        rule: &CompiledRule,
        claim: &ScriptClaim,
        medicare: &[LinePrice],
    ) -> (Contract, Option<RuleFailure>) {
        let started = Instant::now();
        let outcome = self.run_contract(rule, claim, medicare);
        rule.metrics.eval_seconds(started.elapsed().as_secs_f64());
        let (terms, failure) = match outcome {
            Ok(terms) => (Ok(terms), None),
            Err(failure) => {
                rule.metrics.failure(failure.kind);
                (Err(failure.message.clone()), Some(failure))
            }
        };
        let contract = Contract {
            rule_id: rule.meta.id.clone(),
            rule_version: rule.version.clone(),
            terms,
        };
        (contract, failure)
    }

    fn run_contract(
        &self,
        rule: &CompiledRule,
        claim: &ScriptClaim,
        medicare: &[LinePrice],
    ) -> Result<Vec<Term>, RuleFailure> {
        if let Some(terms) = &rule.meta.terms {
            let lines = &claim.claim().lines;
            return medicare
                .iter()
                .zip(lines)
                .map(|(price, line)| {
                    crate::pricing::terms::term_for(terms, claim.tables(), line, price).map_err(
                        |m| {
                            super::rule_failure(
                                rule,
                                FailureKind::Error,
                                format!("line {}: {m}", price.line_number),
                            )
                        },
                    )
                })
                .collect();
        }
        medicare
            .iter()
            .enumerate()
            .map(|(i, price)| {
                let args = [
                    Dynamic::from(claim.clone()),
                    claim.line_value(i),
                    Dynamic::from_map(medicare_map(price)),
                ];
                let value = self.call(rule, claim, &self.price, args, Instant::now())?;
                term_of(value).map_err(|m| {
                    super::rule_failure(
                        rule,
                        FailureKind::Error,
                        format!("line {}: {m}", price.line_number),
                    )
                })
            })
            .collect()
    }
}

/// `percent_of(cents, percent)`: cents × percent / 100, rounded to the cent (halves away from
/// zero). The percentage may have up to two decimals (112.5).
fn percent_of(cents: i64, pct: f64) -> Result<i64, Box<rhai::EvalAltResult>> {
    if !pct.is_finite() || pct < 0.0 {
        return Err(format!("percent_of: {pct} is not a percentage").into());
    }
    Ok(percent(cents, (pct * 100.0).round() as i64))
}

/// `fee_schedule(name, line)`: the named payer fee table's amount for the line's code (a row
/// for one of its modifiers first), date of service and units, in cents; `()` when the table
/// has no amount for it. An unknown table name is an error naming the loaded ones.
fn fee_schedule(name: &str, line: Dynamic) -> Result<Dynamic, Box<rhai::EvalAltResult>> {
    let Some(line) = line.try_cast::<super::script_api::ScriptLine>() else {
        return Err("fee_schedule(name, line): the second argument must be a claim line".into());
    };
    super::table_api::with_current(|c| {
        let Some(l) = c.claim().lines.get(line.index()) else {
            return Ok(Dynamic::UNIT);
        };
        crate::pricing::terms::fee_amount(c.tables(), name, l)
            .map(|cents| cents.map_or(Dynamic::UNIT, Dynamic::from_int))
            .map_err(Into::into)
    })
    .unwrap_or_else(|| Err("fee_schedule() can only be used while pricing a claim".into()))
}

/// Registers the contract helpers.
pub fn register(engine: &mut Engine) {
    engine
        .register_fn("percent_of", percent_of)
        .register_fn("percent_of", |cents: i64, pct: i64| {
            percent_of(cents, pct as f64)
        })
        .register_fn("fee_schedule", fee_schedule)
        .register_fn(
            "for_units",
            |cents: i64, line: super::script_api::ScriptLine| -> i64 {
                crate::money::times_units(cents, crate::money::milli_units(line.units()))
            },
        )
        .register_fn("money", |cents: i64| -> ImmutableString {
            format!("${}", format_cents(cents)).into()
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_shapes() {
        assert_eq!(term_of(Dynamic::UNIT), Ok(Term::Medicare));
        assert_eq!(
            term_of(Dynamic::from_int(2500)),
            Ok(Term::Price {
                cents: 2500,
                trace: String::new()
            })
        );
        assert!(
            term_of(Dynamic::from_float(25.0))
                .unwrap_err()
                .contains("whole cents")
        );
        assert!(
            term_of(Dynamic::from_int(-1))
                .unwrap_err()
                .contains("negative")
        );
        let mut m = Map::new();
        m.insert("amout".into(), Dynamic::from_int(1));
        assert!(
            term_of(Dynamic::from_map(m))
                .unwrap_err()
                .contains("`amout`")
        );
        let mut m = Map::new();
        m.insert("unpriced".into(), Dynamic::from("carve-out"));
        assert_eq!(
            term_of(Dynamic::from_map(m)),
            Ok(Term::Unpriced("carve-out".into()))
        );
        assert_eq!(percent_of(10_000, 112.5).unwrap(), 11_250);
        assert_eq!(percent_of(8_895, 115.0).unwrap(), 10_229); // 102.2925 → 102.29
    }
}
