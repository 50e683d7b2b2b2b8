//! `mailcensus bench`: the throughput of a whole scan against a simulated world in the same process.
//!
//! The world runs on its own runtime (threads named `world-*`), the scan on another (`scan-*`), so the
//! scanner's CPU time is the process's CPU time minus the world threads'. Reported: domains/s, DNS
//! queries/s, STARTTLS probes/s, TLS handshakes/s, probe latency percentiles, scanner CPU per probe,
//! peak RSS (world included) and the probe cache-hit ratio.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::config::{Check, ScanConfig};
use crate::dns::Backend;
use crate::input::InputSource;
use crate::limit::Limits;
use crate::policy::dkim::DkimSearch;
use crate::scan;
use crate::scan::runner::ProbeSource;
use crate::world::serve::{self, RunningWorld};
use crate::world::{World, WorldConfig};

/// What a bench run scans with: the scan's own defaults (what a user gets) unless set here.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The checks made besides MX and STARTTLS (`--checks`; default all).
    pub checks: Vec<Check>,
    /// The DKIM selector search (`--dkim-search`).
    pub dkim_search: DkimSearch,
    /// What carries DNS queries (`--dns-backend`).
    pub backend: Backend,
    /// The politeness limits (default: the scan's defaults).
    pub limits: Limits,
    /// DNS queries per second. Default 100,000: the world's DNS server is in-process, and the scan's
    /// default of 500 is meant for a shared resolver; set 500 to bench with it.
    pub dns_qps: u32,
    /// `--concurrency` (default: the scan's).
    pub concurrency: Option<usize>,
    /// `--max-parked` (default: the scan's).
    pub max_parked: Option<usize>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            checks: Check::ALL.to_vec(),
            dkim_search: DkimSearch::default(),
            backend: Backend::default(),
            limits: Limits::default(),
            dns_qps: 100_000,
            concurrency: None,
            max_parked: None,
        }
    }
}

/// The scan configuration of a bench: the defaults, wired to the world (its resolver, its CA, its
/// ports, loopback allowed, DNSSEC off since the world is unsigned), and `options`.
pub fn bench_config(world: &RunningWorld, out: std::path::PathBuf, options: &BenchOptions) -> ScanConfig {
    let mut c = ScanConfig::new(InputSource::File(world.input_file()), out);
    c.dns.resolvers = vec![world.resolver()];
    c.ca_files = vec![world.ca_file()];
    c.guard.allow_private = true;
    c.smtp.port = world.world.config.smtp_port;
    c.smtp.ehlo_name = "bench.mailcensus.test".into();
    c.https_port = world.world.config.https_port;
    c.client.ports =
        crate::probe::client::Protocol::ALL.iter().map(|p| (*p, world.world.config.client_port(*p))).collect();
    c.only_checks(&options.checks);
    c.client.ispdb = world.ispdb();
    c.bimi_roots = crate::testkit::pki::read_pem_certificates(&world.mark_ca_file()).ok().map(std::sync::Arc::new);
    c.dns.dnssec = false;
    c.dns.qps = options.dns_qps;
    c.dns.backend = options.backend;
    c.dkim_search = options.dkim_search;
    c.limits = options.limits.clone();
    if let Some(n) = options.concurrency {
        c.concurrency = n.max(1);
    }
    if let Some(n) = options.max_parked {
        c.max_parked = n.max(1);
    }
    c.progress = false;
    c
}

