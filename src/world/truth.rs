//! Ground truth: what a correct scanner reports for each domain and MX of a [`World`], derived from the
//! world's own description by simple rules written independently of the scanner's summaries, and the
//! comparison of a scan's datasets with it, column by column.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use super::{BimiKind, Dmarc, DomainSpec, Mail, Posture, PtrKind, Spf, World};
use crate::testkit::dataset::{Row, Value, read_rows};

/// What the scan must report for one (MX host, IP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxTruth {
    /// `done` or `failed`.
    pub probe_status: &'static str,
    /// The failure phase.
    pub probe_phase: Option<&'static str>,
    /// The failure reason.
    pub probe_reason: Option<&'static str>,
    /// STARTTLS offered (null when EHLO is never answered).
    pub starttls_offered: Option<bool>,
    /// The certificate verdict of a TLS session.
    pub cert_verdict: Option<&'static str>,
    /// The TLS version of a TLS session.
    pub tls_version: Option<&'static str>,
}

impl MxTruth {
    fn encrypts(&self) -> bool {
        self.tls_version.is_some()
    }
    fn greets(&self) -> bool {
        self.probe_phase.is_none_or(|p| p != "connect" && p != "banner")
    }
}

/// What a probe of an MX with `posture`, reached under the name `name_is_cert_name` or not, reports.
pub fn mx_truth(posture: Posture, name_is_cert_name: bool) -> MxTruth {
    let done = |verdict: Option<&'static str>, version: Option<&'static str>, offered| MxTruth {
        probe_status: "done",
        probe_phase: None,
        probe_reason: None,
        starttls_offered: Some(offered),
        cert_verdict: verdict,
        tls_version: version,
    };
    let failed = |phase, reason, offered| MxTruth {
        probe_status: "failed",
        probe_phase: Some(phase),
        probe_reason: Some(reason),
        starttls_offered: offered,
        cert_verdict: None,
        tls_version: None,
    };
    let named = if name_is_cert_name { "valid" } else { "name_mismatch" };
    match posture {
        Posture::Valid | Posture::DelayedGreeting => done(Some(named), Some("tls1_3"), true),
        Posture::Tls12Only => done(Some(named), Some("tls1_2"), true),
        Posture::SelfSigned => done(Some("self_signed"), Some("tls1_3"), true),
        Posture::Expired => done(Some("expired"), Some("tls1_3"), true),
        Posture::NameMismatch => done(Some("name_mismatch"), Some("tls1_3"), true),
        Posture::NoStartTls => done(None, None, false),
        Posture::Reject454 => failed("starttls", "rejected", Some(true)),
        Posture::Greeting421 => failed("banner", "rejected", None),
        Posture::ClosedPort => failed("connect", "refused", None),
        Posture::Silent => failed("banner", "timeout", None),
    }
}

