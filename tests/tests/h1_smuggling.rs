//! The RFC 9112 request-smuggling table (issue 5 §2), run through the core's
//! deterministic harness and over loopback against every adapter.
//!
//! [`CASES`] holds every ambiguous or malformed request: each must get exactly
//! one response with the row's status and `connection: close`, the connection
//! must then close, and a valid request pipelined behind it in the same write
//! must never be parsed, handed to a handler, nor answered. [`VALID`] holds
//! the look-alikes the RFC allows: each must be answered, and so must the
//! request behind it (so that the rejections are not a parser refusing
//! everything).
//!
//! Decisions recorded here (the core's behaviour, asserted by the table):
//! - RFC 9110 §8.6 lets a recipient accept identical duplicate
//!   `Content-Length` values as one; the core does (rows `cl_duplicate_same*`
//!   in [`VALID`]).
//! - Any `Transfer-Encoding` together with `Content-Length` is rejected, not
//!   resolved in favour of `Transfer-Encoding` (RFC 9112 §6.3 rule 3 allows
//!   either; rejecting closes every CL.TE / TE.CL variant at once). So the
//!   TE.TE obfuscations are sent with a `Content-Length`, as attackers do.
//! - Whitespace around a field value is OWS (RFC 9110 §5.5): `Transfer-Encoding:
//!   \tchunked` alone is valid and answered; transfer-coding names are
//!   case-insensitive (RFC 9112 §7), so `CHUNKED` is answered too.
//! - An absolute-form target whose authority disagrees with `Host` is not an
//!   ambiguity: RFC 9112 §3.2.2 says the target's authority wins. The core
//!   accepts it (row `absolute_form_host_mismatch` in [`VALID`]).
//! - Head limits (431, 414) are in `attack_h1.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Only the servers and the handler-call counter are used here.
#[allow(unused_macros, unused_imports)]
mod attack_support;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use attack_support::{Adapter, Server};
use tests::*;

/// A chunked POST whose first chunk-size line is `1;` and 1100 × `a`: longer
/// than the default `max_chunk_line` (1024).
const LONG_EXT_HEAD: &[u8] =
    b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1;";
const LONG_EXT_TAIL: &[u8] = b"\r\nx\r\n0\r\n\r\n";
const LONG_EXT_LEN: usize = LONG_EXT_HEAD.len() + 1100 + LONG_EXT_TAIL.len();
const LONG_EXTENSION: [u8; LONG_EXT_LEN] = long_extension();

const fn long_extension() -> [u8; LONG_EXT_LEN] {
    let mut out = [b'a'; LONG_EXT_LEN];
    let mut i = 0;
    while i < LONG_EXT_HEAD.len() {
        out[i] = LONG_EXT_HEAD[i];
        i += 1;
    }
    let mut j = 0;
    while j < LONG_EXT_TAIL.len() {
        out[LONG_EXT_LEN - LONG_EXT_TAIL.len() + j] = LONG_EXT_TAIL[j];
        j += 1;
    }
    out
}

macro_rules! table {
    ($( $name:ident, $status:literal, $rfc:literal, $bytes:expr; )*) => {
        /// (name, request bytes, expected status, RFC section): each is
        /// answered with exactly that status and `connection: close`, then
        /// the connection closes.
        const CASES: &[(&str, &[u8], u16, &str)] = &[
            $( (stringify!($name), $bytes, $status, $rfc), )*
        ];

        /// One test per row, named after it.
        mod rejected {
            $(
                #[test]
                fn $name() {
                    super::check_rejected(stringify!($name));
                }
            )*
        }
    };
}

