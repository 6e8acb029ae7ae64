//! RFC 9113 §8.2/§8.3 field validation.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;

use super::*;
use crate::hpack::Field;

fn f(name: &'static str, value: &'static str) -> Field {
    Field {
        name: Bytes::from_static(name.as_bytes()),
        value: Bytes::from_static(value.as_bytes()),
        sensitive: false,
    }
}

fn request(fields: &[Field]) -> Result<RequestHead, Malformed> {
    let mut b = RequestBuilder::new(Fields::new());
    for x in fields {
        b.field(x.clone());
    }
    b.finish(false)
}

fn get() -> Vec<Field> {
    vec![
        f(":method", "GET"),
        f(":scheme", "https"),
        f(":authority", "example.com"),
        f(":path", "/"),
    ]
}

#[test]
fn valid_request_gets_host_from_authority_8_3_1() {
    let head = request(&get()).unwrap();
    assert_eq!(head.method, Method::Get);
    assert_eq!(&head.target[..], b"/");
    assert_eq!(
        head.fields.get("host").map(|v| &v[..]),
        Some(&b"example.com"[..])
    );
}

/// RFC 9113 §8.2.1: uppercase field names are malformed.
#[test]
fn uppercase_name_is_malformed_8_2_1() {
    let mut v = get();
    v.push(f("X-Upper", "1"));
    assert!(request(&v).is_err());
}

/// RFC 9113 §8.2.1: no leading/trailing whitespace, CR, LF or NUL in values.
#[test]
fn bad_values_are_malformed_8_2_1() {
    for bad in [" lead", "trail ", "tab\t", "a\rb", "a\nb", "a\0b"] {
        let mut v = get();
        v.push(f("x", bad));
        assert!(request(&v).is_err(), "{bad:?}");
    }
}

/// RFC 9113 §8.2.2: connection-specific fields are malformed; TE only "trailers".
#[test]
fn connection_specific_fields_are_malformed_8_2_2() {
    for (n, v) in [
        ("connection", "close"),
        ("keep-alive", "1"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "h2c"),
        ("proxy-connection", "x"),
        ("te", "gzip"),
    ] {
        let mut l = get();
        l.push(f(n, v));
        assert!(request(&l).is_err(), "{n}");
    }
    let mut l = get();
    l.push(f("te", "trailers"));
    assert!(request(&l).is_ok());
}

/// RFC 9113 §8.3: pseudo-headers first, once, known, required.
#[test]
fn pseudo_header_rules_8_3() {
    let mut after = get();
    after.insert(1, f("x", "1"));
    assert!(request(&after).is_err(), "pseudo after regular");
    let mut dup = get();
    dup.push(f(":path", "/again"));
    assert!(request(&dup).is_err(), "duplicate");
    let mut unknown = get();
    unknown.insert(0, f(":foo", "1"));
    assert!(request(&unknown).is_err(), "unknown pseudo");
    let mut status = get();
    status.insert(0, f(":status", "200"));
    assert!(request(&status).is_err(), "response pseudo in request");
    assert!(
        request(&[f(":method", "GET"), f(":scheme", "http")]).is_err(),
        "missing :path"
    );
    assert!(
        request(&[f(":method", "GET"), f(":path", "/")]).is_err(),
        "missing :scheme"
    );
    assert!(
        request(&[f(":method", "GET"), f(":scheme", "http"), f(":path", "")]).is_err(),
        "empty :path"
    );
}

/// RFC 9113 §8.5: CONNECT carries only :method and :authority.
#[test]
fn connect_form_8_5() {
    let ok = request(&[f(":method", "CONNECT"), f(":authority", "example.com:443")]).unwrap();
    assert_eq!(&ok.target[..], b"example.com:443");
    assert!(
        request(&[
            f(":method", "CONNECT"),
            f(":authority", "a:1"),
            f(":path", "/")
        ])
        .is_err()
    );
    assert!(request(&[f(":method", "CONNECT")]).is_err());
}

/// RFC 9113 §8.2.3: cookie crumbs are joined with "; ".
#[test]
fn cookies_are_joined_8_2_3() {
    let mut v = get();
    v.push(f("cookie", "a=b"));
    v.push(f("cookie", "c=d"));
    let head = request(&v).unwrap();
    assert_eq!(
        head.fields.get("cookie").map(|v| &v[..]),
        Some(&b"a=b; c=d"[..])
    );
}

