//! Past one machine: a scan split over N processes (Slurm array tasks, Kubernetes Indexed Job
//! pods, or plain shell loops), with exactly one process in the whole cluster talking to any
//! destination address, so that the per-address limits hold cluster-wide.
//!
//! A domain's work is a chain: DNS, then probes and fetches, and what a fetch finds (an autoconfig
//! file, a provider's servers) can ask for more DNS and more probes. So a sharded scan runs in
//! **rounds**, each of two phases, until no domain waits:
//!
//! 1. **DNS phase**, shard K of N takes the domains whose stable hash falls in K and scans them with
//!    a runner that opens no connection: probe answers come from the book of earlier rounds
//!    ([`book::Book`]). A domain whose answers are all there is written (as `scan --resume` writes
//!    it, into the shard's folder); a domain that needs a connection the book lacks is not written,
//!    and the connection is written down as wanted.
//! 2. **Probe phase**, shard J of N takes the wanted connections whose *address* hashes to J, from
//!    every DNS shard, and makes them through the ordinary probe runner (politeness classes,
//!    per-address limits, the shared-address rule, retries): each address lives in exactly one probe
//!    shard. It writes, for each DNS shard, the answers that shard asked for.
//!
//! Round 1 wants the MX probes and the HTTPS fetches; round 2 the client endpoints the fetched
//! autoconfig files named; a third round is rare. [`next`] says what to run next; [`assemble`]
//! joins the shards' parts into one scan folder that `mailcensus report` reads as it reads a single
//! run. Every file goes through a [`store::Store`]: a local folder or an object store.
//!
//! Layout of the work location:
//!
//! ```text
//! plan.json                                  shards, scan id and date (shard init)
//! dns/s0003/{domains,mx_hosts,client_endpoints}/part-NNNNN.parquet, rejects.csv, run.json
//! rounds/r01/dns-s0003.json                  DNS shard 3 finished round 1 (domains written, deferred)
//! rounds/r01/wants-s0003.jsonl.gz            the connections its deferred domains need
//! rounds/r01/probe-p0002.json                probe shard 2 finished round 1
//! rounds/r01/book-p0002-s0003.jsonl.gz       what probe shard 2 found for DNS shard 3
//! ```

pub mod book;
pub mod store;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::config::ScanConfig;
use crate::output::{CLIENT_ENDPOINTS_DIR, DATASET_DIRS, DOMAINS_DIR, MX_HOSTS_DIR, REJECTS_FILE, RUN_FILE};
use crate::probe::tls::TlsContext;
use crate::scan::runner::{Kit, ProbeSource, Runner};
use book::{Book, Entry, FetchRecord, Found, Want};
use store::{Store, StoreError};

/// Rounds after which a sharded scan gives up (each round's answers should end the wants of the
/// one before; a scan that keeps wanting is a bug, not a workload).
pub const MAX_ROUNDS: u32 = 8;

/// How often a DNS shard uploads its closed parts while it runs (`--upload-interval`).
pub const UPLOAD_INTERVAL: Duration = Duration::from_secs(30);

/// Where a DNS shard keeps its files while it runs, and how often it uploads them.
#[derive(Clone, Debug)]
pub struct Staging {
    /// A local folder: the shard works in its own subfolder `s<K>`, emptied at the start.
    pub dir: PathBuf,
    /// Closed parts go up this often (and when the shard stops).
    pub upload_every: Duration,
}

impl Staging {
    /// `dir`, uploading every [`UPLOAD_INTERVAL`].
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), upload_every: UPLOAD_INTERVAL }
    }
}

/// One shard of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

/// A stable hash (the first 8 bytes of SHA-256): the same on every machine and every version.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    u64::from_be_bytes(d.as_ref()[..8].try_into().expect("SHA-256 has 32 bytes"))
}

impl Shard {
    /// Shard `index` of `count`, checked.
    pub fn new(index: u32, count: u32) -> Result<Self, String> {
        if count == 0 || index >= count {
            return Err(format!("shard {index} of {count} does not exist (shards are 0 to count-1)"));
        }
        Ok(Self { index, count })
    }

