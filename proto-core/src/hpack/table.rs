//! The static table (RFC 7541 Appendix A) and the dynamic table (§2.3.2, §4).
//!
//! Both tables share one index space (§2.3.3): 1..=61 is the static table, 62 and up the
//! dynamic table, newest entry first.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// Per-entry overhead in the table size (§4.1): an estimate of the bookkeeping cost.
pub(crate) const ENTRY_OVERHEAD: usize = 32;

/// Number of entries in the static table.
pub(crate) const STATIC_LEN: usize = 61;

/// RFC 7541 Appendix A, in index order (index 1 is `STATIC_TABLE[0]`).
pub(crate) static STATIC_TABLE: [(&[u8], &[u8]); STATIC_LEN] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// A static-table match for the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// Name and value match the entry at this index.
    Full(usize),
    /// Only the name matches the entry at this index.
    Name(usize),
}

/// Looks `name: value` up in the static table (the lowest index wins).
pub(crate) fn static_find(name: &[u8], value: &[u8]) -> Option<Match> {
    // The indices of the entries with this name; a `match` on the name compiles to length and
    // byte comparisons rather than a scan of all 61 entries.
    let (first, last) = match name {
        b":authority" => (1, 1),
        b":method" => (2, 3),
        b":path" => (4, 5),
        b":scheme" => (6, 7),
        b":status" => (8, 14),
        b"accept-charset" => (15, 15),
        b"accept-encoding" => (16, 16),
        b"accept-language" => (17, 17),
        b"accept-ranges" => (18, 18),
        b"accept" => (19, 19),
        b"access-control-allow-origin" => (20, 20),
        b"age" => (21, 21),
        b"allow" => (22, 22),
        b"authorization" => (23, 23),
        b"cache-control" => (24, 24),
        b"content-disposition" => (25, 25),
        b"content-encoding" => (26, 26),
        b"content-language" => (27, 27),
        b"content-length" => (28, 28),
        b"content-location" => (29, 29),
        b"content-range" => (30, 30),
        b"content-type" => (31, 31),
        b"cookie" => (32, 32),
        b"date" => (33, 33),
        b"etag" => (34, 34),
        b"expect" => (35, 35),
        b"expires" => (36, 36),
        b"from" => (37, 37),
        b"host" => (38, 38),
        b"if-match" => (39, 39),
        b"if-modified-since" => (40, 40),
        b"if-none-match" => (41, 41),
        b"if-range" => (42, 42),
        b"if-unmodified-since" => (43, 43),
        b"last-modified" => (44, 44),
        b"link" => (45, 45),
        b"location" => (46, 46),
        b"max-forwards" => (47, 47),
        b"proxy-authenticate" => (48, 48),
        b"proxy-authorization" => (49, 49),
        b"range" => (50, 50),
        b"referer" => (51, 51),
        b"refresh" => (52, 52),
        b"retry-after" => (53, 53),
        b"server" => (54, 54),
        b"set-cookie" => (55, 55),
        b"strict-transport-security" => (56, 56),
        b"transfer-encoding" => (57, 57),
        b"user-agent" => (58, 58),
        b"vary" => (59, 59),
        b"via" => (60, 60),
        b"www-authenticate" => (61, 61),
        _ => return None,
    };
    let full = STATIC_TABLE
        .get(first - 1..last)
        .and_then(|entries| entries.iter().position(|&(_, v)| v == value))
        .map(|i| Match::Full(first + i));
    Some(full.unwrap_or(Match::Name(first)))
}

/// The size of an entry (§4.1): name and value lengths plus 32.
pub(crate) fn entry_size(name: &[u8], value: &[u8]) -> usize {
    name.len()
        .saturating_add(value.len())
        .saturating_add(ENTRY_OVERHEAD)
}

/// A dynamic table entry. Name and value share one allocation owned by the table: it never
/// keeps a caller's (possibly much larger) header block buffer alive.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: Bytes,
    pub(crate) value: Bytes,
    /// [`hash`] of the name and of the value: the encoder's table scan compares these before
    /// comparing bytes.
    pub(crate) name_hash: u32,
    pub(crate) value_hash: u32,
}

/// A fast non-cryptographic hash (FxHash's mixing, 8 bytes at a time). Collisions only cost a
/// byte comparison; they cannot produce a wrong match.
pub(crate) fn hash(bytes: &[u8]) -> u32 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    let mut word = [0u8; 8];
    if let Some(head) = word.get_mut(..rest.len()) {
        head.copy_from_slice(rest);
    }
    h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    (h >> 32) as u32
}

impl Entry {
    fn size(&self) -> usize {
        entry_size(&self.name, &self.value)
    }
}

