//! An in-process authoritative DNS server on a loopback address (UDP and TCP, same port), with
//! fault injection: NXDOMAIN, NODATA, SERVFAIL, REFUSED and dropped queries (for timeouts).
//!
//! Names are answered from a [`Zone`] held in memory; a name with no records of the asked type but
//! with records of another type (or listed with [`Zone::exists`]) is NODATA, any other name NXDOMAIN.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hickory_resolver::proto::dnssec::crypto::EcdsaSigningKey;
use hickory_resolver::proto::dnssec::rdata::{DNSKEY, DNSSECRData, NSEC, RRSIG};
use hickory_resolver::proto::dnssec::{Algorithm, DnssecSigner, SigningKey};
use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, MX, SOA, SRV, TLSA, TXT};
use hickory_resolver::proto::rr::{DNSClass, RecordSet};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

/// What the server does for every query at a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer SERVFAIL.
    ServFail,
    /// Answer REFUSED.
    Refused,
    /// Never answer (the client times out).
    Drop,
    /// Answer SERVFAIL to the first this-many queries at the name, then answer from the zone.
    ServFailFirst(u32),
    /// Drop the first this-many queries at the name, then answer from the zone.
    DropFirst(u32),
}

/// What the server answers for one (name, type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// These records (empty: NODATA).
    Records(Vec<RData>),
    /// This response code with no records (NXDOMAIN, SERVFAIL, REFUSED).
    Code(ResponseCode),
    /// No response at all.
    Drop,
}

/// Anything that can answer queries: a stored [`Zone`], or a generator such as the simulated world.
pub trait Answerer: Send + Sync + 'static {
    /// The answer for `name` (lowercase, no trailing dot) and `rtype`.
    fn answer(&self, name: &str, rtype: RecordType) -> Answer;
}

impl<A: Answerer> Answerer for Arc<A> {
    fn answer(&self, name: &str, rtype: RecordType) -> Answer {
        (**self).answer(name, rtype)
    }
}

/// Signs the answers under one zone apex with an ECDSA P-256 key (RFC 6605), so that a validating
/// resolver given [`ZoneSigner::trust_anchor`] sees them as secure. Names marked with
/// [`ZoneSigner::tamper`] get a signature over another owner name: bogus.
///
/// Negative answers are proven with minimal NSEC records made on the fly, as online signers do
/// (RFC 4470): NODATA with an NSEC at the name listing no other type, NXDOMAIN with one NSEC from
/// the apex to the last possible name under it, which covers both the name and the apex wildcard.
pub struct ZoneSigner {
    apex: Name,
    signer: DnssecSigner,
    dnskey: DNSKEY,
    tampered: HashSet<String>,
}

impl ZoneSigner {
    /// A fresh key for the zone at `apex`.
    pub fn new(apex: &str) -> Self {
        let pkcs8 = EcdsaSigningKey::generate_pkcs8(Algorithm::ECDSAP256SHA256).expect("P-256 key");
        let key = EcdsaSigningKey::from_pkcs8(&pkcs8, Algorithm::ECDSAP256SHA256).expect("P-256 key");
        let public = key.to_public_key().expect("public key");
        let dnskey = DNSKEY::new(true, true, false, public);
        let apex = fqdn(apex);
        let signer =
            DnssecSigner::new(dnskey.clone(), Box::new(key), apex.clone(), std::time::Duration::from_secs(86_400));
        Self { apex, signer, dnskey, tampered: HashSet::new() }
    }

    /// The trust anchor, as a line of a `--trust-anchor` file (`<apex> 3600 IN DNSKEY ...`).
    pub fn trust_anchor(&self) -> String {
        format!("{} 3600 IN DNSKEY {}\n", self.apex, self.dnskey)
    }

    /// Answers at `name` get a signature that does not verify.
    pub fn tamper(&mut self, name: &str) -> &mut Self {
        self.tampered.insert(key(name));
        self
    }

    fn covers(&self, name: &Name) -> bool {
        self.apex.zone_of(name)
    }

