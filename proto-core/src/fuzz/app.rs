//! One [`Connection`] driven the way an application drives it, with the
//! contract's invariants checked on every event (h1-contract.md, "Common"):
//! nothing after `Closed`, `Closed` once, one terminal event per stream and
//! nothing for a stream after it; plus bounds on what the core holds.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use crate::{
    Config, Connection, ErrorCode, Event, Fields, Method, ReadChunk, RequestHead, ResponseHead,
    Side, StreamId,
};

/// How the application behaves.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Policy {
    /// Server: answer each request as it arrives (the raw targets).
    pub(crate) auto_respond: bool,
    /// Server with `auto_respond`: accept upgrades and CONNECT.
    pub(crate) upgrade: bool,
    /// Read every body whenever the application acts.
    pub(crate) auto_read: bool,
    /// Bodies are [`pattern`] bytes from our own peer: check them.
    pub(crate) pattern: bool,
}

/// The application's view of one stream.
#[derive(Debug, Default)]
pub(crate) struct StreamApp {
    /// Body bytes still to write.
    pub(crate) to_write: usize,
    /// Body bytes `write` accepted.
    pub(crate) written: u64,
    /// Finish once everything is written; `true`: with trailers.
    pub(crate) finish: Option<bool>,
    /// `finish` succeeded.
    pub(crate) finished: bool,
    /// Body bytes read.
    pub(crate) read: u64,
    /// `read` returned `End`.
    pub(crate) ended: bool,
    /// The request carried `expect: 100-continue` (its body may be refused).
    pub(crate) expect: bool,
    /// Server: a final response was sent.
    pub(crate) responded: bool,
    /// The stream saw a reset (either way).
    pub(crate) reset: bool,
}

/// Memory bounds derived from the configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Most unread body bytes one stream may hold.
    pub(crate) stream_unread: usize,
    /// Most unread body bytes all streams together may hold.
    pub(crate) conn_unread: usize,
    /// Output the core may queue on its own (error answers, control frames).
    pub(crate) tx_base: usize,
    /// Output one stream may add between two moments the queue was empty.
    pub(crate) tx_per_stream: usize,
}

impl Limits {
    pub(crate) fn new(cfg: &Config, h2: bool) -> Self {
        let mut l = Self {
            stream_unread: 0,
            conn_unread: 0,
            tx_base: 0,
            tx_per_stream: cfg.send_buffer + 4096,
        };
        l.widen(cfg, h2);
        l
    }

    /// Bounds for a configuration that may replace the current one (a peer
    /// may still act on the old one, so keep the larger).
    pub(crate) fn widen(&mut self, cfg: &Config, h2: bool) {
        let (stream, conn, base) = if h2 {
            let w = cfg.h2.initial_window_size.max(65_535) as usize;
            let c = cfg.h2.connection_window_size.max(65_535) as usize;
            // The scheduler frames stream data into the output queue while it
            // holds less than a batch, so streams that keep writing while
            // the transport takes nothing may fill it that far (plus one
            // pass over the streams, counted per stream below).
            let batch = crate::h2::send::BATCH;
            (w, c, (cfg.h2.max_pending_control + 64) * 32 + 8192 + batch)
        } else {
            // A read may decode more body from the bounded read buffer.
            let read_cap = cfg.max_head_bytes.max(cfg.max_trailer_bytes).max(16 * 1024) + 1;
            let s = cfg.max_recv_buffer + read_cap;
            (s, s, 8192)
        };
        self.stream_unread = self.stream_unread.max(stream);
        self.conn_unread = self.conn_unread.max(conn);
        self.tx_base = self.tx_base.max(base);
    }
}

/// A request the client application sends when it can.
#[derive(Clone, Debug)]
pub(crate) struct Planned {
    pub(crate) head: RequestHead,
    pub(crate) body: usize,
    pub(crate) trailers: bool,
}

/// One connection and its application.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) conn: Connection,
    pub(crate) side: Side,
    pub(crate) now: crate::Instant,
    pub(crate) policy: Policy,
    pub(crate) limits: Limits,
    /// Events and command results, rendered.
    pub(crate) log: Vec<String>,
    /// Everything written to the transport.
    pub(crate) wire: Vec<u8>,
    /// Bytes past an upgrading message (`take_upgrade`).
    pub(crate) upgraded: Vec<u8>,
    pub(crate) apps: BTreeMap<u32, StreamApp>,
    /// Client: requests to send when `can_send_request`.
    pub(crate) queue: VecDeque<Planned>,
    /// Server: requests not answered yet (pair scripts pick from these).
    pub(crate) unanswered: Vec<u32>,
    terminal: BTreeMap<u32, u32>,
    seen: BTreeSet<u32>,
    pub(crate) closed: bool,
    /// Saw `TimedOut(SendStall)`: the core dropped what it owed.
    pub(crate) send_stalled: bool,
    /// Streams and commands since the output queue was last empty.
    touched: BTreeSet<u32>,
    commands: usize,
}

