//! Reading a payer contract's declared `terms` from its header (see
//! [`crate::pricing::terms`] for what they mean), with errors a contract author can act on.

use rhai::{Dynamic, Map};

use crate::claim::codes::pattern_ok;
use crate::pricing::terms::{DeclaredTerm, MAX_TERMS, Pays};

const TERM_KEYS: &[&str] = &[
    "codes",
    "per_unit",
    "fee_schedule",
    "percent_of_medicare",
    "unpriced",
    "note",
];
const PAYS: &[&str] = &[
    "per_unit",
    "fee_schedule",
    "percent_of_medicare",
    "unpriced",
];

/// Parses `terms`: a list of maps, each with at most `codes` and `note` besides exactly one
/// of `per_unit`, `fee_schedule`, `percent_of_medicare` and `unpriced`.
pub fn parse_terms(value: &Dynamic) -> Result<Vec<DeclaredTerm>, String> {
    let Some(items) = value.read_lock::<rhai::Array>().map(|a| a.clone()) else {
        return Err(format!(
            "`terms` must be a list of terms like [#{{ percent_of_medicare: 115 }}], not {}",
            value.type_name()
        ));
    };
    if items.is_empty() {
        return Err("`terms` is empty: give at least one term, or write `fn price` instead".into());
    }
    if items.len() > MAX_TERMS {
        return Err(format!(
            "`terms` has {} terms; the limit is {MAX_TERMS}",
            items.len()
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_term(item).map_err(|e| format!("`terms[{i}]`: {e}")))
        .collect()
}

fn parse_term(item: &Dynamic) -> Result<DeclaredTerm, String> {
    let Some(map) = item.read_lock::<Map>().map(|m| m.clone()) else {
        return Err(format!(
            "each term must be a map like #{{ codes: [\"90471\"], per_unit: 2500 }}, not {}",
            item.type_name()
        ));
    };
    if let Some(key) = map.keys().find(|k| !TERM_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown key `{key}`; allowed keys are: {}",
            TERM_KEYS.join(", ")
        ));
    }
    let given: Vec<&str> = PAYS
        .iter()
        .copied()
        .filter(|k| map.contains_key(*k))
        .collect();
    let key = match given.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!(
                "say what the term pays with one of: {}",
                PAYS.join(", ")
            ));
        }
        more => {
            return Err(format!(
                "give one of {} per term, not {} (write two terms)",
                PAYS.join(", "),
                more.join(" and ")
            ));
        }
    };
    let v = &map[key];
    let pays = match key {
        "per_unit" => {
            if v.is_float() {
                return Err("`per_unit` is whole cents (an integer): 2500 is $25.00".into());
            }
            let cents = v
                .as_int()
                .map_err(|t| format!("`per_unit` must be whole cents (an integer), not {t}"))?;
            if !(0..=100_000_000).contains(&cents) {
                return Err(format!(
                    "`per_unit` must be from 0 to 100000000 cents, not {cents}"
                ));
            }
            Pays::PerUnit(cents)
        }
        "percent_of_medicare" => {
            let pct = v
                .as_float()
                .or_else(|_| v.as_int().map(|i| i as f64))
                .map_err(|t| format!("`percent_of_medicare` must be a number, not {t}"))?;
            if !(0.0..=1000.0).contains(&pct) {
                return Err(format!(
                    "`percent_of_medicare` must be from 0 to 1000, not {pct}"
                ));
            }
            let basis_points = (pct * 100.0).round();
            if (basis_points - pct * 100.0).abs() > 1e-6 {
                return Err(format!(
                    "`percent_of_medicare` may have at most two decimals, not {pct}"
                ));
            }
            Pays::PercentOfMedicare(basis_points as i64)
        }
        "fee_schedule" => {
            let name = text(v, key)?;
            if name.is_empty() {
                return Err(
                    "`fee_schedule` needs the name of a fee table from the table manifest".into(),
                );
            }
            Pays::FeeSchedule(name)
        }
        _ => {
            let why = text(v, key)?;
            Pays::Unpriced(if why.is_empty() {
                "the contract does not price this line".into()
            } else {
                why
            })
        }
    };
    let codes = match map.get("codes") {
        None => Vec::new(),
        Some(v) => {
            let list = v
                .read_lock::<rhai::Array>()
                .map(|a| a.clone())
                .ok_or("`codes` must be a list of code patterns like [\"99202-99215\"]")?;
            let codes = list
                .iter()
                .map(|c| text(c, "codes"))
                .collect::<Result<Vec<_>, _>>()?;
            if codes.is_empty() {
                return Err(
                    "`codes` is empty: list the codes the term is for, or leave `codes` out for every code".into(),
                );
            }
            if let Some(bad) = codes.iter().find(|c| !pattern_ok(c)) {
                return Err(format!(
                    "`codes` entry {bad:?} is not a code pattern (a code, a prefix ending in *, or FROM-TO)"
                ));
            }
            codes
        }
    };
    let note = match map.get("note") {
        None => String::new(),
        Some(v) => text(v, "note")?,
    };
    Ok(DeclaredTerm { codes, pays, note })
}

