//! Allocations per request in the core's steady state, per side, through an
//! in-memory client/server pair (`proto-core/benches/pair`): warm up, then
//! count the allocations made during each side's calls over many exchanges.
//!
//! `cargo test --release -p alloc-counter --test alloc_per_request` prints the
//! figures and fails if one exceeds its bound in [`CASES`] (the figure when
//! last measured: lower a bound when an optimization lowers the figure).
//! The applications hand each received head's field storage back
//! (`Connection::recycle_fields`), as a core user after zero allocations
//! would. A plain program (`harness = false`): one thread, so only the measured code
//! allocates while it runs.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../proto-core/benches/pair/mod.rs"]
mod pair;

use alloc_counter::{Counter, Snapshot};
use pair::{Meter, Pair};
use proto_core::{Protocol, Side};

#[global_allocator]
static ALLOC: Counter = Counter::new();

const WARM_UP: usize = 500;
const MEASURED: usize = 2000;

/// Adds up allocations made while each side works.
#[derive(Default)]
struct Allocs {
    at_start: Snapshot,
    client: u64,
    server: u64,
}

impl Meter for Allocs {
    fn start(&mut self, _: Side) {
        self.at_start = ALLOC.snapshot();
    }
    fn stop(&mut self, side: Side) {
        let n = (ALLOC.snapshot() - self.at_start).allocs;
        match side {
            Side::Client => self.client += n,
            Side::Server => self.server += n,
        }
    }
}

/// One measured workload and the most allocations per request each side may
/// make (in hundredths, to keep fractional figures exact).
struct Case {
    name: &'static str,
    protocol: Protocol,
    depth: usize,
    max_client_x100: u64,
    max_server_x100: u64,
}

const CASES: &[Case] = &[
    Case {
        name: "HTTP/1.1 sequential",
        protocol: Protocol::Http1,
        depth: 1,
        max_client_x100: 0,
        max_server_x100: 0,
    },
    Case {
        name: "HTTP/2 sequential",
        protocol: Protocol::Http2,
        depth: 1,
        max_client_x100: 0,
        max_server_x100: 0,
    },
    Case {
        name: "HTTP/2 16 in flight",
        protocol: Protocol::Http2,
        depth: 16,
        max_client_x100: 0,
        max_server_x100: 55,
    },
    Case {
        name: "HTTP/2 100 in flight",
        protocol: Protocol::Http2,
        depth: 100,
        max_client_x100: 0,
        max_server_x100: 54,
    },
];

fn main() {
    let mut failed = Vec::new();
    for case in CASES {
        let mut pair = Pair::new(case.protocol);
        pair.run(WARM_UP, case.depth, &mut ());
        let mut allocs = Allocs::default();
        let start = pair.completed;
        pair.run(MEASURED, case.depth, &mut allocs);
        let n = (pair.completed - start) as u64;
        let (client, server) = (allocs.client * 100 / n, allocs.server * 100 / n);
        println!(
            "{:<22} client {:>3}.{:02} allocs/request, server {:>3}.{:02} allocs/request ({n} requests)",
            case.name,
            client / 100,
            client % 100,
            server / 100,
            server % 100,
        );
        if client > case.max_client_x100 {
            failed.push(format!(
                "{} client: {client}/100 > {}/100",
                case.name, case.max_client_x100
            ));
        }
        if server > case.max_server_x100 {
            failed.push(format!(
                "{} server: {server}/100 > {}/100",
                case.name, case.max_server_x100
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "allocations per request grew: {failed:?}"
    );
}
