//! The probe runner: every connection the scanner opens (SMTP to an MX, a mail app's endpoint, an
//! HTTPS fetch) is a job given to this one component, which owns what all of them need:
//!
//! - **Admission, per destination.** Jobs wait in a queue per destination, a (politeness [`Class`],
//!   address) pair. A dispatcher starts the job at the front of whichever queue may start soonest,
//!   within its class's per-address rate and connection limits and the run-wide `--probe-rate`, so a
//!   ready address is served while others wait for their rate: a queue of ten thousand jobs at one
//!   address never delays a job at another. A temporary refusal (a 421 greeting) backs the
//!   destination off and puts the job back at the front of its queue.
//! - **Once per run.** An (MX host, address) and a (protocol, host, port, address) are probed once per
//!   run, however many domains ask; later askers share the result ([`ProbeSource::Cache`]).
//! - **Shared addresses.** Before TLS a server cannot know which name the client wants (the SMTP
//!   dialogue never carries the MX name), and after it only SNI tells it. So when two different names
//!   at one address got the same answer (the same certificate chain; no STARTTLS; or the same failure
//!   before the handshake: refused, silent, a 421 greeting after its retries, 454 to STARTTLS), the
//!   address is taken as name-independent: further names there are judged offline against that
//!   answer, without connecting ([`ProbeSource::SharedAddress`]). Where the answers differ, every
//!   name is probed. A certificate that lists both names explicitly proves nothing (it may be a bundle
//!   of some customers' names), so a third name is needed then.
//! - **A panic guard.** A panic inside a job becomes an `internal` failure of that job only.
//! - **Counters**: connections per class, cache hits, answers shared by address, retries, the queue
//!   depth of the busiest destinations, and what bounds the run's wall time from below.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use crate::client::Endpoint;
use crate::limit::{Class, ClassLimits, Gcra, Limits, retry_delay};
use crate::probe::client::{self, ClientReport, ClientTls};
use crate::probe::https::{self, FetchError, FetchFailure, FetchLimits, HttpsResponse};
use crate::probe::smtp::{self, ProbeReport, SmtpConfig, StartTls};
use crate::probe::tls::TlsContext;
use crate::probe::{Attempt, FailureReason, Phase, ProbeFailure};
use crate::shard::book::{Book, Lookup};

crate::labels! {
    /// Where the facts of a probed (host, address) row come from.
    pub enum ProbeSource {
        /// A connection to this host name at this address, made for this domain.
        Own => "own",
        /// The connection to this host name at this address made for an earlier domain of the run.
        Cache => "cache",
        /// No connection to this host name: the address answers every name alike, and the facts are
        /// those of the probe of another name there (`probe_source_host`), judged for this name.
        SharedAddress => "shared_address",
    }
}

/// What a probe request got.
#[derive(Clone, Debug)]
pub struct Probed<R> {
    /// The report (shared between the domains that asked).
    pub report: Arc<R>,
    /// Where its facts come from.
    pub source: ProbeSource,
    /// For [`ProbeSource::SharedAddress`]: the host name whose probe gave the facts.
    pub source_host: Option<String>,
    /// An earlier domain of the run asked for the same (host, address).
    pub cached: bool,
}

/// The placeholder failure of a probe deferred to the probe phase (never written).
fn deferral() -> ProbeFailure {
    ProbeFailure::new(Phase::Connect, FailureReason::Internal, "deferred to the probe phase")
}

/// A placeholder answer, and the asking domain marked as deferred.
fn deferred<R>(report: R) -> Probed<R> {
    super::defer::mark();
    Probed { report: Arc::new(report), source: ProbeSource::Own, source_host: None, cached: false }
}

/// How one connection attempt of a job ended, for the runner.
enum Step {
    /// Finished; its result is delivered.
    Done,
    /// A temporary refusal: back the destination off this long, then run the job again.
    RetryAfter(Duration),
}

/// A job, type-erased: what the runner needs to run it.
trait Task: Send + 'static {
    /// Completes the job without a connection when its answer is already known (a name-independent
    /// address); the returned future delivers it.
    fn settle(&mut self) -> Option<BoxFuture<'static, ()>>;
    /// One connection attempt (`n` counts from 1).
    fn attempt(&mut self, n: u32) -> BoxFuture<'static, Step>;
    /// The attempt panicked: deliver an `internal` failure.
    fn panicked(&mut self, detail: String);
}

struct Job {
    attempt: u32,
    /// The least time its earlier attempts took: their connections and the back-offs after them.
    spent: Duration,
    task: Box<dyn Task>,
}

type Dest = (Class, IpAddr);

/// One destination's queue and state.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    open: usize,
    next_start: Option<Instant>,
    backoff_until: Option<Instant>,
    /// In the dispatcher's heap.
    scheduled: bool,
    /// What it counted for the run's lower bound.
    tally: Tally,
}

/// What a destination counted for the run's lower bound, over the whole run: connections started,
/// the time they were open, and the time it was backed off (the union of its back-off windows).
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    started: u64,
    busy: Duration,
    backed_off: Duration,
}

/// Tallies of forgotten (idle) destinations kept at once: those of destinations with two connections
/// or more, which are the shared ones (a destination with one connection adds nothing to the bound
/// beyond that connection). Past it, a destination that falls idle starts a new tally when it is
/// busy again, and the bound may be lower than it could be (never higher).
const MAX_TALLIES: usize = 65_536;

impl Queue {
    /// The earliest moment its rate and back-off allow its next start (`None`: any time).
    fn not_before(&self) -> Option<Instant> {
        self.next_start.max(self.backoff_until)
    }

    fn ready_at(&self, now: Instant) -> Instant {
        self.not_before().map_or(now, |t| t.max(now))
    }

    fn idle(&self, now: Instant) -> bool {
        self.jobs.is_empty() && self.open == 0 && self.ready_at(now) <= now
    }
}

/// What bounds a run's wall time from below, from the connections the runner made.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Bound {
    /// The busiest destination's time: max over destinations of (connections − 1) ÷ its per-address
    /// rate, and of the time its connections were open ÷ its connection limit.
    pub busiest_destination_seconds: f64,
    /// That destination, as `class/address`.
    pub busiest_destination: String,
    /// All connections ÷ `--probe-rate`.
    pub probe_rate_seconds: f64,
    /// The longest single connection (a probe that ran into its deadline).
    pub longest_connection_seconds: f64,
    /// The longest job: its connections' time plus the back-offs between its attempts (a server
    /// that answered 421 and was tried again later cannot be done sooner).
    pub longest_job_seconds: f64,
}

