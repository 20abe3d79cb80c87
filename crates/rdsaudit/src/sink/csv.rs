//! CSV and TSV: a header row of [`COLUMNS`], then one row per event, fields in the same order.
//!
//! Quoting follows RFC 4180 as the `csv` crate writes it by default (the rows are written by
//! hand, straight into the output): a field is quoted when it
//! holds the delimiter, a `"`, a CR or a LF, and a `"` inside it is doubled. A missing value is
//! an empty field; `extra` is written as a JSON array; an object that is not valid UTF-8 is
//! written lossily with its exact bytes in `object_base64`, as in NDJSON. Rows end in `\n`.
//!
//! ```
//! use rdsaudit::sink::{EventWriter, Format};
//! let event = rdsaudit::parse_line(br"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT \'a,b\'',0,,")?;
//! let mut out = Vec::new();
//! EventWriter::new(Format::Csv).write(&event, &mut out);
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "2024-03-23T13:36:09.000000Z,1711200969000000,rds_mysql,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,\"SELECT 'a,b'\",,0,\"[\"\"\"\",\"\"\"\"]\",,,,,,\n"
//! );
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

use base64::Engine as _;

use super::COLUMNS;
use super::ndjson::json_str;
use super::rfc3339::Rfc3339Cache;
use crate::audit::event::AuditEvent;
use crate::swar::equal_bytes;

/// Writes CSV (`,`) or TSV (`\t`) rows straight into the output, reusing its scratch buffer
/// and the text of the last second's timestamp: no per-row strings.
#[derive(Debug)]
pub struct CsvWriter {
    delimiter: u8,
    scratch: Vec<u8>,
    time: Rfc3339Cache,
}

impl CsvWriter {
    /// A writer with this field delimiter.
    #[must_use]
    pub fn new(delimiter: u8) -> Self {
        CsvWriter {
            delimiter,
            scratch: Vec::new(),
            time: Rfc3339Cache::default(),
        }
    }

    /// The header row.
    #[must_use]
    pub fn header(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, name) in COLUMNS.iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            self.field(name.as_bytes(), &mut out);
        }
        out.push(b'\n');
        out
    }

    /// Appends one row for `e` to `out`, the fields in [`COLUMNS`] order.
    pub fn write(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
        let d = self.delimiter;
        // Timestamps, numbers and the dialect never hold a delimiter, quote or newline.
        self.time.write(e.timestamp.epoch_us, out);
        out.push(d);
        int(out, e.timestamp.epoch_us);
        out.push(d);
        out.extend_from_slice(e.timestamp.dialect.as_str().as_bytes());
        for text in [&*e.serverhost, &*e.username, &*e.host] {
            out.push(d);
            self.field(text.as_bytes(), out);
        }
        out.push(d);
        int(out, e.connection_id);
        out.push(d);
        int(out, e.query_id);
        out.push(d);
        self.field(e.operation.as_str().as_bytes(), out);
        out.push(d);
        self.field(e.database.as_bytes(), out);
        out.push(d);
        self.object(e, out);
        out.push(d);
        if let Some(r) = e.retcode {
            int(out, r);
        }
        out.push(d);
        self.extra(e, out);
        let p = &e.provenance;
        for text in [p.log_group, p.log_stream, p.event_id] {
            out.push(d);
            self.field(text.unwrap_or("").as_bytes(), out);
        }
        out.push(d);
        if let Some(ms) = p.cloudwatch_timestamp_ms {
            int(out, ms);
        }
        out.push(d);
        self.field(p.sequence_number.unwrap_or("").as_bytes(), out);
        out.push(d);
        if let Some(line) = p.line_number {
            int(out, line);
        }
        out.push(b'\n');
    }

    /// The `object` and `object_base64` fields: the unescaped text, and its exact bytes in
    /// base64 when they are not valid UTF-8 (then the text is the lossy version).
    fn object(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
        let raw = e.object.raw();
        let bytes: &[u8] = if e.object.is_quoted() && memchr::memchr(b'\\', raw).is_some() {
            self.scratch.clear();
            crate::audit::unescape::unescape_into(raw, &mut self.scratch);
            &self.scratch
        } else {
            raw
        };
        if simdutf8::basic::from_utf8(bytes).is_ok() {
            self.field(bytes, out);
            out.push(self.delimiter);
            return;
        }
        self.field(String::from_utf8_lossy(bytes).as_bytes(), out);
        out.push(self.delimiter);
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        self.field(encoded.as_bytes(), out);
    }

    /// `extra` as a JSON array of strings, as in NDJSON, as one field.
    fn extra(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
        self.scratch.clear();
        self.scratch.push(b'[');
        for (i, field) in e.extra.fields().enumerate() {
            if i > 0 {
                self.scratch.push(b',');
            }
            json_str(&mut self.scratch, &String::from_utf8_lossy(field));
        }
        self.scratch.push(b']');
        let Self {
            scratch, delimiter, ..
        } = self;
        field_into(*delimiter, scratch, out);
    }

    /// Appends one field, quoted (RFC 4180) when it holds the delimiter, a `"`, CR or LF.
    fn field(&self, value: &[u8], out: &mut Vec<u8>) {
        field_into(self.delimiter, value, out);
    }
}

