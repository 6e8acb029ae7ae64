//! The HTTP/2 connection state machine (RFC 9113), both roles: input side.
//!
//! Received bytes are decoded into frames (`frame::decode`), which drive the
//! per-stream state machines in `stream.rs`. Commands and the send scheduler
//! are in `send.rs`; GOAWAY, shutdown and timers in `lifecycle.rs`; frame
//! handlers in `recv_body.rs`, `recv_headers.rs` and `control.rs`.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::flow::{DEFAULT_WINDOW, Window};
use super::frame::{self, Frame, FrameError};
use super::stream::Stream;
use super::streams::Streams;
use crate::config::Config;
use crate::connection::Side;
use crate::error::{CloseReason, ErrorCode, PeerError};
use crate::event::{Event, StreamId, TimerKind, Version};
use crate::head::{Fields, Method, RequestHead, SpareFields};
use crate::hpack;
use crate::input;
use crate::time::Instant;
use crate::timer::Timers;
use crate::transmit::TxQueue;

/// The client connection preface (§3.4).
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Most recently reset stream ids remembered, to ignore what the peer sent
/// before it saw our RST_STREAM (§5.1 "closed").
pub(super) const RECENT_RESETS: usize = 64;

/// The SETTINGS we send first (also the `HTTP2-Settings` of an h2c upgrade).
pub(super) fn initial_settings(cfg: &Config, side: Side) -> frame::Settings {
    let h2 = &cfg.h2;
    let mut s = frame::Settings::default()
        .with_max_concurrent_streams(h2.max_concurrent_streams)
        .with_initial_window_size(h2.initial_window_size.max(DEFAULT_WINDOW))
        .with_max_header_list_size(h2.max_header_list_size)
        // RFC 9218 §2.1: we schedule by the priority field, not RFC 7540 trees.
        .with_no_rfc7540_priorities(1);
    if h2.max_frame_size != frame::DEFAULT_MAX_FRAME_SIZE {
        s = s.with_max_frame_size(h2.max_frame_size);
    }
    if h2.header_table_size != 4096 {
        s = s.with_header_table_size(h2.header_table_size);
    }
    match side {
        // §8.4: push is off; we refuse PUSH_PROMISE.
        Side::Client => s.with_enable_push(0),
        Side::Server if h2.enable_connect_protocol => s.with_enable_connect_protocol(1),
        Side::Server => s,
    }
}

/// Who asked for the outstanding PING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PingKind {
    User,
    KeepAlive,
    /// Graceful shutdown, phase one (§6.8).
    Shutdown,
}

/// Where reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Server: `matched` bytes of the client preface seen so far.
    Preface {
        matched: usize,
    },
    /// The peer's first frame must be SETTINGS (§3.4).
    FirstSettings,
    Frames,
    /// Not reading any more.
    Done,
}

/// A header block spread over HEADERS + CONTINUATION frames (§4.3).
#[derive(Debug)]
pub(super) struct PartialBlock {
    pub(super) stream_id: StreamId,
    pub(super) block: BytesMut,
    pub(super) end_stream: bool,
    pub(super) continuations: u32,
}

/// Settings the peer told us (§6.5.2), with their defaults.
#[derive(Debug, Clone)]
pub(super) struct PeerSettings {
    pub(super) max_concurrent_streams: u32,
    pub(super) initial_window_size: u32,
    pub(super) max_frame_size: u32,
    pub(super) max_header_list_size: u32,
    pub(super) enable_connect_protocol: bool,
}

impl Default for PeerSettings {
    fn default() -> Self {
        Self {
            max_concurrent_streams: u32::MAX,
            initial_window_size: DEFAULT_WINDOW,
            max_frame_size: frame::DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: u32::MAX,
            enable_connect_protocol: false,
        }
    }
}

