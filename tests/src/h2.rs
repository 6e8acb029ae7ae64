//! An HTTP/2 raw peer: hand-built frames in, decoded frames out.
//!
//! [`Peer`] plays the other end of ONE core [`Connection`] (server or client)
//! speaking HTTP/2 from the first byte. It encodes frames with the public
//! codec ([`proto_core::h2::frame`]) and header blocks with its own HPACK
//! [`Encoder`]; everything the core writes back is decoded into a list of
//! [`Frame`]s, with HEADERS (+ CONTINUATION) blocks decoded by the peer's own
//! HPACK [`Decoder`] into field lists. The core is driven by the same
//! [`Endpoint`] as the HTTP/1 harness, so its events are logged and the
//! contract's invariants (one terminal event per stream, `Closed` once) are
//! checked on every event.
//!
//! Frames the core sent are compared as one-line renderings, e.g.
//! `GOAWAY last=1 PROTOCOL_ERROR`, `RST_STREAM 3 STREAM_CLOSED`,
//! `SETTINGS ACK`, `PING ACK 0102030405060708`, `WINDOW_UPDATE 0 +1000`,
//! `HEADERS 1 es {:status: 200, content-length: 2}`, `DATA 1 es len=2`
//! (see [`render`]), or as typed frames with [`Peer::take_frames`].
//!
//! ```
//! use proto_core::h2::frame;
//! use tests::h2::Peer;
//! use tests::{no_timers, sid};
//!
//! let mut p = Peer::server(no_timers());
//! p.handshake();
//! p.headers(1).request("GET", "/").end_stream().send();
//! p.send(frame::Data::new(sid(1), &b"late"[..], false));
//! assert_eq!(p.take(), ["RST_STREAM 1 STREAM_CLOSED"]);
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};
use proto_core::h2::frame::{
    self, Frame, FrameHeader, Headers, MAX_MAX_FRAME_SIZE, Settings, StreamDependency,
};
use proto_core::hpack::{Decoder, Encoder};

use super::{
    Config, Connection, Delivery, Duration, Endpoint, ErrorCode, Event, Instant, Protocol, Side,
    StreamId, T0, show,
};

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One frame as raw bytes: any type, flags, stream and payload (for frames
/// the codec's builders refuse to make, e.g. PING on a stream).
pub fn raw_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    let len = u32::try_from(payload.len()).expect("payload fits a frame");
    FrameHeader::new(kind, flags, StreamId::new(stream), len).encode(&mut buf);
    buf.put_slice(payload);
    buf.to_vec()
}

/// A frame's wire bytes.
pub fn encode(f: impl Into<Frame>) -> Vec<u8> {
    let mut buf = BytesMut::new();
    f.into().encode(&mut buf);
    buf.to_vec()
}

