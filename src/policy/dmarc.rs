//! DMARC records (RFC 7489): the `v=DMARC1` record at `_dmarc.<domain>` with every tag of §6.3 (`p`,
//! `sp`, `pct`, `rua`, `ruf`, `adkim`, `aspf`, `fo`, `ri`), the fallback to the organisational domain's
//! record (§6.6.3, organisational domain from the public suffix list), and the check that external
//! report destinations agreed to receive reports (§7.1, `<domain>._report._dmarc.<destination>`).
//! Unknown tags are ignored, as the RFC asks.

use super::{PolicyStatus, select_records};
use crate::dns::DnsOutcome;
use crate::dns::TxtLookup;
pub use crate::domain::organizational_domain;

crate::labels! {
    /// A DMARC policy (RFC 7489 §6.3, tags `p` and `sp`).
    pub enum Policy {
        /// Monitor only.
        None => "none",
        /// Treat failing mail as suspicious.
        Quarantine => "quarantine",
        /// Reject failing mail.
        Reject => "reject",
    }
}

impl Policy {
    fn parse(v: &str) -> Option<Self> {
        match v.to_ascii_lowercase().as_str() {
            "none" => Some(Self::None),
            "quarantine" => Some(Self::Quarantine),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }
}

crate::labels! {
    /// An identifier alignment mode (`adkim`, `aspf`).
    pub enum Alignment {
        /// `r` (the default): organisational domains must match.
        Relaxed => "relaxed",
        /// `s`: domains must match exactly.
        Strict => "strict",
    }
}

impl Alignment {
    fn parse(v: &str) -> Option<Self> {
        match v.to_ascii_lowercase().as_str() {
            "r" => Some(Self::Relaxed),
            "s" => Some(Self::Strict),
            _ => None,
        }
    }
}

/// A parsed DMARC record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcRecord {
    /// `p`: the domain's policy.
    pub policy: Policy,
    /// `sp`: the subdomains' policy, if given.
    pub subdomain_policy: Option<Policy>,
    /// `pct`: the share of mail the policy applies to (default 100).
    pub pct: u8,
    /// `rua`: aggregate report destinations (URIs as published).
    pub rua: Vec<String>,
    /// `ruf`: failure report destinations.
    pub ruf: Vec<String>,
    /// `adkim` (default relaxed).
    pub adkim: Alignment,
    /// `aspf` (default relaxed).
    pub aspf: Alignment,
    /// `fo`: failure reporting options, colon-separated `0`, `1`, `d`, `s` (default `0`).
    pub fo: String,
    /// `ri`: requested aggregate report interval in seconds (default 86400).
    pub ri: u32,
}

impl DmarcRecord {
    /// The domains of the `mailto:` report destinations (`rua` then `ruf`), lowercase, deduplicated.
    pub fn report_domains(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for uri in self.rua.iter().chain(&self.ruf) {
            if let Some(d) = mailto_domain(uri)
                && !out.contains(&d)
            {
                out.push(d);
            }
        }
        out
    }
}

/// The domain of a `mailto:` URI (`mailto:a@example.com!10m` → `example.com`).
pub fn mailto_domain(uri: &str) -> Option<String> {
    let rest = uri.get(..7).filter(|p| p.eq_ignore_ascii_case("mailto:")).map(|_| &uri[7..])?;
    let addr = rest.split('!').next()?;
    let (_, domain) = addr.rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    (!domain.is_empty() && !domain.contains(['/', '?', ' '])).then_some(domain)
}

/// Is this TXT record a DMARC record (`v=DMARC1` first, then `;` or the end)?
pub fn is_dmarc(txt: &str) -> bool {
    let t = txt.trim_start();
    let Some(rest) = t.get(..1).filter(|v| v.eq_ignore_ascii_case("v")).map(|_| t[1..].trim_start()) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('=') else {
        return false;
    };
    let rest = rest.trim_start();
    rest.len() >= 6 && rest.as_bytes()[..6].eq_ignore_ascii_case(b"DMARC1") && {
        let tail = rest[6..].trim_start();
        tail.is_empty() || tail.starts_with(';')
    }
}

