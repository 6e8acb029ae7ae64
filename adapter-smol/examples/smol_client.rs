//! Fetches a URL and prints the status, the headers and the body.
//!
//! `cargo run --example smol_client -- [--h2] http://127.0.0.1:8080/`
//!
//! HTTPS (needs `--features rustls`):
//! `cargo run --features rustls --example smol_client -- --cacert cert.pem https://localhost:8080/`
//! trusts the PEM certificate(s) in `cert.pem` (e.g. written by
//! `smol_hello --tls --tls-cert-out cert.pem`) and offers `h2` and `http/1.1`
//! by ALPN (`--h2`: only `h2`).

use std::io::Write;

use adapter_smol::{Client, ClientBuilder, Protocol};
use http_body_util::BodyExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `builder` trusting the certificates in the PEM file `cacert`.
#[cfg(feature = "rustls")]
fn with_tls(builder: ClientBuilder, cacert: &str) -> Result<ClientBuilder, BoxError> {
    use adapter_smol::rustls::{self, pki_types::CertificateDer, pki_types::pem::PemObject};

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cacert)? {
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
fn with_tls(_: ClientBuilder, _: &str) -> Result<ClientBuilder, BoxError> {
    Err(
        "https needs the `rustls` feature: cargo run --features rustls --example smol_client"
            .into(),
    )
}

fn main() -> Result<(), BoxError> {
    let mut url = None;
    let mut h2 = false;
    let mut cacert = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--h2" => h2 = true,
            "--cacert" => cacert = Some(args.next().ok_or("--cacert needs a PEM file")?),
            _ => url = Some(arg),
        }
    }
    let url: http::Uri = url
        .ok_or("usage: client [--h2] [--cacert PEM] URL")?
        .parse()?;
    smol::block_on(async {
        let mut builder = Client::builder();
        if url.scheme_str() == Some("https") {
            let cacert = cacert.ok_or("https URLs need --cacert PEM (the certificate to trust)")?;
            // Over TLS, ALPN decides: offer both unless --h2.
            builder = with_tls(builder, &cacert)?.protocol(if h2 {
                Protocol::Http2
            } else {
                Protocol::Auto
            });
        } else if h2 {
            builder = builder.http2_prior_knowledge();
        }
        let client = builder.build();
        let resp = client.get(url).await?;
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
    })
}
