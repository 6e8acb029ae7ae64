//! The exchanges in progress on one connection, as a connection task keeps
//! them: found by stream id (core events) or by key (commands from handles),
//! removed when they end.
//!
//! An HTTP/2 connection may have hundreds of streams in flight. A plain
//! `Vec` searched front to back and shifted on every removal made each
//! request cost O(streams): with 100 in flight, the shift alone was ≈ 5,600
//! instructions per request (callgrind, `h2load -m 100`). Here:
//!
//! - the list is kept in stream-id order. The core hands out ids in
//!   increasing order (RFC 9113 §5.1.1 for HTTP/2; one exchange after the
//!   other for HTTP/1.1), so a new stream is appended; an out-of-order one
//!   is inserted at its place, so the order holds whatever happens;
//! - a lookup by id is a binary search;
//! - a lookup by key is a binary search, as keys are in order too as a rule
//!   (a server's key is its stream id; a client's keys come from a counter
//!   and are in order unless two threads raced to send), with a scan when
//!   it misses;
//! - storage is a ring, so removing the oldest stream (streams usually end
//!   in the order they started) moves nothing; `VecDeque::remove` moves the
//!   shorter side otherwise.

use std::collections::VecDeque;

use proto_core::StreamId;

/// What the list needs to know about an entry.
pub trait Entry {
    /// The core's stream id.
    fn id(&self) -> StreamId;
    /// The key commands name the exchange by.
    fn key(&self) -> u64;
}

/// The exchanges in progress, in stream-id order.
pub struct StreamList<T> {
    /// Invariant: ids strictly increase from front to back.
    items: VecDeque<T>,
}

impl<T> Default for StreamList<T> {
    fn default() -> Self {
        Self {
            items: VecDeque::new(),
        }
    }
}

impl<T: Entry> StreamList<T> {
    /// An empty list; allocates nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an exchange; returns its index. Ids are unique on a connection,
    /// so `entry`'s is not in the list yet.
    pub fn push(&mut self, entry: T) -> usize {
        let id = entry.id();
        if self.items.back().is_some_and(|last| last.id() > id) {
            let idx = self.items.partition_point(|e| e.id() < id);
            self.items.insert(idx, entry);
            return idx;
        }
        self.items.push_back(entry);
        self.items.len() - 1
    }

    /// The index of the exchange on stream `id`.
    pub fn by_id(&self, id: StreamId) -> Option<usize> {
        // The oldest first: with one stream in flight, or streams ending in
        // the order they began, that is the one.
        if self.items.front()?.id() == id {
            return Some(0);
        }
        self.items.binary_search_by_key(&id, |e| e.id()).ok()
    }

    /// The index of the exchange with `key`.
    pub fn by_key(&self, key: u64) -> Option<usize> {
        if self.items.front()?.key() == key {
            return Some(0);
        }
        // Keys are in order as a rule: then the search finds the key if it
        // is there. When they are not, it may miss, and a scan decides (a
        // miss costs a scan either way; misses are commands for exchanges
        // that already ended, which our own handles send, not the peer).
        match self.items.binary_search_by_key(&key, |e| e.key()) {
            Ok(idx) => Some(idx),
            Err(_) => self.items.iter().position(|e| e.key() == key),
        }
    }

    /// Takes the exchange at `idx` out.
    pub fn remove(&mut self, idx: usize) -> Option<T> {
        if idx == 0 {
            return self.items.pop_front();
        }
        self.items.remove(idx)
    }

    /// The exchange at `idx`.
    pub fn get(&self, idx: usize) -> Option<&T> {
        self.items.get(idx)
    }

    /// The exchange at `idx`, to change.
    pub fn get_mut(&mut self, idx: usize) -> Option<&mut T> {
        self.items.get_mut(idx)
    }

    /// Every exchange, in stream-id order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// Every exchange, in stream-id order, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.items.iter_mut()
    }

    /// Takes every exchange out, in stream-id order.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.items.drain(..)
    }

    /// How many exchanges are in progress.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// No exchange is in progress.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Room held for exchanges (0 after [`StreamList::release`]).
    pub fn capacity(&self) -> usize {
        self.items.capacity()
    }

    /// Lets go of the storage if no exchange is in progress (a connection
    /// between exchanges holds none; a busy one keeps it and allocates
    /// nothing per request).
    pub fn release(&mut self) {
        if self.items.is_empty() {
            self.items = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct E(u32, u64);

    impl Entry for E {
        fn id(&self) -> StreamId {
            StreamId::new(self.0)
        }
        fn key(&self) -> u64 {
            self.1
        }
    }

    fn ids(list: &StreamList<E>) -> Vec<u32> {
        list.items.iter().map(|e| e.0).collect()
    }

    #[test]
    fn finds_by_id_and_key_and_removes_in_any_order() {
        let mut list = StreamList::new();
        for n in 0..100u32 {
            assert_eq!(list.push(E(2 * n + 1, u64::from(2 * n + 1))), n as usize);
        }
        assert_eq!(list.by_id(StreamId::new(51)), Some(25));
        assert_eq!(list.by_key(51), Some(25));
        assert_eq!(list.by_id(StreamId::new(52)), None);
        assert_eq!(list.by_key(52), None);
        // Oldest first, then from the middle and the back.
        assert_eq!(list.remove(0), Some(E(1, 1)));
        let mid = list.by_id(StreamId::new(101)).and_then(|i| list.remove(i));
        assert_eq!(mid, Some(E(101, 101)));
        let last = list.by_key(199).and_then(|i| list.remove(i));
        assert_eq!(last, Some(E(199, 199)));
        assert_eq!(list.len(), 97);
        for n in 1..99u32 {
            let id = 2 * n + 1;
            let found = list.by_id(StreamId::new(id));
            assert_eq!(found.is_some(), id != 101, "stream {id}");
            assert_eq!(found, list.by_key(u64::from(id)));
        }
    }

    #[test]
    fn keys_out_of_order_fall_back_to_a_scan() {
        // A client whose senders raced: key 7 was sent after key 9.
        let mut list = StreamList::new();
        list.push(E(1, 5));
        list.push(E(3, 9));
        list.push(E(5, 7));
        assert_eq!(list.by_key(7), Some(2));
        assert_eq!(list.by_key(9), Some(1));
        assert_eq!(list.by_key(5), Some(0));
        assert_eq!(list.by_key(8), None);
    }

    #[test]
    fn an_out_of_order_id_is_inserted_at_its_place() {
        let mut list = StreamList::new();
        list.push(E(1, 1));
        list.push(E(5, 5));
        assert_eq!(list.push(E(3, 3)), 1);
        assert_eq!(ids(&list), [1, 3, 5]);
        assert_eq!(list.by_id(StreamId::new(3)), Some(1));
        assert_eq!(list.by_id(StreamId::new(5)), Some(2));
        assert_eq!(list.by_key(5), Some(2));
    }

    #[test]
    fn release_lets_storage_go_only_when_empty() {
        let mut list = StreamList::new();
        assert_eq!(list.capacity(), 0);
        list.push(E(1, 1));
        list.release();
        assert!(list.capacity() > 0, "kept while busy");
        list.remove(0);
        list.release();
        assert_eq!(list.capacity(), 0);
    }
}
