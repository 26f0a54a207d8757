//! The claim as rule scripts see it, and the helper functions they can call.
//!
//! A [`ScriptClaim`] is built once per claim and shared by every rule that scores it: rules get
//! cheap handles onto the same data, never a per-rule copy. Strings are pre-built as Rhai
//! strings so property reads do not allocate. Everything here is documented for rule authors
//! in `rules/README.md`.

use std::sync::Arc;

use chrono::{Months, NaiveDate};
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position};

use crate::claim::Claim;
use crate::claim::codes::{code_matches, npi_check_digit_ok};
use crate::history::{Lookup, MAX_YEARS, months_between};
use crate::tables::Tables;
use crate::tables::code::iso;

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// The claim handle scripts receive as `claim`.
#[derive(Clone)]
pub struct ScriptClaim(Arc<ClaimView>);

/// Pre-built script values for one claim.
pub struct ClaimView {
    claim: Arc<Claim>,
    tables: Arc<Tables>,
    id: ImmutableString,
    claim_type: ImmutableString,
    payer_id: ImmutableString,
    payer_type: ImmutableString,
    sex: ImmutableString,
    place_of_service: ImmutableString,
    frequency_code: ImmutableString,
    submission_date: ImmutableString,
    type_of_bill: ImmutableString,
    prior_authorization: ImmutableString,
    admission_type: ImmutableString,
    admission_source: ImmutableString,
    patient_status: ImmutableString,
    billing_npi: ImmutableString,
    rendering_npi: ImmutableString,
    today: ImmutableString,
    first_service_date: ImmutableString,
    last_service_date: ImmutableString,
    lines: Array,
    diagnoses: Array,
    diagnosis_codes: Array,
    history: Lookup,
}

/// A service line handle (`for line in claim.lines`).
#[derive(Clone)]
pub struct ScriptLine(Arc<LineView>);

impl ScriptLine {
    /// The line's position in the claim (0-based).
    pub fn index(&self) -> usize {
        self.0.index
    }

    /// The line's units.
    pub fn units(&self) -> f64 {
        self.0.units
    }
}

/// Pre-built script values for one line.
pub struct LineView {
    index: usize,
    number: i64,
    code: ImmutableString,
    modifiers: Array,
    units: f64,
    charge_cents: i64,
    date: ImmutableString,
    date_to: ImmutableString,
    pointers: Array,
    diagnoses: Array,
    place_of_service: ImmutableString,
    revenue_code: ImmutableString,
    ndc: ImmutableString,
    rendering_npi: ImmutableString,
}

/// A diagnosis handle (`for dx in claim.diagnoses`).
#[derive(Clone)]
pub struct ScriptDiagnosis(Arc<DiagnosisView>);

/// Pre-built script values for one diagnosis.
pub struct DiagnosisView {
    code: ImmutableString,
    poa: ImmutableString,
    position: i64,
    code_system: &'static str,
}

thread_local! {
    /// One shared empty string: most optional claim fields are empty, and each
    /// `ImmutableString::from("")` would be its own allocation.
    static EMPTY: ImmutableString = ImmutableString::from("");
}

fn s(text: &str) -> ImmutableString {
    if text.is_empty() {
        EMPTY.with(Clone::clone)
    } else {
        ImmutableString::from(text)
    }
}

/// The script string made for the previous value, reused while values repeat.
struct Reuse<K> {
    last: Option<(K, ImmutableString)>,
}

impl<K> Default for Reuse<K> {
    fn default() -> Self {
        Self { last: None }
    }
}

impl<K: PartialEq> Reuse<K> {
    fn get(&mut self, key: K, make: impl FnOnce() -> ImmutableString) -> ImmutableString {
        match &self.last {
            Some((k, v)) if *k == key => v.clone(),
            _ => {
                let v = make();
                self.last = Some((key, v.clone()));
                v
            }
        }
    }
}

fn date_str(d: Option<NaiveDate>) -> ImmutableString {
    d.map(|d| s(&iso(d))).unwrap_or_default()
}

