//! Payer contract terms and how they turn Medicare prices into contract prices.
//!
//! A reimbursement rule's script says, per line, what the contract pays ([`Term`]); the
//! engine runs the script ([`crate::engine::Evaluator::contract_terms`]) and this module
//! combines the terms with the Medicare prices. Pure: no Rhai, no I/O.

use super::{LinePrice, lower_of_charge};
use crate::claim::Claim;
use crate::money::format_cents;

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

/// The payer contract that prices a claim: which rule, and its terms (one per line) or why
/// the rule failed.
#[derive(Debug, Clone)]
pub struct Contract {
    /// The reimbursement rule's id.
    pub rule_id: String,
    /// Its content version.
    pub rule_version: String,
    /// One term per line, or the rule's failure message (its lines are then unpriced).
    pub terms: Result<Vec<Term>, String>,
}

impl Contract {
    /// The fee schedule label of the contract's lines.
    fn schedule(&self) -> String {
        format!("contract {}", self.rule_id)
    }

    /// Turns Medicare prices into contract prices. The lower of the line's charge and the
    /// contract amount is allowed, as under Medicare. When the rule failed, every line is
    /// unpriced with the failure as its reason (never the Medicare amount: the payer does not
    /// pay Medicare rates under a contract).
    pub fn apply(&self, claim: &Claim, medicare: Vec<LinePrice>) -> Vec<LinePrice> {
        let schedule = self.schedule();
        let terms = match &self.terms {
            Ok(terms) => terms,
            Err(message) => {
                return medicare
                    .into_iter()
                    .map(|m| {
                        let mut p = LinePrice::new(m.line_number, &schedule);
                        p.medicare_cents = m.allowed_cents;
                        p.trace = m.trace;
                        p.reason = format!(
                            "the payer contract rule {} failed, so this line cannot be priced: {message}",
                            self.rule_id
                        );
                        p
                    })
                    .collect();
            }
        };
        medicare
            .into_iter()
            .zip(terms)
            .zip(&claim.lines)
            .map(|((m, term), line)| self.apply_term(&schedule, m, term, line.charge_cents))
            .collect()
    }

    fn apply_term(&self, schedule: &str, m: LinePrice, term: &Term, charge: i64) -> LinePrice {
        let (rule_id, rule_version) = (&self.rule_id, &self.rule_version);
        match term {
            Term::Medicare => {
                let mut p = m;
                p.medicare_cents = p.allowed_cents;
                p.trace.push(format!(
                    "{schedule}: no term for this line, the Medicare price applies"
                ));
                p
            }
            Term::Price { cents, trace } => {
                let mut p = LinePrice::new(m.line_number, schedule);
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
                p.allowed_cents = Some(lower_of_charge(
                    charge,
                    *cents,
                    "contract amount",
                    "",
                    &mut p.trace,
                ));
                p
            }
            Term::Unpriced(why) => {
                let mut p = LinePrice::new(m.line_number, schedule);
                p.medicare_cents = m.allowed_cents;
                p.schedule_version = format!("{rule_id}@{rule_version}");
                p.trace = m.trace;
                p.reason = format!("{schedule}: {why}");
                p
            }
        }
    }
}