struct State {
    queues: HashMap<Dest, Queue>,
    /// The tallies of destinations whose idle queue was forgotten, restored when they are busy again:
    /// a destination busy in two periods of the run needs its connections of both in the bound.
    tallies: HashMap<Dest, Tally>,
    heap: BinaryHeap<Reverse<(Instant, u64, Dest)>>,
    seq: u64,
    global: Gcra,
    bound: Bound,
    last_sweep: Instant,
    /// Until when the dispatcher sleeps (`None` while it works): a new job wakes it only if it is
    /// ready sooner, so a burst of submissions does not make it re-plan for each.
    sleeping_until: Option<Instant>,
    /// The dispatcher's last wait was for the run's rate (`--probe-rate`), not a destination's.
    waiting_on_global: bool,
}

enum Action {
    Start(Dest, Job),
    Settle(BoxFuture<'static, ()>),
    WaitUntil(Instant),
    Idle,
}

impl State {
    /// The queue of `dest`, made when it has none (with its tally, if it had one before).
    fn queue(&mut self, dest: Dest) -> &mut Queue {
        let tallies = &mut self.tallies;
        self.queues
            .entry(dest)
            .or_insert_with(|| Queue { tally: tallies.remove(&dest).unwrap_or_default(), ..Queue::default() })
    }

    /// Puts `dest` in line if it has a job it may start; true when the dispatcher must be woken for it.
    fn schedule(&mut self, dest: Dest, now: Instant, cap: usize) -> bool {
        let q = self.queue(dest);
        if q.scheduled || q.jobs.is_empty() || q.open >= cap {
            return false;
        }
        q.scheduled = true;
        let at = q.ready_at(now);
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, dest)));
        self.sleeping_until.is_some_and(|t| at < t)
    }

    fn next_action(&mut self, now: Instant, limits: &Limits) -> Action {
        loop {
            let Some(Reverse((at, _, dest))) = self.heap.peek().copied() else { return Action::Idle };
            let cap = limits.of(dest.0).per_ip_connections.max(1);
            let Some(q) = self.queues.get_mut(&dest) else {
                self.heap.pop();
                continue;
            };
            if q.jobs.is_empty() || q.open >= cap {
                self.heap.pop();
                q.scheduled = false;
                continue;
            }
            // A job whose answer is already known needs no connection and waits for no rate.
            if let Some(done) = q.jobs.front_mut().and_then(|j| j.task.settle()) {
                q.jobs.pop_front();
                return Action::Settle(done);
            }
            // Compared with its own limits, not with `now`: a queue that has waited for the run's
            // rate keeps its place in line (re-queuing every waiting queue at `now` on each call
            // made the dispatcher quadratic in the destinations waiting).
            if let Some(ready) = q.not_before().filter(|&r| r > at) {
                // Its rate or back-off moved on since it was queued: take its place in line again.
                self.heap.pop();
                self.seq += 1;
                self.heap.push(Reverse((ready, self.seq, dest)));
                continue;
            }
            let global = self.global.earliest(now);
            let start = at.max(global);
            if start > now {
                self.waiting_on_global = global > at.max(now);
                return Action::WaitUntil(start);
            }
            self.waiting_on_global = false;
            self.heap.pop();
            let job = q.jobs.pop_front().expect("checked non-empty");
            q.open += 1;
            q.tally.started += 1;
            q.next_start = Some(now + limits.of(dest.0).interval());
            q.scheduled = false;
            self.global.take(now);
            self.schedule(dest, now, cap);
            return Action::Start(dest, job);
        }
    }

    /// A job at `dest` ended after its connection was open for `open_for`: a retry goes back to the
    /// front of its queue after the back-off, and the bound takes the destination's and the job's
    /// times. True when the dispatcher must be woken.
    fn job_ended(
        &mut self,
        dest: Dest,
        job: Job,
        step: Step,
        open_for: Duration,
        now: Instant,
        limits: ClassLimits,
    ) -> bool {
        let q = self.queue(dest);
        q.open = q.open.saturating_sub(1);
        q.tally.busy += open_for;
        let spent = job.spent + open_for;
        let mut chain = None;
        match step {
            Step::RetryAfter(delay) => {
                let until = now + delay;
                // Only the part of this back-off that does not overlap one already running.
                let from = q.backoff_until.map_or(now, |b| b.max(now));
                q.tally.backed_off += until.saturating_duration_since(from);
                q.backoff_until = Some(q.backoff_until.map_or(until, |b| b.max(until)));
                q.jobs.push_front(Job { attempt: job.attempt + 1, spent: spent + delay, task: job.task });
            }
            Step::Done => chain = Some(spent),
        }
        let cap = limits.per_ip_connections.max(1);
        let t = q.tally;
        let rate_bound = limits.interval().as_secs_f64() * t.started.saturating_sub(1) as f64;
        let busy_bound = t.busy.as_secs_f64() / cap as f64;
        // One connection at a time: nothing is open while the destination is backed off.
        let serial_bound = if cap == 1 { (t.busy + t.backed_off).as_secs_f64() } else { 0.0 };
        let dest_bound = rate_bound.max(busy_bound).max(serial_bound);
        let b = &mut self.bound;
        if let Some(chain) = chain {
            b.longest_job_seconds = b.longest_job_seconds.max(chain.as_secs_f64());
        }
        if dest_bound > b.busiest_destination_seconds {
            b.busiest_destination_seconds = dest_bound;
            b.busiest_destination = format!("{}/{}", dest.0.as_label(), dest.1);
        }
        b.longest_connection_seconds = b.longest_connection_seconds.max(open_for.as_secs_f64());
        self.schedule(dest, now, cap)
    }

    /// Forgets idle destinations; the tallies of those with two connections or more are kept (see
    /// [`MAX_TALLIES`]).
    fn sweep(&mut self, now: Instant) {
        let tallies = &mut self.tallies;
        self.queues.retain(|dest, q| {
            let idle = q.idle(now);
            if idle && q.tally.started >= 2 && tallies.len() < MAX_TALLIES {
                tallies.insert(*dest, q.tally);
            }
            !idle
        });
        self.last_sweep = now;
    }
}

