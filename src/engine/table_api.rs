//! Script helpers over the reference tables: indexed native lookups so rule scripts stay
//! short and never loop over pairs or table rows. The claim being scored is held in a
//! thread-local while a rule runs, so helpers such as `mue(code)` know the claim's setting
//! (practitioner or outpatient hospital, from the claim type) and date of service.

use std::cell::RefCell;
use std::collections::BTreeMap;

use rhai::{Array, Dynamic, Engine, ImmutableString, Map};

use super::script_api::ScriptClaim;
use crate::claim::codes::{code_matches, dotted_icd10};
use crate::claim::{Claim, Sex};
use crate::tables::code::{date_of, day, iso, pack_proc, unpack_proc};
use crate::tables::{Kind, Tables, Window, setting_for};

thread_local! {
    static CURRENT: RefCell<Option<ScriptClaim>> = const { RefCell::new(None) };
}

/// Makes `claim` the claim table helpers refer to until the guard is dropped.
pub struct CurrentClaim(());

impl CurrentClaim {
    /// Sets the current claim for this thread.
    pub fn enter(claim: &ScriptClaim) -> Self {
        CURRENT.with(|c| *c.borrow_mut() = Some(claim.clone()));
        CurrentClaim(())
    }
}

impl Drop for CurrentClaim {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

fn with_claim<T>(default: T, f: impl FnOnce(&ScriptClaim) -> T) -> T {
    CURRENT.with(|c| c.borrow().as_ref().map_or(default, f))
}

/// Runs `f` with the claim being evaluated on this thread, if any.
pub(crate) fn with_current<T>(f: impl FnOnce(&ScriptClaim) -> T) -> Option<T> {
    CURRENT.with(|c| c.borrow().as_ref().map(f))
}

/// Modifiers that may bypass a PTP edit with modifier indicator 1 (NCCI Policy Manual,
/// Ch. I §E "Modifiers and Modifier Indicators"): anatomic E1–E4, FA, F1–F9, TA, T1–T9, LT,
/// RT, LC, LD, RC, LM, RI; global surgery 24, 25, 57, 58, 78, 79; and 27, 59, 91, XE, XS,
/// XP, XU.
pub const NCCI_MODIFIERS: &[&str] = &[
    "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "TA", "T1",
    "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LT", "RT", "LC", "LD", "RC", "LM", "RI", "24",
    "25", "57", "58", "78", "79", "27", "59", "91", "XE", "XS", "XP", "XU",
];

fn s(text: &str) -> Dynamic {
    Dynamic::from(ImmutableString::from(text))
}

fn date_text(d: u16) -> Dynamic {
    date_of(d).map_or_else(|| s(""), |d| s(&iso(d)))
}

fn parse_day(date: &str) -> Option<u16> {
    crate::tables::code::parse_date(date).map(day)
}

/// Anatomic NCCI-associated modifiers: they bypass an edit only when the two lines name
/// different sites.
const ANATOMIC: &[&str] = &[
    "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "TA", "T1",
    "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LT", "RT", "LC", "LD", "RC", "LM", "RI",
];

fn is_em(code: &str) -> bool {
    code_matches(code, "99202-99499") || code == "G0463"
}

/// The NCCI-associated modifier that bypasses the edit for the line pair (column one `a`,
/// column two `b`), if any. Per NCCI Policy Manual Ch. I §E the modifier may be on either
/// code; 25 counts only on an E/M line, 91 only on a laboratory line (80000-89999), and
/// anatomic modifiers only when the two lines name different sites.
fn pair_bypass<'a>(a: &'a crate::claim::Line, b: &'a crate::claim::Line) -> Option<&'a str> {
    let counts = |line: &crate::claim::Line, m: &str| match m {
        "25" => is_em(&line.procedure_code),
        "91" => code_matches(&line.procedure_code, "80000-89999"),
        _ => true,
    };
    let other = |line: &'a crate::claim::Line| {
        line.modifiers
            .iter()
            .map(String::as_str)
            .find(|m| NCCI_MODIFIERS.contains(m) && !ANATOMIC.contains(m) && counts(line, m))
    };
    if let Some(m) = other(b).or_else(|| other(a)) {
        return Some(m);
    }
    let sites = |line: &'a crate::claim::Line| {
        let mut v: Vec<&str> = line
            .modifiers
            .iter()
            .map(String::as_str)
            .filter(|m| ANATOMIC.contains(m))
            .collect();
        v.sort_unstable();
        v
    };
    let (sa, sb) = (sites(a), sites(b));
    if sa != sb {
        return sb.first().or(sa.first()).copied();
    }
    None
}