    /// Whether this shard scans `domain` (its normalised name).
    pub fn owns_domain(&self, domain: &str) -> bool {
        stable_hash(domain.to_ascii_lowercase().as_bytes()) % self.count as u64 == self.index as u64
    }

    /// Whether this shard writes the reject of input line `line`.
    pub fn owns_line(&self, line: u64) -> bool {
        line % self.count as u64 == self.index as u64
    }

    /// Whether this shard talks to `ip`.
    pub fn owns_address(&self, ip: IpAddr) -> bool {
        stable_hash(ip.to_string().as_bytes()) % self.count as u64 == self.index as u64
    }
}

/// The shard index: `flag`, else `SLURM_ARRAY_TASK_ID`, else Kubernetes' `JOB_COMPLETION_INDEX`.
pub fn shard_index(flag: Option<u32>) -> Result<u32, String> {
    if let Some(i) = flag {
        return Ok(i);
    }
    for var in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        if let Ok(v) = std::env::var(var) {
            return v.trim().parse().map_err(|_| format!("{var}={v:?} is not a shard index"));
        }
    }
    Err("no shard index: pass --shard K, or run as a Slurm array task or a Kubernetes Indexed Job".into())
}

/// Why a phase could not run.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// Bad usage or a work location in the wrong state (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The store failed (exit code 1).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The scan failed.
    #[error(transparent)]
    Scan(#[from] crate::scan::ScanError),
    /// A file in the work location does not read (exit code 1).
    #[error("{0}")]
    Corrupt(String),
    /// Stopped by a signal; running the same command again continues (exit code 130).
    #[error("interrupted: run the same command again to continue")]
    Interrupted,
}

impl ShardError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Scan(e) => e.exit_code(),
            Self::Interrupted => 130,
            _ => 1,
        }
    }
}

/// `plan.json`: what every shard of one sharded scan shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Number of shards.
    pub shards: u32,
    /// The scan id every row carries.
    pub scan_id: String,
    /// The scan date, `YYYY-MM-DD`.
    pub scan_date: String,
}

/// A DNS shard's record of a finished round.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DnsDone {
    /// The round.
    pub round: u32,
    /// The shard.
    pub shard: u32,
    /// Domains written so far (all rounds).
    pub domains: u64,
    /// Domains this round wrote.
    pub written: u64,
    /// Domains that wait for this round's probe phase.
    pub deferred: u64,
    /// Connections wanted.
    pub wants: u64,
    /// DNS queries sent this round (retries and validation queries included).
    pub dns_sent: u64,
    /// Wall time of the round's scan, seconds.
    pub elapsed_seconds: f64,
}

/// A probe shard's record of a finished round.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeDone {
    /// The round.
    pub round: u32,
    /// The shard.
    pub shard: u32,
    /// Wants this shard answered (its addresses' share).
    pub answered: u64,
    /// Connections made, by politeness class.
    pub connections: BTreeMap<String, u64>,
    /// Answers given by the shared-address rule, by class.
    pub shared_address: BTreeMap<String, u64>,
    /// Distinct addresses contacted.
    pub addresses: u64,
    /// The addresses, for the record (`class/address` is in the runner's counters; this is the set).
    pub address_list: Vec<IpAddr>,
}

fn plan_file() -> &'static str {
    "plan.json"
}

fn dns_dir(k: u32) -> String {
    format!("dns/s{k:04}")
}

fn dns_done(r: u32, k: u32) -> String {
    format!("rounds/r{r:02}/dns-s{k:04}.json")
}

fn wants_file(r: u32, k: u32) -> String {
    format!("rounds/r{r:02}/wants-s{k:04}.jsonl.gz")
}

fn probe_done(r: u32, j: u32) -> String {
    format!("rounds/r{r:02}/probe-p{j:04}.json")
}

fn book_file(r: u32, j: u32, k: u32) -> String {
    format!("rounds/r{r:02}/book-p{j:04}-s{k:04}.jsonl.gz")
}

async fn get_json<T: for<'de> Deserialize<'de>>(store: &Store, name: &str) -> Result<Option<T>, ShardError> {
    match store.get(name).await? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ShardError::Corrupt(format!("{}/{name}: {e}", store.location()))),
    }
}

