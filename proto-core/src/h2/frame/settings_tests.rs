//! SETTINGS unit tests (RFC 9113 §6.5, §6.5.2; RFC 8441 §3; RFC 9218 §2.1).
#![allow(clippy::unwrap_used)]

use super::*;
use crate::h2::frame::test_util::{decode_raw, round_trip};

fn entries(list: &[(u16, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(id, value) in list {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
    out
}

fn load(list: &[(u16, u32)]) -> Result<Settings, FrameError> {
    match decode_raw(kind::SETTINGS, 0, 0, &entries(list))? {
        Frame::Settings(s) => Ok(s),
        other => panic!("not SETTINGS: {other:?}"),
    }
}

#[test]
fn decodes_known_unknown_and_repeated_in_order_6_5_1() {
    let list = [
        (0x3, 100),
        (0xff, 7),
        (0x4, 1),
        (0x1, 4096),
        (0x4, 65_535),
        (0x6, 8192),
    ];
    let s = load(&list).unwrap();
    assert_eq!(s.entries().collect::<Vec<_>>(), list);
    assert_eq!(s.entry_count(), 6);
    assert_eq!(s.max_concurrent_streams(), Some(100));
    // §6.5.3: processed in order, so the last value wins.
    assert_eq!(s.initial_window_size(), Some(65_535));
    assert_eq!(s.header_table_size(), Some(4096));
    assert_eq!(s.max_header_list_size(), Some(8192));
    assert_eq!(s.enable_push(), None);
    assert!(!s.is_ack());
}

#[test]
fn empty_settings_is_valid_6_5() {
    let s = load(&[]).unwrap();
    assert_eq!(s, Settings::default());
    assert_eq!(s.entry_count(), 0);
}

/// §6.5.2: a setting with an unknown identifier MUST be ignored.
#[test]
fn unknown_identifier_ignored_6_5_2() {
    let s = load(&[(0x7, u32::MAX), (0xabcd, 1), (0x0, 9)]).unwrap();
    assert_eq!(s.entry_count(), 3);
    assert_eq!(s.header_table_size(), None);
}

/// §6.5: SETTINGS on a stream other than 0 MUST be a connection PROTOCOL_ERROR.
#[test]
fn settings_on_stream_is_connection_protocol_error_6_5() {
    let e = decode_raw(kind::SETTINGS, 0, 1, b"").unwrap_err();
    assert_eq!(e, FrameError::protocol("SETTINGS on a stream other than 0"));
}

/// §6.5: ACK with a non-empty payload MUST be a connection FRAME_SIZE_ERROR.
#[test]
fn ack_with_payload_is_connection_frame_size_error_6_5() {
    let e = decode_raw(kind::SETTINGS, flags::ACK, 0, &entries(&[(1, 0)])).unwrap_err();
    assert_eq!(e, FrameError::frame_size("SETTINGS ACK with a payload"));
    let ack = decode_raw(kind::SETTINGS, flags::ACK, 0, b"").unwrap();
    assert_eq!(ack, Settings::ack().into());
}

/// §6.5: a length not a multiple of 6 MUST be a connection FRAME_SIZE_ERROR.
#[test]
fn length_not_multiple_of_6_is_connection_frame_size_error_6_5() {
    for len in [1, 5, 7, 11] {
        let e = decode_raw(kind::SETTINGS, 0, 0, &vec![0; len]).unwrap_err();
        assert_eq!(
            e,
            FrameError::frame_size("SETTINGS length not a multiple of 6")
        );
    }
}

/// §6.5.2: SETTINGS_ENABLE_PUSH other than 0 or 1 MUST be a connection
/// PROTOCOL_ERROR.
#[test]
fn enable_push_not_boolean_is_connection_protocol_error_6_5_2() {
    assert_eq!(load(&[(0x2, 0)]).unwrap().enable_push(), Some(0));
    assert_eq!(load(&[(0x2, 1)]).unwrap().enable_push(), Some(1));
    let e = load(&[(0x2, 2)]).unwrap_err();
    assert_eq!(e, FrameError::protocol("SETTINGS_ENABLE_PUSH not 0 or 1"));
}

/// §6.5.2: SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 MUST be a connection
/// FLOW_CONTROL_ERROR.
#[test]
fn initial_window_too_large_is_connection_flow_control_error_6_5_2() {
    assert_eq!(
        load(&[(0x4, 0x7fff_ffff)]).unwrap().initial_window_size(),
        Some(0x7fff_ffff)
    );
    let e = load(&[(0x4, 0x8000_0000)]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::FLOW_CONTROL_ERROR);
    assert_eq!(e.stream_id(), None);
}

/// §6.5.2: SETTINGS_MAX_FRAME_SIZE outside 2^14..=2^24-1 MUST be a connection
/// PROTOCOL_ERROR.
#[test]
fn max_frame_size_out_of_range_is_connection_protocol_error_6_5_2() {
    for ok in [16_384, 16_777_215] {
        assert_eq!(load(&[(0x5, ok)]).unwrap().max_frame_size(), Some(ok));
    }
    for bad in [0, 16_383, 16_777_216, u32::MAX] {
        let e = load(&[(0x5, bad)]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::PROTOCOL_ERROR, "{bad}");
        assert_eq!(e.stream_id(), None);
    }
}

/// RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL is 0 or 1; anything else is
/// treated as a connection PROTOCOL_ERROR.
#[test]
fn enable_connect_protocol_not_boolean_is_connection_protocol_error_8441_3() {
    assert_eq!(
        load(&[(0x8, 1)]).unwrap().enable_connect_protocol(),
        Some(1)
    );
    let e = load(&[(0x8, 2)]).unwrap_err();
    assert_eq!(
        e,
        FrameError::protocol("SETTINGS_ENABLE_CONNECT_PROTOCOL not 0 or 1")
    );
}

/// RFC 9218 §2.1: SETTINGS_NO_RFC7540_PRIORITIES other than 0 or 1 MUST be a
/// connection PROTOCOL_ERROR.
#[test]
fn no_rfc7540_priorities_not_boolean_is_connection_protocol_error_9218_2_1() {
    assert_eq!(load(&[(0x9, 1)]).unwrap().no_rfc7540_priorities(), Some(1));
    let e = load(&[(0x9, 5)]).unwrap_err();
    assert_eq!(
        e,
        FrameError::protocol("SETTINGS_NO_RFC7540_PRIORITIES not 0 or 1")
    );
}

/// A bad value after good ones still fails the whole frame.
#[test]
fn late_bad_value_fails_frame_6_5_2() {
    let e = load(&[(0x3, 10), (0xee, 1), (0x2, 9)]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn builders_encode_in_order_unvalidated() {
    let s = Settings::default()
        .with_max_concurrent_streams(100)
        .with_initial_window_size(1 << 20)
        .with_enable_push(0)
        .with_raw(0xfeed, 1)
        .with_max_frame_size(16_384)
        .with_header_table_size(0)
        .with_max_header_list_size(16 << 10)
        .with_enable_connect_protocol(1)
        .with_no_rfc7540_priorities(1);
    assert_eq!(s.entry_count(), 9);
    assert_eq!(s.entries().nth(3), Some((0xfeed, 1)));
    assert_eq!(round_trip(&s.clone().into()), Frame::Settings(s));
    // Builders do not validate, so a test peer can send this; decoding rejects it.
    let bad = Settings::default().with_enable_push(2);
    let mut buf = BytesMut::new();
    bad.encode(&mut buf);
    let e = crate::h2::frame::decode(&mut buf, super::super::DEFAULT_MAX_FRAME_SIZE);
    assert_eq!(e.unwrap_err().code(), ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn round_trips() {
    for s in [
        Settings::default(),
        Settings::ack(),
        Settings::default().with_raw(0x9999, 0),
    ] {
        assert_eq!(round_trip(&s.clone().into()), Frame::Settings(s));
    }
}
