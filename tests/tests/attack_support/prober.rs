//! The well-behaved client that keeps asking while an attack runs.
//!
//! One thread alternates `GET /` over a kept-alive HTTP/1.1 connection and
//! `GET /` as a new stream on one HTTP/2 connection, pacing itself by
//! [`PACE`]. Each answer must be a complete `200` within [`REQUEST_TIMEOUT`];
//! anything else is a failure. A connection the server closed between two
//! requests is replaced once without counting a failure (an idle keep-alive
//! connection may be closed at any time, RFC 9112 §9.3), but a request
//! that gets no complete answer on a fresh connection is a failure.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::h2wire::H2Wire;

/// Time between two requests of the prober.
pub const PACE: Duration = Duration::from_millis(5);
/// Longest the prober waits for one answer before counting a failure.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// What the prober saw.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Requests answered with a complete `200`.
    pub ok: u64,
    /// Requests that failed, with why (at most the first 10 kept).
    pub failures: Vec<String>,
    /// Number of failures.
    pub failed: u64,
    /// The slowest answer.
    pub max_latency: Duration,
}

/// A running prober; [`Prober::stop`] ends it and returns its [`Report`].
pub struct Prober {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    thread: JoinHandle<Report>,
}

impl Prober {
    /// Starts probing `addr`.
    pub fn start(addr: SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let (flag, count) = (stop.clone(), ok.clone());
        let thread = thread::spawn(move || run(addr, &flag, &count));
        Self { stop, ok, thread }
    }

    /// Answers so far.
    pub fn answered(&self) -> u64 {
        self.ok.load(Ordering::SeqCst)
    }

    /// Waits (polling, at most `timeout`) until `n` more answers arrived;
    /// false if they did not.
    pub fn wait_answers(&self, n: u64, timeout: Duration) -> bool {
        let want = self.answered() + n;
        let deadline = Instant::now() + timeout;
        while self.answered() < want {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(PACE);
        }
        true
    }

    /// Stops and reports.
    pub fn stop(self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_else(|_| Report {
            failed: 1,
            failures: vec!["the prober panicked".into()],
            ..Report::default()
        })
    }
}

fn run(addr: SocketAddr, stop: &AtomicBool, ok: &AtomicU64) -> Report {
    let mut report = Report::default();
    let mut h1: Option<H1> = None;
    let mut h2: Option<(H2Wire, u32)> = None;
    let mut turn = 0u64;
    while !stop.load(Ordering::SeqCst) {
        turn += 1;
        let start = Instant::now();
        let result = if turn % 2 == 0 {
            h1_get(addr, &mut h1)
        } else {
            h2_get(addr, &mut h2)
        };
        let took = start.elapsed();
        report.max_latency = report.max_latency.max(took);
        match result {
            Ok(()) => {
                report.ok += 1;
                ok.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) => {
                report.failed += 1;
                if report.failures.len() < 10 {
                    let proto = if turn % 2 == 0 { "HTTP/1.1" } else { "HTTP/2" };
                    report.failures.push(format!("{proto} after {took:?}: {e}"));
                }
            }
        }
        thread::sleep(PACE);
    }
    report
}

/// Runs `once` on the kept connection; if that connection turns out closed
/// before any answer, once more on a fresh one.
fn h1_get(addr: SocketAddr, conn: &mut Option<H1>) -> Result<(), String> {
    let reused = conn.is_some();
    match h1_try(addr, conn) {
        Err(H1Err::ClosedBeforeAnswer) if reused => h1_try(addr, conn).map_err(|e| e.to_string()),
        r => r.map_err(|e| e.to_string()),
    }
}

struct H1 {
    r: BufReader<TcpStream>,
}

enum H1Err {
    ClosedBeforeAnswer,
    Other(String),
}

impl std::fmt::Display for H1Err {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ClosedBeforeAnswer => f.write_str("connection closed before an answer"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

fn other(e: impl std::fmt::Display) -> H1Err {
    H1Err::Other(e.to_string())
}

fn h1_try(addr: SocketAddr, conn: &mut Option<H1>) -> Result<(), H1Err> {
    if conn.is_none() {
        let s = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT).map_err(other)?;
        s.set_nodelay(true).map_err(other)?;
        s.set_read_timeout(Some(REQUEST_TIMEOUT)).map_err(other)?;
        s.set_write_timeout(Some(REQUEST_TIMEOUT)).map_err(other)?;
        *conn = Some(H1 {
            r: BufReader::new(s),
        });
    }
    let Some(c) = conn.as_mut() else {
        return Err(other("no connection"));
    };
    let result = h1_exchange(c);
    if !matches!(result, Ok(true)) {
        *conn = None;
    }
    result.map(drop)
}

/// One request and its answer; `Ok(keep)`: whether the connection stays.
fn h1_exchange(c: &mut H1) -> Result<bool, H1Err> {
    let req = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n";
    if c.r.get_mut().write_all(req).is_err() {
        return Err(H1Err::ClosedBeforeAnswer);
    }
    let mut line = String::new();
    match c.r.read_line(&mut line) {
        Ok(0) => return Err(H1Err::ClosedBeforeAnswer),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
            return Err(H1Err::ClosedBeforeAnswer);
        }
        Err(e) => return Err(other(format!("reading the status line: {e}"))),
        Ok(_) => {}
    }
    if !line.starts_with("HTTP/1.1 200 ") {
        return Err(other(format!("status line {line:?}")));
    }
    let mut len = None;
    let mut close = false;
    loop {
        line.clear();
        c.r.read_line(&mut line).map_err(other)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            let n = n.trim().to_ascii_lowercase();
            if n == "content-length" {
                len = v.trim().parse::<usize>().ok();
            } else if n == "connection" && v.trim().eq_ignore_ascii_case("close") {
                close = true;
            }
        }
    }
    let len = len.ok_or_else(|| other("no content-length"))?;
    let mut body = vec![0u8; len];
    c.r.read_exact(&mut body).map_err(other)?;
    // `connection: close`: the next request opens a new connection.
    Ok(!close)
}

fn h2_get(addr: SocketAddr, conn: &mut Option<(H2Wire, u32)>) -> Result<(), String> {
    let reused = conn.is_some();
    match h2_try(addr, conn) {
        Err(H1Err::ClosedBeforeAnswer) if reused => h2_try(addr, conn).map_err(|e| e.to_string()),
        r => r.map_err(|e| e.to_string()),
    }
}

fn h2_try(addr: SocketAddr, conn: &mut Option<(H2Wire, u32)>) -> Result<(), H1Err> {
    if conn.is_none() {
        *conn = Some((H2Wire::open(addr).map_err(other)?, 1));
    }
    let Some((c, next)) = conn.as_mut() else {
        return Err(other("no connection"));
    };
    let id = *next;
    *next += 2;
    // Keep the transcript short: the prober only looks at new items.
    c.seen.clear();
    let result = (|| {
        if c.is_closed() || c.get(id, "/").is_err() {
            return Err(H1Err::ClosedBeforeAnswer);
        }
        let status = c.status_of(id, REQUEST_TIMEOUT);
        if status.is_none() && (c.is_closed() || c.goaway(Duration::ZERO).is_some()) {
            return Err(H1Err::ClosedBeforeAnswer);
        }
        match status {
            Some(200) => {}
            s => return Err(other(format!("stream {id}: status {s:?}"))),
        }
        c.response_end(id, REQUEST_TIMEOUT)
            .ok_or_else(|| other(format!("stream {id}: no end")))?;
        Ok(())
    })();
    if result.is_err() || *next > 1 << 20 {
        *conn = None;
    }
    result
}
