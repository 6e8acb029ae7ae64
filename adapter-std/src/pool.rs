//! The bounded pool of handler threads shared by a server's connections.
//!
//! At most `max_threads` workers, started on demand (a job that finds no
//! idle worker starts one) and ended after [`IDLE_EXIT`] without work; at
//! most `max_queue` jobs wait for a worker once all are busy. A job refused
//! because the pool is full is the caller's to answer (the server answers
//! `503 Service Unavailable`).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// An idle worker ends after this long without a job.
const IDLE_EXIT: Duration = Duration::from_secs(30);

type Job = Box<dyn FnOnce() + Send>;

struct State {
    jobs: VecDeque<Job>,
    /// Workers waiting for a job.
    idle: usize,
    threads: usize,
    closed: bool,
}

struct Inner {
    state: Mutex<State>,
    cv: Condvar,
    max_threads: usize,
    max_queue: usize,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A handle on the pool; workers end once every handle is dropped and the
/// queue is empty.
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    pub(crate) fn new(max_threads: usize, max_queue: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    idle: 0,
                    threads: 0,
                    closed: false,
                }),
                cv: Condvar::new(),
                max_threads: max_threads.max(1),
                max_queue,
            }),
        })
    }

    /// Runs `job` on a worker; gives it back if the pool is full.
    pub(crate) fn execute(&self, job: Job) -> Result<(), Job> {
        let mut st = self.inner.lock();
        let full =
            st.threads >= self.inner.max_threads && st.jobs.len() >= st.idle + self.inner.max_queue;
        if full {
            return Err(job);
        }
        st.jobs.push_back(job);
        // More jobs than idle workers (some may be woken but not running
        // yet): start one more if allowed.
        if st.jobs.len() > st.idle && st.threads < self.inner.max_threads {
            let inner = self.inner.clone();
            let spawned = std::thread::Builder::new()
                .name("http-handler".into())
                .spawn(move || worker(&inner));
            match spawned {
                Ok(_) => st.threads += 1,
                Err(e) => tracing::warn!(error = %e, "could not start a handler thread"),
            }
        }
        // Waking is a system call even with nobody waiting; a worker not
        // counted idle checks the queue before it waits.
        if st.idle > 0 {
            self.inner.cv.notify_one();
        }
        Ok(())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.inner.lock().closed = true;
        self.inner.cv.notify_all();
    }
}

fn worker(inner: &Inner) {
    let mut st = inner.lock();
    loop {
        if let Some(job) = st.jobs.pop_front() {
            drop(st);
            // Jobs catch their own panics; this is a second fence.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            st = inner.lock();
            continue;
        }
        if st.closed {
            break;
        }
        st.idle += 1;
        let (guard, timeout) = inner
            .cv
            .wait_timeout(st, IDLE_EXIT)
            .unwrap_or_else(PoisonError::into_inner);
        st = guard;
        st.idle -= 1;
        if timeout.timed_out() && st.jobs.is_empty() {
            break;
        }
    }
    st.threads -= 1;
}
