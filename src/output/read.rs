//! Streaming Parquet datasets column by column, for reports, resumes and benchmarks over scans of any
//! size.
//!
//! Only the named columns are read (a Parquet projection); a column missing from a file (a scan made
//! by an older version) reads as null, so reports work on any scan output, merged ones included.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int16Type, Int32Type, Int64Type, TimestampMillisecondType, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A dataset could not be read.
pub type ReadError = Box<dyn std::error::Error + Send + Sync>;

/// One row of a batch, looked up by column name.
pub struct RowView<'a> {
    columns: &'a HashMap<&'a str, ArrayRef>,
    row: usize,
}

impl RowView<'_> {
    fn column(&self, name: &str) -> Option<&ArrayRef> {
        self.columns.get(name).filter(|c| c.is_valid(self.row))
    }

    /// A string or label column.
    pub fn str(&self, name: &str) -> Option<&str> {
        let c = self.column(name)?;
        match c.data_type() {
            DataType::Utf8 => Some(c.as_string::<i32>().value(self.row)),
            DataType::Dictionary(_, _) => {
                let d = c.as_dictionary::<Int32Type>();
                let key = d.keys().value(self.row) as usize;
                Some(d.values().as_string::<i32>().value(key))
            }
            _ => None,
        }
    }

    /// A numeric column as f64 (a millisecond timestamp as milliseconds since 1970).
    pub fn f64(&self, name: &str) -> Option<f64> {
        let c = self.column(name)?;
        Some(match c.data_type() {
            DataType::Float64 => c.as_primitive::<Float64Type>().value(self.row),
            DataType::UInt8 => c.as_primitive::<UInt8Type>().value(self.row) as f64,
            DataType::UInt16 => c.as_primitive::<UInt16Type>().value(self.row) as f64,
            DataType::UInt32 => c.as_primitive::<UInt32Type>().value(self.row) as f64,
            DataType::UInt64 => c.as_primitive::<UInt64Type>().value(self.row) as f64,
            DataType::Int16 => c.as_primitive::<Int16Type>().value(self.row) as f64,
            DataType::Int32 => c.as_primitive::<Int32Type>().value(self.row) as f64,
            DataType::Int64 => c.as_primitive::<Int64Type>().value(self.row) as f64,
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                c.as_primitive::<TimestampMillisecondType>().value(self.row) as f64
            }
            _ => return None,
        })
    }

    /// A list-of-strings column (empty when null or absent).
    pub fn strs(&self, name: &str) -> Vec<&str> {
        let Some(c) = self.column(name) else { return Vec::new() };
        let DataType::List(_) = c.data_type() else { return Vec::new() };
        let list = c.as_list::<i32>();
        let offsets = list.value_offsets();
        let (start, end) = (offsets[self.row] as usize, offsets[self.row + 1] as usize);
        let values = list.values();
        match values.data_type() {
            DataType::Utf8 => {
                let v = values.as_string::<i32>();
                (start..end).filter(|i| v.is_valid(*i)).map(|i| v.value(i)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// A boolean column.
    pub fn bool(&self, name: &str) -> Option<bool> {
        let c = self.column(name)?;
        matches!(c.data_type(), DataType::Boolean).then(|| c.as_boolean().value(self.row))
    }
}

/// The `*.parquet` part files of a dataset folder, sorted by name. When `dir` (`SCAN/domains`) does
/// not exist but `SCAN` holds shard folders (`SCAN/*/domains`, a sharded scan's `dns/` folder), the
/// parts of all of them, in shard order.
pub fn part_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, ReadError> {
    if !dir.is_dir()
        && let (Some(scan), Some(dataset)) = (dir.parent(), dir.file_name())
    {
        let shards = shard_folders(scan, dataset);
        if !shards.is_empty() {
            let mut files = Vec::new();
            for shard in shards {
                files.extend(part_files(&shard)?);
            }
            return Ok(files);
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    Ok(files)
}

/// The `SCAN/*/<dataset>` folders (shard folders), sorted.
pub fn shard_folders(scan: &Path, dataset: &std::ffi::OsStr) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(scan) else { return Vec::new() };
    let mut v: Vec<_> = entries.flatten().map(|e| e.path().join(dataset)).filter(|p| p.is_dir()).collect();
    v.sort();
    v
}

/// Whether `scan` holds a scan: a `domains` dataset, or shard folders with one.
pub fn is_scan(scan: &Path) -> bool {
    let domains = std::ffi::OsStr::new(crate::output::DOMAINS_DIR);
    scan.join(domains).is_dir() || !shard_folders(scan, domains).is_empty()
}

/// Calls `f` for every row of every `*.parquet` file in `dir` (sorted by name), reading only `columns`.
pub fn for_each_row(dir: &Path, columns: &[&str], mut f: impl FnMut(&RowView)) -> Result<(), ReadError> {
    for path in part_files(dir)? {
        for_each_row_in_file(&path, columns, &mut f)?;
    }
    Ok(())
}

/// Calls `f` for every row of one Parquet file, reading only `columns`.
pub fn for_each_row_in_file(path: &Path, columns: &[&str], mut f: impl FnMut(&RowView)) -> Result<(), ReadError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?;
    let present: Vec<&str> =
        columns.iter().copied().filter(|c| builder.schema().column_with_name(c).is_some()).collect();
    let mask = ProjectionMask::columns(builder.parquet_schema(), present.iter().copied());
    for batch in builder.with_projection(mask).build()? {
        let batch: RecordBatch = batch?;
        let by_name: HashMap<&str, ArrayRef> =
            present.iter().filter_map(|c| batch.column_by_name(c).map(|a| (*c, a.clone()))).collect();
        for row in 0..batch.num_rows() {
            f(&RowView { columns: &by_name, row });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_of_shard_folders_reads_as_one_scan() {
        let dir = std::env::temp_dir().join(format!("mailcensus-read-shards-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (shard, part) in
            [("s0001", "part-00000.parquet"), ("s0000", "part-00001.parquet"), ("s0000", "part-00000.parquet")]
        {
            std::fs::create_dir_all(dir.join(shard).join("domains")).unwrap();
            std::fs::write(dir.join(shard).join("domains").join(part), b"").unwrap();
        }
        std::fs::create_dir_all(dir.join("rounds")).unwrap();
        assert!(is_scan(&dir) && !is_scan(&dir.join("rounds")));
        let files = part_files(&dir.join("domains")).unwrap();
        let names: Vec<String> = files.iter().map(|p| p.strip_prefix(&dir).unwrap().display().to_string()).collect();
        assert_eq!(
            names,
            [
                "s0000/domains/part-00000.parquet",
                "s0000/domains/part-00001.parquet",
                "s0001/domains/part-00000.parquet"
            ]
        );
        assert!(part_files(&dir.join("mx_hosts")).is_err(), "no shard has that dataset");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
