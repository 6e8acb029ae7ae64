//! Shared test support: a deterministic in-memory harness for
//! [`proto_core::Connection`].
//!
//! Two shapes, after quinn-proto's `tests/util.rs`:
//!
//! - [`Pair`]: a client and a server `Connection` wired back to back through
//!   in-memory byte queues, with a virtual clock ([`Pair::advance`]) and a
//!   configurable [`Delivery`] (how received bytes are split into `recv`
//!   calls, and how many bytes each "transport write" accepts).
//! - [`Raw`]: one `Connection` fed hand-written bytes; everything it writes is
//!   collected so tests can assert the exact wire output.
//!
//! Both share [`Endpoint`], which drives one `Connection` by the documented
//! loop (input, events, output, timer), respects backpressure (`recv` may take
//! fewer bytes than offered; nothing is offered while `wants_read()` is false),
//! logs every event, optionally hands each event to an [`App`] callback that
//! acts like the application, and checks the contract's invariants on every
//! event: nothing after `Closed`, `Closed` at most once, at most one terminal
//! event per stream, and (on drop) exactly one terminal event for every stream
//! of a closed connection.
//!
//! Everything is deterministic: no clock reads, no sleeps, and the "random"
//! splits come from a fixed-seed xorshift.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use bytes::{Buf, Bytes, BytesMut};
pub use proto_core::{
    CloseReason, Config, Connection, Duration, ErrorCode, Event, Fields, Instant, Method, MinRate,
    PeerError, Protocol, ReadChunk, RequestHead, ResponseHead, Shutdown, Side, StreamId, TimerKind,
    UpgradeKind, UserError, Version,
};

/// The virtual clock's origin for every test (not zero, so that "from accept"
/// and "from zero" cannot be confused).
pub const T0: Instant = Instant::from_nanos(1_000_000_000_000);

/// Stream id `n` (1, 3, 5, ...).
pub fn sid(n: u32) -> StreamId {
    StreamId::new(n)
}

// ---------------------------------------------------------------------------
// Pseudo-randomness
// ---------------------------------------------------------------------------

/// A tiny xorshift64* generator: enough to split byte streams reproducibly.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (0 is remapped, xorshift cannot leave 0).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `1..=max` (`max` >= 1).
    pub fn between_1_and(&mut self, max: usize) -> usize {
        let max = max.max(1) as u64;
        (self.next_u64() % max) as usize + 1
    }
}

// ---------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------

/// How a byte stream is cut into pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Everything available at once.
    Whole,
    /// One byte at a time.
    Bytewise,
    /// Pieces of (at most) this many bytes.
    Fixed(usize),
    /// Pieces of 1..=`max` bytes, chosen by an xorshift seeded with `seed`.
    Random {
        /// The generator seed.
        seed: u64,
        /// The largest piece.
        max: usize,
    },
}

impl Split {
    fn seed(self) -> u64 {
        match self {
            Self::Random { seed, .. } => seed,
            _ => 1,
        }
    }

    fn piece(self, available: usize, rng: &mut XorShift) -> usize {
        let want = match self {
            Self::Whole => available,
            Self::Bytewise => 1,
            Self::Fixed(n) => n.max(1),
            Self::Random { max, .. } => rng.between_1_and(max),
        };
        want.min(available)
    }
}

/// How bytes travel between the two ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// How the receiver's `recv` calls are cut.
    pub recv: Split,
    /// How many bytes each transport write accepts (`transmit_complete(n)`);
    /// anything but `Whole` produces short writes.
    pub write: Split,
}

impl Delivery {
    /// Everything in one piece, full writes.
    pub const WHOLE: Self = Self {
        recv: Split::Whole,
        write: Split::Whole,
    };
    /// One byte per `recv`, one byte per write.
    pub const BYTEWISE: Self = Self {
        recv: Split::Bytewise,
        write: Split::Bytewise,
    };

    /// Seeded random `recv` splits and random short writes.
    pub fn random(seed: u64) -> Self {
        Self {
            recv: Split::Random { seed, max: 13 },
            write: Split::Random {
                seed: seed.wrapping_mul(31).wrapping_add(7),
                max: 11,
            },
        }
    }
}

impl Default for Delivery {
    fn default() -> Self {
        Self::WHOLE
    }
}

// ---------------------------------------------------------------------------
// Reading and writing helpers
// ---------------------------------------------------------------------------

/// Where a body read loop stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadState {
    /// `ReadChunk::Blocked`: more may come.
    Blocked,
    /// `ReadChunk::End`: the body is complete.
    End,
    /// `ReadChunk::Reset`.
    Reset(ErrorCode),
    /// `stream(id)` returned `None`.
    Gone,
}