/// RFC 9113 §8.1: trailers carry no pseudo-headers; responses need :status.
#[test]
fn response_and_trailer_rules_8_1() {
    let mut r = ResponseBuilder::new(false, Fields::new());
    r.field(f(":status", "204"));
    assert_eq!(r.finish_response().unwrap().status, 204);
    let mut r = ResponseBuilder::new(false, Fields::new());
    r.field(f(":status", "20"));
    assert!(r.finish_response().is_err());
    let mut t = ResponseBuilder::new(true, Fields::new());
    t.field(f(":status", "200"));
    assert!(t.finish_trailers().is_err());
}

#[test]
fn outgoing_request_has_pseudo_headers_first_and_no_host() {
    let mut head = RequestHead::new(Method::Get, "/p?q");
    head.fields.push_static("Host", "example.com");
    head.fields.push_static("Connection", "keep-alive");
    head.fields.push_static("X-A", "1");
    let mut out = Vec::new();
    request_fields(&head, &mut out);
    let names: Vec<&[u8]> = out.iter().map(|(n, _)| &n[..]).collect();
    assert_eq!(
        names,
        [&b":method"[..], b":scheme", b":authority", b":path", b"x-a"]
    );
}

#[test]
fn content_length_parsing() {
    let fields = Fields::new()
        .with("content-length", "5")
        .with("content-length", "5");
    assert_eq!(content_length(&fields), Ok(Some(5)));
    assert!(content_length(&Fields::new().with("content-length", "5, 6")).is_err());
    assert!(content_length(&Fields::new().with("content-length", "+5")).is_err());
}

/// RFC 9113 §8.2.1: NUL, CR and LF are found at every offset of the
/// word-at-a-time scan (whole words and the tail), other bytes are not.
#[test]
fn rfc9113_8_2_1_nul_cr_lf_found_at_every_position() {
    for bad in [0u8, b'\r', b'\n'] {
        for len in 1..20 {
            for pos in 0..len {
                let mut v = vec![b'a'; len];
                v[pos] = bad;
                assert!(has_nul_cr_lf(&v), "{bad:#x} at {pos} of {len}");
            }
        }
    }
    let others: Vec<u8> = (1u8..=255)
        .filter(|b| ![b'\r', b'\n'].contains(b))
        .collect();
    assert!(!has_nul_cr_lf(&others));
    assert!(!has_nul_cr_lf(b""));
}

/// The word-at-a-time scan agrees with a byte-by-byte one for every pair of
/// bytes in a word (the low-byte pre-test must never hide NUL, CR or LF).
#[test]
fn rfc9113_8_2_1_nul_cr_lf_scan_agrees_with_bytewise() {
    for a in 0u8..=255 {
        for b in 0u8..=255 {
            for (i, j) in [(0, 7), (2, 3), (5, 13)] {
                let mut v = [b'x'; 16];
                v[i] = a;
                v[j] = b;
                let naive = v.iter().any(|&c| c == 0 || c == b'\r' || c == b'\n');
                assert_eq!(has_nul_cr_lf(&v), naive, "{a:#x} at {i}, {b:#x} at {j}");
            }
        }
    }
}

/// §8.2.1: field names are lowercase tokens.
#[test]
fn rfc9113_8_2_1_name_table_matches_lowercase_tchar() {
    for b in 0u8..=255 {
        let tchar = b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b);
        assert_eq!(valid_name(&[b]), tchar, "{b:#x}");
    }
    assert!(!valid_name(b""));
}

/// `Named` says a looked-up field is in the built section exactly when it
/// is (so skipping the lookup when it says "absent" changes nothing), for
/// requests and responses made of every pair of fields from a set of names
/// in several spellings (uppercase ones are malformed, §8.2.1).
#[test]
fn named_agrees_with_the_built_fields() {
    let names: [&[u8]; 12] = [
        b"host",
        b"Host",
        b"content-length",
        b"content-lengt",
        b"priority",
        b"priorityx",
        b"expect",
        b"Expect",
        b"cookie",
        b"accept",
        b"x",
        b"hosts",
    ];
    let check = |fields: &Fields, named: Named| {
        assert_eq!(named.host, fields.contains("host"), "{fields:?}");
        assert_eq!(named.content_length, fields.contains("content-length"));
        assert_eq!(named.priority, fields.contains("priority"));
        assert_eq!(named.expect, fields.contains("expect"));
    };
    let mut built = 0;
    for a in names {
        for b in names {
            let field = |n: &[u8]| Field {
                name: Bytes::copy_from_slice(n),
                value: Bytes::from_static(b"1"),
                sensitive: false,
            };
            let mut r = RequestBuilder::new(Fields::new());
            for (n, v) in [(":method", "GET"), (":scheme", "https"), (":path", "/")] {
                r.field(Field {
                    name: Bytes::from(n),
                    value: Bytes::from(v),
                    sensitive: false,
                });
            }
            r.field(field(a));
            r.field(field(b));
            let named = r.named();
            if let Ok(head) = r.finish(false) {
                check(&head.fields, named);
                built += 1;
            }
            let mut r = ResponseBuilder::new(false, Fields::new());
            r.field(Field {
                name: Bytes::from_static(b":status"),
                value: Bytes::from_static(b"200"),
                sensitive: false,
            });
            r.field(field(a));
            r.field(field(b));
            let named = r.named();
            if let Ok(head) = r.finish_response() {
                check(&head.fields, named);
                built += 1;
            }
        }
    }
    assert!(built > 150, "{built}");
}

