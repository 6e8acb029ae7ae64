//! Raw-peer tests of RFC 9113 stream rules against a server core: stream
//! states and identifiers (§5.1, §5.1.1, §5.1.2), DATA/HEADERS/RST_STREAM/
//! CONTINUATION/PUSH_PROMISE (§6.1, §6.2, §6.4, §6.6, §6.10), header blocks
//! and HPACK (§4.3), field validation and message framing (§8.1, §8.2, §8.3),
//! and the Rapid Reset defence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proto_core::h2::frame::{self, kind};
use tests::h2::*;
use tests::*;

fn ready() -> Peer {
    let mut p = Peer::server(no_timers());
    p.handshake();
    p
}

fn ready_with(cfg: Config) -> Peer {
    let mut p = Peer::server(cfg);
    p.handshake();
    p
}

/// The connection still works after a stream error: a new request on `next`
/// is delivered (and the HPACK contexts are in sync).
#[track_caller]
fn assert_next_request_ok(p: &mut Peer, next: u32) {
    let before = p.ep.requests().len();
    p.headers(next)
        .request("GET", "/next")
        .field("x-check", "1")
        .end_stream()
        .send();
    let reqs = p.ep.requests();
    assert_eq!(reqs.len(), before + 1, "{:#?}", p.ep.log);
    let (id, head, _) = reqs[before];
    assert_eq!(id, sid(next));
    assert_eq!(&head.target[..], b"/next");
    assert_eq!(head.fields.get("x-check").map(|v| &v[..]), Some(&b"1"[..]));
}

// ---- §6.1 DATA and §5.1 stream states ---------------------------------------

/// RFC 9113 §6.1: DATA on stream 0 is a connection error PROTOCOL_ERROR.
#[test]
fn data_on_stream_0_is_protocol_error_6_1() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::DATA, 0, 0, b"x"));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §5.1 (idle): a frame other than HEADERS/PRIORITY on an idle
/// stream is a connection error PROTOCOL_ERROR.
#[test]
fn data_on_idle_stream_is_protocol_error_5_1() {
    let mut p = ready();
    p.data(1, b"x", false);
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §5.1 (idle): DATA on an idle stream above an open one is still
/// a connection error PROTOCOL_ERROR; the GOAWAY names the last stream.
#[test]
fn data_on_idle_stream_above_open_is_protocol_error_5_1() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.data(5, b"x", false);
    p.assert_goaway(1, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §5.1 (half-closed (remote)): DATA after the peer's END_STREAM is
/// a stream error STREAM_CLOSED.
#[test]
fn data_on_half_closed_remote_is_stream_closed_5_1() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    p.data(1, b"late", false);
    p.assert_frames(&["RST_STREAM 1 STREAM_CLOSED"]);
    p.assert_alive();
    assert_next_request_ok(&mut p, 3);
}

/// RFC 9113 §5.1 (half-closed (remote)): HEADERS after the peer's END_STREAM
/// is a stream error STREAM_CLOSED.
#[test]
fn headers_on_half_closed_remote_is_stream_closed_5_1() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    p.headers(1).field("x-trailer", "1").end_stream().send();
    p.assert_frames(&["RST_STREAM 1 STREAM_CLOSED"]);
    p.assert_alive();
}

/// RFC 9113 §5.1 (half-closed (remote)): WINDOW_UPDATE, PRIORITY and
/// RST_STREAM are still allowed.
#[test]
fn window_update_priority_rst_allowed_half_closed_remote_5_1() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    p.window_update(1, 100);
    p.send(frame::Priority::new(
        sid(1),
        frame::StreamDependency::new(sid(0), 1, false),
    ));
    p.assert_frames(&[]);
    p.rst(1, ErrorCode::CANCEL);
    p.assert_frames(&[]);
    assert!(p.events().iter().any(|e| matches!(
        e,
        Event::Reset { id, code: ErrorCode::CANCEL, remote: true } if *id == sid(1)
    )));
    p.assert_alive();
}

/// RFC 9113 §5.1 (closed): a frame other than PRIORITY after the peer's
/// RST_STREAM is a stream error STREAM_CLOSED.
#[test]
fn data_after_peer_rst_stream_is_stream_closed_5_1() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.rst(1, ErrorCode::CANCEL);
    p.assert_frames(&[]);
    p.data(1, b"x", false);
    let got = p.take();
    assert!(
        got == ["RST_STREAM 1 STREAM_CLOSED"] || got == ["GOAWAY last=1 STREAM_CLOSED"],
        "{got:#?}"
    );
}

/// RFC 9113 §5.1 (closed): after we reset a stream, frames the peer sent
/// before seeing our RST_STREAM are ignored (no error).
#[test]
fn data_after_our_rst_stream_is_ignored_5_1() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.ep.conn.stream(sid(1)).unwrap().reset(ErrorCode::CANCEL);
    p.drive();
    p.assert_frames(&["RST_STREAM 1 CANCEL"]);
    p.data(1, b"in flight", false);
    p.window_update(1, 10);
    p.data(1, b"more", true);
    p.assert_frames(&[]);
    p.assert_alive();
}

/// RFC 9113 §5.1, §6.9: DATA ignored on a closed stream still counts
/// against the connection window, which the core restores.
#[test]
fn data_on_reset_stream_window_restored_6_9() {
    let mut cfg = no_timers();
    cfg.h2.connection_window_size = 65_535;
    let mut p = ready_with(cfg);
    p.headers(1).request("POST", "/").send();
    p.ep.conn.stream(sid(1)).unwrap().reset(ErrorCode::CANCEL);
    p.drive();
    let _ = p.take();
    for _ in 0..8 {
        p.data(1, &[0; 16_000], false);
    }
    assert!(p.goaways().is_empty(), "{:#?}", p.rendered());
    assert!(
        p.window_updates(0) >= 16_000 * 8 - 65_535,
        "connection window given back: {:#?}",
        p.rendered()
    );
}

