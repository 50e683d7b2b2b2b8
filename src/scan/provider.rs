//! What a mail provider tells mail apps, found once per run per provider (the registrable domain of
//! its customers' primary MX host), however many domains it serves: the ISP database by the
//! provider, else the autoconfig file at `autoconfig.<provider>`, else the conventional names under
//! the provider that resolve (guesses). Domains of that provider that publish nothing themselves
//! reach their endpoints this way, as Thunderbird's users do.
//!
//! The work runs in the probe stage (the asking domain holds no resolve slot while it waits; the
//! lookups and the fetch go through the run's DNS limits and the probe runner like any other). The
//! table is bounded: past [`MAX_PROVIDERS`] providers it is cleared, and a provider is looked up again.
//!
//! The same once-per-run table ([`OnceTable`]) keeps the run's MX hosts resolved ([`mx_hosts`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::Engine;
use super::targets::{self, Resolved};
use crate::client::autoconfig::{self, Declared, SocketType};
use crate::client::{self, Source};
use crate::policy::FetchOutcome;

/// Providers remembered at once.
pub const MAX_PROVIDERS: usize = 65_536;

/// What was found for one provider.
#[derive(Debug, Default)]
pub(crate) struct ProviderClients {
    /// Which step found the servers: `ispdb_mx`, `autoconfig_mx` or `guess_mx`; `None` for nothing.
    pub source: Option<Source>,
    /// The provider's id in the ISP database or its autoconfig file.
    pub id: Option<String>,
    /// The servers (for guesses: the names that resolve, with the socket type of their protocol).
    pub servers: Vec<Declared>,
    /// Some lookup on the way failed, so "nothing found" is not known.
    pub failed: bool,
    /// The servers' hosts (those without `%EMAILDOMAIN%`), resolved once for all the provider's
    /// domains.
    pub addresses: HashMap<String, Resolved>,
    /// A fetch waits for a later round of a sharded scan ([`super::defer`]): not kept, and every
    /// domain that gets this answer is deferred too.
    pub deferred: bool,
}

/// A bounded table of answers found once per run: the first asker of a key computes it, later and
/// concurrent askers get the same answer. Past `max` keys it is cleared (one-off keys, such as vanity
/// MX names, would otherwise fill it), and a key is computed again; an answer `keep` rejects (a
/// failure) is forgotten, so the next asker tries again.
pub(crate) struct OnceTable<V> {
    map: Mutex<HashMap<String, Arc<OnceCell<V>>>>,
    max: usize,
}

impl<V: Clone> OnceTable<V> {
    /// An empty table of at most `max` keys.
    pub fn new(max: usize) -> Self {
        Self { map: Mutex::new(HashMap::new()), max }
    }

    /// The answer for `key` if it is already known (no waiting, nothing computed).
    pub fn peek(&self, key: &str) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).and_then(|cell| cell.get().cloned())
    }

    /// The answer for `key`, computed by the future `init` makes if nobody has. (`init` makes it only
    /// when needed: a future passed by value would also take room in every caller's state.)
    pub async fn get<F: Future<Output = V>>(
        &self,
        key: &str,
        init: impl FnOnce() -> F,
        keep: impl Fn(&V) -> bool,
    ) -> V {
        let lock = || self.map.lock().unwrap_or_else(|p| p.into_inner());
        let cell = {
            let mut map = lock();
            if map.len() >= self.max && !map.contains_key(key) {
                map.clear();
            }
            map.entry(key.to_string()).or_default().clone()
        };
        let value = cell.get_or_init(init).await.clone();
        if !keep(&value) {
            let mut map = lock();
            if map.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                map.remove(key);
            }
        }
        value
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// An MX host's addresses and security, as [`targets::resolve_mx`] gives them.
pub(crate) type MxResolved = (Resolved, Option<Arc<crate::dns::MxSecurity>>);

/// MX hosts remembered at once (see [`mx_hosts`]).
pub const MAX_MX_HOSTS: usize = 16_384;

/// The run's MX hosts, resolved once (addresses, their DNSSEC status, TLSA): most domains share a
/// provider's few MX hosts, and asking hickory's response cache again per domain cost a third of the
/// lookups. A failed lookup (after the transport's retries) is not kept.
pub(crate) fn mx_hosts() -> OnceTable<MxResolved> {
    OnceTable::new(MAX_MX_HOSTS)
}

/// Addresses whose reverse DNS is remembered at once (see [`reverse_dns`]).
pub const MAX_REVERSE: usize = 65_536;

/// The run's reverse DNS verdicts, one per distinct address: a provider's MX address serves
/// thousands of domains and is looked up once. A failed lookup is not kept.
pub(crate) fn reverse_dns() -> OnceTable<Arc<crate::dns::reverse::ReverseDns>> {
    OnceTable::new(MAX_REVERSE)
}

/// Whether an MX host's resolution is worth keeping for the run: not when a lookup failed.
pub(crate) fn keep_mx(resolved: &MxResolved) -> bool {
    !resolved.0.addresses.as_ref().is_some_and(|a| a.a.failure().is_some() || a.aaaa.failure().is_some())
}

