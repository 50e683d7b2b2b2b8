//! Output benchmarks: scan results to Arrow record batches, and to Parquet part files.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use mailcensus::dns::{DnsOutcome, MxEntry, OutcomeKind};
use mailcensus::domain::normalize;
use mailcensus::input::Entry;
use mailcensus::output::batch::{domains_builder, mx_hosts_builder, push_domain, push_mx};
use mailcensus::output::parquet::DatasetWriter;
use mailcensus::output::schema::{DOMAINS, MX_HOSTS};
use mailcensus::policy::dkim::DkimResult;
use mailcensus::policy::{dmarc, spf, tls_rpt};
use mailcensus::probe::Attempt;
use mailcensus::probe::smtp::{ProbeReport, Reply, SmtpObservation, StartTls};
use mailcensus::scan::result::{DomainScan, MxSource, MxTarget, ProbeFacts};
use mailcensus::scan::runner::ProbeSource;

fn scans(n: usize) -> Vec<DomainScan> {
    let txt = DnsOutcome::Found(vec!["v=spf1 mx ~all".to_string()]);
    let dmarc_txt = DnsOutcome::Found(vec!["v=DMARC1; p=reject; rua=mailto:d@example.com".to_string()]);
    let probe = Arc::new(ProbeReport {
        attempt: Attempt::Done(StartTls::NotOffered),
        smtp: SmtpObservation {
            banner: Some(Reply::new(220, vec!["mx.example ESMTP".into()])),
            ehlo: Some(Reply::new(250, vec!["mx".into(), "PIPELINING".into(), "SIZE 1000".into()])),
            extensions: vec!["PIPELINING".into(), "SIZE 1000".into()],
            starttls_offered: Some(false),
            ..Default::default()
        },
        tls: None,
        duration_ms: 12,
        attempts: 1,
    });
    let reverse = Arc::new(mailcensus::dns::reverse::ReverseDns {
        fcrdns: mailcensus::dns::reverse::Fcrdns::Match,
        name: Some("mx1.example".into()),
        detail: None,
    });
    (0..n)
        .map(|i| {
            let mx = vec![
                MxEntry { preference: 10, host: format!("mx1.p{}.example", i % 50) },
                MxEntry { preference: 20, host: format!("mx2.p{}.example", i % 50) },
            ];
            let targets = mx
                .iter()
                .map(|m| MxTarget {
                    host: m.host.clone(),
                    preference: m.preference,
                    a_outcome: OutcomeKind::Found,
                    aaaa_outcome: OutcomeKind::NoData,
                    address_detail: None,
                    ip: Some("192.0.2.1".parse().unwrap()),
                    probe: ProbeFacts {
                        report: probe.clone(),
                        source: Some(ProbeSource::Cache),
                        source_host: None,
                        cached: true,
                    },
                    security: None,
                    reverse: Some(reverse.clone()),
                })
                .collect();
            let entry = Entry {
                line: i as u64 + 1,
                domain: normalize(&format!("d{i}.example")).unwrap(),
                group: Some("ISP 1".into()),
                weight: None,
                dkim_selectors: Vec::new(),
                kept: Vec::new(),
            };
            let mut s = DomainScan::excluded(entry, 1_700_000_000_000);
            s.mx = DnsOutcome::Found(mx.clone());
            s.mx_source = MxSource::Explicit;
            s.mx_hosts = mx;
            s.spf_txt_outcome = OutcomeKind::Found;
            s.spf = spf::from_txt(&txt);
            s.dmarc_txt_outcome = OutcomeKind::Found;
            s.dmarc = dmarc::from_txt(&dmarc_txt);
            s.dkim = DkimResult::default();
            s.tls_rpt_txt_outcome = OutcomeKind::NoData;
            s.tls_rpt = tls_rpt::from_txt(&DnsOutcome::NoData);
            s.targets = targets;
            s
        })
        .collect()
}

fn output(c: &mut Criterion) {
    let data = scans(10_000);
    c.bench_function("output/rows_to_batches_10k_domains", |b| {
        b.iter(|| {
            let (mut d, mut m) = (domains_builder(), mx_hosts_builder());
            for s in &data {
                push_domain(&mut d, s);
                for t in &s.targets {
                    push_mx(&mut m, s, t);
                }
            }
            black_box((d.finish(), m.finish()))
        })
    });
    let dir = std::env::temp_dir().join(format!("mailcensus-bench-output-{}", std::process::id()));
    c.bench_function("output/parquet_10k_domains", |b| {
        b.iter(|| {
            let _ = std::fs::remove_dir_all(&dir);
            let mut d =
                DatasetWriter::create(&dir.join("domains"), domains_builder(), DOMAINS.clone(), 50_000).unwrap();
            let mut m =
                DatasetWriter::create(&dir.join("mx_hosts"), mx_hosts_builder(), MX_HOSTS.clone(), 50_000).unwrap();
            for s in &data {
                d.push(|b| push_domain(b, s)).unwrap();
                for t in &s.targets {
                    m.push(|b| push_mx(b, s, t)).unwrap();
                }
            }
            black_box((d.finish().unwrap(), m.finish().unwrap()))
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5));
    targets = output
}
criterion_main!(benches);
