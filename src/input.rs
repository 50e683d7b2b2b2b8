//! Streaming the input list: a CSV with a header, or a plain list of domains, one a line.
//!
//! The reader never holds the file in memory: it yields one [`InputItem`] per data line, either an
//! [`Entry`] to scan or a [`Reject`] with its line number and reason. Blank lines and lines starting
//! with `#` are skipped. Duplicates are detected with a 64-bit hash per distinct domain (8 bytes of key
//! and 8 of first line number), which is the only state that grows with the input.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::io::{self, BufRead, BufReader, Read};

use std::path::{Path, PathBuf};

use crate::domain::{self, Domain, RejectReason};

/// Where the list comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSource {
    /// A file on disk (its lines are counted first, for progress).
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl InputSource {
    /// `-` means standard input, anything else a path.
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" { Self::Stdin } else { Self::File(PathBuf::from(arg)) }
    }
}

/// Which columns to read. `None` means the default rule (see [`InputReader::open`]).
#[derive(Clone, Debug, Default)]
pub struct ColumnSpec {
    /// `--domain-column`: default `domain` if the header has it, else the first column.
    pub domain: Option<String>,
    /// `--group-column`: default `group` if the header has it, else none.
    pub group: Option<String>,
    /// `--weight-column`: default `weight` if the header has it, else none.
    pub weight: Option<String>,
    /// `--keep-column`: further columns copied to the `domains` dataset as `input_<name>`.
    pub keep: Vec<String>,
}

/// A domain to scan, with what the input said about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// 1-based line number in the input.
    pub line: u64,
    /// The normalised domain.
    pub domain: Domain,
    /// The group (ISP, carrier, provider) the line named, if any.
    pub group: Option<String>,
    /// The weight (users, message volume) the line gave, if any.
    pub weight: Option<f64>,
    /// Extra DKIM selectors for this domain, from the `dkim_selectors` column (space, `;` or `|` separated).
    pub dkim_selectors: Vec<String>,
    /// The `--keep-column` cells, in the flags' order (empty cells are `None`; each cut to
    /// [`MAX_KEPT_BYTES`]).
    pub kept: Vec<Option<String>>,
}

/// Longest kept input cell, in bytes (cut at a character boundary).
pub const MAX_KEPT_BYTES: usize = 1024;

/// An input line that is not scanned.
#[derive(Clone, Debug, PartialEq)]
pub struct Reject {
    /// 1-based line number in the input.
    pub line: u64,
    /// The domain field as read (lossy UTF-8, at most 256 characters).
    pub input: String,
    /// Why it is not scanned.
    pub reason: RejectReason,
    /// More context, e.g. the line of the first occurrence for a duplicate.
    pub detail: String,
}

/// One data line of the input.
#[derive(Clone, Debug, PartialEq)]
pub enum InputItem {
    /// A domain to scan.
    Entry(Entry),
    /// A line that goes to `rejects.csv`.
    Reject(Reject),
}

/// The input could not be opened or read: a usage error (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("cannot read input {path}: {source}")]
    Io {
        /// The input path.
        path: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A column named on the command line is not in the header.
    #[error("column {name:?} is not in the input header (header: {header})")]
    MissingColumn {
        /// The column asked for.
        name: String,
        /// The header that was read.
        header: String,
    },
    /// A column was named but the input has no header line.
    #[error("--{flag} {name:?} needs a header line, and the first line of the input is not one")]
    NoHeader {
        /// The flag.
        flag: &'static str,
        /// The column asked for.
        name: String,
    },
}

struct Columns {
    domain: usize,
    group: Option<usize>,
    weight: Option<usize>,
    dkim_selectors: Option<usize>,
    keep: Vec<usize>,
}

/// The key of a normalised domain in the duplicate check and in `--resume` (a 64-bit SipHash with
/// fixed keys: the same in every run).
pub fn domain_key(domain: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(domain)
}

/// Longest input line read, in bytes; a longer line is rejected as `line_too_long`.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Streams [`InputItem`]s from a CSV or plain list.
///
/// Lines are read here (so line numbers are exact and every line is bounded); the csv crate splits
/// each line into fields (quotes, escaped quotes, commas inside quotes). A quoted field that spans lines
/// is joined with the following lines.
pub struct InputReader {
    lines: Box<dyn BufRead + Send>,
    fields: csv_core::Reader,
    header: bool,
    line_no: u64,
    columns: Columns,
    /// A first data line read while looking for a header.
    pending: Option<(u64, RawLine)>,
    seen: HashMap<[u32; 2], u32>,
    path: String,
}

