//! Reimbursement: the amount the payer should allow for each line and the claim, and the
//! risk-weighted expected revenue.
//!
//! Every line is first priced with the Medicare Physician Fee Schedule methodology
//! ([`medicare`]). When a payer contract (a rule with `kind: "reimbursement"`) applies to the
//! claim, its `price(claim, line, medicare)` function turns each Medicare price into the
//! contract price (see [`crate::engine::contract`], which runs the script; combining its
//! terms happens here). Money is integer cents with the rounding rule of [`crate::money`].
//! Pure: no I/O, no clock.

pub mod medicare;

use crate::claim::Claim;
use crate::engine::contract::Term;
use crate::finding::Finding;
use crate::money::{WHOLE, format_cents, percent};

/// Fee schedule label of the Medicare methodology.
pub const MEDICARE_PFS: &str = "Medicare PFS";

/// The price of one line.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePrice {
    /// The line's number.
    pub line_number: u32,
    /// Expected allowed amount in cents; `None` when the line cannot be priced (see `reason`).
    pub allowed_cents: Option<i64>,
    /// The fee schedule amount before the lower-of-charge rule, when priced.
    pub fee_cents: Option<i64>,
    /// The Medicare PFS allowed amount (also when a contract priced the line).
    pub medicare_cents: Option<i64>,
    /// Fee schedule used: "Medicare PFS" or "contract <rule id>".
    pub schedule: String,
    /// Versions of the tables (and contract rule) used.
    pub schedule_version: String,
    /// The calculation, one step per entry.
    pub trace: Vec<String>,
    /// Why the line is unpriced or priced at zero; empty otherwise.
    pub reason: String,
    /// Probability that this line is denied, from the findings on it and on the whole claim.
    pub denial_probability: f64,
    /// `allowed × (1 − denial_probability)`, cents.
    pub expected_cents: i64,
}

impl LinePrice {
    /// An unpriced line of `schedule`.
    pub fn new(line_number: u32, schedule: &str) -> Self {
        Self {
            line_number,
            allowed_cents: None,
            fee_cents: None,
            medicare_cents: None,
            schedule: schedule.to_string(),
            schedule_version: String::new(),
            trace: Vec::new(),
            reason: String::new(),
            denial_probability: 0.0,
            expected_cents: 0,
        }
    }
}

/// The price of a claim.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimPrice {
    /// One entry per line, in claim order.
    pub lines: Vec<LinePrice>,
    /// Sum of the priced lines' allowed amounts.
    pub total_allowed_cents: i64,
    /// Sum of every line's charge.
    pub total_charge_cents: i64,
    /// Sum over priced lines of allowed × (1 − line denial probability).
    pub expected_revenue_cents: i64,
    /// True when every line has an amount.
    pub complete: bool,
    /// The contract rule that priced the claim (id, version), if any.
    pub contract: Option<(String, String)>,
    /// The locality used ("" for national amounts).
    pub locality: String,
}

/// Pricing settings.
#[derive(Debug, Clone, Default)]
pub struct PricingSettings {
    /// Locality (`MMMMMLL`) for claims that name none; `None` = national amounts.
    pub default_locality: Option<String>,
}

