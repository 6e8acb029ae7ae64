//! [`ShutdownHandle`]: the graceful shutdown signal shared by a server and
//! its connections (a value set once, plus an [`Event`] to wake waiters).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use event_listener::Event;

struct Shared {
    /// `Some(drain)` once shutdown was asked for; never reset.
    drain: Mutex<Option<Duration>>,
    /// `drain` is `Some` (a lock-free check for the connection loop).
    set: AtomicBool,
    event: Event,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Option<Duration>> {
        // A plain value: a panic elsewhere cannot leave it inconsistent.
        self.drain.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts a graceful shutdown of a server and of every connection that
/// shares it. Cheap to clone.
///
/// On [`shutdown`](ShutdownHandle::shutdown): the server stops accepting;
/// idle connections close at once; busy ones finish the requests in progress
/// (their responses carry `connection: close`) and close; whatever is left
/// after `drain` is aborted.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// A handle not yet triggered.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                drain: Mutex::new(None),
                set: AtomicBool::new(false),
                event: Event::new(),
            }),
        }
    }

    /// Starts the shutdown; connections get `drain` to finish. Later calls
    /// do nothing.
    pub fn shutdown(&self, drain: Duration) {
        {
            let mut state = self.shared.lock();
            if state.is_some() {
                return;
            }
            *state = Some(drain);
            self.shared.set.store(true, Ordering::Release);
        }
        self.shared.event.notify(usize::MAX);
    }

    /// True once [`shutdown`](ShutdownHandle::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.shared.lock().is_some()
    }

    pub(crate) fn subscribe(&self) -> ShutdownRx {
        ShutdownRx {
            shared: self.shared.clone(),
        }
    }
}

impl Default for ShutdownHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("drain", &*self.shared.lock())
            .finish()
    }
}

/// A connection's (or the accept loop's) view of a [`ShutdownHandle`].
#[derive(Clone)]
pub(crate) struct ShutdownRx {
    shared: Arc<Shared>,
}

impl ShutdownRx {
    /// The drain time, if shutdown was asked for.
    pub(crate) fn current(&self) -> Option<Duration> {
        if !self.shared.set.load(Ordering::Acquire) {
            return None;
        }
        *self.shared.lock()
    }

    /// Waits for the shutdown; resolves to its drain time.
    pub(crate) async fn wait(&self) -> Duration {
        loop {
            if let Some(drain) = self.current() {
                return drain;
            }
            let listener = self.shared.event.listen();
            if let Some(drain) = self.current() {
                return drain;
            }
            listener.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_shutdown_wins_and_wakes_waiters() {
        let handle = ShutdownHandle::new();
        let rx = handle.subscribe();
        assert_eq!(rx.current(), None);
        let waiter = smol::spawn(async move { rx.wait().await });
        handle.shutdown(Duration::from_secs(3));
        handle.shutdown(Duration::from_secs(9));
        assert!(handle.is_shutdown());
        assert_eq!(smol::block_on(waiter), Duration::from_secs(3));
    }
}