#[derive(Debug)]
pub(crate) struct H2Conn {
    pub(super) side: Side,
    /// Shared with the other connections made from the same `Config`;
    /// copied on write (settings changed on this connection).
    pub(super) cfg: Arc<Config>,
    pub(super) now: Instant,
    pub(super) phase: Phase,
    /// Received bytes not yet decoded; bounded by one frame (our max frame
    /// size + header) plus what one `recv` brings.
    pub(super) rbuf: BytesMut,
    pub(super) decoder: hpack::Decoder,
    pub(super) encoder: hpack::Encoder,
    pub(super) peer: PeerSettings,
    /// Our SETTINGS frames awaiting ACK (§6.5.3).
    pub(super) settings_unacked: u32,
    /// Settings we changed with `update_settings`, in sending order; each
    /// takes effect when its ACK arrives (§6.5.3). `cfg.h2` holds the
    /// acknowledged values of the advertised settings.
    pub(super) settings_pending: VecDeque<crate::config::H2Config>,
    pub(super) streams: Streams,
    /// Highest stream id the peer opened (ours to refuse above GOAWAY).
    pub(super) last_peer_id: u32,
    /// Next id we would open.
    pub(super) next_local_id: u32,
    pub(super) recent_resets: VecDeque<u32>,
    /// Peer streams reset while the application was still answering them,
    /// with the time until which they count against our concurrency limit
    /// (MadeYouReset); oldest first, so expiry is from the front.
    pub(super) held_resets: VecDeque<Instant>,
    pub(super) partial: Option<PartialBlock>,
    pub(super) send_window: Window,
    /// Content accepted by `write` on all streams and not yet framed.
    pub(super) conn_pending: usize,
    pub(super) recv_window: Window,
    /// Connection-level bytes consumed by the application, not yet released.
    pub(super) unreleased: u32,
    pub(super) events: super::events::Events,
    pub(super) tx: TxQueue,
    /// Ready streams per urgency (RFC 9218): the scheduler's queues.
    pub(super) ready: super::ready::Ready,
    pub(super) timers: Timers,
    /// Control answers queued since the transmit queue last drained.
    pub(super) pending_control: usize,
    /// Rapid-reset budget (tokens) and when it was last refilled.
    pub(super) reset_tokens: u32,
    pub(super) reset_refilled: Instant,
    pub(super) empty_frames: u32,
    /// GOAWAY we sent: the last stream id we will process.
    pub(super) goaway_sent: Option<u32>,
    /// GOAWAY we received: the last of our streams the peer processes.
    pub(super) goaway_received: Option<u32>,
    /// Graceful shutdown: waiting for the PING that ends phase one.
    pub(super) shutdown_ping: bool,
    pub(super) ping_outstanding: Option<[u8; 8]>,
    /// Why that PING was sent: only the application's are reported (`Pong`).
    pub(super) ping_kind: PingKind,
    /// Peer streams that ended normally, recently: HEADERS on one of them is
    /// STREAM_CLOSED (§5.1); on any other lower id, PROTOCOL_ERROR (§5.1.1).
    pub(super) recent_closed: VecDeque<u32>,
    pub(super) eof: bool,
    pub(super) closed: bool,
    /// The idle release let go of the kept storage; cleared when the owner
    /// is told (`take_idle_release`).
    pub(super) idle_released: bool,
    /// Scratch list for encoding header blocks (reused, no allocation per
    /// request once grown).
    pub(super) scratch: Vec<(Bytes, Bytes)>,
    /// Emptied body queues of retired streams, handed to new ones so that a
    /// stream's first body piece costs no allocation (see [`spares_kept`]).
    pub(super) spare_queues: Vec<VecDeque<Bytes>>,
    /// A stream may be waiting for a window to open: the scheduler dropped
    /// it as flow-blocked, or `write` took less than offered. When false, a
    /// WINDOW_UPDATE has no stream to revisit (no scan of every stream).
    pub(super) maybe_waiting: bool,
    /// The decoded fields of the header block being processed; kept between
    /// blocks so decoding allocates nothing per request.
    pub(super) field_buf: Vec<hpack::Field>,
    /// Storage of heads sent and of heads the application handed back
    /// (`recycle_fields`): received heads are built in it.
    pub(super) spare_fields: SpareFields,
}

/// The largest decoded-field list kept for the next header block (an
/// unusually large block's list is freed).
pub(super) const FIELD_BUF_KEEP: usize = 64;

/// How many emptied stream queues, and emptied field lists, a connection
/// keeps for reuse: as many as streams may be open at once
/// (`H2Config::max_concurrent_streams`), at least 16 and at most 1,024. A
/// spare comes from a retired stream, so the spares never hold more than the
/// streams in flight held at their peak, and the idle release lets them go.
/// Fewer than the streams in flight meant allocations per stream: with 100
/// in flight and 16 spares, 84 of every 100 responses grew a fresh queue.
pub(super) fn spares_kept(cfg: &Config) -> usize {
    usize::try_from(cfg.h2.max_concurrent_streams)
        .unwrap_or(usize::MAX)
        .clamp(16, 1024)
}

/// Room for the spare field lists of [`spares_kept`].
pub(super) fn spare_fields(cfg: &Config) -> SpareFields {
    // At most 1,024 (`spares_kept`): the cast is exact.
    SpareFields::with_lists(spares_kept(cfg) as u32)
}

