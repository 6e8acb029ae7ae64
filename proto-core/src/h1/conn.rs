//! The HTTP/1.1 connection state machine (RFC 9112 §9), both roles.
//!
//! Reading is sequential: a head, then its body, then the next head. The
//! exchanges live in `streams`, oldest first; responses leave strictly in
//! that order (pipelining, RFC 9112 §9.3.2). The send side is in `send.rs`.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::chunked::{ChunkedDecoder, Decoded};
use super::framing::{self, BodyKind};
use super::hints::Hints;
use super::parse;
use super::stream::{Continue, RecvState, SendState, Stream};
use crate::config::Config;
use crate::connection::{ReadChunk, Side};
use crate::error::{CloseReason, ErrorCode, PeerError};
use crate::event::{Event, StreamId, TimerKind, UpgradeKind, Version};
use crate::h2::{frame, h2c};
use crate::head::{Fields, SpareFields};
use crate::head::{Method, RequestHead, ResponseHead};
use crate::input;
use crate::time::Instant;
use crate::timer::Timers;
use crate::transmit::TxQueue;

/// The smallest receive buffer, whatever the head limit.
const MIN_READ_BUFFER: usize = 16 * 1024;

/// What the reader is doing.
#[derive(Debug)]
pub(super) enum Reading {
    /// Waiting for a message head (server: a request; client: the response
    /// to the front exchange).
    Head,
    /// Receiving the body of `id`.
    Body { id: StreamId, decoder: Decoder },
    /// Not reading any more: closing, closed, or upgraded.
    Done,
}

/// How the body being received is delimited.
#[derive(Debug)]
pub(super) enum Decoder {
    /// Invariant: `remaining > 0`.
    Length(u64),
    Chunked(ChunkedDecoder),
    /// Close-delimited response body (client).
    UntilEof,
}

/// See the module docs and `crate::Connection` for the contract.
#[derive(Debug)]
pub(crate) struct H1Conn {
    pub(super) side: Side,
    /// Shared with the other connections made from the same `Config`.
    pub(super) cfg: Arc<Config>,
    /// The latest time passed in; commands stamp timers with it.
    pub(super) now: Instant,
    /// Server, `min_body_rate`: when the current measuring window started
    /// and `body_got` then. A window restarts whenever the body-read timer
    /// is armed afresh (body start, or the application reading again after
    /// it lagged: time the peer could not send in is not held against it).
    pub(super) rate_window: Option<(Instant, u64)>,
    /// Request body bytes received on this connection.
    pub(super) body_got: u64,
    /// Received bytes not yet parsed; invariant: `len() <= read_cap`.
    pub(super) rbuf: BytesMut,
    /// How far the checks got in an incomplete head at the start of `rbuf`
    /// (only heads are taken from `rbuf` while one is awaited, so it stays
    /// in step; a returned head or an error resets it).
    pub(super) head_scan: parse::HeadScan,
    /// Storage of heads sent and of heads the application handed back
    /// (`recycle_fields`): received heads are built in it.
    pub(super) spare_fields: SpareFields,
    pub(super) read_cap: usize,
    pub(super) reading: Reading,
    /// Open exchanges, oldest first. Server: at most `max_pipelined`;
    /// client: at most one.
    pub(super) streams: VecDeque<Stream>,
    pub(super) next_id: u32,
    pub(super) events: VecDeque<Event>,
    pub(super) tx: TxQueue,
    pub(super) timers: Timers,
    /// False once the connection must close after the exchanges in progress.
    pub(super) keep_alive: bool,
    pub(super) shutting_down: bool,
    /// Server: a peer error found while earlier responses are still going
    /// out; answered once they are done. Boxed: rare.
    pub(super) pending_error: Option<Box<PeerError>>,
    pub(super) eof: bool,
    pub(super) closed: bool,
    /// The idle release let go of the kept storage; cleared when the owner
    /// is told (`take_idle_release`).
    pub(super) idle_released: bool,
    /// After an upgrade: its exchange and the bytes that followed it. Boxed:
    /// rare, and 40 bytes that every connection would carry otherwise.
    pub(super) upgrade: Option<Box<(StreamId, Bytes)>>,
    /// Client: the request in flight offered `Upgrade: h2c`.
    pub(super) h2c_offered: bool,
    /// An accepted h2c upgrade, waiting for `Connection` to switch. Boxed:
    /// rare, and 240 bytes that every connection would carry otherwise.
    pub(super) h2c: Option<Box<H2cSwitch>>,
    /// A retired exchange's emptied body queue, for the next body (so a
    /// keep-alive connection does not allocate one per message).
    pub(super) spare_queue: VecDeque<Bytes>,
    /// Server: the last response head sent, to send again from a copy
    /// (boxed: most of a connection's life it is idle or not a server).
    pub(super) last_head: Option<Box<super::repeat::LastHead>>,
}

