//! Frame decoding errors, by scope (RFC 9113 §5.4).

use crate::error::ErrorCode;
use crate::event::StreamId;

/// A frame broke RFC 9113 (or an extension's) rules.
///
/// The scope is the RFC's: a *connection error* (§5.4.1) ends the connection
/// with GOAWAY; a *stream error* (§5.4.2) resets one stream with RST_STREAM and
/// the connection goes on: the offending frame has then been consumed from
/// the buffer, so decoding can continue.
///
/// The codec sees one frame at a time, not stream states: the connection may
/// escalate a stream error to a connection error when the stream state
/// demands it (e.g. a frame other than HEADERS/PRIORITY on an idle stream,
/// §5.1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Fatal for the connection (RFC 9113 §5.4.1): send GOAWAY with the code.
    #[error("connection error {0}: {1}")]
    Connection(ErrorCode, &'static str),
    /// Fatal for one stream (RFC 9113 §5.4.2): send RST_STREAM with the code.
    #[error("stream {0} error {1}: {2}")]
    Stream(StreamId, ErrorCode, &'static str),
}

impl FrameError {
    /// The error code to send (in GOAWAY or RST_STREAM).
    pub const fn code(&self) -> ErrorCode {
        match *self {
            Self::Connection(code, _) | Self::Stream(_, code, _) => code,
        }
    }

    /// The stream to reset, or `None` for a connection error.
    pub const fn stream_id(&self) -> Option<StreamId> {
        match *self {
            Self::Connection(..) => None,
            Self::Stream(id, ..) => Some(id),
        }
    }

    /// Which rule was broken, for logs and GOAWAY debug data.
    pub const fn reason(&self) -> &'static str {
        match *self {
            Self::Connection(_, why) | Self::Stream(_, _, why) => why,
        }
    }

    /// Connection-scoped `PROTOCOL_ERROR`.
    pub(super) const fn protocol(why: &'static str) -> Self {
        Self::Connection(ErrorCode::PROTOCOL_ERROR, why)
    }

    /// Connection-scoped `FRAME_SIZE_ERROR`.
    pub(super) const fn frame_size(why: &'static str) -> Self {
        Self::Connection(ErrorCode::FRAME_SIZE_ERROR, why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_and_display() {
        let e = FrameError::Stream(StreamId::new(3), ErrorCode::PROTOCOL_ERROR, "why");
        assert_eq!(e.code(), ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.stream_id(), Some(StreamId::new(3)));
        assert_eq!(e.reason(), "why");
        assert_eq!(e.to_string(), "stream 3 error PROTOCOL_ERROR: why");
        let c = FrameError::frame_size("len");
        assert_eq!(c.stream_id(), None);
        assert_eq!(c.to_string(), "connection error FRAME_SIZE_ERROR: len");
    }
}
