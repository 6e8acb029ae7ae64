//! Message body length (RFC 9112 §6): which framing a received head declares.
//!
//! Requests are judged strictly, because a server that guesses differently
//! from a proxy in front of it can be made to see two requests where the
//! proxy saw one (request smuggling, RFC 9112 §11.2). Responses follow the
//! RFC's reading rules for clients (§6.3).

use crate::error::PeerError;
use crate::event::Version;
use crate::head::{Fields, Method, RequestHead, ResponseHead};

use super::parse::{is_token, trim_ows};

/// How a message body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    Empty,
    /// Exactly this many bytes (RFC 9112 §6.3 rule 6), never 0 (that is `Empty`).
    Length(u64),
    /// `Transfer-Encoding: chunked` (§7.1).
    Chunked,
    /// Response only: everything until the connection closes (§6.3 rule 8).
    CloseDelimited,
}

/// The framing of a received request (RFC 9112 §6.3 rules 3–6, 7).
///
/// Errors: `Transfer-Encoding` with `Content-Length`, in HTTP/1.0, not ending
/// in `chunked`, or with `chunked` twice → [`PeerError::BadFraming`] (400); a
/// coding other than `chunked` before it →
/// [`PeerError::UnsupportedTransferCoding`] (501); an invalid or conflicting
/// `Content-Length` → [`PeerError::BadFraming`].
pub fn request_body(head: &RequestHead) -> Result<BodyKind, PeerError> {
    let fields = &head.fields;
    if let Some(te) = TransferCodings::parse(fields)? {
        if head.version == Version::Http10 {
            // §6.1: "MUST treat the message as if the framing is faulty".
            return Err(PeerError::BadFraming(
                "Transfer-Encoding in an HTTP/1.0 request",
            ));
        }
        if fields.contains("content-length") {
            // §6.3 rule 3: a classic smuggling vector; rejected, not resolved.
            return Err(PeerError::BadFraming(
                "both Transfer-Encoding and Content-Length",
            ));
        }
        if te.chunked > 1 {
            return Err(PeerError::BadFraming("chunked applied more than once"));
        }
        if !te.last_is_chunked {
            // §6.3 rule 4: the length cannot be determined; MUST answer 400.
            return Err(PeerError::BadFraming(
                "Transfer-Encoding does not end in chunked",
            ));
        }
        if te.others {
            // §6.1: a coding we do not understand SHOULD get 501.
            return Err(PeerError::UnsupportedTransferCoding);
        }
        return Ok(BodyKind::Chunked);
    }
    // §6.3 rules 6 and 7.
    Ok(length(content_length(fields)?))
}

/// The framing of a received response to a request with `method`
/// (RFC 9112 §6.3 rules 1–8). 1xx are never passed here.
///
/// A `Transfer-Encoding` wins over a `Content-Length` (§6.3 rule 3). Codings
/// other than `chunked` only change the framing (§6.3 rule 4: not ending in
/// `chunked` means close-delimited); they are not decoded, and stay visible to
/// the application in the head.
pub fn response_body(method: &Method, head: &ResponseHead) -> Result<BodyKind, PeerError> {
    // Rule 1: whatever the fields say, these have no content.
    if *method == Method::Head || matches!(head.status, 100..=199 | 204 | 304) {
        return Ok(BodyKind::Empty);
    }
    // Rule 2: a successful CONNECT turns the connection into a tunnel.
    if *method == Method::Connect && (200..=299).contains(&head.status) {
        return Ok(BodyKind::Empty);
    }
    let fields = &head.fields;
    if let Some(te) = TransferCodings::parse(fields)? {
        if head.version == Version::Http10 {
            // §6.1: "MUST treat the message as if the framing is faulty".
            return Err(PeerError::BadFraming(
                "Transfer-Encoding in an HTTP/1.0 response",
            ));
        }
        if te.chunked > 1 {
            // §6.1: a sender MUST NOT apply chunked more than once.
            return Err(PeerError::BadFraming("chunked applied more than once"));
        }
        return Ok(if te.last_is_chunked {
            BodyKind::Chunked
        } else {
            BodyKind::CloseDelimited
        });
    }
    match content_length(fields)? {
        None => Ok(BodyKind::CloseDelimited),
        n => Ok(length(n)),
    }
}

fn length(n: Option<u64>) -> BodyKind {
    match n {
        None | Some(0) => BodyKind::Empty,
        Some(n) => BodyKind::Length(n),
    }
}

/// A summary of all `Transfer-Encoding` fields, read as one list.
#[derive(Debug, Default)]
struct TransferCodings {
    /// How many times `chunked` appears.
    chunked: usize,
    /// Whether the final coding is `chunked`.
    last_is_chunked: bool,
    /// Whether any coding other than `chunked` appears.
    others: bool,
}

impl TransferCodings {
    /// `None` if there is no `Transfer-Encoding` field.
    ///
    /// The fields are one comma-separated list (RFC 9110 §5.3); names are
    /// case-insensitive (RFC 9112 §7). Empty list elements are ignored, as
    /// RFC 9110 §5.6.1.2 requires of recipients; a field with no coding at all
    /// is an error. A `chunked` with parameters is invalid (none are defined).
    fn parse(fields: &Fields) -> Result<Option<Self>, PeerError> {
        let mut present = false;
        let mut te = Self::default();
        let mut any = false;
        for value in fields.get_all("transfer-encoding") {
            present = true;
            for element in value.split(|&b| b == b',') {
                let element = trim_ows(element);
                if element.is_empty() {
                    continue;
                }
                // transfer-coding = token *( OWS ";" OWS transfer-parameter )
                let (name, params) = match element.iter().position(|&b| b == b';') {
                    Some(i) => (trim_ows(element.get(..i).unwrap_or_default()), true),
                    None => (element, false),
                };
                if !is_token(name) {
                    return Err(PeerError::BadFraming("invalid transfer coding"));
                }
                any = true;
                let chunked = name.eq_ignore_ascii_case(b"chunked");
                if chunked {
                    if params {
                        return Err(PeerError::BadFraming("chunked with parameters"));
                    }
                    te.chunked += 1;
                } else {
                    te.others = true;
                }
                te.last_is_chunked = chunked;
            }
        }
        if present && !any {
            return Err(PeerError::BadFraming("empty Transfer-Encoding"));
        }
        Ok(present.then_some(te))
    }
}

/// All `Content-Length` values, which must agree (RFC 9110 §8.6: identical
/// repeats, as separate fields or a list, may be taken as one value).
fn content_length(fields: &Fields) -> Result<Option<u64>, PeerError> {
    let mut found = None;
    for value in fields.get_all("content-length") {
        for element in value.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(element))
                .ok_or(PeerError::BadFraming("invalid Content-Length"))?;
            if found.is_some_and(|f| f != n) {
                return Err(PeerError::BadFraming("conflicting Content-Length values"));
            }
            found = Some(n);
        }
    }
    Ok(found)
}

/// `1*DIGIT` as a u64; `None` if empty, not all digits, or too large.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
#[path = "framing_tests.rs"]
mod tests;
