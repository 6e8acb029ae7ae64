//! The blocking client: connections by authority, an HTTP/1.1 keep-alive
//! pool, or one shared HTTP/2 connection per authority (prior knowledge)
//! multiplexing requests from any number of threads.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, Uri};
use proto_core::{Config, ErrorCode, Event, Protocol, RequestHead, Side};

use crate::body::{Body, BodyWriter, Credit, Kind, SEND_WINDOW, SendBody, trailer_fields};
use crate::conv::{request_head, response_parts};
use crate::driver::{Cmd, Core, Driver, Msg, Recv, Role, Stream};
use crate::error::{Error, TimeoutKind};
use crate::inbox::Inbox;
use crate::tls::Tls;
use crate::upgrade::OnUpgrade;

type ResponseTx = Sender<Result<Response<Body>, Error>>;

/// A request on its way to a connection thread.
pub(crate) struct Outgoing {
    key: u64,
    head: RequestHead,
    data: Bytes,
    end: bool,
    /// Sent after `data` when `end`.
    trailers: Option<proto_core::Fields>,
    credit: Option<Arc<Credit>>,
    resp_tx: ResponseTx,
}

impl Outgoing {
    /// Answers the caller with `err` instead of a response.
    pub(crate) fn fail(self, err: Error) {
        if let Some(credit) = &self.credit {
            credit.close();
        }
        let _ = self.resp_tx.send(Err(err));
    }
}

/// What the pool and the connection thread share about one connection.
#[derive(Debug, Default)]
struct ConnState {
    /// Takes new requests (cleared at close and at GOAWAY).
    open: AtomicBool,
    /// HTTP/1.1: no exchange in flight; a checkout clears it.
    idle: Arc<AtomicBool>,
    next_key: AtomicU64,
}

#[derive(Clone)]
struct ConnHandle {
    tx: Sender<Msg>,
    state: Arc<ConnState>,
    /// HTTP/2: shared by concurrent requests.
    multiplex: bool,
}

struct ClientRole {
    state: Arc<ConnState>,
    waiting: VecDeque<Box<Outgoing>>,
    had_work: bool,
}

impl ClientRole {
    fn start(core: &mut Core, out: Outgoing) {
        let Outgoing {
            key,
            head,
            data,
            end,
            trailers,
            credit,
            resp_tx,
        } = out;
        let end_now = end && data.is_empty() && trailers.is_none();
        let upgrade = core.conn.version() != proto_core::Version::H2
            && (head.method == proto_core::Method::Connect
                || (head.fields.has_token("connection", "upgrade")
                    && head.fields.contains("upgrade")));
        let id = match core.conn.send_request(head, end_now) {
            Ok(id) => id,
            Err(e) => {
                if let Some(credit) = credit {
                    credit.close();
                }
                let _ = resp_tx.send(Err(Error::InvalidRequest(e.to_string())));
                return;
            }
        };
        let mut st = Stream::new(key, id);
        st.head_sent = true;
        st.resp_tx = Some(resp_tx);
        st.credit = credit;
        if upgrade {
            let (tx, on_upgrade) = OnUpgrade::pair();
            st.upgrade = Some(tx);
            st.on_upgrade = Some(on_upgrade);
        }
        if !data.is_empty() {
            st.out.pending.push_back(data);
        }
        st.out.finish = end && !end_now;
        st.out.trailers = trailers.filter(|_| st.out.finish);
        let idx = core.streams.push(st);
        core.flush_send(idx);
    }

    fn send_waiting(&mut self, core: &mut Core) {
        while !self.waiting.is_empty() && core.closed.is_none() && core.conn.can_send_request() {
            if let Some(out) = self.waiting.pop_front() {
                Self::start(core, *out);
            }
        }
        // HTTP/1.1 that will not take another request: it is closing.
        if core.conn.version() != proto_core::Version::H2
            && core.streams.is_empty()
            && !core.conn.can_send_request()
        {
            self.state.open.store(false, Ordering::Release);
            for out in self.waiting.drain(..) {
                out.fail(Error::Canceled);
            }
        }
    }

