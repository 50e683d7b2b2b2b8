//! The `mailcensus scan` binary end to end (block 127.15.0.0/16): flags, exit codes, rejects.csv,
//! run.json, and the datasets' layout.

use std::process::Command;

use mailcensus::testkit::dataset::read_rows;
use mailcensus::testkit::dns::FakeDns;
use mailcensus::testkit::pki::Validity;
use mailcensus::testkit::smtp::{Behaviour, Posture};

use crate::world::{SMTP_PORT, World, test_dir};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mailcensus"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_command_writes_datasets_rejects_and_run_json() {
    let mut w = World::new(15);
    let leaf = w.ca.leaf(&["mx.ocn.test"], Validity::Current);
    w.mx("ocn.test", "mx.ocn.test", Behaviour::new(Posture::StartTls(leaf.server_config(false)))).await;
    w.mx("docomo.test", "mx.docomo.test", Behaviour::new(Posture::NoStartTls)).await;
    let dns = FakeDns::spawn([127, 15, 255, 53].into(), w.zone.clone()).await.unwrap();
    let dir = test_dir("cli");
    let input = dir.join("in.csv");
    std::fs::write(
        &input,
        "\u{feff}carrier,domain,users,Line Kind\r\n# comment\r\nNTT,OCN.test.,1000,fixed line\r\nDOCOMO,user@docomo.test,2000,\r\nX,192.0.2.1,1\r\n\r\nX,\"bad,name.test\",1\r\nNTT,ocn.test,5\r\nY,nxdomain.test,abc\r\n",
    )
    .unwrap();
    let ca = dir.join("ca.pem");
    w.ca.write_pem(&ca).unwrap();
    let out = dir.join("out");
    let scan_cmd = |extra: &[&str]| {
        let mut c = bin();
        c.args([
            "scan",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--group-column",
            "carrier",
            "--weight-column",
            "users",
            "--keep-column",
            "Line Kind",
        ]);
        c.args(["--resolver", &dns.addr().to_string(), "--smtp-port", &SMTP_PORT.to_string(), "--allow-private"]);
        c.args([
            "--ca-file",
            ca.to_str().unwrap(),
            "--ehlo-name",
            "scanner.mailcensus.test",
            "--no-progress",
            "--read-timeout",
            "3",
            "--no-dnssec",
        ]);
        c.args(extra);
        c
    };
    let run_cmd =
        |mut c: Command| async move { tokio::task::spawn_blocking(move || c.output()).await.unwrap().unwrap() };

    let output = run_cmd(scan_cmd(&[])).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 domains, 4 rejected"), "{stderr}");

    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    assert_eq!(
        rejects.lines().collect::<Vec<_>>(),
        [
            "line,input,reason,detail",
            "5,192.0.2.1,ip_literal,",
            "7,\"bad,name.test\",invalid_character,",
            "8,ocn.test,duplicate,first seen on line 3",
            "9,nxdomain.test,invalid_weight,\"weight \"\"abc\"\" is not a non-negative number\"",
        ]
    );
    let domains = read_rows(&out.join("domains")).unwrap();
    let mut got: Vec<_> = domains
        .iter()
        .map(|r| {
            (
                r["domain"].str().unwrap().to_string(),
                r["group"].str().unwrap().to_string(),
                r["input_line"].int().unwrap(),
                r["starttls"].str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [("docomo.test".into(), "DOCOMO".into(), 4, "none".into()), ("ocn.test".into(), "NTT".into(), 3, "all".into())]
    );
    assert!(out.join("domains/part-00000.parquet").exists() && out.join("mx_hosts/part-00000.parquet").exists());
    // The kept input column, in snake_case; an empty cell is null.
    let kind = |d: &str| domains.iter().find(|r| r["domain"].str() == Some(d)).unwrap()["input_line_kind"].clone();
    assert_eq!(kind("ocn.test").str(), Some("fixed line"));
    assert!(kind("docomo.test").is_null());

    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["complete"], true);
    assert_eq!(run["counts"]["domains"], 2);
    assert_eq!(run["counts"]["rejects"], 4);
    assert_eq!(run["counts"]["probes"], 2);
    assert_eq!(run["counts"]["probe_outcomes"]["done"], 2);
    assert_eq!(run["schema_version"], mailcensus::output::schema::SCHEMA_VERSION);
    assert!(run["args"].as_array().unwrap().iter().any(|a| a == "--allow-private"));
    // One scan id and date on every row of every dataset, as in run.json.
    let mx = read_rows(&out.join("mx_hosts")).unwrap();
    let stamps: std::collections::BTreeSet<_> =
        domains.iter().chain(&mx).map(|r| (r["scan_id"].str().unwrap().to_string(), r["scan_date"].int())).collect();
    assert_eq!(stamps.len(), 1, "{stamps:?}");
    assert_eq!(Some(stamps.first().unwrap().0.as_str()), run["scan_id"].as_str());
    assert_eq!(run["scan_date"].as_str().map(str::len), Some(10));
    assert_eq!(run["keep_columns"], serde_json::json!(["Line Kind"]));

    // A second scan into the same directory is refused (exit 2) unless --overwrite.
    let again = run_cmd(scan_cmd(&[])).await;
    assert_eq!(again.status.code(), Some(2), "{}", String::from_utf8_lossy(&again.stderr));
    let over = run_cmd(scan_cmd(&["--overwrite"])).await;
    assert_eq!(over.status.code(), Some(0), "{}", String::from_utf8_lossy(&over.stderr));
    assert_eq!(read_rows(&out.join("domains")).unwrap().len(), 2);
    w.assert_polite();
}

