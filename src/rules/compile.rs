//! Compiling one rule file into its immutable, shareable form.

use std::sync::Arc;

use rhai::{AST, Engine, Map, Scope};
use sha2::{Digest, Sha256};

use super::cases::{TestCase, parse_cases};
use super::error::RuleLoadError;
use super::meta::{RuleKind, RuleMeta, parse_meta};
use super::source::{MAX_RULE_BYTES, MAX_TESTS_BYTES, RuleFile};
use crate::engine::{CHECK_FN, PRICE_FN, PerThread, describe_error};
use crate::telemetry::metrics::RuleMetrics;

/// A compiled rule: metadata, content version and the functions-only AST, shared by every
/// rule set that contains it.
#[derive(Debug)]
pub struct CompiledRule {
    /// Declared metadata.
    pub meta: RuleMeta,
    /// Content version: the first 12 hex digits of the SHA-256 of the script text.
    pub version: String,
    /// The file it came from.
    pub file: String,
    /// The script text (kept for admin tools and history).
    pub source: Arc<str>,
    /// Functions-only AST: evaluation never re-runs the top-level statements.
    pub ast: AST,
    /// The rule's own test cases.
    pub cases: Vec<TestCase>,
    /// The test file's text, when the rule has one (for admin tools).
    pub tests_source: Option<Arc<str>>,
    /// Metric handles (evaluation time, findings, failures).
    pub metrics: RuleMetrics,
    /// Runs in shadow: evaluated and recorded, its findings reported apart and never scored.
    pub shadow: bool,
    /// The rule's copy and Rhai's function-resolution caches on each thread that runs it.
    pub per_thread: PerThread,
}

