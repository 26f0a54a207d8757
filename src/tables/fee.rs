//! Payer fee tables: a contract's own amounts per code (and optional modifier) with
//! effective dates, named in the manifest so reimbursement rules can look them up
//! (`fee_schedule("acme-2025", line)`).

use std::collections::HashMap;

use super::Window;
use super::code::pack_proc;
use super::pfs::pack_modifier;
use super::read::{Header, Input, TableError, field, for_each_tsv_line, row_err};
use crate::money::parse_decimal;

/// One fee row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fee {
    /// Dates of service the amount applies to.
    pub window: Window,
    /// Amount per unit, cents.
    pub cents: i64,
}

/// A payer fee table.
#[derive(Debug, Default)]
pub struct FeeTable {
    rows: HashMap<(u32, u16), Vec<Fee>>,
    count: usize,
}

impl FeeTable {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The amount for `code` on `day`: a row for one of `modifiers` (in claim order) first,
    /// else the row without a modifier. The latest effective date wins.
    pub fn get(&self, code: u32, modifiers: &[u16], day: u16) -> Option<Fee> {
        let find = |m: u16| {
            self.rows
                .get(&(code, m))?
                .iter()
                .filter(|f| f.window.contains(day))
                .max_by_key(|f| f.window.start)
                .copied()
        };
        modifiers
            .iter()
            .filter(|m| **m != 0)
            .find_map(|m| find(*m))
            .or_else(|| find(0))
    }

    /// Tab-separated with a header: `code [modifier] amount [effective_date] [end_date]`;
    /// amounts in dollars with at most two decimals ("25.00").
    pub fn load_tsv(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        let mut cols = None;
        for_each_tsv_line(input, |line, f| {
            let Some((ci, mi, ai, ei, di)) = cols else {
                let h = Header::new(f);
                cols = Some((
                    h.required(&name, "code")?,
                    h.optional("modifier"),
                    h.required(&name, "amount")?,
                    h.optional("effective_date"),
                    h.optional("end_date"),
                ));
                return Ok(());
            };
            let code = field(f, ci);
            let key = pack_proc(code).ok_or_else(|| {
                row_err(
                    &name,
                    line,
                    format!("code {code:?} is not a 5-character code"),
                )
            })?;
            let m = mi.map_or("", |i| field(f, i));
            let modifier = pack_modifier(m).ok_or_else(|| {
                row_err(&name, line, format!("modifier {m:?} is not two characters"))
            })?;
            let a = field(f, ai);
            let cents = parse_decimal(a, 2).filter(|c| *c >= 0).ok_or_else(|| {
                row_err(
                    &name,
                    line,
                    format!("amount {a:?} is not a dollar amount like 25.00"),
                )
            })?;
            let window = Window::parse(
                ei.map_or("", |i| field(f, i)),
                di.map_or("", |i| field(f, i)),
            )
            .map_err(|m| row_err(&name, line, m))?;
            self.rows
                .entry((key, modifier))
                .or_default()
                .push(Fee { window, cents });
            self.count += 1;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::code::{day, parse_date};

    #[test]
    fn modifier_rows_win_and_dates_apply() {
        let mut t = FeeTable::default();
        t.load_tsv(&mut Input {
            name: "f.tsv".into(),
            reader: Box::new(std::io::Cursor::new(
                b"code\tmodifier\tamount\teffective_date\tend_date\n99213\t\t95.00\t2025-01-01\t2025-12-31\n99213\t\t99.50\t2026-01-01\t\n71046\t26\t12.00\t\t\n71046\t\t40.00\t\t\n".to_vec(),
            )),
        })
        .unwrap();
        let d = |s: &str| day(parse_date(s).unwrap());
        let c = |s: &str| pack_proc(s).unwrap();
        let m26 = pack_modifier("26").unwrap();
        assert_eq!(t.get(c("99213"), &[], d("2025-06-01")).unwrap().cents, 9500);
        assert_eq!(t.get(c("99213"), &[], d("2026-06-01")).unwrap().cents, 9950);
        assert_eq!(t.get(c("99213"), &[], d("2024-06-01")), None);
        assert_eq!(
            t.get(c("71046"), &[m26], d("2025-06-01")).unwrap().cents,
            1200
        );
        assert_eq!(t.get(c("71046"), &[], d("2025-06-01")).unwrap().cents, 4000);
        let err = FeeTable::default()
            .load_tsv(&mut Input {
                name: "f.tsv".into(),
                reader: Box::new(std::io::Cursor::new(
                    b"code\tamount\n99213\t1,000\n".to_vec(),
                )),
            })
            .unwrap_err();
        assert!(err.to_string().contains("f.tsv:2"), "{err}");
    }
}
