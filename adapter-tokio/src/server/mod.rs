//! The server: accept loop, per-connection tasks, graceful shutdown, counters.

mod conn;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use proto_core::{Config, Protocol, Side};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::driver::{Driver, ShutdownRx};
use crate::error::Error;
use crate::service::HttpService;
use conn::ServerHandler;

pub use adapter_common::server::Stats;
use adapter_common::server::{ActiveGuard, StatsExt};

/// Time allowed after the drain deadline for connections to write their
/// last bytes and linger before the server aborts them.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Starts a graceful shutdown of a server and of every connection that
/// shares it. Cheap to clone.
///
/// On [`shutdown`](ShutdownHandle::shutdown): the server stops accepting;
/// idle connections close at once; busy ones finish the requests in progress
/// (their responses carry `connection: close`) and close; whatever is left
/// after `drain` is aborted.
#[derive(Clone)]
pub struct ShutdownHandle {
    tx: Arc<watch::Sender<Option<Duration>>>,
}

impl ShutdownHandle {
    /// A handle not yet triggered.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(None)),
        }
    }

    /// Starts the shutdown; connections get `drain` to finish. Later calls
    /// do nothing.
    pub fn shutdown(&self, drain: Duration) {
        self.tx.send_if_modified(|state| {
            if state.is_none() {
                *state = Some(drain);
                true
            } else {
                false
            }
        });
    }

    /// True once [`shutdown`](ShutdownHandle::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.tx.borrow().is_some()
    }

    fn subscribe(&self) -> ShutdownRx {
        self.tx.subscribe()
    }
}

impl Default for ShutdownHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("drain", &*self.tx.borrow())
            .finish()
    }
}

/// Server and connection settings: the core's [`Config`] (limits and
/// timeouts), the shutdown handle and the counters connections report to.
#[derive(Clone, Debug)]
pub struct Builder {
    /// Shared by every connection made from it.
    config: Arc<Config>,
    protocol: Protocol,
    stats: Stats,
    shutdown: ShutdownHandle,
    /// Behind an `Arc`: connection tasks clone the builder.
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            config: Arc::new(Config::default()),
            protocol: Protocol::Auto,
            stats: Stats::default(),
            shutdown: ShutdownHandle::default(),
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

impl Builder {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the core configuration (limits, timeouts) for every connection.
    ///
    /// A `Config` or an `Arc<Config>` (connections share it).
    #[must_use]
    pub fn config(mut self, config: impl Into<Arc<Config>>) -> Self {
        self.config = config.into();
        self
    }

    /// Which protocols to serve: [`Protocol::Auto`] (the default) serves
    /// HTTP/1.1 and HTTP/2 prior knowledge on one port; `Http1` or `Http2`
    /// only one of them (e.g. `Http2` after TLS ALPN chose `h2`).
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Serves TLS: [`Server::serve`] runs the handshake of each accepted
    /// connection in that connection's task (bounded by the config's
    /// `header_read_timeout`, or [`TLS_HANDSHAKE_TIMEOUT`](crate::TLS_HANDSHAKE_TIMEOUT)
    /// without one), then serves the protocol ALPN chose (RFC 7301): `h2`
    /// is HTTP/2 (RFC 9113 §3.2), `http/1.1` HTTP/1.1, and no ALPN the
    /// configured [`protocol`](Self::protocol). If `config` has no ALPN
    /// list, the one for the configured protocol is used (`Auto`: `h2`,
    /// then `http/1.1`), so a server restricted to one protocol refuses
    /// clients that offer only the other. A failed handshake closes only its
    /// connection (logged at debug level).
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls(mut self, config: rustls::ServerConfig) -> Self {
        self.tls = Some(Arc::new(config));
        self
    }

    /// Uses `handle` for graceful shutdown (e.g. one handle for several
    /// servers or for connections served with
    /// [`serve_connection`](Builder::serve_connection)).
    #[must_use]
    pub fn with_shutdown(mut self, handle: ShutdownHandle) -> Self {
        self.shutdown = handle;
        self
    }

    /// Uses `stats` for the counters (e.g. shared between servers).
    #[must_use]
    pub fn with_stats(mut self, stats: Stats) -> Self {
        self.stats = stats;
        self
    }

    /// The shutdown handle connections from this builder observe.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// The counters connections from this builder update.
    pub fn stats(&self) -> Stats {
        self.stats.clone()
    }

    /// Binds a TCP listener.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        Ok(self.listener(listener))
    }

    /// Serves on an existing listener.
    pub fn listener(self, listener: TcpListener) -> Server {
        Server {
            listener,
            builder: self,
        }
    }