/// Calls `stream(id).read()` until it stops returning data; appends the data
/// to `into` and stores trailers (`ReadChunk::Trailers`) in `trailers`.
/// Asserts that trailers come at most once, and after all data.
pub fn read_available(
    conn: &mut Connection,
    id: StreamId,
    into: &mut Vec<u8>,
    trailers: &mut Option<Fields>,
) -> ReadState {
    // Bounded so that a core that keeps returning empty data cannot hang a test.
    for _ in 0..1_000_000 {
        let Some(mut s) = conn.stream(id) else {
            return ReadState::Gone;
        };
        match s.read() {
            ReadChunk::Data(b) => {
                assert!(trailers.is_none(), "stream {id}: Data after Trailers");
                into.extend_from_slice(&b);
            }
            ReadChunk::Trailers(f) => {
                assert!(trailers.is_none(), "stream {id}: Trailers returned twice");
                *trailers = Some(f);
            }
            ReadChunk::Blocked => return ReadState::Blocked,
            ReadChunk::End => return ReadState::End,
            ReadChunk::Reset(code) => return ReadState::Reset(code),
        }
    }
    panic!("stream({id}).read() returned data a million times in a row");
}

/// Takes everything `poll_transmit` offers (full writes) and returns it.
pub fn drain_transmit(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let chunks = conn.poll_transmit();
        let n: usize = chunks.iter().map(Bytes::len).sum();
        if n == 0 {
            return out;
        }
        for c in chunks {
            out.extend_from_slice(c);
        }
        conn.transmit_complete(n);
    }
    panic!("poll_transmit never ran dry");
}

/// A response head with `fields` (name, value pairs).
pub fn response(status: u16, fields: &[(&str, &str)]) -> ResponseHead {
    let mut head = ResponseHead::new(status);
    for (n, v) in fields {
        head.fields.push(
            Bytes::copy_from_slice(n.as_bytes()),
            Bytes::copy_from_slice(v.as_bytes()),
        );
    }
    head
}

/// A request head with `fields` (name, value pairs); add `host` yourself.
pub fn request(method: Method, target: &str, fields: &[(&str, &str)]) -> RequestHead {
    let mut head = RequestHead::new(method, Bytes::copy_from_slice(target.as_bytes()));
    for (n, v) in fields {
        head.fields.push(
            Bytes::copy_from_slice(n.as_bytes()),
            Bytes::copy_from_slice(v.as_bytes()),
        );
    }
    head
}

/// `GET target` with `host: example.com`.
pub fn get(target: &str) -> RequestHead {
    request(Method::Get, target, &[("host", "example.com")])
}

/// Fields from (name, value) pairs.
pub fn fields(list: &[(&str, &str)]) -> Fields {
    let mut f = Fields::new();
    for (n, v) in list {
        f.push(
            Bytes::copy_from_slice(n.as_bytes()),
            Bytes::copy_from_slice(v.as_bytes()),
        );
    }
    f
}

/// Escapes bytes for logs and assertion messages.
pub fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

/// The stream an event concerns, if any.
pub fn event_stream(ev: &Event) -> Option<StreamId> {
    match ev {
        Event::Request { id, .. }
        | Event::Response { id, .. }
        | Event::Informational { id, .. }
        | Event::ContinueRequested { id }
        | Event::Readable { id }
        | Event::Writable { id }
        | Event::Finished { id }
        | Event::Reset { id, .. }
        | Event::Upgrade { id, .. } => Some(*id),
        _ => None,
    }
}

/// True for the events that end a stream.
pub fn is_terminal(ev: &Event) -> bool {
    matches!(
        ev,
        Event::Finished { .. } | Event::Reset { .. } | Event::Upgrade { .. }
    )
}

// ---------------------------------------------------------------------------
// The application side: pending writes and the App callback
// ---------------------------------------------------------------------------

/// A body the harness writes for the application as capacity allows.
#[derive(Debug)]
struct PendingWrite {
    id: StreamId,
    data: Bytes,
    finish: bool,
    trailers: Option<Fields>,
}

/// What an [`App`] callback may touch while handling an event.
pub struct Ctx<'a> {
    /// The connection.
    pub conn: &'a mut Connection,
    /// The current virtual time.
    pub now: Instant,
    log: &'a mut Vec<String>,
    bodies: &'a mut BTreeMap<StreamId, Vec<u8>>,
    trailers: &'a mut BTreeMap<StreamId, Option<Fields>>,
    writes: &'a mut Vec<PendingWrite>,
}

