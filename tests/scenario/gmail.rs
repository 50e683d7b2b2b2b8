//! Gmail's sender requirements, reverse DNS and BIMI (block 127.44.0.0/16): every readiness reason,
//! FCrDNS match, mismatch, no PTR and a failed lookup (which gives `unknown`, never `not_ready`),
//! every BIMI failure (record, DMARC enforcement, logo, mark certificate), the checkmark predicted
//! for a domain that has everything, one reverse lookup pair per address however many domains share
//! it, and `--no-ptr` / `--no-bimi` asking nothing. Read back from the Parquet.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use mailcensus::testkit::dns::{Fault, Zone};
use mailcensus::testkit::https::{FakeHttps, Reply};
use mailcensus::testkit::pki::{Mark, TestCa, Validity};
use mailcensus::testkit::smtp::{Behaviour, Posture};

use crate::world::World;

const HTTPS_PORT: u16 = 2443;
/// RFC 6376 appendix C's 1024-bit RSA key.
const RSA_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";

fn logo(colour: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" viewBox="0 0 10 10"><title>Brand</title><rect width="10" height="10" fill="{colour}"/></svg>"#
    )
}

/// How one BIMI domain is set up: the record, and what the BIMI host serves at its paths.
struct BimiCase {
    domain: &'static str,
    record: String,
    logo: Option<(u16, String)>,
    certificate: Option<String>,
    dmarc: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reverse_dns_and_bimi_are_judged() {
    let mut w = World::new(44);
    // One shared MX for most domains; its address confirms (PTR -> mx.shared.gm.test -> address).
    let shared_mx = "mx.shared.gm.test";
    let shared_ip = w.mx("shared.gm.test", shared_mx, Behaviour::new(Posture::NoStartTls)).await;
    w.zone.ptr(shared_ip, shared_mx);
    let dkim = format!("v=DKIM1; k=rsa; p={RSA_1024}");
    // A domain with everything Gmail asks for, sending through the shared MX.
    let good = |z: &mut Zone, d: &str, dmarc: &str| {
        z.mx(d, 10, shared_mx).txt(d, "v=spf1 mx -all").txt(&format!("default._domainkey.{d}"), &dkim);
        z.txt(&format!("_dmarc.{d}"), dmarc);
    };

    // Sender requirements and reverse DNS.
    // ready.gm.test also sends from a relay its SPF names as a single address.
    w.zone.mx("ready.gm.test", 10, shared_mx).txt("ready.gm.test", "v=spf1 mx ip4:127.44.200.1 -all");
    w.zone.txt("default._domainkey.ready.gm.test", &dkim).txt("_dmarc.ready.gm.test", "v=DMARC1; p=reject");
    w.zone.ptr("127.44.200.1".parse().unwrap(), "relay.gm.test").addr("relay.gm.test", "127.44.200.1".parse().unwrap());
    // Its own MX, whose PTR names a host that resolves elsewhere: mismatch. SPF, no DKIM, p=none.
    let mismatch_ip = w.mx("mismatch.gm.test", "mx.mismatch.gm.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.ptr(mismatch_ip, "dsl-1-2-3-4.isp.gm.test").addr("dsl-1-2-3-4.isp.gm.test", "127.44.250.1".parse().unwrap());
    w.zone.txt("mismatch.gm.test", "v=spf1 mx -all").txt("_dmarc.mismatch.gm.test", "v=DMARC1; p=none");
    // No PTR at all; no SPF; a DKIM key; no DMARC.
    w.mx("noptr.gm.test", "mx.noptr.gm.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.txt("default._domainkey.noptr.gm.test", &dkim);
    // The PTR lookup fails: unknown, never not_ready.
    let ptrfail_ip = w.mx("ptrfail.gm.test", "mx.ptrfail.gm.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.fault(&Zone::reverse_name(ptrfail_ip), Fault::ServFail);
    w.zone.txt("ptrfail.gm.test", "v=spf1 mx -all").txt("default._domainkey.ptrfail.gm.test", &dkim);
    w.zone.txt("_dmarc.ptrfail.gm.test", "v=DMARC1; p=none");
    // SPF's include fails and there is no DKIM key: unknown for all senders.
    w.zone.mx("spffail.gm.test", 10, shared_mx).txt("spffail.gm.test", "v=spf1 include:broken.gm.test -all");
    w.zone.fault("broken.gm.test", Fault::ServFail).txt("_dmarc.spffail.gm.test", "v=DMARC1; p=none");
    // The DKIM lookups fail and there is no SPF: unknown for all senders, not ready for bulk (no SPF).
    w.zone.mx("dkimfail.gm.test", 10, shared_mx).fault("default._domainkey.dkimfail.gm.test", Fault::ServFail);
    w.zone.txt("_dmarc.dkimfail.gm.test", "v=DMARC1; p=none");
    // The DMARC lookup fails; SPF and DKIM work: bulk senders unknown.
    w.zone.mx("dmarcfail.gm.test", 10, shared_mx).txt("dmarcfail.gm.test", "v=spf1 mx -all");
    w.zone.txt("default._domainkey.dmarcfail.gm.test", &dkim).fault("_dmarc.dmarcfail.gm.test", Fault::ServFail);
    // SPF permerror and no DKIM: not ready for anyone.
    w.zone.mx("noauth.gm.test", 10, shared_mx).txt("noauth.gm.test", "v=spf1 include:nothing.gm.test -all");

    // BIMI, served by one HTTPS host (its certificate from the world's CA); mark certificates from a
    // mark CA given with --bimi-ca-file, and one from another CA.
    let mark_ca = TestCa::new("mark CA");
    let stranger = TestCa::new("stranger CA");
    let vmc = |names: &[&str], svg: Option<&str>, validity, eku, ca: &TestCa, mark_type| {
        ca.mark_certificate(Mark { names, logo: svg.map(str::as_bytes), validity, mark_eku: eku, mark_type })
    };
    let red = logo("#c00");
    let script = red.replace("<rect", "<script>alert(1)</script><rect");
    let reg = "Registered Mark";
    let ok = |d: &'static str| BimiCase {
        domain: d,
        record: format!("v=BIMI1; l=https://bimi.gm.test/{d}/logo.svg; a=https://bimi.gm.test/{d}/vmc.pem"),
        logo: Some((200, red.clone())),
        certificate: Some(vmc(&[d], Some(&red), Validity::Current, true, &mark_ca, reg)),
        dmarc: "v=DMARC1; p=quarantine",
    };
    let cases = vec![
        ok("brand.gm.test"),
        BimiCase { logo: Some((404, "no".into())), ..ok("logo404.gm.test") },
        BimiCase {
            logo: Some((200, script.clone())),
            certificate: Some(vmc(&["logoscript.gm.test"], Some(&script), Validity::Current, true, &mark_ca, reg)),
            ..ok("logoscript.gm.test")
        },
        BimiCase { logo: Some((200, "<html>logo</html>".into())), ..ok("logohtml.gm.test") },
        BimiCase {
            certificate: Some(vmc(&["expired.gm.test"], Some(&red), Validity::Expired, true, &mark_ca, reg)),
            ..ok("expired.gm.test")
        },
        BimiCase {
            certificate: Some(vmc(&["other.gm.test"], Some(&red), Validity::Current, true, &mark_ca, reg)),
            ..ok("wrongname.gm.test")
        },
        BimiCase {
            certificate: Some(vmc(&["wronglogo.gm.test"], Some(&logo("#00c")), Validity::Current, true, &mark_ca, reg)),
            ..ok("wronglogo.gm.test")
        },
        BimiCase {
            certificate: Some(vmc(&["noeku.gm.test"], Some(&red), Validity::Current, false, &mark_ca, reg)),
            ..ok("noeku.gm.test")
        },
        BimiCase {
            certificate: Some(vmc(&["untrusted.gm.test"], Some(&red), Validity::Current, true, &stranger, reg)),
            ..ok("untrusted.gm.test")
        },
        BimiCase {
            certificate: Some(vmc(&["cmc.gm.test"], Some(&red), Validity::Current, true, &mark_ca, "Prior Use Mark")),
            ..ok("cmc.gm.test")
        },
        BimiCase { certificate: Some("this is not PEM".into()), ..ok("badpem.gm.test") },
        BimiCase { certificate: None, ..ok("certmissing.gm.test") },
        BimiCase { record: "v=BIMI1; l=https://bimi.gm.test/nocert/logo.svg".into(), ..ok("noauthority.gm.test") },
        BimiCase {
            record: "v=BIMI1; l=https://bimi.gm.test/x/logo.svg; a=https://nohost.gm.test/vmc.pem".into(),
            ..ok("certnoaddr.gm.test")
        },
        BimiCase { dmarc: "v=DMARC1; p=quarantine; pct=50", ..ok("pct.gm.test") },
        BimiCase { dmarc: "v=DMARC1; p=none", ..ok("monitor.gm.test") },
        BimiCase { record: "v=BIMI1; l=; a=;".into(), ..ok("declined.gm.test") },
        BimiCase { record: "v=BIMI1; l=http://bimi.gm.test/l.svg".into(), ..ok("bimiinvalid.gm.test") },
    ];
    let mut files: std::collections::HashMap<String, (u16, String, String)> = std::collections::HashMap::new();
    for c in &cases {
        good(&mut w.zone, c.domain, c.dmarc);
        w.zone.txt(&format!("default._bimi.{}", c.domain), &c.record);
        if let Some((status, body)) = &c.logo {
            files.insert(format!("/{}/logo.svg", c.domain), (*status, "image/svg+xml".into(), body.clone()));
        }
        if let Some(pem) = &c.certificate {
            files.insert(
                format!("/{}/vmc.pem", c.domain),
                (200, "application/pem-certificate-chain".into(), pem.clone()),
            );
        }
    }
    files.insert("/nocert/logo.svg".into(), (200, "image/svg+xml".into(), red.clone()));
    files.insert("/x/logo.svg".into(), (200, "image/svg+xml".into(), red.clone()));
    good(&mut w.zone, "bimifail.gm.test", "v=DMARC1; p=reject");
    w.zone.fault("default._bimi.bimifail.gm.test", Fault::ServFail);
    w.zone.exists("nohost.gm.test");
    let bimi_ip = w.block.next_ip();
    w.zone.addr("bimi.gm.test", bimi_ip);
    let files = Arc::new(files);
    let served = files.clone();
    let _https = FakeHttps::spawn(
        SocketAddr::new(bimi_ip, HTTPS_PORT),
        w.ca.leaf(&["bimi.gm.test"], Validity::Current).server_config(false),
        Reply::Dynamic(Arc::new(move |_host: &str, path: &str| {
            served.get(path).cloned().unwrap_or((404, "text/plain".into(), "not here".into()))
        })),
    )
    .await
    .unwrap();

    let mut domains: Vec<&str> = vec![
        "ready.gm.test",
        "mismatch.gm.test",
        "noptr.gm.test",
        "ptrfail.gm.test",
        "spffail.gm.test",
        "noauth.gm.test",
        "dkimfail.gm.test",
        "dmarcfail.gm.test",
    ];
    domains.extend(cases.iter().map(|c| c.domain));
    domains.push("bimifail.gm.test");
    let input = format!("domain\n{}\n", domains.join("\n"));
    let roots = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::pem_slice_iter(mark_ca.pem().as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    };
    let scan = w
        .scan("gmail", &input, |c| {
            c.https_port = HTTPS_PORT;
            c.https_timeout = std::time::Duration::from_secs(3);
            c.limits.https.per_ip_rate = 1000.0;
            c.limits.https.per_ip_connections = 8;
            c.bimi_roots = Some(Arc::new(roots));
        })
        .await;
    assert_eq!(scan.domains.len(), domains.len());
    let d = |name: &str| scan.domain(name);
    let label = |name: &str, col: &str| d(name)[col].str().map(str::to_string).unwrap_or_else(|| "null".into());
    let list = |name: &str, col: &str| {
        d(name)[col].list().iter().filter_map(|v| v.str().map(str::to_string)).collect::<Vec<_>>().join(",")
    };

    // Readiness: (domain, all senders, reasons, bulk senders, reasons, ptr_status).
    let readiness: Vec<(&str, &str, &str, &str, &str, &str)> = vec![
        ("ready.gm.test", "ready", "", "ready", "", "all_match"),
        ("mismatch.gm.test", "not_ready", "fcrdns_mismatch", "not_ready", "no_dkim,fcrdns_mismatch", "mismatch"),
        ("noptr.gm.test", "not_ready", "no_ptr", "not_ready", "no_spf,no_dmarc,no_ptr", "no_ptr"),
        ("ptrfail.gm.test", "unknown", "ptr_lookup_failed", "unknown", "ptr_lookup_failed", "unknown"),
        ("spffail.gm.test", "unknown", "spf_lookup_failed", "not_ready", "no_dkim,spf_lookup_failed", "all_match"),
        ("noauth.gm.test", "not_ready", "no_spf_or_dkim", "not_ready", "no_spf,no_dkim,no_dmarc", "all_match"),
        ("dkimfail.gm.test", "unknown", "dkim_lookup_failed", "not_ready", "no_spf,dkim_lookup_failed", "all_match"),
        ("dmarcfail.gm.test", "ready", "", "unknown", "dmarc_lookup_failed", "all_match"),
        ("brand.gm.test", "ready", "", "ready", "", "all_match"),
    ];
    for (name, all, all_why, bulk, bulk_why, ptr) in readiness {
        assert_eq!(
            (
                label(name, "gmail_all_senders"),
                list(name, "gmail_all_senders_reasons"),
                label(name, "gmail_bulk_senders"),
                list(name, "gmail_bulk_senders_reasons"),
                label(name, "ptr_status"),
            ),
            (all.into(), all_why.into(), bulk.into(), bulk_why.into(), ptr.into()),
            "{name}: {:?}",
            d(name)["ptr_detail"]
        );
    }
    // ready.gm.test's relay, authorised by SPF as a single host, confirms too; the shared MX is
    // judged once however many domains use it.
    assert_eq!(list("ready.gm.test", "spf_single_hosts"), format!("{shared_ip},127.44.200.1"));
    assert_eq!(d("ready.gm.test")["ptr_addresses"].int(), Some(2));
    assert_eq!(scan.queries.times_asked(&Zone::reverse_name(shared_ip)), 1, "one PTR lookup for the shared address");
    let mx = scan.mx_row("mismatch.gm.test");
    assert_eq!((mx["ptr_fcrdns"].str(), mx["ptr_name"].str()), (Some("mismatch"), Some("dsl-1-2-3-4.isp.gm.test")));
    assert!(mx["ptr_detail"].str().unwrap().contains("127.44.250.1"), "{:?}", mx["ptr_detail"]);
    let mx = scan.mx_row("ready.gm.test");
    assert_eq!((mx["ptr_fcrdns"].str(), mx["ptr_name"].str()), (Some("match"), Some(shared_mx)));
    assert_eq!(scan.mx_row("noptr.gm.test")["ptr_fcrdns"].str(), Some("no_ptr"));
    assert_eq!(scan.mx_row("ptrfail.gm.test")["ptr_fcrdns"].str(), Some("lookup_failed"));

    // BIMI: (domain, bimi_status, logo fetch, logo, certificate fetch, certificate, verdict, missing).
    type BimiRow = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );
    let bimi: Vec<BimiRow> = vec![
        ("brand.gm.test", "valid", "ok", "tiny_ps", "ok", "valid", "predicted", ""),
        ("logo404.gm.test", "valid", "http_status", "null", "ok", "valid", "not_predicted", "logo_unavailable"),
        ("logoscript.gm.test", "valid", "ok", "script", "ok", "valid", "not_predicted", "logo_not_tiny_ps"),
        (
            "logohtml.gm.test",
            "valid",
            "ok",
            "not_svg",
            "ok",
            "logo_mismatch",
            "not_predicted",
            "logo_not_tiny_ps,certificate_invalid",
        ),
        ("expired.gm.test", "valid", "ok", "tiny_ps", "ok", "expired", "not_predicted", "certificate_invalid"),
        ("wrongname.gm.test", "valid", "ok", "tiny_ps", "ok", "name_mismatch", "not_predicted", "certificate_invalid"),
        ("wronglogo.gm.test", "valid", "ok", "tiny_ps", "ok", "logo_mismatch", "not_predicted", "certificate_invalid"),
        (
            "noeku.gm.test",
            "valid",
            "ok",
            "tiny_ps",
            "ok",
            "not_mark_certificate",
            "not_predicted",
            "certificate_invalid",
        ),
        ("untrusted.gm.test", "valid", "ok", "tiny_ps", "ok", "untrusted", "not_predicted", "certificate_untrusted"),
        ("cmc.gm.test", "valid", "ok", "tiny_ps", "ok", "valid", "not_predicted", "common_mark_certificate"),
        ("badpem.gm.test", "valid", "ok", "tiny_ps", "ok", "bad_pem", "not_predicted", "certificate_invalid"),
        (
            "certmissing.gm.test",
            "valid",
            "ok",
            "tiny_ps",
            "http_status",
            "null",
            "not_predicted",
            "certificate_unavailable",
        ),
        (
            "noauthority.gm.test",
            "valid",
            "ok",
            "tiny_ps",
            "not_fetched",
            "null",
            "not_predicted",
            "no_mark_certificate",
        ),
        (
            "certnoaddr.gm.test",
            "valid",
            "ok",
            "tiny_ps",
            "no_address",
            "null",
            "not_predicted",
            "certificate_unavailable",
        ),
        ("pct.gm.test", "valid", "ok", "tiny_ps", "ok", "valid", "not_predicted", "dmarc_not_enforced"),
        ("monitor.gm.test", "valid", "ok", "tiny_ps", "ok", "valid", "not_predicted", "dmarc_not_enforced"),
        (
            "declined.gm.test",
            "declined",
            "not_fetched",
            "null",
            "not_fetched",
            "null",
            "not_predicted",
            "bimi_declined",
        ),
        (
            "bimiinvalid.gm.test",
            "syntax_error",
            "not_fetched",
            "null",
            "not_fetched",
            "null",
            "not_predicted",
            "bimi_invalid",
        ),
        (
            "bimifail.gm.test",
            "temperror",
            "not_fetched",
            "null",
            "not_fetched",
            "null",
            "unknown",
            "bimi_lookup_failed",
        ),
        ("ready.gm.test", "none", "not_fetched", "null", "not_fetched", "null", "not_predicted", "no_bimi_record"),
        (
            "dmarcfail.gm.test",
            "none",
            "not_fetched",
            "null",
            "not_fetched",
            "null",
            "not_predicted",
            "no_bimi_record,dmarc_lookup_failed",
        ),
        (
            "mismatch.gm.test",
            "none",
            "not_fetched",
            "null",
            "not_fetched",
            "null",
            "not_predicted",
            "no_bimi_record,dmarc_not_enforced",
        ),
    ];
    for (name, status, logo_fetch, logo, cert_fetch, cert, verdict, missing) in bimi {
        assert_eq!(
            (
                label(name, "bimi_status"),
                label(name, "bimi_logo_fetch"),
                label(name, "bimi_logo"),
                label(name, "bimi_certificate_fetch"),
                label(name, "bimi_certificate"),
                label(name, "gmail_checkmark_predicted"),
                list(name, "gmail_checkmark_missing"),
            ),
            (
                status.into(),
                logo_fetch.into(),
                logo.into(),
                cert_fetch.into(),
                cert.into(),
                verdict.into(),
                missing.into()
            ),
            "{name}: {:?} {:?}",
            d(name)["bimi_detail"],
            d(name)["bimi_fetch_detail"]
        );
    }
    assert_eq!(label("brand.gm.test", "bimi_mark_type"), "Registered Mark");
    assert_eq!(d("brand.gm.test")["bimi_dmarc_enforced"].bool(), Some(true));
    assert_eq!(d("pct.gm.test")["bimi_dmarc_enforced"].bool(), Some(false));
    assert_eq!(
        label("brand.gm.test", "bimi_logo_sha256"),
        mailcensus::policy::bimi::sha256_hex(red.as_bytes()),
        "the logo's hash"
    );
    w.assert_polite();

    // The report: shares over the domains whose verdict is known, fixes in order, in both languages.
    let report = mailcensus::report::run(&scan.out, mailcensus::report::grade::Lang::En).unwrap();
    let all = &report.groups[mailcensus::report::ALL];
    let share = |m: &str| {
        let t = &all.tallies[mailcensus::report::metric_index(m)];
        (t.hits, t.n)
    };
    // 21 ready, 3 not ready (mismatch, noptr, noauth); ptrfail, spffail and dkimfail unknown: left out.
    assert_eq!(share("gmail_all_senders_ready"), (21.0, 24));
    // Only brand.gm.test; bimifail.gm.test is unknown.
    assert_eq!(share("gmail_checkmark_predicted"), (1.0, 26));
    let gmail_csv = std::fs::read_to_string(scan.out.join("report/gmail.csv")).unwrap();
    assert!(gmail_csv.starts_with("group,domains,all_senders_ready_share,"), "{gmail_csv}");
    let domains_csv = std::fs::read_to_string(scan.out.join("report/domains.csv")).unwrap();
    let line = |d: &str| domains_csv.lines().find(|l| l.starts_with(&format!("{d},"))).unwrap().to_string();
    assert!(
        line("mismatch.gm.test")
            .contains(",not_ready,not_ready,not_predicted,fcrdns;dkim;dmarc_enforcement;publish_bimi,"),
        "{}",
        line("mismatch.gm.test")
    );
    assert!(line("brand.gm.test").contains(",ready,ready,predicted,,"), "{}", line("brand.gm.test"));
    assert!(line("ptrfail.gm.test").contains(",unknown,unknown,no"), "{}", line("ptrfail.gm.test"));
    let page = std::fs::read_to_string(scan.out.join("report/index.html")).unwrap();
    assert!(page.contains(r#"id="gmail-groups""#) && page.contains(r#"id="def-gmail_checkmark_predicted""#));
    let ja = scan.out.join("report-ja");
    mailcensus::report::run_into(&scan.out, &ja, mailcensus::report::grade::Lang::Ja).unwrap();
    let domains_ja = std::fs::read_to_string(ja.join("domains.csv")).unwrap();
    assert!(domains_ja.contains("逆引き"), "the Japanese remedies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ptr_and_no_bimi_ask_nothing() {
    let mut w = World::new(45);
    let ip: IpAddr = w.mx("off.gm.test", "mx.off.gm.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.ptr(ip, "mx.off.gm.test");
    w.zone.txt("off.gm.test", "v=spf1 mx -all").txt("default._bimi.off.gm.test", "v=BIMI1; l=https://x.gm.test/l.svg");
    // DMARC at enforcement: with BIMI off nothing certain is missing, so the checkmark is not_checked.
    w.zone.txt("_dmarc.off.gm.test", "v=DMARC1; p=reject");
    let scan = w
        .scan("gmail-off", "off.gm.test\n", |c| {
            c.ptr = false;
            c.bimi = false;
        })
        .await;
    assert!(!scan.queries.asked(&Zone::reverse_name(ip)), "no PTR lookup");
    assert!(!scan.queries.asked("default._bimi.off.gm.test"), "no BIMI lookup");
    let d = scan.domain("off.gm.test");
    assert_eq!(
        (d["ptr_status"].str(), d["bimi_status"].str(), d["gmail_checkmark_predicted"].str()),
        (Some("not_queried"), Some("not_queried"), Some("not_checked"))
    );
    assert_eq!(d["gmail_all_senders"].str(), Some("not_checked"));
    assert_eq!(scan.mx_row("off.gm.test")["ptr_fcrdns"].str(), Some("not_queried"));
}
