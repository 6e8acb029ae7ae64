//! The HPACK decoder (RFC 7541 §3.2, §6).

use bytes::{Bytes, BytesMut};

use super::error::DecodeError;
use super::field::Field;
use super::table::{DynamicTable, STATIC_LEN, STATIC_TABLE};
use super::{huffman, integer};

/// Decodes header blocks received from one peer: one `Decoder` per connection direction.
///
/// Blocks must be decoded in the order they were sent, each whole (HEADERS plus its
/// CONTINUATION frames): the dynamic table carries state from one block to the next.
///
/// Memory: the dynamic table copies each entry it adds into one allocation of its own, so it
/// never keeps a header block's buffer alive; its size is bounded by our
/// SETTINGS_HEADER_TABLE_SIZE ([`set_max_table_size`](Self::set_max_table_size)) plus
/// per-entry overhead.
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// Our SETTINGS_HEADER_TABLE_SIZE in effect: the largest size update the peer may send.
    limit: usize,
    /// Set when `limit` dropped below the table's maximum: the smallest such limit. The next
    /// block must begin with a size update to at most this value (§4.2).
    required_update: Option<usize>,
    /// Where Huffman-coded strings are decoded; kept between blocks (see `Cursor::string`).
    huffman: BytesMut,
}

impl Decoder {
    /// Lets go of the Huffman scratch buffer and of unused table slots (an
    /// idle connection's memory).
    pub(crate) fn release_scratch(&mut self) {
        self.huffman = BytesMut::new();
        self.table.shrink_to_fit();
    }

    /// A decoder whose dynamic table starts at `max_table_size` bytes, the value both peers
    /// assume before any SETTINGS (4096 in HTTP/2, RFC 9113 §6.5.2).
    pub fn new(max_table_size: usize) -> Self {
        Self {
            table: DynamicTable::new(max_table_size),
            limit: max_table_size,
            required_update: None,
            huffman: BytesMut::new(),
        }
    }

    /// Applies our SETTINGS_HEADER_TABLE_SIZE once the peer has acknowledged it: from now on
    /// the peer's size updates must not exceed `max_table_size` (RFC 7541 §6.3). When it is
    /// below the peer's current table size, the next block must begin with a size update to at
    /// most this value (§4.2).
    pub fn set_max_table_size(&mut self, max_table_size: usize) {
        self.limit = max_table_size;
        if max_table_size < self.table.max_size() {
            let min = self
                .required_update
                .map_or(max_table_size, |r| r.min(max_table_size));
            self.required_update = Some(min);
        }
    }

    /// The dynamic table's current size in bytes (RFC 7541 §4.1).
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// The dynamic table's maximum size, as last set by the peer (RFC 7541 §4.2).
    pub fn max_table_size(&self) -> usize {
        self.table.max_size()
    }

    #[cfg(test)]
    pub(crate) fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Decodes one complete header block, calling `out` for each field in order.
    ///
    /// `max_list_size` bounds the header list (name + value + 32 per field, RFC 9113 §6.5.2).
    /// Once the list exceeds it, `out` is no longer called but decoding continues to the end
    /// of the block so that the dynamic table stays in sync; the result is then
    /// [`DecodeError::HeaderListTooLarge`] and the fields already passed to `out` must be
    /// discarded. Any other error is a connection error (COMPRESSION_ERROR).
    ///
    /// Fields share memory with `block` (plain literals) or the dynamic table; Huffman-coded
    /// strings are decoded into a buffer the decoder reuses once they have been dropped.
    pub fn decode(
        &mut self,
        block: &Bytes,
        max_list_size: usize,
        mut out: impl FnMut(Field),
    ) -> Result<(), DecodeError> {
        let mut cursor = Cursor {
            block,
            pos: 0,
            huffman: core::mem::take(&mut self.huffman),
        };
        let result = self.decode_fields(&mut cursor, max_list_size, &mut out);
        self.huffman = cursor.huffman;
        if self.huffman.capacity() > HUFFMAN_KEEP {
            // Not worth holding on to after an unusually large block.
            self.huffman = BytesMut::new();
        }
        result
    }

