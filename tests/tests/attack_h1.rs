//! HTTP/1 attack suite over loopback, against every adapter (issue 5 §2; see
//! `attack_support` for the server, the prober and the memory bound).
//!
//! Each attack runs while the prober keeps asking; `attack_support::run`
//! then checks the prober was always answered in bounded time and the peak
//! memory growth stayed bounded. Each attack asserts how the attacker was cut
//! off, and within what bound. The limits relied on are the core's
//! ([`Config`]); the attacks shorten the timeouts so that the suite is fast,
//! and the bounds are the configured timeout plus [`SLACK`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attack_support;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use attack_support::{BIG_LEN, Config, Ctx, per_adapter};
use tests::{WireResponse, parse_responses, show};

/// Scheduling and timer slack allowed on top of a configured timeout.
const SLACK: Duration = Duration::from_secs(2);
/// The short timeout the attacks configure (header read, body read, send).
const TIMEOUT: Duration = Duration::from_secs(1);

/// A connection to the server under attack.
fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// How a connection ended, as the attacker saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// EOF.
    Eof,
    /// A read or write error (a reset, usually).
    Error(io::ErrorKind),
}

/// Reads with a short timeout until EOF, an error or `bound`; returns what
/// came and how it ended (`None`: still open at the bound).
fn read_to_end_within(s: &mut TcpStream, bound: Duration) -> (Vec<u8>, Option<End>) {
    s.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("read timeout");
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while start.elapsed() < bound {
        match s.read(&mut buf) {
            Ok(0) => return (out, Some(End::Eof)),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) => {}
            Err(e) => return (out, Some(End::Error(e.kind()))),
        }
    }
    (out, None)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// The responses in `out`; a reset may cut the last one short, so only
/// complete ones are parsed (the status line is enough for the checks).
fn statuses(out: &[u8]) -> Vec<u16> {
    String::from_utf8_lossy(out)
        .match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| out.get(i + 9..i + 12))
        .filter_map(|s| std::str::from_utf8(s).ok()?.parse().ok())
        .collect()
}

fn with(f: impl FnOnce(&mut Config)) -> Config {
    let mut c = Config::default();
    f(&mut c);
    c
}

// ---------------------------------------------------------------------------
// Slowloris (RFC 9112 §9.5 "timeouts"; `header_read_timeout`)
// ---------------------------------------------------------------------------

/// Connections per slowloris attack: half trickle a head one byte at a
/// time, half send nothing at all.
const LORIS: usize = 64;
/// Time between two trickled bytes.
const TRICKLE: Duration = Duration::from_millis(100);

struct Loris {
    s: TcpStream,
    trickles: bool,
    opened: Instant,
    got: Vec<u8>,
    end: Option<(End, Duration)>,
}

