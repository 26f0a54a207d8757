//! Compact code and date representations for the reference tables.
//!
//! CPT/HCPCS codes are five characters from `[0-9A-Z]`: packed base-36 into a `u32`
//! (36^5 ≈ 60 M). ICD-10-CM codes are 3–7 characters: packed base-37 into a `u64`, with 0 as
//! padding. Both packings preserve lexicographic order. Dates are days since 1970-01-01 in a
//! `u16` (good to 2149), with [`NO_START`] and [`NO_END`] as open bounds.

use chrono::NaiveDate;

/// "No effective date": in force since forever.
pub const NO_START: u16 = 0;
/// "Not deleted": in force until further notice.
pub const NO_END: u16 = u16::MAX;

fn digit36(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'A'..=b'Z' => Some(u32::from(b - b'A') + 10),
        b'a'..=b'z' => Some(u32::from(b - b'a') + 10),
        _ => None,
    }
}

fn char36(d: u32) -> char {
    if d < 10 {
        (b'0' + d as u8) as char
    } else {
        (b'A' + (d - 10) as u8) as char
    }
}

/// Packs a five-character procedure code (any case); `None` for other shapes.
pub fn pack_proc(code: &str) -> Option<u32> {
    let b = code.as_bytes();
    if b.len() != 5 {
        return None;
    }
    b.iter()
        .try_fold(0u32, |acc, c| Some(acc * 36 + digit36(*c)?))
}

/// Unpacks a procedure code.
pub fn unpack_proc(mut v: u32) -> String {
    let mut out = [' '; 5];
    for slot in out.iter_mut().rev() {
        *slot = char36(v % 36);
        v /= 36;
    }
    out.iter().collect()
}

/// Packs an ICD-10-CM code (dots ignored, any case); `None` unless 3–7 letters/digits.
pub fn pack_icd(code: &str) -> Option<u64> {
    let mut v = 0u64;
    let mut n = 0;
    for b in code.bytes().filter(|b| *b != b'.') {
        v = v * 37 + u64::from(digit36(b)? + 1);
        n += 1;
        if n > 7 {
            return None;
        }
    }
    if n < 3 {
        return None;
    }
    for _ in n..7 {
        v *= 37;
    }
    Some(v)
}

/// Unpacks an ICD-10-CM code in undotted form.
pub fn unpack_icd(mut v: u64) -> String {
    let mut chars = Vec::with_capacity(7);
    for _ in 0..7 {
        let d = (v % 37) as u32;
        v /= 37;
        if d > 0 {
            chars.push(char36(d - 1));
        }
    }
    chars.iter().rev().collect()
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid epoch")
}

/// A date as table days (clamped into 1..NO_END).
pub fn day(date: NaiveDate) -> u16 {
    (date - epoch()).num_days().clamp(1, i64::from(NO_END) - 1) as u16
}

/// Table days back to a date (`None` for the open bounds).
pub fn date_of(day: u16) -> Option<NaiveDate> {
    (day != NO_START && day != NO_END).then(|| epoch() + chrono::Duration::days(i64::from(day)))
}

pub use crate::claim::dates::{iso, parse_date};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procedure_codes_round_trip_and_keep_order() {
        for c in ["00100", "99213", "0591T", "G0439", "ZZZZZ", "CCCCC"] {
            assert_eq!(unpack_proc(pack_proc(c).unwrap()), c);
        }
        assert!(pack_proc("99213") < pack_proc("99214"));
        assert!(pack_proc("99999") < pack_proc("A0021"));
        assert_eq!(pack_proc("9921"), None);
        assert_eq!(pack_proc("99-13"), None);
    }

    #[test]
    fn icd_codes_round_trip_and_keep_order() {
        for c in ["A00", "E119", "S72001A", "Z3A01", "O0990"] {
            assert_eq!(unpack_icd(pack_icd(c).unwrap()), c);
        }
        assert_eq!(pack_icd("E11.9"), pack_icd("e119"));
        assert!(pack_icd("E11") < pack_icd("E110"));
        assert!(pack_icd("E119") < pack_icd("E12"));
        assert_eq!(pack_icd("E1"), None);
        assert_eq!(pack_icd("E1191234"), None);
    }

    #[test]
    fn days() {
        let d = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap();
        assert_eq!(date_of(day(d)), Some(d));
        assert_eq!(parse_date("20240701"), Some(d));
        assert_eq!(parse_date("2024-07-01"), Some(d));
        assert_eq!(date_of(NO_END), None);
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("2024-7-01"), None);
        assert_eq!(parse_date("2024/07/01"), None);
        for d in ["2024-07-01", "0999-12-31", "2025-11-03"] {
            let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
            assert_eq!(iso(date), date.to_string());
            assert_eq!(parse_date(d), Some(date));
        }
    }
}
