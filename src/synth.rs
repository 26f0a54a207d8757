//! Synthetic claims for benchmarks and the load generator: a deterministic mix of typical
//! professional claims (office visits, labs, therapy, injections, imaging) made of encounters
//! of 1-6 services on successive days, mostly 1–12 lines with a few 50- and 200-line claims,
//! 30% of them carrying a pair that fires an edit.
//! Never used to score real claims.

use chrono::NaiveDate;

use crate::proto::v1 as pb;

/// Date of the last encounter of every synthetic claim; earlier encounters are on earlier
/// days. In ICD-10-CM FY2025 (from 2024-10-01) even for a 200-line claim's first encounter, so
/// the diagnoses are checked against a loaded code set as real claims are.
pub fn last_service_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 12, 16).expect("valid date")
}

/// The date the synthetic claims are scrubbed "as of": a couple of weeks after the last
/// encounter, within every timely-filing limit.
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 2).expect("valid date")
}

/// Office visits: at most one per encounter (NCCI pairs E/M codes with each other).
pub const EM: &[&str] = &["99213", "99214", "99212", "99204"];
/// Other services of a typical professional mix (labs, therapy, injections, imaging).
pub const SERVICES: &[&str] = &[
    "36415", "85025", "80061", "84443", "97110", "97140", "97112", "J1100", "71046", "73562",
    "93000", "81002", "87880", "90686",
];
/// Services NCCI bundles into a same-day office visit: only in encounters without one.
pub const WITHOUT_EM: &[&str] = &["96372", "90471", "G0439"];
/// Pairs that fire an edit (NCCI PTP, add-on code) when injected.
pub const FIRING: &[(&str, &str)] = &[
    ("80053", "82947"),
    ("20610", "99213"),
    ("96372", "99211"),
    ("99213", "11045"),
];
/// Diagnoses that support the codes above.
pub const DX: &[&str] = &[
    "E11.9", "I10", "M54.50", "J02.9", "E78.5", "M17.11", "R05.9", "N18.30",
];

/// A deterministic xorshift generator.
pub struct Rng(pub u64);

impl Rng {
    /// Next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A pseudo-random element.
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next_u64() % xs.len() as u64) as usize]
    }
}

/// One synthetic claim with `lines` lines; `firing` injects a pair that fires an edit.
pub fn claim(rng: &mut Rng, id: usize, lines: usize, firing: bool) -> pb::Claim {
    let dx: Vec<pb::Diagnosis> = (0..1 + rng.next_u64() % 3)
        .map(|_| pb::Diagnosis {
            code: rng.pick(DX).into(),
            present_on_admission: String::new(),
            code_system: String::new(),
        })
        .collect();
    // Encounters on successive earlier days, 1-6 distinct services each: clean unless a
    // firing pair is injected into the first one.
    let mut codes: Vec<(&str, u64)> = Vec::with_capacity(lines);
    let mut day = 0u64;
    while codes.len() < lines {
        let size = (1 + rng.next_u64() % 6).min((lines - codes.len()) as u64) as usize;
        let with_em = !rng.next_u64().is_multiple_of(3);
        let mut pool: Vec<&str> = SERVICES.to_vec();
        if with_em {
            codes.push((rng.pick(EM), day));
        } else {
            pool.extend_from_slice(WITHOUT_EM);
        }
        while codes.iter().filter(|(_, d)| *d == day).count() < size {
            let i = (rng.next_u64() % pool.len() as u64) as usize;
            codes.push((pool.swap_remove(i), day));
        }
        day += 1;
    }
    if firing && lines >= 2 {
        let (a, b) = FIRING[(rng.next_u64() % FIRING.len() as u64) as usize];
        codes[0] = (a, 0);
        codes[1] = (b, 0);
    }
    let base = last_service_date();
    let n_dx = dx.len() as u32;
    pb::Claim {
        claim_id: format!("SYN-{id}"),
        claim_type: pb::ClaimType::Professional as i32,
        payer: Some(pb::Payer {
            payer_id: "MCR".into(),
            r#type: pb::PayerType::Medicare as i32,
        }),
        patient: Some(pb::Patient {
            birth_date: "1950-01-01".into(),
            sex: pb::Sex::Female as i32,
            member_id: String::new(),
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
            .map(|(i, (code, day))| pb::ServiceLine {
                line_number: i as u32 + 1,
                procedure_code: code.to_string(),
                units: 1.0,
                charge_cents: 10_000,
                service_date: (base - chrono::Days::new(*day)).to_string(),
                diagnosis_pointers: vec![1 + (i as u32 % n_dx)],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The standard mix: 1–12 lines, 3% 50-line and 1% 200-line claims, 30% with a firing pair.
pub fn mix(n: usize, seed: u64) -> Vec<pb::Claim> {
    let mut rng = Rng(seed | 1);
    (0..n)
        .map(|i| {
            let lines = match i % 100 {
                0 => 200,
                1..=3 => 50,
                _ => 1 + (rng.next_u64() % 12) as usize,
            };
            let firing = rng.next_u64() % 10 < 3;
            claim(&mut rng, i, lines, firing)
        })
        .collect()
}
