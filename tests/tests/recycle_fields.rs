//! `Connection::recycle_fields`: a received head's field storage handed back
//! is where the next received head is built (the core's zero-allocation
//! steady state; counted in `alloc-counter/tests/alloc_per_request.rs`), for
//! requests and responses, HTTP/1.1 and HTTP/2; oversized storage is not kept.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proto_core::{Config, Connection, Event, Fields, Instant, Protocol, Side};
use tests::{drain_transmit, get, response};

const T0: Instant = Instant::from_nanos(1_000_000_000);

struct Pair {
    client: Connection,
    server: Connection,
}

impl Pair {
    fn new(protocol: Protocol) -> Self {
        let mut p = Self {
            client: Connection::with_protocol(Side::Client, protocol, Config::default(), T0),
            server: Connection::with_protocol(Side::Server, protocol, Config::default(), T0),
        };
        p.pump();
        p
    }

    fn pump(&mut self) {
        for _ in 0..10 {
            let up = drain_transmit(&mut self.client);
            let down = drain_transmit(&mut self.server);
            if up.is_empty() && down.is_empty() {
                return;
            }
            assert_eq!(self.server.recv(T0, &up), up.len());
            assert_eq!(self.client.recv(T0, &down), down.len());
        }
    }

    /// One exchange; returns the request head's and the response head's
    /// field capacities, after checking the fields arrived intact.
    fn exchange(
        &mut self,
        recycle_server: Option<Fields>,
        recycle_client: Option<Fields>,
    ) -> (usize, usize) {
        if let Some(f) = recycle_server {
            self.server.recycle_fields(f);
        }
        if let Some(f) = recycle_client {
            self.client.recycle_fields(f);
        }
        let mut req = get("/");
        req.fields.push_static("x-a", "1");
        self.client.send_request(req, true).unwrap();
        self.pump();
        let (id, req_cap) = loop {
            match self.server.poll_event().expect("a request") {
                Event::Request { id, head, .. } => {
                    assert_eq!(head.fields.get("x-a").map(|v| &v[..]), Some(&b"1"[..]));
                    break (id, head.fields.capacity());
                }
                _ => continue,
            }
        };
        let mut res = response(200, &[("content-length", "0"), ("x-b", "2")]);
        res.fields.push_static("x-c", "3");
        self.server.send_response(id, res, true).unwrap();
        self.pump();
        let res_cap = loop {
            match self.client.poll_event().expect("a response") {
                Event::Response { head, .. } => {
                    assert_eq!(head.fields.get("x-c").map(|v| &v[..]), Some(&b"3"[..]));
                    break head.fields.capacity();
                }
                _ => continue,
            }
        };
        while self.client.poll_event().is_some() {}
        while self.server.poll_event().is_some() {}
        (req_cap, res_cap)
    }
}

fn check(protocol: Protocol) {
    let mut p = Pair::new(protocol);
    let (req, res) = p.exchange(None, None);
    assert!(req < 100 && res < 100, "{req} {res}");
    // Handed back: the next heads are built in that storage.
    let (req, res) = p.exchange(
        Some(Fields::with_capacity(100)),
        Some(Fields::with_capacity(101)),
    );
    assert_eq!((req, res), (100, 101), "{protocol:?}");
    // Over 128 fields' worth: dropped, not kept.
    let (req, res) = p.exchange(
        Some(Fields::with_capacity(200)),
        Some(Fields::with_capacity(200)),
    );
    assert!(req < 100 && res < 100, "{protocol:?}: {req} {res}");
    // Storage that still holds fields is emptied before reuse.
    let stale = Fields::with_capacity(64).with("x-stale", "1");
    let (req, _) = p.exchange(Some(stale), None);
    assert_eq!(req, 64);
}

#[test]
fn recycled_storage_holds_the_next_head_http1() {
    check(Protocol::Http1);
}

#[test]
fn recycled_storage_holds_the_next_head_http2() {
    check(Protocol::Http2);
}
