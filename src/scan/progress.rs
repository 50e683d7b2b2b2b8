//! What a running scan shows: the share of input lines done, the rate, the ETA, the limit that holds
//! the scan back right now (`dns_qps`, `probe_rate`, a destination's per-IP limits, `concurrency`,
//! `max_parked`, or the network itself), and the busiest destination queues.
//!
//! On a terminal it is a two-line bar (redrawn in place, at most 80 columns by default); when stderr
//! is not a terminal (a log file, a batch job) it is one plain status line every `--status-interval`
//! seconds, without escape codes. `--no-progress` or `-q` turn both off.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Engine;
use crate::config::ScanConfig;

/// The progress display of a scan (cheap to clone).
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    done: Arc<AtomicU64>,
    ticker: Option<Arc<tokio::task::JoinHandle<()>>>,
}

/// The busiest queues, for the status line: `smtp/192.0.2.1 340`.
pub(crate) fn queue_summary(engine: &Engine, n: usize) -> String {
    let (waiting, open) = engine.runner.load();
    let busiest: Vec<String> = engine
        .runner
        .busiest(n)
        .into_iter()
        .map(|(class, ip, waiting, _)| format!("{}/{ip} {waiting}", class.as_label()))
        .collect();
    let mut s = format!("{open} open, {waiting} waiting");
    if !busiest.is_empty() {
        s.push_str(&format!("; busiest: {}", busiest.join(", ")));
    }
    s
}

/// What holds the scan back now, by the first that applies: queries waiting for `--dns-qps`;
/// probes waiting for `--probe-rate`; probes waiting for one destination's per-IP limits; every
/// `--max-parked` slot taken (the input waits); every `--concurrency` slot resolving; else the
/// network (answers are awaited, nothing is throttled).
pub(crate) fn binding_limit(engine: &Engine) -> String {
    let c = &engine.config;
    let dns_waiting = engine.dns.transport_counts().waiting_for_qps.load(Ordering::Relaxed);
    if dns_waiting > 0 {
        return format!("dns_qps ({}/s): {dns_waiting} queries wait", c.dns.qps);
    }
    let (waiting, _) = engine.runner.load();
    if waiting > 0 {
        if engine.runner.waiting_on_global_rate() {
            return format!("probe_rate ({}/s): {waiting} probes wait", c.limits.probe_rate);
        }
        if let Some((class, ip, n, _)) = engine.runner.busiest(1).into_iter().next() {
            return format!("per-IP limits of {}/{ip}: {n} probes wait", class.as_label());
        }
    }
    if engine.in_flight.available_permits() == 0 {
        return format!("max_parked ({}): the input waits", c.max_parked);
    }
    if engine.resolve_slots.available_permits() == 0 {
        return format!("concurrency ({}): every slot resolving", c.concurrency);
    }
    "none: waiting for answers".to_string()
}

/// `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `42s`, `7m05s`, `3h12m`.
fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The figures line: `42% 4,210/10,000 lines, 812/s, eta 7s` (without a total: no share, no ETA).
pub(crate) fn figures(done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let rate = if rate >= 10.0 { format!("{rate:.0}/s") } else { format!("{rate:.1}/s") };
    match total {
        Some(total) if total > 0 => {
            let share = (done as f64 / total as f64 * 100.0).min(100.0);
            let left = total.saturating_sub(done) as f64;
            let eta = if done > 0 && secs > 0.0 { duration(left / (done as f64 / secs)) } else { "-".into() };
            format!("{share:.0}% {}/{} lines, {rate}, eta {eta}", grouped(done), grouped(total))
        }
        _ => format!("{} lines, {rate}", grouped(done)),
    }
}

impl Progress {
    /// Starts the display: a bar on a terminal, status lines otherwise, nothing when progress is off.
    pub(crate) fn start(config: &ScanConfig, total: Option<u64>, engine: Arc<Engine>) -> Self {
        use std::io::IsTerminal;
        let done = Arc::new(AtomicU64::new(0));
        if !config.progress {
            return Self { bar: ProgressBar::hidden(), done, ticker: None };
        }
        let started = Instant::now();
        if !std::io::stderr().is_terminal() {
            // A status line every interval, plain text, for logs and batch jobs.
            let (count, every) = (done.clone(), config.status_interval);
            let ticker = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let n = count.load(Ordering::Relaxed);
                    eprintln!(
                        "mailcensus: {}; limit: {}; {}",
                        figures(n, total, started.elapsed()),
                        binding_limit(&engine),
                        queue_summary(&engine, 2)
                    );
                }
            });
            return Self { bar: ProgressBar::hidden(), done, ticker: Some(Arc::new(ticker)) };
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{bar:20} {prefix}\n  {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        let (shown, count) = (bar.clone(), done.clone());
        let ticker = tokio::spawn(async move {
            loop {
                shown.set_prefix(figures(count.load(Ordering::Relaxed), total, started.elapsed()));
                shown.set_message(format!("limit: {} | {}", binding_limit(&engine), queue_summary(&engine, 2)));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Self { bar, done, ticker: Some(Arc::new(ticker)) }
    }

    fn advance(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.bar.inc(1);
    }

    /// An input line that will not become a domain row (rejected, or already done).
    pub fn line_skipped(&self) {
        self.advance();
    }

    /// A domain was written.
    pub fn domain_done(&self) {
        self.advance();
    }

    /// Prints a line without breaking the bar.
    pub fn say(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// Stops the display.
    pub fn finish(&self) {
        if let Some(t) = &self.ticker {
            t.abort();
        }
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well_in_80_columns() {
        let cases = [
            (4_210, Some(10_000), 5.0, "42% 4,210/10,000 lines, 842/s, eta 7s"),
            (0, Some(10_000), 1.0, "0% 0/10,000 lines, 0.0/s, eta -"),
            (3, None, 2.0, "3 lines, 1.5/s"),
            (1_000_000, Some(160_000_000), 500.0, "1% 1,000,000/160,000,000 lines, 2000/s, eta 22h05m"),
            (10, Some(10), 1.0, "100% 10/10 lines, 10/s, eta 0s"),
        ];
        for (done, total, secs, want) in cases {
            let got = figures(done, total, Duration::from_secs_f64(secs));
            assert_eq!(got, want);
            assert!(got.len() + 21 <= 80, "{got}");
        }
        assert_eq!(duration(425.0), "7m05s");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