    /// The NSEC records (with their RRSIGs) proving that `name` has no `rtype` (`nxdomain`: no name).
    fn deny(&self, name: &Name, nxdomain: bool) -> Vec<Record> {
        let (owner, next, types) = if nxdomain {
            let last = Name::from_labels(std::iter::once(vec![0xffu8; 63]).chain(self.apex.iter().map(<[u8]>::to_vec)));
            let types = [RecordType::SOA, RecordType::NS, RecordType::DNSKEY, RecordType::RRSIG, RecordType::NSEC];
            (self.apex.clone(), last.ok(), types.to_vec())
        } else {
            let next = Name::from_labels(std::iter::once(vec![0u8]).chain(name.iter().map(<[u8]>::to_vec)));
            (name.clone(), next.ok(), vec![RecordType::RRSIG, RecordType::NSEC])
        };
        let Some(mut next) = next else { return Vec::new() };
        next.set_fqdn(true);
        let nsec = Record::from_rdata(owner.clone(), 60, RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(next, types))));
        let sig = self.sign(&owner, RecordType::NSEC, std::slice::from_ref(&nsec));
        std::iter::once(nsec).chain(sig).collect()
    }

    /// The RRSIG over `records` (all of one name and type).
    fn sign(&self, name: &Name, rtype: RecordType, records: &[Record]) -> Option<Record> {
        let owner = if self.tampered.contains(&key(&name.to_ascii())) {
            Name::from_ascii(format!("tampered.{}", self.apex)).ok()?
        } else {
            name.clone()
        };
        let mut set = RecordSet::new(owner.clone(), rtype, 0);
        for r in records {
            let mut r = r.clone();
            r.name = owner.clone();
            set.insert(r, 0);
        }
        let inception = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        let rrsig = RRSIG::from_rrset(&set, DNSClass::IN, inception, &self.signer).ok()?;
        Some(Record::from_rdata(name.clone(), 60, RData::DNSSEC(DNSSECRData::RRSIG(rrsig))))
    }
}

/// The wire response of `answerer` to a wire query; `None` to stay silent.
pub fn respond(answerer: &dyn Answerer, query: &[u8]) -> Option<Vec<u8>> {
    respond_signed(answerer, None, query)
}

/// [`respond`], with the answers under `signer`'s apex signed.
pub fn respond_signed(answerer: &dyn Answerer, signer: Option<&ZoneSigner>, query: &[u8]) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    if q.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut resp = Message::response(q.metadata.id, q.metadata.op_code);
    resp.metadata.recursion_desired = q.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    resp.metadata.authoritative = true;
    if let Some(edns) = &q.edns {
        resp.set_edns(edns.clone());
    }
    let Some(question) = q.queries.first().cloned() else {
        resp.metadata.response_code = ResponseCode::FormErr;
        return resp.to_vec().ok();
    };
    let name = key(&question.name().to_ascii());
    resp.add_query(question.clone());
    let signer = signer.filter(|s| s.covers(question.name()));
    // Asked of the answerer in every case, so that a logging answerer sees every query.
    let from_zone = answerer.answer(&name, question.query_type());
    let answer = match signer {
        Some(s) if question.query_type() == RecordType::DNSKEY && *question.name() == s.apex => {
            Answer::Records(vec![RData::DNSSEC(DNSSECRData::DNSKEY(s.dnskey.clone()))])
        }
        _ => from_zone,
    };
    let negative = match answer {
        Answer::Records(records) => {
            let empty = records.is_empty();
            let records: Vec<Record> =
                records.into_iter().map(|data| Record::from_rdata(question.name().clone(), 60, data)).collect();
            // Signed by the records' own type (an alias answers other types with its CNAME).
            let rtype = records.first().map_or(question.query_type(), Record::record_type);
            let rrsig = signer.filter(|_| !empty).and_then(|s| s.sign(question.name(), rtype, &records));
            for r in records.into_iter().chain(rrsig) {
                resp.add_answer(r);
            }
            empty
        }
        Answer::Code(code) => {
            resp.metadata.response_code = code;
            code == ResponseCode::NXDomain
        }
        Answer::Drop => return None,
    };
    if negative {
        // As real authoritative servers do: the zone's SOA in the authority section, so that
        // resolvers cache the negative answer (RFC 2308) for the SOA minimum.
        let apex = signer.map_or_else(|| question.name().trim_to(2), |s| s.apex.clone());
        let soa = SOA::new(
            Name::from_ascii("ns.invalid.").expect("valid"),
            Name::from_ascii("hostmaster.invalid.").expect("valid"),
            1,
            3600,
            600,
            86400,
            60,
        );
        let soa = Record::from_rdata(apex.clone(), 60, RData::SOA(soa));
        let signed = signer.map(|s| {
            let sig = s.sign(&apex, RecordType::SOA, std::slice::from_ref(&soa));
            let nxdomain = resp.metadata.response_code == ResponseCode::NXDomain;
            sig.into_iter().chain(s.deny(question.name(), nxdomain)).collect::<Vec<_>>()
        });
        resp.add_authority(soa);
        for r in signed.into_iter().flatten() {
            resp.add_authority(r);
        }
    }
    resp.to_vec().ok()
}

