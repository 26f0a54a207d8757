//! Proto3 JSON for claims and responses (the same JSON grpcurl and other gRPC tools speak),
//! used by `claimscrub check` and by rule test files.

use std::sync::LazyLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

use crate::proto::{self, v1 as pb};

/// claimscrub's descriptors, plus google.rpc's (error details are rendered with them).
static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    let mut pool =
        DescriptorPool::decode(proto::DESCRIPTOR_SET).expect("descriptor set built by build.rs");
    // Without them error details still go out, as base64 only.
    let _ = pool.decode_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET);
    pool
});

/// The one descriptor pool every JSON form of the API (claim files, the HTTP face) reads and
/// writes messages with.
pub fn descriptors() -> &'static DescriptorPool {
    &POOL
}

/// Why a JSON document is not a valid claim/request.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(String);

fn descriptor(name: &str) -> prost_reflect::MessageDescriptor {
    POOL.get_message_by_name(name)
        .unwrap_or_else(|| panic!("{name} is in the compiled descriptor set"))
}

/// Parses one request from a JSON value: either a `ScrubClaimRequest` (`{"claim": {...}}`) or a
/// bare `Claim`. Field names may be proto names (`claim_id`) or JSON names (`claimId`).
pub fn request_from_value(value: &serde_json::Value) -> Result<pb::ScrubClaimRequest, JsonError> {
    let is_request = value.as_object().is_some_and(|o| {
        o.contains_key("claim") || o.contains_key("as_of_date") || o.contains_key("asOfDate")
    });
    if is_request {
        decode(value, "claimscrub.v1.ScrubClaimRequest")
    } else {
        Ok(pb::ScrubClaimRequest {
            claim: Some(decode(value, "claimscrub.v1.Claim")?),
            as_of_date: String::new(),
        })
    }
}

/// Parses a claims document: one request/claim object, or an array of them.
pub fn requests_from_str(text: &str) -> Result<Vec<pb::ScrubClaimRequest>, JsonError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| JsonError(format!("not valid JSON: {e}")))?;
    match &value {
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| request_from_value(v).map_err(|e| JsonError(format!("claim [{i}]: {e}"))))
            .collect(),
        _ => Ok(vec![request_from_value(&value)?]),
    }
}