impl Ctx<'_> {
    /// Adds an application note to the endpoint's log (kept by `app_log`).
    pub fn note(&mut self, s: impl Into<String>) {
        self.log.push(format!("app: {}", s.into()));
    }

    /// Queues `body` (then `finish(trailers)` if `finish`) on stream `id`; the
    /// harness writes it as `write_capacity` allows.
    pub fn send_body(&mut self, id: StreamId, body: &[u8], finish: bool, trailers: Option<Fields>) {
        self.writes.push(PendingWrite {
            id,
            data: Bytes::copy_from_slice(body),
            finish,
            trailers,
        });
    }

    /// Sends `head` and then `body` in full, then finishes the stream. An
    /// empty body is sent with `end_stream`.
    pub fn respond(&mut self, id: StreamId, head: ResponseHead, body: &[u8]) {
        let end = body.is_empty();
        match self.conn.send_response(id, head, end) {
            Ok(()) => {
                if !end {
                    self.send_body(id, body, true, None);
                }
            }
            Err(e) => self.note(format!("send_response({id}) failed: {e:?}")),
        }
    }

    /// `respond` with `content-length` set to the body's length.
    pub fn respond_cl(&mut self, id: StreamId, status: u16, body: &[u8]) {
        let len = body.len().to_string();
        self.respond(id, response(status, &[("content-length", &len)]), body);
    }

    /// Reads what is available on `id` into the stream's accumulated body.
    /// Returns `Some(body)` (taking it) once the body is complete; logs
    /// `body <id>: <bytes>` (or the reset) at that point.
    ///
    /// Trailers returned by `read` are logged as `trailers <id>: <fields>`
    /// and kept (see [`Ctx::trailers`] and [`Endpoint::trailers`]).
    pub fn read_body(&mut self, id: StreamId) -> Option<Vec<u8>> {
        let buf = self.bodies.entry(id).or_default();
        let t = self.trailers.entry(id).or_default();
        let had = t.is_some();
        let st = read_available(self.conn, id, buf, t);
        if !had {
            if let Some(f) = t {
                let line = format!("app: trailers {id}: {}", render_fields(f));
                self.log.push(line);
            }
        }
        match st {
            ReadState::Blocked => None,
            ReadState::End => {
                let body = self.bodies.remove(&id).unwrap_or_default();
                self.log.push(format!("app: body {id}: {}", show(&body)));
                Some(body)
            }
            // Not logged: whether the app sees `Reset`/`Gone` here or only
            // the `Reset` event depends on when it reads, not on the core.
            _ => {
                self.bodies.remove(&id);
                None
            }
        }
    }
}

impl Ctx<'_> {
    /// The trailers read so far on `id`.
    pub fn trailers(&self, id: StreamId) -> Option<&Fields> {
        self.trailers.get(&id).and_then(Option::as_ref)
    }
}

