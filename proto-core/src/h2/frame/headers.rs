//! HEADERS (RFC 9113 §6.2) and the deprecated priority block it shares with
//! PRIORITY (RFC 9113 §5.3.2, §6.3).

use bytes::{BufMut, Bytes, BytesMut};

use super::continuation::Continuation;
use super::head::{STREAM_ID_MASK, payload_len, read_u32};
use super::{Frame, FrameError, FrameHeader, flags, kind, pad_overhead, split_padded};
use crate::error::ErrorCode;
use crate::event::StreamId;

/// The RFC 7540 priority fields (Exclusive, Stream Dependency, Weight), in
/// PRIORITY frames and in HEADERS with the PRIORITY flag. RFC 9113 §5.3.2
/// deprecates the scheme: they are parsed, validated, and otherwise ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamDependency {
    /// The stream depended on (0: the root).
    pub dependency_id: StreamId,
    /// Weight minus one, as on the wire (0..=255 means 1..=256).
    pub weight: u8,
    /// The E flag: exclusive dependency.
    pub exclusive: bool,
}

impl StreamDependency {
    /// Encoded length: 4 octets of E + dependency, 1 of weight.
    pub const LEN: usize = 5;

    /// A dependency on `dependency_id`.
    pub const fn new(dependency_id: StreamId, weight: u8, exclusive: bool) -> Self {
        Self {
            dependency_id,
            weight,
            exclusive,
        }
    }

    /// Reads the 5 octets; `None` if `src` is shorter.
    pub(super) fn load(src: &[u8]) -> Option<Self> {
        let word = read_u32(src)?;
        let weight = *src.get(4)?;
        Some(Self {
            dependency_id: StreamId::new(word & STREAM_ID_MASK),
            weight,
            exclusive: word & !STREAM_ID_MASK != 0,
        })
    }

    pub(super) fn encode(&self, dst: &mut BytesMut) {
        let e = if self.exclusive { !STREAM_ID_MASK } else { 0 };
        dst.put_u32(self.dependency_id.get() & STREAM_ID_MASK | e);
        dst.put_u8(self.weight);
    }
}

/// HEADERS: opens a stream and carries a field block fragment (RFC 9113 §6.2).
///
/// ```text
/// +---------------+-+-------------+-------------------------------+
/// |Pad Length? (8)|E|   Stream Dependency? (31)  | Weight? (8)     |
/// +---------------+-+-------------------------------+-------------+
/// |   Field Block Fragment (*)  ...  |  Padding (*)  ...          |
/// +---------------------------------------------------------------+
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers {
    /// The stream; never 0.
    pub stream_id: StreamId,
    /// The field block fragment, padding and priority stripped (a slice of the
    /// receive buffer). HPACK-encoded; complete only with END_HEADERS.
    pub block: Bytes,
    /// END_STREAM: no DATA follows (CONTINUATION frames still may).
    pub end_stream: bool,
    /// END_HEADERS: the field block is complete; otherwise CONTINUATION follows.
    pub end_headers: bool,
    /// The deprecated priority fields, when the PRIORITY flag is set.
    pub priority: Option<StreamDependency>,
    /// Padding octets, when the PADDED flag is set.
    pub pad_len: Option<u8>,
}

impl Headers {
    /// A HEADERS frame without priority or padding.
    pub fn new(
        stream_id: StreamId,
        block: impl Into<Bytes>,
        end_stream: bool,
        end_headers: bool,
    ) -> Self {
        Self {
            stream_id,
            block: block.into(),
            end_stream,
            end_headers,
            priority: None,
            pad_len: None,
        }
    }

    /// Sets the PRIORITY flag and fields.
    #[must_use]
    pub fn with_priority(mut self, dependency: StreamDependency) -> Self {
        self.priority = Some(dependency);
        self
    }

    /// Adds `pad_len` octets of padding (and the Pad Length octet).
    #[must_use]
    pub fn with_padding(mut self, pad_len: u8) -> Self {
        self.pad_len = Some(pad_len);
        self
    }

