//! `claimscrub.v1.Remittances` over gRPC: authenticates (editor), reads the 835 and stores
//! it in the outcome store on a blocking thread, and audits the call.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::status::{admin_status, x12_field_status};
use crate::admin::Admin;
use crate::admin::auth::Role;
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
}

impl RemitService {
    /// Serves ingestion into `outcomes`, authenticating with `admin`'s tokens.
    pub fn new(admin: Arc<Admin>, outcomes: Outcomes) -> Self {
        Self { admin, outcomes }
    }
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

#[tonic::async_trait]
impl Remittances for RemitService {
    async fn ingest_remittance(
        &self,
        request: Request<pb::IngestRemittanceRequest>,
    ) -> Result<Response<pb::IngestRemittanceResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        let admin = self.admin.clone();
        let outcomes = self.outcomes.clone();
        tokio::task::spawn_blocking(move || {
            let who = admin
                .admit(&metadata, Role::Editor, "IngestRemittance", "")
                .map_err(|e| admin_status(&e))?;
            let source = req.source_name.chars().take(200).collect::<String>();
            let store = match outcomes {
                Outcomes::Open(store) => store,
                Outcomes::Off(why) => {
                    admin.done(&who, "IngestRemittance", &source, "no outcome store");
                    return Err(Status::failed_precondition(format!(
                        "remittances cannot be stored here: {why}"
                    )));
                }
            };
            let result = ingest(store.as_ref(), &req);
            let outcome = match &result {
                Ok(r) => format!("stored {}, already stored {}", r.stored, r.already_stored),
                Err(s) => format!("refused: {}", s.code()),
            };
            admin.done(&who, "IngestRemittance", &source, &outcome);
            result.map(Response::new)
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
    }
}