/// `name: value, ...` for logs.
pub fn render_fields(f: &Fields) -> String {
    f.iter()
        .map(|h| format!("{}: {}", show(&h.name), show(&h.value)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The application: called with every event as it is polled.
pub type App = Box<dyn FnMut(&mut Ctx<'_>, &Event)>;

/// A server application: answers every request with `200`, body
/// `"<METHOD> <target> <request body>"`, content-length framed, once the
/// request body is complete.
pub fn echo_server() -> App {
    let mut methods: BTreeMap<StreamId, String> = BTreeMap::new();
    // Streams already answered: a `Readable` queued before the body was read
    // to its end may still arrive (events are queued); it is not an error.
    let mut done: BTreeSet<StreamId> = BTreeSet::new();
    Box::new(move |cx, ev| match ev {
        Event::Request {
            id,
            head,
            end_stream,
        } => {
            let tag = format!("{} {}", show(head.method.as_bytes()), show(&head.target));
            if *end_stream {
                let body = format!("{tag} ");
                cx.respond_cl(*id, 200, body.as_bytes());
            } else {
                methods.insert(*id, tag);
                if let Some(body) = cx.read_body(*id) {
                    done.insert(*id);
                    let tag = methods.remove(id).unwrap_or_default();
                    let out = format!("{tag} {}", show(&body));
                    cx.respond_cl(*id, 200, out.as_bytes());
                }
            }
        }
        Event::Readable { id } if !done.contains(id) => {
            if let Some(body) = cx.read_body(*id) {
                done.insert(*id);
                let tag = methods.remove(id).unwrap_or_default();
                let out = format!("{tag} {}", show(&body));
                cx.respond_cl(*id, 200, out.as_bytes());
            }
        }
        _ => {}
    })
}

/// An application that only reads bodies as they become readable.
pub fn reader() -> App {
    let mut done: BTreeSet<StreamId> = BTreeSet::new();
    Box::new(move |cx, ev| {
        if let Event::Readable { id } = ev {
            if !done.contains(id) && cx.read_body(*id).is_some() {
                done.insert(*id);
            }
        }
    })
}

// ---------------------------------------------------------------------------
// Endpoint: one driven Connection
// ---------------------------------------------------------------------------

/// One `Connection` with its queues, logs and invariant checks.
pub struct Endpoint {
    /// The connection under test.
    pub conn: Connection,
    /// Every event polled so far, in order.
    pub events: Vec<Event>,
    /// `format!("{ev:?}")` of every event, interleaved with application notes
    /// (prefixed `app: `).
    pub log: Vec<String>,
    /// Every byte this endpoint wrote to the transport (acknowledged with
    /// `transmit_complete`).
    pub wire: Vec<u8>,
    /// Bytes received from the peer and not yet taken by `recv`.
    pub inbound: BytesMut,
    /// The peer closed its write side: `recv_eof` once `inbound` is empty.
    pub eof_pending: bool,
    eof_delivered: bool,
    /// The application callback, if any.
    pub app: Option<App>,
    delivery: Delivery,
    recv_rng: XorShift,
    write_rng: XorShift,
    bodies: BTreeMap<StreamId, Vec<u8>>,
    trailers: BTreeMap<StreamId, Option<Fields>>,
    writes: Vec<PendingWrite>,
    closed_count: usize,
    closed_reason: Option<CloseReason>,
    terminal: BTreeMap<StreamId, usize>,
    streams: BTreeSet<StreamId>,
    /// Bytes `recv` took, call by call (for backpressure assertions).
    pub recv_calls: Vec<(usize, usize)>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("log", &self.log)
            .field("wire", &show(&self.wire))
            .field("inbound", &show(&self.inbound))
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// A new endpoint around `conn`.
    pub fn new(conn: Connection, delivery: Delivery) -> Self {
        Self {
            conn,
            events: Vec::new(),
            log: Vec::new(),
            wire: Vec::new(),
            inbound: BytesMut::new(),
            eof_pending: false,
            eof_delivered: false,
            app: None,
            delivery,
            recv_rng: XorShift::new(delivery.recv.seed()),
            write_rng: XorShift::new(delivery.write.seed()),
            bodies: BTreeMap::new(),
            trailers: BTreeMap::new(),
            writes: Vec::new(),
            closed_count: 0,
            closed_reason: None,
            terminal: BTreeMap::new(),
            streams: BTreeSet::new(),
            recv_calls: Vec::new(),
        }
    }

    /// Records a stream the application opened (client `send_request`).
    pub fn track_stream(&mut self, id: StreamId) {
        self.streams.insert(id);
    }

    /// Polls every pending event, checking invariants and calling the app.
    fn poll_events(&mut self, now: Instant) -> bool {
        let mut progress = false;
        while let Some(ev) = self.conn.poll_event() {
            progress = true;
            let rendered = format!("{ev:?}");
            assert_eq!(
                self.closed_count, 0,
                "event after Closed: {rendered}\nlog so far: {:#?}",
                self.log
            );
            if let Some(id) = event_stream(&ev) {
                self.streams.insert(id);
                if let Some(n) = self.terminal.get(&id) {
                    assert!(
                        *n == 0,
                        "event for stream {id} after its terminal event: {rendered}\nlog: {:#?}",
                        self.log
                    );
                }
                if is_terminal(&ev) {
                    *self.terminal.entry(id).or_default() += 1;
                }
            }
            if let Event::Closed { reason } = &ev {
                self.closed_count += 1;
                self.closed_reason = Some(reason.clone());
            }
            self.log.push(rendered);
            if let Some(mut app) = self.app.take() {
                let mut cx = Ctx {
                    conn: &mut self.conn,
                    now,
                    log: &mut self.log,
                    bodies: &mut self.bodies,
                    trailers: &mut self.trailers,
                    writes: &mut self.writes,
                };
                app(&mut cx, &ev);
                self.app = Some(app);
            }
            self.events.push(ev);
        }
        progress
    }

    /// Writes queued application bodies as capacity allows.
    fn pump_writes(&mut self) -> bool {
        let mut progress = false;
        let mut i = 0;
        while i < self.writes.len() {
            let w = &mut self.writes[i];
            let Some(mut s) = self.conn.stream(w.id) else {
                self.log.push(format!(
                    "app: stream {} gone with {} bytes unwritten",
                    w.id,
                    w.data.len()
                ));
                self.writes.remove(i);
                progress = true;
                continue;
            };
            if !w.data.is_empty() && s.write_capacity() > 0 {
                match s.write(&mut w.data) {
                    Ok(n) => progress |= n > 0,
                    Err(e) => {
                        let msg = format!("app: write({}) failed: {e:?}", w.id);
                        self.log.push(msg);
                        self.writes.remove(i);
                        progress = true;
                        continue;
                    }
                }
            }
            if w.data.is_empty() {
                let w = self.writes.remove(i);
                if w.finish {
                    if let Some(mut s) = self.conn.stream(w.id) {
                        if let Err(e) = s.finish(w.trailers) {
                            self.log
                                .push(format!("app: finish({}) failed: {e:?}", w.id));
                        }
                    }
                }
                progress = true;
                continue;
            }
            i += 1;
        }
        progress
    }

    /// One transport write: returns the bytes the "socket" accepted.
    fn transmit(&mut self) -> Vec<u8> {
        let write = self.delivery.write;
        let chunks = self.conn.poll_transmit();
        let total: usize = chunks.iter().map(Bytes::len).sum();
        if total == 0 {
            return Vec::new();
        }
        let n = write.piece(total, &mut self.write_rng);
        let mut out = Vec::with_capacity(n);
        for c in chunks {
            let room = n - out.len();
            if room == 0 {
                break;
            }
            out.extend_from_slice(&c[..c.len().min(room)]);
        }
        self.conn.transmit_complete(n);
        self.wire.extend_from_slice(&out);
        out
    }

    /// Offers one piece of `inbound` to `recv`, or EOF once it is empty.
    fn deliver(&mut self, now: Instant) -> bool {
        if self.upgraded() {
            return false;
        }
        if !self.inbound.is_empty() {
            if !self.conn.wants_read() {
                return false;
            }
            let n = self
                .delivery
                .recv
                .piece(self.inbound.len(), &mut self.recv_rng);
            let taken = self.conn.recv(now, &self.inbound[..n]);
            assert!(taken <= n, "recv took {taken} of {n} bytes");
            self.recv_calls.push((n, taken));
            self.inbound.advance(taken);
            return taken > 0;
        }
        if self.eof_pending && !self.eof_delivered {
            self.eof_delivered = true;
            self.conn.recv_eof(now);
            return true;
        }
        false
    }

    /// The close reason, once `Closed` was emitted.
    pub fn closed(&self) -> Option<&CloseReason> {
        self.closed_reason.as_ref()
    }

    /// True once the connection was upgraded (`Closed{Upgraded}`).
    pub fn upgraded(&self) -> bool {
        matches!(self.closed(), Some(CloseReason::Upgraded))
    }

    /// True once this end closed its transport: `Closed` (other than
    /// `Upgraded`) was emitted and nothing is left to write.
    pub fn transport_closed(&mut self) -> bool {
        matches!(self.closed(), Some(r) if *r != CloseReason::Upgraded)
            && self.conn.poll_transmit().iter().all(Bytes::is_empty)
    }

    /// Application notes only.
    pub fn app_log(&self) -> Vec<String> {
        self.log
            .iter()
            .filter(|l| l.starts_with("app: "))
            .cloned()
            .collect()
    }

    /// The log without the events whose number depends on how bytes were
    /// split (`Readable`, `Writable`): for split-independence comparisons.
    pub fn normalized_log(&self) -> Vec<String> {
        self.log
            .iter()
            .filter(|l| !l.starts_with("Readable") && !l.starts_with("Writable"))
            .cloned()
            .collect()
    }

    /// The events grouped per stream (key `conn` for connection-level
    /// events), without `Readable`/`Writable` (their number depends on how
    /// the bytes were split), plus the application notes under `app`.
    ///
    /// Within a stream, and for the connection, the order is kept; across
    /// streams it is not compared, because how far a core parses ahead of the
    /// application legitimately depends on how the input was split.
    pub fn split_log(&self) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ev in &self.events {
            if matches!(ev, Event::Readable { .. } | Event::Writable { .. }) {
                continue;
            }
            let key =
                event_stream(ev).map_or_else(|| "conn".to_owned(), |id| format!("stream {id}"));
            m.entry(key).or_default().push(format!("{ev:?}"));
        }
        m.insert("app".to_owned(), self.app_log());
        m
    }

    /// The wire output as (lossy) text.
    pub fn wire_str(&self) -> String {
        String::from_utf8_lossy(&self.wire).into_owned()
    }

    /// Number of events matching `f`.
    pub fn count(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }

    /// Whether any event matches `f`.
    pub fn saw(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(f)
    }

    /// The request heads received (server), in order.
    pub fn requests(&self) -> Vec<(StreamId, &RequestHead, bool)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Request {
                    id,
                    head,
                    end_stream,
                } => Some((*id, head, *end_stream)),
                _ => None,
            })
            .collect()
    }

    /// The final response heads received (client), in order.
    pub fn responses(&self) -> Vec<(StreamId, &ResponseHead, bool)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Response {
                    id,
                    head,
                    end_stream,
                } => Some((*id, head, *end_stream)),
                _ => None,
            })
            .collect()
    }

    /// Reads everything available on `id`, returning the data and where it stopped.
    pub fn read_body(&mut self, id: StreamId) -> (Vec<u8>, ReadState) {
        let mut v = Vec::new();
        let t = self.trailers.entry(id).or_default();
        let st = read_available(&mut self.conn, id, &mut v, t);
        (v, st)
    }

    /// Queues `body` (and `finish(trailers)` if `finish`) on `id`, written by
    /// the harness as capacity allows.
    pub fn send_body(&mut self, id: StreamId, body: &[u8], finish: bool, trailers: Option<Fields>) {
        self.writes.push(PendingWrite {
            id,
            data: Bytes::copy_from_slice(body),
            finish,
            trailers,
        });
    }

    /// Server: sends `head`, then `body` in full, and finishes (an empty body
    /// goes with `end_stream`).
    pub fn respond(&mut self, id: StreamId, head: ResponseHead, body: &[u8]) {
        let end = body.is_empty();
        self.conn
            .send_response(id, head, end)
            .expect("send_response");
        if !end {
            self.send_body(id, body, true, None);
        }
    }

    /// `respond` with `content-length`.
    pub fn respond_cl(&mut self, id: StreamId, status: u16, body: &[u8]) {
        let len = body.len().to_string();
        self.respond(id, response(status, &[("content-length", &len)]), body);
    }

    /// Client: sends `head` then `body` in full (empty: `end_stream`).
    pub fn request(&mut self, head: RequestHead, body: &[u8]) -> StreamId {
        let end = body.is_empty();
        let id = self.conn.send_request(head, end).expect("send_request");
        self.track_stream(id);
        if !end {
            self.send_body(id, body, true, None);
        }
        id
    }

    /// The trailers read on `id` (by the app or [`Endpoint::read_body`]).
    pub fn trailers(&self, id: StreamId) -> Option<&Fields> {
        self.trailers.get(&id).and_then(Option::as_ref)
    }

    /// Checks the end-of-life invariants (also run on drop): `Closed` at most
    /// once, and once closed, exactly one terminal event per stream seen.
    pub fn check_invariants(&self) {
        assert!(
            self.closed_count <= 1,
            "Closed emitted {} times",
            self.closed_count
        );
        for (id, n) in &self.terminal {
            assert!(
                *n <= 1,
                "stream {id} got {n} terminal events\nlog: {:#?}",
                self.log
            );
        }
        if self.closed_count == 1 {
            for id in &self.streams {
                let n = self.terminal.get(id).copied().unwrap_or(0);
                assert_eq!(
                    n, 1,
                    "stream {id} of a closed connection has {n} terminal events (want exactly 1)\nlog: {:#?}",
                    self.log
                );
            }
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.check_invariants();
        }
    }
}

