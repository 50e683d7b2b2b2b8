//! One domain, in stages:
//!
//! 1. **Resolve**, holding one of the run's `--concurrency` resolve slots and within the domain's
//!    deadline (`--domain-timeout`): MX and the MX hosts' addresses (with DNSSEC and TLSA), SPF
//!    (evaluated), DMARC, DKIM, TLS-RPT, the MTA-STS record and its policy host, the client endpoints'
//!    SRV records and the autoconfig host.
//! 2. **Plan**: what that makes to contact: each (MX host, address), the policy fetch, the autoconfig
//!    fetch, each SRV endpoint's addresses.
//! 3. **Probe**: hand it all to the probe runner and wait, **parked**: the domain holds no resolve slot
//!    while its probes wait for their turn at busy destinations, so a queue at one address never stops
//!    other domains from being resolved and probed.
//! 4. **Client endpoints**, beside the MX probes (they need none of their answers): once the
//!    autoconfig file is fetched, what it, the ISPDB or the MX's provider declare, or guesses: resolve
//!    them (a slot and the deadline again), probe them (parked again). A domain whose MX waits in a
//!    long queue does not start its client probes only after it, nor the other way round.
//! 5. **Assemble** the [`DomainScan`].
//!
//! The deadline counts the domain's own work, its lookups; the connections have their own deadlines
//! (`--probe-timeout`, `--https-timeout`) and their turn at a destination is bounded by the queue
//! ahead of them and the destination's rate. A domain whose deadline passes is written with what was
//! gathered: unfinished lookups say `timeout` with a deadline detail, and `scan_error` says
//! `domain_timeout`. A panic anywhere in a domain's scan becomes its row (`scan_error` `internal`).

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::FutureExt;
use futures::future::OptionFuture;

use super::Engine;
use super::result::{ClientScan, DomainScan, MxSource, MxTarget};
use super::targets::{self, FetchFrom, Resolved};
use crate::client::{self, Endpoint, Source, SrvStep};
use crate::dns::{DEADLINE_DETAIL, DnsFailure, DnsFailureKind, DnsOutcome, MxEntry, MxSecurity, OutcomeKind};
use crate::input::Entry;
use crate::policy::bimi::{self, BimiResult, BimiStatus};
use crate::policy::dkim::{self, DkimResult};
use crate::policy::dmarc::DmarcResult;
use crate::policy::mta_sts::{self, MtaStsResult};
use crate::policy::spf::SpfResult;
use crate::policy::tls_rpt::TlsRptResult;
use crate::policy::{FetchOutcome, PolicyStatus, dmarc, spf, tls_rpt};

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
pub(super) async fn scan(e: &Engine, entry: Entry) -> DomainScan {
    let started = Instant::now();
    let scanned_at_ms = now_ms();
    let mut scan = match AssertUnwindSafe(stages(e, entry.clone(), scanned_at_ms)).catch_unwind().await {
        Ok(scan) => scan,
        Err(p) => {
            e.internal_errors.fetch_add(1, Ordering::Relaxed);
            DomainScan::failed(entry, scanned_at_ms, format!("internal: {}", panic_text(&*p)))
        }
    };
    scan.duration_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
    scan
}

/// The domain's deadline: the time its resolve stages may take.
struct Budget {
    left: Duration,
    expired: bool,
}

impl Engine {
    /// Runs a resolve stage of a domain: with a resolve slot, within what is left of its deadline.
    /// Returns false when the deadline passed (what `stage` wrote so far stays). The stage is made
    /// only once the slot is held: a domain waiting for a slot carries no room for its lookups.
    async fn resolving<F: Future<Output = ()>>(&self, budget: &mut Budget, stage: impl FnOnce() -> F) -> bool {
        if budget.expired {
            return false;
        }
        let _slot = self.resolve_slots.acquire().await.expect("the resolve semaphore is never closed");
        let stage = stage();
        let started = Instant::now();
        let finished = tokio::time::timeout(budget.left, stage).await.is_ok();
        budget.left = budget.left.saturating_sub(started.elapsed());
        budget.expired |= !finished;
        finished
    }
}

