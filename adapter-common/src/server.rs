//! The server side of a connection task, the parts every async runtime
//! shares: running one request through the service ([`respond`]), applying
//! its reply to the core ([`apply_reply`]), the `500` fallback
//! ([`answer_500`]), the server's commands ([`on_cmd`]) and the counters
//! ([`Stats`]). Spawning a handler that does not finish at once is the
//! adapter's.

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use http::{Request, header};
use proto_core::ErrorCode;

use crate::body::Incoming;
use crate::cmd::{Cmd, CmdTx, Reply};
use crate::conv::{ReqInfo, response_head};
use crate::driver::{Core, Recv, Runtime};
use crate::error::BoxError;
use crate::send::{SendCredit, first_part, pump};
use crate::service::HttpService;

/// Sends `Cmd::Abort` for `key` when dropped armed. A server's handler
/// task holds one to tell the connection when it ends without answering (an
/// error, a panic, an abort: `Drop` runs during unwinding too); a client's
/// request, when its caller stops waiting for the response.
pub struct TaskGuard {
    /// The connection's command channel.
    pub tx: CmdTx,
    /// The request's stream.
    pub key: u64,
    /// Disarmed once the task answered.
    pub armed: bool,
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
pub async fn respond<S: HttpService>(
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
    crate::conv::recycle_header_map(parts.headers);
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

/// The request's declared `content-length`, if valid.
pub fn content_length(parts: &http::request::Parts) -> Option<u64> {
    parts
        .headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Applies a reply: head, first bytes, and the finish if the body is done.
pub fn apply_reply<R: Runtime>(
    core: &mut Core<R>,
    key: u64,
    reply: Reply,
    credit: Option<Arc<SendCredit>>,
) {
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
    if end && !end_now {
        st.finish = Some(trailers);
    }
    core.send_data(idx, data);
}

/// Replaces whatever the stream was going to send with an empty 500 if no
/// head went out yet, else abandons it.
pub fn answer_500<R: Runtime>(core: &mut Core<R>, idx: usize) {
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

/// The commands a server connection handles beyond the common ones: a
/// handler's reply, its failure, a request body dropped early.
pub fn on_cmd<R: Runtime>(core: &mut Core<R>, cmd: Cmd) {
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

/// Connection and request counters, shared by the server and its
/// connections. Cheap to clone; reads are relaxed atomic loads.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    inner: Arc<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    accepted: AtomicU64,
    active: AtomicUsize,
    requests: AtomicU64,
}

impl Stats {
    /// Connections accepted (or handed to `serve_connection`) so far.
    pub fn accepted(&self) -> u64 {
        self.inner.accepted.load(Relaxed)
    }

    /// Connections open now.
    pub fn active(&self) -> usize {
        self.inner.active.load(Relaxed)
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Relaxed)
    }
}

/// What the adapters count on [`Stats`] beyond its public API: a trait, so
/// that it stays out of the API the adapters re-export.
pub trait StatsExt {
    /// A request was received.
    fn request(&self);
    /// A connection was accepted: counted as active until the guard drops.
    fn connection(&self) -> ActiveGuard;
}

impl StatsExt for Stats {
    fn request(&self) {
        self.inner.requests.fetch_add(1, Relaxed);
    }

    fn connection(&self) -> ActiveGuard {
        self.inner.accepted.fetch_add(1, Relaxed);
        self.inner.active.fetch_add(1, Relaxed);
        ActiveGuard {
            stats: self.clone(),
        }
    }
}

/// An open connection, counted in [`Stats::active`] while it lives.
#[derive(Debug)]
pub struct ActiveGuard {
    stats: Stats,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.stats.inner.active.fetch_sub(1, Relaxed);
    }
}