/// One NCCI PTP edit that applies to a line of a claim: the column-two line and every
/// column-one line billed by the same provider on the same date.
#[derive(Debug, Clone)]
pub struct PtpHit<'a> {
    /// Column-one code (packed).
    pub column1: u32,
    /// Column-two code (packed).
    pub column2: u32,
    /// The column-two line's number.
    pub line: u32,
    /// The column-one lines' numbers.
    pub column1_lines: Vec<u32>,
    /// The shared date of service.
    pub date: chrono::NaiveDate,
    /// Modifier indicator 0, 1 or 9.
    pub modifier_indicator: u8,
    /// CMS's rationale.
    pub rationale: &'a str,
    /// The edit's effective window.
    pub window: Window,
    /// The NCCI-associated modifier that bypasses the edit for every pairing, or "".
    pub bypass: &'a str,
}

/// The PTP edits that apply to `claim` (indexed lookups per date and provider, no pair
/// loops in scripts): what `claim.ptp_conflicts()` returns to rules, and the table version.
pub fn ptp_hits<'a>(claim: &'a Claim, tables: &'a Tables) -> (Vec<PtpHit<'a>>, &'a str) {
    let setting = setting_for(claim.claim_type);
    let Some(table) = tables.ptp(setting) else {
        return (Vec::new(), "");
    };
    let version = tables
        .version_of(Kind::NcciPtp, Some(setting))
        .unwrap_or("");
    // PTP edits apply to services of the same provider on the same date: professional lines
    // are grouped by date and rendering NPI, institutional lines (one facility) by date.
    let professional = claim.claim_type == crate::claim::ClaimType::Professional;
    let mut groups: BTreeMap<(chrono::NaiveDate, &str), Vec<(usize, u32)>> = BTreeMap::new();
    for (i, l) in claim.lines.iter().enumerate() {
        if let Some(code) = pack_proc(&l.procedure_code) {
            let npi = if professional {
                l.rendering_provider.npi.as_str()
            } else {
                ""
            };
            groups
                .entry((l.service_date, npi))
                .or_default()
                .push((i, code));
        }
    }
    let mut out = Vec::new();
    let mut edits = Vec::new();
    for ((date, _), lines) in groups {
        let mut codes: Vec<u32> = lines.iter().map(|(_, c)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() < 2 {
            continue;
        }
        edits.clear();
        table.conflicts_among(&codes, day(date), &mut edits);
        for e in &edits {
            let col1_lines: Vec<usize> = lines
                .iter()
                .filter(|(_, c)| *c == e.column1)
                .map(|(i, _)| *i)
                .collect();
            for (i2, _) in lines.iter().filter(|(_, c)| *c == e.column2) {
                let l2 = &claim.lines[*i2];
                // Bypassed only if every column-one line pairs with this line through a
                // qualifying modifier: one unmodified pair is enough for the edit to apply.
                let bypasses: Vec<Option<&str>> = col1_lines
                    .iter()
                    .map(|i1| pair_bypass(&claim.lines[*i1], l2))
                    .collect();
                let bypass = if bypasses.iter().all(Option::is_some) {
                    bypasses.first().copied().flatten().unwrap_or("")
                } else {
                    ""
                };
                out.push(PtpHit {
                    column1: e.column1,
                    column2: e.column2,
                    line: l2.number,
                    column1_lines: col1_lines.iter().map(|i| claim.lines[*i].number).collect(),
                    date,
                    modifier_indicator: e.modifier_indicator,
                    rationale: e.rationale,
                    window: e.window,
                    bypass,
                });
            }
        }
    }
    (out, version)
}

