//! HTTP/2 interop with python-hyper's `h2` (a second, independent HTTP/2
//! implementation with strict flow-control accounting):
//! - `tests/python/h2_client.py` as the client against our server (large
//!   bodies both ways, concurrent streams, tiny and zero windows);
//! - `tests/python/h2_server.py` as the server against our HTTP/2 client
//!   (4 MiB both ways through its 16 KiB windows, concurrent streams).
//!
//! python3 with the `h2` module is required: without it these tests fail
//! and say how to install it (`pip install h2`); they never skip. The
//! scripts run under coreutils `timeout` as a guard against hangs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop_support;

use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use adapter_tokio::Client;
use bytes::Bytes;
use http::{Request, StatusCode, Version};
use http_body_util::{BodyExt, Empty, Full};
use interop_support::{TestServer, guarded, pattern, run};
use tokio::task::JoinSet;

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
    let mut cmd = guarded(120, "python3");
    cmd.arg(script(script_name));
    cmd
}

// ------------------------------------------------------ python client, our server

/// Runs one scenario of `h2_client.py` against a fresh server; returns the
/// script's `ok ...` line.
fn client_scenario(name: &str) -> (String, TestServer) {
    let srv = TestServer::start();
    let out = run(python("h2_client.py")
        .arg(srv.addr.port().to_string())
        .arg(name));
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

// ------------------------------------------------------ our client, python server

/// A guard: a request that hangs fails the test instead.
const LIMIT: Duration = Duration::from_secs(60);

/// `h2_server.py` serving one connection on 127.0.0.1 (its port read from
/// its first output line).
struct PythonServer {
    child: std::process::Child,
    port: u16,
    stdout: BufReader<std::process::ChildStdout>,
}

impl PythonServer {
    fn start() -> Self {
        let mut child = python("h2_server.py")
            .arg("1")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn python3 h2_server.py");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("h2_server.py said {line:?}"));
        Self {
            child,
            port,
            stdout,
        }
    }

    fn uri(&self, path: &str) -> http::Uri {
        format!("http://127.0.0.1:{}{path}", self.port)
            .parse()
            .unwrap()
    }

    /// Waits for the script to finish (it does once our connection closes);
    /// returns its summary line, having checked it succeeded.
    fn finish(mut self) -> String {
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "h2_server.py: {status}\n{rest}");
        let line = rest.lines().last().unwrap_or_default().to_owned();
        assert!(line.starts_with("ok "), "{rest}");
        line
    }
}

/// `GET /big?n=N` from `h2_server.py`: `i % 251` for each byte index.
fn big_body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// The value of `key=` in the script's summary line.
fn summary_field(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

/// Runs `f` with our HTTP/2 client on a fresh runtime, then drops the
/// runtime (closing the connection, so the script finishes).
fn with_client<F, Fut>(f: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = Client::builder().http2_prior_knowledge().build();
        tokio::time::timeout(LIMIT, f(client))
            .await
            .expect("requests did not finish in time");
    });
}

async fn post(client: &Client, uri: http::Uri, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let req = Request::post(uri)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = client.request(req).await.expect("send request");
    assert_eq!(resp.version(), Version::HTTP_2);
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("response body");
    (status, body.to_bytes().to_vec())
}

async fn get(client: &Client, uri: http::Uri) -> (StatusCode, Vec<u8>) {
    let req = Request::get(uri).body(Empty::<Bytes>::new()).unwrap();
    let resp = client.request(req).await.expect("send request");
    assert_eq!(resp.version(), Version::HTTP_2);
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("response body");
    (status, body.to_bytes().to_vec())
}

/// 4 MiB up, collected by the script and sent back: the script's receive
/// window is 16 KiB per stream (64 KiB for the connection), so the upload
/// only gets through if we wait for its WINDOW_UPDATEs (it fails the
/// connection on any overrun), and the 4 MiB back only if we send ours.
#[test]
fn our_client_4mib_echo_against_python_server() {
    let srv = PythonServer::start();
    let data = pattern(4 << 20);
    let uri = srv.uri("/echo");
    with_client(|client| async move {
        let (status, body) = post(&client, uri, data.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.len(), data.len());
        assert!(body == data, "echoed body differs");
    });
    let summary = srv.finish();
    eprintln!("{summary}");
    assert_eq!(summary_field(&summary, "streams"), 1, "{summary}");
    assert_eq!(summary_field(&summary, "bytes_in"), 4 << 20, "{summary}");
    assert!(summary_field(&summary, "window_updates") > 0, "{summary}");
}

/// 4 MiB up to `/stream` (echoed while it arrives) and a 4 MiB download.
#[test]
fn our_client_streamed_echo_and_download_against_python_server() {
    let srv = PythonServer::start();
    let data = pattern((4 << 20) + 5);
    let (stream, big) = (srv.uri("/stream"), srv.uri("/big"));
    with_client(|client| async move {
        let (status, body) = post(&client, stream, data.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body == data, "streamed body differs ({} bytes)", body.len());
        let (status, body) = get(&client, big).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body == big_body(4 << 20),
            "download differs ({} bytes)",
            body.len()
        );
    });
    let summary = srv.finish();
    eprintln!("{summary}");
    assert_eq!(summary_field(&summary, "streams"), 2, "{summary}");
}

/// Twelve requests at once on the one connection the script accepts
/// (uploads collected and streamed, downloads of several sizes).
#[test]
fn our_client_concurrent_streams_against_python_server() {
    let srv = PythonServer::start();
    let uris: Vec<_> = (0..12)
        .map(|i| match i % 3 {
            0 => srv.uri("/echo"),
            1 => srv.uri("/stream"),
            _ => srv.uri(&format!("/big?n={}", 300_000 + i * 1000)),
        })
        .collect();
    with_client(|client| async move {
        let mut set = JoinSet::new();
        for (i, uri) in uris.into_iter().enumerate() {
            let client = client.clone();
            set.spawn(async move {
                if i % 3 == 2 {
                    let (status, body) = get(&client, uri).await;
                    assert_eq!(status, StatusCode::OK);
                    assert!(body == big_body(300_000 + i * 1000), "GET {i} differs");
                } else {
                    let data = pattern(500_000 + i);
                    let (status, body) = post(&client, uri, data.clone()).await;
                    assert_eq!(status, StatusCode::OK);
                    assert!(body == data, "POST {i} differs ({} bytes)", body.len());
                }
            });
        }
        while let Some(res) = set.join_next().await {
            res.unwrap();
        }
    });
    let summary = srv.finish();
    eprintln!("{summary}");
    assert_eq!(summary_field(&summary, "streams"), 12, "{summary}");
}
