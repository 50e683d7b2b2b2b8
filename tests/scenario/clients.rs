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