/// RFC 9113 §6.1: padding longer than the payload is a connection error
/// PROTOCOL_ERROR.
#[test]
fn data_padding_too_long_is_protocol_error_6_1() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    // Pad Length 10 with 3 octets after it.
    p.send_raw(&raw_frame(
        kind::DATA,
        frame::flags::PADDED,
        1,
        &[10, 1, 2, 3],
    ));
    p.assert_goaway(1, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.1: padded DATA delivers only the data.
#[test]
fn data_padding_is_stripped_6_1() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.send(frame::Data::new(sid(1), &b"abc"[..], true).with_padding(20));
    assert_eq!(p.ep.read_body(sid(1)), (b"abc".to_vec(), ReadState::End));
}

// ---- §5.1.1 stream identifiers -----------------------------------------------

/// RFC 9113 §5.1.1: a client-initiated stream with an even id is a
/// connection error PROTOCOL_ERROR.
#[test]
fn headers_with_even_id_is_protocol_error_5_1_1() {
    let mut p = ready();
    p.headers(2).request("GET", "/").end_stream().send();
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §5.1.1: a new stream id lower than one already used (never
/// opened itself) is a connection error PROTOCOL_ERROR.
#[test]
fn headers_with_lower_id_is_protocol_error_5_1_1() {
    let mut p = ready();
    p.headers(5).request("GET", "/").end_stream().send();
    p.headers(3).request("GET", "/").end_stream().send();
    p.assert_goaway(5, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §5.1.1, §5.1 (closed): HEADERS reusing the id of a stream that
/// completed is a connection error (PROTOCOL_ERROR by §5.1.1, or
/// STREAM_CLOSED by §5.1).
#[test]
fn headers_reusing_closed_id_is_connection_error_5_1_1() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    p.ep.respond(sid(1), response(204, &[]), b"");
    p.drive();
    let _ = p.take();
    p.headers(1).request("GET", "/again").end_stream().send();
    let got = p.take();
    assert!(
        got == ["GOAWAY last=1 PROTOCOL_ERROR"] || got == ["GOAWAY last=1 STREAM_CLOSED"],
        "{got:#?}"
    );
    assert_eq!(p.ep.requests().len(), 1);
}

/// RFC 9113 §5.1.1: the first use of a stream id implicitly closes lower
/// idle ones; ids may skip.
#[test]
fn stream_ids_may_skip_5_1_1() {
    let mut p = ready();
    p.headers(7).request("GET", "/").end_stream().send();
    assert_eq!(p.ep.requests()[0].0, sid(7));
    p.assert_frames(&[]);
}

/// RFC 9113 §6.2: HEADERS on stream 0 is a connection error PROTOCOL_ERROR.
#[test]
fn headers_on_stream_0_is_protocol_error_6_2() {
    let mut p = ready();
    p.headers(0).request("GET", "/").end_stream().send();
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.2: HEADERS padding longer than the payload is a connection
/// error PROTOCOL_ERROR.
#[test]
fn headers_padding_too_long_is_protocol_error_6_2() {
    let mut p = ready();
    p.send_raw(&raw_frame(
        kind::HEADERS,
        frame::flags::PADDED | frame::flags::END_HEADERS,
        1,
        &[9, 0x82],
    ));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.2: a padded HEADERS frame is decoded like an unpadded one.
#[test]
fn headers_padded_is_accepted_6_2() {
    let mut p = ready();
    p.headers(1)
        .request("GET", "/pad")
        .padded(7)
        .end_stream()
        .send();
    assert_eq!(&p.ep.requests()[0].1.target[..], b"/pad");
}

// ---- §6.4 RST_STREAM, §6.9 WINDOW_UPDATE on idle -------------------------------

/// RFC 9113 §6.4: RST_STREAM on an idle stream is a connection error
/// PROTOCOL_ERROR.
#[test]
fn rst_stream_on_idle_is_protocol_error_6_4() {
    let mut p = ready();
    p.rst(1, ErrorCode::CANCEL);
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.4: RST_STREAM on stream 0 is a connection error
/// PROTOCOL_ERROR.
#[test]
fn rst_stream_on_stream_0_is_protocol_error_6_4() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::RST_STREAM, 0, 0, &[0, 0, 0, 8]));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.4: RST_STREAM with a length other than 4 is a connection
/// error FRAME_SIZE_ERROR.
#[test]
fn rst_stream_bad_length_is_frame_size_error_6_4() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.send_raw(&raw_frame(kind::RST_STREAM, 0, 1, &[0, 0, 8]));
    p.assert_goaway(1, ErrorCode::FRAME_SIZE_ERROR);
}

/// RFC 9113 §6.4: the receiver of RST_STREAM MUST NOT answer with
/// RST_STREAM; the stream is reported reset by the peer.
#[test]
fn rst_stream_is_not_answered_6_4() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.rst(1, ErrorCode::CANCEL);
    p.assert_frames(&[]);
    assert_eq!(
        p.ep.count(|e| matches!(
            e,
            Event::Reset {
                code: ErrorCode::CANCEL,
                remote: true,
                ..
            }
        )),
        1,
        "{:#?}",
        p.ep.log
    );
    assert!(p.ep.conn.stream(sid(1)).is_none());
}

/// RFC 9113 §5.1 (idle), §6.9: WINDOW_UPDATE on an idle stream is a
/// connection error PROTOCOL_ERROR.
#[test]
fn window_update_on_idle_is_protocol_error_5_1() {
    let mut p = ready();
    p.window_update(3, 10);
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.9: a WINDOW_UPDATE length other than 4 is a connection error
/// FRAME_SIZE_ERROR.
#[test]
fn window_update_bad_length_is_frame_size_error_6_9() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::WINDOW_UPDATE, 0, 0, &[0, 0, 1]));
    p.assert_goaway(0, ErrorCode::FRAME_SIZE_ERROR);
}

