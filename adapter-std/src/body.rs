//! Bodies: [`Body`] (received, a blocking `Read`) and [`SendBody`] (sent: all
//! at once, or written through a blocking [`BodyWriter`]).
//!
//! Both directions are bounded. A received body holds at most the
//! connection's `max_recv_buffer` bytes (plus one chunk) that the reader has
//! not taken; past that the connection thread stops reading the stream from
//! the core, which stops reading the socket (HTTP/1) or withholds HTTP/2
//! window. A [`BodyWriter`] may run [`SEND_WINDOW`] bytes ahead of what the
//! core accepted; past that `write` blocks until the peer's flow control and
//! the core's send budget let more go.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;

use crate::driver::{Cmd, Msg};
use crate::inbox::{Chunk, Inbox, Take};

/// How far a [`BodyWriter`] may run ahead of the core, in bytes.
pub const SEND_WINDOW: usize = 64 * 1024;

/// A counting semaphore in bytes, closable: the writer side of a body, and
/// the reader thread's input budget.
#[derive(Debug)]
pub(crate) struct Credit {
    state: Mutex<CreditState>,
    cv: Condvar,
}

#[derive(Debug)]
struct CreditState {
    available: usize,
    closed: bool,
    /// Threads blocked in `acquire`. Waking a condition variable is a
    /// system call even with nobody waiting, and the input budget is
    /// released twice per read: only wake when someone waits.
    waiting: usize,
    /// The least amount a waiting thread needs (`usize::MAX`: none waits):
    /// releases below it wake nobody.
    wake_at: usize,
}

impl Credit {
    pub(crate) fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(CreditState {
                available: n,
                closed: false,
                waiting: 0,
                wake_at: usize::MAX,
            }),
            cv: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, CreditState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes between 1 and `want` bytes of credit, waiting for some; `None`
    /// once closed.
    pub(crate) fn acquire(&self, want: usize) -> Option<usize> {
        self.acquire_at_least(1, want)
    }

    /// Takes between `least` (at least 1) and `want` bytes of credit,
    /// waiting until that much is there; `None` once closed.
    pub(crate) fn acquire_at_least(&self, least: usize, want: usize) -> Option<usize> {
        let least = least.clamp(1, want.max(1));
        let mut st = self.lock();
        loop {
            if st.closed {
                return None;
            }
            if st.available >= least {
                let n = st.available.min(want);
                st.available -= n;
                return Some(n);
            }
            st.waiting += 1;
            st.wake_at = st.wake_at.min(least);
            st = self.cv.wait(st).unwrap_or_else(PoisonError::into_inner);
            st.waiting -= 1;
        }
    }

    /// Takes up to `want` bytes of credit without waiting (0: none left,
    /// or closed).
    pub(crate) fn try_acquire(&self, want: usize) -> usize {
        let mut st = self.lock();
        if st.closed {
            return 0;
        }
        let n = st.available.min(want);
        st.available -= n;
        n
    }

    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut st = self.lock();
        st.available = st.available.saturating_add(n);
        if st.waiting > 0 && st.available >= st.wake_at {
            // Those still short of their amount wait again and say so.
            st.wake_at = usize::MAX;
            self.cv.notify_all();
        }
    }

    /// The credit not taken now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.lock().available
    }

    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        if st.waiting > 0 {
            self.cv.notify_all();
        }
    }
}

/// A received body (request body on a server, response body on a client):
/// a blocking [`Read`].
///
/// `read` blocks until the peer sends more; it returns `Ok(0)` at the end
/// and an error if the exchange was reset or the connection failed.
/// Trailers, if any, are available from [`Body::trailers`] after the end.
/// Dropping a body early tells the connection the rest is not wanted.
///
/// It is also an [`http_body::Body`] (whose `poll_frame` blocks), so that
/// tower services written for async adapters can take it; see
/// [`serve_tower`](crate::serve_tower).
pub struct Body {
    inbox: Option<Arc<Inbox>>,
    cur: Bytes,
    key: u64,
    tx: Option<Sender<Msg>>,
    /// The connection waits for the first read before reading the body
    /// (`100 Continue` is sent then).
    opened: bool,
    done: bool,
    trailers: Option<HeaderMap>,
    size: Option<u64>,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("done", &self.done)
            .field("buffered", &self.cur.len())
            .finish_non_exhaustive()
    }
}

