//! Which addresses are public: addresses in non-public ranges are not contacted unless
//! `--allow-private` is given (a hostile zone could otherwise point the scanner at internal networks).
//!
//! An IPv6 address that carries an IPv4 address (IPv4-mapped `::ffff:0:0/96`, 6to4 `2002::/16`, Teredo
//! `2001::/32`, the NAT64 well-known prefix `64:ff9b::/96`) is judged by the IPv4 address it reaches:
//! a 6to4 address built on 10.0.0.1 is as private as 10.0.0.1.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The non-public range an address falls in, or `None` for a public (globally routed) address.
pub fn non_public_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => v4_range(v4),
            None => v6_range(v6),
        },
    }
}

/// The IPv4 address an IPv6 address leads to, for the transition formats that embed one.
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    match (s[0], s[1]) {
        // 6to4 (RFC 3056): 2002:VVVV:VVVV::/48.
        (0x2002, _) => Some(v4(s[1], s[2])),
        // Teredo (RFC 4380): 2001:0000:server:flags:port:client, the client address inverted; the
        // client is where the packets go.
        (0x2001, 0x0000) => Some(v4(!s[6], !s[7])),
        // NAT64 well-known prefix (RFC 6052): 64:ff9b::/96.
        (0x0064, 0xff9b) if s[2..6] == [0, 0, 0, 0] => Some(v4(s[6], s[7])),
        _ => None,
    }
}

fn v4_range(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    let in_net = |net: [u8; 4], bits: u32| {
        let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
        u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
    };
    Some(match () {
        _ if ip.is_unspecified() || o[0] == 0 => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if in_net([10, 0, 0, 0], 8) || in_net([172, 16, 0, 0], 12) || in_net([192, 168, 0, 0], 16) => "private",
        _ if in_net([100, 64, 0, 0], 10) => "cgnat",
        _ if in_net([169, 254, 0, 0], 16) => "link_local",
        _ if in_net([192, 0, 0, 0], 24) => "ietf_protocol",
        _ if in_net([192, 0, 2, 0], 24) || in_net([198, 51, 100, 0], 24) || in_net([203, 0, 113, 0], 24) => {
            "documentation"
        }
        _ if in_net([198, 18, 0, 0], 15) => "benchmarking",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_broadcast() => "broadcast",
        _ if in_net([240, 0, 0, 0], 4) => "reserved",
        _ => return None,
    })
}

fn v6_range(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(match () {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if (s[0] & 0xfe00) == 0xfc00 => "private",
        _ if (s[0] & 0xffc0) == 0xfe80 => "link_local",
        _ if s[0] == 0x2001 && s[1] == 0x0db8 => "documentation",
        _ if ip.is_multicast() => "multicast",
        _ if s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 1 => "private",
        _ if s[0] == 0x0100 && s[1..4] == [0, 0, 0] => "discard",
        _ if (s[0] & 0xe000) != 0x2000 => "reserved",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("8.8.8.8", None),
            ("203.0.114.1", None),
            ("127.0.0.1", Some("loopback")),
            ("127.200.3.4", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("172.32.0.1", None),
            ("192.168.1.1", Some("private")),
            ("100.64.0.1", Some("cgnat")),
            ("100.128.0.1", None),
            ("169.254.1.1", Some("link_local")),
            ("192.0.2.7", Some("documentation")),
            ("198.51.100.7", Some("documentation")),
            ("203.0.113.7", Some("documentation")),
            ("198.18.0.1", Some("benchmarking")),
            ("224.0.0.1", Some("multicast")),
            ("255.255.255.255", Some("broadcast")),
            ("240.0.0.1", Some("reserved")),
            ("0.0.0.0", Some("unspecified")),
            ("0.1.2.3", Some("unspecified")),
            ("2a00:1450:4001::1", None),
            ("::1", Some("loopback")),
            ("::", Some("unspecified")),
            ("fd00::1", Some("private")),
            ("fe80::1", Some("link_local")),
            ("2001:db8::25", Some("documentation")),
            ("ff02::1", Some("multicast")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:10.0.0.1", Some("private")),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b:1::1", Some("private")),
            // Transition formats are judged by the IPv4 address inside.
            ("2002:0a00:0001::1", Some("private")),
            ("2002:0808:0808::1", None),
            ("2002:7f00:0001::1", Some("loopback")),
            ("64:ff9b::10.1.2.3", Some("private")),
            ("64:ff9b::8.8.8.8", None),
            ("64:ff9b::127.0.0.1", Some("loopback")),
            // Teredo: client 192.168.1.1 inverted is 3f57:fefe.
            ("2001:0:4136:e378:8000:63bf:3f57:fefe", Some("private")),
            // client 8.8.8.8 inverted is f7f7:f7f7.
            ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", None),
        ];
        for (ip, want) in cases {
            assert_eq!(non_public_range(ip.parse().unwrap()), *want, "{ip}");
        }
    }
}
