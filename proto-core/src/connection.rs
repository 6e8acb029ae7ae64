//! The sans-IO [`Connection`]: one per transport connection, either role.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::error::{ErrorCode, UserError};
use crate::event::{Event, StreamId, Version};
use crate::h1::{H1Conn, H2cSwitch};
use crate::h2::H2Conn;
use crate::head::{Fields, RequestHead, ResponseHead};
use crate::time::Instant;
use core::time::Duration;

/// Which end of the connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Sends requests.
    Client,
    /// Receives requests.
    Server,
}

/// How to end a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// Stop taking new requests, finish the exchanges in progress (their
    /// responses carry `Connection: close`), close idle connections at once,
    /// and abort whatever is left after `drain`.
    Graceful {
        /// The longest time to wait for exchanges in progress.
        drain: Duration,
    },
    /// Abort everything now.
    Immediate,
}

/// One step of reading a body with [`StreamMut::read`].
#[derive(Debug, PartialEq, Eq)]
pub enum ReadChunk {
    /// Body bytes (zero-copy slices of the receive buffer).
    Data(Bytes),
    /// Nothing now; a `Readable` event says when there is more.
    Blocked,
    /// The trailer fields that followed the body (RFC 9112 §7.1.2, RFC 9113
    /// §8.1); returned once, after the last `Data` and before `End`.
    Trailers(Fields),
    /// The body is complete.
    End,
    /// The body will not complete: the exchange was reset.
    Reset(ErrorCode),
}

/// A sans-IO HTTP connection.
///
/// # Driving loop
///
/// The owner (an adapter, or your own event loop) repeats, in this order:
///
/// 1. **Time and input**: `handle_timeout(now)` whenever it wakes up (a
///    spurious call only tells the core the time), then [`recv`] (or
///    [`recv_buf`]) with bytes from the transport, or [`recv_eof`] when the
///    peer closed its write side. `recv` may accept fewer bytes than offered:
///    the core is full (backpressure); offer the rest after the application
///    has made progress.
/// 2. **Events**: [`poll_event`] until `None`, acting on each (start handlers,
///    read bodies, ...). Commands may be issued at any point between calls.
/// 3. **Output**: [`poll_transmit`] gives the bytes to write as a gather list;
///    write what the transport takes and report it with
///    [`transmit_complete`]. Short writes are normal.
/// 4. **Timer**: sleep until [`poll_timeout`] (or until input or a command).
///
/// Repeat steps 2 and 3 until both yield nothing before sleeping: writing
/// frees send capacity, which can queue `Writable` events, whose handling
/// queues more output.
///
/// The core has no write timeout: a peer that stops reading leaves output
/// pending (bounded by the send budget). The owner of the transport decides
/// how long a write may stall.
///
/// Once [`Event::Closed`] has been returned and `poll_transmit` is empty,
/// close the transport.
///
/// Commands take no `now`: timers they start are measured from the latest
/// `now` passed to an input call.
///
/// [`recv`]: Connection::recv
/// [`recv_buf`]: Connection::recv_buf
/// [`recv_eof`]: Connection::recv_eof
/// [`poll_event`]: Connection::poll_event
/// [`poll_transmit`]: Connection::poll_transmit
/// [`transmit_complete`]: Connection::transmit_complete
/// [`poll_timeout`]: Connection::poll_timeout
#[derive(Debug)]
pub struct Connection {
    proto: Proto,
}

#[derive(Debug)]
enum Proto {
    // Boxed: the connection's state is large and moved rarely.
    H1(Box<H1Conn>),
    H2(Box<H2Conn>),
    /// Server, [`Protocol::Auto`]: the first bytes decide.
    Sniff(Box<Sniff>),
}

/// A server connection that has not seen enough bytes to choose a protocol.
#[derive(Debug)]
struct Sniff {
    cfg: Arc<Config>,
    /// Accept time: timers of the chosen protocol count from here.
    start: Instant,
    /// The first bytes, while they still match the start of the HTTP/2 preface.
    seen: [u8; SNIFF_LEN],
    len: usize,
}

