//! Medicare Code Editor (MCE) conflicts of a claim's diagnoses: age and sex conflicts and a
//! manifestation code as principal diagnosis (CMS MCE, "Definitions of Medicare Code Edits").
//!
//! The lists are judged by the fiscal year of the claim's code-set date
//! ([`Claim::code_set_date`]): each manifest entry may carry its fiscal-year window. CMS
//! deleted the MCE's sex conflict edit and its code lists from MCE version 42 (FY2025,
//! discharges on or after 1 October 2024; FY 2025 IPPS/LTCH PPS final rule, CMS-1808-F,
//! "Changes to the Medicare Code Editor"), so sex conflicts are only reported for earlier dates,
//! whatever the loaded list holds.

use chrono::NaiveDate;

use crate::claim::{Claim, Sex};
use crate::tables::Tables;

/// The first date the MCE no longer has a sex conflict edit (MCE v42, FY2025).
pub const SEX_EDIT_RETIRED: NaiveDate = match NaiveDate::from_ymd_opt(2024, 10, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// One Medicare Code Editor conflict of a claim's diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MceHit {
    /// The diagnosis code.
    pub code: String,
    /// Its 1-based position on the claim.
    pub position: usize,
    /// "age", "sex" or "manifestation".
    pub kind: &'static str,
    /// The rule, in words.
    pub rule: String,
}

/// The MCE age, sex and manifestation conflicts of `claim`: what `claim.mce_conflicts()`
/// returns to rules, and the table version.
pub fn hits<'a>(claim: &Claim, tables: &'a Tables) -> (Vec<MceHit>, &'a str) {
    let date = claim.code_set_date();
    let Some(dated) = tables.mce_for(date) else {
        return (Vec::new(), "");
    };
    let (table, version) = (&dated.table, dated.version.as_str());
    let sex_edit = date < SEX_EDIT_RETIRED;
    let age = claim.patient_age_on(claim.first_service_date());
    let mut out = Vec::new();
    for (i, dx) in claim.diagnoses.iter().enumerate() {
        let Some(flags) = table.get(&dx.code) else {
            continue;
        };
        let mut push = |kind: &'static str, rule: String| {
            out.push(MceHit {
                code: dx.code.clone(),
                position: i + 1,
                kind,
                rule,
            })
        };
        if let (Some(edit), Some(age)) = (flags.age, age)
            && (age < u32::from(edit.min) || age > u32::from(edit.max))
        {
            push("age", format!("{} diagnosis; patient is {age}", edit.label));
        }
        if let Some(sex) = flags.sex
            && sex_edit
            && claim.sex != Sex::Unknown
            && claim.sex != sex
        {
            push(
                "sex",
                format!(
                    "{} only diagnosis; patient is {}",
                    sex.as_str(),
                    claim.sex.as_str()
                ),
            );
        }
        if i == 0 && flags.manifestation {
            push(
                "manifestation",
                "manifestation code: not allowed as principal diagnosis".into(),
            );
        }
    }
    (out, version)
}
