//! `pair_ops`: a client and a server core back to back in memory, driven by a
//! script of operations decoded from the fuzzer's bytes (see [`Op`]).
//!
//! Checked: everything in [`super::app`] (event invariants, bounds), that
//! queued output never changes before it is written, HTTP/2 flow control
//! from the wire ([`super::flow`]), and that every body byte read is the
//! byte the peer's application wrote at that offset, with complete bodies
//! of the same length.

use bytes::Bytes;

use super::app::{Endpoint, Limits, Planned, Policy};
use super::flow::Flow;
use super::input::Input;
use super::raw::small;
use crate::{
    Config, Connection, Duration, ErrorCode, Fields, H2Config, Instant, Method, Protocol,
    RequestHead, ResponseHead, Shutdown, Side, StreamId,
};

const T0: Instant = Instant::from_nanos(1_000_000_000_000);

/// One operation of a script. Sides: 0 client, 1 server.
#[derive(Debug)]
enum Op {
    Request {
        kind: u8,
        body: u16,
    },
    Respond {
        sel: u8,
        status: u8,
        body: u16,
        trailers: bool,
        length: bool,
    },
    Write {
        side: usize,
        sel: u8,
        len: u16,
    },
    Finish {
        side: usize,
        sel: u8,
        trailers: bool,
    },
    Read {
        side: usize,
        sel: u8,
    },
    Reset {
        side: usize,
        sel: u8,
        code: u8,
    },
    Ping {
        side: usize,
        payload: u8,
    },
    Settings {
        side: usize,
        knobs: u8,
    },
    Shutdown {
        side: usize,
        graceful: bool,
        drain: u8,
    },
    Advance {
        ms: u16,
    },
    /// Moves at most `max` bytes from `from`'s output to its peer: writes
    /// of at most `write` bytes, `recv` calls of at most `piece` bytes.
    Deliver {
        from: usize,
        max: u16,
        write: u8,
        piece: u8,
    },
    Settle,
    Eof {
        side: usize,
    },
    Interim {
        sel: u8,
        informational: bool,
    },
    AutoRead {
        side: usize,
    },
}

impl Op {
    fn decode(inp: &mut Input<'_>) -> Self {
        let side = |b: u8| usize::from(b & 1);
        match inp.u8() % 16 {
            0 => Self::Request {
                kind: inp.u8(),
                body: inp.u16() % 20_000,
            },
            1 => Self::Respond {
                sel: inp.u8(),
                status: inp.u8(),
                body: inp.u16() % 20_000,
                trailers: inp.bool(),
                length: inp.bool(),
            },
            2 => Self::Write {
                side: side(inp.u8()),
                sel: inp.u8(),
                len: inp.u16() % 20_000,
            },
            3 => Self::Finish {
                side: side(inp.u8()),
                sel: inp.u8(),
                trailers: inp.bool(),
            },
            4 => Self::Read {
                side: side(inp.u8()),
                sel: inp.u8(),
            },
            5 => Self::Reset {
                side: side(inp.u8()),
                sel: inp.u8(),
                code: inp.u8(),
            },
            6 => Self::Ping {
                side: side(inp.u8()),
                payload: inp.u8(),
            },
            7 => Self::Settings {
                side: side(inp.u8()),
                knobs: inp.u8(),
            },
            8 => Self::Shutdown {
                side: side(inp.u8()),
                graceful: inp.bool(),
                drain: inp.u8(),
            },
            9 => Self::Advance { ms: inp.u16() },
            10 | 11 => Self::Deliver {
                from: side(inp.u8()),
                max: inp.u16(),
                write: inp.u8(),
                piece: inp.u8(),
            },
            12 => Self::Settle,
            13 => Self::Eof {
                side: side(inp.u8()),
            },
            14 => Self::Interim {
                sel: inp.u8(),
                informational: inp.bool(),
            },
            _ => Self::AutoRead {
                side: side(inp.u8()),
            },
        }
    }
}

