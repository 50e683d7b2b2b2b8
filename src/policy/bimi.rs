//! BIMI (Brand Indicators for Message Identification): the `default._bimi.<domain>` record
//! (`v=BIMI1; l=<logo URL>; a=<mark certificate URL>`), the logo it points to (an SVG that must
//! follow the SVG Tiny Portable/Secure profile's basic rules), and the mark certificate (a VMC or
//! CMC: a PEM chain whose leaf carries the mark-certificate extended key usage, names the domain and
//! embeds the same logo). Gmail shows the brand's logo, and for a verified mark its blue checkmark,
//! only when all of that holds and DMARC is at enforcement.
//!
//! The fetches are made by the scan (through the probe runner, like MTA-STS); this module parses and
//! judges what came back. Nothing here trusts the network: every input is bounded and nothing
//! panics on it.

use std::io::Read;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::dmarc::{DmarcResult, Policy};
use super::{FetchOutcome, Fetched, PolicyStatus};
use crate::dns::DnsOutcome;

/// The largest logo accepted (the BIMI group's limit for an SVG Tiny PS logo is 32 KiB).
pub const MAX_LOGO_BYTES: usize = 32 * 1024;
/// The largest certificate file accepted.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;
/// The largest logo decompressed from a certificate's logotype extension.
const MAX_EMBEDDED_LOGO_BYTES: usize = 256 * 1024;

/// The extended key usage of a mark certificate (id-kp-BrandIndicatorforMessageIdentification,
/// 1.3.6.1.5.5.7.3.31), as the DER contents of its OID.
const MARK_EKU_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x1f];
const MARK_EKU: &str = "1.3.6.1.5.5.7.3.31";
/// The logotype extension (RFC 3709), which embeds the mark.
const LOGOTYPE_EXTENSION: &str = "1.3.6.1.5.5.7.1.12";
/// The subject attribute that says which kind of mark a certificate verifies.
const MARK_TYPE: &str = "1.3.6.1.4.1.53087.1.13";

crate::labels! {
    /// How the BIMI record came out.
    pub enum BimiStatus {
        /// No record (the lookup worked).
        None => "none",
        /// One record that parses and names a logo.
        Valid => "valid",
        /// The record declines to show a logo (`l=` empty and no `a=`).
        Declined => "declined",
        /// More than one `v=BIMI1` record.
        MultipleRecords => "multiple_records",
        /// A record that does not parse (or a URL that is not https).
        SyntaxError => "syntax_error",
        /// The lookup failed: unknown.
        TempError => "temperror",
        /// Not looked up (`--no-bimi`, or the domain is excluded).
        NotQueried => "not_queried",
    }
}

crate::labels! {
    /// What the logo file is, judged against the SVG Tiny PS profile's basic rules.
    pub enum LogoVerdict {
        /// An SVG whose root says `version="1.2" baseProfile="tiny-ps"`, with a title, and none of
        /// the forbidden content below.
        TinyPs => "tiny_ps",
        /// Not an SVG document (not XML, or the root is not `<svg>`).
        NotSvg => "not_svg",
        /// An SVG, but not declared as the Tiny PS profile, or without its `<title>`.
        NotTinyPs => "not_tiny_ps",
        /// Contains a script, or an event handler attribute.
        Script => "script",
        /// Refers to something outside the file (an `href` that is not a fragment, `<image>`).
        ExternalReference => "external_reference",
        /// Contains animation.
        Animation => "animation",
    }
}

