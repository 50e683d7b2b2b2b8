//! A simulated mail internet for `demo`, `lab` and `bench`: providers, their MX hosts and postures,
//! and domains with their SPF and DMARC, all generated from a seed and a size.
//!
//! Only providers and MX hosts are held in memory. Domains are named `d<i>.world.test`, and everything
//! about domain `i` (its provider, MX kind, SPF, DMARC) is recomputed from `(seed, i)` whenever it is
//! needed, so DNS answers are generated rather than stored and memory does not grow with `--domains`.
//! The mix of postures is documented in the README ("The simulated world"); [`truth`] says what a
//! correct scanner must report for each domain and MX, and [`serve`] runs the world on loopback.

pub mod serve;
pub mod truth;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::rdata::{A, MX, SRV, TXT};
use hickory_resolver::proto::rr::{Name, RData, RecordType};

use crate::testkit::dns::{Answer, Answerer};

/// The DNS suffix of every name in the world.
pub const SUFFIX: &str = "world.test";

/// A stateless 64-bit mixer (SplitMix64): stable across versions and platforms, unlike a library RNG
/// whose streams may change, so a seed always generates the same world.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic stream of draws for one object of the world.
struct Draw(u64);

impl Draw {
    fn new(seed: u64, stream: u64, index: u64) -> Self {
        Self(mix(seed ^ mix(stream.wrapping_mul(0x1000_0000_01B3) ^ mix(index))))
    }

    fn next(&mut self) -> u64 {
        self.0 = mix(self.0);
        self.0
    }

    /// Picks from `(value, weight)` pairs.
    fn pick<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let total: u64 = table.iter().map(|(_, w)| *w as u64).sum();
        let mut x = self.next() % total.max(1);
        for (v, w) in table {
            if x < *w as u64 {
                return *v;
            }
            x -= *w as u64;
        }
        table[table.len() - 1].0
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// What kind of mail provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// A large webmail provider: many domains, well-run MX.
    Webmail,
    /// An ISP hosting its customers' mail.
    Isp,
    /// A mobile carrier.
    Carrier,
    /// A hosting company.
    Hosting,
    /// A company running its own mail server.
    Corporate,
}

impl ProviderKind {
    /// In provider order for the first five providers, so every kind exists in a world of 5 or more.
    const ORDER: [Self; 5] = [Self::Webmail, Self::Isp, Self::Carrier, Self::Hosting, Self::Corporate];

    /// The group label prefix.
    pub fn label(self) -> &'static str {
        match self {
            Self::Webmail => "Webmail",
            Self::Isp => "ISP",
            Self::Carrier => "Carrier",
            Self::Hosting => "Hosting",
            Self::Corporate => "Corporate",
        }
    }

    /// Relative share of domains each provider of this kind gets.
    fn domain_weight(self) -> u32 {
        match self {
            Self::Webmail => 40,
            Self::Isp | Self::Carrier => 8,
            Self::Hosting => 4,
            Self::Corporate => 1,
        }
    }

    fn mx_count(self, d: &mut Draw) -> u64 {
        match self {
            Self::Webmail => d.range(3, 4),
            Self::Isp => d.range(2, 3),
            Self::Carrier => d.range(1, 3),
            Self::Hosting => 2,
            Self::Corporate => d.range(1, 2),
        }
    }

    /// The posture mix of this kind's MX hosts, in percent (see the README).
    pub fn posture_mix(self) -> &'static [(Posture, u32)] {
        use Posture::*;
        match self {
            Self::Webmail => &[(Valid, 90), (Tls12Only, 10)],
            Self::Isp => &[
                (Valid, 45),
                (Tls12Only, 10),
                (SelfSigned, 10),
                (Expired, 5),
                (NameMismatch, 5),
                (NoStartTls, 10),
                (Reject454, 5),
                (DelayedGreeting, 5),
                (Greeting421, 3),
                (ClosedPort, 1),
                (Silent, 1),
            ],
            Self::Carrier => &[
                (Valid, 30),
                (NoStartTls, 30),
                (SelfSigned, 10),
                (Reject454, 10),
                (Tls12Only, 5),
                (NameMismatch, 5),
                (Expired, 5),
                (Greeting421, 5),
            ],
            Self::Hosting => &[
                (Valid, 50),
                (Tls12Only, 10),
                (NameMismatch, 10),
                (SelfSigned, 10),
                (Expired, 5),
                (NoStartTls, 5),
                (DelayedGreeting, 5),
                (ClosedPort, 2),
                (Silent, 3),
            ],
            Self::Corporate => &[
                (Valid, 35),
                (SelfSigned, 15),
                (Expired, 10),
                (NameMismatch, 10),
                (NoStartTls, 10),
                (Tls12Only, 5),
                (Reject454, 3),
                (DelayedGreeting, 5),
                (Greeting421, 3),
                (ClosedPort, 2),
                (Silent, 2),
            ],
        }
    }
}

crate::labels! {
    /// How one MX host behaves.
    pub enum Posture {
        /// STARTTLS with a certificate from the world's CA for its name.
        Valid => "valid",
        /// STARTTLS with a self-signed certificate.
        SelfSigned => "self_signed",
        /// STARTTLS with an expired certificate from the world's CA.
        Expired => "expired",
        /// STARTTLS with a certificate from the world's CA for another name.
        NameMismatch => "name_mismatch",
        /// STARTTLS, TLS 1.2 only, valid certificate.
        Tls12Only => "tls12_only",
        /// No STARTTLS offered.
        NoStartTls => "no_starttls",
        /// STARTTLS offered, answered with 454.
        Reject454 => "reject_454",
        /// Greets with 421.
        Greeting421 => "greeting_421",
        /// Greets after a delay (postscreen style), then STARTTLS with a valid certificate.
        DelayedGreeting => "delayed_greeting",
        /// Nothing listens.
        ClosedPort => "closed_port",
        /// Accepts and never speaks.
        Silent => "silent",
    }
}

impl Posture {}

/// One MX host of a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxHost {
    /// `mx<k>.p<p>.world.test`.
    pub name: String,
    /// Its own loopback address.
    pub ip: Ipv4Addr,
    /// How it behaves.
    pub posture: Posture,
    /// MX preference (10, 20, ...).
    pub preference: u16,
}

