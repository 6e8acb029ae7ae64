//! TLS (feature `rustls`): the std server and client over rustls, ALPN
//! choosing the protocol (RFC 7301, RFC 9113 §3.2), and curl against the
//! server with a real certificate check (`--cacert`, SNI `localhost`).
//! No sleeps for synchronization; timeouts are guards.
#![cfg(feature = "rustls")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use adapter_std::rustls;
use adapter_std::{
    Body, Builder, Client, Config, Protocol, SendBody, Server, ShutdownHandle, Stats,
};
use http::{Request, Response, Version};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const GUARD: Duration = Duration::from_secs(10);

/// A self-signed certificate for `localhost` / `127.0.0.1`.
struct Cert {
    der: CertificateDer<'static>,
    pem: String,
    key: Vec<u8>,
}

fn cert() -> Cert {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let c = rcgen::generate_simple_self_signed(names).unwrap();
    Cert {
        der: c.cert.der().clone(),
        pem: c.cert.pem(),
        key: c.key_pair.serialize_der(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(cert: &Cert) -> rustls::ServerConfig {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key.clone()));
    rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der.clone()], key)
        .unwrap()
}

fn client_config(cert: &Cert) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

struct Running {
    addr: SocketAddr,
    stats: Stats,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    fn stop(mut self) {
        self.shutdown.shutdown(Duration::from_secs(1));
        self.thread.take().unwrap().join().unwrap().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.shutdown(Duration::ZERO);
    }
}

fn start<H: adapter_std::Handler>(builder: Builder, handler: H) -> Running {
    let server = builder.bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let stats = server.stats();
    let shutdown = server.shutdown_handle();
    let thread = Some(std::thread::spawn(move || server.serve(handler)));
    Running {
        addr,
        stats,
        shutdown,
        thread,
    }
}

fn app(req: Request<Body>) -> Response<SendBody> {
    if req.uri().path() == "/echo" {
        let mut body = req.into_body();
        return Response::new(SendBody::writer(move |w| {
            std::io::copy(&mut body, w).map(drop)
        }));
    }
    // The protocol the request arrived with, so tests see what ALPN chose.
    Response::new(SendBody::from(format!("hello over {:?}", req.version())))
}

fn tls_server(cert: &Cert, protocol: Protocol) -> Running {
    let builder = Server::builder()
        .protocol(protocol)
        .tls(server_config(cert));
    start(builder, app)
}

fn client(cert: &Cert, protocol: Protocol) -> Client {
    Client::builder()
        .protocol(protocol)
        .tls(client_config(cert))
        .build()
}

/// Runs curl with the generated certificate as the only trust anchor.
/// Missing curl fails the test: CI installs it, and a silent pass would
/// hide that nothing was checked.
fn curl(cert: &Cert, args: &[&str]) -> (String, String) {
    // A file of its own per process and thread, straight in the temp
    // directory: a directory per process was left behind by every run.
    let pem = std::env::temp_dir().join(format!(
        "adapter-std-tls-cert-{}-{:?}.pem",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&pem, &cert.pem).unwrap();
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10", "--cacert"])
        .arg(&pem)
        .args(["--write-out", "\n%{http_version}"])
        .args(args)
        .output()
        .expect("curl is required for the TLS interop tests (install curl)");
    let _ = std::fs::remove_file(&pem);
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, version) = text.rsplit_once('\n').unwrap();
    (body.to_owned(), version.to_owned())
}

/// RFC 9113 §3.2 / RFC 7301: curl offers `h2` over TLS and gets HTTP/2;
/// the certificate and SNI (`localhost`) are really checked (`--cacert`,
/// not `-k`).
#[test]
fn rfc9113_3_2_curl_http2_over_tls_negotiates_h2() {
    let cert = cert();
    let server = tls_server(&cert, Protocol::Auto);
    let (body, version) = curl(&cert, &["--http2", &server.url("/")]);
    assert_eq!(version, "2");
    assert_eq!(body, "hello over HTTP/2.0");
    server.stop();
}

/// RFC 7301: curl offering only `http/1.1` gets HTTP/1.1.
#[test]
fn rfc7301_curl_http1_over_tls_negotiates_http11() {
    let cert = cert();
    let server = tls_server(&cert, Protocol::Auto);
    let (body, version) = curl(&cert, &["--http1.1", &server.url("/")]);
    assert_eq!(version, "1.1");
    assert_eq!(body, "hello over HTTP/1.1");
    server.stop();
}