table! {
    // ---- CL.TE / TE.CL (RFC 9112 §6.1, §6.3 rule 3) ----
    cl_te, 400, "RFC 9112 §6.1, §6.3 rule 3",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG";
    te_cl, 400, "RFC 9112 §6.1, §6.3 rule 3",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n";
    te_cl_zero, 400, "RFC 9112 §6.1, §6.3 rule 3",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";

    // ---- TE.TE obfuscations (RFC 9112 §6.1, §6.3, §7; RFC 9110 §5.5) ----
    te_xchunked, 400, "RFC 9112 §6.3 rule 4 (final coding not chunked)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n";
    te_xchunked_with_cl, 400, "RFC 9112 §6.1, §6.3 rule 3",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n";
    te_leading_space_value_with_cl, 400, "RFC 9112 §6.3 rule 3",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nTransfer-Encoding:  chunked\r\n\r\n0\r\n\r\n";
    te_tab_before_value_with_cl, 400, "RFC 9112 §6.3 rule 3",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n";
    te_leading_space_name, 400, "RFC 9112 §5.2 (obs-fold), §2.2",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    te_space_before_colon, 400, "RFC 9112 §5.1",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n";
    te_tab_before_colon, 400, "RFC 9112 §5.1",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n";
    te_chunked_identity, 400, "RFC 9112 §6.3 rule 4",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n";
    te_identity_chunked, 501, "RFC 9112 §6.1 (unknown coding: 501)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n";
    te_duplicate_chunked_lines, 400, "RFC 9112 §6.1 (chunked at most once)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    te_chunked_chunked_list, 400, "RFC 9112 §6.1 (chunked at most once)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n";
    te_chunked_then_x, 400, "RFC 9112 §6.3 rule 4, RFC 9110 §5.3",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\n";
    te_in_http10, 400, "RFC 9112 §6.1 (TE in HTTP/1.0 is faulty framing)",
        b"POST /echo HTTP/1.0\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    te_vertical_tab, 400, "RFC 9110 §5.5 (CTL in a field value)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n";
    te_form_feed, 400, "RFC 9110 §5.5 (CTL in a field value)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\x0c\r\n\r\n0\r\n\r\n";
    te_quoted, 400, "RFC 9112 §7 (a coding is a token)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n";
    te_chunked_with_parameter, 400, "RFC 9112 §7.1 (chunked takes no parameters)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n";
    te_empty, 400, "RFC 9112 §6.1 (Transfer-Encoding = #transfer-coding)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: \r\n\r\n0\r\n\r\n";
    te_obs_fold, 400, "RFC 9112 §5.2",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n";
    te_nul, 400, "RFC 9110 §5.5",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\0\r\n\r\n0\r\n\r\n";
    te_gzip_chunked, 501, "RFC 9112 §6.1 (unknown coding: 501)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n";

    // ---- Content-Length (RFC 9110 §8.6, RFC 9112 §6.3 rule 5) ----
    cl_duplicate_different, 400, "RFC 9112 §6.3 rule 5",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
    cl_list_different, 400, "RFC 9112 §6.3 rule 5",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1,2\r\n\r\nab";
    cl_plus, 400, "RFC 9110 §8.6 (1*DIGIT)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: +1\r\n\r\na";
    cl_minus, 400, "RFC 9110 §8.6 (1*DIGIT)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: -1\r\n\r\na";
    cl_decimal_point, 400, "RFC 9110 §8.6 (1*DIGIT)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1.0\r\n\r\na";
    cl_hex, 400, "RFC 9110 §8.6 (1*DIGIT)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0x10\r\n\r\n0123456789abcdef";
    cl_empty, 400, "RFC 9110 §8.6 (1*DIGIT)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: \r\n\r\n";
    cl_overflow, 400, "RFC 9110 §8.6 (integer overflow)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 18446744073709551616\r\n\r\na";
    cl_inner_space, 400, "RFC 9110 §8.6 (1*DIGIT)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1 2\r\n\r\nab";
    cl_trailing_garbage, 400, "RFC 9110 §8.6 (1*DIGIT)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1x\r\n\r\na";
    cl_empty_list_element, 400, "RFC 9110 §8.6 (1*DIGIT)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1,\r\n\r\na";

    // ---- Chunked coding (RFC 9112 §7.1) ----
    chunk_size_overflow, 400, "RFC 9112 §7.1 (integer overflow)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\nx\r\n0\r\n\r\n";
    chunk_size_negative, 400, "RFC 9112 §7.1 (1*HEXDIG)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n";
    chunk_size_0x, 400, "RFC 9112 §7.1 (1*HEXDIG)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\nx\r\n0\r\n\r\n";
    chunk_size_empty, 400, "RFC 9112 §7.1 (1*HEXDIG)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n\r\nx\r\n0\r\n\r\n";
    chunk_size_leading_space, 400, "RFC 9112 §7.1",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n 1\r\nx\r\n0\r\n\r\n";
    chunk_size_trailing_space, 400, "RFC 9112 §7.1 (BWS only before ';')",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n0\r\n\r\n";
    chunk_size_trailing_tab, 400, "RFC 9112 §7.1 (BWS only before ';')",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1\t\r\nx\r\n0\r\n\r\n";
    chunk_data_missing_crlf, 400, "RFC 9112 §7.1 (chunk-data CRLF)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy0\r\n\r\n";
    chunk_size_bare_lf, 400, "RFC 9112 §7.1, §2.2 (bare LF)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n";
    chunk_data_bare_lf, 400, "RFC 9112 §7.1, §2.2 (bare LF)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\n0\r\n\r\n";
    chunk_last_bare_lf, 400, "RFC 9112 §7.1, §2.2 (bare LF)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n0\n\r\n";
    chunk_size_bare_cr, 400, "RFC 9112 §7.1, §2.2 (bare CR)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1\rx\r\n0\r\n\r\n";
    chunk_extension_too_long, 400, "RFC 9112 §7.1.1 (limit extension length)",
        &LONG_EXTENSION;
    chunk_extension_bare_cr, 400, "RFC 9112 §7.1.1, §2.2 (bare CR)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1;a\rb\r\nx\r\n0\r\n\r\n";
    chunk_extension_bare_lf, 400, "RFC 9112 §7.1.1, §2.2 (bare LF)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1;a\nb\r\nx\r\n0\r\n\r\n";
    chunk_extension_nul, 400, "RFC 9112 §7.1.1 (token / quoted-string)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\0\r\nx\r\n0\r\n\r\n";
    chunk_extension_without_name, 400, "RFC 9112 §7.1.1 (chunk-ext-name = token)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1;\r\nx\r\n0\r\n\r\n";
    chunk_size_nul, 400, "RFC 9112 §7.1 (1*HEXDIG)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1\0\r\nx\r\n0\r\n\r\n";
    chunk_trailer_without_colon, 400, "RFC 9112 §7.1.2 (trailer fields are field-lines)",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Bad\r\n\r\n";
    chunk_trailer_obs_fold, 400, "RFC 9112 §7.1.2, §5.2",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: a\r\n b\r\n\r\n";

    // ---- Line endings and folding (RFC 9112 §2.2, §5.2) ----
    bare_cr_in_field_value, 400, "RFC 9112 §2.2 (bare CR)",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\rb\r\n\r\n";
    bare_cr_in_request_line, 400, "RFC 9112 §2.2 (bare CR)",
        b"GET /\r HTTP/1.1\r\nHost: example.com\r\n\r\n";
    bare_cr_line_ending, 400, "RFC 9112 §2.2 (bare CR)",
        b"GET / HTTP/1.1\r\nHost: example.com\rX-A: b\r\n\r\n";
    bare_lf_everywhere, 400, "RFC 9112 §2.2 (bare LF off by default)",
        b"GET / HTTP/1.1\nHost: example.com\n\n";
    bare_lf_one_field, 400, "RFC 9112 §2.2 (bare LF off by default)",
        b"GET / HTTP/1.1\r\nHost: example.com\nX-A: b\r\n\r\n";
    bare_lf_end_of_head, 400, "RFC 9112 §2.2 (bare LF off by default)",
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\n";
    obs_fold, 400, "RFC 9112 §5.2",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\r\n b\r\n\r\n";
    obs_fold_tab, 400, "RFC 9112 §5.2",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\r\n\tb\r\n\r\n";
    whitespace_before_first_field, 400, "RFC 9112 §2.2",
        b"GET / HTTP/1.1\r\n Host: example.com\r\n\r\n";

    // ---- Host (RFC 9112 §3.2) ----
    host_missing, 400, "RFC 9112 §3.2",
        b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n";
    host_duplicate_different, 400, "RFC 9112 §3.2",
        b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n";
    host_duplicate_same, 400, "RFC 9112 §3.2 (more than one Host line)",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nHost: example.com\r\n\r\n";
    host_duplicate_http10, 400, "RFC 9112 §3.2",
        b"GET / HTTP/1.0\r\nHost: a.example\r\nHost: b.example\r\n\r\n";
    host_with_space, 400, "RFC 9112 §3.2, RFC 3986 §3.2.2",
        b"GET / HTTP/1.1\r\nHost: a.example b.example\r\n\r\n";
    host_with_slash, 400, "RFC 9112 §3.2, RFC 3986 §3.2.2",
        b"GET / HTTP/1.1\r\nHost: example.com/evil\r\n\r\n";
    host_with_userinfo, 400, "RFC 9112 §3.2, RFC 3986 §3.2.2",
        b"GET / HTTP/1.1\r\nHost: user@example.com\r\n\r\n";

    // ---- NUL and other controls (RFC 9110 §5.5, §5.1) ----
    nul_in_field_value, 400, "RFC 9110 §5.5",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\0b\r\n\r\n";
    nul_in_field_name, 400, "RFC 9110 §5.1 (field-name = token)",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-\0A: b\r\n\r\n";
    nul_in_request_target, 400, "RFC 9112 §3.2",
        b"GET /\0 HTTP/1.1\r\nHost: example.com\r\n\r\n";
    nul_in_method, 400, "RFC 9112 §3.1 (method = token)",
        b"G\0ET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    space_in_field_name, 400, "RFC 9110 §5.1 (field-name = token)",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX A: b\r\n\r\n";
    empty_field_name, 400, "RFC 9110 §5.1 (field-name = token)",
        b"GET / HTTP/1.1\r\nHost: example.com\r\n: b\r\n\r\n";

    // ---- Request line (RFC 9112 §3, §2.3) ----
    request_line_double_space, 400, "RFC 9112 §3 (single SP)",
        b"GET  / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    request_line_tab, 400, "RFC 9112 §3 (single SP)",
        b"GET\t/ HTTP/1.1\r\nHost: example.com\r\n\r\n";
    request_line_trailing_space, 400, "RFC 9112 §3",
        b"GET / HTTP/1.1 \r\nHost: example.com\r\n\r\n";
    request_target_with_space, 400, "RFC 9112 §3",
        b"GET /a b HTTP/1.1\r\nHost: example.com\r\n\r\n";
    version_lowercase, 400, "RFC 9112 §2.3 (HTTP-name is case-sensitive)",
        b"GET / http/1.1\r\nHost: example.com\r\n\r\n";
    version_missing, 400, "RFC 9112 §3",
        b"GET /\r\nHost: example.com\r\n\r\n";
}

