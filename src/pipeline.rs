//! The scan pipeline: input → DNS → MX probes → assembly → Parquet, with bounded channels between
//! the stages so memory stays flat however long the input is.
//!
//! - An input thread streams the list, writes rejects, and sends entries on a bounded channel.
//! - The scheduler spawns one task per domain, at most `concurrency` at once. A task looks up MX, SPF
//!   and DMARC, the addresses of each MX host, and probes each (MX host, IP) through the run-wide
//!   [`ProbeCache`] and the [`Politeness`] limiters.
//! - A writer thread turns finished domains into rows of `domains` and `mx_hosts`.
//!
//! A panic inside a domain's scan or a probe becomes data (`scan_error`, reason `internal`), never a
//! lost domain.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::FutureExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::address::non_public_range;
use crate::config::ScanConfig;
use crate::dns::{Dns, DnsFailure, DnsFailureKind, DnsOutcome, DnssecStatus, MxEntry, MxSecurity};
use crate::endpoint::{self, Endpoint, Source};
use crate::input::{self, Entry, InputError, InputItem, InputReader, InputSource};
use crate::limit::Politeness;
use crate::output::batch::{
    client_endpoints_builder, domains_builder, mx_hosts_builder, push_client, push_domain, push_mx,
};
use crate::output::parquet::{DatasetWriter, OutputError};
use crate::output::rejects::RejectsWriter;
use crate::output::resume::{self, Resume};
use crate::output::run_info::{Counts, RunInfo, rfc3339};
use crate::output::schema::{CLIENT_ENDPOINTS, DOMAINS, MX_HOSTS};
use crate::output::{CLIENT_ENDPOINTS_DIR, DATASET_DIRS, DOMAINS_DIR, MX_HOSTS_DIR, REJECTS_FILE, RUN_FILE};
use crate::policy::dkim::{self, DkimResult};
use crate::policy::mta_sts::{self, FetchOutcome, MtaStsResult};
use crate::policy::{PolicyStatus, dmarc, spf, tls_rpt};
use crate::probe::cache::ProbeCache;
use crate::probe::client::{self, ClientReport};
use crate::probe::https::{self, FetchFailure, FetchLimits};
use crate::probe::smtp::{self, ProbeReport};
use crate::probe::tls::{CaFileError, TlsContext};
use crate::probe::{Attempt, FailureReason, Phase, ProbeFailure, SkipReason};
use crate::record::{ClientScan, ClientTarget};
use crate::record::{DomainScan, MxSource, MxTarget};

/// Why a scan could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Bad usage (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The input could not be read (exit code 2).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The CA file could not be used (exit code 2).
    #[error(transparent)]
    CaFile(#[from] CaFileError),
    /// The resolver could not be set up (exit code 2).
    #[error("cannot set up the DNS resolver: {0}")]
    Resolver(String),
    /// The output could not be written (exit code 1).
    #[error(transparent)]
    Output(#[from] OutputError),
}

impl ScanError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Output(_) => 1,
            _ => 2,
        }
    }
}

/// What a finished scan reports.
#[derive(Clone, Debug)]
pub struct ScanSummary {
    /// The counters also written to `run.json`.
    pub counts: Counts,
    /// Wall time in seconds.
    pub elapsed_seconds: f64,
    /// Every input line was processed (false after an interruption).
    pub complete: bool,
}

