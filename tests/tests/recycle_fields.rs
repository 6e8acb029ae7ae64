//! `Connection::recycle_fields`: a received head's field storage handed back
//! is where the next received head is built (the core's zero-allocation
//! steady state; counted in `alloc-counter/tests/alloc_per_request.rs`), for
//! requests and responses, HTTP/1.1 and HTTP/2; oversized storage is not kept.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proto_core::{Config, Event, Fields, Protocol};
use tests::{App, Delivery, Pair, get, reader, response};

/// Answers every request with an empty `200` carrying `x-b` and `x-c`.
fn answer() -> App {
    Box::new(|cx, ev| {
        if let Event::Request { id, .. } = ev {
            let mut res = response(200, &[("content-length", "0"), ("x-b", "2")]);
            res.fields.push_static("x-c", "3");
            cx.respond(*id, res, b"");
        }
    })
}

/// One exchange after handing the given storage back; returns the request
/// head's and the response head's field capacities, after checking the
/// fields arrived intact.
fn exchange(
    p: &mut Pair,
    recycle_server: Option<Fields>,
    recycle_client: Option<Fields>,
) -> (usize, usize) {
    if let Some(f) = recycle_server {
        p.server.conn.recycle_fields(f);
    }
    if let Some(f) = recycle_client {
        p.client.conn.recycle_fields(f);
    }
    let mut req = get("/");
    req.fields.push_static("x-a", "1");
    p.request(req, b"");
    p.drive();
    let requests = p.server.requests();
    let (_, req, _) = requests.last().expect("a request");
    assert_eq!(req.fields.get("x-a").map(|v| &v[..]), Some(&b"1"[..]));
    let responses = p.client.responses();
    let (_, res, _) = responses.last().expect("a response");
    assert_eq!(res.fields.get("x-c").map(|v| &v[..]), Some(&b"3"[..]));
    (req.fields.capacity(), res.fields.capacity())
}

fn check(protocol: Protocol) {
    let mut p = Pair::with_protocol(
        protocol,
        Config::default(),
        Config::default(),
        Delivery::WHOLE,
    );
    p.server.app = Some(answer());
    p.client.app = Some(reader());
    let (req, res) = exchange(&mut p, None, None);
    assert!(req < 100 && res < 100, "{req} {res}");
    // Handed back: the next heads are built in that storage.
    let (req, res) = exchange(
        &mut p,
        Some(Fields::with_capacity(100)),
        Some(Fields::with_capacity(101)),
    );
    assert_eq!((req, res), (100, 101), "{protocol:?}");
    // Over 128 fields' worth: dropped, not kept.
    let (req, res) = exchange(
        &mut p,
        Some(Fields::with_capacity(200)),
        Some(Fields::with_capacity(200)),
    );
    assert!(req < 100 && res < 100, "{protocol:?}: {req} {res}");
    // Storage that still holds fields is emptied before reuse.
    let stale = Fields::with_capacity(64).with("x-stale", "1");
    let (req, _) = exchange(&mut p, Some(stale), None);
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
