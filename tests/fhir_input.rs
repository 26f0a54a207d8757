//! FHIR R4 in, over real gRPC: the official R4 Claim examples map with their codes (values
//! read from the files with plain JSON, not with the mapper), Claim-MED-00050 scrubs like the
//! same claim sent as a proto, a Bundle's claims are scrubbed one by one with findings located
//! by FHIR path, the same claims as proto, 837 and FHIR get the same findings, and bad input is
//! INVALID_ARGUMENT naming the path.

mod support;

use claimscrub::proto::v1 as pb;
use serde_json::{Value, json};
use support::{TestServer, bundled_rules, config};
use tonic::Code;

fn shared_fhir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/fhir");
    dir.exists().then_some(dir)
}

/// The first coding's code of a CodeableConcept in a JSON file.
fn code_of(v: &Value) -> String {
    v["coding"][0]["code"].as_str().unwrap_or("").to_string()
}

#[test]
fn the_official_r4_claim_examples_map_with_their_codes() {
    let Some(dir) = shared_fhir() else {
        println!("SKIPPED: ../shared/data not found");
        return;
    };
    let mut files = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("Claim-") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let file: Value = serde_json::from_str(&text).unwrap();
        let read = claimscrub::fhir::read(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(read.len(), 1, "{name}");
        let r = &read[0];
        let id = file["identifier"][0]["value"]
            .as_str()
            .or(file["id"].as_str())
            .unwrap();
        assert_eq!(r.claim_id, id, "{name}");
        let items = file["item"].as_array().unwrap();
        assert_eq!(r.claim.lines.len(), items.len(), "{name}");
        for (i, (item, line)) in items.iter().zip(&r.claim.lines).enumerate() {
            assert_eq!(
                line.procedure_code,
                code_of(&item["productOrService"]),
                "{name} item {i}"
            );
            assert_eq!(line.line_number as u64, item["sequence"].as_u64().unwrap());
            let mods: Vec<String> = item["modifier"]
                .as_array()
                .map(|m| m.iter().map(code_of).collect())
                .unwrap_or_default();
            assert_eq!(line.modifiers, mods, "{name} item {i}");
        }
        // Diagnoses given as codes, in sequence order (the files list them in order).
        let dx: Vec<String> = file["diagnosis"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|x| x.get("diagnosisCodeableConcept"))
                    .map(code_of)
                    .collect()
            })
            .unwrap_or_default();
        let mapped: Vec<String> = r
            .claim
            .diagnoses
            .iter()
            .map(|d| d.code.clone())
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(mapped, dx, "{name}");
        // Codes from other code systems (dental, vision, pharmacy examples) are named with
        // their path and system, not silently taken as CPT.
        for (i, item) in items.iter().enumerate() {
            let system = item["productOrService"]["coding"][0]["system"]
                .as_str()
                .unwrap_or("");
            if !system.is_empty() && !system.contains("ama-assn.org") {
                let at = format!("Claim.item[{i}].productOrService");
                assert!(
                    r.problems
                        .iter()
                        .any(|(p, m)| *p == at && m.contains(system)),
                    "{name}: {:?}",
                    r.problems
                );
            }
        }
        if name == "Claim-MED-00050.json" {
            assert!(r.problems.is_empty(), "{:?}", r.problems);
            let c = &r.claim;
            assert_eq!(c.type_of_bill, "0831");
            assert_eq!(c.patient_status, "01", "supportingInfo discharge");
            assert_eq!(c.lines[0].diagnosis_pointers, vec![2, 4]);
            assert_eq!(c.lines[0].charge_cents, 1_250_000);
            assert_eq!(c.lines[0].place_of_service, "24");
            assert_eq!(c.patient.as_ref().unwrap().birth_date, "1954-06-11");
            assert_eq!(c.payer.as_ref().unwrap().payer_id, "123456");
        }
    }
    assert_eq!(files, 17, "the 17 official Claim examples");
}

