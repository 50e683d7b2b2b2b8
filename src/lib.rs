//! mailcensus: for every email domain in a list, does mail to it travel encrypted and authenticated?
//!
//! A scan streams a CSV of domains through DNS (MX, A/AAAA, SPF with includes, DMARC, DKIM, MTA-STS,
//! TLS-RPT, TLSA with DNSSEC) and polite probes of every MX address (SMTP STARTTLS), of the endpoints a
//! mail app uses (submission, IMAP, POP3) and of the published policy files (HTTPS), and writes the
//! results as Parquet datasets (`domains`, `mx_hosts`, `client_endpoints`). See the README for the
//! command line, the columns and the scanner's etiquette.
//!
//! Layout, in the order data flows: [`input`] and [`domain`] read the list; [`scan`] runs each domain
//! through its stages and owns the probe runner ([`scan::runner`]), through which every connection
//! goes; [`dns`] looks names up; [`policy`] parses and judges what a domain publishes; [`client`] finds
//! a domain's mail-app endpoints; [`probe`] speaks SMTP, IMAP, POP3, HTTPS and TLS ([`probe::tls`]
//! holds the one `danger` module); [`guard`] and [`limit`] keep the scanner safe and polite;
//! [`output`] owns the schema and the files; [`report`] reads them back. [`world`] is a simulated mail
//! internet for `demo`, `lab` and `bench`, served by the loopback servers of [`testkit`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
pub mod check;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod dns;
pub mod domain;
pub mod guard;
pub mod input;
pub mod label;
pub mod limit;
pub mod output;
pub mod policy;
pub mod probe;
pub mod report;
pub mod scan;
pub mod shard;
pub mod testkit;
pub mod world;
