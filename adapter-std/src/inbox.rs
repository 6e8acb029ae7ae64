//! A received body's queue: the connection thread pushes chunks, the
//! [`Body`](crate::Body) takes them.
//!
//! The connection stops pushing data once its limit (`max_recv_buffer`) is
//! queued, the bound on a body's unread bytes, and marks the inbox stalled;
//! the body then tells it to go on (`Cmd::Consumed`) when it takes the
//! *last* chunk, not every chunk: it still has that chunk to read while the
//! connection refills the queue, and a body read as fast as it arrives costs
//! one hand-over each way per queue's worth instead of per chunk. (One
//! core, the usual case in a loaded server: each hand-over is a context
//! switch.) The body is woken only when it waits, the connection only when
//! it stalled.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http::HeaderMap;

use crate::error::Error;

/// What the connection thread hands a body.
pub(crate) enum Chunk {
    Data(Bytes),
    Trailers(HeaderMap),
    End,
    Error(Error),
}

#[derive(Default)]
struct State {
    chunks: VecDeque<Chunk>,
    /// Data bytes in `chunks`.
    queued: usize,
    /// The connection stopped at the bound: it waits to hear from the body.
    stalled: bool,
    /// The body waits for a chunk.
    waiting: bool,
    /// The connection side is gone: nothing more comes.
    closed: bool,
    /// The body is gone: nothing more is wanted.
    dropped: bool,
}

/// What the body found.
pub(crate) enum Take {
    /// A chunk; `report`: the connection stalled and the queue is now
    /// empty, so it must be told to go on.
    Chunk { chunk: Chunk, report: bool },
    /// The connection side went away without an end.
    Closed,
}

/// The queue shared by the connection thread and one body.
#[derive(Default)]
pub(crate) struct Inbox {
    state: Mutex<State>,
    cv: Condvar,
}

/// The connection's handle: dropping it ends the body (a body still
/// reading then gets an error unless an end was pushed).
pub(crate) struct InboxTx(Arc<Inbox>);

impl Inbox {
    pub(crate) fn pair() -> (InboxTx, Arc<Self>) {
        let inbox = Arc::new(Self::default());
        (InboxTx(inbox.clone()), inbox)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next chunk, waiting for one.
    pub(crate) fn take(&self) -> Take {
        let mut st = self.lock();
        loop {
            if let Some(chunk) = st.chunks.pop_front() {
                if let Chunk::Data(data) = &chunk {
                    st.queued -= data.len();
                }
                let report = st.stalled && st.chunks.is_empty();
                if report {
                    st.stalled = false;
                }
                return Take::Chunk { chunk, report };
            }
            if st.closed {
                return Take::Closed;
            }
            st.waiting = true;
            st = self.cv.wait(st).unwrap_or_else(PoisonError::into_inner);
            st.waiting = false;
        }
    }

    /// The body is gone: what is queued is freed, pushes fail from now on.
    pub(crate) fn drop_body(&self) {
        let mut st = self.lock();
        st.dropped = true;
        st.chunks.clear();
        st.queued = 0;
    }
}

impl InboxTx {
    /// Queues `chunk` for the body; `false` if the body is gone.
    pub(crate) fn push(&self, chunk: Chunk) -> bool {
        let mut st = self.0.lock();
        if st.dropped {
            return false;
        }
        if let Chunk::Data(data) = &chunk {
            st.queued += data.len();
        }
        st.chunks.push_back(chunk);
        true
    }

    /// Wakes the body if it waits: once after a batch of pushes, as a
    /// woken body tends to take the core from the connection thread at
    /// once (wake-up preemption), before the next push.
    pub(crate) fn wake(&self) {
        let st = self.0.lock();
        if st.waiting && !st.chunks.is_empty() {
            self.0.cv.notify_one();
        }
    }

    /// True if `limit` bytes or more are queued: the inbox is then marked
    /// stalled, and the body reports when it has taken them all.
    pub(crate) fn over(&self, limit: usize) -> bool {
        let mut st = self.0.lock();
        if st.queued >= limit && !st.dropped {
            st.stalled = true;
        }
        st.stalled
    }
}

impl Drop for InboxTx {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.closed = true;
        if st.waiting {
            self.0.cv.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    fn data(n: usize) -> Chunk {
        Chunk::Data(Bytes::from(vec![0u8; n]))
    }

    fn take_report(inbox: &Inbox) -> bool {
        match inbox.take() {
            Take::Chunk { report, .. } => report,
            Take::Closed => panic!("closed"),
        }
    }

    /// A stalled connection hears from the body once, when the queue it
    /// filled is empty (not once per chunk).
    #[test]
    fn a_stalled_connection_is_told_once_per_emptied_queue() {
        let (tx, inbox) = Inbox::pair();
        for _ in 0..4 {
            assert!(!tx.over(64));
            assert!(tx.push(data(16)));
        }
        assert!(tx.over(64));
        let reports: Vec<bool> = (0..4).map(|_| take_report(&inbox)).collect();
        assert_eq!(reports, [false, false, false, true]);
        assert!(!tx.over(64), "room again");
    }

    /// A connection that never stalled is never told anything.
    #[test]
    fn no_report_without_a_stall() {
        let (tx, inbox) = Inbox::pair();
        for _ in 0..8 {
            assert!(!tx.over(64));
            assert!(tx.push(data(16)));
            assert!(!take_report(&inbox));
        }
    }

    #[test]
    fn dropping_the_sender_ends_a_waiting_take() {
        let (tx, inbox) = Inbox::pair();
        let taker = std::thread::spawn(move || matches!(inbox.take(), Take::Closed));
        drop(tx);
        assert!(taker.join().unwrap_or(false));
    }

    #[test]
    fn a_dropped_body_frees_its_queue_and_refuses_more() {
        let (tx, inbox) = Inbox::pair();
        assert!(tx.push(data(100)));
        inbox.drop_body();
        assert!(!tx.over(50));
        assert!(!tx.push(data(1)));
        assert!(inbox.lock().chunks.is_empty());
    }
}
