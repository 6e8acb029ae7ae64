//! Header blocks encoded straight into the transmit buffer are framed as
//! `Headers::encode_split` frames them (RFC 9113 §4.2, §6.2, §6.10).
#![allow(clippy::unwrap_used, clippy::panic)]

use bytes::BytesMut;

use crate::h2::frame::{self, Frame, Headers, Settings};
use crate::hpack::Encoder;
use crate::{Config, Connection, Event, Instant, Protocol, ResponseHead, Side, StreamId};

/// The request every test sends: `GET /` on `a`, nothing indexed.
const GET: [(&[u8], &[u8], bool); 4] = [
    (b":method", b"GET", false),
    (b":scheme", b"http", false),
    (b":authority", b"a", false),
    (b":path", b"/", false),
];

/// An HTTP/2 server connection, and a client's first bytes for it: the
/// preface, SETTINGS and the ACK of the server's.
fn server_and_preface() -> (Connection, BytesMut) {
    let conn = Connection::with_protocol(
        Side::Server,
        Protocol::Http2,
        Config::default(),
        Instant::ZERO,
    );
    let mut input = BytesMut::from(&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..]);
    Frame::from(Settings::default()).encode(&mut input);
    Frame::from(Settings::ack()).encode(&mut input);
    (conn, input)
}

/// The server's bytes for a response to a GET on stream 1 whose one field
/// has a value of `len` bytes.
fn response_bytes(len: usize, end_stream: bool) -> BytesMut {
    let (mut conn, mut input) = server_and_preface();
    let mut block = BytesMut::new();
    Encoder::new().encode(GET, &mut block);
    Frame::from(Headers::new(StreamId::new(1), block.freeze(), true, true)).encode(&mut input);
    conn.recv(Instant::ZERO, &input);
    let drain = |conn: &mut Connection| {
        let out: Vec<u8> = conn
            .poll_transmit()
            .iter()
            .flat_map(|b| b.to_vec())
            .collect();
        conn.transmit_complete(out.len());
        out
    };
    drain(&mut conn);
    let mut id = None;
    while let Some(ev) = conn.poll_event() {
        if let Event::Request { id: i, .. } = ev {
            id = Some(i);
        }
    }
    let mut head = ResponseHead::new(200);
    // Digits: Huffman-coding makes them shorter, so lengths vary finely.
    head.fields.push("x-big", "7".repeat(len));
    conn.send_response(id.unwrap(), head, end_stream).unwrap();
    BytesMut::from(&drain(&mut conn)[..])
}

#[test]
fn rfc9113_6_10_blocks_around_the_frame_size_are_framed_as_encode_split_does() {
    let max = frame::DEFAULT_MAX_FRAME_SIZE;
    let (mut one, mut split) = (0, 0);
    for len in (0..40).chain(21_780..21_900).chain(31_000..31_100) {
        for end_stream in [true, false] {
            let out = response_bytes(len, end_stream);
            let mut rest = out.clone();
            let mut block = BytesMut::new();
            let mut frames = 0;
            while let Some(f) = frame::decode(&mut rest, max).unwrap() {
                match f {
                    Frame::Headers(h) => block.extend_from_slice(&h.block),
                    Frame::Continuation(c) => block.extend_from_slice(&c.block),
                    _ => break,
                }
                frames += 1;
            }
            let used = out.len() - rest.len();
            let mut again = BytesMut::new();
            Headers::new(StreamId::new(1), block.clone().freeze(), end_stream, true)
                .encode_split(max, &mut again);
            // The frames before any DATA / RST_STREAM that follow.
            let framed = &out[..again.len()];
            assert_eq!(framed, &again[..], "value of {len}");
            assert!(used >= again.len(), "value of {len}");
            if frames > 1 {
                split += 1;
            } else if len >= 21_780 {
                one += 1;
            }
        }
    }
    // Some of the values around 21,830 digits fill a frame, some need two.
    assert!(one > 10 && split > 200, "one frame {one}, split {split}");
}

