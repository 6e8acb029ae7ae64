//! The connection's timers: one slot per [`TimerKind`], the next deadline is
//! the earliest armed slot.

use core::time::Duration;

use crate::event::TimerKind;
use crate::time::Instant;

const KINDS: [TimerKind; 11] = [
    TimerKind::HeaderRead,
    TimerKind::Idle,
    TimerKind::BodyRead,
    TimerKind::ExpectContinue,
    TimerKind::ShutdownDrain,
    TimerKind::SettingsAck,
    TimerKind::KeepAlive,
    TimerKind::PingTimeout,
    TimerKind::HeaderBlock,
    TimerKind::SendStall,
    TimerKind::IdleRelease,
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
        TimerKind::SendStall => 9,
        TimerKind::IdleRelease => 10,
        // `TimerKind` is non-exhaustive for users only; every kind is listed.
    }
}

/// Fixed table of optional deadlines: a deadline per kind and a bit per
/// kind saying whether it is armed (not `[Option<Instant>; N]`, which
/// takes twice the room, in every connection).
#[derive(Debug, Default, Clone)]
pub(crate) struct Timers {
    /// `at[i]` is meaningful while bit `i` of `armed` is set.
    at: [Instant; KINDS.len()],
    armed: u16,
    /// The transport took bytes since `SendStall` was last armed.
    send_progress: bool,
}

const _: () = assert!(KINDS.len() <= u16::BITS as usize);

impl Timers {
    pub(crate) fn set(&mut self, kind: TimerKind, at: Instant) {
        let i = index(kind);
        self.at[i] = at;
        self.armed |= 1 << i;
    }

    pub(crate) fn stop(&mut self, kind: TimerKind) {
        self.armed &= !(1 << index(kind));
    }

    pub(crate) fn get(&self, kind: TimerKind) -> Option<Instant> {
        let i = index(kind);
        (self.armed & (1 << i) != 0).then(|| self.at[i])
    }

    pub(crate) fn stop_all(&mut self) {
        self.armed = 0;
    }

    /// Slow-read defence, called whenever output may have changed: keeps
    /// `SendStall` armed while bytes are `owed`, disarmed otherwise. The core
    /// learns the time only from `recv`/`handle_timeout`, so `now` may be
    /// stale here; progress is therefore only noted, and checked when the
    /// timer fires ([`Timers::send_stalled`]).
    pub(crate) fn watch_send(&mut self, owed: bool, now: Instant, timeout: Option<Duration>) {
        match timeout {
            Some(d) if owed => {
                if self.get(TimerKind::SendStall).is_none() {
                    self.send_progress = false;
                    self.set(TimerKind::SendStall, now + d);
                }
            }
            _ => self.stop(TimerKind::SendStall),
        }
    }

    /// The transport took `n` bytes.
    pub(crate) fn sent(&mut self, n: usize) {
        if n > 0 {
            self.send_progress = true;
        }
    }

    /// `SendStall` fired at `now`: true if the transport took nothing since it
    /// was armed (the connection must close); otherwise re-arms it from `now`.
    pub(crate) fn send_stalled(&mut self, now: Instant, timeout: Option<Duration>) -> bool {
        if !core::mem::take(&mut self.send_progress) {
            return true;
        }
        if let Some(d) = timeout {
            self.set(TimerKind::SendStall, now + d);
        }
        false
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        (self.at.iter().enumerate())
            .filter(|&(i, _)| self.armed & (1 << i) != 0)
            .map(|(_, &at)| at)
            .min()
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

    #[test]
    fn every_kind_has_its_own_slot() {
        let mut t = Timers::default();
        for (n, kind) in (1..).zip(KINDS) {
            assert_eq!(t.get(kind), None);
            t.set(kind, Instant::from_nanos(1000 - n));
        }
        for (n, kind) in (1..).zip(KINDS) {
            assert_eq!(t.get(kind), Some(Instant::from_nanos(1000 - n)));
        }
        let last = KINDS[KINDS.len() - 1];
        assert_eq!(t.next(), t.get(last));
        t.stop(last);
        assert_eq!(t.get(last), None);
        assert_eq!(t.next(), t.get(KINDS[KINDS.len() - 2]));
        t.stop_all();
        assert!(KINDS.iter().all(|&k| t.get(k).is_none()));
        assert_eq!(t.next(), None);
    }
}
