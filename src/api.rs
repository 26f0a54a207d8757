//! The gRPC edge: service implementations and the one place domain errors become statuses.

pub mod scrubber;
pub mod status;

pub use scrubber::ScrubberService;
