//! DNS lookups, with every outcome kept as data.
//!
//! Each lookup returns a [`DnsOutcome`]: the records, NXDOMAIN, NODATA, or a [`DnsFailure`]
//! (SERVFAIL, REFUSED, timeout, other, excluded). A failure is never folded into "absent": a
//! timed-out SPF lookup is `timeout`, not "no SPF". One [`Dns`] is shared by the whole run: its
//! transport keeps its sockets ([`transport`]), hickory's validator runs over it, and hickory's
//! response cache serves every domain within the records' TTLs (an MX host shared by 10,000 domains
//! is resolved once per TTL), with memory bounded by the cache's size, not by the input.

pub mod reverse;
pub mod transport;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use hickory_resolver::net::dnssec::DnssecDnsHandle;
use hickory_resolver::net::xfer::{DnsHandle, FirstAnswer};
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::dnssec::{Proof, TrustAnchors};
use hickory_resolver::proto::op::{DnsRequestOptions, DnsResponse, Message, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::{ResponseCache, TtlConfig};

use crate::guard::ExcludeList;
use transport::{Transport, TransportConfig, TransportCounts};

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
                DnsFailureKind::Excluded => OutcomeKind::NotQueried,
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
        /// Not asked: the name is on the exclude list.
        Excluded => "excluded",
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
    /// What carries the queries (`--dns-backend`, default the socket-keeping pool).
    pub backend: Backend,
    /// Late retries of a lookup that failed transiently (a timeout after every attempt, or SERVFAIL),
    /// each after a back-off (`--dns-late-retries`, default 2): one lost answer under load is not the record.
    pub late_retries: usize,
    /// The first back-off before a late retry, doubled for each next one (`--dns-late-retry-delay`,
    /// default 2 s).
    pub late_retry_delay: Duration,
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
            backend: Backend::default(),
            late_retries: 2,
            late_retry_delay: Duration::from_secs(2),
        }
    }
}

crate::labels! {
    /// Whether an answer validates (RFC 4035 §4.3), as hickory's validator judges it.
    #[derive(Default)]
    pub enum DnssecStatus {
        /// A chain of signatures from a trust anchor covers the answer.
        Secure => "secure",
        /// The answer is provably in an unsigned zone.
        Insecure => "insecure",
        /// Signatures should be there and do not verify, or are missing.
        Bogus => "bogus",
        /// The validator could not tell (no trust anchor covers the name, unproven negative answer).
        #[default]
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
    /// The DNSSEC status of the A answer (`NotChecked` when not validated).
    pub dnssec: DnssecStatus,
}

impl HostAddresses {
    /// The addresses found, A first.
    pub fn ips(&self) -> Vec<IpAddr> {
        self.a.found().into_iter().chain(self.aaaa.found()).flatten().copied().collect()
    }
}

/// What carries queries and how: see [`transport`].
pub use transport::Backend;

/// Plain answers kept in the response cache (hickory's `ResponseCache`, LRU within TTLs).
const CACHE_ENTRIES: u64 = 32_768;
/// Validated answers kept.
const VALIDATED_CACHE_ENTRIES: u64 = 16_384;
/// CNAME hops followed for one lookup.
const MAX_CNAME_HOPS: usize = 8;

/// What one exchange (or the cache) gave: a message with answers, or the error hickory's handlers
/// speak (`NoRecordsFound` for NXDOMAIN and NODATA, with their authority records).
type Exchanged = Result<Message, NetError>;

/// An exchange in flight, shared by everyone asking the same question meanwhile.
type InFlight = Shared<BoxFuture<'static, Exchanged>>;

/// A lookup's records and the DNSSEC status of the same answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer<T> {
    /// The records (or why there are none).
    pub outcome: DnsOutcome<Vec<T>>,
    /// The DNSSEC status of this answer; `NotChecked` when it was not validated.
    pub dnssec: DnssecStatus,
}

