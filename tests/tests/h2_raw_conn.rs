//! Raw-peer tests of RFC 9113 connection-level rules (§3.4 preface, §4 frame
//! format, §5.5 extensions, §6.3 PRIORITY, §6.5 SETTINGS, §6.7 PING, §6.8
//! GOAWAY, timers) and RFC 9218 priorities, against a server core: hand-built
//! frames in, the exact frames the core answers out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proto_core::h2::frame::{self, Settings, StreamDependency, kind};
use tests::h2::*;
use tests::*;

fn server() -> Peer {
    let mut p = Peer::server(no_timers());
    p.handshake();
    p
}

fn ready() -> Peer {
    server()
}

// ---- §3.4 connection preface ------------------------------------------------

/// RFC 9113 §3.4: a client preface that is not the exact octet sequence is a
/// connection error PROTOCOL_ERROR (GOAWAY, last stream 0).
#[test]
fn bad_preface_is_protocol_error_3_4() {
    let mut p = Peer::server(no_timers());
    p.send_raw(b"PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n");
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §3.4: an HTTP/1.1 request sent to a prior-knowledge server is
/// not the preface either; checked when fed one byte at a time.
#[test]
fn bad_preface_bytewise_is_protocol_error_3_4() {
    let mut p = Peer::with(Side::Server, no_timers(), Delivery::BYTEWISE);
    p.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §3.4: the preface must be followed by a SETTINGS frame; any
/// other first frame is a connection error PROTOCOL_ERROR.
#[test]
fn first_frame_not_settings_is_protocol_error_3_4() {
    let mut p = Peer::server(no_timers());
    p.queue_raw(PREFACE);
    p.send(frame::Ping::new([1; 8]));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §3.4: a SETTINGS ACK is not the SETTINGS frame the preface needs.
#[test]
fn first_frame_settings_ack_is_protocol_error_3_4() {
    let mut p = Peer::server(no_timers());
    p.queue_raw(PREFACE);
    p.send(Settings::ack());
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §3.4: the server's preface is a SETTINGS frame, its first frame.
/// RFC 9218 §2.1: it carries SETTINGS_NO_RFC7540_PRIORITIES = 1.
#[test]
fn server_preface_is_settings_with_no_rfc7540_priorities_3_4_rfc9218_2_1() {
    let mut p = Peer::server(no_timers());
    let first = p.take_frames();
    let Some(frame::Frame::Settings(s)) = first.first() else {
        panic!("first frame is not SETTINGS: {first:?}");
    };
    assert!(!s.is_ack());
    assert_eq!(s.no_rfc7540_priorities(), Some(1), "{s:?}");
    assert_eq!(s.max_concurrent_streams(), Some(100), "{s:?}");
}

/// RFC 9113 §3.4, §4.1: the preface and SETTINGS split one byte per `recv`
/// are accepted like whole ones (need-more is not an error).
#[test]
fn preface_and_settings_bytewise_3_4() {
    let mut p = Peer::with(Side::Server, no_timers(), Delivery::BYTEWISE);
    p.handshake();
    p.headers(1).request("GET", "/").end_stream().send();
    assert_eq!(p.ep.requests().len(), 1, "{:#?}", p.ep.log);
}

// ---- §6.5 SETTINGS ----------------------------------------------------------

/// RFC 9113 §6.5.3: a SETTINGS frame is acknowledged with an empty SETTINGS
/// frame with the ACK flag, and the values are applied (`PeerSettings`).
#[test]
fn settings_are_acknowledged_6_5_3() {
    let mut p = ready();
    p.settings(Settings::default().with_max_concurrent_streams(7));
    p.assert_frames(&["SETTINGS ACK"]);
    assert!(
        p.events().iter().any(|e| matches!(e,
            Event::PeerSettings { settings } if settings.max_concurrent_streams() == Some(7))),
        "{:#?}",
        p.ep.log
    );
}

/// RFC 9113 §6.5.2: an unknown setting identifier MUST be ignored.
#[test]
fn unknown_setting_is_ignored_6_5_2() {
    let mut p = ready();
    p.settings(Settings::default().with_raw(0xf00d, 12345));
    p.assert_frames(&["SETTINGS ACK"]);
    p.assert_alive();
}

/// RFC 9113 §6.5.2: SETTINGS_ENABLE_PUSH other than 0 or 1 is a connection
/// error PROTOCOL_ERROR.
#[test]
fn settings_enable_push_2_is_protocol_error_6_5_2() {
    let mut p = ready();
    p.settings(Settings::default().with_enable_push(2));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.5.2: a client may send SETTINGS_ENABLE_PUSH = 1 (only a server
/// must not); the server acknowledges it.
#[test]
fn settings_enable_push_1_from_client_is_fine_6_5_2() {
    let mut p = ready();
    p.settings(Settings::default().with_enable_push(1));
    p.assert_frames(&["SETTINGS ACK"]);
}

/// RFC 9113 §6.5.2: SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 is a connection
/// error FLOW_CONTROL_ERROR.
#[test]
fn settings_initial_window_too_large_is_flow_control_error_6_5_2() {
    let mut p = ready();
    p.settings(Settings::default().with_initial_window_size(1 << 31));
    p.assert_goaway(0, ErrorCode::FLOW_CONTROL_ERROR);
}

/// RFC 9113 §6.5.2: SETTINGS_MAX_FRAME_SIZE below 16,384 is a connection
/// error PROTOCOL_ERROR.
#[test]
fn settings_max_frame_size_too_small_is_protocol_error_6_5_2() {
    let mut p = ready();
    p.settings(Settings::default().with_max_frame_size(16_383));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.5.2: SETTINGS_MAX_FRAME_SIZE above 2^24-1 is a connection
/// error PROTOCOL_ERROR.
#[test]
fn settings_max_frame_size_too_large_is_protocol_error_6_5_2() {
    let mut p = ready();
    p.settings(Settings::default().with_max_frame_size(1 << 24));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL other than 0 or 1 is a
/// connection error PROTOCOL_ERROR.
#[test]
fn settings_enable_connect_protocol_2_is_protocol_error_rfc8441_3() {
    let mut p = ready();
    p.settings(Settings::default().with_enable_connect_protocol(2));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9218 §2.1: SETTINGS_NO_RFC7540_PRIORITIES other than 0 or 1 is a
/// connection error PROTOCOL_ERROR.
#[test]
fn settings_no_rfc7540_priorities_2_is_protocol_error_rfc9218_2_1() {
    let mut p = ready();
    p.settings(Settings::default().with_no_rfc7540_priorities(2));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.5: a SETTINGS length that is not a multiple of 6 is a
/// connection error FRAME_SIZE_ERROR.
#[test]
fn settings_bad_length_is_frame_size_error_6_5() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::SETTINGS, 0, 0, &[0, 3, 0, 0, 0]));
    p.assert_goaway(0, ErrorCode::FRAME_SIZE_ERROR);
}

/// RFC 9113 §6.5: a SETTINGS ACK with a payload is a connection error
/// FRAME_SIZE_ERROR.
#[test]
fn settings_ack_with_payload_is_frame_size_error_6_5() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::SETTINGS, 1, 0, &[0, 3, 0, 0, 0, 1]));
    p.assert_goaway(0, ErrorCode::FRAME_SIZE_ERROR);
}

/// RFC 9113 §6.5: SETTINGS on a stream other than 0 is a connection error
/// PROTOCOL_ERROR.
#[test]
fn settings_on_a_stream_is_protocol_error_6_5() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::SETTINGS, 0, 1, &[]));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.5.3: if the peer does not acknowledge our SETTINGS in time,
/// connection error SETTINGS_TIMEOUT (virtual clock).
#[test]
fn settings_ack_timeout_is_settings_timeout_6_5_3() {
    let cfg = no_timers();
    let timeout = cfg.h2.settings_timeout;
    let mut p = Peer::server(cfg);
    p.queue_raw(PREFACE);
    p.send(Settings::default());
    let _ = p.take();
    p.advance(timeout - Duration::from_millis(1));
    assert!(p.closed().is_none(), "closed early: {:#?}", p.ep.log);
    p.assert_frames(&[]);
    p.advance(Duration::from_millis(1));
    p.assert_goaway(0, ErrorCode::SETTINGS_TIMEOUT);
    assert!(
        p.events().iter().any(|e| matches!(
            e,
            Event::TimedOut {
                kind: TimerKind::SettingsAck
            }
        )),
        "{:#?}",
        p.ep.log
    );
}

/// RFC 9113 §6.5.3: once acknowledged, the SETTINGS timer is off.
#[test]
fn settings_acked_in_time_no_timeout_6_5_3() {
    let cfg = no_timers();
    let timeout = cfg.h2.settings_timeout;
    let mut p = Peer::server(cfg);
    p.handshake();
    p.advance(timeout * 3);
    assert!(p.closed().is_none(), "{:#?}", p.ep.log);
    p.assert_frames(&[]);
}

// ---- §6.7 PING ----------------------------------------------------------------

/// RFC 9113 §6.7: a PING is answered with a PING ACK carrying the identical
/// payload.
#[test]
fn ping_is_answered_with_same_payload_6_7() {
    let mut p = ready();
    p.send(frame::Ping::new(*b"\x01\x02\x03\x04\x05\x06\x07\x08"));
    p.assert_frames(&["PING ACK 0102030405060708"]);
}

/// RFC 9113 §6.7: a PING ACK MUST NOT be answered.
#[test]
fn ping_ack_is_not_answered_6_7() {
    let mut p = ready();
    p.send(frame::Ping::pong([9; 8]));
    p.assert_frames(&[]);
    p.assert_alive();
}

/// RFC 9113 §6.7: PING on a stream other than 0 is a connection error
/// PROTOCOL_ERROR.
#[test]
fn ping_on_a_stream_is_protocol_error_6_7() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::PING, 0, 1, &[0; 8]));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.7: a PING whose length is not 8 is a connection error
/// FRAME_SIZE_ERROR.
#[test]
fn ping_bad_length_is_frame_size_error_6_7() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::PING, 0, 0, &[0; 7]));
    p.assert_goaway(0, ErrorCode::FRAME_SIZE_ERROR);
}

