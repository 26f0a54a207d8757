//! Every RPC as JSON over HTTP, the Connect way: `POST /claimscrub.v1.ClaimScrubber/ScrubClaim`
//! with a JSON body in the proto3 JSON mapping. Nothing here knows an RPC by name: the method is
//! looked up in the proto descriptors, the JSON is read into a message of its input type, and
//! the call goes through the same gRPC services the gRPC port serves (in process, so the same
//! token checks, roles, audit, limits and error details apply); the answer is written back as
//! JSON of the output type, an error as Connect's error JSON with the HTTP status Connect gives
//! its code. Server-streaming methods (WatchRuleEvents) answer with Connect's streaming
//! envelopes (`application/connect+json`). Client- and bidirectional-streaming methods
//! (ScrubClaims, ScrubX12Stream) need HTTP/2 streaming and answer `unimplemented`, naming their
//! unary counterparts.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use prost::Message;
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, MethodDescriptor};
use tonic::{Code, Status};
use tower::ServiceExt;

use super::connect::{self, END_STREAM};

/// The JSON/HTTP face over the gRPC services `routes`.
#[derive(Clone)]
pub struct Gateway {
    routes: tonic::service::Routes,
    pool: DescriptorPool,
}

/// How a request's messages are encoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Codec {
    Json,
    Proto,
}

impl Gateway {
    /// A gateway calling `routes` (the claimscrub services with their interceptors).
    pub fn new(routes: tonic::service::Routes) -> Self {
        Self {
            routes,
            pool: super::descriptors().clone(),
        }
    }

