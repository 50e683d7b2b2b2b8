//! Resuming an interrupted scan in the same output directory (`--resume`).
//!
//! Part N of `domains`, `mx_hosts` and `client_endpoints` hold the same domains and are closed
//! together (`domains` last), so a domain is done exactly when part N exists, complete and readable,
//! in all three datasets. Everything else (a `.parquet.tmp` left by a kill, a part without its twin, a file
//! that does not read) is moved into `<dataset>/.set-aside/`, where loaders do not look, and its
//! domains are scanned again.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::DATASET_DIRS;
use super::parquet::OutputError;
use super::schema::col;
use crate::input::domain_key;

/// Folder, inside a dataset folder, for part files that cannot be kept.
pub const SET_ASIDE_DIR: &str = ".set-aside";

/// What an earlier run left.
#[derive(Debug, Default)]
pub struct Resume {
    /// Keys ([`domain_key`]) of the domains already written in complete parts.
    pub done: HashSet<u64>,
    /// Rows of `domains` already written.
    pub done_rows: u64,
    /// Rows of `mx_hosts` already written (in the kept parts).
    pub done_mx_rows: u64,
    /// Rows of `client_endpoints` already written (in the kept parts).
    pub done_client_rows: u64,
    /// The kept domains by their `starttls` summary.
    pub done_starttls: BTreeMap<String, u64>,
    /// Number for the next part of both datasets.
    pub next_part: u32,
    /// Files moved aside.
    pub set_aside: Vec<PathBuf>,
    /// The scan's id and date from the earlier run's `run.json` (every row of a scan carries the same).
    pub stamp: Option<super::batch::RunStamp>,
    /// The input columns the earlier run kept (`--keep-column`), if its `run.json` says.
    pub keep_columns: Option<Vec<String>>,
}

/// The `scan_id` and `scan_date` an earlier run wrote to `run.json`, if it did.
fn earlier_stamp(run: &serde_json::Value) -> Option<super::batch::RunStamp> {
    super::batch::RunStamp::resumed(run.get("scan_id")?.as_str()?, run.get("scan_date")?.as_str()?)
}

fn part_number(name: &str) -> Option<u32> {
    name.strip_prefix("part-")?.strip_suffix(".parquet")?.parse().ok()
}

/// The domain column of a part file (and, for a `domains` part, its `starttls` tally), or `None` if
/// the file does not read completely.
fn read_domains(path: &Path, starttls: Option<&mut BTreeMap<String, u64>>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut complete = true;
    let mut tally: BTreeMap<String, u64> = BTreeMap::new();
    super::read::for_each_row_in_file(path, &[col::DOMAIN, col::STARTTLS], |r| match r.str(col::DOMAIN) {
        Some(d) => {
            out.push(d.to_string());
            if let Some(s) = r.str(col::STARTTLS) {
                *tally.entry(s.to_string()).or_default() += 1;
            }
        }
        None => complete = false,
    })
    .ok()?;
    if complete && let Some(total) = starttls {
        for (k, v) in tally {
            *total.entry(k).or_default() += v;
        }
    }
    complete.then_some(out)
}

fn set_aside(path: &Path, moved: &mut Vec<PathBuf>) -> Result<(), OutputError> {
    let dir = path.parent().unwrap_or(Path::new(".")).join(SET_ASIDE_DIR);
    let io = |source| OutputError::Io { path: path.to_path_buf(), source };
    fs::create_dir_all(&dir).map_err(io)?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let target = dir.join(format!("{name}.{stamp}"));
    fs::rename(path, &target).map_err(io)?;
    moved.push(target);
    Ok(())
}

/// Examines `out`, sets aside what cannot be kept, and returns what is done.
pub fn prepare(out: &Path) -> Result<Resume, OutputError> {
    let run: Option<serde_json::Value> =
        fs::read_to_string(out.join(super::RUN_FILE)).ok().and_then(|t| serde_json::from_str(&t).ok());
    let keep_columns = run.as_ref().and_then(|r| serde_json::from_value(r.get("keep_columns")?.clone()).ok());
    let mut resume = Resume { stamp: run.as_ref().and_then(earlier_stamp), keep_columns, ..Resume::default() };
    // part number -> (domains file, mx_hosts file, client_endpoints file)
    let mut parts: BTreeMap<u32, [Option<PathBuf>; 3]> = BTreeMap::new();
    for (slot, dataset) in DATASET_DIRS.into_iter().enumerate() {
        let dir = out.join(dataset);
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            match part_number(&name) {
                Some(n) => parts.entry(n).or_default()[slot] = Some(path),
                // Half-written parts of a killed run, and anything else that is not a part.
                None => set_aside(&path, &mut resume.set_aside)?,
            }
        }
    }
    for (n, [domains, mx, client]) in parts {
        resume.next_part = resume.next_part.max(n + 1);
        let complete = match (&domains, &mx, &client) {
            (Some(d), Some(m), Some(c)) => match (read_domains(m, None), read_domains(c, None)) {
                (Some(m), Some(c)) => {
                    let mut tally = BTreeMap::new();
                    read_domains(d, Some(&mut tally)).map(|names| (names, m.len(), c.len(), tally))
                }
                _ => None,
            },
            _ => None,
        };
        match complete {
            Some((names, mx_rows, client_rows, tally)) => {
                resume.done_rows += names.len() as u64;
                resume.done_mx_rows += mx_rows as u64;
                resume.done_client_rows += client_rows as u64;
                for (k, v) in tally {
                    *resume.done_starttls.entry(k).or_default() += v;
                }
                resume.done.extend(names.iter().map(|d| domain_key(d)));
            }
            None => {
                for path in [domains, mx, client].into_iter().flatten() {
                    set_aside(&path, &mut resume.set_aside)?;
                }
            }
        }
    }
    Ok(resume)
}
