//! Whether a procedure code exists in any loaded code list: the HCPCS Level II file, the
//! Medicare PFS relative value file in force on the date, the MUE tables, the add-on code
//! table and the payer fee tables. CPT itself is AMA-licensed and not loaded, so a CPT code is
//! known when one of CMS's files lists it; the PFS relative value file lists CPT Category I,
//! II and III codes (every status, including codes Medicare does not pay), which makes it the
//! authority for them, and the HCPCS file is the authority for Level II codes. Proprietary
//! laboratory analyses (`0001U`) and multianalyte assays (`0002M`) are paid under the
//! clinical laboratory fee schedule and are in neither, so their absence is never more than
//! a warning.

use chrono::NaiveDate;

use crate::tables::code::{day, pack_proc};
use crate::tables::{Kind, Setting, Tables};

/// Which lists were checked for a code and what they said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeLists {
    /// True when a list holds the code (or no list applies, so nothing can be said).
    pub known: bool,
    /// The version labels of the lists checked.
    pub checked: Vec<String>,
    /// True when the list that is the authority for codes of this shape (HCPCS for Level II,
    /// the PFS for CPT) was checked and is complete: a code missing from it does not exist.
    pub authoritative: bool,
}

/// The kind of code a procedure code's shape says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// HCPCS Level II: a letter and four digits.
    LevelTwo,
    /// CPT Category I (five digits), II (`F`) or III (`T`).
    Cpt,
    /// CPT PLA (`U`) or MAAA (`M`) codes, priced under the lab fee schedule.
    Lab,
}

fn shape(code: &str) -> Option<Shape> {
    let b = code.as_bytes();
    if b.len() != 5 {
        return None;
    }
    match (b[0], b[4]) {
        (b'A'..=b'Z', _) if b[1..].iter().all(u8::is_ascii_digit) => Some(Shape::LevelTwo),
        (b'0'..=b'9', b'0'..=b'9') if b.iter().all(u8::is_ascii_digit) => Some(Shape::Cpt),
        (b'0'..=b'9', b'F' | b'T') if b[..4].iter().all(u8::is_ascii_digit) => Some(Shape::Cpt),
        (b'0'..=b'9', b'U' | b'M') if b[..4].iter().all(u8::is_ascii_digit) => Some(Shape::Lab),
        _ => None,
    }
}

/// The code lists checked for `code` on `date`, and whether any holds it. `details` false
/// stops at the first list that knows the code (the usual case) without naming the lists.
fn lookup(tables: &Tables, code: &str, date: NaiveDate, details: bool) -> CodeLists {
    let mut out = CodeLists::default();
    let (Some(shape), Some(key)) = (shape(code), pack_proc(code)) else {
        // Not a CPT/HCPCS shape: the claim validator reports malformed codes.
        out.known = true;
        return out;
    };
    let d = day(date);
    let mut any_list = false;
    let mut note = |out: &mut CodeLists, found: bool, version: &str, authority: bool| {
        any_list = true;
        if details {
            out.checked.push(version.to_string());
        }
        out.authoritative |= authority;
        out.known |= found;
        found && !details
    };
    if shape == Shape::LevelTwo
        && let Some(h) = tables.hcpcs.as_deref()
    {
        let full = !tables.is_partial(Kind::Hcpcs);
        let version = tables.version_of(Kind::Hcpcs, None).unwrap_or("HCPCS");
        if note(&mut out, h.get(key).is_some(), version, full) {
            return out;
        }
    }
    if let Some(rvu) = tables.pfs_rvu_for(date) {
        let full = !tables.is_partial(Kind::PfsRvu) && shape == Shape::Cpt;
        if note(
            &mut out,
            rvu.table.get(key, 0).is_some(),
            &rvu.version,
            full,
        ) {
            return out;
        }
    }
    for setting in [
        Setting::Practitioner,
        Setting::OutpatientHospital,
        Setting::DmeSupplier,
    ] {
        if let Some(m) = tables.mue(setting) {
            let version = tables.version_of(Kind::Mue, Some(setting)).unwrap_or("MUE");
            if note(&mut out, m.get(key, d).is_some(), version, false) {
                return out;
            }
        }
    }
    if let Some(a) = tables.aoc.as_deref() {
        let version = tables.version_of(Kind::Aoc, None).unwrap_or("AOC");
        if note(&mut out, a.rows(key, d).next().is_some(), version, false) {
            return out;
        }
    }
    for fees in tables.fees.values() {
        if note(
            &mut out,
            fees.table.get(key, &[], d).is_some(),
            &fees.version,
            false,
        ) {
            return out;
        }
    }
    if !any_list {
        out.known = true;
    }
    if out.known {
        out.authoritative = false;
    }
    out
}