/// What an h2c upgrade hands to the HTTP/2 connection.
#[derive(Debug)]
pub(crate) enum H2cSwitch {
    /// Server: the upgrading request and its `HTTP2-Settings`.
    Server {
        head: RequestHead,
        settings: frame::Settings,
    },
    /// Client: our request's method (it becomes stream 1).
    Client { method: Method },
}

/// Everything an HTTP/1 connection passes on when it becomes HTTP/2.
#[derive(Debug)]
pub(crate) struct H2cHandover {
    pub(crate) switch: H2cSwitch,
    pub(crate) cfg: Arc<Config>,
    pub(crate) tx: TxQueue,
    pub(crate) leftover: BytesMut,
    pub(crate) events: VecDeque<Event>,
}

impl H1Conn {
    pub(crate) fn new(side: Side, cfg: Arc<Config>, now: Instant) -> Self {
        // A head or a trailer section must fit whole before it can be parsed.
        let read_cap = cfg
            .max_head_bytes
            .max(cfg.max_trailer_bytes)
            .saturating_add(1)
            .max(MIN_READ_BUFFER);
        let mut conn = Self {
            side,
            keep_alive: cfg.keep_alive,
            cfg,
            now,
            rate_window: None,
            body_got: 0,
            rbuf: BytesMut::new(),
            head_scan: parse::HeadScan::default(),
            spare_fields: SpareFields::new(),
            read_cap,
            reading: Reading::Head,
            streams: VecDeque::new(),
            next_id: 1,
            events: VecDeque::new(),
            tx: TxQueue::default(),
            timers: Timers::default(),
            shutting_down: false,
            pending_error: None,
            eof: false,
            closed: false,
            idle_released: false,
            upgrade: None,
            h2c_offered: false,
            h2c: None,
            spare_queue: VecDeque::new(),
            last_head: None,
        };
        conn.events.push_back(Event::Negotiated {
            version: Version::Http11,
        });
        conn.arm(TimerKind::IdleRelease, conn.cfg.idle_release);
        match side {
            // Slowloris: the first head must arrive in time, counted from accept.
            Side::Server => conn.arm(TimerKind::HeaderRead, conn.cfg.header_read_timeout),
            Side::Client => conn.arm(TimerKind::Idle, conn.cfg.idle_timeout),
        }
        conn
    }

    pub(crate) fn side(&self) -> Side {
        self.side
    }

    pub(super) fn arm(&mut self, kind: TimerKind, after: Option<core::time::Duration>) {
        match after {
            Some(d) => self.timers.set(kind, self.now + d),
            None => self.timers.stop(kind),
        }
    }

