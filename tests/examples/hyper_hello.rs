//! Comparison server for the benchmarks in `bench/`: hyper 1.x, HTTP/1 (or,
//! with `--h2`, HTTP/2 prior knowledge only), with the same handler as
//! `adapter-tokio/examples/tokio_hello.rs`.
//!
//! - every request: `200 OK`, `content-type: text/plain`, body `Hello, World!`
//! - `GET /big`: 1 MiB from a static buffer (no per-request allocation)
//! - `POST`: the body is read to its end (and dropped) first
//!
//! Usage: `hyper_hello [ADDR] [--pipeline-flush] [--threads N] [--h2]`
//! (default `127.0.0.1:8081`, current-thread runtime). `--h2` serves every
//! connection with hyper's `http2::Builder` (streams spawned on the same
//! runtime with `TokioExecutor`); `--pipeline-flush` is HTTP/1 only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

const HELLO: &[u8] = b"Hello, World!";
const BIG_LEN: usize = 1 << 20;
static BIG: [u8; BIG_LEN] = [b'x'; BIG_LEN];

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == Method::POST {
        // Uploads: read the body to its end, keep nothing.
        let mut body = req.into_body();
        while let Some(Ok(_)) = body.frame().await {}
        return Ok(text(Bytes::from_static(HELLO)));
    }
    let body = if req.method() == Method::GET && req.uri().path() == "/big" {
        Bytes::from_static(&BIG)
    } else {
        Bytes::from_static(HELLO)
    };
    Ok(text(body))
}

fn text(body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

struct Args {
    addr: SocketAddr,
    pipeline_flush: bool,
    threads: usize,
    h2: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        addr: "127.0.0.1:8081".parse().unwrap(),
        pipeline_flush: false,
        threads: 1,
        h2: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pipeline-flush" => args.pipeline_flush = true,
            "--h2" => args.h2 = true,
            "--threads" => {
                args.threads = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--threads needs a number");
            }
            "-h" | "--help" => {
                eprintln!("usage: hyper_hello [ADDR] [--pipeline-flush] [--threads N] [--h2]");
                std::process::exit(0);
            }
            other => args.addr = other.parse().expect("invalid listen address"),
        }
    }
    args
}

fn main() {
    let args = parse_args();
    let rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    }
    .expect("build tokio runtime");
    rt.block_on(serve(args));
}

async fn serve(args: Args) {
    let listener = TcpListener::bind(args.addr).await.expect("bind");
    println!(
        "listening on http://{}",
        listener.local_addr().expect("local_addr")
    );
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept error: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let pipeline_flush = args.pipeline_flush;
        if args.h2 {
            tokio::spawn(async move {
                if let Err(e) = http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service_fn(handle))
                    .await
                {
                    eprintln!("connection error: {e}");
                }
            });
            continue;
        }
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            builder.pipeline_flush(pipeline_flush);
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await
            {
                // Benchmarks close connections abruptly; that is not news.
                if !e.is_incomplete_message() {
                    eprintln!("connection error: {e}");
                }
            }
        });
    }
}
