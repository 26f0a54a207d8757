//! X12 837 in, over real gRPC: claims read from an interchange are scrubbed one by one, each
//! finding located at its 837 segment; an unreadable claim is reported on its own; envelope
//! problems and 004010 files are INVALID_ARGUMENT naming the segment.

mod support;

use claimscrub::proto::v1 as pb;
use support::{TestServer, bundled_rules, config};
use tonic::Code;

/// An interchange around `body` (the segments after ST, before SE), SE01 counted.
fn interchange(body: &[&str]) -> Vec<u8> {
    let isa = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250801*1200*^*00501*000000001*0*P*:~";
    let mut st = vec!["ST*837*0001*005010X222A1".to_string()];
    st.extend(body.iter().map(|s| s.to_string()));
    st.push(format!("SE*{}*0001", st.len() + 1));
    format!(
        "\u{feff}{isa}\nGS*HC*SUB*REC*20250801*1200*1*X*005010X222A1~\n{}~\nGE*1*1~\nIEA*1*000000001~\n",
        st.join("~\n")
    )
    .into_bytes()
}

/// A server whose rules have time enough for the 200-line claims of the synthetic mix in a
/// debug build on a busy machine: the comparisons below are about findings, and a rule that
/// ran out of time would make the two sides differ for a reason that is not the 837.
async fn patient_server() -> TestServer {
    let mut c = config(&bundled_rules());
    c.engine.rule_timeout = std::time::Duration::from_secs(20);
    TestServer::start(c).await
}

const HEADER: &[&str] = &[
    "BHT*0019*00*B1*20250801*1200*CH",
    "NM1*41*2*SUBMITTER*****46*S1",
    "NM1*40*2*RECEIVER*****46*R1",
    "HL*1**20*1",
    "PRV*BI*PXC*207Q00000X",
    "NM1*85*2*CLINIC*****XX*1234567893",
    "HL*2*1*22*0",
    "SBR*P*18*******MB",
    "NM1*IL*1*DOE*JANE****MI*MEMBER1",
    "DMG*D8*19500301*F",
    "NM1*PR*2*MEDICARE*****PI*MCR-J15",
];

