//! Raw-bytes targets: one core fed what a peer sent, its application
//! answering requests and reading bodies. Each input runs twice, each step's
//! bytes in one `recv` and then in fuzzer-chosen pieces, and both runs must
//! give the same events and the same output bytes (architecture §2).
//!
//! Input layout: byte 0 options, bytes 1..3 the split seed, then the peer's
//! bytes. Options: bit 0 EOF at the end; bit 1 small limits; bits 2-3 time
//! scale of the advances between steps; bit 4 upgrades (server: accepted,
//! client: requested); bit 5 server: never read bodies; bit 6 server:
//! sniff the protocol; bits 6-7 client: requests to send (1..=4).
//!
//! Both runs act at the same points: after every step and whenever `recv`
//! takes nothing. Between the pieces of one step the application does not
//! act, as the pieces are one transport read split differently, so any
//! difference is the core's dependence on how its input was cut.

use bytes::BytesMut;

use super::app::{Endpoint, Limits, Planned, Policy};
use super::input::Rng;
use crate::{Config, Connection, Duration, Fields, Instant, Method, Protocol, RequestHead, Side};

/// Not zero, so that "since accept" and "since the origin" differ.
const T0: Instant = Instant::from_nanos(1_000_000_000_000);

/// One step of delivery: time passes, then `len` bytes arrive.
#[derive(Debug)]
struct Step {
    advance: Duration,
    len: usize,
    /// How the split run cuts the step (piece lengths, summing to `len`).
    pieces: Vec<usize>,
}

/// A decoded raw-bytes input.
#[derive(Debug)]
struct Case<'a> {
    side: Side,
    protocol: Protocol,
    opts: u8,
    wire: &'a [u8],
    steps: Vec<Step>,
    requests: Vec<Planned>,
}

impl<'a> Case<'a> {
    fn new(side: Side, protocol: Protocol, data: &'a [u8]) -> Self {
        let (head, wire) = data.split_at(data.len().min(3));
        let opts = head.first().copied().unwrap_or(0);
        let seed = u64::from(head.get(1).copied().unwrap_or(0))
            | u64::from(head.get(2).copied().unwrap_or(0)) << 8;
        let mut rng = Rng::new(seed ^ (wire.len() as u64) << 16);
        let max_step = [usize::MAX, 512, 64, 8][(seed & 3) as usize];
        let max_piece = [1, 3, 17, 200][(seed >> 2 & 3) as usize];
        let scale_ns: u64 =
            [0, 2_000_000, 3_000_000_000, 120_000_000_000][usize::from(opts >> 2 & 3)];
        let mut steps = Vec::new();
        let mut left = wire.len();
        while left > 0 {
            let len = rng.between_1_and(max_step.min(left));
            left -= len;
            let advance = if scale_ns == 0 {
                0
            } else {
                rng.next() % scale_ns
            };
            let mut pieces = Vec::new();
            let mut rest = len;
            while rest > 0 {
                let p = rng.between_1_and(max_piece.min(rest));
                pieces.push(p);
                rest -= p;
            }
            steps.push(Step {
                advance: Duration::from_nanos(advance),
                len,
                pieces,
            });
        }
        let mut requests = Vec::new();
        if side == Side::Client {
            for _ in 0..=(opts >> 6) {
                requests.push(planned(&mut rng, opts & 0x10 != 0));
            }
        }
        Self {
            side,
            protocol,
            opts,
            wire,
            steps,
            requests,
        }
    }

    fn config(&self) -> Config {
        let mut c = Config::default();
        if self.opts & 2 != 0 {
            small(&mut c);
        }
        c
    }
}

/// Tight limits, so that inputs reach them.
pub(crate) fn small(c: &mut Config) {
    c.max_head_bytes = 512;
    c.max_headers = 16;
    c.max_uri_len = 128;
    c.max_chunk_line = 64;
    c.max_trailer_bytes = 256;
    c.max_recv_buffer = 1024;
    c.send_buffer = 1024;
    c.max_pipelined = 2;
    c.max_drain = 256;
    c.allow_bare_lf = true;
    c.h2.max_concurrent_streams = 4;
    c.h2.initial_window_size = 65_535;
    c.h2.connection_window_size = 65_535;
    c.h2.max_header_list_size = 1024;
    c.h2.header_table_size = 256;
    c.h2.max_continuation_frames = 2;
    c.h2.max_settings_entries = 4;
    c.h2.max_resets = 4;
    c.h2.max_pending_control = 8;
    c.h2.max_empty_frames = 16;
}

