//! Rule metadata: the `let rule = #{ ... };` map at the top of every rule file.

use chrono::NaiveDate;
use rhai::{Dynamic, Map};

use crate::claim::codes::{code_matches, pattern_ok};
use crate::claim::{Claim, ClaimType, PayerType};
use crate::finding::Severity;

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleKind {
    /// An edit: `fn check(claim)` returns findings.
    #[default]
    Edit,
    /// A payer contract: declared `terms`, or `fn price(claim, line, medicare)` returning the
    /// contract price of a line.
    Reimbursement,
}

impl RuleKind {
    /// The name used in rule files (`kind: "reimbursement"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Edit => "edit",
            RuleKind::Reimbursement => "reimbursement",
        }
    }
}

/// What a rule declares about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleMeta {
    /// Edit or reimbursement rule (`kind`, default `"edit"`).
    pub kind: RuleKind,
    /// Stable identifier: lower-case letters, digits, `-`, `_`, `.`; at most 64 characters.
    pub id: String,
    /// Short human-readable name.
    pub name: String,
    /// Category, e.g. `claim-integrity`.
    pub category: String,
    /// Default severity of the rule's findings.
    pub severity: Severity,
    /// Default predicted CARC with group code, e.g. `CO-16`.
    pub carc: String,
    /// Default denial probability of a finding, in [0, 1].
    pub denial_probability: f64,
    /// First date of service the rule applies to (inclusive), if limited.
    pub effective: Option<NaiveDate>,
    /// Last date of service the rule applies to (inclusive), if limited.
    pub end: Option<NaiveDate>,
    /// Claims the rule can apply to; a claim outside this scope never runs the rule.
    pub applies_to: AppliesTo,
    /// A payer contract's terms declared as data (`terms: [...]`), applied natively instead
    /// of calling a `price` function; `None` when not declared.
    pub terms: Option<Vec<crate::pricing::terms::DeclaredTerm>>,
}

/// A rule's declared scope. Every list given must match (AND); within a list any entry
/// matches (OR). Empty lists do not restrict.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppliesTo {
    /// Procedure code patterns (exact, `prefix*`, `FROM-TO`); a claim line must match one.
    pub procedures: Vec<String>,
    /// Diagnosis code patterns; a claim diagnosis must match one.
    pub diagnoses: Vec<String>,
    /// Claim types.
    pub claim_types: Vec<ClaimType>,
    /// Payer categories.
    pub payer_types: Vec<PayerType>,
    /// Payer ids (exact).
    pub payer_ids: Vec<String>,
}

impl RuleMeta {
    /// True when a claim whose first date of service is `dos` is inside the rule's
    /// effective window.
    pub fn in_effect(&self, dos: NaiveDate) -> bool {
        self.effective.is_none_or(|e| dos >= e) && self.end.is_none_or(|x| dos <= x)
    }

    /// The full applicability test, without the index (used for test cases; the rule set
    /// uses the index, which gives the same answer faster).
    pub fn applies(&self, claim: &Claim) -> bool {
        let scope = &self.applies_to;
        self.in_effect(claim.first_service_date())
            && scope.admits_claim(claim)
            && (scope.procedures.is_empty()
                || claim.lines.iter().any(|l| {
                    scope
                        .procedures
                        .iter()
                        .any(|p| code_matches(&l.procedure_code, p))
                }))
            && (scope.diagnoses.is_empty()
                || claim
                    .diagnoses
                    .iter()
                    .any(|d| scope.diagnoses.iter().any(|p| code_matches(&d.code, p))))
    }
}