    /// The HTTP routes: `POST /{service}/{method}`, `GET /openapi.json` and the console, every
    /// answer with the security headers.
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/openapi.json", axum::routing::get(openapi))
            .route("/{service}/{method}", axum::routing::post(call))
            .with_state(Arc::new(self))
            .merge(super::console::router())
            .layer(axum::middleware::map_response(super::console::secure))
    }

    fn method(&self, service: &str, method: &str) -> Option<MethodDescriptor> {
        self.pool
            .get_service_by_name(service)?
            .methods()
            .find(|m| m.name() == method)
    }

    fn error(&self, status: &Status) -> Response<Body> {
        let body = connect::error_body(status, &self.pool);
        let code = StatusCode::from_u16(connect::http_status(status.code()))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = Response::new(Body::from(body.to_string()));
        *resp.status_mut() = code;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

async fn openapi(State(gw): State<Arc<Gateway>>) -> Response<Body> {
    let mut resp = Response::new(Body::from(super::openapi::document(&gw.pool).to_string()));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The most a request body may hold (the gRPC port's message limit).
const MAX_BODY: usize = 4 * 1024 * 1024;

async fn call(
    State(gw): State<Arc<Gateway>>,
    Path((service, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let Some(m) = gw.method(&service, &method) else {
        let mut resp = gw.error(&Status::unimplemented(format!(
            "no method {service}/{method}; the services are claimscrub.v1.ClaimScrubber and claimscrub.v1.RuleAdmin (see /openapi.json)"
        )));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        return resp;
    };
    if m.is_client_streaming() {
        return gw.error(&Status::unimplemented(format!(
            "{}/{} streams requests, which needs HTTP/2 streaming; over HTTP send claims one by one with ScrubClaim, or a whole 837 with ScrubX12",
            service, method
        )));
    }
    let streaming = m.is_server_streaming();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let codec = match (content_type.as_str(), streaming) {
        ("application/json", false) | ("application/connect+json", true) => Codec::Json,
        ("application/proto", false) | ("application/connect+proto", true) => Codec::Proto,
        _ => {
            let want = if streaming {
                "application/connect+json (or application/connect+proto)"
            } else {
                "application/json (or application/proto)"
            };
            let mut resp = gw.error(&Status::invalid_argument(format!(
                "Content-Type {content_type:?}: {service}/{method} takes {want}"
            )));
            *resp.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return resp;
        }
    };
    if body.len() > MAX_BODY {
        return gw.error(&Status::resource_exhausted(format!(
            "the request body is {} bytes; at most {MAX_BODY}",
            body.len()
        )));
    }
    let payload = if streaming {
        let mut buf = body.to_vec();
        match connect::take_frames(&mut buf).into_iter().next() {
            Some((0, message)) if buf.is_empty() => message,
            _ => {
                return gw.error(&Status::invalid_argument(
                    "a streaming call's request body is one Connect envelope (flag 0, 4-byte length, the message)",
                ));
            }
        }
    } else {
        body.to_vec()
    };
    let request = match read_request(&m, codec, &payload) {
        Ok(r) => r,
        Err(status) => return gw.error(&status),
    };
    let timeout = headers
        .get("connect-timeout-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis);
    let grpc = grpc_request(&service, &method, &headers, &request);
    let answer = gw.routes.clone().oneshot(grpc);
    let resp = match timeout {
        Some(t) => match tokio::time::timeout(t, answer).await {
            Ok(r) => r,
            Err(_) => {
                return gw.error(&Status::deadline_exceeded(format!(
                    "no answer within Connect-Timeout-Ms ({} ms)",
                    t.as_millis()
                )));
            }
        },
        None => answer.await,
    };
    let resp: Response<tonic::body::Body> = match resp {
        Ok(r) => crate::api::status::request_error_codes(r),
        Err(never) => match never {},
    };
    if let Some(status) = Status::from_header_map(resp.headers()).filter(|s| s.code() != Code::Ok) {
        return gw.error(&status);
    }
    if streaming {
        stream_response(gw, m, codec, resp.into_body())
    } else {
        unary_response(&gw, &m, codec, resp.into_body()).await
    }
}

/// The request message's bytes from the body: JSON read into the method's input type
/// (unknown fields are an error naming them, never silently dropped), or protobuf as sent.
fn read_request(m: &MethodDescriptor, codec: Codec, payload: &[u8]) -> Result<Vec<u8>, Status> {
    match codec {
        Codec::Proto => Ok(payload.to_vec()),
        Codec::Json => {
            let text = if payload.iter().all(u8::is_ascii_whitespace) {
                b"{}".as_slice()
            } else {
                payload
            };
            let mut de = serde_json::Deserializer::from_slice(text);
            let msg = DynamicMessage::deserialize_with_options(
                m.input(),
                &mut de,
                &DeserializeOptions::new().deny_unknown_fields(true),
            )
            .and_then(|msg| de.end().map(|()| msg))
            .map_err(|e| {
                Status::invalid_argument(format!(
                    "the body is not a {} in JSON: {e}",
                    m.input().full_name()
                ))
            })?;
            Ok(msg.encode_to_vec())
        }
    }
}

/// The in-process gRPC request: the message framed, the caller's token and `x-` headers kept.
fn grpc_request(service: &str, method: &str, headers: &HeaderMap, message: &[u8]) -> Request<Body> {
    let mut req = Request::new(Body::from(connect::envelope(0, message)));
    *req.method_mut() = axum::http::Method::POST;
    *req.uri_mut() = format!("/{service}/{method}")
        .parse()
        .unwrap_or_else(|_| axum::http::Uri::from_static("/"));
    let h = req.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    h.insert("te", HeaderValue::from_static("trailers"));
    for (name, value) in headers {
        if name == header::AUTHORIZATION || name.as_str().starts_with("x-") {
            h.append(name.clone(), value.clone());
        }
    }
    req
}

/// The one message of a unary answer, as JSON or protobuf; or the error its trailers carry.
async fn unary_response(
    gw: &Gateway,
    m: &MethodDescriptor,
    codec: Codec,
    body: tonic::body::Body,
) -> Response<Body> {
    let collected = match body.collect().await {
        Ok(c) => c,
        Err(e) => return gw.error(&e),
    };
    if let Some(status) = collected
        .trailers()
        .and_then(Status::from_header_map)
        .filter(|s| s.code() != Code::Ok)
    {
        return gw.error(&status);
    }
    let mut buf = collected.to_bytes().to_vec();
    let Some((_, message)) = connect::take_frames(&mut buf).into_iter().next() else {
        return gw.error(&Status::internal("the service sent no answer"));
    };
    match write_message(m, codec, &message) {
        Ok(bytes) => {
            let mut resp = Response::new(Body::from(bytes));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(match codec {
                    Codec::Json => "application/json",
                    Codec::Proto => "application/proto",
                }),
            );
            resp
        }
        Err(status) => gw.error(&status),
    }
}

/// A message of the method's output type as JSON (proto3 JSON mapping: lowerCamelCase names,
/// 64-bit integers as strings, defaults left out) or protobuf.
fn write_message(m: &MethodDescriptor, codec: Codec, message: &[u8]) -> Result<Vec<u8>, Status> {
    match codec {
        Codec::Proto => Ok(message.to_vec()),
        Codec::Json => {
            let msg = DynamicMessage::decode(m.output(), message)
                .map_err(|e| Status::internal(format!("answer not decodable: {e}")))?;
            serde_json::to_vec(&msg).map_err(|e| Status::internal(e.to_string()))
        }
    }
}

/// A server-streaming answer as Connect envelopes: each message, then the end-of-stream
/// envelope (`{}` or `{"error": ...}`).
fn stream_response(
    gw: Arc<Gateway>,
    m: MethodDescriptor,
    codec: Codec,
    body: tonic::body::Body,
) -> Response<Body> {
    struct St {
        body: tonic::body::Body,
        buf: Vec<u8>,
        done: bool,
    }
    let state = St {
        body,
        buf: Vec::new(),
        done: false,
    };
    let stream = futures::stream::unfold(state, move |mut st| {
        let gw = gw.clone();
        let m = m.clone();
        async move {
            if st.done {
                return None;
            }
            let end = |status: Option<&Status>| {
                let end = match status {
                    Some(s) => serde_json::json!({"error": connect::error_body(s, &gw.pool)}),
                    None => serde_json::json!({}),
                };
                connect::envelope(END_STREAM, end.to_string().as_bytes())
            };
            let out: Vec<u8> = match st.body.frame().await {
                None => {
                    st.done = true;
                    end(None)
                }
                Some(Err(status)) => {
                    st.done = true;
                    end(Some(&status))
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        st.buf.extend_from_slice(&data);
                        let mut out = Vec::new();
                        for (_, message) in connect::take_frames(&mut st.buf) {
                            match write_message(&m, codec, &message) {
                                Ok(bytes) => out.extend(connect::envelope(0, &bytes)),
                                Err(status) => {
                                    st.done = true;
                                    out.extend(end(Some(&status)));
                                    break;
                                }
                            }
                        }
                        out
                    }
                    Err(frame) => {
                        st.done = true;
                        let status = frame
                            .trailers_ref()
                            .and_then(Status::from_header_map)
                            .filter(|s| s.code() != Code::Ok);
                        end(status.as_ref())
                    }
                },
            };
            Some((Ok::<_, Infallible>(Bytes::from(out)), st))
        }
    });
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(match codec {
            Codec::Json => "application/connect+json",
            Codec::Proto => "application/connect+proto",
        }),
    );
    resp
}
