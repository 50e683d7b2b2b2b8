//! `mailcensus check DOMAIN...`: the whole analysis of a few domains, printed for a person
//! (verdicts, findings and remedies, in English or Japanese) or as JSON, as checkdmarc users expect.
//!
//! It is not a second implementation: the domains go through the scan engine with the same flags
//! and limits as `scan` (into a temporary folder, removed afterwards), the report grades them, and
//! the result is the exported JSON of each domain ([`crate::output::json`]) with its grade,
//! findings and remedies added. A name that is not a domain is said, with the reason `scan` would
//! write to its rejects file.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::config::ScanConfig;
use crate::input::InputSource;
use crate::output::json::{CLIENT_ENDPOINTS_KEY, MX_HOSTS_KEY, for_each_domain};
use crate::report::grade::Lang;

/// Key of the grade (`A`-`F`, or `-` when not graded) added to each domain's object.
pub const GRADE_KEY: &str = "grade";
/// Key of why the domain was not graded (its `starttls` label), or null.
pub const NOT_GRADED_KEY: &str = "grade_not_graded";
/// Key of the findings: a list of `{id, title, remedy}`.
pub const FINDINGS_KEY: &str = "findings";
/// Key of the reason a name was not checked (an input reject): `{reason, detail}`.
pub const REJECTED_KEY: &str = "rejected";
/// The key of a checked name's Gmail fixes (what unblocks delivery first): `{id, title, remedy}`.
pub const GMAIL_FIXES_KEY: &str = "gmail_fixes";

/// What `check` found: one object per name given, in the order given, and the scan's warnings.
#[derive(Debug)]
pub struct Checked {
    /// Each name's object: a domain with its grade, or `{domain, input_line, rejected}`.
    pub domains: Vec<Map<String, Value>>,
    /// What cannot be right about the run (the scan's plausibility warnings), as `code: message`.
    pub warnings: Vec<String>,
}

/// A temporary folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("mailcensus-check-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Why `check` could not run, with the exit code it means (as for `scan`: 5 when the preflight
/// finds the resolver cannot be right, 1 otherwise).
#[derive(Debug)]
pub struct CheckError {
    /// The process exit code.
    pub exit_code: u8,
    /// What happened.
    pub message: String,
}

impl From<String> for CheckError {
    fn from(message: String) -> Self {
        Self { exit_code: 1, message }
    }
}

