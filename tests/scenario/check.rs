//! `mailcensus check` and `mailcensus export` as a user runs them, against the fakes (block
//! 127.42.0.0/16): the human and the JSON form of a few domains, and a scan as JSON lines.

use std::process::Command;

use mailcensus::testkit::dataset::read_rows;
use mailcensus::testkit::dns::FakeDns;
use mailcensus::testkit::pki::Validity;
use mailcensus::testkit::smtp::{Behaviour, Posture};
use serde_json::Value;

use crate::world::{SMTP_PORT, World, test_dir};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mailcensus"))
}

async fn output(mut c: Command) -> (Option<i32>, String, String) {
    let o = tokio::task::spawn_blocking(move || c.output()).await.unwrap().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stdout).to_string(), String::from_utf8_lossy(&o.stderr).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_verdicts_and_remedies_and_export_writes_json_lines() {
    let mut w = World::new(42);
    let leaf = w.ca.leaf(&["mx.good.test"], Validity::Current);
    w.mx("good.test", "mx.good.test", Behaviour::new(Posture::StartTls(leaf.server_config(false)))).await;
    w.zone.txt("good.test", "v=spf1 -all").txt("_dmarc.good.test", "v=DMARC1; p=reject");
    w.mx("plain.test", "mx.plain.test", Behaviour::new(Posture::NoStartTls)).await;
    let dns = FakeDns::spawn([127, 42, 255, 53].into(), w.zone.clone()).await.unwrap();
    let dir = test_dir("check");
    let ca = dir.join("ca.pem");
    w.ca.write_pem(&ca).unwrap();
    let check = |names: &[&str], extra: &[&str]| {
        let mut c = bin();
        c.arg("check").args(names);
        c.args(["--resolver", &dns.addr().to_string(), "--smtp-port", &SMTP_PORT.to_string(), "--allow-private"]);
        c.args(["--ca-file", ca.to_str().unwrap(), "--no-dnssec", "--read-timeout", "3", "--dns-timeout", "1"]);
        c.args(extra);
        output(c)
    };

    // JSON: one object per name, in the order given, a name that is not a domain included (exit 2).
    let (code, stdout, stderr) = check(&["plain.test", "Good.Test.", "not a domain"], &["--json"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    let all: Vec<Value> = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(all.len(), 3);
    let (plain, good, bad) = (&all[0], &all[1], &all[2]);
    assert_eq!(good["domain"], "good.test");
    assert_eq!(good["grade"], "A", "{good:#}");
    assert_eq!(good["findings"], serde_json::json!([]));
    assert_eq!(good["mx_hosts"][0]["mx_host"], "mx.good.test");
    assert_eq!(good["mx_hosts"][0]["probe_status"], "done");
    assert_eq!(good["mx_hosts"][0]["tls_cert_verdict"], "valid");
    assert_eq!((&good["spf_all"], &good["dmarc_policy"]), (&Value::from("fail"), &Value::from("reject")));
    assert_eq!(plain["grade"], "F");
    let ids: Vec<&str> = plain["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["no_starttls", "no_spf", "no_dmarc"]);
    let remedy = plain["findings"][0]["remedy"].as_str().unwrap();
    assert!(remedy.contains("mx.plain.test") && remedy.contains("STARTTLS"), "{remedy}");
    assert_eq!(plain["mx_hosts"][0]["smtp_starttls_offered"], false);
    // Every domains column is there, nulls included, so jq paths never miss.
    let columns = mailcensus::output::schema::DOMAINS.fields().len();
    assert_eq!(good.as_object().unwrap().len(), columns + 2 + 4, "{good:#}");
    // Gmail: no SPF and no DKIM comes first, what unblocks delivery first.
    let fixes: Vec<&str> = plain["gmail_fixes"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(fixes.first(), Some(&"spf_or_dkim"), "{plain:#}");
    assert_eq!(plain["gmail_all_senders"], "not_ready");
    assert_eq!(good["scan_date"].as_str().map(str::len), Some(10), "{good:#}");
    assert_eq!(bad["rejected"]["reason"], "invalid_character", "{bad:#}");
    assert_eq!(bad["input_line"], 4);

    // The human form, in Japanese: the grade, the server, the finding and its remedy.
    let (code, stdout, stderr) = check(&["plain.test"], &["--lang", "ja"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("plain.test  評価: F\n"), "{stdout}");
    assert!(stdout.contains("mx.plain.test (10)") && stdout.contains("answered without TLS"), "{stdout}");
    assert!(stdout.contains("STARTTLS なし: mx.plain.test で有効な証明書"), "{stdout}");
    assert!(stdout.contains("all senders: not_ready (no_spf_or_dkim"), "{stdout}");
    assert!(stdout.contains("Gmail への対策:\n   - Gmail: SPF も DKIM もない: "), "{stdout}");
    // Bad flags are usage errors, as for scan.
    let (code, _, stderr) = check(&["good.test"], &["--per-ip-rate", "0"]).await;
    assert_eq!(code, Some(2), "{stderr}");

    // export: a scan of the same world as JSON lines, one domain a line with its rows nested.
    let scan = w
        .scan("check-export", "domain\ngood.test\nplain.test\n", |c| {
            c.client.enabled = false;
        })
        .await;
    let (code, stdout, stderr) = output({
        let mut c = bin();
        c.arg("export").arg(&scan.out);
        c
    })
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), scan.domains.len());
    for line in &lines {
        let d = line["domain"].as_str().unwrap();
        assert_eq!(line["mx_hosts"].as_array().unwrap().len(), scan.mx_rows(d).len(), "{d}");
        assert_eq!(line["starttls"].as_str(), scan.domain(d)["starttls"].str(), "{d}");
        // Timestamps are RFC 3339 text.
        assert!(line["scanned_at"].as_str().is_some_and(|t| t.contains('T')), "{line:#}");
    }
    // One dataset's rows, to a file.
    let file = dir.join("mx.jsonl");
    let (code, _, stderr) = output({
        let mut c = bin();
        c.arg("export").arg(&scan.out).args(["--rows", "mx_hosts", "-o", file.to_str().unwrap()]);
        c
    })
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let mx_rows = read_rows(&scan.out.join("mx_hosts")).unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), mx_rows.len());
    // Not a scan directory: exit 2.
    let (code, _, stderr) = output({
        let mut c = bin();
        c.arg("export").arg(&dir);
        c
    })
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    w.assert_polite();
}
