//! DNS lookups through hickory-resolver, with every outcome kept as data.
//!
//! Each lookup returns a [`DnsOutcome`]: the records, NXDOMAIN, NODATA, or a [`DnsFailure`]
//! (SERVFAIL, REFUSED, timeout, other). A failure is never folded into "absent": a timed-out SPF
//! lookup is `timeout`, not "no SPF". One [`Dns`] is shared by the whole run, so its response cache
//! serves every domain (an MX host shared by 10,000 domains is resolved once per TTL).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::dnssec::{Proof, TrustAnchors};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use tokio::sync::OnceCell;

/// What one DNS lookup came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsOutcome<T> {
    /// The name has records of the type asked for.
    Found(T),
    /// The name does not exist.
    NxDomain,
    /// The name exists but has no records of this type.
    NoData,
    /// The lookup failed: the answer is unknown.
    Failed(DnsFailure),
}

crate::labels! {
    /// The kind of a lookup's outcome, as written in the `*_outcome` columns.
    pub enum OutcomeKind {
        /// Records found.
        Found => "found",
        /// The name does not exist.
        NxDomain => "nxdomain",
        /// The name exists without records of the type.
        NoData => "nodata",
        /// SERVFAIL.
        ServFail => "servfail",
        /// REFUSED.
        Refused => "refused",
        /// No answer in time.
        Timeout => "timeout",
        /// Another failure.
        Error => "error",
        /// Not asked: the name is excluded, the domain's deadline passed before it, or a limit.
        NotQueried => "not_queried",
    }
}

impl OutcomeKind {
    /// Did the lookup fail (the answer is unknown)?
    pub fn failed(self) -> bool {
        matches!(self, Self::ServFail | Self::Refused | Self::Timeout | Self::Error)
    }
}

impl<T> DnsOutcome<T> {
    /// The kind of outcome.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Self::Found(_) => OutcomeKind::Found,
            Self::NxDomain => OutcomeKind::NxDomain,
            Self::NoData => OutcomeKind::NoData,
            Self::Failed(f) => match f.kind {
                DnsFailureKind::ServFail => OutcomeKind::ServFail,
                DnsFailureKind::Refused => OutcomeKind::Refused,
                DnsFailureKind::Timeout => OutcomeKind::Timeout,
                DnsFailureKind::Other => OutcomeKind::Error,
            },
        }
    }

    /// The snake_case label used in output columns.
    pub fn label(&self) -> &'static str {
        self.kind().as_label()
    }

    /// A lookup that did not finish because the domain's deadline passed.
    pub fn deadline() -> Self {
        Self::Failed(DnsFailure { kind: DnsFailureKind::Timeout, detail: DEADLINE_DETAIL.into() })
    }

    /// The records, if found.
    pub fn found(&self) -> Option<&T> {
        match self {
            Self::Found(t) => Some(t),
            _ => None,
        }
    }

    /// The failure detail, if the lookup failed.
    pub fn failure(&self) -> Option<&DnsFailure> {
        match self {
            Self::Failed(f) => Some(f),
            _ => None,
        }
    }

    /// Maps the found value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> DnsOutcome<U> {
        match self {
            Self::Found(t) => DnsOutcome::Found(f(t)),
            Self::NxDomain => DnsOutcome::NxDomain,
            Self::NoData => DnsOutcome::NoData,
            Self::Failed(e) => DnsOutcome::Failed(e),
        }
    }
}

/// The detail of a lookup cut short by the domain's deadline (`--domain-timeout`).
pub const DEADLINE_DETAIL: &str = "not finished before the domain's deadline";

crate::labels! {
    /// Why a lookup failed.
    #[non_exhaustive]
    pub enum DnsFailureKind {
        /// The server answered SERVFAIL.
        ServFail => "servfail",
        /// The server answered REFUSED.
        Refused => "refused",
        /// No answer within the timeout, after every retry.
        Timeout => "timeout",
        /// Anything else (FORMERR, NOTIMP, transport errors, malformed answers).
        Other => "error",
    }
}

