//! In-process SMTP servers on loopback addresses, each with a posture: STARTTLS with a given
//! certificate, no STARTTLS, 454 to STARTTLS, a 421 or garbage greeting, a delayed or multi-line
//! greeting, silence, TLS 1.0-only (a protocol_version alert), plaintext injected after STARTTLS, or
//! HELO only. Each server records the commands it received, and answers a client that talks before
//! the greeting with 554 (as postscreen does), so tests can check the scanner's manners.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;

/// What the server does once a client connects.
#[derive(Clone)]
pub enum Posture {
    /// Offers STARTTLS and completes the handshake with this config.
    StartTls(Arc<ServerConfig>),
    /// Does not offer STARTTLS.
    NoStartTls,
    /// Offers STARTTLS but answers it with this code (e.g. 454).
    RejectStartTls(u16),
    /// Greets with `421 4.7.0 Try again later` and closes.
    Greeting421,
    /// Greets with binary garbage.
    GarbageGreeting,
    /// Accepts the connection and never says anything.
    Silent,
    /// Offers STARTTLS, then answers the ClientHello with a TLS protocol_version alert (a TLS 1.0-only server).
    LegacyTlsOnly,
    /// Answers STARTTLS with 220 and a plaintext line in the same packet (command injection pattern).
    PlaintextAfterStartTls,
    /// Refuses EHLO (502) and accepts HELO.
    HeloOnly,
    /// Sends its greeting one byte per interval (a tarpit).
    Tarpit(Duration),
    /// Sends `220-` greeting lines forever.
    EndlessGreeting,
    /// Greets with one line of this many bytes.
    LongGreeting(usize),
    /// Greets with a multi-line reply of about this many bytes (100 lines).
    HugeGreeting(usize),
    /// Sends an unsolicited `250` line right after its greeting, before the client speaks.
    UnsolicitedBeforeEhlo,
    /// Answers STARTTLS with 220, then sends plaintext instead of a TLS ServerHello.
    PlaintextInsteadOfTls,
    /// Answers STARTTLS with 220, reads the ClientHello and never answers.
    StalledHandshake,
    /// Resets the connection in the middle of its EHLO reply.
    ResetMidReply,
    /// Greets the first N connections (the counter) with 421, then behaves like `StartTls` (greylisting).
    Greylist(Arc<AtomicUsize>, Arc<ServerConfig>),
}

/// The greeting and posture of a fake MX.
#[derive(Clone)]
pub struct Behaviour {
    /// Lines of the 220 greeting (several make a multi-line greeting).
    pub greeting: Vec<String>,
    /// Wait this long before greeting.
    pub greeting_delay: Duration,
    /// The posture.
    pub posture: Posture,
    /// Record the commands received (off for long-running worlds, whose logs would grow).
    pub record: bool,
}

impl Behaviour {
    /// A one-line greeting, no delay.
    pub fn new(posture: Posture) -> Self {
        Self {
            greeting: vec!["mx.test ESMTP mailcensus-testkit".into()],
            greeting_delay: Duration::ZERO,
            posture,
            record: true,
        }
    }

    /// With this greeting (one line per element).
    pub fn greeting(mut self, lines: &[&str]) -> Self {
        self.greeting = lines.iter().map(|l| l.to_string()).collect();
        self
    }

    /// Without recording commands.
    pub fn quiet(mut self) -> Self {
        self.record = false;
        self
    }

    /// With a delay before the greeting.
    pub fn delay(mut self, d: Duration) -> Self {
        self.greeting_delay = d;
        self
    }
}

