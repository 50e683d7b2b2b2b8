//! Scenario tests: the real scan pipeline against in-process DNS and SMTP servers on loopback, with
//! the Parquet output read back. Each test module uses its own 127.B.0.0/16 block.

mod check;
mod cli;
mod clients;
mod dns_cases;
mod dnssec;
mod engine;
mod gmail;
mod hostile;
mod input_corpus;
mod lab;
mod policies;
mod politeness;
mod postures;
mod realworld;
mod report;
mod resume;
mod shard;
mod world;
