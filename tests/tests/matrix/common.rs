//! What every part of the matrix shares: the deadline, body patterns, the
//! gate that holds `/slow` handlers, and running a step under a deadline.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The bound on every wait in the matrix: a hang fails after this, it never
/// blocks the suite.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// `n` bytes of a pattern whose period (251, a prime) matches no chunk or
/// frame size, so a dropped, repeated or reordered piece shows.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// `data` cut into pieces of odd sizes (1, 7, 4093, 16387, 65537, ...).
pub fn odd_chunks(data: &[u8]) -> Vec<bytes::Bytes> {
    const SIZES: [usize; 5] = [1, 7, 4093, 16_387, 65_537];
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = SIZES[i % SIZES.len()].min(rest.len());
        out.push(bytes::Bytes::copy_from_slice(&rest[..n]));
        rest = &rest[n..];
        i += 1;
    }
    out
}

/// Byte equality with a short message instead of two dumped buffers.
#[track_caller]
pub fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: got {} bytes, want {}; first difference at {first:?}",
            got.len(),
            want.len()
        );
    }
}

/// Runs `f` on a thread of its own and waits for it at most `DEADLINE`;
/// a panic inside is re-raised here with its message.
#[track_caller]
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    within_for(DEADLINE, what, f)
}

/// [`within`] with another bound.
#[track_caller]
pub fn within_for<T: Send + 'static>(
    bound: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(result);
    });
    match rx.recv_timeout(bound) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{what}: no result within {bound:?}"),
    }
}

/// Shared between a test and its server's handlers: the gate `/slow`
/// waits on, and a count of handlers that reached it.
pub struct Ctx {
    gate_tx: Mutex<Option<async_channel::Sender<()>>>,
    gate_rx: async_channel::Receiver<()>,
    entered_tx: Mutex<mpsc::Sender<()>>,
    entered_rx: Mutex<mpsc::Receiver<()>>,
}

impl Ctx {
    pub fn new() -> Arc<Self> {
        let (gate_tx, gate_rx) = async_channel::bounded(1);
        let (entered_tx, entered_rx) = mpsc::channel();
        Arc::new(Self {
            gate_tx: Mutex::new(Some(gate_tx)),
            gate_rx,
            entered_tx: Mutex::new(entered_tx),
            entered_rx: Mutex::new(entered_rx),
        })
    }

    /// Called by a `/slow` handler on arrival.
    pub fn entered(&self) {
        let tx = self
            .entered_tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = tx.send(());
    }

    /// Waits (async) until the test opens the gate. Closing the only
    /// sender wakes every waiter, now and later.
    pub async fn gate(&self) {
        let _ = self.gate_rx.recv().await;
    }

    /// [`Ctx::gate`] for blocking handlers.
    pub fn gate_blocking(&self) {
        let _ = self.gate_rx.recv_blocking();
    }

    /// Opens the gate for every `/slow` handler, now and later.
    pub fn release(&self) {
        self.gate_tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// Waits until `n` more `/slow` handlers have arrived (each within
    /// `DEADLINE`).
    #[track_caller]
    pub fn wait_entered(&self, n: usize) {
        let rx = self
            .entered_rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for i in 0..n {
            if rx.recv_timeout(DEADLINE).is_err() {
                panic!("only {i} of {n} /slow handlers started within {DEADLINE:?}");
            }
        }
    }
}
