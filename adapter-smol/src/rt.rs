//! The runtime pieces the adapter needs from the smol family: where tasks
//! run ([`Spawner`]), timeouts on `async-io` timers.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_executor::{Executor, Task};
use async_io::Timer;
use futures_lite::future;

/// Where connection, handler and body tasks are spawned: the executor given
/// to a builder, or smol's global executor (`smol::spawn`).
#[derive(Clone, Default)]
pub(crate) struct Spawner {
    executor: Option<Arc<Executor<'static>>>,
}

impl Spawner {
    pub(crate) fn new(executor: Option<Arc<Executor<'static>>>) -> Self {
        Self { executor }
    }

    pub(crate) fn spawn<T, F>(&self, fut: F) -> Task<T>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.executor {
            Some(ex) => ex.spawn(fut),
            None => smol::spawn(fut),
        }
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.executor.is_some() {
            "Spawner(executor)"
        } else {
            "Spawner(smol global)"
        })
    }
}

/// `fut`, or `None` if it takes longer than `after`.
pub(crate) async fn timeout<F: Future>(after: Duration, fut: F) -> Option<F::Output> {
    future::or(async { Some(fut.await) }, async {
        Timer::after(after).await;
        None
    })
    .await
}

/// `fut`, or `None` once `at` passes.
pub(crate) async fn deadline<F: Future>(at: Instant, fut: F) -> Option<F::Output> {
    future::or(async { Some(fut.await) }, async {
        Timer::at(at).await;
        None
    })
    .await
}
