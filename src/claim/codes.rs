//! Code syntax, canonical forms and pattern matching for ICD-10-CM, CPT/HCPCS, NPI and friends.
//!
//! These check *shape* only. Whether a well-formed code exists or is billable is a rule's
//! question (it needs the reference tables), never a validation error.

/// Normalises an ICD-10-CM code to its dotted canonical form, or says why it is malformed.
///
/// ICD-10-CM codes are 3–7 characters: a letter, a digit, an alphanumeric, then up to four
/// alphanumerics after the dot that follows the third character (CMS ICD-10-CM Official
/// Guidelines, Section I.A.1–3). Input may carry the dot or not and any case.
pub fn normalize_icd10(raw: &str) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("is empty");
    }
    let compact: String = trimmed
        .chars()
        .filter(|c| *c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if let Some(dot) = trimmed.find('.')
        && (dot != 3 || trimmed.matches('.').count() > 1)
    {
        return Err("has a dot in the wrong place (ICD-10-CM puts it after the third character)");
    }
    if !(3..=7).contains(&compact.len()) {
        return Err("must be 3 to 7 characters (not counting the dot)");
    }
    let b = compact.as_bytes();
    if !b[0].is_ascii_uppercase() {
        return Err("must start with a letter");
    }
    if !b[1].is_ascii_digit() {
        return Err("must have a digit as its second character");
    }
    if !b.iter().all(u8::is_ascii_alphanumeric) {
        return Err("may contain only letters and digits (and one dot)");
    }
    Ok(dotted_icd10(&compact))
}

/// Inserts the dot after the third character of an undotted ICD-10-CM code.
pub fn dotted_icd10(compact: &str) -> String {
    if compact.chars().count() > 3 {
        let head: String = compact.chars().take(3).collect();
        let tail: String = compact.chars().skip(3).collect();
        format!("{head}.{tail}")
    } else {
        compact.to_string()
    }
}

/// Removes the dot from an ICD-10-CM code and upper-cases it (`e11.9` → `E119`).
pub fn undotted(code: &str) -> String {
    code.chars()
        .filter(|c| *c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Normalises a CPT or HCPCS Level II code (five characters), or says why it is malformed.
///
/// Shapes accepted: CPT Category I (`99213`), Category II (`1234F`), Category III (`0591T`),
/// PLA (`0001U`) — four digits plus a digit or letter — and HCPCS Level II (`G0439`): a letter
/// plus four digits.
pub fn normalize_procedure(raw: &str) -> Result<String, &'static str> {
    let code = raw.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err("is empty");
    }
    let b = code.as_bytes();
    if b.len() != 5 {
        return Err("must be exactly 5 characters (CPT such as 99213 or HCPCS such as G0439)");
    }
    let cpt = b[..4].iter().all(u8::is_ascii_digit) && b[4].is_ascii_alphanumeric();
    let hcpcs = b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit);
    if cpt || hcpcs {
        Ok(code)
    } else {
        Err("is not a CPT (4 digits + digit/letter) or HCPCS (letter + 4 digits) code")
    }
}

/// Normalises a procedure modifier (two letters or digits), or says why it is malformed.
pub fn normalize_modifier(raw: &str) -> Result<String, &'static str> {
    let m = raw.trim().to_ascii_uppercase();
    if m.len() == 2 && m.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(m)
    } else {
        Err("must be exactly two letters or digits (e.g. 59, LT, XS)")
    }
}

/// True when `npi` passes the NPI check-digit test.
///
/// CMS "Requirements for NPI Check Digit": the Luhn formula applied to the nine identifier
/// digits prefixed with the card-issuer constant 80840 (ISO 7812), so the constant 24 is
/// added to the doubled-digit sum of the first nine digits.
pub fn npi_check_digit_ok(npi: &str) -> bool {
    let digits: Vec<u32> = match npi.chars().map(|c| c.to_digit(10)).collect() {
        Some(d) => d,
        None => return false,
    };
    if digits.len() != 10 {
        return false;
    }
    let mut sum = 24;
    for (i, d) in digits[..9].iter().rev().enumerate() {
        sum += if i % 2 == 0 {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            *d
        };
    }
    (10 - sum % 10) % 10 == digits[9]
}

