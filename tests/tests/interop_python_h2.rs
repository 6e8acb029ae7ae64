//! HTTP/2 interop with python-hyper's `h2` (a second, independent HTTP/2
//! implementation with strict flow-control accounting):
//! - `tests/python/h2_client.py` as the client against our server (large
//!   bodies both ways, concurrent streams, tiny and zero windows);
//! - `tests/python/h2_server.py` as the server against our client.
//!
//! python3 with the `h2` module is required: without it these tests fail
//! and say how to install it (`pip install h2`); they never skip. The
//! scripts run under coreutils `timeout` as a guard against hangs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop_support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};

use adapter_tokio::Stats;
use interop_support::start_ours;

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}

/// Fails the test with an install hint unless `python3 -c 'import h2'` works.
fn require_python_h2() {
    match Command::new("python3").args(["-c", "import h2"]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "python3 has no `h2` module: these interop tests need it; install it \
             (`pip install h2`)\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "python3 is not on PATH: these interop tests need it with the `h2` \
             module (`apt-get install python3 python3-pip && pip install h2`)"
        ),
        Err(e) => panic!("cannot run python3: {e}"),
    }
}

fn python(script_name: &str) -> Command {
    require_python_h2();
    let mut cmd = Command::new("timeout");
    cmd.args(["--kill-after=5", "120", "python3"])
        .arg(script(script_name));
    cmd
}

fn check(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{:?} failed ({}; 124 = timed out)\nstdout:\n{}\nstderr:\n{}",
        cmd,
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

// ------------------------------------------------------ python client, our server

/// Our server (test service, `Protocol::Auto`) on 127.0.0.1:0 on its own
/// runtime; dropped with the test.
struct TestServer {
    addr: SocketAddr,
    stats: Stats,
    _rt: tokio::runtime::Runtime,
}

impl TestServer {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (addr, stats) = rt.block_on(start_ours());
        Self {
            addr,
            stats,
            _rt: rt,
        }
    }
}

/// Runs one scenario of `h2_client.py` against a fresh server; returns the
/// script's `ok ...` line.
fn client_scenario(name: &str) -> (String, TestServer) {
    let srv = TestServer::start();
    let out = check(
        python("h2_client.py")
            .arg(srv.addr.port().to_string())
            .arg(name),
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().last().unwrap_or_default().to_owned();
    assert!(line.starts_with(&format!("ok {name}:")), "{stdout}");
    eprintln!("{line}");
    (line, srv)
}

/// 4 MiB up to `/echo` (collected, then sent back with content-length):
/// more than our initial windows, so the client waits for our
/// WINDOW_UPDATEs; the 4 MiB back is paced by the client's.
#[test]
fn python_client_4mib_upload_echoed() {
    let (_, srv) = client_scenario("upload_echo");
    assert_eq!(srv.stats.accepted(), 1);
    assert_eq!(srv.stats.requests(), 1);
}

/// 4 MiB up to `/stream`: echoed while the upload is still going (the
/// script checks the first echoed bytes arrive before the last are sent).
#[test]
fn python_client_4mib_streamed_back_while_uploading() {
    client_scenario("stream_echo");
}

/// Ten streams at once: uploads streamed and collected, downloads, a small
/// response; every body intact.
#[test]
fn python_client_ten_concurrent_streams() {
    let (_, srv) = client_scenario("concurrent");
    assert_eq!(srv.stats.accepted(), 1);
    assert_eq!(srv.stats.requests(), 10);
}

/// The client's INITIAL_WINDOW_SIZE is 1000: we never overrun it (`h2`
/// fails the connection if we do) and never send a larger DATA frame.
#[test]
fn python_client_tiny_window_respected() {
    client_scenario("small_window");
}

/// INITIAL_WINDOW_SIZE 0: no DATA until the client opens the stream's
/// window with a WINDOW_UPDATE after the response HEADERS.
#[test]
fn python_client_zero_window_then_opened() {
    client_scenario("zero_window");
}
