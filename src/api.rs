//! The gRPC edge: the scrubber and admin services, and the one place domain errors become
//! statuses.

pub mod admin;
pub mod remit;
pub mod scrubber;
pub mod status;

pub use admin::AdminService;
pub use scrubber::ScrubberService;
