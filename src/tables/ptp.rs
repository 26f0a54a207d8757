//! NCCI procedure-to-procedure (PTP) edits.
//!
//! CMS NCCI PTP edits pair a column-one code with a column-two code that is not separately
//! payable when both are billed by the same provider for the same patient on the same date of
//! service. Each row has an effective date, a deletion date (`*` = not deleted; the edit is in
//! force through the deletion date) and a modifier indicator: 0 = no modifier bypasses the
//! edit, 1 = an NCCI-associated modifier may bypass it, 9 = the edit is not applied (deleted
//! edits). (CMS, "NCCI Procedure-to-Procedure Edits", and NCCI Policy Manual, Ch. I §D–E.)
//!
//! Storage: rows sorted by (column 1, column 2, effective, deletion) as parallel arrays — 10
//! bytes a row — with a column-one index, so a claim's pairs are found by binary search
//! without loops over pairs in script.

use std::collections::HashMap;

use super::Window;
use super::code::pack_proc;
use super::read::{Header, Input, TableError, field, for_each_tsv_line, row_err};

/// One PTP edit row in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtpEdit<'a> {
    /// Column-one code (packed).
    pub column1: u32,
    /// Column-two code (packed).
    pub column2: u32,
    /// Effective and deletion dates.
    pub window: Window,
    /// 0, 1 or 9.
    pub modifier_indicator: u8,
    /// CMS rationale text.
    pub rationale: &'a str,
}

/// Collects rows from any number of files, then builds the table.
#[derive(Default)]
pub struct PtpBuilder {
    rows: Vec<(u32, u32, u16, u16, u8, u8)>,
    rationales: Vec<String>,
    rationale_ids: HashMap<String, u8>,
}

fn code(input: &str, line: u64, what: &str, text: &str) -> Result<u32, TableError> {
    pack_proc(text).ok_or_else(|| {
        row_err(
            input,
            line,
            format!("{what} {text:?} is not a 5-character procedure code"),
        )
    })
}

fn indicator(input: &str, line: u64, text: &str) -> Result<u8, TableError> {
    match text.trim() {
        "0" => Ok(0),
        "1" => Ok(1),
        "9" => Ok(9),
        other => Err(row_err(
            input,
            line,
            format!("modifier indicator {other:?} must be 0, 1 or 9"),
        )),
    }
}

impl PtpBuilder {
    fn rationale(&mut self, text: &str) -> u8 {
        if let Some(id) = self.rationale_ids.get(text) {
            return *id;
        }
        if self.rationales.len() >= 255 {
            return 255;
        }
        let id = self.rationales.len() as u8;
        self.rationales.push(text.to_string());
        self.rationale_ids.insert(text.to_string(), id);
        id
    }

    fn push(&mut self, c1: u32, c2: u32, window: Window, ind: u8, rationale: &str) {
        let r = self.rationale(rationale);
        self.rows.push((c1, c2, window.start, window.end, ind, r));
    }

    /// CMS's TXT layout: a copyright line and multi-line column headers, then rows of
    /// Column 1, Column 2, "*" (in existence prior to 1996), Effective Date, Deletion Date,
    /// Modifier, PTP Edit Rationale — tab-separated.
    pub fn load_cms(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        for_each_tsv_line(input, |line, f| {
            let first = field(f, 0);
            if pack_proc(first).is_none() {
                return Ok(()); // copyright and header lines
            }
            if f.len() < 6 {
                return Err(row_err(
                    &name,
                    line,
                    format!("expected 7 tab-separated columns, found {}", f.len()),
                ));
            }
            let c1 = code(&name, line, "column 1 code", first)?;
            let c2 = code(&name, line, "column 2 code", field(f, 1))?;
            let window =
                Window::parse(field(f, 3), field(f, 4)).map_err(|m| row_err(&name, line, m))?;
            let ind = indicator(&name, line, field(f, 5))?;
            self.push(c1, c2, window, ind, field(f, 6));
            Ok(())
        })
    }

