//! The scan engine: input → resolve → plan → probe → assemble → write, with memory bounded however
//! long the input and however long a destination's queue.
//!
//! - An input thread streams the list, writes rejects, and sends entries on a bounded channel.
//! - Each domain runs its stages ([`domain`]): it holds one of `--concurrency` resolve slots only while
//!   it resolves, and waits for its probes parked, holding no slot. At most `--max-parked` domains are
//!   in flight; beyond that the input waits (backpressure).
//! - Every connection goes through the probe runner ([`runner`]): per-destination queues served
//!   fairly within each politeness class's limits, once-per-run results, the shared-address rule, a
//!   panic guard, retries and counters.
//! - A writer thread turns finished domains into rows of `domains`, `mx_hosts` and
//!   `client_endpoints` ([`crate::output`]).
//!
//! So the wall time of a run is the largest of: the busiest destination's queue at its rate, all
//! connections at `--probe-rate`, all lookups at `--dns-qps`, and the slowest deadline; not their sum.

pub(crate) mod defer;
mod domain;
pub mod plausibility;
pub mod progress;
mod provider;
pub mod readiness;
pub mod result;
pub mod runner;
mod targets;
pub mod verdict;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::config::ScanConfig;
use crate::dns::Dns;
use crate::input::{self, Entry, InputError, InputItem, InputReader, InputSource};
use crate::output::batch::{
    BatchBuilder, RunStamp, client_endpoints_builder, mx_hosts_builder, push_client, push_domain, push_mx,
};
use crate::output::parquet::{DatasetWriter, OutputError};
use crate::output::rejects::RejectsWriter;
use crate::output::resume::{self, Resume};
use crate::output::run_info::{Counts, RunInfo, rfc3339};
use crate::output::schema::{CLIENT_ENDPOINTS, MX_HOSTS};
use crate::output::{CLIENT_ENDPOINTS_DIR, DATASET_DIRS, DOMAINS_DIR, MX_HOSTS_DIR, REJECTS_FILE, RUN_FILE};
use crate::probe::Attempt;
use crate::probe::tls::{CaFileError, TlsContext};
use result::DomainScan;
use runner::{Kit, Runner};

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
    /// A scanner bug stopped the scan: the writer or input thread panicked (exit code 1).
    #[error("internal error: {0}")]
    Internal(String),
    /// The resolver or network cannot give right answers; nothing was scanned (exit code 5).
    #[error("{0}")]
    Implausible(String),
}

impl ScanError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Output(_) | Self::Internal(_) => 1,
            Self::Implausible(_) => 5,
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
    /// What cannot be right about the results ([`plausibility`]).
    pub warnings: Vec<plausibility::Warning>,
    /// The run stopped after `--judge-after` domains because its results could not be right
    /// (`warnings` says why; exit code 5).
    pub stopped_early: bool,
    /// Domains not written because they wait for a probe phase (a DNS shard of a sharded scan).
    pub deferred: u64,
}

/// The writer's early judgement of a run ([`plausibility`] on the first `after` domains of the input).
///
/// The sample is the first `after` domains *admitted* (in input order), judged once every one of them
/// is written, not the first `after` written: domains finish in an order that depends on their
/// results (one without MX is done at once, one whose MX waits for a busy address later), so the
/// first ones written are mostly those without MX, and judging them stopped healthy runs.
struct Judge {
    after: u64,
    config: ScanConfig,
    verdict: Arc<EarlyVerdict>,
    /// The input line of the `after`-th domain admitted (`u64::MAX` until then): input lines rise
    /// with admission, so the sample is the domains at this line or before.
    last_line: Arc<AtomicU64>,
}

