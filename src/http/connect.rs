//! The Connect protocol's conventions (<https://connectrpc.com/docs/protocol>), for the
//! JSON/HTTP face: error codes as snake_case names with their HTTP statuses, the error body
//! (`code`, `message`, `details` with `type`, unpadded base64 `value` and a `debug` JSON
//! rendering), and the envelope that frames streamed messages (1 flag byte, 4-byte big-endian
//! length, the message; flag 0x02 marks the end-of-stream message).

use base64::Engine;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::{Value, json};
use tonic::Code;

/// Flag of the end-of-stream envelope.
pub const END_STREAM: u8 = 0x02;

/// The Connect name of a gRPC code (`invalid_argument`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// The HTTP status Connect gives a code (the protocol's table).
pub fn http_status(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::Cancelled => 499,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::PermissionDenied => 403,
        Code::ResourceExhausted => 429,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::Unauthenticated => 401,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
    }
}

/// The Connect error body of `status`: its code and message, and each of its details
/// (`google.rpc.BadRequest`, `PreconditionFailure`, ...) as `type`, base64 `value` and, when
/// `pool` knows the type, `debug` (the detail as JSON, for people and plain-HTTP clients).
pub fn error_body(status: &tonic::Status, pool: &DescriptorPool) -> Value {
    let mut body = json!({"code": code_name(status.code())});
    if !status.message().is_empty() {
        body["message"] = json!(status.message());
    }
    let details = tonic_types::pb::Status::decode(status.details())
        .map(|s| s.details)
        .unwrap_or_default();
    if !details.is_empty() {
        let list: Vec<Value> = details
            .iter()
            .map(|any| {
                let name = any.type_url.rsplit('/').next().unwrap_or(&any.type_url);
                let mut d = json!({
                    "type": name,
                    "value": base64::engine::general_purpose::STANDARD_NO_PAD.encode(&any.value),
                });
                if let Some(desc) = pool.get_message_by_name(name)
                    && let Ok(msg) = DynamicMessage::decode(desc, any.value.as_slice())
                    && let Ok(v) = serde_json::to_value(&msg)
                {
                    d["debug"] = v;
                }
                d
            })
            .collect();
        body["details"] = Value::Array(list);
    }
    body
}

/// `message` framed with `flags` (0 for a message, [`END_STREAM`] for the end).
pub fn envelope(flags: u8, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + message.len());
    out.push(flags);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// Complete frames (Connect envelopes and gRPC length-prefixed messages share the layout)
/// taken from the front of `buf` as they arrive: (flags, message).
pub fn take_frames(buf: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while buf.len() - at >= 5 {
        let len = u32::from_be_bytes([buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4]]) as usize;
        if buf.len() - at - 5 < len {
            break;
        }
        out.push((buf[at], buf[at + 5..at + 5 + len].to_vec()));
        at += 5 + len;
    }
    buf.drain(..at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_protocols_http_statuses() {
        assert_eq!(http_status(Code::InvalidArgument), 400);
        assert_eq!(http_status(Code::FailedPrecondition), 400);
        assert_eq!(http_status(Code::Unauthenticated), 401);
        assert_eq!(http_status(Code::PermissionDenied), 403);
        assert_eq!(http_status(Code::Aborted), 409);
        assert_eq!(http_status(Code::ResourceExhausted), 429);
        assert_eq!(http_status(Code::Cancelled), 499);
        assert_eq!(http_status(Code::Unimplemented), 501);
        assert_eq!(code_name(Code::Cancelled), "canceled");
        assert_eq!(code_name(Code::DeadlineExceeded), "deadline_exceeded");
    }

    #[test]
    fn frames_are_taken_only_when_complete() {
        let mut buf = envelope(0, b"abc");
        buf.extend(envelope(END_STREAM, b"{}"));
        let mut partial = buf[..6].to_vec();
        assert!(take_frames(&mut partial).is_empty());
        partial.extend_from_slice(&buf[6..]);
        let frames = take_frames(&mut partial);
        assert_eq!(
            frames,
            vec![(0, b"abc".to_vec()), (END_STREAM, b"{}".to_vec())]
        );
        assert!(partial.is_empty());
    }
}
