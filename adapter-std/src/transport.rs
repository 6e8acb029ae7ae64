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
/// [`std::os::unix::net::UnixStream`]. A TLS stream qualifies if it can hand
/// out a second handle on the same session (e.g. behind an `Arc<Mutex<_>>`
/// whose reads do not hold the lock while blocked).
pub trait Transport: Read + Write + Send + Sized + 'static {
    /// A second handle on the same stream: the reader thread reads it while
    /// the connection thread writes the original.
    fn try_clone(&self) -> io::Result<Self>;

    /// Bounds how long one `write` may block (`None`: forever). The
    /// connection thread uses a short timeout so that a peer that does not
    /// read cannot keep it from handling input and commands.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

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

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        Self::shutdown(self, how)
    }
}
