//! HTTP/2 interop with the nghttp2 command-line tools and curl against our
//! tokio server (`Protocol::Auto`, the default: HTTP/1.1 and HTTP/2 prior
//! knowledge on one port) over loopback.
//!
//! curl, nghttp and h2load are required: if one is not on PATH the tests
//! that need it fail and say how to install it (`apt-get install curl
//! nghttp2-client`); they never skip silently. Every tool runs under
//! coreutils `timeout` as a guard against hangs; nothing waits on a clock
//! for synchronisation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop_support;

use std::collections::BTreeSet;
use std::process::Command;

use interop_support::{BIG_LEN, HELLO, TempFile, TestServer, guarded, pattern, require, run};

// ------------------------------------------------------------------ tools

fn curl() -> Command {
    require("curl", "apt-get install curl");
    let mut cmd = guarded(60, "curl");
    cmd.args(["--silent", "--show-error"]);
    cmd
}

fn nghttp() -> Command {
    require("nghttp", "apt-get install nghttp2-client");
    guarded(60, "nghttp")
}

fn h2load() -> Command {
    require("h2load", "apt-get install nghttp2-client");
    guarded(300, "h2load")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// curl's `-w` line: `http_version http_code num_connects size_download`.
const CURL_W: &str = "\\n%{http_version} %{http_code} %{num_connects} %{size_download}";

/// Splits curl's stdout into the body and the `CURL_W` fields.
fn split_w(stdout: &[u8]) -> (&[u8], Vec<String>) {
    let nl = stdout
        .iter()
        .rposition(|&b| b == b'\n')
        .expect("curl -w line");
    let fields = text(&stdout[nl + 1..])
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (&stdout[..nl], fields)
}

// ------------------------------------------------------------------ curl

#[test]
fn curl_prior_knowledge_get() {
    let srv = TestServer::start();
    let out = run(curl()
        .arg("--http2-prior-knowledge")
        .args(["-w", CURL_W])
        .arg(srv.url("/")));
    let (body, w) = split_w(&out.stdout);
    assert_eq!(text(body), HELLO);
    assert_eq!(w, ["2", "200", "1", "13"], "{}", text(&out.stdout));
    assert_eq!(srv.stats.accepted(), 1);
    assert_eq!(srv.stats.requests(), 1);
}

// (No test of two URLs in one curl invocation: curl 7.88.1 fails the second
// request on a reused HTTP/2 connection with "(16) Error in the HTTP2
// framing layer" against hyper's HTTP/2 server as well; nghttp `-m` below
// covers many streams on one connection.)

#[test]
fn curl_prior_knowledge_downloads_one_mebibyte() {
    let srv = TestServer::start();
    let out = run(curl()
        .arg("--http2-prior-knowledge")
        .args(["-w", CURL_W])
        .arg(srv.url("/big")));
    let (body, w) = split_w(&out.stdout);
    assert_eq!(w[..2], ["2", "200"]);
    assert_eq!(body.len(), BIG_LEN);
    assert!(body.iter().all(|&b| b == b'x'));
}

/// 1 MiB up (more than our initial stream window: curl must get
/// WINDOW_UPDATEs from us), the collected body back byte-exact.
#[test]
fn curl_prior_knowledge_upload_echoed_byte_exact() {
    let srv = TestServer::start();
    let data = pattern(BIG_LEN);
    let file = TempFile::new("interop-h2", "echo", &data);
    let out = run(curl()
        .arg("--http2-prior-knowledge")
        .args(["-w", CURL_W])
        .args(["-H", "content-type: application/octet-stream"])
        .arg("--data-binary")
        .arg(file.at())
        .arg(srv.url("/echo")));
    let (body, w) = split_w(&out.stdout);
    assert_eq!(w[..2], ["2", "200"], "{}", text(&out.stderr));
    assert_eq!(body.len(), data.len());
    assert!(body == data.as_slice(), "echoed body differs");
}

/// 1 MiB up, streamed back while it is still arriving (both directions'
/// flow control at once).
#[test]
fn curl_prior_knowledge_upload_streamed_back_byte_exact() {
    let srv = TestServer::start();
    let data = pattern(BIG_LEN + 12_345);
    let file = TempFile::new("interop-h2", "stream", &data);
    let out = run(curl()
        .arg("--http2-prior-knowledge")
        .args(["-w", CURL_W])
        .arg("--data-binary")
        .arg(file.at())
        .arg(srv.url("/stream")));
    let (body, w) = split_w(&out.stdout);
    assert_eq!(w[..2], ["2", "200"], "{}", text(&out.stderr));
    assert_eq!(body.len(), data.len());
    assert!(body == data.as_slice(), "streamed body differs");
}

/// `curl --http2` on a cleartext URL: an HTTP/1.1 request with `Upgrade: h2c`
/// and `HTTP2-Settings`. RFC 7540 §3.2: a server that accepts answers
/// `101 Switching Protocols` and then sends the response to that request on
/// stream 1 over HTTP/2.
#[test]
fn curl_h2c_upgrade_answers_over_http2_after_101() {
    let srv = TestServer::start();
    let out = run(curl()
        .arg("--http2")
        .arg("-v")
        .args(["-w", CURL_W])
        .arg(srv.url("/")));
    let err = text(&out.stderr);
    assert!(
        err.contains("Upgrade: h2c"),
        "curl did not offer h2c:\n{err}"
    );
    assert!(
        err.contains("< HTTP/1.1 101"),
        "no 101 Switching Protocols:\n{err}"
    );
    assert!(
        err.contains("< HTTP/2 200"),
        "response not over HTTP/2:\n{err}"
    );
    let (body, w) = split_w(&out.stdout);
    assert_eq!(text(body), HELLO);
    assert_eq!(w[..2], ["2", "200"]);
    assert_eq!(srv.stats.accepted(), 1);
}

// ------------------------------------------------------------------ nghttp

/// Lines of `nghttp -v` that show something went wrong.
fn nghttp_trouble(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("error") && !l.contains("error_code=no_error")
                || l.contains("rst_stream")
                || l.contains("failed")
                || l.contains("[warn]")
        })
        .collect()
}