/// What the resolve stage found that the probe stage contacts.
#[derive(Default)]
struct Plan {
    /// Each MX host, resolved (or not, when the deadline passed).
    mx: Vec<(MxEntry, Resolved, Option<std::sync::Arc<MxSecurity>>)>,
    /// The MTA-STS TXT lookup and, when its record is valid, the policy host's address.
    mta_sts: Option<(DnsOutcome<Vec<String>>, Option<FetchFrom>)>,
    /// Client discovery ran (the domain accepts mail, client probes are on).
    client: bool,
    /// The SRV step and its endpoints' addresses.
    srv: SrvStep,
    srv_resolved: Vec<Resolved>,
    /// The autoconfig host's address.
    autoconfig: Option<FetchFrom>,
    /// BIMI's logo and mark certificate: (host, path, address) of each, when the record is valid.
    bimi: Option<(BimiFetch, Option<BimiFetch>)>,
}

/// One BIMI file to fetch: its host, path and the host's address.
struct BimiFetch {
    host: String,
    path: String,
    from: FetchFrom,
}

async fn stages(e: &Engine, entry: Entry, scanned_at_ms: i64) -> DomainScan {
    let name = entry.domain.as_str().to_string();
    if e.config.guard.excludes_name(&name) {
        return DomainScan::excluded(entry, scanned_at_ms);
    }
    if e.config.inject_panic.as_deref() == Some(name.as_str()) {
        panic!("injected panic scanning {name}");
    }
    let deadline = DnsFailure { kind: DnsFailureKind::Timeout, detail: DEADLINE_DETAIL.into() };
    let mut s = DomainScan::unfinished(entry, scanned_at_ms, deadline);
    let mut budget = Budget { left: e.config.domain_timeout, expired: false };
    let mut plan = Plan::default();

    // 1-2. Resolve, and with it the plan. Each stage is boxed: a future is as large as its largest
    // state, and a parked domain should carry its data, not the space of the stages it is done with.
    e.resolving(&mut budget, || Box::pin(resolve(e, &name, &mut s, &mut plan))).await;

    // 3. Probe, parked: the MX addresses, the MTA-STS policy, BIMI's files; and beside them (4.) the
    // client endpoints: the autoconfig file and the SRV endpoints, then what they lead to. The client
    // step needs none of the MX probes' answers, so it does not wait for them: a queue at the MX's
    // address never delays the probes of the domain's client endpoints, and the other way round.
    let Plan { mx: planned_mx, mta_sts: sts_plan, client: client_on, srv, srv_resolved, autoconfig: auto_plan, bimi } =
        plan;
    let mx =
        futures::future::join_all(planned_mx.iter().map(|(mx, r, sec)| targets::mx_targets(e, mx, r, sec.clone())));
    let sts = async {
        let (txt, address) = sts_plan?;
        Some(
            mta_sts::evaluate(&txt, || async {
                let ip = address.unwrap_or_else(|| Err((FetchOutcome::AddressLookupFailed, DEADLINE_DETAIL.into())))?;
                targets::fetch(e, &mta_sts::policy_host(&name), ip, mta_sts::POLICY_PATH, mta_sts::MAX_POLICY_BYTES)
                    .await
            })
            .await,
        )
    };
    let bimi_fetches = async {
        let (logo, certificate) = bimi?;
        let get = |f: BimiFetch, max| async move { targets::fetch(e, &f.host, f.from?, &f.path, max).await };
        let certificate = OptionFuture::from(certificate.map(|c| get(c, bimi::MAX_CERTIFICATE_BYTES)));
        Some(tokio::join!(get(logo, bimi::MAX_LOGO_BYTES), certificate))
    };
    // Boxed: most domains publish no BIMI, and a parked domain should not carry room for its fetches.
    let bimi_fetches = Box::pin(bimi_fetches);
    let mail_probes = Box::pin(async { tokio::join!(mx, sts, bimi_fetches) });
    let client_facts = ClientFacts {
        own_mail_host: s.mx_hosts.iter().any(|m| m.host == name || m.host.ends_with(&format!(".{name}"))),
        provider: s.mx_provider(),
    };
    let clients = OptionFuture::from(client_on.then(|| {
        let found = ClientPlan { srv, srv_resolved, autoconfig: auto_plan };
        Box::pin(client_step(e, &name, &mut s.client, &mut budget, client_facts, found))
    }));
    let ((mx_rows, sts, bimi_got), _) = tokio::join!(mail_probes, clients);
    if let Some((logo, certificate)) = bimi_got {
        let org = crate::domain::organizational_domain(&name);
        let roots = e.config.bimi_roots.as_deref().map(Vec::as_slice);
        bimi::judge_fetches(&mut s.bimi, logo, certificate, &name, &org, roots, rustls::pki_types::UnixTime::now());
    }
    s.targets = mx_rows.into_iter().flatten().collect::<Vec<MxTarget>>();
    if let Some(sts) = sts {
        s.mta_sts = sts;
    }
    finish(s, &budget, e)
}

