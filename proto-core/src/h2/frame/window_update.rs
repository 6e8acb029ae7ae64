//! WINDOW_UPDATE (RFC 9113 §6.9).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::read_u32;
use super::{Frame, FrameError, FrameHeader, kind};
use crate::error::ErrorCode;
use crate::event::StreamId;

/// WINDOW_UPDATE: flow-control credit for a stream, or for the whole
/// connection on stream 0 (RFC 9113 §6.9).
///
/// ```text
/// +-+-------------------------------------------------------------+
/// |R|              Window Size Increment (31)                     |
/// +-+-------------------------------------------------------------+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowUpdate {
    /// The stream, or 0 for the connection window.
    pub stream_id: StreamId,
    /// The credit: 1..=2^31-1 once decoded (0 is rejected, see `load`).
    pub increment: u32,
}

impl WindowUpdate {
    /// The largest increment, 2^31-1 (§6.9).
    pub const MAX_INCREMENT: u32 = 0x7fff_ffff;

    /// A WINDOW_UPDATE frame. An increment of 0 or above
    /// [`MAX_INCREMENT`](Self::MAX_INCREMENT) is sent as given (tests use it);
    /// the reserved top bit is cleared.
    pub const fn new(stream_id: StreamId, increment: u32) -> Self {
        Self {
            stream_id,
            increment,
        }
    }

    /// Parses the payload. §6.9: a length other than 4 is a connection
    /// `FRAME_SIZE_ERROR`. An increment of 0 is a `PROTOCOL_ERROR` whose scope
    /// follows the frame: a stream error on a stream, a connection error on
    /// stream 0. Reported here (not left to the connection) because no state
    /// is needed to decide, and the frame is consumed so a stream error can
    /// be answered with RST_STREAM and decoding go on.
    pub(super) fn load(head: &FrameHeader, payload: &Bytes) -> Result<Self, FrameError> {
        let word = match read_u32(payload) {
            Some(word) if payload.len() == 4 => word,
            _ => return Err(FrameError::frame_size("WINDOW_UPDATE length other than 4")),
        };
        // §6.9: the reserved bit is ignored.
        let increment = word & Self::MAX_INCREMENT;
        if increment == 0 {
            let why = "WINDOW_UPDATE increment of 0";
            return Err(match head.stream_id.get() {
                0 => FrameError::protocol(why),
                _ => FrameError::Stream(head.stream_id, ErrorCode::PROTOCOL_ERROR, why),
            });
        }
        Ok(Self {
            stream_id: head.stream_id,
            increment,
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(super::HEADER_LEN + 4);
        FrameHeader::new(kind::WINDOW_UPDATE, 0, self.stream_id, 4).encode(dst);
        dst.put_u32(self.increment & Self::MAX_INCREMENT);
    }
}

impl From<WindowUpdate> for Frame {
    fn from(f: WindowUpdate) -> Self {
        Self::WindowUpdate(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::h2::frame::test_util::{decode_raw, round_trip};

    #[test]
    fn decodes_and_ignores_reserved_bit_6_9() {
        let f = decode_raw(kind::WINDOW_UPDATE, 0, 1, b"\x80\0\x01\0").unwrap();
        assert_eq!(f, WindowUpdate::new(StreamId::new(1), 256).into());
    }

    /// §6.9: a length other than 4 MUST be a connection FRAME_SIZE_ERROR, on a
    /// stream as on stream 0.
    #[test]
    fn window_update_bad_length_is_connection_frame_size_error_6_9() {
        for (stream, payload) in [(0, &b"\0\0\x01"[..]), (1, b"\0\0\0\x01\0"), (1, b"")] {
            let e = decode_raw(kind::WINDOW_UPDATE, 0, stream, payload).unwrap_err();
            assert_eq!(
                e,
                FrameError::frame_size("WINDOW_UPDATE length other than 4")
            );
        }
    }

    /// §6.9: increment 0 on a stream MUST be a stream PROTOCOL_ERROR.
    #[test]
    fn zero_increment_on_stream_is_stream_protocol_error_6_9() {
        let e = decode_raw(kind::WINDOW_UPDATE, 0, 5, b"\x80\0\0\0").unwrap_err();
        assert_eq!(e.code(), ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.stream_id(), Some(StreamId::new(5)));
    }

    /// §6.9: increment 0 on stream 0 MUST be a connection PROTOCOL_ERROR.
    #[test]
    fn zero_increment_on_connection_is_connection_protocol_error_6_9() {
        let e = decode_raw(kind::WINDOW_UPDATE, 0, 0, b"\0\0\0\0").unwrap_err();
        assert_eq!(e, FrameError::protocol("WINDOW_UPDATE increment of 0"));
    }

    #[test]
    fn round_trips() {
        for w in [
            WindowUpdate::new(StreamId::new(0), 1),
            WindowUpdate::new(StreamId::new(3), WindowUpdate::MAX_INCREMENT),
        ] {
            assert_eq!(round_trip(&w.into()), Frame::WindowUpdate(w));
        }
    }
}
