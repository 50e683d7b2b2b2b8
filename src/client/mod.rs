//! Finding the endpoints a domain's users configure in their mail apps (submission, IMAP, POP3), in
//! the order mail apps look, each recording where it came from ([`Source`]):
//!
//! 1. SRV records (RFC 6186, RFC 8314): `_submissions._tcp`, `_submission._tcp`, `_imaps._tcp`,
//!    `_imap._tcp`, `_pop3s._tcp`, `_pop3._tcp`; a target of `.` means "not offered" ([`srv`]).
//! 2. The autoconfig file mail apps read ([`autoconfig`]), fetched like an MTA-STS policy.
//! 3. Only when neither gave anything: conventional names, marked as guesses ([`guesses`]): `smtp.`,
//!    `mail.`, `imap.`, `pop.` of the domain, on the standard ports, kept only if they resolve.
//!
//! Probing the endpoints is the probe runner's job (`scan::runner`); the dialogues are in
//! `probe::client`.

pub mod autoconfig;

use crate::config::ClientSettings;
use crate::dns::{Dns, DnsOutcome};
use crate::guard::TargetGuard;
use crate::probe::client::Protocol;

crate::labels! {
    /// Where an endpoint came from.
    #[derive(PartialOrd, Ord)]
    pub enum Source {
        /// An SRV record.
        Srv => "srv",
        /// The autoconfig file.
        Autoconfig => "autoconfig",
        /// A conventional name (a guess).
        Guess => "guess",
    }
}

/// One client endpoint of a domain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// The protocol (and with it, how TLS starts).
    pub protocol: Protocol,
    /// Host name, lowercase, no trailing dot.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Where it came from.
    pub source: Source,
}

/// The conventional host names tried as guesses, and the protocols tried on each.
pub const GUESSES: &[(&str, &[Protocol])] = &[
    ("smtp", &[Protocol::Submissions, Protocol::Submission]),
    ("mail", Protocol::ALL),
    ("imap", &[Protocol::Imaps, Protocol::Imap]),
    ("pop", &[Protocol::Pop3s, Protocol::Pop3]),
];

/// SRV records kept per protocol.
pub const MAX_SRV_PER_PROTOCOL: usize = 4;

/// What the SRV step found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SrvStep {
    /// Endpoints published by SRV records.
    pub endpoints: Vec<Endpoint>,
    /// Protocols whose SRV record says "not offered" (target `.`).
    pub not_offered: Vec<Protocol>,
    /// Protocols whose SRV lookup failed (whether they publish one is unknown).
    pub failed: Vec<Protocol>,
}

/// The SRV step. When `_tcp.<domain>` does not exist, no SRV record below it does (RFC 8020): one
/// lookup instead of six for the many domains that publish none; when that lookup fails, every
/// protocol's lookup counts as failed.
pub async fn srv(dns: &Dns, domain: &str, protocols: &[Protocol]) -> SrvStep {
    let mut step = SrvStep::default();
    match dns.srv(&format!("_tcp.{domain}")).await {
        DnsOutcome::NxDomain => return step,
        DnsOutcome::Failed(_) => {
            step.failed = protocols.to_vec();
            return step;
        }
        _ => {}
    }
    let answers = futures::future::join_all(
        protocols.iter().map(|p| async move { (*p, dns.srv(&format!("_{}._tcp.{domain}", p.as_label())).await) }),
    )
    .await;
    for (protocol, answer) in answers {
        match answer {
            DnsOutcome::Found(records) => {
                if records.iter().all(|r| r.target.is_empty()) {
                    step.not_offered.push(protocol);
                }
                for r in records.into_iter().filter(|r| !r.target.is_empty()).take(MAX_SRV_PER_PROTOCOL) {
                    step.endpoints.push(Endpoint { protocol, host: r.target, port: r.port, source: Source::Srv });
                }
            }
            DnsOutcome::Failed(_) => step.failed.push(protocol),
            DnsOutcome::NxDomain | DnsOutcome::NoData => {}
        }
    }
    step
}

/// Adds the servers of an autoconfig file to `endpoints` (those of the protocols looked for, not
/// already there).
pub fn add_autoconfig(endpoints: &mut Vec<Endpoint>, servers: Vec<autoconfig::Server>, settings: &ClientSettings) {
    for (protocol, host, port) in servers {
        let dup = endpoints.iter().any(|e| e.protocol == protocol && e.host == host && e.port == port);
        if settings.protocols.contains(&protocol) && !dup {
            endpoints.push(Endpoint { protocol, host, port, source: Source::Autoconfig });
        }
    }
}

/// The guess step: the conventional names under `domain` that resolve (A), on the configured ports.
/// Returns the endpoints, and whether some guess's lookup failed (then "found nothing" is not known).
pub async fn guesses(dns: &Dns, guard: &TargetGuard, domain: &str, settings: &ClientSettings) -> (Vec<Endpoint>, bool) {
    let answers = futures::future::join_all(GUESSES.iter().map(|(prefix, protocols)| async move {
        let host = format!("{prefix}.{domain}");
        let answer = if guard.excludes_name(&host) { DnsOutcome::NxDomain } else { dns.once().ipv4(&host).await };
        (host, *protocols, answer)
    }))
    .await;
    let mut endpoints = Vec::new();
    let mut failed = false;
    for (host, protocols, answer) in answers {
        failed |= answer.failure().is_some();
        if answer.found().is_none() {
            continue;
        }
        for p in protocols.iter().filter(|p| settings.protocols.contains(p)) {
            endpoints.push(Endpoint {
                protocol: *p,
                host: host.clone(),
                port: settings.port(*p),
                source: Source::Guess,
            });
        }
    }
    (endpoints, failed)
}
