//! Calling a rule's function on this thread's own copy of the rule, with Rhai's
//! function-resolution caches kept across calls.
//!
//! `Engine::call_fn` starts every call with empty resolution caches: each call resolves every
//! function it uses again (hash lookups through the script's own functions, the engine's and
//! each package's), and because Rhai caches a resolution only on its second use within a
//! cache's life, a function used once per call is never cached at all. A rule is called once
//! per claim (a payer contract once per line), so the same answers were computed over and
//! over: 11% of the scripted instructions before this module. What a call resolves depends
//! only on the rule's own functions and the engine's, both fixed once the rule is compiled,
//! so each compiled rule keeps its caches per thread for its lifetime ([`PerThread`]); a new
//! version of the rule is a new [`crate::rules::CompiledRule`] with none, and the old ones go
//! with the old rule.
//!
//! The call itself is a one-line script (`check(claim)`, `price(claim, line, medicare)`) run
//! against the rule's functions with Rhai's raw statement evaluator (the `internals`
//! feature), which is what takes the caches; limits, the progress callback and error
//! positions are those of any other call.

use std::cell::RefCell;
use std::sync::Arc;

use rhai::{AST, Caches, Dynamic, Engine, EvalAltResult, Scope};
use thread_local::ThreadLocal;

/// One rule's state on each thread that has called it: its own copy of the rule's compiled
/// functions and Rhai's function-resolution caches.
///
/// The copy is the rule's source compiled again on that thread (once, on its first call
/// there). Rhai's compiled scripts hold their string literals, variable and parameter names
/// as reference-counted strings that it clones on every use, so threads running the same
/// compiled rule contend for the same counters: two threads served 1.6× one thread's
/// claims, against 2.0× for two separate processes. With a copy per thread they share
/// nothing but the tables.
pub struct PerThread {
    /// The rule's source (the same text as [`crate::rules::CompiledRule::source`]).
    source: Arc<str>,
    copies: ThreadLocal<RefCell<ThreadCopy>>,
}

struct ThreadCopy {
    /// This thread's compilation of the rule; `None` if it failed (it never does: the same
    /// engine compiled the same text before), and the shared one is used.
    ast: Option<AST>,
    caches: Caches,
}

impl std::fmt::Debug for PerThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PerThread")
    }
}

/// Most function resolutions one rule keeps per thread. A rule that builds function names
/// from claim data (`Fn("x" + line.code)`) could otherwise grow its cache with every claim,
/// since Rhai also caches "not found"; past this the cache starts over.
const MAX_CACHED: usize = 4_096;

impl PerThread {
    /// No copies yet of the rule compiled from `source`.
    pub fn new(source: Arc<str>) -> Self {
        Self {
            source,
            copies: ThreadLocal::new(),
        }
    }

    /// This thread's copy, compiled now if it had none (then `true`).
    fn copy(&self, engine: &Engine) -> (&RefCell<ThreadCopy>, bool) {
        let mut compiled = false;
        let cell = self.copies.get_or(|| {
            compiled = true;
            RefCell::new(ThreadCopy {
                ast: engine
                    .compile(&*self.source)
                    .ok()
                    .map(|a| a.clone_functions_only()),
                caches: primed(),
            })
        });
        (cell, compiled)
    }

    /// Makes sure this thread has its copy of the rule; true when it compiled now (the
    /// caller then starts the rule's time budget after it, so a compile never eats into a
    /// claim's budget).
    pub fn prepare(&self, engine: &Engine) -> bool {
        self.copy(engine).1
    }

