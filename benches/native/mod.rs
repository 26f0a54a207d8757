//! The bundled edit pack hand-written in plain Rust: the baseline the scripted rules are
//! measured against (issue #7). Bench-only code, also compiled by `tests/native_baseline.rs`,
//! which checks that it finds exactly what the scripts find.
//!
//! Each function mirrors one file in `rules/` and uses the same indexed table helpers the
//! scripts call (`claimscrub::edits`: PTP, MUE, add-on and MCE hits, and the table lookups), so the measured ratio is the cost
//! of scripting, not of a different algorithm. Messages are not built: a finding here is the
//! rule, the lines, the severity and the CARC — what the equality check compares.

#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use claimscrub::claim::codes::{code_matches, npi_check_digit_ok, pos_assigned, pos_in_force};
use claimscrub::claim::{Claim, ClaimType, PayerType};
use claimscrub::edits::{addon, codes, mce, mue, pfs_modifiers, ptp};
use claimscrub::finding::Severity;
use claimscrub::tables::code::{day, pack_proc};
use claimscrub::tables::{Kind, Tables};

/// What the equality check compares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NativeFinding {
    /// Rule id.
    pub rule_id: &'static str,
    /// Sorted, unique line numbers.
    pub lines: Vec<u32>,
    /// Severity name.
    pub severity: &'static str,
    /// CARC.
    pub carc: &'static str,
}

fn f(
    rule_id: &'static str,
    mut lines: Vec<u32>,
    severity: Severity,
    carc: &'static str,
) -> NativeFinding {
    lines.sort_unstable();
    lines.dedup();
    NativeFinding {
        rule_id,
        lines,
        severity: severity.as_str(),
        carc,
    }
}

/// Every rule of the pack on one claim, findings sorted.
pub fn scrub(claim: &Claim, tables: &Tables, today: NaiveDate) -> Vec<NativeFinding> {
    let mut out = Vec::new();
    addon_code(claim, tables, &mut out);
    charge_positive(claim, tables, &mut out);
    diagnosis_pointer(claim, &mut out);
    duplicate_line(claim, &mut out);
    future_date_of_service(claim, today, &mut out);
    icd10_validity(claim, tables, &mut out);
    mce_age_sex(claim, tables, &mut out);
    modifier_conflicts(claim, &mut out);
    modifier_validity(claim, tables, &mut out);
    for c in pfs_modifiers::conflicts(claim, tables).0 {
        out.push(f("pfs-modifiers", vec![c.line], c.severity, c.carc));
    }
    mue(claim, tables, &mut out);
    ncci_ptp(claim, tables, &mut out);
    necessity(
        claim,
        "necessity-b12-folate",
        &["82607", "82746"],
        &[
            "D51.*", "D52.*", "D53.*", "D64.9", "E53.8", "E56.*", "F01-F03", "G30.*", "G62.*",
            "G63", "K90.*", "K91.2", "R41.*", "R53.8*", "Z79.899",
        ],
        &mut out,
    );
    necessity(
        claim,
        "necessity-hba1c",
        &["83036", "83037"],
        &[
            "E08-E13", "O24.*", "R73.*", "R81", "Z79.4", "Z79.84", "E16.*", "E88.81",
        ],
        &mut out,
    );
    necessity(
        claim,
        "necessity-vitamin-d",
        &["82306", "82652"],
        &[
            "E20.*", "E21.*", "E55.*", "E83.3*", "E83.51", "E83.52", "E84.*", "M81.*", "M83.*",
            "M85.9", "N18.3*", "N18.4", "N18.5", "N18.6", "N25.81", "K90.*",
        ],
        &mut out,
    );
    npi_check_digit(claim, &mut out);
    place_of_service(claim, &mut out);
    procedure_code_validity(claim, tables, &mut out);
    timely_filing(claim, today, &mut out);
    units_positive(claim, &mut out);
    out.sort();
    out
}