/// RFC 9113 §6.7: our own PING's answer is reported as `Pong`.
#[test]
fn own_ping_answer_is_reported_6_7() {
    let mut p = ready();
    p.ep.conn.ping(*b"12345678");
    p.drive();
    p.assert_frames(&["PING 3132333435363738"]);
    p.send(frame::Ping::pong(*b"12345678"));
    assert!(
        p.events()
            .iter()
            .any(|e| matches!(e, Event::Pong { payload } if payload == b"12345678")),
        "{:#?}",
        p.ep.log
    );
}

// ---- §4.2 frame size, §4.1/§5.5 unknown frames ----------------------------------

/// RFC 9113 §4.2: a frame longer than our SETTINGS_MAX_FRAME_SIZE (16,384)
/// is FRAME_SIZE_ERROR (a connection error for a frame that can change
/// connection state; here DATA on an open stream).
#[test]
fn frame_larger_than_max_frame_size_is_frame_size_error_4_2() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.data(1, &vec![0u8; 16_385], false);
    let got = p.take();
    assert!(
        got.last() == Some(&"GOAWAY last=1 FRAME_SIZE_ERROR".to_owned())
            || got.last() == Some(&"RST_STREAM 1 FRAME_SIZE_ERROR".to_owned()),
        "{got:#?}"
    );
}

