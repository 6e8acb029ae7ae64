//! The client: connections by URI authority, a keep-alive pool (HTTP/1.1)
//! or one shared connection per authority (HTTP/2), timeouts.

mod conn;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Buf;
use http::{Request, Response, Uri};
use http_body::Body;
use proto_core::{Config, Protocol};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::body::Incoming;
use crate::error::{BoxError, Error, ErrorExt, TimeoutKind};
use conn::{Failed, Outgoing, PoolHook};
pub use conn::{SendRequest, handshake, handshake_with};

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Idle connections kept per authority, by default.
const DEFAULT_MAX_IDLE_PER_HOST: usize = 32;

/// Connections by scheme and authority (`http://host:port`), so that `http`
/// and `https` never share one. An entry lives as long as its connection.
/// HTTP/1.1: `idle` says whether it can take a request now (the connection
/// task sets it, a checkout clears it). HTTP/2: one connection per key,
/// shared by every request; `idle` says whether it still takes new requests
/// (cleared at GOAWAY, when it also leaves the pool). Over TLS, ALPN decides
/// which of the two a connection is.
pub(crate) struct Pool {
    conns: Mutex<HashMap<String, Vec<PoolEntry>>>,
    /// HTTP/2: one connection attempt per authority at a time, so that
    /// concurrent first requests share one connection.
    connecting: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
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