/// A run of responses on one connection, mostly repeats, some with names
/// `outgoing` lowercases or drops: every block decodes to exactly the list
/// `response_fields` makes for its head, whichever way it was produced
/// (copied, encoded from the head, or through the list).
#[test]
fn rfc9113_8_2_repeated_and_rewritten_response_heads_decode_as_sent() {
    let heads: [&[(&str, &str)]; 5] = [
        &[("content-type", "text/plain"), ("content-length", "5")],
        &[("Content-Type", "text/plain"), ("content-length", "5")],
        &[("content-type", "text/plain"), ("connection", "close")],
        &[("content-type", "text/plain"), ("te", "Trailers")],
        &[("content-type", "text/html"), ("content-length", "5")],
    ];
    let (mut conn, mut input) = server_and_preface();
    let mut client = Encoder::new();
    let mut decoder = crate::hpack::Decoder::new(4096);
    let mut seed = 0x9e37_79b9_u64;
    for n in 0..300u32 {
        let mut block = BytesMut::new();
        client.encode(GET, &mut block);
        let sid = StreamId::new(2 * n + 1);
        Frame::from(Headers::new(sid, block.freeze(), true, true)).encode(&mut input);
        conn.recv(Instant::ZERO, &input);
        input.clear();
        let mut out: BytesMut = conn
            .poll_transmit()
            .iter()
            .flat_map(|b| b.to_vec())
            .collect();
        conn.transmit_complete(out.len());
        out.clear();
        while conn.poll_event().is_some() {}
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let which = if seed % 3 == 0 {
            (seed / 3 % 5) as usize
        } else {
            0
        };
        let mut head = ResponseHead::new(200);
        for &(name, value) in heads[which] {
            head.fields.push(name, value);
        }
        let mut want = Vec::new();
        crate::h2::headers::response_fields(&head, &mut want);
        conn.send_response(sid, head, true).unwrap();
        out.extend(conn.poll_transmit().iter().flat_map(|b| b.to_vec()));
        conn.transmit_complete(out.len());
        let mut got = Vec::new();
        while let Some(f) = frame::decode(&mut out, frame::DEFAULT_MAX_FRAME_SIZE).unwrap() {
            if let Frame::Headers(h) = f {
                assert_eq!(h.stream_id, sid);
                decoder
                    .decode(&h.block, usize::MAX, |f| got.push((f.name, f.value)))
                    .unwrap();
            }
        }
        assert_eq!(got, want, "response {n} ({which})");
    }
}

/// DATA frames gather up to four queued pieces and at most the frame size
/// (RFC 9113 §4.2, §6.1): five small writes and one larger than a frame go
/// out as 4 pieces, then the fifth plus the start of the large one (a full
/// frame), then its rest with END_STREAM; the content arrives as written.
#[test]
fn rfc9113_6_1_data_frames_gather_pieces_up_to_the_frame_size() {
    let (mut conn, mut input) = server_and_preface();
    let mut block = BytesMut::new();
    Encoder::new().encode(GET, &mut block);
    Frame::from(Headers::new(StreamId::new(1), block.freeze(), true, true)).encode(&mut input);
    conn.recv(Instant::ZERO, &input);
    let mut id = None;
    while let Some(ev) = conn.poll_event() {
        if let Event::Request { id: i, .. } = ev {
            id = Some(i);
        }
    }
    let id = id.unwrap();
    conn.send_response(id, ResponseHead::new(200), false)
        .unwrap();
    let mut written = Vec::new();
    let pieces = ["aaaaa", "bbbbb", "ccccc", "ddddd", "eeeee"].map(|p| p.as_bytes().to_vec());
    for piece in pieces.into_iter().chain([vec![b'z'; 20_000]]) {
        written.extend_from_slice(&piece);
        let n = piece.len();
        let mut data = bytes::Bytes::from(piece);
        assert_eq!(conn.stream(id).unwrap().write(&mut data).unwrap(), n);
    }
    conn.stream(id).unwrap().finish(None).unwrap();
    let mut out: BytesMut = conn
        .poll_transmit()
        .iter()
        .flat_map(|b| b.to_vec())
        .collect::<Vec<u8>>()[..]
        .into();
    let max = frame::DEFAULT_MAX_FRAME_SIZE;
    let (mut lens, mut content, mut ended) = (Vec::new(), Vec::new(), false);
    while let Some(f) = frame::decode(&mut out, max).unwrap() {
        if let Frame::Data(d) = f {
            assert!(!ended, "DATA after END_STREAM");
            lens.push(d.data.len());
            content.extend_from_slice(&d.data);
            ended = d.end_stream;
        }
    }
    assert_eq!(lens, [20, 16_384, 20_025 - 20 - 16_384]);
    assert!(ended);
    assert_eq!(content, written);
}
