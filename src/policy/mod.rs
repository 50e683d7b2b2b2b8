//! What a domain publishes about its mail: SPF, DMARC, DKIM keys, MTA-STS and TLS-RPT, parsed from
//! TXT lookups (and, for MTA-STS, a policy file fetched over HTTPS).

pub mod bimi;
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

use crate::dns::DnsOutcome;
use crate::probe::https::{FetchFailure, HttpsResponse};

crate::labels! {
    /// How fetching a published file over HTTPS went (an MTA-STS policy, an autoconfig file).
    #[derive(Default)]
    pub enum FetchOutcome {
        /// Fetched, and it parses.
        Ok => "ok",
        /// Not fetched (for MTA-STS: no valid `_mta-sts` TXT record; for autoconfig: not looked for).
        #[default]
        NotFetched => "not_fetched",
        /// The host (`mta-sts.<domain>`, `autoconfig.<domain>`) does not exist or has no address.
        NoAddress => "no_address",
        /// The host's address lookup failed: whether it exists is unknown.
        AddressLookupFailed => "address_lookup_failed",
        /// TCP connection refused or unreachable.
        ConnectFailed => "connect_failed",
        /// No complete answer in time.
        Timeout => "timeout",
        /// The TLS handshake failed (certificate not valid for the name, untrusted, expired ...).
        TlsFailed => "tls_failed",
        /// Not a usable HTTP answer.
        HttpError => "http_error",
        /// An HTTP status other than 200 (redirects are not followed, RFC 8461 §3.3).
        HttpStatus => "http_status",
        /// A media type other than text/plain (MTA-STS).
        WrongContentType => "wrong_content_type",
        /// Larger than the size limit.
        TooLarge => "too_large",
        /// The file does not parse.
        SyntaxError => "syntax_error",
        /// The host or its address is excluded or not public, so nothing was sent.
        Skipped => "skipped",
        /// A scanner bug hit the fetch (a panic, caught).
        Internal => "internal",
    }
}

impl FetchOutcome {
    /// The outcome of a fetch that failed in transport.
    pub fn from_failure(f: FetchFailure) -> Self {
        match f {
            FetchFailure::Connect => Self::ConnectFailed,
            FetchFailure::Timeout => Self::Timeout,
            FetchFailure::Tls => Self::TlsFailed,
            FetchFailure::Http => Self::HttpError,
            FetchFailure::TooLarge => Self::TooLarge,
            FetchFailure::Internal => Self::Internal,
        }
    }
}

/// What fetching a published file got: the answer, or why there is none (with its detail).
pub type Fetched = Result<HttpsResponse, (FetchOutcome, String)>;

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
