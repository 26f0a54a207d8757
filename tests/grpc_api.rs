//! The ClaimScrubber contract over real gRPC: happy path, validation errors with field paths,
//! streams with bad claims in the middle, health and reflection.

mod support;

use claimscrub::proto::v1 as pb;
use futures::StreamExt;
use support::{TestServer, bundled_rules, clean_claim, config, line, request, rule_ids};
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn clean_claim_scores_low_with_no_findings() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let resp = server
        .client()
        .await
        .scrub_claim(request(clean_claim("CLEAN-1")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.claim_id, "CLEAN-1");
    assert!(resp.findings.is_empty(), "{:?}", resp.findings);
    assert!(resp.rule_failures.is_empty());
    assert_eq!(resp.denial_risk, 0.0);
    assert_eq!(resp.risk_band, pb::RiskBand::Low as i32);
    assert_eq!(resp.ruleset_version, server.registry.snapshot().version);
    // Every bundled edit rule except the three medical-necessity policies and the two
    // screening-frequency rules, whose procedure codes are not on this claim (they are
    // skipped by the applicability index); payer contracts price claims and are not counted.
    let edits = server
        .registry
        .snapshot()
        .rules
        .iter()
        .filter(|r| r.meta.kind == claimscrub::rules::RuleKind::Edit)
        .count();
    assert_eq!(resp.rules_evaluated as usize, edits - 5);
    assert_eq!(resp.table_versions.len(), 14);
    // The bundled NCCI, MUE, AOC, MCE, HCPCS and PFS tables are samples and say so; the
    // ICD-10-CM code sets, the GPCI file and the example fee table are complete.
    let samples: Vec<&str> = resp
        .table_versions
        .iter()
        .filter(|v| v.sample)
        .map(|v| v.kind.as_str())
        .collect();
    assert_eq!(
        samples,
        [
            "ncci_ptp", "ncci_ptp", "mue", "mue", "mue", "aoc", "mce", "hcpcs", "pfs_rvu"
        ],
        "{:?}",
        resp.table_versions
    );
    assert_eq!(resp.as_of_date, "2025-08-01");
}

#[tokio::test]
async fn problems_produce_findings_and_combined_risk() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut claim = clean_claim("BAD-1");
    claim.billing_provider.as_mut().unwrap().npi = "1234567890".into();
    let mut zero = line(2, "97140", "2025-07-15");
    zero.units = 0.0;
    claim.lines.push(zero);
    let resp = server
        .client()
        .await
        .scrub_claim(request(claim))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rule_ids(&resp), ["npi-check-digit", "units-positive"]);
    let npi = &resp.findings[0];
    assert_eq!(npi.carc, "CO-16");
    assert_eq!(npi.severity, pb::Severity::Error as i32);
    assert_eq!(npi.field, "billing_provider.npi");
    assert!(!npi.suggestion.is_empty());
    assert_eq!(npi.rule_version.len(), 12);
    assert_eq!(resp.findings[1].line_numbers, [2]);
    // 1 - (1 - 0.95)(1 - 0.9) = 0.995
    assert!(
        (resp.denial_risk - 0.995).abs() < 1e-9,
        "{}",
        resp.denial_risk
    );
    assert_eq!(resp.risk_band, pb::RiskBand::High as i32);
}

/// Each structurally invalid claim is rejected with INVALID_ARGUMENT naming the field path,
/// both in the message and as a google.rpc.BadRequest field violation.
#[tokio::test]
async fn invalid_claims_name_the_field() {
    let mut cfg = config(&bundled_rules());
    cfg.scrub.limits.max_lines = 3;
    let server = TestServer::start(cfg).await;
    let mut client = server.client().await;

    let mut cases: Vec<(&str, pb::ScrubClaimRequest)> = Vec::new();
    cases.push(("claim", pb::ScrubClaimRequest::default()));
    let mut c = clean_claim("X");
    c.lines.clear();
    cases.push(("claim.lines", request(c)));
    let mut c = clean_claim("X");
    c.lines[0].service_date = "2024-02-30".into();
    cases.push(("claim.lines[0].service_date", request(c)));
    let mut c = clean_claim("X");
    c.lines.push(line(2, "99214", "2025-07-15"));
    c.lines.push(line(3, "36415", "2025-07-15"));
    c.lines[2].diagnosis_pointers = vec![1, 2];
    cases.push(("claim.lines[2].diagnosis_pointers[1]", request(c)));
    let mut c = clean_claim("X");
    c.lines = (1..=4).map(|n| line(n, "99213", "2025-07-15")).collect();
    cases.push(("claim.lines", request(c)));
    let mut c = clean_claim("X");
    c.claim_id = "A".repeat(65);
    cases.push(("claim.claim_id", request(c)));
    let mut c = clean_claim("X");
    c.lines[0].procedure_code = "9921".into();
    cases.push(("claim.lines[0].procedure_code", request(c)));
    let mut c = clean_claim("X");
    c.lines[0].modifiers = vec!["5".into()];
    cases.push(("claim.lines[0].modifiers[0]", request(c)));
    let mut c = clean_claim("X");
    c.diagnoses[0].code = "E1.19".into();
    cases.push(("claim.diagnoses[0].code", request(c)));
    let mut c = clean_claim("X");
    c.billing_provider.as_mut().unwrap().npi = "12345".into();
    cases.push(("claim.billing_provider.npi", request(c)));
    let mut r = request(clean_claim("X"));
    r.as_of_date = "tomorrow".into();
    cases.push(("as_of_date", r));

    for (field, req) in cases {
        let status = client.scrub_claim(req).await.expect_err(field);
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().starts_with(field),
            "{field}: {}",
            status.message()
        );
        let details = status
            .get_details_bad_request()
            .expect("BadRequest details");
        assert_eq!(details.field_violations[0].field, field);
        assert!(!details.field_violations[0].description.is_empty());
    }
}

