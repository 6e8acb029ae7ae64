//! The HTTP/2 connection state machine (RFC 9113), both roles: input side.
//!
//! Received bytes are decoded into frames (`frame::decode`), which drive the
//! per-stream state machines in `stream.rs`. Commands and the send scheduler
//! are in `send.rs`; GOAWAY, shutdown and timers in `lifecycle.rs`.

use std::collections::{BTreeMap, VecDeque};

use bytes::{Bytes, BytesMut};

use super::flow::{DEFAULT_WINDOW, Window};
use super::frame::{self, Frame, FrameError};
use super::headers::{self, RequestBuilder, ResponseBuilder};
use super::stream::{HeadState, State, Stream};
use crate::config::Config;
use crate::connection::{ReadChunk, Side};
use crate::error::{CloseReason, ErrorCode, PeerError};
use crate::event::{Event, StreamId, TimerKind, Version};
use crate::head::{Method, RequestHead};
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
    pub(super) cfg: Config,
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
    pub(super) streams: BTreeMap<u32, Stream>,
    /// Highest stream id the peer opened (ours to refuse above GOAWAY).
    pub(super) last_peer_id: u32,
    /// Next id we would open.
    pub(super) next_local_id: u32,
    pub(super) recent_resets: VecDeque<u32>,
    pub(super) partial: Option<PartialBlock>,
    pub(super) send_window: Window,
    /// Content accepted by `write` on all streams and not yet framed.
    pub(super) conn_pending: usize,
    pub(super) recv_window: Window,
    /// Connection-level bytes consumed by the application, not yet released.
    pub(super) unreleased: u32,
    pub(super) events: VecDeque<Event>,
    pub(super) tx: TxQueue,
    /// Ready streams per urgency (RFC 9218): the scheduler's queues.
    pub(super) ready: [VecDeque<u32>; 8],
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
    /// Scratch list for encoding header blocks (reused, no allocation per
    /// request once grown).
    pub(super) scratch: Vec<(Bytes, Bytes)>,
}

impl H2Conn {
    pub(crate) fn new(side: Side, cfg: Config, now: Instant) -> Self {
        Self::with_tx(side, cfg, now, TxQueue::default())
    }

