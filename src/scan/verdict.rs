//! The summary verdicts an analyst filters on, computed from a [`DomainScan`]: `starttls`,
//! `tls_cert_valid`, `tls_version_min`, `gmail_red_lock`, `gmail_unauthenticated_risk`, `dane`, the
//! MTA-STS match and effect, and the client side's `client_tls` and `client_plaintext_auth`.
//!
//! One rule decides whether an answering address "encrypts" ([`encrypts`]), for MX and client
//! endpoints alike: a completed TLS session does; an answer without working TLS does not; a server that
//! never answered far enough, or speaks only TLS versions this scanner cannot negotiate, is unknown.

use super::result::{ClientScan, DomainScan, MxSource, MxTarget};
use crate::dns::DnssecStatus;
use crate::policy::dane;
use crate::policy::mta_sts::Mode;
use crate::probe::client::ClientTls;
use crate::probe::smtp::StartTls;
use crate::probe::tls::{CertVerdict, TlsObservation, TlsVersion};
use crate::probe::{Attempt, FailureReason, Phase, ProbeFailure};

crate::labels! {
    /// The `starttls` summary of a domain.
    pub enum StarttlsSummary {
        /// Every MX address that answered completed a TLS handshake.
        All => "all",
        /// Some did, some did not.
        Some => "some",
        /// None did.
        None => "none",
        /// The domain accepts no mail (null MX, no MX and no address, NXDOMAIN).
        NoMx => "no_mx",
        /// The MX lookup failed: unknown.
        DnsFailed => "dns_failed",
        /// Every MX address was skipped (non-public, IPv6 disabled, no address).
        NotProbed => "not_probed",
        /// Probes were made but no MX address answered far enough to tell (refused, timeout, 4xx/5xx greeting ...).
        Unreachable => "unreachable",
        /// The domain is on the exclude list.
        Excluded => "excluded",
    }
}

crate::labels! {
    /// The `client_tls` summary of a domain.
    pub enum ClientTlsSummary {
        /// Every client endpoint that answered ended in TLS.
        All => "all",
        /// Some did.
        Some => "some",
        /// None did.
        None => "none",
        /// No endpoint was found, and every discovery lookup worked.
        NotFound => "not_found",
        /// No endpoint was found, and some discovery lookup failed: whether there is one is unknown.
        DnsFailed => "dns_failed",
        /// Endpoints were found but none answered far enough to tell.
        Unreachable => "unreachable",
        /// The domain accepts no mail: nothing was looked for.
        NoMx => "no_mx",
        /// Not looked for (`--no-client-probes`, or excluded).
        NotProbed => "not_probed",
    }
}

crate::labels! {
    /// Share of a set: all, some, none, or not applicable.
    pub enum Share {
        /// Every member.
        All => "all",
        /// Some members.
        Some => "some",
        /// No member.
        None => "none",
        /// The set is empty.
        NotApplicable => "n_a",
    }
}

impl Share {
    /// The share of `hits` among `total`.
    pub fn of(total: usize, hits: usize) -> Self {
        match (total, hits) {
            (0, _) => Self::NotApplicable,
            (t, h) if h == t => Self::All,
            (_, 0) => Self::None,
            _ => Self::Some,
        }
    }

    /// The share of `true` among the known answers.
    fn of_known(answers: impl Iterator<Item = Option<bool>>) -> Self {
        let known: Vec<bool> = answers.flatten().collect();
        Self::of(known.len(), known.iter().filter(|k| **k).count())
    }
}

/// Would this probed address carry mail encrypted? `Some(true)`: a TLS session completed;
/// `Some(false)`: the server answered without working TLS (no STARTTLS, STARTTLS refused, a handshake
/// that failed after the server spoke); `None`: unknown (it never answered far enough, or it speaks
/// only TLS versions older than 1.2, which this scanner does not negotiate and so cannot judge).
///
/// `not_offered`: the probe completed without TLS; `implicit_tls`: TLS is the first exchange (port 465,
/// 993, 995), so a handshake that saw no answer at all means the server never answered.
pub fn encrypts(
    tls: Option<&TlsObservation>,
    done: Option<bool>,
    failure: Option<&ProbeFailure>,
    implicit_tls: bool,
) -> Option<bool> {
    if tls.is_some() {
        return Some(true);
    }
    if let Some(not_offered) = done {
        return Some(!not_offered);
    }
    let f = failure?;
    let silent = matches!(
        f.reason,
        FailureReason::Timeout
            | FailureReason::Closed
            | FailureReason::Reset
            | FailureReason::Refused
            | FailureReason::Unreachable
            | FailureReason::Internal
    );
    match f.phase {
        _ if f.reason == FailureReason::LegacyTlsOnly => None,
        Phase::Handshake if implicit_tls && silent => None,
        Phase::StartTls | Phase::Handshake | Phase::PostTls => Some(false),
        _ => None,
    }
}

