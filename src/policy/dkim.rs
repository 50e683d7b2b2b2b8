//! DKIM key discovery (RFC 6376 §3.6): keys live at `<selector>._domainkey.<domain>` and selectors are
//! not listed anywhere, so a documented list of common selectors is probed. "Not found" therefore
//! means "none of the probed selectors", never "no DKIM".
//!
//! A key record is parsed for its type (`k=rsa` or `ed25519`), its size (the RSA modulus, from the
//! SubjectPublicKeyInfo or a bare PKCS#1 key), revocation (an empty `p=`) and the testing flag (`t=y`).

use base64::Engine;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::{PublicKey, RSAPublicKey};
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::dns::DnsOutcome;
use crate::dns::TxtLookup;
pub use crate::domain::is_selector;

/// The selectors probed by default, most common first: Microsoft 365 (`selector1`, `selector2`) and
/// Google Workspace (`google`), which sign for most domains that sign at all; the generic names MTAs
/// and control panels default to (`default`, `dkim`, `mail`); then sending platforms (Mailchimp `k1`
/// `k2`, SendGrid `s1` `s2`, Mandrill), Zoho, Proton, Fastmail (`fm1`), and two more generic names.
/// With the default search ([`DkimSearch::First`]) a domain whose key is at `selector1` costs one
/// selector lookup; replace the list with `--dkim-selectors FILE`.
pub const DEFAULT_SELECTORS: &[&str] = &[
    "selector1",
    "google",
    "selector2",
    "default",
    "dkim",
    "mail",
    "k1",
    "s1",
    "s2",
    "k2",
    "mandrill",
    "zoho",
    "protonmail",
    "fm1",
    "smtp",
    "mx",
];

crate::labels! {
    /// How far the selector search goes (`--dkim-search`).
    #[derive(Default)]
    pub enum DkimSearch {
        /// Stop at the first usable key, asking the selectors in order, in waves of 1, 2, 4, 8 ...
        /// (the default: a key proves the domain signs).
        #[default]
        First => "first",
        /// Ask every selector at once, for the full inventory of keys.
        All => "all",
    }
}

/// Most selectors probed for one domain (the list and the input column together).
pub const MAX_SELECTORS: usize = 64;

crate::labels! {
    /// The type of a DKIM key.
    pub enum KeyType {
        /// `k=rsa` (the default).
        Rsa => "rsa",
        /// `k=ed25519` (RFC 8463).
        Ed25519 => "ed25519",
        /// Anything else.
        Unknown => "unknown",
    }
}

/// One DKIM key record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimKey {
    /// The selector it was found at.
    pub selector: String,
    /// `k=`.
    pub key_type: KeyType,
    /// Key size in bits: the RSA modulus, 256 for Ed25519; `None` when revoked or unparsable.
    pub bits: Option<u32>,
    /// `p=` is empty: the key is revoked.
    pub revoked: bool,
    /// `t=y`: the domain is testing DKIM.
    pub testing: bool,
    /// Why the key could not be read, if it could not.
    pub problem: Option<String>,
}

/// Parses a key record found at `selector`; `Err` when it is not a DKIM key record at all.
pub fn parse(selector: &str, record: &str) -> Result<DkimKey, String> {
    let mut key_type = KeyType::Rsa;
    let mut p = None;
    let mut testing = false;
    for (i, part) in record.split(';').enumerate() {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((tag, value)) = part.split_once('=') else {
            return Err(format!("tag {part:?} has no value"));
        };
        let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        match tag.trim().to_ascii_lowercase().as_str() {
            "v" if i == 0 && value == "DKIM1" => {}
            "v" => return Err(format!("v={value:?} is not DKIM1 as the first tag")),
            "k" => {
                key_type = match value.to_ascii_lowercase().as_str() {
                    "rsa" => KeyType::Rsa,
                    "ed25519" => KeyType::Ed25519,
                    _ => KeyType::Unknown,
                }
            }
            "p" => p = Some(value),
            "t" => testing = value.split(':').any(|f| f.eq_ignore_ascii_case("y")),
            _ => {}
        }
    }
    let Some(p) = p else {
        return Err("no p= tag".into());
    };
    let mut key =
        DkimKey { selector: selector.to_string(), key_type, bits: None, revoked: p.is_empty(), testing, problem: None };
    if key.revoked {
        return Ok(key);
    }
    let der = match base64::engine::general_purpose::STANDARD.decode(&p) {
        Ok(d) => d,
        Err(e) => {
            key.problem = Some(format!("p= is not base64: {e}"));
            return Ok(key);
        }
    };
    match key_type {
        KeyType::Rsa => match rsa_bits(&der) {
            Some(bits) => key.bits = Some(bits),
            None => key.problem = Some("p= is not an RSA public key".into()),
        },
        KeyType::Ed25519 if der.len() == 32 => key.bits = Some(256),
        KeyType::Ed25519 => key.problem = Some(format!("Ed25519 key of {} bytes, not 32", der.len())),
        KeyType::Unknown => {}
    }
    Ok(key)
}

