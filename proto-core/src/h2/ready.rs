//! The send scheduler's ready queues: one per RFC 9218 urgency, with a bit
//! per non-empty queue so that finding the most urgent stream (every
//! `poll_transmit`) is one instruction, not a look at eight queues.

use std::collections::VecDeque;

use super::stream::Stream;

/// Urgencies 0 (highest) ..= 7 (RFC 9218 §4.1).
const LEVELS: usize = 8;

#[derive(Debug, Default)]
pub(super) struct Ready {
    queues: [VecDeque<u32>; LEVELS],
    /// Bit `u` set iff `queues[u]` is non-empty.
    mask: u8,
}

impl Ready {
    /// The queue of `urgency` (values above 7 count as 7).
    fn queue(&mut self, urgency: u8) -> (usize, &mut VecDeque<u32>) {
        let u = usize::from(urgency.min(7));
        self.mask |= 1 << u;
        (u, &mut self.queues[u])
    }

    pub(super) fn push_back(&mut self, urgency: u8, id: u32) {
        self.queue(urgency).1.push_back(id);
    }

    pub(super) fn push_front(&mut self, urgency: u8, id: u32) {
        self.queue(urgency).1.push_front(id);
    }

    /// Puts `s` in its urgency's queue unless it is in one already.
    #[inline]
    pub(super) fn schedule(&mut self, s: &mut Stream) {
        if !s.scheduled {
            s.scheduled = true;
            self.push_back(s.urgency, s.id.get());
        }
    }

    /// The first stream of the most urgent non-empty queue, and its urgency.
    pub(super) fn pop(&mut self) -> Option<(u8, u32)> {
        if self.mask == 0 {
            return None;
        }
        let u = self.mask.trailing_zeros() as usize;
        let q = self.queues.get_mut(u)?;
        let id = q.pop_front();
        if q.is_empty() {
            self.mask &= !(1 << u);
        }
        // `u` < 8: the cast is exact.
        Some((u as u8, id?))
    }

    /// Ids the queues have room for without growing.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.queues.iter().map(VecDeque::capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::Ready;

    #[test]
    fn most_urgent_first_then_in_queue_order() {
        let mut r = Ready::default();
        assert_eq!(r.pop(), None);
        r.push_back(3, 1);
        r.push_back(7, 3);
        r.push_back(3, 5);
        r.push_back(0, 7);
        r.push_front(3, 9);
        // Urgency above 7 is 7.
        r.push_back(200, 11);
        let order: Vec<(u8, u32)> = std::iter::from_fn(|| r.pop()).collect();
        assert_eq!(order, [(0, 7), (3, 9), (3, 1), (3, 5), (7, 3), (7, 11)]);
        assert_eq!(r.pop(), None);
        r.push_back(5, 13);
        assert_eq!(r.pop(), Some((5, 13)));
        assert_eq!(r.pop(), None);
    }
}
