//! Medicare Physician Fee Schedule (PFS) tables: the national relative value file (CMS's
//! PPRRVU layout) and the geographic practice cost indices (GPCIs) by locality.
//!
//! Layouts are those of CMS's "PFS Relative Value Files" bundle (e.g. RVU25D): the PPRRVU CSV
//! with CMS's banner lines and split header, columns in CMS's documented order
//! (HCPCS, MOD, DESCRIPTION, STATUS CODE, NOT USED FOR MEDICARE PAYMENT, WORK RVU,
//! NON-FAC PE RVU, NON-FAC NA INDICATOR, FACILITY PE RVU, FACILITY NA INDICATOR, MP RVU,
//! NON-FACILITY TOTAL, FACILITY TOTAL, PCTC IND, GLOB DAYS, PRE OP, INTRA OP, POST OP,
//! MULT PROC, BILAT SURG, ASST SURG, CO-SURG, TEAM SURG, ENDO BASE, CONV FACTOR, ...,
//! DIAGNOSTIC IMAGING FAMILY INDICATOR); and the GPCI CSV (Addendum E) with its title line.
//! The meaning of every indicator is applied in [`crate::pricing`]. Descriptions are not
//! kept (CPT descriptors are AMA-licensed and pricing does not need them).

use std::collections::HashMap;

use super::code::pack_proc;
use super::read::{Input, TableError, for_each_csv_record, row_err};
pub use crate::claim::codes::locality_key;
use crate::money::parse_decimal;

/// Packs a two-character modifier (`"26"`, `"TC"`); blank is 0.
pub fn pack_modifier(m: &str) -> Option<u16> {
    match m.as_bytes() {
        [] => Some(0),
        [a, b] if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
            Some(u16::from(a.to_ascii_uppercase()) << 8 | u16::from(b.to_ascii_uppercase()))
        }
        _ => None,
    }
}

/// One PPRRVU row: a code, or a code with a pricing modifier (26, TC, 53).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RvuRow {
    /// PFS status code (A, B, C, E, I, J, M, N, P, R, T, X, ...).
    pub status: u8,
    /// Work RVU, hundredths.
    pub work: i64,
    /// Non-facility practice expense RVU, hundredths.
    pub pe_nonfacility: i64,
    /// CMS marks the non-facility PE "NA" (rarely or never performed outside a facility).
    pub nonfacility_na: bool,
    /// Facility practice expense RVU, hundredths.
    pub pe_facility: i64,
    /// CMS marks the facility PE "NA".
    pub facility_na: bool,
    /// Malpractice RVU, hundredths.
    pub mp: i64,
    /// PC/TC indicator 0-9.
    pub pctc: u8,
    /// Global days ("000", "010", "090", "XXX", "YYY", "ZZZ", "MMM").
    pub global: [u8; 3],
    /// Preoperative, intraoperative and postoperative shares of a global surgery, in basis
    /// points of a percent (0.10 = 10 % = 1,000).
    pub split: [i64; 3],
    /// Multiple procedure indicator 0-9.
    pub mult_proc: u8,
    /// Bilateral surgery indicator 0-3, 9.
    pub bilateral: u8,
    /// Assistant at surgery indicator 0-2, 9.
    pub assistant: u8,
    /// Co-surgeons indicator 0-2, 9.
    pub co_surgery: u8,
    /// Team surgery indicator 0-2, 9.
    pub team: u8,
    /// Endoscopic base code (packed), 0 when none.
    pub endo_base: u32,
    /// Conversion factor, ten-thousandths of a dollar.
    pub conversion_factor: i64,
    /// Diagnostic imaging family indicator (88 = subject to the imaging MPPR, 99 = n/a).
    pub imaging_family: u8,
}

impl RvuRow {
    /// Global days as text.
    pub fn global_days(&self) -> &str {
        std::str::from_utf8(&self.global).unwrap_or("")
    }
}

/// The national relative value file.
#[derive(Debug, Default)]
pub struct RvuTable {
    rows: HashMap<(u32, u16), RvuRow>,
}

