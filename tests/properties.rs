//! Property tests of the pure layers (#14): scoring stays in [0, 1] and never falls when a
//! finding is added, a line's risk never exceeds the claim's, money arithmetic round-trips,
//! and dates and effective windows agree with their text.

use chrono::NaiveDate;
use claimscrub::finding::{Finding, Severity};
use claimscrub::money::{WHOLE, format_fixed, parse_decimal, percent, times_units};
use claimscrub::scoring::{FailurePolicy, claim_risk, denial_risk, line_risk};
use claimscrub::tables::Window;
use claimscrub::tables::code::{date_of, day, iso, parse_date};
use proptest::prelude::*;

fn finding(lines: Vec<u32>, p: f64) -> Finding {
    Finding {
        rule_id: "r".into(),
        rule_version: "v".into(),
        category: "c".into(),
        severity: Severity::Error,
        message: String::new(),
        lines,
        carc: "CO-16".into(),
        denial_probability: p,
        suggestion: String::new(),
        details: Default::default(),
        field: String::new(),
        rarc: Vec::new(),
        actions: Vec::new(),
    }
}

proptest! {
    #[test]
    fn risk_is_a_probability_and_grows_with_findings(
        ps in proptest::collection::vec(-1.0f64..2.0, 0..20),
        extra in -1.0f64..2.0,
    ) {
        let r = denial_risk(ps.iter().copied());
        prop_assert!((0.0..=1.0).contains(&r));
        let more = denial_risk(ps.iter().copied().chain([extra]));
        prop_assert!(more + 1e-12 >= r, "{more} < {r}");
        let mut reversed = ps.clone();
        reversed.reverse();
        prop_assert!((denial_risk(reversed) - r).abs() < 1e-9, "order does not matter");
        prop_assert_eq!(claim_risk(ps.iter().copied(), 1, FailurePolicy::Closed), 1.0);
    }

    #[test]
    fn a_line_is_never_riskier_than_its_claim(
        fs in proptest::collection::vec((proptest::collection::vec(1u32..5, 0..3), 0.0f64..1.0), 0..12),
        line in 1u32..5,
    ) {
        let findings: Vec<Finding> = fs.into_iter().map(|(l, p)| finding(l, p)).collect();
        let claim = denial_risk(findings.iter().map(|f| f.denial_probability));
        let l = line_risk(line, &findings);
        prop_assert!((0.0..=1.0).contains(&l));
        prop_assert!(l <= claim + 1e-12, "line {l} > claim {claim}");
    }

    #[test]
    fn money_round_trips(cents in -10_000_000_000i64..10_000_000_000, bp in 0i64..20_000) {
        prop_assert_eq!(percent(cents, WHOLE), cents);
        prop_assert_eq!(times_units(cents, 1000), cents);
        // A percentage moves an amount by at most half a cent from the exact value.
        let exact = i128::from(cents) * i128::from(bp);
        let got = i128::from(percent(cents, bp)) * i128::from(WHOLE);
        prop_assert!((got - exact).abs() * 2 <= i128::from(WHOLE));
        prop_assert_eq!(parse_decimal(&format_fixed(cents, 2), 2), Some(cents));
    }

    #[test]
    fn dates_and_windows_agree_with_their_text(a in 0i64..40_000, b in 0i64..40_000, d in 0i64..40_000) {
        let base = NaiveDate::from_ymd_opt(1970, 1, 2).unwrap();
        let date = |n: i64| base + chrono::Duration::days(n);
        let (start, end) = (date(a.min(b)), date(a.max(b)));
        prop_assert_eq!(parse_date(&iso(start)), Some(start));
        prop_assert_eq!(date_of(day(start)), Some(start));
        let w = Window::parse(&iso(start), &iso(end)).unwrap();
        let x = date(d);
        prop_assert_eq!(w.contains(day(x)), start <= x && x <= end);
        prop_assert!(Window::OPEN.contains(day(x)));
    }
}