/// Counters of a run, by class where it matters.
#[derive(Default)]
struct Counters {
    connections: [AtomicU64; 3],
    jobs: [AtomicU64; 3],
    shared: [AtomicU64; 3],
    retries: AtomicU64,
    cache_hits: [AtomicU64; 3],
    internal_errors: AtomicU64,
}

fn class_index(c: Class) -> usize {
    match c {
        Class::Smtp => 0,
        Class::Client => 1,
        Class::Https => 2,
    }
}

/// The counters of a run, as written to `run.json`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RunnerCounts {
    /// Jobs run with at least one connection, by class (`smtp` is the number of STARTTLS probes).
    pub probes: std::collections::BTreeMap<String, u64>,
    /// Connections opened, by class (retries after a temporary refusal included).
    pub connections: std::collections::BTreeMap<String, u64>,
    /// Requests answered from the once-per-run cache, by class.
    pub cache_hits: std::collections::BTreeMap<String, u64>,
    /// (host, address) pairs judged from another name's probe at a name-independent address, by class.
    pub shared_address: std::collections::BTreeMap<String, u64>,
    /// Connections retried after a temporary refusal.
    pub retries: u64,
    /// Jobs that panicked (each became an `internal` failure).
    pub internal_errors: u64,
    /// What bounds the run's wall time from below.
    pub bound: Bound,
}

/// Everything a job needs to talk to a server.
#[derive(Clone)]
pub struct Kit {
    /// Trust roots and TLS configurations.
    pub tls: TlsContext,
    /// The SMTP dialogue settings (port, EHLO name, timeouts).
    pub smtp: SmtpConfig,
    /// Retries after a temporary refusal (`--retries`).
    pub retries: u32,
    /// The first back-off (`--retry-delay`).
    pub retry_delay: Duration,
    /// The HTTPS port and deadline of fetches.
    pub https_port: u16,
    /// Deadline of one fetch (`--https-timeout`).
    pub https_timeout: Duration,
    /// Fault injection for tests: a job for this host name panics.
    pub inject_panic: Option<String>,
}

impl Kit {
    /// The kit a scan configured as `config` uses, with its trust roots `tls`.
    pub fn new(config: &crate::config::ScanConfig, tls: TlsContext) -> Self {
        Self {
            tls,
            smtp: config.smtp.clone(),
            retries: config.retries,
            retry_delay: config.retry_delay,
            https_port: config.https_port,
            https_timeout: config.https_timeout,
            inject_panic: config.inject_panic.clone(),
        }
    }

    fn client_config(&self) -> client::ClientConfig {
        client::ClientConfig {
            connect_timeout: self.smtp.connect_timeout,
            read_timeout: self.smtp.read_timeout,
            probe_timeout: self.smtp.probe_timeout,
            ehlo_name: self.smtp.ehlo_name.clone(),
        }
    }

    fn maybe_panic(&self, host: &str) {
        if self.inject_panic.as_deref() == Some(host) {
            panic!("injected panic probing {host}");
        }
    }
}

struct Inner {
    limits: Limits,
    kit: Kit,
    state: Mutex<State>,
    wake: Notify,
    counters: Counters,
    smtp_cache: Cache<(String, IpAddr), ProbeReport>,
    smtp_sharing: Sharing<IpAddr, ProbeReport>,
    client_cache: Cache<(client::Protocol, String, u16, IpAddr), ClientReport>,
    client_sharing: Sharing<(client::Protocol, u16, IpAddr), ClientReport>,
    /// A DNS shard of a sharded scan: answers come from this book, never from a connection.
    book: Option<Arc<Book>>,
}

/// The run's probe runner (cheap to clone).
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

impl Runner {
    /// A runner with these limits; its dispatcher runs on the current tokio runtime until the last
    /// clone is dropped.
    pub fn new(limits: Limits, kit: Kit) -> Self {
        Self::with_book(limits, kit, None)
    }

    /// A runner that opens no connection: it answers from `book` (a DNS shard of a sharded scan,
    /// [`crate::shard`]), and what the book lacks is recorded there as wanted, answered with a
    /// placeholder, and the asking domain is deferred to the next round ([`super::defer`]).
    pub fn from_book(limits: Limits, kit: Kit, book: Arc<Book>) -> Self {
        Self::with_book(limits, kit, Some(book))
    }

    /// Whether this runner replays a book.
    pub fn replaying(&self) -> bool {
        self.inner.book.is_some()
    }

