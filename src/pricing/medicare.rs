//! The Medicare Physician Fee Schedule methodology, line by line, with a trace a biller can
//! follow.
//!
//! References (CMS):
//! - Payment formula and GPCIs: 42 CFR 414.22 and 414.26; Medicare Claims Processing Manual
//!   (Pub. 100-04), Chapter 12, §20 — `[(work RVU × work GPCI) + (PE RVU × PE GPCI) +
//!   (MP RVU × MP GPCI)] × conversion factor`.
//! - Facility versus non-facility PE RVUs by place of service: Pub. 100-04, Ch. 12,
//!   §20.4.2 (facility settings listed in [`FACILITY_POS`]).
//! - Indicator meanings: CMS's PFS Relative Value File documentation (RVUPUF, the "Record
//!   layout" shipped in every RVU bundle): status codes, PC/TC, multiple procedure (MULT PROC
//!   0-7, 9), bilateral (0-3, 9), assistant (0-2, 9), co-surgeon (0-2, 9), team (0-2, 9), ENDO
//!   BASE, diagnostic imaging family.
//! - Multiple surgery (indicator 2, 100 %/50 %): Pub. 100-04, Ch. 12, §40.6.2; endoscopy
//!   families (indicator 3): §40.6.2 and RVUPUF; bilateral (modifier 50, 150 % under indicator
//!   1): §40.7; assistants at surgery (80/81/82 at 16 %, AS at 85 % of that): §20.4.3 and
//!   §110; co-surgeons (62, 62.5 % each) and team surgery (66, by report): §40.8;
//!   diagnostic imaging MPPR (50 % TC, 5 % PC), cardiovascular (25 % TC) and ophthalmology
//!   (20 % TC) MPPR, therapy MPPR (50 % PE): RVUPUF indicator definitions 4-7.
//! - Lower of charge and fee schedule: 42 CFR 414.20(a) / Pub. 100-04, Ch. 12, §20.
//!
//! - Global surgery split (54/55/56): Pub. 100-04, Ch. 12, §40.2, with the PRE/INTRA/POST OP
//!   shares of the RVU file.
//!
//! What is deliberately not modelled: the locality from the provider's ZIP code (the claim or
//! the configuration names it), anesthesia (status J), carrier-priced (C) and by-report
//! amounts (no national number exists), the HPSA/PSA bonuses, sequestration, the
//! beneficiary's deductible and coinsurance (this is the *allowed* amount, not the payment),
//! the non-participating-provider 95 % rate and limiting charge, the OPPS cap on
//! non-facility imaging (the RVU file's OPPS columns), and the TC reduction of global-only
//! codes whose components are separate codes (e.g. 93000: the file has no TC row for it).

mod reductions;

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{LinePrice, MEDICARE_PFS};
use crate::claim::{Claim, ClaimType, Line};
use crate::money::{
    WHOLE, format_cents, format_fixed, format_percent, milli_units, percent, round_div,
};
use crate::tables::Tables;
use crate::tables::code::pack_proc;
use crate::tables::pfs::{Gpci, RvuRow, RvuTable, locality_key, pack_modifier};

/// Places of service paid at the PFS facility rate (Pub. 100-04, Ch. 12, §20.4.2, and the
/// CMS POS code set): 02 telehealth other than in the home, 19 off-campus outpatient hospital,
/// 21 inpatient hospital, 22 on-campus outpatient hospital, 23 emergency room, 24 ambulatory
/// surgical center, 26 military treatment facility, 31 skilled nursing facility, 34 hospice,
/// 41/42 ambulance, 51 inpatient psychiatric facility, 52 psychiatric partial hospitalization,
/// 53 community mental health center, 56 psychiatric residential treatment center, 61
/// comprehensive inpatient rehabilitation facility. Every other POS (11 office, 12 home,
/// 10 telehealth in the home, ...) is non-facility.
pub const FACILITY_POS: &[&str] = &[
    "02", "19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61",
];

/// Where the locality came from, for the trace.
#[derive(Debug, Clone)]
pub struct Locality<'a> {
    /// Canonical key (`MMMMMLL`), or `None` for national amounts.
    pub key: Option<String>,
    /// The GPCIs, when found.
    pub gpci: Option<&'a Gpci>,
}

/// The Medicare PFS price of every line of `claim`. `default_locality` is used when the
/// claim names none; with neither, national amounts (all GPCIs 1.000) are computed.
pub fn price_claim(
    claim: &Claim,
    tables: &Tables,
    default_locality: Option<&str>,
) -> Vec<LinePrice> {
    let mut lines: Vec<Slot> = claim
        .lines
        .iter()
        .map(|l| Slot::new(l, claim, tables, default_locality))
        .collect();
    status_t(&mut lines);
    let mut groups: BTreeMap<(NaiveDate, &str), Vec<usize>> = BTreeMap::new();
    for (i, s) in lines.iter().enumerate() {
        if s.work.is_some() {
            groups
                .entry((s.line.service_date, s.line.rendering_provider.npi.as_str()))
                .or_default()
                .push(i);
        }
    }
    for members in groups.values() {
        reductions::surgery_mppr(&mut lines, members);
        reductions::therapy_mppr(&mut lines, members);
        reductions::tc_mppr(&mut lines, members, 4);
        reductions::tc_mppr(&mut lines, members, 6);
        reductions::tc_mppr(&mut lines, members, 7);
    }
    lines.into_iter().map(Slot::finish).collect()
}

/// A line being priced.
struct Slot<'a> {
    line: &'a Line,
    price: LinePrice,
    work: Option<Work<'a>>,
}

