//! Medicare Code Editor (MCE) conflicts of a claim's diagnoses: age and sex conflicts and a
//! manifestation code as principal diagnosis (CMS MCE, "Definitions of Medicare Code Edits").

use crate::claim::{Claim, Sex};
use crate::tables::{Kind, Tables};

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
    let Some(table) = tables.mce.as_deref() else {
        return (Vec::new(), "");
    };
    let version = tables.version_of(Kind::Mce, None).unwrap_or("");
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