async fn put_json<T: Serialize>(store: &Store, name: &str, value: &T) -> Result<(), ShardError> {
    let text = serde_json::to_vec_pretty(value).map_err(|e| ShardError::Corrupt(e.to_string()))?;
    Ok(store.put(name, text).await?)
}

/// Starts a sharded scan in `store` with `shards` shards (the same plan again is accepted: an
/// array job may be started twice).
pub async fn init(store: &Store, shards: u32) -> Result<Plan, ShardError> {
    if shards == 0 {
        return Err(ShardError::Usage("--shards must be at least 1".into()));
    }
    if let Some(plan) = get_json::<Plan>(store, plan_file()).await? {
        if plan.shards != shards {
            return Err(ShardError::Usage(format!(
                "{} holds a scan of {} shards, not {shards}; use another location",
                store.location(),
                plan.shards
            )));
        }
        return Ok(plan);
    }
    let stamp = crate::output::batch::RunStamp::new(std::time::SystemTime::now());
    let plan = Plan { shards, scan_id: stamp.scan_id.clone(), scan_date: stamp.date_text() };
    put_json(store, plan_file(), &plan).await?;
    Ok(plan)
}

async fn plan(store: &Store) -> Result<Plan, ShardError> {
    get_json(store, plan_file()).await?.ok_or_else(|| {
        ShardError::Usage(format!("{} holds no sharded scan: run `mailcensus shard init` first", store.location()))
    })
}

/// What a sharded scan needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Round R's DNS phase (some DNS shard has not finished it).
    Dns(u32),
    /// Round R's probe phase.
    Probe(u32),
    /// Every domain is written, after this many rounds: assemble.
    Done(u32),
}

impl Next {
    /// `dns`, `probe` or `done`, for scripts.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Dns(_) => "dns",
            Self::Probe(_) => "probe",
            Self::Done(_) => "done",
        }
    }
}

/// What the scan in `store` needs next.
pub async fn next(store: &Store) -> Result<Next, ShardError> {
    let plan = plan(store).await?;
    for r in 1..=MAX_ROUNDS {
        let mut deferred = 0;
        for k in 0..plan.shards {
            match get_json::<DnsDone>(store, &dns_done(r, k)).await? {
                Some(d) => deferred += d.deferred,
                None => return Ok(Next::Dns(r)),
            }
        }
        if deferred == 0 {
            return Ok(Next::Done(r));
        }
        for j in 0..plan.shards {
            if !store.exists(&probe_done(r, j)).await? {
                return Ok(Next::Probe(r));
            }
        }
    }
    Err(ShardError::Corrupt(format!("domains still wait after {MAX_ROUNDS} rounds: a bug, please report it")))
}

/// What a phase did.
#[derive(Clone, Debug, PartialEq)]
pub enum PhaseReport {
    /// A DNS shard finished its round.
    Dns(DnsDone),
    /// A probe shard finished its round.
    Probe(ProbeDone),
    /// Nothing to do: this shard's part of the current phase is done (`what` says what runs next).
    NothingToDo(Next),
}

