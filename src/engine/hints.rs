//! "Did you mean ...?" hints for rule authors: the closest name of the script API to an
//! unknown function or property. The names come from the engine itself ([`ScriptApi`]).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use rhai::Engine;

/// The names of the script API, read from the engine's own function metadata so hints and
/// documentation checks can never drift from what is registered.
#[derive(Debug, Default)]
pub struct ScriptApi {
    /// Functions claimscrub registers (helpers, claim and line methods, table lookups).
    pub functions: BTreeSet<String>,
    /// Properties claimscrub registers (getters of the claim, lines and diagnoses).
    pub properties: BTreeSet<String>,
    /// Rhai's own functions (`len`, `push`, `contains`, ...).
    pub builtins: BTreeSet<String>,
}

impl ScriptApi {
    /// The names `engine` knows.
    pub fn of(engine: &Engine) -> Self {
        let mut api = ScriptApi::default();
        for signature in engine.gen_fn_signatures(false) {
            let name = signature.split('(').next().unwrap_or("");
            if let Some(property) = name.strip_prefix("get$") {
                api.properties.insert(property.to_string());
            } else if is_identifier(name) {
                api.functions.insert(name.to_string());
            }
        }
        for signature in engine.gen_fn_signatures(true) {
            let name = signature.split('(').next().unwrap_or("");
            if is_identifier(name) && !api.functions.contains(name) {
                api.builtins.insert(name.to_string());
            }
        }
        api
    }
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The script API of the engine every rule runs in (built once, on first use).
pub fn script_api() -> &'static ScriptApi {
    static API: LazyLock<ScriptApi> =
        LazyLock::new(|| ScriptApi::of(&super::sandbox::build_engine(&Default::default())));
    &API
}

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

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    candidates
        .map(|c| (distance(name, c), c.as_str()))
        .filter(|(d, c)| *d > 0 && *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

/// A hint for an unknown function, e.g. " — did you mean `has_modifier`?".
pub fn for_function(name: &str) -> String {
    let api = script_api();
    closest(name, api.functions.iter())
        .or_else(|| closest(name, api.builtins.iter()))
        .map_or_else(String::new, |c| format!(" — did you mean `{c}`?"))
}

/// A hint for an unknown property.
pub fn for_property(name: &str) -> String {
    closest(name, script_api().properties.iter())
        .map_or_else(String::new, |c| format!(" — did you mean `{c}`?"))
}

/// A parser message said so a rule author knows what to type: text in single quotes
/// (`'GP'`, which Rhai reads as one character) gets "text must be in double quotes".
pub fn for_syntax(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("Invalid character: ")
        && let Some(text) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\''))
        && text.chars().count() > 1
    {
        return format!(
            "text must be in double quotes: \"{text}\" (single quotes hold one character)"
        );
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_quoted_text_is_told_to_use_double_quotes() {
        let e = Engine::new().compile(r#"let m = 'GP';"#).unwrap_err();
        let said = for_syntax(&e.0.to_string());
        assert_eq!(
            said,
            "text must be in double quotes: \"GP\" (single quotes hold one character)",
            "from {:?}",
            e.0.to_string()
        );
        // One character in single quotes is valid Rhai; other messages pass through.
        assert!(Engine::new().compile("let c = 'G';").is_ok());
        assert_eq!(for_syntax("Expecting ';'"), "Expecting ';'");
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            for_function("has_modifer"),
            " — did you mean `has_modifier`?"
        );
        assert_eq!(for_property("linez"), " — did you mean `lines`?");
        assert_eq!(for_function("completely_different"), "");
        assert_eq!(
            for_function("pos_asigned"),
            " — did you mean `pos_assigned`?"
        );
        assert_eq!(for_function("to_uper"), " — did you mean `to_upper`?");
    }

    /// The names rules/README.md documents: functions called in code spans (`name(`) and the
    /// properties of `claim.`, `line.` and `dx.`.
    fn documented() -> (BTreeSet<String>, BTreeSet<String>) {
        let readme = include_str!("../../rules/README.md");
        let (mut functions, mut properties) = (BTreeSet::new(), BTreeSet::new());
        for span in readme.split('`').skip(1).step_by(2) {
            let bytes = span.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if !(bytes[i].is_ascii_lowercase()) || (i > 0 && is_word(bytes[i - 1])) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < bytes.len() && is_word(bytes[i]) {
                    i += 1;
                }
                let word = &span[start..i];
                let after_dot = start > 0 && bytes[start - 1] == b'.';
                let receiver = &span[..start.saturating_sub(1)];
                let called = bytes.get(i) == Some(&b'(');
                if called {
                    functions.insert(word.to_string());
                } else if after_dot
                    && ["claim", "line", "dx"].iter().any(|r| {
                        receiver.ends_with(r)
                            && !receiver[..receiver.len() - r.len()]
                                .ends_with(|c: char| c.is_ascii_alphanumeric() || "_-".contains(c))
                    })
                {
                    properties.insert(word.to_string());
                }
            }
        }
        (functions, properties)
    }

    fn is_word(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'_'
    }

    #[test]
    fn rules_readme_documents_exactly_the_script_api() {
        let api = script_api();
        let (functions, properties) = documented();
        let missing = |names: &BTreeSet<String>, from: &dyn Fn(&str) -> bool| -> Vec<String> {
            names.iter().filter(|n| !from(n)).cloned().collect()
        };
        let undocumented = missing(&api.functions, &|f| {
            functions.contains(f) || INTERNAL.contains(&f)
        });
        assert!(
            undocumented.is_empty(),
            "registered but not in rules/README.md: {undocumented:?}"
        );
        let unknown = missing(&functions, &|f| {
            api.functions.contains(f) || api.builtins.contains(f) || KEYWORDS.contains(&f)
        });
        assert!(
            unknown.is_empty(),
            "in rules/README.md but not registered: {unknown:?}"
        );
        let undocumented = missing(&api.properties, &|p| properties.contains(p));
        assert!(
            undocumented.is_empty(),
            "properties not in rules/README.md: {undocumented:?}"
        );
        let unknown = missing(&properties, &|p| api.properties.contains(p));
        assert!(
            unknown.is_empty(),
            "properties in rules/README.md but not registered: {unknown:?}"
        );
    }

    /// Registered for the sandbox, not for rule authors (they fail with a clear error).
    const INTERNAL: &[&str] = &["sleep"];
    /// Words written with `(` in the guide that are the rule's own functions or language.
    const KEYWORDS: &[&str] = &["check", "price", "if", "for", "fn"];
}
