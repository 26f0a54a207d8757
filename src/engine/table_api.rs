//! Script helpers over the reference tables: indexed native lookups so rule scripts stay
//! short and never loop over pairs or table rows. What CMS's edits mean lives in
//! [`crate::edits`]; this file only converts their typed hits to script values and registers
//! the functions. The claim being scored is held in a
//! thread-local while a rule runs, so helpers such as `mue(code)` know the claim's setting
//! (practitioner or outpatient hospital, from the claim type) and date of service.

use std::cell::RefCell;

use rhai::{Array, Dynamic, Engine, ImmutableString, Map};

use super::script_api::ScriptClaim;
use crate::claim::Sex;
use crate::claim::codes::dotted_icd10;
use crate::edits::{addon, codes, mce, mue, pfs_modifiers, ptp};
use crate::tables::code::{date_of, day, iso, pack_proc, unpack_proc};
use crate::tables::{Kind, Window, fiscal_year, fiscal_year_span, setting_for};

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

fn s(text: &str) -> Dynamic {
    Dynamic::from(ImmutableString::from(text))
}

fn date_text(d: u16) -> Dynamic {
    date_of(d).map_or_else(|| s(""), |d| s(&iso(d)))
}

fn parse_day(date: &str) -> Option<u16> {
    crate::tables::code::parse_date(date).map(day)
}

fn ptp_conflicts(c: &mut ScriptClaim) -> Array {
    let (hits, version) = ptp::hits(c.claim(), c.tables());
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
            m.insert("bypass_allowed".into(), Dynamic::from(h.bypass_allowed));
            m.insert("table_version".into(), s(version));
            Dynamic::from(m)
        })
        .collect()
}

fn mue_units(c: &mut ScriptClaim, only_excess: bool) -> Array {
    let (counts, version) = mue::counts(c.claim(), c.tables());
    let setting = setting_for(c.claim()).as_str();
    counts
        .into_iter()
        .filter(|m| !only_excess || m.exceeds())
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
            map.insert("days".into(), Dynamic::from(i64::from(m.days)));
            map.insert("limit".into(), Dynamic::from(m.limit()));
            map.insert("setting".into(), s(setting));
            map.insert("indicator".into(), Dynamic::from(i64::from(m.indicator)));
            map.insert("rationale".into(), s(m.rationale));
            map.insert("table_version".into(), s(version));
            Dynamic::from(map)
        })
        .collect()
}

fn addon_lines_fn(c: &mut ScriptClaim) -> Array {
    let (lines, version) = addon::lines(c.claim(), c.tables());
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
        let setting = setting_for(c.claim());
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
        let Some(set) = c.tables().icd10_for(c.claim().code_set_date()) else {
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
        let Some(set) = c.tables().icd10_for(c.claim().code_set_date()) else {
            return false;
        };
        // The table's lookup takes dotted or undotted codes in either case.
        set.table.get(code.trim()).is_some_and(|e| e.billable)
    })
}

/// `icd10_code_set()`: which ICD-10-CM code set judges the claim — the fiscal year of its
/// code-set date, whether a set for it is loaded, and its version.
fn icd10_code_set() -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let date = c.claim().code_set_date();
        let fy = fiscal_year(date);
        let (first, last) = fiscal_year_span(fy);
        let set = c.tables().icd10_for(date);
        let mut m = Map::new();
        m.insert("loaded".into(), Dynamic::from(set.is_some()));
        m.insert("fiscal_year".into(), s(&format!("FY{fy}")));
        m.insert("date".into(), s(&date.to_string()));
        m.insert("first_day".into(), s(&first.to_string()));
        m.insert("last_day".into(), s(&last.to_string()));
        m.insert("version".into(), s(set.map_or("", |t| t.version.as_str())));
        Dynamic::from(m)
    })
}

/// `pfs(code)`, `pfs(code, date)`: the code's row (no modifier) in the Medicare PFS relative
/// value file in force on the date; nothing when no file covers the date or the code is not
/// in it.
fn pfs_on(code: &str, date: chrono::NaiveDate) -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let Some(dated) = c.tables().pfs_rvu_for(date) else {
            return Dynamic::UNIT;
        };
        let Some(row) = pack_proc(code.trim()).and_then(|k| dated.table.get(k, 0)) else {
            return Dynamic::UNIT;
        };
        let mut m = Map::new();
        m.insert("status".into(), s(&char::from(row.status).to_string()));
        m.insert("pctc".into(), Dynamic::from(i64::from(row.pctc)));
        m.insert("global_days".into(), s(row.global_days()));
        m.insert("mult_proc".into(), Dynamic::from(i64::from(row.mult_proc)));
        m.insert("table_version".into(), s(&dated.version));
        Dynamic::from(m)
    })
}

