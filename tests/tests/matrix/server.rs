//! Servers: one of each adapter, started in-process on 127.0.0.1:0 with the
//! common handler set ([`super::routes`]). The tokio runtime and smol's
//! global executor are shared by every cell of the matrix; std servers run
//! on threads of their own.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use adapter_tokio::{Config, Protocol};
use http::Request;

use super::common::{Ctx, DEADLINE};
use super::routes::{serve_async, serve_std};
use super::tls;

/// One tokio runtime for the whole matrix (servers and clients).
pub static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
});

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    Tokio,
    Smol,
    Std,
    /// A `TcpListener` the scenario answers by hand, to check what a client
    /// puts on the wire (no [`Server`]: starting one panics).
    Raw,
}

impl ServerKind {
    pub fn from_name(name: &str) -> Self {
        match name {
            "tokio_server" => Self::Tokio,
            "smol_server" => Self::Smol,
            "std_server" => Self::Std,
            "raw_server" => Self::Raw,
            other => panic!("unknown server column {other}"),
        }
    }
}

/// How to start a server.
#[derive(Clone)]
pub struct ServerOpts {
    pub config: Config,
    pub protocol: Protocol,
    /// Serve TLS with the matrix certificate ([`super::tls`]).
    pub tls: bool,
}

impl Default for ServerOpts {
    fn default() -> Self {
        Self {
            config: Config::default(),
            protocol: Protocol::Auto,
            tls: false,
        }
    }
}

enum Stats {
    Async(adapter_tokio::Stats),
    Std(adapter_std::Stats),
}

enum Shutdown {
    Tokio(adapter_tokio::ShutdownHandle),
    Smol(adapter_smol::ShutdownHandle),
    Std(adapter_std::ShutdownHandle),
}

/// A running server. Dropping it opens the gate and shuts it down with no
/// drain, so nothing of one cell outlives it for long.
pub struct Server {
    pub kind: ServerKind,
    pub addr: SocketAddr,
    pub ctx: Arc<Ctx>,
    stats: Stats,
    shutdown: Shutdown,
    stopped: mpsc::Receiver<()>,
}

impl Server {
    pub fn start(kind: ServerKind) -> Self {
        Self::start_with(kind, ServerOpts::default())
    }

    pub fn start_with(kind: ServerKind, opts: ServerOpts) -> Self {
        let ctx = Ctx::new();
        let (done_tx, stopped) = mpsc::channel();
        let (addr, stats, shutdown) = match kind {
            ServerKind::Tokio => start_tokio(opts, ctx.clone(), done_tx),
            ServerKind::Smol => start_smol(opts, ctx.clone(), done_tx),
            ServerKind::Std => start_std(opts, ctx.clone(), done_tx),
            ServerKind::Raw => panic!("the raw server is the scenario's own listener"),
        };
        Self {
            kind,
            addr,
            ctx,
            stats,
            shutdown,
            stopped,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        match &self.stats {
            Stats::Async(s) => s.accepted(),
            Stats::Std(s) => s.accepted(),
        }
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        match &self.stats {
            Stats::Async(s) => s.requests(),
            Stats::Std(s) => s.requests(),
        }
    }

    /// Starts a graceful shutdown.
    pub fn shutdown(&self, drain: Duration) {
        match &self.shutdown {
            Shutdown::Tokio(h) => h.shutdown(drain),
            Shutdown::Smol(h) => h.shutdown(drain),
            Shutdown::Std(h) => h.shutdown(drain),
        }
    }

    /// Waits for `serve` to return (after a shutdown), at most `DEADLINE`.
    #[track_caller]
    pub fn wait_stopped(&self) {
        if self.stopped.recv_timeout(DEADLINE).is_err() {
            panic!(
                "{:?} server still serving {DEADLINE:?} after shutdown",
                self.kind
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.ctx.release();
        self.shutdown(Duration::ZERO);
    }
}

type Started = (SocketAddr, Stats, Shutdown);

fn start_tokio(opts: ServerOpts, ctx: Arc<Ctx>, done: mpsc::Sender<()>) -> Started {
    let mut builder = adapter_tokio::Server::builder()
        .config(opts.config)
        .protocol(opts.protocol);
    if opts.tls {
        builder = builder.tls(tls::server_config());
    }
    let server = RT.block_on(builder.bind("127.0.0.1:0")).expect("bind");
    let addr = server.local_addr().expect("local_addr");
    let stats = Stats::Async(server.stats());
    let shutdown = Shutdown::Tokio(server.shutdown_handle());
    let svc = adapter_tokio::service_fn(move |req| serve_async(req, ctx.clone(), tokio_echo));
    RT.spawn(async move {
        let _ = server.serve(svc).await;
        let _ = done.send(());
    });
    (addr, stats, shutdown)
}

fn start_smol(opts: ServerOpts, ctx: Arc<Ctx>, done: mpsc::Sender<()>) -> Started {
    let mut builder = adapter_smol::Server::builder()
        .config(opts.config)
        .protocol(opts.protocol);
    if opts.tls {
        builder = builder.tls(tls::server_config());
    }
    let server = smol::block_on(builder.bind("127.0.0.1:0")).expect("bind");
    let addr = server.local_addr().expect("local_addr");
    let stats = Stats::Async(server.stats());
    let shutdown = Shutdown::Smol(server.shutdown_handle());
    let svc = adapter_smol::service_fn(move |req| serve_async(req, ctx.clone(), smol_echo));
    smol::spawn(async move {
        let _ = server.serve(svc).await;
        let _ = done.send(());
    })
    .detach();
    (addr, stats, shutdown)
}

fn start_std(opts: ServerOpts, ctx: Arc<Ctx>, done: mpsc::Sender<()>) -> Started {
    let mut builder = adapter_std::Server::builder()
        .config(opts.config)
        .protocol(opts.protocol);
    if opts.tls {
        builder = builder.tls(tls::server_config());
    }
    let server = builder.bind("127.0.0.1:0").expect("bind");
    let addr = server.local_addr().expect("local_addr");
    let stats = Stats::Std(server.stats());
    let shutdown = Shutdown::Std(server.shutdown_handle());
    std::thread::spawn(move || {
        let _ = server.serve(move |req| serve_std(req, &ctx));
        let _ = done.send(());
    });
    (addr, stats, shutdown)
}

/// tokio: echoes an upgraded connection's bytes until EOF.
fn tokio_echo(req: &mut Request<adapter_tokio::Incoming>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let on = adapter_tokio::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(mut io) = on.await else { return };
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = io.read(&mut buf).await {
            if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
}

/// smol: echoes an upgraded connection's bytes until EOF.
fn smol_echo(req: &mut Request<adapter_tokio::Incoming>) {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let on = adapter_smol::upgrade::on(req);
    smol::spawn(async move {
        let Ok(mut io) = on.await else { return };
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = io.read(&mut buf).await {
            if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    })
    .detach();
}
