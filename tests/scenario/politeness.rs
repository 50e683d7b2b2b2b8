//! The scanner's manners: a shared MX is probed once per run, one connection at a time per IP, and
//! non-public addresses are never contacted without `--allow-private`.

use std::net::SocketAddr;

use mailcensus::testkit::pki::Validity;
use mailcensus::testkit::smtp::{Behaviour, FakeSmtp, Posture};

use crate::world::{SMTP_PORT, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_mx_is_probed_once_for_many_domains() {
    let mut w = World::new(13);
    let ip1 = w.block.next_ip();
    let ip2 = w.block.next_ip();
    let leaf = w.ca.leaf(&["mx1.provider.test", "mx2.provider.test"], Validity::Current);
    let s1 =
        FakeSmtp::spawn(SocketAddr::new(ip1, SMTP_PORT), Behaviour::new(Posture::StartTls(leaf.server_config(false))))
            .await
            .unwrap();
    let s2 = FakeSmtp::spawn(SocketAddr::new(ip2, SMTP_PORT), Behaviour::new(Posture::NoStartTls)).await.unwrap();
    w.zone.addr("mx1.provider.test", ip1).addr("mx2.provider.test", ip2);
    // Three names on the second address, which offers no STARTTLS: no name was ever sent to it, so two
    // probes show it answers every name alike, and the third name is judged from them; never two at once.
    w.zone.addr("mx3.provider.test", ip2).addr("mx4.provider.test", ip2);
    let mut input = String::from("domain,group,weight\n");
    for i in 0..300 {
        let d = format!("customer{i}.test");
        w.zone.mx(&d, 10, "mx1.provider.test").mx(&d, 20, "mx2.provider.test");
        input.push_str(&format!("{d},provider,{}\n", i % 7));
    }
    for i in 0..3 {
        let d = format!("other{i}.test");
        w.zone.mx(&d, 10, "mx2.provider.test").mx(&d, 20, "mx3.provider.test").mx(&d, 30, "mx4.provider.test");
        input.push_str(&format!("{d},other,\n"));
    }
    let scan = w
        .scan("shared", &input, |c| {
            c.concurrency = 64;
            c.client.enabled = false;
            c.dkim = false;
        })
        .await;
    assert_eq!(scan.domains.len(), 303);
    assert_eq!(scan.mx.len(), 300 * 2 + 3 * 3);
    assert_eq!(s1.connections(), 1, "mx1 probed once for 300 domains");
    assert_eq!(s2.connections(), 2, "two names with one answer: the address is name-independent");
    assert_eq!(s2.max_concurrent(), 1, "per-ip-connections = 1");
    assert_eq!(scan.summary.counts.probes, 3);
    let shared: Vec<_> =
        scan.mx_rows("other0.test").into_iter().filter(|r| r["probe_source"].str() == Some("shared_address")).collect();
    assert_eq!(shared.len(), 1, "{:#?}", scan.mx_rows("other0.test"));
    let from = shared[0]["probe_source_host"].str().unwrap();
    assert!(from != shared[0]["mx_host"].str().unwrap() && from.ends_with(".provider.test"));
    assert_eq!(shared[0]["smtp_starttls_offered"].bool(), Some(false), "the facts of the probe it was judged from");
    // Every request is a probe, an answer judged from the shared address, or a cache hit. A judged
    // answer is not kept per name (vanity names are one per domain), so a later request for the
    // third name is judged again rather than a hit: 1 to 3 judgements, depending on arrival times.
    let counts = &scan.summary.counts;
    let judged = counts.runner.shared_address.get("smtp").copied().unwrap_or(0);
    assert!((1..=3).contains(&judged), "{judged} judged from the shared address");
    assert_eq!(counts.probe_cache_hits + counts.probes + judged, (300 * 2 + 3 * 3) as u64);
    let cached = scan.mx.iter().filter(|r| r["probe_cached"].bool() == Some(true)).count();
    assert_eq!(cached as u64, counts.probe_cache_hits);
    let row = scan.domain("customer5.test");
    assert_eq!(
        (row["group"].str(), row["weight"].clone(), row["starttls"].str()),
        (Some("provider"), mailcensus::testkit::dataset::Value::Float(5.0), Some("some"))
    );
    // Gmail would deliver to mx1 (preference 10), which has STARTTLS.
    assert_eq!(row["gmail_red_lock"].bool(), Some(false));
    assert_eq!(scan.domain("other0.test")["gmail_red_lock"].bool(), Some(true));
    assert!(scan.domain("other0.test")["weight"].is_null());
    w.assert_polite();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_public_mx_is_skipped_without_allow_private() {
    let mut w = World::new(14);
    w.mx("private.test", "mx.private.test", Behaviour::new(Posture::NoStartTls)).await;
    let scan = w.scan("private", "private.test\n", |c| c.guard.allow_private = false).await;
    let row = scan.mx_row("private.test");
    assert_eq!((row["probe_status"].str(), row["probe_reason"].str()), (Some("skipped"), Some("non_public_address")));
    assert!(row["probe_duration_ms"].is_null());
    assert_eq!(scan.domain("private.test")["starttls"].str(), Some("not_probed"));
    assert_eq!(w.server("mx.private.test").connections(), 0, "no packet to a non-public address");
    assert_eq!(scan.summary.counts.probes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_greetings_are_retried_after_backing_off() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};
    let mut w = World::new(17);
    let leaf = w.ca.leaf(&["mx.greylist.test"], Validity::Current);
    let greylist = Posture::Greylist(Arc::new(AtomicUsize::new(2)), leaf.server_config(false));
    w.mx("greylist.test", "mx.greylist.test", Behaviour::new(greylist)).await;
    w.mx("busy.test", "mx.busy.test", Behaviour::new(Posture::Greeting421)).await;
    w.mx("fivehundred.test", "mx.fivehundred.test", Behaviour::new(Posture::NoStartTls)).await;
    let started = Instant::now();
    let scan = w
        .scan("retries", "greylist.test\nbusy.test\nfivehundred.test\n", |c| {
            c.retries = 2;
            c.retry_delay = Duration::from_millis(200);
        })
        .await;
    // Two back-offs of 200 and 400 ms before the third connection.
    assert!(started.elapsed() >= Duration::from_millis(600), "{:?}", started.elapsed());
    let row = scan.mx_row("greylist.test");
    assert_eq!(
        (row["probe_status"].str(), row["probe_attempts"].int(), row["tls_version"].str()),
        (Some("done"), Some(3), Some("tls1_3"))
    );
    assert_eq!(w.server("mx.greylist.test").connections(), 3);
    assert_eq!(scan.domain("greylist.test")["starttls"].str(), Some("all"));
    let row = scan.mx_row("busy.test");
    assert_eq!(
        (row["probe_reason"].str(), row["probe_reply_code"].int(), row["probe_attempts"].int()),
        (Some("rejected"), Some(421), Some(3))
    );
    assert_eq!(w.server("mx.busy.test").connections(), 3);
    // A 421 is temporary: the domain is unreachable, not "no TLS".
    assert_eq!(scan.domain("busy.test")["starttls"].str(), Some("unreachable"));
    assert_eq!(scan.mx_row("fivehundred.test")["probe_attempts"].int(), Some(1));
    w.assert_polite();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_domains_and_ranges_are_never_touched() {
    let mut w = World::new(18);
    w.mx("excluded.test", "mx.excluded.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.mx("sub.excluded.test", 10, "mx.excluded.test");
    let ok_ip = w.mx("mixed.test", "mx1.mixed.test", Behaviour::new(Posture::NoStartTls)).await;
    let blocked_ip = w.block.next_ip();
    let blocked =
        FakeSmtp::spawn(SocketAddr::new(blocked_ip, SMTP_PORT), Behaviour::new(Posture::NoStartTls)).await.unwrap();
    w.zone.mx("mixed.test", 20, "mx2.mixed.test").addr("mx2.mixed.test", blocked_ip).addr("mx2.mixed.test", ok_ip);
    w.zone.mx("mixed.test", 30, "mx3.optout.test").addr("mx3.optout.test", ok_ip);
    // Lookups that other lookups lead to: an SPF include, a DMARC report destination's
    // authorisation, a CNAME: none may reach an excluded name.
    w.zone.txt("mixed.test", "v=spf1 include:_spf.optout.test -all").addr("_spf.optout.test", ok_ip);
    w.zone.txt("_dmarc.mixed.test", "v=DMARC1; p=none; rua=mailto:r@reports.optout.test");
    w.zone.mx("mixed.test", 40, "mx4.mixed.test").cname("mx4.mixed.test", "mx4.optout.test");
    let dir = crate::world::test_dir("exclude-file");
    let exclude =
        format!("# opt-out requests\nexcluded.test\noptout.test  # asked by its postmaster\n{blocked_ip}/32\n");
    std::fs::write(dir.join("exclude.txt"), &exclude).unwrap();
    // Read from the file, as --exclude reads it.
    let list = mailcensus::guard::ExcludeList::load(&dir.join("exclude.txt")).unwrap();
    let scan = w.scan("exclude", "excluded.test\nsub.excluded.test\nmixed.test\n", |c| c.guard.exclude = list).await;

    for d in ["excluded.test", "sub.excluded.test"] {
        let row = scan.domain(d);
        assert_eq!(row["excluded"].bool(), Some(true), "{d}");
        assert_eq!(
            (
                row["mx_outcome"].str(),
                row["mx_source"].str(),
                row["starttls"].str(),
                row["spf_status"].str(),
                row["dmarc_status"].str()
            ),
            (Some("not_queried"), Some("excluded"), Some("excluded"), Some("not_queried"), Some("not_queried")),
            "{d}"
        );
        assert!(scan.mx_rows(d).is_empty());
    }
    assert!(scan.queries.asked_under("excluded.test").is_empty(), "{:?}", scan.queries.asked_under("excluded.test"));
    assert!(!scan.queries.asked("mx3.optout.test"), "an excluded MX name is not even resolved");
    assert!(scan.queries.asked("mx4.mixed.test"), "the alias itself is asked");
    assert_eq!(
        scan.queries.asked_under("optout.test"),
        Vec::<String>::new(),
        "SPF include, DMARC report, CNAME target"
    );
    assert!(scan.queries.asked("_dmarc.mixed.test"));
    assert_eq!(scan.domain("mixed.test")["dmarc_status"].str(), Some("valid"));
    assert!(scan.queries.asked("mx2.mixed.test"));
    assert_eq!(w.server("mx.excluded.test").connections(), 0);
    assert_eq!(blocked.connections(), 0, "no connection into an excluded range");

    assert_eq!(scan.domain("mixed.test")["excluded"].bool(), Some(false));
    let rows = scan.mx_rows("mixed.test");
    let find = |host: &str, ip: Option<String>| {
        rows.iter()
            .find(|r| r["mx_host"].str() == Some(host) && r["ip"].str().map(str::to_string) == ip)
            .unwrap_or_else(|| panic!("{host} {ip:?}: {rows:#?}"))
    };
    assert_eq!(find("mx1.mixed.test", Some(ok_ip.to_string()))["probe_status"].str(), Some("done"));
    assert_eq!(find("mx2.mixed.test", Some(blocked_ip.to_string()))["probe_reason"].str(), Some("excluded"));
    assert_eq!(
        find("mx2.mixed.test", Some(ok_ip.to_string()))["probe_cached"].bool(),
        Some(false),
        "another host name, its own probe"
    );
    assert_eq!(find("mx3.optout.test", None)["probe_reason"].str(), Some("excluded"));
    assert_eq!(scan.domain("mixed.test")["starttls"].str(), Some("none"));

    // The same list through the command line: a bad entry is a usage error.
    std::fs::write(dir.join("bad.txt"), "optout.test\nnot a domain at all\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailcensus"))
        .args([
            "scan",
            "-",
            "--out",
            dir.join("o").to_str().unwrap(),
            "--exclude",
            dir.join("bad.txt").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.txt:2"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_becomes_a_row_not_a_lost_domain() {
    let mut w = World::new(19);
    w.mx("boom.test", "mx.boom.test", Behaviour::new(Posture::NoStartTls)).await;
    w.mx("fine.test", "mx.fine.test", Behaviour::new(Posture::NoStartTls)).await;
    w.zone.mx("shares.test", 10, "mx.boom.test");
    let scan = w
        .scan("panic-probe", "boom.test\nfine.test\nshares.test\n", |c| c.inject_panic = Some("mx.boom.test".into()))
        .await;
    assert_eq!(scan.domains.len(), 3, "no domain lost");
    for d in ["boom.test", "shares.test"] {
        let row = scan.mx_row(d);
        assert_eq!((row["probe_status"].str(), row["probe_reason"].str()), (Some("failed"), Some("internal")), "{d}");
        assert!(row["probe_detail"].str().is_some_and(|t| t.contains("injected panic")));
    }
    assert_eq!(scan.mx_row("fine.test")["probe_status"].str(), Some("done"));
    assert_eq!(scan.summary.counts.internal_errors, 1, "one probe panicked, shared by two domains");

    let mut w = World::new(20);
    w.mx("fine.test", "mx.fine.test", Behaviour::new(Posture::NoStartTls)).await;
    let scan = w.scan("panic-domain", "boom.test\nfine.test\n", |c| c.inject_panic = Some("boom.test".into())).await;
    assert_eq!(scan.domains.len(), 2);
    assert!(scan.domain("boom.test")["scan_error"].str().is_some_and(|e| e.starts_with("internal: injected panic")));
    assert_eq!(scan.domain("fine.test")["starttls"].str(), Some("none"));
    assert_eq!(scan.summary.counts.internal_errors, 1);

    // A panic in a client probe (once, an IMAP reply could cause one) costs that endpoint's row,
    // never the domain's MX, SPF or DMARC results (block 127.56.0.0/16).
    use mailcensus::probe::client::Protocol;
    let mut w = World::new(56);
    w.mx("owner.test", "mx.owner.test", Behaviour::new(Posture::NoStartTls)).await;
    let imap_ip = w.block.next_ip();
    w.zone
        .txt("owner.test", "v=spf1 -all")
        .txt("_dmarc.owner.test", "v=DMARC1; p=reject")
        .addr("imap.boom.test", imap_ip)
        .srv("_imaps._tcp.owner.test", 0, 21_993, "imap.boom.test");
    let scan = w
        .scan("panic-client", "owner.test\n", |c| {
            c.inject_panic = Some("imap.boom.test".into());
            c.client.protocols = vec![Protocol::Imaps];
        })
        .await;
    let row = scan.domain("owner.test");
    assert!(row["scan_error"].is_null(), "{:?}", row["scan_error"]);
    assert_eq!(
        (row["starttls"].str(), row["spf_status"].str(), row["dmarc_policy"].str()),
        (Some("none"), Some("valid"), Some("reject"))
    );
    assert_eq!(scan.mx_row("owner.test")["probe_status"].str(), Some("done"));
    let clients = mailcensus::testkit::dataset::read_rows(&scan.out.join("client_endpoints")).unwrap();
    assert_eq!(clients.len(), 1, "{clients:#?}");
    assert_eq!(
        (clients[0]["client_host"].str(), clients[0]["probe_status"].str(), clients[0]["probe_reason"].str()),
        (Some("imap.boom.test"), Some("failed"), Some("internal"))
    );
    assert_eq!(scan.summary.counts.internal_errors, 1, "the client probe's panic, counted once");
}
