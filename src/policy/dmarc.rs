//! DMARC records (RFC 7489): the `v=DMARC1` record at `_dmarc.<domain>` and its main tags
//! (`p`, `sp`, `pct`, `rua`). Unknown tags are ignored, as the RFC asks.

use super::{PolicyStatus, select_records};
use crate::dns::DnsOutcome;

/// A DMARC policy (RFC 7489 §6.3, tags `p` and `sp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Monitor only.
    None,
    /// Treat failing mail as suspicious.
    Quarantine,
    /// Reject failing mail.
    Reject,
}

impl Policy {
    /// The snake_case label used in output columns.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Quarantine => "quarantine",
            Self::Reject => "reject",
        }
    }

    fn parse(v: &str) -> Option<Self> {
        match v.to_ascii_lowercase().as_str() {
            "none" => Some(Self::None),
            "quarantine" => Some(Self::Quarantine),
            "reject" => Some(Self::Reject),
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
    /// `rua`: aggregate report destinations.
    pub rua: Vec<String>,
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
            "rua" => rua = value.split(',').map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect(),
            _ => {}
        }
    }
    // RFC 7489 §6.6.3: a record without p but with a valid rua is treated as p=none.
    let policy = match policy {
        Some(p) => p,
        None if !rua.is_empty() => Policy::None,
        None => return Err("no p tag".into()),
    };
    Ok(DmarcRecord { policy, subdomain_policy, pct, rua })
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
    DmarcResult { status, records, record, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,120}") {
            let _ = parse(&s);
            let _ = parse(&format!("v=DMARC1; {s}"));
        }
    }
}