/// "PRI " never starts a valid HTTP/1.1 request line we would accept (it
/// would carry version HTTP/2.0), so four bytes decide; a corrupted rest of
/// the preface is then an HTTP/2 connection error, not an HTTP/1 request.
const SNIFF_LEN: usize = 4;
const SNIFF: &[u8; SNIFF_LEN] = b"PRI ";

/// Which protocol a new connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// HTTP/1.1 (and 1.0 peers).
    Http1,
    /// HTTP/2 from the first byte: prior knowledge, or ALPN `h2` (RFC 9113 §3.3, §3.4).
    Http2,
    /// Server only: HTTP/2 if the client starts with the connection preface
    /// (prior knowledge, RFC 9113 §3.3), HTTP/1.1 otherwise. A client given
    /// `Auto` speaks HTTP/1.1.
    Auto,
}

/// Calls the same method on whichever protocol the connection speaks.
/// Before the protocol is chosen, `$pending` answers instead.
macro_rules! dispatch {
    ($self:expr, $c:ident => $e:expr, pending => $pending:expr) => {
        match $self {
            Proto::H1($c) => $e,
            Proto::H2($c) => $e,
            Proto::Sniff(_) => $pending,
        }
    };
}

impl Connection {
    /// A new HTTP/1.1 connection, accepted or connected at `now`.
    ///
    /// `config` is a [`Config`] or an `Arc<Config>`: connections given
    /// clones of one `Arc` share it instead of holding a copy each (an
    /// HTTP/2 connection whose settings change copies it then).
    pub fn new(side: Side, config: impl Into<Arc<Config>>, now: Instant) -> Self {
        Self::with_protocol(side, Protocol::Http1, config, now)
    }

    /// A new connection speaking `protocol`, accepted or connected at `now`.
    /// An HTTP/2 client queues the connection preface and SETTINGS at once.
    /// `config` as in [`Connection::new`].
    pub fn with_protocol(
        side: Side,
        protocol: Protocol,
        config: impl Into<Arc<Config>>,
        now: Instant,
    ) -> Self {
        let config = config.into();
        let proto = match (protocol, side) {
            (Protocol::Http2, _) => Proto::H2(Box::new(H2Conn::new(side, config, now))),
            (Protocol::Auto, Side::Server) => Proto::Sniff(Box::new(Sniff {
                cfg: config,
                start: now,
                seen: [0; SNIFF_LEN],
                len: 0,
            })),
            _ => Proto::H1(Box::new(H1Conn::new(side, config, now))),
        };
        Self { proto }
    }

    /// Sniffing: takes the first bytes of `data`; returns how many, and
    /// settles the protocol once they decide (then feeds it what was seen).
    fn sniff(&mut self, now: Instant, data: &[u8]) -> usize {
        let Proto::Sniff(sn) = &mut self.proto else {
            return 0;
        };
        let take = (SNIFF_LEN - sn.len).min(data.len());
        sn.seen[sn.len..sn.len + take].copy_from_slice(&data[..take]);
        sn.len += take;
        let matches = sn.seen[..sn.len] == SNIFF[..sn.len];
        if !matches {
            self.settle(now, Protocol::Http1);
        } else if sn.len == SNIFF_LEN {
            self.settle(now, Protocol::Http2);
        }
        take
    }

    /// Replaces the sniffer with the chosen protocol and replays the bytes.
    fn settle(&mut self, now: Instant, protocol: Protocol) {
        let Proto::Sniff(sn) = &self.proto else {
            return;
        };
        let (start, seen, len) = (sn.start, sn.seen, sn.len);
        let cfg = Arc::clone(&sn.cfg);
        self.proto = match protocol {
            Protocol::Http2 => Proto::H2(Box::new(H2Conn::new(Side::Server, cfg, start))),
            _ => Proto::H1(Box::new(H1Conn::new(Side::Server, cfg, start))),
        };
        self.handle_timeout(now);
        if len > 0 {
            let _ = self.recv(now, &seen[..len]);
        }
    }

    /// This end's role.
    pub fn side(&self) -> Side {
        dispatch!(&self.proto, c => c.side(), pending => Side::Server)
    }

