//! The bounded pool of handler threads shared by a server's connections.
//!
//! At most `max_threads` workers, ended after [`IDLE_EXIT`] without work; at
//! most `max_queue` jobs wait for a worker once all are busy. A job refused
//! because the pool is full is the caller's to answer (the server answers
//! `503 Service Unavailable`).
//!
//! # When a worker is started
//!
//! A job that finds no idle worker starts one at once only while there are
//! fewer workers than CPUs. Beyond that, more threads help only when the
//! workers are blocked (a handler waiting on I/O or a lock), not when they
//! are busy: a burst of short jobs (HTTP/2 brings up to 100 requests in one
//! read) used to start a thread per job, and 64 threads taking turns on a
//! core spent three times the CPU per request that two did. So a monitor
//! thread, awake only while jobs wait, starts one more worker each
//! [`SPAWN_DELAY`] in which no job finished. A handler that blocks thus
//! delays the jobs queued behind it by a few milliseconds at most before a
//! thread is added for them, and short jobs are run by as many threads as
//! there are CPUs.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// An idle worker (or the idle monitor) ends after this long without work.
const IDLE_EXIT: Duration = Duration::from_secs(30);
/// With jobs waiting and no job finished for this long, the monitor starts
/// another worker.
const SPAWN_DELAY: Duration = Duration::from_millis(2);

type Job = Box<dyn FnOnce() + Send>;

struct State {
    jobs: VecDeque<Job>,
    /// Workers waiting for a job.
    idle: usize,
    /// Of the `idle` workers, how many have been woken and not yet run
    /// (`woken <= idle`). A burst of jobs then wakes each waiting worker
    /// once, not once per job: every `notify_one` is a `futex` call, and
    /// with one worker waiting, 100 HTTP/2 requests from one read made 100.
    woken: usize,
    /// Wake-ups sent to workers, and waits the workers began (tests only).
    #[cfg(test)]
    notified: u64,
    #[cfg(test)]
    waits: u64,
    threads: usize,
    closed: bool,
    /// Jobs finished so far: the monitor's sign of progress.
    finished: u64,
    /// A monitor thread exists.
    monitor: bool,
    /// The monitor waits without a timeout (nothing queued when it looked).
    monitor_asleep: bool,
}

struct Inner {
    state: Mutex<State>,
    /// Workers wait here for jobs.
    cv: Condvar,
    /// The monitor waits here.
    monitor_cv: Condvar,
    max_threads: usize,
    max_queue: usize,
    /// Workers started without waiting for the monitor.
    eager: usize,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Jobs are waiting that no idle worker will take, and a worker may
    /// still be added.
    fn short_of_workers(&self, st: &State) -> bool {
        st.jobs.len() > st.idle && st.threads < self.max_threads
    }

    fn spawn_worker(self: &Arc<Self>, st: &mut State) {
        if self.spawn("http-handler", worker) {
            st.threads += 1;
        }
    }

    fn spawn_monitor(self: &Arc<Self>, st: &mut State) {
        if self.spawn("http-pool", monitor) {
            st.monitor = true;
        }
    }

    /// Starts a thread running `run`; false (logged) if it could not.
    fn spawn(self: &Arc<Self>, name: &str, run: fn(&Arc<Self>)) -> bool {
        let inner = self.clone();
        let spawned = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(&inner));
        if let Err(e) = &spawned {
            tracing::warn!(error = %e, thread = name, "could not start a pool thread");
        }
        spawned.is_ok()
    }
}

