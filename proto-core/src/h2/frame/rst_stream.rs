//! RST_STREAM (RFC 9113 §6.4).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::read_u32;
use super::{Frame, FrameError, FrameHeader, kind};
use crate::error::ErrorCode;
use crate::event::StreamId;

/// RST_STREAM: immediate termination of a stream (RFC 9113 §6.4).
///
/// ```text
/// +---------------------------------------------------------------+
/// |                        Error Code (32)                        |
/// +---------------------------------------------------------------+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RstStream {
    /// The stream; never 0.
    pub stream_id: StreamId,
    /// Why the stream ends (unknown codes are kept, §7).
    pub error_code: ErrorCode,
}

impl RstStream {
    /// A RST_STREAM frame.
    pub const fn new(stream_id: StreamId, error_code: ErrorCode) -> Self {
        Self {
            stream_id,
            error_code,
        }
    }

    /// Parses the payload. §6.4: stream 0 is a connection `PROTOCOL_ERROR`; a
    /// length other than 4 is a connection `FRAME_SIZE_ERROR`.
    pub(super) fn load(head: &FrameHeader, payload: &Bytes) -> Result<Self, FrameError> {
        if head.stream_id.get() == 0 {
            return Err(FrameError::protocol("RST_STREAM on stream 0"));
        }
        match read_u32(payload) {
            Some(code) if payload.len() == 4 => Ok(Self {
                stream_id: head.stream_id,
                error_code: ErrorCode(code),
            }),
            _ => Err(FrameError::frame_size("RST_STREAM length other than 4")),
        }
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(super::HEADER_LEN + 4);
        FrameHeader::new(kind::RST_STREAM, 0, self.stream_id, 4).encode(dst);
        dst.put_u32(self.error_code.0);
    }
}

impl From<RstStream> for Frame {
    fn from(f: RstStream) -> Self {
        Self::RstStream(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::h2::frame::test_util::{decode_raw, round_trip};

    #[test]
    fn decodes_unknown_code_too() {
        let f = decode_raw(kind::RST_STREAM, 0, 1, b"\0\0\x01\x00").unwrap();
        assert_eq!(f, RstStream::new(StreamId::new(1), ErrorCode(0x100)).into());
    }

    /// §6.4: RST_STREAM on stream 0 MUST be a connection PROTOCOL_ERROR.
    #[test]
    fn rst_stream_on_stream_0_is_connection_protocol_error_6_4() {
        let e = decode_raw(kind::RST_STREAM, 0, 0, b"\0\0\0\x08").unwrap_err();
        assert_eq!(e, FrameError::protocol("RST_STREAM on stream 0"));
    }

    /// §6.4: a length other than 4 MUST be a connection FRAME_SIZE_ERROR.
    #[test]
    fn rst_stream_bad_length_is_connection_frame_size_error_6_4() {
        for payload in [&b"\0\0\0"[..], b"\0\0\0\x08\0", b""] {
            let e = decode_raw(kind::RST_STREAM, 0, 1, payload).unwrap_err();
            assert_eq!(e, FrameError::frame_size("RST_STREAM length other than 4"));
        }
    }

    #[test]
    fn round_trips() {
        let f = RstStream::new(StreamId::new(3), ErrorCode::CANCEL);
        assert_eq!(round_trip(&f.into()), Frame::RstStream(f));
    }
}
