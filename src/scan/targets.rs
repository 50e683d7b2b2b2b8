//! From a host name to probed rows, shared by the MX hosts, the client endpoints and the HTTPS fetches:
//! resolve the host (in the resolve stage), pass each address through the target guard, and hand what
//! may be contacted to the probe runner (in the probe stage, where the domain waits without a slot).

use std::net::IpAddr;
use std::sync::Arc;

use super::Engine;
use super::result::{ClientTarget, MxTarget, ProbeFacts, no_address_reason};
use crate::client::{self, Endpoint};
use crate::dns::reverse::{Fcrdns, ReverseDns};
use crate::dns::{DnsOutcome, HostAddresses, MxEntry, MxSecurity, OutcomeKind};
use crate::policy::{FetchOutcome, Fetched};
use crate::probe::SkipReason;
use crate::probe::client::ClientReport;
use crate::probe::smtp::ProbeReport;

/// A host resolved in the resolve stage, waiting for its probes.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    /// Its A and AAAA lookups; `None` when the domain's deadline passed before they finished.
    pub addresses: Option<Arc<HostAddresses>>,
    /// Not looked up: excluded, or beyond a per-domain limit.
    pub skip: Option<SkipReason>,
}

impl Resolved {
    /// A host that is not looked up at all.
    pub fn skipped(reason: SkipReason) -> Self {
        Self { addresses: None, skip: Some(reason) }
    }

    /// A host whose lookups have not finished (yet).
    pub fn pending() -> Self {
        Self { addresses: None, skip: None }
    }

    fn outcomes(&self) -> (OutcomeKind, OutcomeKind, Option<String>) {
        match (&self.addresses, self.skip) {
            (_, Some(_)) => (OutcomeKind::NotQueried, OutcomeKind::NotQueried, None),
            (None, None) => {
                let deadline = DnsOutcome::<()>::deadline();
                (deadline.kind(), deadline.kind(), deadline.failure().map(|f| f.to_string()))
            }
            (Some(a), None) => {
                let detail = [a.a.failure(), a.aaaa.failure()]
                    .into_iter()
                    .flatten()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                (a.a.kind(), a.aaaa.kind(), (!detail.is_empty()).then_some(detail))
            }
        }
    }

    /// The addresses found, A first.
    fn ips(&self) -> Vec<IpAddr> {
        self.addresses.as_ref().map(|a| a.ips()).unwrap_or_default()
    }

    /// Why nothing is probed when no address is found.
    fn no_address(&self) -> SkipReason {
        match (&self.addresses, self.skip) {
            (_, Some(r)) => r,
            (None, None) => SkipReason::AddressLookupFailed,
            (Some(a), None) => no_address_reason(&a.a, &a.aaaa),
        }
    }
}

/// Resolves one MX host (addresses, DNSSEC and TLSA) in the resolve stage.
pub(crate) async fn resolve_mx(e: &Engine, mx: &MxEntry, index: usize) -> (Resolved, Option<Arc<MxSecurity>>) {
    if index >= e.config.max_mx_per_domain {
        return (Resolved::skipped(SkipReason::OverLimit), None);
    }
    if e.config.guard.excludes_name(&mx.host) {
        return (Resolved::skipped(SkipReason::Excluded), None);
    }
    let host = mx.host.to_ascii_lowercase();
    e.mx_hosts
        .get(
            &host,
            || async {
                let (addresses, security) = tokio::join!(e.dns.host_addresses(&host), e.dns.mx_security(&host));
                (Resolved { addresses: Some(addresses), skip: None }, Some(security))
            },
            super::provider::keep_mx,
        )
        .await
}

/// Resolves a host that is not an MX (a client endpoint, often a provider's, shared by its domains):
/// A, and AAAA unless A says the name does not exist.
pub(crate) async fn resolve_host(e: &Engine, host: &str) -> Resolved {
    if e.config.guard.excludes_name(host) {
        return Resolved::skipped(SkipReason::Excluded);
    }
    Resolved { addresses: Some(Arc::new(e.dns.addresses(host).await)), skip: None }
}

/// Resolves a host a domain owns (`mta-sts.<domain>`, `autoconfig.<domain>`): as [`resolve_host`],
/// uncached, since no other domain asks for it.
pub(crate) async fn resolve_own_host(e: &Engine, host: &str) -> Resolved {
    if e.config.guard.excludes_name(host) {
        return Resolved::skipped(SkipReason::Excluded);
    }
    Resolved { addresses: Some(Arc::new(e.dns.once().addresses(host).await)), skip: None }
}

/// Reverse DNS of `ip` (PTR, then forward), once per run per address; `not_queried` when `--no-ptr`
/// or the address may not be contacted (a private address's PTR says nothing about sending).
pub(crate) async fn reverse(e: &Engine, ip: IpAddr) -> Arc<ReverseDns> {
    static NOT_QUERIED: std::sync::LazyLock<Arc<ReverseDns>> =
        std::sync::LazyLock::new(|| Arc::new(ReverseDns::not_queried()));
    if !e.config.ptr || e.config.guard.skip(ip).is_some() {
        return NOT_QUERIED.clone();
    }
    let key = ip.to_string();
    // Most addresses are shared and known already: no lookup future is made for them.
    if let Some(known) = e.reverse.peek(&key) {
        return known;
    }
    // Boxed: a lookup future is large; boxed, its room is freed as soon as the lookup is done.
    Box::pin(e.reverse.get(&key, || async { Arc::new(e.dns.reverse(ip).await) }, |r| r.fcrdns != Fcrdns::LookupFailed))
        .await
}

