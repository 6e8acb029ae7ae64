//! The client side of a connection task ([`ClientHandler`]), the same on
//! every async runtime.
//!
//! HTTP/1.1 carries one exchange at a time; HTTP/2 many at once, up to the
//! peer's `SETTINGS_MAX_CONCURRENT_STREAMS`. Either way a request goes to the
//! core as soon as the core takes it (`send_request` until `Busy`); the
//! others wait in a queue in the connection task until the core says
//! `StreamsAvailable` (HTTP/1: the exchange ended; HTTP/2: a stream ended or
//! the limit grew).
//!
//! HTTP/2 retirement: after a GOAWAY (sent or received), when the core
//! refuses new streams (`UserError::Closed`, e.g. stream ids exhausted), or
//! when the connection closes, the connection leaves the pool and takes no
//! new requests. Requests still queued are refused locally, like those the
//! peer refused above its GOAWAY's last stream id: both end with
//! `REFUSED_STREAM`, were not processed, and may be sent again on a new
//! connection (RFC 9113 §8.7).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Context;

use bytes::{Buf, Bytes};
use http::{Response, header};
use http_body::Body;
use proto_core::{ErrorCode, Event, Fields, Method, RequestHead, UserError};
use tokio::sync::oneshot;

use crate::body::Incoming;
use crate::cmd::{ClientRequest, Cmd, CmdTx, WeakCmdTx};
use crate::conv::{request_head, response_parts};
use crate::driver::{Core, Handler, Recv, Runtime, Stream};
use crate::error::BoxError;
use crate::error::Error;
use crate::send::{SendCredit, first_part, pump};
use crate::server::TaskGuard;
use crate::upgrade::OnUpgrade;

/// True for the errors that say the peer did not process the request.
pub fn not_processed(e: &Error) -> bool {
    matches!(e, Error::Reset { code, .. } if *code == ErrorCode::REFUSED_STREAM)
}

/// The error of a request refused before it was sent (its HTTP/2
/// connection retired while it waited).
fn refused_locally() -> Error {
    Error::Reset {
        code: ErrorCode::REFUSED_STREAM,
        remote: false,
    }
}

/// The client side of a connection task: queues requests until the core
/// takes them, hands responses to their requesters, and retires an HTTP/2
/// connection after a GOAWAY.
pub struct ClientHandler {
    /// Weak: the connection ends when no handle, body or pump refers to it.
    tx: WeakCmdTx,
    queue: VecDeque<ClientRequest>,
    /// The core may take a request now (HTTP/1: none in flight; HTTP/2: it
    /// did not say `Busy` since the last `StreamsAvailable`).
    ready: bool,
    /// HTTP/2: requests run concurrently.
    multiplex: bool,
    /// HTTP/2: takes no new requests (shared with the `SendRequest`s).
    retired: Arc<AtomicBool>,
    hook: Option<PoolHook>,
}

/// Lets a pooled connection mark itself idle and leave the pool on close.
pub struct PoolHook {
    /// HTTP/1.1: the connection can take a request now. HTTP/2: it still
    /// takes new requests.
    pub idle: Arc<AtomicBool>,
    /// Takes the connection out of its pool.
    pub leave: Box<dyn Fn() + Send>,
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

fn reset<R: Runtime>(core: &mut Core<R>, idx: usize, code: ErrorCode) {
    let Some(st) = core.streams.get(idx) else {
        return;
    };
    if let Some(mut stream) = core.conn.stream(st.id) {
        stream.reset(code);
    }
}

/// Ends a request that was never sent: its body pump never started, and
/// dropping `start` tells the sender it keeps the body.
fn fail_unsent(req: ClientRequest, err: Error) {
    if let Some(credit) = &req.credit {
        credit.close();
    }
    let _ = req.resp_tx.send(Err(err));
}

impl ClientHandler {
    /// A handler for a connection whose command senders `tx` refers to;
    /// `multiplex` for HTTP/2, whose `retired` flag is shared with the
    /// request handles; `hook` for a pooled connection.
    pub fn new(
        tx: WeakCmdTx,
        multiplex: bool,
        retired: Arc<AtomicBool>,
        hook: Option<PoolHook>,
    ) -> Self {
        Self {
            tx,
            queue: VecDeque::new(),
            ready: true,
            multiplex,
            retired,
            hook,
        }
    }