crate::labels! {
    /// What the mark certificate is.
    pub enum MarkVerdict {
        /// A mark certificate for the domain, current, embedding the same logo, with a chain to
        /// one of the `--bimi-ca-file` roots.
        Valid => "valid",
        /// Everything checked holds, but no `--bimi-ca-file` was given, so the chain is not checked.
        TrustNotChecked => "trust_not_checked",
        /// No PEM certificate in the file, or the leaf does not parse.
        BadPem => "bad_pem",
        /// The leaf lacks the mark-certificate extended key usage.
        NotMarkCertificate => "not_mark_certificate",
        /// Past its validity.
        Expired => "expired",
        /// Not valid yet.
        NotYetValid => "not_yet_valid",
        /// The leaf does not name the domain (or its organisational domain).
        NameMismatch => "name_mismatch",
        /// The leaf embeds no logo, or another logo than the record's `l=`.
        LogoMismatch => "logo_mismatch",
        /// The chain does not lead to a `--bimi-ca-file` root.
        Untrusted => "untrusted",
    }
}

/// A parsed `v=BIMI1` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BimiRecord {
    /// `l=`: the logo's https URL; `None` when empty.
    pub logo: Option<String>,
    /// `a=`: the mark certificate's https URL; `None` when absent, empty or `self`.
    pub authority: Option<String>,
}

/// Parses one BIMI record. Tags are `name=value` separated by `;`; `v=BIMI1` comes first; unknown
/// tags are ignored; a URL must be `https://`.
pub fn parse(record: &str) -> Result<BimiRecord, String> {
    let mut tags = record.split(';').map(str::trim).filter(|t| !t.is_empty());
    match tags.next().map(|t| t.split_once('=').map(|(n, v)| (n.trim(), v.trim()))) {
        Some(Some((n, v))) if n.eq_ignore_ascii_case("v") && v == "BIMI1" => {}
        _ => return Err("the record does not start with v=BIMI1".into()),
    }
    let (mut logo, mut authority) = (None, None);
    for tag in tags {
        let Some((name, value)) = tag.split_once('=') else {
            return Err(format!("tag without '=': {tag:?}"));
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        let url = |what: &str| -> Result<Option<String>, String> {
            if value.is_empty() || (what == "a" && value.eq_ignore_ascii_case("self")) {
                return Ok(None);
            }
            split_url(value)
                .map(|_| Some(value.to_string()))
                .ok_or_else(|| format!("{what}= is not an https URL: {value:?}"))
        };
        match name.as_str() {
            "l" if logo.is_none() => logo = Some(url("l")?),
            "a" if authority.is_none() => authority = Some(url("a")?),
            "l" | "a" => return Err(format!("{name}= given twice")),
            _ => {}
        }
    }
    Ok(BimiRecord { logo: logo.flatten(), authority: authority.flatten() })
}

/// The host and path of an `https://host/path` URL (no user info, no port other than 443).
pub fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.get(..8).filter(|p| p.eq_ignore_ascii_case("https://")).map(|_| &url[8..]))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let host = authority.strip_suffix(":443").unwrap_or(authority);
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !path.chars().any(|c| c.is_whitespace() || c.is_control());
    valid.then(|| (host.to_ascii_lowercase().trim_end_matches('.').to_string(), path.to_string()))
}

/// What was found about a domain's BIMI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BimiResult {
    /// The record's outcome.
    pub status: BimiStatus,
    /// The record as published (when there is exactly one).
    pub record: Option<String>,
    /// The parsed record.
    pub parsed: Option<BimiRecord>,
    /// Why the record is not valid, or a lookup failure.
    pub detail: Option<String>,
    /// The logo fetch.
    pub logo_fetch: FetchOutcome,
    /// What the logo is (when fetched).
    pub logo: Option<LogoVerdict>,
    /// SHA-256 of the logo, hex (when fetched).
    pub logo_sha256: Option<String>,
    /// The certificate fetch.
    pub certificate_fetch: FetchOutcome,
    /// What the certificate is (when fetched).
    pub certificate: Option<MarkVerdict>,
    /// The certificate's mark type (`Registered Mark`, `Government Mark`, `Prior Use Mark` ...).
    pub mark_type: Option<String>,
    /// Why a fetch failed, or what is wrong with the logo or the certificate.
    pub fetch_detail: Option<String>,
}

