//! Judging a captured certificate chain: the verdict against the trust store and the MX host name, and
//! the leaf certificate's fields (subject, SAN, validity, key, signature algorithm, fingerprint).
//!
//! webpki reports only the first problem it finds, so expiry, self-signature and the name check are
//! also computed separately and kept in their own columns.

use ring::digest::{SHA256, SHA512};
use rustls::RootCertStore;
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, Error};
use x509_parser::prelude::*;

crate::labels! {
    /// The certificate verdict of one TLS session.
    #[non_exhaustive]
    pub enum CertVerdict {
        /// Chains to a trusted root and matches the host name.
        Valid => "valid",
        /// Past its notAfter date.
        Expired => "expired",
        /// Before its notBefore date.
        NotYetValid => "not_yet_valid",
        /// Self-signed (issuer = subject) and not itself trusted.
        SelfSigned => "self_signed",
        /// Does not chain to a trusted root.
        UnknownIssuer => "unknown_issuer",
        /// Trusted, but not valid for the MX host name.
        NameMismatch => "name_mismatch",
        /// Anything else (bad encoding, bad signature, wrong key usage ...); see `tls_cert_detail`.
        Other => "other",
    }
}

crate::labels! {
    /// The leaf certificate's key type.
    #[derive(Default)]
    pub enum KeyType {
        /// RSA.
        Rsa => "rsa",
        /// An elliptic-curve key (ECDSA).
        Ec => "ec",
        /// Ed25519.
        Ed25519 => "ed25519",
        /// Ed448.
        Ed448 => "ed448",
        /// DSA.
        Dsa => "dsa",
        /// Anything else.
        #[default]
        Other => "other",
    }
}

/// What the leaf certificate says.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeafInfo {
    /// Subject DN, RFC 4514 style.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// DNS names of the subjectAltName extension.
    pub san: Vec<String>,
    /// notBefore, seconds since the epoch.
    pub not_before: i64,
    /// notAfter, seconds since the epoch.
    pub not_after: i64,
    /// `rsa`, `ec`, `ed25519`, `ed448`, `dsa` or `other`.
    pub key_type: KeyType,
    /// Key size in bits (0 when unknown).
    pub key_bits: u32,
    /// Signature algorithm short name (e.g. `ecdsa-with-SHA256`) or its OID.
    pub signature_algorithm: String,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
    /// Subject and issuer are the same name.
    pub self_issued: bool,
}

/// The judgement of a chain for a host name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Assessment {
    /// The verdict.
    pub verdict: CertVerdict,
    /// The verifier's words when the verdict is not `valid`.
    pub detail: Option<String>,
    /// The leaf is valid for the host name (independent of trust).
    pub name_matches: bool,
    /// The leaf is past notAfter (independent of trust).
    pub expired: bool,
    /// The leaf is self-issued (independent of trust).
    pub self_signed: bool,
    /// The parsed leaf, if it parses.
    pub leaf: Option<LeafInfo>,
}

/// Judges `chain` (leaf first) for `host` against `roots`, at `now`.
pub fn assess(
    chain: &[CertificateDer<'_>],
    host: &str,
    roots: &RootCertStore,
    provider: &CryptoProvider,
    now: UnixTime,
) -> Assessment {
    let Some(leaf_der) = chain.first() else {
        return Assessment {
            verdict: CertVerdict::Other,
            detail: Some("no certificate presented".into()),
            name_matches: false,
            expired: false,
            self_signed: false,
            leaf: None,
        };
    };
    let leaf = describe_leaf(leaf_der);
    let now_secs = now.as_secs() as i64;
    let expired = leaf.as_ref().is_some_and(|l| l.not_after < now_secs);
    let self_signed = leaf.as_ref().is_some_and(|l| l.self_issued);
    let parsed = match ParsedCertificate::try_from(leaf_der) {
        Ok(p) => p,
        Err(e) => {
            return Assessment {
                verdict: CertVerdict::Other,
                detail: Some(e.to_string()),
                name_matches: false,
                expired,
                self_signed,
                leaf,
            };
        }
    };
    let name_matches = ServerName::try_from(host).is_ok_and(|n| verify_server_name(&parsed, &n).is_ok());
    let chain_result = verify_server_cert_signed_by_trust_anchor(
        &parsed,
        roots,
        &chain[1..],
        now,
        provider.signature_verification_algorithms.all,
    );
    let (verdict, detail) = match chain_result {
        Ok(()) if name_matches => (CertVerdict::Valid, None),
        Ok(()) => (CertVerdict::NameMismatch, Some(format!("certificate is not valid for {host}"))),
        Err(e) => (chain_verdict(&e, self_signed), Some(e.to_string())),
    };
    Assessment { verdict, detail, name_matches, expired, self_signed, leaf }
}

fn chain_verdict(e: &Error, self_signed: bool) -> CertVerdict {
    match e {
        Error::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => CertVerdict::Expired,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => CertVerdict::NotYetValid,
            // A self-issued leaf that is not itself a trusted root can never verify, whatever the
            // verifier says first: unknown issuer, or (for the CA:TRUE certificates `openssl req -x509`
            // makes) "CA used as end entity".
            _ if self_signed => CertVerdict::SelfSigned,
            CertificateError::UnknownIssuer => CertVerdict::UnknownIssuer,
            _ => CertVerdict::Other,
        },
        _ if self_signed => CertVerdict::SelfSigned,
        _ => CertVerdict::Other,
    }
}

