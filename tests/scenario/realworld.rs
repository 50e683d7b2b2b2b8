//! The real-server suite (block 127.30.0.0/16): postfix, unbound and nsd brought up by
//! `scripts/realworld/up.sh` (which `.ci/run` runs), scanned through the real pipeline, and every
//! domain and MX checked against the exact expected result. Ignored in the ordinary run; run it with
//! `cargo nextest run --run-ignored only -E 'test(realworld)'` once the servers are up.

use std::path::PathBuf;
use std::time::Duration;

use mailcensus::config::ScanConfig;
use mailcensus::input::InputSource;
use mailcensus::scan;
use mailcensus::testkit::dataset::read_rows;

use crate::world::test_dir;

fn realworld_dir() -> PathBuf {
    let dir = PathBuf::from(std::env::var("RW_DIR").unwrap_or_else(|_| "/tmp/mailcensus-realworld".into()));
    assert!(
        dir.join("env").exists(),
        "the real servers are not up: run scripts/realworld/up.sh first (as root), or leave this test ignored"
    );
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real servers of scripts/realworld/up.sh"]
async fn realworld_postfix_unbound_nsd() {
    let rw = realworld_dir();
    let domains = [
        "valid.rw.test",
        "selfsigned.rw.test",
        "expired.rw.test",
        "mismatch.rw.test",
        "nostarttls.rw.test",
        "tls12.rw.test",
        "postscreen.rw.test",
        "nullmx.rw.test",
        "implicit.rw.test",
        "bogus.rw.test",
        "missing.rw.test",
        "plain.test",
        "clients.rw.test",
        "clientplain.rw.test",
        "viamx.plain.test",
        "brand.rw.test",
    ];
    let dir = test_dir("realworld");
    let input = dir.join("input.csv");
    std::fs::write(&input, format!("domain\n{}\n", domains.join("\n"))).unwrap();
    let mut c = ScanConfig::new(InputSource::File(input), dir.join("out"));
    c.dns.resolvers = vec!["127.30.53.2:53".parse().unwrap()];
    c.dns.trust_anchor = Some(rw.join("trust-anchor.txt"));
    c.dns.timeout = Duration::from_secs(3);
    c.ca_files = vec![rw.join("pki/ca.pem")];
    c.bimi_roots = Some(std::sync::Arc::new(
        mailcensus::testkit::pki::read_pem_certificates(&rw.join("pki/mark-ca.pem")).unwrap(),
    ));
    c.smtp.port = 25;
    c.smtp.ehlo_name = "scanner.rw.test".into();
    c.smtp.read_timeout = Duration::from_secs(10);
    c.https_timeout = Duration::from_secs(2);
    c.guard.allow_private = true;
    c.progress = false;
    let out = c.out.clone();
    let summary = scan::run(c).await.expect("scan runs");
    assert!(summary.complete);
    let rows = read_rows(&out.join("domains")).unwrap();
    let mx = read_rows(&out.join("mx_hosts")).unwrap();
    assert_eq!(rows.len(), domains.len());

    // domain: mx_source, starttls, tls_version_min, tls_cert_valid, spf_outcome, dmarc_effective_policy,
    // dnssec_status, dane, gmail_red_lock
    type Want = (
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
        &'static str,
        Option<bool>,
    );
    let want: &[(&str, Want)] = &[
        (
            "valid.rw.test",
            ("explicit", "all", Some("tls1_3"), "all", "valid", Some("reject"), "secure", "all", Some(false)),
        ),
        (
            "selfsigned.rw.test",
            ("explicit", "all", Some("tls1_3"), "none", "permerror", Some("reject"), "secure", "n_a", Some(false)),
        ),
        (
            "expired.rw.test",
            ("explicit", "all", Some("tls1_3"), "none", "none", Some("reject"), "secure", "n_a", Some(false)),
        ),
        (
            "mismatch.rw.test",
            ("explicit", "all", Some("tls1_3"), "none", "none", Some("reject"), "secure", "n_a", Some(false)),
        ),
        ("nostarttls.rw.test", ("explicit", "none", None, "n_a", "none", Some("reject"), "secure", "n_a", Some(true))),
        (
            "tls12.rw.test",
            ("explicit", "all", Some("tls1_2"), "all", "none", Some("reject"), "secure", "n_a", Some(false)),
        ),
        (
            "postscreen.rw.test",
            ("explicit", "all", Some("tls1_3"), "all", "none", Some("reject"), "secure", "n_a", Some(false)),
        ),
        ("nullmx.rw.test", ("null_mx", "no_mx", None, "n_a", "valid", Some("reject"), "secure", "n_a", None)),
        (
            "implicit.rw.test",
            ("implicit", "all", Some("tls1_3"), "none", "none", Some("reject"), "secure", "n_a", Some(false)),
        ),
        // unbound validates and answers SERVFAIL for bogus data: the scan cannot see it, and says so.
        ("bogus.rw.test", ("unknown", "dns_failed", None, "n_a", "none", Some("reject"), "lookup_failed", "n_a", None)),
        ("missing.rw.test", ("none", "no_mx", None, "n_a", "none", Some("reject"), "secure", "n_a", None)),
        ("plain.test", ("explicit", "all", Some("tls1_3"), "none", "valid", None, "insecure", "n_a", Some(false))),
        (
            "clients.rw.test",
            ("explicit", "all", Some("tls1_3"), "all", "none", Some("reject"), "secure", "all", Some(false)),
        ),
        (
            "clientplain.rw.test",
            ("explicit", "all", Some("tls1_3"), "all", "none", Some("reject"), "secure", "all", Some(false)),
        ),
        ("viamx.plain.test", ("explicit", "all", Some("tls1_3"), "none", "none", None, "insecure", "n_a", Some(false))),
        (
            "brand.rw.test",
            ("explicit", "all", Some("tls1_3"), "all", "valid", Some("reject"), "secure", "all", Some(false)),
        ),
    ];
    for (domain, w) in want {
        let r = rows.iter().find(|r| r["domain"].str() == Some(domain)).unwrap_or_else(|| panic!("no row {domain}"));
        let got: Want = (
            leak(r["mx_source"].str()),
            leak(r["starttls"].str()),
            r["tls_version_min"].str().map(|s| leak(Some(s))),
            leak(r["tls_cert_valid"].str()),
            leak(r["spf_outcome"].str()),
            r["dmarc_effective_policy"].str().map(|s| leak(Some(s))),
            leak(r["dnssec_status"].str()),
            leak(r["dane"].str()),
            r["gmail_red_lock"].bool(),
        );
        assert_eq!(&got, w, "{domain}");
    }
    let d = |name: &str, col: &str| {
        rows.iter().find(|r| r["domain"].str() == Some(name)).unwrap()[col].str().map(str::to_string)
    };
    assert_eq!(d("selfsigned.rw.test", "spf_permerror_reason").as_deref(), Some("include_without_record"));
    assert_eq!(d("valid.rw.test", "dmarc_source").as_deref(), Some("domain"));
    assert_eq!(d("expired.rw.test", "dmarc_source").as_deref(), Some("organizational_domain"));
    assert_eq!(d("valid.rw.test", "tls_rpt_status").as_deref(), Some("valid"));
    assert_eq!(d("valid.rw.test", "mta_sts_fetch").as_deref(), Some("no_address"));

    // mx_hosts: tls_cert_verdict, mx_dnssec, tlsa_outcome, tlsa_dnssec, dane_valid
    type WantMx = (&'static str, Option<&'static str>, &'static str, &'static str, &'static str, Option<bool>);
    let want_mx: &[WantMx] = &[
        ("valid.rw.test", Some("valid"), "secure", "found", "secure", Some(true)),
        ("selfsigned.rw.test", Some("self_signed"), "secure", "nxdomain", "secure", None),
        ("expired.rw.test", Some("expired"), "secure", "nxdomain", "secure", None),
        ("mismatch.rw.test", Some("name_mismatch"), "secure", "nxdomain", "secure", None),
        ("nostarttls.rw.test", None, "secure", "nxdomain", "secure", None),
        ("tls12.rw.test", Some("valid"), "secure", "nxdomain", "secure", None),
        ("postscreen.rw.test", Some("valid"), "secure", "nxdomain", "secure", None),
        ("implicit.rw.test", Some("name_mismatch"), "secure", "nxdomain", "secure", None),
        ("plain.test", Some("name_mismatch"), "insecure", "nxdomain", "insecure", None),
        ("clients.rw.test", Some("valid"), "secure", "found", "secure", Some(true)),
        ("clientplain.rw.test", Some("valid"), "secure", "found", "secure", Some(true)),
        ("viamx.plain.test", Some("name_mismatch"), "insecure", "nxdomain", "insecure", None),
        ("brand.rw.test", Some("valid"), "secure", "found", "secure", Some(true)),
    ];
    assert_eq!(mx.len(), want_mx.len(), "one MX row per domain that accepts mail");
    for (domain, verdict, dnssec, tlsa, tlsa_dnssec, dane) in want_mx {
        let r = mx.iter().find(|r| r["domain"].str() == Some(domain)).unwrap_or_else(|| panic!("no mx row {domain}"));
        assert_eq!(r["probe_status"].str(), Some("done"), "{domain}: {:?}", r["probe_detail"]);
        assert_eq!(r["smtp_banner_code"].int(), Some(220), "{domain}");
        assert_eq!(
            (
                r["tls_cert_verdict"].str(),
                r["mx_dnssec"].str(),
                r["tlsa_outcome"].str(),
                r["tlsa_dnssec"].str(),
                r["dane_valid"].bool()
            ),
            (*verdict, Some(*dnssec), Some(*tlsa), Some(*tlsa_dnssec), *dane),
            "{domain}"
        );
        assert_eq!(r["smtp_starttls_offered"].bool(), Some(verdict.is_some()), "{domain}");
    }
    // postscreen: a multi-line greeting whose last line comes after its 2 s pregreet wait; the
    // scanner waited for it without talking first (else postscreen would have dropped it).
    let ps = mx.iter().find(|r| r["domain"].str() == Some("postscreen.rw.test")).unwrap();
    assert!(ps["probe_duration_ms"].int().unwrap() >= 1900, "{:?}", ps["probe_duration_ms"]);
    assert!(ps["smtp_banner"].str().unwrap().contains('\n'), "{:?}", ps["smtp_banner"]);
    check_clients(&out, &rows);
    check_gmail(&rows, &mx);
}

/// Reverse DNS from nsd's 30.127.in-addr.arpa through unbound, the readiness verdicts, and BIMI with
/// its logo and VMC served by openssl s_server.
fn check_gmail(rows: &[mailcensus::testkit::dataset::Row], mx: &[mailcensus::testkit::dataset::Row]) {
    // (domain, ptr_fcrdns of its MX address, ptr_status, gmail_all_senders, its reasons)
    let want: &[(&str, Option<&str>, &str, &str, &str)] = &[
        ("valid.rw.test", Some("match"), "all_match", "ready", ""),
        ("selfsigned.rw.test", Some("match"), "all_match", "not_ready", "no_spf_or_dkim"),
        ("expired.rw.test", Some("no_ptr"), "no_ptr", "not_ready", "no_spf_or_dkim;no_ptr"),
        ("mismatch.rw.test", Some("mismatch"), "mismatch", "not_ready", "no_spf_or_dkim;fcrdns_mismatch"),
        ("nostarttls.rw.test", Some("match"), "all_match", "not_ready", "no_spf_or_dkim"),
        ("nullmx.rw.test", None, "no_hosts", "ready", ""),
        ("bogus.rw.test", None, "unknown", "not_ready", "no_spf_or_dkim;ptr_lookup_failed"),
        ("plain.test", Some("match"), "all_match", "ready", ""),
        ("brand.rw.test", Some("match"), "all_match", "ready", ""),
    ];
    let row = |d: &str| rows.iter().find(|r| r["domain"].str() == Some(d)).unwrap();
    let list = |r: &mailcensus::testkit::dataset::Row, c: &str| {
        r[c].list().iter().filter_map(|v| v.str()).collect::<Vec<_>>().join(";")
    };
    for (domain, fcrdns, status, all, reasons) in want {
        let r = row(domain);
        let m = mx.iter().find(|m| m["domain"].str() == Some(domain));
        assert_eq!(
            (
                m.and_then(|m| m["ptr_fcrdns"].str()),
                r["ptr_status"].str(),
                r["gmail_all_senders"].str(),
                list(r, "gmail_all_senders_reasons")
            ),
            (*fcrdns, Some(*status), Some(*all), reasons.to_string()),
            "{domain}: {:?}",
            r["ptr_detail"]
        );
    }
    let m = mx.iter().find(|m| m["domain"].str() == Some("mismatch.rw.test")).unwrap();
    assert_eq!(m["ptr_name"].str(), Some("dsl-127-30-0-5.access.plain.test"));
    let b = row("brand.rw.test");
    assert_eq!(
        (
            b["bimi_status"].str(),
            b["bimi_logo_fetch"].str(),
            b["bimi_logo"].str(),
            b["bimi_certificate_fetch"].str(),
            b["bimi_certificate"].str(),
            b["bimi_mark_type"].str(),
            b["gmail_checkmark_predicted"].str(),
        ),
        (
            Some("valid"),
            Some("ok"),
            Some("tiny_ps"),
            Some("ok"),
            Some("valid"),
            Some("Registered Mark"),
            Some("predicted")
        ),
        "{:?} {:?}",
        b["bimi_detail"],
        b["bimi_fetch_detail"]
    );
    assert_eq!(list(b, "gmail_bulk_senders_reasons"), "no_dkim");
    assert_eq!(row("valid.rw.test")["gmail_checkmark_predicted"].str(), Some("not_predicted"));
}

/// The client side against dovecot and postfix submission, published with SRV records, and found
/// through the MX's provider for a domain that publishes nothing.
fn check_clients(out: &std::path::Path, rows: &[mailcensus::testkit::dataset::Row]) {
    let mut clients = read_rows(&out.join("client_endpoints")).unwrap();
    // viamx.plain.test publishes nothing; its MX is at mailprov.test, whose conventional names are
    // dovecot (imap.) and postfix submission (smtp.): found as guesses under the provider, judged
    // against certificates made for the rw.test names.
    let (viamx, srv): (Vec<_>, Vec<_>) = clients.drain(..).partition(|r| r["domain"].str() == Some("viamx.plain.test"));
    clients = srv;
    let v = d_row(rows, "viamx.plain.test");
    assert_eq!(
        (v["client_tls"].str(), v["client_config_source"].str(), v["mx_provider"].str()),
        (Some("all"), Some("guess_mx"), Some("mailprov.test"))
    );
    let mut got: Vec<(String, String, i64)> = viamx
        .iter()
        .map(|r| {
            assert_eq!(
                (r["client_source"].str(), r["probe_status"].str(), r["tls_version"].str()),
                (Some("guess_mx"), Some("done"), Some("tls1_3")),
                "{r:#?}"
            );
            assert_eq!(r["tls_cert_verdict"].str(), Some("name_mismatch"), "{r:#?}");
            let s = |c: &str| r[c].str().unwrap().to_string();
            (s("client_host"), s("client_protocol"), r["client_port"].int().unwrap())
        })
        .collect();
    got.sort();
    let want_viamx: Vec<(String, String, i64)> = [
        ("imap.mailprov.test", "imap", 143),
        ("imap.mailprov.test", "imaps", 993),
        ("smtp.mailprov.test", "submission", 587),
        ("smtp.mailprov.test", "submissions", 465),
    ]
    .iter()
    .map(|(h, p, n)| (h.to_string(), p.to_string(), *n))
    .collect();
    assert_eq!(got, want_viamx);
    let d = |name: &str| rows.iter().find(|r| r["domain"].str() == Some(name)).unwrap();
    assert_eq!(
        (d("clients.rw.test")["client_tls"].str(), d("clients.rw.test")["client_plaintext_auth"].bool()),
        (Some("all"), Some(false))
    );
    assert_eq!(d("clients.rw.test")["client_endpoint_count"].int(), Some(6));
    assert_eq!(
        (d("clientplain.rw.test")["client_tls"].str(), d("clientplain.rw.test")["client_plaintext_auth"].bool()),
        (Some("some"), Some(true))
    );
    let not_offered: Vec<String> = d("clientplain.rw.test")["client_srv_not_offered"]
        .list()
        .iter()
        .filter_map(|v| v.str().map(str::to_string))
        .collect();
    assert_eq!(not_offered, vec!["submissions", "imaps", "pop3s"]);
    assert_eq!(d("valid.rw.test")["client_tls"].str(), Some("not_found"));
    // (domain, protocol, port, tls_version, starttls_offered, plaintext_auth)
    type WantClient = (&'static str, &'static str, i64, Option<&'static str>, Option<bool>, Option<bool>);
    let want: &[WantClient] = &[
        ("clients.rw.test", "submissions", 465, Some("tls1_3"), None, None),
        ("clients.rw.test", "submission", 587, Some("tls1_3"), Some(true), Some(false)),
        ("clients.rw.test", "imaps", 993, Some("tls1_3"), None, None),
        ("clients.rw.test", "imap", 143, Some("tls1_3"), Some(true), Some(false)),
        ("clients.rw.test", "pop3s", 995, Some("tls1_3"), None, None),
        // dovecot lists an empty SASL before STLS when plaintext authentication is off.
        ("clients.rw.test", "pop3", 110, Some("tls1_3"), Some(true), Some(false)),
        ("clientplain.rw.test", "submission", 587, None, Some(false), Some(true)),
        ("clientplain.rw.test", "imap", 143, Some("tls1_3"), Some(true), Some(true)),
        ("clientplain.rw.test", "pop3", 110, Some("tls1_3"), Some(true), Some(true)),
    ];
    assert_eq!(clients.len(), want.len(), "{clients:#?}");
    for (domain, protocol, port, version, offered, plain) in want {
        let r = clients
            .iter()
            .find(|r| r["domain"].str() == Some(domain) && r["client_protocol"].str() == Some(protocol))
            .unwrap_or_else(|| panic!("no client row {domain} {protocol}"));
        assert_eq!(
            (
                r["client_port"].int(),
                r["client_source"].str(),
                r["probe_status"].str(),
                r["tls_version"].str(),
                r["client_starttls_offered"].bool(),
                r["client_plaintext_auth"].bool()
            ),
            (Some(*port), Some("srv"), Some("done"), *version, *offered, *plain),
            "{domain} {protocol}: {r:#?}"
        );
        if version.is_some() {
            assert_eq!(r["tls_cert_verdict"].str(), Some("valid"), "{domain} {protocol}");
        }
    }
}

fn d_row<'a>(rows: &'a [mailcensus::testkit::dataset::Row], name: &str) -> &'a mailcensus::testkit::dataset::Row {
    rows.iter().find(|r| r["domain"].str() == Some(name)).unwrap_or_else(|| panic!("no row {name}"))
}

/// The label as a `&'static str` for the comparison tuple (a test, a handful of strings).
fn leak(s: Option<&str>) -> &'static str {
    Box::leak(s.unwrap_or("<null>").to_string().into_boxed_str())
}
