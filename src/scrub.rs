//! The scrub pipeline shared by the gRPC API and the offline `check` command. One claim goes
//! top to bottom: validate the wire claim → run the edit rules (engine) → the payer
//! contract's terms (engine) → price (pricing) → score (scoring) → build the response once.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;

use crate::claim::{self, ValidationError};
use crate::engine::pool::PoolError;
use crate::engine::{EvalPool, Evaluator, ScriptClaim};
use crate::finding::{FailureKind, Finding, RuleFailure, Severity};
use crate::history::{Lookup, PatientKeyer};
use crate::outcomes::OutcomeStore;
use crate::pricing::{self, ClaimPrice, PricingSettings};
use crate::proto::v1 as pb;
use crate::registry::RuleRegistry;
use crate::rules::RuleSet;
use crate::runtime::Runtime;
use crate::scoring::{self, Bands, FailurePolicy, RiskBand};
use crate::tables::TableStore;

impl ScrubError {
    /// A description safe to log: field paths, never claim values.
    pub fn loggable(&self) -> String {
        match self {
            ScrubError::Invalid(v) => format!("invalid fields: {}", v.fields().join(", ")),
            ScrubError::Internal(e) => e.to_string(),
        }
    }
}

/// Why a claim could not be scrubbed.
#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    /// The claim is structurally invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Evaluation failed unexpectedly (a bug); the claim was not scored.
    #[error(transparent)]
    Internal(#[from] PoolError),
}

/// Scoring settings.
#[derive(Debug, Clone)]
pub struct ScrubSettings {
    /// Structural limits.
    pub limits: claim::Limits,
    /// Risk bands.
    pub bands: Bands,
    /// Fail-open or fail-closed.
    pub policy: FailurePolicy,
    /// Pricing defaults.
    pub pricing: PricingSettings,
}

/// Scrubs claims with the registry's active rule set and the current tables. Cheap to
/// clone.
#[derive(Clone)]
pub struct Scrubber {
    registry: Arc<RuleRegistry>,
    tables: Arc<TableStore>,
    evaluator: Evaluator,
    pool: EvalPool,
    settings: ScrubSettings,
    observer: Option<Arc<dyn Observer>>,
    calibrations: Option<Arc<dyn Calibrations>>,
    history: Option<History>,
}

/// Patient history for history edits: the keyer and the store the lookups read.
#[derive(Clone)]
pub struct History {
    /// Computes patient keys from member id and birth date.
    pub keyer: Arc<PatientKeyer>,
    /// Where prior services are read.
    pub store: Arc<dyn OutcomeStore>,
}

/// Denial probabilities learnt from remittances, looked up per finding.
pub trait Calibrations: Send + Sync {
    /// The calibrated probability of `rule_id`'s findings for this payer (id, then type), with
    /// the evidence count and its scope ("payer" or "payer_type"), when there is enough.
    fn lookup(
        &self,
        rule_id: &str,
        payer_id: &str,
        payer_type: &str,
    ) -> Option<(f64, u64, &'static str)>;
}

/// Told of every claim scrubbed (after its answer is made; it must not block): the outcome
/// store's recorder.
pub trait Observer: Send + Sync {
    /// `claim` (of the patient with `patient_key`, when history is on) was scrubbed with
    /// answer `resp`.
    fn scrubbed(
        &self,
        claim: &claim::Claim,
        patient_key: Option<&str>,
        resp: &pb::ScrubClaimResponse,
    );
}

impl Scrubber {
    /// A scrubber over `runtime`'s rules and tables, evaluating on its pool.
    pub fn new(runtime: &Runtime, settings: ScrubSettings) -> Self {
        Self {
            registry: runtime.registry.clone(),
            tables: runtime.tables.clone(),
            evaluator: runtime.evaluator.clone(),
            pool: runtime.pool.clone(),
            settings,
            observer: None,
            calibrations: None,
            history: None,
        }
    }

    /// Validates and scrubs one request on the evaluation pool.
    pub async fn scrub(
        &self,
        req: pb::ScrubClaimRequest,
    ) -> Result<pb::ScrubClaimResponse, ScrubError> {
        let (claim, as_of) = self.prepare(&req)?;
        let (patient, history) = self.patient(&req, &claim);
        let this = self.clone();
        self.pool
            .run(move || {
                let resp = this.evaluate(claim.clone(), as_of, history);
                if let Some(o) = &this.observer {
                    o.scrubbed(&claim, patient.as_deref(), &resp);
                }
                resp
            })
            .await
            .map_err(Into::into)
    }

