//! Shared helpers for the end-to-end tests: a server on 127.0.0.1:0, raw TCP
//! exchanges, and a body fed from a channel.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use adapter_tokio::{Builder, HttpService, ShutdownHandle, Stats};
use bytes::Bytes;
use http_body::{Body, Frame};
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