impl BimiResult {
    /// Not looked up.
    pub fn not_queried() -> Self {
        Self::with_status(BimiStatus::NotQueried)
    }

    fn with_status(status: BimiStatus) -> Self {
        Self {
            status,
            record: None,
            parsed: None,
            detail: None,
            logo_fetch: FetchOutcome::NotFetched,
            logo: None,
            logo_sha256: None,
            certificate_fetch: FetchOutcome::NotFetched,
            certificate: None,
            mark_type: None,
            fetch_detail: None,
        }
    }
}

/// The record part of a domain's BIMI from the TXT lookup at `default._bimi.<domain>`.
pub fn from_txt(txt: &DnsOutcome<Vec<String>>) -> BimiResult {
    let is_bimi = |t: &str| t.trim_start().get(..7).is_some_and(|p| p.eq_ignore_ascii_case("v=BIMI1"));
    let (status, records) = super::select_records(txt, is_bimi);
    let mut r = BimiResult::with_status(BimiStatus::None);
    r.status = match status {
        PolicyStatus::Valid => {
            r.record = Some(records[0].clone());
            match parse(&records[0]) {
                Ok(p) if p.logo.is_none() && p.authority.is_none() => BimiStatus::Declined,
                Ok(p) if p.logo.is_none() => {
                    r.detail = Some("a= without l=: no logo named".into());
                    r.parsed = Some(p);
                    BimiStatus::SyntaxError
                }
                Ok(p) => {
                    r.parsed = Some(p);
                    BimiStatus::Valid
                }
                Err(e) => {
                    r.detail = Some(e);
                    BimiStatus::SyntaxError
                }
            }
        }
        PolicyStatus::MultipleRecords => {
            r.detail = Some(format!("{} v=BIMI1 records", records.len()));
            BimiStatus::MultipleRecords
        }
        PolicyStatus::TempError => {
            r.detail = txt.failure().map(|f| f.to_string());
            BimiStatus::TempError
        }
        _ => BimiStatus::None,
    };
    r
}

