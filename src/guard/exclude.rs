//! The exclude list (`--exclude FILE`): domains (with all their subdomains) and address ranges that
//! are never queried or connected to, like zmap's blocklist. This is how an operator honours an
//! opt-out request.
//!
//! File format: one entry a line; blank lines and `#` comments skipped. An entry is a CIDR range
//! (`192.0.2.0/24`, `2001:db8::/32`), an address (`192.0.2.25`), or a domain name (`example.com`
//! excludes `example.com` and `*.example.com`; a top-level label such as `jp` is allowed).

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

/// A loaded exclude list.
#[derive(Clone, Debug, Default)]
pub struct ExcludeList {
    domains: HashSet<String>,
    nets: Vec<IpNet>,
}

/// The exclude file could not be used (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ExcludeError {
    /// The file could not be read.
    #[error("cannot read exclude file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A line is neither a range, an address nor a domain.
    #[error("{path}:{line}: {entry:?} is not a CIDR range, an address or a domain name")]
    Entry {
        /// The file.
        path: String,
        /// The line number.
        line: usize,
        /// The entry.
        entry: String,
    },
}

impl ExcludeList {
    /// Reads an exclude file.
    pub fn load(path: &Path) -> Result<Self, ExcludeError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ExcludeError::Io { path: path.display().to_string(), source })?;
        Self::parse(&text).map_err(|(line, entry)| ExcludeError::Entry {
            path: path.display().to_string(),
            line,
            entry,
        })
    }

    /// Parses the text of an exclude file; on error, the line number and entry.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut list = Self::default();
        for (i, raw) in text.lines().enumerate() {
            let entry = raw.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            if let Ok(net) = entry.parse::<IpNet>() {
                list.nets.push(net.trunc());
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else {
                let name = entry.trim_end_matches('.').to_ascii_lowercase();
                let ascii = idna::domain_to_ascii(&name).map_err(|_| (i + 1, entry.to_string()))?;
                let valid = !ascii.is_empty()
                    && ascii.split('.').all(|l| {
                        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    });
                if !valid {
                    return Err((i + 1, entry.to_string()));
                }
                list.domains.insert(ascii);
            }
        }
        Ok(list)
    }

    /// One list with the entries of all of `lists` (several `--exclude` files).
    pub fn merge(lists: Vec<ExcludeList>) -> Self {
        let mut out = Self::default();
        for l in lists {
            out.domains.extend(l.domains);
            out.nets.extend(l.nets);
        }
        out
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty() && self.nets.is_empty()
    }

    /// Is `name` (lowercase ASCII, no trailing dot) or one of its parents listed?
    pub fn covers_name(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.');
        let mut rest = name;
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return false,
            }
        }
    }

    /// Is `ip` in a listed range, or the IPv4 address an IPv6 address leads to (IPv4-mapped, 6to4,
    /// Teredo, NAT64: see [`super::address::embedded_ipv4`])?
    pub fn covers_ip(&self, ip: IpAddr) -> bool {
        let mapped = match ip {
            IpAddr::V6(v6) => super::address::embedded_ipv4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.nets.iter().any(|n| n.contains(&ip) || mapped.is_some_and(|m| n.contains(&m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,200}", name in "[a-z.]{0,30}") {
            if let Ok(list) = ExcludeList::parse(&text) {
                let _ = list.covers_name(&name);
                let _ = list.covers_ip("192.0.2.1".parse().unwrap());
            }
        }
    }

    #[test]
    fn parse_and_match_table() {
        let list = ExcludeList::parse(
            "# opt-outs\nexample.com\nOptOut.Example.NET.  # asked 2026-11-01\n192.0.2.0/24\n2001:db8::25\njp\n\n",
        )
        .unwrap();
        for (name, want) in [
            ("example.com", true),
            ("mx1.example.com", true),
            ("notexample.com", false),
            ("optout.example.net", true),
            ("example.net", false),
            ("docomo.ne.jp", true),
            ("jp", true),
            ("example.org", false),
        ] {
            assert_eq!(list.covers_name(name), want, "{name}");
        }
        for (ip, want) in [
            ("192.0.2.7", true),
            ("192.0.3.7", false),
            ("2001:db8::25", true),
            ("2001:db8::26", false),
            ("::ffff:192.0.2.9", true),
            ("2002:c000:0209::1", true),
            ("64:ff9b::192.0.2.10", true),
        ] {
            assert_eq!(list.covers_ip(ip.parse().unwrap()), want, "{ip}");
        }
        assert_eq!(ExcludeList::parse("ok.example\nnot a domain\n").unwrap_err().0, 2);
        assert_eq!(ExcludeList::parse("10.0.0.0/33").unwrap_err().0, 1);
        assert!(ExcludeList::parse("").unwrap().is_empty());
    }
}
