//! A counting global allocator: delegates to [`std::alloc::System`] and counts
//! allocations, bytes, live bytes and peak live bytes in atomics.
//!
//! Install it in a benchmark or test binary (never in a library):
//!
//! ```
//! use alloc_counter::Counter;
//!
//! #[global_allocator]
//! static ALLOC: Counter = Counter::new();
//!
//! let before = ALLOC.snapshot();
//! let v = vec![0u8; 100];
//! let used = ALLOC.snapshot() - before;
//! assert_eq!(used.allocs, 1);
//! assert_eq!(used.bytes, 100);
//! drop(v);
//! ```
//!
//! Counts are process-wide: every thread's allocations are included. Measure
//! on one thread (or with the others quiet) for exact figures.

mod counter;

pub use counter::Counter;

/// Counts at one moment; subtract two snapshots for what happened between.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Calls to `alloc`, `alloc_zeroed` and `realloc` (a `realloc` that grows
    /// or moves a block is an allocation as far as cost goes).
    pub allocs: u64,
    /// Calls to `dealloc`.
    pub frees: u64,
    /// Bytes requested by those allocations (for `realloc`, the new size).
    pub bytes: u64,
    /// Bytes allocated and not yet freed.
    pub live: u64,
    /// The most `live` has been since the counter started or since
    /// [`Counter::reset_peak`].
    pub peak: u64,
}

impl core::ops::Sub for Snapshot {
    type Output = Self;

    /// The counts that happened between `rhs` and `self`. `live` and `peak`
    /// are kept from `self` (they are levels, not counts).
    fn sub(self, rhs: Self) -> Self {
        Self {
            allocs: self.allocs.wrapping_sub(rhs.allocs),
            frees: self.frees.wrapping_sub(rhs.frees),
            bytes: self.bytes.wrapping_sub(rhs.bytes),
            live: self.live,
            peak: self.peak,
        }
    }
}