/// A failed lookup: its class and the resolver's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsFailure {
    /// The class of failure.
    pub kind: DnsFailureKind,
    /// The resolver's own words, for the `*_detail` columns.
    pub detail: String,
}

impl fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_label(), self.detail)
    }
}

/// One MX record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MxEntry {
    /// MX preference (lower is preferred).
    pub preference: u16,
    /// The exchange host, lowercase ASCII without the trailing dot; empty for the null MX (`.`).
    pub host: String,
}

/// One SRV record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SrvEntry {
    /// Priority (lower first).
    pub priority: u16,
    /// Weight among equal priorities.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target host, lowercase, no trailing dot; empty for `.`.
    pub target: String,
}

/// Resolver settings.
#[derive(Clone, Debug)]
pub struct DnsConfig {
    /// Recursive resolvers to ask (`--resolver`); empty means the system configuration.
    pub resolvers: Vec<SocketAddr>,
    /// Timeout of one query attempt (`--dns-timeout`, default 5 s).
    pub timeout: Duration,
    /// Retries after the first attempt (`--dns-retries`, default 1); a timeout takes `timeout × (retries+1)`.
    pub retries: usize,
    /// Queries per second, over the whole run (`--dns-qps`, default 500).
    pub qps: u32,
    /// Validate DNSSEC for the domain, MX hosts and TLSA records (`--no-dnssec` turns it off; default on).
    pub dnssec: bool,
    /// DNSKEY trust anchors in zone-file form (`--trust-anchor FILE`; default: the IANA root KSKs).
    pub trust_anchor: Option<PathBuf>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            resolvers: Vec::new(),
            timeout: Duration::from_secs(5),
            retries: 1,
            qps: 500,
            dnssec: true,
            trust_anchor: None,
        }
    }
}

crate::labels! {
    /// Whether an answer validates (RFC 4035 §4.3), as hickory's validator judges it.
    pub enum DnssecStatus {
        /// A chain of signatures from a trust anchor covers the answer.
        Secure => "secure",
        /// The answer is provably in an unsigned zone.
        Insecure => "insecure",
        /// Signatures should be there and do not verify, or are missing.
        Bogus => "bogus",
        /// The validator could not tell (no trust anchor covers the name, unproven negative answer).
        Indeterminate => "indeterminate",
        /// The validating lookup itself failed (timeout, SERVFAIL ...).
        LookupFailed => "lookup_failed",
        /// Validation is off (`--no-dnssec`) or nothing was queried.
        NotChecked => "not_checked",
    }
}

impl DnssecStatus {
    fn from_proof(p: Proof) -> Self {
        match p {
            Proof::Secure => Self::Secure,
            Proof::Insecure => Self::Insecure,
            Proof::Bogus => Self::Bogus,
            _ => Self::Indeterminate,
        }
    }

    /// The weaker of two statuses (bogus < indeterminate < insecure < secure).
    fn weakest(self, other: Self) -> Self {
        let rank = |s: Self| match s {
            Self::Bogus => 0,
            Self::LookupFailed => 1,
            Self::Indeterminate => 2,
            Self::Insecure => 3,
            Self::Secure => 4,
            Self::NotChecked => 5,
        };
        if rank(other) < rank(self) { other } else { self }
    }
}

/// One TLSA record (RFC 6698).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlsa {
    /// Certificate usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE.
    pub usage: u8,
    /// Selector: 0 full certificate, 1 SubjectPublicKeyInfo.
    pub selector: u8,
    /// Matching type: 0 exact, 1 SHA-256, 2 SHA-512.
    pub matching: u8,
    /// The association data.
    pub data: Vec<u8>,
}

impl fmt::Display for Tlsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} ", self.usage, self.selector, self.matching)?;
        self.data.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The TLSA lookup of an MX host and its validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsaLookup {
    /// The records at `_25._tcp.<host>`.
    pub records: DnsOutcome<Vec<Tlsa>>,
    /// Their DNSSEC status.
    pub dnssec: DnssecStatus,
}

