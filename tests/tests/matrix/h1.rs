//! HTTP/1.1 scenarios: keep-alive, pipelining, chunked bodies, trailers,
//! `100-continue`.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, Version};

use super::client::{Client, ClientKind, ClientOpts, Req, ReqBody};
use super::common::{assert_same_bytes, odd_chunks, pattern};
use super::raw::Raw;
use super::routes::{SLOW_DONE, TRAILER_DOWN};
use super::server::{Server, ServerKind};

/// Ten requests from one client travel on one connection (RFC 9112 §9.3).
pub fn h1_keep_alive(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    let client = Client::new(c, &ClientOpts::h1());
    for _ in 0..10 {
        let resp = client.send(Req::get(server.url("/hello")));
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(resp.version, Version::HTTP_11);
        assert_eq!(resp.body, b"hello");
    }
    assert_eq!(server.requests(), 10);
    assert_eq!(
        server.accepted(),
        1,
        "10 sequential requests, one connection"
    );
    if let Some(opened) = client.connections_opened() {
        assert_eq!(opened, 1);
    }
}

/// Three requests in one write, the first held by its handler: responses
/// come back complete and in request order on the one connection (RFC 9112
/// §9.3.2). Raw client only: no adapter client pipelines.
pub fn h1_pipelining(s: ServerKind, _c: ClientKind) {
    let server = Server::start(s);
    let mut raw = Raw::connect(server.addr);
    raw.write(
        b"GET /slow HTTP/1.1\r\nhost: m\r\n\r\n\
          POST /echo HTTP/1.1\r\nhost: m\r\ncontent-length: 5\r\n\r\nabcde\
          GET /chunked?n=1000 HTTP/1.1\r\nhost: m\r\n\r\n",
    );
    server.ctx.wait_entered(1);
    server.ctx.release();
    let first = raw.read_response().expect("first response");
    assert_eq!((first.status, first.body.as_slice()), (200, SLOW_DONE));
    let second = raw.read_response().expect("second response");
    assert_eq!(
        (second.status, second.body.as_slice()),
        (200, &b"abcde"[..])
    );
    let third = raw.read_response().expect("third response");
    assert_eq!(third.status, 200);
    assert_same_bytes(&third.body, &pattern(1000), "third body");
    assert_eq!(server.accepted(), 1);
}

/// `data` as a chunked body with chunk sizes in hex, odd sizes.
fn chunked_wire(data: &[u8], trailers: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in odd_chunks(data) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(&piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    out.extend_from_slice(trailers.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// A body of odd size streamed without a length (chunked, RFC 9112 §7.1)
/// reaches the handler byte-exact; `/echo` streams it back.
pub fn h1_chunked_upload(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    let data = pattern(100_003);
    if c == ClientKind::Raw {
        let mut raw = Raw::connect(server.addr);
        let mut req =
            b"POST /echo HTTP/1.1\r\nhost: m\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        req.extend(chunked_wire(&data, ""));
        raw.write(&req);
        let resp = raw.read_response().expect("response");
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("x-framing"), Some("chunked"));
        assert_same_bytes(&resp.body, &data, "echoed body");
        return;
    }
    let client = Client::new(c, &ClientOpts::h1());
    let resp = client.send(Req::post(
        server.url("/echo"),
        ReqBody::Chunks(odd_chunks(&data)),
    ));
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(
        header(&resp, "x-framing"),
        "chunked",
        "sent without a length"
    );
    assert_same_bytes(&resp.body, &data, "echoed body");
}

/// A response of odd size streamed without a length arrives chunked and
/// byte-exact.
pub fn h1_chunked_download(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    let want = pattern(300_007);
    if c == ClientKind::Raw {
        let mut raw = Raw::connect(server.addr);
        raw.write(b"GET /chunked?n=300007 HTTP/1.1\r\nhost: m\r\n\r\n");
        let resp = raw.read_response().expect("response");
        assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
        assert_eq!(resp.header("content-length"), None);
        assert_same_bytes(&resp.body, &want, "body");
        return;
    }
    let client = Client::new(c, &ClientOpts::h1());
    let resp = client.send(Req::get(server.url("/chunked?n=300007")));
    assert_eq!(resp.status, StatusCode::OK);
    assert!(!resp.headers.contains_key("content-length"), "{resp:?}");
    assert_same_bytes(&resp.body, &want, "body");
}

/// A response header as text ("" if absent).
pub fn header<'a>(resp: &'a super::client::Resp, name: &str) -> &'a str {
    resp.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

pub fn up_trailers() -> HeaderMap {
    let mut t = HeaderMap::new();
    t.insert("x-up", HeaderValue::from_static("42"));
    t
}

/// Request trailers after a chunked body reach the handler (RFC 9112
/// §7.1.2).
pub fn trailers_upload_h1(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    let data = pattern(50_001);
    if c == ClientKind::Raw {
        let mut raw = Raw::connect(server.addr);
        let mut req = b"POST /trailers HTTP/1.1\r\nhost: m\r\ntransfer-encoding: chunked\r\ntrailer: x-up\r\n\r\n".to_vec();
        req.extend(chunked_wire(&data, "x-up: 42\r\n"));
        raw.write(&req);
        let resp = raw.read_response().expect("response");
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("x-got-trailer"), Some("42"));
        assert_same_bytes(&resp.body, &data, "body");
        return;
    }
    let client = Client::new(c, &ClientOpts::h1());
    let mut req = Req::post(server.url("/trailers"), ReqBody::Chunks(odd_chunks(&data)));
    req.trailers = Some(up_trailers());
    let resp = client.send(req);
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(
        resp.headers.get("x-got-trailer").map(|v| v.as_bytes()),
        Some(&b"42"[..])
    );
    assert_same_bytes(&resp.body, &data, "body");
}

