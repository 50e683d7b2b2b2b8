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
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float64Type, Int16Type, Int32Type, Int64Type, TimestampMillisecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value};

use super::read::ReadError;
use super::{CLIENT_ENDPOINTS_DIR, DOMAINS_DIR, MX_HOSTS_DIR};

/// Key of the nested `mx_hosts` rows in a domain's object.
pub const MX_HOSTS_KEY: &str = "mx_hosts";
/// Key of the nested `client_endpoints` rows in a domain's object.
pub const CLIENT_ENDPOINTS_KEY: &str = "client_endpoints";

/// One cell as JSON: labels and strings as text, integers as numbers, timestamps as RFC 3339 text,
/// dates as `YYYY-MM-DD`, lists and structs nested. (Written here rather than with arrow-json, whose
/// casting kernels would double the build time of this crate for the dozen types the schema uses.)
fn cell(a: &dyn Array, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Utf8 => Value::from(a.as_string::<i32>().value(i)),
        DataType::Dictionary(_, _) => {
            let d = a.as_dictionary::<Int32Type>();
            cell(d.values().as_ref(), d.keys().value(i) as usize)
        }
        DataType::Boolean => Value::from(a.as_boolean().value(i)),
        DataType::Int16 => Value::from(a.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => Value::from(a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Value::from(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Value::from(a.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => Value::from(a.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => Value::from(a.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => Value::from(a.as_primitive::<UInt64Type>().value(i)),
        DataType::Float64 => Value::from(a.as_primitive::<Float64Type>().value(i)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let ms = a.as_primitive::<TimestampMillisecondType>().value(i);
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .map_or(Value::Null, Value::from)
        }
        DataType::Date32 => {
            let days = a.as_primitive::<Date32Type>().value(i);
            Value::from(super::batch::RunStamp { scan_id: String::new(), scan_date: days }.date_text())
        }
        DataType::List(_) => {
            let l = a.as_list::<i32>().value(i);
            Value::Array((0..l.len()).map(|j| cell(l.as_ref(), j)).collect())
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            Value::Object(
                fields.iter().zip(s.columns()).map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i))).collect(),
            )
        }
        other => Value::from(format!("<{other}>")),
    }
}

/// The rows of `batch` as JSON objects, every column present (null when null).
pub fn batch_objects(batch: &RecordBatch) -> Result<Vec<Map<String, Value>>, ReadError> {
    let schema = batch.schema();
    Ok((0..batch.num_rows())
        .map(|i| {
            schema.fields().iter().zip(batch.columns()).map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i))).collect()
        })
        .collect())
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
    for part in super::read::part_files(&scan.join(DOMAINS_DIR))? {
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
    for part in super::read::part_files(&scan.join(dataset))? {
        for row in file_objects(&part)? {
            f(row)?;
            n += 1;
        }
    }
    Ok(n)
}
