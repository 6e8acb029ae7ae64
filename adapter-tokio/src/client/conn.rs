//! The client side of a connection task, and [`SendRequest`], the handle
//! that sends requests to it.
//!
//! HTTP/1.1 carries one exchange at a time: requests given while one is in
//! flight wait in a queue in the connection task until the core says
//! `StreamsAvailable`. A request body that is not complete at once is pumped
//! by its own task; its window starts closed (see [`GATE`]) and opens when the
//! request reaches the core, so no body bytes pile up for queued requests.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::Context;

use bytes::{Buf, Bytes};
use http::{Request, Response, header};
use http_body::Body;
use proto_core::{Config, ErrorCode, Event, Fields, Protocol, RequestHead, Side, UserError};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc::{self, WeakUnboundedSender};
use tokio::sync::oneshot;

use crate::body::Incoming;
use crate::client::Pool;
use crate::cmd::{ClientRequest, Cmd, CmdTx};
use crate::conv::{request_head, response_parts};
use crate::driver::{Core, Driver, Handler, Recv, Stream};
use crate::error::{BoxError, Error};
use crate::send::{SEND_WINDOW, SendCredit, first_part, pump};
use crate::upgrade::OnUpgrade;

/// Extra window a pump starts with: it waits until the connection task
/// releases it, which happens when the request is handed to the core.
const GATE: usize = SEND_WINDOW;

/// Sends requests on one connection. Cheap to clone; requests given while
/// one is in flight wait their turn (HTTP/1.1 has no multiplexing).
#[derive(Clone, Debug)]
pub struct SendRequest {
    tx: CmdTx,
    next_key: Arc<AtomicU64>,
}

/// A request ready to hand to a connection: head, the body bytes that were
/// ready at once, and the rest of the body if any.
pub(crate) struct Outgoing<B> {
    pub(crate) head: RequestHead,
    pub(crate) data: Bytes,
    pub(crate) end: bool,
    pub(crate) trailers: Option<Fields>,
    pub(crate) rest: Option<Pin<Box<B>>>,
}

impl<B> Outgoing<B>
where
    B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
{
    pub(crate) async fn prepare(parts: &http::request::Parts, body: B) -> Result<Self, Error> {
        let head = request_head(parts, body.size_hint().exact());
        if body.is_end_stream() {
            return Ok(Self {
                head,
                data: Bytes::new(),
                end: true,
                trailers: None,
                rest: None,
            });
        }
        let mut body = Box::pin(body);
        let first = first_part(body.as_mut()).await;
        if let Some(e) = first.error {
            return Err(Error::Body(e));
        }
        let rest = if first.end { None } else { Some(body) };
        Ok(Self {
            head,
            data: first.data,
            end: first.end,
            trailers: first.trailers,
            rest,
        })
    }

    /// A copy to send again, if the body was complete at once.
    pub(crate) fn replay(&self) -> Option<Self> {
        self.rest.is_none().then(|| Self {
            head: self.head.clone(),
            data: self.data.clone(),
            end: self.end,
            trailers: self.trailers.clone(),
            rest: None,
        })
    }
}

