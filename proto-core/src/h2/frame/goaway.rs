//! GOAWAY (RFC 9113 §6.8).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::{STREAM_ID_MASK, payload_len, read_u32};
use super::{CONNECTION_STREAM, Frame, FrameError, FrameHeader, kind};
use crate::error::ErrorCode;
use crate::event::StreamId;

/// GOAWAY: the sender stops accepting new streams (RFC 9113 §6.8).
///
/// ```text
/// +-+-------------------------------------------------------------+
/// |R|                  Last-Stream-ID (31)                        |
/// +-+-------------------------------------------------------------+
/// |                      Error Code (32)                          |
/// +---------------------------------------------------------------+
/// |                  Additional Debug Data (*)                    |
/// +---------------------------------------------------------------+
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoAway {
    /// The highest peer-initiated stream that was or may be processed.
    pub last_stream_id: StreamId,
    /// Why the connection is closing (unknown codes are kept, §7).
    pub error_code: ErrorCode,
    /// Opaque diagnostics (a slice of the receive buffer).
    pub debug_data: Bytes,
}

impl GoAway {
    /// A GOAWAY without debug data.
    pub const fn new(last_stream_id: StreamId, error_code: ErrorCode) -> Self {
        Self {
            last_stream_id,
            error_code,
            debug_data: Bytes::new(),
        }
    }

    /// Sets the debug data.
    #[must_use]
    pub fn with_debug_data(mut self, debug_data: impl Into<Bytes>) -> Self {
        self.debug_data = debug_data.into();
        self
    }

    /// Parses the payload. §6.8: a stream other than 0 is a connection
    /// `PROTOCOL_ERROR`; fewer than 8 octets a connection `FRAME_SIZE_ERROR`
    /// (§4.2: too small for its mandatory fields, on stream 0).
    pub(super) fn load(head: &FrameHeader, mut payload: Bytes) -> Result<Self, FrameError> {
        if head.stream_id.get() != 0 {
            return Err(FrameError::protocol("GOAWAY on a stream other than 0"));
        }
        let (Some(last), Some(code)) = (read_u32(&payload), payload.get(4..).and_then(read_u32))
        else {
            return Err(FrameError::frame_size("GOAWAY shorter than 8 octets"));
        };
        let debug_data = payload.split_off(8);
        Ok(Self {
            last_stream_id: StreamId::new(last & STREAM_ID_MASK),
            error_code: ErrorCode(code),
            debug_data,
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = self.debug_data.len().saturating_add(8);
        dst.reserve(super::HEADER_LEN.saturating_add(len));
        FrameHeader::new(kind::GOAWAY, 0, CONNECTION_STREAM, payload_len(len)).encode(dst);
        dst.put_u32(self.last_stream_id.get() & STREAM_ID_MASK);
        dst.put_u32(self.error_code.0);
        dst.put_slice(&self.debug_data);
    }
}

impl From<GoAway> for Frame {
    fn from(f: GoAway) -> Self {
        Self::GoAway(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::h2::frame::test_util::{decode_raw, round_trip};

    #[test]
    fn decodes_with_debug_data_and_reserved_bit() {
        let f = decode_raw(kind::GOAWAY, 0, 0, b"\x80\0\0\x07\0\0\0\x0bcalm").unwrap();
        let want = GoAway::new(StreamId::new(7), ErrorCode::ENHANCE_YOUR_CALM)
            .with_debug_data(&b"calm"[..]);
        assert_eq!(f, want.into());
    }

    /// §6.8: GOAWAY on a stream other than 0 MUST be a connection PROTOCOL_ERROR.
    #[test]
    fn goaway_on_stream_is_connection_protocol_error_6_8() {
        let e = decode_raw(kind::GOAWAY, 0, 1, b"\0\0\0\0\0\0\0\0").unwrap_err();
        assert_eq!(e, FrameError::protocol("GOAWAY on a stream other than 0"));
    }

    /// §4.2 / §6.8: shorter than Last-Stream-ID + Error Code is a connection
    /// FRAME_SIZE_ERROR.
    #[test]
    fn goaway_short_is_connection_frame_size_error_6_8() {
        for payload in [&b"\0\0\0\0\0\0\0"[..], b"\0\0\0", b""] {
            let e = decode_raw(kind::GOAWAY, 0, 0, payload).unwrap_err();
            assert_eq!(e, FrameError::frame_size("GOAWAY shorter than 8 octets"));
        }
    }

    #[test]
    fn round_trips() {
        for g in [
            GoAway::new(StreamId::new(0), ErrorCode::NO_ERROR),
            GoAway::new(StreamId::new(0x7fff_ffff), ErrorCode(0xdead)).with_debug_data("why"),
        ] {
            assert_eq!(round_trip(&g.clone().into()), Frame::GoAway(g));
        }
    }
}