/// Parses one DMARC record, or says what is wrong with it.
pub fn parse(record: &str) -> Result<DmarcRecord, String> {
    if !is_dmarc(record) {
        return Err("does not start with v=DMARC1".into());
    }
    let mut policy = None;
    let mut subdomain_policy = None;
    let mut pct = 100u8;
    let mut rua = Vec::new();
    let mut ruf = Vec::new();
    let (mut adkim, mut aspf) = (Alignment::Relaxed, Alignment::Relaxed);
    let mut fo = "0".to_string();
    let mut ri = 86_400u32;
    let uris = |value: &str| -> Vec<String> {
        value.split(',').map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect()
    };
    for (i, part) in record.split(';').enumerate() {
        let part = part.trim();
        if i == 0 || part.is_empty() {
            continue;
        }
        let Some((tag, value)) = part.split_once('=') else {
            return Err(format!("tag {part:?} has no value"));
        };
        let value = value.trim();
        match tag.trim().to_ascii_lowercase().as_str() {
            "p" => {
                policy =
                    Some(Policy::parse(value).ok_or_else(|| format!("p={value:?} is not none, quarantine or reject"))?)
            }
            "sp" => {
                subdomain_policy = Some(
                    Policy::parse(value).ok_or_else(|| format!("sp={value:?} is not none, quarantine or reject"))?,
                )
            }
            "pct" => {
                pct = value
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= 100)
                    .ok_or_else(|| format!("pct={value:?} is not 0-100"))?
            }
            "rua" => rua = uris(value),
            "ruf" => ruf = uris(value),
            "adkim" => adkim = Alignment::parse(value).ok_or_else(|| format!("adkim={value:?} is not r or s"))?,
            "aspf" => aspf = Alignment::parse(value).ok_or_else(|| format!("aspf={value:?} is not r or s"))?,
            "fo" => {
                let ok = value.split(':').all(|o| matches!(o.trim(), "0" | "1" | "d" | "s"));
                if !ok {
                    return Err(format!("fo={value:?} is not a list of 0, 1, d, s"));
                }
                fo = value.to_string();
            }
            "ri" => ri = value.parse::<u32>().map_err(|_| format!("ri={value:?} is not a number of seconds"))?,
            _ => {}
        }
    }
    // RFC 7489 §6.6.3: a record without p but with a valid rua is treated as p=none.
    let policy = match policy {
        Some(p) => p,
        None if !rua.is_empty() => Policy::None,
        None => return Err("no p tag".into()),
    };
    Ok(DmarcRecord { policy, subdomain_policy, pct, rua, ruf, adkim, aspf, fo, ri })
}

/// What the DMARC lookup of one domain came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcResult {
    /// The outcome.
    pub status: PolicyStatus,
    /// Every `v=DMARC1` record found, as published.
    pub records: Vec<String>,
    /// The parsed record, when there is exactly one and it parses.
    pub record: Option<DmarcRecord>,
    /// What was wrong (syntax error) or the lookup failure.
    pub detail: Option<String>,
    /// Where the record applying to the domain was found.
    pub source: Option<Source>,
    /// The domain's organisational domain.
    pub org_domain: Option<String>,
    /// Whether the external report destinations agreed to receive reports.
    pub external: ExternalReports,
}

impl DmarcResult {
    /// The result of a domain that was not looked up (excluded).
    pub fn not_queried() -> Self {
        Self {
            status: PolicyStatus::NotQueried,
            records: Vec::new(),
            record: None,
            detail: None,
            source: None,
            org_domain: None,
            external: ExternalReports::default(),
        }
    }

    /// The policy that applies to mail from the domain itself: `p` of its own record, `sp` (or `p`)
    /// of its organisational domain's record.
    pub fn effective_policy(&self) -> Option<Policy> {
        let r = self.record.as_ref()?;
        match self.source {
            Some(Source::OrganizationalDomain) => Some(r.subdomain_policy.unwrap_or(r.policy)),
            _ => Some(r.policy),
        }
    }
}

crate::labels! {
    /// Where the applying DMARC record was published.
    pub enum Source {
        /// At `_dmarc.<domain>`.
        Domain => "domain",
        /// At `_dmarc.<organisational domain>`, because the domain has none (RFC 7489 §6.6.3).
        OrganizationalDomain => "organizational_domain",
    }
}

/// The report-authorisation check of RFC 7489 §7.1 for one record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalReports {
    /// Report destination domains outside the policy domain's organisational domain.
    pub destinations: Vec<String>,
    /// Of those, the ones that publish no authorisation record.
    pub unauthorized: Vec<String>,
    /// Of those, the ones whose authorisation lookup failed (unknown).
    pub unknown: Vec<String>,
}

impl ExternalReports {
    /// `all`, `some`, `none` of the external destinations authorised, `n_a` when there is none,
    /// `unknown` when a lookup failed and no destination is known to be unauthorised.
    pub fn as_label(&self) -> &'static str {
        let n = self.destinations.len();
        if n == 0 {
            "n_a"
        } else if !self.unknown.is_empty() && self.unauthorized.is_empty() {
            "unknown"
        } else if self.unauthorized.is_empty() {
            "all"
        } else if self.unauthorized.len() + self.unknown.len() == n {
            "none"
        } else {
            "some"
        }
    }
}