    fn on_response(
        core: &mut Core,
        id: proto_core::StreamId,
        head: proto_core::ResponseHead,
        end_stream: bool,
    ) {
        let Some(idx) = core.by_id(id) else { return };
        let tx = core.tx.clone();
        let Some(st) = core.streams.get_mut(idx) else {
            return;
        };
        let Some(resp_tx) = st.resp_tx.take() else {
            return;
        };
        let mut parts = match response_parts(head) {
            Ok(parts) => parts,
            Err(e) => {
                let _ = resp_tx.send(Err(Error::InvalidResponse(e)));
                st.recv = Recv::Dropped;
                if let Some(mut s) = core.conn.stream(id) {
                    s.reset(ErrorCode::PROTOCOL_ERROR);
                }
                return;
            }
        };
        if let Some(on_upgrade) = st.on_upgrade.take() {
            parts.extensions.insert(on_upgrade);
        }
        let body = if end_stream {
            // HTTP/1.1: reusable before the caller sees the response, so a
            // request sent right after finds the connection in the pool
            // (as at the end of a body, see `Core::pump_recv`).
            if let Some(idle) = &core.idle_on_end {
                if core.closed.is_none() && core.conn.can_send_request() {
                    idle.store(true, Ordering::Release);
                }
            }
            Body::empty()
        } else {
            let (btx, brx) = Inbox::pair();
            st.body = Some(btx);
            st.recv = Recv::Open;
            let size = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            Body::channel(brx, st.key, tx, false, size)
        };
        if resp_tx.send(Ok(Response::from_parts(parts, body))).is_err() {
            // The caller is gone (its `Body` was dropped with the response).
            return;
        }
        core.pump_recv(idx);
    }
}

impl Role for ClientRole {
    fn on_event(&mut self, core: &mut Core, ev: Event) {
        match ev {
            Event::Response {
                id,
                head,
                end_stream,
            } => Self::on_response(core, id, head, end_stream),
            Event::StreamsAvailable => self.send_waiting(core),
            Event::GoAway { remote: true, .. } => self.state.open.store(false, Ordering::Release),
            other => tracing::trace!(event = ?other, "ignored"),
        }
    }

    fn on_cmd(&mut self, core: &mut Core, cmd: Cmd) {
        match cmd {
            Cmd::Request(out) => {
                self.waiting.push_back(out);
                self.send_waiting(core);
            }
            Cmd::BodyDropped { key } => {
                let Some(idx) = core.by_key(key) else { return };
                let Some(st) = core.streams.get_mut(idx) else {
                    return;
                };
                st.body = None;
                if st.recv != Recv::Done {
                    st.recv = Recv::Dropped;
                    if let Some(mut s) = core.conn.stream(st.id) {
                        s.reset(ErrorCode::CANCEL);
                    }
                }
            }
            _ => {}
        }
    }

    fn after_turn(&mut self, core: &mut Core) {
        let has_work = !core.streams.is_empty() || !self.waiting.is_empty();
        if self.had_work && !has_work && core.closed.is_none() && core.conn.can_send_request() {
            self.state.idle.store(true, Ordering::Release);
        }
        self.had_work = has_work;
    }

    fn on_close(&mut self, _core: &mut Core, err: &Error) {
        self.state.open.store(false, Ordering::Release);
        self.state.idle.store(false, Ordering::Release);
        for out in self.waiting.drain(..) {
            out.fail(err.duplicate());
        }
    }
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    config: Arc<Config>,
    protocol: Protocol,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
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
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

impl ClientBuilder {
    /// Sets the core configuration (limits, timeouts) for every connection
    /// (a `Config` or an `Arc<Config>`: connections share one).
    #[must_use]
    pub fn config(mut self, config: impl Into<Arc<Config>>) -> Self {
        self.config = config.into();
        self
    }

