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

/// True for a federal holiday as observed by federal offices (5 U.S.C. 6103): New Year's
/// Day, Birthday of Martin Luther King Jr., Washington's Birthday, Memorial Day, Juneteenth
/// (from 2021), Independence Day, Labor Day, Columbus Day, Veterans Day, Thanksgiving Day and
/// Christmas Day; a holiday on a Saturday is observed the Friday before, on a Sunday the
/// Monday after.
pub fn is_federal_holiday(date: NaiveDate) -> bool {
    use chrono::{Datelike, Weekday};
    let year = date.year();
    let nth = |month: u32, weekday: Weekday, n: u8| {
        NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
    };
    let last_monday_of_may = (1..=5)
        .rev()
        .find_map(|n| NaiveDate::from_weekday_of_month_opt(year, 5, Weekday::Mon, n));
    let observed = |d: Option<NaiveDate>| {
        d.map(|d| match d.weekday() {
            Weekday::Sat => d.pred_opt().unwrap_or(d),
            Weekday::Sun => d.succ_opt().unwrap_or(d),
            _ => d,
        })
    };
    let fixed = |m: u32, d: u32| observed(NaiveDate::from_ymd_opt(year, m, d));
    let holidays = [
        fixed(1, 1),
        // Next year's New Year's Day falling on a Saturday is observed on 31 December.
        observed(NaiveDate::from_ymd_opt(year + 1, 1, 1)),
        nth(1, Weekday::Mon, 3),
        nth(2, Weekday::Mon, 3),
        last_monday_of_may,
        if year >= 2021 { fixed(6, 19) } else { None },
        fixed(7, 4),
        nth(9, Weekday::Mon, 1),
        nth(10, Weekday::Mon, 2),
        fixed(11, 11),
        nth(11, Weekday::Thu, 4),
        fixed(12, 25),
    ];
    holidays.contains(&Some(date))
}

/// `date` when it is a business day, else the next one: a time limit that ends on a
/// Saturday, Sunday or federal holiday runs to the next workday (Pub. 100-04, Ch. 1, §70.7).
pub fn next_business_day(date: NaiveDate) -> NaiveDate {
    use chrono::{Datelike, Weekday};
    let mut d = date;
    for _ in 0..10 {
        let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend && !is_federal_holiday(d) {
            return d;
        }
        match d.succ_opt() {
            Some(next) => d = next,
            None => return d,
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn limits_on_weekends_and_holidays_run_to_the_next_workday() {
        // Sunday 2025-07-13 -> Monday 2025-07-14 (the example in issue #21).
        assert_eq!(next_business_day(d("2025-07-13")), d("2025-07-14"));
        assert_eq!(next_business_day(d("2025-07-14")), d("2025-07-14"));
        // Independence Day 2026 is a Saturday, observed Friday 3 July: Friday -> Monday 6 July.
        assert_eq!(next_business_day(d("2026-07-03")), d("2026-07-06"));
        // Thanksgiving 2024 (fourth Thursday): Thursday 28 Nov -> Friday 29 Nov.
        assert_eq!(next_business_day(d("2024-11-28")), d("2024-11-29"));
        // New Year's Day 2022 was a Saturday, observed Friday 31 December 2021.
        assert!(is_federal_holiday(d("2021-12-31")));
        // Memorial Day 2024: last Monday of May, 27 May; Juneteenth only from 2021.
        assert!(is_federal_holiday(d("2024-05-27")));
        assert!(!is_federal_holiday(d("2020-06-19")));
        assert!(is_federal_holiday(d("2024-06-19")));
        // Christmas 2022 was a Sunday, observed Monday 26 December.
        assert_eq!(next_business_day(d("2022-12-25")), d("2022-12-27"));
    }
}