impl ScriptClaim {
    /// Prepares `claim` for scripts, with `today` as the as-of date (no patient history).
    pub fn new(claim: Arc<Claim>, today: NaiveDate, tables: Arc<Tables>) -> Self {
        Self::with_history(claim, today, tables, Lookup::default())
    }

    /// Prepares `claim` for scripts, with the patient's history read through `history` when
    /// a rule asks (`claim.history(codes, days)`).
    pub fn with_history(
        claim: Arc<Claim>,
        today: NaiveDate,
        tables: Arc<Tables>,
        history: Lookup,
    ) -> Self {
        let diagnosis_codes: Array = claim
            .diagnoses
            .iter()
            .map(|d| Dynamic::from(s(&d.code)))
            .collect();
        let diagnoses = claim
            .diagnoses
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Dynamic::from(ScriptDiagnosis(Arc::new(DiagnosisView {
                    code: s(&d.code),
                    poa: s(&d.present_on_admission),
                    position: i as i64 + 1,
                    code_system: if d.icd9 { "icd9cm" } else { "icd10cm" },
                })))
            })
            .collect();
        // Lines mostly share their date, place of service and provider: reuse one script
        // string per value instead of allocating one per line.
        let mut dates = Reuse::default();
        let mut places = Reuse::default();
        let mut npis = Reuse::default();
        let lines = claim
            .lines
            .iter()
            .enumerate()
            .map(|(index, l)| {
                Dynamic::from(ScriptLine(Arc::new(LineView {
                    index,
                    number: i64::from(l.number),
                    code: s(&l.procedure_code),
                    modifiers: l.modifiers.iter().map(|m| Dynamic::from(s(m))).collect(),
                    units: l.units,
                    charge_cents: l.charge_cents,
                    date: dates.get(l.service_date, || s(&iso(l.service_date))),
                    date_to: date_str(l.service_date_to),
                    pointers: l
                        .diagnosis_pointers
                        .iter()
                        .map(|p| Dynamic::from(i64::from(*p)))
                        .collect(),
                    diagnoses: claim
                        .line_diagnosis_positions(l)
                        .filter_map(|i| diagnosis_codes.get(i).cloned())
                        .collect(),
                    place_of_service: places
                        .get(l.place_of_service.as_str(), || s(&l.place_of_service)),
                    revenue_code: s(&l.revenue_code),
                    ndc: s(&l.ndc),
                    rendering_npi: npis.get(l.rendering_provider.npi.as_str(), || {
                        s(&l.rendering_provider.npi)
                    }),
                })))
            })
            .collect();
        let view = ClaimView {
            id: s(&claim.id),
            claim_type: s(claim.claim_type.as_str()),
            payer_id: s(&claim.payer_id),
            payer_type: s(claim.payer_type.as_str()),
            sex: s(claim.sex.as_str()),
            place_of_service: s(&claim.place_of_service),
            frequency_code: s(&claim.frequency_code),
            submission_date: date_str(claim.submission_date),
            type_of_bill: s(&claim.type_of_bill),
            prior_authorization: s(&claim.prior_authorization),
            admission_type: s(&claim.admission.admission_type),
            admission_source: s(&claim.admission.source),
            patient_status: s(&claim.admission.patient_status),
            billing_npi: s(&claim.billing_provider.npi),
            rendering_npi: s(&claim.rendering_provider.npi),
            today: s(&iso(today)),
            first_service_date: s(&iso(claim.first_service_date())),
            last_service_date: s(&iso(claim.last_service_date())),
            lines,
            diagnoses,
            diagnosis_codes,
            claim,
            tables,
            history,
        };
        Self(Arc::new(view))
    }

    /// The claim's history lookup (whether a rule asked, and whether it was available).
    pub fn history(&self) -> &Lookup {
        &self.0.history
    }

    /// The script handle of the line at `index` (claim order).
    pub fn line_value(&self, index: usize) -> Dynamic {
        self.0.lines.get(index).cloned().unwrap_or(Dynamic::UNIT)
    }

    /// The underlying claim.
    pub fn claim(&self) -> &Claim {
        &self.0.claim
    }

    /// The reference tables this claim is scored with.
    pub fn tables(&self) -> &Tables {
        &self.0.tables
    }
}

