//! The outcome store: what payers did with claims (remittances, [`crate::remit`]), kept to
//! learn from, behind one trait, [`OutcomeStore`]. Two stores with the same schema and
//! versioned migrations (`migrations/outcomes/`): an embedded SQLite file
//! ([`sqlite::SqliteOutcomes`], the default) and PostgreSQL ([`postgres::PgOutcomes`], the same
//! database as the shared rule store in a fleet).
//!
//! Nothing that identifies a person is stored: no names, addresses or member ids (the 835
//! reader does not even read them). Every method blocks: call it from a blocking thread.

pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use crate::remit::Remittance;

/// Why the outcome store failed.
#[derive(Debug, thiserror::Error)]
pub enum OutcomeError {
    /// The store could not be opened, migrated, read or written.
    #[error("outcome store {location}: {message}")]
    Store {
        /// Where the store is (a path, or a URL without its password).
        location: String,
        /// What went wrong.
        message: String,
    },
}

/// What one ingest stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ingested {
    /// For each remittance given, in order: true when stored now, false when it was
    /// already stored (same key) and skipped.
    pub stored: Vec<bool>,
}

/// How much the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Remittances (835 transaction sets).
    pub remittances: u64,
    /// Claims in them.
    pub claims: u64,
    /// Service lines in them.
    pub lines: u64,
    /// Adjustments (CAS triplets), claim and line level.
    pub adjustments: u64,
}

/// One stored claim outcome, as read back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredClaim {
    /// The payer's id.
    pub payer_id: String,
    /// CLP02 status.
    pub status: String,
    /// Charge, cents.
    pub charge_cents: i64,
    /// Paid, cents.
    pub paid_cents: i64,
    /// Claim- and line-level adjustments as "GROUP-REASON amount" (e.g. "CO-45 1234"), line
    /// ones prefixed with their procedure code ("99213: CO-45 1234").
    pub adjustments: Vec<String>,
    /// Service lines.
    pub lines: usize,
}

/// Where remittances are kept.
pub trait OutcomeStore: Send + Sync {
    /// Human-readable location (never a password).
    fn describe(&self) -> String;
    /// Stores `remittances` in one transaction: all of them or, on an error, none. A
    /// remittance whose key is already stored is skipped.
    fn ingest(&self, remittances: &[Remittance]) -> Result<Ingested, OutcomeError>;
    /// How much the store holds.
    fn counts(&self) -> Result<Counts, OutcomeError>;
    /// Every stored outcome of claim `claim_id` (CLP01), oldest first.
    fn claim(&self, claim_id: &str) -> Result<Vec<StoredClaim>, OutcomeError>;
    /// Deletes the remittances ingested before `cutoff` (RFC 3339) with everything in them;
    /// returns how many.
    fn purge_before(&self, cutoff: &str) -> Result<u64, OutcomeError>;
}

/// Opens the outcome store at `location`: a `postgres://` URL, or the path of an SQLite file
/// (created with its directory's permissions when missing).
pub fn open(location: &str) -> Result<Arc<dyn OutcomeStore>, OutcomeError> {
    if crate::store::postgres::is_url(location) {
        Ok(Arc::new(postgres::PgOutcomes::connect(location)?))
    } else {
        Ok(Arc::new(sqlite::SqliteOutcomes::open(
            std::path::Path::new(location),
        )?))
    }
}

/// A remark list as stored (comma-separated codes).
pub(crate) fn join_codes(codes: &[String]) -> String {
    codes.join(",")
}

/// A line's modifiers as stored.
pub(crate) fn join_modifiers(modifiers: &[String]) -> String {
    modifiers.join(":")
}
