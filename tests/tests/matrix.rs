//! The end-to-end scenario matrix: one table of scenarios, each run for
//! every server adapter (tokio, smol, std) against every client (tokio,
//! smol, std, and a raw hand-written HTTP/1.1 client where the scenario must
//! see the wire), over loopback, in-process.
//!
//! Every cell is its own `#[test]`, named `scenario::server::client`, e.g.
//! `h1_keep_alive::std_server::smol_client`; filter with
//! `cargo test -p tests --test matrix h2_`.
//!
//! # The table
//!
//! Rows are scenarios, one server row each, listing the client columns.
//! A cell written `(client pending "reason")` is a feature an adapter lacks
//! today: it is `#[ignore]`d (so it never counts as passing; `--include-ignored`
//! runs it and it fails) and [`matrix_pending_cells_are_listed`] prints it.
//!
//! Server rows: `raw_server` (a listener the scenario answers by hand) only
//! where the client's wire behaviour is the check.
//!
//! Client columns by scenario:
//! - `raw_client` only for `h1_pipelining` (no adapter client pipelines)
//!   and `header_read_timeout` (a silent or stalled connection).
//! - `raw_client` beside the adapter clients where the wire itself is the
//!   check: chunked framing, trailers on the wire, `100` before the body,
//!   tunnel bytes that ride with the request head.
//!
//! Bounds: every request and wait is bounded by `common::DEADLINE` (10 s) and
//! each cell by `CELL_BOUND`; nothing sleeps to synchronize (gates and
//! channels do).
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub, dead_code)]

/// The support code and the scenarios, in `tests/matrix/`.
mod matrix {
    pub mod client;
    pub mod common;
    pub mod h1;
    pub mod h2;
    pub mod lifecycle;
    pub mod raw;
    pub mod routes;
    pub mod server;
    pub mod tls;
    pub mod tunnel;
}

use std::time::Duration;

use matrix::client::ClientKind;
use matrix::common;
use matrix::server::ServerKind;

/// The most one cell may take.
const CELL_BOUND: Duration = Duration::from_secs(40);

/// One cell of the table.
#[derive(Debug)]
struct Cell {
    scenario: &'static str,
    server: &'static str,
    client: &'static str,
    pending: Option<&'static str>,
}

/// Runs one cell, bounded.
fn run_cell(server: &'static str, client: &'static str, scenario: fn(ServerKind, ClientKind)) {
    let s = ServerKind::from_name(server);
    let c = ClientKind::from_name(client);
    common::within_for(CELL_BOUND, "matrix cell", move || scenario(s, c));
}

macro_rules! cell {
    ($func:path, $server:ident, $client:ident) => {
        #[test]
        fn $client() {
            crate::run_cell(stringify!($server), stringify!($client), $func);
        }
    };
    ($func:path, $server:ident, ($client:ident pending $reason:literal)) => {
        #[test]
        #[ignore = $reason]
        fn $client() {
            crate::run_cell(stringify!($server), stringify!($client), $func);
        }
    };
}

macro_rules! cell_entry {
    ($cells:ident, $scenario:ident, $server:ident, $client:ident) => {
        $cells.push(Cell {
            scenario: stringify!($scenario),
            server: stringify!($server),
            client: stringify!($client),
            pending: None,
        });
    };
    ($cells:ident, $scenario:ident, $server:ident, ($client:ident pending $reason:literal)) => {
        $cells.push(Cell {
            scenario: stringify!($scenario),
            server: stringify!($server),
            client: stringify!($client),
            pending: Some($reason),
        });
    };
}

