//! The timed, bounded I/O every probe dialogue is made of: connecting, sending a command line,
//! reading one bounded line, running the TLS handshake, each under its own timeout and each failure
//! mapped onto the probe vocabulary ([`classify_io`]) with the phase it happened in. The SMTP dialogue
//! (`probe::smtp`) and the client dialogues (`probe::client`) are both built from these.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;

use super::tls::{TlsContext, TlsObservation};
use super::{FailureReason, Phase, ProbeFailure, classify_io};

/// Why a line or reply could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The transport failed (including a clean close before the line ended).
    Io(std::io::Error),
    /// The bytes are not what the protocol allows, or exceed the limits.
    Malformed(String),
}

/// Reads one line, newline included, of at most `max` bytes: longer is `Malformed`, a close before
/// the newline is `Io(UnexpectedEof)`.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
    buf: &mut Vec<u8>,
) -> Result<usize, ReadError> {
    buf.clear();
    let n = (&mut *reader).take(max as u64).read_until(b'\n', buf).await.map_err(ReadError::Io)?;
    if n == 0 {
        return Err(ReadError::Io(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed")));
    }
    if buf.last() != Some(&b'\n') {
        if n >= max {
            return Err(ReadError::Malformed(format!("line longer than {max} bytes")));
        }
        return Err(ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed mid-line",
        )));
    }
    Ok(n)
}

/// Runs a read within `limit`, mapping its failure onto the probe vocabulary in `phase`; `what` names
/// what was awaited, for the timeout's detail ("reply", "line").
pub async fn within<T>(
    limit: Duration,
    phase: Phase,
    what: &str,
    read: impl Future<Output = Result<T, ReadError>>,
) -> Result<T, ProbeFailure> {
    match timeout(limit, read).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(ReadError::Io(e))) => Err(classify_io(&e, phase)),
        Ok(Err(ReadError::Malformed(m))) => Err(ProbeFailure::new(phase, FailureReason::BadReply, m)),
        Err(_) => Err(ProbeFailure::new(phase, FailureReason::Timeout, format!("no complete {what} within {limit:?}"))),
    }
}

/// Sends `line` and CRLF within `limit`.
pub async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    line: &str,
    phase: Phase,
    limit: Duration,
) -> Result<(), ProbeFailure> {
    match timeout(limit, conn.get_mut().write_all(format!("{line}\r\n").as_bytes())).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(classify_io(&e, phase)),
        Err(_) => Err(ProbeFailure::new(phase, FailureReason::Timeout, "write timed out")),
    }
}

/// Opens a TCP connection within `limit` (Nagle off: the dialogues are short command lines).
pub async fn connect(addr: SocketAddr, limit: Duration) -> Result<TcpStream, ProbeFailure> {
    match timeout(limit, TcpStream::connect(addr)).await {
        Ok(Ok(tcp)) => {
            let _ = tcp.set_nodelay(true);
            Ok(tcp)
        }
        Ok(Err(e)) => Err(classify_io(&e, Phase::Connect)),
        Err(_) => {
            Err(ProbeFailure::new(Phase::Connect, FailureReason::Timeout, format!("no connection within {limit:?}")))
        }
    }
}

/// The TLS handshake over `stream` for `host`, within `limit`.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    tls: &TlsContext,
    stream: S,
    host: &str,
    limit: Duration,
) -> Result<(TlsStream<S>, TlsObservation), ProbeFailure> {
    match timeout(limit, tls.handshake(stream, host)).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(classify_io(&e, Phase::Handshake)),
        Err(_) => {
            Err(ProbeFailure::new(Phase::Handshake, FailureReason::Timeout, format!("no handshake within {limit:?}")))
        }
    }
}

/// The first bytes the server sent unasked (for a `*_detail` text), if any are buffered.
pub fn unsolicited<S: AsyncRead>(conn: &BufReader<S>) -> Option<String> {
    let b = conn.buffer();
    (!b.is_empty()).then(|| String::from_utf8_lossy(&b[..b.len().min(80)]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_line_limits() {
        let mut buf = Vec::new();
        let long = [b'a'; 100];
        let mut r = BufReader::new(&long[..]);
        assert!(matches!(read_line(&mut r, 50, &mut buf).await, Err(ReadError::Malformed(_))));
        let mut r = BufReader::new(&b"* OK ready\r\nrest"[..]);
        assert_eq!(read_line(&mut r, 50, &mut buf).await.unwrap(), 12);
        assert_eq!(buf, b"* OK ready\r\n");
        assert!(matches!(read_line(&mut r, 50, &mut buf).await, Err(ReadError::Io(_))), "no newline: closed mid-line");
        assert!(matches!(read_line(&mut r, 50, &mut buf).await, Err(ReadError::Io(_))), "closed");
    }

    #[tokio::test]
    async fn within_maps_failures() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<(), ReadError>(())
        };
        let f = within(Duration::from_millis(10), Phase::Banner, "reply", slow).await.unwrap_err();
        assert_eq!((f.phase, f.reason), (Phase::Banner, FailureReason::Timeout));
        let bad = async { Err::<(), _>(ReadError::Malformed("x".into())) };
        assert_eq!(
            within(Duration::from_secs(1), Phase::Ehlo, "line", bad).await.unwrap_err().reason,
            FailureReason::BadReply
        );
    }
}
