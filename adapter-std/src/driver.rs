//! The connection thread: owns the core's [`Connection`] and the writing
//! half of the transport, and loops over {time, input, events, output, wait}
//! until the core says `Closed`.
//!
//! # Wake-ups without poll(2)
//!
//! std has no way to wait for "socket readable or message from a handler
//! thread". Instead, a small reader thread per connection blocks in `read`
//! on a clone of the transport and forwards what it reads over the same
//! channel the handler threads send their commands on. The connection
//! thread therefore waits on exactly one thing, the channel, with
//! `recv_timeout` until the core's next deadline (`poll_timeout`): no
//! polling tick, no added latency, no `libc`. The cost is one extra thread
//! per connection, and a hand-off per read; a server connection therefore
//! reads its socket itself for as long as no other thread takes part in its
//! exchanges, and starts the reader thread only then (the `direct` module).
//! The reader is bounded by an input budget
//! ([`READ_BUDGET`]): it reads only while the bytes it handed over and the
//! core did not take yet stay under it, so a peer cannot make us buffer
//! without bound.
//!
//! Writes are blocking `write_vectored` calls of the core's gather list
//! with a short write timeout ([`WRITE_TICK`]): when the peer does not read
//! and the socket buffer is full, the thread goes back to its channel every
//! tick (so input still flows, which breaks the classic "both sides blocked
//! writing" deadlock), and gives up after [`WRITE_STALL`] without progress.
//!
//! # TLS
//!
//! With TLS the reader thread is unchanged: it forwards ciphertext. The
//! connection thread owns the rustls session (see the `tls` module):
//! `feed` decrypts queued input into a bounded plaintext buffer the core
//! reads from, and `write_out` encrypts the core's gather list into rustls
//! (up to its buffer limit) before writing the ciphertext with the same
//! timeouts as plain output. One thread does all rustls work, so nothing is
//! shared or locked.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::net::Shutdown as NetShutdown;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::Duration;

use adapter_common::streams::{Entry, StreamList};
use bytes::{Bytes, BytesMut};
use proto_core::{
    CloseReason, Config, Connection, ErrorCode, Event, Fields, Protocol, ReadChunk, ResponseHead,
    Shutdown, Side, StreamId,
};

use crate::body::{Credit, Outbox};
use crate::client::Outgoing;
use crate::direct::{DirectWake, MIN_READ_WAIT, read_timeout_for};
use crate::error::Error;
use crate::inbox::{Chunk, InboxTx};
use crate::tls::Tls;
use crate::transport::Transport;
use crate::upgrade::{Handover, OnUpgrade, Upgraded};

/// Most input bytes read from the socket and not yet taken by the core.
pub(crate) const READ_BUDGET: usize = 256 * 1024;
/// Size of the reader's buffers.
const READ_CHUNK: usize = 64 * 1024;
/// Below this much room, the reader allocates a fresh buffer.
const MIN_ROOM: usize = 4 * 1024;
/// Longest a single blocked write keeps the connection thread away from its
/// channel.
pub(crate) const WRITE_TICK: Duration = Duration::from_millis(5);
/// Longest the peer may leave our output unread before the connection fails.
const WRITE_STALL: Duration = Duration::from_secs(30);
/// Gather-list entries per `write_vectored`.
const MAX_IOV: usize = 64;
/// Lingering close: how long to discard input after our last bytes, so that
/// unread input does not make the kernel reset the connection under a
/// response the peer has not read yet.
const LINGER: Duration = Duration::from_secs(1);
/// ... or until this much input was thrown away (a peer flooding us is not
/// owed a graceful close).
const LINGER_BYTES: usize = 1024 * 1024;
/// TLS: longest the connection tries to send its `close_notify`.
const CLOSE_NOTIFY_WAIT: Duration = Duration::from_millis(100);
/// Most messages handled per turn before output gets a chance.
const MAX_BATCH: usize = 256;
/// See [`spawn_reader`]'s `read_shut`.
const SHUT_READ_POLL: Duration = Duration::from_millis(5);

/// What the connection thread receives.
pub(crate) enum Msg {
    /// Bytes from the reader thread (empty: end of stream).
    Input(io::Result<BytesMut>),
    /// A command from a handler, a body or a client.
    Cmd(Cmd),
    /// Graceful shutdown with this drain time.
    Shutdown(Duration),
}

/// Commands from the threads that own the exchanges.
pub(crate) enum Cmd {
    /// Server: the response head, maybe the whole body.
    Respond {
        key: u64,
        head: ResponseHead,
        data: Bytes,
        end: bool,
        /// Sent after `data` when `end`.
        trailers: Option<Fields>,
        credit: Option<Arc<Credit>>,
    },
    /// Body bytes from a [`BodyWriter`](crate::BodyWriter).
    Data { key: u64, data: Bytes },
    /// The streamed body ended, maybe with trailers.
    Finish { key: u64, trailers: Option<Fields> },
    /// The owner gave up: 500 if nothing was sent yet, else reset.
    Abort { key: u64 },
    /// A body reader made room: it took all its stalled inbox held, or
    /// read for the first time (which opens the body).
    Consumed { key: u64 },
    /// A body reader was dropped before the end.
    BodyDropped { key: u64 },
    /// Client: a new request.
    Request(Box<Outgoing>),
}

