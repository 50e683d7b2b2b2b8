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
    // Three names on the second address: three probes, never two at once.
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
    let scan = w.scan("shared", &input, |c| c.concurrency = 64).await;
    assert_eq!(scan.domains.len(), 303);
    assert_eq!(scan.mx.len(), 300 * 2 + 3 * 3);
    assert_eq!(s1.connections(), 1, "mx1 probed once for 300 domains");
    assert_eq!(s2.connections(), 3, "one probe per (host name, IP)");
    assert_eq!(s2.max_concurrent(), 1, "per-ip-connections = 1");
    assert_eq!(scan.summary.counts.probes, 4);
    assert_eq!(scan.summary.counts.probe_cache_hits, (300 * 2 + 3 * 3 - 4) as u64);
    let cached = scan.mx.iter().filter(|r| r["probe_cached"].bool() == Some(true)).count();
    assert_eq!(cached, 300 * 2 + 3 * 3 - 4);
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
    let scan = w.scan("private", "private.test\n", |c| c.allow_private = false).await;
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
