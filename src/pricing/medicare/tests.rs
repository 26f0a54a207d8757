//! Every expected amount is worked out by hand from the table rows below (copied from
//! CMS's PPRRVU2025_Oct.csv and GPCI2025.csv unless marked "test row"), with the rounding
//! rule of `crate::money`: round to the cent, halves away from zero, at every step.
//! CF = 32.3465 throughout.

use std::sync::Arc;

use super::*;
use crate::claim::{ClaimType, PayerType, Provider, Sex};
use crate::tables::read::Input;
use crate::tables::{Dated, Window, pfs};

const RVU: &str = "\
HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,IND,DAYS,OP,OP,OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,AMOUNT,AMOUNT
27447,,,A,,19.60,15.30,NA,15.30,,3.98,38.88,38.88,0,090,0.10,0.69,0.21,2,1,2,1,0,,32.3465,09,0,99,0.00,0.00,0.00
20610,,,A,,0.79,1.04,,0.44,,0.13,1.96,1.36,0,000,0.00,0.00,0.00,2,1,1,0,0,,32.3465,09,0,99,0.00,0.00,0.00
45378,,,A,,3.26,6.44,,1.79,,0.43,10.13,5.48,0,000,0.00,0.00,0.00,2,0,1,0,0,,32.3465,09,0,99,0.00,0.00,0.00
45380,,,A,,3.56,8.79,,1.93,,0.47,12.82,5.96,0,000,0.00,0.00,0.00,3,0,1,0,0,45378,32.3465,09,0,99,0.00,0.00,0.00
45385,,,A,,4.57,8.33,,2.38,,0.56,13.46,7.51,0,000,0.00,0.00,0.00,3,0,1,0,0,45378,32.3465,09,0,99,0.00,0.00,0.00
97110,,,A,,0.45,0.43,,0.43,NA,0.01,0.89,0.89,7,XXX,0.00,0.00,0.00,5,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
97140,,,A,,0.43,0.40,,0.40,NA,0.01,0.84,0.84,7,XXX,0.00,0.00,0.00,5,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
70450,,,A,,0.85,2.35,,2.35,NA,0.05,3.25,3.25,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,09,0,88,3.58,3.58,0.06
70450,26,,A,,0.85,0.31,,0.31,,0.04,1.20,1.20,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,09,0,88,0.00,0.00,0.00
70450,TC,,A,,0.00,2.04,,2.04,NA,0.01,2.05,2.05,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,01,0,88,3.27,3.27,0.02
70486,,,A,,0.85,3.00,,3.00,NA,0.05,3.90,3.90,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,09,0,88,3.60,3.60,0.05
70486,26,,A,,0.85,0.32,,0.32,,0.04,1.21,1.21,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,09,0,88,0.00,0.00,0.00
70486,TC,,A,,0.00,2.68,,2.68,NA,0.01,2.69,2.69,1,XXX,0.00,0.00,0.00,4,0,0,0,0,,32.3465,01,0,88,3.28,3.28,0.01
93005,,,A,,0.00,0.18,,0.18,NA,0.01,0.19,0.19,3,XXX,0.00,0.00,0.00,6,0,0,0,0,,32.3465,01,0,99,0.00,0.00,0.00
99213,,,A,,1.30,1.35,,0.57,,0.10,2.75,1.97,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
99214,,,A,,1.92,1.80,,0.83,,0.15,3.87,2.90,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
71046,,,A,,0.22,0.77,,0.77,NA,0.02,1.01,1.01,1,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,2.76,2.76,0.05
71046,26,,A,,0.22,0.08,,0.08,,0.01,0.31,0.31,1,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
71046,TC,,A,,0.00,0.69,,0.69,NA,0.01,0.70,0.70,1,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,01,0,99,2.68,2.68,0.04
J1100,,,E,,0.00,0.00,,0.00,,0.00,0.00,0.00,9,XXX,0.00,0.00,0.00,9,9,9,9,9,,32.3465,09,0,99,0.00,0.00,0.00
0001F,,,I,,0.00,0.00,,0.00,,0.00,0.00,0.00,9,XXX,0.00,0.00,0.00,9,9,9,9,9,,32.3465,09,0,99,0.00,0.00,0.00
00100,,,J,,0.00,0.00,,0.00,,0.00,0.00,0.00,9,XXX,0.00,0.00,0.00,9,9,9,9,9,,32.3465,09,0,99,0.00,0.00,0.00
0042T,,,C,,0.00,0.00,,0.00,,0.00,0.00,0.00,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00
11111,,,A,,10.00,5.00,,5.00,,1.00,16.00,16.00,0,090,0.00,0.00,0.00,2,2,1,0,2,,32.3465,09,0,99,0,0,0
22222,,,A,,10.00,5.00,,5.00,,1.00,16.00,16.00,0,090,0.00,0.00,0.00,2,3,9,9,0,,32.3465,09,0,99,0,0,0
33333,,,T,,0.17,0.21,,0.21,,0.01,0.39,0.39,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0,0,0
";
// 11111, 22222 and 33333 are test rows (made-up codes): bilateral 2 / assistant 1 / team 2;
// bilateral 3 / assistant and co-surgery 9; status T.

