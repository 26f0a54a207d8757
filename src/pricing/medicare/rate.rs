//! The rate of one unit of a line under the Medicare PFS: the RVU row (the code, or its
//! 26/TC component row), its status code, the locality's GPCIs and the facility setting →
//! the fee schedule amount (42 CFR 414.22 and 414.26; Pub. 100-04, Ch. 12, §20 and
//! §20.4.2; indicator meanings from the RVU file's record layout, RVUPUF).

use chrono::NaiveDate;

use super::{Ctx, SCALE, Slot, Work};
use crate::claim::{Claim, ClaimType};
use crate::money::{format_cents, format_fixed, milli_units, round_div};
use crate::tables::Tables;
use crate::tables::code::pack_proc;
use crate::tables::pfs::{Gpci, RvuRow, locality_key, pack_modifier};

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

/// Prices one unit of `slot`'s line: on success the slot carries its [`Work`]; `Err` is why
/// the line cannot be priced (a zero-paid status settles the slot and returns `Ok`).
pub(super) fn rate<'a>(
    slot: &mut Slot<'a>,
    claim: &Claim,
    tables: &'a Tables,
    default_locality: Option<&str>,
) -> Result<(), String> {
    let line = slot.line;
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
    slot.price.schedule_version = dated.version.clone();
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
                        crate::edits::pfs_modifiers::pctc_meaning(global.pctc)
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
    // A diagnostic test with professional and technical components (PC/TC indicator 1)
    // furnished to a hospital patient: the hospital is paid the technical component under its
    // own payment system, so the physician's claim is paid the professional component only,
    // even when 26 is left off (Pub. 100-04, Ch. 13, §20: radiology PC/TC in the hospital
    // setting; RVUPUF PC/TC indicator 1).
    let hospital = matches!(line.place_of_service.as_str(), "19" | "21" | "22" | "23");
    let (row, label) = match (
        component,
        hospital,
        table.get(code, pack_modifier("26").unwrap_or(0)),
    ) {
        (None, true, Some(pc)) if row.pctc == 1 => {
            slot.trace(format!(
                "{code_text} without 26 at POS {}: a hospital patient's test, so the physician is paid the professional component only: priced as {code_text}-26",
                line.place_of_service
            ));
            (pc, format!("{code_text}-26"))
        }
        _ => (row, label),
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
        // Paid, if covered, under a fee schedule that is not loaded (clinical laboratory,
        // DMEPOS, ASP drug pricing, ambulance): unpriced, never a $0 that looks complete.
        s @ (b'X' | b'E') => {
            return Err(format!(
                "{label}: {}; that fee schedule is not loaded, so the line is not priced",
                status_zero_reason(s)
            ));
        }
        s => {
            slot.zero(format!("{label}: {}", status_zero_reason(s)));
            return Ok(());
        }
    }
    if row.status == b'R' {
        slot.trace(format!("{label}: restricted coverage (status R): paid only when the coverage conditions are met"));
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
    slot.trace(format!(
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
        slot.trace(format!("{label}: CMS marks the {setting} PE RVU \"NA\" (rarely or never performed in this setting); the file's PE RVU is used"));
    }
    slot.work = Some(Work {
        row,
        table,
        code,
        label,
        parts: parts(row, ctx),
        unit,
        milli_units: milli_units(line.units),
        amount: 0,
        ctx,
    });
    Ok(())
}

/// Exact work, PE and MP parts of a row's payment, in 1e-7 cents:
/// RVU (1/100) × GPCI (1/1000) × CF (1/10000 dollar) = 1e-9 dollars = 1e-7 cents.
pub(super) fn parts(row: &RvuRow, ctx: Ctx) -> [i128; 3] {
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
pub(super) fn fee(row: &RvuRow, ctx: Ctx) -> i64 {
    round_div(parts(row, ctx).iter().sum(), SCALE)
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
    let Some(text) = crate::pricing::locality_text(claim, default_locality) else {
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
