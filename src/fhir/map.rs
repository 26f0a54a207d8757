//! FHIR R4 `Claim` → claimscrub claim, keeping the FHIR path of every part so findings can
//! point back at `Claim.item[2].modifier[0]`. References are resolved inside the Claim
//! (`contained`, `"#id"`) and, for a Claim in a Bundle, among the Bundle's entries (by
//! `fullUrl` or `Type/id`). What cannot be mapped (a code from another code system, a
//! diagnosis sequence no diagnosis has) is a problem named by its FHIR path: the claim is then
//! not scrubbed, and the other claims of the Bundle still are.

use serde_json::Value;

use super::model::{self, CodeableConcept, Reference};
use crate::money::parse_decimal;
use crate::proto::v1 as pb;

/// ICD-10-CM (<http://hl7.org/fhir/sid/icd-10-cm>). The WHO ICD-10 URI is accepted as well:
/// US senders use it for ICD-10-CM codes (the R4 example `Claim-MED-00050` does).
const ICD10: &[&str] = &[
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://hl7.org/fhir/sid/icd-10",
    "urn:oid:2.16.840.1.113883.6.90",
];
/// ICD-9-CM, mapped with `code_system: "icd9cm"` and reported by the icd10-validity edit.
const ICD9: &[&str] = &[
    "http://hl7.org/fhir/sid/icd-9-cm",
    "http://terminology.hl7.org/CodeSystem/icd9cm",
    "http://hl7.org/fhir/sid/icd-9",
    "urn:oid:2.16.840.1.113883.6.103",
];
/// CPT (<http://www.ama-assn.org/go/cpt>) and HCPCS Level II (CARIN Blue Button spells it
/// with https, HL7 terminology with http; US Core uses the OID).
const PROCEDURES: &[&str] = &[
    "http://www.ama-assn.org/go/cpt",
    "urn:oid:2.16.840.1.113883.6.12",
    "https://www.cms.gov/medicare/coding/hcpcsreleasecodesets",
    "http://www.cms.gov/medicare/coding/hcpcsreleasecodesets",
    "urn:oid:2.16.840.1.113883.6.285",
    "urn:oid:2.16.840.1.113883.6.14",
];
/// The National Provider Identifier namespace.
const NPI: &[&str] = &[
    "http://hl7.org/fhir/sid/us-npi",
    "urn:oid:2.16.840.1.113883.4.6",
];
/// The Source of Payment Typology (payer categories), <https://nahdo.org/sopt>.
const SOPT: &[&str] = &[
    "https://nahdo.org/sopt",
    "urn:oid:2.16.840.1.113883.3.221.5",
];

fn is(system: &str, list: &[&str]) -> bool {
    let s = system.trim().trim_end_matches('/').to_ascii_lowercase();
    list.iter().any(|x| *x == s)
}

/// Where one line came from.
#[derive(Debug, Clone, Default)]
pub struct LineSpots {
    /// Index in `Claim.item`.
    pub item: usize,
    /// `servicedDate`, `servicedPeriod` or, when the claim's billable period gave the date,
    /// "" (the date is then located at `Claim.billablePeriod`).
    pub date: &'static str,
}

/// Where a claim's parts came from.
#[derive(Debug, Clone, Default)]
pub struct ClaimSpots {
    /// The Claim's own path: `Claim`, or `Bundle.entry[3].resource` in a Bundle.
    pub resource: String,
    /// Each mapped diagnosis: its `Claim.diagnosis` path.
    pub diagnoses: Vec<String>,
    /// Each line, in order.
    pub lines: Vec<LineSpots>,
    /// Claim-level fields: the claim field (`billing_provider`) and its FHIR path.
    pub fields: Vec<(&'static str, String)>,
}

/// One claim read from FHIR: the claim as far as it maps, what did not map, and where its
/// parts are.
#[derive(Debug, Clone, Default)]
pub struct ReadClaim {
    /// `Claim.identifier[0].value`, else `Claim.id`.
    pub claim_id: String,
    /// The claim.
    pub claim: pb::Claim,
    /// What did not map: (FHIR path, problem). The claim is not scrubbed when any.
    pub problems: Vec<(String, String)>,
    /// Where its parts are.
    pub spots: ClaimSpots,
}

/// Resources a reference can point at: the Claim's contained resources and the Bundle's
/// entries.
pub struct Resolver<'a> {
    contained: &'a [Value],
    /// (fullUrl, resource) of each Bundle entry.
    bundle: &'a [(String, Value)],
}

