//! Email domain names: normalising what a user typed into the ASCII name that is queried.
//!
//! `normalize` trims, takes the host part of `user@host`, lowercases, strips one trailing dot, converts
//! IDNA (Unicode) names to their ASCII form with the `idna` crate and checks labels and length
//! (RFC 1035 §2.3.4: labels of 1-63 bytes, names of at most 253 bytes without the root dot).
//! A line that is not a domain gets a [`RejectReason`], which lands in `rejects.csv`.

use std::fmt;
use std::net::IpAddr;

/// Longest name, in bytes, without the trailing root dot.
pub const MAX_NAME_LEN: usize = 253;
/// Longest label, in bytes.
pub const MAX_LABEL_LEN: usize = 63;

crate::labels! {
    /// Why an input line is not scanned. Written to `rejects.csv` as its snake_case label.
    #[non_exhaustive]
    pub enum RejectReason {
        /// The domain field is missing or blank.
        Empty => "empty",
        /// The field is not valid UTF-8.
        InvalidUtf8 => "invalid_utf8",
        /// An IPv4 or IPv6 address instead of a name.
        IpLiteral => "ip_literal",
        /// IDNA conversion failed (bad Unicode, or punycode that does not round-trip).
        Idna => "idna",
        /// A label is longer than 63 bytes.
        LabelTooLong => "label_too_long",
        /// The name is longer than 253 bytes.
        NameTooLong => "name_too_long",
        /// Two dots in a row, or a leading dot.
        EmptyLabel => "empty_label",
        /// A character that is not a letter, digit or hyphen (e.g. `*`, `_`, a space).
        InvalidCharacter => "invalid_character",
        /// A label that starts or ends with a hyphen.
        HyphenPosition => "hyphen_position",
        /// A single label such as `localhost` or `com`: not an email domain.
        SingleLabel => "single_label",
        /// The same domain was already read on an earlier line.
        Duplicate => "duplicate",
        /// The weight column is not a finite, non-negative number.
        InvalidWeight => "invalid_weight",
        /// The `dkim_selectors` column holds something that is not a list of DKIM selectors.
        InvalidDkimSelector => "invalid_dkim_selector",
        /// The line is longer than the input limit (1 MiB).
        LineTooLong => "line_too_long",
    }
}

/// A normalised, ASCII, lowercase email domain without the trailing dot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(String);

impl Domain {
    /// The ASCII name, e.g. `xn--bcher-kva.example`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The fully qualified form with the root dot, as DNS lookups want it.
    pub fn fqdn(&self) -> String {
        format!("{}.", self.0)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Normalises one input field into a [`Domain`], or says why it is not one.
pub fn normalize(raw: &str) -> Result<Domain, RejectReason> {
    let mut s = raw.trim();
    if let Some(at) = s.rfind('@') {
        s = &s[at + 1..];
    }
    s = s.trim();
    if let Some(stripped) = s.strip_suffix('.') {
        s = stripped;
    }
    if s.is_empty() {
        return Err(RejectReason::Empty);
    }
    let unbracketed = s.trim_start_matches('[').trim_end_matches(']');
    if unbracketed.parse::<IpAddr>().is_ok() {
        return Err(RejectReason::IpLiteral);
    }
    // Check raw labels before IDNA so that the reason is precise for ASCII input.
    if s.is_ascii() {
        check_labels(s)?;
    }
    let ascii = idna::domain_to_ascii_strict(s).map_err(|_| RejectReason::Idna)?;
    if ascii.is_empty() {
        return Err(RejectReason::Empty);
    }
    check_labels(&ascii)?;
    // Punycode labels must round-trip: decoding then re-encoding gives the same name.
    if ascii.split('.').any(|l| l.starts_with("xn--")) {
        let (unicode, res) = idna::domain_to_unicode(&ascii);
        if res.is_err() || idna::domain_to_ascii_strict(&unicode).ok().as_deref() != Some(&ascii) {
            return Err(RejectReason::Idna);
        }
    }
    if !ascii.contains('.') {
        return Err(RejectReason::SingleLabel);
    }
    Ok(Domain(ascii))
}

fn check_labels(name: &str) -> Result<(), RejectReason> {
    if name.len() > MAX_NAME_LEN {
        return Err(RejectReason::NameTooLong);
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(RejectReason::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(RejectReason::LabelTooLong);
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(RejectReason::InvalidCharacter);
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(RejectReason::HyphenPosition);
        }
    }
    Ok(())
}

/// The organisational domain of `domain` (RFC 7489 §3.2): its registrable domain by the public suffix
/// list, or the domain itself when it is a public suffix or the list does not know it.
pub fn organizational_domain(domain: &str) -> String {
    psl::domain_str(domain).unwrap_or(domain).to_string()
}

/// Is `s` a usable DKIM selector: dot-separated DNS labels of letters, digits, `-` and `_`?
pub fn is_selector(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalize_table() {
        use RejectReason::*;
        let long_label = format!("{}.example", "a".repeat(64));
        let long_name = format!("{}example", "abcdefghi.".repeat(26));
        let cases: &[(&str, Result<&str, RejectReason>)] = &[
            ("example.com", Ok("example.com")),
            ("  Example.COM.  ", Ok("example.com")),
            ("user@Docomo.ne.jp", Ok("docomo.ne.jp")),
            ("\"odd\"@x@ocn.ne.jp", Ok("ocn.ne.jp")),
            ("bücher.example", Ok("xn--bcher-kva.example")),
            ("XN--BCHER-KVA.example", Ok("xn--bcher-kva.example")),
            ("日本.jp", Ok("xn--wgv71a.jp")),
            ("", Err(Empty)),
            ("   ", Err(Empty)),
            ("user@", Err(Empty)),
            (".", Err(Empty)),
            ("192.0.2.1", Err(IpLiteral)),
            ("[192.0.2.1]", Err(IpLiteral)),
            ("2001:db8::1", Err(IpLiteral)),
            ("*.example.com", Err(InvalidCharacter)),
            ("a_b.example.com", Err(InvalidCharacter)),
            ("a b.example", Err(InvalidCharacter)),
            ("example..com", Err(EmptyLabel)),
            (".example.com", Err(EmptyLabel)),
            ("example.com..", Err(EmptyLabel)),
            ("-a.example", Err(HyphenPosition)),
            (&long_label, Err(LabelTooLong)),
            (&long_name, Err(NameTooLong)),
            ("localhost", Err(SingleLabel)),
            ("xn--zz.example", Err(Idna)),
        ];
        for (input, want) in cases {
            let got = normalize(input);
            assert_eq!(got.as_ref().map(Domain::as_str).map_err(|e| *e), *want, "input {input:?}");
        }
    }

    #[test]
    fn fqdn_adds_root() {
        assert_eq!(normalize("a.example").unwrap().fqdn(), "a.example.");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = normalize(&s);
        }

        #[test]
        fn idempotent(s in "[a-zA-Z0-9.@ -]{0,40}") {
            if let Ok(d) = normalize(&s) {
                prop_assert_eq!(normalize(d.as_str()), Ok(d.clone()));
            }
        }

        #[test]
        fn accepted_names_are_bounded(s in "\\PC{0,300}") {
            if let Ok(d) = normalize(&s) {
                prop_assert!(d.as_str().len() <= MAX_NAME_LEN);
                prop_assert!(d.as_str().split('.').all(|l| !l.is_empty() && l.len() <= MAX_LABEL_LEN));
            }
        }
    }
}
