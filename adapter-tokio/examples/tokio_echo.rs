//! Echoes every request body back as it arrives (streaming: nothing is
//! collected), with the request's `content-type`.
//!
//! `cargo run --example tokio_echo -- [ADDR]` then
//! `curl --data-binary @file http://127.0.0.1:8080/`

use std::convert::Infallible;

use adapter_tokio::{Incoming, Server, service_fn};
use http::{Request, Response, header};

async fn echo(req: Request<Incoming>) -> Result<Response<Incoming>, Infallible> {
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let mut resp = Response::new(req.into_body());
    if let Some(ct) = content_type {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(resp)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let server = Server::bind(addr.as_str()).await?;
    println!("listening on http://{}", server.local_addr()?);
    server.serve(service_fn(echo)).await
}