const GPCI: &str = "\
Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,2025 PW GPCI (with 1.0 Floor),2025 PE GPCI,2025 MP GPCI
13202,NY,01,MANHATTAN,1.065,1.166,1.656
";

fn tables() -> Tables {
    let input = |t: &str| Input {
        name: "t.csv".into(),
        reader: Box::new(std::io::Cursor::new(t.as_bytes().to_vec())),
    };
    let mut rvu = pfs::RvuTable::default();
    rvu.load_cms(&mut input(RVU)).unwrap();
    let mut gpci = pfs::GpciTable::default();
    gpci.load_cms(&mut input(GPCI)).unwrap();
    let window = Window::parse("2025-01-01", "2025-12-31").unwrap();
    Tables {
        pfs_rvu: vec![Dated {
            window,
            table: Arc::new(rvu),
            version: "RVU25D".into(),
        }],
        pfs_gpci: vec![Dated {
            window,
            table: Arc::new(gpci),
            version: "GPCI 2025".into(),
        }],
        ..Tables::default()
    }
}

struct L(&'static str, &'static [&'static str], f64);

fn claim_at(pos: &str, lines: &[L]) -> Claim {
    let date = NaiveDate::from_ymd_opt(2025, 3, 10).unwrap();
    Claim {
        id: "T".into(),
        claim_type: ClaimType::Professional,
        payer_id: String::new(),
        payer_type: PayerType::Medicare,
        birth_date: None,
        sex: Sex::Unknown,
        billing_provider: Provider::default(),
        rendering_provider: Provider::default(),
        place_of_service: pos.into(),
        frequency_code: String::new(),
        admission: Default::default(),
        diagnoses: Vec::new(),
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, l)| Line {
                number: i as u32 + 1,
                procedure_code: l.0.into(),
                modifiers: l.1.iter().map(|m| m.to_string()).collect(),
                units: l.2,
                charge_cents: 10_000_000,
                service_date: date,
                service_date_to: None,
                diagnosis_pointers: Vec::new(),
                place_of_service: pos.into(),
                revenue_code: String::new(),
                ndc: String::new(),
                rendering_provider: Provider::default(),
            })
            .collect(),
        submission_date: None,
        type_of_bill: String::new(),
        prior_authorization: String::new(),
        locality: String::new(),
    }
}

fn price(c: &Claim) -> Vec<LinePrice> {
    price_claim(c, &tables(), None)
}

fn amounts(c: &Claim) -> Vec<Option<i64>> {
    price(c).iter().map(|p| p.allowed_cents).collect()
}

#[test]
fn fee_schedule_formula_by_setting_and_locality() {
    // 99213 non-facility, national: (1.30 + 1.35 + 0.10) × 32.3465 = 88.952875 → 88.95
    let office = claim_at("11", &[L("99213", &[], 1.0)]);
    assert_eq!(amounts(&office), [Some(8_895)]);
    // facility (POS 22): (1.30 + 0.57 + 0.10) × 32.3465 = 63.722605 → 63.72
    let hospital = claim_at("22", &[L("99213", &[], 1.0)]);
    assert_eq!(amounts(&hospital), [Some(6_372)]);
    // 99214 in Manhattan (13202-01): (1.92 × 1.065 + 1.80 × 1.166 + 0.15 × 1.656) × 32.3465
    // = (2.0448 + 2.0988 + 0.2484) × 32.3465 = 4.392 × 32.3465 = 142.065828 → 142.07
    let mut c = claim_at("11", &[L("99214", &[], 1.0)]);
    c.locality = "1320201".into();
    let p = price(&c);
    assert_eq!(p[0].allowed_cents, Some(14_207));
    assert!(p[0].trace[0].contains("MANHATTAN"), "{:?}", p[0].trace);
    // the configured default locality applies when the claim names none
    let c = claim_at("11", &[L("99214", &[], 1.0)]);
    assert_eq!(
        price_claim(&c, &tables(), Some("1320201"))[0].allowed_cents,
        Some(14_207)
    );
    // an unknown locality is not guessed
    let mut c = claim_at("11", &[L("99214", &[], 1.0)]);
    c.locality = "9999999".into();
    let p = price(&c);
    assert_eq!(p[0].allowed_cents, None);
    assert!(p[0].reason.contains("9999999"), "{}", p[0].reason);
}

