//! CMS's multiple-procedure payment reductions, applied to the lines one provider billed on
//! one date (RVUPUF MULT PROC indicators): standard multiple surgery (2) with endoscopy
//! families (3), diagnostic imaging (4), therapy (5), cardiovascular (6) and ophthalmology (7).

use std::collections::BTreeMap;

use super::{SCALE, Slot, fee, units_text};
use crate::money::{format_cents, format_percent, percent, round_div, times_units};
use crate::tables::pfs::pack_modifier;

/// One ranked item of the standard multiple procedure ranking: a line, or an endoscopy
/// family counted as one procedure.
struct Ranked {
    lines: Vec<usize>,
    amount: i64,
}

/// Multiple procedure indicator 2 (and 3 after endoscopy families are formed): rank by fee
/// schedule amount, 100 % for the highest, 50 % for the second to fifth procedure (each further
/// unit counts as a procedure, an endoscopy family as one) on the same date by the same
/// provider, and the sixth and later "by report" (PFS relative value file, MULT PROC 2: "100
/// percent, 50 percent, 50 percent, 50 percent, 50 percent, and by report"): a line holding a
/// sixth or later procedure is left unpriced, since the contractor prices it from the
/// operative report.
pub(super) fn surgery_mppr(lines: &mut [Slot], members: &[usize]) {
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
    // Procedures ranked so far, in thousandths of a unit.
    let mut position = 0i64;
    for (rank, r) in ranked.iter().enumerate() {
        let span = if r.lines.len() == 1 {
            lines[r.lines[0]].work.as_ref().map_or(0, |w| w.milli_units)
        } else {
            1000
        };
        let start = position;
        position += span;
        if start + span > 5000 {
            for &i in &r.lines {
                let slot = &mut lines[i];
                let text = format!(
                    "{}: multiple procedures on {}: {} the {} procedure or later (MULT PROC {}): the sixth and later procedures are priced by report (the contractor prices them from the operative report)",
                    slot.line.procedure_code,
                    slot.line.service_date,
                    if start >= 5000 { "ranked" } else { "includes" },
                    ordinal(6),
                    slot.work.as_ref().map_or(2, |w| w.row.mult_proc),
                );
                slot.unpriced(text);
            }
            continue;
        }
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
                times_units(w.unit, full) + times_units(percent(w.unit, 5_000), reduced)
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
                        times_units(w.unit, w.milli_units)
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
            let new = (w.amount - times_units(bf, w.milli_units)).max(0);
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
pub(super) fn therapy_mppr(lines: &mut [Slot], members: &[usize]) {
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
        let new = times_units(w.unit, full) + times_units(reduced_unit, rest);
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
pub(super) fn tc_mppr(lines: &mut [Slot], members: &[usize], indicator: u8) {
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
            let tc_off = times_units(percent(tc, tc_cut), tc_units);
            let pc_off = if pc_cut > 0 {
                times_units(percent(pc, pc_cut), pc_units)
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
