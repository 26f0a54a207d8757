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

mod modifiers;
mod rate;
mod reductions;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{LinePrice, MEDICARE_PFS};
use crate::claim::{Claim, Line};
use crate::money::format_fixed;
use crate::tables::Tables;
use crate::tables::pfs::{Gpci, RvuRow, RvuTable};

use rate::fee;
pub use rate::{FACILITY_POS, Locality};

/// The Medicare PFS price of every line of `claim`. `default_locality` is used when the
/// claim names none; with neither, national amounts (all GPCIs 1.000) are computed.
///
/// The steps, in the order CMS applies them:
/// 1. the rate of one unit: RVU row, status, GPCI and facility setting (`rate.rs`);
/// 2. the modifiers that change one unit: 50 bilateral, 54/55/56 global split; then units
///    (`modifiers.rs`);
/// 3. status T injections, unpaid beside another payable service that day;
/// 4. the multiple procedure reductions per date and provider (`reductions.rs`);
/// 5. the surgeon modifiers: 80/81/82/AS assistant, 62 co-surgeon, 66 team (`modifiers.rs`);
/// 6. the lower of charge and fee ([`super::lower_of_charge`]).
pub fn price_claim(
    claim: &Claim,
    tables: &Tables,
    default_locality: Option<&str>,
) -> Vec<LinePrice> {
    let mut lines: Vec<Slot> = claim
        .lines
        .iter()
        .map(|l| Slot::rated(l, claim, tables, default_locality))
        .collect();
    for slot in &mut lines {
        modifiers::bilateral(slot);
        modifiers::global_split(slot);
        modifiers::units(slot);
    }
    status_t(&mut lines);
    for members in same_day_groups(&lines).values() {
        reductions::surgery_mppr(&mut lines, members);
        reductions::therapy_mppr(&mut lines, members);
        reductions::tc_mppr(&mut lines, members, 4);
        reductions::tc_mppr(&mut lines, members, 6);
        reductions::tc_mppr(&mut lines, members, 7);
    }
    for slot in &mut lines {
        modifiers::assistant(slot);
        modifiers::co_surgeon(slot);
        modifiers::team(slot);
    }
    lines.into_iter().map(Slot::finish).collect()
}

/// Payable lines grouped by date of service and rendering provider: the unit the multiple
/// procedure reductions apply within.
fn same_day_groups<'a>(lines: &[Slot<'a>]) -> BTreeMap<(NaiveDate, &'a str), Vec<usize>> {
    let mut groups: BTreeMap<(NaiveDate, &str), Vec<usize>> = BTreeMap::new();
    for (i, s) in lines.iter().enumerate() {
        if s.work.is_some() {
            groups
                .entry((s.line.service_date, s.line.rendering_provider.npi.as_str()))
                .or_default()
                .push(i);
        }
    }
    groups
}

/// A line being priced.
struct Slot<'a> {
    line: &'a Line,
    price: LinePrice,
    /// `None` once the line is settled: unpriced (the reason says why) or priced at zero.
    work: Option<Work<'a>>,
}

/// The pricing state of a payable line.
struct Work<'a> {
    row: &'a RvuRow,
    table: &'a RvuTable,
    code: u32,
    /// The code as traced: with its 26/TC modifier when that selected the row.
    label: String,
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

fn units_text(milli_units: i64) -> String {
    let s = format_fixed(milli_units, 3);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl<'a> Slot<'a> {
    /// The line with its rate of one unit, or settled with the reason it cannot be paid.
    fn rated(
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
        if let Err(reason) = rate::rate(&mut slot, claim, tables, default_locality) {
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

    /// Unpriced with a reason (the MAC prices it by report).
    fn unpriced(&mut self, reason: String) {
        self.price.reason = reason;
        self.work = None;
    }

    /// The lower of charge and fee for a line still payable; settled lines as they are.
    fn finish(mut self) -> LinePrice {
        let Some(work) = self.work.take() else {
            return self.price;
        };
        self.price.fee_cents = Some(work.amount);
        self.price.allowed_cents = Some(super::lower_of_charge(
            self.line.charge_cents,
            work.amount,
            "fee",
            " (42 CFR 414.20)",
            &mut self.price.trace,
        ));
        self.price
    }
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
