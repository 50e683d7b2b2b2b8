//! Finding the endpoints a domain's users configure in their mail apps (submission, IMAP, POP3), in
//! the order mail apps (Thunderbird) look, each recording where it came from ([`Source`]):
//!
//! 1. SRV records (RFC 6186, RFC 8314): `_submissions._tcp`, `_submission._tcp`, `_imaps._tcp`,
//!    `_imap._tcp`, `_pop3s._tcp`, `_pop3._tcp`; a target of `.` means "not offered" ([`srv`]).
//!    Kept beside whatever the next steps find.
//! 2. The first configuration found, in this order: the autoconfig file at the domain
//!    (`autoconfig.<domain>`, then, with `--autoconfig-well-known`, `<domain>/.well-known/...`), the
//!    ISP database by the domain ([`ispdb`]), then **by the MX**: the registrable domain of the
//!    primary MX host (the mail provider, [`mx_provider`]) in the ISP database, then the autoconfig
//!    file at the provider (`autoconfig.<provider>`).
//! 3. Only when nothing was published: conventional names, marked as guesses ([`guesses`]):
//!    `smtp.`, `mail.`, `imap.`, `pop.` of the domain when it is its own mail host, else of its mail
//!    provider; on the standard ports, kept only if they resolve.
//!
//! What the provider's steps find (2 by the MX, 3 under the provider) is found once per run per
//! provider (`scan::provider`); probing the endpoints is the probe runner's job (`scan::runner`);
//! the dialogues are in `probe::client`.

pub mod autoconfig;
pub mod ispdb;

use autoconfig::{AuthMethod, Declared, SocketType};

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
        /// The autoconfig file at `autoconfig.<domain>`.
        Autoconfig => "autoconfig",
        /// The autoconfig file at `<domain>/.well-known/autoconfig/mail/config-v1.1.xml`.
        AutoconfigWellKnown => "autoconfig_well_known",
        /// The ISP database, by the domain.
        Ispdb => "ispdb",
        /// The ISP database, by the mail provider (the MX host's registrable domain).
        IspdbMx => "ispdb_mx",
        /// The autoconfig file at `autoconfig.<provider>`.
        AutoconfigMx => "autoconfig_mx",
        /// A conventional name under the domain (a guess).
        Guess => "guess",
        /// A conventional name under the mail provider (a guess).
        GuessMx => "guess_mx",
    }
}

impl Source {
    /// Endpoints from this source are the provider's, shared by its domains: worth keeping in the
    /// run's probe cache. A guess under the domain is that domain's alone.
    pub fn shared(self) -> bool {
        self != Self::Guess
    }
}

/// What a configuration file (autoconfig or ISPDB) told the mail app about one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Declaration {
    /// `socketType`.
    pub socket: SocketType,
    /// `authentication` methods.
    pub auth: Vec<AuthMethod>,
    /// Password sent without TLS ([`Declared::cleartext_password`]).
    pub cleartext_password: bool,
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
    /// What the configuration file declared (autoconfig and ISPDB endpoints only).
    pub declared: Option<Declaration>,
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
                    step.endpoints.push(Endpoint {
                        protocol,
                        host: r.target,
                        port: r.port,
                        source: Source::Srv,
                        declared: None,
                    });
                }
            }
            DnsOutcome::Failed(_) => step.failed.push(protocol),
            DnsOutcome::NxDomain | DnsOutcome::NoData => {}
        }
    }
    step
}

/// The endpoints a configuration file declares for a user of `domain` (`%EMAILDOMAIN%` replaced),
/// of the protocols looked for, without duplicates.
pub fn declared_endpoints(
    servers: &[Declared],
    domain: &str,
    source: Source,
    settings: &ClientSettings,
) -> Vec<Endpoint> {
    let mut out: Vec<Endpoint> = Vec::new();
    for s in servers {
        let Some(host) = s.host_for(domain) else { continue };
        let dup = out.iter().any(|e| e.protocol == s.protocol && e.host == host && e.port == s.port);
        if settings.protocols.contains(&s.protocol) && !dup {
            let declared =
                Declaration { socket: s.socket, auth: s.auth.clone(), cleartext_password: s.cleartext_password() };
            out.push(Endpoint { protocol: s.protocol, host, port: s.port, source, declared: Some(declared) });
        }
    }
    out
}

/// The mail provider of a domain: the registrable domain (public suffix list) of its primary MX host
/// (the lowest preference, the first listed among equals). `None` without an MX host.
pub fn mx_provider<'a>(mx_hosts: impl IntoIterator<Item = (u16, &'a str)>) -> Option<String> {
    let (_, host) = mx_hosts.into_iter().filter(|(_, h)| !h.is_empty()).min_by_key(|(preference, _)| *preference)?;
    Some(crate::domain::organizational_domain(&host.to_ascii_lowercase()))
}

/// The guess step: the conventional names under `under` (the domain, or its mail provider: `source`
/// says which) that resolve (A), on the configured ports. Returns the endpoints, and whether some
/// guess's lookup failed (then "found nothing" is not known).
pub async fn guesses(
    dns: &Dns,
    guard: &TargetGuard,
    under: &str,
    source: Source,
    settings: &ClientSettings,
) -> (Vec<Endpoint>, bool) {
    let answers = futures::future::join_all(GUESSES.iter().map(|(prefix, protocols)| async move {
        let host = format!("{prefix}.{under}");
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
                source,
                declared: None,
            });
        }
    }
    (endpoints, failed)
}