/// What the resolve stage found for the client step: the SRV endpoints (resolved), the autoconfig
/// host's address.
struct ClientPlan {
    srv: SrvStep,
    srv_resolved: Vec<Resolved>,
    autoconfig: Option<FetchFrom>,
}

/// What the client step needs to know of the domain's MX hosts.
struct ClientFacts {
    /// An MX host is the domain or under it (or the MX is implicit): the domain runs its own mail.
    own_mail_host: bool,
    /// The registrable domain of the primary MX host.
    provider: Option<String>,
}

/// The client endpoints of a domain that accepts mail: the SRV endpoints probed, the autoconfig file
/// at the domain fetched; then, beyond SRV, the first configuration published (autoconfig at the
/// domain, its well-known URL, the ISPDB by the domain); when the domain published nothing at all,
/// what its mail provider tells mail apps (found once per run per provider), or guesses under the
/// domain when it is its own mail host. Those are resolved (with a resolve slot, within the deadline)
/// and probed.
async fn client_step(
    e: &Engine,
    name: &str,
    client: &mut ClientScan,
    budget: &mut Budget,
    facts: ClientFacts,
    plan: ClientPlan,
) {
    let ClientPlan { srv, srv_resolved, autoconfig: auto_plan } = plan;
    let srv_probes = futures::future::join_all(
        srv.endpoints.iter().zip(&srv_resolved).map(|(ep, r)| targets::client_targets(e, ep, r)),
    );
    let more_probes = async {
        let autoconfig = match auto_plan {
            Some(from) => {
                targets::fetch_autoconfig(e, &format!("autoconfig.{name}"), from, client::autoconfig::PATH).await
            }
            None => Err((FetchOutcome::AddressLookupFailed, DEADLINE_DETAIL.into())),
        };
        more_endpoints(e, name, client, budget, facts, &srv, autoconfig).await
    };
    let (srv_rows, more_rows) = tokio::join!(srv_probes, more_probes);
    // SRV endpoints first, then the others, as they were found.
    let mut rows: Vec<_> = srv_rows.into_iter().flatten().collect();
    rows.extend(more_rows);
    client.targets = rows;
}

