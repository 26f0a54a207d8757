//! Contract terms declared as data in a payer contract's header (`terms: [...]`), applied by
//! native code: the usual shapes of a contract (carve-outs per code, the payer's own fee
//! table, a percentage of Medicare) without a `price` function, which stays the escape hatch
//! for anything else. Applying declared terms costs a few hash lookups per line instead of a
//! script call per line.
//!
//! Terms are tried in order for each line; the first that applies gives the line's
//! [`Term`]. A term applies when the line's code matches one of its `codes` (all codes when
//! none are given) and, for a fee-schedule term, when the table has an amount for the line;
//! a line no term applies to keeps the Medicare price, as when a `price` function returns `()`.

use crate::claim::Line;
use crate::claim::codes::code_matches;
use crate::money::{format_cents, format_percent, milli_units, percent, times_units};
use crate::tables::Tables;
use crate::tables::code::{day, pack_proc};
use crate::tables::pfs::pack_modifier;

use super::LinePrice;
use super::contract::Term;

/// Most terms one contract may declare.
pub const MAX_TERMS: usize = 200;

/// One declared contract term.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredTerm {
    /// Procedure code patterns the term is limited to (exact, `prefix*`, `FROM-TO`); empty
    /// for every code.
    pub codes: Vec<String>,
    /// What the contract pays.
    pub pays: Pays,
    /// Words put before the trace step (e.g. "carve-out", "primary care parity").
    pub note: String,
}

/// What a declared term pays for a line.
#[derive(Debug, Clone, PartialEq)]
pub enum Pays {
    /// A flat amount per unit, cents (`per_unit: 2500`).
    PerUnit(i64),
    /// The named payer fee table's amount for the line (`fee_schedule: "name"`); when the
    /// table has no amount for the line, the next term is tried.
    FeeSchedule(String),
    /// A percentage of the Medicare PFS fee, in basis points (`percent_of_medicare: 115` is
    /// 11,500); unpriced when Medicare cannot price the line.
    PercentOfMedicare(i64),
    /// The contract cannot price these lines (`unpriced: "why"`): manual review.
    Unpriced(String),
}

/// The named payer fee table's amount for `line` (a row for one of its modifiers first, then
/// the code alone, on its date of service), times its units; `None` when the table has no
/// amount. An unknown name is an error naming the loaded tables.
pub fn fee_amount(tables: &Tables, name: &str, line: &Line) -> Result<Option<i64>, String> {
    let Some(fees) = tables.fees.get(name) else {
        let loaded: Vec<&str> = tables.fees.keys().map(String::as_str).collect();
        return Err(format!(
            "no fee schedule named {name:?} is loaded (loaded: {})",
            if loaded.is_empty() {
                "none".to_string()
            } else {
                loaded.join(", ")
            }
        ));
    };
    let Some(code) = pack_proc(&line.procedure_code) else {
        return Ok(None);
    };
    let mods: Vec<u16> = line
        .modifiers
        .iter()
        .filter_map(|m| pack_modifier(m))
        .collect();
    Ok(fees
        .table
        .get(code, &mods, day(line.service_date))
        .map(|f| times_units(f.cents, milli_units(line.units))))
}

fn with_note(note: &str, step: String) -> String {
    if note.is_empty() {
        step
    } else {
        format!("{note}: {step}")
    }
}

