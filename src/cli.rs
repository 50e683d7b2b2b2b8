//! The command line: flags as clap parses them ([`Cli`]), turned into a validated [`ScanConfig`].

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Check, ScanConfig, default_ehlo_name};
use crate::dns::Backend;
use crate::guard::ExcludeList;
use crate::input::{ColumnSpec, InputSource};
use crate::limit::{ClassLimits, Limits};
use crate::policy::dkim::DkimSearch;
use crate::scan;

/// mailcensus: does mail to these domains travel encrypted and authenticated?
#[derive(Debug, Parser)]
#[command(
    name = "mailcensus",
    version,
    about,
    long_about = None,
    after_help = "Logging: warnings of mailcensus itself and errors of its libraries go to stderr (no colour \
unless stderr is a terminal). -v adds the libraries' warnings and mailcensus's progress notes, -vv more; -q \
keeps errors only. MAILCENSUS_LOG overrides all of it with a tracing filter, e.g. \
MAILCENSUS_LOG=mailcensus=debug,hickory_net=warn."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v: library warnings, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Errors only on stderr (for `scan`: no progress display and no summary line either).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

impl Cli {
    /// The log filter: `MAILCENSUS_LOG` when set, else from `-q`/`-v`. By default the libraries
    /// (hickory, rustls ...) log errors only: their warnings are about single answers and servers,
    /// which the datasets already record.
    pub fn log_filter(&self) -> String {
        if let Ok(filter) = std::env::var("MAILCENSUS_LOG") {
            return filter;
        }
        match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "error,mailcensus=warn",
            (false, 1) => "warn,mailcensus=info",
            (false, _) => "info,mailcensus=debug",
        }
        .to_string()
    }

    /// Sets up logging to stderr: the filter of [`Cli::log_filter`], colour only on a terminal.
    pub fn init_logging(&self) {
        use std::io::IsTerminal;
        let filter = tracing_subscriber::EnvFilter::try_new(self.log_filter())
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error,mailcensus=warn"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init();
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a list of domains (DNS, SMTP STARTTLS probes) into Parquet datasets.
    Scan(Box<ScanArgs>),
    /// Print the columns of the output datasets (name, type, description) as Markdown.
    Schema,
    /// Compute the report of a scan directory: group shares with 95% intervals, grades, Transparency-Report CSV.
    Report(ReportArgs),
    /// Start a simulated mail internet on loopback, scan it, and compare the results with its ground truth.
    Demo(DemoArgs),
    /// Serve a simulated mail internet on loopback until Ctrl-C, for a scan from another process.
    Lab(LabArgs),
    /// Measure scan throughput against a simulated world in the same process.
    Bench(BenchArgs),
    /// Check a few domains now and print every verdict, finding and remedy (or JSON with --json).
    Check(Box<CheckArgs>),
    /// Write a scan as JSON lines: one domain a line with its MX hosts and client endpoints nested.
    Export(ExportArgs),
    /// Run a scan as N shards on a cluster (Slurm, Kubernetes): init, then dns and probe phases
    /// until `next` says done, then assemble.
    #[command(subcommand)]
    Shard(ShardCommand),
}

/// The steps of a sharded scan (see the README, "Past one machine").
#[derive(Debug, Subcommand)]
pub enum ShardCommand {
    /// Start a sharded scan at --work with --shards N (idempotent).
    Init {
        /// Where the scan's files live: a local folder or s3://bucket/prefix.
        #[arg(long, value_name = "DIR|URL")]
        work: String,
        /// Number of shards.
        #[arg(long, value_name = "N")]
        shards: u32,
    },
    /// Print what runs next: `dns R`, `probe R` or `done R` (R: the round).
    Next {
        /// The scan's work location.
        #[arg(long, value_name = "DIR|URL")]
        work: String,
    },
    /// Run this shard's DNS phase of the current round.
    Dns(Box<ShardDnsArgs>),
    /// Run this shard's probe phase of the current round.
    Probe(Box<ShardProbeArgs>),
    /// Join the shards into one scan folder (local or s3://) that `report` reads.
    Assemble {
        /// The scan's work location.
        #[arg(long, value_name = "DIR|URL")]
        work: String,
        /// Where the assembled scan goes (a local folder gets the report too, unless --no-report).
        #[arg(long, value_name = "DIR|URL")]
        out: String,
        /// Do not compute the report.
        #[arg(long)]
        no_report: bool,
    },
}

/// Flags of `mailcensus shard dns`.
#[derive(Debug, Args)]
pub struct ShardDnsArgs {
    /// The whole domain list (every shard reads it and keeps its share).
    pub input: String,
    /// The scan's work location.
    #[arg(long, value_name = "DIR|URL")]
    pub work: String,
    /// This shard's index [default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX].
    #[arg(long, value_name = "K")]
    pub shard: Option<u32>,
    /// Local folder for the shard's files while it runs (in its subfolder s<K>, emptied first)
    /// [default: a folder under the system's temp dir].
    #[arg(long, value_name = "DIR")]
    pub staging: Option<PathBuf>,
    /// Seconds between uploads of the shard's closed parts while it runs (a killed shard resumes
    /// from what was uploaded).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub upload_interval: Duration,
    /// Which input columns hold the domain, group, weight, and which to keep.
    #[command(flatten)]
    pub columns: ColumnArgs,
    /// How the domains are looked up (the same flags as `scan`; give every phase the same).
    #[command(flatten)]
    pub options: ScanOptions,
}

/// Flags of `mailcensus shard probe`.
#[derive(Debug, Args)]
pub struct ShardProbeArgs {
    /// The scan's work location.
    #[arg(long, value_name = "DIR|URL")]
    pub work: String,
    /// This shard's index [default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX].
    #[arg(long, value_name = "K")]
    pub shard: Option<u32>,
    /// How the addresses are probed (the same flags as `scan`; give every phase the same).
    #[command(flatten)]
    pub options: ScanOptions,
}

/// Flags of `mailcensus check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The domains to check.
    #[arg(required = true, value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// Print a JSON array: one object per domain, as `export` writes it, with `grade`,
    /// `grade_not_graded` and `findings` (id, title, remedy); a name that is not a domain is
    /// `{domain, input_line, rejected: {reason, detail}}`.
    #[arg(long)]
    pub json: bool,
    /// Language of findings and remedies: en or ja.
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = ["en", "ja"])]
    pub lang: String,
    /// How the domains are looked up and probed: the same flags and defaults as `scan`.
    #[command(flatten)]
    pub options: ScanOptions,
}

