//! Medically unlikely edits (MUE): a claim's units counted as CMS adjudicates each code's
//! MUE — MAI 1 per line, MAI 2 (absolute date-of-service edit, policy) and MAI 3 (date of
//! service edit, clinical) per code and date of service, summed over lines (CMS, "MUE"
//! page and the MUE tables' MAI column).
//!
//! A line with a date span (`service_date_to` after `service_date`) covers several dates of
//! service, and an MUE is a per-date maximum ("the maximum units of service ... for a single
//! beneficiary on a single date of service", NCCI Policy Manual Ch. I §V); CMS publishes no
//! separate formula for spans, so a spanned line's units are taken as spread evenly over its
//! days and the line is checked on its own against the MUE times the days it spans. It is not
//! summed with single-day lines of the same code. DME supplier claims are the exception: the
//! DME MACs have suppliers bill a supply on one line whose span says how long it lasts ("the
//! 'To' date should reflect the number of days that the quantity of dispensed supplies are
//! expected to last"), and the DME supplier MUE is set for that one date of service, so a
//! supplier's span does not multiply the MUE.

use std::collections::HashMap;

use crate::claim::Claim;
use crate::tables::code::{day, pack_proc};
use crate::tables::{Kind, Setting, Tables, setting_for};

/// Units of one code counted against its MUE: one line (MAI 1) or every line of the code on
/// one date (MAI 2 and 3).
#[derive(Debug, Clone)]
pub struct MueCount<'a> {
    /// The code.
    pub code: &'a str,
    /// The date of service.
    pub date: chrono::NaiveDate,
    /// Units counted (summed per date for MAI 2 and 3).
    pub units: f64,
    /// The lines counted.
    pub lines: Vec<u32>,
    /// The MUE value (per date of service).
    pub value: u32,
    /// Dates of service the units cover: the days of a spanned line, else 1.
    pub days: u32,
    /// MUE adjudication indicator 1, 2 or 3.
    pub indicator: u8,
    /// CMS's rationale.
    pub rationale: &'a str,
}

impl MueCount<'_> {
    /// The units allowed: the MUE value times the days covered.
    pub fn limit(&self) -> f64 {
        f64::from(self.value) * f64::from(self.days)
    }

    /// True when the units exceed [`MueCount::limit`].
    pub fn exceeds(&self) -> bool {
        self.units > self.limit()
    }
}

/// Every line's units counted as CMS applies its MUE (MAI 1 per line; MAI 2/3 per code and
/// date, summed), in claim order of first line; codes without an MUE are left out. What
/// `claim.mue_units()` returns to rules, and the table version.
pub fn counts<'a>(claim: &'a Claim, tables: &'a Tables) -> (Vec<MueCount<'a>>, &'a str) {
    let setting = setting_for(claim);
    let Some(table) = tables.mue(setting).filter(|_| super::ncci_applies(claim)) else {
        return (Vec::new(), "");
    };
    let version = tables.version_of(Kind::Mue, Some(setting)).unwrap_or("");
    let mut out: Vec<MueCount<'a>> = Vec::with_capacity(claim.lines.len());
    let mut per_day: HashMap<(&str, chrono::NaiveDate), usize> =
        HashMap::with_capacity(claim.lines.len());
    for l in &claim.lines {
        let Some((row, rationale)) =
            pack_proc(&l.procedure_code).and_then(|c| table.get(c, day(l.service_date)))
        else {
            continue;
        };
        let days = match l.service_date_to {
            Some(to) if setting != Setting::DmeSupplier && to > l.service_date => {
                u32::try_from((to - l.service_date).num_days() + 1).unwrap_or(u32::MAX)
            }
            _ => 1,
        };
        // MAI 2/3 single-day lines are summed per code and date; a spanned line stands alone.
        if row.indicator != 1 && days == 1 {
            let key = (l.procedure_code.as_str(), l.service_date);
            if let Some(&i) = per_day.get(&key) {
                out[i].units += l.units;
                out[i].lines.push(l.number);
                continue;
            }
            per_day.insert(key, out.len());
        }
        out.push(MueCount {
            code: &l.procedure_code,
            date: l.service_date,
            units: l.units,
            lines: vec![l.number],
            value: row.value,
            days,
            indicator: row.indicator,
            rationale,
        });
    }
    (out, version)
}
