//! THE Arrow schemas of the output datasets: every column name, type, nullability and description.
//!
//! This is the only place a column is defined. Builders (`output::batch`) are derived from these
//! fields, a golden test (`data/schema/*.txt`) catches any drift, and a test checks that the README
//! documents every column. Each field carries its description as field metadata (`description`), so a
//! Parquet file documents itself.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Version of the column set; bumped on any change to a schema.
pub const SCHEMA_VERSION: &str = "7";

/// Column names.
pub mod col {
    #![allow(missing_docs)]
    pub const DOMAIN: &str = "domain";
    pub const SCAN_ID: &str = "scan_id";
    pub const SCAN_DATE: &str = "scan_date";
    pub const INPUT_LINE: &str = "input_line";
    pub const GROUP: &str = "group";
    pub const WEIGHT: &str = "weight";
    pub const SCANNED_AT: &str = "scanned_at";
    pub const SCAN_ERROR: &str = "scan_error";
    pub const SCAN_DURATION_MS: &str = "scan_duration_ms";
    pub const EXCLUDED: &str = "excluded";
    pub const MX_OUTCOME: &str = "mx_outcome";
    pub const MX_DETAIL: &str = "mx_detail";
    pub const MX_SOURCE: &str = "mx_source";
    pub const MX: &str = "mx";
    pub const MX_COUNT: &str = "mx_count";
    pub const SPF_TXT_OUTCOME: &str = "spf_txt_outcome";
    pub const SPF_STATUS: &str = "spf_status";
    pub const SPF_ALL: &str = "spf_all";
    pub const SPF_RECORDS: &str = "spf_records";
    pub const SPF_DETAIL: &str = "spf_detail";
    pub const DMARC_TXT_OUTCOME: &str = "dmarc_txt_outcome";
    pub const DMARC_STATUS: &str = "dmarc_status";
    pub const DMARC_POLICY: &str = "dmarc_policy";
    pub const DMARC_SUBDOMAIN_POLICY: &str = "dmarc_subdomain_policy";
    pub const DMARC_PCT: &str = "dmarc_pct";
    pub const DMARC_RUA: &str = "dmarc_rua";
    pub const DMARC_RECORDS: &str = "dmarc_records";
    pub const DMARC_DETAIL: &str = "dmarc_detail";
    pub const SPF_OUTCOME: &str = "spf_outcome";
    pub const SPF_PERMERROR_REASON: &str = "spf_permerror_reason";
    pub const SPF_LOOKUPS: &str = "spf_lookups";
    pub const SPF_VOID_LOOKUPS: &str = "spf_void_lookups";
    pub const SPF_IPV4_AUTHORIZED: &str = "spf_ipv4_authorized";
    pub const SPF_SENDER_DEPENDENT: &str = "spf_sender_dependent";
    pub const DMARC_SOURCE: &str = "dmarc_source";
    pub const DMARC_ORG_DOMAIN: &str = "dmarc_org_domain";
    pub const DMARC_EFFECTIVE_POLICY: &str = "dmarc_effective_policy";
    pub const DMARC_ADKIM: &str = "dmarc_adkim";
    pub const DMARC_ASPF: &str = "dmarc_aspf";
    pub const DMARC_FO: &str = "dmarc_fo";
    pub const DMARC_RI: &str = "dmarc_ri";
    pub const DMARC_RUF: &str = "dmarc_ruf";
    pub const DMARC_EXTERNAL_REPORTS: &str = "dmarc_external_reports";
    pub const DMARC_EXTERNAL_UNAUTHORIZED: &str = "dmarc_external_unauthorized";
    pub const DKIM_STATUS: &str = "dkim_status";
    pub const DKIM_SELECTORS_PROBED: &str = "dkim_selectors_probed";
    pub const DKIM_KEYS: &str = "dkim_keys";
    pub const DKIM_KEY_BITS_MIN: &str = "dkim_key_bits_min";
    pub const DKIM_TESTING: &str = "dkim_testing";
    pub const DKIM_FAILED: &str = "dkim_failed";
    pub const MTA_STS_TXT_OUTCOME: &str = "mta_sts_txt_outcome";
    pub const MTA_STS_STATUS: &str = "mta_sts_status";
    pub const MTA_STS_ID: &str = "mta_sts_id";
    pub const MTA_STS_FETCH: &str = "mta_sts_fetch";
    pub const MTA_STS_HTTP_STATUS: &str = "mta_sts_http_status";
    pub const MTA_STS_DETAIL: &str = "mta_sts_detail";
    pub const MTA_STS_MODE: &str = "mta_sts_mode";
    pub const MTA_STS_MAX_AGE: &str = "mta_sts_max_age";
    pub const MTA_STS_MX: &str = "mta_sts_mx";
    pub const MTA_STS_MX_MATCH: &str = "mta_sts_mx_match";
    pub const MTA_STS_EFFECTIVE: &str = "mta_sts_effective";
    pub const TLS_RPT_TXT_OUTCOME: &str = "tls_rpt_txt_outcome";
    pub const TLS_RPT_STATUS: &str = "tls_rpt_status";
    pub const TLS_RPT_RUA: &str = "tls_rpt_rua";
    pub const TLS_RPT_DETAIL: &str = "tls_rpt_detail";
    pub const GMAIL_UNAUTHENTICATED_RISK: &str = "gmail_unauthenticated_risk";
    pub const DNSSEC_STATUS: &str = "dnssec_status";
    pub const DANE: &str = "dane";
    pub const MX_DNSSEC: &str = "mx_dnssec";
    pub const TLSA_OUTCOME: &str = "tlsa_outcome";
    pub const TLSA_DNSSEC: &str = "tlsa_dnssec";
    pub const TLSA_RECORDS: &str = "tlsa_records";
    pub const DANE_VALID: &str = "dane_valid";
    pub const CLIENT_TLS: &str = "client_tls";
    pub const CLIENT_PLAINTEXT_AUTH: &str = "client_plaintext_auth";
    pub const CLIENT_ENDPOINT_COUNT: &str = "client_endpoint_count";
    pub const CLIENT_SRV_NOT_OFFERED: &str = "client_srv_not_offered";
    pub const CLIENT_AUTOCONFIG: &str = "client_autoconfig";
    pub const CLIENT_AUTOCONFIG_DETAIL: &str = "client_autoconfig_detail";
    pub const MX_PROVIDER: &str = "mx_provider";
    pub const CLIENT_CONFIG_SOURCE: &str = "client_config_source";
    pub const CLIENT_PROVIDER_ID: &str = "client_provider_id";
    pub const CLIENT_DECLARED_PLAIN: &str = "client_declared_plain";
    pub const CLIENT_DECLARED_SOCKET: &str = "client_declared_socket";
    pub const CLIENT_DECLARED_AUTH: &str = "client_declared_auth";
    pub const CLIENT_DECLARED_CLEARTEXT_PASSWORD: &str = "client_declared_cleartext_password";
    pub const CLIENT_PROTOCOL: &str = "client_protocol";
    pub const CLIENT_HOST: &str = "client_host";
    pub const CLIENT_PORT: &str = "client_port";
    pub const CLIENT_SOURCE: &str = "client_source";
    pub const CLIENT_IMPLICIT_TLS: &str = "client_implicit_tls";
    pub const CLIENT_ADDRESS_OUTCOME: &str = "client_address_outcome";
    pub const CLIENT_GREETING: &str = "client_greeting";
    pub const CLIENT_CAPABILITIES: &str = "client_capabilities";
    pub const CLIENT_STARTTLS_OFFERED: &str = "client_starttls_offered";
    pub const STARTTLS: &str = "starttls";
    pub const TLS_CERT_VALID: &str = "tls_cert_valid";
    pub const TLS_VERSION_MIN: &str = "tls_version_min";
    pub const GMAIL_RED_LOCK: &str = "gmail_red_lock";
    pub const SPF_SINGLE_HOSTS: &str = "spf_single_hosts";
    pub const PTR_STATUS: &str = "ptr_status";
    pub const PTR_ADDRESSES: &str = "ptr_addresses";
    pub const PTR_DETAIL: &str = "ptr_detail";
    pub const BIMI_STATUS: &str = "bimi_status";
    pub const BIMI_RECORD: &str = "bimi_record";
    pub const BIMI_LOGO_URL: &str = "bimi_logo_url";
    pub const BIMI_AUTHORITY_URL: &str = "bimi_authority_url";
    pub const BIMI_DETAIL: &str = "bimi_detail";
    pub const BIMI_LOGO_FETCH: &str = "bimi_logo_fetch";
    pub const BIMI_LOGO: &str = "bimi_logo";
    pub const BIMI_LOGO_SHA256: &str = "bimi_logo_sha256";
    pub const BIMI_CERTIFICATE_FETCH: &str = "bimi_certificate_fetch";
    pub const BIMI_CERTIFICATE: &str = "bimi_certificate";
    pub const BIMI_MARK_TYPE: &str = "bimi_mark_type";
    pub const BIMI_FETCH_DETAIL: &str = "bimi_fetch_detail";
    pub const BIMI_DMARC_ENFORCED: &str = "bimi_dmarc_enforced";
    pub const GMAIL_ALL_SENDERS: &str = "gmail_all_senders";
    pub const GMAIL_ALL_SENDERS_REASONS: &str = "gmail_all_senders_reasons";
    pub const GMAIL_BULK_SENDERS: &str = "gmail_bulk_senders";
    pub const GMAIL_BULK_SENDERS_REASONS: &str = "gmail_bulk_senders_reasons";
    pub const GMAIL_CHECKMARK_PREDICTED: &str = "gmail_checkmark_predicted";
    pub const GMAIL_CHECKMARK_MISSING: &str = "gmail_checkmark_missing";
    pub const PTR_NAME: &str = "ptr_name";
    pub const PTR_FCRDNS: &str = "ptr_fcrdns";

