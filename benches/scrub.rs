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
use claimscrub::tables::TableStore;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Codes of a typical professional claim mix: E/M, labs, therapy, injections, imaging.
const CODES: &[&str] = &[
    "99213", "99214", "99212", "99204", "36415", "80053", "85025", "83036", "80061", "84443",
    "97110", "97140", "97530", "97112", "96372", "J1100", "20610", "71046", "73562", "93000",
    "81002", "87880", "90471", "90686", "G0439", "11042", "99291",
];
/// Pairs that fire an edit (PTP, MUE, add-on) when injected.
const FIRING: &[(&str, &str)] = &[
    ("80053", "82947"),
    ("20610", "99213"),
    ("96372", "99211"),
    ("99213", "11045"),
];
const DX: &[&str] = &[
    "E11.9", "I10", "M54.50", "J02.9", "E78.5", "M17.11", "Z00.00", "R05.9", "N18.30", "E55.9",
];

/// A deterministic pseudo-random generator (xorshift), so every run scores the same claims.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn make_claim(rng: &mut Rng, id: usize, lines: usize, firing: bool) -> Claim {
    let dx: Vec<pb::Diagnosis> = (0..1 + rng.next() % 4)
        .map(|_| pb::Diagnosis {
            code: rng.pick(DX).into(),
            present_on_admission: String::new(),
        })
        .collect();
    let mut codes: Vec<&str> = (0..lines).map(|_| rng.pick(CODES)).collect();
    if firing && lines >= 2 {
        let (a, b) = FIRING[(rng.next() % FIRING.len() as u64) as usize];
        codes[0] = a;
        codes[1] = b;
    }
    let n_dx = dx.len() as u32;
    let wire = pb::Claim {
        claim_id: format!("B-{id}"),
        claim_type: pb::ClaimType::Professional as i32,
        payer: Some(pb::Payer {
            payer_id: "MCR".into(),
            r#type: pb::PayerType::Medicare as i32,
        }),
        patient: Some(pb::Patient {
            birth_date: "1950-01-01".into(),
            sex: pb::Sex::Female as i32,
        }),
        billing_provider: Some(pb::Provider {
            npi: "1234567893".into(),
            taxonomy: String::new(),
        }),
        place_of_service: "11".into(),
        diagnoses: dx,
        lines: codes
            .iter()
            .enumerate()
            .map(|(i, code)| pb::ServiceLine {
                line_number: i as u32 + 1,
                procedure_code: code.to_string(),
                units: 1.0,
                charge_cents: 10_000,
                service_date: "2024-07-15".into(),
                diagnosis_pointers: vec![1 + (i as u32 % n_dx)],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    claim::validate::validate(
        &wire,
        claim::Limits {
            max_lines: 1000,
            max_string_len: 64,
        },
    )
    .expect("generated claims are valid")
}

/// The benchmark's claim mix: 1–12 lines, a few 50- and 200-line claims, ~30% with an edit.
fn claim_mix(n: usize) -> Vec<Arc<Claim>> {
    let mut rng = Rng(0x5eed_cafe);
    (0..n)
        .map(|i| {
            let lines = match i % 100 {
                0 => 200,
                1..=3 => 50,
                _ => 1 + (rng.next() % 12) as usize,
            };
            let firing = rng.next() % 10 < 3;
            Arc::new(make_claim(&mut rng, i, lines, firing))
        })
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
    let mut rng = Rng(42);
    for lines in [1usize, 5, 20, 50, 200] {
        let claim = Arc::new(make_claim(&mut rng, lines, lines, false));
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("lines", lines), &claim, |b, claim| {
            b.iter(|| std::hint::black_box(eval.scrub(&set, tables.clone(), claim.clone(), as_of)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
