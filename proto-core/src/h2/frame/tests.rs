//! Codec-wide tests: `decode`'s buffering contract, split independence, and
//! encode→decode round trips for every frame type.
#![allow(clippy::unwrap_used)]

use bytes::BytesMut;

use super::test_util::raw;
use super::*;
use crate::error::ErrorCode;

/// One frame of every type, with the awkward options switched on.
fn one_of_each() -> Vec<Frame> {
    let dep = StreamDependency::new(StreamId::new(1), 200, true);
    vec![
        Settings::default()
            .with_max_concurrent_streams(100)
            .with_raw(0x77, 1)
            .into(),
        Settings::ack().into(),
        Headers::new(StreamId::new(1), &b"\x82\x86\x84"[..], false, false)
            .with_priority(dep)
            .with_padding(3)
            .into(),
        Continuation::new(StreamId::new(1), &b"\x41\x0aexample.com"[..], true).into(),
        Data::new(StreamId::new(1), &b"hello"[..], false).into(),
        Data::new(StreamId::new(1), &b"world"[..], true)
            .with_padding(4)
            .into(),
        Priority::new(StreamId::new(3), dep).into(),
        RstStream::new(StreamId::new(3), ErrorCode::CANCEL).into(),
        PushPromise::new(StreamId::new(1), StreamId::new(2), &b"\x82"[..], true)
            .with_padding(1)
            .into(),
        Ping::new(*b"pingpong").into(),
        Ping::pong(*b"pingpong").into(),
        WindowUpdate::new(CONNECTION_STREAM, 1 << 20).into(),
        WindowUpdate::new(StreamId::new(1), 1).into(),
        PriorityUpdate::new(StreamId::new(1), "u=2").into(),
        Unknown::new(0xbe, 0xef, StreamId::new(5), &b"?"[..]).into(),
        GoAway::new(StreamId::new(1), ErrorCode::NO_ERROR)
            .with_debug_data("bye")
            .into(),
    ]
}

fn encode_all(frames: &[Frame]) -> BytesMut {
    let mut buf = BytesMut::new();
    for f in frames {
        f.encode(&mut buf);
    }
    buf
}

#[test]
fn every_type_round_trips() {
    for f in one_of_each() {
        assert_eq!(test_util::round_trip(&f), f);
    }
}