#[test]
fn usage_errors_exit_2() {
    let dir = test_dir("cli-usage");
    let missing = bin()
        .args(["scan", dir.join("nope.csv").to_str().unwrap(), "--out", dir.join("o").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read input"));
    let input = dir.join("in.csv");
    std::fs::write(&input, "domain\na.test\n").unwrap();
    let bad_col = bin()
        .args(["scan", input.to_str().unwrap(), "--out", dir.join("o").to_str().unwrap(), "--group-column", "isp"])
        .output()
        .unwrap();
    assert_eq!(bad_col.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_col.stderr).contains("\"isp\""));
    let bad_flag = bin().args(["scan", input.to_str().unwrap(), "--out", "o", "--per-ip-rate", "0"]).output().unwrap();
    assert_eq!(bad_flag.status.code(), Some(2));
    assert!(!dir.join("o").exists(), "nothing is written on a usage error");
}

/// A bug is one clear line and exit code 1 (block 127.32.0.0/16): a panic in the writer thread ends the
/// scan with exit 1, not 101 and a backtrace; a panic in one domain's scan becomes its row (exit 3);
/// arguments that are not UTF-8 are usage errors, not panics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bugs_and_odd_arguments_end_clearly() {
    let mut w = World::new(32);
    w.mx("a.test", "mx.a.test", Behaviour::new(Posture::NoStartTls)).await;
    w.mx("b.test", "mx.b.test", Behaviour::new(Posture::NoStartTls)).await;
    let dns = FakeDns::spawn([127, 32, 255, 53].into(), w.zone.clone()).await.unwrap();
    let dir = test_dir("cli-bugs");
    let input = dir.join("in.csv");
    std::fs::write(&input, "domain\na.test\nb.test\n").unwrap();
    let run = |name: &str, inject: &str| {
        let mut c = bin();
        c.env_remove("RUST_BACKTRACE").args(["scan", input.to_str().unwrap(), "--out"]);
        c.arg(dir.join(name)).args(["--resolver", &dns.addr().to_string(), "--smtp-port", &SMTP_PORT.to_string()]);
        c.args(["--allow-private", "--no-progress", "--no-report", "--no-dnssec", "--inject-panic", inject]);
        c
    };
    let output =
        |mut c: Command| async move { tokio::task::spawn_blocking(move || c.output()).await.unwrap().unwrap() };

    let writer = output(run("writer", "writer:b.test")).await;
    let stderr = String::from_utf8_lossy(&writer.stderr);
    assert_eq!(writer.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("internal error") && stderr.contains("writer"), "{stderr}");
    assert!(!stderr.contains("stack backtrace") && !stderr.contains("RUST_BACKTRACE=1` environment"), "{stderr}");

    let domain = output(run("domain", "b.test")).await;
    let stderr = String::from_utf8_lossy(&domain.stderr);
    assert_eq!(domain.status.code(), Some(3), "{stderr}");
    let rows = read_rows(&dir.join("domain/domains")).unwrap();
    assert_eq!(rows.len(), 2, "the domain whose scan failed still has its row");
    assert_eq!(stderr.lines().filter(|l| l.contains("internal error in thread")).count(), 1, "{stderr}");

    use std::os::unix::ffi::OsStrExt;
    let odd = std::ffi::OsStr::from_bytes(b"\xff\xfe.csv");
    let bad_path = bin().arg("scan").arg(odd).arg("--out").arg(dir.join("o")).output().unwrap();
    assert_eq!(bad_path.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad_path.stderr));
    let bad_text =
        bin().args(["scan", input.to_str().unwrap(), "--out", "o", "--group-column"]).arg(odd).output().unwrap();
    assert_eq!(bad_text.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad_text.stderr));
    assert!(!String::from_utf8_lossy(&bad_text.stderr).contains("panicked"));
}