/// RFC 9113 §4.2: a HEADERS frame larger than SETTINGS_MAX_FRAME_SIZE is a
/// connection error FRAME_SIZE_ERROR (it carries a field block).
#[test]
fn headers_larger_than_max_frame_size_is_connection_error_4_2() {
    let mut p = ready();
    // '|' has an 11-bit Huffman code: sent as a raw literal, uncompressed.
    let big = "|".repeat(16_400);
    p.headers(1)
        .request("GET", "/")
        .field("x-big", &big)
        .end_stream()
        .send();
    p.assert_goaway(0, ErrorCode::FRAME_SIZE_ERROR);
}

/// RFC 9113 §4.2: a frame of exactly SETTINGS_MAX_FRAME_SIZE is fine.
#[test]
fn frame_of_exactly_max_frame_size_is_accepted_4_2() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.data(1, &vec![7u8; 16_384], true);
    assert!(p.resets().is_empty() && p.goaways().is_empty(), "{p:#?}");
    let (body, st) = p.ep.read_body(sid(1));
    assert_eq!((body.len(), st), (16_384, ReadState::End));
}

/// RFC 9113 §4.1, §5.5: frames of unknown type are ignored and discarded,
/// on stream 0 and on streams.
#[test]
fn unknown_frame_types_are_ignored_5_5() {
    let mut p = ready();
    p.send_raw(&raw_frame(0xfa, 0xff, 0, b"whatever"));
    p.headers(1).request("POST", "/").send();
    p.send_raw(&raw_frame(0xfb, 0, 1, b"x"));
    p.send_raw(&raw_frame(0xfc, 0, 99, b"idle stream, still ignored"));
    p.data(1, b"ok", true);
    p.assert_frames(&[]);
    p.assert_alive();
    assert_eq!(p.ep.read_body(sid(1)), (b"ok".to_vec(), ReadState::End));
}

