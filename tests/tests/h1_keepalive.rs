//! Persistence (RFC 9112 §9.3) and closing (RFC 9112 §9.6).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

fn server() -> Raw {
    Raw::server(no_timers()).app(echo_server())
}

fn pair() -> Pair {
    let mut p = Pair::with(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    p
}

/// RFC 9112 §9.3: HTTP/1.1 connections persist by default; two exchanges
/// on one connection, both finished, no close.
#[test]
fn rfc9112_9_3_http11_persists_by_default() {
    let mut p = pair();
    let a = p.request(get("/a"), b"");
    p.drive();
    assert!(
        p.client
            .saw(|e| matches!(e, Event::Finished { id } if *id == a))
    );
    assert!(p.client.saw(|e| matches!(e, Event::StreamsAvailable)));
    let b = p.request(get("/b"), b"");
    p.drive();
    assert_eq!(a, sid(1));
    assert_eq!(b, sid(3));
    assert_eq!(p.server.requests().len(), 2);
    assert_eq!(
        p.client.app_log(),
        vec![
            "app: body 1: GET /a ".to_owned(),
            "app: body 3: GET /b ".to_owned()
        ]
    );
    assert!(p.client.closed().is_none(), "{:#?}", p.client.log);
    assert!(p.server.closed().is_none(), "{:#?}", p.server.log);
    let rs = parse_responses(&p.server.wire);
    assert!(
        rs.iter().all(|r| !r.connection_has("close")),
        "{}",
        p.server.wire_str()
    );
}

/// RFC 9112 §9.3: an HTTP/1.0 request without `Connection: keep-alive`
/// closes after the response (which says `connection: close`).
#[test]
fn rfc9112_9_3_http10_closes_by_default() {
    let mut raw = server();
    raw.feed(b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
    let rs = raw.responses();
    assert_eq!(rs.len(), 1, "{}", raw.out());
    assert_eq!(rs[0].status, 200);
    assert_eq!(rs[0].body, b"GET /a ");
    assert!(rs[0].connection_has("close"), "{}", raw.out());
    assert_eq!(raw.closed(), Some(&CloseReason::Done));
    assert_eq!(raw.ep.requests().len(), 1);
}

/// RFC 9112 §9.3 (and RFC 7230 §A.1.2): HTTP/1.0 with `Connection:
/// keep-alive` persists; the response says `connection: keep-alive`.
#[test]
fn rfc9112_9_3_http10_keep_alive_persists() {
    let mut raw = server();
    raw.feed(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let rs = raw.responses();
    assert_eq!(rs.len(), 2, "{}", raw.out());
    assert!(
        rs.iter().all(|r| r.connection_has("keep-alive")),
        "{}",
        raw.out()
    );
    assert_eq!(rs[1].body, b"GET /b ");
    assert!(raw.closed().is_none());
}

/// RFC 9112 §9.3: an HTTP/1.0 keep-alive exchange followed by a plain 1.0
/// request: the second closes.
#[test]
fn rfc9112_9_3_http10_keep_alive_then_plain_closes() {
    let mut raw = server();
    raw.feed(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\nGET /c HTTP/1.0\r\n\r\n");
    let rs = raw.responses();
    assert_eq!(rs.len(), 2, "{}", raw.out());
    assert!(rs[1].connection_has("close"));
    assert_eq!(raw.closed(), Some(&CloseReason::Done));
}

/// RFC 9112 §9.6: a client `Connection: close` ends the connection after
/// the response, which carries `connection: close`; nothing after it is read.
#[test]
fn rfc9112_9_6_client_connection_close_ends_after_response() {
    let mut raw = server();
    raw.feed(b"GET /a HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: example.com\r\n\r\n");
    let rs = raw.responses();
    assert_eq!(rs.len(), 1, "{}", raw.out());
    assert!(rs[0].connection_has("close"));
    assert_eq!(raw.closed(), Some(&CloseReason::Done));
    assert_eq!(raw.ep.requests().len(), 1);
}

/// RFC 9112 §9.6: a server response with `Connection: close` ends the
/// connection; a pipelined request behind is not answered.
#[test]
fn rfc9112_9_6_server_connection_close_ends_after_response() {
    let mut raw = Raw::server(no_timers());
    raw.feed(
        b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\nGET /b HTTP/1.1\r\nHost: example.com\r\n\r\n",
    );
    raw.ep.respond(
        sid(1),
        response(200, &[("connection", "close"), ("content-length", "2")]),
        b"ok",
    );
    raw.drive();
    let rs = raw.responses();
    assert_eq!(rs.len(), 1, "{}", raw.out());
    assert!(rs[0].connection_has("close"));
    assert_eq!(rs[0].body, b"ok");
    assert_eq!(raw.closed(), Some(&CloseReason::Done), "{:#?}", raw.ep.log);
    // Stream 3 was parsed before the app decided to close: it ends in a Reset.
    assert!(
        raw.ep
            .saw(|e| matches!(e, Event::Reset { id, .. } if *id == sid(3))),
        "{:#?}",
        raw.ep.log
    );
}

/// RFC 9112 §9.6: after a response with `Connection: close` the server
/// "MUST NOT process any further requests": a response the application
/// still tries to send for a request pipelined behind is not written.
#[test]
fn rfc9112_9_6_no_response_after_server_close() {
    let mut raw = Raw::server(no_timers());
    raw.feed(
        b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\nGET /b HTTP/1.1\r\nHost: example.com\r\n\r\n",
    );
    raw.ep.respond(
        sid(1),
        response(200, &[("connection", "close"), ("content-length", "2")]),
        b"ok",
    );
    raw.drive();
    let _ = raw
        .ep
        .conn
        .send_response(sid(3), response(200, &[("content-length", "2")]), false);
    raw.ep.send_body(sid(3), b"no", true, None);
    raw.drive();
    assert_eq!(raw.responses().len(), 1, "{}", raw.out());
}

/// RFC 9112 §9.6, pair: the client sends `Connection: close`; both ends
/// close with `Done` after the exchange.
#[test]
fn rfc9112_9_6_pair_client_close() {
    let mut p = pair();
    let id = p.request(
        request(
            Method::Get,
            "/",
            &[("host", "example.com"), ("connection", "close")],
        ),
        b"",
    );
    p.drive();
    assert!(
        p.client
            .saw(|e| matches!(e, Event::Finished { id: f } if *f == id))
    );
    assert_eq!(
        p.client.closed(),
        Some(&CloseReason::Done),
        "{:#?}",
        p.client.log
    );
    assert_eq!(
        p.server.closed(),
        Some(&CloseReason::Done),
        "{:#?}",
        p.server.log
    );
    assert!(!p.client.saw(|e| matches!(e, Event::StreamsAvailable)));
}

/// RFC 9112 §9.6, pair: the server answers with `Connection: close`; the
/// client finishes the exchange and closes (no `StreamsAvailable`), and a new
/// request is refused.
#[test]
fn rfc9112_9_6_pair_server_close() {
    let mut p = Pair::with(no_timers(), no_timers(), Delivery::WHOLE);
    p.client.app = Some(reader());
    p.server.app = Some(Box::new(|cx, ev| {
        if let Event::Request { id, .. } = ev {
            cx.respond(
                *id,
                response(200, &[("connection", "close"), ("content-length", "3")]),
                b"bye",
            );
        }
    }));
    p.request(get("/"), b"");
    p.drive();
    assert_eq!(p.client.app_log(), vec!["app: body 1: bye".to_owned()]);
    assert_eq!(
        p.client.closed(),
        Some(&CloseReason::Done),
        "{:#?}",
        p.client.log
    );
    assert_eq!(
        p.server.closed(),
        Some(&CloseReason::Done),
        "{:#?}",
        p.server.log
    );
    assert!(p.client.conn.send_request(get("/again"), true).is_err());
}

/// RFC 9112 §9.3: `Config::keep_alive = false` on the server makes every
/// response close.
#[test]
fn rfc9112_9_3_server_keep_alive_disabled_closes() {
    let mut cfg = no_timers();
    cfg.keep_alive = false;
    let mut raw = Raw::server(cfg).app(echo_server());
    raw.feed(
        b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\nGET /b HTTP/1.1\r\nHost: example.com\r\n\r\n",
    );
    let rs = raw.responses();
    assert_eq!(rs.len(), 1, "{}", raw.out());
    assert!(rs[0].connection_has("close"));
    assert_eq!(raw.closed(), Some(&CloseReason::Done));
}

/// RFC 9112 §9.3 (client): the client may not send a second request while
/// one is in flight (no pipelining): `UserError::Busy`.
#[test]
fn rfc9112_9_3_2_client_does_not_pipeline() {
    let mut raw = Raw::client(no_timers());
    let a = raw.ep.request(get("/a"), b"");
    assert_eq!(
        raw.ep.conn.send_request(get("/b"), true),
        Err(UserError::Busy)
    );
    raw.drive();
    assert_eq!(raw.out(), "GET /a HTTP/1.1\r\nhost: example.com\r\n\r\n");
    raw.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(
        raw.ep
            .saw(|e| matches!(e, Event::Finished { id } if *id == a))
    );
    assert!(raw.ep.saw(|e| matches!(e, Event::StreamsAvailable)));
    let b = raw.ep.request(get("/b"), b"");
    assert_eq!(b, sid(3));
}

/// RFC 9112 §9.3/§9.6: a response's persistence follows ITS request; parsing
/// a later pipelined HTTP/1.0 request without keep-alive must not mark the
/// earlier (keep-alive) response `connection: close` (after which a second
/// response would be a protocol violation).
#[test]
fn rfc9112_9_6_parse_ahead_does_not_mark_earlier_response_close() {
    let mut raw = server();
    raw.feed(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
    let rs = raw.responses();
    assert_eq!(rs.len(), 2, "{}", raw.out());
    assert!(
        rs[0].connection_has("keep-alive") && !rs[0].connection_has("close"),
        "{}",
        raw.out()
    );
    assert!(rs[1].connection_has("close"), "{}", raw.out());
    assert_nothing_after_close(&raw.ep.wire);
}

/// RFC 9112 §9.6: a malformed request pipelined behind a good one: the good
/// one's response may not say `connection: close` if the 400 follows it.
#[test]
fn rfc9112_9_6_error_behind_good_request_closes_once() {
    let mut raw = server();
    raw.feed(b"GET /ok HTTP/1.1\r\nHost: example.com\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    assert_eq!(statuses(&raw.ep.wire), vec![200, 400], "{}", raw.out());
    assert_nothing_after_close(&raw.ep.wire);
}
