//! Calibration on a generated history whose true denial rates are known: claims with zero
//! units (flagged by units-positive, CO-16, declared 0.9) are scrubbed over gRPC for two
//! payers, recorded by the server, then 835s come back in which payer A denied 30% of them
//! with CO-16 and payer B 80%. The calibrated probabilities land within their credible
//! interval of the truth, move from the declared value as evidence grows, and a payer with
//! little evidence keeps the declared value; denials no rule predicted are listed.

mod support;

use std::time::Duration;

use claimscrub::proto::v1 as pb;
use claimscrub::proto::v1::claim_scrubber_client::ClaimScrubberClient;
use claimscrub::proto::v1::remittances_client::RemittancesClient;
use support::{TestServer, clean_claim, config_with_tokens};

const EDITOR: &str = "editor-token-0123456789";

fn with_token<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {EDITOR}").parse().unwrap());
    r
}

/// A claim for `payer` whose one line has zero units (units-positive flags line 1).
fn zero_units(id: &str, payer: &str) -> pb::Claim {
    let mut c = clean_claim(id);
    c.payer = Some(pb::Payer {
        payer_id: payer.into(),
        r#type: pb::PayerType::Commercial as i32,
    });
    c.lines[0].units = 0.0;
    c
}

/// An 835 from `payer` for `ids`: the claims for which `denied(i)` is true are denied with
/// `carc` on line 1, the others paid with a contractual reduction.
fn remittance(
    payer: &str,
    trace: &str,
    ids: &[String],
    denied: impl Fn(usize) -> bool,
    carc: &str,
) -> Vec<u8> {
    let (group, reason) = carc.split_once('-').unwrap();
    let mut body = vec![
        "ST*835*0001".to_string(),
        "BPR*I*0*C*NON************20251105".into(),
        format!("TRN*1*{trace}*1{payer}"),
        format!("N1*PR*{payer}"),
        format!("REF*2U*{payer}"),
        "LX*1".into(),
    ];
    let mut paid_total = 0;
    for (i, id) in ids.iter().enumerate() {
        if denied(i) {
            body.push(format!("CLP*{id}*4*100*0*0*12*P{i}"));
            body.push("SVC*HC:99213*100*0**0".into());
            body.push(format!("CAS*{group}*{reason}*100"));
        } else {
            body.push(format!("CLP*{id}*1*100*80*0*12*P{i}"));
            body.push("SVC*HC:99213*100*80**1".into());
            body.push("CAS*CO*45*20".into());
            paid_total += 80;
        }
        body.push("REF*6R*1".into());
    }
    body[1] = format!("BPR*I*{paid_total}*C*NON************20251105");
    let count = body.len() + 1;
    format!("{}~SE*{count}*0001~", body.join("~")).into_bytes()
}

