//! Putting FHIR scrub results together: each finding located at FHIR paths (FHIRPath with
//! 0-based indexes, as `OperationOutcome.issue.expression` uses them), the response for a
//! claim that did not map, and the findings as a FHIR R4 `OperationOutcome`
//! (<https://hl7.org/fhir/R4/operationoutcome.html>).

use serde_json::{Value, json};

use super::map::{ClaimSpots, ReadClaim};
use crate::proto::v1 as pb;

/// The request that scrubs a claim read from FHIR, or `None` when it did not map.
pub fn request(read: &ReadClaim, as_of_date: &str) -> Option<pb::ScrubClaimRequest> {
    read.problems.is_empty().then(|| pb::ScrubClaimRequest {
        claim: Some(read.claim.clone()),
        as_of_date: as_of_date.to_string(),
    })
}

/// The response of a claim that did not map (`request` gave `None`): INVALID_ARGUMENT with
/// one violation per problem, each named by its FHIR path.
pub fn unmapped(read: &ReadClaim) -> pb::ScrubClaimResponse {
    let violations: Vec<pb::FieldViolation> = read
        .problems
        .iter()
        .map(|(path, message)| pb::FieldViolation {
            field: path.clone(),
            description: message.clone(),
        })
        .collect();
    let message = read
        .problems
        .iter()
        .map(|(p, m)| format!("{p}: {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    pb::ScrubClaimResponse {
        claim_id: read.claim_id.clone(),
        error: Some(pb::ClaimError {
            code: "INVALID_ARGUMENT".into(),
            message,
            field: violations
                .first()
                .map(|v| v.field.clone())
                .unwrap_or_default(),
            violations,
        }),
        ..Default::default()
    }
}

/// The FHIR element of an item that a line field path (`lines[1].modifiers[0]`) names.
fn item_element(spots: &ClaimSpots, line: usize, field: &str) -> String {
    let Some(l) = spots.lines.get(line) else {
        return "Claim".into();
    };
    let item = format!("Claim.item[{}]", l.item);
    let rest = field.split_once(']').map_or("", |(_, r)| r);
    let element = if rest.starts_with(".procedure_code") {
        ".productOrService".to_string()
    } else if let Some(m) = rest.strip_prefix(".modifiers[") {
        format!(".modifier[{}]", m.trim_end_matches(']'))
    } else if rest.starts_with(".units") {
        ".quantity".into()
    } else if rest.starts_with(".charge_cents") {
        ".net".into()
    } else if rest.starts_with(".service_date") {
        if l.date.is_empty() {
            return "Claim.billablePeriod".into();
        }
        format!(".{}", l.date)
    } else if rest.starts_with(".diagnosis_pointers") {
        ".diagnosisSequence".into()
    } else if rest.starts_with(".place_of_service") {
        ".locationCodeableConcept".into()
    } else if rest.starts_with(".revenue_code") {
        ".revenue".into()
    } else if rest.starts_with(".rendering_provider") {
        ".careTeamSequence".into()
    } else {
        String::new()
    };
    format!("{item}{element}")
}

/// The FHIR paths a claim field path (`diagnoses[1].code`, `lines[0].units`,
/// `billing_provider.npi`) names on the claim whose parts are at `spots`.
pub fn field_paths(spots: &ClaimSpots, field: &str) -> Vec<String> {
    let index = |rest: &str| -> Option<usize> { rest.split(']').next()?.parse().ok() };
    if let Some(rest) = field.strip_prefix("diagnoses[") {
        return index(rest)
            .and_then(|i| spots.diagnoses.get(i))
            .cloned()
            .into_iter()
            .collect();
    }
    if let Some(rest) = field.strip_prefix("lines[") {
        return index(rest)
            .map(|i| item_element(spots, i, field))
            .into_iter()
            .collect();
    }
    let head = field.split(['.', '[']).next().unwrap_or("");
    spots
        .fields
        .iter()
        .filter(|(f, _)| *f == head)
        .map(|(_, p)| p.clone())
        .take(1)
        .collect()
}

/// The FHIR paths of `finding`: the field it names and each of its lines.
pub fn locate(spots: &ClaimSpots, claim: &pb::Claim, finding: &pb::Finding) -> pb::FhirLocations {
    let field = finding.field.as_str();
    let mut out = Vec::new();
    let line_field = field.starts_with("lines[");
    for n in &finding.line_numbers {
        let Some(i) = claim.lines.iter().position(|l| l.line_number == *n) else {
            continue;
        };
        // The named element on each line the finding names (`lines[1].modifiers[0]` names
        // line 2's; a rule flagging several lines names each line's same element).
        let path = if line_field {
            let rest = field.split_once(']').map_or("", |(_, r)| r);
            item_element(spots, i, &format!("lines[{i}]{rest}"))
        } else {
            format!("Claim.item[{}]", spots.lines.get(i).map_or(i, |l| l.item))
        };
        if !out.contains(&path) {
            out.push(path);
        }
    }
    if !line_field {
        for p in field_paths(spots, field) {
            if !out.contains(&p) {
                out.insert(0, p);
            }
        }
    }
    if out.is_empty() {
        out.push("Claim".into());
    }
    pb::FhirLocations { expressions: out }
}

fn severity(s: i32) -> &'static str {
    match pb::Severity::try_from(s) {
        Ok(pb::Severity::Error) => "error",
        Ok(pb::Severity::Warning) => "warning",
        _ => "information",
    }
}