/// RFC 9113 §3.2: our client with `Auto` offers `h2` and `http/1.1`; the
/// server prefers `h2`; two requests share one connection.
#[test]
fn rfc9113_3_2_client_auto_selects_h2_and_reuses_the_connection() {
    let cert = cert();
    let server = tls_server(&cert, Protocol::Auto);
    let client = client(&cert, Protocol::Auto);
    for _ in 0..2 {
        let resp = client.get(server.url("/").as_str()).unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        let body = resp.into_body().collect().unwrap();
        assert_eq!(body, b"hello over HTTP/2.0");
    }
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(server.stats.accepted(), 1);
    server.stop();
}

/// RFC 7301: a client configured for HTTP/1.1 offers `http/1.1` only and
/// speaks it; keep-alive reuses the TLS connection.
#[test]
fn rfc7301_client_http1_selects_http11_and_reuses_the_connection() {
    let cert = cert();
    let server = tls_server(&cert, Protocol::Auto);
    let client = client(&cert, Protocol::Http1);
    for _ in 0..2 {
        let resp = client.get(server.url("/").as_str()).unwrap();
        assert_eq!(resp.version(), Version::HTTP_11);
        let body = resp.into_body().collect().unwrap();
        assert_eq!(body, b"hello over HTTP/1.1");
    }
    assert_eq!(client.connections_opened(), 1);
    server.stop();
}

/// RFC 7301 §3.2: a server that serves only HTTP/1.1 refuses a client that
/// offers only `h2` (the handshake fails: `no_application_protocol`), with
/// no panic, and keeps serving other clients.
#[test]
fn rfc7301_3_2_http1_only_server_refuses_an_h2_only_client() {
    let cert = cert();
    let server = tls_server(&cert, Protocol::Http1);
    let h2_only = client(&cert, Protocol::Http2);
    let err = h2_only.get(server.url("/").as_str()).unwrap_err();
    assert!(
        err.to_string().contains("NoApplicationProtocol")
            || err.to_string().to_lowercase().contains("application"),
        "{err}"
    );
    let ok = client(&cert, Protocol::Auto);
    let resp = ok.get(server.url("/").as_str()).unwrap();
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(resp.into_body().collect().unwrap(), b"hello over HTTP/1.1");
    // The server counted the failure (it may log it just after the
    // client saw the alert).
    let deadline = Instant::now() + GUARD;
    while server.stats.handshake_failures() != 1 {
        assert!(Instant::now() < deadline, "handshake failure not counted");
        std::thread::yield_now();
    }
    server.stop();
}

/// The handshake runs on the connection's thread, not in the accept loop:
/// a client that stalls mid-handshake does not delay another one, and is
/// dropped at the handshake deadline (the header-read timeout).
#[test]
fn stalled_handshake_blocks_neither_accept_nor_others() {
    let cert = cert();
    let mut config = Config::default();
    config.header_read_timeout = Some(Duration::from_millis(300));
    let builder = Server::builder().config(config).tls(server_config(&cert));
    let server = start(builder, app);
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    // The start of a TLS record header, and then nothing.
    stalled.write_all(&[0x16, 0x03, 0x01]).unwrap();
    let started = Instant::now();
    let resp = client(&cert, Protocol::Auto)
        .get(server.url("/").as_str())
        .unwrap();
    assert_eq!(resp.into_body().collect().unwrap(), b"hello over HTTP/2.0");
    assert!(started.elapsed() < GUARD);
    // The stalled connection is closed by the server at its deadline.
    stalled.set_read_timeout(Some(GUARD)).unwrap();
    let mut rest = Vec::new();
    let closed = stalled.read_to_end(&mut rest);
    assert!(
        closed.is_ok() || closed.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset)
    );
    let deadline = Instant::now() + GUARD;
    while server.stats.handshake_failures() != 1 {
        assert!(Instant::now() < deadline, "timed-out handshake not counted");
        std::thread::yield_now();
    }
    server.stop();
}

/// A 1 MiB body both ways over TLS HTTP/2: the streamed echo passes
/// through encryption in bounded pieces.
#[test]
fn rfc9113_3_2_one_mib_echo_over_tls_h2() {
    let cert = cert();
    let server = tls_server(&cert, Protocol::Auto);
    let client = client(&cert, Protocol::Auto);
    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut req = Request::new(SendBody::from(data.clone()));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = server.url("/echo").parse().unwrap();
    let resp = client.request(req).unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    let got = resp.into_body().collect().unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "echoed body differs");
    server.stop();
}