/// Probes each address of an MX host (probe stage): one row per address, or one row without address.
pub(crate) async fn mx_targets(
    e: &Engine,
    mx: &MxEntry,
    resolved: &Resolved,
    security: Option<Arc<MxSecurity>>,
) -> Vec<MxTarget> {
    let (a_outcome, aaaa_outcome, detail) = resolved.outcomes();
    let row = |ip, probe| MxTarget {
        host: mx.host.clone(),
        preference: mx.preference,
        a_outcome,
        aaaa_outcome,
        address_detail: detail.clone(),
        ip,
        probe,
        security: security.clone(),
        reverse: None,
    };
    let ips = resolved.ips();
    if ips.is_empty() {
        return vec![row(None, ProbeFacts::skipped(ProbeReport::skipped(resolved.no_address())))];
    }
    let probes = ips.iter().enumerate().map(|(i, &ip)| async move {
        match e.config.guard.skip_nth(i, e.config.max_ips_per_mx, ip) {
            Some(reason) => (ProbeFacts::skipped(ProbeReport::skipped(reason)), None),
            None => {
                // The address's reverse DNS is looked up while its probe waits for its turn (mostly
                // known already: a shared address).
                let (probe, reverse) = tokio::join!(e.runner.smtp(&mx.host, ip), reverse(e, ip));
                (probe.into(), Some(reverse))
            }
        }
    });
    let facts = futures::future::join_all(probes).await;
    ips.into_iter().zip(facts).map(|(ip, (f, reverse))| MxTarget { reverse, ..row(Some(ip), f) }).collect()
}

/// Probes each address of a client endpoint (probe stage).
pub(crate) async fn client_targets(e: &Engine, endpoint: &Endpoint, resolved: &Resolved) -> Vec<ClientTarget> {
    let (a, aaaa, detail) = resolved.outcomes();
    let address_outcome = match &resolved.addresses {
        Some(x) if x.a.found().is_none() && x.aaaa.found().is_some() => aaaa,
        _ => a,
    };
    let row = |ip, probe| ClientTarget {
        endpoint: endpoint.clone(),
        address_outcome,
        address_detail: detail.clone(),
        ip,
        probe,
    };
    let ips = resolved.ips();
    if ips.is_empty() {
        return vec![row(None, ProbeFacts::skipped(ClientReport::skipped(resolved.no_address())))];
    }
    let probes = ips.iter().enumerate().map(|(i, &ip)| async move {
        match e.config.guard.skip_nth(i, e.config.client.max_ips_per_endpoint, ip) {
            Some(reason) => ProbeFacts::skipped(ClientReport::skipped(reason)),
            // A guessed name is the domain's own: no other domain asks for it, so it is not kept.
            None => e.runner.client(endpoint, ip, endpoint.source != client::Source::Guess).await.into(),
        }
    });
    let facts = futures::future::join_all(probes).await;
    ips.into_iter().zip(facts).map(|(ip, f)| row(Some(ip), f)).collect()
}

/// The address a file is fetched from, or why there is none.
pub(crate) type FetchFrom = Result<IpAddr, (FetchOutcome, String)>;

/// The address a file is fetched from (the first one the guard allows), or why there is none.
pub(crate) fn fetch_address(e: &Engine, host: &str, resolved: &Resolved) -> FetchFrom {
    let ips = resolved.ips();
    if ips.is_empty() {
        let (_, _, detail) = resolved.outcomes();
        return Err(match resolved.no_address() {
            SkipReason::Excluded => (FetchOutcome::Skipped, format!("{host} is excluded")),
            SkipReason::AddressLookupFailed => {
                (FetchOutcome::AddressLookupFailed, detail.unwrap_or_else(|| format!("{host}: lookup failed")))
            }
            _ => (FetchOutcome::NoAddress, format!("{host} has no address")),
        });
    }
    ips.iter()
        .enumerate()
        .find(|(i, ip)| e.config.guard.skip_nth(*i, e.config.max_ips_per_mx, **ip).is_none())
        .map(|(_, ip)| *ip)
        .ok_or_else(|| (FetchOutcome::Skipped, format!("no address of {host} may be contacted")))
}

/// Fetches and reads the autoconfig file `https://{host}{path}` from the address in `from` (probe
/// stage): the file, or why there is none. The domain's own file, its well-known one and a
/// provider's all go through here.
pub(crate) async fn fetch_autoconfig(
    e: &Engine,
    host: &str,
    from: FetchFrom,
    path: &str,
) -> Result<client::autoconfig::ConfigFile, (FetchOutcome, String)> {
    let response = fetch(e, host, from?, path, client::autoconfig::MAX_AUTOCONFIG_BYTES).await?;
    if response.status != 200 {
        return Err((FetchOutcome::HttpStatus, format!("HTTP {}", response.status)));
    }
    std::str::from_utf8(&response.body)
        .map_err(|e| e.to_string())
        .and_then(client::autoconfig::parse)
        .map_err(|e| (FetchOutcome::SyntaxError, e))
}

/// Fetches `https://{host}{path}` from `ip` through the runner (probe stage).
pub(crate) async fn fetch(e: &Engine, host: &str, ip: IpAddr, path: &str, max_body: usize) -> Fetched {
    e.runner.fetch(host, ip, path, max_body).await.map_err(|f| (FetchOutcome::from_failure(f.kind), f.detail))
}
