//! Protocol switches through the std server and client: `101 Switching
//! Protocols` (RFC 9110 §7.8) and `CONNECT` tunnels (RFC 9110 §9.3.6) hand
//! the connection over as a blocking `Read + Write` that first yields the
//! bytes already read past the HTTP message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

use adapter_std::{Body, Client, Error, SendBody, Server, upgrade};
use http::{Method, Request, Response, StatusCode, header};
use support::{GUARD, start};

/// Echoes an upgraded stream until the peer ends its side, then ends ours.
fn echo(mut io: upgrade::Upgraded) {
    io.set_read_timeout(Some(GUARD));
    let mut buf = [0u8; 8192];
    loop {
        match io.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if io.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
    let _ = io.shutdown_write();
}

/// Answers `Upgrade: echo` requests with `101` and `CONNECT` with `200`,
/// then echoes the tunnel; anything else with `400` (and reports whether
/// its `OnUpgrade` resolved).
fn app(report: mpsc::Sender<bool>) -> impl Fn(Request<Body>) -> Response<SendBody> + Send + Sync {
    let report = std::sync::Mutex::new(report);
    move |mut req: Request<Body>| {
        let on_upgrade = upgrade::on(&mut req);
        let wants = req.method() == Method::CONNECT
            || req
                .headers()
                .get(header::UPGRADE)
                .is_some_and(|v| v == "echo");
        let report = report.lock().unwrap().clone();
        std::thread::spawn(move || match on_upgrade.wait_timeout(GUARD) {
            Ok(io) => {
                let _ = report.send(true);
                echo(io);
            }
            Err(_) => {
                let _ = report.send(false);
            }
        });
        let mut resp = Response::new(SendBody::empty());
        if !wants {
            *resp.status_mut() = StatusCode::BAD_REQUEST;
        } else if req.method() != Method::CONNECT {
            *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let h = resp.headers_mut();
            h.insert(header::CONNECTION, "upgrade".parse().unwrap());
            h.insert(header::UPGRADE, "echo".parse().unwrap());
        }
        resp
    }
}

/// Sends `data` through `io` piece by piece, reading each piece's echo
/// before the next (so no buffer fills up); then ends our side and reads
/// to the peer's end. Returns everything that came back.
fn round_trip(mut io: upgrade::Upgraded, data: &[u8]) -> Vec<u8> {
    io.set_read_timeout(Some(GUARD));
    let mut back = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut sent = 0;
    for piece in data.chunks(8 * 1024) {
        io.write_all(piece).unwrap();
        sent += piece.len();
        while back.len() < sent {
            let n = io.read(&mut buf).unwrap();
            assert!(n > 0, "echo ended early");
            back.extend_from_slice(&buf[..n]);
        }
    }
    io.shutdown_write().unwrap();
    io.read_to_end(&mut back).unwrap();
    back
}

fn upgrade_request(url: &str) -> Request<SendBody> {
    let mut req = Request::new(SendBody::empty());
    *req.uri_mut() = url.parse().unwrap();
    let h = req.headers_mut();
    h.insert(header::CONNECTION, "upgrade".parse().unwrap());
    h.insert(header::UPGRADE, "echo".parse().unwrap());
    req
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 % 251) as u8).collect()
}

/// RFC 9110 §7.8: a websocket-like echo after `101 Switching Protocols`,
/// our client to our server; 200 KB each way through the handed-over
/// connection.
#[test]
fn rfc9110_7_8_upgrade_101_echo_client_to_server() {
    let (report, reports) = mpsc::channel();
    let server = start(Server::builder(), app(report));
    let client = Client::new();
    let mut resp = client.request(upgrade_request(&server.url("/ws"))).unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(resp.headers()[header::UPGRADE], "echo");
    let io = upgrade::on(&mut resp).wait_timeout(GUARD).unwrap();
    assert!(reports.recv_timeout(GUARD).unwrap());
    let data = payload(200_000);
    let back = round_trip(io, &data);
    assert!(back == data, "echo differs ({} bytes back)", back.len());
    // The upgraded connection left the client's pool: a new request opens
    // a new connection.
    let resp = client.get(server.url("/plain").as_str()).unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(client.connections_opened(), 2);
    server.stop();
}

/// RFC 9110 §9.3.6: a `2xx` answer to `CONNECT` turns the connection into
/// a tunnel, here echoing.
#[test]
fn rfc9110_9_3_6_connect_tunnel_echo_client_to_server() {
    let (report, reports) = mpsc::channel();
    let server = start(Server::builder(), app(report));
    let client = Client::new();
    let mut req = Request::new(SendBody::empty());
    *req.method_mut() = Method::CONNECT;
    *req.uri_mut() = server.url("").parse().unwrap();
    let mut resp = client.request(req).unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let io = upgrade::on(&mut resp).wait_timeout(GUARD).unwrap();
    assert!(reports.recv_timeout(GUARD).unwrap());
    let data = payload(100_000);
    assert!(round_trip(io, &data) == data);
    server.stop();
}

/// A response that does not switch protocols resolves neither side's
/// `OnUpgrade`: both get an error, and the connection stays HTTP.
#[test]
fn rfc9110_7_8_no_switch_without_101() {
    let (report, reports) = mpsc::channel();
    let server = start(Server::builder(), app(report));
    let client = Client::new();
    let mut req = upgrade_request(&server.url("/"));
    req.headers_mut()
        .insert(header::UPGRADE, "other".parse().unwrap());
    let mut resp = client.request(req).unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let err = upgrade::on(&mut resp).wait_timeout(GUARD).unwrap_err();
    assert!(matches!(err, Error::NoUpgrade), "{err}");
    assert!(!reports.recv_timeout(GUARD).unwrap());
    // A plain request on the same (kept-alive) connection still works.
    let resp = client.get(server.url("/").as_str()).unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(client.connections_opened(), 1);
    server.stop();
}

/// Server side: bytes the client sent right behind the upgrade request
/// (in the same segment) are the first bytes of the upgraded stream.
#[test]
fn rfc9110_7_8_server_upgraded_stream_starts_with_bytes_already_read() {
    let (report, reports) = mpsc::channel();
    let server = start(Server::builder(), app(report));
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    s.write_all(
        b"GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\nearly bytes",
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"early bytes") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(reports.recv_timeout(GUARD).unwrap());
    let text = String::from_utf8(got).unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert_eq!(rest, "early bytes");
    server.stop();
}

/// Client side: bytes the server sent right behind the `101` head (in the
/// same segment) are the first bytes of the client's upgraded stream.
#[test]
fn rfc9110_7_8_client_upgraded_stream_starts_with_bytes_already_read() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(GUARD)).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).unwrap(), 1);
            head.push(byte[0]);
        }
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\nhello from the server")
            .unwrap();
        // Then what the client sends back, to the end.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        rest
    });
    let client = Client::new();
    let mut resp = client
        .request(upgrade_request(&format!("http://{addr}/")))
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    let mut io = upgrade::on(&mut resp).wait_timeout(GUARD).unwrap();
    io.set_read_timeout(Some(GUARD));
    let mut got = vec![0u8; 21];
    io.read_exact(&mut got).unwrap();
    assert_eq!(got, b"hello from the server");
    io.write_all(b"and back").unwrap();
    drop(io);
    assert_eq!(peer.join().unwrap(), b"and back");
}
