//! The validated settings of a scan, with every default documented (and repeated in the README).

use std::path::PathBuf;
use std::time::Duration;

use crate::dns::DnsConfig;
use crate::guard::TargetGuard;
use crate::input::{ColumnSpec, InputSource};
use crate::limit::Limits;
use crate::probe::client::Protocol;
use crate::probe::smtp::SmtpConfig;

/// Everything a scan needs to run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScanConfig {
    /// The domain list.
    pub input: InputSource,
    /// Which input columns hold the domain, group and weight.
    pub columns: ColumnSpec,
    /// The output directory (`--out`).
    pub out: PathBuf,
    /// Scan only this shard's domains and rejects (a DNS shard of a sharded scan); `None`: all.
    pub shard: Option<crate::shard::Shard>,
    /// Replace the datasets of an earlier scan in `out` (`--overwrite`, default off).
    pub overwrite: bool,
    /// Continue an interrupted scan in `out`, skipping the domains it wrote (`--resume`, default off).
    pub resume: bool,
    /// After SIGINT/SIGTERM, how long domains in flight may finish (`--shutdown-grace`, default 5 s).
    pub shutdown_grace: Duration,
    /// Resolver settings.
    pub dns: DnsConfig,
    /// SMTP dialogue settings.
    pub smtp: SmtpConfig,
    /// Connection rates and limits, per politeness class.
    pub limits: Limits,
    /// Retries of a probe whose greeting is 421 or another 4xx (`--retries`, default 2).
    pub retries: u32,
    /// Wait before the first retry, doubled for each further one, at most 5 minutes (`--retry-delay`, default 10 s).
    pub retry_delay: Duration,
    /// Domains resolving their DNS at once (`--concurrency`, default 256). A domain waiting for its
    /// probes holds no such slot.
    pub concurrency: usize,
    /// Domains in flight at once, resolving or parked waiting for their probes (`--max-parked`,
    /// default 8,192); beyond it the input waits, so memory stays bounded however long a queue grows.
    pub max_parked: usize,
    /// The time a domain's own lookups may take, all together (`--domain-timeout`, default 120 s); its
    /// connections have their own deadlines, and their turn at a busy destination is not counted.
    pub domain_timeout: Duration,
    /// Extra trusted CA certificates, PEM (`--ca-file`, repeatable).
    pub ca_files: Vec<PathBuf>,
    /// What may be queried and contacted: the exclude list, `--allow-private`, `--ipv6`.
    pub guard: TargetGuard,
    /// MX hosts resolved and probed per domain, in preference order (`--max-mx-per-domain`, default 10).
    pub max_mx_per_domain: usize,
    /// Addresses probed per MX host (`--max-ips-per-mx`, default 8).
    pub max_ips_per_mx: usize,
    /// Rows per Parquet part file (`--rows-per-part`, default 50,000).
    pub rows_per_part: usize,
    /// Show a progress bar when stderr is a terminal (`--no-progress` turns it off).
    pub progress: bool,
    /// Seconds between status lines when stderr is not a terminal (`--status-interval`, default 15).
    pub status_interval: std::time::Duration,
    /// Check before scanning that the resolver's answers validate against the trust anchor
    /// (`--no-preflight` turns it off; only with DNSSEC validation on).
    pub preflight: bool,
    /// Names that must have an MX answer before the scan starts (`--preflight-name`, repeatable;
    /// none by default).
    pub preflight_names: Vec<String>,
    /// Judge the run on its first this many input domains (once all are written) and stop it if its
    /// results cannot be right (`--judge-after`, default 1,000; 0 never stops early).
    pub judge_after: u64,
    /// Evaluate SPF (`--checks`; default on).
    pub spf: bool,
    /// Look up DMARC (`--checks`; default on).
    pub dmarc: bool,
    /// Look up TLS-RPT (`--checks`; default on).
    pub tls_rpt: bool,
    /// Probe DKIM selectors (`--no-dkim` turns it off; default on).
    pub dkim: bool,
    /// How far the DKIM selector search goes (`--dkim-search`, default `first`: stop at the first key).
    pub dkim_search: crate::policy::dkim::DkimSearch,
    /// DKIM selectors probed for every domain, before the input's `dkim_selectors` column
    /// (`--dkim-selectors FILE` replaces them; default [`crate::policy::dkim::DEFAULT_SELECTORS`]).
    pub dkim_selectors: Vec<String>,
    /// Look up and fetch MTA-STS policies (`--no-mta-sts` turns it off; default on).
    pub mta_sts: bool,
    /// Reverse DNS (PTR, then forward) of the MX addresses and of the single hosts SPF authorises
    /// (`--no-ptr` turns it off; default on).
    pub ptr: bool,
    /// Look up BIMI and fetch its logo and mark certificate (`--no-bimi` turns it off; default on).
    pub bimi: bool,
    /// Trust roots of mark certificates (`--bimi-ca-file`, PEM; default none: the chain is then not
    /// checked, and the checkmark verdict is `unknown` at best).
    pub bimi_roots: Option<std::sync::Arc<Vec<rustls::pki_types::CertificateDer<'static>>>>,
    /// HTTPS port of policy fetches (`--https-port`, default 443).
    pub https_port: u16,
    /// Deadline of one policy fetch, connect to last byte (`--https-timeout`, default 10 s).
    pub https_timeout: Duration,
    /// Client-endpoint discovery and probes (submission, IMAP, POP3).
    pub client: ClientSettings,
    /// The command line, for `run.json`.
    pub args: Vec<String>,
    /// Fault injection for tests: the scan of this domain, or a probe of this MX host, panics.
    #[doc(hidden)]
    pub inject_panic: Option<String>,
}

