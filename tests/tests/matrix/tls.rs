//! TLS with ALPN (RFC 7301): one self-signed certificate for the whole
//! matrix, server and client configs, and a raw rustls client that reads
//! the protocol the server chose.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, LazyLock};

use adapter_tokio::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use adapter_tokio::rustls::{
    self, ClientConfig, ClientConnection, RootCertStore, ServerConfig, StreamOwned,
};

use super::common::DEADLINE;

pub const H2: &[u8] = b"h2";
pub const H1: &[u8] = b"http/1.1";

struct Cert {
    der: CertificateDer<'static>,
    key: Vec<u8>,
}

static CERT: LazyLock<Cert> = LazyLock::new(|| {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("self-signed certificate");
    Cert {
        der: ck.cert.der().clone(),
        key: ck.key_pair.serialize_der(),
    }
});

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// No ALPN list: the adapter offers what its protocol setting serves
/// (`Auto`: `h2`, then `http/1.1`).
pub fn server_config() -> ServerConfig {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(CERT.key.clone()));
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![CERT.der.clone()], key)
        .expect("server config")
}

/// Trusts only the matrix certificate and offers `alpn`, in order.
pub fn client_config(alpn: &[&[u8]]) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    roots.add(CERT.der.clone()).expect("root");
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

pub type RawTls = StreamOwned<ClientConnection, TcpStream>;

/// A handshake offering `alpn`; the stream and the protocol chosen.
pub fn raw_handshake(addr: SocketAddr, alpn: &[&[u8]]) -> (RawTls, Option<Vec<u8>>) {
    let tcp = TcpStream::connect_timeout(&addr, DEADLINE).expect("connect");
    tcp.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    let conn = ClientConnection::new(Arc::new(client_config(alpn)), name).expect("client");
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("handshake");
    }
    let chosen = tls.conn.alpn_protocol().map(<[u8]>::to_vec);
    (tls, chosen)
}

/// Reads until `tail` ends what arrived.
pub fn read_until(tls: &mut RawTls, tail: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(tail) {
        let n = tls.read(&mut buf).expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// HTTP/2 spoken after `h2`: our preface and empty SETTINGS get the
/// server's SETTINGS frame (RFC 9113 §3.4).
pub fn assert_speaks_h2(tls: &mut RawTls) {
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .expect("preface");
    let mut header = [0u8; 9];
    tls.read_exact(&mut header).expect("first frame");
    assert_eq!(header[3], 0x4, "the server's first frame is SETTINGS");
}

fn tls_server(s: super::server::ServerKind) -> super::server::Server {
    super::server::Server::start_with(
        s,
        super::server::ServerOpts {
            tls: true,
            ..super::server::ServerOpts::default()
        },
    )
}

/// The client offers `alpn`; the server (HTTP/1.1 and HTTP/2 on one port)
/// chooses `want`, and both then speak it: three requests (one with a
/// 100 KB body echoed) on one connection.
fn tls_alpn(
    s: super::server::ServerKind,
    c: super::client::ClientKind,
    alpn: &[&'static [u8]],
    want: &[u8],
) {
    use super::client::{Client, ClientKind, ClientOpts, Req, ReqBody};
    let server = tls_server(s);
    if c == ClientKind::Raw {
        let (mut tls, chosen) = raw_handshake(server.addr, alpn);
        assert_eq!(chosen.as_deref(), Some(want), "ALPN");
        if want == H2 {
            assert_speaks_h2(&mut tls);
        } else {
            tls.write_all(b"GET /hello HTTP/1.1\r\nhost: m\r\n\r\n")
                .expect("request");
            let got = read_until(&mut tls, b"hello");
            assert!(
                got.starts_with(b"HTTP/1.1 200"),
                "{}",
                String::from_utf8_lossy(&got)
            );
        }
        return;
    }
    let client = Client::new(
        c,
        &ClientOpts {
            tls_alpn: Some(alpn.to_vec()),
            ..ClientOpts::h1()
        },
    );
    let version = if want == H2 {
        http::Version::HTTP_2
    } else {
        http::Version::HTTP_11
    };
    let data = super::common::pattern(100_000);
    for _ in 0..2 {
        let resp = client.send(Req::get(server.https_url("/hello")));
        assert_eq!(resp.version, version, "the protocol ALPN chose");
        assert_eq!(resp.body, b"hello");
    }
    let resp = client.send(Req::post(
        server.https_url("/echo"),
        ReqBody::Chunks(super::common::odd_chunks(&data)),
    ));
    assert_eq!(resp.version, version);
    super::common::assert_same_bytes(&resp.body, &data, "echo over TLS");
    assert_eq!(server.accepted(), 1, "one TLS connection");
}

/// Offering `h2` and `http/1.1`: the server picks `h2` (RFC 9113 §3.2).
pub fn tls_alpn_h2(s: super::server::ServerKind, c: super::client::ClientKind) {
    tls_alpn(s, c, &[H2, H1], H2);
}

/// Offering only `http/1.1`: HTTP/1.1 over TLS.
pub fn tls_alpn_h1(s: super::server::ServerKind, c: super::client::ClientKind) {
    tls_alpn(s, c, &[H1], H1);
}