impl Body {
    /// A body with no bytes.
    pub fn empty() -> Self {
        Self {
            inbox: None,
            cur: Bytes::new(),
            key: 0,
            tx: None,
            opened: true,
            done: true,
            trailers: None,
            size: Some(0),
        }
    }

    pub(crate) fn channel(
        inbox: Arc<Inbox>,
        key: u64,
        tx: Sender<Msg>,
        wait_first_read: bool,
        size: Option<u64>,
    ) -> Self {
        Self {
            inbox: Some(inbox),
            cur: Bytes::new(),
            key,
            tx: Some(tx),
            opened: !wait_first_read,
            done: false,
            trailers: None,
            size,
        }
    }

    /// The trailer fields, once the body has been read to the end.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }

    /// The length announced by the peer (`content-length`), if any.
    pub fn size_hint(&self) -> Option<u64> {
        self.size
    }

    /// The next piece of the body without copying: what a partial `read`
    /// left of its piece, else the next piece as it arrived; `Ok(None)` at
    /// the end. Blocks like `read`.
    pub fn chunk(&mut self) -> io::Result<Option<Bytes>> {
        self.next_data()
    }

    /// Reads the whole body into memory.
    pub fn collect(mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_to_end(&mut out)?;
        Ok(out)
    }

    fn cmd(&self, cmd: Cmd) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Cmd(cmd));
        }
    }

    /// The next chunk from the connection (zero-copy), blocking; `Ok(None)`
    /// at the end.
    fn next_data(&mut self) -> io::Result<Option<Bytes>> {
        if !self.cur.is_empty() {
            return Ok(Some(std::mem::take(&mut self.cur)));
        }
        loop {
            if self.done {
                return Ok(None);
            }
            if !self.opened {
                self.opened = true;
                self.cmd(Cmd::Consumed { key: self.key });
            }
            let Some(inbox) = &self.inbox else {
                self.done = true;
                return Ok(None);
            };
            let chunk = match inbox.take() {
                Take::Chunk { chunk, report } => {
                    if report {
                        self.cmd(Cmd::Consumed { key: self.key });
                    }
                    chunk
                }
                Take::Closed => {
                    self.done = true;
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed before the body ended",
                    ));
                }
            };
            match chunk {
                Chunk::Data(data) if !data.is_empty() => return Ok(Some(data)),
                Chunk::Data(_) => {}
                Chunk::Trailers(map) => self.trailers = Some(map),
                Chunk::End => self.done = true,
                Chunk::Error(e) => {
                    self.done = true;
                    return Err(e.into_io());
                }
            }
        }
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.cur.is_empty() {
            match self.next_data()? {
                Some(data) => self.cur = data,
                None => return Ok(0),
            }
        }
        let n = self.cur.len().min(buf.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if let Some(inbox) = &self.inbox {
            inbox.drop_body();
        }
        if !self.done {
            self.cmd(Cmd::BodyDropped { key: self.key });
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    /// Blocks the calling thread until the next frame arrives: meant for
    /// services run by this adapter's `block_on`, one thread per request.
    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        Poll::Ready(match this.next_data() {
            Ok(Some(data)) => Some(Ok(http_body::Frame::data(data))),
            Ok(None) => this
                .trailers
                .take()
                .map(|t| Ok(http_body::Frame::trailers(t))),
            Err(e) => Some(Err(e)),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.cur.is_empty() && self.trailers.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.size.map_or_else(
            http_body::SizeHint::default,
            http_body::SizeHint::with_exact,
        )
    }
}

type WriteFn = Box<dyn FnOnce(&mut BodyWriter) -> io::Result<()> + Send>;

/// A body to send (a response body on a server, a request body on a
/// client): all at once ([`SendBody::from`] bytes, a `Vec`, a string), or
/// streamed by a function that writes into a blocking [`BodyWriter`]
/// ([`SendBody::writer`], [`SendBody::reader`]); either may end with
/// trailer fields ([`SendBody::with_trailers`], [`BodyWriter::set_trailers`]).
pub struct SendBody {
    pub(crate) kind: Kind,
    pub(crate) trailers: Option<HeaderMap>,
}

pub(crate) enum Kind {
    Full(Bytes),
    Stream(WriteFn),
}

impl fmt::Debug for SendBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(b) => f.debug_tuple("SendBody::Full").field(&b.len()).finish(),
            Kind::Stream(_) => f.write_str("SendBody::Stream"),
        }
    }
}

