//! `claimscrub.v1.ClaimScrubber`.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::status::{error_response, scrub_status};
use crate::proto::v1::{self as pb, claim_scrubber_server::ClaimScrubber};
use crate::scrub::{ScrubError, Scrubber};
use crate::telemetry::metrics;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

/// The scrubbing service.
#[derive(Clone)]
pub struct ScrubberService {
    scrubber: Scrubber,
    stream_window: usize,
}

impl ScrubberService {
    /// A service over `scrubber`; each stream evaluates up to `stream_window` claims at once
    /// (responses still come back in request order).
    pub fn new(scrubber: Scrubber, stream_window: usize) -> Self {
        Self {
            scrubber,
            stream_window: stream_window.max(1),
        }
    }
}

/// Process-wide request counter used as the request id in logs.
static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

fn next_request_id() -> u64 {
    REQUEST_IDS.fetch_add(1, Ordering::Relaxed)
}

/// A claim id fit for logs: at most 64 printable characters (ids are validated only later).
fn log_id(id: &str) -> String {
    id.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn code_name(e: &ScrubError) -> &'static str {
    match e {
        ScrubError::Invalid(_) => "INVALID_ARGUMENT",
        ScrubError::Internal(_) => "INTERNAL",
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::ScrubClaimResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ClaimScrubber for ScrubberService {
    async fn scrub_claim(
        &self,
        request: Request<pb::ScrubClaimRequest>,
    ) -> Result<Response<pb::ScrubClaimResponse>, Status> {
        let req = request.into_inner();
        let claim_id = req
            .claim
            .as_ref()
            .map(|c| c.claim_id.clone())
            .unwrap_or_default();
        let request_id = next_request_id();
        let span = tracing::info_span!("scrub_claim", request_id, claim_id = %log_id(&claim_id));
        async {
            match self.scrubber.scrub(req).await {
                Ok(resp) => {
                    metrics::request("ScrubClaim", "OK");
                    Ok(Response::new(resp))
                }
                Err(e) => {
                    let status = scrub_status(&e);
                    metrics::request("ScrubClaim", code_name(&e));
                    tracing::info!(error = %e.loggable(), "claim rejected");
                    Err(status)
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn scrub_x12(
        &self,
        request: Request<pb::ScrubX12Request>,
    ) -> Result<Response<pb::ScrubX12Response>, Status> {
        use crate::x12::{self, results};
        let req = request.into_inner();
        let request_id = next_request_id();
        let read = match x12::read_837(&req.interchange) {
            Ok(r) => r,
            Err(e) => {
                metrics::request("ScrubX12", "INVALID_ARGUMENT");
                tracing::info!(request_id, segment = e.segment, "interchange rejected");
                return Err(super::status::x12_status(&e));
            }
        };
        tracing::info!(request_id, claims = read.len(), "interchange read");
        let scrubber = self.scrubber.clone();
        let as_of = req.as_of_date;
        // Owned jobs (claim id, the request or the unreadable claim's response), so the
        // evaluation futures borrow nothing.
        let jobs: Vec<(
            String,
            Result<pb::ScrubClaimRequest, pb::ScrubClaimResponse>,
        )> = read
            .iter()
            .map(|r| {
                let job = results::request(r, &as_of).ok_or_else(|| results::unreadable(r));
                (r.claim_id.clone(), job)
            })
            .collect();
        let responses: Vec<pb::ScrubClaimResponse> = futures::stream::iter(jobs)
            .map(move |(claim_id, job)| {
                let scrubber = scrubber.clone();
                async move {
                    match job {
                        Err(resp) => resp,
                        Ok(req) => match scrubber.scrub(req).await {
                            Ok(resp) => resp,
                            Err(e) => {
                                tracing::info!(request_id, claim_id = %log_id(&claim_id), error = %e.loggable(), "claim in interchange rejected");
                                error_response(claim_id, &e)
                            }
                        },
                    }
                }
            })
            .buffered(self.stream_window)
            .collect()
            .await;
        metrics::request("ScrubX12", "OK");
        Ok(Response::new(pb::ScrubX12Response {
            claims: read
                .iter()
                .zip(responses)
                .map(|(r, resp)| results::result(r, resp))
                .collect(),
        }))
    }

    type ScrubClaimsStream = ResponseStream;

    async fn scrub_claims(
        &self,
        request: Request<Streaming<pb::ScrubClaimRequest>>,
    ) -> Result<Response<Self::ScrubClaimsStream>, Status> {
        let scrubber = self.scrubber.clone();
        let request_id = next_request_id();
        tracing::info!(request_id, "claim stream opened");
        let responses = request
            .into_inner()
            .map(move |item| {
                let scrubber = scrubber.clone();
                async move {
                    let req = item.map_err(super::status::decode_status)?;
                    let claim_id = req.claim.as_ref().map(|c| c.claim_id.clone()).unwrap_or_default();
                    Ok(match scrubber.scrub(req).await {
                        Ok(resp) => {
                            metrics::request("ScrubClaims", "OK");
                            resp
                        }
                        Err(e) => {
                            metrics::request("ScrubClaims", code_name(&e));
                            tracing::info!(request_id, claim_id = %log_id(&claim_id), error = %e.loggable(), "claim in stream rejected");
                            error_response(claim_id, &e)
                        }
                    })
                }
            })
            .buffered(self.stream_window);
        Ok(Response::new(Box::pin(responses)))
    }
}