/// Checks `names` with `config` (its input and output are replaced by a temporary folder).
pub async fn check(names: &[String], mut config: ScanConfig, lang: Lang) -> Result<Checked, CheckError> {
    let tmp = TempDir::new().map_err(|e| format!("cannot create a temporary folder: {e}"))?;
    let input = tmp.0.join("input.csv");
    let mut w = csv::Writer::from_path(&input).map_err(|e| e.to_string())?;
    w.write_record(["domain"]).map_err(|e| e.to_string())?;
    for n in names {
        w.write_record([n]).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;
    drop(w);
    let out = tmp.0.join("scan");
    config.input = InputSource::File(input);
    config.out = out.clone();
    config.progress = false;
    let summary =
        crate::scan::run(config).await.map_err(|e| CheckError { exit_code: e.exit_code(), message: e.to_string() })?;
    if !summary.complete {
        return Err(String::from("interrupted").into());
    }
    let mut grades: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
    crate::report::run_observed(&out, &out.join("report"), lang, |domain, g, hosts| {
        let findings: Vec<Value> = g
            .findings
            .iter()
            .map(|f| json!({"id": f.as_label(), "title": f.title(lang), "remedy": f.remedy(lang, hosts)}))
            .collect();
        grades.insert(domain.to_string(), json!([g.grade.to_string(), g.not_graded, findings]));
    })
    .map_err(|e| e.to_string())?;
    // Each given name by its input line (line 1 is the header).
    let mut by_line: Vec<Option<Map<String, Value>>> = vec![None; names.len()];
    for_each_domain(&out, |mut row| {
        let domain = row.get("domain").and_then(Value::as_str).unwrap_or_default().to_string();
        if let Some(Value::Array(g)) = grades.remove(&domain) {
            let mut g = g.into_iter();
            row.insert(GRADE_KEY.into(), g.next().unwrap_or(Value::Null));
            row.insert(NOT_GRADED_KEY.into(), g.next().unwrap_or(Value::Null));
            row.insert(FINDINGS_KEY.into(), g.next().unwrap_or(Value::Array(Vec::new())));
        }
        let fixes: Vec<Value> = gmail_fixes(&row)
            .into_iter()
            .map(|f| json!({"id": f.as_label(), "title": f.title(lang), "remedy": f.remedy(lang)}))
            .collect();
        row.insert(GMAIL_FIXES_KEY.into(), Value::Array(fixes));
        let line = row.get("input_line").and_then(Value::as_u64).unwrap_or(0) as usize;
        if let Some(slot) = line.checked_sub(2).and_then(|i| by_line.get_mut(i)) {
            *slot = Some(row);
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    for r in read_rejects(&out.join(crate::output::REJECTS_FILE))? {
        if let Some(slot) = r.0.checked_sub(2).and_then(|i| by_line.get_mut(i)) {
            let mut m = Map::new();
            m.insert("domain".into(), Value::String(r.1));
            m.insert("input_line".into(), json!(r.0));
            m.insert(REJECTED_KEY.into(), json!({"reason": r.2, "detail": r.3}));
            *slot = Some(m);
        }
    }
    let domains = by_line
        .into_iter()
        .zip(names)
        .map(|(row, name)| {
            // Every name is a row or a reject (the scan's own guarantee); say so if not.
            row.unwrap_or_else(|| {
                let mut m = Map::new();
                m.insert("domain".into(), Value::String(name.clone()));
                m.insert(REJECTED_KEY.into(), json!({"reason": "not_scanned", "detail": "no result was written"}));
                m
            })
        })
        .collect();
    let warnings = summary.warnings.iter().map(|w| format!("{}: {}", w.code.as_label(), w.message)).collect();
    Ok(Checked { domains, warnings })
}

/// `(line, input, reason, detail)` of each reject.
fn read_rejects(path: &Path) -> Result<Vec<(usize, String, String, String)>, String> {
    let mut out = Vec::new();
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    for rec in r.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        let field = |i: usize| rec.get(i).unwrap_or_default().to_string();
        out.push((field(0).parse().unwrap_or(0), field(1), field(2), field(3)));
    }
    Ok(out)
}

/// The words of the human-readable form.
struct Words {
    grade: &'static str,
    not_graded: &'static str,
    mail_servers: &'static str,
    none: &'static str,
    encryption: &'static str,
    certificates: &'static str,
    red_lock: &'static str,
    authentication: &'static str,
    policies: &'static str,
    mail_apps: &'static str,
    provider: &'static str,
    gmail: &'static str,
    reverse_dns: &'static str,
    gmail_fixes: &'static str,
    findings: &'static str,
    no_findings: &'static str,
    rejected: &'static str,
}

const EN: Words = Words {
    grade: "grade",
    not_graded: "not graded",
    mail_servers: "mail servers",
    none: "none",
    encryption: "encryption",
    certificates: "valid certificates",
    red_lock: "Gmail red padlock",
    authentication: "authentication",
    policies: "policies",
    mail_apps: "mail apps",
    provider: "provider",
    gmail: "Gmail",
    reverse_dns: "reverse DNS",
    gmail_fixes: "for Gmail",
    findings: "findings",
    no_findings: "no findings",
    rejected: "not checked",
};

const JA: Words = Words {
    grade: "評価",
    not_graded: "評価なし",
    mail_servers: "メールサーバー",
    none: "なし",
    encryption: "暗号化",
    certificates: "有効な証明書",
    red_lock: "Gmail の赤い錠前",
    authentication: "送信ドメイン認証",
    policies: "ポリシー",
    mail_apps: "メールアプリ",
    provider: "事業者",
    gmail: "Gmail",
    reverse_dns: "逆引き",
    gmail_fixes: "Gmail への対策",
    findings: "指摘",
    no_findings: "指摘なし",
    rejected: "確認できません",
};

fn text<'a>(row: &'a Map<String, Value>, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or("-")
}

fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        Some(Value::Array(a)) => {
            let items: Vec<String> = a.iter().map(|x| shown(Some(x))).collect();
            if items.is_empty() { "-".into() } else { items.join(", ") }
        }
        Some(other) => other.to_string(),
    }
}

/// The selectors of the DKIM keys found, with their type and size: `google (rsa 2048)`.
fn selectors(row: &Map<String, Value>) -> String {
    let keys: Vec<String> = row
        .get("dkim_keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|k| {
            let state = if k.get("revoked").and_then(Value::as_bool) == Some(true) {
                "revoked".to_string()
            } else {
                format!("{} {}", text(k, "key_type"), shown(k.get("key_bits")))
            };
            format!("{} ({state})", text(k, "selector"))
        })
        .collect();
    if keys.is_empty() { "-".into() } else { keys.join(", ") }
}

