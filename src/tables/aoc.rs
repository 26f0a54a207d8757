//! NCCI add-on code (AOC) edits.
//!
//! An add-on code is reported only with a primary procedure (CMS, "Add-on Code Edits" and
//! NCCI Policy Manual Ch. I §X). Edit type 1: CMS lists the eligible primaries; the add-on is
//! not paid without one. Type 2: CMS lists no primaries; contractors define them (`CCCCC` as
//! the primary code in CMS's files). Type 3: CMS lists some primaries but contractors may
//! allow others.

use std::collections::HashMap;

use super::Window;
use super::code::pack_proc;
use super::read::{Input, TableError, field, for_each_tsv_line, row_err};

/// One add-on/primary row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AocRow {
    /// Primary code, or `None` for contractor-defined (`CCCCC`).
    pub primary: Option<u32>,
    /// Edit type 1, 2 or 3.
    pub edit_type: u8,
    /// Effective window.
    pub window: Window,
}

/// Add-on code edits keyed by add-on code.
#[derive(Debug, Default)]
pub struct AocTable {
    rows: HashMap<u32, Vec<AocRow>>,
    count: usize,
}

impl AocTable {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Rows in force for add-on `code` on `day`; empty if it is not an add-on code then.
    pub fn rows(&self, code: u32, day: u16) -> impl Iterator<Item = &AocRow> {
        self.rows
            .get(&code)
            .into_iter()
            .flatten()
            .filter(move |r| r.window.contains(day))
    }

    fn push(
        &mut self,
        name: &str,
        line: u64,
        addon: &str,
        primary: &str,
        edit_type: &str,
        window: Window,
    ) -> Result<(), TableError> {
        let a = pack_proc(addon).ok_or_else(|| {
            row_err(
                name,
                line,
                format!("add-on code {addon:?} is not a 5-character code"),
            )
        })?;
        let p = if primary.eq_ignore_ascii_case("CCCCC") {
            None
        } else {
            Some(pack_proc(primary).ok_or_else(|| {
                row_err(
                    name,
                    line,
                    format!("primary code {primary:?} is not a 5-character code"),
                )
            })?)
        };
        let t = match edit_type.trim() {
            "1" => 1,
            "2" => 2,
            "3" => 3,
            other => {
                return Err(row_err(
                    name,
                    line,
                    format!("AOC edit type {other:?} must be 1, 2 or 3"),
                ));
            }
        };
        self.rows.entry(a).or_default().push(AocRow {
            primary: p,
            edit_type: t,
            window,
        });
        self.count += 1;
        Ok(())
    }

    /// Tab-separated table with a header row naming the columns. Accepts the plain layout
    /// (`primary_code add_on_code aoc_edit_type [effective_date] [deletion_date]`) and CMS's
    /// AOC file headers ("Add-on Code", "Primary Code", "AOC Edit Type", "AOC Edit Effective
    /// Date", "AOC Edit Deletion Date"), matched case-insensitively; lines before the header
    /// (notices) are skipped.
    pub fn load(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        // Column positions: add-on, primary, edit type, effective, deletion.
        type Cols = (usize, usize, usize, Option<usize>, Option<usize>);
        let mut cols: Option<Cols> = None;
        for_each_tsv_line(input, |line, f| {
            let Some((ai, pi, ti, ei, di)) = cols else {
                let norm: Vec<String> = f
                    .iter()
                    .map(|s| s.to_ascii_lowercase().replace(['-', ' '], "_"))
                    .collect();
                let find =
                    |keys: &[&str]| norm.iter().position(|c| keys.iter().any(|k| c.contains(k)));
                if let (Some(a), Some(p), Some(t)) = (
                    find(&["add_on_code", "addon_code"]),
                    find(&["primary_code"]),
                    find(&["edit_type"]),
                ) {
                    cols = Some((a, p, t, find(&["effective"]), find(&["deletion"])));
                }
                return Ok(());
            };
            let window = Window::parse(
                ei.map_or("", |i| field(f, i)),
                di.map_or("", |i| field(f, i)),
            )
            .map_err(|m| row_err(&name, line, m))?;
            self.push(
                &name,
                line,
                field(f, ai),
                field(f, pi),
                field(f, ti),
                window,
            )
        })?;
        if cols.is_none() {
            return Err(row_err(
                &input.name,
                1,
                "no header row with add-on code, primary code and edit type columns",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<AocTable, TableError> {
        let mut t = AocTable::default();
        let mut input = Input {
            name: "a.tsv".into(),
            reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        };
        t.load(&mut input).map(|()| t)
    }

    #[test]
    fn plain_and_contractor_defined_rows() {
        let t =
            load("primary_code\tadd_on_code\taoc_edit_type\n11042\t11045\t1\nCCCCC\t0054T\t2\n")
                .unwrap();
        let rows: Vec<_> = t.rows(pack_proc("11045").unwrap(), 20_000).collect();
        assert_eq!(rows[0].primary, pack_proc("11042"));
        assert_eq!(
            t.rows(pack_proc("0054T").unwrap(), 20_000)
                .next()
                .unwrap()
                .primary,
            None
        );
        assert_eq!(t.rows(pack_proc("99213").unwrap(), 20_000).count(), 0);
    }

    #[test]
    fn cms_headers_with_dates() {
        let text = "notice line\nAdd-on Code\tPrimary Code\tAOC Edit Type\tAOC Edit Effective Date\tAOC Edit Deletion Date\n\
11045\t11042\t1\t20110101\t*\n";
        let t = load(text).unwrap();
        assert_eq!(t.len(), 1);
        let err = load("primary_code\tadd_on_code\taoc_edit_type\n11042\t11045\t5\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.tsv:2: AOC edit type \"5\" must be 1, 2 or 3"
        );
    }
}
