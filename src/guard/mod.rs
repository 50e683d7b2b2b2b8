//! The target guard: every name the scanner is about to look up and every address it is about to
//! connect to passes here first. A name on the exclude list is never queried; an address is skipped
//! when it is excluded, IPv6 while `--ipv6` is off, or in a non-public range while `--allow-private`
//! is off. One place decides, for the MX probes, the client probes and the HTTPS fetches alike.

pub mod address;
pub mod exclude;

use std::net::IpAddr;

pub use exclude::ExcludeList;

use crate::probe::SkipReason;

/// What may be queried and contacted.
#[derive(Clone, Debug, Default)]
pub struct TargetGuard {
    /// Domains and address ranges never queried or connected to (`--exclude`, default none).
    pub exclude: ExcludeList,
    /// Contact addresses in non-public ranges (`--allow-private`, default off).
    pub allow_private: bool,
    /// Contact IPv6 addresses (`--ipv6`, default off).
    pub ipv6: bool,
}

impl TargetGuard {
    /// Is `name` (or one of its parents) on the exclude list?
    pub fn excludes_name(&self, name: &str) -> bool {
        self.exclude.covers_name(name)
    }

    /// Why `ip` may not be contacted, if it may not.
    pub fn skip(&self, ip: IpAddr) -> Option<SkipReason> {
        if self.exclude.covers_ip(ip) {
            Some(SkipReason::Excluded)
        } else if ip.is_ipv6() && !self.ipv6 {
            Some(SkipReason::Ipv6Disabled)
        } else if !self.allow_private && address::non_public_range(ip).is_some() {
            Some(SkipReason::NonPublicAddress)
        } else {
            None
        }
    }

    /// Why the `index`-th address of a host is not contacted, if it is not: beyond `max_per_host`, or
    /// [`TargetGuard::skip`].
    pub fn skip_nth(&self, index: usize, max_per_host: usize, ip: IpAddr) -> Option<SkipReason> {
        if index >= max_per_host { Some(SkipReason::OverLimit) } else { self.skip(ip) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_for_a_host_with_public_and_private_addresses() {
        let mut guard = TargetGuard::default();
        // A host name resolving to a mix: only the public IPv4 address would be contacted.
        let addresses = [
            "203.0.114.25",
            "10.1.2.3",
            "127.0.0.1",
            "::ffff:192.168.1.1",
            "2a00:1450:4001::1a",
            "fe80::1",
            "100.64.1.1",
        ];
        let decide = |g: &TargetGuard, max: usize| {
            addresses.iter().enumerate().map(|(i, a)| g.skip_nth(i, max, a.parse().unwrap())).collect::<Vec<_>>()
        };
        use SkipReason::*;
        assert_eq!(
            decide(&guard, 8),
            [
                None,
                Some(NonPublicAddress),
                Some(NonPublicAddress),
                Some(Ipv6Disabled),
                Some(Ipv6Disabled),
                Some(Ipv6Disabled),
                Some(NonPublicAddress)
            ]
        );
        guard.ipv6 = true;
        // With IPv6 on, the IPv4-mapped private address is still caught as non-public.
        assert_eq!(decide(&guard, 8)[3..6], [Some(NonPublicAddress), None, Some(NonPublicAddress)]);
        guard.allow_private = true;
        guard.exclude = ExcludeList::parse("203.0.114.0/24").unwrap();
        assert_eq!(decide(&guard, 6), [Some(Excluded), None, None, None, None, None, Some(OverLimit)]);
        // A 6to4 address built on a private IPv4 address is private too.
        guard.allow_private = false;
        assert_eq!(guard.skip("2002:0a01:0203::25".parse().unwrap()), Some(NonPublicAddress));
        assert!(!guard.excludes_name("x.y") && guard.skip("2a00:1450:4001::1a".parse().unwrap()).is_none());
    }
}
