//! Structural validation at the edge: wire claim in, [`Claim`] or every field problem out.

use std::collections::HashSet;

use chrono::NaiveDate;

use super::codes::{normalize_icd10, normalize_modifier, normalize_procedure, pos_shape_ok};
use super::{Claim, ClaimType, Diagnosis, Line, PayerType, Provider, Sex};
use crate::proto::v1 as pb;

/// One invalid field: its path in the request and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Field path such as `lines[2].diagnosis_pointers[0]`.
    pub field: String,
    /// What is wrong, in plain words.
    pub description: String,
}

/// A claim that failed structural validation; lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", summary(.violations))]
pub struct ValidationError {
    /// Every field problem, in field order. Never empty.
    pub violations: Vec<FieldViolation>,
}

/// A value quoted for an error message, cut to 32 characters so that a client's message stays
/// short (values are never logged: logs carry field paths only).
fn shown(value: &str) -> String {
    let v = value.trim();
    if v.chars().count() > 32 {
        format!("{:?}...", v.chars().take(32).collect::<String>())
    } else {
        format!("{v:?}")
    }
}

fn summary(v: &[FieldViolation]) -> String {
    match v {
        [] => "invalid claim".into(),
        [one] => format!("{}: {}", one.field, one.description),
        [first, rest @ ..] => format!(
            "{}: {} (and {} more problem{})",
            first.field,
            first.description,
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    }
}

impl ValidationError {
    /// A single-violation error.
    pub fn single(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            violations: vec![FieldViolation {
                field: field.into(),
                description: description.into(),
            }],
        }
    }

    /// The offending field paths (safe to log: no values).
    pub fn fields(&self) -> Vec<&str> {
        self.violations.iter().map(|v| v.field.as_str()).collect()
    }

    /// The first offending field path.
    pub fn field(&self) -> &str {
        self.violations.first().map_or("", |v| v.field.as_str())
    }
}

/// Structural limits applied to every claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum service lines per claim.
    pub max_lines: usize,
    /// Maximum length of any free-text field (ids, authorisation numbers, ...).
    pub max_string_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_lines: 999,
            max_string_len: 64,
        }
    }
}

/// Diagnosis limits per X12 005010: 12 on 837P (HI segment), 25 on 837I.
const MAX_DX_PROFESSIONAL: usize = 12;
const MAX_DX_INSTITUTIONAL: usize = 25;
/// 837P SV107 allows four diagnosis pointers per line.
const MAX_POINTERS: usize = 4;
/// X12 allows four procedure modifiers per line.
const MAX_MODIFIERS: usize = 4;
/// Units above this are certainly keying errors (X12 SV104 allows 15 digits, no payer does).
const MAX_UNITS: f64 = 99_999.0;

/// At most this many violations are listed; the rest are counted in one last entry. Keeps
/// the error (and the `grpc-status-details-bin` trailer, which clients cap at 16 KiB by
/// default, and the log line) small whatever the request holds.
pub const MAX_VIOLATIONS: usize = 50;

/// Largest charge of one line: $100,000,000.00. With at most a few thousand lines, every sum
/// of charges or allowed amounts stays far inside `i64`.
pub const MAX_CHARGE_CENTS: i64 = 10_000_000_000;

struct Checker {
    limits: Limits,
    violations: Vec<FieldViolation>,
    /// Violations found beyond [`MAX_VIOLATIONS`].
    unlisted: usize,
}