/// The pricing state of a payable line.
struct Work<'a> {
    row: &'a RvuRow,
    table: &'a RvuTable,
    code: u32,
    /// Exact payment parts of one unit, in 1e-7 cents: work, PE, MP.
    parts: [i128; 3],
    /// Fee schedule amount of one unit (cents), after the bilateral adjustment.
    unit: i64,
    /// Units in thousandths (1,000 when modifier 50 makes one bilateral service).
    milli_units: i64,
    /// The line's amount so far.
    amount: i64,
    ctx: Ctx<'a>,
}

/// What every fee computation of one line shares.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    facility: bool,
    gpci: Option<&'a Gpci>,
}

const SCALE: i128 = 10_000_000; // 1e-7 cents per cent

/// Exact work, PE and MP parts of a row's payment, in 1e-7 cents:
/// RVU (1/100) × GPCI (1/1000) × CF (1/10000 dollar) = 1e-9 dollars = 1e-7 cents.
fn parts(row: &RvuRow, ctx: Ctx) -> [i128; 3] {
    let (wg, pg, mg) = ctx
        .gpci
        .map_or((1000, 1000, 1000), |g| (g.work, g.pe, g.mp));
    let pe = if ctx.facility {
        row.pe_facility
    } else {
        row.pe_nonfacility
    };
    let cf = i128::from(row.conversion_factor);
    [
        i128::from(row.work) * i128::from(wg) * cf,
        i128::from(pe) * i128::from(pg) * cf,
        i128::from(row.mp) * i128::from(mg) * cf,
    ]
}

/// The fee schedule amount of one unit of a row, rounded to the cent.
fn fee(row: &RvuRow, ctx: Ctx) -> i64 {
    round_div(parts(row, ctx).iter().sum(), SCALE)
}

