#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};

use super::*;
use crate::config::Config;
use crate::error::PeerError;
use crate::head::Fields;

/// Everything a decoder produced from one input.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    data: Vec<u8>,
    /// `Ok(Some(trailers))` at the end, `Ok(None)` if more input is needed.
    end: Result<Option<Fields>, PeerError>,
    /// Input left after the body (the next message).
    rest: Vec<u8>,
}

/// Feeds `input` in pieces of `step` bytes (all at once if 0), decoding
/// after each with `max`.
fn run(input: &[u8], step: usize, max: usize, cfg: &Config) -> Outcome {
    let mut dec = ChunkedDecoder::new();
    let mut buf = BytesMut::new();
    let mut data = Vec::new();
    let step = if step == 0 { input.len().max(1) } else { step };
    let mut fed = 0;
    while fed < input.len() {
        let piece = &input[fed..input.len().min(fed + step)];
        fed += piece.len();
        buf.extend_from_slice(piece);
        loop {
            match dec.decode(&mut buf, max, cfg) {
                Ok(Decoded::Data(d)) => {
                    assert!(!d.is_empty() && d.len() <= max);
                    data.extend_from_slice(&d);
                }
                Ok(Decoded::NeedMore) => break,
                Ok(Decoded::End(t)) => {
                    // What was not fed yet follows the body too.
                    buf.extend_from_slice(&input[fed..]);
                    return Outcome {
                        data,
                        end: Ok(Some(t)),
                        rest: buf.to_vec(),
                    };
                }
                Err(e) => {
                    return Outcome {
                        data,
                        end: Err(e),
                        rest: Vec::new(),
                    };
                }
            }
        }
    }
    Outcome {
        data,
        end: Ok(None),
        rest: buf.to_vec(),
    }
}

fn decode(input: &[u8]) -> Outcome {
    run(input, 0, usize::MAX, &Config::default())
}

fn ok(data: &[u8], rest: &[u8]) -> Outcome {
    Outcome {
        data: data.to_vec(),
        end: Ok(Some(Fields::new())),
        rest: rest.to_vec(),
    }
}

fn is_bad_chunk(input: &[u8], cfg: &Config) -> bool {
    matches!(
        run(input, 0, usize::MAX, cfg).end,
        Err(PeerError::BadChunk(_))
    )
}

fn bad(input: &[u8]) -> bool {
    is_bad_chunk(input, &Config::default())
}

/// RFC 9112 §7.1: chunks, the last chunk, an empty trailer section.
#[test]
fn rfc9112_7_1_decodes_chunks() {
    let input = b"5\r\nhello\r\n6\r\n world\r\nA\r\n0123456789\r\n0\r\n\r\nGET /";
    assert_eq!(decode(input), ok(b"hello world0123456789", b"GET /"));
    // Upper- and lower-case hex, and leading zeros.
    assert_eq!(
        decode(b"0a\r\n0123456789\r\n00\r\n\r\n"),
        ok(b"0123456789", b"")
    );
    assert_eq!(decode(b"0\r\n\r\n"), ok(b"", b""));
}

#[test]
fn data_is_zero_copy_and_at_most_max() {
    let mut buf = BytesMut::from(&b"5\r\nhello\r\n0\r\n\r\n"[..]);
    let range = buf.as_ptr_range();
    let mut dec = ChunkedDecoder::new();
    let cfg = Config::default();
    let Ok(Decoded::Data(d)) = dec.decode(&mut buf, 2, &cfg) else {
        panic!()
    };
    assert_eq!(&d[..], b"he");
    assert!(range.contains(&d.as_ptr()));
    assert_eq!(
        dec.decode(&mut buf, 2, &cfg),
        Ok(Decoded::Data(Bytes::from_static(b"ll")))
    );
    assert_eq!(
        dec.decode(&mut buf, 2, &cfg),
        Ok(Decoded::Data(Bytes::from_static(b"o")))
    );
    assert_eq!(
        dec.decode(&mut buf, 2, &cfg),
        Ok(Decoded::End(Fields::new()))
    );
    assert!(buf.is_empty());
    // Spurious calls after the end are harmless.
    assert_eq!(
        dec.decode(&mut buf, 2, &cfg),
        Ok(Decoded::End(Fields::new()))
    );
}