/// Clinically wrong but well-formed claims are not errors: a male patient with a pregnancy
/// code, zero units, an unknown ICD-10 code all come back as scored responses.
#[tokio::test]
async fn clinically_wrong_claims_are_scored_not_rejected() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut c = clean_claim("ODD-1");
    c.patient.as_mut().unwrap().sex = pb::Sex::Male as i32;
    c.diagnoses[0].code = "O09.90".into();
    c.diagnoses.push(pb::Diagnosis {
        code: "Z99Z".into(),
        present_on_admission: String::new(),
        code_system: String::new(),
    });
    c.lines[0].units = 0.0;
    let resp = server
        .client()
        .await
        .scrub_claim(request(c))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.error.is_none());
    assert_eq!(
        rule_ids(&resp),
        ["icd10-validity", "mce-age-sex", "units-positive"],
        "unknown code, maternity code at 75, zero units (the MCE has no sex edit from FY2025)"
    );
}

#[tokio::test]
async fn stream_answers_in_order_and_survives_a_bad_claim() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut bad = clean_claim("S-2");
    bad.lines[0].diagnosis_pointers = vec![9];
    let mut zero = clean_claim("S-3");
    zero.lines[0].units = 0.0;
    let reqs = vec![
        request(clean_claim("S-1")),
        request(bad),
        request(zero),
        request(clean_claim("S-4")),
    ];
    let responses: Vec<_> = server
        .client()
        .await
        .scrub_claims(futures::stream::iter(reqs))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    let responses: Vec<_> = responses.into_iter().map(Result::unwrap).collect();
    let ids: Vec<_> = responses.iter().map(|r| r.claim_id.as_str()).collect();
    assert_eq!(ids, ["S-1", "S-2", "S-3", "S-4"]);
    let err = responses[1].error.as_ref().expect("S-2 is invalid");
    assert_eq!(err.code, "INVALID_ARGUMENT");
    assert_eq!(err.field, "claim.lines[0].diagnosis_pointers[0]");
    assert!(responses[1].findings.is_empty());
    assert!(responses[0].error.is_none() && responses[3].error.is_none());
    assert_eq!(rule_ids(&responses[2]), ["units-positive"]);
}

#[tokio::test]
async fn long_stream_keeps_order() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let n = 3_000;
    let reqs = (0..n).map(|i| {
        let mut c = clean_claim(&format!("L-{i}"));
        if i % 7 == 0 {
            c.lines[0].units = 0.0;
        }
        request(c)
    });
    let mut stream = server
        .client()
        .await
        .scrub_claims(futures::stream::iter(reqs))
        .await
        .unwrap()
        .into_inner();
    let mut i = 0;
    while let Some(resp) = stream.next().await {
        let resp = resp.unwrap();
        assert_eq!(resp.claim_id, format!("L-{i}"));
        assert_eq!(resp.findings.len(), usize::from(i % 7 == 0), "claim {i}");
        i += 1;
    }
    assert_eq!(i, n);
}

#[tokio::test]
async fn health_is_serving() {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "claimscrub.v1.ClaimScrubber"] {
        let resp = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(resp.status, 1, "SERVING for {service:?}");
    }
}

/// `--health-listen`: a plain-text port with the health service only (for probes when the
/// main port uses TLS); the scrub API is not there.
#[tokio::test]
async fn a_health_only_listener_answers_probes_and_nothing_else() {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut c = config(&bundled_rules());
    c.health_listen = Some(port);
    let _server = TestServer::start(c).await;
    let url = format!("http://{port}");
    let channel = support::connect_when_up(&url, std::time::Duration::from_secs(5))
        .await
        .expect("the health port listens");
    let resp = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.status, 1);
    let status = claimscrub::proto::v1::claim_scrubber_client::ClaimScrubberClient::new(channel)
        .scrub_claim(request(clean_claim("NOT-HERE")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

#[tokio::test]
async fn reflection_lists_the_service_in_v1_and_v1alpha() {
    use tonic_reflection::pb::{v1, v1alpha};
    let server = TestServer::start(config(&bundled_rules())).await;

    let mut client =
        v1::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        stream.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"claimscrub.v1.ClaimScrubber"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");

    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "claimscrub.v1.ClaimScrubber".into(),
            ),
        ),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let resp = stream.next().await.unwrap().unwrap();
    assert!(matches!(
        resp.message_response,
        Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
    ));

    // The error details' types are reflected too, so grpcurl can decode a BadRequest.
    let mut client =
        v1::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                "google.rpc.BadRequest".into(),
            ),
        ),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let resp = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(
            resp.message_response,
            Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
        ),
        "{resp:?}"
    );
}

