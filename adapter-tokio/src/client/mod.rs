//! The client: connections by URI authority, a keep-alive pool, timeouts.

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
use proto_core::Config;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::body::Incoming;
use crate::error::{BoxError, Error, TimeoutKind};
use conn::{Outgoing, PoolHook};
pub use conn::{SendRequest, handshake};

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Idle connections kept per authority, by default.
const DEFAULT_MAX_IDLE_PER_HOST: usize = 32;

/// Connections by authority (`host:port`). An entry lives as long as its
/// connection; `idle` says whether it can take a request now (the
/// connection task sets it, a checkout clears it).
pub(crate) struct Pool {
    conns: Mutex<HashMap<String, Vec<PoolEntry>>>,
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

    fn checkout(&self, key: &str) -> Option<SendRequest> {
        let mut conns = self.lock();
        let entries = conns.get_mut(key)?;
        entries.retain(|e| !e.sender.is_closed());
        let found = entries
            .iter()
            .find(|e| {
                e.idle
                    .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
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
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    config: Config,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    max_idle_per_host: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            config: Config::default(),
            connect_timeout: None,
            request_timeout: None,
            max_idle_per_host: DEFAULT_MAX_IDLE_PER_HOST,
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
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
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

    /// Most connections kept for reuse per authority (0: no reuse).
    #[must_use]
    pub fn max_idle_per_host(mut self, max: usize) -> Self {
        self.max_idle_per_host = max;
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        let pool = Arc::new(Pool {
            conns: Mutex::new(HashMap::new()),
            max_per_host: self.max_idle_per_host,
        });
        Client {
            inner: Arc::new(ClientInner {
                builder: self,
                pool,
            }),
        }
    }

    /// Starts a connection with these settings over any transport; see
    /// [`handshake`].
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
        conn::connection(io, self.config.clone(), None)
    }
}

/// An HTTP/1.1 client with a keep-alive pool. Cheap to clone (clones share
/// the pool).
///
/// Connects by the URI's authority (`http` only for now); a connection goes
/// back to the pool once its response body has been received in full, and
/// leaves it when it closes (including by the core's idle timeout). A request
/// whose body was complete at once, with an idempotent method, is retried
/// once on a fresh connection if a reused one turns out to be closed.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    builder: ClientBuilder,
    pool: Arc<Pool>,
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

/// `host:port` of an `http` URI.
fn authority(uri: &Uri) -> Result<String, Error> {
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(Error::InvalidRequest("https is not supported yet")),
        Some(_) => return Err(Error::InvalidRequest("unsupported URI scheme")),
        None => {
            return Err(Error::InvalidRequest(
                "the URI must be absolute (http://host/...)",
            ));
        }
    }
    let host = uri
        .host()
        .ok_or(Error::InvalidRequest("the URI has no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    Ok(format!("{host}:{port}"))
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
        let (sender, conn) = handshake(io);
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
        let key = authority(req.uri())?;
        let (parts, body) = req.into_parts();
        let idempotent = parts.method.is_idempotent();
        let out = Outgoing::prepare(&parts, body).await?;
        if let Some(sender) = self.inner.pool.checkout(&key) {
            let replay = if idempotent { out.replay() } else { None };
            match (sender.send(out).await, replay) {
                (Err(e), Some(replay)) if e.is_retryable() => {
                    tracing::debug!(error = %e, "reused connection failed; retrying on a new one");
                    return self.connect(&key).await?.send(replay).await;
                }
                (result, _) => return result,
            }
        }
        self.connect(&key).await?.send(out).await
    }

    async fn connect(&self, key: &str) -> Result<SendRequest, Error> {
        let builder = &self.inner.builder;
        let connecting = TcpStream::connect(key);
        let io = match builder.connect_timeout {
            Some(t) => tokio::time::timeout(t, connecting)
                .await
                .map_err(|_| Error::Timeout(TimeoutKind::Connect))??,
            None => connecting.await?,
        };
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!(error = %e, "set_nodelay failed");
        }
        let conn_id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
        let idle = Arc::new(AtomicBool::new(false));
        let hook = PoolHook {
            pool: Arc::downgrade(&self.inner.pool),
            key: key.to_owned(),
            conn_id,
            idle: idle.clone(),
        };
        let (sender, conn) = conn::connection(io, builder.config.clone(), Some(hook));
        self.inner.pool.register(key, conn_id, sender.clone(), idle);
        let span = tracing::debug_span!("client_conn", authority = %key, id = conn_id);
        tokio::spawn(
            async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "client connection ended with an error");
                }
            }
            .instrument(span),
        );
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_needs_http_and_a_host() {
        let ok = |s: &str| authority(&s.parse::<Uri>().unwrap_or_default());
        assert_eq!(
            ok("http://example.com/a").ok().as_deref(),
            Some("example.com:80")
        );
        assert_eq!(
            ok("http://127.0.0.1:8080").ok().as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(ok("http://[::1]:9/").ok().as_deref(), Some("[::1]:9"));
        assert!(ok("https://example.com/").is_err());
        assert!(ok("/relative").is_err());
    }
}
