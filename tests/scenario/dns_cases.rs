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
    let row = scan.mx_row("v6only.test");
    assert_eq!(
        (row["probe_reason"].str(), row["ip"].str(), row["ip_version"].int()),
        (Some("ipv6_disabled"), Some("::1"), Some(6))
    );
    w.assert_polite();
}
