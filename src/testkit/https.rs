//! An in-process HTTPS server on a loopback address that answers every request with one configured
//! reply (a policy file, an HTTP error, a wrong media type, an endless body or silence), or with one
//! computed from the request's host and path. It serves the MTA-STS and autoconfig scenarios and the
//! simulated world's shared hosting address.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// A reply computed from the request's `Host` and path: (status, media type, body).
pub type Responder = Arc<dyn Fn(&str, &str) -> (u16, String, String) + Send + Sync>;

/// What the server answers.
#[derive(Clone)]
pub enum Reply {
    /// This status, media type and body.
    Fixed {
        /// HTTP status.
        status: u16,
        /// `Content-Type`.
        content_type: String,
        /// Body.
        body: String,
    },
    /// 200 text/plain with a body that never ends.
    Endless,
    /// Completes TLS, then never answers.
    Silent,
    /// Completes TLS, then sends these bytes, which need not be HTTP.
    Raw(String),
    /// Computed from the request's `Host` header and path (a server of many names).
    Dynamic(Responder),
}

impl Reply {
    /// 200, `text/plain`, `body`.
    pub fn policy(body: &str) -> Self {
        Self::Fixed { status: 200, content_type: "text/plain".into(), body: body.into() }
    }
}

/// A running HTTPS server.
pub struct FakeHttps {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl FakeHttps {
    /// Serves `reply` over TLS with `tls` at `addr`.
    pub async fn spawn(addr: SocketAddr, tls: Arc<ServerConfig>, reply: Reply) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicUsize::new(0));
        let acceptor = TlsAcceptor::from(tls);
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                // Replies go out whole, as real servers write them (no Nagle delay on small writes).
                let _ = tcp.set_nodelay(true);
                let (acceptor, reply, counter) = (acceptor.clone(), reply.clone(), counter.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                    let reply = match reply {
                        Reply::Dynamic(f) => {
                            let text = String::from_utf8_lossy(&head);
                            let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                            let host = text
                                .lines()
                                .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("host")))
                                .map(|(_, v)| v.trim().to_ascii_lowercase())
                                .unwrap_or_default();
                            let (status, content_type, body) = f(&host, &path);
                            Reply::Fixed { status, content_type, body }
                        }
                        other => other,
                    };
                    match reply {
                        Reply::Dynamic(_) => {}
                        Reply::Fixed { status, content_type, body } => {
                            let text = format!(
                                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = tls.write_all(text.as_bytes()).await;
                            let _ = tls.shutdown().await;
                        }
                        Reply::Endless => {
                            let head =
                                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
                            if tls.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
                            while tls.write_all(chunk.as_bytes()).await.is_ok() {}
                        }
                        Reply::Raw(bytes) => {
                            let _ = tls.write_all(bytes.as_bytes()).await;
                            let _ = tls.shutdown().await;
                        }
                        Reply::Silent => {
                            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                        }
                    }
                });
            }
        });
        Ok(Self { addr, requests, task })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received (complete request heads).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for FakeHttps {
    fn drop(&mut self) {
        self.task.abort();
    }
}
