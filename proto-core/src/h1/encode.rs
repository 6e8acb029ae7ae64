//! Serializing heads (RFC 9112 §3, §4, §5).

use bytes::BytesMut;

use crate::error::UserError;
use crate::head::{RequestHead, ResponseHead};

/// Framing fields the connection adds after the application's own fields.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Extra {
    /// Add `content-length: N`.
    pub(crate) content_length: Option<u64>,
    /// Add `transfer-encoding: chunked`.
    pub(crate) chunked: bool,
    /// Add `connection: close`.
    pub(crate) close: bool,
    /// Add `connection: keep-alive` (HTTP/1.0 peers).
    pub(crate) keep_alive: bool,
}

/// Appends a request head. Fails, writing nothing, if a field or the target
/// holds bytes that cannot be sent (CR, LF, NUL; an invalid name).
pub(crate) fn write_request(
    dst: &mut BytesMut,
    head: &RequestHead,
    extra: Extra,
) -> Result<(), UserError> {
    let _ = (dst, head, extra);
    todo!()
}

/// Appends a response head (`HTTP/1.1 <status> <reason>`); an empty reason is
/// replaced by the standard phrase.
pub(crate) fn write_response(
    dst: &mut BytesMut,
    head: &ResponseHead,
    extra: Extra,
) -> Result<(), UserError> {
    let _ = (dst, head, extra);
    todo!()
}