#[tokio::test]
async fn shutdown_drains_and_stops() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut client = server.client().await;
    client
        .scrub_claim(request(clean_claim("D-1")))
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server.stop())
        .await
        .expect("server stops within the grace period")
        .unwrap();
}

#[tokio::test]
async fn many_bad_lines_get_a_bounded_error_an_ordinary_client_can_read() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut claim = clean_claim("MANY-BAD");
    let template = claim.lines[0].clone();
    claim.lines = (1..=300)
        .map(|n| pb::ServiceLine {
            line_number: n,
            units: -1.0,
            charge_cents: -1,
            procedure_code: "not a code".into(),
            ..template.clone()
        })
        .collect();
    // A default client (16 KiB metadata limit) receives the violations, not RESOURCE_EXHAUSTED.
    let status = server
        .client()
        .await
        .scrub_claim(request(claim))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let violations = &details.bad_request().expect("BadRequest").field_violations;
    assert_eq!(violations.len(), 51, "the first 50 and a count of the rest");
    assert_eq!(violations[0].field, "claim.lines[0].procedure_code");
    let last = violations.last().unwrap();
    assert_eq!(last.field, "claim");
    assert!(
        last.description.contains("more problems not listed"),
        "{}",
        last.description
    );
}

/// Requests that cannot be decoded get the documented codes: bytes that are not a
/// ScrubClaimRequest are INVALID_ARGUMENT, a message over the size limit RESOURCE_EXHAUSTED.
#[tokio::test]
async fn undecodable_and_oversized_requests_get_clear_codes() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    // Field 1 of ScrubClaimRequest is a Claim message; "x" (0x78) is not one.
    let codec = tonic_prost::ProstCodec::<pb::GetRuleRequest, pb::ScrubClaimResponse>::default();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/claimscrub.v1.ClaimScrubber/ScrubClaim",
    );
    let status = grpc
        .unary(
            tonic::Request::new(pb::GetRuleRequest { id: "x".into() }),
            path,
            codec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    let mut claim = clean_claim("HUGE");
    claim.prior_authorization = "x".repeat(5 * 1024 * 1024);
    let status = server
        .client()
        .await
        .scrub_claim(request(claim))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
}

#[tokio::test]
async fn findings_carry_remark_codes_request_paths_descriptions_and_fixes() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut claim = clean_claim("SHAPE-1");
    claim.billing_provider.as_mut().unwrap().npi = "1234567890".into();
    // Lines 1 and 2 are exact duplicates; line 3 has 8 units of 97110 (MUE 6, MAI 3).
    claim.lines.push(line(2, "99213", "2025-07-15"));
    let mut therapy = line(3, "97110", "2025-07-15");
    therapy.units = 8.0;
    claim.lines.push(therapy);
    let resp = server
        .client()
        .await
        .scrub_claim(request(claim))
        .await
        .unwrap()
        .into_inner();
    let npi = resp
        .findings
        .iter()
        .find(|f| f.rule_id == "npi-check-digit")
        .unwrap();
    assert_eq!(npi.request_field, "claim.billing_provider.npi");
    assert_eq!(
        npi.carc_description,
        "Claim/service lacks information or has submission/billing error(s)."
    );
    assert_eq!(npi.rarc.len(), 1);
    assert_eq!(npi.rarc_descriptions.len(), 1);
    assert!(!npi.rarc_descriptions[0].is_empty());
    assert!(npi.actions.is_empty(), "a wrong NPI needs a person");

    let dup = resp
        .findings
        .iter()
        .find(|f| f.rule_id == "duplicate-line")
        .unwrap();
    assert_eq!(dup.actions.len(), 1);
    assert_eq!(dup.actions[0].kind, pb::FixKind::RemoveLine as i32);
    assert_eq!(dup.actions[0].line_number, 2);

    let mue = resp.findings.iter().find(|f| f.rule_id == "mue").unwrap();
    assert_eq!(mue.rarc, ["N362"]);
    assert_eq!(
        mue.rarc_descriptions,
        ["The number of Days or Units of Service exceeds our acceptable maximum."]
    );
    assert_eq!(mue.actions[0].kind, pb::FixKind::SetUnits as i32);
    assert_eq!(mue.actions[0].line_number, 3);
    assert_eq!(mue.actions[0].units, 6.0);
}