#[test]
fn units_and_lower_of_charge() {
    // 99213 × 3 units: 88.95 × 3 = 266.85 (no multiple procedure rule: MULT PROC 0)
    assert_eq!(
        amounts(&claim_at("11", &[L("99213", &[], 3.0)])),
        [Some(26_685)]
    );
    // charge 50.00 is below the fee 88.95: allowed 50.00 (42 CFR 414.20)
    let mut c = claim_at("11", &[L("99213", &[], 1.0)]);
    c.lines[0].charge_cents = 5_000;
    let p = price(&c);
    assert_eq!(
        (p[0].allowed_cents, p[0].fee_cents),
        (Some(5_000), Some(8_895))
    );
}

#[test]
fn professional_and_technical_components() {
    // 71046-26: (0.22 + 0.08 + 0.01) × 32.3465 = 10.027415 → 10.03
    // 71046-TC: (0.00 + 0.69 + 0.01) × 32.3465 = 22.64255 → 22.64
    // 71046 global: (0.22 + 0.77 + 0.02) × 32.3465 = 32.669965 → 32.67
    let c = claim_at(
        "11",
        &[
            L("71046", &["26"], 1.0),
            L("71046", &["TC"], 1.0),
            L("71046", &[], 1.0),
        ],
    );
    assert_eq!(amounts(&c), [Some(1_003), Some(2_264), Some(3_267)]);
    // 26 on a code whose PC/TC indicator is 0 cannot be priced
    let p = price(&claim_at("11", &[L("99213", &["26"], 1.0)]));
    assert_eq!(p[0].allowed_cents, None);
    assert!(p[0].reason.contains("PC/TC indicator 0"), "{}", p[0].reason);
}

#[test]
fn status_codes() {
    let c = claim_at(
        "11",
        &[
            L("J1100", &[], 1.0),
            L("0001F", &[], 1.0),
            L("00100", &[], 1.0),
            L("0042T", &[], 1.0),
            L("G9999", &[], 1.0),
        ],
    );
    let p = price(&c);
    // E (and X): paid, if covered, under a fee schedule that is not loaded (ASP drugs here)
    // → unpriced with the reason, so the claim's pricing is not complete
    assert_eq!(p[0].allowed_cents, None);
    assert!(p[0].reason.contains("status E"), "{}", p[0].reason);
    assert!(p[0].reason.contains("not loaded"), "{}", p[0].reason);
    // I: known, not valid for Medicare → zero with the reason
    assert_eq!(p[1].allowed_cents, Some(0));
    assert!(p[1].reason.contains("status I"));
    // J (anesthesia) and C (carrier-priced): no national amount → unpriced
    assert_eq!(p[2].allowed_cents, None);
    assert!(p[2].reason.contains("anesthesia"));
    assert_eq!(p[3].allowed_cents, None);
    assert!(p[3].reason.contains("carrier-priced"));
    // not in the file at all
    assert_eq!(p[4].allowed_cents, None);
    assert!(p[4].reason.contains("not in the Medicare PFS"));
    // status T (test row 33333) is paid alone, but not with another payable service
    // that day: (0.17 + 0.21 + 0.01) × 32.3465 = 12.615135 → 12.62
    assert_eq!(
        amounts(&claim_at("11", &[L("33333", &[], 1.0)])),
        [Some(1_262)]
    );
    let p = price(&claim_at(
        "11",
        &[L("33333", &[], 1.0), L("99213", &[], 1.0)],
    ));
    assert_eq!(p[0].allowed_cents, Some(0));
    assert!(p[0].reason.contains("status T"));
}

