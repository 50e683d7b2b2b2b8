//! What Gmail (and Yahoo, whose rules are the same in substance) require of senders since February
//! 2024, and what Gmail shows: per domain, a verdict with its reasons for all senders and for bulk
//! senders, and whether Gmail would show the brand's logo with its blue checkmark (BIMI).
//!
//! Only what DNS and the published files show is judged: SPF, the DKIM keys at the probed selectors,
//! DMARC, reverse DNS of the hosts known to send (the MX addresses and SPF's single hosts) and BIMI.
//! What a scan cannot see (which hosts really send, TLS on the sending side, the messages' alignment,
//! one-click unsubscribe, the spam rate) is listed in the README and never guessed. A lookup that
//! failed makes a verdict `unknown`, never `not_ready`, unless something certain already fails it.

use super::result::{DomainScan, MxSource};
use crate::dns::reverse::{Fcrdns, ReverseSummary};
use crate::policy::bimi::{self, BimiStatus, LogoVerdict, MarkVerdict};
use crate::policy::dkim::DkimStatus;
use crate::policy::spf::SpfOutcome;
use crate::policy::{FetchOutcome, PolicyStatus};

crate::labels! {
    /// A readiness or checkmark verdict.
    pub enum Verdict {
        /// Everything the rule needs is there.
        Ready => "ready",
        /// Something the rule needs is certainly missing (the reasons say what).
        NotReady => "not_ready",
        /// Nothing certain is missing, but a lookup or fetch failed, so it is not known.
        Unknown => "unknown",
        /// A check the rule needs was switched off (`--checks`, `--no-*`) or the domain is excluded.
        NotChecked => "not_checked",
    }
}

crate::labels! {
    /// The checkmark verdict, in the words of `gmail_checkmark_predicted`.
    pub enum CheckmarkVerdict {
        /// Gmail would show the logo with its blue checkmark.
        Predicted => "predicted",
        /// Something it needs is certainly missing (the reasons say what).
        NotPredicted => "not_predicted",
        /// Nothing certain is missing, but a lookup or fetch failed, or the chain was not checked.
        Unknown => "unknown",
        /// BIMI or DMARC was not looked up (`--no-bimi`, `--checks`) or the domain is excluded.
        NotChecked => "not_checked",
    }
}

impl From<Verdict> for CheckmarkVerdict {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Ready => Self::Predicted,
            Verdict::NotReady => Self::NotPredicted,
            Verdict::Unknown => Self::Unknown,
            Verdict::NotChecked => Self::NotChecked,
        }
    }
}

crate::labels! {
    /// Why a domain is not ready for Gmail's sender requirements (or not known to be).
    pub enum ReadinessReason {
        /// All senders: neither a working SPF policy nor a DKIM key at the probed selectors.
        NoSpfOrDkim => "no_spf_or_dkim",
        /// Bulk senders: no working SPF policy (none, or a permanent error).
        NoSpf => "no_spf",
        /// Bulk senders: no DKIM key at the probed selectors.
        NoDkim => "no_dkim",
        /// Bulk senders: no DMARC record applies (none, or not valid).
        NoDmarc => "no_dmarc",
        /// A known sending host's address has no PTR record.
        NoPtr => "no_ptr",
        /// A known sending host's PTR names do not resolve back to its address.
        FcrdnsMismatch => "fcrdns_mismatch",
        /// The SPF lookups failed.
        SpfLookupFailed => "spf_lookup_failed",
        /// The DKIM lookups failed.
        DkimLookupFailed => "dkim_lookup_failed",
        /// The DMARC lookups failed.
        DmarcLookupFailed => "dmarc_lookup_failed",
        /// A reverse DNS lookup failed, or the sending hosts are not known (the MX lookups failed).
        PtrLookupFailed => "ptr_lookup_failed",
    }
}

