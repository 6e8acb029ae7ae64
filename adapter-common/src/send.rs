//! Sending bodies: head conversion, the fast path for bodies that are ready
//! at once, and the pump that feeds streaming bodies to the connection task
//! within a bounded window.
//!
//! Window: a pump may have at most [`SEND_WINDOW`] bytes handed to the
//! connection task and not yet taken by the core (`write` within its
//! `write_capacity`). The pump adds to `inflight` before sending a chunk;
//! the connection task subtracts what the core took and, when that crosses
//! back under the window, wakes the pump through a `Notify` (which keeps a
//! permit, so a wake between the pump's check and its wait is not lost).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;

use bytes::{Buf, Bytes};
use http_body::Body;
use proto_core::Fields;
use tokio::sync::Notify;

use crate::cmd::{Cmd, CmdTx};
use crate::conv::fields;
use crate::error::{BoxError, Error};

/// Most body bytes a pump may have queued in the connection task.
pub const SEND_WINDOW: usize = 64 * 1024;

/// Flow control between a body pump and the connection task.
#[derive(Debug)]
pub struct SendCredit {
    inflight: AtomicUsize,
    closed: AtomicBool,
    notify: Notify,
}

impl SendCredit {
    /// A credit with `initial` bytes already counted (those sent with the
    /// head).
    pub fn new(initial: usize) -> Arc<Self> {
        Arc::new(Self {
            inflight: AtomicUsize::new(initial),
            closed: AtomicBool::new(false),
            notify: Notify::new(),
        })
    }

    fn add(&self, n: usize) {
        self.inflight.fetch_add(n, Ordering::AcqRel);
    }

    /// The core took `n` counted bytes.
    pub fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let prev = self.inflight.fetch_sub(n, Ordering::AcqRel);
        if prev >= SEND_WINDOW && prev.saturating_sub(n) < SEND_WINDOW {
            self.notify.notify_one();
        }
    }

    /// The stream is gone: the pump should stop.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// Waits for room; false once the stream is gone.
    async fn wait_room(&self) -> bool {
        loop {
            if self.closed.load(Ordering::Acquire) {
                return false;
            }
            if self.inflight.load(Ordering::Acquire) < SEND_WINDOW {
                return true;
            }
            self.notify.notified().await;
        }
    }
}

/// What a body yielded on its first poll.
pub struct First {
    /// The bytes of the first data frame (empty if none was ready).
    pub data: Bytes,
    /// The body ended (after `data` and `trailers`).
    pub end: bool,
    /// The trailers, if the first frame was a trailers frame.
    pub trailers: Option<Fields>,
    /// The body failed on its first poll.
    pub error: Option<BoxError>,
}

impl First {
    fn end() -> Self {
        Self {
            data: Bytes::new(),
            end: true,
            trailers: None,
            error: None,
        }
    }
}

fn into_bytes<D: Buf>(mut d: D) -> Bytes {
    let n = d.remaining();
    d.copy_to_bytes(n)
}

/// Polls `body` once (without waiting): a body that is ready at once (a
/// `Full`, a `String`, an empty body) is complete after this, and can go
/// out with its head as one command.
pub async fn first_part<B>(mut body: Pin<&mut B>) -> First
where
    B: Body,
    B::Error: Into<BoxError>,
{
    if body.is_end_stream() {
        return First::end();
    }
    let polled = poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await;
    match polled {
        Poll::Pending => First {
            data: Bytes::new(),
            end: false,
            trailers: None,
            error: None,
        },
        Poll::Ready(None) => First::end(),
        Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
            Ok(d) => {
                let data = into_bytes(d);
                First {
                    data,
                    end: body.is_end_stream(),
                    trailers: None,
                    error: None,
                }
            }
            Err(frame) => match frame.into_trailers() {
                Ok(t) => First {
                    data: Bytes::new(),
                    end: true,
                    trailers: Some(fields(&t, 0)),
                    error: None,
                },
                Err(_) => First {
                    data: Bytes::new(),
                    end: false,
                    trailers: None,
                    error: None,
                },
            },
        },
        Poll::Ready(Some(Err(e))) => First {
            data: Bytes::new(),
            end: true,
            trailers: None,
            error: Some(e.into()),
        },
    }
}

/// Feeds the rest of `body` to the connection task, waiting for room in the
/// window before polling for more.
pub async fn pump<B>(mut body: Pin<&mut B>, key: u64, tx: &CmdTx, credit: &SendCredit)
where
    B: Body,
    B::Error: Into<BoxError>,
{
    loop {
        if !credit.wait_room().await {
            return;
        }
        match poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            None => {
                let _ = tx.send(Cmd::Finish {
                    key,
                    trailers: None,
                });
                return;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(d) => {
                    let data = into_bytes(d);
                    if !data.is_empty() {
                        credit.add(data.len());
                        if tx.send(Cmd::Data { key, data }).is_err() {
                            return;
                        }
                    }
                    if body.is_end_stream() {
                        let _ = tx.send(Cmd::Finish {
                            key,
                            trailers: None,
                        });
                        return;
                    }
                }
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        let _ = tx.send(Cmd::Finish {
                            key,
                            trailers: Some(fields(&t, 0)),
                        });
                        return;
                    }
                }
            },
            Some(Err(e)) => {
                let e: BoxError = e.into();
                tracing::debug!(error = %e, "body failed");
                let _ = tx.send(Cmd::Abort {
                    key,
                    error: Some(Error::Body(e)),
                });
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http_body_util::{Empty, Full};

    #[tokio::test]
    async fn first_part_of_ready_and_streaming_bodies() {
        let mut full = Full::new(Bytes::from_static(b"Hello"));
        let f = first_part(Pin::new(&mut full)).await;
        assert!(f.end);
        assert_eq!(f.data, "Hello");
        let mut empty = Empty::<Bytes>::new();
        assert!(first_part(Pin::new(&mut empty)).await.end);
        let mut pending = NeverReady;
        let f = first_part(Pin::new(&mut pending)).await;
        assert!(!f.end && f.data.is_empty());
    }

    /// A body that is never ready.
    struct NeverReady;

    impl Body for NeverReady {
        type Data = Bytes;
        type Error = Error;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
            Poll::Pending
        }
    }
}