impl<'a> Resolver<'a> {
    /// References resolved in `contained`, then in `bundle`.
    pub fn new(contained: &'a [Value], bundle: &'a [(String, Value)]) -> Self {
        Self { contained, bundle }
    }

    /// The resource `r` refers to, when it is here.
    fn get(&self, r: &Reference) -> Option<&'a Value> {
        let target = r.reference.trim();
        if target.is_empty() {
            return None;
        }
        if let Some(id) = target.strip_prefix('#') {
            return self
                .contained
                .iter()
                .find(|v| v.get("id").and_then(Value::as_str) == Some(id));
        }
        self.bundle
            .iter()
            .map(|(_, v)| v)
            .find(|v| {
                let typed = format!(
                    "{}/{}",
                    v.get("resourceType").and_then(Value::as_str).unwrap_or(""),
                    v.get("id").and_then(Value::as_str).unwrap_or("")
                );
                typed == target || target.ends_with(&format!("/{typed}"))
            })
            .or_else(|| {
                self.bundle
                    .iter()
                    .find(|(url, _)| !url.is_empty() && url == target)
                    .map(|(_, v)| v)
            })
    }

    /// The resource `r` refers to, read as `T` (a malformed one reads as `None`).
    fn read<T: serde::de::DeserializeOwned>(&self, r: &Reference) -> Option<T> {
        self.get(r).and_then(|v| T::deserialize(v).ok())
    }

    /// The NPI of the practitioner or organization `r` refers to (or names by identifier).
    fn npi(&self, r: &Reference) -> String {
        if let Some(id) = &r.identifier
            && is(&id.system, NPI)
        {
            return id.value.trim().to_string();
        }
        let Some(party) = self.read::<model::Party>(r) else {
            return String::new();
        };
        if let Some(id) = party.identifier.iter().find(|i| is(&i.system, NPI)) {
            return id.value.trim().to_string();
        }
        // A PractitionerRole: its practitioner's NPI.
        party
            .practitioner
            .as_ref()
            .filter(|p| !p.reference.is_empty())
            .map(|p| self.npi(p))
            .unwrap_or_default()
    }
}

/// The first 10 characters of a FHIR date or dateTime when they are a full date.
fn day(text: &str) -> Option<String> {
    let t = text.trim();
    let d = t.get(..10)?;
    let b = d.as_bytes();
    (b[4] == b'-' && b[7] == b'-' && d.bytes().filter(u8::is_ascii_digit).count() == 8)
        .then(|| d.to_string())
}

fn first_code(c: &Option<CodeableConcept>) -> String {
    c.as_ref()
        .and_then(|c| c.coding.first())
        .map(|c| c.code.trim().to_string())
        .unwrap_or_default()
}

/// Cents from a FHIR decimal (JSON number), rounded half away from zero.
fn cents(value: f64) -> Option<i64> {
    parse_decimal(&format!("{value:.2}"), 2)
}

/// The payer category from a Coverage type coded in the Source of Payment Typology: 1
/// Medicare (11x Medicare managed care: Medicare Advantage, which claimscrub counts as
/// commercial), 2 Medicaid, 5/6/7 private, BCBS and managed care plans, others other.
fn payer_type(c: &Option<CodeableConcept>) -> i32 {
    let Some(code) = c
        .as_ref()
        .and_then(|c| c.coding.iter().find(|x| is(&x.system, SOPT)))
        .map(|x| x.code.trim())
    else {
        return pb::PayerType::Unspecified as i32;
    };
    (match code.as_bytes() {
        [b'1', b'1', ..] => pb::PayerType::Commercial,
        [b'1', ..] => pb::PayerType::Medicare,
        [b'2', ..] => pb::PayerType::Medicaid,
        [b'5' | b'6' | b'7', ..] => pb::PayerType::Commercial,
        _ => pb::PayerType::Other,
    }) as i32
}

