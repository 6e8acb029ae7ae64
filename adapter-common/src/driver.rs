//! The connection task's bookkeeping, common to every async runtime:
//! [`Core`] (the core's `Connection` plus the streams in progress) and
//! [`Stream`] (one exchange: its body channels, send window, handler task
//! and upgrade handoff). What a runtime supplies (its task handle, its
//! shutdown signal, its upgraded transport) comes through [`Runtime`].
//!
//! Two orderings matter on multi-threaded executors, where a body's
//! consumer or a handler may run at once on another thread:
//! - a body's end is delivered only after the turn's events are handled
//!   ([`Core::ended`]): a client connection is back in its pool before its
//!   response body ends;
//! - a graceful shutdown is checked before each command and each response
//!   head ([`Core::check_shutdown`]): a response produced after the
//!   shutdown was asked for carries `connection: close`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use bytes::Bytes;
use proto_core::{
    CloseReason, Connection, ErrorCode, Event, Fields, ReadChunk, Shutdown, StreamId, UpgradeKind,
};
use tokio::sync::oneshot;

use crate::body::{BodyTx, Incoming};
use crate::cmd::{Cmd, ResponseTx};
use crate::error::Error;
use crate::send::SendCredit;
use crate::streams::StreamList;
use crate::upgrade::OnUpgrade;

/// What a runtime adapter plugs into [`Core`] and [`Stream`].
pub trait Runtime: Sized {
    /// A spawned handler task's handle.
    type Task;
    /// A server's graceful-shutdown signal, as a connection sees it.
    type Shutdown;
    /// The transport handed over after a protocol switch.
    type Upgraded: Send + 'static;

    /// Stops the task (the exchange was reset).
    fn abort(task: Self::Task);
    /// Lets the task run to its end on its own.
    fn detach(task: Self::Task);
    /// The drain time, if a graceful shutdown was asked for.
    fn shutdown_requested(signal: &Self::Shutdown) -> Option<Duration>;
}

/// Where the upgraded transport goes.
pub type UpgradeTx<R> = oneshot::Sender<<R as Runtime>::Upgraded>;

/// The receiving side of a stream, as seen by the connection task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recv {
    /// Read body chunks as they come.
    Open,
    /// Do not read before the consumer polls (`100 Continue` is sent on the
    /// first read).
    WaitFirstPoll,
    /// The consumer's window is full; wait for a `ReadCredit`.
    Stalled,
    /// The consumer dropped the body.
    Dropped,
    /// The end (or an error) was delivered.
    Done,
}

/// One exchange in progress.
pub struct Stream<R: Runtime> {
    /// The stream's key in commands (see [`Cmd`]).
    pub key: u64,
    /// The core's stream id (a client's request gets it when the core
    /// accepts it).
    pub id: StreamId,
    /// Where received body bytes go.
    pub body: Option<BodyTx>,
    /// The receiving side's state.
    pub recv: Recv,
    /// The head went to the core (body bytes may follow).
    pub head_sent: bool,
    /// Body bytes handed over by the sender and not yet taken by the core.
    pub pending: VecDeque<Bytes>,
    /// `Some` once the sender finished; sent when `pending` is empty.
    pub finish: Option<Option<Fields>>,
    /// The send window of a streaming body.
    pub credit: Option<Arc<SendCredit>>,
    /// The handler task (server), aborted if the exchange is reset,
    /// detached otherwise.
    pub task: Option<R::Task>,
    /// Client: where the response goes.
    pub resp_tx: Option<ResponseTx>,
    /// The exchange may switch protocols: where the transport goes then.
    pub upgrade: Option<UpgradeTx<R>>,
    /// Client: the other end of `upgrade`, for the response's extensions.
    pub on_upgrade: Option<OnUpgrade<R::Upgraded>>,
}

impl<R: Runtime> crate::streams::Entry for Stream<R> {
    fn id(&self) -> StreamId {
        self.id
    }
    fn key(&self) -> u64 {
        self.key
    }
}

impl<R: Runtime> Stream<R> {
    /// A stream with nothing attached yet.
    pub fn new(key: u64, id: StreamId) -> Self {
        Self {
            key,
            id,
            body: None,
            recv: Recv::Done,
            head_sent: false,
            pending: VecDeque::new(),
            finish: None,
            credit: None,
            task: None,
            resp_tx: None,
            upgrade: None,
            on_upgrade: None,
        }
    }

    /// Ends every handle on this stream: the body and the response waiter
    /// get `err`, the pump stops, and the handler task is aborted if `abort`.
    pub fn close(mut self, err: Option<Error>, abort: bool) {
        if let Some(credit) = self.credit.take() {
            credit.close();
        }
        if let Some(task) = self.task.take() {
            if abort {
                R::abort(task);
            } else {
                R::detach(task);
            }
        }
        let Some(err) = err else { return };
        if let Some(tx) = self.resp_tx.take() {
            let _ = tx.send(Err(err));
        } else if let Some(body) = self.body.take() {
            body.send_error(err);
        }
    }
}

