//! Leaving HTTP: `101 Switching Protocols` (RFC 9110 §7.8) and `CONNECT`
//! tunnels (§9.3.6), echoed both ways on the raw stream.

use http::{Method, StatusCode};

use super::client::{Client, ClientKind, ClientOpts, Req, Tunnel};
use super::common::{assert_same_bytes, pattern};
use super::raw::Raw;
use super::server::{Server, ServerKind};

/// 64 KiB through the tunnel in 4 KiB round trips, echoed byte-exact.
fn echo_through(tunnel: &mut dyn Tunnel) {
    let data = pattern(64 * 1024);
    let mut back = vec![0u8; 4096];
    for piece in data.chunks(4096) {
        tunnel.write_all(piece).expect("tunnel write");
        tunnel
            .read_exact(&mut back[..piece.len()])
            .expect("tunnel read");
        assert_same_bytes(&back[..piece.len()], piece, "echoed piece");
    }
}

/// The raw client: the tunnel's first bytes ride with the request head,
/// the rest follow the interim/2xx head.
fn raw_tunnel(server: &Server, head: &str, want_status: u16) {
    let mut raw = Raw::connect(server.addr);
    raw.write(format!("{head}early").as_bytes());
    let (status, _) = raw.read_head().expect("head");
    assert_eq!(status, want_status);
    assert_eq!(raw.take(5).expect("echo of the early bytes"), b"early");
    echo_through(&mut RawTunnel(raw));
}

struct RawTunnel(Raw);

impl Tunnel for RawTunnel {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.0.stream, data)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        let got = self.0.take(buf.len())?;
        buf.copy_from_slice(&got);
        Ok(())
    }
}

/// `GET /upgrade` with `Upgrade: echo` → `101`, then bytes both ways.
pub fn upgrade_101(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    if c == ClientKind::Raw {
        raw_tunnel(
            &server,
            "GET /upgrade HTTP/1.1\r\nhost: m\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n",
            101,
        );
        return;
    }
    let client = Client::new(c, &ClientOpts::h1());
    let req = Req::get(server.url("/upgrade"))
        .header("connection", "upgrade")
        .header("upgrade", "echo");
    let (status, mut tunnel) = client.upgrade(req);
    assert_eq!(status, StatusCode::SWITCHING_PROTOCOLS);
    echo_through(tunnel.as_mut());
}

/// `CONNECT host:port` → `200`, then bytes both ways.
pub fn connect_tunnel(s: ServerKind, c: ClientKind) {
    let server = Server::start(s);
    if c == ClientKind::Raw {
        raw_tunnel(
            &server,
            "CONNECT example.test:443 HTTP/1.1\r\nhost: example.test:443\r\n\r\n",
            200,
        );
        return;
    }
    let client = Client::new(c, &ClientOpts::h1());
    let mut req = Req::get(server.url(""));
    req.method = Method::CONNECT;
    let (status, mut tunnel) = client.upgrade(req);
    assert_eq!(status, StatusCode::OK);
    echo_through(tunnel.as_mut());
}
