//! Politeness: how fast and how many SMTP connections the scanner opens.
//!
//! Three limits apply to every new connection, in this order: at most `per_ip_connections` open
//! connections to one destination IP (a semaphore per IP), at most `per_ip_rate` new connections per
//! second to one IP (a governor keyed limiter, burst 1), and at most `probe_rate` new connections per
//! second over the whole run (a governor direct limiter).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The connection limits (all documented in the README).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// New SMTP connections per second, whole run (`--probe-rate`, default 100).
    pub probe_rate: f64,
    /// New connections per second to one destination IP (`--per-ip-rate`, default 1).
    pub per_ip_rate: f64,
    /// Open connections to one destination IP (`--per-ip-connections`, default 1).
    pub per_ip_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { probe_rate: 100.0, per_ip_rate: 1.0, per_ip_connections: 1 }
    }
}

/// A quota of `rate` events per second (fractions allowed), burst 1.
fn quota(rate: f64) -> Quota {
    let one = NonZeroU32::new(1).expect("1 is non-zero");
    let rate = if rate.is_finite() && rate > 0.0 { rate } else { 1.0 };
    if rate >= 1.0 && rate.fract() == 0.0 && rate <= u32::MAX as f64 {
        Quota::per_second(NonZeroU32::new(rate as u32).expect("rate >= 1")).allow_burst(one)
    } else {
        Quota::with_period(Duration::from_secs_f64(1.0 / rate)).expect("period is positive").allow_burst(one)
    }
}

/// The run's shared limiters.
pub struct Politeness {
    global: DefaultDirectRateLimiter,
    per_ip_rate: DefaultKeyedRateLimiter<IpAddr>,
    per_ip_open: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
    per_ip_connections: usize,
    /// IPs that answered 421/4xx: no new connection to them before this instant.
    backoff: Mutex<HashMap<IpAddr, tokio::time::Instant>>,
}

impl Politeness {
    /// Builds the limiters.
    pub fn new(limits: &Limits) -> Self {
        Self {
            // The global limiter allows a burst of one second's worth, so a run starts at full rate.
            global: RateLimiter::direct(
                quota(limits.probe_rate).allow_burst(
                    NonZeroU32::new(limits.probe_rate.max(1.0).min(u32::MAX as f64) as u32).expect("max(1)"),
                ),
            ),
            per_ip_rate: RateLimiter::keyed(quota(limits.per_ip_rate)),
            per_ip_open: Mutex::new(HashMap::new()),
            per_ip_connections: limits.per_ip_connections.max(1),
            backoff: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until a new connection to `ip` is allowed; hold the permit while the connection is open.
    pub async fn admit(&self, ip: IpAddr) -> OwnedSemaphorePermit {
        let sem = {
            let mut map = self.per_ip_open.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(ip).or_insert_with(|| Arc::new(Semaphore::new(self.per_ip_connections))).clone()
        };
        let permit = sem.acquire_owned().await.expect("semaphore is never closed");
        let until = self.backoff.lock().unwrap_or_else(|e| e.into_inner()).get(&ip).copied();
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
        self.per_ip_rate.until_key_ready(&ip).await;
        self.global.until_ready().await;
        permit
    }
}

impl Politeness {
    /// No new connection to `ip` for `delay` (it answered 421 or another 4xx).
    pub fn back_off(&self, ip: IpAddr, delay: Duration) {
        let until = tokio::time::Instant::now() + delay;
        let mut map = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(ip).or_insert(until);
        *entry = (*entry).max(until);
    }
}

/// The wait before retry `n` (1-based): `base × 2^(n-1)`, at most five minutes.
pub fn retry_delay(base: Duration, n: u32) -> Duration {
    base.saturating_mul(1u32 << n.saturating_sub(1).min(16)).min(Duration::from_secs(300))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn fractional_rates_become_periods() {
        assert_eq!(quota(0.5).replenish_interval(), Duration::from_secs(2));
        assert_eq!(quota(4.0).replenish_interval(), Duration::from_millis(250));
        assert_eq!(quota(-1.0).replenish_interval(), Duration::from_secs(1));
        assert_eq!(quota(20.0).burst_size().get(), 1);
    }

    #[test]
    fn retry_delays_double_and_are_capped() {
        let base = Duration::from_secs(10);
        assert_eq!([1, 2, 3].map(|n| retry_delay(base, n)), [10, 20, 40].map(Duration::from_secs));
        assert_eq!(retry_delay(base, 30), Duration::from_secs(300));
    }

    #[tokio::test]
    async fn back_off_delays_the_next_connection_to_that_ip_only() {
        let p = Politeness::new(&Limits { probe_rate: 1000.0, per_ip_rate: 1000.0, per_ip_connections: 1 });
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        p.back_off(a, Duration::from_millis(150));
        let start = Instant::now();
        drop(p.admit(b).await);
        assert!(start.elapsed() < Duration::from_millis(100));
        drop(p.admit(a).await);
        assert!(start.elapsed() >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn per_ip_connections_and_rate_hold() {
        let p = Arc::new(Politeness::new(&Limits { probe_rate: 1000.0, per_ip_rate: 20.0, per_ip_connections: 1 }));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let max_open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let (p, open, max_open) = (p.clone(), open.clone(), max_open.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = p.admit(ip).await;
                let now = open.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                max_open.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max_open.load(std::sync::atomic::Ordering::SeqCst), 1);
        // 5 connections at 20/s with burst 1: at least 4 intervals of 50 ms.
        assert!(start.elapsed() >= Duration::from_millis(190), "{:?}", start.elapsed());
    }
}
