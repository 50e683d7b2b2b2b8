//! Results that cannot be right. A scan without internet, through a resolver that answers "no such
//! domain" for everything, finishes quickly and reports 0% of everything; a scan of a private test
//! network without `--allow-private` probes nothing. Both look like data. After a run, these checks
//! look at its counters and say so: on stderr, in `run.json` (`warnings`), on the report page, and
//! with exit code 4, each with the flag that fits.

use serde::Serialize;

use crate::config::ScanConfig;
use crate::output::run_info::Counts;
use crate::probe::SkipReason;

/// Fewer domains than this are not judged (a short list may well be all dead domains).
pub const MIN_DOMAINS: u64 = 20;
/// The share of domains without an MX answer above which the resolver is not believed.
pub const NO_ANSWER_SHARE: f64 = 0.95;

crate::labels! {
    /// What cannot be right about a run.
    pub enum Implausible {
        /// Nearly every domain's MX lookup said NXDOMAIN or failed.
        ResolverAnswersNothing => "resolver_answers_nothing",
        /// Every MX address found was non-public and skipped (no `--allow-private`).
        AllTargetsPrivate => "all_targets_private",
        /// Nearly every validated answer was bogus.
        DnssecAllBogus => "dnssec_all_bogus",
    }
}

/// One finding about the run, with what to do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Warning {
    /// What cannot be right.
    pub code: Implausible,
    /// The explanation, and the flag to use.
    pub message: String,
}

/// The run's implausibilities, from its counters.
pub fn check(counts: &Counts, config: &ScanConfig) -> Vec<Warning> {
    let mut out = Vec::new();
    let by = |label: &str| counts.starttls.get(label).copied().unwrap_or(0);
    let judged = counts.domains.saturating_sub(by("excluded"));
    let no_answer = by("no_mx") + by("dns_failed");
    if judged >= MIN_DOMAINS && no_answer as f64 >= NO_ANSWER_SHARE * judged as f64 {
        let resolver = if config.dns.resolvers.is_empty() {
            "the system's resolver (/etc/resolv.conf)".to_string()
        } else {
            config.dns.resolvers.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ")
        };
        out.push(Warning {
            code: Implausible::ResolverAnswersNothing,
            message: format!(
                "{no_answer} of {judged} domains have no MX answer (NXDOMAIN or a failed lookup): no real list \
                 looks like this. The resolver, {resolver}, is probably not answering for the public DNS (no \
                 internet, or a filtering resolver); the shares in this scan are not measurements. Pass \
                 --resolver with a working recursive resolver (and --trust-anchor if it is a private root)."
            ),
        });
    }
    let validated: u64 = counts
        .dnssec_status
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "not_checked" | "lookup_failed"))
        .map(|(_, v)| v)
        .sum();
    let bogus = counts.dnssec_status.get("bogus").copied().unwrap_or(0);
    if validated >= MIN_DOMAINS && bogus as f64 >= NO_ANSWER_SHARE * validated as f64 {
        out.push(Warning {
            code: Implausible::DnssecAllBogus,
            message: format!(
                "{bogus} of {validated} validated MX answers are bogus: real zones are not like this. The trust \
                 anchor does not match what the resolver serves, or something on the path rewrites DNS answers. \
                 Pass --trust-anchor with the right root key (a private root), use another --resolver, or \
                 --no-dnssec to scan without validation."
            ),
        });
    }
    let private = counts.probe_outcomes.get(&format!("skipped:{}", SkipReason::NonPublicAddress.as_label()));
    if let Some(&private) = private.filter(|n| **n > 0)
        && counts.probes == 0
        && !config.guard.allow_private
    {
        out.push(Warning {
            code: Implausible::AllTargetsPrivate,
            message: format!(
                "every MX address found ({private} of them) is non-public (loopback, private, link-local ...) and \
                 was skipped, so nothing was probed. To scan a test network, pass --allow-private."
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputSource;

    fn counts(pairs: &[(&str, u64)], probes: u64, private: u64) -> Counts {
        let mut c = Counts { probes, ..Counts::default() };
        for (k, v) in pairs {
            c.starttls.insert(k.to_string(), *v);
            c.domains += v;
        }
        if private > 0 {
            c.probe_outcomes.insert("skipped:non_public_address".into(), private);
        }
        c
    }

    #[test]
    fn table() {
        let config = ScanConfig::new(InputSource::Stdin, "out".into());
        let codes = |c: &Counts, cfg: &ScanConfig| check(c, cfg).into_iter().map(|w| w.code).collect::<Vec<_>>();
        // Every domain NXDOMAIN or failed: the resolver is not believed.
        assert_eq!(
            codes(&counts(&[("no_mx", 90), ("dns_failed", 10)], 0, 0), &config),
            vec![Implausible::ResolverAnswersNothing]
        );
        // A real mix, a short list of dead domains, and excluded domains are fine.
        assert!(codes(&counts(&[("no_mx", 10), ("all", 80), ("none", 10)], 50, 0), &config).is_empty());
        assert!(codes(&counts(&[("no_mx", 19)], 0, 0), &config).is_empty());
        assert!(codes(&counts(&[("excluded", 100), ("all", 5)], 5, 0), &config).is_empty());
        // Everything private, nothing probed: --allow-private is suggested; with it, nothing to say.
        let private = counts(&[("not_probed", 30)], 0, 40);
        let w = check(&private, &config);
        assert_eq!(w.iter().map(|w| w.code).collect::<Vec<_>>(), vec![Implausible::AllTargetsPrivate]);
        assert!(w[0].message.contains("--allow-private"));
        let mut allowed = config.clone();
        allowed.guard.allow_private = true;
        assert!(check(&private, &allowed).is_empty());
        // Some private addresses among probed ones are normal.
        assert!(codes(&counts(&[("all", 30)], 25, 3), &config).is_empty());
        // Every validated answer bogus: the anchor or the path is wrong. A few bogus ones are data.
        let mut bogus = counts(&[("all", 30)], 30, 0);
        bogus.dnssec_status = [("bogus".to_string(), 29), ("not_checked".to_string(), 1)].into();
        assert_eq!(codes(&bogus, &config), vec![Implausible::DnssecAllBogus]);
        bogus.dnssec_status = [("bogus".to_string(), 3), ("secure".to_string(), 27)].into();
        assert!(codes(&bogus, &config).is_empty());
    }
}