/// The largest queue (in entries) kept as a spare: a stream that once queued
/// many pieces does not leave its large queue behind.
pub(super) const SPARE_QUEUE_KEEP: usize = 16;

impl H2Conn {
    pub(crate) fn new(side: Side, cfg: Arc<Config>, now: Instant) -> Self {
        Self::with_tx(side, cfg, now, TxQueue::default())
    }

    /// Server side of an h2c upgrade (RFC 7540 §3.2): the 101 is in `tx`,
    /// `head` (which had no content) becomes stream 1, half-closed (remote),
    /// and `settings` (from `HTTP2-Settings`) apply without an ACK, the 101
    /// acknowledging them (§3.2.1). `leftover` is what followed the request.
    pub(crate) fn h2c_server(
        cfg: Arc<Config>,
        now: Instant,
        tx: TxQueue,
        mut head: RequestHead,
        settings: &frame::Settings,
        leftover: BytesMut,
    ) -> Self {
        let mut conn = Self::with_tx(Side::Server, cfg, now, tx);
        if !conn.apply_settings(settings) {
            return conn;
        }
        let mut stream = Stream::new(
            StreamId::new(1),
            head.method.clone(),
            conn.peer.initial_window_size,
            conn.cfg.h2.initial_window_size.max(DEFAULT_WINDOW),
        );
        stream.state = stream.state.recv_end();
        conn.streams.insert(1, stream);
        conn.last_peer_id = 1;
        head.version = Version::H2;
        conn.events.push_back(Event::Request {
            id: StreamId::new(1),
            head,
            end_stream: true,
        });
        conn.rbuf = leftover;
        conn.process();
        conn
    }

    /// Client side of an h2c upgrade: our request (fully sent, method
    /// `method`) is stream 1, half-closed (local); the server's frames follow
    /// in `leftover`.
    pub(crate) fn h2c_client(
        cfg: Arc<Config>,
        now: Instant,
        tx: TxQueue,
        method: Method,
        leftover: BytesMut,
    ) -> Self {
        let mut conn = Self::with_tx(Side::Client, cfg, now, tx);
        let mut stream = Stream::new(
            StreamId::new(1),
            method,
            conn.peer.initial_window_size,
            conn.cfg.h2.initial_window_size.max(DEFAULT_WINDOW),
        );
        stream.state = stream.state.send_end();
        conn.streams.insert(1, stream);
        conn.next_local_id = 3;
        conn.rbuf = leftover;
        conn.process();
        conn
    }

    fn with_tx(side: Side, cfg: Arc<Config>, now: Instant, tx: TxQueue) -> Self {
        let h2 = &cfg.h2;
        let mut conn = Self {
            side,
            now,
            phase: match side {
                Side::Server => Phase::Preface { matched: 0 },
                Side::Client => Phase::FirstSettings,
            },
            rbuf: BytesMut::new(),
            // §6.5.3: our table size applies once the peer acknowledges it.
            decoder: hpack::Decoder::new(4096),
            encoder: hpack::Encoder::new(),
            peer: PeerSettings::default(),
            settings_unacked: 0,
            settings_pending: VecDeque::new(),
            streams: Streams::new(),
            last_peer_id: 0,
            next_local_id: match side {
                Side::Client => 1,
                Side::Server => 2,
            },
            // Grown on use (to at most `RECENT_RESETS`): most connections
            // never reset a stream, and idle ones should hold little.
            recent_resets: VecDeque::new(),
            held_resets: VecDeque::new(),
            partial: None,
            send_window: Window::new(DEFAULT_WINDOW),
            conn_pending: 0,
            recv_window: Window::new(DEFAULT_WINDOW),
            unreleased: 0,
            events: super::events::Events::default(),
            tx,
            ready: Default::default(),
            timers: Timers::default(),
            pending_control: 0,
            reset_tokens: h2.max_resets,
            reset_refilled: now,
            empty_frames: 0,
            goaway_sent: None,
            goaway_received: None,
            shutdown_ping: false,
            ping_outstanding: None,
            ping_kind: PingKind::User,
            recent_closed: VecDeque::new(),
            eof: false,
            closed: false,
            idle_released: false,
            scratch: Vec::new(),
            spare_queues: Vec::new(),
            maybe_waiting: false,
            field_buf: Vec::new(),
            spare_fields: spare_fields(&cfg),
            cfg,
        };
        conn.events.push_back(Event::Negotiated {
            version: Version::H2,
        });
        if side == Side::Client {
            conn.tx.buf().extend_from_slice(PREFACE);
            conn.tx.appended(PREFACE.len());
        }
        conn.send_initial_settings();
        // The peer's preface and first SETTINGS must come in time.
        conn.arm(TimerKind::HeaderRead, conn.cfg.header_read_timeout);
        conn.arm(TimerKind::IdleRelease, conn.cfg.idle_release);
        conn
    }