/// RFC 9113 §5.5: an extension frame in the middle of a field block is a
/// connection error PROTOCOL_ERROR.
#[test]
fn unknown_frame_inside_header_block_is_protocol_error_5_5() {
    let mut p = ready();
    let hb = p
        .headers(1)
        .request("GET", "/")
        .end_stream()
        .continuations(1)
        .bytes();
    // Split after the HEADERS frame: its length is in the first 3 octets.
    let first = 9 + (usize::from(hb[0]) << 16 | usize::from(hb[1]) << 8 | usize::from(hb[2]));
    p.queue_raw(&hb[..first]);
    p.queue_raw(&raw_frame(0xfa, 0, 0, b""));
    p.send_raw(&hb[first..]);
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.1/§4.2: frame flags that are not defined for the type are
/// ignored (here: unknown bits on PING).
#[test]
fn undefined_flags_are_ignored_4_1() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::PING, 0xfe, 0, b"flagsxxx"));
    p.assert_frames(&["PING ACK 666c616773787878"]);
}

/// RFC 9113 §4.1: the reserved bit of the stream identifier is ignored on
/// receipt.
#[test]
fn reserved_stream_id_bit_is_ignored_4_1() {
    let mut p = ready();
    let mut hb = p.headers(1).request("GET", "/r").end_stream().bytes();
    hb[5] |= 0x80;
    p.send_raw(&hb);
    assert_eq!(p.ep.requests().len(), 1, "{:#?}", p.ep.log);
    assert_eq!(p.ep.requests()[0].0, sid(1));
}

// ---- §6.3 PRIORITY (deprecated), RFC 9218 -------------------------------------

/// RFC 9113 §5.3.2: PRIORITY frames are parsed and ignored, even on idle
/// streams, which they do not open.
#[test]
fn priority_frames_are_ignored_5_3_2() {
    let mut p = ready();
    let dep = StreamDependency::new(sid(0), 200, false);
    p.send(frame::Priority::new(sid(3), dep));
    p.send(frame::Priority::new(sid(1), dep));
    p.assert_frames(&[]);
    p.headers(1).request("GET", "/").end_stream().send();
    assert_eq!(p.ep.requests().len(), 1, "PRIORITY did not open stream 1");
    p.assert_frames(&[]);
}

/// RFC 9113 §6.3: PRIORITY on stream 0 is a connection error PROTOCOL_ERROR.
#[test]
fn priority_on_stream_0_is_protocol_error_6_3() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::PRIORITY, 0, 0, &[0, 0, 0, 1, 16]));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.3: a PRIORITY frame with a length other than 5 is a stream
/// error FRAME_SIZE_ERROR.
#[test]
fn priority_bad_length_is_stream_frame_size_error_6_3() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.send_raw(&raw_frame(kind::PRIORITY, 0, 1, &[0, 0, 0, 0]));
    p.assert_frames(&["RST_STREAM 1 FRAME_SIZE_ERROR"]);
    p.assert_alive();
}