crate::labels! {
    /// What stands between a domain and Gmail's BIMI logo with its blue checkmark.
    pub enum CheckmarkReason {
        /// No BIMI record at `default._bimi.<domain>`.
        NoBimiRecord => "no_bimi_record",
        /// The record declines to show a logo.
        BimiDeclined => "bimi_declined",
        /// The record is not valid (syntax, several records, no logo named).
        BimiInvalid => "bimi_invalid",
        /// DMARC is not at enforcement (quarantine or reject, pct=100, no sp=none).
        DmarcNotEnforced => "dmarc_not_enforced",
        /// The logo could not be fetched (no address, refused, TLS failure, an HTTP error, too large).
        LogoUnavailable => "logo_unavailable",
        /// The logo is not an SVG Tiny PS document (or has scripts, external references, animation).
        LogoNotTinyPs => "logo_not_tiny_ps",
        /// No mark certificate (`a=`): Gmail shows no logo without one.
        NoMarkCertificate => "no_mark_certificate",
        /// The mark certificate could not be fetched.
        CertificateUnavailable => "certificate_unavailable",
        /// The mark certificate is not valid: bad PEM, not a mark certificate, expired, not yet
        /// valid, for another domain, or for another logo.
        CertificateInvalid => "certificate_invalid",
        /// The mark certificate's chain does not lead to a `--bimi-ca-file` root.
        CertificateUntrusted => "certificate_untrusted",
        /// A common mark certificate (prior use or modified mark): Gmail shows the logo, but no
        /// checkmark.
        CommonMarkCertificate => "common_mark_certificate",
        /// The BIMI lookup failed.
        BimiLookupFailed => "bimi_lookup_failed",
        /// The DMARC lookups failed.
        DmarcLookupFailed => "dmarc_lookup_failed",
        /// A fetch failed in a way that may pass (timeout, the host's address lookup failed).
        FetchFailed => "fetch_failed",
        /// No `--bimi-ca-file` was given: the mark certificate's chain is not checked.
        TrustNotChecked => "trust_not_checked",
    }
}

/// A verdict and its reasons (certain ones first, then the unknowns), as labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged<R> {
    /// The verdict.
    pub verdict: Verdict,
    /// Why it is not `ready`.
    pub reasons: Vec<R>,
}

/// Collects certain and unknown reasons, and whether a needed check was off.
struct Tally<R> {
    certain: Vec<R>,
    unknown: Vec<R>,
    off: bool,
}

impl<R: PartialEq> Tally<R> {
    fn new() -> Self {
        Self { certain: Vec::new(), unknown: Vec::new(), off: false }
    }
    fn certain(&mut self, r: R) {
        if !self.certain.contains(&r) {
            self.certain.push(r);
        }
    }
    fn unknown(&mut self, r: R) {
        if !self.unknown.contains(&r) {
            self.unknown.push(r);
        }
    }
    fn judged(self) -> Judged<R> {
        let verdict = if !self.certain.is_empty() {
            Verdict::NotReady
        } else if self.off {
            Verdict::NotChecked
        } else if !self.unknown.is_empty() {
            Verdict::Unknown
        } else {
            Verdict::Ready
        };
        let mut reasons = self.certain;
        reasons.extend(self.unknown);
        Judged { verdict, reasons }
    }
}

/// Some(true) working, Some(false) certainly not, None unknown; `Err(())` not checked.
pub(crate) type Known = Result<Option<bool>, ()>;

impl DomainScan {
    /// Does the domain have a working SPF policy (also behind `gmail_unauthenticated_risk`)?
    pub(crate) fn spf_works(&self) -> Known {
        match self.spf.eval.outcome {
            SpfOutcome::Valid => Ok(Some(true)),
            SpfOutcome::None | SpfOutcome::PermError(_) => Ok(Some(false)),
            SpfOutcome::TempError => Ok(None),
            SpfOutcome::NotQueried => Err(()),
        }
    }

    /// Is there a usable DKIM key at a probed selector?
    pub(crate) fn dkim_works(&self) -> Known {
        match self.dkim.status {
            DkimStatus::Found => Ok(Some(true)),
            DkimStatus::NotFound | DkimStatus::Revoked => Ok(Some(false)),
            DkimStatus::TempError => Ok(None),
            DkimStatus::NotQueried => Err(()),
        }
    }