#[test]
fn bilateral_modifier_50() {
    // 27447 facility, national: (19.60 + 15.30 + 3.98) × 32.3465 = 38.88 × 32.3465
    // = 1,257.63192 → 1,257.63; bilateral indicator 1: × 150% = 1,886.445 → 1,886.45
    let c = claim_at("22", &[L("27447", &["50"], 1.0)]);
    assert_eq!(amounts(&c), [Some(188_645)]);
    // indicator 2 (test row 11111: 16.00 × 32.3465 = 517.544 → 517.54): already bilateral, 100%
    assert_eq!(
        amounts(&claim_at("22", &[L("11111", &["50"], 1.0)])),
        [Some(51_754)]
    );
    // indicator 3 (test row 22222): 100% each side = 200%: 517.54 × 2 = 1,035.08
    assert_eq!(
        amounts(&claim_at("22", &[L("22222", &["50"], 1.0)])),
        [Some(103_508)]
    );
    // indicator 0 (70450): 150% does not apply: 105.13 (3.25 × 32.3465 = 105.126125)
    assert_eq!(
        amounts(&claim_at("11", &[L("70450", &["50"], 1.0)])),
        [Some(10_513)]
    );
}

#[test]
fn multiple_surgery_ranking() {
    // 27447 (1,257.63) and 20610 facility ((0.79 + 0.44 + 0.13) × 32.3465 = 43.99124 →
    // 43.99) on the same date by the same provider: highest 100%, the other 50%:
    // 43.99 × 50% = 21.995 → 22.00. Ranking ignores line order.
    let c = claim_at("22", &[L("20610", &[], 1.0), L("27447", &[], 1.0)]);
    assert_eq!(amounts(&c), [Some(2_200), Some(125_763)]);
    // the bilateral adjustment comes first: 27447-50 (1,886.45) ranks first
    let c = claim_at("22", &[L("27447", &["50"], 1.0), L("20610", &[], 1.0)]);
    assert_eq!(amounts(&c), [Some(188_645), Some(2_200)]);
    // a further unit is a further procedure: 20610 × 2 alone = 43.99 + 22.00 = 65.99
    assert_eq!(
        amounts(&claim_at("22", &[L("20610", &[], 2.0)])),
        [Some(6_599)]
    );
    // different dates: no reduction
    let mut c = claim_at("22", &[L("20610", &[], 1.0), L("27447", &[], 1.0)]);
    c.lines[0].service_date = c.lines[0].service_date.succ_opt().unwrap();
    assert_eq!(amounts(&c), [Some(4_399), Some(125_763)]);
    // different rendering providers: no reduction
    let mut c = claim_at("22", &[L("20610", &[], 1.0), L("27447", &[], 1.0)]);
    c.lines[0].rendering_provider.npi = "1234567893".into();
    assert_eq!(amounts(&c), [Some(4_399), Some(125_763)]);
    let p = price(&claim_at(
        "22",
        &[L("20610", &[], 1.0), L("27447", &[], 1.0)],
    ));
    assert!(
        p[0].trace.iter().any(|t| t.contains("ranked 2nd, 50%")),
        "{:?}",
        p[0].trace
    );
}

#[test]
fn sixth_and_later_procedures_are_by_report() {
    // 27447 first (1,257.63), then 20610 × 6 units: units 2-5 of the day are the 2nd to 5th
    // procedures at 50%; the line also holds the 6th and 7th, so it is priced by report.
    let p = price(&claim_at(
        "22",
        &[L("27447", &[], 1.0), L("20610", &[], 6.0)],
    ));
    assert_eq!(p[0].allowed_cents, Some(125_763));
    assert_eq!(p[1].allowed_cents, None, "{:?}", p[1]);
    assert!(p[1].reason.contains("by report"), "{}", p[1].reason);
    // five procedures: all priced (27447 100%, 20610 × 4 at 50% = 4 × 22.00 = 88.00)
    assert_eq!(
        amounts(&claim_at(
            "22",
            &[L("27447", &[], 1.0), L("20610", &[], 4.0)]
        )),
        [Some(125_763), Some(8_800)]
    );
    // six lines of one unit: the lowest ranked (the 6th, in line order among equals) is by
    // report, the other five are priced
    let c = claim_at(
        "22",
        &[
            L("27447", &[], 1.0),
            L("20610", &["LT"], 1.0),
            L("20610", &["RT"], 1.0),
            L("20610", &["59"], 1.0),
            L("20610", &["XS"], 1.0),
            L("20610", &["76"], 1.0),
        ],
    );
    let got = amounts(&c);
    assert_eq!(
        got,
        [
            Some(125_763),
            Some(2_200),
            Some(2_200),
            Some(2_200),
            Some(2_200),
            None
        ]
    );
}