/// A mail provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// Its kind.
    pub kind: ProviderKind,
    /// The group label its domains carry, e.g. `ISP 3`.
    pub group: String,
    /// Its MX hosts, in preference order.
    pub mx: Vec<MxHost>,
}

/// How a domain receives mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mail {
    /// MX records pointing at its provider's MX hosts.
    Provider,
    /// The null MX.
    NullMx,
    /// No MX; an A record at the domain pointing at one of its provider's MX addresses.
    Implicit(usize),
    /// The domain does not exist.
    NxDomain,
    /// Every query at the domain gets SERVFAIL.
    ServFail,
    /// A vanity MX name of its own (`d<i>-world-test.mail.cloud.world.test`) on the cloud provider's
    /// shared pool of addresses: the Microsoft 365 pattern.
    Cloud,
}

/// What the domain publishes as SPF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spf {
    /// `-all`.
    Strict,
    /// `~all`.
    Soft,
    /// `+all`.
    PassAll,
    /// Two `v=spf1` records.
    Two,
    /// None.
    None,
}

/// What the domain publishes as DMARC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dmarc {
    /// No record.
    None,
    /// `p=none`.
    Monitor,
    /// `p=quarantine`.
    Quarantine,
    /// `p=reject`.
    Reject,
    /// A record that does not parse.
    Malformed,
}

/// One domain of the world, recomputed from the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainSpec {
    /// Its index.
    pub index: u64,
    /// `d<i>.world.test`.
    pub name: String,
    /// Its provider's index.
    pub provider: usize,
    /// How it receives mail.
    pub mail: Mail,
    /// Its SPF.
    pub spf: Spf,
    /// Its DMARC.
    pub dmarc: Dmarc,
    /// It publishes an MTA-STS policy, served from the shared hosting address.
    pub mta_sts: bool,
    /// It publishes an autoconfig file (served from the hosting address) naming `mail.<domain>`.
    pub autoconfig: bool,
    /// It publishes SRV records for IMAPS and submission at `mail.<domain>`.
    pub srv: bool,
    /// What it publishes for BIMI.
    pub bimi: BimiKind,
}

impl DomainSpec {
    /// Does the domain accept mail?
    pub fn accepts_mail(&self) -> bool {
        matches!(self.mail, Mail::Provider | Mail::Implicit(_) | Mail::Cloud)
    }

    /// Does `mail.<domain>` exist (on the hosting address)? For the domains that publish client
    /// endpoints, and for the self-hosted ones (implicit MX), whose guesses find it.
    pub fn has_mail_host(&self) -> bool {
        self.autoconfig || self.srv || matches!(self.mail, Mail::Implicit(_))
    }
}

/// What reverse DNS says about a world address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PtrKind {
    /// A PTR naming the host, which resolves back to the address.
    Match,
    /// A PTR naming an access-network host (`dyn-<a>-<b>-<c>-<d>.access.test`) that does not resolve.
    Mismatch,
    /// No PTR record.
    Missing,
}

impl PtrKind {
    /// Provider `p`'s MX addresses: one provider in seven has no PTR, one has generic names.
    pub fn of_provider(p: usize) -> Self {
        match p % 7 {
            4 => Self::Missing,
            5 => Self::Mismatch,
            _ => Self::Match,
        }
    }
}

/// What a domain publishes for BIMI (its logo and mark certificate served by the hosting address as
/// `https://bimi.<domain>/logo.svg` and `/vmc.pem`, the certificate from the world's mark CA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BimiKind {
    /// No record.
    None,
    /// A Tiny PS logo and a valid mark certificate for it.
    Valid,
    /// A logo with a script (the certificate embeds the same logo).
    ScriptLogo,
    /// An expired mark certificate.
    Expired,
    /// A mark certificate for another logo.
    OtherLogo,
    /// A logo and no `a=`.
    NoCertificate,
}

impl BimiKind {
    /// Domain `i`'s: six domains in five thousand publish BIMI (rare, as on the internet, and all
    /// served from the one hosting address, whose HTTPS queue they join), two valid and one of each
    /// failing kind; domains 11-16 of any world are among them.
    pub fn of(i: u64, mail: Mail) -> Self {
        if !matches!(mail, Mail::Provider | Mail::Cloud) {
            return Self::None;
        }
        match i % 5000 {
            11 | 16 => Self::Valid,
            12 => Self::ScriptLogo,
            13 => Self::Expired,
            14 => Self::OtherLogo,
            15 => Self::NoCertificate,
            _ => Self::None,
        }
    }
}

/// The world's BIMI logo (SVG Tiny PS), in a colour.
pub fn bimi_logo(colour: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" viewBox="0 0 10 10"><title>World brand</title><rect width="10" height="10" fill="{colour}"/></svg>"#
    )
}

/// The DNS suffix of the cloud provider's vanity MX names.
pub const CLOUD_SUFFIX: &str = "mail.cloud.test";
/// The cloud provider's registrable domain: its mail-app settings are at `autoconfig.cloud.test`,
/// naming `imap.cloud.test` and `smtp.cloud.test` (the Microsoft 365 pattern: customers publish
/// nothing, mail apps find the provider through the MX).
pub const CLOUD_DOMAIN: &str = "cloud.test";

/// The registrable domain of provider `p` (its MX hosts are `mx<k>.p<p>.test`): a domain of its
/// own, as mail providers' are, so that the MX leads mail apps to the provider.
pub fn provider_domain(p: usize) -> String {
    format!("p{p}.test")
}

/// What a provider tells its customers' mail apps, found through their MX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderClients {
    /// Nothing: its customers' `client_tls` is `not_found`.
    Nothing,
    /// Conventional names: `imap.<provider>` and `smtp.<provider>` resolve (to the hosting address):
    /// found as guesses under the provider (IMAPS, IMAP, submissions, submission).
    Names,
    /// An entry in the ISP database (the world's, written as `ispdb/p<p>.test.xml`): IMAPS at
    /// `imap.<provider>`, and POP3 at `pop.<provider>` declared `plain` (the server still offers STLS).
    Ispdb,
}