    /// Arms the body-read timer: `body_read_timeout` of silence, or (server)
    /// the moment the body falls below `min_body_rate`, whichever is first.
    /// `restart`: a new measuring window starts now.
    pub(super) fn arm_body_read(&mut self, restart: bool) {
        let silence = self.cfg.body_read_timeout.map(|d| self.now + d);
        let rate = self
            .cfg
            .min_body_rate
            .filter(|r| r.bytes_per_second > 0 && self.side == Side::Server);
        if restart || rate.is_none() {
            self.rate_window = rate.map(|_| (self.now, self.body_got));
        }
        let too_slow = match (rate, self.rate_window) {
            (Some(r), Some((start, base))) => {
                // The window's bytes are worth this much time at the rate.
                let got = self.body_got.saturating_sub(base);
                let covered = got.saturating_mul(1_000_000_000) / u64::from(r.bytes_per_second);
                Some(start + r.grace + core::time::Duration::from_nanos(covered))
            }
            _ => None,
        };
        match silence.into_iter().chain(too_slow).min() {
            Some(at) => self.timers.set(TimerKind::BodyRead, at),
            None => self.timers.stop(TimerKind::BodyRead),
        }
    }

    // ---- input -------------------------------------------------------------

    pub(crate) fn wants_read(&self) -> bool {
        !self.closed && !matches!(self.reading, Reading::Done) && self.rbuf.len() < self.read_cap
    }

    pub(crate) fn recv(&mut self, now: Instant, data: &[u8]) -> usize {
        self.now = now;
        if !self.wants_read() {
            return 0;
        }
        let n = input::append_slice(&mut self.rbuf, self.read_cap, data);
        self.process();
        n
    }

    pub(crate) fn recv_buf(&mut self, now: Instant, buf: &mut BytesMut) {
        self.now = now;
        if !self.wants_read() || buf.is_empty() {
            return;
        }
        let cap = self.read_cap;
        input::append_buf(&mut self.rbuf, cap, buf);
        self.process();
        input::release_spent(&mut self.rbuf);
    }

