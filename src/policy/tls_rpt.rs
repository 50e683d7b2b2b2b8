//! SMTP TLS Reporting (RFC 8460): the `v=TLSRPTv1; rua=...` record at `_smtp._tls.<domain>`, which
//! tells senders where to report TLS failures (the other half of MTA-STS and DANE).

use super::{PolicyStatus, select_records};
use crate::dns::DnsOutcome;

/// Is this TXT record a TLS-RPT record (`v=TLSRPTv1` first)?
pub fn is_tls_rpt(txt: &str) -> bool {
    let first = txt.split(';').next().unwrap_or("");
    first.split_once('=').is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("v") && v.trim() == "TLSRPTv1")
}

/// Parses a TLS-RPT record into its report destinations (`mailto:` or `https:` URIs).
pub fn parse(record: &str) -> Result<Vec<String>, String> {
    if !is_tls_rpt(record) {
        return Err("does not start with v=TLSRPTv1".into());
    }
    let mut rua = None;
    for part in record.split(';').skip(1).map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("field {part:?} has no value"));
        };
        if k.trim().eq_ignore_ascii_case("rua") {
            let uris: Vec<String> = v.split(',').map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect();
            if let Some(bad) = uris.iter().find(|u| {
                let l = u.to_ascii_lowercase();
                !(l.starts_with("mailto:") || l.starts_with("https://"))
            }) {
                return Err(format!("rua {bad:?} is neither mailto: nor https:"));
            }
            rua = Some(uris);
        }
    }
    match rua {
        Some(u) if !u.is_empty() => Ok(u),
        _ => Err("no rua".into()),
    }
}

/// What the TLS-RPT lookup of one domain came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsRptResult {
    /// The outcome.
    pub status: PolicyStatus,
    /// The report destinations of a valid record.
    pub rua: Vec<String>,
    /// What was wrong, or the lookup failure.
    pub detail: Option<String>,
}

impl TlsRptResult {
    /// The result of a domain that was not looked up.
    pub fn not_queried() -> Self {
        Self { status: PolicyStatus::NotQueried, rua: Vec::new(), detail: None }
    }
}

/// Classifies the TXT lookup at `_smtp._tls.<domain>`.
pub fn from_txt(txt: &DnsOutcome<Vec<String>>) -> TlsRptResult {
    let (mut status, records) = select_records(txt, is_tls_rpt);
    let mut detail = txt.failure().map(|f| f.to_string());
    let mut rua = Vec::new();
    if status == PolicyStatus::Valid {
        match parse(&records[0]) {
            Ok(u) => rua = u,
            Err(e) => {
                status = PolicyStatus::SyntaxError;
                detail = Some(e);
            }
        }
    }
    TlsRptResult { status, rua, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_table() {
        // RFC 8460 §3 examples.
        assert_eq!(parse("v=TLSRPTv1;rua=mailto:reports@example.com").unwrap(), vec!["mailto:reports@example.com"]);
        assert_eq!(parse("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt").unwrap().len(), 1);
        assert_eq!(parse("v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.net/x;").unwrap().len(), 2);
        for bad in [
            "v=TLSRPTv1",
            "v=TLSRPTv1; rua=ftp://x",
            "v=TLSRPTv2; rua=mailto:a@b",
            "rua=mailto:a@b",
            "v=TLSRPTv1; rua=",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn from_txt_table() {
        let found = |v: &[&str]| DnsOutcome::Found(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(from_txt(&found(&["v=TLSRPTv1; rua=mailto:a@b.example"])).status, PolicyStatus::Valid);
        assert_eq!(from_txt(&found(&["v=TLSRPTv1; rua=x"])).status, PolicyStatus::SyntaxError);
        assert_eq!(
            from_txt(&found(&["v=TLSRPTv1; rua=mailto:a@b", "v=TLSRPTv1; rua=mailto:c@d"])).status,
            PolicyStatus::MultipleRecords
        );
        assert_eq!(from_txt(&DnsOutcome::NxDomain).status, PolicyStatus::None);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,120}") {
            let _ = parse(&s);
            let _ = parse(&format!("v=TLSRPTv1; {s}"));
        }
    }
}
