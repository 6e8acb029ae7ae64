//! Message bodies (RFC 9112 §6, §7): Content-Length, chunked, trailers,
//! close-delimited, and the responses that never have a body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Server app: reads the request body and answers with it, chunked (no
/// content-length), with a trailer if the request had one.
fn chunked_echo() -> App {
    let mut done = std::collections::BTreeSet::new();
    Box::new(move |cx, ev| {
        let id = match ev {
            Event::Request {
                id,
                end_stream: false,
                ..
            }
            | Event::Readable { id } => *id,
            Event::Request {
                id,
                end_stream: true,
                ..
            } => {
                cx.conn
                    .send_response(*id, response(200, &[]), false)
                    .unwrap();
                cx.send_body(*id, b"empty", true, None);
                return;
            }
            _ => return,
        };
        if done.contains(&id) {
            return; // a Readable queued before the body was read to its end
        }
        if let Some(body) = cx.read_body(id) {
            done.insert(id);
            cx.conn
                .send_response(id, response(200, &[]), false)
                .unwrap();
            let t = cx
                .trailers(id)
                .is_some()
                .then(|| fields(&[("x-resp-trailer", "done")]));
            cx.send_body(id, &body, true, t);
        }
    })
}

/// RFC 9112 §6.2 / §8.6: Content-Length bodies both ways (pair).
#[test]
fn rfc9112_6_2_content_length_bodies_both_directions() {
    let mut p = Pair::with(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    p.request(
        request(
            Method::Post,
            "/u",
            &[("host", "example.com"), ("content-length", "5")],
        ),
        b"hello",
    );
    p.drive();
    assert_eq!(p.server.app_log(), vec!["app: body 1: hello".to_owned()]);
    assert_eq!(
        p.client.app_log(),
        vec!["app: body 1: POST /u hello".to_owned()]
    );
    let wire = p.client.wire_str().to_ascii_lowercase();
    assert!(
        wire.contains("content-length: 5\r\n") && !wire.contains("transfer-encoding"),
        "{wire}"
    );
    assert!(p.client.saw(|e| matches!(e, Event::Finished { .. })));
    assert!(p.server.saw(|e| matches!(e, Event::Finished { .. })));
}

/// RFC 9112 §7.1: chunked bodies both ways, larger than the send and receive
/// buffers (backpressure on both ends), across random splits and short writes.
#[test]
fn rfc9112_7_1_chunked_bodies_both_directions_large() {
    let body = payload(200 * 1024);
    let mut p = Pair::with(no_timers(), no_timers(), Delivery::random(7));
    p.server.app = Some(chunked_echo());
    p.client.app = Some(reader());
    p.request(
        request(Method::Post, "/big", &[("host", "example.com")]),
        &body,
    );
    p.drive();
    let want = format!("app: body 1: {}", show(&body));
    assert_eq!(p.server.app_log(), vec![want.clone()]);
    assert_eq!(p.client.app_log(), vec![want]);
    let cw = p.client.wire_str().to_ascii_lowercase();
    assert!(
        cw.contains("transfer-encoding: chunked\r\n"),
        "client did not chunk"
    );
    let sw = p.server.wire_str().to_ascii_lowercase();
    assert!(
        sw.contains("transfer-encoding: chunked\r\n"),
        "server did not chunk"
    );
    assert!(p.client.saw(|e| matches!(e, Event::Finished { .. })));
}

/// RFC 9112 §7.1.2: trailer fields both ways; `read()` returns them once,
/// after the data and before `End` (asserted by the harness's read loop).
#[test]
fn rfc9112_7_1_2_trailers_both_directions() {
    let mut p = Pair::with(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(chunked_echo());
    p.client.app = Some(reader());
    let id = p
        .client
        .conn
        .send_request(
            request(Method::Post, "/t", &[("host", "example.com")]),
            false,
        )
        .unwrap();
    p.client.track_stream(id);
    p.client
        .send_body(id, b"data", true, Some(fields(&[("x-checksum", "abc")])));
    p.drive();
    let st = p.server.trailers(id).expect("server read no trailers");
    assert_eq!(st.get("x-checksum").map(|v| &v[..]), Some(&b"abc"[..]));
    let ct = p.client.trailers(id).expect("client read no trailers");
    assert_eq!(ct.get("x-resp-trailer").map(|v| &v[..]), Some(&b"done"[..]));
    assert_eq!(
        p.server.app_log(),
        vec![
            "app: trailers 1: x-checksum: abc".to_owned(),
            "app: body 1: data".to_owned()
        ]
    );
    assert_eq!(
        p.client.app_log(),
        vec![
            "app: trailers 1: x-resp-trailer: done".to_owned(),
            "app: body 1: data".to_owned()
        ]
    );
}

/// RFC 9112 §7.1: the exact chunked encoding a client writes, with trailers.
#[test]
fn rfc9112_7_1_client_chunked_wire_format() {
    let mut raw = Raw::client(no_timers());
    let id = raw
        .ep
        .conn
        .send_request(
            request(Method::Post, "/u", &[("host", "example.com")]),
            false,
        )
        .unwrap();
    raw.ep.track_stream(id);
    raw.ep
        .send_body(id, b"hello", true, Some(fields(&[("x-t", "1")])));
    raw.drive();
    assert_eq!(
        raw.out(),
        "POST /u HTTP/1.1\r\nhost: example.com\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n"
    );
}

/// Contract (client framing): a POST with `end_stream` carries
/// `content-length: 0` (RFC 9110 §8.6: a user agent SHOULD send it when a
/// POST has no body).
#[test]
fn rfc9110_8_6_client_empty_post_sends_content_length_zero() {
    let mut raw = Raw::client(no_timers());
    raw.ep
        .request(request(Method::Post, "/u", &[("host", "example.com")]), b"");
    raw.drive();
    assert_eq!(
        raw.out(),
        "POST /u HTTP/1.1\r\nhost: example.com\r\ncontent-length: 0\r\n\r\n"
    );
}

/// RFC 9112 §7.1: a client receives a chunked response with trailers.
#[test]
fn rfc9112_7_1_client_reads_chunked_response_with_trailers() {
    let mut raw = Raw::client(no_timers()).app(reader());
    raw.ep.request(get("/"), b"");
    raw.drive();
    raw.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n");
    assert_eq!(
        raw.ep.app_log(),
        vec![
            "app: trailers 1: X-T: 1".to_owned(),
            "app: body 1: hello world".to_owned()
        ]
    );
    assert!(raw.ep.saw(|e| matches!(e, Event::Finished { .. })));
    assert!(raw.closed().is_none());
}

/// RFC 9112 §6.3 rule 8: a response without Content-Length or
/// Transfer-Encoding is delimited by the connection closing.
#[test]
fn rfc9112_6_3_rule8_close_delimited_response() {
    let mut raw = Raw::client(no_timers()).app(reader());
    raw.ep.request(get("/"), b"");
    raw.drive();
    raw.feed(b"HTTP/1.1 200 OK\r\n\r\nhello ");
    raw.feed(b"world");
    assert!(
        raw.ep.app_log().is_empty(),
        "body ended before EOF: {:#?}",
        raw.ep.log
    );
    assert!(!raw.ep.saw(|e| matches!(e, Event::Finished { .. })));
    raw.eof();
    assert_eq!(
        raw.ep.app_log(),
        vec!["app: body 1: hello world".to_owned()]
    );
    assert!(raw.ep.saw(|e| matches!(e, Event::Finished { .. })));
    assert_eq!(raw.closed(), Some(&CloseReason::Done));
}

/// RFC 9112 §6.3 rule 1 / RFC 9110 §9.3.2: a response to HEAD has no body,
/// even with Content-Length; the next exchange on the connection is intact.
#[test]
fn rfc9112_6_3_rule1_client_head_response_has_no_body() {
    let mut raw = Raw::client(no_timers()).app(reader());
    raw.ep
        .request(request(Method::Head, "/", &[("host", "example.com")]), b"");
    raw.drive();
    raw.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    let rs = raw.ep.responses();
    assert_eq!(rs.len(), 1);
    assert!(rs[0].2, "HEAD response must be end_stream");
    assert!(
        raw.ep
            .saw(|e| matches!(e, Event::Finished { id } if *id == sid(1)))
    );
    raw.ep.request(get("/b"), b"");
    raw.drive();
    raw.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!(raw.ep.app_log(), vec!["app: body 3: ok".to_owned()]);
    assert!(raw.closed().is_none());
}

/// RFC 9110 §9.3.2, RFC 9112 §6.3 rule 1: a server's HEAD response carries
/// the application's content-length but no body bytes (writes dropped).
#[test]
fn rfc9110_9_3_2_server_head_response_has_no_body() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep.respond_cl(sid(1), 200, b"hello");
    raw.drive();
    assert_eq!(
        raw.take_out(),
        "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"
    );
    assert!(
        raw.ep
            .saw(|e| matches!(e, Event::Finished { id } if *id == sid(1)))
    );
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep.respond_cl(sid(3), 200, b"x");
    raw.drive();
    assert_eq!(
        raw.take_out(),
        "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx"
    );
}

/// RFC 9110 §9.3.2 + contract: a HEAD response without content-length and
/// with `end_stream` gets no `content-length: 0` added.
#[test]
fn rfc9110_9_3_2_server_head_end_stream_adds_no_length() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep.respond(sid(1), response(200, &[]), b"");
    raw.drive();
    assert_eq!(raw.out(), "HTTP/1.1 200 OK\r\n\r\n");
}