    pub(crate) fn recv_eof(&mut self, now: Instant) {
        self.now = now;
        if self.closed || self.eof {
            return;
        }
        self.eof = true;
        match &self.reading {
            Reading::Head => {
                let awaiting_response = self.side == Side::Client
                    && self
                        .streams
                        .front()
                        .is_some_and(|s| s.recv == RecvState::AwaitHead);
                if awaiting_response || !self.rbuf.is_empty() {
                    // Cut off in the middle of a head (or before an awaited one).
                    return self.close(CloseReason::Peer(PeerError::UnexpectedEof));
                }
                // Half-close: answer what was received, then close.
                self.keep_alive = false;
                self.reading = Reading::Done;
                self.close_if_idle();
            }
            Reading::Body {
                id,
                decoder: Decoder::UntilEof,
            } => {
                let id = *id;
                self.reading = Reading::Done;
                self.keep_alive = false;
                self.body_complete(id);
                self.retire_ready();
            }
            Reading::Body { .. } => self.close(CloseReason::Peer(PeerError::UnexpectedEof)),
            Reading::Done => self.close_if_idle(),
        }
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn has_stream(&self, id: StreamId) -> bool {
        self.find(id).is_some()
    }

    pub(super) fn find(&self, id: StreamId) -> Option<usize> {
        self.streams.iter().position(|s| s.id == id)
    }

    /// Parses and delivers as much buffered input as the state allows.
    pub(super) fn process(&mut self) {
        while !self.closed {
            let progressed = match self.reading {
                Reading::Head => self.process_head(),
                Reading::Body { .. } => self.process_body(),
                Reading::Done => false,
            };
            if !progressed {
                break;
            }
        }
        self.update_read_timers();
    }

    /// True if the server must not parse another request head yet.
    pub(super) fn head_paused(&self) -> bool {
        match self.side {
            Side::Server => {
                self.streams.len() >= self.cfg.max_pipelined.max(1)
                    // Bytes after an upgrade request may belong to the new protocol.
                    || self.streams.iter().any(|s| s.upgrade_requested && s.response_unsent())
            }
            Side::Client => {
                !matches!(self.streams.front(), Some(s) if s.recv == RecvState::AwaitHead)
            }
        }
    }

    /// Keeps a handed-out head's field storage for the next received head
    /// (within `SpareFields`' bounds).
    pub(crate) fn recycle_fields(&mut self, fields: Fields) {
        self.spare_fields.keep(fields);
    }

    pub(super) fn process_head(&mut self) -> bool {
        if self.rbuf.is_empty() {
            return false;
        }
        if self.side == Side::Client && self.streams.is_empty() {
            // RFC 9112 §9.2: bytes from the server with no request outstanding.
            self.peer_error(PeerError::UnexpectedResponse);
            return false;
        }
        if self.head_paused() {
            return false;
        }
        let scan = &mut self.head_scan;
        match self.side {
            Side::Server => match parse::parse_request_into(
                &mut self.rbuf,
                &self.cfg,
                scan,
                &mut self.spare_fields,
            ) {
                Ok(Some(head)) => {
                    self.on_request_head(head);
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    self.peer_error(e);
                    false
                }
            },
            Side::Client => match parse::parse_response_into(
                &mut self.rbuf,
                &self.cfg,
                scan,
                &mut self.spare_fields,
            ) {
                Ok(Some(head)) => {
                    self.on_response_head(head);
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    self.peer_error(e);
                    false
                }
            },
        }
    }

    pub(super) fn on_request_head(&mut self, head: RequestHead) {
        let hints = Hints::of(&head.fields);
        let body = match hints.request_body(&head) {
            Ok(b) => b,
            Err(e) => return self.peer_error(e),
        };
        if self.cfg.h2c_upgrade && hints.h2c && self.streams.is_empty() && body == BodyKind::Empty {
            if let Some(settings) = h2c::decode_settings(&head) {
                // RFC 7540 §3.2: 101, then HTTP/2 from the next byte on.
                const SWITCH: &[u8] =
                    b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n";
                self.tx.buf().extend_from_slice(SWITCH);
                self.tx.appended(SWITCH.len());
                self.timers.stop_all();
                self.reading = Reading::Done;
                self.h2c = Some(Box::new(H2cSwitch::Server { head, settings }));
                return;
            }
        }
        let id = StreamId(self.next_id);
        self.next_id = self.next_id.saturating_add(2);
        self.timers.stop(TimerKind::HeaderRead);

        let http10 = head.version == Version::Http10;
        // RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive".
        let close_after = !self.cfg.keep_alive || hints.close || (http10 && !hints.keep_alive);
        let mut stream = Stream::new(id, head.method.clone(), head.version, RecvState::Body);
        stream.close_after = close_after;
        // RFC 9110 §7.8 / §9.3.6: a protocol switch may follow this request.
        stream.upgrade_requested = head.method == Method::Connect || hints.upgrade;
        // RFC 9110 §10.1.1: only HTTP/1.1 clients wait for 100, and only with a body.
        let expect = !http10 && body != BodyKind::Empty && hints.expect_continue;
        if expect {
            stream.expect = Continue::Expected;
        }
        if close_after {
            // RFC 9112 §9.6: nothing after a "close" request is processed.
            self.keep_alive = false;
        }
        let end_stream = body == BodyKind::Empty;
        self.events.push_back(Event::Request {
            id,
            head,
            end_stream,
        });
        if expect {
            self.events.push_back(Event::ContinueRequested { id });
        }
        self.streams.push_back(stream);
        self.start_body(id, body);
    }

    pub(super) fn on_response_head(&mut self, head: ResponseHead) {
        let Some(stream) = self.streams.front_mut() else {
            return self.peer_error(PeerError::UnexpectedResponse);
        };
        let id = stream.id;
        if head.status == 101 {
            // RFC 9110 §15.2.2: only in answer to an Upgrade request.
            if !stream.upgrade_requested || stream.method == Method::Connect {
                return self.peer_error(PeerError::UnexpectedResponse);
            }
            if self.h2c_offered && head.fields.has_token("upgrade", "h2c") && stream.send_done() {
                // RFC 7540 §3.2: the response to our request comes as HTTP/2.
                let method = stream.method.clone();
                self.streams.clear();
                self.timers.stop_all();
                self.reading = Reading::Done;
                self.h2c = Some(Box::new(H2cSwitch::Client { method }));
                return;
            }
            // The head matters (e.g. Sec-WebSocket-Accept): report it, then switch.
            self.events.push_back(Event::Response {
                id,
                head,
                end_stream: true,
            });
            return self.upgrade_now(id, UpgradeKind::Protocol);
        }
        if head.status < 200 {
            if head.status == 100 && stream.expect == Continue::Waiting {
                stream.expect = Continue::None;
                self.timers.stop(TimerKind::ExpectContinue);
                self.events.push_back(Event::Writable { id });
            }
            self.events.push_back(Event::Informational { id, head });
            return;
        }
        if stream.method == Method::Connect && (200..300).contains(&head.status) {
            self.events.push_back(Event::Response {
                id,
                head,
                end_stream: true,
            });
            return self.upgrade_now(id, UpgradeKind::Connect);
        }
        let body = match framing::response_body(&stream.method, &head) {
            Ok(b) => b,
            Err(e) => return self.peer_error(e),
        };
        let fields = &head.fields;
        stream.close_after |= fields.has_token("connection", "close")
            || (head.version == Version::Http10 && !fields.has_token("connection", "keep-alive"))
            || body == BodyKind::CloseDelimited;
        if stream.expect == Continue::Waiting {
            // RFC 9110 §10.1.1: a final status before 100 means the server does
            // not want the body; we do not send it, so the connection cannot be
            // reused (the server may be waiting for those bytes).
            stream.expect = Continue::Refused;
            stream.close_after = true;
            stream.send = SendState::Done;
            self.timers.stop(TimerKind::ExpectContinue);
        }
        if stream.close_after {
            self.keep_alive = false;
        }
        let end_stream = body == BodyKind::Empty;
        self.events.push_back(Event::Response {
            id,
            head,
            end_stream,
        });
        if end_stream {
            if let Some(s) = self.streams.front_mut() {
                s.end_read = true;
            }
        }
        self.start_body(id, body);
    }

    /// Sets up reading of `id`'s body (or completes it at once).
    pub(super) fn start_body(&mut self, id: StreamId, body: BodyKind) {
        let decoder = match body {
            BodyKind::Empty => {
                self.reading = if self.keep_alive {
                    Reading::Head
                } else {
                    Reading::Done
                };
                if let Some(i) = self.find(id) {
                    self.streams[i].recv = RecvState::Complete;
                }
                self.retire_ready();
                return;
            }
            BodyKind::Length(n) => Decoder::Length(n),
            BodyKind::Chunked => Decoder::Chunked(ChunkedDecoder::new()),
            BodyKind::CloseDelimited => Decoder::UntilEof,
        };
        if let Some(i) = self.find(id) {
            self.streams[i].recv = RecvState::Body;
        }
        self.reading = Reading::Body { id, decoder };
        self.arm_body_read(true);
    }

    pub(super) fn process_body(&mut self) -> bool {
        let Reading::Body { id, decoder } = &mut self.reading else {
            return false;
        };
        let id = *id;
        let Some(i) = self.streams.iter().position(|s| s.id == id) else {
            self.reading = Reading::Done;
            return false;
        };
        let stream = &self.streams[i];
        let room = if stream.discard {
            usize::MAX
        } else {
            self.cfg.max_recv_buffer.saturating_sub(stream.buffered)
        };
        if room == 0 || self.rbuf.is_empty() {
            return false;
        }
        let step = match decoder {
            Decoder::Length(remaining) => {
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(room)
                    .min(self.rbuf.len());
                *remaining -= take as u64;
                let done = *remaining == 0;
                Ok((
                    Some(self.rbuf.split_to(take).freeze()),
                    done.then(Fields::new),
                ))
            }
            Decoder::UntilEof => {
                let take = room.min(self.rbuf.len());
                Ok((Some(self.rbuf.split_to(take).freeze()), None))
            }
            Decoder::Chunked(dec) => match dec.decode(&mut self.rbuf, room, &self.cfg) {
                Ok(Decoded::Data(b)) => Ok((Some(b), None)),
                Ok(Decoded::End(trailers)) => Ok((None, Some(trailers))),
                Ok(Decoded::NeedMore) => return false,
                Err(e) => Err(e),
            },
        };
        match step {
            Err(e) => {
                self.peer_error(e);
                false
            }
            Ok((data, end)) => {
                if let Some(data) = data {
                    self.deliver(i, data);
                }
                if let Some(trailers) = end {
                    if !trailers.is_empty() {
                        // Looked up again: delivering may have retired streams.
                        if let Some(s) = self.streams.iter_mut().find(|s| s.id == id && !s.discard)
                        {
                            s.trailers = Some(trailers);
                        }
                    }
                    self.reading = if self.keep_alive {
                        Reading::Head
                    } else {
                        Reading::Done
                    };
                    self.body_complete(id);
                    self.retire_ready();
                }
                true
            }
        }
    }

    /// Hands received body bytes to stream `i` (or throws them away when the
    /// response is already done).
    pub(super) fn deliver(&mut self, i: usize, data: Bytes) {
        if data.is_empty() {
            return;
        }
        self.body_got = self.body_got.saturating_add(data.len() as u64);
        self.arm_body_read(false);
        let max_drain = self.cfg.max_drain;
        let stream = &mut self.streams[i];
        if stream.discard {
            stream.drained = stream.drained.saturating_add(data.len() as u64);
            if stream.drained > max_drain {
                // Too much to throw away: stop reading and close instead.
                stream.recv = RecvState::Aborted(ErrorCode::NO_ERROR);
                self.keep_alive = false;
                self.reading = Reading::Done;
                self.retire_ready();
            }
            return;
        }
        stream.buffered += data.len();
        if stream.queue.capacity() == 0 {
            core::mem::swap(&mut stream.queue, &mut self.spare_queue);
        }
        stream.queue.push_back(data);
        let id = stream.id;
        self.signal_readable(i, id);
    }

    pub(super) fn signal_readable(&mut self, i: usize, id: StreamId) {
        let stream = &mut self.streams[i];
        if !stream.readable_signaled && !stream.discard {
            stream.readable_signaled = true;
            self.events.push_back(Event::Readable { id });
        }
    }

    pub(super) fn body_complete(&mut self, id: StreamId) {
        self.timers.stop(TimerKind::BodyRead);
        if let Some(i) = self.find(id) {
            self.streams[i].recv = RecvState::Complete;
            self.signal_readable(i, id);
        }
    }

    /// HTTP/1 has no flow-control window: reading is the release.
    pub(crate) fn release(&mut self, _id: StreamId, _n: usize) {}

    pub(crate) fn read(&mut self, id: StreamId) -> ReadChunk {
        let Some(i) = self.find(id) else {
            return ReadChunk::End;
        };
        if self.streams[i].expect == Continue::Expected {
            // RFC 9110 §10.1.1: reading the body is the signal to send 100.
            self.send_continue(i);
        }
        let stream = &mut self.streams[i];
        if let Some(data) = stream.queue.pop_front() {
            let was_full = stream.buffered >= self.cfg.max_recv_buffer;
            stream.buffered -= data.len();
            if was_full {
                self.process();
            }
            return ReadChunk::Data(data);
        }
        match stream.recv {
            RecvState::Complete if stream.trailers.is_some() => stream
                .trailers
                .take()
                .map_or(ReadChunk::End, ReadChunk::Trailers),
            RecvState::Complete => {
                stream.end_read = true;
                if self.side == Side::Client {
                    self.retire_ready();
                    self.process();
                }
                ReadChunk::End
            }
            RecvState::Aborted(code) => ReadChunk::Reset(code),
            RecvState::AwaitHead | RecvState::Body => {
                stream.readable_signaled = false;
                ReadChunk::Blocked
            }
        }
    }
}
