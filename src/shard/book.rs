//! The probes of a sharded scan as data: what a DNS shard wants probed ([`Want`]), what a probe
//! shard found ([`Entry`]), and the book a DNS shard replays them from ([`Book`]).
//!
//! Files are gzip-compressed JSON lines, one want or one result a line, so that they stream and can
//! be read with `zcat | jq`.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::probe::client::{ClientReport, Protocol};
use crate::probe::https::{FetchError, HttpsResponse};
use crate::probe::smtp::ProbeReport;
use crate::scan::runner::{ProbeSource, Probed};

/// One connection a domain needs: the key of the probe runner's job.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Want {
    /// The SMTP probe of an MX host at an address.
    Smtp {
        /// The MX host name.
        host: String,
        /// The address.
        ip: IpAddr,
    },
    /// The probe of a mail app's endpoint at an address.
    Client {
        /// The protocol.
        protocol: Protocol,
        /// The endpoint's host name.
        host: String,
        /// Its port.
        port: u16,
        /// The address.
        ip: IpAddr,
    },
    /// An HTTPS GET.
    Fetch {
        /// The host name (SNI and Host header).
        host: String,
        /// The address.
        ip: IpAddr,
        /// The path.
        path: String,
        /// The body size limit.
        max_body: usize,
    },
}

impl Want {
    /// The destination address: what decides the probe shard.
    pub fn ip(&self) -> IpAddr {
        match self {
            Self::Smtp { ip, .. } | Self::Client { ip, .. } | Self::Fetch { ip, .. } => *ip,
        }
    }

    /// The want whose probe gave a shared-address answer (`from` at the same address and port).
    pub fn with_host(&self, from: &str) -> Self {
        let mut w = self.clone();
        match &mut w {
            Self::Smtp { host, .. } | Self::Client { host, .. } | Self::Fetch { host, .. } => *host = from.to_string(),
        }
        w
    }
}

/// An HTTPS answer as the book keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchRecord {
    /// A response (the body base64-encoded).
    Response {
        /// The status.
        status: u16,
        /// `Content-Type`.
        content_type: Option<String>,
        /// The body, base64.
        body: String,
    },
    /// The fetch failed.
    Error(FetchError),
}

impl FetchRecord {
    /// The book's form of a fetch result.
    pub fn from_result(r: &Result<HttpsResponse, FetchError>) -> Self {
        use base64::Engine;
        match r {
            Ok(resp) => Self::Response {
                status: resp.status,
                content_type: resp.content_type.clone(),
                body: base64::engine::general_purpose::STANDARD.encode(&resp.body),
            },
            Err(e) => Self::Error(e.clone()),
        }
    }

    /// The fetch result again.
    pub fn to_result(&self) -> Result<HttpsResponse, FetchError> {
        use base64::Engine;
        match self {
            Self::Response { status, content_type, body } => Ok(HttpsResponse {
                status: *status,
                content_type: content_type.clone(),
                body: base64::engine::general_purpose::STANDARD.decode(body).unwrap_or_default(),
            }),
            Self::Error(e) => Err(e.clone()),
        }
    }
}

/// What a probe shard found for one want.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Found {
    /// An SMTP probe's report.
    Smtp(Arc<ProbeReport>),
    /// A client probe's report.
    Client(Arc<ClientReport>),
    /// An HTTPS fetch.
    Fetch(FetchRecord),
    /// No connection for this name: the address answers every name alike, and the answer is that of
    /// the probe of `from` (its entry is in the same file), judged for this name.
    SharedAddress {
        /// The host name whose probe gave the facts.
        from: String,
    },
}

/// One line of a book file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// What was asked.
    pub want: Want,
    /// What was found.
    pub found: Found,
}

/// Writes JSON lines, gzip-compressed, to `out`.
pub fn write_lines<T: Serialize>(out: impl Write, items: impl IntoIterator<Item = T>) -> std::io::Result<u64> {
    let mut gz = GzEncoder::new(std::io::BufWriter::new(out), Compression::fast());
    let mut n = 0;
    for item in items {
        serde_json::to_writer(&mut gz, &item)?;
        gz.write_all(b"\n")?;
        n += 1;
    }
    gz.finish()?.flush()?;
    Ok(n)
}

/// Reads gzip-compressed JSON lines; a line that does not read is an error naming its number.
pub fn read_lines<T: for<'de> Deserialize<'de>>(bytes: &[u8], mut each: impl FnMut(T)) -> Result<u64, String> {
    let reader = BufReader::new(MultiGzDecoder::new(bytes));
    let mut n = 0;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
        if line.is_empty() {
            continue;
        }
        each(serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", i + 1))?);
        n += 1;
    }
    Ok(n)
}

