//! DNS lookups through hickory-resolver, with every outcome kept as data.
//!
//! Each lookup returns a [`DnsOutcome`]: the records, NXDOMAIN, NODATA, or a [`DnsFailure`]
//! (SERVFAIL, REFUSED, timeout, other). A failure is never folded into "absent": a timed-out SPF
//! lookup is `timeout`, not "no SPF". One [`Dns`] is shared by the whole run, so its response cache
//! serves every domain (an MX host shared by 10,000 domains is resolved once per TTL).

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
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

impl<T> DnsOutcome<T> {
    /// The snake_case label used in output columns.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Found(_) => "found",
            Self::NxDomain => "nxdomain",
            Self::NoData => "nodata",
            Self::Failed(f) => f.kind.as_label(),
        }
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

/// Why a lookup failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DnsFailureKind {
    /// The server answered SERVFAIL.
    ServFail,
    /// The server answered REFUSED.
    Refused,
    /// No answer within the timeout, after every retry.
    Timeout,
    /// Anything else (FORMERR, NOTIMP, transport errors, malformed answers).
    Other,
}

impl DnsFailureKind {
    /// The snake_case label used in output columns.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::ServFail => "servfail",
            Self::Refused => "refused",
            Self::Timeout => "timeout",
            Self::Other => "error",
        }
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
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self { resolvers: Vec::new(), timeout: Duration::from_secs(5), retries: 1, qps: 500 }
    }
}

/// The A and AAAA lookups of one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAddresses {
    /// The A lookup.
    pub a: DnsOutcome<Vec<IpAddr>>,
    /// The AAAA lookup.
    pub aaaa: DnsOutcome<Vec<IpAddr>>,
}

/// The run's shared DNS client.
pub struct Dns {
    resolver: TokioResolver,
    limiter: DefaultDirectRateLimiter,
    queries: AtomicU64,
    /// MX host addresses, resolved once per run (like the probe cache): grows with distinct MX hosts.
    hosts: Mutex<HashMap<String, Arc<OnceCell<Arc<HostAddresses>>>>>,
}

impl Dns {
    /// Builds the resolver. Fails only when the system configuration cannot be read.
    pub fn new(config: &DnsConfig) -> Result<Self, NetError> {
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
        let qps = NonZeroU32::new(config.qps.max(1)).expect("max(1) is non-zero");
        Ok(Self {
            resolver: builder.build()?,
            limiter: RateLimiter::direct(Quota::per_second(qps)),
            queries: AtomicU64::new(0),
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// How many lookups this client has made (cache hits included).
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    async fn lookup<T>(&self, name: &str, rtype: RecordType, pick: impl Fn(&RData) -> Option<T>) -> DnsOutcome<Vec<T>> {
        self.limiter.until_ready().await;
        self.queries.fetch_add(1, Ordering::Relaxed);
        let fqdn = if name.ends_with('.') { name.to_string() } else { format!("{name}.") };
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

impl crate::policy::spf::SpfDns for Dns {
    async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
        Dns::txt(self, name).await
    }
    async fn ipv4(&self, name: &str) -> DnsOutcome<Vec<IpAddr>> {
        Dns::ipv4(self, name).await
    }
    async fn mx_hosts(&self, name: &str) -> DnsOutcome<Vec<String>> {
        self.mx(name).await.map(|v| v.into_iter().map(|m| m.host).collect())
    }
}

impl crate::policy::dmarc::DmarcDns for Dns {
    async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
        Dns::txt(self, name).await
    }
}

impl crate::policy::dkim::DkimDns for Dns {
    async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
        Dns::txt(self, name).await
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
    fn host_text_strips_root_and_case() {
        assert_eq!(host_text("MX1.Example.COM."), "mx1.example.com");
        assert_eq!(host_text("."), "");
    }
}
