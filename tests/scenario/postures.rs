//! Every MX posture of the scan issue, in one world (block 127.11.0.0/16): TLS verdicts, SMTP failures
//! with their phase and reason, and the domain summaries they lead to.

use std::time::Duration;

use mailcensus::testkit::pki::{Validity, self_signed, self_signed_ca};
use mailcensus::testkit::smtp::{Behaviour, Posture};

use crate::world::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mx_postures_are_classified() {
    let mut w = World::new(11);
    let other_ca = mailcensus::testkit::pki::TestCa::new("untrusted CA");
    let starttls = |cert: mailcensus::testkit::pki::ServerCert, tls12_only: bool| {
        Behaviour::new(Posture::StartTls(cert.server_config(tls12_only)))
    };

    let leaf = w.ca.leaf(&["mx.valid.test"], Validity::Current);
    w.mx("valid.test", "mx.valid.test", starttls(leaf, false)).await;
    w.mx("selfsigned.test", "mx.selfsigned.test", starttls(self_signed(&["mx.selfsigned.test"]), false)).await;
    // Found against postfix with an `openssl req -x509` certificate (CA:TRUE): also self_signed.
    w.mx("selfsignedca.test", "mx.selfsignedca.test", starttls(self_signed_ca(&["mx.selfsignedca.test"]), false)).await;
    let leaf = w.ca.leaf(&["mx.expired.test"], Validity::Expired);
    w.mx("expired.test", "mx.expired.test", starttls(leaf, false)).await;
    let leaf = w.ca.leaf(&["mx.elsewhere.test"], Validity::Current);
    w.mx("mismatch.test", "mx.mismatch.test", starttls(leaf, false)).await;
    w.mx(
        "unknownca.test",
        "mx.unknownca.test",
        starttls(other_ca.leaf(&["mx.unknownca.test"], Validity::Current), false),
    )
    .await;
    let leaf = w.ca.leaf(&["mx.tls12.test"], Validity::Current);
    w.mx("tls12.test", "mx.tls12.test", starttls(leaf, true)).await;
    let leaf = w.ca.leaf(&["mx.multiline.test"], Validity::Current);
    w.mx(
        "multiline.test",
        "mx.multiline.test",
        starttls(leaf, false).greeting(&["mx.multiline.test ESMTP", "no UCE", "be nice"]),
    )
    .await;
    let leaf = w.ca.leaf(&["mx.delayed.test"], Validity::Current);
    w.mx("delayed.test", "mx.delayed.test", starttls(leaf, false).delay(Duration::from_millis(1500))).await;
    w.mx("nostarttls.test", "mx.nostarttls.test", Behaviour::new(Posture::NoStartTls)).await;
    w.mx("reject454.test", "mx.reject454.test", Behaviour::new(Posture::RejectStartTls(454))).await;
    w.mx("greet421.test", "mx.greet421.test", Behaviour::new(Posture::Greeting421)).await;
    w.mx("garbage.test", "mx.garbage.test", Behaviour::new(Posture::GarbageGreeting)).await;
    w.mx("silent.test", "mx.silent.test", Behaviour::new(Posture::Silent)).await;
    w.mx("legacy.test", "mx.legacy.test", Behaviour::new(Posture::LegacyTlsOnly)).await;
    w.mx("injection.test", "mx.injection.test", Behaviour::new(Posture::PlaintextAfterStartTls)).await;
    w.mx("heloonly.test", "mx.heloonly.test", Behaviour::new(Posture::HeloOnly)).await;
    // A closed port: the MX address has no listener.
    let closed_ip = w.block.next_ip();
    w.zone.mx("closed.test", 10, "mx.closed.test").addr("mx.closed.test", closed_ip);

    let domains = [
        "valid.test",
        "selfsigned.test",
        "selfsignedca.test",
        "expired.test",
        "mismatch.test",
        "unknownca.test",
        "tls12.test",
        "multiline.test",
        "delayed.test",
        "nostarttls.test",
        "reject454.test",
        "greet421.test",
        "garbage.test",
        "silent.test",
        "legacy.test",
        "injection.test",
        "heloonly.test",
        "closed.test",
    ];
    let scan = w.scan("postures", &domains.join("\n"), |_| {}).await;
    assert_eq!(scan.domains.len(), domains.len());

    // (domain, starttls, tls_cert_valid, gmail_red_lock, tls_cert_verdict)
    let tls_cases = [
        ("valid.test", "valid"),
        ("selfsigned.test", "self_signed"),
        ("selfsignedca.test", "self_signed"),
        ("expired.test", "expired"),
        ("mismatch.test", "name_mismatch"),
        ("unknownca.test", "unknown_issuer"),
        ("tls12.test", "valid"),
        ("multiline.test", "valid"),
        ("delayed.test", "valid"),
    ];
    for (d, verdict) in tls_cases {
        let row = scan.domain(d);
        let mx = scan.mx_row(d);
        assert_eq!(row["starttls"].str(), Some("all"), "{d}");
        assert_eq!(row["tls_cert_valid"].str(), Some(if verdict == "valid" { "all" } else { "none" }), "{d}");
        assert_eq!(row["gmail_red_lock"].bool(), Some(false), "{d}");
        assert_eq!(mx["probe_status"].str(), Some("done"), "{d}: {mx:#?}");
        assert_eq!(mx["tls_cert_verdict"].str(), Some(verdict), "{d}: {:?}", mx["tls_cert_detail"]);
        assert_eq!(mx["smtp_starttls_offered"].bool(), Some(true), "{d}");
        assert_eq!(mx["smtp_starttls_code"].int(), Some(220), "{d}");
        assert_eq!(mx["smtp_post_tls_ehlo_code"].int(), Some(250), "{d}");
        assert_eq!(mx["tls_signature_valid"].bool(), Some(true), "{d}");
        assert_eq!(mx["tls_cert_key_type"].str(), Some("ec"), "{d}");
        assert!(mx["tls_cert_sha256"].str().is_some_and(|h| h.len() == 64), "{d}");
        assert!(mx["smtp_extensions"].list().iter().any(|e| e.str() == Some("STARTTLS")), "{d}");
    }
    assert_eq!(scan.domain("valid.test")["tls_version_min"].str(), Some("tls1_3"));
    assert_eq!(scan.mx_row("tls12.test")["tls_version"].str(), Some("tls1_2"));
    assert_eq!(scan.mx_row("valid.test")["tls_cipher"].str().map(|c| c.starts_with("TLS13_")), Some(true));
    assert_eq!(scan.mx_row("valid.test")["tls_chain_length"].int(), Some(2));
    assert_eq!(scan.mx_row("valid.test")["tls_cert_san"].list()[0].str(), Some("mx.valid.test"));
    assert_eq!(scan.mx_row("selfsigned.test")["tls_cert_self_signed"].bool(), Some(true));
    assert_eq!(scan.mx_row("expired.test")["tls_cert_expired"].bool(), Some(true));
    assert_eq!(scan.mx_row("mismatch.test")["tls_cert_name_matches"].bool(), Some(false));
    assert_eq!(scan.mx_row("multiline.test")["smtp_banner"].str(), Some("mx.multiline.test ESMTP\nno UCE\nbe nice"));

    // (domain, phase, reason, reply code, starttls summary, red lock)
    let failures = [
        ("reject454.test", "starttls", "rejected", Some(454), "none", Some(true)),
        ("greet421.test", "banner", "rejected", Some(421), "unreachable", None),
        ("garbage.test", "banner", "bad_reply", None, "unreachable", None),
        ("silent.test", "banner", "timeout", None, "unreachable", None),
        ("closed.test", "connect", "refused", None, "unreachable", None),
        ("legacy.test", "handshake", "legacy_tls_only", None, "unreachable", None),
        ("injection.test", "starttls", "plaintext_after_starttls", None, "none", Some(true)),
    ];
    for (d, phase, reason, code, summary, red) in failures {
        let mx = scan.mx_row(d);
        assert_eq!(
            (mx["probe_status"].str(), mx["probe_phase"].str(), mx["probe_reason"].str(), mx["probe_reply_code"].int()),
            (Some("failed"), Some(phase), Some(reason), code),
            "{d}: {:?}",
            mx["probe_detail"]
        );
        let row = scan.domain(d);
        assert_eq!((row["starttls"].str(), row["gmail_red_lock"].bool()), (Some(summary), red), "{d}");
        assert!(mx["tls_version"].is_null(), "{d}");
    }
    assert_eq!(scan.mx_row("greet421.test")["smtp_banner_code"].int(), Some(421));
    assert_eq!(scan.mx_row("greet421.test")["probe_attempts"].int(), Some(3), "421 is retried twice by default");
    assert_eq!(w.server("mx.greet421.test").connections(), 3);

    for d in ["nostarttls.test", "heloonly.test"] {
        let mx = scan.mx_row(d);
        assert_eq!((mx["probe_status"].str(), mx["smtp_starttls_offered"].bool()), (Some("done"), Some(false)), "{d}");
        let row = scan.domain(d);
        assert_eq!(
            (row["starttls"].str(), row["gmail_red_lock"].bool(), row["tls_cert_valid"].str()),
            (Some("none"), Some(true), Some("n_a")),
            "{d}"
        );
    }
    assert_eq!(scan.mx_row("heloonly.test")["smtp_helo_fallback"].bool(), Some(true));
    assert_eq!(scan.mx_row("nostarttls.test")["smtp_helo_fallback"].bool(), Some(false));

    // The scanner waited for the delayed greeting and never sent MAIL, RCPT or DATA anywhere.
    w.assert_polite();
    let cmds = w.server("mx.valid.test").commands();
    assert_eq!(cmds, ["EHLO scanner.mailcensus.test", "STARTTLS", "TLS EHLO scanner.mailcensus.test", "TLS QUIT"]);
    assert_eq!(
        w.server("mx.heloonly.test").commands(),
        ["EHLO scanner.mailcensus.test", "HELO scanner.mailcensus.test", "QUIT"]
    );
    assert_eq!(scan.summary.counts.probes, domains.len() as u64);
}

