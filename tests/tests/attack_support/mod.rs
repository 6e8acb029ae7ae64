//! Shared by the `attack_*` test binaries: hostile traffic against each
//! adapter's server over loopback, while a well-behaved client keeps asking.
//!
//! - [`Server`]: one adapter's server ([`Adapter`]: tokio, smol, std) on
//!   127.0.0.1:0 with a given [`Config`] and the test routes: `/` (a small
//!   `200`), `/big` ([`BIG_LEN`] bytes), `/echo` (the request body streamed
//!   back), `/slow` (answers after [`SLOW`]).
//! - [`prober`]: the well-behaved client (HTTP/1.1 and HTTP/2 `GET /` in
//!   turn, failures and the slowest answer recorded).
//! - [`mem`]: the memory probe (peak resident set, resettable).
//! - [`h2wire`]: a raw HTTP/2 client for attackers (and the prober).
//! - [`calls`]: handler calls for `/smuggled*` paths, counted by the routes.
//! - [`run`] and the [`per_adapter!`] macro: one `#[test]` per adapter
//!   (`<attack>::tokio`, `<attack>::smol`, `<attack>::std`), each starting a
//!   fresh server, the prober and the memory baseline, running the attack,
//!   then asserting the prober saw no failure and bounded latency and that
//!   the peak memory growth stayed under the bound ([`Ctx`] holds the
//!   bounds; an attack may tighten or loosen them, saying why).
//!
//! Attack tests run one at a time (a process-wide lock): memory is measured
//! per process, and two attacks at once would measure each other.
//! `--nocapture` prints one `attack:` line per test (what cut the attacker
//! off, the bound, memory growth, the prober's slowest answer).
#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

pub mod calls;
pub mod h2wire;
pub mod mem;
pub mod prober;

use std::convert::Infallible;
use std::future::Future;
use std::io::Read;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{Either, Full};
#[allow(unused_imports)]
pub use proto_core::{Config, ErrorCode};

/// `/big` answers this many bytes.
pub const BIG_LEN: usize = 16 << 20;
/// Zeros: a static in `.bss`, so the binary does not carry 16 MiB.
static BIG: [u8; BIG_LEN] = [0; BIG_LEN];
/// `/slow` answers after this long.
pub const SLOW: Duration = Duration::from_millis(300);
/// Default bound on the peak resident-memory growth during an attack.
pub const MAX_GROWTH: usize = 16 << 20;
/// Default bound on the prober's slowest answer during an attack.
pub const MAX_LATENCY: Duration = Duration::from_secs(1);

/// The adapter under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    /// `adapter-tokio` on a 2-worker multi-thread runtime.
    Tokio,
    /// `adapter-smol` on an executor run by 2 threads.
    Smol,
    /// `adapter-std` (thread per connection, handler pool).
    Std,
}

type Sleep = fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// The test routes, for the async adapters (`sleep` from their runtime).
async fn route<B>(
    req: Request<B>,
    sleep: Sleep,
) -> Result<Response<Either<Full<Bytes>, B>>, Infallible> {
    let (parts, body) = req.into_parts();
    calls::note(parts.uri.path());
    let body = match parts.uri.path() {
        "/echo" => return Ok(Response::new(Either::Right(body))),
        "/big" => Bytes::from_static(&BIG),
        "/slow" => {
            sleep(SLOW).await;
            Bytes::from_static(b"slow")
        }
        "/" => Bytes::from_static(b"Hello, World!"),
        _ => {
            let mut r = Response::new(Either::Left(Full::new(Bytes::from_static(b"no"))));
            *r.status_mut() = StatusCode::NOT_FOUND;
            return Ok(r);
        }
    };
    Ok(Response::new(Either::Left(Full::new(body))))
}

