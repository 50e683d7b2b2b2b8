//! In-process servers for the endpoints mail apps use, on loopback: IMAP (with or without STARTTLS,
//! with or without LOGINDISABLED), IMAPS, POP3 (with or without STLS, USER), POP3S, and submission on
//! 465 (implicit TLS) and 587 (STARTTLS, with or without AUTH before TLS). Each records the commands it
//! received, so tests can prove that no credential was ever sent. Hostile endpoints (raw bytes,
//! endless replies, silence) stand in for the servers a scan must survive.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::ServerConfig;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// What a fake endpoint speaks.
#[derive(Clone)]
pub enum Service {
    /// IMAP on a plaintext port: STARTTLS offered when a TLS config is given; LOGINDISABLED before TLS.
    Imap {
        /// TLS for STARTTLS (none: not offered).
        starttls: Option<Arc<ServerConfig>>,
        /// Advertise LOGINDISABLED before TLS.
        login_disabled: bool,
    },
    /// IMAP over implicit TLS.
    Imaps(Arc<ServerConfig>),
    /// POP3 on a plaintext port: STLS offered when a TLS config is given; USER offered before TLS.
    Pop3 {
        /// TLS for STLS (none: not offered).
        stls: Option<Arc<ServerConfig>>,
        /// Offer USER before TLS.
        user_before_tls: bool,
    },
    /// POP3 over implicit TLS.
    Pop3s(Arc<ServerConfig>),
    /// Submission on a plaintext port (587): STARTTLS offered when a TLS config is given.
    Submission {
        /// TLS for STARTTLS (none: not offered).
        starttls: Option<Arc<ServerConfig>>,
        /// Advertise AUTH before TLS.
        auth_before_tls: bool,
    },
    /// Submission over implicit TLS (465).
    Submissions(Arc<ServerConfig>),
    /// Any protocol, hostile: sends `greeting` (raw bytes, any encoding) on connect, then answers each
    /// command line with `reply`; with `endless`, repeats `reply` until the client goes away.
    Hostile {
        /// Bytes sent on connect.
        greeting: Vec<u8>,
        /// Bytes sent for each command.
        reply: Vec<u8>,
        /// Repeat the reply forever.
        endless: bool,
    },
    /// Accepts connections and never sends a byte (a silent implicit-TLS port).
    Silent,
}

#[derive(Clone, Copy, PartialEq)]
enum Family {
    Imap,
    Pop3,
    Smtp,
}

/// A running fake endpoint.
pub struct FakeMailbox {
    addr: SocketAddr,
    commands: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl FakeMailbox {
    /// Serves `service` at `addr`.
    pub async fn spawn(addr: SocketAddr, service: Service) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let commands = Arc::new(Mutex::new(Vec::new()));
        let log = commands.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                // Replies go out whole, as real servers write them (no Nagle delay on small writes).
                let _ = tcp.set_nodelay(true);
                let (service, log) = (service.clone(), log.clone());
                tokio::spawn(async move {
                    let _ = serve(tcp, service, log).await;
                });
            }
        });
        Ok(Self { addr, commands, task })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every command line received (`TLS ` prefixed once encrypted).
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Drop for FakeMailbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves a hostile script; returns when the client goes away.
async fn hostile(tcp: tokio::net::TcpStream, greeting: &[u8], reply: &[u8], endless: bool) -> io::Result<()> {
    let mut conn = BufReader::new(tcp);
    conn.get_mut().write_all(greeting).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if (&mut conn).take(4096).read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        if !endless {
            conn.get_mut().write_all(reply).await?;
            continue;
        }
        // A flood is sent in batches of whole replies, as fast as the client reads: a write per
        // short line would make the flood's speed, not the client's bounds, decide when it ends.
        let batch = reply.repeat((16 * 1024 / reply.len().max(1)).max(1));
        loop {
            conn.get_mut().write_all(&batch).await?;
        }
    }
}

async fn serve(tcp: tokio::net::TcpStream, service: Service, log: Arc<Mutex<Vec<String>>>) -> io::Result<()> {
    let (family, implicit, upgrade, plain_auth) = match &service {
        Service::Hostile { greeting, reply, endless } => return hostile(tcp, greeting, reply, *endless).await,
        Service::Silent => {
            let mut tcp = tcp;
            let mut sink = [0u8; 1024];
            while tcp.read(&mut sink).await? > 0 {}
            return Ok(());
        }
        Service::Imap { starttls, login_disabled } => (Family::Imap, None, starttls.clone(), !login_disabled),
        Service::Imaps(c) => (Family::Imap, Some(c.clone()), None, true),
        Service::Pop3 { stls, user_before_tls } => (Family::Pop3, None, stls.clone(), *user_before_tls),
        Service::Pop3s(c) => (Family::Pop3, Some(c.clone()), None, true),
        Service::Submission { starttls, auth_before_tls } => (Family::Smtp, None, starttls.clone(), *auth_before_tls),
        Service::Submissions(c) => (Family::Smtp, Some(c.clone()), None, true),
    };
    if let Some(config) = implicit {
        let tls = TlsAcceptor::from(config).accept(tcp).await?;
        let mut conn = BufReader::new(tls);
        session(&mut conn, family, None, true, true, true, &log).await?;
        return Ok(());
    }
    let mut conn = BufReader::new(tcp);
    if let Some(config) = session(&mut conn, family, upgrade, true, false, plain_auth, &log).await? {
        let tls = TlsAcceptor::from(config).accept(conn.into_inner()).await?;
        let mut conn = BufReader::new(tls);
        session(&mut conn, family, None, false, true, true, &log).await?;
    }
    Ok(())
}

