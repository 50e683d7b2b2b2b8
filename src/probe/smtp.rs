//! The SMTP side of a probe: reading replies (bounded), and the polite dialogue
//! connect → 220 greeting → EHLO (HELO fallback) → STARTTLS → TLS → EHLO → QUIT.
//!
//! The scanner never sends MAIL, RCPT or DATA, and never speaks before the server's greeting has
//! arrived in full (some servers drop clients that talk first). Every read and write has a timeout,
//! and the whole dialogue has a deadline; on failure the [`Phase`] reached is recorded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::time::timeout;

use super::tls::{TlsContext, TlsObservation};
use super::{Attempt, FailureReason, Phase, ProbeFailure, wire};

/// Longest reply line read, in bytes, CRLF included (RFC 5321 says 512; real servers send longer).
pub const MAX_LINE_BYTES: usize = 2048;
/// Most lines read in one reply: a long but valid greeting (some banners run to hundreds of lines)
/// is read to its end, as mail clients do; beyond this, or [`MAX_REPLY_BYTES`], it is `bad_reply`.
pub const MAX_REPLY_LINES: usize = 10_000;
/// Most bytes read in one reply.
pub const MAX_REPLY_BYTES: usize = 1 << 20;
/// Lines of a reply kept (the rest are read and counted, not kept).
pub const KEPT_LINES: usize = 64;
/// Bytes of a kept line (longer ones are cut at a character boundary).
pub const KEPT_LINE_BYTES: usize = 512;

/// One SMTP reply: its code and the text of each line (without `ddd-` and CRLF), bounded: at most
/// [`KEPT_LINES`] lines of at most [`KEPT_LINE_BYTES`] are kept.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text of each kept line.
    pub lines: Vec<String>,
    /// Lines read but not kept.
    pub dropped: usize,
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

impl Reply {
    /// A reply whose lines are all kept (for tests and rendering).
    pub fn new(code: u16, lines: Vec<String>) -> Self {
        Self { code, lines, dropped: 0 }
    }

    /// All kept lines joined with `\n`, and a note of the lines not kept.
    pub fn text(&self) -> String {
        let mut t = self.lines.join("\n");
        if self.dropped > 0 {
            t.push_str(&format!("\n[{} more lines not kept]", self.dropped));
        }
        t
    }

    /// Renders the reply as it travels on the wire.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let n = self.lines.len().max(1);
        for i in 0..n {
            let sep = if i + 1 == n { ' ' } else { '-' };
            let text = self.lines.get(i).map(String::as_str).unwrap_or("");
            out.push_str(&format!("{}{}{}\r\n", self.code, sep, text));
        }
        out
    }
}

/// A reply line that is not SMTP.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an SMTP reply line: {0}")]
pub struct ReplyLineError(pub String);

/// Parses one reply line (CRLF or LF optional): `(code, is_last, text)`.
pub fn parse_line(line: &[u8]) -> Result<(u16, bool, String), ReplyLineError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let bad = || ReplyLineError(String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned());
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&line[0]) {
        return Err(bad());
    }
    let code = (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16;
    let (last, text) = match line.get(3) {
        None => (true, &[][..]),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return Err(bad()),
    };
    Ok((code, last, String::from_utf8_lossy(text).into_owned()))
}

pub use super::wire::ReadError;

/// Reads one whole (possibly multi-line) reply, within the size limits; keeps a bounded prefix.
pub async fn read_reply<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Reply, ReadError> {
    let mut lines = Vec::new();
    let (mut total, mut count, mut dropped) = (0usize, 0usize, 0usize);
    let mut code = None;
    let mut buf = Vec::with_capacity(128);
    loop {
        let n = wire::read_line(reader, MAX_LINE_BYTES, &mut buf).await?;
        total += n;
        count += 1;
        let (c, last, text) = parse_line(&buf).map_err(|e| ReadError::Malformed(e.to_string()))?;
        if *code.get_or_insert(c) != c {
            return Err(ReadError::Malformed(format!(
                "reply code changed from {} to {c} within a reply",
                code.unwrap_or(0)
            )));
        }
        if lines.len() < KEPT_LINES {
            lines.push(cut(text, KEPT_LINE_BYTES));
        } else {
            dropped += 1;
        }
        if last {
            return Ok(Reply { code: c, lines, dropped });
        }
        if count >= MAX_REPLY_LINES || total >= MAX_REPLY_BYTES {
            return Err(ReadError::Malformed(format!("reply over {MAX_REPLY_LINES} lines or {MAX_REPLY_BYTES} bytes")));
        }
    }
}