/// "Incomplete is not invalid": every prefix of a valid body needs more.
#[test]
fn every_prefix_needs_more() {
    let input = b"5;a=\"b\"\r\nhello\r\n0;x\r\nT: v\r\n\r\n";
    for n in 0..input.len() {
        let out = run(&input[..n], 0, usize::MAX, &Config::default());
        assert_eq!(out.end, Ok(None), "prefix {n}");
    }
}

/// The decoder is resumable: whole or one byte at a time, with any `max`,
/// the data, trailers, errors and leftover input are the same.
#[test]
fn same_result_however_the_input_is_split() {
    let bodies: &[&[u8]] = &[
        b"5\r\nhello\r\n0\r\n\r\nnext",
        b"3;name=value;q=\"a\\\"b;c\"\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n",
        b"10 ; ext = tok\r\n0123456789abcdef\r\n0\r\n\r\n",
        b"1\r\na\r\n1\r\nb\r\n0\r\nT: x\r\n",
        b"ffffffffffffffff\r\nabc",
        b"5\r\nhelloXX\r\n",
        b"5 \r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"5\nhello\n0\n\n",
        b"5\r\nhello\r\n0\r\nT: a\r\n b\r\n\r\n",
        b"5\r\nhello\r\n0\r\nT: a\rb\r\n\r\n",
        b"5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n",
        b"12345678901234567\r\n",
        b"",
    ];
    let strict = Config::default();
    let lenient = Config {
        allow_bare_lf: true,
        ..Config::default()
    };
    for cfg in [&strict, &lenient] {
        for body in bodies {
            let whole = run(body, 0, usize::MAX, cfg);
            for (step, max) in [(1, usize::MAX), (1, 1), (2, 3), (7, 2)] {
                assert_eq!(
                    run(body, step, max, cfg),
                    whole,
                    "{:?} step {step} max {max}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }
}

/// RFC 9112 §7.1: chunk-size = 1*HEXDIG, nothing else before the CRLF or
/// the extensions.
#[test]
fn rfc9112_7_1_chunk_size_must_be_hex_digits() {
    for input in [
        &b"\r\nhello\r\n0\r\n\r\n"[..],
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"5 \r\nhello\r\n0\r\n\r\n",
        b"5\t\r\nhello\r\n0\r\n\r\n",
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"5g\r\nhello\r\n0\r\n\r\n",
        b";a\r\nhello\r\n0\r\n\r\n",
    ] {
        assert!(bad(input), "{:?}", String::from_utf8_lossy(input));
    }
}

/// RFC 9112 §7.1: a size that does not fit in 64 bits (or uses more than 16
/// digits, even with leading zeros) is refused, never wrapped.
#[test]
fn rfc9112_7_1_chunk_size_overflow() {
    assert!(bad(b"10000000000000000\r\n"));
    assert!(bad(b"00000000000000001\r\n"));
    let out = run(b"ffffffffffffffff\r\nab", 0, usize::MAX, &Config::default());
    assert_eq!((out.data, out.end), (b"ab".to_vec(), Ok(None)));
}

/// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ),
/// value = token / quoted-string. Extensions are validated and ignored.
#[test]
fn rfc9112_7_1_1_extensions() {
    for input in [
        &b"5;a\r\nhello\r\n0\r\n\r\n"[..],
        b"5;a=b\r\nhello\r\n0\r\n\r\n",
        b"5 ; a = b ; c\r\nhello\r\n0\r\n\r\n",
        b"5;a=\"quoted; \\\" ok\"\r\nhello\r\n0;last=1\r\n\r\n",
        b"5;a=\"\";b\r\nhello\r\n0\r\n\r\n",
    ] {
        assert_eq!(
            decode(input),
            ok(b"hello", b""),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    for input in [
        &b"5;\r\nhello\r\n0\r\n\r\n"[..],
        b"5;=b\r\nhello\r\n0\r\n\r\n",
        b"5;a=\r\nhello\r\n0\r\n\r\n",
        b"5;a \r\nhello\r\n0\r\n\r\n",
        b"5;a=b \r\nhello\r\n0\r\n\r\n",
        b"5;a=\"b\" \r\nhello\r\n0\r\n\r\n",
        b"5;a=\"b\r\nhello\r\n0\r\n\r\n",
        b"5;a=\"b\"c\r\nhello\r\n0\r\n\r\n",
        b"5;a=b,c\r\nhello\r\n0\r\n\r\n",
        b"5;a b\r\nhello\r\n0\r\n\r\n",
    ] {
        assert!(bad(input), "{:?}", String::from_utf8_lossy(input));
    }
}

/// RFC 9110 §5.5 / RFC 9112 §7.1.1: no NUL or other CTL in extensions.
#[test]
fn rfc9112_7_1_1_control_characters_in_extensions() {
    for input in [
        &b"5;a\0\r\nhello\r\n0\r\n\r\n"[..],
        b"5;a=b\x01\r\nhello\r\n0\r\n\r\n",
        b"5;a=\"\0\"\r\nhello\r\n0\r\n\r\n",
        b"5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n",
        b"5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n",
    ] {
        assert!(bad(input), "{:?}", String::from_utf8_lossy(input));
    }
}

/// RFC 9112 §2.2: bare CR is invalid; bare LF only when allowed.
#[test]
fn rfc9112_2_2_line_endings_in_chunked() {
    let strict = Config::default();
    let lenient = Config {
        allow_bare_lf: true,
        ..Config::default()
    };
    for input in [
        &b"5\nhello\r\n0\r\n\r\n"[..],
        b"5;a=b\nhello\r\n0\r\n\r\n",
        b"5\r\nhello\r\n0\n\r\n",
    ] {
        assert!(
            is_bad_chunk(input, &strict),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(run(b"5\nhello\n0\n\n", 0, 9, &lenient), ok(b"hello", b""));
    for input in [&b"5\rhello\r\n0\r\n\r\n"[..], b"5;a\r\rhello\r\n0\r\n\r\n"] {
        assert!(
            is_bad_chunk(input, &lenient),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

/// RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF;
/// the data must be followed by exactly CRLF.
#[test]
fn rfc9112_7_1_crlf_after_chunk_data() {
    assert!(bad(b"5\r\nhelloX\r\n0\r\n\r\n"));
    assert!(bad(b"5\r\nhello\rX0\r\n\r\n"));
    assert!(bad(b"5\r\nhello\n0\r\n\r\n"));
    assert!(bad(b"5\r\nhello0\r\n\r\n"));
    // The data before the error was still delivered.
    assert_eq!(decode(b"5\r\nhelloX").data, b"hello");
}

/// A chunk-size line (extensions included) over `max_chunk_line` is refused.
#[test]
fn chunk_size_line_limit() {
    let cfg = Config {
        max_chunk_line: 8,
        ..Config::default()
    };
    assert_eq!(
        run(b"5;abc=de\r\nhello\r\n0\r\n\r\n", 0, 99, &cfg),
        ok(b"hello", b"")
    );
    assert_eq!(
        run(b"5;abc=def\r\nhello\r\n0\r\n\r\n", 0, 99, &cfg).end,
        Err(PeerError::BadChunk("chunk-size line too long"))
    );
    // Refused without waiting for the line to end.
    assert_eq!(
        run(b"5;abcdefghij", 0, 99, &cfg).end,
        Err(PeerError::BadChunk("chunk-size line too long"))
    );
}

/// RFC 9112 §7.1.2: the trailer section is field lines, parsed like a head.
#[test]
fn rfc9112_7_1_2_trailers() {
    let out = decode(b"3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum:  42 \r\n\r\nrest");
    let trailers = Fields::new().with("Expires", "never").with("X-Sum", "42");
    assert_eq!(
        out,
        Outcome {
            data: b"abc".to_vec(),
            end: Ok(Some(trailers)),
            rest: b"rest".to_vec()
        }
    );
    // Same strictness as heads.
    assert!(bad(b"0\r\nX : y\r\n\r\n"));
    assert!(bad(b"0\r\nX: y\r\n z\r\n\r\n"));
    assert!(bad(b"0\r\nX: y\0\r\n\r\n"));
    assert!(bad(b"0\r\nX: y\n\r\n"));
    assert!(bad(b"0\r\n\n"));
    let lenient = Config {
        allow_bare_lf: true,
        ..Config::default()
    };
    assert_eq!(
        run(b"0\nX: y\n\n", 0, 9, &lenient).end,
        Ok(Some(Fields::new().with("X", "y")))
    );
}

#[test]
fn trailer_section_limit() {
    let section = b"0\r\nX: 1234\r\n\r\n";
    // "X: 1234\r\n\r\n" is 11 bytes.
    let cfg = Config {
        max_trailer_bytes: 11,
        ..Config::default()
    };
    assert!(run(section, 0, 9, &cfg).end.unwrap().is_some());
    let cfg = Config {
        max_trailer_bytes: 10,
        ..Config::default()
    };
    assert_eq!(
        run(section, 0, 9, &cfg).end,
        Err(PeerError::BadChunk("trailers too large"))
    );
    assert_eq!(
        run(section, 1, 9, &cfg).end,
        Err(PeerError::BadChunk("trailers too large"))
    );
    let cfg = Config {
        max_headers: 1,
        ..Config::default()
    };
    assert!(is_bad_chunk(b"0\r\nA: 1\r\nB: 2\r\n\r\n", &cfg));
}

/// A trailer line trickled in is checked once, not again for each byte:
/// the scan resumes mid-line (slowloris CPU amplification otherwise: n²/2
/// for a trailer section of n bytes).
#[test]
fn trailer_scan_resumes_mid_line() {
    let cfg = Config::default();
    let mut dec = ChunkedDecoder::new();
    let mut buf = BytesMut::from(&b"0\r\nX-Long: "[..]);
    for _ in 0..100 {
        assert_eq!(dec.decode(&mut buf, 9, &cfg), Ok(Decoded::NeedMore));
        let State::Trailers { scanned } = dec.state else {
            panic!("not in the trailers: {:?}", dec.state);
        };
        assert_eq!(scanned.pos(), buf.len());
        buf.extend_from_slice(b"a");
    }
    buf.extend_from_slice(b"\r\n\r\n");
    let Ok(Decoded::End(fields)) = dec.decode(&mut buf, 9, &cfg) else {
        panic!("trailers not complete");
    };
    assert_eq!(fields.get("x-long").map(|v| v.len()), Some(100));
}

#[test]
fn errors_are_sticky() {
    let cfg = Config::default();
    let mut dec = ChunkedDecoder::new();
    let mut buf = BytesMut::from(&b"x\r\n"[..]);
    let err = dec.decode(&mut buf, 9, &cfg).unwrap_err();
    let mut good = BytesMut::from(&b"0\r\n\r\n"[..]);
    assert_eq!(dec.decode(&mut good, 9, &cfg), Err(err));
}

#[test]
fn encodes_chunk_framing() {
    let mut dst = BytesMut::new();
    encode_chunk_header(&mut dst, 1);
    encode_chunk_header(&mut dst, 255);
    encode_chunk_header(&mut dst, 0x1_0000);
    encode_chunk_end(&mut dst);
    assert_eq!(&dst[..], b"1\r\nff\r\n10000\r\n\r\n");
    let mut dst = BytesMut::new();
    encode_chunk_header(&mut dst, usize::MAX);
    assert_eq!(dst.len(), (usize::BITS / 4) as usize + 2);

    let mut dst = BytesMut::new();
    encode_last_chunk(&mut dst, None);
    encode_last_chunk(&mut dst, Some(&Fields::new()));
    assert_eq!(&dst[..], b"0\r\n\r\n0\r\n\r\n");
    let mut dst = BytesMut::new();
    // The field with CRLF in its value would forge a line: it is left out.
    let trailers = Fields::new()
        .with("X-Sum", "1")
        .with("Bad", "a\r\nX: y")
        .with("Y", "2");
    encode_last_chunk(&mut dst, Some(&trailers));
    assert_eq!(&dst[..], b"0\r\nX-Sum: 1\r\nY: 2\r\n\r\n");
}

#[test]
fn encoder_output_decodes() {
    let mut wire = BytesMut::new();
    for piece in [&b"hello"[..], &[b'x'; 300][..]] {
        encode_chunk_header(&mut wire, piece.len());
        wire.extend_from_slice(piece);
        encode_chunk_end(&mut wire);
    }
    encode_last_chunk(&mut wire, Some(&Fields::new().with("T", "v")));
    let out = decode(&wire);
    let mut data = b"hello".to_vec();
    data.extend_from_slice(&[b'x'; 300]);
    assert_eq!(
        out,
        Outcome {
            data,
            end: Ok(Some(Fields::new().with("T", "v"))),
            rest: Vec::new()
        }
    );
}