impl ProviderClients {
    /// Provider `p`'s: every third provider each.
    pub fn of(p: usize) -> Self {
        match p % 3 {
            1 => Self::Names,
            2 => Self::Ispdb,
            _ => Self::Nothing,
        }
    }
}
/// The group label of the cloud provider's domains.
pub const CLOUD_GROUP: &str = "Cloud 1";
/// Addresses in the cloud provider's pool.
pub const CLOUD_POOL: usize = 4;
/// The name on the shared hosting address's certificate (the client endpoints it serves for many
/// domains present it whatever name is asked, as shared hosting does).
pub const HOSTING_NAME: &str = "hosting.world.test";

/// The size and seed of a world, and where it lives.
#[derive(Clone, Debug)]
pub struct WorldConfig {
    /// The seed (`--seed`, default 1).
    pub seed: u64,
    /// Number of domains (`--domains`, default 2,000).
    pub domains: u64,
    /// Number of providers (`--providers`, default 40).
    pub providers: u32,
    /// Address of the first MX host; the others follow (default 127.64.0.1).
    pub first_ip: Ipv4Addr,
    /// Address of the world's DNS server (default 127.53.53.53).
    pub dns_ip: Ipv4Addr,
    /// Port of every MX listener (`--smtp-port`, default 2525).
    pub smtp_port: u16,
    /// Greeting delay of the `delayed_greeting` posture (default 1 s; the scan's read timeout must exceed it).
    pub greeting_delay: Duration,
    /// Give every MX host this posture instead of the mix (`--posture`, for benchmarks).
    pub posture: Option<Posture>,
    /// Port of the hosting address's HTTPS server (MTA-STS policies, autoconfig files; default 8443).
    pub https_port: u16,
    /// Added to each client protocol's standard port for the hosting address's endpoints (default
    /// 10000: IMAPS on 10993, submission on 10587 ...), so that a world runs without root.
    pub client_port_offset: u16,
}

impl WorldConfig {
    /// The port of a client protocol's endpoints in this world.
    pub fn client_port(&self, p: crate::probe::client::Protocol) -> u16 {
        p.default_port().saturating_add(self.client_port_offset)
    }
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            domains: 2_000,
            providers: 40,
            first_ip: Ipv4Addr::new(127, 64, 0, 1),
            dns_ip: Ipv4Addr::new(127, 53, 53, 53),
            smtp_port: 2525,
            greeting_delay: Duration::from_secs(1),
            posture: None,
            https_port: 8443,
            client_port_offset: 10_000,
        }
    }
}

/// A generated world: its providers; domains are computed on demand.
#[derive(Clone, Debug)]
pub struct World {
    /// How it was generated.
    pub config: WorldConfig,
    /// The providers.
    pub providers: Vec<Provider>,
    /// Cumulative domain weights of the providers, for picking a domain's provider.
    cumulative: Vec<u64>,
    /// The cloud provider's pool of addresses (after the providers' MX hosts).
    pub cloud: Vec<Ipv4Addr>,
    /// The shared hosting address: MTA-STS policies and autoconfig files over HTTPS, and the
    /// `mail.<domain>` endpoints of many domains.
    pub hosting: Ipv4Addr,
    /// Each MX address's (provider, host) index, for reverse DNS.
    by_ip: std::collections::HashMap<Ipv4Addr, (usize, usize)>,
}

const STREAM_PROVIDER: u64 = 1;
const STREAM_DOMAIN: u64 = 2;

/// The `n`-th address after `first`, skipping addresses ending in .0 and .255.
fn nth_ip(first: Ipv4Addr, n: u64) -> Ipv4Addr {
    let base = u32::from(first) as u64;
    // 254 usable addresses per /24.
    let start_block = base >> 8;
    let start_offset = (base & 0xff).clamp(1, 254) - 1;
    let k = start_offset + n;
    let addr = ((start_block + k / 254) << 8) | (k % 254 + 1);
    Ipv4Addr::from(addr as u32)
}

impl World {
    /// Generates the providers of a world.
    pub fn generate(config: WorldConfig) -> Self {
        let mut providers = Vec::with_capacity(config.providers as usize);
        let mut next_ip = 0u64;
        let mut forced = 0usize;
        for p in 0..config.providers.max(1) as u64 {
            let mut d = Draw::new(config.seed, STREAM_PROVIDER, p);
            let kind = match ProviderKind::ORDER.get(p as usize) {
                Some(k) => *k,
                None => d.pick(&[
                    (ProviderKind::Webmail, 5),
                    (ProviderKind::Isp, 25),
                    (ProviderKind::Carrier, 10),
                    (ProviderKind::Hosting, 20),
                    (ProviderKind::Corporate, 40),
                ]),
            };
            let n = providers.iter().filter(|x: &&Provider| x.kind == kind).count() + 1;
            let mx = (0..kind.mx_count(&mut d))
                .map(|k| {
                    // Every posture appears in any world with 11 or more MX hosts outside the first provider.
                    let posture = if let Some(uniform) = config.posture {
                        uniform
                    } else if p > 0 && forced < Posture::ALL.len() {
                        forced += 1;
                        Posture::ALL[forced - 1]
                    } else {
                        d.pick(kind.posture_mix())
                    };
                    let host = MxHost {
                        name: format!("mx{}.{}", k + 1, provider_domain(p as usize)),
                        ip: nth_ip(config.first_ip, next_ip),
                        posture,
                        preference: 10 * (k as u16 + 1),
                    };
                    next_ip += 1;
                    host
                })
                .collect();
            providers.push(Provider { kind, group: format!("{} {n}", kind.label()), mx });
        }
        let mut total = 0u64;
        let cumulative = providers
            .iter()
            .map(|p| {
                total += p.kind.domain_weight() as u64;
                total
            })
            .collect();
        let cloud = (0..CLOUD_POOL as u64).map(|k| nth_ip(config.first_ip, next_ip + k)).collect();
        let hosting = nth_ip(config.first_ip, next_ip + CLOUD_POOL as u64);
        let by_ip = providers
            .iter()
            .enumerate()
            .flat_map(|(p, prov)| prov.mx.iter().enumerate().map(move |(k, m)| (m.ip, (p, k))))
            .collect();
        Self { config, providers, cumulative, cloud, hosting, by_ip }
    }

