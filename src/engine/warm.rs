//! Calling a rule's function with Rhai's function-resolution caches kept across calls.
//!
//! `Engine::call_fn` starts every call with empty resolution caches: each call resolves every
//! function it uses again (hash lookups through the script's own functions, the engine's and
//! each package's), and because Rhai caches a resolution only on its second use within a
//! cache's life, a function used once per call is never cached at all. A rule is called once
//! per claim (a payer contract once per line), so the same answers were computed over and
//! over: 11% of the scripted instructions before this module.
//!
//! What a call resolves depends only on the rule's own functions and the engine's, both fixed
//! once the rule is compiled, so each compiled rule keeps one cache per thread for its
//! lifetime ([`WarmCaches`]); a new version of the rule is a new [`crate::rules::CompiledRule`]
//! with empty caches, and the old caches go with the old rule. The call itself is a one-line
//! script (`check(claim)`, `price(claim, line, medicare)`) run against the rule's functions
//! with Rhai's raw statement evaluator (the `internals` feature), which is what takes the
//! caches; limits, the progress callback and error positions are those of any other call.

use std::cell::RefCell;

use rhai::{AST, Caches, Dynamic, Engine, EvalAltResult, Scope};
use thread_local::ThreadLocal;

/// One rule's function-resolution caches, one per thread that has called it.
#[derive(Default)]
pub struct WarmCaches(ThreadLocal<RefCell<Caches>>);

impl std::fmt::Debug for WarmCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WarmCaches")
    }
}

impl WarmCaches {
    /// Runs `f` with this thread's caches (fresh ones if a call of the same rule is already
    /// running on this thread, which rules cannot do today but must not panic).
    fn with<T>(&self, f: impl FnOnce(&mut Caches) -> T) -> T {
        let cell = self.0.get_or(|| RefCell::new(primed()));
        match cell.try_borrow_mut() {
            Ok(mut caches) => f(&mut caches),
            Err(_) => f(&mut primed()),
        }
    }
}

/// Caches with one resolution cache already on the stack: Rhai pushes one when a block
/// starts with none and pops it when the block ends, which would empty it after every call.
fn primed() -> Caches {
    let mut caches = Caches::new();
    caches.push_fn_resolution_cache();
    caches
}

/// The one-line script that calls a rule's function with its arguments, compiled once.
pub struct CallSite {
    call: AST,
    params: &'static [&'static str],
}

impl CallSite {
    /// Compiles the call of `function` with arguments named `params` (bound per call).
    ///
    /// # Panics
    /// If the names do not make a valid call (a programming error, caught by the tests).
    pub fn new(engine: &Engine, function: &str, params: &'static [&'static str]) -> Self {
        let mut scope = Scope::new();
        params.iter().for_each(|p| {
            scope.push_dynamic(*p, Dynamic::UNIT);
        });
        let text = format!("{function}({})", params.join(", "));
        let call = engine
            .compile_with_scope(&scope, &text)
            .unwrap_or_else(|e| panic!("the call `{text}` does not compile: {e}"));
        Self { call, params }
    }

    /// Calls the function of `ast` with `args` (one per parameter name, in order), keeping
    /// `warm`'s resolution caches.
    pub fn call(
        &self,
        engine: &Engine,
        ast: &AST,
        warm: &WarmCaches,
        args: impl IntoIterator<Item = Dynamic>,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let mut scope = Scope::new();
        self.params.iter().zip(args).for_each(|(name, value)| {
            scope.push_dynamic(*name, value);
        });
        let mut global = engine.new_global_runtime_state();
        global.lib.push(ast.shared_lib().clone());
        warm.with(|caches| {
            #[allow(deprecated)] // the only public entry that takes the caches (Rhai 1.27)
            engine.eval_statements_raw(&mut global, caches, &mut scope, self.call.statements())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut e = Engine::new_raw();
        e.set_strict_variables(true);
        e
    }

    #[test]
    fn calls_the_function_of_the_given_ast_with_its_arguments() {
        let e = engine();
        let site = CallSite::new(&e, "f", &["a", "b"]);
        let one = e.compile("fn f(a, b) { a * 10 + b }").unwrap();
        let two = e.compile("fn f(a, b) { a - b }").unwrap();
        let (w1, w2) = (WarmCaches::default(), WarmCaches::default());
        for _ in 0..3 {
            let r = site.call(&e, &one, &w1, [Dynamic::from(4_i64), Dynamic::from(2_i64)]);
            assert_eq!(r.unwrap().as_int().unwrap(), 42);
            let r = site.call(&e, &two, &w2, [Dynamic::from(4_i64), Dynamic::from(2_i64)]);
            assert_eq!(r.unwrap().as_int().unwrap(), 2);
        }
    }

    #[test]
    fn helpers_of_the_same_name_in_two_rules_stay_apart_across_calls() {
        // The caches are per rule: a helper cached for one rule is never used for another.
        let e = engine();
        let site = CallSite::new(&e, "f", &["x"]);
        let one = e
            .compile("fn h(x) { x + 1 } fn f(x) { h(x) + h(x) }")
            .unwrap();
        let two = e
            .compile("fn h(x) { x * 100 } fn f(x) { h(x) + h(x) }")
            .unwrap();
        let (w1, w2) = (WarmCaches::default(), WarmCaches::default());
        for _ in 0..3 {
            let a = site.call(&e, &one, &w1, [Dynamic::from(1_i64)]).unwrap();
            let b = site.call(&e, &two, &w2, [Dynamic::from(1_i64)]).unwrap();
            assert_eq!((a.as_int().unwrap(), b.as_int().unwrap()), (4, 200));
        }
    }

    #[test]
    fn errors_keep_the_position_in_the_rule() {
        let e = engine();
        let site = CallSite::new(&e, "f", &["x"]);
        let ast = e.compile("fn f(x) {\n  let y = x;\n  y.nope()\n}").unwrap();
        let w = WarmCaches::default();
        for _ in 0..2 {
            let err = site.call(&e, &ast, &w, [Dynamic::from(1_i64)]).unwrap_err();
            let mut inner = &*err;
            while let EvalAltResult::ErrorInFunctionCall(_, _, next, _) = inner {
                inner = next;
            }
            assert_eq!(inner.position().line(), Some(3), "{err}");
        }
    }

    #[test]
    fn the_cache_survives_the_call() {
        let e = engine();
        let site = CallSite::new(&e, "f", &["x"]);
        let ast = e
            .compile("fn f(x) { let n = 0; let i = 0; while i < 3 { n += g(i); i += 1; } n } fn g(i) { i }")
            .unwrap();
        let w = WarmCaches::default();
        let n = site.call(&e, &ast, &w, [Dynamic::from(1_i64)]).unwrap();
        assert_eq!(n.as_int().unwrap(), 3);
        w.with(|c| {
            assert_eq!(c.fn_resolution_caches_len(), 1);
            assert!(!c.fn_resolution_cache_mut().dict.is_empty());
        });
    }
}