    pub const MX_HOST: &str = "mx_host";
    pub const MX_PREFERENCE: &str = "mx_preference";
    pub const MX_IMPLICIT: &str = "mx_implicit";
    pub const MX_A_OUTCOME: &str = "mx_a_outcome";
    pub const MX_AAAA_OUTCOME: &str = "mx_aaaa_outcome";
    pub const MX_ADDRESS_DETAIL: &str = "mx_address_detail";
    pub const IP: &str = "ip";
    pub const IP_VERSION: &str = "ip_version";
    pub const PROBE_STATUS: &str = "probe_status";
    pub const PROBE_PHASE: &str = "probe_phase";
    pub const PROBE_REASON: &str = "probe_reason";
    pub const PROBE_REPLY_CODE: &str = "probe_reply_code";
    pub const PROBE_DETAIL: &str = "probe_detail";
    pub const PROBE_CACHED: &str = "probe_cached";
    pub const PROBE_SOURCE: &str = "probe_source";
    pub const PROBE_SOURCE_HOST: &str = "probe_source_host";
    pub const PROBE_DURATION_MS: &str = "probe_duration_ms";
    pub const PROBE_ATTEMPTS: &str = "probe_attempts";
    pub const SMTP_BANNER_CODE: &str = "smtp_banner_code";
    pub const SMTP_BANNER: &str = "smtp_banner";
    pub const SMTP_EHLO_CODE: &str = "smtp_ehlo_code";
    pub const SMTP_HELO_FALLBACK: &str = "smtp_helo_fallback";
    pub const SMTP_EXTENSIONS: &str = "smtp_extensions";
    pub const SMTP_STARTTLS_OFFERED: &str = "smtp_starttls_offered";
    pub const SMTP_STARTTLS_CODE: &str = "smtp_starttls_code";
    pub const SMTP_STARTTLS_REPLY: &str = "smtp_starttls_reply";
    pub const SMTP_POST_TLS_EHLO_CODE: &str = "smtp_post_tls_ehlo_code";
    pub const TLS_VERSION: &str = "tls_version";
    pub const TLS_CIPHER: &str = "tls_cipher";
    pub const TLS_KX_GROUP: &str = "tls_kx_group";
    pub const TLS_CHAIN_LENGTH: &str = "tls_chain_length";
    pub const TLS_SIGNATURE_VALID: &str = "tls_signature_valid";
    pub const TLS_CERT_VERDICT: &str = "tls_cert_verdict";
    pub const TLS_CERT_DETAIL: &str = "tls_cert_detail";
    pub const TLS_CERT_NAME_MATCHES: &str = "tls_cert_name_matches";
    pub const TLS_CERT_EXPIRED: &str = "tls_cert_expired";
    pub const TLS_CERT_SELF_SIGNED: &str = "tls_cert_self_signed";
    pub const TLS_CERT_SUBJECT: &str = "tls_cert_subject";
    pub const TLS_CERT_ISSUER: &str = "tls_cert_issuer";
    pub const TLS_CERT_SAN: &str = "tls_cert_san";
    pub const TLS_CERT_NOT_BEFORE: &str = "tls_cert_not_before";
    pub const TLS_CERT_NOT_AFTER: &str = "tls_cert_not_after";
    pub const TLS_CERT_KEY_TYPE: &str = "tls_cert_key_type";
    pub const TLS_CERT_KEY_BITS: &str = "tls_cert_key_bits";
    pub const TLS_CERT_SIGNATURE_ALGORITHM: &str = "tls_cert_signature_algorithm";
    pub const TLS_CERT_SHA256: &str = "tls_cert_sha256";
}

/// Dictionary-encoded string: for closed-vocabulary (enum) columns.
pub fn label() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// UTC timestamp in milliseconds.
pub fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// A list of strings.
pub fn utf8_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// The fields of one key in the `dkim_keys` list column.
pub fn dkim_key_fields() -> Fields {
    Fields::from(vec![
        Field::new("selector", DataType::Utf8, false),
        Field::new("key_type", DataType::Utf8, false),
        Field::new("key_bits", DataType::Int64, true),
        Field::new("revoked", DataType::Boolean, false),
        Field::new("testing", DataType::Boolean, false),
    ])
}

/// The fields of one MX record in the `mx` list column.
pub fn mx_entry_fields() -> Fields {
    Fields::from(vec![Field::new("preference", DataType::Int32, false), Field::new("host", DataType::Utf8, false)])
}

/// Field metadata key of a label column's values: a JSON array, the same in every scan of this
/// schema version (new values are only ever appended), so that loaders can fix the categories.
pub const VALUES_KEY: &str = "mailcensus.values";

