//! Turning what a rule's `check` returned into [`Finding`]s, with clear errors for authors.

use std::collections::BTreeMap;

use rhai::{Dynamic, Map};

use super::ScriptClaim;
use crate::finding::{Finding, FixAction, Severity};
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
    "rarc",
    "action",
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
    let rarc = rarc_codes(&map, &details)?;
    let actions = actions(&map, claim)?;
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
        rarc,
        actions,
    })
}

/// RARC codes look like `M76`, `N362`, `MA130`: one or two letters, then digits.
fn rarc_ok(code: &str) -> bool {
    let letters = code.bytes().take_while(u8::is_ascii_uppercase).count();
    (1..=2).contains(&letters)
        && code.len() > letters
        && code.len() <= 6
        && code.bytes().skip(letters).all(|b| b.is_ascii_digit())
}

/// The finding's `rarc` (a code or a list of codes); without one, a `rarc` in `details` (how
/// rules gave remark codes before the field existed).
fn rarc_codes(map: &Map, details: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
    let codes: Vec<String> = match map.get("rarc") {
        None => details.get("rarc").into_iter().cloned().collect(),
        Some(v) if v.is_array() => v
            .read_lock::<rhai::Array>()
            .map(|a| a.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default(),
        Some(v) => vec![v.to_string()],
    };
    for c in &codes {
        if !rarc_ok(c) {
            return Err(format!(
                "`rarc` {c:?} must look like \"M76\" or \"N362\" (a remark code)"
            ));
        }
    }
    Ok(codes)
}

/// The finding's `action`: one map or a list, each `#{ kind, line, modifier?, units? }`.
fn actions(map: &Map, claim: &ScriptClaim) -> Result<Vec<FixAction>, String> {
    let Some(v) = map.get("action") else {
        return Ok(Vec::new());
    };
    let items: Vec<Dynamic> = if v.is_array() {
        v.read_lock::<rhai::Array>()
            .map(|a| a.to_vec())
            .unwrap_or_default()
    } else {
        vec![v.clone()]
    };
    let mut out = Vec::new();
    for item in items {
        let a = item.read_lock::<Map>().ok_or_else(|| {
            "`action` must be a map like #{ kind: \"remove_line\", line: 2 }".to_string()
        })?;
        let line = a
            .get("line")
            .and_then(|l| l.as_int().ok())
            .ok_or_else(|| "an action needs `line`, a line number".to_string())?;
        if !claim
            .claim()
            .lines
            .iter()
            .any(|l| i64::from(l.number) == line)
        {
            return Err(format!(
                "action line {line} is not a line number on this claim"
            ));
        }
        let line = line as u32;
        let modifier = || -> Result<String, String> {
            let m = a.get("modifier").map(|m| m.to_string()).unwrap_or_default();
            if m.len() == 2 && m.bytes().all(|b| b.is_ascii_alphanumeric()) {
                Ok(m.to_ascii_uppercase())
            } else {
                Err(format!(
                    "action `modifier` {m:?} must be two letters or digits"
                ))
            }
        };
        let kind = a.get("kind").map(|k| k.to_string()).unwrap_or_default();
        out.push(match kind.as_str() {
            "append_modifier" => FixAction::AppendModifier {
                line,
                modifier: modifier()?,
            },
            "remove_modifier" => FixAction::RemoveModifier {
                line,
                modifier: modifier()?,
            },
            "remove_line" => FixAction::RemoveLine { line },
            "set_units" => {
                let units = a
                    .get("units")
                    .and_then(|u| u.as_float().ok().or_else(|| u.as_int().ok().map(|i| i as f64)))
                    .filter(|u| u.is_finite() && *u > 0.0)
                    .ok_or_else(|| "a set_units action needs `units`, a number above 0".to_string())?;
                FixAction::SetUnits { line, units }
            }
            other => {
                return Err(format!(
                    "action kind {other:?} must be append_modifier, remove_modifier, remove_line or set_units"
                ));
            }
        });
    }
    Ok(out)
}