fn ptp_conflicts(c: &mut ScriptClaim) -> Array {
    let (hits, version) = ptp_hits(c.claim(), c.tables());
    hits.into_iter()
        .map(|h| {
            let mut m = Map::new();
            m.insert("column1".into(), s(&unpack_proc(h.column1)));
            m.insert("column2".into(), s(&unpack_proc(h.column2)));
            m.insert("line".into(), Dynamic::from(i64::from(h.line)));
            m.insert(
                "column1_lines".into(),
                Dynamic::from(
                    h.column1_lines
                        .iter()
                        .map(|n| Dynamic::from(i64::from(*n)))
                        .collect::<Array>(),
                ),
            );
            m.insert("date".into(), s(&iso(h.date)));
            m.insert(
                "modifier_indicator".into(),
                Dynamic::from(i64::from(h.modifier_indicator)),
            );
            m.insert("rationale".into(), s(h.rationale));
            m.insert("effective".into(), date_text(h.window.start));
            m.insert("deletion".into(), date_text(h.window.end));
            m.insert("bypass_modifier".into(), s(h.bypass));
            m.insert("table_version".into(), s(version));
            Dynamic::from(m)
        })
        .collect()
}

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
    /// The MUE value.
    pub value: u32,
    /// MUE adjudication indicator 1, 2 or 3.
    pub indicator: u8,
    /// CMS's rationale.
    pub rationale: &'a str,
}

/// Every line's units counted as CMS applies its MUE (MAI 1 per line; MAI 2/3 per code and
/// date, summed), in claim order of first line; codes without an MUE are left out. What
/// `claim.mue_units()` returns to rules, and the table version.
pub fn mue_counts<'a>(claim: &'a Claim, tables: &'a Tables) -> (Vec<MueCount<'a>>, &'a str) {
    let setting = setting_for(claim.claim_type);
    let Some(table) = tables.mue(setting) else {
        return (Vec::new(), "");
    };
    let version = tables.version_of(Kind::Mue, Some(setting)).unwrap_or("");
    let mut out: Vec<MueCount<'a>> = Vec::new();
    let mut per_day: std::collections::HashMap<(&str, chrono::NaiveDate), usize> =
        std::collections::HashMap::new();
    for l in &claim.lines {
        let Some((row, rationale)) =
            pack_proc(&l.procedure_code).and_then(|c| table.get(c, day(l.service_date)))
        else {
            continue;
        };
        if row.indicator != 1
            && let Some(&i) = per_day.get(&(l.procedure_code.as_str(), l.service_date))
        {
            out[i].units += l.units;
            out[i].lines.push(l.number);
            continue;
        }
        if row.indicator != 1 {
            per_day.insert((l.procedure_code.as_str(), l.service_date), out.len());
        }
        out.push(MueCount {
            code: &l.procedure_code,
            date: l.service_date,
            units: l.units,
            lines: vec![l.number],
            value: row.value,
            indicator: row.indicator,
            rationale,
        });
    }
    (out, version)
}

fn mue_units(c: &mut ScriptClaim, only_excess: bool) -> Array {
    let (counts, version) = mue_counts(c.claim(), c.tables());
    counts
        .into_iter()
        .filter(|m| !only_excess || m.units > f64::from(m.value))
        .map(|m| {
            let mut map = Map::new();
            map.insert("code".into(), s(m.code));
            map.insert("date".into(), s(&iso(m.date)));
            map.insert("units".into(), Dynamic::from(m.units));
            map.insert(
                "lines".into(),
                Dynamic::from(
                    m.lines
                        .iter()
                        .map(|n| Dynamic::from(i64::from(*n)))
                        .collect::<Array>(),
                ),
            );
            map.insert("value".into(), Dynamic::from(i64::from(m.value)));
            map.insert("indicator".into(), Dynamic::from(i64::from(m.indicator)));
            map.insert("rationale".into(), s(m.rationale));
            map.insert("table_version".into(), s(version));
            Dynamic::from(map)
        })
        .collect()
}