    fn start_next<R: Runtime>(&mut self, core: &mut Core<R>) {
        while self.ready {
            let Some(req) = self.queue.pop_front() else {
                break;
            };
            if req.resp_tx.is_closed() {
                fail_unsent(req, Error::Canceled);
                continue;
            }
            if self.retired.load(Ordering::Acquire) {
                fail_unsent(req, refused_locally());
                continue;
            }
            let ClientRequest {
                key,
                head,
                data,
                end,
                trailers,
                credit,
                resp_tx,
                start,
            } = req;
            let end_now = end && data.is_empty() && trailers.is_none();
            let upgrade = head.method == Method::Connect
                || (head.fields.has_token("connection", "upgrade")
                    && head.fields.contains("upgrade"));
            // HTTP/2: `Busy` is expected at the peer's stream limit, and the
            // core consumes the head even then.
            let kept = self.multiplex.then(|| head.clone());
            let id = match core.conn.send_request(head, end_now) {
                Ok(id) => id,
                Err(e) => {
                    match (e, kept) {
                        (UserError::Busy, Some(head)) => {
                            // At the peer's stream limit: wait for `StreamsAvailable`.
                            self.ready = false;
                            self.queue.push_front(ClientRequest {
                                key,
                                head,
                                data,
                                end,
                                trailers,
                                credit,
                                resp_tx,
                                start,
                            });
                        }
                        (e, _) => {
                            if let Some(credit) = credit {
                                credit.close();
                            }
                            let err = match e {
                                UserError::Closed if self.multiplex => {
                                    // GOAWAY, or stream ids exhausted: a new
                                    // connection is needed.
                                    self.retire();
                                    refused_locally()
                                }
                                UserError::Closed => Error::Canceled,
                                e => Error::User(e),
                            };
                            let _ = resp_tx.send(Err(err));
                        }
                    }
                    continue;
                }
            };
            if !self.multiplex {
                self.ready = false;
            }
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
            st.credit = credit;
            let idx = core.streams.push(st);
            core.flush_send(idx);
            if let Some(start) = start {
                let _ = start.send(());
            }
        }
        if let (Some(hook), false) = (&self.hook, self.multiplex) {
            hook.idle
                .store(self.ready && self.queue.is_empty(), Ordering::Release);
        }
    }

    /// HTTP/2: takes no new requests from now on; leaves the pool, and
    /// refuses the queued requests so that they go to another connection.
    fn retire(&mut self) {
        if !self.multiplex || self.retired.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::debug!(queued = self.queue.len(), "HTTP/2 connection retired");
        if let Some(hook) = &self.hook {
            hook.idle.store(false, Ordering::Release);
            (hook.leave)();
        }
        for req in self.queue.drain(..) {
            fail_unsent(req, refused_locally());
        }
    }

    fn on_response<R: Runtime>(
        &mut self,
        core: &mut Core<R>,
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
            Incoming::default()
        } else {
            let Some(tx) = self.tx.upgrade() else {
                reset(core, idx, ErrorCode::CANCEL);
                return;
            };
            let len = response_content_length(&parts);
            let (body, body_tx) = crate::body::channel(st.key, tx, len, false, recv_limit);
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

impl<R: Runtime> Handler<R> for ClientHandler {
    fn on_event(&mut self, core: &mut Core<R>, ev: Event, _cx: &mut Context<'_>) {
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
            Event::GoAway {
                last_stream_id,
                code,
                remote,
                ..
            } => {
                tracing::debug!(last = last_stream_id.get(), ?code, remote, "GOAWAY");
                // The streams the peer will not process are reset with
                // REFUSED_STREAM by the core, after this event: by then the
                // connection has left the pool, so they are retried elsewhere.
                self.retire();
            }
            other => tracing::trace!(event = ?other, "ignored"),
        }
    }

    fn on_cmd(&mut self, core: &mut Core<R>, cmd: Cmd) {
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
                    // HTTP/1: the rest of the response would have to be read
                    // to reuse the connection; closing is cheaper and
                    // bounded. HTTP/2: only this stream is canceled.
                    reset(core, idx, ErrorCode::CANCEL);
                }
            }
            _ => {}
        }
    }

    fn on_rx_closed(&mut self, core: &mut Core<R>) {
        // Nobody holds a handle, a body or a pump: nothing more can happen.
        core.conn.shutdown(proto_core::Shutdown::Immediate);
    }

    fn on_close(&mut self, err: &dyn Fn() -> Error) {
        // HTTP/2: the queued requests were never sent; they may go elsewhere.
        self.retire();
        for req in self.queue.drain(..) {
            if let Some(credit) = &req.credit {
                credit.close();
            }
            let _ = req.resp_tx.send(Err(err()));
        }
        if let Some(hook) = self.hook.take() {
            hook.idle.store(false, Ordering::Release);
            (hook.leave)();
        }
    }
}