/// The A and AAAA lookups of one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAddresses {
    /// The A lookup.
    pub a: DnsOutcome<Vec<IpAddr>>,
    /// The AAAA lookup.
    pub aaaa: DnsOutcome<Vec<IpAddr>>,
}

impl HostAddresses {
    /// The addresses found, A first.
    pub fn ips(&self) -> Vec<IpAddr> {
        self.a.found().into_iter().chain(self.aaaa.found()).flatten().copied().collect()
    }
}

/// The run's shared DNS client.
pub struct Dns {
    resolver: TokioResolver,
    limiter: DefaultDirectRateLimiter,
    queries: AtomicU64,
    /// MX host addresses, resolved once per run (like the probe cache): grows with distinct MX hosts.
    hosts: Mutex<HashMap<String, Arc<OnceCell<Arc<HostAddresses>>>>>,
    /// A second, validating resolver (the first one must return bogus data too, to record it).
    validator: Option<TokioResolver>,
    /// DNSSEC status and TLSA of MX hosts, once per run per host.
    mx_security: Mutex<HashMap<String, Arc<OnceCell<Arc<MxSecurity>>>>>,
}

/// What DNSSEC says about one MX host: its address records' status and its TLSA records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxSecurity {
    /// DNSSEC status of the host's A (else AAAA) records.
    pub dnssec: DnssecStatus,
    /// The TLSA lookup.
    pub tlsa: TlsaLookup,
}

impl Dns {
    /// Builds the resolver. Fails only when the system configuration cannot be read.
    pub fn new(config: &DnsConfig) -> Result<Self, NetError> {
        let validator = if config.dnssec {
            let anchors = match &config.trust_anchor {
                Some(path) => TrustAnchors::from_file(path)
                    .map_err(|e| NetError::from(format!("trust anchor {}: {e}", path.display())))?,
                None => TrustAnchors::default(),
            };
            Some(Self::resolver(config)?.with_trust_anchor(Arc::new(anchors)).build()?)
        } else {
            None
        };
        Ok(Self {
            resolver: Self::resolver(config)?.build()?,
            limiter: RateLimiter::direct(Quota::per_second(
                NonZeroU32::new(config.qps.max(1)).expect("max(1) is non-zero"),
            )),
            queries: AtomicU64::new(0),
            hosts: Mutex::new(HashMap::new()),
            validator,
            mx_security: Mutex::new(HashMap::new()),
        })
    }

    fn resolver(config: &DnsConfig) -> Result<hickory_resolver::ResolverBuilder<TokioRuntimeProvider>, NetError> {
        let mut builder = if config.resolvers.is_empty() {
            TokioResolver::builder_tokio()?
        } else {
            let servers = config
                .resolvers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            Resolver::builder_with_config(ResolverConfig::from_name_servers(servers), TokioRuntimeProvider::default())
        };
        let opts = builder.options_mut();
        opts.timeout = config.timeout;
        opts.attempts = config.retries;
        opts.cache_size = 65_536;
        opts.ndots = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.num_concurrent_reqs = 1;
        opts.preserve_intermediates = true;
        Ok(builder)
    }

    /// Is DNSSEC validated in this run?
    pub fn validates(&self) -> bool {
        self.validator.is_some()
    }

    /// The DNSSEC status of the `rtype` answer at `name` (weakest record wins); `NotChecked` when
    /// validation is off.
    pub async fn dnssec(&self, name: &str, rtype: RecordType) -> DnssecStatus {
        self.validated(name, rtype).await.1
    }