fn procedure_lists_on(code: &str, date: chrono::NaiveDate) -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let l = codes::procedure_lists(c.tables(), code.trim(), date);
        let mut m = Map::new();
        m.insert("known".into(), Dynamic::from(l.known));
        m.insert(
            "checked".into(),
            Dynamic::from(l.checked.iter().map(|v| s(v)).collect::<Array>()),
        );
        m.insert("authoritative".into(), Dynamic::from(l.authoritative));
        Dynamic::from(m)
    })
}

/// What `hcpcs(...)` and `modifier(...)` return for a code of a dated list: `#{ exists, valid,
/// description, added, terminated, table_version }` plus `extra`; nothing when the list is a
/// sample that lacks the code. `found` is the code's (window, description), if listed.
fn dated_code(
    tables: &crate::tables::Tables,
    kind: Kind,
    found: Option<(Window, &str)>,
    day: u16,
    extra: &[(&str, &str)],
) -> Dynamic {
    if found.is_none() && tables.is_partial(kind) {
        return Dynamic::UNIT;
    }
    let window = found.map_or(Window::OPEN, |(w, _)| w);
    let mut m = Map::new();
    m.insert("exists".into(), Dynamic::from(found.is_some()));
    m.insert(
        "valid".into(),
        Dynamic::from(found.is_some() && window.contains(day)),
    );
    m.insert("description".into(), s(found.map_or("", |(_, d)| d)));
    m.insert("added".into(), date_text(window.start));
    m.insert("terminated".into(), date_text(window.end));
    m.insert(
        "table_version".into(),
        s(tables.version_of(kind, None).unwrap_or("")),
    );
    for (k, v) in extra {
        m.insert((*k).into(), s(v));
    }
    Dynamic::from(m)
}

/// `modifier(code)`, `modifier(code, date)`: the modifier in the loaded modifier list; nothing
/// when no list is loaded, or the code is missing from a sample list.
fn modifier_on(code: &str, day: u16) -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let tables = c.tables();
        let Some(table) = tables.modifiers.as_deref() else {
            return Dynamic::UNIT;
        };
        let entry = table.get(code);
        dated_code(
            tables,
            Kind::Modifier,
            entry.map(|e| (e.window, &*e.description)),
            day,
            &[("source", entry.map_or("", |e| &e.source))],
        )
    })
}

fn hcpcs_on(code: &str, day: u16) -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let tables = c.tables();
        let Some(table) = tables.hcpcs.as_deref() else {
            return Dynamic::UNIT;
        };
        let entry = pack_proc(code.trim()).and_then(|k| table.get(k));
        dated_code(
            tables,
            Kind::Hcpcs,
            entry.map(|e| (e.window, &*e.description)),
            day,
            &[],
        )
    })
}

