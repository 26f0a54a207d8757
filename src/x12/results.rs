//! Putting an interchange's scrub results together: one result per claim, each finding
//! located in the 837, and the response for a claim that could not be read.

use super::claim837::ReadClaim;
use super::locate::locate;
use crate::proto::v1 as pb;

/// The request that scrubs a claim read from the 837, or `None` when it could not be read.
pub fn request(read: &ReadClaim, as_of_date: &str) -> Option<pb::ScrubClaimRequest> {
    read.claim.as_ref().ok().map(|c| pb::ScrubClaimRequest {
        claim: Some(c.clone()),
        as_of_date: as_of_date.to_string(),
    })
}

/// The response of a claim that could not be read from the 837 (`request` gave `None`).
pub fn unreadable(read: &ReadClaim) -> pb::ScrubClaimResponse {
    let message = read.claim.as_ref().err().cloned().unwrap_or_default();
    pb::ScrubClaimResponse {
        claim_id: read.claim_id.clone(),
        error: Some(pb::ClaimError {
            code: "INVALID_ARGUMENT".into(),
            message,
            field: String::new(),
            violations: Vec::new(),
        }),
        ..Default::default()
    }
}

/// One claim's result: its response with every finding located in the 837.
pub fn result(read: &ReadClaim, response: pb::ScrubClaimResponse) -> pb::X12ClaimResult {
    let spots = &read.spots;
    pb::X12ClaimResult {
        claim_id: read.claim_id.clone(),
        finding_locations: response.findings.iter().map(|f| locate(spots, f)).collect(),
        claim_location: Some(locate(spots, &pb::Finding::default()).locations.remove(0)),
        transaction_control_number: spots.transaction.clone(),
        line_control_numbers: spots
            .lines
            .iter()
            .map(|l| l.control_number.clone())
            .collect(),
        response: Some(response),
    }
}
