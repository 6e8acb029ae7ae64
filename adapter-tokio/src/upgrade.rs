//! Protocol upgrades (`101 Switching Protocols`, e.g. WebSocket) and
//! `CONNECT` tunnels: after the exchange, the connection's transport is
//! handed to the application as an [`Upgraded`] byte stream.
//!
//! Server: a request that asks for an upgrade (`Connection: upgrade` with
//! `Upgrade`, or `CONNECT`) carries an [`OnUpgrade`] in its extensions; take
//! it with [`on`], answer `101` (or `2xx` to `CONNECT`), and await it.
//! Client: send such a request; [`on`] applied to the `101`/`2xx` response
//! resolves to the tunnel.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use adapter_tokio::{Incoming, upgrade};
//! use http::{Request, Response, StatusCode, header};
//! use http_body_util::Empty;
//! use bytes::Bytes;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! async fn handle(mut req: Request<Incoming>) -> Result<Response<Empty<Bytes>>, Infallible> {
//!     let on_upgrade = upgrade::on(&mut req);
//!     tokio::spawn(async move {
//!         if let Ok(mut io) = on_upgrade.await {
//!             let mut buf = [0u8; 1024];
//!             while let Ok(n) = io.read(&mut buf).await {
//!                 if n == 0 || io.write_all(&buf[..n]).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         }
//!     });
//!     let mut resp = Response::new(Empty::new());
//!     *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
//!     resp.headers_mut().insert(header::CONNECTION, "upgrade".parse().unwrap());
//!     resp.headers_mut().insert(header::UPGRADE, "echo".parse().unwrap());
//!     Ok(resp)
//! }
//! ```

pub use adapter_common::upgrade::UpgradeMessage;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The transport of a connection that switched protocols, with the bytes
/// that had already arrived after the HTTP message (read first).
pub struct Upgraded {
    io: Box<dyn Io>,
    prefix: Bytes,
}

impl Upgraded {
    pub(crate) fn new<IO>(io: IO, prefix: Bytes) -> Self
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Self {
            io: Box::new(io),
            prefix,
        }
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded")
            .field("prefix_len", &self.prefix.len())
            .finish_non_exhaustive()
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A future resolving to the [`Upgraded`] transport once the exchange
/// switched protocols; an error if it did not (any other response, or the
/// connection failed first).
pub type OnUpgrade = adapter_common::upgrade::OnUpgrade<Upgraded>;

/// Takes the upgrade of a request (server) or response (client): accepts
/// `Request<B>`, `&mut Request<B>`, `Response<B>` or `&mut Response<B>`.
pub fn on<M: UpgradeMessage>(msg: M) -> OnUpgrade {
    msg.with_extensions(OnUpgrade::take)
}
