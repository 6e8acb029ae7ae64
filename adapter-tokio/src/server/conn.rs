//! The server side of a connection task: requests in, handler tasks out.
//!
//! Per request, the handler (`poll_ready`, `call`, then the first poll of the
//! response body) is boxed and polled once inline by the connection task. A
//! handler that completes at once with a body that is ready at once (the
//! common "hello" case) is answered with no channel hop and no extra task or
//! wake-up. Anything that returns `Pending` moves to its own spawned task, so
//! a slow handler never blocks the connection (nor, with HTTP/2 later, other
//! streams); it sends its response and body over the command channel.

use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, header};
use proto_core::{ErrorCode, Event, Method, RequestHead, StreamId};
use tracing::Instrument;

use crate::body::Incoming;
use crate::cmd::{Cmd, CmdTx, Reply};
use crate::conv::{ReqInfo, request_parts, response_head};
use crate::driver::{Core, Handler, Recv, Rt, Stream};
use crate::error::{BoxError, Error};
use crate::send::{SendCredit, first_part, pump};
use crate::server::Stats;
use crate::service::HttpService;
use crate::upgrade::OnUpgrade;

pub(crate) struct ServerHandler<S> {
    pub(crate) service: S,
    pub(crate) tx: CmdTx,
    pub(crate) stats: Stats,
}

/// Tells the connection when a handler task ends without answering (an
/// error, a panic, an abort): `Drop` runs during unwinding too.
struct TaskGuard {
    tx: CmdTx,
    key: u64,
    armed: bool,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.tx.send(Cmd::Abort {
                key: self.key,
                error: None,
            });
        }
    }
}

/// One request: readiness, the call, the head, the first body poll; then
/// either the complete reply (returned) or the head sent over `tx` and the
/// rest of the body pumped (returns `None`).
async fn respond<S: HttpService>(
    mut svc: S,
    req: Request<Incoming>,
    key: u64,
    tx: CmdTx,
    info: ReqInfo,
) -> Option<Reply> {
    if let Err(e) = poll_fn(|cx| svc.poll_ready(cx)).await {
        let e: BoxError = e.into();
        tracing::warn!(error = %e, "service not ready");
        return Some(Reply::status(503));
    }
    let resp = match svc.call(req).await {
        Ok(resp) => resp,
        Err(e) => {
            let e: BoxError = e.into();
            tracing::warn!(error = %e, "service failed");
            return Some(Reply::status(500));
        }
    };
    let (parts, body) = resp.into_parts();
    let head = response_head(&parts, http_body::Body::size_hint(&body).exact(), info);
    let mut body = std::pin::pin!(body);
    let first = first_part(body.as_mut()).await;
    if let Some(e) = first.error {
        tracing::warn!(error = %e, "response body failed");
        return Some(Reply::status(500));
    }
    if first.end {
        return Some(Reply {
            head,
            data: first.data,
            end: true,
            trailers: first.trailers,
        });
    }
    let credit = SendCredit::new(first.data.len());
    let reply = Box::new(Reply {
        head,
        data: first.data,
        end: false,
        trailers: None,
    });
    if tx
        .send(Cmd::Respond {
            key,
            reply,
            credit: Some(credit.clone()),
        })
        .is_err()
    {
        return None;
    }
    pump(body.as_mut(), key, &tx, &credit).await;
    None
}