struct Inner {
    transport: Transport,
    /// hickory's validator over the same transport; `None` with `--no-dnssec`.
    validator: Option<DnssecDnsHandle<Transport>>,
    cache: ResponseCache,
    validated: ResponseCache,
    in_flight: Mutex<HashMap<(Query, bool), InFlight>>,
    exclude: ExcludeList,
    lookups: AtomicU64,
    late_retries: usize,
    late_retry_delay: Duration,
    counts: LateRetries,
    /// Names whose own lookup still failed after its late retries, and when: a name under one of them
    /// is not retried late (a dead zone costs one back-off cycle, not one per stage of the domain).
    failing: Mutex<HashMap<String, Instant>>,
}

/// How long a name that kept failing marks its subtree as failing.
const FAILING_FOR: Duration = Duration::from_secs(600);
/// Most names kept as failing (expired ones are dropped first; beyond it, none is added).
const FAILING_NAMES: usize = 65_536;

/// Counters of late retries (written to `run.json`).
#[derive(Debug, Default)]
pub struct LateRetries {
    /// Late retries made.
    pub retries: AtomicU64,
    /// Lookups that failed transiently and then got an answer on a late retry.
    pub recovered: AtomicU64,
    /// The longest lookup with late retries, microseconds: its attempts and the back-offs between
    /// them in a row (part of the run's lower bound).
    pub longest_chain_us: AtomicU64,
}

/// The run's DNS client: the socket-keeping transport ([`transport`]), hickory's DNSSEC validator over
/// it, and hickory's response cache. Each fact is asked once: a validated answer carries both the
/// records (bogus ones included: the validator marks them, and they are recorded) and their status,
/// and concurrent askers of one question share one exchange.
#[derive(Clone)]
pub struct Dns {
    inner: Arc<Inner>,
}

/// What DNSSEC says about one MX host: its address records' status and its TLSA records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxSecurity {
    /// DNSSEC status of the host's A (else AAAA) records.
    pub dnssec: DnssecStatus,
    /// The TLSA lookup.
    pub tlsa: TlsaLookup,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The recursive resolvers of the system configuration (`/etc/resolv.conf`).
fn system_resolvers() -> Result<Vec<SocketAddr>, NetError> {
    let (config, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|e| NetError::from(format!("cannot read the system resolver configuration: {e}")))?;
    let servers: Vec<SocketAddr> = config
        .name_servers()
        .iter()
        .map(|ns| SocketAddr::new(ns.ip, ns.connections.first().map_or(53, |c| c.port)))
        .collect();
    if servers.is_empty() {
        return Err(NetError::from("the system configuration names no resolver; give --resolver".to_string()));
    }
    Ok(servers)
}

/// Did this exchange fail in a way that may pass: no answer after every attempt, or SERVFAIL (an
/// overloaded or briefly broken resolver)? REFUSED and malformed answers are not retried.
fn transient(result: &Exchanged) -> bool {
    let kind = match result {
        Ok(_) => return false,
        Err(NetError::Dns(DnsError::NoRecordsFound(nr))) => match nr.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain => return false,
            code => classify::<()>(&NetError::Dns(DnsError::ResponseCode(code))),
        },
        Err(e) => classify::<()>(e),
    };
    matches!(kind.failure().map(|f| f.kind), Some(DnsFailureKind::Timeout | DnsFailureKind::ServFail))
}

