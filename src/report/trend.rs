//! `mailcensus report --compare SCAN... NEW`: the trend over any number of scans, each labelled by
//! its scan date, as the Transparency Report draws its line over time.
//!
//! Every earlier scan directory is reported on its own (its groups' shares and intervals, into a
//! temporary folder), the scans are ordered by date (then id), and `NEW/report/trend.csv` gets one
//! row per scan, group and headline share: `scan_date, scan_id, group, measure, share, low, high, n`.
//! The page shows the shares of all domains and of the largest groups (of the newest scan) per scan
//! date. A Transparency-Report CSV has no groups and takes no part in the trend.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::compare::COMPARED;
use super::grade::Lang;
use super::{Report, metric_index};
use crate::output::read::ReadError;
use crate::output::spreadsheet::SafeWriter;

/// Groups shown in the page's trend table besides all domains (the largest of the newest scan).
pub const TREND_GROUPS: usize = 10;

/// A share with its 95% interval and the number of domains it is over: (share, low, high, n).
pub type Share = (f64, f64, f64, u64);

/// One scan's point on the trend: per group, each compared share as (share, low, high, n).
#[derive(Clone, Debug)]
pub struct Point {
    /// The scan's date (`scan_date`, or the day it started).
    pub date: String,
    /// The scan's id (empty for scans made before ids existed).
    pub id: String,
    /// Per group, one entry per [`COMPARED`] share.
    pub groups: BTreeMap<String, Vec<Option<Share>>>,
    /// Domains per group.
    pub domains: BTreeMap<String, u64>,
}

/// The trend: the points, oldest first.
#[derive(Clone, Debug, Default)]
pub struct Trend {
    /// One point per scan, ordered by date then id.
    pub points: Vec<Point>,
}

fn point(report: &Report) -> Point {
    let mut groups = BTreeMap::new();
    let mut domains = BTreeMap::new();
    for (name, g) in &report.groups {
        let shares = COMPARED
            .iter()
            .map(|m| {
                let t = &g.tallies[metric_index(m)];
                let (lo, hi) = t.interval().unzip();
                t.share().map(|p| (p, lo.unwrap_or(p), hi.unwrap_or(p), t.n))
            })
            .collect();
        groups.insert(name.clone(), shares);
        domains.insert(name.clone(), g.domains);
    }
    Point { date: report.scan.date.clone(), id: report.scan.id.clone(), groups, domains }
}

/// The trend over `earlier` scan directories (CSV files are skipped) and the new scan, whose report
/// is `new`; writes `new_dir/report/trend.csv`.
pub fn build(earlier: &[PathBuf], new_dir: &Path, new: &Report, lang: Lang) -> Result<Trend, ReadError> {
    let mut points = Vec::new();
    for (i, dir) in earlier.iter().enumerate().filter(|(_, d)| d.is_dir()) {
        let tmp = std::env::temp_dir().join(format!("mailcensus-trend-{}-{i}", std::process::id()));
        let report = super::run_into(dir, &tmp, lang);
        let _ = std::fs::remove_dir_all(&tmp);
        points.push(point(&report?));
    }
    points.push(point(new));
    points.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
    let path = new_dir.join("report").join("trend.csv");
    let mut w = SafeWriter::from_path_bom(&path, lang == Lang::Ja)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    w.write_record(["scan_date", "scan_id", "group", "measure", "share", "low", "high", "n"])?;
    for p in &points {
        for (group, shares) in &p.groups {
            for (m, s) in COMPARED.iter().zip(shares) {
                let Some((share, lo, hi, n)) = s else { continue };
                w.write_record([
                    p.date.as_str(),
                    &p.id,
                    group,
                    m,
                    &format!("{share:.6}"),
                    &format!("{lo:.6}"),
                    &format!("{hi:.6}"),
                    &n.to_string(),
                ])?;
            }
        }
    }
    w.flush()?;
    Ok(Trend { points })
}

impl Trend {
    /// The groups the page shows: all domains first, then the newest scan's largest groups.
    pub fn shown_groups(&self) -> Vec<String> {
        let Some(last) = self.points.last() else { return Vec::new() };
        let mut groups: Vec<(&String, &u64)> = last.domains.iter().filter(|(g, _)| g.as_str() != super::ALL).collect();
        groups.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        std::iter::once(super::ALL.to_string())
            .chain(groups.into_iter().take(TREND_GROUPS).map(|(g, _)| g.clone()))
            .collect()
    }
}