/// The client endpoints beyond SRV (see [`client_step`]): found, resolved and probed; their rows.
async fn more_endpoints(
    e: &Engine,
    name: &str,
    client: &mut ClientScan,
    budget: &mut Budget,
    facts: ClientFacts,
    srv: &SrvStep,
    autoconfig: Result<client::autoconfig::ConfigFile, (FetchOutcome, String)>,
) -> Vec<super::result::ClientTarget> {
    let settings = &e.config.client;
    let mut more: Vec<Endpoint> = match autoconfig {
        Ok(file) => {
            client.autoconfig = (FetchOutcome::Ok, None);
            client.provider_id = file.provider_id.clone();
            client::declared_endpoints(&file.servers, name, Source::Autoconfig, settings)
        }
        Err((outcome, detail)) => {
            client.lookups_failed |= outcome == FetchOutcome::AddressLookupFailed;
            client.autoconfig = (outcome, (!detail.is_empty()).then_some(detail));
            Vec::new()
        }
    };
    if more.is_empty() && settings.well_known {
        // Boxed, like every stage: a parked domain should not carry room for the fetch it is done with.
        let (found, failed, id) = Box::pin(well_known(e, name, budget)).await;
        more = found;
        client.lookups_failed |= failed;
        client.provider_id = id;
    }
    if more.is_empty()
        && let Some(p) = settings.ispdb.lookup(name)
    {
        more = client::declared_endpoints(&p.config.servers, name, Source::Ispdb, settings);
        client.provider_id = Some(p.id.clone());
    }
    let ClientFacts { own_mail_host, provider } = facts;
    let nothing_published = more.is_empty() && srv.endpoints.is_empty() && srv.not_offered.is_empty();
    let own_org = crate::domain::organizational_domain(name);
    let mut provider_addresses = None;
    if nothing_published
        && !own_mail_host
        && settings.via_mx
        && let Some(provider) = provider.filter(|p| *p != own_org && *p != name)
    {
        let found = Box::pin(e.providers.get(e, &provider)).await;
        if let Some(source) = found.source {
            more = client::declared_endpoints(&found.servers, name, source, settings);
            if source == Source::GuessMx {
                more.iter_mut().for_each(|ep| ep.declared = None);
            }
            client.provider_id = found.id.clone();
        }
        client.lookups_failed |= more.is_empty() && found.failed;
        provider_addresses = Some(found);
    }
    let mut resolved_more: Vec<Resolved> = more.iter().map(|_| Resolved::pending()).collect();
    let mut guessed_failed = false;
    let found = e
        .resolving(budget, || {
            Box::pin(async {
                // Guesses only where they can exist: a domain that is its own mail host (an MX under
                // the domain, or an implicit MX) may run mail.<domain> and its kin.
                if nothing_published && own_mail_host {
                    let (guesses, failed) =
                        client::guesses(&e.dns, &e.config.guard, name, Source::Guess, &e.config.client).await;
                    guessed_failed = failed;
                    more = guesses;
                    resolved_more = more.iter().map(|_| Resolved::pending()).collect();
                }
                let max = e.config.client.max_endpoints.saturating_sub(srv.endpoints.len());
                more.truncate(max);
                resolved_more.truncate(max);
                // A provider's hosts were resolved once for all its domains.
                let known = |host: &str| provider_addresses.as_ref().and_then(|p| p.addresses.get(host)).cloned();
                let lookups = more.iter().map(|ep| async {
                    match known(&ep.host) {
                        Some(r) => r,
                        None => targets::resolve_host(e, &ep.host).await,
                    }
                });
                for (slot, r) in resolved_more.iter_mut().zip(futures::future::join_all(lookups).await) {
                    *slot = r;
                }
            })
        })
        .await;
    client.config_source = more.first().map(|ep| ep.source);
    client.lookups_failed |= guessed_failed || !found;
    client.endpoints = srv.endpoints.len() + more.len();
    let rows =
        futures::future::join_all(more.iter().zip(&resolved_more).map(|(ep, r)| targets::client_targets(e, ep, r)));
    Box::pin(rows).await.into_iter().flatten().collect()
}

/// The autoconfig file at `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml`: its
/// endpoints, whether the domain's address lookup failed, and the file's provider id.
async fn well_known(e: &Engine, name: &str, budget: &mut Budget) -> (Vec<Endpoint>, bool, Option<String>) {
    let mut resolved = Resolved::pending();
    e.resolving(budget, || async { resolved = targets::resolve_own_host(e, name).await }).await;
    let from = targets::fetch_address(e, name, &resolved);
    match targets::fetch_autoconfig(e, name, from, client::autoconfig::WELL_KNOWN_PATH).await {
        Ok(file) => {
            let found = client::declared_endpoints(&file.servers, name, Source::AutoconfigWellKnown, &e.config.client);
            (found, false, file.provider_id)
        }
        Err((outcome, _)) => (Vec::new(), outcome == FetchOutcome::AddressLookupFailed, None),
    }
}

fn finish(mut s: DomainScan, budget: &Budget, e: &Engine) -> DomainScan {
    if budget.expired {
        e.domain_timeouts.fetch_add(1, Ordering::Relaxed);
        s.scan_error = Some(format!(
            "domain_timeout: lookups not finished within --domain-timeout {:?}; unfinished ones say timeout",
            e.config.domain_timeout
        ));
    }
    s
}

