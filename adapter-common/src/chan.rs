//! An unbounded multi-producer, single-consumer queue: the command channel
//! from stream handles to their connection task.
//!
//! Lighter than tokio's `mpsc::unbounded_channel` where it matters here,
//! memory per connection: one small allocation, and a queue that grows only
//! when something is sent (a server connection whose handlers answer inline
//! sends nothing). tokio's allocates a block of 32 slots up front, about
//! 2 KiB per connection with `Cmd`, kept for the connection's life.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Live [`Sender`]s: at zero, the receiver sees the end once the queue
    /// is empty.
    senders: AtomicUsize,
}

struct State<T> {
    queue: VecDeque<T>,
    /// The receiver, waiting.
    waker: Option<Waker>,
    /// The receiver closed or went away: sends fail.
    closed: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding the lock leaves the queue consistent (every
        // critical section is a single push, pop or flag change).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Creates a channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            waker: None,
            closed: false,
        }),
        senders: AtomicUsize::new(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The sending half; cheap to clone.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open (see [`Sender::downgrade`]).
pub struct WeakSender<T> {
    shared: Weak<Shared<T>>,
}

/// The receiving half.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// The receiver is gone (or closed): the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// Why [`Receiver::try_recv`] returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing queued now.
    Empty,
    /// Nothing queued, and every sender is gone.
    Disconnected,
}

impl<T> Sender<T> {
    /// Queues `value`, waking the receiver; fails if the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let waker = {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(SendError(value));
            }
            state.queue.push_back(value);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// True once the receiver is gone (or closed).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// A sender that does not count towards keeping the channel open.
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            shared: Arc::downgrade(&self.shared),
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // The last one: the receiver, if waiting, learns the end. It checks
        // the count under the lock, so taking the waker under the lock after
        // the decrement cannot miss it.
        let waker = self.shared.lock().waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> WeakSender<T> {
    /// A sender again, unless every sender (or the whole channel) is gone.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let shared = self.shared.upgrade()?;
        let mut count = shared.senders.load(Ordering::Relaxed);
        loop {
            if count == 0 {
                return None;
            }
            match shared.senders.compare_exchange_weak(
                count,
                count + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(Sender { shared }),
                Err(now) => count = now,
            }
        }
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Receiver<T> {
    /// The next value; `None` once every sender is gone and the queue is
    /// empty.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.shared.lock();
        if let Some(value) = state.queue.pop_front() {
            return Poll::Ready(Some(value));
        }
        if self.shared.senders.load(Ordering::Acquire) == 0 {
            return Poll::Ready(None);
        }
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Waits for the next value (see [`Receiver::poll_recv`]).
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next value if one is queued.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.shared.lock();
        match state.queue.pop_front() {
            Some(value) => Ok(value),
            None if self.shared.senders.load(Ordering::Acquire) == 0 => {
                Err(TryRecvError::Disconnected)
            }
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuses further sends; what is queued can still be received.
    pub fn close(&mut self) {
        self.shared.lock().closed = true;
    }

    /// Lets go of the queue's storage if nothing is queued (an idle
    /// connection: it grows again on the next send).
    pub fn release_idle(&mut self) {
        let mut state = self.shared.lock();
        if state.queue.is_empty() {
            state.queue = VecDeque::new();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Queued values (which may hold other channels' senders) are dropped
        // now, not when the last sender goes.
        let queued = {
            let mut state = self.shared.lock();
            state.closed = true;
            state.waker = None;
            std::mem::take(&mut state.queue)
        };
        drop(queued);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn order_close_and_end() {
        let (tx, mut rx) = channel();
        let tx2 = tx.clone();
        tx.send(1).unwrap();
        tx2.send(2).unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.send(3).unwrap();
        rx.close();
        assert!(tx.is_closed());
        assert_eq!(tx.send(4), Err(SendError(4)));
        assert_eq!(rx.try_recv(), Ok(3), "queued before the close");
        drop((tx, tx2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[tokio::test]
    async fn wakes_on_send_and_on_last_drop() {
        let (tx, mut rx) = channel::<u32>();
        let weak = tx.downgrade();
        let task = tokio::spawn(async move {
            let first = rx.recv().await;
            let end = rx.recv().await;
            (first, end)
        });
        tokio::task::yield_now().await;
        let again = weak.upgrade().unwrap();
        again.send(7).unwrap();
        drop((tx, again));
        assert!(weak.upgrade().is_none(), "no sender left to revive");
        assert_eq!(task.await.unwrap(), (Some(7), None));
    }

    #[test]
    fn release_idle_lets_go_of_an_empty_queue_only() {
        let (tx, mut rx) = channel();
        tx.send(1).unwrap();
        rx.release_idle();
        assert!(rx.shared.lock().queue.capacity() > 0, "something is queued");
        assert_eq!(rx.try_recv(), Ok(1));
        rx.release_idle();
        assert_eq!(rx.shared.lock().queue.capacity(), 0);
        tx.send(2).unwrap();
        assert_eq!(rx.try_recv(), Ok(2), "grows again on use");
    }

    #[test]
    fn dropping_the_receiver_drops_what_is_queued() {
        let (tx, rx) = channel();
        let item = Arc::new(());
        tx.send(item.clone()).unwrap();
        drop(rx);
        assert_eq!(Arc::strong_count(&item), 1);
        assert!(tx.send(item).is_err());
    }
}
