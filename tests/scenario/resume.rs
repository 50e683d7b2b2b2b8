//! Interrupted scans lose nothing: SIGINT/SIGTERM stop cleanly, SIGKILL leaves only complete parts
//! (plus half-written ones that `--resume` sets aside), and resuming until done yields every input
//! domain exactly once (blocks 127.200-205).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mailcensus::demo::scan_config;
use mailcensus::probe::client::Protocol;
use mailcensus::scan;
use mailcensus::testkit::dataset::read_rows;
use mailcensus::world::serve::{self, RunningWorld};
use mailcensus::world::truth::compare;
use mailcensus::world::{World, WorldConfig};

use crate::world::test_dir;

fn world_config(block: u8, domains: u64) -> WorldConfig {
    WorldConfig {
        seed: block as u64,
        domains,
        providers: 60,
        first_ip: [127, block, 0, 1].into(),
        dns_ip: [127, block + 1, 0, 53].into(),
        smtp_port: 2530,
        greeting_delay: Duration::from_millis(200),
        ..Default::default()
    }
}

fn scan_args(w: &RunningWorld, out: &Path) -> Vec<String> {
    let ports: String = Protocol::ALL
        .iter()
        .map(|p| format!(" --client-port {}={}", p.as_label(), w.world.config.client_port(*p)))
        .collect();
    let words = format!(
        "scan {} --out {} --resolver {} --ca-file {} --allow-private --smtp-port 2530 --ehlo-name resume.mailcensus.test \
         --connect-timeout 1 --read-timeout 1 --probe-timeout 3 --concurrency 16 --rows-per-part 40 --dns-qps 50000 \
         --probe-rate 10000 --per-ip-rate 500 --client-per-ip-rate 100 --client-per-ip-connections 8 \
         --https-port {} --https-timeout 3{ports} --retry-delay 0.1 --no-progress --resume --no-dnssec --ispdb {} --bimi-ca-file {}",
        w.input_file().display(),
        out.display(),
        w.resolver(),
        w.ca_file().display(),
        w.world.config.https_port,
        w.ispdb_dir().display(),
        w.mark_ca_file().display(),
    );
    words.split_whitespace().map(str::to_string).collect()
}

