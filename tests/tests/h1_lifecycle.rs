//! Connection lifecycle: half-close (RFC 9112 §9.6), draining an unread
//! request body, `Closed` exactly once, stream resets, shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

/// RFC 9112 §9.6 (context: "a client ... might close its sending side after
/// the request"): a request followed by EOF still gets its response, then
/// `Closed{Done}`.
#[test]
fn rfc9112_9_6_half_close_after_request_is_answered() {
    let mut raw = Raw::server(no_timers()).app(echo_server());
    raw.ep
        .inbound
        .extend_from_slice(b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.eof();
    let rs = raw.responses();
    assert_eq!(rs.len(), 1, "{}", raw.out());
    assert_eq!(rs[0].body, b"GET /a ");
    assert_eq!(raw.closed(), Some(&CloseReason::Done));
}

/// RFC 9112 §9.6: pipelined requests then EOF, answered later by the app:
/// every response still goes out, then `Closed{Done}`.
#[test]
fn rfc9112_9_6_half_close_with_pending_pipelined_responses() {
    let mut raw = Raw::server(no_timers());
    raw.ep.inbound.extend_from_slice(
        b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\nGET /b HTTP/1.1\r\nHost: example.com\r\n\r\n",
    );
    raw.eof();
    assert_eq!(raw.ep.requests().len(), 2);
    assert!(
        raw.closed().is_none(),
        "closed before answering: {:#?}",
        raw.ep.log
    );
    raw.ep.respond_cl(sid(3), 200, b"b");
    raw.ep.respond_cl(sid(1), 200, b"a");
    raw.drive();
    let bodies: Vec<_> = raw.responses().iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies, vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(raw.closed(), Some(&CloseReason::Done));
}

/// RFC 9112 §9.6, pair: the client half-closes after its request.
#[test]
fn rfc9112_9_6_pair_half_close() {
    let mut p = Pair::with(no_timers(), no_timers(), Delivery::BYTEWISE);
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    p.request(
        request(
            Method::Post,
            "/h",
            &[("host", "example.com"), ("content-length", "3")],
        ),
        b"abc",
    );
    p.client_half_close();
    p.drive();
    assert_eq!(
        p.client.app_log(),
        vec!["app: body 1: POST /h abc".to_owned()]
    );
    assert_eq!(
        p.server.closed(),
        Some(&CloseReason::Done),
        "{:#?}",
        p.server.log
    );
}

/// RFC 9112 §9.6: EOF in the middle of a request head closes without a
/// response (`UnexpectedEof`); nothing is answered.
#[test]
fn rfc9112_9_6_eof_mid_head_closes() {
    let mut raw = Raw::server(no_timers());
    raw.ep
        .inbound
        .extend_from_slice(b"GET / HTTP/1.1\r\nHost: exa");
    raw.eof();
    assert!(raw.closed().is_some(), "{:#?}", raw.ep.log);
    assert_eq!(raw.ep.requests().len(), 0);
}

/// RFC 9112 §6.3 / §8 (incomplete messages): EOF in the middle of a request
/// body resets the stream with `remote = true`.
#[test]
fn rfc9112_8_eof_mid_body_resets_stream() {
    let mut raw = Raw::server(no_timers()).app(reader());
    raw.ep.inbound.extend_from_slice(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10\r\n\r\n01234",
    );
    raw.eof();
    assert!(
        raw.ep
            .saw(|e| matches!(e, Event::Reset { id, remote: true, .. } if *id == sid(1))),
        "{:#?}",
        raw.ep.log
    );
    assert!(raw.closed().is_some());
}

/// RFC 9112 §8 (client): EOF before a Content-Length response body is
/// complete is an incomplete message, not a success.
#[test]
fn rfc9112_8_client_eof_mid_content_length_body_is_reset() {
    let mut raw = Raw::client(no_timers()).app(reader());
    raw.ep.request(get("/"), b"");
    raw.drive();
    raw.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
    raw.eof();
    assert!(
        raw.ep
            .saw(|e| matches!(e, Event::Reset { id, remote: true, .. } if *id == sid(1))),
        "{:#?}",
        raw.ep.log
    );
    assert!(!raw.ep.saw(|e| matches!(e, Event::Finished { .. })));
}

/// Contract ("unread request body ... discarded up to `max_drain` bytes to
/// keep the connection"): a small unread body is drained; the next request is
/// answered; the first response does not say `connection: close`.
#[test]
fn contract_small_unread_body_is_drained_and_connection_kept() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"POST /a HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10\r\n\r\n0123456789GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep.respond_cl(sid(1), 200, b"a");
    raw.drive();
    let reqs = raw.ep.requests().len();
    assert_eq!(reqs, 2, "{:#?}", raw.ep.log);
    raw.ep.respond_cl(sid(3), 200, b"b");
    raw.drive();
    let rs = raw.responses();
    assert_eq!(rs.len(), 2);
    assert!(!rs[0].connection_has("close"), "{}", raw.out());
    assert!(raw.closed().is_none());
}