/// One side's transport: what was queued and seen, what is in flight.
#[derive(Debug, Default)]
struct Link {
    /// Queued output already seen but not written: must not change.
    seen: Vec<u8>,
    /// Written, not yet taken in by the peer.
    in_flight: Vec<u8>,
    /// The write side is closed (`Eof`); the peer got `recv_eof`.
    eof: bool,
}

struct Pair {
    ep: [Endpoint; 2],
    link: [Link; 2],
    flow: Option<Flow>,
    now: Instant,
}

fn config(inp: &mut Input<'_>, flags: u8) -> Config {
    let mut c = Config::default();
    if flags & 2 != 0 {
        small(&mut c);
    }
    if flags & 4 != 0 {
        c.header_read_timeout = None;
        c.idle_timeout = None;
        c.body_read_timeout = None;
    }
    c.send_buffer = inp.pick(&[512, 4096, 16_384, 65_536]);
    c.max_recv_buffer = inp.pick(&[1024, 16_384, 65_536]);
    c.h2.initial_window_size = inp.pick(&[65_535, 100_000, 262_144]);
    c.h2.connection_window_size = inp.pick(&[65_535, 131_072, 1 << 20]);
    c.h2.max_concurrent_streams = inp.pick(&[1, 3, 100]);
    c.h2.max_frame_size = inp.pick(&[16_384, 16_384, 40_000]);
    c
}

impl Pair {
    fn new(inp: &mut Input<'_>) -> Self {
        let flags = inp.u8();
        let h2 = flags & 1 != 0;
        let protocol = if h2 { Protocol::Http2 } else { Protocol::Http1 };
        let ccfg = config(inp, flags);
        let scfg = config(inp, flags);
        let mk = |side, cfg: Config| {
            let limits = Limits::new(&cfg, h2);
            let policy = Policy {
                auto_read: true,
                pattern: true,
                ..Policy::default()
            };
            Endpoint::new(
                Connection::with_protocol(side, protocol, cfg, T0),
                T0,
                policy,
                limits,
            )
        };
        Self {
            ep: [mk(Side::Client, ccfg), mk(Side::Server, scfg)],
            link: [Link::default(), Link::default()],
            flow: h2.then(Flow::new),
            now: T0,
        }
    }

    /// Looks at side `s`'s queued output: the bytes seen before must still be
    /// at its front; new bytes count as sent with what `s` knows now.
    ///
    /// Compared slice by slice, copying only the new bytes: a byte-wise copy
    /// of the whole queue on every call made long scripts quadratic (a
    /// campaign timeout, 4.6 s for one input).
    fn observe(&mut self, s: usize) {
        let link = &mut self.link[s];
        let mut matched = 0;
        let mut new = Vec::new();
        for chunk in self.ep[s].conn.poll_transmit() {
            let old = link.seen.get(matched..).unwrap_or_default();
            let k = old.len().min(chunk.len());
            assert!(
                chunk.get(..k) == old.get(..k),
                "side {s}: queued output changed before it was written"
            );
            matched += k;
            new.extend_from_slice(chunk.get(k..).unwrap_or_default());
        }
        assert!(
            matched == link.seen.len(),
            "side {s}: queued output shrank before it was written"
        );
        if let Some(flow) = &mut self.flow {
            flow.produced(s, &new);
        }
        link.seen.extend_from_slice(&new);
    }

    fn step(&mut self) {
        for ep in &mut self.ep {
            ep.step();
        }
    }

