//! DNSSEC and DANE (block 127.26.0.0/16): a zone signed on the fly by the fake DNS server, validated by
//! hickory with the zone's trust anchor: secure and bogus answers for domains and MX hosts, and TLSA
//! records checked against the chains the STARTTLS probes saw.

use mailcensus::policy::dane::digests;
use mailcensus::testkit::dns::ZoneSigner;
use mailcensus::testkit::pki::Validity;
use mailcensus::testkit::smtp::{Behaviour, Posture};

use crate::world::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnssec_status_and_dane_are_judged() {
    let mut w = World::new(26);
    let mut signer = ZoneSigner::new("sec.test");
    // (domain, TLSA of the MX: "good" matches the leaf's key, "wrong" another key, None: no TLSA)
    let cases: [(&str, Option<&str>, bool); 6] = [
        ("good.sec.test", Some("good"), true),
        ("wrongtlsa.sec.test", Some("wrong"), true),
        ("badtlsa.sec.test", Some("good"), true),
        ("notls.sec.test", Some("good"), false),
        ("tamper.sec.test", None, true),
        ("badhost.sec.test", None, true),
    ];
    let other = digests(w.ca.leaf(&["x.test"], Validity::Current).chain[0].as_ref());
    for (domain, tlsa, starttls) in cases {
        let host = format!("mx.{domain}");
        let leaf = w.ca.leaf(&[&host], Validity::Current);
        let spki = digests(leaf.chain[0].as_ref()).spki_sha256;
        let posture = if starttls { Posture::StartTls(leaf.server_config(false)) } else { Posture::NoStartTls };
        w.mx(domain, &host, Behaviour::new(posture)).await;
        match tlsa {
            Some("good") => w.zone.tlsa(&format!("_25._tcp.{host}"), 3, 1, 1, spki),
            Some(_) => w.zone.tlsa(&format!("_25._tcp.{host}"), 3, 1, 1, other.spki_sha256.clone()),
            None => &mut w.zone,
        };
    }
    signer.tamper("tamper.sec.test").tamper("_25._tcp.mx.badtlsa.sec.test").tamper("mx.badhost.sec.test");
    w.signer = Some(signer);
    // An implicit MX: the MX lookup is NODATA, proven by NSEC.
    let ip = w.block.next_ip();
    w.zone.addr("implicit.sec.test", ip);
    // Outside the signed zone: no trust anchor covers it.
    w.mx("plain.test", "mx.plain.test", Behaviour::new(Posture::NoStartTls)).await;

    let input = "domain\ngood.sec.test\nwrongtlsa.sec.test\nbadtlsa.sec.test\nnotls.sec.test\ntamper.sec.test\nbadhost.sec.test\nimplicit.sec.test\nplain.test\n";
    let scan = w.scan("dnssec", input, |_| {}).await;
    let d = |name: &str, col: &str| scan.domain(name)[col].str().map(str::to_string);
    let mx = |name: &str, col: &str| scan.mx_row(name)[col].clone();

    assert_eq!(d("good.sec.test", "dnssec_status").as_deref(), Some("secure"));
    assert_eq!(mx("good.sec.test", "mx_dnssec").str(), Some("secure"));
    assert_eq!(
        (mx("good.sec.test", "tlsa_outcome").str(), mx("good.sec.test", "tlsa_dnssec").str()),
        (Some("found"), Some("secure"))
    );
    let records: Vec<String> =
        mx("good.sec.test", "tlsa_records").list().iter().filter_map(|v| v.str().map(str::to_string)).collect();
    assert_eq!(records.len(), 1);
    assert!(records[0].starts_with("3 1 1 "), "{records:?}");
    assert_eq!(mx("good.sec.test", "dane_valid").bool(), Some(true));
    assert_eq!(d("good.sec.test", "dane").as_deref(), Some("all"));

    assert_eq!(mx("wrongtlsa.sec.test", "dane_valid").bool(), Some(false));
    assert_eq!(d("wrongtlsa.sec.test", "dane").as_deref(), Some("none"));
    // DANE makes TLS mandatory: secure TLSA and no STARTTLS is a DANE failure.
    assert_eq!(mx("notls.sec.test", "dane_valid").bool(), Some(false));

    // A tampered TLSA answer is bogus: recorded, but never trusted for DANE.
    assert_eq!(mx("badtlsa.sec.test", "tlsa_dnssec").str(), Some("bogus"));
    assert_eq!(mx("badtlsa.sec.test", "tlsa_outcome").str(), Some("found"));
    assert!(mx("badtlsa.sec.test", "dane_valid").is_null());
    assert_eq!(d("badtlsa.sec.test", "dane").as_deref(), Some("n_a"));

    // A tampered MX answer is bogus, and the scan still probed the MX (from the non-validating lookup).
    assert_eq!(d("tamper.sec.test", "dnssec_status").as_deref(), Some("bogus"));
    assert_eq!(d("tamper.sec.test", "starttls").as_deref(), Some("all"));
    assert_eq!(mx("badhost.sec.test", "mx_dnssec").str(), Some("bogus"));
    assert_eq!(d("badhost.sec.test", "dnssec_status").as_deref(), Some("secure"));
    assert_eq!(mx("tamper.sec.test", "tlsa_outcome").str(), Some("nxdomain"));
    // Negative answers of the signed zone are proven by NSEC: a missing TLSA record is securely
    // missing (found against unbound and nsd: hickory puts that proof on the authority records).
    assert_eq!(mx("wrongtlsa.sec.test", "tlsa_dnssec").str(), Some("secure"));
    assert_eq!(mx("tamper.sec.test", "tlsa_dnssec").str(), Some("secure"), "NXDOMAIN proven");
    assert_eq!(d("implicit.sec.test", "mx_source").as_deref(), Some("implicit"));
    assert_eq!(d("implicit.sec.test", "dnssec_status").as_deref(), Some("secure"), "NODATA proven");

    // Unsigned answers are never secure. (The fake server cannot prove a zone unsigned, having no
    // NSEC records, so hickory, finding no chain from the only anchor, says bogus; against a real
    // signed root a provably unsigned zone is insecure.)
    let plain = d("plain.test", "dnssec_status");
    assert!(matches!(plain.as_deref(), Some("bogus" | "indeterminate" | "insecure")), "{plain:?}");
    assert!(mx("plain.test", "dane_valid").is_null());
}