/// Reads one Claim (`claim`, at `resource` in the request) with references resolved by
/// `resolver`.
pub fn read(claim: &model::Claim, resource: &str, resolver: &Resolver) -> ReadClaim {
    let mut out = ReadClaim {
        claim_id: claim
            .identifier
            .iter()
            .map(|i| i.value.trim())
            .find(|v| !v.is_empty())
            .unwrap_or(claim.id.trim())
            .to_string(),
        ..Default::default()
    };
    out.spots.resource = resource.to_string();
    let mut problem = |path: String, message: String| out.problems.push((path, message));
    let c = &mut out.claim;
    c.claim_id = out.claim_id.clone();
    if c.claim_id.is_empty() {
        problem(
            "Claim.identifier".into(),
            "the claim has neither an identifier nor an id".into(),
        );
    }
    let fields = &mut out.spots.fields;
    fields.push(("claim_id", "Claim.identifier[0]".into()));

    // Type: professional and vision claims are 837P-like, institutional 837I.
    let kind = claim
        .claim_type
        .coding
        .first()
        .map(|x| x.code.trim().to_ascii_lowercase())
        .unwrap_or_default();
    c.claim_type = match kind.as_str() {
        "institutional" => pb::ClaimType::Institutional as i32,
        "professional" | "vision" | "" => pb::ClaimType::Professional as i32,
        other => {
            problem(
                "Claim.type".into(),
                format!(
                    "the claim type is {other:?}: claimscrub edits professional and institutional claims (837P / 837I); dental and pharmacy claims are not scrubbed"
                ),
            );
            pb::ClaimType::Professional as i32
        }
    };
    fields.push(("claim_type", "Claim.type".into()));

    // Type of bill: Claim.subType coded as a type of bill, or supportingInfo "typeofbill".
    let tob = claim
        .sub_type
        .iter()
        .flat_map(|s| &s.coding)
        .find(|x| {
            let s = x.system.to_ascii_lowercase();
            s.contains("billtype") || s.contains("typeofbill")
        })
        .map(|x| (x.code.trim().to_string(), "Claim.subType".to_string()))
        .or_else(|| {
            claim.supporting_info.iter().enumerate().find_map(|(i, s)| {
                s.category
                    .coding
                    .iter()
                    .any(|x| x.code.eq_ignore_ascii_case("typeofbill"))
                    .then(|| {
                        (
                            first_code(&s.code),
                            format!("Claim.supportingInfo[{i}].code"),
                        )
                    })
            })
        });
    if let Some((code, path)) = tob
        && c.claim_type == pb::ClaimType::Institutional as i32
    {
        c.type_of_bill = if code.len() == 3 {
            format!("0{code}")
        } else {
            code
        };
        c.frequency_code = c
            .type_of_bill
            .chars()
            .last()
            .map(String::from)
            .unwrap_or_default();
        fields.push(("type_of_bill", path.clone()));
        fields.push(("frequency_code", path));
    }

    // Discharge status (supportingInfo "discharge", as in the R4 examples and CARIN's
    // "discharge-status"), admission type and source (CARIN "admtype", "pointoforigin").
    for (i, info) in claim.supporting_info.iter().enumerate() {
        let category = info
            .category
            .coding
            .first()
            .map(|x| x.code.to_ascii_lowercase())
            .unwrap_or_default();
        let (target, field) = match category.as_str() {
            "discharge" | "discharge-status" => (&mut c.patient_status, "patient_status"),
            "admtype" => (&mut c.admission_type, "admission_type"),
            "pointoforigin" => (&mut c.admission_source, "admission_source"),
            _ => continue,
        };
        *target = first_code(&info.code);
        fields.push((field, format!("Claim.supportingInfo[{i}].code")));
    }

    // Dates.
    c.submission_date = day(&claim.created).unwrap_or_default();
    fields.push(("submission_date", "Claim.created".into()));
    let billable = claim.billable_period.clone().unwrap_or_default();

    // The patient.
    if let Some(p) = resolver.read::<model::Patient>(&claim.patient) {
        c.patient = Some(pb::Patient {
            birth_date: day(&p.birth_date).unwrap_or_default(),
            sex: (match p.gender.as_str() {
                "female" => pb::Sex::Female,
                "male" => pb::Sex::Male,
                _ => pb::Sex::Unknown,
            }) as i32,
            member_id: String::new(),
        });
    }
    fields.push(("patient", "Claim.patient".into()));

    // Payer: the focal coverage (else the first), its payor; else Claim.insurer.
    let focal = claim
        .insurance
        .iter()
        .position(|i| i.focal)
        .or((!claim.insurance.is_empty()).then_some(0));
    let mut payer = pb::Payer::default();
    if let Some(k) = focal {
        let ins = &claim.insurance[k];
        if let Some(cov) = resolver.read::<model::Coverage>(&ins.coverage) {
            payer.r#type = payer_type(&cov.coverage_type);
            if let Some(p) = c.patient.as_mut() {
                p.member_id = cov.subscriber_id.trim().to_string();
            }
            if let Some(p) = cov.payor.first() {
                payer.payer_id = p
                    .identifier
                    .as_ref()
                    .map(|i| i.value.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .or_else(|| {
                        resolver
                            .read::<model::Party>(p)
                            .and_then(|o| o.identifier.first().map(|i| i.value.trim().to_string()))
                    })
                    .unwrap_or_default();
            }
        }
        if let Some(a) = ins.pre_auth_ref.first() {
            c.prior_authorization = a.trim().to_string();
            fields.push((
                "prior_authorization",
                format!("Claim.insurance[{k}].preAuthRef[0]"),
            ));
        }
        fields.push(("payer", format!("Claim.insurance[{k}].coverage")));
    }
    if payer.payer_id.is_empty()
        && let Some(i) = &claim.insurer
    {
        payer.payer_id = i
            .identifier
            .as_ref()
            .map(|i| i.value.trim().to_string())
            .unwrap_or_default();
        fields.push(("payer", "Claim.insurer".into()));
    }
    c.payer = Some(payer);

    // Providers: Claim.provider bills; the care team's rendering (or primary) member renders.
    if let Some(p) = &claim.provider {
        c.billing_provider = Some(pb::Provider {
            npi: resolver.npi(p),
            taxonomy: String::new(),
        });
        fields.push(("billing_provider", "Claim.provider".into()));
    }
    let renders = |m: &model::CareTeam| {
        m.role.as_ref().is_some_and(|r| {
            r.coding
                .iter()
                .any(|x| matches!(x.code.as_str(), "rendering" | "primary"))
        })
    };
    let rendering = claim.care_team.iter().position(renders);
    if let Some(k) = rendering {
        let npi = resolver.npi(&claim.care_team[k].provider);
        if !npi.is_empty() {
            c.rendering_provider = Some(pb::Provider {
                npi,
                taxonomy: String::new(),
            });
        }
        fields.push((
            "rendering_provider",
            format!("Claim.careTeam[{k}].provider"),
        ));
    }

    // Diagnoses, in sequence order.
    let mut order: Vec<usize> = (0..claim.diagnosis.len()).collect();
    order.sort_by_key(|i| claim.diagnosis[*i].sequence);
    for &i in &order {
        let d = &claim.diagnosis[i];
        let (concept, path) = match (&d.diagnosis_codeable_concept, &d.diagnosis_reference) {
            (Some(cc), _) => (
                Some(cc.clone()),
                format!("Claim.diagnosis[{i}].diagnosisCodeableConcept"),
            ),
            (None, Some(r)) => (
                resolver.read::<model::Condition>(r).and_then(|x| x.code),
                format!("Claim.diagnosis[{i}].diagnosisReference"),
            ),
            (None, None) => (None, format!("Claim.diagnosis[{i}]")),
        };
        let codings = concept.map(|c| c.coding).unwrap_or_default();
        let pick = codings
            .iter()
            .find(|x| is(&x.system, ICD10) || is(&x.system, ICD9))
            .or_else(|| codings.iter().find(|x| x.system.trim().is_empty()));
        let code_system = match pick {
            Some(x) if is(&x.system, ICD9) => "icd9cm",
            _ => "",
        };
        match pick {
            Some(x) => c.diagnoses.push(pb::Diagnosis {
                code: x.code.trim().to_string(),
                present_on_admission: first_code(&d.on_admission).to_ascii_uppercase(),
                code_system: code_system.into(),
            }),
            None => {
                let systems: Vec<&str> = codings.iter().map(|x| x.system.as_str()).collect();
                problem(
                    path.clone(),
                    if systems.is_empty() {
                        "no diagnosis code (a diagnosisReference must resolve to a Condition in the claim or the Bundle)".into()
                    } else {
                        format!(
                            "no ICD-10-CM code (http://hl7.org/fhir/sid/icd-10-cm) or ICD-9-CM code; the codings are from {}",
                            systems.join(", ")
                        )
                    },
                );
                c.diagnoses.push(pb::Diagnosis::default());
            }
        }
        out.spots.diagnoses.push(path);
    }
    let pointer = |seq: u32| {
        order
            .iter()
            .position(|i| claim.diagnosis[*i].sequence == seq)
    };

    // Lines.
    for (i, item) in claim.item.iter().enumerate() {
        let at = format!("Claim.item[{i}]");
        let mut line = pb::ServiceLine {
            line_number: item.sequence,
            ..Default::default()
        };
        let codings = item
            .product_or_service
            .as_ref()
            .map(|c| c.coding.clone())
            .unwrap_or_default();
        let pick = codings
            .iter()
            .find(|x| is(&x.system, PROCEDURES))
            .or_else(|| codings.iter().find(|x| x.system.trim().is_empty()));
        match pick {
            Some(x) => line.procedure_code = x.code.trim().to_string(),
            None => match codings.first() {
                Some(x) => {
                    line.procedure_code = x.code.trim().to_string();
                    problem(
                        format!("{at}.productOrService"),
                        format!(
                            "{:?} is from {}; claimscrub edits CPT (http://www.ama-assn.org/go/cpt) and HCPCS (https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets) codes",
                            x.code, x.system
                        ),
                    );
                }
                None => problem(
                    format!("{at}.productOrService"),
                    "the item has no procedure code".into(),
                ),
            },
        }
        line.modifiers = item
            .modifier
            .iter()
            .map(|m| {
                m.coding
                    .first()
                    .map(|x| x.code.trim().to_string())
                    .unwrap_or_default()
            })
            .collect();
        line.revenue_code = first_code(&item.revenue);
        line.place_of_service = first_code(&item.location_codeable_concept);
        let quantity = item.quantity.as_ref().and_then(|q| q.value);
        line.units = quantity.unwrap_or(1.0);
        let charge = item.net.as_ref().and_then(|m| m.value).or_else(|| {
            item.unit_price
                .as_ref()
                .and_then(|m| m.value)
                .map(|p| p * quantity.unwrap_or(1.0) * item.factor.unwrap_or(1.0))
        });
        match charge.map(cents) {
            Some(Some(c)) => line.charge_cents = c,
            Some(None) => problem(format!("{at}.net"), "is not an amount".into()),
            None => {}
        }
        let mut spots = LineSpots {
            item: i,
            date: "servicedDate",
        };
        let (from, to) = if !item.serviced_date.is_empty() {
            (item.serviced_date.clone(), String::new())
        } else if let Some(p) = &item.serviced_period {
            spots.date = "servicedPeriod";
            (p.start.clone(), p.end.clone())
        } else {
            spots.date = "";
            (billable.start.clone(), billable.end.clone())
        };
        match day(&from) {
            Some(d) => line.service_date = d,
            None => problem(
                format!(
                    "{at}.{}",
                    if spots.date.is_empty() {
                        "servicedDate"
                    } else {
                        spots.date
                    }
                ),
                if from.is_empty() {
                    "no date of service (servicedDate, servicedPeriod or Claim.billablePeriod)"
                        .into()
                } else {
                    format!("{from:?} is not a full date (YYYY-MM-DD)")
                },
            ),
        }
        line.service_date_to = day(&to)
            .filter(|t| *t != line.service_date)
            .unwrap_or_default();
        for (j, seq) in item.diagnosis_sequence.iter().enumerate() {
            match pointer(*seq) {
                Some(p) => line.diagnosis_pointers.push(p as u32 + 1),
                None => problem(
                    format!("{at}.diagnosisSequence[{j}]"),
                    format!("no Claim.diagnosis has sequence {seq}"),
                ),
            }
        }
        if let Some(member) = item
            .care_team_sequence
            .iter()
            .filter_map(|s| claim.care_team.iter().position(|m| m.sequence == *s))
            .find(|k| renders(&claim.care_team[*k]) && Some(*k) != rendering)
        {
            let npi = resolver.npi(&claim.care_team[member].provider);
            if !npi.is_empty() {
                line.rendering_provider = Some(pb::Provider {
                    npi,
                    taxonomy: String::new(),
                });
            }
        }
        c.lines.push(line);
        out.spots.lines.push(spots);
    }
    if claim.item.is_empty() {
        problem(
            "Claim.item".into(),
            "the claim has no items (service lines)".into(),
        );
    }
    // The claim's place of service: its first item's (lines keep their own).
    if let Some(first) = c.lines.first()
        && c.claim_type == pb::ClaimType::Professional as i32
    {
        c.place_of_service = first.place_of_service.clone();
        fields.push((
            "place_of_service",
            "Claim.item[0].locationCodeableConcept".into(),
        ));
    }
    out
}
