//! Rule test cases: claims plus the findings the rule must produce on them, kept beside the
//! rule in `<name>.tests.json`.
//!
//! ```json
//! { "cases": [
//!   { "name": "zero units fires",
//!     "as_of_date": "2024-08-01",
//!     "claim": { "claim_id": "T1", "lines": [ ... ] },
//!     "expect": [ { "lines": [1], "message_contains": "units" } ] },
//!   { "name": "normal claim is clean", "claim": { ... }, "expect": [] }
//! ] }
//! ```
//! The claim is proto3 JSON, exactly what `claimscrub check` and grpcurl accept.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::claim::{self, Claim, Limits};
use crate::finding::{Finding, Severity};

/// One parsed test case.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// Case name, shown when it fails.
    pub name: String,
    /// "Today" for the case: `as_of_date`, else the claim's submission date, else its last
    /// date of service (never the wall clock, so cases give the same answer every day).
    pub as_of: NaiveDate,
    /// The validated claim.
    pub claim: Arc<Claim>,
    /// Expected findings of this rule, in order (sorted by first line, then message).
    pub expect: Vec<Expected>,
}

/// One expected finding; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Exact line numbers.
    pub lines: Option<Vec<u32>>,
    /// A substring of the message (case-insensitive).
    pub message_contains: Option<String>,
    /// Severity (`info` / `warning` / `error`).
    pub severity: Option<String>,
    /// CARC, e.g. `CO-16`.
    pub carc: Option<String>,
    /// Details that must be present with these values.
    pub details: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    #[serde(default)]
    as_of_date: Option<String>,
    claim: serde_json::Value,
    expect: Vec<Expected>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawFile {
    Wrapped { cases: Vec<RawCase> },
    Bare(Vec<RawCase>),
}

/// Parses a test file. Errors name the case and the problem.
pub fn parse_cases(text: &str) -> Result<Vec<TestCase>, String> {
    let raw: RawFile = serde_json::from_str(text).map_err(|e| {
        format!("not a valid test file ({e}); expected {{\"cases\": [{{\"name\", \"claim\", \"expect\"}}]}}")
    })?;
    let cases = match raw {
        RawFile::Wrapped { cases } | RawFile::Bare(cases) => cases,
    };
    let limits = Limits {
        max_lines: 10_000,
        max_string_len: 256,
    };
    cases
        .into_iter()
        .map(|c| {
            let req = claim::json::request_from_value(&c.claim)
                .map_err(|e| format!("case {:?}: claim is not valid claim JSON: {e}", c.name))?;
            let wire = req.claim.unwrap_or_default();
            let claim = claim::validate::validate(&wire, limits)
                .map_err(|e| format!("case {:?}: claim is invalid: {e}", c.name))?;
            let as_of = match c.as_of_date.as_deref() {
                Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    format!(
                        "case {:?}: as_of_date {d:?} is not a YYYY-MM-DD date",
                        c.name
                    )
                })?,
                None => claim
                    .submission_date
                    .unwrap_or_else(|| claim.last_service_date()),
            };
            for e in &c.expect {
                if let Some(s) = &e.severity
                    && Severity::parse(s).is_none()
                {
                    return Err(format!("case {:?}: unknown severity {s:?}", c.name));
                }
            }
            Ok(TestCase {
                name: c.name,
                as_of,
                claim: Arc::new(claim),
                expect: c.expect,
            })
        })
        .collect()
}

/// Compares a rule's findings on a case with what the case expects.
pub fn check_case(case: &TestCase, findings: &[Finding]) -> Result<(), String> {
    let describe = |f: &Finding| format!("lines {:?}: {:?}", f.lines, f.message);
    if findings.len() != case.expect.len() {
        return Err(format!(
            "case {:?}: expected {} finding(s), got {}{}",
            case.name,
            case.expect.len(),
            findings.len(),
            if findings.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    findings.iter().map(describe).collect::<Vec<_>>().join("; ")
                )
            }
        ));
    }
    for (i, (e, f)) in case.expect.iter().zip(findings).enumerate() {
        let fail = |what: String| Err(format!("case {:?}, finding {}: {what}", case.name, i + 1));
        if let Some(lines) = &e.lines
            && *lines != f.lines
        {
            return fail(format!("expected lines {lines:?}, got {:?}", f.lines));
        }
        if let Some(part) = &e.message_contains
            && !f.message.to_lowercase().contains(&part.to_lowercase())
        {
            return fail(format!("message {:?} does not contain {part:?}", f.message));
        }
        if let Some(s) = &e.severity
            && Severity::parse(s) != Some(f.severity)
        {
            return fail(format!(
                "expected severity {s}, got {}",
                f.severity.as_str()
            ));
        }
        if let Some(carc) = &e.carc
            && *carc != f.carc
        {
            return fail(format!("expected CARC {carc}, got {}", f.carc));
        }
        if let Some(details) = &e.details {
            for (k, v) in details {
                if f.details.get(k) != Some(v) {
                    return fail(format!(
                        "expected detail {k} = {v:?}, got {:?}",
                        f.details.get(k)
                    ));
                }
            }
        }
    }
    Ok(())
}
