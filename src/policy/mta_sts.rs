//! MTA-STS (RFC 8461): the `v=STSv1; id=...` record at `_mta-sts.<domain>`, the policy file served at
//! `https://mta-sts.<domain>/.well-known/mta-sts.txt`, and the check that every MX host matches a
//! policy pattern. [`evaluate`] takes the fetch as a function (the scan resolves the policy host and
//! fetches it through the probe runner), and owns the rules: the media type, the parse, the match.

use std::future::Future;

use super::{FetchOutcome, Fetched, PolicyStatus, select_records};
use crate::dns::{DnsOutcome, OutcomeKind};

/// Largest policy file read, in bytes (RFC 8461 §3.3 suggests 64 KiB as a sane limit).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// Largest `max_age` allowed (RFC 8461 §3.2: 31557600 seconds, about a year).
pub const MAX_MAX_AGE: u32 = 31_557_600;

/// Is this TXT record an MTA-STS record (`v=STSv1` first)?
pub fn is_sts(txt: &str) -> bool {
    let first = txt.split(';').next().unwrap_or("");
    first.split_once('=').is_some_and(|(k, v)| k.trim() == "v" && v.trim() == "STSv1")
}

/// Parses the TXT record into its `id`.
pub fn parse_txt(record: &str) -> Result<String, String> {
    if !is_sts(record) {
        return Err("does not start with v=STSv1".into());
    }
    let mut id = None;
    for part in record.split(';').skip(1).map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("field {part:?} has no value"));
        };
        if k.trim() == "id" {
            let v = v.trim();
            if v.is_empty() || v.len() > 32 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("id {v:?} is not 1-32 letters and digits"));
            }
            id = Some(v.to_string());
        }
    }
    id.ok_or_else(|| "no id".into())
}

/// The TXT record's outcome and id.
pub fn from_txt(txt: &DnsOutcome<Vec<String>>) -> (PolicyStatus, Option<String>, Option<String>) {
    let (mut status, records) = select_records(txt, is_sts);
    let mut detail = txt.failure().map(|f| f.to_string());
    let mut id = None;
    if status == PolicyStatus::Valid {
        match parse_txt(&records[0]) {
            Ok(i) => id = Some(i),
            Err(e) => {
                status = PolicyStatus::SyntaxError;
                detail = Some(e);
            }
        }
    }
    (status, id, detail)
}

crate::labels! {
    /// The policy mode.
    pub enum Mode {
        /// Senders must not deliver without a valid, matching certificate.
        Enforce => "enforce",
        /// Senders report failures but deliver anyway.
        Testing => "testing",
        /// The policy is withdrawn.
        None => "none",
    }
}

/// A parsed policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsPolicy {
    /// `mode`.
    pub mode: Mode,
    /// `max_age` in seconds.
    pub max_age: u32,
    /// `mx` patterns, lowercase, as published (`mail.example.com`, `*.example.net`).
    pub mx: Vec<String>,
}

/// Parses a policy file (RFC 8461 §3.2): `key: value` lines separated by CRLF or LF.
pub fn parse_policy(body: &str) -> Result<StsPolicy, String> {
    let (mut version, mut mode, mut max_age) = (None, None, None);
    let mut mx = Vec::new();
    for line in body.split('\n').map(|l| l.trim_end_matches('\r')) {
        if line.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            return Err(format!("line {line:?} is not key: value"));
        };
        let v = v.trim();
        match k.trim() {
            "version" => version = Some(v.to_string()),
            "mode" => {
                mode = Some(match v {
                    "enforce" => Mode::Enforce,
                    "testing" => Mode::Testing,
                    "none" => Mode::None,
                    _ => return Err(format!("mode {v:?} is not enforce, testing or none")),
                })
            }
            "max_age" => {
                max_age = Some(
                    v.parse::<u32>()
                        .ok()
                        .filter(|a| *a <= MAX_MAX_AGE)
                        .ok_or_else(|| format!("max_age {v:?} is not 0-{MAX_MAX_AGE}"))?,
                )
            }
            "mx" => {
                let p = v.to_ascii_lowercase();
                let host = p.strip_prefix("*.").unwrap_or(&p);
                if host.is_empty() || host.contains('*') || host.contains(char::is_whitespace) {
                    return Err(format!("mx {v:?} is not a host name or *.pattern"));
                }
                mx.push(p);
            }
            _ => {}
        }
    }
    if version.as_deref() != Some("STSv1") {
        return Err("version is not STSv1".into());
    }
    let mode = mode.ok_or("no mode")?;
    let max_age = max_age.ok_or("no max_age")?;
    if mx.is_empty() && mode != Mode::None {
        return Err("no mx pattern".into());
    }
    Ok(StsPolicy { mode, max_age, mx })
}

/// Does MX host `host` match policy pattern `pattern` (RFC 8461 §4.1: a `*.` wildcard stands for
/// exactly one leftmost label)?
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.split_once('.').is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => host == pattern,
    }
}

/// The host serving a domain's policy.
pub fn policy_host(domain: &str) -> String {
    format!("mta-sts.{domain}")
}

