//! Answers every request with `200 Hello, World!` (`GET /big`: 1 MiB from a
//! static buffer, no per-request allocation).
//!
//! `cargo run --release -p adapter-std --example hello -- [ADDR] [--h1-only | --h2-only]`
//! (default `127.0.0.1:8080`; HTTP/1.1 and HTTP/2 prior knowledge on the
//! same port).

use adapter_std::{Body, Protocol, SendBody, Server};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};

static BIG: [u8; 1 << 20] = [b'x'; 1 << 20];

fn hello(req: Request<Body>) -> Response<SendBody> {
    let body = if req.uri().path() == "/big" {
        Bytes::from_static(&BIG)
    } else {
        Bytes::from_static(b"Hello, World!")
    };
    let mut resp = Response::new(SendBody::from(body));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut protocol = Protocol::Auto;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--h1-only" => protocol = Protocol::Http1,
            "--h2-only" => protocol = Protocol::Http2,
            _ => addr = arg,
        }
    }
    let server = Server::builder().protocol(protocol).bind(addr.as_str())?;
    println!("listening on http://{}", server.local_addr()?);
    server.serve(hello)?;
    Ok(())
}