// ---------------------------------------------------------------------------
// Pair
// ---------------------------------------------------------------------------

/// A client and a server wired back to back, with a virtual clock.
#[derive(Debug)]
pub struct Pair {
    /// The client end.
    pub client: Endpoint,
    /// The server end.
    pub server: Endpoint,
    /// The virtual time.
    pub now: Instant,
    client_write_closed: bool,
}

/// Which end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The client.
    Client,
    /// The server.
    Server,
}

impl Pair {
    /// A pair with default configs and whole delivery.
    pub fn new() -> Self {
        Self::with(Config::default(), Config::default(), Delivery::WHOLE)
    }

    /// A pair with the given configs and delivery, created at [`T0`].
    pub fn with(client: Config, server: Config, delivery: Delivery) -> Self {
        Self::with_protocol(Protocol::Http1, client, server, delivery)
    }

    /// An HTTP/2 pair (prior knowledge) with default configs.
    pub fn h2() -> Self {
        Self::with_protocol(
            Protocol::Http2,
            Config::default(),
            Config::default(),
            Delivery::WHOLE,
        )
    }

    /// A pair speaking `protocol` from the first byte.
    pub fn with_protocol(
        protocol: Protocol,
        client: Config,
        server: Config,
        delivery: Delivery,
    ) -> Self {
        Self::with_protocols(protocol, protocol, client, server, delivery)
    }

