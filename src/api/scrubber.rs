//! `claimscrub.v1.ClaimScrubber`.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::status::{error_response, scrub_status};
use crate::proto::v1::{self as pb, claim_scrubber_server::ClaimScrubber};
use crate::scrub::Scrubber;

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
        match self.scrubber.scrub(req).await {
            Ok(resp) => Ok(Response::new(resp)),
            Err(e) => {
                tracing::info!(claim_id = %claim_id, error = %e, "claim rejected");
                Err(scrub_status(&e))
            }
        }
    }

    type ScrubClaimsStream = ResponseStream;

    async fn scrub_claims(
        &self,
        request: Request<Streaming<pb::ScrubClaimRequest>>,
    ) -> Result<Response<Self::ScrubClaimsStream>, Status> {
        let scrubber = self.scrubber.clone();
        let responses = request
            .into_inner()
            .map(move |item| {
                let scrubber = scrubber.clone();
                async move {
                    let req = item?;
                    let claim_id = req.claim.as_ref().map(|c| c.claim_id.clone()).unwrap_or_default();
                    Ok(match scrubber.scrub(req).await {
                        Ok(resp) => resp,
                        Err(e) => {
                            tracing::info!(claim_id = %claim_id, error = %e, "claim in stream rejected");
                            error_response(claim_id, &e)
                        }
                    })
                }
            })
            .buffered(self.stream_window);
        Ok(Response::new(Box::pin(responses)))
    }
}