/// True when `code` matches `pattern`, comparing without dots and case-insensitively.
///
/// Pattern forms: an exact code (`E11.9`, `82306`); a prefix with a trailing `*` (`E55.*`,
/// `E55*`, `J*`); an inclusive range `FROM-TO` where the code's first characters (as many as
/// the longer bound has) fall between the bounds (`E08-E13`, `97110-97546`).
pub fn code_matches(code: &str, pattern: &str) -> bool {
    use std::cmp::Ordering;
    // Compared byte by byte without building the undotted strings: this runs for every line
    // and pattern of every rule's applicability check.
    let pattern = pattern.trim();
    if let Some(prefix) = pattern.strip_suffix('*') {
        let mut code = folded(code);
        return folded(prefix).all(|p| code.next() == Some(p));
    }
    if let Some((from, to)) = pattern.split_once('-') {
        let width = folded(from).count().max(folded(to).count());
        let head = || folded(code).take(width);
        return head().cmp(folded(from)) != Ordering::Less
            && head().cmp(folded(to)) != Ordering::Greater;
    }
    folded(code).eq(folded(pattern))
}

/// A code's bytes as [`undotted`] would give them (dots dropped, ASCII upper case).
fn folded(code: &str) -> impl Iterator<Item = u8> + '_ {
    code.bytes()
        .filter(|b| *b != b'.')
        .map(|b| b.to_ascii_uppercase())
}

/// True when `pattern` is syntactically a code pattern [`code_matches`] understands.
pub fn pattern_ok(pattern: &str) -> bool {
    let p = pattern.trim();
    let body_ok =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    if let Some(prefix) = p.strip_suffix('*') {
        return prefix.is_empty() || body_ok(prefix);
    }
    if let Some((from, to)) = p.split_once('-') {
        return body_ok(from) && body_ok(to) && undotted(from) <= undotted(to);
    }
    body_ok(p)
}

/// The CMS Place of Service code set (cms.gov "Place of Service Code Set"). Codes not listed
/// are unassigned.
pub const CMS_PLACES_OF_SERVICE: &[&str] = &[
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16",
    "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "31", "32", "33", "34", "41",
    "42", "49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "65", "66",
    "71", "72", "81", "99",
];

/// Place-of-service codes added to the code set since 2003, with the date they took effect
/// (CMS "Place of Service Code Set" and the change requests that added them: 09 CR 4047;
/// 16; 17; 18 "effective January 1, 2013"; 19 and 22's new meaning CR 9231, 1 January 2016;
/// 02 1 January 2017; 58 CR 11353, 1 January 2020; 10 CR 12427, 1 January 2022; 27 CR
/// 13314, 1 October 2023; 66 Transmittal 12779, 1 August 2024). Other codes predate 2003.
const POS_EFFECTIVE: &[(&str, (i32, u32, u32))] = &[
    ("01", (2003, 10, 1)),
    ("02", (2017, 1, 1)),
    ("09", (2006, 7, 1)),
    ("10", (2022, 1, 1)),
    ("13", (2003, 10, 1)),
    ("14", (2003, 10, 1)),
    ("16", (2008, 1, 1)),
    ("17", (2010, 5, 1)),
    ("18", (2013, 1, 1)),
    ("19", (2016, 1, 1)),
    ("27", (2023, 10, 1)),
    ("49", (2003, 10, 1)),
    ("57", (2003, 10, 1)),
    ("58", (2020, 1, 1)),
    ("66", (2024, 8, 1)),
];

/// True for an assigned CMS place-of-service code (on any date).
pub fn pos_assigned(pos: &str) -> bool {
    CMS_PLACES_OF_SERVICE.binary_search(&pos).is_ok()
}

/// The date a place-of-service code took effect, when it was added after 2003.
pub fn pos_effective(pos: &str) -> Option<chrono::NaiveDate> {
    POS_EFFECTIVE
        .iter()
        .find(|(code, _)| *code == pos)
        .and_then(|(_, (y, m, d))| chrono::NaiveDate::from_ymd_opt(*y, *m, *d))
}

/// True when `pos` is an assigned code in force on `date`.
pub fn pos_in_force(pos: &str, date: chrono::NaiveDate) -> bool {
    pos_assigned(pos) && pos_effective(pos).is_none_or(|from| date >= from)
}

