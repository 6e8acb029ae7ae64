//! TLS over tokio-rustls: the server's per-connection handshake and the
//! client's connect, each choosing the protocol by ALPN (RFC 7301; `h2` is
//! HTTP/2 over TLS, RFC 9113 §3.2) through [`adapter_common::tls`].

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use proto_core::Protocol;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

use adapter_common::tls::{client_protocol, server_protocol};

use crate::driver::ShutdownRx;
use crate::error::Error;

/// Bound on a server-side TLS handshake when the configuration has no
/// `header_read_timeout` (which bounds it otherwise): a peer that stalls
/// mid-handshake must not hold a connection slot for ever.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Server side: the handshake of one accepted connection, run inside that
/// connection's task so that a slow peer never stalls the accept loop.
/// `None` if it failed, timed out or the server shut down meanwhile (logged;
/// only this connection is affected); else the stream and the protocol that
/// ALPN chose (`configured` if the client sent no ALPN).
pub(crate) fn accept(
    acceptor: TlsAcceptor,
    io: TcpStream,
    timeout: Option<Duration>,
    configured: Protocol,
    mut shutdown: ShutdownRx,
) -> impl Future<Output = Option<(server::TlsStream<TcpStream>, Protocol)>> {
    let timeout = timeout.unwrap_or(TLS_HANDSHAKE_TIMEOUT);
    async move {
        let handshake = tokio::time::timeout(timeout, acceptor.accept(io));
        let stream = tokio::select! {
            done = handshake => match done {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return None;
                }
                Err(_) => {
                    tracing::debug!(?timeout, "TLS handshake timed out");
                    return None;
                }
            },
            _ = shutdown.wait_for(Option::is_some) => {
                tracing::debug!("shutting down: TLS handshake abandoned");
                return None;
            }
        };
        let alpn = stream.get_ref().1.alpn_protocol();
        let protocol = server_protocol(alpn, configured);
        tracing::trace!(?protocol, "TLS handshake done");
        Some((stream, protocol))
    }
}

/// Client side: the TLS handshake over a connected `io` with SNI = `host`,
/// and the protocol that ALPN chose.
pub(crate) async fn connect(
    connector: &TlsConnector,
    host: &str,
    io: TcpStream,
    configured: Protocol,
) -> Result<(client::TlsStream<TcpStream>, Protocol), Error> {
    let name = server_name(host)?;
    let stream = connector.connect(name, io).await?;
    let protocol = client_protocol(stream.get_ref().1.alpn_protocol(), configured);
    Ok((stream, protocol))
}

/// The name the server's certificate is checked against: an IP address for
/// an IP host (IPv6 given without brackets), else a DNS name.
fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.to_owned())
        .map_err(|_| Error::InvalidRequest("the URI host is not a valid TLS server name"))
}

/// True if a client with `config` may end up speaking HTTP/2 (it offers
/// `h2`), so that concurrent first requests should share one connection.
pub(crate) fn offers_h2(config: &rustls::ClientConfig) -> bool {
    config
        .alpn_protocols
        .iter()
        .any(|p| p == adapter_common::tls::ALPN_H2)
}

pub(crate) fn acceptor(config: Arc<rustls::ServerConfig>) -> TlsAcceptor {
    TlsAcceptor::from(config)
}

pub(crate) fn connector(config: Arc<rustls::ClientConfig>) -> TlsConnector {
    TlsConnector::from(config)
}
