#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};

use super::*;
use crate::config::Config;
use crate::head::{Fields, Method};

fn request(method: Method, target: &'static str, fields: Fields) -> RequestHead {
    let mut head = RequestHead::new(method, target);
    head.fields = fields;
    head
}

fn req_bytes(head: &RequestHead, extra: Extra) -> Result<Vec<u8>, UserError> {
    let mut dst = BytesMut::new();
    write_request(&mut dst, head, extra).map(|()| dst.to_vec())
}

fn res_bytes(head: &ResponseHead, extra: Extra) -> Result<Vec<u8>, UserError> {
    let mut dst = BytesMut::new();
    write_response(&mut dst, head, extra).map(|()| dst.to_vec())
}

/// RFC 9112 §3 and §5: request line, fields in order and original case,
/// then the connection's framing fields, then the empty line.
#[test]
fn rfc9112_3_writes_request_head() {
    let head = request(
        Method::Post,
        "/up?x=1",
        Fields::new().with("Host", "h").with("X-Trace", "a\tb"),
    );
    let extra = Extra {
        content_length: Some(12345),
        close: true,
        ..Extra::default()
    };
    assert_eq!(
        req_bytes(&head, extra).unwrap(),
        b"POST /up?x=1 HTTP/1.1\r\nHost: h\r\nX-Trace: a\tb\r\ncontent-length: 12345\r\nconnection: close\r\n\r\n"
    );
    let mut head = request(Method::Get, "/", Fields::new());
    head.version = Version::Http10;
    let extra = Extra {
        keep_alive: true,
        ..Extra::default()
    };
    assert_eq!(
        req_bytes(&head, extra).unwrap(),
        b"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n"
    );
    let head = request(
        Method::Other(Bytes::from_static(b"PROPFIND")),
        "*",
        Fields::new(),
    );
    let extra = Extra {
        chunked: true,
        ..Extra::default()
    };
    assert_eq!(
        req_bytes(&head, extra).unwrap(),
        b"PROPFIND * HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
    );
}

/// RFC 9112 §4: status line; an empty reason gets the standard phrase.
#[test]
fn rfc9112_4_writes_response_head() {
    let mut head = ResponseHead::new(404);
    head.fields = Fields::new().with("Content-Type", "text/plain");
    let extra = Extra {
        content_length: Some(0),
        ..Extra::default()
    };
    assert_eq!(
        res_bytes(&head, extra).unwrap(),
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\ncontent-length: 0\r\n\r\n"
    );
    let mut head = ResponseHead::new(200);
    head.reason = Bytes::from_static(b"Fine \xe2\x9c\x93");
    head.version = Version::Http10;
    assert_eq!(
        res_bytes(&head, Extra::default()).unwrap(),
        b"HTTP/1.1 200 Fine \xe2\x9c\x93\r\n\r\n"
    );
    // Unknown status, no standard phrase: the SP before the reason stays.
    assert_eq!(
        res_bytes(&ResponseHead::new(599), Extra::default()).unwrap(),
        b"HTTP/1.1 599 \r\n\r\n"
    );
    let extra = Extra {
        content_length: Some(u64::MAX),
        chunked: false,
        close: true,
        keep_alive: true,
    };
    assert_eq!(
        res_bytes(&ResponseHead::new(100), extra).unwrap(),
        b"HTTP/1.1 100 Continue\r\ncontent-length: 18446744073709551615\r\nconnection: close\r\n\r\n"
    );
}

/// What we write, we parse back unchanged.
#[test]
fn round_trips_through_the_parser() {
    let head = request(
        Method::Put,
        "/a",
        Fields::new().with("Host", "h").with("x-Lower", "v"),
    );
    let mut wire = BytesMut::new();
    write_request(&mut wire, &head, Extra::default()).unwrap();
    let parsed = super::super::parse::parse_request(&mut wire, &Config::default())
        .unwrap()
        .unwrap();
    assert_eq!(parsed, head);
}

/// On error nothing is written: `dst` keeps what it had.
#[test]
fn invalid_heads_write_nothing() {
    let mut dst = BytesMut::from(&b"previous"[..]);
    let head = request(
        Method::Get,
        "/",
        Fields::new().with("A", "1").with("B", "x\r\ny: z"),
    );
    assert!(write_request(&mut dst, &head, Extra::default()).is_err());
    assert_eq!(&dst[..], b"previous");
    assert!(write_response(&mut dst, &ResponseHead::new(99), Extra::default()).is_err());
    assert_eq!(&dst[..], b"previous");
}

/// RFC 9110 §5.1: field names are tokens.
#[test]
fn rfc9110_5_1_field_names_must_be_tokens() {
    for name in ["", "a b", "a:b", "a\r\nb", "é", "a\0"] {
        let head = request(Method::Get, "/", Fields::new().with(name, "v"));
        assert!(
            matches!(
                req_bytes(&head, Extra::default()),
                Err(UserError::InvalidHead(_))
            ),
            "{name:?}"
        );
    }
}

/// RFC 9110 §5.5: values must not contain CR, LF or NUL (nor other CTLs,
/// which a strict recipient, ours included, rejects).
#[test]
fn rfc9110_5_5_field_values_without_cr_lf_nul() {
    for value in ["a\rb", "a\nb", "a\0b", "\x01", "\x7f"] {
        let mut head = ResponseHead::new(200);
        head.fields = Fields::new().with("X", value);
        assert!(
            matches!(
                res_bytes(&head, Extra::default()),
                Err(UserError::InvalidHead(_))
            ),
            "{value:?}"
        );
    }
}

/// RFC 9112 §3: the method is a token and the target has no whitespace.
#[test]
fn rfc9112_3_request_line_must_be_clean() {
    let bad_method = request(
        Method::Other(Bytes::from_static(b"GE T")),
        "/",
        Fields::new(),
    );
    assert!(req_bytes(&bad_method, Extra::default()).is_err());
    for target in ["", "/a b", "/a\r\nX: y", "/\t", "/\0", "/\x7f"] {
        let head = request(Method::Get, target, Fields::new());
        assert!(req_bytes(&head, Extra::default()).is_err(), "{target:?}");
    }
}

/// RFC 9112 §4: status-code = 3DIGIT (100..=999 here); the reason has no
/// CR or LF.
#[test]
fn rfc9112_4_status_and_reason_must_be_valid() {
    for status in [0, 99, 1000, u16::MAX] {
        assert!(
            res_bytes(&ResponseHead::new(status), Extra::default()).is_err(),
            "{status}"
        );
    }
    for reason in [&b"OK\r\nX: y"[..], b"a\nb", b"\0"] {
        let mut head = ResponseHead::new(200);
        head.reason = Bytes::copy_from_slice(reason);
        assert!(res_bytes(&head, Extra::default()).is_err());
    }
}

#[test]
fn digits() {
    for n in [0, 7, 10, 99, 100, 12345, u64::MAX] {
        assert_eq!(Digits::new(n).as_bytes(), n.to_string().as_bytes());
    }
}