fn lines_pointing_at(claim: &Claim, position: u32) -> Vec<u32> {
    claim
        .lines
        .iter()
        .filter(|l| l.diagnosis_pointers.contains(&position))
        .map(|l| l.number)
        .collect()
}

fn addon_code(claim: &Claim, tables: &Tables, out: &mut Vec<NativeFinding>) {
    for a in addon::lines(claim, tables).0 {
        let n = a.line.number;
        match a.edit_type {
            1 | 3 if a.primary_billed => {}
            1 => out.push(f("addon-code", vec![n], Severity::Error, "CO-107")),
            3 => out.push(f("addon-code", vec![n], Severity::Warning, "CO-107")),
            _ if !a.other_procedure_billed => {
                out.push(f("addon-code", vec![n], Severity::Warning, "CO-107"))
            }
            _ => {}
        }
    }
}

fn charge_positive(claim: &Claim, tables: &Tables, out: &mut Vec<NativeFinding>) {
    for l in &claim.lines {
        let measurement = || {
            tables.pfs_rvu_for(l.service_date).is_some_and(|t| {
                pack_proc(&l.procedure_code)
                    .and_then(|k| t.table.get(k, 0))
                    .is_some_and(|r| r.status == b'M')
            })
        };
        if l.charge_cents <= 0 && !l.procedure_code.ends_with('F') && !measurement() {
            out.push(f(
                "charge-positive",
                vec![l.number],
                Severity::Error,
                "CO-16",
            ));
        }
    }
}

fn diagnosis_pointer(claim: &Claim, out: &mut Vec<NativeFinding>) {
    if claim.claim_type != ClaimType::Professional {
        return;
    }
    if claim.diagnoses.is_empty() {
        out.push(f("diagnosis-pointer", vec![], Severity::Error, "CO-16"));
        return;
    }
    let missing: Vec<u32> = claim
        .lines
        .iter()
        .filter(|l| l.diagnosis_pointers.is_empty())
        .map(|l| l.number)
        .collect();
    if !missing.is_empty() {
        out.push(f("diagnosis-pointer", missing, Severity::Error, "CO-16"));
    }
}

fn duplicate_line(claim: &Claim, out: &mut Vec<NativeFinding>) {
    for group in claim.duplicate_line_groups() {
        out.push(f("duplicate-line", group, Severity::Error, "CO-18"));
    }
}

fn billed(claim: &Claim, today: NaiveDate) -> NaiveDate {
    claim.submission_date.unwrap_or(today)
}

fn future_date_of_service(claim: &Claim, today: NaiveDate, out: &mut Vec<NativeFinding>) {
    let billed = billed(claim, today);
    let late: Vec<u32> = claim
        .lines
        .iter()
        .filter(|l| l.service_date_to.unwrap_or(l.service_date) > billed)
        .map(|l| l.number)
        .collect();
    if !late.is_empty() {
        out.push(f("future-date-of-service", late, Severity::Error, "CO-110"));
    }
}

fn icd10_validity(claim: &Claim, tables: &Tables, out: &mut Vec<NativeFinding>) {
    let icd10_era = claim.code_set_date() >= NaiveDate::from_ymd_opt(2015, 10, 1).unwrap();
    for (i, dx) in claim.diagnoses.iter().enumerate() {
        if dx.icd9 && icd10_era {
            let lines = lines_pointing_at(claim, i as u32 + 1);
            out.push(f("icd10-validity", lines, Severity::Error, "CO-16"));
        }
    }
    if tables.icd10.is_empty() {
        return;
    }
    let Some(set) = tables.icd10_for(claim.code_set_date()) else {
        out.push(f("icd10-validity", Vec::new(), Severity::Warning, ""));
        return;
    };
    for (i, dx) in claim.diagnoses.iter().enumerate().filter(|(_, d)| !d.icd9) {
        let compact: String = dx.code.chars().filter(|c| *c != '.').collect();
        let entry = set.table.get(&compact);
        if entry.is_some_and(|e| e.billable) {
            continue;
        }
        if entry.is_none() && tables.is_partial(Kind::Icd10cm) && !set.table.has_children(&compact)
        {
            continue;
        }
        let lines = lines_pointing_at(claim, i as u32 + 1);
        let needs_more = entry.is_some() || set.table.has_children(&compact);
        let carc = if needs_more { "CO-16" } else { "CO-146" };
        out.push(f("icd10-validity", lines, Severity::Error, carc));
    }
}