/// Flags of `mailcensus export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A scan's output directory.
    pub dir: PathBuf,
    /// What one line is: `domain` (a `domains` row with its `mx_hosts` and `client_endpoints` rows
    /// nested as arrays), or the rows of one dataset: `domains`, `mx_hosts`, `client_endpoints`.
    #[arg(long, value_name = "WHAT", default_value = "domain", value_parser = ["domain", "domains", "mx_hosts", "client_endpoints"])]
    pub rows: String,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Flags of `mailcensus report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A scan's output directory (with domains/ and mx_hosts/), or a folder of shard folders (a
    /// sharded scan's dns/), or an object-store location (s3://..., downloaded to --cache first);
    /// omit with --compare.
    #[arg(required_unless_present = "compare")]
    pub dir: Option<PathBuf>,
    /// Where a scan on an object store is downloaded to (and its report written)
    /// [default: mailcensus-report-<pid> under the system's temp folder].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Compare scans: earlier ones (scan directories, or a Transparency-Report CSV), then NEW (a scan
    /// directory, which gets the report). compare.csv is against the last earlier one; with two or more
    /// scan directories the page also shows the trend over all of them, by scan date (trend.csv).
    #[arg(long, num_args = 2.., value_names = ["OLD", "NEW"], conflicts_with = "dir")]
    pub compare: Option<Vec<PathBuf>>,
    /// Language of findings and remedies: en or ja.
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = ["en", "ja"])]
    pub lang: String,
}

/// Downloads the scan at an object-store `url` (its datasets, `run.json`, `rejects.csv`; not an
/// earlier report) into `to`.
fn download_scan(url: &str, to: &std::path::Path) -> Result<(), crate::shard::store::StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::shard::store::StoreError { location: url.to_string(), detail: e.to_string() })?;
    runtime.block_on(async {
        let store = crate::shard::store::Store::open(url)?;
        let mut n = 0;
        for name in store.list("").await? {
            if name.starts_with("report/") {
                continue;
            }
            let local = to.join(&name);
            if let Some(parent) = local.parent() {
                std::fs::create_dir_all(parent).map_err(|e| crate::shard::store::StoreError {
                    location: parent.display().to_string(),
                    detail: e.to_string(),
                })?;
            }
            store.get_file(&name, &local).await?;
            n += 1;
        }
        eprintln!("mailcensus report: {n} files of {url} in {}", to.display());
        Ok(())
    })
}

/// Writes the report of `dir` and prints its summary; the exit code on failure.
fn report(dir: &std::path::Path, lang: &str) -> Result<crate::report::Report, ExitCode> {
    let lang = crate::report::grade::Lang::from_code(lang).unwrap_or_default();
    if !crate::output::read::is_scan(dir) {
        eprintln!(
            "mailcensus report: {} is not a scan directory (it has no domains/ dataset, nor shard folders with one)",
            dir.display()
        );
        return Err(ExitCode::from(2));
    }
    match crate::report::run(dir, lang) {
        Ok(r) => {
            println!("{}", crate::report::render_summary(&r));
            println!("report: {}", dir.join("report").display());
            Ok(r)
        }
        Err(e) => {
            eprintln!("mailcensus report: {e}");
            Err(ExitCode::from(1))
        }
    }
}

/// The simulated world's size, seed and addresses.
#[derive(Debug, Args)]
pub struct WorldArgs {
    /// Number of domains.
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    pub domains: u64,
    /// Number of mail providers (each with 1-4 MX hosts, each MX on its own 127.x.y.z address).
    #[arg(long, value_name = "M", default_value_t = 40)]
    pub providers: u32,
    /// Seed of the world: the same seed and size give the same world.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Port of every MX listener.
    #[arg(long, value_name = "PORT", default_value_t = 2525)]
    pub smtp_port: u16,
    /// Address of the first MX host (the others follow it).
    #[arg(long, value_name = "IP", default_value = "127.64.0.1")]
    pub first_ip: std::net::Ipv4Addr,
    /// Address of the world's DNS server (the port is chosen free).
    #[arg(long, value_name = "IP", default_value = "127.53.53.53")]
    pub dns_ip: std::net::Ipv4Addr,
}

impl WorldArgs {
    fn config(&self) -> Result<crate::world::WorldConfig, String> {
        if !self.first_ip.is_loopback() || !self.dns_ip.is_loopback() {
            return Err("the simulated world lives on loopback: --first-ip and --dns-ip must be in 127.0.0.0/8".into());
        }
        if self.providers == 0 || self.domains == 0 {
            return Err("--domains and --providers must be at least 1".into());
        }
        Ok(crate::world::WorldConfig {
            seed: self.seed,
            domains: self.domains,
            providers: self.providers,
            first_ip: self.first_ip,
            dns_ip: self.dns_ip,
            smtp_port: self.smtp_port,
            ..Default::default()
        })
    }
}

/// Flags of `mailcensus demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The world.
    #[command(flatten)]
    pub world: WorldArgs,
    /// Output directory (replaced if it holds an earlier demo): the scan's outputs, and the world in world/.
    #[arg(long, value_name = "DIR", default_value = "mailcensus-demo")]
    pub out: PathBuf,
    /// Do not compute the report.
    #[arg(long)]
    pub no_report: bool,
    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Flags of `mailcensus lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// The world.
    #[command(flatten)]
    pub world: WorldArgs,
    /// Where the world writes its CA certificate, domain list and ground truth.
    #[arg(long, value_name = "DIR", default_value = "mailcensus-lab")]
    pub dir: PathBuf,
}

/// Flags of `mailcensus bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The world.
    #[command(flatten)]
    pub world: WorldArgs,
    /// Give every MX host this posture (e.g. `valid`) instead of the mix.
    #[arg(long, value_name = "POSTURE")]
    pub posture: Option<String>,
    /// Working directory for the world and the scan [default: a folder under the system temp dir].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print the measurements as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// The checks besides MX and STARTTLS, as for scan: a comma-separated list, all, or none.
    #[arg(long, value_name = "LIST", default_value = "all")]
    pub checks: String,
    /// DKIM selector search: first or all.
    #[arg(long, value_name = "HOW", default_value = "first", value_parser = ["first", "all"])]
    pub dkim_search: String,
    /// What carries DNS queries: pool or hickory.
    #[arg(long, value_name = "BACKEND", default_value = "pool", value_parser = ["pool", "hickory"])]
    pub dns_backend: String,
    /// New connections per second, whole run [default: the scan's, 100].
    #[arg(long, value_name = "RATE")]
    pub probe_rate: Option<f64>,
    /// New SMTP connections per second to one address [default: the scan's, 1].
    #[arg(long, value_name = "RATE")]
    pub per_ip_rate: Option<f64>,
    /// Open SMTP connections to one address [default: the scan's, 1].
    #[arg(long, value_name = "N")]
    pub per_ip_connections: Option<usize>,
    /// DNS queries per second (the world's server is in-process; the scan's default is 500).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub dns_qps: u32,
    /// Domains resolving at once [default: the scan's, 256].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Domains in flight, resolving or parked [default: the scan's, 8,192].
    #[arg(long, value_name = "N")]
    pub max_parked: Option<usize>,
}

