//! The report's numbers agree with a recomputation from the raw Parquet, with each other (CSV and
//! terminal), and weights work (blocks 127.24 and 127.206-207).

use std::collections::BTreeMap;
use std::time::Duration;

use mailcensus::report::grade::Lang;
use mailcensus::report::stats::wilson;
use mailcensus::report::{ALL, render_summary};
use mailcensus::testkit::dataset::read_rows;
use mailcensus::testkit::pki::Validity;
use mailcensus::testkit::smtp::{Behaviour, Posture};
use mailcensus::world::WorldConfig;

use crate::world::{World, test_dir};

fn groups_csv(dir: &std::path::Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("report/groups.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let row: BTreeMap<String, String> =
                header.iter().zip(rec.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect();
            (row["group"].clone(), row)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_agrees_with_a_recomputation_from_the_parquet() {
    let dir = test_dir("report-demo");
    let world = WorldConfig {
        seed: 5,
        domains: 500,
        providers: 25,
        first_ip: [127, 206, 0, 1].into(),
        dns_ip: [127, 207, 0, 53].into(),
        smtp_port: 2531,
        greeting_delay: Duration::from_millis(200),
        ..Default::default()
    };
    let c = mailcensus::demo::demo(world, &dir, true, false).await.unwrap();
    assert_eq!(c.disagreements(), 0, "{}", c.render());
    let report = mailcensus::report::run(&dir, Lang::En).unwrap();
    let groups = groups_csv(&dir);

    // Every label written is in its column's documented vocabulary (the categories loaders fix).
    for dataset in ["domains", "mx_hosts", "client_endpoints"] {
        let outside = mailcensus::testkit::dataset::outside_vocabulary(&dir.join(dataset)).unwrap();
        assert!(outside.is_empty(), "{dataset}: labels outside their vocabulary: {outside:?}");
    }
    // Recompute three shares per group straight from the rows.
    let rows = read_rows(&dir.join("domains")).unwrap();
    let mut by_group: BTreeMap<String, Vec<&mailcensus::testkit::dataset::Row>> = BTreeMap::new();
    for r in &rows {
        by_group.entry(r["group"].str().unwrap().to_string()).or_default().push(r);
        by_group.entry(ALL.to_string()).or_default().push(r);
    }
    assert_eq!(groups.len(), by_group.len());
    for (g, rs) in &by_group {
        let known: Vec<_> =
            rs.iter().filter(|r| matches!(r["starttls"].str(), Some("all" | "some" | "none"))).collect();
        let all = known.iter().filter(|r| r["starttls"].str() == Some("all")).count();
        let red: Vec<_> = rs.iter().filter_map(|r| r["gmail_red_lock"].bool()).collect();
        let spf_known: Vec<_> = rs.iter().filter(|r| r["spf_status"].str() != Some("temperror")).collect();
        let spf_valid = spf_known.iter().filter(|r| r["spf_status"].str() == Some("valid")).count();
        let unauth: Vec<_> = rs.iter().filter_map(|r| r["gmail_unauthenticated_risk"].bool()).collect();
        let row = &groups[g];
        assert_eq!(row["domains"], rs.len().to_string(), "{g}");
        for (metric, hits, n) in [
            ("unauthenticated_risk", unauth.iter().filter(|b| **b).count(), unauth.len()),
            ("starttls_all", all, known.len()),
            ("red_lock", red.iter().filter(|b| **b).count(), red.len()),
            ("spf_valid", spf_valid, spf_known.len()),
        ] {
            assert_eq!(row[&format!("{metric}_n")], n.to_string(), "{g} {metric}");
            if n > 0 {
                let p = hits as f64 / n as f64;
                let (lo, hi) = wilson(p, n as f64, 1.959_963_984_540_054);
                for (suffix, want) in [("share", p), ("low", lo), ("high", hi)] {
                    let got: f64 = row[&format!("{metric}_{suffix}")].parse().unwrap();
                    assert!((got - want).abs() < 1e-6, "{g} {metric}_{suffix}: {got} vs {want}");
                }
            }
        }
    }

    // The terminal table shows the same figures as the CSV, rounded to percent.
    let text = render_summary(&report);
    let all_line = text.lines().find(|l| l.starts_with(ALL)).unwrap();
    let share: f64 = groups[ALL]["starttls_all_share"].parse().unwrap();
    assert!(all_line.contains(&format!("{:.0}%", share * 100.0)), "{all_line}");

    // domains.csv has one graded line per domain; the grade counts match.
    let mut graded = csv::Reader::from_path(dir.join("report/domains.csv")).unwrap();
    let mut counts: BTreeMap<char, u64> = BTreeMap::new();
    for rec in graded.records() {
        *counts.entry(rec.unwrap()[2].chars().next().unwrap()).or_default() += 1;
    }
    assert_eq!(counts, report.grades);
    assert_eq!(counts.values().sum::<u64>(), 500);
    assert!(counts.contains_key(&'A') && counts.contains_key(&'F') && counts.contains_key(&'-'));

    // transparency.csv: Google's columns, one line per domain whose MX answered.
    let mut t = csv::Reader::from_path(dir.join("report/transparency.csv")).unwrap();
    assert_eq!(
        t.headers().unwrap().iter().collect::<Vec<_>>(),
        ["Address Suffix", "Hostname Suffix", "Direction", "UN M.49 Region Code", "Region Name", "Fraction Encrypted"]
    );
    let lines: Vec<_> = t.records().map(|r| r.unwrap()).collect();
    let answered: std::collections::HashSet<String> = read_rows(&dir.join("mx_hosts"))
        .unwrap()
        .into_iter()
        .filter(|r| !r["smtp_starttls_offered"].is_null())
        .map(|r| r["domain"].str().unwrap().to_string())
        .collect();
    assert_eq!(lines.len(), answered.len());
    assert!(lines.iter().all(|l| &l[2] == "outbound" && (0.0..=1.0).contains(&l[5].parse::<f64>().unwrap())));

    // The page embeds the same figures as groups.csv, and draws a bar for each of them.
    let html = std::fs::read_to_string(dir.join("report/index.html")).unwrap();
    let start = html.find(r#"<script type="application/json" id="report-data">"#).unwrap();
    let json_text = &html[start..][html[start..].find('>').unwrap() + 1..];
    let json_text = &json_text[..json_text.find("</script>").unwrap()];
    let data: serde_json::Value = serde_json::from_str(json_text).unwrap();
    for (g, row) in &groups {
        for metric in ["starttls_all", "red_lock", "spf_valid", "dmarc_present"] {
            let csv_share = row[&format!("{metric}_share")].parse::<f64>().ok();
            let html_share = data["groups"][g]["metrics"][metric]["share"].as_f64();
            match (csv_share, html_share) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "{g} {metric}: csv {a} html {b}"),
                (a, b) => assert_eq!(a.is_some(), b.is_some(), "{g} {metric}"),
            }
        }
        let starttls = row["starttls_all_share"].parse::<f64>().ok();
        if let Some(p) = starttls {
            let bar = format!(
                r#"data-metric="starttls_all" data-group="{}" data-share="{p:.6}""#,
                mailcensus::report::html::escape(g)
            );
            assert!(html.contains(&bar), "no bar {bar}");
        }
    }
    let red: f64 = groups[ALL]["red_lock_share"].parse().unwrap();
    assert!(html.contains(&format!(r#"<b id="headline-share">{:.1}%</b>"#, (1.0 - red) * 100.0)), "headline");
    let parquet_groups = read_rows(&dir.join("report")).unwrap();
    assert_eq!(parquet_groups.len(), groups.len());
    for r in &parquet_groups {
        let g = r["group"].str().unwrap();
        let csv: Option<f64> = groups[g]["starttls_all_share"].parse().ok();
        // The Parquet share is a float exactly where the CSV has a number, null where it has none.
        match (csv, &r["starttls_all_share"]) {
            (Some(a), mailcensus::testkit::dataset::Value::Float(b)) => {
                assert!((a - b).abs() < 1e-6, "{g}: {a} vs {b}")
            }
            (None, mailcensus::testkit::dataset::Value::Null) => {}
            (csv, pq) => panic!("{g}: CSV {csv:?}, Parquet {pq:?}"),
        }
    }

    // Japanese remedies.
    mailcensus::report::run(&dir, Lang::Ja).unwrap();
    let ja = std::fs::read_to_string(dir.join("report/domains.csv")).unwrap();
    assert!(ja.contains("STARTTLS を有効にしてください"), "Japanese remedies");
    assert!(ja.contains("DMARC なし") || ja.contains("SPF なし"), "Japanese titles");
    let page = std::fs::read_to_string(dir.join("report/index.html")).unwrap();
    assert!(
        page.contains(r#"<html lang="ja">"#) && page.contains("グループ別の暗号化と送信ドメイン認証"),
        "Japanese page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_count_and_shrink_the_effective_sample() {
    let mut w = World::new(24);
    let leaf = w.ca.leaf(&["mx.heavy.test"], Validity::Current);
    w.mx("heavy.test", "mx.heavy.test", Behaviour::new(Posture::StartTls(leaf.server_config(false)))).await;
    w.mx("light1.test", "mx.light1.test", Behaviour::new(Posture::NoStartTls)).await;
    w.mx("light2.test", "mx.light2.test", Behaviour::new(Posture::NoStartTls)).await;
    w.mx("nogroup.test", "mx.nogroup.test", Behaviour::new(Posture::NoStartTls)).await;
    w.mx("formula.test", "mx.formula.test", Behaviour::new(Posture::NoStartTls)).await;
    let input = "domain,group,weight\nheavy.test,G1,10\nlight1.test,G1,1\nlight2.test,G1,\nnogroup.test,,3\nformula.test,=SUM(A1:A9),1\n";
    let scan = w.scan("report-weights", input, |_| {}).await;
    let report = mailcensus::report::run(&scan.out, Lang::En).unwrap();
    let groups = groups_csv(&scan.out);
    let g1 = &groups["G1"];
    assert_eq!((g1["domains"].as_str(), g1["weight"].as_str()), ("3", "12"), "a missing weight counts 1");
    let p: f64 = g1["starttls_all_share"].parse().unwrap();
    assert!((p - 10.0 / 12.0).abs() < 1e-6);
    let n_eff = 12.0 * 12.0 / (100.0 + 1.0 + 1.0);
    let (lo, hi) = wilson(10.0 / 12.0, n_eff, 1.959_963_984_540_054);
    assert!((g1["starttls_all_low"].parse::<f64>().unwrap() - lo).abs() < 1e-6);
    assert!((g1["starttls_all_high"].parse::<f64>().unwrap() - hi).abs() < 1e-6);
    assert_eq!(groups["(none)"]["weight"], "3");
    assert_eq!(report.groups[ALL].domains, 5);
    // A group name a spreadsheet would run as a formula is written as text.
    assert!(groups.contains_key("'=SUM(A1:A9)") && !groups.contains_key("=SUM(A1:A9)"), "{:?}", groups.keys());
    assert!(report.groups.contains_key("=SUM(A1:A9)"), "the name itself is kept");
    let domains = std::fs::read_to_string(scan.out.join("report/domains.csv")).unwrap();
    assert!(domains.contains("mx.light1.test"), "the remedy names the MX host without STARTTLS");
}

fn demo_world(seed: u64, block: u8) -> WorldConfig {
    WorldConfig {
        seed,
        domains: 300,
        providers: 20,
        first_ip: [127, block, 0, 1].into(),
        dns_ip: [127, block + 1, 0, 53].into(),
        smtp_port: 2532,
        greeting_delay: Duration::from_millis(200),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_two_demo_scans_and_a_transparency_report_file() {
    let dir = test_dir("report-compare");
    let (old, new) = (dir.join("old"), dir.join("new"));
    mailcensus::demo::demo(demo_world(7, 214), &old, true, false).await.unwrap();
    mailcensus::demo::demo(demo_world(8, 216), &new, true, false).await.unwrap();
    let bin = env!("CARGO_BIN_EXE_mailcensus");
    let run = |args: &[&str]| std::process::Command::new(bin).args(args).output().unwrap();
    assert!(run(&["report", old.to_str().unwrap()]).status.success());
    let out = run(&["report", "--compare", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("300 domains in both"), "{stdout}");

    let (old_groups, new_groups) = (groups_csv(&old), groups_csv(&new));
    let mut r = csv::Reader::from_path(new.join("report/compare.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let group_rows: Vec<_> = rows.iter().filter(|r| &r[0] == "group").collect();
    let common = old_groups.keys().filter(|g| new_groups.contains_key(*g)).count();
    assert!(group_rows.len() >= common * 3, "{} group rows for {common} common groups", group_rows.len());
    for row in &group_rows {
        let (g, measure) = (&row[1], &row[2]);
        let want_old: f64 = old_groups[g][&format!("{measure}_share")].parse().unwrap();
        let want_new: f64 = new_groups[g][&format!("{measure}_share")].parse().unwrap();
        assert!((row[3].parse::<f64>().unwrap() - want_old).abs() < 1e-6, "{g} {measure} old");
        assert!((row[4].parse::<f64>().unwrap() - want_new).abs() < 1e-6, "{g} {measure} new");
        let better = if measure == "red_lock" { want_new < want_old } else { want_new > want_old };
        let expected = if (want_new - want_old).abs() < 1e-9 {
            "unchanged"
        } else if better {
            "improved"
        } else {
            "worsened"
        };
        assert_eq!(&row[5], expected, "{g} {measure}");
    }
    // Domain rows: the grade changes between the two domains.csv files, and nothing else.
    let grades = |d: &std::path::Path| -> BTreeMap<String, String> {
        let mut r = csv::Reader::from_path(d.join("report/domains.csv")).unwrap();
        r.records().map(|x| x.unwrap()).map(|x| (x[0].to_string(), x[2].to_string())).collect()
    };
    let (og, ng) = (grades(&old), grades(&new));
    let changed = og.iter().filter(|(d, g)| ng.get(*d).is_some_and(|n| n != *g)).count();
    assert!(changed > 0, "two seeds, two worlds");
    assert_eq!(rows.iter().filter(|r| &r[0] == "domain" && &r[2] == "grade").count(), changed);
    let html = std::fs::read_to_string(new.join("report/index.html")).unwrap();
    assert!(html.contains(r#"<table id="compare-table">"#));

    // A trend over three scans: a copy of the old scan said to be from January, the old, the new.
    let january = dir.join("january");
    copy_dir(&old, &january);
    let run_json = january.join("run.json");
    let mut info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&run_json).unwrap()).unwrap();
    info["scan_date"] = "2026-01-05".into();
    info["scan_id"] = "20260105T000000Z-000001".into();
    std::fs::write(&run_json, info.to_string()).unwrap();
    let out = run(&["report", "--compare", old.to_str().unwrap(), january.to_str().unwrap(), new.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("trend over 3 scans"));
    let mut r = csv::Reader::from_path(new.join("report/trend.csv")).unwrap();
    let trend: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    // One point per scan (by id), in the file's order.
    let points: Vec<(&str, &str)> = trend.iter().map(|t| (&t[0], &t[1])).fold(Vec::new(), |mut v, p| {
        if v.last() != Some(&p) {
            v.push(p);
        }
        v
    });
    let dates: Vec<&str> = points.iter().map(|p| p.0).collect();
    let run_of = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("run.json")).unwrap()).unwrap()
    };
    let (old_run, new_run) = (run_of(&old), run_of(&new));
    assert_eq!(dates.len(), 3, "{dates:?}");
    assert_eq!((dates[0], dates[2]), ("2026-01-05", new_run["scan_date"].as_str().unwrap()), "ordered by scan date");
    // Each point is its own scan's figures (January is a copy of the old scan).
    let by_id: BTreeMap<&str, &BTreeMap<String, BTreeMap<String, String>>> = [
        ("20260105T000000Z-000001", &old_groups),
        (old_run["scan_id"].as_str().unwrap(), &old_groups),
        (new_run["scan_id"].as_str().unwrap(), &new_groups),
    ]
    .into();
    for t in &trend {
        let want: f64 = by_id[&t[1]][&t[2]][&format!("{}_share", &t[3])].parse().unwrap();
        assert!((t[4].parse::<f64>().unwrap() - want).abs() < 1e-6, "{t:?}");
    }
    let html = std::fs::read_to_string(new.join("report/index.html")).unwrap();
    assert!(html.contains(r#"<table id="trend-table">"#) && html.contains(r#"<th class="scan-date">2026-01-05</th>"#));
    assert!(html.contains(r#"<a href="trend.csv" download>"#));

    // The old side as a Transparency-Report CSV: outbound World rows only, on the domains both contain.
    let tr = dir.join("tr.csv");
    let fractions = csv::Reader::from_path(new.join("report/transparency.csv"))
        .unwrap()
        .records()
        .map(|x| x.unwrap())
        .take(4)
        .collect::<Vec<_>>();
    let mut text =
        String::from("Address Suffix,Hostname Suffix,Direction,UN M.49 Region Code,Region Name,Fraction Encrypted\n");
    for (i, rec) in fractions.iter().enumerate() {
        let same = i % 2 == 0;
        let f: f64 = rec[5].parse().unwrap();
        let old_f = if same { f } else { 1.0 - f };
        text.push_str(&format!(
            "{},x.test,outbound,001,World,{old_f}\n{},x.test,inbound,001,World,0.5\n",
            &rec[0], &rec[0]
        ));
    }
    text.push_str("not-in-scan.test,x.test,outbound,001,World,0\n");
    std::fs::write(&tr, text).unwrap();
    let out = run(&["report", "--compare", tr.to_str().unwrap(), new.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 domains in both"));
    let mut r = csv::Reader::from_path(new.join("report/compare.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let flipped =
        fractions.iter().enumerate().filter(|(i, rec)| i % 2 == 1 && rec[5].parse::<f64>().unwrap() != 0.5).count();
    assert_eq!(rows.len(), flipped, "only the domains whose fraction changed: {rows:?}");
    assert!(rows.iter().all(|r| &r[0] == "domain" && &r[2] == "fraction_encrypted"));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
