//! `report/index.html`: one self-contained page (inline CSS, SVG and script; no network fetch).
//!
//! The charts are SVG rendered here, so they show without scripting; the script only sorts and filters
//! the domain table and marks the page ready (`data-ready="1"` on `<body>`, or `data-error` if anything
//! failed), which the browser check in CI reads. The figures are also embedded as JSON
//! (`<script id="report-data">`) for tests and other tools.

use std::fmt::Write;

use super::grade::Lang;
use super::{ALL, METRICS, Report, metric_index, ordered_groups};

/// The page's words in one language.
struct Text {
    lang: &'static str,
    title: &'static str,
    by_group: &'static str,
    by_group_note: &'static str,
    legend: [&'static str; 4],
    tls_versions: &'static str,
    cert_verdicts: &'static str,
    grades: &'static str,
    domains: &'static str,
    filter: &'static str,
    columns: [&'static str; 4],
    compare_title: &'static str,
    compare_columns: [&'static str; 6],
    four_title: &'static str,
    four_note: &'static str,
    four_columns: [&'static str; 6],
    providers_title: &'static str,
    providers_note: &'static str,
    providers_columns: [&'static str; 6],
}

const EN: Text = Text {
    lang: "en",
    title: "Email encryption in transit: mailcensus report",
    by_group: "Encryption and authentication by group",
    by_group_note: "Shares with their 95% Wilson intervals (the black line); the number of domains is beside each group.",
    legend: ["STARTTLS on every MX", "valid certificates", "SPF valid", "DMARC present"],
    tls_versions: "TLS versions (distinct probes)",
    cert_verdicts: "Certificate verdicts (distinct TLS sessions)",
    grades: "Grades",
    domains: "Domains",
    filter: "filter: domain, group, grade or finding",
    columns: ["domain", "group", "grade", "findings"],
    compare_title: "Changes since the earlier scan",
    compare_columns: ["group", "share", "before", "now", "change", "intervals disjoint"],
    four_title: "The four columns",
    four_note: "Per group, the share of domains with a valid SPF policy, a DKIM key at a probed selector, TLS on every client endpoint that answered (submission, IMAP, POP3), and STARTTLS on every MX that answered; n is the number of domains each share is over.",
    four_columns: ["group", "domains", "SPF", "DKIM", "TLS client to server", "TLS server to server"],
    providers_title: "By mail provider",
    providers_note: "The four columns per mail provider: the registrable domain of each domain's primary MX host, the providers with the most domains first (every provider is in providers.csv). A provider whose published mail-app settings say \"no TLS\" fails the client-to-server column.",
    providers_columns: ["provider", "domains", "SPF", "DKIM", "TLS client to server", "TLS server to server"],
};

const JA: Text = Text {
    lang: "ja",
    title: "メール配送経路の暗号化: mailcensus レポート",
    by_group: "グループ別の暗号化と送信ドメイン認証",
    by_group_note: "割合と 95% Wilson 信頼区間（黒線）。グループ名の横の数字はドメイン数です。",
    legend: ["全 MX で STARTTLS", "証明書が有効", "SPF が有効", "DMARC あり"],
    tls_versions: "TLS バージョン（プローブ単位）",
    cert_verdicts: "証明書の判定（TLS セッション単位）",
    grades: "評価",
    domains: "ドメイン",
    filter: "絞り込み: ドメイン、グループ、評価、指摘",
    columns: ["ドメイン", "グループ", "評価", "指摘"],
    compare_title: "前回のスキャンからの変化",
    compare_columns: ["グループ", "指標", "前回", "今回", "変化", "信頼区間が重ならない"],
    four_title: "4 つの観点",
    four_note: "グループ別に、有効な SPF、調べたセレクタでの DKIM 鍵、応答したすべてのクライアント接続先（サブミッション、IMAP、POP3）での TLS、応答したすべての MX での STARTTLS を持つドメインの割合。n は各割合の母数です。",
    four_columns: ["グループ", "ドメイン数", "SPF", "DKIM", "TLS（クライアント〜サーバー）", "TLS（サーバー間）"],
    providers_title: "メール事業者別",
    providers_note: "メール事業者（各ドメインの優先 MX ホストの登録可能ドメイン）ごとの 4 つの観点。ドメイン数の多い順です（全事業者は providers.csv）。公開しているメールアプリ用設定が「TLS なし」の事業者は、クライアント〜サーバーの観点で不合格になります。",
    providers_columns: ["事業者", "ドメイン数", "SPF", "DKIM", "TLS（クライアント〜サーバー）", "TLS（サーバー間）"],
};

fn text(lang: Lang) -> &'static Text {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// Escapes text for HTML content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CHART_METRICS: [(&str, &str, &str); 4] = [
    ("starttls_all", "STARTTLS on every MX", "#2b6cb0"),
    ("cert_valid_all", "valid certificates", "#38a169"),
    ("spf_valid", "SPF valid", "#d69e2e"),
    ("dmarc_present", "DMARC present", "#805ad5"),
];

fn group_chart(report: &Report, t: &Text) -> String {
    let (label_w, bar_w, row_h) = (190.0, 520.0, 13.0);
    // All domains first, then each group.
    let groups: Vec<_> = report
        .groups
        .get_key_value(ALL)
        .into_iter()
        .chain(ordered_groups(report).filter(|(n, _)| n.as_str() != ALL))
        .collect();
    let block = row_h * CHART_METRICS.len() as f64 + 12.0;
    let height = 30.0 + block * groups.len() as f64;
    let mut svg = format!(
        r#"<svg id="group-chart" role="img" aria-label="shares per group" width="{}" height="{height}" viewBox="0 0 {} {height}">"#,
        label_w + bar_w + 70.0,
        label_w + bar_w + 70.0
    );
    for (i, ((_, _, color), name)) in CHART_METRICS.iter().zip(t.legend).enumerate() {
        let _ = write!(
            svg,
            r#"<rect x="{}" y="4" width="10" height="10" fill="{color}"/><text x="{}" y="13" class="legend">{name}</text>"#,
            label_w + i as f64 * 135.0,
            label_w + 14.0 + i as f64 * 135.0
        );
    }
    for (g, (group, stats)) in groups.iter().enumerate() {
        let y0 = 26.0 + g as f64 * block;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="group" text-anchor="end">{} ({})</text>"#,
            label_w - 8.0,
            y0 + block / 2.0,
            escape(group),
            stats.domains
        );
        for (k, (metric, _, color)) in CHART_METRICS.iter().enumerate() {
            let t = &stats.tallies[metric_index(metric)];
            let y = y0 + k as f64 * row_h;
            let Some(p) = t.share() else {
                let _ = write!(svg, r#"<text x="{label_w}" y="{}" class="na">n/a</text>"#, y + row_h - 3.0);
                continue;
            };
            let (lo, hi) = t.interval().unwrap_or((p, p));
            let _ = write!(
                svg,
                r#"<rect class="bar" data-metric="{metric}" data-group="{}" data-share="{p:.6}" x="{label_w}" y="{y}" width="{:.1}" height="{}" fill="{color}"><title>{metric}: {:.1}% (95% interval {:.1}-{:.1}%, n={})</title></rect>"#,
                escape(group),
                p * bar_w,
                row_h - 3.0,
                p * 100.0,
                lo * 100.0,
                hi * 100.0,
                t.n
            );
            let (x1, x2, ym) = (label_w + lo * bar_w, label_w + hi * bar_w, y + (row_h - 3.0) / 2.0);
            let _ = write!(
                svg,
                r##"<line x1="{x1:.1}" x2="{x2:.1}" y1="{ym}" y2="{ym}" stroke="#222" stroke-width="1"/>"##
            );
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" class="pct">{:.0}%</text>"#,
                label_w + bar_w + 6.0,
                y + row_h - 3.0,
                p * 100.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn distribution_chart(id: &str, counts: &std::collections::BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum();
    let (label_w, bar_w, row_h) = (140.0, 360.0, 18.0);
    let height = (counts.len().max(1) as f64) * row_h + 6.0;
    let mut svg = format!(r#"<svg id="{id}" role="img" width="{}" height="{height}">"#, label_w + bar_w + 110.0);
    for (i, (label, n)) in counts.iter().enumerate() {
        let share = if total > 0 { *n as f64 / total as f64 } else { 0.0 };
        let y = i as f64 * row_h;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text><rect class="bar" x="{label_w}" y="{}" width="{:.1}" height="{}" fill="#4a5568"/><text x="{:.1}" y="{}">{} ({:.1}%)</text>"##,
            label_w - 6.0,
            y + 13.0,
            escape(label),
            y + 2.0,
            share * bar_w,
            row_h - 5.0,
            label_w + bar_w + 6.0,
            y + 13.0,
            n,
            share * 100.0
        );
    }
    svg.push_str("</svg>");
    svg
}

fn data_json(report: &Report) -> String {
    let mut groups = serde_json::Map::new();
    for (name, g) in ordered_groups(report) {
        let mut metrics = serde_json::Map::new();
        for ((m, _), t) in METRICS.iter().zip(&g.tallies) {
            let (lo, hi) = t.interval().unzip();
            metrics.insert(m.to_string(), serde_json::json!({"share": t.share(), "low": lo, "high": hi, "n": t.n}));
        }
        groups.insert(name.clone(), serde_json::json!({"domains": g.domains, "weight": g.weight, "metrics": metrics}));
    }
    let grades: serde_json::Map<String, serde_json::Value> =
        report.grades.iter().map(|(g, n)| (g.to_string(), (*n).into())).collect();
    let json = serde_json::json!({"groups": groups, "grades": grades, "tls_versions": report.tls_versions, "cert_verdicts": report.cert_verdicts});
    // Safe inside <script>: '<', '>' and '&' only occur in JSON strings, where \u escapes mean the same.
    json.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

fn compare_section(c: &super::compare::Comparison, t: &Text) -> String {
    let counts = c.domain_counts();
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    let mut rows = String::new();
    for ch in c.changes.iter().filter(|ch| ch.kind == "group") {
        let pct = |v: &str| v.parse::<f64>().map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_default();
        let _ = write!(
            rows,
            r#"<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            ch.change,
            escape(&ch.name),
            ch.measure,
            pct(&ch.old),
            pct(&ch.new),
            ch.change,
            if ch.significant { "yes" } else { "" }
        );
    }
    let summary = match t.lang {
        "ja" => format!(
            "両方のスキャンにあるドメイン {} 件: 改善 {} 件、悪化 {} 件（評価、または Transparency Report 形式との比較では暗号化率）。すべての変化は <code>compare.csv</code> にあります。",
            c.common_domains,
            count("improved"),
            count("worsened")
        ),
        _ => format!(
            "{} domains in both scans: {} improved, {} worsened (grade, or fraction encrypted against a Transparency-Report file). Every change is in <code>compare.csv</code>.",
            c.common_domains,
            count("improved"),
            count("worsened")
        ),
    };
    let th: String = t.compare_columns.iter().map(|c| format!("<th>{c}</th>")).collect();
    format!(
        r#"<h2 id="compare">{}</h2>
<p>{summary}</p>
<table id="compare-table"><thead><tr>{th}</tr></thead><tbody>{rows}</tbody></table>"#,
        t.compare_title
    )
}

/// The four-columns table: per group, the guide's four shares.
fn four_columns_table(report: &Report, t: &Text) -> String {
    let mut out = String::from("<table id=\"four-columns\"><thead><tr>");
    for c in t.four_columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead><tbody>");
    for (name, g) in ordered_groups(report) {
        let _ = write!(out, "<tr><td>{}</td><td>{}</td>", escape(name), g.domains);
        for (_, metric) in super::FOUR_COLUMNS {
            let tally = &g.tallies[metric_index(metric)];
            match tally.share() {
                Some(p) => {
                    let _ = write!(out, "<td>{:.1}% <small>(n={})</small></td>", p * 100.0, tally.n);
                }
                None => out.push_str("<td>-</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// The scan's plausibility warnings, above everything else: these shares are not measurements.
fn warnings_banner(report: &Report) -> String {
    if report.warnings.is_empty() {
        return String::new();
    }
    let items: String = report.warnings.iter().map(|w| format!("<li>{}</li>", escape(w))).collect();
    format!(
        r#"<div id="warnings" style="background:#fff5f5;border:2px solid #c53030;padding:.8em;border-radius:6px"><b>These results cannot be right:</b><ul>{items}</ul></div>"#
    )
}

/// The provider view: the largest providers and their four columns.
fn providers_table(report: &Report, t: &Text) -> String {
    let mut out = String::from("<table id=\"providers\"><thead><tr>");
    for c in t.providers_columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead><tbody>");
    for (name, p) in report.providers_by_size().into_iter().take(super::HTML_PROVIDER_ROWS) {
        let _ = write!(out, "<tr><td>{}</td><td>{}</td>", escape(name), p.domains);
        for tally in &p.four {
            match tally.share() {
                Some(share) => {
                    let _ = write!(out, "<td>{:.1}% <small>(n={})</small></td>", share * 100.0, tally.n);
                }
                None => out.push_str("<td>-</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// The whole page, with the comparison section when there is one.
pub fn render(report: &Report, comparison: Option<&super::compare::Comparison>, lang: Lang) -> String {
    let t = text(lang);
    let all = report.groups.get(ALL);
    let red = all.map(|g| g.tallies[metric_index("red_lock")]).unwrap_or_default();
    let headline = match (red.share(), red.interval()) {
        (Some(p), Some((lo, hi))) if lang == Lang::Ja => format!(
            r#"<p class="headline">予測できる {} ドメインのうち <b id="headline-share">{:.1}%</b> は、Gmail からのメールを暗号化して受け取ります（95% 信頼区間 {:.1}-{:.1}%）。優先 MX が STARTTLS に対応しているためです。残りは Gmail で赤い鍵マークが表示されます。</p>"#,
            red.n,
            (1.0 - p) * 100.0,
            (1.0 - hi) * 100.0,
            (1.0 - lo) * 100.0
        ),
        (Some(p), Some((lo, hi))) => format!(
            r#"<p class="headline"><b id="headline-share">{:.1}%</b> of the {} domains where it can be predicted would receive mail from Gmail encrypted (95% interval {:.1}-{:.1}%): their preferred MX completes STARTTLS. The rest would show Gmail's red padlock.</p>"#,
            (1.0 - p) * 100.0,
            red.n,
            (1.0 - hi) * 100.0,
            (1.0 - lo) * 100.0
        ),
        _ => r#"<p class="headline">No domain whose encryption can be predicted.</p>"#.to_string(),
    };
    let mut rows = String::new();
    for (domain, group, grade, findings) in &report.graded {
        let _ = write!(
            rows,
            r#"<tr class="g{grade}"><td>{}</td><td>{}</td><td>{grade}</td><td>{}</td></tr>"#,
            escape(domain),
            escape(group),
            escape(findings)
        );
    }
    let graded_total: u64 = report.grades.iter().filter(|(g, _)| **g != '-').map(|(_, n)| n).sum();
    let truncated = if (report.graded.len() as u64) < graded_total {
        format!(
            "<p>The {} worst-graded of {graded_total} graded domains are shown; <code>domains.csv</code> has them all.</p>",
            report.graded.len()
        )
    } else {
        String::new()
    };
    let grades: Vec<String> =
        report.grades.iter().map(|(g, n)| format!("<span class=\"g{g}\">{g}: {n}</span>")).collect();
    format!(
        r##"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, "Hiragino Sans", "Yu Gothic UI", Meiryo, "Noto Sans CJK JP", sans-serif; margin: 2em; color: #1a202c; max-width: 1100px; }}
h1 {{ font-size: 1.6em; }} h2 {{ font-size: 1.2em; margin-top: 2em; }}
.headline {{ font-size: 1.2em; background: #ebf8ff; padding: .8em; border-radius: 6px; }}
svg text {{ font-size: 11px; }} svg .group {{ font-weight: 600; }} svg .legend {{ font-size: 11px; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9em; }} th, td {{ border-bottom: 1px solid #e2e8f0; padding: 3px 6px; text-align: left; }}
th {{ cursor: pointer; background: #f7fafc; }} .gA {{ color: #276749; }} .gF {{ color: #c53030; }}
.grades span {{ margin-right: 1em; font-weight: 600; }} input {{ padding: 4px; width: 20em; }}
</style></head>
<body data-ready="0">
<h1>{title}</h1>
{headline}
{warnings}
<h2>{by_group}</h2>
<p>{by_group_note}</p>
{group_chart}
<h2>{four_title}</h2>
<p>{four_note}</p>
{four_table}
<h2>{providers_title}</h2>
<p>{providers_note}</p>
{providers_table}
<h2>{tls_versions}</h2>
{tls_chart}
<h2>{cert_verdicts}</h2>
{cert_chart}
<h2>{grades_title}</h2>
<p class="grades">{grades}</p>
{compare}
<h2>{domains_title}</h2>
<p><input id="filter" placeholder="{filter}"></p>
{truncated}
<table id="domains"><thead><tr><th data-col="0">{c0}</th><th data-col="1">{c1}</th><th data-col="2">{c2}</th><th data-col="3">{c3}</th></tr></thead>
<tbody>{rows}</tbody></table>
<script type="application/json" id="report-data">{data}</script>
<script>
window.addEventListener("error", function (e) {{ document.body.dataset.error = String(e.message || e); }});
(function () {{
  var table = document.getElementById("domains");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var order = {{}};
  table.tHead.addEventListener("click", function (e) {{
    var col = e.target.getAttribute("data-col");
    if (col === null) return;
    order[col] = !order[col];
    var dir = order[col] ? 1 : -1;
    rows.sort(function (a, b) {{ return dir * a.cells[col].textContent.localeCompare(b.cells[col].textContent); }});
    rows.forEach(function (r) {{ body.appendChild(r); }});
  }});
  document.getElementById("filter").addEventListener("input", function (e) {{
    var q = e.target.value.toLowerCase();
    rows.forEach(function (r) {{ r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none"; }});
  }});
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var bars = document.querySelectorAll("#group-chart rect.bar").length;
  if (!data.groups || bars === 0 || !document.getElementById("tls-chart")) {{ document.body.dataset.error = "charts missing"; }}
  document.body.dataset.ready = "1";
}})();
</script>
</body></html>
"##,
        group_chart = group_chart(report, t),
        four_title = t.four_title,
        four_note = t.four_note,
        four_table = four_columns_table(report, t),
        warnings = warnings_banner(report),
        providers_title = t.providers_title,
        providers_note = t.providers_note,
        providers_table = providers_table(report, t),
        lang = t.lang,
        title = t.title,
        by_group = t.by_group,
        by_group_note = t.by_group_note,
        tls_versions = t.tls_versions,
        cert_verdicts = t.cert_verdicts,
        grades_title = t.grades,
        domains_title = t.domains,
        filter = t.filter,
        c0 = t.columns[0],
        c1 = t.columns[1],
        c2 = t.columns[2],
        c3 = t.columns[3],
        tls_chart = distribution_chart("tls-chart", &report.tls_versions),
        cert_chart = distribution_chart("cert-chart", &report.cert_verdicts),
        grades = grades.join(""),
        data = data_json(report),
        compare = comparison.map(|c| compare_section(c, t)).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_table() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn hostile_group_names_cannot_break_out() {
        let mut report = Report::default();
        let mut g = super::super::GroupStats::default();
        g.add(&super::super::DomainFacts {
            group: "</script><script>alert(1)</script>".into(),
            weight: 1.0,
            ..Default::default()
        });
        report.groups.insert("</script><script>alert(1)</script>".into(), g.clone());
        report.groups.insert(ALL.into(), g);
        let page = render(&report, None, Lang::En);
        assert!(render(&report, None, Lang::Ja).contains(r#"<html lang="ja">"#));
        assert!(!page.contains("<script>alert(1)"), "group names are escaped in HTML and JSON");
        assert_eq!(page.matches("</script>").count(), 2, "only the page's own two script elements close");
    }
}