fn mx_encrypts(t: &MxTarget) -> Option<bool> {
    let p = &t.probe.report;
    let (done, failure) = match &p.attempt {
        Attempt::Done(s) => (Some(*s == StartTls::NotOffered), None),
        Attempt::Failed(f) => (None, Some(f)),
        Attempt::Skipped(_) => (None, None),
    };
    encrypts(p.tls.as_ref(), done, failure, false)
}

impl MxTarget {
    /// Does DANE hold for this address: secure TLSA records with a usable one matching the chain the
    /// probe saw? `false` too when the records are secure and usable but STARTTLS did not complete
    /// (RFC 7672: DANE makes TLS mandatory); `None` without secure, usable TLSA records.
    pub fn dane_valid(&self) -> Option<bool> {
        let sec = self.security.as_ref()?;
        if sec.tlsa.dnssec != DnssecStatus::Secure {
            return None;
        }
        let records = sec.tlsa.records.found()?;
        if !records.iter().any(dane::usable) {
            return None;
        }
        let p = &self.probe.report;
        match &p.tls {
            Some(tls) => Some(dane::check(records, &tls.chain_digests, tls.assessment.name_matches)),
            None if matches!(p.attempt, Attempt::Skipped(_)) => None,
            None => Some(false),
        }
    }
}

impl ClientScan {
    /// `client_tls`: of the endpoints that answered far enough to tell, how many ended in TLS.
    pub fn client_tls(&self) -> ClientTlsSummary {
        if !self.probed {
            return ClientTlsSummary::NotProbed;
        }
        if self.no_mail {
            return ClientTlsSummary::NoMx;
        }
        if self.targets.is_empty() {
            return if self.lookups_failed { ClientTlsSummary::DnsFailed } else { ClientTlsSummary::NotFound };
        }
        let answers = self.targets.iter().map(|t| {
            let r = &t.probe.report;
            let (done, failure) = match &r.attempt {
                Attempt::Done(c) => (Some(*c == ClientTls::NotOffered), None),
                Attempt::Failed(f) => (None, Some(f)),
                Attempt::Skipped(_) => (None, None),
            };
            encrypts(r.tls.as_ref(), done, failure, t.endpoint.protocol.implicit_tls())
        });
        match Share::of_known(answers) {
            Share::All => ClientTlsSummary::All,
            Share::Some => ClientTlsSummary::Some,
            Share::None => ClientTlsSummary::None,
            Share::NotApplicable => ClientTlsSummary::Unreachable,
        }
    }

    /// `client_plaintext_auth`: some plaintext port accepts authentication before TLS (`true`), none
    /// does (`false`), or no plaintext port answered (`None`).
    pub fn plaintext_auth(&self) -> Option<bool> {
        let seen: Vec<bool> = self.targets.iter().filter_map(|t| t.probe.report.plaintext_auth).collect();
        (!seen.is_empty()).then(|| seen.contains(&true))
    }

    /// `client_declared_plain`: the configuration the domain's users are given (autoconfig or ISPDB)
    /// declares some endpoint without TLS (`socketType` plain): `true`; it declares only TLS:
    /// `false`; no configuration file was found: `None`.
    pub fn declared_plain(&self) -> Option<bool> {
        let declared: Vec<bool> = self
            .targets
            .iter()
            .filter_map(|t| t.endpoint.declared.as_ref())
            .map(|d| d.socket == crate::client::autoconfig::SocketType::Plain)
            .collect();
        (!declared.is_empty()).then(|| declared.contains(&true))
    }
}

impl DomainScan {
    /// The domain's mail provider: the registrable domain of its primary MX host.
    pub fn mx_provider(&self) -> Option<String> {
        crate::client::mx_provider(self.mx_hosts.iter().map(|m| (m.preference, m.host.as_str())))
    }

