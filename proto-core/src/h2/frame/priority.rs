//! PRIORITY (RFC 9113 §6.3): deprecated, still parsed and validated.

use bytes::{Bytes, BytesMut};

use super::headers::StreamDependency;
use super::{Frame, FrameError, FrameHeader, kind};
use crate::error::ErrorCode;
use crate::event::StreamId;

/// PRIORITY: the sender-advised priority of a stream under the deprecated
/// RFC 7540 scheme (RFC 9113 §6.3). May arrive in any stream state.
///
/// ```text
/// +-+-------------------------------------------------------------+
/// |E|                  Stream Dependency (31)                     |
/// +-+-------------+-----------------------------------------------+
/// |  Weight (8)   |
/// +---------------+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// The stream being prioritized; never 0.
    pub stream_id: StreamId,
    /// The priority fields.
    pub dependency: StreamDependency,
}

impl Priority {
    /// A PRIORITY frame.
    pub const fn new(stream_id: StreamId, dependency: StreamDependency) -> Self {
        Self {
            stream_id,
            dependency,
        }
    }

    /// Parses the payload. §6.3: stream 0 is a connection `PROTOCOL_ERROR`; a
    /// length other than 5 is a *stream* `FRAME_SIZE_ERROR`. RFC 7540 §5.3.1: a
    /// stream depending on itself is a stream `PROTOCOL_ERROR` (no field block
    /// here, so the codec can report it directly).
    pub(super) fn load(head: &FrameHeader, payload: &Bytes) -> Result<Self, FrameError> {
        let id = head.stream_id;
        if id.get() == 0 {
            return Err(FrameError::protocol("PRIORITY on stream 0"));
        }
        let dependency = match StreamDependency::load(payload) {
            Some(dep) if payload.len() == StreamDependency::LEN => dep,
            _ => {
                return Err(FrameError::Stream(
                    id,
                    ErrorCode::FRAME_SIZE_ERROR,
                    "PRIORITY length other than 5",
                ));
            }
        };
        if dependency.dependency_id == id {
            return Err(FrameError::Stream(
                id,
                ErrorCode::PROTOCOL_ERROR,
                "PRIORITY: stream depends on itself",
            ));
        }
        Ok(Self {
            stream_id: id,
            dependency,
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(super::HEADER_LEN + StreamDependency::LEN);
        FrameHeader::new(kind::PRIORITY, 0, self.stream_id, 5).encode(dst);
        self.dependency.encode(dst);
    }
}

impl From<Priority> for Frame {
    fn from(f: Priority) -> Self {
        Self::Priority(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::h2::frame::test_util::{decode_raw, round_trip};

    #[test]
    fn decodes() {
        let f = decode_raw(kind::PRIORITY, 0, 3, b"\x80\0\0\x01\x07").unwrap();
        let dep = StreamDependency::new(StreamId::new(1), 7, true);
        assert_eq!(f, Priority::new(StreamId::new(3), dep).into());
    }

    /// §6.3: PRIORITY on stream 0 MUST be a connection PROTOCOL_ERROR.
    #[test]
    fn priority_on_stream_0_is_connection_protocol_error_6_3() {
        let e = decode_raw(kind::PRIORITY, 0, 0, b"\0\0\0\x01\x07").unwrap_err();
        assert_eq!(e, FrameError::protocol("PRIORITY on stream 0"));
    }

    /// §6.3: a length other than 5 MUST be a stream FRAME_SIZE_ERROR; the frame
    /// is consumed so the connection can go on.
    #[test]
    fn priority_bad_length_is_stream_frame_size_error_6_3() {
        for payload in [&b"\0\0\0\x01"[..], b"\0\0\0\x01\x07\0", b""] {
            let e = decode_raw(kind::PRIORITY, 0, 3, payload).unwrap_err();
            assert_eq!(e.code(), ErrorCode::FRAME_SIZE_ERROR);
            assert_eq!(e.stream_id(), Some(StreamId::new(3)));
        }
    }

    /// RFC 7540 §5.3.1: a stream cannot depend on itself: stream PROTOCOL_ERROR.
    #[test]
    fn self_dependency_is_stream_protocol_error_5_3_1() {
        let e = decode_raw(kind::PRIORITY, 0, 3, b"\0\0\0\x03\x07").unwrap_err();
        assert_eq!(e.code(), ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.stream_id(), Some(StreamId::new(3)));
    }

    #[test]
    fn round_trips() {
        let p = Priority::new(
            StreamId::new(9),
            StreamDependency::new(StreamId::new(0), 0, false),
        );
        assert_eq!(round_trip(&p.into()), Frame::Priority(p));
    }
}
