//! HTTP/1.1 (RFC 9112): head parsing and serialization, body framing, the
//! chunked coding, and the connection state machine.

pub mod chunked;
mod conn;
mod send;
mod stream;
pub mod encode;
pub mod framing;
pub mod parse;

pub(crate) use conn::H1Conn;