    /// Reverse DNS of a world address: what kind, and the PTR name (none for [`PtrKind::Missing`] and
    /// for addresses that are not an MX or the cloud pool's).
    pub fn ptr_of(&self, ip: Ipv4Addr) -> (PtrKind, Option<String>) {
        if let Some(&(p, k)) = self.by_ip.get(&ip) {
            return match PtrKind::of_provider(p) {
                PtrKind::Match => (PtrKind::Match, Some(self.providers[p].mx[k].name.clone())),
                PtrKind::Mismatch => {
                    let [a, b, c, d] = ip.octets();
                    (PtrKind::Mismatch, Some(format!("dyn-{a}-{b}-{c}-{d}.access.test")))
                }
                PtrKind::Missing => (PtrKind::Missing, None),
            };
        }
        match self.cloud.iter().position(|c| *c == ip) {
            Some(k) => (PtrKind::Match, Some(format!("out{k}.{CLOUD_DOMAIN}"))),
            None => (PtrKind::Missing, None),
        }
    }

    /// The BIMI record of a domain, if any.
    pub fn bimi_record(spec: &DomainSpec) -> Option<String> {
        let base = format!("https://bimi.{}", spec.name);
        match spec.bimi {
            BimiKind::None => None,
            BimiKind::NoCertificate => Some(format!("v=BIMI1; l={base}/logo.svg")),
            _ => Some(format!("v=BIMI1; l={base}/logo.svg; a={base}/vmc.pem")),
        }
    }

    /// The logo a BIMI domain serves.
    pub fn bimi_logo_of(spec: &DomainSpec) -> String {
        let logo = bimi_logo("#c00");
        match spec.bimi {
            BimiKind::ScriptLogo => logo.replace("<rect", "<script>alert(1)</script><rect"),
            _ => logo,
        }
    }

    /// What `https://bimi.<domain>{path}` serves: the logo, or the mark certificate issued by
    /// `mark_ca` (made on each request: only a few domains ask).
    pub fn bimi_answer(
        &self,
        host: &str,
        path: &str,
        mark_ca: &crate::testkit::pki::TestCa,
    ) -> Option<(u16, String, String)> {
        use crate::testkit::pki::{Mark, Validity};
        let spec = self.domain(self.domain_index(host.split(':').next()?.strip_prefix("bimi.")?)?);
        let logo = Self::bimi_logo_of(&spec);
        match (path, spec.bimi) {
            (_, BimiKind::None) => None,
            ("/logo.svg", _) => Some((200, "image/svg+xml".into(), logo)),
            ("/vmc.pem", BimiKind::NoCertificate) => None,
            ("/vmc.pem", kind) => {
                let embedded = if kind == BimiKind::OtherLogo { bimi_logo("#00c") } else { logo };
                let validity = if kind == BimiKind::Expired { Validity::Expired } else { Validity::Current };
                let pem = mark_ca.mark_certificate(Mark {
                    names: &[&spec.name],
                    logo: Some(embedded.as_bytes()),
                    validity,
                    mark_eku: true,
                    mark_type: "Registered Mark",
                });
                Some((200, "application/pem-certificate-chain".into(), pem))
            }
            _ => None,
        }
    }

    /// The vanity MX host of a cloud domain.
    pub fn cloud_host(spec: &DomainSpec) -> String {
        format!("{}.{CLOUD_SUFFIX}", spec.name.replace('.', "-"))
    }

    /// The pool address a cloud MX name resolves to.
    pub fn cloud_ip(&self, index: u64) -> Ipv4Addr {
        self.cloud[(index % self.cloud.len() as u64) as usize]
    }

    /// The MTA-STS policy a domain publishes: enforce, with a pattern matching its MX hosts.
    pub fn mta_sts_policy(&self, spec: &DomainSpec) -> String {
        let pattern = match spec.mail {
            Mail::Cloud => format!("*.{CLOUD_SUFFIX}"),
            _ => format!("*.{}", provider_domain(spec.provider)),
        };
        format!("version: STSv1\nmode: enforce\nmx: {pattern}\nmax_age: 86400\n")
    }

    /// The autoconfig file a domain publishes: IMAPS and submission at `mail.<domain>`.
    pub fn autoconfig_xml(&self, spec: &DomainSpec) -> String {
        use crate::probe::client::Protocol;
        format!(
            r#"<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="{d}"><domain>{d}</domain><incomingServer type="imap"><hostname>mail.{d}</hostname><port>{imaps}</port><socketType>SSL</socketType></incomingServer><outgoingServer type="smtp"><hostname>mail.{d}</hostname><port>{sub}</port><socketType>STARTTLS</socketType></outgoingServer></emailProvider></clientConfig>"#,
            d = spec.name,
            imaps = self.config.client_port(Protocol::Imaps),
            sub = self.config.client_port(Protocol::Submission),
        )
    }

    /// What the hosting address's HTTPS server answers for `host` and `path`.
    pub fn https_answer(&self, host: &str, path: &str) -> (u16, String, String) {
        let not_found = (404, "text/plain".to_string(), "not found\n".to_string());
        let spec = |prefix: &str| {
            let d = host.split(':').next()?.strip_prefix(prefix)?;
            Some(self.domain(self.domain_index(d)?))
        };
        match path {
            "/.well-known/mta-sts.txt" => match spec("mta-sts.") {
                Some(s) if s.mta_sts => (200, "text/plain".into(), self.mta_sts_policy(&s)),
                _ => not_found,
            },
            crate::client::autoconfig::PATH
                if host.split(':').next() == Some(&format!("autoconfig.{CLOUD_DOMAIN}")) =>
            {
                (200, "text/xml".into(), self.cloud_autoconfig_xml())
            }
            crate::client::autoconfig::PATH => match spec("autoconfig.") {
                Some(s) if s.autoconfig => (200, "text/xml".into(), self.autoconfig_xml(&s)),
                _ => not_found,
            },
            _ => not_found,
        }
    }

