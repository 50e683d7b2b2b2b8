//! What the scan found for one domain, assembled from its DNS lookups and MX probes, and the summary
//! verdicts an analyst filters on (`starttls`, `tls_cert_valid`, `tls_version_min`, `gmail_red_lock`).
//!
//! A [`DomainScan`] becomes one row of `domains` and one row of `mx_hosts` per [`MxTarget`].

use std::net::IpAddr;
use std::sync::Arc;

use crate::dns::{DnsOutcome, DnssecStatus, MxEntry, MxSecurity};
use crate::endpoint::Endpoint;
use crate::input::Entry;
use crate::policy::dane;
use crate::policy::dkim::{DkimResult, DkimStatus};
use crate::policy::dmarc::DmarcResult;
use crate::policy::mta_sts::{Mode, MtaStsResult};
use crate::policy::spf::{SpfOutcome, SpfResult};
use crate::policy::tls_rpt::TlsRptResult;
use crate::probe::client::{ClientReport, Protocol};
use crate::probe::https::FetchOutcome;
use crate::probe::smtp::ProbeReport;
use crate::probe::tls::{CertVerdict, TlsVersion};
use crate::probe::{Attempt, FailureReason, Phase};

crate::labels! {
    /// Where the domain's mail exchangers come from.
    pub enum MxSource {
        /// MX records.
        Explicit => "explicit",
        /// No MX records but A/AAAA at the domain: the domain itself is the MX (RFC 5321 §5.1).
        Implicit => "implicit",
        /// The null MX `0 .` (RFC 7505): the domain accepts no mail.
        NullMx => "null_mx",
        /// No MX and no address (or NXDOMAIN): the domain accepts no mail.
        None => "none",
        /// The lookups failed: unknown.
        Unknown => "unknown",
        /// The domain is on the exclude list: nothing was queried.
        Excluded => "excluded",
    }
}

/// One (MX host, IP) of a domain and what its probe saw.
#[derive(Clone, Debug)]
pub struct MxTarget {
    /// The MX host name (the domain itself for an implicit MX).
    pub host: String,
    /// Its MX preference (0 for an implicit MX).
    pub preference: u16,
    /// The label of the host's A lookup.
    pub a_outcome: &'static str,
    /// The label of the host's AAAA lookup.
    pub aaaa_outcome: &'static str,
    /// The address lookups' failure text, if any failed.
    pub address_detail: Option<String>,
    /// The address probed; `None` when the host has no usable address.
    pub ip: Option<IpAddr>,
    /// The probe (possibly shared with other domains).
    pub probe: Arc<ProbeReport>,
    /// The probe result was shared with an earlier domain.
    pub cached: bool,
    /// DNSSEC status and TLSA records of the host (looked up once per run per host).
    pub security: Option<Arc<MxSecurity>>,
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
        match &self.probe.tls {
            Some(tls) => Some(dane::check(records, &tls.chain_digests, tls.assessment.name_matches)),
            None if matches!(self.probe.attempt, Attempt::Skipped(_)) => None,
            None => Some(false),
        }
    }
}

/// One (client endpoint, IP) of a domain and what its probe saw.
#[derive(Clone, Debug)]
pub struct ClientTarget {
    /// The endpoint (protocol, host, port, where it came from).
    pub endpoint: Endpoint,
    /// The label of the endpoint host's A lookup (AAAA when A found nothing).
    pub address_outcome: &'static str,
    /// The address lookups' failure text.
    pub address_detail: Option<String>,
    /// The address probed.
    pub ip: Option<IpAddr>,
    /// The probe (possibly shared with other domains).
    pub report: Arc<ClientReport>,
    /// The probe result was shared with an earlier domain.
    pub cached: bool,
}

/// The client-to-server side of a domain: its mail-app endpoints and their probes.
#[derive(Clone, Debug, Default)]
pub struct ClientScan {
    /// Discovery ran (not excluded, `--no-client-probes` not given).
    pub probed: bool,
    /// The domain accepts no mail (null MX, or no MX and no address): nothing was looked for.
    pub no_mail: bool,
    /// Endpoints found (SRV, autoconfig or guesses).
    pub endpoints: usize,
    /// Protocols whose SRV record says "not offered" (target `.`).
    pub srv_not_offered: Vec<Protocol>,
    /// Protocols whose SRV lookup failed.
    pub srv_failed: Vec<Protocol>,
    /// How the autoconfig fetch went, and why it failed.
    pub autoconfig: (FetchOutcome, Option<String>),
    /// One entry per (endpoint, IP).
    pub targets: Vec<ClientTarget>,
}