/// RFC 7540 §5.3.1 (kept as §5.3.1 background in RFC 9113): a stream cannot
/// depend on itself; stream error PROTOCOL_ERROR.
#[test]
fn headers_depending_on_itself_is_stream_error_rfc7540_5_3_1() {
    let mut p = ready();
    p.headers(1)
        .request("GET", "/")
        .priority(StreamDependency::new(sid(1), 16, false))
        .end_stream()
        .send();
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
    assert!(p.ep.requests().is_empty());
    // The HPACK context stayed in sync.
    p.headers(3).request("GET", "/").end_stream().send();
    assert_eq!(p.ep.requests().len(), 1, "{:#?}", p.ep.log);
}

/// RFC 9218 §7.1: PRIORITY_UPDATE changes a stream's priority, reported as
/// `PriorityUpdate`.
#[test]
fn priority_update_is_reported_rfc9218_7_1() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    p.send(frame::PriorityUpdate::new(sid(1), &b"u=1, i"[..]));
    p.assert_frames(&[]);
    assert!(
        p.events().iter().any(|e| matches!(
            e,
            Event::PriorityUpdate { id, urgency: 1, incremental: true } if *id == sid(1)
        )),
        "{:#?}",
        p.ep.log
    );
}

/// RFC 9218 §7.1: PRIORITY_UPDATE on a stream other than 0 is a connection
/// error PROTOCOL_ERROR.
#[test]
fn priority_update_on_a_stream_is_protocol_error_rfc9218_7_1() {
    let mut p = ready();
    p.send_raw(&raw_frame(
        kind::PRIORITY_UPDATE,
        0,
        1,
        &[0, 0, 0, 1, b'u', b'=', b'0'],
    ));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9218 §7.1: a PRIORITY_UPDATE whose prioritized stream is 0 is a
/// connection error PROTOCOL_ERROR.
#[test]
fn priority_update_for_stream_0_is_protocol_error_rfc9218_7_1() {
    let mut p = ready();
    p.send(frame::PriorityUpdate::new(sid(0), &b"u=0"[..]));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9218 §4, §7.1: a PRIORITY_UPDATE that raises a stream's urgency makes
/// the scheduler send its DATA first.
#[test]
fn priority_update_reorders_sending_rfc9218_4() {
    let mut p = ready();
    p.headers(1).request("GET", "/a").end_stream().send();
    p.headers(3).request("GET", "/b").end_stream().send();
    p.send(frame::PriorityUpdate::new(sid(3), &b"u=0"[..]));
    let _ = p.take();
    for id in [1, 3] {
        p.ep.conn
            .send_response(sid(id), response(200, &[]), false)
            .unwrap();
        let mut body = bytes::Bytes::from(vec![b'x'; 20_000]);
        p.ep.conn.stream(sid(id)).unwrap().write(&mut body).unwrap();
        p.ep.conn.stream(sid(id)).unwrap().finish(None).unwrap();
    }
    p.drive();
    let data: Vec<String> = p
        .take()
        .into_iter()
        .filter(|f| f.starts_with("DATA"))
        .collect();
    assert_eq!(
        data.first().map(String::as_str),
        Some("DATA 3 len=16384"),
        "urgency 0 first: {data:#?}"
    );
    let last3 = data.iter().rposition(|f| f.starts_with("DATA 3")).unwrap();
    let first1 = data.iter().position(|f| f.starts_with("DATA 1")).unwrap();
    assert!(
        last3 < first1,
        "stream 3 (u=0) before stream 1 (u=3): {data:#?}"
    );
}

/// RFC 9218 §4.1: the `priority` request field sets the initial urgency.
#[test]
fn priority_request_field_orders_sending_rfc9218_4_1() {
    let mut p = ready();
    p.headers(1)
        .request("GET", "/a")
        .field("priority", "u=5")
        .end_stream()
        .send();
    p.headers(3)
        .request("GET", "/b")
        .field("priority", "u=1")
        .end_stream()
        .send();
    let _ = p.take();
    for id in [1, 3] {
        p.ep.conn
            .send_response(sid(id), response(200, &[]), false)
            .unwrap();
        let mut body = bytes::Bytes::from(vec![b'x'; 20_000]);
        p.ep.conn.stream(sid(id)).unwrap().write(&mut body).unwrap();
        p.ep.conn.stream(sid(id)).unwrap().finish(None).unwrap();
    }
    p.drive();
    let data: Vec<String> = p
        .take()
        .into_iter()
        .filter(|f| f.starts_with("DATA"))
        .collect();
    let last3 = data.iter().rposition(|f| f.starts_with("DATA 3")).unwrap();
    let first1 = data.iter().position(|f| f.starts_with("DATA 1")).unwrap();
    assert!(
        last3 < first1,
        "stream 3 (u=1) before stream 1 (u=5): {data:#?}"
    );
}

// ---- §6.8 GOAWAY and shutdown -------------------------------------------------

/// RFC 9113 §6.8: GOAWAY on a stream other than 0 is a connection error
/// PROTOCOL_ERROR.
#[test]
fn goaway_on_a_stream_is_protocol_error_6_8() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::GOAWAY, 0, 1, &[0, 0, 0, 0, 0, 0, 0, 0]));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.8: graceful shutdown: GOAWAY with 2^31-1 and a PING; after the
/// PING ACK, GOAWAY with the last stream id processed; streams in flight
/// complete; the connection closes when they end.
#[test]
fn graceful_shutdown_two_phase_6_8() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    let _ = p.take();
    p.ep.conn.shutdown(Shutdown::Graceful {
        drain: Duration::from_secs(30),
    });
    p.drive();
    let got = p.take();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0], "GOAWAY last=2147483647 NO_ERROR");
    assert!(got[1].starts_with("PING "), "{got:#?}");
    let frame::Frame::Ping(ping) = p.frames.last().unwrap().clone() else {
        unreachable!()
    };
    // A request that was in flight before the client saw the GOAWAY.
    p.headers(3).request("GET", "/late").end_stream().send();
    assert_eq!(
        p.ep.requests().len(),
        2,
        "stream 3 still processed: {:#?}",
        p.ep.log
    );
    p.send(frame::Ping::pong(ping.payload));
    p.assert_frames(&["GOAWAY last=3 NO_ERROR"]);
    // Above the final last-stream-id: ignored.
    p.headers(5).request("GET", "/ignored").end_stream().send();
    assert_eq!(p.ep.requests().len(), 2, "{:#?}", p.ep.log);
    // Streams in flight complete, then the connection closes.
    p.data(1, b"body", true);
    assert!(p.closed().is_none());
    p.ep.respond(sid(3), response(204, &[]), b"");
    p.drive();
    assert!(p.closed().is_none(), "stream 1 still open: {:#?}", p.ep.log);
    let _ = p.ep.read_body(sid(1));
    p.ep.respond(sid(1), response(200, &[]), b"done");
    p.drive();
    assert_eq!(p.closed(), Some(&CloseReason::Shutdown), "{:#?}", p.ep.log);
    let tail = p.take();
    assert_eq!(
        tail,
        [
            "HEADERS 3 es {:status: 204}",
            "HEADERS 1 {:status: 200}",
            "DATA 1 es len=4"
        ],
        "nothing but the responses (stream 5 got nothing)"
    );
}