    async fn validated(&self, name: &str, rtype: RecordType) -> (DnsOutcome<Vec<RData>>, DnssecStatus) {
        let Some(validator) = &self.validator else {
            return (
                DnsOutcome::Failed(DnsFailure { kind: DnsFailureKind::Other, detail: "not validated".into() }),
                DnssecStatus::NotChecked,
            );
        };
        let fqdn = self.admit(name).await;
        match validator.lookup(fqdn.as_str(), rtype).await {
            Ok(lookup) => {
                let mut status = None::<DnssecStatus>;
                let mut found = Vec::new();
                for r in lookup.answers().iter().filter(|r| r.record_type() == rtype) {
                    let s = DnssecStatus::from_proof(r.proof);
                    status = Some(status.map_or(s, |prev| prev.weakest(s)));
                    found.push(r.data.clone());
                }
                let outcome = if found.is_empty() { DnsOutcome::NoData } else { DnsOutcome::Found(found) };
                (outcome, status.unwrap_or(DnssecStatus::Indeterminate))
            }
            Err(NetError::Dns(DnsError::DnssecBogus)) => (
                DnsOutcome::Failed(DnsFailure { kind: DnsFailureKind::Other, detail: "DNSSEC bogus".into() }),
                DnssecStatus::Bogus,
            ),
            Err(NetError::Dns(DnsError::Nsec { proof, .. })) => (DnsOutcome::NoData, DnssecStatus::from_proof(proof)),
            // A negative answer that validated: its proof is on the authority records (NSEC/NSEC3, SOA).
            Err(NetError::Dns(DnsError::NoRecordsFound(nr))) if nr.authorities.is_some() => {
                let status = nr
                    .authorities
                    .iter()
                    .flat_map(|a| a.iter())
                    .filter(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3 | RecordType::SOA))
                    .map(|r| DnssecStatus::from_proof(r.proof))
                    .reduce(DnssecStatus::weakest)
                    .unwrap_or(DnssecStatus::Indeterminate);
                let outcome =
                    if nr.response_code == ResponseCode::NXDomain { DnsOutcome::NxDomain } else { DnsOutcome::NoData };
                (outcome, status)
            }
            Err(e) => {
                let outcome = classify(&e);
                let status =
                    if outcome.failure().is_some() { DnssecStatus::LookupFailed } else { DnssecStatus::Indeterminate };
                (outcome, status)
            }
        }
    }

    /// DNSSEC status of an MX host's addresses and its TLSA records at `_25._tcp.<host>`, once per run.
    pub async fn mx_security(&self, host: &str) -> Arc<MxSecurity> {
        let cell = {
            let mut map = self.mx_security.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(host.to_string()).or_default().clone()
        };
        cell.get_or_init(|| async {
            let tlsa_name = format!("_25._tcp.{host}");
            let pick = |d: &RData| match d {
                RData::TLSA(t) => Some(Tlsa {
                    usage: u8::from(t.cert_usage),
                    selector: u8::from(t.selector),
                    matching: u8::from(t.matching),
                    data: t.cert_data.clone(),
                }),
                _ => None,
            };
            let (dnssec, tlsa) = if self.validates() {
                let ((_, a), (records, t)) =
                    tokio::join!(self.validated(host, RecordType::A), self.validated(&tlsa_name, RecordType::TLSA));
                let records = records.map(|v| v.iter().filter_map(pick).collect::<Vec<_>>());
                let records = match records {
                    DnsOutcome::Found(v) if v.is_empty() => DnsOutcome::NoData,
                    other => other,
                };
                // A bogus TLSA answer is withheld by the validator; ask again without validation to record it.
                let records = if t == DnssecStatus::Bogus {
                    self.lookup(&tlsa_name, RecordType::TLSA, pick).await
                } else {
                    records
                };
                (a, TlsaLookup { records, dnssec: t })
            } else {
                let records = self.lookup(&tlsa_name, RecordType::TLSA, pick).await;
                (DnssecStatus::NotChecked, TlsaLookup { records, dnssec: DnssecStatus::NotChecked })
            };
            Arc::new(MxSecurity { dnssec, tlsa })
        })
        .await
        .clone()
    }

    /// How many lookups this client has made (cache hits included).
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Waits for the run's query rate, counts the query, and returns `name` as an FQDN (so that no
    /// search list applies).
    async fn admit(&self, name: &str) -> String {
        self.limiter.until_ready().await;
        self.queries.fetch_add(1, Ordering::Relaxed);
        if name.ends_with('.') { name.to_string() } else { format!("{name}.") }
    }

    async fn lookup<T>(&self, name: &str, rtype: RecordType, pick: impl Fn(&RData) -> Option<T>) -> DnsOutcome<Vec<T>> {
        let fqdn = self.admit(name).await;
        match self.resolver.lookup(fqdn.as_str(), rtype).await {
            Ok(lookup) => {
                let found: Vec<T> = lookup.answers().iter().filter_map(|r| pick(&r.data)).collect();
                if found.is_empty() { DnsOutcome::NoData } else { DnsOutcome::Found(found) }
            }
            Err(e) => classify(&e),
        }
    }

    /// MX records of `domain`, sorted by preference then host.
    pub async fn mx(&self, domain: &str) -> DnsOutcome<Vec<MxEntry>> {
        self.lookup(domain, RecordType::MX, |d| match d {
            RData::MX(mx) => Some(MxEntry { preference: mx.preference, host: host_text(&mx.exchange.to_ascii()) }),
            _ => None,
        })
        .await
        .map(|mut v| {
            v.sort();
            v.dedup();
            v
        })
    }

    /// TXT records at `name`, each with its character-strings concatenated (as SPF and DMARC read them).
    pub async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
        self.lookup(name, RecordType::TXT, |d| match d {
            RData::TXT(t) => Some(t.txt_data.iter().map(|s| String::from_utf8_lossy(s)).collect::<String>()),
            _ => None,
        })
        .await
    }

    /// SRV records at `name` (RFC 2782): (priority, weight, port, target); a target of `.` is the
    /// empty string ("service not offered", RFC 6186 §4).
    pub async fn srv(&self, name: &str) -> DnsOutcome<Vec<SrvEntry>> {
        self.lookup(name, RecordType::SRV, |d| match d {
            RData::SRV(s) => Some(SrvEntry {
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                target: host_text(&s.target.to_ascii()),
            }),
            _ => None,
        })
        .await
        .map(|mut v| {
            v.sort();
            v
        })
    }

    /// A and AAAA of an MX host, looked up once per run however many domains share the host.
    pub async fn host_addresses(&self, host: &str) -> Arc<HostAddresses> {
        let cell = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts.entry(host.to_string()).or_default().clone()
        };
        cell.get_or_init(|| async {
            let (a, aaaa) = tokio::join!(self.ipv4(host), self.ipv6(host));
            Arc::new(HostAddresses { a, aaaa })
        })
        .await
        .clone()
    }

    /// A and AAAA of a host that is not an MX (not kept for the run: such hosts are mostly one per
    /// domain); AAAA is not asked when A says the name does not exist.
    pub async fn addresses(&self, host: &str) -> HostAddresses {
        let a = self.ipv4(host).await;
        let aaaa = if a == DnsOutcome::NxDomain { DnsOutcome::NxDomain } else { self.ipv6(host).await };
        HostAddresses { a, aaaa }
    }

    /// IPv4 addresses of `host`.
    pub async fn ipv4(&self, host: &str) -> DnsOutcome<Vec<IpAddr>> {
        self.lookup(host, RecordType::A, |d| match d {
            RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(*a))),
            _ => None,
        })
        .await
    }

    /// IPv6 addresses of `host`.
    pub async fn ipv6(&self, host: &str) -> DnsOutcome<Vec<IpAddr>> {
        self.lookup(host, RecordType::AAAA, |d| match d {
            RData::AAAA(a) => Some(IpAddr::V6(Ipv6Addr::from(*a))),
            _ => None,
        })
        .await
    }
}

