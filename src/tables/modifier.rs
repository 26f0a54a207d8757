//! Claim modifiers: CMS's HCPCS Level II modifiers (with their added and termination dates
//! and CMS's public-domain short descriptors) and the CPT modifier codes (codes only: the
//! AMA's descriptors are licensed). A modifier may be reported only for dates of service from
//! its added date through its termination date, "the last date for which a procedure or
//! modifier code may be used" (CMS HCPCS record layout).

use std::collections::HashMap;

use super::Window;
use super::pfs::pack_modifier;
use super::read::{Header, Input, TableError, field, for_each_tsv_line, row_err};

/// One modifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modifier {
    /// Added date through termination date.
    pub window: Window,
    /// `"HCPCS"` or `"CPT"`.
    pub source: Box<str>,
    /// CMS's short descriptor (empty for CPT modifiers).
    pub description: Box<str>,
}

/// An ambulance origin/destination pair (see [`ModifierTable::get`]).
static AMBULANCE: std::sync::LazyLock<Modifier> = std::sync::LazyLock::new(|| Modifier {
    window: Window::OPEN,
    source: "HCPCS".into(),
    description: "Ambulance origin/destination".into(),
});

/// The modifier list.
#[derive(Debug, Default)]
pub struct ModifierTable {
    codes: HashMap<u16, Modifier>,
}

impl ModifierTable {
    /// Number of modifiers.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Looks up a modifier (two letters or digits, either case). Ambulance origin/destination
    /// modifiers are pairs of the one-letter codes D, E, G, H, I, J, N, P, R, S, X (HCPCS
    /// Level II: "the first position is the origin, the second the destination"; Pub. 100-04,
    /// Ch. 15 §30.A) and are not listed one by one, so a pair of them is a valid modifier.
    pub fn get(&self, modifier: &str) -> Option<&Modifier> {
        let m = modifier.trim();
        self.codes.get(&pack_modifier(m)?).or_else(|| {
            (m.len() == 2
                && m.bytes()
                    .all(|b| b"DEGHIJNPRSX".contains(&b.to_ascii_uppercase())))
            .then_some(&*AMBULANCE)
        })
    }

    /// Tab-separated with a header: `modifier [source] [description] [date_added]
    /// [date_term]` (dates `YYYY-MM-DD` or `YYYYMMDD`; empty = open).
    pub fn load_tsv(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        let mut cols = None;
        for_each_tsv_line(input, |line, f| {
            let Some((mi, si, di, ai, ti)) = cols else {
                let h = Header::new(f);
                cols = Some((
                    h.required(&name, "modifier")?,
                    h.optional("source"),
                    h.optional("description"),
                    h.optional("date_added"),
                    h.optional("date_term"),
                ));
                return Ok(());
            };
            let code = field(f, mi);
            let key = pack_modifier(code).ok_or_else(|| {
                row_err(
                    &name,
                    line,
                    format!("modifier {code:?} must be two letters or digits"),
                )
            })?;
            let window = Window::parse(
                ai.map_or("", |i| field(f, i)),
                ti.map_or("", |i| field(f, i)),
            )
            .map_err(|m| row_err(&name, line, m))?;
            self.codes.insert(
                key,
                Modifier {
                    window,
                    source: si.map_or("", |i| field(f, i)).into(),
                    description: di.map_or("", |i| field(f, i)).into(),
                },
            );
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::code::{day, parse_date};

    #[test]
    fn reads_modifiers_with_dates() {
        let text = "modifier\tsource\tdescription\tdate_added\tdate_term\n25\tCPT\t\t\t\nGA\tHCPCS\tItem or service expected to be denied\t2002-01-01\t\nJG\tHCPCS\t340B acquired drug\t2018-01-01\t2024-12-31\n";
        let mut t = ModifierTable::default();
        t.load_tsv(&mut Input {
            name: "m.tsv".into(),
            reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        })
        .unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(&*t.get("ga").unwrap().source, "HCPCS");
        let jg = t.get("JG").unwrap();
        assert!(jg.window.contains(day(parse_date("2024-12-31").unwrap())));
        assert!(!jg.window.contains(day(parse_date("2025-01-01").unwrap())));
        assert!(t.get("ZZ").is_none());
        // Ambulance origin/destination pairs: residence to hospital.
        assert_eq!(
            &*t.get("RH").unwrap().description,
            "Ambulance origin/destination"
        );
        assert!(t.get("RZ").is_none());
        let bad = "modifier\nABC\n";
        let err = ModifierTable::default()
            .load_tsv(&mut Input {
                name: "b.tsv".into(),
                reader: Box::new(std::io::Cursor::new(bad.as_bytes().to_vec())),
            })
            .unwrap_err();
        assert!(err.to_string().starts_with("b.tsv:2:"), "{err}");
    }
}