    /// A pair whose ends are created with their own protocol choice (e.g. a
    /// server with [`Protocol::Auto`]).
    pub fn with_protocols(
        client_protocol: Protocol,
        server_protocol: Protocol,
        client: Config,
        server: Config,
        delivery: Delivery,
    ) -> Self {
        let now = T0;
        let c = Connection::with_protocol(Side::Client, client_protocol, client, now);
        let s = Connection::with_protocol(Side::Server, server_protocol, server, now);
        let server_delivery = Delivery {
            recv: delivery.recv,
            write: match delivery.write {
                Split::Random { seed, max } => Split::Random {
                    seed: seed ^ 0x5555,
                    max,
                },
                w => w,
            },
        };
        let server_delivery = Delivery {
            recv: match server_delivery.recv {
                Split::Random { seed, max } => Split::Random {
                    seed: seed ^ 0xAAAA,
                    max,
                },
                r => r,
            },
            ..server_delivery
        };
        Self {
            client: Endpoint::new(c, delivery),
            server: Endpoint::new(s, server_delivery),
            now,
            client_write_closed: false,
        }
    }

    /// Moves bytes and events both ways until nothing changes.
    pub fn drive(&mut self) {
        for _ in 0..1_000_000 {
            if !self.step() {
                return;
            }
        }
        panic!(
            "pair did not quiesce\nclient: {:#?}\nserver: {:#?}",
            self.client, self.server
        );
    }

    /// One round: events, application writes, one transport write each way,
    /// one `recv` piece each way, EOFs. Returns whether anything happened.
    pub fn step(&mut self) -> bool {
        let now = self.now;
        let mut progress = false;
        progress |= self.client.poll_events(now);
        progress |= self.server.poll_events(now);
        progress |= self.client.pump_writes();
        progress |= self.server.pump_writes();

        let c2s = self.client.transmit();
        if !c2s.is_empty() {
            progress = true;
            if !self.server.transport_closed() {
                self.server.inbound.extend_from_slice(&c2s);
            }
        }
        let s2c = self.server.transmit();
        if !s2c.is_empty() {
            progress = true;
            if !self.client.transport_closed() {
                self.client.inbound.extend_from_slice(&s2c);
            }
        }
        if (self.client.transport_closed()
            || (self.client_write_closed && self.client.writes.is_empty()))
            && !self.server.eof_pending
            && self.client.conn.poll_transmit().iter().all(Bytes::is_empty)
        {
            self.server.eof_pending = true;
            progress = true;
        }
        if self.server.transport_closed() && !self.client.eof_pending {
            self.client.eof_pending = true;
            progress = true;
        }
        progress |= self.client.deliver(now);
        progress |= self.server.deliver(now);
        progress
    }

    /// The client shuts down its write side once its output is written
    /// (the server sees EOF after the bytes already sent).
    pub fn client_half_close(&mut self) {
        self.client_write_closed = true;
    }

