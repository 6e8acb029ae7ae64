//! The server: accept loop, a thread per connection, a bounded pool of
//! handler threads, graceful shutdown, counters.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http::{Request, Response, header};
use proto_core::{Config, Event, Method, Protocol, RequestHead, Side, StreamId};

use crate::body::{Body, BodyWriter, Credit, Kind, SEND_WINDOW, SendBody, trailer_fields};
use crate::conv::{self, ReqInfo, recycle_fields, request_parts_from, response_head, status_head};
use crate::direct::{DirectWake, Wake};
use crate::driver::{Cmd, Core, Driver, Msg, Recv, Role, Stream};
use crate::error::Error;
use crate::inbox::Inbox;
use crate::pool::Pool;
use crate::tls::Tls;
use crate::transport::Transport;
use crate::upgrade::OnUpgrade;

/// Time allowed after the drain deadline for connections to write their
/// last bytes before [`Server::serve`] returns without them.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What a server runs per request: any
/// `Fn(Request<Body>) -> Response<SendBody>` that is `Send + Sync`. It runs
/// on a pool thread, except for HTTP/1.1 requests without a body (and not
/// upgrading), which the connection's own thread answers directly: it has
/// nothing else to do meanwhile, and the hand-offs to and from a pool thread
/// cost more than most handlers (a streamed response body still goes to the
/// pool, as it blocks on flow control).
///
/// The request body is a blocking [`std::io::Read`]; the response body is
/// given in full or streamed (see [`SendBody`]).
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, req: Request<Body>) -> Response<SendBody>;
}

impl<F> Handler for F
where
    F: Fn(Request<Body>) -> Response<SendBody> + Send + Sync + 'static,
{
    fn call(&self, req: Request<Body>) -> Response<SendBody> {
        self(req)
    }
}

/// Connection and request counters, shared by the server and its
/// connections. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    inner: Arc<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    accepted: AtomicU64,
    requests: AtomicU64,
    rejected: AtomicU64,
    handshake_failures: AtomicU64,
    active: Mutex<usize>,
    idle: Condvar,
}

impl Stats {
    /// Connections accepted (or handed to `serve_connection`) so far.
    pub fn accepted(&self) -> u64 {
        self.inner.accepted.load(Relaxed)
    }

    /// Connections open now.
    pub fn active(&self) -> usize {
        *self.lock()
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Relaxed)
    }

    /// Requests answered `503` because the handler pool was full.
    pub fn rejected(&self) -> u64 {
        self.inner.rejected.load(Relaxed)
    }

    /// TLS handshakes that failed or timed out (each closed only its own
    /// connection).
    pub fn handshake_failures(&self) -> u64 {
        self.inner.handshake_failures.load(Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        self.inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn connection(&self) -> ActiveGuard {
        self.inner.accepted.fetch_add(1, Relaxed);
        *self.lock() += 1;
        ActiveGuard {
            stats: self.clone(),
        }
    }

    /// Waits until no connection is open, at most `timeout`; true if none is.
    fn wait_idle(&self, timeout: Duration) -> bool {
        let guard = self.lock();
        let (guard, _) = self
            .inner
            .idle
            .wait_timeout_while(guard, timeout, |n| *n > 0)
            .unwrap_or_else(PoisonError::into_inner);
        *guard == 0
    }
}

struct ActiveGuard {
    stats: Stats,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let mut n = self.stats.lock();
        *n = n.saturating_sub(1);
        self.stats.inner.idle.notify_all();
    }
}

/// Starts a graceful shutdown of a server and of every connection that
/// shares it. Cheap to clone.
///
/// On [`shutdown`](ShutdownHandle::shutdown): the server stops accepting
/// (its blocked `accept` is woken by a connection to itself); idle
/// connections close at once; busy ones finish the requests in progress
/// (their responses carry `connection: close`, HTTP/2 sends GOAWAY) and
/// close; whatever is left after `drain` is aborted.
#[derive(Clone, Default)]
pub struct ShutdownHandle {
    inner: Arc<Mutex<ShutdownState>>,
}

/// A connection's channel, and its wake while it reads directly.
type Registered = (Sender<Msg>, Option<Arc<dyn Wake>>);