/// The input columns a scan reads (`scan`, `shard dns`).
#[derive(Debug, Args)]
pub struct ColumnArgs {
    /// Input column holding the domain [default: `domain` if the header has it, else the first column].
    #[arg(long, value_name = "NAME")]
    pub domain_column: Option<String>,
    /// Input column holding the group (ISP, carrier, provider) [default: `group` if present].
    #[arg(long, value_name = "NAME")]
    pub group_column: Option<String>,
    /// Input column holding a numeric weight (users, volume) [default: `weight` if present].
    #[arg(long, value_name = "NAME")]
    pub weight_column: Option<String>,
    /// Input column to copy to the domains dataset as `input_<name>` (snake_case), repeatable.
    #[arg(long, value_name = "NAME")]
    pub keep_column: Vec<String>,
}

impl ColumnArgs {
    /// The checked column choice.
    pub fn spec(self) -> Result<ColumnSpec, String> {
        let mut names = std::collections::BTreeSet::new();
        for name in &self.keep_column {
            let column = crate::output::schema::kept_column_name(name);
            if crate::output::schema::DOMAINS.field_with_name(&column).is_ok() || !names.insert(column.clone()) {
                return Err(format!("--keep-column {name:?} would be written as {column}, which is already a column"));
            }
        }
        Ok(ColumnSpec {
            domain: self.domain_column,
            group: self.group_column,
            weight: self.weight_column,
            keep: self.keep_column,
        })
    }
}

/// Flags of `mailcensus scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// CSV with a header (a `domain` column, else the first) or a plain list, one domain a line; `-` for stdin.
    pub input: String,
    /// Output directory: domains/, mx_hosts/, rejects.csv, run.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace the datasets of an earlier scan in --out.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Continue an interrupted scan in --out: keep its complete parts, set aside half-written ones, scan the rest.
    #[arg(long)]
    pub resume: bool,
    /// After Ctrl-C or SIGTERM, seconds the domains in flight may take to finish before they are abandoned.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_seconds)]
    pub shutdown_grace: Duration,
    /// Which input columns hold the domain, group, weight, and which to keep.
    #[command(flatten)]
    pub columns: ColumnArgs,
    /// Seconds between status lines when stderr is not a terminal (a log file, a batch job).
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = parse_seconds)]
    pub status_interval: Duration,
    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Do not compute the report at the end of the scan.
    #[arg(long)]
    pub no_report: bool,
    /// Language of the report's findings and remedies: en or ja.
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = ["en", "ja"])]
    pub lang: String,
    /// How the domains are looked up and probed (shared with `check`).
    #[command(flatten)]
    pub options: ScanOptions,
}

/// How domains are looked up and probed: the flags `scan` and `check` share.
#[derive(Debug, Args)]
pub struct ScanOptions {
    /// Recursive resolver to use, IP or IP:PORT, repeatable [default: the system's resolv.conf].
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_resolver)]
    pub resolver: Vec<SocketAddr>,
    /// Timeout of one DNS query attempt, seconds.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_seconds)]
    pub dns_timeout: Duration,
    /// DNS retries after the first attempt.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub dns_retries: usize,
    /// DNS queries per second, whole run.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub dns_qps: u32,
    /// Late retries of a DNS lookup that failed transiently (timeout, SERVFAIL), after a back-off.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub dns_late_retries: usize,
    /// The first back-off before a late DNS retry, seconds (doubled for each next one).
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = parse_seconds)]
    pub dns_late_retry_delay: Duration,
    /// SMTP port to probe.
    #[arg(long, value_name = "PORT", default_value_t = 25)]
    pub smtp_port: u16,
    /// Name sent in EHLO; use a FQDN whose A record and PTR match the scanning host [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub ehlo_name: Option<String>,
    /// TCP connect timeout, seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub connect_timeout: Duration,
    /// Timeout of each SMTP read or write and of the TLS handshake, seconds (covers greeting delays).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub read_timeout: Duration,
    /// Deadline of a whole probe, seconds (ends tarpits).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub probe_timeout: Duration,
    /// Retries of a probe whose greeting is 421 or another 4xx (the IP is backed off meanwhile).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,
    /// Seconds before the first retry; doubled for each further one, at most 300.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub retry_delay: Duration,
    /// Domains resolving their DNS at once (a domain waiting for its probes holds no slot).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub concurrency: usize,
    /// Domains in flight at once, resolving or waiting for their probes; beyond it the input waits.
    #[arg(long, value_name = "N", default_value_t = 8192)]
    pub max_parked: usize,
    /// Seconds a domain's own lookups may take in all (its probes have their own deadlines).
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = parse_seconds)]
    pub domain_timeout: Duration,
    /// New connections per second, whole run, SMTP, client endpoints and HTTPS together.
    #[arg(long, value_name = "RATE", default_value_t = 100.0)]
    pub probe_rate: f64,
    /// New SMTP connections per second to one MX address (fractions allowed, e.g. 0.2).
    #[arg(long, value_name = "RATE", default_value_t = 1.0)]
    pub per_ip_rate: f64,
    /// Open SMTP connections to one MX address.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub per_ip_connections: usize,
    /// New connections per second to one client-endpoint address (submission, IMAP, POP3).
    #[arg(long, value_name = "RATE", default_value_t = 2.0)]
    pub client_per_ip_rate: f64,
    /// Open connections to one client-endpoint address.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub client_per_ip_connections: usize,
    /// New HTTPS connections per second to one address (MTA-STS policies, autoconfig files).
    #[arg(long, value_name = "RATE", default_value_t = 10.0)]
    pub https_per_ip_rate: f64,
    /// Open HTTPS connections to one address.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub https_per_ip_connections: usize,
    /// Extra trusted CA certificates (PEM), repeatable; the Mozilla roots are always trusted.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Vec<PathBuf>,
    /// Domains (with their subdomains), addresses and CIDR ranges never queried or connected to, one a line; repeatable.
    #[arg(long, value_name = "FILE")]
    pub exclude: Vec<PathBuf>,
    /// Probe MX addresses in loopback, private, link-local, CGNAT and other non-public ranges.
    #[arg(long)]
    pub allow_private: bool,
    /// Probe IPv6 MX addresses (otherwise recorded as skipped: ipv6_disabled).
    #[arg(long)]
    pub ipv6: bool,
    /// MX hosts probed per domain, in preference order.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_mx_per_domain: usize,
    /// Addresses probed per MX host.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_ips_per_mx: usize,
    /// Client endpoints probed per domain, in discovery order.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_client_endpoints: usize,
    /// Addresses probed per client endpoint.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub max_ips_per_endpoint: usize,
    /// Rows per Parquet part file.
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub rows_per_part: usize,
    /// Do not validate DNSSEC (then dnssec_status says not_checked and DANE is not judged).
    #[arg(long)]
    pub no_dnssec: bool,
    /// DNSKEY trust anchors, zone-file lines (`name TTL IN DNSKEY flags 3 alg base64`) [default: the IANA root KSKs].
    #[arg(long, value_name = "FILE")]
    pub trust_anchor: Option<PathBuf>,
    /// Do not check before scanning that the resolver's answers validate against the trust anchor.
    #[arg(long)]
    pub no_preflight: bool,
    /// A domain known to have mail (e.g. gmail.com): before scanning, its MX lookup must answer, or
    /// the scan stops with exit code 5; repeatable.
    #[arg(long, value_name = "NAME")]
    pub preflight_name: Vec<String>,
    /// Judge the first N domains of the input once all are written, and stop a run whose results cannot
    /// be right (nearly every MX lookup NXDOMAIN or failed, nearly every answer bogus, every target
    /// private): exit code 5; 0 never stops.
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    pub judge_after: u64,
    /// Do not look for or probe client endpoints (submission, IMAP, POP3).
    #[arg(long)]
    pub no_client_probes: bool,
    /// ISP database to use instead of the built-in snapshot: a folder of Thunderbird ISPDB `<provider>.xml` files.
    #[arg(long, value_name = "DIR")]
    pub ispdb: Option<PathBuf>,
    /// Also fetch https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml when autoconfig.<domain> gives nothing (one HTTPS fetch per such domain, mostly to shared web hosts).
    #[arg(long)]
    pub autoconfig_well_known: bool,
    /// Do not look for client endpoints through the MX's provider (ISPDB, autoconfig and guesses under the provider).
    #[arg(long)]
    pub no_client_via_mx: bool,
    /// Client protocols to look for, comma-separated: submissions, submission, imaps, imap, pop3s, pop3 [default: all].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub client_protocols: Vec<String>,
    /// Port of guessed client endpoints of one protocol, e.g. imaps=10993 (repeatable) [default: the standard ports].
    #[arg(long, value_name = "PROTO=PORT")]
    pub client_port: Vec<String>,
    /// Do not probe DKIM selectors.
    #[arg(long)]
    pub no_dkim: bool,
    /// DKIM selector search: first (stop at the first key, the default) or all (every selector).
    #[arg(long, value_name = "HOW", default_value = "first", value_parser = ["first", "all"])]
    pub dkim_search: String,
    /// The checks to make besides MX and STARTTLS, comma-separated: spf, dmarc, dkim, mta_sts,
    /// tls_rpt, dnssec, client, ptr, bimi; `all` (the default) or `none` (MX and STARTTLS only, the
    /// Transparency Report's own measurement). The --no-* flags then turn single checks off.
    #[arg(long, value_name = "LIST", default_value = "all")]
    pub checks: String,
    /// What carries DNS queries: pool (sockets kept for the run, the default) or hickory (a socket per
    /// query, as hickory-resolver does; for comparison).
    #[arg(long, value_name = "BACKEND", default_value = "pool", value_parser = ["pool", "hickory"], hide = true)]
    pub dns_backend: String,
    /// DKIM selectors to probe for every domain, one a line (# comments), replacing the built-in list;
    /// an input column `dkim_selectors` adds per-domain ones.
    #[arg(long, value_name = "FILE")]
    pub dkim_selectors: Option<PathBuf>,
    /// Do not look up or fetch MTA-STS policies.
    #[arg(long)]
    pub no_mta_sts: bool,
    /// Do not look up reverse DNS (PTR and its forward confirmation) of MX addresses and SPF's single hosts.
    #[arg(long)]
    pub no_ptr: bool,
    /// Do not look up BIMI or fetch its logo and mark certificate.
    #[arg(long)]
    pub no_bimi: bool,
    /// Trust roots of BIMI mark certificates (VMC/CMC), PEM; without it their chains are not checked
    /// and the checkmark verdict is unknown at best.
    #[arg(long, value_name = "FILE")]
    pub bimi_ca_file: Option<PathBuf>,
    /// HTTPS port of MTA-STS policy fetches.
    #[arg(long, value_name = "PORT", default_value_t = 443)]
    pub https_port: u16,
    /// Deadline of one MTA-STS policy fetch, seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub https_timeout: Duration,
    /// Fault injection for tests: the scan of this domain, a probe of this host, or (`writer:DOMAIN`)
    /// the writing of this domain panics.
    #[arg(long, hide = true, value_name = "NAME")]
    pub inject_panic: Option<String>,
}