/// Maps a hickory answer (or error) onto what the cache keeps: negative answers as `NoRecordsFound`
/// with their authority records. The validator reports an answer whose proof failed as an `Nsec`
/// error carrying the answer: its records are kept, marked with that proof (bogus data is recorded,
/// and said to be bogus); a negative one becomes `NoRecordsFound` with the proof on its authorities.
fn settle(result: Result<DnsResponse, NetError>) -> Exchanged {
    let mark = |records: Vec<Record>, proof: Proof| -> Vec<Record> {
        records
            .into_iter()
            .map(|mut r| {
                if DnssecStatus::from_proof(proof).weakest(DnssecStatus::from_proof(r.proof))
                    != DnssecStatus::from_proof(r.proof)
                {
                    r.proof = proof;
                }
                r
            })
            .collect()
    };
    match result {
        Ok(response) => DnsError::from_response(response).map(DnsResponse::into_message).map_err(NetError::from),
        Err(NetError::Dns(DnsError::Nsec { query, response, proof, .. })) => {
            let code = response.response_code;
            if !matches!(code, ResponseCode::NoError | ResponseCode::NXDomain) {
                // A failure (SERVFAIL from a validating resolver, REFUSED ...), not an answer to prove.
                return Err(NetError::Dns(DnsError::ResponseCode(code)));
            }
            let negative_ttl = response.negative_ttl();
            let mut message = response.into_message();
            if !message.answers.is_empty() {
                message.answers = mark(std::mem::take(&mut message.answers), proof);
                return Ok(message);
            }
            let authorities = mark(message.authorities, proof);
            let mut nr = NoRecords::new(query, code);
            nr.negative_ttl = negative_ttl;
            nr.authorities = (!authorities.is_empty()).then(|| authorities.into());
            Err(NetError::from(nr))
        }
        Err(e) => Err(e),
    }
}

/// The zones of a trust-anchor file (the owner name of each `DNSKEY` line), or the root without a
/// file.
pub fn anchor_zones(file: Option<&std::path::Path>) -> Result<Vec<String>, String> {
    let Some(path) = file else { return Ok(vec![".".to_string()]) };
    let text = std::fs::read_to_string(path).map_err(|e| format!("trust anchor {}: {e}", path.display()))?;
    let mut zones: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split(';').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        if let Some(owner) = words.next()
            && words.any(|w| w.eq_ignore_ascii_case("DNSKEY"))
            && !zones.iter().any(|z| z.eq_ignore_ascii_case(owner))
        {
            zones.push(owner.to_string());
        }
    }
    Ok(zones)
}

