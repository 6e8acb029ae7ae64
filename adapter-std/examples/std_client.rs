//! Fetches a URL and prints the status, the headers and the body.
//!
//! `cargo run -p adapter-std --example std_client -- [--h2] http://127.0.0.1:8080/`
//!
//! With `--features rustls`, `https://` URLs work too: `--cacert PEM`
//! trusts that certificate (e.g. the one the `std_hello` example writes with
//! `--tls-cert-out`); ALPN offers `h2` and `http/1.1` (`--h2`: `h2` only).

use std::io::Write;

use adapter_std::{Client, Protocol};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut url = None;
    let mut h2 = false;
    let mut cacert = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--h2" => h2 = true,
            "--cacert" => cacert = Some(args.next().ok_or("--cacert needs a path")?),
            _ => url = Some(arg),
        }
    }
    let url = url.ok_or("usage: client [--h2] [--cacert PEM] URL")?;
    let mut builder = Client::builder();
    if h2 {
        builder = builder.http2_prior_knowledge();
    } else if url.starts_with("https:") {
        builder = builder.protocol(Protocol::Auto);
    }
    if let Some(path) = cacert {
        builder = with_ca(builder, &path)?;
    }
    let client = builder.build();
    let resp = client.get(url.as_str())?;
    println!("{:?} {}", resp.version(), resp.status());
    for (name, value) in resp.headers() {
        println!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    println!();
    let mut body = resp.into_body();
    let mut out = std::io::stdout().lock();
    std::io::copy(&mut body, &mut out)?;
    if let Some(trailers) = body.trailers() {
        for (name, value) in trailers {
            writeln!(
                out,
                "\n(trailer) {name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Trusts the certificates in the PEM file at `path`.
#[cfg(feature = "rustls")]
fn with_ca(
    builder: adapter_std::ClientBuilder,
    path: &str,
) -> Result<adapter_std::ClientBuilder, Box<dyn std::error::Error + Send + Sync>> {
    use adapter_std::rustls;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path)? {
        roots.add(cert?)?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(builder.tls(config))
}

#[cfg(not(feature = "rustls"))]
fn with_ca(
    _builder: adapter_std::ClientBuilder,
    _path: &str,
) -> Result<adapter_std::ClientBuilder, Box<dyn std::error::Error + Send + Sync>> {
    Err("--cacert needs the `rustls` feature".into())
}