#[derive(Default)]
struct ShutdownState {
    drain: Option<Duration>,
    next_id: u64,
    conns: HashMap<u64, Registered>,
    /// Listeners to wake from `accept`.
    wake: Vec<SocketAddr>,
}

impl ShutdownHandle {
    /// A handle not yet triggered.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, ShutdownState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the shutdown; connections get `drain` to finish. Later calls
    /// do nothing.
    pub fn shutdown(&self, drain: Duration) {
        let wake = {
            let mut st = self.lock();
            if st.drain.is_some() {
                return;
            }
            st.drain = Some(drain);
            for (tx, wake) in st.conns.values() {
                // The message first: the woken thread looks for it.
                let _ = tx.send(Msg::Shutdown(drain));
                if let Some(wake) = wake {
                    wake.wake();
                }
            }
            std::mem::take(&mut st.wake)
        };
        for addr in wake {
            // A connection the accept loop drops at once.
            let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        }
    }

    /// True once [`shutdown`](ShutdownHandle::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.lock().drain.is_some()
    }

    fn drain(&self) -> Option<Duration> {
        self.lock().drain
    }

    /// Registers a connection; it gets `Shutdown` now if already triggered.
    fn register(&self, tx: &Sender<Msg>, wake: Option<Arc<dyn Wake>>) -> u64 {
        let mut st = self.lock();
        st.next_id += 1;
        let id = st.next_id;
        if let Some(drain) = st.drain {
            let _ = tx.send(Msg::Shutdown(drain));
        } else {
            st.conns.insert(id, (tx.clone(), wake));
        }
        id
    }

    fn deregister(&self, id: u64) {
        self.lock().conns.remove(&id);
    }

    /// Registers a listener; false if the shutdown already started.
    fn add_listener(&self, addr: SocketAddr) -> bool {
        let mut st = self.lock();
        if st.drain.is_some() {
            return false;
        }
        let mut addr = addr;
        if addr.ip().is_unspecified() {
            let ip = match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            };
            addr.set_ip(ip);
        }
        st.wake.push(addr);
        true
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("drain", &self.drain())
            .finish()
    }
}

/// Server and connection settings: the core's [`Config`], the protocol
/// choice, the handler pool's bounds, the shutdown handle and the counters.
#[derive(Clone, Debug)]
pub struct Builder {
    config: Arc<Config>,
    protocol: Protocol,
    workers: usize,
    queue: usize,
    stats: Stats,
    shutdown: ShutdownHandle,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            config: Arc::new(Config::default()),
            protocol: Protocol::Auto,
            workers: 64,
            queue: 1024,
            stats: Stats::default(),
            shutdown: ShutdownHandle::default(),
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

impl Builder {
    /// Default settings: HTTP/1.1 and HTTP/2 prior knowledge on one port,
    /// 64 handler threads, 1,024 queued requests.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the core configuration (limits, timeouts) for every connection
    /// (a `Config` or an `Arc<Config>`: connections share one).
    #[must_use]
    pub fn config(mut self, config: impl Into<Arc<Config>>) -> Self {
        self.config = config.into();
        self
    }

    /// Which protocols to serve: [`Protocol::Auto`] (the default), or only
    /// `Http1` / `Http2`.
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Most handler threads (default 64). A handler streaming a body holds
    /// its thread until the body ends. Threads start as requests need them:
    /// up to one per CPU at once, more only while the running handlers
    /// block (one more each 2 ms in which none finished), so bursts of
    /// quick handlers do not start a thread each.
    #[must_use]
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// Most requests waiting for a handler thread once all are busy
    /// (default 1,024: room for 10 HTTP/2 connections at the default 100
    /// streams each, or 64 connections pipelining 16 deep); more are
    /// answered `503 Service Unavailable` at once by the connection thread
    /// (which keeps reading: other streams and the next requests proceed).
    #[must_use]
    pub fn queue(mut self, n: usize) -> Self {
        self.queue = n;
        self
    }

    /// Uses `handle` for graceful shutdown.
    #[must_use]
    pub fn with_shutdown(mut self, handle: ShutdownHandle) -> Self {
        self.shutdown = handle;
        self
    }

