//! `Expect: 100-continue` (RFC 9110 §10.1.1) and interim responses such as
//! 103 Early Hints (RFC 8297, RFC 9110 §15.2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

const EXPECT_HEAD: &[u8] =
    b"POST /u HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
const CONTINUE: &str = "HTTP/1.1 100 Continue\r\n\r\n";

fn expect_request() -> RequestHead {
    request(
        Method::Post,
        "/u",
        &[
            ("host", "example.com"),
            ("expect", "100-continue"),
            ("content-length", "5"),
        ],
    )
}

/// RFC 9110 §10.1.1 + contract: nothing is sent before the application
/// reads; the first `read()` sends `100 Continue`.
#[test]
fn rfc9110_10_1_1_server_sends_100_on_first_read() {
    let mut raw = Raw::server(no_timers());
    raw.feed(EXPECT_HEAD);
    let tail: Vec<_> = raw.ep.log.iter().skip(1).cloned().collect();
    assert!(tail[0].starts_with("Request"), "{tail:#?}");
    assert_eq!(
        tail[1],
        format!("{:?}", Event::ContinueRequested { id: sid(1) })
    );
    assert_eq!(
        raw.out(),
        "",
        "100 sent before the application asked for the body"
    );
    assert_eq!(raw.ep.read_body(sid(1)), (vec![], ReadState::Blocked));
    raw.drive();
    assert_eq!(raw.take_out(), CONTINUE);
    raw.feed(b"hello");
    assert_eq!(
        raw.ep.read_body(sid(1)),
        (b"hello".to_vec(), ReadState::End)
    );
    raw.ep.respond_cl(sid(1), 200, b"ok");
    raw.drive();
    assert_eq!(
        raw.take_out(),
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    );
    assert!(raw.closed().is_none());
}

/// RFC 9110 §10.1.1: `accept_continue` sends `100 Continue` explicitly,
/// once; reading afterwards sends no second one.
#[test]
fn rfc9110_10_1_1_server_accept_continue() {
    let mut raw = Raw::server(no_timers());
    raw.feed(EXPECT_HEAD);
    raw.ep.conn.accept_continue(sid(1)).unwrap();
    raw.drive();
    assert_eq!(raw.take_out(), CONTINUE);
    raw.feed(b"hello");
    assert_eq!(
        raw.ep.read_body(sid(1)),
        (b"hello".to_vec(), ReadState::End)
    );
    raw.drive();
    assert_eq!(raw.take_out(), "");
}

/// RFC 9110 §10.1.1 ("a server MAY ... respond with a final status code,
/// without reading the content") + contract: a 417 without reading refuses
/// the body; the connection closes after the response; bytes sent after it
/// are not parsed as a request.
#[test]
fn rfc9110_10_1_1_server_417_without_reading_closes() {
    let mut raw = Raw::server(no_timers());
    raw.feed(EXPECT_HEAD);
    raw.ep.respond_cl(sid(1), 417, b"");
    raw.drive();
    raw.feed(b"helloGET /next HTTP/1.1\r\nHost: example.com\r\n\r\n");
    let rs = raw.responses();
    assert_eq!(rs.len(), 1, "{}", raw.out());
    assert_eq!(rs[0].status, 417);
    assert!(rs[0].connection_has("close"), "{}", raw.out());
    assert!(!raw.out().contains("100 Continue"));
    assert!(raw.closed().is_some(), "{:#?}", raw.ep.log);
    assert_eq!(raw.ep.requests().len(), 1);
}

/// RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in
/// an HTTP/1.0 request MUST ignore that expectation."
#[test]
fn rfc9110_10_1_1_server_ignores_expect_from_http10() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"POST /u HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(
        raw.ep
            .count(|e| matches!(e, Event::ContinueRequested { .. })),
        0
    );
    assert_eq!(raw.ep.read_body(sid(1)).1, ReadState::Blocked);
    raw.drive();
    assert_eq!(raw.out(), "");
}

/// RFC 9110 §10.1.1 + contract: no `ContinueRequested` for a request without
/// a body.
#[test]
fn rfc9110_10_1_1_no_continue_for_bodiless_request() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(raw.ep.requests().len(), 1);
    assert!(raw.ep.requests()[0].2);
    assert_eq!(
        raw.ep
            .count(|e| matches!(e, Event::ContinueRequested { .. })),
        0
    );
}

/// RFC 9110 §10.1.1 (client): the body waits for `100 Continue`.
#[test]
fn rfc9110_10_1_1_client_waits_for_100() {
    let mut p = Pair::with(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(reader());
    p.client.app = Some(reader());
    let id = p.request(expect_request(), b"hello");
    p.drive();
    assert!(
        p.server
            .saw(|e| matches!(e, Event::ContinueRequested { .. }))
    );
    assert!(
        p.client.wire_str().ends_with("\r\n\r\n"),
        "body sent early: {}",
        p.client.wire_str()
    );
    assert_eq!(p.client.conn.stream(id).unwrap().write_capacity(), 0);
    p.server.conn.accept_continue(id).unwrap();
    p.drive();
    assert!(
        p.client.wire_str().ends_with("\r\n\r\nhello"),
        "{}",
        p.client.wire_str()
    );
    assert_eq!(p.server.app_log(), vec!["app: body 1: hello".to_owned()]);
    p.server.respond_cl(id, 200, b"ok");
    p.drive();
    assert_eq!(p.client.app_log(), vec!["app: body 1: ok".to_owned()]);
    assert!(p.client.saw(|e| matches!(e, Event::Finished { .. })));
}

/// RFC 9110 §10.1.1 (client): a final response instead of 100 → the body is
/// not sent and the connection closes after the response.
#[test]
fn rfc9110_10_1_1_client_final_response_instead_of_100() {
    let mut p = Pair::with(no_timers(), no_timers(), Delivery::WHOLE);
    p.client.app = Some(reader());
    let id = p.request(expect_request(), b"hello");
    p.drive();
    p.server.respond_cl(id, 417, b"no");
    p.drive();
    let rs = p.client.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].1.status, 417);
    // The harness notes that the queued body could never be written.
    assert_eq!(
        p.client.app_log(),
        vec![
            "app: body 1: no".to_owned(),
            "app: stream 1 gone with 5 bytes unwritten".to_owned()
        ]
    );
    assert!(
        !p.client.wire_str().contains("hello"),
        "{}",
        p.client.wire_str()
    );
    assert!(p.client.closed().is_some(), "{:#?}", p.client.log);
    assert!(p.server.closed().is_some(), "{:#?}", p.server.log);
}

