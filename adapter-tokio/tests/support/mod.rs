//! Shared helpers for the end-to-end tests: a server on 127.0.0.1:0, raw TCP
//! exchanges, a body fed from a channel, and services and bodies more than
//! one test file uses.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use adapter_tokio::{Builder, HttpService, Incoming, ShutdownHandle, Stats};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Empty};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A server running on its own task.
pub struct Running {
    pub addr: SocketAddr,
    pub stats: Stats,
    pub shutdown: ShutdownHandle,
    pub task: JoinHandle<std::io::Result<()>>,
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
    let task = tokio::spawn(server.serve(service));
    Running {
        addr,
        stats,
        shutdown,
        task,
    }
}

/// Writes `request` on a fresh connection and reads until EOF.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    read_to_end(&mut s).await
}

pub async fn read_to_end(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("server closed the connection")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until `needle` has been seen.
pub async fn read_until(s: &mut TcpStream, needle: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if String::from_utf8_lossy(&out).contains(needle) {
            return String::from_utf8_lossy(&out).into_owned();
        }
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("timed out waiting for the server")
            .expect("read");
        assert!(
            n > 0,
            "EOF before {needle:?}: {}",
            String::from_utf8_lossy(&out)
        );
        out.extend_from_slice(&buf[..n]);
    }
}

/// A body whose frames are pushed through a channel.
pub struct ChanBody {
    rx: mpsc::Receiver<Frame<Bytes>>,
}

pub fn chan_body(depth: usize) -> (mpsc::Sender<Frame<Bytes>>, ChanBody) {
    let (tx, rx) = mpsc::channel(depth);
    (tx, ChanBody { rx })
}

impl Body for ChanBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|f| f.map(Ok))
    }
}

/// Runs a test body with a deadline, so that a hang fails instead of
/// blocking the suite.
pub async fn within<F: Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test timed out")
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
pub fn send_chunks(tx: mpsc::Sender<Frame<Bytes>>, data: Vec<u8>) -> JoinHandle<()> {
    tokio::spawn(async move {
        for chunk in data.chunks(16 * 1024 + 7) {
            tx.send(Frame::data(Bytes::copy_from_slice(chunk)))
                .await
                .unwrap();
        }
    })
}

/// Collects the request, then answers with its trailer `x-checksum` (or
/// `none`) both as the body and as the response trailer `x-echoed`.
pub async fn echo_checksum_trailer(
    req: Request<Incoming>,
) -> Result<Response<ChanBody>, Infallible> {
    let collected = req.into_body().collect().await.unwrap();
    let got = collected
        .trailers()
        .and_then(|t| t.get("x-checksum"))
        .cloned();
    let value = got.unwrap_or(HeaderValue::from_static("none"));
    let (tx, body) = chan_body(4);
    let mut trailers = HeaderMap::new();
    trailers.insert("x-echoed", value.clone());
    tx.send(Frame::data(Bytes::copy_from_slice(value.as_bytes())))
        .await
        .unwrap();
    tx.send(Frame::trailers(trailers)).await.unwrap();
    Ok(Response::new(body))
}

/// The body `payload` with the trailer `x-checksum: abc123`.
pub async fn payload_with_checksum_trailer() -> ChanBody {
    let (tx, body) = chan_body(4);
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", HeaderValue::from_static("abc123"));
    tx.send(Frame::data(Bytes::from_static(b"payload")))
        .await
        .unwrap();
    tx.send(Frame::trailers(trailers)).await.unwrap();
    body
}