    /// Uses `stats` for the counters.
    #[must_use]
    pub fn with_stats(mut self, stats: Stats) -> Self {
        self.stats = stats;
        self
    }

    /// Serves TLS with `config` (feature `rustls`): each connection's thread
    /// runs the handshake (bounded by the header-read timeout, else 30 s),
    /// then speaks the protocol ALPN chose (RFC 7301): `h2` is HTTP/2
    /// (RFC 9113 §3.2), `http/1.1` HTTP/1.1, no ALPN the configured
    /// protocol. If `config` has no ALPN list, the one for
    /// [`protocol`](Self::protocol) is filled in when serving starts
    /// (`Auto`: `h2`, `http/1.1`), so a client offering only a protocol not
    /// served fails its handshake. Failed handshakes close only their own
    /// connection and are counted in [`Stats::handshake_failures`].
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls(mut self, config: rustls::ServerConfig) -> Self {
        self.tls = Some(Arc::new(config));
        self
    }

    /// The TLS config with its ALPN list filled in from the protocol (once:
    /// afterwards the list is not empty).
    fn finish_tls(&mut self) {
        #[cfg(feature = "rustls")]
        if let Some(config) = self.tls.take_if(|c| c.alpn_protocols.is_empty()) {
            self.tls = Some(adapter_common::tls::server_config(
                (*config).clone(),
                self.protocol,
            ));
        }
    }

    /// TLS handshake if configured: the protocol to speak and the session.
    #[cfg(feature = "rustls")]
    fn start_tls<T: Transport>(&self, io: &mut T) -> Result<(Protocol, Option<Box<Tls>>), Error> {
        let Some(config) = &self.tls else {
            return Ok((self.protocol, None));
        };
        let started = rustls::ServerConnection::new(config.clone())
            .map(rustls::Connection::Server)
            .map_err(io::Error::other)
            .and_then(|mut conn| {
                crate::tls::handshake(io, &mut conn, crate::tls::handshake_timeout(&self.config))
                    .map(|()| conn)
            });
        match started {
            Ok(conn) => {
                let alpn = conn.alpn_protocol();
                let protocol = adapter_common::tls::server_protocol(alpn, self.protocol);
                tracing::debug!(?protocol, "TLS handshake done");
                Ok((protocol, Some(Box::new(Tls::new(conn)))))
            }
            Err(e) => {
                self.stats.inner.handshake_failures.fetch_add(1, Relaxed);
                tracing::debug!(error = %e, "TLS handshake failed");
                Err(Error::Io(e))
            }
        }
    }

    #[cfg(not(feature = "rustls"))]
    #[allow(clippy::unnecessary_wraps)]
    fn start_tls<T: Transport>(&self, _io: &mut T) -> Result<(Protocol, Option<Box<Tls>>), Error> {
        Ok((self.protocol, None))
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
    pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Server> {
        Ok(self.listener(TcpListener::bind(addr)?))
    }

    /// Serves on an existing listener.
    pub fn listener(self, listener: TcpListener) -> Server {
        Server {
            listener,
            builder: self,
        }
    }

    /// Serves HTTP on one transport, on the calling thread, until the
    /// connection closes (handlers run on a pool of this call's own), after
    /// a TLS handshake if `tls` is set (feature `rustls`).
    /// `Ok` for orderly closes (keep-alive ended, idle timeout, shutdown).
    pub fn serve_connection<T: Transport, H: Handler>(
        &self,
        io: T,
        handler: H,
    ) -> Result<(), Error> {
        let pool = Pool::new(self.workers, self.queue);
        let mut builder = self.clone();
        builder.finish_tls();
        builder.connection(io, Arc::new(handler), pool)
    }

    fn connection<T: Transport, H: Handler>(
        &self,
        mut io: T,
        handler: Arc<H>,
        pool: Arc<Pool>,
    ) -> Result<(), Error> {
        let _active = self.stats.connection();
        let (protocol, tls) = self.start_tls(&mut io)?;
        let (tx, rx) = mpsc::channel();
        let direct = if tls.is_none() && io.read_timeout_works() {
            Some(Arc::new(DirectWake::new(&io).map_err(Error::Io)?))
        } else {
            None
        };
        let wake = direct.clone().map(|w| w as Arc<dyn Wake>);
        let reg = self.shutdown.register(&tx, wake);
        let role = ServerRole {
            handler,
            pool,
            stats: self.stats.clone(),
        };
        let result = Driver::new(
            io,
            Side::Server,
            protocol,
            self.config.clone(),
            role,
            (tx, rx),
            tls,
            direct,
        )
        .map_err(Error::Io)
        .and_then(Driver::run);
        self.shutdown.deregister(reg);
        result
    }
}

/// Serves HTTP on one transport with default settings; see
/// [`Builder::serve_connection`].
pub fn serve_connection<T: Transport, H: Handler>(io: T, handler: H) -> Result<(), Error> {
    Builder::new().serve_connection(io, handler)
}

/// A bound server. See the [crate docs](crate) for an example.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    builder: Builder,
}

impl Server {
    /// Binds a TCP listener with default settings.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        Builder::new().bind(addr)
    }