/// The records and faults the server answers from.
#[derive(Clone, Debug, Default)]
pub struct Zone {
    records: HashMap<(String, RecordType), Vec<RData>>,
    names: HashSet<String>,
    faults: HashMap<String, Fault>,
    /// Queries seen per faulty name (for the faults that pass).
    seen: Arc<std::sync::Mutex<HashMap<String, u32>>>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn fqdn(name: &str) -> Name {
    Name::from_ascii(format!("{}.", key(name))).expect("valid test name")
}

impl Zone {
    /// An empty zone: every name is NXDOMAIN.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&mut self, name: &str, rtype: RecordType, data: RData) -> &mut Self {
        self.exists(name);
        self.records.entry((key(name), rtype)).or_default().push(data);
        self
    }

    /// Declares that `name` exists (so other types are NODATA rather than NXDOMAIN).
    pub fn exists(&mut self, name: &str) -> &mut Self {
        // Its ancestors exist too, as empty non-terminals: NODATA, never NXDOMAIN (RFC 8020).
        let k = key(name);
        let mut rest = k.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            self.names.insert(parent.to_string());
            rest = parent;
        }
        self.names.insert(k);
        self
    }

    /// An MX record; `host` `.` makes the null MX.
    pub fn mx(&mut self, name: &str, preference: u16, host: &str) -> &mut Self {
        let exchange = if host == "." { Name::root() } else { fqdn(host) };
        self.add(name, RecordType::MX, RData::MX(MX::new(preference, exchange)))
    }

    /// An A record.
    pub fn a(&mut self, name: &str, ip: Ipv4Addr) -> &mut Self {
        self.add(name, RecordType::A, RData::A(A::from(ip)))
    }

    /// An AAAA record.
    pub fn aaaa(&mut self, name: &str, ip: Ipv6Addr) -> &mut Self {
        self.add(name, RecordType::AAAA, RData::AAAA(AAAA::from(ip)))
    }

    /// An A or AAAA record.
    pub fn addr(&mut self, name: &str, ip: IpAddr) -> &mut Self {
        match ip {
            IpAddr::V4(v4) => self.a(name, v4),
            IpAddr::V6(v6) => self.aaaa(name, v6),
        }
    }

    /// A TXT record; text over 255 bytes is split into several character-strings.
    pub fn txt(&mut self, name: &str, text: &str) -> &mut Self {
        let chunks: Vec<String> =
            text.as_bytes().chunks(255).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
        let chunks = if chunks.is_empty() { vec![String::new()] } else { chunks };
        self.add(name, RecordType::TXT, RData::TXT(TXT::new(chunks)))
    }

    /// An SRV record (RFC 2782); `target` `.` says the service is not offered.
    pub fn srv(&mut self, name: &str, priority: u16, port: u16, target: &str) -> &mut Self {
        let target = if target == "." { Name::root() } else { fqdn(target) };
        self.add(name, RecordType::SRV, RData::SRV(SRV::new(priority, 0, port, target)))
    }

    /// A TLSA record (RFC 6698): usage, selector, matching type and association data.
    pub fn tlsa(&mut self, name: &str, usage: u8, selector: u8, matching: u8, data: Vec<u8>) -> &mut Self {
        let t = TLSA::new(usage.into(), selector.into(), matching.into(), data);
        self.add(name, RecordType::TLSA, RData::TLSA(t))
    }

    /// A PTR record for `ip` (at its `in-addr.arpa` or `ip6.arpa` name) naming `host`.
    pub fn ptr(&mut self, ip: IpAddr, host: &str) -> &mut Self {
        let name = Name::from(ip).to_ascii();
        self.add(&name, RecordType::PTR, RData::PTR(hickory_resolver::proto::rr::rdata::PTR(fqdn(host))))
    }

    /// The name reverse lookups of `ip` ask for.
    pub fn reverse_name(ip: IpAddr) -> String {
        key(&Name::from(ip).to_ascii())
    }

    /// A CNAME from `name` to `target` (answered for every type asked at `name`).
    pub fn cname(&mut self, name: &str, target: &str) -> &mut Self {
        self.add(name, RecordType::CNAME, RData::CNAME(hickory_resolver::proto::rr::rdata::CNAME(fqdn(target))))
    }

    /// Every query at `name` gets `fault`.
    pub fn fault(&mut self, name: &str, fault: Fault) -> &mut Self {
        if let Some((_, parent)) = key(name).split_once('.') {
            self.exists(parent);
        }
        self.faults.insert(key(name), fault);
        self
    }
}

