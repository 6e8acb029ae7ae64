//! Memory per idle connection on the tokio and smol servers, counted by a
//! counting global allocator (`alloc-counter`): heap bytes are exact, so the
//! figure is deterministic enough to bound.
//!
//! Each case opens `IDLE_N` connections (default 300) from blocking sockets
//! on this thread to a server running in-process on another one, brings each
//! to its idle state, waits `Config::idle_release` (100 ms) and then until the
//! server's heap stops moving, and reports
//! (live heap now - live heap before) / N, the RSS growth per connection, and
//! the size of the connection future (smol's server boxes it: the figure is
//! then the wrapper's, and the box is in the heap figure). Cases:
//! - `fresh`: connected, nothing sent;
//! - `h1`: one `GET /` answered, then idle (keep-alive);
//! - `h2-settings`: preface and SETTINGS exchanged both ways, no stream;
//! - `h2`: as `h2-settings` plus one `GET /` answered on stream 1.
//!
//! The same servers, allocator and clients also count **allocations per
//! request on a busy connection** (both sides of one keep-alive connection,
//! HTTP/1.1 and HTTP/2, after a warm-up; the client here allocates nothing):
//! what stays allocated between requests of a busy connection (the read
//! buffer, recycled storage) is what spares each request its allocations,
//! and the idle figures above say it is let go once the connection idles.
//!
//! `cargo test -p tests --test idle_memory` asserts the bounds in
//! [`BOUNDS`] and [`ALLOC_BOUNDS`]; `IDLE_N=2000 cargo test --release -p tests --test idle_memory`
//! for the figures in BENCHMARKS.md. A plain program (`harness = false`):
//! nothing else runs in the process while it measures.
//!
//! `IDLE_ONLY=tokio:h1` (adapter, case; either may be `*`) runs the matching
//! cases only. `IDLE_EXIT=1` exits right after the first measurement with the
//! idle connections still open, so that a heap profiler's "leaked at exit"
//! list is what those connections hold, e.g.
//! `IDLE_ONLY=tokio:h1 IDLE_EXIT=1 heaptrack target/release/deps/idle_memory-*`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use alloc_counter::Counter;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use proto_core::Config;

#[global_allocator]
static ALLOC: Counter = Counter::new();

/// What each connection does before it goes idle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Fresh,
    H1,
    H2Settings,
    H2,
}

impl Case {
    const ALL: [Self; 4] = [Self::Fresh, Self::H1, Self::H2Settings, Self::H2];

    fn name(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::H1 => "h1",
            Self::H2Settings => "h2-settings",
            Self::H2 => "h2",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Adapter {
    Tokio,
    Smol,
}

/// The most heap bytes per idle connection each (adapter, case) may hold:
/// the debug-build figure at N = 300 when last measured (tokio 1,189 /
/// 1,672 / 2,376 / 2,668; smol 1,134 / 1,609 / 2,339 / 2,631 since its
/// socket became `socket::Socket`, 1,332 / 1,820 / 2,499 / 2,784 before), plus about
/// 10% for runtime bookkeeping that is amortized differently at other N.
/// Release builds come out about the same or lower (smaller futures; tokio
/// allocates a task in 128-byte steps). Lower a bound when a change lowers
/// its figure.
const BOUNDS: &[(Adapter, Case, u64)] = &[
    (Adapter::Tokio, Case::Fresh, 1_300),
    (Adapter::Tokio, Case::H1, 1_850),
    (Adapter::Tokio, Case::H2Settings, 2_600),
    (Adapter::Tokio, Case::H2, 2_950),
    (Adapter::Smol, Case::Fresh, 1_250),
    (Adapter::Smol, Case::H1, 1_780),
    (Adapter::Smol, Case::H2Settings, 2_580),
    (Adapter::Smol, Case::H2, 2_900),
];

/// The most allocations per request each (adapter, protocol) may make on a
/// busy connection (`busy_allocs`): the figure when last measured plus a
/// little for runtime bookkeeping that comes and goes. tokio 2.01 / 2.01
/// (HTTP/1.1 / HTTP/2; debug build): the request's `HeaderMap` (two: this
/// handler answers with no fields, so there is no spent response map to
/// build the next request's in). smol 4.05 / 4.04: the same plus async-io's
/// reactor (a `Vec` per `react`, a timer-map node per `split_off`). Both
/// were 2 higher before the read buffer was kept between requests (each read
/// was copied into an allocation of its size, which then got a shared header
/// when split), and 1 higher before the handler future's box was reused
/// (`adapter_common::first_poll`).
const ALLOC_BOUNDS: &[(Adapter, bool, f64)] = &[
    (Adapter::Tokio, false, 2.2),
    (Adapter::Tokio, true, 2.2),
    (Adapter::Smol, false, 4.3),
    (Adapter::Smol, true, 4.3),
];
/// Requests per busy-connection measurement (after as many to warm up).
const BUSY_REQUESTS: u64 = 1_000;

/// How long the server's heap must stay unchanged to count as settled.
const SETTLED: Duration = Duration::from_millis(300);
/// Bound on every wait (a failure, not a measurement).
const WAIT: Duration = Duration::from_secs(60);

fn config() -> Config {
    // Long timeouts: nothing may expire while connections are being opened
    // on a slow, busy machine.
    let mut cfg = Config::default();
    cfg.header_read_timeout = Some(Duration::from_secs(600));
    cfg.idle_timeout = Some(Duration::from_secs(600));
    cfg
}

fn hello_response() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"Hello, World!")))
}