impl ClientScan {
    /// Nothing was looked up.
    pub fn not_probed() -> Self {
        Self::default()
    }

    /// `client_tls`: of the endpoints that answered far enough to tell, how many ended in TLS: `all`,
    /// `some`, `none`; `not_found` (no endpoint found), `unreachable` (none answered), `no_mx` (the
    /// domain accepts no mail), `not_probed`.
    pub fn client_tls(&self) -> &'static str {
        if !self.probed {
            return "not_probed";
        }
        if self.no_mail {
            return "no_mx";
        }
        if self.endpoints == 0 {
            return "not_found";
        }
        let known: Vec<bool> = self.targets.iter().filter_map(|t| t.report.encrypts()).collect();
        match Share::of(known.len(), known.iter().filter(|k| **k).count()) {
            Share::NotApplicable => "unreachable",
            share => share.as_label(),
        }
    }

    /// `client_plaintext_auth`: some plaintext port accepts authentication before TLS (`true`), none
    /// does (`false`), or no plaintext port answered (`None`).
    pub fn plaintext_auth(&self) -> Option<bool> {
        let seen: Vec<bool> = self.targets.iter().filter_map(|t| t.report.plaintext_auth).collect();
        (!seen.is_empty()).then(|| seen.contains(&true))
    }
}

/// Everything found for one domain.
#[derive(Clone, Debug)]
pub struct DomainScan {
    /// The input line.
    pub entry: Entry,
    /// When the domain's scan started, milliseconds since the epoch.
    pub scanned_at_ms: i64,
    /// The MX lookup.
    pub mx: DnsOutcome<Vec<MxEntry>>,
    /// DNSSEC status of the domain's MX answer.
    pub dnssec: DnssecStatus,
    /// Where the MX hosts come from.
    pub mx_source: MxSource,
    /// The MX hosts in preference order (the domain itself for an implicit MX).
    pub mx_hosts: Vec<MxEntry>,
    /// The label of the TXT lookup at the domain.
    pub spf_txt_outcome: &'static str,
    /// SPF.
    pub spf: SpfResult,
    /// The label of the TXT lookup at `_dmarc.<domain>`.
    pub dmarc_txt_outcome: &'static str,
    /// DMARC.
    pub dmarc: DmarcResult,
    /// DKIM keys found at the probed selectors.
    pub dkim: DkimResult,
    /// MTA-STS.
    pub mta_sts: MtaStsResult,
    /// The label of the TXT lookup at `_smtp._tls.<domain>`.
    pub tls_rpt_txt_outcome: &'static str,
    /// TLS-RPT.
    pub tls_rpt: TlsRptResult,
    /// The client-to-server endpoints.
    pub client: ClientScan,
    /// One entry per (MX host, IP).
    pub targets: Vec<MxTarget>,
    /// A scanner bug hit while scanning this domain.
    pub scan_error: Option<String>,
}

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
}

/// Whether one probed address would carry mail encrypted: `Some(true)` TLS worked, `Some(false)` no
/// working STARTTLS, `None` unknown (never answered far enough, or only legacy TLS which we cannot judge).
fn encrypts(t: &MxTarget) -> Option<bool> {
    let p = &t.probe;
    if p.tls.is_some() {
        return Some(true);
    }
    match &p.attempt {
        Attempt::Done(_) => Some(false),
        Attempt::Failed(f) if f.reason == FailureReason::LegacyTlsOnly => None,
        Attempt::Failed(f) if matches!(f.phase, Phase::StartTls | Phase::Handshake | Phase::PostTls) => Some(false),
        _ => None,
    }
}

