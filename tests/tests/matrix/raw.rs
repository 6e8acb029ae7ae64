//! The raw HTTP/1.1 client: bytes written by hand on a `TcpStream`, and a
//! small response reader (content-length, chunked with trailers, or up to
//! EOF). Used where the matrix must see the wire: pipelining, `100
//! Continue` ordering, tunnels, silent connections, refused connections.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use super::common::DEADLINE;

pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// A response as read from the wire.
#[derive(Debug)]
pub struct RawResp {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

impl RawResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

impl Raw {
    #[track_caller]
    pub fn connect(addr: SocketAddr) -> Self {
        Self::try_connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"))
    }

    pub fn try_connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, DEADLINE)?;
        stream.set_read_timeout(Some(DEADLINE))?;
        stream.set_write_timeout(Some(DEADLINE))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::new(),
        })
    }

    #[track_caller]
    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("raw write");
    }

    /// Reads more bytes into the buffer; `Ok(0)` at EOF.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// One CRLF-terminated line (without the CRLF).
    fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            if self.fill()? == 0 {
                return Err(bad("EOF inside a line"));
            }
        }
    }

    /// Exactly `n` bytes (buffered ones first).
    pub fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill()? == 0 {
                return Err(bad(format!("EOF after {} of {n} bytes", self.buf.len())));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    fn fields(&mut self) -> io::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        loop {
            let line = self.line()?;
            if line.is_empty() {
                return Ok(out);
            }
            let (n, v) = line.split_once(':').ok_or_else(|| bad(line.clone()))?;
            out.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }

    /// A server's side of an accepted connection.
    pub fn accepted(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(DEADLINE))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(DEADLINE))
            .expect("write timeout");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Bytes that have arrived and are not consumed, without waiting.
    pub fn available_now(&mut self) -> io::Result<usize> {
        self.stream.set_nonblocking(true)?;
        let got = loop {
            match self.fill() {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.stream.set_nonblocking(false)?;
        got.map(|()| self.buf.len())
    }

    /// A request line and fields.
    pub fn read_request_head(&mut self) -> io::Result<(String, Vec<(String, String)>)> {
        let line = self.line()?;
        Ok((line, self.fields()?))
    }

    /// A status line and fields.
    pub fn read_head(&mut self) -> io::Result<(u16, Vec<(String, String)>)> {
        let status_line = self.line()?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(status_line.clone()))?;
        Ok((status, self.fields()?))
    }

    /// A whole response to a request whose method was not HEAD.
    pub fn read_response(&mut self) -> io::Result<RawResp> {
        let (status, headers) = self.read_head()?;
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let mut trailers = Vec::new();
        let body = if status / 100 == 1 || status == 204 || status == 304 {
            Vec::new()
        } else if get("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
            let mut body = Vec::new();
            loop {
                let size_line = self.line()?;
                let hex = size_line.split(';').next().unwrap_or("").trim();
                let n = usize::from_str_radix(hex, 16).map_err(|_| bad(size_line.clone()))?;
                if n == 0 {
                    trailers = self.fields()?;
                    break body;
                }
                body.extend(self.take(n)?);
                if !self.take(2)?.starts_with(b"\r\n") {
                    return Err(bad("chunk not followed by CRLF"));
                }
            }
        } else if let Some(len) = get("content-length") {
            let n = len.parse().map_err(|_| bad(len))?;
            self.take(n)?
        } else {
            while self.fill()? > 0 {}
            std::mem::take(&mut self.buf)
        };
        Ok(RawResp {
            status,
            headers,
            body,
            trailers,
        })
    }

    /// Reads until the peer closes; the bytes it sent meanwhile. A reset
    /// counts as a close.
    pub fn read_to_close(&mut self) -> io::Result<Vec<u8>> {
        loop {
            match self.fill() {
                Ok(0) => return Ok(std::mem::take(&mut self.buf)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Ok(std::mem::take(&mut self.buf));
                }
                Err(e) => return Err(e),
            }
        }
    }
}
