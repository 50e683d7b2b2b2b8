//! The probes' dialogues (SMTP, the client protocols, HTTPS, TLS) and the outcome vocabulary they
//! share, with the mapping of I/O and TLS errors onto it.
//!
//! A probe is an [`Attempt`]: done, failed (with the [`Phase`] it failed in and a closed
//! [`FailureReason`]), or skipped (with a [`SkipReason`]). "STARTTLS not offered" is an observation of a
//! completed probe, not a failure. [`classify_io`] is the one place where `io::Error` and `rustls::Error`
//! become outcomes; free text goes only into the `detail`.

pub mod client;
pub mod https;
pub mod smtp;
pub mod tls;
pub mod wire;

use std::fmt;
use std::io;

crate::labels! {
    /// The step of the SMTP/TLS dialogue a failure happened in.
    pub enum Phase {
        /// TCP connect.
        Connect => "connect",
        /// Waiting for and reading the 220 greeting.
        Banner => "banner",
        /// EHLO (or the HELO fallback) and its reply.
        Ehlo => "ehlo",
        /// The STARTTLS command and its reply.
        StartTls => "starttls",
        /// The TLS handshake.
        Handshake => "handshake",
        /// EHLO over TLS and QUIT.
        PostTls => "post_tls",
    }
}

crate::labels! {
    /// Why a probe failed. Closed vocabulary; see the README for each label.
    #[non_exhaustive]
    pub enum FailureReason {
        /// The TCP connection was refused (closed port).
        Refused => "refused",
        /// A connect, read or write timed out, or the whole-probe deadline passed.
        Timeout => "timeout",
        /// The server closed the connection.
        Closed => "closed",
        /// The connection was reset.
        Reset => "reset",
        /// No route to the host or network.
        Unreachable => "unreachable",
        /// The server's reply is not SMTP, or is over the size limits.
        BadReply => "bad_reply",
        /// The server answered with a 4xx/5xx code (see `probe_reply_code`), e.g. 421 greeting or 454 to STARTTLS.
        Rejected => "rejected",
        /// The server sent plaintext right after its 220 to STARTTLS (the STARTTLS command-injection pattern).
        PlaintextAfterStartTls => "plaintext_after_starttls",
        /// The server speaks only TLS 1.0/1.1 (or older), which this scanner does not negotiate.
        LegacyTlsOnly => "legacy_tls_only",
        /// The server sent a TLS alert (e.g. handshake_failure: no common cipher).
        TlsAlert => "tls_alert",
        /// Any other TLS protocol error (corrupt records, unexpected messages).
        TlsProtocol => "tls_protocol",
        /// Another I/O error.
        Io => "io",
        /// A bug in the scanner (a panic inside the probe).
        Internal => "internal",
    }
}

/// A failed probe: where, why, and the server's words or the error text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProbeFailure {
    /// The phase it failed in.
    pub phase: Phase,
    /// The closed-vocabulary reason.
    pub reason: FailureReason,
    /// The SMTP reply code, for `Rejected`.
    pub reply_code: Option<u16>,
    /// Free text for the `probe_detail` column.
    pub detail: String,
}

impl ProbeFailure {
    /// A failure with no reply code.
    pub fn new(phase: Phase, reason: FailureReason, detail: impl Into<String>) -> Self {
        Self { phase, reason, reply_code: None, detail: detail.into() }
    }
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}: {}", self.reason.as_label(), self.phase.as_label(), self.detail)
    }
}

crate::labels! {
    /// Why a probe was not attempted.
    #[non_exhaustive]
    pub enum SkipReason {
        /// The address is loopback, private, link-local, CGNAT, documentation, multicast ... (see `--allow-private`).
        NonPublicAddress => "non_public_address",
        /// An IPv6 address, and `--ipv6` was not given.
        Ipv6Disabled => "ipv6_disabled",
        /// The MX host has no A or AAAA record.
        NoAddress => "no_address",
        /// The MX host's address lookups failed (see `mx_a_outcome`, `mx_aaaa_outcome`).
        AddressLookupFailed => "address_lookup_failed",
        /// Beyond `--max-mx-per-domain` or `--max-ips-per-mx`.
        OverLimit => "over_limit",
        /// The MX host name or address is on the exclude list.
        Excluded => "excluded",
    }
}

/// The outcome of something the scanner tried.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Attempt<T> {
    /// It completed, with this result.
    Done(T),
    /// It failed.
    Failed(ProbeFailure),
    /// It was not tried.
    Skipped(SkipReason),
}

