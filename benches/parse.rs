//! Parser benchmarks: SMTP reply lines and EHLO, SPF, DMARC, domain normalisation.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use mailcensus::domain::normalize;
use mailcensus::policy::{dmarc, spf};
use mailcensus::probe::smtp::{Reply, parse_ehlo, parse_line};

const EHLO: &[&[u8]] = &[
    b"250-mx.example.net Hello scanner.example [192.0.2.1]\r\n",
    b"250-SIZE 52428800\r\n",
    b"250-8BITMIME\r\n",
    b"250-PIPELINING\r\n",
    b"250-PIPE_CONNECT\r\n",
    b"250-STARTTLS\r\n",
    b"250-ENHANCEDSTATUSCODES\r\n",
    b"250 SMTPUTF8\r\n",
];

fn parse(c: &mut Criterion) {
    c.bench_function("parse/smtp_reply_multiline", |b| {
        b.iter(|| {
            let mut lines = Vec::with_capacity(EHLO.len());
            for l in EHLO {
                let (code, _, text) = parse_line(black_box(l)).unwrap();
                lines.push((code, text));
            }
            black_box(lines)
        })
    });
    let reply =
        Reply::new(250, EHLO.iter().map(|l| String::from_utf8_lossy(&l[4..l.len() - 2]).into_owned()).collect());
    c.bench_function("parse/ehlo", |b| b.iter(|| black_box(parse_ehlo(black_box(&reply)))));
    let record = "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 ip6:2001:db8::/32 include:_spf.google.com include:spf.protection.outlook.com a mx ~all";
    c.bench_function("parse/spf", |b| b.iter(|| black_box(spf::parse(black_box(record)))));
    let record = "v=DMARC1; p=quarantine; sp=reject; pct=50; rua=mailto:dmarc@example.com,mailto:agg@report.example; adkim=s; aspf=r";
    c.bench_function("parse/dmarc", |b| b.iter(|| black_box(dmarc::parse(black_box(record)))));
    c.bench_function("parse/domain_normalize", |b| {
        b.iter(|| black_box(normalize(black_box("  User@Mail.Example.CO.JP. "))))
    });
    c.bench_function("parse/domain_normalize_idn", |b| {
        b.iter(|| black_box(normalize(black_box("ドメイン.テスト.jp"))))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2));
    targets = parse
}
criterion_main!(benches);
