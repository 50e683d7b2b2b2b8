//! CSV files that are safe to open in a spreadsheet: a cell that comes from input or from the network
//! (an input line, a group name, a domain) and starts with `=`, `+`, `-`, `@`, a tab or a carriage
//! return would be read by Excel, LibreOffice or Google Sheets as a formula (CSV injection). Such a
//! cell is written with a leading `'`, which spreadsheets read as "text" and do not show; numbers
//! (`-0.25`) and a lone `-` are left alone. A cell that starts with `'` itself gets one more, so [`restore`] gives
//! back exactly what [`neutralise`] was given.

use std::borrow::Cow;
use std::io::Write;

/// Characters that make a spreadsheet read a cell as a formula.
const TRIGGERS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

fn needs_quote(cell: &str) -> bool {
    match cell.chars().next() {
        Some('\'') => true,
        // A lone `-` (a placeholder) or `=` runs nothing.
        Some(c) if TRIGGERS.contains(&c) => cell.len() > 1 && !is_number(cell),
        _ => false,
    }
}

/// A plain decimal number (`-0.25`, `+3`, `1e-3`): digits, sign, point and exponent only (so not
/// `-inf` or `-nan`).
fn is_number(cell: &str) -> bool {
    cell.chars().all(|c| c.is_ascii_digit() || ".eE+-".contains(c)) && cell.parse::<f64>().is_ok()
}

/// `cell` as it is safe to write: with a leading `'` when a spreadsheet would run it as a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if needs_quote(cell) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// The cell [`neutralise`] was given, from what it wrote.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

/// A CSV writer that neutralises every cell.
pub struct SafeWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl SafeWriter<std::fs::File> {
    /// Creates (or truncates) the file at `path`.
    pub fn from_path(path: &std::path::Path) -> csv::Result<Self> {
        Ok(Self { inner: csv::Writer::from_path(path)? })
    }

    /// As [`SafeWriter::from_path`], starting with a UTF-8 byte-order mark when `bom`: Excel on a
    /// Japanese system reads a CSV without one as Shift_JIS and garbles it.
    pub fn from_path_bom(path: &std::path::Path, bom: bool) -> csv::Result<Self> {
        let mut file = std::fs::File::create(path)?;
        if bom {
            file.write_all("\u{feff}".as_bytes())?;
        }
        Ok(Self { inner: csv::Writer::from_writer(file) })
    }
}

impl<W: Write> SafeWriter<W> {
    /// Wraps a writer.
    pub fn from_writer(w: W) -> Self {
        Self { inner: csv::Writer::from_writer(w) }
    }

    /// Writes one record, each cell neutralised.
    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.inner.write_record(record.into_iter().map(|c| neutralise(c.as_ref()).into_owned()))
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_japanese_csv_starts_with_a_byte_order_mark() {
        let dir = std::env::temp_dir().join(format!("mailcensus-bom-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (bom, name) in [(true, "ja.csv"), (false, "en.csv")] {
            let path = dir.join(name);
            let mut w = SafeWriter::from_path_bom(&path, bom).unwrap();
            w.write_record(["グループ", "=1"]).unwrap();
            w.flush().unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), bom, "{name}");
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.trim_start_matches('\u{feff}').starts_with("グループ,'=1"), "{text:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    use proptest::prelude::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        let cases = [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("'quoted", "''quoted"),
            ("-0.25", "-0.25"),
            ("+3", "+3"),
            ("example.com", "example.com"),
            ("", ""),
            ("a=b", "a=b"),
            ("-inf", "'-inf"),
            ("-", "-"),
        ];
        for (input, want) in cases {
            assert_eq!(neutralise(input), want, "{input:?}");
            assert_eq!(restore(want), input, "{want:?}");
        }
    }

    #[test]
    fn the_writer_neutralises_every_cell() {
        let mut w = SafeWriter::from_writer(Vec::new());
        w.write_record(["=cmd|' /C calc'!A0", "ok", "-1"]).unwrap();
        let bytes = w.inner.into_inner().unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), "'=cmd|' /C calc'!A0,ok,-1\n");
    }

    proptest! {
        #[test]
        fn restore_inverts_neutralise(s in ".{0,40}") {
            let written = neutralise(&s);
            prop_assert_eq!(restore(&written), s.as_str());
        }

        #[test]
        fn no_written_cell_starts_a_formula(s in "[=+@\\-\\t'a-z0-9. ]{0,12}") {
            let out = neutralise(&s);
            let first = out.chars().next();
            prop_assert!(
                !matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')) || is_number(&out) || out.len() == 1
            );
        }
    }
}