/// The resolve stage: every lookup of the domain, writing each result into `s` and `plan` as soon as
/// it is known (so that a deadline keeps what was gathered).
async fn resolve(e: &Engine, name: &str, s: &mut DomainScan, plan: &mut Plan) {
    let dns = &e.dns;
    let c = &e.config;
    let DomainScan {
        entry,
        mx,
        dnssec,
        mx_source,
        mx_hosts,
        spf_txt_outcome,
        spf: spf_out,
        dmarc_txt_outcome,
        dmarc: dmarc_out,
        dkim: dkim_out,
        mta_sts: mta_sts_out,
        tls_rpt_txt_outcome,
        tls_rpt: tls_rpt_out,
        client: client_out,
        bimi: bimi_out,
        spf_hosts,
        ptr_checked,
        ..
    } = s;
    let Plan {
        mx: planned,
        mta_sts: sts_plan,
        client: client_plan,
        srv,
        srv_resolved,
        autoconfig,
        bimi: bimi_plan,
        ..
    } = plan;
    *ptr_checked = c.ptr;
    // The domain's own selectors (from the input) first: they are known, not guessed.
    let selectors: Vec<&str> = entry.dkim_selectors.iter().chain(&c.dkim_selectors).map(String::as_str).collect();

    let mail = async {
        let (answer, status) = dns.mx_checked(name).await;
        *dnssec = status;
        let (source, hosts) = mx_source_of(e, name, &answer).await;
        *mx = answer;
        *mx_source = source;
        *mx_hosts = hosts.clone();
        *planned = hosts.iter().map(|h| (h.clone(), Resolved::pending(), None)).collect();
        let hosts_resolved = async {
            let lookups = hosts.iter().enumerate().map(|(i, h)| targets::resolve_mx(e, h, i));
            // Results are written as they come, so that a deadline keeps the hosts already resolved.
            let mut pending: futures::stream::FuturesUnordered<_> =
                lookups.enumerate().map(|(i, f)| async move { (i, f.await) }).collect();
            while let Some((i, (resolved, security))) = futures::StreamExt::next(&mut pending).await {
                planned[i].1 = resolved;
                planned[i].2 = security;
            }
        };
        let accepts_mail = !matches!(source, MxSource::NullMx | MxSource::None);
        let clients = async {
            if !c.client.enabled {
                return;
            }
            *client_out = ClientScan { probed: true, no_mail: !accepts_mail, ..ClientScan::default() };
            if !accepts_mail {
                return;
            }
            *client_plan = true;
            let host = format!("autoconfig.{name}");
            let (step, auto) =
                tokio::join!(client::srv(dns, name, &c.client.protocols), targets::resolve_own_host(e, &host));
            *autoconfig = Some(targets::fetch_address(e, &host, &auto));
            client_out.lookups_failed |= !step.failed.is_empty();
            client_out.srv_not_offered = step.not_offered.clone();
            let mut step = step;
            step.endpoints.truncate(c.client.max_endpoints);
            *srv_resolved = step.endpoints.iter().map(|_| Resolved::pending()).collect();
            *srv = step;
            let lookups = srv.endpoints.iter().map(|ep| targets::resolve_host(e, &ep.host));
            for (slot, r) in srv_resolved.iter_mut().zip(futures::future::join_all(lookups).await) {
                *slot = r;
            }
        };
        tokio::join!(hosts_resolved, clients);
    };
    let spf_check = async {
        if !c.spf {
            (*spf_txt_outcome, *spf_out) = (OutcomeKind::NotQueried, SpfResult::not_queried());
            return;
        }
        let txt = dns.once().txt(name).await;
        *spf_txt_outcome = txt.kind();
        *spf_out = spf::from_txt(&txt);
        *spf_out = spf::evaluate(dns, name, &txt).await;
        let singles = spf_out.eval.single_hosts.clone();
        let reverse = futures::future::join_all(singles.iter().map(|ip| targets::reverse(e, *ip))).await;
        *spf_hosts = singles.into_iter().zip(reverse).collect();
    };
    let dmarc_check = async {
        if !c.dmarc {
            (*dmarc_txt_outcome, *dmarc_out) = (OutcomeKind::NotQueried, DmarcResult::not_queried());
            return;
        }
        let txt = dns.once().txt(&format!("_dmarc.{name}")).await;
        *dmarc_txt_outcome = txt.kind();
        *dmarc_out = dmarc::from_txt(&txt);
        *dmarc_out = dmarc::evaluate(dns, name, &txt).await;
    };
    let dkim_check = async {
        *dkim_out = if c.dkim {
            dkim::discover(&dns.once(), name, &selectors, c.dkim_search).await
        } else {
            DkimResult { status: dkim::DkimStatus::NotQueried, ..DkimResult::default() }
        };
    };
    let tls_rpt_check = async {
        if !c.tls_rpt {
            (*tls_rpt_txt_outcome, *tls_rpt_out) = (OutcomeKind::NotQueried, TlsRptResult::not_queried());
            return;
        }
        let txt = dns.once().txt(&format!("_smtp._tls.{name}")).await;
        *tls_rpt_txt_outcome = txt.kind();
        *tls_rpt_out = tls_rpt::from_txt(&txt);
    };
    let sts_check = async {
        if !c.mta_sts {
            *mta_sts_out = MtaStsResult::not_queried();
            return;
        }
        let txt = dns.once().txt(&format!("_mta-sts.{name}")).await;
        // Until the policy is fetched, the record alone (a deadline leaves it so).
        *mta_sts_out = mta_sts::evaluate(&txt, || async { Err((FetchOutcome::NotFetched, String::new())) }).await;
        if mta_sts_out.status == PolicyStatus::Valid {
            mta_sts_out.fetch = FetchOutcome::AddressLookupFailed;
            mta_sts_out.detail = Some(DEADLINE_DETAIL.into());
            *sts_plan = Some((txt.clone(), None));
            let host = mta_sts::policy_host(name);
            let resolved = targets::resolve_own_host(e, &host).await;
            *sts_plan = Some((txt, Some(targets::fetch_address(e, &host, &resolved))));
        } else {
            *sts_plan = Some((txt, None));
        }
    };
    let bimi_check = async {
        if !c.bimi {
            **bimi_out = BimiResult::not_queried();
            return;
        }
        let txt = dns.once().txt(&format!("default._bimi.{name}")).await;
        **bimi_out = bimi::from_txt(&txt);
        let Some(record) = bimi_out.parsed.clone().filter(|_| bimi_out.status == BimiStatus::Valid) else { return };
        // Until the fetches are planned (a deadline leaves it so).
        bimi_out.logo_fetch = FetchOutcome::AddressLookupFailed;
        bimi_out.fetch_detail = Some(DEADLINE_DETAIL.into());
        let plan_fetch = |url: &str| {
            let (host, path) = bimi::split_url(url).expect("parse checked the URL");
            async move {
                let resolved = targets::resolve_host(e, &host).await;
                let from = targets::fetch_address(e, &host, &resolved);
                BimiFetch { host, path, from }
            }
        };
        let logo = OptionFuture::from(record.logo.as_deref().map(plan_fetch));
        let certificate = OptionFuture::from(record.authority.as_deref().map(plan_fetch));
        let (logo, certificate) = tokio::join!(logo, certificate);
        if let Some(logo) = logo {
            *bimi_plan = Some((logo, certificate));
        }
    };
    tokio::join!(mail, spf_check, dmarc_check, dkim_check, tls_rpt_check, sts_check, bimi_check);
}

