//! The core's notion of time: a monotonic instant passed in by the caller.
//!
//! The core never reads a clock. Adapters map their runtime's clock onto
//! [`Instant`] (nanoseconds since an origin of their choosing) and pass it to
//! every `recv`/`handle_timeout`/command that may start or check a timer.

use core::time::Duration;

/// A point in time, in nanoseconds since an origin chosen by the caller.
///
/// Only differences between instants of the same origin are meaningful.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The origin.
    pub const ZERO: Self = Self(0);

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the far future instead of overflowing.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(nanos))
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Self;
    fn add(self, d: Duration) -> Self {
        self.saturating_add(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_saturates() {
        let far = Instant::from_nanos(u64::MAX - 1) + Duration::from_secs(10);
        assert_eq!(far.as_nanos(), u64::MAX);
        assert_eq!(
            Instant::from_nanos(5).saturating_duration_since(Instant::from_nanos(9)),
            Duration::ZERO
        );
    }
}
