//! CSV and TSV: a header row of [`COLUMNS`], then one row per event, fields in the same order.
//!
//! Quoting follows RFC 4180 as the `csv` crate writes it by default: a field is quoted when it
//! holds the delimiter, a `"`, a CR or a LF, and a `"` inside it is doubled. A missing value is
//! an empty field; `extra` is written as a JSON array; an object that is not valid UTF-8 is
//! written lossily with its exact bytes in `object_base64`, as in NDJSON. Rows end in `\n`.
//!
//! CSV injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula
//! (a tab or CR first is read past), and user names, hosts, databases and statements are
//! attacker text (a failed login's user name is whatever the client sent). So, following
//! OWASP's rule, such a cell is written with a `'` in front (`=HYPERLINK(...)` becomes
//! `'=HYPERLINK(...)`, `-1` becomes `'-1`); strip one leading `'` from a cell that starts with
//! `'` followed by one of those characters to get the value back. [`CsvWriter::raw`] (the
//! CLI's `--csv-raw`) writes values as they are, for programs that read the file.
//!
//! ```
//! use rdsaudit::sink::{EventWriter, Format};
//! let event = rdsaudit::parse_line(br"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT \'a,b\'',0,,")?;
//! let mut out = Vec::new();
//! EventWriter::new(Format::Csv).write(&event, &mut out);
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "2024-03-23T13:36:09.000000Z,1711200969000000,rds_mysql,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,\"SELECT 'a,b'\",,0,\"[\"\"\"\",\"\"\"\"]\",,,,,,,\n"
//! );
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

use std::borrow::Cow;
use std::io::Write as _;

use base64::Engine as _;

use super::COLUMNS;
use super::ndjson::json_str;
use crate::audit::event::AuditEvent;
use crate::audit::timestamp::Rfc3339;

/// Writes CSV (`,`) or TSV (`\t`) rows, reusing its scratch buffers.
#[derive(Debug)]
pub struct CsvWriter {
    delimiter: u8,
    raw: bool,
    scratch: Vec<u8>,
}

impl CsvWriter {
    /// A writer with this field delimiter.
    #[must_use]
    pub fn new(delimiter: u8) -> Self {
        CsvWriter {
            delimiter,
            raw: false,
            scratch: Vec::new(),
        }
    }

    /// Writes cells as they are, without neutralising formulas (see the module docs).
    #[must_use]
    pub fn raw(mut self, raw: bool) -> Self {
        self.raw = raw;
        self
    }

    /// The header row.
    #[must_use]
    pub fn header(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, name) in COLUMNS.iter().enumerate() {
            self.field(i, name.as_bytes(), &mut out);
        }
        out.push(b'\n');
        out
    }

    /// Appends one row for `e` to `out`.
    pub fn write(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
        let (object, object_base64) = object_text(e);
        let p = &e.provenance;
        let num = |v: Option<i64>| v.map_or(Cow::Borrowed(""), |n| n.to_string().into());
        self.scratch.clear();
        json_extra(e, &mut self.scratch);
        let extra = String::from_utf8_lossy(&self.scratch).into_owned();
        let row: [Cow<'_, str>; COLUMNS.len()] = [
            Rfc3339(e.timestamp.epoch_us).to_string().into(),
            e.timestamp.epoch_us.to_string().into(),
            e.timestamp.dialect.as_str().into(),
            Cow::Borrowed(&*e.serverhost),
            Cow::Borrowed(&*e.username),
            Cow::Borrowed(&*e.host),
            e.connection_id.to_string().into(),
            e.query_id.to_string().into(),
            e.operation.as_str().into(),
            Cow::Borrowed(&*e.database),
            object,
            object_base64.map_or(Cow::Borrowed(""), Cow::Owned),
            num(e.retcode),
            extra.into(),
            Cow::Borrowed(p.log_group.unwrap_or("")),
            Cow::Borrowed(p.log_stream.unwrap_or("")),
            Cow::Borrowed(p.event_id.unwrap_or("")),
            num(p.cloudwatch_timestamp_ms),
            Cow::Borrowed(p.sequence_number.unwrap_or("")),
            Cow::Borrowed(p.file.unwrap_or("")),
            p.line_number
                .map_or(Cow::Borrowed(""), |n| n.to_string().into()),
        ];
        for (i, value) in row.iter().enumerate() {
            self.field(i, value.as_bytes(), out);
        }
        out.push(b'\n');
    }

    /// Appends one field, preceded by the delimiter unless it is the first; a cell that a
    /// spreadsheet would take for a formula gets a `'` in front unless raw.
    fn field(&self, index: usize, value: &[u8], out: &mut Vec<u8>) {
        if index > 0 {
            out.push(self.delimiter);
        }
        let neutralise = !self.raw && starts_formula(value);
        let needs_quotes = value
            .iter()
            .any(|&b| b == self.delimiter || matches!(b, b'"' | b'\r' | b'\n'));
        if needs_quotes {
            out.push(b'"');
        }
        if neutralise {
            out.push(b'\'');
        }
        if !needs_quotes {
            out.extend_from_slice(value);
            return;
        }
        for part in value.split_inclusive(|&b| b == b'"') {
            out.extend_from_slice(part);
            if part.last() == Some(&b'"') {
                out.push(b'"');
            }
        }
        out.push(b'"');
    }
}

