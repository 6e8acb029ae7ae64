//! What a server runs per request: any `tower_service::Service` from
//! `http::Request<Incoming>` to `http::Response<B>`, or an async function
//! wrapped by [`service_fn`].

use std::fmt;
use std::future::Future;
use std::task::{Context, Poll};

use bytes::Buf;
use http::{Request, Response};
use http_body::Body;

use crate::body::Incoming;
use crate::error::BoxError;

mod sealed {
    pub trait Sealed {}
}

/// A service the server can run: implemented for every
/// [`tower_service::Service<http::Request<Incoming>>`] that answers with an
/// `http::Response<B>` (`B` an [`http_body::Body`]), is `Clone + Send`, and
/// whose future is `Send`. An axum `Router` is one; so is [`service_fn`].
///
/// The server clones the service once per request and calls `poll_ready`
/// before `call`, as tower requires.
pub trait HttpService: sealed::Sealed + Clone + Send + 'static {
    /// The response body.
    type ResBody: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static;
    /// The service's error.
    type Error: Into<BoxError>;
    /// The response future.
    type Future: Future<Output = Result<Response<Self::ResBody>, Self::Error>> + Send + 'static;

    /// `tower_service::Service::poll_ready`.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>>;

    /// `tower_service::Service::call`.
    fn call(&mut self, req: Request<Incoming>) -> Self::Future;
}

impl<S, B> sealed::Sealed for S where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>>
{
}

impl<S, B> HttpService for S
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
{
    type ResBody = B;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        tower_service::Service::poll_ready(self, cx)
    }

    fn call(&mut self, req: Request<Incoming>) -> S::Future {
        tower_service::Service::call(self, req)
    }
}

/// Turns an async function into a service:
/// `service_fn(|req: Request<Incoming>| async { Ok::<_, Infallible>(Response::new(body)) })`.
///
/// The function is called once per request (through a clone of the
/// service, so it must be `Clone`: capture `Arc`s, not references).
pub fn service_fn<F>(f: F) -> ServiceFn<F> {
    ServiceFn { f }
}

/// A service made from a function by [`service_fn`].
#[derive(Clone, Copy)]
pub struct ServiceFn<F> {
    f: F,
}

impl<F> fmt::Debug for ServiceFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceFn").finish_non_exhaustive()
    }
}

impl<F, Req, Fut, R, E> tower_service::Service<Req> for ServiceFn<F>
where
    F: FnMut(Req) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    type Response = R;
    type Error = E;
    type Future = Fut;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Fut {
        (self.f)(req)
    }
}