    /// The `starttls` summary.
    pub fn starttls(&self) -> StarttlsSummary {
        match self.mx_source {
            MxSource::NullMx | MxSource::None => return StarttlsSummary::NoMx,
            MxSource::Unknown => return StarttlsSummary::DnsFailed,
            MxSource::Excluded => return StarttlsSummary::Excluded,
            MxSource::Explicit | MxSource::Implicit => {}
        }
        match Share::of_known(self.targets.iter().map(mx_encrypts)) {
            Share::All => StarttlsSummary::All,
            Share::Some => StarttlsSummary::Some,
            Share::None => StarttlsSummary::None,
            Share::NotApplicable => {
                let all_skipped = self.targets.iter().all(|t| matches!(t.probe.report.attempt, Attempt::Skipped(_)));
                if all_skipped { StarttlsSummary::NotProbed } else { StarttlsSummary::Unreachable }
            }
        }
    }

    fn sessions(&self) -> impl Iterator<Item = &TlsObservation> {
        self.targets.iter().filter_map(|t| t.probe.report.tls.as_ref())
    }

    /// `tls_cert_valid`: share of TLS sessions whose certificate verdict is `valid`.
    pub fn tls_cert_valid(&self) -> Share {
        Share::of_known(self.sessions().map(|t| Some(t.assessment.verdict == CertVerdict::Valid)))
    }

    /// The lowest TLS version negotiated with any MX address.
    pub fn tls_version_min(&self) -> Option<TlsVersion> {
        self.sessions().map(|t| t.version).min()
    }

    /// `dane`: of the MX addresses with secure, usable TLSA records, how many passed DANE.
    pub fn dane(&self) -> Share {
        Share::of_known(self.targets.iter().map(MxTarget::dane_valid))
    }

    /// `mta_sts_mx_match`: share of the MX hosts matching a pattern of the fetched policy.
    pub fn mta_sts_mx_match(&self) -> Share {
        let hosts: Vec<&str> = self.mx_hosts.iter().map(|m| m.host.as_str()).collect();
        match self.mta_sts.mx_match(&hosts) {
            Some((total, hits)) => Share::of(total, hits),
            None => Share::NotApplicable,
        }
    }

    /// Does MTA-STS protect this domain's mail now: an `enforce` policy, every MX host matching a
    /// pattern, and every TLS session of every MX host in this run with a valid certificate? `None`
    /// without a fetched policy.
    pub fn mta_sts_effective(&self) -> Option<bool> {
        let policy = self.mta_sts.policy.as_ref()?;
        if policy.mode != Mode::Enforce || self.mta_sts_mx_match() != Share::All {
            return Some(false);
        }
        let all_verify = self.mx_hosts.iter().all(|mx| {
            let sessions: Vec<bool> = self
                .targets
                .iter()
                .filter(|t| t.host == mx.host)
                .filter_map(|t| t.probe.report.tls.as_ref())
                .map(|t| t.assessment.verdict == CertVerdict::Valid)
                .collect();
            !sessions.is_empty() && sessions.iter().all(|v| *v)
        });
        Some(all_verify)
    }

    /// Gmail's "?" mark predicted: `true` when the domain has no working SPF policy (none or
    /// permerror) and none of the probed DKIM selectors has a key; `false` when either is present;
    /// `None` when a lookup failed or nothing was queried.
    pub fn gmail_unauthenticated_risk(&self) -> Option<bool> {
        let (spf, dkim) = (self.spf_works().ok().flatten(), self.dkim_works().ok().flatten());
        match (spf, dkim) {
            (Some(true), _) | (_, Some(true)) => Some(false),
            (Some(false), Some(false)) => Some(true),
            _ => None,
        }
    }