/// Look-alikes that the RFC allows: (name, request bytes, RFC section). Each
/// is answered with 200, and the request behind it too.
const VALID: &[(&str, &[u8], &str)] = &[
    (
        "te_uppercase_chunked",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n",
        "RFC 9112 §7 (coding names are case-insensitive)",
    ),
    (
        "te_tab_before_value",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding:\tchunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
        "RFC 9112 §5.1 (OWS before the value)",
    ),
    (
        "te_spaces_around_value",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding:   chunked  \r\n\r\n1\r\nx\r\n0\r\n\r\n",
        "RFC 9112 §5.1 (OWS around the value)",
    ),
    (
        "te_empty_list_elements",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: ,chunked,\r\n\r\n1\r\nx\r\n0\r\n\r\n",
        "RFC 9110 §5.6.1.2 (empty list elements are ignored)",
    ),
    (
        "cl_duplicate_same",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "RFC 9110 §8.6 (identical values may be taken as one)",
    ),
    (
        "cl_duplicate_same_list",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1, 1\r\n\r\nx",
        "RFC 9110 §8.6 (identical values may be taken as one)",
    ),
    (
        "cl_leading_zeros",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 001\r\n\r\nx",
        "RFC 9110 §8.6 (1*DIGIT)",
    ),
    (
        "chunk_extensions",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1 ; a=b ; q=\"x;y\"\r\nx\r\n0;last\r\n\r\n",
        "RFC 9112 §7.1.1 (BWS around ';' and '=')",
    ),
    (
        "chunk_size_uppercase_hex_leading_zeros",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n000A\r\n0123456789\r\n0000\r\n\r\n",
        "RFC 9112 §7.1 (1*HEXDIG)",
    ),
    (
        "chunk_trailers",
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: v\r\n\r\n",
        "RFC 9112 §7.1.2",
    ),
    (
        "empty_lines_before_request_line",
        b"\r\n\r\nGET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "RFC 9112 §2.2 (ignore at least one CRLF before the request)",
    ),
    (
        "http10_without_host",
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "RFC 9112 §3.2 (Host is required in HTTP/1.1 only)",
    ),
    (
        "absolute_form_host_mismatch",
        b"GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n",
        "RFC 9112 §3.2.2 (the target's authority wins)",
    ),
];