/// §8.2.2: a received field is refused as connection-specific exactly when
/// `connection_specific` (what we never send) names it.
#[test]
fn rfc9113_8_2_2_received_connection_specific_names_are_the_sent_ones() {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "host",
        "cookie",
        "connectio",
        "x",
    ] {
        let mut fields = Fields::new();
        let r = regular_field(
            &mut fields,
            &mut None,
            &mut Named::default(),
            f(name, "trailers"),
        );
        assert_eq!(
            r == Err("connection-specific field"),
            connection_specific(name.as_bytes()),
            "{name}"
        );
    }
}

/// Where `sent_as_is` holds, `response_fields` is `:status` and the head's
/// fields unchanged, in order (so encoding straight from the head sends the
/// same list), and where it does not, the list differs; checked on every
/// pair of fields from names and values that `outgoing` drops, lowercases
/// or keeps.
#[test]
fn sent_as_is_agrees_with_response_fields() {
    let names = [
        "content-type",
        "Content-Type",
        "te",
        "connection",
        "keep-alive",
        "upgrade",
        "host",
        "x-a",
        "transfer-encoding",
        "proxy-connection",
    ];
    let values = ["trailers", "Trailers", "gzip", "text/plain"];
    let mut fast = 0;
    for a in names {
        for b in names {
            for v in values {
                let mut head = ResponseHead::new(200);
                head.fields.push(a, v);
                head.fields.push(b, "x");
                let mut out = Vec::new();
                response_fields(&head, &mut out);
                let as_is: Vec<(Bytes, Bytes)> =
                    core::iter::once((Bytes::from_static(b":status"), status_bytes(200)))
                        .chain(
                            head.fields
                                .iter()
                                .map(|f| (f.name.clone(), f.value.clone())),
                        )
                        .collect();
                if sent_as_is(&head.fields) {
                    fast += 1;
                    assert_eq!(out, as_is, "{a}: {v}, {b}");
                } else {
                    assert_ne!(out, as_is, "{a}: {v}, {b}");
                }
            }
        }
    }
    assert!(fast > 10, "{fast}");
}

/// The word-at-a-time uppercase test agrees with a byte-by-byte one for
/// every pair of bytes in a word.
#[test]
fn has_uppercase_agrees_with_bytewise() {
    for a in 0u8..=255 {
        for b in 0u8..=255 {
            for (i, j) in [(0, 7), (3, 4), (6, 9)] {
                let mut v = [b'x'; 11];
                v[i] = a;
                v[j] = b;
                let naive = v.iter().any(u8::is_ascii_uppercase);
                assert_eq!(has_uppercase(&v), naive, "{a:#x} at {i}, {b:#x} at {j}");
            }
        }
    }
}

/// The word-at-a-time name check agrees with the table for every pair of
/// bytes at several positions of names of several lengths.
#[test]
fn rfc9113_8_2_1_name_check_agrees_with_the_table() {
    let table = |n: &[u8]| !n.is_empty() && n.iter().all(|&b| LOWER_TCHAR[usize::from(b)]);
    for len in [8, 11, 16] {
        for a in 0u8..=255 {
            for b in 0u8..=255 {
                for (i, j) in [(0, 7), (3, 4), (len - 2, len - 1)] {
                    let mut v = vec![b'a'; len];
                    v[i] = a;
                    v[j] = b;
                    assert_eq!(valid_name(&v), table(&v), "{a:#x} at {i}, {b:#x} at {j}");
                }
            }
        }
    }
}