/// A client request of a kind chosen by `rng`.
fn planned(rng: &mut Rng, upgrade: bool) -> Planned {
    let kinds = if upgrade { 7 } else { 5 };
    let (method, target, fields, body, trailers): (_, _, &[(&str, &str)], _, _) =
        match rng.next() % kinds {
            0 => (Method::Get, "/", &[], 0, false),
            1 => (Method::Head, "/h", &[], 0, false),
            2 => (Method::Post, "/p", &[("content-length", "10")], 10, false),
            3 => (Method::Post, "/c", &[], 100, true),
            4 => (
                Method::Put,
                "/e",
                &[("content-length", "5"), ("expect", "100-continue")],
                5,
                false,
            ),
            5 => (
                Method::Get,
                "/ws",
                &[("connection", "upgrade"), ("upgrade", "websocket")],
                0,
                false,
            ),
            _ => (Method::Connect, "example.com:443", &[], 0, false),
        };
    let mut head = RequestHead::new(method, target);
    head.fields = Fields::new().with("host", "example.com");
    for (n, v) in fields {
        head.fields.push_static(n, v);
    }
    Planned {
        head,
        body,
        trailers,
    }
}

/// What a run produced: the log and the output bytes.
type Outcome = (Vec<String>, Vec<u8>);

fn run(case: &Case<'_>, split: bool) -> Outcome {
    let cfg = case.config();
    let h2 = case.protocol != Protocol::Http1;
    let limits = Limits::new(&cfg, h2);
    let conn = Connection::with_protocol(case.side, case.protocol, cfg, T0);
    let policy = Policy {
        auto_respond: true,
        upgrade: case.opts & 0x10 != 0,
        auto_read: case.side == Side::Client || case.opts & 0x20 == 0,
        pattern: false,
    };
    let mut ep = Endpoint::new(conn, T0, policy, limits);
    ep.queue.extend(case.requests.iter().cloned());
    ep.act();
    let mut carry = BytesMut::new();
    let mut pos = 0;
    for step in &case.steps {
        ep.now = ep.now + step.advance;
        ep.conn.handle_timeout(ep.now);
        ep.act();
        let data = &case.wire[pos..pos + step.len];
        pos += step.len;
        let mut pieces = Vec::new();
        if !carry.is_empty() {
            pieces.push(carry.split().freeze());
        }
        if split {
            let mut off = 0;
            for &p in &step.pieces {
                pieces.push(bytes::Bytes::copy_from_slice(&data[off..off + p]));
                off += p;
            }
        } else {
            pieces.push(bytes::Bytes::copy_from_slice(data));
        }
        feed(&mut ep, &mut carry, pieces, split);
        ep.act();
    }
    if case.opts & 1 != 0 && carry.is_empty() {
        ep.conn.recv_eof(ep.now);
        ep.act();
    }
    ep.finish_run();
    // After an upgrade, the bytes the core handed over and those it never
    // took are one stream, however the reads were cut.
    // (Without an upgrade, what a closed core buffered but never used is
    // dropped, and how much that was may depend on the cuts.)
    let mut log = core::mem::take(&mut ep.log);
    if log.iter().any(|l| l.starts_with("take_upgrade")) {
        ep.upgraded.extend_from_slice(&carry);
        log.push(format!(
            "after the upgrade: {:?}",
            bytes::Bytes::from(ep.upgraded.clone())
        ));
    }
    (log, core::mem::take(&mut ep.wire))
}

