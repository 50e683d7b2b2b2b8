//! What the scan found for one domain ([`DomainScan`]): its DNS facts, its policies, one [`MxTarget`]
//! per (MX host, IP) and one [`ClientTarget`] per (client endpoint, IP), each with the probe that
//! judged it and where that probe's facts come from. A `DomainScan` becomes one row of `domains`, and
//! rows of `mx_hosts` and `client_endpoints`; the summary verdicts are in `scan::verdict`.

use std::net::IpAddr;
use std::sync::Arc;

use super::runner::{ProbeSource, Probed};
use crate::client::Endpoint;
use crate::dns::reverse::ReverseDns;
use crate::dns::{DnsFailure, DnsFailureKind, DnsOutcome, DnssecStatus, MxEntry, MxSecurity, OutcomeKind};
use crate::input::Entry;
use crate::policy::bimi::{self, BimiResult};
use crate::policy::dkim::{DkimResult, DkimStatus};
use crate::policy::dmarc::{self, DmarcResult};
use crate::policy::mta_sts::MtaStsResult;
use crate::policy::spf::{self, SpfResult};
use crate::policy::tls_rpt::{self, TlsRptResult};
use crate::policy::{FetchOutcome, PolicyStatus};
use crate::probe::SkipReason;
use crate::probe::client::{ClientReport, Protocol};
use crate::probe::smtp::ProbeReport;

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

/// The probe behind a target row: its report, and where its facts come from.
#[derive(Clone, Debug)]
pub struct ProbeFacts<R> {
    /// The report (possibly shared with other domains).
    pub report: Arc<R>,
    /// Where its facts come from; `None` when the probe was not attempted (skipped).
    pub source: Option<ProbeSource>,
    /// For a shared address: the host whose probe gave the facts.
    pub source_host: Option<String>,
    /// An earlier domain of the run asked for the same target.
    pub cached: bool,
}

impl<R> ProbeFacts<R> {
    /// Facts of a probe that was not attempted.
    pub fn skipped(report: R) -> Self {
        Self { report: Arc::new(report), source: None, source_host: None, cached: false }
    }
}

impl<R> From<Probed<R>> for ProbeFacts<R> {
    fn from(p: Probed<R>) -> Self {
        Self { report: p.report, source: Some(p.source), source_host: p.source_host, cached: p.cached }
    }
}

/// One (MX host, IP) of a domain and what its probe saw.
#[derive(Clone, Debug)]
pub struct MxTarget {
    /// The MX host name (the domain itself for an implicit MX).
    pub host: String,
    /// Its MX preference (0 for an implicit MX).
    pub preference: u16,
    /// The host's A lookup.
    pub a_outcome: OutcomeKind,
    /// The host's AAAA lookup.
    pub aaaa_outcome: OutcomeKind,
    /// The address lookups' failure text, if any failed.
    pub address_detail: Option<String>,
    /// The address probed; `None` when the host has no usable address.
    pub ip: Option<IpAddr>,
    /// The probe.
    pub probe: ProbeFacts<ProbeReport>,
    /// DNSSEC status and TLSA records of the host.
    pub security: Option<Arc<MxSecurity>>,
    /// Reverse DNS of the address; `None` when the address is not probed (skipped).
    pub reverse: Option<Arc<ReverseDns>>,
}

/// One (client endpoint, IP) of a domain and what its probe saw.
#[derive(Clone, Debug)]
pub struct ClientTarget {
    /// The endpoint (protocol, host, port, where it came from).
    pub endpoint: Endpoint,
    /// The endpoint host's A lookup (AAAA when A found nothing).
    pub address_outcome: OutcomeKind,
    /// The address lookups' failure text.
    pub address_detail: Option<String>,
    /// The address probed.
    pub ip: Option<IpAddr>,
    /// The probe.
    pub probe: ProbeFacts<ClientReport>,
}

/// The client-to-server side of a domain: its mail-app endpoints and their probes.
#[derive(Clone, Debug, Default)]
pub struct ClientScan {
    /// Discovery ran (not excluded, `--no-client-probes` not given).
    pub probed: bool,
    /// The domain accepts no mail (null MX, or no MX and no address): nothing was looked for.
    pub no_mail: bool,
    /// Endpoints found (SRV, configurations or guesses), after the per-domain cap.
    pub endpoints: usize,
    /// Protocols whose SRV record says "not offered" (target `.`).
    pub srv_not_offered: Vec<Protocol>,
    /// Some discovery lookup failed (an SRV lookup, a guessed name's lookup, the autoconfig host's
    /// address), so "no endpoint" would not be known.
    pub lookups_failed: bool,
    /// How the autoconfig fetch went, and why it failed.
    pub autoconfig: (FetchOutcome, Option<String>),
    /// The discovery step that gave the endpoints beyond SRV (a configuration or guesses).
    pub config_source: Option<crate::client::Source>,
    /// The provider id of the configuration used (its `emailProvider id`, the ISPDB file's, or
    /// the provider's registrable domain for guesses under it).
    pub provider_id: Option<String>,
    /// One entry per (endpoint, IP).
    pub targets: Vec<ClientTarget>,
}

impl ClientScan {
    /// Nothing was looked up.
    pub fn not_probed() -> Self {
        Self::default()
    }
}

