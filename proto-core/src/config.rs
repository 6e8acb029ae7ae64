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
    /// HTTP/2: also the most one `write` takes, so it sets how many
    /// transport writes a large body costs: 256 KiB by default, 4 per MiB.
    /// HTTP/1.1: a `write` made below it takes the whole chunk offered (it
    /// is already in memory), so a body handed over in one piece leaves in
    /// one gather; the queue exceeds this by at most one chunk.
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
    /// After this long with no exchange in progress, a connection lets go of
    /// the storage it keeps for reuse between requests (event, exchange and
    /// send queues, recycled head storage, HTTP/2 decode buffers), so that
    /// thousands of idle keep-alive connections hold little; busy ones keep
    /// it and allocate nothing per request. The adapters let go of their read
    /// buffers at the same moment. `None` keeps it always.
    ///
    /// The default, 100 ms, is long next to the gaps of a busy connection
    /// (back-to-back requests, a page's burst) and short next to a keep-alive
    /// connection's idle life. What a connection holds until then counts
    /// against every connection that was active within the window: with 1 s,
    /// 1,000 connections opened over 0.9 s each still held their 8 KiB read
    /// buffer, and a tokio server's RSS grew 13.6 KiB per idle connection
    /// (4.1 KiB with 100 ms; freed memory stays with the allocator, so the
    /// peak is what remains). A connection with a 100 ms–1 s gap between
    /// requests pays a few allocations per request instead.
    pub idle_release: Option<Duration>,
    /// Time a body may go without progress while the application waits for it.
    pub body_read_timeout: Option<Duration>,
    /// Server, HTTP/1: the slowest a request body may arrive while the
    /// application waits for it (a body trickled a byte just inside each
    /// `body_read_timeout` is still cut off, with `408`). `None` disables.
    pub min_body_rate: Option<MinRate>,
    /// Client: how long to wait for `100 Continue` before sending the body.
    pub expect_continue_timeout: Duration,
    /// Slow-read defence: while bytes are owed to the peer, the longest the
    /// transport may go without taking any of them before the connection is
    /// closed (and what it still owed dropped). `None` disables.
    pub send_timeout: Option<Duration>,
    /// Send `Connection: keep-alive` semantics (false: one exchange per connection).
    pub keep_alive: bool,
    /// Server: accept HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2) on a request
    /// without content, switching the connection to HTTP/2.
    pub h2c_upgrade: bool,
    /// HTTP/2 settings and limits.
    pub h2: H2Config,
}

/// A minimum data rate: after `grace`, at least `bytes_per_second` on
/// average since the rate started being measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinRate {
    /// The average rate the peer must keep up (0 disables).
    pub bytes_per_second: u32,
    /// How long the rate is not enforced at the start (slow start, latency).
    pub grace: Duration,
}

/// HTTP/2 settings we advertise and limits we enforce (RFC 9113).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct H2Config {
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise; more open streams from
    /// the peer are refused (REFUSED_STREAM, §5.1.2).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise: each stream's receive window,
    /// and so the most unread body we buffer per stream. At least 65,535.
    pub initial_window_size: u32,
    /// Our connection-level receive window (raised from 65,535 by a
    /// WINDOW_UPDATE right after the preface).
    pub connection_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE we advertise (16,384..=16,777,215).
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce while decoding.
    pub max_header_list_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE we advertise (the peer's encoder table).
    pub header_table_size: u32,
    /// Most CONTINUATION frames after one HEADERS (CVE-2024-27316 family);
    /// more is a connection error ENHANCE_YOUR_CALM.
    pub max_continuation_frames: u32,
    /// Most SETTINGS entries in one frame.
    pub max_settings_entries: usize,
    /// Reset budget (Rapid Reset, CVE-2023-44487): streams the peer may
    /// cancel, refilled by one every `reset_refill`; exhausted → GOAWAY
    /// ENHANCE_YOUR_CALM.
    pub max_resets: u32,
    /// How fast the reset budget refills.
    pub reset_refill: Duration,
    /// MadeYouReset (CVE-2025-8671): a stream reset (by the peer, or by us
    /// for the peer's error) while the application was still answering it
    /// keeps counting against `max_concurrent_streams` for this long, since
    /// its handler may still be running although the protocol closed it.
    pub reset_stream_hold: Duration,
    /// Most control-frame answers (PING ACK, SETTINGS ACK, RST_STREAM)
    /// queued unwritten; beyond it the core stops reading until they drain.
    pub max_pending_control: usize,
    /// Budget of frames that carry nothing (empty DATA without END_STREAM,
    /// unknown types, ...) per connection; exhausted → ENHANCE_YOUR_CALM.
    pub max_empty_frames: u32,
    /// How long to wait for the peer's SETTINGS ACK (§6.5.3).
    pub settings_timeout: Duration,
    /// Send a PING after this much silence (keep-alive); `None` disables.
    pub keep_alive_interval: Option<Duration>,
    /// How long a keep-alive PING may go unanswered.
    pub keep_alive_timeout: Duration,
    /// Advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441), server only.
    pub enable_connect_protocol: bool,
    /// Manual flow control (for proxies): reading does not give window back
    /// to the peer; the application calls `StreamMut::release(n)` when it
    /// has really consumed `n` bytes (e.g. forwarded them).
    pub manual_flow_control: bool,
}

impl Default for H2Config {
    fn default() -> Self {
        Self {
            max_concurrent_streams: 100,
            initial_window_size: 256 * 1024,
            connection_window_size: 1024 * 1024,
            max_frame_size: 16_384,
            max_header_list_size: 16 * 1024,
            header_table_size: 4096,
            max_continuation_frames: 32,
            max_settings_entries: 32,
            max_resets: 200,
            reset_refill: Duration::from_millis(100),
            reset_stream_hold: Duration::from_secs(5),
            max_pending_control: 1024,
            max_empty_frames: 10_000,
            settings_timeout: Duration::from_secs(10),
            keep_alive_interval: None,
            keep_alive_timeout: Duration::from_secs(20),
            enable_connect_protocol: false,
            manual_flow_control: false,
        }
    }
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
            send_buffer: 256 * 1024,
            max_pipelined: 16,
            max_drain: 64 * 1024,
            allow_bare_lf: false,
            header_read_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(60)),
            idle_release: Some(Duration::from_millis(100)),
            body_read_timeout: Some(Duration::from_secs(60)),
            min_body_rate: Some(MinRate {
                bytes_per_second: 240,
                grace: Duration::from_secs(5),
            }),
            expect_continue_timeout: Duration::from_secs(1),
            send_timeout: Some(Duration::from_secs(30)),
            keep_alive: true,
            h2c_upgrade: true,
            h2: H2Config::default(),
        }
    }
}