    /// Server side of an h2c upgrade (RFC 7540 §3.2): the 101 is in `tx`,
    /// `head` (which had no content) becomes stream 1, half-closed (remote),
    /// and `settings` (from `HTTP2-Settings`) apply without an ACK, the 101
    /// acknowledging them (§3.2.1). `leftover` is what followed the request.
    pub(crate) fn h2c_server(
        cfg: Config,
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
        cfg: Config,
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

    fn with_tx(side: Side, cfg: Config, now: Instant, tx: TxQueue) -> Self {
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
            streams: BTreeMap::new(),
            last_peer_id: 0,
            next_local_id: match side {
                Side::Client => 1,
                Side::Server => 2,
            },
            recent_resets: VecDeque::with_capacity(RECENT_RESETS),
            partial: None,
            send_window: Window::new(DEFAULT_WINDOW),
            conn_pending: 0,
            recv_window: Window::new(DEFAULT_WINDOW),
            unreleased: 0,
            events: VecDeque::new(),
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
            recent_closed: VecDeque::with_capacity(RECENT_RESETS),
            eof: false,
            closed: false,
            scratch: Vec::new(),
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
        conn
    }

    /// Events an HTTP/1 connection queued before it became this one.
    pub(crate) fn prepend_events(&mut self, mut earlier: VecDeque<Event>) {
        earlier.append(&mut self.events);
        self.events = earlier;
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
        n
    }

    pub(crate) fn recv_buf(&mut self, now: Instant, buf: &mut BytesMut) {
        self.now = now;
        if !self.wants_read() || buf.is_empty() {
            return;
        }
        let cap = self.read_cap();
        input::append_buf(&mut self.rbuf, cap, buf);
        self.process();
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
    fn count_empty_frame(&mut self) {
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
    fn is_closed_id(&self, id: u32) -> bool {
        if self.peer_initiated(id) {
            id <= self.last_peer_id
        } else {
            id < self.next_local_id
        }
    }

    fn on_data(&mut self, d: frame::Data) {
        let id = d.stream_id.get();
        let flow_len = d.flow_controlled_len() as usize;
        // §6.9.1: the connection window counts every DATA frame.
        if self.recv_window.consume(flow_len).is_err() {
            return self
                .connection_error(ErrorCode::FLOW_CONTROL_ERROR, "connection window exceeded");
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            // Its window is still ours to restore.
            self.release_connection(flow_len);
            if !self.is_closed_id(id) {
                return self.connection_error(ErrorCode::PROTOCOL_ERROR, "DATA on an idle stream");
            }
            if !self.recent_resets.contains(&id) {
                return self.stream_error(d.stream_id, ErrorCode::STREAM_CLOSED);
            }
            return;
        };
        if !stream.state.recv_open() {
            // §5.1 half-closed (remote): STREAM_CLOSED.
            self.release_connection(flow_len);
            return self.stream_error(d.stream_id, ErrorCode::STREAM_CLOSED);
        }
        if stream.head == HeadState::Pending && self.side == Side::Client {
            self.release_connection(flow_len);
            return self.peer_stream_error(
                d.stream_id,
                ErrorCode::PROTOCOL_ERROR,
                "DATA before the response head",
            );
        }
        if stream.recv_window.consume(flow_len).is_err() {
            self.release_connection(flow_len);
            return self.peer_stream_error(
                d.stream_id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "stream window exceeded",
            );
        }
        // Padding is never read by anyone: give its window back now.
        let padding = flow_len - d.data.len();
        stream.received_len = stream.received_len.saturating_add(d.data.len() as u64);
        if stream.expected_len.is_some_and(|n| stream.received_len > n) {
            self.release_connection(flow_len);
            return self.peer_stream_error(
                d.stream_id,
                ErrorCode::PROTOCOL_ERROR,
                "more DATA than content-length",
            );
        }
        if d.data.is_empty() && !d.end_stream {
            self.count_empty_frame();
        }
        if padding > 0 {
            self.release_stream(id, padding);
            self.release_connection(padding);
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if !d.data.is_empty() {
            stream.buffered += d.data.len();
            stream.queue.push_back(d.data);
            self.signal_readable(id);
        }
        if d.end_stream {
            self.recv_end_stream(id);
        }
    }

    pub(super) fn signal_readable(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            if !s.readable_signaled {
                s.readable_signaled = true;
                self.events.push_back(Event::Readable { id: s.id });
            }
        }
    }

    /// The peer ended its side of `id` (END_STREAM).
    fn recv_end_stream(&mut self, id: u32) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.expected_len.is_some_and(|n| n != s.received_len) {
            // §8.1.1: content-length must match the DATA received.
            let sid = s.id;
            return self.peer_stream_error(
                sid,
                ErrorCode::PROTOCOL_ERROR,
                "content-length mismatch",
            );
        }
        s.state = s.state.recv_end();
        self.signal_readable(id);
        self.maybe_retire(id);
    }

    fn on_headers(&mut self, h: frame::Headers) {
        if let Some(e) = h.self_dependency_error() {
            // Still decode the block so the HPACK table stays in sync.
            let _ = self.decode_block(&h.block);
            if let FrameError::Stream(id, code, why) = e {
                self.peer_stream_error(id, code, why);
            }
            return;
        }
        if h.end_headers {
            return self.on_header_block(h.stream_id, h.block, h.end_stream);
        }
        if h.block.is_empty() {
            self.count_empty_frame();
        }
        self.partial = Some(PartialBlock {
            stream_id: h.stream_id,
            block: BytesMut::from(&h.block[..]),
            end_stream: h.end_stream,
            continuations: 0,
        });
        self.arm(TimerKind::HeaderBlock, self.cfg.header_read_timeout);
    }

    fn on_continuation(&mut self, c: frame::Continuation) {
        let Some(p) = &mut self.partial else {
            // §6.10: CONTINUATION must follow HEADERS without END_HEADERS.
            return self.connection_error(ErrorCode::PROTOCOL_ERROR, "unexpected CONTINUATION");
        };
        p.continuations += 1;
        p.block.extend_from_slice(&c.block);
        if c.block.is_empty() && !c.end_headers {
            // Zero-length fragments carry nothing (CONTINUATION floods).
            self.count_empty_frame();
            if self.closed {
                return;
            }
        }
        let Some(p) = &mut self.partial else { return };
        // CVE-2024-27316 family: bound both the count and the bytes.
        let too_big = p.block.len() > 2 * self.cfg.h2.max_header_list_size as usize + 4096;
        if p.continuations > self.cfg.h2.max_continuation_frames || too_big {
            return self.connection_error(ErrorCode::ENHANCE_YOUR_CALM, "header block too large");
        }
        if c.end_headers {
            let Some(p) = self.partial.take() else { return };
            self.timers.stop(TimerKind::HeaderBlock);
            self.on_header_block(p.stream_id, p.block.freeze(), p.end_stream);
        }
    }

    /// Decodes a complete header block into a field list. `Err(None)`: a
    /// connection error was raised; `Err(Some(_))`: the list was too large.
    fn decode_block(&mut self, block: &Bytes) -> Result<Vec<hpack::Field>, Option<()>> {
        let mut fields = Vec::with_capacity(16);
        let max = self.cfg.h2.max_header_list_size as usize;
        match self.decoder.decode(block, max, |f| fields.push(f)) {
            Ok(()) => Ok(fields),
            Err(hpack::DecodeError::HeaderListTooLarge) => Err(Some(())),
            Err(_) => {
                self.connection_error(ErrorCode::COMPRESSION_ERROR, "HPACK decoding failed");
                Err(None)
            }
        }
    }

    fn on_header_block(&mut self, sid: StreamId, block: Bytes, end_stream: bool) {
        let id = sid.get();
        let decoded = self.decode_block(&block);
        if self.closed {
            return;
        }
        if self.streams.contains_key(&id) {
            return self.on_headers_existing(sid, decoded, end_stream);
        }
        if self.side == Side::Client || !self.peer_initiated(id) {
            // §5.1: HEADERS on a closed or idle stream of ours.
            if self.recent_resets.contains(&id) {
                return;
            }
            return self.connection_error(
                ErrorCode::PROTOCOL_ERROR,
                "HEADERS on a closed or idle stream",
            );
        }
        if id <= self.last_peer_id {
            if self.recent_resets.contains(&id) {
                return;
            }
            if self.recent_closed.contains(&id) {
                // §5.1: frames after END_STREAM on a closed stream.
                return self
                    .connection_error(ErrorCode::STREAM_CLOSED, "HEADERS on a closed stream");
            }
            // §5.1.1: ids only grow; a lower one is unexpected.
            return self
                .connection_error(ErrorCode::PROTOCOL_ERROR, "stream id lower than one used");
        }
        self.last_peer_id = id;
        if self.goaway_sent.is_some_and(|last| id > last) {
            // §6.8: streams above our GOAWAY are ignored.
            return;
        }
        let Ok(fields) = decoded else {
            // Too large: answer 431 rather than silently failing (RFC 6585 §5).
            self.refuse_with_status(sid, 431);
            return;
        };
        let open = self
            .streams
            .values()
            .filter(|s| s.state != State::Closed)
            .count();
        if open >= self.cfg.h2.max_concurrent_streams as usize {
            // §5.1.2: over our limit.
            return self.stream_error(sid, ErrorCode::REFUSED_STREAM);
        }
        let mut b = RequestBuilder::new();
        for f in fields {
            b.field(f);
        }
        let head = match b.finish(self.cfg.h2.enable_connect_protocol) {
            Ok(h) => h,
            Err(why) => return self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, why),
        };
        let expected_len = match headers::content_length(&head.fields) {
            Ok(n) => n,
            Err(why) => return self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, why),
        };
        if end_stream && expected_len.is_some_and(|n| n > 0) {
            return self.peer_stream_error(
                sid,
                ErrorCode::PROTOCOL_ERROR,
                "content-length without DATA",
            );
        }
        let mut stream = Stream::new(
            sid,
            head.method.clone(),
            self.peer.initial_window_size,
            self.cfg.h2.initial_window_size.max(DEFAULT_WINDOW),
        );
        stream.expected_len = expected_len;
        if let Some(p) = head.fields.get("priority") {
            let (u, i) = super::priority::parse(p);
            stream.urgency = u;
            stream.incremental = i;
        }
        let expect = !end_stream && head.fields.has_token("expect", "100-continue");
        stream.expect_continue = expect;
        if end_stream {
            stream.state = stream.state.recv_end();
        }
        self.streams.insert(id, stream);
        self.events.push_back(Event::Request {
            id: sid,
            head,
            end_stream,
        });
        if expect {
            self.events.push_back(Event::ContinueRequested { id: sid });
        }
    }