fn runtime_error(message: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(message.into(), Position::NONE))
}

/// Parses a script date string, with an error message a rule author understands.
fn parse_date(text: &str) -> Fallible<NaiveDate> {
    let t = text.trim();
    (t.len() == 10)
        .then(|| crate::tables::code::parse_date(t))
        .flatten()
        .ok_or_else(|| runtime_error("a date is not in YYYY-MM-DD form".into()))
}

fn age_on(claim: &Claim, date: NaiveDate) -> i64 {
    claim.patient_age_on(date).map_or(-1, i64::from)
}

fn strings(arr: &Array) -> impl Iterator<Item = ImmutableString> + '_ {
    arr.iter()
        .filter_map(|d| d.clone().into_immutable_string().ok())
}

fn finding_map(message: ImmutableString) -> Map {
    let mut m = Map::new();
    m.insert("message".into(), Dynamic::from(message));
    m
}

/// Groups of line numbers whose lines are exact duplicates (same code, modifiers, dates,
/// units, charge, place of service and rendering provider), each group in line order, groups
/// ordered by their first line. Hash-based: linear in the number of lines.
fn duplicate_groups(claim: &Claim) -> Array {
    claim
        .duplicate_line_groups()
        .into_iter()
        .map(|g| {
            Dynamic::from(
                g.into_iter()
                    .map(|n| Dynamic::from(i64::from(n)))
                    .collect::<Array>(),
            )
        })
        .collect()
}

/// Line fields `claim.lines_where` can filter on.
const WHERE_FIELDS: &[&str] = &[
    "units",
    "charge_cents",
    "pointers",
    "modifiers",
    "date",
    "last_date",
    "place_of_service",
    "code",
    "rendering_npi",
];

/// `claim.history(codes, days)`: the patient's prior services whose code matches one of
/// `codes` (patterns as in `code_in`), dated from `days` days before the claim's first date of
/// service to its last, on other claims; paid ones (from remittances) and ones reported as
/// submitted. Empty when history is unavailable (the response then says why).
fn history(c: &mut ScriptClaim, codes: Array, days: i64) -> Fallible<Array> {
    let max = 366 * i64::from(MAX_YEARS);
    if !(0..=max).contains(&days) {
        return Err(runtime_error(format!(
            "history: days must be from 0 to {max} ({MAX_YEARS} years); got {days}"
        )));
    }
    let patterns: Vec<ImmutableString> = codes
        .into_iter()
        .map(|p| {
            p.into_immutable_string()
                .map_err(|t| runtime_error(format!("history: codes must be text, not {t}")))
        })
        .collect::<Fallible<_>>()?;
    let claim = &c.0.claim;
    let Ok(services) = c.0.history.services() else {
        return Ok(Array::new());
    };
    let first = claim.first_service_date();
    let from = first - chrono::Days::new(days as u64);
    let last = claim.last_service_date();
    let wanted = |code: &str| patterns.iter().any(|p| code_matches(code, p));
    let mut out = Array::new();
    for h in services {
        if h.date < from || h.date > last || h.claim_id == claim.id || !wanted(&h.code) {
            continue;
        }
        let mut m = Map::new();
        m.insert("date".into(), Dynamic::from(s(&iso(h.date))));
        m.insert("code".into(), Dynamic::from(s(&h.code)));
        m.insert(
            "modifiers".into(),
            Dynamic::from(
                h.modifiers
                    .iter()
                    .map(|x| Dynamic::from(s(x)))
                    .collect::<Array>(),
            ),
        );
        m.insert("units".into(), Dynamic::from(h.units));
        m.insert("provider".into(), Dynamic::from(s(&h.provider)));
        m.insert("claim_id".into(), Dynamic::from(s(&h.claim_id)));
        m.insert("paid".into(), Dynamic::from(h.paid));
        m.insert(
            "status".into(),
            Dynamic::from(s(if h.paid { "paid" } else { "submitted" })),
        );
        m.insert(
            "months_before".into(),
            Dynamic::from(months_between(h.date, first)),
        );
        m.insert(
            "days_before".into(),
            Dynamic::from((first - h.date).num_days()),
        );
        out.push(Dynamic::from(m));
    }
    Ok(out)
}

