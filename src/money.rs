//! Money and fixed-point arithmetic for pricing. No floats reach an amount.
//!
//! Amounts are integer cents (`i64`). Table values keep their published precision as scaled
//! integers: RVUs in hundredths, GPCIs in thousandths, the conversion factor in
//! ten-thousandths, percentages in basis points of a percent (1/100 %, so 62.5 % = 6,250).
//!
//! **Rounding rule (one, everywhere):** every step that produces an amount rounds to the
//! nearest cent, halves away from zero — CMS publishes fee schedule amounts rounded to the
//! cent, and each adjustment in a calculation trace is shown as the rounded amount the next
//! step starts from, so a biller can redo the arithmetic line by line.

/// Divides with rounding to the nearest integer, halves away from zero. `den` must be > 0.
pub fn round_div(num: i128, den: i128) -> i64 {
    debug_assert!(den > 0);
    let half = den / 2;
    let q = if num >= 0 {
        (num + half) / den
    } else {
        (num - half) / den
    };
    q.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Basis points of a percent in one whole (100 %).
pub const WHOLE: i64 = 10_000;

/// `cents × percent`, with the percentage in basis points (15,000 = 150 %), rounded to the cent.
pub fn percent(cents: i64, basis_points: i64) -> i64 {
    round_div(
        i128::from(cents) * i128::from(basis_points),
        i128::from(WHOLE),
    )
}

/// `cents × units`, with units in thousandths (2.5 units = 2,500), rounded to the cent.
pub fn times_units(cents: i64, milli_units: i64) -> i64 {
    round_div(i128::from(cents) * i128::from(milli_units), 1000)
}

/// Units of service in thousandths (2.5 units = 2,500), for [`times_units`].
pub fn milli_units(units: f64) -> i64 {
    (units * 1000.0).round() as i64
}

/// Parses a plain decimal ("1.35", "-0.5", "12", ".869") into an integer scaled by
/// 10^`scale`. More fractional digits than `scale` are refused, not rounded (table values are
/// exact). Thousands separators and signs other than a leading `-` are refused.
pub fn parse_decimal(text: &str, scale: u32) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('$').unwrap_or(t)),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > scale as usize
        || int.len() > 15
    {
        return None;
    }
    let mut v: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    for _ in 0..scale {
        v = v.checked_mul(10)?;
    }
    if !frac.is_empty() {
        let f: i64 = frac.parse().ok()?;
        v = v.checked_add(f * 10i64.pow(scale - frac.len() as u32))?;
    }
    Some(if neg { -v } else { v })
}

/// Formats a scaled integer with exactly `scale` decimals ("1.30" for 130 at scale 2).
pub fn format_fixed(value: i64, scale: u32) -> String {
    let p = 10i64.pow(scale);
    let sign = if value < 0 { "-" } else { "" };
    let v = value.unsigned_abs();
    if scale == 0 {
        return format!("{sign}{v}");
    }
    format!(
        "{sign}{}.{:0width$}",
        v / p as u64,
        v % p as u64,
        width = scale as usize
    )
}

/// Formats cents as dollars with thousands separators: `123456` → `"1,234.56"`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let v = cents.unsigned_abs();
    let dollars = (v / 100).to_string();
    let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
    for (i, ch) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{:02}", v % 100)
}

/// Formats basis points as a percentage: 15,000 → `"150%"`, 6,250 → `"62.5%"`.
pub fn format_percent(basis_points: i64) -> String {
    let s = format_fixed(basis_points, 2);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round_div(5, 10), 1);
        assert_eq!(round_div(4, 10), 0);
        assert_eq!(round_div(-5, 10), -1);
        assert_eq!(round_div(15, 10), 2);
        // 12,345 cents × 50 % = 6,172.5 → 6,173
        assert_eq!(percent(12_345, 5_000), 6_173);
        // 100.01 × 62.5 % = 62.50625 → 62.51
        assert_eq!(percent(10_001, 6_250), 6_251);
        assert_eq!(times_units(8_895, 2_500), 22_238); // 88.95 × 2.5 = 222.375 → 222.38
    }

    #[test]
    fn parses_table_decimals_exactly() {
        assert_eq!(parse_decimal("1.35", 2), Some(135));
        assert_eq!(parse_decimal("0.869", 3), Some(869));
        assert_eq!(parse_decimal("1", 3), Some(1000));
        assert_eq!(parse_decimal("1.5", 3), Some(1500));
        assert_eq!(parse_decimal("32.3465", 4), Some(323_465));
        assert_eq!(parse_decimal(".5", 2), Some(50));
        assert_eq!(parse_decimal("$25.00", 2), Some(2500));
        assert_eq!(parse_decimal("-0.10", 2), Some(-10));
        assert_eq!(parse_decimal("1.234", 2), None);
        assert_eq!(parse_decimal("1,000", 2), None);
        assert_eq!(parse_decimal("", 2), None);
        assert_eq!(parse_decimal("NA", 2), None);
    }

    #[test]
    fn formats_for_traces() {
        assert_eq!(format_cents(123_456), "1,234.56");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(100_000_000), "1,000,000.00");
        assert_eq!(format_fixed(130, 2), "1.30");
        assert_eq!(format_fixed(869, 3), "0.869");
        assert_eq!(format_percent(15_000), "150%");
        assert_eq!(format_percent(6_250), "62.5%");
        assert_eq!(format_percent(1_360), "13.6%");
    }
}
