//! Medically Unlikely Edits (MUEs).
//!
//! An MUE is the maximum units of service a provider would report for one beneficiary. The
//! MUE Adjudication Indicator (MAI) says how it is applied (CMS, "Medically Unlikely Edits",
//! MUE FAQ): 1 = line edit (each claim line checked on its own); 2 = date-of-service edit
//! based on policy (units of the code on the same date summed across lines; not appealable);
//! 3 = date-of-service edit based on clinical benchmarks (summed per date; appealable).

use std::collections::HashMap;

use super::Window;
use super::code::pack_proc;
use super::read::{
    Header, Input, TableError, field, for_each_csv_record, for_each_tsv_line, row_err,
};

/// One MUE row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MueRow {
    /// Effective window (open in CMS quarterly files).
    pub window: Window,
    /// Maximum units.
    pub value: u32,
    /// Adjudication indicator 1, 2 or 3.
    pub indicator: u8,
    /// Index into the rationale strings.
    rationale: u8,
}

/// MUEs of one setting.
#[derive(Debug, Default)]
pub struct MueTable {
    rows: HashMap<u32, Vec<MueRow>>,
    rationales: Vec<String>,
    count: usize,
}

impl MueTable {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The row in force for `code` on `day` (latest effective date wins).
    pub fn get(&self, code: u32, day: u16) -> Option<(MueRow, &str)> {
        self.rows
            .get(&code)?
            .iter()
            .filter(|r| r.window.contains(day))
            .max_by_key(|r| r.window.start)
            .map(|r| {
                (
                    *r,
                    self.rationales
                        .get(usize::from(r.rationale))
                        .map_or("", String::as_str),
                )
            })
    }

    fn push(&mut self, code: u32, row: MueRow, rationale: &str) {
        let id = match self.rationales.iter().position(|r| r == rationale) {
            Some(i) => i,
            None => {
                self.rationales.push(rationale.to_string());
                self.rationales.len() - 1
            }
        };
        self.rows.entry(code).or_default().push(MueRow {
            rationale: id.min(255) as u8,
            ..row
        });
        self.count += 1;
    }

    /// Parses one row: `f` = [code, value, MAI, rationale].
    fn parse_row(
        &mut self,
        name: &str,
        line: u64,
        f: [&str; 4],
        window: Window,
    ) -> Result<(), TableError> {
        let [code, value, mai, rationale] = f;
        let c = pack_proc(code).ok_or_else(|| {
            row_err(
                name,
                line,
                format!("HCPCS/CPT code {code:?} is not a 5-character code"),
            )
        })?;
        let value: u32 = value.trim().parse().map_err(|_| {
            row_err(
                name,
                line,
                format!("MUE value {value:?} is not a whole number"),
            )
        })?;
        // CMS writes the MAI as "2 Date of Service Edit: Policy"; the plain layout as "2".
        let indicator = match mai.trim().chars().next() {
            Some('1') => 1,
            Some('2') => 2,
            Some('3') => 3,
            _ => {
                return Err(row_err(
                    name,
                    line,
                    format!("MUE adjudication indicator {mai:?} must be 1, 2 or 3"),
                ));
            }
        };
        self.push(
            c,
            MueRow {
                window,
                value,
                indicator,
                rationale: 0,
            },
            rationale.trim(),
        );
        Ok(())
    }

    /// CMS's CSV layout: an AMA notice (quoted, multi-line), a header row, then rows of
    /// HCPCS/CPT code, MUE value, MAI ("2 Date of Service Edit: Policy"), rationale.
    pub fn load_cms(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        for_each_csv_record(input, |line, f| {
            if f.first().is_none_or(|c| pack_proc(c).is_none()) {
                return Ok(()); // notice and header
            }
            if f.len() < 3 {
                return Err(row_err(
                    &name,
                    line,
                    format!("expected 4 columns, found {}", f.len()),
                ));
            }
            let fields = [
                f[0].as_str(),
                f[1].as_str(),
                f[2].as_str(),
                f.get(3).map_or("", String::as_str),
            ];
            self.parse_row(&name, line, fields, Window::OPEN)
        })
    }

    /// Plain TSV: `hcpcs_code mue_value mue_adjudication_indicator [mue_rationale]
    /// [effective_date] [deletion_date]`.
    pub fn load_tsv(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        let mut cols = None;
        for_each_tsv_line(input, |line, f| {
            let Some((ci, vi, mi, ri, ei, di)) = cols else {
                let h = Header::new(f);
                cols = Some((
                    h.required(&name, "hcpcs_code")?,
                    h.required(&name, "mue_value")?,
                    h.required(&name, "mue_adjudication_indicator")?,
                    h.optional("mue_rationale"),
                    h.optional("effective_date"),
                    h.optional("deletion_date"),
                ));
                return Ok(());
            };
            let window = Window::parse(
                ei.map_or("", |i| field(f, i)),
                di.map_or("", |i| field(f, i)),
            )
            .map_err(|m| row_err(&name, line, m))?;
            let fields = [
                field(f, ci),
                field(f, vi),
                field(f, mi),
                ri.map_or("", |i| field(f, i)),
            ];
            self.parse_row(&name, line, fields, window)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cms_csv_layout_with_notice() {
        let text = "\"Current Procedural Terminology (CPT) codes ... All rights reserved.\n\nmore notice\",,,\n\
\"HCPCS/\nCPT Code\",Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n\
0001U,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction\n\
0002M,1,3 Date of Service Edit: Clinical,Nature of Analyte\n";
        let mut t = MueTable::default();
        let mut input = Input {
            name: "m.csv".into(),
            reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        };
        t.load_cms(&mut input).unwrap();
        assert_eq!(t.len(), 2);
        let (row, why) = t.get(pack_proc("0001U").unwrap(), 20_000).unwrap();
        assert_eq!(
            (row.value, row.indicator, why),
            (1, 2, "Code Descriptor / CPT Instruction")
        );
    }

    #[test]
    fn tsv_errors_name_the_line() {
        let text =
            "hcpcs_code\tmue_value\tmue_adjudication_indicator\tmue_rationale\n97110\t8\t4\tx\n";
        let mut input = Input {
            name: "m.tsv".into(),
            reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        };
        let err = MueTable::default().load_tsv(&mut input).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.tsv:2: MUE adjudication indicator \"4\" must be 1, 2 or 3"
        );
    }
}
