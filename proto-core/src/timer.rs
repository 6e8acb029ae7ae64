//! The connection's timers: one slot per [`TimerKind`], the next deadline is
//! the earliest armed slot.

use crate::event::TimerKind;
use crate::time::Instant;

const KINDS: [TimerKind; 9] = [
    TimerKind::HeaderRead,
    TimerKind::Idle,
    TimerKind::BodyRead,
    TimerKind::ExpectContinue,
    TimerKind::ShutdownDrain,
    TimerKind::SettingsAck,
    TimerKind::KeepAlive,
    TimerKind::PingTimeout,
    TimerKind::HeaderBlock,
];

fn index(kind: TimerKind) -> usize {
    match kind {
        TimerKind::HeaderRead => 0,
        TimerKind::Idle => 1,
        TimerKind::BodyRead => 2,
        TimerKind::ExpectContinue => 3,
        TimerKind::ShutdownDrain => 4,
        TimerKind::SettingsAck => 5,
        TimerKind::KeepAlive => 6,
        TimerKind::PingTimeout => 7,
        TimerKind::HeaderBlock => 8,
    }
}

/// Fixed table of optional deadlines.
#[derive(Debug, Default, Clone)]
pub(crate) struct Timers {
    slots: [Option<Instant>; KINDS.len()],
}

impl Timers {
    pub(crate) fn set(&mut self, kind: TimerKind, at: Instant) {
        self.slots[index(kind)] = Some(at);
    }

    pub(crate) fn stop(&mut self, kind: TimerKind) {
        self.slots[index(kind)] = None;
    }

    pub(crate) fn get(&self, kind: TimerKind) -> Option<Instant> {
        self.slots[index(kind)]
    }

    pub(crate) fn stop_all(&mut self) {
        self.slots = [None; KINDS.len()];
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Disarms and returns the earliest timer expired at `now`, if any.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<TimerKind> {
        let kind = KINDS
            .into_iter()
            .find(|&k| self.get(k).is_some_and(|at| at <= now))?;
        self.stop(kind);
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_the_minimum_and_expiry_disarms() {
        let mut t = Timers::default();
        t.set(TimerKind::Idle, Instant::from_nanos(50));
        t.set(TimerKind::BodyRead, Instant::from_nanos(20));
        assert_eq!(t.next(), Some(Instant::from_nanos(20)));
        assert_eq!(t.pop_expired(Instant::from_nanos(10)), None);
        assert_eq!(
            t.pop_expired(Instant::from_nanos(60)),
            Some(TimerKind::Idle)
        );
        assert_eq!(
            t.pop_expired(Instant::from_nanos(60)),
            Some(TimerKind::BodyRead)
        );
        assert_eq!(t.next(), None);
    }
}
