//! Decoding errors, named after the peer's misbehaviour.

use super::huffman::HuffmanError;
use super::integer::IntError;

/// Why a header block was rejected.
///
/// All variants but [`HeaderListTooLarge`](Self::HeaderListTooLarge) are connection errors of
/// type COMPRESSION_ERROR (RFC 9113 §4.3): the decoder's dynamic table may no longer match the
/// peer's, so the connection cannot continue. `HeaderListTooLarge` is stream-scoped: the block
/// was fully decoded and the table is in sync, only this stream's header list is refused
/// (RFC 9113 §6.5.2, e.g. with a 431 response or `REFUSED_STREAM`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The block ends in the middle of a representation: an integer's continuation bytes or a
    /// string literal's octets are missing (RFC 7541 §5.1, §5.2).
    #[error("header block truncated inside a representation")]
    Truncated,
    /// An integer exceeds `u32::MAX` or uses more continuation bytes than any such value needs
    /// (RFC 7541 §5.1, "Integer encodings that exceed implementation limits").
    #[error("integer in header block too large")]
    IntegerOverflow,
    /// An index is 0 or beyond the static and dynamic tables (RFC 7541 §2.3.3, §6.1).
    #[error("header block references index {0}, which is not in the tables")]
    InvalidIndex(usize),
    /// A Huffman-coded string contains EOS (RFC 7541 §5.2).
    #[error("Huffman-coded string contains EOS")]
    HuffmanEos,
    /// A Huffman-coded string has padding longer than 7 bits or not all ones (RFC 7541 §5.2).
    #[error("Huffman-coded string has invalid padding")]
    HuffmanPadding,
    /// A dynamic table size update follows a field representation (RFC 7541 §4.2).
    #[error("dynamic table size update after the first field of a header block")]
    SizeUpdateNotAtStart,
    /// A dynamic table size update exceeds our SETTINGS_HEADER_TABLE_SIZE (RFC 7541 §6.3).
    #[error("dynamic table size update to {requested} exceeds the limit {max}")]
    SizeUpdateTooLarge {
        /// The size the peer asked for.
        requested: usize,
        /// Our limit.
        max: usize,
    },
    /// We lowered SETTINGS_HEADER_TABLE_SIZE below the peer's table size and the next block did
    /// not begin with a size update to at most that value (RFC 7541 §4.2).
    #[error("header block lacks the required dynamic table size update")]
    MissingSizeUpdate,
    /// The decoded header list exceeds the caller's limit (RFC 9113 §6.5.2
    /// SETTINGS_MAX_HEADER_LIST_SIZE). Stream-scoped: see the type's documentation.
    #[error("header list larger than the limit")]
    HeaderListTooLarge,
}

impl DecodeError {
    /// Whether the error ends the connection (COMPRESSION_ERROR) rather than one stream.
    pub fn is_connection_error(&self) -> bool {
        !matches!(self, Self::HeaderListTooLarge)
    }
}

impl From<IntError> for DecodeError {
    fn from(e: IntError) -> Self {
        match e {
            IntError::Incomplete => Self::Truncated,
            IntError::Overflow => Self::IntegerOverflow,
        }
    }
}

impl From<HuffmanError> for DecodeError {
    fn from(e: HuffmanError) -> Self {
        match e {
            HuffmanError::Eos => Self::HuffmanEos,
            HuffmanError::Padding => Self::HuffmanPadding,
        }
    }
}
