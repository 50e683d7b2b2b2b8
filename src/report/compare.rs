//! `mailcensus report --compare OLD NEW`: what got better and what broke between two scans, per group
//! and per domain, as the Transparency Report shows a trend.
//!
//! OLD is a scan directory, or a CSV in the Transparency Report's format (Google's own file
//! included), compared on the domains both contain: its `outbound` rows' `Fraction Encrypted` against
//! the new scan's (see `transparency.csv`). Writes `NEW/report/compare.csv` and a section of the page:
//! - `kind = group`: one row per group in both scans and headline share (`starttls_all`,
//!   `cert_valid_all`, `red_lock`, `spf_valid`, `dmarc_present`), with the old and new share, the change,
//!   and whether the 95% intervals are disjoint (`significant`);
//! - `kind = domain`: one row per domain in both whose grade or fraction encrypted changed.

use std::collections::BTreeMap;
use std::path::Path;

use crate::output::spreadsheet::{SafeWriter, restore};

use super::grade::Lang;
use super::{Report, metric_index};
use crate::output::read::ReadError;

/// The shares compared per group.
pub const COMPARED: [&str; 5] = ["starttls_all", "cert_valid_all", "red_lock", "spf_valid", "dmarc_present"];

/// One row of `compare.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// `group` or `domain`.
    pub kind: &'static str,
    /// The group or domain.
    pub name: String,
    /// The share (`starttls_all` ...), `grade` or `fraction_encrypted`.
    pub measure: String,
    /// The old value.
    pub old: String,
    /// The new value.
    pub new: String,
    /// `improved`, `worsened` or `unchanged`.
    pub change: &'static str,
    /// For group shares: the 95% intervals do not overlap.
    pub significant: bool,
}

/// A comparison of two scans.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    /// Every row of `compare.csv`.
    pub changes: Vec<Change>,
    /// Domains in both.
    pub common_domains: u64,
}

impl Comparison {
    /// Domain rows by change (`improved`, `worsened`).
    pub fn domain_counts(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for c in self.changes.iter().filter(|c| c.kind == "domain") {
            *m.entry(c.change).or_default() += 1;
        }
        m
    }
}

fn read_csv(path: &Path, key: &str, value: &str) -> Result<BTreeMap<String, String>, ReadError> {
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let h = r.headers()?.clone();
    // A Japanese report's CSVs start with a byte-order mark.
    let name = |c: &str| c.trim_start_matches('\u{feff}').to_string();
    let (k, v) = (h.iter().position(|c| name(c) == key), h.iter().position(|c| name(c) == value));
    let (Some(k), Some(v)) = (k, v) else { return Err(format!("{} lacks {key} or {value}", path.display()).into()) };
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec?;
        out.insert(restore(&rec[k]).to_string(), restore(&rec[v]).to_string());
    }
    Ok(out)
}

/// The outbound, world-wide `Fraction Encrypted` of a Transparency-Report CSV, by domain.
fn read_transparency(path: &Path) -> Result<BTreeMap<String, String>, ReadError> {
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let h = r.headers()?.clone();
    let col = |name: &str| {
        h.iter().position(|c| c == name).ok_or_else(|| format!("{} has no column {name:?}", path.display()))
    };
    let (domain, direction, region, fraction) =
        (col("Address Suffix")?, col("Direction")?, col("UN M.49 Region Code")?, col("Fraction Encrypted")?);
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec?;
        if &rec[direction] == "outbound" && (&rec[region] == "001" || &rec[region] == "1") {
            out.insert(restore(&rec[domain]).to_ascii_lowercase(), rec[fraction].to_string());
        }
    }
    Ok(out)
}

fn grade_rank(g: &str) -> Option<usize> {
    ["F", "D", "C", "B", "A"].iter().position(|x| *x == g)
}

/// Whether a share got better, at the precision the report shows (0.1 percentage point): 73.1% →
/// 73.1% is unchanged, whatever the digits behind.
fn direction(old: f64, new: f64, higher_is_better: bool) -> &'static str {
    if (new * 1000.0).round() == (old * 1000.0).round() {
        "unchanged"
    } else if (new > old) == higher_is_better {
        "improved"
    } else {
        "worsened"
    }
}