struct Ctx {
    dns: Dns,
    tls: TlsContext,
    cache: ProbeCache,
    client_cache: ProbeCache<(client::Protocol, String, u16, IpAddr), ClientReport>,
    politeness: Politeness,
    config: ScanConfig,
    internal_errors: AtomicU64,
    probes_in_flight: AtomicU64,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Scans one domain: never fails, never panics out.
async fn scan_domain(ctx: &Arc<Ctx>, entry: Entry) -> DomainScan {
    let scanned_at_ms = now_ms();
    match AssertUnwindSafe(scan_domain_inner(ctx, entry.clone(), scanned_at_ms)).catch_unwind().await {
        Ok(scan) => scan,
        Err(p) => {
            ctx.internal_errors.fetch_add(1, Ordering::Relaxed);
            let failed = DnsFailure { kind: DnsFailureKind::Other, detail: "not scanned: internal error".into() };
            DomainScan {
                entry,
                scanned_at_ms,
                mx: DnsOutcome::Failed(failed.clone()),
                dnssec: DnssecStatus::NotChecked,
                mx_source: MxSource::Unknown,
                mx_hosts: Vec::new(),
                spf_txt_outcome: "error",
                spf: spf::from_txt(&DnsOutcome::Failed(failed.clone())),
                dmarc_txt_outcome: "error",
                dmarc: dmarc::from_txt(&DnsOutcome::Failed(failed.clone())),
                dkim: DkimResult { status: dkim::DkimStatus::TempError, ..DkimResult::default() },
                mta_sts: MtaStsResult {
                    txt_outcome: "error",
                    status: PolicyStatus::TempError,
                    ..MtaStsResult::not_queried()
                },
                tls_rpt_txt_outcome: "error",
                tls_rpt: tls_rpt::from_txt(&DnsOutcome::Failed(failed)),
                client: ClientScan::not_probed(),
                targets: Vec::new(),
                scan_error: Some(format!("internal: {}", panic_text(&*p))),
            }
        }
    }
}

/// The row of a domain on the exclude list: nothing is queried.
fn excluded_scan(entry: Entry, scanned_at_ms: i64) -> DomainScan {
    DomainScan {
        entry,
        scanned_at_ms,
        mx: DnsOutcome::NoData,
        dnssec: DnssecStatus::NotChecked,
        mx_source: MxSource::Excluded,
        mx_hosts: Vec::new(),
        spf_txt_outcome: "not_queried",
        spf: spf::SpfResult::not_queried(),
        dmarc_txt_outcome: "not_queried",
        dmarc: dmarc::DmarcResult::not_queried(),
        dkim: DkimResult { status: dkim::DkimStatus::NotQueried, ..DkimResult::default() },
        mta_sts: MtaStsResult::not_queried(),
        tls_rpt_txt_outcome: "not_queried",
        tls_rpt: tls_rpt::TlsRptResult::not_queried(),
        client: ClientScan::not_probed(),
        targets: Vec::new(),
        scan_error: None,
    }
}

async fn scan_domain_inner(ctx: &Arc<Ctx>, entry: Entry, scanned_at_ms: i64) -> DomainScan {
    if ctx.config.exclude.covers_name(entry.domain.as_str()) {
        return excluded_scan(entry, scanned_at_ms);
    }
    if ctx.config.inject_panic.as_deref() == Some(entry.domain.as_str()) {
        panic!("injected panic scanning {}", entry.domain);
    }
    let name = entry.domain.as_str().to_string();
    let dmarc_name = format!("_dmarc.{name}");
    let (sts_name, rpt_name) = (format!("_mta-sts.{name}"), format!("_smtp._tls.{name}"));
    let dns = &ctx.dns;
    let sts_lookup = async { if ctx.config.mta_sts { Some(dns.txt(&sts_name).await) } else { None } };
    let (mx, txt, dmarc_txt, sts_txt, rpt_txt, dnssec) = tokio::join!(
        dns.mx(&name),
        dns.txt(&name),
        dns.txt(&dmarc_name),
        sts_lookup,
        dns.txt(&rpt_name),
        dns.dnssec(&name, hickory_resolver::proto::rr::RecordType::MX)
    );
    let (mx_source, mx_hosts) = match &mx {
        DnsOutcome::Found(list) => {
            let hosts: Vec<MxEntry> = list.iter().filter(|m| !m.host.is_empty()).cloned().collect();
            if hosts.is_empty() { (MxSource::NullMx, hosts) } else { (MxSource::Explicit, hosts) }
        }
        DnsOutcome::NxDomain => (MxSource::None, Vec::new()),
        DnsOutcome::Failed(_) => (MxSource::Unknown, Vec::new()),
        DnsOutcome::NoData => {
            // The same cached lookups serve as the implicit MX's addresses below.
            let addresses = ctx.dns.host_addresses(&name).await;
            let (a, aaaa) = (&addresses.a, &addresses.aaaa);
            if a.found().is_some() || aaaa.found().is_some() {
                (MxSource::Implicit, vec![MxEntry { preference: 0, host: name.clone() }])
            } else if a.failure().is_some() || aaaa.failure().is_some() {
                (MxSource::Unknown, Vec::new())
            } else {
                (MxSource::None, Vec::new())
            }
        }
    };
    let per_host = mx_hosts.iter().enumerate().map(|(i, mx)| host_targets(ctx, mx, i >= ctx.config.max_mx_per_domain));
    let selectors: Vec<&str> =
        ctx.config.dkim_selectors.iter().chain(&entry.dkim_selectors).map(String::as_str).collect();
    let dkim_lookup = async {
        if ctx.config.dkim {
            dkim::discover(dns, &name, &selectors).await
        } else {
            DkimResult { status: dkim::DkimStatus::NotQueried, ..DkimResult::default() }
        }
    };
    let (targets, spf, dmarc, dkim, mta_sts, client) = tokio::join!(
        futures::future::join_all(per_host),
        spf::evaluate(dns, &name, &txt),
        dmarc::evaluate(dns, &name, &dmarc_txt),
        dkim_lookup,
        mta_sts_policy(ctx, &name, sts_txt.as_ref()),
        client_scan(ctx, &name, !matches!(mx_source, MxSource::NullMx | MxSource::None)),
    );
    let targets = targets.into_iter().flatten().collect();
    DomainScan {
        spf_txt_outcome: txt.label(),
        spf,
        dmarc_txt_outcome: dmarc_txt.label(),
        dmarc,
        dkim,
        mta_sts,
        tls_rpt_txt_outcome: rpt_txt.label(),
        tls_rpt: tls_rpt::from_txt(&rpt_txt),
        client,
        entry,
        scanned_at_ms,
        mx,
        dnssec,
        mx_source,
        mx_hosts,
        targets,
        scan_error: None,
    }
}

/// Resolves one MX host and probes each of its addresses.
async fn host_targets(ctx: &Arc<Ctx>, mx: &MxEntry, over_limit: bool) -> Vec<MxTarget> {
    let target = |a: &'static str,
                  aaaa: &'static str,
                  detail: Option<String>,
                  ip: Option<IpAddr>,
                  probe: Arc<ProbeReport>,
                  cached,
                  security: Option<Arc<MxSecurity>>| MxTarget {
        host: mx.host.clone(),
        preference: mx.preference,
        a_outcome: a,
        aaaa_outcome: aaaa,
        address_detail: detail,
        ip,
        probe,
        cached,
        security,
    };
    if over_limit || ctx.config.exclude.covers_name(&mx.host) {
        let reason = if over_limit { SkipReason::OverLimit } else { SkipReason::Excluded };
        return vec![target(
            "not_queried",
            "not_queried",
            None,
            None,
            Arc::new(ProbeReport::skipped(reason)),
            false,
            None,
        )];
    }
    let (addresses, security) = tokio::join!(ctx.dns.host_addresses(&mx.host), ctx.dns.mx_security(&mx.host));
    let (a, aaaa) = (&addresses.a, &addresses.aaaa);
    let detail =
        [a.failure(), aaaa.failure()].into_iter().flatten().map(|f| f.to_string()).collect::<Vec<_>>().join("; ");
    let detail = (!detail.is_empty()).then_some(detail);
    let ips: Vec<IpAddr> = a.found().into_iter().chain(aaaa.found()).flatten().copied().collect();
    if ips.is_empty() {
        let reason = if detail.is_some() { SkipReason::AddressLookupFailed } else { SkipReason::NoAddress };
        return vec![target(
            a.label(),
            aaaa.label(),
            detail,
            None,
            Arc::new(ProbeReport::skipped(reason)),
            false,
            Some(security),
        )];
    }
    let probes = ips.iter().enumerate().map(|(i, &ip)| {
        let ctx = ctx.clone();
        let host = mx.host.clone();
        async move {
            let skip = address_skip(&ctx.config, i, ip);
            match skip {
                Some(reason) => (ip, Arc::new(ProbeReport::skipped(reason)), false),
                None => {
                    let (report, cached) =
                        ctx.cache.get_or_probe(&host, ip, || probe_guarded(ctx.clone(), host.clone(), ip)).await;
                    (ip, report, cached)
                }
            }
        }
    });
    futures::future::join_all(probes)
        .await
        .into_iter()
        .map(|(ip, report, cached)| {
            target(a.label(), aaaa.label(), detail.clone(), Some(ip), report, cached, Some(security.clone()))
        })
        .collect()
}

/// Looks up and fetches the MTA-STS policy of `domain`, given the TXT lookup at `_mta-sts.<domain>`
/// (`None` when MTA-STS is turned off).
async fn mta_sts_policy(ctx: &Arc<Ctx>, domain: &str, txt: Option<&DnsOutcome<Vec<String>>>) -> MtaStsResult {
    let Some(txt) = txt else {
        return MtaStsResult::not_queried();
    };
    let (status, id, detail) = mta_sts::from_txt(txt);
    let mut result = MtaStsResult {
        txt_outcome: txt.label(),
        status,
        id,
        fetch: FetchOutcome::NotFetched,
        http_status: None,
        detail,
        policy: None,
    };
    if status != PolicyStatus::Valid {
        return result;
    }
    let host = format!("mta-sts.{domain}");
    let fetched = fetch_small_file(ctx, &host, "/.well-known/mta-sts.txt", mta_sts::MAX_POLICY_BYTES).await;
    result.http_status = fetched.http_status;
    let body = match fetched.body {
        Ok(body) => body,
        Err((outcome, detail)) => {
            result.fetch = outcome;
            result.detail = Some(detail);
            return result;
        }
    };
    let fail = |mut r: MtaStsResult, outcome, detail: String| {
        r.fetch = outcome;
        r.detail = Some(detail);
        r
    };
    let media =
        fetched.content_type.as_deref().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media != "text/plain" {
        return fail(result, FetchOutcome::WrongContentType, format!("Content-Type {:?}", fetched.content_type));
    }
    match std::str::from_utf8(&body).map_err(|e| e.to_string()).and_then(mta_sts::parse_policy) {
        Ok(policy) => {
            result.fetch = FetchOutcome::Ok;
            result.policy = Some(policy);
            result
        }
        Err(e) => fail(result, FetchOutcome::SyntaxError, e),
    }
}

/// What [`fetch_small_file`] got: the body of a 200 answer, or why there is none.
struct Fetched {
    http_status: Option<u16>,
    content_type: Option<String>,
    body: Result<Vec<u8>, (FetchOutcome, String)>,
}

/// GETs `https://{host}{path}` (at most `max_body` bytes) from the first address of `host` that may be
/// contacted, with strict certificate checks, the exclude list and the per-IP politeness limits.
/// The host is resolved without the per-run cache: these hosts are one per domain.
async fn fetch_small_file(ctx: &Arc<Ctx>, host: &str, path: &str, max_body: usize) -> Fetched {
    let fail =
        |outcome, detail: String| Fetched { http_status: None, content_type: None, body: Err((outcome, detail)) };
    if ctx.config.exclude.covers_name(host) {
        return fail(FetchOutcome::Skipped, format!("{host} is excluded"));
    }
    // A first; a name without A that does not exist has no AAAA either.
    let a = ctx.dns.ipv4(host).await;
    let aaaa = if a == DnsOutcome::NxDomain { DnsOutcome::NxDomain } else { ctx.dns.ipv6(host).await };
    let ips: Vec<IpAddr> = a.found().into_iter().chain(aaaa.found()).flatten().copied().collect();
    if ips.is_empty() {
        let why = [a.failure(), aaaa.failure()].into_iter().flatten().map(|f| f.to_string()).next();
        return fail(FetchOutcome::NoAddress, why.unwrap_or_else(|| format!("{host} has no address")));
    }
    let Some(ip) =
        ips.iter().enumerate().find(|(i, ip)| address_skip(&ctx.config, *i, **ip).is_none()).map(|(_, ip)| *ip)
    else {
        return fail(FetchOutcome::Skipped, format!("no address of {host} may be contacted"));
    };
    let limits = FetchLimits { timeout: ctx.config.https_timeout, max_body };
    let permit = ctx.politeness.admit(ip).await;
    let response =
        https::get(ctx.tls.strict_config(), SocketAddr::new(ip, ctx.config.https_port), host, path, &limits).await;
    drop(permit);
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            let outcome = match e.kind {
                FetchFailure::Connect => FetchOutcome::ConnectFailed,
                FetchFailure::Timeout => FetchOutcome::Timeout,
                FetchFailure::Tls => FetchOutcome::TlsFailed,
                FetchFailure::Http => FetchOutcome::HttpError,
                FetchFailure::TooLarge => FetchOutcome::TooLarge,
            };
            return fail(outcome, e.detail);
        }
    };
    let status = response.status;
    let body =
        if status == 200 { Ok(response.body) } else { Err((FetchOutcome::HttpStatus, format!("HTTP {status}"))) };
    Fetched { http_status: Some(status), content_type: response.content_type, body }
}