/// RFC 9113 §6.8: with no stream open, a graceful shutdown closes after the
/// PING round trip and the final GOAWAY (last stream = last processed).
#[test]
fn graceful_shutdown_idle_connection_6_8() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    p.ep.respond(sid(1), response(204, &[]), b"");
    p.drive();
    let _ = p.take();
    p.ep.conn.shutdown(Shutdown::Graceful {
        drain: Duration::from_secs(30),
    });
    p.drive();
    let frame::Frame::Ping(ping) = p.frames.last().unwrap().clone() else {
        panic!("no PING: {p:#?}")
    };
    let _ = p.take();
    p.send(frame::Ping::pong(ping.payload));
    p.assert_frames(&["GOAWAY last=1 NO_ERROR"]);
    assert_eq!(p.closed(), Some(&CloseReason::Shutdown), "{:#?}", p.ep.log);
}

/// RFC 9113 §6.8 (and §5.4.1): an immediate shutdown sends GOAWAY with the
/// last processed stream and resets the streams in flight.
#[test]
fn immediate_shutdown_goaway_6_8() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    let _ = p.take();
    p.ep.conn.shutdown(Shutdown::Immediate);
    p.drive();
    p.assert_goaway(1, ErrorCode::NO_ERROR);
    assert_eq!(p.ep.count(|e| matches!(e, Event::Reset { .. })), 1);
}

