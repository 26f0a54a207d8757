//! What rules produce: findings about a claim, and failures of rules that could not run.

use std::collections::BTreeMap;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Informational only.
    Info,
    /// Likely denial or reduced payment; review.
    Warning,
    /// Very likely denied as coded; fix before submitting.
    Error,
}

impl Severity {
    /// Parses `"info"`, `"warning"` or `"error"` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One problem a rule found on a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's content version.
    pub rule_version: String,
    /// The rule's category.
    pub category: String,
    /// Severity (the rule's, unless the script overrode it).
    pub severity: Severity,
    /// Plain-English message.
    pub message: String,
    /// Line numbers concerned (sorted, unique); empty for claim-level findings.
    pub lines: Vec<u32>,
    /// Predicted CARC with group code, e.g. `CO-97`.
    pub carc: String,
    /// Probability in [0, 1] that this finding causes a denial.
    pub denial_probability: f64,
    /// What to change.
    pub suggestion: String,
    /// Extra machine-readable facts.
    pub details: BTreeMap<String, String>,
    /// Field path the finding is about (relative to the claim), or empty.
    pub field: String,
    /// Remark codes (RARC) expected with the CARC.
    pub rarc: Vec<String>,
    /// Mechanical fixes, when the fix needs no judgement.
    pub actions: Vec<FixAction>,
}

/// A mechanical fix of a finding.
#[derive(Debug, Clone, PartialEq)]
pub enum FixAction {
    /// Append a modifier to a line.
    AppendModifier {
        /// Line number.
        line: u32,
        /// The modifier.
        modifier: String,
    },
    /// Remove a modifier from a line.
    RemoveModifier {
        /// Line number.
        line: u32,
        /// The modifier.
        modifier: String,
    },
    /// Remove a line.
    RemoveLine {
        /// Line number.
        line: u32,
    },
    /// Set a line's units.
    SetUnits {
        /// Line number.
        line: u32,
        /// The new units.
        units: f64,
    },
}

/// Why a rule could not be evaluated on a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Script error or a return value that is not a finding.
    Error,
    /// Wall-clock budget exceeded.
    Timeout,
    /// Operations, call depth or data size limit exceeded.
    LimitExceeded,
}

/// A rule that failed on one claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFailure {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's content version.
    pub rule_version: String,
    /// What kind of failure.
    pub kind: FailureKind,
    /// Reason, with script position where known; no claim data.
    pub message: String,
}