/// The TXT lookups the policy checks make beyond the first (SPF includes, the organisational
/// domain's DMARC record, report authorisations, DKIM selectors); implemented by the run's resolver
/// and by test tables.
pub trait TxtLookup: Sync {
    /// TXT records at `name`, each with its character-strings concatenated.
    fn txt(&self, name: &str) -> impl Future<Output = DnsOutcome<Vec<String>>> + Send;
}

/// The DNS lookups SPF evaluation needs besides TXT; implemented by the run's resolver and by test tables.
pub trait SpfDns: TxtLookup {
    /// IPv4 addresses of `name`.
    fn ipv4(&self, name: &str) -> impl Future<Output = DnsOutcome<Vec<IpAddr>>> + Send;
    /// MX hosts of `name` (empty string for the null MX).
    fn mx_hosts(&self, name: &str) -> impl Future<Output = DnsOutcome<Vec<String>>> + Send;
}

impl TxtLookup for Dns {
    async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
        Dns::txt(self, name).await
    }
}

impl SpfDns for Dns {
    async fn ipv4(&self, name: &str) -> DnsOutcome<Vec<IpAddr>> {
        Dns::ipv4(self, name).await
    }
    async fn mx_hosts(&self, name: &str) -> DnsOutcome<Vec<String>> {
        self.mx(name).await.map(|v| v.into_iter().map(|m| m.host).collect())
    }
}