/// What a bench run measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Domains in the world.
    pub domains: u64,
    /// Providers in the world.
    pub providers: u32,
    /// MX hosts in the world.
    pub mx_hosts: usize,
    /// Wall time of the scan, seconds.
    pub elapsed_seconds: f64,
    /// Domains per second.
    pub domains_per_second: f64,
    /// DNS queries the world's server answered.
    pub dns_queries: u64,
    /// DNS queries per second.
    pub dns_queries_per_second: f64,
    /// STARTTLS probes run.
    pub probes: u64,
    /// Probes per second.
    pub probes_per_second: f64,
    /// Completed TLS handshakes.
    pub tls_handshakes: u64,
    /// Handshakes per second.
    pub tls_handshakes_per_second: f64,
    /// Probe latency percentiles, milliseconds (p50, p95, p99).
    pub probe_latency_ms: [u32; 3],
    /// When half, 90% and 99% of the domains were done, seconds from the scan's start (a domain is
    /// done at `scanned_at` + `scan_duration_ms`): a run whose p99 is far below its wall time ends in
    /// a tail of a few slow domains (late DNS retries, a slow server), not in a slow engine.
    pub domains_done_seconds: [f64; 3],
    /// CPU seconds of the scanner (process minus world threads).
    pub scanner_cpu_seconds: f64,
    /// CPU seconds of the world's servers.
    pub world_cpu_seconds: f64,
    /// Scanner CPU per probe, milliseconds.
    pub scanner_cpu_ms_per_probe: f64,
    /// Scanner CPU per domain, microseconds.
    pub scanner_cpu_us_per_domain: f64,
    /// Peak resident memory of the process (world included), MiB.
    pub peak_rss_mib: f64,
    /// Share of (MX host, IP) requests answered from the probe cache.
    pub cache_hit_ratio: f64,
    /// DNS lookups per domain (answered from the cache or not).
    pub lookups_per_domain: f64,
    /// Scanner CPU per DNS lookup, microseconds: the scanner's CPU over the lookups, as an upper
    /// bound (the probes, the policies and the output are in it too).
    pub scanner_cpu_us_per_lookup: f64,
    /// DNS queries the transport sent (retries and TCP included) and answers it dropped.
    pub dns_sent: u64,
    /// What no engine could beat with these limits (see `run.json`'s `lower_bound_seconds`).
    pub lower_bound_seconds: f64,
    /// Wall time ÷ the lower bound (1.0 is perfect scheduling).
    pub wall_to_bound: f64,
    /// What the lower bound is made of (the probe runner's terms).
    pub bound: crate::scan::runner::Bound,
    /// The longest late-retried DNS lookup, seconds (the DNS retry term of the lower bound).
    pub longest_dns_retry_seconds: f64,
    /// The scan's limits: new connections per second, whole run; SMTP per-IP rate and connections.
    pub limits: String,
}

/// Clock ticks per second of `/proc` CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    // Fields after the parenthesised command name: state is field 3; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// CPU seconds of the whole process (every thread, live or ended).
pub fn process_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| stat_cpu_ticks(&s)).unwrap_or(0) as f64
        / TICKS_PER_SECOND
}

/// CPU seconds of the live threads whose name starts with `prefix`.
pub fn threads_cpu_seconds(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    let mut ticks = 0;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(prefix) {
            ticks +=
                std::fs::read_to_string(task.path().join("stat")).ok().and_then(|s| stat_cpu_ticks(&s)).unwrap_or(0);
        }
    }
    ticks as f64 / TICKS_PER_SECOND
}

/// Peak resident set size of the process, bytes.
pub fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// The durations of the probes actually run (a connection of their own) and the number of TLS handshakes, read from
/// the `mx_hosts` part files column by column, so that memory stays small for millions of rows.
fn probe_latencies(dir: &Path) -> Result<(Vec<u32>, u64), Box<dyn std::error::Error + Send + Sync>> {
    use crate::output::schema::col;
    let mut latencies = Vec::new();
    let mut handshakes = 0u64;
    crate::output::read::for_each_row(dir, &[col::PROBE_SOURCE, col::PROBE_DURATION_MS, col::TLS_VERSION], |r| {
        // Only the rows of a connection made for them; cached and shared-address rows repeat one.
        if r.str(col::PROBE_SOURCE) != Some(ProbeSource::Own.as_label()) {
            return;
        }
        if let Some(ms) = r.f64(col::PROBE_DURATION_MS) {
            latencies.push(ms as u32);
        }
        handshakes += r.str(col::TLS_VERSION).is_some() as u64;
    })?;
    Ok((latencies, handshakes))
}