/// The term `terms` give `line`, whose Medicare price is `medicare`.
pub fn term_for(
    terms: &[DeclaredTerm],
    tables: &Tables,
    line: &Line,
    medicare: &LinePrice,
) -> Result<Term, String> {
    for t in terms {
        if !t.codes.is_empty()
            && !t
                .codes
                .iter()
                .any(|p| code_matches(&line.procedure_code, p))
        {
            continue;
        }
        let code = &line.procedure_code;
        return Ok(match &t.pays {
            Pays::PerUnit(cents) => Term::Price {
                cents: times_units(*cents, milli_units(line.units)),
                trace: with_note(
                    &t.note,
                    format!("{code} at a flat ${} per unit", format_cents(*cents)),
                ),
            },
            Pays::FeeSchedule(name) => match fee_amount(tables, name, line)? {
                None => continue,
                Some(cents) => Term::Price {
                    cents,
                    trace: with_note(
                        &t.note,
                        format!("fee schedule {name}: ${} for {code}", format_cents(cents)),
                    ),
                },
            },
            Pays::PercentOfMedicare(basis_points) => {
                // As a script sees it: priced when Medicare allows an amount; the fee is the
                // amount before the lower-of-charge rule.
                match medicare
                    .allowed_cents
                    .map(|allowed| medicare.fee_cents.unwrap_or(allowed))
                {
                    None => Term::Unpriced(with_note(
                        &t.note,
                        format!(
                            "the contract pays {} of the Medicare PFS amount, and Medicare cannot price this line ({}); manual review",
                            format_percent(*basis_points),
                            medicare.reason
                        ),
                    )),
                    Some(fee) => Term::Price {
                        cents: percent(fee, *basis_points),
                        trace: with_note(
                            &t.note,
                            format!(
                                "{} of the Medicare PFS amount ${}",
                                format_percent(*basis_points),
                                format_cents(fee)
                            ),
                        ),
                    },
                }
            }
            Pays::Unpriced(why) => Term::Unpriced(with_note(&t.note, why.clone())),
        });
    }
    Ok(Term::Medicare)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(code: &str, units: f64) -> Line {
        Line {
            units,
            service_date: chrono::NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(),
            ..Line::for_test(code, &[])
        }
    }

    fn medicare(fee: Option<i64>) -> LinePrice {
        let mut p = LinePrice::new(1, "Medicare PFS");
        p.fee_cents = fee;
        p.allowed_cents = fee;
        p.reason = if fee.is_none() {
            "not in the Medicare PFS".into()
        } else {
            String::new()
        };
        p
    }

    fn term(codes: &[&str], pays: Pays, note: &str) -> DeclaredTerm {
        DeclaredTerm {
            codes: codes.iter().map(|c| c.to_string()).collect(),
            pays,
            note: note.into(),
        }
    }

    #[test]
    fn the_first_term_that_applies_prices_the_line() {
        let tables = Tables::default();
        let terms = [
            term(&["90471"], Pays::PerUnit(2500), "carve-out"),
            term(&["99202-99215"], Pays::PercentOfMedicare(10_000), "parity"),
            term(&[], Pays::PercentOfMedicare(11_500), ""),
        ];
        let t = term_for(&terms, &tables, &line("90471", 2.0), &medicare(Some(1))).unwrap();
        assert_eq!(
            t,
            Term::Price {
                cents: 5000,
                trace: "carve-out: 90471 at a flat $25.00 per unit".into()
            }
        );
        let t = term_for(&terms, &tables, &line("99213", 1.0), &medicare(Some(8895))).unwrap();
        assert!(
            matches!(t, Term::Price { cents: 8895, ref trace } if trace.starts_with("parity: 100%"))
        );
        let t = term_for(&terms, &tables, &line("71046", 1.0), &medicare(Some(8895))).unwrap();
        assert_eq!(
            t,
            Term::Price {
                cents: 10_229,
                trace: "115% of the Medicare PFS amount $88.95".into()
            }
        );
        let t = term_for(&terms, &tables, &line("0001U", 1.0), &medicare(None)).unwrap();
        assert!(
            matches!(t, Term::Unpriced(ref why) if why.contains("not in the Medicare PFS") && why.contains("manual review"))
        );
    }

    #[test]
    fn no_term_keeps_the_medicare_price_and_unknown_tables_are_named() {
        let tables = Tables::default();
        let only = [term(&["90471"], Pays::PerUnit(2500), "")];
        let t = term_for(&only, &tables, &line("99213", 1.0), &medicare(Some(1))).unwrap();
        assert_eq!(t, Term::Medicare);
        let fees = [term(&[], Pays::FeeSchedule("acme".into()), "")];
        let e = term_for(&fees, &tables, &line("99213", 1.0), &medicare(Some(1))).unwrap_err();
        assert!(
            e.contains("no fee schedule named \"acme\" is loaded (loaded: none)"),
            "{e}"
        );
    }
}
