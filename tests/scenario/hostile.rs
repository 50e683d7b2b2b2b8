//! Hostile and broken servers, 300 at once (block 127.21.0.0/16): every read is bounded, every wait
//! ends, and each failure is classified with its phase.

use std::time::Duration;

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
        (Posture::HugeGreeting(100_000), "failed", Some("banner"), Some("bad_reply")),
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
    assert_eq!(scan.mx_row("k2-0.test")["smtp_banner"].str().map(str::len), Some(1000));
    // Every probe ended by its own deadline: the whole scan took about one read timeout, not the
    // tarpit's 40 seconds or the endless greeting's forever.
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    w.assert_polite();
}