/// What the scan must report for one domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainTruth {
    /// The group label.
    pub group: String,
    /// `mx_source`.
    pub mx_source: &'static str,
    /// `starttls`.
    pub starttls: &'static str,
    /// `tls_cert_valid`.
    pub tls_cert_valid: &'static str,
    /// `tls_version_min`.
    pub tls_version_min: Option<&'static str>,
    /// `gmail_red_lock`.
    pub gmail_red_lock: Option<bool>,
    /// `spf_status`.
    pub spf_status: &'static str,
    /// `spf_all`.
    pub spf_all: Option<&'static str>,
    /// `dmarc_status`.
    pub dmarc_status: &'static str,
    /// `dmarc_policy`.
    pub dmarc_policy: Option<&'static str>,
    /// `spf_outcome` (the evaluated policy).
    pub spf_outcome: &'static str,
    /// `dkim_status`.
    pub dkim_status: &'static str,
    /// `mta_sts_fetch`.
    pub mta_sts_fetch: &'static str,
    /// `mta_sts_mode`.
    pub mta_sts_mode: Option<&'static str>,
    /// `mta_sts_effective`.
    pub mta_sts_effective: Option<bool>,
    /// `client_tls`.
    pub client_tls: &'static str,
    /// `client_endpoint_count`.
    pub client_endpoints: u32,
    /// `client_config_source`: which discovery step found the endpoints beyond SRV.
    pub client_config_source: Option<&'static str>,
    /// `client_declared_plain`.
    pub client_declared_plain: Option<bool>,
    /// The MX rows: (host, ip, truth), in preference order.
    pub mx: Vec<(String, String, MxTruth)>,
    /// `ptr_status`.
    pub ptr_status: &'static str,
    /// `gmail_all_senders` and its reasons (joined with `;`).
    pub gmail_all_senders: (&'static str, String),
    /// `gmail_bulk_senders` and its reasons.
    pub gmail_bulk_senders: (&'static str, String),
    /// `bimi_status`.
    pub bimi_status: &'static str,
    /// `gmail_checkmark_predicted` and what is missing.
    pub gmail_checkmark: (&'static str, String),
}

/// `ptr_fcrdns` of a world address.
pub fn ptr_truth(world: &World, ip: std::net::Ipv4Addr) -> &'static str {
    match world.ptr_of(ip).0 {
        PtrKind::Match => "match",
        PtrKind::Mismatch => "mismatch",
        PtrKind::Missing => "no_ptr",
    }
}

/// A verdict from certain reasons and unknown ones, as the scanner's rules say: certain reasons make
/// it `not_ready`, else unknown ones `unknown`, else `ready`; reasons certain first.
fn verdict(
    certain: Vec<&'static str>,
    unknown: Vec<&'static str>,
    ready: &'static str,
    not_ready: &'static str,
) -> (&'static str, String) {
    let v = if !certain.is_empty() {
        not_ready
    } else if !unknown.is_empty() {
        "unknown"
    } else {
        ready
    };
    let mut reasons = certain;
    reasons.extend(unknown);
    (v, reasons.join(";"))
}

/// The ground truth of one domain.
pub fn domain_truth(world: &World, spec: &DomainSpec) -> DomainTruth {
    let provider = &world.providers[spec.provider];
    let mx: Vec<(String, String, MxTruth)> = match spec.mail {
        Mail::Provider => {
            provider.mx.iter().map(|m| (m.name.clone(), m.ip.to_string(), mx_truth(m.posture, true))).collect()
        }
        Mail::Implicit(k) => {
            let m = &provider.mx[k];
            vec![(spec.name.clone(), m.ip.to_string(), mx_truth(m.posture, false))]
        }
        // The cloud pool presents a wildcard certificate valid for every vanity name.
        Mail::Cloud => {
            vec![(World::cloud_host(spec), world.cloud_ip(spec.index).to_string(), mx_truth(Posture::Valid, true))]
        }
        _ => Vec::new(),
    };
    let truths: Vec<&MxTruth> = mx.iter().map(|(_, _, t)| t).collect();
    let answered: Vec<&&MxTruth> = truths.iter().filter(|t| t.starttls_offered.is_some()).collect();
    let encrypting = answered.iter().filter(|t| t.encrypts()).count();
    let share = |n: usize, of: usize| match (n, of) {
        (_, 0) => "n_a",
        (n, of) if n == of => "all",
        (0, _) => "none",
        _ => "some",
    };
    let (mx_source, starttls) = match spec.mail {
        Mail::Provider | Mail::Implicit(_) | Mail::Cloud => {
            let source = if matches!(spec.mail, Mail::Implicit(_)) { "implicit" } else { "explicit" };
            let starttls = if answered.is_empty() { "unreachable" } else { share(encrypting, answered.len()) };
            (source, starttls)
        }
        Mail::NullMx => ("null_mx", "no_mx"),
        Mail::NxDomain => ("none", "no_mx"),
        Mail::ServFail => ("unknown", "dns_failed"),
    };
    let sessions: Vec<&&MxTruth> = truths.iter().filter(|t| t.encrypts()).collect();
    let valid = sessions.iter().filter(|t| t.cert_verdict == Some("valid")).count();
    let tls_version_min = sessions.iter().filter_map(|t| t.tls_version).min();
    // Gmail delivers to the most preferred MX that greets; each world MX host has one address.
    let gmail_red_lock = truths.iter().find(|t| t.greets()).map(|t| !t.encrypts());
    let (spf_status, spf_all) = match (spec.mail, spec.spf) {
        (Mail::ServFail, _) => ("temperror", None),
        (Mail::NxDomain, _) | (_, Spf::None) => ("none", None),
        (_, Spf::Strict) => ("valid", Some("fail")),
        (_, Spf::Soft) => ("valid", Some("softfail")),
        (_, Spf::PassAll) => ("valid", Some("pass")),
        (_, Spf::Two) => ("multiple_records", None),
    };
    // The includes resolve, `mx` finds the provider's hosts (or nothing: one void lookup), so every
    // single record evaluates; two records are a permerror.
    let spf_outcome = match (spec.mail, spec.spf) {
        (Mail::ServFail, _) => "temperror",
        (Mail::NxDomain, _) | (_, Spf::None) => "none",
        (_, Spf::Two) => "permerror",
        _ => "valid",
    };
    let dkim_status = match spec.mail {
        Mail::ServFail => "temperror",
        Mail::NxDomain => "not_found",
        _ if World::has_dkim(spec) => "found",
        _ => "not_found",
    };
    let (dmarc_status, dmarc_policy) = match (spec.mail, spec.dmarc) {
        (Mail::NxDomain, _) | (_, Dmarc::None) => ("none", None),
        (_, Dmarc::Monitor) => ("valid", Some("none")),
        (_, Dmarc::Quarantine) => ("valid", Some("quarantine")),
        (_, Dmarc::Reject) => ("valid", Some("reject")),
        (_, Dmarc::Malformed) => ("syntax_error", None),
    };
    // MTA-STS: the policy is fetched and parsed; it is in force when every MX presents a valid certificate.
    let all_valid = !mx.is_empty() && mx.iter().all(|(_, _, m)| m.cert_verdict == Some("valid"));
    let (mta_sts_fetch, mta_sts_mode, mta_sts_effective) =
        if spec.mta_sts { ("ok", Some("enforce"), Some(all_valid)) } else { ("not_fetched", None, None) };
    // Client endpoints: published (SRV, autoconfig: IMAPS and submission), or guessed for a domain that
    // is its own mail host (mail.<domain>, all six protocols), or found through the MX: the cloud
    // provider's autoconfig file (IMAPS and submission), a provider's conventional names (imap. and
    // smtp.: four protocols) or its ISP database entry (IMAPS, and POP3 declared plain). Every one
    // answers with TLS at the hosting address.
    let accepts = spec.accepts_mail() || spec.mail == Mail::ServFail;
    let via_mx: Option<(u32, Option<&'static str>, Option<bool>)> = match spec.mail {
        Mail::Cloud => Some((2, Some("autoconfig_mx"), Some(false))),
        Mail::Provider => match super::ProviderClients::of(spec.provider) {
            super::ProviderClients::Names => Some((4, Some("guess_mx"), None)),
            super::ProviderClients::Ispdb => Some((2, Some("ispdb_mx"), Some(true))),
            super::ProviderClients::Nothing => None,
        },
        _ => None,
    };
    let (client_endpoints, client_config_source, client_declared_plain) = if !accepts {
        (0, None, None)
    } else if spec.autoconfig {
        (2, Some("autoconfig"), Some(false))
    } else if spec.srv {
        (2, None, None)
    } else if matches!(spec.mail, Mail::Implicit(_)) {
        (6, Some("guess"), None)
    } else {
        via_mx.unwrap_or_default()
    };
    let client_tls = match spec.mail {
        Mail::NullMx | Mail::NxDomain => "no_mx",
        _ if client_endpoints > 0 => "all",
        _ => "not_found",
    };
    // Reverse DNS: the MX addresses and SPF's single hosts (the include's ip4 addresses are the
    // provider's MX addresses; `mx` gives the domain's own MX addresses).
    let provider_ips: Vec<std::net::Ipv4Addr> = provider.mx.iter().map(|m| m.ip).collect();
    let mx_ips: Vec<std::net::Ipv4Addr> = mx.iter().filter_map(|(_, ip, _)| ip.parse().ok()).collect();
    let resolves = !matches!(spec.mail, Mail::NxDomain | Mail::ServFail);
    let singles: Vec<std::net::Ipv4Addr> = match spec.spf {
        Spf::Strict if resolves => provider_ips,
        Spf::Soft if matches!(spec.mail, Mail::Provider | Mail::Cloud) => mx_ips.clone(),
        _ => Vec::new(),
    };
    let verdicts: Vec<&str> = mx_ips.iter().chain(&singles).map(|ip| ptr_truth(world, *ip)).collect();
    let ptr_status = if spec.mail == Mail::ServFail && !verdicts.iter().any(|v| *v != "match") {
        // The MX lookup failed: the sending hosts are not known.
        "unknown"
    } else if verdicts.is_empty() {
        "no_hosts"
    } else if verdicts.contains(&"no_ptr") {
        "no_ptr"
    } else if verdicts.contains(&"mismatch") {
        "mismatch"
    } else {
        "all_match"
    };
    let mut ptr_certain = Vec::new();
    for v in &verdicts {
        let reason = match *v {
            "no_ptr" => "no_ptr",
            "mismatch" => "fcrdns_mismatch",
            _ => continue,
        };
        if !ptr_certain.contains(&reason) {
            ptr_certain.push(reason);
        }
    }
    let ptr_unknown = if spec.mail == Mail::ServFail { vec!["ptr_lookup_failed"] } else { vec![] };
    // Some(true) works, Some(false) certainly not, None unknown.
    let spf_works = match spf_outcome {
        "valid" => Some(true),
        "temperror" => None,
        _ => Some(false),
    };
    let dkim_works = match dkim_status {
        "found" => Some(true),
        "temperror" => None,
        _ => Some(false),
    };
    let gmail_all_senders = {
        let (mut certain, mut unknown) = (Vec::new(), Vec::new());
        match (spf_works, dkim_works) {
            (Some(true), _) | (_, Some(true)) => {}
            (Some(false), Some(false)) => certain.push("no_spf_or_dkim"),
            (spf, dkim) => {
                if spf.is_none() {
                    unknown.push("spf_lookup_failed");
                }
                if dkim.is_none() {
                    unknown.push("dkim_lookup_failed");
                }
            }
        }
        certain.extend(ptr_certain.iter().copied());
        unknown.extend(ptr_unknown.iter().copied());
        verdict(certain, unknown, "ready", "not_ready")
    };
    let gmail_bulk_senders = {
        let (mut certain, mut unknown) = (Vec::new(), Vec::new());
        for (works, missing, failed) in [
            (spf_works, "no_spf", "spf_lookup_failed"),
            (dkim_works, "no_dkim", "dkim_lookup_failed"),
            (Some(dmarc_status == "valid"), "no_dmarc", ""),
        ] {
            match works {
                Some(true) => {}
                Some(false) => certain.push(missing),
                None => unknown.push(failed),
            }
        }
        certain.extend(ptr_certain.iter().copied());
        unknown.extend(ptr_unknown.iter().copied());
        verdict(certain, unknown, "ready", "not_ready")
    };
    // BIMI: the record, DMARC at enforcement (only the world's p=reject record is; its quarantine
    // record has pct=50), the logo and the mark certificate.
    let bimi_status = match (spec.mail, spec.bimi) {
        (Mail::ServFail, _) => "temperror",
        (_, BimiKind::None) => "none",
        _ => "valid",
    };
    let gmail_checkmark = {
        let (mut certain, mut unknown) = (Vec::new(), Vec::new());
        match bimi_status {
            "temperror" => unknown.push("bimi_lookup_failed"),
            "none" => certain.push("no_bimi_record"),
            _ => {}
        }
        if !(dmarc_status == "valid" && spec.dmarc == Dmarc::Reject) {
            certain.push("dmarc_not_enforced");
        }
        if bimi_status == "valid" {
            match spec.bimi {
                BimiKind::ScriptLogo => certain.push("logo_not_tiny_ps"),
                BimiKind::NoCertificate => certain.push("no_mark_certificate"),
                BimiKind::Expired | BimiKind::OtherLogo => certain.push("certificate_invalid"),
                BimiKind::Valid | BimiKind::None => {}
            }
        }
        verdict(certain, unknown, "predicted", "not_predicted")
    };
    DomainTruth {
        ptr_status,
        gmail_all_senders,
        gmail_bulk_senders,
        bimi_status,
        gmail_checkmark,
        group: if spec.mail == Mail::Cloud { super::CLOUD_GROUP.to_string() } else { provider.group.clone() },
        mx_source,
        starttls,
        tls_cert_valid: share(valid, sessions.len()),
        tls_version_min,
        gmail_red_lock,
        spf_status,
        spf_all,
        dmarc_status,
        dmarc_policy,
        spf_outcome,
        dkim_status,
        mta_sts_fetch,
        mta_sts_mode,
        mta_sts_effective,
        client_tls,
        client_endpoints,
        client_config_source,
        client_declared_plain,
        mx,
    }
}

fn opt(v: Option<&str>) -> &str {
    v.unwrap_or("")
}

/// Writes the world's files for a scanner: `input.csv` (domain,group), `truth-domains.csv` and
/// `truth-mx.csv` (what each domain and (domain, MX, IP) must come out as).
pub fn write_files(world: &World, dir: &Path) -> io::Result<()> {
    let create = |name: &str| std::fs::File::create(dir.join(name)).map(io::BufWriter::new);
    let (mut input, mut domains, mut mx) =
        (create("input.csv")?, create("truth-domains.csv")?, create("truth-mx.csv")?);
    writeln!(input, "domain,group")?;
    writeln!(
        domains,
        "domain,group,mx_source,starttls,tls_cert_valid,tls_version_min,gmail_red_lock,spf_status,spf_all,dmarc_status,dmarc_policy,spf_outcome,dkim_status,mta_sts_fetch,mta_sts_mode,mta_sts_effective,client_tls,client_endpoint_count,client_config_source,client_declared_plain,ptr_status,gmail_all_senders,gmail_bulk_senders,bimi_status,gmail_checkmark_predicted"
    )?;
    writeln!(
        mx,
        "domain,mx_host,ip,probe_status,probe_phase,probe_reason,smtp_starttls_offered,tls_cert_verdict,tls_version"
    )?;
    for spec in world.domains() {
        let t = domain_truth(world, &spec);
        writeln!(input, "{},{}", spec.name, t.group)?;
        writeln!(
            domains,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            spec.name,
            t.group,
            t.mx_source,
            t.starttls,
            t.tls_cert_valid,
            opt(t.tls_version_min),
            t.gmail_red_lock.map(|b| b.to_string()).unwrap_or_default(),
            t.spf_status,
            opt(t.spf_all),
            t.dmarc_status,
            opt(t.dmarc_policy),
            t.spf_outcome,
            t.dkim_status,
            t.mta_sts_fetch,
            opt(t.mta_sts_mode),
            t.mta_sts_effective.map(|b| b.to_string()).unwrap_or_default(),
            t.client_tls,
            t.client_endpoints,
            opt(t.client_config_source),
            t.client_declared_plain.map(|b| b.to_string()).unwrap_or_default(),
            t.ptr_status,
            t.gmail_all_senders.0,
            t.gmail_bulk_senders.0,
            t.bimi_status,
            t.gmail_checkmark.0,
        )?;
        for (host, ip, m) in &t.mx {
            writeln!(
                mx,
                "{},{host},{ip},{},{},{},{},{},{}",
                spec.name,
                m.probe_status,
                opt(m.probe_phase),
                opt(m.probe_reason),
                m.starttls_offered.map(|b| b.to_string()).unwrap_or_default(),
                opt(m.cert_verdict),
                opt(m.tls_version)
            )?;
        }
    }
    input.flush()?;
    domains.flush()?;
    mx.flush()
}

/// Agreement of one column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnAgreement {
    /// Rows that agree.
    pub agree: u64,
    /// Rows that disagree.
    pub disagree: u64,
    /// A few disagreements: (row key, expected, got).
    pub examples: Vec<(String, String, String)>,
}

