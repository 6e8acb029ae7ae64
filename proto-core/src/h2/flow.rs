//! Flow-control windows (RFC 9113 §5.2, §6.9).

/// The largest legal window, 2^31-1 (§6.9.1).
pub(crate) const MAX_WINDOW: i64 = (1 << 31) - 1;

/// The initial window of every stream and of the connection (§6.9.2).
pub(crate) const DEFAULT_WINDOW: u32 = 65_535;

/// A flow-control window.
///
/// Invariant: the value never exceeds [`MAX_WINDOW`]; it may be negative,
/// because a SETTINGS_INITIAL_WINDOW_SIZE decrease applies to streams that
/// already used their window (§6.9.2). A negative window allows no sending
/// until WINDOW_UPDATEs bring it back above zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window(i64);

/// A window would exceed 2^31-1 (FLOW_CONTROL_ERROR, §6.9.1).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Overflow;

impl Window {
    pub(crate) fn new(size: u32) -> Self {
        Self(i64::from(size).min(MAX_WINDOW))
    }

    /// How many bytes may be sent (or received) now.
    pub(crate) fn available(self) -> usize {
        usize::try_from(self.0.max(0)).unwrap_or(usize::MAX)
    }

    /// Spends `n` bytes; the caller checked `n <= available()` when sending.
    /// On receipt, more than is available is the peer's violation: `Err`.
    pub(crate) fn consume(&mut self, n: usize) -> Result<(), Overflow> {
        let n = i64::try_from(n).map_err(|_| Overflow)?;
        if n > self.0 {
            return Err(Overflow);
        }
        self.0 -= n;
        Ok(())
    }

    /// A WINDOW_UPDATE (or a release of received bytes).
    pub(crate) fn increase(&mut self, n: u32) -> Result<(), Overflow> {
        self.adjust(i64::from(n))
    }

    /// A SETTINGS_INITIAL_WINDOW_SIZE change by `delta` (§6.9.2).
    pub(crate) fn adjust(&mut self, delta: i64) -> Result<(), Overflow> {
        let v = self.0.checked_add(delta).ok_or(Overflow)?;
        if v > MAX_WINDOW {
            return Err(Overflow);
        }
        self.0 = v;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9113 §6.9.1: a window may not exceed 2^31-1.
    #[test]
    fn increase_past_max_is_overflow_6_9_1() {
        let mut w = Window::new(DEFAULT_WINDOW);
        assert_eq!(w.increase(0x7fff_ffff), Err(Overflow));
        assert_eq!(w.available(), 65_535, "unchanged on error");
        assert_eq!(w.increase(0x7fff_ffff - 65_535), Ok(()));
    }

    /// RFC 9113 §6.9.2: a settings decrease can make a window negative.
    #[test]
    fn settings_decrease_goes_negative_6_9_2() {
        let mut w = Window::new(DEFAULT_WINDOW);
        w.consume(60_000).unwrap_or_default();
        assert_eq!(w.adjust(-65_535 + 1_000), Ok(()));
        assert_eq!(w.available(), 0);
        assert_eq!(w.increase(60_000), Ok(()));
        assert_eq!(w.available(), 1_000);
        assert_eq!(w.consume(1_001), Err(Overflow));
    }
}
