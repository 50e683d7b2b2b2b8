//! Hostile and broken servers, 300 at once (block 127.21.0.0/16): every read is bounded, every wait
//! ends, and each failure is classified with its phase.

use std::time::Duration;

use mailcensus::probe::smtp;
use mailcensus::testkit::smtp::{Behaviour, Posture};

use crate::world::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_are_bounded_and_classified() {
    let mut w = World::new(21);
    let huge_chain = w.ca.leaf_with_huge_chain(&["mx.k11-0.test"], 200).server_config(false);
    // (posture, expected status, phase, reason)
    let kinds: Vec<(Posture, &str, Option<&str>, Option<&str>)> = vec![
        (Posture::Tarpit(Duration::from_secs(1)), "failed", Some("banner"), Some("timeout")),
        (Posture::EndlessGreeting, "failed", Some("banner"), Some("bad_reply")),
        (Posture::LongGreeting(1000), "done", None, None),
        (Posture::LongGreeting(5000), "failed", Some("banner"), Some("bad_reply")),
        // About 100 KB over 100 lines: long but valid, read to its end as mail clients do.
        (Posture::HugeGreeting(100_000), "done", None, None),
        (Posture::GarbageGreeting, "failed", Some("banner"), Some("bad_reply")),
        (Posture::UnsolicitedBeforeEhlo, "failed", Some("ehlo"), Some("bad_reply")),
        (Posture::PlaintextAfterStartTls, "failed", Some("starttls"), Some("plaintext_after_starttls")),
        (Posture::PlaintextInsteadOfTls, "failed", Some("handshake"), Some("tls_protocol")),
        (Posture::StalledHandshake, "failed", Some("handshake"), Some("timeout")),
        (Posture::ResetMidReply, "failed", Some("ehlo"), Some("reset")),
        (Posture::StartTls(huge_chain), "failed", Some("handshake"), Some("tls_protocol")),
    ];
    let mut input = String::new();
    for (k, (posture, ..)) in kinds.iter().enumerate() {
        for i in 0..25 {
            // The huge chain names only its first host: the verdict does not matter, the size does.
            let d = format!("k{k}-{i}.test");
            w.mx(&d, &format!("mx.{d}"), Behaviour::new(posture.clone())).await;
            input.push_str(&d);
            input.push('\n');
        }
    }
    let started = std::time::Instant::now();
    let scan = w
        .scan("hostile", &input, |c| {
            c.smtp.read_timeout = Duration::from_secs(2);
            c.smtp.probe_timeout = Duration::from_secs(4);
            c.concurrency = 400;
            // Only the MX side is under test: the policy and client lookups would only add load.
            c.client.enabled = false;
            c.dkim = false;
            c.mta_sts = false;
        })
        .await;
    assert_eq!(scan.domains.len(), 300);
    for (k, (_, status, phase, reason)) in kinds.iter().enumerate() {
        for i in 0..25 {
            let d = format!("k{k}-{i}.test");
            let mx = scan.mx_row(&d);
            assert_eq!(
                (mx["probe_status"].str(), mx["probe_phase"].str(), mx["probe_reason"].str()),
                (Some(*status), *phase, *reason),
                "{d}: {:?}",
                mx["probe_detail"]
            );
        }
    }
    // A 1000-byte greeting line is read whole and kept cut to its first 512 bytes.
    assert_eq!(scan.mx_row("k2-0.test")["smtp_banner"].str().map(str::len), Some(smtp::KEPT_LINE_BYTES));
    // Of the 100 KB greeting only a bounded prefix is kept.
    let kept = scan.mx_row("k4-0.test")["smtp_banner"].str().map_or(0, str::len);
    assert!((1000..=smtp::KEPT_LINES * (smtp::KEPT_LINE_BYTES + 1) + 64).contains(&kept), "{kept}");
    // Every probe ended by its own deadline: the whole scan took about one read timeout, not the
    // tarpit's 40 seconds or the endless greeting's forever.
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    // 300 hostile servers, some sending megabytes: what is kept per probe is bounded.
    assert!(peak_rss_mib() < 256, "peak RSS {} MiB", peak_rss_mib());
    assert_eq!(scan.summary.counts.internal_errors + scan.summary.counts.runner.internal_errors, 0);
    // Every phase and reason written is in the columns' documented vocabulary.
    let outside = mailcensus::testkit::dataset::outside_vocabulary(&scan.out.join("mx_hosts")).unwrap();
    assert!(outside.is_empty(), "labels outside their vocabulary: {outside:?}");
    w.assert_polite();
}