fn indicator(name: &str, line: u64, what: &str, text: &str) -> Result<u8, TableError> {
    match text.as_bytes() {
        [] => Ok(9),
        [d] if d.is_ascii_digit() => Ok(d - b'0'),
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Ok((a - b'0') * 10 + (b - b'0')),
        _ => Err(row_err(
            name,
            line,
            format!("{what} {text:?} is not a one- or two-digit indicator"),
        )),
    }
}

fn decimal(name: &str, line: u64, what: &str, text: &str, scale: u32) -> Result<i64, TableError> {
    if text.is_empty() {
        return Ok(0);
    }
    parse_decimal(text, scale).ok_or_else(|| {
        row_err(
            name,
            line,
            format!("{what} {text:?} is not a number with at most {scale} decimals"),
        )
    })
}

impl RvuTable {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row of `code` (packed) with `modifier` (packed, 0 = none).
    pub fn get(&self, code: u32, modifier: u16) -> Option<&RvuRow> {
        self.rows.get(&(code, modifier))
    }

    /// CMS's PPRRVU CSV: banner lines, a header whose last line starts `HCPCS,MOD,DESCRIPTION`,
    /// then one row per code and modifier. Columns are taken by CMS's documented positions.
    pub fn load_cms(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        let mut in_data = false;
        for_each_csv_record(input, |line, f| {
            if !in_data {
                if f.len() >= 3
                    && f[0].eq_ignore_ascii_case("HCPCS")
                    && f[1].eq_ignore_ascii_case("MOD")
                {
                    if f.len() < 28 {
                        return Err(row_err(
                            &name,
                            line,
                            format!(
                                "the PPRRVU header has {} columns; CMS's layout has 31 (is this the RVU file?)",
                                f.len()
                            ),
                        ));
                    }
                    in_data = true;
                }
                return Ok(());
            }
            if f.iter().all(|x| x.is_empty()) {
                return Ok(());
            }
            let col = |i: usize| f.get(i).map_or("", String::as_str);
            let code = pack_proc(col(0)).ok_or_else(|| {
                row_err(
                    &name,
                    line,
                    format!("HCPCS {:?} is not a 5-character code", col(0)),
                )
            })?;
            let modifier = pack_modifier(col(1)).ok_or_else(|| {
                row_err(&name, line, format!("MOD {:?} is not a modifier", col(1)))
            })?;
            let status = match col(3).as_bytes() {
                [s] if s.is_ascii_alphabetic() => s.to_ascii_uppercase(),
                _ => {
                    return Err(row_err(
                        &name,
                        line,
                        format!("STATUS CODE {:?} is not one letter", col(3)),
                    ));
                }
            };
            let g = col(14).as_bytes();
            let global = match g {
                [a, b, c] => [*a, *b, *c],
                _ => *b"   ",
            };
            let endo = col(23);
            let row = RvuRow {
                status,
                work: decimal(&name, line, "WORK RVU", col(5), 2)?,
                pe_nonfacility: decimal(&name, line, "NON-FAC PE RVU", col(6), 2)?,
                nonfacility_na: col(7).eq_ignore_ascii_case("NA"),
                pe_facility: decimal(&name, line, "FACILITY PE RVU", col(8), 2)?,
                facility_na: col(9).eq_ignore_ascii_case("NA"),
                mp: decimal(&name, line, "MP RVU", col(10), 2)?,
                pctc: indicator(&name, line, "PCTC IND", col(13))?,
                global,
                split: [
                    decimal(&name, line, "PRE OP", col(15), 4)?,
                    decimal(&name, line, "INTRA OP", col(16), 4)?,
                    decimal(&name, line, "POST OP", col(17), 4)?,
                ],
                mult_proc: indicator(&name, line, "MULT PROC", col(18))?,
                bilateral: indicator(&name, line, "BILAT SURG", col(19))?,
                assistant: indicator(&name, line, "ASST SURG", col(20))?,
                co_surgery: indicator(&name, line, "CO-SURG", col(21))?,
                team: indicator(&name, line, "TEAM SURG", col(22))?,
                endo_base: if endo.is_empty() {
                    0
                } else {
                    pack_proc(endo).ok_or_else(|| {
                        row_err(&name, line, format!("ENDO BASE {endo:?} is not a code"))
                    })?
                },
                conversion_factor: decimal(&name, line, "CONV FACTOR", col(24), 4)?,
                imaging_family: if col(27).is_empty() {
                    99
                } else {
                    indicator(&name, line, "DIAGNOSTIC IMAGING FAMILY INDICATOR", col(27))?
                },
            };
            if row.conversion_factor <= 0 {
                return Err(row_err(
                    &name,
                    line,
                    "CONV FACTOR is missing or zero".to_string(),
                ));
            }
            self.rows.insert((code, modifier), row);
            Ok(())
        })?;
        if !in_data {
            return Err(row_err(
                &name,
                1,
                "no header row starting HCPCS,MOD,DESCRIPTION (CMS's PPRRVU CSV layout)",
            ));
        }
        Ok(())
    }
}