/// The receiving side of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recv {
    Open,
    /// Waiting for the first read (`100 Continue` goes out then).
    WaitFirstRead,
    /// The reader has `max_recv_buffer` bytes unread.
    Stalled,
    /// The reader is gone.
    Dropped,
    Done,
}

/// One exchange in progress.
pub(crate) struct Stream {
    pub(crate) key: u64,
    pub(crate) id: StreamId,
    pub(crate) body: Option<InboxTx>,
    pub(crate) recv: Recv,
    pub(crate) head_sent: bool,
    pub(crate) out: Outbox,
    pub(crate) credit: Option<Arc<Credit>>,
    /// Client: where the response goes.
    pub(crate) resp_tx: Option<Sender<Result<http::Response<crate::Body>, Error>>>,
    /// The exchange asked to switch protocols: where the transport goes.
    pub(crate) upgrade: Option<Sender<Upgraded>>,
    /// Client: the other end of `upgrade`, for the response.
    pub(crate) on_upgrade: Option<OnUpgrade>,
}

impl Entry for Stream {
    fn id(&self) -> StreamId {
        self.id
    }
    fn key(&self) -> u64 {
        self.key
    }
}

impl Stream {
    pub(crate) fn new(key: u64, id: StreamId) -> Self {
        Self {
            key,
            id,
            body: None,
            recv: Recv::Done,
            head_sent: false,
            out: Outbox::default(),
            credit: None,
            resp_tx: None,
            upgrade: None,
            on_upgrade: None,
        }
    }

    /// Ends every handle on this stream with `err`.
    pub(crate) fn fail(&mut self, err: Error) {
        if let Some(credit) = self.credit.take() {
            credit.close();
        }
        if let Some(tx) = self.resp_tx.take() {
            let _ = tx.send(Err(err));
        } else if let Some(body) = self.body.take() {
            body.push(Chunk::Error(err));
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if let Some(credit) = self.credit.take() {
            credit.close();
        }
    }
}

/// The core plus the streams in progress.
pub(crate) struct Core {
    pub(crate) conn: Connection,
    pub(crate) streams: StreamList<Stream>,
    /// Per-body receive limit.
    pub(crate) recv_limit: usize,
    /// For handing to handlers and bodies.
    pub(crate) tx: Sender<Msg>,
    pub(crate) closed: Option<CloseReason>,
    /// Client, HTTP/1.1: the pool's idle flag, set when a response body ends.
    pub(crate) idle_on_end: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// After `Upgrade`: where the transport goes, and the bytes the core
    /// had received past the message.
    pub(crate) upgrade: Option<(Sender<Upgraded>, Bytes)>,
}

impl Core {
    pub(crate) fn by_key(&self, key: u64) -> Option<usize> {
        self.streams.by_key(key)
    }

    pub(crate) fn by_id(&self, id: StreamId) -> Option<usize> {
        self.streams.by_id(id)
    }

    /// Moves received body chunks from the core to the reader while it has
    /// room.
    pub(crate) fn pump_recv(&mut self, idx: usize) {
        let Some(st) = self.streams.get_mut(idx) else {
            return;
        };
        if st.recv == Recv::Dropped {
            // Nobody wants the rest: discard it as it comes (this releases
            // HTTP/2 window; HTTP/1 keeps the connection usable).
            if let Some(mut stream) = self.conn.stream(st.id) {
                while let ReadChunk::Data(_) | ReadChunk::Trailers(_) = stream.read() {}
            }
            return;
        }
        if st.recv != Recv::Open {
            return;
        }
        let id = st.id;
        let Some(tx) = &st.body else { return };
        let Some(mut stream) = self.conn.stream(id) else {
            return;
        };
        // The body is woken once it has all there is (see `InboxTx::wake`);
        // at the end or a reset, by dropping `tx`.
        loop {
            if tx.over(self.recv_limit) {
                st.recv = Recv::Stalled;
                tx.wake();
                return;
            }
            match stream.read() {
                ReadChunk::Data(data) => {
                    if !tx.push(Chunk::Data(data)) {
                        st.recv = Recv::Dropped;
                        return;
                    }
                }
                ReadChunk::Blocked => {
                    tx.wake();
                    return;
                }
                ReadChunk::Trailers(fields) => {
                    tx.push(Chunk::Trailers(crate::conv::header_map(&fields)));
                }
                ReadChunk::End => {
                    // Client, HTTP/1.1: the connection is reusable before
                    // the caller sees the end, so a request sent right after
                    // reading the body finds it in the pool.
                    if let Some(idle) = &self.idle_on_end {
                        if self.conn.can_send_request() {
                            idle.store(true, std::sync::atomic::Ordering::Release);
                        }
                    }
                    tx.push(Chunk::End);
                    st.body = None;
                    st.recv = Recv::Done;
                    return;
                }
                ReadChunk::Reset(code) => {
                    tx.push(Chunk::Error(Error::Reset { code, remote: true }));
                    st.body = None;
                    st.recv = Recv::Done;
                    return;
                }
            }
        }
    }