/// The EHLO extension keywords of a 250 reply (first line is the greeting), uppercased, with their parameters.
pub fn parse_ehlo(reply: &Reply) -> Vec<String> {
    reply
        .lines
        .iter()
        .skip(1)
        .filter_map(|l| {
            let l = l.trim();
            let (kw, rest) = l.split_once(' ').unwrap_or((l, ""));
            (!kw.is_empty()).then(|| {
                if rest.is_empty() {
                    kw.to_ascii_uppercase()
                } else {
                    format!("{} {}", kw.to_ascii_uppercase(), rest.trim())
                }
            })
        })
        .collect()
}

/// Does the extension list offer STARTTLS?
pub fn offers_starttls(extensions: &[String]) -> bool {
    extensions.iter().any(|e| e == "STARTTLS" || e.starts_with("STARTTLS "))
}

/// Settings of the SMTP dialogue.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// Destination port (`--smtp-port`, default 25).
    pub port: u16,
    /// Name sent in EHLO/HELO (`--ehlo-name`).
    pub ehlo_name: String,
    /// TCP connect timeout (`--connect-timeout`, default 10 s).
    pub connect_timeout: Duration,
    /// Timeout of each read or write (`--read-timeout`, default 30 s: covers 15-20 s greeting delays).
    pub read_timeout: Duration,
    /// Deadline of the whole probe (`--probe-timeout`, default 60 s: ends tarpits).
    pub probe_timeout: Duration,
}

/// What the SMTP dialogue showed, filled in as far as it got.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SmtpObservation {
    /// The greeting.
    pub banner: Option<Reply>,
    /// The reply to EHLO (or to HELO after a refused EHLO).
    pub ehlo: Option<Reply>,
    /// EHLO was refused and HELO was used.
    pub helo_fallback: bool,
    /// EHLO extensions before TLS.
    pub extensions: Vec<String>,
    /// STARTTLS is in the extensions (unknown until EHLO is answered).
    pub starttls_offered: Option<bool>,
    /// The reply to STARTTLS.
    pub starttls: Option<Reply>,
    /// The reply to EHLO over TLS.
    pub post_tls_ehlo: Option<Reply>,
}

/// How a completed dialogue ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StartTls {
    /// STARTTLS and the TLS handshake worked.
    Negotiated,
    /// The server does not offer STARTTLS (or only speaks HELO).
    NotOffered,
}

/// Everything one probe of an (MX host, IP) produced.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProbeReport {
    /// How the probe ended.
    pub attempt: Attempt<StartTls>,
    /// The SMTP observations, partial on failure.
    pub smtp: SmtpObservation,
    /// The TLS observation, if the handshake completed.
    pub tls: Option<TlsObservation>,
    /// Wall time of the (last) probe, in milliseconds (0 when skipped).
    pub duration_ms: u32,
    /// Connections made: 1, more when a 4xx greeting was retried (0 when skipped).
    pub attempts: u8,
}

impl ProbeReport {
    /// A probe that was not attempted.
    pub fn skipped(reason: super::SkipReason) -> Self {
        Self {
            attempt: Attempt::Skipped(reason),
            smtp: SmtpObservation::default(),
            tls: None,
            duration_ms: 0,
            attempts: 0,
        }
    }

    /// A probe that failed before producing anything (e.g. a panic).
    pub fn failed(failure: ProbeFailure) -> Self {
        Self {
            attempt: Attempt::Failed(failure),
            smtp: SmtpObservation::default(),
            tls: None,
            duration_ms: 0,
            attempts: 1,
        }
    }
}

struct Session {
    phase: Phase,
    smtp: SmtpObservation,
    tls: Option<TlsObservation>,
}

/// Probes `addr`, whose MX name is `host`: the whole dialogue under the probe deadline.
pub async fn probe(addr: SocketAddr, host: &str, config: &SmtpConfig, tls: &TlsContext) -> ProbeReport {
    let start = Instant::now();
    let mut session = Session { phase: Phase::Connect, smtp: SmtpObservation::default(), tls: None };
    let result = match timeout(config.probe_timeout, dialogue(&mut session, addr, host, config, tls)).await {
        Ok(r) => r,
        Err(_) => Err(ProbeFailure::new(
            session.phase,
            FailureReason::Timeout,
            format!("probe deadline of {:?} passed", config.probe_timeout),
        )),
    };
    ProbeReport {
        attempt: match result {
            Ok(v) => Attempt::Done(v),
            Err(f) => Attempt::Failed(f),
        },
        smtp: session.smtp,
        tls: session.tls,
        duration_ms: start.elapsed().as_millis().min(u32::MAX as u128) as u32,
        attempts: 1,
    }
}

impl ProbeReport {
    /// The greeting was a temporary refusal (421 or another 4xx): worth retrying later.
    pub fn temporary_refusal(&self) -> bool {
        matches!(&self.attempt, Attempt::Failed(f) if f.phase == Phase::Banner
            && f.reason == FailureReason::Rejected
            && f.reply_code.is_some_and(|c| (400..500).contains(&c)))
    }
}