    /// The spec of domain `i`.
    pub fn domain(&self, i: u64) -> DomainSpec {
        let mut d = Draw::new(self.config.seed, STREAM_DOMAIN, i);
        let total = *self.cumulative.last().unwrap_or(&1);
        let x = d.next() % total;
        let provider = self.cumulative.partition_point(|c| *c <= x);
        let mx_count = self.providers[provider].mx.len();
        // The first five domains cover every mail kind, SPF and DMARC kind; the rest are drawn.
        // The first domains cover every mail kind and every extra; the rest are drawn.
        let specials = [
            Mail::Provider,
            Mail::NullMx,
            Mail::Implicit(0),
            Mail::NxDomain,
            Mail::ServFail,
            Mail::Cloud,
            Mail::Provider,
            Mail::Provider,
            Mail::Provider,
        ];
        let mail = match specials.get(i as usize) {
            Some(m) => *m,
            None => d.pick(&[
                (Mail::Provider, 70),
                (Mail::Cloud, 23),
                (Mail::NullMx, 2),
                (Mail::Implicit(0), 2),
                (Mail::NxDomain, 2),
                (Mail::ServFail, 1),
            ]),
        };
        let mail = match mail {
            Mail::Implicit(_) => Mail::Implicit((d.next() % mx_count as u64) as usize),
            m => m,
        };
        let spfs = [Spf::Strict, Spf::Soft, Spf::PassAll, Spf::Two, Spf::None];
        let spf = match spfs.get(i as usize) {
            Some(s) => *s,
            None => d.pick(&[(Spf::Strict, 35), (Spf::Soft, 30), (Spf::PassAll, 3), (Spf::Two, 4), (Spf::None, 28)]),
        };
        let dmarcs = [Dmarc::Reject, Dmarc::None, Dmarc::Monitor, Dmarc::Quarantine, Dmarc::Malformed];
        let dmarc = match dmarcs.get(i as usize) {
            Some(x) => *x,
            None => d.pick(&[
                (Dmarc::None, 40),
                (Dmarc::Monitor, 25),
                (Dmarc::Quarantine, 15),
                (Dmarc::Reject, 15),
                (Dmarc::Malformed, 5),
            ]),
        };
        // Rare, as on the internet (MTA-STS: about one domain in a thousand), and all served from one
        // hosting address: its queue is the world's busiest.
        let accepts = matches!(mail, Mail::Provider | Mail::Cloud | Mail::Implicit(_));
        let mta_sts = matches!(mail, Mail::Provider | Mail::Cloud) && (i == 5 || i % 1000 == 6);
        let autoconfig = accepts && i % 1000 == 7;
        let srv = accepts && i % 200 == 8;
        let bimi = BimiKind::of(i, mail);
        DomainSpec {
            index: i,
            name: format!("d{i}.{SUFFIX}"),
            provider,
            mail,
            spf,
            dmarc,
            mta_sts,
            autoconfig,
            srv,
            bimi,
        }
    }

    /// Every domain, in index order.
    pub fn domains(&self) -> impl Iterator<Item = DomainSpec> + '_ {
        (0..self.config.domains).map(|i| self.domain(i))
    }

    /// All MX hosts of all providers.
    pub fn mx_hosts(&self) -> impl Iterator<Item = &MxHost> {
        self.providers.iter().flat_map(|p| p.mx.iter())
    }

    /// The index of a domain name of this world.
    pub fn domain_index(&self, name: &str) -> Option<u64> {
        let i: u64 = name.strip_suffix(SUFFIX)?.strip_suffix('.')?.strip_prefix('d')?.parse().ok()?;
        (i < self.config.domains).then_some(i)
    }

    /// The MX host of a name `mx<k>.p<p>.test`.
    pub fn mx_host(&self, name: &str) -> Option<&MxHost> {
        let (label, p) = self.provider_name(name)?;
        let k: usize = label.strip_prefix("mx")?.parse().ok()?;
        self.providers.get(p)?.mx.get(k.checked_sub(1)?)
    }

    /// A name `<label>.p<p>.test` under a provider of this world: (label, p).
    fn provider_name<'a>(&self, name: &'a str) -> Option<(&'a str, usize)> {
        let (label, rest) = name.split_once('.')?;
        let p: usize = rest.strip_suffix(".test")?.strip_prefix('p')?.parse().ok()?;
        (p < self.providers.len()).then_some((label, p))
    }

    /// The ISP database files of this world: one per [`ProviderClients::Ispdb`] provider.
    pub fn ispdb_files(&self) -> Vec<(String, String)> {
        use crate::probe::client::Protocol;
        (0..self.providers.len())
            .filter(|p| ProviderClients::of(*p) == ProviderClients::Ispdb)
            .map(|p| {
                let d = provider_domain(p);
                let xml = format!(
                    r#"<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="{d}"><domain>{d}</domain><displayName>Provider {p}</displayName><incomingServer type="imap"><hostname>imap.{d}</hostname><port>{imaps}</port><socketType>SSL</socketType><authentication>password-cleartext</authentication></incomingServer><incomingServer type="pop3"><hostname>pop.{d}</hostname><port>{pop3}</port><socketType>plain</socketType><authentication>password-cleartext</authentication></incomingServer></emailProvider></clientConfig>"#,
                    imaps = self.config.client_port(Protocol::Imaps),
                    pop3 = self.config.client_port(Protocol::Pop3),
                );
                (format!("{d}.xml"), xml)
            })
            .collect()
    }

    /// The cloud provider's autoconfig file: IMAPS at `imap.cloud.test`, submission (STARTTLS) at
    /// `smtp.cloud.test`.
    pub fn cloud_autoconfig_xml(&self) -> String {
        use crate::probe::client::Protocol;
        format!(
            r#"<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="{CLOUD_DOMAIN}"><domain>{CLOUD_DOMAIN}</domain><incomingServer type="imap"><hostname>imap.{CLOUD_DOMAIN}</hostname><port>{imaps}</port><socketType>SSL</socketType><authentication>OAuth2</authentication></incomingServer><outgoingServer type="smtp"><hostname>smtp.{CLOUD_DOMAIN}</hostname><port>{sub}</port><socketType>STARTTLS</socketType><authentication>OAuth2</authentication></outgoingServer></emailProvider></clientConfig>"#,
            imaps = self.config.client_port(Protocol::Imaps),
            sub = self.config.client_port(Protocol::Submission),
        )
    }

    /// The SPF TXT records of a domain.
    pub fn spf_records(spec: &DomainSpec) -> Vec<String> {
        match spec.spf {
            Spf::Strict => vec![format!("v=spf1 include:_spf.p{}.{SUFFIX} -all", spec.provider)],
            Spf::Soft => vec!["v=spf1 mx ~all".into()],
            Spf::PassAll => vec!["v=spf1 +all".into()],
            Spf::Two => vec!["v=spf1 mx -all".into(), "v=spf1 a ~all".into()],
            Spf::None => Vec::new(),
        }
    }

    /// The DMARC TXT record of a domain, if any.
    pub fn dmarc_record(spec: &DomainSpec) -> Option<String> {
        match spec.dmarc {
            Dmarc::None => None,
            Dmarc::Monitor => Some(format!("v=DMARC1; p=none; rua=mailto:dmarc@{}", spec.name)),
            Dmarc::Quarantine => Some("v=DMARC1; p=quarantine; pct=50".into()),
            Dmarc::Reject => Some("v=DMARC1; p=reject; sp=reject; adkim=s".into()),
            Dmarc::Malformed => Some("v=DMARC1; p=block".into()),
        }
    }

    fn domain_answer(&self, spec: &DomainSpec, rtype: RecordType) -> Answer {
        match spec.mail {
            Mail::NxDomain => return Answer::Code(ResponseCode::NXDomain),
            Mail::ServFail => return Answer::Code(ResponseCode::ServFail),
            _ => {}
        }
        let provider = &self.providers[spec.provider];
        let records = match (rtype, spec.mail) {
            (RecordType::MX, Mail::Provider) => provider
                .mx
                .iter()
                .map(|m| {
                    RData::MX(MX::new(m.preference, Name::from_ascii(format!("{}.", m.name)).expect("valid name")))
                })
                .collect(),
            (RecordType::MX, Mail::NullMx) => vec![RData::MX(MX::new(0, Name::root()))],
            (RecordType::MX, Mail::Cloud) => {
                vec![RData::MX(MX::new(
                    10,
                    Name::from_ascii(format!("{}.", Self::cloud_host(spec))).expect("valid name"),
                ))]
            }
            (RecordType::A, Mail::Implicit(k)) => vec![RData::A(A::from(provider.mx[k].ip))],
            (RecordType::TXT, _) => {
                let mut txt: Vec<RData> =
                    Self::spf_records(spec).into_iter().map(|s| RData::TXT(TXT::new(vec![s]))).collect();
                if spec.index.is_multiple_of(3) {
                    txt.push(RData::TXT(TXT::new(vec![format!("site-verification={}", spec.index)])));
                }
                txt
            }
            _ => Vec::new(),
        };
        Answer::Records(records)
    }
}

