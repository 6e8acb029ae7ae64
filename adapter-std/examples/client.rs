//! Fetches a URL and prints the status, the headers and the body.
//!
//! `cargo run -p adapter-std --example client -- [--h2] http://127.0.0.1:8080/`

use std::io::Write;

use adapter_std::Client;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut url = None;
    let mut builder = Client::builder();
    for arg in std::env::args().skip(1) {
        if arg == "--h2" {
            builder = builder.http2_prior_knowledge();
        } else {
            url = Some(arg);
        }
    }
    let url = url.ok_or("usage: client [--h2] URL")?;
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
