//! Taking received bytes into a connection's bounded receive buffer (shared
//! by HTTP/1 and HTTP/2).

use bytes::BytesMut;

/// Appends what fits of `data` to `rbuf` (at most `cap` bytes buffered);
/// returns how many bytes were taken.
pub(crate) fn append_slice(rbuf: &mut BytesMut, cap: usize, data: &[u8]) -> usize {
    let n = data.len().min(cap.saturating_sub(rbuf.len()));
    rbuf.extend_from_slice(data.get(..n).unwrap_or_default());
    n
}

/// Moves what fits from the front of `buf` to `rbuf`, adopting it without a
/// copy when `rbuf` is empty (the common case: the buffer was consumed).
pub(crate) fn append_buf(rbuf: &mut BytesMut, cap: usize, buf: &mut BytesMut) {
    let n = buf.len().min(cap.saturating_sub(rbuf.len()));
    if rbuf.is_empty() {
        *rbuf = buf.split_to(n);
    } else {
        rbuf.extend_from_slice(&buf.split_to(n));
    }
}

/// Drops `rbuf` if it is an empty view with no room left: such a view only
/// keeps the transport's buffer it was split from alive (an idle connection
/// would hold it until its next input).
pub(crate) fn release_spent(rbuf: &mut BytesMut) {
    if rbuf.is_empty() && rbuf.capacity() == 0 {
        *rbuf = BytesMut::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_zero_copy_when_empty() {
        let mut rbuf = BytesMut::new();
        assert_eq!(append_slice(&mut rbuf, 4, b"abcdef"), 4);
        assert_eq!(append_slice(&mut rbuf, 4, b"x"), 0);
        let mut empty = BytesMut::new();
        let mut buf = BytesMut::from(&b"hello"[..]);
        let ptr = buf.as_ptr();
        append_buf(&mut empty, 3, &mut buf);
        assert_eq!(&empty[..], b"hel");
        assert_eq!(empty.as_ptr(), ptr, "adopted, not copied");
        assert_eq!(&buf[..], b"lo");
    }

    #[test]
    fn spent_view_lets_its_buffer_go() {
        let mut buf = BytesMut::from(&b"hello"[..]);
        let mut view = buf.split_to(5);
        drop(view.split_to(5));
        assert_eq!(view.capacity(), 0);
        assert!(
            !buf.try_reclaim(5),
            "the spent view still shares the buffer"
        );
        release_spent(&mut view);
        assert!(buf.try_reclaim(5), "released: `buf` owns its buffer alone");
        let mut roomy = BytesMut::with_capacity(8);
        release_spent(&mut roomy);
        assert_eq!(roomy.capacity(), 8, "a buffer with room is kept");
    }
}