/// Contract: the unread body may arrive after the response; it is still
/// drained and the connection kept.
#[test]
fn contract_unread_body_arriving_later_is_drained() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"POST /a HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10\r\n\r\n01");
    raw.ep.respond_cl(sid(1), 200, b"a");
    raw.drive();
    raw.feed(b"23456789GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_eq!(raw.ep.requests().len(), 2, "{:#?}", raw.ep.log);
    assert!(raw.closed().is_none());
}

/// Contract: an unread body whose remainder is larger than `max_drain`
/// closes the connection right after the response; nothing behind it is
/// read. (No `connection: close` is asserted: the head goes out when
/// `send_response` is called, when the core cannot know whether the
/// application will still read the body.)
#[test]
fn contract_large_unread_body_closes_after_response() {
    let mut cfg = no_timers();
    cfg.max_drain = 1000;
    let mut raw = Raw::server(cfg);
    raw.feed(b"POST /a HTTP/1.1\r\nHost: example.com\r\nContent-Length: 100000\r\n\r\n0123456789");
    raw.ep.respond_cl(sid(1), 200, b"a");
    raw.drive();
    assert!(
        raw.closed().is_some(),
        "kept waiting for a body nobody reads: {:#?}",
        raw.ep.log
    );
    let mut rest = vec![b'x'; 100_000 - 10];
    rest.extend_from_slice(b"GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.feed(&rest);
    let rs = raw.responses();
    assert_eq!(rs.len(), 1, "{}", raw.out());
    assert_eq!(raw.ep.requests().len(), 1);
}

/// Contract ("exactly one Closed, after which no other event comes"): input
/// and timers after `Closed` produce nothing (the harness asserts no event
/// follows `Closed`).
#[test]
fn contract_nothing_after_closed() {
    let mut raw = Raw::server(Config::default()).app(echo_server());
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
    assert_eq!(raw.closed(), Some(&CloseReason::Done));
    let out = raw.out();
    raw.ep
        .conn
        .recv(raw.now, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep.conn.recv_eof(raw.now);
    raw.advance(Duration::from_secs(3600));
    raw.ep.conn.shutdown(Shutdown::Immediate);
    raw.drive();
    assert_eq!(raw.ep.count(|e| matches!(e, Event::Closed { .. })), 1);
    assert_eq!(raw.out(), out);
    assert!(!raw.ep.conn.wants_read());
    assert!(raw.ep.conn.is_closed());
    assert_eq!(raw.ep.conn.poll_timeout(), None);
}

/// Contract (`reset`): resetting a stream whose response has not started
/// drops it; after the response started, the connection closes
/// (`Closed{LocalReset}`), HTTP/1.1 having no way to cancel one exchange.
#[test]
fn contract_reset_after_response_started_closes_connection() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep
        .conn
        .send_response(sid(1), response(200, &[("content-length", "10")]), false)
        .unwrap();
    raw.ep.send_body(sid(1), b"01234", false, None);
    raw.drive();
    raw.ep.conn.stream(sid(1)).unwrap().reset(ErrorCode::CANCEL);
    raw.drive();
    assert_eq!(
        raw.closed(),
        Some(&CloseReason::LocalReset),
        "{:#?}",
        raw.ep.log
    );
    assert!(
        raw.ep
            .saw(|e| matches!(e, Event::Reset { id, remote: false, .. } if *id == sid(1)))
    );
}

// ---- Shutdown --------------------------------------------------------------

/// Contract (graceful shutdown): an idle connection closes at once, silently.
#[test]
fn contract_graceful_shutdown_idle_closes_at_once() {
    let mut raw = Raw::server(no_timers()).app(echo_server());
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    let out = raw.out();
    raw.ep.conn.shutdown(Shutdown::Graceful {
        drain: Duration::from_secs(10),
    });
    raw.drive();
    assert_eq!(raw.closed(), Some(&CloseReason::Shutdown));
    assert_eq!(raw.out(), out);
}

/// Contract (graceful shutdown), RFC 9112 §9.6: a busy connection finishes
/// its response with `connection: close`, reads no new request, then
/// `Closed{Shutdown}`.
#[test]
fn contract_graceful_shutdown_busy_finishes_with_connection_close() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep.conn.shutdown(Shutdown::Graceful {
        drain: Duration::from_secs(10),
    });
    raw.drive();
    assert!(raw.closed().is_none());
    raw.feed(b"GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep.respond_cl(sid(1), 200, b"a");
    raw.drive();
    let rs = raw.responses();
    assert_eq!(rs.len(), 1, "{}", raw.out());
    assert!(rs[0].connection_has("close"), "{}", raw.out());
    assert_eq!(raw.closed(), Some(&CloseReason::Shutdown));
    assert_eq!(raw.ep.requests().len(), 1);
}

/// Contract (graceful shutdown): after `drain`, `TimedOut{ShutdownDrain}`,
/// the streams left are reset and `Closed{TimedOut(ShutdownDrain)}`.
#[test]
fn contract_graceful_shutdown_drain_deadline_aborts() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep.conn.shutdown(Shutdown::Graceful {
        drain: Duration::from_secs(10),
    });
    raw.drive();
    assert_eq!(
        raw.ep.conn.poll_timeout(),
        Some(T0 + Duration::from_secs(10))
    );
    raw.advance(Duration::from_secs(9));
    assert!(raw.closed().is_none());
    raw.advance(Duration::from_secs(1));
    let tail: Vec<_> = raw.ep.log.iter().rev().take(3).rev().cloned().collect();
    assert_eq!(
        tail[0],
        format!(
            "{:?}",
            Event::TimedOut {
                kind: TimerKind::ShutdownDrain
            }
        )
    );
    assert!(tail[1].starts_with("Reset { id: StreamId(1)"), "{tail:#?}");
    assert_eq!(
        raw.closed(),
        Some(&CloseReason::TimedOut(TimerKind::ShutdownDrain)),
        "{:#?}",
        raw.ep.log
    );
}

/// Contract (immediate shutdown): every stream is reset (`remote: false`)
/// and `Closed{Shutdown}`.
#[test]
fn contract_immediate_shutdown_resets_every_stream() {
    let mut raw = Raw::server(no_timers());
    raw.feed(
        b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\nGET /b HTTP/1.1\r\nHost: example.com\r\n\r\n",
    );
    raw.ep.conn.shutdown(Shutdown::Immediate);
    raw.drive();
    let resets: Vec<_> = raw
        .ep
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Reset {
                id, remote: false, ..
            } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(resets, vec![sid(1), sid(3)]);
    assert_eq!(raw.closed(), Some(&CloseReason::Shutdown));
}

/// Contract (client): `send_request` without a Host is refused
/// (RFC 9112 §3.2: "A client MUST send a Host header field in all HTTP/1.1
/// request messages").
#[test]
fn rfc9112_3_2_client_refuses_request_without_host() {
    let mut raw = Raw::client(no_timers());
    let r = raw
        .ep
        .conn
        .send_request(request(Method::Get, "/", &[]), true);
    assert!(r.is_err(), "{r:?}");
    raw.drive();
    assert_eq!(raw.out(), "");
}

/// An exchange that retires while its `Readable` event is still queued (the
/// application read the body before taking the event) takes that event with
/// it: after `Finished` nothing refers to the stream.
#[test]
fn a_retired_exchange_leaves_no_readable_event_behind() {
    let t0 = Instant::from_nanos(0);
    let mut c = Connection::new(Side::Server, no_timers(), t0);
    c.recv(
        t0,
        b"POST /a HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc",
    );
    let mut first = c.poll_event();
    if let Some(Event::Negotiated { .. }) = first {
        first = c.poll_event();
    }
    let Some(Event::Request { id, .. }) = first else {
        panic!("expected the request first, got {first:?}");
    };
    // Read the body, answer, finish: the `Readable` event is not taken.
    let mut body = Vec::new();
    loop {
        match c.stream(id).unwrap().read() {
            ReadChunk::Data(d) => body.extend_from_slice(&d),
            ReadChunk::End => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(body, b"abc");
    c.send_response(id, ResponseHead::new(204), true).unwrap();
    let mut rest = Vec::new();
    while let Some(ev) = c.poll_event() {
        rest.push(ev);
    }
    assert!(
        rest.iter()
            .any(|e| matches!(e, Event::Finished { id: f } if *f == id)),
        "{rest:?}"
    );
    assert!(
        !rest
            .iter()
            .any(|e| matches!(e, Event::Readable { .. } | Event::Writable { .. })),
        "{rest:?}"
    );
}
