//! The server: accept loop, per-connection tasks, graceful shutdown, counters.

mod conn;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_executor::{Executor, Task};
use async_io::Timer;
use async_net::{AsyncToSocketAddrs, TcpListener, TcpStream};
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::future;
use proto_core::{Config, Protocol, Side};
use tracing::Instrument;

use crate::driver::Driver;
use crate::error::Error;
use crate::rt::{Spawner, deadline};
use crate::service::HttpService;
pub use crate::shutdown::ShutdownHandle;
use conn::ServerHandler;

pub use adapter_common::server::Stats;
use adapter_common::server::{ActiveGuard, StatsExt};

/// Time allowed after the drain deadline for connections to write their
/// last bytes and linger before the server aborts them.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Server and connection settings: the core's [`Config`] (limits and
/// timeouts), the shutdown handle and the counters connections report to.
#[derive(Clone, Debug)]
pub struct Builder {
    /// Shared by every connection made from it.
    config: Arc<Config>,
    protocol: Protocol,
    stats: Stats,
    shutdown: ShutdownHandle,
    spawner: Spawner,
    #[cfg(feature = "rustls")]
    tls: Option<crate::tls::ServerTls>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            config: Arc::new(Config::default()),
            protocol: Protocol::Auto,
            stats: Stats::default(),
            shutdown: ShutdownHandle::default(),
            spawner: Spawner::default(),
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
    ///
    /// With `tls` (feature `rustls`), it is also the ALPN list accepted when the
    /// rustls config has none: `Auto` accepts `h2` and `http/1.1`.
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        #[cfg(feature = "rustls")]
        {
            self.tls = self.tls.map(|tls| tls.for_protocol(protocol));
        }
        self
    }

    /// Serves TLS (rustls): each accepted connection does the handshake in
    /// its own task, never in the accept loop, within the config's
    /// `header_read_timeout` ([`TLS_HANDSHAKE_TIMEOUT`](crate::TLS_HANDSHAKE_TIMEOUT)
    /// if that is `None`); a failed or late
    /// handshake closes that connection only. The protocol is then the one
    /// ALPN chose (RFC 7301: `h2` is HTTP/2, RFC 9113 §3.2; `http/1.1`), or
    /// the builder's [`protocol`](Self::protocol) if the client sent no
    /// ALPN. If `config.alpn_protocols` is empty it is filled in from the
    /// builder's protocol (`Auto`: `h2`, then `http/1.1`), whichever of
    /// `tls` and `protocol` is called first.
    ///
    /// [`serve_connection`](Self::serve_connection) then also expects the
    /// raw (not yet TLS) transport and does the handshake itself.
    ///
    /// ```no_run
    /// use std::convert::Infallible;
    /// use std::sync::Arc;
    ///
    /// use adapter_smol::rustls::{self, RootCertStore, pki_types};
    /// use adapter_smol::{Client, Incoming, Protocol, Server, service_fn};
    /// use bytes::Bytes;
    /// use http_body_util::Full;
    ///
    /// # async fn run(
    /// #     chain: Vec<pki_types::CertificateDer<'static>>,
    /// #     key: pki_types::PrivateKeyDer<'static>,
    /// #     roots: RootCertStore,
    /// # ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let ring = Arc::new(rustls::crypto::ring::default_provider());
    /// let config = rustls::ServerConfig::builder_with_provider(ring.clone())
    ///     .with_safe_default_protocol_versions()?
    ///     .with_no_client_auth()
    ///     .with_single_cert(chain, key)?;
    /// let server = Server::builder().tls(config).bind("127.0.0.1:8443").await?;
    /// smol::spawn(server.serve(service_fn(|_req: http::Request<Incoming>| async {
    ///     Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from("hello"))))
    /// })))
    /// .detach();
    ///
    /// let config = rustls::ClientConfig::builder_with_provider(ring)
    ///     .with_safe_default_protocol_versions()?
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// // `Auto`: offers `h2` and `http/1.1`, speaks what the server chose.
    /// let client = Client::builder().protocol(Protocol::Auto).tls(config).build();
    /// let resp = client.get("https://localhost:8443/".parse()?).await?;
    /// assert_eq!(resp.version(), http::Version::HTTP_2);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls(mut self, config: rustls::ServerConfig) -> Self {
        self.tls = Some(crate::tls::ServerTls::new(config, self.protocol));
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

    /// Spawns connection tasks (from [`Server::serve`]) and per-request
    /// handler tasks on `executor` instead of smol's global executor
    /// (`smol::spawn`). The executor must be run by someone (e.g.
    /// `executor.run(server.serve(service))`, or threads calling
    /// `executor.run(...)`).
    #[must_use]
    pub fn executor(mut self, executor: Arc<Executor<'static>>) -> Self {
        self.spawner = Spawner::new(Some(executor));
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
    pub async fn bind(self, addr: impl AsyncToSocketAddrs) -> io::Result<Server> {
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
    /// `futures-io` stream of any runtime...) until the connection closes. Resolves to
    /// `Ok` for orderly closes (keep-alive ended, idle timeout, shutdown).
    ///
    /// With `tls` (feature `rustls`) set, `io` is the raw transport: the TLS
    /// handshake runs first (see there), and a failed handshake is an
    /// [`Error::Io`].
    pub async fn serve_connection<IO, S>(&self, io: IO, service: S) -> Result<(), Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        self.connection(io, service).await
    }

    /// The connection's future, boxed: it lives as long as the connection,
    /// and wrapping it unboxed (here, in `serve_connection`, in the spawned
    /// task) would store it once per layer.
    fn connection<IO, S>(&self, io: IO, service: S) -> ConnFuture
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        let active = self.stats.connection();
        let shutdown = self.shutdown.subscribe();
        #[cfg(feature = "rustls")]
        if let Some(tls) = self.tls.clone() {
            let builder = self.clone();
            return Box::pin(async move {
                let limit = builder
                    .config
                    .header_read_timeout
                    .unwrap_or(crate::tls::TLS_HANDSHAKE_TIMEOUT);
                // A connection still in its handshake at shutdown has no
                // request to finish: it is dropped.
                let handshake = async { Some(tls.accept(io, limit, builder.protocol).await) };
                let stop = async {
                    shutdown.wait().await;
                    None
                };
                let (io, protocol) = match future::or(handshake, stop).await {
                    Some(Ok(done)) => done,
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return Err(Error::Io(e));
                    }
                    None => return Ok(()),
                };
                let driver = builder.driver(io, protocol, service, active);
                driver.run(Some(shutdown)).await
            });
        }
        Box::pin(
            self.driver(io, self.protocol, service, active)
                .run(Some(shutdown)),
        )
    }

    /// The connection task for an established transport; `active` holds
    /// the connection's place in the stats until the end.
    fn driver<IO, S>(
        &self,
        io: IO,
        protocol: Protocol,
        service: S,
        active: ActiveGuard,
    ) -> Driver<IO, ServerHandler<S>>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        let (tx, rx) = crate::cmd::channel();
        let handler = ServerHandler {
            service,
            tx,
            stats: self.stats.clone(),
            spawner: self.spawner.clone(),
            _active: active,
        };
        Driver::new(
            io,
            Side::Server,
            protocol,
            Arc::clone(&self.config),
            rx,
            handler,
        )
    }
}