/// Most external report destinations whose authorisation is looked up per domain (checked concurrently;
/// the rest count as unknown): a record listing hundreds would otherwise cost hundreds of lookups.
pub const MAX_REPORT_CHECKS: usize = 10;

/// Classifies the domain's own record, falls back to the organisational domain's, and checks the
/// external report destinations; `own` is the TXT lookup at `_dmarc.<domain>`.
pub async fn evaluate(dns: &impl TxtLookup, domain: &str, own: &DnsOutcome<Vec<String>>) -> DmarcResult {
    let org = organizational_domain(domain);
    let mut result = from_txt(own);
    result.org_domain = Some(org.clone());
    let mut policy_domain = domain.to_string();
    if result.status == PolicyStatus::None && org != domain {
        let fallback = from_txt(&dns.txt(&format!("_dmarc.{org}")).await);
        if fallback.status != PolicyStatus::None {
            result = DmarcResult { org_domain: Some(org.clone()), ..fallback };
            result.source = Some(Source::OrganizationalDomain);
            policy_domain = org.clone();
        }
    } else if result.status != PolicyStatus::None {
        result.source = Some(Source::Domain);
    }
    if let Some(record) = &result.record {
        let external: Vec<String> =
            record.report_domains().into_iter().filter(|d| organizational_domain(d) != org).collect();
        // At most MAX_REPORT_CHECKS destinations are asked, all at once; the rest are unknown.
        let checks = external.iter().take(MAX_REPORT_CHECKS).map(|dest| {
            let name = format!("{policy_domain}._report._dmarc.{dest}");
            async move { (dest.clone(), dns.txt(&name).await) }
        });
        for (dest, auth) in futures::future::join_all(checks).await {
            match &auth {
                DnsOutcome::Found(t) if t.iter().any(|t| is_dmarc(t)) => {}
                DnsOutcome::Failed(_) => result.external.unknown.push(dest.clone()),
                _ => result.external.unauthorized.push(dest.clone()),
            }
            result.external.destinations.push(dest);
        }
        for dest in external.into_iter().skip(MAX_REPORT_CHECKS) {
            result.external.unknown.push(dest.clone());
            result.external.destinations.push(dest);
        }
    }
    result
}

