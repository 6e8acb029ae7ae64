//! TLS (feature `rustls`): the server's handshake in each connection's
//! task, ALPN (RFC 7301) choosing HTTP/2 (RFC 9113 §3.2) or HTTP/1.1, the
//! client's `https://` connections and pool, checked against curl and our
//! own client. Certificates are generated per test (rcgen) and trusted
//! explicitly (never `-k`), so names and chains are really verified.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use adapter_smol::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use adapter_smol::{Builder, Client, Config, Error, Incoming, Protocol, service_fn};
use bytes::Bytes;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use http::{Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use support::{Running, chan_body, echo, get, mebibyte, send_chunks, start_with, within};

/// A self-signed certificate for `localhost` and `127.0.0.1`.
struct Cert {
    der: CertificateDer<'static>,
    key: Vec<u8>,
    pem: String,
}

fn cert() -> Cert {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    Cert {
        der: generated.cert.der().clone(),
        key: generated.key_pair.serialize_der(),
        pem: generated.cert.pem(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server config with no ALPN list: the builder fills it in.
fn server_config(cert: &Cert) -> ServerConfig {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key.clone()));
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der.clone()], key)
        .unwrap()
}

/// A client config trusting only `cert`, with no ALPN list.
fn client_config(cert: &Cert) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn client(cert: &Cert, protocol: Protocol) -> Client {
    Client::builder()
        .protocol(protocol)
        .tls(client_config(cert))
        .build()
}

fn https(server: &Running, path: &str) -> http::Uri {
    format!("https://localhost:{}{path}", server.addr.port())
        .parse()
        .unwrap()
}

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("hello {}", req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// `localhost` must resolve to the server's address for the name check:
/// serve on 127.0.0.1 and connect to it by that name.
async fn start_tls(builder: Builder, cert: &Cert) -> Running {
    start_with(builder.tls(server_config(cert)), service_fn(hello)).await
}

async fn body_text(resp: Response<Incoming>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// `cert`'s PEM in a file of its own, removed on drop.
struct PemFile(std::path::PathBuf);

impl PemFile {
    fn new(cert: &Cert) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "adapter-smol-tls-{}-{}.pem",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, &cert.pem).unwrap();
        Self(path)
    }
}

impl Drop for PemFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs curl over HTTPS with `version_flag`, trusting only the generated
/// certificate and resolving `localhost` to the server; returns (body,
/// negotiated HTTP version as curl reports it).
fn curl(server: &Running, cert: &Cert, version_flag: &str) -> (String, String) {
    let pem = PemFile::new(cert);
    let port = server.addr.port();
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10", version_flag])
        .arg("--cacert")
        .arg(&pem.0)
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["--write-out", "\n%{http_version}"])
        .arg(format!("https://localhost:{port}/curl"))
        .output()
        .unwrap_or_else(|e| {
            panic!("curl could not be run ({e}): these tests need curl with HTTP/2 on the PATH")
        });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "curl failed ({}): {}{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, version) = stdout.rsplit_once('\n').unwrap();
    (body.to_owned(), version.to_owned())
}

/// RFC 9113 §3.2 / RFC 7301: curl offering `h2` gets HTTP/2, with the
/// certificate checked against the name `localhost`.
#[test]
fn rfc9113_3_2_curl_http2_over_tls_negotiates_h2() {
    let cert = cert();
    let server = within(20, start_tls(Builder::new(), &cert));
    let (body, version) = curl(&server, &cert, "--http2");
    assert_eq!(version, "2");
    assert_eq!(body, "hello /curl");
    assert_eq!(server.stats.requests(), 1);
}

/// RFC 7301: curl offering only `http/1.1` gets HTTP/1.1 from the same
/// (`Auto`) server.
#[test]
fn rfc7301_curl_http1_1_over_tls_negotiates_http11() {
    let cert = cert();
    let server = within(20, start_tls(Builder::new(), &cert));
    let (body, version) = curl(&server, &cert, "--http1.1");
    assert_eq!(version, "1.1");
    assert_eq!(body, "hello /curl");
}

/// RFC 9113 §3.2: a client configured `Auto` offers `h2` and `http/1.1`;
/// the server prefers `h2`, and both requests share the one connection.
#[test]
fn rfc9113_3_2_auto_client_negotiates_h2_and_reuses_the_connection() {
    let cert = cert();
    within(20, async {
        let server = start_tls(Builder::new(), &cert).await;
        let client = client(&cert, Protocol::Auto);
        for path in ["/one", "/two"] {
            let resp = client.get(https(&server, path)).await.unwrap();
            assert_eq!(resp.version(), Version::HTTP_2);
            assert_eq!(body_text(resp).await, format!("hello {path}"));
        }
        assert_eq!(server.stats.accepted(), 1);
        assert_eq!(server.stats.requests(), 2);
    });
}