/// The system's host name, used as the default EHLO name.
pub fn default_ehlo_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

impl ScanConfig {
    /// A configuration with every default, reading `input` and writing to `out`.
    pub fn new(input: InputSource, out: PathBuf) -> Self {
        Self {
            input,
            columns: ColumnSpec::default(),
            out,
            shard: None,
            overwrite: false,
            resume: false,
            shutdown_grace: Duration::from_secs(5),
            dns: DnsConfig::default(),
            smtp: SmtpConfig {
                port: 25,
                ehlo_name: default_ehlo_name(),
                connect_timeout: Duration::from_secs(10),
                read_timeout: Duration::from_secs(30),
                probe_timeout: Duration::from_secs(60),
            },
            limits: Limits::default(),
            retries: 2,
            retry_delay: Duration::from_secs(10),
            concurrency: 256,
            max_parked: 8192,
            domain_timeout: Duration::from_secs(120),
            ca_files: Vec::new(),
            guard: TargetGuard::default(),
            max_mx_per_domain: 10,
            max_ips_per_mx: 8,
            rows_per_part: 50_000,
            progress: true,
            status_interval: std::time::Duration::from_secs(15),
            preflight: true,
            preflight_names: Vec::new(),
            judge_after: 1_000,
            spf: true,
            dmarc: true,
            tls_rpt: true,
            dkim: true,
            dkim_search: crate::policy::dkim::DkimSearch::First,
            dkim_selectors: crate::policy::dkim::DEFAULT_SELECTORS.iter().map(|s| s.to_string()).collect(),
            mta_sts: true,
            ptr: true,
            bimi: true,
            bimi_roots: None,
            https_port: 443,
            https_timeout: Duration::from_secs(10),
            client: ClientSettings::default(),
            args: Vec::new(),
            inject_panic: None,
        }
    }
}