    /// Advances the virtual clock by `d`, calls `handle_timeout` on both
    /// ends, then drives.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.client.conn.handle_timeout(self.now);
        self.server.conn.handle_timeout(self.now);
        self.drive();
    }

    /// The earliest deadline of either end.
    pub fn next_timeout(&self) -> Option<Instant> {
        match (
            self.client.conn.poll_timeout(),
            self.server.conn.poll_timeout(),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time since [`T0`].
    pub fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(T0)
    }

    /// Client sends a request (body written in full, then finished).
    pub fn request(&mut self, head: RequestHead, body: &[u8]) -> StreamId {
        self.client.request(head, body)
    }

    /// The endpoint `end`.
    pub fn end(&mut self, end: End) -> &mut Endpoint {
        match end {
            End::Client => &mut self.client,
            End::Server => &mut self.server,
        }
    }
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------------------
// Raw peer
// ---------------------------------------------------------------------------

/// One `Connection` fed hand-written bytes by the test.
#[derive(Debug)]
pub struct Raw {
    /// The endpoint under test.
    pub ep: Endpoint,
    /// The virtual time.
    pub now: Instant,
}

impl Raw {
    /// A raw server with `cfg`, created at [`T0`].
    pub fn server(cfg: Config) -> Self {
        Self::with(Side::Server, cfg, Delivery::WHOLE)
    }

    /// A raw client with `cfg`, created at [`T0`].
    pub fn client(cfg: Config) -> Self {
        Self::with(Side::Client, cfg, Delivery::WHOLE)
    }

    /// A raw endpoint of `side` with `cfg` and `delivery`.
    pub fn with(side: Side, cfg: Config, delivery: Delivery) -> Self {
        Self {
            ep: Endpoint::new(Connection::new(side, cfg, T0), delivery),
            now: T0,
        }
    }

    /// Sets the application callback.
    #[must_use]
    pub fn app(mut self, app: App) -> Self {
        self.ep.app = Some(app);
        self
    }

    /// Queues `bytes` from the peer and drives.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.ep.inbound.extend_from_slice(bytes);
        self.drive();
    }

    /// The peer closes its write side (after the bytes already fed).
    pub fn eof(&mut self) {
        self.ep.eof_pending = true;
        self.drive();
    }

    /// Drives until nothing changes.
    pub fn drive(&mut self) {
        for _ in 0..10_000_000 {
            let now = self.now;
            let mut progress = self.ep.poll_events(now);
            progress |= self.ep.pump_writes();
            progress |= !self.ep.transmit().is_empty();
            progress |= self.ep.deliver(now);
            if !progress {
                return;
            }
        }
        panic!("raw endpoint did not quiesce: {:#?}", self.ep);
    }

    /// Advances the clock, calls `handle_timeout`, drives.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.ep.conn.handle_timeout(self.now);
        self.drive();
    }

    /// Everything written so far, as text.
    pub fn out(&self) -> String {
        self.ep.wire_str()
    }

    /// The bytes written since the last call (as text), marking them seen.
    pub fn take_out(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.ep.wire).into_owned();
        self.ep.wire.clear();
        s
    }

    /// The close reason, if closed.
    pub fn closed(&self) -> Option<&CloseReason> {
        self.ep.closed()
    }

    /// Parses everything written so far as HTTP/1 responses.
    pub fn responses(&self) -> Vec<WireResponse> {
        parse_responses(&self.ep.wire)
    }
}

// ---------------------------------------------------------------------------
// An independent, minimal wire parser for assertions
// ---------------------------------------------------------------------------

/// A response as seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireResponse {
    /// The status line, without CRLF.
    pub status_line: String,
    /// The status code.
    pub status: u16,
    /// Header fields in order, names lowercased.
    pub fields: Vec<(String, String)>,
    /// The decoded body.
    pub body: Vec<u8>,
    /// Decoded trailer fields (chunked), names lowercased.
    pub trailers: Vec<(String, String)>,
    /// True if the body was chunked.
    pub chunked: bool,
}

impl WireResponse {
    /// The first value of `name` (lowercase).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// True if the `connection` field has the token `tok`.
    pub fn connection_has(&self, tok: &str) -> bool {
        self.fields
            .iter()
            .filter(|(n, _)| n == "connection")
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(tok)))
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

/// Header fields as (lowercased name, value) pairs.
pub type FieldList = Vec<(String, String)>;

fn parse_fields(mut b: &[u8]) -> Option<(FieldList, &[u8])> {
    let mut fields = Vec::new();
    loop {
        let i = find_crlf(b)?;
        let line = &b[..i];
        b = &b[i + 2..];
        if line.is_empty() {
            return Some((fields, b));
        }
        let text = String::from_utf8_lossy(line);
        let (n, v) = text.split_once(':')?;
        fields.push((n.to_ascii_lowercase(), v.trim().to_owned()));
    }
}

