//! Probing the endpoints a mail app uses: submission (465 implicit TLS, 587 STARTTLS), IMAP (993, 143
//! with `STARTTLS`) and POP3 (995, 110 with `STLS`). **No login, no credentials, ever**: the dialogue
//! is greeting → capabilities → STARTTLS/STLS → TLS → capabilities again → logout.
//!
//! Besides TLS, the probe records whether the plaintext port accepts authentication before TLS: `AUTH`
//! in EHLO before STARTTLS (submission), `LOGINDISABLED` absent or an `AUTH=` mechanism listed (IMAP),
//! `USER` or a non-empty `SASL` mechanism list before STLS (POP3). The TLS observation and the failure vocabulary are the MX probe's (`probe::tls`,
//! [`classify_io`]); SMTP replies are read with `probe::smtp`'s bounded reader.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::time::timeout;

use super::smtp::{self, cut};
use super::tls::{TlsContext, TlsObservation};
use super::{Attempt, FailureReason, Phase, ProbeFailure, wire};

crate::labels! {
    /// A client-facing mail protocol and how TLS starts on it.
    #[derive(PartialOrd, Ord)]
    pub enum Protocol {
        /// Message submission over implicit TLS (RFC 8314), port 465.
        Submissions => "submissions",
        /// Message submission with STARTTLS (RFC 6409), port 587.
        Submission => "submission",
        /// IMAP over implicit TLS, port 993.
        Imaps => "imaps",
        /// IMAP with STARTTLS, port 143.
        Imap => "imap",
        /// POP3 over implicit TLS, port 995.
        Pop3s => "pop3s",
        /// POP3 with STLS, port 110.
        Pop3 => "pop3",
    }
}

impl Protocol {
    /// The standard port.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Submissions => 465,
            Self::Submission => 587,
            Self::Imaps => 993,
            Self::Imap => 143,
            Self::Pop3s => 995,
            Self::Pop3 => 110,
        }
    }

    /// TLS from the first byte (rather than after STARTTLS/STLS).
    pub fn implicit_tls(self) -> bool {
        matches!(self, Self::Submissions | Self::Imaps | Self::Pop3s)
    }

    fn family(self) -> Family {
        match self {
            Self::Submissions | Self::Submission => Family::Smtp,
            Self::Imaps | Self::Imap => Family::Imap,
            Self::Pop3s | Self::Pop3 => Family::Pop3,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Smtp,
    Imap,
    Pop3,
}

/// How TLS came about on a completed probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ClientTls {
    /// Implicit TLS from the first byte.
    Implicit,
    /// STARTTLS/STLS, then TLS.
    Upgraded,
    /// The plaintext port does not offer STARTTLS/STLS.
    NotOffered,
}

/// What a client-endpoint probe saw.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientReport {
    /// The outcome.
    pub attempt: Attempt<ClientTls>,
    /// The greeting (first line for IMAP/POP3, the whole reply for SMTP).
    pub greeting: Option<String>,
    /// Capabilities before TLS (for implicit TLS: over TLS), uppercased keywords with parameters.
    pub capabilities: Vec<String>,
    /// Whether STARTTLS/STLS is offered on a plaintext port.
    pub starttls_offered: Option<bool>,
    /// The plaintext port accepts authentication before TLS (the credentials-in-clear finding);
    /// `None` on implicit-TLS ports or when the capabilities were never read.
    pub plaintext_auth: Option<bool>,
    /// The TLS session.
    pub tls: Option<TlsObservation>,
    /// Duration of the probe, milliseconds.
    pub duration_ms: u32,
}

impl ClientReport {
    /// A report for a probe that was not attempted.
    pub fn skipped(reason: super::SkipReason) -> Self {
        Self {
            attempt: Attempt::Skipped(reason),
            greeting: None,
            capabilities: Vec::new(),
            starttls_offered: None,
            plaintext_auth: None,
            tls: None,
            duration_ms: 0,
        }
    }

    /// A probe that failed before producing anything (e.g. a panic).
    pub fn failed(failure: ProbeFailure) -> Self {
        Self { attempt: Attempt::Failed(failure), ..Self::skipped(super::SkipReason::NoAddress) }
    }
}

/// Timeouts of a client probe (the MX probe's `--connect-timeout`, `--read-timeout`, `--probe-timeout`).
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// TCP connect.
    pub connect_timeout: Duration,
    /// Each read or write, and the handshake.
    pub read_timeout: Duration,
    /// The whole probe.
    pub probe_timeout: Duration,
    /// Name sent in EHLO.
    pub ehlo_name: String,
}