impl Answerer for Zone {
    fn answer(&self, name: &str, rtype: RecordType) -> Answer {
        let k = key(name);
        match self.faults.get(&k) {
            Some(Fault::ServFail) => return Answer::Code(ResponseCode::ServFail),
            Some(Fault::Refused) => return Answer::Code(ResponseCode::Refused),
            Some(Fault::Drop) => return Answer::Drop,
            Some(Fault::ServFailFirst(n) | Fault::DropFirst(n)) => {
                let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                let count = seen.entry(k.clone()).or_default();
                *count += 1;
                if *count <= *n {
                    return match self.faults.get(&k) {
                        Some(Fault::DropFirst(_)) => Answer::Drop,
                        _ => Answer::Code(ResponseCode::ServFail),
                    };
                }
            }
            None => {}
        }
        if let Some(records) = self.records.get(&(k.clone(), rtype)) {
            return Answer::Records(records.clone());
        }
        // An alias answers every type with itself (the client follows it).
        if let Some(alias) = self.records.get(&(k.clone(), RecordType::CNAME)) {
            return Answer::Records(alias.clone());
        }
        if self.names.contains(&k) { Answer::Records(Vec::new()) } else { Answer::Code(ResponseCode::NXDomain) }
    }
}

/// Records every name asked, for tests that must prove a name was never queried.
#[derive(Clone, Debug, Default)]
pub struct QueryLog(Arc<std::sync::Mutex<Asked>>);

#[derive(Debug, Default)]
struct Asked {
    names: HashSet<String>,
    /// How many queries each name got.
    counts: HashMap<String, usize>,
    /// When each query arrived (in order).
    times: Vec<std::time::Instant>,
}

impl QueryLog {
    /// Was `name` (any case, with or without the trailing dot) asked for?
    pub fn asked(&self, name: &str) -> bool {
        self.0.lock().map(|n| n.names.contains(&key(name))).unwrap_or(false)
    }

    /// How many queries `name` got (any type).
    pub fn times_asked(&self, name: &str) -> usize {
        self.0.lock().map(|n| n.counts.get(&key(name)).copied().unwrap_or(0)).unwrap_or(0)
    }

    /// Every name asked for that ends with `suffix`.
    pub fn asked_under(&self, suffix: &str) -> Vec<String> {
        let suffix = key(suffix);
        self.0.lock().map(|n| n.names.iter().filter(|q| q.ends_with(&suffix)).cloned().collect()).unwrap_or_default()
    }

    /// The most queries that arrived within any `window`.
    pub fn peak(&self, window: std::time::Duration) -> usize {
        let times = self.0.lock().map(|n| n.times.clone()).unwrap_or_default();
        let mut start = 0;
        let mut best = 0;
        for (i, t) in times.iter().enumerate() {
            while t.duration_since(times[start]) >= window {
                start += 1;
            }
            best = best.max(i + 1 - start);
        }
        best
    }