/// The DKIM key the world's domains publish at `selector1` (RFC 6376 appendix C's 1024-bit example).
pub const DKIM_KEY: &str = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";

impl World {
    /// Does the domain publish a DKIM key (at `selector1`)? Three domains in four do.
    pub fn has_dkim(spec: &DomainSpec) -> bool {
        spec.index % 4 != 3
    }

    /// Answers under `<domain>._domainkey` and the providers' `_spf.p<k>` includes.
    fn policy_answer(&self, name: &str, rtype: RecordType) -> Option<Answer> {
        if let Some(k) =
            name.strip_prefix("_spf.p").and_then(|r| r.strip_suffix(SUFFIX)?.strip_suffix('.')?.parse::<usize>().ok())
        {
            let provider = self.providers.get(k)?;
            if rtype != RecordType::TXT {
                return Some(Answer::Records(Vec::new()));
            }
            let ips: String = provider.mx.iter().map(|m| format!(" ip4:{}", m.ip)).collect();
            return Some(Answer::Records(vec![RData::TXT(TXT::new(vec![format!("v=spf1{ips} -all")]))]));
        }
        let (selector, domain) = match name.strip_prefix("_domainkey.") {
            Some(d) => (None, d),
            None => {
                let (s, d) = name.split_once("._domainkey.")?;
                (Some(s), d)
            }
        };
        let spec = self.domain(self.domain_index(domain)?);
        Some(match spec.mail {
            Mail::ServFail => Answer::Code(ResponseCode::ServFail),
            Mail::NxDomain => Answer::Code(ResponseCode::NXDomain),
            _ if !Self::has_dkim(&spec) => Answer::Code(ResponseCode::NXDomain),
            _ => match selector {
                // `_domainkey.<domain>` is an empty non-terminal above the key.
                None => Answer::Records(Vec::new()),
                Some("selector1") if rtype == RecordType::TXT => {
                    Answer::Records(vec![RData::TXT(TXT::new(vec![DKIM_KEY.to_string()]))])
                }
                Some("selector1") => Answer::Records(Vec::new()),
                Some(_) => Answer::Code(ResponseCode::NXDomain),
            },
        })
    }
}

impl World {
    /// Answers for the names around a domain: its MTA-STS record and policy host, its autoconfig and
    /// mail hosts, its SRV records; and the cloud pool's vanity MX names.
    fn extra_answer(&self, name: &str, rtype: RecordType) -> Option<Answer> {
        use crate::probe::client::Protocol;
        let records = |v: Vec<RData>| Some(Answer::Records(v));
        let hosting = || vec![RData::A(A::from(self.hosting))];
        if let Some(vanity) = name.strip_suffix(CLOUD_SUFFIX).and_then(|v| v.strip_suffix('.')) {
            let spec = self.domain(self.domain_index(&vanity.replace('-', "."))?);
            if spec.mail != Mail::Cloud {
                return None;
            }
            return records(if rtype == RecordType::A {
                vec![RData::A(A::from(self.cloud_ip(spec.index)))]
            } else {
                vec![]
            });
        }
        let (label, rest) = name.split_once('.')?;
        let (label, domain) = match label {
            "_imaps" | "_submission" | "_pop3" | "_pop3s" | "_imap" | "_submissions" => {
                let d = rest.strip_prefix("_tcp.")?;
                (label, d)
            }
            _ => (label, rest),
        };
        let spec = self.domain(self.domain_index(domain)?);
        let a = |on: bool| if on { records(if rtype == RecordType::A { hosting() } else { vec![] }) } else { None };
        match label {
            "_mta-sts" if spec.mta_sts => records(if rtype == RecordType::TXT {
                vec![RData::TXT(TXT::new(vec![format!("v=STSv1; id={}", spec.index)]))]
            } else {
                vec![]
            }),
            "mta-sts" => a(spec.mta_sts),
            "autoconfig" => a(spec.autoconfig),
            "mail" => a(spec.has_mail_host()),
            // The SRV names exist only for the domains that publish them.
            "_tcp" if spec.srv => records(vec![]),
            "_imaps" | "_submission" if spec.srv => {
                let p = if label == "_imaps" { Protocol::Imaps } else { Protocol::Submission };
                let target = Name::from_ascii(format!("mail.{}.", spec.name)).expect("valid name");
                records(if rtype == RecordType::SRV {
                    vec![RData::SRV(SRV::new(0, 0, self.config.client_port(p), target))]
                } else {
                    vec![]
                })
            }
            _ => None,
        }
    }
}

