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
//! What is deliberately not modelled: the geographic locality from the provider's ZIP code (the
//! claim or configuration names it), anesthesia (status J), carrier-priced (C) and by-report
//! amounts (no national number exists), the HPSA/PSA bonuses, sequestration and the
//! beneficiary's deductible and coinsurance (this is the *allowed* amount, not the payment),
//! the non-participating-provider 95 % rate and limiting charge, and the global surgery package
//! modifiers 54/55/56 (their percentages are in the RVU file's PRE/INTRA/POST columns and are
//! applied here: see [`split_global`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{LinePrice, MEDICARE_PFS};
use crate::claim::{Claim, ClaimType, Line};
use crate::money::{WHOLE, format_cents, format_fixed, format_percent, percent, round_div};
use crate::tables::code::pack_proc;
use crate::tables::pfs::{Gpci, RvuRow, RvuTable, locality_key, pack_modifier};
use crate::tables::{Tables, code};

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
        surgery_mppr(&mut lines, members);
        therapy_mppr(&mut lines, members);
        tc_mppr(&mut lines, members, 4);
        tc_mppr(&mut lines, members, 6);
        tc_mppr(&mut lines, members, 7);
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

fn milli(units: f64) -> i64 {
    (units * 1000.0).round() as i64
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
        let day = code::day(line.service_date);
        let Some(dated) = tables.pfs_rvu.iter().rev().find(|t| t.window.contains(day)) else {
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
            milli_units: milli(line.units),
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
    let given = if claim.locality.is_empty() {
        default_locality.filter(|d| !d.is_empty())
    } else {
        Some(claim.locality.as_str())
    };
    let Some(text) = given else {
        return Ok(Locality {
            key: None,
            gpci: None,
        });
    };
    let key = locality_key(text).ok_or_else(|| {
        format!("locality {text:?} is not a 5-digit MAC number followed by a 2-digit locality (e.g. 1320201)")
    })?;
    let day = code::day(date);
    let Some(dated) = tables
        .pfs_gpci
        .iter()
        .rev()
        .find(|t| t.window.contains(day))
    else {
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

/// One ranked item of the standard multiple procedure ranking: a line, or an endoscopy
/// family counted as one procedure.
struct Ranked {
    lines: Vec<usize>,
    amount: i64,
}

/// Multiple procedure indicator 2 (and 3 after endoscopy families are formed): rank by fee
/// schedule amount, 100 % for the highest, 50 % for every other procedure (and every further
/// unit) on the same date by the same provider.
fn surgery_mppr(lines: &mut [Slot], members: &[usize]) {
    let ind = |s: &Slot| s.work.as_ref().map_or(9, |w| w.row.mult_proc);
    // Endoscopy families: indicator-3 codes grouped by ENDO BASE, plus the base code itself.
    let mut families: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &i in members {
        if let Some(w) = &lines[i].work
            && w.row.mult_proc == 3
            && w.row.endo_base != 0
        {
            families.entry(w.row.endo_base).or_default().push(i);
        }
    }
    let mut in_family = vec![false; lines.len()];
    let mut ranked: Vec<Ranked> = Vec::new();
    for (base, fam) in &mut families {
        for &i in members {
            if lines[i].work.as_ref().is_some_and(|w| w.code == *base) && !fam.contains(&i) {
                fam.push(i);
            }
        }
        for &i in fam.iter() {
            in_family[i] = true;
        }
        if fam.len() > 1 {
            endoscopy_family(lines, fam, *base);
        }
        ranked.push(Ranked {
            lines: fam.clone(),
            amount: fam
                .iter()
                .map(|&i| lines[i].work.as_ref().map_or(0, |w| w.amount))
                .sum(),
        });
    }
    for &i in members {
        if !in_family[i] && matches!(ind(&lines[i]), 2 | 3) {
            ranked.push(Ranked {
                lines: vec![i],
                amount: lines[i].work.as_ref().map_or(0, |w| w.unit),
            });
        }
    }
    let units: i64 = ranked
        .iter()
        .map(|r| {
            if r.lines.len() == 1 {
                lines[r.lines[0]].work.as_ref().map_or(0, |w| w.milli_units)
            } else {
                1000
            }
        })
        .sum();
    if units <= 1000 {
        return;
    }
    ranked.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.lines[0].cmp(&b.lines[0])));
    for (rank, r) in ranked.iter().enumerate() {
        for &i in &r.lines {
            let slot = &mut lines[i];
            let code = slot.line.procedure_code.clone();
            let date = slot.line.service_date;
            let Some(w) = slot.work.as_mut() else {
                continue;
            };
            let (full, reduced) = if rank == 0 {
                let first = if r.lines.len() > 1 {
                    w.milli_units
                } else {
                    w.milli_units.min(1000)
                };
                (first, w.milli_units - first)
            } else {
                (0, w.milli_units)
            };
            if reduced == 0 {
                let text = format!("{code}: multiple procedures on {date}: highest ranked, 100%");
                slot.trace(text);
                continue;
            }
            let base = if r.lines.len() > 1 { w.amount } else { w.unit };
            let new = if r.lines.len() > 1 {
                percent(base, 5_000)
            } else {
                crate::money::times_units(w.unit, full)
                    + crate::money::times_units(percent(w.unit, 5_000), reduced)
            };
            let what = if r.lines.len() > 1 {
                "endoscopy family"
            } else {
                "procedure"
            };
            let text = if rank == 0 {
                format!(
                    "{code}: multiple procedures on {date}: first unit 100%, {} further unit(s) at 50%: {} + {} × 50% × {} = {}",
                    units_text(reduced),
                    format_cents(w.unit),
                    format_cents(w.unit),
                    units_text(reduced),
                    format_cents(new)
                )
            } else {
                format!(
                    "{code}: multiple procedures on {date}: {} ranked {}, 50% (MULT PROC {}): {} × 50% = {}",
                    what,
                    ordinal(rank + 1),
                    w.row.mult_proc,
                    format_cents(if r.lines.len() > 1 {
                        base
                    } else {
                        crate::money::times_units(w.unit, w.milli_units)
                    }),
                    format_cents(new)
                )
            };
            w.amount = new;
            slot.trace(text);
        }
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, x) if x != 11 => "st",
        (2, x) if x != 12 => "nd",
        (3, x) if x != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Multiple endoscopy rule (MULT PROC 3): within one family (same ENDO BASE), the highest
/// valued endoscopy is paid in full and every other one is paid its fee minus the base
/// endoscopy's fee; the base itself, billed with others of its family, is not paid separately.
fn endoscopy_family(lines: &mut [Slot], fam: &mut [usize], base: u32) {
    fam.sort_by(|&a, &b| {
        let fa = lines[a].work.as_ref().map_or(0, |w| w.unit);
        let fb = lines[b].work.as_ref().map_or(0, |w| w.unit);
        fb.cmp(&fa).then(a.cmp(&b))
    });
    let Some(first) = lines[fam[0]].work.as_ref() else {
        return;
    };
    let base_fee = first.table.get(base, 0).map(|r| fee(r, first.ctx));
    let base_text = crate::tables::code::unpack_proc(base);
    for (k, &i) in fam.iter().enumerate() {
        let slot = &mut lines[i];
        let code = slot.line.procedure_code.clone();
        let Some(w) = slot.work.as_mut() else {
            continue;
        };
        if k == 0 {
            let text = format!("{code}: endoscopy family of {base_text}: highest valued, 100%");
            slot.trace(text);
            continue;
        }
        let text = if w.code == base {
            w.amount = 0;
            format!(
                "{code}: base endoscopy billed with other endoscopies of its family: included in their payment, 0.00"
            )
        } else if let Some(bf) = base_fee {
            let new = (w.amount - crate::money::times_units(bf, w.milli_units)).max(0);
            let t = format!(
                "{code}: endoscopy family of {base_text}: {} − base {} = {}",
                format_cents(w.amount),
                format_cents(bf),
                format_cents(new)
            );
            w.amount = new;
            t
        } else {
            format!(
                "{code}: endoscopy family of {base_text}: base code not in the PFS file, no family reduction"
            )
        };
        slot.trace(text);
    }
}

/// Therapy MPPR (MULT PROC 5): the unit with the highest practice expense is paid in full;
/// every other unit and procedure of the day is paid with 50 % of its PE (work and MP in full).
fn therapy_mppr(lines: &mut [Slot], members: &[usize]) {
    let therapy: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| lines[i].work.as_ref().is_some_and(|w| w.row.mult_proc == 5))
        .collect();
    let total: i64 = therapy
        .iter()
        .map(|&i| lines[i].work.as_ref().map_or(0, |w| w.milli_units))
        .sum();
    if total <= 1000 {
        return;
    }
    let top = therapy
        .iter()
        .copied()
        .max_by(|&a, &b| {
            let pa = lines[a].work.as_ref().map_or(0, |w| w.parts[1]);
            let pb = lines[b].work.as_ref().map_or(0, |w| w.parts[1]);
            pa.cmp(&pb).then(b.cmp(&a))
        })
        .expect("at least two units");
    for &i in &therapy {
        let slot = &mut lines[i];
        let code = slot.line.procedure_code.clone();
        let Some(w) = slot.work.as_mut() else {
            continue;
        };
        let [wk, pe, mp] = w.parts;
        let reduced_unit = round_div(2 * wk + pe + 2 * mp, 2 * SCALE);
        let full = if i == top { w.milli_units.min(1000) } else { 0 };
        let rest = w.milli_units - full;
        let new =
            crate::money::times_units(w.unit, full) + crate::money::times_units(reduced_unit, rest);
        let text = format!(
            "{code}: therapy multiple procedure reduction (MULT PROC 5): {}{} unit(s) at 50% practice expense ({} each) = {}",
            if full > 0 {
                format!("1 unit in full ({}), ", format_cents(w.unit))
            } else {
                String::new()
            },
            units_text(rest),
            format_cents(reduced_unit),
            format_cents(new)
        );
        w.amount = new;
        slot.trace(text);
    }
}

/// Technical-component MPPRs: diagnostic imaging (MULT PROC 4: 50 % off the TC and 5 % off
/// the PC of every procedure after the highest in the same imaging family), cardiovascular
/// (6: 25 % off the TC) and ophthalmology (7: 20 % off the TC).
fn tc_mppr(lines: &mut [Slot], members: &[usize], indicator: u8) {
    let (tc_cut, pc_cut, what) = match indicator {
        4 => (5_000, 500, "diagnostic imaging"),
        6 => (2_500, 0, "diagnostic cardiovascular"),
        _ => (2_000, 0, "diagnostic ophthalmology"),
    };
    let mut families: BTreeMap<u8, Vec<(usize, i64, i64)>> = BTreeMap::new();
    for &i in members {
        let slot = &lines[i];
        let Some(w) = &slot.work else { continue };
        if w.row.mult_proc != indicator {
            continue;
        }
        let has = |m: &str| slot.line.modifiers.iter().any(|x| x == m);
        let comp = |m: &str| {
            w.table
                .get(w.code, pack_modifier(m).unwrap_or(0))
                .map(|r| fee(r, w.ctx))
        };
        let (tc, pc) = if has("26") {
            (0, w.unit)
        } else if has("TC") || w.row.pctc == 3 {
            (w.unit, 0)
        } else {
            match (comp("TC"), comp("26")) {
                (Some(tc), pc) => (tc, pc.unwrap_or(w.unit - tc)),
                (None, _) => (-1, 0),
            }
        };
        let family = if indicator == 4 {
            w.row.imaging_family
        } else {
            0
        };
        families.entry(family).or_default().push((i, tc, pc));
    }
    for (_, fam) in families {
        let units: i64 = fam
            .iter()
            .map(|&(i, ..)| lines[i].work.as_ref().map_or(0, |w| w.milli_units))
            .sum();
        if units <= 1000 {
            continue;
        }
        let top_tc = fam
            .iter()
            .filter(|x| x.1 > 0)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|x| x.0);
        let top_pc = fam
            .iter()
            .filter(|x| x.2 > 0)
            .max_by(|a, b| a.2.cmp(&b.2).then(b.0.cmp(&a.0)))
            .map(|x| x.0);
        for &(i, tc, pc) in &fam {
            let slot = &mut lines[i];
            let code = slot.line.procedure_code.clone();
            let Some(w) = slot.work.as_mut() else {
                continue;
            };
            if tc < 0 {
                let text = format!(
                    "{code}: {what} TC reduction not applied: the file has no separate technical component for this global-only code"
                );
                slot.trace(text);
                continue;
            }
            let reduced_units = |top: Option<usize>| {
                if top == Some(i) {
                    w.milli_units - w.milli_units.min(1000)
                } else {
                    w.milli_units
                }
            };
            let tc_units = reduced_units(top_tc);
            let pc_units = reduced_units(top_pc);
            let tc_off = crate::money::times_units(percent(tc, tc_cut), tc_units);
            let pc_off = if pc_cut > 0 {
                crate::money::times_units(percent(pc, pc_cut), pc_units)
            } else {
                0
            };
            if tc_off == 0 && pc_off == 0 {
                let text =
                    format!("{code}: {what} multiple procedures: highest ranked, no reduction");
                slot.trace(text);
                continue;
            }
            let new = w.amount - tc_off - pc_off;
            let mut parts = Vec::new();
            if tc_off > 0 {
                parts.push(format!(
                    "TC {} × {} = −{}",
                    format_cents(tc),
                    format_percent(tc_cut),
                    format_cents(tc_off)
                ));
            }
            if pc_off > 0 {
                parts.push(format!(
                    "PC {} × {} = −{}",
                    format_cents(pc),
                    format_percent(pc_cut),
                    format_cents(pc_off)
                ));
            }
            let text = format!(
                "{code}: {what} multiple procedure reduction (MULT PROC {indicator}): {} − {} = {}",
                format_cents(w.amount),
                parts.join(", "),
                format_cents(new)
            );
            w.amount = new;
            slot.trace(text);
        }
    }
}
