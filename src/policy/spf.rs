//! SPF records (RFC 7208): finding the one `v=spf1` record among a domain's TXT records and checking
//! its syntax. Evaluation (following `include`/`redirect`, lookup limits) is not done here.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{PolicyStatus, select_records};
use crate::dns::DnsOutcome;

/// The qualifier of a mechanism (RFC 7208 §4.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Qualifier {
    /// `+` (the default): pass.
    Pass,
    /// `-`: fail.
    Fail,
    /// `~`: softfail.
    SoftFail,
    /// `?`: neutral.
    Neutral,
}

impl Qualifier {
    /// The snake_case label used in output columns.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::SoftFail => "softfail",
            Self::Neutral => "neutral",
        }
    }

    fn sign(self) -> char {
        match self {
            Self::Pass => '+',
            Self::Fail => '-',
            Self::SoftFail => '~',
            Self::Neutral => '?',
        }
    }
}

/// One term of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// A mechanism such as `ip4:192.0.2.0/24` or `-all`, its name lowercased.
    Mechanism {
        /// Its qualifier.
        qualifier: Qualifier,
        /// `all`, `include`, `a`, `mx`, `ptr`, `ip4`, `ip6` or `exists`.
        name: String,
        /// What follows the `:` or `/`, kept as text (macros included).
        value: Option<String>,
    },
    /// A modifier such as `redirect=_spf.example.com`, its name lowercased.
    Modifier {
        /// The modifier name.
        name: String,
        /// Its value, kept as text.
        value: String,
    },
}

/// A parsed `v=spf1` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfRecord {
    /// Its terms, in order.
    pub terms: Vec<Term>,
}

impl SpfRecord {
    /// The qualifier of the `all` mechanism, if the record has one.
    pub fn all_qualifier(&self) -> Option<Qualifier> {
        self.terms.iter().find_map(|t| match t {
            Term::Mechanism { qualifier, name, .. } if name == "all" => Some(*qualifier),
            _ => None,
        })
    }

    /// Writes the record back in canonical form (explicit qualifiers only where not `+`).
    pub fn render(&self) -> String {
        let mut out = String::from("v=spf1");
        for t in &self.terms {
            out.push(' ');
            match t {
                Term::Mechanism { qualifier, name, value } => {
                    if *qualifier != Qualifier::Pass {
                        out.push(qualifier.sign());
                    }
                    out.push_str(name);
                    if let Some(v) = value {
                        if !v.starts_with('/') {
                            out.push(':');
                        }
                        out.push_str(v);
                    }
                }
                Term::Modifier { name, value } => {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(value);
                }
            }
        }
        out
    }
}

/// Is this TXT record an SPF record (`v=spf1` followed by a space or nothing)?
pub fn is_spf(txt: &str) -> bool {
    let t = txt.as_bytes();
    t.len() >= 6 && t[..6].eq_ignore_ascii_case(b"v=spf1") && (t.len() == 6 || t[6] == b' ')
}

/// Parses one SPF record, or says what is wrong with it.
pub fn parse(record: &str) -> Result<SpfRecord, String> {
    if !is_spf(record) {
        return Err("does not start with v=spf1".into());
    }
    let mut terms = Vec::new();
    for raw in record[6..].split(' ').filter(|t| !t.is_empty()) {
        terms.push(parse_term(raw)?);
    }
    Ok(SpfRecord { terms })
}

fn parse_term(raw: &str) -> Result<Term, String> {
    let bad = |why: &str| Err(format!("term {raw:?}: {why}"));
    // A modifier is name=value where name is alpha *( alpha / digit / - / _ / . ).
    if let Some((name, value)) = raw.split_once('=') {
        let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if valid_name && !name.contains(':') && !name.contains('/') {
            return Ok(Term::Modifier { name: name.to_ascii_lowercase(), value: value.to_string() });
        }
    }
    let (qualifier, rest) = match raw.chars().next() {
        Some('+') => (Qualifier::Pass, &raw[1..]),
        Some('-') => (Qualifier::Fail, &raw[1..]),
        Some('~') => (Qualifier::SoftFail, &raw[1..]),
        Some('?') => (Qualifier::Neutral, &raw[1..]),
        _ => (Qualifier::Pass, raw),
    };
    let split = rest.find([':', '/']).unwrap_or(rest.len());
    let name = rest[..split].to_ascii_lowercase();
    let after = &rest[split..];
    let value = after.strip_prefix(':').map(str::to_string).or_else(|| (!after.is_empty()).then(|| after.to_string()));
    match name.as_str() {
        "all" if value.is_none() => {}
        "all" => return bad("all takes no argument"),
        "include" | "exists" => match &value {
            Some(v) if !v.is_empty() && !v.starts_with('/') => {}
            _ => return bad("needs a domain"),
        },
        "a" | "mx" | "ptr" => {}
        "ip4" => {
            let v = value.as_deref().unwrap_or("");
            let (ip, cidr) = v.split_once('/').map_or((v, None), |(a, c)| (a, Some(c)));
            if ip.parse::<Ipv4Addr>().is_err() || cidr.is_some_and(|c| !c.parse::<u8>().is_ok_and(|n| n <= 32)) {
                return bad("not an IPv4 network");
            }
        }
        "ip6" => {
            let v = value.as_deref().unwrap_or("");
            let (ip, cidr) = v.split_once('/').map_or((v, None), |(a, c)| (a, Some(c)));
            if ip.parse::<Ipv6Addr>().is_err() || cidr.is_some_and(|c| !c.parse::<u8>().is_ok_and(|n| n <= 128)) {
                return bad("not an IPv6 network");
            }
        }
        _ => return bad("unknown mechanism"),
    }
    Ok(Term::Mechanism { qualifier, name, value })
}