impl Default for SendBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl SendBody {
    /// No body.
    pub fn empty() -> Self {
        Self {
            kind: Kind::Full(Bytes::new()),
            trailers: None,
        }
    }

    /// Sends `trailers` after the body (RFC 9110 §6.5): HTTP/1.1 ends a
    /// chunked body with them (RFC 9112 §7.1.2), so a body with trailers
    /// gets no `content-length`; HTTP/2 sends a trailing HEADERS frame
    /// (RFC 9113 §8.1). A streamed body can set or replace them while
    /// writing ([`BodyWriter::set_trailers`]). Announcing them in a
    /// `trailer` header field is up to the caller. HTTP/1.0 peers get no
    /// trailers (no chunked coding), nor does an HTTP/1.1 response queued
    /// behind a pipelined one.
    #[must_use]
    pub fn with_trailers(mut self, trailers: HeaderMap) -> Self {
        self.trailers = Some(trailers);
        self
    }

    /// A body produced by `f`, called once the head is on its way. It
    /// writes into a [`BodyWriter`] whose `write` blocks while the peer's
    /// flow control (or a slow socket) holds the bytes back; returning `Ok`
    /// ends the body, returning `Err` abandons the exchange (HTTP/2
    /// RST_STREAM; HTTP/1 closes the connection). Without a
    /// `content-length` header the body is chunked (HTTP/1.1).
    ///
    /// Server: `f` runs on the request's pool thread, after the handler
    /// returned. Client: on a thread of its own.
    pub fn writer<F>(f: F) -> Self
    where
        F: FnOnce(&mut BodyWriter) -> io::Result<()> + Send + 'static,
    {
        Self {
            kind: Kind::Stream(Box::new(f)),
            trailers: None,
        }
    }

    /// A body copied from `r` until its end.
    pub fn reader<R: Read + Send + 'static>(mut r: R) -> Self {
        Self::writer(move |w| io::copy(&mut r, w).map(drop))
    }

    /// The exact length, if known and framing the body (bodies given in
    /// full without trailers: those go chunked).
    pub fn len(&self) -> Option<usize> {
        match &self.kind {
            Kind::Full(b) if self.trailers.is_none() => Some(b.len()),
            _ => None,
        }
    }

    /// True for a body given in full with no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl From<Bytes> for SendBody {
    fn from(b: Bytes) -> Self {
        Self {
            kind: Kind::Full(b),
            trailers: None,
        }
    }
}

impl From<Vec<u8>> for SendBody {
    fn from(v: Vec<u8>) -> Self {
        Self::from(Bytes::from(v))
    }
}

impl From<String> for SendBody {
    fn from(s: String) -> Self {
        Self::from(Bytes::from(s))
    }
}

impl From<&'static str> for SendBody {
    fn from(s: &'static str) -> Self {
        Self::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for SendBody {
    fn from(s: &'static [u8]) -> Self {
        Self::from(Bytes::from_static(s))
    }
}

/// Where a streamed [`SendBody`] writes: a blocking [`Write`] that applies
/// the connection's flow control.
///
/// `write` copies; [`BodyWriter::send`] hands over `Bytes` without copying.
/// Errors mean the exchange is over (reset by the peer, connection closed).
pub struct BodyWriter {
    key: u64,
    tx: Sender<Msg>,
    credit: Arc<Credit>,
    trailers: Option<HeaderMap>,
}

impl fmt::Debug for BodyWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyWriter")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the exchange is over")
}

impl BodyWriter {
    pub(crate) fn new(
        key: u64,
        tx: Sender<Msg>,
        credit: Arc<Credit>,
        trailers: Option<HeaderMap>,
    ) -> Self {
        Self {
            key,
            tx,
            credit,
            trailers,
        }
    }

    /// Sends `trailers` when the body ends (the writing function returns
    /// `Ok`), replacing any set before; see [`SendBody::with_trailers`].
    /// Useful for values known only at the end (a checksum, a status).
    pub fn set_trailers(&mut self, trailers: HeaderMap) {
        self.trailers = Some(trailers);
    }

    /// The trailers to finish with, as core fields.
    pub(crate) fn take_trailers(&mut self) -> Option<proto_core::Fields> {
        trailer_fields(self.trailers.take())
    }

