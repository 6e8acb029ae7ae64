//! Protocol upgrades (`101 Switching Protocols`, RFC 9110 §7.8, e.g.
//! WebSocket) and `CONNECT` tunnels (RFC 9110 §9.3.6), HTTP/1.1 only:
//! after the exchange the connection's transport is handed to the
//! application as an [`Upgraded`] blocking byte stream (`Read + Write`),
//! TLS included.
//!
//! Server: a request asking for an upgrade (`Connection: upgrade` with
//! `Upgrade`, or `CONNECT`) carries an [`OnUpgrade`]; take it with [`on`],
//! answer `101` (or `2xx` to `CONNECT`), and [`wait`](OnUpgrade::wait) for
//! the stream on a thread of your own: the handler must return first, so
//! that the response can go out.
//!
//! Client: send such a request; [`on`] applied to the `101`/`2xx` response
//! gives the tunnel.
//!
//! ```no_run
//! use std::io::{Read, Write};
//!
//! use adapter_std::{Body, SendBody, upgrade};
//! use http::{Request, Response, StatusCode, header};
//!
//! fn handle(mut req: Request<Body>) -> Response<SendBody> {
//!     let on_upgrade = upgrade::on(&mut req);
//!     std::thread::spawn(move || {
//!         let Ok(mut io) = on_upgrade.wait() else { return };
//!         let mut buf = [0u8; 4096];
//!         while let Ok(n) = io.read(&mut buf) {
//!             if n == 0 || io.write_all(&buf[..n]).is_err() {
//!                 break;
//!             }
//!         }
//!     });
//!     let mut resp = Response::new(SendBody::empty());
//!     *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
//!     resp.headers_mut().insert(header::CONNECTION, "upgrade".parse().unwrap());
//!     resp.headers_mut().insert(header::UPGRADE, "echo".parse().unwrap());
//!     resp
//! }
//! ```
//!
//! The reader thread of the connection keeps reading the socket for the
//! upgraded stream (what it already read comes first), so reads need no
//! socket of their own; TLS is decrypted and encrypted in the stream's
//! `read` and `write` calls, on the caller's thread. An upgraded
//! connection is the application's: the server's graceful shutdown and its
//! `Stats::active` no longer cover it, and it stays open until dropped (use
//! [`Upgraded::set_read_timeout`] to bound idle reads).

pub use adapter_common::upgrade::UpgradeMessage;
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};

use crate::body::Credit;
use crate::driver::{Cmd, Msg};
use crate::error::Error;
use crate::tls::Tls;
use crate::transport::Transport;

/// The writing side of the transport, type-erased.
trait RawIo: Write + Send {
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
}

impl<T: Transport> RawIo for T {
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        Transport::shutdown(self, how)
    }
}

/// The transport of a connection that switched protocols: a blocking
/// `Read + Write` that first yields the bytes that had already arrived
/// after the HTTP message.
///
/// Dropping it closes the connection.
pub struct Upgraded {
    /// Plaintext received past the message, read first.
    prefix: Bytes,
    /// Input from the reader thread not yet read (ciphertext with TLS).
    input: VecDeque<BytesMut>,
    rx: Receiver<Msg>,
    budget: Arc<Credit>,
    io: Box<dyn RawIo>,
    tls: Option<Box<Tls>>,
    eof: bool,
    read_timeout: Option<Duration>,
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded")
            .field("prefix_len", &self.prefix.len())
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// What a connection thread hands over.
pub(crate) struct Handover<T> {
    pub(crate) prefix: Bytes,
    pub(crate) input: VecDeque<BytesMut>,
    pub(crate) eof: bool,
    pub(crate) rx: Receiver<Msg>,
    pub(crate) budget: Arc<Credit>,
    pub(crate) io: T,
    pub(crate) tls: Option<Box<Tls>>,
}

impl Upgraded {
    pub(crate) fn new<T: Transport>(h: Handover<T>) -> io::Result<Self> {
        // The connection thread wrote with a short timeout to stay
        // responsive; the application's writes block like a socket's.
        h.io.set_write_timeout(None)?;
        Ok(Self {
            prefix: h.prefix,
            input: h.input,
            rx: h.rx,
            budget: h.budget,
            io: Box::new(h.io),
            tls: h.tls,
            eof: h.eof,
            read_timeout: None,
        })
    }

