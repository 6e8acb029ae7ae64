//! Direct reads (the `direct` module): a server connection reads its socket
//! on its own thread until an exchange involves another thread, and a
//! connection reading that way still meets its deadlines and a graceful
//! shutdown. Raw sockets as the client, so every thread counted is the
//! server's. Timeouts are guards, never waits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use adapter_std::{Body, Builder, SendBody, ShutdownHandle};
use http::{Request, Response};
use proto_core::Config;

const GUARD: Duration = Duration::from_secs(5);

/// The tests count the process's threads: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// GET: a greeting; POST: the request body's length.
fn handler(req: Request<Body>) -> Response<SendBody> {
    if req.method() == http::Method::POST {
        let n = req.into_body().collect().unwrap().len();
        return Response::new(SendBody::from(n.to_string()));
    }
    Response::new(SendBody::from("Hello, World!"))
}

fn start(config: Config) -> (SocketAddr, ShutdownHandle, JoinHandle<std::io::Result<()>>) {
    let server = Builder::new().config(config).bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let shutdown = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.serve(handler));
    (addr, shutdown, thread)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    s
}

/// Reads one response with a `content-length` body; returns the body.
fn read_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "EOF inside a response head");
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .expect("content-length")
        .trim()
        .parse()
        .unwrap();
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

fn get(s: &mut TcpStream) -> String {
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    read_response(s)
}

/// Threads of this process named like the adapter's reader threads.
#[cfg(target_os = "linux")]
fn reader_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "http-read")
        .count()
}

/// Waits (bounded) until the count of reader threads is `n`.
#[cfg(target_os = "linux")]
fn reader_threads_become(n: usize) -> usize {
    let until = Instant::now() + GUARD;
    loop {
        let now = reader_threads();
        if now == n || Instant::now() > until {
            return now;
        }
        std::thread::yield_now();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn bodiless_requests_are_read_without_a_reader_thread_until_a_body_comes() {
    let _serial = serial();
    let (addr, shutdown, thread) = start(Config::default());
    let mut s = connect(addr);
    for _ in 0..3 {
        assert_eq!(get(&mut s), "Hello, World!");
    }
    assert_eq!(reader_threads(), 0, "a reader thread for bodiless requests");
    // A request body is read by a pool thread: the reader thread takes over.
    s.write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello")
        .unwrap();
    assert_eq!(read_response(&mut s), "5");
    assert_eq!(reader_threads_become(1), 1);
    // ... for good, and the connection goes on as before.
    assert_eq!(get(&mut s), "Hello, World!");
    s.write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc")
        .unwrap();
    assert_eq!(read_response(&mut s), "3");
    drop(s);
    shutdown.shutdown(Duration::from_secs(1));
    thread.join().unwrap().unwrap();
    assert_eq!(reader_threads_become(0), 0);
}

#[test]
fn shutdown_wakes_a_connection_blocked_in_a_direct_read() {
    let _serial = serial();
    // No deadline of the core's would end the read before the guard.
    let mut config = Config::default();
    config.idle_release = None;
    config.idle_timeout = None;
    let (addr, shutdown, thread) = start(config);
    let mut s = connect(addr);
    assert_eq!(get(&mut s), "Hello, World!");
    // Idle between requests: the connection thread is blocked reading. A
    // long drain: only the wake can make it close before the guard.
    let begun = Instant::now();
    shutdown.shutdown(Duration::from_secs(30));
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("closed before the guard");
    assert!(rest.is_empty(), "unexpected bytes {rest:?}");
    thread.join().unwrap().unwrap();
    assert!(begun.elapsed() < GUARD, "{:?}", begun.elapsed());
}

#[test]
fn idle_timeout_ends_a_directly_reading_connection() {
    let _serial = serial();
    let mut config = Config::default();
    config.idle_timeout = Some(Duration::from_millis(300));
    let (addr, shutdown, thread) = start(config);
    let mut s = connect(addr);
    assert_eq!(get(&mut s), "Hello, World!");
    let idle_since = Instant::now();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("closed before the guard");
    assert!(rest.is_empty(), "unexpected bytes {rest:?}");
    let idle = idle_since.elapsed();
    assert!(idle >= Duration::from_millis(250), "closed early: {idle:?}");
    assert!(idle < Duration::from_secs(3), "closed late: {idle:?}");
    shutdown.shutdown(Duration::from_secs(1));
    thread.join().unwrap().unwrap();
}

#[test]
fn pipelined_bodiless_requests_are_answered_in_order() {
    let _serial = serial();
    let (addr, shutdown, thread) = start(Config::default());
    let mut s = connect(addr);
    let mut burst = Vec::new();
    for _ in 0..16 {
        burst.extend_from_slice(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    }
    burst.extend_from_slice(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\n\r\nabcd");
    s.write_all(&burst).unwrap();
    for _ in 0..16 {
        assert_eq!(read_response(&mut s), "Hello, World!");
    }
    assert_eq!(read_response(&mut s), "4");
    drop(s);
    shutdown.shutdown(Duration::from_secs(1));
    thread.join().unwrap().unwrap();
}
