//! Memory probe: the process's resident set, its peak, and a peak reset.
//!
//! The servers under attack run in the test process, so their memory is the
//! process's. A counting `#[global_allocator]` would measure the heap more
//! precisely, but `GlobalAlloc` needs `unsafe impl`, and the workspace
//! forbids `unsafe_code`. Linux gives the same bound from outside the heap:
//! `VmHWM` in `/proc/self/status` is the peak resident set, and writing `5`
//! to `/proc/self/clear_refs` resets it to the current resident set. Resident
//! memory includes thread stacks and allocator slack, so bounds on it are
//! conservative (they can only over-count the server's growth).
//!
//! Process-wide: tests that measure must not run at once (see
//! [`super::serial`]).

use std::fs;

/// A `kB` line of `/proc/self/status`, in bytes.
fn status_bytes(key: &str) -> Option<usize> {
    let text = fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: usize = line
        .trim_start_matches(key)
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Resident bytes now (`VmRSS`), if the platform tells.
pub fn current_bytes() -> Option<usize> {
    status_bytes("VmRSS")
}

/// Peak resident bytes since the last [`reset_peak`] (`VmHWM`).
pub fn peak_bytes() -> Option<usize> {
    status_bytes("VmHWM")
}

/// Resets the peak to the current resident set; false if the platform
/// cannot (then [`peak_bytes`] is the peak since the process started).
pub fn reset_peak() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Growth of the peak over a baseline taken at [`Baseline::take`].
#[derive(Clone, Copy, Debug)]
pub struct Baseline {
    at: Option<usize>,
}

impl Baseline {
    /// Resets the peak and remembers the current resident set.
    pub fn take() -> Self {
        let reset = reset_peak();
        Self {
            at: if reset { current_bytes() } else { None },
        }
    }

    /// How far the peak rose above the baseline; `None` where the platform
    /// cannot measure it.
    pub fn peak_growth(&self) -> Option<usize> {
        Some(peak_bytes()?.saturating_sub(self.at?))
    }
}