/// Body byte `off` of stream `id`, written by the client (`from_client`) or
/// the server: position-dependent so that loss, duplication and reordering show.
pub(crate) fn pattern(id: u32, from_client: bool, off: u64) -> u8 {
    let x = (off ^ (u64::from(id) << 40) ^ (u64::from(from_client) << 63))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x.to_be_bytes()[0]
}

fn stream_of(ev: &Event) -> Option<StreamId> {
    match ev {
        Event::Request { id, .. }
        | Event::Response { id, .. }
        | Event::Informational { id, .. }
        | Event::ContinueRequested { id }
        | Event::Readable { id }
        | Event::Writable { id }
        | Event::Finished { id }
        | Event::Reset { id, .. }
        | Event::Upgrade { id, .. }
        | Event::PriorityUpdate { id, .. } => Some(*id),
        _ => None,
    }
}

impl Endpoint {
    pub(crate) fn new(
        conn: Connection,
        now: crate::Instant,
        policy: Policy,
        limits: Limits,
    ) -> Self {
        Self {
            side: conn.side(),
            conn,
            now,
            policy,
            limits,
            log: Vec::new(),
            wire: Vec::new(),
            upgraded: Vec::new(),
            apps: BTreeMap::new(),
            queue: VecDeque::new(),
            unanswered: Vec::new(),
            terminal: BTreeMap::new(),
            seen: BTreeSet::new(),
            closed: false,
            send_stalled: false,
            touched: BTreeSet::new(),
            commands: 0,
        }
    }

    fn note<T: core::fmt::Debug>(&mut self, what: &str, id: u32, r: &T) {
        self.commands += 1;
        self.log.push(format!("{what}({id}) -> {r:?}"));
    }

    /// Drains events, acting on each; then reads, writes and sends what the
    /// application has pending. Returns true if anything happened.
    pub(crate) fn step(&mut self) -> bool {
        let mut progress = false;
        for _ in 0..100_000 {
            let Some(ev) = self.conn.poll_event() else {
                break;
            };
            progress = true;
            self.on_event(ev);
        }
        if self.policy.auto_read {
            progress |= self.read_every();
        }
        for id in self.live() {
            progress |= self.write_pending(id);
        }
        while !self.closed && !self.queue.is_empty() && self.conn.can_send_request() {
            let Some(p) = self.queue.pop_front() else {
                break;
            };
            progress = true;
            self.send_request(p);
        }
        self.check_tx();
        progress
    }

    /// Writes everything `poll_transmit` offers to `self.wire` (full writes).
    pub(crate) fn drain(&mut self) -> usize {
        let mut total = 0;
        for _ in 0..10_000 {
            let chunks = self.conn.poll_transmit();
            let n: usize = chunks.iter().map(Bytes::len).sum();
            if n == 0 {
                break;
            }
            for c in chunks {
                self.wire.extend_from_slice(c);
            }
            self.conn.transmit_complete(n);
            total += n;
        }
        self.check_tx();
        total
    }

    /// `step` and `drain` until nothing more happens.
    pub(crate) fn act(&mut self) {
        for _ in 0..1_000 {
            let progress = self.step();
            if self.drain() == 0 && !progress {
                return;
            }
        }
    }

    /// The output queue stays within config-derived bounds.
    pub(crate) fn check_tx(&mut self) {
        let queued: usize = self.conn.poll_transmit().iter().map(Bytes::len).sum();
        if queued == 0 {
            self.touched.clear();
            self.commands = 0;
            return;
        }
        let l = &self.limits;
        let bound = l.tx_base + l.tx_per_stream * self.touched.len() + 256 * self.commands;
        assert!(
            queued <= bound,
            "{:?}: {queued} bytes queued for sending, bound {bound} ({} streams, {} commands)",
            self.side,
            self.touched.len(),
            self.commands
        );
    }