fn labels_of<T: crate::label::Label>() -> Vec<&'static str> {
    T::ALL.iter().map(|v| v.as_label()).collect()
}

/// The closed vocabulary of a label column, in a fixed order; `None` for the open ones (cipher
/// suite, key-exchange group and signature algorithm names, which are the TLS library's words).
pub fn vocabulary(column: &str) -> Option<Vec<&'static str>> {
    use crate::client::Source;
    use crate::client::autoconfig::SocketType;
    use crate::dns::{DnssecStatus, OutcomeKind};
    use crate::policy::{FetchOutcome, PolicyStatus, dkim, dmarc, mta_sts, spf};
    use crate::probe::client::Protocol;
    use crate::probe::tls::TlsVersion;
    use crate::probe::tls::cert::CertVerdict;
    use crate::probe::{FailureReason, Phase, SkipReason};
    use crate::scan::result::MxSource;
    use crate::scan::runner::ProbeSource;
    use crate::scan::verdict::{ClientTlsSummary, Share, StarttlsSummary};
    Some(match column {
        MX_OUTCOME
        | SPF_TXT_OUTCOME
        | DMARC_TXT_OUTCOME
        | MTA_STS_TXT_OUTCOME
        | TLS_RPT_TXT_OUTCOME
        | CLIENT_ADDRESS_OUTCOME
        | MX_A_OUTCOME
        | MX_AAAA_OUTCOME
        | TLSA_OUTCOME => labels_of::<OutcomeKind>(),
        MX_SOURCE => labels_of::<MxSource>(),
        SPF_STATUS | DMARC_STATUS | MTA_STS_STATUS | TLS_RPT_STATUS => labels_of::<PolicyStatus>(),
        SPF_ALL => labels_of::<spf::Qualifier>(),
        DMARC_POLICY | DMARC_SUBDOMAIN_POLICY | DMARC_EFFECTIVE_POLICY => labels_of::<dmarc::Policy>(),
        SPF_OUTCOME => vec!["none", "valid", "permerror", "temperror", "not_queried"],
        SPF_PERMERROR_REASON => labels_of::<spf::PermErrorReason>(),
        DMARC_SOURCE => labels_of::<dmarc::Source>(),
        DMARC_ADKIM | DMARC_ASPF => labels_of::<dmarc::Alignment>(),
        DMARC_EXTERNAL_REPORTS => vec!["all", "some", "none", "n_a", "unknown"],
        DKIM_STATUS => labels_of::<dkim::DkimStatus>(),
        MTA_STS_FETCH | CLIENT_AUTOCONFIG => labels_of::<FetchOutcome>(),
        MTA_STS_MODE => labels_of::<mta_sts::Mode>(),
        MTA_STS_MX_MATCH | DANE | TLS_CERT_VALID => labels_of::<Share>(),
        DNSSEC_STATUS | MX_DNSSEC | TLSA_DNSSEC => labels_of::<DnssecStatus>(),
        CLIENT_TLS => labels_of::<ClientTlsSummary>(),
        CLIENT_CONFIG_SOURCE | CLIENT_SOURCE => labels_of::<Source>(),
        STARTTLS => labels_of::<StarttlsSummary>(),
        TLS_VERSION_MIN | TLS_VERSION => labels_of::<TlsVersion>(),
        CLIENT_PROTOCOL => labels_of::<Protocol>(),
        CLIENT_DECLARED_SOCKET => labels_of::<SocketType>(),
        PROBE_STATUS => vec!["done", "failed", "skipped"],
        PROBE_PHASE => labels_of::<Phase>(),
        PROBE_REASON => {
            let mut v = labels_of::<FailureReason>();
            v.extend(labels_of::<SkipReason>().into_iter().filter(|l| !v.contains(l)).collect::<Vec<_>>());
            v
        }
        PROBE_SOURCE => labels_of::<ProbeSource>(),
        TLS_CERT_VERDICT => labels_of::<CertVerdict>(),
        TLS_CERT_KEY_TYPE => labels_of::<crate::probe::tls::cert::KeyType>(),
        PTR_STATUS => labels_of::<crate::dns::reverse::ReverseSummary>(),
        PTR_FCRDNS => labels_of::<crate::dns::reverse::Fcrdns>(),
        BIMI_STATUS => labels_of::<crate::policy::bimi::BimiStatus>(),
        BIMI_LOGO_FETCH | BIMI_CERTIFICATE_FETCH => labels_of::<FetchOutcome>(),
        BIMI_LOGO => labels_of::<crate::policy::bimi::LogoVerdict>(),
        BIMI_CERTIFICATE => labels_of::<crate::policy::bimi::MarkVerdict>(),
        GMAIL_ALL_SENDERS | GMAIL_BULK_SENDERS => labels_of::<crate::scan::readiness::Verdict>(),
        GMAIL_CHECKMARK_PREDICTED => labels_of::<crate::scan::readiness::CheckmarkVerdict>(),
        _ => return None,
    })
}

fn f(name: &str, data_type: DataType, nullable: bool, description: &str) -> Field {
    let mut metadata = HashMap::from([("description".to_string(), description.to_string())]);
    if matches!(data_type, DataType::Dictionary(_, _))
        && let Some(values) = vocabulary(name)
    {
        metadata.insert(VALUES_KEY.to_string(), serde_json::to_string(&values).unwrap_or_default());
    }
    Field::new(name, data_type, nullable).with_metadata(metadata)
}

/// Every dataset's rows carry the scan's id and date, right after `domain`.
fn stamp_fields() -> [Field; 2] {
    [
        f(
            col::SCAN_ID,
            DataType::Utf8,
            false,
            "The scan this row belongs to: its start time (UTC) and a random suffix, e.g. 20261201T093000Z-4f2a9c; also in run.json, kept by --resume.",
        ),
        f(
            col::SCAN_DATE,
            DataType::Date32,
            false,
            "The day (UTC) the scan started, the same on every row of a scan (a Hive partition key for many scans).",
        ),
    ]
}

fn schema(dataset: &str, mut fields: Vec<Field>) -> SchemaRef {
    // After `domain`, the first column of every dataset.
    fields.splice(1..1, stamp_fields());
    Arc::new(Schema::new(fields).with_metadata(HashMap::from([
        ("mailcensus.dataset".to_string(), dataset.to_string()),
        ("mailcensus.schema_version".to_string(), SCHEMA_VERSION.to_string()),
    ])))
}

use DataType::{Boolean, Float64, Int16, Int32, Int64, Utf8};
use col::*;