/// Every domain of the datasets, with how many rows it has, after checking each part has a twin.
fn domain_counts(out: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for row in read_rows(&out.join("domains")).unwrap() {
        *counts.entry(row["domain"].str().unwrap().to_string()).or_default() += 1;
    }
    let parts = |d: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(out.join(d))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.ends_with(".parquet"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(parts("domains"), parts("mx_hosts"), "part N exists in both datasets");
    counts
}

fn run_json(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_in_process_then_resumed_exactly_once() {
    let dir = test_dir("resume-inproc");
    let running = serve::start(World::generate(world_config(200, 600)), &dir.join("world")).await.unwrap();
    let out = dir.join("scan");
    let mut config = scan_config(&running, out.clone());
    config.concurrency = 8;
    config.rows_per_part = 25;
    config.progress = false;
    config.shutdown_grace = Duration::from_millis(300);
    let first = scan::run_until(config.clone(), tokio::time::sleep(Duration::from_millis(700))).await.unwrap();
    assert!(!first.complete);
    assert_eq!(run_json(&out)["complete"], false);
    let written = first.counts.domains;
    assert!(written > 0 && written < 600, "the first run was interrupted after {written} domains");

    // Without --resume the directory is refused; with it, the rest is scanned.
    config.resume = false;
    assert!(scan::run(config.clone()).await.is_err());
    config.resume = true;
    // A resume must keep the columns of the scan it continues.
    let mut other_columns = config.clone();
    other_columns.columns.keep = vec!["group".into()];
    let refused = scan::run(other_columns).await.unwrap_err().to_string();
    assert!(refused.contains("--keep-column"), "{refused}");
    let second = scan::run(config).await.unwrap();
    assert!(second.complete);
    assert_eq!(second.counts.already_done, written);
    assert_eq!(second.counts.domains_this_run + written, 600);
    // run.json speaks for the whole directory: every domain, its rows and its summaries.
    let run = run_json(&out);
    assert_eq!(run["counts"]["domains"], 600);
    assert_eq!(run["counts"]["domains_this_run"], 600 - written);
    let starttls: u64 = run["counts"]["starttls"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(starttls, 600);
    let mx_rows = read_rows(&out.join("mx_hosts")).unwrap();
    assert_eq!(run["counts"]["mx_rows"].as_u64(), Some(mx_rows.len() as u64));
    // Both runs wrote one scan: the first run's id and date on every row, as in run.json.
    let ids: std::collections::BTreeSet<_> = read_rows(&out.join("domains"))
        .unwrap()
        .iter()
        .chain(&mx_rows)
        .map(|r| (r["scan_id"].str().unwrap().to_string(), r["scan_date"].int().unwrap()))
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids.first().unwrap().0, run["scan_id"].as_str().unwrap());
    assert!(!out.join("run.tmp").exists(), "run.json is written through a temporary file, renamed");
    let counts = domain_counts(&out);
    assert_eq!(counts.len(), 600);
    assert!(counts.values().all(|n| *n == 1));
    let c = compare(&running.world, &out).unwrap();
    assert_eq!(c.disagreements(), 0, "{}", c.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_then_resume_until_done() {
    let dir = test_dir("resume-kill");
    let running = serve::start(World::generate(world_config(202, 2000)), &dir.join("world")).await.unwrap();
    let out = dir.join("scan");
    // A broken part file left by some other accident must not crash the resume either.
    std::fs::create_dir_all(out.join("domains")).unwrap();
    std::fs::write(out.join("domains/part-00099.parquet"), b"PAR1 not really").unwrap();
    let args = scan_args(&running, &out);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
    eprintln!("kill schedule seed {seed}");
    let mut kills = 0;
    for round in 0..4u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailcensus")).args(&args).spawn().unwrap();
        let wait_ms = 300 + (seed.wrapping_mul(round + 7) >> 3) % 900;
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 2, "the scan should still be running when killed");
    let finish = tokio::task::spawn_blocking({
        let args = args.clone();
        move || Command::new(env!("CARGO_BIN_EXE_mailcensus")).args(&args).output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(finish.status.code(), Some(0), "{}", String::from_utf8_lossy(&finish.stderr));
    assert_eq!(run_json(&out)["complete"], true);
    let counts = domain_counts(&out);
    assert_eq!(counts.len(), 2000, "every domain written");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "written more than once: {twice:?}");
    assert!(out.join("domains/.set-aside").exists(), "the broken file was set aside");
    let c = compare(&running.world, &out).unwrap();
    assert_eq!(c.disagreements(), 0, "{}", c.render());
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    assert_eq!(rejects.lines().count(), 1, "no rejects, written once: {rejects}");
    assert_eq!(run_json(&out)["counts"]["domains"], 2000, "run.json counts every run's domains");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_with_exit_130() {
    let dir = test_dir("resume-term");
    let running = serve::start(World::generate(world_config(204, 2000)), &dir.join("world")).await.unwrap();
    let out: PathBuf = dir.join("scan");
    let child = Command::new(env!("CARGO_BIN_EXE_mailcensus")).args(scan_args(&running, &out)).spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    assert_eq!(output.status.code(), Some(130));
    let run = run_json(&out);
    assert_eq!(run["complete"], false);
    let counts = domain_counts(&out);
    assert_eq!(counts.len() as u64, run["counts"]["domains"].as_u64().unwrap());
    // A clean stop closes every part: nothing half-written is left in any dataset.
    for dataset in ["domains", "mx_hosts", "client_endpoints"] {
        let names: Vec<String> = std::fs::read_dir(out.join(dataset))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| n.ends_with(".parquet")), "{dataset}: {names:?}");
    }
}