#[tokio::test]
async fn calibrated_probabilities_find_each_payers_true_denial_rate() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_with_tokens(dir.path(), &format!("editor bo {EDITOR}\n"));
    c.outcomes = Some(dir.path().join("outcomes.sqlite").display().to_string());
    c.calibration.refresh = Some(Duration::from_millis(200));
    let server = TestServer::start(c).await;
    let mut scrub = ClaimScrubberClient::new(server.channel().await);
    let mut remits = RemittancesClient::new(server.channel().await);

    // 400 flagged claims at each of payers A and B, 20 at payer C; 10 clean claims at A.
    let ids = |p: &str, n: usize| -> Vec<String> { (0..n).map(|i| format!("{p}-{i}")).collect() };
    let (a, b, c_ids, clean) = (ids("A", 400), ids("B", 400), ids("C", 20), ids("CLEAN", 10));
    let mut requests = Vec::new();
    for (payer, list) in [("PAYER-A", &a), ("PAYER-B", &b), ("PAYER-C", &c_ids)] {
        for id in list {
            requests.push(pb::ScrubClaimRequest {
                claim: Some(zero_units(id, payer)),
                as_of_date: "2025-08-01".into(),
            });
        }
    }
    for id in &clean {
        let mut claim = clean_claim(id);
        claim.payer = Some(pb::Payer {
            payer_id: "PAYER-A".into(),
            r#type: pb::PayerType::Commercial as i32,
        });
        requests.push(pb::ScrubClaimRequest {
            claim: Some(claim),
            as_of_date: "2025-08-01".into(),
        });
    }
    let total = requests.len() as u64;
    let mut answers = scrub
        .scrub_claims(futures::stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut flagged = 0;
    while let Some(r) = answers.message().await.unwrap() {
        flagged += u64::from(r.findings.iter().any(|f| f.rule_id == "units-positive"));
    }
    assert_eq!(flagged, 820);

    // The recorder stores off the request path: wait for it.
    let calibration = |min: u32| pb::GetCalibrationRequest {
        prior_weight: 0.0,
        min_remits: min,
    };
    let ok = support::eventually(Duration::from_secs(20), || {
        let mut remits = remits.clone();
        async move {
            let r = remits
                .get_calibration(with_token(calibration(0)))
                .await
                .unwrap()
                .into_inner();
            r.scrub_records >= total
        }
    })
    .await;
    assert!(ok.is_some(), "the scrubs were recorded");

    // A few remits first: the calibrated value has moved only a little from 0.9.
    let early: Vec<String> = a[..20].to_vec();
    remits
        .ingest_remittance(with_token(pb::IngestRemittanceRequest {
            x12: remittance("PAYER-A", "EARLY", &early, |i| i % 10 < 3, "CO-16"),
            source_name: "early.835".into(),
        }))
        .await
        .unwrap();
    let r = remits
        .get_calibration(with_token(calibration(0)))
        .await
        .unwrap()
        .into_inner();
    let cell = |r: &pb::GetCalibrationResponse, payer: &str| {
        r.cells
            .iter()
            .find(|c| c.rule_id == "units-positive" && c.payer_id == payer)
            .cloned()
            .unwrap_or_else(|| panic!("no cell for {payer}: {:?}", r.cells))
    };
    let early_a = cell(&r, "PAYER-A");
    assert_eq!((early_a.flagged, early_a.denied), (20, 6));
    assert!(
        !early_a.enough_evidence,
        "20 remits are below the threshold of 30"
    );
    assert!((early_a.declared - 0.9).abs() < 1e-9);
    assert!(
        early_a.calibrated > 0.55 && early_a.calibrated < 0.9,
        "{early_a:?}"
    );

    // All remits: A denies 30%, B 80%, C (20 claims) 50%; ten clean claims denied CO-97.
    for (payer, list, rate, trace) in [
        ("PAYER-A", &a[20..], 3, "A-REST"),
        ("PAYER-B", &b[..], 8, "B-ALL"),
        ("PAYER-C", &c_ids[..], 5, "C-ALL"),
    ] {
        remits
            .ingest_remittance(with_token(pb::IngestRemittanceRequest {
                x12: remittance(payer, trace, list, |i| i % 10 < rate, "CO-16"),
                source_name: format!("{trace}.835"),
            }))
            .await
            .unwrap();
    }
    remits
        .ingest_remittance(with_token(pb::IngestRemittanceRequest {
            x12: remittance("PAYER-A", "CLEAN", &clean, |_| true, "CO-97"),
            source_name: "clean.835".into(),
        }))
        .await
        .unwrap();
    let r = remits
        .get_calibration(with_token(calibration(0)))
        .await
        .unwrap()
        .into_inner();
    for (payer, truth, flagged) in [("PAYER-A", 0.3, 400), ("PAYER-B", 0.8, 400)] {
        let c = cell(&r, payer);
        assert_eq!(c.flagged, flagged, "{c:?}");
        assert!((c.observed - truth).abs() < 1e-9, "{c:?}");
        assert!(
            c.interval_low <= truth && truth <= c.interval_high,
            "{payer}: the truth {truth} lies in the 90% interval: {c:?}"
        );
        assert!(c.enough_evidence);
    }
    let late_a = cell(&r, "PAYER-A");
    assert!(
        (late_a.calibrated - 0.3).abs() < (early_a.calibrated - 0.3).abs(),
        "more evidence moves A toward its truth: {early_a:?} → {late_a:?}"
    );
    let c = cell(&r, "PAYER-C");
    assert!(!c.enough_evidence, "C has 20 remits: {c:?}");
    // The payer-type row pools all three payers.
    let pooled = r
        .cells
        .iter()
        .find(|c| c.rule_id == "units-positive" && c.payer_id.is_empty())
        .unwrap();
    assert_eq!(
        (pooled.payer_type.as_str(), pooled.flagged, pooled.denied),
        ("commercial", 820, 120 + 320 + 10)
    );
    // Precision and recall of units-positive against CO-16-family denials.
    let acc = r
        .rules
        .iter()
        .find(|a| a.rule_id == "units-positive")
        .unwrap();
    assert!(acc.family.contains(&"16".to_string()));
    assert_eq!(
        (acc.flagged, acc.denied, acc.family_denials),
        (820, 450, 450)
    );
    assert!((acc.recall - 1.0).abs() < 1e-9);
    // The CO-97 denials of the clean claims: no rule predicted them.
    let u = r.unpredicted.iter().find(|u| u.carc == "CO-97").unwrap();
    assert_eq!((u.count, u.amount_cents), (10, 100_000));
    assert!(r.unpredicted.iter().all(|u| u.carc != "CO-16"));
    // The reliability diagram's data: the flagged claims scored ~0.9 (declared) and 450 of
    // 820 were denied; the ten clean claims scored 0 and all were denied (CO-97).
    let flagged_band = r.reliability.iter().find(|b| b.claims == 820).unwrap();
    assert_eq!(flagged_band.denied, 450, "{:?}", r.reliability);
    assert!(flagged_band.predicted > 0.85, "{flagged_band:?}");
    assert_eq!((r.reliability[0].claims, r.reliability[0].denied), (10, 10));
    assert_eq!(r.reliability.len(), 10);

    // Scoring now uses the calibrated values: payer A its own (400 remits), payer C the
    // payer type's (C has 20), a Medicare payer (no evidence) the declared 0.9.
    let a_cell = cell(&r, "PAYER-A");
    let finding_for = |payer: &'static str, kind: pb::PayerType| {
        let mut scrub = scrub.clone();
        async move {
            let mut claim = zero_units(&format!("NEW-{payer}"), payer);
            claim.payer.as_mut().unwrap().r#type = kind as i32;
            let resp = scrub
                .scrub_claim(pb::ScrubClaimRequest {
                    claim: Some(claim),
                    as_of_date: "2025-08-01".into(),
                })
                .await
                .unwrap()
                .into_inner();
            resp.findings
                .into_iter()
                .find(|f| f.rule_id == "units-positive")
                .unwrap()
        }
    };
    // The keeper refreshes every 200 ms, possibly between two of the ingests above: wait for
    // a table built after the last one (C's payer-type row pools all 820 remits).
    let calibrated = support::eventually(Duration::from_secs(20), || async {
        let a = finding_for("PAYER-A", pb::PayerType::Commercial).await;
        let c = finding_for("PAYER-C", pb::PayerType::Commercial).await;
        a.probability_source == pb::ProbabilitySource::Calibrated as i32
            && c.calibration_remits == 820
    })
    .await;
    assert!(
        calibrated.is_some(),
        "the calibrated values come into force"
    );
    let f = finding_for("PAYER-A", pb::PayerType::Commercial).await;
    assert!(
        (f.denial_probability - a_cell.calibrated).abs() < 1e-9,
        "{f:?}"
    );
    assert!((f.declared_probability - 0.9).abs() < 1e-9);
    assert_eq!(
        (f.calibration_remits, f.calibration_scope.as_str()),
        (400, "payer")
    );
    let f = finding_for("PAYER-C", pb::PayerType::Commercial).await;
    assert!(
        (f.denial_probability - pooled.calibrated).abs() < 1e-9,
        "{f:?}"
    );
    assert_eq!(
        (f.calibration_remits, f.calibration_scope.as_str()),
        (820, "payer_type")
    );
    let f = finding_for("MCR99", pb::PayerType::Medicare).await;
    assert_eq!(f.probability_source, pb::ProbabilitySource::Declared as i32);
    assert!((f.denial_probability - 0.9).abs() < 1e-9);
}

