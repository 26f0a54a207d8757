//! The sandboxed Rhai engine every rule runs in.
//!
//! Built from `Engine::new_raw()` with only the packages rules need: no file module resolver,
//! no `eval`, no printing (PHI must not reach stdout), no timestamps. Limits bound operations,
//! call depth, expression depth and data sizes; a wall-clock budget per rule is enforced by
//! the evaluator's progress callback.

use std::time::Duration;

use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{Engine, OptimizationLevel};

use super::{contract, script_api, table_api};

/// Resource limits for every rule evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineLimits {
    /// Maximum Rhai operations per rule call.
    pub max_operations: u64,
    /// Maximum function call depth.
    pub max_call_levels: usize,
    /// Maximum expression nesting depth (global and in functions).
    pub max_expr_depth: usize,
    /// Maximum string length in bytes. Rhai applies it to the total of all strings held in one
    /// value, so it also caps the text of all findings a rule returns at once: a 200-line claim
    /// with hundreds of NCCI pairs returns a few hundred KiB of messages, hence 1 MiB.
    pub max_string_size: usize,
    /// Maximum array length.
    pub max_array_size: usize,
    /// Maximum object map size.
    pub max_map_size: usize,
    /// Wall-clock budget per rule call.
    pub rule_timeout: Duration,
}

impl Default for EngineLimits {
    fn default() -> Self {
        Self {
            max_operations: 1_000_000,
            max_call_levels: 48,
            max_expr_depth: 64,
            max_string_size: 1024 * 1024,
            max_array_size: 100_000,
            max_map_size: 10_000,
            rule_timeout: Duration::from_millis(100),
        }
    }
}

/// Builds the sandboxed engine with the claim API registered.
pub fn build_engine(limits: &EngineLimits) -> Engine {
    let mut engine = Engine::new_raw();
    // With `sync`, the interner is a global lock: it serialises every thread.
    engine.set_max_strings_interned(0);
    CorePackage::new().register_into_engine(&mut engine);
    LogicPackage::new().register_into_engine(&mut engine);
    BasicMathPackage::new().register_into_engine(&mut engine);
    BasicArrayPackage::new().register_into_engine(&mut engine);
    BasicMapPackage::new().register_into_engine(&mut engine);
    MoreStringPackage::new().register_into_engine(&mut engine);
    engine.disable_symbol("eval");
    engine.set_strict_variables(true);
    engine.set_fail_on_invalid_map_property(true);
    engine.set_optimization_level(OptimizationLevel::Simple);
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine.set_max_variables(1_000);
    engine.set_max_functions(1_000);
    engine.set_max_modules(0);
    // Rhai's core package has a blocking `sleep`, which would escape the wall-clock budget:
    // shadow it (functions registered on the engine are found before package functions).
    engine.register_fn(
        "sleep",
        |_: rhai::INT| -> Result<(), Box<rhai::EvalAltResult>> {
            Err("sleep is not available in rules".into())
        },
    );
    engine.register_fn(
        "sleep",
        |_: rhai::FLOAT| -> Result<(), Box<rhai::EvalAltResult>> {
            Err("sleep is not available in rules".into())
        },
    );
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    script_api::register(&mut engine);
    table_api::register(&mut engine);
    contract::register(&mut engine);
    engine
}