/// A running fake MX.
pub struct FakeSmtp {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    max_concurrent: Arc<AtomicUsize>,
    commands: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl FakeSmtp {
    /// Listens on `addr` with `behaviour`.
    pub async fn spawn(addr: SocketAddr, behaviour: Behaviour) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let max_concurrent = Arc::new(AtomicUsize::new(0));
        let active = Arc::new(AtomicUsize::new(0));
        let commands = Arc::new(Mutex::new(Vec::new()));
        let (c, mx, m) = (connections.clone(), max_concurrent.clone(), commands.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                // Replies go out whole, as real servers write them (no Nagle delay on small writes).
                let _ = stream.set_nodelay(true);
                c.fetch_add(1, Ordering::SeqCst);
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                mx.fetch_max(now, Ordering::SeqCst);
                let m = behaviour.record.then(|| m.clone());
                let (b, active) = (behaviour.clone(), active.clone());
                tokio::spawn(async move {
                    let _ = timeout(Duration::from_secs(120), serve(stream, b, m)).await;
                    active.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Ok(Self { addr, connections, max_concurrent, commands, task })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The most connections that were open at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent.load(Ordering::SeqCst)
    }

    /// Every command line received, in order, uppercased verb first (`EHLO x`, `STARTTLS`, `PREGREET` ...).
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Log = Arc<Mutex<Vec<String>>>;

fn log(m: &Option<Log>, line: impl Into<String>) {
    if let Some(Ok(mut v)) = m.as_ref().map(|m| m.lock()) {
        v.push(line.into());
    }
}

async fn serve(mut stream: TcpStream, b: Behaviour, m: Option<Log>) -> io::Result<()> {
    if matches!(b.posture, Posture::Silent) {
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        return Ok(());
    }
    if !b.greeting_delay.is_zero() {
        let mut probe = [0u8; 64];
        if let Ok(Ok(n)) = timeout(b.greeting_delay, stream.read(&mut probe)).await {
            if n > 0 {
                log(&m, "PREGREET");
                stream.write_all(b"554 5.5.1 Protocol error: talked before greeting\r\n").await?;
                return Ok(());
            }
            return Ok(());
        }
    }
    let posture = match &b.posture {
        Posture::Greylist(left, config) => {
            if left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                stream.write_all(b"421 4.7.0 mx.test Greylisted, try again later\r\n").await?;
                return Ok(());
            }
            Posture::StartTls(config.clone())
        }
        other => other.clone(),
    };
    let b = Behaviour { posture, ..b };
    match b.posture {
        Posture::Greeting421 => {
            stream.write_all(b"421 4.7.0 mx.test Try again later\r\n").await?;
            return Ok(());
        }
        Posture::GarbageGreeting => {
            stream.write_all(b"\x00\xff\xfeHELLO\x16\x03\x01 not smtp\r\n").await?;
            let mut sink = [0u8; 256];
            let _ = timeout(Duration::from_secs(5), stream.read(&mut sink)).await;
            return Ok(());
        }
        Posture::Tarpit(interval) => {
            for b in b"220 mx.test ESMTP slowly, very slowly\r\n" {
                stream.write_all(&[*b]).await?;
                tokio::time::sleep(interval).await;
            }
            return Ok(());
        }
        Posture::EndlessGreeting => {
            // Sent in batches of whole lines, as fast as the client reads (a write per line would
            // let the flood's own speed decide whether the client's bound or its timeout ends it).
            let batch = b"220-still greeting you\r\n".repeat(512);
            loop {
                stream.write_all(&batch).await?;
            }
        }
        Posture::LongGreeting(n) => {
            stream.write_all(format!("220 {}\r\n", "x".repeat(n)).as_bytes()).await?;
        }
        Posture::HugeGreeting(n) => {
            let line = format!("220-{}\r\n", "y".repeat(n / 100));
            for _ in 0..99 {
                stream.write_all(line.as_bytes()).await?;
            }
            stream.write_all(b"220 end\r\n").await?;
        }
        _ => {}
    }
    if !matches!(b.posture, Posture::LongGreeting(_) | Posture::HugeGreeting(_)) {
        let mut greeting = String::new();
        for (i, line) in b.greeting.iter().enumerate() {
            let sep = if i + 1 == b.greeting.len() { ' ' } else { '-' };
            greeting.push_str(&format!("220{sep}{line}\r\n"));
        }
        if matches!(b.posture, Posture::UnsolicitedBeforeEhlo) {
            greeting.push_str("250 you did not ask, but hello\r\n");
        }
        stream.write_all(greeting.as_bytes()).await?;
    }
    let mut conn = BufReader::new(stream);
    match commands(&mut conn, &b.posture, &m, false).await? {
        Next::Close => Ok(()),
        Next::Upgrade(config) => {
            let tls = TlsAcceptor::from(config).accept(conn.into_inner()).await?;
            let mut conn = BufReader::new(tls);
            commands(&mut conn, &b.posture, &m, true).await.map(|_| ())
        }
        Next::Hold => {
            let mut sink = [0u8; 1024];
            while conn.read(&mut sink).await? > 0 {}
            Ok(())
        }
        Next::Reset => {
            let tcp = conn.into_inner();
            // Zero linger: closing sends RST instead of FIN (and does not block).
            socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO))?;
            drop(tcp);
            Ok(())
        }
        Next::Legacy => {
            let mut hello = [0u8; 512];
            let _ = conn.read(&mut hello).await?;
            // TLS alert record: fatal (2), protocol_version (70).
            conn.get_mut().write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]).await?;
            Ok(())
        }
    }
}

