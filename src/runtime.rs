//! The runtime every entry point scores with — reference tables, the script engine, the
//! evaluation pool and the rule registry — built from configuration by one function
//! ([`Runtime::build`]) for the server, every CLI command, the tests and the bench.

use std::path::Path;
use std::sync::Arc;

use crate::engine::{EngineLimits, EvalPool, Evaluator};
use crate::registry::RuleRegistry;
use crate::rules::{FsSource, RuleSource};
use crate::tables::{TableError, TableReport, TableStore};

/// What a runtime is built from.
pub struct RuntimeSpec<'a> {
    /// Where rule files come from.
    pub rules: Arc<dyn RuleSource>,
    /// The table manifest; `None` runs without reference tables.
    pub tables: Option<&'a Path>,
    /// The script engine's limits.
    pub engine: EngineLimits,
    /// Evaluation threads.
    pub threads: usize,
    /// Evaluation jobs that may wait for a thread before callers are refused.
    pub queue: usize,
}

impl<'a> RuntimeSpec<'a> {
    /// A runtime over the rules directory `dir` and the manifest `tables`, with default
    /// engine limits and one evaluation thread (tools, tests and the bench).
    pub fn for_dir(dir: &Path, tables: Option<&'a Path>) -> Self {
        Self {
            rules: Arc::new(FsSource::new(dir)),
            tables,
            engine: EngineLimits::default(),
            threads: 1,
            queue: 64,
        }
    }
}

/// Why a runtime could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The reference tables could not be loaded.
    #[error(transparent)]
    Tables(#[from] TableError),
    /// The evaluation pool could not be started.
    #[error("cannot start the evaluation threads: {0}")]
    Pool(#[from] std::io::Error),
}

/// The loaded runtime. The rule registry starts empty: the caller loads the rules
/// ([`RuleRegistry::load_initial`] or [`RuleRegistry::reload`]), because a server and a
/// rule-checking tool react differently to a directory where nothing loads.
pub struct Runtime {
    /// The reference tables (hot-swappable).
    pub tables: Arc<TableStore>,
    /// Runs rule scripts.
    pub evaluator: Evaluator,
    /// The bounded pool evaluation runs on.
    pub pool: EvalPool,
    /// The rules: their statuses, the active set and events.
    pub registry: Arc<RuleRegistry>,
    /// The thread rules are compiled and tested on (never a scoring thread).
    pub compile_pool: EvalPool,
    /// Where the registry reads rule files.
    pub source: Arc<dyn RuleSource>,
    /// What the table load found (versions, rows, time).
    pub table_report: TableReport,
}

impl Runtime {
    /// Loads the tables, builds the engine and the pool, and creates the registry.
    pub fn build(spec: RuntimeSpec<'_>) -> Result<Self, RuntimeError> {
        let (tables, table_report) = TableStore::open(spec.tables)?;
        let tables = Arc::new(tables);
        let evaluator = Evaluator::new(&spec.engine);
        let pool = EvalPool::new(spec.threads, spec.queue)?;
        // Compiles and rule tests (reloads, admin validation) get a thread of their own, so a
        // slow or hostile candidate never holds up scoring.
        let compile_pool = EvalPool::new(1, spec.queue)?;
        let registry = Arc::new(RuleRegistry::new(
            spec.rules.clone(),
            evaluator.clone(),
            compile_pool.clone(),
            tables.clone(),
        ));
        Ok(Self {
            tables,
            evaluator,
            pool,
            registry,
            compile_pool,
            source: spec.rules,
            table_report,
        })
    }

    /// A second registry over another rule source sharing this runtime's tables, engine and
    /// pool (comparing rule sets on the same tables without loading them twice).
    pub fn registry_for(&self, rules: Arc<dyn RuleSource>) -> Arc<RuleRegistry> {
        Arc::new(RuleRegistry::new(
            rules,
            self.evaluator.clone(),
            self.compile_pool.clone(),
            self.tables.clone(),
        ))
    }
}