crate::labels! {
    /// A group of lookups and probes beyond MX and STARTTLS, each of which `--checks` turns on or off.
    pub enum Check {
        /// SPF, evaluated (TXT at the domain, its includes and redirects).
        Spf => "spf",
        /// DMARC (TXT at `_dmarc.`, the organisational domain, report authorisations).
        Dmarc => "dmarc",
        /// DKIM keys at the probed selectors.
        Dkim => "dkim",
        /// MTA-STS (TXT at `_mta-sts.`, the policy over HTTPS).
        MtaSts => "mta_sts",
        /// TLS-RPT (TXT at `_smtp._tls.`).
        TlsRpt => "tls_rpt",
        /// DNSSEC validation of the MX, MX address and TLSA answers, and DANE.
        Dnssec => "dnssec",
        /// Client endpoints (SRV, autoconfig, guesses) and their probes.
        Client => "client",
        /// Reverse DNS (PTR and forward confirmation) of the MX addresses and SPF's single hosts.
        Ptr => "ptr",
        /// BIMI (TXT at `default._bimi.`, the logo and the mark certificate over HTTPS).
        Bimi => "bimi",
    }
}

impl ScanConfig {
    /// Is `check` on?
    pub fn check(&self, check: Check) -> bool {
        match check {
            Check::Spf => self.spf,
            Check::Dmarc => self.dmarc,
            Check::Dkim => self.dkim,
            Check::MtaSts => self.mta_sts,
            Check::TlsRpt => self.tls_rpt,
            Check::Dnssec => self.dns.dnssec,
            Check::Client => self.client.enabled,
            Check::Ptr => self.ptr,
            Check::Bimi => self.bimi,
        }
    }

    /// Turns `check` on or off.
    pub fn set_check(&mut self, check: Check, on: bool) {
        match check {
            Check::Spf => self.spf = on,
            Check::Dmarc => self.dmarc = on,
            Check::Dkim => self.dkim = on,
            Check::MtaSts => self.mta_sts = on,
            Check::TlsRpt => self.tls_rpt = on,
            Check::Dnssec => self.dns.dnssec = on,
            Check::Client => self.client.enabled = on,
            Check::Ptr => self.ptr = on,
            Check::Bimi => self.bimi = on,
        }
    }

    /// Keeps exactly `checks` on (`--checks`): an empty list is MX and STARTTLS only, the
    /// Transparency Report's own measurement.
    pub fn only_checks(&mut self, checks: &[Check]) {
        for c in Check::ALL {
            self.set_check(*c, checks.contains(c));
        }
    }
}

/// Which client endpoints are looked for and probed.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// Find and probe client endpoints (`--no-client-probes` turns it off; default on).
    pub enabled: bool,
    /// Protocols looked for (`--client-protocols`, default all six).
    pub protocols: Vec<Protocol>,
    /// Ports of guessed endpoints, by protocol (`--client-port PROTO=PORT`; default the standard
    /// ones: 465, 587, 993, 143, 995, 110). SRV and autoconfig endpoints use the port they publish.
    pub ports: Vec<(Protocol, u16)>,
    /// Client endpoints probed per domain, in discovery order (`--max-client-endpoints`, default 16).
    pub max_endpoints: usize,
    /// Addresses probed per client endpoint (`--max-ips-per-endpoint`, default 2).
    pub max_ips_per_endpoint: usize,
    /// The ISP database (default: the snapshot built in; `--ispdb DIR` reads another).
    pub ispdb: std::sync::Arc<crate::client::ispdb::Ispdb>,
    /// Also fetch `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml` when
    /// `autoconfig.<domain>` gave nothing (`--autoconfig-well-known`; default off: a domain's own
    /// address is mostly a shared web host, and a fetch per domain makes it the run's busiest queue).
    pub well_known: bool,
    /// Look for the mail provider's settings through the MX (ISPDB and autoconfig at the provider,
    /// then guesses under it; `--no-client-via-mx` turns it off; default on).
    pub via_mx: bool,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            protocols: Protocol::ALL.to_vec(),
            ports: Protocol::ALL.iter().map(|p| (*p, p.default_port())).collect(),
            max_endpoints: 16,
            max_ips_per_endpoint: 2,
            ispdb: crate::client::ispdb::Ispdb::built_in(),
            well_known: false,
            via_mx: true,
        }
    }
}

impl ClientSettings {
    /// The port guessed endpoints of `protocol` are probed on.
    pub fn port(&self, protocol: Protocol) -> u16 {
        self.ports.iter().find(|(p, _)| *p == protocol).map_or(protocol.default_port(), |(_, port)| *port)
    }
}