/// Finds the client endpoints of `domain` (SRV, autoconfig, guesses) and probes each; a domain that
/// accepts no mail (null MX, no MX and no address) has no mailboxes, so nothing is looked for.
async fn client_scan(ctx: &Arc<Ctx>, domain: &str, accepts_mail: bool) -> ClientScan {
    let cfg = &ctx.config.client;
    if !cfg.enabled {
        return ClientScan::not_probed();
    }
    let mut scan = ClientScan { probed: true, no_mail: !accepts_mail, ..ClientScan::default() };
    if !accepts_mail {
        return scan;
    }
    // 1. SRV. When `_tcp.<domain>` does not exist, no SRV record below it does (RFC 8020): one
    // lookup instead of six for the many domains that publish none.
    let srv = if ctx.dns.srv(&format!("_tcp.{domain}")).await == DnsOutcome::NxDomain {
        Vec::new()
    } else {
        futures::future::join_all(
            cfg.protocols
                .iter()
                .map(|p| async move { (*p, ctx.dns.srv(&format!("_{}._tcp.{domain}", p.as_label())).await) }),
        )
        .await
    };
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for (protocol, answer) in srv {
        match answer {
            DnsOutcome::Found(records) => {
                if records.iter().all(|r| r.target.is_empty()) {
                    scan.srv_not_offered.push(protocol);
                }
                for r in records.into_iter().filter(|r| !r.target.is_empty()).take(4) {
                    endpoints.push(Endpoint { protocol, host: r.target, port: r.port, source: Source::Srv });
                }
            }
            DnsOutcome::Failed(_) => scan.srv_failed.push(protocol),
            DnsOutcome::NxDomain | DnsOutcome::NoData => {}
        }
    }
    // 2. Autoconfig.
    let host = format!("autoconfig.{domain}");
    let fetched = fetch_small_file(ctx, &host, "/mail/config-v1.1.xml", endpoint::MAX_AUTOCONFIG_BYTES).await;
    scan.autoconfig = match fetched.body {
        Ok(body) => match std::str::from_utf8(&body)
            .map_err(|e| e.to_string())
            .and_then(|x| endpoint::parse_autoconfig(x, domain))
        {
            Ok(servers) => {
                for (protocol, host, port) in servers {
                    let dup = endpoints.iter().any(|e| e.protocol == protocol && e.host == host && e.port == port);
                    if cfg.protocols.contains(&protocol) && !dup {
                        endpoints.push(Endpoint { protocol, host, port, source: Source::Autoconfig });
                    }
                }
                (FetchOutcome::Ok, None)
            }
            Err(e) => (FetchOutcome::SyntaxError, Some(e)),
        },
        Err((outcome, detail)) => (outcome, Some(detail)),
    };
    // 3. Guesses, only when nothing was published (and nothing was said not to be offered).
    if endpoints.is_empty() && scan.srv_not_offered.is_empty() {
        let guesses = futures::future::join_all(endpoint::GUESSES.iter().map(|(prefix, protocols)| async move {
            let host = format!("{prefix}.{domain}");
            let resolves = !ctx.config.exclude.covers_name(&host) && ctx.dns.ipv4(&host).await.found().is_some();
            (host, *protocols, resolves)
        }))
        .await;
        for (host, protocols, resolves) in guesses {
            for p in protocols.iter().filter(|p| resolves && cfg.protocols.contains(p)) {
                endpoints.push(Endpoint {
                    protocol: *p,
                    host: host.clone(),
                    port: cfg.port(*p),
                    source: Source::Guess,
                });
            }
        }
    }
    scan.endpoints = endpoints.len();
    // Probe every (endpoint, address).
    let probes = endpoints.into_iter().map(|e| client_targets(ctx, e));
    scan.targets = futures::future::join_all(probes).await.into_iter().flatten().collect();
    scan
}