enum RawLine {
    Fields(csv::ByteRecord),
    TooLong,
}

/// Reads one physical line (without the newline), at most `MAX_LINE_BYTES`; `Ok(None)` at the end.
fn read_line(r: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let n = r.take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    let complete = buf.last() == Some(&b'\n') || n <= MAX_LINE_BYTES;
    if !complete {
        // Skip the rest of the over-long line.
        let mut sink = Vec::new();
        loop {
            sink.clear();
            let m = r.take(64 * 1024).read_until(b'\n', &mut sink)?;
            if m == 0 || sink.last() == Some(&b'\n') {
                break;
            }
        }
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(complete))
}

/// Splits one logical line into CSV fields (quotes, doubled quotes, commas inside quotes), reusing
/// one `csv_core` reader for the whole input.
fn split_fields(reader: &mut csv_core::Reader, line: &[u8]) -> csv::ByteRecord {
    let mut out = vec![0u8; line.len() + 1];
    let mut ends = vec![0usize; 16];
    let (mut input, mut out_len, mut n_ends) = (line, 0usize, 0usize);
    reader.reset();
    loop {
        let (result, read, written, ended) = reader.read_record(input, &mut out[out_len..], &mut ends[n_ends..]);
        input = &input[read..];
        out_len += written;
        n_ends += ended;
        match result {
            // The next call, with no input left, marks the end of the line and closes the last field.
            csv_core::ReadRecordResult::InputEmpty => {}
            csv_core::ReadRecordResult::OutputFull => out.resize(out.len() * 2 + 1, 0),
            csv_core::ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
        }
    }
    let mut record = csv::ByteRecord::with_capacity(out_len, n_ends);
    let mut start = 0;
    for &end in &ends[..n_ends] {
        record.push_field(&out[start..end]);
        start = end;
    }
    if record.is_empty() {
        record.push_field(b"");
    }
    record
}

impl InputReader {
    /// Opens the input and reads its first line to decide whether it is a header.
    ///
    /// The first line is a header when one of its fields is `domain`, `group` or `weight`, or one of the
    /// column names given in `spec` (case-insensitive). Otherwise every line is data and the domain is
    /// the first field.
    pub fn open(source: &InputSource, spec: &ColumnSpec) -> Result<Self, InputError> {
        let path = match source {
            InputSource::File(p) => p.display().to_string(),
            InputSource::Stdin => "-".to_string(),
        };
        let io_err = |source| InputError::Io { path: path.clone(), source };
        let lines: Box<dyn BufRead + Send> = match source {
            InputSource::File(p) => Box::new(BufReader::with_capacity(256 * 1024, File::open(p).map_err(io_err)?)),
            InputSource::Stdin => Box::new(BufReader::with_capacity(256 * 1024, io::stdin())),
        };
        let mut reader = Self {
            lines,
            fields: csv_core::Reader::new(),
            header: false,
            line_no: 0,
            columns: Columns { domain: 0, group: None, weight: None, dkim_selectors: None, keep: Vec::new() },
            pending: None,
            seen: HashMap::new(),
            path: path.clone(),
        };
        let first = reader.next_line().map_err(io_err)?;
        let header: Vec<String> = match &first {
            Some((_, RawLine::Fields(rec))) => {
                rec.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect()
            }
            _ => Vec::new(),
        };
        let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let named = [&spec.domain, &spec.group, &spec.weight];
        let is_header = ["domain", "group", "weight"].iter().any(|n| find(n).is_some())
            || named.iter().any(|n| n.as_deref().and_then(find).is_some())
            || spec.keep.iter().any(|n| find(n).is_some());
        let missing = |name: &str| InputError::MissingColumn { name: name.to_string(), header: header.join(",") };
        reader.columns = if is_header {
            let domain = match &spec.domain {
                Some(n) => find(n).ok_or_else(|| missing(n))?,
                None => find("domain").unwrap_or(0),
            };
            let optional = |given: &Option<String>, default: &str| match given {
                Some(n) => find(n).map(Some).ok_or_else(|| missing(n)),
                None => Ok(find(default)),
            };
            Columns {
                domain,
                group: optional(&spec.group, "group")?,
                weight: optional(&spec.weight, "weight")?,
                dkim_selectors: find("dkim_selectors"),
                keep: spec.keep.iter().map(|n| find(n).ok_or_else(|| missing(n))).collect::<Result<_, _>>()?,
            }
        } else {
            for (flag, given) in
                [("domain-column", &spec.domain), ("group-column", &spec.group), ("weight-column", &spec.weight)]
            {
                if let Some(name) = given {
                    return Err(InputError::NoHeader { flag, name: name.clone() });
                }
            }
            if let Some(name) = spec.keep.first() {
                return Err(InputError::NoHeader { flag: "keep-column", name: name.clone() });
            }
            Columns { domain: 0, group: None, weight: None, dkim_selectors: None, keep: Vec::new() }
        };
        if !is_header {
            reader.pending = first;
        }
        reader.header = is_header;
        Ok(reader)
    }

