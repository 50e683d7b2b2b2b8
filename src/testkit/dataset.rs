//! Reading a Parquet dataset folder back as rows of plain values, for tests and checks.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float64Type, Int16Type, Int32Type, Int64Type, TimestampMillisecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Null.
    Null,
    /// A string or label.
    Str(String),
    /// An integer (timestamps in ms and dates in days since 1970 too).
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A list.
    List(Vec<Value>),
    /// A struct.
    Struct(BTreeMap<String, Value>),
}

impl Value {
    /// The string, or `None`.
    pub fn str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, or `None`.
    pub fn int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean, or `None`.
    pub fn bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The list, or empty.
    pub fn list(&self) -> &[Value] {
        match self {
            Self::List(l) => l,
            _ => &[],
        }
    }

    /// Is it null?
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

/// A row: column name to value.
pub type Row = BTreeMap<String, Value>;

/// Reads every `*.parquet` file of a dataset folder (sorted by name) as batches.
pub fn read_batches(dir: &Path) -> Result<Vec<RecordBatch>, Box<dyn std::error::Error + Send + Sync>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        for batch in ParquetRecordBatchReaderBuilder::try_new(File::open(&f)?)?.build()? {
            out.push(batch?);
        }
    }
    Ok(out)
}

/// Reads a dataset folder as rows.
pub fn read_rows(dir: &Path) -> Result<Vec<Row>, Box<dyn std::error::Error + Send + Sync>> {
    let mut rows = Vec::new();
    for batch in read_batches(dir)? {
        for i in 0..batch.num_rows() {
            let mut row = Row::new();
            for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
                row.insert(field.name().clone(), value(col.as_ref(), i));
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

fn value(a: &dyn Array, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Utf8 => Value::Str(a.as_string::<i32>().value(i).to_string()),
        DataType::Dictionary(_, _) => {
            let d = a.as_dictionary::<Int32Type>();
            let k = d.keys().value(i) as usize;
            value(d.values().as_ref(), k)
        }
        DataType::UInt8 => Value::Int(a.as_primitive::<UInt8Type>().value(i) as i64),
        DataType::UInt16 => Value::Int(a.as_primitive::<UInt16Type>().value(i) as i64),
        DataType::UInt32 => Value::Int(a.as_primitive::<UInt32Type>().value(i) as i64),
        DataType::UInt64 => Value::Int(a.as_primitive::<UInt64Type>().value(i) as i64),
        DataType::Int16 => Value::Int(a.as_primitive::<Int16Type>().value(i) as i64),
        DataType::Int32 => Value::Int(a.as_primitive::<Int32Type>().value(i) as i64),
        DataType::Int64 => Value::Int(a.as_primitive::<Int64Type>().value(i)),
        DataType::Float64 => Value::Float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Date32 => Value::Int(a.as_primitive::<Date32Type>().value(i) as i64),
        DataType::Timestamp(_, _) => Value::Int(a.as_primitive::<TimestampMillisecondType>().value(i)),
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::List(_) => {
            let l = a.as_list::<i32>().value(i);
            Value::List((0..l.len()).map(|j| value(l.as_ref(), j)).collect())
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            Value::Struct(
                fields.iter().zip(s.columns()).map(|(f, c)| (f.name().clone(), value(c.as_ref(), i))).collect(),
            )
        }
        other => Value::Str(format!("<{other}>")),
    }
}

/// `(column, value)` of every value of a closed label column that the column's vocabulary (its
/// [`crate::output::schema::VALUES_KEY`] metadata) does not list, once each.
pub fn outside_vocabulary(dir: &Path) -> Result<Vec<(String, String)>, Box<dyn std::error::Error + Send + Sync>> {
    let mut out = std::collections::BTreeSet::new();
    for batch in read_batches(dir)? {
        for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
            let Some(values) = field.metadata().get(crate::output::schema::VALUES_KEY) else { continue };
            let values: Vec<String> = serde_json::from_str(values)?;
            for i in 0..batch.num_rows() {
                if let Value::Str(v) = value(col.as_ref(), i)
                    && !values.contains(&v)
                {
                    out.insert((field.name().clone(), v));
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}