/// RFC 9113 §6.8: a GOAWAY from the client stops the server from expecting
/// more streams; in-flight ones complete and the connection then closes.
#[test]
fn goaway_from_client_drains_6_8() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    p.send(frame::GoAway::new(sid(0), ErrorCode::NO_ERROR));
    assert!(
        p.closed().is_none(),
        "stream 1 still in flight: {:#?}",
        p.ep.log
    );
    p.ep.respond(sid(1), response(200, &[]), b"bye");
    p.drive();
    assert!(p.closed().is_some(), "{:#?}", p.ep.log);
    assert_eq!(p.body(1), b"bye");
}

/// RFC 9113 §5.4.1: after a connection error the core sends nothing more
/// and processes nothing more.
#[test]
fn nothing_after_connection_error_5_4_1() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::PING, 0, 1, &[0; 8]));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
    p.send(frame::Ping::new([1; 8]));
    p.headers(1).request("GET", "/").end_stream().send();
    p.assert_frames(&[]);
    assert!(p.ep.requests().is_empty());
}

// ---- timers ---------------------------------------------------------------------

/// RFC 9113 §6.8, §9.1: an idle connection is closed with GOAWAY NO_ERROR
/// (and the last stream processed) when the idle timeout passes.
#[test]
fn idle_timeout_sends_goaway_no_error_6_8() {
    let mut cfg = no_timers();
    cfg.idle_timeout = Some(Duration::from_secs(5));
    let mut p = Peer::server(cfg);
    p.handshake();
    p.headers(1).request("GET", "/").end_stream().send();
    p.ep.respond(sid(1), response(204, &[]), b"");
    p.drive();
    let _ = p.take();
    p.advance(Duration::from_secs(4));
    p.assert_frames(&[]);
    p.advance(Duration::from_secs(1));
    p.assert_goaway(1, ErrorCode::NO_ERROR);
    assert!(
        p.events().iter().any(|e| matches!(
            e,
            Event::TimedOut {
                kind: TimerKind::Idle
            }
        )),
        "{:#?}",
        p.ep.log
    );
}

/// RFC 9113 §9.1: the idle timer does not run while a stream is open.
#[test]
fn idle_timeout_not_while_stream_open_9_1() {
    let mut cfg = no_timers();
    cfg.idle_timeout = Some(Duration::from_secs(5));
    let mut p = Peer::server(cfg);
    p.handshake();
    p.headers(1).request("POST", "/").send();
    let _ = p.take();
    p.advance(Duration::from_secs(60));
    assert!(p.closed().is_none(), "{:#?}", p.ep.log);
    p.assert_frames(&[]);
}

/// RFC 9113 §6.5.3: the values in a SETTINGS frame are processed in order;
/// the last value of a repeated setting wins.
#[test]
fn repeated_setting_last_value_wins_6_5_3() {
    let mut p = ready();
    p.window_update(0, 1 << 20);
    p.settings(
        Settings::default()
            .with_initial_window_size(1_000)
            .with_initial_window_size(2_000),
    );
    p.headers(1).request("GET", "/").end_stream().send();
    let _ = p.take();
    p.ep.conn
        .send_response(sid(1), response(200, &[]), false)
        .unwrap();
    p.ep.send_body(sid(1), &[b'z'; 5_000], true, None);
    p.drive();
    assert_eq!(p.body(1).len(), 2_000, "{:#?}", p.rendered());
}

/// RFC 9113 §6.7 (keep-alive use of PING): with a keep-alive interval, the
/// core PINGs an idle peer and closes when the PING goes unanswered.
#[test]
fn keep_alive_ping_unanswered_closes_6_7() {
    let mut cfg = no_timers();
    cfg.h2.keep_alive_interval = Some(Duration::from_secs(10));
    cfg.h2.keep_alive_timeout = Duration::from_secs(5);
    let mut p = Peer::server(cfg);
    p.handshake();
    p.advance(Duration::from_secs(10));
    let got = p.take();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].starts_with("PING "), "{got:#?}");
    p.advance(Duration::from_secs(5));
    assert!(
        matches!(
            p.closed(),
            Some(CloseReason::TimedOut(TimerKind::PingTimeout))
        ),
        "{:#?}",
        p.ep.log
    );
}