    /// Events an HTTP/1 connection queued before it became this one.
    pub(crate) fn prepend_events(&mut self, earlier: VecDeque<Event>) {
        self.events.prepend(earlier);
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

    fn send_initial_settings(&mut self) {
        let s = initial_settings(&self.cfg, self.side);
        let h2 = &self.cfg.h2;
        let conn_window = h2.connection_window_size;
        let mut buf = core::mem::take(self.tx.buf());
        let before = buf.len();
        s.encode(&mut buf);
        if conn_window > DEFAULT_WINDOW {
            frame::WindowUpdate::new(frame::CONNECTION_STREAM, conn_window - DEFAULT_WINDOW)
                .encode(&mut buf);
        }
        let n = buf.len() - before;
        *self.tx.buf() = buf;
        self.tx.appended(n);
        if conn_window > DEFAULT_WINDOW {
            let _ = self.recv_window.increase(conn_window - DEFAULT_WINDOW);
        }
        self.settings_unacked += 1;
        self.arm(TimerKind::SettingsAck, Some(self.cfg.h2.settings_timeout));
    }

    /// Appends a frame to the transmit queue.
    pub(super) fn send_frame(&mut self, f: impl Into<Frame>) {
        let before = self.tx.buf().len();
        f.into().encode(self.tx.buf());
        let n = self.tx.buf().len() - before;
        self.tx.appended(n);
    }

    // ---- input -------------------------------------------------------------

    /// Keeps a handed-out head's field storage for the next received head.
    pub(crate) fn recycle_fields(&mut self, fields: Fields) {
        self.spare_fields.keep(fields);
    }

    pub(crate) fn wants_read(&self) -> bool {
        !self.closed
            && self.phase != Phase::Done
            && self.pending_control < self.cfg.h2.max_pending_control
            && self.rbuf.len() < self.read_cap()
    }

    /// One frame of our maximum size, plus its header.
    fn read_cap(&self) -> usize {
        (self.cfg.h2.max_frame_size as usize + frame::HEADER_LEN).max(64 * 1024)
    }

    pub(crate) fn recv(&mut self, now: Instant, data: &[u8]) -> usize {
        self.now = now;
        if !self.wants_read() {
            return 0;
        }
        let cap = self.read_cap();
        let n = input::append_slice(&mut self.rbuf, cap, data);
        self.process();
        n - self.give_back(n).len()
    }

    pub(crate) fn recv_buf(&mut self, now: Instant, buf: &mut BytesMut) {
        self.now = now;
        if !self.wants_read() || buf.is_empty() {
            return;
        }
        let cap = self.read_cap();
        let before = buf.len();
        input::append_buf(&mut self.rbuf, cap, buf);
        self.process();
        let back = self.give_back(before - buf.len());
        if !back.is_empty() {
            // Contiguous (and so free) when the bytes were adopted, not copied.
            let rest = core::mem::replace(buf, back);
            buf.unsplit(rest);
        }
        input::release_spent(&mut self.rbuf);
    }

    /// Reading paused on unsent control answers (`max_pending_control`):
    /// the unprocessed tail of the last `taken` bytes goes back to the
    /// caller, so that `recv` takes only what it processed before the pause
    /// and how the input was cut cannot change when the application next
    /// gets to act. Bytes buffered by earlier calls stay.
    fn give_back(&mut self, taken: usize) -> BytesMut {
        if self.closed || self.pending_control < self.cfg.h2.max_pending_control {
            return BytesMut::new();
        }
        let give = self.rbuf.len().min(taken);
        self.rbuf.split_off(self.rbuf.len() - give)
    }

    pub(crate) fn recv_eof(&mut self, now: Instant) {
        self.now = now;
        if self.closed || self.eof {
            return;
        }
        self.eof = true;
        self.phase = Phase::Done;
        if self.partial.is_some() || !self.rbuf.is_empty() {
            // Cut off in the middle of a frame or header block.
            return self.close(CloseReason::Peer(PeerError::UnexpectedEof));
        }
        // The peer stopped sending. Streams it had finished sending on are
        // complete and may still be read and answered (our side may still
        // write); the others can never complete.
        let cut: Vec<u32> = self
            .streams
            .values()
            .filter(|s| s.state.recv_open())
            .map(|s| s.id.get())
            .collect();
        for id in cut {
            self.remove_stream(id, Some((ErrorCode::CANCEL, true)));
        }
        if self.streams.is_empty() {
            self.close(CloseReason::Done);
        }
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn has_stream(&self, id: StreamId) -> bool {
        self.streams.contains_key(&id.get())
    }

    pub(super) fn process(&mut self) {
        while !self.closed && self.pending_control < self.cfg.h2.max_pending_control {
            match self.phase {
                Phase::Done => break,
                Phase::Preface { matched } => {
                    let want = &PREFACE[matched..];
                    let n = want.len().min(self.rbuf.len());
                    if self.rbuf[..n] != want[..n] {
                        // §3.4: anything but the preface is a connection error.
                        return self.connection_error(
                            ErrorCode::PROTOCOL_ERROR,
                            "invalid connection preface",
                        );
                    }
                    let _ = self.rbuf.split_to(n);
                    if matched + n < PREFACE.len() {
                        self.phase = Phase::Preface {
                            matched: matched + n,
                        };
                        break;
                    }
                    self.phase = Phase::FirstSettings;
                }
                Phase::FirstSettings | Phase::Frames => {
                    let max = self.cfg.h2.max_frame_size;
                    match frame::decode(&mut self.rbuf, max) {
                        Ok(None) => break,
                        Ok(Some(f)) => {
                            if self.phase == Phase::FirstSettings {
                                if !matches!(&f, Frame::Settings(s) if !s.is_ack()) {
                                    return self.connection_error(
                                        ErrorCode::PROTOCOL_ERROR,
                                        "first frame is not SETTINGS",
                                    );
                                }
                                self.phase = Phase::Frames;
                                self.timers.stop(TimerKind::HeaderRead);
                            }
                            self.on_frame(f);
                        }
                        Err(FrameError::Connection(code, why)) => {
                            return self.connection_error(code, why);
                        }
                        Err(FrameError::Stream(id, code, why)) => {
                            self.peer_stream_error(id, code, why)
                        }
                    }
                }
            }
        }
        self.update_idle_timer();
    }

    fn on_frame(&mut self, f: Frame) {
        // §6.10: nothing may come between HEADERS and its last CONTINUATION.
        if let Some(p) = &self.partial {
            let ok = matches!(&f, Frame::Continuation(c) if c.stream_id == p.stream_id);
            if !ok {
                return self.connection_error(ErrorCode::PROTOCOL_ERROR, "expected CONTINUATION");
            }
        }
        // Any frame shows the peer is alive: push the keep-alive PING back.
        if self.timers.get(TimerKind::KeepAlive).is_some() {
            self.arm(TimerKind::KeepAlive, self.cfg.h2.keep_alive_interval);
        }
        match f {
            Frame::Data(d) => self.on_data(d),
            Frame::Headers(h) => self.on_headers(h),
            Frame::Continuation(c) => self.on_continuation(c),
            Frame::Priority(_) => {} // §5.3.2: deprecated, parsed and ignored.
            Frame::RstStream(r) => self.on_rst_stream(r),
            Frame::Settings(s) => self.on_settings(s),
            Frame::PushPromise(_) => {
                // §8.4: we never enable push; a server never receives it.
                self.connection_error(ErrorCode::PROTOCOL_ERROR, "PUSH_PROMISE with push disabled");
            }
            Frame::Ping(p) => self.on_ping(p),
            Frame::GoAway(g) => self.on_goaway(g),
            Frame::WindowUpdate(w) => self.on_window_update(w),
            Frame::PriorityUpdate(p) => self.on_priority_update(p),
            Frame::Unknown(_) => self.count_empty_frame(),
        }
    }

    /// Frames that carry nothing useful are budgeted (empty-frame floods).
    pub(super) fn count_empty_frame(&mut self) {
        self.empty_frames += 1;
        if self.empty_frames > self.cfg.h2.max_empty_frames {
            self.connection_error(ErrorCode::ENHANCE_YOUR_CALM, "too many empty frames");
        }
    }

    /// Is `id` a stream the peer opens (by parity, §5.1.1)?
    pub(super) fn peer_initiated(&self, id: u32) -> bool {
        (id % 2 == 1) == (self.side == Side::Server)
    }

    /// An id with no stored stream: closed (true) or idle (false).
    pub(super) fn is_closed_id(&self, id: u32) -> bool {
        if self.peer_initiated(id) {
            id <= self.last_peer_id
        } else {
            id < self.next_local_id
        }
    }
}