impl World {
    /// Reverse names (`<d>.<c>.<b>.<a>.in-addr.arpa`), the cloud pool's outgoing names, and BIMI.
    fn reverse_and_bimi_answer(&self, name: &str, rtype: RecordType) -> Option<Answer> {
        use hickory_resolver::proto::rr::rdata::PTR;
        if let Some(rev) = name.strip_suffix(".in-addr.arpa") {
            let o: Vec<u8> = rev.split('.').map(|x| x.parse().ok()).collect::<Option<Vec<u8>>>()?;
            let [d, c, b, a] = o.as_slice() else { return None };
            return Some(match self.ptr_of(Ipv4Addr::new(*a, *b, *c, *d)) {
                (_, Some(host)) if rtype == RecordType::PTR => {
                    Answer::Records(vec![RData::PTR(PTR(Name::from_ascii(format!("{host}.")).expect("valid name")))])
                }
                (_, Some(_)) => Answer::Records(Vec::new()),
                (_, None) => Answer::Code(ResponseCode::NXDomain),
            });
        }
        if let Some(k) = name
            .strip_suffix(CLOUD_DOMAIN)
            .and_then(|p| p.strip_prefix("out")?.strip_suffix('.')?.parse::<usize>().ok())
        {
            let ip = *self.cloud.get(k)?;
            return Some(Answer::Records(if rtype == RecordType::A { vec![RData::A(A::from(ip))] } else { vec![] }));
        }
        let (bimi_host, domain) = match (name.strip_prefix("default._bimi."), name.strip_prefix("bimi.")) {
            (Some(d), _) => (false, d),
            (None, Some(d)) => (true, d),
            _ => return None,
        };
        let spec = self.domain(self.domain_index(domain)?);
        Some(match (spec.mail, Self::bimi_record(&spec)) {
            (Mail::ServFail, _) => Answer::Code(ResponseCode::ServFail),
            (_, None) => Answer::Code(ResponseCode::NXDomain),
            (_, Some(_)) if bimi_host && rtype == RecordType::A => {
                Answer::Records(vec![RData::A(A::from(self.hosting))])
            }
            (_, Some(r)) if !bimi_host && rtype == RecordType::TXT => {
                Answer::Records(vec![RData::TXT(TXT::new(vec![r]))])
            }
            _ => Answer::Records(Vec::new()),
        })
    }
}

impl Answerer for World {
    fn answer(&self, name: &str, rtype: RecordType) -> Answer {
        if let Some(a) = self.reverse_and_bimi_answer(name, rtype) {
            return a;
        }
        if let Some(a) = self.policy_answer(name, rtype) {
            return a;
        }
        if let Some(a) = self.extra_answer(name, rtype) {
            return a;
        }
        if let Some(i) = name.strip_prefix("_dmarc.").and_then(|d| self.domain_index(d)) {
            let spec = self.domain(i);
            return match (spec.mail, Self::dmarc_record(&spec)) {
                (Mail::NxDomain, _) | (_, None) => Answer::Code(ResponseCode::NXDomain),
                (_, Some(r)) if rtype == RecordType::TXT => Answer::Records(vec![RData::TXT(TXT::new(vec![r]))]),
                _ => Answer::Records(Vec::new()),
            };
        }
        if let Some(i) = self.domain_index(name) {
            return self.domain_answer(&self.domain(i), rtype);
        }
        if let Some(mx) = self.mx_host(name) {
            return Answer::Records(if rtype == RecordType::A { vec![RData::A(A::from(mx.ip))] } else { Vec::new() });
        }
        // The providers' mail-app names, and the cloud provider's settings and servers: at the
        // hosting address.
        let hosted = match (self.provider_name(name), name.strip_suffix(CLOUD_DOMAIN)) {
            (Some((label, p)), _) => matches!(
                (label, ProviderClients::of(p)),
                ("imap" | "smtp", ProviderClients::Names) | ("imap" | "pop", ProviderClients::Ispdb)
            ),
            (None, Some(prefix)) => matches!(prefix, "autoconfig." | "imap." | "smtp."),
            (None, None) => false,
        };
        if hosted {
            return Answer::Records(if rtype == RecordType::A {
                vec![RData::A(A::from(self.hosting))]
            } else {
                Vec::new()
            });
        }
        Answer::Code(ResponseCode::NXDomain)
    }
}

