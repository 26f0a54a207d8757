//! The validated claim: the domain type every other layer works with.
//!
//! A [`Claim`] is built once at the edge from the wire type ([`validate::validate`]) and is
//! known-good afterwards: codes are upper-cased and in canonical form, dates are parsed, line
//! numbers are unique, and diagnosis pointers point at existing diagnoses. Clinically wrong but
//! well-formed claims are valid: finding those problems is the rules' job.

pub mod codes;
pub mod dates;
pub mod json;
pub mod validate;

use chrono::NaiveDate;

pub use validate::{FieldViolation, Limits, ValidationError};

/// Claim form type; decides which CMS edit tables apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimType {
    /// 837P / CMS-1500 (practitioner edits).
    Professional,
    /// 837I / UB-04 (outpatient hospital edits).
    Institutional,
}

impl ClaimType {
    /// The lower-case name rules see (`"professional"` / `"institutional"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimType::Professional => "professional",
            ClaimType::Institutional => "institutional",
        }
    }
}

/// Broad payer category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayerType {
    /// Medicare fee-for-service.
    Medicare,
    /// A state Medicaid program.
    Medicaid,
    /// Commercial insurance (including Medicare Advantage).
    Commercial,
    /// Anything else.
    Other,
}

impl PayerType {
    /// The lower-case name rules see (`"medicare"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PayerType::Medicare => "medicare",
            PayerType::Medicaid => "medicaid",
            PayerType::Commercial => "commercial",
            PayerType::Other => "other",
        }
    }
}

/// Administrative sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Unknown or not reported.
    Unknown,
}

impl Sex {
    /// The lower-case name rules see (`"female"`, `"male"`, `"unknown"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Unknown => "unknown",
        }
    }
}

/// A provider reference (NPI syntax checked: empty or ten digits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provider {
    /// Ten-digit NPI, or empty when not given.
    pub npi: String,
    /// Taxonomy code, or empty.
    pub taxonomy: String,
}

/// One diagnosis, in canonical dotted ICD-10-CM form (e.g. `E11.9`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// Dotted, upper-case code (`E11.9`; three-character categories have no dot).
    pub code: String,
    /// Present-on-admission indicator, upper-case, or empty.
    pub present_on_admission: String,
    /// True for an ICD-9-CM code (sent with `code_system: "icd9cm"`): kept as sent.
    pub icd9: bool,
}

/// One validated service line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Unique line number (the sender's, or the 1-based position when none was sent).
    pub number: u32,
    /// Upper-case CPT/HCPCS code.
    pub procedure_code: String,
    /// Upper-case two-character modifiers, in claim order.
    pub modifiers: Vec<String>,
    /// Units of service (finite, not negative).
    pub units: f64,
    /// Charge in cents (not negative).
    pub charge_cents: i64,
    /// Date of service ("from" date).
    pub service_date: NaiveDate,
    /// Optional "to" date (never before `service_date`).
    pub service_date_to: Option<NaiveDate>,
    /// 1-based diagnosis pointers, each within the claim's diagnoses.
    pub diagnosis_pointers: Vec<u32>,
    /// Effective place of service: the line's, else the claim's (may be empty).
    pub place_of_service: String,
    /// Four-digit revenue code, or empty.
    pub revenue_code: String,
    /// NDC as sent (digits and hyphens), or empty.
    pub ndc: String,
    /// Effective rendering provider: the line's, else the claim's.
    pub rendering_provider: Provider,
}

#[cfg(test)]
impl Line {
    /// A one-unit, $1.00 line on 2024-07-01 with one diagnosis pointer, for unit tests.
    pub fn for_test(code: &str, modifiers: &[&str]) -> Self {
        Self {
            number: 1,
            procedure_code: code.into(),
            modifiers: modifiers.iter().map(|m| m.to_string()).collect(),
            units: 1.0,
            charge_cents: 100,
            service_date: NaiveDate::from_ymd_opt(2024, 7, 1).expect("valid date"),
            service_date_to: None,
            diagnosis_pointers: vec![1],
            place_of_service: "11".into(),
            revenue_code: String::new(),
            ndc: String::new(),
            rendering_provider: Provider::default(),
        }
    }
}

/// A validated claim. See the module docs for what "validated" guarantees.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Sender's claim identifier (safe to log).
    pub id: String,
    /// Professional or institutional.
    pub claim_type: ClaimType,
    /// Payer identifier, or empty.
    pub payer_id: String,
    /// Payer category.
    pub payer_type: PayerType,
    /// Date of birth (PHI: never logged or returned).
    pub birth_date: Option<NaiveDate>,
    /// Administrative sex.
    pub sex: Sex,
    /// Billing provider.
    pub billing_provider: Provider,
    /// Claim-level rendering provider.
    pub rendering_provider: Provider,
    /// Claim-level place of service, or empty.
    pub place_of_service: String,
    /// Claim frequency code, or empty.
    pub frequency_code: String,
    /// Diagnoses; the first is principal.
    pub diagnoses: Vec<Diagnosis>,
    /// Service lines (at least one).
    pub lines: Vec<Line>,
    /// Submission date, when given.
    pub submission_date: Option<NaiveDate>,
    /// Institutional type of bill, or empty.
    pub type_of_bill: String,
    /// Prior authorization number, or empty.
    pub prior_authorization: String,
    /// Institutional admission type, point of origin and discharge status (UB-04 FL 14, 15,
    /// 17), or empty.
    pub admission: Admission,
    /// Fee schedule locality, or empty.
    pub locality: String,
}

