//! `mailcensus report DIR`: what share of mail to each group's domains would travel encrypted and
//! authenticated, and which domains hold the group back.
//!
//! Reads a scan's datasets only through their files (so it works on any scan output, merged ones
//! included) and writes under `DIR/report/`:
//! - `groups.csv`: one row per group and one for all domains (`(all)`), each share with its 95% Wilson
//!   interval and the number of domains it applies to (see [`stats`] for weighting);
//! - `domains.csv`: one line per domain with its grade and findings, each with a remedy ([`grade`]);
//! - `transparency.csv`: the Transparency Report's own per-domain columns;
//! - `groups.parquet`: the same as `groups.csv`;
//! - `index.html`: the self-contained page ([`html`]);
//! - with `--compare`, `compare.csv` and a section of the page ([`compare`]).

pub mod compare;
pub mod gmail;
pub mod grade;
pub mod html;
pub mod stats;
pub mod trend;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::output::spreadsheet::SafeWriter;

use crate::output::read::{ReadError, for_each_row};
use crate::output::schema::col;
use crate::output::{DOMAINS_DIR, MX_HOSTS_DIR};
use grade::{GradeInput, Lang};
use stats::Tally;

/// The group label of domains without a group, and of the row over all domains.
pub const NO_GROUP: &str = "(none)";
/// The group label of the row over all domains.
pub const ALL: &str = "(all)";

/// The shares reported per group: (name, what it means). The order is the column order of `groups.csv`.
pub const METRICS: &[(&str, &str)] = &[
    ("accepting_mail", "domains that accept mail (MX records or an implicit MX), of all domains not excluded"),
    ("starttls_all", "STARTTLS on every answering MX, of domains whose STARTTLS is known"),
    ("starttls_some", "STARTTLS on some answering MX only, of domains whose STARTTLS is known"),
    ("starttls_none", "STARTTLS on no answering MX, of domains whose STARTTLS is known"),
    ("cert_valid_all", "a valid certificate on every TLS session, of domains with STARTTLS"),
    ("tls13", "TLS 1.3 with every MX, of domains with STARTTLS"),
    ("red_lock", "predicted Gmail red padlock, of domains where it can be predicted"),
    ("spf_present", "at least one SPF record, valid or not, of domains whose SPF lookup worked"),
    ("spf_valid", "one valid SPF record, of domains whose SPF lookup worked"),
    ("dmarc_present", "one valid DMARC record, of domains whose DMARC lookup worked"),
    ("dmarc_none", "DMARC p=none, of domains with DMARC"),
    ("dmarc_quarantine", "DMARC p=quarantine, of domains with DMARC"),
    ("dmarc_reject", "DMARC p=reject, of domains with DMARC"),
    ("spf_permerror", "SPF policy that is a permanent error when evaluated, of domains whose SPF evaluation finished"),
    ("dkim_found", "a DKIM key at one of the probed selectors, of domains whose DKIM lookups worked"),
    (
        "unauthenticated_risk",
        "predicted Gmail \"?\" mark (no SPF policy, no DKIM key found), of domains where it can be predicted",
    ),
    (
        "mta_sts_effective",
        "MTA-STS in force (enforce, every MX matching, valid certificates), of domains whose MTA-STS lookup worked",
    ),
    ("tls_rpt_present", "a valid TLS-RPT record, of domains whose TLS-RPT lookup worked"),
    ("dnssec_secure", "a DNSSEC-secure MX answer, of domains whose DNSSEC status was checked"),
    ("dane_valid_all", "DANE valid on every MX address with secure TLSA records, of domains with such addresses"),
    (
        "client_tls_all",
        "TLS on every client endpoint that answered (submission, IMAP, POP3) and no configuration telling users to connect without TLS, of domains whose client endpoints answered or whose configuration declares a plain endpoint",
    ),
    (
        "client_plaintext_auth",
        "a plaintext client port accepting authentication before TLS, of domains with a plaintext client port that answered",
    ),
    (
        "gmail_all_senders_ready",
        "ready for Gmail's requirements of all senders as far as DNS shows them (SPF or DKIM, reverse DNS of the known sending hosts), of domains whose verdict is known",
    ),
    (
        "gmail_bulk_senders_ready",
        "ready for Gmail's requirements of bulk senders as far as DNS shows them (SPF and DKIM, a DMARC record, reverse DNS), of domains whose verdict is known",
    ),
    (
        "ptr_all_match",
        "every known sending host's address has forward-confirmed reverse DNS, of domains whose reverse DNS is known",
    ),
    (
        "gmail_checkmark_predicted",
        "Gmail's BIMI logo with the blue checkmark predicted, of domains whose checkmark verdict is known",
    ),
];