    /// Settings for a server.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The address the listener is bound to.
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

    /// Accepts connections, each served by a thread of its own, until the
    /// shutdown handle fires; then stops accepting, lets connections drain
    /// and returns once they are all closed (or after the drain time plus
    /// a short grace, leaving stragglers to end on their own).
    pub fn serve<H: Handler>(self, handler: H) -> io::Result<()> {
        let Self {
            listener,
            mut builder,
        } = self;
        builder.finish_tls();
        let shutdown = builder.shutdown.clone();
        if shutdown.add_listener(listener.local_addr()?) {
            let handler = Arc::new(handler);
            let pool = Pool::new(builder.workers, builder.queue);
            loop {
                let accepted = listener.accept();
                if shutdown.is_shutdown() {
                    break;
                }
                match accepted {
                    Ok((io, peer)) => spawn_connection(&builder, io, peer, &handler, &pool),
                    Err(e) => accept_error(&e),
                }
            }
        }
        drop(listener);
        let drain = shutdown.drain().unwrap_or_default();
        if !builder.stats.wait_idle(drain.saturating_add(CLOSE_GRACE)) {
            tracing::debug!(
                connections = builder.stats.active(),
                "connections still open past the deadline"
            );
        }
        Ok(())
    }

    /// [`serve`](Server::serve) with a tower service; see [`crate::serve_tower`].
    pub fn serve_tower<S>(self, service: S) -> io::Result<()>
    where
        crate::tower::TowerHandler<S>: Handler,
    {
        self.serve(crate::tower::TowerHandler::new(service))
    }
}

