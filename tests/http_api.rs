//! The JSON/HTTP face (`--http-listen`, Connect protocol) against the real server: every RPC
//! answers over HTTP, JSON shapes follow the proto3 JSON mapping (read back through the
//! descriptors into the generated messages), errors are Connect error JSON with the HTTP
//! status Connect gives their code and the gRPC details, tokens and roles are the gRPC port's,
//! WatchRuleEvents streams Connect envelopes, and /openapi.json describes it all.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use claimscrub::proto::v1 as pb;
use prost::Message;
use prost_reflect::DynamicMessage;
use serde_json::{Value, json};
use support::{TestServer, clean_claim, config_with_tokens, free_addr, wait_listening};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const VIEWER: &str = "viewer-token-0123456789";
const EDITOR: &str = "editor-token-0123456789";

/// One HTTP/1.1 answer.
struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A chunked body decoded (axum streams answers with chunked transfer encoding).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..end]).unwrap().trim(), 16)
            .unwrap_or(0);
        if size == 0 || raw.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[(end + 4 + size).min(raw.len())..];
    }
    out
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .map(|l| l.split_once(':').unwrap().1.trim().to_string())
            .unwrap_or_default()
    };
    let body = &raw[split + 4..];
    let body = if header("transfer-encoding").contains("chunked") {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Reply {
        status,
        content_type: header("content-type"),
        body,
    }
}

fn request_bytes(path: &str, content_type: &str, token: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: claimscrub\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// POSTs `body` and reads the whole answer.
async fn post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    token: Option<&str>,
    body: &[u8],
) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(&request_bytes(path, content_type, token, body))
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut raw))
        .await
        .expect("the answer comes")
        .unwrap();
    parse(&raw)
}

async fn call(addr: SocketAddr, path: &str, token: Option<&str>, body: Value) -> Reply {
    post(
        addr,
        path,
        "application/json",
        token,
        body.to_string().as_bytes(),
    )
    .await
}

/// The proto3 JSON of `msg` (what a Connect client sends), through the descriptors.
fn to_json<M: Message>(msg: &M, name: &str) -> Value {
    let desc = claimscrub::http::descriptors()
        .get_message_by_name(name)
        .unwrap();
    let dynamic = DynamicMessage::decode(desc, msg.encode_to_vec().as_slice()).unwrap();
    serde_json::to_value(&dynamic).unwrap()
}

/// JSON read back into a generated message through the descriptors (proto3 JSON mapping).
fn from_json<M: Message + Default>(value: &Value, name: &str) -> M {
    let desc = claimscrub::http::descriptors()
        .get_message_by_name(name)
        .unwrap();
    let dynamic = DynamicMessage::deserialize(desc, value).unwrap();
    M::decode(dynamic.encode_to_vec().as_slice()).unwrap()
}

/// A server with tokens (viewer, editor), scrubbing open to all, and its HTTP address.
async fn start() -> (tempfile::TempDir, TestServer, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_with_tokens(
        dir.path(),
        &format!("viewer ana {VIEWER}\neditor bo {EDITOR}\n"),
    );
    let http = free_addr();
    c.http_listen = Some(http);
    let server = TestServer::start(c).await;
    wait_listening(http).await;
    (dir, server, http)
}

#[tokio::test]
async fn scrub_claim_over_http_answers_what_grpc_answers() {
    let (_dir, server, http) = start().await;
    let mut claim = clean_claim("HTTP-1");
    claim.lines[0].modifiers = vec!["ZZ".into()];
    let req = pb::ScrubClaimRequest {
        claim: Some(claim),
        as_of_date: "2024-08-01".into(),
    };
    let reply = call(
        http,
        "/claimscrub.v1.ClaimScrubber/ScrubClaim",
        None,
        to_json(&req, "claimscrub.v1.ScrubClaimRequest"),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.content_type, "application/json");
    let json = reply.json();
    // proto3 JSON: lowerCamelCase names, enums by name.
    assert_eq!(json["claimId"], "HTTP-1");
    assert!(json["findings"][0]["ruleId"].is_string(), "{json}");
    assert!(json["riskBand"].as_str().unwrap().starts_with("RISK_BAND_"));
    let via_http: pb::ScrubClaimResponse = from_json(&json, "claimscrub.v1.ScrubClaimResponse");
    let direct = server
        .client()
        .await
        .scrub_claim(req)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(via_http.findings, direct.findings);
    assert_eq!(via_http.denial_risk, direct.denial_risk);
    assert!(
        via_http
            .findings
            .iter()
            .any(|f| f.rule_id == "modifier-validity")
    );

    // The same with protobuf bodies (application/proto).
    let reply = post(
        http,
        "/claimscrub.v1.ClaimScrubber/ScrubClaim",
        "application/proto",
        None,
        &pb::ScrubClaimRequest {
            claim: Some(clean_claim("HTTP-2")),
            as_of_date: "2024-08-01".into(),
        }
        .encode_to_vec(),
    )
    .await;
    assert_eq!(reply.status, 200);
    let resp = pb::ScrubClaimResponse::decode(reply.body.as_slice()).unwrap();
    assert_eq!(resp.claim_id, "HTTP-2");
}