    /// Which protocol connections speak: [`Protocol::Auto`] (the default;
    /// `http://`: HTTP/1.1; `https://`: offers `h2` and `http/1.1` and
    /// speaks what the server picks), [`Protocol::Http1`], or
    /// [`Protocol::Http2`] (prior knowledge on `http://`, ALPN `h2` only on
    /// `https://`).
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Bounds establishing each new connection (TCP connect; the TLS
    /// handshake is bounded by the config's header-read timeout).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Bounds each request from the call until the response head arrives
    /// (time spent connecting counts): past it the request is abandoned
    /// (its stream reset) and [`Error::Timeout`] returned.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Speaks HTTP/2 from the first byte (prior knowledge, RFC 9113 §3.3):
    /// one connection per authority carries every request, from any thread.
    #[must_use]
    pub fn http2_prior_knowledge(self) -> Self {
        self.protocol(Protocol::Http2)
    }

    /// Enables `https://` URIs with `config` (feature `rustls`): SNI and
    /// certificate name are the URI's host; if `config` has no ALPN list,
    /// the one for the [`protocol`](Self::protocol) is offered, and the
    /// connection speaks what the server selected (RFC 7301). HTTP/2 over
    /// TLS multiplexes like prior knowledge. The handshake is bounded by
    /// the config's header-read timeout (else 30 s).
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client {
            inner: Arc::new(ClientInner {
                #[cfg(feature = "rustls")]
                tls: self
                    .tls
                    .map(|c| adapter_common::tls::client_config(c, self.protocol)),
                config: self.config,
                protocol: self.protocol,
                connect_timeout: self.connect_timeout,
                request_timeout: self.request_timeout,
                conns: Mutex::new(HashMap::new()),
                connect_lock: Mutex::new(()),
                opened: AtomicU64::new(0),
            }),
        }
    }
}

/// Where a request goes: the pool key (scheme and authority, so `http`
/// and `https` never share a connection) and how to connect.
struct Target {
    key: String,
    /// `host:port` to connect to.
    addr: String,
    /// The host for SNI (no brackets around IPv6 literals).
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    host: String,
    tls: bool,
}

impl Target {
    fn of(uri: &Uri) -> Result<Self, Error> {
        let tls = match uri.scheme_str() {
            None | Some("http") => false,
            Some("https") => true,
            Some(other) => {
                return Err(Error::InvalidRequest(format!(
                    "unsupported scheme {other} (http or https)"
                )));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| Error::InvalidRequest("the URI has no authority".into()))?;
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let addr = format!("{}:{port}", authority.host());
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let scheme = if tls { "https" } else { "http" };
        Ok(Self {
            key: format!("{scheme}://{addr}"),
            addr,
            host,
            tls,
        })
    }
}

struct ClientInner {
    config: Arc<Config>,
    protocol: Protocol,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
    conns: Mutex<HashMap<String, Vec<ConnHandle>>>,
    /// HTTP/2: one connection attempt at a time, so that concurrent first
    /// requests share one connection.
    connect_lock: Mutex<()>,
    opened: AtomicU64,
}

/// A blocking HTTP client. Cheap to clone; clones share connections.
///
/// HTTP/1.1 connections are kept alive and reused per authority (one
/// exchange at a time each; a busy pool opens another connection). With
/// [`ClientBuilder::http2_prior_knowledge`], one connection per authority
/// multiplexes every request. Each connection has a thread of its own (plus
/// a reader thread); `request` blocks the calling thread until the response
/// head arrives, and the body is read through a blocking [`Body`].
///
/// `https` URIs need the `rustls` feature and `ClientBuilder::tls`; over
/// TLS, ALPN decides between HTTP/1.1 and HTTP/2 per connection. Idle
/// connections close after the core's `idle_timeout`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("protocol", &self.inner.protocol)
            .field("opened", &self.connections_opened())
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Client {
    /// A client with default settings (HTTP/1.1).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Settings for a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Connections this client opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.inner.opened.load(Ordering::Relaxed)
    }

    /// `GET uri`.
    pub fn get<U>(&self, uri: U) -> Result<Response<Body>, Error>
    where
        U: TryInto<Uri>,
        U::Error: fmt::Display,
    {
        let uri = uri
            .try_into()
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let mut req = Request::new(SendBody::empty());
        *req.uri_mut() = uri;
        self.request(req)
    }

