//! `claimscrub.v1.Remittances` over gRPC: authenticates (editor), reads the 835 and stores
//! it in the outcome store on a blocking thread, and audits the call.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::status::{admin_status, x12_field_status};
use crate::admin::Admin;
use crate::admin::auth::Role;
use crate::claim;
use crate::history::{PatientKeyer, SubmittedClaim, SubmittedLine};
use crate::outcomes::OutcomeStore;
use crate::proto::v1::{self as pb, remittances_server::Remittances};

/// Where remittances go, or why there is nowhere.
#[derive(Clone)]
pub enum Outcomes {
    /// The open store.
    Open(Arc<dyn OutcomeStore>),
    /// No store: off by configuration, or it could not be opened (the reason).
    Off(String),
}

/// The gRPC face of remittance ingestion.
pub struct RemitService {
    admin: Arc<Admin>,
    outcomes: Outcomes,
    history: Option<(Arc<PatientKeyer>, claim::Limits)>,
}

impl RemitService {
    /// Serves ingestion into `outcomes`, authenticating with `admin`'s tokens.
    pub fn new(admin: Arc<Admin>, outcomes: Outcomes) -> Self {
        Self {
            admin,
            outcomes,
            history: None,
        }
    }

    /// The same service, recording submitted claims keyed by `keyer` (claims checked with
    /// `limits`).
    pub fn with_history(mut self, keyer: Arc<PatientKeyer>, limits: claim::Limits) -> Self {
        self.history = Some((keyer, limits));
        self
    }
}

/// Most claims one RecordSubmittedClaims call takes.
pub const MAX_SUBMITTED_CLAIMS: usize = 1_000;

/// Checks and keys `req`'s claims and stores the good ones in `store`.
pub fn record_submitted(
    store: &dyn OutcomeStore,
    keyer: &PatientKeyer,
    limits: claim::Limits,
    req: &pb::RecordSubmittedClaimsRequest,
) -> Result<pb::RecordSubmittedClaimsResponse, Status> {
    if req.claims.len() > MAX_SUBMITTED_CLAIMS {
        return Err(Status::invalid_argument(format!(
            "claims: {} claims; at most {MAX_SUBMITTED_CLAIMS} per call",
            req.claims.len()
        )));
    }
    let now = crate::outcomes::now();
    let mut keep = Vec::new();
    let mut rejected = Vec::new();
    for (i, wire) in req.claims.iter().enumerate() {
        let reject = |field: &str, problem: String| pb::RejectedClaim {
            index: i as u32,
            claim_id: wire.claim_id.clone(),
            field: format!("claims[{i}].{field}"),
            problem,
        };
        match claim::validate::validate(wire, limits) {
            Err(e) => {
                let v = &e.violations[0];
                rejected.push(reject(&v.field, v.description.clone()));
            }
            Ok(c) => match keyer.key_of(wire, c.birth_date) {
                Err(field) => rejected.push(reject(field, "is required here".into())),
                Ok(patient_key) => keep.push(SubmittedClaim {
                    claim_id: c.id.clone(),
                    patient_key,
                    provider: crate::history::provider_of(&c).to_string(),
                    submitted_at: now.clone(),
                    lines: c
                        .lines
                        .iter()
                        .map(|l| SubmittedLine {
                            line_number: l.number,
                            date: l.service_date,
                            code: l.procedure_code.clone(),
                            modifiers: l.modifiers.clone(),
                            units: l.units,
                        })
                        .collect(),
                }),
            },
        }
    }
    store
        .record_submitted(&keep)
        .map_err(|e| Status::unavailable(e.to_string()))?;
    Ok(pb::RecordSubmittedClaimsResponse {
        recorded: keep.len() as u32,
        rejected,
    })
}

/// The calibration report of `store` as the API answers it.
pub fn calibration(
    store: &dyn OutcomeStore,
    req: &pb::GetCalibrationRequest,
) -> Result<pb::GetCalibrationResponse, Status> {
    use crate::calibration::Settings;
    let defaults = Settings::default();
    let settings = Settings {
        prior_weight: if req.prior_weight > 0.0 && req.prior_weight.is_finite() {
            req.prior_weight.min(1e6)
        } else {
            defaults.prior_weight
        },
        min_remits: if req.min_remits > 0 {
            u64::from(req.min_remits)
        } else {
            defaults.min_remits
        },
        ..defaults
    };
    let unavailable = |e: crate::outcomes::OutcomeError| Status::unavailable(e.to_string());
    let r = crate::calibration::from_store(store, settings).map_err(unavailable)?;
    Ok(pb::GetCalibrationResponse {
        cells: r
            .cells
            .iter()
            .map(|c| pb::CalibrationCell {
                rule_id: c.rule_id.clone(),
                payer_id: c.payer_id.clone(),
                payer_type: c.payer_type.clone(),
                declared: c.declared,
                flagged: c.flagged,
                denied: c.denied,
                observed: if c.flagged == 0 {
                    0.0
                } else {
                    c.denied as f64 / c.flagged as f64
                },
                calibrated: c.posterior.mean,
                interval_low: c.posterior.low,
                interval_high: c.posterior.high,
                enough_evidence: c.enough,
            })
            .collect(),
        rules: r
            .rules
            .iter()
            .map(|a| pb::RuleAccuracy {
                rule_id: a.rule_id.clone(),
                family: a.family.clone(),
                flagged: a.flagged,
                denied: a.denied,
                precision: a.precision(),
                family_denials: a.family_denials,
                recall: a.recall(),
                shadow_flagged: a.shadow_flagged,
                shadow_caught: a.shadow_denied,
                shadow_wrongly_flagged: a.shadow_wrong(),
            })
            .collect(),
        unpredicted: r
            .unpredicted
            .iter()
            .map(|u| pb::UnpredictedDenial {
                carc: u.carc.clone(),
                count: u.count,
                amount_cents: u.amount_cents,
                shadow_caught: u.shadow_caught,
            })
            .collect(),
        scrub_records: store.scrub_count().map_err(unavailable)?,
        remitted_claims: r.claims,
        prior_weight: settings.prior_weight,
        min_remits: settings.min_remits as u32,
        reliability: r
            .reliability
            .iter()
            .map(|b| pb::ReliabilityBand {
                low: b.low,
                high: b.high,
                claims: b.claims,
                predicted: b.predicted,
                denied: b.denied,
                observed: b.observed(),
            })
            .collect(),
    })
}