#[tokio::test]
async fn errors_are_connect_json_with_the_http_status_of_their_code() {
    let (_dir, _server, http) = start().await;
    let scrub = "/claimscrub.v1.ClaimScrubber/ScrubClaim";
    // An invalid claim: 400, invalid_argument, the field violations as details.
    let mut claim = clean_claim("BAD-1");
    claim.lines[0].service_date = "2024-13-45".into();
    let reply = call(
        http,
        scrub,
        None,
        json!({"claim": to_json(&claim, "claimscrub.v1.Claim")}),
    )
    .await;
    assert_eq!(reply.status, 400);
    let e = reply.json();
    assert_eq!(e["code"], "invalid_argument");
    let detail = &e["details"][0];
    assert_eq!(detail["type"], "google.rpc.BadRequest");
    assert!(
        !detail["value"].as_str().unwrap().ends_with('='),
        "unpadded base64"
    );
    assert_eq!(
        detail["debug"]["fieldViolations"][0]["field"],
        "claim.lines[0].service_date"
    );
    // A misspelt field is named, not dropped.
    let reply = call(
        http,
        scrub,
        None,
        json!({"claim": {"claimId": "X"}, "asOfDat": "2024-01-01"}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("asOfDat"),
        "{}",
        reply.json()
    );
    // Not JSON.
    let reply = post(http, scrub, "application/json", None, b"{claim").await;
    assert_eq!(
        (reply.status, reply.json()["code"].clone()),
        (400, json!("invalid_argument"))
    );
    // Wrong content type, unknown method.
    let reply = post(http, scrub, "text/plain", None, b"{}").await;
    assert_eq!(reply.status, 415);
    let reply = call(http, "/claimscrub.v1.ClaimScrubber/Nope", None, json!({})).await;
    assert_eq!(
        (reply.status, reply.json()["code"].clone()),
        (404, json!("unimplemented"))
    );
}

#[tokio::test]
async fn tokens_and_roles_are_the_grpc_ports() {
    let (dir, _server, http) = start().await;
    let list = "/claimscrub.v1.RuleAdmin/ListRules";
    let reply = call(http, list, None, json!({})).await;
    assert_eq!(
        (reply.status, reply.json()["code"].clone()),
        (401, json!("unauthenticated"))
    );
    let reply = call(http, list, Some("wrong-token-000000000000"), json!({})).await;
    assert_eq!(reply.status, 401);
    let reply = call(http, list, Some(VIEWER), json!({})).await;
    assert_eq!(reply.status, 200);
    let rules: pb::ListRulesResponse = from_json(&reply.json(), "claimscrub.v1.ListRulesResponse");
    let rule = rules
        .rules
        .iter()
        .find(|r| r.id == "npi-check-digit")
        .expect("bundled rule listed");

    // A viewer may not change a rule; an editor may.
    let get = call(
        http,
        "/claimscrub.v1.RuleAdmin/GetRule",
        Some(VIEWER),
        json!({"id": rule.id}),
    )
    .await;
    assert_eq!(get.status, 200);
    let got = get.json();
    let disable = json!({"id": rule.id, "comment": "http test"});
    let reply = call(
        http,
        "/claimscrub.v1.RuleAdmin/DisableRule",
        Some(VIEWER),
        disable.clone(),
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()["code"].clone()),
        (403, json!("permission_denied"))
    );
    let reply = call(
        http,
        "/claimscrub.v1.RuleAdmin/DisableRule",
        Some(EDITOR),
        disable,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    // Audited under the token's name; the token itself is never written.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("DisableRule") && audit.contains("\"bo\""),
        "{audit}"
    );
    assert!(!audit.contains(EDITOR) && !audit.contains(VIEWER));
    assert!(
        got["rule"].is_object() || got["source"].is_string(),
        "{got}"
    );
}

