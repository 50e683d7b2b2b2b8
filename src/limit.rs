//! Politeness: how fast and how many connections the scanner opens, per kind of service.
//!
//! Every connection belongs to a politeness [`Class`]: `smtp` (port 25 of an MX), `client` (the
//! submission, IMAP and POP3 endpoints a mail app uses) or `https` (MTA-STS policies, autoconfig
//! files). Each class has its own per-address limits, fitted to the service ([`ClassLimits`]): an MX
//! gets one connection at a time and one a second, a web server several. Over all classes, at most
//! `probe_rate` new connections a second leave the scanner. The probe runner (`scan::runner`) is the
//! only place these limits are applied.

use std::time::Duration;

crate::labels! {
    /// The kind of service a connection goes to; each has its own per-address limits.
    #[derive(PartialOrd, Ord)]
    pub enum Class {
        /// SMTP on an MX host (port 25).
        Smtp => "smtp",
        /// A mail app's endpoints: submission, IMAP, POP3.
        Client => "client",
        /// HTTPS: MTA-STS policies and autoconfig files.
        Https => "https",
    }
}

/// The limits of one class, per destination address.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassLimits {
    /// New connections per second to one address (burst 1; fractions allowed).
    pub per_ip_rate: f64,
    /// Connections open at once to one address.
    pub per_ip_connections: usize,
}

impl ClassLimits {
    /// The interval between two connection starts to one address.
    pub fn interval(&self) -> Duration {
        interval(self.per_ip_rate)
    }
}

/// The connection limits of a run (all documented in the README).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// New connections per second, whole run, all classes (`--probe-rate`, default 100).
    pub probe_rate: f64,
    /// SMTP to an MX (`--per-ip-rate`, default 1/s; `--per-ip-connections`, default 1).
    pub smtp: ClassLimits,
    /// Client endpoints (`--client-per-ip-rate`, default 2/s; `--client-per-ip-connections`, default 2).
    pub client: ClassLimits,
    /// HTTPS fetches (`--https-per-ip-rate`, default 10/s; `--https-per-ip-connections`, default 4).
    pub https: ClassLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            probe_rate: 100.0,
            smtp: ClassLimits { per_ip_rate: 1.0, per_ip_connections: 1 },
            client: ClassLimits { per_ip_rate: 2.0, per_ip_connections: 2 },
            https: ClassLimits { per_ip_rate: 10.0, per_ip_connections: 4 },
        }
    }
}

impl Limits {
    /// The limits of `class`.
    pub fn of(&self, class: Class) -> ClassLimits {
        match class {
            Class::Smtp => self.smtp,
            Class::Client => self.client,
            Class::Https => self.https,
        }
    }
}

/// The interval of `rate` events per second; a rate that is not a positive number counts as 1/s.
pub fn interval(rate: f64) -> Duration {
    let rate = if rate.is_finite() && rate > 0.0 { rate } else { 1.0 };
    Duration::from_secs_f64(1.0 / rate)
}

/// A rate limit with a burst, as a generic cell rate algorithm (GCRA): `burst` events may start at
/// once, then one every `interval`. Pure: the caller passes the clock.
#[derive(Clone, Debug)]
pub struct Gcra {
    interval: Duration,
    tolerance: Duration,
    /// The theoretical arrival time of the next event.
    tat: Option<tokio::time::Instant>,
}

impl Gcra {
    /// `rate` events a second with a burst of `burst` (at least 1).
    pub fn new(rate: f64, burst: u32) -> Self {
        let interval = interval(rate);
        Self { interval, tolerance: interval.saturating_mul(burst.max(1) - 1), tat: None }
    }

    /// The earliest instant an event may happen (`now` or later).
    pub fn earliest(&self, now: tokio::time::Instant) -> tokio::time::Instant {
        match self.tat {
            Some(tat) => now.max(tat.checked_sub(self.tolerance).unwrap_or(now)),
            None => now,
        }
    }

    /// Records an event at `now` (which must not be before [`Gcra::earliest`]).
    pub fn take(&mut self, now: tokio::time::Instant) {
        let base = self.tat.map_or(now, |t| t.max(now));
        self.tat = Some(base + self.interval);
    }
}

/// The wait before retry `n` (1-based): `base × 2^(n-1)`, at most five minutes.
pub fn retry_delay(base: Duration, n: u32) -> Duration {
    base.saturating_mul(1u32 << n.saturating_sub(1).min(16)).min(Duration::from_secs(300))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    #[test]
    fn intervals_of_fractional_and_bad_rates() {
        assert_eq!(interval(0.5), Duration::from_secs(2));
        assert_eq!(interval(4.0), Duration::from_millis(250));
        assert_eq!(interval(-1.0), Duration::from_secs(1));
        assert_eq!(interval(f64::NAN), Duration::from_secs(1));
    }

    #[test]
    fn retry_delays_double_and_are_capped() {
        let base = Duration::from_secs(10);
        assert_eq!([1, 2, 3].map(|n| retry_delay(base, n)), [10, 20, 40].map(Duration::from_secs));
        assert_eq!(retry_delay(base, 30), Duration::from_secs(300));
    }

    #[test]
    fn gcra_allows_its_burst_then_paces() {
        let t0 = Instant::now();
        let mut g = Gcra::new(10.0, 3);
        // Three at once, then one every 100 ms.
        for _ in 0..3 {
            assert_eq!(g.earliest(t0), t0);
            g.take(t0);
        }
        assert_eq!(g.earliest(t0), t0 + Duration::from_millis(100));
        g.take(t0 + Duration::from_millis(100));
        assert_eq!(g.earliest(t0), t0 + Duration::from_millis(200));
        // After a long pause the burst is available again.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(g.earliest(later), later);
        let mut one = Gcra::new(1.0, 1);
        one.take(t0);
        assert_eq!(one.earliest(t0), t0 + Duration::from_secs(1));
    }

    #[test]
    fn class_defaults_fit_the_service() {
        let l = Limits::default();
        assert_eq!((l.of(Class::Smtp).per_ip_rate, l.of(Class::Smtp).per_ip_connections), (1.0, 1));
        assert!(l.of(Class::Https).per_ip_rate > l.of(Class::Client).per_ip_rate);
        assert_eq!(Class::from_label("https"), Some(Class::Https));
    }
}
