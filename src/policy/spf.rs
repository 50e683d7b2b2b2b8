//! SPF records (RFC 7208): finding the one `v=spf1` record among a domain's TXT records, checking its
//! syntax, and evaluating the policy as a whole: following `include` and `redirect` with real lookups,
//! counting DNS-querying terms (limit 10, §4.6.4) and void lookups (limit 2), and measuring how much of
//! the IPv4 space the policy lets send as the domain.
//!
//! The evaluation is of the policy, not of one sender: there is no client IP, so macros are kept as
//! text and the terms that need one (`ptr`, `exists`, anything with a `%{...}` macro) are counted as
//! lookups but not resolved.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;

use super::{PolicyStatus, select_records};
use crate::dns::DnsOutcome;
use crate::dns::SpfDns;

crate::labels! {
    /// The qualifier of a mechanism (RFC 7208 §4.6.2).
    pub enum Qualifier {
        /// `+` (the default): pass.
        Pass => "pass",
        /// `-`: fail.
        Fail => "fail",
        /// `~`: softfail.
        SoftFail => "softfail",
        /// `?`: neutral.
        Neutral => "neutral",
    }
}

impl Qualifier {
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
    /// The outcome of finding and parsing the domain's own record.
    pub status: PolicyStatus,
    /// Every `v=spf1` record found, as published.
    pub records: Vec<String>,
    /// The final `all` qualifier: the record's own, or the `redirect` target's when it has none.
    pub all: Option<Qualifier>,
    /// What was wrong (syntax error, permerror) or the lookup failure.
    pub detail: Option<String>,
    /// The evaluation of the whole policy, includes and redirects followed.
    pub eval: Evaluation,
}

impl SpfResult {
    /// The result of a domain that was not looked up (excluded).
    pub fn not_queried() -> Self {
        Self {
            status: PolicyStatus::NotQueried,
            records: Vec::new(),
            all: None,
            detail: None,
            eval: Evaluation { outcome: SpfOutcome::NotQueried, ..Evaluation::default() },
        }
    }
}

/// The outcome of evaluating a domain's policy (RFC 7208 §2.6 results that do not depend on a sender).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SpfOutcome {
    /// No SPF record.
    #[default]
    None,
    /// The policy evaluates without error.
    Valid,
    /// A permanent error: any receiver evaluating this policy gets `permerror`.
    PermError(PermErrorReason),
    /// A lookup failed: the answer is unknown.
    TempError,
    /// Not looked up (excluded).
    NotQueried,
}

impl SpfOutcome {
    /// The snake_case label used in output columns.
    pub fn as_label(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Valid => "valid",
            Self::PermError(_) => "permerror",
            Self::TempError => "temperror",
            Self::NotQueried => "not_queried",
        }
    }
}

crate::labels! {
    /// Why a policy is a permanent error.
    pub enum PermErrorReason {
        /// More than one `v=spf1` record at a domain of the policy (§4.5).
        MultipleRecords => "multiple_records",
        /// A record of the policy does not parse (§4.6).
        SyntaxError => "syntax_error",
        /// More than 10 DNS-querying terms (§4.6.4).
        TooManyLookups => "too_many_lookups",
        /// More than 2 lookups that returned nothing (§4.6.4).
        TooManyVoidLookups => "too_many_void_lookups",
        /// An `mx` mechanism names more than 10 hosts (§4.6.4).
        TooManyMxNames => "too_many_mx_names",
        /// An `include` names a domain without an SPF record (§5.2).
        IncludeWithoutRecord => "include_without_record",
        /// A `redirect` names a domain without an SPF record (§6.1).
        RedirectWithoutRecord => "redirect_without_record",
    }
}

