//! Modifiers the Medicare PFS relative value file's indicators forbid or restrict: 26/TC by
//! the PC/TC indicator (a component is billable only when the file has a row for it), 54/55/56
//! by the global surgery split, 50 by the bilateral indicator, 80/81/82/AS by the assistant at
//! surgery indicator, 62 by the co-surgeon and 66 by the team surgery indicator (CMS, "PFS
//! Relative Value Files", record layout and indicator definitions; Pub. 100-04, Ch. 12
//! §§40.2, 40.7, 40.8, 20.4.3). The meanings live here once: the pricing code reads the same
//! functions, so a finding and the price of a line never disagree.

use crate::claim::{Claim, ClaimType};
use crate::finding::Severity;
use crate::tables::Tables;
use crate::tables::code::pack_proc;
use crate::tables::pfs::{RvuRow, RvuTable, pack_modifier};

/// What an indicator allows for a modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// Payable.
    Allowed,
    /// Payable with documentation of medical necessity.
    Documentation,
    /// Not permitted (payment restriction).
    NotPermitted,
    /// The concept does not apply to the code (indicator 9).
    NotApplicable,
}

/// ASST SURG indicator: 0 payable with documentation, 1 statutory payment restriction, 2
/// payable, 9 not applicable.
pub fn assistant(indicator: u8) -> Allowance {
    match indicator {
        0 => Allowance::Documentation,
        1 => Allowance::NotPermitted,
        2 => Allowance::Allowed,
        _ => Allowance::NotApplicable,
    }
}

/// CO-SURG and TEAM SURG indicators: 0 not permitted, 1 with documentation, 2 permitted,
/// 9 not applicable.
pub fn surgeons(indicator: u8) -> Allowance {
    match indicator {
        0 => Allowance::NotPermitted,
        1 => Allowance::Documentation,
        2 => Allowance::Allowed,
        _ => Allowance::NotApplicable,
    }
}

/// The PC/TC indicator in words.
pub fn pctc_meaning(indicator: u8) -> &'static str {
    match indicator {
        0 => "physician service, the PC/TC concept does not apply",
        1 => "diagnostic test with professional and technical components",
        2 => "professional-component-only code",
        3 => "technical-component-only code",
        4 => "global test only code; the components are separate codes",
        5 => "incident-to code",
        6 => "laboratory physician interpretation code",
        7 => "physical therapy service",
        8 => "physician interpretation code",
        _ => "the PC/TC concept does not apply",
    }
}

/// True when the code has a global surgery split (pre-, intra-, postoperative shares), so
/// 54, 55 and 56 can divide it.
pub fn has_global_split(row: &RvuRow) -> bool {
    row.split.iter().sum::<i64>() != 0
}

/// One modifier the PFS indicators forbid or restrict on a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The line number.
    pub line: u32,
    /// The modifier.
    pub modifier: String,
    /// Which indicator decides ("PC/TC", "global surgery", "bilateral surgery", ...).
    pub indicator: &'static str,
    /// The indicator's value (for the global split: the global period's days as a number, 0
    /// when not numeric).
    pub value: u8,
    /// Error (denied), warning (paid only with documentation or not as billed) or info.
    pub severity: Severity,
    /// Predicted CARC.
    pub carc: &'static str,
    /// What the indicator says, in words.
    pub reason: String,
}

