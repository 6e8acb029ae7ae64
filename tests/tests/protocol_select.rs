//! Choosing the protocol on one `Connection`: prior knowledge vs HTTP/1.1
//! request line (RFC 9113 §3.3, §3.4).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

fn auto_pair(client: Protocol, delivery: Delivery) -> Pair {
    Pair::with_protocols(
        client,
        Protocol::Auto,
        Config::default(),
        Config::default(),
        delivery,
    )
}

fn negotiated(ep: &Endpoint) -> Vec<Version> {
    ep.events
        .iter()
        .filter_map(|e| match e {
            Event::Negotiated { version } => Some(*version),
            _ => None,
        })
        .collect()
}

/// RFC 9113 §3.3: a server sniffing the first bytes serves an HTTP/2
/// prior-knowledge client, however the preface is split.
#[test]
fn auto_server_detects_prior_knowledge_3_3() {
    for delivery in [Delivery::WHOLE, Delivery::BYTEWISE, Delivery::random(3)] {
        let mut p = auto_pair(Protocol::Http2, delivery);
        p.server.app = Some(echo_server());
        p.client.app = Some(reader());
        p.request(request(Method::Get, "/x", &[("host", "h")]), b"");
        p.drive();
        assert_eq!(negotiated(&p.server), vec![Version::H2]);
        assert_eq!(p.client.app_log(), vec!["app: body 1: GET /x ".to_owned()]);
    }
}

/// An HTTP/1.1 request line on an auto server is served as HTTP/1.1.
#[test]
fn auto_server_serves_http1() {
    for delivery in [Delivery::WHOLE, Delivery::BYTEWISE] {
        let mut p = auto_pair(Protocol::Http1, delivery);
        p.server.app = Some(echo_server());
        p.client.app = Some(reader());
        p.request(request(Method::Get, "/y", &[("host", "h")]), b"");
        p.drive();
        assert_eq!(negotiated(&p.server), vec![Version::Http11]);
        assert_eq!(p.client.app_log(), vec!["app: body 1: GET /y ".to_owned()]);
    }
}