/// An add-on code line with what its AOC edit needs to know about the same date.
#[derive(Debug, Clone)]
pub struct AddonLine<'a> {
    /// The add-on line.
    pub line: &'a crate::claim::Line,
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
pub fn addon_lines<'a>(claim: &'a Claim, tables: &'a Tables) -> (Vec<AddonLine<'a>>, &'a str) {
    let Some(table) = tables.aoc.as_deref() else {
        return (Vec::new(), "");
    };
    let version = tables.version_of(Kind::Aoc, None).unwrap_or("");
    let all_rows: Vec<Option<(u32, Vec<&crate::tables::aoc::AocRow>)>> = claim
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
        let same_day = || {
            claim
                .lines
                .iter()
                .zip(&all_rows)
                .filter(move |(o, _)| o.service_date == l.service_date)
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

fn addon_lines_fn(c: &mut ScriptClaim) -> Array {
    let (lines, version) = addon_lines(c.claim(), c.tables());
    lines
        .into_iter()
        .map(|a| {
            let mut m = Map::new();
            m.insert("line".into(), Dynamic::from(i64::from(a.line.number)));
            m.insert("code".into(), s(&a.line.procedure_code));
            m.insert("date".into(), s(&iso(a.line.service_date)));
            m.insert("edit_type".into(), Dynamic::from(i64::from(a.edit_type)));
            m.insert(
                "primaries".into(),
                Dynamic::from(
                    a.primaries
                        .iter()
                        .map(|p| s(&unpack_proc(*p)))
                        .collect::<Array>(),
                ),
            );
            m.insert("primary_billed".into(), Dynamic::from(a.primary_billed));
            m.insert(
                "other_procedure_billed".into(),
                Dynamic::from(a.other_procedure_billed),
            );
            m.insert("table_version".into(), s(version));
            Dynamic::from(m)
        })
        .collect()
}

fn mue_on(code: &str, day: u16) -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let tables = c.tables();
        let setting = setting_for(c.claim().claim_type);
        let (Some(table), Some(code)) = (tables.mue(setting), pack_proc(code.trim())) else {
            return Dynamic::UNIT;
        };
        let Some((row, rationale)) = table.get(code, day) else {
            return Dynamic::UNIT;
        };
        let mut m = Map::new();
        m.insert("value".into(), Dynamic::from(i64::from(row.value)));
        m.insert("indicator".into(), Dynamic::from(i64::from(row.indicator)));
        m.insert("rationale".into(), s(rationale));
        m.insert("setting".into(), s(setting.as_str()));
        m.insert(
            "table_version".into(),
            s(tables.version_of(Kind::Mue, Some(setting)).unwrap_or("")),
        );
        Dynamic::from(m)
    })
}

fn first_day() -> u16 {
    with_claim(0, |c| day(c.claim().first_service_date()))
}

fn addon_on(code: &str, day: u16) -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let tables = c.tables();
        let (Some(table), Some(code)) = (tables.aoc.as_deref(), pack_proc(code.trim())) else {
            return Dynamic::UNIT;
        };
        let rows: Vec<_> = table.rows(code, day).collect();
        if rows.is_empty() {
            return Dynamic::UNIT;
        }
        let primaries: Array = rows
            .iter()
            .filter_map(|r| r.primary)
            .map(|p| s(&unpack_proc(p)))
            .collect();
        let mut m = Map::new();
        m.insert(
            "edit_type".into(),
            Dynamic::from(i64::from(
                rows.iter().map(|r| r.edit_type).min().unwrap_or(1),
            )),
        );
        m.insert(
            "contractor_defined".into(),
            Dynamic::from(rows.iter().any(|r| r.primary.is_none())),
        );
        m.insert("primaries".into(), Dynamic::from(primaries));
        m.insert(
            "table_version".into(),
            s(tables.version_of(Kind::Aoc, None).unwrap_or("")),
        );
        Dynamic::from(m)
    })
}

