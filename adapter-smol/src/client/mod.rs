//! The client: connections by URI scheme and authority, a keep-alive pool
//! (HTTP/1.1) or one shared connection per authority (HTTP/2), timeouts,
//! `https://` over rustls (feature `rustls`).

mod conn;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_executor::Executor;
use async_net::TcpStream;
use bytes::Buf;
use futures_io::{AsyncRead, AsyncWrite};
use http::{Request, Response, Uri};
use http_body::Body;
use proto_core::{Config, Protocol};
use tracing::Instrument;

use crate::body::Incoming;
use crate::error::{BoxError, Error, ErrorExt, TimeoutKind};
use crate::rt::{Spawner, timeout};
use conn::{Failed, Outgoing, PoolHook};
pub use conn::{SendRequest, handshake, handshake_with};

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Idle connections kept per authority, by default.
const DEFAULT_MAX_IDLE_PER_HOST: usize = 32;

/// Connections by scheme and authority (`http://host:port`, so that `http`
/// and `https` never share one). An entry lives as long as its connection.
/// HTTP/1.1: `idle` says whether it can take a request now (the connection
/// task sets it, a checkout clears it). HTTP/2: one connection per
/// authority, shared by every request; `idle` says whether it still takes
/// new requests (cleared at GOAWAY, when it also leaves the pool). Over TLS
/// ALPN decides which of the two a connection is, so entries of both kinds
/// may share a key.
pub(crate) struct Pool {
    conns: Mutex<HashMap<String, Vec<PoolEntry>>>,
    /// HTTP/2: one connection attempt per authority at a time, so that
    /// concurrent first requests share one connection.
    connecting: Mutex<HashMap<String, Arc<async_lock::Mutex<()>>>>,
    max_per_host: usize,
}