/// Lowercase ASCII host name without the trailing dot (`.` becomes the empty string).
fn host_text(ascii: &str) -> String {
    ascii.trim_end_matches('.').to_ascii_lowercase()
}

/// Maps a resolver error onto the closed outcome vocabulary.
pub fn classify<T>(e: &NetError) -> DnsOutcome<T> {
    let failed = |kind| DnsOutcome::Failed(DnsFailure { kind, detail: e.to_string() });
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => match nr.response_code {
            ResponseCode::NXDomain => DnsOutcome::NxDomain,
            ResponseCode::NoError => DnsOutcome::NoData,
            _ => failed(DnsFailureKind::Other),
        },
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => failed(DnsFailureKind::ServFail),
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => failed(DnsFailureKind::Refused),
        NetError::Dns(DnsError::ResponseCode(ResponseCode::NXDomain)) => DnsOutcome::NxDomain,
        NetError::Timeout => failed(DnsFailureKind::Timeout),
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => failed(DnsFailureKind::Timeout),
        _ => failed(DnsFailureKind::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::net::NoRecords;
    use hickory_resolver::proto::op::Query;
    use hickory_resolver::proto::rr::Name;

    fn no_records(code: ResponseCode) -> NetError {
        let q = Query::query(Name::from_ascii("a.example.").unwrap(), RecordType::MX);
        NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(q, code)))
    }

    #[test]
    fn classify_table() {
        let cases: Vec<(NetError, &str)> = vec![
            (no_records(ResponseCode::NXDomain), "nxdomain"),
            (no_records(ResponseCode::NoError), "nodata"),
            (NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)), "servfail"),
            (NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)), "refused"),
            (NetError::Dns(DnsError::ResponseCode(ResponseCode::FormErr)), "error"),
            (NetError::Timeout, "timeout"),
            (NetError::NoConnections, "error"),
        ];
        for (err, want) in cases {
            assert_eq!(classify::<()>(&err).label(), want, "{err:?}");
        }
    }

    #[test]
    fn weakest_dnssec_status_wins() {
        use DnssecStatus as S;
        let cases = [
            (S::Secure, S::Secure, S::Secure),
            (S::Secure, S::Insecure, S::Insecure),
            (S::Insecure, S::Bogus, S::Bogus),
            (S::Indeterminate, S::Secure, S::Indeterminate),
            (S::Bogus, S::Secure, S::Bogus),
        ];
        for (a, b, want) in cases {
            assert_eq!((a.weakest(b), b.weakest(a)), (want, want), "{a:?} {b:?}");
        }
        assert_eq!(DnssecStatus::from_proof(Proof::Secure), S::Secure);
        assert_eq!(DnssecStatus::from_proof(Proof::Bogus), S::Bogus);
    }

    #[test]
    fn tlsa_renders_as_presentation_format() {
        let t = Tlsa { usage: 3, selector: 1, matching: 1, data: vec![0xab, 0x01] };
        assert_eq!(t.to_string(), "3 1 1 ab01");
    }

    #[test]
    fn host_text_strips_root_and_case() {
        assert_eq!(host_text("MX1.Example.COM."), "mx1.example.com");
        assert_eq!(host_text("."), "");
    }
}