/// RFC 9113 §3.4: a corrupted preface is an HTTP/2 connection error
/// (GOAWAY PROTOCOL_ERROR), not an HTTP/1 request answered with 400.
#[test]
fn corrupted_preface_is_http2_protocol_error_3_4() {
    let mut conn = Connection::with_protocol(Side::Server, Protocol::Auto, Config::default(), T0);
    let taken = conn.recv(T0, b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
    assert!(taken > 0);
    let out = drain_transmit(&mut conn);
    assert!(
        !out.starts_with(b"HTTP/1.1"),
        "answered as HTTP/1: {}",
        show(&out)
    );
    // Decode what was sent: SETTINGS (+ WINDOW_UPDATE), then GOAWAY PROTOCOL_ERROR.
    let mut buf = bytes::BytesMut::from(&out[..]);
    let mut last = None;
    while let Some(f) = proto_core::h2::frame::decode(&mut buf, 1 << 20).unwrap() {
        last = Some(f);
    }
    match last {
        Some(proto_core::h2::frame::Frame::GoAway(g)) => {
            assert_eq!(g.error_code, ErrorCode::PROTOCOL_ERROR);
        }
        other => panic!("expected GOAWAY, got {other:?}"),
    }
    let mut closed = None;
    while let Some(e) = conn.poll_event() {
        if let Event::Closed { reason } = e {
            closed = Some(reason);
        }
    }
    assert!(
        matches!(closed, Some(CloseReason::Peer(PeerError::H2 { .. }))),
        "{closed:?}"
    );
}

/// A silent client on an auto server gets the HTTP/1 header-read timeout
/// (slowloris defence starts at accept).
#[test]
fn auto_server_silent_client_times_out() {
    let mut conn = Connection::with_protocol(Side::Server, Protocol::Auto, Config::default(), T0);
    let deadline = conn
        .poll_timeout()
        .expect("a header-read deadline from accept");
    assert_eq!(
        deadline,
        T0 + Config::default().header_read_timeout.unwrap()
    );
    conn.handle_timeout(deadline);
    let out = drain_transmit(&mut conn);
    assert!(out.starts_with(b"HTTP/1.1 408"), "{}", show(&out));
    assert!(conn.is_closed());
}

/// The zero-copy input path sniffs the same way.
#[test]
fn auto_server_sniffs_through_recv_buf() {
    let mut conn = Connection::with_protocol(Side::Server, Protocol::Auto, Config::default(), T0);
    let mut buf = bytes::BytesMut::from(
        &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"[..],
    );
    conn.recv_buf(T0, &mut buf);
    assert!(buf.is_empty());
    assert_eq!(conn.version(), Version::H2);
    let out = drain_transmit(&mut conn);
    assert!(!out.starts_with(b"HTTP/1.1"), "{}", show(&out));
}

/// RFC 7540 §3.2 (h2c upgrade, both roles): a client request offering
/// `Upgrade: h2c` is answered with 101, becomes stream 1 of an HTTP/2
/// connection, and its response arrives over HTTP/2; later requests are
/// HTTP/2 streams 3, 5, ...
#[test]
fn h2c_upgrade_both_roles_7540_3_2() {
    for delivery in [Delivery::WHOLE, Delivery::BYTEWISE, Delivery::random(11)] {
        let mut p = Pair::with_protocols(
            Protocol::Http1,
            Protocol::Auto,
            Config::default(),
            Config::default(),
            delivery,
        );
        p.server.app = Some(echo_server());
        p.client.app = Some(reader());
        let settings = proto_core::h2::h2c::settings_header(&Config::default());
        let mut head = request(
            Method::Get,
            "/up",
            &[
                ("host", "h"),
                ("connection", "Upgrade, HTTP2-Settings"),
                ("upgrade", "h2c"),
            ],
        );
        head.fields
            .push(bytes::Bytes::from_static(b"HTTP2-Settings"), settings);
        p.request(head, b"");
        p.drive();
        assert!(p.client.wire_str().starts_with("GET /up HTTP/1.1\r\n"));
        assert!(
            p.server
                .wire_str()
                .starts_with("HTTP/1.1 101 Switching Protocols\r\n")
        );
        assert_eq!(p.client.conn.version(), Version::H2, "client switched");
        assert_eq!(p.server.conn.version(), Version::H2, "server switched");
        assert_eq!(p.client.app_log(), vec!["app: body 1: GET /up ".to_owned()]);
        // The connection goes on as HTTP/2.
        let id = p.request(request(Method::Post, "/next", &[("host", "h")]), b"more");
        assert_eq!(id, sid(3));
        p.drive();
        assert_eq!(
            p.client.app_log().last().map(String::as_str),
            Some("app: body 3: POST /next more")
        );
    }
}

/// RFC 7540 §3.2: a request with content is served over HTTP/1.1 (the
/// upgrade is optional for the server), never half-upgraded.
#[test]
fn h2c_upgrade_ignored_for_request_with_content() {
    let mut p = Pair::with_protocols(
        Protocol::Http1,
        Protocol::Auto,
        Config::default(),
        Config::default(),
        Delivery::WHOLE,
    );
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    let settings = proto_core::h2::h2c::settings_header(&Config::default());
    let mut head = request(
        Method::Post,
        "/up",
        &[
            ("host", "h"),
            ("connection", "Upgrade, HTTP2-Settings"),
            ("upgrade", "h2c"),
            ("content-length", "3"),
        ],
    );
    head.fields
        .push(bytes::Bytes::from_static(b"HTTP2-Settings"), settings);
    p.request(head, b"abc");
    p.drive();
    assert_eq!(p.server.conn.version(), Version::Http11);
    assert_eq!(
        p.client.app_log(),
        vec!["app: body 1: POST /up abc".to_owned()]
    );
}
