//! NCCI procedure-to-procedure (PTP) edits on a claim: which column-one/column-two pairs
//! billed by the same provider on the same date CMS edits, and whether an NCCI-associated
//! modifier bypasses the edit (NCCI Policy Manual, Ch. I §E; modifier indicators 0/1/9 as
//! published with the PTP tables).

use std::collections::BTreeMap;

use crate::claim::codes::code_matches;
use crate::claim::{Claim, ClaimType, Line};
use crate::tables::code::{day, pack_proc};
use crate::tables::{Kind, Tables, Window, setting_for};

/// Modifiers that may bypass a PTP edit with modifier indicator 1 (NCCI Policy Manual,
/// Ch. I §E "Modifiers and Modifier Indicators"): anatomic E1–E4, FA, F1–F9, TA, T1–T9, LT,
/// RT, LC, LD, RC, LM, RI; global surgery 24, 25, 57, 58, 78, 79; and 27, 59, 91, XE, XS,
/// XP, XU.
pub const NCCI_MODIFIERS: &[&str] = &[
    "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "TA", "T1",
    "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LT", "RT", "LC", "LD", "RC", "LM", "RI", "24",
    "25", "57", "58", "78", "79", "27", "59", "91", "XE", "XS", "XP", "XU",
];

/// Anatomic NCCI-associated modifiers: they bypass an edit only when the two lines name
/// different sites.
const ANATOMIC: &[&str] = &[
    "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "TA", "T1",
    "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LT", "RT", "LC", "LD", "RC", "LM", "RI",
];

/// E/M services for modifier 25: 99202-99499, the hospital outpatient clinic visit G0463, and
/// the general ophthalmological services 92002-92014, which the NCCI Policy Manual treats as
/// E/M services (Ch. XI, "Evaluation and Management Services"; the modifier-conflicts rule
/// already counts them so).
fn is_em(code: &str) -> bool {
    code_matches(code, "99202-99499") || code == "G0463" || code_matches(code, "92002-92014")
}

/// The NCCI-associated modifier that bypasses the edit for the line pair (column one `a`,
/// column two `b`), if any. Per NCCI Policy Manual Ch. I §E the modifier may be on either
/// code; 25 counts only on an E/M line, 91 only on a laboratory line (80000-89999), and
/// anatomic modifiers only when the two lines name different sites.
fn pair_bypass<'a>(a: &'a Line, b: &'a Line) -> Option<&'a str> {
    let counts = |line: &Line, m: &str| match m {
        "25" => is_em(&line.procedure_code),
        "91" => code_matches(&line.procedure_code, "80000-89999"),
        _ => true,
    };
    let other = |line: &'a Line| {
        line.modifiers
            .iter()
            .map(String::as_str)
            .find(|m| NCCI_MODIFIERS.contains(m) && !ANATOMIC.contains(m) && counts(line, m))
    };
    if let Some(m) = other(b).or_else(|| other(a)) {
        return Some(m);
    }
    let sites = |line: &'a Line| {
        let mut v: Vec<&str> = line
            .modifiers
            .iter()
            .map(String::as_str)
            .filter(|m| ANATOMIC.contains(m))
            .collect();
        v.sort_unstable();
        v
    };
    let (sa, sb) = (sites(a), sites(b));
    if sa != sb {
        return sb.first().or(sa.first()).copied();
    }
    None
}

/// True when a bypass of the pair (`a`, `b`) by `modifier` is one NCCI policy allows. For an
/// edit between an E/M service and a procedure only 25 (significant, separately identifiable
/// E/M) or 57 (decision for surgery) on the E/M line shows the E/M was separate; 59, the X{EPSU}
/// modifiers and anatomic modifiers are not to be used to bypass an edit with an E/M service
/// (NCCI Policy Manual for Medicare Services, Ch. I §E "Modifiers and Modifier Indicators" and
/// Ch. XI "Evaluation and Management Services"). Claim systems may still accept them, so such
/// a bypass is paid but does not survive an audit.
fn policy_allows(a: &Line, b: &Line, modifier: &str) -> bool {
    let em = [a, b].into_iter().find(|l| is_em(&l.procedure_code));
    match em {
        None => true,
        Some(em) => matches!(modifier, "25" | "57") && em.modifiers.iter().any(|m| m == modifier),
    }
}

/// The bypass NCCI policy allows for an E/M pair: 25 or 57 on the E/M line.
fn em_policy_bypass<'a>(a: &'a Line, b: &'a Line) -> Option<&'a str> {
    let em = [a, b].into_iter().find(|l| is_em(&l.procedure_code))?;
    em.modifiers
        .iter()
        .map(String::as_str)
        .find(|m| matches!(*m, "25" | "57"))
}

/// One NCCI PTP edit that applies to a line of a claim: the column-two line and every
/// column-one line billed by the same provider on the same date.
#[derive(Debug, Clone)]
pub struct PtpHit<'a> {
    /// Column-one code (packed).
    pub column1: u32,
    /// Column-two code (packed).
    pub column2: u32,
    /// The column-two line's number.
    pub line: u32,
    /// The column-one lines' numbers.
    pub column1_lines: Vec<u32>,
    /// The shared date of service.
    pub date: chrono::NaiveDate,
    /// Modifier indicator 0, 1 or 9.
    pub modifier_indicator: u8,
    /// CMS's rationale.
    pub rationale: &'a str,
    /// The edit's effective window.
    pub window: Window,
    /// The NCCI-associated modifier that bypasses the edit for every pairing, or "".
    pub bypass: &'a str,
    /// False when the bypass is one claim systems accept but NCCI policy does not allow (59,
    /// X{EPSU} or an anatomic modifier on an E/M pair instead of 25/57 on the E/M line).
    pub bypass_allowed: bool,
}