/// RFC 9112 §6.3 rule 1: 204 and 304 responses end at the head, whatever
/// their fields say.
#[test]
fn rfc9112_6_3_rule1_client_204_and_304_have_no_body() {
    let mut raw = Raw::client(no_timers()).app(reader());
    raw.ep.request(get("/a"), b"");
    raw.drive();
    raw.feed(b"HTTP/1.1 204 No Content\r\n\r\n");
    raw.ep.request(get("/b"), b"");
    raw.drive();
    raw.feed(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
    raw.ep.request(get("/c"), b"");
    raw.drive();
    raw.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let rs: Vec<_> = raw
        .ep
        .responses()
        .iter()
        .map(|(id, h, end)| (*id, h.status, *end))
        .collect();
    assert_eq!(
        rs,
        vec![
            (sid(1), 204, true),
            (sid(3), 304, true),
            (sid(5), 200, false)
        ]
    );
    assert_eq!(raw.ep.app_log(), vec!["app: body 5: ok".to_owned()]);
    assert!(raw.closed().is_none());
}

/// RFC 9110 §15.2 / RFC 9112 §6.3 rule 1: 1xx responses have no body and
/// precede the final response.
#[test]
fn rfc9110_15_2_client_1xx_then_final() {
    let mut raw = Raw::client(no_timers()).app(reader());
    raw.ep.request(get("/"), b"");
    raw.drive();
    raw.feed(b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let infos: Vec<_> = raw
        .ep
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Informational { head, .. } => Some(head.status),
            _ => None,
        })
        .collect();
    assert_eq!(infos, vec![102, 103]);
    assert_eq!(raw.ep.responses().len(), 1);
    assert_eq!(raw.ep.app_log(), vec!["app: body 1: ok".to_owned()]);
}