    /// The shared HTTP/2 connection if it still takes requests, or an idle
    /// HTTP/1.1 connection (taken: no longer idle).
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
    fn connect_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .connecting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(key.to_owned()).or_default().clone()
    }

    /// Forgets `key`'s connect lock once nobody else holds or waits for it.
    fn release_connect_lock(&self, key: &str, lock: Arc<tokio::sync::Mutex<()>>) {
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
    #[cfg(feature = "rustls")]
    tls: Option<rustls::ClientConfig>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            config: Arc::new(Config::default()),
            protocol: Protocol::Auto,
            connect_timeout: None,
            request_timeout: None,
            max_idle_per_host: DEFAULT_MAX_IDLE_PER_HOST,
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
    /// `h2` and `http/1.1`), [`Protocol::Http1`] or
    /// [`Protocol::Http2`] (prior knowledge, see
    /// [`http2_prior_knowledge`](Self::http2_prior_knowledge)). Over TLS it
    /// sets what ALPN offers: `Http1` only `http/1.1`, `Http2` only `h2`,
    /// `Auto` both (the server then chooses).
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

    /// Enables `https://` URIs: TLS with `config`, the server name (SNI and
    /// certificate check) taken from the URI host. If `config` has no ALPN
    /// list, it offers the [`protocol`](Self::protocol)'s (RFC 7301), and
    /// the connection speaks what the server chose: HTTP/2 (`h2`, RFC 9113
    /// §3.2) connections are shared by concurrent requests like prior
    /// knowledge ones, HTTP/1.1 ones pooled. The connect timeout includes
    /// the handshake.
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(config);
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
        let tls = self.tls.clone().map(|config| {
            crate::tls::connector(adapter_common::tls::client_config(config, self.protocol))
        });
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
        conn::connection(io, self.protocol, Arc::clone(&self.config), None)
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
    tls: Option<tokio_rustls::TlsConnector>,
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
#[derive(Debug, PartialEq)]
struct Target {
    /// The pool key, `scheme://host:port`: `http` and `https` never share a
    /// connection.
    key: String,
    /// The host to connect to, and the TLS server name (IPv6: no brackets).
    host: String,
    port: u16,
    https: bool,
}

impl Target {
    fn of(uri: &Uri) -> Result<Self, Error> {
        let (https, default_port) = match uri.scheme_str() {
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
        let scheme = if https { "https" } else { "http" };
        Ok(Self {
            key: format!("{scheme}://{host}:{port}"),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            https,
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

    /// Starts a connection over any transport with default settings and
    /// spawns its task; see [`handshake`].
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
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "client connection ended with an error");
            }
        });
        sender
    }

    /// Sends `req` (absolute `http://` URI) and waits for the response head.
    /// The body may stream: it is sent as the connection takes it, also
    /// while the response is being received.
    pub async fn request<B>(&self, req: Request<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
    {
        match self.inner.builder.request_timeout {
            Some(t) => tokio::time::timeout(t, self.send(req))
                .await
                .map_err(|_| Error::Timeout(TimeoutKind::Request))?,
            None => self.send(req).await,
        }
    }

    /// `GET uri` with an empty body.
    pub async fn get(&self, uri: Uri) -> Result<Response<Incoming>, Error> {
        let mut req = Request::new(http_body_util::Empty::<bytes::Bytes>::new());
        *req.uri_mut() = uri;
        self.request(req).await
    }

    async fn send<B>(&self, req: Request<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
    {
        let target = Target::of(req.uri())?;
        self.check_tls(&target)?;
        let (parts, body) = req.into_parts();
        let idempotent = parts.method.is_idempotent();
        let mut out = Outgoing::prepare(&parts, body).await?;
        let (sender, reused) = self.checkout_or_connect(&target).await?;
        if sender.is_http2() {
            if target.https {
                adapter_common::conv::https_target(&mut out.head);
            }
            return match sender.send_or_return(out).await {
                Ok(resp) => Ok(resp),
                Err(Failed {
                    error,
                    again: Some(out),
                }) => {
                    tracing::debug!(error = %error, "request not processed; sending it on a new connection");
                    self.checkout_or_connect(&target).await?.0.send(out).await
                }
                Err(Failed { error, .. }) => Err(error),
            };
        }
        let replay = if reused && idempotent {
            out.replay()
        } else {
            None
        };
        match (sender.send(out).await, replay) {
            (Err(e), Some(replay)) if e.is_retryable() => {
                tracing::debug!(error = %e, "reused connection failed; retrying on a new one");
                self.connect(&target).await?.send(replay).await
            }
            (result, _) => result,
        }
    }

    /// `https` needs a TLS config.
    fn check_tls(&self, target: &Target) -> Result<(), Error> {
        #[cfg(feature = "rustls")]
        let configured = self.inner.tls.is_some();
        #[cfg(not(feature = "rustls"))]
        let configured = false;
        if target.https && !configured {
            return Err(Error::InvalidRequest(
                "https URIs need ClientBuilder::tls (feature `rustls`)",
            ));
        }
        Ok(())
    }

    /// True if connections to `target` may speak HTTP/2: prior knowledge
    /// over TCP, or `h2` among the ALPN protocols offered over TLS.
    fn may_multiplex(&self, target: &Target) -> bool {
        if target.https {
            #[cfg(feature = "rustls")]
            return self
                .inner
                .tls
                .as_ref()
                .is_some_and(|tls| crate::tls::offers_h2(tls.config()));
            #[cfg(not(feature = "rustls"))]
            return false;
        }
        self.inner.builder.protocol == Protocol::Http2
    }

    /// A pooled connection (the shared HTTP/2 one, or an idle HTTP/1.1 one:
    /// `true`), or a new one (`false`). Where HTTP/2 is possible, one
    /// connection attempt at a time, so that concurrent first requests
    /// share one connection (if ALPN then chooses HTTP/1.1, they connect one
    /// after the other).
    async fn checkout_or_connect(&self, target: &Target) -> Result<(SendRequest, bool), Error> {
        let pool = &self.inner.pool;
        if let Some(sender) = pool.checkout(&target.key) {
            return Ok((sender, true));
        }
        if pool.max_per_host == 0 || !self.may_multiplex(target) {
            return Ok((self.connect(target).await?, false));
        }
        let lock = pool.connect_lock(&target.key);
        let result = {
            let _guard = lock.lock().await;
            match pool.checkout(&target.key) {
                Some(sender) => Ok((sender, true)),
                None => self.connect(target).await.map(|sender| (sender, false)),
            }
        };
        pool.release_connect_lock(&target.key, lock);
        result
    }

    /// A new connection to `target` (TCP, and TLS for `https`), within the
    /// connect timeout.
    async fn connect(&self, target: &Target) -> Result<SendRequest, Error> {
        match self.inner.builder.connect_timeout {
            Some(t) => tokio::time::timeout(t, self.open(target))
                .await
                .map_err(|_| Error::Timeout(TimeoutKind::Connect))?,
            None => self.open(target).await,
        }
    }

    async fn open(&self, target: &Target) -> Result<SendRequest, Error> {
        let io = TcpStream::connect((target.host.as_str(), target.port)).await?;
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!(error = %e, "set_nodelay failed");
        }
        let protocol = self.inner.builder.protocol;
        #[cfg(feature = "rustls")]
        if let (true, Some(tls)) = (target.https, &self.inner.tls) {
            let (io, protocol) = crate::tls::connect(tls, &target.host, io, protocol).await?;
            return Ok(self.start(target, io, protocol));
        }
        // `check_tls` let only `http` through without TLS.
        Ok(self.start(target, io, protocol))
    }

    /// Runs a connection to `target` over `io` in its own task, in the pool.
    fn start<IO>(&self, target: &Target, io: IO, protocol: Protocol) -> SendRequest
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let conn_id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
        // HTTP/2: takes requests until it retires.
        let multiplex = protocol == Protocol::Http2;
        let idle = Arc::new(AtomicBool::new(multiplex));
        let pool = Arc::downgrade(&self.inner.pool);
        let pool_key = target.key.clone();
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
            Arc::clone(&self.inner.builder.config),
            Some(hook),
        );
        self.inner
            .pool
            .register(&target.key, conn_id, sender.clone(), idle);
        let span = tracing::debug_span!("client_conn", target = %target.key, id = conn_id);
        tokio::spawn(
            async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "client connection ended with an error");
                }
            }
            .instrument(span),
        );
        sender
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_needs_http_or_https_and_a_host() {
        let of = |s: &str| Target::of(&s.parse::<Uri>().unwrap_or_default());
        let key = |s: &str| of(s).ok().map(|t| t.key);
        assert_eq!(
            key("http://example.com/a").as_deref(),
            Some("http://example.com:80")
        );
        assert_eq!(
            key("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(key("http://[::1]:9/").as_deref(), Some("http://[::1]:9"));
        assert_eq!(
            key("https://example.com/").as_deref(),
            Some("https://example.com:443")
        );
        assert!(of("ftp://example.com/").is_err());
        assert!(of("/relative").is_err());
    }

    #[test]
    fn target_host_is_a_connectable_name() {
        let t = Target::of(&Uri::from_static("https://[::1]:8443/x"));
        assert!(matches!(t, Ok(Target { ref host, port: 8443, https: true, .. }) if host == "::1"));
    }

    /// Without a TLS config an `https` URI is an error, not a panic.
    #[tokio::test]
    async fn https_without_tls_config_is_an_error() {
        let client = Client::new();
        let result = client.get(Uri::from_static("https://127.0.0.1:1/")).await;
        assert!(
            matches!(result, Err(Error::InvalidRequest(_))),
            "{result:?}"
        );
    }
}