impl DomainScan {
    /// The `starttls` summary.
    pub fn starttls(&self) -> StarttlsSummary {
        match self.mx_source {
            MxSource::NullMx | MxSource::None => return StarttlsSummary::NoMx,
            MxSource::Unknown => return StarttlsSummary::DnsFailed,
            MxSource::Excluded => return StarttlsSummary::Excluded,
            MxSource::Explicit | MxSource::Implicit => {}
        }
        let known: Vec<bool> = self.targets.iter().filter_map(encrypts).collect();
        if known.is_empty() {
            let all_skipped = self.targets.iter().all(|t| matches!(t.probe.attempt, Attempt::Skipped(_)));
            return if all_skipped { StarttlsSummary::NotProbed } else { StarttlsSummary::Unreachable };
        }
        match Share::of(known.len(), known.iter().filter(|k| **k).count()) {
            Share::All => StarttlsSummary::All,
            Share::Some => StarttlsSummary::Some,
            _ => StarttlsSummary::None,
        }
    }

    /// `tls_cert_valid`: share of TLS sessions whose certificate verdict is `valid`.
    pub fn tls_cert_valid(&self) -> Share {
        let verdicts: Vec<CertVerdict> =
            self.targets.iter().filter_map(|t| t.probe.tls.as_ref()).map(|t| t.assessment.verdict).collect();
        Share::of(verdicts.len(), verdicts.iter().filter(|v| **v == CertVerdict::Valid).count())
    }

    /// The lowest TLS version negotiated with any MX address.
    pub fn tls_version_min(&self) -> Option<TlsVersion> {
        self.targets.iter().filter_map(|t| t.probe.tls.as_ref()).map(|t| t.version).min()
    }

    /// `dane`: of the MX addresses with secure, usable TLSA records, how many passed DANE.
    pub fn dane(&self) -> Share {
        let v: Vec<bool> = self.targets.iter().filter_map(MxTarget::dane_valid).collect();
        Share::of(v.len(), v.iter().filter(|b| **b).count())
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
                .filter_map(|t| t.probe.tls.as_ref())
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
        let spf = match self.spf.eval.outcome {
            SpfOutcome::Valid => Some(true),
            SpfOutcome::None | SpfOutcome::PermError(_) => Some(false),
            SpfOutcome::TempError | SpfOutcome::NotQueried => None,
        };
        let dkim = match self.dkim.status {
            DkimStatus::Found => Some(true),
            DkimStatus::NotFound | DkimStatus::Revoked => Some(false),
            DkimStatus::TempError | DkimStatus::NotQueried => None,
        };
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
                .filter(|t| t.probe.smtp.banner.as_ref().is_some_and(|b| b.code == 220))
                .map(encrypts)
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
    use crate::domain::normalize;
    use crate::policy::{dmarc, spf};
    use crate::probe::smtp::{Reply, SmtpObservation, StartTls};
    use crate::probe::tls::{Assessment, TlsObservation};
    use crate::probe::{ProbeFailure, SkipReason};

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
        }
    }

    fn banner() -> SmtpObservation {
        SmtpObservation { banner: Some(Reply { code: 220, lines: vec!["hi".into()] }), ..Default::default() }
    }

    fn target(host: &str, pref: u16, report: ProbeReport) -> MxTarget {
        MxTarget {
            host: host.into(),
            preference: pref,
            a_outcome: "found",
            aaaa_outcome: "nodata",
            address_detail: None,
            ip: Some("192.0.2.1".parse().unwrap()),
            probe: Arc::new(report),
            cached: false,
            security: None,
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
        DomainScan {
            entry: Entry {
                line: 1,
                domain: normalize("a.example").unwrap(),
                group: None,
                weight: None,
                dkim_selectors: Vec::new(),
            },
            scanned_at_ms: 0,
            mx: DnsOutcome::NoData,
            dnssec: DnssecStatus::NotChecked,
            mx_source: source,
            mx_hosts: hosts.iter().map(|(h, p)| MxEntry { preference: *p, host: h.to_string() }).collect(),
            spf_txt_outcome: "nodata",
            spf: spf::from_txt(&DnsOutcome::NoData),
            dmarc_txt_outcome: "nodata",
            dmarc: dmarc::from_txt(&DnsOutcome::NoData),
            dkim: DkimResult::default(),
            mta_sts: MtaStsResult::not_queried(),
            tls_rpt_txt_outcome: "nodata",
            tls_rpt: crate::policy::tls_rpt::from_txt(&DnsOutcome::NoData),
            client: ClientScan::not_probed(),
            targets,
            scan_error: None,
        }
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
}