impl Checker {
    fn fail(&mut self, field: impl Into<String>, description: impl Into<String>) {
        if self.violations.len() >= MAX_VIOLATIONS {
            self.unlisted += 1;
            return;
        }
        self.violations.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Trims `value` and checks length and control characters.
    fn text(&mut self, field: &str, value: &str) -> String {
        let v = value.trim();
        if v.chars().count() > self.limits.max_string_len {
            self.fail(
                field,
                format!(
                    "is {} characters long; the limit is {}",
                    v.chars().count(),
                    self.limits.max_string_len
                ),
            );
        } else if v.chars().any(char::is_control) {
            self.fail(field, "contains control characters");
        }
        v.to_string()
    }

    fn date(&mut self, field: &str, value: &str, required: bool) -> Option<NaiveDate> {
        let v = value.trim();
        if v.is_empty() {
            if required {
                self.fail(field, "is required (format YYYY-MM-DD)");
            }
            return None;
        }
        // YYYY-MM-DD exactly (parsed without chrono's format-string machinery: this runs for
        // every date of every claim).
        match super::dates::parse_date(v) {
            Some(d) if v.len() == 10 => Some(d),
            _ => {
                self.fail(
                    field,
                    format!("{} is not a valid date (format YYYY-MM-DD)", shown(v)),
                );
                None
            }
        }
    }

    fn pos(&mut self, field: &str, value: &str) -> String {
        let v = value.trim();
        if !v.is_empty() && !pos_shape_ok(v) {
            self.fail(
                field,
                format!(
                    "{} is not a two-digit place-of-service code (e.g. 11)",
                    shown(v)
                ),
            );
        }
        v.to_string()
    }

    fn provider(&mut self, field: &str, p: Option<&pb::Provider>) -> Provider {
        let Some(p) = p else {
            return Provider::default();
        };
        let npi = p.npi.trim().to_string();
        if !npi.is_empty() && (npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit())) {
            self.fail(format!("{field}.npi"), "must be exactly 10 digits");
        }
        let taxonomy = p.taxonomy.trim().to_ascii_uppercase();
        if !taxonomy.is_empty()
            && (taxonomy.len() != 10 || !taxonomy.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            self.fail(
                format!("{field}.taxonomy"),
                "must be a 10-character taxonomy code (e.g. 207Q00000X)",
            );
        }
        Provider { npi, taxonomy }
    }
}