/// What the SPF lookup of one domain came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfResult {
    /// The outcome.
    pub status: PolicyStatus,
    /// Every `v=spf1` record found, as published.
    pub records: Vec<String>,
    /// The `all` qualifier of a valid record.
    pub all: Option<Qualifier>,
    /// What was wrong (syntax error) or the lookup failure.
    pub detail: Option<String>,
}

/// Classifies the TXT lookup at a domain as its SPF result.
pub fn from_txt(txt: &DnsOutcome<Vec<String>>) -> SpfResult {
    let (mut status, records) = select_records(txt, is_spf);
    let mut all = None;
    let mut detail = txt.failure().map(|f| f.to_string());
    if status == PolicyStatus::Valid {
        match parse(&records[0]) {
            Ok(r) => all = r.all_qualifier(),
            Err(e) => {
                status = PolicyStatus::SyntaxError;
                detail = Some(e);
            }
        }
    }
    SpfResult { status, records, all, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsFailure, DnsFailureKind};
    use proptest::prelude::*;

    #[test]
    fn parse_table() {
        let ok: &[(&str, Option<Qualifier>)] = &[
            ("v=spf1 -all", Some(Qualifier::Fail)),
            ("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.google.com ~all", Some(Qualifier::SoftFail)),
            ("V=SPF1 mx a:mail.example.com/28 ?all", Some(Qualifier::Neutral)),
            ("v=spf1 +all", Some(Qualifier::Pass)),
            ("v=spf1 redirect=_spf.example.com", None),
            ("v=spf1 exists:%{i}._spf.%{d} -all", Some(Qualifier::Fail)),
            ("v=spf1", None),
            ("v=spf1  mx   -all", Some(Qualifier::Fail)),
            ("v=spf1 a/24 mx/24//64 -all", Some(Qualifier::Fail)),
        ];
        for (rec, all) in ok {
            let p = parse(rec).unwrap_or_else(|e| panic!("{rec}: {e}"));
            assert_eq!(p.all_qualifier(), *all, "{rec}");
        }
        for bad in [
            "v=spf1 ip4:999.0.0.1 -all",
            "v=spf1 ip4:192.0.2.0/33",
            "v=spf1 include -all",
            "v=spf1 foo:bar",
            "v=spf1 all:x",
            "v=spf10 -all",
            "spf1 -all",
            "v=spf1 ip6:zz::",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn from_txt_table() {
        let found = |v: &[&str]| DnsOutcome::Found(v.iter().map(|s| s.to_string()).collect());
        let cases: Vec<(DnsOutcome<Vec<String>>, PolicyStatus, usize)> = vec![
            (found(&["v=spf1 -all"]), PolicyStatus::Valid, 1),
            (found(&["google-site-verification=x", "v=spf1 mx ~all"]), PolicyStatus::Valid, 1),
            (found(&["v=spf1 -all", "v=spf1 ~all"]), PolicyStatus::MultipleRecords, 2),
            (found(&["v=spf1 ip4:nonsense -all"]), PolicyStatus::SyntaxError, 1),
            (found(&["hello"]), PolicyStatus::None, 0),
            (DnsOutcome::NoData, PolicyStatus::None, 0),
            (DnsOutcome::NxDomain, PolicyStatus::None, 0),
            (
                DnsOutcome::Failed(DnsFailure { kind: DnsFailureKind::Timeout, detail: "t".into() }),
                PolicyStatus::TempError,
                0,
            ),
        ];
        for (txt, status, n) in cases {
            let r = from_txt(&txt);
            assert_eq!((r.status, r.records.len()), (status, n), "{txt:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,120}") {
            let _ = parse(&s);
            let _ = parse(&format!("v=spf1 {s}"));
        }

        #[test]
        fn render_round_trips(s in "v=spf1( [+~?-]?(all|mx|a|ip4:10\\.0\\.0\\.[0-9]/[0-9]|include:[a-z]{1,8}\\.example)){0,6}") {
            if let Ok(r) = parse(&s) {
                prop_assert_eq!(parse(&r.render()), Ok(r));
            }
        }
    }
}
