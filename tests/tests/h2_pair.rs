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

/// RFC 9113 §6.5.3, §6.9.2: SETTINGS changed mid-flight. The server raises
/// its initial window while a 1 MiB upload is under way and lowers its stream
/// limit; the upload completes intact and the client honours the new limit.
#[test]
fn settings_changed_mid_flight_6_5_3() {
    for delivery in [Delivery::WHOLE, Delivery::random(5)] {
        let mut p = Pair::with_protocol(
            Protocol::Http2,
            Config::default(),
            Config::default(),
            delivery,
        );
        p.server.app = Some(echo_server());
        p.client.app = Some(reader());
        let body: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
        p.request(request(Method::Post, "/up", &[("host", "h")]), &body);
        // A few rounds in: part of the body has moved, not all of it.
        for _ in 0..6 {
            p.step();
        }
        let mut h2 = Config::default().h2;
        h2.initial_window_size = 1 << 20;
        h2.max_concurrent_streams = 1;
        p.server.conn.update_settings(h2);
        p.drive();
        let log = p.client.app_log();
        assert_eq!(log.len(), 1, "{log:?}");
        // The echo server answers with the body rendered by `show`.
        let echoed = format!("POST /up {}", show(&body));
        assert!(
            log[0] == format!("app: body 1: {}", show(echoed.as_bytes())),
            "body damaged"
        );
        // The client saw the new limit: one stream at a time now.
        assert!(p.client.count(|e| matches!(e, Event::PeerSettings { .. })) >= 2);
        let _a = p.request(request(Method::Get, "/a", &[("host", "h")]), b"");
        assert!(!p.client.conn.can_send_request(), "limit of 1 reached");
        p.drive();
        assert!(
            p.client.conn.can_send_request(),
            "free again after the exchange"
        );
    }
}