/// Claim-MED-00050 as the proto a billing system would send for it (values copied from the
/// file by hand).
fn med_00050_as_proto() -> pb::Claim {
    let dx = |code: &str| pb::Diagnosis {
        code: code.into(),
        ..Default::default()
    };
    pb::Claim {
        claim_id: "MED-00050".into(),
        claim_type: pb::ClaimType::Institutional as i32,
        payer: Some(pb::Payer {
            payer_id: "123456".into(),
            r#type: 0,
        }),
        patient: Some(pb::Patient {
            birth_date: "1954-06-11".into(),
            sex: pb::Sex::Female as i32,
            member_id: String::new(),
        }),
        billing_provider: Some(pb::Provider::default()),
        frequency_code: "1".into(),
        diagnoses: vec![dx("M96.1"), dx("G89.4"), dx("M53.88"), dx("M47.816")],
        lines: vec![pb::ServiceLine {
            line_number: 1,
            procedure_code: "62264".into(),
            units: 1.0,
            charge_cents: 1_250_000,
            service_date: "2015-10-13".into(),
            diagnosis_pointers: vec![2, 4],
            place_of_service: "24".into(),
            ..Default::default()
        }],
        submission_date: "2015-10-16".into(),
        type_of_bill: "0831".into(),
        patient_status: "01".into(),
        ..Default::default()
    }
}

fn keys(resp: &pb::ScrubClaimResponse) -> Vec<(String, Vec<u32>, String)> {
    let mut k: Vec<_> = resp
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.line_numbers.clone(), f.carc.clone()))
        .collect();
    k.sort();
    k
}

#[tokio::test]
async fn med_00050_scrubs_like_the_same_claim_sent_as_a_proto() {
    let Some(dir) = shared_fhir() else {
        println!("SKIPPED: ../shared/data not found");
        return;
    };
    let text = std::fs::read_to_string(dir.join("Claim-MED-00050.json")).unwrap();
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut client = server.client().await;
    for as_of in ["2015-11-01", "2016-01-15"] {
        let fhir = client
            .scrub_fhir_claim(pb::ScrubFhirClaimRequest {
                resource: text.clone(),
                as_of_date: as_of.into(),
                operation_outcome: true,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(fhir.claims.len(), 1);
        let r = &fhir.claims[0];
        assert_eq!(
            (r.claim_id.as_str(), r.resource_path.as_str()),
            ("MED-00050", "Claim")
        );
        let via = r.response.as_ref().unwrap();
        assert!(via.error.is_none(), "{:?}", via.error);
        let direct = client
            .scrub_claim(pb::ScrubClaimRequest {
                claim: Some(med_00050_as_proto()),
                as_of_date: as_of.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(keys(via), keys(&direct), "as of {as_of}");
        assert_eq!(via.denial_risk, direct.denial_risk);
        assert!(
            !direct.findings.is_empty(),
            "the comparison covers findings"
        );
        // Every finding is located; the OperationOutcome carries one issue per finding.
        assert_eq!(r.finding_locations.len(), via.findings.len());
        let oo: Value = serde_json::from_str(&r.operation_outcome).unwrap();
        assert_eq!(oo["resourceType"], "OperationOutcome");
        assert_eq!(oo["issue"].as_array().unwrap().len(), via.findings.len());
        assert_eq!(oo["issue"][0]["code"], "business-rule");
    }
}

/// A professional claim as a FHIR R4 Claim (test helper; the mapping it follows is
/// docs/INPUT_FORMATS.md's): contained Patient and Coverage, NPI as a logical reference.
fn to_fhir(c: &pb::Claim) -> Value {
    let patient = c.patient.clone().unwrap_or_default();
    let payer = c.payer.clone().unwrap_or_default();
    let sopt = match pb::PayerType::try_from(payer.r#type) {
        Ok(pb::PayerType::Medicare) => "1",
        Ok(pb::PayerType::Medicaid) => "2",
        Ok(pb::PayerType::Commercial) => "5",
        _ => "9",
    };
    let items: Vec<Value> = c
        .lines
        .iter()
        .map(|l| {
            let mut item = json!({
                "sequence": l.line_number,
                "diagnosisSequence": l.diagnosis_pointers,
                "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": l.procedure_code}]},
                "modifier": l.modifiers.iter().map(|m| json!({"coding": [{"code": m}]})).collect::<Vec<_>>(),
                "quantity": {"value": l.units},
                "net": {"value": l.charge_cents as f64 / 100.0, "currency": "USD"},
                "locationCodeableConcept": {"coding": [{"system": "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set", "code": if l.place_of_service.is_empty() { &c.place_of_service } else { &l.place_of_service }}]},
            });
            if l.service_date_to.is_empty() {
                item["servicedDate"] = json!(l.service_date);
            } else {
                item["servicedPeriod"] = json!({"start": l.service_date, "end": l.service_date_to});
            }
            item
        })
        .collect();
    json!({
        "resourceType": "Claim",
        "id": c.claim_id,
        "contained": [
            {"resourceType": "Patient", "id": "p", "birthDate": patient.birth_date,
             "gender": match pb::Sex::try_from(patient.sex) { Ok(pb::Sex::Female) => "female", Ok(pb::Sex::Male) => "male", _ => "unknown" }},
            {"resourceType": "Coverage", "id": "cov",
             "type": {"coding": [{"system": "https://nahdo.org/sopt", "code": sopt}]},
             "payor": [{"identifier": {"value": payer.payer_id}}]}
        ],
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim",
        "patient": {"reference": "#p"},
        "created": if c.submission_date.is_empty() { "2025-01-02".to_string() } else { c.submission_date.clone() },
        "provider": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": c.billing_provider.clone().unwrap_or_default().npi}},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": "#cov"}}],
        "diagnosis": c.diagnoses.iter().enumerate().map(|(i, d)| json!({
            "sequence": i + 1,
            "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": d.code}]}
        })).collect::<Vec<_>>(),
        "item": items,
    })
}

