//! Shares with confidence intervals, weighted or not.
//!
//! A share is `hits / total` over the domains where the question applies, each domain counted with
//! its weight (the input's weight column, or 1). The 95% interval is Wilson's score interval, using
//! Kish's effective sample size `n_eff = (Σw)² / Σw²` when weights differ, so that a group of three
//! domains or one dominated by a single heavy domain is not over-read.

/// A weighted count of hits among applicable domains.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    /// Σ weight of the domains where the question applies.
    pub total: f64,
    /// Σ weight² of those domains (for the effective sample size).
    pub total_sq: f64,
    /// Σ weight of the hits.
    pub hits: f64,
    /// Number of applicable domains (unweighted).
    pub n: u64,
}

impl Tally {
    /// Counts one applicable domain of weight `w`.
    pub fn add(&mut self, w: f64, hit: bool) {
        self.total += w;
        self.total_sq += w * w;
        self.n += 1;
        if hit {
            self.hits += w;
        }
    }

    /// The share, or `None` when no domain applies.
    pub fn share(&self) -> Option<f64> {
        (self.total > 0.0).then(|| self.hits / self.total)
    }

    /// Kish's effective sample size.
    pub fn effective_n(&self) -> f64 {
        if self.total_sq > 0.0 { self.total * self.total / self.total_sq } else { 0.0 }
    }

    /// The 95% Wilson interval of the share, or `None` when no domain applies.
    pub fn interval(&self) -> Option<(f64, f64)> {
        let p = self.share()?;
        Some(wilson(p, self.effective_n(), 1.959_963_984_540_054))
    }
}

/// Wilson's score interval for a proportion `p` observed over `n` trials, at `z` standard deviations.
pub fn wilson(p: f64, n: f64, z: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (0.0, 1.0);
    }
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-4
    }

    #[test]
    fn wilson_reference_values() {
        // Reference values (Wilson 1927; as computed by statsmodels proportion_confint(method="wilson")).
        for (p, n, lo, hi) in [
            (0.5, 100.0, 0.4038, 0.5962),
            (0.1, 50.0, 0.0435, 0.2136),
            (1.0, 10.0, 0.7225, 1.0),
            (0.0, 3.0, 0.0, 0.5615),
        ] {
            let (l, h) = wilson(p, n, 1.959_963_984_540_054);
            assert!(close(l, lo) && close(h, hi), "p={p} n={n}: ({l:.4}, {h:.4}) vs ({lo}, {hi})");
        }
    }

    #[test]
    fn weights_shrink_the_effective_sample() {
        let mut even = Tally::default();
        let mut skewed = Tally::default();
        for i in 0..10 {
            even.add(1.0, i < 5);
            skewed.add(if i == 0 { 100.0 } else { 1.0 }, i < 5);
        }
        assert!(close(even.effective_n(), 10.0));
        assert!(skewed.effective_n() < 1.3, "{}", skewed.effective_n());
        let (lo, hi) = skewed.interval().unwrap();
        let (elo, ehi) = even.interval().unwrap();
        assert!(hi - lo > ehi - elo, "a heavy domain widens the interval");
        assert_eq!(Tally::default().share(), None);
    }

    proptest! {
        #[test]
        fn interval_contains_the_share(hits in 0u32..200, extra in 0u32..200) {
            let mut t = Tally::default();
            for i in 0..hits + extra {
                t.add(1.0 + (i % 3) as f64, i < hits);
            }
            if let (Some(p), Some((lo, hi))) = (t.share(), t.interval()) {
                prop_assert!(lo <= p + 1e-12 && p <= hi + 1e-12 && (0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
            }
        }
    }
}
