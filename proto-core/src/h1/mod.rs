//! HTTP/1.1 (RFC 9112): head parsing and serialization, body framing, the
//! chunked coding, and the connection state machine.

pub(crate) mod chunked;
mod conn;
mod send;
mod stream;
pub(crate) mod encode;
pub(crate) mod framing;
pub(crate) mod parse;

pub(crate) use conn::H1Conn;
