//! The [`GlobalAlloc`] implementation: the only place in the crate that
//! allows `unsafe_code`.
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::alloc::{GlobalAlloc, Layout, System};

use crate::Snapshot;

/// A global allocator that counts what passes through it to
/// [`System`]. `const`-constructible, so it can be a `static`.
#[derive(Debug)]
pub struct Counter {
    allocs: AtomicU64,
    frees: AtomicU64,
    bytes: AtomicU64,
    live: AtomicU64,
    peak: AtomicU64,
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

impl Counter {
    /// A counter at zero.
    pub const fn new() -> Self {
        Self {
            allocs: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            live: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        }
    }

    /// The counts now. Each field is read on its own (relaxed), so under
    /// concurrent allocation the fields may be from slightly different moments.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            allocs: self.allocs.load(Relaxed),
            frees: self.frees.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
            live: self.live.load(Relaxed),
            peak: self.peak.load(Relaxed),
        }
    }

    /// Starts a new peak measurement from the current live bytes.
    pub fn reset_peak(&self) {
        self.peak.store(self.live.load(Relaxed), Relaxed);
    }

    fn grew(&self, size: usize) {
        let size = size as u64;
        self.allocs.fetch_add(1, Relaxed);
        self.bytes.fetch_add(size, Relaxed);
        let live = self.live.fetch_add(size, Relaxed).wrapping_add(size);
        self.peak.fetch_max(live, Relaxed);
    }

    fn shrank(&self, size: usize) {
        self.live.fetch_sub(size as u64, Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counting touches only atomics
// and never allocates.
unsafe impl GlobalAlloc for Counter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract (non-zero size), which
        // is all `System.alloc` asks.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator (so
        // from `System`) with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        self.frees.fetch_add(1, Relaxed);
        self.shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` came from this allocator (so
        // from `System`) with `layout`, and that `new_size` is valid for it.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            self.shrank(layout.size());
            self.grew(new_size);
        }
        new
    }
}