// ---- §6.10 CONTINUATION, §4.3 header blocks ------------------------------------

/// RFC 9113 §4.3, §6.10: a header block split over HEADERS and CONTINUATION
/// frames is assembled (also one byte per `recv`).
#[test]
fn continuation_assembles_header_block_6_10() {
    for delivery in [Delivery::WHOLE, Delivery::BYTEWISE] {
        let mut p = Peer::with(Side::Server, no_timers(), delivery);
        p.handshake();
        p.headers(1)
            .request("GET", "/cont")
            .field("x-a", "aaaaaaaaaaaaaaaa")
            .field("x-b", "bbbbbbbbbbbbbbbb")
            .continuations(3)
            .end_stream()
            .send();
        let reqs = p.ep.requests();
        assert_eq!(reqs.len(), 1, "{:#?}", p.ep.log);
        assert_eq!(&reqs[0].1.target[..], b"/cont");
        assert_eq!(
            reqs[0].1.fields.get("x-b").map(|v| &v[..]),
            Some(&b"bbbbbbbbbbbbbbbb"[..])
        );
        assert!(reqs[0].2, "END_STREAM on the HEADERS frame applies");
    }
}

/// RFC 9113 §6.10: any frame between HEADERS and its last CONTINUATION is a
/// connection error PROTOCOL_ERROR (here a PING).
#[test]
fn frame_interleaved_in_header_block_is_protocol_error_6_10() {
    let mut p = ready();
    let hb = p
        .headers(1)
        .request("GET", "/")
        .end_stream()
        .continuations(1)
        .bytes();
    let first = 9 + (usize::from(hb[0]) << 16 | usize::from(hb[1]) << 8 | usize::from(hb[2]));
    p.queue_raw(&hb[..first]);
    p.queue(frame::Ping::new([0; 8]));
    p.send_raw(&hb[first..]);
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.10: a CONTINUATION on another stream than its HEADERS is a
/// connection error PROTOCOL_ERROR.
#[test]
fn continuation_on_other_stream_is_protocol_error_6_10() {
    let mut p = ready();
    let hb = p
        .headers(1)
        .request("GET", "/")
        .end_stream()
        .continuations(1)
        .bytes();
    let first = 9 + (usize::from(hb[0]) << 16 | usize::from(hb[1]) << 8 | usize::from(hb[2]));
    let mut rest = hb[first..].to_vec();
    rest[8] = 3; // stream id 1 -> 3
    p.queue_raw(&hb[..first]);
    p.send_raw(&rest);
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.10: a CONTINUATION not preceded by HEADERS without
/// END_HEADERS is a connection error PROTOCOL_ERROR.
#[test]
fn continuation_without_headers_is_protocol_error_6_10() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.send(frame::Continuation::new(sid(1), &b"\x82"[..], true));
    p.assert_goaway(1, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.10: CONTINUATION on stream 0 is a connection error
/// PROTOCOL_ERROR.
#[test]
fn continuation_on_stream_0_is_protocol_error_6_10() {
    let mut p = ready();
    p.send_raw(&raw_frame(kind::CONTINUATION, 4, 0, &[0x82]));
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// CVE-2024-27316 (RFC 9113 §10.5): an endless CONTINUATION sequence is cut
/// off at `max_continuation_frames` with GOAWAY ENHANCE_YOUR_CALM.
#[test]
fn too_many_continuations_is_enhance_your_calm_10_5() {
    let mut cfg = no_timers();
    cfg.h2.max_continuation_frames = 4;
    let mut p = ready_with(cfg);
    p.send(frame::Headers::new(sid(1), &b"\x82"[..], true, false));
    for _ in 0..4 {
        p.send(frame::Continuation::new(sid(1), &b""[..], false));
    }
    p.assert_frames(&[]);
    p.send(frame::Continuation::new(sid(1), &b""[..], false));
    p.assert_goaway(0, ErrorCode::ENHANCE_YOUR_CALM);
}

/// RFC 9113 §10.5: a header block larger than any acceptable list, fed as
/// CONTINUATION frames, is cut off without buffering it all.
#[test]
fn oversized_continuation_bytes_is_enhance_your_calm_10_5() {
    let mut p = ready();
    p.send(frame::Headers::new(sid(1), vec![0u8; 16_000], true, false));
    for _ in 0..10 {
        if p.closed().is_some() {
            break;
        }
        p.send(frame::Continuation::new(sid(1), vec![0u8; 16_000], false));
    }
    let g = p.goaways();
    assert_eq!(g.len(), 1, "{:#?}", p.rendered());
    assert!(
        g[0].1 == ErrorCode::ENHANCE_YOUR_CALM || g[0].1 == ErrorCode::COMPRESSION_ERROR,
        "{g:?}"
    );
}

/// RFC 9113 §4.3: a header block that fails to decode is a connection error
/// COMPRESSION_ERROR (index 0 is invalid, RFC 7541 §6.1).
#[test]
fn hpack_garbage_is_compression_error_4_3() {
    let mut p = ready();
    p.send(frame::Headers::new(sid(1), &b"\x80"[..], true, true));
    p.assert_goaway(0, ErrorCode::COMPRESSION_ERROR);
}

/// RFC 9113 §4.3, RFC 7541 §2.3.3: an index beyond the tables is a
/// COMPRESSION_ERROR.
#[test]
fn hpack_index_out_of_range_is_compression_error_4_3() {
    let mut p = ready();
    p.send(frame::Headers::new(sid(1), &b"\xff\x7f"[..], true, true));
    p.assert_goaway(0, ErrorCode::COMPRESSION_ERROR);
}

/// RFC 9113 §4.3, RFC 7541 §4.2: a table size update above our
/// SETTINGS_HEADER_TABLE_SIZE is a COMPRESSION_ERROR.
#[test]
fn hpack_table_size_above_setting_is_compression_error_4_3() {
    let mut p = ready();
    // 0x3f e1 1f = size update to 4096 + ... : 0x20 | 31, then 8192-31.
    p.send(frame::Headers::new(
        sid(1),
        &b"\x3f\xe1\x3f\x82"[..],
        true,
        true,
    ));
    p.assert_goaway(0, ErrorCode::COMPRESSION_ERROR);
}

/// RFC 9113 §6.5.2 (SETTINGS_MAX_HEADER_LIST_SIZE), RFC 6585 §5: a header
/// list above our limit is refused (431, or RST_STREAM); the HPACK context
/// stays usable.
#[test]
fn header_list_too_large_is_refused_6_5_2() {
    let mut cfg = no_timers();
    cfg.h2.max_header_list_size = 1000;
    let mut p = ready_with(cfg);
    let big = "v".repeat(1200);
    p.headers(1)
        .request("GET", "/")
        .field("x-big", &big)
        .end_stream()
        .send();
    let got = p.take();
    assert!(
        got.first().map(String::as_str) == Some("HEADERS 1 es {:status: 431}")
            || got.first().is_some_and(|f| f.starts_with("RST_STREAM 1 ")),
        "{got:#?}"
    );
    assert!(p.ep.requests().is_empty(), "{:#?}", p.ep.log);
    assert_next_request_ok(&mut p, 3);
}

// ---- §8.1 messages, §8.2 fields, §8.3 pseudo-headers -----------------------------

/// Sends a malformed request on stream 1 and asserts RST_STREAM 1
/// PROTOCOL_ERROR (RFC 9113 §8.1.1), no `Request` event, and a healthy
/// connection afterwards.
macro_rules! malformed {
    ($(#[$doc:meta])* $name:ident, |$b:ident| $build:expr) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            let mut p = ready();
            {
                let $b = p.headers(1);
                $build.end_stream().send();
            }
            p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
            assert!(p.ep.requests().is_empty(), "{:#?}", p.ep.log);
            assert!(p.closed().is_none());
            assert_next_request_ok(&mut p, 3);
        }
    };
}

malformed!(
    /// RFC 9113 §8.2.1: field names MUST NOT contain uppercase characters.
    uppercase_field_name_8_2_1,
    |b| b.request("GET", "/").field("X-Upper", "1")
);
malformed!(
    /// RFC 9113 §8.2.1: field names MUST NOT contain SP or controls.
    field_name_with_space_8_2_1,
    |b| b.request("GET", "/").field("x y", "1")
);
malformed!(
    /// RFC 9113 §8.2.1: a regular field name MUST NOT contain a colon.
    field_name_with_colon_8_2_1,
    |b| b.request("GET", "/").field("x:y", "1")
);
malformed!(
    /// RFC 9113 §8.2.1: an empty field name is malformed.
    empty_field_name_8_2_1,
    |b| b.request("GET", "/").field("", "1")
);
malformed!(
    /// RFC 9113 §8.2.1: field names MUST NOT contain octets 0x7f-0xff.
    field_name_with_high_octet_8_2_1,
    |b| b.request("GET", "/").field(b"x\xe9", "1")
);
malformed!(
    /// RFC 9113 §8.2.1: a field value MUST NOT start with whitespace.
    value_leading_space_8_2_1,
    |b| b.request("GET", "/").field("x-a", " v")
);
malformed!(
    /// RFC 9113 §8.2.1: a field value MUST NOT end with whitespace (HTAB).
    value_trailing_tab_8_2_1,
    |b| b.request("GET", "/").field("x-a", "v\t")
);
malformed!(
    /// RFC 9113 §8.2.1: a field value MUST NOT contain CR.
    value_with_cr_8_2_1,
    |b| b.request("GET", "/").field("x-a", "a\rb")
);
malformed!(
    /// RFC 9113 §8.2.1: a field value MUST NOT contain LF.
    value_with_lf_8_2_1,
    |b| b.request("GET", "/").field("x-a", "a\nb")
);
malformed!(
    /// RFC 9113 §8.2.1: a field value MUST NOT contain NUL.
    value_with_nul_8_2_1,
    |b| b.request("GET", "/").field("x-a", "a\0b")
);
malformed!(
    /// RFC 9113 §8.2.1: pseudo-header values follow the same rules.
    pseudo_value_with_lf_8_2_1,
    |b| b.field(":method", "GET").field(":scheme", "https").field(":path", "/a\nb")
);
malformed!(
    /// RFC 9113 §8.2.2: `connection` is connection-specific.
    connection_field_8_2_2,
    |b| b.request("GET", "/").field("connection", "keep-alive")
);
malformed!(
    /// RFC 9113 §8.2.2: `keep-alive` is connection-specific.
    keep_alive_field_8_2_2,
    |b| b.request("GET", "/").field("keep-alive", "timeout=5")
);
malformed!(
    /// RFC 9113 §8.2.2: `proxy-connection` is connection-specific.
    proxy_connection_field_8_2_2,
    |b| b.request("GET", "/").field("proxy-connection", "close")
);
malformed!(
    /// RFC 9113 §8.2.2: `transfer-encoding` is connection-specific.
    transfer_encoding_field_8_2_2,
    |b| b.request("GET", "/").field("transfer-encoding", "chunked")
);
malformed!(
    /// RFC 9113 §8.2.2: `upgrade` is connection-specific.
    upgrade_field_8_2_2,
    |b| b.request("GET", "/").field("upgrade", "h2c")
);
malformed!(
    /// RFC 9113 §8.2.2: TE may only carry "trailers".
    te_not_trailers_8_2_2,
    |b| b.request("GET", "/").field("te", "gzip")
);
malformed!(
    /// RFC 9113 §8.3: pseudo-headers MUST come before regular fields.
    pseudo_after_regular_8_3,
    |b| b
        .field(":method", "GET")
        .field(":scheme", "https")
        .field("x-a", "1")
        .field(":path", "/")
);
malformed!(
    /// RFC 9113 §8.3.1: the same pseudo-header twice is malformed.
    duplicate_method_8_3_1,
    |b| b.request("GET", "/").field(":method", "POST")
);
malformed!(
    /// RFC 9113 §8.3.1: a duplicate `:path` is malformed.
    duplicate_path_8_3_1,
    |b| b.request("GET", "/").field(":path", "/again")
);
malformed!(
    /// RFC 9113 §8.3.1: `:method` is mandatory.
    missing_method_8_3_1,
    |b| b.field(":scheme", "https").field(":path", "/")
);
malformed!(
    /// RFC 9113 §8.3.1: `:scheme` is mandatory (non-CONNECT).
    missing_scheme_8_3_1,
    |b| b.field(":method", "GET").field(":path", "/")
);
malformed!(
    /// RFC 9113 §8.3.1: `:path` is mandatory (non-CONNECT).
    missing_path_8_3_1,
    |b| b.field(":method", "GET").field(":scheme", "https")
);
malformed!(
    /// RFC 9113 §8.3.1: an empty `:path` is malformed.
    empty_path_8_3_1,
    |b| b.field(":method", "GET").field(":scheme", "https").field(":path", "")
);
malformed!(
    /// RFC 9113 §8.3: an undefined pseudo-header is malformed.
    unknown_pseudo_header_8_3,
    |b| b.request("GET", "/").field(":foo", "bar")
);
malformed!(
    /// RFC 9113 §8.3: a response pseudo-header in a request is malformed.
    status_in_request_8_3,
    |b| b.request("GET", "/").field(":status", "200")
);
malformed!(
    /// RFC 9113 §8.5: CONNECT carries no `:scheme` or `:path`.
    connect_with_path_8_5,
    |b| b.request("CONNECT", "/")
);
malformed!(
    /// RFC 8441 §4: `:protocol` without SETTINGS_ENABLE_CONNECT_PROTOCOL.
    protocol_pseudo_without_setting_rfc8441_4,
    |b| b.request("CONNECT", "/chat").field(":protocol", "websocket")
);
malformed!(
    /// RFC 9113 §8.3.1: `:authority` and `host` must not differ.
    authority_host_mismatch_8_3_1,
    |b| b.request("GET", "/").field("host", "other.example")
);
malformed!(
    /// RFC 9113 §8.1.1, RFC 9110 §8.6: an invalid content-length is malformed.
    invalid_content_length_8_1_1,
    |b| b.request("POST", "/").field("content-length", "abc")
);

/// RFC 9113 §8.5: a CONNECT request with only `:method` and `:authority` is
/// well-formed.
#[test]
fn connect_with_authority_only_is_accepted_8_5() {
    let mut p = ready();
    p.headers(1)
        .field(":method", "CONNECT")
        .field(":authority", "example.com:443")
        .send();
    p.assert_frames(&[]);
    let reqs = p.ep.requests();
    assert_eq!(reqs.len(), 1, "{:#?}", p.ep.log);
    assert_eq!(&reqs[0].1.target[..], b"example.com:443");
}

/// RFC 9113 §8.2.2: `te: trailers` is allowed.
#[test]
fn te_trailers_is_accepted_8_2_2() {
    let mut p = ready();
    p.headers(1)
        .request("GET", "/")
        .field("te", "trailers")
        .end_stream()
        .send();
    p.assert_frames(&[]);
    assert_eq!(p.ep.requests().len(), 1);
}

/// RFC 9113 §8.2.3: cookie crumbs sent as separate fields are joined with
/// "; " for the application.
#[test]
fn cookie_crumbs_are_joined_8_2_3() {
    let mut p = ready();
    p.headers(1)
        .request("GET", "/")
        .field("cookie", "a=1")
        .field("cookie", "b=2")
        .end_stream()
        .send();
    let reqs = p.ep.requests();
    assert_eq!(
        reqs[0].1.fields.get("cookie").map(|v| &v[..]),
        Some(&b"a=1; b=2"[..])
    );
}

/// RFC 9113 §8.1.1: END_STREAM with fewer DATA bytes than content-length is
/// a stream error PROTOCOL_ERROR.
#[test]
fn content_length_short_body_is_protocol_error_8_1_1() {
    let mut p = ready();
    p.headers(1)
        .request("POST", "/")
        .field("content-length", "5")
        .send();
    p.data(1, b"abc", true);
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
    assert!(
        p.events()
            .iter()
            .any(|e| matches!(e, Event::Reset { id, .. } if *id == sid(1)))
    );
    assert_next_request_ok(&mut p, 3);
}

/// RFC 9113 §8.1.1: more DATA than content-length is a stream error
/// PROTOCOL_ERROR.
#[test]
fn content_length_long_body_is_protocol_error_8_1_1() {
    let mut p = ready();
    p.headers(1)
        .request("POST", "/")
        .field("content-length", "2")
        .send();
    p.data(1, b"abc", false);
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
    assert_next_request_ok(&mut p, 3);
}

/// RFC 9113 §8.1.1: HEADERS with END_STREAM and a non-zero content-length
/// is malformed.
#[test]
fn content_length_without_data_is_protocol_error_8_1_1() {
    let mut p = ready();
    p.headers(1)
        .request("POST", "/")
        .field("content-length", "4")
        .end_stream()
        .send();
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
    assert!(p.ep.requests().is_empty());
}

/// RFC 9113 §8.1.1: a body matching content-length is delivered.
#[test]
fn content_length_matching_body_is_accepted_8_1_1() {
    let mut p = ready();
    p.headers(1)
        .request("POST", "/")
        .field("content-length", "6")
        .send();
    p.data(1, b"abc", false);
    p.data(1, b"def", true);
    p.assert_frames(&[]);
    assert_eq!(p.ep.read_body(sid(1)), (b"abcdef".to_vec(), ReadState::End));
}

/// RFC 9113 §8.1: trailers (a second HEADERS) without END_STREAM are a
/// stream error PROTOCOL_ERROR.
#[test]
fn trailers_without_end_stream_is_protocol_error_8_1() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.data(1, b"body", false);
    p.headers(1).field("x-trailer", "1").send();
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
    assert_next_request_ok(&mut p, 3);
}

/// RFC 9113 §8.1: trailers MUST NOT contain pseudo-header fields.
#[test]
fn trailers_with_pseudo_header_is_protocol_error_8_1() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.data(1, b"body", false);
    p.headers(1).field(":path", "/x").end_stream().send();
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
    assert_next_request_ok(&mut p, 3);
}

/// RFC 9113 §8.1: trailers are delivered after the body
/// (`ReadChunk::Trailers` before `End`).
#[test]
fn trailers_are_delivered_8_1() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.data(1, b"body", false);
    p.headers(1).field("x-checksum", "abc").end_stream().send();
    p.assert_frames(&[]);
    let mut conn_read = Vec::new();
    loop {
        match p.ep.conn.stream(sid(1)).unwrap().read() {
            ReadChunk::Data(d) => conn_read.push(format!("data {}", show(&d))),
            ReadChunk::Trailers(t) => conn_read.push(format!("trailers {}", render_fields(&t))),
            ReadChunk::End => {
                conn_read.push("end".into());
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(conn_read, ["data body", "trailers x-checksum: abc", "end"]);
}

// ---- §6.6 / §8.4 PUSH_PROMISE, §5.1.2 concurrency, resets ------------------------

/// RFC 9113 §8.4: a client cannot push: a server MUST treat PUSH_PROMISE as
/// a connection error PROTOCOL_ERROR.
#[test]
fn push_promise_to_server_is_protocol_error_8_4() {
    let mut p = ready();
    p.headers(1).request("GET", "/").send();
    p.send(frame::PushPromise::new(sid(1), sid(2), &b"\x82"[..], true));
    p.assert_goaway(1, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §5.1.2: a HEADERS frame that exceeds our advertised
/// SETTINGS_MAX_CONCURRENT_STREAMS is a stream error (REFUSED_STREAM, so the
/// client may retry); the open streams are unaffected.
#[test]
fn max_concurrent_streams_exceeded_is_refused_stream_5_1_2() {
    let mut cfg = no_timers();
    cfg.h2.max_concurrent_streams = 2;
    let mut p = ready_with(cfg);
    p.headers(1).request("POST", "/").send();
    p.headers(3).request("POST", "/").send();
    p.headers(5).request("POST", "/").send();
    p.assert_frames(&["RST_STREAM 5 REFUSED_STREAM"]);
    assert_eq!(p.ep.requests().len(), 2);
    // Once a stream ends, a new one fits again.
    p.ep.respond(sid(3), response(204, &[]), b"");
    p.drive();
    let _ = p.take();
    p.headers(7).request("GET", "/").end_stream().send();
    p.assert_frames(&[]);
    assert_eq!(p.ep.requests().len(), 3, "{:#?}", p.ep.log);
}

/// MadeYouReset (CVE-2025-8671) with RFC 9113 §5.1.2: a stream the peer
/// resets while the application is still answering it keeps its slot for
/// `reset_stream_hold` (its handler may still be running), so resets cannot
/// buy the peer more concurrent work than `max_concurrent_streams`; after the
/// hold, the slot is free again. A stream already answered frees its slot at
/// once.
#[test]
fn reset_stream_holds_its_slot_while_answered_made_you_reset_5_1_2() {
    let mut cfg = no_timers();
    cfg.h2.max_concurrent_streams = 1;
    cfg.h2.reset_stream_hold = Duration::from_secs(2);
    let mut p = ready_with(cfg);
    p.headers(1).request("POST", "/").send();
    p.rst(1, ErrorCode::CANCEL);
    let _ = p.take();
    p.headers(3).request("GET", "/").end_stream().send();
    p.assert_frames(&["RST_STREAM 3 REFUSED_STREAM"]);
    assert_eq!(
        p.ep.requests().len(),
        1,
        "the handler of stream 1 may still run"
    );
    p.advance(Duration::from_secs(2));
    p.headers(5).request("GET", "/").end_stream().send();
    p.assert_frames(&[]);
    assert_eq!(p.ep.requests().len(), 2, "{:#?}", p.ep.log);
    // Answered, then reset by the peer: nothing is held.
    p.ep.respond(sid(5), response(204, &[]), b"");
    p.drive();
    let _ = p.take();
    p.headers(7).request("GET", "/").end_stream().send();
    p.assert_frames(&[]);
    assert_eq!(p.ep.requests().len(), 3, "{:#?}", p.ep.log);
}

/// RFC 9113 §5.1.2: streams in half-closed (remote) state still count
/// towards the limit until they close.
#[test]
fn half_closed_streams_count_toward_limit_5_1_2() {
    let mut cfg = no_timers();
    cfg.h2.max_concurrent_streams = 1;
    let mut p = ready_with(cfg);
    p.headers(1).request("GET", "/").end_stream().send();
    p.headers(3).request("GET", "/").end_stream().send();
    p.assert_frames(&["RST_STREAM 3 REFUSED_STREAM"]);
    p.ep.respond(sid(1), response(204, &[]), b"");
    p.drive();
    let _ = p.take();
    p.headers(5).request("GET", "/").end_stream().send();
    p.assert_frames(&[]);
    assert_eq!(p.ep.requests().len(), 2);
}

/// CVE-2023-44487 (RFC 9113 §10.5): many streams opened and reset by the
/// client exhaust the reset budget: GOAWAY ENHANCE_YOUR_CALM.
#[test]
fn rapid_reset_is_enhance_your_calm_10_5() {
    let mut cfg = no_timers();
    cfg.h2.max_resets = 10;
    let mut p = ready_with(cfg);
    for i in 0..10u32 {
        let id = 1 + 2 * i;
        p.headers(id).request("GET", "/").end_stream().queue();
        p.queue(frame::RstStream::new(sid(id), ErrorCode::CANCEL));
    }
    p.drive();
    p.assert_frames(&[]);
    p.headers(21).request("GET", "/").end_stream().queue();
    p.queue(frame::RstStream::new(sid(21), ErrorCode::CANCEL));
    p.drive();
    p.assert_goaway(21, ErrorCode::ENHANCE_YOUR_CALM);
}

/// CVE-2023-44487: the reset budget refills over time, so a client that
/// cancels at a modest rate is never cut off (virtual clock).
#[test]
fn reset_budget_refills_10_5() {
    let mut cfg = no_timers();
    cfg.h2.max_resets = 5;
    let refill = cfg.h2.reset_refill;
    let mut p = ready_with(cfg);
    for i in 0..50u32 {
        let id = 1 + 2 * i;
        p.headers(id).request("GET", "/").end_stream().queue();
        p.queue(frame::RstStream::new(sid(id), ErrorCode::CANCEL));
        p.drive();
        p.advance(refill);
    }
    assert!(p.goaways().is_empty(), "{:#?}", p.rendered());
}

/// CVE-2025-8671 (MadeYouReset): streams the client makes the server reset
/// (here: DATA after END_STREAM) count against the same budget.
#[test]
fn made_you_reset_is_enhance_your_calm_10_5() {
    let mut cfg = no_timers();
    cfg.h2.max_resets = 5;
    let mut p = ready_with(cfg);
    for i in 0..6u32 {
        let id = 1 + 2 * i;
        p.headers(id)
            .request("POST", "/")
            .field("content-length", "1")
            .queue();
        p.queue(frame::Data::new(sid(id), &b"xx"[..], true));
    }
    p.drive();
    let g = p.goaways();
    assert_eq!(g.len(), 1, "{:#?}", p.rendered());
    assert_eq!(g[0].1, ErrorCode::ENHANCE_YOUR_CALM);
}

/// RFC 9113 §10.5: a flood of empty DATA frames is cut off with
/// ENHANCE_YOUR_CALM once over the budget.
#[test]
fn empty_data_flood_is_enhance_your_calm_10_5() {
    let mut cfg = no_timers();
    cfg.h2.max_empty_frames = 20;
    let mut p = ready_with(cfg);
    p.headers(1).request("POST", "/").send();
    for _ in 0..21 {
        p.queue(frame::Data::new(sid(1), &b""[..], false));
    }
    p.drive();
    p.assert_goaway(1, ErrorCode::ENHANCE_YOUR_CALM);
}

/// RFC 9113 §8.1: a request body and the response both complete; the stream
/// ends with `Finished` and nothing else is sent.
#[test]
fn request_response_lifecycle_5_1() {
    let mut p = ready();
    p.headers(1)
        .request("POST", "/echo")
        .field("content-length", "5")
        .send();
    p.data(1, b"hello", true);
    assert_eq!(p.ep.read_body(sid(1)), (b"hello".to_vec(), ReadState::End));
    p.ep.respond(sid(1), response(200, &[("content-length", "2")]), b"ok");
    p.drive();
    p.assert_frames(&[
        "HEADERS 1 {:status: 200, content-length: 2}",
        "DATA 1 es len=2",
    ]);
    assert_eq!(p.ep.count(|e| matches!(e, Event::Finished { .. })), 1);
    assert!(p.ep.conn.stream(sid(1)).is_none());
}

/// RFC 8441 §3, §4: with SETTINGS_ENABLE_CONNECT_PROTOCOL advertised, an
/// extended CONNECT (`:protocol`, with `:scheme` and `:path`) is accepted.
#[test]
fn extended_connect_accepted_when_enabled_rfc8441_4() {
    let mut cfg = no_timers();
    cfg.h2.enable_connect_protocol = true;
    let mut p = Peer::server(cfg);
    let theirs = p.handshake();
    assert_eq!(theirs.enable_connect_protocol(), Some(1), "{theirs:?}");
    p.headers(1)
        .request("CONNECT", "/chat")
        .field(":protocol", "websocket")
        .send();
    p.assert_frames(&[]);
    assert_eq!(p.ep.requests().len(), 1, "{:#?}", p.ep.log);
}

/// RFC 9113 §8.2.2, §8.3.2: a response is sent with `:status` first and
/// without connection-specific fields.
#[test]
fn response_fields_encoding_8_2_2() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    let head = response(
        200,
        &[
            ("Connection", "close"),
            ("Transfer-Encoding", "chunked"),
            ("Keep-Alive", "timeout=5"),
            ("X-Reply", "Yes"),
        ],
    );
    p.ep.respond(sid(1), head, b"");
    p.drive();
    p.assert_frames(&["HEADERS 1 es {:status: 200, x-reply: Yes}"]);
}

/// RFC 9113 §6.2, §6.10: a header block left incomplete (HEADERS without
/// END_HEADERS and no CONTINUATION) is not waited for forever: the core
/// ends the connection when the header read timeout passes.
#[test]
fn incomplete_header_block_times_out_6_10() {
    let mut cfg = no_timers();
    cfg.header_read_timeout = Some(Duration::from_secs(10));
    let mut p = ready_with(cfg);
    p.send(frame::Headers::new(sid(1), &b"\x82"[..], false, false));
    p.advance(Duration::from_secs(9));
    p.assert_frames(&[]);
    p.advance(Duration::from_secs(1));
    let g = p.goaways();
    assert_eq!(g.len(), 1, "{:#?}", p.rendered());
    assert!(p.closed().is_some());
}

/// RFC 9113 §4.2, §6.10: a header block larger than the peer's
/// SETTINGS_MAX_FRAME_SIZE is sent as HEADERS + CONTINUATION frames, each
/// within the limit (the harness checks sizes and decodes the block).
#[test]
fn large_response_head_is_split_into_continuations_6_10() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    let big = "|".repeat(40_000);
    p.ep.respond(sid(1), response(200, &[("x-big", &big)]), b"");
    p.drive();
    let got = p.take();
    assert_eq!(
        got.len(),
        3,
        "{:?}",
        got.iter()
            .map(|f| &f[..40.min(f.len())])
            .collect::<Vec<_>>()
    );
    assert!(got[0].starts_with("HEADERS 1 es (continued) {:status: 200, x-big: |||"));
    assert_eq!(got[1], "CONTINUATION 1");
    assert_eq!(got[2], "CONTINUATION 1 eh");
    let blocks = p.header_blocks(1);
    assert_eq!(blocks[0][1].1.len(), 40_000);
}

/// RFC 9113 §8.3.1: a request may carry `host` instead of `:authority`.
#[test]
fn host_without_authority_is_accepted_8_3_1() {
    let mut p = ready();
    p.headers(1)
        .field(":method", "GET")
        .field(":scheme", "https")
        .field(":path", "/h")
        .field("host", "example.org")
        .end_stream()
        .send();
    p.assert_frames(&[]);
    let reqs = p.ep.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].1.fields.get("host").map(|v| &v[..]),
        Some(&b"example.org"[..])
    );
}

/// RFC 9113 §8.1: a server whose response is complete before the request
/// asks the client to stop sending with RST_STREAM(NO_ERROR); the exchange
/// ends as `Finished`, not as an error, and the connection goes on.
#[test]
fn early_complete_response_sends_rst_no_error_8_1() {
    let mut p = ready();
    p.headers(1).request("POST", "/upload").send();
    p.ep.respond(sid(1), response(413, &[]), b"too big");
    p.drive();
    assert_eq!(
        p.resets(),
        vec![(1, ErrorCode::NO_ERROR)],
        "{:#?}",
        p.rendered()
    );
    assert!(
        p.ep.log.iter().any(|l| l.starts_with("Finished")),
        "{:#?}",
        p.ep.log
    );
    // Content the client sent before seeing the RST is ignored, not an error.
    p.data(1, b"late", false);
    p.drive();
    assert!(p.goaways().is_empty(), "{:#?}", p.rendered());
    p.assert_alive();
}

/// Half-close (cf. RFC 9112 §9.6 for HTTP/1): after the peer's EOF, a request
/// it had finished sending is still answered, one it had not is reset, and
/// the connection closes once the answered one is done.
#[test]
fn eof_keeps_complete_requests_answerable() {
    let mut p = ready();
    p.headers(1).request("GET", "/done").end_stream().send();
    p.headers(3).request("POST", "/cut").send();
    p.drive();
    p.eof();
    assert!(p.ep.saw(|e| matches!(e, Event::Reset { id, remote: true, .. } if id.get() == 3)));
    assert!(p.ep.closed().is_none(), "stream 1 is still to be answered");
    p.ep.respond(sid(1), response(200, &[]), b"late but fine");
    p.drive();
    assert_eq!(p.body(1), b"late but fine");
    assert_eq!(p.ep.closed(), Some(&CloseReason::Done));
}
