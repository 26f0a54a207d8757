//! Bounded mutation fuzzing that runs on the stable toolchain in every CI run: seed inputs
//! (the bundled claims, tables, rules, test files and manifest) are mutated at random — bit
//! flips, byte insertions and deletions, cut-offs, splices of interesting bytes — and fed to
//! every parser that takes outside input. Each must answer `Ok` or a clear `Err`, never
//! panic. The seed is fixed (repeatable); set `CLAIMSCRUB_FUZZ_ITERS` to run longer locally.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use claimscrub::claim::{self, Limits};
use claimscrub::engine::{EngineLimits, Evaluator};
use claimscrub::proto::v1 as pb;
use claimscrub::rules::{RuleFile, compile_rule};
use claimscrub::tables::TableStore;
use prost::Message;

/// xorshift64*: a small deterministic generator (no dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff\xff\xff\xff",
    b"\"",
    b"\n",
    b"\t",
    b"{",
    b"}",
    b"[",
    b"]",
    b"-1",
    b"99999999999999999999",
    b"NaN",
    b"1e309",
    b"\xc3\x28",
    b"#{",
    b"loop {}",
    b",",
    b"\\",
];

/// One to four random edits of `seed`.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(v.len() + 1);
                let b = rng.next() as u8;
                v.insert(i, b);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                let n = 1 + rng.below(16.min(v.len() - i));
                v.drain(i..i + n);
            }
            3 => {
                let cut = rng.below(v.len() + 1);
                v.truncate(cut);
            }
            _ => {
                let i = rng.below(v.len() + 1);
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                v.splice(i..i, piece.iter().copied());
            }
        }
    }
    v
}