/// `--dns-qps` holds for every query that leaves the scanner (block 127.28.0.0/16): DNSSEC validation
/// queries (DNSKEY, DS), CNAME follow-ups and late retries included, as the server counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_qps_holds_for_every_query() {
    use mailcensus::testkit::dns::Fault;
    const QPS: u32 = 50;
    let mut w = World::new(28);
    w.signer = Some(ZoneSigner::new("qps.test"));
    let mut input = String::new();
    for i in 0..12 {
        let d = format!("d{i}.qps.test");
        let ip = w.block.next_ip();
        // Each MX host is an alias, and each SPF record includes another name.
        w.zone
            .mx(&d, 10, &format!("mx.{d}"))
            .cname(&format!("mx.{d}"), &format!("host.{d}"))
            .addr(&format!("host.{d}"), ip)
            .txt(&d, &format!("v=spf1 include:_spf.{d} -all"))
            .txt(&format!("_spf.{d}"), "v=spf1 ip4:192.0.2.0/24 -all")
            .txt(&format!("_dmarc.{d}"), "v=DMARC1; p=none");
        input.push_str(&d);
        input.push('\n');
    }
    // A name that fails once: its late retry is a query too.
    w.zone.fault("_dmarc.d0.qps.test", Fault::ServFailFirst(1));
    let scan = w
        .scan("dns-qps", &input, |c| {
            c.dns.qps = QPS;
            c.dkim = false;
        })
        .await;
    assert_eq!(scan.domains.len(), 12);
    assert!(scan.queries.asked("host.d3.qps.test"), "CNAME targets were followed");
    assert_eq!(scan.domain("d3.qps.test")["dnssec_status"].str(), Some("secure"), "validation ran");
    assert_eq!(scan.domain("d0.qps.test")["dmarc_policy"].str(), Some("none"), "the late retry answered");
    let sent = scan.queries.count();
    assert!(sent as u64 >= 3 * QPS as u64, "enough queries to exercise the limit: {sent}");
    // The rate limiter allows a burst of QPS, then QPS per second: never more than 2 × QPS in a second.
    let peak = scan.queries.peak(std::time::Duration::from_secs(1));
    assert!(peak <= 2 * QPS as usize, "{peak} queries within one second, limit {QPS}/s");
    // The server counted every query the scanner says it sent (nothing bypassed the counter).
    assert_eq!(scan.summary.counts.dns_sent, sent as u64);
}

/// A resolver that only returns bogus data (block 127.39.0.0/16): every MX answer of a signed zone
/// fails validation. The run says its results cannot be right (`dnssec_all_bogus`, with the flags
/// to use) instead of reporting every domain as bogus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolver_that_only_returns_bogus_data_is_said() {
    use mailcensus::scan::plausibility::Implausible;
    let mut w = World::new(39);
    let mut signer = ZoneSigner::new("bogus.test");
    let ip = w.block.next_ip();
    w.zone.addr("mx.bogus.test", ip);
    let mut input = String::from("domain\n");
    for i in 0..24 {
        let d = format!("d{i}.bogus.test");
        w.zone.mx(&d, 10, "mx.bogus.test");
        signer.tamper(&d);
        input.push_str(&format!("{d}\n"));
    }
    w.signer = Some(signer);
    let scan = w.scan("bogus", &input, |c| c.smtp.connect_timeout = std::time::Duration::from_secs(1)).await;
    assert!(scan.domains.iter().all(|r| r["dnssec_status"].str() == Some("bogus")), "{:#?}", scan.domains[0]);
    let codes: Vec<Implausible> = scan.summary.warnings.iter().map(|w| w.code).collect();
    assert_eq!(codes, vec![Implausible::DnssecAllBogus]);
    assert!(scan.summary.warnings[0].message.contains("--trust-anchor"));
}