    fn with_book(limits: Limits, kit: Kit, book: Option<Arc<Book>>) -> Self {
        let now = Instant::now();
        let burst = limits.probe_rate.clamp(1.0, u32::MAX as f64) as u32;
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                queues: HashMap::new(),
                tallies: HashMap::new(),
                heap: BinaryHeap::new(),
                seq: 0,
                // The run-wide rate allows a burst of one second's worth, so a run starts at full rate.
                global: Gcra::new(limits.probe_rate, burst),
                bound: Bound::default(),
                last_sweep: now,
                sleeping_until: None,
                waiting_on_global: false,
            }),
            limits,
            kit,
            wake: Notify::new(),
            counters: Counters::default(),
            smtp_cache: Cache::default(),
            smtp_sharing: Sharing::default(),
            client_cache: Cache::default(),
            client_sharing: Sharing::default(),
            book,
        });
        tokio::spawn(dispatch(Arc::downgrade(&inner)));
        Self { inner }
    }

    fn submit(&self, dest: Dest, task: Box<dyn Task>) {
        let now = Instant::now();
        let cap = self.inner.limits.of(dest.0).per_ip_connections.max(1);
        let wake = {
            let mut st = lock(&self.inner.state);
            st.queue(dest).jobs.push_back(Job { attempt: 1, spent: Duration::ZERO, task });
            st.schedule(dest, now, cap)
        };
        if wake {
            self.inner.wake.notify_one();
        }
    }

    /// The SMTP probe of `host` at `ip`: once per run, shared by address when the address answers
    /// every name alike.
    pub async fn smtp(&self, host: &str, ip: IpAddr) -> Probed<ProbeReport> {
        let inner = &self.inner;
        if let Some(book) = &inner.book {
            return match book.smtp(host, ip) {
                Lookup::Known(p) => p,
                Lookup::Wanted => deferred(ProbeReport::failed(deferral())),
            };
        }
        let (done, first) = inner.smtp_cache.get_or_insert((host.to_string(), ip), |deliver| {
            let task = SmtpTask { runner: self.clone(), host: host.to_string(), ip, deliver };
            self.submit((Class::Smtp, ip), Box::new(task));
        });
        if !first {
            inner.counters.cache_hits[0].fetch_add(1, Ordering::Relaxed);
        }
        done.await.probed(!first)
    }

    /// The probe of a client endpoint at `ip`: once per (protocol, host, port, address) per run,
    /// shared by address like [`Runner::smtp`]. With `keep` false (a guessed, per-domain name no
    /// other domain asks for) the result is shared only while the probe runs, not kept for the run.
    pub async fn client(&self, endpoint: &Endpoint, ip: IpAddr, keep: bool) -> Probed<ClientReport> {
        let inner = &self.inner;
        if let Some(book) = &inner.book {
            return match book.client(endpoint.protocol, &endpoint.host, endpoint.port, ip) {
                Lookup::Known(p) => p,
                Lookup::Wanted => deferred(ClientReport::failed(deferral())),
            };
        }
        let key = (endpoint.protocol, endpoint.host.clone(), endpoint.port, ip);
        let (done, first) = inner.client_cache.get_or_insert(key, |deliver| {
            let task = ClientTask {
                runner: self.clone(),
                protocol: endpoint.protocol,
                host: endpoint.host.clone(),
                port: endpoint.port,
                ip,
                deliver,
            };
            self.submit((Class::Client, ip), Box::new(task));
        });
        if !first {
            inner.counters.cache_hits[1].fetch_add(1, Ordering::Relaxed);
        }
        let probed = done.await.probed(!first);
        if first && !keep {
            inner.client_cache.forget(&(endpoint.protocol, endpoint.host.clone(), endpoint.port, ip));
        }
        probed
    }

    /// Results kept in the once-per-run caches: (SMTP, client).
    pub fn cached(&self) -> (usize, usize) {
        (lock(&self.inner.smtp_cache.map).len(), lock(&self.inner.client_cache.map).len())
    }

    /// GETs `https://{host}{path}` from `ip` (strict certificate checks, at most `max_body` bytes,
    /// `--https-timeout`), in its turn at that address.
    pub async fn fetch(
        &self,
        host: &str,
        ip: IpAddr,
        path: &str,
        max_body: usize,
    ) -> Result<HttpsResponse, FetchError> {
        if let Some(book) = &self.inner.book {
            return book.fetch(host, ip, path, max_body).unwrap_or_else(|| {
                super::defer::mark();
                Err(FetchError { kind: FetchFailure::Internal, detail: deferral().detail })
            });
        }
        let (tx, rx) = oneshot::channel();
        let task = FetchTask {
            runner: self.clone(),
            host: host.to_string(),
            ip,
            path: path.to_string(),
            max_body,
            deliver: Arc::new(Mutex::new(Some(tx))),
        };
        self.submit((Class::Https, ip), Box::new(task));
        rx.await.unwrap_or_else(|_| Err(FetchError { kind: FetchFailure::Http, detail: "the run stopped".into() }))
    }

    /// The counters so far.
    pub fn counts(&self) -> RunnerCounts {
        let c = &self.inner.counters;
        let by_class = |a: &[AtomicU64; 3]| {
            Class::ALL.iter().map(|k| (k.as_label().to_string(), a[class_index(*k)].load(Ordering::Relaxed))).collect()
        };
        let mut bound = lock(&self.inner.state).bound.clone();
        let connections: u64 = c.connections.iter().map(|a| a.load(Ordering::Relaxed)).sum();
        bound.probe_rate_seconds = connections.saturating_sub(1) as f64 / self.inner.limits.probe_rate.max(1e-9);
        RunnerCounts {
            probes: by_class(&c.jobs),
            connections: by_class(&c.connections),
            cache_hits: by_class(&c.cache_hits),
            shared_address: by_class(&c.shared),
            retries: c.retries.load(Ordering::Relaxed),
            internal_errors: c.internal_errors.load(Ordering::Relaxed),
            bound,
        }
    }

    /// The destinations with the most jobs waiting or open: (class, address, waiting, open).
    pub fn busiest(&self, n: usize) -> Vec<(Class, IpAddr, usize, usize)> {
        let st = lock(&self.inner.state);
        let mut v: Vec<_> = st
            .queues
            .iter()
            .filter(|(_, q)| !q.jobs.is_empty())
            .map(|(d, q)| (d.0, d.1, q.jobs.len(), q.open))
            .collect();
        v.sort_by_key(|(c, ip, waiting, _)| (Reverse(*waiting), *c, *ip));
        v.truncate(n);
        v
    }

    /// The run's rate (`--probe-rate`) is what the next start waits for, rather than a
    /// destination's own limits.
    pub fn waiting_on_global_rate(&self) -> bool {
        lock(&self.inner.state).waiting_on_global
    }

    /// Jobs waiting in all queues, and connections open.
    pub fn load(&self) -> (usize, usize) {
        let st = lock(&self.inner.state);
        st.queues.values().fold((0, 0), |(w, o), q| (w + q.jobs.len(), o + q.open))
    }
}

/// Runs jobs in their turn until the runner is dropped.
async fn dispatch(weak: std::sync::Weak<Inner>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let now = Instant::now();
        let action = {
            let mut st = lock(&inner.state);
            if now.duration_since(st.last_sweep) > Duration::from_secs(5) {
                st.sweep(now);
            }
            let action = st.next_action(now, &inner.limits);
            st.sleeping_until = match &action {
                Action::WaitUntil(t) => Some(*t),
                Action::Idle => Some(now + Duration::from_secs(3600)),
                _ => None,
            };
            action
        };
        match action {
            Action::Start(dest, job) => {
                tokio::spawn(run_job(inner, dest, job));
            }
            Action::Settle(done) => {
                tokio::spawn(done);
            }
            Action::WaitUntil(t) => {
                let wake = inner.clone();
                drop(inner);
                tokio::select! {
                    _ = tokio::time::sleep_until(t) => {}
                    _ = wake.wake.notified() => {}
                }
            }
            Action::Idle => {
                let wake = inner.clone();
                drop(inner);
                // Wakes on a new job or a closed connection; the timeout lets the dispatcher notice
                // that the runner was dropped.
                let _ = tokio::time::timeout(Duration::from_secs(1), wake.wake.notified()).await;
            }
        }
    }
}