    /// The protocol version in use.
    pub fn version(&self) -> Version {
        match &self.proto {
            Proto::H1(_) | Proto::Sniff(_) => Version::Http11,
            Proto::H2(_) => Version::H2,
        }
    }

    /// Feeds bytes received from the transport; returns how many were taken.
    /// Bytes not taken were not looked at: keep them and offer them again
    /// once [`Connection::wants_read`] is true (after `transmit_complete`
    /// when the core paused for its unsent answers, for instance).
    pub fn recv(&mut self, now: Instant, data: &[u8]) -> usize {
        let sniffed = self.sniff(now, data);
        let rest = data.get(sniffed..).unwrap_or_default();
        let n = sniffed + dispatch!(&mut self.proto, c => c.recv(now, rest), pending => 0);
        self.switch_if_h2c(now);
        n
    }

    /// An HTTP/1 connection that accepted `Upgrade: h2c` continues as HTTP/2.
    fn switch_if_h2c(&mut self, now: Instant) {
        let Proto::H1(c) = &mut self.proto else {
            return;
        };
        let Some(h) = c.take_h2c() else { return };
        let mut h2 = match h.switch {
            H2cSwitch::Server { head, settings } => {
                H2Conn::h2c_server(h.cfg, now, h.tx, head, &settings, h.leftover)
            }
            H2cSwitch::Client { method } => {
                H2Conn::h2c_client(h.cfg, now, h.tx, method, h.leftover)
            }
        };
        h2.prepend_events(h.events);
        self.proto = Proto::H2(Box::new(h2));
    }

    /// Zero-copy variant of [`Connection::recv`]: takes what it accepts from
    /// the front of `buf` without copying when the core's buffer is empty;
    /// what it does not take stays in `buf`.
    pub fn recv_buf(&mut self, now: Instant, buf: &mut BytesMut) {
        if matches!(self.proto, Proto::Sniff(_)) {
            let n = self.sniff(now, buf);
            let _ = buf.split_to(n);
        }
        dispatch!(&mut self.proto, c => c.recv_buf(now, buf), pending => ());
        self.switch_if_h2c(now);
    }

    /// The peer closed its sending side.
    pub fn recv_eof(&mut self, now: Instant) {
        self.settle(now, Protocol::Http1);
        dispatch!(&mut self.proto, c => c.recv_eof(now), pending => ())
    }