fn mce_age_sex(claim: &Claim, tables: &Tables, out: &mut Vec<NativeFinding>) {
    for hit in mce::hits(claim, tables).0 {
        let carc = match hit.kind {
            "age" => "CO-9",
            "sex" => "CO-10",
            _ => "CO-16",
        };
        let lines = lines_pointing_at(claim, hit.position as u32);
        out.push(f("mce-age-sex", lines, Severity::Error, carc));
    }
}

fn modifier_conflicts(claim: &Claim, out: &mut Vec<NativeFinding>) {
    let is_em = |code: &str| {
        [
            "99202-99499",
            "92002-92014",
            "G0463",
            "G0402",
            "G0438",
            "G0439",
        ]
        .iter()
        .any(|p| code_matches(code, p))
    };
    for l in &claim.lines {
        let has = |m: &str| l.modifiers.iter().any(|x| x == m);
        let any = |ms: &[&str]| ms.iter().any(|m| has(m));
        let mut problems = 0;
        problems += usize::from(has("26") && has("TC"));
        problems += usize::from(has("50") && any(&["LT", "RT"]));
        problems += usize::from(has("59") && any(&["XE", "XS", "XP", "XU"]));
        problems += usize::from(has("GA") && has("GZ"));
        problems += usize::from(has("25") && !is_em(&l.procedure_code));
        for (i, m) in l.modifiers.iter().enumerate() {
            problems += usize::from(l.modifiers[..i].contains(m));
        }
        for _ in 0..problems {
            out.push(f(
                "modifier-conflicts",
                vec![l.number],
                Severity::Error,
                "CO-4",
            ));
        }
    }
}

fn mue(claim: &Claim, tables: &Tables, out: &mut Vec<NativeFinding>) {
    for m in mue::counts(claim, tables).0 {
        if m.exceeds() {
            out.push(f("mue", m.lines, Severity::Error, "CO-151"));
        }
    }
}

fn ncci_ptp(claim: &Claim, tables: &Tables, out: &mut Vec<NativeFinding>) {
    for hit in ptp::hits(claim, tables).0 {
        if hit.modifier_indicator == 1 && !hit.bypass.is_empty() && !hit.bypass_allowed {
            let mut lines = hit.column1_lines.clone();
            lines.push(hit.line);
            out.push(f("ncci-ptp", lines, Severity::Warning, "CO-97"));
            continue;
        }
        if hit.modifier_indicator == 9 || (hit.modifier_indicator == 1 && !hit.bypass.is_empty()) {
            continue;
        }
        let mut lines = hit.column1_lines.clone();
        lines.push(hit.line);
        let carc = if hit.modifier_indicator == 0 {
            "CO-236"
        } else {
            "CO-97"
        };
        out.push(f("ncci-ptp", lines, Severity::Error, carc));
    }
}

fn necessity(
    claim: &Claim,
    rule_id: &'static str,
    codes: &[&str],
    covered: &[&str],
    out: &mut Vec<NativeFinding>,
) {
    if claim.payer_type != PayerType::Medicare {
        return;
    }
    for l in &claim.lines {
        if !codes.iter().any(|c| code_matches(&l.procedure_code, c)) {
            continue;
        }
        let supported = claim
            .line_diagnoses(l)
            .any(|dx| covered.iter().any(|c| code_matches(&dx.code, c)));
        if supported {
            continue;
        }
        let has = |m: &str| l.modifiers.iter().any(|x| x == m);
        let (severity, carc) = if has("GA") {
            (Severity::Info, "PR-50")
        } else if has("GZ") {
            (Severity::Warning, "CO-50")
        } else if has("GY") {
            (Severity::Info, "PR-96")
        } else {
            (Severity::Error, "CO-50")
        };
        out.push(f(rule_id, vec![l.number], severity, carc));
    }
}