fn icd10(code: &str) -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let Some(set) = c.tables().icd10_for(c.claim().first_service_date()) else {
            return Dynamic::UNIT;
        };
        let compact: String = code
            .trim()
            .chars()
            .filter(|c| *c != '.')
            .collect::<String>()
            .to_ascii_uppercase();
        let entry = set.table.get(&compact);
        if entry.is_none()
            && c.tables().is_partial(Kind::Icd10cm)
            && !set.table.has_children(&compact)
        {
            return Dynamic::UNIT;
        }
        let mut m = Map::new();
        m.insert("code".into(), s(&dotted_icd10(&compact)));
        m.insert("exists".into(), Dynamic::from(entry.is_some()));
        m.insert(
            "billable".into(),
            Dynamic::from(entry.is_some_and(|e| e.billable)),
        );
        m.insert(
            "needs_more_characters".into(),
            Dynamic::from(
                entry.is_some_and(|e| !e.billable)
                    || (entry.is_none() && set.table.has_children(&compact)),
            ),
        );
        m.insert("description".into(), s(entry.map_or("", |e| e.description)));
        m.insert("code_set".into(), s(&set.version));
        Dynamic::from(m)
    })
}

/// `icd10_billable(code)`: `true` when `code` is a billable (complete) ICD-10-CM code on the
/// claim's first date of service. A cheap test for the usual case; `icd10(code)` says more.
fn icd10_billable(code: &str) -> bool {
    with_claim(false, |c| {
        let Some(set) = c.tables().icd10_for(c.claim().first_service_date()) else {
            return false;
        };
        // The table's lookup takes dotted or undotted codes in either case.
        set.table.get(code.trim()).is_some_and(|e| e.billable)
    })
}

fn hcpcs_on(code: &str, day: u16) -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let tables = c.tables();
        let Some(table) = tables.hcpcs.as_deref() else {
            return Dynamic::UNIT;
        };
        let entry = pack_proc(code.trim()).and_then(|k| table.get(k));
        if entry.is_none() && tables.is_partial(Kind::Hcpcs) {
            return Dynamic::UNIT;
        }
        let window = entry.map_or(Window::OPEN, |e| e.window);
        let mut m = Map::new();
        m.insert("exists".into(), Dynamic::from(entry.is_some()));
        m.insert(
            "valid".into(),
            Dynamic::from(entry.is_some() && window.contains(day)),
        );
        m.insert(
            "description".into(),
            s(entry.map_or("", |e| &e.description)),
        );
        m.insert("added".into(), date_text(window.start));
        m.insert("terminated".into(), date_text(window.end));
        m.insert(
            "table_version".into(),
            s(tables.version_of(Kind::Hcpcs, None).unwrap_or("")),
        );
        Dynamic::from(m)
    })
}

fn mce(code: &str) -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let Some(flags) = c
            .tables()
            .mce
            .as_deref()
            .and_then(|t| t.get(code.trim()).copied())
        else {
            return Dynamic::UNIT;
        };
        let mut m = Map::new();
        m.insert("age_group".into(), s(flags.age.map_or("", |a| a.label)));
        m.insert(
            "age_min".into(),
            Dynamic::from(flags.age.map_or(-1, |a| i64::from(a.min))),
        );
        m.insert(
            "age_max".into(),
            Dynamic::from(flags.age.map_or(-1, |a| i64::from(a.max))),
        );
        m.insert(
            "sex".into(),
            s(match flags.sex {
                Some(Sex::Female) => "female",
                Some(Sex::Male) => "male",
                _ => "",
            }),
        );
        m.insert("manifestation".into(), Dynamic::from(flags.manifestation));
        Dynamic::from(m)
    })
}

/// One Medicare Code Editor conflict of a claim's diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MceHit {
    /// The diagnosis code.
    pub code: String,
    /// Its 1-based position on the claim.
    pub position: usize,
    /// "age", "sex" or "manifestation".
    pub kind: &'static str,
    /// The rule, in words.
    pub rule: String,
}