/// Content version of a script: 12 hex digits of its SHA-256.
pub fn content_version(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

/// Name of the metadata variable every rule defines.
pub const META_VAR: &str = "rule";

/// Wall-clock budget of a rule's header (the top-level statements that build its metadata).
pub const HEADER_BUDGET: std::time::Duration = std::time::Duration::from_secs(1);

fn too_large(what: &str, bytes: usize, limit: usize) -> String {
    format!(
        "the {what} is {} KiB; the limit is {} KiB (split it into several rules or test files)",
        bytes.div_ceil(1024),
        limit / 1024
    )
}

/// Compiles `file` with `engine` and parses its metadata and test cases. Does not run the
/// test cases (that needs the evaluator; see the registry).
pub fn compile_rule(engine: &Engine, file: &RuleFile) -> Result<CompiledRule, RuleLoadError> {
    let name = file.name.clone();
    let source = file.source.as_ref().map_err(|e| RuleLoadError::Read {
        file: name.clone(),
        message: e.clone(),
    })?;
    let meta_err = |message: String| RuleLoadError::Metadata {
        file: name.clone(),
        message,
    };
    if source.len() > MAX_RULE_BYTES {
        return Err(RuleLoadError::Read {
            file: name,
            message: too_large("script", source.len(), MAX_RULE_BYTES),
        });
    }
    if let Some((tests_name, Ok(text))) = &file.tests
        && text.len() > MAX_TESTS_BYTES
    {
        return Err(RuleLoadError::TestFile {
            file: tests_name.clone(),
            message: too_large("test file", text.len(), MAX_TESTS_BYTES),
        });
    }
    let ast = engine.compile(source).map_err(|e| RuleLoadError::Syntax {
        file: name.clone(),
        line: e.1.line().unwrap_or(0),
        column: e.1.position().unwrap_or(0),
        message: crate::engine::hints::for_syntax(&e.0.to_string()),
    })?;
    let mut scope = Scope::new();
    crate::engine::within(HEADER_BUDGET, || {
        engine.run_ast_with_scope(&mut scope, &ast)
    })
    .map_err(|e| {
        meta_err(format!(
            "running the rule header failed: {}",
            describe_error(&e)
        ))
    })?;
    let map = scope.get_value::<Map>(META_VAR).ok_or_else(|| {
        meta_err(
            "the rule needs a metadata map at the top: `let rule = #{ id: \"...\", ... };`".into(),
        )
    })?;
    let meta = parse_meta(&map).map_err(meta_err)?;
    let (wanted, arity, shape) = match meta.kind {
        RuleKind::Edit => (
            CHECK_FN,
            1,
            "the rule needs a `fn check(claim) { ... }` that returns its findings",
        ),
        RuleKind::Reimbursement => (
            PRICE_FN,
            3,
            "a reimbursement rule needs `terms: [...]` in its header or a `fn price(claim, line, medicare) { ... }` that returns the line's contract price",
        ),
    };
    let defined = ast
        .iter_functions()
        .any(|f| f.name == wanted && f.params.len() == arity);
    match (&meta.terms, defined) {
        (None, false) => return Err(meta_err(shape.into())),
        (Some(_), true) => {
            return Err(meta_err(
                "this contract declares `terms` and also has a `fn price`: keep one (terms for the usual shapes, `fn price` for anything else)".into(),
            ));
        }
        _ => {}
    }
    if file.shadow && meta.kind == RuleKind::Reimbursement {
        return Err(meta_err(
            "a payer contract (kind \"reimbursement\") cannot run in shadow: only edit rules can; make it active or disable it".into(),
        ));
    }
    let cases = match &file.tests {
        None => Vec::new(),
        Some((tests_name, text)) => {
            let text = text.as_ref().map_err(|e| RuleLoadError::TestFile {
                file: tests_name.clone(),
                message: format!("cannot read the file: {e}"),
            })?;
            parse_cases(text).map_err(|message| RuleLoadError::TestFile {
                file: tests_name.clone(),
                message,
            })?
        }
    };
    let text: Arc<str> = Arc::from(source.as_str());
    Ok(CompiledRule {
        version: content_version(source),
        file: name,
        per_thread: PerThread::new(text.clone()),
        source: text,
        ast: ast.clone_functions_only(),
        cases,
        tests_source: file
            .tests
            .as_ref()
            .and_then(|(_, t)| t.as_ref().ok())
            .map(|t| Arc::from(t.as_str())),
        metrics: RuleMetrics::new(&meta.id),
        shadow: file.shadow,
        meta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineLimits, Evaluator};

    fn file(source: String) -> RuleFile {
        RuleFile {
            name: "x.rhai".into(),
            source: Ok(source),
            tests: None,
            shadow: false,
        }
    }

    #[test]
    fn a_header_that_never_ends_is_refused_with_a_clear_error() {
        let evaluator = Evaluator::new(&EngineLimits::default());
        let e = compile_rule(
            evaluator.engine(),
            &file(
                "let rule = #{ id: \"x\" }; let n = 0; loop { n += 1; }\nfn check(claim) { [] }"
                    .into(),
            ),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("running the rule header failed"),
            "{e}"
        );
    }

    #[test]
    fn a_contract_declares_terms_or_writes_price_not_both_and_edits_have_no_terms() {
        let evaluator = Evaluator::new(&EngineLimits::default());
        let header = r#"let rule = #{ id: "c", kind: "reimbursement", name: "c", category: "payer-contract", terms: [#{ percent_of_medicare: 110 }] };"#;
        let ok = compile_rule(evaluator.engine(), &file(header.into())).unwrap();
        assert_eq!(ok.meta.terms.as_ref().map(Vec::len), Some(1));
        let both = format!("{header}\nfn price(claim, line, medicare) {{ () }}");
        let e = compile_rule(evaluator.engine(), &file(both)).unwrap_err();
        assert!(e.to_string().contains("keep one"), "{e}");
        let neither = r#"let rule = #{ id: "c", kind: "reimbursement", name: "c", category: "payer-contract" };"#;
        let e = compile_rule(evaluator.engine(), &file(neither.into())).unwrap_err();
        assert!(e.to_string().contains("needs `terms: [...]`"), "{e}");
        let edit = r#"let rule = #{ id: "e", name: "e", category: "x", severity: "error", carc: "CO-16", denial_probability: 0.5, terms: [#{ per_unit: 1 }] };
fn check(claim) { [] }"#;
        let e = compile_rule(evaluator.engine(), &file(edit.into())).unwrap_err();
        assert!(e.to_string().contains("belong to payer contracts"), "{e}");
    }

    #[test]
    fn oversized_scripts_and_test_files_are_refused_before_compiling() {
        let evaluator = Evaluator::new(&EngineLimits::default());
        let e =
            compile_rule(evaluator.engine(), &file(" ".repeat(MAX_RULE_BYTES + 1))).unwrap_err();
        assert!(e.to_string().contains("the limit is 256 KiB"), "{e}");
        let mut f = file("let rule = 1;".into());
        f.tests = Some(("x.tests.json".into(), Ok(" ".repeat(MAX_TESTS_BYTES + 1))));
        let e = compile_rule(evaluator.engine(), &f).unwrap_err();
        assert!(e.to_string().contains("the limit is 4096 KiB"), "{e}");
    }
}