/// `claim.lines_where(field, op, value)`: the lines whose `field` compares to `value` with `op`
/// (`<`, `<=`, `>`, `>=`, `==`, `!=`), filtered natively so that a rule checking one field of
/// every line does not loop in script. Numbers compare as numbers (`pointers` and `modifiers`
/// are counts), dates as dates, text as text.
fn lines_where(c: &mut ScriptClaim, field: &str, op: &str, value: Dynamic) -> Fallible<Array> {
    use std::cmp::Ordering;
    let wanted: &[Ordering] = match op {
        "<" => &[Ordering::Less],
        "<=" => &[Ordering::Less, Ordering::Equal],
        ">" => &[Ordering::Greater],
        ">=" => &[Ordering::Greater, Ordering::Equal],
        "==" => &[Ordering::Equal],
        "!=" => &[Ordering::Less, Ordering::Greater],
        other => {
            return Err(runtime_error(format!(
                "lines_where: {other:?} is not a comparison; use <, <=, >, >=, == or !="
            )));
        }
    };
    let number = || {
        value
            .as_float()
            .or_else(|_| value.as_int().map(|i| i as f64))
            .map_err(|_| runtime_error(format!("lines_where: `{field}` is compared with a number")))
    };
    let text = || {
        value
            .clone()
            .into_immutable_string()
            .map_err(|_| runtime_error(format!("lines_where: `{field}` is compared with text")))
    };
    let claim = &c.0.claim;
    let keys: Vec<Option<Ordering>> = match field {
        "units" | "charge_cents" | "pointers" | "modifiers" => {
            let v = number()?;
            claim
                .lines
                .iter()
                .map(|l| {
                    let x = match field {
                        "units" => l.units,
                        "charge_cents" => l.charge_cents as f64,
                        "pointers" => l.diagnosis_pointers.len() as f64,
                        _ => l.modifiers.len() as f64,
                    };
                    x.partial_cmp(&v)
                })
                .collect()
        }
        "date" | "last_date" => {
            let t = text()?;
            let d = parse_date(&t)?;
            claim
                .lines
                .iter()
                .map(|l| {
                    let x = if field == "date" {
                        l.service_date
                    } else {
                        l.service_date_to.unwrap_or(l.service_date)
                    };
                    Some(x.cmp(&d))
                })
                .collect()
        }
        "place_of_service" | "code" | "rendering_npi" => {
            let t = text()?;
            claim
                .lines
                .iter()
                .map(|l| {
                    let x = match field {
                        "place_of_service" => l.place_of_service.as_str(),
                        "code" => l.procedure_code.as_str(),
                        _ => l.rendering_provider.npi.as_str(),
                    };
                    Some(x.cmp(t.as_str()))
                })
                .collect()
        }
        other => {
            return Err(runtime_error(format!(
                "lines_where: unknown line field {other:?}; use one of {}",
                WHERE_FIELDS.join(", ")
            )));
        }
    };
    Ok(keys
        .into_iter()
        .zip(&c.0.lines)
        .filter(|(k, _)| k.is_some_and(|k| wanted.contains(&k)))
        .map(|(_, line)| line.clone())
        .collect())
}

/// Line fields `claim.lines_by` can group on.
const BY_FIELDS: &[&str] = &[
    "date",
    "last_date",
    "place_of_service",
    "code",
    "rendering_npi",
];