/// What the early judgement decided: the warnings that stop the run, and the signal to stop.
#[derive(Default)]
struct EarlyVerdict {
    warnings: std::sync::Mutex<Vec<plausibility::Warning>>,
    stopped: tokio::sync::Notify,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What every domain of a run shares.
pub(crate) struct Engine {
    pub(crate) dns: Dns,
    pub(crate) runner: Runner,
    pub(crate) config: ScanConfig,
    /// Domains resolving at once (`--concurrency`).
    pub(crate) resolve_slots: Semaphore,
    pub(crate) internal_errors: AtomicU64,
    pub(crate) domain_timeouts: AtomicU64,
    /// What each mail provider tells mail apps, found once per run.
    pub(crate) providers: provider::Providers,
    /// The MX hosts, resolved once per run.
    pub(crate) mx_hosts: provider::OnceTable<provider::MxResolved>,
    /// Reverse DNS of each address, looked up once per run.
    pub(crate) reverse: provider::OnceTable<Arc<crate::dns::reverse::ReverseDns>>,
    /// Domains in flight, resolving or parked (`--max-parked` permits).
    pub(crate) in_flight: Arc<Semaphore>,
    /// Domains deferred to a probe phase, not written ([`defer`]).
    pub(crate) deferred: AtomicU64,
}

fn probe_outcome_key<T>(attempt: &Attempt<T>) -> String {
    match attempt {
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
    // The earlier scan's report describes data that is gone (with --no-report none replaces it).
    let report = out.join("report");
    if overwrite && report.is_dir() {
        std::fs::remove_dir_all(&report).map_err(|e| io(&report, e))?;
    }
    Ok(Resume::default())
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

/// Writes finished domains as rows, part N of the three datasets closed together; returns the counts.
/// The three datasets a run writes, part N of each closed together.
struct Datasets {
    domains: DatasetWriter,
    mx_rows: DatasetWriter,
    client_rows: DatasetWriter,
}

fn write_rows(
    mut scans: mpsc::Receiver<DomainScan>,
    datasets: Datasets,
    rows_per_part: usize,
    bar: progress::Progress,
    inject_panic: Option<String>,
    judge: Judge,
) -> Result<Counts, OutputError> {
    let Datasets { mut domains, mut mx_rows, mut client_rows } = datasets;
    let mut counts = Counts::default();
    let mut starttls: BTreeMap<String, u64> = BTreeMap::new();
    // The early judgement's sample: the run's counters, of the sample's domains only.
    let mut sample = Counts::default();
    let mut judged = false;
    let close_parts = |domains: &mut DatasetWriter,
                       mx_rows: &mut DatasetWriter,
                       client_rows: &mut DatasetWriter|
     -> Result<(), OutputError> {
        // domains last: a domains part on disk means its mx_hosts and client_endpoints twins are complete.
        mx_rows.close_part()?;
        client_rows.close_part()?;
        domains.close_part()
    };
    while let Some(scan) = scans.blocking_recv() {
        if inject_panic.as_ref().and_then(|i| i.strip_prefix("writer:")) == Some(scan.entry.domain.as_str()) {
            panic!("injected panic writing {}", scan.entry.domain.as_str());
        }
        domains.push(|b| push_domain(b, &scan))?;
        let in_sample = judge.after > 0 && !judged && scan.entry.line <= judge.last_line.load(Ordering::SeqCst);
        for t in &scan.targets {
            mx_rows.push(|b| push_mx(b, &scan, t))?;
            if t.probe.source == Some(runner::ProbeSource::Own) || t.probe.source.is_none() && !t.probe.cached {
                let key = probe_outcome_key(&t.probe.report.attempt);
                if in_sample {
                    *sample.probe_outcomes.entry(key.clone()).or_default() += 1;
                }
                *counts.probe_outcomes.entry(key).or_default() += 1;
            }
        }
        for t in &scan.client.targets {
            client_rows.push(|b| push_client(b, &scan, t))?;
        }
        let (starttls_label, dnssec_label) = (scan.starttls().as_label(), scan.dnssec.as_label());
        *starttls.entry(starttls_label.to_string()).or_default() += 1;
        *counts.dnssec_status.entry(dnssec_label.to_string()).or_default() += 1;
        bar.domain_done();
        if in_sample {
            *sample.starttls.entry(starttls_label.to_string()).or_default() += 1;
            *sample.dnssec_status.entry(dnssec_label.to_string()).or_default() += 1;
            sample.domains += 1;
            if sample.domains == judge.after {
                judged = true;
                // Connections made: outcomes that are not skips.
                sample.probes =
                    sample.probe_outcomes.iter().filter(|(k, _)| !k.starts_with("skipped")).map(|(_, v)| v).sum();
                let warnings = plausibility::check(&sample, &judge.config);
                if !warnings.is_empty() {
                    *lock(&judge.verdict.warnings) = warnings;
                    judge.verdict.stopped.notify_one();
                }
            }
        }
        counts.domains_this_run += 1;
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
}

/// Runs a scan that stops taking new domains when `stop` resolves: in-flight domains get
/// `config.shutdown_grace` to finish, the rest are abandoned (not written, so `--resume` scans them),
/// every part is closed properly and `run.json` says `"complete": false`.
pub async fn run_until(
    config: ScanConfig,
    stop: impl std::future::Future<Output = ()>,
) -> Result<ScanSummary, ScanError> {
    run_with(config, stop, None).await
}

/// [`run_until`], with the probe results of a sharded scan's DNS shard: `book` answers every probe
/// (no connection is made) and domains that need one it lacks are not written ([`defer`]).
pub(crate) async fn run_with(
    config: ScanConfig,
    stop: impl std::future::Future<Output = ()>,
    book: Option<Arc<crate::shard::book::Book>>,
) -> Result<ScanSummary, ScanError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut reader = InputReader::open(&config.input, &config.columns)?;
    // The progress total: data lines (the header is not one).
    let total = match &config.input {
        // A shard scans an unknown share of the lines.
        _ if config.shard.is_some() => None,
        InputSource::File(p) => input::count_lines(p).ok().map(|n| n.saturating_sub(reader.has_header() as u64)),
        InputSource::Stdin => None,
    };
    if let Some(n) = total {
        reader.reserve(n);
    }
    let tls = TlsContext::new(&config.ca_files)?;
    let dns = Dns::new(&config.dns, config.guard.exclude.clone()).map_err(|e| ScanError::Resolver(e.to_string()))?;
    if config.preflight {
        let zones = crate::dns::anchor_zones(config.dns.trust_anchor.as_deref()).map_err(ScanError::Resolver)?;
        dns.preflight(&zones, &config.preflight_names).await.map_err(|seen| {
            ScanError::Implausible(format!(
                "preflight: {seen}. The resolver is not answering for the public DNS (no internet?), strips \
                 DNSSEC, or serves a different root; no domain was scanned. Pass --resolver with a working \
                 recursive resolver, --trust-anchor FILE for a private root, or --no-dnssec (then nothing is \
                 validated); --no-preflight skips this check."
            ))
        })?;
    }
    let previous = prepare_out_dir(&config.out, config.overwrite, config.resume)?;
    let rejects = RejectsWriter::create(&config.out.join(REJECTS_FILE))?;
    let next_part = previous.next_part;
    let dataset = |dir: &str, builder, schema| DatasetWriter::create(&config.out.join(dir), builder, schema, next_part);
    if let Some(kept) = previous.keep_columns.as_ref().filter(|k| **k != config.columns.keep) {
        return Err(ScanError::Usage(format!(
            "the scan in {} kept the input columns {kept:?}; resume it with the same --keep-column flags",
            config.out.display()
        )));
    }
    // Every row carries the scan's id and date; a resumed scan keeps those of its first run.
    let stamp = previous.stamp.clone().unwrap_or_else(|| RunStamp::new(started));
    let domains_schema = crate::output::schema::domains_with_kept(&config.columns.keep);
    let domains =
        dataset(DOMAINS_DIR, BatchBuilder::new(domains_schema.clone()).stamped(stamp.clone()), domains_schema)?;
    let mx_rows = dataset(MX_HOSTS_DIR, mx_hosts_builder().stamped(stamp.clone()), MX_HOSTS.clone())?;
    let client_rows =
        dataset(CLIENT_ENDPOINTS_DIR, client_endpoints_builder().stamped(stamp.clone()), CLIENT_ENDPOINTS.clone())?;

    let kit = Kit::new(&config, tls);
    let runner = match book {
        Some(book) => Runner::from_book(config.limits.clone(), kit, book),
        None => Runner::new(config.limits.clone(), kit),
    };
    let engine = Arc::new(Engine {
        dns,
        runner,
        deferred: AtomicU64::new(0),
        resolve_slots: Semaphore::new(config.concurrency.max(1)),
        internal_errors: AtomicU64::new(0),
        domain_timeouts: AtomicU64::new(0),
        providers: provider::Providers::default(),
        mx_hosts: provider::mx_hosts(),
        reverse: provider::reverse_dns(),
        in_flight: Arc::new(Semaphore::new(config.max_parked.max(1))),
        config: config.clone(),
    });
    let bar = progress::Progress::start(&config, total, engine.clone());

    // Input thread: entries to the scheduler, rejects straight to their file; domains already written
    // by an interrupted run are skipped (their rows are in the kept parts).
    let (entry_tx, mut entry_rx) = mpsc::channel::<Entry>(1024);
    let input_bar = bar.clone();
    let done = previous.done;
    let shard = config.shard;
    let input_thread = std::thread::Builder::new()
        .name("scan-input".into())
        .spawn(move || -> Result<(u64, u64), ScanError> {
            let mut rejects = rejects;
            let mut skipped = 0u64;
            for item in reader {
                match item? {
                    // Another shard's domain, or another shard's reject.
                    InputItem::Entry(e) if shard.is_some_and(|s| !s.owns_domain(e.domain.as_str())) => {}
                    InputItem::Reject(r) if shard.is_some_and(|s| !s.owns_line(r.line)) => {}
                    InputItem::Entry(e) if done.contains(&input::domain_key(e.domain.as_str())) => {
                        skipped += 1;
                        input_bar.line_skipped();
                    }
                    InputItem::Entry(e) => {
                        if entry_tx.blocking_send(e).is_err() {
                            break;
                        }
                    }
                    InputItem::Reject(r) => {
                        rejects.write(&r)?;
                        input_bar.line_skipped();
                    }
                }
            }
            Ok((rejects.finish()?, skipped))
        })
        .map_err(|e| ScanError::Usage(format!("cannot start the input thread: {e}")))?;

    let (scan_tx, scan_rx) = mpsc::channel::<DomainScan>(1024);
    let (writer_bar, rows_per_part, inject) = (bar.clone(), config.rows_per_part.max(1), config.inject_panic.clone());
    // After the first `--judge-after` domains, a run whose results cannot be right stops early.
    // (Fewer than plausibility::MIN_DOMAINS are never judged.)
    let after = if config.judge_after == 0 { 0 } else { config.judge_after.max(plausibility::MIN_DOMAINS) };
    let last_line = Arc::new(AtomicU64::new(u64::MAX));
    let judge =
        Judge { after, config: config.clone(), verdict: Arc::new(Default::default()), last_line: last_line.clone() };
    let early = judge.verdict.clone();
    let writer_thread = std::thread::Builder::new()
        .name("scan-writer".into())
        .spawn(move || {
            let datasets = Datasets { domains, mx_rows, client_rows };
            write_rows(scan_rx, datasets, rows_per_part, writer_bar, inject, judge)
        })
        .map_err(|e| ScanError::Usage(format!("cannot start the writer thread: {e}")))?;

    // The scheduler: a task per domain, at most `max_parked` in flight, until the input ends or `stop`.
    let in_flight = engine.in_flight.clone();
    let mut tasks = JoinSet::new();
    let mut interrupted = false;
    let mut admitted = 0u64;
    let stop = async {
        tokio::select! {
            _ = stop => {}
            _ = early.stopped.notified() => {}
        }
    };
    tokio::pin!(stop);
    loop {
        let next = async {
            let permit = in_flight.clone().acquire_owned().await.expect("the semaphore is never closed");
            entry_rx.recv().await.map(|entry| (entry, permit))
        };
        let Some((entry, permit)) = (tokio::select! {
            biased;
            _ = &mut stop => {
                interrupted = true;
                break;
            }
            next = next => next,
        }) else {
            break;
        };
        if scan_tx.is_closed() {
            // The writer failed: its error is reported below.
            break;
        }
        admitted += 1;
        if admitted == after {
            // The early judgement's sample ends here (before the task exists, so that the writer
            // sees it for every later domain).
            last_line.store(entry.line, Ordering::SeqCst);
        }
        let (engine, tx) = (engine.clone(), scan_tx.clone());
        // Each parked domain is one of these tasks: one inline scan future and one send, so that the
        // task stays small (written out twice, the two paths made it 9.5 KB instead of 2.9 KB).
        tasks.spawn(async move {
            let (scan, deferred) = if engine.runner.replaying() {
                // Boxed: only a sharded scan's DNS shard pays for the watch.
                Box::pin(defer::watch(domain::scan(&engine, entry))).await
            } else {
                (domain::scan(&engine, entry).await, false)
            };
            if deferred {
                engine.deferred.fetch_add(1, Ordering::Relaxed);
            } else {
                let _ = tx.send(scan).await;
            }
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    drop(entry_rx);
    if !interrupted {
        // The input has ended: wait for the domains in flight, still listening for `stop`.
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => {
                    interrupted = true;
                    break;
                }
                next = tasks.join_next() => if next.is_none() { break },
            }
        }
    }
    let stopped_early = lock(&early.warnings).clone();
    if interrupted && stopped_early.is_empty() {
        bar.say(&format!(
            "mailcensus: interrupted; finishing the domains in flight (up to {:?})",
            config.shutdown_grace
        ));
    }
    if interrupted {
        let drained =
            tokio::time::timeout(config.shutdown_grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tasks.abort_all();
        }
    }
    while tasks.join_next().await.is_some() {}
    drop(scan_tx);

    let thread_failed = |what: &str, p: Box<dyn std::any::Any + Send>| {
        let text = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        ScanError::Internal(format!("the {what} thread stopped: {text}"))
    };
    let writer_result = writer_thread.join().map_err(|p| thread_failed("writer", p));
    let input_result = input_thread.join().map_err(|p| thread_failed("input", p));
    bar.finish();
    let mut counts = writer_result??;
    let (rejects, skipped) = input_result??;
    // The datasets' counts are of what is on disk: earlier runs' kept parts and this run's.
    counts.domains_this_run = counts.domains;
    counts.domains += previous.done_rows;
    counts.mx_rows += previous.done_mx_rows;
    counts.client_rows += previous.done_client_rows;
    for (k, v) in &previous.done_starttls {
        *counts.starttls.entry(k.clone()).or_default() += v;
    }
    let runner = engine.runner.counts();
    counts.rejects = rejects;
    counts.already_done = skipped;
    counts.set_aside = previous.set_aside.len() as u64;
    counts.probes = runner.probes.get("smtp").copied().unwrap_or(0);
    counts.probe_cache_hits = runner.cache_hits.get("smtp").copied().unwrap_or(0);
    counts.dns_queries = engine.dns.queries();
    let transport = engine.dns.transport_counts();
    counts.dns_sent = transport.sent.load(Ordering::Relaxed);
    counts.dns_timeouts = transport.timeouts.load(Ordering::Relaxed);
    let late = engine.dns.late_retry_counts();
    counts.dns_retries = late.retries.load(Ordering::Relaxed);
    counts.dns_retries_recovered = late.recovered.load(Ordering::Relaxed);
    counts.longest_dns_retry_seconds = late.longest_chain_us.load(Ordering::Relaxed) as f64 / 1e6;
    counts.internal_errors = engine.internal_errors.load(Ordering::Relaxed) + runner.internal_errors;
    counts.domain_timeouts = engine.domain_timeouts.load(Ordering::Relaxed);
    let dns_bound = counts.dns_sent.saturating_sub(1) as f64 / config.dns.qps.max(1) as f64;
    let b = &runner.bound;
    counts.lower_bound_seconds = [
        b.busiest_destination_seconds,
        b.probe_rate_seconds,
        dns_bound,
        b.longest_connection_seconds,
        b.longest_job_seconds,
        counts.longest_dns_retry_seconds,
    ]
    .into_iter()
    .fold(0.0, f64::max);
    counts.lower_bound_dns_seconds = dns_bound;
    counts.runner = runner;
    let elapsed = clock.elapsed().as_secs_f64();
    let per_second = |n: u64| if elapsed > 0.0 { n as f64 / elapsed } else { 0.0 };
    let warnings = if stopped_early.is_empty() { plausibility::check(&counts, &config) } else { stopped_early.clone() };
    let info = RunInfo {
        tool: "mailcensus",
        version: env!("CARGO_PKG_VERSION"),
        scan_id: stamp.scan_id.clone(),
        scan_date: stamp.date_text(),
        keep_columns: config.columns.keep.clone(),
        schema_version: crate::output::schema::SCHEMA_VERSION,
        args: config.args.clone(),
        started_at: rfc3339(started),
        finished_at: rfc3339(SystemTime::now()),
        elapsed_seconds: elapsed,
        complete: !interrupted,
        resumed: config.resume,
        stopped_early: !stopped_early.is_empty(),
        domains_per_second: per_second(counts.domains_this_run),
        probes_per_second: per_second(counts.probes),
        counts: counts.clone(),
        warnings: warnings.clone(),
    };
    info.write(&config.out.join(RUN_FILE))?;
    Ok(ScanSummary {
        counts,
        elapsed_seconds: elapsed,
        complete: !interrupted,
        warnings,
        stopped_early: !stopped_early.is_empty(),
        deferred: engine.deferred.load(Ordering::Relaxed),
    })
}
