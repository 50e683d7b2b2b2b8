//! The scan engine against the internet's shape (blocks 127.40.0.0/16, 127.41.0.0/16, 127.53.0.0/16
//! and 127.54.0.0/16): mail concentrated on shared addresses must never hold up anyone else's
//! domains, a wait at one of a domain's destinations never holds up its others, and an address that
//! answers every name alike is not asked once per name.

use std::net::SocketAddr;
use std::time::Duration;

use mailcensus::limit::ClassLimits;
use mailcensus::testkit::dataset::Row;
use mailcensus::testkit::pki::Validity;
use mailcensus::testkit::smtp::{Behaviour, FakeSmtp, Posture};

use crate::world::{SMTP_PORT, Scan, World};

/// Milliseconds from the scan's first domain start to the last finish of the domains `which` picks.
fn finish_ms(scan: &Scan, which: impl Fn(&str) -> bool) -> i64 {
    let start = scan.domains.iter().filter_map(|r| r["scanned_at"].int()).min().unwrap();
    let finish = |r: &Row| r["scanned_at"].int().unwrap() + r["scan_duration_ms"].int().unwrap();
    scan.domains.iter().filter(|r| which(r["domain"].str().unwrap())).map(finish).max().unwrap() - start
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_shared_address_holds_up_no_other_domain() {
    let mut w = World::new(40);
    // 1,000 vanity MX names on one slow address whose certificate depends on the name asked (so no
    // name can be judged from another's probe): every name is probed, one after another in turn.
    let pool_ip = w.block.next_ip();
    let slow = Behaviour::new(Posture::StartTls(w.ca.per_name_config())).delay(Duration::from_millis(200)).quiet();
    let pool = FakeSmtp::spawn(SocketAddr::new(pool_ip, SMTP_PORT), slow).await.unwrap();
    let mut vanity = String::from("domain\n");
    for i in 0..1000 {
        let (d, host) = (format!("v{i}.vanity.test"), format!("v{i}-vanity-test.mail.pool.test"));
        w.zone.mx(&d, 10, &host).addr(&host, pool_ip);
        vanity.push_str(&format!("{d}\n"));
    }
    // 1,000 unrelated domains at 20 providers of their own.
    let mut unrelated = String::from("domain\n");
    for p in 0..20 {
        let host = format!("mx.p{p}.other.test");
        let leaf = w.ca.leaf(&[&host], Validity::Current);
        w.mx(
            &format!("u{p}.unrelated.test"),
            &host,
            Behaviour::new(Posture::StartTls(leaf.server_config(false))).quiet(),
        )
        .await;
        for i in 0..50 {
            w.zone.mx(&format!("u{p}-{i}.unrelated.test"), 10, &host);
            unrelated.push_str(&format!("u{p}-{i}.unrelated.test\n"));
        }
    }
    let tweak = |c: &mut mailcensus::config::ScanConfig| {
        c.only_checks(&[]);
        c.limits.probe_rate = 10_000.0;
        c.limits.smtp = ClassLimits { per_ip_rate: 100.0, per_ip_connections: 40 };
    };
    let alone = w.scan("engine-alone", &unrelated, tweak).await;
    let alone_ms = finish_ms(&alone, |_| true);
    let both = format!("{unrelated}{}", vanity.trim_start_matches("domain\n"));
    let scan = w.scan("engine-both", &both, tweak).await;
    assert_eq!(scan.domains.len(), 2000);

    // The unrelated domains finish as fast as they do alone (2-core noise allowed for).
    let unrelated_ms = finish_ms(&scan, |d| d.ends_with(".unrelated.test"));
    assert!(
        unrelated_ms <= alone_ms * 3 / 2 + 1500,
        "unrelated: {unrelated_ms} ms with the queue, {alone_ms} ms alone"
    );
    // The vanity ones finish within their queue's bound: 1,000 connections to one address at 100/s
    // (10 s), 40 at a time for ~0.25 s each; the runner reports the bound it computed.
    let bound = scan.summary.counts.lower_bound_seconds;
    assert!(bound >= 9.5, "the busiest address alone needs ~10 s: {:?}", scan.summary.counts.runner.bound);
    let vanity_ms = finish_ms(&scan, |d| d.ends_with(".vanity.test"));
    assert!((vanity_ms as f64) <= bound * 1200.0 + 1500.0, "vanity: {vanity_ms} ms, bound {bound:.1} s");
    eprintln!("unrelated {unrelated_ms} ms (alone {alone_ms} ms), vanity {vanity_ms} ms, bound {bound:.2} s");
    assert!(unrelated_ms * 3 < vanity_ms, "the unrelated domains did not wait for the queue");
    // Every name was probed (its certificate depends on it), never more than 40 at once.
    assert_eq!(pool.connections(), 1000);
    assert!(pool.max_concurrent() <= 40, "{}", pool.max_concurrent());
    let valid = scan.mx.iter().filter(|r| r["tls_cert_verdict"].str() == Some("valid")).count();
    assert_eq!(valid, 2000, "every name got its own valid certificate");
    assert!(scan.mx.iter().all(|r| r["probe_source"].str() != Some("shared_address")));
    w.assert_polite();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_independent_address_is_probed_twice_not_per_name() {
    let mut w = World::new(41);
    // 300 vanity names on one address with one wildcard certificate (the Microsoft 365 pattern), and
    // a name outside the wildcard on the same address.
    let ip = w.block.next_ip();
    let leaf = w.ca.leaf(&["*.mail.pool.test"], Validity::Current);
    let server =
        FakeSmtp::spawn(SocketAddr::new(ip, SMTP_PORT), Behaviour::new(Posture::StartTls(leaf.server_config(false))))
            .await
            .unwrap();
    let mut input = String::from("domain\n");
    for i in 0..300 {
        let (d, host) = (format!("c{i}.cloud.test"), format!("c{i}-cloud-test.mail.pool.test"));
        w.zone.mx(&d, 10, &host).addr(&host, ip);
        input.push_str(&format!("{d}\n"));
    }
    w.zone.mx("odd.test", 10, "mx.odd.test").addr("mx.odd.test", ip);
    input.push_str("odd.test\n");
    let scan = w.scan("engine-shared", &input, |c| c.only_checks(&[])).await;
    assert_eq!(server.connections(), 2, "two names with one certificate: the rest judged from them");
    assert_eq!(scan.summary.counts.probes, 2);
    let rows: Vec<&Row> = scan.mx.iter().collect();
    assert_eq!(rows.len(), 301);
    let own: Vec<_> = rows.iter().filter(|r| r["probe_source"].str() == Some("own")).collect();
    let shared: Vec<_> = rows.iter().filter(|r| r["probe_source"].str() == Some("shared_address")).collect();
    assert_eq!((own.len(), shared.len()), (2, 299));
    let probed: Vec<&str> = own.iter().map(|r| r["mx_host"].str().unwrap()).collect();
    assert!(shared.iter().all(|r| probed.contains(&r["probe_source_host"].str().unwrap())), "each says where from");
    // Judged for its own name: the vanity names are valid, the odd one a name mismatch.
    for r in &rows {
        let want = if r["domain"].str() == Some("odd.test") { "name_mismatch" } else { "valid" };
        assert_eq!(r["tls_cert_verdict"].str(), Some(want), "{:?}", r["mx_host"]);
        assert_eq!(r["tls_version"].str(), Some("tls1_3"));
    }
    assert_eq!(scan.domain("odd.test")["starttls"].str(), Some("all"));
    assert_eq!(scan.domain("c7.cloud.test")["tls_cert_valid"].str(), Some("all"));
    w.assert_polite();
}

/// The early judgement (`--judge-after`) looks at the first domains of the input, not at the first
/// ones finished (block 127.53.0.0/16). Domains without MX finish at once while those with MX wait
/// for their server's greeting, so the first 20 written are all without MX; a healthy list (one
/// domain in four without MX) must not be stopped as "the resolver answers nothing".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_early_judgement_samples_the_input_not_the_first_finished() {
    let mut w = World::new(53);
    let leaf = w.ca.leaf(&["mx.slow.test"], Validity::Current);
    let slow = Behaviour::new(Posture::StartTls(leaf.server_config(false))).delay(Duration::from_secs(1));
    let mut input = String::from("domain\n");
    let mut with_mx = Vec::new();
    for i in 0..100 {
        let d = format!("d{i}.judge.test");
        if i % 4 != 3 {
            with_mx.push(d.clone());
        }
        input.push_str(&format!("{d}\n"));
    }
    w.mx(&with_mx[0], "mx.slow.test", slow).await;
    for d in &with_mx[1..] {
        w.zone.mx(d, 10, "mx.slow.test");
    }
    let scan = w
        .scan("judge-sample", &input, |c| {
            c.judge_after = 20;
        })
        .await;
    // The first domains written were the ones without MX ...
    let mut by_finish: Vec<&Row> = scan.domains.iter().collect();
    by_finish.sort_by_key(|r| r["scanned_at"].int().unwrap() + r["scan_duration_ms"].int().unwrap());
    assert!(by_finish[..20].iter().all(|r| r["mx_outcome"].str() == Some("nxdomain")), "{:?}", &by_finish[..20]);
    // ... yet the run was judged on its first 20 input lines (5 without MX) and went to the end.
    assert!(!scan.summary.stopped_early, "{:?}", scan.summary.warnings);
    assert!(scan.summary.warnings.is_empty(), "{:?}", scan.summary.warnings);
    assert_eq!(scan.domains.len(), 100);
    assert_eq!(scan.domains.iter().filter(|r| r["starttls"].str() == Some("all")).count(), 75);
}

/// A domain's client endpoints are probed beside its MX, not after it (block 127.54.0.0/16). The MX
/// is silent (it holds the connection until the read deadline) and so is the IMAPS endpoint that the
/// domain's autoconfig file declares: one after the other they take two deadlines, side by side one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_probes_do_not_wait_for_the_mx_probes() {
    use mailcensus::probe::client::Protocol;
    use mailcensus::testkit::https::{FakeHttps, Reply};
    use mailcensus::testkit::mailbox::{FakeMailbox, Service};
    const READ: Duration = Duration::from_secs(4);
    let (https_port, imaps_port) = (2443, 20_993);
    let mut w = World::new(54);
    w.mx("side.test", "mx.side.test", Behaviour::new(Posture::Silent)).await;
    let imap_ip = w.block.next_ip();
    w.zone.addr("imap.side.test", imap_ip);
    let _imap = FakeMailbox::spawn(SocketAddr::new(imap_ip, imaps_port), Service::Silent).await.unwrap();
    let https_ip = w.block.next_ip();
    w.zone.addr("autoconfig.side.test", https_ip);
    let xml = format!(
        r#"<clientConfig version="1.1"><emailProvider id="side.test"><incomingServer type="imap"><hostname>imap.side.test</hostname><port>{imaps_port}</port><socketType>SSL</socketType></incomingServer></emailProvider></clientConfig>"#
    );
    let cert = w.ca.leaf(&["autoconfig.side.test"], Validity::Current).server_config(false);
    let reply = Reply::Fixed { status: 200, content_type: "text/xml".into(), body: xml };
    let _https = FakeHttps::spawn(SocketAddr::new(https_ip, https_port), cert, reply).await.unwrap();
    let scan = w
        .scan("engine-side", "domain\nside.test\n", |c| {
            c.https_port = https_port;
            c.client.ports = vec![(Protocol::Imaps, imaps_port)];
            c.client.protocols = vec![Protocol::Imaps];
            c.smtp.read_timeout = READ;
        })
        .await;
    // Both waited for their whole read deadline...
    let mx = scan.mx_row("side.test");
    assert_eq!((mx["probe_phase"].str(), mx["probe_reason"].str()), (Some("banner"), Some("timeout")), "{mx:#?}");
    let rows = mailcensus::testkit::dataset::read_rows(&scan.out.join("client_endpoints")).unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let ep = &rows[0];
    assert_eq!((ep["client_source"].str(), ep["client_host"].str()), (Some("autoconfig"), Some("imap.side.test")));
    assert_eq!(ep["probe_reason"].str(), Some("timeout"), "{ep:#?}");
    assert!(ep["probe_duration_ms"].int().unwrap() >= READ.as_millis() as i64 - 50, "{ep:#?}");
    // ...at the same time: the domain took one deadline, not two.
    let took = scan.domain("side.test")["scan_duration_ms"].int().unwrap();
    assert!(took >= READ.as_millis() as i64 - 50, "{took} ms");
    assert!(took < 2 * READ.as_millis() as i64 - 1000, "the client probe waited for the MX probe: {took} ms");
}
