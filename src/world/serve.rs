//! Running a [`World`] on loopback: its DNS server (answers generated from the seed), one SMTP listener
//! per MX host on the host's own address and on each of the cloud pool's addresses, with real TLS from
//! the world's CA, and the shared hosting address (HTTPS for policies, autoconfig files and BIMI
//! logos and mark certificates, and the client endpoints of many domains); and writing the files a scanner needs (CA certificate, input
//! list, ground truth).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{CLOUD_SUFFIX, HOSTING_NAME, Posture, World, truth};
use crate::probe::client::Protocol;
use crate::testkit::dns::FakeDns;
use crate::testkit::https::{FakeHttps, Reply};
use crate::testkit::mailbox::{FakeMailbox, Service};
use crate::testkit::pki::{TestCa, Validity, self_signed};
use crate::testkit::smtp::{Behaviour, FakeSmtp, Posture as SmtpPosture};

/// BIMI files (logos, mark certificates) the hosting address keeps made.
const BIMI_FILES_KEPT: usize = 8192;

/// A world being served.
pub struct RunningWorld {
    /// The world.
    pub world: Arc<World>,
    /// Its DNS server.
    pub dns: FakeDns,
    /// Its MX listeners (none for `closed_port` hosts), the cloud pool's included.
    pub smtp: Vec<FakeSmtp>,
    /// The shared hosting address's HTTPS server (MTA-STS policies, autoconfig files).
    pub https: FakeHttps,
    /// The shared hosting address's client endpoints (IMAP, POP3, submission, each in both kinds).
    pub mailboxes: Vec<FakeMailbox>,
    /// Where its files are.
    pub dir: PathBuf,
}

impl RunningWorld {
    /// The CA certificate to trust (`--ca-file`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The mark-certificate CA of the world's BIMI domains (`--bimi-ca-file`).
    pub fn mark_ca_file(&self) -> PathBuf {
        self.dir.join("mark-ca.pem")
    }

    /// The world's ISP database (`--ispdb`): its providers' `<provider>.xml` files.
    pub fn ispdb_dir(&self) -> PathBuf {
        self.dir.join("ispdb")
    }

    /// The ISP database a scan of this world uses: the built-in snapshot and the world's providers.
    pub fn ispdb(&self) -> Arc<crate::client::ispdb::Ispdb> {
        let mut db = (*crate::client::ispdb::Ispdb::built_in()).clone();
        for (file, xml) in self.world.ispdb_files() {
            if let Ok(config) = crate::client::autoconfig::parse(&xml) {
                db.add(&file, config);
            }
        }
        Arc::new(db)
    }

    /// The domain list to scan.
    pub fn input_file(&self) -> PathBuf {
        self.dir.join("input.csv")
    }

    /// The resolver address to use (`--resolver`).
    pub fn resolver(&self) -> SocketAddr {
        self.dns.addr()
    }
}

fn behaviour(world: &World, ca: &TestCa, name: &str, posture: Posture) -> Option<Behaviour> {
    let tls = |cert: crate::testkit::pki::ServerCert, tls12| SmtpPosture::StartTls(cert.server_config(tls12));
    let smtp = match posture {
        Posture::Valid | Posture::DelayedGreeting => tls(ca.leaf(&[name], Validity::Current), false),
        Posture::Tls12Only => tls(ca.leaf(&[name], Validity::Current), true),
        Posture::SelfSigned => tls(self_signed(&[name]), false),
        Posture::Expired => tls(ca.leaf(&[name], Validity::Expired), false),
        Posture::NameMismatch => tls(ca.leaf(&[&format!("other.{name}")], Validity::Current), false),
        Posture::NoStartTls => SmtpPosture::NoStartTls,
        Posture::Reject454 => SmtpPosture::RejectStartTls(454),
        Posture::Greeting421 => SmtpPosture::Greeting421,
        Posture::Silent => SmtpPosture::Silent,
        Posture::ClosedPort => return None,
    };
    let mut b = Behaviour::new(smtp).greeting(&[&format!("{name} ESMTP mailcensus-world")]).quiet();
    if posture == Posture::DelayedGreeting {
        b = b.delay(world.config.greeting_delay);
    }
    Some(b)
}