#[tokio::test]
async fn an_837p_is_scrubbed_claim_by_claim_with_x12_locations() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut body: Vec<&str> = HEADER.to_vec();
    body.extend([
        // Claim 1: 99213 with modifier ZZ (not a modifier) and a clean second line.
        "CLM*C-ONE*200***11:B:1*Y*A*Y*Y",
        "HI*ABK:E119*ABF:I10",
        "LX*1",
        "SV1*HC:99213:ZZ*100*UN*1***1:2",
        "DTP*472*D8*20250715",
        "REF*6R*LINE-A",
        "LX*2",
        "SV1*HC:97110*100*UN*1***1",
        "DTP*472*D8*20250715",
        // Claim 2: an ICD-9 diagnosis (BK): read, and reported by icd10-validity.
        "CLM*C-TWO*100***11:B:1*Y*A*Y*Y",
        "HI*BK:4019",
        "LX*1",
        "SV1*HC:99213*100*UN*1***1",
        "DTP*472*D8*20250715",
        // Claim 3: clean.
        "CLM*C-THREE*100***11:B:1*Y*A*Y*Y",
        "HI*ABK:I10",
        "LX*1",
        "SV1*HC:99213*100*UN*1***1",
        "DTP*472*D8*20250715",
    ]);
    let resp = server
        .client()
        .await
        .scrub_x12(pb::ScrubX12Request {
            interchange: interchange(&body),
            as_of_date: "2025-08-01".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = resp.claims.iter().map(|c| c.claim_id.as_str()).collect();
    assert_eq!(ids, ["C-ONE", "C-TWO", "C-THREE"], "file order");

    let one = &resp.claims[0];
    let r = one.response.as_ref().unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(one.transaction_control_number, "0001");
    assert_eq!(one.line_control_numbers, ["LINE-A", ""]);
    // ST=1, BHT=2 ... CLM is the 13th segment of the transaction set, SV1 of line 1 the 16th.
    assert_eq!(
        one.claim_location.as_ref().unwrap().text,
        "2300 CLM at segment 13"
    );
    let i = r
        .findings
        .iter()
        .position(|f| f.rule_id == "modifier-validity")
        .expect("ZZ is reported");
    assert_eq!(one.finding_locations.len(), r.findings.len());
    assert_eq!(
        one.finding_locations[i].locations[0].text,
        "2400 SV1-01-3 at segment 16"
    );
    assert_eq!(one.finding_locations[i].locations[0].segment_position, 16);
    let pricing = r.pricing.as_ref().unwrap();
    assert_eq!(pricing.lines.len(), 2);

    let two = &resp.claims[1];
    let r2 = two.response.as_ref().unwrap();
    assert!(r2.error.is_none(), "{:?}", r2.error);
    let i = r2
        .findings
        .iter()
        .position(|f| f.rule_id == "icd10-validity")
        .unwrap();
    assert!(r2.findings[i].message.contains("ICD-9-CM"));
    assert_eq!(r2.findings[i].rarc, ["M76"]);
    // ST=1 ... the second CLM is segment 22, its HI segment 23, element HI01 component 2.
    assert_eq!(
        two.finding_locations[i].locations[0].text,
        "2300 HI-01-2 at segment 23"
    );

    let three = resp.claims[2].response.as_ref().unwrap();
    assert!(three.error.is_none());
    assert!(three.findings.is_empty(), "{:?}", three.findings);
}

#[tokio::test]
async fn envelope_problems_and_004010_are_invalid_arguments_naming_the_segment() {
    let server = TestServer::start(config(&bundled_rules())).await;
    let mut client = server.client().await;
    let call = |bytes: Vec<u8>| {
        let mut client = client.clone();
        async move {
            client
                .scrub_x12(pb::ScrubX12Request {
                    interchange: bytes,
                    as_of_date: String::new(),
                })
                .await
                .unwrap_err()
        }
    };
    let old = String::from_utf8(interchange(HEADER))
        .unwrap()
        .replace("005010X222A1", "004010X098A1");
    let e = call(old.into_bytes()).await;
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("segment 2 (GS08)"), "{}", e.message());
    assert!(e.message().contains("5010"), "{}", e.message());

    let cut = interchange(HEADER);
    let e = call(cut[..cut.len() - 30].to_vec()).await;
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("IEA") || e.message().contains("SE"),
        "{}",
        e.message()
    );

    let e = call(b"not x12 at all".to_vec()).await;
    assert!(e.message().contains("ISA"), "{}", e.message());

    // A wrong SE01 count names SE01.
    let bad = String::from_utf8(interchange(HEADER))
        .unwrap()
        .replace("SE*13*0001", "SE*99*0001");
    let e = call(bad.into_bytes()).await;
    assert!(e.message().contains("(SE01)"), "{}", e.message());
    let _ = client.scrub_x12(pb::ScrubX12Request::default()).await;
}