#[test]
fn pricing_follows_the_same_modifier_indicators_as_the_finding() {
    // 20610 has no global split (global 000): 54 cannot divide it, the line is denied (zero),
    // as the pfs-modifiers finding says.
    let p = price(&claim_at("22", &[L("20610", &["54"], 1.0)]));
    assert_eq!(p[0].allowed_cents, Some(0));
    assert!(
        p[0].reason.contains("no global surgery split"),
        "{}",
        p[0].reason
    );
    // 27447-54 is divided: (pre 10% + intra 69%) of the fee.
    let p = price(&claim_at("22", &[L("27447", &["54"], 1.0)]));
    assert!(p[0].allowed_cents.unwrap() > 0);
    // 22222 (test row) has bilateral indicator 3: 50 pays each side at 100%.
    let p = price(&claim_at("22", &[L("22222", &["50"], 1.0)]));
    assert!(p[0].allowed_cents.unwrap() > 0);
}

#[test]
fn endoscopy_family() {
    // Facility, national. 45385: (4.57 + 2.38 + 0.56) × 32.3465 = 242.922215 → 242.92;
    // 45380: (3.56 + 1.93 + 0.47) × 32.3465 = 192.78514 → 192.79;
    // base 45378: (3.26 + 1.79 + 0.43) × 32.3465 = 177.25882 → 177.26.
    // Highest (45385) 100%; 45380: 192.79 − 177.26 = 15.53; the base billed with its
    // family: 0.
    let c = claim_at(
        "22",
        &[
            L("45378", &[], 1.0),
            L("45380", &[], 1.0),
            L("45385", &[], 1.0),
        ],
    );
    assert_eq!(amounts(&c), [Some(0), Some(1_553), Some(24_292)]);
    // The family (242.92 + 15.53 = 258.45) ranks as one procedure against 20610 (43.99):
    // the family is paid in full, 20610 at 50% = 22.00.
    let c = claim_at(
        "22",
        &[
            L("45380", &[], 1.0),
            L("45385", &[], 1.0),
            L("20610", &[], 1.0),
        ],
    );
    assert_eq!(amounts(&c), [Some(1_553), Some(24_292), Some(2_200)]);
    // ... and against 27447 (1,257.63) the whole family is second: 50% of each member:
    // 242.92 × 50% = 121.46; 15.53 × 50% = 7.765 → 7.77
    let c = claim_at(
        "22",
        &[
            L("45380", &[], 1.0),
            L("45385", &[], 1.0),
            L("27447", &[], 1.0),
        ],
    );
    assert_eq!(amounts(&c), [Some(777), Some(12_146), Some(125_763)]);
}

#[test]
fn therapy_practice_expense_reduction() {
    // Non-facility, national. 97110 has the highest PE (0.43 > 0.40), so its first unit is
    // paid in full: (0.45 + 0.43 + 0.01) × 32.3465 = 28.788385 → 28.79. Every other unit
    // gets 50% of its PE: 97110 (0.45 + 0.215 + 0.01) × 32.3465 = 21.8338875 → 21.83;
    // 97140 (0.43 + 0.20 + 0.01) × 32.3465 = 20.70176 → 20.70.
    // Line 1 (97110 × 2) = 28.79 + 21.83 = 50.62; line 2 (97140 × 1) = 20.70.
    let c = claim_at("11", &[L("97110", &[], 2.0), L("97140", &[], 1.0)]);
    assert_eq!(amounts(&c), [Some(5_062), Some(2_070)]);
    // a single unit alone: no reduction
    assert_eq!(
        amounts(&claim_at("11", &[L("97140", &[], 1.0)])),
        [Some(2_717)]
    );
}