/// One MX or client row's outcome in a few words: `tls1_3, certificate valid`, or the failure.
fn probe_words(r: &Map<String, Value>) -> String {
    match text(r, "probe_status") {
        "done" => {
            let version = r.get("tls_version").and_then(Value::as_str);
            match version {
                Some(v) => format!("TLS {v}, certificate {}", text(r, "tls_cert_verdict")),
                None => "answered without TLS".into(),
            }
        }
        "failed" => format!("failed at {}: {}", text(r, "probe_phase"), text(r, "probe_reason")),
        "skipped" => format!("skipped: {}", text(r, "probe_reason")),
        other => other.to_string(),
    }
}

/// The Gmail fixes of a domain row (from its reason lists).
fn gmail_fixes(row: &Map<String, Value>) -> Vec<crate::report::gmail::GmailFix> {
    use crate::label::Label;
    use crate::scan::readiness::{CheckmarkReason, ReadinessReason};
    fn labels<L: Label>(row: &Map<String, Value>, key: &str) -> Vec<L> {
        row.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(L::from_label)
            .collect()
    }
    crate::report::gmail::fixes(
        &labels::<ReadinessReason>(row, "gmail_all_senders_reasons"),
        &labels::<ReadinessReason>(row, "gmail_bulk_senders_reasons"),
        &labels::<CheckmarkReason>(row, "gmail_checkmark_missing"),
    )
}

/// A verdict with its reasons: `not_ready (no_dkim, no_dmarc)`.
fn verdict(row: &Map<String, Value>, key: &str, reasons: &str) -> String {
    let why: Vec<&str> =
        row.get(reasons).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    if why.is_empty() { text(row, key).to_string() } else { format!("{} ({})", text(row, key), why.join(", ")) }
}

