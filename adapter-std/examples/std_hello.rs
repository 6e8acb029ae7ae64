//! Answers every request with `200 Hello, World!` (`GET /big`: 1 MiB from a
//! static buffer, no per-request allocation; a `POST` body is read to its end
//! first).
//!
//! `cargo run --release -p adapter-std --example std_hello -- [ADDR] [--h1-only | --h2-only] [--workers N]`
//! (default `127.0.0.1:8080`; HTTP/1.1 and HTTP/2 prior knowledge on the
//! same port; `--workers`: most handler threads, default 64).
//!
//! With `--features rustls`, `--tls` serves HTTPS with a self-signed
//! certificate for `localhost` and `127.0.0.1` generated at start (ALPN
//! picks `h2` or `http/1.1`; `--h1-only`/`--h2-only` restrict the list);
//! `--tls-cert-out PATH` writes that certificate as PEM, e.g. for
//! `curl --cacert PATH https://localhost:8080/` or the `std_client` example's
//! `--cacert`.

use adapter_std::{Body, Protocol, SendBody, Server};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header};

static BIG: [u8; 1 << 20] = [b'x'; 1 << 20];

fn hello(req: Request<Body>) -> Response<SendBody> {
    if req.method() == Method::POST {
        // Uploads (bench/run.sh): read the body to its end, keep nothing
        // (its pieces as they came, no copy: as the other adapters' hello).
        let mut body = req.into_body();
        while let Ok(Some(_)) = body.chunk() {}
        return text(Bytes::from_static(b"Hello, World!"));
    }
    let body = if req.uri().path() == "/big" {
        Bytes::from_static(&BIG)
    } else {
        Bytes::from_static(b"Hello, World!")
    };
    text(body)
}

fn text(body: Bytes) -> Response<SendBody> {
    let mut resp = Response::new(SendBody::from(body));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut protocol = Protocol::Auto;
    let mut tls = false;
    let mut cert_out = None;
    let mut workers = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--h1-only" => protocol = Protocol::Http1,
            "--h2-only" => protocol = Protocol::Http2,
            "--tls" => tls = true,
            "--workers" => workers = Some(args.next().ok_or("--workers needs a number")?.parse()?),
            "--tls-cert-out" => {
                tls = true;
                cert_out = Some(args.next().ok_or("--tls-cert-out needs a path")?);
            }
            _ => addr = arg,
        }
    }
    let mut builder = Server::builder().protocol(protocol);
    if let Some(n) = workers {
        builder = builder.workers(n);
    }
    let (builder, scheme) = if tls {
        (with_tls(builder, cert_out.as_deref())?, "https")
    } else {
        (builder, "http")
    };
    let server = builder.bind(addr.as_str())?;
    println!("listening on {scheme}://{}", server.local_addr()?);
    server.serve(hello)?;
    Ok(())
}

/// A self-signed certificate for `localhost` and `127.0.0.1`.
#[cfg(feature = "rustls")]
fn with_tls(
    builder: adapter_std::Builder,
    cert_out: Option<&str>,
) -> Result<adapter_std::Builder, Box<dyn std::error::Error>> {
    use adapter_std::rustls;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names)?;
    if let Some(path) = cert_out {
        std::fs::write(path, certified.cert.pem())?;
        println!("certificate written to {path}");
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)?;
    // No ALPN list: the server fills it in from its protocol.
    Ok(builder.tls(config))
}

#[cfg(not(feature = "rustls"))]
fn with_tls(
    _builder: adapter_std::Builder,
    _cert_out: Option<&str>,
) -> Result<adapter_std::Builder, Box<dyn std::error::Error>> {
    Err("--tls needs the `rustls` feature: cargo run -p adapter-std --features rustls --example std_hello -- --tls".into())
}