/// Parses `--checks`: labels of [`Check`], `all` or `none`.
fn parse_checks(s: &str) -> Result<Vec<Check>, String> {
    match s.trim() {
        "all" => Ok(Check::ALL.to_vec()),
        "none" | "" => Ok(Vec::new()),
        list => list
            .split(',')
            .map(|c| {
                let c = c.trim().replace('-', "_");
                Check::from_label(&c).ok_or_else(|| {
                    format!("unknown check {c:?}: one of {}, or all, or none", crate::label::list::<Check>())
                })
            })
            .collect(),
    }
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || v <= 0.0 || v > 86_400.0 {
        return Err(format!("{s} must be between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

fn parse_resolver(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{s:?} is not IP or IP:PORT"))
}

impl ScanArgs {
    /// The validated configuration.
    pub fn into_config(self, args: Vec<String>) -> Result<ScanConfig, String> {
        let mut c = self.options.into_config(InputSource::from_arg(&self.input), self.out)?;
        c.overwrite = self.overwrite;
        c.resume = self.resume;
        c.shutdown_grace = self.shutdown_grace;
        c.columns = self.columns.spec()?;
        c.progress = !self.no_progress;
        c.status_interval = self.status_interval;
        c.args = args;
        Ok(c)
    }
}

impl ScanOptions {
    /// The validated configuration of a scan of `input` into `out`.
    pub fn into_config(self, input: InputSource, out: std::path::PathBuf) -> Result<ScanConfig, String> {
        for (name, rate) in [
            ("--probe-rate", self.probe_rate),
            ("--per-ip-rate", self.per_ip_rate),
            ("--client-per-ip-rate", self.client_per_ip_rate),
            ("--https-per-ip-rate", self.https_per_ip_rate),
        ] {
            if !rate.is_finite() || rate <= 0.0 {
                return Err(format!("{name} must be a positive number"));
            }
        }
        for (name, n) in [
            ("--concurrency", self.concurrency),
            ("--max-parked", self.max_parked),
            ("--per-ip-connections", self.per_ip_connections),
            ("--client-per-ip-connections", self.client_per_ip_connections),
            ("--https-per-ip-connections", self.https_per_ip_connections),
            ("--max-client-endpoints", self.max_client_endpoints),
            ("--max-ips-per-endpoint", self.max_ips_per_endpoint),
            ("--rows-per-part", self.rows_per_part),
            ("--max-mx-per-domain", self.max_mx_per_domain),
            ("--max-ips-per-mx", self.max_ips_per_mx),
            ("--dns-qps", self.dns_qps as usize),
        ] {
            if n == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        let ehlo_name = self.ehlo_name.unwrap_or_else(default_ehlo_name);
        if ehlo_name.is_empty() || ehlo_name.contains(char::is_whitespace) {
            return Err(format!("--ehlo-name {ehlo_name:?} is not a host name"));
        }
        let mut c = ScanConfig::new(input, out);
        c.only_checks(&parse_checks(&self.checks)?);
        c.dns.resolvers = self.resolver;
        c.dns.timeout = self.dns_timeout;
        c.dns.retries = self.dns_retries;
        c.dns.qps = self.dns_qps;
        c.inject_panic = self.inject_panic;
        c.dns.late_retries = self.dns_late_retries;
        c.dns.late_retry_delay = self.dns_late_retry_delay;
        c.smtp.port = self.smtp_port;
        c.smtp.ehlo_name = ehlo_name;
        c.smtp.connect_timeout = self.connect_timeout;
        c.smtp.read_timeout = self.read_timeout;
        c.smtp.probe_timeout = self.probe_timeout;
        c.concurrency = self.concurrency;
        c.max_parked = self.max_parked;
        c.domain_timeout = self.domain_timeout;
        c.retries = self.retries;
        c.retry_delay = self.retry_delay;
        c.limits = Limits {
            probe_rate: self.probe_rate,
            smtp: ClassLimits { per_ip_rate: self.per_ip_rate, per_ip_connections: self.per_ip_connections },
            client: ClassLimits {
                per_ip_rate: self.client_per_ip_rate,
                per_ip_connections: self.client_per_ip_connections,
            },
            https: ClassLimits {
                per_ip_rate: self.https_per_ip_rate,
                per_ip_connections: self.https_per_ip_connections,
            },
        };
        c.ca_files = self.ca_file;
        c.guard.allow_private = self.allow_private;
        let mut lists = Vec::new();
        for path in &self.exclude {
            lists.push(ExcludeList::load(path).map_err(|e| e.to_string())?);
        }
        c.guard.exclude = ExcludeList::merge(lists);
        c.guard.ipv6 = self.ipv6;
        c.max_mx_per_domain = self.max_mx_per_domain;
        c.max_ips_per_mx = self.max_ips_per_mx;
        c.client.max_endpoints = self.max_client_endpoints;
        c.client.max_ips_per_endpoint = self.max_ips_per_endpoint;
        c.rows_per_part = self.rows_per_part;
        c.dns.dnssec &= !self.no_dnssec;
        c.dns.trust_anchor = self.trust_anchor;
        c.preflight = !self.no_preflight;
        c.preflight_names = self.preflight_name;
        c.judge_after = self.judge_after;
        c.client.enabled &= !self.no_client_probes;
        if let Some(dir) = &self.ispdb {
            c.client.ispdb = std::sync::Arc::new(crate::client::ispdb::Ispdb::from_dir(dir)?);
        }
        c.client.well_known = self.autoconfig_well_known;
        c.client.via_mx = !self.no_client_via_mx;
        if !self.client_protocols.is_empty() {
            c.client.protocols = self
                .client_protocols
                .iter()
                .map(|p| {
                    Protocol::from_label(p.trim()).ok_or_else(|| format!("--client-protocols: unknown protocol {p:?}"))
                })
                .collect::<Result<_, _>>()?;
        }
        for spec in &self.client_port {
            let (proto, port) =
                spec.split_once('=').ok_or_else(|| format!("--client-port {spec:?} is not PROTO=PORT"))?;
            let proto = Protocol::from_label(proto.trim())
                .ok_or_else(|| format!("--client-port: unknown protocol {proto:?}"))?;
            let port: u16 = port
                .trim()
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("--client-port: bad port in {spec:?}"))?;
            c.client.ports.retain(|(p, _)| *p != proto);
            c.client.ports.push((proto, port));
        }
        c.dkim &= !self.no_dkim;
        c.dkim_search = DkimSearch::from_label(&self.dkim_search).unwrap_or_default();
        c.dns.backend = if self.dns_backend == "hickory" { Backend::HickoryUdp } else { Backend::Pool };
        if let Some(path) = &self.dkim_selectors {
            c.dkim_selectors = load_selectors(path)?;
        }
        c.mta_sts &= !self.no_mta_sts;
        c.ptr &= !self.no_ptr;
        c.bimi &= !self.no_bimi;
        if let Some(path) = &self.bimi_ca_file {
            c.bimi_roots = Some(std::sync::Arc::new(load_roots(path)?));
        }
        c.https_port = self.https_port;
        c.https_timeout = self.https_timeout;
        Ok(c)
    }
}

use crate::probe::client::Protocol;

/// Reads a PEM file of trust roots (`--bimi-ca-file`): at least one certificate.
fn load_roots(path: &std::path::Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let roots = rustls::pki_types::CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if roots.is_empty() {
        return Err(format!("{}: no PEM certificate", path.display()));
    }
    Ok(roots)
}

/// Reads a DKIM selector file: one selector a line, blank lines and `#` comments ignored.
fn load_selectors(path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let s = line.split('#').next().unwrap_or("").trim();
        if s.is_empty() {
            continue;
        }
        if !crate::domain::is_selector(s) {
            return Err(format!("{}:{}: {s:?} is not a DKIM selector", path.display(), i + 1));
        }
        out.push(s.to_ascii_lowercase());
    }
    if out.len() > crate::policy::dkim::MAX_SELECTORS {
        return Err(format!("{}: more than {} selectors", path.display(), crate::policy::dkim::MAX_SELECTORS));
    }
    Ok(out)
}

/// Runs the parsed command line and returns the process exit code.
///
/// 0: the scan ran (failed domains are data); 1: output error; 2: bad usage or unreadable input;
/// 3: the scan ran but a scanner bug hit some domains (rows with `scan_error` or reason `internal`);
/// 130: interrupted by SIGINT or SIGTERM (the parts written are complete; continue with `--resume`).
/// Replaces the default panic message (a backtrace hint, or a full backtrace) with one line that
/// says a bug happened and where; `RUST_BACKTRACE=1` shows the backtrace as usual. A panic in a probe
/// or a domain's scan is caught and becomes an `internal` row; one in the writer or input thread ends
/// the scan with exit code 1.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            return default(info);
        }
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        eprintln!("mailcensus: internal error in thread {thread}: {message}{place} (a bug; please report it)");
    }));
}

