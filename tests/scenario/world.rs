//! A small simulated mail world for one test: a zone, fake MX servers, a CA, and a scan of it.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use mailcensus::config::ScanConfig;
use mailcensus::input::InputSource;
use mailcensus::scan::{self, ScanSummary};
use mailcensus::testkit::AddressBlock;
use mailcensus::testkit::dataset::{Row, read_rows};
use mailcensus::testkit::dns::{FakeDns, Logged, QueryLog, Zone, ZoneSigner};
use mailcensus::testkit::pki::TestCa;
use mailcensus::testkit::smtp::{Behaviour, FakeSmtp};

/// The SMTP port of every fake MX (each test has its own addresses, so ports never collide).
pub const SMTP_PORT: u16 = 2525;

pub struct World {
    pub block: AddressBlock,
    pub block_id: u8,
    pub zone: Zone,
    pub ca: TestCa,
    pub servers: Vec<(String, FakeSmtp)>,
    /// Signs one zone of the world (and the scan then validates with its trust anchor).
    pub signer: Option<ZoneSigner>,
}

pub struct Scan {
    pub summary: ScanSummary,
    /// Every name the scan asked the DNS server for.
    pub queries: QueryLog,
    /// The scan's output directory.
    pub out: PathBuf,
    pub domains: Vec<Row>,
    pub mx: Vec<Row>,
}

impl Scan {
    pub fn domain(&self, d: &str) -> &Row {
        self.domains.iter().find(|r| r["domain"].str() == Some(d)).unwrap_or_else(|| panic!("no domains row for {d}"))
    }

    pub fn mx_rows(&self, d: &str) -> Vec<&Row> {
        self.mx.iter().filter(|r| r["domain"].str() == Some(d)).collect()
    }

    /// The single mx_hosts row of a domain.
    pub fn mx_row(&self, d: &str) -> &Row {
        let rows = self.mx_rows(d);
        assert_eq!(rows.len(), 1, "{d} should have one mx_hosts row: {rows:#?}");
        rows[0]
    }
}

pub fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailcensus-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl World {
    pub fn new(block_id: u8) -> Self {
        Self {
            block: AddressBlock::new(block_id),
            block_id,
            zone: Zone::new(),
            ca: TestCa::new("mailcensus scenario CA"),
            servers: Vec::new(),
            signer: None,
        }
    }

    /// Starts a fake MX for `domain` at a fresh address, with MX (preference 10) and A records.
    pub async fn mx(&mut self, domain: &str, host: &str, behaviour: Behaviour) -> IpAddr {
        let ip = self.block.next_ip();
        self.zone.mx(domain, 10, host).addr(host, ip);
        let server = FakeSmtp::spawn(SocketAddr::new(ip, SMTP_PORT), behaviour).await.unwrap();
        self.servers.push((host.to_string(), server));
        ip
    }

    pub fn server(&self, host: &str) -> &FakeSmtp {
        &self.servers.iter().find(|(h, _)| h == host).unwrap_or_else(|| panic!("no server {host}")).1
    }

    /// A scan config for this world: its DNS, its CA, short timeouts, loopback allowed.
    pub fn config(&self, name: &str, dns: &FakeDns, input: &str) -> ScanConfig {
        let dir = test_dir(name);
        let input_path = dir.join("input.csv");
        std::fs::write(&input_path, input).unwrap();
        let ca = dir.join("ca.pem");
        self.ca.write_pem(&ca).unwrap();
        let mut c = ScanConfig::new(InputSource::File(input_path), dir.join("out"));
        c.dns.resolvers = vec![dns.addr()];
        c.dns.timeout = Duration::from_millis(800);
        c.dns.retries = 0;
        // Late retries on, with a short back-off: every path runs as by default, quickly.
        c.dns.late_retry_delay = Duration::from_millis(50);
        c.dns.qps = 10_000;
        // The zones here are unsigned unless a test signs one and gives its trust anchor.
        c.dns.dnssec = false;
        c.smtp.port = SMTP_PORT;
        c.smtp.ehlo_name = "scanner.mailcensus.test".into();
        c.smtp.connect_timeout = Duration::from_secs(2);
        c.smtp.read_timeout = Duration::from_secs(3);
        c.smtp.probe_timeout = Duration::from_secs(8);
        c.limits.probe_rate = 1000.0;
        c.limits.smtp.per_ip_rate = 1000.0;
        c.retry_delay = Duration::from_millis(50);
        c.ca_files = vec![ca];
        c.guard.allow_private = true;
        c.progress = false;
        c
    }

    /// Serves the zone and scans `domains` (one per line) with `tweak` applied to the config.
    pub async fn scan(&mut self, name: &str, input: &str, tweak: impl FnOnce(&mut ScanConfig)) -> Scan {
        let dns_ip = IpAddr::from([127, self.block_id, 255, 53]);
        let queries = QueryLog::default();
        let signer = self.signer.take();
        let anchor = signer.as_ref().map(|s| s.trust_anchor());
        let answerer = Logged { inner: self.zone.clone(), log: queries.clone() };
        let dns = FakeDns::spawn_signed(SocketAddr::new(dns_ip, 0), answerer, signer).await.unwrap();
        let mut config = self.config(name, &dns, input);
        if let Some(anchor) = anchor {
            let path = config.out.with_file_name("trust-anchor.txt");
            std::fs::write(&path, anchor).unwrap();
            config.dns.dnssec = true;
            config.dns.trust_anchor = Some(path);
        }
        tweak(&mut config);
        let dir = config.out.clone();
        let summary = scan::run(config).await.expect("scan runs");
        Scan {
            summary,
            queries,
            out: dir.clone(),
            domains: read_rows(&dir.join("domains")).unwrap(),
            mx: read_rows(&dir.join("mx_hosts")).unwrap(),
        }
    }

    /// No server ever received MAIL, RCPT or DATA, and no client talked before the greeting.
    pub fn assert_polite(&self) {
        for (host, s) in &self.servers {
            for cmd in s.commands() {
                let verb = cmd.trim_start_matches("TLS ").split(' ').next().unwrap_or("").to_ascii_uppercase();
                assert!(!["MAIL", "RCPT", "DATA", "PREGREET"].contains(&verb.as_str()), "{host} received {cmd}");
            }
        }
    }
}