/// The evaluation of a whole policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// The outcome.
    pub outcome: SpfOutcome,
    /// DNS-querying terms counted (`include`, `a`, `mx`, `ptr`, `exists`, `redirect`), at most 11.
    pub lookups: u32,
    /// Lookups that returned NXDOMAIN or no records.
    pub void_lookups: u32,
    /// IPv4 addresses the policy authorises (`+` terms, overlaps counted once); `None` unless valid.
    pub ipv4_authorized: Option<u64>,
    /// Some term uses a macro or needs the sender's address (`ptr`, `exists`): those terms may
    /// authorise more than `ipv4_authorized` counts.
    pub sender_dependent: bool,
    /// Single hosts the policy authorises (`ip4` /32, `ip6` /128, `a` and `mx` names' IPv4
    /// addresses without a shorter prefix), includes followed, at most [`MAX_SINGLE_HOSTS`]: the
    /// hosts known to send, whose reverse DNS is checked. Empty unless valid.
    pub single_hosts: Vec<IpAddr>,
}

/// Single hosts kept from one policy.
pub const MAX_SINGLE_HOSTS: usize = 16;

/// RFC 7208 §4.6.4 limits.
const MAX_LOOKUPS: u32 = 10;
const MAX_VOID_LOOKUPS: u32 = 2;
const MAX_MX_NAMES: usize = 10;

/// Why a walk stopped early.
enum Stop {
    Perm(PermErrorReason, String),
    Temp(String),
}

struct Walk {
    lookups: u32,
    void_lookups: u32,
    /// Authorised IPv4 ranges, inclusive.
    ranges: Vec<(u32, u32)>,
    sender_dependent: bool,
    /// Authorised single hosts, at most [`MAX_SINGLE_HOSTS`].
    singles: Vec<IpAddr>,
}

impl Walk {
    fn count_lookup(&mut self, term: &str) -> Result<(), Stop> {
        self.lookups += 1;
        if self.lookups > MAX_LOOKUPS {
            return Err(Stop::Perm(
                PermErrorReason::TooManyLookups,
                format!("more than {MAX_LOOKUPS} lookups at {term}"),
            ));
        }
        Ok(())
    }

    fn count_void(&mut self, term: &str) -> Result<(), Stop> {
        self.void_lookups += 1;
        if self.void_lookups > MAX_VOID_LOOKUPS {
            return Err(Stop::Perm(
                PermErrorReason::TooManyVoidLookups,
                format!("more than {MAX_VOID_LOOKUPS} void lookups at {term}"),
            ));
        }
        Ok(())
    }

    fn single(&mut self, ip: IpAddr) {
        if self.singles.len() < MAX_SINGLE_HOSTS && !self.singles.contains(&ip) {
            self.singles.push(ip);
        }
    }

    fn authorize(&mut self, ip: Ipv4Addr, prefix: u8) {
        let prefix = prefix.min(32);
        let base = u32::from(ip);
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        let start = base & mask;
        self.ranges.push((start, start | !mask));
    }

    fn authorized(&mut self) -> u64 {
        self.ranges.sort_unstable();
        let mut total = 0u64;
        let mut current: Option<(u32, u32)> = None;
        for &(s, e) in &self.ranges {
            match current {
                Some((cs, ce)) if u64::from(s) <= u64::from(ce) + 1 => current = Some((cs, ce.max(e))),
                Some((cs, ce)) => {
                    total += u64::from(ce - cs) + 1;
                    current = Some((s, e));
                }
                None => current = Some((s, e)),
            }
        }
        if let Some((cs, ce)) = current {
            total += u64::from(ce - cs) + 1;
        }
        total
    }
}

/// The SPF record at `name`, for an include or a redirect: `Ok(None)` when there is none.
async fn fetch(dns: &impl SpfDns, name: &str) -> Result<Option<SpfRecord>, Stop> {
    let txt = dns.txt(name).await;
    let (status, records) = select_records(&txt, is_spf);
    match status {
        PolicyStatus::Valid => {
            parse(&records[0]).map(Some).map_err(|e| Stop::Perm(PermErrorReason::SyntaxError, format!("{name}: {e}")))
        }
        PolicyStatus::MultipleRecords => {
            Err(Stop::Perm(PermErrorReason::MultipleRecords, format!("{name}: {} records", records.len())))
        }
        PolicyStatus::TempError => {
            Err(Stop::Temp(format!("{name}: {}", txt.failure().map(|f| f.to_string()).unwrap_or_default())))
        }
        _ => Ok(None),
    }
}

