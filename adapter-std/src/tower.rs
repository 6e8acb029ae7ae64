//! Running a `tower_service::Service` (the async adapters' shape) on
//! handler threads: each request blocks its pool thread on the service's
//! futures and on its response body with a tiny [`block_on`].

use std::future::Future;
use std::io::Write;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use bytes::Buf;
use http::{Request, Response, StatusCode};
use http_body::Body as HttpBody;

use crate::body::{Body, SendBody};
use crate::error::BoxError;
use crate::server::Handler;

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on the calling thread, parking it while the
/// future is pending (no runtime: futures that need a reactor, such as
/// tokio's timers or sockets, will not complete).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// A [`Handler`] running a tower service; made by [`serve_tower`] or
/// [`Server::serve_tower`](crate::Server::serve_tower).
///
/// The service is cloned per request (as tower expects) and driven with
/// [`block_on`] on the request's pool thread: `poll_ready`, `call`, then
/// every frame of the response body, which is streamed. Service errors and
/// body errors before the head answer `500`.
pub struct TowerHandler<S> {
    svc: Mutex<S>,
}

impl<S> std::fmt::Debug for TowerHandler<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TowerHandler").finish_non_exhaustive()
    }
}

impl<S> TowerHandler<S> {
    /// Wraps `svc`.
    pub fn new(svc: S) -> Self {
        Self {
            svc: Mutex::new(svc),
        }
    }
}

/// Turns a tower service from `http::Request<Body>` to `http::Response<B>`
/// (`B` an [`http_body::Body`]) into a [`Handler`]. [`Body`] implements
/// `http_body::Body` (its frames block), so services written for the async
/// adapters work unchanged if they need no runtime of their own.
pub fn serve_tower<S>(svc: S) -> TowerHandler<S> {
    TowerHandler::new(svc)
}

fn status(code: StatusCode) -> Response<SendBody> {
    let mut resp = Response::new(SendBody::empty());
    *resp.status_mut() = code;
    resp
}

impl<S, B> Handler for TowerHandler<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn call(&self, req: Request<Body>) -> Response<SendBody> {
        let mut svc = self
            .svc
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Err(e) = block_on(std::future::poll_fn(|cx| svc.poll_ready(cx))) {
            let e: BoxError = e.into();
            tracing::warn!(error = %e, "service not ready");
            return status(StatusCode::SERVICE_UNAVAILABLE);
        }
        let resp = match block_on(svc.call(req)) {
            Ok(resp) => resp,
            Err(e) => {
                let e: BoxError = e.into();
                tracing::warn!(error = %e, "service failed");
                return status(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        let (parts, body) = resp.into_parts();
        let exact = body.size_hint().exact();
        let mut body = Box::pin(body);
        if exact == Some(0) && body.is_end_stream() {
            return Response::from_parts(parts, SendBody::empty());
        }
        let send = SendBody::writer(move |w| {
            loop {
                let frame = block_on(std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)));
                match frame {
                    None => return Ok(()),
                    Some(Err(e)) => {
                        let e: BoxError = e.into();
                        return Err(std::io::Error::other(e));
                    }
                    Some(Ok(frame)) => {
                        if let Ok(mut data) = frame.into_data() {
                            while data.has_remaining() {
                                let chunk = data.chunk();
                                w.write_all(chunk)?;
                                let n = chunk.len();
                                data.advance(n);
                            }
                        }
                    }
                }
            }
        });
        let mut resp = Response::from_parts(parts, send);
        if let Some(n) = exact {
            if !resp.headers().contains_key(http::header::CONTENT_LENGTH) {
                resp.headers_mut()
                    .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(n));
            }
        }
        resp
    }
}