/// A request that failed, given back when the peer did not process it
/// (HTTP/2 `REFUSED_STREAM`, or never sent) and it can be sent again.
pub struct Failed<B> {
    /// What went wrong.
    pub error: Error,
    /// The request, if it can be sent again.
    pub again: Option<Outgoing<B>>,
}

/// A request ready to hand to a connection: head, the body bytes that were
/// ready at once, and the rest of the body if any.
pub struct Outgoing<B> {
    /// The request head.
    pub head: RequestHead,
    /// The body bytes that were ready at once.
    pub data: Bytes,
    /// The body ends after `data` (and `trailers`).
    pub end: bool,
    /// Trailers, if the body ended with them at once.
    pub trailers: Option<Fields>,
    /// The rest of the body, to pump once the request reached the core.
    pub rest: Option<Pin<Box<B>>>,
}

impl<B> Outgoing<B>
where
    B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
{
    /// Converts the request head and polls the body once.
    pub async fn prepare(parts: &http::request::Parts, body: B) -> Result<Self, Error> {
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
    pub fn replay(&self) -> Option<Self> {
        self.rest.is_none().then(|| Self {
            head: self.head.clone(),
            data: self.data.clone(),
            end: self.end,
            trailers: self.trailers.clone(),
            rest: None,
        })
    }
}

/// Sends `out`; on failure, gives it back if the peer did not process it
/// and it can still be sent (HTTP/2 only: its body was complete at once,
/// or was never polled).
///
/// `tx` is the connection's command channel, `next_key` its request
/// counter, `multiplex` true for HTTP/2; `spawn` runs the pump of a body
/// that was not complete at once, once the request reached the core.
pub async fn send_or_return<B, F>(
    tx: &CmdTx,
    next_key: &AtomicU64,
    multiplex: bool,
    out: Outgoing<B>,
    spawn: F,
) -> Result<Response<Incoming>, Failed<B>>
where
    B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
    F: FnOnce(Pin<Box<dyn Future<Output = ()> + Send>>),
{
    let key = next_key.fetch_add(1, Ordering::Relaxed);
    let (resp_tx, resp_rx) = oneshot::channel();
    // HTTP/2: what it takes to send the request again if it is refused.
    let mut spare = multiplex.then(|| Outgoing {
        head: out.head.clone(),
        data: out.data.clone(),
        end: out.end,
        trailers: out.trailers.clone(),
        rest: None,
    });
    let Outgoing {
        head,
        data,
        end,
        trailers,
        mut rest,
    } = out;
    let (start, start_rx) = match rest {
        Some(_) => {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        }
        None => (None, None),
    };
    let credit = rest.as_ref().map(|_| SendCredit::new(data.len()));
    let req = ClientRequest {
        key,
        head,
        data,
        end,
        trailers,
        credit: credit.clone(),
        resp_tx,
        start,
    };
    if tx.send(Cmd::Request(Box::new(req))).is_err() {
        // Never reached the connection: nothing was sent.
        let again = spare.map(|mut s| {
            s.rest = rest;
            s
        });
        return Err(Failed {
            error: Error::Canceled,
            again,
        });
    }
    // From here, a caller that stops waiting (drops this future) tells the
    // connection, which takes the request out of its queue or resets its
    // stream. The connection then need not watch every waiting request's
    // channel on each wake-up (O(requests in flight) per wake-up).
    let mut abandoned = TaskGuard {
        tx: tx.clone(),
        key,
        armed: true,
    };
    if let (Some(start_rx), Some(credit)) = (start_rx, credit) {
        // Dropped unsent (refused, canceled, connection gone): the body
        // stays here, untouched.
        if start_rx.await.is_ok() {
            if let Some(mut body) = rest.take() {
                let tx = tx.clone();
                spawn(Box::pin(async move {
                    pump(body.as_mut(), key, &tx, &credit).await;
                }));
            }
            // Polled by the pump now: it cannot be sent again.
            spare = None;
        }
    }
    let answer = resp_rx.await;
    abandoned.armed = false;
    match answer {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(error)) => {
            let again = if not_processed(&error) {
                spare.map(|mut s| {
                    s.rest = rest;
                    s
                })
            } else {
                None
            };
            Err(Failed { error, again })
        }
        Err(_) => Err(Failed {
            error: Error::Canceled,
            again: None,
        }),
    }
}