/// The Gmail view's shares, in the page's and `gmail.csv`'s order: (header, metric).
pub const GMAIL_COLUMNS: [(&str, &str); 4] = [
    ("all_senders_ready", "gmail_all_senders_ready"),
    ("bulk_senders_ready", "gmail_bulk_senders_ready"),
    ("ptr_all_match", "ptr_all_match"),
    ("checkmark_predicted", "gmail_checkmark_predicted"),
];

/// The position of a share in [`METRICS`] (and in every group's tallies).
pub fn metric_index(name: &str) -> usize {
    METRICS.iter().position(|(m, _)| *m == name).expect("metric exists")
}

/// The four columns of the business guide, in its order: (header, metric behind it).
pub const FOUR_COLUMNS: [(&str, &str); 4] = [
    ("spf", "spf_valid"),
    ("dkim", "dkim_found"),
    ("tls_client_to_server", "client_tls_all"),
    ("tls_server_to_server", "starttls_all"),
];

/// The tallies of one group.
#[derive(Clone, Debug, Default)]
pub struct GroupStats {
    /// Domains in the group.
    pub domains: u64,
    /// Σ weight of the group's domains.
    pub weight: f64,
    /// One tally per entry of [`METRICS`].
    pub tallies: Vec<Tally>,
}

/// The per-domain values the report needs, read from the `domains` dataset.
#[derive(Clone, Debug, Default)]
struct DomainFacts {
    group: String,
    weight: f64,
    excluded: bool,
    mx_source: String,
    grade: GradeInput,
    tls_version_min: Option<String>,
    red_lock: Option<bool>,
    spf_outcome: String,
    dkim_status: String,
    unauthenticated_risk: Option<bool>,
    mta_sts_status: String,
    mta_sts_effective: Option<bool>,
    tls_rpt_status: String,
    dnssec_status: String,
    dane: String,
    client_tls: String,
    client_plaintext_auth: Option<bool>,
    client_declared_plain: Option<bool>,
    mx_provider: Option<String>,
    gmail_all_senders: String,
    gmail_bulk_senders: String,
    gmail_checkmark: String,
    ptr_status: String,
}

impl DomainFacts {
    /// The client-to-server column: TLS on every answering endpoint, and no configuration that
    /// tells users to connect without it (a provider that says "plain" fails, whatever its servers do).
    fn client_tls_all(&self) -> Option<bool> {
        if self.client_declared_plain == Some(true) {
            return Some(false);
        }
        matches!(self.client_tls.as_str(), "all" | "some" | "none").then(|| self.client_tls == "all")
    }
}

/// Providers tallied in the provider view; the domains of any further provider are counted under
/// [`OTHER_PROVIDERS`], so that memory stays bounded however many self-hosted domains a list has.
pub const MAX_PROVIDERS: usize = 1_000_000;
/// The provider-view row of the domains beyond [`MAX_PROVIDERS`].
pub const OTHER_PROVIDERS: &str = "(other providers)";
/// Providers shown in the page's provider table (`providers.csv` has them all).
pub const HTML_PROVIDER_ROWS: usize = 30;

/// The provider view's tallies for one mail provider: its domains and the four columns.
#[derive(Clone, Debug, Default)]
pub struct ProviderStats {
    /// Domains whose primary MX is at the provider.
    pub domains: u64,
    /// One tally per entry of [`FOUR_COLUMNS`].
    pub four: [Tally; 4],
    /// One tally per entry of [`GMAIL_COLUMNS`].
    pub gmail: [Tally; 4],
}

impl ProviderStats {
    fn add(&mut self, d: &DomainFacts, answers: &[Option<bool>]) {
        self.domains += 1;
        for (tally, (_, metric)) in self.four.iter_mut().zip(FOUR_COLUMNS) {
            if let Some(hit) = answers[metric_index(metric)] {
                tally.add(d.weight, hit);
            }
        }
        for (tally, (_, metric)) in self.gmail.iter_mut().zip(GMAIL_COLUMNS) {
            if let Some(hit) = answers[metric_index(metric)] {
                tally.add(d.weight, hit);
            }
        }
    }
}

impl GroupStats {
    /// Adds another group's counts to this one (the chart's merged row).
    pub fn merge(&mut self, other: &GroupStats) {
        if self.tallies.is_empty() {
            self.tallies = vec![Tally::default(); METRICS.len()];
        }
        self.domains += other.domains;
        self.weight += other.weight;
        for (a, b) in self.tallies.iter_mut().zip(&other.tallies) {
            a.total += b.total;
            a.total_sq += b.total_sq;
            a.hits += b.hits;
            a.n += b.n;
        }
    }

    fn add(&mut self, d: &DomainFacts) {
        let answers = answers(d);
        if self.tallies.is_empty() {
            self.tallies = vec![Tally::default(); METRICS.len()];
        }
        self.domains += 1;
        self.weight += d.weight;
        for (tally, answer) in self.tallies.iter_mut().zip(answers) {
            if let Some(hit) = answer {
                tally.add(d.weight, hit);
            }
        }
    }
}