/// A handle on the pool; workers end once every handle is dropped and the
/// queue is empty.
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    pub(crate) fn new(max_threads: usize, max_queue: usize) -> Arc<Self> {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self::with_eager(max_threads, max_queue, cpus)
    }

    /// As [`Pool::new`], with `eager` workers started without the monitor.
    pub(crate) fn with_eager(max_threads: usize, max_queue: usize, eager: usize) -> Arc<Self> {
        let max_threads = max_threads.max(1);
        Arc::new(Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    idle: 0,
                    woken: 0,
                    #[cfg(test)]
                    notified: 0,
                    #[cfg(test)]
                    waits: 0,
                    threads: 0,
                    closed: false,
                    finished: 0,
                    monitor: false,
                    monitor_asleep: false,
                }),
                cv: Condvar::new(),
                monitor_cv: Condvar::new(),
                max_threads,
                max_queue,
                eager: eager.clamp(1, max_threads),
            }),
        })
    }

    /// Runs `job` on a worker; gives it back if the pool is full.
    pub(crate) fn execute(&self, job: Job) -> Result<(), Job> {
        let inner = &self.inner;
        let mut st = inner.lock();
        let full = st.threads >= inner.max_threads && st.jobs.len() >= st.idle + inner.max_queue;
        if full {
            return Err(job);
        }
        st.jobs.push_back(job);
        let mut wake_monitor = false;
        if inner.short_of_workers(&st) {
            if st.threads < inner.eager {
                inner.spawn_worker(&mut st);
            } else if !st.monitor {
                inner.spawn_monitor(&mut st);
            } else if st.monitor_asleep {
                st.monitor_asleep = false;
                wake_monitor = true;
            }
        }
        // Waking is a system call even with nobody waiting; a worker not
        // counted idle checks the queue before it waits. A worker already
        // woken takes this job too if no other does (it loops until the
        // queue is empty), so another is woken only for a job beyond those.
        let wake_worker = st.idle > st.woken && st.jobs.len() > st.woken;
        if wake_worker {
            st.woken += 1;
            #[cfg(test)]
            {
                st.notified += 1;
            }
        }
        // Woken after the lock is released: a thread woken on this CPU may
        // run at once, and would only find the lock still held and sleep
        // again (two more context switches).
        drop(st);
        if wake_monitor {
            inner.monitor_cv.notify_one();
        }
        if wake_worker {
            inner.cv.notify_one();
        }
        Ok(())
    }

    /// Worker threads running now.
    #[cfg(test)]
    fn threads(&self) -> usize {
        self.inner.lock().threads
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.inner.lock().closed = true;
        self.inner.cv.notify_all();
        self.inner.monitor_cv.notify_all();
    }
}

fn worker(inner: &Arc<Inner>) {
    let mut st = inner.lock();
    loop {
        if let Some(job) = st.jobs.pop_front() {
            drop(st);
            // Jobs catch their own panics; this is a second fence.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            st = inner.lock();
            st.finished += 1;
            continue;
        }
        if st.closed {
            break;
        }
        st.idle += 1;
        #[cfg(test)]
        {
            st.waits += 1;
        }
        let (guard, timeout) = inner
            .cv
            .wait_timeout(st, IDLE_EXIT)
            .unwrap_or_else(PoisonError::into_inner);
        st = guard;
        st.idle -= 1;
        // A timed-out wait took no wake-up; a spurious one may take another
        // worker's, which only means one more wake-up later. A wake-up sent
        // as this worker timed out, with no other waiting, found nobody:
        // the clamp drops it.
        if !timeout.timed_out() {
            st.woken = st.woken.saturating_sub(1);
        }
        st.woken = st.woken.min(st.idle);
        if timeout.timed_out() && st.jobs.is_empty() {
            break;
        }
    }
    st.threads -= 1;
}

/// Adds a worker each [`SPAWN_DELAY`] in which jobs waited and none
/// finished; sleeps while nothing waits.
fn monitor(inner: &Arc<Inner>) {
    let mut st = inner.lock();
    loop {
        if st.closed {
            break;
        }
        if inner.short_of_workers(&st) {
            let before = st.finished;
            st = inner
                .monitor_cv
                .wait_timeout(st, SPAWN_DELAY)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if !st.closed && st.finished == before && inner.short_of_workers(&st) {
                inner.spawn_worker(&mut st);
            }
            continue;
        }
        st.monitor_asleep = true;
        let (guard, timeout) = inner
            .monitor_cv
            .wait_timeout(st, IDLE_EXIT)
            .unwrap_or_else(PoisonError::into_inner);
        st = guard;
        st.monitor_asleep = false;
        if timeout.timed_out() && st.jobs.is_empty() {
            break;
        }
    }
    st.monitor = false;
}