/// Records what the logo fetch and (when `a=` is given) the certificate fetch got, and judges them
/// for `domain` (whose organisational domain is `org`) at `now`, with the `--bimi-ca-file` roots.
pub fn judge_fetches(
    r: &mut BimiResult,
    logo: Fetched,
    certificate: Option<Fetched>,
    domain: &str,
    org: &str,
    roots: Option<&[CertificateDer<'static>]>,
    now: UnixTime,
) {
    let mut details = Vec::new();
    let logo = ok_body(logo).map_err(|(outcome, detail)| {
        details.push(format!("logo: {detail}"));
        outcome
    });
    let logo_bytes = match logo {
        Ok(body) => {
            r.logo_fetch = FetchOutcome::Ok;
            let verdict = check_logo(&body);
            if verdict != LogoVerdict::TinyPs {
                details.push(format!("logo: {}", verdict.as_label()));
            }
            r.logo = Some(verdict);
            r.logo_sha256 = Some(sha256_hex(&body));
            Some(body)
        }
        Err(outcome) => {
            r.logo_fetch = outcome;
            None
        }
    };
    if let Some(certificate) = certificate {
        match ok_body(certificate) {
            Ok(pem) => {
                r.certificate_fetch = FetchOutcome::Ok;
                let check = check_certificate(&pem, domain, org, logo_bytes.as_deref(), roots, now);
                if let Some(d) = check.detail {
                    details.push(format!("certificate: {d}"));
                }
                r.certificate = Some(check.verdict);
                r.mark_type = check.mark_type;
            }
            Err((outcome, detail)) => {
                r.certificate_fetch = outcome;
                details.push(format!("certificate: {detail}"));
            }
        }
    }
    r.fetch_detail = (!details.is_empty()).then(|| details.join("; "));
}

/// The body of a 200 answer, or why there is none.
fn ok_body(fetched: Fetched) -> Result<Vec<u8>, (FetchOutcome, String)> {
    let response = fetched?;
    if response.status != 200 {
        return Err((FetchOutcome::HttpStatus, format!("HTTP {}", response.status)));
    }
    Ok(response.body)
}

/// Is DMARC at the enforcement BIMI requires: `p=quarantine` or `reject` applying to the domain,
/// `pct=100`, and no `sp=none` (for the organisational domain's record, the subdomain policy is the
/// one that applies)? `None` when the DMARC lookup failed.
pub fn dmarc_enforced(dmarc: &DmarcResult) -> Option<bool> {
    if matches!(dmarc.status, PolicyStatus::TempError | PolicyStatus::NotQueried) {
        return None;
    }
    let Some(record) = dmarc.record.as_ref() else { return Some(false) };
    let policy = dmarc.effective_policy();
    Some(
        matches!(policy, Some(Policy::Quarantine | Policy::Reject))
            && record.pct == 100
            && record.subdomain_policy != Some(Policy::None),
    )
}

/// Judges a logo against the basic rules of SVG Tiny PS: an XML document whose root is `<svg>` with
/// `version="1.2"` and `baseProfile="tiny-ps"`, a `<title>`, and no script, event handler,
/// animation or external reference. Bounded by the input (at most [`MAX_LOGO_BYTES`] are fetched).
pub fn check_logo(svg: &[u8]) -> LogoVerdict {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(svg);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut root_seen = false;
    let mut profile_ok = false;
    let mut title = false;
    let mut worst: Option<LogoVerdict> = None;
    let mut note = |v: LogoVerdict| {
        worst = Some(match worst {
            // Script outranks the rest: it is what makes a logo dangerous.
            Some(LogoVerdict::Script) => LogoVerdict::Script,
            Some(w) if v != LogoVerdict::Script => w,
            _ => v,
        })
    };
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(_) => return LogoVerdict::NotSvg,
        };
        let element = match &event {
            Event::Start(e) | Event::Empty(e) => Some(e.clone().into_owned()),
            Event::Eof => break,
            _ => None,
        };
        if let Some(e) = element {
            let name = e.local_name();
            let name = String::from_utf8_lossy(name.as_ref()).to_ascii_lowercase();
            if !root_seen {
                root_seen = true;
                if name != "svg" {
                    return LogoVerdict::NotSvg;
                }
                let attr = |key: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref().eq_ignore_ascii_case(key.as_bytes()))
                        .map(|a| String::from_utf8_lossy(&a.value).to_string())
                };
                profile_ok = attr("baseProfile").is_some_and(|p| p.eq_ignore_ascii_case("tiny-ps"))
                    && attr("version").is_some_and(|v| v == "1.2");
            }
            match name.as_str() {
                "title" => title = true,
                "script" | "foreignobject" => note(LogoVerdict::Script),
                "image" | "use" if has_external_href(&e) => note(LogoVerdict::ExternalReference),
                "image" => note(LogoVerdict::ExternalReference),
                "animate" | "animatemotion" | "animatecolor" | "animatetransform" | "set" => {
                    note(LogoVerdict::Animation)
                }
                _ if has_external_href(&e) => note(LogoVerdict::ExternalReference),
                _ => {}
            }
            if e.attributes().flatten().any(|a| a.key.local_name().as_ref().to_ascii_lowercase().starts_with(b"on")) {
                note(LogoVerdict::Script);
            }
        }
        buf.clear();
    }
    match (root_seen, worst) {
        (false, _) => LogoVerdict::NotSvg,
        (true, Some(w)) => w,
        (true, None) if profile_ok && title => LogoVerdict::TinyPs,
        (true, None) => LogoVerdict::NotTinyPs,
    }
}