    /// Plain TSV: header `column1 column2 [effective_date] deletion_date modifier_indicator
    /// [ptp_edit_rationale]`; dates `YYYYMMDD` or `YYYY-MM-DD`, deletion `*` = none.
    pub fn load_tsv(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        // Column positions: column1, column2, effective, deletion, indicator, rationale.
        type Cols = (
            usize,
            usize,
            Option<usize>,
            Option<usize>,
            usize,
            Option<usize>,
        );
        let mut cols: Option<Cols> = None;
        for_each_tsv_line(input, |line, f| {
            let Some((c1i, c2i, effi, deli, indi, rati)) = cols else {
                let h = Header::new(f);
                cols = Some((
                    h.required(&name, "column1")?,
                    h.required(&name, "column2")?,
                    h.optional("effective_date"),
                    h.optional("deletion_date"),
                    h.required(&name, "modifier_indicator")?,
                    h.optional("ptp_edit_rationale"),
                ));
                return Ok(());
            };
            let c1 = code(&name, line, "column1", field(f, c1i))?;
            let c2 = code(&name, line, "column2", field(f, c2i))?;
            let window = Window::parse(
                effi.map_or("", |i| field(f, i)),
                deli.map_or("", |i| field(f, i)),
            )
            .map_err(|m| row_err(&name, line, m))?;
            let ind = indicator(&name, line, field(f, indi))?;
            self.push(c1, c2, window, ind, rati.map_or("", |i| field(f, i)));
            Ok(())
        })
    }

    /// Sorts and indexes the rows.
    pub fn build(mut self) -> PtpTable {
        self.rows.sort_unstable();
        self.rows.dedup();
        let n = self.rows.len();
        let mut t = PtpTable {
            col1_codes: Vec::new(),
            col1_start: Vec::new(),
            col2: Vec::with_capacity(n),
            start: Vec::with_capacity(n),
            end: Vec::with_capacity(n),
            indicator: Vec::with_capacity(n),
            rationale: Vec::with_capacity(n),
            rationales: self.rationales,
        };
        for (i, (c1, c2, s, e, ind, r)) in self.rows.into_iter().enumerate() {
            if t.col1_codes.last() != Some(&c1) {
                t.col1_codes.push(c1);
                t.col1_start.push(i as u32);
            }
            t.col2.push(c2);
            t.start.push(s);
            t.end.push(e);
            t.indicator.push(ind);
            t.rationale.push(r);
        }
        t.col1_start.push(n as u32);
        t.col1_codes.shrink_to_fit();
        t.col1_start.shrink_to_fit();
        t
    }
}

/// An indexed PTP table for one setting.
#[derive(Debug, Default)]
pub struct PtpTable {
    col1_codes: Vec<u32>,
    col1_start: Vec<u32>,
    col2: Vec<u32>,
    start: Vec<u16>,
    end: Vec<u16>,
    indicator: Vec<u8>,
    rationale: Vec<u8>,
    rationales: Vec<String>,
}

