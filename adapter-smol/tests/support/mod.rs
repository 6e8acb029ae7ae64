//! Shared helpers for the end-to-end tests: a server on 127.0.0.1:0 on
//! smol's global executor, a body fed from a channel, deadlines.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use adapter_smol::{Builder, HttpService, Incoming, ShutdownHandle, Stats};
use bytes::Bytes;
use futures_lite::{Stream, future};
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::Empty;
use smol::Task;

/// A server running on its own task.
pub struct Running {
    pub addr: SocketAddr,
    pub stats: Stats,
    pub shutdown: ShutdownHandle,
    pub task: Task<std::io::Result<()>>,
}

impl Running {
    pub fn url(&self, path: &str) -> http::Uri {
        format!("http://{}{path}", self.addr).parse().unwrap()
    }
}

pub async fn start<S: HttpService>(service: S) -> Running {
    start_with(Builder::new(), service).await
}

pub async fn start_with<S: HttpService>(builder: Builder, service: S) -> Running {
    let server = builder.bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let stats = server.stats();
    let shutdown = server.shutdown_handle();
    let task = smol::spawn(server.serve(service));
    Running {
        addr,
        stats,
        shutdown,
        task,
    }
}

/// Runs a test body with a deadline, so that a hang fails instead of
/// blocking the suite.
pub fn within<F: Future>(secs: u64, f: F) -> F::Output {
    smol::block_on(future::or(f, async {
        smol::Timer::after(Duration::from_secs(secs)).await;
        panic!("test timed out");
    }))
}

/// A body whose frames are pushed through a bounded channel.
pub struct ChanBody {
    rx: Pin<Box<async_channel::Receiver<Frame<Bytes>>>>,
}

pub fn chan_body(depth: usize) -> (async_channel::Sender<Frame<Bytes>>, ChanBody) {
    let (tx, rx) = async_channel::bounded(depth);
    (tx, ChanBody { rx: Box::pin(rx) })
}

impl Body for ChanBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.as_mut().poll_next(cx).map(|f| f.map(Ok))
    }
}

pub fn get(uri: http::Uri) -> Request<Empty<Bytes>> {
    Request::get(uri).body(Empty::new()).unwrap()
}

/// Streams the request body back as the response body.
pub async fn echo(req: Request<Incoming>) -> Result<Response<Incoming>, Infallible> {
    Ok(Response::new(req.into_body()))
}

/// 1 MiB of `i % 251` for each byte index `i`.
pub fn mebibyte() -> Vec<u8> {
    (0..(1 << 20)).map(|i: usize| (i % 251) as u8).collect()
}

/// Sends `data` through `tx` in 16 KiB + 7 chunks, on a task.
pub fn send_chunks(tx: async_channel::Sender<Frame<Bytes>>, data: Vec<u8>) -> Task<()> {
    smol::spawn(async move {
        for chunk in data.chunks(16 * 1024 + 7) {
            tx.send(Frame::data(Bytes::copy_from_slice(chunk)))
                .await
                .unwrap();
        }
    })
}
