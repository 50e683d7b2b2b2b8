//! `mailcensus bench`: the throughput of a whole scan against a simulated world in the same process.
//!
//! The world runs on its own runtime (threads named `world-*`), the scan on another (`scan-*`), so the
//! scanner's CPU time is the process's CPU time minus the world threads'. Reported: domains/s, DNS
//! queries/s, STARTTLS probes/s, TLS handshakes/s, probe latency percentiles, scanner CPU per probe,
//! peak RSS (world included) and the probe cache-hit ratio.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::demo::scan_config;
use crate::scan;
use crate::scan::runner::ProbeSource;
use crate::world::serve;
use crate::world::{World, WorldConfig};

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

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs a world and a scan of it, and measures. `dir` receives the world's files and the scan.
pub fn run(world: WorldConfig, dir: &Path) -> Result<BenchReport, Box<dyn std::error::Error + Send + Sync>> {
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
    let mut config = scan_config(&running, dir.join("scan"));
    config.progress = false;
    let (cpu0, world_cpu0, queries0) = (process_cpu_seconds(), threads_cpu_seconds("world"), running.dns.queries());
    let start = Instant::now();
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
    let c = &summary.counts;
    let per = |n: u64| n as f64 / elapsed.max(1e-9);
    let scanner_cpu = (total_cpu - world_cpu).max(0.0);
    Ok(BenchReport {
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
             scanner CPU         {:>10.2} s  ({:.3} ms/probe, {:.0} us/domain)\n\
             world CPU           {:>10.2} s\n\
             peak RSS            {:>10.1} MiB (world included)\n\
             cache-hit ratio     {:>10.3}\n",
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
            self.scanner_cpu_seconds,
            self.scanner_cpu_ms_per_probe,
            self.scanner_cpu_us_per_domain,
            self.world_cpu_seconds,
            self.peak_rss_mib,
            self.cache_hit_ratio
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
        assert_eq!(percentile(&[], 0.9), 0);
        assert!(peak_rss_bytes() > 0);
    }
}