/// Splits `domain-spec/cidr` (or `/cidr` alone) of an `a` or `mx` mechanism.
fn target_and_prefix<'v>(value: Option<&'v str>, domain: &'v str) -> (&'v str, u8) {
    let v = value.unwrap_or("");
    let (target, cidr) = v.split_once('/').map_or((v, None), |(t, c)| (t, Some(c)));
    let prefix = cidr.and_then(|c| c.parse::<u8>().ok()).filter(|p| *p <= 32).unwrap_or(32);
    (if target.is_empty() { domain } else { target }, prefix)
}

type WalkFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<Qualifier>, Stop>> + Send + 'a>>;

/// Walks one record of the policy; returns the effective `all` qualifier (its own or its redirect's).
fn walk<'a, D: SpfDns>(dns: &'a D, domain: String, record: SpfRecord, w: &'a mut Walk) -> WalkFuture<'a> {
    Box::pin(async move {
        let mut redirect = None;
        for term in &record.terms {
            match term {
                Term::Modifier { name, value } if name == "redirect" => redirect = Some(value.clone()),
                Term::Modifier { .. } => {}
                Term::Mechanism { qualifier, name, value } => {
                    let pass = *qualifier == Qualifier::Pass;
                    let text = value.as_deref().unwrap_or("");
                    match name.as_str() {
                        "all" if pass => w.authorize(Ipv4Addr::UNSPECIFIED, 0),
                        "ip4" if pass => {
                            let (ip, cidr) = text.split_once('/').map_or((text, None), |(a, c)| (a, Some(c)));
                            if let Ok(ip) = ip.parse::<Ipv4Addr>() {
                                let prefix = cidr.and_then(|c| c.parse().ok()).unwrap_or(32);
                                w.authorize(ip, prefix);
                                if prefix == 32 {
                                    w.single(IpAddr::V4(ip));
                                }
                            }
                        }
                        "ip6" if pass => {
                            let (ip, cidr) = text.split_once('/').map_or((text, None), |(a, c)| (a, Some(c)));
                            if let (Ok(ip), None | Some("128")) = (ip.parse::<Ipv6Addr>(), cidr) {
                                w.single(IpAddr::V6(ip));
                            }
                        }
                        "all" | "ip4" | "ip6" => {}
                        "ptr" | "exists" => {
                            w.count_lookup(name)?;
                            w.sender_dependent = true;
                        }
                        "include" => {
                            w.count_lookup(&format!("include:{text}"))?;
                            if text.contains('%') {
                                w.sender_dependent = true;
                                continue;
                            }
                            let Some(inner) = fetch(dns, text).await? else {
                                w.count_void(&format!("include:{text}")).ok();
                                return Err(Stop::Perm(
                                    PermErrorReason::IncludeWithoutRecord,
                                    format!("include:{text} has no SPF record"),
                                ));
                            };
                            // Only a pass-qualified include authorises what its target passes.
                            let mut sub = Walk {
                                lookups: w.lookups,
                                void_lookups: w.void_lookups,
                                ranges: Vec::new(),
                                sender_dependent: false,
                                singles: Vec::new(),
                            };
                            let walked = walk(dns, text.to_string(), inner, &mut sub).await;
                            w.lookups = sub.lookups;
                            w.void_lookups = sub.void_lookups;
                            w.sender_dependent |= sub.sender_dependent;
                            walked?;
                            if pass {
                                w.ranges.extend(sub.ranges);
                                sub.singles.into_iter().for_each(|ip| w.single(ip));
                            }
                        }
                        "a" | "mx" => {
                            let (target, prefix) = target_and_prefix(value.as_deref(), &domain);
                            w.count_lookup(name)?;
                            if target.contains('%') {
                                w.sender_dependent = true;
                                continue;
                            }
                            let hosts = if name == "a" {
                                vec![target.to_string()]
                            } else {
                                match dns.mx_hosts(target).await {
                                    DnsOutcome::Found(h) => {
                                        let h: Vec<String> = h.into_iter().filter(|h| !h.is_empty()).collect();
                                        if h.len() > MAX_MX_NAMES {
                                            return Err(Stop::Perm(
                                                PermErrorReason::TooManyMxNames,
                                                format!("mx:{target} has {} hosts", h.len()),
                                            ));
                                        }
                                        h
                                    }
                                    DnsOutcome::NxDomain | DnsOutcome::NoData => {
                                        w.count_void(&format!("mx:{target}"))?;
                                        Vec::new()
                                    }
                                    DnsOutcome::Failed(f) => return Err(Stop::Temp(format!("mx:{target}: {f}"))),
                                }
                            };
                            for host in hosts {
                                match dns.ipv4(&host).await {
                                    DnsOutcome::Found(ips) => {
                                        for ip in ips {
                                            if let (IpAddr::V4(v4), true) = (ip, pass) {
                                                w.authorize(v4, prefix);
                                                if prefix == 32 {
                                                    w.single(ip);
                                                }
                                            }
                                        }
                                    }
                                    // A void `a` counts; an MX host without IPv4 is ordinary (IPv6 only).
                                    DnsOutcome::NxDomain | DnsOutcome::NoData if name == "a" => {
                                        w.count_void(&format!("a:{host}"))?
                                    }
                                    DnsOutcome::NxDomain | DnsOutcome::NoData => {}
                                    DnsOutcome::Failed(f) => return Err(Stop::Temp(format!("{name}:{host}: {f}"))),
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        let own_all = record.all_qualifier();
        match (own_all, redirect) {
            (Some(all), _) => Ok(Some(all)),
            (None, Some(target)) => {
                w.count_lookup(&format!("redirect={target}"))?;
                if target.contains('%') {
                    w.sender_dependent = true;
                    return Ok(None);
                }
                let Some(inner) = fetch(dns, &target).await? else {
                    return Err(Stop::Perm(
                        PermErrorReason::RedirectWithoutRecord,
                        format!("redirect={target} has no SPF record"),
                    ));
                };
                walk(dns, target, inner, w).await
            }
            (None, None) => Ok(None),
        }
    })
}

/// Finds, parses and evaluates the SPF policy of `domain` from the TXT lookup at it.
pub async fn evaluate(dns: &impl SpfDns, domain: &str, txt: &DnsOutcome<Vec<String>>) -> SpfResult {
    let mut result = from_txt(txt);
    let outcome = match result.status {
        PolicyStatus::None => SpfOutcome::None,
        PolicyStatus::TempError => SpfOutcome::TempError,
        PolicyStatus::MultipleRecords => SpfOutcome::PermError(PermErrorReason::MultipleRecords),
        PolicyStatus::SyntaxError => SpfOutcome::PermError(PermErrorReason::SyntaxError),
        PolicyStatus::NotQueried => SpfOutcome::NotQueried,
        PolicyStatus::Valid => {
            let record = parse(&result.records[0]).expect("from_txt parsed it");
            let mut w =
                Walk { lookups: 0, void_lookups: 0, ranges: Vec::new(), sender_dependent: false, singles: Vec::new() };
            let walked = walk(dns, domain.to_string(), record, &mut w).await;
            result.eval.lookups = w.lookups;
            result.eval.void_lookups = w.void_lookups;
            result.eval.sender_dependent = w.sender_dependent;
            match walked {
                Ok(all) => {
                    result.all = all;
                    result.eval.ipv4_authorized = Some(w.authorized());
                    result.eval.single_hosts = std::mem::take(&mut w.singles);
                    SpfOutcome::Valid
                }
                Err(Stop::Perm(reason, detail)) => {
                    result.detail = Some(detail);
                    SpfOutcome::PermError(reason)
                }
                Err(Stop::Temp(detail)) => {
                    result.detail = Some(detail);
                    SpfOutcome::TempError
                }
            }
        }
    };
    result.eval.outcome = outcome;
    result
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
    SpfResult { status, records, all, detail, eval: Evaluation::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::TxtLookup;
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

    /// A table of DNS answers for evaluation tests: RFC 7208 appendix A's example zone plus extras.
    #[derive(Default)]
    struct Table {
        txt: std::collections::HashMap<String, DnsOutcome<Vec<String>>>,
        a: std::collections::HashMap<String, Vec<IpAddr>>,
        mx: std::collections::HashMap<String, Vec<String>>,
    }

    impl Table {
        fn rfc() -> Self {
            let mut t = Table::default();
            let ip = |s: &str| s.parse::<IpAddr>().unwrap();
            t.a.insert("example.com".into(), vec![ip("192.0.2.10"), ip("192.0.2.11")]);
            for (h, a) in [
                ("amy.example.com", "192.0.2.65"),
                ("bob.example.com", "192.0.2.66"),
                ("mail-a.example.com", "192.0.2.129"),
                ("mail-b.example.com", "192.0.2.130"),
                ("mail-c.example.org", "192.0.2.140"),
            ] {
                t.a.insert(h.into(), vec![ip(a)]);
            }
            t.mx.insert("example.com".into(), vec!["mail-a.example.com".into(), "mail-b.example.com".into()]);
            t.mx.insert("example.org".into(), vec!["mail-c.example.org".into()]);
            t
        }

        fn spf(mut self, name: &str, record: &str) -> Self {
            self.txt.insert(name.into(), DnsOutcome::Found(vec![record.into()]));
            self
        }
    }

    impl TxtLookup for Table {
        async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
            self.txt.get(name).cloned().unwrap_or(DnsOutcome::NxDomain)
        }
    }

    impl SpfDns for Table {
        async fn ipv4(&self, name: &str) -> DnsOutcome<Vec<IpAddr>> {
            self.a.get(name).cloned().map(DnsOutcome::Found).unwrap_or(DnsOutcome::NxDomain)
        }
        async fn mx_hosts(&self, name: &str) -> DnsOutcome<Vec<String>> {
            self.mx.get(name).cloned().map(DnsOutcome::Found).unwrap_or(DnsOutcome::NoData)
        }
    }

    fn eval(t: &Table, domain: &str) -> SpfResult {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let txt = rt.block_on(t.txt(domain));
        rt.block_on(evaluate(t, domain, &txt))
    }

    #[test]
    fn evaluate_rfc7208_appendix_a() {
        // (record at example.com, outcome, lookups, void lookups, IPv4 addresses authorised)
        let cases: &[(&str, &str, u32, u32, Option<u64>)] = &[
            ("v=spf1 +all", "valid", 0, 0, Some(1 << 32)),
            ("v=spf1 a -all", "valid", 1, 0, Some(2)),
            ("v=spf1 a:example.org -all", "valid", 1, 1, Some(0)),
            ("v=spf1 mx -all", "valid", 1, 0, Some(2)),
            ("v=spf1 mx:example.org -all", "valid", 1, 0, Some(1)),
            ("v=spf1 mx mx:example.org -all", "valid", 2, 0, Some(3)),
            ("v=spf1 mx/30 mx:example.org/30 -all", "valid", 2, 0, Some(8)),
            ("v=spf1 ptr -all", "valid", 1, 0, Some(0)),
            ("v=spf1 ip4:192.0.2.128/28 -all", "valid", 0, 0, Some(16)),
            ("v=spf1 -ip4:192.0.2.128/28 ~all", "valid", 0, 0, Some(0)),
            ("v=spf1 ip4:10.0.0.0/8 ip4:10.1.0.0/16 -all", "valid", 0, 0, Some(1 << 24)),
            ("v=spf1 ip4:0.0.0.0/0 -all", "valid", 0, 0, Some(1 << 32)),
            ("v=spf1 a:nx1.example.com a:nx2.example.com a:nx3.example.com -all", "permerror", 3, 3, None),
        ];
        for (record, outcome, lookups, void, ipv4) in cases {
            let t = Table::rfc().spf("example.com", record);
            let r = eval(&t, "example.com");
            assert_eq!(
                (r.eval.outcome.as_label(), r.eval.lookups, r.eval.void_lookups, r.eval.ipv4_authorized),
                (*outcome, *lookups, *void, *ipv4),
                "{record}: {:?}",
                r.detail
            );
        }
    }

    #[test]
    fn single_hosts_are_the_ones_named_or_given_as_one_address() {
        let t = Table::rfc()
            .spf(
                "example.com",
                "v=spf1 ip4:192.0.2.10 ip4:192.0.2.11/32 ip4:192.0.2.0/24 ip6:2001:db8::1 ip6:2001:db8::/64 -ip4:192.0.2.99 a:amy.example.com include:_s.example.net ~include:_t.example.net -all",
            )
            .spf("_s.example.net", "v=spf1 ip4:198.51.100.7 ~all")
            .spf("_t.example.net", "v=spf1 ip4:198.51.100.8 ~all");
        let r = eval(&t, "example.com");
        let singles: Vec<String> = r.eval.single_hosts.iter().map(|ip| ip.to_string()).collect();
        let mut want = vec!["192.0.2.10", "192.0.2.11", "2001:db8::1", "192.0.2.65"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        want.push("198.51.100.7".into());
        assert_eq!(singles, want, "{:?}", r.detail);
        // Not valid: no hosts.
        let t = Table::rfc().spf("example.com", "v=spf1 ip4:192.0.2.10 include:nothing.example.net -all");
        assert!(eval(&t, "example.com").eval.single_hosts.is_empty());
    }

    #[test]
    fn evaluate_follows_include_and_redirect() {
        let t = Table::rfc()
            .spf("example.com", "v=spf1 include:_spf.example.net redirect=_r.example.net")
            .spf("_spf.example.net", "v=spf1 ip4:198.51.100.0/24 ~all")
            .spf("_r.example.net", "v=spf1 ip4:203.0.113.0/25 -all");
        let r = eval(&t, "example.com");
        // The redirect's -all is the final one; the include's ~all is not.
        assert_eq!(r.eval.outcome, SpfOutcome::Valid);
        assert_eq!((r.all, r.eval.lookups, r.eval.ipv4_authorized), (Some(Qualifier::Fail), 2, Some(256 + 128)));

        // A redirect is ignored when the record has an all.
        let t = Table::rfc().spf("example.com", "v=spf1 -all redirect=_nothing.example.net");
        let r = eval(&t, "example.com");
        assert_eq!((r.eval.outcome, r.eval.lookups), (SpfOutcome::Valid, 0));

        // A ~include does not authorise what the include passes.
        let t = Table::rfc()
            .spf("example.com", "v=spf1 ~include:_spf.example.net -all")
            .spf("_spf.example.net", "v=spf1 ip4:198.51.100.0/24");
        assert_eq!(eval(&t, "example.com").eval.ipv4_authorized, Some(0));

        // An include of a policy with +all authorises everything.
        let t = Table::rfc()
            .spf("example.com", "v=spf1 include:open.example.net -all")
            .spf("open.example.net", "v=spf1 +all");
        assert_eq!(eval(&t, "example.com").eval.ipv4_authorized, Some(1 << 32));
    }

    #[test]
    fn evaluate_permerrors_and_temperrors() {
        use PermErrorReason as P;
        // Eleven chained includes.
        let mut t = Table::rfc().spf("example.com", "v=spf1 include:i0.example.net -all");
        for i in 0..11 {
            t = t.spf(&format!("i{i}.example.net"), &format!("v=spf1 include:i{}.example.net", i + 1));
        }
        t = t.spf("i11.example.net", "v=spf1 -all");
        let r = eval(&t, "example.com");
        assert_eq!((r.eval.outcome, r.eval.lookups), (SpfOutcome::PermError(P::TooManyLookups), 11));

        // Exactly ten is fine.
        let mut t = Table::rfc().spf("example.com", "v=spf1 include:i0.example.net -all");
        for i in 0..9 {
            t = t.spf(&format!("i{i}.example.net"), &format!("v=spf1 include:i{}.example.net", i + 1));
        }
        t = t.spf("i9.example.net", "v=spf1 ip4:192.0.2.1 -all");
        let r = eval(&t, "example.com");
        assert_eq!((r.eval.outcome, r.eval.lookups, r.eval.ipv4_authorized), (SpfOutcome::Valid, 10, Some(1)));

        let cases: Vec<(Table, SpfOutcome)> = vec![
            (
                Table::rfc().spf("example.com", "v=spf1 include:none.example.net -all"),
                SpfOutcome::PermError(P::IncludeWithoutRecord),
            ),
            (
                Table::rfc().spf("example.com", "v=spf1 redirect=none.example.net"),
                SpfOutcome::PermError(P::RedirectWithoutRecord),
            ),
            (
                Table::rfc()
                    .spf("example.com", "v=spf1 include:bad.example.net -all")
                    .spf("bad.example.net", "v=spf1 ip4:1.2.3 -all"),
                SpfOutcome::PermError(P::SyntaxError),
            ),
            (
                {
                    let mut t = Table::rfc().spf("example.com", "v=spf1 include:two.example.net -all");
                    t.txt.insert(
                        "two.example.net".into(),
                        DnsOutcome::Found(vec!["v=spf1 -all".into(), "v=spf1 ~all".into()]),
                    );
                    t
                },
                SpfOutcome::PermError(P::MultipleRecords),
            ),
            (
                {
                    let mut t = Table::rfc().spf("example.com", "v=spf1 include:slow.example.net -all");
                    let timeout = DnsFailure { kind: DnsFailureKind::Timeout, detail: "t".into() };
                    t.txt.insert("slow.example.net".into(), DnsOutcome::Failed(timeout));
                    t
                },
                SpfOutcome::TempError,
            ),
            (
                {
                    let mut t = Table::rfc().spf("example.com", "v=spf1 mx:many.example.net -all");
                    t.mx.insert("many.example.net".into(), (0..11).map(|i| format!("m{i}.example.net")).collect());
                    t
                },
                SpfOutcome::PermError(P::TooManyMxNames),
            ),
            (Table::rfc().spf("example.com", "v=spf1 exists:%{i}._spf.%{d} -all"), SpfOutcome::Valid),
            (Table::rfc(), SpfOutcome::None),
        ];
        for (i, (t, want)) in cases.into_iter().enumerate() {
            let r = eval(&t, "example.com");
            assert_eq!(r.eval.outcome, want, "case {i}: {:?}", r.detail);
            if matches!(want, SpfOutcome::PermError(_) | SpfOutcome::TempError) {
                assert!(r.detail.is_some(), "case {i} says why");
            }
        }
    }

    proptest! {
        #[test]
        fn evaluate_never_panics(s in "v=spf1( [+~?-]?(all|mx(:[a-z%{}.]{1,8})?(/[0-9]{1,3})?|a(/[0-9]{1,2})?|ptr|ip4:[0-9.]{1,15}(/[0-9]{1,2})?|include:[a-z]{1,3}\\.example\\.net|redirect=[a-z]{1,3}\\.example\\.net)){0,8}") {
            let t = Table::rfc().spf("example.com", &s).spf("a.example.net", &s).spf("b.example.net", "v=spf1 include:a.example.net");
            let r = eval(&t, "example.com");
            prop_assert!(r.eval.lookups <= MAX_LOOKUPS + 1);
        }

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
