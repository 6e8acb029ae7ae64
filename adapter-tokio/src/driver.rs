//! The connection task: one task owns the core's `Connection` and the
//! transport, and loops over {commands from stream handles, socket input,
//! events, socket output, timer} until the core says `Closed`.
//!
//! The loop is a hand-written `poll` (not a `select!` over futures) so that
//! reading and writing the same transport need no split and no lock: both
//! register the task's waker on the transport, and one wake-up serves both.
//! Role-specific behaviour (what a request or response event means) lives in
//! a [`Handler`]; stream bookkeeping shared by both roles lives in [`Core`].

use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use adapter_common::driver::Runtime;
use bytes::{Bytes, BytesMut};
use proto_core::{CloseReason, Config, Connection, Event, Protocol, Side};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio::time::Sleep;

use crate::cmd::CmdRx;
use crate::error::{Error, ErrorExt};
use crate::upgrade::Upgraded;

/// Read buffers: allocated zeroed (`unsafe` being forbidden, reads need
/// initialized memory), then consumed from the front by successive reads, so
/// the zeroing is paid once per buffer, not per read. Allocations start at
/// `MIN_READ` and double (up to `MAX_READ`) while reads fill the room.
const MIN_READ: usize = 8 * 1024;
const MAX_READ: usize = 64 * 1024;
const _: () = assert!(MAX_READ <= u32::MAX as usize);
/// Below this much room, a fresh buffer is allocated before reading.
const MIN_ROOM: usize = 2 * 1024;
/// Reads made without a buffer (a fresh connection, or one whose buffer went
/// with the core's idle release) go to an uninitialized stack buffer of this
/// size, so that a connection that never sends anything holds no read buffer;
/// what arrived is copied into a new one.
const STACK_READ: usize = 8 * 1024;
/// Gather-list entries per `write_vectored`.
const MAX_IOV: usize = 32;
/// Loop turns per poll before yielding to other tasks.
const MAX_TURNS: usize = 32;
/// After `Closed`: how long a write may make no progress.
const WRITE_STALL: Duration = Duration::from_secs(10);
/// Lingering close: how long, and how many bytes, to read and discard after
/// shutting down our sending side, so that the kernel does not answer unread
/// input with a RST that destroys the response the peer has not read yet.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1024 * 1024;

/// `Transport::armed` when the timer is set to no deadline of the core's.
const NOT_ARMED: proto_core::Instant = proto_core::Instant::from_nanos(u64::MAX);

/// What a connection task reports at the end.
pub(crate) type Outcome = Result<(), Error>;

pub(crate) use adapter_common::driver::{Handler, Recv};

/// The shared connection bookkeeping (`adapter_common::driver`) with this
/// runtime's task handles, shutdown signal and upgraded transport.
pub(crate) type Core = adapter_common::driver::Core<Rt>;
/// One exchange in progress (see [`Core`]).
pub(crate) type Stream = adapter_common::driver::Stream<Rt>;

/// What this runtime plugs into the shared [`Core`].
pub(crate) enum Rt {}

impl Runtime for Rt {
    /// Aborted on reset; dropping the handle detaches the task.
    type Task = AbortHandle;
    type Shutdown = ShutdownRx;
    type Upgraded = Upgraded;

    fn abort(task: AbortHandle) {
        task.abort();
    }

    fn detach(_task: AbortHandle) {}

    fn shutdown_requested(signal: &ShutdownRx) -> Option<Duration> {
        *signal.borrow()
    }
}

