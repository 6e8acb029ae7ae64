//! The 9-octet frame header (RFC 9113 §4.1), frame type codes and flags.

use bytes::{BufMut, BytesMut};

use crate::event::StreamId;

/// Length of the frame header in octets (RFC 9113 §4.1).
pub const HEADER_LEN: usize = 9;

/// The initial and smallest allowed `SETTINGS_MAX_FRAME_SIZE` (RFC 9113 §4.2).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;

/// The largest allowed `SETTINGS_MAX_FRAME_SIZE`: 2^24-1 (RFC 9113 §4.2).
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// Stream 0: frames about the whole connection (RFC 9113 §5.1.1).
pub const CONNECTION_STREAM: StreamId = StreamId::new(0);

/// Mask of the 31-bit stream identifier; the top bit is reserved, MUST be
/// ignored on receipt and left unset when sending (RFC 9113 §4.1).
pub(crate) const STREAM_ID_MASK: u32 = 0x7fff_ffff;

/// Frame type codes (RFC 9113 §6, RFC 9218 §7.1).
pub mod kind {
    /// DATA (RFC 9113 §6.1).
    pub const DATA: u8 = 0x0;
    /// HEADERS (RFC 9113 §6.2).
    pub const HEADERS: u8 = 0x1;
    /// PRIORITY, deprecated but still parsed (RFC 9113 §6.3).
    pub const PRIORITY: u8 = 0x2;
    /// RST_STREAM (RFC 9113 §6.4).
    pub const RST_STREAM: u8 = 0x3;
    /// SETTINGS (RFC 9113 §6.5).
    pub const SETTINGS: u8 = 0x4;
    /// PUSH_PROMISE (RFC 9113 §6.6).
    pub const PUSH_PROMISE: u8 = 0x5;
    /// PING (RFC 9113 §6.7).
    pub const PING: u8 = 0x6;
    /// GOAWAY (RFC 9113 §6.8).
    pub const GOAWAY: u8 = 0x7;
    /// WINDOW_UPDATE (RFC 9113 §6.9).
    pub const WINDOW_UPDATE: u8 = 0x8;
    /// CONTINUATION (RFC 9113 §6.10).
    pub const CONTINUATION: u8 = 0x9;
    /// PRIORITY_UPDATE (RFC 9218 §7.1).
    pub const PRIORITY_UPDATE: u8 = 0x10;
}

/// Frame flags (RFC 9113 §6). The same bit means different things per type.
pub mod flags {
    /// DATA, HEADERS: the last frame the sender will send on the stream.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: an acknowledgement.
    pub const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the field block is complete.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE: a Pad Length octet and padding are present.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: the (deprecated) priority fields are present.
    pub const PRIORITY: u8 = 0x20;
}

/// The fixed 9-octet header every frame starts with (RFC 9113 §4.1).
///
/// ```text
/// +-----------------------------------------------+
/// |                 Length (24)                   |
/// +---------------+---------------+---------------+
/// |   Type (8)    |   Flags (8)   |
/// +-+-------------+---------------+-------------------------------+
/// |R|                 Stream Identifier (31)                      |
/// +=+=============================================================+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Payload length, 24 bits (the header itself is not counted).
    pub len: u32,
    /// The frame type, see [`kind`].
    pub kind: u8,
    /// The flags, see [`flags`]; bits without meaning for the type are ignored.
    pub flags: u8,
    /// The stream, 31 bits; the reserved bit was dropped on parse.
    pub stream_id: StreamId,
}

impl FrameHeader {
    /// A header for a payload of `len` octets.
    pub const fn new(kind: u8, flags: u8, stream_id: StreamId, len: u32) -> Self {
        Self {
            len,
            kind,
            flags,
            stream_id,
        }
    }

    /// Reads the header from the start of `src` without consuming anything;
    /// `None` if fewer than [`HEADER_LEN`] octets are buffered. Lets a
    /// connection look at a frame (type, stream, length) before decoding it.
    pub fn parse(src: &[u8]) -> Option<Self> {
        let bytes: &[u8; HEADER_LEN] = src.first_chunk()?;
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *bytes;
        Some(Self {
            len: u32::from_be_bytes([0, l0, l1, l2]),
            kind,
            flags,
            // §4.1: the reserved bit MUST be ignored on receipt.
            stream_id: StreamId::new(u32::from_be_bytes([s0, s1, s2, s3]) & STREAM_ID_MASK),
        })
    }

    /// Appends the 9 octets. A length over 2^24-1 is a caller bug (frames are
    /// split to the peer's `SETTINGS_MAX_FRAME_SIZE` first); its top bits are
    /// dropped rather than spilling into the type octet.
    pub fn encode(&self, dst: &mut BytesMut) {
        debug_assert!(self.len <= MAX_MAX_FRAME_SIZE, "frame payload too long");
        let [_, l0, l1, l2] = self.len.to_be_bytes();
        dst.reserve(HEADER_LEN);
        dst.put_slice(&[l0, l1, l2, self.kind, self.flags]);
        // §4.1: the reserved bit MUST remain unset when sending.
        dst.put_u32(self.stream_id.get() & STREAM_ID_MASK);
    }

    /// The nine octets [`encode`](Self::encode) appends.
    pub(crate) fn to_bytes(self) -> [u8; HEADER_LEN] {
        debug_assert!(self.len <= MAX_MAX_FRAME_SIZE, "frame payload too long");
        let [_, l0, l1, l2] = self.len.to_be_bytes();
        let [s0, s1, s2, s3] = (self.stream_id.get() & STREAM_ID_MASK).to_be_bytes();
        [l0, l1, l2, self.kind, self.flags, s0, s1, s2, s3]
    }

    /// True if every bit of `flag` is set.
    pub const fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// Reads a big-endian u32 from the start of `src`.
pub(super) fn read_u32(src: &[u8]) -> Option<u32> {
    src.first_chunk().map(|b: &[u8; 4]| u32::from_be_bytes(*b))
}

/// A payload length as the 24-bit header field; longer is a caller bug
/// (see [`FrameHeader::encode`]).
pub(super) fn payload_len(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §4.1: the header is 9 octets: length (24), type, flags, R + stream id (31).
    #[test]
    fn header_layout_4_1() {
        let h = FrameHeader::new(
            kind::HEADERS,
            flags::END_HEADERS,
            StreamId::new(3),
            0x01_02_03,
        );
        let mut buf = BytesMut::new();
        h.encode(&mut buf);
        assert_eq!(&buf[..], &[1, 2, 3, 1, 4, 0, 0, 0, 3]);
        assert_eq!(FrameHeader::parse(&buf), Some(h));
    }

    /// §4.1: the reserved bit MUST be ignored when receiving.
    #[test]
    fn reserved_bit_ignored_on_receipt_4_1() {
        let h = FrameHeader::parse(&[0, 0, 0, 0, 0, 0x80, 0, 0, 5]);
        assert_eq!(h.map(|h| h.stream_id), Some(StreamId::new(5)));
    }

    /// §4.1: the reserved bit MUST remain unset when sending.
    #[test]
    fn reserved_bit_unset_when_sending_4_1() {
        let mut buf = BytesMut::new();
        FrameHeader::new(kind::DATA, 0, StreamId::new(0x8000_0001), 0).encode(&mut buf);
        assert_eq!(&buf[5..], &[0, 0, 0, 1]);
    }

    /// Incomplete is not invalid: fewer than 9 octets is "need more".
    #[test]
    fn short_header_is_none() {
        assert_eq!(FrameHeader::parse(&[0; 8]), None);
    }
}
