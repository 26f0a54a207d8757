//! `claimscrub.v1.ClaimScrubber`.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::status::{error_response, scrub_status};
use crate::proto::v1::{self as pb, claim_scrubber_server::ClaimScrubber};
use crate::scrub::{ScrubError, Scrubber};
use crate::telemetry::metrics;
use crate::x12::ReadClaim;
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

/// A claim read from a file (X12, FHIR): its id and the request that scrubs it, or the
/// response of a claim that could not be read. Owned, so the evaluation futures borrow nothing.
type Job = (
    String,
    Result<pb::ScrubClaimRequest, pb::ScrubClaimResponse>,
);

impl ScrubberService {
    /// Scrubs `jobs`, up to the stream window at once; the responses come back in order.
    async fn scrub_jobs(&self, jobs: Vec<Job>, request_id: u64) -> Vec<pb::ScrubClaimResponse> {
        let scrubber = self.scrubber.clone();
        futures::stream::iter(jobs)
            .map(move |job| scrub_job(scrubber.clone(), job, request_id))
            .buffered(self.stream_window)
            .collect()
            .await
    }
}

/// One claim read from a file, scrubbed (or its reading error passed on); a claim the
/// scrubber refuses gets an error response and the file goes on.
async fn scrub_job(
    scrubber: Scrubber,
    (claim_id, job): Job,
    request_id: u64,
) -> pb::ScrubClaimResponse {
    match job {
        Err(resp) => resp,
        Ok(req) => scrubber.scrub(req).await.unwrap_or_else(|e| {
            tracing::info!(request_id, claim_id = %log_id(&claim_id), error = %e.loggable(), "claim in file rejected");
            error_response(claim_id, &e)
        }),
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

type X12Stream = Pin<Box<dyn Stream<Item = Result<pb::X12ClaimResult, Status>> + Send>>;

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
        let jobs = read
            .iter()
            .map(|r| {
                let job =
                    results::request(r, &req.as_of_date).ok_or_else(|| results::unreadable(r));
                (r.claim_id.clone(), job)
            })
            .collect();
        let responses = self.scrub_jobs(jobs, request_id).await;
        metrics::request("ScrubX12", "OK");
        Ok(Response::new(pb::ScrubX12Response {
            claims: read
                .iter()
                .zip(responses)
                .map(|(r, resp)| results::result(r, resp))
                .collect(),
        }))
    }

    async fn scrub_fhir_claim(
        &self,
        request: Request<pb::ScrubFhirClaimRequest>,
    ) -> Result<Response<pb::ScrubFhirClaimResponse>, Status> {
        use crate::fhir::{self, results};
        let req = request.into_inner();
        let request_id = next_request_id();
        let read = match fhir::read(&req.resource) {
            Ok(r) => r,
            Err(e) => {
                metrics::request("ScrubFhirClaim", "INVALID_ARGUMENT");
                // The path only: the message may quote claim data.
                tracing::info!(request_id, path = %e.path, "FHIR resource rejected");
                return Err(super::status::fhir_status(&e));
            }
        };
        tracing::info!(request_id, claims = read.len(), "FHIR resource read");
        let jobs = read
            .iter()
            .map(|r| {
                let job = results::request(r, &req.as_of_date).ok_or_else(|| results::unmapped(r));
                (r.claim_id.clone(), job)
            })
            .collect();
        let responses = self.scrub_jobs(jobs, request_id).await;
        metrics::request("ScrubFhirClaim", "OK");
        let outcome = req.operation_outcome;
        Ok(Response::new(pb::ScrubFhirClaimResponse {
            claims: read
                .iter()
                .zip(responses)
                .map(|(r, resp)| results::result(r, resp, outcome))
                .collect(),
        }))
    }

    type ScrubX12StreamStream = X12Stream;

    async fn scrub_x12_stream(
        &self,
        request: Request<Streaming<pb::ScrubX12Chunk>>,
    ) -> Result<Response<Self::ScrubX12StreamStream>, Status> {
        use crate::x12::{StreamReader, results};
        let request_id = next_request_id();
        tracing::info!(request_id, "X12 stream opened");
        let mut input = request.into_inner();
        // The reader runs ahead of scrubbing by at most the window: the channel's bound stops
        // it reading more pieces (and HTTP/2 flow control stops the client) until results go
        // out, so memory stays bounded whatever the file's size.
        let (tx, rx) =
            tokio::sync::mpsc::channel::<Result<(ReadClaim, String), Status>>(self.stream_window);
        tokio::spawn(async move {
            let mut reader = StreamReader::new();
            let mut as_of: Option<String> = None;
            let mut claims = Vec::new();
            loop {
                let (step, last) = match input.message().await {
                    Ok(Some(chunk)) => {
                        let as_of = as_of.get_or_insert(chunk.as_of_date);
                        let step = reader.feed(&chunk.data, &mut claims);
                        (step.map(|()| as_of.clone()), false)
                    }
                    Ok(None) => {
                        let step = std::mem::take(&mut reader).finish(&mut claims);
                        (step.map(|()| as_of.clone().unwrap_or_default()), true)
                    }
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                };
                // Claims read before a problem are still scrubbed; then the problem ends it.
                let as_of_now = step.as_ref().cloned().unwrap_or_default();
                for c in claims.drain(..) {
                    if tx.send(Ok((c, as_of_now.clone()))).await.is_err() {
                        return;
                    }
                }
                if let Err(e) = step {
                    metrics::request("ScrubX12Stream", "INVALID_ARGUMENT");
                    tracing::info!(request_id, segment = e.segment, "X12 stream rejected");
                    let _ = tx.send(Err(super::status::x12_status(&e))).await;
                    return;
                }
                if last {
                    metrics::request("ScrubX12Stream", "OK");
                    return;
                }
            }
        });
        let scrubber = self.scrubber.clone();
        let results = tokio_stream::wrappers::ReceiverStream::new(rx)
            .map(move |item| {
                let scrubber = scrubber.clone();
                async move {
                    let (read, as_of) = item?;
                    let job =
                        results::request(&read, &as_of).ok_or_else(|| results::unreadable(&read));
                    let resp = scrub_job(scrubber, (read.claim_id.clone(), job), request_id).await;
                    Ok(results::result(&read, resp))
                }
            })
            .buffered(self.stream_window);
        Ok(Response::new(Box::pin(results)))
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
