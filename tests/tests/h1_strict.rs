//! Strict parsing of requests on a raw server (RFC 9112 §2–§7, RFC 9110 §5,
//! §8.6; limits per RFC 6585 §5 and RFC 9110 §15.5.15).
//!
//! Each test feeds one malformed request followed by a well-formed request
//! pipelined behind it, and asserts: exactly one response, with the expected
//! status, `connection: close` and `content-length: 0`; the connection closed
//! with `Closed{Peer(_)}`; the request behind it never parsed nor answered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

const BEHIND: &[u8] = b"GET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n";

fn reject_with(cfg: Config, input: &[u8], statuses_ok: &[u16]) -> Raw {
    let mut raw = Raw::server(cfg).app(echo_server());
    let mut bytes = input.to_vec();
    bytes.extend_from_slice(BEHIND);
    raw.feed(&bytes);
    let out = raw.out();
    let rs = raw.responses();
    assert_eq!(
        rs.len(),
        1,
        "want exactly one response, got:\n{out}\nlog: {:#?}",
        raw.ep.log
    );
    let r = &rs[0];
    assert!(
        statuses_ok.contains(&r.status) && r.status_line.starts_with("HTTP/1.1 "),
        "want HTTP/1.1 {statuses_ok:?}, got {:?}",
        r.status_line
    );
    assert!(
        r.connection_has("close"),
        "no `connection: close` in {out:?}"
    );
    assert_eq!(
        r.field("content-length"),
        Some("0"),
        "error response body framing: {out:?}"
    );
    assert!(r.body.is_empty());
    assert!(
        matches!(raw.closed(), Some(CloseReason::Peer(_))),
        "want Closed{{Peer(_)}}, got {:?}\nlog: {:#?}",
        raw.closed(),
        raw.ep.log
    );
    assert!(
        raw.ep
            .requests()
            .iter()
            .all(|(_, h, _)| &h.target[..] != b"/smuggled"),
        "the request behind the bad one was parsed: {:#?}",
        raw.ep.log
    );
    assert!(
        !out.contains("smuggled"),
        "the request behind the bad one was answered: {out}"
    );
    raw
}

fn reject(input: &[u8], status: u16) -> Raw {
    reject_with(no_timers(), input, &[status])
}

fn peer_error(raw: &Raw) -> PeerError {
    match raw.closed() {
        Some(CloseReason::Peer(e)) => e.clone(),
        other => panic!("not a peer close: {other:?}"),
    }
}

// ---- Message framing (RFC 9112 §6) -----------------------------------------

