#![allow(clippy::unwrap_used)]

use bytes::BytesMut;

use super::*;
use crate::config::Config;
use crate::error::PeerError;
use crate::h1::parse::{HeadScan, parse_request, parse_request_into, parse_request_resume};
use crate::head::{Fields, SpareFields};

/// Collects (name, value) offsets without limit.
#[derive(Default)]
struct All(Vec<(Range<usize>, Range<usize>)>);

impl FieldSink for All {
    fn field(&mut self, name: Range<usize>, value: Range<usize>) -> Result<(), Bad> {
        self.0.push((name, value));
        Ok(())
    }
}

/// The word-at-a-time searches stop at the first byte that matters, wherever
/// it falls in a word (RFC 9110 §5.5: no control byte but HTAB in a value).
#[test]
fn word_searches_find_every_position() {
    for len in 1..20 {
        for pos in 0..len {
            for (ctl, stops) in [(b'\r', true), (0u8, true), (0x7f, true), (b'\t', false)] {
                let mut v = vec![b'a'; len];
                v[pos] = ctl;
                v.extend_from_slice(b"\r\n");
                let end = value_end(&v, 0);
                if ctl == b'\r' {
                    assert_eq!(end, Ok(pos), "CR at {pos} of {len}");
                } else if stops {
                    assert_eq!(end, Err(Bad::Unchecked), "{ctl:#x} at {pos} of {len}");
                } else {
                    assert_eq!(end, Ok(len), "HTAB at {pos} of {len}");
                }
                let (at, _) = target_end(&v, 0);
                assert_eq!(at, if ctl == b'\t' || stops { pos } else { len });
            }
            let mut v = vec![b'a'; len];
            v[pos] = 0xff;
            v.push(b' ');
            assert_eq!(target_end(&v, 0), (len, true), "0xff at {pos} of {len}");
            let mut v = vec![b'a'; len];
            v.push(b' ');
            v.push(0xff);
            assert_eq!(target_end(&v, 0), (len, false), "0xff after the SP");
        }
    }
}

/// The word-at-a-time name scan flags exactly the letters and dashes, for
/// every pair of bytes in a word; and a field line splits where a byte-by-byte
/// reading of `field-name ":"` says, for every byte at every position of
/// names of several lengths (RFC 9112 §5.1).
#[test]
fn rfc9112_5_1_name_scan_agrees_with_bytewise() {
    for a in 0u8..=255 {
        for b in 0u8..=255 {
            let mut v = [b'x'; 8];
            v[1] = a;
            v[6] = b;
            let m = letters_or_dashes(u64::from_le_bytes(v));
            for (k, &c) in v.iter().enumerate() {
                let flagged = m >> (8 * k) & 0x80 != 0;
                assert_eq!(
                    flagged,
                    c.is_ascii_alphabetic() || c == b'-',
                    "{v:?} at {k}"
                );
            }
        }
    }
    for len in [1, 7, 8, 9, 15, 16, 17, 23] {
        for pos in 0..len {
            for c in 0u8..=255 {
                let mut line = vec![b'N'; len];
                line[pos] = c;
                let name_end = line.iter().position(|&b| !is_tchar(b));
                line.extend_from_slice(b": v\r\n\r\n");
                let mut all = All::default();
                let got = field_lines(&line, 0, false, 10, &mut all);
                match name_end {
                    None => {
                        assert!(got.is_ok(), "{line:?}");
                        assert_eq!(all.0.first().map(|f| f.0.clone()), Some(0..len));
                    }
                    Some(at) if at == pos && c == b':' && pos > 0 => {
                        // The byte is the colon: a shorter name, then ":..." in the value.
                        assert!(got.is_ok(), "{line:?}");
                        assert_eq!(all.0.first().map(|f| f.0.clone()), Some(0..pos));
                    }
                    Some(_) => assert!(got.is_err(), "{line:?}"),
                }
            }
        }
    }
}