/// One session; returns the TLS config when the client asked to upgrade and was told to go ahead.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    family: Family,
    upgrade: Option<Arc<ServerConfig>>,
    greet: bool,
    tls: bool,
    auth_allowed: bool,
    log: &Mutex<Vec<String>>,
) -> io::Result<Option<Arc<ServerConfig>>> {
    if greet {
        let greeting: &[u8] = match family {
            Family::Imap => b"* OK [CAPABILITY IMAP4rev1] mailcensus-testkit IMAP ready\r\n",
            Family::Pop3 => b"+OK mailcensus-testkit POP3 ready\r\n",
            Family::Smtp => b"220 submit.test ESMTP mailcensus-testkit\r\n",
        };
        conn.get_mut().write_all(greeting).await?;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        if (&mut *conn).take(4096).read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        if let Ok(mut l) = log.lock() {
            l.push(if tls { format!("TLS {text}") } else { text.clone() });
        }
        let mut words = text.split(' ');
        let w = conn.get_mut();
        match family {
            Family::Imap => {
                let tag = words.next().unwrap_or("*");
                let cmd = words.next().unwrap_or("").to_ascii_uppercase();
                match cmd.as_str() {
                    "CAPABILITY" => {
                        let mut caps = String::from("IMAP4rev1");
                        if upgrade.is_some() && !tls {
                            caps.push_str(" STARTTLS");
                        }
                        if !auth_allowed {
                            caps.push_str(" LOGINDISABLED");
                        }
                        if auth_allowed {
                            caps.push_str(" AUTH=PLAIN");
                        }
                        w.write_all(format!("* CAPABILITY {caps}\r\n{tag} OK done\r\n").as_bytes()).await?;
                    }
                    "STARTTLS" if upgrade.is_some() && !tls => {
                        w.write_all(format!("{tag} OK begin TLS\r\n").as_bytes()).await?;
                        return Ok(upgrade);
                    }
                    "LOGOUT" => {
                        w.write_all(format!("* BYE\r\n{tag} OK bye\r\n").as_bytes()).await?;
                        return Ok(None);
                    }
                    _ => w.write_all(format!("{tag} BAD unknown\r\n").as_bytes()).await?,
                }
            }
            Family::Pop3 => match text.to_ascii_uppercase().as_str() {
                "CAPA" => {
                    let mut caps = String::from("+OK\r\nTOP\r\nUIDL\r\n");
                    if upgrade.is_some() && !tls {
                        caps.push_str("STLS\r\n");
                    }
                    if auth_allowed {
                        caps.push_str("USER\r\nSASL PLAIN\r\n");
                    } else {
                        // As dovecot does when plaintext authentication is disabled: an empty mechanism list.
                        caps.push_str("SASL\r\n");
                    }
                    caps.push_str(".\r\n");
                    w.write_all(caps.as_bytes()).await?;
                }
                "STLS" if upgrade.is_some() && !tls => {
                    w.write_all(b"+OK begin TLS\r\n").await?;
                    return Ok(upgrade);
                }
                "QUIT" => {
                    w.write_all(b"+OK bye\r\n").await?;
                    return Ok(None);
                }
                _ => w.write_all(b"-ERR unknown\r\n").await?,
            },
            Family::Smtp => match words.next().unwrap_or("").to_ascii_uppercase().as_str() {
                "EHLO" => {
                    let starttls = if upgrade.is_some() && !tls { "250-STARTTLS\r\n" } else { "" };
                    let auth = if auth_allowed { "250-AUTH PLAIN LOGIN\r\n" } else { "" };
                    w.write_all(format!("250-submit.test\r\n{starttls}{auth}250 8BITMIME\r\n").as_bytes()).await?;
                }
                "STARTTLS" if upgrade.is_some() && !tls => {
                    w.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                    return Ok(upgrade);
                }
                "QUIT" => {
                    w.write_all(b"221 2.0.0 Bye\r\n").await?;
                    return Ok(None);
                }
                _ => w.write_all(b"502 5.5.2 Error: command not recognized\r\n").await?,
            },
        }
    }
}