    /// Bounds how long a `read` waits for input (`None`: forever); a read
    /// that times out fails with [`io::ErrorKind::TimedOut`] and can be
    /// retried.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// Ends our sending side (TLS: `close_notify` first); reading goes on
    /// until the peer ends its side.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        if let Some(tls) = self.tls.as_deref_mut() {
            tls.close_notify();
            while tls.wants_write() {
                tls.write_tls(&mut self.io)?;
            }
        }
        self.io.flush()?;
        self.io.shutdown(Shutdown::Write)
    }

    /// Waits for the reader thread's next message; false at the end.
    fn receive(&mut self) -> io::Result<bool> {
        let msg = match self.read_timeout {
            None => self.rx.recv().ok(),
            Some(t) => match self.rx.recv_timeout(t) {
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "read timed out"));
                }
                Err(RecvTimeoutError::Disconnected) => None,
            },
        };
        match msg {
            None => self.eof = true,
            Some(Msg::Input(Ok(data))) if data.is_empty() => self.eof = true,
            Some(Msg::Input(Ok(data))) => self.input.push_back(data),
            Some(Msg::Input(Err(e))) => {
                self.eof = true;
                return Err(e);
            }
            // Requests queued to the connection before it switched.
            Some(Msg::Cmd(Cmd::Request(out))) => out.fail(Error::Canceled),
            // Late commands of the HTTP exchange, server shutdown: not ours.
            Some(_) => {}
        }
        Ok(!self.eof)
    }
}

fn copy_out(from: &mut impl Buf, buf: &mut [u8]) -> usize {
    let n = from.remaining().min(buf.len());
    from.copy_to_slice(&mut buf[..n]);
    n
}

impl Read for Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.prefix.is_empty() {
                return Ok(copy_out(&mut self.prefix, buf));
            }
            if let Some(tls) = self.tls.as_deref_mut() {
                tls.decrypt(&mut self.input, &self.budget)?;
                let plain = tls.plain();
                if !plain.is_empty() {
                    return Ok(copy_out(plain, buf));
                }
                if tls.peer_closed() {
                    return Ok(0);
                }
            } else if let Some(front) = self.input.front_mut() {
                let n = copy_out(front, buf);
                if front.is_empty() {
                    self.input.pop_front();
                }
                self.budget.release(n);
                return Ok(n);
            }
            if self.eof || !self.receive()? {
                return Ok(0);
            }
        }
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(tls) = self.tls.as_deref_mut() else {
            return self.io.write(buf);
        };
        // Whatever an earlier failed write left goes first, so that rustls
        // has room for `buf`.
        while tls.wants_write() {
            tls.write_tls(&mut self.io)?;
        }
        let n = tls.encrypt_slice(buf)?;
        while tls.wants_write() {
            tls.write_tls(&mut self.io)?;
        }
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self.tls {
            None => self.io.write_vectored(bufs),
            Some(_) => {
                let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
                self.write(first)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io.flush()
    }
}

impl Drop for Upgraded {
    fn drop(&mut self) {
        // Ends the reader thread too.
        self.budget.close();
        let _ = self.io.shutdown(Shutdown::Both);
    }
}

/// The upgraded transport of an exchange, once it switched protocols; see
/// the [module docs](self). Cheap to clone (clones share one handoff).
#[derive(Clone)]
pub struct OnUpgrade {
    // In an `Arc<Mutex>` because `http` extensions must be `Clone + Sync`.
    rx: Option<Arc<Mutex<Option<Receiver<Upgraded>>>>>,
}

impl fmt::Debug for OnUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnUpgrade").finish_non_exhaustive()
    }
}

impl OnUpgrade {
    /// The connection's end and the application's.
    pub(crate) fn pair() -> (Sender<Upgraded>, Self) {
        let (tx, rx) = mpsc::channel();
        (
            tx,
            Self {
                rx: Some(Arc::new(Mutex::new(Some(rx)))),
            },
        )
    }

    /// The upgrade of a message that cannot be upgraded: `wait` fails.
    pub fn none() -> Self {
        Self { rx: None }
    }

    fn receiver(self) -> Result<Receiver<Upgraded>, Error> {
        let shared = self.rx.ok_or(Error::NoUpgrade)?;
        let mut slot = shared.lock().unwrap_or_else(PoisonError::into_inner);
        slot.take()
            .ok_or_else(|| Error::InvalidRequest("the upgrade was already taken".into()))
    }

    /// Blocks until the exchange switched protocols (the response went
    /// out, server; arrived, client) and returns the stream; an error if
    /// it did not (another response, the connection failed first, or the
    /// message asked for no upgrade).
    pub fn wait(self) -> Result<Upgraded, Error> {
        self.receiver()?.recv().map_err(|_| Error::NoUpgrade)
    }

    /// [`wait`](Self::wait), at most `timeout`.
    pub fn wait_timeout(self, timeout: Duration) -> Result<Upgraded, Error> {
        match self.receiver()?.recv_timeout(timeout) {
            Ok(io) => Ok(io),
            Err(RecvTimeoutError::Timeout) => Err(Error::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "no upgrade in time",
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(Error::NoUpgrade),
        }
    }

    fn take(ext: &mut http::Extensions) -> Self {
        ext.remove::<Self>().unwrap_or_else(Self::none)
    }
}

/// Takes the upgrade of a request (server) or response (client): accepts
/// `Request<B>`, `&mut Request<B>`, `Response<B>` or `&mut Response<B>`.
pub fn on<M: UpgradeMessage>(msg: M) -> OnUpgrade {
    msg.with_extensions(OnUpgrade::take)
}
