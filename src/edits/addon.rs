//! Add-on code (AOC) edits: each add-on line with its edit type and whether a listed
//! primary (types 1 and 3) or any procedure (type 2, contractor-defined primaries) is billed
//! the same day (CMS NCCI "Add-on Code Edits": types 1, 2 and 3).

use crate::claim::{Claim, ClaimType, Line};
use crate::tables::aoc::AocRow;
use crate::tables::code::{day, pack_proc};
use crate::tables::{Kind, Tables};

/// An add-on code line with what its AOC edit needs to know about the same date.
#[derive(Debug, Clone)]
pub struct AddonLine<'a> {
    /// The add-on line.
    pub line: &'a Line,
    /// AOC edit type 1, 2 or 3 (the lowest of its rows).
    pub edit_type: u8,
    /// The primary codes CMS lists (packed).
    pub primaries: Vec<u32>,
    /// One of the listed primaries is billed on the same date.
    pub primary_billed: bool,
    /// Some procedure that is not an add-on code is billed on the same date.
    pub other_procedure_billed: bool,
}

/// Every add-on code line of the claim (AOC rows in force on its date), with whether its
/// primaries are billed that day: what `claim.addon_lines()` returns, and the table version.
pub fn lines<'a>(claim: &'a Claim, tables: &'a Tables) -> (Vec<AddonLine<'a>>, &'a str) {
    let Some(table) = tables.aoc.as_deref() else {
        return (Vec::new(), "");
    };
    let version = tables.version_of(Kind::Aoc, None).unwrap_or("");
    let all_rows: Vec<Option<(u32, Vec<&AocRow>)>> = claim
        .lines
        .iter()
        .map(|l| {
            let code = pack_proc(&l.procedure_code)?;
            let rows: Vec<_> = table.rows(code, day(l.service_date)).collect();
            (!rows.is_empty()).then_some((code, rows))
        })
        .collect();
    let mut out = Vec::new();
    for (l, r) in claim.lines.iter().zip(&all_rows) {
        let Some((_, rows)) = r else {
            continue;
        };
        let primaries: Vec<u32> = rows.iter().filter_map(|r| r.primary).collect();
        // "An add-on code is eligible for payment if and only if one of its primary codes is
        // also eligible for payment to the same practitioner for the same patient on the same
        // date of service" (CMS NCCI Add-on Code Edits): on a professional claim the primary
        // must be the same rendering provider's; an institutional claim is one facility.
        let professional = claim.claim_type == ClaimType::Professional;
        let same_day = || {
            claim.lines.iter().zip(&all_rows).filter(move |(o, _)| {
                o.service_date == l.service_date
                    && (!professional || o.rendering_provider.npi == l.rendering_provider.npi)
            })
        };
        out.push(AddonLine {
            line: l,
            edit_type: rows.iter().map(|r| r.edit_type).min().unwrap_or(1),
            primary_billed: same_day()
                .any(|(o, _)| pack_proc(&o.procedure_code).is_some_and(|c| primaries.contains(&c))),
            other_procedure_billed: same_day().any(|(_, r)| r.is_none()),
            primaries,
        });
    }
    (out, version)
}