/// The core plus the streams in progress.
pub struct Core<R: Runtime> {
    /// The core.
    pub conn: Connection,
    /// The exchanges in progress.
    pub streams: StreamList<Stream<R>>,
    /// Per-body receive window (see `body.rs`).
    pub recv_limit: usize,
    /// Bodies that reached their end during this turn. Closing a body tells
    /// its consumer the end, and the consumer may run at once on another
    /// thread: these close only after the turn's events are handled, so
    /// that what the end implies is in place first (a client connection is
    /// back in the pool when its response body ends).
    pub ended: Vec<BodyTx>,
    /// Graceful shutdown requests (server), until one arrives.
    pub shutdown: Option<R::Shutdown>,
    /// Set when the core reported `Closed`.
    pub closed: Option<CloseReason>,
    /// After `Upgrade`: where the transport goes, and the bytes that came
    /// after the upgrading message. Boxed: rare, and every connection task
    /// would carry the room otherwise.
    pub upgrade: Option<Box<(UpgradeTx<R>, Bytes)>>,
}

impl<R: Runtime> Core<R> {
    /// A core with no streams yet; `recv_limit` is the per-body receive
    /// window.
    pub fn new(conn: Connection, recv_limit: usize) -> Self {
        Self {
            conn,
            streams: StreamList::new(),
            recv_limit,
            ended: Vec::new(),
            shutdown: None,
            closed: None,
            upgrade: None,
        }
    }

    /// Starts a graceful shutdown if one was asked for. Called before each
    /// command and each response head, so that anything that happens after
    /// `ShutdownHandle::shutdown` returned sees the shutdown in effect (a
    /// response answers with `connection: close`).
    pub fn check_shutdown(&mut self) {
        let Some(drain) = self.shutdown.as_ref().and_then(R::shutdown_requested) else {
            return;
        };
        tracing::debug!(?drain, "graceful shutdown");
        self.conn.shutdown(Shutdown::Graceful { drain });
        self.shutdown = None;
    }

    /// The core's idle release happened ([`Connection::take_idle_release`]):
    /// lets go of the stream list's and the ended list's storage too if
    /// they are empty (they grow again on the next exchange; a busy
    /// connection keeps them and allocates nothing per request).
    pub fn release_idle(&mut self) {
        self.streams.release();
        if self.ended.is_empty() {
            self.ended = Vec::new();
        }
    }

    /// The index of the stream with `key`.
    pub fn by_key(&self, key: u64) -> Option<usize> {
        self.streams.by_key(key)
    }

    /// The index of the stream with `id`.
    pub fn by_id(&self, id: StreamId) -> Option<usize> {
        self.streams.by_id(id)
    }

    /// Takes the stream at `idx` out.
    pub fn remove(&mut self, idx: usize) -> Option<Stream<R>> {
        self.streams.remove(idx)
    }

    /// Moves received body chunks from the core to the consumer while it has
    /// room.
    pub fn pump_recv(&mut self, idx: usize) {
        let Some(st) = self.streams.get_mut(idx) else {
            return;
        };
        if st.recv != Recv::Open {
            return;
        }
        let Some(tx) = &st.body else { return };
        let Some(mut stream) = self.conn.stream(st.id) else {
            return;
        };
        loop {
            if !tx.has_room() && tx.stall() {
                st.recv = Recv::Stalled;
                return;
            }
            match stream.read() {
                ReadChunk::Data(data) => {
                    if !tx.send_data(data) {
                        st.recv = Recv::Dropped;
                        return;
                    }
                }
                ReadChunk::Blocked => return,
                ReadChunk::Trailers(fields) => {
                    tx.send_trailers(crate::conv::header_map(&fields));
                }
                ReadChunk::End => {
                    if let Some(tx) = st.body.take() {
                        self.ended.push(tx);
                    }
                    st.recv = Recv::Done;
                    return;
                }
                ReadChunk::Reset(code) => {
                    tx.send_error(Error::Reset { code, remote: true });
                    st.body = None;
                    st.recv = Recv::Done;
                    return;
                }
            }
        }
    }

    /// Hands pending body bytes to the core within its write capacity, then
    /// the finish once everything went.
    pub fn flush_send(&mut self, idx: usize) {
        self.send_data(idx, Bytes::new());
    }

    /// [`flush_send`](Self::flush_send) with `data` queued after what is
    /// pending: with nothing pending, it goes to the core directly (a body
    /// sent with its head queues nothing in the common case).
    pub fn send_data(&mut self, idx: usize, mut data: Bytes) {
        let Some(st) = self.streams.get_mut(idx) else {
            return;
        };
        if !st.head_sent {
            if !data.is_empty() {
                st.pending.push_back(data);
            }
            return;
        }
        let Some(mut stream) = self.conn.stream(st.id) else {
            return;
        };
        let mut taken = 0;
        let mut failed = false;
        if !data.is_empty() {
            if st.pending.is_empty() {
                match stream.write(&mut data) {
                    Ok(n) => taken += n,
                    Err(e) => {
                        tracing::debug!(error = %e, "response body rejected by the core");
                        failed = true;
                    }
                }
            }
            if !failed && !data.is_empty() {
                st.pending.push_back(data);
            }
        }
        while let Some(front) = st.pending.front_mut().filter(|_| !failed) {
            match stream.write(front) {
                Ok(n) => taken += n,
                Err(e) => {
                    tracing::debug!(error = %e, "response body rejected by the core");
                    failed = true;
                    break;
                }
            }
            if !front.is_empty() {
                break;
            }
            st.pending.pop_front();
        }
        if failed {
            st.pending.clear();
            st.finish = None;
            stream.reset(ErrorCode::INTERNAL_ERROR);
        } else if st.pending.is_empty() {
            if let Some(trailers) = st.finish.take() {
                if let Err(e) = stream.finish(trailers) {
                    tracing::debug!(error = %e, "finishing the body failed");
                }
            }
        }
        if let Some(credit) = &st.credit {
            credit.release(taken);
        }
    }

