//! A bounded pool of evaluation threads, so CPU-bound rule evaluation never runs on the async
//! reactor. Threads get a large stack: deep (but limited) script recursion must hit Rhai's
//! call-depth limit, never the thread's stack guard.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use tokio::sync::{Semaphore, oneshot};

/// Stack size of evaluation threads.
pub const EVAL_STACK_BYTES: usize = 16 * 1024 * 1024;

/// The evaluation thread pool.
#[derive(Clone)]
pub struct EvalPool {
    pool: Arc<rayon::ThreadPool>,
    permits: Arc<Semaphore>,
}

/// The job panicked (a bug, not a rule failure); the claim gets an internal error.
#[derive(Debug, thiserror::Error)]
#[error("evaluation failed unexpectedly")]
pub struct PoolError;

impl EvalPool {
    /// A pool of `threads` threads admitting at most `queue` jobs at once.
    pub fn new(threads: usize, queue: usize) -> std::io::Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .stack_size(EVAL_STACK_BYTES)
            .thread_name(|i| format!("claimscrub-eval-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self {
            pool: Arc::new(pool),
            permits: Arc::new(Semaphore::new(queue.max(1))),
        })
    }

    /// Runs `job` on the pool and waits for it without blocking the reactor.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        // The permit travels with the job: a caller that gives up does not free the slot
        // until the job has actually run.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PoolError)?;
        let (tx, rx) = oneshot::channel();
        self.pool.spawn(move || {
            let _permit = permit;
            let result = std::panic::catch_unwind(AssertUnwindSafe(job));
            let _ = tx.send(result.map_err(|_| PoolError));
        });
        rx.await.map_err(|_| PoolError)?
    }

    /// Runs `job` on a pool thread and blocks the caller until it finishes (for tools and
    /// reloads, never for async code).
    pub fn run_blocking<T: Send>(&self, job: impl FnOnce() -> T + Send) -> T {
        self.pool.install(job)
    }
}
