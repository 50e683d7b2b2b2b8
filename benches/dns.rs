//! DNS benchmarks, side by side on one machine: 1,000 queries (256 in flight) against the in-process
//! DNS server, through mailcensus's socket-keeping transport (`dns/pool`), through hickory's own
//! socket-per-query UDP client under the same lookup layer (`dns/hickory_udp`), and through
//! hickory-resolver itself (`dns/hickory_resolver`). Every query is a new name, so no cache answers.
//!
//! `dns_cpu/*` measures the scanner's side alone: the client runs on the benchmark's own thread (a
//! current-thread runtime), the server on another runtime's thread, and the time reported is the
//! client thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: criterion's "time" per 1,000
//! lookups is the scanner's CPU per 1,000 lookups. The kernel's loopback delivery of each query to
//! the server runs in the sender's context and is counted (an over-count that a real network would
//! not have). `sent`: an A answer asked through the whole lookup layer without its cache (as the
//! scanner asks a domain's own names: exclude list, rate, transport, hickory's message encoding and
//! decoding); `cached`: a name the run already knows, answered by the cache;
//! `hickory_resolver_sent`: new names (NXDOMAIN) through hickory-resolver, for comparison.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RecordType;
use hickory_resolver::{Resolver, TokioResolver};

use mailcensus::dns::{Backend, Dns, DnsConfig};
use mailcensus::testkit::dns::{FakeDns, Zone};

const QUERIES: u64 = 1000;
const IN_FLIGHT: usize = 256;

fn config(server: SocketAddr, backend: Backend) -> DnsConfig {
    DnsConfig { resolvers: vec![server], dnssec: false, qps: 1_000_000, backend, ..Default::default() }
}

fn resolver(server: SocketAddr) -> TokioResolver {
    let mut udp = ConnectionConfig::udp();
    udp.port = server.port();
    let ns = NameServerConfig::new(server.ip(), true, vec![udp]);
    let mut b =
        Resolver::builder_with_config(ResolverConfig::from_name_servers(vec![ns]), TokioRuntimeProvider::default());
    let o = b.options_mut();
    o.ndots = 0;
    o.use_hosts_file = ResolveHosts::Never;
    o.num_concurrent_reqs = 1;
    b.build().expect("resolver")
}

fn dns(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut zone = Zone::new();
    zone.a("known.bench.test", "192.0.2.1".parse().unwrap());
    let server = rt.block_on(FakeDns::spawn("127.97.0.53".parse().unwrap(), zone)).unwrap();
    let addr = server.addr();
    let next = AtomicU64::new(0);
    let mut g = c.benchmark_group("dns");
    g.throughput(Throughput::Elements(QUERIES));
    for (name, backend) in [("pool", Backend::Pool), ("hickory_udp", Backend::HickoryUdp)] {
        let client = rt.block_on(async { Dns::new(&config(addr, backend), Default::default()).unwrap() });
        g.bench_function(name, |b| {
            b.iter(|| {
                let round = next.fetch_add(1, Ordering::Relaxed);
                rt.block_on(
                    futures::stream::iter(0..QUERIES)
                        .map(|i| {
                            let client = client.clone();
                            async move { client.once().ipv4(&format!("h{round}-{i}.bench.test")).await }
                        })
                        .buffer_unordered(IN_FLIGHT)
                        .count(),
                )
            })
        });
    }
    let r = rt.block_on(async { resolver(addr) });
    g.bench_function("hickory_resolver", |b| {
        b.iter(|| {
            let round = next.fetch_add(1, Ordering::Relaxed);
            rt.block_on(
                futures::stream::iter(0..QUERIES)
                    .map(|i| {
                        let r = r.clone();
                        async move { r.lookup(format!("h{round}-{i}.bench.test."), RecordType::A).await.is_ok() }
                    })
                    .buffer_unordered(IN_FLIGHT)
                    .count(),
            )
        })
    });
    g.finish();
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `round` (1,000 lookups) `iters` times on a current-thread runtime and returns this thread's
/// CPU time for them.
fn cpu_of<F: std::future::Future<Output = usize>>(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    mut round: impl FnMut() -> F,
) -> Duration {
    let start = thread_cpu();
    for _ in 0..iters {
        assert_eq!(rt.block_on(round()), QUERIES as usize);
    }
    thread_cpu() - start
}

fn dns_cpu(c: &mut Criterion) {
    // The server on its own runtime (its own thread): its CPU is not the scanner's.
    let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut zone = Zone::new();
    zone.a("known.bench.test", "192.0.2.1".parse().unwrap());
    for i in 0..QUERIES {
        zone.a(&format!("h{i}.bench.test"), "192.0.2.2".parse().unwrap());
    }
    let server = server_rt.block_on(FakeDns::spawn("127.97.0.54".parse().unwrap(), zone)).unwrap();
    let addr = server.addr();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = rt.block_on(async { Dns::new(&config(addr, Backend::Pool), Default::default()).unwrap() });
    let next = AtomicU64::new(0);
    let mut g = c.benchmark_group("dns_cpu");
    g.throughput(Throughput::Elements(QUERIES));
    // One round: 1,000 A lookups through the scanner's client, `once` (uncached) or shared (cached).
    let round = |uncached: bool| {
        let client = client.clone();
        futures::stream::iter(0..QUERIES)
            .map(move |i| {
                let client = client.clone();
                async move {
                    if uncached {
                        client.once().ipv4(&format!("h{i}.bench.test")).await
                    } else {
                        client.ipv4("known.bench.test").await
                    }
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .filter(|o| std::future::ready(o.found().is_some()))
            .count()
    };
    g.bench_function("sent", |b| b.iter_custom(|iters| cpu_of(&rt, iters, || round(true))));
    rt.block_on(client.ipv4("known.bench.test"));
    g.bench_function("cached", |b| b.iter_custom(|iters| cpu_of(&rt, iters, || round(false))));
    let r = rt.block_on(async { resolver(addr) });
    g.bench_function("hickory_resolver_sent", |b| {
        b.iter_custom(|iters| {
            cpu_of(&rt, iters, || {
                let round = next.fetch_add(1, Ordering::Relaxed);
                let r = r.clone();
                futures::stream::iter(0..QUERIES)
                    .map(move |i| {
                        let r = r.clone();
                        async move { r.lookup(format!("r{round}-{i}.bench.test."), RecordType::A).await.is_ok() }
                    })
                    .buffer_unordered(IN_FLIGHT)
                    .count()
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(8));
    targets = dns, dns_cpu
}
criterion_main!(benches);
