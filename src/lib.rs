//! mailcensus: for every email domain in a list, does mail to it travel encrypted and authenticated?
//!
//! A scan streams a CSV of domains through DNS (MX, A/AAAA, SPF, DMARC) and a polite SMTP STARTTLS
//! probe of every MX address, and writes the results as Parquet datasets (`domains`, `mx_hosts`).
//! See the README for the command line, the columns and the scanner's etiquette.
//!
//! Layout: [`input`] and [`domain`] read the list; [`dns`] and [`policy`] look up and parse what a
//! domain publishes; [`probe`] talks SMTP and TLS to each MX ([`probe::tls`] holds the one `danger`
//! module); [`limit`] and [`address`] keep the scanner polite and safe; [`record`] assembles a domain's
//! results; [`output`] owns the schema and the files; [`pipeline`] runs it all; [`testkit`] provides
//! loopback DNS and SMTP servers for tests.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod bench;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dns;
pub mod domain;
pub mod endpoint;
pub mod exclude;
pub mod input;
pub mod label;
pub mod limit;
pub mod output;
pub mod pipeline;
pub mod policy;
pub mod probe;
pub mod record;
pub mod report;
pub mod testkit;
pub mod world;