/// RFC 9110 §10.1.1 ("a client that sends a 100-continue expectation is not
/// required to wait for any specific length of time"): after
/// `expect_continue_timeout` on the virtual clock the body goes out.
#[test]
fn rfc9110_10_1_1_client_continue_timeout_sends_body() {
    let mut raw = Raw::client(no_timers());
    let id = raw.ep.request(expect_request(), b"hello");
    raw.drive();
    assert!(raw.out().ends_with("\r\n\r\n"));
    assert_eq!(
        raw.ep.conn.poll_timeout(),
        Some(T0 + Duration::from_secs(1))
    );
    raw.advance(Duration::from_millis(999));
    assert!(
        raw.out().ends_with("\r\n\r\n"),
        "body sent before the timeout"
    );
    assert_eq!(raw.ep.conn.stream(id).unwrap().write_capacity(), 0);
    raw.advance(Duration::from_millis(1));
    assert!(raw.out().ends_with("\r\n\r\nhello"), "{}", raw.out());
    assert_eq!(
        raw.ep.count(|e| matches!(
            e,
            Event::TimedOut {
                kind: TimerKind::ExpectContinue
            }
        )),
        1
    );
    assert!(
        raw.ep
            .saw(|e| matches!(e, Event::Writable { id: w } if *w == id))
    );
    raw.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(raw.ep.saw(|e| matches!(e, Event::Finished { .. })));
}

/// RFC 9110 §10.1.1 (client): a late `100` after the timeout is harmless
/// (treated as an interim response).
#[test]
fn rfc9110_10_1_1_client_late_100_after_timeout() {
    let mut raw = Raw::client(no_timers()).app(reader());
    raw.ep.request(expect_request(), b"hello");
    raw.drive();
    raw.advance(Duration::from_secs(1));
    raw.feed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!(raw.ep.app_log(), vec!["app: body 1: ok".to_owned()]);
    assert!(raw.closed().is_none());
}

// ---- 103 Early Hints ---------------------------------------------------------

/// RFC 8297 §2: a server sends 103 before the final response; the client
/// gets `Informational` with the fields, then `Response`.
#[test]
fn rfc8297_early_hints_pair() {
    let mut p = Pair::with(no_timers(), no_timers(), Delivery::WHOLE);
    p.client.app = Some(reader());
    p.server.app = Some(Box::new(|cx, ev| {
        if let Event::Request { id, .. } = ev {
            cx.conn
                .send_informational(*id, response(103, &[("link", "</s.css>; rel=preload")]))
                .unwrap();
            cx.respond_cl(*id, 200, b"ok");
        }
    }));
    p.request(get("/"), b"");
    p.drive();
    let kinds: Vec<_> = p
        .client
        .log
        .iter()
        .filter(|l| l.starts_with("Informational") || l.starts_with("Response"))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, vec!["Informational", "Response"]);
    let info = p
        .client
        .events
        .iter()
        .find_map(|e| match e {
            Event::Informational { id, head } => Some((*id, head.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(info.0, sid(1));
    assert_eq!(info.1.status, 103);
    assert_eq!(
        info.1.fields.get("link").map(|v| &v[..]),
        Some(&b"</s.css>; rel=preload"[..])
    );
    assert_eq!(p.client.app_log(), vec!["app: body 1: ok".to_owned()]);
}

/// RFC 8297 §2: the exact bytes of a 103 followed by the final response.
#[test]
fn rfc8297_early_hints_wire() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep
        .conn
        .send_informational(sid(1), response(103, &[("link", "</s.css>; rel=preload")]))
        .unwrap();
    raw.ep.respond_cl(sid(1), 200, b"ok");
    raw.drive();
    assert_eq!(
        raw.out(),
        "HTTP/1.1 103 Early Hints\r\nlink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    );
}

/// RFC 9110 §15.2: "A server MUST NOT send a 1xx response to an HTTP/1.0
/// client": the 103 is skipped.
#[test]
fn rfc9110_15_2_no_1xx_to_http10() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET / HTTP/1.0\r\n\r\n");
    let _ = raw
        .ep
        .conn
        .send_informational(sid(1), response(103, &[("link", "</s.css>")]));
    raw.ep.respond_cl(sid(1), 200, b"ok");
    raw.drive();
    assert!(
        raw.out().starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        raw.out()
    );
    assert!(!raw.out().contains("103"));
}
