//! Shared by the `interop_*` test binaries: the test service and starting
//! our server on 127.0.0.1:0.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::net::SocketAddr;

use adapter_tokio::{Server, Stats, service_fn};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Body;

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
