//! "Did you mean ...?" hints for rule authors: the closest name of the script API to an
//! unknown function or property.

/// Functions rules can call (the claimscrub API and the common built-ins).
const FUNCTIONS: &[&str] = &[
    "finding",
    "code_matches",
    "code_in",
    "npi_valid",
    "text",
    "is_date",
    "days_between",
    "add_days",
    "add_months",
    "has_modifier",
    "has_any_modifier",
    "diagnosis_in",
    "matches",
    "patient_age_on",
    "has_diagnosis",
    "has_procedure",
    "lines_with_code",
    "lines_where",
    "lines_by",
    "line",
    "duplicate_lines",
    "has_code_on",
    "ptp_conflicts",
    "mce_conflicts",
    "mue",
    "mue_units",
    "mue_excess",
    "addon",
    "addon_lines",
    "addon_primaries",
    "icd10",
    "icd10_billable",
    "hcpcs",
    "mce",
    "has_table",
    "table_version",
    "ncci_modifiers",
    "percent_of",
    "fee_schedule",
    "for_units",
    "money",
    "len",
    "push",
    "contains",
    "keys",
    "values",
    "to_string",
    "to_upper",
    "to_lower",
    "starts_with",
    "ends_with",
    "sub_string",
    "split",
    "trim",
    "extract",
    "sort",
    "filter",
    "map",
    "some",
    "all",
    "index_of",
    "remove",
    "is_empty",
];

/// Properties of `claim`, lines and diagnoses.
const PROPERTIES: &[&str] = &[
    "id",
    "claim_type",
    "payer_id",
    "payer_type",
    "sex",
    "place_of_service",
    "frequency_code",
    "submission_date",
    "type_of_bill",
    "prior_authorization",
    "billing_npi",
    "rendering_npi",
    "today",
    "first_service_date",
    "last_service_date",
    "lines",
    "diagnoses",
    "diagnosis_codes",
    "principal_diagnosis",
    "has_birth_date",
    "patient_age",
    "number",
    "code",
    "modifiers",
    "units",
    "charge_cents",
    "date",
    "date_to",
    "pointers",
    "revenue_code",
    "ndc",
    "poa",
    "position",
];

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(name, c), *c))
        .filter(|(d, c)| *d > 0 && *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

/// A hint for an unknown function, e.g. " — did you mean `has_modifier`?".
pub fn for_function(name: &str) -> String {
    closest(name, FUNCTIONS).map_or_else(String::new, |c| format!(" — did you mean `{c}`?"))
}

/// A hint for an unknown property.
pub fn for_property(name: &str) -> String {
    closest(name, PROPERTIES).map_or_else(String::new, |c| format!(" — did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            for_function("has_modifer"),
            " — did you mean `has_modifier`?"
        );
        assert_eq!(for_property("linez"), " — did you mean `lines`?");
        assert_eq!(for_function("completely_different"), "");
    }
}