fn iterations(default: usize) -> usize {
    std::env::var("CLAIMSCRUB_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `target` on `n` mutations of each seed; fails naming the input that panicked.
fn fuzz(name: &str, seeds: &[Vec<u8>], n: usize, mut target: impl FnMut(&[u8])) {
    let mut rng = Rng(0x005e_ed0f_c1a1_5c2b);
    for seed in seeds {
        for _ in 0..n {
            let input = mutate(&mut rng, seed);
            if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
                panic!(
                    "{name}: panicked on input {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }
    println!("{name}: {} inputs, no panic", seeds.len() * n);
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn claim_json_and_protobuf_requests() {
    let text = std::fs::read_to_string(root().join("samples/demo-claims.json")).unwrap();
    let requests = claim::json::requests_from_str(&text).unwrap();
    let json_seeds = vec![text.into_bytes()];
    fuzz("claim JSON", &json_seeds, iterations(3_000), |input| {
        if let Ok(reqs) = claim::json::requests_from_str(&String::from_utf8_lossy(input)) {
            for r in reqs {
                if let Some(c) = &r.claim {
                    let _ = claim::validate::validate(c, Limits::default());
                }
            }
        }
    });
    let proto_seeds: Vec<Vec<u8>> = requests.iter().map(|r| r.encode_to_vec()).collect();
    fuzz(
        "protobuf ScrubClaimRequest",
        &proto_seeds,
        iterations(3_000),
        |input| {
            if let Ok(r) = pb::ScrubClaimRequest::decode(input)
                && let Some(c) = &r.claim
            {
                let _ = claim::validate::validate(c, Limits::default());
            }
        },
    );
}

#[test]
fn rule_scripts_metadata_and_test_files() {
    let evaluator = Evaluator::new(&EngineLimits::default());
    let dir = root().join("rules");
    let mut seeds = Vec::new();
    for name in ["units-positive", "mue", "contract-acme-commercial"] {
        let script = std::fs::read(dir.join(format!("{name}.rhai"))).unwrap();
        let tests = std::fs::read(dir.join(format!("{name}.tests.json"))).unwrap();
        seeds.push((script, tests));
    }
    let n = iterations(400);
    let scripts: Vec<Vec<u8>> = seeds.iter().map(|s| s.0.clone()).collect();
    fuzz("rule script and header", &scripts, n, |input| {
        let file = RuleFile {
            name: "fuzz.rhai".into(),
            source: Ok(String::from_utf8_lossy(input).into_owned()),
            tests: None,
            shadow: false,
        };
        let _ = compile_rule(evaluator.engine(), &file);
    });
    let script = String::from_utf8(seeds[0].0.clone()).unwrap();
    let tests: Vec<Vec<u8>> = seeds.iter().map(|s| s.1.clone()).collect();
    fuzz("rule test file", &tests, n, |input| {
        let file = RuleFile {
            name: "fuzz.rhai".into(),
            source: Ok(script.clone()),
            tests: Some((
                "fuzz.tests.json".into(),
                Ok(String::from_utf8_lossy(input).into_owned()),
            )),
            shadow: false,
        };
        let _ = compile_rule(evaluator.engine(), &file);
    });
}

#[test]
fn table_files_and_the_manifest() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    copy_dir(&root().join("data"), &data);
    let manifest = std::fs::read_to_string(data.join("tables.toml")).unwrap();
    fuzz(
        "table manifest",
        &[manifest.clone().into_bytes()],
        iterations(500),
        |input| {
            let m = data.join("fuzz.toml");
            std::fs::write(&m, input).unwrap();
            let _ = claimscrub::tables::manifest::load(&m);
        },
    );
    // Each table alone, from its own one-entry manifest, with its file mutated.
    for block in manifest.split("[[table]]").skip(1) {
        let path = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("path = "))
            .unwrap()
            .trim_matches('"')
            .to_string();
        let file = data.join(&path);
        let original = std::fs::read(&file).unwrap();
        let one = data.join("one.toml");
        std::fs::write(&one, format!("[[table]]{block}")).unwrap();
        let n = if path.ends_with(".gz") || path.ends_with(".zip") {
            iterations(40)
        } else {
            iterations(300)
        };
        fuzz(
            &format!("table {path}"),
            std::slice::from_ref(&original),
            n,
            |input| {
                std::fs::write(&file, input).unwrap();
                let _ = TableStore::load(&one);
            },
        );
        std::fs::write(&file, original).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn x12_837_interchanges() {
    // Seeds: every 837 in ../shared/data when present, else a small built-in interchange.
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let shared = root().join("../shared/data/x12");
    for dir in ["5010_837p", "5010_837i", "tr3_examples"] {
        if let Ok(entries) = std::fs::read_dir(shared.join(dir)) {
            seeds.extend(
                entries
                    .flatten()
                    .filter_map(|e| std::fs::read(e.path()).ok()),
            );
        }
    }
    seeds.push(
        b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250801*1200*^*00501*000000001*0*P*:~GS*HC*S*R*20250801*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~HL*1**20*1~NM1*85*2*C*****XX*1234567893~HL*2*1*22*0~SBR*P*18*******MB~CLM*C1*100***11:B:1~HI*ABK:E119~LX*1~SV1*HC:99213:25*100*UN*1***1~DTP*472*RD8*20250701-20250702~SE*11*0001~GE*1*1~IEA*1*000000001~"
            .to_vec(),
    );
    fuzz("X12 837", &seeds, iterations(1_500), |input| {
        let whole = claimscrub::x12::read_837(input);
        if let Ok(claims) = &whole {
            for c in claims {
                let _ = claimscrub::x12::results::request(c, "");
            }
        }
        // Read in pieces, the same input gives the same claims (or also an error).
        let mut stream = claimscrub::x12::StreamReader::new();
        let mut pieces = Vec::new();
        let streamed = input
            .chunks(61)
            .try_for_each(|p| stream.feed(p, &mut pieces))
            .and_then(|()| stream.finish(&mut pieces));
        if let Ok(claims) = &whole {
            assert!(streamed.is_ok(), "{streamed:?}");
            assert_eq!(claims.len(), pieces.len());
        }
    });
}

#[test]
fn x12_835_remittances() {
    // Seeds: every 835 in ../shared/data when present, else a small built-in one.
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(root().join("../shared/data/x12/835"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "835"))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    seeds.push(
        b"ST*835*1~BPR*I*80*C*ACH************20251105~TRN*1*T1*1999999999~N1*PR*ACME~LX*1~CLP*C1*1*150*80*20*12*P1~SVC*HC:99213:25*150*80**1~DTM*472*20251020~CAS*CO*45*50**PR*2*20~REF*6R*1~AMT*B6*100~LQ*HE*N130~PLB*1*20251231*L6:X*-0.5~SE*13*1~"
            .to_vec(),
    );
    fuzz("X12 835", &seeds, iterations(1_500), |input| {
        if let Ok(read) = claimscrub::x12::read_835(input) {
            for r in &read.remittances {
                let _ = r.imbalances();
            }
        }
    });
}

#[test]
fn fhir_claims_and_bundles() {
    // Seeds: the R4 Claim examples in ../shared/data when present, else a small Claim.
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(root().join("../shared/data/fhir"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("Claim-"))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    seeds.push(
        br#"{"resourceType":"Bundle","entry":[{"fullUrl":"urn:p","resource":{"resourceType":"Patient","id":"p","birthDate":"1950-01-01"}},{"resource":{"resourceType":"Claim","id":"C1","patient":{"reference":"Patient/p"},"diagnosis":[{"sequence":1,"diagnosisCodeableConcept":{"coding":[{"code":"E11.9"}]}}],"item":[{"sequence":1,"diagnosisSequence":[1],"productOrService":{"coding":[{"code":"99213"}]},"servicedDate":"2025-01-02","modifier":[{"coding":[{"code":"25"}]}],"net":{"value":100.5}}]}}]}"#
            .to_vec(),
    );
    fuzz("FHIR", &seeds, iterations(300), |input| {
        let Ok(text) = std::str::from_utf8(input) else {
            return;
        };
        if let Ok(claims) = claimscrub::fhir::read(text) {
            for c in &claims {
                let resp = claimscrub::fhir::results::unmapped(c);
                let result = claimscrub::fhir::results::result(c, resp, true);
                let _ = claimscrub::fhir::results::request(c, "");
                assert!(result.operation_outcome.contains("OperationOutcome"));
            }
        }
    });
}
