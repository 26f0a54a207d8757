//! The native baseline (benches/native, the edit pack hand-written in Rust) finds exactly
//! what the scripted rules find — same rules, lines, severities and CARCs — on the benchmark's
//! claim mix and on every rule's own test-case claims, with the bundled tables and, when
//! present, the full CMS tables. This keeps the scripting-overhead ratio in the benchmark an
//! honest comparison of equal work.

#[path = "../benches/native/mod.rs"]
mod native;
mod support;

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use claimscrub::claim::{self, Claim};
use claimscrub::rules::RuleKind;
use claimscrub::runtime::{Runtime, RuntimeSpec};
use claimscrub::synth;

fn runtime(manifest: &Path) -> Runtime {
    let runtime = Runtime::build(RuntimeSpec::for_dir(
        &support::bundled_rules(),
        Some(manifest),
    ))
    .expect("tables load");
    runtime.registry.load_initial().expect("rules load");
    runtime
}

type Key = (String, Vec<u32>, String, String);

fn compare(runtime: &Runtime, claims: &[(Arc<Claim>, NaiveDate)]) -> usize {
    let set = runtime.registry.snapshot();
    let tables = runtime.tables.snapshot();
    let eval = &runtime.evaluator;
    let mut fired = 0;
    for (claim, as_of) in claims {
        let scripted = eval.scrub(&set, tables.clone(), claim.clone(), *as_of);
        assert!(
            scripted.failures.is_empty(),
            "{}: {:?}",
            claim.id,
            scripted.failures
        );
        let mut scripted: Vec<Key> = scripted
            .findings
            .iter()
            .map(|f| {
                (
                    f.rule_id.clone(),
                    f.lines.clone(),
                    f.severity.as_str().to_string(),
                    f.carc.clone(),
                )
            })
            .collect();
        scripted.sort();
        let native: Vec<Key> = native::scrub(claim, &tables, *as_of)
            .into_iter()
            .map(|f| {
                (
                    f.rule_id.to_string(),
                    f.lines,
                    f.severity.to_string(),
                    f.carc.to_string(),
                )
            })
            .collect();
        assert_eq!(native, scripted, "claim {}", claim.id);
        fired += usize::from(!native.is_empty());
    }
    fired
}

fn claims(runtime: &Runtime) -> Vec<(Arc<Claim>, NaiveDate)> {
    let limits = claim::Limits {
        max_lines: 1000,
        max_string_len: 64,
    };
    let as_of = synth::as_of();
    let mut out: Vec<(Arc<Claim>, NaiveDate)> = synth::mix(1_000, 0x5eed_cafe)
        .into_iter()
        .map(|c| {
            (
                Arc::new(claim::validate::validate(&c, limits).unwrap()),
                as_of,
            )
        })
        .collect();
    for rule in &runtime.registry.snapshot().rules {
        if rule.meta.kind == RuleKind::Edit {
            out.extend(rule.cases.iter().map(|c| (c.claim.clone(), c.as_of)));
        }
    }
    out
}

#[test]
fn native_pack_matches_the_scripts_on_the_bundled_tables() {
    let runtime = runtime(&support::bundled_tables());
    let claims = claims(&runtime);
    let fired = compare(&runtime, &claims);
    println!("{} claims compared, {fired} with findings", claims.len());
    assert!(fired > 100, "the comparison covers claims with findings");
}

#[test]
fn native_pack_matches_the_scripts_on_the_full_cms_tables() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root
        .join("../shared/data/ncci/ptp_practitioner_2024q3.tsv.gz")
        .exists()
    {
        support::skipped(
            "../shared/data not found; native baseline checked on the bundled tables only",
        );
        return;
    }
    let runtime = runtime(&root.join("tests/fixtures/shared-data-tables.toml"));
    let claims = claims(&runtime);
    let fired = compare(&runtime, &claims);
    println!("{} claims compared, {fired} with findings", claims.len());
}