/// RFC 9113 §3.2: concurrent first requests of an `Auto` client share one
/// connection once ALPN chose `h2` (one handshake at a time per target).
#[test]
fn rfc9113_3_2_concurrent_first_requests_share_one_tls_h2_connection() {
    let cert = cert();
    within(20, async {
        let server = start_tls(Builder::new(), &cert).await;
        let client = client(&cert, Protocol::Auto);
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let client = client.clone();
                let uri = https(&server, &format!("/{i}"));
                smol::spawn(async move {
                    let resp = client.get(uri).await.unwrap();
                    assert_eq!(resp.version(), Version::HTTP_2);
                    body_text(resp).await
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await, format!("hello /{i}"));
        }
        assert_eq!(server.stats.accepted(), 1);
    });
}

/// RFC 7301: a client configured `Http1` offers only `http/1.1` and gets
/// it; its keep-alive pool reuses the connection.
#[test]
fn rfc7301_http1_client_negotiates_http11_and_keeps_alive() {
    let cert = cert();
    within(20, async {
        let server = start_tls(Builder::new(), &cert).await;
        let client = client(&cert, Protocol::Http1);
        for path in ["/one", "/two"] {
            let resp = client.get(https(&server, path)).await.unwrap();
            assert_eq!(resp.version(), Version::HTTP_11);
            assert_eq!(body_text(resp).await, format!("hello {path}"));
        }
        assert_eq!(server.stats.accepted(), 1);
    });
}

/// RFC 7301 §3.2: a server configured for HTTP/1.1 only accepts only
/// `http/1.1`; a client offering only `h2` fails its handshake
/// (`no_application_protocol`), and the server goes on serving others.
#[test]
fn rfc7301_3_2_http1_only_server_refuses_an_h2_only_client() {
    let cert = cert();
    within(20, async {
        let server = start_tls(Builder::new().protocol(Protocol::Http1), &cert).await;
        let h2_only = client(&cert, Protocol::Http2);
        let err = h2_only.get(https(&server, "/")).await.unwrap_err();
        assert!(matches!(err, Error::Io(_)), "{err:?}");

        let resp = client(&cert, Protocol::Auto)
            .get(https(&server, "/after"))
            .await
            .unwrap();
        assert_eq!(resp.version(), Version::HTTP_11);
        assert_eq!(body_text(resp).await, "hello /after");
        assert_eq!(server.stats.requests(), 1);
    });
}

/// `tls` before `protocol`: the ALPN list follows the protocol set last.
#[test]
fn rfc7301_alpn_list_follows_a_protocol_set_after_tls() {
    let cert = cert();
    within(20, async {
        let builder = Builder::new()
            .tls(server_config(&cert))
            .protocol(Protocol::Http1);
        let server = start_with(builder, service_fn(hello)).await;
        let resp = client(&cert, Protocol::Auto)
            .get(https(&server, "/"))
            .await
            .unwrap();
        assert_eq!(resp.version(), Version::HTTP_11);
    });
}

/// The handshake runs in the connection's task: clients that stall in the
/// middle of it (a partial ClientHello, then nothing) do not delay another
/// client's handshake and request.
#[test]
fn tls_handshake_stalled_clients_do_not_block_others() {
    let cert = cert();
    within(20, async {
        let server = start_tls(Builder::new(), &cert).await;
        let mut stalled = Vec::new();
        for _ in 0..2 {
            let mut io = async_net::TcpStream::connect(server.addr).await.unwrap();
            // A TLS handshake record header announcing more than follows.
            io.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
                .await
                .unwrap();
            io.flush().await.unwrap();
            stalled.push(io);
        }
        // The default handshake bound (30 s) is longer than this test's.
        let resp = client(&cert, Protocol::Auto)
            .get(https(&server, "/meanwhile"))
            .await
            .unwrap();
        assert_eq!(body_text(resp).await, "hello /meanwhile");
        assert_eq!(server.stats.accepted(), 3);
        assert_eq!(server.stats.active(), 3);
    });
}

/// A handshake that does not finish within the header-read timeout closes
/// its connection.
#[test]
fn tls_handshake_timeout_closes_the_connection() {
    let cert = cert();
    within(20, async {
        let mut config = Config::default();
        config.header_read_timeout = Some(Duration::from_millis(300));
        let server = start_tls(Builder::new().config(config), &cert).await;
        let mut io = async_net::TcpStream::connect(server.addr).await.unwrap();
        io.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
        let mut buf = [0u8; 64];
        // EOF (or a reset), not a hang: the test's deadline is the bound.
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        // The counter drops once the connection task has ended.
        for _ in 0..100 {
            if server.stats.active() == 0 {
                break;
            }
            smol::Timer::after(Duration::from_millis(10)).await;
        }
        assert_eq!(server.stats.active(), 0);
        assert_eq!(server.stats.requests(), 0);
    });
}