fn spawn_connection<H: Handler>(
    builder: &Builder,
    io: TcpStream,
    peer: SocketAddr,
    handler: &Arc<H>,
    pool: &Arc<Pool>,
) {
    if let Err(e) = io.set_nodelay(true) {
        tracing::debug!(error = %e, "set_nodelay failed");
    }
    let builder = builder.clone();
    let handler = handler.clone();
    let pool = pool.clone();
    let spawned = std::thread::Builder::new()
        .name("http-conn".into())
        .spawn(move || {
            let _span = tracing::debug_span!("conn", %peer).entered();
            if let Err(e) = builder.connection(io, handler, pool) {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start a connection thread");
    }
}

/// Accept errors are about one connection or about resources (out of file
/// descriptors); neither should stop the server.
fn accept_error(e: &io::Error) {
    match e.kind() {
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::Interrupted => tracing::debug!(error = %e, "accept failed"),
        _ => {
            tracing::error!(error = %e, "accept failed; pausing");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

struct ServerRole<H> {
    handler: Arc<H>,
    pool: Arc<Pool>,
    stats: Stats,
}

fn content_length(parts: &http::request::Parts) -> Option<u64> {
    parts
        .headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Runs on a pool thread: the handler, then the response.
fn respond<H: Handler>(handler: &H, req: Request<Body>, key: u64, tx: &Sender<Msg>, info: ReqInfo) {
    if let Some(stream_body) = call_and_answer(handler, req, key, tx, info) {
        stream_body();
    }
}

/// Runs on the connection's own thread (an HTTP/1.1 request without a body:
/// nothing for the handler to wait on that this thread would have to
/// provide): the handler, then the response; a streamed body, which blocks
/// on flow control, goes to the pool.
fn respond_inline<H: Handler>(
    handler: &H,
    req: Request<Body>,
    key: u64,
    tx: &Sender<Msg>,
    info: ReqInfo,
    pool: &Pool,
) {
    let Some(stream_body) = call_and_answer(handler, req, key, tx, info) else {
        return;
    };
    if pool.execute(Box::new(stream_body)).is_err() {
        tracing::warn!(stream = key, "handler pool full; response body aborted");
        let _ = tx.send(Msg::Cmd(Cmd::Abort { key }));
    }
}

/// Calls the handler and sends the response head (and a full body); a
/// streamed body is returned as the work left to do.
fn call_and_answer<H: Handler>(
    handler: &H,
    req: Request<Body>,
    key: u64,
    tx: &Sender<Msg>,
    info: ReqInfo,
) -> Option<impl FnOnce() + Send + 'static> {
    let send = |cmd| {
        let _ = tx.send(Msg::Cmd(cmd));
    };
    let Ok(resp) = catch_unwind(AssertUnwindSafe(|| handler.call(req))) else {
        tracing::error!(stream = key, "handler panicked; answering 500");
        send(Cmd::Abort { key });
        return None;
    };
    let (parts, body) = resp.into_parts();
    let exact = body.len().and_then(|n| u64::try_from(n).ok());
    match body.kind {
        Kind::Full(data) => {
            let head = response_head(&parts, exact, info);
            conv::recycle_header_map(parts.headers);
            send(Cmd::Respond {
                key,
                head,
                data,
                end: true,
                trailers: trailer_fields(body.trailers),
                credit: None,
            });
            None
        }
        Kind::Stream(write) => {
            let head = response_head(&parts, None, info);
            conv::recycle_header_map(parts.headers);
            let credit = Credit::new(SEND_WINDOW);
            send(Cmd::Respond {
                key,
                head,
                data: bytes::Bytes::new(),
                end: false,
                trailers: None,
                credit: Some(credit.clone()),
            });
            let tx = tx.clone();
            let trailers = body.trailers;
            Some(move || {
                let send = |cmd| {
                    let _ = tx.send(Msg::Cmd(cmd));
                };
                let mut w = BodyWriter::new(key, tx.clone(), credit, trailers);
                match catch_unwind(AssertUnwindSafe(|| write(&mut w))) {
                    Ok(Ok(())) => send(Cmd::Finish {
                        key,
                        trailers: w.take_trailers(),
                    }),
                    Ok(Err(e)) => {
                        tracing::debug!(stream = key, error = %e, "response body failed");
                        send(Cmd::Abort { key });
                    }
                    Err(_) => {
                        tracing::error!(stream = key, "response body writer panicked");
                        send(Cmd::Abort { key });
                    }
                }
            })
        }
    }
}

impl<H: Handler> ServerRole<H> {
    fn on_request(
        &mut self,
        core: &mut Core,
        id: StreamId,
        mut head: RequestHead,
        end_stream: bool,
    ) {
        self.stats.inner.requests.fetch_add(1, Relaxed);
        let key = u64::from(id.get());
        let info = ReqInfo {
            is_head: head.method == Method::Head,
            is_connect: head.method == Method::Connect,
        };
        let expect = !end_stream && head.fields.has_token("expect", "100-continue");
        let upgrade = info.is_connect
            || (head.fields.has_token("connection", "upgrade") && head.fields.contains("upgrade"));
        let converted = request_parts_from(&mut head);
        // The head's field storage holds a response head, or else the next
        // request's head.
        recycle_fields(&mut core.conn, head.fields);
        let mut parts = match converted {
            Ok(parts) => parts,
            Err(e) => {
                tracing::debug!(error = %e, "request head not representable; answering 400");
                if let Err(e) = core.conn.send_response(id, status_head(400), true) {
                    tracing::debug!(error = %e, "400 rejected");
                }
                return;
            }
        };
        let mut st = Stream::new(key, id);
        if upgrade && core.conn.version() != proto_core::Version::H2 {
            let (tx, on_upgrade) = OnUpgrade::pair();
            parts.extensions.insert(on_upgrade);
            st.upgrade = Some(tx);
        }
        let body = if end_stream {
            Body::empty()
        } else {
            let (btx, brx) = Inbox::pair();
            st.body = Some(btx);
            st.recv = if expect {
                Recv::WaitFirstRead
            } else {
                Recv::Open
            };
            Body::channel(brx, key, core.tx.clone(), expect, content_length(&parts))
        };
        core.streams.push(st);
        let req = Request::from_parts(parts, body);
        if end_stream && !upgrade && core.conn.version() != proto_core::Version::H2 {
            let _span = tracing::debug_span!("request", stream = key).entered();
            respond_inline(&*self.handler, req, key, &core.tx, info, &self.pool);
            return;
        }
        let handler = self.handler.clone();
        let tx = core.tx.clone();
        let job = Box::new(move || {
            let _span = tracing::debug_span!("request", stream = key).entered();
            respond(&*handler, req, key, &tx, info);
        });
        if self.pool.execute(job).is_err() {
            tracing::warn!(stream = key, "handler pool full; answering 503");
            self.stats.inner.rejected.fetch_add(1, Relaxed);
            if let Some(idx) = core.by_key(key) {
                if let Some(st) = core.streams.get_mut(idx) {
                    st.head_sent = true;
                    st.body = None;
                    st.recv = Recv::Dropped;
                }
                if let Err(e) = core.conn.send_response(id, status_head(503), true) {
                    tracing::debug!(error = %e, "503 rejected");
                }
            }
        }
    }

    fn apply_response(
        core: &mut Core,
        key: u64,
        head: proto_core::ResponseHead,
        data: bytes::Bytes,
        end: bool,
        trailers: Option<proto_core::Fields>,
        credit: Option<Arc<Credit>>,
    ) {
        let Some(idx) = core.by_key(key) else {
            if let Some(credit) = credit {
                credit.close();
            }
            return;
        };
        let Some(st) = core.streams.get_mut(idx) else {
            return;
        };
        let id = st.id;
        if st.head_sent {
            return;
        }
        // A streamed response usually answers as the body arrives (echo,
        // transform): sending its head must not refuse an
        // `Expect: 100-continue` body, so accept it first.
        if credit.is_some() && st.recv == Recv::WaitFirstRead {
            st.recv = Recv::Open;
            if let Err(e) = core.conn.accept_continue(id) {
                tracing::debug!(error = %e, "100 Continue rejected");
            }
        }
        st.credit = credit;
        let end_now = end && data.is_empty() && trailers.is_none();
        if let Err(e) = core.conn.send_response(id, head, end_now) {
            tracing::warn!(error = %e, "response head rejected; answering 500");
            core.abort(idx);
            return;
        }
        st.head_sent = true;
        if !data.is_empty() {
            st.out.pending.push_back(data);
        }
        if end && !end_now {
            st.out.finish = true;
            st.out.trailers = trailers;
        }
        core.flush_send(idx);
    }
}

impl<H: Handler> Role for ServerRole<H> {
    fn on_event(&mut self, core: &mut Core, ev: Event) {
        match ev {
            Event::Request {
                id,
                head,
                end_stream,
            } => self.on_request(core, id, head, end_stream),
            other => tracing::trace!(event = ?other, "ignored"),
        }
    }

    fn on_cmd(&mut self, core: &mut Core, cmd: Cmd) {
        match cmd {
            Cmd::Respond {
                key,
                head,
                data,
                end,
                trailers,
                credit,
            } => Self::apply_response(core, key, head, data, end, trailers, credit),
            Cmd::BodyDropped { key } => {
                let Some(idx) = core.by_key(key) else { return };
                if let Some(st) = core.streams.get_mut(idx) {
                    st.body = None;
                    if st.recv != Recv::Done {
                        st.recv = Recv::Dropped;
                    }
                }
                core.pump_recv(idx);
            }
            Cmd::Request(out) => out.fail(Error::InvalidRequest(
                "a server connection sends no requests".into(),
            )),
            _ => {}
        }
    }
}
