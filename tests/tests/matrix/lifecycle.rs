//! Connection lifecycle: slow handlers, graceful shutdown, client
//! connection reuse, timeouts.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{StatusCode, Version};

use super::client::{Client, ClientKind, ClientOpts, Req, ReqBody};
use super::common::{assert_same_bytes, odd_chunks, pattern};
use super::raw::Raw;
use super::routes::SLOW_DONE;
use super::server::{Server, ServerKind, ServerOpts};

/// A `/slow` request in flight, sent from its own thread.
fn slow_in_flight(
    server: &Server,
    client: &Client,
) -> std::thread::JoinHandle<super::client::Resp> {
    let client = client.clone();
    let url = server.url("/slow");
    let handle = std::thread::spawn(move || client.send(Req::get(url)));
    server.ctx.wait_entered(1);
    handle
}

fn slow_handler(s: ServerKind, c: ClientKind, opts: &ClientOpts, connections: u64) {
    let server = Server::start(s);
    let client = Client::new(c, opts);
    let slow = slow_in_flight(&server, &client);
    let resp = client.send(Req::get(server.url("/hello")));
    assert_eq!(resp.body, b"hello", "answered while /slow is held");
    assert_eq!(server.accepted(), connections);
    server.ctx.release();
    assert_eq!(slow.join().expect("slow request").body, SLOW_DONE);
}

/// A held `/slow` stream does not delay `/hello` on the same HTTP/2
/// connection.
pub fn slow_handler_h2(s: ServerKind, c: ClientKind) {
    slow_handler(s, c, &ClientOpts::h2(), 1);
}

/// A held `/slow` exchange does not delay `/hello` on a second HTTP/1.1
/// connection (the client's pool opens it: the first is busy).
pub fn slow_handler_h1(s: ServerKind, c: ClientKind) {
    slow_handler(s, c, &ClientOpts::h1(), 2);
}

/// After shutdown started, a new connection gets no answer: refused, reset
/// or closed without a byte.
#[track_caller]
fn assert_no_new_connection(addr: SocketAddr) {
    let Ok(mut raw) = Raw::try_connect(addr) else {
        return;
    };
    // A write to a connection the server already reset may fail: fine.
    let _ = std::io::Write::write_all(&mut raw.stream, b"GET /hello HTTP/1.1\r\nhost: m\r\n\r\n");
    match raw.read_to_close() {
        Ok(bytes) => assert!(
            bytes.is_empty(),
            "a connection made after shutdown was answered: {}",
            String::from_utf8_lossy(&bytes)
        ),
        Err(e) => panic!("a connection made after shutdown was neither refused nor closed: {e}"),
    }
}

fn graceful_shutdown(s: ServerKind, c: ClientKind, opts: &ClientOpts) {
    let h1 = !opts.h2;
    let server = Server::start(s);
    let client = Client::new(c, opts);
    let slow = slow_in_flight(&server, &client);
    server.shutdown(Duration::from_secs(30));
    assert_no_new_connection(server.addr);
    server.ctx.release();
    let resp = slow.join().expect("the request in flight");
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body, SLOW_DONE, "completes after shutdown started");
    if h1 {
        assert_eq!(
            super::h1::header(&resp, "connection"),
            "close",
            "the last response on a closing HTTP/1.1 connection says so"
        );
    }
    server.wait_stopped();
}

/// Shutdown while a request is in flight: it completes, new connections are
/// not served, the server stops once it is done (HTTP/1.1:
/// `connection: close` on the last response).
pub fn graceful_shutdown_h1(s: ServerKind, c: ClientKind) {
    graceful_shutdown(s, c, &ClientOpts::h1());
}

/// The same over HTTP/2 (GOAWAY, RFC 9113 §6.8).
pub fn graceful_shutdown_h2(s: ServerKind, c: ClientKind) {
    graceful_shutdown(s, c, &ClientOpts::h2());
}

fn client_reuse(s: ServerKind, c: ClientKind, opts: &ClientOpts, version: Version) {
    let server = Server::start(s);
    let client = Client::new(c, opts);
    let data = pattern(9_999);
    for i in 0..20 {
        let (req, want): (Req, Vec<u8>) = match i % 4 {
            0 => (Req::get(server.url("/hello")), b"hello".to_vec()),
            1 => (
                Req::post(
                    server.url("/echo"),
                    ReqBody::Full(Bytes::from(data.clone())),
                ),
                data.clone(),
            ),
            2 => (Req::get(server.url("/chunked?n=9999")), data.clone()),
            _ => (
                Req::post(server.url("/echo"), ReqBody::Chunks(odd_chunks(&data))),
                data.clone(),
            ),
        };
        let resp = client.send(req);
        assert_eq!(resp.status, StatusCode::OK, "request {i}");
        assert_eq!(resp.version, version);
        assert_same_bytes(&resp.body, &want, &format!("request {i}"));
    }
    assert_eq!(
        server.accepted(),
        1,
        "20 sequential requests, one connection"
    );
    if let Some(opened) = client.connections_opened() {
        assert_eq!(opened, 1);
    }
}

/// 20 sequential requests with every kind of body reuse one HTTP/1.1
/// connection.
pub fn client_reuse_h1(s: ServerKind, c: ClientKind) {
    client_reuse(s, c, &ClientOpts::h1(), Version::HTTP_11);
}

/// 20 sequential requests reuse one HTTP/2 connection.
pub fn client_reuse_h2(s: ServerKind, c: ClientKind) {
    client_reuse(s, c, &ClientOpts::h2(), Version::HTTP_2);
}

const SHORT: Duration = Duration::from_millis(300);

/// A connection that sends nothing, and one that stops inside its head
/// (slowloris), are closed once the header-read timeout passes, not before;
/// whatever is said first is a `408`.
pub fn header_read_timeout(s: ServerKind, _c: ClientKind) {
    let mut config = adapter_tokio::Config::default();
    config.header_read_timeout = Some(SHORT);
    let server = Server::start_with(
        s,
        ServerOpts {
            config,
            ..ServerOpts::default()
        },
    );
    for partial in [&b""[..], b"GET /hello HTTP/1.1\r\nhost: m\r\n"] {
        let started = Instant::now();
        let mut raw = Raw::connect(server.addr);
        raw.write(partial);
        let said = raw.read_to_close().expect("closed by the server");
        let elapsed = started.elapsed();
        assert!(
            elapsed >= SHORT,
            "closed after {elapsed:?}, before the timeout"
        );
        assert!(
            said.is_empty() || said.starts_with(b"HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(&said)
        );
    }
    assert_eq!(server.requests(), 0);
}

/// The client's request timeout fires against a server that never answers
/// (`/slow`, held), and the client still works afterwards.
pub fn client_request_timeout(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    let client = Client::new(
        c,
        &ClientOpts {
            request_timeout: Some(SHORT),
            ..ClientOpts::h1()
        },
    );
    let started = Instant::now();
    let err = client
        .try_send(Req::get(server.url("/slow")))
        .expect_err("the server never answers");
    let elapsed = started.elapsed();
    assert!(err.contains("timed out"), "{err}");
    assert!(elapsed >= SHORT, "timed out after {elapsed:?}");
    let resp = client.send(Req::get(server.url("/hello")));
    assert_eq!(resp.body, b"hello");
}