#[tokio::test]
async fn every_rpc_is_reachable_and_streams_come_as_connect_envelopes() {
    let (_dir, _server, http) = start().await;
    // Every unary method of both services answers with JSON from its own handler: 200, or a
    // Connect error that is not "no such method".
    let pool = claimscrub::http::descriptors();
    let mut unary = 0;
    for service in pool
        .services()
        .filter(|s| s.package_name() == "claimscrub.v1")
    {
        for m in service.methods() {
            let path = format!("/{}/{}", service.full_name(), m.name());
            if m.is_client_streaming() || m.is_server_streaming() {
                continue;
            }
            unary += 1;
            let reply = call(http, &path, Some(EDITOR), json!({})).await;
            let body = reply.json();
            assert!(
                reply.status == 200
                    || body["code"]
                        .as_str()
                        .is_some_and(|c| c != "unimplemented" && c != "internal"),
                "{path}: {} {body}",
                reply.status
            );
        }
    }
    assert!(unary >= 13, "{unary} unary methods");

    // WatchRuleEvents: a Connect streaming call; a rule change arrives as an envelope.
    let mut s = tokio::net::TcpStream::connect(http).await.unwrap();
    let envelope = claimscrub::http::connect::envelope(0, b"{}");
    s.write_all(&request_bytes(
        "/claimscrub.v1.RuleAdmin/WatchRuleEvents",
        "application/connect+json",
        Some(VIEWER),
        &envelope,
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let list = call(
        http,
        "/claimscrub.v1.RuleAdmin/ListRules",
        Some(VIEWER),
        json!({}),
    )
    .await
    .json();
    let rule = list["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "npi-check-digit")
        .unwrap()
        .clone();
    let reply = call(
        http,
        "/claimscrub.v1.RuleAdmin/DisableRule",
        Some(EDITOR),
        json!({"id": rule["id"], "comment": "watch test"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = s.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "the stream ended early: {}",
                String::from_utf8_lossy(&raw)
            );
            raw.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&raw).contains("npi-check-digit") {
                break;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no event: {}", String::from_utf8_lossy(&raw));
    let reply = parse(&raw);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/connect+json");
    let mut body = reply.body.clone();
    let frames = claimscrub::http::connect::take_frames(&mut body);
    let events: Vec<Value> = frames
        .iter()
        .filter(|(flags, _)| *flags == 0)
        .map(|(_, m)| serde_json::from_slice(m).unwrap())
        .collect();
    assert!(
        events.iter().any(|e| e["ruleId"] == "npi-check-digit"),
        "{events:?}"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_unary_rpc() {
    let (_dir, _server, http) = start().await;
    let mut s = tokio::net::TcpStream::connect(http).await.unwrap();
    s.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let doc = parse(&raw).json();
    assert_eq!(doc["openapi"], "3.1.0");
    let op = &doc["paths"]["/claimscrub.v1.ClaimScrubber/ScrubClaim"]["post"];
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/claimscrub.v1.ScrubClaimRequest"
    );
    let claim = &doc["components"]["schemas"]["claimscrub.v1.Claim"]["properties"];
    assert_eq!(claim["claimId"]["type"], "string");
    assert_eq!(claim["lines"]["type"], "array");
    assert!(doc["paths"]["/claimscrub.v1.RuleAdmin/PutRule"].is_object());
    assert!(doc["paths"]["/claimscrub.v1.RuleAdmin/WatchRuleEvents"].is_null());
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_content_security_policy() {
    let (_dir, _server, http) = start().await;
    let get = |path: &'static str| async move {
        let mut s = tokio::net::TcpStream::connect(http).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.unwrap();
        String::from_utf8_lossy(&raw).to_string()
    };
    let page = get("/").await;
    let lower = page.to_ascii_lowercase();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        lower.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{page}"
    );
    assert!(
        lower.contains("x-frame-options: deny") && lower.contains("referrer-policy: no-referrer")
    );
    // No inline script or style, nothing from another origin.
    let html = page.split_once("\r\n\r\n").unwrap().1;
    for tag in html.split("<script").skip(1) {
        assert!(
            tag.trim_start()
                .starts_with("type=\"module\" src=\"/console/"),
            "{tag}"
        );
    }
    assert!(
        !html.contains("<style") && !html.contains(" style=") && !html.contains("http"),
        "{html}"
    );
    // Without a token the page offers sign-in only; the app stays hidden until WhoAmI says who.
    assert!(html.contains("id=\"sign-in\"") && html.contains("<div id=\"app\" hidden>"));
    let js = get("/console/app.js").await;
    assert!(
        js.to_ascii_lowercase()
            .contains("content-type: text/javascript")
    );
    assert!(js.contains("sessionStorage") && !js.contains("localStorage"));
    // Every answer carries the policy, API errors included.
    let reply = get("/claimscrub.v1.RuleAdmin/ListRules").await;
    assert!(
        reply
            .to_ascii_lowercase()
            .contains("content-security-policy"),
        "{reply}"
    );
}

#[tokio::test]
async fn who_am_i_names_the_token_holder_and_role() {
    let (_dir, _server, http) = start().await;
    let me = call(
        http,
        "/claimscrub.v1.RuleAdmin/WhoAmI",
        Some(EDITOR),
        json!({}),
    )
    .await;
    assert_eq!(
        (me.status, me.json()),
        (200, json!({"name": "bo", "role": "editor"}))
    );
    let me = call(
        http,
        "/claimscrub.v1.RuleAdmin/WhoAmI",
        Some(VIEWER),
        json!({}),
    )
    .await;
    assert_eq!(me.json()["role"], "viewer");
    let me = call(http, "/claimscrub.v1.RuleAdmin/WhoAmI", None, json!({})).await;
    assert_eq!(me.status, 401);
}

/// A client-streaming call of ClaimScrubber: `body` is the request envelopes.
async fn stream(http: SocketAddr, method: &str, body: &[u8]) -> Reply {
    let path = format!("/claimscrub.v1.ClaimScrubber/{method}");
    post(http, &path, "application/connect+json", None, body).await
}

/// The Connect envelopes of a streaming answer: (flags, JSON).
fn envelopes(reply: &Reply) -> Vec<(u8, Value)> {
    let mut body = reply.body.clone();
    let frames = claimscrub::http::connect::take_frames(&mut body);
    assert!(body.is_empty(), "a partial envelope is left over");
    frames
        .into_iter()
        .map(|(flags, m)| (flags, serde_json::from_slice(&m).unwrap()))
        .collect()
}

#[tokio::test]
async fn client_streams_go_over_http_as_connect_envelopes() {
    let (_dir, _server, http) = start().await;
    let envelope = claimscrub::http::connect::envelope;
    // ScrubClaims: three claims, the second without an id; each gets its answer in order and
    // the bad one does not end the stream.
    let mut body = Vec::new();
    for id in ["STREAM-1", "", "STREAM-3"] {
        let mut claim = clean_claim(id);
        claim.lines[0].units = if id == "STREAM-3" { 0.0 } else { 1.0 };
        let req = pb::ScrubClaimRequest {
            claim: Some(claim),
            as_of_date: "2025-08-01".into(),
        };
        body.extend(envelope(
            0,
            to_json(&req, "claimscrub.v1.ScrubClaimRequest")
                .to_string()
                .as_bytes(),
        ));
    }
    let reply = stream(http, "ScrubClaims", &body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/connect+json");
    let frames = envelopes(&reply);
    assert_eq!(frames.len(), 4, "{frames:?}");
    let answers: Vec<pb::ScrubClaimResponse> = frames[..3]
        .iter()
        .map(|(_, v)| from_json(v, "claimscrub.v1.ScrubClaimResponse"))
        .collect();
    assert_eq!(answers[0].claim_id, "STREAM-1");
    assert!(answers[0].error.is_none());
    assert!(
        answers[1]
            .error
            .as_ref()
            .is_some_and(|e| e.field.contains("claim_id") || e.message.contains("claim_id")),
        "{:?}",
        answers[1]
    );
    assert!(
        answers[2]
            .findings
            .iter()
            .any(|f| f.rule_id == "units-positive"),
        "{:?}",
        answers[2]
    );
    assert_eq!(frames[3], (0x02, json!({})));

    // A message that is not a ScrubClaimRequest ends the request side: the answers before it
    // arrive, the end-of-stream envelope names the message and the problem.
    let mut body = envelope(
        0,
        to_json(
            &pb::ScrubClaimRequest {
                claim: Some(clean_claim("BEFORE")),
                as_of_date: "2025-08-01".into(),
            },
            "claimscrub.v1.ScrubClaimRequest",
        )
        .to_string()
        .as_bytes(),
    );
    body.extend(envelope(0, br#"{"claim": {"claimIdd": "X"}}"#));
    let reply = stream(http, "ScrubClaims", &body).await;
    let frames = envelopes(&reply);
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[0].1["claimId"], "BEFORE");
    let end = &frames[1];
    assert_eq!(end.0, 0x02);
    assert_eq!(end.1["error"]["code"], "invalid_argument", "{end:?}");
    let message = end.1["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("request message 2") && message.contains("claimIdd"),
        "{message}"
    );

    // ScrubX12Stream: an 837 in pieces that split segments anywhere.
    let mut claims = vec![clean_claim("X12S-1"), clean_claim("X12S-2")];
    claims[1].lines[0].units = 0.0;
    let text = claimscrub::x12::write::interchange_837p(&claims);
    let mut body = Vec::new();
    for (i, piece) in text.as_bytes().chunks(97).enumerate() {
        let chunk = pb::ScrubX12Chunk {
            data: piece.to_vec(),
            as_of_date: if i == 0 {
                "2025-08-01".into()
            } else {
                String::new()
            },
        };
        body.extend(envelope(
            0,
            to_json(&chunk, "claimscrub.v1.ScrubX12Chunk")
                .to_string()
                .as_bytes(),
        ));
    }
    let reply = stream(http, "ScrubX12Stream", &body).await;
    let frames = envelopes(&reply);
    assert_eq!(frames.len(), 3, "{frames:?}");
    let results: Vec<pb::X12ClaimResult> = frames[..2]
        .iter()
        .map(|(_, v)| from_json(v, "claimscrub.v1.X12ClaimResult"))
        .collect();
    assert_eq!(results[0].claim_id, "X12S-1");
    assert!(
        results[1]
            .response
            .as_ref()
            .unwrap()
            .findings
            .iter()
            .any(|f| f.rule_id == "units-positive")
    );
    assert_eq!(frames[2], (0x02, json!({})));

    // The wrong content type for a streaming method says what to send.
    let reply = post(
        http,
        "/claimscrub.v1.ClaimScrubber/ScrubClaims",
        "application/json",
        None,
        b"{}",
    )
    .await;
    assert_eq!(reply.status, 415);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("application/connect+json")
    );
}

#[tokio::test]
async fn a_dry_run_reads_sample_claims_from_x12_and_fhir() {
    let (_dir, _server, http) = start().await;
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/units-positive.rhai"),
    )
    .unwrap();
    let mut zero = clean_claim("X12-ZERO");
    zero.lines[0].units = 0.0;
    let x12 = claimscrub::x12::write::interchange_837p(&[clean_claim("X12-OK"), zero]);
    let fhir = json!({
        "resourceType": "Claim", "id": "FHIR-ZERO", "status": "active", "use": "claim",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "patient": {"reference": "#p"}, "created": "2025-07-20",
        "contained": [{"resourceType": "Patient", "id": "p", "birthDate": "1950-03-01", "gender": "female"}],
        "provider": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": true, "coverage": {"display": "Medicare"}}],
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}]}}],
        "item": [{"sequence": 1, "diagnosisSequence": [1],
                  "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]},
                  "quantity": {"value": 0}, "net": {"value": 100.0, "currency": "USD"},
                  "servicedDate": "2025-07-15"}]
    });
    use base64::Engine;
    let reply = call(
        http,
        "/claimscrub.v1.RuleAdmin/ValidateRule",
        Some(EDITOR),
        json!({"source": source,
               "sampleX12": base64::engine::general_purpose::STANDARD.encode(&x12),
               "sampleFhir": fhir.to_string()}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let v: pb::ValidateRuleResponse =
        from_json(&reply.json(), "claimscrub.v1.ValidateRuleResponse");
    let ids: Vec<&str> = v.samples.iter().map(|s| s.claim_id.as_str()).collect();
    assert_eq!(ids, ["X12-OK", "X12-ZERO", "FHIR-ZERO"], "{v:?}");
    assert!(v.samples[0].findings.is_empty(), "{v:?}");
    for s in &v.samples[1..] {
        assert_eq!(s.findings.len(), 1, "{s:?}");
        assert_eq!(s.findings[0].line_numbers, [1]);
    }

    // A broken interchange is an error naming the field.
    let reply = call(
        http,
        "/claimscrub.v1.RuleAdmin/ValidateRule",
        Some(EDITOR),
        json!({"source": source, "sampleX12": base64::engine::general_purpose::STANDARD.encode("ISA*garbage~")}),
    )
    .await;
    assert_eq!(reply.status, 400);
    let body = reply.json();
    assert_eq!(
        body["details"][0]["debug"]["fieldViolations"][0]["field"], "sample_x12",
        "{body}"
    );
}

#[tokio::test]
async fn list_rules_names_who_changed_each_rule() {
    let (_dir, _server, http) = start().await;
    let rule = |list: &Value, id: &str| {
        list["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    let list = call(
        http,
        "/claimscrub.v1.RuleAdmin/ListRules",
        Some(VIEWER),
        json!({}),
    )
    .await
    .json();
    assert_eq!(rule(&list, "units-positive")["lastChangedBy"], "file");
    let got = call(
        http,
        "/claimscrub.v1.RuleAdmin/GetRule",
        Some(EDITOR),
        json!({"id": "units-positive"}),
    )
    .await
    .json();
    let source = got["source"]
        .as_str()
        .unwrap()
        .replace("units must be more than zero", "units must be one or more");
    let put = call(
        http,
        "/claimscrub.v1.RuleAdmin/PutRule",
        Some(EDITOR),
        json!({"id": "units-positive", "source": source, "expectedVersion": got["rule"]["version"], "comment": "wording"}),
    )
    .await
    .json();
    assert_eq!(put["accepted"], true, "{put}");
    let disable = call(
        http,
        "/claimscrub.v1.RuleAdmin/DisableRule",
        Some(EDITOR),
        json!({"id": "npi-check-digit", "comment": "trial"}),
    )
    .await;
    assert_eq!(disable.status, 200);
    // The registry reloads from the store; wait for the new version to be in force.
    let mut list = Value::Null;
    for _ in 0..100 {
        list = call(
            http,
            "/claimscrub.v1.RuleAdmin/ListRules",
            Some(VIEWER),
            json!({}),
        )
        .await
        .json();
        if rule(&list, "units-positive")["version"] == put["version"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let changed = rule(&list, "units-positive");
    assert_eq!(changed["lastChangedBy"], "bo", "{changed}");
    assert!(
        changed["lastChangedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{changed}"
    );
    assert_eq!(rule(&list, "npi-check-digit")["lastChangedBy"], "bo");
    assert_eq!(rule(&list, "charge-positive")["lastChangedBy"], "file");
}

/// The OpenAPI document is valid OpenAPI 3.1 by the reference validator
/// (`openapi-spec-validator` from PyPI, which `.ci/run` installs). Without it the test says
/// SKIPPED, unless CLAIMSCRUB_REQUIRE_OPENAPI_VALIDATOR=1 (CI) makes that a failure.
#[tokio::test]
async fn the_openapi_document_passes_the_openapi_3_1_validator() {
    let have = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var("CLAIMSCRUB_REQUIRE_OPENAPI_VALIDATOR").is_err(),
            "python3 with openapi-spec-validator is required (CLAIMSCRUB_REQUIRE_OPENAPI_VALIDATOR=1)"
        );
        support::skipped("python3 -m pip install openapi-spec-validator to run this");
        return;
    }
    let (dir, _server, http) = start().await;
    let mut s = tokio::net::TcpStream::connect(http).await.unwrap();
    s.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, parse(&raw).body).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint('valid')",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