fn units_text(milli_units: i64) -> String {
    let s = format_fixed(milli_units, 3);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl<'a> Slot<'a> {
    fn new(
        line: &'a Line,
        claim: &'a Claim,
        tables: &'a Tables,
        default_locality: Option<&str>,
    ) -> Self {
        let mut slot = Slot {
            line,
            price: LinePrice::new(line.number, MEDICARE_PFS),
            work: None,
        };
        if let Err(reason) = slot.start(claim, tables, default_locality) {
            slot.price.reason = reason;
        }
        slot
    }

    fn trace(&mut self, text: String) {
        self.price.trace.push(text);
    }

    /// Zero with a reason (a known code Medicare does not pay under the PFS).
    fn zero(&mut self, reason: String) {
        self.price.allowed_cents = Some(0);
        self.price.reason = reason;
        self.work = None;
    }

    fn start(
        &mut self,
        claim: &Claim,
        tables: &'a Tables,
        default_locality: Option<&str>,
    ) -> Result<(), String> {
        let line = self.line;
        if claim.claim_type == ClaimType::Institutional {
            return Err("institutional claims are not paid under the Medicare Physician Fee Schedule (OPPS/other facility payment systems apply)".into());
        }
        let Some(dated) = tables.pfs_rvu_for(line.service_date) else {
            return Err(if tables.pfs_rvu.is_empty() {
                "no Medicare PFS relative value file is loaded".to_string()
            } else {
                format!(
                    "no Medicare PFS relative value file covers the date of service {} (loaded: {})",
                    line.service_date,
                    tables
                        .pfs_rvu
                        .iter()
                        .map(|t| t.version.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
        };
        self.price.schedule_version = dated.version.clone();
        let table = &*dated.table;
        let code_text = line.procedure_code.as_str();
        let code =
            pack_proc(code_text).ok_or_else(|| format!("{code_text} is not a 5-character code"))?;
        let component = line
            .modifiers
            .iter()
            .find(|m| matches!(m.as_str(), "26" | "TC" | "53"))
            .map(String::as_str);
        let row = match component {
            Some(m) => match table.get(code, pack_modifier(m).unwrap_or(0)) {
                Some(r) => r,
                None => {
                    let Some(global) = table.get(code, 0) else {
                        return Err(format!("{code_text} is not in the Medicare PFS ({})", dated.version));
                    };
                    if m == "53" {
                        global
                    } else {
                        return Err(format!(
                            "{code_text}-{m}: modifier {m} cannot be used with this code (PC/TC indicator {}: {})",
                            global.pctc,
                            pctc_meaning(global.pctc)
                        ));
                    }
                }
            },
            None => table.get(code, 0).ok_or_else(|| {
                format!("{code_text} is not in the Medicare PFS ({}); it may be paid under another fee schedule (clinical lab, DMEPOS, ASP drug pricing)", dated.version)
            })?,
        };
        let label = match component {
            Some(m) if table.get(code, pack_modifier(m).unwrap_or(0)).is_some() => {
                format!("{code_text}-{m}")
            }
            _ => code_text.to_string(),
        };
        match row.status {
            b'A' | b'R' | b'T' => {}
            b'C' => {
                return Err(format!(
                    "{label} is carrier-priced (status C): the MAC sets the amount, there is no national RVU"
                ));
            }
            b'J' => {
                return Err(format!(
                    "{label} is an anesthesia service (status J): paid from base and time units under the anesthesia fee schedule, not priced here"
                ));
            }
            s => {
                self.zero(format!("{label}: {}", status_zero_reason(s)));
                return Ok(());
            }
        }
        if row.status == b'R' {
            self.trace(format!("{label}: restricted coverage (status R): paid only when the coverage conditions are met"));
        }
        let pos = line.place_of_service.as_str();
        let facility = FACILITY_POS.contains(&pos);
        let loc = locality(claim, tables, line.service_date, default_locality)?;
        let ctx = Ctx {
            facility,
            gpci: loc.gpci,
        };
        let setting = if facility { "facility" } else { "non-facility" };
        let pos_text = if pos.is_empty() {
            "POS not given".to_string()
        } else {
            format!("POS {pos}")
        };
        let na = if facility {
            row.facility_na
        } else {
            row.nonfacility_na
        };
        let pe = if facility {
            row.pe_facility
        } else {
            row.pe_nonfacility
        };
        let (wg, pg, mg, where_) = match (&loc.key, loc.gpci) {
            (Some(k), Some(g)) => (
                g.work,
                g.pe,
                g.mp,
                format!("locality {k} {} {}", g.state, g.name),
            ),
            _ => (1000, 1000, 1000, "national (no locality given)".to_string()),
        };
        let unit = fee(row, ctx);
        self.trace(format!(
            "{label} {setting} ({pos_text}), {where_}: ({} × {} + {} × {} + {} × {}) × {} = {}",
            format_fixed(row.work, 2),
            format_fixed(wg, 3),
            format_fixed(pe, 2),
            format_fixed(pg, 3),
            format_fixed(row.mp, 2),
            format_fixed(mg, 3),
            format_fixed(row.conversion_factor, 4),
            format_cents(unit)
        ));
        if na {
            self.trace(format!("{label}: CMS marks the {setting} PE RVU \"NA\" (rarely or never performed in this setting); the file's PE RVU is used"));
        }
        let mut work = Work {
            row,
            table,
            code,
            parts: parts(row, ctx),
            unit,
            milli_units: milli_units(line.units),
            amount: 0,
            ctx,
        };
        if line.modifiers.iter().any(|m| m == "50") {
            work.milli_units = 1000;
            let (bp, why) = match row.bilateral {
                1 => (
                    15_000,
                    "bilateral indicator 1: 150% of the fee for one side",
                ),
                2 => (
                    WHOLE,
                    "bilateral indicator 2: the RVUs already cover both sides, 100%",
                ),
                3 => (20_000, "bilateral indicator 3: 100% for each side"),
                0 => (
                    WHOLE,
                    "bilateral indicator 0: the 150% adjustment does not apply, 100% of the fee for one side",
                ),
                _ => (
                    WHOLE,
                    "bilateral indicator 9: the bilateral concept does not apply, priced as one service",
                ),
            };
            let adjusted = percent(unit, bp);
            self.trace(format!(
                "{label}-50: {} × {} ({why}) = {}",
                format_cents(unit),
                format_percent(bp),
                format_cents(adjusted)
            ));
            work.unit = adjusted;
            work.parts = work.parts.map(|p| p * i128::from(bp) / i128::from(WHOLE));
        }
        if let Some(split) = split_global(line, row) {
            let (bp, what) = split;
            let adjusted = percent(work.unit, bp);
            self.trace(format!(
                "{label}: {what}: {} × {} = {}",
                format_cents(work.unit),
                format_percent(bp),
                format_cents(adjusted)
            ));
            work.unit = adjusted;
            work.parts = work.parts.map(|p| p * i128::from(bp) / i128::from(WHOLE));
        }
        work.amount = crate::money::times_units(work.unit, work.milli_units);
        if work.milli_units != 1000 {
            self.trace(format!(
                "{label}: {} × {} units = {}",
                format_cents(work.unit),
                units_text(work.milli_units),
                format_cents(work.amount)
            ));
        }
        self.work = Some(work);
        Ok(())
    }

    /// Surgeon modifiers (after the multiple procedure reductions), then the lower-of rule.
    fn finish(mut self) -> LinePrice {
        let Some(mut work) = self.work.take() else {
            return self.price;
        };
        let line = self.line;
        let label = &line.procedure_code;
        let row = work.row;
        let has = |m: &str| line.modifiers.iter().any(|x| x == m);
        let assistant = ["80", "81", "82", "AS"].into_iter().find(|m| has(m));
        if let Some(m) = assistant {
            let bp = if m == "AS" { 1_360 } else { 1_600 };
            let how = if m == "AS" {
                "AS: 85% of 16% = 13.6%"
            } else {
                "16%"
            };
            match row.assistant {
                1 => {
                    self.trace(format!("{label}-{m}: assistants at surgery may not be paid for this code (ASST SURG indicator 1, statutory restriction)"));
                    self.zero(format!(
                        "{label}-{m}: assistant at surgery not payable (ASST SURG indicator 1)"
                    ));
                    return self.price;
                }
                9 => {
                    self.zero(format!("{label}-{m}: the assistant-at-surgery concept does not apply to this code (ASST SURG indicator 9)"));
                    return self.price;
                }
                i => {
                    let new = percent(work.amount, bp);
                    let note = if i == 0 {
                        " — payable only with documentation of medical necessity (ASST SURG indicator 0)"
                    } else {
                        ""
                    };
                    self.trace(format!(
                        "{label}-{m}: assistant at surgery {} × {how} = {}{note}",
                        format_cents(work.amount),
                        format_cents(new)
                    ));
                    work.amount = new;
                }
            }
        }
        if has("62") {
            match row.co_surgery {
                1 | 2 => {
                    let new = percent(work.amount, 6_250);
                    let note = if row.co_surgery == 1 {
                        " — documentation of medical necessity required (CO-SURG indicator 1)"
                    } else {
                        ""
                    };
                    self.trace(format!(
                        "{label}-62: co-surgeon {} × 62.5% = {}{note}",
                        format_cents(work.amount),
                        format_cents(new)
                    ));
                    work.amount = new;
                }
                i => {
                    self.zero(format!(
                        "{label}-62: co-surgeons are not {} for this code (CO-SURG indicator {i})",
                        if i == 0 { "permitted" } else { "applicable" }
                    ));
                    return self.price;
                }
            }
        }
        if has("66") {
            match row.team {
                1 | 2 => {
                    self.price.reason = format!(
                        "{label}-66: team surgery is paid by report (TEAM SURG indicator {}): the MAC prices it from the documentation",
                        row.team
                    );
                    return self.price;
                }
                i => {
                    self.zero(format!("{label}-66: team surgeons are not {} for this code (TEAM SURG indicator {i})", if i == 0 { "permitted" } else { "applicable" }));
                    return self.price;
                }
            }
        }
        self.price.fee_cents = Some(work.amount);
        let charge = line.charge_cents;
        let allowed = if charge > 0 && charge < work.amount {
            self.trace(format!(
                "lower of charge {} and fee {}: {} (42 CFR 414.20)",
                format_cents(charge),
                format_cents(work.amount),
                format_cents(charge)
            ));
            charge
        } else {
            work.amount
        };
        self.price.allowed_cents = Some(allowed);
        self.price
    }
}

/// Global surgery split modifiers (Pub. 100-04, Ch. 12, §40.2 and RVUPUF PRE/INTRA/POST OP):
/// 54 surgical care only = preoperative + intraoperative share; 55 postoperative management
/// only = postoperative share; 56 preoperative management only = preoperative share. `None`
/// when the line has none of them or the code has no split (shares all zero).
fn split_global(line: &Line, row: &RvuRow) -> Option<(i64, &'static str)> {
    let [pre, intra, post] = row.split;
    if pre + intra + post == 0 {
        return None;
    }
    line.modifiers.iter().find_map(|m| match m.as_str() {
        "54" => Some((
            pre + intra,
            "54 surgical care only (pre- + intraoperative share)",
        )),
        "55" => Some((
            post,
            "55 postoperative management only (postoperative share)",
        )),
        "56" => Some((pre, "56 preoperative management only (preoperative share)")),
        _ => None,
    })
}

fn pctc_meaning(i: u8) -> &'static str {
    match i {
        0 => "physician service, the PC/TC concept does not apply",
        1 => "diagnostic test with professional and technical components",
        2 => "professional-component-only code",
        3 => "technical-component-only code",
        4 => "global test only code; the components are separate codes",
        5 => "incident-to code",
        6 => "laboratory physician interpretation code",
        7 => "physical therapy service",
        8 => "physician interpretation code",
        _ => "the PC/TC concept does not apply",
    }
}

fn status_zero_reason(s: u8) -> String {
    match s {
        b'B' => "bundled (status B): always included in the payment for other services, never paid separately".into(),
        b'P' => "bundled or excluded (status P): no separate PFS payment".into(),
        b'N' => "non-covered service (status N)".into(),
        b'I' => "not valid for Medicare (status I): Medicare uses another code for this service".into(),
        b'X' => "statutory exclusion (status X): not a physician service under the PFS; paid under another fee schedule if covered (e.g. clinical laboratory, ambulance)".into(),
        b'E' => "excluded from the PFS by regulation (status E); may be paid under another fee schedule".into(),
        b'M' => "measurement code (status M): quality reporting only, no payment".into(),
        b'D' | b'F' | b'H' => format!("deleted code or modifier (status {})", s as char),
        b'G' => "not valid for Medicare (status G): use the code Medicare substitutes".into(),
        other => format!("status {} is not payable under the PFS", other as char),
    }
}

/// The claim's locality: the claim's, else the configured default, else national.
fn locality<'t>(
    claim: &Claim,
    tables: &'t Tables,
    date: NaiveDate,
    default_locality: Option<&str>,
) -> Result<Locality<'t>, String> {
    let Some(text) = super::locality_text(claim, default_locality) else {
        return Ok(Locality {
            key: None,
            gpci: None,
        });
    };
    let key = locality_key(text).ok_or_else(|| {
        format!("locality {text:?} is not a 5-digit MAC number followed by a 2-digit locality (e.g. 1320201)")
    })?;
    let Some(dated) = tables.pfs_gpci_for(date) else {
        return Err(format!(
            "no GPCI file covers the date of service {date}, so locality {key} cannot be priced"
        ));
    };
    let gpci = dated
        .table
        .get(&key)
        .ok_or_else(|| format!("locality {key} is not in the GPCI file ({})", dated.version))?;
    Ok(Locality {
        key: Some(key),
        gpci: Some(gpci),
    })
}

/// Status T (injections): paid only when no other PFS-payable service is billed on the same
/// date by the same provider (RVUPUF status code T).
fn status_t(lines: &mut [Slot]) {
    let payable: Vec<(NaiveDate, String)> = lines
        .iter()
        .filter(|s| {
            s.work
                .as_ref()
                .is_some_and(|w| matches!(w.row.status, b'A' | b'R'))
        })
        .map(|s| (s.line.service_date, s.line.rendering_provider.npi.clone()))
        .collect();
    for s in lines.iter_mut() {
        let t = s.work.as_ref().is_some_and(|w| w.row.status == b'T');
        if t && payable.contains(&(s.line.service_date, s.line.rendering_provider.npi.clone())) {
            let code = s.line.procedure_code.clone();
            s.zero(format!("{code}: status T — paid only when no other payable physician service is billed the same day; another one is"));
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every expected amount is worked out by hand from the table rows below (copied from
    //! CMS's PPRRVU2025_Oct.csv and GPCI2025.csv unless marked "test row"), with the rounding
    //! rule of `crate::money`: round to the cent, halves away from zero, at every step.
    //! CF = 32.3465 throughout.

    use std::sync::Arc;

    use super::*;
    use crate::claim::{PayerType, Provider, Sex};
    use crate::tables::read::Input;
    use crate::tables::{Dated, Window, pfs};

    const RVU: &str = "\
HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,IND,DAYS,OP,OP,OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,AMOUNT,AMOUNT
27447,,,A,,19.60,15.30,NA,15.30,,3.98,38.88,38.88,0,090,0.10,0.69,0.21,2,1,2,1,0,,32.3465,09,0,99,0.00,0.00,0.00
20610,,,A,,0.79,1.04,,0.44,,0.13,1.96,1.36,0,000,0.00,0.00,0.00,2,1,1,0,0,,32.3465,09,0,99,0.00,0.00,0.00
45378,,,A,,3.26,6.44,,1.79,,0.43,10.13,5.48,0,000,0.00,0.00,0.00,2,0,1,0,0,,32.3465,09,0,99,0.00,0.00,0.00
45380,,,A,,3.56,8.79,,1.93,,0.47,12.82,5.96,0,000,0.00,0.00,0.00,3,0,1,0,0,45378,32.3465,09,0,99,0.00,0.00,0.00
45385,,,A,,4.57,8.33,,2.38,,0.56,13.46,7.51,0,000,0.00,0.00,0.00,3,0,1,0,0,45378,32.3465,09,0,99,0.00,0.00,0.00
97110,,,A,,0.45,0.43,,0.43,NA,0.01,0.89,0.89,7,XXX,0.00,0.00,0.00,5,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
97140,,,A,,0.43,0.40,,0.40,NA,0.01,0.84,0.84,7,XXX,0.00,0.00,0.00,5,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
70450,,,A,,0.85,2.35,,2.35,NA,0.05,3.25,3.25,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,09,0,88,3.58,3.58,0.06
70450,26,,A,,0.85,0.31,,0.31,,0.04,1.20,1.20,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,09,0,88,0.00,0.00,0.00
70450,TC,,A,,0.00,2.04,,2.04,NA,0.01,2.05,2.05,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,01,0,88,3.27,3.27,0.02
70486,,,A,,0.85,3.00,,3.00,NA,0.05,3.90,3.90,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,09,0,88,3.60,3.60,0.05
70486,26,,A,,0.85,0.32,,0.32,,0.04,1.21,1.21,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,09,0,88,0.00,0.00,0.00
70486,TC,,A,,0.00,2.68,,2.68,NA,0.01,2.69,2.69,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,01,0,88,3.28,3.28,0.01
93005,,,A,,0.00,0.18,,0.18,NA,0.01,0.19,0.19,3,XXX,0.00,0.00,0.00,6,0,0,0,0,,32.3465,01,0,99,0.00,0.00,0.00
99213,,,A,,1.30,1.35,,0.57,,0.10,2.75,1.97,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
99214,,,A,,1.92,1.80,,0.83,,0.15,3.87,2.90,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
71046,,,A,,0.22,0.77,,0.77,NA,0.02,1.01,1.01,1,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,2.76,2.76,0.05
71046,26,,A,,0.22,0.08,,0.08,,0.01,0.31,0.31,1,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
71046,TC,,A,,0.00,0.69,,0.69,NA,0.01,0.70,0.70,1,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,01,0,99,2.68,2.68,0.04
J1100,,,E,,0.00,0.00,,0.00,,0.00,0.00,0.00,9,XXX,0.00,0.00,0.00,9,9,9,9,9,,32.3465,09,0,99,0.00,0.00,0.00
0001F,,,I,,0.00,0.00,,0.00,,0.00,0.00,0.00,9,XXX,0.00,0.00,0.00,9,9,9,9,9,,32.3465,09,0,99,0.00,0.00,0.00
00100,,,J,,0.00,0.00,,0.00,,0.00,0.00,0.00,9,XXX,0.00,0.00,0.00,9,9,9,9,9,,32.3465,09,0,99,0.00,0.00,0.00
0042T,,,C,,0.00,0.00,,0.00,,0.00,0.00,0.00,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
11111,,,A,,10.00,5.00,,5.00,,1.00,16.00,16.00,0,090,0.00,0.00,0.00,2,2,1,0,2,,32.3465,09,0,99,0,0,0
22222,,,A,,10.00,5.00,,5.00,,1.00,16.00,16.00,0,090,0.00,0.00,0.00,2,3,9,9,0,,32.3465,09,0,99,0,0,0
33333,,,T,,0.17,0.21,,0.21,,0.01,0.39,0.39,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0,0,0
";
    // 11111, 22222 and 33333 are test rows (made-up codes): bilateral 2 / assistant 1 / team 2;
    // bilateral 3 / assistant and co-surgery 9; status T.

    const GPCI: &str = "\
Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,2025 PW GPCI (with 1.0 Floor),2025 PE GPCI,2025 MP GPCI
13202,NY,01,MANHATTAN,1.065,1.166,1.656
";

    fn tables() -> Tables {
        let input = |t: &str| Input {
            name: "t.csv".into(),
            reader: Box::new(std::io::Cursor::new(t.as_bytes().to_vec())),
        };
        let mut rvu = pfs::RvuTable::default();
        rvu.load_cms(&mut input(RVU)).unwrap();
        let mut gpci = pfs::GpciTable::default();
        gpci.load_cms(&mut input(GPCI)).unwrap();
        let window = Window::parse("2025-01-01", "2025-12-31").unwrap();
        Tables {
            pfs_rvu: vec![Dated {
                window,
                table: Arc::new(rvu),
                version: "RVU25D".into(),
            }],
            pfs_gpci: vec![Dated {
                window,
                table: Arc::new(gpci),
                version: "GPCI 2025".into(),
            }],
            ..Tables::default()
        }
    }

    struct L(&'static str, &'static [&'static str], f64);

    fn claim_at(pos: &str, lines: &[L]) -> Claim {
        let date = NaiveDate::from_ymd_opt(2025, 3, 10).unwrap();
        Claim {
            id: "T".into(),
            claim_type: ClaimType::Professional,
            payer_id: String::new(),
            payer_type: PayerType::Medicare,
            birth_date: None,
            sex: Sex::Unknown,
            billing_provider: Provider::default(),
            rendering_provider: Provider::default(),
            place_of_service: pos.into(),
            frequency_code: String::new(),
            diagnoses: Vec::new(),
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, l)| Line {
                    number: i as u32 + 1,
                    procedure_code: l.0.into(),
                    modifiers: l.1.iter().map(|m| m.to_string()).collect(),
                    units: l.2,
                    charge_cents: 10_000_000,
                    service_date: date,
                    service_date_to: None,
                    diagnosis_pointers: Vec::new(),
                    place_of_service: pos.into(),
                    revenue_code: String::new(),
                    ndc: String::new(),
                    rendering_provider: Provider::default(),
                })
                .collect(),
            submission_date: None,
            type_of_bill: String::new(),
            prior_authorization: String::new(),
            locality: String::new(),
        }
    }

    fn price(c: &Claim) -> Vec<LinePrice> {
        price_claim(c, &tables(), None)
    }

    fn amounts(c: &Claim) -> Vec<Option<i64>> {
        price(c).iter().map(|p| p.allowed_cents).collect()
    }

    #[test]
    fn fee_schedule_formula_by_setting_and_locality() {
        // 99213 non-facility, national: (1.30 + 1.35 + 0.10) × 32.3465 = 88.952875 → 88.95
        let office = claim_at("11", &[L("99213", &[], 1.0)]);
        assert_eq!(amounts(&office), [Some(8_895)]);
        // facility (POS 22): (1.30 + 0.57 + 0.10) × 32.3465 = 63.722605 → 63.72
        let hospital = claim_at("22", &[L("99213", &[], 1.0)]);
        assert_eq!(amounts(&hospital), [Some(6_372)]);
        // 99214 in Manhattan (13202-01): (1.92 × 1.065 + 1.80 × 1.166 + 0.15 × 1.656) × 32.3465
        // = (2.0448 + 2.0988 + 0.2484) × 32.3465 = 4.392 × 32.3465 = 142.065828 → 142.07
        let mut c = claim_at("11", &[L("99214", &[], 1.0)]);
        c.locality = "1320201".into();
        let p = price(&c);
        assert_eq!(p[0].allowed_cents, Some(14_207));
        assert!(p[0].trace[0].contains("MANHATTAN"), "{:?}", p[0].trace);
        // the configured default locality applies when the claim names none
        let c = claim_at("11", &[L("99214", &[], 1.0)]);
        assert_eq!(
            price_claim(&c, &tables(), Some("1320201"))[0].allowed_cents,
            Some(14_207)
        );
        // an unknown locality is not guessed
        let mut c = claim_at("11", &[L("99214", &[], 1.0)]);
        c.locality = "9999999".into();
        let p = price(&c);
        assert_eq!(p[0].allowed_cents, None);
        assert!(p[0].reason.contains("9999999"), "{}", p[0].reason);
    }

    #[test]
    fn units_and_lower_of_charge() {
        // 99213 × 3 units: 88.95 × 3 = 266.85 (no multiple procedure rule: MULT PROC 0)
        assert_eq!(
            amounts(&claim_at("11", &[L("99213", &[], 3.0)])),
            [Some(26_685)]
        );
        // charge 50.00 is below the fee 88.95: allowed 50.00 (42 CFR 414.20)
        let mut c = claim_at("11", &[L("99213", &[], 1.0)]);
        c.lines[0].charge_cents = 5_000;
        let p = price(&c);
        assert_eq!(
            (p[0].allowed_cents, p[0].fee_cents),
            (Some(5_000), Some(8_895))
        );
    }

    #[test]
    fn professional_and_technical_components() {
        // 71046-26: (0.22 + 0.08 + 0.01) × 32.3465 = 10.027415 → 10.03
        // 71046-TC: (0.00 + 0.69 + 0.01) × 32.3465 = 22.64255 → 22.64
        // 71046 global: (0.22 + 0.77 + 0.02) × 32.3465 = 32.669965 → 32.67
        let c = claim_at(
            "11",
            &[
                L("71046", &["26"], 1.0),
                L("71046", &["TC"], 1.0),
                L("71046", &[], 1.0),
            ],
        );
        assert_eq!(amounts(&c), [Some(1_003), Some(2_264), Some(3_267)]);
        // 26 on a code whose PC/TC indicator is 0 cannot be priced
        let p = price(&claim_at("11", &[L("99213", &["26"], 1.0)]));
        assert_eq!(p[0].allowed_cents, None);
        assert!(p[0].reason.contains("PC/TC indicator 0"), "{}", p[0].reason);
    }

    #[test]
    fn status_codes() {
        let c = claim_at(
            "11",
            &[
                L("J1100", &[], 1.0),
                L("0001F", &[], 1.0),
                L("00100", &[], 1.0),
                L("0042T", &[], 1.0),
                L("G9999", &[], 1.0),
            ],
        );
        let p = price(&c);
        // E and I: known, not payable under the PFS → zero with the reason
        assert_eq!(p[0].allowed_cents, Some(0));
        assert!(p[0].reason.contains("status E"));
        assert_eq!(p[1].allowed_cents, Some(0));
        assert!(p[1].reason.contains("status I"));
        // J (anesthesia) and C (carrier-priced): no national amount → unpriced
        assert_eq!(p[2].allowed_cents, None);
        assert!(p[2].reason.contains("anesthesia"));
        assert_eq!(p[3].allowed_cents, None);
        assert!(p[3].reason.contains("carrier-priced"));
        // not in the file at all
        assert_eq!(p[4].allowed_cents, None);
        assert!(p[4].reason.contains("not in the Medicare PFS"));
        // status T (test row 33333) is paid alone, but not with another payable service
        // that day: (0.17 + 0.21 + 0.01) × 32.3465 = 12.615135 → 12.62
        assert_eq!(
            amounts(&claim_at("11", &[L("33333", &[], 1.0)])),
            [Some(1_262)]
        );
        let p = price(&claim_at(
            "11",
            &[L("33333", &[], 1.0), L("99213", &[], 1.0)],
        ));
        assert_eq!(p[0].allowed_cents, Some(0));
        assert!(p[0].reason.contains("status T"));
    }

    #[test]
    fn bilateral_modifier_50() {
        // 27447 facility, national: (19.60 + 15.30 + 3.98) × 32.3465 = 38.88 × 32.3465
        // = 1,257.63192 → 1,257.63; bilateral indicator 1: × 150% = 1,886.445 → 1,886.45
        let c = claim_at("22", &[L("27447", &["50"], 1.0)]);
        assert_eq!(amounts(&c), [Some(188_645)]);
        // indicator 2 (test row 11111: 16.00 × 32.3465 = 517.544 → 517.54): already bilateral, 100%
        assert_eq!(
            amounts(&claim_at("22", &[L("11111", &["50"], 1.0)])),
            [Some(51_754)]
        );
        // indicator 3 (test row 22222): 100% each side = 200%: 517.54 × 2 = 1,035.08
        assert_eq!(
            amounts(&claim_at("22", &[L("22222", &["50"], 1.0)])),
            [Some(103_508)]
        );
        // indicator 0 (70450): 150% does not apply: 105.13 (3.25 × 32.3465 = 105.126125)
        assert_eq!(
            amounts(&claim_at("11", &[L("70450", &["50"], 1.0)])),
            [Some(10_513)]
        );
    }

    #[test]
    fn multiple_surgery_ranking() {
        // 27447 (1,257.63) and 20610 facility ((0.79 + 0.44 + 0.13) × 32.3465 = 43.99124 →
        // 43.99) on the same date by the same provider: highest 100%, the other 50%:
        // 43.99 × 50% = 21.995 → 22.00. Ranking ignores line order.
        let c = claim_at("22", &[L("20610", &[], 1.0), L("27447", &[], 1.0)]);
        assert_eq!(amounts(&c), [Some(2_200), Some(125_763)]);
        // the bilateral adjustment comes first: 27447-50 (1,886.45) ranks first
        let c = claim_at("22", &[L("27447", &["50"], 1.0), L("20610", &[], 1.0)]);
        assert_eq!(amounts(&c), [Some(188_645), Some(2_200)]);
        // a further unit is a further procedure: 20610 × 2 alone = 43.99 + 22.00 = 65.99
        assert_eq!(
            amounts(&claim_at("22", &[L("20610", &[], 2.0)])),
            [Some(6_599)]
        );
        // different dates: no reduction
        let mut c = claim_at("22", &[L("20610", &[], 1.0), L("27447", &[], 1.0)]);
        c.lines[0].service_date = c.lines[0].service_date.succ_opt().unwrap();
        assert_eq!(amounts(&c), [Some(4_399), Some(125_763)]);
        // different rendering providers: no reduction
        let mut c = claim_at("22", &[L("20610", &[], 1.0), L("27447", &[], 1.0)]);
        c.lines[0].rendering_provider.npi = "1234567893".into();
        assert_eq!(amounts(&c), [Some(4_399), Some(125_763)]);
        let p = price(&claim_at(
            "22",
            &[L("20610", &[], 1.0), L("27447", &[], 1.0)],
        ));
        assert!(
            p[0].trace.iter().any(|t| t.contains("ranked 2nd, 50%")),
            "{:?}",
            p[0].trace
        );
    }

    #[test]
    fn endoscopy_family() {
        // Facility, national. 45385: (4.57 + 2.38 + 0.56) × 32.3465 = 242.922215 → 242.92;
        // 45380: (3.56 + 1.93 + 0.47) × 32.3465 = 192.78514 → 192.79;
        // base 45378: (3.26 + 1.79 + 0.43) × 32.3465 = 177.25882 → 177.26.
        // Highest (45385) 100%; 45380: 192.79 − 177.26 = 15.53; the base billed with its
        // family: 0.
        let c = claim_at(
            "22",
            &[
                L("45378", &[], 1.0),
                L("45380", &[], 1.0),
                L("45385", &[], 1.0),
            ],
        );
        assert_eq!(amounts(&c), [Some(0), Some(1_553), Some(24_292)]);
        // The family (242.92 + 15.53 = 258.45) ranks as one procedure against 20610 (43.99):
        // the family is paid in full, 20610 at 50% = 22.00.
        let c = claim_at(
            "22",
            &[
                L("45380", &[], 1.0),
                L("45385", &[], 1.0),
                L("20610", &[], 1.0),
            ],
        );
        assert_eq!(amounts(&c), [Some(1_553), Some(24_292), Some(2_200)]);
        // ... and against 27447 (1,257.63) the whole family is second: 50% of each member:
        // 242.92 × 50% = 121.46; 15.53 × 50% = 7.765 → 7.77
        let c = claim_at(
            "22",
            &[
                L("45380", &[], 1.0),
                L("45385", &[], 1.0),
                L("27447", &[], 1.0),
            ],
        );
        assert_eq!(amounts(&c), [Some(777), Some(12_146), Some(125_763)]);
    }

    #[test]
    fn therapy_practice_expense_reduction() {
        // Non-facility, national. 97110 has the highest PE (0.43 > 0.40), so its first unit is
        // paid in full: (0.45 + 0.43 + 0.01) × 32.3465 = 28.788385 → 28.79. Every other unit
        // gets 50% of its PE: 97110 (0.45 + 0.215 + 0.01) × 32.3465 = 21.8338875 → 21.83;
        // 97140 (0.43 + 0.20 + 0.01) × 32.3465 = 20.70176 → 20.70.
        // Line 1 (97110 × 2) = 28.79 + 21.83 = 50.62; line 2 (97140 × 1) = 20.70.
        let c = claim_at("11", &[L("97110", &[], 2.0), L("97140", &[], 1.0)]);
        assert_eq!(amounts(&c), [Some(5_062), Some(2_070)]);
        // a single unit alone: no reduction
        assert_eq!(
            amounts(&claim_at("11", &[L("97140", &[], 1.0)])),
            [Some(2_717)]
        );
    }

    #[test]
    fn imaging_and_cardiovascular_reductions() {
        // Non-facility, national, same family (88). Globals: 70450 = 3.25 × 32.3465 = 105.13;
        // 70486 = 3.90 × 32.3465 = 126.15135 → 126.15.
        // TC: 70450-TC 2.05 × 32.3465 = 66.310325 → 66.31; 70486-TC 2.69 × 32.3465 = 87.01
        // PC: 70450-26 1.20 × 32.3465 = 38.8158 → 38.82; 70486-26 1.21 × 32.3465 = 39.14
        // 70486 has the highest TC and PC: full. 70450: TC 66.31 × 50% = 33.155 → 33.16 off,
        // PC 38.82 × 5% = 1.941 → 1.94 off: 105.13 − 33.16 − 1.94 = 70.03.
        let c = claim_at("11", &[L("70450", &[], 1.0), L("70486", &[], 1.0)]);
        assert_eq!(amounts(&c), [Some(7_003), Some(12_615)]);
        // 93005 (TC-only, MULT PROC 6) × 2: (0.18 + 0.01) × 32.3465 = 6.145835 → 6.15;
        // the second unit's TC is reduced 25%: 6.15 × 25% = 1.5375 → 1.54;
        // 6.15 × 2 − 1.54 = 10.76
        assert_eq!(
            amounts(&claim_at("11", &[L("93005", &[], 2.0)])),
            [Some(1_076)]
        );
    }

    #[test]
    fn surgeon_modifiers() {
        // 27447 facility 1,257.63. Assistant (80, ASST SURG 2): × 16% = 201.2208 → 201.22;
        // AS (85% of 16% = 13.6%): 171.03768 → 171.04; co-surgeon (62, CO-SURG 1): × 62.5%
        // = 786.01875 → 786.02; global split 54 (pre 0.10 + intra 0.69 = 79%): 993.5277 →
        // 993.53.
        let one = |m: &'static [&'static str]| amounts(&claim_at("22", &[L("27447", m, 1.0)]))[0];
        assert_eq!(one(&["80"]), Some(20_122));
        assert_eq!(one(&["AS"]), Some(17_104));
        assert_eq!(one(&["62"]), Some(78_602));
        assert_eq!(one(&["54"]), Some(99_353));
        // 55 (post 21%): 1,257.63 × 21% = 264.1023 → 264.10
        assert_eq!(one(&["55"]), Some(26_410));
        // team surgery (66) on 27447: TEAM SURG 0, not permitted → zero with the reason
        let p = price(&claim_at("22", &[L("27447", &["66"], 1.0)]));
        assert_eq!(p[0].allowed_cents, Some(0));
        assert!(p[0].reason.contains("not permitted"));
        // test row 11111: ASST SURG 1 (statutory restriction) → zero; TEAM SURG 2 → by report
        let p = price(&claim_at(
            "22",
            &[L("11111", &["80"], 1.0), L("11111", &["66"], 1.0)],
        ));
        assert_eq!(p[0].allowed_cents, Some(0));
        assert!(p[0].reason.contains("ASST SURG indicator 1"));
        assert_eq!(p[1].allowed_cents, None);
        assert!(p[1].reason.contains("by report"));
        // test row 22222: CO-SURG 9 → zero
        let p = price(&claim_at("22", &[L("22222", &["62"], 1.0)]));
        assert_eq!(p[0].allowed_cents, Some(0));
    }

    #[test]
    fn what_cannot_be_priced_says_why() {
        let mut c = claim_at("11", &[L("99213", &[], 1.0)]);
        c.claim_type = ClaimType::Institutional;
        assert!(price(&c)[0].reason.contains("institutional"));
        let mut c = claim_at("11", &[L("99213", &[], 1.0)]);
        c.lines[0].service_date = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        let p = price(&c);
        assert_eq!(p[0].allowed_cents, None);
        assert!(p[0].reason.contains("2024-06-01"), "{}", p[0].reason);
        let p = price_claim(
            &claim_at("11", &[L("99213", &[], 1.0)]),
            &Tables::default(),
            None,
        );
        assert!(p[0].reason.contains("no Medicare PFS"));
    }
}