#[tokio::test]
async fn the_same_claims_as_proto_837_and_fhir_get_the_same_findings() {
    let mut c = config(&bundled_rules());
    // Time enough for the mix's long claims in a debug build on a busy machine.
    c.engine.rule_timeout = std::time::Duration::from_secs(20);
    let server = TestServer::start(c).await;
    let mut client = server.client().await;
    let claims = claimscrub::synth::mix(30, 3);
    let as_of = "2025-01-02";
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": claims.iter().map(|c| json!({"resource": to_fhir(c)})).collect::<Vec<_>>(),
    });
    let fhir = client
        .scrub_fhir_claim(pb::ScrubFhirClaimRequest {
            resource: bundle.to_string(),
            as_of_date: as_of.into(),
            operation_outcome: false,
        })
        .await
        .unwrap()
        .into_inner();
    let x12 = client
        .scrub_x12(pb::ScrubX12Request {
            interchange: claimscrub::x12::write::interchange_837p(&claims).into_bytes(),
            as_of_date: as_of.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fhir.claims.len(), claims.len());
    let mut fired = 0;
    for ((c, f), x) in claims.iter().zip(&fhir.claims).zip(&x12.claims) {
        let direct = client
            .scrub_claim(pb::ScrubClaimRequest {
                claim: Some(c.clone()),
                as_of_date: as_of.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let f_resp = f.response.as_ref().unwrap();
        let x_resp = x.response.as_ref().unwrap();
        assert!(f_resp.error.is_none(), "{:?}", f_resp.error);
        assert!(direct.rule_failures.is_empty() && f_resp.rule_failures.is_empty());
        assert_eq!(keys(&direct), keys(f_resp), "claim {} (FHIR)", c.claim_id);
        assert_eq!(keys(&direct), keys(x_resp), "claim {} (837)", c.claim_id);
        fired += usize::from(!direct.findings.is_empty());
        // Findings on lines are located at those items.
        for (finding, at) in f_resp.findings.iter().zip(&f.finding_locations) {
            for n in &finding.line_numbers {
                let item = format!("Claim.item[{}]", n - 1);
                assert!(
                    at.expressions.iter().any(|e| e.starts_with(&item)),
                    "{} {:?}",
                    finding.rule_id,
                    at.expressions
                );
            }
        }
    }
    assert!(
        fired > 3,
        "the comparison covers claims with findings ({fired})"
    );
}

#[tokio::test]
async fn a_bundle_locates_findings_by_fhir_path_and_reports_a_broken_claim_on_its_own() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut client = server.client().await;
    let mut good = claimscrub::synth::mix(1, 9).remove(0);
    good.claim_id = "GOOD-1".into();
    good.lines.truncate(2);
    good.lines[1].modifiers = vec!["ZZ".into()];
    let mut broken = to_fhir(&good);
    broken["id"] = json!("BROKEN-1");
    broken["item"][0]["diagnosisSequence"] = json!([7]);
    // In a Bundle, the patient is an entry of its own.
    let mut good_fhir = to_fhir(&good);
    good_fhir["patient"] = json!({"reference": "Patient/pat-1"});
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "pat-1", "birthDate": "1950-01-01", "gender": "female"}},
            {"resource": good_fhir},
            {"resource": broken},
        ],
    });
    let resp = client
        .scrub_fhir_claim(pb::ScrubFhirClaimRequest {
            resource: bundle.to_string(),
            as_of_date: "2025-01-02".into(),
            operation_outcome: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.claims.len(), 2);
    let (g, b) = (&resp.claims[0], &resp.claims[1]);
    assert_eq!(g.resource_path, "Bundle.entry[1].resource");
    let g_resp = g.response.as_ref().unwrap();
    assert!(g_resp.error.is_none());
    let i = g_resp
        .findings
        .iter()
        .position(|f| f.rule_id == "modifier-validity")
        .expect("the unknown modifier is found");
    assert_eq!(
        g.finding_locations[i].expressions,
        vec!["Claim.item[1].modifier[0]"]
    );
    let oo: Value = serde_json::from_str(&g.operation_outcome).unwrap();
    assert!(
        oo["issue"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["expression"][0] == "Claim.item[1].modifier[0]")
    );

    assert_eq!(
        (b.claim_id.as_str(), b.resource_path.as_str()),
        ("BROKEN-1", "Bundle.entry[2].resource")
    );
    let e = b
        .response
        .as_ref()
        .unwrap()
        .error
        .as_ref()
        .expect("not scrubbed");
    assert_eq!(e.code, "INVALID_ARGUMENT");
    assert_eq!(e.field, "Claim.item[0].diagnosisSequence[0]");
    assert!(e.message.contains("sequence 7"), "{}", e.message);
    assert_eq!(
        b.error_locations[0].expressions,
        vec!["Claim.item[0].diagnosisSequence[0]"]
    );
    let oo: Value = serde_json::from_str(&b.operation_outcome).unwrap();
    assert_eq!(oo["issue"][0]["severity"], "error");
}

#[tokio::test]
async fn bad_fhir_input_is_an_invalid_argument_naming_the_path() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let client = server.client().await;
    let call = |resource: String| {
        let mut client = client.clone();
        async move {
            client
                .scrub_fhir_claim(pb::ScrubFhirClaimRequest {
                    resource,
                    ..Default::default()
                })
                .await
                .unwrap_err()
        }
    };
    let e = call("{not json".into()).await;
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("not JSON"), "{}", e.message());
    let e = call(json!({"resourceType": "Patient"}).to_string()).await;
    assert!(
        e.message().contains("resourceType") && e.message().contains("Patient"),
        "{}",
        e.message()
    );
    let e = call(json!({"resourceType": "Bundle", "entry": []}).to_string()).await;
    assert!(e.message().contains("no Claim"), "{}", e.message());
    let mut c = to_fhir(&claimscrub::synth::mix(1, 1)[0]);
    c["item"][0]["quantity"]["value"] = json!("two");
    let e = call(c.to_string()).await;
    assert!(
        e.message().contains("Claim.item[0].quantity.value"),
        "{}",
        e.message()
    );
    // Deeply nested JSON is refused by the parser's depth limit, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = call(deep).await;
    assert_eq!(e.code(), Code::InvalidArgument);
}