/// The datasets load in pandas, polars and DuckDB (scripts/check_load.py). Required in CI (`CI` set);
/// elsewhere skipped with a message when the Python packages of scripts/requirements.txt are missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datasets_load_in_pandas_polars_and_duckdb() {
    let mut w = World::new(16);
    let leaf = w.ca.leaf(&["mx.a.test"], Validity::Current);
    w.mx("a.test", "mx.a.test", Behaviour::new(Posture::StartTls(leaf.server_config(false)))).await;
    let b_ip = w.mx("b.test", "mx.b.test", Behaviour::new(Posture::NoStartTls)).await;
    // A guessed client host (nothing listens there): six client_endpoints rows, all refused.
    w.zone.addr("mail.b.test", b_ip);
    let scan =
        w.scan("pyload", "domain,group,weight\na.test,g1,10\nb.test,g2,\nc.test,g2,1\n", |c| c.rows_per_part = 2).await;
    assert_eq!(scan.domains.len(), 3);
    let out = scan.out.clone();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check_load.py");
    let result = Command::new("python3").arg(script).arg(&out).output();
    let in_ci = std::env::var_os("CI").is_some();
    match result {
        Ok(o) if o.status.code() == Some(3) && !in_ci => {
            eprintln!("skipped: Python packages missing (pip install -r scripts/requirements.txt)");
        }
        Ok(o) => {
            let stdout = String::from_utf8_lossy(&o.stdout);
            assert!(o.status.success(), "check_load.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
            assert!(stdout.contains("domains: 3 rows"), "{stdout}");
            assert!(stdout.contains("client_endpoints: 6 rows"), "{stdout}");
        }
        Err(e) if !in_ci => eprintln!("skipped: no python3 ({e})"),
        Err(e) => panic!("python3 is required in CI: {e}"),
    }
}

/// Quiet by default (block 127.37.0.0/16): a scan with DNSSEC validation on (whose library, hickory,
/// warns about every unsigned answer) and a demo print no library warning and no colour codes when
/// stderr is not a terminal; `-v` brings the library warnings back, `-q` keeps errors only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_warnings_stay_quiet_by_default() {
    let mut w = World::new(37);
    let leaf = w.ca.leaf(&["mx.quiet.test"], Validity::Current);
    w.mx("quiet.test", "mx.quiet.test", Behaviour::new(Posture::StartTls(leaf.server_config(false)))).await;
    w.zone.txt("quiet.test", "v=spf1 -all");
    let dns = FakeDns::spawn([127, 37, 255, 53].into(), w.zone.clone()).await.unwrap();
    let dir = test_dir("quiet");
    let input = dir.join("in.csv");
    std::fs::write(&input, "domain\nquiet.test\nnxdomain.quiet.test\n").unwrap();
    let ca = dir.join("ca.pem");
    w.ca.write_pem(&ca).unwrap();
    let scan = |extra: &[&str], out: &str| {
        let mut c = bin();
        c.args(["scan", input.to_str().unwrap(), "--out", dir.join(out).to_str().unwrap()]);
        c.args(["--resolver", &dns.addr().to_string(), "--smtp-port", &SMTP_PORT.to_string(), "--allow-private"]);
        // Validation on against an unsigned zone (whose root does not validate): the preflight
        // would rightly stop it, and the library's warnings about the answers are the point here.
        c.args(["--ca-file", ca.to_str().unwrap(), "--no-progress", "--no-preflight"]);
        c.args(extra);
        c
    };
    let run = |mut c: Command| async move {
        let out = tokio::task::spawn_blocking(move || c.output()).await.unwrap().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (code, stderr) = run(scan(&[], "default")).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("WARN") && !stderr.contains('\u{1b}'), "default stderr: {stderr}");
    // The same scan with -v: hickory's DNSSEC warnings about the unsigned answers are there.
    let (code, verbose) = run(scan(&["-v"], "verbose")).await;
    assert_eq!(code, Some(0), "{verbose}");
    assert!(verbose.contains("WARN hickory"), "-v should show library warnings: {verbose}");
    assert!(!verbose.contains('\u{1b}'), "no colour codes when stderr is not a terminal");
    let (code, quiet) = run(scan(&["-q"], "quiet")).await;
    assert_eq!((code, quiet.as_str()), (Some(0), ""));
    // A scan replaced with --overwrite --no-report leaves no report of the earlier data behind.
    assert!(dir.join("quiet/report/index.html").exists());
    let (code, stderr) = run(scan(&["--overwrite", "--no-report"], "quiet")).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!dir.join("quiet/report").exists(), "the earlier report/ was left beside the new data");
    // `report` on a folder that is not a scan: usage error, exit 2, as documented.
    let mut report = bin();
    report.args(["report", dir.join("no-such-scan").to_str().unwrap()]);
    let (code, stderr) = run(report).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a scan directory"), "{stderr}");

    let mut demo = bin();
    demo.args(["demo", "--domains", "60", "--providers", "6", "--no-progress", "--smtp-port", "2537"]);
    demo.args(["--first-ip", "127.37.10.1", "--dns-ip", "127.37.254.53", "--out", dir.join("demo").to_str().unwrap()]);
    let (code, stderr) = run(demo).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("WARN") && !stderr.contains('\u{1b}'), "demo stderr: {stderr}");
}