/// The modulus size of an RSA key given as a SubjectPublicKeyInfo (what RFC 6376 specifies) or as a
/// bare PKCS#1 RSAPublicKey (which some publishers use).
fn rsa_bits(der: &[u8]) -> Option<u32> {
    if let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(der)
        && let Ok(PublicKey::RSA(rsa)) = spki.parsed()
    {
        return Some(rsa.key_size() as u32);
    }
    RSAPublicKey::from_der(der).ok().map(|(_, rsa)| rsa.key_size() as u32)
}

/// What the DKIM discovery of one domain came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DkimResult {
    /// The outcome.
    pub status: DkimStatus,
    /// How many selectors were probed.
    pub probed: u16,
    /// The keys found, in probing order.
    pub keys: Vec<DkimKey>,
    /// Selectors whose lookup failed (their answer is unknown).
    pub failed: Vec<String>,
}

impl DkimResult {
    /// The smallest key size among the usable keys.
    pub fn min_bits(&self) -> Option<u32> {
        self.keys.iter().filter(|k| !k.revoked).filter_map(|k| k.bits).min()
    }

    /// Some key is in testing mode.
    pub fn testing(&self) -> bool {
        self.keys.iter().any(|k| k.testing)
    }
}

crate::labels! {
    /// The outcome of DKIM discovery.
    #[derive(Default)]
    pub enum DkimStatus {
        /// At least one key that is not revoked.
        Found => "found",
        /// Only revoked keys.
        Revoked => "revoked",
        /// None of the probed selectors has a key, and every lookup worked.
        #[default]
        NotFound => "not_found",
        /// No key found and some lookups failed: unknown.
        TempError => "temperror",
        /// Not probed (excluded, or `--no-dkim`).
        NotQueried => "not_queried",
    }
}