#[test]
fn imaging_and_cardiovascular_reductions() {
    // Non-facility, national, same family (88). Globals: 70450 = 3.25 × 32.3465 = 105.13;
    // 70486 = 3.90 × 32.3465 = 126.15135 → 126.15.
    // TC: 70450-TC 2.05 × 32.3465 = 66.310325 → 66.31; 70486-TC 2.69 × 32.3465 = 87.01
    // PC: 70450-26 1.20 × 32.3465 = 38.8158 → 38.82; 70486-26 1.21 × 32.3465 = 39.14
    // 70486 has the highest TC and PC: full. 70450: TC 66.31 × 50% = 33.155 → 33.16 off,
    // PC 38.82 × 5% = 1.941 → 1.94 off: 105.13 − 33.16 − 1.94 = 70.03.
    let c = claim_at("11", &[L("70450", &[], 1.0), L("70486", &[], 1.0)]);
    assert_eq!(amounts(&c), [Some(7_003), Some(12_615)]);
    // 93005 (TC-only, MULT PROC 6) × 2: (0.18 + 0.01) × 32.3465 = 6.145835 → 6.15;
    // the second unit's TC is reduced 25%: 6.15 × 25% = 1.5375 → 1.54;
    // 6.15 × 2 − 1.54 = 10.76
    assert_eq!(
        amounts(&claim_at("11", &[L("93005", &[], 2.0)])),
        [Some(1_076)]
    );
}

#[test]
fn surgeon_modifiers() {
    // 27447 facility 1,257.63. Assistant (80, ASST SURG 2): × 16% = 201.2208 → 201.22;
    // AS (85% of 16% = 13.6%): 171.03768 → 171.04; co-surgeon (62, CO-SURG 1): × 62.5%
    // = 786.01875 → 786.02; global split 54 (pre 0.10 + intra 0.69 = 79%): 993.5277 →
    // 993.53.
    let one = |m: &'static [&'static str]| amounts(&claim_at("22", &[L("27447", m, 1.0)]))[0];
    assert_eq!(one(&["80"]), Some(20_122));
    assert_eq!(one(&["AS"]), Some(17_104));
    assert_eq!(one(&["62"]), Some(78_602));
    assert_eq!(one(&["54"]), Some(99_353));
    // 55 (post 21%): 1,257.63 × 21% = 264.1023 → 264.10
    assert_eq!(one(&["55"]), Some(26_410));
    // team surgery (66) on 27447: TEAM SURG 0, not permitted → zero with the reason
    let p = price(&claim_at("22", &[L("27447", &["66"], 1.0)]));
    assert_eq!(p[0].allowed_cents, Some(0));
    assert!(p[0].reason.contains("not permitted"));
    // test row 11111: ASST SURG 1 (statutory restriction) → zero; TEAM SURG 2 → by report
    let p = price(&claim_at(
        "22",
        &[L("11111", &["80"], 1.0), L("11111", &["66"], 1.0)],
    ));
    assert_eq!(p[0].allowed_cents, Some(0));
    assert!(p[0].reason.contains("ASST SURG indicator 1"));
    assert_eq!(p[1].allowed_cents, None);
    assert!(p[1].reason.contains("by report"));
    // test row 22222: CO-SURG 9 → zero
    let p = price(&claim_at("22", &[L("22222", &["62"], 1.0)]));
    assert_eq!(p[0].allowed_cents, Some(0));
}

#[test]
fn what_cannot_be_priced_says_why() {
    let mut c = claim_at("11", &[L("99213", &[], 1.0)]);
    c.claim_type = ClaimType::Institutional;
    assert!(price(&c)[0].reason.contains("institutional"));
    let mut c = claim_at("11", &[L("99213", &[], 1.0)]);
    c.lines[0].service_date = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    let p = price(&c);
    assert_eq!(p[0].allowed_cents, None);
    assert!(p[0].reason.contains("2024-06-01"), "{}", p[0].reason);
    let p = price_claim(
        &claim_at("11", &[L("99213", &[], 1.0)]),
        &Tables::default(),
        None,
    );
    assert!(p[0].reason.contains("no Medicare PFS"));
}

#[test]
fn a_global_test_billed_for_a_hospital_patient_is_paid_its_professional_component() {
    // 70450 (CT head, PC/TC indicator 1) without 26 at POS 22: priced as 70450-26.
    let without = price_claim(&claim_at("22", &[L("70450", &[], 1.0)]), &tables(), None);
    let with_26 = price_claim(
        &claim_at("22", &[L("70450", &["26"], 1.0)]),
        &tables(),
        None,
    );
    assert_eq!(without[0].allowed_cents, with_26[0].allowed_cents);
    assert!(
        without[0].trace[0].contains("professional component only"),
        "{:?}",
        without[0].trace
    );
    // In the office (POS 11) the global service is paid.
    let office = price_claim(&claim_at("11", &[L("70450", &[], 1.0)]), &tables(), None);
    assert!(office[0].allowed_cents > with_26[0].allowed_cents);
}