/// Results that cannot be right are said, not reported as measurements (block 127.38.0.0/16): a
/// resolver that answers NXDOMAIN for everything (a machine without internet), and a test network
/// scanned without `--allow-private`. Exit code 4, the flag to use, `run.json`'s `warnings`, and a
/// banner on the report page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implausible_results_are_said_not_reported() {
    let mut w = World::new(38);
    let mx_ip = w.block.next_ip();
    let mut private_input = String::from("domain\n");
    for i in 0..25 {
        w.zone.mx(&format!("d{i}.private.test"), 10, "mx.private.test");
        private_input.push_str(&format!("d{i}.private.test\n"));
    }
    w.zone.addr("mx.private.test", mx_ip);
    let dns = FakeDns::spawn([127, 38, 255, 53].into(), w.zone.clone()).await.unwrap();
    let nothing = FakeDns::spawn([127, 38, 254, 53].into(), mailcensus::testkit::dns::Zone::new()).await.unwrap();
    let dir = test_dir("implausible");
    let run = |resolver: String, input: &str, out: &str, extra: &[&str]| {
        let path = dir.join(format!("{out}.csv"));
        std::fs::write(&path, input).unwrap();
        let mut c = bin();
        c.args(["scan", path.to_str().unwrap(), "--out", dir.join(out).to_str().unwrap(), "--resolver", &resolver]);
        c.args(["--smtp-port", &SMTP_PORT.to_string(), "--no-progress", "--no-dnssec"]);
        c.args(extra);
        async move {
            let o = tokio::task::spawn_blocking(move || c.output()).await.unwrap().unwrap();
            (o.status.code(), String::from_utf8_lossy(&o.stderr).to_string())
        }
    };
    let run_json = |out: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(out).join("run.json")).unwrap()).unwrap()
    };

    // Every name NXDOMAIN: the same domains, through a resolver that knows nothing.
    let (code, stderr) = run(nothing.addr().to_string(), &private_input, "nxdomain", &["--allow-private"]).await;
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("resolver_answers_nothing") && stderr.contains("--resolver"), "{stderr}");
    assert_eq!(run_json("nxdomain")["warnings"][0]["code"], "resolver_answers_nothing");
    let page = std::fs::read_to_string(dir.join("nxdomain/report/index.html")).unwrap();
    assert!(page.contains("id=\"warnings\"") && page.contains("resolver_answers_nothing"));

    // A longer list judged after 20 domains: it stops there (exit 5) instead of scanning the rest.
    let long: String = (0..2000).map(|i| format!("d{i}.long.test\n")).collect();
    let (code, stderr) = run(
        nothing.addr().to_string(),
        &format!("domain\n{long}"),
        "early",
        &["--allow-private", "--judge-after", "20", "--max-parked", "4"],
    )
    .await;
    assert_eq!(code, Some(5), "{stderr}");
    assert!(stderr.contains("stopped: resolver_answers_nothing") && stderr.contains("--overwrite"), "{stderr}");
    let early = run_json("early");
    assert_eq!((&early["stopped_early"], &early["complete"]), (&serde_json::json!(true), &serde_json::json!(false)));
    let written = read_rows(&dir.join("early/domains")).unwrap().len();
    assert!((20..2000).contains(&written), "{written} domains written");
    // With validation on, the preflight finds that the root does not validate through this resolver
    // and stops before anything is scanned or written.
    let path = dir.join("preflight.csv");
    std::fs::write(&path, &private_input).unwrap();
    let mut c = bin();
    c.args(["scan", path.to_str().unwrap(), "--out", dir.join("preflight").to_str().unwrap()]);
    c.args(["--resolver", &nothing.addr().to_string(), "--no-progress", "--dns-timeout", "1"]);
    let o = tokio::task::spawn_blocking(move || c.output()).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("preflight: the trust anchor for zone \".\"") && stderr.contains("--no-dnssec"),
        "{stderr}"
    );
    assert!(!dir.join("preflight/domains").exists());
    // Without validation, a name the operator knows has mail must answer first.
    let (code, stderr) =
        run(nothing.addr().to_string(), &private_input, "known", &["--preflight-name", "d0.private.test"]).await;
    assert_eq!(code, Some(5), "{stderr}");
    assert!(stderr.contains("d0.private.test, named with --preflight-name, has no MX answer (nxdomain)"), "{stderr}");

    // The real answers, but the MX is on a private address and --allow-private is missing.
    let (code, stderr) = run(dns.addr().to_string(), &private_input, "private", &[]).await;
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("all_targets_private") && stderr.contains("pass --allow-private"), "{stderr}");
    assert_eq!(run_json("private")["warnings"][0]["code"], "all_targets_private");
    // With the flag, nothing to say (the MX does not answer, which is data, not implausible).
    let (code, stderr) = run(
        dns.addr().to_string(),
        &private_input,
        "allowed",
        &["--allow-private", "--connect-timeout", "1", "--preflight-name", "d0.private.test"],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(run_json("allowed")["warnings"], serde_json::json!([]));
}