/// The claim's result as a FHIR R4 OperationOutcome: one issue per finding (code
/// `business-rule`, the rule id and predicted CARC as codings, the fix as diagnostics, the
/// FHIR paths as expressions) or one per problem when the claim was not scrubbed; an
/// `information` issue "no findings" when there is nothing to say (an OperationOutcome needs
/// at least one issue).
pub fn operation_outcome(result: &pb::FhirClaimResult) -> Value {
    let mut issues = Vec::new();
    let resp = result.response.clone().unwrap_or_default();
    if let Some(e) = &resp.error {
        let list: Vec<(String, String)> = if e.violations.is_empty() {
            vec![(e.field.clone(), e.message.clone())]
        } else {
            e.violations
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect()
        };
        for ((field, message), at) in list.into_iter().zip(
            result
                .error_locations
                .iter()
                .map(Some)
                .chain(std::iter::repeat(None)),
        ) {
            let mut issue = json!({
                "severity": "error",
                "code": "invalid",
                "diagnostics": message,
            });
            let expression = at.map_or_else(|| vec![field], |l| l.expressions.clone());
            if !expression.iter().all(String::is_empty) {
                issue["expression"] = json!(expression);
            }
            issues.push(issue);
        }
    }
    for (f, at) in resp.findings.iter().zip(&result.finding_locations) {
        let mut coding = vec![json!({
            "system": "urn:claimscrub:rule",
            "code": f.rule_id,
        })];
        if !f.carc.is_empty() && f.carc != "none" {
            // "CO-97": the group code is not part of the CARC code system.
            let reason = f.carc.rsplit('-').next().unwrap_or(&f.carc);
            let mut carc = json!({
                "system": "https://x12.org/codes/claim-adjustment-reason-codes",
                "code": reason,
            });
            if !f.carc_description.is_empty() {
                carc["display"] = json!(f.carc_description);
            }
            coding.push(carc);
        }
        let mut issue = json!({
            "severity": severity(f.severity),
            "code": "business-rule",
            "details": {"coding": coding, "text": f.message},
            "expression": at.expressions,
        });
        if !f.suggestion.is_empty() {
            issue["diagnostics"] = json!(f.suggestion);
        }
        issues.push(issue);
    }
    if issues.is_empty() {
        issues.push(json!({
            "severity": "information",
            "code": "informational",
            "diagnostics": "no findings",
        }));
    }
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// One claim's result: its response, each finding located by FHIR path, and (when asked)
/// the OperationOutcome.
pub fn result(
    read: &ReadClaim,
    response: pb::ScrubClaimResponse,
    outcome: bool,
) -> pb::FhirClaimResult {
    let spots = &read.spots;
    let error_locations = response
        .error
        .as_ref()
        .map(|e| {
            let fields: Vec<&str> = if e.violations.is_empty() {
                vec![e.field.as_str()]
            } else {
                e.violations.iter().map(|v| v.field.as_str()).collect()
            };
            fields
                .into_iter()
                .map(|f| pb::FhirLocations {
                    // Problems of mapping are FHIR paths already; validation names claim fields.
                    expressions: if f.starts_with("Claim") {
                        vec![f.to_string()]
                    } else {
                        field_paths(spots, f)
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let mut result = pb::FhirClaimResult {
        claim_id: read.claim_id.clone(),
        finding_locations: response
            .findings
            .iter()
            .map(|f| locate(spots, &read.claim, f))
            .collect(),
        resource_path: spots.resource.clone(),
        error_locations,
        response: Some(response),
        operation_outcome: String::new(),
    };
    if outcome {
        result.operation_outcome = operation_outcome(&result).to_string();
    }
    result
}