/// Classifies the TXT lookup at `_dmarc.<domain>` as its DMARC result.
pub fn from_txt(txt: &DnsOutcome<Vec<String>>) -> DmarcResult {
    let (mut status, records) = select_records(txt, is_dmarc);
    let mut detail = txt.failure().map(|f| f.to_string());
    let mut record = None;
    if status == PolicyStatus::Valid {
        match parse(&records[0]) {
            Ok(r) => record = Some(r),
            Err(e) => {
                status = PolicyStatus::SyntaxError;
                detail = Some(e);
            }
        }
    }
    DmarcResult {
        status,
        records,
        record,
        detail,
        source: None,
        org_domain: None,
        external: ExternalReports::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::TxtLookup;
    use crate::dns::{DnsFailure, DnsFailureKind};
    use proptest::prelude::*;

    #[test]
    fn parse_table() {
        // The first three are RFC 7489 appendix B examples.
        let r = parse("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com").unwrap();
        assert_eq!((r.policy, r.pct, r.rua.len()), (Policy::None, 100, 1));
        let r = parse("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com; pct=100").unwrap();
        assert_eq!(r.policy, Policy::Quarantine);
        let r =
            parse("v=DMARC1; p=quarantine; rua=mailto:a@example.com,mailto:b@example.net; pct=20; sp=reject").unwrap();
        assert_eq!((r.pct, r.subdomain_policy, r.rua.len()), (20, Some(Policy::Reject), 2));
        let r = parse("v = DMARC1 ; P = Reject ;").unwrap();
        assert_eq!(r.policy, Policy::Reject);
        let r = parse("v=DMARC1; rua=mailto:x@example.com").unwrap();
        assert_eq!(r.policy, Policy::None);
        for bad in [
            "v=DMARC1",
            "v=DMARC1; p=block",
            "v=DMARC1; p=none; pct=101",
            "v=DMARC2; p=none",
            "p=none; v=DMARC1",
            "v=DMARC1; p",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn from_txt_multiple_and_malformed() {
        let found = |v: &[&str]| DnsOutcome::Found(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(from_txt(&found(&["v=DMARC1; p=reject", "v=DMARC1; p=none"])).status, PolicyStatus::MultipleRecords);
        assert_eq!(from_txt(&found(&["v=DMARC1; p=maybe"])).status, PolicyStatus::SyntaxError);
        assert_eq!(from_txt(&found(&["v=spf1 -all"])).status, PolicyStatus::None);
        let ok = from_txt(&found(&["v=DMARC1; p=reject"]));
        assert_eq!((ok.status, ok.record.map(|r| r.policy)), (PolicyStatus::Valid, Some(Policy::Reject)));
    }

    #[test]
    fn all_tags() {
        let r = parse("v=DMARC1; p=reject; sp=none; adkim=s; aspf=r; fo=0:d:s; ri=3600; ruf=mailto:f@example.net!10m; rua=mailto:a@Example.ORG").unwrap();
        assert_eq!((r.adkim, r.aspf, r.fo.as_str(), r.ri), (Alignment::Strict, Alignment::Relaxed, "0:d:s", 3600));
        assert_eq!(r.report_domains(), vec!["example.org".to_string(), "example.net".to_string()]);
        let d = parse("v=DMARC1; p=none").unwrap();
        assert_eq!(
            (d.adkim, d.aspf, d.fo.as_str(), d.ri, d.pct),
            (Alignment::Relaxed, Alignment::Relaxed, "0", 86_400, 100)
        );
        for bad in ["v=DMARC1; p=none; adkim=x", "v=DMARC1; p=none; fo=2", "v=DMARC1; p=none; ri=soon"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mailto_and_org_domain_table() {
        for (uri, want) in [
            ("mailto:dmarc@example.com", Some("example.com")),
            ("MAILTO:d@Sub.Example.COM!50m", Some("sub.example.com")),
            ("https://example.com/report", None),
            ("mailto:nobody", None),
        ] {
            assert_eq!(mailto_domain(uri).as_deref(), want, "{uri}");
        }
        for (domain, org) in [
            ("mail.example.com", "example.com"),
            ("example.com", "example.com"),
            ("a.b.example.co.uk", "example.co.uk"),
            ("docomo.ne.jp", "docomo.ne.jp"),
            ("x.ezweb.ne.jp", "ezweb.ne.jp"),
            ("co.uk", "co.uk"),
        ] {
            assert_eq!(organizational_domain(domain), org, "{domain}");
        }
    }

    struct Txt(std::collections::HashMap<&'static str, DnsOutcome<Vec<String>>>);

    impl TxtLookup for Txt {
        async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
            self.0.get(name).cloned().unwrap_or(DnsOutcome::NxDomain)
        }
    }

    #[test]
    fn evaluate_fallback_and_report_authorisation() {
        let found = |t: &str| DnsOutcome::Found(vec![t.to_string()]);
        let dns = Txt(
            [
                ("_dmarc.example.com", found("v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com,mailto:x@vendor.example,mailto:y@other.example")),
                ("example.com._report._dmarc.vendor.example", found("v=DMARC1")),
                ("_dmarc.lone.example", found("v=DMARC1; p=none; rua=mailto:r@slow.example")),
                ("lone.example._report._dmarc.slow.example", DnsOutcome::Failed(DnsFailure { kind: DnsFailureKind::Timeout, detail: "t".into() })),
            ]
            .into_iter()
            .collect(),
        );
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let run = |domain: &str| {
            rt.block_on(async { evaluate(&dns, domain, &dns.txt(&format!("_dmarc.{domain}")).await).await })
        };

        let own = run("example.com");
        assert_eq!((own.source, own.effective_policy()), (Some(Source::Domain), Some(Policy::Reject)));
        assert_eq!(own.external.destinations, vec!["vendor.example".to_string(), "other.example".to_string()]);
        assert_eq!(
            (own.external.unauthorized.clone(), own.external.as_label()),
            (vec!["other.example".to_string()], "some")
        );

        let sub = run("mail.example.com");
        assert_eq!(sub.source, Some(Source::OrganizationalDomain));
        assert_eq!((sub.status, sub.effective_policy()), (PolicyStatus::Valid, Some(Policy::Quarantine)));
        assert_eq!(sub.org_domain.as_deref(), Some("example.com"));

        let none = run("nothing.example");
        assert_eq!((none.status, none.source, none.external.as_label()), (PolicyStatus::None, None, "n_a"));

        let unknown = run("lone.example");
        assert_eq!(unknown.external.as_label(), "unknown");
    }

    proptest! {
        #[test]
        fn mailto_never_panics(s in "\\PC{0,60}") {
            let _ = mailto_domain(&s);
            let _ = mailto_domain(&format!("mailto:{s}"));
        }

        #[test]
        fn never_panics(s in "\\PC{0,120}") {
            let _ = parse(&s);
            let _ = parse(&format!("v=DMARC1; {s}"));
        }
    }
}
