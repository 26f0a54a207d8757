//! Records what each scrub said, off the request path: scrubs hand their records to a bounded
//! queue and return; one writer thread stores them in batches (one transaction per batch). A
//! full queue (the store slower than the traffic for long) drops records and counts them
//! (`claimscrub_scrub_records_dropped_total`, and a warning at most once a minute) rather
//! than slowing scrubs: the records are for learning, the answers are what billing waits for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use super::{Flag, OutcomeStore, ScrubRecord};
use crate::proto::v1 as pb;
use crate::scrub::Observer;

/// Records queued at most before new ones are dropped.
pub const QUEUE: usize = 10_000;

/// Records stored per transaction at most.
const BATCH: usize = 1_000;

/// Hands scrub records to the writer thread.
pub struct Recorder {
    tx: SyncSender<ScrubRecord>,
    dropped: AtomicU64,
    last_warning: std::sync::Mutex<Option<Instant>>,
}

impl Recorder {
    /// A recorder storing into `store` from a thread of its own; the thread ends when the
    /// recorder is dropped, after storing what is queued.
    pub fn start(store: Arc<dyn OutcomeStore>) -> Arc<Self> {
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("scrub-recorder".into())
            .spawn(move || write(store, rx))
            .expect("spawn the scrub recorder");
        Arc::new(Self {
            tx,
            dropped: AtomicU64::new(0),
            last_warning: std::sync::Mutex::new(None),
        })
    }

    /// Queues `record`; drops it (counted) when the queue is full.
    pub fn record(&self, record: ScrubRecord) {
        match self.tx.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                metrics::counter!("claimscrub_scrub_records_dropped_total").increment(1);
                let mut last = self
                    .last_warning
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if last.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    *last = Some(Instant::now());
                    tracing::warn!(
                        dropped = n,
                        "scrub records dropped: the outcome store is slower than the traffic"
                    );
                }
            }
        }
    }
}

/// How long the writer gathers a batch after its first record: a transaction per record
/// would cost more CPU than the scrubs themselves under load.
const GATHER: Duration = Duration::from_millis(100);

/// The writer thread: a batch is what arrives within [`GATHER`] of its first record (up to
/// [`BATCH`]), stored in one transaction.
fn write(store: Arc<dyn OutcomeStore>, rx: Receiver<ScrubRecord>) {
    while let Ok(first) = rx.recv() {
        let until = Instant::now() + GATHER;
        let mut batch = vec![first];
        while batch.len() < BATCH {
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        if let Err(e) = store.record_scrubs(&batch) {
            metrics::counter!("claimscrub_scrub_records_dropped_total")
                .increment(batch.len() as u64);
            tracing::warn!(error = %e, records = batch.len(), "scrub records not stored");
        }
    }
}

/// The record of one scrub: one flag per finding and line it names.
pub fn record_of(
    claim: &crate::claim::Claim,
    patient_key: Option<&str>,
    resp: &pb::ScrubClaimResponse,
    now: &str,
) -> ScrubRecord {
    let mut flags = Vec::new();
    let live = resp.findings.iter().map(|f| (f, false));
    for (f, shadow) in live.chain(resp.shadow_findings.iter().map(|f| (f, true))) {
        let lines: Vec<u32> = if f.line_numbers.is_empty() {
            vec![0]
        } else {
            f.line_numbers.clone()
        };
        for line in lines {
            flags.push(Flag {
                rule_id: f.rule_id.clone(),
                rule_version: f.rule_version.clone(),
                carc: f.carc.clone(),
                // The rule's own value, not a calibrated one: calibration's prior.
                declared: f.declared_probability,
                line,
                shadow,
            });
        }
    }
    ScrubRecord {
        claim_id: claim.id.clone(),
        payer_id: claim.payer_id.clone(),
        payer_type: claim.payer_type.as_str().to_string(),
        scrubbed_at: now.to_string(),
        ruleset_version: resp.ruleset_version.clone(),
        denial_risk: resp.denial_risk,
        flags,
        patient_key: patient_key.map(str::to_string),
        provider: crate::history::provider_of(claim).to_string(),
    }
}

impl Observer for Recorder {
    fn scrubbed(
        &self,
        claim: &crate::claim::Claim,
        patient_key: Option<&str>,
        resp: &pb::ScrubClaimResponse,
    ) {
        self.record(record_of(claim, patient_key, resp, &super::now()));
    }
}