/// When each domain of the scan was done (`scanned_at` + `scan_duration_ms`), milliseconds since
/// 1970, sorted.
fn domains_done_ms(dir: &Path) -> Result<Vec<u64>, Box<dyn std::error::Error + Send + Sync>> {
    use crate::output::schema::col;
    let mut done = Vec::new();
    crate::output::read::for_each_row(dir, &[col::SCANNED_AT, col::SCAN_DURATION_MS], |r| {
        if let (Some(at), Some(ms)) = (r.f64(col::SCANNED_AT), r.f64(col::SCAN_DURATION_MS)) {
            done.push((at + ms).max(0.0) as u64);
        }
    })?;
    done.sort_unstable();
    Ok(done)
}

fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs a world and a scan of it, and measures. `dir` receives the world's files and the scan.
pub fn run(
    world: WorldConfig,
    options: &BenchOptions,
    dir: &Path,
) -> Result<BenchReport, Box<dyn std::error::Error + Send + Sync>> {
    let world_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("world-worker")
        .enable_all()
        .build()?;
    let scan_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("scan-worker")
        .enable_all()
        .build()?;
    let _ = std::fs::remove_dir_all(dir.join("scan"));
    let running = world_rt.block_on(serve::start(World::generate(world.clone()), &dir.join("world")))?;
    let config = bench_config(&running, dir.join("scan"), options);
    let (cpu0, world_cpu0, queries0) = (process_cpu_seconds(), threads_cpu_seconds("world"), running.dns.queries());
    let start = Instant::now();
    let start_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64;
    let summary = scan_rt.block_on(scan::run(config))?;
    let elapsed = start.elapsed().as_secs_f64();
    let world_cpu = threads_cpu_seconds("world") - world_cpu0;
    let total_cpu = process_cpu_seconds() - cpu0;
    let dns_queries = running.dns.queries() - queries0;
    let peak = peak_rss_bytes();
    drop(running);
    world_rt.shutdown_background();

    let (mut latencies, handshakes) = probe_latencies(&dir.join("scan").join(crate::output::MX_HOSTS_DIR))?;
    latencies.sort_unstable();
    let done = domains_done_ms(&dir.join("scan").join(crate::output::DOMAINS_DIR))?;
    let done_at = |p: f64| percentile(&done, p).saturating_sub(start_ms) as f64 / 1000.0;
    let c = &summary.counts;
    let per = |n: u64| n as f64 / elapsed.max(1e-9);
    let scanner_cpu = (total_cpu - world_cpu).max(0.0);
    let l = &options.limits;
    Ok(BenchReport {
        lookups_per_domain: if c.domains > 0 { c.dns_queries as f64 / c.domains as f64 } else { 0.0 },
        scanner_cpu_us_per_lookup: if c.dns_queries > 0 { 1e6 * scanner_cpu / c.dns_queries as f64 } else { 0.0 },
        dns_sent: c.dns_sent,
        lower_bound_seconds: c.lower_bound_seconds,
        wall_to_bound: if c.lower_bound_seconds > 0.0 { elapsed / c.lower_bound_seconds } else { 0.0 },
        bound: c.runner.bound.clone(),
        longest_dns_retry_seconds: c.longest_dns_retry_seconds,
        limits: format!(
            "--probe-rate {} --per-ip-rate {} --per-ip-connections {} --dns-qps {}",
            l.probe_rate, l.smtp.per_ip_rate, l.smtp.per_ip_connections, options.dns_qps
        ),
        domains: world.domains,
        providers: world.providers,
        mx_hosts: World::generate(world.clone()).mx_hosts().count(),
        elapsed_seconds: elapsed,
        domains_per_second: per(c.domains),
        dns_queries,
        dns_queries_per_second: per(dns_queries),
        probes: c.probes,
        probes_per_second: per(c.probes),
        tls_handshakes: handshakes,
        tls_handshakes_per_second: per(handshakes),
        probe_latency_ms: [percentile(&latencies, 0.5), percentile(&latencies, 0.95), percentile(&latencies, 0.99)],
        domains_done_seconds: [done_at(0.5), done_at(0.9), done_at(0.99)],
        scanner_cpu_seconds: scanner_cpu,
        world_cpu_seconds: world_cpu,
        scanner_cpu_ms_per_probe: if c.probes > 0 { 1000.0 * scanner_cpu / c.probes as f64 } else { 0.0 },
        scanner_cpu_us_per_domain: if c.domains > 0 { 1e6 * scanner_cpu / c.domains as f64 } else { 0.0 },
        peak_rss_mib: peak as f64 / (1024.0 * 1024.0),
        cache_hit_ratio: if c.probes + c.probe_cache_hits > 0 {
            c.probe_cache_hits as f64 / (c.probes + c.probe_cache_hits) as f64
        } else {
            0.0
        },
    })
}