/// Stream ids with `recv (stream_id=N) :status: 200`.
fn ok_streams(log: &str) -> BTreeSet<u32> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split("recv (stream_id=").nth(1)?;
            let (id, tail) = rest.split_once(')')?;
            (tail.trim() == ":status: 200").then(|| id.parse().unwrap())
        })
        .collect()
}

#[test]
fn nghttp_get_sees_settings_headers_and_data() {
    let srv = TestServer::start();
    let out = run(nghttp().arg("-v").arg(srv.url("/")));
    let log = text(&out.stdout);
    let trouble = nghttp_trouble(&log);
    assert!(trouble.is_empty(), "{trouble:#?}\n{log}");
    assert!(
        log.contains("recv SETTINGS frame <length="),
        "no server SETTINGS:\n{log}"
    );
    // We acknowledged nghttp's SETTINGS.
    assert!(
        log.contains("recv SETTINGS frame <length=0, flags=0x01, stream_id=0>"),
        "no SETTINGS ACK:\n{log}"
    );
    assert!(log.contains("recv HEADERS frame"), "no HEADERS:\n{log}");
    assert_eq!(ok_streams(&log).len(), 1, "{log}");
    assert!(log.contains("recv DATA frame"), "no DATA:\n{log}");
    assert!(log.contains("; END_STREAM"), "response never ended:\n{log}");
    assert!(log.contains(HELLO), "body missing:\n{log}");
    // nghttp closes with GOAWAY(NO_ERROR) and nothing else.
    assert!(
        !log.contains("recv GOAWAY"),
        "server sent GOAWAY during a normal exchange:\n{log}"
    );
    assert!(out.stderr.is_empty(), "stderr:\n{}", text(&out.stderr));
}