/// A rule in shadow runs on live claims and is recorded, but never changes a score: its
/// findings come back apart, and the calibration report counts what it would have caught and
/// wrongly flagged. Moved between shadow, active and disabled through the admin API.
#[tokio::test]
async fn a_rule_in_shadow_never_scores_and_the_report_counts_what_it_would_have_caught() {
    use claimscrub::proto::v1::rule_admin_client::RuleAdminClient;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_with_tokens(dir.path(), &format!("editor bo {EDITOR}\n"));
    c.outcomes = Some(dir.path().join("outcomes.sqlite").display().to_string());
    let server = TestServer::start(c).await;
    let scrub = ClaimScrubberClient::new(server.channel().await);
    let mut admin = RuleAdminClient::new(server.channel().await);
    let mut remits = RemittancesClient::new(server.channel().await);
    let scrub_one = |id: String| {
        let mut scrub = scrub.clone();
        async move {
            scrub
                .scrub_claim(pb::ScrubClaimRequest {
                    claim: Some(zero_units(&id, "PAYER-S")),
                    as_of_date: "2025-08-01".into(),
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let active = scrub_one("S-ACTIVE".into()).await;
    assert!(
        active
            .findings
            .iter()
            .any(|f| f.rule_id == "units-positive")
    );
    assert!(active.shadow_findings.is_empty());

    let action = |id: &str| pb::RuleActionRequest {
        id: id.into(),
        comment: "try it first".into(),
    };
    admin
        .shadow_rule(with_token(action("units-positive")))
        .await
        .unwrap();
    assert!(dir.path().join("rules/units-positive.rhai.shadow").exists());
    let listed = admin
        .list_rules(with_token(pb::ListRulesRequest {}))
        .await
        .unwrap()
        .into_inner();
    let info = listed
        .rules
        .iter()
        .find(|r| r.id == "units-positive")
        .unwrap();
    assert!(info.shadow && info.enabled, "{info:?}");
    assert_eq!(info.load_status, "shadow");
    assert_ne!(listed.ruleset_version, active.ruleset_version);

    // The same claim: the finding is reported apart and the score is what the other findings
    // make it (1 − Π(1 − p)), lower than before.
    let shadowed = scrub_one("S-0".into()).await;
    assert!(
        shadowed
            .findings
            .iter()
            .all(|f| f.rule_id != "units-positive"),
        "{shadowed:?}"
    );
    let s = &shadowed.shadow_findings;
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(
        (s[0].rule_id.as_str(), s[0].line_numbers.as_slice()),
        ("units-positive", &[1][..])
    );
    let expected = 1.0
        - shadowed
            .findings
            .iter()
            .map(|f| 1.0 - f.denial_probability)
            .product::<f64>();
    assert!(
        (shadowed.denial_risk - expected).abs() < 1e-9,
        "{shadowed:?}"
    );
    assert!(shadowed.denial_risk < active.denial_risk);
    let line = &shadowed.pricing.as_ref().unwrap().lines[0];
    assert!(
        line.denial_probability < 0.9,
        "pricing ignores the shadow finding: {line:?}"
    );

    // Nine more shadowed claims; the payer denies S-0..S-5 with CO-16 and pays S-6..S-9.
    let mut ids = vec!["S-0".to_string()];
    for i in 1..10 {
        scrub_one(format!("S-{i}")).await;
        ids.push(format!("S-{i}"));
    }
    let recorded = support::eventually(Duration::from_secs(20), || {
        let mut remits = remits.clone();
        async move {
            let r = remits
                .get_calibration(with_token(pb::GetCalibrationRequest::default()))
                .await
                .unwrap()
                .into_inner();
            r.scrub_records >= 11
        }
    })
    .await;
    assert!(recorded.is_some(), "the scrubs were recorded");
    remits
        .ingest_remittance(with_token(pb::IngestRemittanceRequest {
            x12: remittance("PAYER-S", "SHADOW", &ids, |i| i < 6, "CO-16"),
            source_name: "shadow.835".into(),
        }))
        .await
        .unwrap();
    let r = remits
        .get_calibration(with_token(pb::GetCalibrationRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let acc = r
        .rules
        .iter()
        .find(|a| a.rule_id == "units-positive")
        .unwrap();
    assert_eq!(
        (
            acc.shadow_flagged,
            acc.shadow_caught,
            acc.shadow_wrongly_flagged
        ),
        (10, 6, 4),
        "{acc:?}"
    );
    // No active rule predicted those six denials; the shadow rule did.
    let u = r.unpredicted.iter().find(|u| u.carc == "CO-16").unwrap();
    assert_eq!((u.count, u.shadow_caught), (6, 6), "{u:?}");

    // Promote it with the evidence; a payer contract cannot run in shadow; history says so.
    admin
        .activate_rule(with_token(action("units-positive")))
        .await
        .unwrap();
    let back = scrub_one("S-AGAIN".into()).await;
    assert!(back.findings.iter().any(|f| f.rule_id == "units-positive"));
    assert!(back.shadow_findings.is_empty());
    assert_eq!(back.ruleset_version, active.ruleset_version);
    let e = admin
        .activate_rule(with_token(action("units-positive")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    let e = admin
        .shadow_rule(with_token(action("contract-acme-commercial")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    assert!(e.message().contains("only edit rules"), "{}", e.message());
    let h = admin
        .get_rule_history(with_token(pb::GetRuleHistoryRequest {
            id: "units-positive".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let actions: Vec<&str> = h.versions.iter().map(|v| v.action.as_str()).collect();
    assert_eq!(&actions[..2], ["activate", "shadow"], "{actions:?}");

    // Disabled, then straight back into shadow.
    admin
        .disable_rule(with_token(action("units-positive")))
        .await
        .unwrap();
    admin
        .shadow_rule(with_token(action("units-positive")))
        .await
        .unwrap();
    let again = scrub_one("S-LAST".into()).await;
    assert_eq!(again.shadow_findings.len(), 1);
    assert!(dir.path().join("rules/units-positive.rhai.shadow").exists());
}