/// The comparison of a scan with the ground truth.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    /// Per `dataset.column`.
    pub columns: BTreeMap<String, ColumnAgreement>,
    /// Problems that are not a column value: missing or unexpected rows.
    pub problems: Vec<String>,
}

impl Comparison {
    fn check(&mut self, column: &str, key: &str, expected: Option<&str>, got: &Value) {
        let got_text = match got {
            Value::Null => None,
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::List(l) => Some(l.iter().filter_map(|v| v.str()).collect::<Vec<_>>().join(";")),
            other => Some(format!("{other:?}")),
        };
        let entry = self.columns.entry(column.to_string()).or_default();
        if got_text.as_deref() == expected {
            entry.agree += 1;
        } else {
            entry.disagree += 1;
            if entry.examples.len() < 5 {
                entry.examples.push((key.to_string(), opt(expected).to_string(), got_text.unwrap_or_default()));
            }
        }
    }

    /// Checks in all.
    pub fn checks(&self) -> u64 {
        self.columns.values().map(|c| c.agree + c.disagree).sum()
    }

    /// Checks that disagree, plus problems.
    pub fn disagreements(&self) -> u64 {
        self.columns.values().map(|c| c.disagree).sum::<u64>() + self.problems.len() as u64
    }

    /// A printable table: one line per column, then examples and problems.
    pub fn render(&self) -> String {
        let mut out = format!("{:<34} {:>9} {:>9}\n", "column", "agree", "disagree");
        for (name, c) in &self.columns {
            out.push_str(&format!("{name:<34} {:>9} {:>9}\n", c.agree, c.disagree));
        }
        for (name, c) in &self.columns {
            for (key, want, got) in &c.examples {
                out.push_str(&format!("  {name}: {key}: expected {want:?}, got {got:?}\n"));
            }
        }
        for p in self.problems.iter().take(20) {
            out.push_str(&format!("  problem: {p}\n"));
        }
        let checks = self.checks();
        let agree = checks - self.columns.values().map(|c| c.disagree).sum::<u64>();
        let pct = if checks == 0 { 0.0 } else { 100.0 * agree as f64 / checks as f64 };
        out.push_str(&format!(
            "agreement: {agree} of {checks} checks ({pct:.2}%), {} row problems\n",
            self.problems.len()
        ));
        out
    }
}