    /// Sends `req` and waits for the response head. The body, if streamed
    /// ([`SendBody::writer`]), is written by a thread of its own meanwhile.
    pub fn request(&self, req: Request<SendBody>) -> Result<Response<Body>, Error> {
        let (parts, body) = req.into_parts();
        let target = Target::of(&parts.uri)?;
        if target.tls && !self.has_tls() {
            return Err(no_tls());
        }
        let exact = body.len().and_then(|n| u64::try_from(n).ok());
        let head = request_head(&parts, exact);
        let (data, mut write, trailers) = match body.kind {
            Kind::Full(data) => (data, None, trailer_fields(body.trailers)),
            // A streamed body's writer sends its trailers at its end.
            Kind::Stream(f) => (Bytes::new(), Some((f, body.trailers)), None),
        };
        // A streamed body is gone after one attempt: no retry then.
        let streamed = write.is_some();
        let deadline = self.inner.request_timeout.map(|t| Instant::now() + t);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (conn, reused) = self.checkout(&target)?;
            let (resp_tx, resp_rx) = mpsc::channel();
            let out_key = conn.state.next_key.fetch_add(1, Ordering::Relaxed);
            let credit = write.as_ref().map(|_| Credit::new(SEND_WINDOW));
            let mut sent_head = head.clone();
            if conn.multiplex && target.tls {
                adapter_common::conv::https_target(&mut sent_head);
            }
            let out = Outgoing {
                key: out_key,
                head: sent_head,
                data: data.clone(),
                end: write.is_none(),
                trailers: trailers.clone(),
                credit: credit.clone(),
                resp_tx,
            };
            if conn.tx.send(Msg::Cmd(Cmd::Request(Box::new(out)))).is_err() {
                conn.state.open.store(false, Ordering::Release);
                if attempt < 2 {
                    continue;
                }
                return Err(Error::Canceled);
            }
            if let (Some((f, trailers)), Some(credit)) = (write.take(), credit) {
                spawn_writer(f, trailers, out_key, conn.tx.clone(), credit);
            }
            let result = match deadline {
                None => resp_rx.recv().unwrap_or(Err(Error::Canceled)),
                Some(at) => {
                    match resp_rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                        Ok(result) => result,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            // Abandon the exchange: the connection resets it.
                            let _ = conn.tx.send(Msg::Cmd(Cmd::Abort { key: out_key }));
                            return Err(Error::Timeout(TimeoutKind::Request));
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Canceled),
                    }
                }
            };
            match result {
                Err(Error::Canceled | Error::Closed(proto_core::CloseReason::Done))
                    if reused && attempt < 2 && !streamed && head_retryable(&head) =>
                {
                    tracing::debug!("pooled connection closed under the request; retrying");
                }
                other => return other,
            }
        }
    }

    /// A connection for `target`: an idle HTTP/1.1 one, the shared HTTP/2
    /// one, or a new one. True if it was reused.
    fn checkout(&self, target: &Target) -> Result<(ConnHandle, bool), Error> {
        let key = target.key.as_str();
        if let Some(conn) = self.find(key) {
            return Ok((conn, true));
        }
        // A connection that may turn out HTTP/2: one attempt at a time, so
        // that concurrent first requests share it.
        let may_multiplex = self.inner.protocol == Protocol::Http2
            || (target.tls && self.inner.protocol == Protocol::Auto);
        let _guard = may_multiplex.then(|| lock(&self.inner.connect_lock));
        if may_multiplex {
            if let Some(conn) = self.find(key) {
                return Ok((conn, true));
            }
        }
        let conn = self.connect(target)?;
        conn.state.open.store(true, Ordering::Release);
        lock(&self.inner.conns)
            .entry(key.to_owned())
            .or_default()
            .push(conn.clone());
        Ok((conn, false))
    }

    fn find(&self, key: &str) -> Option<ConnHandle> {
        let mut conns = lock(&self.inner.conns);
        let entries = conns.get_mut(key)?;
        entries.retain(|c| c.state.open.load(Ordering::Acquire));
        let found = entries
            .iter()
            .find(|c| {
                c.multiplex
                    || c.state
                        .idle
                        .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
            })
            .cloned();
        if entries.is_empty() {
            conns.remove(key);
        }
        found
    }

    fn connect(&self, target: &Target) -> Result<ConnHandle, Error> {
        let mut io = match self.inner.connect_timeout {
            None => TcpStream::connect(target.addr.as_str())?,
            Some(t) => connect_within(target.addr.as_str(), t)?,
        };
        io.set_nodelay(true)?;
        self.inner.opened.fetch_add(1, Ordering::Relaxed);
        let (protocol, tls) = self.start_tls(&mut io, target)?;
        let multiplex = protocol == Protocol::Http2;
        let state = Arc::new(ConnState::default());
        let (tx, rx) = mpsc::channel();
        let role = ClientRole {
            state: state.clone(),
            waiting: VecDeque::new(),
            had_work: false,
        };
        let mut driver = Driver::new(
            io,
            Side::Client,
            protocol,
            self.inner.config.clone(),
            role,
            (tx.clone(), rx),
            tls,
            None,
        )?;
        if !multiplex {
            driver.set_idle_on_end(idle_flag(&state));
        }
        let peer = target.key.clone();
        std::thread::Builder::new()
            .name("http-client-conn".into())
            .spawn(move || {
                let _span = tracing::debug_span!("client conn", %peer).entered();
                if let Err(e) = driver.run() {
                    tracing::debug!(error = %e, "client connection ended with an error");
                }
            })?;
        Ok(ConnHandle {
            tx,
            state,
            multiplex,
        })
    }

    fn has_tls(&self) -> bool {
        #[cfg(feature = "rustls")]
        return self.inner.tls.is_some();
        #[cfg(not(feature = "rustls"))]
        false
    }

    /// For `https`: the TLS handshake (SNI = the URI's host), then the
    /// protocol ALPN chose. For `http`: the configured protocol
    /// (`Auto` is HTTP/1.1 there).
    #[cfg(feature = "rustls")]
    fn start_tls(
        &self,
        io: &mut TcpStream,
        target: &Target,
    ) -> Result<(Protocol, Option<Box<Tls>>), Error> {
        if !target.tls {
            return Ok((plain_protocol(self.inner.protocol), None));
        }
        let config = self.inner.tls.clone().ok_or_else(no_tls)?;
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| Error::InvalidRequest(format!("bad TLS server name: {e}")))?;
        let mut conn = rustls::ClientConnection::new(config, name)
            .map(rustls::Connection::Client)
            .map_err(|e| Error::Io(std::io::Error::other(e)))?;
        crate::tls::handshake(
            io,
            &mut conn,
            crate::tls::handshake_timeout(&self.inner.config),
        )?;
        let protocol =
            adapter_common::tls::client_protocol(conn.alpn_protocol(), self.inner.protocol);
        tracing::debug!(?protocol, "TLS handshake done");
        Ok((protocol, Some(Box::new(Tls::new(conn)))))
    }

    #[cfg(not(feature = "rustls"))]
    fn start_tls(
        &self,
        _io: &mut TcpStream,
        target: &Target,
    ) -> Result<(Protocol, Option<Box<Tls>>), Error> {
        if target.tls {
            return Err(no_tls());
        }
        Ok((plain_protocol(self.inner.protocol), None))
    }
}

