//! The HPACK encoder (RFC 7541 §3.1, §6) and its indexing policy.

use bytes::{BufMut, BytesMut};

use super::field::cookie_crumbs;
use super::table::{DynamicTable, Match, STATIC_LEN, entry_size, hash, static_find};
use super::{huffman, integer};

/// The initial dynamic table size of HTTP/2 (RFC 9113 §6.5.2 SETTINGS_HEADER_TABLE_SIZE).
const DEFAULT_TABLE_SIZE: usize = 4096;

/// Cookie crumbs shorter than this are sent never-indexed: short values are guessable by an
/// attacker probing the compression context (RFC 7541 §7.1.3; nghttp2 uses the same bound).
const SHORT_COOKIE: usize = 20;

/// Fields whose values are usually unique per message: indexing them would only evict
/// entries that do repeat (the list nghttp2 uses).
const NOT_INDEXED: &[&[u8]] = &[
    b":path",
    b"age",
    b"content-length",
    b"etag",
    b"if-modified-since",
    b"if-none-match",
    b"location",
];

/// Fields that carry credentials and are always sent never-indexed (RFC 7541 §7.1.3):
/// an intermediary must not index them either, and their presence in a shared compression
/// context would let an attacker guess them.
const SENSITIVE: &[&[u8]] = &[b"authorization", b"proxy-authorization", b"set-cookie"];

/// When string literals are Huffman-coded (RFC 7541 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HuffmanMode {
    /// Only when the coded string is strictly shorter than the raw one.
    #[default]
    Shorter,
    /// Always (as RFC 7541 Appendix C.4 and C.6 do).
    Always,
    /// Never (as RFC 7541 Appendix C.3 and C.5 do).
    Never,
}

/// How a field that is not sent as an index is represented (RFC 7541 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexing {
    /// Literal with incremental indexing (§6.2.1): added to the dynamic table. A field that
    /// matches a table entry exactly is sent as that entry's index (§6.1).
    Incremental,
    /// Literal without indexing (§6.2.2). A field that matches a table entry exactly is sent
    /// as that entry's index.
    Without,
    /// Literal never indexed (§6.2.3): always a literal value, and intermediaries must keep it
    /// a literal. For credentials.
    Never,
}

/// Encodes header blocks sent to one peer: one `Encoder` per connection direction.
///
/// Blocks must be sent in the order they were encoded. Default policy ([`encode`]):
/// - an exact match in the static or dynamic table is sent as an index;
/// - `authorization`, `proxy-authorization`, `set-cookie`, `cookie` crumbs shorter than 20
///   bytes and fields the caller marks sensitive are sent never-indexed;
/// - `cookie` is split into crumbs at `"; "`, one field each (RFC 9113 §8.2.3);
/// - values usually unique per message (`:path`, `age`, `content-length`, `etag`,
///   `if-modified-since`, `if-none-match`, `location`) and entries larger than 3/4 of the
///   table are sent without indexing; everything else is added to the dynamic table;
/// - Huffman coding is used when it is shorter ([`HuffmanMode::Shorter`]).
///
/// [`encode`]: Self::encode
#[derive(Debug)]
pub struct Encoder {
    table: DynamicTable,
    /// The peer's SETTINGS_HEADER_TABLE_SIZE.
    peer_max: usize,
    /// Our own cap on the table's size (memory we agree to spend on it).
    limit: usize,
    /// Sizes changed since the last block: `(smallest, last)` effective maximum. The next block
    /// starts with size updates for them (§4.2).
    pending: Option<(usize, usize)>,
    huffman: HuffmanMode,
    /// Bumped whenever the dynamic table or the coding mode changes.
    generation: u64,
    /// The last block, when encoding it changed nothing ([`repeat`]).
    last: repeat::LastBlock,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An encoder with HTTP/2's initial table size, 4096 bytes.
    pub fn new() -> Self {
        Self::with_max_table_size(DEFAULT_TABLE_SIZE)
    }

    /// An encoder whose dynamic table starts at `max_table_size` bytes, a size both peers
    /// assume without signalling it (HTTP/2 uses [`new`](Self::new)). It is also our cap:
    /// a larger peer setting does not grow the table until
    /// [`set_table_size_limit`](Self::set_table_size_limit) raises it.
    pub fn with_max_table_size(max_table_size: usize) -> Self {
        Self {
            table: DynamicTable::new(max_table_size),
            peer_max: max_table_size,
            limit: max_table_size,
            pending: None,
            huffman: HuffmanMode::default(),
            generation: 0,
            last: repeat::LastBlock::default(),
        }
    }

    /// Applies the peer's SETTINGS_HEADER_TABLE_SIZE. The table uses the smaller of it and our
    /// [limit](Self::set_table_size_limit); a change is signalled at the start of the next
    /// block, with the smallest size reached first when the size shrank and grew again in
    /// between (RFC 7541 §4.2, §6.3).
    pub fn set_max_table_size(&mut self, peer_setting: usize) {
        self.peer_max = peer_setting;
        self.size_changed();
    }

    /// Caps the table at `limit` bytes whatever the peer allows (default: the initial size).
    pub fn set_table_size_limit(&mut self, limit: usize) {
        self.limit = limit;
        self.size_changed();
    }

