//! The patient's history for edits that need more than one claim (frequency limits, duplicate
//! claims): who the patient is, as a keyed hash, and the prior services a scrub may look up.
//!
//! Identity is an HMAC-SHA256, under a secret the operator keeps (a file or an environment
//! variable), of the member id and birth date: the same patient gets the same key in every
//! claim, and nobody without the secret can compute it from a member id or reverse it. The
//! member id itself is never stored, logged or returned. Without the secret, history edits are
//! off and every response that asked for history says so.
//!
//! Prior services come from the outcome store: lines the payer paid (835s, linked to the
//! patient through the claim id of a scrub or a reported submission) and lines the billing
//! system reported as submitted (`Remittances/RecordSubmittedClaims`).

use std::sync::{Arc, OnceLock};

use chrono::{Datelike, NaiveDate};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::outcomes::OutcomeStore;
pub use crate::outcomes::{PriorService, SubmittedClaim, SubmittedLine};

/// Shortest secret accepted: 32 bytes (the HMAC-SHA256 block strength).
pub const MIN_SECRET_BYTES: usize = 32;

/// Most prior services read for one claim (the newest first): bounds a lookup's time and
/// memory whatever a store holds for a patient.
pub const MAX_SERVICES: usize = 5_000;

/// How far back a lookup reads: 15 years (the longest bundled interval is 10).
pub const MAX_YEARS: u32 = 15;

/// Computes patient keys.
pub struct PatientKeyer {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for PatientKeyer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatientKeyer(secret hidden)")
    }
}

