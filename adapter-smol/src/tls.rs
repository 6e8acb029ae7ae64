//! TLS over rustls (feature `rustls`, through `futures-rustls`): the
//! server's handshake, run inside each connection's task, and the client's,
//! both bounded in time; ALPN (RFC 7301) then picks the protocol the
//! connection speaks (`adapter_common::tls`: `h2` is HTTP/2, RFC 9113 §3.2).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use adapter_common::tls::{
    ALPN_H2, client_config, client_protocol, server_config, server_protocol,
};
use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::{TlsAcceptor, TlsConnector, client, server};
use proto_core::Protocol;
use rustls::pki_types::ServerName;

use crate::error::Error;
use crate::rt::timeout;

/// How long a server's TLS handshake may take when the core's config has no
/// `header_read_timeout` (which bounds it otherwise), and a client's (on
/// top of its connect timeout, if any): a peer that stalls mid-handshake
/// must not hold a connection for ever.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A server's TLS settings: the user's config as given, and the one in use,
/// whose ALPN list (if the user's was empty) follows the builder's protocol.
#[derive(Clone)]
pub(crate) struct ServerTls {
    user: Arc<rustls::ServerConfig>,
    acceptor: TlsAcceptor,
}

impl ServerTls {
    pub(crate) fn new(config: rustls::ServerConfig, protocol: Protocol) -> Self {
        Self::derive(Arc::new(config), protocol)
    }

    /// The same user config for another protocol (the builder's protocol
    /// may be set after its TLS config).
    pub(crate) fn for_protocol(&self, protocol: Protocol) -> Self {
        Self::derive(self.user.clone(), protocol)
    }

    fn derive(user: Arc<rustls::ServerConfig>, protocol: Protocol) -> Self {
        let acceptor = TlsAcceptor::from(server_config((*user).clone(), protocol));
        Self { user, acceptor }
    }

    /// The handshake on an accepted transport, within `limit`; then the
    /// protocol to serve: the one ALPN chose, or `configured` without ALPN.
    pub(crate) async fn accept<IO>(
        &self,
        io: IO,
        limit: Duration,
        configured: Protocol,
    ) -> io::Result<(server::TlsStream<IO>, Protocol)>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let stream = timeout(limit, self.acceptor.accept(io))
            .await
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        let alpn = stream.get_ref().1.alpn_protocol();
        let protocol = server_protocol(alpn, configured);
        tracing::debug!(
            alpn = alpn.map(String::from_utf8_lossy).as_deref(),
            ?protocol,
            "TLS handshake done"
        );
        Ok((stream, protocol))
    }
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("config", &self.user)
            .finish_non_exhaustive()
    }
}

/// A client's TLS connector, its ALPN list (if the user's config had none)
/// following the client's protocol.
#[derive(Clone)]
pub(crate) struct ClientTls {
    connector: TlsConnector,
    offers_h2: bool,
}

impl ClientTls {
    pub(crate) fn new(config: &rustls::ClientConfig, protocol: Protocol) -> Self {
        let config = client_config(config.clone(), protocol);
        let offers_h2 = config.alpn_protocols.iter().any(|p| p == ALPN_H2);
        Self {
            connector: TlsConnector::from(config),
            offers_h2,
        }
    }

    /// True if connections may speak HTTP/2 (`h2` is offered), so that
    /// concurrent first requests should wait for one connection to share.
    pub(crate) fn offers_h2(&self) -> bool {
        self.offers_h2
    }

    /// The handshake with `host` (the URI's host: the SNI name and the name
    /// the certificate must match; an IP address is matched as one), within
    /// [`TLS_HANDSHAKE_TIMEOUT`]; then the protocol ALPN chose.
    pub(crate) async fn connect<IO>(
        &self,
        host: &str,
        io: IO,
        configured: Protocol,
    ) -> Result<(client::TlsStream<IO>, Protocol), Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        // `Uri::host` keeps the brackets of an IPv6 literal.
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let name = ServerName::try_from(bare.to_owned())
            .map_err(|_| Error::InvalidRequest("the URI host is not a valid TLS server name"))?;
        let stream = timeout(TLS_HANDSHAKE_TIMEOUT, self.connector.connect(name, io))
            .await
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        let alpn = stream.get_ref().1.alpn_protocol();
        let protocol = client_protocol(alpn, configured);
        tracing::debug!(
            alpn = alpn.map(String::from_utf8_lossy).as_deref(),
            ?protocol,
            "TLS handshake done"
        );
        Ok((stream, protocol))
    }
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}
