//! Limits and timeouts. Every limit has a safe default and lives here, in the
//! core, so that no adapter can lose it on the way.

use core::time::Duration;

/// Connection configuration (both roles).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Largest message head (start line + fields), in bytes. Server: 431.
    pub max_head_bytes: usize,
    /// Most header fields in one head. Server: 431.
    pub max_headers: usize,
    /// Longest request target. Server: 414.
    pub max_uri_len: usize,
    /// Most bytes of one chunk-size line, extensions included.
    pub max_chunk_line: usize,
    /// Most bytes of a trailer section.
    pub max_trailer_bytes: usize,
    /// Most received body bytes buffered per stream before the core stops
    /// reading (the application must `read` to make room).
    pub max_recv_buffer: usize,
    /// Most body bytes queued for sending per stream (`write_capacity`).
    pub send_buffer: usize,
    /// Server: most requests parsed ahead of their responses (pipelining);
    /// beyond it the core stops consuming at a message boundary.
    pub max_pipelined: usize,
    /// Server: most unread request body bytes discarded after the response to
    /// keep the connection alive; beyond it the connection closes.
    pub max_drain: u64,
    /// Accept bare LF as a line ending (RFC 9112 §2.2 allows it; off by
    /// default because it enables request smuggling through proxies).
    pub allow_bare_lf: bool,
    /// Server: time to receive a complete head, from connection accept or from
    /// the first byte of a later request. `None` disables.
    pub header_read_timeout: Option<Duration>,
    /// Time a kept-alive connection may sit with no request. `None` disables.
    pub idle_timeout: Option<Duration>,
    /// Time a body may go without progress while the application waits for it.
    pub body_read_timeout: Option<Duration>,
    /// Client: how long to wait for `100 Continue` before sending the body.
    pub expect_continue_timeout: Duration,
    /// Send `Connection: keep-alive` semantics (false: one exchange per connection).
    pub keep_alive: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            max_uri_len: 8 * 1024,
            max_chunk_line: 1024,
            max_trailer_bytes: 16 * 1024,
            max_recv_buffer: 64 * 1024,
            send_buffer: 64 * 1024,
            max_pipelined: 16,
            max_drain: 64 * 1024,
            allow_bare_lf: false,
            header_read_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(60)),
            body_read_timeout: Some(Duration::from_secs(60)),
            expect_continue_timeout: Duration::from_secs(1),
            keep_alive: true,
        }
    }
}
