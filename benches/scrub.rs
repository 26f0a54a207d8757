//! In-process scoring benchmarks (criterion): the bundled edit pack over a generated claim mix,
//! with the full CMS 2024 Q3 tables from ../shared/data when present (else the bundled
//! sample tables), the cost of a claim by its number of lines and by the number of loaded
//! rules, and the cost of pricing relative to a scrub.
//!
//! Run: `cargo bench --bench scrub`. Results and machine: docs/BENCHMARKS.md.

mod native;

/// The same allocator as the service binary (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claimscrub::claim::{self, Claim};
use claimscrub::proto::v1 as pb;
use claimscrub::runtime::{Runtime, RuntimeSpec};
use claimscrub::synth;
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

/// The mix moved to `date` (inside the PFS file's window) and billed to `payer`, for pricing.
fn pricing_mix(n: usize, date: &str, payer: &str, kind: pb::PayerType) -> Vec<Arc<Claim>> {
    synth::mix(n, 0x5eed_cafe)
        .into_iter()
        .map(|mut c| {
            c.lines
                .iter_mut()
                .for_each(|l| l.service_date = date.to_string());
            c.payer = Some(pb::Payer {
                payer_id: payer.into(),
                r#type: kind as i32,
            });
            Arc::new(validated(c))
        })
        .collect()
}

/// Mean microseconds of `f` over `claims`.
fn mean_micros(claims: &[Arc<Claim>], mut f: impl FnMut(&Arc<Claim>)) -> f64 {
    let t = Instant::now();
    for c in claims {
        f(c);
    }
    t.elapsed().as_secs_f64() * 1e6 / claims.len() as f64
}

/// The bundled Acme contract written as a `price` function, as it was before contracts could
/// declare their terms: the cost of the script escape hatch.
const ACME_SCRIPTED: &str = r#"let rule = #{ id: "contract-acme-commercial", kind: "reimbursement", name: "Acme (scripted)", category: "payer-contract", effective: "2025-01-01", end: "2025-12-31", applies_to: #{ payer_ids: ["ACME"] } };
fn price(claim, line, medicare) {
    if line.code == "90471" {
        return #{ amount: for_units(2500, line), trace: "carve-out: 90471 at a flat $25.00 per unit" };
    }
    let scheduled = fee_schedule("acme-commercial-2025", line);
    if scheduled != () {
        return #{ amount: scheduled, trace: `Acme fee schedule amount for ${line.code}` };
    }
    if !medicare.priced {
        return #{ unpriced: `not on Acme's fee schedule and Medicare's methodology cannot price it (${medicare.reason}); manual review` };
    }
    #{ amount: percent_of(medicare.fee, 115), trace: `115% of the Medicare PFS amount ${money(medicare.fee)}` }
}
"#;

/// The bundled rules (with their test files) in a memory source, to add to or replace.
fn bundled_source() -> Arc<claimscrub::rules::MemorySource> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let source = Arc::new(claimscrub::rules::MemorySource::new());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if let Some(stem) = name.strip_suffix(".rhai") {
            let tests = std::fs::read_to_string(dir.join(format!("{stem}.tests.json"))).ok();
            source.put(
                stem,
                &std::fs::read_to_string(&path).unwrap(),
                tests.as_deref(),
            );
        }
    }
    source
}

/// The benchmark's claim mix (claimscrub::synth::mix).
fn claim_mix(n: usize) -> Vec<Arc<Claim>> {
    synth::mix(n, 0x5eed_cafe)
        .into_iter()
        .map(|c| Arc::new(validated(c)))
        .collect()
}

fn setup() -> (Runtime, &'static str) {
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
    let runtime = Runtime::build(RuntimeSpec::for_dir(&root.join("rules"), Some(&manifest)))
        .expect("tables load");
    runtime.registry.load_initial().expect("rules load");
    (runtime, which)
}