/// The path of the policy file.
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// MTA-STS for one domain: the TXT record at `_mta-sts.<domain>` (`txt`), and when it is valid, the
/// policy file `fetch` gets from [`policy_host`]: a 200 answer of media type `text/plain` that parses.
pub async fn evaluate<F: Future<Output = Fetched>>(
    txt: &DnsOutcome<Vec<String>>,
    fetch: impl FnOnce() -> F,
) -> MtaStsResult {
    let (status, id, detail) = from_txt(txt);
    let mut result = MtaStsResult {
        txt_outcome: txt.kind(),
        status,
        id,
        fetch: FetchOutcome::NotFetched,
        http_status: None,
        detail,
        policy: None,
    };
    if status != PolicyStatus::Valid {
        return result;
    }
    let response = match fetch().await {
        Ok(r) => r,
        Err((outcome, detail)) => {
            result.fetch = outcome;
            result.detail = Some(detail);
            return result;
        }
    };
    result.http_status = Some(response.status);
    let media =
        response.content_type.as_deref().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let parsed = if response.status != 200 {
        Err((FetchOutcome::HttpStatus, format!("HTTP {}", response.status)))
    } else if media != "text/plain" {
        Err((FetchOutcome::WrongContentType, format!("Content-Type {:?}", response.content_type)))
    } else {
        std::str::from_utf8(&response.body)
            .map_err(|e| e.to_string())
            .and_then(parse_policy)
            .map_err(|e| (FetchOutcome::SyntaxError, e))
    };
    match parsed {
        Ok(policy) => {
            result.fetch = FetchOutcome::Ok;
            result.policy = Some(policy);
        }
        Err((outcome, detail)) => {
            result.fetch = outcome;
            result.detail = Some(detail);
        }
    }
    result
}

/// What MTA-STS came to for one domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtaStsResult {
    /// The TXT lookup at `_mta-sts.<domain>`.
    pub txt_outcome: OutcomeKind,
    /// The TXT record's status.
    pub status: PolicyStatus,
    /// The TXT record's `id`.
    pub id: Option<String>,
    /// How the policy fetch went.
    pub fetch: FetchOutcome,
    /// The HTTP status, when an answer came.
    pub http_status: Option<u16>,
    /// Why the TXT record or the fetch failed.
    pub detail: Option<String>,
    /// The policy, when fetched and parsed.
    pub policy: Option<StsPolicy>,
}

impl MtaStsResult {
    /// The result of a domain that was not looked up.
    pub fn not_queried() -> Self {
        Self {
            txt_outcome: OutcomeKind::NotQueried,
            status: PolicyStatus::NotQueried,
            id: None,
            fetch: FetchOutcome::NotFetched,
            http_status: None,
            detail: None,
            policy: None,
        }
    }

    /// Share of the domain's MX hosts matching a pattern of the policy (`None` without a policy).
    pub fn mx_match(&self, hosts: &[&str]) -> Option<(usize, usize)> {
        let p = self.policy.as_ref()?;
        Some((hosts.len(), hosts.iter().filter(|h| p.mx.iter().any(|pat| mx_matches(pat, h))).count()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn txt_table() {
        // RFC 8461 §3.1 example.
        assert_eq!(parse_txt("v=STSv1; id=20160831085700Z;").unwrap(), "20160831085700Z");
        assert_eq!(parse_txt("v=STSv1;id=abc").unwrap(), "abc");
        for bad in [
            "v=STSv1;",
            "v=STSv1; id=",
            "v=STSv1; id=has-dash",
            "v=STSv2; id=1",
            "id=1; v=STSv1",
            "v=STSv1; id=123456789012345678901234567890123",
        ] {
            assert!(parse_txt(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn policy_table() {
        // RFC 8461 §3.2 example.
        let p = parse_policy("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n").unwrap();
        assert_eq!((p.mode, p.max_age, p.mx.len()), (Mode::Enforce, 604_800, 3));
        let p = parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n").unwrap();
        assert_eq!((p.mode, p.mx.len()), (Mode::None, 0));
        let p = parse_policy("version: STSv1\nmode: testing\nmx: MX.Example.COM\nmax_age: 0\nextension: x\n").unwrap();
        assert_eq!(p.mx, vec!["mx.example.com".to_string()]);
        for bad in [
            "mode: enforce\nmx: a\nmax_age: 1",
            "version: STSv1\nmode: enforcing\nmx: a\nmax_age: 1",
            "version: STSv1\nmode: enforce\nmax_age: 1",
            "version: STSv1\nmode: enforce\nmx: a\nmax_age: 31557601",
            "version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 1",
            "version: STSv1\nmode: enforce\nmx: a\n",
            "<html>not found</html>",
        ] {
            assert!(parse_policy(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mx_match_table() {
        // RFC 8461 §4.1: "*.example.com" matches "mail.example.com" but not "example.com" or "a.b.example.com".
        let cases = [
            ("mail.example.com", "mail.example.com", true),
            ("mail.example.com", "MAIL.example.com.", true),
            ("*.example.com", "mail.example.com", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", "a.b.example.com", false),
            ("mail.example.com", "mx.example.com", false),
        ];
        for (pattern, host, want) in cases {
            assert_eq!(mx_matches(pattern, host), want, "{pattern} {host}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse_txt(&s);
            let _ = parse_policy(&s);
            let _ = parse_policy(&format!("version: STSv1\nmode: enforce\n{s}"));
            let _ = mx_matches(&s, "a.example");
            let _ = mx_matches("*.example", &s);
        }

        #[test]
        fn policy_round_trips(mode in "(enforce|testing)", age in 0u32..=MAX_MAX_AGE, mx in proptest::collection::vec("(\\*\\.)?[a-z]{1,8}\\.example", 1..4)) {
            let text = format!("version: STSv1\r\nmode: {mode}\r\n{}max_age: {age}\r\n", mx.iter().map(|m| format!("mx: {m}\r\n")).collect::<String>());
            let p = parse_policy(&text).unwrap();
            prop_assert_eq!(p.mode.as_label(), mode.as_str());
            prop_assert_eq!((p.max_age, p.mx), (age, mx));
        }
    }
}