    fn on_event(&mut self, ev: Event) {
        assert!(!self.closed, "{:?}: event after Closed: {ev:?}", self.side);
        if let Some(id) = stream_of(&ev) {
            let id = id.get();
            assert!(
                !self.terminal.contains_key(&id),
                "{:?}: event for stream {id} after its terminal event: {ev:?}",
                self.side
            );
            // A PRIORITY_UPDATE may name a stream the peer has not opened
            // yet (RFC 9218 §7.1): it does not open it, so no terminal
            // event is owed for it.
            if !matches!(ev, Event::PriorityUpdate { .. }) {
                self.seen.insert(id);
            }
            self.touched.insert(id);
        }
        self.log.push(format!("{ev:?}"));
        match ev {
            Event::Request {
                id,
                head,
                end_stream,
            } => {
                let app = self.apps.entry(id.get()).or_default();
                app.expect = head.fields.has_token("expect", "100-continue") && !end_stream;
                if self.policy.auto_respond {
                    self.auto_respond(id, &head);
                } else {
                    self.unanswered.push(id.get());
                }
            }
            Event::Response { id, .. } | Event::Informational { id, .. } => {
                self.apps.entry(id.get()).or_default();
            }
            Event::ContinueRequested { id } if self.policy.auto_respond => {
                let r = self.conn.accept_continue(id);
                self.note("accept_continue", id.get(), &r);
            }
            Event::Finished { id } | Event::Upgrade { id, .. } | Event::Reset { id, .. } => {
                if matches!(ev, Event::Reset { .. }) {
                    self.apps.entry(id.get()).or_default().reset = true;
                }
                if matches!(ev, Event::Upgrade { .. }) {
                    // How much of it the core holds depends on the reads; the
                    // raw targets compare it with what it did not take.
                    let r = self.conn.take_upgrade(id);
                    self.upgraded
                        .extend_from_slice(r.as_deref().unwrap_or_default());
                    self.note("take_upgrade", id.get(), &r.is_some());
                }
                let n = self.terminal.entry(id.get()).or_default();
                *n += 1;
                assert!(*n == 1, "{:?}: second terminal event: {ev:?}", self.side);
                self.unanswered.retain(|&u| u != id.get());
            }
            Event::Closed { .. } => self.closed = true,
            Event::TimedOut {
                kind: crate::TimerKind::SendStall,
            } => self.send_stalled = true,
            _ => {}
        }
    }

    /// The raw targets' server: a response chosen from the stream id.
    fn auto_respond(&mut self, id: StreamId, req: &RequestHead) {
        let n = id.get() / 2;
        let upgrade = req.fields.has_token("connection", "upgrade");
        if self.policy.upgrade && (req.method == Method::Connect || upgrade) {
            let mut head = ResponseHead::new(if upgrade { 101 } else { 200 });
            if let Some(u) = req.fields.get("upgrade").filter(|_| upgrade) {
                head.fields.push_static("connection", "upgrade");
                head.fields.push(Bytes::from_static(b"upgrade"), u.clone());
            }
            self.respond(id.get(), head, 100, false, false);
            return;
        }
        let (status, body, trailers) = match n % 6 {
            0 => (200, (n as usize * 37) % 1500, n % 4 == 0),
            1 => (204, 0, false),
            2 => (404, 11, false),
            3 => (200, 70_000, true),
            4 => (500, 0, false),
            _ => (200, 3, false),
        };
        if n % 6 == 3 {
            let r = self.conn.send_informational(id, ResponseHead::new(103));
            self.note("send_informational", id.get(), &r);
        }
        let mut head = ResponseHead::new(status);
        if n % 6 == 2 {
            head.fields.push_static("content-length", "11");
        }
        self.respond(id.get(), head, body, trailers, status == 204);
    }

    /// Sends a final response; the body follows as capacity allows.
    pub(crate) fn respond(
        &mut self,
        id: u32,
        head: ResponseHead,
        body: usize,
        trailers: bool,
        end: bool,
    ) {
        let end = end || (body == 0 && !trailers);
        let r = self.conn.send_response(StreamId::new(id), head, end);
        self.note("send_response", id, &r);
        self.unanswered.retain(|&u| u != id);
        let app = self.apps.entry(id).or_default();
        app.responded = true;
        if r.is_ok() && !end {
            app.to_write += body;
            app.finish = Some(trailers);
        }
        self.write_pending(id);
    }

    pub(crate) fn send_request(&mut self, p: Planned) {
        let end = p.body == 0 && !p.trailers;
        let expect = p.head.fields.has_token("expect", "100-continue");
        let r = self.conn.send_request(p.head, end);
        self.commands += 1;
        self.log.push(format!("send_request -> {r:?}"));
        if let Ok(id) = r {
            self.seen.insert(id.get());
            self.touched.insert(id.get());
            let app = self.apps.entry(id.get()).or_default();
            app.expect = expect;
            if !end {
                app.to_write = p.body;
                app.finish = Some(p.trailers);
            }
            self.write_pending(id.get());
        }
    }