    /// Hands pending body bytes to the core within its write capacity, then
    /// the finish once everything went.
    pub(crate) fn flush_send(&mut self, idx: usize) {
        let Some(st) = self.streams.get_mut(idx) else {
            return;
        };
        if !st.head_sent {
            return;
        }
        let id = st.id;
        let Some(mut stream) = self.conn.stream(id) else {
            return;
        };
        let mut taken = 0;
        let mut failed = false;
        while let Some(front) = st.out.pending.front_mut() {
            match stream.write(front) {
                Ok(n) => taken += n,
                Err(e) => {
                    tracing::debug!(error = %e, "body rejected by the core");
                    failed = true;
                    break;
                }
            }
            if !front.is_empty() {
                break;
            }
            st.out.pending.pop_front();
        }
        if failed {
            st.out.pending.clear();
            st.out.finish = false;
            if let Some(credit) = st.credit.take() {
                credit.close();
            }
            stream.reset(ErrorCode::INTERNAL_ERROR);
        } else if st.out.pending.is_empty() && st.out.finish {
            st.out.finish = false;
            if let Err(e) = stream.finish(st.out.trailers.take()) {
                tracing::debug!(error = %e, "finishing the body failed");
            }
        }
        if let Some(credit) = &st.credit {
            credit.release(taken);
        }
    }

    /// Abandons what a stream was sending: an empty 500 if no head went
    /// out yet (server), else a reset.
    pub(crate) fn abort(&mut self, idx: usize) {
        let Some(st) = self.streams.get_mut(idx) else {
            return;
        };
        st.out.pending.clear();
        st.out.finish = false;
        if let Some(credit) = st.credit.take() {
            credit.close();
        }
        let id = st.id;
        let server = self.conn.side() == Side::Server;
        let sent_500 = server
            && !st.head_sent
            && self
                .conn
                .send_response(id, crate::conv::status_head(500), true)
                .is_ok();
        st.head_sent = true;
        if !sent_500 {
            if let Some(mut stream) = self.conn.stream(id) {
                stream.reset(ErrorCode::INTERNAL_ERROR);
            }
        }
    }

    /// The commands both roles handle the same way; returns the others.
    fn common_cmd(&mut self, cmd: Cmd) -> Option<Cmd> {
        match cmd {
            Cmd::Data { key, data } => {
                let idx = self.by_key(key)?;
                let st = self.streams.get_mut(idx)?;
                st.credit.as_ref()?;
                st.out.pending.push_back(data);
                self.flush_send(idx);
            }
            Cmd::Finish { key, trailers } => {
                let idx = self.by_key(key)?;
                let st = self.streams.get_mut(idx)?;
                st.credit.as_ref()?;
                st.out.finish = true;
                st.out.trailers = trailers;
                self.flush_send(idx);
            }
            Cmd::Abort { key } => {
                let idx = self.by_key(key)?;
                self.abort(idx);
            }
            Cmd::Consumed { key } => {
                let idx = self.by_key(key)?;
                let st = self.streams.get_mut(idx)?;
                if matches!(st.recv, Recv::Stalled | Recv::WaitFirstRead) {
                    st.recv = Recv::Open;
                }
                self.pump_recv(idx);
            }
            other => return Some(other),
        }
        None
    }

