//! TLS (feature `rustls`): the session of one connection, driven entirely
//! by that connection's thread.
//!
//! A rustls connection is one state object for both directions, so it is
//! not shared between threads. Instead the reader thread keeps reading the
//! raw socket and forwards *ciphertext* over the channel, exactly as for
//! plain TCP; the connection thread owns the [`rustls::Connection`],
//! decrypts that input into a small plaintext buffer for the core, and
//! encrypts the core's output before writing it. No lock, no second
//! thread touching rustls, and the read budget still bounds the input
//! (ciphertext counts while queued; rustls' own plaintext buffer and ours
//! are bounded too).
//!
//! The handshake runs before that, on the connection's thread (never the
//! accept loop), directly on the socket with read and write timeouts up to
//! a deadline, so a peer that stalls mid-handshake holds only its own
//! thread, and only until the deadline.

use std::time::Duration;

#[cfg(feature = "rustls")]
pub(crate) use enabled::*;

/// Handshake deadline when the core's header-read timeout is off.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The handshake deadline for a configuration: the header-read timeout
/// (the first bytes of a connection are bounded the same way with or
/// without TLS), else [`HANDSHAKE_TIMEOUT`].
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
pub(crate) fn handshake_timeout(config: &proto_core::Config) -> Duration {
    config.header_read_timeout.unwrap_or(HANDSHAKE_TIMEOUT)
}

#[cfg(feature = "rustls")]
mod enabled {
    use std::collections::VecDeque;
    use std::io::{self, BufRead, IoSlice, Write};
    use std::time::{Duration, Instant};

    use bytes::{Buf, Bytes, BytesMut};

    use crate::body::Credit;
    use crate::transport::Transport;

    /// Most decrypted bytes held for the core (rustls holds up to 16 KiB
    /// more of its own).
    const PLAIN_AHEAD: usize = 64 * 1024;
    /// Gather-list entries per encryption call.
    const MAX_IOV: usize = 64;

    /// A TLS session after its handshake.
    pub(crate) struct Tls {
        conn: rustls::Connection,
        /// Decrypted input not yet taken by the core.
        plain: BytesMut,
        /// The peer sent `close_notify`: no more input.
        peer_closed: bool,
    }

    impl Tls {
        pub(crate) fn new(conn: rustls::Connection) -> Self {
            Self {
                conn,
                plain: BytesMut::new(),
                peer_closed: false,
            }
        }

        /// Decrypted bytes waiting for the core.
        pub(crate) fn plain(&mut self) -> &mut BytesMut {
            &mut self.plain
        }

        pub(crate) fn has_plain(&self) -> bool {
            !self.plain.is_empty()
        }

        /// True once the peer closed the session (`close_notify`).
        pub(crate) fn peer_closed(&self) -> bool {
            self.peer_closed
        }

        /// Moves ciphertext from `input` through rustls into the plaintext
        /// buffer until that holds [`PLAIN_AHEAD`] bytes or the input runs
        /// out; ciphertext rustls took goes back to `budget`. An error is
        /// fatal for the session (rustls queued an alert to send).
        pub(crate) fn decrypt(
            &mut self,
            input: &mut VecDeque<BytesMut>,
            budget: &Credit,
        ) -> io::Result<()> {
            loop {
                self.pull_plain()?;
                if self.peer_closed || self.plain.len() >= PLAIN_AHEAD {
                    return Ok(());
                }
                let Some(front) = input.front_mut() else {
                    return Ok(());
                };
                if front.is_empty() {
                    // Never hand rustls an empty read: it means EOF to it.
                    input.pop_front();
                    continue;
                }
                // Reading from a slice cannot fail: an error means rustls'
                // buffers are full, which `pull_plain` just emptied.
                let n = self.conn.read_tls(&mut &front[..]).unwrap_or(0);
                front.advance(n);
                budget.release(n);
                if front.is_empty() {
                    input.pop_front();
                }
                self.conn
                    .process_new_packets()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                if n == 0 {
                    self.pull_plain()?;
                    return Ok(());
                }
            }
        }

