//! A bounded HTTPS GET for small published files (MTA-STS policies, autoconfig files): one connection to one address, strict
//! certificate verification against the run's roots, HTTP/1.1 through hyper, a cap on the body size, a
//! cap on the header size, and one deadline over the whole exchange. Redirects are not followed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{FailureReason, Phase, classify_io};

/// What a fetch returned.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HttpsResponse {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body (at most the size limit).
    pub body: Vec<u8>,
}

/// Why a fetch failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FetchFailure {
    /// TCP connection refused or unreachable.
    Connect,
    /// No complete answer before the deadline.
    Timeout,
    /// The TLS handshake failed (including certificate verification).
    Tls,
    /// Not a usable HTTP/1.1 answer.
    Http,
    /// The body is larger than the limit.
    TooLarge,
    /// A scanner bug (a panic, caught by the probe runner).
    Internal,
}

/// A fetch failure with the underlying error's words.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FetchError {
    /// The class.
    pub kind: FetchFailure,
    /// The detail, for a `*_detail` column.
    pub detail: String,
}

/// Limits of one fetch.
#[derive(Clone, Debug)]
pub struct FetchLimits {
    /// Deadline over connect, handshake, request and body.
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_body: usize,
}

/// GETs `https://{host}{path}` from `addr`, verifying the certificate for `host` with `config`.
pub async fn get(
    config: Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    host: &str,
    path: &str,
    limits: &FetchLimits,
) -> Result<HttpsResponse, FetchError> {
    match tokio::time::timeout(limits.timeout, fetch(config, addr, host, path, limits.max_body)).await {
        Ok(r) => r,
        Err(_) => {
            Err(FetchError { kind: FetchFailure::Timeout, detail: format!("no answer within {:?}", limits.timeout) })
        }
    }
}

async fn fetch(
    config: Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    host: &str,
    path: &str,
    max_body: usize,
) -> Result<HttpsResponse, FetchError> {
    let io_failure = |e: std::io::Error, phase: Phase| {
        let f = classify_io(&e, phase);
        let kind = match (phase, f.reason) {
            (_, FailureReason::Timeout) => FetchFailure::Timeout,
            (Phase::Connect, _) => FetchFailure::Connect,
            _ => FetchFailure::Tls,
        };
        FetchError { kind, detail: f.detail }
    };
    let tcp = TcpStream::connect(addr).await.map_err(|e| io_failure(e, Phase::Connect))?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| FetchError { kind: FetchFailure::Tls, detail: format!("invalid server name {host:?}: {e}") })?;
    let tls = TlsConnector::from(config).connect(name, tcp).await.map_err(|e| io_failure(e, Phase::Handshake))?;
    let http = |e: hyper::Error| FetchError { kind: FetchFailure::Http, detail: e.to_string() };
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(16 * 1024)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(tls))
        .await
        .map_err(http)?;
    let driver = tokio::spawn(conn);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, host)
        .header(hyper::header::USER_AGENT, concat!("mailcensus/", env!("CARGO_PKG_VERSION")))
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| FetchError { kind: FetchFailure::Http, detail: e.to_string() })?;
    let result = async {
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status().as_u16();
        let content_type =
            response.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = Limited::new(response.into_body(), max_body).collect().await.map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                FetchError { kind: FetchFailure::TooLarge, detail: format!("body over {max_body} bytes") }
            } else {
                FetchError { kind: FetchFailure::Http, detail: e.to_string() }
            }
        })?;
        Ok(HttpsResponse { status, content_type, body: body.to_bytes().to_vec() })
    }
    .await;
    driver.abort();
    result
}