/// Resolves one client endpoint and probes each of its addresses (once per run per key).
async fn client_targets(ctx: &Arc<Ctx>, endpoint: Endpoint) -> Vec<ClientTarget> {
    let skipped = |endpoint: Endpoint, a: &'static str, reason, detail| ClientTarget {
        endpoint,
        address_outcome: a,
        address_detail: detail,
        ip: None,
        report: Arc::new(ClientReport::skipped(reason)),
        cached: false,
    };
    if ctx.config.exclude.covers_name(&endpoint.host) {
        return vec![skipped(endpoint, "not_queried", SkipReason::Excluded, None)];
    }
    let addresses = ctx.dns.host_addresses(&endpoint.host).await;
    let (a, aaaa) = (&addresses.a, &addresses.aaaa);
    let ips: Vec<IpAddr> = a.found().into_iter().chain(aaaa.found()).flatten().copied().collect();
    let label = if a.found().is_some() { a.label() } else { aaaa.label() };
    if ips.is_empty() {
        let detail = [a.failure(), aaaa.failure()].into_iter().flatten().map(|f| f.to_string()).next();
        let reason = if detail.is_some() { SkipReason::AddressLookupFailed } else { SkipReason::NoAddress };
        return vec![skipped(endpoint, label, reason, detail)];
    }
    let probes = ips.into_iter().enumerate().map(|(i, ip)| {
        let (ctx, endpoint) = (ctx.clone(), endpoint.clone());
        async move {
            let (report, cached) = match address_skip(&ctx.config, i, ip) {
                Some(reason) => (Arc::new(ClientReport::skipped(reason)), false),
                None => {
                    let key = (endpoint.protocol, endpoint.host.clone(), endpoint.port, ip);
                    let (ctx2, host) = (ctx.clone(), endpoint.host.clone());
                    ctx.client_cache
                        .get_or_run(key, move || async move {
                            let permit = ctx2.politeness.admit(ip).await;
                            let cfg = client::ClientConfig {
                                connect_timeout: ctx2.config.smtp.connect_timeout,
                                read_timeout: ctx2.config.smtp.read_timeout,
                                probe_timeout: ctx2.config.smtp.probe_timeout,
                                ehlo_name: ctx2.config.smtp.ehlo_name.clone(),
                            };
                            let report = client::probe(
                                endpoint.protocol,
                                SocketAddr::new(ip, endpoint.port),
                                &host,
                                &cfg,
                                &ctx2.tls,
                            )
                            .await;
                            drop(permit);
                            report
                        })
                        .await
                }
            };
            ClientTarget { endpoint, address_outcome: label, address_detail: None, ip: Some(ip), report, cached }
        }
    });
    futures::future::join_all(probes).await
}