per_adapter!(
    /// Slowloris: heads that never complete (trickled one byte per 100 ms,
    /// or nothing at all after connecting). The header-read timer runs from
    /// accept and is not reset by progress, so each connection gets a 408
    /// (RFC 9110 §15.5.9) and is closed `header_read_timeout` after it
    /// opened, however it trickles.
    slowloris,
    with(|c| c.header_read_timeout = Some(TIMEOUT)),
    |ctx: &mut Ctx| {
        let mut conns: Vec<Loris> = (0..LORIS)
            .map(|i| {
                let mut s = connect(ctx.addr);
                let trickles = i % 2 == 0;
                if trickles {
                    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Loris: ")
                        .unwrap();
                }
                s.set_nonblocking(true).unwrap();
                Loris {
                    s,
                    trickles,
                    opened: Instant::now(),
                    got: Vec::new(),
                    end: None,
                }
            })
            .collect();
        let bound = TIMEOUT + SLACK;
        let deadline = Instant::now() + bound + SLACK;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline && conns.iter().any(|c| c.end.is_none()) {
            for c in conns.iter_mut().filter(|c| c.end.is_none()) {
                if c.trickles {
                    match c.s.write(b"a") {
                        Ok(_) => {}
                        Err(e) if is_timeout(&e) => {}
                        Err(e) => c.end = Some((End::Error(e.kind()), c.opened.elapsed())),
                    }
                }
                loop {
                    match c.s.read(&mut buf) {
                        Ok(0) => c.end = Some((End::Eof, c.opened.elapsed())),
                        Ok(n) => {
                            c.got.extend_from_slice(&buf[..n]);
                            continue;
                        }
                        Err(e) if is_timeout(&e) => {}
                        Err(e) => c.end = Some((End::Error(e.kind()), c.opened.elapsed())),
                    }
                    break;
                }
            }
            thread::sleep(TRICKLE);
        }
        let mut slowest = Duration::ZERO;
        let mut fastest = Duration::MAX;
        let mut with_408 = 0;
        for (i, c) in conns.iter().enumerate() {
            let Some((end, at)) = c.end else {
                panic!("slowloris connection {i} still open after {bound:?}");
            };
            assert!(
                at <= bound,
                "slowloris connection {i} closed after {at:?} (bound {bound:?}, {end:?})"
            );
            // A 408 is the polite answer; a bare close is acceptable (the
            // core writes 408 only when nothing else is owed).
            let st = statuses(&c.got);
            assert!(
                st.is_empty() || st == [408],
                "slowloris connection {i}: answered {st:?}: {}",
                show(&c.got)
            );
            with_408 += usize::from(st == [408]);
            slowest = slowest.max(at);
            fastest = fastest.min(at);
        }
        ctx.outcome(format!(
            "{LORIS} connections ({} trickling) closed after {fastest:?}..{slowest:?} \
             ({with_408} with 408; header_read_timeout {TIMEOUT:?}, bound {bound:?})",
            LORIS / 2
        ));
    }
);

// ---------------------------------------------------------------------------
// Slow POST (`body_read_timeout`)
// ---------------------------------------------------------------------------

/// Connections in the slow POST attack.
const SLOW_POSTS: usize = 32;

per_adapter!(
    /// Slow POST: a head announcing a 1 MB body, a few bytes of it, then
    /// silence. The handler (`/echo`) waits for the body; the body-read timer
    /// (no progress for `body_read_timeout`) closes each connection.
    slow_post,
    with(|c| c.body_read_timeout = Some(TIMEOUT)),
    |ctx: &mut Ctx| {
        let start = Instant::now();
        let mut conns: Vec<TcpStream> = (0..SLOW_POSTS)
            .map(|_| {
                let mut s = connect(ctx.addr);
                s.write_all(
                    b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n\
                      0123456789",
                )
                .unwrap();
                s
            })
            .collect();
        let bound = TIMEOUT + SLACK;
        let mut slowest = Duration::ZERO;
        for (i, s) in conns.iter_mut().enumerate() {
            let left = (bound + SLACK).saturating_sub(start.elapsed());
            let (got, end) = read_to_end_within(s, left);
            let at = start.elapsed();
            assert!(
                end.is_some() && at <= bound,
                "slow POST connection {i}: {end:?} after {at:?} (bound {bound:?}): {}",
                show(&got)
            );
            // `/echo` starts its answer at once, so the core can only close;
            // had it not, the answer would be a 408.
            let st = statuses(&got);
            assert!(
                st.is_empty() || st == [200] || st == [408],
                "slow POST connection {i}: {st:?}"
            );
            slowest = slowest.max(at);
        }
        ctx.outcome(format!(
            "{SLOW_POSTS} stalled bodies closed by {slowest:?} \
             (body_read_timeout {TIMEOUT:?}, bound {bound:?})"
        ));
    }
);

// ---------------------------------------------------------------------------
// Slow read (`send_timeout`)
// ---------------------------------------------------------------------------

/// Connections in the slow read attack.
const SLOW_READS: usize = 16;

