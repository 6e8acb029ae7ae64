//! The outgoing byte queue: a gather list of [`Bytes`].
//!
//! Small pieces (heads, chunk framing, short bodies) are coalesced into one
//! buffer so a batch of pipelined responses leaves in one write; large bodies
//! are queued as they were given (zero-copy).

use bytes::{Buf, Bytes, BytesMut};

/// Bodies shorter than this are copied next to their head instead of taking
/// their own gather entry.
const COPY_THRESHOLD: usize = 1024;

#[derive(Debug, Default)]
pub(crate) struct TxQueue {
    /// Frozen pieces ready to write; `list[pos..]` is still owed.
    list: Vec<Bytes>,
    pos: usize,
    /// Bytes being coalesced; they go after everything in `list`.
    buf: BytesMut,
    /// Total unwritten bytes in `list[pos..]` and `buf`.
    len: usize,
}

impl TxQueue {
    /// The coalescing buffer, for serializers to append to. Callers must
    /// report what they appended with [`TxQueue::appended`].
    pub(crate) fn buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    pub(crate) fn appended(&mut self, n: usize) {
        self.len += n;
    }

    /// Queues a body piece, copying it if it is small.
    pub(crate) fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        if data.len() < COPY_THRESHOLD {
            self.buf.extend_from_slice(&data);
        } else {
            self.freeze_buf();
            self.list.push(data);
        }
    }

    /// Queues bytes that belong with the small pieces (a pre-rendered head):
    /// always copied into the coalescing buffer.
    pub(crate) fn push_copy(&mut self, data: Bytes) {
        self.len += data.len();
        self.buf.extend_from_slice(&data);
    }

    fn freeze_buf(&mut self) {
        if !self.buf.is_empty() {
            self.list.push(self.buf.split().freeze());
        }
    }

    /// Unwritten bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Everything owed, in order.
    pub(crate) fn chunks(&mut self) -> &[Bytes] {
        self.freeze_buf();
        &self.list[self.pos..]
    }

    /// Drops everything owed (the peer stopped reading).
    /// Bytes of storage held (tests of the idle release).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.list.capacity() * size_of::<Bytes>() + self.buf.capacity()
    }

    /// Lets go of the storage when nothing is owed (idle connections).
    pub(crate) fn release(&mut self) {
        if self.is_empty() {
            *self = Self::default();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.list.clear();
        self.pos = 0;
        self.buf.clear();
        self.len = 0;
    }

    /// `n` bytes from the front were written.
    pub(crate) fn advance(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        self.freeze_buf();
        while n > 0 {
            let Some(front) = self.list.get_mut(self.pos) else {
                break;
            };
            if n >= front.len() {
                n -= front.len();
                self.pos += 1;
            } else {
                front.advance(n);
                n = 0;
            }
        }
        if self.pos == self.list.len() {
            self.list.clear();
            self.pos = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(q: &mut TxQueue) -> Vec<u8> {
        q.chunks().iter().flat_map(|b| b.to_vec()).collect()
    }

    #[test]
    fn coalesces_small_and_passes_large_through() {
        let mut q = TxQueue::default();
        q.buf().extend_from_slice(b"head");
        q.appended(4);
        q.push(Bytes::from_static(b"tiny"));
        let big = Bytes::from(vec![7u8; 4096]);
        q.push(big.clone());
        assert_eq!(q.chunks().len(), 2);
        assert_eq!(
            q.chunks()[1].as_ptr(),
            big.as_ptr(),
            "large body is not copied"
        );
        q.advance(6);
        assert_eq!(&flat(&mut q)[..2], b"ny");
        q.advance(2 + 4096);
        assert!(q.is_empty());
        assert!(q.chunks().is_empty());
    }
}