/// RFC 9112 §3 and RFC 3986: the target is any run of `%x21-7E` and
/// obs-text that is valid UTF-8, ended by SP.
#[test]
fn rfc9112_3_request_line_parts() {
    let line = request_line(b"GET /a?b HTTP/1.1\r\n\r\n", false).unwrap();
    assert_eq!(
        line,
        RequestLine {
            method: 0..3,
            target: 4..8,
            version: Version::Http11,
            next: 19,
        }
    );
    assert_eq!(
        request_line(b"GET /\xe2\x9c\x93 HTTP/1.0\n\n", true)
            .unwrap()
            .target,
        4..8
    );
    for (bad, want) in [
        (&b"GET /\xe2\x9c HTTP/1.1\r\n\r\n"[..], Bad::RequestLine),
        (b"GET /a\tb HTTP/1.1\r\n\r\n", Bad::RequestLine),
        (b"GET  / HTTP/1.1\r\n\r\n", Bad::RequestLine),
        (b"G@T / HTTP/1.1\r\n\r\n", Bad::RequestLine),
        (b"GET / HTTP/1.1 \r\n\r\n", Bad::LineEnding),
        (b"GET / HTTP/1.2\r\n\r\n", Bad::Version),
        (b"GET / HTTP\r\n\r\n", Bad::Version),
        // Bare LF, when not allowed: the line scan's to report.
        (b"GET / HTTP/1.1\n\n", Bad::Unchecked),
        // Incomplete.
        (b"GET / HTTP/1.1", Bad::Unchecked),
    ] {
        assert_eq!(
            request_line(bad, false),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// RFC 9112 §5: names are tokens right before the colon; OWS around values
/// is not part of them; obs-fold (§5.2) is not accepted.
#[test]
fn rfc9112_5_field_lines() {
    let s = b"A:b\r\nHost: \t x y \t\r\nhOsT:\r\n\r\nrest";
    let mut all = All::default();
    let fl = field_lines(s, 0, false, 8, &mut all).unwrap();
    assert_eq!(fl.end, s.len() - 4);
    assert_eq!((fl.hosts, fl.host.clone()), (2, 25..25));
    let got: Vec<_> = all
        .0
        .iter()
        .map(|(n, v)| (&s[n.clone()], &s[v.clone()]))
        .collect();
    assert_eq!(
        got,
        [(&b"A"[..], &b"b"[..]), (b"Host", b"x y"), (b"hOsT", b""),]
    );
    let mut all = All::default();
    assert_eq!(
        field_lines(s, 0, false, 2, &mut all),
        Err(Bad::TooManyFields)
    );
    for (bad, want) in [
        (&b"A : b\r\n\r\n"[..], Bad::FieldName),
        (b"A\r\n\r\n", Bad::FieldName),
        (b": b\r\n\r\n", Bad::FieldName),
        (b"A: b\r\n c\r\n\r\n", Bad::Unchecked),
        (b"A: b\rc\r\n\r\n", Bad::Unchecked),
        (b"A: b\x01\r\n\r\n", Bad::Unchecked),
        (b"A: b\r\n", Bad::Unchecked),
    ] {
        assert_eq!(
            field_lines(bad, 0, false, 8, &mut All::default()),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// RFC 9112 §4: the reason is taken raw, and may be empty or missing its SP.
#[test]
fn rfc9112_4_status_line_parts() {
    let line = status_line(b"HTTP/1.1 404 Not \xffFound\r\n\r\n", false).unwrap();
    assert_eq!((line.status, line.reason, line.next), (404, 13..23, 25));
    let line = status_line(b"HTTP/1.0 200\r\n\r\n", false).unwrap();
    assert_eq!((line.status, line.reason), (200, 12..12));
    assert_eq!(
        status_line(b"HTTP/1.1 20x\r\n", false),
        Err(Bad::StatusLine)
    );
    assert_eq!(
        status_line(b"HTTP/1.1 200x\r\n", false),
        Err(Bad::StatusLine)
    );
    assert_eq!(
        status_line(b"HTTP/1.1  200\r\n", false),
        Err(Bad::StatusLine)
    );
    assert_eq!(status_line(b"HTTP/1.1\t200\r\n", false), Err(Bad::Version));
}

/// More fields than the fast path has room for: the slow path parses them,
/// to the same head a byte-by-byte arrival gives.
#[test]
fn many_fields_take_the_slow_path_to_the_same_head() {
    let mut input = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
    for i in 0..40 {
        input.extend_from_slice(format!("F{i}: {i}\r\n").as_bytes());
    }
    input.extend_from_slice(b"\r\nbody");
    let cfg = Config::default();
    let whole = parse_request(&mut BytesMut::from(&input[..]), &cfg);
    let head = whole.clone().unwrap().unwrap();
    assert_eq!(head.fields.len(), 41);
    assert_eq!(head.fields.get("f39").map(|v| &v[..]), Some(&b"39"[..]));
    let (mut buf, mut scan) = (BytesMut::new(), HeadScan::default());
    for &b in &input {
        buf.extend_from_slice(&[b]);
        match parse_request_resume(&mut buf, &cfg, &mut scan) {
            Ok(None) => {}
            other => {
                assert_eq!(other, whole);
                assert_eq!(&buf[..], b"");
                return;
            }
        }
    }
    panic!("never complete");
}

/// The fields are built in the spare storage when it has room: no
/// allocation per head on a connection that recycles it.
#[test]
fn fields_reuse_the_spare_storage() {
    let cfg = Config::default();
    let mut many = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
    many.extend_from_slice(&b"A: 1\r\n".repeat(40));
    many.extend_from_slice(b"\r\n");
    // The fast path, and the slow one (more fields than the fast one holds).
    for (input, n) in [
        (&b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n"[..], 2),
        (&many[..], 41),
    ] {
        let mut old = Fields::with_capacity(64);
        old.push("old", "value");
        let mut spare = SpareFields::new();
        spare.keep(old);
        let mut buf = BytesMut::from(input);
        let head = parse_request_into(&mut buf, &cfg, &mut HeadScan::default(), &mut spare)
            .unwrap()
            .unwrap();
        assert_eq!(head.fields.capacity(), 64);
        assert_eq!(head.fields.len(), n);
        assert_eq!(head.fields.get("a").map(|v| &v[..]), Some(&b"1"[..]));
        assert!(!head.fields.contains("old"));
    }
    // Slow path: the head arrives in two pieces.
    let mut spare = SpareFields::new();
    spare.keep(Fields::with_capacity(8));
    let (mut buf, mut scan) = (
        BytesMut::from(&b"GET / HTTP/1.1\r\nHo"[..]),
        HeadScan::default(),
    );
    assert_eq!(
        parse_request_into(&mut buf, &cfg, &mut scan, &mut spare),
        Ok(None)
    );
    buf.extend_from_slice(b"st: h\r\n\r\n");
    let head = parse_request_into(&mut buf, &cfg, &mut scan, &mut spare)
        .unwrap()
        .unwrap();
    assert_eq!(head.fields.capacity(), 8);
}

/// An error is never decided by the fast path: it is the one the line scan
/// reports first, whether the head came whole or not (RFC 9112 §2.2: the
/// bare CR after the bad request line is what a trickled head fails on).
#[test]
fn errors_are_the_scans_first() {
    let cfg = Config::default();
    let input = b"GET /a b HTTP/1.1\r\nX: a\rb\r\n\r\n";
    assert_eq!(
        parse_request(&mut BytesMut::from(&input[..]), &cfg),
        Err(PeerError::MalformedHead("bare CR"))
    );
}