impl<T> Attempt<T> {
    /// `done`, `failed` or `skipped`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Done(_) => "done",
            Self::Failed(_) => "failed",
            Self::Skipped(_) => "skipped",
        }
    }
}

/// The columns every probe row has, read off an [`Attempt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutcomeColumns<'a> {
    /// `done`, `failed` or `skipped`.
    pub status: &'static str,
    /// The phase of a failure.
    pub phase: Option<&'static str>,
    /// The reason of a failure, or why the probe was skipped.
    pub reason: Option<&'static str>,
    /// The reply code of a rejection.
    pub reply_code: Option<u16>,
    /// The failure's free text.
    pub detail: Option<&'a str>,
}

impl<T> Attempt<T> {
    /// The outcome as row columns.
    pub fn columns(&self) -> OutcomeColumns<'_> {
        let (phase, reason, reply_code, detail) = match self {
            Self::Done(_) => (None, None, None, None),
            Self::Failed(f) => {
                (Some(f.phase.as_label()), Some(f.reason.as_label()), f.reply_code, Some(f.detail.as_str()))
            }
            Self::Skipped(r) => (None, Some(r.as_label()), None, None),
        };
        OutcomeColumns { status: self.label(), phase, reason, reply_code, detail }
    }
}

/// Maps an I/O error (which may carry a `rustls::Error`) onto a probe failure in `phase`.
pub fn classify_io(err: &io::Error, phase: Phase) -> ProbeFailure {
    use io::ErrorKind as K;
    if let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
        return classify_tls(tls, phase);
    }
    let reason = match err.kind() {
        K::ConnectionRefused => FailureReason::Refused,
        K::TimedOut => FailureReason::Timeout,
        K::ConnectionReset | K::ConnectionAborted => FailureReason::Reset,
        K::UnexpectedEof | K::BrokenPipe | K::NotConnected => FailureReason::Closed,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => FailureReason::Unreachable,
        _ => FailureReason::Io,
    };
    ProbeFailure::new(phase, reason, err.to_string())
}

/// Maps a rustls error onto a probe failure in `phase`.
pub fn classify_tls(err: &rustls::Error, phase: Phase) -> ProbeFailure {
    use rustls::{AlertDescription, Error as E, PeerIncompatible};
    let reason = match err {
        E::AlertReceived(AlertDescription::ProtocolVersion) => FailureReason::LegacyTlsOnly,
        E::PeerIncompatible(PeerIncompatible::ServerDoesNotSupportTls12Or13) => FailureReason::LegacyTlsOnly,
        E::AlertReceived(_) => FailureReason::TlsAlert,
        _ => FailureReason::TlsProtocol,
    };
    ProbeFailure::new(phase, reason, err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_io_table() {
        use io::ErrorKind as K;
        let cases = [
            (K::ConnectionRefused, FailureReason::Refused),
            (K::TimedOut, FailureReason::Timeout),
            (K::ConnectionReset, FailureReason::Reset),
            (K::UnexpectedEof, FailureReason::Closed),
            (K::BrokenPipe, FailureReason::Closed),
            (K::HostUnreachable, FailureReason::Unreachable),
            (K::Other, FailureReason::Io),
        ];
        for (kind, want) in cases {
            let f = classify_io(&io::Error::from(kind), Phase::Banner);
            assert_eq!((f.phase, f.reason), (Phase::Banner, want), "{kind:?}");
        }
    }

    #[test]
    fn classify_tls_inside_io() {
        use rustls::{AlertDescription, Error as E, PeerIncompatible};
        let cases = [
            (E::AlertReceived(AlertDescription::ProtocolVersion), FailureReason::LegacyTlsOnly),
            (E::PeerIncompatible(PeerIncompatible::ServerDoesNotSupportTls12Or13), FailureReason::LegacyTlsOnly),
            (E::AlertReceived(AlertDescription::HandshakeFailure), FailureReason::TlsAlert),
            (E::DecryptError, FailureReason::TlsProtocol),
        ];
        for (e, want) in cases {
            let io = io::Error::new(io::ErrorKind::InvalidData, e);
            assert_eq!(classify_io(&io, Phase::Handshake).reason, want);
        }
    }

    #[test]
    fn labels_are_snake_case() {
        let labels = [
            FailureReason::PlaintextAfterStartTls.as_label(),
            FailureReason::LegacyTlsOnly.as_label(),
            Phase::PostTls.as_label(),
            SkipReason::NonPublicAddress.as_label(),
        ];
        for l in labels {
            assert!(l.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{l}");
        }
    }
}