/// RFC 9112 §6.1/§6.3 rule 3: Content-Length with Transfer-Encoding is a
/// smuggling vector; the server rejects it and closes (§6.1 "ought to be
/// handled as an error").
#[test]
fn rfc9112_6_1_content_length_with_transfer_encoding_is_rejected() {
    reject(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}

/// RFC 9112 §6.3 rule 5: differing Content-Length values (separate lines).
#[test]
fn rfc9112_6_3_differing_duplicate_content_length_is_rejected() {
    reject(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        400,
    );
}

/// RFC 9112 §6.3 rule 5: differing Content-Length values in one list.
#[test]
fn rfc9112_6_3_differing_content_length_list_is_rejected() {
    reject(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5, 6\r\n\r\nhello!",
        400,
    );
}

/// RFC 9110 §8.6 (Content-Length = 1*DIGIT), RFC 9112 §6.3 rule 5: a sign.
#[test]
fn rfc9110_8_6_content_length_with_plus_sign_is_rejected() {
    reject(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: +5\r\n\r\nhello",
        400,
    );
}

/// RFC 9110 §8.6: hexadecimal is not a Content-Length.
#[test]
fn rfc9110_8_6_content_length_hex_is_rejected() {
    reject(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0x5\r\n\r\nhello",
        400,
    );
}

/// RFC 9110 §8.6: an empty Content-Length.
#[test]
fn rfc9110_8_6_content_length_empty_is_rejected() {
    reject(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: \r\n\r\nhello",
        400,
    );
}

/// RFC 9110 §8.6 ("anticipate potentially large decimal numerals and prevent
/// parsing errors due to integer conversion overflows").
#[test]
fn rfc9110_8_6_content_length_overflow_is_rejected() {
    reject(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 184467440737095516160\r\n\r\nhello",
        400,
    );
}

/// RFC 9112 §6.3 rule 4: Transfer-Encoding whose final coding is not
/// chunked on a request → 400 and close.
#[test]
fn rfc9112_6_3_transfer_encoding_not_ending_in_chunked_is_rejected() {
    reject(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        400,
    );
}

/// RFC 9112 §6.1: an unknown transfer coding → 501 (Not Implemented).
#[test]
fn rfc9112_6_1_unknown_transfer_coding_is_501() {
    let raw = reject(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: x-custom, chunked\r\n\r\n0\r\n\r\n",
        501,
    );
    assert_eq!(peer_error(&raw), PeerError::UnsupportedTransferCoding);
}

// ---- Field syntax (RFC 9112 §5, RFC 9110 §5.5) -----------------------------

/// RFC 9112 §5.1: whitespace between field name and colon → MUST 400.
#[test]
fn rfc9112_5_1_whitespace_before_colon_is_rejected() {
    reject(b"GET / HTTP/1.1\r\nHost : example.com\r\n\r\n", 400);
}

/// RFC 9112 §5.2: obs-fold in a request (this server rejects rather than
/// unfolds).
#[test]
fn rfc9112_5_2_obs_fold_is_rejected() {
    reject(
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Folded: a\r\n b\r\n\r\n",
        400,
    );
}

/// RFC 9112 §2.2: a bare CR outside the content → reject.
#[test]
fn rfc9112_2_2_bare_cr_in_field_is_rejected() {
    reject(
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\rb\r\n\r\n",
        400,
    );
}

/// RFC 9110 §5.5: NUL in a field value → reject.
#[test]
fn rfc9110_5_5_nul_in_field_value_is_rejected() {
    reject(
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\0b\r\n\r\n",
        400,
    );
}

/// RFC 9110 §5.5: other CTL characters in a field value are invalid.
#[test]
fn rfc9110_5_5_ctl_in_field_value_is_rejected() {
    reject(
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\x01b\r\n\r\n",
        400,
    );
}

/// RFC 9110 §5.5: DEL in a field value is a CTL too.
#[test]
fn rfc9110_5_5_del_in_field_value_is_rejected() {
    reject(
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\x7fb\r\n\r\n",
        400,
    );
}

// ---- Request line and Host (RFC 9112 §3) -----------------------------------

/// RFC 9112 §3: a request line without a version.
#[test]
fn rfc9112_3_request_line_without_version_is_rejected() {
    reject(b"GET /\r\nHost: example.com\r\n\r\n", 400);
}

/// RFC 9112 §3/§2.3: a malformed HTTP-version.
#[test]
fn rfc9112_2_3_malformed_http_version_is_rejected() {
    reject(b"GET / HTTX/1.1\r\nHost: example.com\r\n\r\n", 400);
}

/// RFC 9112 §3: one SP between the parts; no autocorrection.
#[test]
fn rfc9112_3_request_line_with_double_space_is_rejected() {
    reject(b"GET  / HTTP/1.1\r\nHost: example.com\r\n\r\n", 400);
}

/// RFC 9112 §3.2: an HTTP/1.1 request without Host → MUST 400.
#[test]
fn rfc9112_3_2_missing_host_is_rejected() {
    let raw = reject(b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400);
    assert_eq!(peer_error(&raw), PeerError::BadHost);
}

/// RFC 9112 §3.2: more than one Host → MUST 400.
#[test]
fn rfc9112_3_2_duplicate_host_is_rejected() {
    let raw = reject(
        b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
        400,
    );
    assert_eq!(peer_error(&raw), PeerError::BadHost);
}

// ---- Chunked coding (RFC 9112 §7.1) ----------------------------------------

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut v =
        b"POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    v.extend_from_slice(body);
    v
}

fn reject_chunk(body: &[u8]) -> Raw {
    let raw = reject(&chunked(body), 400);
    assert!(
        matches!(peer_error(&raw), PeerError::BadChunk(_)),
        "{:?}",
        raw.closed()
    );
    raw
}

/// RFC 9112 §7.1: a chunk size that overflows 64 bits.
#[test]
fn rfc9112_7_1_chunk_size_overflow_is_rejected() {
    reject_chunk(b"10000000000000000\r\nx\r\n0\r\n\r\n");
}

/// RFC 9112 §7.1: chunk-size = 1*HEXDIG, not empty.
#[test]
fn rfc9112_7_1_empty_chunk_size_is_rejected() {
    reject_chunk(b"\r\nhello\r\n0\r\n\r\n");
}

/// RFC 9112 §7.1: `0x` is not hex digits.
#[test]
fn rfc9112_7_1_chunk_size_0x_prefix_is_rejected() {
    reject_chunk(b"0x5\r\nhello\r\n0\r\n\r\n");
}

/// RFC 9112 §7.1: no whitespace before the chunk size.
#[test]
fn rfc9112_7_1_chunk_size_leading_space_is_rejected() {
    reject_chunk(b" 5\r\nhello\r\n0\r\n\r\n");
}

/// RFC 9112 §7.1: whitespace inside the chunk size.
#[test]
fn rfc9112_7_1_chunk_size_inner_space_is_rejected() {
    reject_chunk(b"5 5\r\nhello\r\n0\r\n\r\n");
}

/// RFC 9112 §7.1, §2.2: a bare LF inside a chunk extension.
#[test]
fn rfc9112_7_1_bare_lf_in_chunk_extension_is_rejected() {
    reject_chunk(b"5;a\nb\r\nhello\r\n0\r\n\r\n");
}

/// RFC 9112 §7.1, §2.2: a bare CR inside a chunk extension.
#[test]
fn rfc9112_7_1_bare_cr_in_chunk_extension_is_rejected() {
    reject_chunk(b"5;a\rb\r\nhello\r\n0\r\n\r\n");
}