/// Everything found for one domain.
#[derive(Clone, Debug)]
pub struct DomainScan {
    /// The input line.
    pub entry: Entry,
    /// When the domain's scan started, milliseconds since the epoch.
    pub scanned_at_ms: i64,
    /// How long the domain's scan took, waits for busy destinations included, milliseconds.
    pub duration_ms: u32,
    /// The MX lookup.
    pub mx: DnsOutcome<Vec<MxEntry>>,
    /// DNSSEC status of the domain's MX answer.
    pub dnssec: DnssecStatus,
    /// Where the MX hosts come from.
    pub mx_source: MxSource,
    /// The MX hosts in preference order (the domain itself for an implicit MX).
    pub mx_hosts: Vec<MxEntry>,
    /// The TXT lookup at the domain.
    pub spf_txt_outcome: OutcomeKind,
    /// SPF.
    pub spf: SpfResult,
    /// The TXT lookup at `_dmarc.<domain>`.
    pub dmarc_txt_outcome: OutcomeKind,
    /// DMARC.
    pub dmarc: DmarcResult,
    /// DKIM keys found at the probed selectors.
    pub dkim: DkimResult,
    /// MTA-STS.
    pub mta_sts: MtaStsResult,
    /// The TXT lookup at `_smtp._tls.<domain>`.
    pub tls_rpt_txt_outcome: OutcomeKind,
    /// TLS-RPT.
    pub tls_rpt: TlsRptResult,
    /// The client-to-server endpoints.
    pub client: ClientScan,
    /// BIMI: the record, the logo and the mark certificate (boxed: most domains publish none, and a
    /// parked domain carries its scan).
    pub bimi: Box<BimiResult>,
    /// Reverse DNS of the single hosts SPF authorises (see `Evaluation::single_hosts`).
    pub spf_hosts: Vec<(IpAddr, Arc<ReverseDns>)>,
    /// Reverse DNS was looked up for this domain (`--no-ptr` not given, not excluded, not cut short).
    pub ptr_checked: bool,
    /// One entry per (MX host, IP).
    pub targets: Vec<MxTarget>,
    /// Why the domain's scan did not finish normally: its deadline passed (`domain_timeout: ...`), or
    /// a scanner bug hit it (`internal: ...`).
    pub scan_error: Option<String>,
}

impl DomainScan {
    /// A domain on the exclude list: nothing is queried.
    pub fn excluded(entry: Entry, scanned_at_ms: i64) -> Self {
        Self {
            entry,
            scanned_at_ms,
            duration_ms: 0,
            mx: DnsOutcome::NoData,
            dnssec: DnssecStatus::NotChecked,
            mx_source: MxSource::Excluded,
            mx_hosts: Vec::new(),
            spf_txt_outcome: OutcomeKind::NotQueried,
            spf: SpfResult::not_queried(),
            dmarc_txt_outcome: OutcomeKind::NotQueried,
            dmarc: DmarcResult::not_queried(),
            dkim: DkimResult { status: DkimStatus::NotQueried, ..DkimResult::default() },
            mta_sts: MtaStsResult::not_queried(),
            tls_rpt_txt_outcome: OutcomeKind::NotQueried,
            tls_rpt: TlsRptResult::not_queried(),
            client: ClientScan::not_probed(),
            bimi: Box::new(BimiResult::not_queried()),
            spf_hosts: Vec::new(),
            ptr_checked: false,
            targets: Vec::new(),
            scan_error: None,
        }
    }

    /// A domain whose lookups have not finished: every one reads as failed with `failure`, until the
    /// scan fills in what it learns. It is also what is written for what a deadline cut short.
    pub fn unfinished(entry: Entry, scanned_at_ms: i64, failure: DnsFailure) -> Self {
        let failed = || DnsOutcome::<Vec<String>>::Failed(failure.clone());
        let mut mta_sts = MtaStsResult::not_queried();
        mta_sts.txt_outcome = failed().kind();
        mta_sts.status = PolicyStatus::TempError;
        mta_sts.detail = Some(failure.to_string());
        Self {
            entry,
            scanned_at_ms,
            duration_ms: 0,
            mx: DnsOutcome::Failed(failure.clone()),
            dnssec: DnssecStatus::LookupFailed,
            mx_source: MxSource::Unknown,
            mx_hosts: Vec::new(),
            spf_txt_outcome: failed().kind(),
            spf: spf::from_txt(&failed()),
            dmarc_txt_outcome: failed().kind(),
            dmarc: dmarc::from_txt(&failed()),
            dkim: DkimResult { status: DkimStatus::TempError, ..DkimResult::default() },
            mta_sts,
            tls_rpt_txt_outcome: failed().kind(),
            tls_rpt: tls_rpt::from_txt(&failed()),
            client: ClientScan::not_probed(),
            bimi: Box::new(bimi::from_txt(&failed())),
            spf_hosts: Vec::new(),
            ptr_checked: false,
            targets: Vec::new(),
            scan_error: None,
        }
    }

    /// A domain a scanner bug hit: nothing of it is known.
    pub fn failed(entry: Entry, scanned_at_ms: i64, error: String) -> Self {
        let failure = DnsFailure { kind: DnsFailureKind::Other, detail: "not scanned: internal error".into() };
        let mut scan = Self::unfinished(entry, scanned_at_ms, failure);
        scan.dnssec = DnssecStatus::NotChecked;
        scan.scan_error = Some(error);
        scan
    }
}

/// Why an MX host or endpoint is not probed at all: no address, or the lookups failed.
pub fn no_address_reason(a: &DnsOutcome<Vec<IpAddr>>, aaaa: &DnsOutcome<Vec<IpAddr>>) -> SkipReason {
    if a.failure().is_some() || aaaa.failure().is_some() {
        SkipReason::AddressLookupFailed
    } else {
        SkipReason::NoAddress
    }
}