fn mce(code: &str) -> Dynamic {
    with_claim(Dynamic::UNIT, |c| {
        let Some(flags) = c
            .tables()
            .mce_for(c.claim().code_set_date())
            .and_then(|t| t.table.get(code.trim()).copied())
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

fn mce_conflicts(c: &mut ScriptClaim) -> Array {
    let (hits, version) = mce::hits(c.claim(), c.tables());
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

fn pfs_modifier_conflicts(c: &mut ScriptClaim) -> Array {
    let (hits, version) = pfs_modifiers::conflicts(c.claim(), c.tables());
    hits.into_iter()
        .map(|h| {
            let mut m = Map::new();
            m.insert("line".into(), Dynamic::from(i64::from(h.line)));
            m.insert("modifier".into(), s(&h.modifier));
            m.insert("indicator".into(), s(h.indicator));
            m.insert("value".into(), Dynamic::from(i64::from(h.value)));
            m.insert("severity".into(), s(h.severity.as_str()));
            m.insert("carc".into(), s(h.carc));
            m.insert("reason".into(), s(&h.reason));
            m.insert("table_version".into(), s(version));
            Dynamic::from(m)
        })
        .collect()
}

fn procedure_code_problems(c: &mut ScriptClaim) -> Array {
    let tables = c.tables();
    let version = tables.version_of(Kind::Hcpcs, None).unwrap_or("");
    codes::problems(c.claim(), tables)
        .into_iter()
        .map(|p| {
            let line = &c.claim().lines[p.index];
            let mut m = Map::new();
            m.insert("line".into(), Dynamic::from(i64::from(p.line)));
            m.insert("index".into(), Dynamic::from(p.index as i64));
            m.insert("code".into(), s(&line.procedure_code));
            m.insert("date".into(), s(&iso(line.service_date)));
            m.insert("description".into(), s(&p.description));
            let (kind, added, terminated, checked, authoritative) = match &p.problem {
                codes::CodeProblem::Terminated { terminated } => (
                    "terminated",
                    String::new(),
                    iso(*terminated),
                    Vec::new(),
                    true,
                ),
                codes::CodeProblem::NotYetEffective { added } => (
                    "not_yet_effective",
                    iso(*added),
                    String::new(),
                    Vec::new(),
                    true,
                ),
                codes::CodeProblem::Unknown(l) => (
                    "unknown",
                    String::new(),
                    String::new(),
                    l.checked.clone(),
                    l.authoritative,
                ),
            };
            m.insert("kind".into(), s(kind));
            m.insert("added".into(), s(&added));
            m.insert("terminated".into(), s(&terminated));
            m.insert(
                "checked".into(),
                Dynamic::from(checked.iter().map(|v| s(v)).collect::<Array>()),
            );
            m.insert("authoritative".into(), Dynamic::from(authoritative));
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
        .register_fn("pfs_modifier_conflicts", pfs_modifier_conflicts)
        .register_fn("procedure_code_problems", procedure_code_problems)
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
        .register_fn("icd10_code_set", icd10_code_set)
        .register_fn("hcpcs", |code: &str| hcpcs_on(code, first_day()))
        .register_fn("hcpcs", |code: &str, date: &str| {
            parse_day(date).map_or(Dynamic::UNIT, |d| hcpcs_on(code, d))
        })
        .register_fn("mce", mce)
        .register_fn("modifier", |code: &str| modifier_on(code, first_day()))
        .register_fn("modifier", |code: &str, date: &str| {
            parse_day(date).map_or(Dynamic::UNIT, |d| modifier_on(code, d))
        })
        .register_fn("procedure_known", |code: &str, date: &str| {
            crate::tables::code::parse_date(date).is_none_or(|d| {
                with_claim(true, |c| codes::procedure_known(c.tables(), code.trim(), d))
            })
        })
        .register_fn("procedure_lists", |code: &str, date: &str| {
            crate::tables::code::parse_date(date)
                .map_or(Dynamic::UNIT, |d| procedure_lists_on(code, d))
        })
        .register_fn("pfs", |code: &str| {
            with_claim(Dynamic::UNIT, |c| {
                let date = c.claim().first_service_date();
                pfs_on(code, date)
            })
        })
        .register_fn("pfs", |code: &str, date: &str| {
            crate::tables::code::parse_date(date).map_or(Dynamic::UNIT, |d| pfs_on(code, d))
        })
        .register_fn("ncci_modifiers", || -> Array {
            ptp::NCCI_MODIFIERS.iter().map(|m| s(m)).collect()
        })
        .register_fn("has_table", |name: &str| -> bool {
            with_claim(false, |c| {
                let t = c.tables();
                let setting = setting_for(c.claim());
                match kind_of(name) {
                    Some(Kind::NcciPtp) => t.ptp(setting).is_some(),
                    Some(Kind::Mue) => t.mue(setting).is_some(),
                    Some(Kind::Aoc) => t.aoc.is_some(),
                    Some(Kind::Icd10cm) => !t.icd10.is_empty(),
                    Some(Kind::Mce) => !t.mce.is_empty(),
                    Some(Kind::Hcpcs) => t.hcpcs.is_some(),
                    Some(Kind::Modifier) => t.modifiers.is_some(),
                    Some(Kind::PfsRvu) => !t.pfs_rvu.is_empty(),
                    Some(Kind::PfsGpci) => !t.pfs_gpci.is_empty(),
                    Some(Kind::FeeSchedule) => !t.fees.is_empty(),
                    None => false,
                }
            })
        })
        .register_fn("table_version", |name: &str| -> ImmutableString {
            with_claim(ImmutableString::new(), |c| {
                let setting = setting_for(c.claim());
                let t = c.tables();
                match kind_of(name) {
                    Some(Kind::Icd10cm) => t
                        .icd10_for(c.claim().code_set_date())
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
    use crate::tables::{Dated, Tables, Window};

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