    /// Chooses when string literals are Huffman-coded.
    pub fn set_huffman(&mut self, mode: HuffmanMode) {
        self.huffman = mode;
        self.generation += 1;
    }

    /// The dynamic table's current size in bytes (RFC 7541 §4.1).
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    #[cfg(test)]
    pub(crate) fn table(&self) -> &DynamicTable {
        &self.table
    }

    fn size_changed(&mut self) {
        let size = self.peer_max.min(self.limit);
        let smallest = self
            .pending
            .map_or(size, |(smallest, _)| smallest.min(size));
        self.pending = Some((smallest, size));
    }

    /// Encodes one header block into `dst` with the default policy (see the type's
    /// documentation). Each item is `(name, value, sensitive)`; names must already be
    /// lowercase (RFC 9113 §8.2.1).
    pub fn encode<'a>(
        &mut self,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8], bool)>,
        dst: &mut BytesMut,
    ) {
        self.start_block(dst);
        for (name, value, sensitive) in fields {
            if name == b"cookie" {
                for crumb in cookie_crumbs(value) {
                    let never = sensitive || crumb.len() < SHORT_COOKIE;
                    self.field(name, crumb, self.policy(name, crumb, never), dst);
                }
            } else {
                self.field(name, value, self.policy(name, value, sensitive), dst);
            }
        }
    }

    /// Encodes one header block into `dst` with the representation chosen for each field, for
    /// callers with their own policy (and for reproducing RFC 7541 Appendix C). Size updates,
    /// exact-match indexing and Huffman coding work as in [`encode`](Self::encode); cookies are
    /// not split.
    pub fn encode_with<'a>(
        &mut self,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8], Indexing)>,
        dst: &mut BytesMut,
    ) {
        self.start_block(dst);
        for (name, value, indexing) in fields {
            self.field(name, value, indexing, dst);
        }
    }

    /// Emits pending dynamic table size updates (§6.3).
    fn start_block(&mut self, dst: &mut BytesMut) {
        let Some((smallest, last)) = self.pending.take() else {
            return;
        };
        // The peer's decoder must evict down to the smallest size if it went below the table's
        // maximum, before growing again (§4.2).
        if smallest < last.min(self.table.max_size()) {
            integer::encode(smallest, 5, 0x20, dst);
            self.table.set_max_size(smallest);
            self.generation += 1;
        }
        if last != self.table.max_size() {
            integer::encode(last, 5, 0x20, dst);
            self.table.set_max_size(last);
            self.generation += 1;
        }
    }

    fn policy(&self, name: &[u8], value: &[u8], sensitive: bool) -> Indexing {
        if sensitive || SENSITIVE.contains(&name) {
            Indexing::Never
        } else if NOT_INDEXED.contains(&name)
            || entry_size(name, value) > self.table.max_size() / 4 * 3
        {
            Indexing::Without
        } else {
            Indexing::Incremental
        }
    }

    fn field(&mut self, name: &[u8], value: &[u8], indexing: Indexing, dst: &mut BytesMut) {
        let in_static = static_find(name, value);
        let mut name_index = match in_static {
            Some(Match::Full(index)) if indexing != Indexing::Never => {
                return integer::encode(index, 7, 0x80, dst);
            }
            Some(Match::Full(index) | Match::Name(index)) => Some(index),
            None => None,
        };
        // Dynamic table: an exact match, else the newest entry with this name. Hashes first:
        // most entries differ, and names of equal length often share a long prefix.
        let (name_hash, value_hash) = (hash(name), hash(value));
        for (i, entry) in self.table.iter().enumerate() {
            if entry.name_hash != name_hash || entry.name != name {
                continue;
            }
            let index = STATIC_LEN + 1 + i;
            if entry.value_hash == value_hash && entry.value == value && indexing != Indexing::Never
            {
                return integer::encode(index, 7, 0x80, dst);
            }
            // A static name index is never longer to encode than a dynamic one.
            name_index.get_or_insert(index);
        }
        let (flags, prefix) = match indexing {
            Indexing::Incremental => (0x40, 6),
            Indexing::Without => (0x00, 4),
            Indexing::Never => (0x10, 4),
        };
        match name_index {
            Some(index) => integer::encode(index, prefix, flags, dst),
            None => {
                dst.put_u8(flags);
                self.string(name, dst);
            }
        }
        self.string(value, dst);
        if indexing == Indexing::Incremental {
            self.table.insert(name, value);
            self.generation += 1;
        }
    }

    /// A string literal (§5.2).
    fn string(&self, s: &[u8], dst: &mut BytesMut) {
        let coded_len = match self.huffman {
            HuffmanMode::Never => None,
            HuffmanMode::Always => Some(huffman::encoded_len(s)),
            HuffmanMode::Shorter => Some(huffman::encoded_len(s)).filter(|&n| n < s.len()),
        };
        match coded_len {
            Some(n) => {
                integer::encode(n, 7, 0x80, dst);
                huffman::encode(s, dst);
            }
            None => {
                integer::encode(s.len(), 7, 0, dst);
                dst.put_slice(s);
            }
        }
    }
}

#[path = "encoder_repeat.rs"]
mod repeat;

#[cfg(test)]
#[path = "encoder_tests.rs"]
mod tests;