    /// Tells the core the time, firing any timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| t <= now) && matches!(self.proto, Proto::Sniff(_)) {
            // Too slow to say anything: HTTP/1 answers the timeout (408).
            self.settle(now, Protocol::Http1);
        }
        dispatch!(&mut self.proto, c => c.handle_timeout(now), pending => ())
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        dispatch!(&mut self.proto, c => c.poll_event(), pending => None)
    }

    /// The bytes owed to the transport, as a gather list (empty: nothing to
    /// send). Report what was written with [`Connection::transmit_complete`].
    #[must_use]
    pub fn poll_transmit(&mut self) -> &[Bytes] {
        dispatch!(&mut self.proto, c => c.poll_transmit(), pending => &[])
    }

    /// The transport accepted the first `n` bytes of `poll_transmit`.
    pub fn transmit_complete(&mut self, n: usize) {
        dispatch!(&mut self.proto, c => c.transmit_complete(n), pending => ())
    }

    /// When to call `handle_timeout` next, if any timer is armed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        dispatch!(&self.proto, c => c.poll_timeout(), pending => match &self.proto {
            Proto::Sniff(sn) => sn.cfg.header_read_timeout.map(|d| sn.start + d),
            _ => None,
        })
    }

    /// Hands back the field storage of a head this connection delivered (a
    /// `Request`, `Response` or `Informational` event's), once the
    /// application is done with it: the next received head is built in it,
    /// so a steady stream of requests parses without allocating. Optional;
    /// the fields are dropped now (their `Bytes` let the receive buffer go),
    /// and up to 16 lists with room for 128 fields in all are kept.
    pub fn recycle_fields(&mut self, fields: Fields) {
        dispatch!(&mut self.proto, c => c.recycle_fields(fields), pending => ())
    }

    /// True once after each idle release: the connection sat idle for
    /// [`Config::idle_release`] (no exchange in progress, every event taken,
    /// everything written) and let go of the storage it keeps between
    /// exchanges. The owner may let go of its own such storage then; ask
    /// after [`handle_timeout`](Connection::handle_timeout), which is where
    /// it happens. No event is queued for it.
    pub fn take_idle_release(&mut self) -> bool {
        dispatch!(&mut self.proto, c => c.take_idle_release(), pending => false)
    }

    /// Bytes of storage kept for reuse between exchanges (tests).
    #[cfg(test)]
    pub(crate) fn kept_storage(&self) -> usize {
        dispatch!(&self.proto, c => c.kept_storage(), pending => 0)
    }

    /// False while the core will not take more input (backpressure, upgrade,
    /// or closed): stop reading the transport until it turns true again.
    pub fn wants_read(&self) -> bool {
        dispatch!(&self.proto, c => c.wants_read(), pending => true)
    }

    /// True once `Closed` has been emitted.
    pub fn is_closed(&self) -> bool {
        dispatch!(&self.proto, c => c.is_closed(), pending => false)
    }

    /// Client: true if [`Connection::send_request`] would open a stream now
    /// (HTTP/1: no exchange in flight and the connection persists; HTTP/2:
    /// under the peer's concurrency limit, no GOAWAY, ids left). Lets a
    /// caller keep its request instead of handing it over to get `Busy`.
    pub fn can_send_request(&self) -> bool {
        dispatch!(&self.proto, c => c.can_send_request(), pending => false)
    }

    /// Client: sends a request head; write the body through `stream(id)`
    /// unless `end_stream`.
    pub fn send_request(
        &mut self,
        head: RequestHead,
        end_stream: bool,
    ) -> Result<StreamId, UserError> {
        dispatch!(&mut self.proto, c => c.send_request(head, end_stream), pending => Err(UserError::WrongSide))
    }

    /// Server: sends the final response head for `id`; write the body through
    /// `stream(id)` unless `end_stream`.
    ///
    /// HTTP/1.1 `Expect: 100-continue`: a final response sent before the
    /// request body was read (or `accept_continue` called) refuses the body
    /// (RFC 9110 §10.1.1) and the connection closes after the response. A
    /// handler that streams its answer while reading the body calls
    /// `accept_continue` (or reads) first.
    pub fn send_response(
        &mut self,
        id: StreamId,
        head: ResponseHead,
        end_stream: bool,
    ) -> Result<(), UserError> {
        dispatch!(&mut self.proto, c => c.send_response(id, head, end_stream), pending => Err(UserError::UnknownStream))
    }

    /// Server: sends an interim response (1xx other than 101, e.g. 103 Early
    /// Hints) before the final one. Skipped for HTTP/1.0 peers (RFC 9110 §15.2).
    pub fn send_informational(
        &mut self,
        id: StreamId,
        head: ResponseHead,
    ) -> Result<(), UserError> {
        dispatch!(&mut self.proto, c => c.send_informational(id, head), pending => Err(UserError::UnknownStream))
    }

    /// Server: sends `100 Continue` now for a request that expects it.
    pub fn accept_continue(&mut self, id: StreamId) -> Result<(), UserError> {
        dispatch!(&mut self.proto, c => c.accept_continue(id), pending => Err(UserError::UnknownStream))
    }

    /// A handle on a live stream, or `None` if it does not exist (any more).
    pub fn stream(&mut self, id: StreamId) -> Option<StreamMut<'_>> {
        match &mut self.proto {
            Proto::H1(c) => c.has_stream(id).then_some(StreamMut {
                conn: StreamConn::H1(c),
                id,
            }),
            Proto::H2(c) => c.has_stream(id).then_some(StreamMut {
                conn: StreamConn::H2(c),
                id,
            }),
            Proto::Sniff(_) => None,
        }
    }

    /// Starts closing the connection.
    pub fn shutdown(&mut self, how: Shutdown) {
        if let Proto::Sniff(sn) = &self.proto {
            // Nothing received yet: HTTP/1 closes an idle connection at once.
            let start = sn.start;
            self.settle(start, Protocol::Http1);
        }
        dispatch!(&mut self.proto, c => c.shutdown(how), pending => ())
    }

    /// HTTP/2: changes our settings mid-connection (RFC 9113 §6.5): the
    /// advertised ones are sent and bind once the peer acknowledges them;
    /// local limits apply at once. Does nothing on HTTP/1.
    pub fn update_settings(&mut self, h2: crate::config::H2Config) {
        if let Proto::H2(c) = &mut self.proto {
            c.update_settings(h2);
        }
    }

    /// HTTP/2: sends a PING; the answer arrives as [`Event::Pong`]. Does
    /// nothing on HTTP/1.
    pub fn ping(&mut self, payload: [u8; 8]) {
        if let Proto::H2(c) = &mut self.proto {
            c.ping(payload);
        }
    }

    /// After [`Event::Upgrade`]: the bytes received past the upgrading
    /// message, which belong to the new protocol. Returns them once.
    pub fn take_upgrade(&mut self, id: StreamId) -> Option<Bytes> {
        dispatch!(&mut self.proto, c => c.take_upgrade(id), pending => None)
    }
}