async fn dialogue(
    s: &mut Session,
    addr: SocketAddr,
    host: &str,
    cfg: &SmtpConfig,
    tls: &TlsContext,
) -> Result<StartTls, ProbeFailure> {
    s.phase = Phase::Connect;
    let tcp = wire::connect(addr, cfg.connect_timeout).await?;
    let mut conn = BufReader::with_capacity(4096, tcp);

    s.phase = Phase::Banner;
    let banner = read(&mut conn, Phase::Banner, cfg.read_timeout).await?;
    s.smtp.banner = Some(banner.clone());
    if banner.code != 220 {
        quit(&mut conn, cfg.read_timeout).await;
        return Err(rejected(Phase::Banner, &banner));
    }

    s.phase = Phase::Ehlo;
    if let Some(extra) = wire::unsolicited(&conn) {
        // The server spoke again before we did: its next line would be misread as the EHLO reply.
        quit(&mut conn, cfg.read_timeout).await;
        return Err(ProbeFailure::new(
            Phase::Ehlo,
            FailureReason::BadReply,
            format!("server sent data before EHLO: {extra:?}"),
        ));
    }
    let mut ehlo = command(&mut conn, &format!("EHLO {}", cfg.ehlo_name), Phase::Ehlo, cfg.read_timeout).await?;
    if matches!(ehlo.code, 500..=504 | 550) {
        // EHLO refused: RFC 5321 §4.1.4 allows falling back to HELO, which has no extensions.
        s.smtp.helo_fallback = true;
        ehlo = command(&mut conn, &format!("HELO {}", cfg.ehlo_name), Phase::Ehlo, cfg.read_timeout).await?;
    }
    s.smtp.ehlo = Some(ehlo.clone());
    if ehlo.code != 250 {
        quit(&mut conn, cfg.read_timeout).await;
        return Err(rejected(Phase::Ehlo, &ehlo));
    }
    s.smtp.extensions = if s.smtp.helo_fallback { Vec::new() } else { parse_ehlo(&ehlo) };
    let offered = offers_starttls(&s.smtp.extensions);
    s.smtp.starttls_offered = Some(offered);
    if !offered {
        quit(&mut conn, cfg.read_timeout).await;
        return Ok(StartTls::NotOffered);
    }

    s.phase = Phase::StartTls;
    let reply = command(&mut conn, "STARTTLS", Phase::StartTls, cfg.read_timeout).await?;
    s.smtp.starttls = Some(reply.clone());
    if reply.code != 220 {
        quit(&mut conn, cfg.read_timeout).await;
        return Err(rejected(Phase::StartTls, &reply));
    }
    if let Some(extra) = wire::unsolicited(&conn) {
        return Err(ProbeFailure::new(
            Phase::StartTls,
            FailureReason::PlaintextAfterStartTls,
            format!("server sent plaintext after 220 to STARTTLS: {extra:?}"),
        ));
    }

    s.phase = Phase::Handshake;
    let (stream, observation) = wire::handshake(tls, conn.into_inner(), host, cfg.read_timeout).await?;
    s.tls = Some(observation);

    s.phase = Phase::PostTls;
    let mut conn = BufReader::with_capacity(4096, stream);
    let reply = command(&mut conn, &format!("EHLO {}", cfg.ehlo_name), Phase::PostTls, cfg.read_timeout).await?;
    s.smtp.post_tls_ehlo = Some(reply.clone());
    if reply.code != 250 {
        quit(&mut conn, cfg.read_timeout).await;
        return Err(rejected(Phase::PostTls, &reply));
    }
    quit(&mut conn, cfg.read_timeout).await;
    Ok(StartTls::Negotiated)
}

fn rejected(phase: Phase, reply: &Reply) -> ProbeFailure {
    let mut f = ProbeFailure::new(phase, FailureReason::Rejected, cut(reply.text(), KEPT_LINE_BYTES));
    f.reply_code = Some(reply.code);
    f
}

/// Reads one reply within `limit`.
pub(crate) async fn read<S: AsyncRead + Unpin>(
    conn: &mut BufReader<S>,
    phase: Phase,
    limit: Duration,
) -> Result<Reply, ProbeFailure> {
    wire::within(limit, phase, "reply", read_reply(conn)).await
}

/// Sends a command line and reads its reply, each within `limit`.
pub(crate) async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    line: &str,
    phase: Phase,
    limit: Duration,
) -> Result<Reply, ProbeFailure> {
    wire::send(conn, line, phase, limit).await?;
    read(conn, phase, limit).await
}

