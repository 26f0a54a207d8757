//! A rule set: the immutable snapshot of active rules that scores a claim.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::compile::CompiledRule;
use super::index::RuleIndex;
use super::meta::RuleKind;
use crate::claim::Claim;

/// An immutable, consistent set of rules. A claim is scored by exactly one `RuleSet`; reloads
/// publish a new one and never modify an existing one.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Identifies exactly this set of rule versions (16 hex digits over sorted id@version).
    pub version: String,
    /// Rules sorted by id.
    pub rules: Vec<Arc<CompiledRule>>,
    /// True when at least one rule runs in shadow.
    pub has_shadow: bool,
    index: RuleIndex,
}

impl RuleSet {
    /// Builds a set (sorts by id, computes the version — which also says which rules run in
    /// shadow — and indexes scopes).
    pub fn new(mut rules: Vec<Arc<CompiledRule>>) -> Self {
        rules.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
        let mut h = Sha256::new();
        for r in &rules {
            h.update(r.meta.id.as_bytes());
            h.update(b"@");
            h.update(r.version.as_bytes());
            if r.shadow {
                h.update(b"@shadow");
            }
            h.update(b"\n");
        }
        let version = hex::encode(&h.finalize()[..8]);
        let index = RuleIndex::build(rules.iter().map(|r| &r.meta.applies_to));
        Self {
            version,
            has_shadow: rules.iter().any(|r| r.shadow),
            rules,
            index,
        }
    }

    /// The edit rules that can apply to `claim` (scope and effective dates), in id order.
    pub fn candidates(&self, claim: &Claim) -> impl Iterator<Item = &Arc<CompiledRule>> {
        let dos = claim.first_service_date();
        self.index
            .candidates(claim, |i| &self.rules[i].meta.applies_to)
            .into_iter()
            .map(|i| &self.rules[i])
            .filter(move |r| r.meta.kind == RuleKind::Edit && r.meta.in_effect(dos))
    }

    /// The payer contracts (reimbursement rules) whose scope and dates admit `claim`, in id
    /// order. The first one prices the claim.
    pub fn contracts<'a>(
        &'a self,
        claim: &'a Claim,
    ) -> impl Iterator<Item = &'a Arc<CompiledRule>> {
        self.rules
            .iter()
            .filter(move |r| r.meta.kind == RuleKind::Reimbursement && r.meta.applies(claim))
    }

    /// Looks a rule up by id.
    pub fn get(&self, id: &str) -> Option<&Arc<CompiledRule>> {
        self.rules
            .binary_search_by(|r| r.meta.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.rules[i])
    }
}
