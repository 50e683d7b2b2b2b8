//! The run-wide probe cache: each (MX host, IP) is probed once per run, however many domains share it.
//!
//! Concurrent requests for the same key wait for the one probe in flight instead of starting their
//! own. Memory grows with the number of distinct (MX host, IP) pairs, never with the input.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::smtp::ProbeReport;

/// Probe results by key: (MX host, IP) for the MX probes, (protocol, host, port, IP) for client
/// endpoints.
pub struct ProbeCache<K = (String, IpAddr), V = ProbeReport> {
    cells: Mutex<HashMap<K, Arc<OnceCell<Arc<V>>>>>,
    probes: AtomicU64,
    hits: AtomicU64,
}

impl<K, V> Default for ProbeCache<K, V> {
    fn default() -> Self {
        Self { cells: Mutex::new(HashMap::new()), probes: AtomicU64::new(0), hits: AtomicU64::new(0) }
    }
}

impl ProbeCache {
    /// The report for (`host`, `ip`), running `probe` only if no one has. The flag says whether the
    /// report was shared (true) or produced by this call (false).
    pub async fn get_or_probe<F, Fut>(&self, host: &str, ip: IpAddr, probe: F) -> (Arc<ProbeReport>, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ProbeReport>,
    {
        self.get_or_run((host.to_string(), ip), probe).await
    }
}

impl<K: Eq + Hash, V> ProbeCache<K, V> {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value for `key`, running `probe` only if no one has; the flag says whether it was shared.
    pub async fn get_or_run<F, Fut>(&self, key: K, probe: F) -> (Arc<V>, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            cells.entry(key).or_default().clone()
        };
        let mut ran = false;
        let report = cell
            .get_or_init(|| {
                ran = true;
                self.probes.fetch_add(1, Ordering::Relaxed);
                async move { Arc::new(probe().await) }
            })
            .await
            .clone();
        if !ran {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        (report, !ran)
    }

    /// Probes actually run.
    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }

    /// Requests answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::SkipReason;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn concurrent_requests_share_one_probe() {
        let cache: Arc<ProbeCache> = Arc::new(ProbeCache::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, runs) = (cache.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_probe("mx.example", ip, || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        ProbeReport::skipped(SkipReason::NoAddress)
                    })
                    .await
                    .1
            }));
        }
        let mut shared = 0;
        for t in tasks {
            shared += t.await.unwrap() as usize;
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(shared, 49);
        assert_eq!((cache.probes(), cache.hits()), (1, 49));
        let (_, cached) =
            cache.get_or_probe("mx2.example", ip, || async { ProbeReport::skipped(SkipReason::NoAddress) }).await;
        assert!(!cached, "another host name on the same IP is another probe");
    }
}