    /// Runs `f` with this thread's copy of the rule (`shared` if compiling it failed) and
    /// its caches. A call of the same rule already running on this thread (rules cannot do
    /// that today, but it must not panic) gets `shared` and fresh caches.
    fn with<T>(&self, engine: &Engine, shared: &AST, f: impl FnOnce(&AST, &mut Caches) -> T) -> T {
        match self.copy(engine).0.try_borrow_mut() {
            Ok(mut copy) => {
                let ThreadCopy { ast, caches } = &mut *copy;
                let out = f(ast.as_ref().unwrap_or(shared), caches);
                let cache = caches.fn_resolution_cache_mut();
                if cache.dict.len() > MAX_CACHED {
                    cache.clear();
                }
                out
            }
            Err(_) => f(shared, &mut primed()),
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

/// The one-line script that calls a rule's function with its arguments, compiled once per
/// thread (for the same reason as [`PerThread`]).
pub struct CallSite {
    text: String,
    shared: AST,
    per_thread: ThreadLocal<AST>,
    params: &'static [&'static str],
}

impl CallSite {
    /// Compiles the call of `function` with arguments named `params` (bound per call).
    ///
    /// # Panics
    /// If the names do not make a valid call (a programming error, caught by the tests).
    pub fn new(engine: &Engine, function: &str, params: &'static [&'static str]) -> Self {
        let text = format!("{function}({})", params.join(", "));
        let shared = compile_call(engine, &text, params)
            .unwrap_or_else(|e| panic!("the call `{text}` does not compile: {e}"));
        Self {
            text,
            shared,
            per_thread: ThreadLocal::new(),
            params,
        }
    }

    /// Calls the function of the rule compiled as `ast` with `args` (one per parameter name,
    /// in order), on this thread's copy of the rule with its caches.
    pub fn call(
        &self,
        engine: &Engine,
        ast: &AST,
        rule: &PerThread,
        args: impl IntoIterator<Item = Dynamic>,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let call = self.per_thread.get_or(|| {
            compile_call(engine, &self.text, self.params).unwrap_or_else(|_| self.shared.clone())
        });
        let mut scope = Scope::new();
        self.params.iter().zip(args).for_each(|(name, value)| {
            scope.push_dynamic(*name, value);
        });
        rule.with(engine, ast, |ast, caches| {
            let mut global = engine.new_global_runtime_state();
            global.lib.push(ast.shared_lib().clone());
            #[allow(deprecated)] // the only public entry that takes the caches (Rhai 1.27)
            engine.eval_statements_raw(&mut global, caches, &mut scope, call.statements())
        })
        .map_err(|mut e| {
            // Rhai stamps limit and timeout errors with the position of the call, which here
            // is the one-line call script: line 1 of nothing the author wrote. `call_fn` left
            // them without a position; so do we.
            if e.is_system_exception() {
                e.set_position(rhai::Position::NONE);
            }
            e
        })
    }
}

fn compile_call(engine: &Engine, text: &str, params: &[&str]) -> Result<AST, rhai::ParseError> {
    let mut scope = Scope::new();
    params.iter().for_each(|p| {
        scope.push_dynamic(*p, Dynamic::UNIT);
    });
    engine.compile_with_scope(&scope, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut e = Engine::new_raw();
        e.set_strict_variables(true);
        e
    }

    /// A compiled rule as the evaluator holds one: AST and per-thread state.
    struct Rule {
        ast: AST,
        per_thread: PerThread,
    }

    impl Rule {
        fn new(e: &Engine, src: &'static str) -> Self {
            Self {
                ast: e.compile(src).unwrap(),
                per_thread: PerThread::new(Arc::from(src)),
            }
        }

        fn call(
            &self,
            e: &Engine,
            site: &CallSite,
            args: &[i64],
        ) -> Result<Dynamic, Box<EvalAltResult>> {
            let args = args.iter().map(|a| Dynamic::from(*a));
            site.call(e, &self.ast, &self.per_thread, args)
        }
    }

    /// A call site `f(x)` and a rule defining `f`, compiled with `e`.
    fn one_arg(e: &Engine, src: &'static str) -> (CallSite, Rule) {
        (CallSite::new(e, "f", &["x"]), Rule::new(e, src))
    }

    #[test]
    fn calls_the_function_of_the_given_ast_with_its_arguments() {
        let e = engine();
        let site = CallSite::new(&e, "f", &["a", "b"]);
        let one = Rule::new(&e, "fn f(a, b) { a * 10 + b }");
        let two = Rule::new(&e, "fn f(a, b) { a - b }");
        for _ in 0..3 {
            assert_eq!(one.call(&e, &site, &[4, 2]).unwrap().as_int().unwrap(), 42);
            assert_eq!(two.call(&e, &site, &[4, 2]).unwrap().as_int().unwrap(), 2);
        }
    }

    #[test]
    fn helpers_of_the_same_name_in_two_rules_stay_apart_across_calls() {
        // The caches are per rule: a helper cached for one rule is never used for another.
        let e = engine();
        let site = CallSite::new(&e, "f", &["x"]);
        let one = Rule::new(&e, "fn h(x) { x + 1 } fn f(x) { h(x) + h(x) }");
        let two = Rule::new(&e, "fn h(x) { x * 100 } fn f(x) { h(x) + h(x) }");
        for _ in 0..3 {
            let a = one.call(&e, &site, &[1]).unwrap().as_int().unwrap();
            let b = two.call(&e, &site, &[1]).unwrap().as_int().unwrap();
            assert_eq!((a, b), (4, 200));
        }
    }

    #[test]
    fn errors_keep_the_position_in_the_rule() {
        let e = engine();
        let (site, rule) = one_arg(&e, "fn f(x) {\n  let y = x;\n  y.nope()\n}");
        for _ in 0..2 {
            let err = rule.call(&e, &site, &[1]).unwrap_err();
            let mut inner = &*err;
            while let EvalAltResult::ErrorInFunctionCall(_, _, next, _) = inner {
                inner = next;
            }
            assert_eq!(inner.position().line(), Some(3), "{err}");
        }
    }

    #[test]
    fn limit_errors_carry_no_position_of_the_call_script() {
        let mut e = engine();
        e.set_max_operations(1_000);
        let (site, rule) = one_arg(&e, "fn f(x) {\n  let n = 0;\n  loop { n += 1; }\n}");
        let err = rule.call(&e, &site, &[1]).unwrap_err();
        assert!(
            matches!(*err, EvalAltResult::ErrorTooManyOperations(..)),
            "{err}"
        );
        assert!(err.position().is_none(), "{err}");
    }

    #[test]
    fn the_cache_survives_the_call() {
        let e = engine();
        let (site, rule) = one_arg(
            &e,
            "fn f(x) { let n = 0; let i = 0; while i < 3 { n += g(i); i += 1; } n } fn g(i) { i }",
        );
        assert_eq!(rule.call(&e, &site, &[1]).unwrap().as_int().unwrap(), 3);
        rule.per_thread.with(&e, &rule.ast, |_, c| {
            assert_eq!(c.fn_resolution_caches_len(), 1);
            assert!(!c.fn_resolution_cache_mut().dict.is_empty());
        });
    }

    #[test]
    fn each_thread_runs_its_own_copy_with_the_same_results() {
        let e = engine();
        let (site, rule) = one_arg(
            &e,
            "fn f(x) { let s = \"a\"; if x > 1 { \"b\" } else { s } }",
        );
        let on = |x: i64| rule.call(&e, &site, &[x]).unwrap().to_string();
        let here = (on(1), on(2));
        let there = std::thread::scope(|s| s.spawn(|| (on(1), on(2))).join().unwrap());
        assert_eq!(here, ("a".to_string(), "b".to_string()));
        assert_eq!(here, there);
        // This thread compiled its own copy of the functions.
        let mine = rule
            .per_thread
            .with(&e, &rule.ast, |a, _| a.shared_lib().clone());
        assert!(!std::sync::Arc::ptr_eq(&mine, rule.ast.shared_lib()));
    }
}