    /// Reverse DNS of every known sending host: the MX addresses probed and SPF's single hosts.
    pub fn sending_host_verdicts(&self) -> Vec<Fcrdns> {
        let mx = self.targets.iter().filter_map(|t| t.reverse.as_ref()).map(|r| r.fcrdns);
        mx.chain(self.spf_hosts.iter().map(|(_, r)| r.fcrdns)).collect()
    }

    /// The sending hosts are not all known: the MX lookup, or an MX host's address lookup, failed.
    fn sending_hosts_unknown(&self) -> bool {
        self.mx_source == MxSource::Unknown
            || self.targets.iter().any(|t| t.ip.is_none() && (t.a_outcome.failed() || t.aaaa_outcome.failed()))
    }

    /// `ptr_status`: reverse DNS over the known sending hosts; `unknown` rather than `all_match` or
    /// `no_hosts` when some sending hosts are not known (a lookup failed).
    pub fn ptr_summary(&self) -> ReverseSummary {
        let summary = crate::dns::reverse::summarize(&self.sending_host_verdicts(), self.ptr_checked);
        match summary {
            ReverseSummary::AllMatch | ReverseSummary::NoHosts if self.sending_hosts_unknown() => {
                ReverseSummary::Unknown
            }
            other => other,
        }
    }

    /// The distinct addresses of the known sending hosts whose reverse DNS was judged.
    pub fn ptr_addresses_checked(&self) -> usize {
        let mut ips: Vec<std::net::IpAddr> = self
            .targets
            .iter()
            .filter(|t| t.reverse.as_ref().is_some_and(|r| r.fcrdns != Fcrdns::NotQueried))
            .filter_map(|t| t.ip)
            .chain(self.spf_hosts.iter().filter(|(_, r)| r.fcrdns != Fcrdns::NotQueried).map(|(ip, _)| *ip))
            .collect();
        ips.sort();
        ips.dedup();
        ips.len()
    }