/// A field list as `{name: value, ...}`.
pub fn render_list(fields: &[(String, String)]) -> String {
    let inner: Vec<String> = fields.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn hex(b: &[u8]) -> String {
    let mut s = String::new();
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn code(c: ErrorCode) -> String {
    format!("{c:?}")
}

/// A one-line rendering of a frame the core sent; `fields` is the decoded
/// header block for HEADERS (None while the block is incomplete).
pub fn render(f: &Frame, fields: Option<&Vec<(String, String)>>) -> String {
    match f {
        Frame::Data(d) => format!(
            "DATA {}{} len={}",
            d.stream_id,
            if d.end_stream { " es" } else { "" },
            d.data.len()
        ),
        Frame::Headers(h) => {
            let mut s = format!("HEADERS {}", h.stream_id);
            if h.end_stream {
                s.push_str(" es");
            }
            if !h.end_headers {
                s.push_str(" (continued)");
            }
            if let Some(f) = fields {
                s.push(' ');
                s.push_str(&render_list(f));
            }
            s
        }
        Frame::Continuation(c) => format!(
            "CONTINUATION {}{}",
            c.stream_id,
            if c.end_headers { " eh" } else { "" }
        ),
        Frame::Priority(p) => format!("PRIORITY {}", p.stream_id),
        Frame::RstStream(r) => format!("RST_STREAM {} {}", r.stream_id, code(r.error_code)),
        Frame::Settings(s) if s.is_ack() => "SETTINGS ACK".to_owned(),
        Frame::Settings(s) => format!("SETTINGS {:?}", s.entries().collect::<Vec<_>>()),
        Frame::PushPromise(p) => format!("PUSH_PROMISE {} promised={}", p.stream_id, p.promised_id),
        Frame::Ping(p) if p.ack => format!("PING ACK {}", hex(&p.payload)),
        Frame::Ping(p) => format!("PING {}", hex(&p.payload)),
        Frame::GoAway(g) => format!("GOAWAY last={} {}", g.last_stream_id, code(g.error_code)),
        Frame::WindowUpdate(w) => format!("WINDOW_UPDATE {} +{}", w.stream_id, w.increment),
        Frame::PriorityUpdate(p) => format!(
            "PRIORITY_UPDATE {} {}",
            p.prioritized_stream_id,
            show(&p.field_value)
        ),
        other => format!(
            "FRAME type={:#x} stream={}",
            other.kind(),
            other.stream_id()
        ),
    }
}

/// The raw peer: one core `Connection` and the frames exchanged with it.
pub struct Peer {
    /// The core under test, its event log and invariant checks.
    pub ep: Endpoint,
    /// The virtual time.
    pub now: Instant,
    /// The core's role.
    pub side: Side,
    /// Our HPACK encoder (blocks we send).
    pub encoder: Encoder,
    /// Our HPACK decoder (blocks the core sends).
    pub decoder: Decoder,
    /// Every frame the core sent, in order.
    pub frames: Vec<Frame>,
    /// Decoded field lists, by index in `frames` of the HEADERS frame that
    /// started the block.
    pub fields: BTreeMap<usize, Vec<(String, String)>>,
    /// The largest frame we accept (our SETTINGS_MAX_FRAME_SIZE): the core
    /// must not send more (§4.2).
    pub max_frame_size: u32,
    rx: BytesMut,
    wire_seen: usize,
    preface_seen: bool,
    partial: Option<(usize, BytesMut)>,
    taken_frames: usize,
    taken_events: usize,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("frames", &self.rendered())
            .field("log", &self.ep.log)
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// A peer talking to an HTTP/2 server core (we are the client).
    pub fn server(cfg: Config) -> Self {
        Self::with(Side::Server, cfg, Delivery::WHOLE)
    }

    /// A peer talking to an HTTP/2 client core (we are the server).
    pub fn client(cfg: Config) -> Self {
        Self::with(Side::Client, cfg, Delivery::WHOLE)
    }

    /// A peer talking to a core of `side`; `delivery` says how our bytes are
    /// cut into `recv` calls and how short the core's writes are.
    pub fn with(side: Side, cfg: Config, delivery: Delivery) -> Self {
        let conn = Connection::with_protocol(side, Protocol::Http2, cfg, T0);
        let mut p = Self {
            ep: Endpoint::new(conn, delivery),
            now: T0,
            side,
            encoder: Encoder::new(),
            decoder: Decoder::new(4096),
            frames: Vec::new(),
            fields: BTreeMap::new(),
            max_frame_size: frame::DEFAULT_MAX_FRAME_SIZE,
            rx: BytesMut::new(),
            wire_seen: 0,
            preface_seen: side == Side::Server,
            partial: None,
            taken_frames: 0,
            taken_events: 0,
        };
        p.drive();
        p
    }

    // ---- sending -------------------------------------------------------

    /// Queues raw bytes for the core without driving.
    pub fn queue_raw(&mut self, bytes: &[u8]) {
        self.ep.inbound.extend_from_slice(bytes);
    }

    /// Queues a frame without driving (several frames then arrive together).
    pub fn queue(&mut self, f: impl Into<Frame>) {
        let b = encode(f);
        self.queue_raw(&b);
    }

    /// Sends raw bytes and drives.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.queue_raw(bytes);
        self.drive();
    }

    /// Sends a frame and drives.
    pub fn send(&mut self, f: impl Into<Frame>) {
        self.queue(f);
        self.drive();
    }

    /// Sends DATA on `id` and drives.
    pub fn data(&mut self, id: u32, data: &[u8], end_stream: bool) {
        self.send(frame::Data::new(
            StreamId::new(id),
            Bytes::copy_from_slice(data),
            end_stream,
        ));
    }

    /// Starts a HEADERS frame on `id` (see [`HeadersBuilder`]).
    pub fn headers(&mut self, id: u32) -> HeadersBuilder<'_> {
        HeadersBuilder {
            peer: self,
            id,
            fields: Vec::new(),
            end_stream: false,
            continuations: 0,
            pad: None,
            priority: None,
        }
    }

    /// HPACK-encodes `fields` with our encoder (the block must then be sent,
    /// or our table and the core's diverge).
    pub fn block(&mut self, fields: &[(&[u8], &[u8])]) -> Bytes {
        let mut b = BytesMut::new();
        self.encoder
            .encode(fields.iter().map(|(n, v)| (*n, *v, false)), &mut b);
        b.freeze()
    }

    /// Sends RST_STREAM and drives.
    pub fn rst(&mut self, id: u32, code: ErrorCode) {
        self.send(frame::RstStream::new(StreamId::new(id), code));
    }

    /// Sends WINDOW_UPDATE and drives.
    pub fn window_update(&mut self, id: u32, inc: u32) {
        self.send(frame::WindowUpdate::new(StreamId::new(id), inc));
    }

    /// Sends SETTINGS and drives.
    pub fn settings(&mut self, s: Settings) {
        self.send(s);
    }

    // ---- handshake -----------------------------------------------------

    /// The connection preface exchange with empty SETTINGS (see
    /// [`Peer::handshake_with`]).
    pub fn handshake(&mut self) -> Settings {
        self.handshake_with(Settings::default())
    }

    /// Server core: sends the client preface and `ours`, checks the core
    /// sent its SETTINGS (and optionally a connection WINDOW_UPDATE) and
    /// acknowledged ours, then ACKs its SETTINGS. Client core: checks its
    /// preface and SETTINGS, sends `ours` and the ACK. Returns the core's
    /// SETTINGS; the frames seen so far are marked taken.
    pub fn handshake_with(&mut self, ours: Settings) -> Settings {
        if let Some(n) = ours.max_frame_size() {
            self.max_frame_size = n;
        }
        if self.side == Side::Server {
            self.queue_raw(PREFACE);
        }
        self.queue(ours);
        self.drive();
        let got = self.take_frames();
        let theirs = got
            .iter()
            .find_map(|f| match f {
                Frame::Settings(s) if !s.is_ack() => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("core sent no SETTINGS: {self:#?}"));
        assert!(
            matches!(got.first(), Some(Frame::Settings(s)) if !s.is_ack()),
            "§3.4: the core's first frame must be SETTINGS: {self:#?}"
        );
        assert!(
            got.iter()
                .any(|f| matches!(f, Frame::Settings(s) if s.is_ack())),
            "§6.5.3: the core did not acknowledge our SETTINGS: {self:#?}"
        );
        for f in &got {
            assert!(
                matches!(f, Frame::Settings(_) | Frame::WindowUpdate(_)),
                "unexpected frame in the handshake: {f:?}"
            );
        }
        self.send(Settings::ack());
        theirs
    }

    // ---- driving -------------------------------------------------------

    /// Drives the core until nothing changes, then decodes what it wrote.
    pub fn drive(&mut self) {
        for _ in 0..10_000_000 {
            let now = self.now;
            let mut progress = self.ep.poll_events(now);
            progress |= self.ep.pump_writes();
            progress |= !self.ep.transmit().is_empty();
            progress |= self.ep.deliver(now);
            if !progress {
                self.collect();
                return;
            }
        }
        panic!("h2 peer did not quiesce: {self:#?}");
    }

    /// Advances the virtual clock, calls `handle_timeout`, drives.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.ep.conn.handle_timeout(self.now);
        self.drive();
    }

    /// Advances the clock to the core's next deadline (if any).
    pub fn advance_to_timeout(&mut self) -> bool {
        let Some(at) = self.ep.conn.poll_timeout() else {
            return false;
        };
        let d = at.saturating_duration_since(self.now);
        self.advance(d);
        true
    }

    /// The peer closes its write side.
    pub fn eof(&mut self) {
        self.ep.eof_pending = true;
        self.drive();
    }

    /// Decodes the core's new output into frames.
    fn collect(&mut self) {
        let new = &self.ep.wire[self.wire_seen..];
        self.rx.extend_from_slice(new);
        self.wire_seen = self.ep.wire.len();
        if !self.preface_seen {
            let n = self.rx.len().min(PREFACE.len());
            assert_eq!(
                &self.rx[..n],
                &PREFACE[..n],
                "§3.4: a client core must start with the preface"
            );
            if n < PREFACE.len() {
                return;
            }
            let _ = self.rx.split_to(n);
            self.preface_seen = true;
        }
        loop {
            if let Some(h) = FrameHeader::parse(&self.rx) {
                assert!(
                    h.len <= self.max_frame_size,
                    "§4.2: the core sent a {}-byte frame (type {:#x}) but our \
                     SETTINGS_MAX_FRAME_SIZE is {}",
                    h.len,
                    h.kind,
                    self.max_frame_size
                );
            }
            match frame::decode(&mut self.rx, MAX_MAX_FRAME_SIZE) {
                Ok(None) => return,
                Ok(Some(f)) => self.on_frame(f),
                Err(e) => panic!("the core sent an invalid frame: {e}\n{self:#?}"),
            }
        }
    }

    fn on_frame(&mut self, f: Frame) {
        let idx = self.frames.len();
        match &f {
            Frame::Headers(h) => {
                assert!(
                    self.partial.is_none(),
                    "§6.10: core interleaved HEADERS in a header block"
                );
                if h.end_headers {
                    self.decode_block(idx, &h.block);
                } else {
                    self.partial = Some((idx, BytesMut::from(&h.block[..])));
                }
            }
            Frame::Continuation(c) => {
                let Some((start, mut block)) = self.partial.take() else {
                    panic!("§6.10: core sent CONTINUATION without HEADERS");
                };
                block.extend_from_slice(&c.block);
                if c.end_headers {
                    self.decode_block(start, &block.freeze());
                } else {
                    self.partial = Some((start, block));
                }
            }
            other => assert!(
                self.partial.is_none(),
                "§6.10: core sent {other:?} inside a header block"
            ),
        }
        self.frames.push(f);
    }

    fn decode_block(&mut self, idx: usize, block: &Bytes) {
        let mut out = Vec::new();
        self.decoder
            .decode(block, usize::MAX, |f| {
                out.push((
                    String::from_utf8_lossy(&f.name).into_owned(),
                    String::from_utf8_lossy(&f.value).into_owned(),
                ));
            })
            .unwrap_or_else(|e| panic!("the core sent an undecodable header block: {e:?}"));
        self.fields.insert(idx, out);
    }

    // ---- inspecting ----------------------------------------------------

    /// Every frame the core sent, rendered.
    pub fn rendered(&self) -> Vec<String> {
        self.frames
            .iter()
            .enumerate()
            .map(|(i, f)| render(f, self.fields.get(&i)))
            .collect()
    }

    /// The frames sent since the last `take`/`take_frames`, rendered.
    pub fn take(&mut self) -> Vec<String> {
        let from = self.taken_frames;
        self.taken_frames = self.frames.len();
        self.rendered()[from..].to_vec()
    }

    /// The frames sent since the last `take`/`take_frames`.
    pub fn take_frames(&mut self) -> Vec<Frame> {
        let from = self.taken_frames;
        self.taken_frames = self.frames.len();
        self.frames[from..].to_vec()
    }

    /// The events the core emitted since the last call, as `Debug` strings.
    pub fn take_events(&mut self) -> Vec<String> {
        let from = self.taken_events;
        self.taken_events = self.ep.events.len();
        self.ep.events[from..]
            .iter()
            .map(|e| format!("{e:?}"))
            .collect()
    }

    /// The core's events so far.
    pub fn events(&self) -> &[Event] {
        &self.ep.events
    }

    /// The close reason, once the core emitted `Closed`.
    pub fn closed(&self) -> Option<&super::CloseReason> {
        self.ep.closed()
    }

    /// The GOAWAY frames the core sent: (last stream id, code).
    pub fn goaways(&self) -> Vec<(u32, ErrorCode)> {
        self.frames
            .iter()
            .filter_map(|f| match f {
                Frame::GoAway(g) => Some((g.last_stream_id.get(), g.error_code)),
                _ => None,
            })
            .collect()
    }

    /// The RST_STREAM frames the core sent: (stream, code).
    pub fn resets(&self) -> Vec<(u32, ErrorCode)> {
        self.frames
            .iter()
            .filter_map(|f| match f {
                Frame::RstStream(r) => Some((r.stream_id.get(), r.error_code)),
                _ => None,
            })
            .collect()
    }

    /// The decoded field lists of the HEADERS the core sent on `id`.
    pub fn header_blocks(&self, id: u32) -> Vec<Vec<(String, String)>> {
        self.fields
            .iter()
            .filter(|(i, _)| self.frames[**i].stream_id().get() == id)
            .map(|(_, f)| f.clone())
            .collect()
    }

    /// The DATA payload the core sent on `id`, concatenated.
    pub fn body(&self, id: u32) -> Vec<u8> {
        let mut v = Vec::new();
        for f in &self.frames {
            if let Frame::Data(d) = f {
                if d.stream_id.get() == id {
                    v.extend_from_slice(&d.data);
                }
            }
        }
        v
    }

    /// The sum of WINDOW_UPDATE increments the core sent on `id` (0: the
    /// connection).
    pub fn window_updates(&self, id: u32) -> u64 {
        self.frames
            .iter()
            .filter_map(|f| match f {
                Frame::WindowUpdate(w) if w.stream_id.get() == id => Some(u64::from(w.increment)),
                _ => None,
            })
            .sum()
    }

    /// Asserts a connection error (§5.4.1): the last frame the core sent
    /// since the last `take` is `GOAWAY last=<last> <code>`, and the core
    /// reported `Closed`.
    #[track_caller]
    pub fn assert_goaway(&mut self, last: u32, code: ErrorCode) {
        let got = self.take();
        let want = format!("GOAWAY last={last} {code:?}");
        assert_eq!(
            got.last(),
            Some(&want),
            "want a connection error; frames sent: {got:#?}\nlog: {:#?}",
            self.ep.log
        );
        assert!(
            self.closed().is_some(),
            "GOAWAY {code:?} sent but the core did not close: {:#?}",
            self.ep.log
        );
    }

    /// Asserts the core sent exactly `want` (rendered) since the last `take`.
    #[track_caller]
    pub fn assert_frames(&mut self, want: &[&str]) {
        let got = self.take();
        assert_eq!(got, want, "log: {:#?}", self.ep.log);
    }

    /// Asserts the connection is still open and answers a PING (so a
    /// stream error did not become a connection error).
    #[track_caller]
    pub fn assert_alive(&mut self) {
        assert!(
            self.closed().is_none(),
            "the connection closed: {:#?}",
            self.ep.log
        );
        let _ = self.take();
        self.send(frame::Ping::new(*b"alive?!!"));
        let got = self.take();
        assert_eq!(
            got,
            ["PING ACK 616c6976653f2121"],
            "log: {:#?}",
            self.ep.log
        );
    }

    /// The connection-level close code (GOAWAY) as the core reported it.
    pub fn closed_code(&self) -> Option<ErrorCode> {
        match self.closed()? {
            super::CloseReason::Peer(super::PeerError::H2 { code, .. }) => Some(*code),
            _ => None,
        }
    }
}