/// Offers the pieces in order; the application acts only when the core
/// takes nothing. What the core will not take is kept in `carry`.
fn feed(ep: &mut Endpoint, carry: &mut BytesMut, pieces: Vec<bytes::Bytes>, split: bool) {
    let mut stalled = false;
    for (i, piece) in pieces.into_iter().enumerate() {
        if stalled {
            carry.extend_from_slice(&piece);
            continue;
        }
        // The split run also exercises the zero-copy entry point.
        let mut rest = BytesMut::from(&piece[..]);
        let mut acted = false;
        while !rest.is_empty() {
            let before = rest.len();
            if split && i % 2 == 1 {
                ep.conn.recv_buf(ep.now, &mut rest);
            } else {
                let n = ep.conn.recv(ep.now, &rest);
                let _ = rest.split_to(n);
            }
            if rest.len() < before {
                acted = false;
                continue;
            }
            if acted {
                stalled = true;
                break;
            }
            ep.act();
            acted = true;
        }
        carry.extend_from_slice(&rest);
    }
}

/// HTTP/2 output cut into frames and grouped by stream id (0: the
/// connection), each group in wire order. `None` if it does not cut cleanly.
fn frames_by_stream(wire: &[u8]) -> Option<std::collections::BTreeMap<u32, Vec<&[u8]>>> {
    let mut rest = wire.strip_prefix(super::flow::PREFACE).unwrap_or(wire);
    let mut map: std::collections::BTreeMap<u32, Vec<&[u8]>> = std::collections::BTreeMap::new();
    while !rest.is_empty() {
        let head = rest.get(..9)?;
        let len = usize::from(*head.first()?) << 16
            | usize::from(*head.get(1)?) << 8
            | usize::from(*head.get(2)?);
        let id = u32::from_be_bytes(head.get(5..9)?.try_into().ok()?) & 0x7fff_ffff;
        let frame = rest.get(..9 + len)?;
        map.entry(id).or_default().push(frame);
        rest = rest.get(9 + len..)?;
    }
    Some(map)
}

/// Runs the case whole and split; both must agree.
fn check(case: &Case<'_>) {
    let (log_a, wire_a) = run(case, false);
    let (log_b, wire_b) = run(case, true);
    if let Some(i) = (0..log_a.len().max(log_b.len())).find(|&i| log_a.get(i) != log_b.get(i)) {
        panic!(
            "split dependence at log entry {i}:\n whole: {:?}\n split: {:?}\n(whole log: {log_a:#?})",
            log_a.get(i),
            log_b.get(i)
        );
    }
    // HTTP/2: which frame of one stream goes out before which of another (or
    // before a control answer like a PING ACK) follows when the reads
    // happened relative to `poll_transmit`; each stream's own frames, and
    // the connection's, must still match in order.
    let same_per_stream = case.protocol == Protocol::Http2
        && frames_by_stream(&wire_a).is_some_and(|a| Some(a) == frames_by_stream(&wire_b));
    if same_per_stream {
        return;
    }
    if let Some(i) = (0..wire_a.len().max(wire_b.len())).find(|&i| wire_a.get(i) != wire_b.get(i)) {
        let from = i.saturating_sub(40);
        panic!(
            "split dependence in the output at byte {i}:\n whole: {:?}\n split: {:?}",
            String::from_utf8_lossy(&wire_a[from.min(wire_a.len())..(i + 40).min(wire_a.len())]),
            String::from_utf8_lossy(&wire_b[from.min(wire_b.len())..(i + 40).min(wire_b.len())]),
        );
    }
}

/// Fuzz hook: a server fed raw bytes (HTTP/1, or sniffing with option bit 6).
pub fn h1_server_bytes(data: &[u8]) {
    let sniff = data.first().is_some_and(|o| o & 0x40 != 0);
    let protocol = if sniff {
        Protocol::Auto
    } else {
        Protocol::Http1
    };
    check(&Case::new(Side::Server, protocol, data));
}

/// Fuzz hook: an HTTP/1 client fed raw response bytes.
pub fn h1_client_bytes(data: &[u8]) {
    check(&Case::new(Side::Client, Protocol::Http1, data));
}

/// Fuzz hook: an HTTP/2 server fed raw bytes (preface and frames).
pub fn h2_server_bytes(data: &[u8]) {
    check(&Case::new(Side::Server, Protocol::Http2, data));
}

/// Fuzz hook: an HTTP/2 client fed raw server bytes.
pub fn h2_client_bytes(data: &[u8]) {
    check(&Case::new(Side::Client, Protocol::Http2, data));
}