/// Each share's answer for one domain (in [`METRICS`] order): `None` where it does not apply.
fn answers(d: &DomainFacts) -> [Option<bool>; 26] {
    {
        let g = &d.grade;
        let known_tls = matches!(g.starttls.as_str(), "all" | "some" | "none");
        let with_tls = matches!(g.starttls.as_str(), "all" | "some");
        let spf_known = !matches!(g.spf_status.as_str(), "temperror" | "not_queried");
        let dmarc_known = !matches!(g.dmarc_status.as_str(), "temperror" | "not_queried");
        let dmarc_valid = g.dmarc_status == "valid";
        let policy = g.dmarc_policy.as_deref();
        let known = |status: &str| !matches!(status, "temperror" | "not_queried" | "");
        [
            (!d.excluded).then_some(matches!(d.mx_source.as_str(), "explicit" | "implicit")),
            known_tls.then(|| g.starttls == "all"),
            known_tls.then(|| g.starttls == "some"),
            known_tls.then(|| g.starttls == "none"),
            with_tls.then(|| g.tls_cert_valid == "all"),
            with_tls.then(|| d.tls_version_min.as_deref() == Some("tls1_3")),
            d.red_lock,
            spf_known.then(|| g.spf_status != "none"),
            spf_known.then(|| g.spf_status == "valid"),
            dmarc_known.then_some(dmarc_valid),
            dmarc_valid.then(|| policy == Some("none")),
            dmarc_valid.then(|| policy == Some("quarantine")),
            dmarc_valid.then(|| policy == Some("reject")),
            matches!(d.spf_outcome.as_str(), "valid" | "permerror").then(|| d.spf_outcome == "permerror"),
            matches!(d.dkim_status.as_str(), "found" | "revoked" | "not_found").then(|| d.dkim_status == "found"),
            d.unauthenticated_risk,
            known(&d.mta_sts_status).then(|| d.mta_sts_effective == Some(true)),
            known(&d.tls_rpt_status).then(|| d.tls_rpt_status == "valid"),
            matches!(d.dnssec_status.as_str(), "secure" | "insecure" | "bogus" | "indeterminate")
                .then(|| d.dnssec_status == "secure"),
            matches!(d.dane.as_str(), "all" | "some" | "none").then(|| d.dane == "all"),
            d.client_tls_all(),
            d.client_plaintext_auth,
            matches!(d.gmail_all_senders.as_str(), "ready" | "not_ready").then(|| d.gmail_all_senders == "ready"),
            matches!(d.gmail_bulk_senders.as_str(), "ready" | "not_ready").then(|| d.gmail_bulk_senders == "ready"),
            matches!(d.ptr_status.as_str(), "all_match" | "mismatch" | "no_ptr").then(|| d.ptr_status == "all_match"),
            matches!(d.gmail_checkmark.as_str(), "predicted" | "not_predicted")
                .then(|| d.gmail_checkmark == "predicted"),
        ]
    }
}

/// What `report` computed.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Per group, and [`ALL`].
    pub groups: BTreeMap<String, GroupStats>,
    /// Domains by grade (`A`..`F`, `-`).
    pub grades: BTreeMap<char, u64>,
    /// Distinct probes by negotiated TLS version (`none` without a TLS session).
    pub tls_versions: BTreeMap<String, u64>,
    /// Distinct TLS sessions by certificate verdict.
    pub cert_verdicts: BTreeMap<String, u64>,
    /// Graded domains, worst first, for the HTML table: (domain, group, grade, findings, remedies).
    pub graded: Vec<(String, String, char, String, String)>,
    /// The provider view: per mail provider (`mx_provider`), its domains and the four columns.
    pub providers: HashMap<String, ProviderStats>,
    /// The scan's plausibility warnings (`run.json`'s `warnings`): shown first on the page.
    pub warnings: Vec<String>,
    /// What the page says about the scan (from `run.json`).
    pub scan: ScanInfo,
    /// The trend over earlier scans (`--compare` with them), when asked for.
    pub trend: Option<trend::Trend>,
}

/// The scan a report is of, from its `run.json` (empty fields when it has none).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ScanInfo {
    /// `scan_id`.
    pub id: String,
    /// `scan_date` (`YYYY-MM-DD`), or the start day.
    pub date: String,
    /// `started_at`, RFC 3339.
    pub started_at: String,
    /// The tool version that scanned.
    pub version: String,
    /// The command line.
    pub command: String,
    /// The resolvers given with `--resolver`, or the system's.
    pub resolver: String,
}