/// True for a two-digit CMS place-of-service code shape (`01`–`99`).
pub fn pos_shape_ok(pos: &str) -> bool {
    pos.len() == 2 && pos.bytes().all(|b| b.is_ascii_digit())
}

/// The canonical locality key from `MMMMMLL`, `MMMMM-LL` or `MMMMM LL` (MAC and locality
/// numbers with their leading zeros); `None` when it has another shape.
pub fn locality_key(text: &str) -> Option<String> {
    let digits: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '/'))
        .collect();
    (digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_of_service_codes_by_date() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        assert!(pos_in_force("11", d("2000-01-01")));
        assert!(!pos_in_force("10", d("2021-12-31")));
        assert!(pos_in_force("10", d("2022-01-01")));
        assert!(!pos_in_force("27", d("2023-09-30")));
        assert!(pos_in_force("27", d("2023-10-01")));
        assert!(!pos_in_force("66", d("2024-07-31")));
        assert!(pos_in_force("66", d("2024-08-01")));
        assert!(!pos_in_force("35", d("2025-01-01")), "unassigned");
        assert!(POS_EFFECTIVE.iter().all(|(c, _)| pos_assigned(c)));
    }

    #[test]
    fn icd10_accepts_dotted_and_undotted() {
        assert_eq!(normalize_icd10("e119").unwrap(), "E11.9");
        assert_eq!(normalize_icd10("E11.9").unwrap(), "E11.9");
        assert_eq!(normalize_icd10("S72.001A").unwrap(), "S72.001A");
        assert_eq!(normalize_icd10("I10").unwrap(), "I10");
    }

    #[test]
    fn icd10_rejects_malformed() {
        assert!(normalize_icd10("").is_err());
        assert!(normalize_icd10("11.9").is_err());
        assert!(normalize_icd10("E1").is_err());
        assert!(normalize_icd10("E1.19").is_err());
        assert!(normalize_icd10("E11.90000").is_err());
        assert!(normalize_icd10("E11-9").is_err());
        assert!(normalize_icd10("EE1.9").is_err());
    }

    #[test]
    fn procedure_shapes() {
        for ok in ["99213", "1234F", "0591T", "0001U", "g0439", "J3490"] {
            assert!(normalize_procedure(ok).is_ok(), "{ok}");
        }
        for bad in ["9921", "992133", "GG439", "99-13", ""] {
            assert!(normalize_procedure(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn modifiers() {
        assert_eq!(normalize_modifier("xs").unwrap(), "XS");
        assert!(normalize_modifier("5").is_err());
        assert!(normalize_modifier("59-").is_err());
    }

    #[test]
    fn npi_check_digit() {
        // CMS's worked example: 123456789 has check digit 3.
        assert!(npi_check_digit_ok("1234567893"));
        assert!(!npi_check_digit_ok("1234567890"));
        assert!(!npi_check_digit_ok("123456789"));
        assert!(!npi_check_digit_ok("12345678a3"));
    }

    #[test]
    fn places_of_service() {
        assert!(
            CMS_PLACES_OF_SERVICE.windows(2).all(|w| w[0] < w[1]),
            "sorted for binary search"
        );
        assert!(pos_assigned("11") && pos_assigned("27") && pos_assigned("99"));
        assert!(!pos_assigned("35") && !pos_assigned("00") && !pos_assigned("1"));
    }

    #[test]
    fn patterns() {
        assert!(code_matches("E55.9", "E55.*"));
        assert!(code_matches("E559", "e55*"));
        assert!(!code_matches("E56.0", "E55.*"));
        assert!(code_matches("E11.65", "E08-E13"));
        assert!(code_matches("E13.9", "E08-E13"));
        assert!(!code_matches("E14", "E08-E13"));
        assert!(code_matches("97112", "97110-97546"));
        assert!(!code_matches("97750", "97110-97546"));
        assert!(code_matches("82306", "82306"));
        assert!(pattern_ok("E55.*") && pattern_ok("E08-E13") && pattern_ok("*"));
        assert!(!pattern_ok("E13-E08") && !pattern_ok("E 5"));
        // Rules may pass any text: no panics on non-ASCII.
        assert!(!code_matches("é…x", "A-B"));
        assert_eq!(dotted_icd10("éé…x"), "éé….x");
    }
}