/// Runs DNS shard `index` of the current round: `config` is the scan's (its `out` is ignored), the
/// shard's files are kept in `local` while it runs.
pub async fn dns_phase(
    store: &Store,
    mut config: ScanConfig,
    index: u32,
    local: &Staging,
    stop: impl std::future::Future<Output = ()>,
) -> Result<PhaseReport, ShardError> {
    let staging = &local.dir.join(format!("s{index:04}"));
    let plan = plan(store).await?;
    let shard = Shard::new(index, plan.shards).map_err(ShardError::Usage)?;
    let round = match next(store).await? {
        Next::Dns(r) => r,
        other => return Ok(PhaseReport::NothingToDo(other)),
    };
    if store.exists(&dns_done(round, index)).await? {
        return Ok(PhaseReport::NothingToDo(Next::Dns(round)));
    }
    // The shard's folder so far: earlier rounds' parts, and a killed run's.
    let io = |e: std::io::Error| ShardError::Usage(format!("staging folder {}: {e}", staging.display()));
    if staging.exists() {
        std::fs::remove_dir_all(staging).map_err(io)?;
    }
    std::fs::create_dir_all(staging).map_err(io)?;
    let pulled = store.pull_dir(&dns_dir(index), staging).await?;
    if !staging.join(RUN_FILE).exists() {
        // Every shard's rows carry the plan's scan id and date (resume keeps them).
        let seed = serde_json::json!({
            "scan_id": plan.scan_id,
            "scan_date": plan.scan_date,
            "keep_columns": config.columns.keep,
        });
        std::fs::write(staging.join(RUN_FILE), seed.to_string()).map_err(io)?;
    }
    // Every earlier round's answers for this shard.
    let mut entries = Vec::new();
    for r in 1..round {
        for j in 0..plan.shards {
            let name = book_file(r, j, index);
            let bytes = store
                .get(&name)
                .await?
                .ok_or_else(|| ShardError::Corrupt(format!("{}/{name} is missing", store.location())))?;
            book::read_lines::<Entry>(&bytes, |e| entries.push(e))
                .map_err(|e| ShardError::Corrupt(format!("{}/{name}: {e}", store.location())))?;
        }
    }
    let book = Arc::new(Book::new(entries));
    config.out = staging.to_path_buf();
    config.resume = true;
    config.overwrite = false;
    config.shard = Some(shard);
    // A round writes only the domains whose answers are all in: the early judgement would count a
    // biased sample (round 1 writes mostly domains without MX).
    config.judge_after = 0;

    // Upload finished parts as they close, so that a killed shard resumes from them.
    let folder = dns_dir(index);
    let mut uploaded: HashSet<PathBuf> = pulled.into_iter().collect();
    let scan = crate::scan::run_with(config, stop, Some(book.clone()));
    tokio::pin!(scan);
    let mut tick = tokio::time::interval(local.upload_every.max(Duration::from_millis(10)));
    tick.tick().await;
    let summary = loop {
        tokio::select! {
            result = &mut scan => break result,
            _ = tick.tick() => push_parts(store, staging, &folder, &mut uploaded).await?,
        }
    };
    // Whatever happened, the parts closed so far go up (a failed scan's closed parts are whole).
    push_parts(store, staging, &folder, &mut uploaded).await?;
    let summary = summary?;
    // These two change every round: replaced whole.
    store.put_file(&format!("{folder}/{RUN_FILE}"), &staging.join(RUN_FILE)).await?;
    store.put_file(&format!("{folder}/{REJECTS_FILE}"), &staging.join(REJECTS_FILE)).await?;
    if !summary.complete {
        return Err(ShardError::Interrupted);
    }
    let wants = book.take_wants();
    let mut bytes = Vec::new();
    let n = book::write_lines(&mut bytes, wants.iter()).map_err(|e| ShardError::Corrupt(e.to_string()))?;
    store.put(&wants_file(round, index), bytes).await?;
    let done = DnsDone {
        round,
        shard: index,
        domains: summary.counts.domains,
        written: summary.counts.domains_this_run,
        deferred: summary.deferred,
        wants: n,
        dns_sent: summary.counts.dns_sent,
        elapsed_seconds: summary.elapsed_seconds,
    };
    put_json(store, &dns_done(round, index), &done).await?;
    Ok(PhaseReport::Dns(done))
}

/// Uploads a DNS shard's closed parts not uploaded yet (`uploaded`: paths relative to the shard's
/// folder): `mx_hosts` and `client_endpoints` before `domains`, so that a `domains` part on the store
/// has its twins there (as the writer closes them).
async fn push_parts(
    store: &Store,
    staging: &Path,
    folder: &str,
    uploaded: &mut HashSet<PathBuf>,
) -> Result<(), StoreError> {
    for dataset in [MX_HOSTS_DIR, CLIENT_ENDPOINTS_DIR, DOMAINS_DIR] {
        let mut done: HashSet<PathBuf> =
            uploaded.iter().filter_map(|p| p.strip_prefix(dataset).ok().map(Path::to_path_buf)).collect();
        store.push_dir(&staging.join(dataset), &format!("{folder}/{dataset}"), &mut done).await?;
        uploaded.extend(done.into_iter().map(|p| Path::new(dataset).join(p)));
    }
    Ok(())
}

