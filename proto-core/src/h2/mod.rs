//! HTTP/2 (RFC 9113): the frame codec (public) and the connection state
//! machine behind [`crate::Connection`].

mod conn;
mod control;
mod events;
mod flow;
pub mod frame;
pub mod h2c;
mod headers;
mod lifecycle;
mod priority;
mod ready;
mod recv_body;
mod recv_headers;
pub(crate) mod send;
mod stream;
mod streams;

pub(crate) use conn::H2Conn;