/// The request pipelined behind each case, with a per-case target so that a
/// handler call for it can be attributed.
fn behind(name: &str) -> Vec<u8> {
    format!("GET /smuggled-{name} HTTP/1.1\r\nHost: example.com\r\n\r\n").into_bytes()
}

fn case(name: &str) -> (&'static [u8], u16, &'static str) {
    let &(_, bytes, status, rfc) = CASES
        .iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    (bytes, status, rfc)
}

/// Runs row `name` through the core, then over loopback on every adapter.
fn check_rejected(name: &str) {
    let (bytes, status, rfc) = case(name);
    let mut input = bytes.to_vec();
    input.extend_from_slice(&behind(name));
    core_rejects(name, &input, status, rfc);
    for adapter in ADAPTERS {
        adapter_rejects(adapter, name, &input, status, rfc);
    }
}

// ---------------------------------------------------------------------------
// (a) The core, through the deterministic harness
// ---------------------------------------------------------------------------

/// The whole input in one `recv`, then byte by byte: both must reject with
/// `status`, answer once, close, and never parse the request behind.
fn core_rejects(name: &str, input: &[u8], status: u16, rfc: &str) {
    for delivery in [Delivery::WHOLE, Delivery::BYTEWISE] {
        let ctx = format!("core, case {name} ({rfc}), {delivery:?}");
        let mut raw = Raw::with(Side::Server, no_timers(), delivery).app(echo_server());
        raw.feed(input);
        let out = raw.out();
        let rs = raw.responses();
        assert_eq!(rs.len(), 1, "{ctx}: want one response, got {out:?}");
        let r = &rs[0];
        assert_eq!(r.status, status, "{ctx}: {out:?}");
        assert!(
            r.connection_has("close"),
            "{ctx}: no connection: close in {out:?}"
        );
        assert!(
            matches!(raw.closed(), Some(CloseReason::Peer(_))),
            "{ctx}: want Closed{{Peer(_)}}, got {:?}",
            raw.closed()
        );
        assert!(
            raw.ep
                .requests()
                .iter()
                .all(|(_, h, _)| !h.target.starts_with(b"/smuggled")),
            "{ctx}: the request behind was parsed: {:#?}",
            raw.ep.log
        );
        assert!(
            !out.contains("smuggled"),
            "{ctx}: the request behind was answered: {out}"
        );
    }
}