/// Bytes that are not TLS (a plain-text request to the TLS port) fail the
/// handshake of that connection only, without a panic; since `http` and
/// `https` are different pool keys, the plain request does not reuse the
/// pooled TLS connection but opens its own, which fails.
#[test]
fn http_and_https_never_share_a_pooled_connection() {
    let cert = cert();
    within(20, async {
        let server = start_tls(Builder::new(), &cert).await;
        let client = client(&cert, Protocol::Http1);
        let resp = client.get(https(&server, "/tls")).await.unwrap();
        assert_eq!(body_text(resp).await, "hello /tls");

        let plain: http::Uri = format!("http://localhost:{}/plain", server.addr.port())
            .parse()
            .unwrap();
        assert!(client.get(plain).await.is_err());
        assert_eq!(server.stats.accepted(), 2);

        // The pooled TLS connection is still good.
        let resp = client.get(https(&server, "/again")).await.unwrap();
        assert_eq!(body_text(resp).await, "hello /again");
        assert_eq!(server.stats.accepted(), 2);
    });
}

/// An IP-address host is checked against the certificate's IP addresses
/// (no SNI is sent for it), and a host the certificate does not name is
/// refused.
#[test]
fn tls_client_checks_the_uri_host_against_the_certificate() {
    let cert = cert();
    within(20, async {
        let server = start_tls(Builder::new(), &cert).await;
        let port = server.addr.port();
        let trusting = client(&cert, Protocol::Auto);
        let by_ip: http::Uri = format!("https://127.0.0.1:{port}/ip").parse().unwrap();
        let resp = trusting.get(by_ip).await.unwrap();
        assert_eq!(body_text(resp).await, "hello /ip");

        let only_localhost =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let narrow = Cert {
            der: only_localhost.cert.der().clone(),
            key: only_localhost.key_pair.serialize_der(),
            pem: only_localhost.cert.pem(),
        };
        let server = start_tls(Builder::new(), &narrow).await;
        let port = server.addr.port();
        let by_ip: http::Uri = format!("https://127.0.0.1:{port}/ip").parse().unwrap();
        let err = client(&narrow, Protocol::Auto)
            .get(by_ip)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Io(_)), "{err:?}");
        assert_eq!(server.stats.requests(), 0);
    });
}

/// Without a TLS config an `https://` URI is an error, not a panic nor a
/// plain-text connection.
#[test]
fn https_without_a_tls_config_is_an_invalid_request() {
    within(10, async {
        let err = Client::new()
            .get("https://127.0.0.1:1/".parse().unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    });
}

/// RFC 9113 §3.2: 1 MiB streamed up and echoed back over TLS HTTP/2, with
/// flow control through the TLS layer in both directions.
#[test]
fn rfc9113_3_2_mebibyte_echo_over_tls_h2() {
    let cert = cert();
    within(30, async {
        let server = start_with(Builder::new().tls(server_config(&cert)), service_fn(echo)).await;
        let client = client(&cert, Protocol::Auto);
        let payload = mebibyte();
        let (tx, body) = chan_body(4);
        let sending = send_chunks(tx, payload.clone());
        let req = Request::post(https(&server, "/echo")).body(body).unwrap();
        let resp = client.request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.version(), Version::HTTP_2);
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        sending.await;
        assert!(got == payload, "echoed bytes differ ({} bytes)", got.len());
    });
}

/// Graceful shutdown with TLS: an idle TLS connection closes, a connection
/// still in its handshake is dropped rather than waited for, and `serve`
/// returns well before the drain deadline.
#[test]
fn tls_graceful_shutdown_drops_pending_handshakes() {
    let cert = cert();
    within(20, async {
        let server = start_tls(Builder::new(), &cert).await;
        let resp = client(&cert, Protocol::Auto)
            .get(https(&server, "/"))
            .await
            .unwrap();
        assert_eq!(body_text(resp).await, "hello /");
        let _stalled = async_net::TcpStream::connect(server.addr).await.unwrap();
        // The accept loop has the stalled connection once it is counted.
        for _ in 0..100 {
            if server.stats.accepted() == 2 {
                break;
            }
            smol::Timer::after(Duration::from_millis(10)).await;
        }
        assert_eq!(server.stats.accepted(), 2);
        server.shutdown.shutdown(Duration::from_secs(60));
        // Waiting for the drain deadline would exceed the test's bound.
        server.task.await.unwrap();
        assert_eq!(server.stats.active(), 0);
    });
}

/// Under async-std's runtime: its listener's sockets go through
/// `Builder::serve_connection`, which does the TLS handshake of a builder
/// with `tls`; the client connects over TLS from an async-std task.
#[test]
fn tls_server_and_client_under_async_std() {
    let cert = cert();
    let test = async {
        let listener = async_std::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let builder = Builder::new().tls(server_config(&cert));
        let stats = builder.stats();
        let server = async_std::task::spawn(async move {
            let (io, _) = listener.accept().await.unwrap();
            builder.serve_connection(io, service_fn(hello)).await
        });
        let client = client(&cert, Protocol::Auto);
        let uri: http::Uri = format!("https://localhost:{port}/std").parse().unwrap();
        let resp = client.request(get(uri)).await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        assert_eq!(body_text(resp).await, "hello /std");
        // Dropping the client closes its connection; the server returns.
        drop(client);
        server.await.unwrap();
        assert_eq!(stats.requests(), 1);
    };
    async_std::task::block_on(async_std::future::timeout(Duration::from_secs(20), test))
        .expect("test timed out");
}
