//! Answers every request with `200 Hello, World!` (`GET /big`: 1 MiB from a
//! static buffer, no per-request allocation; a `POST` body is read to its end
//! first).
//!
//! `cargo run --release --example smol_hello -- [ADDR] [--threads N] [--h1-only | --h2-only]
//! [--tls [--tls-cert-out PATH]]`
//! (default `127.0.0.1:8080`; HTTP/1.1 and HTTP/2 prior knowledge on the
//! same port). Runs on an `async_executor::Executor` driven by N threads
//! (default 1: the main thread only).
//!
//! `--tls` (needs `--features rustls`) serves HTTPS with a self-signed
//! certificate for `localhost` and `127.0.0.1` generated at start; ALPN
//! offers `h2` and `http/1.1` (only one of them with `--h1-only`/`--h2-only`).
//! `--tls-cert-out PATH` writes that certificate (PEM) for clients to trust:
//! `curl --cacert PATH https://localhost:8080/`, or the `smol_client` example
//! with `--cacert PATH`.

use std::convert::Infallible;
use std::sync::Arc;

use adapter_smol::{Builder, Incoming, Protocol, Server, service_fn};
use async_executor::Executor;
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

type BoxError = Box<dyn std::error::Error>;

/// `builder` serving TLS with a certificate generated now (written as PEM
/// to `cert_out` if given). The config's ALPN list is left empty: the
/// builder fills it in from its protocol.
#[cfg(feature = "rustls")]
fn with_tls(builder: Builder, cert_out: Option<&str>) -> Result<Builder, BoxError> {
    use adapter_smol::rustls::{self, pki_types};

    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let generated = rcgen::generate_simple_self_signed(names)?;
    if let Some(path) = cert_out {
        std::fs::write(path, generated.cert.pem())?;
        println!("certificate written to {path}");
    }
    let key = pki_types::PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![generated.cert.der().clone()], key.into())?;
    Ok(builder.tls(config))
}

#[cfg(not(feature = "rustls"))]
fn with_tls(_: Builder, _: Option<&str>) -> Result<Builder, BoxError> {
    Err(
        "--tls needs the `rustls` feature: cargo run --features rustls --example smol_hello -- --tls"
            .into(),
    )
}

fn main() -> Result<(), BoxError> {
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
    if cert_out.is_some() && !tls {
        return Err("--tls-cert-out goes with --tls".into());
    }
    let executor = Arc::new(Executor::new());
    let mut builder = Server::builder()
        .protocol(protocol)
        .executor(executor.clone());
    let scheme = if tls {
        builder = with_tls(builder, cert_out.as_deref())?;
        "https"
    } else {
        "http"
    };
    // Extra threads run the same executor until the process exits.
    for _ in 1..threads {
        let ex = executor.clone();
        std::thread::spawn(move || smol::block_on(ex.run(smol::future::pending::<()>())));
    }
    let serve = async {
        let server = builder.bind(addr.as_str()).await?;
        println!("listening on {scheme}://{}", server.local_addr()?);
        server.serve(service_fn(hello)).await
    };
    smol::block_on(executor.run(serve))?;
    Ok(())
}
