//! Loopback test servers and helpers: an authoritative DNS server with fault injection
//! ([`dns::FakeDns`]), SMTP servers with TLS postures ([`smtp::FakeSmtp`]), a test PKI ([`pki`]), and a
//! reader of the output datasets ([`dataset`]). Everything binds 127.0.0.0/8 only; give each test its
//! own block of addresses ([`AddressBlock`]) so that tests running in parallel never collide.

pub mod dataset;
pub mod dns;
pub mod https;
pub mod mailbox;
pub mod pki;
pub mod smtp;

use std::net::{IpAddr, Ipv4Addr};

/// Hands out consecutive addresses 127.B.x.y of one block B.
#[derive(Debug)]
pub struct AddressBlock {
    block: u8,
    next: u16,
}

impl AddressBlock {
    /// The block `127.block.0.0/16`; the first address handed out is `127.block.0.2`.
    pub fn new(block: u8) -> Self {
        Self { block, next: 2 }
    }

    /// The next unused address of the block.
    pub fn next_ip(&mut self) -> IpAddr {
        let n = self.next;
        self.next = self.next.checked_add(1).expect("address block exhausted");
        IpAddr::V4(Ipv4Addr::new(127, self.block, (n >> 8) as u8, (n & 0xff) as u8))
    }
}