/// RFC 9112 §7.1: NUL in the chunk-size line.
#[test]
fn rfc9112_7_1_nul_in_chunk_line_is_rejected() {
    reject_chunk(b"5\0\r\nhello\r\n0\r\n\r\n");
}

/// RFC 9112 §7.1: chunk data not followed by CRLF.
#[test]
fn rfc9112_7_1_chunk_data_without_crlf_is_rejected() {
    reject_chunk(b"5\r\nhelloXX0\r\n\r\n");
}

/// RFC 9112 §7.1.1: "limit the total length of chunk extensions"; a line over
/// `max_chunk_line` is rejected.
#[test]
fn rfc9112_7_1_1_oversized_chunk_extension_is_rejected() {
    let mut body = b"5;".to_vec();
    body.extend(std::iter::repeat_n(b'a', 2000));
    body.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    let mut cfg = no_timers();
    cfg.max_chunk_line = 1024;
    reject_with(cfg, &chunked(&body), &[400]);
}

/// RFC 9112 §7.1.2: a trailer section over `max_trailer_bytes` is refused
/// (the contract does not fix the status: 400 or 431 are both "limits").
#[test]
fn rfc9112_7_1_2_oversized_trailers_are_rejected() {
    let mut body = b"5\r\nhello\r\n0\r\n".to_vec();
    for i in 0..100 {
        body.extend_from_slice(format!("x-trailer-{i}: {}\r\n", "v".repeat(50)).as_bytes());
    }
    body.extend_from_slice(b"\r\n");
    let mut cfg = no_timers();
    cfg.max_trailer_bytes = 1024;
    reject_with(cfg, &chunked(&body), &[400, 431]);
}

// ---- Line endings (RFC 9112 §2.2) ------------------------------------------

/// RFC 9112 §2.2: bare LF line endings are rejected by default (the MAY is
/// off because it enables smuggling through proxies).
#[test]
fn rfc9112_2_2_bare_lf_rejected_by_default() {
    reject(b"GET / HTTP/1.1\nHost: example.com\n\n", 400);
}

/// RFC 9112 §2.2: with `allow_bare_lf`, a recipient MAY accept bare LF.
#[test]
fn rfc9112_2_2_bare_lf_accepted_with_allow_bare_lf() {
    let mut cfg = no_timers();
    cfg.allow_bare_lf = true;
    let mut raw = Raw::server(cfg).app(echo_server());
    raw.feed(b"GET /a HTTP/1.1\nHost: example.com\n\nGET /b HTTP/1.1\r\nHost: example.com\r\n\r\n");
    let rs = raw.responses();
    assert_eq!(
        rs.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![200, 200],
        "{}",
        raw.out()
    );
    assert_eq!(rs[0].body, b"GET /a ");
    assert_eq!(rs[1].body, b"GET /b ");
    assert!(raw.closed().is_none());
}

// ---- Limits (RFC 6585 §5, RFC 9110 §15.5.15) -------------------------------

/// RFC 6585 §5: a head over `max_head_bytes` → 431.
#[test]
fn rfc6585_5_head_too_large_is_431() {
    let mut req = b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Big: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 20 * 1024));
    req.extend_from_slice(b"\r\n\r\n");
    let raw = reject(&req, 431);
    assert_eq!(peer_error(&raw), PeerError::HeadTooLarge);
}

/// RFC 6585 §5: more than `max_headers` fields → 431.
#[test]
fn rfc6585_5_too_many_headers_is_431() {
    let mut req = b"GET / HTTP/1.1\r\nHost: example.com\r\n".to_vec();
    for i in 0..150 {
        req.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let raw = reject(&req, 431);
    assert_eq!(peer_error(&raw), PeerError::TooManyHeaders);
}

/// RFC 9110 §15.5.15: a target over `max_uri_len` → 414.
#[test]
fn rfc9110_15_5_15_uri_too_long_is_414() {
    let mut req = b"GET /".to_vec();
    req.extend(std::iter::repeat_n(b'a', 9 * 1024));
    req.extend_from_slice(b" HTTP/1.1\r\nHost: example.com\r\n\r\n");
    let raw = reject(&req, 414);
    assert_eq!(peer_error(&raw), PeerError::UriTooLong);
}

/// RFC 9112 §6.3 rule 5 counterpart: a valid request with both a body and a
/// request behind it is answered twice (guards the helpers above against
/// passing vacuously).
#[test]
fn rfc9112_6_3_valid_content_length_request_and_the_next_are_answered() {
    let mut raw = Raw::server(no_timers()).app(echo_server());
    let mut bytes =
        b"POST /p HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello".to_vec();
    bytes.extend_from_slice(BEHIND);
    raw.feed(&bytes);
    let rs = raw.responses();
    assert_eq!(rs.len(), 2, "{}", raw.out());
    assert_eq!(rs[0].body, b"POST /p hello");
    assert_eq!(rs[1].body, b"GET /smuggled ");
    assert!(raw.closed().is_none());
}