/// `domains`: one row per input domain.
pub static DOMAINS: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema(
        "domains",
        vec![
            f(DOMAIN, Utf8, false, "The domain, normalised: lowercase ASCII (IDNA), no trailing dot."),
            f(INPUT_LINE, Int64, false, "Line of the input file it came from."),
            f(GROUP, Utf8, true, "Group from the input's group column (ISP, carrier, provider)."),
            f(WEIGHT, Float64, true, "Weight from the input's weight column (users, volume)."),
            f(SCANNED_AT, timestamp(), false, "When the scan of this domain started (UTC)."),
            f(
                SCAN_DURATION_MS,
                Int64,
                false,
                "Milliseconds from the start of this domain's scan to its end, waits for busy destinations included.",
            ),
            f(
                SCAN_ERROR,
                Utf8,
                true,
                "Why the domain's scan did not finish normally: domain_timeout: ... (its lookups ran past --domain-timeout; unfinished lookups say timeout) or internal: ... (a scanner bug; other columns may be incomplete).",
            ),
            f(
                EXCLUDED,
                Boolean,
                false,
                "The domain is on the exclude list: nothing was queried (outcomes say not_queried, starttls says excluded).",
            ),
            f(
                MX_OUTCOME,
                label(),
                false,
                "MX lookup: found, nxdomain, nodata, servfail, refused, timeout, error, not_queried (excluded).",
            ),
            f(MX_DETAIL, Utf8, true, "The resolver's message when the MX lookup failed."),
            f(
                MX_SOURCE,
                label(),
                false,
                "explicit (MX records), implicit (no MX, the domain's A/AAAA), null_mx, none, unknown (lookups failed), excluded.",
            ),
            f(
                MX,
                DataType::List(Arc::new(Field::new("item", DataType::Struct(mx_entry_fields()), true))),
                false,
                "MX records sorted by preference: list of {preference, host}.",
            ),
            f(MX_COUNT, Int32, false, "Number of MX hosts (1 for an implicit MX, 0 for none or null MX)."),
            f(
                MX_PROVIDER,
                Utf8,
                true,
                "The mail provider: the registrable domain (public suffix list) of the primary MX host (lowest preference); null without an MX host.",
            ),
            f(
                SPF_TXT_OUTCOME,
                label(),
                false,
                "TXT lookup at the domain: found, nxdomain, nodata, servfail, refused, timeout, error, not_queried (excluded).",
            ),
            f(
                SPF_STATUS,
                label(),
                false,
                "none, valid, multiple_records, syntax_error, temperror (lookup failed), not_queried (excluded).",
            ),
            f(
                SPF_ALL,
                label(),
                true,
                "Qualifier of the all mechanism: pass (+all), fail (-all), softfail (~all), neutral (?all).",
            ),
            f(SPF_RECORDS, utf8_list(), false, "Every v=spf1 record as published."),
            f(SPF_DETAIL, Utf8, true, "Syntax error or lookup failure text."),
            f(
                DMARC_TXT_OUTCOME,
                label(),
                false,
                "TXT lookup at _dmarc.<domain>: found, nxdomain, nodata, servfail, refused, timeout, error, not_queried (excluded).",
            ),
            f(
                DMARC_STATUS,
                label(),
                false,
                "none, valid, multiple_records, syntax_error, temperror (lookup failed), not_queried (excluded).",
            ),
            f(DMARC_POLICY, label(), true, "p: none, quarantine, reject."),
            f(DMARC_SUBDOMAIN_POLICY, label(), true, "sp: none, quarantine, reject."),
            f(DMARC_PCT, Int16, true, "pct (default 100)."),
            f(DMARC_RUA, utf8_list(), false, "rua: aggregate report destinations."),
            f(DMARC_RECORDS, utf8_list(), false, "Every v=DMARC1 record as published."),
            f(DMARC_DETAIL, Utf8, true, "Syntax error or lookup failure text."),
            f(
                SPF_OUTCOME,
                label(),
                false,
                "The whole policy evaluated, include and redirect followed (RFC 7208): none, valid, permerror, temperror (a lookup failed), not_queried.",
            ),
            f(
                SPF_PERMERROR_REASON,
                label(),
                true,
                "Why permerror: multiple_records, syntax_error, too_many_lookups (over 10), too_many_void_lookups (over 2), too_many_mx_names, include_without_record, redirect_without_record.",
            ),
            f(
                SPF_LOOKUPS,
                Int16,
                true,
                "DNS-querying terms counted (include, a, mx, ptr, exists, redirect); the limit is 10.",
            ),
            f(SPF_VOID_LOOKUPS, Int16, true, "Lookups that returned NXDOMAIN or no records; the limit is 2."),
            f(
                SPF_IPV4_AUTHORIZED,
                Int64,
                true,
                "IPv4 addresses the policy lets send (pass-qualified terms, overlaps counted once; 4294967296 is +all or a /0); null unless valid.",
            ),
            f(
                SPF_SENDER_DEPENDENT,
                Boolean,
                true,
                "Some term uses a macro or needs the sender's address (ptr, exists): those terms are counted but not resolved.",
            ),
            f(
                DMARC_SOURCE,
                label(),
                true,
                "Where the applying record is: domain (_dmarc.<domain>) or organizational_domain (RFC 7489 §6.6.3).",
            ),
            f(DMARC_ORG_DOMAIN, Utf8, true, "The organisational domain (public suffix list); null when not queried."),
            f(
                DMARC_EFFECTIVE_POLICY,
                label(),
                true,
                "The policy applying to the domain's own mail: p of its record, or sp (else p) of the organisational domain's.",
            ),
            f(DMARC_ADKIM, label(), true, "adkim: relaxed (default) or strict."),
            f(DMARC_ASPF, label(), true, "aspf: relaxed (default) or strict."),
            f(DMARC_FO, Utf8, true, "fo: failure reporting options (default 0)."),
            f(DMARC_RI, Int64, true, "ri: aggregate report interval in seconds (default 86400)."),
            f(DMARC_RUF, utf8_list(), false, "ruf: failure report destinations."),
            f(
                DMARC_EXTERNAL_REPORTS,
                label(),
                false,
                "Report destinations outside the organisational domain authorised by <domain>._report._dmarc.<dest>: all, some, none, unknown (a lookup failed), n_a (none external).",
            ),
            f(
                DMARC_EXTERNAL_UNAUTHORIZED,
                utf8_list(),
                false,
                "External report destination domains without an authorisation record.",
            ),
            f(
                DKIM_STATUS,
                label(),
                false,
                "found (a key at a probed selector), revoked (only empty p=), not_found (none of the probed selectors, NOT proof of no DKIM), temperror, not_queried.",
            ),
            f(
                DKIM_SELECTORS_PROBED,
                Int32,
                false,
                "How many selectors were probed (built-in or --dkim-selectors list plus the input's column).",
            ),
            f(
                DKIM_KEYS,
                DataType::List(Arc::new(Field::new("item", DataType::Struct(dkim_key_fields()), true))),
                false,
                "The key records found, in probing order: list of {selector, key_type (rsa, ed25519, unknown), key_bits (RSA modulus; 256 for Ed25519; null if revoked or unreadable), revoked (empty p=), testing (t=y)}.",
            ),
            f(DKIM_KEY_BITS_MIN, Int64, true, "Smallest size among the keys that are not revoked."),
            f(DKIM_TESTING, Boolean, true, "Some key has t=y (testing); null when no key was found."),
            f(DKIM_FAILED, utf8_list(), false, "Selectors whose lookup failed (unknown)."),
            f(
                MTA_STS_TXT_OUTCOME,
                label(),
                false,
                "TXT lookup at _mta-sts.<domain>: found, nxdomain, nodata, servfail, refused, timeout, error, not_queried.",
            ),
            f(
                MTA_STS_STATUS,
                label(),
                false,
                "The v=STSv1 record: none, valid, multiple_records, syntax_error, temperror, not_queried.",
            ),
            f(MTA_STS_ID, Utf8, true, "The record's id."),
            f(
                MTA_STS_FETCH,
                label(),
                false,
                "Fetch of https://mta-sts.<domain>/.well-known/mta-sts.txt: ok, not_fetched (no valid record), no_address, address_lookup_failed (the host's lookup failed), connect_failed, timeout, tls_failed, http_error, http_status, wrong_content_type, too_large, syntax_error, skipped.",
            ),
            f(MTA_STS_HTTP_STATUS, Int32, true, "HTTP status of the policy fetch."),
            f(MTA_STS_DETAIL, Utf8, true, "Why the record or the fetch failed (TLS error, HTTP status, parse error)."),
            f(MTA_STS_MODE, label(), true, "Policy mode: enforce, testing, none."),
            f(MTA_STS_MAX_AGE, Int64, true, "Policy max_age in seconds."),
            f(MTA_STS_MX, utf8_list(), false, "Policy mx patterns."),
            f(
                MTA_STS_MX_MATCH,
                label(),
                false,
                "How many MX hosts match a policy pattern: all, some, none, n_a (no policy).",
            ),
            f(
                MTA_STS_EFFECTIVE,
                Boolean,
                true,
                "enforce mode, every MX host matches a pattern, and every TLS session with them in this run had a valid certificate; null without a policy.",
            ),
            f(
                TLS_RPT_TXT_OUTCOME,
                label(),
                false,
                "TXT lookup at _smtp._tls.<domain>: found, nxdomain, nodata, servfail, refused, timeout, error, not_queried.",
            ),
            f(
                TLS_RPT_STATUS,
                label(),
                false,
                "The v=TLSRPTv1 record: none, valid, multiple_records, syntax_error, temperror, not_queried.",
            ),
            f(TLS_RPT_RUA, utf8_list(), false, "TLS-RPT report destinations (mailto: or https:)."),
            f(TLS_RPT_DETAIL, Utf8, true, "Syntax error or lookup failure text."),
            f(
                DNSSEC_STATUS,
                label(),
                false,
                "DNSSEC validation of the domain's MX answer (hickory's validator): secure, insecure, bogus, indeterminate, lookup_failed, not_checked (--no-dnssec or excluded).",
            ),
            f(
                DANE,
                label(),
                false,
                "Of the MX addresses with secure, usable TLSA records, how many passed DANE (RFC 7672): all, some, none, n_a (no such address).",
            ),
            f(
                CLIENT_TLS,
                label(),
                false,
                "Client-to-server TLS (submission, IMAP, POP3): of the endpoints that answered, how many ended in TLS: all, some, none; not_found (no endpoint found), unreachable, no_mx (the domain accepts no mail: nothing looked for), not_probed (--no-client-probes or excluded).",
            ),
            f(
                CLIENT_PLAINTEXT_AUTH,
                Boolean,
                true,
                "Some plaintext port accepts authentication before TLS (AUTH before STARTTLS, no LOGINDISABLED, USER/SASL before STLS); null when no plaintext port answered.",
            ),
            f(
                CLIENT_ENDPOINT_COUNT,
                Int32,
                false,
                "Client endpoints found (SRV, autoconfig, or guesses), before address lookups.",
            ),
            f(
                CLIENT_SRV_NOT_OFFERED,
                utf8_list(),
                false,
                "Protocols whose SRV record says the service is not offered (target '.').",
            ),
            f(
                CLIENT_AUTOCONFIG,
                label(),
                false,
                "Fetch of https://autoconfig.<domain>/mail/config-v1.1.xml: ok, no_address, address_lookup_failed (the host's lookup failed), connect_failed, timeout, tls_failed, http_error, http_status, too_large, syntax_error, skipped, not_fetched (not probed).",
            ),
            f(CLIENT_AUTOCONFIG_DETAIL, Utf8, true, "Why the autoconfig fetch failed."),
            f(
                CLIENT_CONFIG_SOURCE,
                label(),
                true,
                &format!(
                    "The discovery step that gave the endpoints beyond SRV: {} (see client_endpoints.client_source); null when none did.",
                    crate::label::list::<crate::client::Source>()
                ),
            ),
            f(
                CLIENT_PROVIDER_ID,
                Utf8,
                true,
                "The provider of the configuration used: its autoconfig or ISPDB emailProvider id, or the MX provider whose conventional names were found (guess_mx).",
            ),
            f(
                CLIENT_DECLARED_PLAIN,
                Boolean,
                true,
                "The configuration the domain's users are given (autoconfig or ISPDB) declares some endpoint without TLS (socketType plain); null when no configuration file was found. A true fails the client-to-server column whatever the servers do.",
            ),
            f(
                STARTTLS,
                label(),
                false,
                "all, some, none (of the MX addresses that answered, how many completed STARTTLS), no_mx, dns_failed, not_probed, unreachable, excluded.",
            ),
            f(
                TLS_CERT_VALID,
                label(),
                false,
                "all, some, none (of the TLS sessions, how many had a valid certificate), n_a (no TLS session).",
            ),
            f(TLS_VERSION_MIN, label(), true, "Lowest TLS version negotiated with any MX address: tls1_2, tls1_3."),
            f(
                GMAIL_RED_LOCK,
                Boolean,
                true,
                "Predicted Gmail red padlock: true if the preferred answering MX has no working STARTTLS; null when unknown or no mail is accepted.",
            ),
            f(
                GMAIL_UNAUTHENTICATED_RISK,
                Boolean,
                true,
                "Predicted Gmail \"?\" mark: true when there is no working SPF policy (none or permerror) and no DKIM key at any probed selector; null when a lookup failed.",
            ),
            f(
                SPF_SINGLE_HOSTS,
                utf8_list(),
                false,
                "Single hosts the SPF policy authorises (ip4 /32, ip6 /128, a and mx names' addresses without a shorter prefix), includes followed, at most 16: the hosts known to send besides the MX hosts.",
            ),
            f(
                PTR_STATUS,
                label(),
                false,
                &format!(
                    "Reverse DNS over the known sending hosts (MX addresses probed, spf_single_hosts): {}. no_ptr and mismatch are certain and outrank unknown (a failed lookup, or the MX or an MX host's addresses could not be looked up, so the sending hosts are not all known).",
                    crate::label::list::<crate::dns::reverse::ReverseSummary>()
                ),
            ),
            f(PTR_ADDRESSES, Int32, false, "Distinct sending-host addresses whose reverse DNS was judged."),
            f(
                PTR_DETAIL,
                Utf8,
                true,
                "The reverse DNS problems in words, each naming its address, at most four, joined by '; '.",
            ),
            f(
                BIMI_STATUS,
                label(),
                false,
                &format!(
                    "The BIMI record at default._bimi.<domain>: {}. declined: l= empty and no a=; syntax_error also for a URL that is not https or an a= without l=.",
                    crate::label::list::<crate::policy::bimi::BimiStatus>()
                ),
            ),
            f(BIMI_RECORD, Utf8, true, "The BIMI record as published (when there is exactly one)."),
            f(BIMI_LOGO_URL, Utf8, true, "l=: the logo's URL."),
            f(BIMI_AUTHORITY_URL, Utf8, true, "a=: the mark certificate's URL."),
            f(BIMI_DETAIL, Utf8, true, "Why the record is not valid, or the lookup failure."),
            f(
                BIMI_LOGO_FETCH,
                label(),
                false,
                "Fetch of the l= logo (as mta_sts_fetch; ok means an HTTP 200 answer within 32 KiB); not_fetched without a valid record.",
            ),
            f(
                BIMI_LOGO,
                label(),
                true,
                &format!(
                    "The logo judged against SVG Tiny PS's basic rules: {}; null when not fetched.",
                    crate::label::list::<crate::policy::bimi::LogoVerdict>()
                ),
            ),
            f(BIMI_LOGO_SHA256, Utf8, true, "SHA-256 of the logo fetched, hex."),
            f(
                BIMI_CERTIFICATE_FETCH,
                label(),
                false,
                "Fetch of the a= mark certificate (PEM, at most 64 KiB; as mta_sts_fetch); not_fetched without a=.",
            ),
            f(
                BIMI_CERTIFICATE,
                label(),
                true,
                &format!(
                    "The mark certificate (VMC/CMC): {}. Checked in that order: PEM, extended key usage 1.3.6.1.5.5.7.3.31, dates, the domain (or its organisational domain) in its names, the embedded logo equal to the l= logo, the chain to a --bimi-ca-file root; null when not fetched.",
                    crate::label::list::<crate::policy::bimi::MarkVerdict>()
                ),
            ),
            f(
                BIMI_MARK_TYPE,
                Utf8,
                true,
                "The certificate's mark type (subject attribute 1.3.6.1.4.1.53087.1.13): Registered Mark, Government Mark (VMC), Prior Use Mark, Modified Registered Mark (CMC).",
            ),
            f(BIMI_FETCH_DETAIL, Utf8, true, "Why a fetch failed, or what is wrong with the logo or the certificate."),
            f(
                BIMI_DMARC_ENFORCED,
                Boolean,
                true,
                "DMARC is at the enforcement BIMI requires: p=quarantine or reject applying to the domain, pct=100, no sp=none; null when the DMARC lookup failed.",
            ),
            f(
                GMAIL_ALL_SENDERS,
                label(),
                false,
                "Gmail's requirements for all senders, as far as DNS shows them (SPF or DKIM; reverse DNS of the known sending hosts): ready, not_ready, unknown (a lookup failed, nothing certain is missing), not_checked (a needed check was off, or excluded). See README, Gmail readiness.",
            ),
            f(
                GMAIL_ALL_SENDERS_REASONS,
                utf8_list(),
                false,
                &format!(
                    "Why not ready, certain reasons first: {}.",
                    crate::label::list::<crate::scan::readiness::ReadinessReason>()
                ),
            ),
            f(
                GMAIL_BULK_SENDERS,
                label(),
                false,
                "Gmail's requirements for bulk senders (5,000+ messages a day), as far as DNS shows them (SPF and DKIM, a DMARC record, reverse DNS): ready, not_ready, unknown, not_checked.",
            ),
            f(GMAIL_BULK_SENDERS_REASONS, utf8_list(), false, "Why not ready (as gmail_all_senders_reasons)."),
            f(
                GMAIL_CHECKMARK_PREDICTED,
                label(),
                false,
                "Would Gmail show the brand's logo with its blue checkmark (valid BIMI record, DMARC at enforcement, a Tiny PS logo, a verified mark certificate for the domain and logo, chained to a --bimi-ca-file root): predicted, not_predicted, unknown (a lookup or fetch failed, or no --bimi-ca-file), not_checked.",
            ),
            f(
                GMAIL_CHECKMARK_MISSING,
                utf8_list(),
                false,
                &format!(
                    "What is missing for the checkmark, certain reasons first: {}.",
                    crate::label::list::<crate::scan::readiness::CheckmarkReason>()
                ),
            ),
        ],
    )
});