/// Runs one parsed command line (`args` is the raw command line, kept for `run.json`) and returns its exit code.
pub fn run(cli: Cli, args: Vec<String>) -> ExitCode {
    let quiet = cli.quiet;
    match cli.command {
        Command::Demo(demo) => run_demo(demo),
        Command::Report(args) => {
            let (earlier, dir) = match (&args.compare, &args.dir) {
                (Some(scans), _) if scans.len() >= 2 => {
                    (scans[..scans.len() - 1].to_vec(), scans[scans.len() - 1].clone())
                }
                (None, Some(dir)) => (Vec::new(), dir.clone()),
                _ => return ExitCode::from(2),
            };
            let dir = match dir.to_str().filter(|d| crate::shard::store::is_url(d)) {
                None => dir,
                Some(url) => {
                    let cache = args.cache.clone().unwrap_or_else(|| {
                        std::env::temp_dir().join(format!("mailcensus-report-{}", std::process::id()))
                    });
                    match download_scan(url, &cache) {
                        Ok(()) => cache,
                        Err(e) => {
                            eprintln!("mailcensus report: {e}");
                            return ExitCode::from(1);
                        }
                    }
                }
            };
            for e in &earlier {
                if !e.exists() {
                    eprintln!("mailcensus report: {} does not exist", e.display());
                    return ExitCode::from(2);
                }
            }
            let mut new = match report(&dir, &args.lang) {
                Ok(r) => r,
                Err(code) => return code,
            };
            let Some(old) = earlier.last().cloned() else { return ExitCode::SUCCESS };
            let lang = crate::report::grade::Lang::from_code(&args.lang).unwrap_or_default();
            if earlier.iter().any(|e| e.is_dir()) {
                match crate::report::trend::build(&earlier, &dir, &new, lang) {
                    Ok(t) => {
                        println!("trend over {} scans: {}", t.points.len(), dir.join("report/trend.csv").display());
                        new.trend = Some(t);
                    }
                    Err(e) => {
                        eprintln!("mailcensus report: {e}");
                        return ExitCode::from(1);
                    }
                }
            }
            match crate::report::compare::compare(&old, &dir, &new, lang) {
                Ok(c) => {
                    let counts = c.domain_counts();
                    println!(
                        "compared with {}: {} domains in both, {} improved, {} worsened; {}",
                        old.display(),
                        c.common_domains,
                        counts.get("improved").copied().unwrap_or(0),
                        counts.get("worsened").copied().unwrap_or(0),
                        dir.join("report/compare.csv").display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mailcensus report: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Lab(lab) => run_lab(lab),
        Command::Check(args) => run_check(*args),
        Command::Export(args) => run_export(args),
        Command::Shard(cmd) => run_shard(cmd, args),
        Command::Bench(bench) => run_bench(bench),
        Command::Schema => {
            use crate::output::schema::{CLIENT_ENDPOINTS, DOMAINS, MX_HOSTS, markdown};
            println!(
                "## domains\n\n{}\n## mx_hosts\n\n{}\n## client_endpoints\n\n{}",
                markdown(&DOMAINS),
                markdown(&MX_HOSTS),
                markdown(&CLIENT_ENDPOINTS)
            );
            ExitCode::SUCCESS
        }
        Command::Scan(scan) => {
            let (no_report, lang) = (scan.no_report, scan.lang.clone());
            let mut config = match (*scan).into_config(args) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("mailcensus: {e}");
                    return ExitCode::from(2);
                }
            };
            // -q: no progress display and no summary line; errors and interruptions still say so.
            config.progress &= !quiet;
            let out = config.out.clone();
            let runtime = match runtime() {
                Ok(r) => r,
                Err(code) => return code,
            };
            match runtime.block_on(scan::run(config)) {
                Ok(s) => {
                    let c = &s.counts;
                    let starttls: Vec<String> = c.starttls.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    if !quiet {
                        eprintln!(
                            "mailcensus: {} domains, {} rejected, in {:.1} s; {} probes, {} cache hits; starttls {}; output in {}",
                            c.domains,
                            c.rejects,
                            s.elapsed_seconds,
                            c.probes,
                            c.probe_cache_hits,
                            starttls.join(" "),
                            out.display()
                        );
                    }
                    if s.stopped_early {
                        for w in &s.warnings {
                            eprintln!("mailcensus: stopped: {}: {}", w.code.as_label(), w.message);
                        }
                        eprintln!(
                            "mailcensus: stopped after {} domains because these results cannot be right; what was \
                             written is kept (run.json says so); fix the cause and scan again with --overwrite",
                            c.domains_this_run
                        );
                        return ExitCode::from(5);
                    }
                    if !s.complete {
                        eprintln!("mailcensus: interrupted; run.json says complete: false; continue with --resume");
                        return ExitCode::from(130);
                    }
                    if !no_report && let Err(code) = report(&out, &lang) {
                        return code;
                    }
                    if c.internal_errors > 0 {
                        eprintln!(
                            "mailcensus: {} scanner errors (see scan_error and probe_reason=internal)",
                            c.internal_errors
                        );
                        return ExitCode::from(3);
                    }
                    for w in &s.warnings {
                        eprintln!("mailcensus: warning: {}: {}", w.code.as_label(), w.message);
                    }
                    if !s.warnings.is_empty() {
                        return ExitCode::from(4);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mailcensus: {e}");
                    ExitCode::from(e.exit_code())
                }
            }
        }
    }
}

/// The world of `demo`, `lab` or `bench`, or exit code 2.
fn world_config(args: &WorldArgs) -> Result<crate::world::WorldConfig, ExitCode> {
    args.config().map_err(|e| {
        eprintln!("mailcensus: {e}");
        ExitCode::from(2)
    })
}

/// A multi-threaded runtime, or exit code 1.
/// `shard ...`: 0 when the step is done (or there was nothing to do), 2 on bad usage, 130 when
/// interrupted (run it again to continue), 1 otherwise.
fn run_shard(cmd: ShardCommand, args: Vec<String>) -> ExitCode {
    use crate::shard::{self, PhaseReport, store::Store};
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let fail = |e: shard::ShardError| {
        eprintln!("mailcensus shard: {e}");
        ExitCode::from(e.exit_code())
    };
    let open = |work: &str| Store::open(work).map_err(|e| fail(e.into()));
    let said = |r: PhaseReport| {
        match r {
            PhaseReport::Dns(d) => eprintln!(
                "mailcensus shard: dns shard {} round {}: {} domains written ({} in all), {} wait for {} connections",
                d.shard, d.round, d.written, d.domains, d.deferred, d.wants
            ),
            PhaseReport::Probe(p) => eprintln!(
                "mailcensus shard: probe shard {} round {}: {} answers, {} addresses, connections {:?}",
                p.shard, p.round, p.answered, p.addresses, p.connections
            ),
            PhaseReport::NothingToDo(next) => {
                eprintln!("mailcensus shard: nothing to do for this shard; next: {}", next.word())
            }
        }
        ExitCode::SUCCESS
    };
    runtime.block_on(async {
        match cmd {
            ShardCommand::Init { work, shards } => {
                let store = match open(&work) {
                    Ok(s) => s,
                    Err(c) => return c,
                };
                match shard::init(&store, shards).await {
                    Ok(plan) => {
                        println!("{} shards, scan {}", plan.shards, plan.scan_id);
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(e),
                }
            }
            ShardCommand::Next { work } => {
                let store = match open(&work) {
                    Ok(s) => s,
                    Err(c) => return c,
                };
                match shard::next(&store).await {
                    Ok(n) => {
                        let (shard::Next::Dns(r) | shard::Next::Probe(r) | shard::Next::Done(r)) = n;
                        println!("{} {r}", n.word());
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(e),
                }
            }
            ShardCommand::Dns(a) => {
                let a = *a;
                let store = match open(&a.work) {
                    Ok(s) => s,
                    Err(c) => return c,
                };
                let index = match shard::shard_index(a.shard) {
                    Ok(i) => i,
                    Err(e) => return fail(shard::ShardError::Usage(e)),
                };
                let staging = a.staging.clone().unwrap_or_else(|| {
                    std::env::temp_dir().join(format!("mailcensus-shard-{}-s{index:04}", std::process::id()))
                });
                let columns = match a.columns.spec() {
                    Ok(c) => c,
                    Err(e) => return fail(shard::ShardError::Usage(e)),
                };
                // A list on the object store is read from a local copy (every pod reads the whole list).
                let local_input =
                    std::env::temp_dir().join(format!("mailcensus-input-{}-s{index:04}", std::process::id()));
                let input = if shard::store::is_url(&a.input) {
                    if let Err(e) = shard::store::download(&a.input, &local_input).await {
                        return fail(e.into());
                    }
                    local_input.display().to_string()
                } else {
                    a.input.clone()
                };
                let mut config = match a.options.into_config(InputSource::from_arg(&input), staging.clone()) {
                    Ok(c) => c,
                    Err(e) => return fail(shard::ShardError::Usage(e)),
                };
                config.columns = columns;
                config.args = args;
                let local = shard::Staging { dir: staging.clone(), upload_every: a.upload_interval };
                let result = shard::dns_phase(&store, config, index, &local, scan::interrupt_signal()).await;
                if a.staging.is_none() {
                    let _ = std::fs::remove_dir_all(&staging);
                }
                let _ = std::fs::remove_file(&local_input);
                result.map(said).unwrap_or_else(fail)
            }
            ShardCommand::Probe(a) => {
                let a = *a;
                let store = match open(&a.work) {
                    Ok(s) => s,
                    Err(c) => return c,
                };
                let index = match shard::shard_index(a.shard) {
                    Ok(i) => i,
                    Err(e) => return fail(shard::ShardError::Usage(e)),
                };
                let config = match a.options.into_config(InputSource::Stdin, PathBuf::new()) {
                    Ok(c) => c,
                    Err(e) => return fail(shard::ShardError::Usage(e)),
                };
                shard::probe_phase(&store, &config, index).await.map(said).unwrap_or_else(fail)
            }
            ShardCommand::Assemble { work, out, no_report } => {
                let (store, target) = match (open(&work), open(&out)) {
                    (Ok(s), Ok(t)) => (s, t),
                    (Err(c), _) | (_, Err(c)) => return c,
                };
                match shard::assemble(&store, &target).await {
                    Ok(a) => {
                        eprintln!(
                            "mailcensus shard: assembled {} rounds into {}: parts {:?}, {} rejects",
                            a.rounds,
                            target.location(),
                            a.parts,
                            a.rejects
                        );
                        if no_report || shard::store::is_url(&out) {
                            return ExitCode::SUCCESS;
                        }
                        match report(std::path::Path::new(&out), "en") {
                            Ok(_) => ExitCode::SUCCESS,
                            Err(code) => code,
                        }
                    }
                    Err(e) => fail(e),
                }
            }
        }
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| {
        eprintln!("mailcensus: cannot start the runtime: {e}");
        ExitCode::from(1)
    })
}

/// `check`: exit 0 when every name was checked, 2 when some name is not a domain (or bad flags),
/// 4 when the run is implausible (the same warnings as `scan`), 1 when the scan could not run.
fn run_check(args: CheckArgs) -> ExitCode {
    let lang = crate::report::grade::Lang::from_code(&args.lang).unwrap_or_default();
    let config = match args.options.into_config(InputSource::Stdin, PathBuf::new()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mailcensus: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let checked = match runtime.block_on(crate::check::check(&args.domains, config, lang)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mailcensus check: {}", e.message);
            return ExitCode::from(e.exit_code);
        }
    };
    if args.json {
        let all: Vec<serde_json::Value> = checked.domains.iter().cloned().map(serde_json::Value::Object).collect();
        println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
    } else {
        let texts: Vec<String> = checked.domains.iter().map(|d| crate::check::render(d, lang)).collect();
        print!("{}", texts.join("\n"));
    }
    for w in &checked.warnings {
        eprintln!("mailcensus: warning: {w}");
    }
    if checked.domains.iter().any(|d| d.contains_key(crate::check::REJECTED_KEY)) {
        return ExitCode::from(2);
    }
    if !checked.warnings.is_empty() {
        return ExitCode::from(4);
    }
    ExitCode::SUCCESS
}

/// `export`: JSON lines to a file or standard output; a closed pipe (`| head`) ends it quietly.
fn run_export(args: ExportArgs) -> ExitCode {
    use std::io::Write;
    if !args.dir.join(crate::output::DOMAINS_DIR).is_dir() {
        eprintln!("mailcensus export: {} is not a scan directory (it has no domains/ dataset)", args.dir.display());
        return ExitCode::from(2);
    }
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("mailcensus export: cannot create {}: {e}", path.display());
                return ExitCode::from(1);
            }
        },
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(sink);
    let mut write = |row: serde_json::Map<String, serde_json::Value>| -> Result<(), crate::output::read::ReadError> {
        serde_json::to_writer(&mut out, &row)?;
        out.write_all(b"\n")?;
        Ok(())
    };
    let result = match args.rows.as_str() {
        "domain" => crate::output::json::for_each_domain(&args.dir, &mut write),
        dataset => crate::output::json::for_each_row(&args.dir, dataset, &mut write),
    };
    let result = result.and_then(|_| out.flush().map_err(Into::into));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailcensus export: {e}");
            ExitCode::from(1)
        }
    }
}

/// The reader of our standard output went away (`export ... | head`).
fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::BrokenPipe;
        }
        if let Some(json) = err.downcast_ref::<serde_json::Error>() {
            return json.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe);
        }
        cur = err.source();
    }
    false
}