/// OWASP's list of first characters that make a spreadsheet cell a formula.
fn starts_formula(value: &[u8]) -> bool {
    matches!(
        value.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// The object as text, and its exact bytes in base64 when they are not valid UTF-8.
fn object_text<'a>(e: &AuditEvent<'a>) -> (Cow<'a, str>, Option<String>) {
    let exact = |b: &[u8]| Some(base64::engine::general_purpose::STANDARD.encode(b));
    match e.object.unescaped() {
        Cow::Borrowed(b) => match std::str::from_utf8(b) {
            Ok(text) => (Cow::Borrowed(text), None),
            Err(_) => (String::from_utf8_lossy(b), exact(b)),
        },
        Cow::Owned(v) => match String::from_utf8(v) {
            Ok(text) => (Cow::Owned(text), None),
            Err(err) => {
                let b = err.as_bytes();
                (
                    Cow::Owned(String::from_utf8_lossy(b).into_owned()),
                    exact(b),
                )
            }
        },
    }
}

/// `extra` as a JSON array of strings, as in NDJSON.
fn json_extra(e: &AuditEvent<'_>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, field) in e.extra.fields().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_str(out, &String::from_utf8_lossy(field));
    }
    let _ = out.write_all(b"]");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(delimiter: u8, line: &[u8]) -> String {
        let e = crate::parse_line(line).unwrap();
        let mut out = Vec::new();
        CsvWriter::new(delimiter).write(&e, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quotes_only_what_needs_quotes() {
        let csv = row(
            b',',
            br#"20240323 13:36:09,h,u,l,4,5,QUERY,db,'a\tb "q" c',0"#,
        );
        assert!(csv.contains(",\"a\tb \"\"q\"\" c\","), "{csv}");
        let tsv = row(b'\t', br"20240323 13:36:09,h,u,l,4,5,QUERY,db,'a\tb, c',0");
        assert!(tsv.contains("\t\"a\tb, c\"\t"), "{tsv}");
    }

    #[test]
    fn formula_cells_are_neutralised_unless_raw() {
        let line = b"20240323 13:36:09,=1+1,@u,+h,4,5,QUERY,-db,'\tx',0";
        let csv = row(b',', line);
        assert!(csv.contains(",'=1+1,'@u,'+h,4,5,QUERY,'-db,'\tx,"), "{csv}");
        let e = crate::parse_line(line).unwrap();
        let mut raw = Vec::new();
        CsvWriter::new(b',').raw(true).write(&e, &mut raw);
        assert!(
            String::from_utf8(raw)
                .unwrap()
                .contains(",=1+1,@u,+h,4,5,QUERY,-db,\tx,")
        );
    }

    proptest::proptest! {
        /// A csv reader gets every cell back: exactly when raw, after dropping the `'` when
        /// neutralised.
        #[test]
        fn cells_read_back(value in "[=+@\t\r,\"'a-]{0,6}", raw: bool) {
            let mut out = Vec::new();
            let writer = CsvWriter::new(b',').raw(raw);
            writer.field(0, value.as_bytes(), &mut out);
            writer.field(1, b"x", &mut out);
            out.push(b'\n');
            let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&out[..]);
            let record = reader.records().next().unwrap().unwrap();
            let cell = &record[0];
            let back = if !raw && starts_formula(value.as_bytes()) {
                cell.strip_prefix('\'').unwrap()
            } else {
                cell
            };
            proptest::prop_assert_eq!(back, value.as_str());
            proptest::prop_assert_eq!(&record[1], "x");
        }
    }

    #[test]
    fn header_names_every_column() {
        let header = String::from_utf8(CsvWriter::new(b',').header()).unwrap();
        assert_eq!(header.trim_end().split(',').count(), COLUMNS.len());
    }
}