struct PoolEntry {
    conn_id: u64,
    sender: SendRequest,
    idle: Arc<AtomicBool>,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<PoolEntry>>> {
        // A panic while holding the lock leaves the map consistent.
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An idle HTTP/1.1 connection (taken: no longer idle), or a shared
    /// HTTP/2 connection that still takes requests.
    fn checkout(&self, key: &str) -> Option<SendRequest> {
        let mut conns = self.lock();
        let entries = conns.get_mut(key)?;
        entries.retain(|e| !e.sender.is_closed());
        let found = entries
            .iter()
            .find(|e| {
                if e.sender.is_http2() {
                    e.idle.load(Ordering::Acquire)
                } else {
                    e.idle
                        .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                }
            })
            .map(|e| e.sender.clone());
        if entries.is_empty() {
            conns.remove(key);
        }
        found
    }

    fn register(&self, key: &str, conn_id: u64, sender: SendRequest, idle: Arc<AtomicBool>) {
        let mut conns = self.lock();
        let entries = conns.entry(key.to_owned()).or_default();
        entries.retain(|e| !e.sender.is_closed());
        if entries.len() < self.max_per_host {
            entries.push(PoolEntry {
                conn_id,
                sender,
                idle,
            });
        }
    }

    pub(crate) fn remove(&self, key: &str, conn_id: u64) {
        let mut conns = self.lock();
        if let Some(entries) = conns.get_mut(key) {
            entries.retain(|e| e.conn_id != conn_id);
            if entries.is_empty() {
                conns.remove(key);
            }
        }
    }

    fn len(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// The lock serializing connection attempts to `key`.
    fn connect_lock(&self, key: &str) -> Arc<async_lock::Mutex<()>> {
        let mut map = self
            .connecting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(key.to_owned()).or_default().clone()
    }

    /// Forgets `key`'s connect lock once nobody else holds or waits for it.
    fn release_connect_lock(&self, key: &str, lock: Arc<async_lock::Mutex<()>>) {
        let mut map = self
            .connecting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The map's reference and `lock`: nobody else.
        if Arc::strong_count(&lock) == 2 {
            map.remove(key);
        }
    }
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    /// Shared by every connection made from it.
    config: Arc<Config>,
    protocol: Protocol,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    max_idle_per_host: usize,
    spawner: Spawner,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            config: Arc::new(Config::default()),
            protocol: Protocol::Auto,
            connect_timeout: None,
            request_timeout: None,
            max_idle_per_host: DEFAULT_MAX_IDLE_PER_HOST,
            spawner: Spawner::default(),
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

impl ClientBuilder {
    /// Default settings: no connect or request timeout, 32 pooled
    /// connections per authority, the core's default limits (its
    /// `idle_timeout` closes pooled connections left unused).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the core configuration (limits, idle and `100-continue` timeouts).
    ///
    /// A `Config` or an `Arc<Config>` (connections share it).
    #[must_use]
    pub fn config(mut self, config: impl Into<Arc<Config>>) -> Self {
        self.config = config.into();
        self
    }

    /// Which protocol connections speak: [`Protocol::Auto`] (the default:
    /// HTTP/1.1 over plain TCP, and over TLS whatever the server picks of
    /// `h2` and `http/1.1`), [`Protocol::Http1`] or [`Protocol::Http2`] (prior
    /// knowledge, see [`http2_prior_knowledge`](Self::http2_prior_knowledge)).
    ///
    /// Over TLS it is the ALPN offer (when the rustls config has none):
    /// `Http1` offers `http/1.1`, `Http2` offers `h2`, and `Auto` offers both
    /// and speaks what the server chose.
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Speaks HTTP/2 from the first byte to `http://` authorities (RFC 9113
    /// §3.3): one connection per authority carries every request
    /// concurrently, up to the server's `SETTINGS_MAX_CONCURRENT_STREAMS`
    /// (further requests wait for a stream to end).
    #[must_use]
    pub fn http2_prior_knowledge(self) -> Self {
        self.protocol(Protocol::Http2)
    }

    /// Fails a connection attempt that takes longer than `timeout`.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Fails a request whose response head takes longer than `timeout`
    /// (connecting and sending included).
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Most connections kept for reuse per authority (0: no reuse). HTTP/2
    /// keeps one per authority (unless 0).
    #[must_use]
    pub fn max_idle_per_host(mut self, max: usize) -> Self {
        self.max_idle_per_host = max;
        self
    }

    /// Spawns connection tasks and request-body pumps on `executor` instead
    /// of smol's global executor (`smol::spawn`). The executor must be run
    /// by someone.
    #[must_use]
    pub fn executor(mut self, executor: Arc<Executor<'static>>) -> Self {
        self.spawner = Spawner::new(Some(executor));
        self
    }

    /// Connects `https://` URIs over TLS (rustls) with `config`: the URI's
    /// host is the SNI name and the name the server's certificate must
    /// match. If `config.alpn_protocols` is empty it is filled in from the
    /// [`protocol`](Self::protocol) at [`build`](Self::build) (`Auto`: `h2`,
    /// then `http/1.1`); ALPN's answer (RFC 7301) then decides between
    /// HTTP/2 (RFC 9113 §3.2: multiplexed like prior knowledge) and
    /// HTTP/1.1 (the keep-alive pool). The [`connect_timeout`](Self::connect_timeout)
    /// covers the handshake; either way the handshake alone is bounded by
    /// [`TLS_HANDSHAKE_TIMEOUT`](crate::TLS_HANDSHAKE_TIMEOUT). Without this setting `https://` URIs fail with
    /// [`Error::InvalidRequest`].
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(Arc::new(config));
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        let pool = Arc::new(Pool {
            conns: Mutex::new(HashMap::new()),
            connecting: Mutex::new(HashMap::new()),
            max_per_host: self.max_idle_per_host,
        });
        #[cfg(feature = "rustls")]
        let tls = self
            .tls
            .as_deref()
            .map(|config| crate::tls::ClientTls::new(config, self.protocol));
        Client {
            inner: Arc::new(ClientInner {
                builder: self,
                pool,
                #[cfg(feature = "rustls")]
                tls,
            }),
        }
    }

    /// Starts a connection with these settings (protocol included) over any
    /// transport; see [`handshake`] and [`handshake_with`].
    pub fn handshake<IO>(
        &self,
        io: IO,
    ) -> (
        SendRequest,
        impl Future<Output = Result<(), Error>> + use<IO>,
    )
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        conn::connection(
            io,
            self.protocol,
            Arc::clone(&self.config),
            None,
            self.spawner.clone(),
        )
    }
}

/// An HTTP client with connection reuse. Cheap to clone (clones share the
/// pool).
///
/// Connects by the URI's scheme and authority: `http`, and `https` with
/// `ClientBuilder::tls` (feature `rustls`).
///
/// HTTP/1.1 (the default): a keep-alive pool. A connection goes back to the
/// pool once its response body has been received in full, and leaves it
/// when it closes (including by the core's idle timeout). A request whose
/// body was complete at once, with an idempotent method, is retried once on
/// a fresh connection if a reused one turns out to be closed.
///
/// HTTP/2 ([`ClientBuilder::http2_prior_knowledge`]): one connection per
/// authority, shared by all requests, which run concurrently. After a GOAWAY
/// it leaves the pool and later requests open a new connection; a request
/// the server did not process (refused above the GOAWAY's last stream id, or
/// still queued on the retiring connection) is sent again, once, on the new
/// one if its body was complete at once or not yet read.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    builder: ClientBuilder,
    pool: Arc<Pool>,
    #[cfg(feature = "rustls")]
    tls: Option<crate::tls::ClientTls>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("settings", &self.inner.builder)
            .field("pooled", &self.inner.pool.len())
            .finish()
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// The pool key: scheme and authority.
    key: String,
    /// `host:port` to connect to.
    addr: String,
    /// The URI's host (with an IPv6 literal's brackets).
    host: String,
    tls: bool,
}

impl Target {
    /// The target of an `http` or `https` URI.
    fn new(uri: &Uri) -> Result<Self, Error> {
        let (tls, default_port) = match uri.scheme_str() {
            Some("http") => (false, 80),
            Some("https") => (true, 443),
            Some(_) => return Err(Error::InvalidRequest("unsupported URI scheme")),
            None => {
                return Err(Error::InvalidRequest(
                    "the URI must be absolute (http://host/...)",
                ));
            }
        };
        let host = uri
            .host()
            .ok_or(Error::InvalidRequest("the URI has no host"))?;
        let port = uri.port_u16().unwrap_or(default_port);
        let addr = format!("{host}:{port}");
        let scheme = if tls { "https" } else { "http" };
        Ok(Self {
            key: format!("{scheme}://{addr}"),
            addr,
            host: host.to_owned(),
            tls,
        })
    }
}

impl Client {
    /// A client with default settings.
    pub fn new() -> Self {
        ClientBuilder::new().build()
    }

