//! `mailcensus demo` and `mailcensus lab`: the whole job offline, against a simulated mail internet.
//!
//! `demo` starts a [`World`], scans it with the normal pipeline (reaching it only through `--resolver`,
//! `--allow-private` and `--ca-file`, like any scan), and compares the datasets with the world's ground
//! truth, column by column. `lab` serves the same world until interrupted and prints the `scan`
//! command that scans it from another process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::ScanConfig;
use crate::input::InputSource;
use crate::scan;
use crate::world::serve::{self, RunningWorld};
use crate::world::truth::{self, Comparison};
use crate::world::{World, WorldConfig};

/// Scan settings for a world on loopback: its resolver and CA, loopback allowed, short timeouts (the
/// world's greeting delay is 1 s), and rates far above the internet defaults since nothing here is
/// anyone else's server.
pub fn scan_config(world: &RunningWorld, out: PathBuf) -> ScanConfig {
    let mut c = ScanConfig::new(InputSource::File(world.input_file()), out);
    c.dns.resolvers = vec![world.resolver()];
    c.dns.timeout = Duration::from_secs(2);
    c.dns.qps = 50_000;
    // The simulated world is not signed and has no root keys to validate against.
    c.dns.dnssec = false;
    c.smtp.port = world.world.config.smtp_port;
    c.smtp.ehlo_name = "demo.mailcensus.test".into();
    c.smtp.connect_timeout = Duration::from_secs(2);
    c.smtp.read_timeout = Duration::from_secs(3);
    c.smtp.probe_timeout = Duration::from_secs(10);
    c.concurrency = 512;
    c.retries = 1;
    c.retry_delay = Duration::from_millis(100);
    c.limits.probe_rate = 10_000.0;
    c.limits.smtp.per_ip_rate = 200.0;
    c.ca_files = vec![world.ca_file()];
    c.guard.allow_private = true;
    c.https_port = world.world.config.https_port;
    c.client.ports =
        crate::probe::client::Protocol::ALL.iter().map(|p| (*p, world.world.config.client_port(*p))).collect();
    c.https_timeout = Duration::from_secs(3);
    c.client.ispdb = world.ispdb();
    c.bimi_roots = crate::testkit::pki::read_pem_certificates(&world.mark_ca_file()).ok().map(std::sync::Arc::new);
    c
}

/// The same settings as command-line flags (for `lab` to print).
pub fn scan_command(world: &RunningWorld, out: &Path) -> String {
    let c = scan_config(world, out.to_path_buf());
    let ports: String =
        c.client.ports.iter().map(|(p, port)| format!(" --client-port {}={port}", p.as_label())).collect();
    format!(
        "mailcensus scan {} --out {} --resolver {} --ca-file {} --allow-private --smtp-port {} --ehlo-name {} \
         --dns-timeout 2 --dns-qps {} --connect-timeout 2 --read-timeout 3 --probe-timeout 10 --concurrency {} \
         --retries 1 --retry-delay 0.1 --no-dnssec --https-port {} --https-timeout 3{ports} \
         --probe-rate {} --per-ip-rate {} --ispdb {} --bimi-ca-file {}",
        world.input_file().display(),
        out.display(),
        world.resolver(),
        world.ca_file().display(),
        c.smtp.port,
        c.smtp.ehlo_name,
        c.dns.qps,
        c.concurrency,
        c.https_port,
        c.limits.probe_rate,
        c.limits.smtp.per_ip_rate,
        world.ispdb_dir().display(),
        world.mark_ca_file().display()
    )
}

/// Why a demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The world could not be started.
    #[error("cannot start the simulated world: {0}")]
    World(#[from] std::io::Error),
    /// The scan failed.
    #[error(transparent)]
    Scan(#[from] scan::ScanError),
    /// The datasets could not be read back.
    #[error("cannot read the scan back: {0}")]
    Read(String),
}

/// Runs a demo: world in `out/world`, scan outputs in `out`, and the comparison.
pub async fn demo(world: WorldConfig, out: &Path, overwrite: bool, progress: bool) -> Result<Comparison, DemoError> {
    let running = serve::start(World::generate(world), &out.join("world")).await?;
    let mut config = scan_config(&running, out.to_path_buf());
    config.overwrite = overwrite;
    config.progress = progress;
    config.args = std::env::args().collect();
    scan::run(config).await?;
    truth::compare(&running.world, out).map_err(|e| DemoError::Read(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn demo_agrees_with_its_ground_truth() {
        let dir = std::env::temp_dir().join(format!("mailcensus-demo-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let world = WorldConfig {
            seed: 42,
            domains: 400,
            providers: 30,
            first_ip: std::net::Ipv4Addr::new(127, 170, 0, 1),
            dns_ip: std::net::Ipv4Addr::new(127, 171, 0, 53),
            ..Default::default()
        };
        let c = demo(world, &dir, false, false).await.unwrap();
        assert_eq!(c.disagreements(), 0, "{}", c.render());
        assert!(c.checks() > 400 * 10, "{}", c.render());
        // Every posture and summary was exercised.
        for col in ["mx_hosts.tls_cert_verdict", "domains.starttls", "mx_hosts.probe_reason"] {
            assert!(c.columns[col].agree > 0, "{col}");
        }
        assert!(dir.join("world/truth-domains.csv").exists() && dir.join("world/ca.pem").exists());
    }
}