impl Dns {
    /// Builds the client: binds the transport's sockets (on the current tokio runtime) and reads the
    /// trust anchor. `exclude`: names never asked, whoever asks.
    pub fn new(config: &DnsConfig, exclude: ExcludeList) -> Result<Self, NetError> {
        let servers = if config.resolvers.is_empty() { system_resolvers()? } else { config.resolvers.clone() };
        let transport = Transport::new(TransportConfig {
            backend: config.backend,
            servers,
            timeout: config.timeout,
            retries: config.retries,
            qps: config.qps,
            exclude: exclude.clone(),
        })
        .map_err(NetError::from)?;
        let validator = if config.dnssec {
            let anchors = match &config.trust_anchor {
                Some(path) => TrustAnchors::from_file(path)
                    .map_err(|e| NetError::from(format!("trust anchor {}: {e}", path.display())))?,
                None => TrustAnchors::default(),
            };
            Some(DnssecDnsHandle::with_trust_anchor(transport.clone(), Arc::new(anchors)))
        } else {
            None
        };
        Ok(Self {
            inner: Arc::new(Inner {
                transport,
                validator,
                cache: ResponseCache::new(CACHE_ENTRIES, TtlConfig::default()),
                validated: ResponseCache::new(VALIDATED_CACHE_ENTRIES, TtlConfig::default()),
                in_flight: Mutex::new(HashMap::new()),
                exclude,
                lookups: AtomicU64::new(0),
                late_retries: config.late_retries,
                late_retry_delay: config.late_retry_delay,
                counts: LateRetries::default(),
                failing: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Is DNSSEC validated in this run?
    pub fn validates(&self) -> bool {
        self.inner.validator.is_some()
    }

    /// How many lookups were asked (answered from the cache or not).
    pub fn queries(&self) -> u64 {
        self.inner.lookups.load(Ordering::Relaxed)
    }

    /// The transport's counters: queries sent, timeouts, answers dropped, TCP retries.
    pub fn transport_counts(&self) -> &TransportCounts {
        self.inner.transport.counts()
    }

    /// The answer to `query`, from the cache, from an exchange in flight, or from a new exchange; with
    /// `shared` false (a name asked once per run), straight from a new exchange, uncached.
    async fn ask(&self, query: Query, validate: bool, shared: bool) -> Exchanged {
        let inner = &self.inner;
        let validate = validate && inner.validator.is_some();
        if !shared {
            return self.send(query, validate).await;
        }
        let now = Instant::now();
        // A validated answer serves a plain question too: each fact is asked once. Each cache is
        // looked in only when it can hold the answer (a look-up hashes the whole name).
        let cached = if validate {
            inner.validated.get(&query, now)
        } else if inner.validator.is_some() {
            inner.cache.get(&query, now).or_else(|| inner.validated.get(&query, now))
        } else {
            inner.cache.get(&query, now)
        };
        if let Some(hit) = cached {
            return hit;
        }
        let key = (query.clone(), validate);
        let pending = {
            let mut map = lock(&inner.in_flight);
            map.entry(key.clone())
                .or_insert_with(|| {
                    let this = self.clone();
                    async move {
                        let result = this.exchange(query, validate).await;
                        lock(&this.inner.in_flight).remove(&key);
                        result
                    }
                    .boxed()
                    .shared()
                })
                .clone()
        };
        pending.await
    }

    /// One exchange, through the validator or not; the result is cached before it is shared.
    async fn exchange(&self, query: Query, validate: bool) -> Exchanged {
        let result = self.send(query.clone(), validate).await;
        let cache = if validate { &self.inner.validated } else { &self.inner.cache };
        cache.insert(query, result.clone(), Instant::now());
        result
    }

    /// The late-retry counters.
    pub fn late_retry_counts(&self) -> &LateRetries {
        &self.inner.counts
    }

    /// One exchange, through the validator or not; a transient failure is asked again after a
    /// back-off, up to `late_retries` times.
    async fn send(&self, query: Query, validate: bool) -> Exchanged {
        let inner = &self.inner;
        let started = Instant::now();
        let mut result = self.send_once(query.clone(), validate).await;
        if inner.late_retries == 0 || !transient(&result) {
            return result;
        }
        let name = query.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
        if self.under_failing(&name) {
            return result;
        }
        let mut delay = inner.late_retry_delay;
        let chain = |counts: &LateRetries| {
            let us = started.elapsed().as_micros().min(u64::MAX as u128) as u64;
            counts.longest_chain_us.fetch_max(us, Ordering::Relaxed);
        };
        for _ in 0..inner.late_retries {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
            inner.counts.retries.fetch_add(1, Ordering::Relaxed);
            result = self.send_once(query.clone(), validate).await;
            if !transient(&result) {
                inner.counts.recovered.fetch_add(1, Ordering::Relaxed);
                chain(&inner.counts);
                return result;
            }
        }
        chain(&inner.counts);
        let mut failing = lock(&inner.failing);
        let now = Instant::now();
        if failing.len() >= FAILING_NAMES {
            failing.retain(|_, at| now.duration_since(*at) < FAILING_FOR);
        }
        if failing.len() < FAILING_NAMES {
            failing.insert(name, now);
        }
        result
    }

    /// Is `name`, or a name above it, marked as failing (its own lookup failed after late retries)?
    fn under_failing(&self, name: &str) -> bool {
        let failing = lock(&self.inner.failing);
        if failing.is_empty() {
            return false;
        }
        let now = Instant::now();
        let mut rest = name;
        loop {
            if failing.get(rest).is_some_and(|at| now.duration_since(*at) < FAILING_FOR) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') => rest = parent,
                _ => return false,
            }
        }
    }

    async fn send_once(&self, query: Query, validate: bool) -> Exchanged {
        let inner = &self.inner;
        let mut options = DnsRequestOptions::default();
        options.edns_payload_len = 1232;
        let result = match (&inner.validator, validate) {
            (Some(v), true) => v.lookup(query, options).first_answer().await,
            _ => inner.transport.lookup(query, options).first_answer().await,
        };
        settle(result)
    }

    /// The records of type `rtype` at `name` (following CNAMEs), and the DNSSEC status of the answer
    /// when `validate` and validation is on; cached and shared with concurrent askers.
    pub async fn lookup(&self, name: &str, rtype: RecordType, validate: bool) -> Answer<RData> {
        self.lookup_with(name, rtype, validate, true).await
    }

    async fn lookup_with(&self, name: &str, rtype: RecordType, validate: bool, shared: bool) -> Answer<RData> {
        self.inner.lookups.fetch_add(1, Ordering::Relaxed);
        let checked = validate && self.validates();
        let unchecked = |s: DnssecStatus| if checked { s } else { DnssecStatus::NotChecked };
        let failed = |kind, detail: String| Answer {
            outcome: DnsOutcome::Failed(DnsFailure { kind, detail }),
            dnssec: unchecked(DnssecStatus::LookupFailed),
        };
        let fqdn = if name.ends_with('.') { name.to_string() } else { format!("{name}.") };
        let Ok(mut current) = Name::from_ascii(&fqdn) else {
            return failed(DnsFailureKind::Other, format!("{name:?} is not a domain name"));
        };
        let mut status: Option<DnssecStatus> = None;
        let mut weaken = |s: DnssecStatus| status = Some(status.map_or(s, |p| p.weakest(s)));
        for _ in 0..=MAX_CNAME_HOPS {
            if self.inner.exclude.covers_name(&current.to_ascii()) {
                return failed(DnsFailureKind::Excluded, format!("{} is excluded: not queried", current));
            }
            let message = match self.ask(Query::query(current.clone(), rtype), validate, shared).await {
                Ok(m) => m,
                Err(NetError::Dns(DnsError::NoRecordsFound(nr))) => {
                    let proof = nr
                        .authorities
                        .iter()
                        .flat_map(|a| a.iter())
                        .filter(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3 | RecordType::SOA))
                        .map(|r| DnssecStatus::from_proof(r.proof))
                        .reduce(DnssecStatus::weakest)
                        .unwrap_or(DnssecStatus::Indeterminate);
                    weaken(proof);
                    let outcome = match nr.response_code {
                        ResponseCode::NXDomain => DnsOutcome::NxDomain,
                        ResponseCode::NoError => DnsOutcome::NoData,
                        code => classify(&NetError::Dns(DnsError::ResponseCode(code))),
                    };
                    if outcome.failure().is_some() {
                        return Answer { outcome, dnssec: unchecked(DnssecStatus::LookupFailed) };
                    }
                    return Answer { outcome, dnssec: unchecked(status.unwrap_or(DnssecStatus::Indeterminate)) };
                }
                Err(e) => {
                    let outcome = classify(&e);
                    let dnssec = match &outcome {
                        DnsOutcome::Failed(_) => unchecked(DnssecStatus::LookupFailed),
                        _ => unchecked(DnssecStatus::Indeterminate),
                    };
                    return Answer { outcome, dnssec };
                }
            };
            let found: Vec<&Record> = message.answers.iter().filter(|r| r.record_type() == rtype).collect();
            if !found.is_empty() {
                for r in &found {
                    weaken(DnssecStatus::from_proof(r.proof));
                }
                let data = found.into_iter().map(|r| r.data.clone()).collect();
                return Answer { outcome: DnsOutcome::Found(data), dnssec: unchecked(status.unwrap_or_default()) };
            }
            // No record of the type: follow a CNAME chain the resolver did not complete.
            let target = message.answers.iter().rev().find_map(|r| match &r.data {
                RData::CNAME(c) => {
                    weaken(DnssecStatus::from_proof(r.proof));
                    Some(c.0.clone())
                }
                _ => None,
            });
            match target {
                Some(t) => current = t,
                None => return Answer { outcome: DnsOutcome::NoData, dnssec: unchecked(status.unwrap_or_default()) },
            }
        }
        failed(DnsFailureKind::Other, format!("more than {MAX_CNAME_HOPS} CNAMEs from {name}"))
    }

    async fn records<T>(
        &self,
        name: &str,
        rtype: RecordType,
        validate: bool,
        pick: impl Fn(&RData) -> Option<T>,
    ) -> (DnsOutcome<Vec<T>>, DnssecStatus) {
        self.records_with(name, rtype, validate, true, pick).await
    }

    async fn records_with<T>(
        &self,
        name: &str,
        rtype: RecordType,
        validate: bool,
        shared: bool,
        pick: impl Fn(&RData) -> Option<T>,
    ) -> (DnsOutcome<Vec<T>>, DnssecStatus) {
        let a = self.lookup_with(name, rtype, validate, shared).await;
        let outcome = a.outcome.map(|v| v.iter().filter_map(&pick).collect::<Vec<T>>());
        let outcome = match outcome {
            DnsOutcome::Found(v) if v.is_empty() => DnsOutcome::NoData,
            other => other,
        };
        (outcome, a.dnssec)
    }

    /// Checks, before a scan, that the resolver answers: each of `known_names` (`--preflight-name`)
    /// must have an MX answer, and with validation on, the DNSKEY set of each trust-anchor zone (the
    /// root by default, the `--trust-anchor` file's zones otherwise) must come back and validate as
    /// secure. A resolver that answers NXDOMAIN for everything (no internet),
    /// strips signatures, or forges answers fails here, before a single domain is reported bogus.
    /// `Err` says what was seen. Without validation there is nothing to check.
    pub async fn preflight(&self, anchor_zones: &[String], known_names: &[String]) -> Result<(), String> {
        // Names the operator knows have mail (`--preflight-name`): each must have an MX answer.
        for name in known_names {
            let (outcome, _) = self.mx_checked(name).await;
            if outcome.found().is_none_or(Vec::is_empty) {
                return Err(format!("{name}, named with --preflight-name, has no MX answer ({})", outcome.label()));
            }
        }
        if !self.validates() {
            return Ok(());
        }
        for zone in anchor_zones {
            let a = self.lookup(zone, RecordType::DNSKEY, true).await;
            let seen = match (&a.outcome, a.dnssec) {
                (DnsOutcome::Found(_), DnssecStatus::Secure) => continue,
                (DnsOutcome::Found(_), status) => format!("its DNSKEY answer is {}", status.as_label()),
                (outcome, _) => format!("its DNSKEY lookup gave {}", outcome.label()),
            };
            return Err(format!("the trust anchor for zone {zone:?} does not validate through the resolver: {seen}"));
        }
        Ok(())
    }

    /// MX records of `domain`, sorted by preference then host, with the answer's DNSSEC status.
    pub async fn mx_checked(&self, domain: &str) -> (DnsOutcome<Vec<MxEntry>>, DnssecStatus) {
        let (outcome, status) = self
            .records(domain, RecordType::MX, true, |d| match d {
                RData::MX(mx) => Some(MxEntry { preference: mx.preference, host: host_text(&mx.exchange.to_ascii()) }),
                _ => None,
            })
            .await;
        let outcome = outcome.map(|mut v| {
            v.sort();
            v.dedup();
            v
        });
        (outcome, status)
    }

    /// MX records of `domain`, sorted by preference then host.
    pub async fn mx(&self, domain: &str) -> DnsOutcome<Vec<MxEntry>> {
        self.mx_checked(domain).await.0
    }

    /// The same client for the names a domain owns, asked once per run: its TXT records, `_dmarc`,
    /// DKIM selectors, SRV records, `autoconfig.` and guessed hosts. Their answers are not cached and
    /// not shared: nobody else asks, and keeping them would only cost.
    pub fn once(&self) -> Once<'_> {
        Once(self)
    }

    /// TXT records at `name`, each with its character-strings concatenated (as SPF and DMARC read them).
    pub async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
        self.txt_with(name, true).await
    }

    async fn txt_with(&self, name: &str, shared: bool) -> DnsOutcome<Vec<String>> {
        self.records_with(name, RecordType::TXT, false, shared, |d| match d {
            RData::TXT(t) => Some(t.txt_data.iter().map(|s| String::from_utf8_lossy(s)).collect::<String>()),
            _ => None,
        })
        .await
        .0
    }

    /// SRV records at `name` (RFC 2782); a target of `.` is the empty string ("service not offered",
    /// RFC 6186 §4).
    pub async fn srv(&self, name: &str) -> DnsOutcome<Vec<SrvEntry>> {
        self.records_with(name, RecordType::SRV, false, false, |d| match d {
            RData::SRV(s) => Some(SrvEntry {
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                target: host_text(&s.target.to_ascii()),
            }),
            _ => None,
        })
        .await
        .0
        .map(|mut v| {
            v.sort();
            v
        })
    }

    async fn addresses_of(
        &self,
        host: &str,
        rtype: RecordType,
        validate: bool,
    ) -> (DnsOutcome<Vec<IpAddr>>, DnssecStatus) {
        self.addresses_with(host, rtype, validate, true).await
    }

    async fn addresses_with(
        &self,
        host: &str,
        rtype: RecordType,
        validate: bool,
        shared: bool,
    ) -> (DnsOutcome<Vec<IpAddr>>, DnssecStatus) {
        self.records_with(host, rtype, validate, shared, |d| match d {
            RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(*a))),
            RData::AAAA(a) => Some(IpAddr::V6(Ipv6Addr::from(*a))),
            _ => None,
        })
        .await
    }

    /// IPv4 addresses of `host`.
    pub async fn ipv4(&self, host: &str) -> DnsOutcome<Vec<IpAddr>> {
        self.addresses_of(host, RecordType::A, false).await.0
    }

    /// IPv6 addresses of `host`.
    pub async fn ipv6(&self, host: &str) -> DnsOutcome<Vec<IpAddr>> {
        self.addresses_of(host, RecordType::AAAA, false).await.0
    }

    /// A (validated, for the MX host's DNSSEC status) and AAAA of an MX host.
    pub async fn host_addresses(&self, host: &str) -> Arc<HostAddresses> {
        let ((a, dnssec), (aaaa, _)) = tokio::join!(
            self.addresses_of(host, RecordType::A, true),
            self.addresses_of(host, RecordType::AAAA, false)
        );
        Arc::new(HostAddresses { a, aaaa, dnssec })
    }

    /// A and AAAA of a host that is not an MX; AAAA is not asked when A says the name does not exist.
    pub async fn addresses(&self, host: &str) -> HostAddresses {
        self.addresses_shared(host, true).await
    }

    async fn addresses_shared(&self, host: &str, shared: bool) -> HostAddresses {
        let a = self.addresses_with(host, RecordType::A, false, shared).await.0;
        let aaaa = if a == DnsOutcome::NxDomain {
            DnsOutcome::NxDomain
        } else {
            self.addresses_with(host, RecordType::AAAA, false, shared).await.0
        };
        HostAddresses { a, aaaa, dnssec: DnssecStatus::NotChecked }
    }

    /// PTR names of `ip` (lowercase, without the trailing dot).
    pub async fn ptr(&self, ip: IpAddr) -> DnsOutcome<Vec<String>> {
        let name = Name::from(ip).to_ascii();
        self.records(&name, RecordType::PTR, false, |d| match d {
            RData::PTR(p) => Some(host_text(&p.0.to_ascii())),
            _ => None,
        })
        .await
        .0
    }

    /// Reverse DNS of `ip`: its PTR names, then each name forward (A for IPv4, AAAA for IPv6), which
    /// must give the address back (FCrDNS).
    pub async fn reverse(&self, ip: IpAddr) -> reverse::ReverseDns {
        let ptr = self.ptr(ip).await;
        let names: Vec<String> =
            ptr.found().map(|v| v.iter().take(reverse::MAX_PTR_NAMES).cloned().collect()).unwrap_or_default();
        let forward = futures::future::join_all(
            names.iter().map(|n| async move { if ip.is_ipv4() { self.ipv4(n).await } else { self.ipv6(n).await } }),
        )
        .await;
        reverse::judge(ip, &ptr, &forward)
    }

    /// DNSSEC status of an MX host's addresses and its TLSA records at `_25._tcp.<host>`, each from
    /// one validated answer (bogus TLSA records are kept and marked).
    pub async fn mx_security(&self, host: &str) -> Arc<MxSecurity> {
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
        let (addresses, (records, dnssec)) =
            tokio::join!(self.host_addresses(host), self.records(&tlsa_name, RecordType::TLSA, true, pick));
        Arc::new(MxSecurity { dnssec: addresses.dnssec, tlsa: TlsaLookup { records, dnssec } })
    }
}