/// Without a terminal, a scan prints a plain status line every --status-interval that names the
/// limit holding it back (block 127.43.0.0/16).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lines_say_which_limit_binds() {
    let mut w = World::new(43);
    let leaf = w.ca.leaf(&["mx.shared.test"], Validity::Current);
    w.mx("s0.test", "mx.shared.test", Behaviour::new(Posture::StartTls(leaf.server_config(false)))).await;
    let mut input = String::from("domain\n");
    for i in 0..12 {
        // Each domain names the shared host by its own name: one probe per name at one address.
        let host = format!("mx.s{i}.test");
        w.zone.mx(&format!("s{i}.test"), 10, &host).addr(&host, w.servers[0].1.addr().ip());
        input.push_str(&format!("s{i}.test\n"));
    }
    let dns = FakeDns::spawn([127, 43, 255, 53].into(), w.zone.clone()).await.unwrap();
    let dir = test_dir("status");
    let path = dir.join("in.csv");
    std::fs::write(&path, &input).unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut c = bin();
        c.args(["scan", path.to_str().unwrap(), "--out", dir.join(out).to_str().unwrap()]);
        c.args(["--resolver", &dns.addr().to_string(), "--smtp-port", &SMTP_PORT.to_string(), "--allow-private"]);
        c.args(["--no-dnssec", "--checks", "none", "--status-interval", "0.3", "--no-report"]);
        c.args(extra);
        async move {
            let o = tokio::task::spawn_blocking(move || c.output()).await.unwrap().unwrap();
            (o.status.code(), String::from_utf8_lossy(&o.stderr).to_string())
        }
    };
    // One address, one new connection a second (its names are probed twice there, not once each):
    // its per-IP limits bind.
    let (code, stderr) = run("per-ip", &["--per-ip-rate", "1"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    let status: Vec<&str> = stderr.lines().filter(|l| l.contains("lines,")).collect();
    assert!(!status.is_empty(), "{stderr}");
    assert!(status.iter().any(|l| l.contains("% ") && l.contains("/12 lines")), "{stderr}");
    let ip = w.servers[0].1.addr().ip();
    assert!(status.iter().any(|l| l.contains(&format!("limit: per-IP limits of smtp/{ip}"))), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "escape codes in a redirected stderr: {stderr:?}");
    // Twenty queries a second for the whole run: --dns-qps binds.
    let (code, stderr) = run("qps", &["--dns-qps", "20", "--per-ip-rate", "1000"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.lines().any(|l| l.contains("limit: dns_qps (20/s)")), "{stderr}");
    // -q: nothing.
    let (code, stderr) = run("quiet", &["-q", "--per-ip-rate", "1000", "--dns-qps", "20"]).await;
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
}