/// Enum values written the way rules write them (`"commercial"`, `"female"`,
/// `"institutional"`) become the proto names (`PAYER_TYPE_COMMERCIAL`); a value that is neither
/// is an error naming the field and listing the values it takes.
fn normalize_enums(
    desc: &prost_reflect::MessageDescriptor,
    value: &mut serde_json::Value,
    path: &str,
) -> Result<(), JsonError> {
    use prost_reflect::Kind;
    let serde_json::Value::Object(map) = value else {
        return Ok(());
    };
    for (key, v) in map.iter_mut() {
        let Some(field) = desc
            .get_field_by_json_name(key)
            .or_else(|| desc.get_field_by_name(key))
        else {
            continue;
        };
        let at = if path.is_empty() {
            field.name().to_string()
        } else {
            format!("{path}.{}", field.name())
        };
        let items: Vec<(String, &mut serde_json::Value)> = match v {
            serde_json::Value::Array(a) if field.is_list() => a
                .iter_mut()
                .enumerate()
                .map(|(i, x)| (format!("{at}[{i}]"), x))
                .collect(),
            other => vec![(at.clone(), other)],
        };
        for (at, item) in items {
            match field.kind() {
                Kind::Message(m) => normalize_enums(&m, item, &at)?,
                Kind::Enum(e) => {
                    let serde_json::Value::String(text) = item else {
                        continue;
                    };
                    if e.get_value_by_name(text).is_some() {
                        continue;
                    }
                    // PAYER_TYPE_COMMERCIAL: the enum's prefix, then the short name.
                    let prefix = e
                        .values()
                        .find(|x| x.number() == 0)
                        .and_then(|x| x.name().strip_suffix("UNSPECIFIED").map(str::to_string))
                        .unwrap_or_default();
                    let full = format!("{prefix}{}", text.trim().to_ascii_uppercase());
                    if e.get_value_by_name(&full).is_some() {
                        *text = full;
                        continue;
                    }
                    let short: Vec<String> = e
                        .values()
                        .filter(|x| x.number() != 0)
                        .map(|x| x.name().trim_start_matches(&prefix).to_ascii_lowercase())
                        .collect();
                    return Err(JsonError(format!(
                        "{at}: {text:?} is not one of {} (or {}UNSPECIFIED-style names such as {prefix}{})",
                        short.join(", "),
                        prefix,
                        short
                            .first()
                            .map(|s| s.to_ascii_uppercase())
                            .unwrap_or_default()
                    )));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn decode<T: Message + Default>(value: &serde_json::Value, name: &str) -> Result<T, JsonError> {
    let mut value = value.clone();
    normalize_enums(&descriptor(name), &mut value, "")?;
    let dynamic = DynamicMessage::deserialize(descriptor(name), &value)
        .map_err(|e| JsonError(e.to_string()))?;
    dynamic
        .transcode_to::<T>()
        .map_err(|e| JsonError(e.to_string()))
}

/// Serialises a response as proto3 JSON with proto field names and defaults omitted.
pub fn response_to_value(resp: &pb::ScrubClaimResponse) -> serde_json::Value {
    message_to_value(resp, "claimscrub.v1.ScrubClaimResponse")
}

/// Serialises an 837 claim's result like [`response_to_value`].
pub fn x12_result_to_value(result: &pb::X12ClaimResult) -> serde_json::Value {
    message_to_value(result, "claimscrub.v1.X12ClaimResult")
}

/// A FHIR claim result as JSON (proto field names).
pub fn fhir_result_to_value(result: &pb::FhirClaimResult) -> serde_json::Value {
    message_to_value(result, "claimscrub.v1.FhirClaimResult")
}

fn message_to_value<T: Message>(message: &T, name: &str) -> serde_json::Value {
    let dynamic = DynamicMessage::decode(descriptor(name), message.encode_to_vec().as_slice())
        .expect("a message we encoded decodes");
    dynamic
        .serialize_with_options(
            serde_json::value::Serializer,
            &SerializeOptions::new().use_proto_field_name(true),
        )
        .expect("responses serialise to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_take_the_rules_spelling_and_errors_list_the_values() {
        let v = serde_json::json!({"claim_id": "A", "claim_type": "institutional",
            "payer": {"type": "commercial"}, "patient": {"sex": "female"}});
        let c = request_from_value(&v).unwrap().claim.unwrap();
        assert_eq!(c.payer.unwrap().r#type, pb::PayerType::Commercial as i32);
        assert_eq!(c.claim_type, pb::ClaimType::Institutional as i32);
        assert_eq!(c.patient.unwrap().sex, pb::Sex::Female as i32);
        let v = serde_json::json!({"claim_id": "A", "payer": {"type": "COMERCIAL"}});
        let e = request_from_value(&v).unwrap_err().to_string();
        assert!(
            e.contains("payer.type") && e.contains("commercial, ") && e.contains("PAYER_TYPE_"),
            "{e}"
        );
    }

    #[test]
    fn parses_bare_claims_and_requests() {
        let reqs = requests_from_str(
            r#"[{"claim_id": "A", "claim_type": "CLAIM_TYPE_INSTITUTIONAL",
                 "lines": [{"procedure_code": "99213", "units": 1, "service_date": "2024-01-02"}]},
                {"claim": {"claimId": "B"}, "as_of_date": "2024-02-01"}]"#,
        )
        .unwrap();
        assert_eq!(reqs.len(), 2);
        let a = reqs[0].claim.as_ref().unwrap();
        assert_eq!(a.claim_id, "A");
        assert_eq!(a.claim_type, pb::ClaimType::Institutional as i32);
        assert_eq!(a.lines[0].units, 1.0);
        assert_eq!(reqs[1].as_of_date, "2024-02-01");
    }

    #[test]
    fn unknown_fields_are_errors() {
        let err = requests_from_str(r#"{"claim_id": "A", "patient_name": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("patient_name"), "{err}");
    }
}