/// A server running on its own thread.
struct Running {
    addr: SocketAddr,
    active: Box<dyn Fn() -> usize>,
    stop: Box<dyn FnOnce()>,
    /// `size_of_val` of the connection future (`serve_connection`).
    future_size: usize,
}

fn start_tokio() -> Running {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let builder = adapter_tokio::Server::builder().config(config());
            let svc = adapter_tokio::service_fn(|_req: Request<adapter_tokio::Incoming>| async {
                Ok::<_, Infallible>(hello_response())
            });
            // The future a connection task runs, measured unpolled.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let probe = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let fut = builder.serve_connection(probe, svc);
            let future_size = size_of_val(&fut);
            drop(fut);
            drop(listener);
            let server = builder.clone().bind("127.0.0.1:0").await.unwrap();
            let stats = server.stats();
            let shutdown = server.shutdown_handle();
            tx.send((server.local_addr().unwrap(), stats, shutdown, future_size))
                .unwrap();
            server.serve(svc).await.unwrap();
        });
    });
    let (addr, stats, shutdown, future_size) = rx.recv().unwrap();
    Running {
        addr,
        active: Box::new(move || stats.active()),
        stop: Box::new(move || {
            shutdown.shutdown(Duration::ZERO);
            thread.join().unwrap();
        }),
        future_size,
    }
}

fn start_smol() -> Running {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let ex = std::sync::Arc::new(async_executor::Executor::new());
        let run = async {
            let builder = adapter_smol::Server::builder()
                .config(config())
                .executor(ex.clone());
            let svc = adapter_smol::service_fn(|_req: Request<adapter_smol::Incoming>| async {
                Ok::<_, Infallible>(hello_response())
            });
            let listener =
                async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
            let probe =
                async_io::Async::<TcpStream>::connect(listener.get_ref().local_addr().unwrap())
                    .await
                    .unwrap();
            let fut = builder.serve_connection(probe, svc);
            let future_size = size_of_val(&fut);
            drop(fut);
            drop(listener);
            let server = builder.clone().bind("127.0.0.1:0").await.unwrap();
            let stats = server.stats();
            let shutdown = server.shutdown_handle();
            tx.send((server.local_addr().unwrap(), stats, shutdown, future_size))
                .unwrap();
            server.serve(svc).await.unwrap();
        };
        async_io::block_on(ex.run(run));
    });
    let (addr, stats, shutdown, future_size) = rx.recv().unwrap();
    Running {
        addr,
        active: Box::new(move || stats.active()),
        stop: Box::new(move || {
            shutdown.shutdown(Duration::ZERO);
            thread.join().unwrap();
        }),
        future_size,
    }
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
const SETTINGS_ACK: &[u8] = &[0, 0, 0, 4, 1, 0, 0, 0, 0];
/// HEADERS on stream 1, END_STREAM | END_HEADERS: `:method GET`,
/// `:scheme http`, `:path /` (static table), `:authority localhost`
/// (literal with incremental indexing: the server's HPACK decoder stores it).
const GET: &[u8] = &[
    0, 0, 14, 1, 5, 0, 0, 0, 1, 0x82, 0x86, 0x84, 0x41, 9, b'l', b'o', b'c', b'a', b'l', b'h',
    b'o', b's', b't',
];

/// Opens one connection and brings it to `case`'s idle state.
fn open(addr: SocketAddr, case: Case) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_nodelay(true).unwrap();
    match case {
        Case::Fresh => {}
        Case::H1 => {
            s.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
                .unwrap();
            let mut buf = [0u8; 1024];
            let mut len = 0;
            while !buf[..len].ends_with(b"Hello, World!") {
                let n = s.read(&mut buf[len..]).unwrap();
                assert!(n > 0, "server closed");
                len += n;
            }
        }
        Case::H2Settings | Case::H2 => h2_exchange(&mut s, case == Case::H2),
    }
    s
}