/// Probes `selectors` (deduplicated, at most [`MAX_SELECTORS`], in the order given) under `domain`:
/// all at once ([`DkimSearch::All`]), or in waves of 1, 2, 4, 8 ... until a wave finds a usable key
/// ([`DkimSearch::First`]). `probed` counts the selectors asked.
///
/// First asks for `_domainkey.<domain>`: when that name does not exist (NXDOMAIN), nothing below it
/// exists either (RFC 8020), so no selector is probed (`probed` is 0). A server that wrongly answers
/// NXDOMAIN for an empty non-terminal would hide its keys; such servers also break other lookups.
pub async fn discover(dns: &impl TxtLookup, domain: &str, selectors: &[&str], search: DkimSearch) -> DkimResult {
    if dns.txt(&format!("_domainkey.{domain}")).await == DnsOutcome::NxDomain {
        return DkimResult { status: DkimStatus::NotFound, ..DkimResult::default() };
    }
    let mut unique: Vec<&str> = Vec::new();
    for s in selectors {
        if !unique.contains(s) && unique.len() < MAX_SELECTORS {
            unique.push(s);
        }
    }
    let mut result = DkimResult::default();
    let mut rest: &[&str] = &unique;
    let mut wave = if search == DkimSearch::All { unique.len().max(1) } else { 1 };
    while !rest.is_empty() {
        let (now, later) = rest.split_at(wave.min(rest.len()));
        rest = later;
        let lookups = now.iter().map(|sel| async move { (*sel, dns.txt(&format!("{sel}._domainkey.{domain}")).await) });
        for (sel, answer) in futures::future::join_all(lookups).await {
            match answer {
                DnsOutcome::Found(records) => {
                    // A CNAME to a provider's key is followed by the resolver; take the first key record.
                    if let Some(key) = records.iter().find_map(|r| parse(sel, r).ok()) {
                        result.keys.push(key);
                    }
                }
                DnsOutcome::Failed(_) => result.failed.push(sel.to_string()),
                DnsOutcome::NxDomain | DnsOutcome::NoData => {}
            }
        }
        result.probed += now.len() as u16;
        if search == DkimSearch::First && result.keys.iter().any(|k| !k.revoked) {
            break;
        }
        wave *= 2;
    }
    result.status = if result.keys.iter().any(|k| !k.revoked) {
        DkimStatus::Found
    } else if !result.keys.is_empty() {
        DkimStatus::Revoked
    } else if !result.failed.is_empty() {
        DkimStatus::TempError
    } else {
        DkimStatus::NotFound
    };
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::TxtLookup;
    use crate::dns::{DnsFailure, DnsFailureKind};
    use proptest::prelude::*;

    /// RFC 6376 appendix C's example key (1024-bit RSA, SubjectPublicKeyInfo).
    const RFC6376_KEY: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";

    /// RFC 8463 appendix A's example Ed25519 key.
    const RFC8463_KEY: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    #[test]
    fn parse_table() {
        let rsa = format!("v=DKIM1; k=rsa; p={RFC6376_KEY}");
        let k = parse("brisbane", &rsa).unwrap();
        assert_eq!((k.key_type, k.bits, k.revoked, k.testing), (KeyType::Rsa, Some(1024), false, false));
        // Whitespace inside p= (long keys are split), no v=, testing flag.
        let spaced = format!("k=rsa; t=y:s; p={} {}", &RFC6376_KEY[..40], &RFC6376_KEY[40..]);
        let k = parse("s", &spaced).unwrap();
        assert_eq!((k.bits, k.testing), (Some(1024), true));
        let k = parse("brisbane", &format!("v=DKIM1; k=ed25519; p={RFC8463_KEY}")).unwrap();
        assert_eq!((k.key_type, k.bits), (KeyType::Ed25519, Some(256)));
        let k = parse("old", "v=DKIM1; p=").unwrap();
        assert_eq!((k.revoked, k.bits, k.problem.as_deref()), (true, None, None));
        let k = parse("bad", "v=DKIM1; p=!!!").unwrap();
        assert!(k.problem.is_some());
        let k = parse("bad", "v=DKIM1; k=ed25519; p=AAAA").unwrap();
        assert!(k.problem.is_some());
        for not_key in ["v=spf1 -all", "v=DKIM2; p=", "k=rsa", "p=x; v=DKIM1"] {
            assert!(parse("x", not_key).is_err(), "{not_key}");
        }
    }

    #[test]
    fn pkcs1_rsa_keys_are_sized() {
        // The RFC key with its SubjectPublicKeyInfo wrapper stripped: a bare RSAPublicKey.
        let der = base64::engine::general_purpose::STANDARD.decode(RFC6376_KEY).unwrap();
        let (_, spki) = SubjectPublicKeyInfo::from_der(&der).unwrap();
        let bare = base64::engine::general_purpose::STANDARD.encode(&spki.subject_public_key.data);
        assert_eq!(parse("s", &format!("p={bare}")).unwrap().bits, Some(1024));
    }

    struct Txt(std::collections::HashMap<String, DnsOutcome<Vec<String>>>);

    impl TxtLookup for Txt {
        async fn txt(&self, name: &str) -> DnsOutcome<Vec<String>> {
            match self.0.get(name) {
                Some(answer) => answer.clone(),
                // An empty non-terminal above a key: NODATA.
                None if self.0.keys().any(|k| k.ends_with(&format!(".{name}"))) => DnsOutcome::NoData,
                None => DnsOutcome::NxDomain,
            }
        }
    }

    #[test]
    fn discover_table() {
        let key = |t: &str| DnsOutcome::Found(vec![t.to_string()]);
        let timeout = DnsOutcome::Failed(DnsFailure { kind: DnsFailureKind::Timeout, detail: "t".into() });
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        type Case = (Vec<(&'static str, DnsOutcome<Vec<String>>)>, DkimStatus, usize);
        let cases: Vec<Case> = vec![
            (vec![("google._domainkey.a.example", key(&format!("v=DKIM1; p={RFC6376_KEY}")))], DkimStatus::Found, 1),
            (vec![("s1._domainkey.a.example", key("v=DKIM1; p="))], DkimStatus::Revoked, 1),
            (vec![], DkimStatus::NotFound, 0),
            (vec![("k1._domainkey.a.example", timeout.clone())], DkimStatus::TempError, 0),
            (
                vec![
                    ("k1._domainkey.a.example", timeout),
                    ("k2._domainkey.a.example", key(&format!("p={RFC6376_KEY}"))),
                ],
                DkimStatus::Found,
                1,
            ),
            (vec![("mail._domainkey.a.example", key("some verification text"))], DkimStatus::NotFound, 0),
        ];
        for (i, (records, status, n)) in cases.into_iter().enumerate() {
            let dns = Txt(records.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
            let r = rt.block_on(discover(&dns, "a.example", DEFAULT_SELECTORS, DkimSearch::All));
            let probed = if dns.0.is_empty() { 0 } else { DEFAULT_SELECTORS.len() };
            assert_eq!((r.status, r.keys.len(), r.probed as usize), (status, n, probed), "case {i}");
        }
        // `_domainkey` exists (NODATA) but no probed selector has a key: every selector is asked.
        let dns = Txt([("unlisted._domainkey.a.example".to_string(), key("p="))].into_iter().collect());
        for search in [DkimSearch::First, DkimSearch::All] {
            let r = rt.block_on(discover(&dns, "a.example", DEFAULT_SELECTORS, search));
            assert_eq!((r.status, r.probed as usize), (DkimStatus::NotFound, DEFAULT_SELECTORS.len()), "{search}");
        }
        // A failing `_domainkey` lookup does not stop the probing.
        let dns = Txt([
            (
                "_domainkey.a.example".to_string(),
                DnsOutcome::Failed(DnsFailure { kind: DnsFailureKind::ServFail, detail: "s".into() }),
            ),
            ("dkim._domainkey.a.example".to_string(), key(&format!("p={RFC6376_KEY}"))),
        ]
        .into_iter()
        .collect());
        assert_eq!(
            rt.block_on(discover(&dns, "a.example", DEFAULT_SELECTORS, DkimSearch::First)).status,
            DkimStatus::Found
        );
    }

    #[test]
    fn first_search_stops_at_the_first_wave_with_a_key() {
        let key = |t: &str| DnsOutcome::Found(vec![t.to_string()]);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        // Waves of 1, 2, 4, 8 ... in the list's order: a key at position p costs the waves up to its own.
        let position = |sel: &str| DEFAULT_SELECTORS.iter().position(|s| *s == sel).unwrap();
        for (sel, want) in [("selector1", 1), ("google", 3), ("selector2", 3), ("default", 7), ("mx", 16)] {
            let dns =
                Txt([(format!("{sel}._domainkey.a.example"), key(&format!("p={RFC6376_KEY}")))].into_iter().collect());
            let r = rt.block_on(discover(&dns, "a.example", DEFAULT_SELECTORS, DkimSearch::First));
            assert_eq!((r.status, r.probed as usize), (DkimStatus::Found, want), "{sel} at {}", position(sel));
            let all = rt.block_on(discover(&dns, "a.example", DEFAULT_SELECTORS, DkimSearch::All));
            assert_eq!((all.status, all.probed as usize), (DkimStatus::Found, DEFAULT_SELECTORS.len()));
        }
        // A revoked key does not stop the search: a usable one may follow.
        let dns = Txt([
            ("selector1._domainkey.a.example".to_string(), key("v=DKIM1; p=")),
            ("selector2._domainkey.a.example".to_string(), key(&format!("p={RFC6376_KEY}"))),
        ]
        .into_iter()
        .collect());
        let r = rt.block_on(discover(&dns, "a.example", DEFAULT_SELECTORS, DkimSearch::First));
        assert_eq!((r.status, r.keys.len(), r.probed), (DkimStatus::Found, 2, 3));
    }

    #[test]
    fn selector_syntax() {
        for ok in ["google", "s1024.2023", "k_1", "20230601"] {
            assert!(is_selector(ok), "{ok}");
        }
        for bad in ["", "a..b", "a b", "a/b", ".x", &"x".repeat(64)] {
            assert!(!is_selector(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse("s", &s);
            let _ = parse("s", &format!("v=DKIM1; p={s}"));
            let _ = is_selector(&s);
        }
    }
}
