//! Descriptions of the X12 Claim Adjustment Reason Codes (CARC), Remittance Advice Remark
//! Codes (RARC) and group codes that findings predict, from a small bundled table
//! (`data/adjustment/adjustment_codes.tsv`: the rows of X12's published code lists, mid-2024,
//! for the codes the bundled rules use). A code that is not in it has no description.

use std::collections::HashMap;
use std::sync::LazyLock;

const TABLE: &str = include_str!("../data/adjustment/adjustment_codes.tsv");

/// (kind, code) → description, kind being "carc", "rarc" or "group".
static CODES: LazyLock<HashMap<(&'static str, &'static str), &'static str>> = LazyLock::new(|| {
    TABLE
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(((f.next()?, f.next()?), f.next()?))
        })
        .collect()
});

/// The description of a predicted CARC with its group (`CO-97`), or of a bare reason code.
pub fn carc_description(carc: &str) -> Option<&'static str> {
    let reason = carc.split_once('-').map_or(carc, |(_, r)| r);
    CODES.get(&("carc", reason)).copied()
}

/// The description of a remark code (`M76`).
pub fn rarc_description(rarc: &str) -> Option<&'static str> {
    CODES.get(&("rarc", rarc)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_bundled_codes() {
        assert_eq!(
            carc_description("CO-181"),
            Some("Procedure code was invalid on the date of service.")
        );
        assert_eq!(
            rarc_description("M76"),
            Some("Missing/incomplete/invalid diagnosis or condition.")
        );
        assert_eq!(carc_description("CO-999"), None);
        // Every CARC and RARC a bundled rule names has a description.
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rhai") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, _) in text.match_indices("carc: \"") {
                    let code: String = text[i + 7..].chars().take_while(|c| *c != '"').collect();
                    if code != "none" {
                        assert!(carc_description(&code).is_some(), "{code} in {path:?}");
                    }
                }
                for (i, _) in text.match_indices("rarc: \"") {
                    let code: String = text[i + 7..].chars().take_while(|c| *c != '"').collect();
                    assert!(rarc_description(&code).is_some(), "{code} in {path:?}");
                }
            }
        }
    }
}
