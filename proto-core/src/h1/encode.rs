//! Serializing heads (RFC 9112 §3, §4, §5).
//!
//! Everything is validated before the first byte is written, so a failed call
//! leaves `dst` as it was; then the exact length is reserved once and the
//! pieces are copied in. Numbers are formatted on the stack.

use bytes::BytesMut;

use crate::error::UserError;
use crate::event::Version;
use crate::head::{Fields, HeaderField, RequestHead, ResponseHead, reason_phrase};

use super::parse::is_token;

/// Framing fields the connection adds after the application's own fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Extra {
    /// Add `content-length: N`.
    pub content_length: Option<u64>,
    /// Add `transfer-encoding: chunked`.
    pub chunked: bool,
    /// Add `connection: close`.
    pub close: bool,
    /// Add `connection: keep-alive` (HTTP/1.0 peers). Ignored with `close`.
    pub keep_alive: bool,
}

impl Extra {
    /// The encoded length of these fields.
    fn len(self) -> usize {
        let mut n = 0;
        if let Some(len) = self.content_length {
            n += b"content-length: \r\n".len() + Digits::new(len).as_bytes().len();
        }
        if self.chunked {
            n += b"transfer-encoding: chunked\r\n".len();
        }
        if self.close {
            n += b"connection: close\r\n".len();
        } else if self.keep_alive {
            n += b"connection: keep-alive\r\n".len();
        }
        n
    }

    fn write(self, dst: &mut BytesMut) {
        if let Some(len) = self.content_length {
            dst.extend_from_slice(b"content-length: ");
            dst.extend_from_slice(Digits::new(len).as_bytes());
            dst.extend_from_slice(b"\r\n");
        }
        if self.chunked {
            dst.extend_from_slice(b"transfer-encoding: chunked\r\n");
        }
        // Both would contradict each other; closing is the safe reading.
        if self.close {
            dst.extend_from_slice(b"connection: close\r\n");
        } else if self.keep_alive {
            dst.extend_from_slice(b"connection: keep-alive\r\n");
        }
    }
}

/// Appends a request head. Fails, writing nothing, if a field or the target
/// holds bytes that cannot be sent (CR, LF, NUL; an invalid name).
///
/// The version is `HTTP/1.0` for [`Version::Http10`] and `HTTP/1.1`
/// otherwise (this is the HTTP/1 codec). The method must be a token; the
/// target must be non-empty with no whitespace or control bytes.
pub fn write_request(
    dst: &mut BytesMut,
    head: &RequestHead,
    extra: Extra,
) -> Result<(), UserError> {
    let method = head.method.as_bytes();
    if !is_token(method) {
        return Err(UserError::InvalidHead("method is not a token"));
    }
    let target = &head.target[..];
    // RFC 9112 §3.2: the target is one run of visible characters.
    if target.is_empty() || !target.iter().all(|&b| b > b' ' && b != 0x7f) {
        return Err(UserError::InvalidHead(
            "request target is empty or has whitespace or CTL",
        ));
    }
    let fields_len = validate_fields(&head.fields)?;
    let version: &[u8; 8] = if head.version == Version::Http10 {
        b"HTTP/1.0"
    } else {
        b"HTTP/1.1"
    };

    // method SP target SP version CRLF, fields, extras, CRLF
    let len = method.len() + target.len() + 12 + fields_len + extra.len() + 2;
    dst.reserve(len);
    dst.extend_from_slice(method);
    dst.extend_from_slice(b" ");
    dst.extend_from_slice(target);
    dst.extend_from_slice(b" ");
    dst.extend_from_slice(version);
    dst.extend_from_slice(b"\r\n");
    write_fields(dst, &head.fields);
    extra.write(dst);
    dst.extend_from_slice(b"\r\n");
    Ok(())
}

/// Appends a response head (`HTTP/1.1 <status> <reason>`); an empty reason is
/// replaced by the standard phrase.
///
/// The version is always `HTTP/1.1`, also to HTTP/1.0 clients (RFC 9110 §2.5:
/// a server sends its own highest version). The status must be in 100..=999,
/// the reason free of control bytes other than HTAB.
pub fn write_response(
    dst: &mut BytesMut,
    head: &ResponseHead,
    extra: Extra,
) -> Result<(), UserError> {
    if !(100..=999).contains(&head.status) {
        return Err(UserError::InvalidHead("status code out of range"));
    }
    let reason = if head.reason.is_empty() {
        reason_phrase(head.status).as_bytes()
    } else {
        &head.reason[..]
    };
    // RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
    if !reason.iter().all(|&b| is_field_vchar_or_ws(b)) {
        return Err(UserError::InvalidHead(
            "reason phrase has CR, LF or another CTL",
        ));
    }
    let fields_len = validate_fields(&head.fields)?;

    // "HTTP/1.1 NNN " reason CRLF, fields, extras, CRLF
    let len = 13 + reason.len() + 2 + fields_len + extra.len() + 2;
    dst.reserve(len);
    dst.extend_from_slice(b"HTTP/1.1 ");
    dst.extend_from_slice(Digits::new(u64::from(head.status)).as_bytes());
    dst.extend_from_slice(b" ");
    dst.extend_from_slice(reason);
    dst.extend_from_slice(b"\r\n");
    write_fields(dst, &head.fields);
    extra.write(dst);
    dst.extend_from_slice(b"\r\n");
    Ok(())
}

/// Checks that every field can be sent, and returns their encoded length
/// (`name: value\r\n` each). Names must be tokens (RFC 9110 §5.1); values
/// must not hold CR, LF, NUL (RFC 9110 §5.5) or any other control byte but
/// HTAB, which our own parser would refuse.
pub fn validate_fields(fields: &Fields) -> Result<usize, UserError> {
    let mut len = 0usize;
    for f in fields {
        if !is_token(&f.name) {
            return Err(UserError::InvalidHead("field name is not a token"));
        }
        if !super::ascii::is_field_value(&f.value) {
            return Err(UserError::InvalidHead(
                "field value has CR, LF, NUL or another CTL",
            ));
        }
        len = len
            .saturating_add(f.name.len())
            .saturating_add(f.value.len())
            .saturating_add(4);
    }
    Ok(len)
}

/// True if the field can be sent (see [`validate_fields`]).
pub(crate) fn valid_field(f: &HeaderField) -> bool {
    is_token(&f.name) && super::ascii::is_field_value(&f.value)
}

/// VCHAR, obs-text, SP or HTAB.
fn is_field_vchar_or_ws(b: u8) -> bool {
    b == b'\t' || (b >= b' ' && b != 0x7f)
}

fn write_fields(dst: &mut BytesMut, fields: &Fields) {
    for f in fields {
        dst.extend_from_slice(&f.name);
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(&f.value);
        dst.extend_from_slice(b"\r\n");
    }
}

/// A u64 in decimal, formatted on the stack.
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn new(mut n: u64) -> Self {
        let mut buf = [b'0'; 20];
        let mut start = buf.len();
        loop {
            start -= 1;
            // n % 10 < 10: the cast cannot truncate.
            buf[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Self { buf, start }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
