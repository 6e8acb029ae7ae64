//! HTTP/2 (RFC 9113). Being written: the frame codec first.

pub mod frame;
