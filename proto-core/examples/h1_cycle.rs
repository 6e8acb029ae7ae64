//! A fixed number of HTTP/1.1 server exchanges through the core alone (parse,
//! respond with 13 bytes, write out), for instruction counts that do not
//! depend on the machine's load:
//!
//! ```sh
//! cargo build --release -p proto-core --example h1_cycle
//! valgrind --tool=callgrind target/release/examples/h1_cycle 1000
//! valgrind --tool=callgrind target/release/examples/h1_cycle 2000
//! ```
//!
//! (difference of the two totals) / 1000 = instructions per request. Add
//! `--pipelined` to feed 16 requests per `recv`.

use bytes::Bytes;
use proto_core::{Config, Connection, Event, Instant, ResponseHead, Side};

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\n\
Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,*/*;q=0.8\r\nConnection: keep-alive\r\n\r\n";

/// Feeds `input`, answers every request, writes everything out.
fn serve(conn: &mut Connection, input: &[u8]) -> usize {
    let mut off = 0;
    let mut out = 0;
    while off < input.len() {
        off += conn.recv(Instant::ZERO, input.get(off..).unwrap_or_default());
        while let Some(ev) = conn.poll_event() {
            if let Event::Request { id, .. } = ev {
                let mut head = ResponseHead::new(200);
                head.fields.push_static("content-type", "text/plain");
                head.fields.push_static("content-length", "13");
                if conn.send_response(id, head, false).is_ok() {
                    if let Some(mut s) = conn.stream(id) {
                        let _ = s.write(&mut Bytes::from_static(b"Hello, World!"));
                        let _ = s.finish(None);
                    }
                }
            }
        }
        let n: usize = conn.poll_transmit().iter().map(Bytes::len).sum();
        conn.transmit_complete(n);
        out += n;
    }
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let pipelined = args.next().is_some_and(|a| a == "--pipelined");
    let mut cfg = Config::default();
    cfg.header_read_timeout = None;
    cfg.idle_timeout = None;
    let mut conn = Connection::new(Side::Server, cfg, Instant::ZERO);
    let input = if pipelined {
        REQUEST.repeat(16)
    } else {
        REQUEST.to_vec()
    };
    let total: usize = (0..n).map(|_| serve(&mut conn, &input)).sum();
    println!("{n} rounds, {total} bytes out");
}
