//! Reverse DNS of the hosts a domain is known to send from (its MX hosts' addresses and the single
//! hosts its SPF record authorises): the PTR lookup, then the forward lookup of each PTR name, which
//! must give the address back (forward-confirmed reverse DNS, FCrDNS). Gmail and Yahoo require it of
//! every sending host.
//!
//! A lookup that failed is never read as "no PTR": the verdict is then `lookup_failed`.

use std::net::IpAddr;

use super::{DnsFailure, DnsOutcome};

/// PTR names followed forward at most: a host with more is unusual, and each costs a lookup.
pub const MAX_PTR_NAMES: usize = 3;

crate::labels! {
    /// What reverse DNS says about one address.
    pub enum Fcrdns {
        /// A PTR name resolves back to the address.
        Match => "match",
        /// PTR names exist, but none resolves back to the address.
        Mismatch => "mismatch",
        /// The address has no PTR record (NXDOMAIN or NODATA).
        NoPtr => "no_ptr",
        /// A lookup failed, so the answer is unknown.
        LookupFailed => "lookup_failed",
        /// Not looked up (`--no-ptr`, or the address is not public).
        NotQueried => "not_queried",
    }
}

/// Reverse DNS of one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReverseDns {
    /// The verdict.
    pub fcrdns: Fcrdns,
    /// The PTR name that confirms the address, else the first PTR name.
    pub name: Option<String>,
    /// Why the verdict is not `match`, in words.
    pub detail: Option<String>,
}

impl ReverseDns {
    /// Not looked up.
    pub fn not_queried() -> Self {
        Self { fcrdns: Fcrdns::NotQueried, name: None, detail: None }
    }
}

/// Judges `ip` from its PTR answer and the forward answers of (the first [`MAX_PTR_NAMES`] of) its PTR
/// names, in the same order.
pub fn judge(ip: IpAddr, ptr: &DnsOutcome<Vec<String>>, forward: &[DnsOutcome<Vec<IpAddr>>]) -> ReverseDns {
    let names = match ptr {
        DnsOutcome::Found(names) if !names.is_empty() => names,
        DnsOutcome::Found(_) | DnsOutcome::NxDomain | DnsOutcome::NoData => {
            return ReverseDns {
                fcrdns: Fcrdns::NoPtr,
                name: None,
                detail: Some(format!("{ip} has no PTR record ({})", ptr.label())),
            };
        }
        DnsOutcome::Failed(f) => {
            return ReverseDns {
                fcrdns: Fcrdns::LookupFailed,
                name: None,
                detail: Some(format!("PTR lookup of {ip}: {f}")),
            };
        }
    };
    let followed = names.iter().take(MAX_PTR_NAMES).zip(forward);
    let mut failed: Option<(&String, &DnsFailure)> = None;
    for (name, answer) in followed.clone() {
        match answer {
            DnsOutcome::Found(ips) if ips.contains(&ip) => {
                return ReverseDns { fcrdns: Fcrdns::Match, name: Some(name.clone()), detail: None };
            }
            DnsOutcome::Failed(f) => failed = failed.or(Some((name, f))),
            _ => {}
        }
    }
    let first = names.first().cloned();
    match failed {
        // A name whose lookup failed might have confirmed the address.
        Some((name, f)) => ReverseDns {
            fcrdns: Fcrdns::LookupFailed,
            name: first,
            detail: Some(format!("forward lookup of {name} (PTR of {ip}): {f}")),
        },
        None => {
            let seen: Vec<String> = followed
                .map(|(n, a)| format!("{n} -> {}", a.found().map_or(a.label().to_string(), |ips| list(ips))))
                .collect();
            ReverseDns {
                fcrdns: Fcrdns::Mismatch,
                name: first,
                detail: Some(format!("no PTR name of {ip} resolves back to it: {}", seen.join(", "))),
            }
        }
    }
}

fn list(ips: &[IpAddr]) -> String {
    if ips.is_empty() {
        return "nothing".into();
    }
    ips.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(" ")
}

crate::labels! {
    /// Reverse DNS over all the known sending hosts of a domain.
    pub enum ReverseSummary {
        /// Every known sending host's address confirms.
        AllMatch => "all_match",
        /// Some address has PTR names that do not resolve back to it.
        Mismatch => "mismatch",
        /// Some address has no PTR record.
        NoPtr => "no_ptr",
        /// No address is known to fail, but some lookup failed.
        Unknown => "unknown",
        /// No sending host is known (no MX address, no single host in SPF).
        NoHosts => "no_hosts",
        /// Not looked up (`--no-ptr`, or the domain is excluded).
        NotQueried => "not_queried",
    }
}

