//! TLS (feature `rustls`): ALPN (RFC 7301) chooses HTTP/2 (`h2`, RFC 9113
//! §3.2) or HTTP/1.1, checked with curl and with our own client against our
//! server; handshakes run in the connection tasks, bounded in time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use adapter_tokio::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use adapter_tokio::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use adapter_tokio::{Builder, Client, Config, Error, Incoming, Protocol, service_fn};
use bytes::Bytes;
use http::{Request, Response, Version};
use http_body_util::{BodyExt, Full};
use support::{Running, echo, mebibyte, start_with, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A self-signed certificate for `localhost` and `127.0.0.1`.
struct Cert {
    der: CertificateDer<'static>,
    pem: String,
    key: Vec<u8>,
}

fn cert() -> Cert {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    Cert {
        der: ck.cert.der().clone(),
        pem: ck.cert.pem(),
        key: ck.key_pair.serialize_der(),
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

/// Answers with the version it received the request as, and the path.
async fn version_and_path(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("{:?} {}", req.version(), req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

async fn start_tls(cert: &Cert, builder: Builder) -> Running {
    start_with(
        builder.tls(server_config(cert)),
        service_fn(version_and_path),
    )
    .await
}

fn client(cert: &Cert, protocol: Protocol) -> Client {
    Client::builder()
        .protocol(protocol)
        .tls(client_config(cert))
        .build()
}

fn https(server: &Running, path: &str) -> http::Uri {
    format!("https://127.0.0.1:{}{path}", server.addr.port())
        .parse()
        .unwrap()
}

async fn body_string(resp: Response<Incoming>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The PEM in a file of its own, for curl's `--cacert`; removed on drop.
struct PemFile(PathBuf);

impl PemFile {
    fn new(cert: &Cert, name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "adapter-tokio-tls-{}-{name}.pem",
            std::process::id()
        ));
        std::fs::write(&path, &cert.pem).unwrap();
        Self(path)
    }
}

impl Drop for PemFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// curl over HTTPS to `localhost` (resolved to the server: the certificate
/// and SNI are checked against that name), trusting only `pem`. Returns the
/// body and `%{http_version}`. No curl fails the test: CI installs it.
async fn curl(server: &Running, pem: &PemFile, version_flag: &str, path: &str) -> (String, String) {
    let port = server.addr.port();
    let output = tokio::process::Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10"])
        .arg(version_flag)
        .arg("--cacert")
        .arg(&pem.0)
        .arg("--resolve")
        .arg(format!("localhost:{port}:127.0.0.1"))
        .args(["--write-out", "\n%{http_version}"])
        .arg(format!("https://localhost:{port}{path}"))
        .output()
        .await
        .unwrap_or_else(|e| panic!("running curl failed ({e}); these tests need curl on PATH"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "curl {version_flag} failed: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (body, version) = stdout.rsplit_once('\n').unwrap();
    (body.to_owned(), version.to_owned())
}

/// RFC 7301 + RFC 9113 §3.2: curl offering `h2` gets HTTP/2 over TLS.
#[tokio::test]
async fn rfc7301_rfc9113_3_2_curl_http2_negotiates_h2() {
    let cert = cert();
    let pem = PemFile::new(&cert, "curl-h2");
    let server = start_tls(&cert, Builder::new()).await;
    let (body, version) = within(20, curl(&server, &pem, "--http2", "/hello")).await;
    assert_eq!(version, "2");
    assert_eq!(body, "HTTP/2.0 /hello");
}

/// RFC 7301: curl offering only `http/1.1` gets HTTP/1.1 over TLS.
#[tokio::test]
async fn rfc7301_curl_http1_1_negotiates_http11() {
    let cert = cert();
    let pem = PemFile::new(&cert, "curl-h1");
    let server = start_tls(&cert, Builder::new()).await;
    let (body, version) = within(20, curl(&server, &pem, "--http1.1", "/hello")).await;
    assert_eq!(version, "1.1");
    assert_eq!(body, "HTTP/1.1 /hello");
}

/// RFC 7301 + RFC 9113 §3.2: a client configured `Auto` offers `h2` and
/// `http/1.1`; the server prefers `h2`, and both requests share the one
/// HTTP/2 connection.
#[tokio::test]
async fn rfc7301_rfc9113_3_2_auto_client_gets_h2_on_one_connection() {
    let cert = cert();
    let server = start_tls(&cert, Builder::new()).await;
    let client = client(&cert, Protocol::Auto);
    within(10, async {
        for path in ["/a", "/b"] {
            let resp = client.get(https(&server, path)).await.unwrap();
            assert_eq!(resp.version(), Version::HTTP_2);
            assert_eq!(body_string(resp).await, format!("HTTP/2.0 {path}"));
        }
        // Concurrent requests multiplex on it too.
        let (a, b) = tokio::join!(
            client.get(https(&server, "/c")),
            client.get(https(&server, "/d"))
        );
        assert_eq!(body_string(a.unwrap()).await, "HTTP/2.0 /c");
        assert_eq!(body_string(b.unwrap()).await, "HTTP/2.0 /d");
    })
    .await;
    assert_eq!(server.stats.accepted(), 1);
}

/// RFC 7301: a client configured `Http1` offers only `http/1.1`; the
/// keep-alive connection is reused for the second request.
#[tokio::test]
async fn rfc7301_http1_client_gets_http11_and_reuses_the_connection() {
    let cert = cert();
    let server = start_tls(&cert, Builder::new()).await;
    let client = client(&cert, Protocol::Http1);
    within(10, async {
        for path in ["/a", "/b"] {
            let resp = client.get(https(&server, path)).await.unwrap();
            assert_eq!(resp.version(), Version::HTTP_11);
            assert_eq!(body_string(resp).await, format!("HTTP/1.1 {path}"));
        }
    })
    .await;
    assert_eq!(server.stats.accepted(), 1);
}

/// SNI and the certificate check use a DNS name as well as an IP address.
#[tokio::test]
async fn tls_client_checks_the_certificate_by_dns_name() {
    let cert = cert();
    let server = start_tls(&cert, Builder::new()).await;
    let client = client(&cert, Protocol::Auto);
    let uri: http::Uri = format!("https://localhost:{}/dns", server.addr.port())
        .parse()
        .unwrap();
    let resp = within(10, client.get(uri)).await.unwrap();
    assert_eq!(body_string(resp).await, "HTTP/2.0 /dns");
}

/// The pool keys by scheme and authority: after an `http` request to a
/// plain server, an `https` request to the same `host:port` does not reuse
/// that connection but opens a TLS one (which a plain server refuses).
#[tokio::test]
async fn http_and_https_never_share_a_pooled_connection() {
    let cert = cert();
    let plain = start_with(Builder::new(), service_fn(version_and_path)).await;
    let client = client(&cert, Protocol::Auto);
    within(10, async {
        let resp = client.get(plain.url("/plain")).await.unwrap();
        assert_eq!(body_string(resp).await, "HTTP/1.1 /plain");
        let result = client.get(https(&plain, "/tls")).await;
        assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
    })
    .await;
    assert_eq!(plain.stats.accepted(), 2);
}

/// A certificate the client does not trust fails the request (no panic).
#[tokio::test]
async fn tls_client_rejects_an_untrusted_certificate() {
    let server = start_tls(&cert(), Builder::new()).await;
    let client = client(&cert(), Protocol::Auto);
    let result = within(10, client.get(https(&server, "/"))).await;
    assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
    let err = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("invalid peer certificate"), "{err}");
}

/// RFC 7301 §3.2: a server restricted to HTTP/1.1 refuses a client that
/// offers only `h2` (`no_application_protocol`), closes only that
/// connection, and still serves clients offering `http/1.1` (an `Auto`
/// client gets HTTP/1.1 from it).
#[tokio::test]
async fn rfc7301_3_2_http1_server_rejects_h2_only_client() {
    let cert = cert();
    let server = start_tls(&cert, Builder::new().protocol(Protocol::Http1)).await;
    within(10, async {
        let h2_only = client(&cert, Protocol::Http2);
        let result = h2_only.get(https(&server, "/")).await;
        let err = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("NoApplicationProtocol"), "{err}");

        let resp = client(&cert, Protocol::Http1)
            .get(https(&server, "/h1"))
            .await
            .unwrap();
        assert_eq!(body_string(resp).await, "HTTP/1.1 /h1");
        let resp = client(&cert, Protocol::Auto)
            .get(https(&server, "/auto"))
            .await
            .unwrap();
        assert_eq!(resp.version(), Version::HTTP_11);
        assert_eq!(body_string(resp).await, "HTTP/1.1 /auto");
    })
    .await;
    assert!(!server.task.is_finished());
}

/// The first bytes of a TLS record (a ClientHello announced, never sent).
const PARTIAL_CLIENT_HELLO: &[u8] = &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01];

/// A client stalled mid-handshake does not delay another: the handshake
/// runs in the connection's task, not in the accept loop.
#[tokio::test]
async fn tls_stalled_handshake_does_not_block_other_clients() {
    let cert = cert();
    let server = start_tls(&cert, Builder::new()).await;
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(PARTIAL_CLIENT_HELLO).await.unwrap();
    // Well within the 30 s handshake bound (the default header-read timeout).
    let resp = within(5, client(&cert, Protocol::Auto).get(https(&server, "/")))
        .await
        .unwrap();
    assert_eq!(body_string(resp).await, "HTTP/2.0 /");
    drop(stalled);
}

/// A stalled handshake is cut off by the header-read timeout.
#[tokio::test]
async fn tls_handshake_is_bounded_by_the_header_read_timeout() {
    let cert = cert();
    let mut config = Config::default();
    config.header_read_timeout = Some(Duration::from_millis(300));
    let server = start_tls(&cert, Builder::new().config(config)).await;
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(PARTIAL_CLIENT_HELLO).await.unwrap();
    let mut buf = [0u8; 64];
    // EOF (or a reset) once the server gives up on the handshake.
    let read = within(5, stalled.read(&mut buf)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// Graceful shutdown does not wait for a handshake in progress.
#[tokio::test]
async fn tls_shutdown_abandons_handshakes_in_progress() {
    let cert = cert();
    let server = start_tls(&cert, Builder::new()).await;
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(PARTIAL_CLIENT_HELLO).await.unwrap();
    // Until the connection is counted, shutdown might beat the accept.
    within(5, async {
        while server.stats.active() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    server.shutdown.shutdown(Duration::from_secs(60));
    // Neither the 60 s drain nor the 30 s handshake bound.
    within(5, server.task).await.unwrap().unwrap();
}

/// RFC 9113 §3.2: 1 MiB each way through HTTP/2 over TLS.
#[tokio::test]
async fn rfc9113_3_2_one_mebibyte_echo_over_tls_h2() {
    let cert = cert();
    let server = start_with(Builder::new().tls(server_config(&cert)), service_fn(echo)).await;
    let client = client(&cert, Protocol::Auto);
    let data = mebibyte();
    let req = Request::post(https(&server, "/echo"))
        .body(Full::new(Bytes::from(data.clone())))
        .unwrap();
    let resp = within(20, client.request(req)).await.unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    let got = within(20, resp.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    assert!(got == data[..], "echoed body differs ({} bytes)", got.len());
}

/// RFC 7301, RFC 9113 §3.2: a client built with no protocol set offers both
/// `h2` and `http/1.1` over TLS and so speaks HTTP/2 to a server that
/// prefers it (the default is `Auto`, which is HTTP/1.1 over plain TCP).
#[tokio::test]
async fn rfc9113_3_2_default_client_negotiates_h2_over_tls() {
    let cert = cert();
    let server = start_tls(&cert, Builder::new()).await;
    let client = Client::builder().tls(client_config(&cert)).build();
    let resp = within(10, client.get(https(&server, "/default")))
        .await
        .unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(body_string(resp).await, "HTTP/2.0 /default");
}
