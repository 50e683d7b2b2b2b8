//! `report/index.html`: one self-contained page (inline CSS, SVG and script; no network fetch), made
//! from the template `page.html` (minijinja, HTML-escaped by default) and charts drawn here by layout
//! code with its own tests.
//!
//! The page says what it is (scan date, id, resolver, command line), defines every metric it shows,
//! links every file of the report for download, and gives each graded domain its remedies. The
//! group chart stays readable from 5 to 500 groups: one row per group, largest first, at most
//! [`MAX_CHART_GROUPS`] rows with the rest merged into one, and a label column as wide as the longest
//! name (names are never cut). The script sorts and filters the domain table, checks what the page
//! promises (charts drawn, metrics defined, no group name cut or overlapping) and marks the page
//! ready (`data-ready="1"` on `<body>`, or `data-error`), which the browser check in CI reads. The
//! figures are also embedded as JSON (`<script id="report-data">`) for tests and other tools.

use std::fmt::Write;

use minijinja::Environment;
use minijinja::value::Value;
use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use super::grade::Lang;
use super::{ALL, GroupStats, METRICS, Report, metric_index, ordered_groups};

/// Most groups drawn in the group chart; the others are merged into one row.
pub const MAX_CHART_GROUPS: usize = 40;

/// The page's words in one language.
#[derive(Serialize)]
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
    columns: [&'static str; 5],
    compare_title: &'static str,
    compare_columns: [&'static str; 6],
    four_title: &'static str,
    four_note: &'static str,
    four_columns: [&'static str; 6],
    providers_title: &'static str,
    providers_note: &'static str,
    providers_columns: [&'static str; 6],
    gmail_title: &'static str,
    gmail_note: &'static str,
    gmail_columns: [&'static str; 6],
    gmail_providers_note: &'static str,
    scanned: &'static str,
    scan_id: &'static str,
    resolver: &'static str,
    command: &'static str,
    warnings_title: &'static str,
    grades_note: &'static str,
    definitions: &'static str,
    downloads: &'static str,
    other_groups: &'static str,
    chart_note: &'static str,
    trend_title: &'static str,
    trend_note: &'static str,
    trend_columns: [&'static str; 2],
}

const EN: Text = Text {
    lang: "en",
    title: "Email encryption in transit: mailcensus report",
    by_group: "Encryption and authentication by group",
    by_group_note: "Each dot is a share, its line the 95% Wilson interval; groups are sorted by their number of domains (beside each name). \"All domains\" comes first. The metrics are defined at the end of the page.",
    legend: ["STARTTLS on every MX", "valid certificates", "SPF valid", "DMARC present"],
    tls_versions: "TLS versions (distinct probes)",
    cert_verdicts: "Certificate verdicts (distinct TLS sessions)",
    grades: "Grades",
    domains: "Domains",
    filter: "filter: domain, group, grade or finding",
    columns: ["domain", "group", "grade", "findings", "remedies"],
    compare_title: "Changes since the earlier scan",
    compare_columns: ["group", "share", "before", "now", "change", "intervals disjoint"],
    four_title: "The four columns",
    four_note: "Per group, the share of domains with a valid SPF policy, a DKIM key at a probed selector, TLS on every client endpoint that answered (submission, IMAP, POP3), and STARTTLS on every MX that answered; n is the number of domains each share is over.",
    four_columns: ["group", "domains", "SPF", "DKIM", "TLS client to server", "TLS server to server"],
    providers_title: "By mail provider",
    providers_note: "The four columns per mail provider: the registrable domain of each domain's primary MX host, the providers with the most domains first (every provider is in providers.csv). A provider whose published mail-app settings say \"no TLS\" fails the client-to-server column.",
    providers_columns: ["provider", "domains", "SPF", "DKIM", "TLS client to server", "TLS server to server"],
    gmail_title: "What Gmail requires and shows",
    gmail_note: "Per group, the share of domains ready for Gmail's sender requirements as far as DNS shows them (all senders: SPF or DKIM and reverse DNS of the known sending hosts; bulk senders: SPF and DKIM, a DMARC record and reverse DNS), whose known sending hosts all have forward-confirmed reverse DNS, and for which Gmail would show the BIMI logo with the blue checkmark. Each share is over the domains whose verdict is known (a failed lookup is left out, never counted as not ready); domains.csv lists each domain's fixes, what unblocks delivery first.",
    gmail_columns: [
        "group",
        "domains",
        "ready: all senders",
        "ready: bulk senders",
        "reverse DNS confirmed",
        "BIMI checkmark",
    ],
    gmail_providers_note: "The same per mail provider, most domains first (every provider is in providers.csv).",
    scanned: "Scanned",
    scan_id: "scan",
    resolver: "resolver",
    command: "command:",
    warnings_title: "These results cannot be right:",
    grades_note: "A to F by the rules in the README: encryption sets the start (STARTTLS on every MX with valid certificates is A), each authentication problem lowers it one step; - is not graded (no MX, lookups failed).",
    definitions: "What each figure means",
    downloads: "Downloads",
    other_groups: "other groups",
    chart_note: "The {shown} largest of {total} groups are drawn; the other {rest} are merged into one row (every group is in groups.csv and the table above).",
    trend_title: "Trend over the scans",
    trend_note: "Each share per scan date (oldest first), for all domains and the largest groups of the newest scan; every group and interval is in trend.csv.",
    trend_columns: ["group", "share"],
};

const JA: Text = Text {
    lang: "ja",
    title: "メール配送経路の暗号化: mailcensus レポート",
    by_group: "グループ別の暗号化と送信ドメイン認証",
    by_group_note: "点が割合、線が 95% Wilson 信頼区間です。グループはドメイン数（名前の横）の多い順で、先頭は全ドメインです。各指標の定義はページの最後にあります。",
    legend: ["全 MX で STARTTLS", "証明書が有効", "SPF が有効", "DMARC あり"],
    tls_versions: "TLS バージョン（プローブ単位）",
    cert_verdicts: "証明書の判定（TLS セッション単位）",
    grades: "評価",
    domains: "ドメイン",
    filter: "絞り込み: ドメイン、グループ、評価、指摘",
    columns: ["ドメイン", "グループ", "評価", "指摘", "対策"],
    compare_title: "前回のスキャンからの変化",
    compare_columns: ["グループ", "指標", "前回", "今回", "変化", "信頼区間が重ならない"],
    four_title: "4 つの観点",
    four_note: "グループ別に、有効な SPF、調べたセレクタでの DKIM 鍵、応答したすべてのクライアント接続先（サブミッション、IMAP、POP3）での TLS、応答したすべての MX での STARTTLS を持つドメインの割合。n は各割合の母数です。",
    four_columns: ["グループ", "ドメイン数", "SPF", "DKIM", "TLS（クライアント〜サーバー）", "TLS（サーバー間）"],
    providers_title: "メール事業者別",
    providers_note: "メール事業者（各ドメインの優先 MX ホストの登録可能ドメイン）ごとの 4 つの観点。ドメイン数の多い順です（全事業者は providers.csv）。公開しているメールアプリ用設定が「TLS なし」の事業者は、クライアント〜サーバーの観点で不合格になります。",
    providers_columns: ["事業者", "ドメイン数", "SPF", "DKIM", "TLS（クライアント〜サーバー）", "TLS（サーバー間）"],
    gmail_title: "Gmail の要件と表示",
    gmail_note: "グループ別に、DNS から分かる範囲で Gmail の送信者要件を満たすドメイン（全送信者：SPF または DKIM と、既知の送信ホストの逆引き。大量送信者：SPF と DKIM、DMARC レコード、逆引き）、既知の送信ホストすべての逆引きが正引きで確認できるドメイン、Gmail が BIMI のロゴと青いチェックマークを表示すると予測されるドメインの割合。各割合の母数は判定できたドメインです（検索に失敗したドメインは除き、不適合とは数えません）。各ドメインの対策は domains.csv に、配信を妨げるものから順に載っています。",
    gmail_columns: [
        "グループ",
        "ドメイン数",
        "全送信者の要件",
        "大量送信者の要件",
        "逆引きの確認",
        "BIMI チェックマーク",
    ],
    gmail_providers_note: "同じ指標をメール事業者別に、ドメイン数の多い順に示します（全事業者は providers.csv）。",
    scanned: "調査日",
    scan_id: "スキャン",
    resolver: "リゾルバ",
    command: "コマンド:",
    warnings_title: "この結果は正しくありえません:",
    grades_note: "README の規則による A〜F の評価です。暗号化で出発点が決まり（全 MX で有効な証明書の STARTTLS なら A）、送信ドメイン認証の問題ごとに 1 段階下がります。- は評価なし（MX なし、検索失敗）です。",
    definitions: "各指標の意味",
    downloads: "ダウンロード",
    other_groups: "その他のグループ",
    chart_note: "ドメイン数の多い {shown} グループを表示し、残り {rest} グループ（全 {total}）は 1 行にまとめています（全グループは groups.csv と上の表にあります）。",
    trend_title: "スキャンごとの推移",
    trend_note: "調査日ごとの割合（古い順）。全ドメインと最新スキャンで大きいグループを示します。全グループと信頼区間は trend.csv にあります。",
    trend_columns: ["グループ", "指標"],
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

/// Estimated width in pixels of `text` at the chart's 11 px font (bold): East Asian wide characters
/// count double. Generous on purpose: a label column too wide costs space, one too narrow cuts names.
pub fn text_width(text: &str) -> f64 {
    text.width() as f64 * 7.0 + 4.0
}

/// The rows of the group chart: "all domains" first, then the groups by size (largest first, then
/// by name), at most [`MAX_CHART_GROUPS`]; the rest merged into one row. Returns the rows and how
/// many groups were merged.
pub fn chart_rows(report: &Report, other_label: &str) -> (Vec<(String, GroupStats)>, usize) {
    let mut groups: Vec<(&String, &GroupStats)> = report.groups.iter().filter(|(n, _)| n.as_str() != ALL).collect();
    groups.sort_by(|a, b| b.1.domains.cmp(&a.1.domains).then_with(|| a.0.cmp(b.0)));
    let mut rows: Vec<(String, GroupStats)> =
        report.groups.get_key_value(ALL).map(|(n, g)| (n.clone(), g.clone())).into_iter().collect();
    let keep = if groups.len() > MAX_CHART_GROUPS { MAX_CHART_GROUPS - 1 } else { groups.len() };
    rows.extend(groups[..keep].iter().map(|(n, g)| ((*n).clone(), (*g).clone())));
    let rest = &groups[keep..];
    if !rest.is_empty() {
        let mut merged = GroupStats::default();
        for (_, g) in rest {
            merged.merge(g);
        }
        rows.push((format!("{other_label} ({})", rest.len()), merged));
    }
    (rows, rest.len())
}

/// The group chart: a dot plot, one row per group, the four shares as dots with their intervals.
fn group_chart(rows: &[(String, GroupStats)]) -> String {
    let (bar_w, row_h, top) = (560.0, 22.0, 22.0);
    let label_w = rows.iter().map(|(n, g)| text_width(&format!("{n} ({})", g.domains))).fold(120.0, f64::max) + 10.0;
    let width = label_w + bar_w + 20.0;
    let height = top + row_h * rows.len() as f64 + 6.0;
    let mut svg = format!(
        r#"<svg id="group-chart" role="img" aria-label="shares per group" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}">"#
    );
    for tick in [0, 25, 50, 75, 100] {
        let x = label_w + bar_w * tick as f64 / 100.0;
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{}" y2="{:.0}" stroke="#e2e8f0"/><text class="axis" x="{x:.1}" y="12" text-anchor="middle">{tick}%</text>"##,
            top - 4.0,
            height - 4.0
        );
    }
    for (r, (group, stats)) in rows.iter().enumerate() {
        let y0 = top + r as f64 * row_h;
        if r % 2 == 1 {
            let _ = write!(svg, r##"<rect x="0" y="{y0}" width="{width:.0}" height="{row_h}" fill="#f7fafc"/>"##);
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="group" text-anchor="end">{} ({})</text>"#,
            label_w - 8.0,
            y0 + 15.0,
            escape(group),
            stats.domains
        );
        for (k, (metric, _, color)) in CHART_METRICS.iter().enumerate() {
            let t = &stats.tallies[metric_index(metric)];
            let Some(p) = t.share() else { continue };
            let (lo, hi) = t.interval().unwrap_or((p, p));
            let y = y0 + 5.0 + k as f64 * 4.0;
            let _ = write!(
                svg,
                r#"<line x1="{:.1}" x2="{:.1}" y1="{y}" y2="{y}" stroke="{color}" stroke-width="1.5"/><circle class="dot" data-metric="{metric}" data-group="{}" data-share="{p:.6}" cx="{:.1}" cy="{y}" r="3.2" fill="{color}"><title>{}: {metric} {:.1}% (95% interval {:.1}-{:.1}%, n={})</title></circle>"#,
                label_w + lo * bar_w,
                label_w + hi * bar_w,
                escape(group),
                label_w + p * bar_w,
                escape(group),
                p * 100.0,
                lo * 100.0,
                hi * 100.0,
                t.n
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

/// A table row of shares: a name, its domains, and each share as `62.5% (n=40)` or `-`.
#[derive(Serialize)]
struct ShareRow {
    name: String,
    domains: u64,
    cells: Vec<String>,
}

fn share_cell(t: &super::stats::Tally) -> String {
    t.share().map_or_else(|| "-".to_string(), |p| format!("{:.1}% (n={})", p * 100.0, t.n))
}

/// One graded domain in the table.
#[derive(Serialize)]
struct DomainRow<'a> {
    domain: &'a str,
    group: &'a str,
    grade: String,
    findings: &'a str,
    remedies: &'a str,
}

/// A metric defined on the page.
#[derive(Serialize)]
struct Definition {
    id: &'static str,
    name: String,
    text: String,
}

/// A file of the report, for download.
#[derive(Serialize)]
struct Download {
    file: &'static str,
    text: &'static str,
}

#[derive(Serialize)]
struct LegendItem {
    id: &'static str,
    name: &'static str,
    color: &'static str,
}

/// The definitions of the metrics the page shows, in the page's language.
fn definitions(lang: Lang, t: &Text) -> Vec<Definition> {
    let ja = lang == Lang::Ja;
    let def = |id: &'static str, en_name: &str, ja_name: &str, ja_text: &str| {
        let en_text = METRICS.iter().find(|(m, _)| *m == id).map(|(_, d)| *d).unwrap_or("");
        let (name, text) = if ja { (ja_name, ja_text) } else { (en_name, en_text) };
        Definition { id, name: name.to_string(), text: format!("{text} [{id}]") }
    };
    let mut out = vec![
        def(
            "red_lock",
            "Gmail red padlock (headline)",
            "Gmail の赤い錠前（見出し）",
            "Gmail が表示する赤い錠前の予測：優先 MX（最小の preference で応答したもの）が STARTTLS を完了しない。予測できるドメインに対する割合。見出しの「暗号化して受け取る」はこの逆で、優先 MX だけを見るため、全 MX を見る下のグラフ（全 MX で STARTTLS）より高くなりえます。",
        ),
        def(
            "starttls_all",
            t.legend[0],
            t.legend[0],
            "応答したすべての MX で STARTTLS が完了する。STARTTLS の状況が分かったドメインに対する割合（サーバー間の TLS）。",
        ),
        def(
            "cert_valid_all",
            t.legend[1],
            t.legend[1],
            "すべての TLS セッションで証明書が有効（公的 CA、期限内、MX ホスト名に一致）。STARTTLS のあるドメインに対する割合。",
        ),
        def(
            "spf_valid",
            t.legend[2],
            t.legend[2],
            "有効な SPF レコードがちょうど 1 つある。SPF の検索が成功したドメインに対する割合。",
        ),
        def(
            "dmarc_present",
            t.legend[3],
            t.legend[3],
            "有効な DMARC レコードがちょうど 1 つある。DMARC の検索が成功したドメインに対する割合。",
        ),
        def(
            "dkim_found",
            "DKIM",
            "DKIM",
            "調べたセレクタのいずれかに DKIM 鍵がある。DKIM の検索が成功したドメインに対する割合（見つからなくても DKIM がないとは限りません）。",
        ),
        def(
            "client_tls_all",
            t.four_columns[4],
            t.four_columns[4],
            "応答したすべてのクライアント接続先（サブミッション、IMAP、POP3）で TLS があり、利用者に TLS なしの接続を指示する設定もない。該当するドメインに対する割合。",
        ),
    ];
    out.extend([
        def(
            "gmail_all_senders_ready",
            t.gmail_columns[2],
            t.gmail_columns[2],
            "DNS から分かる範囲で Gmail の全送信者向け要件を満たす：有効な SPF または DKIM 鍵があり、既知の送信ホスト（MX のアドレス、SPF の単一ホスト）の逆引きが正引きで確認できる。判定できたドメインに対する割合。送信側の TLS、実際の送信ホスト、迷惑メール率は DNS からは分かりません。",
        ),
        def(
            "gmail_bulk_senders_ready",
            t.gmail_columns[3],
            t.gmail_columns[3],
            "DNS から分かる範囲で Gmail の大量送信者向け要件を満たす：SPF と DKIM の両方、DMARC レコード（p=none で可）、逆引きの確認。判定できたドメインに対する割合。ワンクリック登録解除と迷惑メール率は DNS からは分かりません。",
        ),
        def(
            "ptr_all_match",
            t.gmail_columns[4],
            t.gmail_columns[4],
            "既知の送信ホストすべてのアドレスに PTR があり、その名前がアドレスに正引きで戻る（FCrDNS）。逆引きが判定できたドメインに対する割合。",
        ),
        def(
            "gmail_checkmark_predicted",
            t.gmail_columns[5],
            t.gmail_columns[5],
            "Gmail が BIMI のロゴと青いチェックマークを表示すると予測される：有効な BIMI レコード、強制ポリシーの DMARC、SVG Tiny PS のロゴ、ドメインとロゴに一致し --bimi-ca-file の認証局につながる VMC。判定できたドメインに対する割合。",
        ),
    ]);
    out.push(Definition {
        id: "interval",
        name: if ja { "95% 信頼区間".into() } else { "95% interval".into() },
        text: if ja {
            "Wilson の信頼区間。重み付きの場合は有効標本数で計算します。グラフの線、表の n は母数です。".into()
        } else {
            "Wilson score interval (with weights, over the effective sample size): the line around each dot; n in the tables is the number of domains a share is over.".into()
        },
    });
    out
}

fn downloads(lang: Lang, comparison: bool, trend: bool) -> Vec<Download> {
    let ja = lang == Lang::Ja;
    let mut out = vec![
        Download {
            file: "domains.csv",
            text: if ja {
                "ドメインごとの評価、指摘、対策"
            } else {
                "every domain: grade, findings, remedies"
            },
        },
        Download {
            file: "groups.csv",
            text: if ja {
                "グループごとの全指標と信頼区間"
            } else {
                "every group: each share with its interval and n"
            },
        },
        Download {
            file: "four_columns.csv",
            text: if ja { "グループごとの 4 つの観点" } else { "the four columns per group" },
        },
        Download {
            file: "gmail.csv",
            text: if ja {
                "グループごとの Gmail 要件・逆引き・チェックマーク"
            } else {
                "Gmail readiness, reverse DNS and the checkmark per group"
            },
        },
        Download {
            file: "providers.csv",
            text: if ja { "メール事業者ごとの 4 つの観点" } else { "the four columns per mail provider" },
        },
        Download {
            file: "transparency.csv",
            text: if ja { "Transparency Report 形式" } else { "Google Transparency Report format" },
        },
        Download {
            file: "groups.parquet",
            text: if ja { "groups.csv と同じ内容（Parquet）" } else { "groups.csv as Parquet" },
        },
    ];
    if comparison {
        out.push(Download {
            file: "compare.csv",
            text: if ja { "前回との変化" } else { "every change since the earlier scan" },
        });
    }
    if trend {
        out.push(Download {
            file: "trend.csv",
            text: if ja { "スキャンごとの推移" } else { "each share per scan date" },
        });
    }
    out
}

fn headline(report: &Report, lang: Lang) -> String {
    let red = report.groups.get(ALL).map(|g| g.tallies[metric_index("red_lock")]).unwrap_or_default();
    match (red.share(), red.interval()) {
        (Some(p), Some((lo, hi))) if lang == Lang::Ja => format!(
            r##"<p class="headline" data-metric="red_lock">予測できる {} ドメインのうち <b id="headline-share">{:.1}%</b> は、Gmail からのメールを暗号化して受け取ります（95% 信頼区間 {:.1}-{:.1}%）。優先 MX が STARTTLS に対応しているためです。残りは Gmail で赤い鍵マークが表示されます（<a href="#def-red_lock">定義</a>）。</p>"##,
            red.n,
            (1.0 - p) * 100.0,
            (1.0 - hi) * 100.0,
            (1.0 - lo) * 100.0
        ),
        (Some(p), Some((lo, hi))) => format!(
            r##"<p class="headline" data-metric="red_lock"><b id="headline-share">{:.1}%</b> of the {} domains where it can be predicted would receive mail from Gmail encrypted (95% interval {:.1}-{:.1}%): their preferred MX completes STARTTLS. The rest would show Gmail's red padlock (<a href="#def-red_lock">definition</a>: only the preferred MX counts here, every MX in the chart below).</p>"##,
            (1.0 - p) * 100.0,
            red.n,
            (1.0 - hi) * 100.0,
            (1.0 - lo) * 100.0
        ),
        _ => r#"<p class="headline">No domain whose encryption can be predicted.</p>"#.to_string(),
    }
}

/// The trend table: one row per shown group and share, one column per scan date.
#[derive(Serialize)]
struct TrendTable {
    dates: Vec<String>,
    rows: Vec<TrendRow>,
}

#[derive(Serialize)]
struct TrendRow {
    group: String,
    metric: &'static str,
    cells: Vec<String>,
}

fn trend_table(trend: &super::trend::Trend) -> TrendTable {
    let dates = trend.points.iter().map(|p| if p.date.is_empty() { p.id.clone() } else { p.date.clone() }).collect();
    let mut rows = Vec::new();
    for group in trend.shown_groups() {
        for (k, metric) in super::compare::COMPARED.iter().enumerate() {
            let cells = trend
                .points
                .iter()
                .map(|p| match p.groups.get(&group).and_then(|s| s.get(k).copied().flatten()) {
                    Some((share, _, _, n)) => format!("{:.1}% (n={n})", share * 100.0),
                    None => "-".into(),
                })
                .collect();
            rows.push(TrendRow { group: group.clone(), metric, cells });
        }
    }
    TrendTable { dates, rows }
}

const TEMPLATE: &str = include_str!("page.html");

/// The whole page, with the comparison section when there is one.
pub fn render(report: &Report, comparison: Option<&super::compare::Comparison>, lang: Lang) -> String {
    let t = text(lang);
    let (rows, merged) = chart_rows(report, t.other_groups);
    let chart_note = (merged > 0).then(|| {
        let total = report.groups.len().saturating_sub(1);
        t.chart_note
            .replace("{shown}", &(rows.len() - 2).to_string())
            .replace("{total}", &total.to_string())
            .replace("{rest}", &merged.to_string())
    });
    let group_rows = |columns: &[(&str, &str)]| -> Vec<ShareRow> {
        ordered_groups(report)
            .map(|(name, g)| ShareRow {
                name: name.clone(),
                domains: g.domains,
                cells: columns.iter().map(|(_, m)| share_cell(&g.tallies[metric_index(m)])).collect(),
            })
            .collect()
    };
    let four_rows = group_rows(&super::FOUR_COLUMNS);
    let gmail_rows = group_rows(&super::GMAIL_COLUMNS);
    let gmail_provider_rows: Vec<ShareRow> = report
        .providers_by_size()
        .into_iter()
        .take(super::HTML_PROVIDER_ROWS)
        .map(|(name, p)| ShareRow {
            name: name.clone(),
            domains: p.domains,
            cells: p.gmail.iter().map(share_cell).collect(),
        })
        .collect();
    let provider_rows: Vec<ShareRow> = report
        .providers_by_size()
        .into_iter()
        .take(super::HTML_PROVIDER_ROWS)
        .map(|(name, p)| ShareRow {
            name: name.clone(),
            domains: p.domains,
            cells: p.four.iter().map(share_cell).collect(),
        })
        .collect();
    let domain_rows: Vec<DomainRow> = report
        .graded
        .iter()
        .map(|(domain, group, grade, findings, remedies)| DomainRow {
            domain,
            group,
            grade: grade.to_string(),
            findings,
            remedies,
        })
        .collect();
    let graded_total: u64 = report.grades.iter().filter(|(g, _)| **g != '-').map(|(_, n)| n).sum();
    let truncated = ((report.graded.len() as u64) < graded_total).then(|| match lang {
        Lang::Ja => format!(
            "評価の低い {} ドメインを表示しています（全 {graded_total} 件は domains.csv）。",
            report.graded.len()
        ),
        Lang::En => format!(
            "The {} worst-graded of {graded_total} graded domains are shown; domains.csv has them all.",
            report.graded.len()
        ),
    });
    let legend: Vec<LegendItem> =
        CHART_METRICS.iter().zip(t.legend).map(|((id, _, color), name)| LegendItem { id, name, color }).collect();
    let grades: Vec<(String, u64)> = report.grades.iter().map(|(g, n)| (g.to_string(), *n)).collect();
    let mut env = Environment::new();
    env.add_template("page.html", TEMPLATE).expect("the page template parses");
    let context = minijinja::context! {
        t => Value::from_serialize(t),
        scan => Value::from_serialize(&report.scan),
        headline => Value::from_safe_string(headline(report, lang)),
        warnings => &report.warnings,
        legend => Value::from_serialize(&legend),
        chart_note => chart_note,
        group_chart => Value::from_safe_string(group_chart(&rows)),
        four_rows => Value::from_serialize(&four_rows),
        provider_rows => Value::from_serialize(&provider_rows),
        gmail_rows => Value::from_serialize(&gmail_rows),
        gmail_provider_rows => Value::from_serialize(&gmail_provider_rows),
        tls_chart => Value::from_safe_string(distribution_chart("tls-chart", &report.tls_versions)),
        cert_chart => Value::from_safe_string(distribution_chart("cert-chart", &report.cert_verdicts)),
        grades => grades,
        compare => Value::from_safe_string(comparison.map(|c| compare_section(c, t)).unwrap_or_default()),
        truncated => truncated,
        domain_rows => Value::from_serialize(&domain_rows),
        definitions => Value::from_serialize(definitions(lang, t)),
        downloads => Value::from_serialize(downloads(lang, comparison.is_some(), report.trend.is_some())),
        data => Value::from_safe_string(data_json(report)),
        trend => report.trend.as_ref().map(|tr| Value::from_serialize(trend_table(tr))),
    };
    match env.get_template("page.html").and_then(|tpl| tpl.render(context)) {
        Ok(page) => page,
        Err(e) => format!(
            "<!doctype html><body data-ready=\"1\" data-error=\"template\">report page error: {}</body>",
            escape(&e.to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_table() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    fn report_with_groups(names: &[String]) -> Report {
        let mut report = Report::default();
        let mut all = GroupStats::default();
        for (i, name) in names.iter().enumerate() {
            let mut g = GroupStats::default();
            // Group i has i + 1 domains, so the order by size is known.
            for _ in 0..=i {
                let facts = super::super::DomainFacts { group: name.clone(), weight: 1.0, ..Default::default() };
                g.add(&facts);
                all.add(&facts);
            }
            report.groups.insert(name.clone(), g);
        }
        report.groups.insert(ALL.into(), all);
        report
    }

    #[test]
    fn the_chart_keeps_the_largest_groups_and_merges_the_rest() {
        let names: Vec<String> = (0..200).map(|i| format!("Group {i}")).collect();
        let report = report_with_groups(&names);
        let (rows, merged) = chart_rows(&report, "other groups");
        assert_eq!((rows.len(), merged), (1 + MAX_CHART_GROUPS, 200 - (MAX_CHART_GROUPS - 1)));
        assert_eq!(rows[0].0, ALL);
        // Largest first: group 199 has 200 domains.
        assert_eq!((rows[1].0.as_str(), rows[1].1.domains), ("Group 199", 200));
        let shown: u64 = rows[1..rows.len() - 1].iter().map(|(_, g)| g.domains).sum();
        let (last, rest) = rows.last().unwrap();
        assert_eq!(last, &format!("other groups ({merged})"));
        assert_eq!(shown + rest.domains, rows[0].1.domains, "no domain lost in the merge");
        let starttls = metric_index("starttls_all");
        let merged_n: u64 = rows[1..].iter().map(|(_, g)| g.tallies[starttls].n).sum();
        assert_eq!(merged_n, rows[0].1.tallies[starttls].n);
        // Five groups: all drawn, nothing merged.
        let (rows, merged) = chart_rows(&report_with_groups(&names[..5]), "x");
        assert_eq!((rows.len(), merged), (6, 0));
    }

    #[test]
    fn long_and_japanese_group_names_are_never_cut() {
        let names = vec![
            "Sony Network Communications".to_string(),
            "ソニーネットワークコミュニケーションズ株式会社".to_string(),
            "X".to_string(),
        ];
        let report = report_with_groups(&names);
        let (rows, _) = chart_rows(&report, "other");
        let svg = group_chart(&rows);
        for name in &names {
            assert!(svg.contains(&format!(">{name} (")), "{name} is drawn whole");
        }
        // The label column (where labels end, right-aligned) is wider than the widest label.
        let label_end: f64 = svg
            .split("class=\"group\"")
            .next()
            .unwrap()
            .rsplit("x=\"")
            .next()
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let widest = names.iter().map(|n| text_width(&format!("{n} (3)"))).fold(0.0, f64::max);
        assert!(label_end >= widest, "{label_end} < {widest}");
        assert!(text_width("ソニー") > text_width("Sony"), "wide characters count double");
    }

    #[test]
    fn the_page_defines_what_it_shows_and_links_its_files() {
        let report = report_with_groups(&["ISP 1".to_string()]);
        for lang in [Lang::En, Lang::Ja] {
            let page = render(&report, None, lang);
            for m in ["starttls_all", "cert_valid_all", "spf_valid", "dmarc_present", "red_lock", "dkim_found"] {
                assert!(page.contains(&format!("id=\"def-{m}\"")), "{lang:?}: no definition of {m}");
            }
            for f in ["domains.csv", "groups.csv", "four_columns.csv", "gmail.csv", "providers.csv", "transparency.csv"]
            {
                assert!(page.contains(&format!("<a href=\"{f}\" download>")), "{lang:?}: no link to {f}");
            }
            assert!(page.contains("id=\"scan-date\""));
            assert!(!page.contains("report page error"), "{page}");
        }
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