/// [`Dns`] for the names a domain owns, asked once per run (see [`Dns::once`]).
#[derive(Clone, Copy)]
pub struct Once<'a>(&'a Dns);

impl Once<'_> {
    /// TXT records at `name`, uncached.
    pub async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
        self.0.txt_with(name, false).await
    }

    /// IPv4 addresses of `host`, uncached.
    pub async fn ipv4(&self, host: &str) -> DnsOutcome<Vec<IpAddr>> {
        self.0.addresses_with(host, RecordType::A, false, false).await.0
    }

    /// A and AAAA of `host`, uncached.
    pub async fn addresses(&self, host: &str) -> HostAddresses {
        self.0.addresses_shared(host, false).await
    }
}

impl TxtLookup for Once<'_> {
    async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
        Once::txt(self, name).await
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
        e if transport::is_excluded(e) => failed(DnsFailureKind::Excluded),
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

    #[tokio::test]
    async fn transient_failures_are_retried_late_once_per_failing_subtree() {
        use crate::testkit::dns::{FakeDns, Fault, Zone};
        let mut zone = Zone::new();
        zone.txt("flaky.example", "v=spf1 -all").fault("flaky.example", Fault::ServFailFirst(1));
        zone.fault("dead.example", Fault::ServFail).fault("_dmarc.dead.example", Fault::ServFail);
        zone.fault("refused.example", Fault::Refused);
        let server = FakeDns::spawn("127.9.1.1".parse().unwrap(), zone).await.unwrap();
        let config = DnsConfig {
            resolvers: vec![server.addr()],
            timeout: Duration::from_millis(300),
            retries: 0,
            dnssec: false,
            late_retry_delay: Duration::from_millis(10),
            ..DnsConfig::default()
        };
        let dns = Dns::new(&config, ExcludeList::default()).unwrap();
        let counts = |d: &Dns| {
            let c = d.late_retry_counts();
            (c.retries.load(Ordering::Relaxed), c.recovered.load(Ordering::Relaxed))
        };
        // One SERVFAIL, then the answer: recovered on the first late retry.
        assert!(dns.once().txt("flaky.example").await.found().is_some());
        assert_eq!(counts(&dns), (1, 1));
        // A name that keeps failing: two late retries, then the failure; a name under it fails at once.
        assert_eq!(dns.once().txt("dead.example").await.kind(), OutcomeKind::ServFail);
        assert_eq!(counts(&dns), (3, 1));
        // Its back-offs (10 then 20 ms) are in the run's lower bound.
        let chain = dns.late_retry_counts().longest_chain_us.load(Ordering::Relaxed);
        assert!((30_000..2_000_000).contains(&chain), "{chain} us");
        assert_eq!(dns.once().txt("_dmarc.dead.example").await.kind(), OutcomeKind::ServFail);
        assert_eq!(counts(&dns), (3, 1));
        // REFUSED is an answer of policy, not a passing fault: not retried.
        assert_eq!(dns.once().txt("refused.example").await.kind(), OutcomeKind::Refused);
        assert_eq!(counts(&dns), (3, 1));
        // Off: no late retry.
        let off = Dns::new(&DnsConfig { late_retries: 0, ..config }, ExcludeList::default()).unwrap();
        assert_eq!(off.once().txt("dead.example").await.kind(), OutcomeKind::ServFail);
        assert_eq!(counts(&off), (0, 0));
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