    /// Reverse DNS problems, in words (each naming its address), at most a few.
    pub fn ptr_detail(&self) -> Option<String> {
        let mx = self.targets.iter().filter_map(|t| Some((t.ip?, t.reverse.as_ref()?)));
        let spf = self.spf_hosts.iter().map(|(ip, r)| (*ip, r));
        let mut seen = Vec::new();
        let problems: Vec<String> = mx
            .chain(spf)
            .filter(|(ip, r)| {
                let new = !seen.contains(ip);
                seen.push(*ip);
                new && !matches!(r.fcrdns, Fcrdns::Match | Fcrdns::NotQueried)
            })
            .take(4)
            .map(|(ip, r)| r.detail.clone().unwrap_or_else(|| format!("{ip}: {}", r.fcrdns.as_label())))
            .collect();
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// The reverse DNS part of both readiness rules.
    fn judge_ptr(&self, t: &mut Tally<ReadinessReason>) {
        if !self.ptr_checked {
            t.off = true;
            return;
        }
        for v in self.sending_host_verdicts() {
            match v {
                Fcrdns::NoPtr => t.certain(ReadinessReason::NoPtr),
                Fcrdns::Mismatch => t.certain(ReadinessReason::FcrdnsMismatch),
                Fcrdns::LookupFailed => t.unknown(ReadinessReason::PtrLookupFailed),
                Fcrdns::Match | Fcrdns::NotQueried => {}
            }
        }
        // The sending hosts are not known when the MX or their address lookups failed.
        if self.sending_hosts_unknown() {
            t.unknown(ReadinessReason::PtrLookupFailed);
        }
    }

    /// Gmail's requirements for all senders that a scan can see: SPF or DKIM, and reverse DNS of
    /// the sending hosts.
    pub fn gmail_all_senders(&self) -> Judged<ReadinessReason> {
        let mut t = Tally::new();
        if self.mx_source == MxSource::Excluded {
            t.off = true;
            return t.judged();
        }
        match (self.spf_works(), self.dkim_works()) {
            (Ok(Some(true)), _) | (_, Ok(Some(true))) => {}
            (Ok(Some(false)), Ok(Some(false))) => t.certain(ReadinessReason::NoSpfOrDkim),
            (spf, dkim) => {
                t.off |= spf.is_err() || dkim.is_err();
                if spf == Ok(None) {
                    t.unknown(ReadinessReason::SpfLookupFailed);
                }
                if dkim == Ok(None) {
                    t.unknown(ReadinessReason::DkimLookupFailed);
                }
            }
        }
        self.judge_ptr(&mut t);
        t.judged()
    }

    /// Gmail's requirements for bulk senders (5,000 messages a day or more) that a scan can see:
    /// SPF and DKIM, a DMARC record (`p=none` is enough), and reverse DNS of the sending hosts. The
    /// SPF record and DKIM keys are published at the domain itself, which is what DMARC alignment
    /// needs; whether the messages align is not visible from DNS.
    pub fn gmail_bulk_senders(&self) -> Judged<ReadinessReason> {
        let mut t = Tally::new();
        if self.mx_source == MxSource::Excluded {
            t.off = true;
            return t.judged();
        }
        let mut need = |known: Known, missing, failed| match known {
            Ok(Some(true)) => {}
            Ok(Some(false)) => t.certain(missing),
            Ok(None) => t.unknown(failed),
            Err(()) => t.off = true,
        };
        need(self.spf_works(), ReadinessReason::NoSpf, ReadinessReason::SpfLookupFailed);
        need(self.dkim_works(), ReadinessReason::NoDkim, ReadinessReason::DkimLookupFailed);
        let dmarc = match self.dmarc.status {
            PolicyStatus::Valid => Ok(Some(true)),
            PolicyStatus::TempError => Ok(None),
            PolicyStatus::NotQueried => Err(()),
            _ => Ok(Some(false)),
        };
        need(dmarc, ReadinessReason::NoDmarc, ReadinessReason::DmarcLookupFailed);
        self.judge_ptr(&mut t);
        t.judged()
    }

    /// Would Gmail show the brand's logo with its blue checkmark? A valid BIMI record, DMARC at
    /// enforcement, an SVG Tiny PS logo, and a verified mark certificate (VMC) for the domain that
    /// embeds the same logo and chains to a `--bimi-ca-file` root.
    pub fn gmail_checkmark(&self) -> Judged<CheckmarkReason> {
        use CheckmarkReason as R;
        let mut t = Tally::new();
        let b = &self.bimi;
        match b.status {
            BimiStatus::NotQueried => t.off = true,
            BimiStatus::None => t.certain(R::NoBimiRecord),
            BimiStatus::Declined => t.certain(R::BimiDeclined),
            BimiStatus::MultipleRecords | BimiStatus::SyntaxError => t.certain(R::BimiInvalid),
            BimiStatus::TempError => t.unknown(R::BimiLookupFailed),
            BimiStatus::Valid => {}
        }
        match bimi::dmarc_enforced(&self.dmarc) {
            Some(true) => {}
            Some(false) => t.certain(R::DmarcNotEnforced),
            None if self.dmarc.status == PolicyStatus::NotQueried => t.off = true,
            None => t.unknown(R::DmarcLookupFailed),
        }
        if b.status != BimiStatus::Valid {
            return t.judged();
        }
        let fetch = |t: &mut Tally<R>, outcome: FetchOutcome, unavailable: R| match outcome {
            FetchOutcome::Ok => {}
            // Not fetched although due: the domain's deadline cut it short.
            FetchOutcome::NotFetched
            | FetchOutcome::Timeout
            | FetchOutcome::AddressLookupFailed
            | FetchOutcome::Internal => t.unknown(R::FetchFailed),
            _ => t.certain(unavailable),
        };
        fetch(&mut t, b.logo_fetch, R::LogoUnavailable);
        if b.logo.is_some_and(|l| l != LogoVerdict::TinyPs) {
            t.certain(R::LogoNotTinyPs);
        }
        if b.parsed.as_ref().is_some_and(|p| p.authority.is_none()) {
            t.certain(R::NoMarkCertificate);
            return t.judged();
        }
        fetch(&mut t, b.certificate_fetch, R::CertificateUnavailable);
        match b.certificate {
            None | Some(MarkVerdict::Valid) => {}
            Some(MarkVerdict::TrustNotChecked) => t.unknown(R::TrustNotChecked),
            Some(MarkVerdict::Untrusted) => t.certain(R::CertificateUntrusted),
            Some(_) => t.certain(R::CertificateInvalid),
        }
        if b.mark_type.as_deref().is_some_and(|m| {
            m.eq_ignore_ascii_case("Prior Use Mark") || m.eq_ignore_ascii_case("Modified Registered Mark")
        }) {
            t.certain(R::CommonMarkCertificate);
        }
        t.judged()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::dns::reverse::ReverseDns;
    use crate::dns::{DnsFailure, DnsFailureKind, DnsOutcome};
    use crate::input::Entry;
    use crate::policy::bimi::BimiResult;
    use crate::policy::dmarc;
    use crate::policy::spf::PermErrorReason;

    /// A domain with a working SPF policy, a DKIM key, `p=reject` DMARC, one MX address whose
    /// reverse DNS matches, and a valid BIMI setup with a trusted VMC: ready, ready, predicted.
    fn good() -> DomainScan {
        let entry = Entry {
            line: 1,
            domain: crate::domain::normalize("brand.test").unwrap(),
            group: None,
            weight: None,
            dkim_selectors: Vec::new(),
            kept: Vec::new(),
        };
        let mut s = DomainScan::excluded(entry, 0);
        s.mx_source = MxSource::Explicit;
        s.spf.status = PolicyStatus::Valid;
        s.spf.eval.outcome = SpfOutcome::Valid;
        s.dkim.status = DkimStatus::Found;
        s.dmarc = dmarc::from_txt(&DnsOutcome::Found(vec!["v=DMARC1; p=reject".into()]));
        s.ptr_checked = true;
        s.spf_hosts = vec![("192.0.2.1".parse().unwrap(), reverse(Fcrdns::Match))];
        *s.bimi = crate::policy::bimi::from_txt(&DnsOutcome::Found(vec![
            "v=BIMI1; l=https://brand.test/l.svg; a=https://brand.test/vmc.pem".into(),
        ]));
        s.bimi.logo_fetch = FetchOutcome::Ok;
        s.bimi.logo = Some(LogoVerdict::TinyPs);
        s.bimi.certificate_fetch = FetchOutcome::Ok;
        s.bimi.certificate = Some(MarkVerdict::Valid);
        s.bimi.mark_type = Some("Registered Mark".into());
        s
    }

    fn reverse(v: Fcrdns) -> Arc<ReverseDns> {
        Arc::new(ReverseDns { fcrdns: v, name: None, detail: None })
    }

    fn failed() -> DnsOutcome<Vec<String>> {
        DnsOutcome::Failed(DnsFailure { kind: DnsFailureKind::Timeout, detail: "t".into() })
    }

    fn labels<R: crate::label::Label>(j: &Judged<R>) -> (&'static str, Vec<&'static str>) {
        (j.verdict.as_label(), j.reasons.iter().map(|r| r.as_label()).collect())
    }

    #[test]
    fn sender_requirements() {
        type Case =
            (&'static str, fn(&mut DomainScan), (&'static str, Vec<&'static str>), (&'static str, Vec<&'static str>));
        let cases: Vec<Case> = vec![
            ("good", |_| {}, ("ready", vec![]), ("ready", vec![])),
            ("dkim only", |s| s.spf.eval.outcome = SpfOutcome::None, ("ready", vec![]), ("not_ready", vec!["no_spf"])),
            (
                "spf permerror, no dkim",
                |s| {
                    s.spf.eval.outcome = SpfOutcome::PermError(PermErrorReason::TooManyLookups);
                    s.dkim.status = DkimStatus::NotFound;
                },
                ("not_ready", vec!["no_spf_or_dkim"]),
                ("not_ready", vec!["no_spf", "no_dkim"]),
            ),
            (
                "spf failed, no dkim: unknown, never not_ready",
                |s| {
                    s.spf.eval.outcome = SpfOutcome::TempError;
                    s.dkim.status = DkimStatus::NotFound;
                },
                ("unknown", vec!["spf_lookup_failed"]),
                ("not_ready", vec!["no_dkim", "spf_lookup_failed"]),
            ),
            (
                "dkim failed, spf works",
                |s| s.dkim.status = DkimStatus::TempError,
                ("ready", vec![]),
                ("unknown", vec!["dkim_lookup_failed"]),
            ),
            (
                "no dmarc",
                |s| s.dmarc = dmarc::from_txt(&DnsOutcome::NxDomain),
                ("ready", vec![]),
                ("not_ready", vec!["no_dmarc"]),
            ),
            (
                "dmarc failed",
                |s| s.dmarc = dmarc::from_txt(&failed()),
                ("ready", vec![]),
                ("unknown", vec!["dmarc_lookup_failed"]),
            ),
            (
                "p=none is enough for bulk senders",
                |s| s.dmarc = dmarc::from_txt(&DnsOutcome::Found(vec!["v=DMARC1; p=none".into()])),
                ("ready", vec![]),
                ("ready", vec![]),
            ),
            (
                "no ptr",
                |s| s.spf_hosts.push(("192.0.2.2".parse().unwrap(), reverse(Fcrdns::NoPtr))),
                ("not_ready", vec!["no_ptr"]),
                ("not_ready", vec!["no_ptr"]),
            ),
            (
                "fcrdns mismatch and a failed ptr lookup",
                |s| {
                    s.spf_hosts.push(("192.0.2.2".parse().unwrap(), reverse(Fcrdns::Mismatch)));
                    s.spf_hosts.push(("192.0.2.3".parse().unwrap(), reverse(Fcrdns::LookupFailed)));
                },
                ("not_ready", vec!["fcrdns_mismatch", "ptr_lookup_failed"]),
                ("not_ready", vec!["fcrdns_mismatch", "ptr_lookup_failed"]),
            ),
            (
                "ptr lookup failed",
                |s| s.spf_hosts.push(("192.0.2.2".parse().unwrap(), reverse(Fcrdns::LookupFailed))),
                ("unknown", vec!["ptr_lookup_failed"]),
                ("unknown", vec!["ptr_lookup_failed"]),
            ),
            (
                "the mx lookup failed: the sending hosts are not known",
                |s| s.mx_source = MxSource::Unknown,
                ("unknown", vec!["ptr_lookup_failed"]),
                ("unknown", vec!["ptr_lookup_failed"]),
            ),
            ("--no-ptr", |s| s.ptr_checked = false, ("not_checked", vec![]), ("not_checked", vec![])),
            ("--no-dkim", |s| s.dkim.status = DkimStatus::NotQueried, ("ready", vec![]), ("not_checked", vec![])),
            (
                "a certain reason outranks a check switched off",
                |s| {
                    s.dkim.status = DkimStatus::NotQueried;
                    s.dmarc = dmarc::from_txt(&DnsOutcome::NxDomain);
                },
                ("ready", vec![]),
                ("not_ready", vec!["no_dmarc"]),
            ),
            ("excluded", |s| s.mx_source = MxSource::Excluded, ("not_checked", vec![]), ("not_checked", vec![])),
        ];
        for (name, change, all, bulk) in cases {
            let mut s = good();
            change(&mut s);
            assert_eq!(labels(&s.gmail_all_senders()), all, "{name}: all senders");
            assert_eq!(labels(&s.gmail_bulk_senders()), bulk, "{name}: bulk senders");
        }
    }

    #[test]
    fn checkmark() {
        type Case = (&'static str, fn(&mut DomainScan), &'static str, Vec<&'static str>);
        let cases: Vec<Case> = vec![
            ("good", |_| {}, "predicted", vec![]),
            (
                "no record",
                |s| *s.bimi = crate::policy::bimi::from_txt(&DnsOutcome::NoData),
                "not_predicted",
                vec!["no_bimi_record"],
            ),
            (
                "declined",
                |s| *s.bimi = crate::policy::bimi::from_txt(&DnsOutcome::Found(vec!["v=BIMI1; l=;".into()])),
                "not_predicted",
                vec!["bimi_declined"],
            ),
            (
                "invalid",
                |s| *s.bimi = crate::policy::bimi::from_txt(&DnsOutcome::Found(vec!["v=BIMI1; l=http://x/".into()])),
                "not_predicted",
                vec!["bimi_invalid"],
            ),
            (
                "lookup failed",
                |s| *s.bimi = crate::policy::bimi::from_txt(&failed()),
                "unknown",
                vec!["bimi_lookup_failed"],
            ),
            (
                "lookup failed and dmarc p=none",
                |s| {
                    *s.bimi = crate::policy::bimi::from_txt(&failed());
                    s.dmarc = dmarc::from_txt(&DnsOutcome::Found(vec!["v=DMARC1; p=none".into()]));
                },
                "not_predicted",
                vec!["dmarc_not_enforced", "bimi_lookup_failed"],
            ),
            (
                "pct below 100",
                |s| s.dmarc = dmarc::from_txt(&DnsOutcome::Found(vec!["v=DMARC1; p=quarantine; pct=50".into()])),
                "not_predicted",
                vec!["dmarc_not_enforced"],
            ),
            (
                "sp=none",
                |s| s.dmarc = dmarc::from_txt(&DnsOutcome::Found(vec!["v=DMARC1; p=reject; sp=none".into()])),
                "not_predicted",
                vec!["dmarc_not_enforced"],
            ),
            ("dmarc failed", |s| s.dmarc = dmarc::from_txt(&failed()), "unknown", vec!["dmarc_lookup_failed"]),
            (
                "logo refused",
                |s| s.bimi.logo_fetch = FetchOutcome::ConnectFailed,
                "not_predicted",
                vec!["logo_unavailable"],
            ),
            ("logo timeout", |s| s.bimi.logo_fetch = FetchOutcome::Timeout, "unknown", vec!["fetch_failed"]),
            (
                "logo with a script",
                |s| s.bimi.logo = Some(LogoVerdict::Script),
                "not_predicted",
                vec!["logo_not_tiny_ps"],
            ),
            (
                "no a=",
                |s| s.bimi.parsed.as_mut().unwrap().authority = None,
                "not_predicted",
                vec!["no_mark_certificate"],
            ),
            (
                "certificate 404",
                |s| s.bimi.certificate_fetch = FetchOutcome::HttpStatus,
                "not_predicted",
                vec!["certificate_unavailable"],
            ),
            (
                "expired",
                |s| s.bimi.certificate = Some(MarkVerdict::Expired),
                "not_predicted",
                vec!["certificate_invalid"],
            ),
            (
                "untrusted",
                |s| s.bimi.certificate = Some(MarkVerdict::Untrusted),
                "not_predicted",
                vec!["certificate_untrusted"],
            ),
            (
                "no roots",
                |s| s.bimi.certificate = Some(MarkVerdict::TrustNotChecked),
                "unknown",
                vec!["trust_not_checked"],
            ),
            (
                "common mark",
                |s| s.bimi.mark_type = Some("Prior Use Mark".into()),
                "not_predicted",
                vec!["common_mark_certificate"],
            ),
            ("--no-bimi", |s| *s.bimi = BimiResult::not_queried(), "not_checked", vec![]),
        ];
        for (name, change, verdict, reasons) in cases {
            let mut s = good();
            change(&mut s);
            let j = s.gmail_checkmark();
            assert_eq!(
                (
                    CheckmarkVerdict::from(j.verdict).as_label(),
                    j.reasons.iter().map(|r| r.as_label()).collect::<Vec<_>>()
                ),
                (verdict, reasons),
                "{name}"
            );
        }
    }
}