/// Longest line read from an IMAP or POP3 server.
pub const MAX_LINE_BYTES: usize = 8192;
/// Most lines read in one IMAP or POP3 response.
pub const MAX_LINES: usize = 256;
/// Capabilities kept per probe (the rest are read, counted for the plaintext-auth check, not kept).
pub const KEPT_CAPABILITIES: usize = 64;
/// Bytes kept of a greeting, a capability or a detail (cut at a character boundary).
pub const KEPT_TEXT_BYTES: usize = 256;

struct Session {
    phase: Phase,
    report: ClientReport,
}

/// Probes `protocol` at `addr`, whose name is `host` (SNI and the certificate check).
pub async fn probe(
    protocol: Protocol,
    addr: SocketAddr,
    host: &str,
    cfg: &ClientConfig,
    tls: &TlsContext,
) -> ClientReport {
    let start = Instant::now();
    let mut s = Session { phase: Phase::Connect, report: ClientReport::skipped(super::SkipReason::NoAddress) };
    let result = match timeout(cfg.probe_timeout, dialogue(&mut s, protocol, addr, host, cfg, tls)).await {
        Ok(r) => r,
        Err(_) => Err(ProbeFailure::new(
            s.phase,
            FailureReason::Timeout,
            format!("probe deadline of {:?} passed", cfg.probe_timeout),
        )),
    };
    s.report.attempt = match result {
        Ok(v) => Attempt::Done(v),
        Err(f) => Attempt::Failed(f),
    };
    s.report.duration_ms = start.elapsed().as_millis().min(u32::MAX as u128) as u32;
    s.report
}

async fn dialogue(
    s: &mut Session,
    protocol: Protocol,
    addr: SocketAddr,
    host: &str,
    cfg: &ClientConfig,
    tls: &TlsContext,
) -> Result<ClientTls, ProbeFailure> {
    s.phase = Phase::Connect;
    let tcp = wire::connect(addr, cfg.connect_timeout).await?;
    let family = protocol.family();
    if protocol.implicit_tls() {
        s.phase = Phase::Handshake;
        let stream = handshake(s, tcp, host, cfg, tls).await?;
        let mut conn = BufReader::with_capacity(4096, stream);
        let caps = greet_and_capabilities(s, family, &mut conn, cfg).await?;
        s.report.capabilities = caps;
        s.phase = Phase::PostTls;
        logout(family, &mut conn, cfg).await;
        return Ok(ClientTls::Implicit);
    }
    let mut conn = BufReader::with_capacity(4096, tcp);
    let caps = greet_and_capabilities(s, family, &mut conn, cfg).await?;
    let upper: Vec<String> = caps.iter().map(|c| c.to_ascii_uppercase()).collect();
    let has =
        |k: &str| upper.iter().any(|c| c == k || c.starts_with(&format!("{k} ")) || c.starts_with(&format!("{k}=")));
    // A mechanism list that is present but empty (dovecot's bare `SASL` before STLS) offers nothing.
    let sasl_mechanisms = upper.iter().any(|c| c.strip_prefix("SASL ").is_some_and(|m| !m.trim().is_empty()));
    let (offered, plaintext_auth) = match family {
        Family::Smtp => (has("STARTTLS"), has("AUTH")),
        Family::Imap => (has("STARTTLS"), !has("LOGINDISABLED") || upper.iter().any(|c| c.starts_with("AUTH="))),
        Family::Pop3 => (has("STLS"), has("USER") || sasl_mechanisms),
    };
    s.report.capabilities = caps;
    s.report.starttls_offered = Some(offered);
    s.report.plaintext_auth = Some(plaintext_auth);
    if !offered {
        logout(family, &mut conn, cfg).await;
        return Ok(ClientTls::NotOffered);
    }
    s.phase = Phase::StartTls;
    match family {
        Family::Smtp => {
            let reply = smtp::command(&mut conn, "STARTTLS", Phase::StartTls, cfg.read_timeout).await?;
            if reply.code != 220 {
                return Err(rejected(Phase::StartTls, reply.text(), Some(reply.code)));
            }
        }
        Family::Imap => {
            imap_command(&mut conn, "a2", "STARTTLS", Phase::StartTls, cfg).await?;
        }
        Family::Pop3 => {
            wire::send(&mut conn, "STLS", Phase::StartTls, cfg.read_timeout).await?;
            let line = read_line(&mut conn, Phase::StartTls, cfg).await?;
            if !line.starts_with("+OK") {
                return Err(rejected(Phase::StartTls, line, None));
            }
        }
    }
    if let Some(extra) = wire::unsolicited(&conn) {
        return Err(ProbeFailure::new(
            Phase::StartTls,
            FailureReason::PlaintextAfterStartTls,
            format!("plaintext after the go-ahead: {extra:?}"),
        ));
    }
    s.phase = Phase::Handshake;
    let stream = handshake(s, conn.into_inner(), host, cfg, tls).await?;
    s.phase = Phase::PostTls;
    let mut conn = BufReader::with_capacity(4096, stream);
    match family {
        Family::Smtp => {
            let reply =
                smtp::command(&mut conn, &format!("EHLO {}", cfg.ehlo_name), Phase::PostTls, cfg.read_timeout).await?;
            if reply.code != 250 {
                return Err(rejected(Phase::PostTls, reply.text(), Some(reply.code)));
            }
        }
        Family::Imap => {
            imap_command(&mut conn, "a3", "CAPABILITY", Phase::PostTls, cfg).await?;
        }
        Family::Pop3 => {
            pop3_capa(&mut conn, Phase::PostTls, cfg).await?;
        }
    }
    logout(family, &mut conn, cfg).await;
    Ok(ClientTls::Upgraded)
}

