//! Connections made from one `Arc<Config>` share it; a plain `Config` is
//! still accepted; an HTTP/2 connection that changes its settings copies
//! the shared one instead of changing it for the others.

use std::sync::Arc;

use crate::{Config, Connection, Instant, Protocol, Side};

const T0: Instant = Instant::from_nanos(1_000_000_000);

#[test]
fn connections_share_one_arc_config() {
    let cfg = Arc::new(Config::default());
    let mut conns: Vec<Connection> = [Protocol::Http1, Protocol::Http2, Protocol::Auto]
        .into_iter()
        .map(|p| Connection::with_protocol(Side::Server, p, Arc::clone(&cfg), T0))
        .collect();
    assert_eq!(Arc::strong_count(&cfg), 4, "no copy per connection");
    // The sniffing connection settles on HTTP/1 and keeps sharing it.
    if let Some(auto) = conns.last_mut() {
        assert_eq!(auto.recv(T0, b"GET / HTTP/1.1\r\n"), 16);
    }
    assert_eq!(
        Arc::strong_count(&cfg),
        4,
        "sniffing settled without a copy"
    );
    drop(conns);
    assert_eq!(Arc::strong_count(&cfg), 1);
    // A plain `Config` still makes a connection (callers need not change).
    let c = Connection::new(Side::Client, Config::default(), T0);
    assert!(!c.is_closed());
}

/// RFC 9113 §6.5.3: our changed settings bind on this connection only.
#[test]
fn h2_settings_change_copies_the_shared_config() {
    let cfg = Arc::new(Config::default());
    let mut a = Connection::with_protocol(Side::Server, Protocol::Http2, Arc::clone(&cfg), T0);
    let _b = Connection::with_protocol(Side::Server, Protocol::Http2, Arc::clone(&cfg), T0);
    let mut h2 = cfg.h2.clone();
    h2.max_concurrent_streams = 7;
    h2.max_empty_frames = 3;
    a.update_settings(h2);
    assert_eq!(
        cfg.h2.max_concurrent_streams, 100,
        "the shared one unchanged"
    );
    assert_eq!(cfg.h2.max_empty_frames, 10_000);
    assert_eq!(Arc::strong_count(&cfg), 2, "`a` copied it, `_b` shares it");
}