    /// HEADERS on a stream we know: a response (client), or trailers.
    fn on_headers_existing(
        &mut self,
        sid: StreamId,
        decoded: Result<Vec<hpack::Field>, Option<()>>,
        end_stream: bool,
    ) {
        let id = sid.get();
        let Some(stream) = self.streams.get(&id) else {
            return;
        };
        if !stream.state.recv_open() {
            return self.stream_error(sid, ErrorCode::STREAM_CLOSED);
        }
        let Ok(fields) = decoded else {
            return self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, "header list too large");
        };
        let is_trailers = self.side == Side::Server || stream.head == HeadState::Final;
        if is_trailers {
            // §8.1: trailers end the stream.
            if !end_stream {
                return self.peer_stream_error(
                    sid,
                    ErrorCode::PROTOCOL_ERROR,
                    "trailers without END_STREAM",
                );
            }
            let mut b = ResponseBuilder::new(true);
            for f in fields {
                b.field(f);
            }
            match b.finish_trailers() {
                Ok(t) => {
                    if let Some(s) = self.streams.get_mut(&id) {
                        if !t.is_empty() {
                            s.trailers = Some(t);
                        }
                    }
                    self.recv_end_stream(id);
                }
                Err(why) => self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, why),
            }
            return;
        }
        let mut b = ResponseBuilder::new(false);
        for f in fields {
            b.field(f);
        }
        let head = match b.finish_response() {
            Ok(h) => h,
            Err(why) => return self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, why),
        };
        if head.status < 200 {
            if end_stream || head.status == 101 {
                // §8.1: 1xx never ends a stream; 101 does not exist in HTTP/2 (§8.6).
                return self.peer_stream_error(
                    sid,
                    ErrorCode::PROTOCOL_ERROR,
                    "invalid interim response",
                );
            }
            if head.status == 100 {
                self.continue_received(id);
            }
            self.events
                .push_back(Event::Informational { id: sid, head });
            return;
        }
        let no_content = stream.method == Method::Head || head.status == 204 || head.status == 304;
        let expected_len = if no_content {
            Some(0)
        } else {
            match headers::content_length(&head.fields) {
                Ok(n) => n,
                Err(why) => return self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, why),
            }
        };
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.head = HeadState::Final;
        stream.expected_len = expected_len;
        if end_stream {
            stream.end_read = true;
        }
        self.events.push_back(Event::Response {
            id: sid,
            head,
            end_stream,
        });
        if end_stream {
            self.recv_end_stream(id);
        }
    }

    fn on_rst_stream(&mut self, r: frame::RstStream) {
        let id = r.stream_id.get();
        if !self.streams.contains_key(&id) {
            if !self.is_closed_id(id) {
                // §6.4: RST_STREAM on an idle stream.
                return self
                    .connection_error(ErrorCode::PROTOCOL_ERROR, "RST_STREAM on an idle stream");
            }
            return;
        }
        if self.side == Side::Client
            && r.error_code == ErrorCode::NO_ERROR
            && self.streams.get(&id).is_some_and(|s| !s.state.recv_open())
        {
            // §8.1: a complete response, then "stop sending the request":
            // the response stays readable.
            if let Some(s) = self.streams.get_mut(&id) {
                s.state = State::Closed;
                s.pending.clear();
                self.conn_pending -= core::mem::take(&mut s.pending_len);
                s.finish = None;
            }
            return self.maybe_retire(id);
        }
        if self.side == Side::Server && !self.spend_reset_token() {
            return;
        }
        self.remove_stream(id, Some((r.error_code, true)));
    }

    /// Rapid Reset (CVE-2023-44487) and MadeYouReset (CVE-2025-8671): each
    /// stream the peer cancels, or makes us cancel, costs a token; tokens
    /// refill over time. False (and GOAWAY) when the budget is exhausted.
    pub(super) fn spend_reset_token(&mut self) -> bool {
        let refill = self.cfg.h2.reset_refill.as_nanos().max(1);
        let elapsed = self
            .now
            .saturating_duration_since(self.reset_refilled)
            .as_nanos();
        let earned = u32::try_from(elapsed / refill).unwrap_or(u32::MAX);
        if earned > 0 {
            self.reset_tokens = self
                .reset_tokens
                .saturating_add(earned)
                .min(self.cfg.h2.max_resets);
            self.reset_refilled = self.now;
        }
        if self.reset_tokens == 0 {
            self.connection_error(ErrorCode::ENHANCE_YOUR_CALM, "too many stream resets");
            return false;
        }
        self.reset_tokens -= 1;
        true
    }

    fn on_settings(&mut self, s: frame::Settings) {
        if s.is_ack() {
            if self.settings_unacked == 0 {
                return self.connection_error(ErrorCode::PROTOCOL_ERROR, "unexpected SETTINGS ACK");
            }
            self.settings_unacked -= 1;
            // The initial SETTINGS carried `cfg` itself; later ones what
            // `update_settings` queued.
            if self.settings_pending.len() > self.settings_unacked as usize {
                if let Some(acked) = self.settings_pending.pop_front() {
                    self.apply_local_settings(acked);
                }
            }
            if self.settings_unacked == 0 {
                self.timers.stop(TimerKind::SettingsAck);
            }
            self.decoder
                .set_max_table_size(self.cfg.h2.header_table_size as usize);
            return;
        }
        if self.apply_settings(&s) {
            self.send_frame(frame::Settings::ack());
            self.pending_control += 1;
            self.events.push_back(Event::PeerSettings { settings: s });
        }
    }

    /// Our new settings were acknowledged: they bind from now on (§6.5.3).
    /// A changed SETTINGS_INITIAL_WINDOW_SIZE moves every stream's receive
    /// window by the difference, as the peer moved its send windows (§6.9.2).
    fn apply_local_settings(&mut self, acked: crate::config::H2Config) {
        let old = i64::from(self.cfg.h2.initial_window_size.max(DEFAULT_WINDOW));
        let new = i64::from(acked.initial_window_size.max(DEFAULT_WINDOW));
        if new != old {
            for s in self.streams.values_mut() {
                let _ = s.recv_window.adjust(new - old);
            }
        }
        let h2 = &mut self.cfg.h2;
        h2.max_concurrent_streams = acked.max_concurrent_streams;
        h2.initial_window_size = acked.initial_window_size;
        h2.max_header_list_size = acked.max_header_list_size;
        h2.header_table_size = acked.header_table_size;
    }

    /// Applies the peer's settings (§6.5.2, §6.9.2); false after a
    /// connection error.
    pub(super) fn apply_settings(&mut self, s: &frame::Settings) -> bool {
        if s.entry_count() > self.cfg.h2.max_settings_entries {
            self.connection_error(ErrorCode::ENHANCE_YOUR_CALM, "too many SETTINGS entries");
            return false;
        }
        if self.side == Side::Client && s.enable_push().is_some_and(|v| v != 0) {
            // §6.5.2: a server must not enable push.
            self.connection_error(ErrorCode::PROTOCOL_ERROR, "server sent ENABLE_PUSH=1");
            return false;
        }
        if let Some(n) = s.header_table_size() {
            self.encoder.set_max_table_size(n as usize);
        }
        if let Some(n) = s.max_concurrent_streams() {
            let grew = n > self.peer.max_concurrent_streams;
            self.peer.max_concurrent_streams = n;
            if grew && self.side == Side::Client {
                self.events.push_back(Event::StreamsAvailable);
            }
        }
        if let Some(n) = s.max_frame_size() {
            self.peer.max_frame_size = n;
        }
        if let Some(n) = s.max_header_list_size() {
            self.peer.max_header_list_size = n;
        }
        if let Some(n) = s.enable_connect_protocol() {
            self.peer.enable_connect_protocol = n == 1;
        }
        if let Some(n) = s.initial_window_size() {
            // §6.9.2: the change applies to every stream's send window.
            let delta = i64::from(n) - i64::from(self.peer.initial_window_size);
            self.peer.initial_window_size = n;
            let mut overflow = false;
            for st in self.streams.values_mut() {
                overflow |= st.send_window.adjust(delta).is_err();
            }
            if overflow {
                self.connection_error(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "window overflow after SETTINGS",
                );
                return false;
            }
            if delta > 0 {
                self.window_opened();
            }
        }
        true
    }

    fn on_ping(&mut self, p: frame::Ping) {
        if !p.ack {
            self.send_frame(frame::Ping::pong(p.payload));
            self.pending_control += 1;
            return;
        }
        if self.ping_outstanding == Some(p.payload) {
            self.ping_outstanding = None;
            self.timers.stop(TimerKind::PingTimeout);
            match self.ping_kind {
                PingKind::User => self.events.push_back(Event::Pong { payload: p.payload }),
                PingKind::KeepAlive => {}
                PingKind::Shutdown => {
                    self.shutdown_ping = false;
                    self.goaway_phase_two();
                }
            }
        }
    }

    fn on_window_update(&mut self, w: frame::WindowUpdate) {
        let id = w.stream_id.get();
        if id == 0 {
            if self.send_window.increase(w.increment).is_err() {
                return self
                    .connection_error(ErrorCode::FLOW_CONTROL_ERROR, "connection window overflow");
            }
            return self.window_opened();
        }
        let Some(s) = self.streams.get_mut(&id) else {
            if !self.is_closed_id(id) {
                return self.connection_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "WINDOW_UPDATE on an idle stream",
                );
            }
            return;
        };
        if s.send_window.increase(w.increment).is_err() {
            // §6.9.1: a stream window overflow is a stream error.
            return self.peer_stream_error(
                w.stream_id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "stream window overflow",
            );
        }
        if !s.scheduled && (!s.pending.is_empty() || s.finish.is_some()) {
            self.schedule(id);
        }
        let wanted = self.streams.get(&id).is_some_and(|s| s.write_wanted);
        if wanted && self.write_capacity_of(id) > 0 {
            if let Some(s) = self.streams.get_mut(&id) {
                s.write_wanted = false;
                let sid = s.id;
                self.events.push_back(Event::Writable { id: sid });
            }
        }
    }

    fn on_priority_update(&mut self, p: frame::PriorityUpdate) {
        if self.side == Side::Client {
            // RFC 9218 §7.1: only clients send PRIORITY_UPDATE.
            return self
                .connection_error(ErrorCode::PROTOCOL_ERROR, "PRIORITY_UPDATE from a server");
        }
        let (u, i) = super::priority::parse(&p.field_value);
        let id = p.prioritized_stream_id.get();
        if let Some(s) = self.streams.get_mut(&id) {
            s.urgency = u;
            s.incremental = i;
        }
        self.events.push_back(Event::PriorityUpdate {
            id: p.prioritized_stream_id,
            urgency: u,
            incremental: i,
        });
    }

    /// Emits `Writable` for every stream waiting for window.
    pub(super) fn wake_writers(&mut self) {
        let waiting: Vec<u32> = self
            .streams
            .values()
            .filter(|s| s.write_wanted)
            .map(|s| s.id.get())
            .collect();
        for id in waiting {
            if self.write_capacity_of(id) > 0 {
                if let Some(s) = self.streams.get_mut(&id) {
                    s.write_wanted = false;
                    let sid = s.id;
                    self.events.push_back(Event::Writable { id: sid });
                }
            }
        }
    }

    // ---- reading bodies ----------------------------------------------------

    pub(crate) fn read(&mut self, id: StreamId) -> ReadChunk {
        let key = id.get();
        let Some(s) = self.streams.get_mut(&key) else {
            return ReadChunk::End;
        };
        if s.expect_continue {
            s.expect_continue = false;
            if s.head == HeadState::Pending {
                self.send_continue(id);
            }
        }
        let Some(s) = self.streams.get_mut(&key) else {
            return ReadChunk::End;
        };
        if let Some(data) = s.queue.pop_front() {
            s.buffered -= data.len();
            let n = data.len();
            if self.cfg.h2.manual_flow_control {
                s.held += n;
            } else {
                self.release_stream(key, n);
                self.release_connection(n);
            }
            return ReadChunk::Data(data);
        }
        if s.state.recv_open() {
            s.readable_signaled = false;
            return ReadChunk::Blocked;
        }
        if let Some(t) = s.trailers.take() {
            return ReadChunk::Trailers(t);
        }
        s.end_read = true;
        self.maybe_retire(key);
        ReadChunk::End
    }

    /// Manual flow control: the application consumed `n` bytes of `id`.
    pub(crate) fn release(&mut self, id: StreamId, n: usize) {
        if !self.cfg.h2.manual_flow_control {
            return;
        }
        let Some(s) = self.streams.get_mut(&id.get()) else {
            return;
        };
        // Only what was read can be released (the peer's window is ours to
        // account, not the application's to inflate).
        let n = n.min(s.held);
        s.held -= n;
        self.release_stream(id.get(), n);
        self.release_connection(n);
    }

    /// The application consumed `n` bytes of stream `id`: return them to the
    /// peer once enough accumulated (batched WINDOW_UPDATE, §6.9).
    pub(super) fn release_stream(&mut self, id: u32, n: usize) {
        let threshold = self.cfg.h2.initial_window_size.max(DEFAULT_WINDOW) / 2;
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if !s.state.recv_open() {
            return; // The peer sends nothing more on it.
        }
        s.unreleased = s
            .unreleased
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        if s.unreleased >= threshold {
            let inc = core::mem::take(&mut s.unreleased);
            let _ = s.recv_window.increase(inc);
            let sid = s.id;
            self.send_frame(frame::WindowUpdate::new(sid, inc));
        }
    }

    pub(super) fn release_connection(&mut self, n: usize) {
        let threshold = self.cfg.h2.connection_window_size.max(DEFAULT_WINDOW) / 2;
        self.unreleased = self
            .unreleased
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        if self.unreleased >= threshold && !self.closed {
            let inc = core::mem::take(&mut self.unreleased);
            let _ = self.recv_window.increase(inc);
            self.send_frame(frame::WindowUpdate::new(frame::CONNECTION_STREAM, inc));
        }
    }
}