/// A connection's future (see `Builder::connection`).
type ConnFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// Serves HTTP/1.1 and HTTP/2 (prior knowledge, [`Protocol::Auto`]) on one
/// transport with default settings; see [`Builder::serve_connection`].
/// Handler tasks go to smol's global executor.
pub async fn serve_connection<IO, S>(io: IO, service: S) -> Result<(), Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService,
{
    Builder::new().serve_connection(io, service).await
}

/// A bound HTTP/1.1 + HTTP/2 server. See the [crate docs](crate) for an example.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    builder: Builder,
}

impl Server {
    /// Binds a TCP listener with default settings.
    pub async fn bind(addr: impl AsyncToSocketAddrs) -> io::Result<Self> {
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

    /// Accepts connections and serves each on its own task (on the
    /// builder's executor, or smol's global one) until the shutdown handle
    /// fires; then stops accepting, lets connections drain and returns once
    /// they are all closed (or canceled after the deadline).
    pub async fn serve<S>(self, service: S) -> io::Result<()>
    where
        S: HttpService,
    {
        let Self { listener, builder } = self;
        let shutdown = builder.shutdown.subscribe();
        let mut conns: Vec<Task<()>> = Vec::new();
        let drain = loop {
            let accepted = future::or(async { Some(listener.accept().await) }, async {
                shutdown.wait().await;
                None
            })
            .await;
            match accepted {
                None => break shutdown.current().unwrap_or_default(),
                Some(Ok((io, peer))) => {
                    conns.retain(|t| !t.is_finished());
                    conns.push(spawn_connection(&builder, io, peer, service.clone()));
                }
                Some(Err(e)) => accept_error(e).await,
            }
        };
        drop(listener);
        conns.retain(|t| !t.is_finished());
        tracing::debug!(connections = conns.len(), ?drain, "shutting down");
        let until = std::time::Instant::now() + drain.saturating_add(CLOSE_GRACE);
        let all_closed = async {
            for task in &mut conns {
                task.await;
            }
        };
        if deadline(until, all_closed).await.is_none() {
            conns.retain(|t| !t.is_finished());
            tracing::debug!(
                connections = conns.len(),
                "canceling connections past the deadline"
            );
            for task in conns {
                let _ = task.cancel().await;
            }
        }
        Ok(())
    }
}

fn spawn_connection<S: HttpService>(
    builder: &Builder,
    io: TcpStream,
    peer: SocketAddr,
    service: S,
) -> Task<()> {
    if let Err(e) = io.set_nodelay(true) {
        tracing::debug!(error = %e, "set_nodelay failed");
    }
    let conn = builder.connection(crate::socket::Socket::from(io), service);
    let span = tracing::debug_span!("conn", %peer);
    builder.spawner.spawn(
        async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        .instrument(span),
    )
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
            Timer::after(Duration::from_millis(100)).await;
        }
    }
}
