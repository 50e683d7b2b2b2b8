//! DNS outcomes (block 127.12.0.0/16): null MX, implicit MX, NXDOMAIN, SERVFAIL, timeout, SPF and
//! DMARC records, an IDN domain, MX hosts without usable addresses. A failed lookup is never "absent".

use std::net::Ipv6Addr;

use mailcensus::testkit::dns::Fault;
use mailcensus::testkit::pki::Validity;
use mailcensus::testkit::smtp::{Behaviour, Posture};

use crate::world::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_outcomes_are_kept_apart() {
    let mut w = World::new(12);
    w.zone.mx("nullmx.test", 0, ".").txt("nullmx.test", "v=spf1 -all");
    // Implicit MX: no MX records, an A record with an SMTP server behind it.
    let ip = w.block.next_ip();
    w.zone.addr("implicit.test", ip);
    let leaf = w.ca.leaf(&["implicit.test"], Validity::Current);
    let server = mailcensus::testkit::smtp::FakeSmtp::spawn(
        (ip, crate::world::SMTP_PORT).into(),
        Behaviour::new(Posture::StartTls(leaf.server_config(false))),
    )
    .await
    .unwrap();
    w.zone.fault("servfail.test", Fault::ServFail);
    w.zone.fault("timeout.test", Fault::Drop);
    w.zone.fault("refused.test", Fault::Refused);
    w.zone.exists("nomail.test").txt("nomail.test", "v=spf1 -all");
    w.mx("twospf.test", "mx.twospf.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone
        .txt("twospf.test", "v=spf1 mx -all")
        .txt("twospf.test", "v=spf1 ip4:192.0.2.0/24 ~all")
        .txt("twospf.test", "google-site-verification=abc");
    w.mx("dmarc.test", "mx.dmarc.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.txt("dmarc.test", "v=spf1 include:_spf.dmarc.test ~all");
    w.zone.txt(
        "_dmarc.dmarc.test",
        "v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:agg@dmarc.test,mailto:x@report.test",
    );
    w.zone.exists("dmarcfail.test").fault("_dmarc.dmarcfail.test", Fault::ServFail);
    w.zone.txt("dmarcfail.test", "v=spf1 ip4:192.0.2.1/33 -all");
    w.mx("xn--bcher-kva.test", "mx.xn--bcher-kva.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.mx("noaddr.test", 10, "mx.noaddr.test").exists("mx.noaddr.test");
    w.zone.mx("addrfail.test", 10, "mx.addrfail.test").fault("mx.addrfail.test", Fault::ServFail);
    w.zone.mx("v6only.test", 10, "mx.v6only.test").aaaa("mx.v6only.test", Ipv6Addr::LOCALHOST);
    // One lost answer or one SERVFAIL is not the record: the late retry gets it.
    w.zone.mx("flaky.test", 0, ".").txt("flaky.test", "v=spf1 -all").fault("flaky.test", Fault::ServFailFirst(1));
    w.zone.mx("lossy.test", 0, ".").txt("lossy.test", "v=spf1 -all").fault("lossy.test", Fault::DropFirst(1));

    let input = "domain\nnullmx.test\nimplicit.test\nnxdomain.test\nservfail.test\ntimeout.test\nrefused.test\nnomail.test\ntwospf.test\ndmarc.test\ndmarcfail.test\nBücher.test\nnoaddr.test\naddrfail.test\nv6only.test\nflaky.test\nlossy.test\n";
    let scan = w.scan("dns", input, |_| {}).await;
    assert_eq!(scan.domains.len(), 16);

    let d = |name: &str| scan.domain(name);
    let cols = |name: &str, c: &[&str]| c.iter().map(|k| d(name)[*k].str().map(str::to_string)).collect::<Vec<_>>();
    let s = |v: &str| Some(v.to_string());

    assert_eq!(
        cols("nullmx.test", &["mx_outcome", "mx_source", "starttls", "spf_status", "spf_all"]),
        [s("found"), s("null_mx"), s("no_mx"), s("valid"), s("fail")]
    );
    assert_eq!(d("nullmx.test")["mx_count"].int(), Some(0));
    assert!(d("nullmx.test")["gmail_red_lock"].is_null());
    assert!(scan.mx_rows("nullmx.test").is_empty());
    let mx = d("nullmx.test")["mx"].list().to_vec();
    assert_eq!(mx.len(), 1);
    let mailcensus::testkit::dataset::Value::Struct(entry) = &mx[0] else { panic!("{mx:?}") };
    assert_eq!((entry["preference"].int(), entry["host"].str()), (Some(0), Some(".")));

    assert_eq!(
        cols("implicit.test", &["mx_outcome", "mx_source", "starttls", "tls_cert_valid"]),
        [s("nodata"), s("implicit"), s("all"), s("all")]
    );
    let mx = scan.mx_row("implicit.test");
    assert_eq!(
        (mx["mx_host"].str(), mx["mx_implicit"].bool(), mx["mx_preference"].int()),
        (Some("implicit.test"), Some(true), Some(0))
    );
    assert_eq!(server.connections(), 1);

    assert_eq!(
        cols("nxdomain.test", &["mx_outcome", "mx_source", "starttls", "spf_status", "dmarc_status"]),
        [s("nxdomain"), s("none"), s("no_mx"), s("none"), s("none")]
    );
    assert_eq!(cols("nomail.test", &["mx_outcome", "mx_source", "starttls"]), [s("nodata"), s("none"), s("no_mx")]);

    // Failures stay failures: never "none".
    for (name, label) in [("servfail.test", "servfail"), ("timeout.test", "timeout"), ("refused.test", "refused")] {
        assert_eq!(
            cols(name, &["mx_outcome", "mx_source", "starttls", "spf_txt_outcome", "spf_status"]),
            [s(label), s("unknown"), s("dns_failed"), s(label), s("temperror")],
            "{name}"
        );
        assert!(d(name)["mx_detail"].str().is_some(), "{name}");
        assert!(d(name)["gmail_red_lock"].is_null(), "{name}");
    }

    assert_eq!(cols("twospf.test", &["spf_status"]), [s("multiple_records")]);
    assert_eq!(d("twospf.test")["spf_records"].list().len(), 2);

    assert_eq!(
        cols("dmarc.test", &["dmarc_status", "dmarc_policy", "dmarc_subdomain_policy", "spf_status", "spf_all"]),
        [s("valid"), s("reject"), s("quarantine"), s("valid"), s("softfail")]
    );
    assert_eq!(d("dmarc.test")["dmarc_pct"].int(), Some(50));
    assert_eq!(d("dmarc.test")["dmarc_rua"].list().len(), 2);
    assert_eq!(
        cols("dmarcfail.test", &["dmarc_txt_outcome", "dmarc_status", "spf_status"]),
        [s("servfail"), s("temperror"), s("syntax_error")]
    );
    assert!(d("dmarcfail.test")["spf_detail"].str().is_some_and(|t| t.contains("ip4")));

    assert_eq!(d("xn--bcher-kva.test")["mx_outcome"].str(), Some("found"));
    assert_eq!(d("xn--bcher-kva.test")["input_line"].int(), Some(12));

    let row = scan.mx_row("noaddr.test");
    assert_eq!(
        (row["probe_status"].str(), row["probe_reason"].str(), row["ip"].is_null()),
        (Some("skipped"), Some("no_address"), true)
    );
    assert_eq!(d("noaddr.test")["starttls"].str(), Some("not_probed"));
    let row = scan.mx_row("addrfail.test");
    assert_eq!(
        (row["probe_reason"].str(), row["mx_a_outcome"].str()),
        (Some("address_lookup_failed"), Some("servfail"))
    );
    for name in ["flaky.test", "lossy.test"] {
        assert_eq!(
            cols(name, &["mx_outcome", "mx_source", "spf_status"]),
            [s("found"), s("null_mx"), s("valid")],
            "{name}"
        );
    }
    // Retried late: the two flaky names (MX and TXT asked at once, so one exchange each may fail
    // first), and each lasting failure twice; every flaky name recovered.
    let c = &scan.summary.counts;
    assert!(c.dns_retries_recovered >= 2, "{c:?}");
    assert!(c.dns_retries >= c.dns_retries_recovered + 2 * 3, "{c:?}");
    // A lasting failure's attempts and back-offs (50 + 100 ms here) bound the run from below.
    assert!(c.longest_dns_retry_seconds >= 0.15 && c.lower_bound_seconds >= c.longest_dns_retry_seconds, "{c:?}");
    let row = scan.mx_row("v6only.test");
    assert_eq!(
        (row["probe_reason"].str(), row["ip"].str(), row["ip_version"].int()),
        (Some("ipv6_disabled"), Some("::1"), Some(6))
    );
    w.assert_polite();
}

/// The socket-keeping transport finds exactly what hickory's own UDP client finds (block 127.34.0.0/16,
/// its DNS on 127.35.0.53): the same world scanned with each, row for row, both agreeing with the
/// world's truth. Only what depends on time or on which domain probed a shared host first differs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_transport_and_hickory_find_the_same() {
    use mailcensus::dns::transport::Backend;
    use mailcensus::testkit::dataset::{Row, read_rows};
    use mailcensus::world::{World as SimWorld, WorldConfig, serve, truth::compare};
    let dir = crate::world::test_dir("backends");
    let config = WorldConfig {
        seed: 34,
        domains: 300,
        providers: 30,
        first_ip: [127, 34, 0, 1].into(),
        dns_ip: [127, 35, 0, 53].into(),
        smtp_port: 2534,
        greeting_delay: std::time::Duration::from_millis(50),
        ..Default::default()
    };
    let running = serve::start(SimWorld::generate(config), &dir.join("world")).await.unwrap();
    let varies = |c: &str| {
        // The certificate detail names the verification time ("expired ... 86400 seconds ago").
        c == "scanned_at"
            || c == "scan_id"
            || c == "tls_cert_detail"
            || c.ends_with("duration_ms")
            || c.starts_with("probe_cached")
            || c.starts_with("probe_source")
    };
    let mut seen: Vec<(Vec<Row>, Vec<Row>)> = Vec::new();
    for backend in [Backend::Pool, Backend::HickoryUdp] {
        let out = dir.join(format!("{backend:?}"));
        let mut c = mailcensus::demo::scan_config(&running, out.clone());
        c.dns.backend = backend;
        c.progress = false;
        mailcensus::scan::run(c).await.unwrap();
        let agreement = compare(&running.world, &out).unwrap();
        assert_eq!(agreement.disagreements(), 0, "{backend:?}: {}", agreement.render());
        let clean = |rows: Vec<Row>, key: &dyn Fn(&Row) -> String| {
            let mut rows: Vec<Row> =
                rows.into_iter().map(|r| r.into_iter().filter(|(c, _)| !varies(c)).collect()).collect();
            rows.sort_by_key(|r| key(r));
            rows
        };
        let domains = clean(read_rows(&out.join("domains")).unwrap(), &|r| format!("{:?}", r["domain"]));
        let mx = clean(read_rows(&out.join("mx_hosts")).unwrap(), &|r| {
            format!("{:?} {:?} {:?}", r["domain"], r["mx_host"], r["ip"])
        });
        seen.push((domains, mx));
    }
    let (pool, hickory) = (&seen[0], &seen[1]);
    assert_eq!(pool.0.len(), 300);
    for (a, b) in pool.0.iter().zip(&hickory.0) {
        assert_eq!(a, b, "domains row differs");
    }
    assert_eq!(pool.1.len(), hickory.1.len());
    for (a, b) in pool.1.iter().zip(&hickory.1) {
        assert_eq!(a, b, "mx_hosts row differs");
    }
}