    /// Client settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Starts a connection over any transport (any `futures-io` stream:
    /// smol's, async-std's, a TLS stream...) with default settings and
    /// spawns its task on smol's global executor; see [`handshake`].
    pub fn from_io<IO>(io: IO) -> SendRequest
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Self::from_io_with(io, Protocol::Http1)
    }

    /// [`Client::from_io`] speaking `protocol` ([`Protocol::Http2`]: prior
    /// knowledge, or after TLS ALPN chose `h2`); see [`handshake_with`].
    pub fn from_io_with<IO>(io: IO, protocol: Protocol) -> SendRequest
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, conn) = handshake_with(io, protocol);
        smol::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "client connection ended with an error");
            }
        })
        .detach();
        sender
    }

    /// Sends `req` (absolute `http://` or `https://` URI) and waits for the
    /// response head.
    /// The body may stream: it is sent as the connection takes it, also
    /// while the response is being received.
    pub async fn request<B>(&self, req: Request<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
    {
        match self.inner.builder.request_timeout {
            Some(t) => timeout(t, self.send(req))
                .await
                .ok_or(Error::Timeout(TimeoutKind::Request))?,
            None => self.send(req).await,
        }
    }

    /// `GET uri` with an empty body.
    pub async fn get(&self, uri: Uri) -> Result<Response<Incoming>, Error> {
        let mut req = Request::new(http_body_util::Empty::<bytes::Bytes>::new());
        *req.uri_mut() = uri;
        self.request(req).await
    }

    /// The target of `uri`, if this client can connect to it.
    fn target(&self, uri: &Uri) -> Result<Target, Error> {
        let target = Target::new(uri)?;
        #[cfg(feature = "rustls")]
        if target.tls && self.inner.tls.is_none() {
            return Err(Error::InvalidRequest(
                "https:// URIs need a TLS config (ClientBuilder::tls)",
            ));
        }
        #[cfg(not(feature = "rustls"))]
        if target.tls {
            return Err(Error::InvalidRequest(
                "https:// URIs need adapter-smol's `rustls` feature",
            ));
        }
        Ok(target)
    }

    async fn send<B>(&self, req: Request<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
    {
        let target = self.target(req.uri())?;
        let (parts, body) = req.into_parts();
        let idempotent = parts.method.is_idempotent();
        let mut out = Outgoing::prepare(&parts, body).await?;
        let (sender, reused) = self.sender(&target).await?;
        if sender.is_http2() {
            if target.tls {
                adapter_common::conv::https_target(&mut out.head);
            }
            // A request the server did not process goes once more, on a new
            // connection.
            return match sender.send_or_return(out).await {
                Ok(resp) => Ok(resp),
                Err(Failed {
                    error,
                    again: Some(out),
                }) => {
                    tracing::debug!(error = %error, "request not processed; sending it on a new connection");
                    self.sender(&target).await?.0.send(out).await
                }
                Err(Failed { error, .. }) => Err(error),
            };
        }
        if reused {
            let replay = if idempotent { out.replay() } else { None };
            match (sender.send(out).await, replay) {
                (Err(e), Some(replay)) if e.is_retryable() => {
                    tracing::debug!(error = %e, "reused connection failed; retrying on a new one");
                    return self.connect(&target).await?.send(replay).await;
                }
                (result, _) => return result,
            }
        }
        sender.send(out).await
    }

    /// A pooled connection (true: reused) or a new one. Where connections
    /// may speak HTTP/2 (prior knowledge, or TLS offering `h2`), one
    /// attempt at a time per target, so that concurrent first requests share
    /// the connection.
    async fn sender(&self, target: &Target) -> Result<(SendRequest, bool), Error> {
        let pool = &self.inner.pool;
        if let Some(sender) = pool.checkout(&target.key) {
            return Ok((sender, true));
        }
        let may_h2 = self.inner.builder.protocol == Protocol::Http2 || self.offers_h2(target);
        if !may_h2 || pool.max_per_host == 0 {
            return Ok((self.connect(target).await?, false));
        }
        let lock = pool.connect_lock(&target.key);
        let result = {
            let _guard = lock.lock().await;
            match pool.checkout(&target.key) {
                Some(sender) => Ok((sender, true)),
                None => self.connect(target).await.map(|s| (s, false)),
            }
        };
        pool.release_connect_lock(&target.key, lock);
        result
    }

    /// True if `target` is TLS and `h2` is offered by ALPN.
    #[cfg(feature = "rustls")]
    fn offers_h2(&self, target: &Target) -> bool {
        target.tls && self.inner.tls.as_ref().is_some_and(|t| t.offers_h2())
    }

    #[cfg(not(feature = "rustls"))]
    fn offers_h2(&self, _: &Target) -> bool {
        false
    }

    /// A new connection to `target`, registered in the pool, within the
    /// connect timeout (TCP and TLS handshake).
    async fn connect(&self, target: &Target) -> Result<SendRequest, Error> {
        // Boxed: a TLS handshake's state is large, and is needed once per
        // connection, not in every request's future.
        let establish = Box::pin(self.establish(target));
        match self.inner.builder.connect_timeout {
            Some(t) => timeout(t, establish)
                .await
                .ok_or(Error::Timeout(TimeoutKind::Connect))?,
            None => establish.await,
        }
    }

    async fn establish(&self, target: &Target) -> Result<SendRequest, Error> {
        let io = TcpStream::connect(target.addr.as_str()).await?;
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!(error = %e, "set_nodelay failed");
        }
        let io = crate::socket::Socket::from(io);
        let protocol = self.inner.builder.protocol;
        #[cfg(feature = "rustls")]
        if target.tls {
            let tls = self.inner.tls.as_ref().ok_or(Error::InvalidRequest(
                "https:// URIs need a TLS config (ClientBuilder::tls)",
            ))?;
            let (io, protocol) = tls.connect(&target.host, io, protocol).await?;
            return Ok(self.start(target, io, protocol));
        }
        Ok(self.start(target, io, protocol))
    }

    /// Spawns the connection task for an established transport.
    fn start<IO>(&self, target: &Target, io: IO, protocol: Protocol) -> SendRequest
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let builder = &self.inner.builder;
        let key = target.key.as_str();
        let conn_id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
        // HTTP/2: takes requests until it retires.
        let multiplex = protocol == Protocol::Http2;
        let idle = Arc::new(AtomicBool::new(multiplex));
        let pool = Arc::downgrade(&self.inner.pool);
        let pool_key = key.to_owned();
        let hook = PoolHook {
            idle: idle.clone(),
            leave: Box::new(move || {
                if let Some(pool) = pool.upgrade() {
                    pool.remove(&pool_key, conn_id);
                }
            }),
        };
        let (sender, conn) = conn::connection(
            io,
            protocol,
            builder.config.clone(),
            Some(hook),
            builder.spawner.clone(),
        );
        self.inner.pool.register(key, conn_id, sender.clone(), idle);
        let span = tracing::debug_span!("client_conn", authority = %key, id = conn_id);
        builder
            .spawner
            .spawn(
                async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "client connection ended with an error");
                    }
                }
                .instrument(span),
            )
            .detach();
        sender
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_needs_http_or_https_and_a_host() {
        let key = |s: &str| {
            Target::new(&s.parse::<Uri>().unwrap_or_default())
                .ok()
                .map(|t| (t.key, t.addr, t.tls))
        };
        let some = |k: &str, a: &str, tls| Some((k.to_owned(), a.to_owned(), tls));
        assert_eq!(
            key("http://example.com/a"),
            some("http://example.com:80", "example.com:80", false)
        );
        assert_eq!(
            key("http://127.0.0.1:8080"),
            some("http://127.0.0.1:8080", "127.0.0.1:8080", false)
        );
        assert_eq!(
            key("http://[::1]:9/"),
            some("http://[::1]:9", "[::1]:9", false)
        );
        // Same authority, another scheme: another pool key.
        assert_eq!(
            key("https://example.com/"),
            some("https://example.com:443", "example.com:443", true)
        );
        assert_eq!(
            key("https://example.com:80/"),
            some("https://example.com:80", "example.com:80", true)
        );
        assert_eq!(key("ftp://example.com/"), None);
        assert_eq!(key("/relative"), None);
    }

    #[test]
    fn https_without_tls_is_an_error() {
        let uri = "https://example.com/".parse::<Uri>().unwrap_or_default();
        assert!(matches!(
            Client::new().target(&uri),
            Err(Error::InvalidRequest(_))
        ));
    }
}