    /// The same scrubber, using `calibrations` for the denial probability of findings whose
    /// rule and payer have enough remittance evidence (declared values otherwise).
    pub fn calibrated_by(mut self, calibrations: Arc<dyn Calibrations>) -> Self {
        self.calibrations = Some(calibrations);
        self
    }

    /// The same scrubber, with history edits on: claims that identify their patient (member
    /// id and birth date) can look up the patient's prior services in `history.store`.
    pub fn with_history(mut self, history: History) -> Self {
        self.history = Some(history);
        self
    }

    /// The patient key of a request (when history is on and the claim identifies its
    /// patient) and where its history is read, or why it is unavailable.
    fn patient(
        &self,
        req: &pb::ScrubClaimRequest,
        claim: &claim::Claim,
    ) -> (Option<String>, Lookup) {
        let (Some(h), Some(wire)) = (&self.history, &req.claim) else {
            return (None, Lookup::default());
        };
        match h.keyer.key_of(wire, claim.birth_date) {
            Ok(key) => (
                Some(key.clone()),
                Lookup::store(h.store.clone(), key, claim.first_service_date()),
            ),
            Err(field) => (None, Lookup::off(format!("the claim has no {field}"))),
        }
    }

    /// The same scrubber, telling `observer` of every claim scrubbed through
    /// [`Scrubber::scrub`].
    pub fn observed_by(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Validates and scrubs one request on the calling thread (tools only).
    pub fn scrub_blocking(
        &self,
        req: &pb::ScrubClaimRequest,
    ) -> Result<pb::ScrubClaimResponse, ScrubError> {
        let (claim, as_of) = self.prepare(req)?;
        let (_, history) = self.patient(req, &claim);
        Ok(self
            .pool
            .run_blocking(|| self.evaluate(claim, as_of, history)))
    }

    fn prepare(
        &self,
        req: &pb::ScrubClaimRequest,
    ) -> Result<(Arc<claim::Claim>, NaiveDate), ValidationError> {
        let Some(wire) = &req.claim else {
            return Err(ValidationError::single("claim", "is required"));
        };
        let as_of = match req.as_of_date.trim() {
            "" => chrono::Utc::now().date_naive(),
            d => NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                ValidationError::single(
                    "as_of_date",
                    format!("{d:?} is not a valid date (format YYYY-MM-DD)"),
                )
            })?,
        };
        let claim = claim::validate::validate(wire, self.settings.limits).map_err(|mut e| {
            for v in &mut e.violations {
                v.field = if v.field.is_empty() {
                    "claim".to_string()
                } else {
                    format!("claim.{}", v.field)
                };
            }
            e
        })?;
        Ok((Arc::new(claim), as_of))
    }