/// Every real 5010 837 in ../shared/data/x12: claim ids, line counts and billing NPIs as the
/// files spell them (counted here with plain string splitting, not with the parser), and the
/// 4010 files refused with the version named.
#[test]
fn the_shared_837_files_read_as_they_are_written() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/x12");
    if !root.exists() {
        println!("SKIPPED: ../shared/data not found");
        return;
    }
    let mut files = 0;
    for dir in ["5010_837p", "5010_837i", "tr3_examples"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes).to_string();
            let text = text.trim_start_matches('\u{feff}').trim_start();
            let term = text.as_bytes()[105] as char;
            let elem = text.as_bytes()[3] as char;
            let segs: Vec<Vec<&str>> = text
                .split(term)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(|s| s.split(elem).collect())
                .collect();
            // Claim ids, and each claim's LX count (until the next CLM, HL or SE); the CL1
            // patient status of institutional claims.
            let mut expected: Vec<(String, usize)> = Vec::new();
            let mut status: Vec<String> = Vec::new();
            let mut open = false;
            for s in &segs {
                match s[0] {
                    "CLM" => {
                        expected.push((s[1].to_string(), 0));
                        status.push(String::new());
                        open = true;
                    }
                    "CL1" if open => {
                        *status.last_mut().unwrap() = s.get(3).unwrap_or(&"").to_string()
                    }
                    "LX" if open => expected.last_mut().unwrap().1 += 1,
                    "HL" | "SE" => open = false,
                    _ => {}
                }
            }
            let npis: Vec<&str> = segs
                .iter()
                .filter(|s| s[0] == "NM1" && s.get(1) == Some(&"85"))
                .filter_map(|s| s.get(9).copied())
                .collect();
            let read = claimscrub::x12::read_837(&bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let got: Vec<(String, usize)> = read
                .iter()
                .map(|c| (c.claim_id.clone(), c.spots.lines.len()))
                .collect();
            assert_eq!(got, expected, "{}", path.display());
            for (c, status) in read.iter().zip(&status) {
                if let Ok(claim) = &c.claim {
                    let npi = &claim.billing_provider.as_ref().unwrap().npi;
                    assert!(npis.contains(&npi.as_str()), "{}: {npi}", path.display());
                    assert_eq!(&claim.patient_status, status, "{}", path.display());
                }
            }
            files += 1;
        }
    }
    assert!(files >= 30, "{files} files");
    for entry in std::fs::read_dir(root.join("4010_837")).unwrap() {
        let path = entry.unwrap().path();
        let e = claimscrub::x12::read_837(&std::fs::read(&path).unwrap()).unwrap_err();
        assert!(e.to_string().contains("5010"), "{}: {e}", path.display());
    }
}