/// Where the domain's mail exchangers come from, and which they are (RFC 5321 §5.1: no MX but an
/// address makes the domain its own MX; RFC 7505: the null MX accepts no mail).
async fn mx_source_of(e: &Engine, name: &str, mx: &DnsOutcome<Vec<MxEntry>>) -> (MxSource, Vec<MxEntry>) {
    match mx {
        DnsOutcome::Found(list) => {
            let hosts: Vec<MxEntry> = list.iter().filter(|m| !m.host.is_empty()).cloned().collect();
            if hosts.is_empty() { (MxSource::NullMx, hosts) } else { (MxSource::Explicit, hosts) }
        }
        DnsOutcome::NxDomain => (MxSource::None, Vec::new()),
        DnsOutcome::Failed(_) => (MxSource::Unknown, Vec::new()),
        DnsOutcome::NoData => {
            // The same cached lookups serve as the implicit MX's addresses.
            let addresses = e.dns.host_addresses(name).await;
            if !addresses.ips().is_empty() {
                (MxSource::Implicit, vec![MxEntry { preference: 0, host: name.to_string() }])
            } else if addresses.a.failure().is_some() || addresses.aaaa.failure().is_some() {
                (MxSource::Unknown, Vec::new())
            } else {
                (MxSource::None, Vec::new())
            }
        }
    }
}
