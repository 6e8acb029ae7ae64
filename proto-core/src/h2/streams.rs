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
    /// Ids of `slots`, ascending (apart so that a new stream is moved once
    /// and searches read only ids).
    ids: Vec<u32>,
    /// `None` is a removed stream not yet swept away.
    slots: Vec<Option<Stream>>,
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
        if self.ids.get(guess) == Some(&id) {
            return Some(guess);
        }
        self.ids.binary_search(&id).ok()
    }

    #[inline]
    pub(super) fn contains_key(&self, id: &u32) -> bool {
        self.get(id).is_some()
    }

    #[inline]
    pub(super) fn get(&self, id: &u32) -> Option<&Stream> {
        let i = self.position(*id)?;
        self.slots.get(i)?.as_ref()
    }

    #[inline]
    pub(super) fn get_mut(&mut self, id: &u32) -> Option<&mut Stream> {
        let i = self.position(*id)?;
        self.slots.get_mut(i)?.as_mut()
    }

    /// Stores `s` as `id`, replacing a stream stored under it.
    #[inline]
    pub(super) fn insert(&mut self, id: u32, s: Stream) {
        match self.ids.last() {
            None => self.base = id,
            Some(&last) if last < id => {}
            // Not reached by the protocol (ids only grow), kept correct anyway.
            Some(_) => return self.insert_between(id, s),
        }
        self.ids.push(id);
        self.slots.push(Some(s));
        self.live += 1;
    }

    #[cold]
    fn insert_between(&mut self, id: u32, s: Stream) {
        match self.ids.binary_search(&id) {
            Ok(i) => {
                if let Some(e) = self.slots.get_mut(i) {
                    if e.replace(s).is_none() {
                        self.live += 1;
                    }
                }
            }
            Err(i) => {
                self.ids.insert(i, id);
                self.slots.insert(i, Some(s));
                self.live += 1;
                self.base = self.ids.first().copied().unwrap_or(id);
            }
        }
    }

    /// Removes `id` where it lies (no move of the stream out of the table);
    /// false if there was none.
    pub(super) fn discard(&mut self, id: u32) -> bool {
        let Some(e) = self.position(id).and_then(|i| self.slots.get_mut(i)) else {
            return false;
        };
        if e.is_none() {
            return false;
        }
        *e = None;
        self.gap_made();
        true
    }

    /// A live stream became a gap: the list empties with its last stream,
    /// gaps at the back go, the others once they outnumber live streams.
    fn gap_made(&mut self) {
        self.live -= 1;
        if self.live == 0 {
            return self.clear();
        }
        let back = self.slots.iter().rev().take_while(|e| e.is_none()).count();
        let len = self.slots.len() - back;
        self.slots.truncate(len);
        self.ids.truncate(len);
        if len > 2 * self.live + SLACK {
            // `retain` visits in order, once each: the ids follow their slots.
            let mut keep = self.slots.iter().map(Option::is_some);
            self.ids.retain(|_| keep.next().unwrap_or(false));
            self.slots.retain(Option::is_some);
            self.base = self.ids.first().copied().unwrap_or(0);
        }
    }

    pub(super) fn clear(&mut self) {
        self.ids.clear();
        self.slots.clear();
        self.live = 0;
    }

    /// Live streams in id order.
    pub(super) fn values(&self) -> impl Iterator<Item = &Stream> {
        self.slots.iter().filter_map(Option::as_ref)
    }

    /// Live streams in id order.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Stream> {
        self.slots.iter_mut().filter_map(Option::as_mut)
    }

    /// Live stream ids, ascending.
    pub(super) fn keys(&self) -> impl Iterator<Item = u32> + '_ {
        let live = self.slots.iter().map(Option::is_some);
        self.ids.iter().zip(live).filter(|e| e.1).map(|e| *e.0)
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