/// Reads `req.x12` and stores it: the response, or the status of what went wrong.
pub fn ingest(
    store: &dyn OutcomeStore,
    req: &pb::IngestRemittanceRequest,
) -> Result<pb::IngestRemittanceResponse, Status> {
    let read = crate::x12::read_835(&req.x12).map_err(|e| x12_field_status(&e, "x12"))?;
    let ingested = store
        .ingest(&read.remittances)
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut warnings: Vec<String> = read.warnings.iter().map(ToString::to_string).collect();
    for r in &read.remittances {
        warnings.extend(r.imbalances());
    }
    let remittances: Vec<pb::RemittanceSummary> = read
        .remittances
        .iter()
        .zip(&ingested.stored)
        .map(|(r, stored)| pb::RemittanceSummary {
            key: r.key.clone(),
            payer_id: r.payer_id.clone(),
            payer_name: r.payer_name.clone(),
            trace_number: r.trace_number.clone(),
            total_paid_cents: r.total_paid_cents,
            claims: r.claims.len() as u32,
            service_lines: r.claims.iter().map(|c| c.services.len() as u32).sum(),
            stored: *stored,
            segment: r.segment as u32,
        })
        .collect();
    let stored = ingested.stored.iter().filter(|s| **s).count() as u32;
    Ok(pb::IngestRemittanceResponse {
        already_stored: remittances.len() as u32 - stored,
        stored,
        remittances,
        warnings,
    })
}

impl RemitService {
    /// Authenticates for `needed`, then runs `op` on the store on a blocking thread and
    /// audits it as `action` about `subject`.
    async fn run<T: Send + 'static>(
        &self,
        metadata: tonic::metadata::MetadataMap,
        needed: Role,
        action: &'static str,
        subject: String,
        op: impl FnOnce(&dyn OutcomeStore) -> Result<(T, String), Status> + Send + 'static,
    ) -> Result<Response<T>, Status> {
        let admin = self.admin.clone();
        let outcomes = self.outcomes.clone();
        tokio::task::spawn_blocking(move || {
            let who = admin
                .admit(&metadata, needed, action, "")
                .map_err(|e| admin_status(&e))?;
            let store = match outcomes {
                Outcomes::Open(store) => store,
                Outcomes::Off(why) => {
                    admin.done(&who, action, &subject, "no outcome store");
                    return Err(Status::failed_precondition(format!(
                        "there is no outcome store here: {why}"
                    )));
                }
            };
            match op(store.as_ref()) {
                Ok((value, outcome)) => {
                    admin.done(&who, action, &subject, &outcome);
                    Ok(Response::new(value))
                }
                Err(status) => {
                    admin.done(
                        &who,
                        action,
                        &subject,
                        &format!("refused: {}", status.code()),
                    );
                    Err(status)
                }
            }
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
    }
}

#[tonic::async_trait]
impl Remittances for RemitService {
    async fn ingest_remittance(
        &self,
        request: Request<pb::IngestRemittanceRequest>,
    ) -> Result<Response<pb::IngestRemittanceResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        let source = req.source_name.chars().take(200).collect::<String>();
        self.run(
            metadata,
            Role::Editor,
            "IngestRemittance",
            source,
            move |store| {
                let resp = ingest(store, &req)?;
                let outcome = format!(
                    "stored {}, already stored {}",
                    resp.stored, resp.already_stored
                );
                Ok((resp, outcome))
            },
        )
        .await
    }

    async fn record_submitted_claims(
        &self,
        request: Request<pb::RecordSubmittedClaimsRequest>,
    ) -> Result<Response<pb::RecordSubmittedClaimsResponse>, Status> {
        let Some((keyer, limits)) = self.history.clone() else {
            return Err(Status::failed_precondition(
                "history edits are off here: the server has no patient-key secret (--history-secret-file or CLAIMSCRUB_HISTORY_SECRET)",
            ));
        };
        let (metadata, _, req) = request.into_parts();
        let subject = format!("{} claims", req.claims.len());
        self.run(
            metadata,
            Role::Editor,
            "RecordSubmittedClaims",
            subject,
            move |store| {
                let resp = record_submitted(store, &keyer, limits, &req)?;
                let outcome = format!(
                    "recorded {}, rejected {}",
                    resp.recorded,
                    resp.rejected.len()
                );
                Ok((resp, outcome))
            },
        )
        .await
    }

    async fn get_calibration(
        &self,
        request: Request<pb::GetCalibrationRequest>,
    ) -> Result<Response<pb::GetCalibrationResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        self.run(
            metadata,
            Role::Viewer,
            "GetCalibration",
            String::new(),
            move |store| calibration(store, &req).map(|r| (r, "ok".to_string())),
        )
        .await
    }
}