    /// Returns the number of bytes moved.
    fn deliver(&mut self, from: usize, max: usize, write: usize, piece: usize) -> usize {
        let to = 1 - from;
        self.observe(from);
        // The transport write(s).
        let mut budget = max;
        while budget > 0 {
            let chunks = self.ep[from].conn.poll_transmit();
            let avail: usize = chunks.iter().map(Bytes::len).sum();
            let n = avail.min(write.max(1)).min(budget);
            if n == 0 {
                break;
            }
            let link = &mut self.link[from];
            let written: Vec<u8> = link.seen.drain(..n).collect();
            if !link.eof {
                link.in_flight.extend_from_slice(&written);
            }
            self.ep[from].conn.transmit_complete(n);
            budget -= n;
            self.observe(from);
        }
        // The peer's reads.
        self.observe(to);
        let mut moved = 0;
        let now = self.now;
        while !self.link[from].in_flight.is_empty() {
            let end = piece.max(1).min(self.link[from].in_flight.len());
            let n = self.ep[to]
                .conn
                .recv(now, &self.link[from].in_flight[..end]);
            if n == 0 {
                break;
            }
            let taken: Vec<u8> = self.link[from].in_flight.drain(..n).collect();
            if let Some(flow) = &mut self.flow {
                flow.consumed(from, &taken);
            }
            moved += n;
            self.ep[to].step();
            self.observe(to);
        }
        moved + max.saturating_sub(budget)
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        let mut dropped = [false; 2];
        for (s, dropped) in dropped.iter_mut().enumerate() {
            self.observe(s);
            self.ep[s].now = self.now;
            self.ep[s].conn.handle_timeout(self.now);
            // `send_timeout`: a peer that read nothing for that long loses
            // what it was owed, and the connection closes. The only way
            // queued output may vanish unwritten.
            let conn = &mut self.ep[s].conn;
            if !self.link[s].seen.is_empty() && conn.poll_transmit().is_empty() && conn.is_closed()
            {
                self.link[s].seen.clear();
                *dropped = true;
            }
        }
        self.step();
        for (s, dropped) in dropped.into_iter().enumerate() {
            assert!(
                !dropped || self.ep[s].send_stalled,
                "side {s}: queued output dropped without a send stall"
            );
        }
    }

    /// Delivers both ways until nothing moves.
    fn settle(&mut self) {
        for _ in 0..200 {
            self.step();
            let moved = self.deliver(0, usize::MAX, usize::MAX, usize::MAX)
                + self.deliver(1, usize::MAX, usize::MAX, usize::MAX);
            if moved == 0 {
                break;
            }
        }
    }