fn field_into(delimiter: u8, value: &[u8], out: &mut Vec<u8>) {
    if !needs_quotes(delimiter, value) {
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    let mut run = 0;
    for quote in memchr::memchr_iter(b'"', value) {
        // Up to and including the quote, then the quote again.
        out.extend_from_slice(value.get(run..=quote).unwrap_or_default());
        out.push(b'"');
        run = quote + 1;
    }
    out.extend_from_slice(value.get(run..).unwrap_or_default());
    out.push(b'"');
}

/// Whether `value` holds the delimiter, a `"`, CR or LF. Most fields are a few bytes (names,
/// ids): eight bytes at a time there, since two `memchr` calls per field cost more in
/// starting than in searching; a statement past [`SHORT_FIELD`] bytes goes to `memchr`'s
/// vector search.
fn needs_quotes(delimiter: u8, value: &[u8]) -> bool {
    if value.len() > SHORT_FIELD {
        return memchr::memchr3(b'"', b'\r', b'\n', value).is_some()
            || memchr::memchr(delimiter, value).is_some();
    }
    let special = |b: u8| matches!(b, b'"' | b'\r' | b'\n') || b == delimiter;
    let mut words = value.chunks_exact(8);
    let in_words = words.by_ref().any(|chunk| {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let hits = equal_bytes(w, b'"')
            | equal_bytes(w, b'\r')
            | equal_bytes(w, b'\n')
            | equal_bytes(w, delimiter);
        hits != 0
    });
    in_words || words.remainder().iter().any(|&b| special(b))
}

/// Up to this many bytes a field is checked eight bytes at a time.
const SHORT_FIELD: usize = 64;

/// An integer in decimal, without `core::fmt`.
#[inline]
fn int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
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

    proptest::proptest! {
        /// Quoting matches the `csv` crate's default writer (the reference), for text full of
        /// delimiters, quotes, CR and LF.
        #[test]
        fn quoting_matches_the_csv_crate(
            fields in proptest::collection::vec("[a,\t\"\r\n' é]{0,12}|[a ]{0,70}[a,\t\"\r\n' é]{0,3}", 1..6),
            tab in proptest::bool::ANY,
        ) {
            let delimiter = if tab { b'\t' } else { b',' };
            let mut ours = Vec::new();
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    ours.push(delimiter);
                }
                field_into(delimiter, f.as_bytes(), &mut ours);
            }
            ours.push(b'\n');
            let mut reference = ::csv::WriterBuilder::new()
                .delimiter(delimiter)
                .from_writer(Vec::new());
            reference.write_record(&fields).unwrap();
            let reference = reference.into_inner().unwrap();
            // The crate quotes an empty single-field record (`""`) so it is not a blank line.
            proptest::prop_assume!(!(fields.len() == 1 && fields[0].is_empty()));
            proptest::prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(reference).unwrap());
        }
    }

    #[test]
    fn header_names_every_column() {
        let header = String::from_utf8(CsvWriter::new(b',').header()).unwrap();
        assert_eq!(header.trim_end().split(',').count(), COLUMNS.len());
    }
}