enum Next {
    Close,
    Upgrade(Arc<ServerConfig>),
    Legacy,
    /// Keep the connection open, reading and discarding, until the client leaves.
    Hold,
    /// Close with a TCP reset.
    Reset,
}

async fn commands<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    posture: &Posture,
    m: &Option<Log>,
    tls: bool,
) -> io::Result<Next> {
    let offers = matches!(
        posture,
        Posture::StartTls(_)
            | Posture::RejectStartTls(_)
            | Posture::LegacyTlsOnly
            | Posture::PlaintextAfterStartTls
            | Posture::PlaintextInsteadOfTls
            | Posture::StalledHandshake
    );
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut *conn).take(4096).read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Ok(Next::Close);
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let verb = text.split(' ').next().unwrap_or("").to_ascii_uppercase();
        log(m, if tls { format!("TLS {text}") } else { text.clone() });
        let w = conn.get_mut();
        match verb.as_str() {
            "EHLO" if matches!(posture, Posture::HeloOnly) => {
                w.write_all(b"502 5.5.2 Error: command not recognized\r\n").await?
            }
            "EHLO" if matches!(posture, Posture::ResetMidReply) => {
                w.write_all(b"250-mx.test\r\n250-PIPE").await?;
                w.flush().await?;
                return Ok(Next::Reset);
            }
            "EHLO" => {
                let starttls = if offers && !tls { "250-STARTTLS\r\n" } else { "" };
                w.write_all(
                    format!("250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n{starttls}250 8BITMIME\r\n")
                        .as_bytes(),
                )
                .await?
            }
            "HELO" => w.write_all(b"250 mx.test\r\n").await?,
            "STARTTLS" if tls || !offers => w.write_all(b"503 5.5.1 Error: command not possible\r\n").await?,
            "STARTTLS" => match posture {
                Posture::RejectStartTls(code) => {
                    w.write_all(format!("{code} 4.7.0 TLS not available due to local problem\r\n").as_bytes()).await?
                }
                Posture::StartTls(config) => {
                    w.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                    return Ok(Next::Upgrade(config.clone()));
                }
                Posture::LegacyTlsOnly => {
                    w.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                    return Ok(Next::Legacy);
                }
                Posture::PlaintextAfterStartTls => {
                    w.write_all(b"220 2.0.0 Ready to start TLS\r\n250 injected\r\n").await?;
                    return Ok(Next::Close);
                }
                Posture::PlaintextInsteadOfTls => {
                    w.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                    w.flush().await?;
                    // Answer the client's first TLS bytes (its ClientHello) in plain text, as a
                    // server that never switched does: waiting for them, not for a timer, keeps the
                    // plain text from arriving with the 220 on a loaded machine.
                    let mut hello = [0u8; 1];
                    if conn.read(&mut hello).await? == 0 {
                        return Ok(Next::Close);
                    }
                    conn.get_mut().write_all(b"250 this is not TLS at all\r\n").await?;
                    return Ok(Next::Hold);
                }
                Posture::StalledHandshake => {
                    w.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                    return Ok(Next::Hold);
                }
                _ => w.write_all(b"454 4.7.0 TLS not available\r\n").await?,
            },
            "QUIT" => {
                w.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(Next::Close);
            }
            _ => w.write_all(b"502 5.5.2 Error: command not recognized\r\n").await?,
        }
    }
}