/// The human-readable form of one checked name.
pub fn render(row: &Map<String, Value>, lang: Lang) -> String {
    let w = if lang == Lang::Ja { &JA } else { &EN };
    let domain = text(row, "domain");
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        out.push_str(&format!("  {}  {value}\n", crate::report::pad_to_width(label, 16)));
    };
    if let Some(rej) = row.get(REJECTED_KEY) {
        return format!("{domain}: {} ({}: {})\n", w.rejected, shown(rej.get("reason")), shown(rej.get("detail")));
    }
    let grade = text(row, GRADE_KEY);
    let head = if grade == "-" {
        format!("{domain}  {}: {} ({})\n", w.grade, w.not_graded, text(row, NOT_GRADED_KEY))
    } else {
        format!("{domain}  {}: {grade}\n", w.grade)
    };
    let mx: Vec<&Map<String, Value>> =
        row.get(MX_HOSTS_KEY).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object).collect();
    if mx.is_empty() {
        line(w.mail_servers, format!("{} ({})", w.none, text(row, "mx_source")));
    }
    for (i, r) in mx.iter().enumerate() {
        let label = if i == 0 { w.mail_servers } else { "" };
        line(
            label,
            format!("{} ({}) {}: {}", text(r, "mx_host"), shown(r.get("mx_preference")), text(r, "ip"), probe_words(r)),
        );
    }
    line(
        w.encryption,
        format!(
            "STARTTLS: {} · {}: {} · {}: {}",
            text(row, "starttls"),
            w.certificates,
            text(row, "tls_cert_valid"),
            w.red_lock,
            shown(row.get("gmail_red_lock"))
        ),
    );
    line(
        w.authentication,
        format!(
            "SPF: {} ({}) · DMARC: {} (p={}) · DKIM: {} [{}]",
            text(row, "spf_outcome"),
            shown(row.get("spf_records")),
            text(row, "dmarc_status"),
            shown(row.get("dmarc_policy")),
            text(row, "dkim_status"),
            selectors(row),
        ),
    );
    line(
        w.policies,
        format!(
            "MTA-STS: {} (mode {}) · TLS-RPT: {} · DNSSEC: {} · DANE: {}",
            text(row, "mta_sts_status"),
            shown(row.get("mta_sts_mode")),
            text(row, "tls_rpt_status"),
            text(row, "dnssec_status"),
            text(row, "dane")
        ),
    );
    let clients: Vec<&Map<String, Value>> = row
        .get(CLIENT_ENDPOINTS_KEY)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .collect();
    line(
        w.mail_apps,
        format!("TLS: {} (settings from: {})", text(row, "client_tls"), shown(row.get("client_config_source"))),
    );
    for r in clients {
        line(
            "",
            format!(
                "{} {}:{}: {}",
                text(r, "client_protocol"),
                text(r, "client_host"),
                shown(r.get("client_port")),
                probe_words(r)
            ),
        );
    }
    line(w.provider, shown(row.get("mx_provider")));
    line(
        w.gmail,
        format!(
            "all senders: {} · bulk senders: {} · BIMI checkmark: {}",
            verdict(row, "gmail_all_senders", "gmail_all_senders_reasons"),
            verdict(row, "gmail_bulk_senders", "gmail_bulk_senders_reasons"),
            verdict(row, "gmail_checkmark_predicted", "gmail_checkmark_missing"),
        ),
    );
    line(
        w.reverse_dns,
        format!("{} ({})", text(row, "ptr_status"), row.get("ptr_detail").and_then(Value::as_str).unwrap_or("-")),
    );
    let findings: Vec<&Map<String, Value>> =
        row.get(FINDINGS_KEY).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object).collect();
    let mut s = head + &out;
    if findings.is_empty() {
        s.push_str(&format!("  {}\n", w.no_findings));
    } else {
        s.push_str(&format!("  {}:\n", w.findings));
        for f in findings {
            s.push_str(&format!("   - {}: {}\n", text(f, "title"), text(f, "remedy")));
        }
    }
    let fixes: Vec<&Map<String, Value>> =
        row.get(GMAIL_FIXES_KEY).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object).collect();
    if !fixes.is_empty() {
        s.push_str(&format!("  {}:\n", w.gmail_fixes));
        for f in fixes {
            s.push_str(&format!("   - {}: {}\n", text(f, "title"), text(f, "remedy")));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn a_rejected_name_says_why() {
        let row = obj(json!({"domain": "not a domain", "rejected": {"reason": "invalid_domain", "detail": "space"}}));
        assert_eq!(render(&row, Lang::En), "not a domain: not checked (invalid_domain: space)\n");
        assert!(render(&row, Lang::Ja).contains("確認できません"));
    }

    #[test]
    fn a_domain_shows_its_servers_verdicts_and_remedies() {
        let row = obj(json!({
            "domain": "example.test", "grade": "D", "grade_not_graded": null, "starttls": "some",
            "tls_cert_valid": "all", "gmail_red_lock": false, "spf_outcome": "valid",
            "spf_records": ["v=spf1 -all"], "dmarc_status": "none", "dmarc_policy": null,
            "dkim_status": "not_found", "dkim_keys": [], "mx_provider": "example.test",
            "mx_hosts": [
                {"mx_host": "mx1.example.test", "mx_preference": 10, "ip": "192.0.2.1", "probe_status": "done",
                 "tls_version": "tls1_3", "tls_cert_verdict": "valid"},
                {"mx_host": "mx2.example.test", "mx_preference": 20, "ip": "192.0.2.2", "probe_status": "failed",
                 "probe_phase": "starttls", "probe_reason": "rejected"}
            ],
            "client_endpoints": [],
            "findings": [{"id": "no_dmarc", "title": "No DMARC", "remedy": "Publish a DMARC record."}]
        }));
        let text = render(&row, Lang::En);
        assert!(text.starts_with("example.test  grade: D\n"), "{text}");
        assert!(text.contains("mx1.example.test (10) 192.0.2.1: TLS tls1_3, certificate valid"), "{text}");
        assert!(text.contains("mx2.example.test (20) 192.0.2.2: failed at starttls: rejected"), "{text}");
        assert!(text.contains("SPF: valid (v=spf1 -all) · DMARC: none (p=-)"), "{text}");
        assert!(text.contains("   - No DMARC: Publish a DMARC record.\n"), "{text}");
        let ja = render(&row, Lang::Ja);
        assert!(ja.contains("評価: D") && ja.contains("指摘:"), "{ja}");
    }

    #[test]
    fn an_ungraded_domain_says_why() {
        let row = obj(json!({"domain": "gone.test", "grade": "-", "grade_not_graded": "no_mx", "mx_source": "none",
            "mx_hosts": [], "findings": []}));
        let text = render(&row, Lang::En);
        assert!(text.starts_with("gone.test  grade: not graded (no_mx)\n"), "{text}");
        assert!(text.contains("mail servers      none (none)"), "{text}");
        assert!(text.contains("  no findings\n"), "{text}");
    }
}