    /// How many queries arrived.
    pub fn count(&self) -> usize {
        self.0.lock().map(|n| n.times.len()).unwrap_or(0)
    }
}

/// An answerer that logs the names it is asked for.
pub struct Logged<A> {
    /// The answerer.
    pub inner: A,
    /// The log.
    pub log: QueryLog,
}

impl<A: Answerer> Answerer for Logged<A> {
    fn answer(&self, name: &str, rtype: RecordType) -> Answer {
        if let Ok(mut asked) = self.log.0.lock() {
            asked.names.insert(key(name));
            *asked.counts.entry(key(name)).or_default() += 1;
            asked.times.push(std::time::Instant::now());
        }
        self.inner.answer(name, rtype)
    }
}

/// A running test DNS server.
pub struct FakeDns {
    addr: SocketAddr,
    queries: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl FakeDns {
    /// Serves `answerer` (a [`Zone`], or a generator) on `ip`, UDP and TCP on one free port.
    pub async fn spawn(ip: IpAddr, answerer: impl Answerer) -> io::Result<Self> {
        Self::spawn_at(SocketAddr::new(ip, 0), answerer).await
    }

    /// Serves `answerer` at `addr` (port 0: a free port, the same for UDP and TCP).
    pub async fn spawn_at(addr: SocketAddr, answerer: impl Answerer) -> io::Result<Self> {
        Self::spawn_signed(addr, answerer, None).await
    }

    /// Serves `answerer` at `addr`, signing what falls under `signer`'s zone.
    pub async fn spawn_signed(
        addr: SocketAddr,
        answerer: impl Answerer,
        signer: Option<ZoneSigner>,
    ) -> io::Result<Self> {
        let zone: Arc<dyn Answerer> = Arc::new(answerer);
        let signer = signer.map(Arc::new);
        let queries = Arc::new(AtomicU64::new(0));
        let mut last_err = None;
        for _ in 0..20 {
            let udp = udp_socket(addr)?;
            let addr = udp.local_addr()?;
            match TcpListener::bind(addr).await {
                Ok(tcp) => {
                    let tasks = vec![
                        tokio::spawn(serve_udp(udp, zone.clone(), signer.clone(), queries.clone())),
                        tokio::spawn(serve_tcp(tcp, zone.clone(), signer.clone(), queries.clone())),
                    ];
                    return Ok(Self { addr, queries, tasks });
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no free port")))
    }

    /// The server's address, for `--resolver`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queries received so far.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A UDP socket with a 4 MiB receive buffer (the default drops queries under load).
fn udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    let domain = if addr.is_ipv4() { socket2::Domain::IPV4 } else { socket2::Domain::IPV6 };
    let s = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    let _ = s.set_recv_buffer_size(4 << 20);
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    UdpSocket::from_std(s.into())
}

async fn serve_udp(
    socket: UdpSocket,
    zone: Arc<dyn Answerer>,
    signer: Option<Arc<ZoneSigner>>,
    queries: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        queries.fetch_add(1, Ordering::Relaxed);
        if let Some(resp) = respond_signed(&*zone, signer.as_deref(), &buf[..n]) {
            let _ = socket.send_to(&resp, peer).await;
        }
    }
}

async fn serve_tcp(
    listener: TcpListener,
    zone: Arc<dyn Answerer>,
    signer: Option<Arc<ZoneSigner>>,
    queries: Arc<AtomicU64>,
) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let (zone, signer, queries) = (zone.clone(), signer.clone(), queries.clone());
        tokio::spawn(async move {
            loop {
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
                if stream.read_exact(&mut msg).await.is_err() {
                    return;
                }
                queries.fetch_add(1, Ordering::Relaxed);
                if let Some(resp) = respond_signed(&*zone, signer.as_deref(), &msg) {
                    let mut out = (resp.len() as u16).to_be_bytes().to_vec();
                    out.extend_from_slice(&resp);
                    if stream.write_all(&out).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}
