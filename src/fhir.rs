//! FHIR R4 input: a `Claim` resource, or a `Bundle` holding Claims (and the Patients,
//! Coverages, Organizations and Practitioners they refer to), as JSON. Each Claim is mapped to
//! a claimscrub claim that remembers the FHIR path of each part ([`map`]), so findings can
//! name `Claim.item[2].modifier[0]`, and the results can also be returned as a FHIR
//! `OperationOutcome` ([`results`]).
//!
//! No FHIR crate is used: the kept ones either do not model R4 4.0.1 (fhir-sdk: STU3, R4B,
//! R5), are unmaintained and switch serde_json features for the whole program (fhirbolt), or
//! generate ~200,000 lines for every resource type (fhir-r4, helios-fhir) where claimscrub
//! reads about thirty elements of five resources ([`model`]).

pub mod map;
pub mod model;
pub mod results;

use serde_json::Value;

pub use map::{ClaimSpots, ReadClaim};

/// The most Claims one request may hold.
pub const MAX_CLAIMS: usize = 10_000;

/// A problem with the request as a whole (not JSON, not a Claim or Bundle): nothing in it is
/// scrubbed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FhirError {
    /// Where: a FHIR path (`Bundle.entry[2].resource`) or `resource` for the whole text.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl FhirError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

fn resource_type(v: &Value) -> &str {
    v.get("resourceType").and_then(Value::as_str).unwrap_or("")
}

/// True when `text` is a FHIR resource: a JSON object with a `resourceType` (claimscrub's own
/// claim JSON never has one).
pub fn sniff(text: &str) -> bool {
    serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}'))
        .ok()
        .is_some_and(|v| v.get("resourceType").is_some_and(Value::is_string))
}

/// Reads a Claim as JSON text at `path` (`Claim` or `Bundle.entry[3].resource`).
fn claim(v: &Value, path: &str, bundle: &[(String, Value)]) -> Result<ReadClaim, FhirError> {
    let claim: model::Claim = serde_path_to_error::deserialize(v).map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." {
            String::new()
        } else {
            format!(".{at}")
        };
        FhirError::new(format!("{path}{at}"), e.inner().to_string())
    })?;
    let resolver = map::Resolver::new(&claim.contained, bundle);
    Ok(map::read(&claim, path, &resolver))
}

/// Reads every Claim of a FHIR R4 `Claim` or `Bundle` resource given as JSON text.
pub fn read(json: &str) -> Result<Vec<ReadClaim>, FhirError> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| FhirError::new("resource", format!("not JSON: {e}")))?;
    match resource_type(&value) {
        "Claim" => Ok(vec![claim(&value, "Claim", &[])?]),
        "Bundle" => {
            let entries: Vec<(String, Value)> = value
                .get("entry")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|e| {
                            (
                                e.get("fullUrl")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_string(),
                                e.get("resource").cloned().unwrap_or(Value::Null),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let claims: Vec<usize> = (0..entries.len())
                .filter(|i| resource_type(&entries[*i].1) == "Claim")
                .collect();
            if claims.is_empty() {
                return Err(FhirError::new("Bundle.entry", "the Bundle holds no Claim"));
            }
            if claims.len() > MAX_CLAIMS {
                return Err(FhirError::new(
                    "Bundle.entry",
                    format!(
                        "{} Claims in one Bundle; at most {MAX_CLAIMS} are read in one call",
                        claims.len()
                    ),
                ));
            }
            claims
                .into_iter()
                .map(|i| {
                    claim(
                        &entries[i].1,
                        &format!("Bundle.entry[{i}].resource"),
                        &entries,
                    )
                })
                .collect()
        }
        "" => Err(FhirError::new(
            "resource.resourceType",
            "missing: send a FHIR R4 Claim or a Bundle of Claims",
        )),
        other => Err(FhirError::new(
            "resource.resourceType",
            format!("{other:?}: send a FHIR R4 Claim or a Bundle of Claims"),
        )),
    }
}