/// The same over HTTP/1.1 (chunked echo), and curl uploading it.
#[test]
fn one_mib_echo_over_tls_http1_and_curl() {
    let cert = cert();
    let server = tls_server(&cert, Protocol::Auto);
    let client = client(&cert, Protocol::Http1);
    let data = vec![b'z'; 1 << 20];
    let mut req = Request::new(SendBody::from(data.clone()));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = server.url("/echo").parse().unwrap();
    let resp = client.request(req).unwrap();
    assert_eq!(resp.version(), Version::HTTP_11);
    assert!(resp.into_body().collect().unwrap() == data);
    let dir = std::env::temp_dir();
    let upload = dir.join(format!("adapter-std-tls-upload-{}", std::process::id()));
    std::fs::write(&upload, &data).unwrap();
    let arg = format!("@{}", upload.display());
    let (body, version) = curl(
        &cert,
        &["--http2", "--data-binary", &arg, &server.url("/echo")],
    );
    let _ = std::fs::remove_file(&upload);
    assert_eq!(version, "2");
    assert_eq!(body.len(), data.len());
    server.stop();
}

/// `https://` without a TLS config is an error, not a panic; and `http`
/// and `https` to the same authority never share a connection.
#[test]
fn https_needs_a_tls_config_and_never_shares_plain_connections() {
    let plain = Client::new();
    let err = plain.get("https://localhost:1/").unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
    assert_eq!(plain.connections_opened(), 0);

    let cert = cert();
    let server = tls_server(&cert, Protocol::Auto);
    let client = client(&cert, Protocol::Http1);
    let resp = client.get(server.url("/").as_str()).unwrap();
    assert_eq!(resp.into_body().collect().unwrap(), b"hello over HTTP/1.1");
    // Plain HTTP to the TLS port: a new connection (not the pooled TLS
    // one), which the server's handshake rejects.
    let url = format!("http://localhost:{}/", server.addr.port());
    assert!(client.get(url.as_str()).is_err());
    assert_eq!(client.connections_opened(), 2);
    server.stop();
}

/// RFC 9110 §7.8 over TLS: after `101` the upgraded stream is still
/// encrypted (the connection thread's rustls session moves into it), both
/// on the server and on the client.
#[test]
fn rfc9110_7_8_upgrade_over_tls_echoes() {
    let cert = cert();
    let handler = |mut req: Request<Body>| {
        let on_upgrade = adapter_std::upgrade::on(&mut req);
        std::thread::spawn(move || {
            let Ok(mut io) = on_upgrade.wait_timeout(GUARD) else {
                return;
            };
            io.set_read_timeout(Some(GUARD));
            let mut buf = [0u8; 4096];
            while let Ok(n) = io.read(&mut buf) {
                if n == 0 || io.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = io.shutdown_write();
        });
        let mut resp = Response::new(SendBody::empty());
        *resp.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        resp.headers_mut()
            .insert("connection", "upgrade".parse().unwrap());
        resp.headers_mut()
            .insert("upgrade", "echo".parse().unwrap());
        resp
    };
    let server = start(Server::builder().tls(server_config(&cert)), handler);
    let client = client(&cert, Protocol::Http1);
    let mut req = Request::new(SendBody::empty());
    *req.uri_mut() = server.url("/ws").parse().unwrap();
    req.headers_mut()
        .insert("connection", "upgrade".parse().unwrap());
    req.headers_mut().insert("upgrade", "echo".parse().unwrap());
    let mut resp = client.request(req).unwrap();
    assert_eq!(resp.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    let mut io = adapter_std::upgrade::on(&mut resp)
        .wait_timeout(GUARD)
        .unwrap();
    io.set_read_timeout(Some(GUARD));
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 239) as u8).collect();
    let mut back = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut sent = 0;
    for piece in data.chunks(10_000) {
        io.write_all(piece).unwrap();
        sent += piece.len();
        // Each piece's echo before the next: no buffer fills up.
        while back.len() < sent {
            let n = io.read(&mut buf).unwrap();
            assert!(n > 0);
            back.extend_from_slice(&buf[..n]);
        }
    }
    io.shutdown_write().unwrap();
    io.read_to_end(&mut back).unwrap();
    assert!(back == data, "echo over TLS differs ({} bytes)", back.len());
    server.stop();
}