/// RFC 9110 §15.3.5 / §15.4.5 + contract: a server's 204 and 304 carry no
/// framing fields; an empty 200 gets `content-length: 0`.
#[test]
fn rfc9110_15_3_5_server_204_304_no_framing_200_gets_zero_length() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\nGET /b HTTP/1.1\r\nHost: example.com\r\n\r\nGET /c HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep.respond(sid(1), response(204, &[]), b"");
    raw.ep.respond(sid(3), response(304, &[]), b"");
    raw.ep.respond(sid(5), response(200, &[]), b"");
    raw.drive();
    assert_eq!(
        raw.out(),
        "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    );
}

/// RFC 9112 §6.1, contract: a streamed HTTP/1.1 response without length is
/// chunked; application `transfer-encoding` fields are replaced.
#[test]
fn rfc9112_6_1_server_streams_chunked_and_replaces_app_te() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep.respond(
        sid(1),
        response(200, &[("transfer-encoding", "gzip")]),
        b"abc",
    );
    raw.drive();
    assert_eq!(
        raw.out(),
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    );
}

/// RFC 9112 §6.3 rule 8 (server side, HTTP/1.0 peer): a streamed response
/// without length to a 1.0 request is close-delimited.
#[test]
fn rfc9112_6_3_rule8_server_close_delimits_for_http10() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET / HTTP/1.0\r\n\r\n");
    raw.ep.respond(sid(1), response(200, &[]), b"abc");
    raw.drive();
    let out = raw.out();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nabc"), "{out}");
    assert!(
        !out.to_ascii_lowercase().contains("transfer-encoding"),
        "{out}"
    );
    assert!(
        !out.to_ascii_lowercase().contains("content-length"),
        "{out}"
    );
    assert_eq!(raw.closed(), Some(&CloseReason::Done));
}