impl PatientKeyer {
    /// A keyer with `secret` (at least [`MIN_SECRET_BYTES`] bytes, surrounding whitespace
    /// ignored).
    pub fn new(secret: &[u8]) -> Result<Self, String> {
        let secret = secret.trim_ascii();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the patient-key secret is {} bytes; it must be at least {MIN_SECRET_BYTES} (e.g. `openssl rand -hex 32`)",
                secret.len()
            ));
        }
        Ok(Self {
            mac: Hmac::<Sha256>::new_from_slice(secret).map_err(|e| e.to_string())?,
        })
    }

    /// The key of the patient of `wire` (its member id) born on `birth_date` (the validated
    /// claim's), or the field that is missing.
    pub fn key_of(
        &self,
        wire: &crate::proto::v1::Claim,
        birth_date: Option<NaiveDate>,
    ) -> Result<String, &'static str> {
        let member = wire.patient.as_ref().map_or("", |p| p.member_id.trim());
        match (member, birth_date) {
            ("", _) => Err("patient.member_id"),
            (_, None) => Err("patient.birth_date"),
            (m, Some(dob)) => Ok(self.key(m, dob)),
        }
    }

    /// The key of the patient with `member_id` born on `birth_date`: 64 hex digits. The
    /// member id is compared without case or surrounding spaces.
    pub fn key(&self, member_id: &str, birth_date: NaiveDate) -> String {
        let mut mac = self.mac.clone();
        mac.update(b"claimscrub patient v1\0");
        mac.update(member_id.trim().to_ascii_uppercase().as_bytes());
        mac.update(b"\0");
        mac.update(birth_date.format("%Y-%m-%d").to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Where a claim's history comes from: chosen per claim by the scrubber, read at most once,
/// on the first rule that asks.
pub struct Lookup {
    kind: Kind,
    loaded: OnceLock<Result<Vec<PriorService>, String>>,
}

enum Kind {
    /// No history: why.
    Off(String),
    /// A fixed history (a rule's test case).
    Fixed(Vec<PriorService>),
    /// The patient's services in the outcome store, from `since`.
    Store {
        store: Arc<dyn OutcomeStore>,
        key: String,
        since: NaiveDate,
    },
}

impl Default for Lookup {
    fn default() -> Self {
        Self::off("history edits are off: no patient-key secret is configured")
    }
}

impl Lookup {
    /// No history, for `why`.
    pub fn off(why: impl Into<String>) -> Self {
        Self::new(Kind::Off(why.into()))
    }

    /// A fixed history (test cases and tools).
    pub fn fixed(services: Vec<PriorService>) -> Self {
        Self::new(Kind::Fixed(services))
    }

    /// The services of patient `key` in `store`, from [`MAX_YEARS`] before `first_date`.
    pub fn store(store: Arc<dyn OutcomeStore>, key: String, first_date: NaiveDate) -> Self {
        let since = first_date
            .with_year(first_date.year() - MAX_YEARS as i32)
            .unwrap_or(first_date - chrono::Days::new(365 * u64::from(MAX_YEARS)));
        Self::new(Kind::Store { store, key, since })
    }

    fn new(kind: Kind) -> Self {
        Self {
            kind,
            loaded: OnceLock::new(),
        }
    }

    /// The patient's prior services (read on first use; a submitted line the payer has since
    /// paid is listed once, as paid), or why there are none to read.
    pub fn services(&self) -> Result<&[PriorService], &str> {
        self.loaded
            .get_or_init(|| {
                let services = self.read()?;
                let twin: Vec<bool> = {
                    let paid: std::collections::HashSet<_> = services
                        .iter()
                        .filter(|p| p.paid)
                        .map(|p| (p.claim_id.as_str(), p.date, p.code.as_str()))
                        .collect();
                    services
                        .iter()
                        .map(|h| {
                            !h.paid
                                && paid.contains(&(h.claim_id.as_str(), h.date, h.code.as_str()))
                        })
                        .collect()
                };
                Ok(services
                    .into_iter()
                    .zip(twin)
                    .filter_map(|(h, twin)| (!twin).then_some(h))
                    .collect())
            })
            .as_deref()
            .map_err(String::as_str)
    }

    /// Reads the services from where this lookup gets them.
    fn read(&self) -> Result<Vec<PriorService>, String> {
        match &self.kind {
            Kind::Off(why) => Err(why.clone()),
            Kind::Fixed(s) => Ok(s.clone()),
            Kind::Store { store, key, since } => {
                let started = std::time::Instant::now();
                let result = store
                    .patient_history(key, *since, MAX_SERVICES)
                    .map_err(|e| {
                        tracing::warn!(error = %e, "patient history unavailable");
                        "the outcome store could not be read".to_string()
                    });
                crate::telemetry::metrics::history_lookup_seconds(started.elapsed().as_secs_f64());
                result
            }
        }
    }

    /// Why history was unavailable, when a rule asked for it and there was none to read.
    pub fn unavailable(&self) -> Option<&str> {
        match self.loaded.get() {
            Some(Err(why)) => Some(why),
            _ => None,
        }
    }
}

/// The provider a claim's services are attributed to: its rendering NPI, else its billing
/// NPI.
pub fn provider_of(claim: &crate::claim::Claim) -> &str {
    if claim.rendering_provider.npi.is_empty() {
        &claim.billing_provider.npi
    } else {
        &claim.rendering_provider.npi
    }
}

/// Whole months from the month of `earlier` to the month of `later` (January to the next
/// January is 12): CMS states frequency limits as full months passed after the month of the
/// last service ("at least 11 full months have passed" = 12 or more here).
pub fn months_between(earlier: NaiveDate, later: NaiveDate) -> i64 {
    (i64::from(later.year()) * 12 + i64::from(later.month0()))
        - (i64::from(earlier.year()) * 12 + i64::from(earlier.month0()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_key_depends_on_the_secret_and_ignores_case_and_spaces() {
        let a = PatientKeyer::new(&[7u8; 32]).unwrap();
        let b = PatientKeyer::new(&[8u8; 32]).unwrap();
        let k = a.key("abc123 ", d("1950-02-03"));
        assert_eq!(k.len(), 64);
        assert_eq!(k, a.key(" ABC123", d("1950-02-03")));
        assert_ne!(k, b.key("ABC123", d("1950-02-03")), "another secret");
        assert_ne!(k, a.key("ABC123", d("1950-02-04")), "another birth date");
        assert!(
            PatientKeyer::new(b"short")
                .unwrap_err()
                .contains("at least 32")
        );
        assert!(!format!("{a:?}").contains('7'));
    }

    #[test]
    fn months_count_whole_calendar_months() {
        assert_eq!(months_between(d("2025-01-31"), d("2026-01-01")), 12);
        assert_eq!(months_between(d("2025-01-01"), d("2025-12-31")), 11);
        assert_eq!(months_between(d("2025-03-10"), d("2025-03-01")), 0);
    }

    #[test]
    fn a_lookup_reads_once_and_says_why_it_has_nothing() {
        let off = Lookup::off("no secret");
        assert_eq!(off.unavailable(), None, "nobody asked yet");
        assert_eq!(off.services().unwrap_err(), "no secret");
        assert_eq!(off.unavailable(), Some("no secret"));
        let fixed = Lookup::fixed(Vec::new());
        assert!(fixed.services().unwrap().is_empty());
        assert_eq!(fixed.unavailable(), None);
    }
}