/// Why the `index`-th address of an MX host is not probed, if it is not: over the per-host limit,
/// excluded, IPv6 while `--ipv6` is off, or in a non-public range while `--allow-private` is off.
pub fn address_skip(config: &ScanConfig, index: usize, ip: IpAddr) -> Option<SkipReason> {
    if index >= config.max_ips_per_mx {
        Some(SkipReason::OverLimit)
    } else if config.exclude.covers_ip(ip) {
        Some(SkipReason::Excluded)
    } else if ip.is_ipv6() && !config.ipv6 {
        Some(SkipReason::Ipv6Disabled)
    } else if !config.allow_private && non_public_range(ip).is_some() {
        Some(SkipReason::NonPublicAddress)
    } else {
        None
    }
}

/// One SMTP probe under the politeness limits; a panic becomes an `internal` failure.
async fn probe_guarded(ctx: Arc<Ctx>, host: String, ip: IpAddr) -> ProbeReport {
    let run = async {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            if ctx.config.inject_panic.as_deref() == Some(host.as_str()) {
                panic!("injected panic probing {host}");
            }
            let permit = ctx.politeness.admit(ip).await;
            ctx.probes_in_flight.fetch_add(1, Ordering::Relaxed);
            let mut report =
                smtp::probe(SocketAddr::new(ip, ctx.config.smtp.port), &host, &ctx.config.smtp, &ctx.tls).await;
            ctx.probes_in_flight.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
            if report.temporary_refusal() && attempts <= ctx.config.retries {
                // 421 or another 4xx greeting: back off that IP, then try again.
                ctx.politeness.back_off(ip, crate::limit::retry_delay(ctx.config.retry_delay, attempts));
                continue;
            }
            report.attempts = attempts.min(u8::MAX as u32) as u8;
            return report;
        }
    };
    match AssertUnwindSafe(run).catch_unwind().await {
        Ok(r) => r,
        Err(p) => {
            ctx.internal_errors.fetch_add(1, Ordering::Relaxed);
            ProbeReport::failed(ProbeFailure::new(Phase::Connect, FailureReason::Internal, panic_text(&*p)))
        }
    }
}