/// The transport plus the clock and timer mapped onto the core's time.
pub(crate) struct Transport<IO> {
    io: IO,
    /// Initialized room to read into; read bytes are split off its front and
    /// handed to the core zero-copy.
    space: BytesMut,
    /// Read bytes the core has not taken yet (backpressure).
    leftover: BytesMut,
    /// Size of the next read buffer (at most `MAX_READ`; `u32` packs it
    /// with the flags below).
    alloc: u32,
    read_eof: bool,
    /// Bytes were written since the last flush.
    unflushed: bool,
    /// Writing failed. Reading goes on while the core wants input: the
    /// peer's answer (e.g. an early response to a request whose body it
    /// refused) may still be in flight.
    write_error: Option<io::Error>,
    start: tokio::time::Instant,
    sleep: Pin<Box<Sleep>>,
    /// The deadline `sleep` is set to (it may be earlier than the core's
    /// current one: it then fires spuriously and is re-armed, which saves
    /// resetting the timer on every request).
    /// `NOT_ARMED` when nothing is: no `Option`, whose tag would take 8
    /// more bytes of every connection's future (and push tokio's task cell,
    /// rounded up to 128 bytes, into the next size).
    armed: proto_core::Instant,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Transport<IO> {
    pub(crate) fn new(io: IO) -> Self {
        let start = tokio::time::Instant::now();
        let far = start + Duration::from_secs(86_400 * 365);
        Self {
            io,
            space: BytesMut::new(),
            leftover: BytesMut::new(),
            alloc: MIN_READ as u32,
            read_eof: false,
            unflushed: false,
            write_error: None,
            start,
            sleep: Box::pin(tokio::time::sleep_until(far)),
            armed: NOT_ARMED,
        }
    }

    /// The core's time: nanoseconds since the connection started.
    pub(crate) fn now(&self) -> proto_core::Instant {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        proto_core::Instant::from_nanos(nanos)
    }

    fn to_tokio(&self, at: proto_core::Instant) -> tokio::time::Instant {
        let far = Duration::from_secs(86_400 * 365);
        let d = Duration::from_nanos(at.as_nanos()).min(far);
        self.start.checked_add(d).unwrap_or(self.start + far)
    }

    /// Feeds the core: leftover bytes first, then the socket. True if
    /// anything changed.
    fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        conn: &mut Connection,
        now: proto_core::Instant,
    ) -> io::Result<bool> {
        if self.read_eof || !conn.wants_read() {
            return Ok(false);
        }
        if !self.leftover.is_empty() {
            let before = self.leftover.len();
            conn.recv_buf(now, &mut self.leftover);
            let took = self.leftover.len() != before;
            if self.leftover.is_empty() {
                // An empty view still keeps its buffer alive.
                self.leftover = BytesMut::new();
            }
            return Ok(took);
        }
        let mut data = match self.poll_fill(cx) {
            Poll::Pending => return Ok(false),
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Ready(Ok(data)) => data,
        };
        if data.is_empty() {
            self.read_eof = true;
            conn.recv_eof(now);
            return Ok(true);
        }
        conn.recv_buf(now, &mut data);
        if !data.is_empty() {
            self.leftover = data;
        }
        Ok(true)
    }