/// Emits a module per scenario with a module per server row and a test per
/// cell, plus `all_cells()` listing the table.
macro_rules! matrix {
    ($(
        $(#[doc = $doc:literal])*
        $scenario:ident => $func:path {
            $( $server:ident : [ $( $cell:tt )* ] )*
        }
    )*) => {
        $(
            $(#[doc = $doc])*
            mod $scenario {
                $(
                    mod $server {
                        $( cell!($func, $server, $cell); )*
                    }
                )*
            }
        )*

        // One push per cell: the macro cannot join nested repetitions into one `vec![]`.
        #[allow(clippy::vec_init_then_push)]
        fn all_cells() -> Vec<Cell> {
            let mut cells = Vec::new();
            $( $( $( cell_entry!(cells, $scenario, $server, $cell); )* )* )*
            cells
        }
    };
}

matrix! {
    /// N requests, one connection.
    h1_keep_alive => crate::matrix::h1::h1_keep_alive {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
    /// Three requests in one write, answered in order.
    h1_pipelining => crate::matrix::h1::h1_pipelining {
        tokio_server: [raw_client]
        smol_server: [raw_client]
        std_server: [raw_client]
    }
    /// Odd-sized body streamed without a length, echoed byte-exact.
    h1_chunked_upload => crate::matrix::h1::h1_chunked_upload {
        tokio_server: [tokio_client smol_client std_client raw_client]
        smol_server: [tokio_client smol_client std_client raw_client]
        std_server: [tokio_client smol_client std_client raw_client]
    }
    /// Odd-sized response streamed without a length.
    h1_chunked_download => crate::matrix::h1::h1_chunked_download {
        tokio_server: [tokio_client smol_client std_client raw_client]
        smol_server: [tokio_client smol_client std_client raw_client]
        std_server: [tokio_client smol_client std_client raw_client]
    }
    /// Request trailers reach the handler.
    trailers_upload_h1 => crate::matrix::h1::trailers_upload_h1 {
        tokio_server: [tokio_client smol_client std_client raw_client]
        smol_server: [tokio_client smol_client std_client raw_client]
        std_server: [tokio_client smol_client std_client raw_client]
    }
    /// Response trailers reach the client.
    trailers_download_h1 => crate::matrix::h1::trailers_download_h1 {
        tokio_server: [tokio_client smol_client std_client raw_client]
        smol_server: [tokio_client smol_client std_client raw_client]
        std_server: [tokio_client smol_client std_client raw_client]
    }
    /// Trailers both ways over HTTP/2.
    trailers_h2 => crate::matrix::h2::trailers_h2 {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
    /// `100 Continue` before the body.
    expect_continue => crate::matrix::h1::expect_continue {
        tokio_server: [tokio_client smol_client std_client raw_client]
        smol_server: [tokio_client smol_client std_client raw_client]
        std_server: [tokio_client smol_client std_client raw_client]
    }
    /// The client holds its body until `100` (a raw server refuses it).
    expect_continue_client_waits => crate::matrix::h1::expect_continue_client_waits {
        raw_server: [tokio_client smol_client std_client]
    }
    /// `101`, then bytes echoed both ways.
    upgrade_101 => crate::matrix::tunnel::upgrade_101 {
        tokio_server: [tokio_client smol_client std_client raw_client]
        smol_server: [tokio_client smol_client std_client raw_client]
        std_server: [tokio_client smol_client std_client raw_client]
    }
    /// `CONNECT`, then bytes echoed both ways.
    connect_tunnel => crate::matrix::tunnel::connect_tunnel {
        tokio_server: [tokio_client smol_client std_client raw_client]
        smol_server: [tokio_client smol_client std_client raw_client]
        std_server: [tokio_client smol_client std_client raw_client]
    }
    /// 50 concurrent requests on one HTTP/2 connection.
    h2_multiplexing => crate::matrix::h2::h2_multiplexing {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
    /// 4 MiB up and down through 64 KiB windows.
    h2_flow_control => crate::matrix::h2::h2_flow_control {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
    /// A held handler does not delay another stream.
    slow_handler_h2 => crate::matrix::lifecycle::slow_handler_h2 {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
    /// A held handler does not delay another connection.
    slow_handler_h1 => crate::matrix::lifecycle::slow_handler_h1 {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
    /// Shutdown mid-request over HTTP/1.1.
    graceful_shutdown_h1 => crate::matrix::lifecycle::graceful_shutdown_h1 {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
    /// Shutdown mid-request over HTTP/2.
    graceful_shutdown_h2 => crate::matrix::lifecycle::graceful_shutdown_h2 {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
    /// Many sequential requests, one HTTP/1.1 connection.
    client_reuse_h1 => crate::matrix::lifecycle::client_reuse_h1 {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
    /// Many sequential requests, one HTTP/2 connection.
    client_reuse_h2 => crate::matrix::lifecycle::client_reuse_h2 {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
    /// TLS, ALPN offering `h2` and `http/1.1`: HTTP/2 chosen.
    tls_alpn_h2 => crate::matrix::tls::tls_alpn_h2 {
        tokio_server: [tokio_client smol_client std_client raw_client]
        smol_server: [tokio_client smol_client std_client raw_client]
        std_server: [tokio_client smol_client std_client raw_client]
    }
    /// TLS, ALPN offering only `http/1.1`.
    tls_alpn_h1 => crate::matrix::tls::tls_alpn_h1 {
        tokio_server: [tokio_client smol_client std_client raw_client]
        smol_server: [tokio_client smol_client std_client raw_client]
        std_server: [tokio_client smol_client std_client raw_client]
    }
    /// The server's header-read timeout closes silent and stalled
    /// connections.
    header_read_timeout => crate::matrix::lifecycle::header_read_timeout {
        tokio_server: [raw_client]
        smol_server: [raw_client]
        std_server: [raw_client]
    }
    /// The client's request timeout against a server that never answers.
    client_request_timeout => crate::matrix::lifecycle::client_request_timeout {
        tokio_server: [tokio_client smol_client std_client]
        smol_server: [tokio_client smol_client std_client]
        std_server: [tokio_client smol_client std_client]
    }
}

/// Prints the table (pending cells with their reasons) for review, and
/// checks it is well-formed: no cell twice, every pending cell says why.
#[test]
fn matrix_pending_cells_are_listed() {
    let cells = all_cells();
    let mut seen = std::collections::HashSet::new();
    for c in &cells {
        assert!(
            seen.insert((c.scenario, c.server, c.client)),
            "cell listed twice: {c:?}"
        );
        assert!(c.pending.is_none_or(|r| !r.is_empty()), "{c:?}");
    }
    let pending: Vec<_> = cells.iter().filter(|c| c.pending.is_some()).collect();
    println!(
        "{} cells, {} run, {} pending:",
        cells.len(),
        cells.len() - pending.len(),
        pending.len()
    );
    println!("| scenario | server | client | pending because |");
    println!("|---|---|---|---|");
    for c in pending {
        println!(
            "| {} | {} | {} | {} |",
            c.scenario,
            c.server,
            c.client,
            c.pending.unwrap_or_default()
        );
    }
}
