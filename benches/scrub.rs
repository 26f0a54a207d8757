//! In-process scoring benchmarks (criterion): the bundled edit pack over a generated claim mix,
//! with the full CMS 2024 Q3 tables from ../shared/data when present (else the bundled
//! sample tables), and the cost of a claim by its number of lines.
//!
//! Run: `cargo bench --bench scrub`. Results and machine: docs/BENCHMARKS.md.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use claimscrub::claim::{self, Claim};
use claimscrub::engine::{EngineLimits, EvalPool, Evaluator};
use claimscrub::proto::v1 as pb;
use claimscrub::registry::RuleRegistry;
use claimscrub::rules::FsSource;
use claimscrub::synth;
use claimscrub::tables::TableStore;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn validated(wire: pb::Claim) -> Claim {
    claim::validate::validate(
        &wire,
        claim::Limits {
            max_lines: 1000,
            max_string_len: 64,
        },
    )
    .expect("generated claims are valid")
}

/// The benchmark's claim mix (claimscrub::synth::mix).
fn claim_mix(n: usize) -> Vec<Arc<Claim>> {
    synth::mix(n, 0x5eed_cafe)
        .into_iter()
        .map(|c| Arc::new(validated(c)))
        .collect()
}

fn setup() -> (RuleRegistry, &'static str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let full = root.join("tests/fixtures/shared-data-tables.toml");
    let (manifest, which) = if root
        .join("../shared/data/ncci/ptp_practitioner_2024q3.tsv.gz")
        .exists()
    {
        (full, "full CMS 2024Q3 tables")
    } else {
        println!("SKIPPED full tables: ../shared/data not found; using the bundled sample tables");
        (root.join("data/tables.toml"), "bundled sample tables")
    };
    let (tables, _) = TableStore::load(&manifest).expect("tables load");
    let registry = RuleRegistry::new(
        Arc::new(FsSource::new(root.join("rules"))),
        Evaluator::new(&EngineLimits::default()),
        EvalPool::new(1, 4).unwrap(),
        Arc::new(tables),
    );
    registry.load_initial().expect("rules load");
    (registry, which)
}

fn bench(c: &mut Criterion) {
    let (registry, which) = setup();
    let set = registry.snapshot();
    let tables = registry.tables().snapshot();
    let eval = registry.evaluator().clone();
    let as_of = NaiveDate::from_ymd_opt(2024, 8, 1).unwrap();
    let mix = claim_mix(1_000);

    // Latency distribution over the mix, measured once (criterion reports means).
    let mut micros: Vec<f64> = mix
        .iter()
        .map(|claim| {
            let t = Instant::now();
            std::hint::black_box(eval.scrub(&set, tables.clone(), claim.clone(), as_of));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    let pct = |p: f64| micros[((micros.len() - 1) as f64 * p) as usize];
    let firing = mix
        .iter()
        .filter(|claim| {
            !eval
                .scrub(&set, tables.clone(), (*claim).clone(), as_of)
                .findings
                .is_empty()
        })
        .count();
    println!(
        "claim mix ({which}, {} rules): {} claims, {:.0}% with findings; per claim p50 {:.1} µs, p99 {:.1} µs, mean {:.1} µs -> {:.0} claims/s on one core",
        set.rules.len(),
        mix.len(),
        100.0 * firing as f64 / mix.len() as f64,
        pct(0.5),
        pct(0.99),
        micros.iter().sum::<f64>() / micros.len() as f64,
        1e6 * micros.len() as f64 / micros.iter().sum::<f64>()
    );

    // Cost of each rule alone over the mix: where the time goes.
    let mut per_rule: Vec<(f64, String)> = set
        .rules
        .iter()
        .map(|rule| {
            let one = claimscrub::rules::RuleSet::new(vec![rule.clone()]);
            let t = Instant::now();
            for claim in &mix {
                std::hint::black_box(eval.scrub(&one, tables.clone(), claim.clone(), as_of));
            }
            (
                t.elapsed().as_secs_f64() * 1e6 / mix.len() as f64,
                rule.meta.id.clone(),
            )
        })
        .collect();
    per_rule.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (us, id) in &per_rule {
        println!("  {us:>7.1} µs/claim  {id}");
    }

    let mut group = c.benchmark_group("scrub");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    group.throughput(Throughput::Elements(mix.len() as u64));
    group.bench_function("claim_mix_1000", |b| {
        b.iter(|| {
            for claim in &mix {
                std::hint::black_box(eval.scrub(&set, tables.clone(), claim.clone(), as_of));
            }
        })
    });
    let mut rng = synth::Rng(42);
    for lines in [1usize, 5, 20, 50, 200] {
        let claim = Arc::new(validated(synth::claim(&mut rng, lines, lines, false)));
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("lines", lines), &claim, |b, claim| {
            b.iter(|| std::hint::black_box(eval.scrub(&set, tables.clone(), claim.clone(), as_of)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