    /// One read from the transport: into the room of the read buffer if one
    /// is held, else into the stack (copied into a new read buffer). Empty at
    /// EOF.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<BytesMut>> {
        if self.space.len() >= MIN_ROOM {
            let room = self.space.len();
            let mut rb = ReadBuf::new(&mut self.space[..]);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            if n == room {
                self.alloc = (self.alloc * 2).min(MAX_READ as u32);
            } else if n < MIN_ROOM {
                self.alloc = MIN_READ as u32;
            }
            return Poll::Ready(Ok(self.space.split_to(n)));
        }
        let mut stack = [MaybeUninit::<u8>::uninit(); STACK_READ];
        let mut rb = ReadBuf::uninit(&mut stack);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
        let read = rb.filled();
        let n = read.len();
        if n == 0 {
            return Poll::Ready(Ok(BytesMut::new()));
        }
        // The buffer is kept until the core's idle release: the requests
        // that follow are read into its room, where a buffer of the size
        // read cost two allocations per request (the copy and, once split,
        // its shared header).
        let mut size = self.alloc as usize;
        if n == STACK_READ {
            // The stack filled up: more is likely waiting.
            self.alloc = (self.alloc * 2).min(MAX_READ as u32);
            size = (self.alloc as usize).max(2 * STACK_READ);
        }
        // `size >= n` already (`alloc` starts at `MIN_READ`, the stack's
        // size); `max` keeps the copy in bounds should either change.
        self.space = BytesMut::zeroed(size.max(n));
        self.space[..n].copy_from_slice(read);
        Poll::Ready(Ok(self.space.split_to(n)))
    }

    /// The core let go of its storage between exchanges (`idle_release`):
    /// so does the transport, of its read buffer.
    fn release_idle(&mut self) {
        self.space = BytesMut::new();
    }

    /// Writes what the core owes (vectored), then flushes. True if bytes
    /// were written or writing failed.
    fn poll_write(&mut self, cx: &mut Context<'_>, conn: &mut Connection) -> bool {
        if self.write_error.is_some() {
            return false;
        }
        match self.poll_write_inner(cx, conn) {
            Ok(wrote) => wrote,
            Err(e) => {
                tracing::debug!(error = %e, "write failed");
                self.write_error = Some(e);
                true
            }
        }
    }

    /// The write error, once nothing more can be read either.
    fn write_failed(&mut self, conn: &Connection) -> Option<io::Error> {
        if self.read_eof || !conn.wants_read() || conn.is_closed() {
            return self.write_error.take();
        }
        None
    }

    fn poll_write_inner(
        &mut self,
        cx: &mut Context<'_>,
        conn: &mut Connection,
    ) -> io::Result<bool> {
        let mut wrote = false;
        loop {
            let chunks = conn.poll_transmit();
            if chunks.is_empty() {
                break;
            }
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let mut count = 0;
            for (slot, chunk) in iov.iter_mut().zip(chunks) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            match Pin::new(&mut self.io).poll_write_vectored(cx, &iov[..count]) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    conn.transmit_complete(n);
                    wrote = true;
                    self.unflushed = true;
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => return Ok(wrote),
            }
        }
        if self.unflushed {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {}
            }
        }
        Ok(wrote)
    }

    /// Arms the timer for the core's next deadline; true if it fired.
    /// `polled`: the timer was polled in this wake-up and not re-armed since;
    /// the waker is the same for the whole wake-up, so it need not be
    /// registered again.
    fn poll_timer(&mut self, cx: &mut Context<'_>, conn: &Connection, polled: &mut bool) -> bool {
        let Some(deadline) = conn.poll_timeout() else {
            return false;
        };
        if self.armed > deadline {
            let at = self.to_tokio(deadline);
            self.sleep.as_mut().reset(at);
            self.armed = deadline;
            *polled = false;
        }
        if std::mem::replace(polled, true) {
            return false;
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.armed = NOT_ARMED;
            return true;
        }
        false
    }

    /// Writes everything the core still owes, giving up if the peer stops
    /// reading for `WRITE_STALL`. True if it all went out.
    async fn flush_all(&mut self, conn: &mut Connection) -> bool {
        while !conn.poll_transmit().is_empty() || self.unflushed {
            let step = poll_fn(|cx| match self.poll_write_inner(cx, conn) {
                Ok(true) => Poll::Ready(Ok(())),
                Ok(false) if conn.poll_transmit().is_empty() && !self.unflushed => {
                    Poll::Ready(Ok(()))
                }
                Ok(false) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            });
            match tokio::time::timeout(WRITE_STALL, step).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "write failed while closing");
                    return false;
                }
                Err(_) => {
                    tracing::debug!("peer stopped reading while closing");
                    return false;
                }
            }
        }
        true
    }

    /// The transport, handed over after an upgrade: bytes read but not
    /// taken by the core come first.
    fn into_upgraded(self, rest: Bytes) -> Upgraded
    where
        IO: Send + 'static,
    {
        let prefix = if self.leftover.is_empty() {
            rest
        } else {
            let mut all = BytesMut::from(&rest[..]);
            all.extend_from_slice(&self.leftover);
            all.freeze()
        };
        Upgraded::new(self.io, prefix)
    }

    /// After `Closed`: writes what is left, shuts down our sending side, then
    /// reads and discards for a moment (lingering close) unless `quiet` (the
    /// connection closed while idle, with nothing left to write: there is no
    /// response for a reset to destroy, and a kept-alive peer may take long
    /// to notice the close).
    async fn close(&mut self, conn: &mut Connection, quiet: bool) {
        let quiet = quiet && conn.poll_transmit().is_empty() && !self.unflushed;
        if !self.flush_all(conn).await {
            return;
        }
        if tokio::time::timeout(WRITE_STALL, self.io.shutdown())
            .await
            .is_err()
        {
            return;
        }
        if self.read_eof || quiet {
            return;
        }
        let linger = async {
            let mut total = 0;
            loop {
                if self.space.len() < MIN_ROOM {
                    self.space = BytesMut::zeroed(MIN_READ);
                }
                match self.io.read(&mut self.space[..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        total += n;
                        if total >= LINGER_BYTES {
                            break;
                        }
                    }
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, linger).await;
    }
}

/// Carries graceful shutdown requests (`Some(drain)`) to connection tasks.
pub(crate) type ShutdownRx = watch::Receiver<Option<Duration>>;

/// A connection task: the core, the transport, commands, and a role.
pub(crate) struct Driver<IO, H> {
    pub(crate) core: Core,
    transport: Transport<IO>,
    rx: CmdRx,
    rx_open: bool,
    /// The shutdown signal has the task's waker (see `run`); kept here,
    /// next to `rx_open`, where it costs no space.
    signal_registered: bool,
    pub(crate) handler: H,
}

impl<IO, H> Driver<IO, H>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler<Rt>,
{
    pub(crate) fn new(
        io: IO,
        side: Side,
        protocol: Protocol,
        config: Arc<Config>,
        rx: CmdRx,
        handler: H,
    ) -> Self {
        let transport = Transport::new(io);
        let recv_limit = config.max_recv_buffer.max(MIN_READ);
        let conn = Connection::with_protocol(side, protocol, config, transport.now());
        Self {
            core: Core::new(conn, recv_limit),
            transport,
            rx,
            rx_open: true,
            signal_registered: false,
            handler,
        }
    }

    /// One wake-up: loops until nothing makes progress (every source has
    /// registered the waker) or the core closed.
    fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // One clock read per wake-up, refreshed when the timer fires.
        let mut now = self.transport.now();
        // The core hears the time once per clock read: later turns of the
        // same wake-up would tell it the same instant again.
        let mut tick = true;
        let mut timer_polled = false;
        for _ in 0..MAX_TURNS {
            if std::mem::take(&mut tick) {
                self.core.conn.handle_timeout(now);
                if self.core.conn.take_idle_release() {
                    // The core let go of what it keeps between exchanges
                    // (`Config::idle_release`): so does the task.
                    self.core.release_idle();
                    self.rx.release_idle();
                    self.transport.release_idle();
                }
            }
            let mut progress = false;

            while self.rx_open {
                match self.rx.poll_recv(cx) {
                    Poll::Ready(Some(cmd)) => {
                        progress = true;
                        // A command sent after `shutdown()` returned (e.g.
                        // the response of a request in progress) sees the
                        // shutdown in effect.
                        self.core.check_shutdown();
                        if let Some(cmd) = self.core.common_cmd(cmd) {
                            self.handler.on_cmd(&mut self.core, cmd);
                        }
                    }
                    Poll::Ready(None) => {
                        progress = true;
                        self.rx_open = false;
                        self.handler.on_rx_closed(&mut self.core);
                    }
                    Poll::Pending => break,
                }
            }
            progress |= self.transport.poll_read(cx, &mut self.core.conn, now)?;

            while let Some(ev) = self.core.conn.poll_event() {
                progress = true;
                if let Event::Closed { reason } = ev {
                    tracing::debug!(?reason, "connection closed");
                    self.core.closed = Some(reason);
                    continue;
                }
                if let Some(ev) = self.core.common_event(ev) {
                    self.handler.on_event(&mut self.core, ev, cx);
                }
            }

            self.core.ended.clear();
            progress |= self.transport.poll_write(cx, &mut self.core.conn);
            if let Some(e) = self.transport.write_failed(&self.core.conn) {
                return Poll::Ready(Err(e));
            }
            if self.core.closed.is_some() {
                return Poll::Ready(Ok(()));
            }
            if self
                .transport
                .poll_timer(cx, &self.core.conn, &mut timer_polled)
            {
                progress = true;
                now = self.transport.now();
                tick = true;
            }
            if !progress {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Runs the connection to the end. `shutdown` delivers graceful shutdown
    /// requests; the outcome is `Ok` for orderly closes.
    ///
    /// Not an `async fn`: one moves its arguments into locals, so the
    /// driver would be stored twice in the future (as the argument and as
    /// the local), for the connection's whole life; an `async` block uses
    /// the captured one in place.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn run(
        mut self,
        shutdown: Option<ShutdownRx>,
    ) -> impl Future<Output = Outcome> + use<IO, H> {
        // The core checks the request itself (before each command and
        // response head); this copy only wakes the task when it arrives.
        // Both are set out here: an argument captured by the block would
        // keep its room in the future after being moved out.
        let mut waiter = shutdown.clone();
        self.core.shutdown = shutdown;
        async move {
            self.core.check_shutdown();
            let result = loop {
                let Some(rx) = waiter.as_mut().filter(|_| self.core.shutdown.is_some()) else {
                    break poll_fn(|cx| self.poll_drive(cx)).await;
                };
                // `changed` registers the task once; later wake-ups poll it
                // again only if the core's copy of the signal says it moved
                // (a version check), not on every wake-up as a `select!` would.
                let signal = {
                    let mut changed = std::pin::pin!(rx.changed());
                    self.signal_registered = false;
                    poll_fn(|cx| {
                        let moved = self
                            .core
                            .shutdown
                            .as_ref()
                            .is_none_or(|s| !matches!(s.has_changed(), Ok(false)));
                        if !self.signal_registered || moved {
                            self.signal_registered = true;
                            if let Poll::Ready(changed) = changed.as_mut().poll(cx) {
                                return Poll::Ready(Ok(changed.is_ok()));
                            }
                        }
                        self.poll_drive(cx).map(Err)
                    })
                    .await
                };
                match signal {
                    Err(r) => break r,
                    Ok(true) => {
                        rx.borrow_and_update();
                        self.core.check_shutdown();
                    }
                    // The signal's sender is gone: nobody can ask any more.
                    Ok(false) => waiter = None,
                }
            };
            // Boxed: the closing steps (flush, shutdown, linger, each under a
            // timer) would otherwise add their state to every connection
            // task's future for its whole life.
            Box::pin(self.finish(result)).await
        }
    }

    /// After the loop: answers what is left, ends the streams, and closes
    /// (or hands over) the transport.
    async fn finish(mut self, result: io::Result<()>) -> Outcome {
        // Commands sent before the end: a request the core will refuse is
        // answered (and may go elsewhere) rather than dropped unanswered.
        self.rx.close();
        while let Ok(cmd) = self.rx.try_recv() {
            if let Some(cmd) = self.core.common_cmd(cmd) {
                self.handler.on_cmd(&mut self.core, cmd);
            }
        }
        let closed = self.core.closed.clone();
        let make_err = || match (&result, &closed) {
            (Err(e), _) => Error::io_like(e),
            (Ok(()), Some(reason)) => Error::from_close(reason),
            (Ok(()), None) => Error::Canceled,
        };
        for st in self.core.streams.drain() {
            st.close(Some(make_err()), true);
        }
        self.handler.on_close(&make_err);
        match result {
            Err(e) => {
                tracing::debug!(error = %e, "connection failed");
                Err(Error::Io(e))
            }
            Ok(()) => {
                if let (Some(CloseReason::Upgraded), Some((tx, rest))) =
                    (&closed, self.core.upgrade.take().map(|u| *u))
                {
                    if self.transport.flush_all(&mut self.core.conn).await {
                        let _ = tx.send(self.transport.into_upgraded(rest));
                    }
                    return Ok(());
                }
                let quiet = matches!(
                    closed,
                    Some(
                        CloseReason::Shutdown
                            | CloseReason::Upgraded
                            | CloseReason::TimedOut(proto_core::TimerKind::Idle)
                    )
                );
                self.transport.close(&mut self.core.conn, quiet).await;
                match closed {
                    None
                    | Some(
                        CloseReason::Done
                        | CloseReason::Shutdown
                        | CloseReason::Upgraded
                        | CloseReason::TimedOut(proto_core::TimerKind::Idle),
                    ) => Ok(()),
                    Some(reason) => Err(Error::from_close(&reason)),
                }
            }
        }
    }
}