/// A locality's GPCIs, in thousandths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gpci {
    /// Physician work GPCI (with any statutory floor CMS applied).
    pub work: i64,
    /// Practice expense GPCI.
    pub pe: i64,
    /// Malpractice GPCI.
    pub mp: i64,
    /// Two-letter state.
    pub state: Box<str>,
    /// CMS's locality name.
    pub name: Box<str>,
}

/// GPCIs by locality key: the 5-digit MAC number followed by the 2-digit locality number
/// (e.g. `1320201` for Manhattan, MAC 13202 locality 01).
#[derive(Debug, Default)]
pub struct GpciTable {
    rows: HashMap<Box<str>, Gpci>,
}

impl GpciTable {
    /// Number of localities.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// GPCIs of a locality key (see [`locality_key`]).
    pub fn get(&self, key: &str) -> Option<&Gpci> {
        self.rows.get(key)
    }

    /// CMS's GPCI CSV (Addendum E): a title, a header row naming `Locality Number` and the
    /// three GPCI columns, one row per MAC and locality, then notes (skipped).
    pub fn load_cms(&mut self, input: &mut Input) -> Result<(), TableError> {
        let name = input.name.clone();
        let mut cols: Option<[usize; 7]> = None;
        for_each_csv_record(input, |line, f| {
            let Some([mac, state, loc, lname, w, pe, mp]) = cols else {
                let find = |pred: &dyn Fn(&str) -> bool| {
                    f.iter().position(|h| pred(&h.to_ascii_uppercase()))
                };
                if let (Some(mac), Some(loc)) = (
                    find(&|h| h.contains("CONTRACTOR") || h == "MAC"),
                    find(&|h| h.contains("LOCALITY NUMBER")),
                ) {
                    let need = |what: &str, p: &dyn Fn(&str) -> bool| {
                        find(p).ok_or_else(|| {
                            row_err(&name, line, format!("the GPCI header has no {what} column"))
                        })
                    };
                    cols = Some([
                        mac,
                        need("State", &|h| h == "STATE")?,
                        loc,
                        need("Locality Name", &|h| h.contains("LOCALITY NAME"))?,
                        need("PW GPCI", &|h| {
                            h.contains("PW GPCI") || h.contains("WORK GPCI")
                        })?,
                        need("PE GPCI", &|h| h.contains("PE GPCI"))?,
                        need("MP GPCI", &|h| h.contains("MP GPCI"))?,
                    ]);
                }
                return Ok(());
            };
            let col = |i: usize| f.get(i).map_or("", String::as_str);
            let (m, l) = (col(mac), col(loc));
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(()); // notes and footnotes after the table
            }
            if m.len() > 5 || l.is_empty() || l.len() > 2 || !l.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(row_err(
                    &name,
                    line,
                    format!(
                        "MAC {m:?} / locality {l:?} are not a 5-digit MAC and 2-digit locality"
                    ),
                ));
            }
            let g = |what: &str, i: usize| {
                parse_decimal(col(i), 3).filter(|v| *v > 0).ok_or_else(|| {
                    row_err(
                        &name,
                        line,
                        format!("{what} {:?} is not a positive number", col(i)),
                    )
                })
            };
            let key = format!("{m:0>5}{l:0>2}");
            self.rows.insert(
                key.into(),
                Gpci {
                    work: g("PW GPCI", w)?,
                    pe: g("PE GPCI", pe)?,
                    mp: g("MP GPCI", mp)?,
                    state: col(state).into(),
                    name: col(lname).trim_end_matches('*').trim().into(),
                },
            );
            Ok(())
        })?;
        if cols.is_none() {
            return Err(row_err(
                &name,
                1,
                "no header row naming `Locality Number` and the GPCI columns (CMS's GPCI CSV layout)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &str) -> Input {
        Input {
            name: "t.csv".into(),
            reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        }
    }

    const HEADER: &str = ",,2025 National Physician Fee Schedule Relative Value File,,\r\nHCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,IND,DAYS,OP,OP,OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,AMOUNT,AMOUNT\r\n";

    #[test]
    fn reads_the_cms_rvu_layout() {
        let mut t = RvuTable::default();
        t.load_cms(&mut input(&format!("{HEADER}27447,,Total knee arthroplasty,A,,19.60,15.30,NA,15.30,,3.98,38.88,38.88,0,090,0.10,0.69,0.21,2,1,2,1,0,,32.3465,09,0,99,0,0,0\r\n43239,,,A,,2.39,8.36,,1.42,,0.29,11.04,4.10,0,000,0.00,0.00,0.00,3,0,1,0,0,43235,32.3465,09,0,99,0,0,0\r\n70450,TC,,A,,0.00,2.04,,2.04,NA,0.01,2.05,2.05,1,XXX,0,0,0,4,0,0,0,0,,32.3465,01,0,88,0,0,0\r\n"))).unwrap();
        let r = t.get(pack_proc("27447").unwrap(), 0).unwrap();
        assert_eq!(
            (r.status, r.work, r.pe_nonfacility, r.mp),
            (b'A', 1960, 1530, 398)
        );
        assert!(r.nonfacility_na && !r.facility_na);
        assert_eq!(
            (r.mult_proc, r.bilateral, r.assistant, r.co_surgery, r.team),
            (2, 1, 2, 1, 0)
        );
        assert_eq!((r.global_days(), r.conversion_factor), ("090", 323_465));
        assert_eq!(r.split, [1_000, 6_900, 2_100]);
        let e = t.get(pack_proc("43239").unwrap(), 0).unwrap();
        assert_eq!(e.endo_base, pack_proc("43235").unwrap());
        let tc = t
            .get(pack_proc("70450").unwrap(), pack_modifier("TC").unwrap())
            .unwrap();
        assert_eq!((tc.pctc, tc.imaging_family, tc.pe_facility), (1, 88, 204));
    }

    #[test]
    fn bad_rows_name_the_line_and_column() {
        let mut t = RvuTable::default();
        let err = t
            .load_cms(&mut input(&format!(
                "{HEADER}99213,,,A,,1.3x,1.35,,0.57,,0.10,2.75,1.97,0,XXX,0,0,0,0,0,0,0,0,,32.3465,09,0,99,0,0,0\r\n"
            )))
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.csv:3") && err.contains("WORK RVU"), "{err}");
        let err = RvuTable::default()
            .load_cms(&mut input("HCPCS\tMOD\n"))
            .unwrap_err();
        assert!(err.to_string().contains("HCPCS,MOD,DESCRIPTION"));
    }

    #[test]
    fn reads_the_cms_gpci_layout() {
        let mut t = GpciTable::default();
        t.load_cms(&mut input("ADDENDUM E. FINAL CY 2025 GPCIs,,,,,,\r\n,,,,,,\r\nMedicare Administrative Contractor (MAC),State,Locality Number,Locality Name,2025 PW GPCI (with 1.0 Floor),2025 PE GPCI,2025 MP GPCI\r\n10112,AL,00,ALABAMA,1,0.869,0.575\r\n02102,AK,01,ALASKA*,1.5,1.081,0.592\r\nMAC Assignments as of November 22, 2023,,,,,,\r\n")).unwrap();
        assert_eq!(t.len(), 2);
        let ak = t.get("0210201").unwrap();
        assert_eq!((ak.work, ak.pe, ak.mp), (1500, 1081, 592));
        assert_eq!(&*ak.name, "ALASKA");
        assert_eq!(locality_key("02102-01").as_deref(), Some("0210201"));
        assert_eq!(locality_key("0210201").as_deref(), Some("0210201"));
        assert_eq!(locality_key("01"), None);
    }
}
