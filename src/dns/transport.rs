//! A DNS transport that keeps its sockets: a fixed pool of UDP sockets bound once at start, random
//! query IDs, responses matched on ID, question and server (late, foreign or mangled answers are
//! dropped), TCP when an answer is truncated, a timeout and retries per query, the run's query rate
//! (`--dns-qps`) and a cap on queries in flight applied to every query that leaves the scanner, and
//! the exclude list applied to every name asked.
//!
//! It implements hickory's [`DnsHandle`], so hickory's DNSSEC validator ([`DnssecDnsHandle`]) runs on
//! top of it unchanged, and its validation queries are paced and excluded like any other. No DNS
//! message is parsed or built by hand: requests and answers are hickory-proto's types.
//!
//! hickory-resolver opens a new UDP socket for every query (about seven syscalls, and a random port
//! that is sometimes taken); here a query costs one `sendto` and its share of a `recvfrom` loop.
//! The trade-off: the source ports are fixed for the run (a pool of [`SOCKETS`]), so an off-path
//! spoofer has the 16 bits of the query ID times the pool to guess, against 16 + ~15 bits with a
//! fresh port per query. Use a resolver on a path you trust (localhost, your own network), as a
//! measurement should anyway.
//!
//! [`DnssecDnsHandle`]: hickory_resolver::net::dnssec::DnssecDnsHandle

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::Stream;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::xfer::{DnsExchange, DnsHandle, FirstAnswer};
use hickory_resolver::proto::op::{DnsRequest, DnsResponse, Query};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{Semaphore, oneshot};

use crate::guard::ExcludeList;

/// UDP sockets in the pool.
pub const SOCKETS: usize = 8;
/// Queries in flight at once, over the pool (a burst beyond it waits, instead of overrunning the
/// resolver's buffers and coming back as timeouts).
pub const MAX_IN_FLIGHT: usize = 1024;
/// The largest answer read over TCP.
const MAX_TCP_ANSWER: usize = 65_535;
/// The UDP receive buffer asked for each socket.
const RECV_BUFFER: usize = 4 << 20;

/// The error of a query whose name is on the exclude list: nothing was sent.
pub const EXCLUDED: &str = "excluded: not queried";

/// What carries the queries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The socket-keeping pool (the default).
    #[default]
    Pool,
    /// hickory's own UDP client, which opens a socket for every query (as hickory-resolver does):
    /// kept to measure and compare the two (`--dns-backend hickory`).
    HickoryUdp,
}

/// Settings of the transport.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// What carries the queries.
    pub backend: Backend,
    /// The recursive resolvers, asked in turn (a retry goes to the next).
    pub servers: Vec<SocketAddr>,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// Attempts after the first.
    pub retries: usize,
    /// Queries per second, every query included.
    pub qps: u32,
    /// Names never queried.
    pub exclude: ExcludeList,
}

/// Counters of the transport.
#[derive(Debug, Default)]
pub struct TransportCounts {
    /// Queries sent (attempts; retries and TCP included).
    pub sent: AtomicU64,
    /// Attempts that timed out.
    pub timeouts: AtomicU64,
    /// Answers dropped: no query waits for their ID, or their question or server does not match.
    pub dropped: AtomicU64,
    /// Queries retried over TCP after a truncated answer.
    pub tcp: AtomicU64,
    /// Queries waiting for `--dns-qps` right now (a gauge, for the progress display).
    pub waiting_for_qps: AtomicU64,
}

/// Counts a query as waiting for the rate while it lives (a dropped wait is uncounted too).
struct QpsWait<'a>(&'a AtomicU64);

impl Drop for QpsWait<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Waiter {
    query: Query,
    server: SocketAddr,
    tx: oneshot::Sender<DnsResponse>,
}

struct Socket {
    socket: UdpSocket,
    pending: Mutex<HashMap<u16, Waiter>>,
}

struct Shared {
    config: TransportConfig,
    sockets: Vec<Arc<Socket>>,
    hickory: Vec<DnsExchange<TokioRuntimeProvider>>,
    next: AtomicUsize,
    limiter: DefaultDirectRateLimiter,
    in_flight: Semaphore,
    counts: Arc<TransportCounts>,
}

impl Shared {
    /// Waits for the run's query rate (`--dns-qps`), counted in `waiting_for_qps` while it waits.
    async fn pace(&self) {
        if self.limiter.check().is_ok() {
            return;
        }
        self.counts.waiting_for_qps.fetch_add(1, Ordering::Relaxed);
        let _counted = QpsWait(&self.counts.waiting_for_qps);
        self.limiter.until_ready().await;
    }
}