/// The HTTP/2 start: our preface and SETTINGS (and a GET if `request`), then
/// frames until the server's SETTINGS, the ACK of ours, and (if `request`)
/// the end of stream 1; the server's SETTINGS are acknowledged.
fn h2_exchange(s: &mut TcpStream, request: bool) {
    let mut out = [0u8; 64];
    let mut len = 0;
    for part in [PREFACE, SETTINGS, if request { GET } else { &[] }] {
        out[len..len + part.len()].copy_from_slice(part);
        len += part.len();
    }
    s.write_all(&out[..len]).unwrap();
    let (mut settings, mut acked, mut ended) = (false, false, !request);
    FrameReader::new().until(s, |kind, flags, stream| {
        match kind {
            4 if flags & 1 == 0 => settings = true,
            4 => acked = true,
            0 | 1 if stream == 1 && flags & 1 != 0 => ended = true,
            7 => panic!("GOAWAY from the server"),
            _ => {}
        }
        settings && acked && ended
    });
}

/// HTTP/2 frames read from a blocking socket into a fixed buffer (the
/// client allocates nothing).
struct FrameReader {
    buf: [u8; 4096],
    have: usize,
}

impl FrameReader {
    fn new() -> Self {
        Self {
            buf: [0; 4096],
            have: 0,
        }
    }

    /// Hands each whole frame's type, flags and stream to `on_frame`, reading
    /// more as needed, until `on_frame` returns true; frames after that one
    /// stay for the next call. The server's SETTINGS are acknowledged.
    fn until(&mut self, s: &mut TcpStream, mut on_frame: impl FnMut(u8, u8, u32) -> bool) {
        let buf = &mut self.buf;
        loop {
            let mut at = 0;
            let mut done = false;
            while !done && self.have - at >= 9 {
                let flen = usize::from(buf[at]) << 16
                    | usize::from(buf[at + 1]) << 8
                    | usize::from(buf[at + 2]);
                if self.have - at < 9 + flen {
                    break;
                }
                let (kind, flags) = (buf[at + 3], buf[at + 4]);
                let stream =
                    u32::from_be_bytes([buf[at + 5], buf[at + 6], buf[at + 7], buf[at + 8]]);
                if kind == 4 && flags & 1 == 0 {
                    s.write_all(SETTINGS_ACK).unwrap();
                }
                done = on_frame(kind, flags, stream);
                at += 9 + flen;
            }
            buf.copy_within(at..self.have, 0);
            self.have -= at;
            if done {
                return;
            }
            let n = s.read(&mut buf[self.have..]).unwrap();
            assert!(n > 0, "server closed");
            self.have += n;
        }
    }
}

/// Allocations per request, both sides counted, over one connection kept
/// busy with `BUSY_REQUESTS` sequential `GET /` (after as many to warm up).
fn busy_allocs(adapter: Adapter, h2: bool) -> f64 {
    let server = match adapter {
        Adapter::Tokio => start_tokio(),
        Adapter::Smol => start_smol(),
    };
    let mut s = open(server.addr, if h2 { Case::H2 } else { Case::H1 });
    if h2 {
        // Room for every response body on the connection.
        s.write_all(&[0, 0, 4, 8, 0, 0, 0, 0, 0, 0x3f, 0xff, 0, 0])
            .unwrap();
    }
    let mut frames = FrameReader::new();
    let mut buf = [0u8; 1024];
    let mut next_stream = 3u32;
    let mut exchange = |s: &mut TcpStream| {
        if h2 {
            // `:authority` by its index (62: the literal of the first GET
            // entered the dynamic table), as a client repeating it would.
            let id = next_stream.to_be_bytes();
            let get = [
                0, 0, 4, 1, 5, id[0], id[1], id[2], id[3], 0x82, 0x86, 0x84, 0xbe,
            ];
            s.write_all(&get).unwrap();
            let stream = next_stream;
            frames.until(s, |kind, flags, id| match kind {
                3 | 7 => panic!("RST_STREAM or GOAWAY from the server"),
                0 | 1 => id == stream && flags & 1 != 0,
                _ => false,
            });
            next_stream += 2;
        } else {
            s.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
                .unwrap();
            let mut len = 0;
            while !buf[..len].ends_with(b"Hello, World!") {
                let n = s.read(&mut buf[len..]).unwrap();
                assert!(n > 0, "server closed");
                len += n;
            }
        }
    };
    for _ in 0..BUSY_REQUESTS {
        exchange(&mut s);
    }
    let before = ALLOC.snapshot();
    for _ in 0..BUSY_REQUESTS {
        exchange(&mut s);
    }
    let used = ALLOC.snapshot() - before;
    drop(s);
    settle(&*server.active, 0);
    (server.stop)();
    used.allocs as f64 / BUSY_REQUESTS as f64
}