/// The probe results a DNS shard replays, and the wants it collects for what is not in it yet.
#[derive(Default)]
pub struct Book {
    found: HashMap<Want, Found>,
    wants: Mutex<HashSet<Want>>,
    served: Mutex<HashSet<Want>>,
}

/// What the book says about a want.
pub enum Lookup<R> {
    /// The answer, as the runner would have given it.
    Known(Probed<R>),
    /// Not probed yet: recorded as wanted.
    Wanted,
}

impl Book {
    /// A book of these entries.
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> Self {
        Self { found: entries.into_iter().map(|e| (e.want, e.found)).collect(), ..Self::default() }
    }

    /// Results in the book.
    pub fn len(&self) -> usize {
        self.found.len()
    }

    /// The book holds no result.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The wants collected so far (and forgets them).
    pub fn take_wants(&self) -> Vec<Want> {
        let mut v: Vec<Want> = std::mem::take(&mut *lock(&self.wants)).into_iter().collect();
        v.sort();
        v
    }

    fn want(&self, want: Want) {
        lock(&self.wants).insert(want);
    }

    /// The first asker of a want gets `own`, later ones `cache`, as in a single run.
    fn source(&self, want: &Want) -> (ProbeSource, bool) {
        if lock(&self.served).insert(want.clone()) { (ProbeSource::Own, false) } else { (ProbeSource::Cache, true) }
    }

    fn lookup<R: Clone>(
        &self,
        want: Want,
        report: impl Fn(&Found) -> Option<Arc<R>>,
        for_name: impl Fn(&R, &str) -> R,
        host: &str,
    ) -> Lookup<R> {
        match self.found.get(&want) {
            None => {
                self.want(want);
                Lookup::Wanted
            }
            Some(Found::SharedAddress { from }) => match self.found.get(&want.with_host(from)).and_then(&report) {
                Some(r) => Lookup::Known(Probed {
                    report: Arc::new(for_name(&r, host)),
                    source: ProbeSource::SharedAddress,
                    source_host: Some(from.clone()),
                    cached: false,
                }),
                // A book without its source entry: probe it again.
                None => {
                    self.want(want);
                    Lookup::Wanted
                }
            },
            Some(found) => match report(found) {
                Some(r) => {
                    let (source, cached) = self.source(&want);
                    Lookup::Known(Probed { report: r, source, source_host: None, cached })
                }
                None => {
                    self.want(want);
                    Lookup::Wanted
                }
            },
        }
    }

    /// The SMTP probe of `host` at `ip`.
    pub fn smtp(&self, host: &str, ip: IpAddr) -> Lookup<ProbeReport> {
        let want = Want::Smtp { host: host.to_string(), ip };
        let report = |f: &Found| match f {
            Found::Smtp(r) => Some(r.clone()),
            _ => None,
        };
        let for_name = |r: &ProbeReport, host: &str| {
            let mut d = r.clone();
            d.tls = r.tls.as_ref().map(|t| t.for_name(host));
            d
        };
        self.lookup(want, report, for_name, host)
    }

    /// The probe of a client endpoint at `ip`.
    pub fn client(&self, protocol: Protocol, host: &str, port: u16, ip: IpAddr) -> Lookup<ClientReport> {
        let want = Want::Client { protocol, host: host.to_string(), port, ip };
        let report = |f: &Found| match f {
            Found::Client(r) => Some(r.clone()),
            _ => None,
        };
        let for_name = |r: &ClientReport, host: &str| {
            let mut d = r.clone();
            d.tls = r.tls.as_ref().map(|t| t.for_name(host));
            d
        };
        self.lookup(want, report, for_name, host)
    }