fn content_length(parts: &http::request::Parts) -> Option<u64> {
    parts
        .headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Applies a reply: head, first bytes, and the finish if the body is done.
fn apply_reply(core: &mut Core, key: u64, reply: Reply, credit: Option<Arc<SendCredit>>) {
    core.check_shutdown();
    let Some(idx) = core.by_key(key) else {
        if let Some(credit) = credit {
            credit.close();
        }
        return;
    };
    let Some(st) = core.streams.get_mut(idx) else {
        return;
    };
    if st.head_sent {
        return;
    }
    st.credit = credit;
    let Reply {
        head,
        data,
        end,
        trailers,
    } = reply;
    let end_now = end && data.is_empty() && trailers.is_none();
    if let Err(e) = core.conn.send_response(st.id, head, end_now) {
        tracing::warn!(error = %e, "response head rejected; answering 500");
        answer_500(core, idx);
        return;
    }
    st.head_sent = true;
    if !data.is_empty() {
        st.pending.push_back(data);
    }
    if end && !end_now {
        st.finish = Some(trailers);
    }
    core.flush_send(idx);
}

/// Replaces whatever the stream was going to send with an empty 500 if no
/// head went out yet, else abandons it.
fn answer_500(core: &mut Core, idx: usize) {
    let Some(st) = core.streams.get_mut(idx) else {
        return;
    };
    st.pending.clear();
    st.finish = None;
    if let Some(credit) = st.credit.take() {
        credit.close();
    }
    let sent_500 = !st.head_sent
        && core
            .conn
            .send_response(st.id, Reply::status(500).head, true)
            .is_ok();
    st.head_sent = true;
    if !sent_500 {
        if let Some(mut stream) = core.conn.stream(st.id) {
            stream.reset(ErrorCode::INTERNAL_ERROR);
        }
    }
}

impl<S: HttpService> ServerHandler<S> {
    fn on_request(
        &mut self,
        core: &mut Core,
        id: StreamId,
        head: RequestHead,
        end_stream: bool,
        cx: &mut Context<'_>,
    ) {
        self.stats.request();
        let key = u64::from(id.get());
        let info = ReqInfo {
            is_head: head.method == Method::Head,
            is_connect: head.method == Method::Connect,
        };
        let expect = !end_stream && head.fields.has_token("expect", "100-continue");
        let upgrade = info.is_connect
            || (head.fields.has_token("connection", "upgrade") && head.fields.contains("upgrade"));
        let mut parts = match request_parts(head) {
            Ok(parts) => parts,
            Err(e) => {
                tracing::debug!(error = %e, "request head not representable; answering 400");
                if let Err(e) = core.conn.send_response(id, Reply::status(400).head, true) {
                    tracing::debug!(error = %e, "400 rejected");
                }
                return;
            }
        };
        let mut st = Stream::new(key, id);
        if upgrade {
            let (tx, on_upgrade) = OnUpgrade::pair();
            parts.extensions.insert(on_upgrade);
            st.upgrade = Some(tx);
        }
        let body = if end_stream {
            Incoming::default()
        } else {
            let (body, tx) = crate::body::channel(
                key,
                self.tx.clone(),
                content_length(&parts),
                expect,
                core.recv_limit,
            );
            st.body = Some(tx);
            st.recv = if expect {
                Recv::WaitFirstPoll
            } else {
                Recv::Open
            };
            body
        };
        core.streams.push(st);
        let req = Request::from_parts(parts, body);
        let span = tracing::debug_span!(
            "request",
            stream = key,
            method = %req.method(),
            path = %req.uri().path(),
        );
        let mut fut = Box::pin(respond(
            self.service.clone(),
            req,
            key,
            self.tx.clone(),
            info,
        ));
        let polled = {
            let _entered = span.enter();
            catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx)))
        };
        match polled {
            Ok(Poll::Ready(Some(reply))) => apply_reply(core, key, reply, None),
            Ok(Poll::Ready(None)) => {}
            Ok(Poll::Pending) => {
                let tx = self.tx.clone();
                let task = async move {
                    let mut guard = TaskGuard {
                        tx,
                        key,
                        armed: true,
                    };
                    if let Some(reply) = fut.await {
                        let _ = guard.tx.send(Cmd::Respond {
                            key,
                            reply: Box::new(reply),
                            credit: None,
                        });
                    }
                    guard.armed = false;
                };
                let handle = tokio::spawn(task.instrument(span));
                if let Some(st) = core.by_key(key).and_then(|i| core.streams.get_mut(i)) {
                    st.task = Some(handle.abort_handle());
                }
            }
            Err(_) => {
                tracing::error!(stream = key, "service panicked; answering 500");
                if let Some(idx) = core.by_key(key) {
                    answer_500(core, idx);
                }
            }
        }
    }
}

impl<S: HttpService> Handler<Rt> for ServerHandler<S> {
    fn on_event(&mut self, core: &mut Core, ev: Event, cx: &mut Context<'_>) {
        match ev {
            Event::Request {
                id,
                head,
                end_stream,
            } => {
                self.on_request(core, id, head, end_stream, cx);
            }
            Event::ContinueRequested { id } => {
                // The body's first poll reads it, which sends `100 Continue`.
                tracing::trace!(stream = id.get(), "100-continue requested");
            }
            other => tracing::trace!(event = ?other, "ignored"),
        }
    }

    fn on_cmd(&mut self, core: &mut Core, cmd: Cmd) {
        match cmd {
            Cmd::Respond { key, reply, credit } => apply_reply(core, key, *reply, credit),
            Cmd::Abort { key, error } => {
                if let Some(e) = error {
                    tracing::debug!(stream = key, error = %e, "response abandoned");
                }
                if let Some(idx) = core.by_key(key) {
                    answer_500(core, idx);
                }
            }
            Cmd::BodyDropped { key } => {
                if let Some(st) = core.by_key(key).and_then(|i| core.streams.get_mut(i)) {
                    st.body = None;
                    if st.recv != Recv::Done {
                        st.recv = Recv::Dropped;
                    }
                }
            }
            _ => {}
        }
    }

    fn on_close(&mut self, _err: &dyn Fn() -> Error) {}
}