/// `claim.lines_by(field)`: the claim's distinct values of a text or date line `field`, each
/// with the numbers of its lines in claim order, e.g. `#{"2024-07-01": [1, 2], "2024-07-02":
/// [3]}`. Keys come back sorted. A rule that checks a value shared by many lines (a date, a
/// place of service, a rendering NPI) loops over the few distinct values instead of every line.
fn lines_by(c: &mut ScriptClaim, field: &str) -> Fallible<Map> {
    let key: fn(&LineView) -> &ImmutableString = match field {
        "date" => |l| &l.date,
        "last_date" => |l| {
            if l.date_to.is_empty() {
                &l.date
            } else {
                &l.date_to
            }
        },
        "place_of_service" => |l| &l.place_of_service,
        "code" => |l| &l.code,
        "rendering_npi" => |l| &l.rendering_npi,
        other => {
            return Err(runtime_error(format!(
                "lines_by: unknown line field {other:?}; use one of {}",
                BY_FIELDS.join(", ")
            )));
        }
    };
    let mut out = Map::new();
    for line in &c.0.lines {
        let Some(view) = line.read_lock::<ScriptLine>() else {
            continue;
        };
        let number = Dynamic::from(view.0.number);
        match out.get_mut(key(&view.0).as_str()) {
            Some(lines) => {
                if let Some(mut arr) = lines.write_lock::<Array>() {
                    arr.push(number);
                }
            }
            None => {
                out.insert(key(&view.0).as_str().into(), Dynamic::from(vec![number]));
            }
        }
    }
    Ok(out)
}

/// Friendly text for messages: whole floats without ".0", lists as "1, 2 and 3".
fn friendly_text(value: &Dynamic) -> String {
    if let Ok(f) = value.as_float() {
        return if f.fract() == 0.0 && f.abs() < 1e15 {
            format!("{}", f as i64)
        } else {
            f.to_string()
        };
    }
    if let Some(items) = value.read_lock::<Array>() {
        let parts: Vec<String> = items.iter().map(friendly_text).collect();
        return match parts.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
    }
    value.to_string()
}