#[test]
fn kinds_and_stream_ids() {
    let frames = one_of_each();
    let wire = encode_all(&frames);
    let mut buf = wire.clone();
    for f in &frames {
        let head = FrameHeader::parse(&buf).unwrap();
        assert_eq!((head.kind, head.stream_id), (f.kind(), f.stream_id()));
        assert_eq!(
            decode(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap().as_ref(),
            Some(f)
        );
    }
}

/// Incomplete is not invalid, and decoding does not depend on how the bytes
/// arrive: whole, byte by byte, or in uneven chunks.
#[test]
fn decoding_is_independent_of_input_split() {
    let frames = one_of_each();
    let wire = encode_all(&frames);
    for chunk in [wire.len(), 1, 2, 7, 9, 10, 13] {
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(f) = decode(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap() {
                got.push(f);
            }
        }
        assert!(buf.is_empty(), "chunk {chunk}: bytes left over");
        assert_eq!(got, frames, "chunk {chunk}");
    }
}

/// `Ok(None)` consumes nothing, at every prefix length.
#[test]
fn incomplete_consumes_nothing() {
    let wire = encode_all(&[Data::new(StreamId::new(1), &b"abc"[..], true).into()]);
    for n in 0..wire.len() {
        let mut buf = BytesMut::from(&wire[..n]);
        assert_eq!(decode(&mut buf, DEFAULT_MAX_FRAME_SIZE), Ok(None));
        assert_eq!(buf.len(), n);
    }
}

/// §4.2: a frame longer than our SETTINGS_MAX_FRAME_SIZE MUST be a
/// FRAME_SIZE_ERROR, reported from the header alone (no payload buffered).
#[test]
fn oversized_frame_rejected_from_header_alone_4_2() {
    let mut buf = BytesMut::new();
    FrameHeader::new(kind::DATA, 0, StreamId::new(1), 16_385).encode(&mut buf);
    let e = decode(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
    assert_eq!(e.code(), ErrorCode::FRAME_SIZE_ERROR);
    assert_eq!(e.stream_id(), None);
    // Exactly the limit is fine (and waits for the payload).
    let mut buf = BytesMut::new();
    FrameHeader::new(kind::DATA, 0, StreamId::new(1), 16_384).encode(&mut buf);
    assert_eq!(decode(&mut buf, DEFAULT_MAX_FRAME_SIZE), Ok(None));
    // A larger advertised limit admits it.
    let mut buf = raw(kind::DATA, 0, 1, &[0; 20_000]);
    assert!(matches!(decode(&mut buf, 20_000), Ok(Some(Frame::Data(_)))));
}

/// A stream error consumes the frame, so the next frame decodes.
#[test]
fn stream_error_consumes_frame_and_decoding_continues() {
    let mut buf = raw(kind::PRIORITY, 0, 3, b"\0\0\0\x01");
    buf.extend_from_slice(&raw(kind::PING, 0, 0, b"12345678"));
    let e = decode(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
    assert_eq!(e.stream_id(), Some(StreamId::new(3)));
    assert_eq!(
        decode(&mut buf, DEFAULT_MAX_FRAME_SIZE),
        Ok(Some(Ping::new(*b"12345678").into()))
    );
}

/// Zero-copy: DATA and field-block payloads share the receive buffer.
#[test]
fn payloads_are_slices_of_the_receive_buffer() {
    let mut buf = raw(kind::DATA, flags::PADDED, 1, b"\x01abc\0");
    let start = buf.as_ptr() as usize;
    let Ok(Some(Frame::Data(d))) = decode(&mut buf, DEFAULT_MAX_FRAME_SIZE) else {
        panic!()
    };
    // 9 header octets + the Pad Length octet.
    assert_eq!(d.data.as_ptr() as usize, start + 10);
}

/// Every error scope is as the RFC says, across all types, in one table.
#[test]
fn error_scope_table() {
    use ErrorCode as C;
    let conn = |code| (code, None);
    let stream = |code, id| (code, Some(StreamId::new(id)));
    // (type, flags, stream, payload, (code, stream to reset or None)).
    type Case = (u8, u8, u32, &'static [u8], (ErrorCode, Option<StreamId>));
    let cases: &[Case] = &[
        (kind::DATA, 0, 0, b"", conn(C::PROTOCOL_ERROR)),
        (
            kind::DATA,
            flags::PADDED,
            1,
            b"\x03ab",
            conn(C::PROTOCOL_ERROR),
        ),
        (kind::HEADERS, 0, 0, b"", conn(C::PROTOCOL_ERROR)),
        (
            kind::HEADERS,
            flags::PADDED,
            1,
            b"\x01",
            conn(C::PROTOCOL_ERROR),
        ),
        (
            kind::HEADERS,
            flags::PRIORITY,
            1,
            b"\0\0",
            conn(C::FRAME_SIZE_ERROR),
        ),
        (kind::PRIORITY, 0, 0, b"\0\0\0\0\0", conn(C::PROTOCOL_ERROR)),
        (
            kind::PRIORITY,
            0,
            1,
            b"\0\0\0\0",
            stream(C::FRAME_SIZE_ERROR, 1),
        ),
        (
            kind::PRIORITY,
            0,
            1,
            b"\0\0\0\x01\0",
            stream(C::PROTOCOL_ERROR, 1),
        ),
        (kind::RST_STREAM, 0, 0, b"\0\0\0\0", conn(C::PROTOCOL_ERROR)),
        (kind::RST_STREAM, 0, 1, b"\0\0\0", conn(C::FRAME_SIZE_ERROR)),
        (kind::SETTINGS, 0, 1, b"", conn(C::PROTOCOL_ERROR)),
        (
            kind::SETTINGS,
            flags::ACK,
            0,
            b"\0\0\0\0\0\0",
            conn(C::FRAME_SIZE_ERROR),
        ),
        (kind::SETTINGS, 0, 0, b"\0\0\0", conn(C::FRAME_SIZE_ERROR)),
        (
            kind::SETTINGS,
            0,
            0,
            b"\0\x04\x80\0\0\0",
            conn(C::FLOW_CONTROL_ERROR),
        ),
        (
            kind::PUSH_PROMISE,
            0,
            0,
            b"\0\0\0\x02",
            conn(C::PROTOCOL_ERROR),
        ),
        (kind::PUSH_PROMISE, 0, 1, b"\0\0", conn(C::FRAME_SIZE_ERROR)),
        (kind::PING, 0, 1, b"12345678", conn(C::PROTOCOL_ERROR)),
        (kind::PING, 0, 0, b"1234", conn(C::FRAME_SIZE_ERROR)),
        (
            kind::GOAWAY,
            0,
            1,
            b"\0\0\0\0\0\0\0\0",
            conn(C::PROTOCOL_ERROR),
        ),
        (kind::GOAWAY, 0, 0, b"\0\0\0\0", conn(C::FRAME_SIZE_ERROR)),
        (
            kind::WINDOW_UPDATE,
            0,
            1,
            b"\0\0\x01",
            conn(C::FRAME_SIZE_ERROR),
        ),
        (
            kind::WINDOW_UPDATE,
            0,
            1,
            b"\0\0\0\0",
            stream(C::PROTOCOL_ERROR, 1),
        ),
        (
            kind::WINDOW_UPDATE,
            0,
            0,
            b"\0\0\0\0",
            conn(C::PROTOCOL_ERROR),
        ),
        (kind::CONTINUATION, 0, 0, b"", conn(C::PROTOCOL_ERROR)),
        (
            kind::PRIORITY_UPDATE,
            0,
            1,
            b"\0\0\0\x01",
            conn(C::PROTOCOL_ERROR),
        ),
        (
            kind::PRIORITY_UPDATE,
            0,
            0,
            b"\0\0\x01",
            conn(C::FRAME_SIZE_ERROR),
        ),
        (
            kind::PRIORITY_UPDATE,
            0,
            0,
            b"\0\0\0\0",
            conn(C::PROTOCOL_ERROR),
        ),
    ];
    for &(k, fl, id, payload, want) in cases {
        let e = test_util::decode_raw(k, fl, id, payload).unwrap_err();
        assert_eq!(
            (e.code(), e.stream_id()),
            want,
            "type {k:#x} flags {fl:#x} stream {id}"
        );
    }
}

/// Arbitrary bytes never panic and never report an error for an incomplete
/// prefix of a valid frame sequence (a cheap stand-in for the fuzzer).
#[test]
fn garbage_does_not_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        let mut bytes = Vec::new();
        for _ in 0..64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push(seed as u8);
        }
        // Keep lengths small and types in the known range most of the time.
        bytes[0] = 0;
        bytes[1] = 0;
        bytes[3] %= 0x12;
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(f)) = decode(&mut buf, DEFAULT_MAX_FRAME_SIZE) {
            assert_eq!(test_util::round_trip(&f), f);
        }
    }
}
