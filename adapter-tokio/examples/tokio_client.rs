//! Fetches a URL and prints the status, the headers and the body.
//!
//! `cargo run --example tokio_client -- http://127.0.0.1:8080/`
//!
//! HTTPS (feature `rustls`), trusting only the certificate in `PEM` (e.g.
//! written by `tokio_hello --tls --tls-cert-out PEM`); ALPN offers `h2` and
//! `http/1.1`, the server chooses:
//! `cargo run --features rustls --example tokio_client -- --cacert PEM https://localhost:8080/`

use std::io::Write;

use adapter_tokio::{Client, ClientBuilder, Protocol};
use http_body_util::BodyExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let usage = "usage: client [--cacert PEM] URL";
    let mut url = None;
    let mut cacert = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cacert" => cacert = Some(args.next().ok_or(usage)?),
            _ => url = Some(arg),
        }
    }
    let uri: http::Uri = url.ok_or(usage)?.parse()?;
    // `Auto`: HTTP/1.1 over TCP; over TLS, ALPN offers both protocols.
    let mut builder = Client::builder().protocol(Protocol::Auto);
    if let Some(path) = cacert {
        builder = trusting(builder, &path)?;
    } else if uri.scheme_str() == Some("https") {
        return Err("https needs --cacert PEM (this example trusts nothing else)".into());
    }
    let client = builder.build();
    let resp = client.get(uri).await?;
    println!("{:?} {}", resp.version(), resp.status());
    for (name, value) in resp.headers() {
        println!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    println!();
    let mut body = resp.into_body();
    let mut out = std::io::stdout().lock();
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Some(data) = frame.data_ref() {
            out.write_all(data)?;
        } else if let Some(trailers) = frame.trailers_ref() {
            for (name, value) in trailers {
                writeln!(
                    out,
                    "\n(trailer) {name}: {}",
                    String::from_utf8_lossy(value.as_bytes())
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// TLS trusting only the certificates in the PEM file at `path`.
#[cfg(feature = "rustls")]
fn trusting(builder: ClientBuilder, path: &str) -> Result<ClientBuilder, BoxError> {
    use adapter_tokio::rustls::pki_types::{CertificateDer, pem::PemObject};
    use adapter_tokio::rustls::{self, ClientConfig, RootCertStore};

    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path)? {
        roots.add(cert?)?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(builder.tls(config))
}

#[cfg(not(feature = "rustls"))]
fn trusting(_: ClientBuilder, _: &str) -> Result<ClientBuilder, BoxError> {
    Err("--cacert needs the `rustls` feature (cargo run --features rustls ...)".into())
}