impl PtpTable {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.col2.len()
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.col2.is_empty()
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.col2.capacity() * 10 + self.col1_codes.capacity() * 8
    }

    fn rows_of(&self, c1: u32) -> std::ops::Range<usize> {
        match self.col1_codes.binary_search(&c1) {
            Ok(i) => self.col1_start[i] as usize..self.col1_start[i + 1] as usize,
            Err(_) => 0..0,
        }
    }

    fn edit(&self, i: usize, c1: u32) -> PtpEdit<'_> {
        PtpEdit {
            column1: c1,
            column2: self.col2[i],
            window: Window {
                start: self.start[i],
                end: self.end[i],
            },
            modifier_indicator: self.indicator[i],
            rationale: self
                .rationales
                .get(usize::from(self.rationale[i]))
                .map_or("", String::as_str),
        }
    }

    /// The row of pair (c1, c2) in force on `day`. When several rows cover the day (tables
    /// without effective dates), the one with the latest effective date wins, then the one
    /// deleted soonest (the older edit that was replaced by the newer row).
    pub fn in_force(&self, c1: u32, c2: u32, day: u16) -> Option<PtpEdit<'_>> {
        let range = self.rows_of(c1);
        let col2 = &self.col2[range.clone()];
        let lo = range.start + col2.partition_point(|x| *x < c2);
        let hi = range.start + col2.partition_point(|x| *x <= c2);
        (lo..hi)
            .filter(|&i| self.start[i] <= day && day <= self.end[i])
            .max_by(|&a, &b| {
                self.start[a]
                    .cmp(&self.start[b])
                    .then(self.end[b].cmp(&self.end[a]))
            })
            .map(|i| self.edit(i, c1))
    }

    /// Every in-force edit among `codes` (sorted, distinct) on `day`. Cost is
    /// min(rows of a code, codes × log rows) per code: linear in the claim, never pairwise
    /// over the table.
    pub fn conflicts_among<'a>(&'a self, codes: &[u32], day: u16, out: &mut Vec<PtpEdit<'a>>) {
        for &c1 in codes {
            let range = self.rows_of(c1);
            if range.is_empty() {
                continue;
            }
            if range.len() <= codes.len() * 4 {
                let mut i = range.start;
                while i < range.end {
                    let c2 = self.col2[i];
                    let mut j = i;
                    while j < range.end && self.col2[j] == c2 {
                        j += 1;
                    }
                    if c2 != c1
                        && codes.binary_search(&c2).is_ok()
                        && let Some(e) = self.in_force(c1, c2, day)
                    {
                        out.push(e);
                    }
                    i = j;
                }
            } else {
                for &c2 in codes {
                    if c2 != c1
                        && let Some(e) = self.in_force(c1, c2, day)
                    {
                        out.push(e);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::code::{NO_END, day, parse_date};

    fn input(text: &str) -> Input {
        Input {
            name: "t.tsv".into(),
            reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        }
    }

    fn d(s: &str) -> u16 {
        day(parse_date(s).unwrap())
    }

    #[test]
    fn cms_layout_skips_headers_and_reads_dates() {
        let text = "CPT only copyright 2025 American Medical Association.\t\t\t\t\t\t\n\
Column1/Column2 Edits\t\t\t\t\t\t\n\
Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\n\
\t\tprior to 1996\tDate\tDate\t0=not allowed\t\n\
0001A\t0591T\t\t20220101\t20231231\t1\tCPT Manual or CMS manual coding instruction\n\
0001A\t90473\t\t20220101\t20220101\t9\tCPT Manual or CMS manual coding instruction\n\
0001U\t81165\t\t20190101\t*\t1\tMisuse of Column Two code with Column One code\n";
        let mut b = PtpBuilder::default();
        b.load_cms(&mut input(text)).unwrap();
        let t = b.build();
        assert_eq!(t.len(), 3);
        let c = |s| pack_proc(s).unwrap();
        let e = t.in_force(c("0001A"), c("0591T"), d("2023-12-31")).unwrap();
        assert_eq!(e.modifier_indicator, 1);
        assert!(
            t.in_force(c("0001A"), c("0591T"), d("2024-01-01"))
                .is_none(),
            "deleted"
        );
        assert!(
            t.in_force(c("0001A"), c("0591T"), d("2021-12-31"))
                .is_none(),
            "not yet effective"
        );
        let e = t.in_force(c("0001U"), c("81165"), d("2026-07-01")).unwrap();
        assert_eq!(e.window.end, NO_END);
        assert_eq!(
            e.rationale,
            "Misuse of Column Two code with Column One code"
        );
    }

    #[test]
    fn tsv_without_effective_dates_picks_the_row_in_force() {
        let text = "column1\tcolumn2\tdeletion_date\tmodifier_indicator\tptp_edit_rationale\n\
29881\t29870\t20191231\t9\told\n\
29881\t29870\t*\t0\tnew\n";
        let mut b = PtpBuilder::default();
        b.load_tsv(&mut input(text)).unwrap();
        let t = b.build();
        let c = |s| pack_proc(s).unwrap();
        assert_eq!(
            t.in_force(c("29881"), c("29870"), d("2019-06-01"))
                .unwrap()
                .rationale,
            "old"
        );
        assert_eq!(
            t.in_force(c("29881"), c("29870"), d("2024-07-01"))
                .unwrap()
                .rationale,
            "new"
        );
        let mut out = Vec::new();
        let mut codes = vec![c("29870"), c("29881"), c("99213")];
        codes.sort();
        t.conflicts_among(&codes, d("2024-07-01"), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].modifier_indicator, 0);
    }

    #[test]
    fn malformed_rows_name_the_line() {
        let text = "column1\tcolumn2\tdeletion_date\tmodifier_indicator\n29881\t29870\t*\t7\n";
        let err = PtpBuilder::default()
            .load_tsv(&mut input(text))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.tsv:2: modifier indicator \"7\" must be 0, 1 or 9"
        );
        let text = "column1\tcolumn2\tdeletion_date\tmodifier_indicator\n29881\t2987\t*\t1\n";
        let err = PtpBuilder::default()
            .load_tsv(&mut input(text))
            .unwrap_err();
        assert!(
            err.to_string().starts_with("t.tsv:2: column2 \"2987\""),
            "{err}"
        );
        let text =
            "column1\tcolumn2\tdeletion_date\tmodifier_indicator\n29881\t29870\t2024-13-01\t1\n";
        let err = PtpBuilder::default()
            .load_tsv(&mut input(text))
            .unwrap_err();
        assert!(err.to_string().starts_with("t.tsv:2: "), "{err}");
    }
}