/// The address of the world's DNS server as an `IpAddr`.
pub fn dns_ip(config: &WorldConfig) -> IpAddr {
    IpAddr::V4(config.dns_ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> World {
        World::generate(WorldConfig { seed, domains: 500, providers: 12, ..Default::default() })
    }

    #[test]
    fn same_seed_same_world() {
        let (a, b) = (small(7), small(7));
        assert_eq!(a.providers, b.providers);
        assert!(a.domains().zip(b.domains()).all(|(x, y)| x == y));
        let c = small(8);
        assert!(a.domains().zip(c.domains()).any(|(x, y)| x != y), "another seed, another world");
    }

    #[test]
    fn policy_names_answer() {
        let w = small(3);
        let txt = |a: Answer| match a {
            Answer::Records(r) => r.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" "),
            other => format!("{other:?}"),
        };
        assert!(txt(w.answer(&format!("_spf.p0.{SUFFIX}"), RecordType::TXT)).contains("ip4:"));
        let with = w.domains().find(|d| d.mail == Mail::Provider && World::has_dkim(d)).unwrap();
        let without = w.domains().find(|d| d.mail == Mail::Provider && !World::has_dkim(d)).unwrap();
        assert!(txt(w.answer(&format!("selector1._domainkey.{}", with.name), RecordType::TXT)).contains("k=rsa"));
        assert_eq!(w.answer(&format!("_domainkey.{}", with.name), RecordType::TXT), Answer::Records(Vec::new()));
        assert_eq!(
            w.answer(&format!("google._domainkey.{}", with.name), RecordType::TXT),
            Answer::Code(ResponseCode::NXDomain)
        );
        assert_eq!(
            w.answer(&format!("_domainkey.{}", without.name), RecordType::TXT),
            Answer::Code(ResponseCode::NXDomain)
        );
    }

    #[test]
    fn every_kind_and_posture_appears() {
        let w = small(1);
        for kind in ProviderKind::ORDER {
            assert!(w.providers.iter().any(|p| p.kind == kind), "{kind:?}");
        }
        for posture in Posture::ALL {
            assert!(w.mx_hosts().any(|m| m.posture == *posture), "{posture:?}");
        }
        let domains: Vec<_> = w.domains().collect();
        for mail in [Mail::Provider, Mail::NullMx, Mail::NxDomain, Mail::ServFail] {
            assert!(domains.iter().any(|d| d.mail == mail), "{mail:?}");
        }
        assert!(domains.iter().any(|d| matches!(d.mail, Mail::Implicit(_))));
        for spf in [Spf::Strict, Spf::Soft, Spf::PassAll, Spf::Two, Spf::None] {
            assert!(domains.iter().any(|d| d.spf == spf), "{spf:?}");
        }
        for dmarc in [Dmarc::None, Dmarc::Monitor, Dmarc::Quarantine, Dmarc::Reject, Dmarc::Malformed] {
            assert!(domains.iter().any(|d| d.dmarc == dmarc), "{dmarc:?}");
        }
        assert!(w.providers.iter().all(|p| (1..=4).contains(&p.mx.len())));
    }

    #[test]
    fn reverse_dns_and_bimi_answer() {
        let w = small(3);
        let kinds: Vec<PtrKind> = w.mx_hosts().map(|m| w.ptr_of(m.ip).0).collect();
        for k in [PtrKind::Match, PtrKind::Mismatch, PtrKind::Missing] {
            assert!(kinds.contains(&k), "{k:?}");
        }
        let reverse = |ip: Ipv4Addr| {
            let [a, b, c, d] = ip.octets();
            w.answer(&format!("{d}.{c}.{b}.{a}.in-addr.arpa"), RecordType::PTR)
        };
        let matching = w.mx_hosts().find(|m| w.ptr_of(m.ip).0 == PtrKind::Match).unwrap();
        let Answer::Records(r) = reverse(matching.ip) else { panic!() };
        assert_eq!(r[0].to_string(), format!("{}.", matching.name));
        let missing = w.mx_hosts().find(|m| w.ptr_of(m.ip).0 == PtrKind::Missing).unwrap();
        assert_eq!(reverse(missing.ip), Answer::Code(ResponseCode::NXDomain));
        let Answer::Records(r) = reverse(w.cloud[1]) else { panic!() };
        assert_eq!(r[0].to_string(), "out1.cloud.test.");
        assert_eq!(w.answer("out1.cloud.test", RecordType::A), Answer::Records(vec![RData::A(A::from(w.cloud[1]))]));
        // Six in five thousand: a larger world has each kind.
        let large = World::generate(WorldConfig { seed: 3, domains: 20_000, providers: 12, ..Default::default() });
        let bimi: Vec<BimiKind> = large.domains().map(|d| d.bimi).collect();
        for k in
            [BimiKind::Valid, BimiKind::ScriptLogo, BimiKind::Expired, BimiKind::OtherLogo, BimiKind::NoCertificate]
        {
            assert!(bimi.contains(&k), "{k:?}");
        }
        let with = w.domains().find(|d| d.bimi == BimiKind::Valid).unwrap();
        assert!(
            matches!(w.answer(&format!("default._bimi.{}", with.name), RecordType::TXT), Answer::Records(r) if r.len() == 1)
        );
        let ca = crate::testkit::pki::TestCa::new("mark");
        let (status, _, pem) = w.bimi_answer(&format!("bimi.{}", with.name), "/vmc.pem", &ca).unwrap();
        assert!(status == 200 && pem.contains("BEGIN CERTIFICATE"));
        assert_eq!(w.bimi_answer("bimi.d0.world.test", "/logo.svg", &ca), None, "d0 publishes no BIMI");
    }

    #[test]
    fn addresses_are_distinct_loopback_and_skip_0_and_255() {
        let w = World::generate(WorldConfig { providers: 400, ..Default::default() });
        let ips: std::collections::HashSet<_> = w.mx_hosts().map(|m| m.ip).collect();
        assert_eq!(ips.len(), w.mx_hosts().count());
        assert!(ips.iter().all(|ip| ip.is_loopback() && ip.octets()[3] != 0 && ip.octets()[3] != 255));
        assert_eq!(nth_ip(Ipv4Addr::new(127, 64, 0, 1), 253), Ipv4Addr::new(127, 64, 0, 254));
        assert_eq!(nth_ip(Ipv4Addr::new(127, 64, 0, 1), 254), Ipv4Addr::new(127, 64, 1, 1));
    }

    #[test]
    fn dns_answers_follow_the_spec() {
        let w = small(3);
        let spec = w.domain(0);
        assert_eq!(spec.mail, Mail::Provider);
        let Answer::Records(mx) = w.answer(&spec.name, RecordType::MX) else { panic!() };
        assert_eq!(mx.len(), w.providers[spec.provider].mx.len());
        assert_eq!(w.answer("d3.world.test", RecordType::MX), Answer::Code(ResponseCode::NXDomain));
        assert_eq!(w.answer("d4.world.test", RecordType::TXT), Answer::Code(ResponseCode::ServFail));
        assert_eq!(w.answer("d500.world.test", RecordType::MX), Answer::Code(ResponseCode::NXDomain), "past the size");
        let host = &w.providers[1].mx[0];
        assert_eq!(w.answer(&host.name, RecordType::A), Answer::Records(vec![RData::A(A::from(host.ip))]));
        assert_eq!(w.answer(&host.name, RecordType::AAAA), Answer::Records(vec![]));
        assert_eq!(w.answer("_dmarc.d1.world.test", RecordType::TXT), Answer::Code(ResponseCode::NXDomain));
        assert!(matches!(w.answer("_dmarc.d0.world.test", RecordType::TXT), Answer::Records(r) if r.len() == 1));
        assert_eq!(w.answer("nothing.example", RecordType::A), Answer::Code(ResponseCode::NXDomain));
    }
}