fn scan_info(dir: &Path) -> ScanInfo {
    let Ok(text) = std::fs::read_to_string(dir.join(crate::output::RUN_FILE)) else { return ScanInfo::default() };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else { return ScanInfo::default() };
    let s = |k: &str| json[k].as_str().unwrap_or_default().to_string();
    let args: Vec<String> = json["args"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let resolvers: Vec<&str> = args.windows(2).filter(|w| w[0] == "--resolver").map(|w| w[1].as_str()).collect();
    let started = s("started_at");
    ScanInfo {
        id: s("scan_id"),
        date: if json["scan_date"].is_string() { s("scan_date") } else { started.chars().take(10).collect() },
        started_at: started,
        version: s("version"),
        command: args.join(" "),
        resolver: if resolvers.is_empty() { "system (/etc/resolv.conf)".into() } else { resolvers.join(", ") },
    }
}

/// The plausibility warnings `run.json` carries, as `code: message` lines (none when it has none or
/// cannot be read: the report stands on the datasets).
fn run_warnings(dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join(crate::output::RUN_FILE)) else { return Vec::new() };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else { return Vec::new() };
    json["warnings"]
        .as_array()
        .map(|ws| {
            ws.iter()
                .map(|w| {
                    format!("{}: {}", w["code"].as_str().unwrap_or("warning"), w["message"].as_str().unwrap_or(""))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Report {
    /// The providers, most domains first (then by name).
    pub fn providers_by_size(&self) -> Vec<(&String, &ProviderStats)> {
        let mut v: Vec<_> = self.providers.iter().collect();
        v.sort_by(|a, b| b.1.domains.cmp(&a.1.domains).then_with(|| a.0.cmp(b.0)));
        v
    }
}

/// Most domain lines in the HTML table (the worst grades first); `domains.csv` has them all.
pub const HTML_TABLE_ROWS: usize = 20_000;

/// MX facts per domain, from `mx_hosts`: hosts without working STARTTLS, and answering/encrypting addresses.
#[derive(Clone, Debug, Default)]
struct MxFacts {
    preferred: Option<(u16, String)>,
    without_tls: Vec<String>,
    answered: u32,
    encrypted: u32,
}

fn read_mx(dir: &Path, report: &mut Report) -> Result<HashMap<String, MxFacts>, ReadError> {
    let mut facts: HashMap<String, MxFacts> = HashMap::new();
    let columns = [
        col::DOMAIN,
        col::MX_HOST,
        col::MX_PREFERENCE,
        col::SMTP_STARTTLS_OFFERED,
        col::TLS_VERSION,
        col::TLS_CERT_VERDICT,
        col::PROBE_STATUS,
        col::PROBE_CACHED,
    ];
    for_each_row(dir, &columns, |r| {
        if r.bool(col::PROBE_CACHED) == Some(false) && r.str(col::PROBE_STATUS) != Some("skipped") {
            let version = r.str(col::TLS_VERSION).unwrap_or("none").to_string();
            *report.tls_versions.entry(version).or_default() += 1;
            if let Some(v) = r.str(col::TLS_CERT_VERDICT) {
                *report.cert_verdicts.entry(v.to_string()).or_default() += 1;
            }
        }
        let Some(domain) = r.str(col::DOMAIN) else { return };
        let f = facts.entry(domain.to_string()).or_default();
        let host = r.str(col::MX_HOST).unwrap_or_default().to_string();
        let pref = r.f64(col::MX_PREFERENCE).unwrap_or(0.0) as u16;
        if f.preferred.as_ref().is_none_or(|(p, _)| pref < *p) {
            f.preferred = Some((pref, host.clone()));
        }
        let encrypted = r.str(col::TLS_VERSION).is_some();
        // Answered far enough to tell: EHLO answered (STARTTLS offered or not).
        if r.bool(col::SMTP_STARTTLS_OFFERED).is_some() {
            f.answered += 1;
            f.encrypted += encrypted as u32;
            if !encrypted && !f.without_tls.contains(&host) {
                f.without_tls.push(host);
            }
        }
    })?;
    Ok(facts)
}

/// The registrable domain of a host name (by the public suffix list), for `Hostname Suffix`:
/// `mx1.mail.ocn.ad.jp` → `ocn.ad.jp`, as the Transparency Report's `google.com`.
fn host_suffix(host: &str) -> String {
    crate::domain::organizational_domain(host)
}

fn csv_error(path: &Path) -> impl Fn(csv::Error) -> ReadError + '_ {
    move |e| format!("cannot write {}: {e}", path.display()).into()
}

/// Computes the report of the scan in `dir` and writes its files under `dir/report/`.
pub fn run(dir: &Path, lang: Lang) -> Result<Report, ReadError> {
    run_into(dir, &dir.join("report"), lang)
}

/// Computes the report of the scan in `dir` and writes its files into `out`.
pub fn run_into(dir: &Path, out: &Path, lang: Lang) -> Result<Report, ReadError> {
    run_observed(dir, out, lang, |_, _, _| {})
}

/// As [`run_into`], and calls `each` with every domain, its grade, and the MX hosts its remedies name.
pub fn run_observed(
    dir: &Path,
    out: &Path,
    lang: Lang,
    mut each: impl FnMut(&str, &grade::Graded, &str),
) -> Result<Report, ReadError> {
    let out = out.to_path_buf();
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut report = Report { warnings: run_warnings(dir), scan: scan_info(dir), ..Report::default() };
    let mx = read_mx(&dir.join(MX_HOSTS_DIR), &mut report)?;
    let domains_path = out.join("domains.csv");
    let transparency_path = out.join("transparency.csv");
    // Japanese CSVs start with a byte-order mark (Excel on a Japanese system needs it); the
    // Transparency Report's own format has none.
    let bom = lang == Lang::Ja;
    let mut domains_csv = SafeWriter::from_path_bom(&domains_path, bom).map_err(csv_error(&domains_path))?;
    let mut transparency = SafeWriter::from_path(&transparency_path).map_err(csv_error(&transparency_path))?;
    domains_csv
        .write_record([
            "domain",
            "group",
            "grade",
            "not_graded",
            "findings",
            "finding_titles",
            "remedies",
            "spf",
            "dkim",
            "tls_client_to_server",
            "tls_server_to_server",
            "gmail_all_senders",
            "gmail_bulk_senders",
            "gmail_checkmark_predicted",
            "gmail_fixes",
            "gmail_remedies",
        ])
        .map_err(csv_error(&domains_path))?;
    transparency
        .write_record([
            "Address Suffix",
            "Hostname Suffix",
            "Direction",
            "UN M.49 Region Code",
            "Region Name",
            "Fraction Encrypted",
        ])
        .map_err(csv_error(&transparency_path))?;
    let mut write_error: Option<ReadError> = None;
    let columns = [
        col::DOMAIN,
        col::GROUP,
        col::WEIGHT,
        col::EXCLUDED,
        col::MX_SOURCE,
        col::STARTTLS,
        col::TLS_CERT_VALID,
        col::TLS_VERSION_MIN,
        col::GMAIL_RED_LOCK,
        col::SPF_STATUS,
        col::SPF_ALL,
        col::DMARC_STATUS,
        col::DMARC_POLICY,
        col::SPF_OUTCOME,
        col::DKIM_STATUS,
        col::GMAIL_UNAUTHENTICATED_RISK,
        col::MTA_STS_STATUS,
        col::MTA_STS_EFFECTIVE,
        col::TLS_RPT_STATUS,
        col::DNSSEC_STATUS,
        col::DANE,
        col::CLIENT_TLS,
        col::CLIENT_PLAINTEXT_AUTH,
        col::CLIENT_DECLARED_PLAIN,
        col::MX_PROVIDER,
        col::SPF_IPV4_AUTHORIZED,
        col::GMAIL_ALL_SENDERS,
        col::GMAIL_ALL_SENDERS_REASONS,
        col::GMAIL_BULK_SENDERS,
        col::GMAIL_BULK_SENDERS_REASONS,
        col::GMAIL_CHECKMARK_PREDICTED,
        col::GMAIL_CHECKMARK_MISSING,
        col::PTR_STATUS,
    ];
    for_each_row(&dir.join(DOMAINS_DIR), &columns, |r| {
        let domain = r.str(col::DOMAIN).unwrap_or_default();
        let m = mx.get(domain);
        let s = |c: &str| r.str(c).unwrap_or_default().to_string();
        let facts = DomainFacts {
            group: r.str(col::GROUP).unwrap_or(NO_GROUP).to_string(),
            weight: r.f64(col::WEIGHT).unwrap_or(1.0),
            excluded: r.bool(col::EXCLUDED).unwrap_or(false),
            mx_source: s(col::MX_SOURCE),
            tls_version_min: r.str(col::TLS_VERSION_MIN).map(str::to_string),
            red_lock: r.bool(col::GMAIL_RED_LOCK),
            spf_outcome: s(col::SPF_OUTCOME),
            dkim_status: s(col::DKIM_STATUS),
            unauthenticated_risk: r.bool(col::GMAIL_UNAUTHENTICATED_RISK),
            mta_sts_status: s(col::MTA_STS_STATUS),
            mta_sts_effective: r.bool(col::MTA_STS_EFFECTIVE),
            tls_rpt_status: s(col::TLS_RPT_STATUS),
            dnssec_status: s(col::DNSSEC_STATUS),
            dane: s(col::DANE),
            client_tls: s(col::CLIENT_TLS),
            client_plaintext_auth: r.bool(col::CLIENT_PLAINTEXT_AUTH),
            client_declared_plain: r.bool(col::CLIENT_DECLARED_PLAIN),
            mx_provider: r.str(col::MX_PROVIDER).map(str::to_string),
            gmail_all_senders: s(col::GMAIL_ALL_SENDERS),
            gmail_bulk_senders: s(col::GMAIL_BULK_SENDERS),
            gmail_checkmark: s(col::GMAIL_CHECKMARK_PREDICTED),
            ptr_status: s(col::PTR_STATUS),
            grade: GradeInput {
                starttls: s(col::STARTTLS),
                tls_cert_valid: s(col::TLS_CERT_VALID),
                spf_status: s(col::SPF_STATUS),
                spf_all: r.str(col::SPF_ALL).map(str::to_string),
                dmarc_status: s(col::DMARC_STATUS),
                dmarc_policy: r.str(col::DMARC_POLICY).map(str::to_string),
                spf_outcome: s(col::SPF_OUTCOME),
                spf_ipv4_authorized: r.f64(col::SPF_IPV4_AUTHORIZED).map(|v| v as u64),
                client_plaintext_auth: r.bool(col::CLIENT_PLAINTEXT_AUTH),
                client_declared_plain: r.bool(col::CLIENT_DECLARED_PLAIN),
                hosts_without_tls: m.map(|m| m.without_tls.clone()).unwrap_or_default(),
            },
        };
        report.groups.entry(facts.group.clone()).or_default().add(&facts);
        report.groups.entry(ALL.to_string()).or_default().add(&facts);
        if let Some(provider) = &facts.mx_provider {
            let key = if report.providers.len() < MAX_PROVIDERS || report.providers.contains_key(provider) {
                provider.clone()
            } else {
                OTHER_PROVIDERS.to_string()
            };
            report.providers.entry(key).or_default().add(&facts, &answers(&facts));
        }
        let g = grade::grade(&facts.grade);
        *report.grades.entry(g.grade).or_default() += 1;
        let hosts = if facts.grade.hosts_without_tls.is_empty() {
            "its MX hosts".to_string()
        } else {
            facts.grade.hosts_without_tls.join(", ")
        };
        each(domain, &g, &hosts);
        let labels: Vec<&str> = g.findings.iter().map(|f| f.as_label()).collect();
        let titles: Vec<&str> = g.findings.iter().map(|f| f.title(lang)).collect();
        let remedies: Vec<String> = g.findings.iter().map(|f| f.remedy(lang, &hosts)).collect();
        let grade_text = g.grade.to_string();
        let reasons = |c: &str| {
            r.strs(c).into_iter().filter_map(crate::scan::readiness::ReadinessReason::from_label).collect::<Vec<_>>()
        };
        let checkmark: Vec<_> = r
            .strs(col::GMAIL_CHECKMARK_MISSING)
            .into_iter()
            .filter_map(crate::scan::readiness::CheckmarkReason::from_label)
            .collect();
        let fixes = gmail::fixes(
            &reasons(col::GMAIL_ALL_SENDERS_REASONS),
            &reasons(col::GMAIL_BULK_SENDERS_REASONS),
            &checkmark,
        );
        let fix_labels: Vec<&str> = fixes.iter().map(|f| f.as_label()).collect();
        let fix_remedies: Vec<&str> = fixes.iter().map(|f| f.remedy(lang)).collect();
        if g.grade != '-' {
            report.graded.push((
                domain.to_string(),
                facts.group.clone(),
                g.grade,
                titles.join("; "),
                g.findings.iter().map(|f| f.remedy(lang, &hosts)).collect::<Vec<_>>().join(" "),
            ));
            if report.graded.len() > 2 * HTML_TABLE_ROWS {
                report.graded.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
                report.graded.truncate(HTML_TABLE_ROWS);
            }
        }
        let row = [
            domain,
            facts.group.as_str(),
            grade_text.as_str(),
            g.not_graded.as_deref().unwrap_or(""),
            &labels.join(";"),
            &titles.join("; "),
            &remedies.join(" | "),
            facts.spf_outcome.as_str(),
            facts.dkim_status.as_str(),
            facts.client_tls.as_str(),
            facts.grade.starttls.as_str(),
            facts.gmail_all_senders.as_str(),
            facts.gmail_bulk_senders.as_str(),
            facts.gmail_checkmark.as_str(),
            &fix_labels.join(";"),
            &fix_remedies.join(" | "),
        ];
        if let Err(e) = domains_csv.write_record(row) {
            write_error.get_or_insert(csv_error(&domains_path)(e));
        }
        // The Transparency Report's outbound direction: the share of the domain's answering MX
        // addresses that complete STARTTLS (what a big sender would see); domains without an answer are left out.
        if let Some(m) = m.filter(|m| m.answered > 0) {
            let suffix = m.preferred.as_ref().map(|(_, h)| host_suffix(h)).unwrap_or_default();
            let fraction = format!("{}", (m.encrypted as f64 / m.answered as f64 * 1e6).round() / 1e6);
            if let Err(e) = transparency.write_record([domain, &suffix, "outbound", "001", "World", &fraction]) {
                write_error.get_or_insert(csv_error(&transparency_path)(e));
            }
        }
    })?;
    if let Some(e) = write_error {
        return Err(e);
    }
    domains_csv.flush()?;
    transparency.flush()?;
    report.graded.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    report.graded.truncate(HTML_TABLE_ROWS);
    write_groups(&out.join("groups.csv"), &report, bom)?;
    write_four_columns(&out.join("four_columns.csv"), &report, bom)?;
    write_providers(&out.join("providers.csv"), &report, bom)?;
    write_gmail(&out.join("gmail.csv"), &report, bom)?;
    write_groups_parquet(&out.join("groups.parquet"), &report)?;
    std::fs::write(out.join("index.html"), html::render(&report, None, lang))
        .map_err(|e| format!("cannot write index.html: {e}"))?;
    Ok(report)
}

/// The groups in output order: each group by name, then [`ALL`].
pub fn ordered_groups(report: &Report) -> impl Iterator<Item = (&String, &GroupStats)> {
    report.groups.iter().filter(|(n, _)| n.as_str() != ALL).chain(report.groups.get_key_value(ALL))
}

fn write_groups_parquet(path: &Path, report: &Report) -> Result<(), ReadError> {
    use arrow_array::builder::{Float64Builder, StringBuilder, UInt64Builder};
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;
    let mut fields = vec![
        Field::new("group", DataType::Utf8, false),
        Field::new("domains", DataType::UInt64, false),
        Field::new("weight", DataType::Float64, false),
    ];
    for (m, _) in METRICS {
        for suffix in ["share", "low", "high"] {
            fields.push(Field::new(format!("{m}_{suffix}"), DataType::Float64, true));
        }
        fields.push(Field::new(format!("{m}_n"), DataType::UInt64, false));
    }
    let schema = Arc::new(Schema::new(fields));
    let (mut group, mut domains, mut weight) = (StringBuilder::new(), UInt64Builder::new(), Float64Builder::new());
    let mut shares: Vec<[Float64Builder; 3]> = METRICS.iter().map(|_| Default::default()).collect();
    let mut ns: Vec<UInt64Builder> = METRICS.iter().map(|_| UInt64Builder::new()).collect();
    for (name, g) in ordered_groups(report) {
        group.append_value(name);
        domains.append_value(g.domains);
        weight.append_value(g.weight);
        for (i, t) in g.tallies.iter().enumerate() {
            let (lo, hi) = t.interval().unzip();
            shares[i][0].append_option(t.share());
            shares[i][1].append_option(lo);
            shares[i][2].append_option(hi);
            ns[i].append_value(t.n);
        }
    }
    let mut columns: Vec<ArrayRef> =
        vec![Arc::new(group.finish()), Arc::new(domains.finish()), Arc::new(weight.finish())];
    for (s, n) in shares.iter_mut().zip(ns.iter_mut()) {
        for b in s.iter_mut() {
            columns.push(Arc::new(b.finish()));
        }
        columns.push(Arc::new(n.finish()));
    }
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let file = std::fs::File::create(path)?;
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(crate::output::parquet::writer_properties()))?;
    w.write(&batch)?;
    w.close()?;
    Ok(())
}

/// The CSV cells of one share: `share`, `low`, `high` (6 decimals, empty when undefined) and `n`.
fn tally_cells(t: &Tally) -> [String; 4] {
    let fmt = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
    let (lo, hi) = t.interval().unzip();
    [fmt(t.share()), fmt(lo), fmt(hi), t.n.to_string()]
}

/// Writes one row per group: the `leading` columns (headers and cells), then the four cells of each
/// `(header, metric)` share.
fn write_share_table(
    path: &Path,
    bom: bool,
    report: &Report,
    leading: &[&str],
    cells: impl Fn(&String, &GroupStats) -> Vec<String>,
    shares: &[(&str, &str)],
) -> Result<(), ReadError> {
    let mut w = SafeWriter::from_path_bom(path, bom).map_err(csv_error(path))?;
    let mut header: Vec<String> = leading.iter().map(|h| h.to_string()).collect();
    for (name, _) in shares {
        header.extend(["share", "low", "high", "n"].map(|suffix| format!("{name}_{suffix}")));
    }
    w.write_record(&header).map_err(csv_error(path))?;
    for (name, g) in ordered_groups(report) {
        let mut row = cells(name, g);
        for (_, metric) in shares {
            row.extend(tally_cells(&g.tallies[metric_index(metric)]));
        }
        w.write_record(&row).map_err(csv_error(path))?;
    }
    w.flush()?;
    Ok(())
}

/// `groups.csv`: every share of every group.
fn write_groups(path: &Path, report: &Report, bom: bool) -> Result<(), ReadError> {
    let shares: Vec<(&str, &str)> = METRICS.iter().map(|(m, _)| (*m, *m)).collect();
    let cells = |name: &String, g: &GroupStats| vec![name.clone(), g.domains.to_string(), format!("{}", g.weight)];
    write_share_table(path, bom, report, &["group", "domains", "weight"], cells, &shares)
}

/// `four_columns.csv`: per group, the business guide's four columns (SPF, DKIM, TLS client to server,
/// TLS server to server) as shares with their intervals and counts.
fn write_four_columns(path: &Path, report: &Report, bom: bool) -> Result<(), ReadError> {
    let cells = |name: &String, g: &GroupStats| vec![name.clone(), g.domains.to_string()];
    write_share_table(path, bom, report, &["group", "domains"], cells, &FOUR_COLUMNS)
}

/// `gmail.csv`: per group, the Gmail view: readiness for all senders and bulk senders, reverse DNS
/// and the checkmark, as shares with their intervals and counts.
fn write_gmail(path: &Path, report: &Report, bom: bool) -> Result<(), ReadError> {
    let cells = |name: &String, g: &GroupStats| vec![name.clone(), g.domains.to_string()];
    write_share_table(path, bom, report, &["group", "domains"], cells, &GMAIL_COLUMNS)
}

/// `providers.csv`: the provider view, one row per mail provider (the registrable domain of the
/// primary MX host), most domains first: its domains, the four columns and the Gmail view.
fn write_providers(path: &Path, report: &Report, bom: bool) -> Result<(), ReadError> {
    let mut w = SafeWriter::from_path_bom(path, bom).map_err(csv_error(path))?;
    let mut header = vec!["provider".to_string(), "domains".to_string()];
    for (name, _) in FOUR_COLUMNS.iter().chain(&GMAIL_COLUMNS) {
        header.extend(["share", "low", "high", "n"].map(|suffix| format!("{name}_{suffix}")));
    }
    w.write_record(&header).map_err(csv_error(path))?;
    for (name, p) in report.providers_by_size() {
        let mut row = vec![name.clone(), p.domains.to_string()];
        for t in p.four.iter().chain(&p.gmail) {
            row.extend(tally_cells(t));
        }
        w.write_record(&row).map_err(csv_error(path))?;
    }
    w.flush()?;
    Ok(())
}

/// `text` cut and padded to `width` terminal columns (a CJK character takes two), so that a table
/// of Japanese group names lines up.
pub fn pad_to_width(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.extend(std::iter::repeat_n(' ', width - used));
    out
}

/// A short table for the terminal: per group, the headline shares (percent, with the interval).
pub fn render_summary(report: &Report) -> String {
    let pick = ["starttls_all", "cert_valid_all", "red_lock", "spf_valid", "dmarc_present"];
    let mut out = format!("{:<24} {:>8}", "group", "domains");
    for m in pick {
        out.push_str(&format!(" {m:>18}"));
    }
    out.push('\n');
    for (name, g) in ordered_groups(report) {
        out.push_str(&format!("{} {:>8}", pad_to_width(name, 24), g.domains));
        for m in pick {
            let t = &g.tallies[metric_index(m)];
            let cell = match (t.share(), t.interval()) {
                (Some(p), Some((lo, hi))) => format!("{:.0}% ({:.0}-{:.0})", p * 100.0, lo * 100.0, hi * 100.0),
                _ => "-".to_string(),
            };
            out.push_str(&format!(" {cell:>18}"));
        }
        out.push('\n');
    }
    let grades: Vec<String> = report.grades.iter().map(|(g, n)| format!("{g}={n}")).collect();
    out.push_str(&format!("grades: {}\n", grades.join(" ")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_group_names_line_up() {
        use unicode_width::UnicodeWidthStr;
        for name in ["Carrier 1", "ソニーネットワークコミュニケーションズ株式会社", "NTTドコモ", ""]
        {
            let cell = pad_to_width(name, 24);
            assert_eq!(cell.width(), 24, "{name:?} -> {cell:?}");
            assert!(name.starts_with(cell.trim_end()), "{name:?} -> {cell:?}");
        }
    }

    #[test]
    fn readme_documents_every_share() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        for (m, what) in METRICS {
            assert!(readme.contains(&format!("| `{m}` | {what} |")), "README does not document the share {m}");
        }
    }

    #[test]
    fn host_suffix_is_the_registrable_domain() {
        assert_eq!(host_suffix("mx1.mail.ocn.ad.jp"), "ocn.ad.jp");
        assert_eq!(host_suffix("aspmx.l.google.com"), "google.com");
        assert_eq!(host_suffix("mx.example.co.uk"), "example.co.uk");
        assert_eq!(host_suffix("example"), "example");
    }
}