/// RFC 9110 §8.6 + contract: writing past the declared content-length is a
/// user error.
#[test]
fn rfc9110_8_6_write_past_content_length_is_user_error() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep
        .conn
        .send_response(sid(1), response(200, &[("content-length", "2")]), false)
        .unwrap();
    let mut data = bytes::Bytes::from_static(b"abc");
    let r = raw.ep.conn.stream(sid(1)).unwrap().write(&mut data);
    assert_eq!(r, Err(UserError::BodyTooLong));
}

/// RFC 9110 §8.6 + contract: finishing short of the content-length is a
/// user error and the connection closes (the peer cannot frame the rest).
#[test]
fn rfc9110_8_6_finish_short_of_content_length_closes() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.ep
        .conn
        .send_response(sid(1), response(200, &[("content-length", "5")]), false)
        .unwrap();
    let mut data = bytes::Bytes::from_static(b"abc");
    assert_eq!(raw.ep.conn.stream(sid(1)).unwrap().write(&mut data), Ok(3));
    let r = raw.ep.conn.stream(sid(1)).unwrap().finish(None);
    assert_eq!(r, Err(UserError::BodyTooShort));
    raw.drive();
    assert!(raw.closed().is_some(), "{:#?}", raw.ep.log);
}

/// Contract (`max_recv_buffer`): an unread request body is not buffered
/// without bound; `recv` stops taking bytes, and resumes as the app reads.
#[test]
fn contract_request_body_receive_buffer_is_bounded() {
    let mut cfg = no_timers();
    cfg.max_recv_buffer = 16 * 1024;
    let body = payload(100 * 1024);
    let mut input = format!(
        "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    input.extend_from_slice(&body);
    let mut raw = Raw::server(cfg);
    raw.feed(&input);
    let taken: usize = raw.ep.recv_calls.iter().map(|c| c.1).sum();
    assert!(taken < input.len(), "took the whole body unread");
    // The stream's buffer plus at most one head-sized read buffer.
    let head_len = input.len() - body.len();
    let bound = 16 * 1024 + Config::default().max_head_bytes + 1 + head_len;
    assert!(taken <= bound, "buffered {taken} bytes (bound {bound})");
    assert!(!raw.ep.conn.wants_read());
    let mut got = Vec::new();
    for _ in 0..1000 {
        let (d, st) = raw.ep.read_body(sid(1));
        got.extend_from_slice(&d);
        if st == ReadState::End {
            break;
        }
        raw.drive();
    }
    assert_eq!(got, body);
}
