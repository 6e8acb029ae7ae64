//! Interop with curl (and a raw `std::net::TcpStream` peer) against our
//! tokio server over loopback.
//!
//! curl is required: if it is not on PATH these tests fail and say so
//! (`apt-get install curl`); they never skip silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use interop_support::{BIG_LEN, HELLO, TempFile, TestServer, pattern, require, run};

// ------------------------------------------------------------------ curl

/// `curl` with the common flags; fails the test if curl is not installed.
fn curl() -> Command {
    require("curl", "apt-get install curl");
    let mut cmd = Command::new("curl");
    cmd.args(["--silent", "--show-error", "--max-time", "30"]);
    cmd
}

#[test]
fn curl_keep_alive_reuses_the_connection() {
    let srv = TestServer::start();
    let out = run(curl()
        .args(["-o", "/dev/null", "-o", "/dev/null"])
        .args(["-w", "%{http_code} %{num_connects} %{size_download}\\n"])
        .arg(srv.url("/"))
        .arg(srv.url("/second")));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(rows[0], ["200", "1", "13"], "{text}");
    // The second transfer made no new connection.
    assert_eq!(rows[1], ["200", "0", "7"], "{text}");
    assert_eq!(srv.stats.accepted(), 1);
    assert_eq!(srv.stats.requests(), 2);
}

#[test]
fn curl_downloads_one_mebibyte() {
    let srv = TestServer::start();
    let out = run(curl().arg(srv.url("/big")));
    assert_eq!(out.stdout.len(), BIG_LEN);
    assert!(out.stdout.iter().all(|&b| b == b'x'));
}

#[test]
fn curl_keep_alive_bodies_are_intact() {
    let srv = TestServer::start();
    let out = run(curl()
        .arg(srv.url("/"))
        .arg(srv.url("/x"))
        .arg(srv.url("/")));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{HELLO}/x{HELLO}")
    );
}

#[test]
fn curl_chunked_upload_is_echoed() {
    let srv = TestServer::start();
    let data = pattern(300 * 1024 + 7);
    let file = TempFile::new("interop-curl", "chunked", &data);
    let out = run(curl()
        .arg("-v")
        .args(["-H", "Transfer-Encoding: chunked"])
        .arg("--data-binary")
        .arg(file.at())
        .arg(srv.url("/echo")));
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert!(
        verbose.contains("> Transfer-Encoding: chunked"),
        "curl did not send a chunked body:\n{verbose}"
    );
    assert!(verbose.contains("< HTTP/1.1 200"), "{verbose}");
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "echoed body differs");
}

#[test]
fn curl_chunked_upload_streamed_back_chunked() {
    let srv = TestServer::start();
    let data = pattern(700 * 1024 + 3);
    let file = TempFile::new("interop-curl", "stream", &data);
    let out = run(curl()
        .arg("-v")
        .args(["-H", "Transfer-Encoding: chunked"])
        .arg("--data-binary")
        .arg(file.at())
        .arg(srv.url("/stream")));
    let verbose = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
    assert!(
        verbose.contains("< transfer-encoding: chunked"),
        "response of unknown length not chunked:\n{verbose}"
    );
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "echoed body differs");
}

#[test]
fn curl_expect_100_continue_large_body() {
    let srv = TestServer::start();
    let data = pattern(1536 * 1024);
    let file = TempFile::new("interop-curl", "expect", &data);
    let out = run(curl()
        .arg("-v")
        .args(["-H", "Expect: 100-continue"])
        // Without our 100 curl would send the body anyway after this long;
        // make that long enough that the check below is meaningful.
        .args(["--expect100-timeout", "20"])
        .arg("--data-binary")
        .arg(file.at())
        .arg(srv.url("/echo")));
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert!(
        verbose.contains("> Expect: 100-continue"),
        "curl did not send Expect:\n{verbose}"
    );
    assert!(
        verbose.contains("< HTTP/1.1 100 Continue"),
        "server sent no 100 Continue:\n{verbose}"
    );
    assert!(verbose.contains("< HTTP/1.1 200"), "{verbose}");
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "echoed body differs");
}

#[test]
fn curl_http10_closes_without_keep_alive() {
    let srv = TestServer::start();
    let out = run(curl()
        .arg("--http1.0")
        .args(["-w", "%{http_code} %{num_connects}\\n"])
        .arg(srv.url("/"))
        .arg(srv.url("/two")));
    let text = String::from_utf8(out.stdout).unwrap();
    // Bodies come first, each followed by its -w line.
    assert_eq!(text, format!("{HELLO}200 1\n/two200 1\n"));
}

#[test]
fn curl_http10_keep_alive_when_asked() {
    let srv = TestServer::start();
    let out = run(curl()
        .arg("--http1.0")
        .arg("-v")
        .args(["-H", "Connection: keep-alive"])
        .args(["-w", "%{http_code} %{num_connects}\\n"])
        .arg(srv.url("/"))
        .arg(srv.url("/two")));
    let text = String::from_utf8(out.stdout).unwrap();
    let verbose = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
    if text.ends_with("/two200 0\n") {
        // Reused: the server must have told the 1.0 client so.
        assert!(
            verbose.contains("< connection: keep-alive"),
            "HTTP/1.0 connection kept open without `Connection: keep-alive`:\n{verbose}"
        );
        assert_eq!(text, format!("{HELLO}200 1\n/two200 0\n"));
    } else {
        // Closing is allowed too; both requests must still succeed.
        assert_eq!(text, format!("{HELLO}200 1\n/two200 1\n"));
    }
}

// ------------------------------------------------------------------ raw pipelining

/// One parsed response: status line, lowercased headers, body.
#[derive(Debug)]
struct RawResponse {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one Content-Length-framed response off the front of `buf`.
fn parse_response(buf: &mut &[u8]) -> RawResponse {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete head in {:?}", String::from_utf8_lossy(buf)));
    let head = std::str::from_utf8(&buf[..end]).expect("head is ASCII");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("header line has a colon");
            (n.to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    assert!(
        !headers.iter().any(|(n, _)| n == "transfer-encoding"),
        "expected Content-Length framing: {head}"
    );
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .expect("content-length")
        .1
        .parse()
        .unwrap();
    let body = buf[end + 4..end + 4 + len].to_vec();
    *buf = &buf[end + 4 + len..];
    RawResponse {
        status_line,
        headers,
        body,
    }
}

#[test]
fn pipelined_requests_in_one_write_answered_in_order() {
    let srv = TestServer::start();
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"GET /first HTTP/1.1\r\nHost: t\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world\
          GET /third HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all)
        .expect("server closes after `Connection: close`");
    let mut rest = &all[..];
    let expected: [&[u8]; 3] = [b"/first", b"hello world", b"/third"];
    for (i, want) in expected.iter().enumerate() {
        let r = parse_response(&mut rest);
        assert_eq!(r.status_line, "HTTP/1.1 200 OK", "response {i}: {r:?}");
        assert_eq!(r.header("content-type"), Some("text/plain"), "{r:?}");
        assert_eq!(
            r.header("content-length"),
            Some(want.len().to_string().as_str())
        );
        assert_eq!(
            r.body,
            *want,
            "response {i} body: {:?}",
            String::from_utf8_lossy(&r.body)
        );
    }
    assert!(
        rest.is_empty(),
        "bytes after the third response: {:?}",
        String::from_utf8_lossy(rest)
    );
}