/// The PTP edits that apply to `claim` (indexed lookups per date and provider, no pair
/// loops in scripts): what `claim.ptp_conflicts()` returns to rules, and the table version.
pub fn hits<'a>(claim: &'a Claim, tables: &'a Tables) -> (Vec<PtpHit<'a>>, &'a str) {
    let setting = setting_for(claim);
    let Some(table) = tables.ptp(setting).filter(|_| super::ncci_applies(claim)) else {
        return (Vec::new(), "");
    };
    let version = tables
        .version_of(Kind::NcciPtp, Some(setting))
        .unwrap_or("");
    // PTP edits apply to services of the same provider on the same date: professional lines
    // are grouped by date and rendering NPI, institutional lines (one facility) by date.
    let professional = claim.claim_type == ClaimType::Professional;
    let mut groups: BTreeMap<(chrono::NaiveDate, &str), Vec<(usize, u32)>> = BTreeMap::new();
    for (i, l) in claim.lines.iter().enumerate() {
        if let Some(code) = pack_proc(&l.procedure_code) {
            let npi = if professional {
                l.rendering_provider.npi.as_str()
            } else {
                ""
            };
            groups
                .entry((l.service_date, npi))
                .or_default()
                .push((i, code));
        }
    }
    let mut out = Vec::new();
    let mut edits = Vec::new();
    for ((date, _), lines) in groups {
        let mut codes: Vec<u32> = lines.iter().map(|(_, c)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() < 2 {
            continue;
        }
        edits.clear();
        table.conflicts_among(&codes, day(date), &mut edits);
        for e in &edits {
            let col1_lines: Vec<usize> = lines
                .iter()
                .filter(|(_, c)| *c == e.column1)
                .map(|(i, _)| *i)
                .collect();
            for (i2, _) in lines.iter().filter(|(_, c)| *c == e.column2) {
                let l2 = &claim.lines[*i2];
                // Bypassed only if every column-one line pairs with this line through a
                // qualifying modifier: one unmodified pair is enough for the edit to apply.
                // An E/M pair's proper bypass (25/57 on the E/M line) is preferred over any
                // other modifier a claim system would also accept.
                let bypasses: Vec<Option<&str>> = col1_lines
                    .iter()
                    .map(|i1| {
                        let l1 = &claim.lines[*i1];
                        em_policy_bypass(l1, l2).or_else(|| pair_bypass(l1, l2))
                    })
                    .collect();
                let (bypass, bypass_allowed) = if bypasses.iter().all(Option::is_some) {
                    let allowed = col1_lines
                        .iter()
                        .zip(&bypasses)
                        .all(|(i1, m)| policy_allows(&claim.lines[*i1], l2, m.unwrap_or("")));
                    (bypasses.first().copied().flatten().unwrap_or(""), allowed)
                } else {
                    ("", true)
                };
                out.push(PtpHit {
                    column1: e.column1,
                    column2: e.column2,
                    line: l2.number,
                    column1_lines: col1_lines.iter().map(|i| claim.lines[*i].number).collect(),
                    date,
                    modifier_indicator: e.modifier_indicator,
                    rationale: e.rationale,
                    window: e.window,
                    bypass,
                    bypass_allowed,
                });
            }
        }
    }
    (out, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(code: &str, modifiers: &[&str]) -> Line {
        Line::for_test(code, modifiers)
    }

    #[test]
    fn modifier_25_counts_on_eye_exam_codes_as_on_other_e_m() {
        // 92012 (established patient eye exam) with 25 beside a minor procedure on the same day.
        let exam = line("92012", &["25"]);
        let procedure = line("65205", &[]);
        assert_eq!(pair_bypass(&procedure, &exam), Some("25"));
        assert_eq!(pair_bypass(&procedure, &line("99213", &["25"])), Some("25"));
        // 25 on a code that is not an E/M service bypasses nothing.
        assert_eq!(pair_bypass(&procedure, &line("92250", &["25"])), None);
    }

    #[test]
    fn e_m_bypass_policy() {
        let procedure = line("20610", &[]);
        // 25 on the E/M: the bypass policy allows.
        assert!(policy_allows(&procedure, &line("99213", &["25"]), "25"));
        // 59 on the E/M, or RT on the procedure: accepted by claim systems, not by policy.
        assert!(!policy_allows(&procedure, &line("99213", &["59"]), "59"));
        assert!(!policy_allows(
            &line("20610", &["RT"]),
            &line("99213", &[]),
            "RT"
        ));
        // Two procedures: any NCCI-associated modifier is a proper bypass.
        assert!(policy_allows(&procedure, &line("76942", &["59"]), "59"));
        assert_eq!(
            em_policy_bypass(&line("20610", &["59"]), &line("99213", &["25"])),
            Some("25")
        );
    }
}
