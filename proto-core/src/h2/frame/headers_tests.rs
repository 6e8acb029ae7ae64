//! HEADERS unit tests (RFC 9113 §6.2, §4.2; RFC 7540 §5.3.1).
#![allow(clippy::unwrap_used)]

use super::*;
use crate::h2::frame::decode;
use crate::h2::frame::test_util::{decode_raw, round_trip};

const EH: u8 = flags::END_HEADERS;

#[test]
fn decodes_block_and_flags() {
    let f = decode_raw(kind::HEADERS, EH | flags::END_STREAM, 1, b"\x82\x84").unwrap();
    assert_eq!(
        f,
        Headers::new(StreamId::new(1), &b"\x82\x84"[..], true, true).into()
    );
}

/// §6.2: HEADERS on stream 0 MUST be a connection PROTOCOL_ERROR.
#[test]
fn headers_on_stream_0_is_connection_protocol_error_6_2() {
    let e = decode_raw(kind::HEADERS, EH, 0, b"\x82").unwrap_err();
    assert_eq!(e, FrameError::protocol("HEADERS on stream 0"));
}

/// §6.2: padding and priority fields are stripped from the fragment.
#[test]
fn padding_and_priority_stripped_6_2() {
    let payload = b"\x01\x80\0\0\x03\x0f\x82\0";
    let f = decode_raw(
        kind::HEADERS,
        EH | flags::PADDED | flags::PRIORITY,
        5,
        payload,
    );
    let Frame::Headers(h) = f.unwrap() else {
        panic!()
    };
    assert_eq!(&h.block[..], b"\x82");
    assert_eq!(h.pad_len, Some(1));
    assert_eq!(
        h.priority,
        Some(StreamDependency::new(StreamId::new(3), 15, true))
    );
    assert_eq!(h.self_dependency_error(), None);
}

/// §6.2: padding that exceeds the size remaining for the field block
/// fragment MUST be a connection PROTOCOL_ERROR; the priority fields count
/// as not remaining.
#[test]
fn padding_exceeding_fragment_is_connection_protocol_error_6_2() {
    let e = decode_raw(kind::HEADERS, EH | flags::PADDED, 1, b"\x01").unwrap_err();
    assert_eq!(e.code(), ErrorCode::PROTOCOL_ERROR);
    assert_eq!(e.stream_id(), None);
    let payload = b"\x01\0\0\0\x03\x0f";
    let e = decode_raw(
        kind::HEADERS,
        EH | flags::PADDED | flags::PRIORITY,
        1,
        payload,
    );
    assert_eq!(e.unwrap_err().code(), ErrorCode::PROTOCOL_ERROR);
}

/// §4.2: PRIORITY flag with fewer than 5 octets is a FRAME_SIZE_ERROR, and
/// a connection error since HEADERS carries a field block.
#[test]
fn priority_flag_too_short_is_connection_frame_size_error_4_2() {
    let e = decode_raw(kind::HEADERS, EH | flags::PRIORITY, 1, b"\0\0\0").unwrap_err();
    assert_eq!(e.code(), ErrorCode::FRAME_SIZE_ERROR);
    assert_eq!(e.stream_id(), None);
}

/// RFC 7540 §5.3.1: a stream that depends on itself is a stream
/// PROTOCOL_ERROR, applied by the connection after HPACK (§4.3).
#[test]
fn self_dependency_decodes_then_is_stream_protocol_error_5_3_1() {
    let f = decode_raw(
        kind::HEADERS,
        EH | flags::PRIORITY,
        3,
        b"\0\0\0\x03\x10\x82",
    );
    let Frame::Headers(h) = f.unwrap() else {
        panic!()
    };
    assert_eq!(&h.block[..], b"\x82");
    let e = h.self_dependency_error().unwrap();
    assert_eq!(e.stream_id(), Some(StreamId::new(3)));
    assert_eq!(e.code(), ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn encode_split_uses_continuations_6_10() {
    let block: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
    let h = Headers::new(StreamId::new(1), block.clone(), true, true).with_padding(3);
    let mut buf = BytesMut::new();
    h.encode_split(16_384, &mut buf);
    let mut frames = Vec::new();
    while let Some(f) = decode(&mut buf, 16_384).unwrap() {
        frames.push(f);
    }
    assert!(buf.is_empty());
    assert_eq!(frames.len(), 3);
    let mut got = Vec::new();
    let Frame::Headers(first) = &frames[0] else {
        panic!()
    };
    assert!(!first.end_headers && first.end_stream);
    got.extend_from_slice(&first.block);
    for (i, f) in frames[1..].iter().enumerate() {
        let Frame::Continuation(c) = f else { panic!() };
        assert_eq!(c.end_headers, i == 1);
        got.extend_from_slice(&c.block);
    }
    assert_eq!(got, block);
}

#[test]
fn encode_split_small_block_is_one_frame() {
    let h = Headers::new(StreamId::new(1), &b"\x82"[..], false, true);
    let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
    h.encode(&mut a);
    h.encode_split(16_384, &mut b);
    assert_eq!(a, b);
}

#[test]
fn round_trips() {
    let dep = StreamDependency::new(StreamId::new(0x7fff_ffff), 255, true);
    for h in [
        Headers::new(StreamId::new(1), Bytes::new(), false, false),
        Headers::new(StreamId::new(1), &b"\x82"[..], true, true),
        Headers::new(StreamId::new(3), &b"abc"[..], false, true).with_priority(dep),
        Headers::new(StreamId::new(3), &b"abc"[..], true, false).with_padding(7),
        Headers::new(StreamId::new(3), &b"a"[..], true, true)
            .with_padding(0)
            .with_priority(dep),
    ] {
        assert_eq!(round_trip(&h.clone().into()), Frame::Headers(h));
    }
}
