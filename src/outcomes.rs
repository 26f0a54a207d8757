//! The outcome store: what payers did with claims (remittances, [`crate::remit`]), kept to
//! learn from, behind one trait, [`OutcomeStore`]. Two stores with the same schema and
//! versioned migrations (`migrations/outcomes/`): an embedded SQLite file
//! ([`sqlite::SqliteOutcomes`], the default) and PostgreSQL ([`postgres::PgOutcomes`], the same
//! database as the shared rule store in a fleet).
//!
//! Nothing that identifies a person is stored: no names, addresses or member ids (the 835
//! reader does not even read them). Every method blocks: call it from a blocking thread.

pub mod postgres;
pub mod recorder;
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

/// What claimscrub said about one claim when it scrubbed it: who pays, what fired where.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScrubRecord {
    /// The claim id (the 837's CLM01, the 835's CLP01).
    pub claim_id: String,
    /// The payer id on the claim.
    pub payer_id: String,
    /// The payer type ("medicare", "medicaid", "commercial", "other").
    pub payer_type: String,
    /// When (RFC 3339).
    pub scrubbed_at: String,
    /// The rule set that scored it.
    pub ruleset_version: String,
    /// The claim's denial risk.
    pub denial_risk: f64,
    /// One per finding and line it names (line 0: a claim-level finding).
    pub flags: Vec<Flag>,
    /// The patient key, when history is on and the claim identifies its patient.
    pub patient_key: Option<String>,
    /// Rendering (else billing) provider NPI.
    pub provider: String,
}

/// One rule's finding on one line (or the claim, line 0).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flag {
    /// The rule.
    pub rule_id: String,
    /// Its version.
    pub rule_version: String,
    /// The predicted CARC with its group ("CO-97").
    pub carc: String,
    /// The denial probability the finding carried.
    pub declared: f64,
    /// The line (its line_number), 0 for the claim.
    pub line: u32,
    /// The rule ran in shadow: the finding was not in the answer or the score.
    pub shadow: bool,
}

/// A stored flag of the newest scrub of a claim that has a remittance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlagRow {
    /// The claim.
    pub claim_id: String,
    /// Its payer id and type, as scrubbed.
    pub payer_id: String,
    /// The payer type.
    pub payer_type: String,
    /// The flag.
    pub flag: Flag,
}

/// A stored adjustment of a remitted claim that was scrubbed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdjustmentRow {
    /// The claim (CLP01).
    pub claim_id: String,
    /// The payer id and type of its newest scrub.
    pub payer_id: String,
    /// The payer type.
    pub payer_type: String,
    /// The line's position in the claim's SVC list (0-based) and its REF*6R, when the
    /// adjustment is a line's; `None` for a claim-level adjustment.
    pub line: Option<(u32, String)>,
    /// CAS group.
    pub group: String,
    /// CARC.
    pub reason: String,
    /// Amount, cents.
    pub amount_cents: i64,
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
    /// Deletes the remittances ingested before `cutoff` (RFC 3339) with everything in them,
    /// and the scrub records made before it; returns how many remittances.
    fn purge_before(&self, cutoff: &str) -> Result<u64, OutcomeError>;
    /// Stores scrub records, all in one transaction.
    fn record_scrubs(&self, records: &[ScrubRecord]) -> Result<(), OutcomeError>;
    /// Scrub records stored.
    fn scrub_count(&self) -> Result<u64, OutcomeError>;
    /// The flags of the newest scrub of every claim that has a remittance.
    fn flags(&self, each: &mut dyn FnMut(FlagRow)) -> Result<(), OutcomeError>;
    /// The adjustments of every remitted claim that has a scrub record (denominators of
    /// recall, and the denials no rule predicted).
    fn adjustments(&self, each: &mut dyn FnMut(AdjustmentRow)) -> Result<(), OutcomeError>;
    /// The denial risk of the newest scrub of every remitted claim (the reliability
    /// diagram's predictions).
    fn claim_risks(&self, each: &mut dyn FnMut(String, f64)) -> Result<(), OutcomeError>;
    /// Stores claims reported as submitted; a claim id reported again replaces its lines.
    fn record_submitted(&self, claims: &[SubmittedClaim]) -> Result<(), OutcomeError>;
    /// Patient `key`'s services dated `since` or later: paid lines of remitted claims linked
    /// to the patient (by a scrub or a submission), then submitted lines; at most `limit`.
    fn patient_history(
        &self,
        key: &str,
        since: chrono::NaiveDate,
        limit: usize,
    ) -> Result<Vec<PriorService>, OutcomeError>;
}

/// One prior service of the patient.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorService {
    /// Date of service.
    pub date: chrono::NaiveDate,
    /// Procedure code.
    pub code: String,
    /// Modifiers.
    pub modifiers: Vec<String>,
    /// Units.
    pub units: f64,
    /// Rendering (else billing) provider NPI, when known.
    pub provider: String,
    /// The claim it was on.
    pub claim_id: String,
    /// True when a remittance paid it; false when only reported as submitted.
    pub paid: bool,
}