    /// Sends `data` without copying, blocking until the connection's flow
    /// control lets all of it be queued.
    pub fn send(&mut self, mut data: Bytes) -> io::Result<()> {
        while !data.is_empty() {
            let n = self.credit.acquire(data.len()).ok_or_else(gone)?;
            let part = data.split_to(n);
            self.tx
                .send(Msg::Cmd(Cmd::Data {
                    key: self.key,
                    data: part,
                }))
                .map_err(|_| gone())?;
        }
        Ok(())
    }
}

impl Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.credit.acquire(buf.len()).ok_or_else(gone)?;
        let data = Bytes::copy_from_slice(&buf[..n]);
        self.tx
            .send(Msg::Cmd(Cmd::Data {
                key: self.key,
                data,
            }))
            .map_err(|_| gone())?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Trailers to send, as core fields (`None` for none or an empty map).
pub(crate) fn trailer_fields(map: Option<HeaderMap>) -> Option<proto_core::Fields> {
    map.filter(|m| !m.is_empty())
        .map(|m| crate::conv::fields(&m, 0))
}

/// Pending body bytes of one stream, handed to the core within its write
/// capacity.
#[derive(Default)]
pub(crate) struct Outbox {
    pub(crate) pending: VecDeque<Bytes>,
    /// The sender is done: finish once `pending` is empty.
    pub(crate) finish: bool,
    /// Sent with the finish.
    pub(crate) trailers: Option<proto_core::Fields>,
}

#[cfg(test)]
mod tests {
    use super::Credit;
    use std::sync::Arc;
    use std::sync::mpsc::{Receiver, channel};
    use std::time::{Duration, Instant};

    /// Bounds the waits below; never a wait for something to happen.
    const GUARD: Duration = Duration::from_secs(5);

    /// A thread blocked in `acquire(10)`; returns once it is counted as
    /// waiting.
    fn blocked_acquire(credit: &Arc<Credit>) -> Receiver<Option<usize>> {
        let (tx, rx) = channel();
        let c = credit.clone();
        std::thread::spawn(move || {
            let _ = tx.send(c.acquire(10));
        });
        let until = Instant::now() + GUARD;
        while credit.lock().waiting == 0 {
            assert!(Instant::now() < until, "the thread never waited");
            std::thread::yield_now();
        }
        rx
    }

    #[test]
    fn release_wakes_a_waiting_acquire() {
        let credit = Credit::new(0);
        let got = blocked_acquire(&credit);
        credit.release(4);
        assert_eq!(got.recv_timeout(GUARD).ok(), Some(Some(4)));
        assert_eq!(credit.lock().waiting, 0);
    }

    #[test]
    fn close_wakes_a_waiting_acquire() {
        let credit = Credit::new(0);
        let got = blocked_acquire(&credit);
        credit.close();
        assert_eq!(got.recv_timeout(GUARD).ok(), Some(None));
    }

    /// The reader thread waits for a whole chunk of input budget: credit
    /// released below the amount asked for leaves it waiting, reaching the
    /// amount hands over all there is (up to what was wanted).
    #[test]
    fn acquire_at_least_waits_for_its_amount() {
        let credit = Credit::new(0);
        let (tx, got) = channel();
        let c = credit.clone();
        std::thread::spawn(move || {
            let _ = tx.send(c.acquire_at_least(10, 20));
        });
        credit.release(4);
        let until = Instant::now() + GUARD;
        while credit.lock().waiting == 0 {
            assert!(Instant::now() < until, "the thread never waited");
            std::thread::yield_now();
        }
        credit.release(5);
        assert!(got.recv_timeout(Duration::from_millis(20)).is_err());
        assert_eq!(credit.lock().waiting, 1, "9 of 10 is not enough");
        credit.release(3);
        assert_eq!(got.recv_timeout(GUARD).ok(), Some(Some(12)));
        assert_eq!(credit.available(), 0);
    }

    #[test]
    fn acquire_and_try_acquire_take_what_is_there() {
        let credit = Credit::new(15);
        assert_eq!(credit.acquire(10), Some(10));
        assert_eq!(credit.try_acquire(10), 5);
        assert_eq!(credit.try_acquire(10), 0);
        credit.release(3);
        assert_eq!(credit.acquire(10), Some(3));
        credit.close();
        assert_eq!(credit.try_acquire(1), 0);
        assert_eq!(credit.acquire(1), None);
    }
}
