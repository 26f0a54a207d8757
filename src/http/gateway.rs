//! Every RPC as JSON over HTTP, the Connect way: `POST /claimscrub.v1.ClaimScrubber/ScrubClaim`
//! with a JSON body in the proto3 JSON mapping. Nothing here knows an RPC by name: the method is
//! looked up in the proto descriptors, the JSON is read into a message of its input type, and
//! the call goes through the same gRPC services the gRPC port serves (in process, so the same
//! token checks, roles, audit, limits and error details apply); the answer is written back as
//! JSON of the output type, an error as Connect's error JSON with the HTTP status Connect gives
//! its code. Streaming methods use Connect's streaming envelopes (`application/connect+json`):
//! a server-streaming call (WatchRuleEvents) sends one request envelope and reads envelopes
//! back; a client- or bidirectional-streaming call (ScrubClaims, ScrubX12Stream) sends its
//! requests as a body of envelopes — each is passed on as soon as it has arrived, and each
//! answer is written as soon as the service gives it, so a long stream never sits in memory.
//! Over HTTP/1.1 a client typically sends all its requests before reading; HTTP/2 clients can
//! interleave.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
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

/// The most a unary request body may hold: the gRPC port's 4 MiB message limit, with room
/// for JSON's base64 of bytes fields (an 837 in ScrubX12). The same bound applies to each
/// message of a stream.
const MAX_BODY: usize = 6 * 1024 * 1024;

/// Where the request side of a client stream leaves the error that ended it (a message that
/// is not JSON of the input type, an oversized or compressed envelope), for the end of the
/// answer.
type RequestError = Arc<Mutex<Option<Status>>>;

async fn call(
    State(gw): State<Arc<Gateway>>,
    Path((service, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response<Body> {
    let Some(m) = gw.method(&service, &method) else {
        let mut resp = gw.error(&Status::unimplemented(format!(
            "no method {service}/{method}; the services are claimscrub.v1.ClaimScrubber, claimscrub.v1.RuleAdmin and claimscrub.v1.Remittances (see /openapi.json)"
        )));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        return resp;
    };
    let streaming = m.is_server_streaming() || m.is_client_streaming();
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
                "application/connect+json (or application/connect+proto): a streaming method's body is Connect envelopes"
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
    let timeout = headers
        .get("connect-timeout-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis);
    let (grpc_body, request_error) = if m.is_client_streaming() {
        let slot = RequestError::default();
        let body = request_stream(m.clone(), codec, body, slot.clone());
        (body, Some(slot))
    } else {
        let body = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return gw.error(&Status::resource_exhausted(format!(
                    "the request body is larger than {MAX_BODY} bytes, or was cut off"
                )));
            }
        };
        let payload = if streaming {
            let mut buf = body.to_vec();
            match connect::take_frames(&mut buf).into_iter().next() {
                Some((0, message)) if buf.is_empty() => message,
                _ => {
                    return gw.error(&Status::invalid_argument(
                        "a server-streaming call's request body is one Connect envelope (flag 0, 4-byte length, the message)",
                    ));
                }
            }
        } else {
            body.to_vec()
        };
        match read_request(&m, codec, &payload) {
            Ok(r) => (Body::from(connect::envelope(0, &r)), None),
            Err(status) => return gw.error(&status),
        }
    };
    let grpc = grpc_request(&service, &method, &headers, grpc_body);
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
        stream_response(gw, m, codec, resp.into_body(), request_error)
    } else {
        unary_response(&gw, &m, codec, resp.into_body()).await
    }
}

/// The gRPC request body of a client stream: each Connect envelope of `body`, read into the
/// method's input type as it arrives and passed on gRPC-framed. A message that cannot be read
/// ends the request side; its error is left in `slot` for the end of the answer (the
/// messages before it are answered).
fn request_stream(m: MethodDescriptor, codec: Codec, body: Body, slot: RequestError) -> Body {
    struct St {
        data: axum::body::BodyDataStream,
        buf: Vec<u8>,
        seen: usize,
        done: bool,
    }
    let state = St {
        data: body.into_data_stream(),
        buf: Vec::new(),
        seen: 0,
        done: false,
    };
    let stream = futures::stream::unfold(state, move |mut st| {
        let m = m.clone();
        let slot = slot.clone();
        async move {
            use futures::StreamExt;
            let fail = |done: &mut bool, status: Status| {
                *done = true;
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(status);
            };
            loop {
                if st.done {
                    return None;
                }
                if st.buf.len() >= 5 {
                    let len =
                        u32::from_be_bytes([st.buf[1], st.buf[2], st.buf[3], st.buf[4]]) as usize;
                    if len > MAX_BODY {
                        fail(
                            &mut st.done,
                            Status::resource_exhausted(format!(
                                "request message {} is {len} bytes; at most {MAX_BODY}",
                                st.seen + 1
                            )),
                        );
                        continue;
                    }
                }
                let frames = connect::take_frames(&mut st.buf);
                if !frames.is_empty() {
                    let mut out = Vec::new();
                    for (flags, message) in frames {
                        st.seen += 1;
                        if flags != 0 {
                            fail(
                                &mut st.done,
                                Status::invalid_argument(format!(
                                    "request message {}: envelope flags {flags:#04x}; send uncompressed messages (flags 0) and end the stream by ending the body",
                                    st.seen
                                )),
                            );
                            break;
                        }
                        match read_request(&m, codec, &message) {
                            Ok(r) => out.extend(connect::envelope(0, &r)),
                            Err(status) => {
                                let msg =
                                    format!("request message {}: {}", st.seen, status.message());
                                fail(&mut st.done, Status::new(status.code(), msg));
                                break;
                            }
                        }
                    }
                    if !out.is_empty() {
                        return Some((Ok::<_, Infallible>(Bytes::from(out)), st));
                    }
                    continue;
                }
                match st.data.next().await {
                    Some(Ok(chunk)) => st.buf.extend_from_slice(&chunk),
                    Some(Err(e)) => fail(
                        &mut st.done,
                        Status::cancelled(format!("the request body broke off: {e}")),
                    ),
                    None if st.buf.is_empty() => return None,
                    None => fail(
                        &mut st.done,
                        Status::invalid_argument(format!(
                            "the request body ends inside a message ({} bytes left over after {} whole messages)",
                            st.buf.len(),
                            st.seen
                        )),
                    ),
                }
            }
        }
    });
    Body::from_stream(stream)
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

/// The in-process gRPC request: the framed messages of `body`, the caller's token and `x-`
/// headers kept.
fn grpc_request(service: &str, method: &str, headers: &HeaderMap, body: Body) -> Request<Body> {
    let mut req = Request::new(body);
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

/// A streaming answer as Connect envelopes: each message, then the end-of-stream envelope
/// (`{}` or `{"error": ...}`; the error of the service, else the one that ended the request
/// side, in `request_error`).
fn stream_response(
    gw: Arc<Gateway>,
    m: MethodDescriptor,
    codec: Codec,
    body: tonic::body::Body,
    request_error: Option<RequestError>,
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
        let request_error = request_error.clone();
        async move {
            if st.done {
                return None;
            }
            let end = |status: Option<&Status>| {
                let from_request = request_error
                    .as_ref()
                    .and_then(|s| s.lock().unwrap_or_else(PoisonError::into_inner).take());
                let end = match status.or(from_request.as_ref()) {
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