/// The run's table of providers.
pub(crate) struct Providers(OnceTable<Arc<ProviderClients>>);

impl Default for Providers {
    fn default() -> Self {
        Self(OnceTable::new(MAX_PROVIDERS))
    }
}

impl Providers {
    /// What `provider` tells mail apps, found by the first domain that asks.
    pub async fn get(&self, e: &Engine, provider: &str) -> Arc<ProviderClients> {
        let find = || async {
            let mut found = discover(e, provider).await;
            let hosts: std::collections::BTreeSet<String> =
                found.servers.iter().filter(|s| !s.host.contains('%')).map(|s| s.host.clone()).collect();
            let resolved = futures::future::join_all(hosts.iter().map(|h| targets::resolve_host(e, h))).await;
            found.addresses = hosts.into_iter().zip(resolved).collect();
            found
        };
        let watched = || async {
            if e.runner.replaying() {
                let (mut found, deferred) = super::defer::watch(find()).await;
                found.deferred = deferred;
                Arc::new(found)
            } else {
                Arc::new(find().await)
            }
        };
        let found = self.0.get(provider, watched, |f| !f.deferred).await;
        if found.deferred {
            super::defer::mark();
        }
        found
    }
}

async fn discover(e: &Engine, provider: &str) -> ProviderClients {
    let settings = &e.config.client;
    if let Some(p) = settings.ispdb.lookup(provider) {
        return ProviderClients {
            source: Some(Source::IspdbMx),
            id: Some(p.id.clone()),
            servers: p.config.servers.clone(),
            ..Default::default()
        };
    }
    let host = format!("autoconfig.{provider}");
    let from = targets::fetch_address(e, &host, &targets::resolve_host(e, &host).await);
    // A provider's web server that does not answer says nothing about its mail servers: go on to
    // the guesses, as mail apps do; only a failed address lookup leaves "nothing found" unknown.
    let failed = match targets::fetch_autoconfig(e, &host, from, autoconfig::PATH).await {
        Ok(file) if !file.servers.is_empty() => {
            return ProviderClients {
                source: Some(Source::AutoconfigMx),
                id: file.provider_id.or_else(|| Some(provider.to_string())),
                servers: file.servers,
                ..Default::default()
            };
        }
        Ok(_) => false,
        Err((outcome, _)) => outcome == FetchOutcome::AddressLookupFailed,
    };
    let (guessed, guess_failed) = client::guesses(&e.dns, &e.config.guard, provider, Source::GuessMx, settings).await;
    let servers: Vec<Declared> = guessed
        .into_iter()
        .map(|ep| Declared {
            protocol: ep.protocol,
            host: ep.host,
            port: ep.port,
            socket: if ep.protocol.implicit_tls() { SocketType::Ssl } else { SocketType::StartTls },
            auth: Vec::new(),
        })
        .collect();
    ProviderClients {
        source: (!servers.is_empty()).then_some(Source::GuessMx),
        id: (!servers.is_empty()).then(|| provider.to_string()),
        servers,
        failed: failed || guess_failed,
        addresses: HashMap::new(),
        deferred: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsFailure, DnsFailureKind, DnsOutcome, DnssecStatus, HostAddresses};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn resolved(a: DnsOutcome<Vec<std::net::IpAddr>>) -> MxResolved {
        let addresses = HostAddresses { a, aaaa: DnsOutcome::NoData, dnssec: DnssecStatus::NotChecked };
        (Resolved { addresses: Some(Arc::new(addresses)), skip: None }, None)
    }

    #[tokio::test]
    async fn an_mx_host_is_resolved_once_unless_its_lookup_failed() {
        let hosts = mx_hosts();
        let calls = AtomicUsize::new(0);
        let found = || async {
            calls.fetch_add(1, Ordering::Relaxed);
            resolved(DnsOutcome::Found(vec!["192.0.2.1".parse().unwrap()]))
        };
        for _ in 0..3 {
            let (r, _) = hosts.get("mx.example", found, keep_mx).await;
            assert_eq!(r.addresses.map(|a| a.ips().len()), Some(1));
        }
        assert_eq!(calls.load(Ordering::Relaxed), 1, "a found host is kept for the run");
        let failed = || async {
            calls.fetch_add(1, Ordering::Relaxed);
            resolved(DnsOutcome::Failed(DnsFailure { kind: DnsFailureKind::Timeout, detail: "t".into() }))
        };
        calls.store(0, Ordering::Relaxed);
        for _ in 0..3 {
            hosts.get("slow.example", failed, keep_mx).await;
        }
        assert_eq!(calls.load(Ordering::Relaxed), 3, "a failure is asked again by the next domain");
        // Bounded: past MAX_MX_HOSTS names the table starts over.
        for i in 0..MAX_MX_HOSTS + 1 {
            hosts.get(&format!("mx{i}.example"), found, keep_mx).await;
        }
        assert!(hosts.len() <= MAX_MX_HOSTS);
    }
}
