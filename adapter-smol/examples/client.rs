//! Fetches a URL and prints the status, the headers and the body.
//!
//! `cargo run --example client -- [--h2] http://127.0.0.1:8080/`

use std::io::Write;

use adapter_smol::Client;
use http_body_util::BodyExt;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut url = None;
    let mut h2 = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--h2" => h2 = true,
            _ => url = Some(arg),
        }
    }
    let url = url.ok_or("usage: client [--h2] URL")?;
    smol::block_on(async {
        let client = if h2 {
            Client::builder().http2_prior_knowledge().build()
        } else {
            Client::new()
        };
        let resp = client.get(url.parse()?).await?;
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