    /// The commands both roles handle the same way; returns the others.
    pub fn common_cmd(&mut self, cmd: Cmd) -> Option<Cmd> {
        match cmd {
            Cmd::Data { key, data } => {
                let idx = self.by_key(key)?;
                // No credit: the stream stopped sending (e.g. it answered 500).
                self.streams.get(idx)?.credit.as_ref()?;
                self.send_data(idx, data);
            }
            Cmd::Finish { key, trailers } => {
                let idx = self.by_key(key)?;
                if let Some(st) = self.streams.get_mut(idx) {
                    st.credit.as_ref()?;
                    st.finish = Some(trailers);
                }
                self.flush_send(idx);
            }
            Cmd::ReadCredit { key } => {
                let idx = self.by_key(key)?;
                if let Some(st) = self.streams.get_mut(idx) {
                    if matches!(st.recv, Recv::Stalled | Recv::WaitFirstPoll) {
                        st.recv = Recv::Open;
                    }
                }
                self.pump_recv(idx);
            }
            other => return Some(other),
        }
        None
    }

    /// The events both roles handle the same way; returns the others.
    pub fn common_event(&mut self, ev: Event) -> Option<Event> {
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
                self.remove(idx)?.close(None, false);
            }
            Event::Reset { id, code, remote } => {
                let idx = self.by_id(id)?;
                tracing::debug!(stream = id.get(), ?code, remote, "stream reset");
                self.remove(idx)?
                    .close(Some(Error::Reset { code, remote }), true);
            }
            Event::Upgrade { id, kind } => {
                let idx = self.by_id(id)?;
                let mut st = self.remove(idx)?;
                let rest = self.conn.take_upgrade(id).unwrap_or_default();
                if let Some(resp_tx) = st.resp_tx.take() {
                    // Client: the core reports the `101` (or 2xx to CONNECT)
                    // head as a `Response` first, which answers the waiter;
                    // this only covers a core that did not.
                    let status = match kind {
                        UpgradeKind::Connect => http::StatusCode::OK,
                        _ => http::StatusCode::SWITCHING_PROTOCOLS,
                    };
                    let mut resp = http::Response::new(Incoming::default());
                    *resp.status_mut() = status;
                    if let Some(on_upgrade) = st.on_upgrade.take() {
                        resp.extensions_mut().insert(on_upgrade);
                    }
                    let _ = resp_tx.send(Ok(resp));
                }
                match st.upgrade.take() {
                    Some(tx) => self.upgrade = Some(Box::new((tx, rest))),
                    None => tracing::debug!(?kind, "upgrade nobody asked for"),
                }
                st.close(None, false);
            }
            Event::TimedOut { kind } => tracing::debug!(?kind, "timed out"),
            Event::Negotiated { .. } => {}
            other => return Some(other),
        }
        None
    }
}

/// Role-specific behaviour of a connection task (server or client).
pub trait Handler<R: Runtime> {
    /// An event the common code did not handle.
    fn on_event(&mut self, core: &mut Core<R>, ev: Event, cx: &mut Context<'_>);
    /// A command the common code did not handle.
    fn on_cmd(&mut self, core: &mut Core<R>, cmd: Cmd);
    /// Every command sender is gone.
    fn on_rx_closed(&mut self, _core: &mut Core<R>) {}
    /// The connection is over; `err` ends whatever the handler still holds.
    fn on_close(&mut self, _err: &dyn Fn() -> Error) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::{Config, Instant, Side};

    enum TestRt {}

    impl Runtime for TestRt {
        type Task = ();
        type Shutdown = ();
        type Upgraded = ();
        fn abort(_task: ()) {}
        fn detach(_task: ()) {}
        fn shutdown_requested(_signal: &()) -> Option<Duration> {
            None
        }
    }

    #[test]
    fn release_idle_lets_go_of_empty_lists_only() {
        let conn = Connection::new(Side::Server, Config::default(), Instant::ZERO);
        let mut core = Core::<TestRt>::new(conn, 1024);
        core.streams.push(Stream::new(1, StreamId::new(1)));
        core.release_idle();
        assert!(core.streams.capacity() > 0, "a stream in progress");
        drop(core.remove(0));
        assert!(core.streams.capacity() > 0, "kept between exchanges");
        core.release_idle();
        assert_eq!(core.streams.capacity(), 0);
        assert_eq!(core.ended.capacity(), 0);
    }
}
