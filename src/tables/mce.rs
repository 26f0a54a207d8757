//! Medicare Code Editor (MCE) age, sex and manifestation edits.
//!
//! The MCE (CMS "Definitions of Medicare Code Edits", edits 4, 5 and 7) flags diagnoses that
//! are inconsistent with the patient's age (Perinatal/Newborn: age 0; Pediatric: 0–17;
//! Maternity: 9–64; Adult: 15–124) or sex (female-only, male-only), and manifestation codes,
//! which describe a manifestation of an underlying disease and may not be the principal
//! diagnosis.

use std::collections::HashMap;

use super::code::pack_icd;
use super::read::{Header, Input, TableError, field, for_each_tsv_line, row_err};
use crate::claim::Sex;

/// An MCE age group with its inclusive age range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeEdit {
    /// Youngest age in years for which the code is consistent.
    pub min: u8,
    /// Oldest age.
    pub max: u8,
    /// CMS's name of the group.
    pub label: &'static str,
}

/// MCE flags of one diagnosis code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MceFlags {
    /// Age edit, if any.
    pub age: Option<AgeEdit>,
    /// The only sex the code is consistent with, if restricted.
    pub sex: Option<Sex>,
    /// Manifestation code: not allowed as principal diagnosis.
    pub manifestation: bool,
}

const NEWBORN: AgeEdit = AgeEdit {
    min: 0,
    max: 0,
    label: "Perinatal/Newborn (age 0)",
};
const PEDIATRIC: AgeEdit = AgeEdit {
    min: 0,
    max: 17,
    label: "Pediatric (ages 0-17)",
};
const MATERNITY: AgeEdit = AgeEdit {
    min: 9,
    max: 64,
    label: "Maternity (ages 9-64)",
};
const ADULT: AgeEdit = AgeEdit {
    min: 15,
    max: 124,
    label: "Adult (ages 15-124)",
};

/// MCE lists keyed by diagnosis code.
#[derive(Debug, Default)]
pub struct MceTable {
    codes: HashMap<u64, MceFlags>,
}

impl MceTable {
    /// Number of codes with any flag.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Flags of a code (dotted or not).
    pub fn get(&self, code: &str) -> Option<&MceFlags> {
        self.codes.get(&pack_icd(code)?)
    }

    /// Tab-separated: `icd_code [icd_description] icd_conflict_group icd_conflict_rule`, the
    /// rule text as in CMS's lists ("Maternity (Ages 9-64)", "Female Only",
    /// "Manifestation (Not Allowed as Principal Diagnosis)").
    pub fn load_tsv(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        let mut cols = None;
        for_each_tsv_line(input, |line, f| {
            let Some((ci, ri)) = cols else {
                let h = Header::new(f);
                cols = Some((
                    h.required(&name, "icd_code")?,
                    h.required(&name, "icd_conflict_rule")?,
                ));
                return Ok(());
            };
            let code = field(f, ci);
            let key = pack_icd(code).ok_or_else(|| {
                row_err(
                    &name,
                    line,
                    format!("ICD-10-CM code {code:?} must be 3-7 letters or digits"),
                )
            })?;
            let rule = field(f, ri).to_ascii_lowercase();
            let flags = self.codes.entry(key).or_default();
            if rule.contains("newborn") || rule.contains("perinatal") {
                flags.age = Some(NEWBORN);
            } else if rule.contains("pediatric") {
                flags.age = Some(PEDIATRIC);
            } else if rule.contains("maternity") {
                flags.age = Some(MATERNITY);
            } else if rule.contains("adult") {
                flags.age = Some(ADULT);
            } else if rule.contains("female") {
                flags.sex = Some(Sex::Female);
            } else if rule.contains("male") {
                flags.sex = Some(Sex::Male);
            } else if rule.contains("manifestation") {
                flags.manifestation = true;
            } else {
                return Err(row_err(
                    &name,
                    line,
                    format!(
                        "unknown MCE rule {:?} (expected an age group, Female Only, Male Only or Manifestation)",
                        field(f, ri)
                    ),
                ));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cms_rule_texts() {
        let text = "icd_code\ticd_description\ticd_conflict_group\ticd_conflict_rule\n\
O09.90\tSupervision of high risk pregnancy\tAge\tMaternity (Ages 9-64)\n\
O09.90\tSupervision of high risk pregnancy\tSex\tFemale Only\n\
N40.0\tBPH\tSex\tMale Only\n\
G01\tMeningitis in bacterial diseases classified elsewhere\tOther\tManifestation (Not Allowed as Principal Diagnosis)\n";
        let mut t = MceTable::default();
        t.load_tsv(&mut Input {
            name: "m.tsv".into(),
            reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        })
        .unwrap();
        let o = t.get("O0990").unwrap();
        assert_eq!(
            (o.age.unwrap().min, o.age.unwrap().max, o.sex),
            (9, 64, Some(Sex::Female))
        );
        assert_eq!(t.get("N40.0").unwrap().sex, Some(Sex::Male));
        assert!(t.get("G01").unwrap().manifestation);
    }
}
