//! ICD-10-CM code set: every category, subcategory and code with its billable flag.
//!
//! Only codes at the highest level of detail ("billable", "valid for HIPAA-covered
//! transactions") may be reported; a category that has subdivisions needs more characters
//! (ICD-10-CM Official Guidelines for Coding and Reporting, Section I.B.2). CMS publishes one
//! code set per fiscal year (1 October – 30 September); each manifest entry may carry the
//! window it is valid for.

use std::collections::HashMap;

use super::code::pack_icd;
use super::read::{Header, Input, TableError, field, for_each_tsv_line, row_err};

/// One code of the code set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcdEntry<'a> {
    /// Whether the code may be reported.
    pub billable: bool,
    /// Long description.
    pub description: &'a str,
}

/// One fiscal year's ICD-10-CM code set.
#[derive(Debug, Default)]
pub struct Icd10Table {
    codes: HashMap<u64, (bool, u32)>,
    descriptions: Vec<Box<str>>,
}

impl Icd10Table {
    /// Number of codes.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Looks up a code (dotted or not).
    pub fn get(&self, code: &str) -> Option<IcdEntry<'_>> {
        let (billable, d) = *self.codes.get(&pack_icd(code)?)?;
        Some(IcdEntry {
            billable,
            description: self.descriptions.get(d as usize).map_or("", |s| s),
        })
    }

    /// True if some billable code starts with `code` (so it "needs more characters").
    pub fn has_children(&self, code: &str) -> bool {
        let compact: String = code
            .chars()
            .filter(|c| *c != '.')
            .collect::<String>()
            .to_ascii_uppercase();
        (compact.len() < 7)
            && ('0'..='9').chain('A'..='Z').any(|c| {
                let child = format!("{compact}{c}");
                self.codes.contains_key(&pack_icd(&child).unwrap_or(0))
            })
    }

    fn push(
        &mut self,
        name: &str,
        line: u64,
        code: &str,
        billable: bool,
        description: &str,
    ) -> Result<(), TableError> {
        let key = pack_icd(code).ok_or_else(|| {
            row_err(
                name,
                line,
                format!("ICD-10-CM code {code:?} must be 3-7 letters or digits"),
            )
        })?;
        self.descriptions.push(description.trim().into());
        self.codes
            .insert(key, (billable, (self.descriptions.len() - 1) as u32));
        Ok(())
    }

    /// CMS's order file (`icd10cm_order_YYYY.txt`), fixed width: order number (1–5), code
    /// (7–13), billable flag 0/1 (15), short description (17–76), long description (78–).
    pub fn load_cms(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        let mut buf = String::new();
        let mut line = 0u64;
        loop {
            buf.clear();
            let mut bytes = Vec::new();
            let n = std::io::BufRead::read_until(&mut input.reader, b'\n', &mut bytes).map_err(
                |e| TableError::Io {
                    file: name.clone(),
                    message: e.to_string(),
                },
            )?;
            if n == 0 {
                return Ok(());
            }
            line += 1;
            buf.push_str(&String::from_utf8_lossy(&bytes));
            let l = buf.trim_end_matches(['\r', '\n']);
            if l.trim().is_empty() {
                continue;
            }
            if l.len() < 16 || !l.is_char_boundary(15) {
                return Err(row_err(
                    &name,
                    line,
                    "line is too short for the CMS order-file layout",
                ));
            }
            let code = l[6..13.min(l.len())].trim();
            let billable = match &l[14..15] {
                "1" => true,
                "0" => false,
                other => {
                    return Err(row_err(
                        &name,
                        line,
                        format!("billable flag {other:?} must be 0 or 1"),
                    ));
                }
            };
            let long = l.get(77..).unwrap_or_else(|| l.get(16..).unwrap_or(""));
            self.push(&name, line, code, billable, long)?;
        }
    }

    /// Tab-separated with a header. Code column `code_nodot` or `code`; optional `billable`
    /// (Y/N or 1/0, default Y); description `description`, `long_description` or
    /// `short_description`; rows whose `kind` is `chapter` or `block` are skipped.
    pub fn load_tsv(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        let mut cols = None;
        for_each_tsv_line(input, |line, f| {
            let Some((ci, bi, di, ki)) = cols else {
                let h = Header::new(f);
                let code = h.optional("code_nodot").or(h.optional("code"));
                let Some(code) = code else {
                    return Err(row_err(
                        &name,
                        1,
                        "the header has no `code` or `code_nodot` column",
                    ));
                };
                let desc = h
                    .optional("description")
                    .or(h.optional("long_description"))
                    .or(h.optional("short_description"));
                cols = Some((code, h.optional("billable"), desc, h.optional("kind")));
                return Ok(());
            };
            if let Some(k) = ki
                && matches!(field(f, k), "chapter" | "block")
            {
                return Ok(());
            }
            let billable = match bi.map(|i| field(f, i)) {
                None => true,
                Some("Y" | "y" | "1" | "true") => true,
                Some("N" | "n" | "0" | "false") => false,
                Some(other) => {
                    return Err(row_err(
                        &name,
                        line,
                        format!("billable {other:?} must be Y/N or 1/0"),
                    ));
                }
            };
            self.push(
                &name,
                line,
                field(f, ci),
                billable,
                di.map_or("", |i| field(f, i)),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, text: &str) -> Input {
        Input {
            name: name.into(),
            reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        }
    }

    #[test]
    fn cms_order_file() {
        let text = "00001 A00     0 Cholera                                                      Cholera\n\
00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae           Cholera due to Vibrio cholerae 01, biovar cholerae\n";
        let mut t = Icd10Table::default();
        t.load_cms(&mut input("o.txt", text)).unwrap();
        assert!(!t.get("A00").unwrap().billable);
        let e = t.get("A00.0").unwrap();
        assert!(e.billable);
        assert_eq!(
            e.description,
            "Cholera due to Vibrio cholerae 01, biovar cholerae"
        );
        assert!(t.has_children("A00"));
        assert!(!t.has_children("A00.0"));
    }

    #[test]
    fn tsv_all_items_skips_chapters() {
        let text = "code\tcode_nodot\tkind\tbillable\tdescription\n1\t1\tchapter\tN\tInfectious\nE11\tE11\tcategory\tN\tType 2 diabetes mellitus\nE11.9\tE119\tcode\tY\tType 2 diabetes mellitus without complications\n";
        let mut t = Icd10Table::default();
        t.load_tsv(&mut input("i.tsv", text)).unwrap();
        assert_eq!(t.len(), 2);
        assert!(t.get("e119").unwrap().billable);
        assert!(t.get("Z99.Z").is_none());
        let bad = "code\tbillable\nE11\tmaybe\n";
        let err = Icd10Table::default()
            .load_tsv(&mut input("b.tsv", bad))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "b.tsv:2: billable \"maybe\" must be Y/N or 1/0"
        );
    }
}