async fn run_job(inner: Arc<Inner>, dest: Dest, mut job: Job) {
    let started = Instant::now();
    let k = class_index(dest.0);
    inner.counters.connections[k].fetch_add(1, Ordering::Relaxed);
    if job.attempt == 1 {
        inner.counters.jobs[k].fetch_add(1, Ordering::Relaxed);
    } else {
        inner.counters.retries.fetch_add(1, Ordering::Relaxed);
    }
    let attempt = job.task.attempt(job.attempt);
    let step = match AssertUnwindSafe(attempt).catch_unwind().await {
        Ok(step) => step,
        Err(p) => {
            inner.counters.internal_errors.fetch_add(1, Ordering::Relaxed);
            job.task.panicked(panic_text(&*p));
            Step::Done
        }
    };
    let now = Instant::now();
    let limits = inner.limits.of(dest.0);
    let wake = lock(&inner.state).job_ended(dest, job, step, now.duration_since(started), now, limits);
    if wake {
        inner.wake.notify_one();
    }
}

/// A result in the once-per-run cache: the report and where it came from.
struct Done<R> {
    report: Arc<R>,
    /// `None`: a connection for this key; `Some(host)`: judged from `host`'s probe at a shared address.
    derived_from: Option<String>,
}

impl<R> Done<R> {
    fn probed(self: Arc<Self>, cached: bool) -> Probed<R> {
        let source = match (&self.derived_from, cached) {
            (Some(_), _) => ProbeSource::SharedAddress,
            (None, true) => ProbeSource::Cache,
            (None, false) => ProbeSource::Own,
        };
        Probed { report: self.report.clone(), source, source_host: self.derived_from.clone(), cached }
    }
}

type Pending<R> = Shared<BoxFuture<'static, Arc<Done<R>>>>;

/// Delivers a job's result to whoever waits for it.
type Deliver<R> = Arc<Mutex<Option<oneshot::Sender<Arc<Done<R>>>>>>;

fn send_done<R>(d: &Deliver<R>, done: Done<R>) {
    if let Some(tx) = lock(d).take() {
        let _ = tx.send(Arc::new(done));
    }
}

/// The once-per-run cache: a result (or the job producing it) per key.
struct Cache<K, R> {
    map: Mutex<HashMap<K, Pending<R>>>,
}