/// A claim the billing system reports as submitted to the payer (its lines become history).
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedClaim {
    /// The claim id (the 837's CLM01).
    pub claim_id: String,
    /// The patient key.
    pub patient_key: String,
    /// Rendering (else billing) provider NPI.
    pub provider: String,
    /// When it was reported (RFC 3339).
    pub submitted_at: String,
    /// Its lines.
    pub lines: Vec<SubmittedLine>,
}

/// One submitted line.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedLine {
    /// Its line number.
    pub line_number: u32,
    /// Date of service.
    pub date: chrono::NaiveDate,
    /// Procedure code.
    pub code: String,
    /// Modifiers.
    pub modifiers: Vec<String>,
    /// Units.
    pub units: f64,
}

/// The patient's services (both stores; `$1` the patient key, `$2` the first date as text,
/// `$3` the limit). Paid: remitted lines with a payment, not since reversed, on claims linked
/// to the patient by a scrub record or a submission; submitted: the reported lines.
pub(crate) const HISTORY_SQL: &str = "
    WITH mine AS (
        SELECT claim_id, max(provider) AS provider FROM (
            SELECT claim_id, provider FROM submitted_claims WHERE patient_key = $1
            UNION ALL
            SELECT claim_id, provider FROM scrub_records WHERE patient_key = $1) m
        GROUP BY claim_id)
    SELECT * FROM (
        SELECT coalesce(nullif(l.service_date, ''), c.statement_from) AS d, l.code,
               l.modifiers, l.units, mine.provider, c.claim_id, 1 AS paid
        FROM mine
        JOIN remit_claims c ON c.claim_id = mine.claim_id
        JOIN remit_lines l ON l.claim_row = c.id
        WHERE l.paid_cents > 0
          -- A payment the payer later reversed (CLP02 = 22 with the same payer claim
          -- number, CLP07) is no longer a paid service.
          AND NOT EXISTS (SELECT 1 FROM remit_claims r
                          WHERE r.claim_id = c.claim_id AND r.status = '22'
                            AND r.payer_claim_number = c.payer_claim_number AND r.id <> c.id)
        UNION ALL
        SELECT s.service_date, s.code, s.modifiers, s.units, sc.provider, sc.claim_id, 0
        FROM submitted_claims sc JOIN submitted_services s ON s.claim_id = sc.claim_id
        WHERE sc.patient_key = $1) h
    WHERE d >= $2
    ORDER BY d DESC
    LIMIT $3";

/// A history row as read (date text, code, modifiers, units, provider, claim, paid), or
/// `None` for a row whose date does not parse.
pub(crate) fn prior_service(
    date: &str,
    code: String,
    modifiers: &str,
    units: f64,
    provider: String,
    claim_id: String,
    paid: bool,
) -> Option<PriorService> {
    Some(PriorService {
        date: chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?,
        code,
        modifiers: modifiers
            .split([':', ','])
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect(),
        units,
        provider,
        claim_id,
        paid,
    })
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

/// The flags of the newest scrub of each claim that has a remittance (both stores).
pub(crate) const FLAGS_SQL: &str = "
    SELECT s.claim_id, s.payer_id, s.payer_type, f.rule_id, f.rule_version, f.carc,
           f.declared, f.line_number, f.shadow
    FROM scrub_records s JOIN scrub_flags f ON f.record_id = s.id
    WHERE s.id IN (SELECT max(id) FROM scrub_records GROUP BY claim_id)
      AND EXISTS (SELECT 1 FROM remit_claims c WHERE c.claim_id = s.claim_id)";

/// The newest scrub's denial risk of every remitted claim (both stores).
pub(crate) const RISKS_SQL: &str = "
    SELECT s.claim_id, s.denial_risk FROM scrub_records s
    WHERE s.id IN (SELECT max(id) FROM scrub_records GROUP BY claim_id)
      AND EXISTS (SELECT 1 FROM remit_claims c WHERE c.claim_id = s.claim_id)";

/// The adjustments of each remitted claim that was scrubbed, with the payer of its newest
/// scrub and, for a line's, the line's position and control number (both stores).
pub(crate) const ADJUSTMENTS_SQL: &str = "
    WITH latest AS (
        SELECT claim_id, payer_id, payer_type FROM scrub_records
        WHERE id IN (SELECT max(id) FROM scrub_records GROUP BY claim_id))
    SELECT c.claim_id, latest.payer_id, latest.payer_type, l.seq, l.line_control, a.grp,
           a.reason, a.amount_cents
    FROM remit_adjustments a
    JOIN remit_claims c ON c.id = a.claim_row
    JOIN latest ON latest.claim_id = c.claim_id
    LEFT JOIN remit_lines l ON l.id = a.line_row";

/// The current time as stored (RFC 3339, seconds, UTC).
pub fn now() -> String {
    rfc3339(std::time::SystemTime::now())
}

/// `t` in RFC 3339, seconds precision, UTC (how the store, the history and the audit write
/// times; comparable as text).
pub fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A remark list as stored (comma-separated codes).
pub(crate) fn join_codes(codes: &[String]) -> String {
    codes.join(",")
}

/// A line's modifiers as stored.
pub(crate) fn join_modifiers(modifiers: &[String]) -> String {
    modifiers.join(":")
}