    /// The next data line (not blank, not a comment), with its line number.
    fn next_line(&mut self) -> io::Result<Option<(u64, RawLine)>> {
        let mut buf = Vec::new();
        loop {
            let Some(complete) = read_line(&mut *self.lines, &mut buf)? else {
                return Ok(None);
            };
            self.line_no += 1;
            let start = self.line_no;
            if start == 1 && buf.starts_with(b"\xef\xbb\xbf") {
                buf.drain(..3);
            }
            if !complete {
                return Ok(Some((start, RawLine::TooLong)));
            }
            if buf.first() == Some(&b'#') || buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // A quoted field may span lines: join until the quotes balance.
            let mut complete = true;
            while buf.iter().filter(|b| **b == b'"').count() % 2 == 1 {
                let mut more = Vec::new();
                match read_line(&mut *self.lines, &mut more)? {
                    Some(c) if buf.len() + more.len() < MAX_LINE_BYTES => {
                        self.line_no += 1;
                        complete &= c;
                        buf.push(b'\n');
                        buf.extend_from_slice(&more);
                    }
                    Some(_) => {
                        self.line_no += 1;
                        complete = false;
                        break;
                    }
                    None => break,
                }
            }
            if !complete {
                return Ok(Some((start, RawLine::TooLong)));
            }
            return Ok(Some((start, RawLine::Fields(split_fields(&mut self.fields, &buf)))));
        }
    }

    /// Makes room for `lines` distinct domains in the duplicate check up front, so that it does not
    /// grow by doubling (each doubling briefly holds the old table and the new one: at a million
    /// domains, 17 MiB more at the peak).
    pub fn reserve(&mut self, lines: u64) {
        self.seen.reserve(usize::try_from(lines).unwrap_or(usize::MAX).min(1 << 31).saturating_sub(self.seen.len()));
    }

    /// The first line was a header (not a data line).
    pub fn has_header(&self) -> bool {
        self.header
    }

    fn item(&mut self, line: u64, raw: RawLine) -> InputItem {
        let record = match raw {
            RawLine::Fields(r) => r,
            RawLine::TooLong => {
                return InputItem::Reject(Reject {
                    line,
                    input: String::new(),
                    reason: RejectReason::LineTooLong,
                    detail: format!("line longer than {MAX_LINE_BYTES} bytes"),
                });
            }
        };
        let raw = record.get(self.columns.domain).unwrap_or(b"");
        let lossy = || String::from_utf8_lossy(raw).chars().take(256).collect::<String>();
        let reject = |reason, detail: String| InputItem::Reject(Reject { line, input: lossy(), reason, detail });
        let Ok(text) = std::str::from_utf8(raw) else {
            return reject(RejectReason::InvalidUtf8, String::new());
        };
        let domain = match domain::normalize(text) {
            Ok(d) => d,
            Err(reason) => return reject(reason, String::new()),
        };
        let field =
            |i: Option<usize>| i.and_then(|i| record.get(i)).map(|b| String::from_utf8_lossy(b).trim().to_string());
        let group = field(self.columns.group).filter(|g| !g.is_empty());
        let weight = match field(self.columns.weight).filter(|w| !w.is_empty()) {
            None => None,
            Some(w) => match w.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
                _ => {
                    return reject(RejectReason::InvalidWeight, format!("weight {w:?} is not a non-negative number"));
                }
            },
        };
        let mut dkim_selectors = Vec::new();
        if let Some(list) = field(self.columns.dkim_selectors) {
            for sel in list.split([' ', ';', '|']).filter(|s| !s.is_empty()) {
                if !crate::domain::is_selector(sel) || dkim_selectors.len() >= crate::policy::dkim::MAX_SELECTORS {
                    return reject(RejectReason::InvalidDkimSelector, format!("dkim selector {sel:?}"));
                }
                dkim_selectors.push(sel.to_ascii_lowercase());
            }
        }
        // 12 bytes a domain (a 64-bit hash and the line as u32, packed without padding): the one
        // structure that grows with the input.
        let hash = domain_key(domain.as_str());
        let key = [(hash >> 32) as u32, hash as u32];
        if let Some(first) = self.seen.get(&key) {
            let later = if *first == u32::MAX { " or later" } else { "" };
            return reject(RejectReason::Duplicate, format!("first seen on line {first}{later}"));
        }
        self.seen.insert(key, u32::try_from(line).unwrap_or(u32::MAX));
        let kept = self
            .columns
            .keep
            .iter()
            .map(|i| field(Some(*i)).filter(|v| !v.is_empty()).map(|v| crate::probe::smtp::cut(v, MAX_KEPT_BYTES)))
            .collect();
        InputItem::Entry(Entry { line, domain, group, weight, dkim_selectors, kept })
    }
}