/// `client_endpoints`: one row per (domain, protocol, endpoint, port, IP).
pub static CLIENT_ENDPOINTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema(
        "client_endpoints",
        vec![
            f(DOMAIN, Utf8, false, "The domain (joins with domains.domain)."),
            f(GROUP, Utf8, true, "Group from the input."),
            f(
                CLIENT_PROTOCOL,
                label(),
                false,
                "submissions (465, implicit TLS), submission (587, STARTTLS), imaps (993), imap (143, STARTTLS), pop3s (995), pop3 (110, STLS).",
            ),
            f(CLIENT_HOST, Utf8, false, "Endpoint host name."),
            f(CLIENT_PORT, Int32, false, "Endpoint port."),
            f(
                CLIENT_SOURCE,
                label(),
                false,
                "Where the endpoint came from: srv (SRV record), autoconfig (autoconfig.<domain>), autoconfig_well_known (<domain>/.well-known/autoconfig), ispdb (the ISP database by the domain), ispdb_mx (the ISP database by the MX provider), autoconfig_mx (autoconfig.<MX provider>), guess (a conventional name under the domain that resolves), guess_mx (under the MX provider).",
            ),
            f(
                CLIENT_DECLARED_SOCKET,
                label(),
                true,
                "What the configuration file (autoconfig or ISPDB) tells mail apps: ssl (implicit TLS), starttls, plain (no TLS); null for SRV and guesses.",
            ),
            f(
                CLIENT_DECLARED_AUTH,
                utf8_list(),
                false,
                "Authentication methods the configuration file declares: password_cleartext, password_encrypted, oauth2, none, other.",
            ),
            f(
                CLIENT_DECLARED_CLEARTEXT_PASSWORD,
                Boolean,
                true,
                "The configuration file tells mail apps to send the password without TLS (socketType plain with a password method, or none named); null when nothing was declared.",
            ),
            f(
                CLIENT_IMPLICIT_TLS,
                Boolean,
                false,
                "TLS from the first byte (465, 993, 995) rather than after STARTTLS/STLS.",
            ),
            f(
                CLIENT_ADDRESS_OUTCOME,
                label(),
                false,
                "A lookup of the endpoint host (AAAA when A found nothing): found, nxdomain, nodata, servfail, refused, timeout, error, not_queried.",
            ),
            f(IP, Utf8, true, "The address probed; null when the host has no usable address."),
            f(PROBE_STATUS, label(), false, "done, failed, skipped."),
            f(
                PROBE_PHASE,
                label(),
                true,
                "Phase of a failure: connect, banner (greeting), ehlo (capabilities), starttls, handshake, post_tls.",
            ),
            f(PROBE_REASON, label(), true, "Reason of a failure (as in mx_hosts), or why the probe was skipped."),
            f(PROBE_REPLY_CODE, Int32, true, "SMTP reply code of a rejection (submission)."),
            f(PROBE_DETAIL, Utf8, true, "The error text or the server's words."),
            f(
                PROBE_CACHED,
                Boolean,
                false,
                "The result was shared with an earlier domain (each (protocol, host, port, IP) is probed once per run).",
            ),
            f(
                PROBE_SOURCE,
                label(),
                true,
                "Where this row's facts come from: own (a connection to this host name and address, for this domain), cache (the connection made for an earlier domain), shared_address (no connection to this name: the address gives every name the same answer, so the probe of probe_source_host there is judged for this name); null when skipped.",
            ),
            f(
                PROBE_SOURCE_HOST,
                Utf8,
                true,
                "For shared_address: the host name whose probe at this address gave the facts.",
            ),
            f(PROBE_DURATION_MS, Int64, true, "Duration of the probe, milliseconds."),
            f(CLIENT_GREETING, Utf8, true, "The server's greeting."),
            f(
                CLIENT_CAPABILITIES,
                utf8_list(),
                false,
                "Capabilities before TLS (over TLS for implicit-TLS ports): EHLO keywords, IMAP CAPABILITY, POP3 CAPA.",
            ),
            f(
                CLIENT_STARTTLS_OFFERED,
                Boolean,
                true,
                "STARTTLS (or STLS) is offered on a plaintext port; null on implicit-TLS ports.",
            ),
            f(
                CLIENT_PLAINTEXT_AUTH,
                Boolean,
                true,
                "The plaintext port accepts authentication before TLS: AUTH in EHLO before STARTTLS, LOGINDISABLED absent or an AUTH= mechanism listed (IMAP), USER or a non-empty SASL list before STLS (POP3). No credential is ever sent.",
            ),
            f(TLS_VERSION, label(), true, "Negotiated TLS version: tls1_2, tls1_3."),
            f(TLS_CIPHER, label(), true, "Negotiated cipher suite (IANA name)."),
            f(
                TLS_CERT_VERDICT,
                label(),
                true,
                "valid, expired, not_yet_valid, self_signed, unknown_issuer, name_mismatch (against the endpoint host name), other.",
            ),
            f(TLS_CERT_DETAIL, Utf8, true, "The verifier's words when the verdict is not valid."),
            f(TLS_CERT_NOT_AFTER, timestamp(), true, "Leaf notAfter (UTC)."),
            f(TLS_CERT_SHA256, Utf8, true, "SHA-256 fingerprint of the leaf DER, lowercase hex."),
        ],
    )
});

