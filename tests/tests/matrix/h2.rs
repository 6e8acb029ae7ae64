//! HTTP/2 scenarios (prior knowledge): multiplexing, flow control with
//! large bodies, trailers, connection reuse.

use http::{StatusCode, Version};

use super::client::{Client, ClientKind, ClientOpts, Req, ReqBody};
use super::common::{assert_same_bytes, odd_chunks, pattern};
use super::h1::up_trailers;
use super::routes::{SLOW_DONE, TRAILER_DOWN};
use super::server::{Server, ServerKind, ServerOpts};

/// 50 requests in flight at once on one connection (RFC 9113 §5): every
/// `/slow` handler has started before any is released.
pub fn h2_multiplexing(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    let client = Client::new(c, &ClientOpts::h2());
    let url = server.url("/slow");
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            std::thread::spawn(move || client.send(Req::get(url)))
        })
        .collect();
    server.ctx.wait_entered(50);
    assert_eq!(
        server.accepted(),
        1,
        "50 concurrent requests, one connection"
    );
    server.ctx.release();
    for r in requests {
        let resp = r.join().expect("request thread");
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(resp.version, Version::HTTP_2);
        assert_eq!(resp.body, SLOW_DONE);
    }
    assert_eq!(server.accepted(), 1);
}

/// 4 MiB up and 4 MiB down through 64 KiB windows on both ends (RFC 9113
/// §5.2, the protocol's default initial window), byte-exact: the echo runs
/// both directions at once.
pub fn h2_flow_control(s: ServerKind, c: ClientKind) {
    let mut config = adapter_tokio::Config::default();
    config.h2.initial_window_size = 65_535;
    config.h2.connection_window_size = 65_535;
    let server = Server::start_with(
        s,
        ServerOpts {
            config: config.clone(),
            ..ServerOpts::default()
        },
    );
    let client = Client::new(
        c,
        &ClientOpts {
            config: Some(config),
            ..ClientOpts::h2()
        },
    );
    let data = pattern(4 << 20);
    let resp = client.send(Req::post(
        server.url("/echo"),
        ReqBody::Chunks(odd_chunks(&data)),
    ));
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.version, Version::HTTP_2);
    assert_same_bytes(&resp.body, &data, "4 MiB echoed");
    let resp = client.send(Req::get(server.url(&format!("/chunked?n={}", 4 << 20))));
    assert_same_bytes(&resp.body, &data, "4 MiB download");
    assert_eq!(server.accepted(), 1);
}

/// Trailers both ways in HEADERS frames after the data (RFC 9113 §8.1).
pub fn trailers_h2(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    let client = Client::new(c, &ClientOpts::h2());
    let data = pattern(70_001);
    let mut req = Req::post(server.url("/trailers"), ReqBody::Chunks(odd_chunks(&data)));
    req.trailers = Some(up_trailers());
    let resp = client.send(req);
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.version, Version::HTTP_2);
    assert_eq!(
        resp.headers.get("x-got-trailer").map(|v| v.as_bytes()),
        Some(&b"42"[..])
    );
    assert_same_bytes(&resp.body, &data, "body");
    let got = resp.trailers.as_ref().and_then(|t| t.get("x-down"));
    assert_eq!(
        got.map(|v| v.as_bytes()),
        Some(TRAILER_DOWN.as_bytes()),
        "{resp:?}"
    );
}
