//! HTTP/1.1 (RFC 9112): head parsing and serialization, body framing, the
//! chunked coding, and the connection state machine.

mod ascii;
pub mod chunked;
mod conn;
pub mod encode;
pub mod framing;
mod head_lines;
mod hints;
mod lifecycle;
pub mod parse;
mod repeat;
mod send;
mod stream;
mod timers;

pub(crate) use conn::{H1Conn, H2cSwitch};
