//! Applicability index: which rules can possibly apply to a claim, found by hash lookups on
//! the claim's procedure and diagnosis codes, so that thousands of code-specific policy rules
//! cost next to nothing on claims they cannot touch.

use std::collections::HashMap;

use super::meta::AppliesTo;
use crate::claim::Claim;
use crate::claim::codes::{code_matches, undotted};

/// Exact codes, prefixes and ranges for one kind of code, each pointing at rule positions.
#[derive(Debug, Default)]
struct CodeIndex {
    exact: HashMap<String, Vec<usize>>,
    prefix: HashMap<String, Vec<usize>>,
    ranges: Vec<(String, usize)>,
}

impl CodeIndex {
    fn add(&mut self, pattern: &str, rule: usize) {
        let p = pattern.trim();
        if let Some(prefix) = p.strip_suffix('*') {
            self.prefix.entry(undotted(prefix)).or_default().push(rule);
        } else if p.contains('-') {
            self.ranges.push((p.to_string(), rule));
        } else {
            self.exact.entry(undotted(p)).or_default().push(rule);
        }
    }

    fn lookup(&self, code: &str, out: &mut Vec<usize>) {
        let code = undotted(code);
        if let Some(v) = self.exact.get(&code) {
            out.extend_from_slice(v);
        }
        if !self.prefix.is_empty() {
            for end in 0..=code.len() {
                if let Some(v) = self.prefix.get(&code[..end]) {
                    out.extend_from_slice(v);
                }
            }
        }
        for (pattern, rule) in &self.ranges {
            if code_matches(&code, pattern) {
                out.push(*rule);
            }
        }
    }
}

/// Rule positions by what they declare they apply to.
#[derive(Debug, Default)]
pub struct RuleIndex {
    /// Rules with no code filter: candidates for every claim.
    generic: Vec<usize>,
    /// Rules indexed by their procedure patterns.
    procedures: CodeIndex,
    /// Rules without procedure patterns, indexed by their diagnosis patterns.
    diagnoses: CodeIndex,
}

impl RuleIndex {
    /// Builds the index over rule scopes, in rule order.
    pub fn build<'a>(scopes: impl IntoIterator<Item = &'a AppliesTo>) -> Self {
        let mut index = RuleIndex::default();
        for (i, scope) in scopes.into_iter().enumerate() {
            if !scope.procedures.is_empty() {
                for p in &scope.procedures {
                    index.procedures.add(p, i);
                }
            } else if !scope.diagnoses.is_empty() {
                for d in &scope.diagnoses {
                    index.diagnoses.add(d, i);
                }
            } else {
                index.generic.push(i);
            }
        }
        index
    }

    /// Positions of the rules whose scope admits `claim`, ascending. `scope_of(i)` gives rule
    /// `i`'s declared scope for the final claim-level and diagnosis checks.
    pub fn candidates<'a>(
        &self,
        claim: &Claim,
        scope_of: impl Fn(usize) -> &'a AppliesTo,
    ) -> Vec<usize> {
        let mut out = self.generic.clone();
        for line in &claim.lines {
            self.procedures.lookup(&line.procedure_code, &mut out);
        }
        for dx in &claim.diagnoses {
            self.diagnoses.lookup(&dx.code, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out.retain(|&i| {
            let scope = scope_of(i);
            scope.admits_claim(claim)
                && (scope.diagnoses.is_empty()
                    || claim
                        .diagnoses
                        .iter()
                        .any(|d| scope.diagnoses.iter().any(|p| code_matches(&d.code, p))))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claim::{ClaimType, PayerType, validate};
    use crate::proto::v1 as pb;

    fn claim(codes: &[&str], dx: &[&str], payer: pb::PayerType) -> Claim {
        let wire = pb::Claim {
            claim_id: "c".into(),
            payer: Some(pb::Payer {
                payer_id: "P1".into(),
                r#type: payer as i32,
            }),
            diagnoses: dx
                .iter()
                .map(|d| pb::Diagnosis {
                    code: d.to_string(),
                    present_on_admission: String::new(),
                    code_system: String::new(),
                })
                .collect(),
            lines: codes
                .iter()
                .map(|c| pb::ServiceLine {
                    procedure_code: c.to_string(),
                    units: 1.0,
                    service_date: "2024-07-01".into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        validate::validate(&wire, Default::default()).unwrap()
    }

    fn scope(procs: &[&str], dx: &[&str]) -> AppliesTo {
        AppliesTo {
            procedures: procs.iter().map(|s| s.to_string()).collect(),
            diagnoses: dx.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn finds_rules_by_code_prefix_range_and_diagnosis() {
        let scopes = vec![
            scope(&[], &[]),                 // 0 generic
            scope(&["82306"], &[]),          // 1 exact
            scope(&["J*"], &[]),             // 2 prefix
            scope(&["97110-97546"], &[]),    // 3 range
            scope(&[], &["E55.*"]),          // 4 diagnosis prefix
            scope(&["82306"], &["Z00-Z13"]), // 5 procedure and diagnosis
            scope(&["99213"], &[]),          // 6 absent code
        ];
        let index = RuleIndex::build(&scopes);
        let c = claim(
            &["82306", "J1100", "97112"],
            &["E55.9"],
            pb::PayerType::Medicare,
        );
        assert_eq!(index.candidates(&c, |i| &scopes[i]), [0, 1, 2, 3, 4]);
        let c = claim(&["82306"], &["Z00.00"], pb::PayerType::Medicare);
        assert_eq!(index.candidates(&c, |i| &scopes[i]), [0, 1, 5]);
    }

    #[test]
    fn claim_level_filters_apply() {
        let mut s = scope(&["82306"], &[]);
        s.payer_types = vec![PayerType::Medicare];
        s.claim_types = vec![ClaimType::Professional];
        let scopes = vec![s];
        let index = RuleIndex::build(&scopes);
        let c = claim(&["82306"], &["E55.9"], pb::PayerType::Commercial);
        assert!(index.candidates(&c, |i| &scopes[i]).is_empty());
        let c = claim(&["82306"], &["E55.9"], pb::PayerType::Medicare);
        assert_eq!(index.candidates(&c, |i| &scopes[i]), [0]);
    }
}
