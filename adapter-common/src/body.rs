//! [`Incoming`]: a received body, fed by the connection task with bounded
//! buffering.
//!
//! The connection task reads body chunks from the core and pushes them into
//! an unbounded channel while fewer than `limit` bytes are in flight (sent
//! but not yet taken by the consumer). Past that it stops reading the
//! stream, so the core stops reading the socket, and it raises `stalled`.
//! The consumer, on taking a chunk, lowers the in-flight count; if that makes
//! room and `stalled` was raised, it sends one `ReadCredit` command to wake
//! the connection task. Both sides use `SeqCst` on `inflight` and `stalled`
//! so that one of them always sees the other's update (no lost wake-up).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::cmd::{Cmd, CmdTx};
use crate::error::Error;

type Item = Result<Frame<Bytes>, Error>;

/// A request body (server) or response body (client) as it arrives.
///
/// Implements [`http_body::Body`] with `Data = Bytes` (zero-copy slices of
/// the receive buffer). Trailers come as a trailers frame after the data.
/// Dropping it early is fine: the connection discards or refuses the rest.
pub struct Incoming {
    inner: Inner,
}

enum Inner {
    Empty,
    Chan(Box<Chan>),
}

struct Chan {
    rx: mpsc::UnboundedReceiver<Item>,
    shared: Arc<RecvShared>,
    cmd: CmdTx,
    key: u64,
    /// Declared `content-length` not yet received, if any.
    remaining: Option<u64>,
    /// Ask the connection to start reading on the first poll (a request
    /// that expects `100 Continue` gets it only once the body is wanted).
    notify_first_poll: bool,
    done: bool,
}

struct RecvShared {
    inflight: AtomicUsize,
    stalled: AtomicBool,
    limit: usize,
}

/// The connection task's end of an [`Incoming`].
pub struct BodyTx {
    tx: mpsc::UnboundedSender<Item>,
    shared: Arc<RecvShared>,
}

/// A body fed through a channel by the connection task: `key` names the
/// stream in the commands the body sends on `cmd`; `content_length` is the
/// declared length (the size hint); with `notify_first_poll` the body asks
/// for reading to start on its first poll; `limit` is the receive window.
pub fn channel(
    key: u64,
    cmd: CmdTx,
    content_length: Option<u64>,
    notify_first_poll: bool,
    limit: usize,
) -> (Incoming, BodyTx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(RecvShared {
        inflight: AtomicUsize::new(0),
        stalled: AtomicBool::new(false),
        limit: limit.max(1),
    });
    let chan = Chan {
        rx,
        shared: shared.clone(),
        cmd,
        key,
        remaining: content_length,
        notify_first_poll,
        done: false,
    };
    (
        Incoming {
            inner: Inner::Chan(Box::new(chan)),
        },
        BodyTx { tx, shared },
    )
}

impl Default for Incoming {
    /// A body with no bytes.
    fn default() -> Self {
        Self {
            inner: Inner::Empty,
        }
    }
}

impl fmt::Debug for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Empty => f.write_str("Incoming(empty)"),
            Inner::Chan(c) => f
                .debug_struct("Incoming")
                .field("remaining", &c.remaining)
                .field("done", &c.done)
                .finish(),
        }
    }
}

impl Chan {
    fn took(&mut self, n: usize) {
        if let Some(rem) = &mut self.remaining {
            *rem = rem.saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
        }
        let prev = self.shared.inflight.fetch_sub(n, SeqCst);
        if prev.saturating_sub(n) < self.shared.limit && self.shared.stalled.swap(false, SeqCst) {
            let _ = self.cmd.send(Cmd::ReadCredit { key: self.key });
        }
    }
}

impl Body for Incoming {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let chan = match &mut self.get_mut().inner {
            Inner::Empty => return Poll::Ready(None),
            Inner::Chan(c) => c,
        };
        if chan.done {
            return Poll::Ready(None);
        }
        if chan.notify_first_poll {
            chan.notify_first_poll = false;
            let _ = chan.cmd.send(Cmd::ReadCredit { key: chan.key });
        }
        match chan.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    chan.took(data.len());
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                chan.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                chan.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Empty => true,
            Inner::Chan(c) => c.done,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Empty => SizeHint::with_exact(0),
            Inner::Chan(c) if c.done => SizeHint::with_exact(0),
            Inner::Chan(c) => c
                .remaining
                .map_or_else(SizeHint::default, SizeHint::with_exact),
        }
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Inner::Chan(c) = &self.inner {
            if !c.done {
                let _ = c.cmd.send(Cmd::BodyDropped { key: c.key });
            }
        }
    }
}

impl BodyTx {
    /// True while the consumer has room for more.
    pub fn has_room(&self) -> bool {
        self.shared.inflight.load(SeqCst) < self.shared.limit
    }

    /// Called when there is no room: raises `stalled`, then checks again.
    /// Returns true if the caller must wait for a `ReadCredit`.
    pub fn stall(&self) -> bool {
        self.shared.stalled.store(true, SeqCst);
        if self.has_room() {
            self.shared.stalled.store(false, SeqCst);
            false
        } else {
            true
        }
    }

    /// Sends data; false if the consumer is gone.
    pub fn send_data(&self, data: Bytes) -> bool {
        let n = data.len();
        self.shared.inflight.fetch_add(n, SeqCst);
        if self.tx.send(Ok(Frame::data(data))).is_err() {
            self.shared.inflight.fetch_sub(n, SeqCst);
            return false;
        }
        true
    }

    /// Sends the trailers (after the data).
    pub fn send_trailers(&self, trailers: HeaderMap) {
        let _ = self.tx.send(Ok(Frame::trailers(trailers)));
    }

    /// Ends the body with an error.
    pub fn send_error(&self, e: Error) {
        let _ = self.tx.send(Err(e));
    }

    #[cfg(test)]
    fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn stall_and_credit() {
        let (cmd_tx, mut cmd_rx) = crate::cmd::channel();
        let (mut body, tx) = channel(7, cmd_tx, Some(6), false, 4);
        assert_eq!(body.size_hint().exact(), Some(6));
        assert!(tx.send_data(Bytes::from_static(b"abcd")));
        assert!(!tx.has_room());
        assert!(tx.stall());
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "abcd");
        assert!(matches!(cmd_rx.try_recv(), Ok(Cmd::ReadCredit { key: 7 })));
        assert!(tx.has_room());
        assert!(tx.send_data(Bytes::from_static(b"ef")));
        drop(tx);
        let rest = body.collect().await.unwrap().to_bytes();
        assert_eq!(rest, "ef");
        assert!(
            cmd_rx.try_recv().is_err(),
            "no credit without a stall, no drop notice after the end"
        );
    }

    #[tokio::test]
    async fn early_drop_is_reported() {
        let (cmd_tx, mut cmd_rx) = crate::cmd::channel();
        let (body, tx) = channel(3, cmd_tx, None, true, 16);
        drop(body);
        assert!(tx.is_closed());
        assert!(matches!(cmd_rx.try_recv(), Ok(Cmd::BodyDropped { key: 3 })));
    }
}