/// Peak resident memory of this process so far, in MiB (each test runs in its own process under
/// nextest, so this is the test's own peak).
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// Hostile IMAP, POP3 and submission servers and SERVFAIL-ing client lookups (block 127.29.0.0/16):
/// each endpoint's failure is classified with its phase, a failure is never absence, no domain loses
/// its MX, SPF or DMARC results to a client probe, and memory does not grow with the number of
/// hostile domains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_mail_clients_are_bounded_and_classified() {
    use mailcensus::probe::client::Protocol;
    use mailcensus::testkit::dns::Fault;
    use mailcensus::testkit::mailbox::{FakeMailbox, Service};

    let mut w = World::new(29);
    let port = |p: Protocol| 22_000 + p.default_port();
    let hostile = |greeting: &[u8], reply: &[u8], endless: bool| Service::Hostile {
        greeting: greeting.to_vec(),
        reply: reply.to_vec(),
        endless,
    };
    // (name, protocol, server, expected probe (status, phase, reason), expected client_tls)
    type Kind = (
        &'static str,
        Protocol,
        Option<Service>,
        (&'static str, Option<&'static str>, Option<&'static str>),
        &'static str,
    );
    let kinds: Vec<Kind> = vec![
        // A tagged reply that starts with a multi-byte character (once a panic).
        (
            "multibyte",
            Protocol::Imap,
            Some(hostile(b"* OK ready\r\n", "éa1 OK done\r\n".as_bytes(), false)),
            ("failed", Some("ehlo"), Some("bad_reply")),
            "unreachable",
        ),
        // Invalid UTF-8 in the greeting and the capabilities: read, kept lossily.
        (
            "badutf8",
            Protocol::Imap,
            Some(hostile(
                b"* OK \xff\xfe ready\r\n",
                b"* CAPABILITY IMAP4rev1 \xff\xfe LOGINDISABLED\r\na1 OK done\r\n",
                false,
            )),
            ("done", None, None),
            "none",
        ),
        // Untagged lines forever.
        (
            "endless",
            Protocol::Imap,
            Some(hostile(b"* OK ready\r\n", b"* still talking\r\n", true)),
            ("failed", Some("ehlo"), Some("bad_reply")),
            "unreachable",
        ),
        // A CAPA that never ends.
        (
            "capaflood",
            Protocol::Pop3,
            Some(hostile(
                b"+OK ready\r\n",
                b"+OK capa\r\nX-FLOOD aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                true,
            )),
            ("failed", Some("ehlo"), Some("bad_reply")),
            "unreachable",
        ),
        // An EHLO reply of endless continuation lines.
        (
            "ehloflood",
            Protocol::Submission,
            Some(hostile(b"220 ready\r\n", b"250-more\r\n", true)),
            ("failed", Some("ehlo"), Some("bad_reply")),
            "unreachable",
        ),
        // An implicit-TLS port that accepts and never speaks: unknown, not "answered without TLS".
        (
            "silent",
            Protocol::Imaps,
            Some(Service::Silent),
            ("failed", Some("handshake"), Some("timeout")),
            "unreachable",
        ),
        // Every discovery lookup SERVFAILs: unknown, not "not found".
        ("servfail", Protocol::Imap, None, ("", None, None), "dns_failed"),
    ];
    let mx_ip = w.block.next_ip();
    w.zone.addr("mx.hostile-client.test", mx_ip);
    let mut servers = Vec::new();
    let mut kind_ips = Vec::new();
    for (name, protocol, service, ..) in &kinds {
        let ip = w.block.next_ip();
        if let Some(service) = service {
            servers.push(
                FakeMailbox::spawn(std::net::SocketAddr::new(ip, port(*protocol)), service.clone()).await.unwrap(),
            );
        }
        kind_ips.push((*name, *protocol, ip));
    }
    let add_domains = |w: &mut World, round: &str, n: usize| {
        let mut input = String::new();
        for (name, protocol, ip) in &kind_ips {
            for i in 0..n {
                let d = format!("{name}-{i}.{round}.test");
                // Each domain names its own endpoint host, all at the kind's one address (as hosting does).
                let host = format!("mail.{d}");
                w.zone
                    .mx(&d, 10, "mx.hostile-client.test")
                    .txt(&d, "v=spf1 -all")
                    .txt(&format!("_dmarc.{d}"), "v=DMARC1; p=reject");
                if *name == "servfail" {
                    w.zone
                        .fault(&format!("_tcp.{d}"), Fault::ServFail)
                        .fault(&format!("autoconfig.{d}"), Fault::ServFail);
                } else {
                    w.zone.addr(&host, *ip).srv(
                        &format!("_{}._tcp.{d}", protocol.as_label()),
                        0,
                        port(*protocol),
                        &host,
                    );
                }
                input.push_str(&d);
                input.push('\n');
            }
        }
        input
    };
    let check = |scan: &crate::world::Scan, round: &str, n: usize| {
        let rows = mailcensus::testkit::dataset::read_rows(&scan.out.join("client_endpoints")).unwrap();
        assert_eq!(scan.domains.len(), n * kinds.len());
        for (name, _, _, (status, phase, reason), client_tls) in &kinds {
            for i in 0..n {
                let d = format!("{name}-{i}.{round}.test");
                let row = scan.domain(&d);
                // The domain's own results survive whatever its client endpoints did.
                assert!(row["scan_error"].is_null(), "{d}: {:?}", row["scan_error"]);
                assert_eq!(row["mx_count"].int(), Some(1), "{d}");
                assert_eq!(row["starttls"].str(), Some("unreachable"), "{d}");
                assert_eq!(
                    (row["spf_txt_outcome"].str(), row["dmarc_policy"].str()),
                    (Some("found"), Some("reject")),
                    "{d}"
                );
                assert_eq!(row["client_tls"].str(), Some(*client_tls), "{d}");
                let mine: Vec<_> = rows.iter().filter(|r| r["domain"].str() == Some(d.as_str())).collect();
                if *name == "servfail" {
                    assert!(mine.is_empty(), "{d}: {mine:#?}");
                    assert_eq!(row["client_autoconfig"].str(), Some("address_lookup_failed"), "{d}");
                    continue;
                }
                assert_eq!(mine.len(), 1, "{d}: {mine:#?}");
                let r = mine[0];
                assert_eq!(
                    (r["probe_status"].str(), r["probe_phase"].str(), r["probe_reason"].str()),
                    (Some(*status), *phase, *reason),
                    "{d}: {:?}",
                    r["probe_detail"]
                );
                // Whatever the server sent, what is kept is bounded.
                for col in ["client_greeting", "probe_detail"] {
                    assert!(r[col].str().map_or(0, str::len) <= 256, "{d} {col}");
                }
                assert!(r["client_capabilities"].list().len() <= 64, "{d}");
            }
        }
        let r = rows.iter().find(|r| r["domain"].str() == Some(&format!("badutf8-0.{round}.test") as &str)).unwrap();
        assert!(r["client_greeting"].str().is_some_and(|g| g.contains('\u{fffd}')), "{r:#?}");
        assert!(r["client_capabilities"].list().iter().any(|c| c.str() == Some("LOGINDISABLED")));
        assert_eq!(scan.summary.counts.internal_errors + scan.summary.counts.runner.internal_errors, 0);
    };
    let tweak = |c: &mut mailcensus::config::ScanConfig| {
        c.smtp.read_timeout = Duration::from_secs(1);
        c.smtp.probe_timeout = Duration::from_secs(3);
        c.client.ports = Protocol::ALL.iter().map(|p| (*p, port(*p))).collect();
        c.limits.client.per_ip_rate = 1000.0;
        c.limits.client.per_ip_connections = 64;
        c.concurrency = 400;
        c.dkim = false;
    };
    let small = add_domains(&mut w, "small", 5);
    let scan = w.scan("hostile-clients-small", &small, tweak).await;
    check(&scan, "small", 5);
    let after_small = peak_rss_mib();
    // Eight times the hostile domains: the peak must not grow with them.
    let large = add_domains(&mut w, "large", 40);
    let scan = w.scan("hostile-clients-large", &large, tweak).await;
    check(&scan, "large", 40);
    let after_large = peak_rss_mib();
    eprintln!("peak RSS: {after_small} MiB after 35 hostile domains, {after_large} MiB after 280 more");
    assert!(after_large < 512, "peak RSS {after_large} MiB");
    assert!(after_large <= after_small + 64, "peak RSS grew from {after_small} to {after_large} MiB");
}

/// A tarpit that keeps every read alive (a byte every 200 ms) is ended by `--probe-timeout`, not by
/// the read timeout it never trips (block 127.33.0.0/16).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tarpit_is_ended_by_the_probe_deadline() {
    let mut w = World::new(33);
    w.mx("slow.test", "mx.slow.test", Behaviour::new(Posture::Tarpit(Duration::from_millis(200)))).await;
    let scan = w
        .scan("tarpit-deadline", "slow.test\n", |c| {
            c.smtp.read_timeout = Duration::from_secs(30);
            c.smtp.probe_timeout = Duration::from_secs(1);
            c.client.enabled = false;
        })
        .await;
    let mx = scan.mx_row("slow.test");
    assert_eq!(
        (mx["probe_status"].str(), mx["probe_phase"].str(), mx["probe_reason"].str()),
        (Some("failed"), Some("banner"), Some("timeout"))
    );
    // The probe's own deadline ended it (the detail says which timer fired).
    assert!(mx["probe_detail"].str().is_some_and(|d| d.contains("probe deadline")), "{:?}", mx["probe_detail"]);
}
