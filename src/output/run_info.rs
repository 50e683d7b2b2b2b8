//! `DIR/run.json`: what ran, when, and what it counted (domains, rejects, probes, cache hits, failures
//! by reason, rates), for the operator and for whoever merges runs later.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::parquet::OutputError;

/// Counters accumulated while writing.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Counts {
    /// Domains in `domains`: with `--resume`, those earlier runs wrote too (the rows on disk).
    pub domains: u64,
    /// Domains this invocation wrote (equal to `domains` unless resumed).
    pub domains_this_run: u64,
    /// Lines written to `rejects.csv`.
    pub rejects: u64,
    /// Rows in `mx_hosts` (with `--resume`, earlier runs' rows included).
    pub mx_rows: u64,
    /// Rows in `client_endpoints` (with `--resume`, earlier runs' rows included).
    pub client_rows: u64,
    /// SMTP probes actually run.
    pub probes: u64,
    /// (MX host, IP) requests answered from the probe cache.
    pub probe_cache_hits: u64,
    /// DNS lookups made (answers from the cache included).
    pub dns_queries: u64,
    /// DNS queries the transport sent (retries, TCP and DNSSEC validation queries included).
    pub dns_sent: u64,
    /// DNS query attempts that timed out.
    pub dns_timeouts: u64,
    /// Late retries of lookups that had failed transiently (timeout, SERVFAIL; `--dns-late-retries`).
    pub dns_retries: u64,
    /// Lookups that got an answer on a late retry (without it, they would read as failures).
    pub dns_retries_recovered: u64,
    /// Domains whose scan hit a scanner bug.
    pub internal_errors: u64,
    /// Input domains skipped because an interrupted run had already written them (`--resume`).
    pub already_done: u64,
    /// Part files of an interrupted run set aside (half-written or unreadable; `--resume`).
    pub set_aside: u64,
    /// Domains by their `starttls` summary (with `--resume`, earlier runs' domains included).
    pub starttls: BTreeMap<String, u64>,
    /// Domains of this invocation by `dnssec_status`.
    pub dnssec_status: BTreeMap<String, u64>,
    /// MX probes by outcome: `done`, or `failed:<phase>:<reason>` (each connection made once), or
    /// `skipped:<reason>` (each row).
    pub probe_outcomes: BTreeMap<String, u64>,
    /// Domains whose lookups did not finish within `--domain-timeout`.
    pub domain_timeouts: u64,
    /// The probe runner's counters: jobs and connections by politeness class, answers shared by
    /// address, cache hits, retries, and the terms of the lower bound.
    pub runner: crate::scan::runner::RunnerCounts,
    /// All DNS lookups ÷ `--dns-qps`, seconds: the DNS term of the lower bound.
    pub lower_bound_dns_seconds: f64,
    /// The longest DNS lookup that was retried late (`--dns-late-retries`): its attempts and
    /// back-offs in a row, seconds; a term of the lower bound.
    pub longest_dns_retry_seconds: f64,
    /// What no engine could beat with this run's limits: the largest of the busiest destination's
    /// time, all connections at `--probe-rate`, all lookups at `--dns-qps`, the longest connection,
    /// the longest probe job with its back-offs, and the longest late-retried DNS lookup.
    pub lower_bound_seconds: f64,
}

/// The content of `run.json`.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    /// `mailcensus`.
    pub tool: &'static str,
    /// The tool's version.
    pub version: &'static str,
    /// The scan's id, on every row (`scan_id`); a resumed scan keeps its first run's.
    pub scan_id: String,
    /// The day the scan started, UTC, `YYYY-MM-DD` (`scan_date` on every row).
    pub scan_date: String,
    /// The input columns kept (`--keep-column`), as `input_<name>` columns of `domains`.
    pub keep_columns: Vec<String>,
    /// The output schema version.
    pub schema_version: &'static str,
    /// The command line.
    pub args: Vec<String>,
    /// Start, RFC 3339 UTC.
    pub started_at: String,
    /// End, RFC 3339 UTC.
    pub finished_at: String,
    /// Seconds from start to end.
    pub elapsed_seconds: f64,
    /// Every input line was processed (false after SIGINT or SIGTERM).
    pub complete: bool,
    /// This run continued an interrupted one (`--resume`).
    pub resumed: bool,
    /// The run stopped after `--judge-after` domains because its results could not be right
    /// (`warnings` says why).
    pub stopped_early: bool,
    /// Counters.
    pub counts: Counts,
    /// Domains per second.
    pub domains_per_second: f64,
    /// SMTP probes per second.
    pub probes_per_second: f64,
    /// What cannot be right about the results (a resolver that answers nothing, every target
    /// private): code and message; empty when the run looks plausible.
    pub warnings: Vec<crate::scan::plausibility::Warning>,
}

impl RunInfo {
    /// Writes `run.json` (pretty-printed), atomically (a temporary file renamed over it, fsynced).
    pub fn write(&self, path: &Path) -> Result<(), OutputError> {
        let json = serde_json::to_string_pretty(self).expect("RunInfo serialises");
        super::write_atomically(path, (json + "\n").as_bytes())
    }
}

/// Formats a time as RFC 3339 UTC.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(t).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