/// Validates a wire claim against `limits`.
pub fn validate(claim: &pb::Claim, limits: Limits) -> Result<Claim, ValidationError> {
    let mut c = Checker {
        limits,
        violations: Vec::new(),
        unlisted: 0,
    };

    let id = c.text("claim_id", &claim.claim_id);
    if id.is_empty() {
        c.fail("claim_id", "is required");
    }
    let claim_type = match pb::ClaimType::try_from(claim.claim_type) {
        Ok(pb::ClaimType::Institutional) => ClaimType::Institutional,
        Ok(_) => ClaimType::Professional,
        Err(_) => {
            c.fail(
                "claim_type",
                format!("{} is not a known claim type", claim.claim_type),
            );
            ClaimType::Professional
        }
    };
    let (payer_id, payer_type) = match &claim.payer {
        None => (String::new(), PayerType::Other),
        Some(p) => {
            let id = c.text("payer.payer_id", &p.payer_id);
            let t = match pb::PayerType::try_from(p.r#type) {
                Ok(pb::PayerType::Medicare) => PayerType::Medicare,
                Ok(pb::PayerType::Medicaid) => PayerType::Medicaid,
                Ok(pb::PayerType::Commercial) => PayerType::Commercial,
                Ok(_) => PayerType::Other,
                Err(_) => {
                    c.fail(
                        "payer.type",
                        format!("{} is not a known payer type", p.r#type),
                    );
                    PayerType::Other
                }
            };
            (id, t)
        }
    };
    let (birth_date, sex) = match &claim.patient {
        None => (None, Sex::Unknown),
        Some(p) => {
            let b = c.date("patient.birth_date", &p.birth_date, false);
            // Only bounded here: the scrubber turns it into the patient key and drops it.
            if p.member_id.len() > 80 {
                c.fail(
                    "patient.member_id",
                    format!("is {} bytes; at most 80", p.member_id.len()),
                );
            }
            let s = match pb::Sex::try_from(p.sex) {
                Ok(pb::Sex::Female) => Sex::Female,
                Ok(pb::Sex::Male) => Sex::Male,
                Ok(_) => Sex::Unknown,
                Err(_) => {
                    c.fail("patient.sex", format!("{} is not a known sex value", p.sex));
                    Sex::Unknown
                }
            };
            (b, s)
        }
    };
    let billing_provider = c.provider("billing_provider", claim.billing_provider.as_ref());
    let rendering_provider = c.provider("rendering_provider", claim.rendering_provider.as_ref());
    let place_of_service = c.pos("place_of_service", &claim.place_of_service);
    let frequency_code = c.text("frequency_code", &claim.frequency_code);
    if !frequency_code.is_empty()
        && (frequency_code.len() != 1 || !frequency_code.bytes().all(|b| b.is_ascii_digit()))
    {
        c.fail(
            "frequency_code",
            "must be a single digit (1 original, 7 replacement, 8 void)",
        );
    }
    let submission_date = c.date("submission_date", &claim.submission_date, false);
    let type_of_bill = c.text("type_of_bill", &claim.type_of_bill);
    if !type_of_bill.is_empty()
        && (!(3..=4).contains(&type_of_bill.len())
            || !type_of_bill.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        c.fail("type_of_bill", "must be 3 or 4 characters (e.g. 0131)");
    }
    let prior_authorization = c.text("prior_authorization", &claim.prior_authorization);
    let admission = super::Admission {
        admission_type: c.text("admission_type", &claim.admission_type),
        source: c.text("admission_source", &claim.admission_source),
        patient_status: c.text("patient_status", &claim.patient_status),
    };
    let mut locality = c.text("locality", &claim.locality);
    if !locality.is_empty() {
        match super::codes::locality_key(&locality) {
            Some(key) => locality = key,
            None => c.fail(
                "locality",
                "must be the 5-digit MAC number followed by the 2-digit locality number, e.g. 1320201 (MAC 13202, locality 01)",
            ),
        }
    }

    let max_dx = match claim_type {
        ClaimType::Professional => MAX_DX_PROFESSIONAL,
        ClaimType::Institutional => MAX_DX_INSTITUTIONAL,
    };
    if claim.diagnoses.len() > max_dx {
        c.fail(
            "diagnoses",
            format!(
                "has {} diagnoses; a {} claim carries at most {max_dx}",
                claim.diagnoses.len(),
                claim_type.as_str()
            ),
        );
    }
    let mut diagnoses = Vec::with_capacity(claim.diagnoses.len());
    for (i, d) in claim.diagnoses.iter().enumerate() {
        let field = format!("diagnoses[{i}].code");
        let icd9 = match d.code_system.trim() {
            "" | "icd10cm" => false,
            "icd9cm" => true,
            other => {
                c.fail(
                    format!("diagnoses[{i}].code_system"),
                    format!(
                        "{} must be \"icd10cm\" (or empty) or \"icd9cm\"",
                        shown(other)
                    ),
                );
                false
            }
        };
        let code = if icd9 {
            let t = d.code.trim().to_ascii_uppercase();
            let ok = (3..=6).contains(&t.len())
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
            if !ok {
                c.fail(
                    &field,
                    format!(
                        "{} is not an ICD-9-CM code (3-5 characters)",
                        shown(&d.code)
                    ),
                );
            }
            t
        } else {
            match normalize_icd10(&d.code) {
                Ok(code) => code,
                Err(why) => {
                    c.fail(&field, format!("{} {why}", shown(&d.code)));
                    d.code.trim().to_string()
                }
            }
        };
        let poa = d.present_on_admission.trim().to_ascii_uppercase();
        if !poa.is_empty() && !matches!(poa.as_str(), "Y" | "N" | "U" | "W" | "1") {
            c.fail(
                format!("diagnoses[{i}].present_on_admission"),
                "must be Y, N, U, W, 1 or empty",
            );
        }
        diagnoses.push(Diagnosis {
            code,
            present_on_admission: poa,
            icd9,
        });
    }

    if claim.lines.is_empty() {
        c.fail("lines", "a claim needs at least one service line");
    } else if claim.lines.len() > limits.max_lines {
        c.fail(
            "lines",
            format!(
                "has {} lines; the limit is {}",
                claim.lines.len(),
                limits.max_lines
            ),
        );
    }
    let mut first_date: Option<NaiveDate> = None;
    let mut numbers = HashSet::new();
    let mut lines = Vec::with_capacity(claim.lines.len());
    for (i, l) in claim.lines.iter().enumerate().take(limits.max_lines) {
        let at = |f: &str| format!("lines[{i}].{f}");
        let number = if l.line_number == 0 {
            i as u32 + 1
        } else {
            l.line_number
        };
        if !numbers.insert(number) {
            c.fail(
                at("line_number"),
                format!("line number {number} is used by more than one line"),
            );
        }
        let procedure_code = match normalize_procedure(&l.procedure_code) {
            Ok(p) => p,
            Err(why) => {
                c.fail(
                    at("procedure_code"),
                    format!("{} {why}", shown(&l.procedure_code)),
                );
                String::new()
            }
        };
        if l.modifiers.len() > MAX_MODIFIERS {
            c.fail(
                at("modifiers"),
                format!(
                    "has {} modifiers; at most {MAX_MODIFIERS} are allowed",
                    l.modifiers.len()
                ),
            );
        }
        let mut modifiers = Vec::with_capacity(l.modifiers.len());
        for (j, m) in l.modifiers.iter().enumerate() {
            match normalize_modifier(m) {
                Ok(m) => modifiers.push(m),
                Err(why) => c.fail(
                    format!("lines[{i}].modifiers[{j}]"),
                    format!("{} {why}", shown(m)),
                ),
            }
        }
        if !l.units.is_finite() || l.units < 0.0 {
            c.fail(at("units"), "must be a number, zero or more");
        } else if l.units > MAX_UNITS {
            c.fail(
                at("units"),
                format!("{} is more than the maximum of 99,999", l.units),
            );
        }
        if l.charge_cents < 0 {
            c.fail(at("charge_cents"), "must not be negative");
        } else if l.charge_cents > MAX_CHARGE_CENTS {
            c.fail(
                at("charge_cents"),
                "is more than the maximum of 10000000000 cents ($100,000,000.00) for one line",
            );
        }
        let service_date = c.date(&at("service_date"), &l.service_date, true);
        if let Some(d) = service_date {
            first_date = Some(first_date.map_or(d, |f: NaiveDate| f.min(d)));
        }
        let service_date_to = c.date(&at("service_date_to"), &l.service_date_to, false);
        if let (Some(from), Some(to)) = (service_date, service_date_to)
            && to < from
        {
            c.fail(at("service_date_to"), "is before service_date");
        }
        if l.diagnosis_pointers.len() > MAX_POINTERS {
            c.fail(
                at("diagnosis_pointers"),
                format!(
                    "has {} pointers; at most {MAX_POINTERS} are allowed",
                    l.diagnosis_pointers.len()
                ),
            );
        }
        for (j, p) in l.diagnosis_pointers.iter().enumerate() {
            if *p == 0 || *p as usize > diagnoses.len() {
                c.fail(
                    format!("lines[{i}].diagnosis_pointers[{j}]"),
                    format!(
                        "pointer {p} does not point at a diagnosis (the claim has {}; pointers start at 1)",
                        diagnoses.len()
                    ),
                );
            }
        }
        let line_pos = c.pos(&at("place_of_service"), &l.place_of_service);
        let revenue_code = l.revenue_code.trim();
        let revenue_code = if revenue_code.is_empty() {
            String::new()
        } else if (3..=4).contains(&revenue_code.len())
            && revenue_code.bytes().all(|b| b.is_ascii_digit())
        {
            format!("{revenue_code:0>4}")
        } else {
            c.fail(at("revenue_code"), "must be 4 digits (e.g. 0450)");
            String::new()
        };
        let ndc = l.ndc.trim().to_string();
        let ndc_digits = ndc.bytes().filter(u8::is_ascii_digit).count();
        if !ndc.is_empty()
            && (!(10..=11).contains(&ndc_digits)
                || !ndc.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        {
            c.fail(
                at("ndc"),
                "must be a 10- or 11-digit NDC (digits, hyphens allowed)",
            );
        }
        let line_rendering = c.provider(&at("rendering_provider"), l.rendering_provider.as_ref());
        lines.push(Line {
            number,
            procedure_code,
            modifiers,
            units: l.units,
            charge_cents: l.charge_cents,
            service_date: service_date.unwrap_or_default(),
            service_date_to,
            diagnosis_pointers: l.diagnosis_pointers.clone(),
            place_of_service: if line_pos.is_empty() {
                place_of_service.clone()
            } else {
                line_pos
            },
            revenue_code,
            ndc,
            rendering_provider: if line_rendering.npi.is_empty() {
                rendering_provider.clone()
            } else {
                line_rendering
            },
        });
    }
    if let Some(b) = birth_date
        && let Some(first) = first_date
        && b > first
    {
        c.fail("patient.birth_date", "is after the first date of service");
    }

    if c.unlisted > 0 {
        let more = c.unlisted;
        c.violations.push(FieldViolation {
            // The whole claim: no one field (the API reports it as `claim`).
            field: String::new(),
            description: format!(
                "{more} more problem{} not listed (only the first {MAX_VIOLATIONS} are)",
                if more == 1 { "" } else { "s" }
            ),
        });
    }
    if !c.violations.is_empty() {
        return Err(ValidationError {
            violations: c.violations,
        });
    }
    Ok(Claim {
        id,
        claim_type,
        payer_id,
        payer_type,
        birth_date,
        sex,
        billing_provider,
        rendering_provider,
        place_of_service,
        frequency_code,
        diagnoses,
        lines,
        submission_date,
        type_of_bill,
        prior_authorization,
        admission,
        locality,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn good() -> pb::Claim {
        pb::Claim {
            claim_id: "C1".into(),
            claim_type: pb::ClaimType::Professional as i32,
            diagnoses: vec![pb::Diagnosis {
                code: "e119".into(),
                present_on_admission: String::new(),
                code_system: String::new(),
            }],
            lines: vec![pb::ServiceLine {
                procedure_code: "99213".into(),
                units: 1.0,
                charge_cents: 12_000,
                service_date: "2024-07-15".into(),
                diagnosis_pointers: vec![1],
                modifiers: vec!["25".into()],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn fields(claim: &pb::Claim) -> Vec<String> {
        validate(claim, Limits::default())
            .unwrap_err()
            .violations
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn good_claim_is_normalised() {
        let c = validate(&good(), Limits::default()).unwrap();
        assert_eq!(c.diagnoses[0].code, "E11.9");
        assert_eq!(c.lines[0].number, 1);
        assert_eq!(c.first_service_date().to_string(), "2024-07-15");
    }

    #[test]
    fn pointer_outside_diagnoses_names_the_field() {
        let mut c = good();
        c.lines[0].diagnosis_pointers = vec![1, 3];
        assert_eq!(fields(&c), ["lines[0].diagnosis_pointers[1]"]);
    }

    #[test]
    fn every_problem_is_reported() {
        let mut c = good();
        c.claim_id.clear();
        c.lines[0].service_date = "2024-13-01".into();
        c.lines[0].procedure_code = "ABCDE".into();
        c.lines[0].modifiers.push("5".into());
        assert_eq!(
            fields(&c),
            [
                "claim_id",
                "lines[0].procedure_code",
                "lines[0].modifiers[1]",
                "lines[0].service_date"
            ]
        );
    }

    #[test]
    fn limits_apply() {
        let mut c = good();
        c.lines = vec![c.lines[0].clone(); 3];
        for (i, l) in c.lines.iter_mut().enumerate() {
            l.line_number = i as u32 + 1;
        }
        let err = validate(
            &c,
            Limits {
                max_lines: 2,
                max_string_len: 64,
            },
        )
        .unwrap_err();
        assert_eq!(err.field(), "lines");
        c.claim_id = "x".repeat(65);
        assert_eq!(fields(&c), ["claim_id"]);
    }

    #[test]
    fn no_lines_and_duplicate_numbers() {
        let mut c = good();
        c.lines.clear();
        assert_eq!(fields(&c), ["lines"]);
        let mut c = good();
        c.lines = vec![c.lines[0].clone(), c.lines[0].clone()];
        c.lines[0].line_number = 4;
        c.lines[1].line_number = 4;
        assert_eq!(fields(&c), ["lines[1].line_number"]);
    }

    #[test]
    fn units_and_charges() {
        let mut c = good();
        c.lines[0].units = f64::NAN;
        c.lines[0].charge_cents = -1;
        assert_eq!(fields(&c), ["lines[0].units", "lines[0].charge_cents"]);
        let mut c = good();
        c.lines[0].units = 0.0;
        assert!(
            validate(&c, Limits::default()).is_ok(),
            "zero units is an edit, not an error"
        );
    }

    #[test]
    fn charges_have_an_upper_bound() {
        let mut c = good();
        c.lines[0].charge_cents = i64::MAX;
        assert_eq!(fields(&c), ["lines[0].charge_cents"]);
        c.lines[0].charge_cents = MAX_CHARGE_CENTS;
        assert!(validate(&c, Limits::default()).is_ok());
    }

    #[test]
    fn violations_are_capped_with_a_count_of_the_rest() {
        let mut c = good();
        let line = c.lines[0].clone();
        c.lines = (1..=200)
            .map(|n| pb::ServiceLine {
                line_number: n,
                units: -1.0,
                charge_cents: -1,
                ..line.clone()
            })
            .collect();
        let e = validate(&c, Limits::default()).unwrap_err();
        assert_eq!(e.violations.len(), MAX_VIOLATIONS + 1);
        let last = e.violations.last().unwrap();
        assert_eq!(last.field, "");
        assert!(
            last.description.starts_with("350 more problems not listed"),
            "{}",
            last.description
        );
    }
}
