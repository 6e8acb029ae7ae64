//! A single-value channel whose sender can wait for the receiver to go
//! away (`poll_closed`): the client uses that to notice a request abandoned
//! before its response. The smol family has no oneshot with that ability
//! (`async-channel` cannot wait for the other side to close), so this is a
//! small mutex-and-wakers one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

struct State<T> {
    value: Option<T>,
    /// The sender is gone (after sending or not).
    tx_gone: bool,
    /// The receiver is gone.
    rx_gone: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No code runs under the lock that could panic and leave it
        // inconsistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sending end.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving end: a future of the value, `Err(Canceled)` if the sender
/// went away without sending.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// The sender was dropped without sending.
#[derive(Debug)]
pub(crate) struct Canceled;

pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            value: None,
            tx_gone: false,
            rx_gone: false,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Sends the value; gives it back if the receiver is gone.
    pub(crate) fn send(self, value: T) -> Result<(), T> {
        let waker = {
            let mut st = self.shared.lock();
            if st.rx_gone {
                return Err(value);
            }
            st.value = Some(value);
            st.rx_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// True once the receiver is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().rx_gone
    }

    /// Ready once the receiver is gone.
    pub(crate) fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.shared.lock();
        if st.rx_gone {
            return Poll::Ready(());
        }
        if !st
            .tx_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            st.tx_waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut st = self.shared.lock();
            st.tx_gone = true;
            st.rx_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.shared.lock();
        if let Some(v) = st.value.take() {
            return Poll::Ready(Ok(v));
        }
        if st.tx_gone {
            return Poll::Ready(Err(Canceled));
        }
        if !st
            .rx_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            st.rx_waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let waker = {
            let mut st = self.shared.lock();
            st.rx_gone = true;
            st.tx_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn value_then_close_notice() {
        let (tx, rx) = channel();
        assert!(!tx.is_closed());
        tx.send(5).unwrap();
        assert_eq!(smol::block_on(rx).unwrap(), 5);

        let (tx, rx) = channel::<u8>();
        drop(tx);
        assert!(smol::block_on(rx).is_err());

        let (mut tx, rx) = channel::<u8>();
        drop(rx);
        assert!(tx.is_closed());
        assert!(smol::block_on(std::future::poll_fn(|cx| tx.poll_closed(cx).map(Some))).is_some());
        assert_eq!(tx.send(1), Err(1));
    }
}