    /// The events both roles handle the same way; returns the others.
    fn common_event(&mut self, ev: Event) -> Option<Event> {
        match ev {
            Event::Readable { id } => {
                let idx = self.by_id(id)?;
                self.pump_recv(idx);
            }
            Event::Writable { id } => {
                let idx = self.by_id(id)?;
                self.flush_send(idx);
            }
            Event::Finished { id } => {
                let idx = self.by_id(id)?;
                self.streams.remove(idx)?;
            }
            Event::Reset { id, code, remote } => {
                let idx = self.by_id(id)?;
                tracing::debug!(stream = id.get(), ?code, remote, "stream reset");
                self.streams
                    .remove(idx)?
                    .fail(Error::Reset { code, remote });
            }
            Event::Upgrade { id, kind } => {
                let idx = self.by_id(id)?;
                let mut st = self.streams.remove(idx)?;
                let rest = self.conn.take_upgrade(id).unwrap_or_default();
                match st.upgrade.take() {
                    Some(tx) => self.upgrade = Some((tx, rest)),
                    None => tracing::debug!(?kind, "upgrade nobody asked for"),
                }
            }
            Event::Closed { reason } => {
                tracing::debug!(?reason, "connection closed");
                self.closed = Some(reason);
            }
            other => return Some(other),
        }
        None
    }
}

/// What differs between a server and a client connection.
pub(crate) trait Role {
    /// An event the common code does not handle.
    fn on_event(&mut self, core: &mut Core, ev: Event);
    /// A command the common code does not handle.
    fn on_cmd(&mut self, core: &mut Core, cmd: Cmd);
    /// After each turn (e.g. client: send queued requests, mark idle).
    fn after_turn(&mut self, _core: &mut Core) {}
    /// The connection is over: fail whatever waits.
    fn on_close(&mut self, _core: &mut Core, _err: &Error) {}
}

/// The reader thread: reads the transport while the input budget allows
/// and forwards the bytes; ends at EOF, at an error, or when the budget is
/// closed. `read_shut`: a shutdown's wake already shut the reading half
/// down (see the `direct` module), so a read of 0 bytes means "nothing
/// queued now", not the peer's end: the reader then looks again every few
/// milliseconds until the connection stops it (it is closing anyway; this
/// lets an exchange begun just before the shutdown receive its body).
fn spawn_reader<T: Transport>(
    mut io: T,
    tx: Sender<Msg>,
    budget: Arc<Credit>,
    read_shut: bool,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("http-read".into())
        .spawn(move || {
            let mut space = BytesMut::new();
            loop {
                // Waits for a whole chunk of room: taking whatever the core
                // just freed would read in ever smaller pieces once input
                // backs up, each a hand-over to the connection thread.
                let Some(room) = budget.acquire_at_least(READ_CHUNK, READ_CHUNK) else {
                    return;
                };
                if space.len() < room / 2 {
                    space = BytesMut::zeroed(READ_CHUNK);
                }
                // Room taken but not read into goes back below (it used to
                // be lost, shrinking the budget for good).
                let len = room.min(space.len());
                let got = loop {
                    match io::Read::read(&mut io, &mut space[..len]) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other,
                    }
                };
                match got {
                    Ok(0) if read_shut => {
                        budget.release(room);
                        std::thread::sleep(SHUT_READ_POLL);
                    }
                    Ok(n) => {
                        budget.release(room - n);
                        let data = space.split_to(n);
                        if tx.send(Msg::Input(Ok(data))).is_err() || n == 0 {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Msg::Input(Err(e)));
                        return;
                    }
                }
            }
        })
        .map(drop)
}

/// A connection thread's state.
pub(crate) struct Driver<T: Transport, R: Role> {
    core: Core,
    io: T,
    rx: Receiver<Msg>,
    role: R,
    start: std::time::Instant,
    budget: Arc<Credit>,
    /// Input read and not yet taken by the core.
    input: VecDeque<BytesMut>,
    /// The reader saw the end (or an error); `recv_eof` once `input` drains.
    eof: bool,
    eof_fed: bool,
    read_error: Option<io::Error>,
    last_write: std::time::Instant,
    shutting_down: bool,
    /// The TLS session, if the connection is encrypted.
    tls: Option<Box<Tls>>,
    /// Who reads the transport.
    reader: Reader<T>,
}

/// Who reads a connection's transport.
enum Reader<T> {
    /// The reader thread, forwarding over the channel (for good, once
    /// started).
    Thread,
    /// The connection thread itself, while no other thread takes part in
    /// an exchange (the `direct` module).
    Direct {
        wake: Arc<DirectWake<T>>,
        /// Read into; what arrives is split off.
        space: BytesMut,
        /// The socket's read timeout as last set.
        timeout: Option<Duration>,
    },
}