    fn pick(&self, side: usize, sel: u8) -> Option<u32> {
        let live = self.ep[side].live();
        live.get(usize::from(sel) % live.len().max(1)).copied()
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Request { kind, body } => {
                let body = usize::from(body);
                let (method, fields, body): (_, &[(&str, &str)], _) = match kind % 4 {
                    0 => (Method::Get, &[], 0),
                    1 => (Method::Post, &[], body),
                    2 => (Method::Put, &[("expect", "100-continue")], body),
                    _ => (Method::Post, &[], body),
                };
                let mut head = RequestHead::new(method, "/x");
                head.fields = Fields::new().with("host", "example.com");
                for (n, v) in fields {
                    head.fields.push_static(n, v);
                }
                if kind % 4 == 3 {
                    head.fields
                        .push(Bytes::from_static(b"content-length"), body.to_string());
                }
                let trailers = kind & 4 != 0 && body > 0;
                self.ep[0].send_request(Planned {
                    head,
                    body,
                    trailers,
                });
            }
            Op::Respond {
                sel,
                status,
                body,
                trailers,
                length,
            } => {
                let un = &self.ep[1].unanswered;
                let Some(&id) = un.get(usize::from(sel) % un.len().max(1)) else {
                    return;
                };
                let status = [200, 201, 404, 500, 200][usize::from(status) % 5];
                let mut head = ResponseHead::new(status);
                if length {
                    head.fields
                        .push(Bytes::from_static(b"content-length"), body.to_string());
                }
                self.ep[1].respond(id, head, usize::from(body), trailers, false);
            }
            Op::Write { side, sel, len } => {
                let Some(id) = self.pick(side, sel) else {
                    return;
                };
                if let Some(app) = self.ep[side].apps.get_mut(&id) {
                    app.to_write += usize::from(len);
                }
                self.ep[side].write_pending(id);
            }
            Op::Finish {
                side,
                sel,
                trailers,
            } => {
                let Some(id) = self.pick(side, sel) else {
                    return;
                };
                if let Some(app) = self.ep[side].apps.get_mut(&id)
                    && !app.finished
                {
                    app.finish = Some(trailers);
                }
                self.ep[side].write_pending(id);
            }
            Op::Read { side, sel } => {
                if sel == 255 {
                    self.ep[side].read_every();
                } else if let Some(id) = self.pick(side, sel) {
                    self.ep[side].read_all(id);
                }
            }
            Op::Reset { side, sel, code } => {
                let Some(id) = self.pick(side, sel) else {
                    return;
                };
                self.ep[side].reset(id, ErrorCode(u32::from(code % 14)));
            }
            Op::Ping { side, payload } => self.ep[side].conn.ping([payload; 8]),
            Op::Settings { side, knobs } => {
                let h2 = H2Config {
                    initial_window_size: [65_535, 70_000, 300_000, 1 << 20][usize::from(knobs & 3)],
                    max_concurrent_streams: [1, 2, 100, 0][usize::from(knobs >> 2 & 3)],
                    header_table_size: [4096, 0, 256, 65_536][usize::from(knobs >> 4 & 3)],
                    max_header_list_size: [16_384, 512, 100, 1 << 20][usize::from(knobs >> 6)],
                    ..H2Config::default()
                };
                let cfg = Config {
                    h2: h2.clone(),
                    ..Config::default()
                };
                self.ep[side].limits.widen(&cfg, true);
                self.ep[side].conn.update_settings(h2);
            }
            Op::Shutdown {
                side,
                graceful,
                drain,
            } => {
                let how = if graceful {
                    Shutdown::Graceful {
                        drain: Duration::from_millis(u64::from(drain) * 100),
                    }
                } else {
                    Shutdown::Immediate
                };
                self.ep[side].conn.shutdown(how);
            }
            Op::Advance { ms } => self.advance(Duration::from_millis(u64::from(ms))),
            Op::Deliver {
                from,
                max,
                write,
                piece,
            } => {
                self.deliver(
                    from,
                    usize::from(max),
                    usize::from(write),
                    usize::from(piece),
                );
            }
            Op::Settle => self.settle(),
            Op::Eof { side } => {
                if !self.link[side].eof && self.link[side].in_flight.is_empty() {
                    self.link[side].eof = true;
                    let now = self.now;
                    self.ep[1 - side].conn.recv_eof(now);
                }
            }
            Op::Interim { sel, informational } => {
                let un = &self.ep[1].unanswered;
                let Some(&id) = un.get(usize::from(sel) % un.len().max(1)) else {
                    return;
                };
                let id = StreamId::new(id);
                let _ = if informational {
                    self.ep[1]
                        .conn
                        .send_informational(id, ResponseHead::new(103))
                } else {
                    self.ep[1].conn.accept_continue(id)
                };
            }
            Op::AutoRead { side } => {
                let p = &mut self.ep[side].policy;
                p.auto_read = !p.auto_read;
            }
        }
        self.step();
    }

    /// Complete bodies have the length the peer's application wrote.
    fn check_lengths(&self) {
        for (w, r) in [(0, 1), (1, 0)] {
            for (id, writer) in &self.ep[w].apps {
                let Some(reader) = self.ep[r].apps.get(id) else {
                    continue;
                };
                let refused = w == 0 && writer.expect;
                if reader.ended && writer.finished && !writer.reset && !reader.reset && !refused {
                    assert!(
                        reader.read == writer.written,
                        "stream {id}: side {r} read {} body bytes, side {w} wrote {}",
                        reader.read,
                        writer.written
                    );
                }
            }
        }
    }
}

/// Fuzz hook: runs a client/server pair through a script of operations.
pub fn pair_ops(data: &[u8]) {
    let mut inp = Input::new(data);
    let mut pair = Pair::new(&mut inp);
    pair.step();
    let mut ops = 0;
    while !inp.is_empty() && ops < 2_000 {
        let op = Op::decode(&mut inp);
        pair.apply(op);
        ops += 1;
    }
    for ep in &mut pair.ep {
        ep.policy.auto_read = true;
    }
    pair.settle();
    pair.check_lengths();
    for ep in &mut pair.ep {
        ep.finish_run();
    }
}