/// Parses a sequence of responses. Bodies: 1xx/204/304 none, chunked,
/// content-length, otherwise up to the end. Panics on anything malformed (the
/// core wrote it, so that is a failure). Responses to HEAD must be checked by
/// hand.
pub fn parse_responses(mut b: &[u8]) -> Vec<WireResponse> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let i = find_crlf(b).unwrap_or_else(|| panic!("no status line in {}", show(b)));
        let status_line = String::from_utf8_lossy(&b[..i]).into_owned();
        let status: u16 = status_line
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let (fields, rest) =
            parse_fields(&b[i + 2..]).unwrap_or_else(|| panic!("bad head in {}", show(b)));
        b = rest;
        let mut r = WireResponse {
            status_line,
            status,
            fields,
            body: Vec::new(),
            trailers: Vec::new(),
            chunked: false,
        };
        let te = r.field("transfer-encoding").map(str::to_owned);
        let cl = r.field("content-length").map(str::to_owned);
        if (100..200).contains(&status) || status == 204 || status == 304 {
        } else if te.is_some_and(|t| t.to_ascii_lowercase().ends_with("chunked")) {
            r.chunked = true;
            loop {
                let i = find_crlf(b).unwrap_or_else(|| panic!("bad chunk line in {}", show(b)));
                let line = String::from_utf8_lossy(&b[..i]).into_owned();
                let size_text = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size_text, 16)
                    .unwrap_or_else(|_| panic!("bad chunk size {line:?}"));
                b = &b[i + 2..];
                if size == 0 {
                    let (t, rest) =
                        parse_fields(b).unwrap_or_else(|| panic!("bad trailers {}", show(b)));
                    r.trailers = t;
                    b = rest;
                    break;
                }
                assert!(b.len() >= size + 2, "short chunk in {}", show(b));
                r.body.extend_from_slice(&b[..size]);
                assert_eq!(
                    &b[size..size + 2],
                    b"\r\n",
                    "chunk data not followed by CRLF"
                );
                b = &b[size + 2..];
            }
        } else if let Some(cl) = cl {
            let n: usize = cl
                .parse()
                .unwrap_or_else(|_| panic!("bad content-length {cl:?}"));
            assert!(
                b.len() >= n,
                "body shorter than content-length {n}: {}",
                show(b)
            );
            r.body = b[..n].to_vec();
            b = &b[n..];
        } else {
            r.body = b.to_vec();
            b = &[];
        }
        out.push(r);
    }
    out
}

/// A message as seen on the wire, reduced to what does not depend on how
/// the sender cut its body into chunks: start line, fields (without
/// `transfer-encoding`), decoded body, trailers.
pub fn semantic(wire: &[u8], requests: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut b = wire;
    while !b.is_empty() {
        let Some(i) = find_crlf(b) else {
            out.push(format!("garbage: {}", show(b)));
            break;
        };
        let start = String::from_utf8_lossy(&b[..i]).into_owned();
        let Some((fields, rest)) = parse_fields(&b[i + 2..]) else {
            out.push(format!("incomplete head: {}", show(b)));
            break;
        };
        b = rest;
        let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let status: u16 = if requests {
            0
        } else {
            start.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
        };
        let mut body = Vec::new();
        let mut trailers = Vec::new();
        let chunked =
            get("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().ends_with("chunked"));
        if !requests && ((100..200).contains(&status) || status == 204 || status == 304) {
        } else if chunked {
            while let Some(i) = find_crlf(b) {
                let line = String::from_utf8_lossy(&b[..i]).into_owned();
                let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                    .unwrap_or(0);
                b = &b[i + 2..];
                if size == 0 {
                    if let Some((t, rest)) = parse_fields(b) {
                        trailers = t;
                        b = rest;
                    }
                    break;
                }
                let n = size.min(b.len());
                body.extend_from_slice(&b[..n]);
                b = &b[(n + 2).min(b.len())..];
            }
        } else if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
            let n = n.min(b.len());
            body.extend_from_slice(&b[..n]);
            b = &b[n..];
        } else if !requests {
            body.extend_from_slice(b);
            b = &[];
        }
        let fields: Vec<_> = fields
            .into_iter()
            .filter(|(k, _)| k != "transfer-encoding")
            .collect();
        out.push(format!(
            "{start} {fields:?} body={} trailers={trailers:?} chunked={chunked}",
            show(&body)
        ));
    }
    out
}

/// `Err` if any response in `wire` follows one that carried
/// `connection: close` (RFC 9112 §9.6). Not for responses to HEAD.
pub fn check_nothing_after_close(wire: &[u8]) -> Result<(), String> {
    let rs = parse_responses(wire);
    match rs.iter().position(|r| r.connection_has("close")) {
        Some(i) if i + 1 != rs.len() => Err(format!(
            "RFC 9112 §9.6: response {} said `connection: close` but {} more followed: {}",
            i + 1,
            rs.len() - i - 1,
            show(wire)
        )),
        _ => Ok(()),
    }
}

/// Panicking form of [`check_nothing_after_close`].
pub fn assert_nothing_after_close(wire: &[u8]) {
    if let Err(e) = check_nothing_after_close(wire) {
        panic!("{e}");
    }
}

/// The status codes of the responses in `wire`, in order.
pub fn statuses(wire: &[u8]) -> Vec<u16> {
    parse_responses(wire).iter().map(|r| r.status).collect()
}

/// A config with all timers off (tests that do not test timers).
pub fn no_timers() -> Config {
    let mut c = Config::default();
    c.header_read_timeout = None;
    c.idle_timeout = None;
    c.body_read_timeout = None;
    c.min_body_rate = None;
    c.send_timeout = None;
    c.idle_release = None;
    c
}

pub mod h2;

/// The README examples, compiled and run as doctests.
#[cfg(doctest)]
mod readme;