/// The conflicts of one line's modifiers with its code's rows in `table`.
fn line_conflicts(line: &crate::claim::Line, table: &RvuTable, out: &mut Vec<Conflict>) {
    let Some(code) = pack_proc(&line.procedure_code) else {
        return;
    };
    let Some(row) = table.get(code, 0) else {
        return;
    };
    let code_text = &line.procedure_code;
    for m in &line.modifiers {
        let mut push = |indicator, value, severity, carc, reason: String| {
            out.push(Conflict {
                line: line.number,
                modifier: m.clone(),
                indicator,
                value,
                severity,
                carc,
                reason,
            })
        };
        match m.as_str() {
            "26" | "TC" if table.get(code, pack_modifier(m).unwrap_or(0)).is_none() => push(
                "PC/TC",
                row.pctc,
                Severity::Error,
                "CO-4",
                format!(
                    "{code_text} has no {m} component (PC/TC indicator {}: {})",
                    row.pctc,
                    pctc_meaning(row.pctc)
                ),
            ),
            "54" | "55" | "56" if !has_global_split(row) => push(
                "global surgery",
                row.global_days().parse().unwrap_or(0),
                Severity::Error,
                "CO-4",
                format!(
                    "{code_text} has no global surgery split (global period {}), so {m} cannot divide it",
                    row.global_days()
                ),
            ),
            "50" => match row.bilateral {
                1 => {}
                0 => push(
                    "bilateral surgery",
                    0,
                    Severity::Warning,
                    "CO-4",
                    format!(
                        "{code_text}: the bilateral adjustment does not apply (bilateral indicator 0): both sides are paid as one, at 100%"
                    ),
                ),
                2 => push(
                    "bilateral surgery",
                    2,
                    Severity::Warning,
                    "CO-4",
                    format!(
                        "{code_text} is already bilateral (bilateral indicator 2: the RVUs cover both sides): 50 adds nothing"
                    ),
                ),
                3 => push(
                    "bilateral surgery",
                    3,
                    Severity::Info,
                    "CO-4",
                    format!(
                        "{code_text}: each side is paid at 100% (bilateral indicator 3); many payers want RT and LT on two lines instead of 50"
                    ),
                ),
                i => push(
                    "bilateral surgery",
                    i,
                    Severity::Error,
                    "CO-4",
                    format!(
                        "{code_text}: the bilateral concept does not apply (bilateral indicator {i})"
                    ),
                ),
            },
            "80" | "81" | "82" | "AS" => match assistant(row.assistant) {
                Allowance::Allowed => {}
                Allowance::Documentation => push(
                    "assistant at surgery",
                    row.assistant,
                    Severity::Warning,
                    "CO-54",
                    format!(
                        "{code_text}: an assistant at surgery is paid only with documentation of medical necessity (assistant indicator 0)"
                    ),
                ),
                a => push(
                    "assistant at surgery",
                    row.assistant,
                    Severity::Error,
                    "CO-54",
                    format!(
                        "{code_text}: assistants at surgery are {} (assistant indicator {})",
                        if a == Allowance::NotPermitted {
                            "not paid for this code (statutory restriction)"
                        } else {
                            "not applicable to this code"
                        },
                        row.assistant
                    ),
                ),
            },
            "62" | "66" => {
                let (what, value) = if m == "62" {
                    ("co-surgeons", row.co_surgery)
                } else {
                    ("team surgeons", row.team)
                };
                let indicator = if m == "62" {
                    "co-surgery"
                } else {
                    "team surgery"
                };
                match surgeons(value) {
                    Allowance::Allowed => {}
                    Allowance::Documentation => push(
                        indicator,
                        value,
                        Severity::Warning,
                        "CO-54",
                        format!(
                            "{code_text}: {what} are paid only with documentation of medical necessity ({indicator} indicator 1)"
                        ),
                    ),
                    a => push(
                        indicator,
                        value,
                        Severity::Error,
                        "CO-54",
                        format!(
                            "{code_text}: {what} are not {} for this code ({indicator} indicator {value})",
                            if a == Allowance::NotPermitted {
                                "permitted"
                            } else {
                                "applicable"
                            }
                        ),
                    ),
                }
            }
            _ => {}
        }
    }
}

/// Every modifier on a professional claim that the PFS file in force on its line's date
/// forbids or restricts, and the file's version.
pub fn conflicts<'a>(claim: &Claim, tables: &'a Tables) -> (Vec<Conflict>, &'a str) {
    let mut out = Vec::new();
    let mut version = "";
    if claim.claim_type != ClaimType::Professional {
        return (out, version);
    }
    for line in claim.lines.iter().filter(|l| !l.modifiers.is_empty()) {
        if let Some(dated) = tables.pfs_rvu_for(line.service_date) {
            version = &dated.version;
            line_conflicts(line, &dated.table, &mut out);
        }
    }
    (out, version)
}
