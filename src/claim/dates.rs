//! Dates as claims and tables write them: `YYYY-MM-DD` (and `YYYYMMDD` in CMS files).

use chrono::NaiveDate;

/// Parses `YYYYMMDD` or `YYYY-MM-DD` (by hand: rule helpers parse dates on every line, and
/// chrono's format-string parser dominated their cost).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.trim().as_bytes();
    let digits = |r: &[u8]| -> Option<u32> {
        r.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (y, m, d) = match b.len() {
        8 => (&b[0..4], &b[4..6], &b[6..8]),
        10 if b[4] == b'-' && b[7] == b'-' => (&b[0..4], &b[5..7], &b[8..10]),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(digits(y)? as i32, digits(m)?, digits(d)?)
}

/// Formats a date as `YYYY-MM-DD` (the same text as chrono's `Display`, without its
/// format-string machinery).
pub fn iso(date: NaiveDate) -> String {
    use chrono::Datelike;
    let (y, m, d) = (date.year(), date.month(), date.day());
    if !(0..=9999).contains(&y) {
        return date.to_string();
    }
    let mut out = String::with_capacity(10);
    for (v, width) in [(y as u32, 4), (m, 2), (d, 2)] {
        if !out.is_empty() {
            out.push('-');
        }
        for p in (0..width).rev() {
            out.push(char::from(b'0' + (v / 10u32.pow(p) % 10) as u8));
        }
    }
    out
}