/// Builds one header block and sends it as HEADERS (+ CONTINUATION).
pub struct HeadersBuilder<'a> {
    peer: &'a mut Peer,
    id: u32,
    fields: Vec<(Vec<u8>, Vec<u8>)>,
    end_stream: bool,
    continuations: usize,
    pad: Option<u8>,
    priority: Option<StreamDependency>,
}

impl HeadersBuilder<'_> {
    /// The four request pseudo-headers: `:method`, `:scheme: https`,
    /// `:authority: example.com`, `:path`.
    #[must_use]
    pub fn request(self, method: &str, path: &str) -> Self {
        self.field(":method", method)
            .field(":scheme", "https")
            .field(":authority", "example.com")
            .field(":path", path)
    }

    /// `:status`.
    #[must_use]
    pub fn response(self, status: u16) -> Self {
        self.field(":status", status.to_string())
    }

    /// Any field, sent as given (no validation, no lowercasing).
    #[must_use]
    pub fn field(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.fields
            .push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    /// Sets END_STREAM.
    #[must_use]
    pub fn end_stream(mut self) -> Self {
        self.end_stream = true;
        self
    }

    /// Splits the block over HEADERS and `n` CONTINUATION frames.
    #[must_use]
    pub fn continuations(mut self, n: usize) -> Self {
        self.continuations = n;
        self
    }

    /// Pads the HEADERS frame.
    #[must_use]
    pub fn padded(mut self, pad: u8) -> Self {
        self.pad = Some(pad);
        self
    }

    /// Adds the (deprecated) priority fields.
    #[must_use]
    pub fn priority(mut self, dep: StreamDependency) -> Self {
        self.priority = Some(dep);
        self
    }

    /// The frames' bytes (encodes the block with the peer's encoder, so
    /// they must then be sent).
    pub fn bytes(self) -> Vec<u8> {
        self.build().1
    }

    /// Queues the frames without driving.
    pub fn queue(self) {
        let (peer, b) = self.build();
        peer.queue_raw(&b);
    }

    /// Sends the frames and drives.
    pub fn send(self) {
        let (peer, b) = self.build();
        peer.send_raw(&b);
    }
}