/// Starts the world's servers and writes its files into `dir` (created if missing).
pub async fn start(world: World, dir: &Path) -> io::Result<RunningWorld> {
    std::fs::create_dir_all(dir)?;
    let world = Arc::new(world);
    let ca = TestCa::new("mailcensus world CA");
    ca.write_pem(&dir.join("ca.pem"))?;
    let mark_ca = Arc::new(TestCa::new("mailcensus world mark CA"));
    mark_ca.write_pem(&dir.join("mark-ca.pem"))?;
    let files = {
        let (world, dir) = (world.clone(), dir.to_path_buf());
        tokio::task::spawn_blocking(move || {
            let ispdb = dir.join("ispdb");
            std::fs::create_dir_all(&ispdb)?;
            for (file, xml) in world.ispdb_files() {
                std::fs::write(ispdb.join(file), xml)?;
            }
            truth::write_files(&world, &dir)
        })
    };
    let mut smtp = Vec::new();
    for host in world.mx_hosts() {
        if let Some(b) = behaviour(&world, &ca, &host.name, host.posture) {
            let addr = SocketAddr::new(IpAddr::V4(host.ip), world.config.smtp_port);
            smtp.push(
                FakeSmtp::spawn(addr, b)
                    .await
                    .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?,
            );
        }
    }
    // The cloud pool: one wildcard certificate for every vanity name, on each of its addresses.
    let cloud_cert = ca.leaf(&[&format!("*.{CLOUD_SUFFIX}")], Validity::Current).server_config(false);
    for ip in &world.cloud {
        let b = Behaviour::new(SmtpPosture::StartTls(cloud_cert.clone()))
            .greeting(&[&format!("pool.{CLOUD_SUFFIX} ESMTP mailcensus-world")])
            .quiet();
        smtp.push(FakeSmtp::spawn(SocketAddr::new(IpAddr::V4(*ip), world.config.smtp_port), b).await?);
    }
    // The shared hosting address: policies and autoconfig files for many domains (a certificate for
    // each name asked), and the client endpoints of many domains under one certificate.
    let hosting = IpAddr::V4(world.hosting);
    let answers = world.clone();
    let bimi_files = std::sync::Mutex::new(std::collections::HashMap::<String, (u16, String, String)>::new());
    let https = FakeHttps::spawn(
        SocketAddr::new(hosting, world.config.https_port),
        ca.per_name_config(),
        Reply::Dynamic(Arc::new(move |host, path| {
            // A mark certificate is made once per domain (bounded), so that every scan of a running
            // world sees the same one.
            let key = format!("{host}{path}");
            let mut kept = bimi_files.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(answer) = kept.get(&key) {
                return answer.clone();
            }
            let Some(answer) = answers.bimi_answer(host, path, &mark_ca) else {
                return answers.https_answer(host, path);
            };
            if kept.len() >= BIMI_FILES_KEPT {
                kept.clear();
            }
            kept.insert(key, answer.clone());
            answer
        })),
    )
    .await
    .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {hosting}:{}: {e}", world.config.https_port)))?;
    let tls = ca.leaf(&[HOSTING_NAME], Validity::Current).server_config(false);
    let services = [
        (Protocol::Imaps, Service::Imaps(tls.clone())),
        (Protocol::Imap, Service::Imap { starttls: Some(tls.clone()), login_disabled: true }),
        (Protocol::Pop3s, Service::Pop3s(tls.clone())),
        (Protocol::Pop3, Service::Pop3 { stls: Some(tls.clone()), user_before_tls: false }),
        (Protocol::Submissions, Service::Submissions(tls.clone())),
        (Protocol::Submission, Service::Submission { starttls: Some(tls.clone()), auth_before_tls: false }),
    ];
    let mut mailboxes = Vec::new();
    for (protocol, service) in services {
        let addr = SocketAddr::new(hosting, world.config.client_port(protocol));
        mailboxes.push(
            FakeMailbox::spawn(addr, service)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?,
        );
    }
    let dns = FakeDns::spawn(super::dns_ip(&world.config), world.clone()).await?;
    files.await.map_err(io::Error::other)??;
    Ok(RunningWorld { world, dns, smtp, https, mailboxes, dir: dir.to_path_buf() })
}