impl BenchReport {
    /// A human-readable table.
    pub fn render(&self) -> String {
        format!(
            "world: {} domains, {} providers, {} MX hosts\n\
             elapsed             {:>10.2} s\n\
             domains/s           {:>10.0}\n\
             DNS queries/s       {:>10.0}  ({} queries)\n\
             STARTTLS probes/s   {:>10.0}  ({} probes)\n\
             TLS handshakes/s    {:>10.0}  ({} handshakes)\n\
             probe latency ms    p50 {} p95 {} p99 {}\n\
             domains done at s   p50 {:.2} p90 {:.2} p99 {:.2}\n\
             scanner CPU         {:>10.2} s  ({:.3} ms/probe, {:.0} us/domain)\n\
             world CPU           {:>10.2} s\n\
             peak RSS            {:>10.1} MiB (world included)\n\
             cache-hit ratio     {:>10.3}\n\
             DNS lookups/domain  {:>10.2}  ({:.1} us scanner CPU per lookup, {} queries sent)\n\
             lower bound         {:>10.2} s  (wall / bound {:.2}; busiest {} {:.2} s, probe rate {:.2} s, longest connection {:.2} s, longest job {:.2} s, longest DNS retry {:.2} s)\n\
             limits              {}\n",
            self.domains,
            self.providers,
            self.mx_hosts,
            self.elapsed_seconds,
            self.domains_per_second,
            self.dns_queries_per_second,
            self.dns_queries,
            self.probes_per_second,
            self.probes,
            self.tls_handshakes_per_second,
            self.tls_handshakes,
            self.probe_latency_ms[0],
            self.probe_latency_ms[1],
            self.probe_latency_ms[2],
            self.domains_done_seconds[0],
            self.domains_done_seconds[1],
            self.domains_done_seconds[2],
            self.scanner_cpu_seconds,
            self.scanner_cpu_ms_per_probe,
            self.scanner_cpu_us_per_domain,
            self.world_cpu_seconds,
            self.peak_rss_mib,
            self.cache_hit_ratio,
            self.lookups_per_domain,
            self.scanner_cpu_us_per_lookup,
            self.dns_sent,
            self.lower_bound_seconds,
            self.wall_to_bound,
            self.bound.busiest_destination,
            self.bound.busiest_destination_seconds,
            self.bound.probe_rate_seconds,
            self.bound.longest_connection_seconds,
            self.bound.longest_job_seconds,
            self.longest_dns_retry_seconds,
            self.limits
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing() {
        let stat = "1234 (scan worker) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(stat_cpu_ticks(stat), Some(300));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5), 6);
        assert_eq!(percentile::<u32>(&[], 0.9), 0);
        assert!(peak_rss_bytes() > 0);
    }
}