impl SendRequest {
    /// Sends `req` and waits for the response head. `req`'s URI may be in
    /// origin form (`/path`) if it carries a `Host` header, or absolute
    /// (`Host` is then taken from it).
    pub async fn send_request<B>(&self, req: Request<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
    {
        let (parts, body) = req.into_parts();
        let out = Outgoing::prepare(&parts, body).await?;
        self.send(out).await
    }

    /// True once the connection is closed: requests would fail.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    pub(crate) async fn send<B>(&self, out: Outgoing<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
    {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let (resp_tx, resp_rx) = oneshot::channel();
        let credit = out
            .rest
            .as_ref()
            .map(|_| SendCredit::new(out.data.len() + GATE));
        let req = ClientRequest {
            key,
            head: out.head,
            data: out.data,
            end: out.end,
            trailers: out.trailers,
            credit: credit.clone(),
            resp_tx,
        };
        self.tx
            .send(Cmd::Request(Box::new(req)))
            .map_err(|_| Error::Canceled)?;
        if let (Some(mut body), Some(credit)) = (out.rest, credit) {
            let tx = self.tx.clone();
            tokio::spawn(async move { pump(body.as_mut(), key, &tx, &credit).await });
        }
        resp_rx.await.unwrap_or(Err(Error::Canceled))
    }
}

/// Lets a pooled connection mark itself idle and leave the pool on close.
pub(crate) struct PoolHook {
    pub(crate) pool: Weak<Pool>,
    pub(crate) key: String,
    pub(crate) conn_id: u64,
    pub(crate) idle: Arc<AtomicBool>,
}

pub(crate) struct ClientHandler {
    /// Weak: the connection ends when no handle, body or pump refers to it.
    tx: WeakUnboundedSender<Cmd>,
    queue: VecDeque<ClientRequest>,
    /// The core can take a request now.
    ready: bool,
    hook: Option<PoolHook>,
}

fn response_content_length(parts: &http::response::Parts) -> Option<u64> {
    parts
        .headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn reset(core: &mut Core, idx: usize, code: ErrorCode) {
    let Some(st) = core.streams.get(idx) else {
        return;
    };
    if let Some(mut stream) = core.conn.stream(st.id) {
        stream.reset(code);
    }
}

impl ClientHandler {
    fn start_next(&mut self, core: &mut Core) {
        while self.ready {
            let Some(req) = self.queue.pop_front() else {
                break;
            };
            let ClientRequest {
                key,
                head,
                data,
                end,
                trailers,
                credit,
                resp_tx,
            } = req;
            if resp_tx.is_closed() {
                if let Some(credit) = credit {
                    credit.close();
                }
                continue;
            }
            let end_now = end && data.is_empty() && trailers.is_none();
            let upgrade = head.method == proto_core::Method::Connect
                || (head.fields.has_token("connection", "upgrade")
                    && head.fields.contains("upgrade"));
            match core.conn.send_request(head, end_now) {
                Ok(id) => {
                    self.ready = false;
                    let mut st = Stream::new(key, id);
                    st.head_sent = true;
                    st.resp_tx = Some(resp_tx);
                    if upgrade {
                        let (tx, on_upgrade) = OnUpgrade::pair();
                        st.upgrade = Some(tx);
                        st.on_upgrade = Some(on_upgrade);
                    }
                    if !data.is_empty() {
                        st.pending.push_back(data);
                    }
                    if end && !end_now {
                        st.finish = Some(trailers);
                    }
                    if let Some(credit) = &credit {
                        credit.release(GATE);
                    }
                    st.credit = credit;
                    core.streams.push(st);
                    core.flush_send(core.streams.len() - 1);
                }
                Err(e) => {
                    if let Some(credit) = credit {
                        credit.close();
                    }
                    let err = match e {
                        UserError::Closed => Error::Canceled,
                        e => Error::User(e),
                    };
                    let _ = resp_tx.send(Err(err));
                }
            }
        }
        if let Some(hook) = &self.hook {
            hook.idle
                .store(self.ready && self.queue.is_empty(), Ordering::Release);
        }
    }

    fn on_response(
        &mut self,
        core: &mut Core,
        id: proto_core::StreamId,
        head: proto_core::ResponseHead,
        end_stream: bool,
    ) {
        let Some(idx) = core.by_id(id) else { return };
        let recv_limit = core.recv_limit;
        let Some(st) = core.streams.get_mut(idx) else {
            return;
        };
        let Some(resp_tx) = st.resp_tx.take() else {
            return;
        };
        let mut parts = match response_parts(head) {
            Ok(parts) => parts,
            Err(e) => {
                let _ = resp_tx.send(Err(Error::Http(e)));
                reset(core, idx, ErrorCode::PROTOCOL_ERROR);
                return;
            }
        };
        if let Some(on_upgrade) = st.on_upgrade.take() {
            parts.extensions.insert(on_upgrade);
        }
        let body = if end_stream {
            Incoming::empty()
        } else {
            let Some(tx) = self.tx.upgrade() else {
                reset(core, idx, ErrorCode::CANCEL);
                return;
            };
            let len = response_content_length(&parts);
            let (body, body_tx) = Incoming::channel(st.key, tx, len, false, recv_limit);
            st.body = Some(body_tx);
            st.recv = Recv::Open;
            body
        };
        if resp_tx.send(Ok(Response::from_parts(parts, body))).is_err() {
            // The requester gave up; dropping the body tells us again, harmlessly.
            reset(core, idx, ErrorCode::CANCEL);
        }
    }
}

impl Handler for ClientHandler {
    fn on_event(&mut self, core: &mut Core, ev: Event, _cx: &mut Context<'_>) {
        match ev {
            Event::Response {
                id,
                head,
                end_stream,
            } => self.on_response(core, id, head, end_stream),
            Event::StreamsAvailable => {
                self.ready = true;
                self.start_next(core);
            }
            Event::Informational { id, head } => {
                tracing::trace!(stream = id.get(), status = head.status, "interim response");
            }
            other => tracing::trace!(event = ?other, "ignored"),
        }
    }

    fn on_cmd(&mut self, core: &mut Core, cmd: Cmd) {
        match cmd {
            Cmd::Request(req) => {
                self.queue.push_back(*req);
                self.start_next(core);
            }
            Cmd::Abort { key, error } => {
                let err = error.unwrap_or(Error::Canceled);
                if let Some(idx) = core.by_key(key) {
                    if let Some(tx) = core.streams.get_mut(idx).and_then(|s| s.resp_tx.take()) {
                        let _ = tx.send(Err(err));
                    }
                    reset(core, idx, ErrorCode::CANCEL);
                } else if let Some(pos) = self.queue.iter().position(|r| r.key == key) {
                    if let Some(req) = self.queue.remove(pos) {
                        let _ = req.resp_tx.send(Err(err));
                    }
                }
            }
            Cmd::BodyDropped { key } => {
                let Some(idx) = core.by_key(key) else { return };
                let done = core.streams.get(idx).is_none_or(|s| s.recv == Recv::Done);
                if !done {
                    // The rest of the response would have to be read to
                    // reuse the connection; closing is cheaper and bounded.
                    reset(core, idx, ErrorCode::CANCEL);
                }
            }
            _ => {}
        }
    }

    fn on_rx_closed(&mut self, core: &mut Core) {
        // Nobody holds a handle, a body or a pump: nothing more can happen.
        core.conn.shutdown(proto_core::Shutdown::Immediate);
    }

    fn poll_extra(&mut self, core: &mut Core, cx: &mut Context<'_>) -> bool {
        let mut gave_up = None;
        for (idx, st) in core.streams.iter_mut().enumerate() {
            if let Some(tx) = &mut st.resp_tx {
                if tx.poll_closed(cx).is_ready() {
                    st.resp_tx = None;
                    gave_up = Some(idx);
                }
            }
        }
        let Some(idx) = gave_up else { return false };
        tracing::debug!("request abandoned before its response");
        reset(core, idx, ErrorCode::CANCEL);
        true
    }

    fn on_close(&mut self, err: &dyn Fn() -> Error) {
        for req in self.queue.drain(..) {
            if let Some(credit) = &req.credit {
                credit.close();
            }
            let _ = req.resp_tx.send(Err(err()));
        }
        if let Some(hook) = self.hook.take() {
            hook.idle.store(false, Ordering::Release);
            if let Some(pool) = hook.pool.upgrade() {
                pool.remove(&hook.key, hook.conn_id);
            }
        }
    }
}

/// Builds a client connection over `io`: the handle, and the connection
/// task to spawn.
pub(crate) fn connection<IO>(
    io: IO,
    config: Config,
    hook: Option<PoolHook>,
) -> (
    SendRequest,
    impl Future<Output = Result<(), Error>> + use<IO>,
)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = ClientHandler {
        tx: tx.downgrade(),
        queue: VecDeque::new(),
        ready: true,
        hook,
    };
    let driver = Driver::new(io, Side::Client, Protocol::Http1, config, rx, handler);
    let sender = SendRequest {
        tx,
        next_key: Arc::new(AtomicU64::new(1)),
    };
    (sender, driver.run(None))
}

/// Starts an HTTP/1.1 client connection over any transport (a `TcpStream`,
/// a TLS stream...): returns the handle to send requests with and the
/// connection future, which must be spawned (or otherwise polled) for
/// anything to happen. It resolves when the connection closes, which it does
/// once every [`SendRequest`] and response body is dropped.
pub fn handshake<IO>(io: IO) -> (SendRequest, impl Future<Output = Result<(), Error>>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    connection(io, Config::default(), None)
}
