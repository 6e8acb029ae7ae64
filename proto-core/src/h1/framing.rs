//! Message body length (RFC 9112 §6): which framing a received head declares.

use crate::error::PeerError;
use crate::head::{Method, RequestHead, ResponseHead};

/// How a message body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
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
pub(crate) fn request_body(head: &RequestHead) -> Result<BodyKind, PeerError> {
    let _ = head;
    todo!()
}

/// The framing of a received response to a request with `method`
/// (RFC 9112 §6.3 rules 1–8). 1xx are never passed here.
pub(crate) fn response_body(method: &Method, head: &ResponseHead) -> Result<BodyKind, PeerError> {
    let _ = (method, head);
    todo!()
}
