//! Placeholder: the HTTP/1.1 connection state machine (being written).
#![allow(dead_code, unused_variables, clippy::todo)]

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::connection::{ReadChunk, Shutdown, Side};
use crate::error::{ErrorCode, UserError};
use crate::event::{Event, StreamId};
use crate::head::{Fields, RequestHead, ResponseHead};
use crate::time::Instant;

#[derive(Debug)]
pub(crate) struct H1Conn {
    side: Side,
}

impl H1Conn {
    pub(crate) fn new(side: Side, cfg: Config, now: Instant) -> Self { todo!() }
    pub(crate) fn side(&self) -> Side { self.side }
    pub(crate) fn recv(&mut self, now: Instant, data: &[u8]) -> usize { todo!() }
    pub(crate) fn recv_buf(&mut self, now: Instant, buf: &mut BytesMut) { todo!() }
    pub(crate) fn recv_eof(&mut self, now: Instant) { todo!() }
    pub(crate) fn handle_timeout(&mut self, now: Instant) { todo!() }
    pub(crate) fn poll_event(&mut self) -> Option<Event> { todo!() }
    pub(crate) fn poll_transmit(&mut self) -> &[Bytes] { todo!() }
    pub(crate) fn transmit_complete(&mut self, n: usize) { todo!() }
    pub(crate) fn poll_timeout(&self) -> Option<Instant> { todo!() }
    pub(crate) fn wants_read(&self) -> bool { todo!() }
    pub(crate) fn is_closed(&self) -> bool { todo!() }
    pub(crate) fn send_request(&mut self, head: RequestHead, end_stream: bool) -> Result<StreamId, UserError> { todo!() }
    pub(crate) fn send_response(&mut self, id: StreamId, head: ResponseHead, end_stream: bool) -> Result<(), UserError> { todo!() }
    pub(crate) fn send_informational(&mut self, id: StreamId, head: ResponseHead) -> Result<(), UserError> { todo!() }
    pub(crate) fn accept_continue(&mut self, id: StreamId) -> Result<(), UserError> { todo!() }
    pub(crate) fn has_stream(&self, id: StreamId) -> bool { todo!() }
    pub(crate) fn shutdown(&mut self, how: Shutdown) { todo!() }
    pub(crate) fn take_upgrade(&mut self, id: StreamId) -> Option<Bytes> { todo!() }
    pub(crate) fn read(&mut self, id: StreamId) -> ReadChunk { todo!() }
    pub(crate) fn write_capacity(&self, id: StreamId) -> usize { todo!() }
    pub(crate) fn write(&mut self, id: StreamId, data: &mut Bytes) -> Result<usize, UserError> { todo!() }
    pub(crate) fn finish(&mut self, id: StreamId, trailers: Option<Fields>) -> Result<(), UserError> { todo!() }
    pub(crate) fn reset(&mut self, id: StreamId, code: ErrorCode) { todo!() }
}
