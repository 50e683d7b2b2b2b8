//! Mail-security policies (block 127.25.0.0/16): SPF evaluated through includes and redirects, DMARC
//! with the organisational-domain fallback and report authorisation, DKIM selectors (built-in list
//! and input column), MTA-STS fetched from fake HTTPS servers (every fetch outcome), TLS-RPT, and
//! Gmail's "?" prediction, all read back from the Parquet.

use std::net::SocketAddr;

use mailcensus::testkit::dns::Fault;
use mailcensus::testkit::https::{FakeHttps, Reply};
use mailcensus::testkit::pki::{Validity, self_signed};
use mailcensus::testkit::smtp::{Behaviour, Posture};

use crate::world::World;

const HTTPS_PORT: u16 = 2443;

/// RFC 6376 appendix C's 1024-bit RSA key.
const RSA_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";

fn policy(mode: &str, mx: &[&str]) -> String {
    let mx: String = mx.iter().map(|m| format!("mx: {m}\r\n")).collect();
    format!("version: STSv1\r\nmode: {mode}\r\n{mx}max_age: 86400\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_evaluated_and_written() {
    let mut w = World::new(25);
    let mut https = Vec::new();
    // Each MTA-STS domain: an MX with a valid certificate, the TXT record, and mta-sts.<domain> served.
    let sts_cases: Vec<(&str, Option<Reply>, bool)> = vec![
        ("sts-ok.pol.test", Some(Reply::policy(&policy("enforce", &["*.sts-ok.pol.test"]))), true),
        ("sts-testing.pol.test", Some(Reply::policy(&policy("testing", &["mx.sts-testing.pol.test"]))), true),
        ("sts-mismatch.pol.test", Some(Reply::policy(&policy("enforce", &["mx.elsewhere.test"]))), true),
        ("sts-badcert.pol.test", Some(Reply::policy(&policy("enforce", &["mx.sts-badcert.pol.test"]))), false),
        (
            "sts-404.pol.test",
            Some(Reply::Fixed { status: 404, content_type: "text/html".into(), body: "<h1>no</h1>".into() }),
            true,
        ),
        (
            "sts-html.pol.test",
            Some(Reply::Fixed { status: 200, content_type: "text/html".into(), body: policy("enforce", &["x"]) }),
            true,
        ),
        ("sts-huge.pol.test", Some(Reply::Endless), true),
        ("sts-silent.pol.test", Some(Reply::Silent), true),
        ("sts-garbage.pol.test", Some(Reply::policy("hello: world\r\n")), true),
        ("sts-noaddr.pol.test", None, true),
        ("sts-garbled.pol.test", Some(Reply::Raw("SMTP? 220 hello\r\n\r\n".into())), true),
    ];
    for (domain, reply, trusted) in &sts_cases {
        let mx_host = format!("mx.{domain}");
        let leaf = w.ca.leaf(&[&mx_host], Validity::Current);
        w.mx(domain, &mx_host, Behaviour::new(Posture::StartTls(leaf.server_config(false)))).await;
        w.zone.txt(&format!("_mta-sts.{domain}"), "v=STSv1; id=20240101T000000");
        let sts_host = format!("mta-sts.{domain}");
        if let Some(reply) = reply {
            let ip = w.block.next_ip();
            w.zone.addr(&sts_host, ip);
            let cert = if *trusted { w.ca.leaf(&[&sts_host], Validity::Current) } else { self_signed(&[&sts_host]) };
            https.push(
                FakeHttps::spawn(SocketAddr::new(ip, HTTPS_PORT), cert.server_config(false), reply.clone())
                    .await
                    .unwrap(),
            );
        } else {
            w.zone.exists(&sts_host);
        }
    }
    // A policy host where nothing listens, and one on the exclude list.
    for d in ["sts-closed.pol.test", "sts-excluded.pol.test"] {
        let mx_host = format!("mx.{d}");
        let leaf = w.ca.leaf(&[&mx_host], Validity::Current);
        w.mx(d, &mx_host, Behaviour::new(Posture::StartTls(leaf.server_config(false)))).await;
        w.zone.txt(&format!("_mta-sts.{d}"), "v=STSv1; id=1");
        let ip = w.block.next_ip();
        w.zone.addr(&format!("mta-sts.{d}"), ip);
    }
    // A policy host whose name SERVFAILs: the fetch failed, it is not "no address".
    {
        let d = "sts-addrfail.pol.test";
        let mx_host = format!("mx.{d}");
        let leaf = w.ca.leaf(&[&mx_host], Validity::Current);
        w.mx(d, &mx_host, Behaviour::new(Posture::StartTls(leaf.server_config(false)))).await;
        w.zone.txt(&format!("_mta-sts.{d}"), "v=STSv1; id=1").fault(&format!("mta-sts.{d}"), Fault::ServFail);
    }
    w.zone.txt("_smtp._tls.sts-ok.pol.test", "v=TLSRPTv1; rua=mailto:tlsrpt@sts-ok.pol.test");
    w.zone.txt("_smtp._tls.sts-testing.pol.test", "v=TLSRPTv1; rua=ftp://nope");

    // SPF through an include and a redirect, DMARC with external reports, DKIM at a built-in selector.
    w.mx("auth.pol.test", "mx.auth.pol.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone
        .txt("auth.pol.test", "v=spf1 ip4:192.0.2.0/24 include:_spf.provider.test redirect=_r.provider.test")
        .txt("_spf.provider.test", "v=spf1 ip4:198.51.100.0/25 ~all")
        .txt("_r.provider.test", "v=spf1 a:relay.provider.test -all")
        .a("relay.provider.test", "203.0.113.9".parse().unwrap())
        .txt(
            "_dmarc.auth.pol.test",
            "v=DMARC1; p=quarantine; adkim=s; fo=1; ri=3600; rua=mailto:d@auth.pol.test,mailto:x@vendor.test; ruf=mailto:f@other.test",
        )
        .txt("auth.pol.test._report._dmarc.vendor.test", "v=DMARC1")
        .txt("google._domainkey.auth.pol.test", &format!("v=DKIM1; k=rsa; p={RSA_1024}"))
        .txt("s1._domainkey.auth.pol.test", "v=DKIM1; p=");
    // Eleven chained includes: permerror.
    w.mx("loop.pol.test", "mx.loop.pol.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.txt("loop.pol.test", "v=spf1 include:i0.pol.test -all");
    for i in 0..11 {
        w.zone.txt(&format!("i{i}.pol.test"), &format!("v=spf1 include:i{}.pol.test", i + 1));
    }
    w.zone.txt("i11.pol.test", "v=spf1 -all");
    // An include that fails: temperror, never "none"; a DKIM lookup that fails: temperror.
    w.mx("flaky.pol.test", "mx.flaky.pol.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.txt("flaky.pol.test", "v=spf1 include:broken.pol.test -all").fault("broken.pol.test", Fault::ServFail);
    w.zone.fault("default._domainkey.flaky.pol.test", Fault::ServFail);
    // No SPF, no DKIM: Gmail's "?"; its DMARC comes from the organisational domain pol.test.
    w.mx("bare.sub.pol.test", "mx.bare.sub.pol.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.txt("_dmarc.pol.test", "v=DMARC1; p=none; sp=reject");
    // A key only at the selector the input names.
    w.mx("custom.pol.test", "mx.custom.pol.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.txt("brand2024._domainkey.custom.pol.test", &format!("k=rsa; t=y; p={RSA_1024}"));

    let mut input = String::from("domain,dkim_selectors\n");
    for (d, _, _) in &sts_cases {
        input.push_str(&format!("{d},\n"));
    }
    input.push_str("sts-closed.pol.test,\nsts-excluded.pol.test,\nsts-addrfail.pol.test,\n");
    input.push_str("auth.pol.test,\nloop.pol.test,\nflaky.pol.test,\nbare.sub.pol.test,\ncustom.pol.test,brand2024 other\nbadsel.pol.test,a/b\n");
    let scan = w
        .scan("policies", &input, |c| {
            c.https_port = HTTPS_PORT;
            c.https_timeout = std::time::Duration::from_secs(2);
            c.guard.exclude = mailcensus::guard::ExcludeList::parse("mta-sts.sts-excluded.pol.test\n").unwrap();
            // The full inventory of keys, not just the first (the default search is tested in policy::dkim).
            c.dkim_search = mailcensus::policy::dkim::DkimSearch::All;
        })
        .await;
    assert_eq!(scan.domains.len(), sts_cases.len() + 8, "badsel is rejected");
    let rejects = std::fs::read_to_string(scan.out.join("rejects.csv")).unwrap();
    assert!(rejects.contains("invalid_dkim_selector"), "{rejects}");

    let d = |name: &str| scan.domain(name);
    let label = |name: &str, col: &str| d(name)[col].str().map(str::to_string);
    let strs = |name: &str, col: &str| {
        d(name)[col].list().iter().filter_map(|v| v.str().map(str::to_string)).collect::<Vec<_>>()
    };

    // MTA-STS: every fetch outcome.
    let fetch: Vec<(&str, &str)> = vec![
        ("sts-ok.pol.test", "ok"),
        ("sts-testing.pol.test", "ok"),
        ("sts-mismatch.pol.test", "ok"),
        ("sts-badcert.pol.test", "tls_failed"),
        ("sts-404.pol.test", "http_status"),
        ("sts-html.pol.test", "wrong_content_type"),
        ("sts-huge.pol.test", "too_large"),
        ("sts-silent.pol.test", "timeout"),
        ("sts-garbage.pol.test", "syntax_error"),
        ("sts-noaddr.pol.test", "no_address"),
        ("sts-garbled.pol.test", "http_error"),
        ("sts-closed.pol.test", "connect_failed"),
        ("sts-excluded.pol.test", "skipped"),
        ("sts-addrfail.pol.test", "address_lookup_failed"),
    ];
    for (domain, want) in fetch {
        assert_eq!(label(domain, "mta_sts_status").as_deref(), Some("valid"), "{domain}");
        assert_eq!(
            label(domain, "mta_sts_fetch").as_deref(),
            Some(want),
            "{domain}: {:?}",
            d(domain)["mta_sts_detail"]
        );
        if want != "ok" {
            assert!(d(domain)["mta_sts_effective"].is_null(), "{domain}");
            assert!(d(domain)["mta_sts_detail"].str().is_some(), "{domain} says why");
        }
    }
    assert_eq!(d("sts-404.pol.test")["mta_sts_http_status"].int(), Some(404));
    assert_eq!(label("sts-ok.pol.test", "mta_sts_id").as_deref(), Some("20240101T000000"));
    assert_eq!(
        (label("sts-ok.pol.test", "mta_sts_mode"), d("sts-ok.pol.test")["mta_sts_max_age"].int()),
        (Some("enforce".into()), Some(86400))
    );
    assert_eq!(strs("sts-ok.pol.test", "mta_sts_mx"), vec!["*.sts-ok.pol.test"]);
    assert_eq!(label("sts-ok.pol.test", "mta_sts_mx_match").as_deref(), Some("all"));
    assert_eq!(d("sts-ok.pol.test")["mta_sts_effective"].bool(), Some(true));
    assert_eq!(d("sts-testing.pol.test")["mta_sts_effective"].bool(), Some(false));
    assert_eq!(label("sts-mismatch.pol.test", "mta_sts_mx_match").as_deref(), Some("none"));
    assert_eq!(d("sts-mismatch.pol.test")["mta_sts_effective"].bool(), Some(false));
    assert!(https.iter().take(3).all(|s| s.requests() == 1), "one fetch per domain");
    assert!(!scan.queries.asked("mta-sts.sts-excluded.pol.test"), "an excluded policy host is not even resolved");
    assert_eq!(label("auth.pol.test", "mta_sts_status").as_deref(), Some("none"));
    assert_eq!(label("auth.pol.test", "mta_sts_fetch").as_deref(), Some("not_fetched"));

    // TLS-RPT.
    assert_eq!(label("sts-ok.pol.test", "tls_rpt_status").as_deref(), Some("valid"));
    assert_eq!(strs("sts-ok.pol.test", "tls_rpt_rua"), vec!["mailto:tlsrpt@sts-ok.pol.test"]);
    assert_eq!(label("sts-testing.pol.test", "tls_rpt_status").as_deref(), Some("syntax_error"));
    assert_eq!(label("auth.pol.test", "tls_rpt_status").as_deref(), Some("none"));

    // SPF.
    let a = d("auth.pol.test");
    assert_eq!(
        (a["spf_outcome"].str(), a["spf_all"].str(), a["spf_lookups"].int(), a["spf_void_lookups"].int()),
        (Some("valid"), Some("fail"), Some(3), Some(0))
    );
    assert_eq!(a["spf_ipv4_authorized"].int(), Some(256 + 128 + 1));
    assert_eq!(
        (label("loop.pol.test", "spf_outcome"), label("loop.pol.test", "spf_permerror_reason")),
        (Some("permerror".into()), Some("too_many_lookups".into()))
    );
    assert_eq!(d("loop.pol.test")["spf_lookups"].int(), Some(11));
    assert!(d("loop.pol.test")["spf_ipv4_authorized"].is_null());
    assert_eq!(label("flaky.pol.test", "spf_outcome").as_deref(), Some("temperror"));
    assert_eq!(label("bare.sub.pol.test", "spf_outcome").as_deref(), Some("none"));

    // DMARC.
    assert_eq!(
        (a["dmarc_source"].str(), a["dmarc_effective_policy"].str(), a["dmarc_adkim"].str(), a["dmarc_aspf"].str()),
        (Some("domain"), Some("quarantine"), Some("strict"), Some("relaxed"))
    );
    assert_eq!((a["dmarc_fo"].str(), a["dmarc_ri"].int()), (Some("1"), Some(3600)));
    assert_eq!(strs("auth.pol.test", "dmarc_ruf"), vec!["mailto:f@other.test"]);
    assert_eq!(a["dmarc_external_reports"].str(), Some("some"));
    assert_eq!(strs("auth.pol.test", "dmarc_external_unauthorized"), vec!["other.test"]);
    let b = d("bare.sub.pol.test");
    assert_eq!(
        (
            b["dmarc_status"].str(),
            b["dmarc_source"].str(),
            b["dmarc_org_domain"].str(),
            b["dmarc_effective_policy"].str()
        ),
        (Some("valid"), Some("organizational_domain"), Some("pol.test"), Some("reject"))
    );
    assert!(scan.queries.asked("_dmarc.pol.test"));

    // DKIM.
    assert_eq!(
        (a["dkim_status"].str(), a["dkim_key_bits_min"].int(), a["dkim_testing"].bool()),
        (Some("found"), Some(1024), Some(false))
    );
    // One struct per key, in probing order: each key's facts together, not matched by position.
    let keys = |domain: &str| -> Vec<(String, String, Option<i64>, bool, bool)> {
        d(domain)["dkim_keys"]
            .list()
            .iter()
            .map(|k| {
                let mailcensus::testkit::dataset::Value::Struct(k) = k else { panic!("{k:?}") };
                (
                    k["selector"].str().unwrap().to_string(),
                    k["key_type"].str().unwrap().to_string(),
                    k["key_bits"].int(),
                    k["revoked"].bool().unwrap(),
                    k["testing"].bool().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        keys("auth.pol.test"),
        vec![("google".into(), "rsa".into(), Some(1024), false, false), ("s1".into(), "rsa".into(), None, true, false)]
    );
    assert_eq!(label("flaky.pol.test", "dkim_status").as_deref(), Some("temperror"));
    assert_eq!(strs("flaky.pol.test", "dkim_failed"), vec!["default"]);
    assert_eq!(label("bare.sub.pol.test", "dkim_status").as_deref(), Some("not_found"));
    // No _domainkey name at all: nothing below it exists (RFC 8020), so no selector is asked.
    assert_eq!(d("bare.sub.pol.test")["dkim_selectors_probed"].int(), Some(0));
    assert!(!scan.queries.asked("google._domainkey.bare.sub.pol.test"));
    let c = d("custom.pol.test");
    assert_eq!((c["dkim_status"].str(), c["dkim_testing"].bool()), (Some("found"), Some(true)));
    let custom: Vec<String> = keys("custom.pol.test").into_iter().map(|k| k.0).collect();
    assert_eq!(custom, vec!["brand2024"]);
    let builtin = mailcensus::policy::dkim::DEFAULT_SELECTORS.len() as i64;
    assert_eq!(
        (c["dkim_selectors_probed"].int(), a["dkim_selectors_probed"].int()),
        (Some(builtin + 2), Some(builtin))
    );

    // Gmail's "?" mark.
    assert_eq!(d("bare.sub.pol.test")["gmail_unauthenticated_risk"].bool(), Some(true));
    assert_eq!(a["gmail_unauthenticated_risk"].bool(), Some(false));
    assert_eq!(d("loop.pol.test")["gmail_unauthenticated_risk"].bool(), Some(true), "permerror SPF, no DKIM");
    assert!(d("flaky.pol.test")["gmail_unauthenticated_risk"].is_null(), "unknown, not true");
    w.assert_polite();
}
