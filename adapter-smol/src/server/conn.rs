//! The server side of a connection task: requests in, handler tasks out.
//!
//! Per request, the handler (`poll_ready`, `call`, then the first poll of the
//! response body) is boxed and polled once inline by the connection task (in
//! the box of the thread's last handler that finished at once:
//! `adapter_common::first_poll`). A
//! handler that completes at once with a body that is ready at once (the
//! common "hello" case) is answered with no channel hop and no extra task or
//! wake-up. Anything that returns `Pending` moves to its own spawned task
//! (on the server's [`Spawner`]), so a slow handler never blocks the
//! connection nor other HTTP/2 streams; it sends its response and body over
//! the command channel.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::task::Context;

use futures_lite::FutureExt;
use http::Request;
use proto_core::{Event, Method, RequestHead, StreamId};
use tracing::Instrument;

use adapter_common::first_poll::{FirstPoll, first_poll};
use adapter_common::server::{TaskGuard, answer_500, apply_reply, content_length, respond};

use crate::body::Incoming;
use crate::cmd::{Cmd, CmdTx, Reply};
use crate::conv::{ReqInfo, recycle_fields, request_parts_from};
use crate::driver::{Core, Handler, Recv, Rt, Stream};
use crate::error::Error;
use crate::rt::Spawner;
use crate::server::Stats;
use crate::service::HttpService;
use crate::upgrade::OnUpgrade;
use adapter_common::server::{ActiveGuard, StatsExt};

pub(crate) struct ServerHandler<S> {
    pub(crate) service: S,
    pub(crate) tx: CmdTx,
    pub(crate) stats: Stats,
    pub(crate) spawner: Spawner,
    /// The connection's place in [`Stats::active`], held for its life.
    pub(crate) _active: ActiveGuard,
}

impl<S: HttpService> ServerHandler<S> {
    fn on_request(
        &mut self,
        core: &mut Core,
        id: StreamId,
        mut head: RequestHead,
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
        let converted = request_parts_from(&mut head);
        // The head's field storage holds this request's response head, or
        // else the next request's head.
        recycle_fields(&mut core.conn, head.fields);
        let mut parts = match converted {
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
        let fut = respond(self.service.clone(), req, key, self.tx.clone(), info);
        let polled = first_poll(fut, |fut| {
            let _entered = span.enter();
            fut.poll(cx)
        });
        match polled {
            FirstPoll::Ready(Some(reply)) => apply_reply(core, key, reply, None),
            FirstPoll::Ready(None) => {}
            FirstPoll::Pending(fut) => {
                let tx = self.tx.clone();
                let task = async move {
                    let mut guard = TaskGuard {
                        tx,
                        key,
                        armed: true,
                    };
                    // A panic is caught here (it must not unwind through
                    // the executor); the guard answers 500 in its place.
                    let done = AssertUnwindSafe(fut).catch_unwind().await;
                    match done {
                        Ok(Some(reply)) => {
                            let _ = guard.tx.send(Cmd::Respond {
                                key,
                                reply: Box::new(reply),
                                credit: None,
                            });
                            guard.armed = false;
                        }
                        Ok(None) => guard.armed = false,
                        Err(_) => tracing::error!(stream = key, "service panicked"),
                    }
                };
                let handle = self.spawner.spawn(task.instrument(span));
                match core.by_key(key).and_then(|i| core.streams.get_mut(i)) {
                    Some(st) => st.task = Some(handle),
                    None => handle.detach(),
                }
            }
            FirstPoll::Panicked => {
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
        adapter_common::server::on_cmd(core, cmd);
    }

    fn on_close(&mut self, _err: &dyn Fn() -> Error) {}
}
