//! Raw-peer tests of RFC 9113 rules seen from a client core: the test plays
//! the server. Preface and SETTINGS (§3.4, §6.5.2), push refused (§6.6,
//! §8.4), GOAWAY handling (§6.8), response validation (§8.1, §8.3.2),
//! request encoding (§8.2, §8.3.1), concurrency (§5.1.2), HPACK table size
//! (RFC 7541 §4.2) and RFC 9218 PRIORITY_UPDATE direction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proto_core::h2::frame::{self, Settings};
use tests::h2::*;
use tests::*;

fn client() -> Peer {
    let mut p = Peer::client(no_timers());
    p.handshake();
    p
}

/// Client core: sends a request and drives; returns its id.
fn send_get(p: &mut Peer, path: &str) -> StreamId {
    let id = p.ep.request(get(path), b"");
    p.drive();
    id
}

fn send_post(p: &mut Peer, path: &str) -> StreamId {
    let id =
        p.ep.conn
            .send_request(
                request(Method::Post, path, &[("host", "example.com")]),
                false,
            )
            .unwrap();
    p.ep.track_stream(id);
    p.drive();
    id
}

/// RFC 9113 §3.4: a client starts with the preface then SETTINGS (the
/// harness checks the octets); §8.4/§6.5.2: it disables push.
#[test]
fn client_preface_and_settings_disable_push_3_4_8_4() {
    let mut p = Peer::client(no_timers());
    let theirs = p.handshake();
    assert_eq!(theirs.enable_push(), Some(0), "{theirs:?}");
    assert_eq!(theirs.no_rfc7540_priorities(), Some(1), "{theirs:?}");
}