    /// Serves HTTP on one transport (a `TcpStream`, a TLS stream, a
    /// `tokio::io::duplex` half...) until the connection closes. Resolves to
    /// `Ok` for orderly closes (keep-alive ended, idle timeout, shutdown).
    // Not an `async fn`: that would store the connection's future twice
    // (once as moved in, once as awaited), and it lives as long as the
    // connection.
    pub fn serve_connection<IO, S>(
        &self,
        io: IO,
        service: S,
    ) -> impl Future<Output = Result<(), Error>> + use<IO, S>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        self.run(io, service, self.protocol, self.stats.connection())
    }

    /// Serves `io` speaking `protocol`; `active` holds the connection's
    /// place in the stats until the end.
    fn run<IO, S>(
        &self,
        io: IO,
        service: S,
        protocol: Protocol,
        active: ActiveGuard,
    ) -> impl Future<Output = Result<(), Error>> + use<IO, S>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        let (tx, rx) = crate::cmd::channel();
        let handler = ServerHandler {
            service,
            tx,
            stats: self.stats.clone(),
            _active: active,
        };
        let driver = Driver::new(
            io,
            Side::Server,
            protocol,
            Arc::clone(&self.config),
            rx,
            handler,
        );
        driver.run(Some(self.shutdown.subscribe()))
    }

    /// A TLS connection: the handshake, then [`run`](Self::run) with the
    /// protocol ALPN chose. All of it runs in the connection's task.
    #[cfg(feature = "rustls")]
    fn tls_connection<S: HttpService>(
        &self,
        acceptor: tokio_rustls::TlsAcceptor,
        io: TcpStream,
        service: S,
    ) -> impl Future<Output = Result<(), Error>> + use<S> {
        let guard = self.stats.connection();
        let handshake = crate::tls::accept(
            acceptor,
            io,
            self.config.header_read_timeout,
            self.protocol,
            self.shutdown.subscribe(),
        );
        let builder = self.clone();
        async move {
            match handshake.await {
                Some((io, protocol)) => builder.run(io, service, protocol, guard).await,
                None => Ok(()),
            }
        }
    }
}

/// Serves HTTP/1.1 on one transport with default settings; see
/// [`Builder::serve_connection`].
pub async fn serve_connection<IO, S>(io: IO, service: S) -> Result<(), Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService,
{
    Builder::new().serve_connection(io, service).await
}

/// A bound HTTP/1.1 server. See the [crate docs](crate) for an example.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    builder: Builder,
}

impl Server {
    /// Binds a TCP listener with default settings.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        Builder::new().bind(addr).await
    }

    /// Settings for a server.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The address the listener is bound to (e.g. to learn a port chosen by
    /// binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The connection and request counters.
    pub fn stats(&self) -> Stats {
        self.builder.stats()
    }

    /// A handle to shut the server down gracefully.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.builder.shutdown_handle()
    }

    /// Accepts connections and serves each on its own task until the
    /// shutdown handle fires; then stops accepting, lets connections drain
    /// and returns once they are all closed (or aborted after the deadline).
    pub async fn serve<S>(self, service: S) -> io::Result<()>
    where
        S: HttpService,
    {
        let Self { listener, builder } = self;
        #[cfg(feature = "rustls")]
        let tls = builder.tls.clone().map(|config| {
            let config = Arc::unwrap_or_clone(config);
            crate::tls::acceptor(adapter_common::tls::server_config(config, builder.protocol))
        });
        let mut shutdown = builder.shutdown.subscribe();
        let mut conns: JoinSet<Result<(), Error>> = JoinSet::new();
        let drain = loop {
            if let Some(drain) = *shutdown.borrow_and_update() {
                break drain;
            }
            tokio::select! {
                biased;
                _ = shutdown.changed() => {}
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((io, peer)) => {
                        let conn = Accepted {
                            io,
                            peer,
                            #[cfg(feature = "rustls")]
                            tls: tls.clone(),
                        };
                        spawn_connection(&builder, &mut conns, conn, service.clone());
                    }
                    Err(e) => accept_error(e).await,
                },
            }
        };
        drop(listener);
        tracing::debug!(connections = conns.len(), ?drain, "shutting down");
        let deadline = drain.saturating_add(CLOSE_GRACE);
        let all_closed = async { while conns.join_next().await.is_some() {} };
        if tokio::time::timeout(deadline, all_closed).await.is_err() {
            tracing::debug!(
                connections = conns.len(),
                "aborting connections past the deadline"
            );
            conns.abort_all();
            while conns.join_next().await.is_some() {}
        }
        Ok(())
    }
}

/// An accepted connection and how to serve it.
struct Accepted {
    io: TcpStream,
    peer: SocketAddr,
    #[cfg(feature = "rustls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

fn spawn_connection<S: HttpService>(
    builder: &Builder,
    // Outcomes, not wrapped in a logging future (that would store each
    // connection's future twice): the connection logs its own end.
    conns: &mut JoinSet<Result<(), Error>>,
    accepted: Accepted,
    service: S,
) {
    let Accepted { io, peer, .. } = accepted;
    if let Err(e) = io.set_nodelay(true) {
        tracing::debug!(error = %e, "set_nodelay failed");
    }
    let span = tracing::debug_span!("conn", %peer);
    #[cfg(feature = "rustls")]
    if let Some(acceptor) = accepted.tls {
        let conn = builder.tls_connection(acceptor, io, service);
        conns.spawn(conn.instrument(span));
        return;
    }
    let conn = builder.serve_connection(io, service);
    conns.spawn(conn.instrument(span));
}

/// Accept errors are about one connection (reset before accept) or about
/// resources (out of file descriptors); neither should stop the server.
async fn accept_error(e: io::Error) {
    match e.kind() {
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::Interrupted => tracing::debug!(error = %e, "accept failed"),
        _ => {
            tracing::error!(error = %e, "accept failed; pausing");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