/// `-m 10`: the same request ten times, all HEADERS sent before any
/// response arrives (nghttp submits them together), answered on ten
/// streams of one connection.
#[test]
fn nghttp_multiplexes_ten_streams_on_one_connection() {
    let srv = TestServer::start();
    let out = run(nghttp().args(["-n", "-v", "-m", "10"]).arg(srv.url("/big")));
    let log = text(&out.stdout);
    let trouble = nghttp_trouble(&log);
    assert!(trouble.is_empty(), "{trouble:#?}\n{log}");
    let sent_headers: Vec<usize> = log
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("send HEADERS frame"))
        .map(|(i, _)| i)
        .collect();
    let first_response = log
        .lines()
        .position(|l| l.contains("recv (stream_id="))
        .expect("no response");
    assert_eq!(sent_headers.len(), 10, "{log}");
    assert!(
        sent_headers.iter().all(|&i| i < first_response),
        "requests were not concurrent:\n{log}"
    );
    let ok = ok_streams(&log);
    assert_eq!(ok.len(), 10, "{ok:?}\n{log}");
    let ended = log
        .lines()
        .zip(log.lines().skip(1))
        .filter(|(a, b)| a.contains("recv DATA frame") && b.contains("END_STREAM"))
        .count();
    assert_eq!(ended, 10, "{log}");
    assert_eq!(srv.stats.accepted(), 1);
    assert_eq!(srv.stats.requests(), 10);
}

/// `nghttp -d FILE`: a 1 MiB upload, collected and echoed; nghttp writes the
/// response body to stdout after its own log lines (without `-v` the body
/// is all there is).
#[test]
fn nghttp_upload_echoed_byte_exact() {
    let srv = TestServer::start();
    let data = pattern(BIG_LEN + 1);
    let file = TempFile::new("interop-h2", "nghttp", &data);
    let out = run(nghttp().arg("-d").arg(&file.0).arg(srv.url("/echo")));
    assert!(out.stderr.is_empty(), "stderr:\n{}", text(&out.stderr));
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "echoed body differs");
}

// ------------------------------------------------------------------ h2load

/// h2load's "requests:" and "status codes:" lines.
fn h2load_counts(out: &str) -> (String, String) {
    let line = |prefix: &str| {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in h2load output:\n{out}"))
            .to_owned()
    };
    (line("requests:"), line("status codes:"))
}

/// h2load's `log` says all `n` requests succeeded, every one with a 2xx.
#[track_caller]
fn assert_all_succeeded(log: &str, n: u32) {
    let (requests, codes) = h2load_counts(log);
    assert_eq!(
        requests,
        format!(
            "requests: {n} total, {n} started, {n} done, {n} succeeded, \
             0 failed, 0 errored, 0 timeout"
        ),
        "{log}"
    );
    assert_eq!(
        codes,
        format!("status codes: {n} 2xx, 0 3xx, 0 4xx, 0 5xx"),
        "{log}"
    );
}

/// The long one: 100 000 requests on 16 connections, 32 streams each in
/// flight (about 2 s against a debug build, well under 1 s in release).
#[test]
fn h2load_many_streams_without_errors() {
    const N: u32 = 100_000;
    let srv = TestServer::start();
    let out = run(h2load()
        .args(["-n", &N.to_string(), "-c", "16", "-m", "32"])
        .arg(srv.url("/")));
    let log = text(&out.stdout);
    assert_all_succeeded(&log, N);
    assert_eq!(srv.stats.accepted(), 16);
    assert_eq!(srv.stats.requests(), u64::from(N));
}

/// Larger responses: 1 MiB each, four connections, four streams each.
#[test]
fn h2load_big_responses_without_errors() {
    const N: u32 = 200;
    let srv = TestServer::start();
    let out = run(h2load()
        .args(["-n", &N.to_string(), "-c", "4", "-m", "4"])
        .arg(srv.url("/big")));
    let log = text(&out.stdout);
    assert_all_succeeded(&log, N);
    let data_line = log
        .lines()
        .find(|l| l.starts_with("traffic:"))
        .expect("traffic line");
    // "traffic: 20.01MB (20983526) total, ... headers (...), 20.00MB (20971520) data"
    let data_bytes: u64 = data_line
        .strip_suffix(") data")
        .and_then(|s| s.rsplit_once('('))
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot parse {data_line:?}"));
    assert_eq!(data_bytes, u64::from(N) * BIG_LEN as u64, "{log}");
}