/// The digests of one certificate of a presented chain.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertDigests {
    /// SHA-256 of the whole certificate.
    pub cert_sha256: Vec<u8>,
    /// SHA-512 of the whole certificate.
    pub cert_sha512: Vec<u8>,
    /// SHA-256 of the SubjectPublicKeyInfo (empty if the certificate does not parse).
    pub spki_sha256: Vec<u8>,
    /// SHA-512 of the SubjectPublicKeyInfo.
    pub spki_sha512: Vec<u8>,
}

/// The digests of a DER certificate.
pub fn digests(der: &[u8]) -> CertDigests {
    let spki = X509Certificate::from_der(der).ok().map(|(_, c)| c.tbs_certificate.subject_pki.raw.to_vec());
    let (spki_sha256, spki_sha512) = match &spki {
        Some(s) => (sha(&SHA256, s), sha(&SHA512, s)),
        None => (Vec::new(), Vec::new()),
    };
    CertDigests { cert_sha256: sha(&SHA256, der), cert_sha512: sha(&SHA512, der), spki_sha256, spki_sha512 }
}

fn sha(algorithm: &'static ring::digest::Algorithm, data: &[u8]) -> Vec<u8> {
    ring::digest::digest(algorithm, data).as_ref().to_vec()
}

/// The judgement of a chain already judged for another name, now for `host`: the trust verdict does
/// not depend on the name, so only the name check is redone (on the leaf, `leaf_der`). A chain that
/// does not verify keeps its verdict; a trusted one becomes `valid` or `name_mismatch` for `host`.
pub fn for_name(judged: &Assessment, leaf_der: &[u8], host: &str) -> Assessment {
    let name_matches = ParsedCertificate::try_from(&CertificateDer::from(leaf_der))
        .is_ok_and(|p| ServerName::try_from(host).is_ok_and(|n| verify_server_name(&p, &n).is_ok()));
    let mut a = judged.clone();
    a.name_matches = name_matches;
    if matches!(a.verdict, CertVerdict::Valid | CertVerdict::NameMismatch) {
        (a.verdict, a.detail) = if name_matches {
            (CertVerdict::Valid, None)
        } else {
            (CertVerdict::NameMismatch, Some(format!("certificate is not valid for {host}")))
        };
    }
    a
}

/// Does the leaf name `host` itself (a subjectAltName equal to it, not a wildcard)?
pub fn names_exactly(leaf: &LeafInfo, host: &str) -> bool {
    leaf.san.iter().any(|s| s.eq_ignore_ascii_case(host))
}