impl Claim {
    /// The diagnoses a line is billed for: the ones its pointers name; on an institutional
    /// claim, whose lines carry no pointers (837I SV2 has none), every diagnosis of the claim
    /// applies to every line (X12 005010X223A2, loop 2300 HI).
    pub fn line_diagnoses<'a>(&'a self, line: &'a Line) -> impl Iterator<Item = &'a Diagnosis> {
        self.line_diagnosis_positions(line)
            .filter_map(|i| self.diagnoses.get(i))
    }

    /// The 0-based positions in `diagnoses` of [`Claim::line_diagnoses`].
    pub fn line_diagnosis_positions<'a>(
        &'a self,
        line: &'a Line,
    ) -> impl Iterator<Item = usize> + 'a {
        let all = self.claim_type == ClaimType::Institutional && line.diagnosis_pointers.is_empty();
        let pointed = line
            .diagnosis_pointers
            .iter()
            .map(|p| (*p as usize).wrapping_sub(1));
        (0..if all { self.diagnoses.len() } else { 0 }).chain(pointed)
    }

    /// The earliest date of service on the claim (claims always have a line).
    pub fn first_service_date(&self) -> NaiveDate {
        self.lines
            .iter()
            .map(|l| l.service_date)
            .min()
            .expect("a validated claim has at least one line")
    }

    /// True for a professional claim billed by a DME supplier (to a DME MAC): the billing
    /// provider's taxonomy is in the NUCC "Suppliers" DMEPOS group — 332B00000X Durable
    /// Medical Equipment & Medical Supplies and its specialisations (332BC3200X, 332BD1200X,
    /// 332BN1400X, 332BP3500X, 332BX2000X) or 335E00000X Prosthetic/Orthotic Supplier. DME
    /// billed by a practitioner or a hospital is not a supplier claim.
    pub fn is_dme_supplier(&self) -> bool {
        let t = self.billing_provider.taxonomy.trim();
        self.claim_type == ClaimType::Professional
            && (t.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("332B"))
                || t.eq_ignore_ascii_case("335E00000X"))
    }

    /// The type of bill without its leading zero (`0111` → `111`), trimmed; empty on a
    /// professional claim.
    pub fn bill_type(&self) -> &str {
        let tob = self.type_of_bill.trim();
        if tob.len() == 4 {
            tob.strip_prefix('0').unwrap_or(tob)
        } else {
            tob
        }
    }

    /// The date that decides which fiscal year's ICD-10-CM code set (and MCE lists) a claim is
    /// judged by: the discharge ("through") date of a hospital inpatient claim (type of bill
    /// 11x), which takes the code set in force on the discharge date even when the stay began
    /// in the previous fiscal year; the first date of service otherwise (claims for other
    /// services that span 1 October are split by date of service). CMS MLN Matters SE1325/
    /// SE1408, "Institutional Providers: Medicare Fee-for-Service Billing for Split Claims".
    pub fn code_set_date(&self) -> NaiveDate {
        if self.claim_type == ClaimType::Institutional && self.bill_type().starts_with("11") {
            self.last_service_date()
        } else {
            self.first_service_date()
        }
    }

    /// The latest date of service on the claim, counting "to" dates.
    pub fn last_service_date(&self) -> NaiveDate {
        self.lines
            .iter()
            .map(|l| l.service_date_to.unwrap_or(l.service_date))
            .max()
            .expect("a validated claim has at least one line")
    }

    /// Groups (of two or more line numbers) of exact duplicate lines: same code, modifiers,
    /// dates, units, charge, place of service and rendering provider.
    pub fn duplicate_line_groups(&self) -> Vec<Vec<u32>> {
        type Key<'a> = (
            &'a str,
            &'a Vec<String>,
            NaiveDate,
            Option<NaiveDate>,
            u64,
            i64,
            &'a str,
            &'a str,
        );
        fn key(l: &Line) -> Key<'_> {
            (
                l.procedure_code.as_str(),
                &l.modifiers,
                l.service_date,
                l.service_date_to,
                l.units.to_bits(),
                l.charge_cents,
                l.place_of_service.as_str(),
                l.rendering_provider.npi.as_str(),
            )
        }
        // Sorting line positions by key puts duplicates next to each other (a stable sort
        // keeps them in line order): n log n comparisons, no hashing or per-line allocation.
        let mut order: Vec<usize> = (0..self.lines.len()).collect();
        order.sort_by(|a, b| key(&self.lines[*a]).cmp(&key(&self.lines[*b])));
        let mut runs: Vec<&[usize]> = order
            .chunk_by(|a, b| key(&self.lines[*a]) == key(&self.lines[*b]))
            .filter(|run| run.len() > 1)
            .collect();
        runs.sort_by_key(|run| run[0]);
        runs.iter()
            .map(|run| run.iter().map(|i| self.lines[*i].number).collect())
            .collect()
    }

    /// The patient's age in whole years on `date`, if the birth date is known.
    pub fn patient_age_on(&self, date: NaiveDate) -> Option<u32> {
        self.birth_date.and_then(|b| date.years_since(b))
    }
}

/// An institutional claim's admission codes (837I CL1), as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Admission {
    /// Admission type (CL1-01).
    pub admission_type: String,
    /// Point of origin for admission (CL1-02).
    pub source: String,
    /// Patient discharge status (CL1-03).
    pub patient_status: String,
}