impl<'a> HeadersBuilder<'a> {
    fn build(self) -> (&'a mut Peer, Vec<u8>) {
        let Self {
            peer,
            id,
            fields,
            end_stream,
            continuations,
            pad,
            priority,
        } = self;
        let mut block = BytesMut::new();
        peer.encoder.encode(
            fields.iter().map(|(n, v)| (&n[..], &v[..], false)),
            &mut block,
        );
        let block = block.freeze();
        let sid = StreamId::new(id);
        let pieces = continuations + 1;
        let step = block.len().div_ceil(pieces).max(1);
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut at = 0;
        for i in 0..pieces {
            let end = if i + 1 == pieces {
                block.len()
            } else {
                (at + step).min(block.len())
            };
            chunks.push(block.slice(at..end));
            at = end;
        }
        let mut out = BytesMut::new();
        let mut h = Headers::new(sid, chunks[0].clone(), end_stream, pieces == 1);
        if let Some(p) = pad {
            h = h.with_padding(p);
        }
        if let Some(d) = priority {
            h = h.with_priority(d);
        }
        h.encode(&mut out);
        for (i, c) in chunks.iter().enumerate().skip(1) {
            frame::Continuation::new(sid, c.clone(), i + 1 == pieces).encode(&mut out);
        }
        (peer, out.to_vec())
    }
}

/// Decodes a whole HTTP/2 byte stream as one end wrote it (`from_client`:
/// starts with the preface) into frames; a trailing partial frame is ignored.
pub fn decode_wire(wire: &[u8], from_client: bool) -> Vec<Frame> {
    let mut buf = BytesMut::from(wire);
    if from_client {
        assert!(
            buf.starts_with(PREFACE),
            "client output does not start with the preface"
        );
        let _ = buf.split_to(PREFACE.len());
    }
    let mut out = Vec::new();
    while let Ok(Some(f)) = frame::decode(&mut buf, MAX_MAX_FRAME_SIZE) {
        out.push(f);
    }
    out
}