/// Waits until `active()` is `want` and the live heap has not changed for
/// [`SETTLED`]; returns the live heap then.
fn settle(active: &dyn Fn() -> usize, want: usize) -> u64 {
    let start = Instant::now();
    let mut last = ALLOC.snapshot().live;
    let mut since = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let live = ALLOC.snapshot().live;
        if live != last || active() != want {
            last = live;
            since = Instant::now();
        } else if since.elapsed() >= SETTLED {
            return live;
        }
        assert!(
            start.elapsed() < WAIT,
            "server did not settle: {} of {want} connections active",
            active()
        );
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

struct Figures {
    heap_per_conn: u64,
    rss_per_conn: u64,
}

fn measure(adapter: Adapter, case: Case, n: usize) -> (Figures, usize) {
    let server = match adapter {
        Adapter::Tokio => start_tokio(),
        Adapter::Smol => start_smol(),
    };
    // Warm-up: one-time allocations (runtime, reactor, ...) happen here.
    let warm: Vec<TcpStream> = (0..20).map(|_| open(server.addr, case)).collect();
    settle(&*server.active, warm.len());
    drop(warm);
    let mut conns = Vec::with_capacity(n);
    let before = settle(&*server.active, 0);
    let rss_before = rss_bytes();
    for _ in 0..n {
        conns.push(open(server.addr, case));
    }
    // Idle means idle for longer than `idle_release`: the storage a
    // connection keeps for its next request is gone by then.
    std::thread::sleep(config().idle_release.unwrap_or_default());
    let after = settle(&*server.active, n);
    let rss_after = rss_bytes();
    if std::env::var_os("IDLE_EXIT").is_some() {
        println!(
            "{adapter:?} {}: {} B per connection; exiting with them open",
            case.name(),
            after.saturating_sub(before) / n as u64
        );
        std::process::exit(0);
    }
    drop(conns);
    let end = settle(&*server.active, 0);
    // Closed connections give their memory back. Runtimes keep capacity
    // they grew (I/O slabs, task lists), so compare with a second round: a
    // leaked connection state (hundreds of bytes) would grow again; the
    // slack covers runtime bookkeeping (e.g. smol's server drops finished
    // task handles only on its next accept).
    let again: Vec<TcpStream> = (0..n).map(|_| open(server.addr, case)).collect();
    settle(&*server.active, n);
    drop(again);
    let end2 = settle(&*server.active, 0);
    (server.stop)();
    let n64 = n as u64;
    let figures = Figures {
        heap_per_conn: after.saturating_sub(before) / n64,
        rss_per_conn: rss_after.saturating_sub(rss_before) / n64,
    };
    assert!(
        end2 <= end + 4096 + 64 * n64,
        "{adapter:?} {}: heap after closing grew from {end} to {end2} over a second round (before: {before})",
        case.name()
    );
    (figures, server.future_size)
}

fn main() {
    let n: usize = std::env::var("IDLE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let only = std::env::var("IDLE_ONLY").unwrap_or_default();
    let (only_adapter, only_case) = only.split_once(':').unwrap_or((&only, "*"));
    let wanted = |name: &str, want: &str| want.is_empty() || want == "*" || want == name;
    let mut failed = Vec::new();
    for adapter in [Adapter::Tokio, Adapter::Smol] {
        for case in Case::ALL {
            let adapter_name = format!("{adapter:?}").to_lowercase();
            if !wanted(&adapter_name, only_adapter) || !wanted(case.name(), only_case) {
                continue;
            }
            let (f, future_size) = measure(adapter, case, n);
            let bound = BOUNDS
                .iter()
                .find(|(a, c, _)| *a == adapter && *c == case)
                .map_or(0, |b| b.2);
            println!(
                "{adapter:?} {:<12} heap/conn {:>6} B (bound {bound})  rss/conn {:>6} B  future {future_size} B  (N = {n})",
                case.name(),
                f.heap_per_conn,
                f.rss_per_conn
            );
            if f.heap_per_conn > bound {
                failed.push(format!("{adapter:?} {}", case.name()));
            }
        }
    }
    for &(adapter, h2, bound) in ALLOC_BOUNDS {
        let adapter_name = format!("{adapter:?}").to_lowercase();
        let case = if h2 { "busy-h2" } else { "busy-h1" };
        if !wanted(&adapter_name, only_adapter) || !wanted(case, only_case) {
            continue;
        }
        let per = busy_allocs(adapter, h2);
        println!(
            "{adapter:?} {case:<12} allocations/request {per:.2} (bound {bound}; {BUSY_REQUESTS} requests)"
        );
        if per > bound {
            failed.push(format!("{adapter:?} {case}"));
        }
    }
    assert!(failed.is_empty(), "over their bounds: {failed:?}");
    println!("test result: ok. 1 passed; 0 failed");
}
