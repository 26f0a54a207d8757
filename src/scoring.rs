//! Denial-risk scoring: findings in, score out. Pure: no Rhai, no gRPC.
//!
//! The model treats each fired finding as an independent chance of denial `p_i` and reports
//! the probability that at least one of them causes a denial: `1 − Π(1 − p_i)`. Rule failures
//! do not change the score under the fail-open policy; under fail-closed any failure makes the
//! claim certain-risk (1.0, HIGH) so that it is held for review instead of sent unchecked.

use crate::finding::Finding;

/// Denial-risk band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskBand {
    /// Below the medium threshold.
    Low,
    /// At or above medium, below high.
    Medium,
    /// At or above the high threshold.
    High,
}

/// Band thresholds: `LOW < medium ≤ MEDIUM < high ≤ HIGH`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    /// Lowest risk that is MEDIUM (default 0.2).
    pub medium: f64,
    /// Lowest risk that is HIGH (default 0.6).
    pub high: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Self {
            medium: 0.2,
            high: 0.6,
        }
    }
}

impl Bands {
    /// Checks `0 < medium ≤ high ≤ 1`.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.medium > 0.0 && self.medium <= self.high && self.high <= 1.0) {
            return Err(format!(
                "risk band thresholds must satisfy 0 < medium <= high <= 1 (got medium {}, high {})",
                self.medium, self.high
            ));
        }
        Ok(())
    }

    /// The band of `risk`.
    pub fn band(&self, risk: f64) -> RiskBand {
        if risk >= self.high {
            RiskBand::High
        } else if risk >= self.medium {
            RiskBand::Medium
        } else {
            RiskBand::Low
        }
    }
}

/// What to do when a rule fails on a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Score with the rules that ran; list the failure (default).
    #[default]
    Open,
    /// Any rule failure makes the claim HIGH risk (1.0) so it is held for review.
    Closed,
}

impl FailurePolicy {
    /// Every policy with its configuration name.
    pub const ALL: [(&'static str, FailurePolicy); 2] = [
        ("open", FailurePolicy::Open),
        ("closed", FailurePolicy::Closed),
    ];

    /// The configuration name (`open`, `closed`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Open => "open",
            FailurePolicy::Closed => "closed",
        }
    }
}

impl std::str::FromStr for FailurePolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s.trim()))
            .map(|(_, p)| *p)
            .ok_or_else(|| format!("{s:?} is not a failure policy (use open or closed)"))
    }
}

impl std::fmt::Display for FailurePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `1 − Π(1 − p_i)`, with each `p_i` clamped to [0, 1].
pub fn denial_risk(probabilities: impl IntoIterator<Item = f64>) -> f64 {
    let keep: f64 = probabilities
        .into_iter()
        .map(|p| 1.0 - p.clamp(0.0, 1.0))
        .product();
    (1.0 - keep).clamp(0.0, 1.0)
}

/// Final risk of a claim given its findings' probabilities, its rule-failure count and the
/// failure policy.
pub fn claim_risk(
    probabilities: impl IntoIterator<Item = f64>,
    failures: usize,
    policy: FailurePolicy,
) -> f64 {
    if failures > 0 && policy == FailurePolicy::Closed {
        1.0
    } else {
        denial_risk(probabilities)
    }
}

/// Probability that one line is denied: [`denial_risk`] over the findings that name the line
/// and the claim-level findings (which concern every line).
pub fn line_risk(line: u32, findings: &[Finding]) -> f64 {
    denial_risk(
        findings
            .iter()
            .filter(|f| f.lines.is_empty() || f.lines.contains(&line))
            .map(|f| f.denial_probability),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;

    fn finding(lines: Vec<u32>, p: f64) -> Finding {
        Finding {
            rule_id: "r".into(),
            rule_version: "v".into(),
            category: "c".into(),
            severity: Severity::Error,
            message: String::new(),
            lines,
            carc: "CO-16".into(),
            denial_probability: p,
            suggestion: String::new(),
            details: Default::default(),
            field: String::new(),
            rarc: Vec::new(),
            actions: Vec::new(),
        }
    }

    #[test]
    fn line_risk_combines_line_and_claim_findings() {
        let f = [
            finding(vec![1], 0.5),
            finding(vec![], 0.2),
            finding(vec![2], 0.9),
        ];
        // line 1: 1 − (0.5 × 0.8) = 0.6; line 3: only the claim-level finding
        assert!((line_risk(1, &f) - 0.6).abs() < 1e-12);
        assert!((line_risk(3, &f) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn failure_policy_names() {
        assert_eq!("Closed".parse::<FailurePolicy>(), Ok(FailurePolicy::Closed));
        assert_eq!("open".parse::<FailurePolicy>(), Ok(FailurePolicy::Open));
        assert!(
            "maybe"
                .parse::<FailurePolicy>()
                .unwrap_err()
                .contains("open or closed")
        );
    }

    #[test]
    fn no_findings_is_zero_risk() {
        assert_eq!(denial_risk([]), 0.0);
    }

    #[test]
    fn combines_independent_probabilities() {
        let r = denial_risk([0.5, 0.5]);
        assert!((r - 0.75).abs() < 1e-12);
        let r = denial_risk([0.9, 0.2, 0.1]);
        assert!((r - (1.0 - 0.1 * 0.8 * 0.9)).abs() < 1e-12);
    }

    #[test]
    fn risk_is_monotone_and_bounded() {
        let mut ps = vec![];
        let mut last = 0.0;
        for i in 0..50 {
            ps.push((i as f64 * 0.37) % 1.0);
            let r = denial_risk(ps.iter().copied());
            assert!((0.0..=1.0).contains(&r));
            assert!(r >= last);
            last = r;
        }
        assert_eq!(denial_risk([1.0, 0.1]), 1.0);
        assert_eq!(
            denial_risk([-3.0, 7.0]),
            1.0,
            "out-of-range inputs are clamped"
        );
    }

    #[test]
    fn bands_use_inclusive_lower_bounds() {
        let b = Bands::default();
        assert_eq!(b.band(0.0), RiskBand::Low);
        assert_eq!(b.band(0.1999), RiskBand::Low);
        assert_eq!(b.band(0.2), RiskBand::Medium);
        assert_eq!(b.band(0.5999), RiskBand::Medium);
        assert_eq!(b.band(0.6), RiskBand::High);
        assert!(
            Bands {
                medium: 0.7,
                high: 0.6
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn fail_closed_makes_failures_certain_risk() {
        assert_eq!(claim_risk([0.1], 1, FailurePolicy::Closed), 1.0);
        assert!((claim_risk([0.1], 1, FailurePolicy::Open) - 0.1).abs() < 1e-12);
        assert!((claim_risk([0.1], 0, FailurePolicy::Closed) - 0.1).abs() < 1e-12);
    }
}