    /// RFC 7540 §5.3.1 (kept by RFC 9113 for the deprecated fields): a stream
    /// cannot depend on itself; a stream `PROTOCOL_ERROR`.
    ///
    /// Not returned by [`decode`](super::decode): the field block must still go
    /// through HPACK so the decoder's table stays in sync (§4.3). The connection
    /// calls this after decoding the block and resets the stream if `Some`.
    pub fn self_dependency_error(&self) -> Option<FrameError> {
        let dep = self.priority?;
        (dep.dependency_id == self.stream_id).then_some(FrameError::Stream(
            self.stream_id,
            ErrorCode::PROTOCOL_ERROR,
            "HEADERS: stream depends on itself",
        ))
    }

    /// Parses the payload. §6.2: stream 0 and padding longer than what remains
    /// after the priority fields are connection `PROTOCOL_ERROR`s; a payload
    /// too short for the announced fields is a connection `FRAME_SIZE_ERROR`
    /// (§4.2: HEADERS carries a field block, so any size error is fatal).
    pub(super) fn load(head: &FrameHeader, payload: Bytes) -> Result<Self, FrameError> {
        if head.stream_id.get() == 0 {
            return Err(FrameError::protocol("HEADERS on stream 0"));
        }
        let has_priority = head.has(flags::PRIORITY);
        let fixed_len = if has_priority {
            StreamDependency::LEN
        } else {
            0
        };
        let parts = split_padded(head, payload, fixed_len)?;
        let priority = if has_priority {
            let Some(dep) = StreamDependency::load(&parts.fixed) else {
                return Err(FrameError::frame_size(
                    "HEADERS too short for priority fields",
                ));
            };
            Some(dep)
        } else {
            None
        };
        Ok(Self {
            stream_id: head.stream_id,
            block: parts.body,
            end_stream: head.has(flags::END_STREAM),
            end_headers: head.has(flags::END_HEADERS),
            priority,
            pad_len: parts.pad_len,
        })
    }

    /// Octets before and after the fragment: Pad Length, priority, padding.
    fn overhead(&self) -> usize {
        pad_overhead(self.pad_len)
            .saturating_add(self.priority.map_or(0, |_| StreamDependency::LEN))
    }

    /// Appends the frame as one HEADERS frame, whatever the block's length.
    pub fn encode(&self, dst: &mut BytesMut) {
        let mut fl = 0;
        for (set, flag) in [
            (self.end_stream, flags::END_STREAM),
            (self.end_headers, flags::END_HEADERS),
            (self.pad_len.is_some(), flags::PADDED),
            (self.priority.is_some(), flags::PRIORITY),
        ] {
            if set {
                fl |= flag;
            }
        }
        let len = self.block.len().saturating_add(self.overhead());
        dst.reserve(super::HEADER_LEN.saturating_add(len));
        FrameHeader::new(kind::HEADERS, fl, self.stream_id, payload_len(len)).encode(dst);
        if let Some(pad) = self.pad_len {
            dst.put_u8(pad);
        }
        if let Some(dep) = &self.priority {
            dep.encode(dst);
        }
        dst.put_slice(&self.block);
        dst.put_bytes(0, usize::from(self.pad_len.unwrap_or(0)));
    }

    /// Appends the frame, moving whatever does not fit in `max_frame_size`
    /// (the peer's `SETTINGS_MAX_FRAME_SIZE`, clamped to the legal range) into
    /// CONTINUATION frames (§6.10). END_HEADERS goes on the last frame.
    pub fn encode_split(&self, max_frame_size: u32, dst: &mut BytesMut) {
        // Overhead is at most 261 octets, far below the 16384 minimum.
        Continuation::encode_split(
            self.stream_id,
            &self.block,
            self.overhead(),
            self.end_headers,
            max_frame_size,
            dst,
            |first, dst| match first {
                None => self.encode(dst),
                Some(block) => Self {
                    block,
                    end_headers: false,
                    ..self.clone()
                }
                .encode(dst),
            },
        );
    }
}

impl From<Headers> for Frame {
    fn from(f: Headers) -> Self {
        Self::Headers(f)
    }
}

#[cfg(test)]
#[path = "headers_tests.rs"]
mod tests;