/// `mx_hosts`: one row per (domain, MX host, IP).
pub static MX_HOSTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema(
        "mx_hosts",
        vec![
            f(DOMAIN, Utf8, false, "The domain (joins with domains.domain)."),
            f(GROUP, Utf8, true, "Group from the input."),
            f(MX_HOST, Utf8, false, "MX host name (the domain itself for an implicit MX)."),
            f(MX_PREFERENCE, Int32, false, "MX preference (0 for an implicit MX)."),
            f(MX_IMPLICIT, Boolean, false, "The MX is implicit (the domain's own A/AAAA, RFC 5321 §5.1)."),
            f(
                MX_A_OUTCOME,
                label(),
                false,
                "A lookup of the MX host: found, nxdomain, nodata, servfail, refused, timeout, error, not_queried (excluded or over the limit).",
            ),
            f(MX_AAAA_OUTCOME, label(), false, "AAAA lookup of the MX host."),
            f(MX_ADDRESS_DETAIL, Utf8, true, "The resolver's message when an address lookup failed."),
            f(IP, Utf8, true, "The address probed; null when the host has no usable address."),
            f(IP_VERSION, Int16, true, "4 or 6."),
            f(PROBE_STATUS, label(), false, "done, failed, skipped."),
            f(PROBE_PHASE, label(), true, "Phase of a failure: connect, banner, ehlo, starttls, handshake, post_tls."),
            f(
                PROBE_REASON,
                label(),
                true,
                "Failure reason (refused, timeout, closed, reset, unreachable, bad_reply, rejected, plaintext_after_starttls, legacy_tls_only, tls_alert, tls_protocol, io, internal) or skip reason (non_public_address, ipv6_disabled, no_address, address_lookup_failed, over_limit, excluded).",
            ),
            f(PROBE_REPLY_CODE, Int32, true, "SMTP code of a rejecting reply (e.g. 421, 454, 554)."),
            f(PROBE_DETAIL, Utf8, true, "Free text of a failure."),
            f(
                PROBE_CACHED,
                Boolean,
                false,
                "The probe result is shared with an earlier domain of this run (same MX host and IP).",
            ),
            f(
                PROBE_SOURCE,
                label(),
                true,
                "Where this row's facts come from: own (a connection to this host name and address, for this domain), cache (the connection made for an earlier domain), shared_address (no connection to this name: the address gives every name the same answer, so the probe of probe_source_host there is judged for this name); null when skipped.",
            ),
            f(
                PROBE_SOURCE_HOST,
                Utf8,
                true,
                "For shared_address: the host name whose probe at this address gave the facts.",
            ),
            f(PROBE_DURATION_MS, Int64, true, "Duration of the probe in ms (the last attempt; null when skipped)."),
            f(
                PROBE_ATTEMPTS,
                Int16,
                true,
                "Connections made: 1, or more when a 421/4xx greeting was retried after a back-off (null when skipped).",
            ),
            f(SMTP_BANNER_CODE, Int32, true, "Code of the greeting (220, 421, 554 ...)."),
            f(
                SMTP_BANNER,
                Utf8,
                true,
                "Text of the greeting, lines joined by newlines: at most 64 lines of 512 bytes are kept, then `[N more lines not kept]`.",
            ),
            f(SMTP_EHLO_CODE, Int32, true, "Code of the reply to EHLO (or HELO after a refused EHLO)."),
            f(SMTP_HELO_FALLBACK, Boolean, true, "EHLO was refused and HELO used."),
            f(SMTP_EXTENSIONS, utf8_list(), false, "EHLO extensions before TLS, keyword uppercased, with parameters."),
            f(
                SMTP_STARTTLS_OFFERED,
                Boolean,
                true,
                "STARTTLS is among the extensions (null if EHLO was never answered).",
            ),
            f(SMTP_STARTTLS_CODE, Int32, true, "Code of the reply to STARTTLS (220, 454 ...)."),
            f(SMTP_STARTTLS_REPLY, Utf8, true, "Text of the reply to STARTTLS."),
            f(SMTP_POST_TLS_EHLO_CODE, Int32, true, "Code of the reply to EHLO over TLS."),
            f(TLS_VERSION, label(), true, "Negotiated TLS version: tls1_2, tls1_3."),
            f(TLS_CIPHER, label(), true, "Negotiated cipher suite (IANA name)."),
            f(TLS_KX_GROUP, label(), true, "Key-exchange group (e.g. X25519)."),
            f(TLS_CHAIN_LENGTH, Int16, true, "Certificates sent by the server."),
            f(TLS_SIGNATURE_VALID, Boolean, true, "The handshake signature verified with the leaf certificate's key."),
            f(
                TLS_CERT_VERDICT,
                label(),
                true,
                "valid, expired, not_yet_valid, self_signed, unknown_issuer, name_mismatch (against the MX host name), other.",
            ),
            f(TLS_CERT_DETAIL, Utf8, true, "The verifier's words when the verdict is not valid."),
            f(TLS_CERT_NAME_MATCHES, Boolean, true, "The leaf is valid for the MX host name (independent of trust)."),
            f(TLS_CERT_EXPIRED, Boolean, true, "The leaf is past notAfter (independent of trust)."),
            f(TLS_CERT_SELF_SIGNED, Boolean, true, "The leaf is self-issued (independent of trust)."),
            f(TLS_CERT_SUBJECT, Utf8, true, "Leaf subject DN."),
            f(TLS_CERT_ISSUER, Utf8, true, "Leaf issuer DN."),
            f(TLS_CERT_SAN, utf8_list(), false, "Leaf subjectAltName DNS names."),
            f(TLS_CERT_NOT_BEFORE, timestamp(), true, "Leaf notBefore (UTC)."),
            f(TLS_CERT_NOT_AFTER, timestamp(), true, "Leaf notAfter (UTC)."),
            f(TLS_CERT_KEY_TYPE, label(), true, "Leaf key type: rsa, ec, ed25519, ed448, dsa, other."),
            f(TLS_CERT_KEY_BITS, Int64, true, "Leaf key size in bits."),
            f(TLS_CERT_SIGNATURE_ALGORITHM, label(), true, "Leaf signature algorithm (e.g. sha256WithRSAEncryption)."),
            f(TLS_CERT_SHA256, Utf8, true, "SHA-256 fingerprint of the leaf DER, lowercase hex."),
            f(
                MX_DNSSEC,
                label(),
                false,
                "DNSSEC validation of the MX host's A answer: secure, insecure, bogus, indeterminate, lookup_failed, not_checked.",
            ),
            f(
                TLSA_OUTCOME,
                label(),
                false,
                "TLSA lookup at _25._tcp.<mx host>: found, nxdomain, nodata, servfail, refused, timeout, error (a bogus answer is looked up again without validation), not_queried.",
            ),
            f(
                TLSA_DNSSEC,
                label(),
                false,
                "DNSSEC validation of the TLSA answer (only secure records count for DANE).",
            ),
            f(TLSA_RECORDS, utf8_list(), false, "TLSA records as 'usage selector matching hex-data'."),
            f(
                DANE_VALID,
                Boolean,
                true,
                "A usable (DANE-TA or DANE-EE) secure TLSA record matches the chain this address presented; false also when STARTTLS failed; null without secure, usable TLSA records.",
            ),
            f(PTR_NAME, Utf8, true, "The PTR name that resolves back to this address, else its first PTR name."),
            f(
                PTR_FCRDNS,
                label(),
                true,
                &format!(
                    "Reverse DNS of this address, forward-confirmed (FCrDNS): {}; null when the address is not probed. One lookup pair per distinct address per run.",
                    crate::label::list::<crate::dns::reverse::Fcrdns>()
                ),
            ),
            f(PTR_DETAIL, Utf8, true, "Why reverse DNS is not a match."),
        ],
    )
});