/// The TLS handshake, its observation kept in the report.
async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut Session,
    stream: S,
    host: &str,
    cfg: &ClientConfig,
    tls: &TlsContext,
) -> Result<tokio_rustls::client::TlsStream<S>, ProbeFailure> {
    let (stream, observation) = wire::handshake(tls, stream, host, cfg.read_timeout).await?;
    s.report.tls = Some(observation);
    Ok(stream)
}

/// Reads the greeting and asks for the capabilities; returns them.
async fn greet_and_capabilities<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut Session,
    family: Family,
    conn: &mut BufReader<S>,
    cfg: &ClientConfig,
) -> Result<Vec<String>, ProbeFailure> {
    s.phase = Phase::Banner;
    match family {
        Family::Smtp => {
            let banner = smtp::read(conn, Phase::Banner, cfg.read_timeout).await?;
            s.report.greeting = Some(cut(banner.text(), KEPT_TEXT_BYTES));
            if banner.code != 220 {
                return Err(rejected(Phase::Banner, banner.text(), Some(banner.code)));
            }
            s.phase = Phase::Ehlo;
            let ehlo = smtp::command(conn, &format!("EHLO {}", cfg.ehlo_name), Phase::Ehlo, cfg.read_timeout).await?;
            if ehlo.code != 250 {
                return Err(rejected(Phase::Ehlo, ehlo.text(), Some(ehlo.code)));
            }
            Ok(smtp::parse_ehlo(&ehlo))
        }
        Family::Imap => {
            let greeting = read_line(conn, Phase::Banner, cfg).await?;
            s.report.greeting = Some(cut(greeting.clone(), KEPT_TEXT_BYTES));
            let upper = greeting.to_ascii_uppercase();
            if !upper.starts_with("* OK") && !upper.starts_with("* PREAUTH") {
                return Err(rejected(Phase::Banner, greeting, None));
            }
            s.phase = Phase::Ehlo;
            let lines = imap_command(conn, "a1", "CAPABILITY", Phase::Ehlo, cfg).await?;
            let caps: Vec<String> = lines
                .iter()
                .find_map(|l| l.get(..13).filter(|p| p.eq_ignore_ascii_case("* CAPABILITY ")).and_then(|_| l.get(13..)))
                .map(|c| {
                    let all: Vec<String> = c.split_whitespace().map(str::to_ascii_uppercase).collect();
                    // Kept: the first ones, and beyond the cap those the plaintext-auth check reads.
                    let keep = |(i, w): &(usize, String)| {
                        *i < KEPT_CAPABILITIES || w == "LOGINDISABLED" || w.starts_with("AUTH=") || w == "STARTTLS"
                    };
                    all.into_iter().enumerate().filter(keep).map(|(_, w)| cut(w, KEPT_TEXT_BYTES)).collect()
                })
                .unwrap_or_default();
            Ok(caps)
        }
        Family::Pop3 => {
            let greeting = read_line(conn, Phase::Banner, cfg).await?;
            s.report.greeting = Some(cut(greeting.clone(), KEPT_TEXT_BYTES));
            if !greeting.starts_with("+OK") {
                return Err(rejected(Phase::Banner, greeting, None));
            }
            s.phase = Phase::Ehlo;
            pop3_capa(conn, Phase::Ehlo, cfg).await
        }
    }
}

fn rejected(phase: Phase, text: String, code: Option<u16>) -> ProbeFailure {
    let mut f = ProbeFailure::new(phase, FailureReason::Rejected, cut(text, KEPT_TEXT_BYTES));
    f.reply_code = code;
    f
}

/// Reads one line (without CRLF), bounded by [`MAX_LINE_BYTES`], within the read timeout.
async fn read_line<S: AsyncRead + Unpin>(
    conn: &mut BufReader<S>,
    phase: Phase,
    cfg: &ClientConfig,
) -> Result<String, ProbeFailure> {
    let mut buf = Vec::with_capacity(128);
    wire::within(cfg.read_timeout, phase, "line", wire::read_line(conn, MAX_LINE_BYTES, &mut buf)).await?;
    Ok(String::from_utf8_lossy(&buf).trim_end_matches(['\r', '\n']).to_string())
}

