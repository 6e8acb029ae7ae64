//! Answers every request with `200 Hello, World!` (`GET /big`: 1 MiB from a
//! static buffer, no per-request allocation).
//!
//! `cargo run --release --example hello -- [ADDR] [--threads N] [--h1-only | --h2-only]`
//! (default `127.0.0.1:8080`; HTTP/1.1 and HTTP/2 prior knowledge on the
//! same port). Runs on an `async_executor::Executor` driven by N threads
//! (default 1: the main thread only).

use std::convert::Infallible;
use std::sync::Arc;

use adapter_smol::{Incoming, Protocol, Server, service_fn};
use async_executor::Executor;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::Full;

static BIG: [u8; 1 << 20] = [b'x'; 1 << 20];

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = if req.uri().path() == "/big" {
        Bytes::from_static(&BIG)
    } else {
        Bytes::from_static(b"Hello, World!")
    };
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut threads = 1usize;
    let mut protocol = Protocol::Auto;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().ok_or("--threads needs a number")?.parse()?,
            "--h1-only" => protocol = Protocol::Http1,
            "--h2-only" => protocol = Protocol::Http2,
            _ => addr = arg,
        }
    }
    let executor = Arc::new(Executor::new());
    // Extra threads run the same executor until the process exits.
    for _ in 1..threads {
        let ex = executor.clone();
        std::thread::spawn(move || smol::block_on(ex.run(smol::future::pending::<()>())));
    }
    let serve = async {
        let server = Server::builder()
            .protocol(protocol)
            .executor(executor.clone())
            .bind(addr.as_str())
            .await?;
        println!("listening on http://{}", server.local_addr()?);
        server.serve(service_fn(hello)).await
    };
    smol::block_on(executor.run(serve))?;
    Ok(())
}