        /// Copies what rustls decrypted into `plain` (up to the bound).
        fn pull_plain(&mut self) -> io::Result<()> {
            let mut reader = self.conn.reader();
            while self.plain.len() < PLAIN_AHEAD {
                let chunk = match reader.fill_buf() {
                    Ok([]) => {
                        self.peer_closed = true;
                        return Ok(());
                    }
                    Ok(chunk) => chunk,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) => return Err(e),
                };
                let n = chunk.len().min(PLAIN_AHEAD - self.plain.len());
                self.plain.extend_from_slice(&chunk[..n]);
                reader.consume(n);
            }
            Ok(())
        }

        /// Encrypts from the core's gather list as much as rustls buffers
        /// (its buffer limit, 64 KiB by default); returns the plaintext
        /// bytes taken (0: write the ciphertext out first).
        pub(crate) fn encrypt(&mut self, chunks: &[Bytes]) -> io::Result<usize> {
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let mut count = 0;
            for (slot, chunk) in iov.iter_mut().zip(chunks) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            self.conn.writer().write_vectored(&iov[..count])
        }

        /// Encrypts from `data` as much as rustls buffers (upgraded
        /// streams).
        pub(crate) fn encrypt_slice(&mut self, data: &[u8]) -> io::Result<usize> {
            self.conn.writer().write(data)
        }

        /// Ciphertext is waiting to be written.
        pub(crate) fn wants_write(&self) -> bool {
            self.conn.wants_write()
        }

        /// Writes buffered ciphertext to `io`.
        pub(crate) fn write_tls(&mut self, io: &mut dyn Write) -> io::Result<usize> {
            self.conn.write_tls(io)
        }

        /// Queues `close_notify`.
        pub(crate) fn close_notify(&mut self) {
            self.conn.send_close_notify();
        }
    }

    /// Runs the handshake of `conn` on `io` with read and write timeouts up
    /// to `timeout` in total; leaves `io` with no read timeout. Ciphertext
    /// rustls read past the handshake (a client's first request often
    /// travels with its `Finished`) stays inside `conn` for the session.
    pub(crate) fn handshake<T: Transport>(
        io: &mut T,
        conn: &mut rustls::Connection,
        timeout: Duration,
    ) -> io::Result<()> {
        let result = handshake_until(io, conn, Instant::now() + timeout);
        let reset = io.set_read_timeout(None);
        result.and(reset)
    }

    fn handshake_until<T: Transport>(
        io: &mut T,
        conn: &mut rustls::Connection,
        deadline: Instant,
    ) -> io::Result<()> {
        let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out");
        while conn.is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out());
            }
            let step = if conn.wants_write() {
                io.set_write_timeout(Some(left))?;
                conn.write_tls(io).map(drop)
            } else {
                io.set_read_timeout(Some(left))?;
                match conn.read_tls(io) {
                    Ok(0) => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "peer closed during the TLS handshake",
                    )),
                    Ok(_) => conn.process_new_packets().map(drop).map_err(|e| {
                        // Tell the peer why (best effort): rustls queued an alert.
                        let _ = conn.write_tls(io);
                        io::Error::new(io::ErrorKind::InvalidData, e)
                    }),
                    Err(e) => Err(e),
                }
            };
            match step {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(timed_out());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Without the feature there is never a session: the driver's TLS paths
/// compile against this uninhabited stand-in and vanish.
#[cfg(not(feature = "rustls"))]
pub(crate) enum Tls {}

#[cfg(not(feature = "rustls"))]
#[allow(clippy::unused_self)]
impl Tls {
    pub(crate) fn plain(&mut self) -> &mut bytes::BytesMut {
        match *self {}
    }

    pub(crate) fn has_plain(&self) -> bool {
        match *self {}
    }

    pub(crate) fn peer_closed(&self) -> bool {
        match *self {}
    }

    pub(crate) fn decrypt(
        &mut self,
        _input: &mut std::collections::VecDeque<bytes::BytesMut>,
        _budget: &crate::body::Credit,
    ) -> std::io::Result<()> {
        match *self {}
    }

    pub(crate) fn encrypt(&mut self, _chunks: &[bytes::Bytes]) -> std::io::Result<usize> {
        match *self {}
    }

    pub(crate) fn encrypt_slice(&mut self, _data: &[u8]) -> std::io::Result<usize> {
        match *self {}
    }

    pub(crate) fn wants_write(&self) -> bool {
        match *self {}
    }

    pub(crate) fn write_tls(&mut self, _io: &mut dyn std::io::Write) -> std::io::Result<usize> {
        match *self {}
    }

    pub(crate) fn close_notify(&mut self) {
        match *self {}
    }
}