/// Without TLS, `Auto` means HTTP/1.1 for a client.
fn plain_protocol(protocol: Protocol) -> Protocol {
    if protocol == Protocol::Http2 {
        Protocol::Http2
    } else {
        Protocol::Http1
    }
}

fn no_tls() -> Error {
    let why = if cfg!(feature = "rustls") {
        "https URI but no TLS config (ClientBuilder::tls)"
    } else {
        "https URI but adapter-std was built without the `rustls` feature"
    };
    Error::InvalidRequest(why.into())
}

fn idle_flag(state: &ConnState) -> Arc<AtomicBool> {
    state.idle.clone()
}

/// Idempotent methods may be retried on a fresh connection when a pooled
/// one turns out to be closed (RFC 9110 §9.2.2).
fn head_retryable(head: &RequestHead) -> bool {
    use proto_core::Method;
    matches!(
        head.method,
        Method::Get | Method::Head | Method::Options | Method::Put | Method::Delete | Method::Trace
    )
}

type WriteFn = Box<dyn FnOnce(&mut BodyWriter) -> std::io::Result<()> + Send>;

fn spawn_writer(
    f: WriteFn,
    trailers: Option<http::HeaderMap>,
    key: u64,
    tx: Sender<Msg>,
    credit: Arc<Credit>,
) {
    let done_tx = tx.clone();
    let fail_tx = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("http-body-writer".into())
        .spawn(move || {
            let mut w = BodyWriter::new(key, tx, credit, trailers);
            let cmd = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut w))) {
                Ok(Ok(())) => Cmd::Finish {
                    key,
                    trailers: w.take_trailers(),
                },
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "request body failed");
                    Cmd::Abort { key }
                }
                Err(_) => Cmd::Abort { key },
            };
            let _ = done_tx.send(Msg::Cmd(cmd));
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start a body writer thread");
        let _ = fail_tx.send(Msg::Cmd(Cmd::Abort { key }));
    }
}

/// Connects to the first address of `addr` that answers within `timeout`
/// (counted for all of them together).
fn connect_within(addr: &str, timeout: Duration) -> Result<TcpStream, Error> {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    for sa in addr.to_socket_addrs()? {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&sa, left) {
            Ok(io) => return Ok(io),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) if e.kind() != std::io::ErrorKind::TimedOut => Err(e.into()),
        _ => Err(Error::Timeout(TimeoutKind::Connect)),
    }
}
