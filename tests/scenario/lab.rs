//! `mailcensus lab` serves a world that a scan in another process can reach (block 127.180-181), and
//! the ground-truth comparison catches a scan of the wrong world.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use mailcensus::world::truth::compare;
use mailcensus::world::{World, WorldConfig};

use crate::world::test_dir;

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn lab_world_is_scanned_from_a_second_process() {
    let dir = test_dir("lab");
    let mut lab = Kill(
        Command::new(env!("CARGO_BIN_EXE_mailcensus"))
            .args(["lab", "--domains", "300", "--providers", "20", "--seed", "9", "--smtp-port", "2526"])
            .args(["--first-ip", "127.180.0.1", "--dns-ip", "127.181.0.53", "--dir", dir.to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = lab.0.stdout.take().unwrap();
    let mut scan_line = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(cmd) = line.strip_prefix("scan: ") {
            scan_line = Some(cmd.to_string());
        }
        if line.starts_with("serving") {
            break;
        }
    }
    let scan_line = scan_line.expect("lab prints the scan command");
    let words: Vec<&str> = scan_line.split_whitespace().collect();
    assert_eq!(words[..2], ["mailcensus", "scan"]);
    let out = Command::new(env!("CARGO_BIN_EXE_mailcensus")).args(&words[1..]).arg("--no-progress").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let config = WorldConfig {
        seed: 9,
        domains: 300,
        providers: 20,
        first_ip: "127.180.0.1".parse().unwrap(),
        dns_ip: "127.181.0.53".parse().unwrap(),
        smtp_port: 2526,
        ..Default::default()
    };
    let c = compare(&World::generate(config.clone()), &dir.join("scan")).unwrap();
    assert_eq!(c.disagreements(), 0, "{}", c.render());
    assert!(c.checks() >= 3000);

    // The comparison is not a formality: the same scan against another seed's truth disagrees.
    let wrong = compare(&World::generate(WorldConfig { seed: 10, ..config }), &dir.join("scan")).unwrap();
    assert!(wrong.disagreements() > 100, "{}", wrong.render());
}

#[test]
fn bench_json_reports_consistent_figures() {
    let dir = test_dir("bench");
    let out = Command::new(env!("CARGO_BIN_EXE_mailcensus"))
        .args(["bench", "--domains", "300", "--providers", "12", "--posture", "valid", "--json", "--smtp-port", "2527"])
        .args(["--first-ip", "127.190.0.1", "--dns-ip", "127.191.0.53", "--dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k} missing in {r}"));
    assert_eq!(n("domains"), 300.0);
    // Every MX host is probed once, plus one probe per implicit-MX domain; with every MX valid,
    // every probe completes a handshake.
    assert!(n("probes") >= n("mx_hosts") && n("probes") < n("mx_hosts") + 30.0, "{r}");
    assert_eq!(n("tls_handshakes"), n("probes"));
    assert!(n("cache_hit_ratio") > 0.5 && n("cache_hit_ratio") < 1.0);
    assert!(n("dns_queries") >= 300.0 * 3.0, "MX, TXT and _dmarc TXT per domain");
    assert!(n("peak_rss_mib") > 1.0 && n("elapsed_seconds") > 0.0);
    let lat = r["probe_latency_ms"].as_array().unwrap();
    assert!(lat[0].as_u64() <= lat[1].as_u64() && lat[1].as_u64() <= lat[2].as_u64());
    // The completion percentiles are times within the scan, in order.
    let done: Vec<f64> = r["domains_done_seconds"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(done[0] > 0.0 && done[0] <= done[1] && done[1] <= done[2], "{r}");
    assert!(done[2] <= n("elapsed_seconds") + 0.01, "{r}");
    let bad = Command::new(env!("CARGO_BIN_EXE_mailcensus")).args(["bench", "--posture", "nonsense"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
