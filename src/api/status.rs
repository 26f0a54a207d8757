//! The single mapping from domain errors to gRPC statuses (and to per-claim stream errors).
//! Script internals never leak to clients: rule problems are reported as rule failures on
//! the response, not as statuses.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::admin::AdminError;
use crate::admin::auth::AuthError;
use crate::claim::ValidationError;
use crate::proto::v1 as pb;
use crate::scrub::ScrubError;

/// The status for a failed unary scrub. Invalid claims carry a `google.rpc.BadRequest` with
/// one field violation per problem.
pub fn scrub_status(err: &ScrubError) -> Status {
    match err {
        ScrubError::Invalid(v) => invalid_argument(v),
        ScrubError::Internal(e) => Status::internal(e.to_string()),
    }
}

/// The status of a failed admin call: auth failures as UNAUTHENTICATED / PERMISSION_DENIED,
/// a bad request field as INVALID_ARGUMENT with a `BadRequest` field violation, a rule in the
/// wrong state as FAILED_PRECONDITION with a `PreconditionFailure` (type = reason, subject =
/// the rule id), store failures as UNAVAILABLE (retry later), bugs as INTERNAL.
pub fn admin_status(err: &AdminError) -> Status {
    let message = err.to_string();
    match err {
        AdminError::Auth(AuthError::Unauthenticated(_)) => Status::unauthenticated(message),
        AdminError::Auth(AuthError::PermissionDenied(_)) => Status::permission_denied(message),
        AdminError::NotFound(_) => Status::not_found(message),
        AdminError::Precondition {
            reason,
            rule_id,
            message,
        } => Status::with_error_details(
            Code::FailedPrecondition,
            message.clone(),
            ErrorDetails::with_precondition_failure(vec![tonic_types::PreconditionViolation::new(
                *reason,
                format!("rule/{rule_id}"),
                message.clone(),
            )]),
        ),
        AdminError::Invalid { field, message } => Status::with_error_details(
            Code::InvalidArgument,
            err.to_string(),
            ErrorDetails::with_bad_request(vec![FieldViolation::new(*field, message.clone())]),
        ),
        AdminError::Store { source, .. } => match source.kind() {
            // A read-only rules directory: this deployment is not edited through the API.
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                Status::failed_precondition(format!(
                    "{message}. The rules are read-only here: this deployment's rules are edited \
                     where they are kept (its rules directory, its ConfigMap or git), or run the \
                     service with a writable --rules directory or a PostgreSQL rule store"
                ))
            }
            // A deleted rules directory or a rule gone from the store: the request is fine,
            // the store is not in the state it needs.
            std::io::ErrorKind::NotFound => Status::failed_precondition(message),
            _ => Status::unavailable(message),
        },
        AdminError::Internal(_) => Status::internal(message),
    }
}

/// Status codes of requests that could not be decoded, as the API documents them: a message
/// over the size limit is `RESOURCE_EXHAUSTED` (tonic answers `OUT_OF_RANGE`) and bytes that
/// are not the request message are `INVALID_ARGUMENT` (tonic answers `INTERNAL`). Applied to
/// every response header of the server; claimscrub itself never answers `OUT_OF_RANGE`, and
/// only a decoding failure's message starts with "failed to decode".
pub fn request_error_codes<B>(
    mut resp: tonic::codegen::http::Response<B>,
) -> tonic::codegen::http::Response<B> {
    use tonic::codegen::http::HeaderValue;
    let headers = resp.headers_mut();
    // Only an error status in the headers (a trailers-only response) can be a decoding one.
    if let Some(status) = Status::from_header_map(headers).filter(|s| s.code() != Code::Ok) {
        let code = status.code();
        let mapped = decode_status(status).code();
        if mapped != code {
            headers.insert("grpc-status", HeaderValue::from(mapped as i32));
        }
    }
    resp
}

/// The documented code of a request message that could not be decoded: the one rule behind
/// both [`request_error_codes`] (unary calls, on the response headers) and the claim stream
/// (its `Err` items).
pub fn decode_status(status: Status) -> Status {
    match status.code() {
        Code::OutOfRange => Status::resource_exhausted(status.message()),
        Code::Internal if status.message().starts_with("failed to decode") => {
            Status::invalid_argument(status.message())
        }
        _ => status,
    }
}

/// The status the scrubber's token check refuses a call with.
pub fn auth_status(err: AuthError) -> Status {
    admin_status(&AdminError::Auth(err))
}

fn invalid_argument(v: &ValidationError) -> Status {
    let violations: Vec<FieldViolation> = v
        .violations
        .iter()
        .map(|x| FieldViolation::new(x.field.clone(), x.description.clone()))
        .collect();
    Status::with_error_details(
        Code::InvalidArgument,
        v.to_string(),
        ErrorDetails::with_bad_request(violations),
    )
}

/// The in-stream response for a claim that could not be scrubbed: `error` set, no findings.
/// An unreadable X12 interchange: INVALID_ARGUMENT naming the segment position and element,
/// with a BadRequest field violation `interchange` → the same text.
pub fn x12_status(e: &crate::x12::X12Error) -> Status {
    x12_field_status(e, "interchange")
}

/// INVALID_ARGUMENT for X12 in request field `field` that cannot be read, naming the segment.
pub fn x12_field_status(e: &crate::x12::X12Error, field: &str) -> Status {
    let message = format!("{field}: {e}");
    let mut details = tonic_types::ErrorDetails::new();
    details.add_bad_request_violation(field, e.to_string());
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// INVALID_ARGUMENT for a FHIR request that is not a Claim or a Bundle of Claims, naming the
/// path.
pub fn fhir_status(e: &crate::fhir::FhirError) -> Status {
    let mut details = tonic_types::ErrorDetails::new();
    details.add_bad_request_violation(e.path.clone(), e.message.clone());
    Status::with_error_details(Code::InvalidArgument, format!("resource: {e}"), details)
}

/// A claim's error response (in a stream or an interchange).
pub fn error_response(claim_id: String, err: &ScrubError) -> pb::ScrubClaimResponse {
    let error = match err {
        ScrubError::Invalid(v) => pb::ClaimError {
            code: "INVALID_ARGUMENT".into(),
            message: v.to_string(),
            field: v.field().to_string(),
            violations: v
                .violations
                .iter()
                .map(|x| pb::FieldViolation {
                    field: x.field.clone(),
                    description: x.description.clone(),
                })
                .collect(),
        },
        ScrubError::Internal(e) => pb::ClaimError {
            code: "INTERNAL".into(),
            message: e.to_string(),
            field: String::new(),
            violations: Vec::new(),
        },
    };
    pb::ScrubClaimResponse {
        claim_id,
        error: Some(error),
        ..Default::default()
    }
}
