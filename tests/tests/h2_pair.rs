//! HTTP/2 scenarios through the in-memory pair (RFC 9113).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

fn h2_get(path: &str) -> RequestHead {
    request(Method::Get, path, &[("host", "example.com")])
}

/// RFC 9113 §3.4, §8.1: a GET over prior knowledge gets its response.
#[test]
fn get_over_prior_knowledge() {
    let mut p = Pair::h2();
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    p.request(h2_get("/hello"), b"");
    p.drive();
    assert_eq!(
        p.client.app_log(),
        vec!["app: body 1: GET /hello ".to_owned()]
    );
    assert!(
        p.client.count(|e| matches!(e, Event::Finished { .. })) == 1,
        "{:#?}",
        p.client.log
    );
    assert!(
        p.server.count(|e| matches!(e, Event::Finished { .. })) == 1,
        "{:#?}",
        p.server.log
    );
    assert!(p.client.closed().is_none());
}

/// RFC 9113 §8.1: request and response content both ways, many streams.
#[test]
fn concurrent_posts_with_bodies() {
    let mut p = Pair::h2();
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    for i in 0..50 {
        let body = format!("body-{i}");
        p.request(
            request(Method::Post, &format!("/{i}"), &[("host", "x")]),
            body.as_bytes(),
        );
    }
    p.drive();
    let log = p.client.app_log();
    assert_eq!(log.len(), 50, "{log:#?}");
    assert!(log.iter().any(|l| l.contains("POST /7 body-7")), "{log:#?}");
}

/// RFC 8441 §4, §5: extended CONNECT — the client's `:protocol` reaches the
/// server application, and the stream carries DATA both ways after a 2xx.
#[test]
fn extended_connect_carries_protocol_8441_4() {
    let mut server = Config::default();
    server.h2.enable_connect_protocol = true;
    let mut p = Pair::with_protocol(Protocol::Http2, Config::default(), server, Delivery::WHOLE);
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    let mut head = request(Method::Connect, "/chat", &[("host", "example.com")]);
    head.protocol = Some(bytes::Bytes::from_static(b"websocket"));
    // RFC 8441 §3: not before the server's SETTINGS enabled it.
    assert!(p.client.conn.send_request(head.clone(), false).is_err());
    p.drive();
    p.request(head, b"hello");
    p.drive();
    let reqs = p.server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].1.protocol.as_deref(), Some(&b"websocket"[..]));
    assert_eq!(reqs[0].1.method, Method::Connect);
    assert_eq!(&reqs[0].1.target[..], b"/chat");
    assert_eq!(
        p.client.app_log(),
        vec!["app: body 1: CONNECT /chat hello".to_owned()]
    );
}