    fn decode_fields(
        &mut self,
        cursor: &mut Cursor<'_>,
        max_list_size: usize,
        out: &mut impl FnMut(Field),
    ) -> Result<(), DecodeError> {
        let block = cursor.block;
        let mut required = self.required_update;
        let mut at_start = true;
        let mut list_size: usize = 0;
        while let Some(&first) = block.get(cursor.pos) {
            if first & 0xe0 == 0x20 {
                // Dynamic table size update (§6.3), only before the first field (§4.2).
                if !at_start {
                    return Err(DecodeError::SizeUpdateNotAtStart);
                }
                let size = cursor.integer(5)?;
                if size > self.limit {
                    return Err(DecodeError::SizeUpdateTooLarge {
                        requested: size,
                        max: self.limit,
                    });
                }
                self.table.set_max_size(size);
                if required.is_some_and(|r| size <= r) {
                    required = None;
                }
                continue;
            }
            if at_start {
                if required.is_some() {
                    return Err(DecodeError::MissingSizeUpdate);
                }
                at_start = false;
            }
            let field = self.field(first, cursor)?;
            list_size = list_size.saturating_add(field.size());
            // The size only grows, so once over the limit no later field is emitted.
            if list_size <= max_list_size {
                out(field);
            }
        }
        if required.is_some() {
            return Err(DecodeError::MissingSizeUpdate);
        }
        self.required_update = None;
        if list_size > max_list_size {
            return Err(DecodeError::HeaderListTooLarge);
        }
        Ok(())
    }

    /// Decodes the field representation starting with byte `first` (§6.1, §6.2).
    fn field(&mut self, first: u8, cursor: &mut Cursor<'_>) -> Result<Field, DecodeError> {
        if first & 0x80 != 0 {
            // Indexed header field (§6.1).
            let (name, value) = self.lookup(cursor.integer(7)?)?;
            return Ok(Field {
                name,
                value,
                sensitive: false,
            });
        }
        // Literals (§6.2): with incremental indexing (01, 6-bit index), without indexing
        // (0000, 4-bit) or never indexed (0001, 4-bit). A zero index means a literal name.
        let (indexed, prefix) = if first & 0x40 != 0 {
            (true, 6)
        } else {
            (false, 4)
        };
        let sensitive = !indexed && first & 0x10 != 0;
        let name = match cursor.integer(prefix)? {
            0 => cursor.string()?,
            index => self.lookup(index)?.0,
        };
        let value = cursor.string()?;
        if indexed {
            if let Some(entry) = self.table.insert(&name, &value) {
                return Ok(Field {
                    name: entry.name.clone(),
                    value: entry.value.clone(),
                    sensitive,
                });
            }
        }
        Ok(Field {
            name,
            value,
            sensitive,
        })
    }

    /// The entry at `index` in the combined index space (§2.3.3).
    fn lookup(&self, index: usize) -> Result<(Bytes, Bytes), DecodeError> {
        if let Some(&(name, value)) = index.checked_sub(1).and_then(|i| STATIC_TABLE.get(i)) {
            return Ok((Bytes::from_static(name), Bytes::from_static(value)));
        }
        index
            .checked_sub(STATIC_LEN + 1)
            .and_then(|i| self.table.get(i))
            .map(|e| (e.name.clone(), e.value.clone()))
            .ok_or(DecodeError::InvalidIndex(index))
    }
}

/// The smallest Huffman buffer allocated: room for a few blocks' strings.
const HUFFMAN_MIN: usize = 512;
/// A Huffman buffer larger than this is dropped after its block.
const HUFFMAN_KEEP: usize = 4096;

/// A read position in a header block, and the buffer its Huffman-coded strings decode into.
struct Cursor<'a> {
    block: &'a Bytes,
    pos: usize,
    huffman: BytesMut,
}

impl Cursor<'_> {
    fn integer(&mut self, prefix: u8) -> Result<usize, DecodeError> {
        let rest = self.block.get(self.pos..).unwrap_or_default();
        let (value, len) = integer::decode(rest, prefix)?;
        self.pos += len;
        Ok(value)
    }

    /// A string literal (§5.2).
    fn string(&mut self) -> Result<Bytes, DecodeError> {
        let huffman_coded = self.block.get(self.pos).is_some_and(|b| b & 0x80 != 0);
        let len = self.integer(7)?;
        // Check the claimed length against the block before touching or allocating anything.
        let start = self.pos;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.block.len())
            .ok_or(DecodeError::Truncated)?;
        self.pos = end;
        if !huffman_coded {
            return Ok(self.block.slice(start..end));
        }
        let src = self.block.get(start..end).unwrap_or_default();
        if src.is_empty() {
            return Ok(Bytes::new());
        }
        // `huffman::decode` needs its output bound plus one spare byte.
        let spare = self.huffman.capacity() - self.huffman.len();
        if spare <= huffman::max_decoded_len(len) {
            // The block's remaining Huffman strings cannot decode to more than 8/5 of the bytes
            // left, so this is at most one allocation per block. The buffer outlives the block:
            // once the strings split off it are dropped (the application is done with the head),
            // `reserve` reuses it in place, so steady state allocates nothing.
            let rest = self.block.len() - start;
            self.huffman
                .reserve((huffman::max_decoded_len(rest) + 1).max(HUFFMAN_MIN));
        }
        huffman::decode(src, &mut self.huffman)?;
        Ok(self.huffman.split().freeze())
    }
}

#[cfg(test)]
#[path = "decoder_tests.rs"]
mod tests;
