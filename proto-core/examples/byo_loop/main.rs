//! Bring your own loop: many connections on one thread with nothing but
//! `proto-core` and a readiness loop (mio), timers included. Answers every
//! request with `Hello, World!` (`GET /big`: 1 MiB from a static buffer),
//! HTTP/1.1 and HTTP/2 prior knowledge on the same port.
//!
//! `cargo run -p proto-core --example byo_loop -- [ADDR]` (default `127.0.0.1:8080`)
//!
//! The loop is in `serve.rs`; per connection it follows the order documented
//! on `proto_core::Connection`: time and input, events, output, timer.

mod serve;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    // `_stop.wake()` from another thread would shut down gracefully; this demo
    // runs until the process is killed.
    let (mut server, _stop) = serve::Server::bind(addr.parse()?, proto_core::Config::default())?;
    println!("listening on http://{}", server.local_addr()?);
    server.run()?;
    Ok(())
}