fn probe_outcome_key(p: &ProbeReport) -> String {
    match &p.attempt {
        Attempt::Done(_) => "done".to_string(),
        Attempt::Failed(f) => format!("failed:{}:{}", f.phase.as_label(), f.reason.as_label()),
        Attempt::Skipped(r) => format!("skipped:{}", r.as_label()),
    }
}

/// Prepares the output directory: a fresh one; an earlier scan replaced (`overwrite`); or an
/// interrupted scan to continue (`resume`). Refuses to mix a new scan into an earlier one otherwise.
fn prepare_out_dir(out: &Path, overwrite: bool, resume: bool) -> Result<Resume, ScanError> {
    let io = |path: &Path, source| ScanError::Output(OutputError::Io { path: path.to_path_buf(), source });
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    if resume {
        return Ok(resume::prepare(out)?);
    }
    for dataset in DATASET_DIRS {
        let dir = out.join(dataset);
        let has_files = std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(false);
        if has_files {
            if !overwrite {
                return Err(ScanError::Usage(format!(
                    "{} already holds a scan; choose another --out, or pass --resume to continue it or --overwrite to replace it",
                    out.display()
                )));
            }
            std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
        }
    }
    Ok(Resume::default())
}

fn progress_bar(config: &ScanConfig, total: Option<u64>) -> ProgressBar {
    use std::io::IsTerminal;
    if !config.progress || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {pos}/{len} lines {per_sec} eta {eta} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Resolves when the process receives SIGINT (Ctrl-C) or SIGTERM.
pub async fn interrupt_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Runs a whole scan as configured, writing everything under `config.out`; stops early (cleanly,
/// `complete: false`) on SIGINT or SIGTERM.
pub async fn run(config: ScanConfig) -> Result<ScanSummary, ScanError> {
    run_until(config, interrupt_signal()).await
}

/// Runs a scan that stops taking new domains when `stop` resolves: in-flight domains get
/// `config.shutdown_grace` to finish, the rest are abandoned (not written, so `--resume` scans them),
/// every part is closed properly and `run.json` says `"complete": false`.
pub async fn run_until(
    config: ScanConfig,
    stop: impl std::future::Future<Output = ()>,
) -> Result<ScanSummary, ScanError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let reader = InputReader::open(&config.input, &config.columns)?;
    // The progress total: data lines (the header is not one).
    let total = match &config.input {
        InputSource::File(p) => input::count_lines(p).ok().map(|n| n.saturating_sub(reader.has_header() as u64)),
        InputSource::Stdin => None,
    };
    let tls = TlsContext::new(&config.ca_files)?;
    let dns = Dns::new(&config.dns).map_err(|e| ScanError::Resolver(e.to_string()))?;
    let previous = prepare_out_dir(&config.out, config.overwrite, config.resume)?;
    let rejects = RejectsWriter::create(&config.out.join(REJECTS_FILE))?;
    let domains =
        DatasetWriter::create(&config.out.join(DOMAINS_DIR), domains_builder(), DOMAINS.clone(), previous.next_part)?;
    let mx_rows = DatasetWriter::create(
        &config.out.join(MX_HOSTS_DIR),
        mx_hosts_builder(),
        MX_HOSTS.clone(),
        previous.next_part,
    )?;
    let client_rows = DatasetWriter::create(
        &config.out.join(CLIENT_ENDPOINTS_DIR),
        client_endpoints_builder(),
        CLIENT_ENDPOINTS.clone(),
        previous.next_part,
    )?;
    let bar = progress_bar(&config, total);

    let ctx = Arc::new(Ctx {
        dns,
        tls,
        cache: ProbeCache::new(),
        client_cache: ProbeCache::new(),
        politeness: Politeness::new(&config.limits),
        internal_errors: AtomicU64::new(0),
        probes_in_flight: AtomicU64::new(0),
        config: config.clone(),
    });
    let ticker = {
        let (ctx, bar) = (ctx.clone(), bar.clone());
        tokio::spawn(async move {
            loop {
                bar.set_message(format!(
                    "probes: {} in flight, {} done, {} cache hits",
                    ctx.probes_in_flight.load(Ordering::Relaxed),
                    ctx.cache.probes(),
                    ctx.cache.hits()
                ));
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        })
    };

    // Input thread: entries to the scheduler, rejects straight to their file; domains already written
    // by an interrupted run are skipped (their rows are in the kept parts).
    let (entry_tx, mut entry_rx) = mpsc::channel::<Entry>(1024);
    let input_bar = bar.clone();
    let done = previous.done;
    let input_thread = std::thread::Builder::new()
        .name("scan-input".into())
        .spawn(move || -> Result<(u64, u64), ScanError> {
            let mut rejects = rejects;
            let mut skipped = 0u64;
            for item in reader {
                match item? {
                    InputItem::Entry(e) if done.contains(&input::domain_key(e.domain.as_str())) => {
                        skipped += 1;
                        input_bar.inc(1);
                    }
                    InputItem::Entry(e) => {
                        if entry_tx.blocking_send(e).is_err() {
                            break;
                        }
                    }
                    InputItem::Reject(r) => {
                        rejects.write(&r)?;
                        input_bar.inc(1);
                    }
                }
            }
            Ok((rejects.finish()?, skipped))
        })
        .map_err(|e| ScanError::Usage(format!("cannot start the input thread: {e}")))?;

    // Writer thread: rows to Parquet, part N of both datasets closed together, counters for run.json.
    let (scan_tx, mut scan_rx) = mpsc::channel::<DomainScan>(1024);
    let writer_bar = bar.clone();
    let rows_per_part = config.rows_per_part.max(1);
    let writer_thread = std::thread::Builder::new()
        .name("scan-writer".into())
        .spawn(move || -> Result<Counts, OutputError> {
            let (mut domains, mut mx_rows, mut client_rows) = (domains, mx_rows, client_rows);
            let mut counts = Counts::default();
            let mut starttls: BTreeMap<String, u64> = BTreeMap::new();
            let close_parts = |domains: &mut DatasetWriter,
                               mx_rows: &mut DatasetWriter,
                               client_rows: &mut DatasetWriter|
             -> Result<(), OutputError> {
                // domains last: a domains part on disk means its mx_hosts and client_endpoints twins are complete.
                mx_rows.close_part()?;
                client_rows.close_part()?;
                domains.close_part()
            };
            while let Some(scan) = scan_rx.blocking_recv() {
                domains.push(|b| push_domain(b, &scan))?;
                for t in &scan.targets {
                    mx_rows.push(|b| push_mx(b, &scan, t))?;
                    if !t.cached {
                        *counts.probe_outcomes.entry(probe_outcome_key(&t.probe)).or_default() += 1;
                    }
                }
                for t in &scan.client.targets {
                    client_rows.push(|b| push_client(b, &scan, t))?;
                }
                *starttls.entry(scan.starttls().as_label().to_string()).or_default() += 1;
                writer_bar.inc(1);
                if domains.rows_in_part() >= rows_per_part {
                    close_parts(&mut domains, &mut mx_rows, &mut client_rows)?;
                }
            }
            if domains.rows_in_part() > 0 {
                close_parts(&mut domains, &mut mx_rows, &mut client_rows)?;
            }
            counts.domains = domains.finish()?;
            counts.mx_rows = mx_rows.finish()?;
            counts.client_rows = client_rows.finish()?;
            counts.starttls = starttls;
            Ok(counts)
        })
        .map_err(|e| ScanError::Usage(format!("cannot start the writer thread: {e}")))?;

    // Scheduler: one task per domain, at most `concurrency` in flight, until the input ends or `stop`.
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let mut interrupted = false;
    tokio::pin!(stop);
    loop {
        let entry = tokio::select! {
            biased;
            _ = &mut stop => {
                interrupted = true;
                break;
            }
            entry = entry_rx.recv() => entry,
        };
        let Some(entry) = entry else { break };
        if scan_tx.is_closed() {
            // The writer failed: its error is reported below.
            break;
        }
        let permit = tokio::select! {
            biased;
            _ = &mut stop => {
                interrupted = true;
                break;
            }
            permit = slots.clone().acquire_owned() => permit.expect("semaphore is never closed"),
        };
        let (ctx, tx) = (ctx.clone(), scan_tx.clone());
        tasks.spawn(async move {
            let scan = scan_domain(&ctx, entry).await;
            let _ = tx.send(scan).await;
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    drop(entry_rx);
    if interrupted {
        bar.suspend(|| {
            eprintln!("mailcensus: interrupted; finishing the domains in flight (up to {:?})", config.shutdown_grace)
        });
        let drained =
            tokio::time::timeout(config.shutdown_grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tasks.abort_all();
        }
    }
    while tasks.join_next().await.is_some() {}
    drop(scan_tx);

    ticker.abort();
    let writer_result = writer_thread.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
    let input_result = input_thread.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
    bar.finish_and_clear();
    let mut counts = writer_result?;
    let (rejects, skipped) = input_result?;
    counts.rejects = rejects;
    counts.already_done = skipped;
    counts.set_aside = previous.set_aside.len() as u64;
    counts.probes = ctx.cache.probes();
    counts.probe_cache_hits = ctx.cache.hits();
    counts.dns_queries = ctx.dns.queries();
    counts.internal_errors = ctx.internal_errors.load(Ordering::Relaxed);
    let elapsed = clock.elapsed().as_secs_f64();
    let per_second = |n: u64| if elapsed > 0.0 { n as f64 / elapsed } else { 0.0 };
    let info = RunInfo {
        tool: "mailcensus",
        version: env!("CARGO_PKG_VERSION"),
        schema_version: crate::output::schema::SCHEMA_VERSION,
        args: config.args.clone(),
        started_at: rfc3339(started),
        finished_at: rfc3339(SystemTime::now()),
        elapsed_seconds: elapsed,
        complete: !interrupted,
        resumed: config.resume,
        domains_per_second: per_second(counts.domains),
        probes_per_second: per_second(counts.probes),
        counts: counts.clone(),
    };
    info.write(&config.out.join(RUN_FILE))?;
    Ok(ScanSummary { counts, elapsed_seconds: elapsed, complete: !interrupted })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_skip_for_a_host_with_public_and_private_addresses() {
        let mut config = ScanConfig::new(InputSource::Stdin, "out".into());
        // An MX name resolving to a mix: only the public IPv4 address would be probed.
        let addresses = [
            "203.0.114.25",
            "10.1.2.3",
            "127.0.0.1",
            "::ffff:192.168.1.1",
            "2a00:1450:4001::1a",
            "fe80::1",
            "100.64.1.1",
        ];
        let decide = |c: &ScanConfig| {
            addresses.iter().enumerate().map(|(i, a)| address_skip(c, i, a.parse().unwrap())).collect::<Vec<_>>()
        };
        use SkipReason::*;
        assert_eq!(
            decide(&config),
            [
                None,
                Some(NonPublicAddress),
                Some(NonPublicAddress),
                Some(Ipv6Disabled),
                Some(Ipv6Disabled),
                Some(Ipv6Disabled),
                Some(NonPublicAddress)
            ]
        );
        config.ipv6 = true;
        // With IPv6 on, the IPv4-mapped private address is still caught as non-public.
        assert_eq!(decide(&config)[3..6], [Some(NonPublicAddress), None, Some(NonPublicAddress)]);
        config.allow_private = true;
        config.max_ips_per_mx = 6;
        config.exclude = crate::exclude::ExcludeList::parse("203.0.114.0/24").unwrap();
        assert_eq!(decide(&config), [Some(Excluded), None, None, None, None, None, Some(OverLimit)]);
    }
}
