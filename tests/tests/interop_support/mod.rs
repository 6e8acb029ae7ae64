//! Shared by the `interop_*` test binaries: the test service, starting our
//! server (and hyper's) on 127.0.0.1:0, streamed request bodies, and running
//! command-line peers.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use adapter_tokio::{Server, Stats, service_fn};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, header};
use http_body_util::{BodyExt, Either, Empty, Full};
use hyper::body::{Body, Frame};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub const HELLO: &str = "Hello, World!";
pub const BIG_LEN: usize = 1 << 20;
static BIG: [u8; BIG_LEN] = [b'x'; BIG_LEN];

/// The test service, for our server and for hyper's alike:
/// - `POST|PUT /echo`: the whole request body, collected, then sent back
///   with `content-length`;
/// - `POST|PUT /stream`: the request body streamed back as it arrives (no
///   length: chunked), trailers included; the request's `trailer` header is
///   copied, as hyper sends only declared trailer fields;
/// - `GET /`: `Hello, World!`; `GET /big`: 1 MiB of `x`;
/// - anything else: its own path as the body, so ordering is visible.
pub async fn handle<B>(req: Request<B>) -> Result<Response<Either<Full<Bytes>, B>>, Infallible>
where
    B: Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = req.into_parts();
    let upload = parts.method == Method::POST || parts.method == Method::PUT;
    let body = match parts.uri.path() {
        "/stream" if upload => {
            let mut resp = Response::new(Either::Right(body));
            if let Some(t) = parts.headers.get(header::TRAILER) {
                resp.headers_mut().insert(header::TRAILER, t.clone());
            }
            return Ok(resp);
        }
        "/echo" if upload => body.collect().await.expect("read request body").to_bytes(),
        "/" => Bytes::from_static(HELLO.as_bytes()),
        "/big" => Bytes::from_static(&BIG),
        path => Bytes::from(path.to_owned()),
    };
    let mut resp = Response::new(Either::Left(Full::new(body)));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

/// Starts our server with [`handle`] on 127.0.0.1:0 on the current tokio
/// runtime; returns its address and counters.
pub async fn start_ours() -> (SocketAddr, Stats) {
    let server = Server::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = server.local_addr().expect("local_addr");
    let stats = server.stats();
    tokio::spawn(async move {
        server.serve(service_fn(handle)).await.expect("serve");
    });
    (addr, stats)
}

/// Our server on 127.0.0.1:0 on its own runtime (a blocking peer such as a
/// command-line tool runs on the test's thread); dropped with the test.
pub struct TestServer {
    pub addr: SocketAddr,
    pub stats: Stats,
    _rt: tokio::runtime::Runtime,
}

impl TestServer {
    pub fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (addr, stats) = rt.block_on(start_ours());
        Self {
            addr,
            stats,
            _rt: rt,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// Which of hyper's servers [`start_hyper`] runs.
#[derive(Clone, Copy)]
pub enum HyperServer {
    Http1,
    Http2,
}

/// hyper's server (`version`) with the same service on 127.0.0.1:0; counts
/// the connections it accepts.
pub async fn start_hyper(version: HyperServer) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (io, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let io = TokioIo::new(io);
                let svc = hyper::service::service_fn(handle);
                let _ = match version {
                    HyperServer::Http1 => {
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, svc)
                            .await
                    }
                    HyperServer::Http2 => {
                        hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(io, svc)
                            .await
                    }
                };
            });
        }
    });
    (addr, accepted)
}

// ------------------------------------------------------------------ bodies

/// A request body sent frame by frame by a task (so it really streams; with
/// no total length an HTTP/1.1 body goes out chunked), optionally followed
/// by trailers. With a non-zero `gap` the task pauses after each frame.
pub struct Streamed {
    rx: mpsc::Receiver<Frame<Bytes>>,
}

impl Streamed {
    pub fn new(parts: Vec<Bytes>, trailers: Option<HeaderMap>, gap: Duration) -> Self {
        let (tx, rx) = mpsc::channel(1);
        let mut frames: VecDeque<Frame<Bytes>> = parts.into_iter().map(Frame::data).collect();
        frames.extend(trailers.map(Frame::trailers));
        tokio::spawn(async move {
            while let Some(f) = frames.pop_front() {
                if tx.send(f).await.is_err() {
                    return;
                }
                if !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
            }
        });
        Self { rx }
    }
}

impl Body for Streamed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|f| f.map(Ok))
    }
}

/// Two trailer fields, `x-checksum` and `x-count`.
pub fn trailers() -> HeaderMap {
    let mut t = HeaderMap::new();
    t.insert("x-checksum", HeaderValue::from_static("abc123"));
    t.insert("x-count", HeaderValue::from_static("4"));
    t
}

pub type BoxBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

pub fn full(data: impl Into<Bytes>) -> BoxBody {
    Full::new(data.into()).boxed()
}

pub fn empty() -> BoxBody {
    Empty::new().boxed()
}

// ------------------------------------------------------------------ tools

/// Fails the test, with an install hint, if `tool` cannot be run.
pub fn require(tool: &str, hint: &str) {
    match Command::new(tool).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("`{tool} --version` failed: {out:?}"),
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "{tool} is not on PATH: the interop tests need it; install it \
             (`{hint}`)"
        ),
        Err(e) => panic!("cannot run {tool}: {e}"),
    }
}

/// `program args...` run under `timeout SECS` (a guard: a hang fails
/// instead of blocking the suite).
pub fn guarded(secs: u32, program: &str) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.args(["--kill-after=5", &format!("{secs}"), program]);
    cmd
}

/// Runs `cmd`; fails the test, with its output, unless it succeeds.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run tool");
    assert!(
        out.status.success(),
        "{:?} failed ({}; 124 = timed out)\nstdout:\n{}\nstderr:\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A file under the system temp dir, removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    /// `prefix` keeps the files of different test binaries apart.
    pub fn new(prefix: &str, name: &str, contents: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{name}",
            std::process::id(),
            contents.len()
        ));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    /// `@PATH`, as curl's `--data-binary` wants it.
    pub fn at(&self) -> String {
        format!("@{}", self.0.display())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Deterministic pseudo-random bytes (xorshift), so corruption and
/// reordering are visible.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}
