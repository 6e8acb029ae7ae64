//! Echoes every request body back as it arrives (streaming: nothing is
//! collected), with the request's `content-type`.
//!
//! `cargo run -p adapter-std --example std_echo -- [ADDR]` then
//! `curl --data-binary @file http://127.0.0.1:8080/`

use adapter_std::{Body, SendBody, Server};
use http::{Request, Response, header};

fn echo(req: Request<Body>) -> Response<SendBody> {
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let mut body = req.into_body();
    let mut resp = Response::new(SendBody::writer(move |w| {
        std::io::copy(&mut body, w).map(drop)
    }));
    if let Some(ct) = content_type {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    resp
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let server = Server::bind(addr.as_str())?;
    println!("listening on http://{}", server.local_addr()?);
    server.serve(echo)
}
