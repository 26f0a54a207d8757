//! Payer contracts: running a reimbursement rule's `price(claim, line, medicare)` on each
//! line, and the money helpers contract scripts use.
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
//! The service then applies the lower of charge and contract amount.

use rhai::{CallFnOptions, Dynamic, Engine, ImmutableString, Map, Scope};

use super::table_api::CurrentClaim;
use super::{Evaluator, ScriptClaim, describe_error, failure_kind};
use crate::finding::{FailureKind, RuleFailure};
use crate::money::{format_cents, percent};
use crate::pricing::LinePrice;
use crate::rules::CompiledRule;
use crate::rules::compile::PRICE_FN;
use crate::tables::code::{day, pack_proc};
use crate::tables::pfs::pack_modifier;

/// What a contract says about one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// No term: the Medicare price stands.
    Medicare,
    /// The contract amount in cents, with a trace step (may be empty).
    Price {
        /// Amount, cents.
        cents: i64,
        /// The script's explanation.
        trace: String,
    },
    /// The contract cannot price the line.
    Unpriced(String),
}

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
    /// Runs a reimbursement rule on every line: its terms, in line order.
    pub fn run_contract(
        &self,
        rule: &CompiledRule,
        claim: &ScriptClaim,
        medicare: &[LinePrice],
    ) -> Result<Vec<Term>, RuleFailure> {
        let fail = |kind, message| RuleFailure {
            rule_id: rule.meta.id.clone(),
            rule_version: rule.version.clone(),
            kind,
            message,
        };
        let _current = CurrentClaim::enter(claim);
        let mut terms = Vec::with_capacity(medicare.len());
        for (i, price) in medicare.iter().enumerate() {
            super::DEADLINE.with(|d| d.set(Some(std::time::Instant::now() + self.timeout)));
            let result = self.engine.call_fn_with_options::<Dynamic>(
                CallFnOptions::new().eval_ast(false).rewind_scope(true),
                &mut Scope::new(),
                &rule.ast,
                PRICE_FN,
                (
                    claim.clone(),
                    claim.line_value(i),
                    Dynamic::from_map(medicare_map(price)),
                ),
            );
            super::DEADLINE.with(|d| d.set(None));
            let value = result.map_err(|e| fail(failure_kind(&e), describe_error(&e)))?;
            let term = term_of(value).map_err(|m| {
                fail(
                    FailureKind::Error,
                    format!("line {}: {m}", price.line_number),
                )
            })?;
            terms.push(term);
        }
        Ok(terms)
    }
}

/// The priced claim before the risk summary: lines, the contract that priced them and the
/// contract's failure, if it failed.
#[derive(Debug, Clone, Default)]
pub struct Priced {
    /// One price per line.
    pub lines: Vec<LinePrice>,
    /// Contract rule (id, version) used.
    pub contract: Option<(String, String)>,
    /// The contract rule's failure (its lines are then unpriced).
    pub failure: Option<RuleFailure>,
}

impl Evaluator {
    /// Prices every line: Medicare PFS, then the first applicable payer contract of `set`
    /// (if any) through [`crate::pricing::apply_contract`].
    pub fn price(
        &self,
        set: &crate::rules::RuleSet,
        claim: &ScriptClaim,
        settings: &crate::pricing::PricingSettings,
    ) -> Priced {
        let medicare = crate::pricing::medicare::price_claim(
            claim.claim(),
            claim.tables(),
            settings.default_locality.as_deref(),
        );
        let Some(rule) = set.contracts(claim.claim()).next() else {
            return Priced {
                lines: medicare,
                ..Priced::default()
            };
        };
        self.price_with(rule, claim, medicare)
    }

    /// Applies one contract rule to Medicare prices.
    pub fn price_with(
        &self,
        rule: &CompiledRule,
        claim: &ScriptClaim,
        medicare: Vec<LinePrice>,
    ) -> Priced {
        let started = std::time::Instant::now();
        let outcome = self.run_contract(rule, claim, &medicare);
        rule.metrics.eval_seconds(started.elapsed().as_secs_f64());
        let contract = Some((rule.meta.id.clone(), rule.version.clone()));
        match outcome {
            Ok(terms) => Priced {
                lines: crate::pricing::apply_contract(
                    claim.claim(),
                    medicare,
                    &terms,
                    &rule.meta.id,
                    &rule.version,
                ),
                contract,
                failure: None,
            },
            Err(failure) => {
                rule.metrics.failure(failure.kind);
                let lines = medicare
                    .into_iter()
                    .map(|m| {
                        let mut p =
                            LinePrice::new(m.line_number, &format!("contract {}", rule.meta.id));
                        p.medicare_cents = m.allowed_cents;
                        p.trace = m.trace;
                        p.reason = format!(
                            "the payer contract rule {} failed, so this line cannot be priced: {}",
                            rule.meta.id, failure.message
                        );
                        p
                    })
                    .collect();
                Priced {
                    lines,
                    contract,
                    failure: Some(failure),
                }
            }
        }
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
        let tables = c.tables();
        let Some(fees) = tables.fees.get(name) else {
            let loaded: Vec<&str> = tables.fees.keys().map(String::as_str).collect();
            return Err(format!(
                "no fee schedule named {name:?} is loaded (loaded: {})",
                if loaded.is_empty() {
                    "none".to_string()
                } else {
                    loaded.join(", ")
                }
            )
            .into());
        };
        let Some(l) = c.claim().lines.get(line.index()) else {
            return Ok(Dynamic::UNIT);
        };
        let Some(code) = pack_proc(&l.procedure_code) else {
            return Ok(Dynamic::UNIT);
        };
        let mods: Vec<u16> = l
            .modifiers
            .iter()
            .filter_map(|m| pack_modifier(m))
            .collect();
        Ok(fees
            .table
            .get(code, &mods, day(l.service_date))
            .map_or(Dynamic::UNIT, |f| {
                Dynamic::from_int(crate::money::times_units(
                    f.cents,
                    crate::money::milli_units(l.units),
                ))
            }))
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