fn text(v: &Dynamic, key: &str) -> Result<String, String> {
    v.clone()
        .into_immutable_string()
        .map(|s| s.trim().to_string())
        .map_err(|t| format!("`{key}` must be text in double quotes, not {t}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(script: &str) -> Result<Vec<DeclaredTerm>, String> {
        parse_terms(&rhai::Engine::new().eval::<Dynamic>(script).unwrap())
    }

    #[test]
    fn parses_the_usual_contract_shapes() {
        let t = parse(
            r#"[ #{ codes: ["90471"], per_unit: 2500, note: "carve-out" },
                 #{ fee_schedule: "acme-commercial-2025" },
                 #{ codes: ["99202-99215"], percent_of_medicare: 100 },
                 #{ percent_of_medicare: 112.5 } ]"#,
        )
        .unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(t[0].pays, Pays::PerUnit(2500));
        assert_eq!(t[0].note, "carve-out");
        assert_eq!(t[1].pays, Pays::FeeSchedule("acme-commercial-2025".into()));
        assert_eq!(t[2].codes, vec!["99202-99215".to_string()]);
        assert_eq!(t[3].pays, Pays::PercentOfMedicare(11_250));
    }

    #[test]
    fn mistakes_are_named_with_the_term_and_what_to_write() {
        let e = parse(r#"[ #{ percent_of_medicare: 115 }, #{ percent: 80 } ]"#).unwrap_err();
        assert!(e.starts_with("`terms[1]`: unknown key `percent`"), "{e}");
        let e = parse(r#"[ #{ per_unit: 25.0 } ]"#).unwrap_err();
        assert!(e.contains("2500 is $25.00"), "{e}");
        let e = parse(r#"[ #{ per_unit: 2500, percent_of_medicare: 80 } ]"#).unwrap_err();
        assert!(e.contains("not per_unit and percent_of_medicare"), "{e}");
        let e = parse(r#"[ #{ codes: ["99213"] } ]"#).unwrap_err();
        assert!(e.contains("say what the term pays"), "{e}");
        let e = parse(r#"[ #{ codes: ["99 213"], per_unit: 1 } ]"#).unwrap_err();
        assert!(e.contains("not a code pattern"), "{e}");
        let e = parse(r#"#{ percent_of_medicare: 115 }"#).unwrap_err();
        assert!(e.contains("must be a list of terms"), "{e}");
        let e = parse(r#"[ #{ percent_of_medicare: 80.125 } ]"#).unwrap_err();
        assert!(e.contains("at most two decimals"), "{e}");
        assert!(parse("[]").unwrap_err().contains("is empty"));
        let e = parse(r#"[ #{ codes: [], unpriced: "x" } ]"#).unwrap_err();
        assert!(e.contains("`codes` is empty"), "{e}");
    }
}