/// Makes one wanted connection through the runner.
async fn answer(runner: &Runner, want: &Want) -> Found {
    let shared = |source: ProbeSource, host: Option<String>| {
        (source == ProbeSource::SharedAddress).then_some(()).and(host).map(|from| Found::SharedAddress { from })
    };
    match want {
        Want::Smtp { host, ip } => {
            let p = runner.smtp(host, *ip).await;
            shared(p.source, p.source_host).unwrap_or(Found::Smtp(p.report))
        }
        Want::Client { protocol, host, port, ip } => {
            let endpoint = crate::client::Endpoint {
                protocol: *protocol,
                host: host.clone(),
                port: *port,
                source: crate::client::Source::Srv,
                declared: None,
            };
            let p = runner.client(&endpoint, *ip, true).await;
            shared(p.source, p.source_host).unwrap_or(Found::Client(p.report))
        }
        Want::Fetch { host, ip, path, max_body } => {
            Found::Fetch(FetchRecord::from_result(&runner.fetch(host, *ip, path, *max_body).await))
        }
    }
}

/// Runs probe shard `index` of the current round with the scan's limits and probe settings.
pub async fn probe_phase(store: &Store, config: &ScanConfig, index: u32) -> Result<PhaseReport, ShardError> {
    let plan = plan(store).await?;
    let shard = Shard::new(index, plan.shards).map_err(ShardError::Usage)?;
    let round = match next(store).await? {
        Next::Probe(r) => r,
        other => return Ok(PhaseReport::NothingToDo(other)),
    };
    if store.exists(&probe_done(round, index)).await? {
        return Ok(PhaseReport::NothingToDo(Next::Probe(round)));
    }
    // This shard's addresses, from every DNS shard's wants: want -> the DNS shards that asked.
    let mut wanted: HashMap<Want, Vec<u32>> = HashMap::new();
    for k in 0..plan.shards {
        let name = wants_file(round, k);
        let bytes = store
            .get(&name)
            .await?
            .ok_or_else(|| ShardError::Corrupt(format!("{}/{name} is missing", store.location())))?;
        book::read_lines::<Want>(&bytes, |w| {
            if shard.owns_address(w.ip()) {
                wanted.entry(w).or_default().push(k);
            }
        })
        .map_err(|e| ShardError::Corrupt(format!("{}/{name}: {e}", store.location())))?;
    }
    let tls = TlsContext::new(&config.ca_files).map_err(crate::scan::ScanError::from)?;
    let kit = Kit::new(config, tls);
    let runner = Runner::new(config.limits.clone(), kit);
    // In a stable order that mixes addresses (so the in-flight window is spread over them; the
    // runner's per-address queues do the rest).
    let mut order: Vec<(u64, &Want)> =
        wanted.keys().map(|w| (stable_hash(serde_json::to_string(w).unwrap_or_default().as_bytes()), w)).collect();
    order.sort_by_key(|(h, _)| *h);
    let found: HashMap<&Want, Found> = futures::stream::iter(order)
        .map(|(_, w)| {
            let runner = &runner;
            async move { (w, answer(runner, w).await) }
        })
        .buffer_unordered(config.max_parked.max(1))
        .collect()
        .await;
    // For each DNS shard: its answers, and the source of each shared-address answer.
    let mut per_shard: Vec<Vec<Entry>> = vec![Vec::new(); plan.shards as usize];
    let mut sources: Vec<HashSet<Want>> = vec![HashSet::new(); plan.shards as usize];
    for (want, shards) in &wanted {
        let f = &found[want];
        for &k in shards {
            per_shard[k as usize].push(Entry { want: want.clone(), found: f.clone() });
            if let Found::SharedAddress { from } = f {
                sources[k as usize].insert(want.with_host(from));
            }
        }
    }
    for (k, entries) in per_shard.iter_mut().enumerate() {
        let have: HashSet<Want> = entries.iter().map(|e| e.want.clone()).collect();
        for source in &sources[k] {
            if !have.contains(source)
                && let Some(f) = found.get(source)
            {
                entries.push(Entry { want: source.clone(), found: f.clone() });
            }
        }
        entries.sort_by_key(|e| e.want.ip());
        let mut bytes = Vec::new();
        book::write_lines(&mut bytes, entries.iter()).map_err(|e| ShardError::Corrupt(e.to_string()))?;
        store.put(&book_file(round, index, k as u32), bytes).await?;
    }
    let counts = runner.counts();
    let mut addresses: Vec<IpAddr> = wanted.keys().map(Want::ip).collect::<HashSet<_>>().into_iter().collect();
    addresses.sort();
    let done = ProbeDone {
        round,
        shard: index,
        answered: found.len() as u64,
        connections: counts.connections,
        shared_address: counts.shared_address,
        addresses: addresses.len() as u64,
        address_list: addresses,
    };
    put_json(store, &probe_done(round, index), &done).await?;
    Ok(PhaseReport::Probe(done))
}