impl<K, R> Default for Cache<K, R> {
    fn default() -> Self {
        Self { map: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash, R: Send + Sync + 'static> Cache<K, R> {
    /// Forgets `key`: an answer judged from a shared address is not kept per name (it is cheap to
    /// judge again, and vanity names are mostly one per domain: keeping them would grow with the input).
    fn forget(&self, key: &K) {
        lock(&self.map).remove(key);
    }

    /// The pending result for `key`, and whether this call created it (then `submit` was called with
    /// the sender that delivers it).
    fn get_or_insert(&self, key: K, submit: impl FnOnce(Deliver<R>)) -> (Pending<R>, bool) {
        let mut map = lock(&self.map);
        if let Some(p) = map.get(&key) {
            return (p.clone(), false);
        }
        let (tx, rx) = oneshot::channel::<Arc<Done<R>>>();
        let pending: Pending<R> = rx
            .map(|r| r.unwrap_or_else(|_| panic!("a queued job is always delivered before the runner stops")))
            .boxed()
            .shared();
        map.insert(key, pending.clone());
        drop(map);
        submit(Arc::new(Mutex::new(Some(tx))));
        (pending, true)
    }
}

/// What identifies an answer independently of the name asked: the certificate chain, "no TLS", or a
/// failure before the handshake (its phase, reason and reply code).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Print {
    Chain(Vec<Vec<u8>>),
    NoTls,
    FailedBeforeTls(Phase, FailureReason, Option<u16>),
}

/// The print of a failure that happened before the TLS handshake, where no name was sent.
fn failure_print(f: &ProbeFailure) -> Option<Print> {
    matches!(f.phase, Phase::Connect | Phase::Banner | Phase::Ehlo | Phase::StartTls)
        .then_some(Print::FailedBeforeTls(f.phase, f.reason, f.reply_code))
        .filter(|_| f.reason != FailureReason::Internal)
}

enum AddressState<R> {
    /// One name's answer seen; `explicit`: the certificate names that host exactly.
    One { host: String, print: Print, explicit: bool },
    /// Two names got the same answer: judge every further name from this one.
    Independent { host: String, report: Arc<R> },
    /// Names got different answers: probe each.
    Dependent,
}

/// The shared-address rule's memory: per address (and port), what its answers looked like.
struct Sharing<K, R> {
    map: Mutex<HashMap<K, AddressState<R>>>,
}

impl<K, R> Default for Sharing<K, R> {
    fn default() -> Self {
        Self { map: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash, R> Sharing<K, R> {
    /// The answer every name gets at `key`, if the address is known to be name-independent.
    fn independent(&self, key: &K) -> Option<(String, Arc<R>)> {
        match lock(&self.map).get(key) {
            Some(AddressState::Independent { host, report }) => Some((host.clone(), report.clone())),
            _ => None,
        }
    }

    /// Learns from a completed probe of `host` at `key` (with its answer's print, when it has one).
    fn observe(&self, key: K, host: &str, report: &Arc<R>, print: Option<Print>, explicit: bool) {
        let Some(print) = print else { return };
        let mut map = lock(&self.map);
        match map.get(&key) {
            None => {
                map.insert(key, AddressState::One { host: host.to_string(), print, explicit });
            }
            Some(AddressState::One { host: first, print: first_print, explicit: first_explicit }) => {
                if first.eq_ignore_ascii_case(host) {
                    return;
                }
                if *first_print != print {
                    map.insert(key, AddressState::Dependent);
                } else if !(explicit && *first_explicit) {
                    let first = first.clone();
                    map.insert(key, AddressState::Independent { host: first, report: report.clone() });
                }
                // Both names listed exactly by the same certificate: proves nothing yet.
            }
            Some(_) => {}
        }
    }
}

fn smtp_print(r: &ProbeReport) -> Option<Print> {
    match (&r.attempt, &r.tls) {
        (Attempt::Done(StartTls::Negotiated), Some(tls)) => {
            Some(Print::Chain(tls.chain_fingerprint().into_iter().map(<[u8]>::to_vec).collect()))
        }
        (Attempt::Done(StartTls::NotOffered), _) => Some(Print::NoTls),
        (Attempt::Failed(f), _) => failure_print(f),
        _ => None,
    }
}

fn explicitly_named(tls: Option<&crate::probe::tls::TlsObservation>, host: &str) -> bool {
    tls.and_then(|t| t.assessment.leaf.as_ref()).is_some_and(|l| crate::probe::tls::cert::names_exactly(l, host))
}

struct SmtpTask {
    runner: Runner,
    host: String,
    ip: IpAddr,
    deliver: Deliver<ProbeReport>,
}

impl Task for SmtpTask {
    fn settle(&mut self) -> Option<BoxFuture<'static, ()>> {
        let inner = &self.runner.inner;
        let (from, report) = inner.smtp_sharing.independent(&self.ip)?;
        inner.counters.shared[0].fetch_add(1, Ordering::Relaxed);
        let (host, ip, deliver, runner) = (self.host.clone(), self.ip, self.deliver.clone(), self.runner.clone());
        Some(
            async move {
                let mut derived = (*report).clone();
                derived.tls = report.tls.as_ref().map(|t| t.for_name(&host));
                send_done(&deliver, Done { report: Arc::new(derived), derived_from: Some(from) });
                runner.inner.smtp_cache.forget(&(host, ip));
            }
            .boxed(),
        )
    }

    fn attempt(&mut self, n: u32) -> BoxFuture<'static, Step> {
        let (runner, host, ip, deliver) = (self.runner.clone(), self.host.clone(), self.ip, self.deliver.clone());
        async move {
            let kit = &runner.inner.kit;
            kit.maybe_panic(&host);
            let mut report = smtp::probe(SocketAddr::new(ip, kit.smtp.port), &host, &kit.smtp, &kit.tls).await;
            if report.temporary_refusal() && n <= kit.retries {
                return Step::RetryAfter(retry_delay(kit.retry_delay, n));
            }
            report.attempts = n.min(u8::MAX as u32) as u8;
            let report = Arc::new(report);
            let explicit = explicitly_named(report.tls.as_ref(), &host);
            runner.inner.smtp_sharing.observe(ip, &host, &report, smtp_print(&report), explicit);
            send_done(&deliver, Done { report, derived_from: None });
            Step::Done
        }
        .boxed()
    }

    fn panicked(&mut self, detail: String) {
        let failure = ProbeFailure::new(Phase::Connect, FailureReason::Internal, detail);
        send_done(&self.deliver, Done { report: Arc::new(ProbeReport::failed(failure)), derived_from: None });
    }
}

fn client_print(r: &ClientReport) -> Option<Print> {
    match (&r.attempt, &r.tls) {
        (Attempt::Done(ClientTls::Implicit | ClientTls::Upgraded), Some(tls)) => {
            Some(Print::Chain(tls.chain_fingerprint().into_iter().map(<[u8]>::to_vec).collect()))
        }
        (Attempt::Done(ClientTls::NotOffered), _) => Some(Print::NoTls),
        (Attempt::Failed(f), _) => failure_print(f),
        _ => None,
    }
}

struct ClientTask {
    runner: Runner,
    protocol: client::Protocol,
    host: String,
    port: u16,
    ip: IpAddr,
    deliver: Deliver<ClientReport>,
}

impl Task for ClientTask {
    fn settle(&mut self) -> Option<BoxFuture<'static, ()>> {
        let inner = &self.runner.inner;
        let (from, report) = inner.client_sharing.independent(&(self.protocol, self.port, self.ip))?;
        inner.counters.shared[1].fetch_add(1, Ordering::Relaxed);
        let (host, deliver, runner) = (self.host.clone(), self.deliver.clone(), self.runner.clone());
        let key = (self.protocol, self.host.clone(), self.port, self.ip);
        Some(
            async move {
                let mut derived = (*report).clone();
                derived.tls = report.tls.as_ref().map(|t| t.for_name(&host));
                send_done(&deliver, Done { report: Arc::new(derived), derived_from: Some(from) });
                runner.inner.client_cache.forget(&key);
            }
            .boxed(),
        )
    }

    fn attempt(&mut self, _n: u32) -> BoxFuture<'static, Step> {
        let (runner, host, deliver) = (self.runner.clone(), self.host.clone(), self.deliver.clone());
        let (protocol, port, ip) = (self.protocol, self.port, self.ip);
        async move {
            let kit = &runner.inner.kit;
            kit.maybe_panic(&host);
            let report = Arc::new(
                client::probe(protocol, SocketAddr::new(ip, port), &host, &kit.client_config(), &kit.tls).await,
            );
            let explicit = explicitly_named(report.tls.as_ref(), &host);
            runner.inner.client_sharing.observe((protocol, port, ip), &host, &report, client_print(&report), explicit);
            send_done(&deliver, Done { report, derived_from: None });
            Step::Done
        }
        .boxed()
    }

    fn panicked(&mut self, detail: String) {
        let failure = ProbeFailure::new(Phase::Connect, FailureReason::Internal, detail);
        send_done(&self.deliver, Done { report: Arc::new(ClientReport::failed(failure)), derived_from: None });
    }
}

type FetchDeliver = Arc<Mutex<Option<oneshot::Sender<Result<HttpsResponse, FetchError>>>>>;

struct FetchTask {
    runner: Runner,
    host: String,
    ip: IpAddr,
    path: String,
    max_body: usize,
    deliver: FetchDeliver,
}

