//! DNS benchmarks, side by side on one machine: 1,000 queries (256 in flight) against the in-process
//! DNS server, through mailcensus's socket-keeping transport (`dns/pool`), through hickory's own
//! socket-per-query UDP client under the same lookup layer (`dns/hickory_udp`), and through
//! hickory-resolver itself (`dns/hickory_resolver`). Every query is a new name, so no cache answers.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(8));
    targets = dns
}
criterion_main!(benches);
