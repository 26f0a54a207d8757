//! Modifier adjustments under the Medicare PFS, one function per modifier, each citing the
//! CMS section it follows. Each acts only on a line still payable (`slot.work`), and a
//! modifier that makes the line unpayable settles it (zero or unpriced, with the reason).

use super::{Slot, Work, units_text};
use crate::claim::Line;
use crate::edits::pfs_modifiers::{
    Allowance, assistant as assistant_allowance, has_global_split, surgeons,
};
use crate::money::{WHOLE, format_cents, format_percent, percent, times_units};
use crate::tables::pfs::RvuRow;

fn has(line: &Line, modifier: &str) -> bool {
    line.modifiers.iter().any(|m| m == modifier)
}

/// Scales one unit's fee (and its exact parts) by `bp` basis points: (before, after).
fn scale_unit(work: &mut Work, bp: i64) -> (i64, i64) {
    let before = work.unit;
    work.unit = percent(before, bp);
    work.parts = work.parts.map(|p| p * i128::from(bp) / i128::from(WHOLE));
    (before, work.unit)
}

/// Modifier 50, bilateral procedure (Pub. 100-04, Ch. 12, §40.7; RVUPUF BILAT SURG
/// indicators 0-3, 9): one bilateral service priced by the code's indicator.
pub(super) fn bilateral(slot: &mut Slot) {
    let Some(work) = slot.work.as_mut() else {
        return;
    };
    if !has(slot.line, "50") {
        return;
    }
    work.milli_units = 1000;
    let (bp, why) = match work.row.bilateral {
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
        i => {
            let reason = format!(
                "{}-50: the bilateral concept does not apply to this code (bilateral indicator {i}): modifier 50 is denied",
                work.label
            );
            slot.zero(reason);
            return;
        }
    };
    let (before, after) = scale_unit(work, bp);
    let text = format!(
        "{}-50: {} × {} ({why}) = {}",
        work.label,
        format_cents(before),
        format_percent(bp),
        format_cents(after)
    );
    slot.trace(text);
}

/// Modifiers 54, 55, 56: the global surgery split (see [`split_global`]).
pub(super) fn global_split(slot: &mut Slot) {
    let Some(work) = slot.work.as_mut() else {
        return;
    };
    if !has_global_split(work.row) {
        if let Some(m) = slot
            .line
            .modifiers
            .iter()
            .find(|m| matches!(m.as_str(), "54" | "55" | "56"))
        {
            let reason = format!(
                "{}-{m}: the code has no global surgery split (global period {}), so {m} cannot divide it: denied",
                work.label,
                work.row.global_days()
            );
            slot.zero(reason);
        }
        return;
    }
    let Some((bp, what)) = split_global(slot.line, work.row) else {
        return;
    };
    let (before, after) = scale_unit(work, bp);
    let text = format!(
        "{}: {what}: {} × {} = {}",
        work.label,
        format_cents(before),
        format_percent(bp),
        format_cents(after)
    );
    slot.trace(text);
}

/// The line's amount: one unit's fee × units (thousandths; modifier 50 makes one service).
pub(super) fn units(slot: &mut Slot) {
    let Some(work) = slot.work.as_mut() else {
        return;
    };
    work.amount = times_units(work.unit, work.milli_units);
    if work.milli_units != 1000 {
        let text = format!(
            "{}: {} × {} units = {}",
            work.label,
            format_cents(work.unit),
            units_text(work.milli_units),
            format_cents(work.amount)
        );
        slot.trace(text);
    }
}

/// Assistant at surgery: 80/81/82 at 16 % of the fee, AS (non-physician assistant) at 85 % of
/// that, 13.6 % (Pub. 100-04, Ch. 12, §20.4.3 and §110); the RVU file's ASST SURG indicator
/// says whether it is payable (0 with documentation, 1 never, 2 yes, 9 not applicable).
pub(super) fn assistant(slot: &mut Slot) {
    let Some(work) = slot.work.as_mut() else {
        return;
    };
    let line = slot.line;
    let label = &line.procedure_code;
    let Some(m) = ["80", "81", "82", "AS"].into_iter().find(|m| has(line, m)) else {
        return;
    };
    let bp = if m == "AS" { 1_360 } else { 1_600 };
    let how = if m == "AS" {
        "AS: 85% of 16% = 13.6%"
    } else {
        "16%"
    };
    match assistant_allowance(work.row.assistant) {
        Allowance::NotPermitted => {
            slot.trace(format!("{label}-{m}: assistants at surgery may not be paid for this code (ASST SURG indicator 1, statutory restriction)"));
            slot.zero(format!(
                "{label}-{m}: assistant at surgery not payable (ASST SURG indicator 1)"
            ));
        }
        Allowance::NotApplicable => {
            let i = work.row.assistant;
            slot.zero(format!("{label}-{m}: the assistant-at-surgery concept does not apply to this code (ASST SURG indicator {i})"));
        }
        a => {
            let new = percent(work.amount, bp);
            let note = if a == Allowance::Documentation {
                " — payable only with documentation of medical necessity (ASST SURG indicator 0)"
            } else {
                ""
            };
            let text = format!(
                "{label}-{m}: assistant at surgery {} × {how} = {}{note}",
                format_cents(work.amount),
                format_cents(new)
            );
            work.amount = new;
            slot.trace(text);
        }
    }
}

/// Modifier 62, co-surgeons: 62.5 % of the fee each (Pub. 100-04, Ch. 12, §40.8; CO-SURG
/// indicator 1 with documentation, 2 allowed, 0 not permitted, 9 not applicable).
pub(super) fn co_surgeon(slot: &mut Slot) {
    let Some(work) = slot.work.as_mut() else {
        return;
    };
    let label = &slot.line.procedure_code;
    if !has(slot.line, "62") {
        return;
    }
    match surgeons(work.row.co_surgery) {
        Allowance::Allowed | Allowance::Documentation => {
            let new = percent(work.amount, 6_250);
            let note = if work.row.co_surgery == 1 {
                " — documentation of medical necessity required (CO-SURG indicator 1)"
            } else {
                ""
            };
            let text = format!(
                "{label}-62: co-surgeon {} × 62.5% = {}{note}",
                format_cents(work.amount),
                format_cents(new)
            );
            work.amount = new;
            slot.trace(text);
        }
        a => {
            let i = work.row.co_surgery;
            slot.zero(format!(
                "{label}-62: co-surgeons are not {} for this code (CO-SURG indicator {i})",
                if a == Allowance::NotPermitted {
                    "permitted"
                } else {
                    "applicable"
                },
            ));
        }
    }
}

/// Modifier 66, team surgery: paid by report (Pub. 100-04, Ch. 12, §40.8; TEAM SURG
/// indicator 1 with documentation, 2 allowed, 0 not permitted, 9 not applicable).
pub(super) fn team(slot: &mut Slot) {
    let Some(work) = slot.work.as_ref() else {
        return;
    };
    let label = &slot.line.procedure_code;
    if !has(slot.line, "66") {
        return;
    }
    match surgeons(work.row.team) {
        Allowance::Allowed | Allowance::Documentation => {
            let reason = format!(
                "{label}-66: team surgery is paid by report (TEAM SURG indicator {}): the MAC prices it from the documentation",
                work.row.team
            );
            slot.unpriced(reason);
        }
        a => {
            slot.zero(format!(
                "{label}-66: team surgeons are not {} for this code (TEAM SURG indicator {})",
                if a == Allowance::NotPermitted {
                    "permitted"
                } else {
                    "applicable"
                },
                work.row.team
            ));
        }
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
