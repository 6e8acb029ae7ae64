//! The TCP stream the server and the client run on: async-io's socket,
//! without the reads that find nothing.
//!
//! async-io reads a socket first and waits for readiness only once a read
//! says `WouldBlock`. A connection task is polled far more often than data
//! arrives (each request's handler finishing, timers, commands from stream
//! handles), and each of those polls cost a `recvfrom` returning `EAGAIN`:
//! one per request over HTTP/1.1, the most frequent syscall after the read
//! and the write themselves (BENCHMARKS.md, Syscalls).
//!
//! A read that fills less than its buffer emptied the socket's queue, so
//! [`Socket`] waits for readiness before the next one. This never loses data:
//! async-io registers sockets one-shot and level-triggered, so re-arming
//! reports bytes that arrived in between at once. A wrong guess costs a trip
//! through the reactor, nothing more. tokio does the same in its own reads
//! (a short read clears readiness).

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use async_io::Async;
use futures_io::{AsyncRead, AsyncWrite};

/// A socket that can close its sending half (what `poll_close` does).
pub(crate) trait ShutdownWrite {
    fn shutdown_write(&self) -> io::Result<()>;
}

impl ShutdownWrite for std::net::TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// An async-io socket read as described in the module docs.
pub(crate) struct Socket<T = std::net::TcpStream> {
    io: Arc<Async<T>>,
    /// The last read came back short of its buffer (and not at EOF): the
    /// next read waits for a readiness event first.
    drained: bool,
}

impl From<async_net::TcpStream> for Socket {
    fn from(stream: async_net::TcpStream) -> Self {
        Self::new(stream.into())
    }
}

impl<T> Socket<T> {
    pub(crate) fn new(io: Arc<Async<T>>) -> Self {
        Self { io, drained: false }
    }
}

impl<T> Socket<T>
where
    for<'a> &'a T: Read,
{
    /// One read by `read`, waiting for readiness first if the last one
    /// drained the socket; a read short of `room` (and not at EOF) drains it.
    fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        room: usize,
        read: impl FnOnce(Pin<&mut &Async<T>>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if self.drained {
            ready!(self.io.poll_readable(cx))?;
            self.drained = false;
        }
        let n = ready!(read(Pin::new(&mut &*self.io), cx))?;
        self.drained = n > 0 && n < room;
        Poll::Ready(Ok(n))
    }
}

impl<T> AsyncRead for Socket<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let room = buf.len();
        self.poll_read_with(cx, room, |io, cx| io.poll_read(cx, buf))
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let room = bufs.iter().map(|b| b.len()).sum();
        self.poll_read_with(cx, room, |io, cx| io.poll_read_vectored(cx, bufs))
    }
}

impl<T: ShutdownWrite> AsyncWrite for Socket<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.io).poll_flush(cx)
    }

    /// Flushes, then shuts the sending half down (a FIN), as async-net's
    /// `TcpStream` does.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut &*self.io).poll_flush(cx))?;
        Poll::Ready(self.io.get_ref().shutdown_write())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::os::fd::{AsFd, BorrowedFd};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Waker;

    use futures_lite::{AsyncReadExt, AsyncWriteExt, future};

    use super::*;

    /// A TCP stream that counts the reads made on it.
    struct Counted {
        stream: std::net::TcpStream,
        reads: AtomicUsize,
    }

    impl AsFd for Counted {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.stream.as_fd()
        }
    }

    impl Read for &Counted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            (&self.stream).read(buf)
        }
    }

    impl Write for &Counted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            (&self.stream).write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl ShutdownWrite for Counted {
        fn shutdown_write(&self) -> io::Result<()> {
            self.stream.shutdown(Shutdown::Write)
        }
    }

    /// A connected pair: ours (counted, async) and the peer (blocking).
    fn pair() -> (Socket<Counted>, Arc<Async<Counted>>, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().unwrap();
        let io = Arc::new(
            Async::new(Counted {
                stream,
                reads: AtomicUsize::new(0),
            })
            .unwrap(),
        );
        (Socket::new(Arc::clone(&io)), io, peer)
    }

    fn reads(io: &Async<Counted>) -> usize {
        io.get_ref().reads.load(Ordering::Relaxed)
    }

    #[test]
    fn after_a_short_read_it_waits_without_reading_again() {
        let (mut sock, io, mut peer) = pair();
        future::block_on(async {
            peer.write_all(b"hello").unwrap();
            let mut buf = [0u8; 64];
            assert_eq!(sock.read(&mut buf).await.unwrap(), 5);
            assert_eq!(reads(&io), 1);
            // Nothing more has come: polling finds Pending without a read
            // syscall (async-io's own stream would try one, and get EAGAIN).
            let mut cx = Context::from_waker(Waker::noop());
            for _ in 0..3 {
                assert!(
                    Pin::new(&mut sock)
                        .poll_read(&mut cx, &mut buf)
                        .is_pending()
                );
            }
            assert_eq!(reads(&io), 1, "a read was tried on a drained socket");
            // Data that arrives later is read (the re-armed registration
            // reports it), in one read.
            peer.write_all(b"world").unwrap();
            assert_eq!(sock.read(&mut buf).await.unwrap(), 5);
            assert_eq!(&buf[..5], b"world");
            assert_eq!(reads(&io), 2);
        });
    }

    #[test]
    fn data_that_came_before_the_wait_is_not_lost() {
        let (mut sock, _io, mut peer) = pair();
        future::block_on(async {
            peer.write_all(b"a").unwrap();
            let mut buf = [0u8; 64];
            assert_eq!(sock.read(&mut buf).await.unwrap(), 1);
            // Arrives after the short read, before anyone waits: level-
            // triggered re-arming reports it.
            peer.write_all(b"b").unwrap();
            let n = crate::rt::timeout(std::time::Duration::from_secs(5), sock.read(&mut buf))
                .await
                .expect("data sent before the wait was never reported")
                .unwrap();
            assert_eq!(&buf[..n], b"b");
        });
    }

    #[test]
    fn a_full_read_reads_again_at_once_and_close_sends_fin() {
        let (mut sock, io, mut peer) = pair();
        future::block_on(async {
            peer.write_all(&[7u8; 100]).unwrap();
            let mut buf = [0u8; 10];
            // Filled: more may be waiting, so the next read goes straight to
            // the socket.
            assert_eq!(sock.read(&mut buf).await.unwrap(), 10);
            assert_eq!(sock.read(&mut buf).await.unwrap(), 10);
            assert_eq!(reads(&io), 2);
            sock.write_all(b"bye").await.unwrap();
            sock.close().await.unwrap();
        });
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"bye");
    }
}
