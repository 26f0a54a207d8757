//! Reading table files: plain, gzip (`.gz`) or every matching entry of a CMS ZIP (`.zip`);
//! tab-separated rows with line numbers; errors that name the file and line.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A malformed or unreadable table file. The old tables stay active.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The file (or a ZIP entry) cannot be read.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// File (and ZIP entry) name.
        file: String,
        /// The I/O error.
        message: String,
    },
    /// A row is malformed.
    #[error("{file}:{line}: {message}")]
    Row {
        /// File (and ZIP entry) name.
        file: String,
        /// 1-based line (or CSV record) number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A table that reads without error but cannot be what was meant (no rows, or far fewer
    /// than the one in force): not loaded, the tables in force stay.
    #[error("{table}: {message}")]
    Suspicious {
        /// Which table (kind, setting, name and files).
        table: String,
        /// What looks wrong and what to do.
        message: String,
    },
    /// The manifest is wrong.
    #[error("table manifest {file}: {message}")]
    Manifest {
        /// Manifest path.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// One readable text stream with a display name.
pub struct Input {
    /// `path` or `archive.zip:entry.txt`.
    pub name: String,
    /// The decoded bytes.
    pub reader: Box<dyn BufRead + Send>,
}

fn io_err(file: &str, e: impl std::fmt::Display) -> TableError {
    TableError::Io {
        file: file.to_string(),
        message: e.to_string(),
    }
}

/// Opens `path`: `.gz` is decompressed; a `.zip` yields every entry whose lower-cased name
/// `wanted` accepts, in name order. Other files are read as they are.
pub fn open(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<Input>, TableError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| io_err(&name, e))?;
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".gz") {
        return Ok(vec![Input {
            name,
            reader: Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(file),
            )),
        }]);
    }
    if lower.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| io_err(&name, e))?;
        let mut entries: Vec<String> = zip
            .file_names()
            .filter_map(Result::ok)
            .map(|n| n.to_string())
            .filter(|n| {
                let l = n.to_ascii_lowercase();
                !l.starts_with("__macosx") && wanted(&l)
            })
            .collect();
        entries.sort();
        if entries.is_empty() {
            return Err(io_err(
                &name,
                "the ZIP holds no file of the expected layout",
            ));
        }
        let mut out = Vec::new();
        for entry in entries {
            let full = format!("{name}:{entry}");
            let mut bytes = Vec::new();
            zip.by_name(&entry)
                .map_err(|e| io_err(&full, e))?
                .read_to_end(&mut bytes)
                .map_err(|e| io_err(&full, e))?;
            out.push(Input {
                name: full,
                reader: Box::new(std::io::Cursor::new(bytes)),
            });
        }
        return Ok(out);
    }
    Ok(vec![Input {
        name,
        reader: Box::new(BufReader::with_capacity(1 << 16, file)),
    }])
}

/// Calls `row(line_number, fields)` for every non-empty line of a tab-separated input.
/// Bytes that are not UTF-8 (CMS files are Windows-1252) are replaced, never fatal.
pub fn for_each_tsv_line(
    input: &mut Input,
    mut row: impl FnMut(u64, &[&str]) -> Result<(), TableError>,
) -> Result<(), TableError> {
    let mut buf = Vec::with_capacity(256);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = input
            .reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| io_err(&input.name, e))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split('\t').map(str::trim).collect();
        row(line_no, &fields)?;
    }
}

/// Column positions of a plain-TSV header, looked up by name.
pub struct Header {
    columns: HashMap<String, usize>,
}

impl Header {
    /// Reads the header fields.
    pub fn new(fields: &[&str]) -> Self {
        Self {
            columns: fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.trim().to_ascii_lowercase(), i))
                .collect(),
        }
    }

    /// Position of a required column.
    pub fn required(&self, file: &str, name: &str) -> Result<usize, TableError> {
        self.columns
            .get(name)
            .copied()
            .ok_or_else(|| TableError::Row {
                file: file.to_string(),
                line: 1,
                message: format!("the header has no `{name}` column"),
            })
    }

    /// Position of an optional column.
    pub fn optional(&self, name: &str) -> Option<usize> {
        self.columns.get(name).copied()
    }
}

/// A field by position, or "" when the row is short.
pub fn field<'a>(fields: &[&'a str], i: usize) -> &'a str {
    fields.get(i).copied().unwrap_or("")
}

/// A row error for `input` at `line`.
pub fn row_err(input: &str, line: u64, message: impl Into<String>) -> TableError {
    TableError::Row {
        file: input.to_string(),
        line,
        message: message.into(),
    }
}

/// Calls `row(line_number, fields)` for every record of a comma-separated input (quoted
/// fields and CRLF line ends as CMS's spreadsheet exports write them; rows may differ in
/// length). Fields are trimmed; bytes that are not UTF-8 are replaced. Line numbers are
/// counted here from the record's byte offset (the csv crate miscounts lines ending in CRLF).
pub fn for_each_csv_record(
    input: &mut Input,
    mut row: impl FnMut(u64, &[String]) -> Result<(), TableError>,
) -> Result<(), TableError> {
    let name = input.name.clone();
    let mut data = Vec::new();
    input
        .reader
        .read_to_end(&mut data)
        .map_err(|e| io_err(&name, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data.as_slice());
    let mut record = csv::ByteRecord::new();
    let mut fields: Vec<String> = Vec::with_capacity(32);
    let (mut counted_to, mut line) = (0usize, 1u64);
    let mut line_at = |byte: usize| {
        // With CRLF the reported start can be the `\n` ending the previous record.
        let mut end = byte.min(data.len());
        while end < data.len() && matches!(data[end], b'\r' | b'\n') {
            end += 1;
        }
        if end > counted_to {
            line += data[counted_to..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            counted_to = end;
        }
        line
    };
    loop {
        let more = reader.read_byte_record(&mut record);
        let at = line_at(record.position().map_or(0, |p| p.byte() as usize));
        if !more.map_err(|e| row_err(&name, at, e.to_string()))? {
            return Ok(());
        }
        fields.clear();
        fields.extend(
            record
                .iter()
                .map(|b| String::from_utf8_lossy(b).trim().to_string()),
        );
        row(at, &fields)?;
    }
}
