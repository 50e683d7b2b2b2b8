//! What a running scan shows: lines done of the total, the rate, the ETA, and what the probe runner
//! is doing (connections open, jobs waiting, and the busiest destinations' queues, so that a scan held
//! back by one address says which). Shown only when stderr is a terminal and `--no-progress` is not given.

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Engine;
use crate::config::ScanConfig;

/// The progress display of a scan (cheap to clone).
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    ticker: Option<Arc<tokio::task::JoinHandle<()>>>,
}

/// The busiest queues, for the status line: `smtp/192.0.2.1 340 waiting`.
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

impl Progress {
    /// Starts the display (hidden when stderr is not a terminal or progress is off).
    pub(crate) fn start(config: &ScanConfig, total: Option<u64>, engine: Arc<Engine>) -> Self {
        use std::io::IsTerminal;
        if !config.progress || !std::io::stderr().is_terminal() {
            return Self { bar: ProgressBar::hidden(), ticker: None };
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} {pos}/{len} lines {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        let shown = bar.clone();
        let ticker = tokio::spawn(async move {
            loop {
                shown.set_message(format!("connections: {}", queue_summary(&engine, 2)));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Self { bar, ticker: Some(Arc::new(ticker)) }
    }

    /// An input line that will not become a domain row (rejected, or already done).
    pub fn line_skipped(&self) {
        self.bar.inc(1);
    }

    /// A domain was written.
    pub fn domain_done(&self) {
        self.bar.inc(1);
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
