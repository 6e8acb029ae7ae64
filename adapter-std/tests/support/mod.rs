//! A server on a loopback port for the tests, stopped gracefully.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use adapter_std::{Builder, Client, Handler, ShutdownHandle, Stats};

/// Upper bound for anything a test waits for.
pub const GUARD: Duration = Duration::from_secs(10);

pub struct Running {
    pub addr: SocketAddr,
    pub stats: Stats,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn stop(mut self) {
        self.shutdown.shutdown(Duration::from_secs(1));
        self.thread.take().unwrap().join().unwrap().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.shutdown(Duration::ZERO);
    }
}

pub fn start<H: Handler>(builder: Builder, handler: H) -> Running {
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

/// An HTTP/1.1 client and an HTTP/2 (prior knowledge) client.
pub fn clients() -> [(Client, http::Version); 2] {
    [
        (Client::new(), http::Version::HTTP_11),
        (
            Client::builder().http2_prior_knowledge().build(),
            http::Version::HTTP_2,
        ),
    ]
}