/// Compares OLD (a scan directory or a Transparency-Report CSV) with the scan in `new_dir`, whose
/// report (`new`) has been written; writes `compare.csv` and the page with its comparison section.
pub fn compare(old: &Path, new_dir: &Path, new: &Report, lang: Lang) -> Result<Comparison, ReadError> {
    let new_report = new_dir.join("report");
    let mut c = Comparison::default();
    let new_fractions = read_csv(&new_report.join("transparency.csv"), "Address Suffix", "Fraction Encrypted")?;
    let fraction_changes = |c: &mut Comparison, old_fractions: &BTreeMap<String, String>| {
        for (domain, old_f) in old_fractions {
            let (Some(new_f), Ok(o)) = (new_fractions.get(domain), old_f.parse::<f64>()) else { continue };
            let Ok(n) = new_f.parse::<f64>() else { continue };
            let change = direction(o, n, true);
            if change != "unchanged" {
                c.changes.push(Change {
                    kind: "domain",
                    name: domain.clone(),
                    measure: "fraction_encrypted".into(),
                    old: old_f.clone(),
                    new: new_f.clone(),
                    change,
                    significant: false,
                });
            }
        }
    };
    if old.is_file() {
        let old_fractions = read_transparency(old)?;
        c.common_domains = old_fractions.keys().filter(|d| new_fractions.contains_key(*d)).count() as u64;
        fraction_changes(&mut c, &old_fractions);
    } else {
        let tmp = std::env::temp_dir().join(format!(
            "mailcensus-compare-{}-{}",
            std::process::id(),
            new as *const Report as usize
        ));
        let old_report = super::run_into(old, &tmp, lang);
        let result = (|| -> Result<(), ReadError> {
            let old_report = old_report?;
            for (name, g_new) in &new.groups {
                let Some(g_old) = old_report.groups.get(name) else { continue };
                for m in COMPARED {
                    let (to, tn) = (&g_old.tallies[metric_index(m)], &g_new.tallies[metric_index(m)]);
                    let (Some(po), Some(pn)) = (to.share(), tn.share()) else { continue };
                    let disjoint = match (to.interval(), tn.interval()) {
                        (Some((lo_o, hi_o)), Some((lo_n, hi_n))) => hi_o < lo_n || hi_n < lo_o,
                        _ => false,
                    };
                    let change = direction(po, pn, m != "red_lock");
                    c.changes.push(Change {
                        kind: "group",
                        name: name.clone(),
                        measure: m.into(),
                        old: format!("{po:.6}"),
                        new: format!("{pn:.6}"),
                        change,
                        significant: disjoint,
                    });
                }
            }
            let old_grades = read_csv(&tmp.join("domains.csv"), "domain", "grade")?;
            let new_grades = read_csv(&new_report.join("domains.csv"), "domain", "grade")?;
            c.common_domains = old_grades.keys().filter(|d| new_grades.contains_key(*d)).count() as u64;
            for (domain, og) in &old_grades {
                let Some(ng) = new_grades.get(domain) else { continue };
                if og != ng {
                    let change = match (grade_rank(og), grade_rank(ng)) {
                        (Some(a), Some(b)) if b > a => "improved",
                        (Some(a), Some(b)) if b < a => "worsened",
                        _ => "changed",
                    };
                    c.changes.push(Change {
                        kind: "domain",
                        name: domain.clone(),
                        measure: "grade".into(),
                        old: og.clone(),
                        new: ng.clone(),
                        change,
                        significant: false,
                    });
                }
            }
            fraction_changes(&mut c, &read_csv(&tmp.join("transparency.csv"), "Address Suffix", "Fraction Encrypted")?);
            Ok(())
        })();
        let _ = std::fs::remove_dir_all(&tmp);
        result?;
    }
    let path = new_report.join("compare.csv");
    let mut w = SafeWriter::from_path_bom(&path, lang == Lang::Ja)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    w.write_record(["kind", "name", "measure", "old", "new", "change", "significant"])?;
    for ch in &c.changes {
        w.write_record([
            ch.kind,
            &ch.name,
            &ch.measure,
            &ch.old,
            &ch.new,
            ch.change,
            if ch.significant { "true" } else { "false" },
        ])?;
    }
    w.flush()?;
    std::fs::write(new_report.join("index.html"), super::html::render(new, Some(&c), lang))?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::direction;

    #[test]
    fn a_change_is_judged_at_the_shown_precision() {
        assert_eq!(direction(0.7312, 0.7308, true), "unchanged", "73.1% -> 73.1%");
        assert_eq!(direction(0.731, 0.732, true), "improved");
        assert_eq!(direction(0.731, 0.732, false), "worsened");
        assert_eq!(direction(0.5, 0.5, true), "unchanged");
    }
}
