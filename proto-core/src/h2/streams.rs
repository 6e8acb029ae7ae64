//! The table of stored streams, fitted to how HTTP/2 uses it.
//!
//! Only one side opens streams (push is disabled), so new ids only grow
//! (RFC 9113 §5.1.1): a stream joins at the back of a list sorted by id, is
//! found at its offset from the first id (ids go up by two) or else by
//! binary search, and leaves by becoming a gap. The list empties when its
//! last stream goes, gaps at the back go at once, and the others are swept
//! when they outnumber the live streams: the list stays within twice the
//! live count (plus a little), and every operation is O(1) amortized or
//! O(log n), whatever order a peer resets its streams in.

use super::stream::Stream;

/// Gaps tolerated before a sweep regardless of the live count (a sweep of a
/// short list would cost more than the gaps do).
const SLACK: usize = 16;

#[derive(Debug, Default)]
pub(super) struct Streams {
    /// Sorted by id; `None` is a removed stream not yet swept away.
    slots: Vec<(u32, Option<Stream>)>,
    /// The id of the first slot (when there is one).
    base: u32,
    live: usize,
}

impl Streams {
    pub(super) fn new() -> Self {
        Self::default()
    }

    pub(super) fn len(&self) -> usize {
        self.live
    }

    pub(super) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Where `id` is in `slots` (live or a gap).
    #[inline]
    fn position(&self, id: u32) -> Option<usize> {
        // Ids of one side step by two: until gaps are swept, the offset is exact.
        let guess = (id.wrapping_sub(self.base) / 2) as usize;
        if self.slots.get(guess).is_some_and(|e| e.0 == id) {
            return Some(guess);
        }
        self.slots.binary_search_by_key(&id, |e| e.0).ok()
    }

    #[inline]
    pub(super) fn contains_key(&self, id: &u32) -> bool {
        self.get(id).is_some()
    }

    #[inline]
    pub(super) fn get(&self, id: &u32) -> Option<&Stream> {
        let i = self.position(*id)?;
        self.slots.get(i)?.1.as_ref()
    }

    #[inline]
    pub(super) fn get_mut(&mut self, id: &u32) -> Option<&mut Stream> {
        let i = self.position(*id)?;
        self.slots.get_mut(i)?.1.as_mut()
    }

    /// Stores `s` as `id`, replacing a stream stored under it.
    #[inline]
    pub(super) fn insert(&mut self, id: u32, s: Stream) {
        match self.slots.last() {
            None => self.base = id,
            Some(e) if e.0 < id => {}
            // Not reached by the protocol (ids only grow), kept correct anyway.
            Some(_) => return self.insert_between(id, s),
        }
        self.slots.push((id, Some(s)));
        self.live += 1;
    }

    #[cold]
    fn insert_between(&mut self, id: u32, s: Stream) {
        match self.slots.binary_search_by_key(&id, |e| e.0) {
            Ok(i) => {
                if let Some(e) = self.slots.get_mut(i) {
                    if e.1.replace(s).is_none() {
                        self.live += 1;
                    }
                }
            }
            Err(i) => {
                self.slots.insert(i, (id, Some(s)));
                self.live += 1;
                self.base = self.slots.first().map_or(id, |e| e.0);
            }
        }
    }

    /// Removes `id` where it lies (no move of the stream out of the table);
    /// false if there was none.
    pub(super) fn discard(&mut self, id: u32) -> bool {
        let Some(e) = self.position(id).and_then(|i| self.slots.get_mut(i)) else {
            return false;
        };
        if e.1.is_none() {
            return false;
        }
        e.1 = None;
        self.gap_made();
        true
    }

    /// A live stream became a gap: the list empties with its last stream,
    /// gaps at the back go, the others once they outnumber live streams.
    fn gap_made(&mut self) {
        self.live -= 1;
        if self.live == 0 {
            return self.slots.clear();
        }
        let back = self
            .slots
            .iter()
            .rev()
            .take_while(|e| e.1.is_none())
            .count();
        self.slots.truncate(self.slots.len() - back);
        if self.slots.len() > 2 * self.live + SLACK {
            self.slots.retain(|e| e.1.is_some());
            self.base = self.slots.first().map_or(0, |e| e.0);
        }
    }

    pub(super) fn clear(&mut self) {
        self.slots.clear();
        self.live = 0;
    }

    /// Live streams in id order.
    pub(super) fn values(&self) -> impl Iterator<Item = &Stream> {
        self.slots.iter().filter_map(|e| e.1.as_ref())
    }

    /// Live streams in id order.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Stream> {
        self.slots.iter_mut().filter_map(|e| e.1.as_mut())
    }

    /// Live stream ids, ascending.
    pub(super) fn keys(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().filter(|e| e.1.is_some()).map(|e| e.0)
    }

    /// Slots held (live streams and gaps): bounded by twice the live count.
    #[cfg(test)]
    pub(super) fn slots(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
#[path = "streams_tests.rs"]
mod tests;