/// Row `name` of [`VALID`] and the request behind it are both answered 200,
/// and the connection stays open.
fn core_accepts(name: &str, input: &[u8], rfc: &str) {
    for delivery in [Delivery::WHOLE, Delivery::BYTEWISE] {
        let ctx = format!("core, valid case {name} ({rfc}), {delivery:?}");
        let mut raw = Raw::with(Side::Server, no_timers(), delivery).app(echo_server());
        raw.feed(input);
        let out = raw.out();
        let rs = raw.responses();
        let statuses: Vec<u16> = rs.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [200, 200], "{ctx}: {out:?}");
        assert!(
            String::from_utf8_lossy(&rs[1].body).starts_with(&format!("GET /smuggled-{name}")),
            "{ctx}: second answer is not for the request behind: {out:?}"
        );
        assert!(raw.closed().is_none(), "{ctx}: closed: {:?}", raw.closed());
    }
}

#[test]
fn valid_look_alikes_are_answered() {
    for &(name, bytes, rfc) in VALID {
        let mut input = bytes.to_vec();
        input.extend_from_slice(&behind(name));
        core_accepts(name, &input, rfc);
        for adapter in ADAPTERS {
            adapter_accepts(adapter, name, &input, rfc);
        }
    }
}

// ---------------------------------------------------------------------------
// (b) Every adapter over loopback
// ---------------------------------------------------------------------------

