//! What a billing system relies on in a finding, checked over every bundled edit rule's test
//! claims and the benchmark's claim mix: every `details` key a rule emits is documented for
//! that rule in rules/README.md ("Details keys of the bundled rules"), every remark code is
//! a RARC with a description, and every bundled edit rule has a row there.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;
use claimscrub::claim::{self, Claim};
use claimscrub::rules::RuleKind;
use claimscrub::rules::trial::run_on;
use claimscrub::runtime::{Runtime, RuntimeSpec};
use claimscrub::synth;

/// `rule id → documented keys`, from the README's table.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/README.md"),
    )
    .unwrap();
    let start = readme
        .find("## Details keys of the bundled rules")
        .expect("the section exists");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut out = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let id = cells[1].trim_matches('`').to_string();
        let keys = cells[2]
            .split(',')
            .map(|k| k.trim().trim_matches('`').to_string())
            .filter(|k| !k.is_empty() && k != "—")
            .collect();
        out.insert(id, keys);
    }
    out
}

#[test]
fn every_details_key_and_remark_code_is_documented() {
    let runtime = Runtime::build(RuntimeSpec::for_dir(
        &support::bundled_rules(),
        Some(&support::bundled_tables()),
    ))
    .unwrap();
    runtime.registry.load_initial().unwrap();
    let set = runtime.registry.snapshot();
    let tables = runtime.tables.snapshot();
    let limits = claim::Limits {
        max_lines: 1000,
        max_string_len: 64,
    };
    let as_of = NaiveDate::from_ymd_opt(2025, 8, 1).unwrap();
    let mut claims: Vec<(Arc<Claim>, NaiveDate)> = synth::mix(500, 7)
        .into_iter()
        .map(|c| {
            (
                Arc::new(claim::validate::validate(&c, limits).unwrap()),
                as_of,
            )
        })
        .collect();
    for rule in &set.rules {
        claims.extend(rule.cases.iter().map(|c| (c.claim.clone(), c.as_of)));
    }
    let docs = documented();
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rule in set.rules.iter().filter(|r| r.meta.kind == RuleKind::Edit) {
        assert!(
            docs.contains_key(&rule.meta.id),
            "rules/README.md documents no details keys for {}",
            rule.meta.id
        );
        for (c, as_of) in &claims {
            for f in run_on(&runtime.evaluator, rule, c, *as_of, &tables).unwrap_or_default() {
                seen.entry(f.rule_id.clone())
                    .or_default()
                    .extend(f.details.keys().cloned());
                for r in &f.rarc {
                    assert!(
                        claimscrub::adjustment::rarc_description(r).is_some(),
                        "{}: remark code {r} has no description",
                        f.rule_id
                    );
                }
            }
        }
    }
    let mut missing = Vec::new();
    for (rule, keys) in &seen {
        for k in keys {
            if !docs.get(rule).is_some_and(|d| d.contains(k)) {
                missing.push(format!("{rule}: {k}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "details keys emitted but not documented in rules/README.md: {missing:?}\nseen: {seen:?}"
    );
}