/// RFC 9113 §6.5.2: a client MUST treat SETTINGS_ENABLE_PUSH = 1 from a
/// server as a connection error PROTOCOL_ERROR.
#[test]
fn server_enable_push_1_is_protocol_error_6_5_2() {
    let mut p = client();
    p.settings(Settings::default().with_enable_push(1));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.6, §8.4: with push disabled, PUSH_PROMISE is a connection
/// error PROTOCOL_ERROR.
#[test]
fn push_promise_with_push_disabled_is_protocol_error_6_6() {
    let mut p = client();
    let id = send_get(&mut p, "/");
    let _ = p.take();
    let block = p.block(&[
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":authority", b"example.com"),
        (b":path", b"/pushed"),
    ]);
    p.send(frame::PushPromise::new(id, sid(2), block, true));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §5.1.1, §8.4: a server cannot open a stream with HEADERS (only
/// push, which is off): HEADERS on an idle even stream is a connection error
/// PROTOCOL_ERROR.
#[test]
fn headers_on_idle_server_stream_is_protocol_error_5_1_1() {
    let mut p = client();
    p.headers(2).response(200).end_stream().send();
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §5.1 (idle): HEADERS on one of our idle (not yet opened) stream
/// ids is a connection error PROTOCOL_ERROR.
#[test]
fn headers_on_idle_client_stream_is_protocol_error_5_1() {
    let mut p = client();
    p.headers(1).response(200).end_stream().send();
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9218 §7.1: a client receiving PRIORITY_UPDATE MUST treat it as a
/// connection error PROTOCOL_ERROR.
#[test]
fn priority_update_to_client_is_protocol_error_rfc9218_7_1() {
    let mut p = client();
    send_get(&mut p, "/");
    let _ = p.take();
    p.send(frame::PriorityUpdate::new(sid(1), &b"u=0"[..]));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

// ---- §6.8 GOAWAY from the server ------------------------------------------------

/// RFC 9113 §6.8: streams above the GOAWAY's last stream id were not
/// processed: they are reset REFUSED_STREAM (retryable); streams at or below
/// it complete; no new streams may be opened.
#[test]
fn goaway_refuses_streams_above_last_id_6_8() {
    let mut p = client();
    let s1 = send_get(&mut p, "/1");
    let s3 = send_get(&mut p, "/3");
    let s5 = send_get(&mut p, "/5");
    assert_eq!((s1.get(), s3.get(), s5.get()), (1, 3, 5));
    let _ = p.take();
    p.send(frame::GoAway::new(sid(1), ErrorCode::NO_ERROR));
    for id in [s3, s5] {
        assert!(
            p.events().iter().any(|e| matches!(
                e,
                Event::Reset { id: r, code: ErrorCode::REFUSED_STREAM, remote: true } if *r == id
            )),
            "stream {id} refused: {:#?}",
            p.ep.log
        );
    }
    assert!(
        p.events()
            .iter()
            .any(|e| matches!(e, Event::GoAway { remote: true, .. }))
    );
    assert!(matches!(
        p.ep.conn.send_request(get("/new"), true),
        Err(UserError::Closed)
    ));
    p.assert_frames(&[]);
    // Stream 1 still completes, then the connection closes.
    assert!(p.closed().is_none());
    p.headers(1)
        .response(200)
        .field("content-length", "2")
        .send();
    p.data(1, b"ok", true);
    assert_eq!(p.ep.read_body(s1), (b"ok".to_vec(), ReadState::End));
    p.drive();
    assert!(p.closed().is_some(), "{:#?}", p.ep.log);
    assert_eq!(
        p.ep.count(|e| matches!(e, Event::Finished { id } if *id == s1)),
        1
    );
}

/// RFC 9113 §6.8: a GOAWAY with an error code ends the connection; every
/// open stream is reset.
#[test]
fn goaway_with_error_closes_6_8() {
    let mut p = client();
    send_get(&mut p, "/");
    p.send(frame::GoAway::new(sid(1), ErrorCode::INTERNAL_ERROR));
    assert_eq!(
        p.closed(),
        Some(&CloseReason::GoAway(ErrorCode::INTERNAL_ERROR)),
        "{:#?}",
        p.ep.log
    );
    assert_eq!(p.ep.count(|e| matches!(e, Event::Reset { .. })), 1);
}

// ---- §8.1, §8.3.2 responses --------------------------------------------------

/// RFC 9113 §8.3.2: a response without `:status` is malformed: stream error
/// PROTOCOL_ERROR.
#[test]
fn response_without_status_is_protocol_error_8_3_2() {
    let mut p = client();
    send_get(&mut p, "/");
    let _ = p.take();
    p.headers(1)
        .field("content-type", "text/plain")
        .end_stream()
        .send();
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
    assert!(p.ep.responses().is_empty());
}

/// RFC 9113 §8.3: a request pseudo-header in a response is malformed.
#[test]
fn response_with_request_pseudo_is_protocol_error_8_3() {
    let mut p = client();
    send_get(&mut p, "/");
    let _ = p.take();
    p.headers(1)
        .response(200)
        .field(":path", "/")
        .end_stream()
        .send();
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
}

/// RFC 9113 §8.2.1: response field validation (uppercase name) applies to a
/// client as well.
#[test]
fn response_with_uppercase_field_is_protocol_error_8_2_1() {
    let mut p = client();
    send_get(&mut p, "/");
    let _ = p.take();
    p.headers(1)
        .response(200)
        .field("X-Bad", "1")
        .end_stream()
        .send();
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
}

/// RFC 9113 §8.1: an interim (1xx) response with END_STREAM is malformed.
#[test]
fn informational_with_end_stream_is_protocol_error_8_1() {
    let mut p = client();
    send_get(&mut p, "/");
    let _ = p.take();
    p.headers(1).response(103).end_stream().send();
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
}

/// RFC 9113 §8.1: interim responses precede the final one; each is
/// reported.
#[test]
fn informational_then_final_8_1() {
    let mut p = client();
    send_get(&mut p, "/");
    let _ = p.take();
    p.headers(1).response(103).field("link", "</s.css>").send();
    p.headers(1).response(200).end_stream().send();
    p.assert_frames(&[]);
    let kinds: Vec<&str> = p
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::Informational { head, .. } if head.status == 103 => Some("103"),
            Event::Response { head, .. } if head.status == 200 => Some("200"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["103", "200"]);
}

/// RFC 9113 §8.6: 101 does not exist in HTTP/2: malformed.
#[test]
fn status_101_is_protocol_error_8_6() {
    let mut p = client();
    send_get(&mut p, "/");
    let _ = p.take();
    p.headers(1).response(101).send();
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
}

/// RFC 9113 §8.1: a response starts with HEADERS; DATA first is malformed.
#[test]
fn data_before_response_headers_is_protocol_error_8_1() {
    let mut p = client();
    send_get(&mut p, "/");
    let _ = p.take();
    p.data(1, b"x", false);
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
}

/// RFC 9113 §8.1.1: a response body shorter than its content-length is a
/// stream error PROTOCOL_ERROR.
#[test]
fn response_content_length_mismatch_is_protocol_error_8_1_1() {
    let mut p = client();
    send_get(&mut p, "/");
    let _ = p.take();
    p.headers(1)
        .response(200)
        .field("content-length", "10")
        .send();
    p.data(1, b"short", true);
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
    assert!(p.events().iter().any(|e| matches!(e, Event::Reset { .. })));
}

/// RFC 9113 §8.1.1, RFC 9110 §9.3.2: a response to HEAD carries
/// content-length but no DATA; that is well-formed.
#[test]
fn head_response_with_content_length_no_data_8_1_1() {
    let mut p = client();
    p.ep.request(request(Method::Head, "/", &[("host", "example.com")]), b"");
    p.drive();
    let _ = p.take();
    p.headers(1)
        .response(200)
        .field("content-length", "1234")
        .end_stream()
        .send();
    p.assert_frames(&[]);
    let resp = p.ep.responses();
    assert_eq!(resp.len(), 1, "{:#?}", p.ep.log);
    assert!(resp[0].2, "end_stream: no body to read");
    assert_eq!(p.ep.count(|e| matches!(e, Event::Finished { .. })), 1);
}

/// RFC 9113 §8.1: a server may answer before the request is complete and
/// then send RST_STREAM NO_ERROR; the client keeps the complete response.
#[test]
fn early_response_then_rst_no_error_8_1() {
    let mut p = client();
    let id = send_post(&mut p, "/upload");
    let _ = p.take();
    p.headers(1)
        .response(413)
        .field("content-length", "4")
        .send();
    p.data(1, b"nope", true);
    p.rst(1, ErrorCode::NO_ERROR);
    let resp = p.ep.responses();
    assert_eq!(resp.len(), 1);
    assert_eq!(resp[0].1.status, 413);
    let (body, st) = p.ep.read_body(id);
    assert_eq!(
        (body, st),
        (b"nope".to_vec(), ReadState::End),
        "response survives RST_STREAM(NO_ERROR): {:#?}",
        p.ep.log
    );
}

/// RFC 9113 §8.1: response trailers after DATA are delivered before `End`.
#[test]
fn response_trailers_delivered_8_1() {
    let mut p = client();
    let id = send_get(&mut p, "/");
    let _ = p.take();
    p.headers(1).response(200).send();
    p.data(1, b"abc", false);
    p.headers(1).field("grpc-status", "0").end_stream().send();
    p.assert_frames(&[]);
    let (body, st) = p.ep.read_body(id);
    assert_eq!((body, st), (b"abc".to_vec(), ReadState::End));
    assert_eq!(
        p.ep.trailers(id)
            .and_then(|t| t.get("grpc-status"))
            .map(|v| &v[..]),
        Some(&b"0"[..])
    );
}

// ---- request encoding --------------------------------------------------------

/// RFC 9113 §8.3.1, §8.2.2: a request is sent with `:method`, `:scheme`,
/// `:authority`, `:path` first, lowercase names, and without
/// connection-specific fields or a TE other than "trailers".
#[test]
fn request_fields_encoding_8_3_1_8_2_2() {
    let mut p = client();
    let head = request(
        Method::Get,
        "/p?q=1",
        &[
            ("Host", "example.com"),
            ("Connection", "keep-alive"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "h2c"),
            ("TE", "gzip"),
            ("X-Custom", "Value"),
        ],
    );
    p.ep.request(head, b"");
    p.drive();
    let blocks = p.header_blocks(1);
    assert_eq!(blocks.len(), 1, "{:#?}", p.rendered());
    let names: Vec<&str> = blocks[0].iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [":method", ":scheme", ":authority", ":path", "x-custom"],
        "{:#?}",
        blocks[0]
    );
    assert_eq!(blocks[0][2].1, "example.com");
    assert_eq!(blocks[0][3].1, "/p?q=1");
    assert_eq!(blocks[0][4].1, "Value");
    let last = p.rendered().last().cloned().unwrap();
    assert!(last.starts_with("HEADERS 1 es "), "{last}");
}

/// RFC 9113 §8.5: a CONNECT request carries only `:method` and
/// `:authority`.
#[test]
fn connect_request_encoding_8_5() {
    let mut p = client();
    let head = request(Method::Connect, "example.com:443", &[]);
    let id = p.ep.conn.send_request(head, false).unwrap();
    p.ep.track_stream(id);
    p.drive();
    let blocks = p.header_blocks(1);
    let names: Vec<&str> = blocks[0].iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [":method", ":authority"], "{:#?}", blocks[0]);
    assert_eq!(blocks[0][1].1, "example.com:443");
}

/// RFC 7541 §4.2, RFC 9113 §6.5.2: after the server lowers
/// SETTINGS_HEADER_TABLE_SIZE to 0, the client's next header block starts
/// with a table size update and indexes nothing.
#[test]
fn header_table_size_zero_is_honoured_rfc7541_4_2() {
    let mut p = client();
    send_get(&mut p, "/warm");
    p.settings(Settings::default().with_header_table_size(0));
    let _ = p.take();
    let head = request(
        Method::Get,
        "/",
        &[("host", "example.com"), ("x-custom", "some value")],
    );
    p.ep.request(head, b"");
    p.drive();
    assert_eq!(p.decoder.max_table_size(), 0, "size update received");
    assert_eq!(p.decoder.table_size(), 0);
    assert_eq!(p.header_blocks(3).len(), 1);
}

/// RFC 9113 §4.2, §6.5.2: a request body is framed within the server's
/// SETTINGS_MAX_FRAME_SIZE (the harness checks) and its windows.
#[test]
fn request_body_respects_windows_6_9_1() {
    let mut p = client();
    let id = p.ep.request(
        request(Method::Post, "/", &[("host", "x")]),
        &vec![5u8; 100_000],
    );
    p.drive();
    assert_eq!(p.body(id.get()).len(), 65_535, "{:#?}", p.rendered());
    p.window_update(0, 50_000);
    p.window_update(1, 50_000);
    assert_eq!(p.body(id.get()).len(), 100_000);
    let last = p.rendered().last().cloned().unwrap();
    assert!(last.starts_with("DATA 1 es"), "{last}");
}

/// RFC 9113 §5.1.2: a client does not open more streams than the server's
/// SETTINGS_MAX_CONCURRENT_STREAMS; `StreamsAvailable` says when it may.
#[test]
fn client_respects_max_concurrent_streams_5_1_2() {
    let mut p = Peer::client(no_timers());
    p.handshake_with(Settings::default().with_max_concurrent_streams(1));
    let s1 = send_get(&mut p, "/1");
    assert!(matches!(
        p.ep.conn.send_request(get("/2"), true),
        Err(UserError::Busy)
    ));
    let _ = p.take_events();
    p.headers(1).response(204).end_stream().send();
    let _ = p.ep.read_body(s1);
    p.drive();
    assert!(
        p.take_events().iter().any(|e| e == "StreamsAvailable"),
        "{:#?}",
        p.ep.log
    );
    let s3 = send_get(&mut p, "/3");
    assert_eq!(s3.get(), 3);
}

/// RFC 9113 §5.1.2: SETTINGS_MAX_CONCURRENT_STREAMS = 0 blocks new requests
/// until raised.
#[test]
fn max_concurrent_streams_zero_then_raised_5_1_2() {
    let mut p = Peer::client(no_timers());
    p.handshake_with(Settings::default().with_max_concurrent_streams(0));
    assert!(matches!(
        p.ep.conn.send_request(get("/"), true),
        Err(UserError::Busy)
    ));
    let _ = p.take_events();
    p.settings(Settings::default().with_max_concurrent_streams(5));
    assert!(p.take_events().iter().any(|e| e == "StreamsAvailable"));
    send_get(&mut p, "/");
    assert_eq!(p.header_blocks(1).len(), 1);
}

/// RFC 9113 §6.5.3: a client core whose SETTINGS go unacknowledged ends the
/// connection with SETTINGS_TIMEOUT.
#[test]
fn client_settings_timeout_6_5_3() {
    let cfg = no_timers();
    let t = cfg.h2.settings_timeout;
    let mut p = Peer::client(cfg);
    p.send(Settings::default());
    let _ = p.take();
    p.advance(t);
    p.assert_goaway(0, ErrorCode::SETTINGS_TIMEOUT);
}

/// `can_send_request` agrees with `send_request` at the concurrency limit
/// (RFC 9113 §5.1.2), so a caller need not hand over a request to learn it.
#[test]
fn can_send_request_tracks_max_concurrent_streams_5_1_2() {
    let mut p = Peer::client(no_timers());
    p.handshake_with(Settings::default().with_max_concurrent_streams(1));
    assert!(p.ep.conn.can_send_request());
    let _s1 = send_get(&mut p, "/1");
    assert!(!p.ep.conn.can_send_request());
    assert!(matches!(
        p.ep.conn.send_request(get("/2"), true),
        Err(UserError::Busy)
    ));
}