    /// An HTTPS fetch.
    pub fn fetch(
        &self,
        host: &str,
        ip: IpAddr,
        path: &str,
        max_body: usize,
    ) -> Option<Result<HttpsResponse, FetchError>> {
        let want = Want::Fetch { host: host.to_string(), ip, path: path.to_string(), max_body };
        match self.found.get(&want) {
            Some(Found::Fetch(r)) => Some(r.to_result()),
            _ => {
                self.want(want);
                None
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Attempt, FailureReason, Phase, ProbeFailure};
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_book_replays_what_it_holds_and_wants_what_it_does_not() {
        let report = ProbeReport::failed(ProbeFailure::new(Phase::Banner, FailureReason::Timeout, "slow"));
        let book = Book::new([
            Entry {
                want: Want::Smtp { host: "mx.a.test".into(), ip: ip("192.0.2.1") },
                found: Found::Smtp(Arc::new(report.clone())),
            },
            Entry {
                want: Want::Smtp { host: "mx.b.test".into(), ip: ip("192.0.2.1") },
                found: Found::SharedAddress { from: "mx.a.test".into() },
            },
            Entry {
                want: Want::Smtp { host: "mx.c.test".into(), ip: ip("192.0.2.9") },
                found: Found::SharedAddress { from: "mx.gone.test".into() },
            },
        ]);
        let Lookup::Known(first) = book.smtp("mx.a.test", ip("192.0.2.1")) else { panic!("known") };
        assert_eq!((first.source, first.cached, &*first.report), (ProbeSource::Own, false, &report));
        let Lookup::Known(again) = book.smtp("mx.a.test", ip("192.0.2.1")) else { panic!("known") };
        assert_eq!((again.source, again.cached), (ProbeSource::Cache, true));
        let Lookup::Known(shared) = book.smtp("mx.b.test", ip("192.0.2.1")) else { panic!("known") };
        assert_eq!((shared.source, shared.source_host.as_deref()), (ProbeSource::SharedAddress, Some("mx.a.test")));
        assert!(
            matches!(book.smtp("mx.c.test", ip("192.0.2.9")), Lookup::Wanted),
            "a shared answer without its source"
        );
        assert!(matches!(book.smtp("mx.a.test", ip("192.0.2.2")), Lookup::Wanted));
        assert!(book.fetch("mta-sts.a.test", ip("192.0.2.3"), "/.well-known/mta-sts.txt", 65536).is_none());
        let wants = book.take_wants();
        assert_eq!(wants.len(), 3);
        assert!(wants.contains(&Want::Smtp { host: "mx.a.test".into(), ip: ip("192.0.2.2") }));
        assert!(book.take_wants().is_empty(), "taken once");
    }

    #[test]
    fn fetch_records_round_trip_bodies_and_errors() {
        let ok =
            Ok(HttpsResponse { status: 200, content_type: Some("text/plain".into()), body: vec![0, 1, 255, b'a'] });
        let err = Err(FetchError { kind: crate::probe::https::FetchFailure::Timeout, detail: "late".into() });
        for r in [ok, err] {
            assert_eq!(FetchRecord::from_result(&r).to_result(), r);
        }
    }

    #[test]
    fn lines_round_trip_through_gzip() {
        let entries = vec![
            Entry {
                want: Want::Client {
                    protocol: Protocol::Imaps,
                    host: "imap.p.test".into(),
                    port: 993,
                    ip: ip("2001:db8::1"),
                },
                found: Found::Client(Arc::new(crate::probe::client::ClientReport::skipped(
                    crate::probe::SkipReason::Excluded,
                ))),
            },
            Entry {
                want: Want::Fetch { host: "h".into(), ip: ip("192.0.2.5"), path: "/x".into(), max_body: 10 },
                found: Found::Fetch(FetchRecord::from_result(&Ok(HttpsResponse {
                    status: 404,
                    content_type: None,
                    body: vec![],
                }))),
            },
        ];
        let mut buf = Vec::new();
        assert_eq!(write_lines(&mut buf, entries.iter()).unwrap(), 2);
        let mut back = Vec::new();
        assert_eq!(read_lines::<Entry>(&buf, |e| back.push(e)).unwrap(), 2);
        assert_eq!(back, entries);
        let bad = {
            let mut b = Vec::new();
            write_lines(&mut b, [serde_json::json!({"want": 1})]).unwrap();
            b
        };
        assert!(read_lines::<Entry>(&bad, |_| {}).unwrap_err().starts_with("line 1:"));
    }

    #[test]
    fn a_real_probe_report_round_trips() {
        let mut r = ProbeReport::skipped(crate::probe::SkipReason::OverLimit);
        r.attempt = Attempt::Done(crate::probe::smtp::StartTls::NotOffered);
        r.smtp.extensions = vec!["PIPELINING".into(), "SIZE 1000".into()];
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<ProbeReport>(&text).unwrap(), r);
    }

    proptest! {
        #[test]
        fn reading_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_lines::<Entry>(&bytes, |_| {});
        }

        #[test]
        fn wants_round_trip(host in "[a-z0-9.-]{1,40}", a in any::<u32>(), port in any::<u16>(), max in any::<usize>()) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(a));
            for w in [
                Want::Smtp { host: host.clone(), ip },
                Want::Client { protocol: Protocol::Submission, host: host.clone(), port, ip },
                Want::Fetch { host: host.clone(), ip, path: format!("/{host}"), max_body: max },
            ] {
                let text = serde_json::to_string(&w).unwrap();
                prop_assert_eq!(serde_json::from_str::<Want>(&text).unwrap(), w);
            }
        }
    }
}
