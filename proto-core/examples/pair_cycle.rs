//! A fixed number of exchanges through an in-memory client/server pair of
//! core `Connection`s (both sides' work), for callgrind:
//!
//! ```sh
//! cargo build --release -p proto-core --example pair_cycle
//! valgrind --tool=callgrind target/release/examples/pair_cycle h2 1000 [depth]
//! valgrind --tool=callgrind target/release/examples/pair_cycle h2 2000 [depth]
//! ```
//!
//! (difference of the two totals) / 1000 = instructions per exchange, client
//! and server together. `h1` or `h2`; `depth` requests in flight (HTTP/2).

#[path = "../benches/pair/mod.rs"]
mod pair;

use proto_core::Protocol;

fn main() {
    let mut args = std::env::args().skip(1);
    let protocol = match args.next().as_deref() {
        Some("h1") => Protocol::Http1,
        _ => Protocol::Http2,
    };
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let depth: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let mut p = pair::Pair::new(protocol);
    p.run(n, depth, &mut ());
    println!("{} exchanges, {} body bytes", p.completed, p.body_bytes);
}
