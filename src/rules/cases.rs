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
//!
//! Reimbursement rules (payer contracts) list the prices they must produce instead:
//! ```json
//! { "name": "office visit at 115% of Medicare", "claim": { ... },
//!   "prices": [ { "line": 1, "allowed_cents": 10229, "trace_contains": "115%" },
//!               { "line": 2, "unpriced": true } ] }
//! ```

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
    /// Expected line prices (reimbursement rules).
    pub prices: Vec<ExpectedPrice>,
    /// The patient's prior services the case gives history edits (`None`: history is
    /// unavailable in this case, as on a server without history).
    pub history: Option<Vec<crate::history::PriorService>>,
}

/// One prior service in a test case's `history`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    date: String,
    code: String,
    #[serde(default)]
    modifiers: Vec<String>,
    #[serde(default = "one")]
    units: f64,
    #[serde(default)]
    provider: String,
    #[serde(default = "prior_claim")]
    claim_id: String,
    /// "paid" (default) or "submitted".
    #[serde(default)]
    status: Option<String>,
}

fn one() -> f64 {
    1.0
}

fn prior_claim() -> String {
    "PRIOR".into()
}

/// One expected line price; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedPrice {
    /// The line's number.
    pub line: u32,
    /// Expected allowed amount, cents.
    pub allowed_cents: Option<i64>,
    /// True when the line must be unpriced.
    pub unpriced: Option<bool>,
    /// A substring of the calculation trace or reason (case-insensitive).
    pub trace_contains: Option<String>,
    /// Fee schedule label ("Medicare PFS" or "contract `<rule id>`").
    pub fee_schedule: Option<String>,
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
    #[serde(default)]
    expect: Vec<Expected>,
    #[serde(default)]
    prices: Vec<ExpectedPrice>,
    #[serde(default)]
    history: Option<Vec<RawService>>,
}

/// A test file's usual shape, `{"cases": [...]}`; a bare array of cases is read too.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    cases: Vec<RawCase>,
}

/// Most test cases one rule may carry: each runs within the rule's time budget, so the cap
/// bounds what validating a rule costs.
pub const MAX_CASES: usize = 200;

/// Parses a test file. Errors name the case and the problem.
pub fn parse_cases(text: &str) -> Result<Vec<TestCase>, String> {
    // Read by shape, so serde names the key that is wrong (and the keys allowed there) with
    // its line, instead of "did not match any variant".
    let read = if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<RawCase>>(text)
    } else {
        serde_json::from_str::<RawFile>(text).map(|f| f.cases)
    };
    let cases = read.map_err(|e| {
        format!(
            "not a valid test file: {e}; the file looks like {{\"cases\": [{{\"name\": ..., \"claim\": {{...}}, \"expect\": [...]}}]}}"
        )
    })?;
    if cases.len() > MAX_CASES {
        return Err(format!(
            "has {} test cases; the limit is {MAX_CASES} (keep the cases that show what the rule decides)",
            cases.len()
        ));
    }
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
            let history = match c.history {
                None => None,
                Some(list) => Some(
                    list.into_iter()
                        .map(|h| {
                            let date = NaiveDate::parse_from_str(&h.date, "%Y-%m-%d").map_err(
                                |_| format!("case {:?}: history date {:?} is not a YYYY-MM-DD date", c.name, h.date),
                            )?;
                            let paid = match h.status.as_deref() {
                                None | Some("paid") => true,
                                Some("submitted") => false,
                                Some(other) => {
                                    return Err(format!(
                                        "case {:?}: history status {other:?} is not \"paid\" or \"submitted\"",
                                        c.name
                                    ));
                                }
                            };
                            Ok(crate::history::PriorService {
                                date,
                                code: h.code,
                                modifiers: h.modifiers,
                                units: h.units,
                                provider: h.provider,
                                claim_id: h.claim_id,
                                paid,
                            })
                        })
                        .collect::<Result<Vec<_>, String>>()?,
                ),
            };
            Ok(TestCase {
                name: c.name,
                as_of,
                claim: Arc::new(claim),
                expect: c.expect,
                prices: c.prices,
                history,
            })
        })
        .collect()
}

/// Compares a reimbursement rule's line prices on a case with what the case expects.
pub fn check_prices(case: &TestCase, prices: &[crate::pricing::LinePrice]) -> Result<(), String> {
    if case.prices.is_empty() {
        return Err(format!(
            "case {:?}: a reimbursement rule's case lists the `prices` it expects (e.g. [{{\"line\": 1, \"allowed_cents\": 2500}}])",
            case.name
        ));
    }
    if !case.expect.is_empty() {
        return Err(format!(
            "case {:?}: a reimbursement rule makes no findings; put expectations in `prices`",
            case.name
        ));
    }
    for e in &case.prices {
        let fail = |what: String| Err(format!("case {:?}, line {}: {what}", case.name, e.line));
        let Some(p) = prices.iter().find(|p| p.line_number == e.line) else {
            return fail("the claim has no such line".into());
        };
        let shown = || match p.allowed_cents {
            Some(c) => format!("{c} cents ({})", p.trace.join("; ")),
            None => format!("unpriced ({})", p.reason),
        };
        if let Some(c) = e.allowed_cents
            && p.allowed_cents != Some(c)
        {
            return fail(format!("expected {c} cents, got {}", shown()));
        }
        if let Some(u) = e.unpriced
            && u != p.allowed_cents.is_none()
        {
            return fail(format!(
                "expected the line {}, got {}",
                if u { "unpriced" } else { "priced" },
                shown()
            ));
        }
        if let Some(part) = &e.trace_contains {
            let all = format!("{}\n{}", p.trace.join("\n"), p.reason).to_lowercase();
            if !all.contains(&part.to_lowercase()) {
                return fail(format!("the trace does not contain {part:?}: {}", shown()));
            }
        }
        if let Some(s) = &e.fee_schedule
            && *s != p.schedule
        {
            return fail(format!("expected fee schedule {s:?}, got {:?}", p.schedule));
        }
    }
    Ok(())
}

/// Compares a rule's findings on a case with what the case expects.
pub fn check_case(case: &TestCase, findings: &[Finding]) -> Result<(), String> {
    if !case.prices.is_empty() {
        return Err(format!(
            "case {:?}: `prices` are checked for reimbursement rules only (kind: \"reimbursement\"); an edit rule's case lists the findings it expects in `expect`",
            case.name
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_key_is_named_with_the_allowed_ones_and_its_line() {
        let text = "{\"cases\": [\n  {\"name\": \"a\",\n   \"claim\": {\"claim_id\": \"A\"},\n   \"expct\": []}\n]}";
        let e = parse_cases(text).unwrap_err();
        assert!(
            e.contains("unknown field `expct`") && e.contains("`expect`") && e.contains("line 4"),
            "{e}"
        );
        let e = parse_cases("{\"case\": []}").unwrap_err();
        assert!(e.contains("`case`") && e.contains("`cases`"), "{e}");
        // A bare array of cases is read too; an unknown expectation key is named.
        let e = parse_cases("[{\"name\": \"a\", \"claim\": {}, \"expect\": [{\"line\": [1]}]}]")
            .unwrap_err();
        assert!(e.contains("`line`") && e.contains("`lines`"), "{e}");
    }
}
