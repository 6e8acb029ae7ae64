//! Clients: the three adapters' clients behind one blocking facade
//! ([`Client`]), so a scenario is written once. Every call is bounded by
//! `DEADLINE` (see [`super::common::within`]).

use std::convert::Infallible;
use std::io::Read;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};

use super::common::within;
use super::server::RT;
use super::tls;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    Tokio,
    Smol,
    Std,
    /// Hand-written HTTP/1.1 over a `TcpStream` ([`super::raw`]): for what
    /// no adapter client does (pipelining, byte-exact ordering checks,
    /// silent connections).
    Raw,
}

impl ClientKind {
    pub fn from_name(name: &str) -> Self {
        match name {
            "tokio_client" => Self::Tokio,
            "smol_client" => Self::Smol,
            "std_client" => Self::Std,
            "raw_client" => Self::Raw,
            other => panic!("unknown client column {other}"),
        }
    }
}

/// How to build a client.
#[derive(Clone, Default)]
pub struct ClientOpts {
    pub h2: bool,
    pub request_timeout: Option<Duration>,
    pub config: Option<adapter_tokio::Config>,
    /// `https://` with the matrix certificate, offering these ALPN ids.
    pub tls_alpn: Option<Vec<&'static [u8]>>,
}

impl ClientOpts {
    pub fn h1() -> Self {
        Self::default()
    }

    pub fn h2() -> Self {
        Self {
            h2: true,
            ..Self::default()
        }
    }
}

/// A request body.
#[derive(Clone, Debug, Default)]
pub enum ReqBody {
    #[default]
    Empty,
    /// Given in full (`content-length`).
    Full(Bytes),
    /// Streamed piece by piece, no length (chunked on HTTP/1.1).
    Chunks(Vec<Bytes>),
}

/// A request: `path` is joined to the server's URL.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: ReqBody,
    pub trailers: Option<HeaderMap>,
}

impl Req {
    pub fn get(url: String) -> Self {
        Self {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: ReqBody::Empty,
            trailers: None,
        }
    }

    pub fn post(url: String, body: ReqBody) -> Self {
        Self {
            method: Method::POST,
            body,
            ..Self::get(url)
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    fn parts(&self) -> http::request::Builder {
        let mut b = Request::builder()
            .method(self.method.clone())
            .uri(self.url.as_str());
        for (name, value) in &self.headers {
            b = b.header(*name, value.as_str());
        }
        b
    }
}

/// A response, body read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: Option<HeaderMap>,
}

/// A tunnel after `101` or a `2xx` to `CONNECT`, blocking.
pub trait Tunnel: Send {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()>;
    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()>;
}

/// One adapter client behind a blocking facade. Cheap to clone (clones
/// share the adapter client and so its connections).
#[derive(Clone)]
pub enum Client {
    Tokio(adapter_tokio::Client),
    Smol(adapter_smol::Client),
    Std(adapter_std::Client),
}

type AsyncReqBody = UnsyncBoxBody<Bytes, Infallible>;

fn async_body(req: &Req) -> AsyncReqBody {
    match (&req.body, &req.trailers) {
        (ReqBody::Empty, None) => Full::new(Bytes::new()).boxed_unsync(),
        (ReqBody::Full(b), None) => Full::new(b.clone()).boxed_unsync(),
        (body, trailers) => {
            let mut frames: Vec<Frame<Bytes>> = match body {
                ReqBody::Empty => Vec::new(),
                ReqBody::Full(b) => vec![Frame::data(b.clone())],
                ReqBody::Chunks(c) => c.iter().cloned().map(Frame::data).collect(),
            };
            if let Some(t) = trailers {
                frames.push(Frame::trailers(t.clone()));
            }
            let stream = futures_lite::stream::iter(frames.into_iter().map(Ok));
            StreamBody::new(stream).boxed_unsync()
        }
    }
}

async fn collect_async(resp: http::Response<adapter_tokio::Incoming>) -> Result<Resp, String> {
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await.map_err(|e| format!("body: {e}"))?;
    let trailers = collected.trailers().cloned();
    Ok(Resp {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body: collected.to_bytes().to_vec(),
        trailers,
    })
}

impl Client {
    pub fn new(kind: ClientKind, opts: &ClientOpts) -> Self {
        match kind {
            ClientKind::Tokio => {
                let mut b = adapter_tokio::Client::builder();
                if opts.h2 {
                    b = b.http2_prior_knowledge();
                }
                if let Some(t) = opts.request_timeout {
                    b = b.request_timeout(t);
                }
                if let Some(c) = &opts.config {
                    b = b.config(c.clone());
                }
                if let Some(alpn) = &opts.tls_alpn {
                    b = b.tls(tls::client_config(alpn));
                }
                Self::Tokio(b.build())
            }
            ClientKind::Smol => {
                let mut b = adapter_smol::Client::builder();
                if opts.h2 {
                    b = b.http2_prior_knowledge();
                }
                if let Some(t) = opts.request_timeout {
                    b = b.request_timeout(t);
                }
                if let Some(c) = &opts.config {
                    b = b.config(c.clone());
                }
                if let Some(alpn) = &opts.tls_alpn {
                    b = b.tls(tls::client_config(alpn));
                }
                Self::Smol(b.build())
            }
            ClientKind::Std => {
                let mut b = adapter_std::Client::builder();
                if opts.h2 {
                    b = b.http2_prior_knowledge();
                }
                if let Some(t) = opts.request_timeout {
                    b = b.request_timeout(t);
                }
                if let Some(c) = &opts.config {
                    b = b.config(c.clone());
                }
                if let Some(alpn) = &opts.tls_alpn {
                    b = b.tls(tls::client_config(alpn));
                }
                Self::Std(b.build())
            }
            ClientKind::Raw => panic!("the raw client has no adapter facade; see matrix::raw"),
        }
    }