fn npi_check_digit(claim: &Claim, out: &mut Vec<NativeFinding>) {
    let npi = &claim.billing_provider.npi;
    if npi.is_empty() || !npi_check_digit_ok(npi) {
        out.push(f("npi-check-digit", vec![], Severity::Error, "CO-16"));
    }
    let mut bad: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for l in &claim.lines {
        let npi = l.rendering_provider.npi.as_str();
        if !npi.is_empty() && !npi_check_digit_ok(npi) {
            bad.entry(npi).or_default().push(l.number);
        }
    }
    for lines in bad.into_values() {
        out.push(f("npi-check-digit", lines, Severity::Error, "CO-16"));
    }
}

fn place_of_service(claim: &Claim, out: &mut Vec<NativeFinding>) {
    if claim.claim_type != ClaimType::Professional {
        return;
    }
    let mut missing = Vec::new();
    let mut invalid: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut early: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for l in &claim.lines {
        let pos = l.place_of_service.as_str();
        if pos.is_empty() {
            missing.push(l.number);
        } else if !pos_assigned(pos) {
            invalid.entry(pos).or_default().push(l.number);
        } else if !pos_in_force(pos, l.service_date) {
            early.entry(pos).or_default().push(l.number);
        }
    }
    if !missing.is_empty() {
        out.push(f("place-of-service", missing, Severity::Error, "CO-16"));
    }
    for lines in invalid.into_values().chain(early.into_values()) {
        out.push(f("place-of-service", lines, Severity::Error, "CO-16"));
    }
}

fn modifier_validity(claim: &Claim, tables: &Tables, out: &mut Vec<NativeFinding>) {
    let Some(table) = tables.modifiers.as_deref() else {
        return;
    };
    let partial = tables.is_partial(Kind::Modifier);
    for l in &claim.lines {
        for m in &l.modifiers {
            match table.get(m) {
                None if partial => {}
                Some(e) if e.window.contains(day(l.service_date)) => {}
                _ => out.push(f(
                    "modifier-validity",
                    vec![l.number],
                    Severity::Error,
                    "CO-4",
                )),
            }
        }
    }
}

fn procedure_code_validity(claim: &Claim, tables: &Tables, out: &mut Vec<NativeFinding>) {
    for p in codes::problems(claim, tables) {
        let severity = match &p.problem {
            codes::CodeProblem::Unknown(l) if !l.authoritative => Severity::Warning,
            _ => Severity::Error,
        };
        out.push(f(
            "procedure-code-validity",
            vec![p.line],
            severity,
            "CO-181",
        ));
    }
}

fn timely_filing(claim: &Claim, today: NaiveDate, out: &mut Vec<NativeFinding>) {
    if claim.payer_type != PayerType::Medicare {
        return;
    }
    let billed = billed(claim, today);
    let (mut late, mut soon) = (Vec::new(), Vec::new());
    for l in &claim.lines {
        let start = if claim.claim_type == ClaimType::Institutional {
            claim.last_service_date()
        } else {
            l.service_date
        };
        let Some(limit) = start
            .checked_add_months(Months::new(12))
            .map(claimscrub::claim::dates::next_business_day)
        else {
            continue;
        };
        if billed > limit {
            late.push(l.number);
        } else if (limit - billed).num_days() <= 30 {
            soon.push(l.number);
        }
    }
    if !late.is_empty() {
        out.push(f("timely-filing", late, Severity::Error, "CO-29"));
    }
    if !soon.is_empty() {
        out.push(f("timely-filing", soon, Severity::Info, "CO-29"));
    }
}

fn units_positive(claim: &Claim, out: &mut Vec<NativeFinding>) {
    for l in &claim.lines {
        if l.units <= 0.0 {
            out.push(f(
                "units-positive",
                vec![l.number],
                Severity::Error,
                "CO-16",
            ));
        }
    }
}
