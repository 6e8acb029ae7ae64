//! Answers every request with `200 Hello, World!` (`GET /big`: 1 MiB from a
//! static buffer, no per-request allocation; a `POST` body is read to its end
//! first).
//!
//! `cargo run --release --example tokio_hello -- [ADDR] [--threads N] [--h1-only | --h2-only]
//! [--tls [--tls-cert-out PATH]]`
//! (default `127.0.0.1:8080`, one thread: a current-thread runtime; HTTP/1.1
//! and HTTP/2 prior knowledge on the same port).
//!
//! `--tls` (feature `rustls`): HTTPS with a self-signed certificate for
//! `localhost`, `127.0.0.1` and `::1` generated at start; ALPN chooses
//! HTTP/2 or HTTP/1.1 (`--h1-only`/`--h2-only` restrict what it accepts).
//! `--tls-cert-out PATH` writes the certificate (PEM) for clients to trust:
//! `curl --cacert PATH https://localhost:8080/`, or the `tokio_client` example's
//! `--cacert PATH`.

use std::convert::Infallible;
use std::time::Duration;

use adapter_tokio::{Builder, Incoming, Protocol, Server, service_fn};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header};
use http_body_util::{BodyExt, Full};

static BIG: [u8; 1 << 20] = [b'x'; 1 << 20];

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == Method::POST {
        // Uploads (bench/run.sh): read the body to its end, keep nothing.
        let mut body = req.into_body();
        while let Some(Ok(_)) = body.frame().await {}
        return Ok(text(Bytes::from_static(b"Hello, World!")));
    }
    let body = if req.uri().path() == "/big" {
        Bytes::from_static(&BIG)
    } else {
        Bytes::from_static(b"Hello, World!")
    };
    Ok(text(body))
}

fn text(body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut threads = 1usize;
    let mut protocol = Protocol::Auto;
    let mut tls = false;
    let mut cert_out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().ok_or("--threads needs a number")?.parse()?,
            "--h1-only" => protocol = Protocol::Http1,
            "--h2-only" => protocol = Protocol::Http2,
            "--tls" => tls = true,
            "--tls-cert-out" => {
                cert_out = Some(args.next().ok_or("--tls-cert-out needs a path")?);
            }
            _ => addr = arg,
        }
    }
    let mut builder = Server::builder().protocol(protocol);
    if tls {
        builder = with_tls(builder, cert_out.as_deref())?;
    }
    let scheme = if tls { "https" } else { "http" };
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(async {
        let server = builder.bind(addr.as_str()).await?;
        let addr = server.local_addr()?;
        println!("listening on {scheme}://{addr}");
        let shutdown = server.shutdown_handle();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                shutdown.shutdown(Duration::from_secs(5));
            }
        });
        server.serve(service_fn(hello)).await?;
        Ok(())
    })
}

/// Serves TLS with a certificate generated now (written to `cert_out` as
/// PEM if given).
#[cfg(feature = "rustls")]
fn with_tls(
    builder: Builder,
    cert_out: Option<&str>,
) -> Result<Builder, Box<dyn std::error::Error>> {
    use adapter_tokio::rustls::{self, ServerConfig, pki_types::PrivateKeyDer};

    let names = ["localhost", "127.0.0.1", "::1"].map(String::from);
    let certified = rcgen::generate_simple_self_signed(names.to_vec())?;
    if let Some(path) = cert_out {
        std::fs::write(path, certified.cert.pem())?;
    }
    let key = PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)?;
    Ok(builder.tls(config))
}

#[cfg(not(feature = "rustls"))]
fn with_tls(_: Builder, _: Option<&str>) -> Result<Builder, Box<dyn std::error::Error>> {
    Err("--tls needs the `rustls` feature (cargo run --features rustls ...)".into())
}
