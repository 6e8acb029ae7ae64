//! A client and a server [`Connection`] back to back in memory, running
//! `GET /plaintext` → `200 Hello, World!` exchanges; shared by the benches,
//! the `h2_cycle`/`h1_client_cycle` examples (callgrind) and the
//! alloc-counter test (`#[path]`-included, since the core cannot depend on
//! the tests crate).
//!
//! Each side's work happens between [`Meter::start`] and [`Meter::stop`], so a
//! meter can attribute costs (allocations) to the client or the server. Bytes
//! move through one reusable buffer owned by the pair, outside both meters.
#![allow(dead_code)]

use bytes::Bytes;
use proto_core::{
    Config, Connection, Event, Fields, Instant, Method, Protocol, ReadChunk, RequestHead,
    ResponseHead, Side, StreamId,
};

/// What the server answers.
pub(crate) const BODY: &[u8] = b"Hello, World!";

/// Measures the two sides' work separately.
pub(crate) trait Meter {
    /// `side` starts working.
    fn start(&mut self, side: Side);
    /// `side` stops working.
    fn stop(&mut self, side: Side);
}

/// Measures nothing.
impl Meter for () {
    fn start(&mut self, _: Side) {}
    fn stop(&mut self, _: Side) {}
}

/// Config without timers (the pair's clock never moves).
pub(crate) fn config() -> Config {
    let mut cfg = Config::default();
    cfg.header_read_timeout = None;
    cfg.idle_timeout = None;
    cfg.body_read_timeout = None;
    cfg.send_timeout = None;
    cfg
}

/// A browser-like request head (HTTP/2 sends `host` as `:authority`).
pub(crate) fn request_head() -> RequestHead {
    let mut head = RequestHead::new(Method::Get, Bytes::from_static(b"/plaintext"));
    let mut f = Fields::with_capacity(4);
    f.push_static("host", "localhost:8080");
    f.push_static("user-agent", "pair/1");
    f.push_static(
        "accept",
        "text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,*/*;q=0.8",
    );
    head.fields = f;
    head
}

/// The server's answer head.
pub(crate) fn response_head() -> ResponseHead {
    let mut head = ResponseHead::new(200);
    let mut f = Fields::with_capacity(2);
    f.push_static("content-type", "text/plain");
    f.push_static("content-length", "13");
    head.fields = f;
    head
}

/// The two connections and the wire between them.
pub(crate) struct Pair {
    /// Sends the requests.
    pub(crate) client: Connection,
    /// Answers them.
    pub(crate) server: Connection,
    /// Bytes in flight from one side to the other (reused).
    wire: Vec<u8>,
    /// Requests sent and not yet answered to the client.
    in_flight: usize,
    /// Responses the client read completely.
    pub(crate) completed: usize,
    /// Body bytes the client read.
    pub(crate) body_bytes: usize,
}

impl Pair {
    /// A pair speaking `protocol` (`Http1` or `Http2`), handshake done.
    pub(crate) fn new(protocol: Protocol) -> Self {
        let mut pair = Self {
            client: Connection::with_protocol(Side::Client, protocol, config(), Instant::ZERO),
            server: Connection::with_protocol(Side::Server, protocol, config(), Instant::ZERO),
            wire: Vec::with_capacity(64 * 1024),
            in_flight: 0,
            completed: 0,
            body_bytes: 0,
        };
        pair.settle(&mut ());
        pair
    }

    /// Runs `n` exchanges, `depth` requests in flight at a time (depth > 1
    /// needs HTTP/2 or the server's pipelining on HTTP/1).
    pub(crate) fn run(&mut self, n: usize, depth: usize, meter: &mut impl Meter) {
        let target = self.completed + n;
        while self.completed < target {
            meter.start(Side::Client);
            let want = depth.min(target - self.completed);
            while self.in_flight < want && self.client.can_send_request() {
                // The application's head (one Vec) is not the core's cost.
                meter.stop(Side::Client);
                let head = request_head();
                meter.start(Side::Client);
                if self.client.send_request(head, true).is_err() {
                    break;
                }
                self.in_flight += 1;
            }
            meter.stop(Side::Client);
            let before = self.completed;
            self.settle(meter);
            assert!(self.completed > before, "pair stalled");
        }
    }

    /// Moves bytes and handles events both ways until neither side has
    /// anything to say.
    fn settle(&mut self, meter: &mut impl Meter) {
        loop {
            let mut moved = self.transfer(Side::Client, meter);
            meter.start(Side::Server);
            serve(&mut self.server, meter);
            meter.stop(Side::Server);
            moved |= self.transfer(Side::Server, meter);
            meter.start(Side::Client);
            let done = consume(&mut self.client, &mut self.body_bytes);
            meter.stop(Side::Client);
            self.completed += done;
            self.in_flight -= done.min(self.in_flight);
            if !moved {
                return;
            }
        }
    }

    /// Moves everything `from` has to send to its peer; true if any moved.
    fn transfer(&mut self, from: Side, meter: &mut impl Meter) -> bool {
        let to = match from {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        meter.start(from);
        let (src, dst) = match from {
            Side::Client => (&mut self.client, &mut self.server),
            Side::Server => (&mut self.server, &mut self.client),
        };
        self.wire.clear();
        loop {
            let out = src.poll_transmit();
            if out.is_empty() {
                break;
            }
            let mut n = 0;
            for b in out {
                self.wire.extend_from_slice(b);
                n += b.len();
            }
            src.transmit_complete(n);
        }
        meter.stop(from);
        if self.wire.is_empty() {
            return false;
        }
        meter.start(to);
        let mut off = 0;
        while off < self.wire.len() {
            let n = dst.recv(Instant::ZERO, &self.wire[off..]);
            assert!(n > 0, "receiver refused input");
            off += n;
        }
        meter.stop(to);
        true
    }
}

/// Server application: answers every request with [`BODY`]. The meter is
/// paused while the application builds its head (one Vec: not the core's cost).
pub(crate) fn serve(conn: &mut Connection, meter: &mut impl Meter) {
    while let Some(ev) = conn.poll_event() {
        if let Event::Request { id, head, .. } = ev {
            // Done with the request head: its storage serves the next one.
            conn.recycle_fields(head.fields);
            meter.stop(Side::Server);
            let head = response_head();
            meter.start(Side::Server);
            if conn.send_response(id, head, false).is_ok() {
                if let Some(mut s) = conn.stream(id) {
                    let _ = s.write(&mut Bytes::from_static(BODY));
                    let _ = s.finish(None);
                }
            }
        }
    }
}

/// Client application: reads every response body; returns how many
/// exchanges finished.
pub(crate) fn consume(conn: &mut Connection, body_bytes: &mut usize) -> usize {
    let mut done = 0;
    while let Some(ev) = conn.poll_event() {
        match ev {
            Event::Response { id, head, .. } => {
                conn.recycle_fields(head.fields);
                read_all(conn, id, body_bytes);
            }
            Event::Readable { id } => read_all(conn, id, body_bytes),
            Event::Finished { .. } => done += 1,
            Event::Reset { .. } | Event::Closed { .. } => panic!("pair: {ev:?}"),
            _ => {}
        }
    }
    done
}

fn read_all(conn: &mut Connection, id: StreamId, body_bytes: &mut usize) {
    if let Some(mut s) = conn.stream(id) {
        while let ReadChunk::Data(d) = s.read() {
            *body_bytes += d.len();
        }
    }
}
