//! Pipelining (RFC 9112 §9.3.2): requests parsed ahead, responses in order,
//! bounded depth.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

const THREE: &[u8] = b"GET /1 HTTP/1.1\r\nHost: example.com\r\n\r\n\
GET /2 HTTP/1.1\r\nHost: example.com\r\n\r\n\
GET /3 HTTP/1.1\r\nHost: example.com\r\n\r\n";

/// RFC 9112 §9.3.2: three requests in one write are answered in order.
#[test]
fn rfc9112_9_3_2_three_pipelined_requests_answered_in_order() {
    let mut raw = Raw::server(no_timers()).app(echo_server());
    raw.feed(THREE);
    let rs = raw.responses();
    let bodies: Vec<_> = rs
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(
        bodies,
        vec!["GET /1 ", "GET /2 ", "GET /3 "],
        "{}",
        raw.out()
    );
    let ids: Vec<_> = raw.ep.requests().iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids, vec![sid(1), sid(3), sid(5)]);
    assert_eq!(raw.ep.count(|e| matches!(e, Event::Finished { .. })), 3);
    assert!(raw.closed().is_none());
}

/// RFC 9112 §9.3.2 ("A server ... MUST send its responses to those requests
/// in the same order that the requests were received"): the application
/// answers 5, 3, 1; the wire carries 1, 2, 3, and nothing before 1 is ready.
#[test]
fn rfc9112_9_3_2_out_of_order_responses_go_out_in_order() {
    let mut raw = Raw::server(no_timers());
    raw.feed(THREE);
    assert_eq!(raw.ep.requests().len(), 3);
    raw.ep.respond_cl(sid(5), 200, b"third");
    raw.drive();
    assert_eq!(
        raw.ep.conn.stream(sid(5)).map(|s| s.write_capacity()),
        Some(0)
    );
    raw.ep.respond_cl(sid(3), 200, b"second");
    raw.drive();
    assert_eq!(raw.out(), "", "responses overtook the first one");
    raw.ep.respond_cl(sid(1), 200, b"first");
    raw.drive();
    let bodies: Vec<_> = raw
        .responses()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(bodies, vec!["first", "second", "third"], "{}", raw.out());
    let fin: Vec<_> = raw
        .ep
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Finished { id } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(fin, vec![sid(1), sid(3), sid(5)]);
}

/// RFC 9112 §9.3.2: a later stream's body capacity is 0 until it reaches the
/// front; then `Writable` is emitted (contract).
#[test]
fn rfc9112_9_3_2_later_stream_gets_writable_at_the_front() {
    let mut raw = Raw::server(no_timers());
    raw.feed(&THREE[..THREE.len() / 3 * 2]);
    raw.ep
        .conn
        .send_response(sid(3), response(200, &[("content-length", "2")]), false)
        .unwrap();
    assert_eq!(raw.ep.conn.stream(sid(3)).unwrap().write_capacity(), 0);
    raw.drive();
    assert!(
        !raw.ep
            .saw(|e| matches!(e, Event::Writable { id } if *id == sid(3)))
    );
    raw.ep.respond_cl(sid(1), 200, b"a");
    raw.drive();
    assert!(
        raw.ep
            .saw(|e| matches!(e, Event::Writable { id } if *id == sid(3))),
        "{:#?}",
        raw.ep.log
    );
    assert!(raw.ep.conn.stream(sid(3)).unwrap().write_capacity() > 0);
    raw.ep.send_body(sid(3), b"bb", true, None);
    raw.drive();
    let bodies: Vec<_> = raw.responses().iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies, vec![b"a".to_vec(), b"bb".to_vec()]);
}

/// RFC 9112 §9.3.2 + architecture "backpressure": with `max_pipelined = 2`
/// the third request is not parsed until the first response is finished;
/// `recv` stops at the read buffer's bound (see the flood test).
#[test]
fn rfc9112_9_3_2_pipelining_depth_is_bounded() {
    let mut cfg = no_timers();
    cfg.max_pipelined = 2;
    let mut raw = Raw::server(cfg);
    raw.feed(THREE);
    let ids: Vec<_> = raw.ep.requests().iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids, vec![sid(1), sid(3)], "{:#?}", raw.ep.log);
    // The core may keep taking bytes into its bounded read buffer while the
    // depth is reached (the flood test below checks the bound); it must not
    // parse them.
    raw.ep.respond_cl(sid(3), 200, b"2");
    raw.drive();
    assert_eq!(
        raw.ep.requests().len(),
        2,
        "a response queued behind 1 freed a slot"
    );
    raw.ep.respond_cl(sid(1), 200, b"1");
    raw.drive();
    let ids: Vec<_> = raw.ep.requests().iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids, vec![sid(1), sid(3), sid(5)], "{:#?}", raw.ep.log);
    raw.ep.respond_cl(sid(5), 200, b"3");
    raw.drive();
    assert_eq!(statuses(&raw.ep.wire), vec![200, 200, 200]);
    assert!(raw.ep.inbound.is_empty());
    assert!(raw.ep.conn.wants_read());
}

/// RFC 9112 §9.3.2 + "nothing buffers without bound": a flood of pipelined
/// requests is not swallowed whole; `recv` takes fewer bytes than offered and
/// the rest is taken as responses complete; all are answered in order.
#[test]
fn rfc9112_9_3_2_pipelined_flood_is_backpressured() {
    let mut cfg = no_timers();
    cfg.max_pipelined = 2;
    let n = 3000;
    let mut input = Vec::new();
    for i in 0..n {
        input.extend_from_slice(
            format!("GET /{i} HTTP/1.1\r\nHost: example.com\r\n\r\n").as_bytes(),
        );
    }
    assert!(input.len() > cfg.max_recv_buffer + cfg.max_head_bytes);
    let mut raw = Raw::server(cfg);
    raw.ep.inbound.extend_from_slice(&input);
    raw.drive();
    let (offered, taken) = raw.ep.recv_calls[0];
    assert_eq!(offered, input.len());
    assert!(taken < offered, "recv took the whole flood ({taken} bytes)");
    assert!(!raw.ep.inbound.is_empty());
    assert!(!raw.ep.conn.wants_read());
    assert_eq!(raw.ep.requests().len(), 2);
    // Answer in order until everything is done.
    let mut next = 0usize;
    while next < n {
        let reqs: Vec<_> = raw.ep.requests().iter().map(|(id, _, _)| *id).collect();
        assert!(reqs.len() > next, "request {next} never parsed");
        assert!(
            reqs.len() <= next + 2,
            "more than max_pipelined parsed ahead"
        );
        raw.ep.respond_cl(reqs[next], 200, b"");
        raw.drive();
        next += 1;
    }
    assert_eq!(raw.ep.requests().len(), n);
    let rs = raw.responses();
    assert_eq!(rs.len(), n);
    assert!(raw.ep.inbound.is_empty());
}
