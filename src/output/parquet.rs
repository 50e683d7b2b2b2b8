//! Writing datasets as folders of Parquet part files: `DIR/<dataset>/part-NNNNN.parquet`.
//!
//! A part is written as `part-NNNNN.parquet.tmp`, fsynced, and renamed when closed (the directory
//! fsynced too), so a killed run keeps every
//! finished part intact and loaders that read `*.parquet` never see a half-written file. When a part
//! is closed is the caller's decision (the pipeline closes part N of every dataset together). [`writer_properties`] holds the one set of writer settings (zstd, dictionary
//! encoding, row groups of 64 Ki rows).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::batch::BatchBuilder;

/// Rows buffered in Arrow builders before they are handed to the Parquet writer.
pub const BATCH_ROWS: usize = 8192;
/// Rows per Parquet row group: the writer holds one row group's encoded pages in memory until it is
/// flushed to the part file, so this bounds the writer's memory whatever `--rows-per-part` is.
pub const ROW_GROUP_ROWS: usize = 16_384;

/// The writer settings of every part file.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("3 is a valid zstd level")))
        .set_dictionary_enabled(true)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("mailcensus {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// An output failure (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file operation failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The Parquet writer failed.
    #[error("cannot write {path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The error.
        source: parquet::errors::ParquetError,
    },
}

struct Part {
    writer: ArrowWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    rows: usize,
}

/// Writes one dataset as a sequence of part files.
pub struct DatasetWriter {
    dir: PathBuf,
    schema: SchemaRef,
    builder: BatchBuilder,
    next_part: u32,
    part: Option<Part>,
    rows_written: u64,
}

impl DatasetWriter {
    /// A writer into `dir` (created if missing) whose first part is number `first_part`.
    pub fn create(dir: &Path, builder: BatchBuilder, schema: SchemaRef, first_part: u32) -> Result<Self, OutputError> {
        fs::create_dir_all(dir).map_err(|source| OutputError::Io { path: dir.to_path_buf(), source })?;
        Ok(Self { dir: dir.to_path_buf(), schema, builder, next_part: first_part, part: None, rows_written: 0 })
    }

    /// Pushes one row with `push`, writing a batch to the current part when enough rows are buffered.
    pub fn push(&mut self, push: impl FnOnce(&mut BatchBuilder)) -> Result<(), OutputError> {
        push(&mut self.builder);
        if self.builder.len() >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    /// Rows in the current part, buffered ones included.
    pub fn rows_in_part(&self) -> usize {
        self.part.as_ref().map_or(0, |p| p.rows) + self.builder.len()
    }

    fn open_part(&mut self) -> Result<(), OutputError> {
        let path = self.dir.join(format!("part-{:05}.parquet", self.next_part));
        let tmp = self.dir.join(format!("part-{:05}.parquet.tmp", self.next_part));
        self.next_part += 1;
        let file = File::create(&tmp).map_err(|source| OutputError::Io { path: tmp.clone(), source })?;
        let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(writer_properties()))
            .map_err(|source| OutputError::Parquet { path: tmp.clone(), source })?;
        self.part = Some(Part { writer, tmp, path, rows: 0 });
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), OutputError> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let batch = self.builder.finish();
        if self.part.is_none() {
            self.open_part()?;
        }
        let part = self.part.as_mut().expect("part was just opened");
        part.writer.write(&batch).map_err(|source| OutputError::Parquet { path: part.tmp.clone(), source })?;
        part.rows += batch.num_rows();
        self.rows_written += batch.num_rows() as u64;
        Ok(())
    }

    /// Writes what is buffered and closes the current part (an empty part is written as an empty file,
    /// so that part N exists in every dataset). The file is renamed to its final name only now.
    pub fn close_part(&mut self) -> Result<(), OutputError> {
        self.flush_batch()?;
        if self.part.is_none() {
            self.open_part()?;
        }
        if let Some(part) = self.part.take() {
            let file =
                part.writer.into_inner().map_err(|source| OutputError::Parquet { path: part.tmp.clone(), source })?;
            // On disk before it gets its final name, and the name on disk before the part counts as done.
            file.sync_all().map_err(|source| OutputError::Io { path: part.tmp.clone(), source })?;
            drop(file);
            fs::rename(&part.tmp, &part.path).map_err(|source| OutputError::Io { path: part.path.clone(), source })?;
            super::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Writes what is buffered and closes the current part if it has rows. Returns the rows written.
    pub fn finish(mut self) -> Result<u64, OutputError> {
        if self.rows_in_part() > 0 {
            self.close_part()?;
        }
        Ok(self.rows_written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::batch::domains_builder;
    use crate::output::schema::{DOMAINS, col};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn push_row(b: &mut BatchBuilder, i: u64) {
        use arrow_schema::DataType;
        for field in DOMAINS.fields() {
            let name = field.name().as_str();
            let null = field.is_nullable();
            match field.data_type() {
                _ if name == col::SCAN_ID => b.run_stamp(),
                DataType::Date32 => {}
                DataType::Utf8 | DataType::Dictionary(_, _) => {
                    let value = if name == col::DOMAIN { format!("d{i}.example") } else { "x".to_string() };
                    b.str(name, (!null || name == col::DOMAIN).then_some(value.as_str()))
                }
                DataType::Int16 => b.u8(name, (!null).then_some(0)),
                DataType::Int32 => b.u16(name, (!null).then_some(0)),
                DataType::Int64 if name == "input_line" => b.u64(name, Some(i)),
                DataType::Int64 => b.u32(name, (!null).then_some(0)),
                DataType::Float64 => b.f64(name, (!null).then_some(1.0)),
                DataType::Boolean => b.bool(name, (!null).then_some(false)),
                DataType::Timestamp(_, _) => b.timestamp_ms(name, Some(0)),
                DataType::List(item) if matches!(item.data_type(), DataType::Struct(_)) && name == col::MX => {
                    b.mx_list(name, &[])
                }
                DataType::List(item) if matches!(item.data_type(), DataType::Struct(_)) => b.dkim_list(name, &[]),
                DataType::List(_) => b.strs::<&str>(name, &[]),
                other => unreachable!("{other}"),
            }
        }
        b.end_row();
    }

    #[test]
    fn parts_rotate_and_read_back() {
        let dir = std::env::temp_dir().join(format!("mailcensus-parts-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut w = DatasetWriter::create(&dir, domains_builder(), DOMAINS.clone(), 0).unwrap();
        for i in 0..2500 {
            w.push(|b| push_row(b, i)).unwrap();
            if w.rows_in_part() == 1000 {
                w.close_part().unwrap();
            }
        }
        assert_eq!(w.finish().unwrap(), 2500);
        let mut names: Vec<String> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]);
        let mut total = 0;
        for n in &names {
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(File::open(dir.join(n)).unwrap()).unwrap().build().unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                assert_eq!(batch.schema().fields(), DOMAINS.fields());
                total += batch.num_rows();
            }
        }
        assert_eq!(total, 2500);

        // An empty part is still a valid file, numbered after the others.
        let mut w = DatasetWriter::create(&dir, domains_builder(), DOMAINS.clone(), 3).unwrap();
        w.close_part().unwrap();
        assert_eq!(w.finish().unwrap(), 0);
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(File::open(dir.join("part-00003.parquet")).unwrap()).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
    }
}
