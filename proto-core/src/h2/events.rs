//! The connection's queue of events for the application.
//!
//! A stream that goes away takes its pending wake-ups (`Readable`,
//! `Writable`) with it: the application must not hear of a stream after its
//! `Finished` or `Reset`. Finding them used to mean searching the whole queue
//! on every retired stream, which with many streams in flight holds one
//! `Request` per stream: O(streams) per stream, about 1,000 instructions per
//! request at 100 in flight. The queue counts the wake-ups it holds, so the
//! search only runs when there is one to find (uploads, flow-control stalls).

use std::collections::VecDeque;

use crate::event::{Event, StreamId};

#[derive(Debug, Default)]
pub(super) struct Events {
    queue: VecDeque<Event>,
    /// Invariant: the number of `Readable` and `Writable` events in `queue`.
    wakeups: usize,
}

fn is_wakeup(ev: &Event) -> bool {
    matches!(ev, Event::Readable { .. } | Event::Writable { .. })
}

impl Events {
    pub(super) fn push_back(&mut self, ev: Event) {
        self.wakeups += usize::from(is_wakeup(&ev));
        self.queue.push_back(ev);
    }

    pub(super) fn pop_front(&mut self) -> Option<Event> {
        let ev = self.queue.pop_front()?;
        self.wakeups -= usize::from(is_wakeup(&ev));
        Some(ev)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.queue.capacity()
    }

    /// Drops the wake-ups of stream `id`, or of every stream (`None`).
    pub(super) fn drop_wakeups(&mut self, id: Option<StreamId>) {
        if self.wakeups == 0 {
            return;
        }
        self.queue.retain(|e| match e {
            Event::Readable { id: of } | Event::Writable { id: of } => {
                id.is_some_and(|id| id != *of)
            }
            _ => true,
        });
        self.wakeups = self.queue.iter().filter(|e| is_wakeup(e)).count();
    }

    /// Puts `earlier` (events an HTTP/1 connection queued before it became
    /// this one) in front.
    pub(super) fn prepend(&mut self, mut earlier: VecDeque<Event>) {
        self.wakeups += earlier.iter().filter(|e| is_wakeup(e)).count();
        earlier.append(&mut self.queue);
        self.queue = earlier;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> StreamId {
        StreamId::new(n)
    }

    fn ids(q: &mut Events) -> Vec<(char, u32)> {
        let mut out = Vec::new();
        while let Some(ev) = q.pop_front() {
            out.push(match ev {
                Event::Readable { id } => ('r', id.get()),
                Event::Writable { id } => ('w', id.get()),
                Event::Finished { id } => ('f', id.get()),
                _ => ('?', 0),
            });
        }
        assert_eq!(q.wakeups, 0, "an empty queue holds no wake-ups");
        out
    }

    #[test]
    fn the_count_follows_pushes_and_pops() {
        let mut q = Events::default();
        q.push_back(Event::Finished { id: id(1) });
        assert_eq!(q.wakeups, 0);
        q.push_back(Event::Readable { id: id(3) });
        q.push_back(Event::Writable { id: id(3) });
        assert_eq!(q.wakeups, 2);
        q.pop_front();
        assert_eq!(q.wakeups, 2, "popping a Finished leaves the count");
        q.pop_front();
        assert_eq!(q.wakeups, 1);
    }

    #[test]
    fn dropping_one_streams_wakeups_keeps_the_rest_in_order() {
        let mut q = Events::default();
        q.push_back(Event::Readable { id: id(1) });
        q.push_back(Event::Writable { id: id(3) });
        q.push_back(Event::Finished { id: id(1) });
        q.push_back(Event::Writable { id: id(1) });
        q.push_back(Event::Readable { id: id(5) });
        q.drop_wakeups(Some(id(1)));
        assert_eq!(q.wakeups, 2);
        assert_eq!(ids(&mut q), [('w', 3), ('f', 1), ('r', 5)]);
    }

    #[test]
    fn dropping_every_streams_wakeups_keeps_other_events() {
        let mut q = Events::default();
        q.push_back(Event::Readable { id: id(1) });
        q.push_back(Event::Finished { id: id(3) });
        q.push_back(Event::Writable { id: id(5) });
        q.drop_wakeups(None);
        assert_eq!(q.wakeups, 0);
        assert_eq!(ids(&mut q), [('f', 3)]);
    }

    #[test]
    fn prepended_events_are_counted_and_come_first() {
        let mut q = Events::default();
        q.push_back(Event::Finished { id: id(3) });
        q.prepend(VecDeque::from([Event::Readable { id: id(1) }]));
        assert_eq!(q.wakeups, 1);
        q.drop_wakeups(Some(id(1)));
        assert_eq!(ids(&mut q), [('f', 3)]);
    }
}