/// The socket-keeping transport (cheap to clone).
#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
    tasks: Arc<Vec<tokio::task::AbortHandle>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn bind(server: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = if server.is_ipv4() { "0.0.0.0:0".parse() } else { "[::]:0".parse() }
        .map_err(|_| io::Error::other("bad bind address"))?;
    let domain = if server.is_ipv4() { socket2::Domain::IPV4 } else { socket2::Domain::IPV6 };
    let s = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    let _ = s.set_recv_buffer_size(RECV_BUFFER);
    s.set_nonblocking(true)?;
    s.bind(&local.into())?;
    UdpSocket::from_std(s.into())
}

impl Transport {
    /// Binds the socket pool and starts its receivers (on the current tokio runtime).
    pub fn new(config: TransportConfig) -> io::Result<Self> {
        let first = *config.servers.first().ok_or_else(|| io::Error::other("no DNS server to ask"))?;
        let mut sockets = Vec::with_capacity(SOCKETS);
        let mut hickory = Vec::new();
        match config.backend {
            Backend::Pool => {
                for _ in 0..SOCKETS {
                    sockets.push(Arc::new(Socket { socket: bind(first)?, pending: Mutex::new(HashMap::new()) }));
                }
            }
            Backend::HickoryUdp => {
                for server in &config.servers {
                    let client = UdpClientStream::builder(*server, TokioRuntimeProvider::default())
                        .with_timeout(Some(config.timeout))
                        .with_max_retries(0);
                    hickory.push(client.exchange());
                }
            }
        }
        let counts = Arc::new(TransportCounts::default());
        let tasks = sockets.iter().map(|s| tokio::spawn(receive(s.clone(), counts.clone())).abort_handle()).collect();
        let qps = NonZeroU32::new(config.qps.max(1)).expect("max(1) is non-zero");
        Ok(Self {
            shared: Arc::new(Shared {
                limiter: RateLimiter::direct(Quota::per_second(qps)),
                config,
                sockets,
                hickory,
                next: AtomicUsize::new(0),
                in_flight: Semaphore::new(MAX_IN_FLIGHT),
                counts,
            }),
            tasks: Arc::new(tasks),
        })
    }

    /// The transport's counters.
    pub fn counts(&self) -> &TransportCounts {
        &self.shared.counts
    }