/// The `domains` column of an input column kept with `--keep-column`: `input_` and the name in
/// snake_case (lowercase ASCII letters and digits, anything else `_`).
pub fn kept_column_name(name: &str) -> String {
    let mut out = String::from("input_");
    for c in name.trim().chars() {
        out.push(if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' });
    }
    out
}

/// `domains` with the kept input columns (`--keep-column`) appended, as nullable strings.
pub fn domains_with_kept(keep: &[String]) -> SchemaRef {
    if keep.is_empty() {
        return DOMAINS.clone();
    }
    let mut fields: Vec<Field> = DOMAINS.fields().iter().map(|f| f.as_ref().clone()).collect();
    for name in keep {
        fields.push(f(&kept_column_name(name), Utf8, true, &format!("The input's {name:?} column (--keep-column).")));
    }
    Arc::new(Schema::new(fields).with_metadata(DOMAINS.metadata().clone()))
}

/// Renders a schema as the golden text: one `name: type nullable` line per column.
pub fn golden(schema: &Schema) -> String {
    let mut out = String::new();
    for field in schema.fields() {
        let null = if field.is_nullable() { "null" } else { "not null" };
        out.push_str(&format!("{}: {} {}\n", field.name(), field.data_type(), null));
    }
    out
}

/// The README's name of a list item's type.
fn type_label(t: &DataType) -> String {
    match t {
        DataType::Dictionary(_, _) => "label".to_string(),
        DataType::Utf8 => "string".to_string(),
        other => other.to_string().to_lowercase(),
    }
}

/// Renders a schema as a Markdown table (column, type, description), as in the README.
pub fn markdown(schema: &Schema) -> String {
    let mut out = String::from("| column | type | description |\n|---|---|---|\n");
    for field in schema.fields() {
        let ty = match field.data_type() {
            DataType::Dictionary(_, _) => "label".to_string(),
            DataType::Timestamp(_, _) => "timestamp (ms, UTC)".to_string(),
            DataType::Date32 => "date".to_string(),
            DataType::List(item) if let DataType::Struct(fields) = item.data_type() => {
                let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
                format!("list<{{{}}}>", names.join(", "))
            }
            DataType::List(item) => format!("list<{}>", type_label(item.data_type())),
            DataType::Utf8 => "string".to_string(),
            other => other.to_string().to_lowercase(),
        };
        let ty = if field.is_nullable() { format!("{ty}, nullable") } else { ty };
        let desc = field.metadata().get("description").map(String::as_str).unwrap_or("");
        out.push_str(&format!("| `{}` | {} | {} |\n", field.name(), ty, desc.replace('|', "\\|")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_golden(name: &str, schema: &Schema) {
        let path = format!("{}/data/schema/{name}.txt", env!("CARGO_MANIFEST_DIR"));
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        let got = golden(schema);
        if std::env::var_os("MAILCENSUS_BLESS").is_some() {
            std::fs::write(&path, &got).unwrap();
            return;
        }
        assert_eq!(
            got, want,
            "schema {name} drifted from {path}: bump SCHEMA_VERSION, update the README, then rerun with MAILCENSUS_BLESS=1"
        );
    }

    #[test]
    fn schemas_match_golden_files() {
        check_golden("domains", &DOMAINS);
        check_golden("mx_hosts", &MX_HOSTS);
        check_golden("client_endpoints", &CLIENT_ENDPOINTS);
    }

    #[test]
    fn column_names_are_snake_case_and_unique() {
        for schema in [&*DOMAINS, &*MX_HOSTS, &*CLIENT_ENDPOINTS] {
            let mut seen = std::collections::HashSet::new();
            for field in schema.fields() {
                assert!(
                    field.name().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{}",
                    field.name()
                );
                assert!(seen.insert(field.name().clone()), "duplicate {}", field.name());
                assert!(
                    field.metadata().get("description").is_some_and(|d| !d.is_empty()),
                    "{} has no description",
                    field.name()
                );
            }
        }
    }

    #[test]
    fn markdown_lists_every_column_once() {
        let md = markdown(&DOMAINS);
        assert_eq!(md.lines().count(), DOMAINS.fields().len() + 2);
        assert!(md.contains("| `gmail_red_lock` | boolean, nullable | Predicted Gmail red padlock"));
        // Lists say what they hold.
        assert!(md.contains("| `dmarc_rua` | list<string> |"), "{md}");
        assert!(md.contains("| `dkim_keys` | list<{selector, key_type, key_bits, revoked, testing}> |"), "{md}");
        assert!(md.contains("| `tls_rpt_rua` | list<string> |"), "{md}");
    }

    #[test]
    fn readme_documents_every_column() {
        let readme = std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
        for schema in [&*DOMAINS, &*MX_HOSTS, &*CLIENT_ENDPOINTS] {
            for field in schema.fields() {
                assert!(
                    readme.contains(&format!("| `{}` |", field.name())),
                    "README does not document column {}",
                    field.name()
                );
            }
        }
    }
}
