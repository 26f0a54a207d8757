//! HCPCS Level II codes with their added and termination dates.
//!
//! A code may be reported only for dates of service from its added date through its
//! termination date (CMS HCPCS quarterly update, "Termination Date": the last date the code
//! is valid). CPT codes are AMA-licensed and not in this table.

use std::collections::HashMap;

use super::Window;
use super::code::pack_proc;
use super::read::{Header, Input, TableError, field, for_each_tsv_line, row_err};

/// One HCPCS Level II code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HcpcsCode {
    /// Added date through termination date.
    pub window: Window,
    /// Long description (public domain).
    pub description: Box<str>,
}

/// HCPCS Level II codes.
#[derive(Debug, Default)]
pub struct HcpcsTable {
    codes: HashMap<u32, HcpcsCode>,
}

impl HcpcsTable {
    /// Number of codes.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Looks up a code.
    pub fn get(&self, code: u32) -> Option<&HcpcsCode> {
        self.codes.get(&code)
    }

    /// Tab-separated: `hcpcs_code long_description|short_description [date_added]
    /// [date_term]` (CMS ANWEB columns; dates `YYYY-MM-DD` or `YYYYMMDD`).
    pub fn load_tsv(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        let mut cols = None;
        for_each_tsv_line(input, |line, f| {
            let Some((ci, di, ai, ti)) = cols else {
                let h = Header::new(f);
                cols = Some((
                    h.required(&name, "hcpcs_code")?,
                    h.optional("long_description")
                        .or(h.optional("short_description")),
                    h.optional("date_added"),
                    h.optional("date_term"),
                ));
                return Ok(());
            };
            let code = field(f, ci);
            let key = pack_proc(code).ok_or_else(|| {
                row_err(
                    &name,
                    line,
                    format!("HCPCS code {code:?} is not a 5-character code"),
                )
            })?;
            let window = Window::parse(
                ai.map_or("", |i| field(f, i)),
                ti.map_or("", |i| field(f, i)),
            )
            .map_err(|m| row_err(&name, line, m))?;
            self.codes.insert(
                key,
                HcpcsCode {
                    window,
                    description: di.map_or("", |i| field(f, i)).into(),
                },
            );
            Ok(())
        })
    }
}