    /// Sends `request` and waits for its answer: UDP with retries, then TCP if the answer is truncated.
    pub async fn exchange(&self, request: DnsRequest) -> Result<DnsResponse, NetError> {
        let s = &self.shared;
        let query = request.queries.first().cloned().ok_or(NetError::Message("no query in request"))?;
        if s.config.exclude.covers_name(&query.name().to_ascii()) {
            return Err(NetError::Message(EXCLUDED));
        }
        let _slot = s.in_flight.acquire().await.map_err(|_| NetError::Message("transport closed"))?;
        if !s.hickory.is_empty() {
            return self.exchange_hickory(request).await;
        }
        let (mut message, _) = request.into_parts();
        let servers = &s.config.servers;
        for attempt in 0..=s.config.retries {
            s.pace().await;
            s.counts.sent.fetch_add(1, Ordering::Relaxed);
            let server = servers[attempt % servers.len()];
            let sock = &s.sockets[s.next.fetch_add(1, Ordering::Relaxed) % s.sockets.len()];
            let (tx, rx) = oneshot::channel();
            let id = {
                let mut pending = lock(&sock.pending);
                let mut id = rand::random::<u16>();
                while pending.contains_key(&id) {
                    id = rand::random::<u16>();
                }
                pending.insert(id, Waiter { query: query.clone(), server, tx });
                id
            };
            message.metadata.id = id;
            let bytes = message.to_vec()?;
            if let Err(e) = sock.socket.send_to(&bytes, server).await {
                lock(&sock.pending).remove(&id);
                if attempt == s.config.retries {
                    return Err(NetError::from(e));
                }
                continue;
            }
            match tokio::time::timeout(s.config.timeout, rx).await {
                Ok(Ok(response)) if response.metadata.truncation => {
                    s.counts.tcp.fetch_add(1, Ordering::Relaxed);
                    return self.exchange_tcp(&message, &query, server).await;
                }
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(_)) => return Err(NetError::Message("DNS receiver stopped")),
                Err(_) => {
                    lock(&sock.pending).remove(&id);
                    s.counts.timeouts.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Err(NetError::Timeout)
    }

    /// One exchange through hickory's UDP client (a socket per query), for comparison.
    async fn exchange_hickory(&self, request: DnsRequest) -> Result<DnsResponse, NetError> {
        let s = &self.shared;
        for attempt in 0..=s.config.retries {
            s.pace().await;
            s.counts.sent.fetch_add(1, Ordering::Relaxed);
            let client = &s.hickory[attempt % s.hickory.len()];
            match client.send(request.clone()).first_answer().await {
                Err(NetError::Timeout) => {
                    s.counts.timeouts.fetch_add(1, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        Err(NetError::Timeout)
    }

    /// One exchange over TCP (RFC 7766: a two-byte length before each message), bounded and timed.
    async fn exchange_tcp(
        &self,
        message: &hickory_resolver::proto::op::Message,
        query: &Query,
        server: SocketAddr,
    ) -> Result<DnsResponse, NetError> {
        let s = &self.shared;
        s.pace().await;
        s.counts.sent.fetch_add(1, Ordering::Relaxed);
        let exchange = async {
            let mut tcp = TcpStream::connect(server).await?;
            let bytes = message.to_vec()?;
            let len = u16::try_from(bytes.len()).map_err(|_| NetError::Message("query too long"))?;
            let mut out = len.to_be_bytes().to_vec();
            out.extend_from_slice(&bytes);
            tcp.write_all(&out).await?;
            let mut len = [0u8; 2];
            tcp.read_exact(&mut len).await?;
            let len = (u16::from_be_bytes(len) as usize).min(MAX_TCP_ANSWER);
            let mut buf = vec![0u8; len];
            tcp.read_exact(&mut buf).await?;
            let response = DnsResponse::from_buffer(buf)?;
            if response.metadata.id != message.metadata.id || !answers(&response, query) {
                return Err(NetError::Message("TCP answer does not match the question"));
            }
            Ok::<_, NetError>(response)
        };
        match tokio::time::timeout(s.config.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(NetError::Timeout),
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        if Arc::strong_count(&self.tasks) == 1 {
            for t in self.tasks.iter() {
                t.abort();
            }
        }
    }
}

/// Does `response` answer `query` (same name, any case; same type and class)?
fn answers(response: &DnsResponse, query: &Query) -> bool {
    // hickory's `Name` compares without regard to case.
    response.queries.first().is_some_and(|q| {
        q.query_type() == query.query_type() && q.query_class() == query.query_class() && q.name() == query.name()
    })
}

/// Reads one socket's answers and hands each to the query waiting for it.
async fn receive(sock: Arc<Socket>, counts: Arc<TransportCounts>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((n, from)) = sock.socket.recv_from(&mut buf).await else { continue };
        let Ok(response) = DnsResponse::from_buffer(buf[..n].to_vec()) else {
            counts.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let mut pending = lock(&sock.pending);
        let id = response.metadata.id;
        let matches = pending.get(&id).is_some_and(|w| w.server == from && answers(&response, &w.query));
        if !matches {
            counts.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if let Some(w) = pending.remove(&id) {
            let _ = w.tx.send(response);
        }
    }
}

impl DnsHandle for Transport {
    type Response = Pin<Box<dyn Stream<Item = Result<DnsResponse, NetError>> + Send>>;
    type Runtime = TokioRuntimeProvider;

    fn send(&self, request: DnsRequest) -> Self::Response {
        let this = self.clone();
        Box::pin(futures::stream::once(async move { this.exchange(request).await }))
    }
}

/// Is this error the transport's refusal to ask an excluded name?
pub fn is_excluded(e: &NetError) -> bool {
    matches!(e, NetError::Message(m) if *m == EXCLUDED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::{DnsRequestOptions, Message, MessageType};
    use hickory_resolver::proto::rr::rdata::A;
    use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
    use std::collections::HashSet;

    fn request(name: &str) -> DnsRequest {
        let q = Query::query(Name::from_ascii(name).unwrap(), RecordType::A);
        DnsRequest::from_query(q, DnsRequestOptions::default())
    }

    /// The answer to `query` (one A record), with `id`.
    fn answer(query: &Message, id: u16, name: Option<&str>, truncated: bool) -> Vec<u8> {
        let mut q = query.queries[0].clone();
        if let Some(n) = name {
            q = Query::query(Name::from_ascii(n).unwrap(), RecordType::A);
        }
        let mut r = Message::response(id, query.metadata.op_code);
        r.metadata.message_type = MessageType::Response;
        r.metadata.truncation = truncated;
        r.add_query(q.clone());
        if !truncated {
            r.add_answer(Record::from_rdata(q.name().clone(), 60, RData::A(A::new(192, 0, 2, 1))));
        }
        r.to_vec().unwrap()
    }

    fn config(server: SocketAddr, retries: usize) -> TransportConfig {
        TransportConfig {
            backend: Backend::Pool,
            servers: vec![server],
            timeout: Duration::from_millis(300),
            retries,
            qps: 100_000,
            exclude: ExcludeList::parse("excluded.example").unwrap(),
        }
    }

    #[tokio::test]
    async fn answers_are_matched_on_id_question_and_server() {
        let server = UdpSocket::bind("127.9.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let stranger = UdpSocket::bind("127.9.0.2:0").await.unwrap();
        let t = Transport::new(config(addr, 0)).unwrap();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            let q = Message::from_vec(&buf[..n]).unwrap();
            let id = q.metadata.id;
            // A wrong ID, the right ID for another question, the right answer from another address:
            // all dropped. Then the answer.
            server.send_to(&answer(&q, id.wrapping_add(1), None, false), from).await.unwrap();
            server.send_to(&answer(&q, id, Some("other.example."), false), from).await.unwrap();
            stranger.send_to(&answer(&q, id, None, false), from).await.unwrap();
            server.send_to(b"\x00\x01garbage", from).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            server.send_to(&answer(&q, id, None, false), from).await.unwrap();
        });
        let r = t.exchange(request("www.example.")).await.unwrap();
        assert_eq!(r.answers.len(), 1);
        task.await.unwrap();
        assert_eq!(t.counts().dropped.load(Ordering::Relaxed), 4);
        assert_eq!(t.counts().sent.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_lost_answer_is_asked_again_and_a_silent_server_times_out() {
        let server = UdpSocket::bind("127.9.0.3:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let t = Transport::new(config(addr, 1)).unwrap();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            let _ = server.recv_from(&mut buf).await.unwrap(); // dropped
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            let q = Message::from_vec(&buf[..n]).unwrap();
            server.send_to(&answer(&q, q.metadata.id, None, false), from).await.unwrap();
            server
        });
        assert!(t.exchange(request("www.example.")).await.is_ok());
        assert_eq!((t.counts().sent.load(Ordering::Relaxed), t.counts().timeouts.load(Ordering::Relaxed)), (2, 1));
        let _silent = task.await.unwrap();
        assert!(matches!(t.exchange(request("www.example.")).await, Err(NetError::Timeout)));
    }

    #[tokio::test]
    async fn a_truncated_answer_is_asked_again_over_tcp() {
        let server = UdpSocket::bind("127.9.0.4:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
        let t = Transport::new(config(addr, 0)).unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            let q = Message::from_vec(&buf[..n]).unwrap();
            server.send_to(&answer(&q, q.metadata.id, None, true), from).await.unwrap();
        });
        tokio::spawn(async move {
            let (mut s, _) = tcp.accept().await.unwrap();
            let mut len = [0u8; 2];
            s.read_exact(&mut len).await.unwrap();
            let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
            s.read_exact(&mut msg).await.unwrap();
            let q = Message::from_vec(&msg).unwrap();
            let a = answer(&q, q.metadata.id, None, false);
            let mut out = (a.len() as u16).to_be_bytes().to_vec();
            out.extend_from_slice(&a);
            s.write_all(&out).await.unwrap();
        });
        let r = t.exchange(request("big.example.")).await.unwrap();
        assert_eq!(r.answers.len(), 1);
        assert_eq!(t.counts().tcp.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn excluded_names_are_never_sent_and_sockets_are_kept() {
        let server = UdpSocket::bind("127.9.0.5:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let t = Transport::new(config(addr, 0)).unwrap();
        let e = t.exchange(request("mx.excluded.example.")).await.unwrap_err();
        assert!(is_excluded(&e));
        assert_eq!(t.counts().sent.load(Ordering::Relaxed), 0);
        let ports = tokio::spawn(async move {
            let mut ports = HashSet::new();
            let mut buf = [0u8; 1500];
            for _ in 0..100 {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                ports.insert(from.port());
                let q = Message::from_vec(&buf[..n]).unwrap();
                server.send_to(&answer(&q, q.metadata.id, None, false), from).await.unwrap();
            }
            ports
        });
        let asks = (0..100).map(|i| t.exchange(request(&format!("h{i}.example."))));
        assert!(futures::future::join_all(asks).await.iter().all(Result::is_ok));
        let ports = ports.await.unwrap();
        assert!(ports.len() <= SOCKETS, "100 queries from {} source ports", ports.len());
    }
}