/// A borrowed handle on one stream of a [`Connection`].
#[derive(Debug)]
pub struct StreamMut<'a> {
    conn: StreamConn<'a>,
    id: StreamId,
}

#[derive(Debug)]
enum StreamConn<'a> {
    H1(&'a mut H1Conn),
    H2(&'a mut H2Conn),
}

macro_rules! dispatch_stream {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            StreamConn::H1($c) => $e,
            StreamConn::H2($c) => $e,
        }
    };
}

impl StreamMut<'_> {
    /// The stream's id.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// Takes the next piece of received body. On a server, the first read of
    /// a request that expects `100-continue` sends it.
    pub fn read(&mut self) -> ReadChunk {
        dispatch_stream!(&mut self.conn, c => c.read(self.id))
    }

    /// How many body bytes `write` is sure to accept now (0: none; wait
    /// for `Writable`). HTTP/1.1 takes more while it is above zero: see
    /// [`write`](Self::write).
    pub fn write_capacity(&self) -> usize {
        dispatch_stream!(&self.conn, c => c.write_capacity(self.id))
    }

    /// Queues the front of `data` (zero-copy) and removes it from `data`;
    /// returns how many bytes were taken. HTTP/2: at most `write_capacity`
    /// (flow-control windows and `Config::send_buffer`). HTTP/1.1: all of
    /// it while `write_capacity` is above zero (a chunk the caller already
    /// holds is not worth cutting: the queue then exceeds `send_buffer` by
    /// at most that chunk, and nothing more is taken until it drains below),
    /// else nothing. When fewer than offered were taken, a `Writable` event
    /// says when to retry.
    pub fn write(&mut self, data: &mut Bytes) -> Result<usize, UserError> {
        dispatch_stream!(&mut self.conn, c => c.write(self.id, data))
    }

    /// Ends the body, with trailer fields if given (chunked bodies only;
    /// otherwise they are dropped, as HTTP/1.1 has nowhere to put them).
    pub fn finish(&mut self, trailers: Option<Fields>) -> Result<(), UserError> {
        dispatch_stream!(&mut self.conn, c => c.finish(self.id, trailers))
    }

    /// Manual flow control (`H2Config::manual_flow_control`): `n` bytes read
    /// from this stream were consumed; HTTP/2 gives that much window back to
    /// the peer (batched). Does nothing in the default automatic mode, where
    /// reading releases, nor on HTTP/1.
    pub fn release(&mut self, n: usize) {
        dispatch_stream!(&mut self.conn, c => c.release(self.id, n));
    }

    /// Abandons the exchange. HTTP/1.1 cannot cancel one exchange alone, so
    /// unless nothing of it was sent yet, the connection closes.
    pub fn reset(&mut self, code: ErrorCode) {
        dispatch_stream!(&mut self.conn, c => c.reset(self.id, code));
    }
}
