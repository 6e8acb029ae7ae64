//! HPACK header compression for HTTP/2 (RFC 7541). Being written.
