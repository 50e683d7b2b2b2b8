//! Pipeline benchmark: a whole scan of 1,000 domains against a simulated world on loopback (every MX
//! with a valid STARTTLS certificate, 100 providers), end to end through DNS, probes and Parquet.

use criterion::{Criterion, criterion_group, criterion_main};

use mailcensus::demo::scan_config;
use mailcensus::scan;
use mailcensus::world::serve;
use mailcensus::world::{Posture, World, WorldConfig};

fn pipeline(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("mailcensus-bench-pipeline-{}", std::process::id()));
    let world = WorldConfig {
        domains: 1_000,
        providers: 100,
        posture: Some(Posture::Valid),
        first_ip: "127.96.0.1".parse().unwrap(),
        dns_ip: "127.95.0.53".parse().unwrap(),
        ..Default::default()
    };
    let running = rt.block_on(serve::start(World::generate(world), &dir.join("world"))).unwrap();
    c.bench_function("pipeline/1k_domains_world", |b| {
        b.iter(|| {
            let mut config = scan_config(&running, dir.join("scan"));
            config.overwrite = true;
            config.progress = false;
            rt.block_on(scan::run(config)).unwrap()
        })
    });
    drop(running);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(10));
    targets = pipeline
}
criterion_main!(benches);