fn has_external_href(e: &quick_xml::events::BytesStart<'_>) -> bool {
    e.attributes().flatten().any(|a| {
        a.key.local_name().as_ref().eq_ignore_ascii_case(b"href") && !a.value.trim_ascii_start().starts_with(b"#")
    })
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// What [`check_certificate`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkCheck {
    /// The verdict.
    pub verdict: MarkVerdict,
    /// The mark type from the subject, if any.
    pub mark_type: Option<String>,
    /// Why the verdict is not `valid`.
    pub detail: Option<String>,
}

/// Judges a mark certificate file (a PEM chain, leaf first) for `domain` (or its organisational
/// domain `org`), at `now`, against the logo fetched from `l=` (when it was fetched) and the trust
/// roots of `--bimi-ca-file` (`None`: not given).
pub fn check_certificate(
    pem: &[u8],
    domain: &str,
    org: &str,
    logo: Option<&[u8]>,
    roots: Option<&[CertificateDer<'static>]>,
    now: UnixTime,
) -> MarkCheck {
    let fail =
        |verdict, mark_type: Option<String>, detail: String| MarkCheck { verdict, mark_type, detail: Some(detail) };
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pem).take(8).filter_map(Result::ok).collect();
    let Some(leaf_der) = chain.first() else {
        return fail(MarkVerdict::BadPem, None, "no PEM certificate in the file".into());
    };
    let Ok((_, leaf)) = X509Certificate::from_der(leaf_der.as_ref()) else {
        return fail(MarkVerdict::BadPem, None, "the first certificate does not parse as X.509".into());
    };
    let mark_type = leaf
        .subject()
        .iter_attributes()
        .find(|a| a.attr_type().to_id_string() == MARK_TYPE)
        .and_then(|a| a.as_str().ok())
        .map(str::to_string);
    let eku =
        matches!(leaf.extended_key_usage(), Ok(Some(e)) if e.value.other.iter().any(|o| o.to_id_string() == MARK_EKU));
    if !eku {
        return fail(MarkVerdict::NotMarkCertificate, mark_type, format!("no extended key usage {MARK_EKU}"));
    }
    let validity = leaf.validity();
    let now_s = now.as_secs() as i64;
    if now_s > validity.not_after.timestamp() {
        return fail(MarkVerdict::Expired, mark_type, format!("expired {}", validity.not_after));
    }
    if now_s < validity.not_before.timestamp() {
        return fail(MarkVerdict::NotYetValid, mark_type, format!("valid from {}", validity.not_before));
    }
    let names: Vec<String> =
        crate::probe::tls::cert::dns_names(&leaf).into_iter().map(|n| n.to_ascii_lowercase()).collect();
    if !names.iter().any(|n| n == domain || n == org) {
        return fail(MarkVerdict::NameMismatch, mark_type, format!("names {} but not {domain}", names.join(" ")));
    }
    let embedded = leaf
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == LOGOTYPE_EXTENSION)
        .and_then(|e| embedded_logo(e.value));
    match (embedded, logo) {
        (None, _) => {
            return fail(MarkVerdict::LogoMismatch, mark_type, "no SVG logo embedded in the certificate".into());
        }
        (Some(e), Some(l)) if sha256_hex(&e) != sha256_hex(l) => {
            return fail(
                MarkVerdict::LogoMismatch,
                mark_type,
                format!("the embedded logo (sha256 {}) is not the l= logo", sha256_hex(&e)),
            );
        }
        _ => {}
    }
    let Some(roots) = roots else {
        return MarkCheck {
            verdict: MarkVerdict::TrustNotChecked,
            mark_type,
            detail: Some("no --bimi-ca-file given".into()),
        };
    };
    let anchors: Vec<_> = roots.iter().filter_map(|r| webpki::anchor_from_trusted_cert(r).ok()).collect();
    let verified = webpki::EndEntityCert::try_from(leaf_der).map_err(|e| e.to_string()).and_then(|ee| {
        ee.verify_for_usage(
            rustls::crypto::ring::default_provider().signature_verification_algorithms.all,
            &anchors,
            &chain[1..],
            now,
            webpki::KeyUsage::required(MARK_EKU_DER),
            None,
            None,
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    });
    match verified {
        Ok(()) => MarkCheck { verdict: MarkVerdict::Valid, mark_type, detail: None },
        Err(e) => fail(MarkVerdict::Untrusted, mark_type, format!("chain not verified to a --bimi-ca-file root: {e}")),
    }
}