impl<T: Transport, R: Role> Driver<T, R> {
    /// Sets up a connection over `io`: starts its reader thread, unless
    /// `direct` is given (plain transports only: the connection thread then
    /// reads itself until an exchange needs the reader thread).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        io: T,
        side: Side,
        protocol: Protocol,
        config: Arc<Config>,
        role: R,
        channel: (Sender<Msg>, Receiver<Msg>),
        tls: Option<Box<Tls>>,
        direct: Option<Arc<DirectWake<T>>>,
    ) -> io::Result<Self> {
        let (tx, rx) = channel;
        io.set_write_timeout(Some(WRITE_TICK))?;
        let budget = Credit::new(READ_BUDGET);
        let reader = match direct {
            Some(wake) if tls.is_none() => Reader::Direct {
                wake,
                space: BytesMut::new(),
                timeout: None,
            },
            _ => {
                spawn_reader(io.try_clone()?, tx.clone(), budget.clone(), false)?;
                Reader::Thread
            }
        };
        let start = std::time::Instant::now();
        let recv_limit = config.max_recv_buffer.max(16 * 1024);
        let conn = Connection::with_protocol(side, protocol, config, proto_core::Instant::ZERO);
        Ok(Self {
            core: Core {
                conn,
                streams: StreamList::new(),
                recv_limit,
                tx,
                closed: None,
                idle_on_end: None,
                upgrade: None,
            },
            io,
            rx,
            role,
            start,
            budget,
            input: VecDeque::new(),
            eof: false,
            eof_fed: false,
            read_error: None,
            last_write: start,
            shutting_down: false,
            tls,
            reader,
        })
    }

    /// Client, HTTP/1.1: see [`Core::idle_on_end`].
    pub(crate) fn set_idle_on_end(&mut self, flag: Arc<std::sync::atomic::AtomicBool>) {
        self.core.idle_on_end = Some(flag);
    }

    fn now(&self) -> proto_core::Instant {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        proto_core::Instant::from_nanos(nanos)
    }

    /// Some body has data in the core that its reader has not made room for.
    fn bodies_waiting(&self) -> bool {
        self.core
            .streams
            .iter()
            .any(|s| matches!(s.recv, Recv::Stalled | Recv::WaitFirstRead))
    }

    /// Offers buffered input to the core.
    fn feed(&mut self, now: proto_core::Instant) {
        let mut had_input = !self.input.is_empty();
        if self.tls.is_some() {
            // Counts plaintext rustls had buffered (e.g. a request that came
            // with the handshake's last flight) as input of this turn too.
            had_input |= self.feed_tls(now);
        }
        while self.tls.is_none() && self.core.conn.wants_read() {
            let Some(front) = self.input.front_mut() else {
                break;
            };
            let before = front.len();
            self.core.conn.recv_buf(now, front);
            let taken = before - front.len();
            self.budget.release(taken);
            if front.is_empty() {
                self.input.pop_front();
            } else if taken == 0 {
                break;
            }
        }
        // The end of input goes in only after the events of the last bytes
        // were handled and no body waits for its reader to make room: the
        // core treats EOF with streams open as an abrupt end and drops
        // their unread (complete) bodies.
        if self.eof
            && !self.eof_fed
            && self.input.is_empty()
            && !had_input
            && !self.tls.as_ref().is_some_and(|t| t.has_plain())
            && !self.bodies_waiting()
        {
            self.eof_fed = true;
            self.core.conn.recv_eof(now);
        }
    }

    /// `feed` through TLS: decrypt, offer the plaintext, repeat while the
    /// core takes it. A broken session ends the input (the alert rustls
    /// queued goes out with the next write). True if there was plaintext.
    fn feed_tls(&mut self, now: proto_core::Instant) -> bool {
        let Some(tls) = self.tls.as_deref_mut() else {
            return false;
        };
        let mut had_plain = false;
        loop {
            let failed = match tls.decrypt(&mut self.input, &self.budget) {
                Ok(()) => false,
                Err(e) => {
                    tracing::debug!(error = %e, "TLS input rejected");
                    self.read_error = Some(e);
                    true
                }
            };
            if failed || tls.peer_closed() {
                // Nothing after a failure or a `close_notify` counts.
                for data in self.input.drain(..) {
                    self.budget.release(data.len());
                }
                self.eof = true;
            }
            let plain = tls.plain();
            had_plain |= !plain.is_empty();
            if plain.is_empty() || !self.core.conn.wants_read() {
                return had_plain;
            }
            let before = plain.len();
            self.core.conn.recv_buf(now, plain);
            if plain.len() == before {
                return had_plain;
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Input(Ok(data)) if data.is_empty() => self.eof = true,
            Msg::Input(Ok(data)) => self.input.push_back(data),
            Msg::Input(Err(e)) => {
                tracing::debug!(error = %e, "read failed");
                self.read_error = Some(e);
                self.eof = true;
            }
            Msg::Cmd(cmd) => {
                if let Some(cmd) = self.core.common_cmd(cmd) {
                    self.role.on_cmd(&mut self.core, cmd);
                }
            }
            Msg::Shutdown(drain) => {
                if !self.shutting_down {
                    self.shutting_down = true;
                    tracing::debug!(?drain, "graceful shutdown");
                    self.core.conn.shutdown(Shutdown::Graceful { drain });
                }
            }
        }
    }

    /// Writes what the core owes until done or the socket is full. Errors
    /// are fatal for the connection.
    fn write_out(&mut self) -> io::Result<bool> {
        let mut wrote = false;
        while let Some(result) = self.write_some() {
            match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {
                    self.last_write = std::time::Instant::now();
                    wrote = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if self.last_write.elapsed() > WRITE_STALL {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "peer stopped reading",
                        ));
                    }
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if wrote {
            io::Write::flush(&mut self.io)?;
        } else if !self.output_pending() {
            // Nothing owed: the stall clock restarts with the next write.
            self.last_write = std::time::Instant::now();
        }
        Ok(wrote)
    }

    /// One write of what the core owes (through TLS: encrypted first);
    /// `None` when nothing is owed.
    fn write_some(&mut self) -> Option<io::Result<usize>> {
        let Some(tls) = self.tls.as_deref_mut() else {
            let chunks = self.core.conn.poll_transmit();
            if chunks.is_empty() {
                return None;
            }
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let mut count = 0;
            for (slot, chunk) in iov.iter_mut().zip(chunks) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            let result = io::Write::write_vectored(&mut self.io, &iov[..count]);
            if let Ok(n) = result {
                self.core.conn.transmit_complete(n);
            }
            return Some(result);
        };
        loop {
            let chunks = self.core.conn.poll_transmit();
            if chunks.is_empty() {
                break;
            }
            match tls.encrypt(chunks) {
                Ok(0) => break,
                Ok(n) => self.core.conn.transmit_complete(n),
                Err(e) => return Some(Err(e)),
            }
        }
        tls.wants_write().then(|| tls.write_tls(&mut self.io))
    }

    /// Output is owed: by the core, or ciphertext in the TLS session.
    fn output_pending(&mut self) -> bool {
        !self.core.conn.poll_transmit().is_empty()
            || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// One turn: time, input, events, role bookkeeping.
    fn turn(&mut self) {
        let now = self.now();
        self.core.conn.handle_timeout(now);
        self.feed(now);
        while let Some(ev) = self.core.conn.poll_event() {
            if let Some(ev) = self.core.common_event(ev) {
                self.role.on_event(&mut self.core, ev);
            }
        }
        self.role.after_turn(&mut self.core);
    }

    /// Runs the connection to the end.
    pub(crate) fn run(mut self) -> Result<(), Error> {
        let result = self.run_loop();
        let err = match (&result, &self.core.closed) {
            (Err(e), _) => Error::Io(io::Error::new(e.kind(), e.to_string())),
            (Ok(()), Some(reason)) => Error::from_close(reason),
            (Ok(()), None) => Error::Canceled,
        };
        for mut st in self.core.streams.drain() {
            st.fail(err.duplicate());
        }
        self.role.on_close(&mut self.core, &err);
        // Anything still queued for us (requests sent meanwhile) fails too;
        // input is kept (for an upgraded stream).
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Msg::Cmd(Cmd::Request(out)) => out.fail(err.duplicate()),
                Msg::Input(Ok(data)) if data.is_empty() => self.eof = true,
                Msg::Input(Ok(data)) => self.input.push_back(data),
                Msg::Input(Err(_)) => self.eof = true,
                _ => {}
            }
        }
        if let (Ok(()), Some(CloseReason::Upgraded)) = (&result, &self.core.closed) {
            if let Some((tx, rest)) = self.core.upgrade.take() {
                return self.hand_over(tx, rest);
            }
        }
        match result {
            Err(e) => {
                self.stop_reader();
                tracing::debug!(error = %e, "connection failed");
                Err(Error::Io(e))
            }
            Ok(()) => {
                self.close();
                match &self.core.closed {
                    None
                    | Some(
                        CloseReason::Done
                        | CloseReason::Shutdown
                        | CloseReason::Upgraded
                        | CloseReason::TimedOut(proto_core::TimerKind::Idle),
                    ) => Ok(()),
                    Some(reason) => Err(Error::from_close(reason)),
                }
            }
        }
    }

    fn run_loop(&mut self) -> io::Result<()> {
        loop {
            self.turn();
            // Writing may free send room: the core then has `Writable`
            // events for the next turn, so do not block before it.
            let wrote = self.write_out()?;
            if self.core.closed.is_some() && !self.output_pending() {
                return Ok(());
            }
            let msg = self.wait(wrote)?;
            let Some(msg) = msg else { continue };
            self.handle(msg);
            for _ in 0..MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(msg) => self.handle(msg),
                    Err(_) => break,
                }
            }
        }
    }

    /// Waits for the next message, the core's deadline, or (output blocked)
    /// a write tick. `None`: time to run a turn anyway.
    fn wait(&mut self, wrote: bool) -> io::Result<Option<Msg>> {
        let output_blocked = wrote || self.output_pending();
        let input_ready = self.core.conn.wants_read()
            && (!self.input.is_empty()
                || self.tls.as_ref().is_some_and(|t| t.has_plain())
                || (self.eof && !self.eof_fed && !self.bodies_waiting()));
        if output_blocked || input_ready {
            return match self.rx.try_recv() {
                Ok(msg) => Ok(Some(msg)),
                Err(TryRecvError::Empty) => Ok(None),
                Err(TryRecvError::Disconnected) => Err(disconnected()),
            };
        }
        if matches!(self.reader, Reader::Direct { .. }) {
            // Messages first: an inline handler's response is already here.
            match self.rx.try_recv() {
                Ok(msg) => return Ok(Some(msg)),
                Err(TryRecvError::Disconnected) => return Err(disconnected()),
                Err(TryRecvError::Empty) => {}
            }
            if self.others_take_part() {
                self.start_reader()?;
            } else if self.core.conn.wants_read() && !self.eof {
                if let Some(got) = self.read_direct()? {
                    return Ok(got);
                }
            }
        }
        let deadline = self.core.conn.poll_timeout();
        match deadline {
            None => self.rx.recv().map(Some).map_err(|_| disconnected()),
            Some(at) => {
                let wait = at.saturating_duration_since(self.now());
                match self.rx.recv_timeout(wait) {
                    Ok(msg) => Ok(Some(msg)),
                    Err(RecvTimeoutError::Timeout) => Ok(None),
                    Err(RecvTimeoutError::Disconnected) => Err(disconnected()),
                }
            }
        }
    }

    /// Some exchange has a thread other than this one taking part (a
    /// handler on the pool, a body reader or writer, a waiting client): its
    /// commands arrive over the channel, so this thread must not block
    /// reading the socket.
    fn others_take_part(&self) -> bool {
        self.core
            .streams
            .iter()
            .any(|s| !s.head_sent || s.body.is_some() || s.credit.is_some() || s.resp_tx.is_some())
    }

    /// Direct mode: one read of the socket, bounded by the core's next
    /// deadline. `None`: nothing to read into (the input budget is spent),
    /// wait for the channel instead; `Some(None)`: run a turn (the read
    /// timed out, or the deadline is due).
    fn read_direct(&mut self) -> io::Result<Option<Option<Msg>>> {
        let wait = match self.core.conn.poll_timeout() {
            None => None,
            Some(at) => {
                let wait = at.saturating_duration_since(self.now());
                if wait < MIN_READ_WAIT {
                    return Ok(Some(None));
                }
                Some(wait)
            }
        };
        let Reader::Direct { space, timeout, .. } = &mut self.reader else {
            return Ok(None);
        };
        let want = read_timeout_for(*timeout, wait);
        if want != *timeout {
            self.io.set_read_timeout(want)?;
            *timeout = want;
        }
        let room = self.budget.try_acquire(READ_CHUNK);
        if room == 0 {
            return Ok(None);
        }
        if space.len() < MIN_ROOM.min(room) {
            *space = BytesMut::zeroed(READ_CHUNK);
        }
        let room_here = room.min(space.len());
        let got = io::Read::read(&mut self.io, &mut space[..room_here]);
        match got {
            Ok(n) => {
                self.budget.release(room - n);
                Ok(Some(Some(Msg::Input(Ok(space.split_to(n))))))
            }
            Err(e) => {
                self.budget.release(room);
                match e.kind() {
                    io::ErrorKind::WouldBlock
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::Interrupted => Ok(Some(None)),
                    _ => Ok(Some(Some(Msg::Input(Err(e))))),
                }
            }
        }
    }

    /// Leaves direct mode for good: the reader thread takes over reading
    /// (with the handle the shutdown wake held, and knowing whether that
    /// wake shut the reading half down).
    fn start_reader(&mut self) -> io::Result<()> {
        let Reader::Direct { wake, timeout, .. } =
            std::mem::replace(&mut self.reader, Reader::Thread)
        else {
            return Ok(());
        };
        let (io, read_shut) = wake.take();
        let io = match io {
            Some(io) => io,
            None => self.io.try_clone()?,
        };
        // The timeout belongs to the socket, shared by both handles.
        if timeout.is_some() {
            io.set_read_timeout(None)?;
        }
        spawn_reader(io, self.core.tx.clone(), self.budget.clone(), read_shut)
    }

    /// Direct mode's lingering close: discards input until `until`, the end
    /// of input or [`LINGER_BYTES`].
    fn linger_direct(&mut self, until: std::time::Instant) {
        let mut scratch = [0u8; 8 * 1024];
        let mut discarded = 0usize;
        while discarded < LINGER_BYTES {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left < MIN_READ_WAIT || self.io.set_read_timeout(Some(left)).is_err() {
                return;
            }
            match io::Read::read(&mut self.io, &mut scratch) {
                Ok(0) => return,
                Ok(n) => discarded += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn stop_reader(&mut self) {
        self.budget.close();
        let _ = self.io.shutdown(NetShutdown::Both);
    }

    /// After `Closed`: our output is written; shut down our side, then
    /// discard input for a moment (lingering close) unless the peer already
    /// closed, and stop the reader.
    fn close(&mut self) {
        let quiet = matches!(
            self.core.closed,
            Some(CloseReason::TimedOut(proto_core::TimerKind::Idle))
        );
        self.send_close_notify();
        let _ = self.io.shutdown(NetShutdown::Write);
        for data in self.input.drain(..) {
            self.budget.release(data.len());
        }
        if !self.eof && !quiet && matches!(self.reader, Reader::Direct { .. }) {
            self.linger_direct(std::time::Instant::now() + LINGER);
        } else if !self.eof && !quiet {
            // Keep the budget open so the reader keeps draining.
            let until = std::time::Instant::now() + LINGER;
            let mut discarded = 0usize;
            while !self.eof && discarded < LINGER_BYTES {
                let left = until.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                match self.rx.recv_timeout(left) {
                    Ok(Msg::Input(Ok(data))) => {
                        self.budget.release(data.len());
                        discarded += data.len();
                        if data.is_empty() {
                            self.eof = true;
                        }
                    }
                    Ok(Msg::Input(Err(_))) => self.eof = true,
                    Ok(Msg::Cmd(Cmd::Request(out))) => out.fail(Error::Canceled),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        self.stop_reader();
    }
}

impl<T: Transport, R: Role> Driver<T, R> {
    /// After a protocol switch: the transport, the reader thread's channel
    /// and every byte read past the message go to the application.
    fn hand_over(mut self, tx: Sender<Upgraded>, rest: Bytes) -> Result<(), Error> {
        // An upgrade goes through the pool, so the reader runs already; to
        // be sure, as the upgraded stream reads through it.
        self.start_reader()?;
        let upgraded = Upgraded::new(Handover {
            prefix: rest,
            input: self.input,
            eof: self.eof,
            rx: self.rx,
            budget: self.budget,
            io: self.io,
            tls: self.tls,
        })?;
        tracing::debug!("connection upgraded");
        // Nobody waiting: dropping it closes the connection.
        let _ = tx.send(upgraded);
        Ok(())
    }

    /// TLS: ends the session properly (RFC 8446 §6.1), best effort and
    /// briefly: the peer may not be reading any more.
    fn send_close_notify(&mut self) {
        let Some(tls) = self.tls.as_deref_mut() else {
            return;
        };
        tls.close_notify();
        let until = std::time::Instant::now() + CLOSE_NOTIFY_WAIT;
        while tls.wants_write() && std::time::Instant::now() < until {
            match tls.write_tls(&mut self.io) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => break,
            }
        }
        let _ = io::Write::flush(&mut self.io);
    }
}

fn disconnected() -> io::Error {
    io::Error::other("command channel closed")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::panic)]
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    /// Bounds the waits below; never a wait for something to happen.
    const GUARD: Duration = Duration::from_secs(5);

    /// After a shutdown's wake shut the reading half down, a read of 0
    /// bytes is "nothing yet" (TCP on Linux still takes the peer's data):
    /// the reader started then forwards what comes later instead of
    /// reporting the end of input.
    #[cfg(target_os = "linux")]
    #[test]
    fn reader_after_a_read_shutdown_still_forwards_late_input() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        server.shutdown(NetShutdown::Read).expect("shutdown");
        let (tx, rx) = std::sync::mpsc::channel();
        let budget = Credit::new(READ_BUDGET);
        spawn_reader(server, tx, budget.clone(), true).expect("reader");
        // Nothing is forwarded while nothing arrives (no end of input).
        assert!(rx.recv_timeout(SHUT_READ_POLL * 4).is_err());
        client.write_all(b"late").expect("write");
        match rx.recv_timeout(GUARD) {
            Ok(Msg::Input(Ok(data))) => assert_eq!(&data[..], b"late"),
            Ok(Msg::Input(Err(e))) => panic!("read error {e}"),
            Ok(_) => panic!("not input"),
            Err(e) => panic!("nothing forwarded: {e}"),
        }
        // Closing the budget stops it.
        budget.close();
    }

    /// Every byte of budget the reader takes comes back: what it read
    /// when the core takes it, the rest at once. Pieces of 40 KiB leave
    /// awkward room in the reader's buffer; the room it took and could not
    /// read into used to be lost, shrinking the budget for good (and with
    /// it every later read).
    #[test]
    fn reader_gives_back_the_budget_it_does_not_use() {
        const PIECE: usize = 40 * 1024;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        let (tx, rx) = std::sync::mpsc::channel();
        let budget = Credit::new(READ_BUDGET);
        spawn_reader(server, tx, budget.clone(), false).expect("reader");
        for _ in 0..20 {
            client.write_all(&[7u8; PIECE]).expect("write");
            let mut got = 0;
            while got < PIECE {
                match rx.recv_timeout(GUARD) {
                    Ok(Msg::Input(Ok(data))) => {
                        assert!(!data.is_empty(), "end of input");
                        got += data.len();
                        // What the core does with input it takes.
                        budget.release(data.len());
                    }
                    Ok(_) => panic!("not input"),
                    Err(e) => panic!("input stopped after {got} bytes: {e}"),
                }
            }
            assert_eq!(got, PIECE);
        }
        // All input was taken: the reader holds one chunk's room, for the
        // read it waits in now.
        let until = std::time::Instant::now() + GUARD;
        while budget.available() != READ_BUDGET - READ_CHUNK {
            assert!(
                std::time::Instant::now() < until,
                "budget {} of {READ_BUDGET} back",
                budget.available()
            );
            std::thread::yield_now();
        }
        budget.close();
    }
}
