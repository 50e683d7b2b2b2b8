//! What a domain publishes about its mail: SPF, DMARC, DKIM keys, MTA-STS and TLS-RPT, parsed from
//! TXT lookups (and, for MTA-STS, a policy file fetched over HTTPS).

pub mod dane;
pub mod dkim;
pub mod dmarc;
pub mod mta_sts;
pub mod spf;
pub mod tls_rpt;

crate::labels! {
    /// How a TXT-published policy (SPF, DMARC) came out for a domain.
    #[non_exhaustive]
    pub enum PolicyStatus {
        /// The lookup worked and no record of this kind is published (includes NXDOMAIN and NODATA).
        None => "none",
        /// Exactly one record, and it parses.
        Valid => "valid",
        /// More than one record: a permanent error for SPF (RFC 7208 §4.5) and no policy for DMARC (RFC 7489 §6.6.3).
        MultipleRecords => "multiple_records",
        /// One record that does not parse.
        SyntaxError => "syntax_error",
        /// The TXT lookup failed (SERVFAIL, timeout ...): the answer is unknown, never "none".
        TempError => "temperror",
        /// Not looked up: the domain is on the exclude list.
        NotQueried => "not_queried",
    }
}

use std::future::Future;

use crate::dns::DnsOutcome;

/// The TXT lookups the policy checks make beyond the first (SPF includes, the organisational
/// domain's DMARC record, report authorisations, DKIM selectors); implemented by the run's resolver
/// and by test tables.
pub trait TxtLookup: Sync {
    /// TXT records at `name`, each with its character-strings concatenated.
    fn txt(&self, name: &str) -> impl Future<Output = DnsOutcome<Vec<String>>> + Send;
}

/// Picks the records of one kind out of a TXT lookup and classifies the outcome, before parsing.
///
/// Returns the status (`None`, `TempError`, `MultipleRecords`, or `Valid` meaning "exactly one, to be
/// parsed") and the matching records.
pub(crate) fn select_records(
    txt: &DnsOutcome<Vec<String>>,
    is_kind: impl Fn(&str) -> bool,
) -> (PolicyStatus, Vec<String>) {
    match txt {
        DnsOutcome::Found(all) => {
            let records: Vec<String> = all.iter().filter(|t| is_kind(t)).cloned().collect();
            let status = match records.len() {
                0 => PolicyStatus::None,
                1 => PolicyStatus::Valid,
                _ => PolicyStatus::MultipleRecords,
            };
            (status, records)
        }
        DnsOutcome::NxDomain | DnsOutcome::NoData => (PolicyStatus::None, Vec::new()),
        DnsOutcome::Failed(_) => (PolicyStatus::TempError, Vec::new()),
    }
}