/// Turns Medicare prices into contract prices with a contract's terms (one per line). The
/// lower of the line's charge and the contract amount is allowed, as under Medicare.
pub fn apply_contract(
    claim: &Claim,
    medicare: Vec<LinePrice>,
    terms: &[Term],
    rule_id: &str,
    rule_version: &str,
) -> Vec<LinePrice> {
    let schedule = format!("contract {rule_id}");
    medicare
        .into_iter()
        .zip(terms)
        .zip(&claim.lines)
        .map(|((m, term), line)| match term {
            Term::Medicare => {
                let mut p = m;
                p.medicare_cents = p.allowed_cents;
                p.trace.push(format!(
                    "{schedule}: no term for this line, the Medicare price applies"
                ));
                p
            }
            Term::Price { cents, trace } => {
                let mut p = LinePrice::new(m.line_number, &schedule);
                p.medicare_cents = m.allowed_cents;
                p.schedule_version = if m.schedule_version.is_empty() {
                    format!("{rule_id}@{rule_version}")
                } else {
                    format!("{rule_id}@{rule_version}; {}", m.schedule_version)
                };
                p.trace = m.trace;
                let what = if trace.is_empty() {
                    "contract amount"
                } else {
                    trace.as_str()
                };
                p.trace
                    .push(format!("{schedule}: {what} = {}", format_cents(*cents)));
                p.fee_cents = Some(*cents);
                if *cents == 0 {
                    p.reason = m.reason.clone();
                }
                let charge = line.charge_cents;
                p.allowed_cents = Some(if charge > 0 && charge < *cents {
                    p.trace.push(format!(
                        "lower of charge {} and contract amount {}: {}",
                        format_cents(charge),
                        format_cents(*cents),
                        format_cents(charge)
                    ));
                    charge
                } else {
                    *cents
                });
                p
            }
            Term::Unpriced(why) => {
                let mut p = LinePrice::new(m.line_number, &schedule);
                p.medicare_cents = m.allowed_cents;
                p.schedule_version = format!("{rule_id}@{rule_version}");
                p.trace = m.trace;
                p.reason = format!("{schedule}: {why}");
                p
            }
        })
        .collect()
}

/// The locality text that prices `claim`: the claim's own, else the configured default;
/// `None` means national amounts.
pub fn locality_text<'a>(claim: &'a Claim, default_locality: Option<&'a str>) -> Option<&'a str> {
    if claim.locality.is_empty() {
        default_locality.filter(|d| !d.is_empty())
    } else {
        Some(claim.locality.as_str())
    }
}

/// Probability that a line is denied: `1 − Π(1 − p)` over the findings that name the line
/// and the claim-level findings (which concern every line).
pub fn line_denial_probability(line: u32, findings: &[Finding]) -> f64 {
    let keep: f64 = findings
        .iter()
        .filter(|f| f.lines.is_empty() || f.lines.contains(&line))
        .map(|f| 1.0 - f.denial_probability.clamp(0.0, 1.0))
        .product();
    (1.0 - keep).clamp(0.0, 1.0)
}

/// Fills in each line's denial probability and expected amount and the claim totals.
///
/// The only float step: `1 − p` is converted to basis points (rounded) before it multiplies
/// the integer amount, so the expected amounts are integer cents with the usual rounding.
pub fn summarize(claim: &Claim, mut lines: Vec<LinePrice>, findings: &[Finding]) -> ClaimPrice {
    let mut out = ClaimPrice {
        complete: true,
        total_charge_cents: claim.lines.iter().map(|l| l.charge_cents).sum(),
        ..ClaimPrice::default()
    };
    for p in &mut lines {
        p.denial_probability = line_denial_probability(p.line_number, findings);
        match p.allowed_cents {
            Some(a) => {
                let keep_bp = ((1.0 - p.denial_probability) * WHOLE as f64).round() as i64;
                p.expected_cents = percent(a, keep_bp);
                out.total_allowed_cents += a;
                out.expected_revenue_cents += p.expected_cents;
            }
            None => out.complete = false,
        }
    }
    out.lines = lines;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;

    fn finding(lines: Vec<u32>, p: f64) -> Finding {
        Finding {
            rule_id: "r".into(),
            rule_version: "v".into(),
            category: "c".into(),
            severity: Severity::Error,
            message: String::new(),
            lines,
            carc: "CO-16".into(),
            denial_probability: p,
            suggestion: String::new(),
            details: Default::default(),
            field: String::new(),
        }
    }

    #[test]
    fn line_risk_combines_line_and_claim_findings() {
        let f = [
            finding(vec![1], 0.5),
            finding(vec![], 0.2),
            finding(vec![2], 0.9),
        ];
        // line 1: 1 − (0.5 × 0.8) = 0.6; line 3: only the claim-level finding
        assert!((line_denial_probability(1, &f) - 0.6).abs() < 1e-12);
        assert!((line_denial_probability(3, &f) - 0.2).abs() < 1e-12);
    }
}