impl Iterator for InputReader {
    type Item = Result<InputItem, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((line, raw)) = self.pending.take() {
            return Some(Ok(self.item(line, raw)));
        }
        match self.next_line() {
            Ok(Some((line, raw))) => Some(Ok(self.item(line, raw))),
            Ok(None) => None,
            Err(source) => Some(Err(InputError::Io { path: self.path.clone(), source })),
        }
    }
}

/// Counts the data lines of a file cheaply (newlines, minus blank and `#` lines), for the progress total.
pub fn count_lines(path: &Path) -> io::Result<u64> {
    let mut reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut count = 0u64;
    let mut at_line_start = true;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        for &b in buf {
            if at_line_start {
                if b != b'#' && b != b'\n' && b != b'\r' {
                    count += 1;
                }
                at_line_start = false;
            }
            if b == b'\n' {
                at_line_start = true;
            }
        }
        let n = buf.len();
        reader.consume(n);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(content: &[u8], spec: &ColumnSpec) -> Result<Vec<InputItem>, InputError> {
        let dir = std::env::temp_dir().join(format!("mailcensus-input-{}-{}", std::process::id(), fastrand()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.csv");
        std::fs::File::create(&path).unwrap().write_all(content).unwrap();
        let r = InputReader::open(&InputSource::File(path), spec)?;
        r.collect()
    }

    fn fastrand() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }

    fn summary(items: &[InputItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                InputItem::Entry(e) => format!(
                    "{}:{}:{}:{}",
                    e.line,
                    e.domain,
                    e.group.as_deref().unwrap_or("-"),
                    e.weight.map(|w| w.to_string()).unwrap_or("-".into())
                ),
                InputItem::Reject(r) => format!("{}!{}", r.line, r.reason),
            })
            .collect()
    }

    #[test]
    fn plain_list_with_comments_and_blanks() {
        let items =
            read_all(b"# my list\nexample.com\n\nuser@Example.ORG\n192.0.2.1\nexample.com\n", &ColumnSpec::default())
                .unwrap();
        assert_eq!(summary(&items), ["2:example.com:-:-", "4:example.org:-:-", "5!ip_literal", "6!duplicate"]);
        match &items[3] {
            InputItem::Reject(r) => assert_eq!(r.detail, "first seen on line 2"),
            _ => unreachable!(),
        }
    }

    #[test]
    fn header_with_group_and_weight_crlf_bom() {
        let items = read_all(
            b"\xef\xbb\xbfgroup,domain,weight\r\nNTT,ocn.ne.jp,10\r\n\"KDDI, Inc\",ezweb.ne.jp,\r\nX,bad..name,1\r\nY,y.example,-3\r\n",
            &ColumnSpec::default(),
        )
        .unwrap();
        assert_eq!(
            summary(&items),
            ["2:ocn.ne.jp:NTT:10", "3:ezweb.ne.jp:KDDI, Inc:-", "4!empty_label", "5!invalid_weight"]
        );
    }

    #[test]
    fn header_is_recognised_and_not_a_data_line() {
        let dir = std::env::temp_dir().join(format!("mailcensus-header-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (content, header) in
            [(&b"x,Domain\nb.example,a.example\n"[..], true), (b"a.example\nb.example\n", false), (b"", false)]
        {
            let p = dir.join("h.csv");
            std::fs::write(&p, content).unwrap();
            let r = InputReader::open(&InputSource::File(p), &ColumnSpec::default()).unwrap();
            assert_eq!(r.has_header(), header, "{:?}", String::from_utf8_lossy(content));
        }
    }

    #[test]
    fn named_columns() {
        let spec = ColumnSpec {
            domain: Some("Address Suffix".into()),
            group: Some("Region Name".into()),
            weight: None,
            keep: Vec::new(),
        };
        let items =
            read_all(b"Address Suffix,Hostname Suffix,Region Name\nocn.ne.jp,ocn.ad.jp,World\n", &spec).unwrap();
        assert_eq!(summary(&items), ["2:ocn.ne.jp:World:-"]);
    }

    #[test]
    fn missing_column_is_an_error() {
        let spec = ColumnSpec { domain: Some("host".into()), ..Default::default() };
        assert!(matches!(read_all(b"domain\na.example\n", &spec), Err(InputError::MissingColumn { .. })));
        assert!(matches!(read_all(b"a.example\n", &spec), Err(InputError::NoHeader { .. })));
    }

    #[test]
    fn invalid_utf8_and_empty_fields() {
        let items = read_all(b"domain,group\n\xff\xfe.example,g\n,g\n", &ColumnSpec::default()).unwrap();
        assert_eq!(summary(&items), ["2!invalid_utf8", "3!empty"]);
    }

    #[test]
    fn long_lines_and_multiline_quotes() {
        let mut content = b"domain,group\n".to_vec();
        content.extend(std::iter::repeat_n(b'a', MAX_LINE_BYTES + 10));
        content.extend_from_slice(b"\nb.example,\"two\nlines\"\nc.example,x\n");
        let items = read_all(&content, &ColumnSpec::default()).unwrap();
        assert_eq!(summary(&items), ["2!line_too_long", "3:b.example:two\nlines:-", "5:c.example:x:-"]);
        let items = read_all(
            &b"d.example\n".iter().chain(&[b'x'; 100_000]).copied().collect::<Vec<u8>>(),
            &ColumnSpec::default(),
        )
        .unwrap();
        assert_eq!(summary(&items), ["1:d.example:-:-", "2!name_too_long"]);
    }

    #[test]
    fn split_fields_agrees_with_the_csv_crate() {
        let mut r = csv_core::Reader::new();
        for line in [
            &b"a,b,c"[..],
            b"\"x,y\",z",
            b"\"he said \"\"hi\"\"\",2",
            b"",
            b",",
            b"one",
            b"\"two\nlines\",3",
            &[b'a'; 300][..],
            &b"f,".repeat(40)[..],
        ] {
            let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line);
            let mut want = csv::ByteRecord::new();
            if !csv.read_byte_record(&mut want).unwrap() {
                want.push_field(b"");
            }
            assert_eq!(split_fields(&mut r, line), want, "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn empty_and_header_only_files() {
        assert!(read_all(b"", &ColumnSpec::default()).unwrap().is_empty());
        assert!(read_all(b"domain,group\n", &ColumnSpec::default()).unwrap().is_empty());
    }

    #[test]
    fn sample_input_parses_cleanly() {
        let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample-domains.csv"));
        let items: Vec<InputItem> = InputReader::open(&InputSource::File(path), &ColumnSpec::default())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(items.len() >= 20);
        for item in items {
            match item {
                InputItem::Entry(e) => assert!(e.group.is_some(), "{e:?}"),
                InputItem::Reject(r) => panic!("sample line rejected: {r:?}"),
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Arbitrary bytes never panic the reader, and line numbers only go up.
        #[test]
        fn arbitrary_input_is_accounted(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let items = read_all(&bytes, &ColumnSpec::default()).unwrap();
            let lines: Vec<u64> = items.iter().map(|i| match i { InputItem::Entry(e) => e.line, InputItem::Reject(r) => r.line }).collect();
            proptest::prop_assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
            let newlines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
            proptest::prop_assert!(lines.iter().all(|l| *l >= 1 && *l <= newlines));
        }
    }

    #[test]
    fn count_lines_skips_blank_and_comments() {
        let dir = std::env::temp_dir().join(format!("mailcensus-count-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.csv");
        std::fs::write(&p, b"# c\na\n\nb\r\n\r\nc").unwrap();
        assert_eq!(count_lines(&p).unwrap(), 3);
    }
}