    /// Connections the client opened, where the adapter counts them.
    pub fn connections_opened(&self) -> Option<u64> {
        match self {
            Self::Std(c) => Some(c.connections_opened()),
            Self::Tokio(_) | Self::Smol(_) => None,
        }
    }

    /// Sends `req` and reads the whole response, within `DEADLINE`.
    #[track_caller]
    pub fn send(&self, req: Req) -> Resp {
        let what = format!("{} {}", req.method, req.url);
        match self.try_send(req) {
            Ok(resp) => resp,
            Err(e) => panic!("{what}: {e}"),
        }
    }

    /// [`Client::send`], errors returned (still bounded by `DEADLINE`).
    #[track_caller]
    pub fn try_send(&self, req: Req) -> Result<Resp, String> {
        let this = self.clone();
        within("request", move || this.send_now(req))
    }

    fn send_now(&self, req: Req) -> Result<Resp, String> {
        match self {
            Self::Tokio(c) => {
                let r = req
                    .parts()
                    .body(async_body(&req))
                    .map_err(|e| e.to_string())?;
                RT.block_on(async {
                    let resp = c.request(r).await.map_err(|e| e.to_string())?;
                    collect_async(resp).await
                })
            }
            Self::Smol(c) => {
                let r = req
                    .parts()
                    .body(async_body(&req))
                    .map_err(|e| e.to_string())?;
                smol::block_on(async {
                    let resp = c.request(r).await.map_err(|e| e.to_string())?;
                    collect_async(resp).await
                })
            }
            Self::Std(c) => {
                let body = match &req.body {
                    ReqBody::Empty => adapter_std::SendBody::empty(),
                    ReqBody::Full(b) => adapter_std::SendBody::from(b.clone()),
                    ReqBody::Chunks(pieces) => {
                        let pieces = pieces.clone();
                        adapter_std::SendBody::writer(move |w| {
                            for p in pieces {
                                w.send(p)?;
                            }
                            Ok(())
                        })
                    }
                };
                let body = match &req.trailers {
                    Some(t) => body.with_trailers(t.clone()),
                    None => body,
                };
                let r = req.parts().body(body).map_err(|e| e.to_string())?;
                let resp = c.request(r).map_err(|e| e.to_string())?;
                let (parts, mut body) = resp.into_parts();
                let mut data = Vec::new();
                body.read_to_end(&mut data)
                    .map_err(|e| format!("body: {e}"))?;
                Ok(Resp {
                    status: parts.status,
                    version: parts.version,
                    headers: parts.headers,
                    body: data,
                    trailers: body.trailers().cloned(),
                })
            }
        }
    }

    /// Sends an upgrade (or `CONNECT`) request; on `101`/`2xx`, the tunnel.
    #[track_caller]
    pub fn upgrade(&self, req: Req) -> (StatusCode, Box<dyn Tunnel>) {
        let this = self.clone();
        within("upgrade", move || this.upgrade_now(req)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn upgrade_now(&self, req: Req) -> Result<(StatusCode, Box<dyn Tunnel>), String> {
        let async_req = || {
            req.parts()
                .body(async_body(&req))
                .map_err(|e| e.to_string())
        };
        match self {
            Self::Tokio(c) => RT.block_on(async {
                let mut resp = c.request(async_req()?).await.map_err(|e| e.to_string())?;
                let status = resp.status();
                let io = adapter_tokio::upgrade::on(&mut resp)
                    .await
                    .map_err(|e| format!("{status}: {e}"))?;
                Ok((status, Box::new(TokioTunnel(io)) as Box<dyn Tunnel>))
            }),
            Self::Smol(c) => smol::block_on(async {
                let mut resp = c.request(async_req()?).await.map_err(|e| e.to_string())?;
                let status = resp.status();
                let io = adapter_smol::upgrade::on(&mut resp)
                    .await
                    .map_err(|e| format!("{status}: {e}"))?;
                Ok((status, Box::new(SmolTunnel(io)) as Box<dyn Tunnel>))
            }),
            Self::Std(c) => {
                let r = req
                    .parts()
                    .body(adapter_std::SendBody::empty())
                    .map_err(|e| e.to_string())?;
                let mut resp = c.request(r).map_err(|e| e.to_string())?;
                let status = resp.status();
                let io = adapter_std::upgrade::on(&mut resp)
                    .wait_timeout(super::common::DEADLINE)
                    .map_err(|e| format!("{status}: {e}"))?;
                Ok((status, Box::new(StdTunnel(io)) as Box<dyn Tunnel>))
            }
        }
    }
}

struct TokioTunnel(adapter_tokio::upgrade::Upgraded);

impl Tunnel for TokioTunnel {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        RT.block_on(self.0.write_all(data))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        use tokio::io::AsyncReadExt;
        RT.block_on(self.0.read_exact(buf)).map(drop)
    }
}

struct SmolTunnel(adapter_smol::upgrade::Upgraded);

impl Tunnel for SmolTunnel {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        use futures_lite::AsyncWriteExt;
        smol::block_on(self.0.write_all(data))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        use futures_lite::AsyncReadExt;
        smol::block_on(self.0.read_exact(buf))
    }
}

struct StdTunnel(adapter_std::upgrade::Upgraded);

impl Tunnel for StdTunnel {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.0, data)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.0.set_read_timeout(Some(super::common::DEADLINE));
        Read::read_exact(&mut self.0, buf)
    }
}