const ADAPTERS: [Adapter; 3] = [Adapter::Tokio, Adapter::Smol, Adapter::Std];

/// How long the server may take to answer and close.
const CLOSE_BOUND: Duration = Duration::from_secs(5);

/// One server per adapter for the whole binary, with the default `Config`
/// (the limits and strictness a user gets). Rows run in parallel on it; each
/// row's request behind has its own target, so handler calls are
/// attributable. The servers live until the process exits.
fn server(adapter: Adapter) -> SocketAddr {
    static SERVERS: [OnceLock<SocketAddr>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match adapter {
        Adapter::Tokio => &SERVERS[0],
        Adapter::Smol => &SERVERS[1],
        Adapter::Std => &SERVERS[2],
    };
    *slot.get_or_init(|| {
        let server = Server::start(adapter, Config::default());
        let addr = server.addr;
        // Kept running: stopping it would race the other rows' tests.
        std::mem::forget(server);
        addr
    })
}

/// How the server's side of the connection ended, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// A clean EOF.
    Eof,
    /// A read error (e.g. a reset) after the bytes in the transcript.
    Error(io::ErrorKind),
    /// Still open at the bound.
    Open,
}

/// Sends `input` in one write, then reads until the server closes or
/// [`CLOSE_BOUND`] passes.
fn exchange(addr: SocketAddr, input: &[u8]) -> (Vec<u8>, End, Duration) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    let start = Instant::now();
    s.write_all(input).expect("write the request bytes");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if start.elapsed() > CLOSE_BOUND {
            break End::Open;
        }
        match s.read(&mut buf) {
            Ok(0) => break End::Eof,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break End::Error(e.kind()),
        }
    };
    (out, end, start.elapsed())
}

fn adapter_rejects(adapter: Adapter, name: &str, input: &[u8], status: u16, rfc: &str) {
    let ctx = format!("{adapter:?} over loopback, case {name} ({rfc})");
    let (out, end, took) = exchange(server(adapter), input);
    let text = show(&out);
    let rs = parse_responses(&out);
    assert_eq!(rs.len(), 1, "{ctx}: want one response, got {text}");
    let r = &rs[0];
    assert_eq!(r.status, status, "{ctx}: {text}");
    assert!(
        r.connection_has("close"),
        "{ctx}: no connection: close in {text}"
    );
    assert_eq!(
        end,
        End::Eof,
        "{ctx}: not closed cleanly within {CLOSE_BOUND:?} ({took:?}): {text}"
    );
    assert!(
        !text.contains("smuggled"),
        "{ctx}: the request behind was answered: {text}"
    );
    let calls = attack_support::calls::count(&format!("/smuggled-{name}"));
    assert_eq!(
        calls, 0,
        "{ctx}: a handler was called for the request behind"
    );
}

fn adapter_accepts(adapter: Adapter, name: &str, input: &[u8], rfc: &str) {
    let ctx = format!("{adapter:?} over loopback, valid case {name} ({rfc})");
    let mut input = input.to_vec();
    // Ask the server to close after the request behind, so the read ends.
    let at = input.len() - 2;
    input.splice(at..at, *b"Connection: close\r\n");
    let path = format!("/smuggled-{name}");
    let before = attack_support::calls::count(&path);
    let (out, end, took) = exchange(server(adapter), &input);
    let text = show(&out);
    let rs = parse_responses(&out);
    let statuses: Vec<u16> = rs.iter().map(|r| r.status).collect();
    // `/smuggled-*` is not a route: the request behind is answered 404.
    assert_eq!(statuses, [200, 404], "{ctx}: {text}");
    assert_eq!(
        end,
        End::Eof,
        "{ctx}: not closed within {CLOSE_BOUND:?} ({took:?}): {text}"
    );
    let calls = attack_support::calls::count(&path) - before;
    assert_eq!(calls, 1, "{ctx}: handler calls for the request behind");
}

/// Guards the table against typos: names are unique and every row has a
/// request behind it that the core would otherwise answer.
#[test]
fn table_names_are_unique() {
    let mut names: Vec<&str> = CASES
        .iter()
        .map(|c| c.0)
        .chain(VALID.iter().map(|c| c.0))
        .collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "duplicate case names");
}
