#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};

use super::*;
use crate::config::Config;
use crate::error::PeerError;
use crate::event::Version;
use crate::head::{Fields, Method};

fn req_with(input: &[u8], cfg: &Config) -> Result<Option<RequestHead>, PeerError> {
    let mut buf = BytesMut::from(input);
    parse_request(&mut buf, cfg)
}

fn req(input: &[u8]) -> Result<Option<RequestHead>, PeerError> {
    req_with(input, &Config::default())
}

fn res(input: &[u8]) -> Result<Option<ResponseHead>, PeerError> {
    let mut buf = BytesMut::from(input);
    parse_response(&mut buf, &Config::default())
}

fn malformed<T: core::fmt::Debug>(r: Result<Option<T>, PeerError>) -> bool {
    matches!(r, Err(PeerError::MalformedHead(_)))
}

fn lenient() -> Config {
    Config {
        allow_bare_lf: true,
        ..Config::default()
    }
}

#[test]
fn parses_request_and_leaves_body() {
    let mut buf = BytesMut::from(&b"POST /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Custom:  v 1 \r\nContent-Length: 3\r\n\r\nabc"[..]);
    let head = parse_request(&mut buf, &Config::default())
        .unwrap()
        .unwrap();
    assert_eq!(head.method, Method::Post);
    assert_eq!(head.target, Bytes::from_static(b"/a?b=c"));
    assert_eq!(head.version, Version::Http11);
    let expected = Fields::new()
        .with("Host", "example.com")
        .with("X-Custom", "v 1")
        .with("Content-Length", "3");
    assert_eq!(head.fields, expected);
    assert_eq!(&buf[..], b"abc");
}

#[test]
fn fields_are_zero_copy_slices_of_the_buffer() {
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
    let range = buf.as_ptr_range();
    let head = parse_request(&mut buf, &Config::default())
        .unwrap()
        .unwrap();
    for part in [&head.target, &head.fields.iter().next().unwrap().name] {
        assert!(
            range.contains(&part.as_ptr()),
            "not a slice of the receive buffer"
        );
    }
}

#[test]
fn other_method_is_kept_and_http10_needs_no_host() {
    let head = req(b"PROPFIND * HTTP/1.0\r\n\r\n").unwrap().unwrap();
    assert_eq!(head.method, Method::Other(Bytes::from_static(b"PROPFIND")));
    assert_eq!(head.target, Bytes::from_static(b"*"));
    assert_eq!(head.version, Version::Http10);
    assert!(head.fields.is_empty());
}

/// "Incomplete is not invalid": every proper prefix of a valid head needs more
/// bytes and leaves the buffer untouched.
#[test]
fn every_prefix_is_incomplete() {
    let full = b"\r\nGET /x HTTP/1.1\r\nHost: h\r\nA: b\r\n\r\n";
    for n in 0..full.len() {
        let mut buf = BytesMut::from(&full[..n]);
        assert_eq!(
            parse_request(&mut buf, &Config::default()),
            Ok(None),
            "prefix {n}"
        );
        assert_eq!(&buf[..], &full[..n]);
    }
    assert!(req(full).unwrap().is_some());
}

/// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the
/// request line.
#[test]
fn rfc9112_2_2_leading_empty_lines_are_ignored() {
    let mut buf = BytesMut::from(&b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\nrest"[..]);
    let head = parse_request(&mut buf, &Config::default())
        .unwrap()
        .unwrap();
    assert_eq!(head.target, Bytes::from_static(b"/"));
    assert_eq!(&buf[..], b"rest");
    // A lone LF is only an empty line when bare LF is allowed.
    assert!(malformed(req(b"\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")));
    assert!(
        req_with(b"\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", &lenient())
            .unwrap()
            .is_some()
    );
}

/// RFC 9112 §5.1: no whitespace is allowed between the field name and the
/// colon; a server MUST reject such a request with 400.
#[test]
fn rfc9112_5_1_whitespace_before_colon_is_rejected() {
    assert!(malformed(req(b"GET / HTTP/1.1\r\nHost : h\r\n\r\n")));
    assert!(malformed(req(
        b"GET / HTTP/1.1\r\nHost: h\r\nX\t: y\r\n\r\n"
    )));
    assert!(malformed(res(
        b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"
    )));
}

/// RFC 9112 §5.2: a server MUST reject obs-fold (or replace it; we reject).
#[test]
fn rfc9112_5_2_obs_fold_is_rejected() {
    assert!(malformed(req(
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"
    )));
    assert!(malformed(req(
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n"
    )));
    assert!(malformed(res(b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n")));
}

/// RFC 9112 §2.2: whitespace between the start line and the first field
/// MUST be rejected or the line consumed; we reject.
#[test]
fn rfc9112_2_2_whitespace_before_first_field_is_rejected() {
    assert!(malformed(req(b"GET / HTTP/1.1\r\n Host: h\r\n\r\n")));
}

/// RFC 9112 §2.2: a bare CR is invalid anywhere in the head.
#[test]
fn rfc9112_2_2_bare_cr_is_rejected() {
    assert!(malformed(req(
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"
    )));
    assert!(malformed(req(b"GET /\r HTTP/1.1\r\nHost: h\r\n\r\n")));
    assert!(malformed(req(b"GET / HTTP/1.1\r\nHost: h\r\r\n\r\n")));
    // Rejected as soon as it is seen, before the head completes.
    assert!(malformed(req(b"GET / HTTP/1.1\r\nX: a\rb")));
}

/// RFC 9112 §2.2: bare LF as a line terminator MAY be accepted; it is off by
/// default (`Config::allow_bare_lf`).
#[test]
fn rfc9112_2_2_bare_lf_only_when_allowed() {
    let input = b"GET / HTTP/1.1\nHost: h\nX: y\n\n";
    assert!(malformed(req(input)));
    // Rejected early, not only once the head is complete.
    assert!(malformed(req(b"GET / HTTP/1.1\nHost")));
    assert!(malformed(req(b"GET / HTTP/1.1\r\nHost: h\n\r\n")));
    let head = req_with(input, &lenient()).unwrap().unwrap();
    assert_eq!(head.fields, Fields::new().with("Host", "h").with("X", "y"));
    let head = req_with(b"GET / HTTP/1.1\r\nHost: h\n\r\nz", &lenient())
        .unwrap()
        .unwrap();
    assert_eq!(head.fields.len(), 1);
}

/// RFC 9110 §5.5: NUL, CR and LF in field values MUST be rejected; other
/// CTLs are not `field-vchar` either. HTAB is allowed.
#[test]
fn rfc9110_5_5_control_characters_are_rejected() {
    for bad in [&b"\0"[..], b"\x01", b"\x1f", b"\x7f", b"\x0b", b"\x0c"] {
        let mut input = b"GET / HTTP/1.1\r\nHost: h\r\nX: a".to_vec();
        input.extend_from_slice(bad);
        input.extend_from_slice(b"b\r\n\r\n");
        assert!(malformed(req(&input)), "{bad:?} in value");
        let mut input = b"GET / HTTP/1.1\r\nHost: h\r\nX".to_vec();
        input.extend_from_slice(bad);
        input.extend_from_slice(b": b\r\n\r\n");
        assert!(malformed(req(&input)), "{bad:?} in name");
    }
    let head = req(b"GET / HTTP/1.1\r\nHost: h\r\nX:\ta\tb\t\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(head.fields.get("x"), Some(&Bytes::from_static(b"a\tb")));
}

/// RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
#[test]
fn rfc9112_3_malformed_request_lines_are_rejected() {
    let bad: &[&[u8]] = &[
        b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
        b"GET /  HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /\r\nHost: h\r\n\r\n",
        b"GET / \r\nHost: h\r\n\r\n",
        b"GET / http/1.1\r\nHost: h\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
        b" GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n",
        b"/ HTTP/1.1\r\nHost: h\r\n\r\n",
    ];
    for input in bad {
        assert!(
            malformed(req(input)),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

/// RFC 9112 §2.3: only HTTP/1.0 and HTTP/1.1 are spoken here; other
/// versions get a 400 (MalformedHead), not a 505.
#[test]
fn rfc9112_2_3_other_versions_are_rejected() {
    for v in ["HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "HTTP/1.10", "HTTP/11"] {
        let input = format!("GET / {v}\r\nHost: h\r\n\r\n");
        assert!(malformed(req(input.as_bytes())), "{v}");
    }
    assert!(malformed(res(b"HTTP/1.2 200 OK\r\n\r\n")));
}

/// RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with
/// more than one Host or an invalid one, gets 400.
#[test]
fn rfc9112_3_2_host_rules() {
    assert_eq!(req(b"GET / HTTP/1.1\r\n\r\n"), Err(PeerError::BadHost));
    assert_eq!(
        req(b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"),
        Err(PeerError::BadHost)
    );
    assert_eq!(
        req(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
        Err(PeerError::BadHost)
    );
    assert_eq!(
        req(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        Err(PeerError::BadHost)
    );
    assert_eq!(
        req(b"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n"),
        Err(PeerError::BadHost)
    );
    // An empty Host is valid (no authority), and so are IP literals and ports.
    assert!(req(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").unwrap().is_some());
    assert!(
        req(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")
            .unwrap()
            .is_some()
    );
}

/// RFC 9112 §3 ¶4 / RFC 9110 §15.5.15: a target longer than the server
/// accepts gets 414, even before the rest of the head arrives.
#[test]
fn rfc9110_15_5_15_long_target_is_414() {
    let cfg = Config {
        max_uri_len: 10,
        ..Config::default()
    };
    assert!(
        req_with(b"GET /123456789 HTTP/1.1\r\nHost: h\r\n\r\n", &cfg)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        req_with(b"GET /1234567890 HTTP/1.1\r\nHost: h\r\n\r\n", &cfg),
        Err(PeerError::UriTooLong)
    );
    // Incomplete request line, already over the limit.
    assert_eq!(
        req_with(b"GET /1234567890", &cfg),
        Err(PeerError::UriTooLong)
    );
    // Complete request line, incomplete head.
    assert_eq!(
        req_with(b"GET /1234567890 HTTP/1.1\r\nHo", &cfg),
        Err(PeerError::UriTooLong)
    );
    // At the limit, still incomplete: wait.
    assert_eq!(req_with(b"GET /123456789", &cfg), Ok(None));
    // 414 wins over 431 when the target is what makes the head large.
    let cfg = Config {
        max_uri_len: 10,
        max_head_bytes: 20,
        ..Config::default()
    };
    assert_eq!(
        req_with(b"GET /12345678901234567890", &cfg),
        Err(PeerError::UriTooLong)
    );
}

/// RFC 6585 §5: a head over `max_head_bytes` gets 431, complete or not.
#[test]
fn rfc6585_5_head_too_large() {
    let input = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    let at_limit = Config {
        max_head_bytes: input.len(),
        ..Config::default()
    };
    assert!(req_with(input, &at_limit).unwrap().is_some());
    let below = Config {
        max_head_bytes: input.len() - 1,
        ..Config::default()
    };
    assert_eq!(req_with(input, &below), Err(PeerError::HeadTooLarge));
    // Incomplete: wait while within the limit, fail once past it.
    let cfg = Config {
        max_head_bytes: 20,
        ..Config::default()
    };
    assert_eq!(req_with(b"GET / HTTP/1.1\r\nX: 1", &cfg), Ok(None));
    assert_eq!(
        req_with(b"GET / HTTP/1.1\r\nX: 12", &cfg),
        Err(PeerError::HeadTooLarge)
    );
    // Endless empty lines count too.
    assert_eq!(
        req_with(&[b'\r', b'\n'].repeat(11), &cfg),
        Err(PeerError::HeadTooLarge)
    );
}

/// RFC 6585 §5: more fields than `max_headers` gets 431; the stack array
/// caps the limit at `MAX_HEADERS_CAP`.
#[test]
fn rfc6585_5_too_many_fields() {
    let cfg = Config {
        max_headers: 2,
        ..Config::default()
    };
    assert!(
        req_with(b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n", &cfg)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        req_with(b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", &cfg),
        Err(PeerError::TooManyHeaders)
    );
    let cfg = Config {
        max_headers: 1000,
        max_head_bytes: 1 << 20,
        ..Config::default()
    };
    let mut input = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
    for _ in 1..MAX_HEADERS_CAP {
        input.extend_from_slice(b"A: 1\r\n");
    }
    let mut more = input.clone();
    input.extend_from_slice(b"\r\n");
    assert_eq!(
        req_with(&input, &cfg).unwrap().unwrap().fields.len(),
        MAX_HEADERS_CAP
    );
    more.extend_from_slice(b"A: 1\r\n\r\n");
    assert_eq!(req_with(&more, &cfg), Err(PeerError::TooManyHeaders));
}

/// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
#[test]
fn rfc9112_4_status_line() {
    let mut buf = BytesMut::from(&b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nnext"[..]);
    let head = parse_response(&mut buf, &Config::default())
        .unwrap()
        .unwrap();
    assert_eq!(head.status, 404);
    assert_eq!(head.reason, Bytes::from_static(b"Not Found"));
    assert_eq!(head.version, Version::Http11);
    assert_eq!(head.fields, Fields::new().with("Content-Length", "0"));
    assert_eq!(&buf[..], b"next");

    let head = res(b"HTTP/1.0 204 \r\n\r\n").unwrap().unwrap();
    assert_eq!(
        (head.status, head.reason, head.version),
        (204, Bytes::new(), Version::Http10)
    );
    // obs-text in the reason is kept as received (httparse would drop it).
    let head = res(b"HTTP/1.1 200 \xe2\x9c\x93 ok\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(head.reason, Bytes::from_static(b"\xe2\x9c\x93 ok"));
    assert_eq!(res(b"HTTP/1.1 999 X\r\n\r\n").unwrap().unwrap().status, 999);

    for bad in [
        &b"HTTP/1.1 099 Low\r\n\r\n"[..],
        b"HTTP/1.1 1000 X\r\n\r\n",
        b"HTTP/1.1 20 X\r\n\r\n",
        b"HTTP/1.1  200 X\r\n\r\n",
        b"http/1.1 200 X\r\n\r\n",
        b"HTTP/1.1 200 a\rb\r\n\r\n",
        b"HTTP/1.1 200 a\x01b\r\n\r\n",
    ] {
        assert!(malformed(res(bad)), "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(res(b"HTTP/1.1 200 OK\r\nA: b\r\n"), Ok(None));
}

#[test]
fn trailers_parse_with_head_rules() {
    let cfg = Config::default();
    let section = Bytes::from_static(b"Expires: never\r\nX-Sum: 1 \r\n\r\n");
    assert_eq!(
        parse_trailers(&section, &cfg),
        Ok(Fields::new().with("Expires", "never").with("X-Sum", "1"))
    );
    let bad = Bytes::from_static(b"X : y\r\n\r\n");
    assert!(matches!(
        parse_trailers(&bad, &cfg),
        Err(PeerError::BadChunk(_))
    ));
}

#[test]
fn scan_lines_resumes_where_it_stopped() {
    let s = b"A: 1\r\nB: 2";
    let stopped = LineScan {
        line_start: 6,
        pos: 10,
    };
    assert_eq!(
        scan_lines(s, LineScan::at(0), false),
        Ok(Lines::Partial(stopped))
    );
    assert_eq!(
        scan_lines(b"A: 1\r\nB: 2\r\n\r\nrest", stopped, false),
        Ok(Lines::Complete(14))
    );
    assert_eq!(
        scan_lines(b"\r\n", LineScan::at(0), false),
        Ok(Lines::Complete(2))
    );
    // A CR at the end is judged with the byte after it: the scan stops on it.
    assert_eq!(
        scan_lines(b"A\r", LineScan::at(0), false),
        Ok(Lines::Partial(LineScan {
            line_start: 0,
            pos: 1
        }))
    );
}

#[test]
fn helpers() {
    assert_eq!(trim_ows(b" \t a b \t"), b"a b");
    assert_eq!(trim_ows(b"  "), b"");
    assert!(is_token(b"chunked") && !is_token(b"") && !is_token(b"a b") && !is_token(b"a,b"));
}

#[test]
fn a_head_longer_than_64_kib_parses_whole() {
    // The fast pass stores offsets as `u16`: past 64 KiB it gives way to
    // the slow path, which must give the same fields.
    let cfg = Config {
        max_head_bytes: 256 * 1024,
        ..Config::default()
    };
    let big = "x".repeat(70_000);
    let input = format!("GET / HTTP/1.1\r\nHost: a\r\nX-Big: {big}\r\nX-After: 1\r\n\r\n");
    let head = req_with(input.as_bytes(), &cfg).unwrap().unwrap();
    let got: Vec<(Bytes, Bytes)> = head
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].1.len(), 70_000);
    assert_eq!(got[2], (Bytes::from("X-After"), Bytes::from("1")));
}