fn run_demo(args: DemoArgs) -> ExitCode {
    let (world, rt) = match world_config(&args.world).and_then(|w| Ok((w, runtime()?))) {
        Ok(x) => x,
        Err(code) => return code,
    };
    eprintln!(
        "mailcensus demo: a simulated mail internet of {} domains and {} providers on loopback (seed {})",
        world.domains, world.providers, world.seed
    );
    match rt.block_on(crate::demo::demo(world, &args.out, true, !args.no_progress)) {
        Ok(c) => {
            println!("Scan compared with the world's ground truth, column by column:\n{}", c.render());
            println!(
                "outputs: {} (domains/, mx_hosts/, client_endpoints/, rejects.csv, run.json; the world in world/)",
                args.out.display()
            );
            if !args.no_report
                && let Err(code) = report(&args.out, "en")
            {
                return code;
            }
            if c.disagreements() == 0 {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "mailcensus demo: {} disagreements with the ground truth: a bug in the scanner or the world",
                    c.disagreements()
                );
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("mailcensus demo: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_lab(args: LabArgs) -> ExitCode {
    let (world, rt) = match world_config(&args.world).and_then(|w| Ok((w, runtime()?))) {
        Ok(x) => x,
        Err(code) => return code,
    };
    rt.block_on(async {
        let running = match crate::world::serve::start(crate::world::World::generate(world), &args.dir).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("mailcensus lab: cannot start the world: {e}");
                return ExitCode::from(1);
            }
        };
        println!("resolver: {}", running.resolver());
        println!("ca-file: {}", running.ca_file().display());
        println!("input: {}", running.input_file().display());
        println!("truth: {}", args.dir.join("truth-domains.csv").display());
        println!("scan: {}", crate::demo::scan_command(&running, &args.dir.join("scan")));
        println!("serving until Ctrl-C");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mailcensus lab: {e}");
                return ExitCode::from(1);
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        ExitCode::SUCCESS
    })
}

fn run_bench(args: BenchArgs) -> ExitCode {
    let mut world = match world_config(&args.world) {
        Ok(w) => w,
        Err(code) => return code,
    };
    if let Some(label) = &args.posture {
        match crate::world::Posture::from_label(label) {
            Some(p) => world.posture = Some(p),
            None => {
                let all: Vec<&str> = crate::world::Posture::ALL.iter().map(|p| p.as_label()).collect();
                eprintln!("mailcensus: --posture {label:?} is not one of {}", all.join(", "));
                return ExitCode::from(2);
            }
        }
    }
    let dir = args.dir.unwrap_or_else(|| std::env::temp_dir().join(format!("mailcensus-bench-{}", std::process::id())));
    let checks = match parse_checks(&args.checks) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mailcensus: --checks: {e}");
            return ExitCode::from(2);
        }
    };
    let mut options = crate::bench::BenchOptions {
        checks,
        dkim_search: DkimSearch::from_label(&args.dkim_search).unwrap_or_default(),
        backend: if args.dns_backend == "hickory" { Backend::HickoryUdp } else { Backend::Pool },
        dns_qps: args.dns_qps.max(1),
        concurrency: args.concurrency,
        max_parked: args.max_parked,
        ..Default::default()
    };
    if let Some(r) = args.probe_rate {
        options.limits.probe_rate = r;
    }
    if let Some(r) = args.per_ip_rate {
        options.limits.smtp.per_ip_rate = r;
    }
    if let Some(n) = args.per_ip_connections {
        options.limits.smtp.per_ip_connections = n.max(1);
    }
    match crate::bench::run(world, &options, &dir) {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string(&report).expect("report serialises"));
            } else {
                print!("{}", report.render());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mailcensus bench: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dkim_selector_files() {
        let dir = std::env::temp_dir().join(format!("mailcensus-selectors-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases: &[(&str, Result<Vec<&str>, &str>)] = &[
            ("# ours\nGoogle\n\n  brand2024  # marketing\ns1.eu\n", Ok(vec!["google", "brand2024", "s1.eu"])),
            ("good\nbad/selector\n", Err(":2: \"bad/selector\"")),
            ("", Ok(vec![])),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let path = dir.join(format!("{i}.txt"));
            std::fs::write(&path, text).unwrap();
            match (load_selectors(&path), want) {
                (Ok(got), Ok(want)) => assert_eq!(&got, want, "case {i}"),
                (Err(e), Err(part)) => assert!(e.contains(part), "case {i}: {e}"),
                (got, _) => panic!("case {i}: {got:?}"),
            }
        }
        let many: String = (0..65).map(|i| format!("s{i}\n")).collect();
        std::fs::write(dir.join("many.txt"), many).unwrap();
        assert!(load_selectors(&dir.join("many.txt")).unwrap_err().contains("more than 64"));
        assert!(load_selectors(&dir.join("missing.txt")).is_err());
        let cli = Cli::try_parse_from([
            "mailcensus",
            "scan",
            "in.csv",
            "--out",
            "o",
            "--dkim-selectors",
            dir.join("0.txt").to_str().unwrap(),
            "--no-dnssec",
            "--no-mta-sts",
            "--https-port",
            "8443",
        ])
        .unwrap();
        let Command::Scan(args) = cli.command else { panic!() };
        let c = args.into_config(Vec::new()).unwrap();
        assert_eq!(c.dkim_selectors, vec!["google", "brand2024", "s1.eu"]);
        assert_eq!((c.dns.dnssec, c.mta_sts, c.https_port, c.dkim), (false, false, 8443, true));
        let parse = |extra: &[&str]| {
            let mut argv = vec!["mailcensus", "scan", "in.csv", "--out", "o"];
            argv.extend_from_slice(extra);
            let Command::Scan(args) = Cli::try_parse_from(argv).unwrap().command else { panic!() };
            args.into_config(Vec::new())
        };
        let c =
            parse(&["--client-protocols", "imaps,pop3", "--client-port", "imaps=10993", "--no-client-probes"]).unwrap();
        assert_eq!(c.client.protocols, vec![Protocol::Imaps, Protocol::Pop3]);
        assert_eq!(
            (c.client.port(Protocol::Imaps), c.client.port(Protocol::Imap), c.client.enabled),
            (10993, 143, false)
        );
        for bad in [
            &["--client-protocols", "smtp"][..],
            &["--client-port", "imaps"],
            &["--client-port", "imaps=0"],
            &["--client-port", "x=1"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn resolver_forms() {
        assert_eq!(parse_resolver("127.0.0.1").unwrap(), "127.0.0.1:53".parse().unwrap());
        assert_eq!(parse_resolver("127.0.0.1:5353").unwrap(), "127.0.0.1:5353".parse().unwrap());
        assert_eq!(parse_resolver("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert_eq!(parse_resolver("[::1]:5353").unwrap(), "[::1]:5353".parse().unwrap());
        assert!(parse_resolver("dns.example").is_err());
    }

    #[test]
    fn seconds_bounds() {
        assert_eq!(parse_seconds("0.5").unwrap(), Duration::from_millis(500));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("nan").is_err());
        assert!(parse_seconds("-1").is_err());
    }

    #[test]
    fn flags_become_config() {
        let cli = Cli::try_parse_from([
            "mailcensus",
            "scan",
            "in.csv",
            "--out",
            "o",
            "--resolver",
            "127.0.0.1:5300",
            "--per-ip-rate",
            "0.5",
            "--allow-private",
            "--smtp-port",
            "2525",
            "--ehlo-name",
            "scanner.example",
        ])
        .unwrap();
        let Command::Scan(args) = cli.command else { panic!("scan") };
        let c = (*args).into_config(vec![]).unwrap();
        assert_eq!(c.dns.resolvers, vec!["127.0.0.1:5300".parse::<SocketAddr>().unwrap()]);
        assert_eq!((c.limits.smtp.per_ip_rate, c.guard.allow_private, c.smtp.port), (0.5, true, 2525));
        assert_eq!(c.smtp.ehlo_name, "scanner.example");
        assert_eq!(c.limits.smtp.per_ip_connections, 1);
        assert_eq!((c.limits.https.per_ip_rate, c.limits.client.per_ip_connections), (10.0, 2));
    }

    #[test]
    fn bad_values_are_rejected() {
        let cli = Cli::try_parse_from(["mailcensus", "scan", "in.csv", "--out", "o", "--concurrency", "0"]).unwrap();
        let Command::Scan(args) = cli.command else { panic!("scan") };
        assert!((*args).into_config(vec![]).is_err());
    }
}