/// Round trip: synthetic claims written as an 837P and read back are the same claims, and the
/// same claim scrubbed as a proto and as an 837 gets the same findings.
#[tokio::test]
async fn claims_written_as_837_read_back_the_same_and_scrub_the_same() {
    let mut claims = claimscrub::synth::mix(200, 11);
    for c in &mut claims {
        // The 837 carries the claim's payer and a billing taxonomy; make them explicit.
        c.billing_provider.get_or_insert_with(Default::default);
    }
    let text = claimscrub::x12::write::interchange_837p(&claims);
    let read = claimscrub::x12::read_837(text.as_bytes()).unwrap();
    assert_eq!(read.len(), claims.len());
    for (orig, r) in claims.iter().zip(&read) {
        let back = r.claim.as_ref().unwrap();
        assert_eq!(back.claim_id, orig.claim_id);
        assert_eq!(back.lines.len(), orig.lines.len());
        for (a, b) in orig.lines.iter().zip(&back.lines) {
            assert_eq!(
                (
                    &a.procedure_code,
                    &a.modifiers,
                    a.units,
                    a.charge_cents,
                    &a.service_date
                ),
                (
                    &b.procedure_code,
                    &b.modifiers,
                    b.units,
                    b.charge_cents,
                    &b.service_date
                ),
                "claim {}",
                orig.claim_id
            );
            assert_eq!(a.diagnosis_pointers, b.diagnosis_pointers);
        }
        let codes = |c: &pb::Claim| -> Vec<String> {
            c.diagnoses
                .iter()
                .map(|d| d.code.replace('.', ""))
                .collect()
        };
        assert_eq!(codes(orig), codes(back));
        assert_eq!(
            orig.billing_provider.as_ref().unwrap().npi,
            back.billing_provider.as_ref().unwrap().npi
        );
        assert_eq!(orig.place_of_service, back.place_of_service);
    }

    let server = patient_server().await;
    let mut client = server.client().await;
    let x12 = client
        .scrub_x12(pb::ScrubX12Request {
            interchange: claimscrub::x12::write::interchange_837p(&claims[..40]).into_bytes(),
            as_of_date: "2025-01-02".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut fired = 0;
    for (c, r) in claims[..40].iter().zip(&x12.claims) {
        let direct = client
            .scrub_claim(pb::ScrubClaimRequest {
                claim: Some(c.clone()),
                as_of_date: "2025-01-02".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let key = |resp: &pb::ScrubClaimResponse| -> Vec<(String, Vec<u32>)> {
            resp.findings
                .iter()
                .map(|f| (f.rule_id.clone(), f.line_numbers.clone()))
                .collect()
        };
        let via = r.response.as_ref().unwrap();
        assert!(direct.rule_failures.is_empty() && via.rule_failures.is_empty());
        assert_eq!(key(&direct), key(via), "claim {}", c.claim_id);
        fired += usize::from(!direct.findings.is_empty());
    }
    assert!(
        fired > 5,
        "the comparison covers claims with findings ({fired})"
    );
}

/// The streaming form: an interchange sent in odd-sized pieces gives the same results as the
/// unary call, in file order; a broken trailer ends the stream with INVALID_ARGUMENT after the
/// results of the claims before it.
#[tokio::test]
async fn a_large_837_streamed_in_pieces_scrubs_like_the_unary_call() {
    let claims = claimscrub::synth::mix(120, 5);
    let text = claimscrub::x12::write::interchange_837p(&claims);
    let server = patient_server().await;
    let mut client = server.client().await;
    let pieces = |bytes: &[u8], size: usize| -> Vec<pb::ScrubX12Chunk> {
        bytes
            .chunks(size)
            .enumerate()
            .map(|(i, p)| pb::ScrubX12Chunk {
                data: p.to_vec(),
                as_of_date: if i == 0 {
                    "2025-01-02".into()
                } else {
                    String::new()
                },
            })
            .collect()
    };
    let mut stream = client
        .scrub_x12_stream(futures::stream::iter(pieces(text.as_bytes(), 997)))
        .await
        .unwrap()
        .into_inner();
    let mut streamed = Vec::new();
    while let Some(r) = stream.message().await.unwrap() {
        streamed.push(r);
    }
    let unary = client
        .scrub_x12(pb::ScrubX12Request {
            interchange: text.clone().into_bytes(),
            as_of_date: "2025-01-02".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(streamed.len(), claims.len());
    let ids: Vec<&str> = streamed.iter().map(|r| r.claim_id.as_str()).collect();
    let want: Vec<&str> = claims.iter().map(|c| c.claim_id.as_str()).collect();
    assert_eq!(ids, want, "file order");
    let findings = |r: &pb::X12ClaimResult| -> Vec<(String, Vec<String>)> {
        let resp = r.response.as_ref().unwrap();
        resp.findings
            .iter()
            .zip(&r.finding_locations)
            .map(|(f, l)| {
                let at = l.locations.iter().map(|x| x.text.clone()).collect();
                (f.rule_id.clone(), at)
            })
            .collect()
    };
    for (s, u) in streamed.iter().zip(&unary.claims) {
        let failures = |r: &pb::X12ClaimResult| r.response.as_ref().unwrap().rule_failures.len();
        assert_eq!((failures(s), failures(u)), (0, 0), "claim {}", s.claim_id);
        assert_eq!(findings(s), findings(u), "claim {}", s.claim_id);
    }
    assert!(streamed.iter().any(|r| !findings(r).is_empty()));

    // The interchange trailer names another control number: every claim is still reported,
    // then the stream ends naming IEA02.
    let bad = text.replace("IEA*1*000000001", "IEA*1*000000009");
    assert_ne!(bad, text);
    let mut stream = client
        .scrub_x12_stream(futures::stream::iter(pieces(bad.as_bytes(), 4096)))
        .await
        .unwrap()
        .into_inner();
    let mut got = 0;
    let err = loop {
        match stream.message().await {
            Ok(Some(_)) => got += 1,
            Ok(None) => panic!("the stream ended without the error"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, claims.len());
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("(IEA02)"), "{}", err.message());

    // Binary garbage: an error naming the ISA, no results.
    let mut stream = client
        .scrub_x12_stream(futures::stream::iter(vec![pb::ScrubX12Chunk {
            data: vec![0x00, 0xff, 0x17, 0x80],
            as_of_date: String::new(),
        }]))
        .await
        .unwrap()
        .into_inner();
    let e = stream.message().await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("ISA"), "{}", e.message());
}