    /// The pipeline after validation, top to bottom: edit rules → contract terms → price →
    /// score → respond.
    fn evaluate(
        &self,
        claim: Arc<claim::Claim>,
        as_of: NaiveDate,
        history: Lookup,
    ) -> pb::ScrubClaimResponse {
        let started = Instant::now();
        let set = self.registry.snapshot();
        let tables = self.tables.snapshot();
        let evaluator = &self.evaluator;
        let view = ScriptClaim::with_history(claim.clone(), as_of, tables.clone(), history);

        let mut edits = evaluator.run_edits(&set, &view);
        // Shadow rules' findings and failures go apart: never scored, priced or failed on.
        let (shadow_findings, shadow_failures) = if set.has_shadow {
            let in_shadow = |id: &str| set.get(id).is_some_and(|r| r.shadow);
            let (shadow, live): (Vec<_>, Vec<_>) = std::mem::take(&mut edits.findings)
                .into_iter()
                .partition(|f| in_shadow(&f.rule_id));
            edits.findings = live;
            let (failed, live): (Vec<_>, Vec<_>) = std::mem::take(&mut edits.failures)
                .into_iter()
                .partition(|f| in_shadow(&f.rule_id));
            edits.failures = live;
            (shadow, failed)
        } else {
            (Vec::new(), Vec::new())
        };
        // Calibrated probabilities replace declared ones before pricing and scoring use them
        // (nothing to do, and nothing allocated, without calibrations).
        let provenance: Option<Vec<Provenance>> = self.calibrations.as_ref().map(|c| {
            edits
                .findings
                .iter_mut()
                .map(|f| {
                    let declared = f.denial_probability;
                    let learnt = c.lookup(&f.rule_id, &claim.payer_id, claim.payer_type.as_str());
                    if let Some((p, _, _)) = learnt {
                        f.denial_probability = p;
                    }
                    Provenance { declared, learnt }
                })
                .collect()
        });
        let (pricing, contract_failure) = price(
            evaluator,
            &set,
            &view,
            &self.settings.pricing,
            &edits.findings,
        );
        edits.failures.extend(contract_failure);
        for f in edits.failures.iter().chain(&shadow_failures) {
            tracing::warn!(claim_id = %claim.id, rule_id = %f.rule_id, rule_version = %f.rule_version,
                kind = ?f.kind, error = %f.message, "rule failed on claim");
        }
        let risk = scoring::claim_risk(
            edits.findings.iter().map(|f| f.denial_probability),
            edits.failures.len(),
            self.settings.policy,
        );
        let band = self.settings.bands.band(risk);

        let resp = pb::ScrubClaimResponse {
            claim_id: claim.id.clone(),
            denial_risk: risk,
            risk_band: band_to_pb(band) as i32,
            findings: match provenance {
                Some(provenance) => edits
                    .findings
                    .into_iter()
                    .zip(provenance)
                    .map(|(f, p)| p.apply(finding_to_pb(f)))
                    .collect(),
                // finding_to_pb marks every probability declared.
                None => edits.findings.into_iter().map(finding_to_pb).collect(),
            },
            ruleset_version: set.version.clone(),
            rule_failures: edits.failures.into_iter().map(failure_to_pb).collect(),
            error: None,
            rules_evaluated: edits.rules_evaluated,
            as_of_date: crate::tables::code::iso(as_of),
            table_versions: tables.versions.iter().map(table_version_to_pb).collect(),
            pricing: Some(pricing_to_pb(pricing)),
            shadow_findings: shadow_findings.into_iter().map(finding_to_pb).collect(),
            shadow_rule_failures: shadow_failures.into_iter().map(failure_to_pb).collect(),
            history_unavailable: view.history().unavailable().unwrap_or_default().to_string(),
        };
        crate::telemetry::metrics::scrub_seconds(started.elapsed().as_secs_f64());
        tracing::debug!(claim_id = %claim.id, ruleset_version = %set.version,
            findings = resp.findings.len(), denial_risk = resp.denial_risk,
            micros = started.elapsed().as_micros() as u64, "claim scrubbed");
        resp
    }
}