/// The dynamic table (§2.3.2): a FIFO of entries, newest at the back.
///
/// Invariant: `size` is the sum of the entries' sizes and `size <= max_size`.
#[derive(Debug)]
pub(crate) struct DynamicTable {
    entries: VecDeque<Entry>,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    pub(crate) fn new(max_size: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            size: 0,
            max_size,
        }
    }

    /// Current size (§4.1).
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Maximum size, as last set by a dynamic table size update (§4.2).
    pub(crate) fn max_size(&self) -> usize {
        self.max_size
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry at dynamic index `i` (0 is the newest; combined index `62 + i`).
    pub(crate) fn get(&self, i: usize) -> Option<&Entry> {
        let back = self.entries.len().checked_sub(i.checked_add(1)?)?;
        self.entries.get(back)
    }

    /// Entries from newest to oldest.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().rev()
    }

    /// Changes the maximum size, evicting oldest entries until the table fits (§4.3).
    pub(crate) fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// Adds an entry (§4.4): evicts oldest entries to make room; an entry larger than the
    /// maximum size empties the table and is not added. Returns the new entry if added.
    /// Lets go of entry slots beyond those in use (an idle connection's
    /// memory: the list grows by doubling, four slots for the first entry).
    /// The entries, protocol state, stay.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
    }

    pub(crate) fn insert(&mut self, name: &[u8], value: &[u8]) -> Option<&Entry> {
        let size = entry_size(name, value);
        if size > self.max_size {
            self.entries.clear();
            self.size = 0;
            return None;
        }
        self.evict_to(self.max_size - size);
        let (name_hash, value_hash) = (hash(name), hash(value));
        let mut buf = BytesMut::with_capacity(name.len() + value.len());
        buf.extend_from_slice(name);
        buf.extend_from_slice(value);
        let value = buf.split_off(name.len()).freeze();
        let name = buf.freeze();
        self.entries.push_back(Entry {
            name,
            value,
            name_hash,
            value_hash,
        });
        self.size += size;
        self.entries.back()
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            let Some(old) = self.entries.pop_front() else {
                // Unreachable by the invariant; keep the accounting consistent regardless.
                self.size = 0;
                break;
            };
            self.size -= old.size();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7541 Appendix A: 61 entries, `static_find` agrees with the table for every entry.
    #[test]
    fn static_table_lookup_agrees_with_appendix_a() {
        assert_eq!(STATIC_TABLE.len(), 61);
        for (i, &(name, value)) in STATIC_TABLE.iter().enumerate() {
            let index = i + 1;
            let Some(Match::Full(found)) = static_find(name, value) else {
                panic!("entry {index} not found");
            };
            assert_eq!(STATIC_TABLE[found - 1], (name, value));
            // The first entry with this name is the name match.
            let first = STATIC_TABLE
                .iter()
                .position(|&(n, _)| n == name)
                .map(|p| p + 1);
            assert_eq!(static_find(name, b"\0other"), first.map(Match::Name));
        }
        assert_eq!(static_find(b":method", b"POST"), Some(Match::Full(3)));
        assert_eq!(static_find(b":status", b"418"), Some(Match::Name(8)));
        assert_eq!(static_find(b"x-custom", b""), None);
    }

    /// RFC 7541 §4.1: size is name + value + 32; §4.4: eviction from the oldest end.
    #[test]
    fn shrink_to_fit_keeps_the_entries() {
        let mut t = DynamicTable::new(4096);
        t.insert(b"aaaa", b"bbbb");
        assert!(t.entries.capacity() > 1);
        t.shrink_to_fit();
        assert_eq!(t.entries.capacity(), 1);
        assert_eq!((t.len(), t.size()), (1, 40));
        assert_eq!(
            &t.get(0).map(|e| e.value.clone()).unwrap_or_default()[..],
            b"bbbb"
        );
    }

    #[test]
    fn insert_and_evict() {
        let mut t = DynamicTable::new(100);
        t.insert(b"aaaa", b"bbbb"); // 40
        t.insert(b"cccc", b"dddd"); // 80
        assert_eq!((t.len(), t.size()), (2, 80));
        assert_eq!(
            &t.get(0).map(|e| e.name.clone()).unwrap_or_default()[..],
            b"cccc"
        );
        t.insert(b"eeee", b"ffff"); // evicts aaaa
        assert_eq!((t.len(), t.size()), (2, 80));
        assert_eq!(
            &t.get(1).map(|e| e.name.clone()).unwrap_or_default()[..],
            b"cccc"
        );
        assert!(t.get(2).is_none());
        assert!(t.get(usize::MAX).is_none());
    }

    /// RFC 7541 §4.4: an entry larger than the maximum size empties the table.
    #[test]
    fn oversized_entry_empties_table() {
        let mut t = DynamicTable::new(100);
        t.insert(b"a", b"b");
        assert!(t.insert(&[b'x'; 60], &[b'y'; 9]).is_none());
        assert_eq!((t.len(), t.size()), (0, 0));
        // Exactly the maximum fits.
        assert!(t.insert(&[b'x'; 60], &[b'y'; 8]).is_some());
        assert_eq!(t.size(), 100);
    }

    /// RFC 7541 §4.3: lowering the maximum size evicts; zero empties the table.
    #[test]
    fn resize_evicts() {
        let mut t = DynamicTable::new(200);
        for i in 0..4u8 {
            t.insert(&[i; 4], &[i; 4]);
        }
        assert_eq!(t.size(), 160);
        t.set_max_size(100);
        assert_eq!((t.len(), t.size()), (2, 80));
        assert_eq!(t.get(1).map(|e| e.name[0]), Some(2));
        t.set_max_size(0);
        assert_eq!((t.len(), t.size(), t.max_size()), (0, 0, 0));
    }
}