/// The dNSName entries of a certificate's subjectAltName, as written.
pub fn dns_names(cert: &X509Certificate<'_>) -> Vec<String> {
    match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Reads the fields of a leaf certificate; `None` if it does not parse as X.509.
pub fn describe_leaf(der: &CertificateDer<'_>) -> Option<LeafInfo> {
    let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
    let san = dns_names(&cert);
    let spki = cert.public_key();
    let (key_type, key_bits) = match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(k)) => (KeyType::Rsa, k.key_size() as u32),
        Ok(x509_parser::public_key::PublicKey::EC(k)) => (KeyType::Ec, k.key_size() as u32),
        Ok(x509_parser::public_key::PublicKey::DSA(y)) => (KeyType::Dsa, y.len() as u32 * 8),
        _ => {
            let oid = spki.algorithm.algorithm.to_id_string();
            match oid.as_str() {
                "1.3.101.112" => (KeyType::Ed25519, 256),
                "1.3.101.113" => (KeyType::Ed448, 456),
                _ => (KeyType::Other, 0),
            }
        }
    };
    let sig_oid = &cert.signature_algorithm.algorithm;
    let signature_algorithm = x509_parser::objects::oid2sn(sig_oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| sig_oid.to_id_string());
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    Some(LeafInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        san,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        key_type,
        key_bits,
        signature_algorithm,
        sha256: digest.as_ref().iter().map(|b| format!("{b:02x}")).collect(),
        self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::pki::{TestCa, Validity, self_signed, self_signed_ca};

    #[test]
    fn verdict_table() {
        let ca = TestCa::new("mailcensus test CA");
        let other = TestCa::new("untrusted CA");
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let provider = rustls::crypto::ring::default_provider();
        let host = "mx1.example.test";
        let cases = [
            (ca.leaf(&[host], Validity::Current), CertVerdict::Valid, true, false, false),
            (ca.leaf(&[host], Validity::Expired), CertVerdict::Expired, true, true, false),
            (ca.leaf(&[host], Validity::NotYetValid), CertVerdict::NotYetValid, true, false, false),
            (ca.leaf(&["other.example.test"], Validity::Current), CertVerdict::NameMismatch, false, false, false),
            (other.leaf(&[host], Validity::Current), CertVerdict::UnknownIssuer, true, false, false),
            (self_signed(&[host]), CertVerdict::SelfSigned, true, false, true),
            // What `openssl req -x509` makes (basicConstraints CA:TRUE), as postfix admins do.
            (self_signed_ca(&[host]), CertVerdict::SelfSigned, true, false, true),
        ];
        for (i, (cert, verdict, name, expired, selfsigned)) in cases.into_iter().enumerate() {
            let a = assess(&cert.chain, host, &roots, &provider, UnixTime::now());
            assert_eq!(
                (a.verdict, a.name_matches, a.expired, a.self_signed),
                (verdict, name, expired, selfsigned),
                "case {i}: {:?}",
                a.detail
            );
            let leaf = a.leaf.expect("leaf parses");
            assert_eq!((leaf.key_type, leaf.key_bits), (KeyType::Ec, 256));
            assert_eq!(leaf.sha256.len(), 64);
            assert_eq!(leaf.signature_algorithm, "ecdsa-with-SHA256");
        }
    }

    #[test]
    fn judged_again_for_another_name() {
        let ca = TestCa::new("mailcensus test CA");
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let provider = rustls::crypto::ring::default_provider();
        let wildcard = ca.leaf(&["*.pool.example.test"], Validity::Current);
        let a = assess(&wildcard.chain, "a.pool.example.test", &roots, &provider, UnixTime::now());
        assert_eq!(a.verdict, CertVerdict::Valid);
        let leaf = wildcard.chain[0].as_ref();
        // Another vanity name under the wildcard, and one outside it.
        let b = for_name(&a, leaf, "b.pool.example.test");
        assert_eq!((b.verdict, b.name_matches), (CertVerdict::Valid, true));
        let c = for_name(&a, leaf, "mail.customer.test");
        assert_eq!((c.verdict, c.name_matches), (CertVerdict::NameMismatch, false));
        assert_eq!(for_name(&c, leaf, "z.pool.example.test").verdict, CertVerdict::Valid);
        // A chain that does not verify keeps its verdict whatever the name.
        let expired = ca.leaf(&["*.pool.example.test"], Validity::Expired);
        let e = assess(&expired.chain, "a.pool.example.test", &roots, &provider, UnixTime::now());
        let e2 = for_name(&e, expired.chain[0].as_ref(), "other.test");
        assert_eq!((e2.verdict, e2.name_matches), (CertVerdict::Expired, false));
        assert!(!names_exactly(a.leaf.as_ref().unwrap(), "a.pool.example.test"));
        let exact = ca.leaf(&["a.example.test", "b.example.test"], Validity::Current);
        let x = assess(&exact.chain, "a.example.test", &roots, &provider, UnixTime::now());
        assert!(names_exactly(x.leaf.as_ref().unwrap(), "B.example.test"));
    }

    #[test]
    fn empty_chain_and_garbage() {
        let roots = RootCertStore::empty();
        let provider = rustls::crypto::ring::default_provider();
        let a = assess(&[], "mx.example", &roots, &provider, UnixTime::now());
        assert_eq!(a.verdict, CertVerdict::Other);
        let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let a = assess(&[junk], "mx.example", &roots, &provider, UnixTime::now());
        assert_eq!((a.verdict, a.leaf), (CertVerdict::Other, None));
    }
}
