//! DANE for SMTP (RFC 7672): checking the TLSA records at `_25._tcp.<mx host>` against the chain the
//! STARTTLS probe saw. Only DANE-EE (usage 3) and DANE-TA (usage 2) are usable for SMTP; PKIX usages
//! (0, 1) are "unusable" (RFC 7672 §3.1.3). TLSA records count only when their DNSSEC status is secure.
//!
//! The probe keeps SHA-256 and SHA-512 digests of every certificate and of its SubjectPublicKeyInfo
//! ([`CertDigests`], computed by `probe::tls::cert`; not the certificates themselves, to keep the probe
//! cache small); an exact-match record (matching type 0) is compared by the SHA-256 of its data.

use ring::digest::{SHA256, digest};

use crate::dns::Tlsa;
pub use crate::probe::tls::cert::{CertDigests, digests};

/// Is the record usable for SMTP (DANE-TA or DANE-EE, known selector and matching type)?
pub fn usable(t: &Tlsa) -> bool {
    matches!(t.usage, 2 | 3) && t.selector <= 1 && t.matching <= 2
}

fn matches(t: &Tlsa, c: &CertDigests) -> bool {
    let (sha256, sha512) =
        if t.selector == 0 { (&c.cert_sha256, &c.cert_sha512) } else { (&c.spki_sha256, &c.spki_sha512) };
    match t.matching {
        0 => digest(&SHA256, &t.data).as_ref() == sha256.as_slice() && !sha256.is_empty(),
        1 => t.data == *sha256 && !sha256.is_empty(),
        2 => t.data == *sha512 && !sha512.is_empty(),
        _ => false,
    }
}

/// Does some usable record match the presented chain (leaf first)? DANE-EE matches the leaf and
/// ignores names and dates (RFC 7672 §3.1.1); DANE-TA matches a certificate above the leaf, and the
/// leaf must carry the MX host name (`name_matches`, §3.1.2).
pub fn check(records: &[Tlsa], chain: &[CertDigests], name_matches: bool) -> bool {
    records.iter().filter(|t| usable(t)).any(|t| match t.usage {
        3 => chain.first().is_some_and(|leaf| matches(t, leaf)),
        2 => name_matches && chain.iter().skip(1).any(|c| matches(t, c)),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::pki::{TestCa, Validity};
    use proptest::prelude::*;

    fn tlsa(usage: u8, selector: u8, matching: u8, data: Vec<u8>) -> Tlsa {
        Tlsa { usage, selector, matching, data }
    }

    #[test]
    fn check_table() {
        let ca = TestCa::new("dane CA");
        let leaf = ca.leaf(&["mx.example"], Validity::Current);
        let chain: Vec<CertDigests> = leaf.chain.iter().map(|c| digests(c)).collect();
        let other = digests(ca.leaf(&["mx.example"], Validity::Current).chain[0].as_ref());
        let (l, c) = (&chain[0], &chain[1]);
        let cases = vec![
            // The common "3 1 1" (DANE-EE, SPKI, SHA-256).
            (vec![tlsa(3, 1, 1, l.spki_sha256.clone())], true, true),
            (vec![tlsa(3, 0, 1, l.cert_sha256.clone())], true, true),
            (vec![tlsa(3, 1, 2, l.spki_sha512.clone())], true, true),
            (vec![tlsa(3, 0, 0, leaf.chain[0].to_vec())], true, true),
            // DANE-EE ignores the name.
            (vec![tlsa(3, 1, 1, l.spki_sha256.clone())], false, true),
            // "2 0 1" on the issuing CA; DANE-TA needs the name.
            (vec![tlsa(2, 0, 1, c.cert_sha256.clone())], true, true),
            (vec![tlsa(2, 0, 1, c.cert_sha256.clone())], false, false),
            // DANE-TA does not match the leaf itself.
            (vec![tlsa(2, 1, 1, l.spki_sha256.clone())], true, false),
            // Another key: no match; a stale record next to a good one still matches.
            (vec![tlsa(3, 1, 1, other.spki_sha256.clone())], true, false),
            (vec![tlsa(3, 1, 1, other.spki_sha256.clone()), tlsa(3, 1, 1, l.spki_sha256.clone())], true, true),
            // PKIX usages are unusable for SMTP even when they match.
            (vec![tlsa(1, 1, 1, l.spki_sha256.clone())], true, false),
            (vec![tlsa(0, 0, 1, c.cert_sha256.clone())], true, false),
            (vec![tlsa(3, 1, 7, l.spki_sha256.clone())], true, false),
            (vec![], true, false),
        ];
        for (i, (records, name_ok, want)) in cases.into_iter().enumerate() {
            assert_eq!(check(&records, &chain, name_ok), want, "case {i}");
        }
        assert!(!check(&[tlsa(3, 1, 1, l.spki_sha256.clone())], &[], true), "no chain");
    }

    proptest! {
        #[test]
        fn never_panics(usage in 0u8..5, selector in 0u8..3, matching in 0u8..4, data in proptest::collection::vec(any::<u8>(), 0..80), der in proptest::collection::vec(any::<u8>(), 0..200)) {
            let d = digests(&der);
            let _ = check(&[tlsa(usage, selector, matching, data)], &[d], true);
        }
    }
}