/// What [`assemble`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Assembled {
    /// Rounds the scan took.
    pub rounds: u32,
    /// Part files per dataset.
    pub parts: BTreeMap<String, u64>,
    /// Rows of `rejects.csv`.
    pub rejects: u64,
}

fn part_number(name: &str) -> Option<u32> {
    name.rsplit('/').next()?.strip_prefix("part-")?.strip_suffix(".parquet")?.parse().ok()
}

/// Joins the shards' parts into one scan folder at `out` (a local folder or a store location):
/// `domains/`, `mx_hosts/`, `client_endpoints/` (parts named `part-sKKKK-NNNNN.parquet`),
/// `rejects.csv` in input order, and a `run.json` whose counts are the shards' sums.
pub async fn assemble(store: &Store, out: &Store) -> Result<Assembled, ShardError> {
    let plan = plan(store).await?;
    let rounds = match next(store).await? {
        Next::Done(r) => r,
        other => {
            return Err(ShardError::Usage(format!(
                "the scan is not finished: its next step is the {} phase of round {}",
                other.word(),
                match other {
                    Next::Dns(r) | Next::Probe(r) | Next::Done(r) => r,
                }
            )));
        }
    };
    let mut parts: BTreeMap<String, u64> = BTreeMap::new();
    let mut rejects: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut header: Option<Vec<u8>> = None;
    let mut shard_runs = Vec::new();
    let mut sums: BTreeMap<&str, u64> = BTreeMap::new();
    let mut starttls: BTreeMap<String, u64> = BTreeMap::new();
    for k in 0..plan.shards {
        let folder = dns_dir(k);
        let names = store.list(&folder).await?;
        // A part counts when all three datasets have it (as `--resume` decides).
        let numbers = |dataset: &str| -> HashSet<u32> {
            let prefix = format!("{folder}/{dataset}/");
            names
                .iter()
                .filter_map(|n| n.strip_prefix(&prefix))
                .filter(|n| !n.contains('/'))
                .filter_map(part_number)
                .collect()
        };
        let complete: Vec<u32> = {
            let (d, m, c) = (numbers(DOMAINS_DIR), numbers(MX_HOSTS_DIR), numbers(CLIENT_ENDPOINTS_DIR));
            let mut v: Vec<u32> = d.into_iter().filter(|n| m.contains(n) && c.contains(n)).collect();
            v.sort();
            v
        };
        for dataset in DATASET_DIRS {
            for n in &complete {
                let from = format!("{folder}/{dataset}/part-{n:05}.parquet");
                let bytes = store
                    .get(&from)
                    .await?
                    .ok_or_else(|| ShardError::Corrupt(format!("{}/{from} vanished", store.location())))?;
                out.put(&format!("{dataset}/part-s{k:04}-{n:05}.parquet"), bytes.to_vec()).await?;
                *parts.entry(dataset.to_string()).or_default() += 1;
            }
        }
        if let Some(bytes) = store.get(&format!("{folder}/{REJECTS_FILE}")).await? {
            let mut lines = bytes.split_inclusive(|b| *b == b'\n');
            if let Some(h) = lines.next() {
                header.get_or_insert_with(|| h.to_vec());
            }
            for line in lines {
                let n = line.split(|b| *b == b',').next().and_then(|f| std::str::from_utf8(f).ok()?.parse().ok());
                rejects.push((n.unwrap_or(u64::MAX), line.to_vec()));
            }
        }
        if let Some(run) = get_json::<serde_json::Value>(store, &format!("{folder}/{RUN_FILE}")).await? {
            let counts = &run["counts"];
            for key in ["domains", "mx_rows", "client_rows", "rejects", "probes", "dns_queries", "dns_sent"] {
                *sums.entry(key).or_default() += counts[key].as_u64().unwrap_or(0);
            }
            if let Some(map) = counts["starttls"].as_object() {
                for (label, v) in map {
                    *starttls.entry(label.clone()).or_default() += v.as_u64().unwrap_or(0);
                }
            }
            shard_runs.push(run);
        }
    }
    rejects.sort_by_key(|(n, _)| *n);
    let mut text = header.unwrap_or_else(|| b"line,input,reason,detail\n".to_vec());
    for (_, line) in &rejects {
        text.extend_from_slice(line);
    }
    out.put(REJECTS_FILE, text).await?;
    // The probe phases' connections, for the record.
    let mut connections: BTreeMap<String, u64> = BTreeMap::new();
    for r in 1..rounds {
        for j in 0..plan.shards {
            if let Some(p) = get_json::<ProbeDone>(store, &probe_done(r, j)).await? {
                for (class, n) in p.connections {
                    *connections.entry(class).or_default() += n;
                }
            }
        }
    }
    let first = shard_runs.first().cloned().unwrap_or_default();
    let mut counts = serde_json::Map::new();
    for (k, v) in &sums {
        counts.insert(k.to_string(), serde_json::json!(v));
    }
    counts.insert("starttls".into(), serde_json::json!(starttls));
    counts.insert("connections".into(), serde_json::json!(connections));
    let run = serde_json::json!({
        "tool": "mailcensus",
        "version": env!("CARGO_PKG_VERSION"),
        "scan_id": plan.scan_id,
        "scan_date": plan.scan_date,
        "keep_columns": first["keep_columns"],
        "schema_version": crate::output::schema::SCHEMA_VERSION,
        "args": first["args"],
        "started_at": first["started_at"],
        "finished_at": crate::output::run_info::rfc3339(std::time::SystemTime::now()),
        "complete": true,
        "sharded": { "shards": plan.shards, "rounds": rounds, "work": store.location() },
        "counts": counts,
        "warnings": [],
    });
    put_json(out, RUN_FILE, &run).await?;
    Ok(Assembled { rounds, parts, rejects: rejects.len() as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_domains_lines_and_addresses_once() {
        let shards: Vec<Shard> = (0..4).map(|i| Shard::new(i, 4).unwrap()).collect();
        for d in ["a.test", "B.test", "example.jp", "xn--r8jz45g.jp"] {
            assert_eq!(shards.iter().filter(|s| s.owns_domain(d)).count(), 1, "{d}");
        }
        assert!(shards.iter().all(|s| s.owns_domain("B.test") == s.owns_domain("b.test")));
        for line in 1..50 {
            assert_eq!(shards.iter().filter(|s| s.owns_line(line)).count(), 1);
        }
        let mut per_shard = [0; 4];
        for i in 0..=255u8 {
            let ip = IpAddr::from([192, 0, 2, i]);
            let owners: Vec<_> = shards.iter().filter(|s| s.owns_address(ip)).collect();
            assert_eq!(owners.len(), 1);
            per_shard[owners[0].index as usize] += 1;
        }
        assert!(per_shard.iter().all(|n| *n > 30), "roughly even: {per_shard:?}");
        assert!(Shard::new(4, 4).is_err() && Shard::new(0, 0).is_err());
    }

    #[test]
    fn the_stable_hash_does_not_change() {
        // SHA-256("a.test")'s first 8 bytes: pinned, since shards of one scan may run different builds.
        assert_eq!(stable_hash(b"a.test"), 0x52dc_f5ee_b77a_59de);
    }

    #[test]
    fn the_index_comes_from_the_flag_first() {
        assert_eq!(shard_index(Some(3)), Ok(3));
    }

    #[test]
    fn part_numbers_are_read_from_names() {
        assert_eq!(part_number("dns/s0001/domains/part-00012.parquet"), Some(12));
        assert_eq!(part_number("dns/s0001/domains/part-00012.parquet.tmp"), None);
        assert_eq!(part_number("x/.set-aside/part-1.parquet.99"), None);
    }
}