    /// Writes what capacity allows of the pending body, then finishes.
    pub(crate) fn write_pending(&mut self, id: u32) -> bool {
        let from_client = self.side == Side::Client;
        let Some(app) = self.apps.get_mut(&id) else {
            return false;
        };
        let Some(mut s) = self.conn.stream(StreamId::new(id)) else {
            return false;
        };
        let mut progress = false;
        if app.to_write > 0 {
            // One byte more than the capacity: a short write arms `Writable`.
            let len = app.to_write.min(s.write_capacity().saturating_add(1));
            let data: Vec<u8> = (0..len as u64)
                .map(|i| pattern(id, from_client, app.written + i))
                .collect();
            let mut data = Bytes::from(data);
            match s.write(&mut data) {
                Ok(n) => {
                    app.written += n as u64;
                    app.to_write -= n;
                    progress = n > 0;
                    if n > 0 {
                        self.commands += 1;
                        self.touched.insert(id);
                    }
                }
                Err(e) => {
                    app.to_write = 0;
                    self.commands += 1;
                    self.log.push(format!("write({id}) -> {e:?}"));
                }
            }
        }
        if app.to_write == 0
            && let Some(trailers) = app.finish.take()
        {
            let t = trailers.then(|| Fields::new().with("x-checksum", "1"));
            let r = s.finish(t);
            app.finished = r.is_ok();
            progress = true;
            self.note("finish", id, &r);
        }
        progress
    }

    /// Reads the stream until it blocks, checking the bytes and the bound on
    /// what the core held unread.
    pub(crate) fn read_all(&mut self, id: u32) -> bool {
        let from_client = self.side == Side::Server;
        let mut drained = 0usize;
        let mut progress = false;
        for _ in 0..1_000_000 {
            let Some(mut s) = self.conn.stream(StreamId::new(id)) else {
                break;
            };
            let chunk = s.read();
            let app = self.apps.entry(id).or_default();
            match chunk {
                ReadChunk::Data(b) => {
                    if self.policy.pattern {
                        for (i, &byte) in b.iter().enumerate() {
                            let off = app.read + i as u64;
                            assert!(
                                byte == pattern(id, from_client, off),
                                "{:?}: stream {id}: wrong body byte at offset {off}",
                                self.side
                            );
                        }
                    }
                    app.read += b.len() as u64;
                    drained += b.len();
                    progress = true;
                }
                ReadChunk::Trailers(f) => {
                    progress = true;
                    self.log.push(format!("trailers({id}) {f:?}"));
                }
                ReadChunk::End => {
                    if !app.ended {
                        app.ended = true;
                        progress = true;
                        let read = app.read;
                        self.log.push(format!("end({id}) after {read} bytes"));
                    }
                    break;
                }
                ReadChunk::Reset(code) => {
                    if !app.reset {
                        app.reset = true;
                        progress = true;
                        self.log.push(format!("read({id}) -> Reset({code:?})"));
                    }
                    break;
                }
                ReadChunk::Blocked => break,
            }
        }
        assert!(
            drained <= self.limits.stream_unread,
            "{:?}: stream {id} held {drained} unread body bytes, bound {}",
            self.side,
            self.limits.stream_unread
        );
        if progress {
            self.commands += 1;
        }
        progress
    }

    /// Reads every stream; checks the connection-wide unread bound.
    pub(crate) fn read_every(&mut self) -> bool {
        let before: u64 = self.apps.values().map(|a| a.read).sum();
        let mut progress = false;
        for id in self.live() {
            progress |= self.read_all(id);
        }
        let after: u64 = self.apps.values().map(|a| a.read).sum();
        let drained = after - before;
        assert!(
            drained <= self.limits.conn_unread as u64,
            "{:?}: the connection held {drained} unread body bytes, bound {}",
            self.side,
            self.limits.conn_unread
        );
        progress
    }

    /// The end of a run: abort everything, write it out, and check that the
    /// connection closed once and every stream ended exactly once.
    pub(crate) fn finish_run(&mut self) {
        self.conn.shutdown(crate::Shutdown::Immediate);
        self.act();
        assert!(
            self.closed,
            "{:?}: no Closed after Shutdown::Immediate",
            self.side
        );
        for id in &self.seen {
            let n = self.terminal.get(id).copied().unwrap_or(0);
            assert!(n == 1, "{:?}: stream {id} ended {n} times", self.side);
        }
    }

    /// A reset through the stream handle (pair scripts).
    pub(crate) fn reset(&mut self, id: u32, code: ErrorCode) {
        if let Some(mut s) = self.conn.stream(StreamId::new(id)) {
            s.reset(code);
            self.note("reset", id, &());
        }
    }

    /// Streams the application knows that have not ended.
    pub(crate) fn live(&self) -> Vec<u32> {
        self.apps
            .keys()
            .copied()
            .filter(|id| !self.terminal.contains_key(id))
            .collect()
    }
}
