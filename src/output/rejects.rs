//! `DIR/rejects.csv`: every input line that is not scanned, with its line number and reason.
//! Columns: `line,input,reason,detail`; cells that a spreadsheet would run as formulas are
//! neutralised ([`super::spreadsheet`]).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::parquet::OutputError;
use super::spreadsheet::SafeWriter;
use crate::input::Reject;

/// Appends rejected lines to `rejects.csv`.
pub struct RejectsWriter {
    csv: SafeWriter<BufWriter<File>>,
    path: PathBuf,
    count: u64,
}

impl RejectsWriter {
    /// Creates the file with its header.
    pub fn create(path: &Path) -> Result<Self, OutputError> {
        let io = |source| OutputError::Io { path: path.to_path_buf(), source };
        let mut csv = SafeWriter::from_writer(BufWriter::new(File::create(path).map_err(io)?));
        csv.write_record(["line", "input", "reason", "detail"]).map_err(|e| io(e.into()))?;
        Ok(Self { csv, path: path.to_path_buf(), count: 0 })
    }

    /// Writes one reject.
    pub fn write(&mut self, r: &Reject) -> Result<(), OutputError> {
        self.count += 1;
        self.csv
            .write_record([r.line.to_string().as_str(), &r.input, r.reason.as_label(), &r.detail])
            .map_err(|e| OutputError::Io { path: self.path.clone(), source: e.into() })
    }

    /// Flushes the file; returns how many rejects were written.
    pub fn finish(mut self) -> Result<u64, OutputError> {
        self.csv.flush().map_err(|source| OutputError::Io { path: self.path.clone(), source })?;
        Ok(self.count)
    }
}