/// The MCE age, sex and manifestation conflicts of `claim`: what `claim.mce_conflicts()`
/// returns to rules, and the table version.
pub fn mce_hits<'a>(claim: &Claim, tables: &'a Tables) -> (Vec<MceHit>, &'a str) {
    let Some(table) = tables.mce.as_deref() else {
        return (Vec::new(), "");
    };
    let version = tables.version_of(Kind::Mce, None).unwrap_or("");
    let age = claim.patient_age_on(claim.first_service_date());
    let mut out = Vec::new();
    for (i, dx) in claim.diagnoses.iter().enumerate() {
        let Some(flags) = table.get(&dx.code) else {
            continue;
        };
        let mut push = |kind: &'static str, rule: String| {
            out.push(MceHit {
                code: dx.code.clone(),
                position: i + 1,
                kind,
                rule,
            })
        };
        if let (Some(edit), Some(age)) = (flags.age, age)
            && (age < u32::from(edit.min) || age > u32::from(edit.max))
        {
            push("age", format!("{} diagnosis; patient is {age}", edit.label));
        }
        if let Some(sex) = flags.sex
            && claim.sex != Sex::Unknown
            && claim.sex != sex
        {
            push(
                "sex",
                format!(
                    "{} only diagnosis; patient is {}",
                    sex.as_str(),
                    claim.sex.as_str()
                ),
            );
        }
        if i == 0 && flags.manifestation {
            push(
                "manifestation",
                "manifestation code: not allowed as principal diagnosis".into(),
            );
        }
    }
    (out, version)
}

fn mce_conflicts(c: &mut ScriptClaim) -> Array {
    let (hits, version) = mce_hits(c.claim(), c.tables());
    hits.into_iter()
        .map(|h| {
            let mut m = Map::new();
            m.insert("code".into(), s(&h.code));
            m.insert("position".into(), Dynamic::from(h.position as i64));
            m.insert("kind".into(), s(h.kind));
            m.insert("rule".into(), s(&h.rule));
            m.insert("table_version".into(), s(version));
            Dynamic::from(m)
        })
        .collect()
}

fn kind_of(name: &str) -> Option<Kind> {
    Kind::parse(name.trim())
}