    /// Would mail from Gmail to this domain arrive unencrypted (the red padlock)?
    ///
    /// Decided on the most preferred MX host with an address that answered far enough to tell:
    /// `true` if any of its answering addresses has no working STARTTLS, `false` if all encrypt, `None`
    /// when the domain accepts no mail, its lookups failed, no MX answered, or only legacy TLS was seen.
    pub fn gmail_red_lock(&self) -> Option<bool> {
        if !matches!(self.mx_source, MxSource::Explicit | MxSource::Implicit) {
            return None;
        }
        for host in &self.mx_hosts {
            let answers: Vec<Option<bool>> = self
                .targets
                .iter()
                .filter(|t| t.host == host.host && t.preference == host.preference)
                .filter(|t| t.probe.report.smtp.banner.as_ref().is_some_and(|b| b.code == 220))
                .map(mx_encrypts)
                .collect();
            if answers.is_empty() {
                continue;
            }
            if answers.contains(&Some(false)) {
                return Some(true);
            }
            if answers.iter().all(|a| *a == Some(true)) {
                return Some(false);
            }
            return None;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsOutcome, MxEntry, OutcomeKind};
    use crate::domain::normalize;
    use crate::input::Entry;
    use crate::probe::smtp::{ProbeReport, Reply, SmtpObservation};
    use crate::probe::tls::Assessment;
    use crate::probe::{ProbeFailure, SkipReason};
    use crate::scan::result::ProbeFacts;

    fn tls(verdict: CertVerdict, version: TlsVersion) -> TlsObservation {
        TlsObservation {
            version,
            cipher: "X".into(),
            kx_group: None,
            chain_length: 1,
            signature_valid: true,
            assessment: Assessment {
                verdict,
                detail: None,
                name_matches: true,
                expired: false,
                self_signed: false,
                leaf: None,
            },
            chain_digests: Vec::new(),
            leaf_der: None,
        }
    }

    fn banner() -> SmtpObservation {
        SmtpObservation { banner: Some(Reply::new(220, vec!["hi".into()])), ..Default::default() }
    }

    fn target(host: &str, pref: u16, report: ProbeReport) -> MxTarget {
        MxTarget {
            host: host.into(),
            preference: pref,
            a_outcome: OutcomeKind::Found,
            aaaa_outcome: OutcomeKind::NoData,
            address_detail: None,
            ip: Some("192.0.2.1".parse().unwrap()),
            probe: ProbeFacts::skipped(report),
            security: None,
            reverse: None,
        }
    }

    fn ok(v: CertVerdict) -> ProbeReport {
        ProbeReport {
            attempt: Attempt::Done(StartTls::Negotiated),
            smtp: banner(),
            tls: Some(tls(v, TlsVersion::Tls13)),
            duration_ms: 1,
            attempts: 1,
        }
    }
    fn plain() -> ProbeReport {
        ProbeReport {
            attempt: Attempt::Done(StartTls::NotOffered),
            smtp: banner(),
            tls: None,
            duration_ms: 1,
            attempts: 1,
        }
    }
    fn failed(phase: Phase, reason: FailureReason, smtp: SmtpObservation) -> ProbeReport {
        ProbeReport {
            attempt: Attempt::Failed(ProbeFailure::new(phase, reason, "")),
            smtp,
            tls: None,
            duration_ms: 1,
            attempts: 1,
        }
    }

    fn scan(source: MxSource, hosts: &[(&str, u16)], targets: Vec<MxTarget>) -> DomainScan {
        let entry = Entry {
            line: 1,
            domain: normalize("a.example").unwrap(),
            group: None,
            weight: None,
            dkim_selectors: Vec::new(),
            kept: Vec::new(),
        };
        let mut s = DomainScan::excluded(entry, 0);
        s.mx = DnsOutcome::NoData;
        s.mx_source = source;
        s.mx_hosts = hosts.iter().map(|(h, p)| MxEntry { preference: *p, host: h.to_string() }).collect();
        s.targets = targets;
        s
    }

    #[test]
    fn summaries_table() {
        use StarttlsSummary as S;
        let h = &[("mx1", 10), ("mx2", 20)];
        let cases: Vec<(DomainScan, S, Share, Option<bool>)> = vec![
            (
                scan(
                    MxSource::Explicit,
                    h,
                    vec![target("mx1", 10, ok(CertVerdict::Valid)), target("mx2", 20, ok(CertVerdict::Valid))],
                ),
                S::All,
                Share::All,
                Some(false),
            ),
            (
                scan(
                    MxSource::Explicit,
                    h,
                    vec![target("mx1", 10, ok(CertVerdict::Expired)), target("mx2", 20, plain())],
                ),
                S::Some,
                Share::None,
                Some(false),
            ),
            (
                scan(
                    MxSource::Explicit,
                    h,
                    vec![target("mx1", 10, plain()), target("mx2", 20, ok(CertVerdict::Valid))],
                ),
                S::Some,
                Share::All,
                Some(true),
            ),
            // The preferred MX is down: Gmail would use mx2.
            (
                scan(
                    MxSource::Explicit,
                    h,
                    vec![
                        target("mx1", 10, failed(Phase::Connect, FailureReason::Refused, SmtpObservation::default())),
                        target("mx2", 20, plain()),
                    ],
                ),
                S::None,
                Share::NotApplicable,
                Some(true),
            ),
            (
                scan(
                    MxSource::Explicit,
                    h,
                    vec![target("mx1", 10, failed(Phase::StartTls, FailureReason::Rejected, banner()))],
                ),
                S::None,
                Share::NotApplicable,
                Some(true),
            ),
            (
                scan(
                    MxSource::Explicit,
                    h,
                    vec![target("mx1", 10, failed(Phase::Banner, FailureReason::Rejected, SmtpObservation::default()))],
                ),
                S::Unreachable,
                Share::NotApplicable,
                None,
            ),
            (
                scan(
                    MxSource::Explicit,
                    h,
                    vec![target("mx1", 10, ProbeReport::skipped(SkipReason::NonPublicAddress))],
                ),
                S::NotProbed,
                Share::NotApplicable,
                None,
            ),
            (
                scan(
                    MxSource::Explicit,
                    h,
                    vec![target("mx1", 10, failed(Phase::Handshake, FailureReason::LegacyTlsOnly, banner()))],
                ),
                S::Unreachable,
                Share::NotApplicable,
                None,
            ),
            (scan(MxSource::NullMx, &[], vec![]), S::NoMx, Share::NotApplicable, None),
            (scan(MxSource::None, &[], vec![]), S::NoMx, Share::NotApplicable, None),
            (scan(MxSource::Unknown, &[], vec![]), S::DnsFailed, Share::NotApplicable, None),
        ];
        for (i, (s, starttls, cert, red)) in cases.into_iter().enumerate() {
            assert_eq!((s.starttls(), s.tls_cert_valid(), s.gmail_red_lock()), (starttls, cert, red), "case {i}");
        }
    }

    #[test]
    fn tls_version_min_is_lowest() {
        let mut low = ok(CertVerdict::Valid);
        low.tls.as_mut().unwrap().version = TlsVersion::Tls12;
        let s = scan(
            MxSource::Explicit,
            &[("mx1", 10), ("mx2", 20)],
            vec![target("mx1", 10, ok(CertVerdict::Valid)), target("mx2", 20, low)],
        );
        assert_eq!(s.tls_version_min(), Some(TlsVersion::Tls12));
    }

    #[test]
    fn one_rule_for_mx_and_client_ports() {
        let f = |phase, reason| ProbeFailure::new(phase, reason, "");
        let t = tls(CertVerdict::Valid, TlsVersion::Tls13);
        let cases = [
            (Some(&t), None, None, false, Some(true)),
            (None, Some(true), None, false, Some(false)),
            (None, Some(false), None, true, Some(true)),
            // A STARTTLS server that stalls its handshake answered, without working TLS.
            (None, None, Some(f(Phase::Handshake, FailureReason::Timeout)), false, Some(false)),
            // A silent implicit-TLS port never answered: unknown, not "no TLS".
            (None, None, Some(f(Phase::Handshake, FailureReason::Timeout)), true, None),
            (None, None, Some(f(Phase::Handshake, FailureReason::Closed)), true, None),
            // An implicit-TLS port that speaks something else did answer.
            (None, None, Some(f(Phase::Handshake, FailureReason::TlsProtocol)), true, Some(false)),
            // Legacy TLS only is unknown on both kinds of port.
            (None, None, Some(f(Phase::Handshake, FailureReason::LegacyTlsOnly)), true, None),
            (None, None, Some(f(Phase::Handshake, FailureReason::LegacyTlsOnly)), false, None),
            (None, None, Some(f(Phase::Banner, FailureReason::Timeout)), false, None),
        ];
        for (i, (tls, done, failure, implicit, want)) in cases.into_iter().enumerate() {
            assert_eq!(encrypts(tls, done, failure.as_ref(), implicit), want, "case {i}");
        }
    }
}