/// The test routes, for `adapter-std`.
fn route_std(req: Request<adapter_std::Body>) -> Response<adapter_std::SendBody> {
    use adapter_std::SendBody;
    let (parts, mut body) = req.into_parts();
    calls::note(parts.uri.path());
    match parts.uri.path() {
        "/echo" => Response::new(SendBody::writer(move |w| {
            std::io::copy(&mut body, w).map(drop)
        })),
        "/big" => Response::new(SendBody::from(Bytes::from_static(&BIG))),
        "/slow" => {
            thread::sleep(SLOW);
            Response::new(SendBody::from("slow"))
        }
        "/" => Response::new(SendBody::from("Hello, World!")),
        _ => {
            let mut r = Response::new(SendBody::from("no"));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    }
}

/// One adapter's server on 127.0.0.1:0; stopped on drop.
pub struct Server {
    /// Which adapter.
    pub adapter: Adapter,
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Server {
    /// Starts `adapter`'s server with `cfg` and the test routes.
    pub fn start(adapter: Adapter, cfg: Config) -> Self {
        let (addr, stop) = match adapter {
            Adapter::Tokio => start_tokio(cfg),
            Adapter::Smol => start_smol(cfg),
            Adapter::Std => start_std(cfg),
        };
        Self {
            adapter,
            addr,
            stop: Some(stop),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// How long stopping a server may take before the test goes on without it.
const STOP_WAIT: Duration = Duration::from_secs(3);

fn start_tokio(cfg: Config) -> (SocketAddr, Box<dyn FnOnce() + Send>) {
    use adapter_tokio::service_fn;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = rt
        .block_on(
            adapter_tokio::Server::builder()
                .config(cfg)
                .bind("127.0.0.1:0"),
        )
        .expect("bind");
    let addr = server.local_addr().expect("local_addr");
    let shutdown = server.shutdown_handle();
    let sleep: Sleep = |d| Box::pin(tokio::time::sleep(d));
    rt.spawn(server.serve(service_fn(move |req| route(req, sleep))));
    let stop = move || {
        shutdown.shutdown(Duration::ZERO);
        rt.shutdown_timeout(STOP_WAIT);
    };
    (addr, Box::new(stop))
}

fn start_smol(cfg: Config) -> (SocketAddr, Box<dyn FnOnce() + Send>) {
    use adapter_smol::service_fn;
    use async_executor::Executor;
    let ex = Arc::new(Executor::new());
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    let ex1 = ex.clone();
    thread::spawn(move || {
        let serve = async {
            let server = adapter_smol::Server::builder()
                .config(cfg)
                .executor(ex1.clone())
                .bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = server.local_addr().expect("local_addr");
            let _ = ready_tx.send((addr, server.shutdown_handle()));
            let sleep: Sleep = |d| {
                Box::pin(async move {
                    async_io::Timer::after(d).await;
                })
            };
            let _ = server.serve(service_fn(move |req| route(req, sleep))).await;
        };
        smol::block_on(ex1.run(serve));
        let _ = done_tx.send(());
    });
    // A second thread runs the same executor until the server stops.
    let ex2 = ex.clone();
    thread::spawn(move || smol::block_on(ex2.run(async { stop_rx.recv().await.ok() })));
    let (addr, shutdown) = ready_rx.recv().expect("smol server started");
    let stop = move || {
        shutdown.shutdown(Duration::ZERO);
        let _ = done_rx.recv_timeout(STOP_WAIT);
        drop(stop_tx);
    };
    (addr, Box::new(stop))
}

fn start_std(cfg: Config) -> (SocketAddr, Box<dyn FnOnce() + Send>) {
    let server = adapter_std::Server::builder()
        .config(cfg)
        .bind("127.0.0.1:0")
        .expect("bind");
    let addr = server.local_addr().expect("local_addr");
    let shutdown = server.shutdown_handle();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        let _ = server.serve(route_std);
        let _ = done_tx.send(());
    });
    let stop = move || {
        shutdown.shutdown(Duration::ZERO);
        let _ = done_rx.recv_timeout(STOP_WAIT);
    };
    (addr, Box::new(stop))
}

/// What an attack test gets: the server's address and the bounds that
/// [`run`] checks afterwards.
pub struct Ctx {
    /// The adapter under test.
    pub adapter: Adapter,
    /// The server's address.
    pub addr: SocketAddr,
    /// Bound on the peak resident-memory growth over the attack.
    pub max_growth: usize,
    /// Bound on the prober's slowest answer.
    pub max_latency: Duration,
    outcome: String,
    baseline: mem::Baseline,
}

impl Ctx {
    /// The peak memory growth so far (for attacks with phases).
    pub fn peak_growth(&self) -> Option<usize> {
        self.baseline.peak_growth()
    }

    /// Records how the attacker was cut off (printed in the report line).
    pub fn outcome(&mut self, text: impl Into<String>) {
        self.outcome = text.into();
    }
}

/// One attack test at a time in this process (see the module docs).
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `attack` against a fresh `adapter` server with `cfg`, with the
/// prober running and the memory baseline taken; then checks the bounds in
/// [`Ctx`] and prints the report line.
pub fn run(adapter: Adapter, name: &str, cfg: Config, attack: impl FnOnce(&mut Ctx)) {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    // Touch `/big`'s static so its pages are in the baseline whatever the
    // kernel does with untouched zero pages.
    let sum: u64 = BIG.iter().step_by(4096).map(|b| u64::from(*b)).sum();
    std::hint::black_box(sum);
    let server = Server::start(adapter, cfg);
    // The prober is answered before the attack starts...
    let prober = prober::Prober::start(server.addr);
    let ready = prober.wait_answers(2, Duration::from_secs(3));
    let baseline = mem::Baseline::take();
    let mut ctx = Ctx {
        adapter,
        addr: server.addr,
        max_growth: MAX_GROWTH,
        max_latency: MAX_LATENCY,
        outcome: String::new(),
        baseline,
    };
    let started = Instant::now();
    attack(&mut ctx);
    let took = started.elapsed();
    // ...and still answered after it (short attacks end before its next turn).
    let after = prober.wait_answers(2, Duration::from_secs(3));
    let report = prober.stop();
    let growth = baseline.peak_growth();
    drop(server);
    let growth_text = match growth {
        Some(g) => format!("{:.1} MiB", g as f64 / f64::from(1 << 20)),
        None => "unmeasured".to_owned(),
    };
    eprintln!(
        "attack: {name} [{adapter:?}] {} | peak RSS +{growth_text} | prober {} ok, {} failed, \
         max {:?} | {took:?}",
        ctx.outcome, report.ok, report.failed, report.max_latency
    );
    assert!(
        report.failed == 0,
        "{name} [{adapter:?}]: the well-behaved client failed: {:#?}",
        report.failures
    );
    assert!(
        ready,
        "{name} [{adapter:?}]: the prober got no answer before the attack"
    );
    assert!(
        after,
        "{name} [{adapter:?}]: the prober got no answer after the attack"
    );
    assert!(
        report.max_latency <= ctx.max_latency,
        "{name} [{adapter:?}]: the prober waited {:?} (bound {:?})",
        report.max_latency,
        ctx.max_latency
    );
    if let Some(g) = growth {
        assert!(
            g <= ctx.max_growth,
            "{name} [{adapter:?}]: peak memory grew by {g} bytes (bound {})",
            ctx.max_growth
        );
    }
}

/// `per_adapter!(name, config, |ctx| { ... })`: a module `name` with one
/// `#[test]` per adapter, each calling [`run`]. Attributes (doc comments
/// citing the RFC) go before the name.
macro_rules! per_adapter {
    ($(#[$meta:meta])* $name:ident, $cfg:expr, $attack:expr $(,)?) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn tokio() {
                crate::attack_support::run(
                    crate::attack_support::Adapter::Tokio,
                    stringify!($name),
                    $cfg,
                    $attack,
                );
            }

            #[test]
            fn smol() {
                crate::attack_support::run(
                    crate::attack_support::Adapter::Smol,
                    stringify!($name),
                    $cfg,
                    $attack,
                );
            }

            #[test]
            fn std() {
                crate::attack_support::run(
                    crate::attack_support::Adapter::Std,
                    stringify!($name),
                    $cfg,
                    $attack,
                );
            }
        }
    };
}
pub(crate) use per_adapter;

/// Reads everything `r` sends until EOF, an error or `timeout` (give the
/// socket a read timeout so one `read` cannot outlast it); for HTTP/1 attacks.
pub fn read_until_close(r: &mut impl Read, timeout: Duration) -> Vec<u8> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}