impl RuleMeta {
    /// Why the rule does not run on `claim` (the first condition that fails, said so a rule
    /// author can fix the test claim or the rule), or `None` when it does.
    pub fn why_not(&self, claim: &Claim) -> Option<String> {
        let dos = claim.first_service_date();
        if !self.in_effect(dos) {
            return Some(format!(
                "the claim's first date of service {dos} is outside the rule's effective dates ({} to {})",
                self.effective.map_or("any".into(), |d| d.to_string()),
                self.end.map_or("any".into(), |d| d.to_string())
            ));
        }
        let s = &self.applies_to;
        let list = |items: Vec<&str>| {
            items
                .iter()
                .map(|i| format!("{i:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !s.claim_types.is_empty() && !s.claim_types.contains(&claim.claim_type) {
            return Some(format!(
                "applies_to.claim_types is [{}] and the claim is {:?}",
                list(s.claim_types.iter().map(|t| t.as_str()).collect()),
                claim.claim_type.as_str()
            ));
        }
        if !s.payer_types.is_empty() && !s.payer_types.contains(&claim.payer_type) {
            return Some(format!(
                "applies_to.payer_types is [{}] and the claim's payer type is {:?}",
                list(s.payer_types.iter().map(|t| t.as_str()).collect()),
                claim.payer_type.as_str()
            ));
        }
        if !s.payer_ids.is_empty() && !s.payer_ids.contains(&claim.payer_id) {
            let near = s
                .payer_ids
                .iter()
                .find(|p| p.eq_ignore_ascii_case(&claim.payer_id))
                .map(|p| {
                    format!(
                        " (payer ids match exactly, capitals included: {p:?} is not {:?})",
                        claim.payer_id
                    )
                })
                .unwrap_or_default();
            return Some(format!(
                "applies_to.payer_ids is [{}] and the claim's payer id is {:?}{near}",
                list(s.payer_ids.iter().map(String::as_str).collect()),
                claim.payer_id
            ));
        }
        if !self.applies(claim) {
            let which = if s.procedures.is_empty()
                || claim.lines.iter().any(|l| {
                    s.procedures
                        .iter()
                        .any(|p| code_matches(&l.procedure_code, p))
                }) {
                format!(
                    "applies_to.diagnoses is [{}] and no diagnosis of the claim matches",
                    list(s.diagnoses.iter().map(String::as_str).collect())
                )
            } else {
                format!(
                    "applies_to.procedures is [{}] and no line of the claim matches",
                    list(s.procedures.iter().map(String::as_str).collect())
                )
            };
            return Some(which);
        }
        None
    }
}

impl AppliesTo {
    /// True when the claim-level filters (type, payer) admit `claim`. Code filters are checked
    /// by the index.
    pub fn admits_claim(&self, claim: &Claim) -> bool {
        (self.claim_types.is_empty() || self.claim_types.contains(&claim.claim_type))
            && (self.payer_types.is_empty() || self.payer_types.contains(&claim.payer_type))
            && (self.payer_ids.is_empty() || self.payer_ids.contains(&claim.payer_id))
    }
}

const KEYS: &[&str] = &[
    "id",
    "kind",
    "name",
    "category",
    "severity",
    "carc",
    "denial_probability",
    "effective",
    "end",
    "applies_to",
    "description",
    "references",
    "terms",
];
const SCOPE_KEYS: &[&str] = &[
    "procedures",
    "diagnoses",
    "claim_types",
    "payer_types",
    "payer_ids",
];

fn string(map: &Map, key: &str, required: bool) -> Result<String, String> {
    match map.get(key) {
        None if required => Err(format!("rule metadata needs `{key}`")),
        None => Ok(String::new()),
        Some(v) => v
            .clone()
            .into_immutable_string()
            .map(|s| s.trim().to_string())
            .map_err(|t| format!("`{key}` must be a string, not {t}")),
    }
}

fn date(map: &Map, key: &str) -> Result<Option<NaiveDate>, String> {
    let s = string(map, key, false)?;
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("`{key}` must be a date like \"2024-07-01\", not {s:?}"))
}

fn string_list(map: &Map, key: &str) -> Result<Vec<String>, String> {
    match map.get(key) {
        None => Ok(Vec::new()),
        Some(v) if v.is_string() => Ok(vec![v.to_string()]),
        Some(v) if v.is_array() => v
            .clone()
            .into_array()
            .expect("checked is_array")
            .into_iter()
            .map(|item| {
                item.into_immutable_string()
                    .map(|s| s.trim().to_string())
                    .map_err(|t| format!("`applies_to.{key}` must list strings, found {t}"))
            })
            .collect(),
        Some(v) => Err(format!(
            "`applies_to.{key}` must be a list of strings, not {}",
            v.type_name()
        )),
    }
}

fn unknown_key(map: &Map, allowed: &[&str], what: &str) -> Result<(), String> {
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(format!(
                "unknown key `{key}` in {what}; allowed keys are: {}",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

fn parse_scope(value: &Dynamic) -> Result<AppliesTo, String> {
    let Some(map) = value.read_lock::<Map>() else {
        return Err("`applies_to` must be a map like #{ procedures: [\"82306\"] }".into());
    };
    unknown_key(&map, SCOPE_KEYS, "`applies_to`")?;
    let procedures = string_list(&map, "procedures")?;
    let diagnoses = string_list(&map, "diagnoses")?;
    for p in procedures.iter().chain(&diagnoses) {
        if !pattern_ok(p) {
            return Err(format!(
                "{p:?} in `applies_to` is not a code pattern (use a code, a prefix ending in *, or a range like 97110-97546)"
            ));
        }
    }
    let claim_types = string_list(&map, "claim_types")?
        .iter()
        .map(|s| match s.to_ascii_lowercase().as_str() {
            "professional" => Ok(ClaimType::Professional),
            "institutional" => Ok(ClaimType::Institutional),
            _ => Err(format!(
                "claim type {s:?} in `applies_to.claim_types` must be \"professional\" or \"institutional\""
            )),
        })
        .collect::<Result<_, _>>()?;
    let payer_types = string_list(&map, "payer_types")?
        .iter()
        .map(|s| match s.to_ascii_lowercase().as_str() {
            "medicare" => Ok(PayerType::Medicare),
            "medicaid" => Ok(PayerType::Medicaid),
            "commercial" => Ok(PayerType::Commercial),
            "other" => Ok(PayerType::Other),
            _ => Err(format!(
                "payer type {s:?} in `applies_to.payer_types` must be medicare, medicaid, commercial or other"
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(AppliesTo {
        procedures,
        diagnoses,
        claim_types,
        payer_types,
        payer_ids: string_list(&map, "payer_ids")?,
    })
}

/// Reads and checks the metadata map. Errors are plain sentences for rule authors.
pub fn parse_meta(map: &Map) -> Result<RuleMeta, String> {
    unknown_key(map, KEYS, "the `rule` map")?;
    let id = string(map, "id", true)?;
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    {
        return Err(format!(
            "`id` {id:?} must be 1-64 lower-case letters, digits, '-', '_' or '.'"
        ));
    }
    let kind = match string(map, "kind", false)?.as_str() {
        "" | "edit" => RuleKind::Edit,
        "reimbursement" => RuleKind::Reimbursement,
        other => {
            return Err(format!(
                "`kind` must be \"edit\" (the default) or \"reimbursement\", not {other:?}"
            ));
        }
    };
    // Severity, CARC and denial probability describe findings; a reimbursement rule makes
    // none, so they are optional there.
    let edit = kind == RuleKind::Edit;
    let severity_text = string(map, "severity", edit)?;
    let severity = if severity_text.is_empty() && !edit {
        Severity::Info
    } else {
        Severity::parse(&severity_text).ok_or_else(|| {
            format!("`severity` must be \"info\", \"warning\" or \"error\", not {severity_text:?}")
        })?
    };
    let carc = string(map, "carc", edit)?;
    if (edit || !carc.is_empty()) && !carc_ok(&carc) {
        return Err(format!(
            "`carc` must be a group code and reason code like \"CO-16\", not {carc:?}"
        ));
    }
    let denial_probability = match map.get("denial_probability") {
        None if !edit => 0.0,
        None => {
            return Err("rule metadata needs `denial_probability` (a number from 0 to 1)".into());
        }
        Some(v) => v
            .as_float()
            .or_else(|_| v.as_int().map(|i| i as f64))
            .map_err(|_| "`denial_probability` must be a number from 0 to 1".to_string())?,
    };
    if !(0.0..=1.0).contains(&denial_probability) {
        return Err(format!(
            "`denial_probability` must be from 0 to 1, not {denial_probability}"
        ));
    }
    let effective = date(map, "effective")?;
    let end = date(map, "end")?;
    if let (Some(e), Some(x)) = (effective, end)
        && x < e
    {
        return Err("`end` is before `effective`".into());
    }
    let applies_to = match map.get("applies_to") {
        None => AppliesTo::default(),
        Some(v) => parse_scope(v)?,
    };
    let terms = match map.get("terms") {
        None => None,
        Some(_) if edit => {
            return Err(
                "`terms` belong to payer contracts (kind \"reimbursement\"); an edit rule reports findings from `fn check`".into(),
            );
        }
        Some(v) => Some(super::terms::parse_terms(v)?),
    };
    Ok(RuleMeta {
        kind,
        name: {
            let n = string(map, "name", true)?;
            if n.is_empty() { id.clone() } else { n }
        },
        category: string(map, "category", true)?,
        id,
        severity,
        carc,
        denial_probability,
        effective,
        end,
        applies_to,
        terms,
    })
}

/// `XX-NNN`: a two-letter group code (CO, PR, OA, PI, CR) and a reason code.
pub fn carc_ok(carc: &str) -> bool {
    match carc.split_once('-') {
        Some((group, reason)) => {
            matches!(group, "CO" | "PR" | "OA" | "PI" | "CR")
                && !reason.is_empty()
                && reason.len() <= 4
                && reason.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(script: &str) -> Map {
        rhai::Engine::new().eval::<Map>(script).unwrap()
    }

    #[test]
    fn parses_a_full_header() {
        let m = parse_meta(&map(
            r#"#{ id: "vit-d", name: "Vitamin D", category: "medical-necessity", severity: "error",
                 carc: "CO-50", denial_probability: 0.8, effective: "2024-01-01",
                 applies_to: #{ procedures: ["82306", "82652"], payer_types: ["medicare"] } }"#,
        ))
        .unwrap();
        assert_eq!(m.id, "vit-d");
        assert_eq!(m.severity, Severity::Error);
        assert_eq!(m.applies_to.procedures, ["82306", "82652"]);
        assert_eq!(m.applies_to.payer_types, [PayerType::Medicare]);
        assert_eq!(m.effective.unwrap().to_string(), "2024-01-01");
    }

    #[test]
    fn why_a_rule_did_not_run_names_the_condition() {
        let m = parse_meta(&map(
            r#"#{ id: "p", name: "p", category: "c", severity: "error", carc: "CO-16",
                 denial_probability: 0.5, applies_to: #{ payer_ids: ["ACME"], procedures: ["97*"] } }"#,
        ))
        .unwrap();
        let wire = |payer: &str, code: &str| crate::proto::v1::Claim {
            claim_id: "T".into(),
            payer: Some(crate::proto::v1::Payer {
                payer_id: payer.into(),
                r#type: 0,
            }),
            lines: vec![crate::proto::v1::ServiceLine {
                procedure_code: code.into(),
                units: 1.0,
                service_date: "2025-01-02".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let claim = |payer: &str, code: &str| {
            crate::claim::validate::validate(&wire(payer, code), Default::default()).unwrap()
        };
        let why = m.why_not(&claim("acme", "97110")).unwrap();
        assert!(
            why.contains("payer_ids") && why.contains("capitals"),
            "{why}"
        );
        let why = m.why_not(&claim("ACME", "99213")).unwrap();
        assert!(why.contains("applies_to.procedures"), "{why}");
        assert_eq!(m.why_not(&claim("ACME", "97110")), None);
    }

    #[test]
    fn errors_name_the_key() {
        let base = r#"id: "x", name: "x", category: "c", severity: "error", carc: "CO-16", denial_probability: 0.5"#;
        let err = |extra: &str| parse_meta(&map(&format!("#{{ {base}, {extra} }}"))).unwrap_err();
        assert!(err("sevrity: 1").contains("unknown key `sevrity`"));
        assert!(err("applies_to: #{ procedures: [\"E13-E08\"] }").contains("E13-E08"));
        let e = parse_meta(&map(r#"#{ id: "X Y" }"#)).unwrap_err();
        assert!(e.contains("`id`"), "{e}");
        let e = parse_meta(&map(
            r#"#{ id: "x", name: "x", category: "c", severity: "fatal", carc: "CO-16", denial_probability: 0.5 }"#,
        ))
        .unwrap_err();
        assert!(e.contains("severity"), "{e}");
    }

    #[test]
    fn carc_shapes() {
        assert!(carc_ok("CO-16") && carc_ok("PR-204") && carc_ok("CO-B7"));
        assert!(!carc_ok("16") && !carc_ok("XX-16") && !carc_ok("CO-"));
    }
}