/// Says QUIT and reads the answer, briefly; errors are ignored (the observation is already made).
pub(crate) async fn quit<S: AsyncRead + AsyncWrite + Unpin>(conn: &mut BufReader<S>, limit: Duration) {
    let wait = limit.min(Duration::from_secs(2));
    let _ = timeout(wait, async {
        conn.get_mut().write_all(b"QUIT\r\n").await?;
        let _ = read_reply(conn).await;
        conn.get_mut().shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_line_table() {
        type Case<'a> = (&'a [u8], (u16, bool, &'a str));
        let ok: &[Case] = &[
            (b"220 mx.example ESMTP\r\n", (220, true, "mx.example ESMTP")),
            (b"250-mx.example\r\n", (250, false, "mx.example")),
            (b"250 STARTTLS\n", (250, true, "STARTTLS")),
            (b"421\r\n", (421, true, "")),
            (b"554 ", (554, true, "")),
        ];
        for (line, want) in ok {
            let got = parse_line(line).unwrap();
            assert_eq!((got.0, got.1, got.2.as_str()), *want);
        }
        for bad in [&b"hello\r\n"[..], b"22 x", b"2200 x", b"120 x", b"600 x", b"", b"\x00\xff\x01", b"250_x"] {
            assert!(parse_line(bad).is_err(), "{bad:?}");
        }
    }

    async fn read_from(bytes: &[u8]) -> Result<Reply, ReadError> {
        let mut r = BufReader::new(bytes);
        read_reply(&mut r).await
    }

    #[tokio::test]
    async fn read_reply_multiline_and_limits() {
        let r =
            read_from(b"250-mx.example hello\r\n250-PIPELINING\r\n250-starttls\r\n250 SIZE 1000\r\n").await.unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(parse_ehlo(&r), ["PIPELINING", "STARTTLS", "SIZE 1000"]);
        assert!(offers_starttls(&parse_ehlo(&r)));

        let long = format!("220 {}\r\n", "x".repeat(MAX_LINE_BYTES));
        assert!(matches!(read_from(long.as_bytes()).await, Err(ReadError::Malformed(_))));
        let endless = "250-x\r\n".repeat(MAX_REPLY_LINES + 5);
        assert!(matches!(read_from(endless.as_bytes()).await, Err(ReadError::Malformed(_))));
        // A long but valid greeting (320 lines, ~70 KB) is read to its end; a bounded prefix is kept.
        let long: String =
            (0..320).map(|i| format!("220-{i:04} {}\r\n", "x".repeat(210))).collect::<String>() + "220 ok\r\n";
        let r = read_from(long.as_bytes()).await.unwrap();
        assert_eq!((r.code, r.lines.len(), r.dropped), (220, KEPT_LINES, 321 - KEPT_LINES));
        assert!(r.text().ends_with(&format!("[{} more lines not kept]", 321 - KEPT_LINES)));
        assert_eq!(cut("ééé".to_string(), 3), "é");
        assert!(matches!(read_from(b"250-a\r\n251 b\r\n").await, Err(ReadError::Malformed(_))));
        assert!(matches!(read_from(b"250-a\r\n").await, Err(ReadError::Io(_))));
        assert!(matches!(read_from(b"220 half").await, Err(ReadError::Io(_))));
        assert!(matches!(read_from(b"\x16\x03\x01garbage\n").await, Err(ReadError::Malformed(_))));
    }

    #[test]
    fn starttls_detection_is_exact() {
        assert!(!offers_starttls(&["STARTTLSX".to_string(), "8BITMIME".to_string()]));
        assert!(offers_starttls(&["STARTTLS".to_string()]));
    }

    proptest! {
        #[test]
        fn parse_line_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_line(&bytes);
        }

        #[test]
        fn ehlo_never_panics_and_round_trips(
            lines in proptest::collection::vec("\\PC{0,40}", 0..8),
            exts in proptest::collection::vec("[A-Z][A-Z0-9-]{0,12}( [a-z0-9=]{1,8})?", 0..8),
        ) {
            let _ = parse_ehlo(&Reply::new(250, lines));
            let mut reply_lines = vec!["mx.example greets you".to_string()];
            reply_lines.extend(exts.iter().map(|e| e.to_ascii_lowercase()));
            let parsed = parse_ehlo(&Reply::new(250, reply_lines));
            let want: Vec<String> = exts
                .iter()
                .map(|e| match e.split_once(' ') {
                    Some((kw, rest)) => format!("{} {}", kw.to_ascii_uppercase(), rest.to_ascii_lowercase()),
                    None => e.to_ascii_uppercase(),
                })
                .collect();
            prop_assert_eq!(parsed, want);
        }

        #[test]
        fn reply_round_trips(code in 200u16..600, lines in proptest::collection::vec("[ -~]{0,40}", 1..6)) {
            let reply = Reply::new(code, lines);
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let parsed = rt.block_on(read_from(reply.render().as_bytes())).map_err(|e| format!("{e:?}")).unwrap();
            prop_assert_eq!(parsed, reply);
        }
    }
}
