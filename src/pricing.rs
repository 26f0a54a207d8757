//! Reimbursement: the amount the payer should allow for each line and the claim, and the
//! risk-weighted expected revenue.
//!
//! Two steps, both pure (no Rhai, no I/O, no clock):
//! 1. [`medicare_prices`]: every line priced with the Medicare Physician Fee Schedule
//!    methodology ([`medicare`]);
//! 2. [`price`]: when a payer contract (a rule with `kind: "reimbursement"`) applies, its
//!    terms ([`Term`], one per line, produced by the engine running the contract's
//!    `price(claim, line, medicare)`) turn each Medicare price into the contract price
//!    ([`contract`]); then line risk, expected revenue and the totals.
//!
//! Money is integer cents with the rounding rule of [`crate::money`].

pub mod contract;
pub mod medicare;
pub mod terms;

pub use contract::{Contract, Term};

use crate::claim::Claim;
use crate::finding::Finding;
use crate::money::{WHOLE, format_cents, percent};
use crate::scoring;
use crate::tables::Tables;

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
    /// Fee schedule used: "Medicare PFS" or "contract `<rule id>`".
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
    /// Set when a payer other than Medicare was priced at Medicare PFS rates because no
    /// contract rule applies to it: the amounts are a stand-in, not the payer's.
    pub no_contract_note: String,
}

/// Pricing settings.
#[derive(Debug, Clone, Default)]
pub struct PricingSettings {
    /// Locality (`MMMMMLL`) for claims that name none; `None` = national amounts.
    pub default_locality: Option<String>,
}

/// The Medicare PFS price of every line: the first pricing step, and what a payer contract's
/// script is shown (`medicare`) before its terms are applied by [`price`].
pub fn medicare_prices(
    claim: &Claim,
    tables: &Tables,
    settings: &PricingSettings,
) -> Vec<LinePrice> {
    medicare::price_claim(claim, tables, settings.default_locality.as_deref())
}

/// The claim's pricing, complete: the contract's terms (if a contract applies) turned into
/// contract prices, each line's denial probability from the findings
/// ([`scoring::line_risk`]) and its expected amount, the totals, the contract and the
/// locality used.
pub fn price(
    claim: &Claim,
    settings: &PricingSettings,
    medicare: Vec<LinePrice>,
    contract: Option<&Contract>,
    findings: &[Finding],
) -> ClaimPrice {
    let lines = match contract {
        Some(c) => c.apply(claim, medicare),
        None => medicare,
    };
    let mut lines = lines;
    let stand_in = contract.is_none() && claim.payer_type != crate::claim::PayerType::Medicare;
    if stand_in {
        let label = format!(
            "Medicare PFS (no contract for {} payer {})",
            claim.payer_type.as_str(),
            if claim.payer_id.is_empty() {
                "without an id"
            } else {
                claim.payer_id.as_str()
            }
        );
        for l in &mut lines {
            l.schedule = label.clone();
        }
    }
    let mut out = summarize(claim, lines, findings);
    out.contract = contract.map(|c| (c.rule_id.clone(), c.rule_version.clone()));
    out.locality = locality(claim, settings);
    if stand_in {
        out.no_contract_note = format!(
            "No contract rule applies to {} payer {}: the amounts are Medicare PFS rates, a stand-in for the payer's own; add a contract rule (rules/README.md, reimbursement rules) to price this payer.",
            claim.payer_type.as_str(),
            if claim.payer_id.is_empty() {
                "(no payer id)"
            } else {
                claim.payer_id.as_str()
            }
        );
    }
    out
}

/// The lower of the line's charge and the fee schedule (or contract) amount is allowed
/// (42 CFR 414.20(a); contracts follow the same rule). A zero charge means "not given" and
/// never lowers the amount. Adds a trace step when the charge is the lower.
pub fn lower_of_charge(
    charge: i64,
    amount: i64,
    what: &str,
    cite: &str,
    trace: &mut Vec<String>,
) -> i64 {
    if charge > 0 && charge < amount {
        trace.push(format!(
            "lower of charge {} and {what} {}: {}{cite}",
            format_cents(charge),
            format_cents(amount),
            format_cents(charge)
        ));
        charge
    } else {
        amount
    }
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

/// The locality pricing used, canonical ("" = national amounts).
fn locality(claim: &Claim, settings: &PricingSettings) -> String {
    locality_text(claim, settings.default_locality.as_deref())
        .and_then(crate::claim::codes::locality_key)
        .unwrap_or_default()
}

/// Fills in each line's denial probability and expected amount and the claim totals.
///
/// The only float step: `1 − p` is converted to basis points (rounded) before it multiplies
/// the integer amount, so the expected amounts are integer cents with the usual rounding.
fn summarize(claim: &Claim, mut lines: Vec<LinePrice>, findings: &[Finding]) -> ClaimPrice {
    let mut out = ClaimPrice {
        complete: true,
        // Charges are bounded at validation; contract amounts come from scripts, so every
        // sum saturates instead of wrapping.
        total_charge_cents: claim
            .lines
            .iter()
            .fold(0i64, |sum, l| sum.saturating_add(l.charge_cents)),
        ..ClaimPrice::default()
    };
    for p in &mut lines {
        p.denial_probability = scoring::line_risk(p.line_number, findings);
        match p.allowed_cents {
            Some(a) => {
                let keep_bp = ((1.0 - p.denial_probability) * WHOLE as f64).round() as i64;
                p.expected_cents = percent(a, keep_bp);
                out.total_allowed_cents = out.total_allowed_cents.saturating_add(a);
                out.expected_revenue_cents =
                    out.expected_revenue_cents.saturating_add(p.expected_cents);
            }
            None => out.complete = false,
        }
    }
    out.lines = lines;
    out
}