impl Task for FetchTask {
    fn settle(&mut self) -> Option<BoxFuture<'static, ()>> {
        None
    }

    fn attempt(&mut self, _n: u32) -> BoxFuture<'static, Step> {
        let (runner, host, ip, path, deliver) =
            (self.runner.clone(), self.host.clone(), self.ip, self.path.clone(), self.deliver.clone());
        let max_body = self.max_body;
        async move {
            let kit = &runner.inner.kit;
            kit.maybe_panic(&host);
            let limits = FetchLimits { timeout: kit.https_timeout, max_body };
            let addr = SocketAddr::new(ip, kit.https_port);
            let result = https::get(kit.tls.strict_config(), addr, &host, &path, &limits).await;
            if let Some(tx) = lock(&deliver).take() {
                let _ = tx.send(result);
            }
            Step::Done
        }
        .boxed()
    }

    fn panicked(&mut self, detail: String) {
        if let Some(tx) = lock(&self.deliver).take() {
            let _ = tx.send(Err(FetchError { kind: FetchFailure::Internal, detail }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_needs_two_names_with_one_answer() {
        let s: Sharing<u8, u32> = Sharing::default();
        let chain = Print::Chain(vec![vec![1; 32]]);
        s.observe(1, "a.example", &Arc::new(1), Some(chain.clone()), false);
        assert!(s.independent(&1).is_none(), "one name proves nothing");
        s.observe(1, "A.example", &Arc::new(1), Some(chain.clone()), false);
        assert!(s.independent(&1).is_none(), "the same name again proves nothing");
        s.observe(1, "b.example", &Arc::new(2), Some(chain.clone()), false);
        assert_eq!(s.independent(&1).map(|(h, r)| (h, *r)), Some(("a.example".to_string(), 2)));

        // Different answers: every name is probed from then on.
        s.observe(2, "a.example", &Arc::new(1), Some(chain.clone()), false);
        s.observe(2, "b.example", &Arc::new(1), Some(Print::Chain(vec![vec![2; 32]])), false);
        s.observe(2, "c.example", &Arc::new(1), Some(chain.clone()), false);
        assert!(s.independent(&2).is_none());

        // A certificate naming both names exactly may be a bundle: wait for a third name.
        s.observe(3, "a.example", &Arc::new(1), Some(chain.clone()), true);
        s.observe(3, "b.example", &Arc::new(1), Some(chain.clone()), true);
        assert!(s.independent(&3).is_none());
        s.observe(3, "c.example", &Arc::new(1), Some(chain.clone()), false);
        assert!(s.independent(&3).is_some());

        // No STARTTLS twice: no name was ever sent, so none can matter.
        s.observe(4, "a.example", &Arc::new(1), Some(Print::NoTls), false);
        s.observe(4, "b.example", &Arc::new(1), Some(Print::NoTls), false);
        assert!(s.independent(&4).is_some());
        // A failure before the handshake, where no name was sent, is an answer of the address too.
        let refused = failure_print(&ProbeFailure::new(Phase::Connect, FailureReason::Refused, "x"));
        s.observe(5, "a.example", &Arc::new(1), refused.clone(), false);
        s.observe(5, "b.example", &Arc::new(1), refused, false);
        assert!(s.independent(&5).is_some());
        // One that happened in or after the handshake (where SNI told the name) is not, nor a bug.
        assert_eq!(failure_print(&ProbeFailure::new(Phase::Handshake, FailureReason::TlsAlert, "x")), None);
        assert_eq!(failure_print(&ProbeFailure::new(Phase::Banner, FailureReason::Internal, "x")), None);
        s.observe(6, "a.example", &Arc::new(1), None, false);
        s.observe(6, "b.example", &Arc::new(1), None, false);
        assert!(lock(&s.map).get(&6).is_none());
    }

    fn limits(rate: f64, conns: usize) -> Limits {
        let class = crate::limit::ClassLimits { per_ip_rate: rate, per_ip_connections: conns };
        Limits { probe_rate: 10_000.0, smtp: class, client: class, https: class }
    }

    fn state(global: Gcra) -> State {
        State {
            queues: HashMap::new(),
            tallies: HashMap::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            global,
            bound: Bound::default(),
            last_sweep: Instant::now(),
            sleeping_until: None,
            waiting_on_global: false,
        }
    }

    struct Nop;
    impl Task for Nop {
        fn settle(&mut self) -> Option<BoxFuture<'static, ()>> {
            None
        }
        fn attempt(&mut self, _: u32) -> BoxFuture<'static, Step> {
            async { Step::Done }.boxed()
        }
        fn panicked(&mut self, _: String) {}
    }

    #[tokio::test]
    async fn destinations_waiting_for_the_run_rate_keep_their_place_in_line() {
        // One connection a second for the whole run, a thousand addresses with a job each.
        let mut st = state(Gcra::new(1.0, 1));
        let l = limits(1.0, 1);
        let now = Instant::now();
        let dests: Vec<Dest> =
            (0..1000u32).map(|i| (Class::Smtp, IpAddr::from([127, 52, (i >> 8) as u8, i as u8]))).collect();
        for &d in &dests {
            st.queues.entry(d).or_default().jobs.push_back(Job {
                attempt: 1,
                spent: Duration::ZERO,
                task: Box::new(Nop),
            });
            st.schedule(d, now, 1);
        }
        for (i, want) in dests.iter().take(5).enumerate() {
            let t = now + Duration::from_secs(i as u64);
            // Served in the order they were queued, one a second.
            assert!(matches!(st.next_action(t, &l), Action::Start(d, _) if d == *want));
            // Asked again and again while waiting for the run's rate, the dispatcher does not touch
            // the waiting queues (it used to re-queue every one of them at each call).
            for k in 1..=10 {
                let seq = st.seq;
                match st.next_action(t + Duration::from_millis(k), &l) {
                    Action::WaitUntil(w) => assert_eq!(w, t + Duration::from_secs(1)),
                    _ => panic!("expected a wait for the run's rate"),
                }
                assert_eq!(st.seq, seq, "queues re-queued while waiting for the run's rate");
            }
        }
    }

    #[tokio::test]
    async fn a_busy_destination_does_not_delay_another() {
        let mut st = state(Gcra::new(10_000.0, 10_000));
        let l = limits(1.0, 1);
        let busy: Dest = (Class::Smtp, "127.0.0.1".parse().unwrap());
        let other: Dest = (Class::Smtp, "127.0.0.2".parse().unwrap());
        let now = Instant::now();
        for _ in 0..100 {
            st.queues.entry(busy).or_default().jobs.push_back(Job {
                attempt: 1,
                spent: Duration::ZERO,
                task: Box::new(Nop),
            });
        }
        st.schedule(busy, now, 1);
        // The busy address starts one job; its next must wait for the connection to close.
        assert!(matches!(st.next_action(now, &l), Action::Start(d, _) if d == busy));
        assert!(matches!(st.next_action(now, &l), Action::Idle));
        // Another address's job starts at once, however long the first queue is.
        st.queues.entry(other).or_default().jobs.push_back(Job {
            attempt: 1,
            spent: Duration::ZERO,
            task: Box::new(Nop),
        });
        st.schedule(other, now, 1);
        assert!(matches!(st.next_action(now, &l), Action::Start(d, _) if d == other));
        // The busy address's connection closes: its next job waits for its rate (1/s), not longer.
        st.queues.get_mut(&busy).unwrap().open = 0;
        st.schedule(busy, now, 1);
        match st.next_action(now, &l) {
            Action::WaitUntil(t) => assert_eq!(t, now + Duration::from_secs(1)),
            _ => panic!("expected a wait for the per-address rate"),
        }
        assert!(matches!(st.next_action(now + Duration::from_secs(1), &l), Action::Start(d, _) if d == busy));
    }

    #[tokio::test]
    async fn a_destination_busy_twice_counts_all_its_connections_in_the_bound() {
        let mut st = state(Gcra::new(10_000.0, 10_000));
        let l = limits(10.0, 1);
        let d: Dest = (Class::Https, "127.52.0.2".parse().unwrap());
        let mut t = Instant::now();
        let busy_period = |st: &mut State, t: &mut Instant| {
            for _ in 0..3 {
                st.queue(d).jobs.push_back(Job { attempt: 1, spent: Duration::ZERO, task: Box::new(Nop) });
            }
            st.schedule(d, *t, 1);
            let mut started = 0;
            while started < 3 {
                match st.next_action(*t, &l) {
                    Action::Start(dest, job) => {
                        started += 1;
                        *t += Duration::from_millis(10);
                        st.job_ended(dest, job, Step::Done, Duration::from_millis(10), *t, l.of(d.0));
                    }
                    Action::WaitUntil(w) => *t = w,
                    _ => panic!("expected a start or a wait"),
                }
            }
        };
        busy_period(&mut st, &mut t);
        // Three connections at 10/s: 0.2 s at least.
        assert!((st.bound.busiest_destination_seconds - 0.2).abs() < 1e-9, "{:?}", st.bound);
        // Idle, the queue is forgotten, its tally kept.
        t += Duration::from_secs(10);
        st.sweep(t);
        assert!(!st.queues.contains_key(&d) && st.tallies.contains_key(&d));
        // Busy again: six connections in all, 0.5 s at least (it used to start again at 0.2 s).
        busy_period(&mut st, &mut t);
        assert!((st.bound.busiest_destination_seconds - 0.5).abs() < 1e-9, "{:?}", st.bound);
        assert!(st.tallies.is_empty(), "the tally went back to its queue");
    }

    fn kit() -> Kit {
        Kit {
            tls: TlsContext::new(&[] as &[&str]).unwrap(),
            smtp: SmtpConfig {
                port: 1,
                ehlo_name: "scanner.test".into(),
                connect_timeout: Duration::from_millis(300),
                read_timeout: Duration::from_millis(300),
                probe_timeout: Duration::from_millis(600),
            },
            retries: 0,
            retry_delay: Duration::from_millis(10),
            https_port: 1,
            https_timeout: Duration::from_millis(300),
            inject_panic: None,
        }
    }

    #[tokio::test]
    async fn back_offs_of_a_refusing_server_are_in_the_bound() {
        use crate::testkit::smtp::{Behaviour, FakeSmtp, Posture};
        let ip: IpAddr = "127.52.0.1".parse().unwrap();
        let server = FakeSmtp::spawn(SocketAddr::new(ip, 0), Behaviour::new(Posture::Greeting421)).await.unwrap();
        let mut k = kit();
        k.smtp.port = server.addr().port();
        k.retries = 2;
        k.retry_delay = Duration::from_millis(200);
        let runner = Runner::new(limits(1000.0, 1), k);
        let probed = runner.smtp("mx.refusing.test", ip).await;
        assert!(matches!(probed.report.attempt, Attempt::Failed(_)), "{:?}", probed.report.attempt);
        assert_eq!(server.connections(), 3, "the first attempt and two retries");
        let b = runner.counts().bound;
        // Back-offs of 200 and 400 ms: the job could not have been done in less than 0.6 s, nor
        // could its (one-connection) destination, although each connection lasted milliseconds.
        assert!(b.longest_job_seconds >= 0.6 && b.longest_job_seconds < 5.0, "{b:?}");
        assert!(b.busiest_destination_seconds >= 0.6, "{b:?}");
        assert!(b.longest_connection_seconds < 0.5, "{b:?}");
    }

    #[tokio::test]
    async fn a_guessed_endpoint_is_not_kept_for_the_run() {
        use crate::client::Source;
        let runner = Runner::new(limits(1000.0, 4), kit());
        // Nothing listens on 127.31.0.1 port 1: each probe ends at once, refused.
        let ip: IpAddr = "127.31.0.1".parse().unwrap();
        let ep = |host: &str, source| Endpoint {
            protocol: client::Protocol::Imap,
            host: host.into(),
            port: 1,
            source,
            declared: None,
        };
        let guess = ep("mail.a.test", Source::Guess);
        let first = runner.client(&guess, ip, false).await;
        assert!(matches!(first.report.attempt, Attempt::Failed(_)) && !first.cached);
        assert_eq!(runner.cached(), (0, 0), "a guess is forgotten once answered");
        let srv = ep("imap.provider.test", Source::Srv);
        runner.client(&srv, ip, true).await;
        assert_eq!(runner.cached(), (0, 1), "a shared endpoint is kept");
        assert!(runner.client(&srv, ip, true).await.cached);
        assert_eq!(runner.counts().probes["client"], 2);
    }
}