fn bench(c: &mut Criterion) {
    let (runtime, which) = setup();
    let set = runtime.registry.snapshot();
    let tables = runtime.tables.snapshot();
    let eval = runtime.evaluator.clone();
    let as_of = synth::as_of();
    let mix = claim_mix(1_000);

    // CLAIMSCRUB_BENCH_THREADS=1,2: claims/s with that many threads scrubbing the mix at once
    // (each thread its own copy of the mix order), for the core-scaling curve; run the binary
    // under `taskset -c 0` or `taskset -c 0,1` to give it one or two cores. Stops after it.
    if let Ok(list) = std::env::var("CLAIMSCRUB_BENCH_THREADS") {
        // CLAIMSCRUB_BENCH_NATIVE=1 runs the native baseline instead: what the machine's cores
        // give code that shares nothing but the tables.
        let native_only = std::env::var_os("CLAIMSCRUB_BENCH_NATIVE").is_some();
        for threads in list
            .split(',')
            .filter_map(|t| t.trim().parse::<usize>().ok())
        {
            let secs = 4.0;
            let started = Instant::now();
            let done: usize = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|t| {
                        let (set, tables, eval, mix) = (&set, &tables, &eval, &mix);
                        scope.spawn(move || {
                            let mut n = 0usize;
                            while started.elapsed().as_secs_f64() < secs {
                                let claim = &mix[(n * 7 + t * 131) % mix.len()];
                                if native_only {
                                    std::hint::black_box(native::scrub(claim, tables, as_of));
                                } else {
                                    std::hint::black_box(eval.scrub(
                                        set,
                                        tables.clone(),
                                        claim.clone(),
                                        as_of,
                                    ));
                                }
                                n += 1;
                            }
                            n
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).sum()
            });
            let rate = done as f64 / started.elapsed().as_secs_f64();
            let what = if native_only { "native" } else { "scripted" };
            println!("{what}, threads {threads}: {rate:.0} claims/s");
        }
        return;
    }

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

    // Native baseline (issue #7): the same pack hand-written in Rust (benches/native), on the
    // same claims; both must find the same thing on every claim before the ratio counts.
    for claim in &mix {
        let mut scripted: Vec<(String, Vec<u32>, String, String)> = eval
            .scrub(&set, tables.clone(), claim.clone(), as_of)
            .findings
            .into_iter()
            .map(|f| (f.rule_id, f.lines, f.severity.as_str().to_string(), f.carc))
            .collect();
        scripted.sort();
        let native: Vec<(String, Vec<u32>, String, String)> = native::scrub(claim, &tables, as_of)
            .into_iter()
            .map(|f| (f.rule_id.into(), f.lines, f.severity.into(), f.carc.into()))
            .collect();
        assert_eq!(
            native, scripted,
            "native and scripted findings differ on {}",
            claim.id
        );
    }
    let mut fired_by: std::collections::BTreeMap<&str, usize> = Default::default();
    for claim in &mix {
        let mut ids: Vec<&str> = native::scrub(claim, &tables, as_of)
            .iter()
            .map(|f| f.rule_id)
            .collect();
        ids.dedup();
        for id in ids {
            *fired_by.entry(id).or_default() += 1;
        }
    }
    println!("claims of the mix each rule fires on: {fired_by:?}");
    // This shared machine's speed drifts between moments: alternate the two over five rounds
    // and keep each one's best round, so the ratio compares like with like.
    // CLAIMSCRUB_BENCH_RATIO_ONLY=1 stops after the ratio, with one round (for callgrind:
    // scripts/instructions.sh counts instructions, which do not drift).
    let ratio_only = std::env::var_os("CLAIMSCRUB_BENCH_RATIO_ONLY").is_some();
    let (mut script_us, mut native_us) = (f64::MAX, f64::MAX);
    for _ in 0..if ratio_only { 1 } else { 5 } {
        script_us = script_us.min(mean_micros(&mix, |c| {
            std::hint::black_box(eval.scrub(&set, tables.clone(), c.clone(), as_of));
        }));
        native_us = native_us.min(mean_micros(&mix, |c| {
            std::hint::black_box(native::scrub(c, &tables, as_of));
        }));
    }
    println!(
        "native baseline: {native_us:.1} µs/claim ({:.0} claims/s); scripted {script_us:.1} µs/claim: scripting costs {:.1}x native (best of 5 alternating rounds; same findings on all {} claims)",
        1e6 / native_us,
        script_us / native_us,
        mix.len()
    );

    if ratio_only {
        return;
    }

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

    // Pricing (issue #8): the same mix moved into the PFS file's dates, priced with the
    // Medicare methodology alone and through the example Acme contract, against a scrub.
    let pfs_day = if which.starts_with("full") {
        "2025-11-03"
    } else {
        "2025-07-15"
    };
    let settings = claimscrub::pricing::PricingSettings::default();
    let medicare_mix = pricing_mix(1_000, pfs_day, "MCR", pb::PayerType::Medicare);
    let acme_mix = pricing_mix(1_000, pfs_day, "ACME", pb::PayerType::Commercial);
    let script =
        |c: &Arc<Claim>| claimscrub::engine::ScriptClaim::new(c.clone(), as_of, tables.clone());
    let price = |view: &claimscrub::engine::ScriptClaim| {
        claimscrub::scrub::price(&eval, &set, view, &settings, &[])
    };
    let priced = price(&script(&medicare_mix[0]));
    let priced_lines: usize = medicare_mix
        .iter()
        .map(|c| {
            price(&script(c))
                .0
                .lines
                .iter()
                .filter(|l| l.allowed_cents.is_some())
                .count()
        })
        .sum();
    let all_lines: usize = medicare_mix.iter().map(|c| c.lines.len()).sum();
    assert!(priced.1.is_none());
    let scrub_us = mean_micros(&medicare_mix, |c| {
        std::hint::black_box(eval.scrub(&set, tables.clone(), c.clone(), as_of));
    });
    let medicare_us = mean_micros(&medicare_mix, |c| {
        std::hint::black_box(price(&script(c)));
    });
    let acme_us = mean_micros(&acme_mix, |c| {
        let p = price(&script(c));
        assert!(p.1.is_none() && p.0.contract.is_some());
        std::hint::black_box(p);
    });
    // The same contract written as a `price` function (the escape hatch), in the same set.
    let scripted = {
        let source = bundled_source();
        source.put("contract-acme-commercial", ACME_SCRIPTED, None);
        let reg = runtime.registry_for(source);
        reg.load_initial().expect("rules load");
        reg.snapshot()
    };
    let acme_script_us = mean_micros(&acme_mix, |c| {
        let p = claimscrub::scrub::price(&eval, &scripted, &script(c), &settings, &[]);
        assert!(p.1.is_none() && p.0.contract.is_some());
        std::hint::black_box(p);
    });
    println!(
        "pricing on {pfs_day} ({all_lines} lines, {priced_lines} priced): scrub {scrub_us:.1} µs/claim; Medicare PFS pricing {medicare_us:.1} µs ({:.0}% of the scrub); with the Acme contract's declared terms {acme_us:.1} µs ({:.0}%: the contract adds {:.0}%); with the same contract as a `price` function {acme_script_us:.1} µs ({:.0}%: adds {:.0}%)",
        100.0 * medicare_us / scrub_us,
        100.0 * acme_us / scrub_us,
        100.0 * (acme_us - medicare_us) / scrub_us,
        100.0 * acme_script_us / scrub_us,
        100.0 * (acme_script_us - medicare_us) / scrub_us,
    );

    // The rules of `source` over the same tables: how many loaded, and the mix's mean µs/claim.
    let mix_micros = |source: Arc<claimscrub::rules::MemorySource>| {
        let reg = runtime.registry_for(source);
        let _ = reg.load_initial(); // an empty set (the no-rule baseline) is not an error here
        let s = reg.snapshot();
        let us = mean_micros(&mix, |c| {
            std::hint::black_box(eval.scrub(&s, tables.clone(), c.clone(), as_of));
        });
        (s.rules.len(), us)
    };
    // Rules that cannot apply: N code-specific policy rules (codes absent from the mix) on top
    // of the bundled pack; the applicability index should make them nearly free.
    let mut scaling = Vec::new();
    for n in [20usize, 200, 2_000] {
        let source = bundled_source();
        for i in 0..n {
            source.put(
                &format!("policy-{i}"),
                &format!(
                    "let rule = #{{ id: \"policy-{i}\", name: \"policy {i}\", category: \"medical-necessity\", severity: \"error\", carc: \"CO-50\", denial_probability: 0.9, applies_to: #{{ procedures: [\"Q{i:04}\"], payer_types: [\"medicare\"] }} }};\nfn check(claim) {{ let found = []; for line in claim.lines_with_code(\"Q{i:04}\") {{ if !line.diagnosis_in([\"E11.*\"]) {{ found.push(finding(\"not covered\", [line.number])); }} }} found }}\n"
                ),
                None,
            );
        }
        let (loaded, us) = mix_micros(source);
        println!("  {loaded} rules ({n} code-specific that cannot apply): {us:.1} µs/claim");
        scaling.push(us);
    }
    println!(
        "  2,000 vs 20 inapplicable rules: {:.2}x",
        scaling[2] / scaling[0]
    );

    // Fixed cost of running a rule: 20 rules that apply to every claim and do nothing, against
    // an empty rule set (both build the script view of the claim once per claim).
    let cost_of = |rules: usize| {
        let source = Arc::new(claimscrub::rules::MemorySource::new());
        for i in 0..rules {
            source.put(
                &format!("noop-{i}"),
                &format!("let rule = #{{ id: \"noop-{i}\", name: \"noop\", category: \"x\", severity: \"info\", carc: \"CO-16\", denial_probability: 0.1 }};\nfn check(claim) {{ [] }}\n"),
                None,
            );
        }
        mix_micros(source).1
    };
    let (none, twenty) = (cost_of(0), cost_of(20));
    println!(
        "  fixed cost per rule call: {:.2} µs (20 no-op rules {twenty:.1} µs/claim, none {none:.1} µs/claim)",
        (twenty - none) / 20.0
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
    group.bench_function("native_claim_mix_1000", |b| {
        b.iter(|| {
            for claim in &mix {
                std::hint::black_box(native::scrub(claim, &tables, as_of));
            }
        })
    });
    // X12 837P in: the same 1,000 claims written as one interchange, read (tokenize + map to
    // proto claims) and validated, to compare with scrubbing them (claim_mix_1000).
    let wire = synth::mix(1_000, 0x5eed_cafe);
    let x12 = claimscrub::x12::write::interchange_837p(&wire);
    group.throughput(Throughput::Bytes(x12.len() as u64));
    // Reading alone is what an 837 adds to a scrub (validation is part of every scrub).
    group.bench_function("x12_read_only_837p_1000", |b| {
        b.iter(|| std::hint::black_box(claimscrub::x12::read_837(x12.as_bytes()).unwrap().len()))
    });
    group.bench_function("x12_read_837p_1000", |b| {
        b.iter(|| {
            let read = claimscrub::x12::read_837(x12.as_bytes()).unwrap();
            for r in &read {
                let claim = r.claim.as_ref().unwrap();
                std::hint::black_box(
                    claimscrub::claim::validate::validate(
                        claim,
                        claimscrub::claim::Limits::default(),
                    )
                    .is_ok(),
                );
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
