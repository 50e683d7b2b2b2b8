//! A sharded scan (`mailcensus shard`) against the simulated world: the same rows as one process,
//! each destination address talked to by exactly one probe shard, and the report identical.
//! Addresses: 127.46.0.0/16 (world), 127.47.0.53 (its DNS).

use std::collections::BTreeMap;
use std::path::Path;

use mailcensus::demo::scan_config;
use mailcensus::shard::{self, Next, PhaseReport, store::Store};
use mailcensus::testkit::dataset::{Row, read_rows};
use mailcensus::world::serve;
use mailcensus::world::{World, WorldConfig};

use crate::world::test_dir;

/// Columns that say how or when a row was made, not what was found: they differ between any two
/// runs (and `probe_source` says which domain asked first).
const RUN_VARIANT: &[&str] = &[
    "scan_id",
    "scan_date",
    "scanned_at",
    "scan_duration_ms",
    "probe_duration_ms",
    "probe_cached",
    "probe_source",
    "probe_source_host",
];

fn canonical(dir: &Path, dataset: &str) -> Vec<String> {
    let rows: Vec<Row> = read_rows(&dir.join(dataset)).unwrap();
    let mut out: Vec<String> = rows
        .into_iter()
        .map(|r| {
            let kept: BTreeMap<_, _> = r
                .into_iter()
                .filter(|(k, _)| !RUN_VARIANT.contains(&k.as_str()))
                .map(|(k, v)| match v.str() {
                    // A certificate's words carry the verification time ("... 86401 seconds ago").
                    Some(text) if k.ends_with("_detail") => {
                        let masked: String = text.chars().filter(|c| !c.is_ascii_digit()).collect();
                        (k, masked)
                    }
                    _ => (k, format!("{v:?}")),
                })
                .collect();
            format!("{kept:?}")
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_give_the_rows_of_one_process_and_share_no_address() {
    let dir = test_dir("shard");
    let world = WorldConfig {
        seed: 17,
        domains: 500,
        providers: 40,
        first_ip: std::net::Ipv4Addr::new(127, 46, 0, 1),
        dns_ip: std::net::Ipv4Addr::new(127, 47, 0, 53),
        ..Default::default()
    };
    let running = serve::start(World::generate(world), &dir.join("world")).await.unwrap();

    // One process.
    let single = dir.join("single");
    let mut config = scan_config(&running, single.clone());
    config.progress = false;
    mailcensus::scan::run(config.clone()).await.unwrap();

    // Four shards, phase by phase, as an array job would run them.
    let work = Store::open(dir.join("work").to_str().unwrap()).unwrap();
    let plan = shard::init(&work, 4).await.unwrap();
    assert_eq!(shard::init(&work, 4).await.unwrap(), plan, "init is idempotent");
    assert!(shard::init(&work, 3).await.is_err(), "another shard count is refused");
    let connections =
        |running: &serve::RunningWorld| -> Vec<usize> { running.smtp.iter().map(|s| s.connections()).collect() };
    // address index -> the probe shards that connected to it
    let mut talked: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    let mut rounds = 0;
    loop {
        match shard::next(&work).await.unwrap() {
            Next::Dns(r) => {
                let (before, https_before) = (connections(&running), running.https.requests());
                for k in 0..4 {
                    let staging = shard::Staging::new(dir.join(format!("staging-{k}")));
                    let report =
                        shard::dns_phase(&work, config.clone(), k, &staging, std::future::pending()).await.unwrap();
                    assert!(matches!(report, PhaseReport::Dns(ref d) if d.round == r), "{report:?}");
                    // Run again: nothing to do.
                    let again =
                        shard::dns_phase(&work, config.clone(), k, &staging, std::future::pending()).await.unwrap();
                    assert!(matches!(again, PhaseReport::NothingToDo(_)), "{again:?}");
                }
                assert_eq!(connections(&running), before, "a DNS phase connects to no MX");
                assert_eq!(running.https.requests(), https_before, "a DNS phase fetches nothing");
                rounds = r;
            }
            Next::Probe(_) => {
                for j in 0..4 {
                    let before = connections(&running);
                    let report = shard::probe_phase(&work, &config, j).await.unwrap();
                    assert!(matches!(report, PhaseReport::Probe(_)), "{report:?}");
                    for (i, (a, b)) in before.iter().zip(connections(&running)).enumerate() {
                        if b > *a {
                            talked.entry(i).or_default().push(j);
                        }
                    }
                }
            }
            Next::Done(r) => {
                assert_eq!(r, rounds);
                break;
            }
        }
    }
    assert!(rounds >= 2, "the world's autoconfig files need a second round: {rounds}");
    assert!(talked.len() > 20, "the probe shards reached the world's MX addresses: {}", talked.len());
    for (i, shards) in &talked {
        assert_eq!(shards.len(), 1, "MX address #{i} was probed by shards {shards:?}");
    }
    let per_ip = config.limits.smtp.per_ip_connections;
    assert!(running.smtp.iter().all(|s| s.max_concurrent() <= per_ip), "the per-address connection limit held");

    let assembled = dir.join("assembled");
    let a = shard::assemble(&work, &Store::open(assembled.to_str().unwrap()).unwrap()).await.unwrap();
    assert_eq!(a.rounds, rounds);
    for dataset in ["domains", "mx_hosts", "client_endpoints"] {
        let (one, many) = (canonical(&single, dataset), canonical(&assembled, dataset));
        assert_eq!(one.len(), many.len(), "{dataset} rows");
        for (x, y) in one.iter().zip(&many) {
            assert_eq!(x, y, "{dataset} differs");
        }
    }
    assert_eq!(
        std::fs::read_to_string(single.join("rejects.csv")).unwrap(),
        std::fs::read_to_string(assembled.join("rejects.csv")).unwrap()
    );
    let ids: std::collections::BTreeSet<String> = read_rows(&assembled.join("domains"))
        .unwrap()
        .iter()
        .filter_map(|r| r["scan_id"].str().map(str::to_string))
        .collect();
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![plan.scan_id.clone()], "one scan id for all shards");

    // The report of the assembled scan is the single run's.
    let lang = mailcensus::report::grade::Lang::En;
    let (r1, r2) =
        (mailcensus::report::run(&single, lang).unwrap(), mailcensus::report::run(&assembled, lang).unwrap());
    for file in ["groups.csv", "providers.csv", "gmail.csv", "domains.csv"] {
        let (x, y) = (
            std::fs::read_to_string(single.join("report").join(file)).unwrap(),
            std::fs::read_to_string(assembled.join("report").join(file)).unwrap(),
        );
        // domains.csv lists domains in the datasets' order (the order they finished in).
        let sorted = |t: &str| {
            let mut v: Vec<String> = t.lines().map(str::to_string).collect();
            v.sort();
            v
        };
        assert_eq!(sorted(&x), sorted(&y), "report/{file}");
    }
    assert_eq!(mailcensus::report::render_summary(&r1), mailcensus::report::render_summary(&r2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A stop signal that fires once `staging` holds at least `parts` closed `domains` parts.
async fn when_parts_written(staging: std::path::PathBuf, parts: usize) {
    loop {
        let n = std::fs::read_dir(staging.join("domains"))
            .map(|d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "parquet")).count())
            .unwrap_or(0);
        if n >= parts {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// The same against a real S3-compatible server (CI starts moto_server on loopback and sets
/// `MAILCENSUS_S3=s3://bucket/prefix` and the `AWS_*` variables), with a DNS shard stopped half-way
/// and run again. Run with `cargo nextest run --run-ignored only -E 'test(s3)'`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an S3-compatible server: MAILCENSUS_S3 and AWS_* (see .ci/run)"]
async fn shards_on_s3_resume_a_stopped_shard_and_assemble_the_same_rows() {
    let base = std::env::var("MAILCENSUS_S3").expect("MAILCENSUS_S3=s3://bucket/prefix");
    let run = format!("{}/test-{}", base.trim_end_matches('/'), std::process::id());
    let dir = test_dir("shard-s3");
    let world = WorldConfig {
        seed: 23,
        domains: 300,
        providers: 25,
        first_ip: std::net::Ipv4Addr::new(127, 48, 0, 1),
        dns_ip: std::net::Ipv4Addr::new(127, 49, 0, 53),
        ..Default::default()
    };
    let running = serve::start(World::generate(world), &dir.join("world")).await.unwrap();
    let single = dir.join("single");
    let mut config = scan_config(&running, single.clone());
    config.progress = false;
    mailcensus::scan::run(config.clone()).await.unwrap();

    let work = Store::open(&format!("{run}/work")).unwrap();
    shard::init(&work, 2).await.unwrap();
    // Small parts, so that a stop finds some closed.
    config.rows_per_part = 10;
    config.shutdown_grace = std::time::Duration::from_millis(200);
    let mut stopped = false;
    loop {
        match shard::next(&work).await.unwrap() {
            Next::Dns(r) => {
                for k in 0..2 {
                    let staging = shard::Staging::new(dir.join(format!("staging-{k}")));
                    if k == 0 && r >= 2 && !stopped {
                        let stop = when_parts_written(staging.dir.join("s0000"), 2);
                        // One domain at a time, so that the stop comes before the end.
                        let mut slow = config.clone();
                        (slow.max_parked, slow.concurrency) = (1, 1);
                        let err = shard::dns_phase(&work, slow, k, &staging, stop).await.unwrap_err();
                        assert!(matches!(err, shard::ShardError::Interrupted), "{err}");
                        stopped = true;
                        let kept = work.list("dns/s0000/domains").await.unwrap();
                        assert!(kept.len() >= 2, "the closed parts reached the store: {kept:?}");
                        // Run again: the kept parts stay, the rest is scanned.
                        let report =
                            shard::dns_phase(&work, config.clone(), k, &staging, std::future::pending()).await.unwrap();
                        assert!(matches!(report, PhaseReport::Dns(_)), "{report:?}");
                        let after = work.list("dns/s0000/domains").await.unwrap();
                        assert!(kept.iter().all(|p| after.contains(p)), "kept parts are not rewritten");
                        continue;
                    }
                    shard::dns_phase(&work, config.clone(), k, &staging, std::future::pending()).await.unwrap();
                }
            }
            Next::Probe(_) => {
                for j in 0..2 {
                    shard::probe_phase(&work, &config, j).await.unwrap();
                }
            }
            Next::Done(_) => break,
        }
    }
    assert!(stopped, "a DNS shard was stopped half-way");
    // Assembled onto the store, then read back from it.
    let out = Store::open(&format!("{run}/assembled")).unwrap();
    shard::assemble(&work, &out).await.unwrap();
    let local = dir.join("assembled");
    for dataset in ["domains", "mx_hosts", "client_endpoints"] {
        let names = out.list(dataset).await.unwrap();
        assert!(!names.is_empty(), "{dataset} on the store");
        std::fs::create_dir_all(local.join(dataset)).unwrap();
        for name in names {
            out.get_file(&name, &local.join(&name)).await.unwrap();
        }
        assert_eq!(canonical(&single, dataset), canonical(&local, dataset), "{dataset}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `mailcensus` binary, with a world's scan flags (what `lab` prints).
fn flags(running: &serve::RunningWorld) -> Vec<String> {
    // "mailcensus scan INPUT --out OUT <flags>"
    mailcensus::demo::scan_command(running, Path::new("unused"))
        .split_whitespace()
        .skip(5)
        .map(str::to_string)
        .collect()
}

fn run_bin(args: &[&str], flags: &[String]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailcensus")).args(args).args(flags).output().unwrap();
    assert!(
        out.status.success(),
        "mailcensus {args:?} failed ({:?}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shard commands as separate processes (as Slurm runs them), with a DNS shard killed with
/// SIGKILL half-way: what it uploaded before it died is kept, the rest is scanned again, and the
/// assembled datasets equal one process's. Addresses: 127.50.0.0/16 (world), 127.51.0.53 (DNS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_process_killed_half_way_resumes_from_its_uploaded_parts() {
    let dir = test_dir("shard-kill");
    let world = WorldConfig {
        seed: 29,
        domains: 300,
        providers: 25,
        first_ip: std::net::Ipv4Addr::new(127, 50, 0, 1),
        dns_ip: std::net::Ipv4Addr::new(127, 51, 0, 53),
        ..Default::default()
    };
    let running = serve::start(World::generate(world), &dir.join("world")).await.unwrap();
    let single = dir.join("single");
    let mut config = scan_config(&running, single.clone());
    config.progress = false;
    mailcensus::scan::run(config).await.unwrap();

    let flags = flags(&running);
    let input = running.input_file().display().to_string();
    let work_dir = dir.join("work");
    let work = work_dir.to_str().unwrap();
    run_bin(&["shard", "init", "--work", work, "--shards", "2"], &[]);
    let store = Store::open(work).unwrap();
    let mut killed = false;
    loop {
        match shard::next(&store).await.unwrap() {
            Next::Dns(r) => {
                for k in ["0", "1"] {
                    let staging = dir.join(format!("staging-{k}")).display().to_string();
                    let dns = ["shard", "dns", &input, "--work", work, "--shard", k, "--staging", &staging];
                    if k == "0" && r >= 2 && !killed {
                        // Slowly, in small parts uploaded at once, then SIGKILL: no chance to clean up.
                        let slow = [
                            "--max-parked",
                            "1",
                            "--concurrency",
                            "1",
                            "--rows-per-part",
                            "5",
                            "--upload-interval",
                            "0.05",
                        ];
                        let lab_flags: Vec<&String> = {
                            let mut skip = false;
                            flags
                                .iter()
                                .filter(|f| {
                                    let keep = !skip && *f != "--concurrency";
                                    skip = *f == "--concurrency";
                                    keep
                                })
                                .collect()
                        };
                        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mailcensus"))
                            .args(dns)
                            .args(lab_flags)
                            .args(slow)
                            .stderr(std::fs::File::create(dir.join("killed.log")).unwrap())
                            .spawn()
                            .unwrap();
                        let parts = work_dir.join("dns/s0000/domains");
                        let count = || std::fs::read_dir(&parts).map(|d| d.count()).unwrap_or(0);
                        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                        while count() < 3 && std::time::Instant::now() < deadline {
                            let log = || std::fs::read_to_string(dir.join("killed.log")).unwrap_or_default();
                            assert!(child.try_wait().unwrap().is_none(), "it ended before the kill:\n{}", log());
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        }
                        child.kill().unwrap();
                        let status = child.wait().unwrap();
                        assert!(!status.success(), "killed before the end: {status:?}");
                        killed = true;
                        let kept: Vec<_> =
                            std::fs::read_dir(&parts).unwrap().flatten().map(|e| e.file_name()).collect();
                        assert!(
                            kept.len() >= 3,
                            "parts uploaded before the kill: {kept:?}\n{}",
                            std::fs::read_to_string(dir.join("killed.log")).unwrap_or_default()
                        );
                        assert!(!work_dir.join(format!("rounds/r{r:02}/dns-s0000.json")).exists(), "not marked done");
                        run_bin(&dns, &flags);
                        let after: Vec<_> =
                            std::fs::read_dir(&parts).unwrap().flatten().map(|e| e.file_name()).collect();
                        assert!(kept.iter().all(|p| after.contains(p)), "the parts it had uploaded are kept");
                        continue;
                    }
                    run_bin(&dns, &flags);
                }
            }
            Next::Probe(_) => {
                for j in ["0", "1"] {
                    run_bin(&["shard", "probe", "--work", work, "--shard", j], &flags);
                }
            }
            Next::Done(_) => break,
        }
    }
    assert!(killed, "a DNS shard was killed half-way");
    let out = dir.join("assembled");
    run_bin(&["shard", "assemble", "--work", work, "--out", out.to_str().unwrap()], &[]);
    assert!(out.join("report/index.html").exists(), "a local assembly gets its report");
    for dataset in ["domains", "mx_hosts", "client_endpoints"] {
        assert_eq!(canonical(&single, dataset), canonical(&out, dataset), "{dataset}");
    }
    // The report reads the shard folders directly too.
    run_bin(&["report", work_dir.join("dns").to_str().unwrap()], &[]);
    let _ = std::fs::remove_dir_all(&dir);
}
