//! The parts of FHIR R4 (4.0.1) resources that claimscrub reads, as serde types. Elements not
//! listed here are ignored (FHIR allows many; none of them changes an edit), and every element
//! is optional here: what a claim needs is checked by the mapper and the claim validation,
//! which name the FHIR path. Spec: <https://hl7.org/fhir/R4/claim.html>.

use serde::Deserialize;

/// A coding: a code from a code system.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Coding {
    /// The code system's URI.
    pub system: String,
    /// The code.
    pub code: String,
}

/// A concept as one or more codings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CodeableConcept {
    /// The codings.
    pub coding: Vec<Coding>,
}

/// An identifier (an NPI, a payer id, a claim number).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Identifier {
    /// The namespace URI (`http://hl7.org/fhir/sid/us-npi` for an NPI).
    pub system: String,
    /// The value.
    pub value: String,
}

/// A reference to another resource: literal (`"#p1"`, `"Patient/1"`, a full URL) or logical
/// (an identifier).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Reference {
    /// The literal reference.
    pub reference: String,
    /// The logical reference.
    pub identifier: Option<Identifier>,
}

/// A period of time.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Period {
    /// Start (date or dateTime).
    pub start: String,
    /// End (date or dateTime).
    pub end: String,
}

/// An amount of money (FHIR `decimal`, read as JSON numbers).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Money {
    /// The amount.
    pub value: Option<f64>,
}

/// A quantity; claimscrub reads its value only.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Quantity {
    /// The value.
    pub value: Option<f64>,
}

/// `Claim.careTeam`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CareTeam {
    /// The member's sequence number (what items point at).
    pub sequence: u32,
    /// The practitioner or organization.
    pub provider: Reference,
    /// Rendering, primary, assisting, supervising, ...
    pub role: Option<CodeableConcept>,
}

/// `Claim.supportingInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SupportingInfo {
    /// What the information is (`typeofbill`, `admissionperiod`, ...).
    pub category: CodeableConcept,
    /// Its code, when it is one.
    pub code: Option<CodeableConcept>,
}

/// `Claim.diagnosis`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Diagnosis {
    /// Sequence number (what `item.diagnosisSequence` points at).
    pub sequence: u32,
    /// The diagnosis as a code.
    pub diagnosis_codeable_concept: Option<CodeableConcept>,
    /// The diagnosis as a reference to a Condition.
    pub diagnosis_reference: Option<Reference>,
    /// Present on admission.
    pub on_admission: Option<CodeableConcept>,
}

/// `Claim.insurance`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Insurance {
    /// True for the coverage this claim is adjudicated under.
    pub focal: bool,
    /// The Coverage.
    pub coverage: Reference,
    /// Prior authorization numbers.
    pub pre_auth_ref: Vec<String>,
}

/// `Claim.item`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Item {
    /// Item number.
    pub sequence: u32,
    /// Care team members for this item (sequence numbers).
    pub care_team_sequence: Vec<u32>,
    /// Diagnoses for this item (sequence numbers).
    pub diagnosis_sequence: Vec<u32>,
    /// Revenue code (institutional).
    pub revenue: Option<CodeableConcept>,
    /// The procedure (CPT / HCPCS).
    pub product_or_service: Option<CodeableConcept>,
    /// Modifiers.
    pub modifier: Vec<CodeableConcept>,
    /// Date of service.
    pub serviced_date: String,
    /// Dates of service.
    pub serviced_period: Option<Period>,
    /// Place of service.
    pub location_codeable_concept: Option<CodeableConcept>,
    /// Units.
    pub quantity: Option<Quantity>,
    /// Fee per unit.
    pub unit_price: Option<Money>,
    /// Price scaling factor.
    pub factor: Option<f64>,
    /// Total for the item.
    pub net: Option<Money>,
}

/// A `Claim` resource.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Claim {
    /// Logical id.
    pub id: String,
    /// Business identifiers (the claim number).
    pub identifier: Vec<Identifier>,
    /// Resources held inside the claim (`"#id"` references).
    pub contained: Vec<serde_json::Value>,
    /// Institutional, professional, oral, pharmacy, vision.
    #[serde(rename = "type")]
    pub claim_type: CodeableConcept,
    /// More detail (the type of bill for institutional claims in the base examples).
    pub sub_type: Option<CodeableConcept>,
    /// The patient.
    pub patient: Reference,
    /// Billing period.
    pub billable_period: Option<Period>,
    /// When the claim was created.
    pub created: String,
    /// The payer.
    pub insurer: Option<Reference>,
    /// The billing provider.
    pub provider: Option<Reference>,
    /// Care team.
    pub care_team: Vec<CareTeam>,
    /// Supporting information.
    pub supporting_info: Vec<SupportingInfo>,
    /// Diagnoses.
    pub diagnosis: Vec<Diagnosis>,
    /// Coverages.
    pub insurance: Vec<Insurance>,
    /// Service lines.
    pub item: Vec<Item>,
}

/// A `Patient`, reduced to what the edits need.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Patient {
    /// Date of birth (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`).
    pub birth_date: String,
    /// male | female | other | unknown.
    pub gender: String,
}

/// A `Coverage`: who pays, and what kind of plan.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Coverage {
    /// The kind of plan (Source of Payment Typology, when coded so).
    #[serde(rename = "type")]
    pub coverage_type: Option<CodeableConcept>,
    /// The payer(s).
    pub payor: Vec<Reference>,
    /// The subscriber's member id (only for the patient key; never kept in the clear).
    pub subscriber_id: String,
}

/// An `Organization`, `Practitioner` or `PractitionerRole`: its identifiers (the NPI).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Party {
    /// Identifiers.
    pub identifier: Vec<Identifier>,
    /// For a PractitionerRole: the practitioner.
    pub practitioner: Option<Reference>,
}

/// A `Condition`: its code.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    /// The diagnosis code.
    pub code: Option<CodeableConcept>,
}
