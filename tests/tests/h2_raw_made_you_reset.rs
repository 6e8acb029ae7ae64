//! Raw-peer regression tests: every stream reset the client provokes costs
//! it a reset token (MadeYouReset, CVE-2025-8671; RFC 9113 §10.5), including
//! DATA and HEADERS on a half-closed (remote) stream (§5.1), which used to be
//! answered with RST_STREAM for free. The concurrency limit is raised so
//! that the held slots of reset streams (`reset_stream_hold`) cannot be what
//! stops the flood: only the reset budget is tested.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proto_core::h2::frame;
use tests::h2::*;
use tests::*;

const BUDGET: u32 = 5;

fn ready() -> Peer {
    let mut cfg = no_timers();
    cfg.h2.max_resets = BUDGET;
    cfg.h2.max_concurrent_streams = 1000;
    let mut p = Peer::server(cfg);
    p.handshake();
    p
}

/// Opens `BUDGET + 1` streams, each followed by `provoke`; the first
/// `BUDGET` get RST_STREAM STREAM_CLOSED, the next one GOAWAY
/// ENHANCE_YOUR_CALM.
fn assert_budgeted(provoke: impl Fn(&mut Peer, u32)) {
    let mut p = ready();
    for i in 0..=BUDGET {
        let id = 1 + 2 * i;
        p.headers(id).request("GET", "/").end_stream().queue();
        provoke(&mut p, id);
    }
    p.drive();
    let resets = p.resets();
    assert_eq!(resets.len(), BUDGET as usize, "{:#?}", p.rendered());
    assert!(
        resets.iter().all(|(_, c)| *c == ErrorCode::STREAM_CLOSED),
        "{resets:?}"
    );
    let last = 1 + 2 * BUDGET;
    p.assert_goaway(last, ErrorCode::ENHANCE_YOUR_CALM);
}

/// RFC 9113 §5.1, §10.5: DATA after END_STREAM costs a reset token.
#[test]
fn data_on_half_closed_remote_costs_a_reset_token_5_1_10_5() {
    assert_budgeted(|p, id| p.queue(frame::Data::new(sid(id), &b"late"[..], false)));
}

/// RFC 9113 §5.1, §10.5: HEADERS after END_STREAM costs a reset token.
#[test]
fn headers_on_half_closed_remote_costs_a_reset_token_5_1_10_5() {
    assert_budgeted(|p, id| p.headers(id).field("x-trailer", "1").end_stream().queue());
}

/// Within the budget nothing changes: one provoked reset, and the
/// connection keeps serving (§5.4.2: a stream error is not a connection
/// error).
#[test]
fn one_provoked_reset_keeps_the_connection_5_4_2() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    p.data(1, b"late", false);
    p.assert_frames(&["RST_STREAM 1 STREAM_CLOSED"]);
    p.assert_alive();
}
