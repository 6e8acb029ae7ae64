//! What a connection runs over: a blocking byte stream that can be cloned
//! (one clone is read by the connection's reader thread while the other is
//! written by the connection thread) and shut down from the writing side.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// A blocking, full-duplex byte stream the adapter can serve or call HTTP
/// over.
///
/// Implemented for [`TcpStream`] and (on Unix) for
/// [`std::os::unix::net::UnixStream`]. TLS is not a transport of its own:
/// with the `rustls` feature the adapter runs TLS over any transport (see
/// `Builder::tls`).
pub trait Transport: Read + Write + Send + Sized + 'static {
    /// A second handle on the same stream: the reader thread reads it while
    /// the connection thread writes the original.
    fn try_clone(&self) -> io::Result<Self>;

    /// Bounds how long one `write` may block (`None`: forever). The
    /// connection thread uses a short timeout so that a peer that does not
    /// read cannot keep it from handling input and commands.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// Bounds how long one `read` may block (`None`: forever). Used during
    /// a TLS handshake, so that a stalled peer cannot hold the connection
    /// past its deadline, and (if [`read_timeout_works`] says so) by a
    /// server connection thread that reads the transport itself. The
    /// default does nothing (the handshake is then bounded only by the
    /// peer).
    ///
    /// [`read_timeout_works`]: Transport::read_timeout_works
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// True if [`set_read_timeout`](Transport::set_read_timeout) really
    /// bounds a blocking `read`, and the timeout is shared by the clones
    /// ([`try_clone`](Transport::try_clone)) as a socket option is. A
    /// server then reads such a transport on the connection thread itself
    /// while no other thread takes part in its exchanges (no reader thread,
    /// no hand-off per read). The default, `false`, always uses the reader
    /// thread.
    fn read_timeout_works(&self) -> bool {
        false
    }

    /// Shuts down the reading, writing or both halves; shutting down reading
    /// must wake a thread blocked in `read`.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn try_clone(&self) -> io::Result<Self> {
        Self::try_clone(self)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_write_timeout(self, timeout)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_read_timeout(self, timeout)
    }

    fn read_timeout_works(&self) -> bool {
        true
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        Self::shutdown(self, how)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn try_clone(&self) -> io::Result<Self> {
        Self::try_clone(self)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_write_timeout(self, timeout)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_read_timeout(self, timeout)
    }

    fn read_timeout_works(&self) -> bool {
        true
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        Self::shutdown(self, how)
    }
}