/// Sends a tagged IMAP command and reads up to and including its tagged completion, which must be OK;
/// returns the first `* CAPABILITY` line (if any) and the completion.
async fn imap_command<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    tag: &str,
    command: &str,
    phase: Phase,
    cfg: &ClientConfig,
) -> Result<Vec<String>, ProbeFailure> {
    wire::send(conn, &format!("{tag} {command}"), phase, cfg.read_timeout).await?;
    let mut lines = Vec::new();
    let mut read = 0usize;
    loop {
        let line = read_line(conn, phase, cfg).await?;
        // Compared as bytes: the line is lossy UTF-8 from a stranger, and may start with any character.
        let bytes = line.as_bytes();
        let done = bytes.get(..tag.len()).is_some_and(|p| p.eq_ignore_ascii_case(tag.as_bytes()))
            && bytes.get(tag.len()) == Some(&b' ');
        if !done && !line.starts_with('*') && !line.starts_with('+') {
            return Err(ProbeFailure::new(
                phase,
                FailureReason::BadReply,
                format!("not an IMAP response: {:?}", truncate(&line)),
            ));
        }
        if done {
            // The tag and its space are ASCII, so the status starts at a character boundary.
            let status = line.get(tag.len() + 1..).unwrap_or("").to_ascii_uppercase();
            if !status.starts_with("OK") {
                return Err(rejected(phase, cut(line, KEPT_TEXT_BYTES), None));
            }
            lines.push(line);
            return Ok(lines);
        }
        read += 1;
        // Only a capability line is read later: the rest are counted, not kept.
        if line.get(..13).is_some_and(|p| p.eq_ignore_ascii_case("* CAPABILITY ")) && lines.is_empty() {
            lines.push(line);
        }
        if read >= MAX_LINES {
            return Err(ProbeFailure::new(phase, FailureReason::BadReply, format!("over {MAX_LINES} response lines")));
        }
    }
}

/// `CAPA` (RFC 2449): the capability lines, or none when the server answers `-ERR` (no CAPA support).
async fn pop3_capa<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    phase: Phase,
    cfg: &ClientConfig,
) -> Result<Vec<String>, ProbeFailure> {
    wire::send(conn, "CAPA", phase, cfg.read_timeout).await?;
    let first = read_line(conn, phase, cfg).await?;
    if first.starts_with("-ERR") {
        return Ok(Vec::new());
    }
    if !first.starts_with("+OK") {
        return Err(ProbeFailure::new(
            phase,
            FailureReason::BadReply,
            format!("not a POP3 response: {:?}", truncate(&first)),
        ));
    }
    let mut caps = Vec::new();
    let mut read = 0usize;
    loop {
        let line = read_line(conn, phase, cfg).await?;
        if line == "." {
            return Ok(caps);
        }
        read += 1;
        if caps.len() < KEPT_CAPABILITIES {
            caps.push(cut(line.to_ascii_uppercase(), KEPT_TEXT_BYTES));
        } else if line.to_ascii_uppercase().starts_with("USER") || line.to_ascii_uppercase().starts_with("SASL ") {
            // Kept beyond the cap: the plaintext-auth check reads these.
            caps.push(cut(line.to_ascii_uppercase(), KEPT_TEXT_BYTES));
        }
        if read >= MAX_LINES {
            return Err(ProbeFailure::new(phase, FailureReason::BadReply, format!("over {MAX_LINES} CAPA lines")));
        }
    }
}

/// Ends the session politely and briefly; errors are ignored.
async fn logout<S: AsyncRead + AsyncWrite + Unpin>(family: Family, conn: &mut BufReader<S>, cfg: &ClientConfig) {
    let line = match family {
        Family::Smtp => return smtp::quit(conn, cfg.read_timeout).await,
        Family::Imap => "a9 LOGOUT",
        Family::Pop3 => "QUIT",
    };
    let wait = cfg.read_timeout.min(Duration::from_secs(2));
    let _ = timeout(wait, async {
        conn.get_mut().write_all(format!("{line}\r\n").as_bytes()).await?;
        let _ = wire::read_line(conn, MAX_LINE_BYTES, &mut Vec::new()).await;
        conn.get_mut().shutdown().await
    })
    .await;
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_table() {
        for p in Protocol::ALL {
            assert_eq!(Protocol::from_label(p.as_label()), Some(*p));
        }
        let ports: Vec<u16> = Protocol::ALL.iter().map(|p| p.default_port()).collect();
        assert_eq!(ports, vec![465, 587, 993, 143, 995, 110]);
        let implicit: Vec<bool> = Protocol::ALL.iter().map(|p| p.implicit_tls()).collect();
        assert_eq!(implicit, vec![true, false, true, false, true, false]);
        assert_eq!(Protocol::from_label("smtp"), None);
    }
}
