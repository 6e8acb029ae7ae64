//! Direct reads: a server connection thread reads its socket itself while
//! no other thread takes part in any of its exchanges.
//!
//! The reader thread (see the `driver` module) exists because std cannot
//! wait for "socket readable or a message from a handler thread". But an
//! HTTP/1.1 connection whose requests have no body is answered on its own
//! thread, so between those requests nothing but the socket can have news
//! for it, and the hand-off through a second thread (a futex wake and a
//! context switch per read) is pure cost. So a server connection starts
//! without a reader thread: it reads with `set_read_timeout` bounding each
//! read by the core's next deadline, and starts the reader thread the first
//! time an exchange involves another thread (a handler on the pool, a body
//! reader or writer); from then on it stays with the channel.
//!
//! Two things a blocked `read` would otherwise miss:
//! - deadlines: the socket's read timeout is set from the core's
//!   `poll_timeout` (see [`read_timeout_for`]); a read that times out just
//!   runs a turn;
//! - a graceful shutdown: the server sends `Shutdown` over the channel and
//!   then calls [`Wake::wake`], which shuts down the reading half so the
//!   blocked `read` returns. Reading is over for the connection then: what
//!   had arrived is still read, after it reads return 0. A connection
//!   reading directly has no exchange in progress with another thread, so
//!   the core closes it at once (a request whose head had only partly
//!   arrived is dropped, as hyper does with a connection that is not yet
//!   busy).

use std::net::Shutdown;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::transport::Transport;

/// Shortest read timeout set: below it, the deadline is treated as due.
pub(crate) const MIN_READ_WAIT: Duration = Duration::from_millis(1);
/// Longest read timeout set: a connection with no deadline at all blocks
/// without one.
const MAX_READ_WAIT: Duration = Duration::from_secs(1 << 12);

/// Wakes a connection thread blocked in a direct read (see the module docs).
pub(crate) trait Wake: Send + Sync {
    /// Makes a blocked direct read return; does nothing once the
    /// connection has a reader thread.
    fn wake(&self);
}

/// A second handle on a connection's transport, kept for [`Wake::wake`]
/// while the connection reads directly, and handed to the reader thread
/// when it starts.
pub(crate) struct DirectWake<T> {
    /// The handle (`None` once the reader thread took it), and whether the
    /// reading half was shut down by a wake.
    state: Mutex<(Option<T>, bool)>,
}

impl<T: Transport> DirectWake<T> {
    pub(crate) fn new(io: &T) -> std::io::Result<Self> {
        Ok(Self {
            state: Mutex::new((Some(io.try_clone()?), false)),
        })
    }

    /// Takes the handle for the reader thread (`None` if it is gone), and
    /// whether a wake shut the reading half down before.
    pub(crate) fn take(&self) -> (Option<T>, bool) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (st.0.take(), st.1)
    }
}

impl<T: Transport> Wake for DirectWake<T> {
    fn wake(&self) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(io) = &st.0 {
            let _ = io.shutdown(Shutdown::Read);
            st.1 = true;
        }
    }
}

/// The read timeout to use when the current one is `current` and the
/// core's deadline is `wait` away (`None`: no deadline). The caller does not
/// read when `wait` is under [`MIN_READ_WAIT`] (the deadline is due).
///
/// A read may time out early (the turn it then runs does nothing), never
/// late. Setting the timeout is a system call, so it is changed only when
/// it must be: the current one is kept while it is not longer than `wait`
/// and at least a quarter of it; otherwise the new one is the largest
/// power-of-two number of milliseconds not over `wait`. A deadline that
/// keeps moving by the same amount (the idle-release timer re-armed by
/// each request) thus costs no system call per request, and one that is
/// waited out costs a few wake-ups (each at least halves the rest).
pub(crate) fn read_timeout_for(
    current: Option<Duration>,
    wait: Option<Duration>,
) -> Option<Duration> {
    let wait = wait?;
    if let Some(cur) = current {
        if cur <= wait && cur.saturating_mul(4) >= wait {
            return current;
        }
    }
    let wait = wait.clamp(MIN_READ_WAIT, MAX_READ_WAIT);
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    // Largest power of two <= ms.
    let pow = 1u64 << (63 - ms.leading_zeros());
    Some(Duration::from_millis(pow))
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn no_deadline_means_no_timeout() {
        assert_eq!(read_timeout_for(Some(ms(512)), None), None);
        assert_eq!(read_timeout_for(None, None), None);
    }

    #[test]
    fn timeout_never_exceeds_the_deadline() {
        for wait in [1, 2, 3, 7, 100, 999, 1000, 1001, 59_999, 3_600_000] {
            for cur in [
                None,
                Some(ms(1)),
                Some(ms(256)),
                Some(ms(1024)),
                Some(ms(60_000)),
            ] {
                let got = read_timeout_for(cur, Some(ms(wait))).unwrap_or(Duration::MAX);
                assert!(
                    got <= ms(wait),
                    "wait {wait} ms, current {cur:?}: got {got:?}"
                );
                assert!(got >= ms(1));
            }
        }
    }

    #[test]
    fn steady_deadline_keeps_the_timeout() {
        // A deadline each request re-arms the same distance ahead (as the
        // idle release is).
        let first = read_timeout_for(None, Some(ms(1000)));
        assert_eq!(first, Some(ms(512)));
        assert_eq!(read_timeout_for(first, Some(ms(1000))), first);
        assert_eq!(read_timeout_for(first, Some(ms(998))), first);
    }

    #[test]
    fn waiting_out_a_deadline_takes_few_wakeups() {
        let mut cur = None;
        let mut left = ms(1000);
        let mut wakeups = 0;
        while left >= MIN_READ_WAIT {
            cur = read_timeout_for(cur, Some(left));
            left -= cur.unwrap_or_default();
            wakeups += 1;
        }
        assert!(wakeups <= 12, "{wakeups} wake-ups");
    }

    #[test]
    fn long_deadlines_are_capped_short_ones_floored() {
        assert_eq!(
            read_timeout_for(None, Some(Duration::from_secs(1 << 20))),
            Some(ms(1 << 21))
        );
        assert_eq!(
            read_timeout_for(None, Some(Duration::from_micros(10))),
            Some(ms(1))
        );
    }
}