/// Registers the claim types and helper functions.
pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<ScriptClaim>("Claim")
        .register_get("id", |c: &mut ScriptClaim| c.0.id.clone())
        .register_get("claim_type", |c: &mut ScriptClaim| c.0.claim_type.clone())
        .register_get("payer_id", |c: &mut ScriptClaim| c.0.payer_id.clone())
        .register_get("payer_type", |c: &mut ScriptClaim| c.0.payer_type.clone())
        .register_get("sex", |c: &mut ScriptClaim| c.0.sex.clone())
        .register_get("place_of_service", |c: &mut ScriptClaim| {
            c.0.place_of_service.clone()
        })
        .register_get("frequency_code", |c: &mut ScriptClaim| {
            c.0.frequency_code.clone()
        })
        .register_get("submission_date", |c: &mut ScriptClaim| {
            c.0.submission_date.clone()
        })
        .register_get("type_of_bill", |c: &mut ScriptClaim| {
            c.0.type_of_bill.clone()
        })
        .register_get("prior_authorization", |c: &mut ScriptClaim| {
            c.0.prior_authorization.clone()
        })
        .register_get("admission_type", |c: &mut ScriptClaim| {
            c.0.admission_type.clone()
        })
        .register_get("admission_source", |c: &mut ScriptClaim| {
            c.0.admission_source.clone()
        })
        .register_get("patient_status", |c: &mut ScriptClaim| {
            c.0.patient_status.clone()
        })
        .register_get("billing_npi", |c: &mut ScriptClaim| c.0.billing_npi.clone())
        .register_get("rendering_npi", |c: &mut ScriptClaim| {
            c.0.rendering_npi.clone()
        })
        .register_get("today", |c: &mut ScriptClaim| c.0.today.clone())
        .register_get("first_service_date", |c: &mut ScriptClaim| {
            c.0.first_service_date.clone()
        })
        .register_get("last_service_date", |c: &mut ScriptClaim| {
            c.0.last_service_date.clone()
        })
        .register_get("lines", |c: &mut ScriptClaim| c.0.lines.clone())
        .register_get("diagnoses", |c: &mut ScriptClaim| c.0.diagnoses.clone())
        .register_get("diagnosis_codes", |c: &mut ScriptClaim| {
            c.0.diagnosis_codes.clone()
        })
        .register_get("principal_diagnosis", |c: &mut ScriptClaim| {
            c.0.diagnosis_codes
                .first()
                .and_then(|d| d.clone().into_immutable_string().ok())
                .unwrap_or_default()
        })
        .register_get("has_birth_date", |c: &mut ScriptClaim| {
            c.0.claim.birth_date.is_some()
        })
        .register_get("patient_age", |c: &mut ScriptClaim| {
            age_on(&c.0.claim, c.0.claim.first_service_date())
        })
        .register_fn(
            "patient_age_on",
            |c: &mut ScriptClaim, date: &str| -> Fallible<i64> {
                Ok(age_on(&c.0.claim, parse_date(date)?))
            },
        )
        .register_fn("has_diagnosis", |c: &mut ScriptClaim, pattern: &str| {
            c.0.claim
                .diagnoses
                .iter()
                .any(|d| code_matches(&d.code, pattern))
        })
        .register_fn("has_procedure", |c: &mut ScriptClaim, pattern: &str| {
            c.0.claim
                .lines
                .iter()
                .any(|l| code_matches(&l.procedure_code, pattern))
        })
        .register_fn(
            "lines_with_code",
            |c: &mut ScriptClaim, pattern: &str| -> Array {
                c.0.claim
                    .lines
                    .iter()
                    .zip(&c.0.lines)
                    .filter(|(l, _)| code_matches(&l.procedure_code, pattern))
                    .map(|(_, d)| d.clone())
                    .collect()
            },
        )
        .register_fn(
            "has_code_on",
            |c: &mut ScriptClaim, codes: Array, date: &str| {
                let wanted: Vec<ImmutableString> = strings(&codes).collect();
                let date = crate::tables::code::parse_date(date);
                c.0.claim.lines.iter().any(|l| {
                    Some(l.service_date) == date
                        && wanted
                            .iter()
                            .any(|w| w.eq_ignore_ascii_case(&l.procedure_code))
                })
            },
        )
        .register_fn("duplicate_lines", |c: &mut ScriptClaim| {
            duplicate_groups(&c.0.claim)
        })
        .register_fn("lines_where", lines_where)
        .register_fn("history", history)
        .register_fn("lines_by", lines_by)
        .register_fn("line", |c: &mut ScriptClaim, number: i64| -> Dynamic {
            c.0.claim
                .lines
                .iter()
                .position(|l| i64::from(l.number) == number)
                .map_or(Dynamic::UNIT, |i| c.0.lines[i].clone())
        });

    engine
        .register_type_with_name::<ScriptLine>("Line")
        .register_get("number", |l: &mut ScriptLine| l.0.number)
        .register_get("index", |l: &mut ScriptLine| l.0.index as i64)
        .register_get("code", |l: &mut ScriptLine| l.0.code.clone())
        .register_get("modifiers", |l: &mut ScriptLine| l.0.modifiers.clone())
        .register_get("units", |l: &mut ScriptLine| l.0.units)
        .register_get("charge_cents", |l: &mut ScriptLine| l.0.charge_cents)
        .register_get("date", |l: &mut ScriptLine| l.0.date.clone())
        .register_get("date_to", |l: &mut ScriptLine| l.0.date_to.clone())
        .register_get("pointers", |l: &mut ScriptLine| l.0.pointers.clone())
        .register_get("diagnoses", |l: &mut ScriptLine| l.0.diagnoses.clone())
        .register_get("place_of_service", |l: &mut ScriptLine| {
            l.0.place_of_service.clone()
        })
        .register_get("revenue_code", |l: &mut ScriptLine| {
            l.0.revenue_code.clone()
        })
        .register_get("ndc", |l: &mut ScriptLine| l.0.ndc.clone())
        .register_get("rendering_npi", |l: &mut ScriptLine| {
            l.0.rendering_npi.clone()
        })
        .register_fn("has_modifier", |l: &mut ScriptLine, m: &str| {
            strings(&l.0.modifiers).any(|x| x.eq_ignore_ascii_case(m.trim()))
        })
        .register_fn("has_any_modifier", |l: &mut ScriptLine, wanted: Array| {
            strings(&wanted)
                .any(|w| strings(&l.0.modifiers).any(|x| x.eq_ignore_ascii_case(w.trim())))
        })
        .register_fn("code_in", |l: &mut ScriptLine, patterns: Array| {
            strings(&patterns).any(|p| code_matches(&l.0.code, &p))
        })
        .register_fn("diagnosis_in", |l: &mut ScriptLine, patterns: Array| {
            strings(&l.0.diagnoses).any(|d| strings(&patterns).any(|p| code_matches(&d, &p)))
        });

    engine
        .register_type_with_name::<ScriptDiagnosis>("Diagnosis")
        .register_get("code", |d: &mut ScriptDiagnosis| d.0.code.clone())
        .register_get("poa", |d: &mut ScriptDiagnosis| d.0.poa.clone())
        .register_get("position", |d: &mut ScriptDiagnosis| d.0.position)
        .register_get("code_system", |d: &mut ScriptDiagnosis| {
            ImmutableString::from(d.0.code_system)
        })
        .register_fn("matches", |d: &mut ScriptDiagnosis, pattern: &str| {
            code_matches(&d.0.code, pattern)
        });

    engine
        .register_fn("finding", finding_map)
        .register_fn("finding", |message: ImmutableString, lines: Dynamic| {
            let mut m = finding_map(message);
            m.insert("lines".into(), lines);
            m
        })
        .register_fn(
            "finding",
            |message: ImmutableString, lines: Dynamic, suggestion: ImmutableString| {
                let mut m = finding_map(message);
                m.insert("lines".into(), lines);
                m.insert("suggestion".into(), Dynamic::from(suggestion));
                m
            },
        )
        .register_fn("code_matches", |code: &str, pattern: &str| {
            code_matches(code, pattern)
        })
        .register_fn("code_in", |code: &str, patterns: Array| {
            strings(&patterns).any(|p| code_matches(code, &p))
        })
        .register_fn("npi_valid", |npi: &str| npi_check_digit_ok(npi))
        .register_fn("pos_assigned", |pos: &str| {
            crate::claim::codes::pos_assigned(pos)
        })
        .register_fn("pos_assigned", |pos: &str, date: &str| {
            parse_date(date).is_ok_and(|d| crate::claim::codes::pos_in_force(pos, d))
        })
        .register_fn("pos_effective", |pos: &str| -> ImmutableString {
            crate::claim::codes::pos_effective(pos)
                .map(|d| d.to_string().into())
                .unwrap_or_default()
        })
        .register_fn("text", |value: Dynamic| friendly_text(&value))
        .register_fn("is_date", |text: &str| parse_date(text).is_ok())
        .register_fn("days_between", |from: &str, to: &str| -> Fallible<i64> {
            Ok((parse_date(to)? - parse_date(from)?).num_days())
        })
        .register_fn(
            "add_days",
            |date: &str, days: i64| -> Fallible<ImmutableString> {
                let d = parse_date(date)?
                    .checked_add_signed(
                        chrono::Duration::try_days(days)
                            .ok_or_else(|| runtime_error("date out of range".into()))?,
                    )
                    .ok_or_else(|| runtime_error("date out of range".into()))?;
                Ok(s(&iso(d)))
            },
        )
        .register_fn(
            "add_months",
            |date: &str, months: i64| -> Fallible<ImmutableString> {
                let d = parse_date(date)?;
                let n = Months::new(months.unsigned_abs().min(12_000) as u32);
                let d = if months >= 0 {
                    d.checked_add_months(n)
                } else {
                    d.checked_sub_months(n)
                }
                .ok_or_else(|| runtime_error("date out of range".into()))?;
                Ok(s(&iso(d)))
            },
        )
        .register_fn(
            "next_business_day",
            |date: &str| -> Fallible<ImmutableString> {
                Ok(s(&iso(crate::claim::dates::next_business_day(parse_date(
                    date,
                )?))))
            },
        );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::NaiveDate;
    use rhai::Scope;

    use super::ScriptClaim;
    use crate::claim::{self, Limits};
    use crate::engine::{EngineLimits, sandbox};
    use crate::proto::v1 as pb;
    use crate::tables::Tables;

    fn run(script: &str) -> Result<rhai::Dynamic, String> {
        let engine = sandbox::build_engine(&EngineLimits::default());
        let line = |n: u32, units: f64, date: &str, to: &str| pb::ServiceLine {
            line_number: n,
            procedure_code: "97110".into(),
            units,
            charge_cents: 100,
            service_date: date.into(),
            service_date_to: to.into(),
            ..Default::default()
        };
        let wire = pb::Claim {
            claim_id: "T".into(),
            lines: vec![
                line(1, 0.0, "2024-07-01", ""),
                line(2, 2.0, "2024-07-01", "2024-07-09"),
                line(3, 1.0, "2024-07-05", ""),
            ],
            admission_type: "1".into(),
            patient_status: "30".into(),
            ..Default::default()
        };
        let claim = claim::validate::validate(&wire, Limits::default()).unwrap();
        let view = ScriptClaim::new(
            Arc::new(claim),
            NaiveDate::from_ymd_opt(2024, 8, 1).unwrap(),
            Arc::new(Tables::default()),
        );
        let ast = engine
            .compile(format!("fn t(claim) {{ {script} }}"))
            .unwrap();
        engine
            .call_fn::<rhai::Dynamic>(&mut Scope::new(), &ast, "t", (view,))
            .map_err(|e| e.to_string())
    }

    fn numbers(script: &str) -> Vec<i64> {
        run(&format!(
            "let n = []; for l in {script} {{ n.push(l.number); }} n"
        ))
        .unwrap()
        .into_array()
        .unwrap()
        .into_iter()
        .map(|d| d.as_int().unwrap())
        .collect()
    }

    #[test]
    fn admission_codes_are_claim_fields() {
        let text = |script: &str| run(script).unwrap().to_string();
        assert_eq!(text("claim.patient_status"), "30");
        assert_eq!(text("claim.admission_type"), "1");
        assert_eq!(text("claim.admission_source"), "");
    }

    #[test]
    fn lines_where_filters_natively() {
        assert_eq!(numbers(r#"claim.lines_where("units", "<=", 0)"#), [1]);
        assert_eq!(numbers(r#"claim.lines_where("units", ">", 0.5)"#), [2, 3]);
        assert_eq!(
            numbers(r#"claim.lines_where("last_date", ">", "2024-07-05")"#),
            [2]
        );
        assert_eq!(
            numbers(r#"claim.lines_where("date", "==", "2024-07-01")"#),
            [1, 2]
        );
        assert_eq!(
            numbers(r#"claim.lines_where("pointers", "==", 0)"#),
            [1, 2, 3]
        );
        assert_eq!(
            numbers(r#"claim.lines_where("code", "!=", "97110")"#),
            Vec::<i64>::new()
        );
        let e = run(r#"claim.lines_where("unit", "<=", 0)"#).unwrap_err();
        assert!(
            e.contains("unknown line field") && e.contains("units"),
            "{e}"
        );
        let e = run(r#"claim.lines_where("units", "=<", 0)"#).unwrap_err();
        assert!(e.contains("not a comparison"), "{e}");
        let e = run(r#"claim.lines_where("units", "<", "zero")"#).unwrap_err();
        assert!(e.contains("compared with a number"), "{e}");
    }

    #[test]
    fn lines_by_groups_line_numbers_by_value() {
        let text = |script: &str| run(script).unwrap().to_string();
        assert_eq!(
            text(r#"claim.lines_by("date")"#),
            r#"#{"2024-07-01": [1, 2], "2024-07-05": [3]}"#
        );
        assert_eq!(
            text(r#"claim.lines_by("last_date")"#),
            r#"#{"2024-07-01": [1], "2024-07-05": [3], "2024-07-09": [2]}"#
        );
        assert_eq!(
            text(r#"claim.lines_by("code")"#),
            r#"#{"97110": [1, 2, 3]}"#
        );
        assert_eq!(
            text(r#"claim.lines_by("rendering_npi")"#),
            r#"#{"": [1, 2, 3]}"#
        );
        let e = run(r#"claim.lines_by("units")"#).unwrap_err();
        assert!(
            e.contains("unknown line field") && e.contains("place_of_service"),
            "{e}"
        );
    }
}
