//! An OpenAPI 3.1 description of the JSON/HTTP face, generated from the proto descriptors (so
//! it cannot drift from the API): one `POST` per unary method with its request and response
//! schemas (proto3 JSON mapping: lowerCamelCase names, 64-bit integers as strings, enums as
//! their names), the Connect error shape for every error, and the bearer token scheme.
//! Streaming methods are listed in the description but not as operations: OpenAPI cannot
//! express Connect's envelopes.

use std::collections::BTreeMap;

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Value, json};

fn comment(leading: Option<String>) -> String {
    leading.map(|c| c.trim().to_string()).unwrap_or_default()
}

fn field_schema(f: &FieldDescriptor, refs: &mut Vec<MessageDescriptor>) -> Value {
    let item = match f.kind() {
        Kind::Double | Kind::Float => json!({"type": "number"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Uint32 | Kind::Fixed32 => {
            json!({"type": "integer"})
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            json!({"type": "string", "format": "int64"})
        }
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Kind::Enum(e) => {
            json!({"type": "string", "enum": e.values().map(|v| v.name().to_string()).collect::<Vec<_>>()})
        }
        Kind::Message(m) => {
            if m.is_map_entry() {
                let value = m.map_entry_value_field();
                return json!({"type": "object", "additionalProperties": field_schema(&value, refs)});
            }
            refs.push(m.clone());
            json!({"$ref": format!("#/components/schemas/{}", m.full_name())})
        }
    };
    if f.is_list() {
        json!({"type": "array", "items": item})
    } else {
        item
    }
}

fn message_schema(m: &MessageDescriptor, refs: &mut Vec<MessageDescriptor>) -> Value {
    let mut props = serde_json::Map::new();
    for f in m.fields() {
        let mut s = field_schema(&f, refs);
        if let Some(obj) = s.as_object_mut()
            && let Some(text) = field_comment(&f)
        {
            obj.insert("description".into(), json!(text));
        }
        props.insert(f.json_name().to_string(), s);
    }
    json!({"type": "object", "properties": props})
}

fn field_comment(f: &FieldDescriptor) -> Option<String> {
    let path = f.path();
    let file = f.parent_file();
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    info.location
        .iter()
        .find(|l| l.path == path)
        .and_then(|l| l.leading_comments.clone())
        .map(|c| c.trim().to_string())
}

/// The OpenAPI document of every unary method in `pool`'s `claimscrub.v1` services.
pub fn document(pool: &DescriptorPool) -> Value {
    let mut paths = serde_json::Map::new();
    let mut refs = Vec::new();
    let mut streaming = Vec::new();
    for service in pool
        .services()
        .filter(|s| s.package_name() == "claimscrub.v1")
    {
        for m in service.methods() {
            let path = format!("/{}/{}", service.full_name(), m.name());
            if m.is_client_streaming() || m.is_server_streaming() {
                streaming.push(path);
                continue;
            }
            refs.push(m.input());
            refs.push(m.output());
            let doc = m
                .parent_file()
                .file_descriptor_proto()
                .source_code_info
                .as_ref()
                .and_then(|i| i.location.iter().find(|l| l.path == m.path()))
                .and_then(|l| l.leading_comments.clone());
            paths.insert(
                path,
                json!({"post": {
                    "operationId": format!("{}.{}", service.full_name(), m.name()),
                    "description": comment(doc),
                    "parameters": [
                        {"name": "Connect-Protocol-Version", "in": "header", "schema": {"type": "string", "const": "1"}},
                        {"name": "Connect-Timeout-Ms", "in": "header", "schema": {"type": "string", "pattern": "^[0-9]{1,10}$"}}
                    ],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", m.input().full_name())}}}},
                    "responses": {
                        "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", m.output().full_name())}}}},
                        "default": {"description": "Error (Connect error JSON; the HTTP status follows the code)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/connect.Error"}}}}
                    }
                }}),
            );
        }
    }
    let mut schemas: BTreeMap<String, Value> = BTreeMap::new();
    while let Some(m) = refs.pop() {
        if schemas.contains_key(m.full_name()) {
            continue;
        }
        let s = message_schema(&m, &mut refs);
        schemas.insert(m.full_name().to_string(), s);
    }
    let codes = [
        "canceled",
        "unknown",
        "invalid_argument",
        "deadline_exceeded",
        "not_found",
        "already_exists",
        "permission_denied",
        "resource_exhausted",
        "failed_precondition",
        "aborted",
        "out_of_range",
        "unimplemented",
        "internal",
        "unavailable",
        "data_loss",
        "unauthenticated",
    ];
    schemas.insert(
        "connect.Error".into(),
        json!({"type": "object", "required": ["code"], "properties": {
            "code": {"type": "string", "enum": codes},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object", "required": ["type", "value"], "properties": {
                "type": {"type": "string", "description": "e.g. google.rpc.BadRequest"},
                "value": {"type": "string", "contentEncoding": "base64"},
                "debug": {"description": "the detail as JSON"}
            }}}
        }}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "claimscrub",
            "version": "v1",
            "description": format!(
                "JSON over HTTP (Connect protocol, unary) for every claimscrub.v1 RPC. Streaming methods use Connect's streaming envelopes and are not described here: {}.",
                streaming.join(", ")
            )
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"bearer": []}, {}]
    })
}
