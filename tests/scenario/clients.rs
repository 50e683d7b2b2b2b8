//! Client-to-server endpoints (block 127.27.0.0/16): SRV records (with "." for "not offered"), an
//! autoconfig file served over HTTPS, conventional names as guesses, and fake IMAP, POP3 and
//! submission servers with and without STARTTLS and with authentication before TLS. No credential is
//! ever sent.

use std::net::SocketAddr;

use mailcensus::probe::client::Protocol;
use mailcensus::testkit::dataset::Row;
use mailcensus::testkit::https::{FakeHttps, Reply};
use mailcensus::testkit::mailbox::{FakeMailbox, Service};
use mailcensus::testkit::pki::Validity;
use mailcensus::testkit::smtp::{Behaviour, Posture};

use crate::world::World;

const HTTPS_PORT: u16 = 2443;

/// Test ports standing in for 465, 587, 993, 143, 995, 110.
fn port(p: Protocol) -> u16 {
    20_000 + p.default_port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_endpoints_are_found_and_probed() {
    let mut w = World::new(27);
    let mut servers: Vec<FakeMailbox> = Vec::new();
    let mut spawn = async |ip, p: Protocol, service| {
        servers.push(FakeMailbox::spawn(SocketAddr::new(ip, port(p)), service).await.unwrap());
    };
    // A provider's hosts, shared by srv.cli.test and srv2.cli.test through SRV.
    let (imap_ip, smtp_ip) = (w.block.next_ip(), w.block.next_ip());
    w.zone.addr("imap.prov.test", imap_ip).addr("smtp.prov.test", smtp_ip);
    let imap_cert = w.ca.leaf(&["imap.prov.test"], Validity::Current).server_config(false);
    let smtp_cert = w.ca.leaf(&["smtp.prov.test"], Validity::Current).server_config(false);
    spawn(imap_ip, Protocol::Imaps, Service::Imaps(imap_cert.clone())).await;
    spawn(imap_ip, Protocol::Imap, Service::Imap { starttls: Some(imap_cert), login_disabled: true }).await;
    spawn(smtp_ip, Protocol::Submissions, Service::Submissions(smtp_cert.clone())).await;
    spawn(smtp_ip, Protocol::Submission, Service::Submission { starttls: Some(smtp_cert), auth_before_tls: false })
        .await;
    for d in ["srv.cli.test", "srv2.cli.test"] {
        w.zone
            .srv(&format!("_imaps._tcp.{d}"), 0, port(Protocol::Imaps), "imap.prov.test")
            .srv(&format!("_imap._tcp.{d}"), 0, port(Protocol::Imap), "imap.prov.test")
            .srv(&format!("_submissions._tcp.{d}"), 0, port(Protocol::Submissions), "smtp.prov.test")
            .srv(&format!("_submission._tcp.{d}"), 0, port(Protocol::Submission), "smtp.prov.test")
            .srv(&format!("_pop3s._tcp.{d}"), 0, 0, ".")
            .srv(&format!("_pop3._tcp.{d}"), 0, 0, ".");
    }
    // Autoconfig: IMAP without STARTTLS (LOGIN allowed in clear), POP3 with STLS but USER before it.
    let (auto_ip, https_ip) = (w.block.next_ip(), w.block.next_ip());
    w.zone.addr("mail.auto.cli.test", auto_ip).addr("autoconfig.auto.cli.test", https_ip);
    let auto_cert = w.ca.leaf(&["mail.auto.cli.test"], Validity::Current).server_config(false);
    spawn(auto_ip, Protocol::Imap, Service::Imap { starttls: None, login_disabled: false }).await;
    spawn(auto_ip, Protocol::Pop3, Service::Pop3 { stls: Some(auto_cert), user_before_tls: true }).await;
    let xml = format!(
        r#"<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="auto.cli.test">
<incomingServer type="imap"><hostname>mail.%EMAILDOMAIN%</hostname><port>{}</port><socketType>plain</socketType></incomingServer>
<incomingServer type="pop3"><hostname>mail.auto.cli.test</hostname><port>{}</port><socketType>STARTTLS</socketType></incomingServer>
</emailProvider></clientConfig>"#,
        port(Protocol::Imap),
        port(Protocol::Pop3)
    );
    let autoconfig_cert = w.ca.leaf(&["autoconfig.auto.cli.test"], Validity::Current).server_config(false);
    let _https = FakeHttps::spawn(
        SocketAddr::new(https_ip, HTTPS_PORT),
        autoconfig_cert,
        Reply::Fixed { status: 200, content_type: "text/xml".into(), body: xml },
    )
    .await
    .unwrap();
    // Guesses: mail.guess.cli.test answers submissions and IMAPS (its certificate names it), nothing else.
    let guess_ip = w.block.next_ip();
    w.zone.addr("mail.guess.cli.test", guess_ip).exists("guess.cli.test");
    let guess_cert = w.ca.leaf(&["mail.guess.cli.test"], Validity::Current).server_config(false);
    spawn(guess_ip, Protocol::Submissions, Service::Submissions(guess_cert.clone())).await;
    spawn(guess_ip, Protocol::Imaps, Service::Imaps(guess_cert)).await;
    // Submission without STARTTLS and with AUTH in the clear.
    let plain_ip = w.block.next_ip();
    w.zone.addr("smtp.plain.test", plain_ip).srv(
        "_submission._tcp.plain.cli.test",
        0,
        port(Protocol::Submission),
        "smtp.plain.test",
    );
    spawn(plain_ip, Protocol::Submission, Service::Submission { starttls: None, auth_before_tls: true }).await;
    // Nothing at all.
    w.zone.exists("none.cli.test").mx("nullmx.cli.test", 0, ".").addr("mail.nullmx.cli.test", plain_ip);
    // POP3 with STLS and no plaintext login.
    let pop_ip = w.block.next_ip();
    let pop_cert = w.ca.leaf(&["pop.popsafe.cli.test"], Validity::Current).server_config(false);
    w.zone.addr("pop.popsafe.cli.test", pop_ip).srv(
        "_pop3._tcp.popsafe.cli.test",
        0,
        port(Protocol::Pop3),
        "pop.popsafe.cli.test",
    );
    spawn(pop_ip, Protocol::Pop3, Service::Pop3 { stls: Some(pop_cert), user_before_tls: false }).await;

    // Every domain but nullmx accepts mail (a shared MX with nothing listening: only the client side matters here).
    let mx_ip = w.block.next_ip();
    w.zone.addr("mx.cli.test", mx_ip);
    for d in ["srv", "srv2", "auto", "plain", "none", "popsafe"] {
        w.zone.mx(&format!("{d}.cli.test"), 10, "mx.cli.test");
    }
    // guess.cli.test is its own mail host (its MX is under it), so its conventional names may exist.
    w.zone.mx("guess.cli.test", 10, "mx.guess.cli.test").addr("mx.guess.cli.test", mx_ip);
    let input = "domain\nsrv.cli.test\nsrv2.cli.test\nauto.cli.test\nguess.cli.test\nplain.cli.test\nnone.cli.test\npopsafe.cli.test\nnullmx.cli.test\n";
    let scan = w
        .scan("clients", input, |c| {
            c.https_port = HTTPS_PORT;
            c.client.ports = Protocol::ALL.iter().map(|p| (*p, port(*p))).collect();
        })
        .await;
    let rows = mailcensus::testkit::dataset::read_rows(&scan.out.join("client_endpoints")).unwrap();
    let of = |d: &str| rows.iter().filter(|r| r["domain"].str() == Some(d)).collect::<Vec<&Row>>();
    let label = |d: &str, col: &str| scan.domain(d)[col].str().map(str::to_string);
    let row = |d: &str, p: &str| {
        *of(d).iter().find(|r| r["client_protocol"].str() == Some(p)).unwrap_or_else(|| panic!("{d} {p}: {:#?}", of(d)))
    };

    // SRV: four endpoints, every one in TLS, POP3 explicitly not offered.
    assert_eq!(label("srv.cli.test", "client_tls").as_deref(), Some("all"));
    assert_eq!(scan.domain("srv.cli.test")["client_plaintext_auth"].bool(), Some(false));
    assert_eq!(scan.domain("srv.cli.test")["client_endpoint_count"].int(), Some(4));
    let not_offered: Vec<_> = scan.domain("srv.cli.test")["client_srv_not_offered"]
        .list()
        .iter()
        .filter_map(|v| v.str().map(str::to_string))
        .collect();
    assert_eq!(not_offered, vec!["pop3s", "pop3"]);
    assert_eq!(of("srv.cli.test").len(), 4);
    for r in of("srv.cli.test") {
        assert_eq!((r["client_source"].str(), r["probe_status"].str()), (Some("srv"), Some("done")), "{r:#?}");
        assert_eq!((r["tls_version"].str(), r["tls_cert_verdict"].str()), (Some("tls1_3"), Some("valid")), "{r:#?}");
    }
    let imap = row("srv.cli.test", "imap");
    assert_eq!(
        (imap["client_starttls_offered"].bool(), imap["client_plaintext_auth"].bool()),
        (Some(true), Some(false))
    );
    assert!(imap["client_capabilities"].list().iter().any(|c| c.str() == Some("LOGINDISABLED")));
    let imaps = row("srv.cli.test", "imaps");
    assert_eq!((imaps["client_implicit_tls"].bool(), imaps["client_starttls_offered"].bool()), (Some(true), None));
    assert_eq!(row("srv.cli.test", "submission")["client_plaintext_auth"].bool(), Some(false));
    // The same provider endpoints for srv and srv2: each probed once per run (whichever domain came first).
    let mut first: Vec<_> = of("srv.cli.test")
        .into_iter()
        .chain(of("srv2.cli.test"))
        .filter(|r| r["probe_cached"].bool() == Some(false))
        .map(|r| r["client_protocol"].str().unwrap().to_string())
        .collect();
    first.sort();
    assert_eq!(first, vec!["imap", "imaps", "submission", "submissions"]);

    // Autoconfig: IMAP in the clear with LOGIN allowed, POP3 upgraded but USER offered before TLS.
    assert_eq!(label("auto.cli.test", "client_autoconfig").as_deref(), Some("ok"));
    assert_eq!(label("auto.cli.test", "client_tls").as_deref(), Some("some"));
    assert_eq!(scan.domain("auto.cli.test")["client_plaintext_auth"].bool(), Some(true));
    let ai = row("auto.cli.test", "imap");
    assert_eq!(
        (ai["client_source"].str(), ai["client_starttls_offered"].bool(), ai["client_plaintext_auth"].bool()),
        (Some("autoconfig"), Some(false), Some(true))
    );
    assert!(ai["tls_version"].is_null());
    let ap = row("auto.cli.test", "pop3");
    assert_eq!((ap["client_plaintext_auth"].bool(), ap["tls_version"].str()), (Some(true), Some("tls1_3")));

    // Guesses are asked only for a domain that is its own mail host: none.cli.test is hosted at
    // mx.cli.test, so mail.none.cli.test is never looked up.
    assert!(!scan.queries.asked("mail.none.cli.test") && !scan.queries.asked("imap.none.cli.test"));
    assert!(scan.queries.asked("mail.guess.cli.test"));
    // Guesses: only mail.guess resolves; its six protocols are tried, two answer with TLS.
    assert_eq!(label("guess.cli.test", "client_autoconfig").as_deref(), Some("no_address"));
    let guessed = of("guess.cli.test");
    assert_eq!(guessed.len(), 6, "{guessed:#?}");
    assert!(guessed.iter().all(|r| r["client_source"].str() == Some("guess") && r["client_host"].str() == Some("mail.guess.cli.test")));
    assert_eq!(row("guess.cli.test", "submissions")["probe_status"].str(), Some("done"));
    assert_eq!(
        (row("guess.cli.test", "pop3")["probe_phase"].str(), row("guess.cli.test", "pop3")["probe_reason"].str()),
        (Some("connect"), Some("refused"))
    );
    assert_eq!(label("guess.cli.test", "client_tls").as_deref(), Some("all"));
    assert!(scan.domain("guess.cli.test")["client_plaintext_auth"].is_null(), "no plaintext port answered");

    // Submission in the clear with AUTH: the finding an ISP most needs to fix.
    assert_eq!(label("plain.cli.test", "client_tls").as_deref(), Some("none"));
    assert_eq!(scan.domain("plain.cli.test")["client_plaintext_auth"].bool(), Some(true));
    let ps = row("plain.cli.test", "submission");
    assert_eq!((ps["client_starttls_offered"].bool(), ps["client_plaintext_auth"].bool()), (Some(false), Some(true)));

    assert_eq!(label("none.cli.test", "client_tls").as_deref(), Some("not_found"));
    assert!(of("none.cli.test").is_empty());
    assert_eq!(label("popsafe.cli.test", "client_tls").as_deref(), Some("all"));
    assert_eq!(label("nullmx.cli.test", "client_tls").as_deref(), Some("no_mx"));
    assert!(of("nullmx.cli.test").is_empty() && !scan.queries.asked("mail.nullmx.cli.test"));
    // No SRV name under _tcp: one lookup, not six.
    assert!(scan.queries.asked("_tcp.none.cli.test") && !scan.queries.asked("_imaps._tcp.none.cli.test"));
    assert_eq!(scan.domain("popsafe.cli.test")["client_plaintext_auth"].bool(), Some(false));

    // No credential, ever: no LOGIN, AUTHENTICATE, AUTH, USER or PASS reached any server.
    let mut seen = 0;
    for s in &servers {
        for cmd in s.commands() {
            seen += 1;
            let words: Vec<String> = cmd.trim_start_matches("TLS ").split(' ').map(str::to_ascii_uppercase).collect();
            for banned in ["LOGIN", "AUTHENTICATE", "AUTH", "USER", "PASS", "MAIL", "RCPT", "DATA"] {
                assert!(!words.iter().take(2).any(|w| w == banned), "credential-like command sent: {cmd}");
            }
        }
    }
    assert!(seen > 20, "the servers were talked to ({seen} commands)");
}

/// Discovery in the mail apps' order (block 127.36.0.0/16): the ISP database by the domain, then by
/// the MX provider, then the autoconfig file at the provider, then guesses under the provider, each
/// found once per run per provider; the precedence between the steps; the well-known URL when asked
/// for; a provider whose names fail to resolve (unknown, not "not found"); and a provider whose
/// published settings say "no TLS" (the finding, next to what its servers really do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_follows_the_mail_apps_order() {
    use mailcensus::client::autoconfig;
    use mailcensus::client::ispdb::Ispdb;
    use mailcensus::testkit::dns::Fault;
    let mut w = World::new(36);
    let mut servers: Vec<FakeMailbox> = Vec::new();
    let mut https: Vec<FakeHttps> = Vec::new();
    let mut mailbox = async |w: &mut World, host: &str, protocols: &[Protocol]| {
        let ip = w.block.next_ip();
        w.zone.addr(host, ip);
        let cert = w.ca.leaf(&[host], Validity::Current).server_config(false);
        for p in protocols {
            let service = match p {
                Protocol::Imaps => Service::Imaps(cert.clone()),
                Protocol::Imap => Service::Imap { starttls: Some(cert.clone()), login_disabled: true },
                Protocol::Pop3 => Service::Pop3 { stls: Some(cert.clone()), user_before_tls: false },
                Protocol::Submissions => Service::Submissions(cert.clone()),
                Protocol::Submission => Service::Submission { starttls: Some(cert.clone()), auth_before_tls: false },
                Protocol::Pop3s => Service::Pop3s(cert.clone()),
            };
            servers.push(FakeMailbox::spawn(SocketAddr::new(ip, port(*p)), service).await.unwrap());
        }
    };
    let xml = |id: &str, domains: &[&str], entries: &[(&str, &str, Protocol, &str)]| {
        let domains: String = domains.iter().map(|d| format!("<domain>{d}</domain>")).collect();
        let servers: String = entries
            .iter()
            .map(|(kind, host, p, socket)| {
                let tag = if *kind == "smtp" { "outgoingServer" } else { "incomingServer" };
                format!(
                    "<{tag} type=\"{kind}\"><hostname>{host}</hostname><port>{}</port><socketType>{socket}</socketType><authentication>password-cleartext</authentication></{tag}>",
                    port(*p)
                )
            })
            .collect();
        format!(
            r#"<clientConfig version="1.1"><emailProvider id="{id}">{domains}{servers}</emailProvider></clientConfig>"#
        )
    };
    let mut https_at = async |w: &mut World, host: &str, body: String| {
        let ip = w.block.next_ip();
        w.zone.addr(host, ip);
        let cert = w.ca.leaf(&[host], Validity::Current).server_config(false);
        let reply = Reply::Fixed { status: 200, content_type: "text/xml".into(), body };
        https.push(FakeHttps::spawn(SocketAddr::new(ip, HTTPS_PORT), cert, reply).await.unwrap());
    };

    // The ISP database of this test: the ISP itself (by domain: its customers' addresses are at
    // isp.test), and a mail provider known by its MX (mxprov.test). The ISP still tells its users to
    // fetch mail with POP3 in the clear.
    mailbox(&mut w, "imap.isp.test", &[Protocol::Imaps]).await;
    mailbox(&mut w, "pop.isp.test", &[Protocol::Pop3]).await;
    mailbox(&mut w, "imap.mxprov.test", &[Protocol::Imaps]).await;
    let mut db = Ispdb::empty();
    let isp = xml(
        "isp.test",
        &["isp.test", "f-prec.test"],
        &[("imap", "imap.isp.test", Protocol::Imaps, "SSL"), ("pop3", "pop.isp.test", Protocol::Pop3, "plain")],
    );
    db.add("isp.test.xml", autoconfig::parse(&isp).unwrap());
    let mxprov = xml("mxprov.test", &["mxprov.test"], &[("imap", "imap.mxprov.test", Protocol::Imaps, "SSL")]);
    db.add("mxprov.test.xml", autoconfig::parse(&mxprov).unwrap());

    // A provider with an autoconfig file of its own, and one with only conventional names.
    mailbox(&mut w, "mail.acprov.test", &[Protocol::Imaps, Protocol::Submission]).await;
    let ac = xml(
        "acprov.test",
        &["acprov.test"],
        &[
            ("imap", "mail.acprov.test", Protocol::Imaps, "SSL"),
            ("smtp", "mail.acprov.test", Protocol::Submission, "STARTTLS"),
        ],
    );
    https_at(&mut w, "autoconfig.acprov.test", ac).await;
    mailbox(&mut w, "imap.gprov.test", &[Protocol::Imaps]).await;
    mailbox(&mut w, "smtp.gprov.test", &[Protocol::Submissions]).await;
    mailbox(&mut w, "pop.gprov.test", &[Protocol::Pop3s]).await;
    w.zone.exists("gprov.test");
    // A provider whose name servers fail.
    for name in [
        "autoconfig.failprov.test",
        "imap.failprov.test",
        "smtp.failprov.test",
        "mail.failprov.test",
        "pop.failprov.test",
    ] {
        w.zone.fault(name, Fault::ServFail);
    }
    // The domains' own autoconfig and well-known files.
    mailbox(&mut w, "mail.e-prec.test", &[Protocol::Imaps]).await;
    let e_auto = xml("e-prec.test", &["e-prec.test"], &[("imap", "mail.e-prec.test", Protocol::Imaps, "SSL")]);
    https_at(&mut w, "autoconfig.e-prec.test", e_auto).await;
    mailbox(&mut w, "mail.g-wellknown.test", &[Protocol::Imaps]).await;
    let g_auto =
        xml("g-wellknown.test", &["g-wellknown.test"], &[("imap", "mail.g-wellknown.test", Protocol::Imaps, "SSL")]);
    https_at(&mut w, "g-wellknown.test", g_auto).await;

    // MX hosts: nothing listens (only the client side matters here), but the ISP's own MX works so
    // that it is graded.
    let mx_cert = w.ca.leaf(&["mx.isp.test"], Validity::Current).server_config(false);
    w.mx("isp.test", "mx.isp.test", Behaviour::new(Posture::StartTls(mx_cert))).await;
    let mx_ip = w.block.next_ip();
    for (domain, mx) in [
        ("b-viamx.test", "mx1.mxprov.test"),
        ("c-acmx.test", "mx.acprov.test"),
        ("c2-acmx.test", "mx.acprov.test"),
        ("d-guessmx.test", "mx.gprov.test"),
        ("d2-guessmx.test", "mx.gprov.test"),
        ("e-prec.test", "mx1.mxprov.test"),
        ("f-prec.test", "mx.acprov.test"),
        ("g-wellknown.test", "mx.gprov.test"),
        ("h-srv.test", "mx.gprov.test"),
        ("i-fail.test", "mx.failprov.test"),
        ("j-nothing.test", "mx.nothing.test"),
    ] {
        w.zone.mx(domain, 10, mx).addr(mx, mx_ip);
    }
    w.zone.srv("_imaps._tcp.h-srv.test", 0, port(Protocol::Imaps), "imap.gprov.test");
    w.zone.exists("nothing.test");

    let input = "domain\nisp.test\nb-viamx.test\nc-acmx.test\nc2-acmx.test\nd-guessmx.test\nd2-guessmx.test\ne-prec.test\nf-prec.test\ng-wellknown.test\nh-srv.test\ni-fail.test\nj-nothing.test\n";
    let scan = w
        .scan("discovery", input, |c| {
            c.https_port = HTTPS_PORT;
            c.client.ports = Protocol::ALL.iter().map(|p| (*p, port(*p))).collect();
            c.client.ispdb = std::sync::Arc::new(db);
            c.client.well_known = true;
            c.dns.late_retries = 0;
        })
        .await;
    let rows = mailcensus::testkit::dataset::read_rows(&scan.out.join("client_endpoints")).unwrap();
    let of = |d: &str| rows.iter().filter(|r| r["domain"].str() == Some(d)).collect::<Vec<&Row>>();
    let found = |d: &str| {
        let mut v: Vec<(String, String, String)> = of(d)
            .iter()
            .map(|r| {
                let s = |c: &str| r[c].str().unwrap_or("-").to_string();
                (s("client_source"), s("client_protocol"), s("client_host"))
            })
            .collect();
        v.sort();
        v
    };
    let t = |s: &str, p: &str, h: &str| (s.to_string(), p.to_string(), h.to_string());
    let domain = |d: &str, c: &str| scan.domain(d)[c].str().map(str::to_string);

    // The ISP database by the domain: what the ISP tells its users, and what its servers do.
    assert_eq!(found("isp.test"), vec![t("ispdb", "imaps", "imap.isp.test"), t("ispdb", "pop3", "pop.isp.test")]);
    assert_eq!(domain("isp.test", "client_config_source").as_deref(), Some("ispdb"));
    assert_eq!(domain("isp.test", "client_provider_id").as_deref(), Some("isp.test"));
    assert_eq!(domain("isp.test", "mx_provider").as_deref(), Some("isp.test"));
    assert_eq!(scan.domain("isp.test")["client_declared_plain"].bool(), Some(true));
    let pop = of("isp.test").into_iter().find(|r| r["client_protocol"].str() == Some("pop3")).unwrap();
    assert_eq!(pop["client_declared_socket"].str(), Some("plain"));
    assert_eq!(pop["client_declared_cleartext_password"].bool(), Some(true));
    assert_eq!(pop["client_declared_auth"].list()[0].str(), Some("password_cleartext"));
    // Declared plain, observed: the server offers STLS, so the observation alone says "all".
    assert_eq!(domain("isp.test", "client_tls").as_deref(), Some("all"));
    assert_eq!((pop["probe_status"].str(), pop["tls_version"].str()), (Some("done"), Some("tls1_3")), "{pop:#?}");

    // By the MX: the provider in the ISP database, its autoconfig file, its conventional names.
    assert_eq!(found("b-viamx.test"), vec![t("ispdb_mx", "imaps", "imap.mxprov.test")]);
    assert_eq!(domain("b-viamx.test", "mx_provider").as_deref(), Some("mxprov.test"));
    assert_eq!(domain("b-viamx.test", "client_tls").as_deref(), Some("all"));
    assert_eq!(scan.domain("b-viamx.test")["client_declared_plain"].bool(), Some(false));
    for d in ["c-acmx.test", "c2-acmx.test"] {
        assert_eq!(
            found(d),
            vec![t("autoconfig_mx", "imaps", "mail.acprov.test"), t("autoconfig_mx", "submission", "mail.acprov.test")],
            "{d}"
        );
        assert_eq!(domain(d, "client_tls").as_deref(), Some("all"));
    }
    let guessed = vec![
        t("guess_mx", "imap", "imap.gprov.test"),
        t("guess_mx", "imaps", "imap.gprov.test"),
        t("guess_mx", "pop3", "pop.gprov.test"),
        t("guess_mx", "pop3s", "pop.gprov.test"),
        t("guess_mx", "submission", "smtp.gprov.test"),
        t("guess_mx", "submissions", "smtp.gprov.test"),
    ];
    for d in ["d-guessmx.test", "d2-guessmx.test"] {
        assert_eq!(found(d), guessed, "{d}");
        assert_eq!(domain(d, "client_tls").as_deref(), Some("all"), "{d}");
        assert_eq!(domain(d, "client_config_source").as_deref(), Some("guess_mx"));
        assert!(scan.domain(d)["client_declared_plain"].is_null(), "guesses declare nothing");
        assert!(of(d).iter().all(|r| r["client_declared_socket"].is_null()));
    }
    // Once per run per provider: each provider endpoint was connected to for one domain only.
    for host in ["mail.acprov.test", "imap.gprov.test", "smtp.gprov.test", "pop.gprov.test"] {
        let own: Vec<_> = rows
            .iter()
            .filter(|r| r["client_host"].str() == Some(host) && r["probe_cached"].bool() == Some(false))
            .map(|r| r["client_protocol"].str().unwrap().to_string())
            .collect();
        let mut distinct = own.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(own.len(), distinct.len(), "{host} probed more than once per protocol: {own:?}");
    }
    assert!(!scan.queries.asked("autoconfig.mxprov.test"), "the ISPDB answered: no fetch at the provider");
    assert!(scan.queries.asked("autoconfig.gprov.test"), "no ISPDB entry: the provider's autoconfig is tried");

    // Precedence: the domain's own autoconfig beats the ISP database and the MX; the ISP database by
    // the domain beats the MX's provider; SRV records alone stop the provider steps.
    assert_eq!(found("e-prec.test"), vec![t("autoconfig", "imaps", "mail.e-prec.test")]);
    assert_eq!(found("f-prec.test"), vec![t("ispdb", "imaps", "imap.isp.test"), t("ispdb", "pop3", "pop.isp.test")]);
    assert_eq!(found("h-srv.test"), vec![t("srv", "imaps", "imap.gprov.test")]);
    // The well-known URL at the domain itself, when autoconfig.<domain> gave nothing.
    assert_eq!(found("g-wellknown.test"), vec![t("autoconfig_well_known", "imaps", "mail.g-wellknown.test")]);
    assert_eq!(domain("g-wellknown.test", "client_autoconfig").as_deref(), Some("no_address"));

    // A provider whose names SERVFAIL: unknown, never "not found"; a provider with nothing: not found.
    assert_eq!(domain("i-fail.test", "client_tls").as_deref(), Some("dns_failed"));
    assert!(of("i-fail.test").is_empty());
    assert_eq!(domain("j-nothing.test", "client_tls").as_deref(), Some("not_found"));
    assert!(scan.queries.asked("imap.nothing.test") && scan.queries.asked("autoconfig.nothing.test"));
    assert!(scan.domain("j-nothing.test")["client_provider_id"].is_null());

    // The report: the provider view, and the declared-plain finding with its remedy.
    mailcensus::report::run(&scan.out, mailcensus::report::grade::Lang::En).unwrap();
    let providers = std::fs::read_to_string(scan.out.join("report/providers.csv")).unwrap();
    let line = |p: &str| providers.lines().find(|l| l.starts_with(&format!("{p},"))).map(str::to_string);
    assert!(line("gprov.test").unwrap().starts_with("gprov.test,4,"), "{providers}");
    assert!(line("acprov.test").unwrap().starts_with("acprov.test,3,"), "{providers}");
    let isp_row = line("isp.test").unwrap();
    // The client-to-server column fails for the ISP: 0 of 1, whatever its servers do.
    let cells: Vec<&str> = isp_row.split(',').collect();
    assert_eq!((cells[10], cells[13]), ("0.000000", "1"), "{providers}");
    let graded = std::fs::read_to_string(scan.out.join("report/domains.csv")).unwrap();
    let isp_line = graded.lines().find(|l| l.starts_with("isp.test,")).unwrap();
    assert!(isp_line.contains("client_declared_plain") && isp_line.contains("SSL/TLS or STARTTLS"), "{isp_line}");
    let page = std::fs::read_to_string(scan.out.join("report/index.html")).unwrap();
    assert!(page.contains("id=\"providers\"") && page.contains("<td>gprov.test</td>"));
}