/// True when some loaded code list holds `code` on `date`, or none applies (fast path).
pub fn procedure_known(tables: &Tables, code: &str, date: NaiveDate) -> bool {
    lookup(tables, code, date, false).known
}

/// The code lists checked for `code` on `date`, for a finding's message.
pub fn procedure_lists(tables: &Tables, code: &str, date: NaiveDate) -> CodeLists {
    lookup(tables, code, date, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape("99213"), Some(Shape::Cpt));
        assert_eq!(shape("3074F"), Some(Shape::Cpt));
        assert_eq!(shape("0591T"), Some(Shape::Cpt));
        assert_eq!(shape("0001U"), Some(Shape::Lab));
        assert_eq!(shape("G0439"), Some(Shape::LevelTwo));
        assert_eq!(shape("9921"), None);
        assert_eq!(shape("99F13"), None);
    }

    #[test]
    fn without_tables_nothing_is_judged() {
        let t = Tables::default();
        assert!(procedure_known(&t, "99999", NaiveDate::default()));
        let l = procedure_lists(&t, "99999", NaiveDate::default());
        assert!(l.known && l.checked.is_empty() && !l.authoritative);
    }
}

/// What is wrong with one line's procedure code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeProblem {
    /// A HCPCS Level II code used after its termination date.
    Terminated {
        /// Last valid date of service.
        terminated: NaiveDate,
    },
    /// A HCPCS Level II code used before its added date.
    NotYetEffective {
        /// First valid date of service.
        added: NaiveDate,
    },
    /// In none of the loaded code lists.
    Unknown(CodeLists),
}

/// One line whose procedure code is not valid on its date of service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineCodeProblem {
    /// 0-based position of the line in the claim.
    pub index: usize,
    /// The line number.
    pub line: u32,
    /// What is wrong.
    pub problem: CodeProblem,
    /// The HCPCS description, when the HCPCS file has the code.
    pub description: String,
}

/// Every line of `claim` whose procedure code is terminated, not yet effective (HCPCS Level
/// II, by the HCPCS file's dates) or in none of the loaded code lists: one call per claim, so
/// the usual clean claim costs a hash lookup per line.
pub fn problems(claim: &crate::claim::Claim, tables: &Tables) -> Vec<LineCodeProblem> {
    let mut out = Vec::new();
    for (index, l) in claim.lines.iter().enumerate() {
        let code = l.procedure_code.as_str();
        if shape(code) == Some(Shape::LevelTwo)
            && let Some(entry) = tables
                .hcpcs
                .as_deref()
                .and_then(|h| pack_proc(code).and_then(|k| h.get(k)))
        {
            let d = day(l.service_date);
            if !entry.window.contains(d) {
                let problem = if d > entry.window.end {
                    crate::tables::code::date_of(entry.window.end)
                        .map(|terminated| CodeProblem::Terminated { terminated })
                } else {
                    crate::tables::code::date_of(entry.window.start)
                        .map(|added| CodeProblem::NotYetEffective { added })
                };
                if let Some(problem) = problem {
                    out.push(LineCodeProblem {
                        index,
                        line: l.number,
                        problem,
                        description: entry.description.to_string(),
                    });
                }
            }
            continue;
        }
        if procedure_known(tables, code, l.service_date) {
            continue;
        }
        out.push(LineCodeProblem {
            index,
            line: l.number,
            problem: CodeProblem::Unknown(procedure_lists(tables, code, l.service_date)),
            description: String::new(),
        });
    }
    out
}