#[cfg(test)]
mod tests {
    use super::Pool;
    use std::sync::mpsc::channel;
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    /// Bounds the waits below; never a wait for something to happen.
    const GUARD: Duration = Duration::from_secs(10);

    #[test]
    fn a_burst_of_short_jobs_does_not_start_a_thread_per_job() {
        let pool = Pool::with_eager(64, 10_000, 1);
        let (tx, rx) = channel();
        for i in 0..2_000 {
            let tx = tx.clone();
            let queued = pool.execute(Box::new(move || {
                let _ = tx.send(i);
            }));
            assert!(queued.is_ok());
        }
        for _ in 0..2_000 {
            assert!(rx.recv_timeout(GUARD).is_ok());
        }
        // One eager worker, plus one per 2 ms the machine kept it from
        // running while jobs waited (the old rule started up to 64).
        assert!(pool.threads() < 16, "{} threads", pool.threads());
    }

    /// A burst of jobs queued while the one worker is waking up wakes it
    /// once: every wake-up is a `futex` call, and the old rule (wake if any
    /// worker is counted idle) sent one per job until the worker got the
    /// lock back, e.g. ~1.1 `futex` per HTTP/2 request under `h2load -m32`.
    /// Each wake-up needs a wait not yet woken, so wake-ups can never
    /// outnumber the waits the workers began.
    #[test]
    fn a_burst_wakes_a_waiting_worker_once() {
        let pool = Pool::with_eager(1, 100_000, 1);
        let (tx, rx) = channel();
        for round in 0..20 {
            for i in 0..500 {
                let tx = tx.clone();
                let queued = pool.execute(Box::new(move || {
                    let _ = tx.send(i);
                }));
                assert!(queued.is_ok());
            }
            for _ in 0..500 {
                assert!(rx.recv_timeout(GUARD).is_ok(), "round {round}");
            }
        }
        let st = pool.inner.lock();
        assert!(st.waits > 0, "the worker never waited");
        assert!(
            st.notified <= st.waits,
            "{} wake-ups for {} waits",
            st.notified,
            st.waits
        );
    }

    #[test]
    fn blocked_workers_get_company() {
        // Eight jobs that each wait until all eight run: only done if the
        // pool starts a thread for each, though just one is eager.
        let pool = Pool::with_eager(64, 100, 1);
        let all = Arc::new(Barrier::new(8));
        let (tx, rx) = channel();
        for _ in 0..8 {
            let all = all.clone();
            let tx = tx.clone();
            let queued = pool.execute(Box::new(move || {
                all.wait();
                let _ = tx.send(());
            }));
            assert!(queued.is_ok());
        }
        for _ in 0..8 {
            assert!(rx.recv_timeout(GUARD).is_ok(), "a job never ran");
        }
        assert!(pool.threads() >= 8);
    }

    #[test]
    fn full_pool_gives_the_job_back() {
        let pool = Pool::with_eager(1, 1, 1);
        let (release, wait) = channel::<()>();
        let (started, running) = channel();
        let queued = pool.execute(Box::new(move || {
            let _ = started.send(());
            let _ = wait.recv_timeout(GUARD);
        }));
        assert!(queued.is_ok());
        assert!(running.recv_timeout(GUARD).is_ok());
        assert!(pool.execute(Box::new(|| {})).is_ok(), "one may wait");
        assert!(
            pool.execute(Box::new(|| {})).is_err(),
            "the second is refused"
        );
        drop(release);
    }
}