/// One domain cannot fan out into hundreds of client probes (block 127.55.0.0/16): SRV records
/// naming six targets for every protocol (four kept a protocol), each target with five addresses,
/// give at most `max_endpoints` endpoints and at most `max_ips_per_endpoint` connections to each;
/// the addresses beyond are written as skipped (`over_limit`), not dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_that_fans_out_is_capped() {
    let mut w = World::new(55);
    let d = "fan.cli.test";
    let mx_ip = w.block.next_ip();
    w.zone.mx(d, 10, "mx.fan.cli.test").addr("mx.fan.cli.test", mx_ip);
    let mut published = 0;
    for p in Protocol::ALL {
        for t in 0..6 {
            let host = format!("{}{t}.fan.cli.test", p.as_label());
            w.zone.srv(&format!("_{}._tcp.{d}", p.as_label()), 0, port(*p), &host);
            for _ in 0..5 {
                let ip = w.block.next_ip();
                w.zone.addr(&host, ip);
            }
            published += 1;
        }
    }
    let scan = w
        .scan("fan-out", &format!("{d}\n"), |c| {
            c.client.ports = Protocol::ALL.iter().map(|p| (*p, port(*p))).collect();
            c.dkim = false;
        })
        .await;
    let defaults = mailcensus::config::ClientSettings::default();
    let (max_endpoints, max_ips) = (defaults.max_endpoints, defaults.max_ips_per_endpoint);
    assert!(published * 5 > 4 * max_endpoints * max_ips, "the test must publish far more than the caps");
    let rows = mailcensus::testkit::dataset::read_rows(&scan.out.join("client_endpoints")).unwrap();
    let mut endpoints: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r["client_protocol"].str().unwrap().to_string(), r["client_host"].str().unwrap().to_string()))
        .collect();
    endpoints.sort();
    endpoints.dedup();
    assert_eq!(endpoints.len(), max_endpoints, "{endpoints:?}");
    assert_eq!(scan.domain(d)["client_endpoint_count"].int(), Some(max_endpoints as i64));
    // At most four SRV targets of one protocol are kept.
    for p in Protocol::ALL {
        let of_protocol = endpoints.iter().filter(|(q, _)| q == p.as_label()).count();
        assert!(of_protocol <= mailcensus::client::MAX_SRV_PER_PROTOCOL, "{p:?}: {of_protocol}");
    }
    // Every address of a kept endpoint has its row; only the first two were connected to.
    assert_eq!(rows.len(), max_endpoints * 5);
    for (protocol, host) in &endpoints {
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r["client_protocol"].str() == Some(protocol) && r["client_host"].str() == Some(host))
            .collect();
        let tried = mine.iter().filter(|r| r["probe_status"].str() != Some("skipped")).count();
        assert_eq!(tried, max_ips, "{host}: {mine:#?}");
        assert!(
            mine.iter()
                .filter(|r| r["probe_status"].str() == Some("skipped"))
                .all(|r| r["probe_reason"].str() == Some("over_limit")),
            "{host}: {mine:#?}"
        );
    }
    assert_eq!(scan.summary.counts.internal_errors + scan.summary.counts.runner.internal_errors, 0);
}