/// Compares the datasets of a scan in `scan_dir` with the world's ground truth.
pub fn compare(world: &World, scan_dir: &Path) -> Result<Comparison, Box<dyn std::error::Error + Send + Sync>> {
    let domains = read_rows(&scan_dir.join(crate::output::DOMAINS_DIR))?;
    let mx_rows = read_rows(&scan_dir.join(crate::output::MX_HOSTS_DIR))?;
    let mut mx_by_domain: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for row in mx_rows {
        let d = row["domain"].str().unwrap_or_default().to_string();
        mx_by_domain.entry(d).or_default().push(row);
    }
    let mut c = Comparison::default();
    let mut seen = vec![false; world.config.domains as usize];
    for row in &domains {
        let name = row["domain"].str().unwrap_or_default();
        let Some(i) = world.domain_index(name) else {
            c.problems.push(format!("unexpected domain {name}"));
            continue;
        };
        if std::mem::replace(&mut seen[i as usize], true) {
            c.problems.push(format!("domain {name} reported twice"));
        }
        let t = domain_truth(world, &world.domain(i));
        let bool_text = t.gmail_red_lock.map(|b| b.to_string());
        let effective = t.mta_sts_effective.map(|b| b.to_string());
        let endpoints = t.client_endpoints.to_string();
        let declared_plain = t.client_declared_plain.map(|b| b.to_string());
        for (col, want) in [
            ("group", Some(t.group.as_str())),
            ("mx_source", Some(t.mx_source)),
            ("starttls", Some(t.starttls)),
            ("tls_cert_valid", Some(t.tls_cert_valid)),
            ("tls_version_min", t.tls_version_min),
            ("gmail_red_lock", bool_text.as_deref()),
            ("spf_status", Some(t.spf_status)),
            ("spf_all", t.spf_all),
            ("dmarc_status", Some(t.dmarc_status)),
            ("dmarc_policy", t.dmarc_policy),
            ("spf_outcome", Some(t.spf_outcome)),
            ("dkim_status", Some(t.dkim_status)),
            ("mta_sts_fetch", Some(t.mta_sts_fetch)),
            ("mta_sts_mode", t.mta_sts_mode),
            ("mta_sts_effective", effective.as_deref()),
            ("client_tls", Some(t.client_tls)),
            ("client_endpoint_count", Some(endpoints.as_str())),
            ("client_config_source", t.client_config_source),
            ("client_declared_plain", declared_plain.as_deref()),
            ("ptr_status", Some(t.ptr_status)),
            ("gmail_all_senders", Some(t.gmail_all_senders.0)),
            ("gmail_all_senders_reasons", Some(t.gmail_all_senders.1.as_str())),
            ("gmail_bulk_senders", Some(t.gmail_bulk_senders.0)),
            ("gmail_bulk_senders_reasons", Some(t.gmail_bulk_senders.1.as_str())),
            ("bimi_status", Some(t.bimi_status)),
            ("gmail_checkmark_predicted", Some(t.gmail_checkmark.0)),
            ("gmail_checkmark_missing", Some(t.gmail_checkmark.1.as_str())),
        ] {
            c.check(&format!("domains.{col}"), name, want, &row[col]);
        }
        let rows = mx_by_domain.remove(name).unwrap_or_default();
        if rows.len() != t.mx.len() {
            c.problems.push(format!("{name}: {} mx_hosts rows, expected {}", rows.len(), t.mx.len()));
        }
        for (host, ip, m) in &t.mx {
            let Some(r) = rows.iter().find(|r| r["mx_host"].str() == Some(host) && r["ip"].str() == Some(ip)) else {
                c.problems.push(format!("{name}: no mx_hosts row for {host} {ip}"));
                continue;
            };
            let key = format!("{name} {host}");
            let offered = m.starttls_offered.map(|b| b.to_string());
            let ptr = ip.parse().ok().map(|ip| ptr_truth(world, ip));
            for (col, want) in [
                ("probe_status", Some(m.probe_status)),
                ("probe_phase", m.probe_phase),
                ("probe_reason", m.probe_reason),
                ("smtp_starttls_offered", offered.as_deref()),
                ("tls_cert_verdict", m.cert_verdict),
                ("tls_version", m.tls_version),
                ("ptr_fcrdns", ptr),
            ] {
                c.check(&format!("mx_hosts.{col}"), &key, want, &r[col]);
            }
        }
    }
    let missing = seen.iter().filter(|s| !**s).count();
    if missing > 0 {
        c.problems.push(format!("{missing} domains of the world have no row"));
    }
    for d in mx_by_domain.keys().take(5) {
        c.problems.push(format!("mx_hosts rows for {d}, which has no domains row"));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posture_truth_table() {
        assert_eq!(mx_truth(Posture::Valid, true).cert_verdict, Some("valid"));
        assert_eq!(mx_truth(Posture::Valid, false).cert_verdict, Some("name_mismatch"));
        assert_eq!(mx_truth(Posture::SelfSigned, false).cert_verdict, Some("self_signed"));
        assert_eq!(mx_truth(Posture::Tls12Only, true).tls_version, Some("tls1_2"));
        assert!(!mx_truth(Posture::Greeting421, true).greets());
        assert!(mx_truth(Posture::Reject454, true).greets());
        assert!(!mx_truth(Posture::Reject454, true).encrypts());
    }

    #[test]
    fn comparison_counts_and_renders() {
        let mut c = Comparison::default();
        c.check("domains.starttls", "d1", Some("all"), &Value::Str("all".into()));
        c.check("domains.starttls", "d2", Some("all"), &Value::Str("none".into()));
        c.check("domains.spf_all", "d3", None, &Value::Null);
        assert_eq!((c.checks(), c.disagreements()), (3, 1));
        let text = c.render();
        assert!(text.contains("d2: expected \"all\", got \"none\""), "{text}");
        assert!(text.contains("agreement: 2 of 3 checks (66.67%)"), "{text}");
    }
}