/// The domain's summary over its known hosts' verdicts (a missing PTR weighs more than a mismatch,
/// and both more than a failed lookup, since they are certain).
pub fn summarize<'a>(verdicts: impl IntoIterator<Item = &'a Fcrdns>, enabled: bool) -> ReverseSummary {
    if !enabled {
        return ReverseSummary::NotQueried;
    }
    let seen: Vec<Fcrdns> = verdicts.into_iter().copied().filter(|v| *v != Fcrdns::NotQueried).collect();
    if seen.is_empty() {
        ReverseSummary::NoHosts
    } else if seen.contains(&Fcrdns::NoPtr) {
        ReverseSummary::NoPtr
    } else if seen.contains(&Fcrdns::Mismatch) {
        ReverseSummary::Mismatch
    } else if seen.contains(&Fcrdns::LookupFailed) {
        ReverseSummary::Unknown
    } else {
        ReverseSummary::AllMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::DnsFailureKind;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn fail() -> DnsFailure {
        DnsFailure { kind: DnsFailureKind::ServFail, detail: "SERVFAIL".into() }
    }

    #[test]
    fn verdicts() {
        let a = ip("192.0.2.1");
        let found = |v: &[&str]| DnsOutcome::Found(v.iter().map(|s| s.to_string()).collect());
        let addrs = |v: &[&str]| DnsOutcome::Found(v.iter().map(|s| ip(s)).collect());
        type Case = (DnsOutcome<Vec<String>>, Vec<DnsOutcome<Vec<IpAddr>>>, Fcrdns, Option<&'static str>);
        let cases: Vec<Case> = vec![
            (found(&["mx.a.test"]), vec![addrs(&["192.0.2.1"])], Fcrdns::Match, Some("mx.a.test")),
            (
                found(&["x.test", "mx.a.test"]),
                vec![addrs(&["192.0.2.9"]), addrs(&["192.0.2.1"])],
                Fcrdns::Match,
                Some("mx.a.test"),
            ),
            (found(&["x.test"]), vec![addrs(&["192.0.2.9"])], Fcrdns::Mismatch, Some("x.test")),
            (found(&["x.test"]), vec![DnsOutcome::NxDomain], Fcrdns::Mismatch, Some("x.test")),
            (found(&["x.test"]), vec![DnsOutcome::Failed(fail())], Fcrdns::LookupFailed, Some("x.test")),
            // A failed name does not matter when another confirms.
            (
                found(&["x.test", "y.test"]),
                vec![DnsOutcome::Failed(fail()), addrs(&["192.0.2.1"])],
                Fcrdns::Match,
                Some("y.test"),
            ),
            (DnsOutcome::NxDomain, vec![], Fcrdns::NoPtr, None),
            (DnsOutcome::NoData, vec![], Fcrdns::NoPtr, None),
            (DnsOutcome::Failed(fail()), vec![], Fcrdns::LookupFailed, None),
        ];
        for (i, (ptr, fwd, want, name)) in cases.into_iter().enumerate() {
            let got = judge(a, &ptr, &fwd);
            assert_eq!((got.fcrdns, got.name.as_deref()), (want, name), "case {i}: {got:?}");
            assert_eq!(got.detail.is_none(), want == Fcrdns::Match, "case {i}");
        }
    }

    #[test]
    fn summary_weighs_certain_failures_first() {
        use Fcrdns::*;
        let cases: Vec<(Vec<Fcrdns>, ReverseSummary)> = vec![
            (vec![Match, Match], ReverseSummary::AllMatch),
            (vec![Match, Mismatch, LookupFailed], ReverseSummary::Mismatch),
            (vec![Mismatch, NoPtr], ReverseSummary::NoPtr),
            (vec![Match, LookupFailed], ReverseSummary::Unknown),
            (vec![NotQueried], ReverseSummary::NoHosts),
            (vec![], ReverseSummary::NoHosts),
        ];
        for (v, want) in cases {
            assert_eq!(summarize(&v, true), want, "{v:?}");
        }
        assert_eq!(summarize(&[Match], false), ReverseSummary::NotQueried);
    }
}