per_adapter!(
    /// Slow read: ask for `/big` (16 MiB) and never read. The response is
    /// zero-copy, so memory stays flat while the socket buffers are full; the
    /// send-stall timer (`send_timeout` without write progress) closes the
    /// connection. Checked by reading only after the bound: what arrives then
    /// must be a truncated response followed by the end of the connection.
    slow_read,
    with(|c| c.send_timeout = Some(TIMEOUT)),
    |ctx: &mut Ctx| {
        let mut conns: Vec<TcpStream> = (0..SLOW_READS)
            .map(|_| {
                let mut s = connect(ctx.addr);
                s.write_all(b"GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .unwrap();
                s
            })
            .collect();
        // The stall timer looks at progress once per `send_timeout`, so the
        // close comes 1 to 2 timeouts after the last byte the socket took
        // (and the socket buffers take their last bytes only once full).
        let bound = TIMEOUT * 2 + SLACK;
        thread::sleep(bound);
        let mut most = 0;
        for (i, s) in conns.iter_mut().enumerate() {
            // The kernel buffers (a few MiB on loopback) drain at once; then
            // the end must already be there.
            let (got, end) = read_to_end_within(s, SLACK);
            assert!(
                end.is_some(),
                "slow read connection {i}: still open {:?} after the bound {bound:?} \
                 ({} bytes drained)",
                SLACK,
                got.len()
            );
            assert!(
                got.len() < BIG_LEN,
                "slow read connection {i}: the whole response was sent ({end:?})"
            );
            assert!(
                got.is_empty() || got.starts_with(b"HTTP/1.1 200 "),
                "slow read connection {i}: {}",
                show(&got[..got.len().min(200)])
            );
            most = most.max(got.len());
        }
        ctx.outcome(format!(
            "{SLOW_READS} non-reading connections closed by the send-stall timer \
             (send_timeout {TIMEOUT:?}, checked at {bound:?}); at most {most} of \
             {BIG_LEN} bytes were in flight"
        ));
    }
);

// ---------------------------------------------------------------------------
// Pipelining flood without reading (`max_pipelined`, `send_timeout`)
// ---------------------------------------------------------------------------

/// The most the flood may get the server to accept before its writes block:
/// kernel buffers on both sides (a few MiB each on loopback) plus the core's
/// bounded input. Reaching it means the server kept reading without bound.
const FLOOD_MAX: usize = 64 << 20;

per_adapter!(
    /// Pipelining flood: requests written back to back, no response read.
    /// The server answers until the attacker's receive buffer is full, then
    /// cannot write, so it stops parsing at `max_pipelined` requests ahead
    /// and stops reading the socket; the attacker's writes block after a
    /// bounded number of bytes. The send-stall timer then closes it.
    pipeline_flood,
    with(|c| c.send_timeout = Some(TIMEOUT)),
    |ctx: &mut Ctx| {
        let mut s = connect(ctx.addr);
        s.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
        let batch = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(2048);
        let start = Instant::now();
        let mut written = 0usize;
        let mut blocked_at = None;
        let end = loop {
            // Once the server stopped reading, what it reads later (a
            // lingering close) is discarded, not buffered: only time bounds it.
            if blocked_at.is_none() && written >= FLOOD_MAX {
                panic!("the server accepted {written} bytes of pipelined requests unread");
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!(
                    "flood connection still open after {:?} ({written} bytes, blocked at {blocked_at:?})",
                    start.elapsed()
                );
            }
            match s.write(&batch) {
                Ok(n) => written += n,
                Err(e) if is_timeout(&e) => {
                    blocked_at.get_or_insert((start.elapsed(), written));
                }
                Err(e) => break e.kind(),
            }
        };
        let took = start.elapsed();
        let (blocked, at_bytes) = blocked_at.expect("the attacker's writes never blocked");
        // From the first block: the send-stall timer (1 to 2 timeouts, see
        // `slow_read`), then the lingering close (1 s of reading and
        // discarding in every adapter).
        assert!(
            took <= blocked + TIMEOUT * 2 + SLACK + SLACK,
            "cut off {took:?} after the start, blocked first at {blocked:?}"
        );
        ctx.outcome(format!(
            "writes blocked after {at_bytes} bytes ({:.1} MiB, {blocked:?}); cut off ({end:?}) \
             after {took:?} with {written} bytes written (send_timeout {TIMEOUT:?})",
            at_bytes as f64 / f64::from(1 << 20)
        ));
    }
);

// ---------------------------------------------------------------------------
// Head limits: 431 and 414, then close (RFC 6585 §5, RFC 9110 §15.5.15)
// ---------------------------------------------------------------------------

/// A request head sent as `start`, `unit` × `repeat`, `end`: an endless
/// head costs the attacker no memory (it is not built in full).
#[derive(Clone)]
struct Head {
    start: Vec<u8>,
    unit: Vec<u8>,
    repeat: usize,
    end: Vec<u8>,
}

impl Head {
    fn len(&self) -> usize {
        self.start.len() + self.unit.len() * self.repeat + self.end.len()
    }

    /// A head with `n` fields of `value`.
    fn fields(target: &str, n: usize, value: &str) -> Self {
        Self {
            start: format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n").into_bytes(),
            unit: format!("X-Field: {value}\r\n").into_bytes(),
            repeat: n,
            end: b"\r\n".to_vec(),
        }
    }

    /// A request line whose target is `/` and `n` × `a`.
    fn target(n: usize) -> Self {
        Self {
            start: b"GET /".to_vec(),
            unit: b"a".repeat(1024),
            repeat: n / 1024,
            end: b" HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        }
    }

    /// Writes it until done or the first error; returns the bytes written.
    fn write(&self, w: &mut TcpStream) -> usize {
        let batch = self
            .unit
            .repeat((64 * 1024 / self.unit.len().max(1)).max(1));
        let per = batch.len() / self.unit.len().max(1);
        let mut written = 0;
        let mut put = |b: &[u8]| w.write_all(b).map(|()| written += b.len()).is_ok();
        if !put(&self.start) {
            return written;
        }
        let mut left = self.repeat;
        while left > 0 {
            let n = left.min(per);
            if !put(&batch[..n * self.unit.len()]) {
                return written;
            }
            left -= n;
        }
        put(&self.end);
        written
    }
}

/// Sends `head` (from a writer thread, which stops at the first error, so a
/// flood cannot block the reader) and reads the answer; returns the
/// responses, how the connection ended, when, and how many bytes the server
/// took.
fn limit_exchange(
    addr: SocketAddr,
    head: Head,
) -> (Vec<WireResponse>, Option<End>, Duration, usize) {
    let mut s = connect(addr);
    let mut w = s.try_clone().unwrap();
    w.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let start = Instant::now();
    let writer = thread::spawn(move || head.write(&mut w));
    let (got, end) = read_to_end_within(&mut s, TIMEOUT + SLACK);
    let took = start.elapsed();
    let written = writer.join().unwrap();
    (parse_responses(&got), end, took, written)
}

per_adapter!(
    /// Head limits with the default config: too many fields (101 >
    /// `max_headers` 100) and a too large head (> `max_head_bytes` 16 KiB)
    /// → 431; a too long target (> `max_uri_len` 8 KiB) → 414; and endless
    /// heads (64 MiB of fields, or of target) → the same answers once the
    /// limit is crossed, and the connection closed. Nothing past the limit
    /// is kept: the memory bound of `attack_support::run` holds.
    head_limits,
    Config::default(),
    |ctx: &mut Ctx| {
        let big = "v".repeat(8000);
        let cases = [
            ("101 fields", Head::fields("/", 101, "v"), 431),
            ("24 KiB head", Head::fields("/", 3, &big), 431),
            ("9 KiB target", Head::target(9 * 1024), 414),
            ("64 MiB of fields", Head::fields("/", 8 * 1024, &big), 431),
            ("64 MiB target", Head::target(64 << 20), 414),
        ];
        // Repeated for a second, so the prober sees the attack going on.
        let start = Instant::now();
        let mut rounds = 0;
        let mut report = Vec::new();
        while rounds == 0 || start.elapsed() < Duration::from_secs(1) {
            rounds += 1;
            for (what, head, status) in &cases {
                let head = head.clone();
                let len = head.len();
                let (rs, end, took, written) = limit_exchange(ctx.addr, head);
                let got: Vec<u16> = rs.iter().map(|r| r.status).collect();
                assert_eq!(got, [*status], "{what}, round {rounds}: answered {got:?}");
                assert!(rs[0].connection_has("close"), "{what}: no connection: close");
                assert!(end.is_some(), "{what}: still open after {took:?}");
                if rounds == 1 {
                    report.push(format!(
                        "{what} → {status} + close ({end:?}) in {took:?}, {written} of {len} bytes taken"
                    ));
                }
            }
        }
        report.push(format!("{rounds} rounds"));
        ctx.outcome(report.join("; "));
    }
);
