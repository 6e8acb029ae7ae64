//! The first poll of a request's handler future, in a box kept per thread.
//!
//! The server polls each request's handler once on the connection task; one
//! that is still pending moves to a task of its own, so it must be boxed
//! (pinned) from the start. Most handlers answer within that first poll,
//! and then the box was freed right away: an allocation and a free of a
//! large block (the future holds the request, the service and its
//! future) on every request. The box of a future that finished is kept
//! here for the next one of the same type on this thread, which is built
//! in place (`Pin::set`); only a future that goes on to a task takes its
//! box along.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::Poll;

thread_local! {
    /// A finished future's box: a `Pin<Box<F>>` of some handler future
    /// type `F`, boxed once more to be stored without naming `F`.
    static SPARE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// How a first poll went.
pub enum FirstPoll<F: Future> {
    /// Finished; its box stays on this thread for the next future.
    Ready(F::Output),
    /// Not finished: the boxed future, for a task to own.
    Pending(Pin<Box<F>>),
    /// `poll` panicked; the future is dropped.
    Panicked,
}

/// Pins `fut` in this thread's spare box (or a new one if there is none of
/// its type) and calls `poll` on it once, catching a panic.
pub fn first_poll<F: Future + 'static>(
    fut: F,
    poll: impl FnOnce(Pin<&mut F>) -> Poll<F::Output>,
) -> FirstPoll<F> {
    let kept = SPARE
        .try_with(|spare| spare.try_borrow_mut().ok()?.take())
        .ok()
        .flatten()
        .and_then(|b| b.downcast::<Pin<Box<F>>>().ok());
    // The spare is out of the thread-local while `poll` runs: a handler
    // that serves another request from inside its poll gets a box of its own.
    let mut boxed = match kept {
        Some(mut b) => {
            b.set(fut);
            b
        }
        None => Box::new(Box::pin(fut)),
    };
    match catch_unwind(AssertUnwindSafe(|| poll((*boxed).as_mut()))) {
        Ok(Poll::Ready(out)) => {
            let _ = SPARE.try_with(|spare| {
                if let Ok(mut spare) = spare.try_borrow_mut() {
                    *spare = Some(boxed);
                }
            });
            FirstPoll::Ready(out)
        }
        Ok(Poll::Pending) => FirstPoll::Pending(*boxed),
        Err(_) => FirstPoll::Panicked,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::future::{poll_fn, ready};
    use std::task::{Context, Waker};

    use super::*;

    fn poll_now<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// Address of the future's box (where `poll` sees it).
    fn run<F: Future + 'static>(fut: F) -> (usize, FirstPoll<F>) {
        let mut at = 0;
        let polled = first_poll(fut, |f| {
            at = std::ptr::from_ref(&*f) as usize;
            poll_now(f)
        });
        (at, polled)
    }

    async fn answer(n: u32) -> u32 {
        ready(n).await + 1
    }

    #[test]
    fn a_finished_futures_box_holds_the_next_one() {
        let (first, p) = run(answer(1));
        assert!(matches!(p, FirstPoll::Ready(2)));
        for n in 2..10 {
            let (at, p) = run(answer(n));
            assert!(matches!(p, FirstPoll::Ready(out) if out == n + 1));
            assert_eq!(at, first, "request {n} got a new box");
        }
    }

    #[test]
    fn a_pending_future_takes_its_box_along() {
        let (first, _) = run(answer(1));
        let mut polls = 0;
        let slow = poll_fn(move |_| {
            polls += 1;
            if polls < 2 {
                Poll::Pending
            } else {
                Poll::Ready(7)
            }
        });
        // A different future type: the spare (an `answer`'s) is not used.
        let (at, p) = run(slow);
        assert_ne!(at, first);
        let FirstPoll::Pending(mut fut) = p else {
            panic!("finished on its first poll");
        };
        assert_eq!(
            std::ptr::from_ref(&*fut) as usize,
            at,
            "moved out of its box"
        );
        assert_eq!(poll_now(fut.as_mut()), Poll::Ready(7));
        // The spare went with the other type: the next `answer` boxes anew.
        let (_, p) = run(answer(3));
        assert!(matches!(p, FirstPoll::Ready(4)));
    }

    #[test]
    fn a_panic_is_caught_and_its_future_dropped() {
        let boom = async {
            if std::hint::black_box(true) {
                panic!("handler bug");
            }
        };
        assert!(matches!(run(boom).1, FirstPoll::Panicked));
        let (_, p) = run(answer(5));
        assert!(matches!(p, FirstPoll::Ready(6)));
    }
}