/// The SVG embedded in a logotype extension (RFC 3709, as mark certificates use it: a
/// `data:image/svg+xml;base64,` URI of the gzipped SVG). Found by its URI prefix and the DER
/// length of the string that holds it, not by walking the whole ASN.1 structure; bounded.
pub fn embedded_logo(extension: &[u8]) -> Option<Vec<u8>> {
    const PREFIX: &[u8] = b"data:image/svg+xml;base64,";
    let at = extension.windows(PREFIX.len()).position(|w| w.eq_ignore_ascii_case(PREFIX))?;
    // The URI is an IA5String (tag 0x16): its DER length, just before it, says where it ends.
    let short = (at >= 2 && extension[at - 2] == 0x16 && extension[at - 1] < 0x80).then(|| extension[at - 1] as usize);
    let long = (1..=3usize).find_map(|k| {
        (at >= k + 2 && extension[at - k - 2] == 0x16 && extension[at - k - 1] == 0x80 | k as u8)
            .then(|| extension[at - k..at].iter().fold(0usize, |n, b| n << 8 | *b as usize))
    });
    let len = short.or(long)?;
    let uri = extension.get(at..at.checked_add(len)?)?;
    let data: Vec<u8> = uri[PREFIX.len()..].iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.decode(&data).ok()?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_EMBEDDED_LOGO_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .ok()?;
        (out.len() <= MAX_EMBEDDED_LOGO_BYTES).then_some(out)
    } else {
        Some(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn records() {
        let ok = |l: Option<&str>, a: Option<&str>| {
            Ok(BimiRecord { logo: l.map(str::to_string), authority: a.map(str::to_string) })
        };
        let cases: Vec<(&str, Result<BimiRecord, ()>)> = vec![
            (
                "v=BIMI1; l=https://b.test/logo.svg; a=https://b.test/vmc.pem",
                ok(Some("https://b.test/logo.svg"), Some("https://b.test/vmc.pem")),
            ),
            ("v=BIMI1;l=https://b.test/l.svg", ok(Some("https://b.test/l.svg"), None)),
            ("v=BIMI1; l=https://b.test/l.svg; a=self; x=whatever;", ok(Some("https://b.test/l.svg"), None)),
            ("v=BIMI1; l=; a=;", ok(None, None)),
            ("v=BIMI1;", ok(None, None)),
            ("v=BIMI1; l=http://b.test/l.svg", Err(())),
            ("v=BIMI1; l=https://b.test/a.svg; l=https://b.test/b.svg", Err(())),
            ("v=BIMI1; junk", Err(())),
            ("l=https://b.test/l.svg; v=BIMI1", Err(())),
            ("v=BIMI2; l=https://b.test/l.svg", Err(())),
        ];
        for (record, want) in cases {
            assert_eq!(parse(record).map_err(|_| ()), want, "{record}");
        }
    }

    #[test]
    fn record_status() {
        let txt = |v: &[&str]| DnsOutcome::Found(v.iter().map(|s| s.to_string()).collect());
        let cases: Vec<(DnsOutcome<Vec<String>>, BimiStatus)> = vec![
            (txt(&["v=BIMI1; l=https://b.test/l.svg"]), BimiStatus::Valid),
            (txt(&["v=BIMI1; l=; a="]), BimiStatus::Declined),
            (txt(&["v=BIMI1; a=https://b.test/vmc.pem"]), BimiStatus::SyntaxError),
            (txt(&["v=BIMI1; l=ftp://x"]), BimiStatus::SyntaxError),
            (txt(&["v=BIMI1; l=https://b.test/1.svg", "v=BIMI1; l=https://b.test/2.svg"]), BimiStatus::MultipleRecords),
            (txt(&["v=spf1 -all"]), BimiStatus::None),
            (DnsOutcome::NxDomain, BimiStatus::None),
            (
                DnsOutcome::Failed(crate::dns::DnsFailure {
                    kind: crate::dns::DnsFailureKind::Timeout,
                    detail: "t".into(),
                }),
                BimiStatus::TempError,
            ),
        ];
        for (txt, want) in cases {
            assert_eq!(from_txt(&txt).status, want, "{txt:?}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(split_url("https://B.test/a/l.svg"), Some(("b.test".into(), "/a/l.svg".into())));
        assert_eq!(split_url("https://b.test:443/l.svg"), Some(("b.test".into(), "/l.svg".into())));
        assert_eq!(split_url("https://b.test"), Some(("b.test".into(), "/".into())));
        for bad in [
            "http://b.test/l.svg",
            "https://u@b.test/",
            "https://b.test:8443/l.svg",
            "https:///x",
            "https://b.test/a b",
        ] {
            assert_eq!(split_url(bad), None, "{bad}");
        }
    }

    pub(crate) const TINY_PS: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" viewBox="0 0 10 10">
<title>Brand</title><rect width="10" height="10" fill="#c00"/></svg>"##;

    #[test]
    fn logos() {
        let swap = |from: &str, to: &str| TINY_PS.replace(from, to);
        let cases: Vec<(String, LogoVerdict)> = vec![
            (TINY_PS.into(), LogoVerdict::TinyPs),
            (swap("tiny-ps", "tiny"), LogoVerdict::NotTinyPs),
            (swap("<title>Brand</title>", ""), LogoVerdict::NotTinyPs),
            (swap("<rect", "<script>alert(1)</script><rect"), LogoVerdict::Script),
            (swap("<rect ", "<rect onclick=\"x()\" "), LogoVerdict::Script),
            (swap("<rect", "<image href=\"https://evil.test/x.png\"/><rect"), LogoVerdict::ExternalReference),
            (swap("<rect", "<use xlink:href=\"https://evil.test/s.svg#a\"/><rect"), LogoVerdict::ExternalReference),
            (swap("<rect", "<use href=\"#a\"/><rect"), LogoVerdict::TinyPs),
            (swap("fill=\"#c00\"/>", "fill=\"#c00\"><animate attributeName=\"x\"/></rect>"), LogoVerdict::Animation),
            ("<html><body>logo</body></html>".into(), LogoVerdict::NotSvg),
            ("\u{89}PNG\r\n".into(), LogoVerdict::NotSvg),
            ("<svg><title>x</svg>".into(), LogoVerdict::NotSvg),
            (String::new(), LogoVerdict::NotSvg),
        ];
        for (svg, want) in cases {
            assert_eq!(check_logo(svg.as_bytes()), want, "{svg}");
        }
    }

    #[test]
    fn embedded_logo_is_read_plain_or_gzipped() {
        use base64::Engine as _;
        use std::io::Write;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(TINY_PS.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        for payload in [b64(TINY_PS.as_bytes()), b64(&gz)] {
            let uri = format!("data:image/svg+xml;base64,{payload}");
            let mut ext = vec![0x30, 0x82, 0x01, 0x00, 0x16, 0x82];
            ext.extend_from_slice(&(uri.len() as u16).to_be_bytes());
            ext.extend_from_slice(uri.as_bytes());
            ext.extend_from_slice(b"0AB=");
            assert_eq!(embedded_logo(&ext).as_deref(), Some(TINY_PS.as_bytes()));
        }
        assert_eq!(embedded_logo(b"\x30\x00no uri"), None);
    }

    #[test]
    fn mark_certificates() {
        use crate::testkit::pki::{Mark, TestCa, Validity};
        let ca = TestCa::new("mark CA");
        let other_ca = TestCa::new("other CA");
        let logo = TINY_PS.as_bytes();
        let good = Mark {
            names: &["brand.test"],
            logo: Some(logo),
            validity: Validity::Current,
            mark_eku: true,
            mark_type: "Registered Mark",
        };
        let roots = vec![ca.der().clone()];
        let check = |pem: &str, logo: Option<&[u8]>, roots: Option<&[CertificateDer<'static>]>| {
            check_certificate(pem.as_bytes(), "brand.test", "brand.test", logo, roots, UnixTime::now())
        };
        type Case<'a> = (String, Option<&'a [u8]>, Option<&'a [CertificateDer<'static>]>, MarkVerdict);
        let cases: Vec<Case> = vec![
            (ca.mark_certificate(good), Some(logo), Some(&roots), MarkVerdict::Valid),
            (ca.mark_certificate(good), None, Some(&roots), MarkVerdict::Valid),
            (ca.mark_certificate(good), Some(logo), None, MarkVerdict::TrustNotChecked),
            (other_ca.mark_certificate(good), Some(logo), Some(&roots), MarkVerdict::Untrusted),
            (
                ca.mark_certificate(Mark { mark_eku: false, ..good }),
                Some(logo),
                Some(&roots),
                MarkVerdict::NotMarkCertificate,
            ),
            (
                ca.mark_certificate(Mark { validity: Validity::Expired, ..good }),
                Some(logo),
                Some(&roots),
                MarkVerdict::Expired,
            ),
            (
                ca.mark_certificate(Mark { validity: Validity::NotYetValid, ..good }),
                Some(logo),
                Some(&roots),
                MarkVerdict::NotYetValid,
            ),
            (
                ca.mark_certificate(Mark { names: &["other.test"], ..good }),
                Some(logo),
                Some(&roots),
                MarkVerdict::NameMismatch,
            ),
            (ca.mark_certificate(Mark { logo: None, ..good }), Some(logo), Some(&roots), MarkVerdict::LogoMismatch),
            (ca.mark_certificate(good), Some(b"<svg/>".as_slice()), Some(&roots), MarkVerdict::LogoMismatch),
            ("not a certificate".into(), Some(logo), Some(&roots), MarkVerdict::BadPem),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
                Some(logo),
                Some(&roots),
                MarkVerdict::BadPem,
            ),
        ];
        for (i, (pem, logo, roots, want)) in cases.into_iter().enumerate() {
            let got = check(&pem, logo, roots);
            assert_eq!(got.verdict, want, "case {i}: {:?}", got.detail);
            assert_eq!(got.detail.is_none(), want == MarkVerdict::Valid, "case {i}");
        }
        assert_eq!(
            check(&ca.mark_certificate(good), Some(logo), Some(&roots)).mark_type.as_deref(),
            Some("Registered Mark")
        );
        // The organisational domain's name serves its subdomains.
        let org = check_certificate(
            ca.mark_certificate(good).as_bytes(),
            "mail.brand.test",
            "brand.test",
            Some(logo),
            Some(&roots),
            UnixTime::now(),
        );
        assert_eq!(org.verdict, MarkVerdict::Valid);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,300}", bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&s);
            let _ = split_url(&s);
            let _ = check_logo(s.as_bytes());
            let _ = check_logo(&bytes);
            let _ = embedded_logo(&bytes);
            let _ = check_certificate(&bytes, "a.test", "a.test", None, None, UnixTime::now());
        }

        #[test]
        fn a_record_round_trips(host in "[a-z]{1,10}\\.test", path in "/[a-z0-9/]{0,20}") {
            let url = format!("https://{host}{path}");
            let record = format!("v=BIMI1; l={url}; a={url}");
            let parsed = parse(&record).unwrap();
            prop_assert_eq!(parsed.logo.as_deref(), Some(url.as_str()));
            prop_assert_eq!(split_url(&url), Some((host, path)));
        }
    }
}