/// Probes share one TLS client config (cloned, with a fresh recording verifier each): repeated probes
/// of one server each judge its certificate (block 127.23).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_probes_each_judge_the_certificate() {
    use mailcensus::probe::smtp::{SmtpConfig, probe};
    use mailcensus::probe::tls::TlsContext;
    let mut w = World::new(23);
    let leaf = w.ca.leaf(&["mx.again.test"], Validity::Current);
    let ip = w.mx("again.test", "mx.again.test", Behaviour::new(Posture::StartTls(leaf.server_config(false)))).await;
    let dir = crate::world::test_dir("again");
    w.ca.write_pem(&dir.join("ca.pem")).unwrap();
    let tls = TlsContext::new(&[dir.join("ca.pem")]).unwrap();
    let config = SmtpConfig {
        port: crate::world::SMTP_PORT,
        ehlo_name: "scanner.mailcensus.test".into(),
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(3),
        probe_timeout: Duration::from_secs(5),
    };
    for round in 0..3 {
        let report = probe((ip, crate::world::SMTP_PORT).into(), "mx.again.test", &config, &tls).await;
        let t = report.tls.unwrap_or_else(|| panic!("round {round}: {:?}", report.attempt));
        assert_eq!((t.chain_length, t.assessment.verdict.as_label()), (2, "valid"), "round {round}");
    }
    assert_eq!(w.server("mx.again.test").connections(), 3);
}
