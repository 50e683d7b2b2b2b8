//! A scan as JSON, for people who live in `jq`: one object per domain with every `domains` column
//! (nulls included) and its `mx_hosts` and `client_endpoints` rows nested as arrays. Used by
//! `mailcensus export` (JSON lines) and `mailcensus check --json`.
//!
//! Parts are read one at a time: part N of `domains` and its twins, part N of `mx_hosts` and
//! `client_endpoints`, hold the same domains (the writer closes them together), so memory is bounded
//! by one part whatever the scan's size. Timestamps are written as RFC 3339 strings, labels as their
//! text.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_json::writer::{JsonArray, WriterBuilder};
use arrow_schema::{DataType, Schema, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value};

use super::read::ReadError;
use super::{CLIENT_ENDPOINTS_DIR, DOMAINS_DIR, MX_HOSTS_DIR};

/// Key of the nested `mx_hosts` rows in a domain's object.
pub const MX_HOSTS_KEY: &str = "mx_hosts";
/// Key of the nested `client_endpoints` rows in a domain's object.
pub const CLIENT_ENDPOINTS_KEY: &str = "client_endpoints";

/// `batch` with its UTC timestamp columns labelled `+00:00`: the same instants, in the offset form
/// the JSON writer formats without a time-zone database.
fn offset_timestamps(batch: &RecordBatch) -> Result<RecordBatch, ReadError> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match field.data_type() {
            DataType::Timestamp(TimeUnit::Millisecond, Some(tz)) if tz.as_ref() == "UTC" => {
                let a = column.as_primitive::<TimestampMillisecondType>().clone().with_timezone("+00:00");
                fields.push(Arc::new(field.as_ref().clone().with_data_type(a.data_type().clone())));
                columns.push(Arc::new(a));
            }
            _ => {
                fields.push(field.clone());
                columns.push(column.clone());
            }
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// The rows of `batch` as JSON objects, every column present (null when null).
pub fn batch_objects(batch: &RecordBatch) -> Result<Vec<Map<String, Value>>, ReadError> {
    let batch = offset_timestamps(batch)?;
    let mut buf = Vec::new();
    let mut w = WriterBuilder::new().with_explicit_nulls(true).build::<_, JsonArray>(&mut buf);
    w.write(&batch)?;
    w.finish()?;
    drop(w);
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_slice(&buf)?)
}

/// Every row of one Parquet file as JSON objects.
fn file_objects(path: &Path) -> Result<Vec<Map<String, Value>>, ReadError> {
    let mut out = Vec::new();
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    for batch in ParquetRecordBatchReaderBuilder::try_new(file)?.build()? {
        out.extend(batch_objects(&batch?)?);
    }
    Ok(out)
}

/// The part files of a dataset folder, sorted by name.
fn parts(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    Ok(files)
}

/// The rows of the twin part (same file name) of `dataset`, grouped by their `domain`.
fn twin_rows(scan: &Path, dataset: &str, part: &Path) -> Result<HashMap<String, Vec<Value>>, ReadError> {
    let mut by_domain: HashMap<String, Vec<Value>> = HashMap::new();
    let Some(name) = part.file_name() else { return Ok(by_domain) };
    let twin = scan.join(dataset).join(name);
    if !twin.is_file() {
        return Ok(by_domain);
    }
    for row in file_objects(&twin)? {
        let domain = row.get("domain").and_then(Value::as_str).unwrap_or_default().to_string();
        by_domain.entry(domain).or_default().push(Value::Object(row));
    }
    Ok(by_domain)
}

/// Calls `f` with each domain of the scan in `scan` as one object (its `mx_hosts` and
/// `client_endpoints` rows nested); returns how many domains there were.
pub fn for_each_domain(
    scan: &Path,
    mut f: impl FnMut(Map<String, Value>) -> Result<(), ReadError>,
) -> Result<u64, ReadError> {
    let mut n = 0;
    for part in parts(&scan.join(DOMAINS_DIR))? {
        let mut mx = twin_rows(scan, MX_HOSTS_DIR, &part)?;
        let mut clients = twin_rows(scan, CLIENT_ENDPOINTS_DIR, &part)?;
        for mut row in file_objects(&part)? {
            let domain = row.get("domain").and_then(Value::as_str).unwrap_or_default().to_string();
            row.insert(MX_HOSTS_KEY.into(), Value::Array(mx.remove(&domain).unwrap_or_default()));
            row.insert(CLIENT_ENDPOINTS_KEY.into(), Value::Array(clients.remove(&domain).unwrap_or_default()));
            f(row)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Calls `f` with each row of one dataset (`domains`, `mx_hosts` or `client_endpoints`) as an object.
pub fn for_each_row(
    scan: &Path,
    dataset: &str,
    mut f: impl FnMut(Map<String, Value>) -> Result<(), ReadError>,
) -> Result<u64, ReadError> {
    let mut n = 0;
    for part in parts(&scan.join(dataset))? {
        for row in file_objects(&part)? {
            f(row)?;
            n += 1;
        }
    }
    Ok(n)
}
