//! Turning what a rule's `check` returned into [`Finding`]s, with clear errors for authors.

use std::collections::BTreeMap;

use rhai::{Dynamic, Map};

use super::ScriptClaim;
use crate::finding::{Finding, Severity};
use crate::rules::CompiledRule;
use crate::rules::meta::carc_ok;

const FINDING_KEYS: &[&str] = &[
    "message",
    "lines",
    "suggestion",
    "details",
    "field",
    "severity",
    "carc",
    "denial_probability",
];

/// Converts `check`'s return value: nothing, one finding map, or an array of them.
pub fn findings(
    rule: &CompiledRule,
    claim: &ScriptClaim,
    value: Dynamic,
) -> Result<Vec<Finding>, String> {
    let items = if value.is_unit() {
        return Ok(Vec::new());
    } else if value.is_array() {
        value.into_array().expect("checked is_array")
    } else {
        vec![value]
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        if item.is_unit() {
            continue;
        }
        if !item.is_map() {
            let type_name = item.type_name();
            return Err(format!(
                "`check` returned a {type_name} at position {i}; return findings made with finding(...) or #{{ message: ... }}"
            ));
        }
        let map = item.cast::<Map>();
        out.push(one(rule, claim, map).map_err(|e| format!("finding {}: {e}", i + 1))?);
    }
    out.sort_by(|a, b| {
        a.lines
            .first()
            .cmp(&b.lines.first())
            .then_with(|| a.message.cmp(&b.message))
    });
    Ok(out)
}

fn text(map: &Map, key: &str) -> Result<String, String> {
    match map.get(key) {
        None => Ok(String::new()),
        Some(v) if v.is_unit() => Ok(String::new()),
        Some(v) => v
            .clone()
            .into_immutable_string()
            .map(|s| s.to_string())
            .map_err(|t| format!("`{key}` must be a string, not {t}")),
    }
}

fn one(rule: &CompiledRule, claim: &ScriptClaim, map: Map) -> Result<Finding, String> {
    if let Some(k) = map.keys().find(|k| !FINDING_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown key `{k}`; a finding may have: {}",
            FINDING_KEYS.join(", ")
        ));
    }
    let message = text(&map, "message")?;
    if message.trim().is_empty() {
        return Err("a finding needs a `message`".into());
    }
    let mut lines: Vec<u32> = Vec::new();
    if let Some(v) = map.get("lines") {
        let values = if v.is_array() {
            v.clone().into_array().expect("checked is_array")
        } else if v.is_unit() {
            Vec::new()
        } else {
            vec![v.clone()]
        };
        for n in values {
            let n = n
                .as_int()
                .map_err(|t| format!("`lines` must hold line numbers, found {t}"))?;
            if !claim.claim().lines.iter().any(|l| i64::from(l.number) == n) {
                return Err(format!("line {n} is not a line number on this claim"));
            }
            lines.push(n as u32);
        }
    }
    lines.sort_unstable();
    lines.dedup();
    let severity = match text(&map, "severity")? {
        s if s.is_empty() => rule.meta.severity,
        s => Severity::parse(&s)
            .ok_or_else(|| format!("`severity` {s:?} must be info, warning or error"))?,
    };
    let carc = match text(&map, "carc")? {
        c if c.is_empty() => rule.meta.carc.clone(),
        c if c == "none" => String::new(),
        c if carc_ok(&c) => c,
        c => {
            return Err(format!(
                "`carc` {c:?} must look like \"CO-16\" (or \"none\": no denial predicted)"
            ));
        }
    };
    let denial_probability = match map.get("denial_probability") {
        None => rule.meta.denial_probability,
        Some(v) => {
            let p = v
                .as_float()
                .or_else(|_| v.as_int().map(|i| i as f64))
                .map_err(|t| format!("`denial_probability` must be a number, not {t}"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("`denial_probability` {p} must be from 0 to 1"));
            }
            p
        }
    };
    let mut details = BTreeMap::new();
    if let Some(v) = map.get("details") {
        let d = v
            .read_lock::<Map>()
            .ok_or_else(|| "`details` must be a map like #{ code: \"99213\" }".to_string())?;
        for (k, v) in d.iter() {
            details.insert(k.to_string(), v.to_string());
        }
    }
    Ok(Finding {
        rule_id: rule.meta.id.clone(),
        rule_version: rule.version.clone(),
        category: rule.meta.category.clone(),
        severity,
        message,
        lines,
        carc,
        denial_probability,
        suggestion: text(&map, "suggestion")?,
        details,
        field: text(&map, "field")?,
    })
}