/// Where a finding's probability came from.
struct Provenance {
    declared: f64,
    learnt: Option<(f64, u64, &'static str)>,
}

impl Provenance {
    fn apply(self, mut f: pb::Finding) -> pb::Finding {
        f.declared_probability = self.declared;
        match self.learnt {
            Some((_, remits, scope)) => {
                f.probability_source = pb::ProbabilitySource::Calibrated as i32;
                f.calibration_remits = remits;
                f.calibration_scope = scope.to_string();
            }
            None => f.probability_source = pb::ProbabilitySource::Declared as i32,
        }
        f
    }
}

/// The pricing steps of the pipeline: Medicare prices, the terms of the first payer contract
/// of `set` that applies to the claim (if any), then the claim's pricing with line risk from
/// `findings`. Also returns the contract rule's failure, if it failed.
pub fn price(
    evaluator: &Evaluator,
    set: &RuleSet,
    view: &ScriptClaim,
    settings: &PricingSettings,
    findings: &[Finding],
) -> (ClaimPrice, Option<RuleFailure>) {
    let claim = view.claim();
    let medicare = pricing::medicare_prices(claim, view.tables(), settings);
    let (contract, failure) = match set.contracts(claim).next() {
        Some(rule) => {
            let (contract, failure) = evaluator.contract_terms(rule, view, &medicare);
            (Some(contract), failure)
        }
        None => (None, None),
    };
    let priced = pricing::price(claim, settings, medicare, contract.as_ref(), findings);
    (priced, failure)
}

fn band_to_pb(band: RiskBand) -> pb::RiskBand {
    match band {
        RiskBand::Low => pb::RiskBand::Low,
        RiskBand::Medium => pb::RiskBand::Medium,
        RiskBand::High => pb::RiskBand::High,
    }
}

/// A claim's pricing in its wire form.
pub fn pricing_to_pb(p: ClaimPrice) -> pb::ClaimPricing {
    let (contract_rule_id, contract_rule_version) = p.contract.unwrap_or_default();
    pb::ClaimPricing {
        total_allowed_cents: p.total_allowed_cents,
        total_charge_cents: p.total_charge_cents,
        expected_revenue_cents: p.expected_revenue_cents,
        complete: p.complete,
        lines: p
            .lines
            .into_iter()
            .map(|l| pb::LinePricing {
                line_number: l.line_number,
                allowed_cents: l.allowed_cents,
                medicare_allowed_cents: l.medicare_cents,
                fee_schedule: l.schedule,
                fee_schedule_version: l.schedule_version,
                trace: l.trace,
                reason: l.reason,
                denial_probability: l.denial_probability,
                expected_cents: l.expected_cents,
            })
            .collect(),
        contract_rule_id,
        contract_rule_version,
        locality: p.locality,
        no_contract_note: p.no_contract_note,
    }
}

/// A loaded table's version in its wire form.
pub fn table_version_to_pb(v: &crate::tables::TableVersion) -> pb::TableVersion {
    pb::TableVersion {
        kind: v.kind.as_str().to_string(),
        setting: v.setting.map_or(String::new(), |s| s.as_str().to_string()),
        version: v.version.clone(),
        name: v.name.clone(),
        sample: v.partial,
    }
}

/// A domain finding in its wire form.
pub fn finding_to_pb(f: Finding) -> pb::Finding {
    let carc_description = crate::adjustment::carc_description(&f.carc)
        .unwrap_or_default()
        .to_string();
    pb::Finding {
        rule_id: f.rule_id,
        rule_version: f.rule_version,
        category: f.category,
        severity: match f.severity {
            Severity::Info => pb::Severity::Info,
            Severity::Warning => pb::Severity::Warning,
            Severity::Error => pb::Severity::Error,
        } as i32,
        message: f.message,
        line_numbers: f.lines,
        carc: f.carc,
        denial_probability: f.denial_probability,
        probability_source: pb::ProbabilitySource::Declared as i32,
        declared_probability: f.denial_probability,
        calibration_remits: 0,
        calibration_scope: String::new(),
        suggestion: f.suggestion,
        details: f.details.into_iter().collect(),
        request_field: if f.field.is_empty() {
            String::new()
        } else {
            format!("claim.{}", f.field)
        },
        field: f.field,
        carc_description,
        rarc_descriptions: f
            .rarc
            .iter()
            .map(|r| {
                crate::adjustment::rarc_description(r)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect(),
        rarc: f.rarc,
        actions: f.actions.into_iter().map(action_to_pb).collect(),
    }
}

fn action_to_pb(a: crate::finding::FixAction) -> pb::FixAction {
    use crate::finding::FixAction as A;
    let (kind, line_number, modifier, units) = match a {
        A::AppendModifier { line, modifier } => (pb::FixKind::AppendModifier, line, modifier, 0.0),
        A::RemoveModifier { line, modifier } => (pb::FixKind::RemoveModifier, line, modifier, 0.0),
        A::RemoveLine { line } => (pb::FixKind::RemoveLine, line, String::new(), 0.0),
        A::SetUnits { line, units } => (pb::FixKind::SetUnits, line, String::new(), units),
    };
    pb::FixAction {
        kind: kind as i32,
        line_number,
        modifier,
        units,
    }
}

fn failure_to_pb(f: RuleFailure) -> pb::RuleFailure {
    pb::RuleFailure {
        rule_id: f.rule_id,
        rule_version: f.rule_version,
        kind: match f.kind {
            FailureKind::Error => pb::RuleFailureKind::Error,
            FailureKind::Timeout => pb::RuleFailureKind::Timeout,
            FailureKind::LimitExceeded => pb::RuleFailureKind::LimitExceeded,
        } as i32,
        message: f.message,
    }
}