/// RFC 9113 §10.5 (PING/SETTINGS floods): a peer that sends PINGs without
/// reading our answers makes the core stop reading after
/// `max_pending_control` queued answers; once they are written, the rest is
/// answered. Memory stays bounded by the limit, not by the flood.
#[test]
fn ping_flood_without_reading_pauses_input_10_5() {
    use bytes::BytesMut;
    use proto_core::h2::frame::{self, Frame, Settings};

    let mut cfg = no_timers();
    cfg.h2.max_pending_control = 100;
    let mut conn = Connection::with_protocol(Side::Server, Protocol::Http2, cfg, T0);
    let mut input = BytesMut::from(&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..]);
    Settings::default().encode(&mut input);
    for i in 0..1000u32 {
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(&i.to_be_bytes());
        frame::Ping::new(payload).encode(&mut input);
    }
    let taken = conn.recv(T0, &input);
    assert!(!conn.wants_read(), "paused while answers are unwritten");
    let pending: usize = conn.poll_transmit().iter().map(|b| b.len()).sum();
    assert!(
        pending < 120 * 17 + 200,
        "answers queued without bound: {pending} bytes"
    );
    // The peer reads: everything gets answered, in order.
    let mut acks = 0;
    let mut rest = &input[taken..];
    for _ in 0..100 {
        let out = drain_transmit(&mut conn);
        let mut buf = BytesMut::from(&out[..]);
        while let Some(f) = frame::decode(&mut buf, 1 << 24).unwrap() {
            if let Frame::Ping(p) = f {
                assert!(p.ack);
                assert_eq!(u32::from_be_bytes(p.payload[..4].try_into().unwrap()), acks);
                acks += 1;
            }
        }
        if !rest.is_empty() && conn.wants_read() {
            let n = conn.recv(T0, rest);
            rest = &rest[n..];
        }
    }
    assert_eq!(acks, 1000);
}

/// RFC 9113 §10.5, with the core's input contract: once reading pauses on
/// unwritten answers, `recv` and `recv_buf` take nothing past the frame that
/// filled `max_pending_control`; the rest stays with the caller (not hidden
/// in the core's buffer), so the caller's own read bound holds and the
/// application acts at the same point however the bytes were cut.
#[test]
fn paused_core_leaves_unprocessed_input_with_the_caller_10_5() {
    use bytes::BytesMut;
    use proto_core::h2::frame::{self, Settings};

    let mut cfg = no_timers();
    cfg.h2.max_pending_control = 10;
    let mut input = BytesMut::from(&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..]);
    Settings::default().encode(&mut input);
    let head = input.len();
    for i in 0..50u8 {
        frame::Ping::new([i; 8]).encode(&mut input);
    }
    // The SETTINGS ACK and nine PING ACKs fill the limit.
    let expect = head + 9 * 17;

    let mut conn = Connection::with_protocol(Side::Server, Protocol::Http2, cfg.clone(), T0);
    assert_eq!(conn.recv(T0, &input), expect);
    assert!(!conn.wants_read());
    assert_eq!(conn.recv(T0, &input[expect..]), 0, "paused: takes nothing");

    // Zero-copy entry: the same cut, and the bytes left are the caller's own.
    let mut conn = Connection::with_protocol(Side::Server, Protocol::Http2, cfg, T0);
    let mut buf = input.clone();
    let tail = buf.as_ptr().wrapping_add(expect);
    conn.recv_buf(T0, &mut buf);
    assert_eq!(buf.len(), input.len() - expect);
    assert_eq!(&buf[..], &input[expect..]);
    assert_eq!(buf.as_ptr(), tail, "given back without a copy");

    // Writing the answers resumes reading at exactly that point.
    let out = drain_transmit(&mut conn);
    let mut out = BytesMut::from(&out[..]);
    let mut acks = 0;
    while let Some(f) = frame::decode(&mut out, 1 << 24).unwrap() {
        acks += usize::from(matches!(f, frame::Frame::Ping(p) if p.ack));
    }
    assert_eq!(acks, 9);
    assert!(conn.wants_read());
    conn.recv_buf(T0, &mut buf);
    assert_eq!(buf.len(), input.len() - expect - 10 * 17);
}