/// Response trailers after a chunked body reach the client (RFC 9112
/// §7.1.2).
pub fn trailers_download_h1(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    if c == ClientKind::Raw {
        let mut raw = Raw::connect(server.addr);
        raw.write(b"GET /trailers HTTP/1.1\r\nhost: m\r\nte: trailers\r\n\r\n");
        let resp = raw.read_response().expect("response");
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("x-got-trailer"), Some("none"));
        assert_eq!(
            resp.trailers,
            vec![("x-down".to_owned(), TRAILER_DOWN.to_owned())]
        );
        return;
    }
    let client = Client::new(c, &ClientOpts::h1());
    let resp = client.send(Req::get(server.url("/trailers")).header("te", "trailers"));
    assert_eq!(resp.status, StatusCode::OK);
    let got = resp.trailers.as_ref().and_then(|t| t.get("x-down"));
    assert_eq!(
        got.map(|v| v.as_bytes()),
        Some(TRAILER_DOWN.as_bytes()),
        "{resp:?}"
    );
}

/// `Expect: 100-continue` (RFC 9110 §10.1.1): the server says `100` before
/// the body is sent (raw client: it sends the body only after reading
/// it), and the adapter clients wait for it (their continue timeout is set
/// far past the matrix deadline, so a missing `100` fails the cell).
pub fn expect_continue(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    let data = pattern(20_011);
    if c == ClientKind::Raw {
        let mut raw = Raw::connect(server.addr);
        raw.write(
            format!(
                "POST /echo HTTP/1.1\r\nhost: m\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
                data.len()
            )
            .as_bytes(),
        );
        let (status, _) = raw.read_head().expect("interim head");
        assert_eq!(status, 100, "the body is wanted: 100 first");
        raw.write(&data);
        let resp = raw.read_response().expect("final response");
        assert_eq!(resp.status, 200);
        assert_same_bytes(&resp.body, &data, "echoed body");
        return;
    }
    let mut config = adapter_tokio::Config::default();
    config.expect_continue_timeout = Duration::from_secs(600);
    let opts = ClientOpts {
        config: Some(config),
        ..ClientOpts::h1()
    };
    let client = Client::new(c, &opts);
    let req = Req::post(
        server.url("/echo"),
        ReqBody::Full(Bytes::from(data.clone())),
    )
    .header("expect", "100-continue");
    let resp = client.send(req);
    assert_eq!(resp.status, StatusCode::OK);
    assert_same_bytes(&resp.body, &data, "echoed body");
}

/// The client's side of `Expect: 100-continue` (RFC 9110 §10.1.1), against
/// a raw server: after the head, nothing of the body is there yet (its
/// continue timeout is far past the matrix deadline, so a waiting client
/// has no reason to send it); after our `100`, all of it arrives. A client
/// that did not wait writes its body right behind the head, where this
/// check sees it (a correct client can never fail it).
pub fn expect_continue_client_waits(_s: ServerKind, c: ClientKind) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/echo", listener.local_addr().expect("addr"));
    let mut config = adapter_tokio::Config::default();
    config.expect_continue_timeout = Duration::from_secs(600);
    let client = Client::new(
        c,
        &ClientOpts {
            config: Some(config),
            ..ClientOpts::h1()
        },
    );
    let data = pattern(10_007);
    let req =
        Req::post(url, ReqBody::Full(Bytes::from(data.clone()))).header("expect", "100-continue");
    let request = std::thread::spawn(move || client.send(req));
    let (sock, _) = super::common::within("accept", move || listener.accept()).expect("accept");
    let mut raw = Raw::accepted(sock);
    let (line, fields) = raw.read_request_head().expect("request head");
    assert_eq!(line, "POST /echo HTTP/1.1");
    assert!(
        fields.contains(&("expect".to_owned(), "100-continue".to_owned())),
        "{fields:?}"
    );
    let early = raw.available_now().expect("peek");
    assert_eq!(early, 0, "body bytes sent before 100 Continue");
    raw.write(b"HTTP/1.1 100 Continue\r\n\r\n");
    let body = raw.take(data.len()).expect("the body, after our 100");
    assert_same_bytes(&body, &data, "body");
    raw.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    let resp = request.join().expect("request thread");
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body, b"ok");
}