/// Registers the table helpers.
pub fn register(engine: &mut Engine) {
    engine
        .register_fn("ptp_conflicts", ptp_conflicts)
        .register_fn("mce_conflicts", mce_conflicts)
        .register_fn("mue_units", |c: &mut ScriptClaim| mue_units(c, false))
        .register_fn("mue_excess", |c: &mut ScriptClaim| mue_units(c, true))
        .register_fn("addon_lines", addon_lines_fn)
        .register_fn("mue", |code: &str| mue_on(code, first_day()))
        .register_fn("mue", |code: &str, date: &str| {
            parse_day(date).map_or(Dynamic::UNIT, |d| mue_on(code, d))
        })
        .register_fn("addon", |code: &str| addon_on(code, first_day()))
        .register_fn("addon", |code: &str, date: &str| {
            parse_day(date).map_or(Dynamic::UNIT, |d| addon_on(code, d))
        })
        .register_fn("addon_primaries", |code: &str| -> Array {
            addon_on(code, first_day())
                .try_cast::<Map>()
                .and_then(|m| m.get("primaries").cloned())
                .and_then(|p| p.into_array().ok())
                .unwrap_or_default()
        })
        .register_fn("icd10", icd10)
        .register_fn("icd10_billable", icd10_billable)
        .register_fn("hcpcs", |code: &str| hcpcs_on(code, first_day()))
        .register_fn("hcpcs", |code: &str, date: &str| {
            parse_day(date).map_or(Dynamic::UNIT, |d| hcpcs_on(code, d))
        })
        .register_fn("mce", mce)
        .register_fn("ncci_modifiers", || -> Array {
            NCCI_MODIFIERS.iter().map(|m| s(m)).collect()
        })
        .register_fn("has_table", |name: &str| -> bool {
            with_claim(false, |c| {
                let t = c.tables();
                let setting = setting_for(c.claim().claim_type);
                match kind_of(name) {
                    Some(Kind::NcciPtp) => t.ptp(setting).is_some(),
                    Some(Kind::Mue) => t.mue(setting).is_some(),
                    Some(Kind::Aoc) => t.aoc.is_some(),
                    Some(Kind::Icd10cm) => !t.icd10.is_empty(),
                    Some(Kind::Mce) => t.mce.is_some(),
                    Some(Kind::Hcpcs) => t.hcpcs.is_some(),
                    Some(Kind::PfsRvu) => !t.pfs_rvu.is_empty(),
                    Some(Kind::PfsGpci) => !t.pfs_gpci.is_empty(),
                    Some(Kind::FeeSchedule) => !t.fees.is_empty(),
                    None => false,
                }
            })
        })
        .register_fn("table_version", |name: &str| -> ImmutableString {
            with_claim(ImmutableString::new(), |c| {
                let setting = setting_for(c.claim().claim_type);
                let t = c.tables();
                match kind_of(name) {
                    Some(Kind::Icd10cm) => t
                        .icd10_for(c.claim().first_service_date())
                        .map(|x| x.version.as_str()),
                    Some(Kind::PfsRvu) => t
                        .pfs_rvu_for(c.claim().first_service_date())
                        .map(|x| x.version.as_str()),
                    Some(Kind::PfsGpci) => t
                        .pfs_gpci_for(c.claim().first_service_date())
                        .map(|x| x.version.as_str()),
                    Some(k @ (Kind::NcciPtp | Kind::Mue)) => t.version_of(k, Some(setting)),
                    Some(k) => t.version_of(k, None),
                    None => None,
                }
                .unwrap_or("")
                .into()
            })
        });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::NaiveDate;
    use rhai::Scope;

    use super::*;
    use crate::claim::{self, Limits};
    use crate::engine::{EngineLimits, sandbox};
    use crate::proto::v1 as pb;
    use crate::tables::icd10::Icd10Table;
    use crate::tables::read::Input;
    use crate::tables::{Dated, Window};

    fn tables() -> Tables {
        let text = "code\tcode_nodot\tkind\tbillable\tdescription\nE11\tE11\tcategory\tN\tType 2 diabetes mellitus\nE11.9\tE119\tcode\tY\tType 2 diabetes mellitus without complications\n";
        let mut t = Icd10Table::default();
        t.load_tsv(&mut Input {
            name: "icd.tsv".into(),
            reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        })
        .unwrap();
        Tables {
            icd10: vec![Dated {
                window: Window::OPEN,
                table: Arc::new(t),
                version: "test".into(),
            }],
            ..Default::default()
        }
    }

    fn eval(script: &str) -> Dynamic {
        let engine = sandbox::build_engine(&EngineLimits::default());
        let wire = pb::Claim {
            claim_id: "T".into(),
            lines: vec![pb::ServiceLine {
                line_number: 1,
                procedure_code: "99213".into(),
                units: 1.0,
                charge_cents: 100,
                service_date: "2025-07-01".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let claim = claim::validate::validate(&wire, Limits::default()).unwrap();
        let view = ScriptClaim::new(
            Arc::new(claim),
            NaiveDate::from_ymd_opt(2025, 8, 1).unwrap(),
            Arc::new(tables()),
        );
        let _current = CurrentClaim::enter(&view);
        let ast = engine.compile(format!("fn t() {{ {script} }}")).unwrap();
        engine.call_fn(&mut Scope::new(), &ast, "t", ()).unwrap()
    }

    #[test]
    fn icd10_billable_agrees_with_icd10() {
        for (code, billable) in [
            ("E11.9", true),
            ("e119", true),
            ("E11", false),    // a category: needs more characters
            ("E11.99", false), // not in the code set
            ("", false),
            ("E11.9999999999999999", false), // longer than any code
        ] {
            assert_eq!(
                eval(&format!("icd10_billable({code:?})"))
                    .as_bool()
                    .unwrap(),
                billable,
                "{code}"
            );
            let full = eval(&format!(
                "let i = icd10({code:?}); if i == () {{ false }} else {{ i.billable }}"
            ));
            assert_eq!(full.as_bool().unwrap(), billable, "icd10({code}).billable");
        }
    }
}
