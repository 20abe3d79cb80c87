//! Where decoded events go: the [`Sink`] trait every front end implements, and the output
//! formats (one file each) with their one column list.
//!
//! A [`Sink`] receives, in input order, every parsed [`AuditEvent`], every log event that did
//! not parse ([`UnparsedLine`], whole, with its reason) and every record that could not be read
//! at all ([`FailedRecord`], whole, with its error). Nothing reaches the caller any other way, so
//! a sink that keeps all three loses nothing. A closure `FnMut(&AuditEvent)` is a sink that only
//! wants events (the others are still counted in the [`crate::report::Report`]).
//!
//! | format | file | shape |
//! | --- | --- | --- |
//! | [`Format::Ndjson`] | [`ndjson`] | one JSON object per line, keys = [`COLUMNS`] |
//! | [`Format::Csv`], [`Format::Tsv`] | [`csv`] | header row of [`COLUMNS`], RFC 4180 quoting |
//! | [`Format::Sql`] | [`sql`] | one QUERY statement per line, ending in `;` |

pub mod csv;
pub mod json_escape;
mod lead;
pub mod ndjson;
pub mod rfc3339;
mod spare;
pub mod sql;

pub use ndjson::{NdjsonBuffer, NdjsonWriter, json_str};

use crate::audit::event::AuditEvent;
use crate::audit::scanner::LineError;
use crate::input::logs_api::EventPlace;
use crate::report::RecordError;

/// Receives what a decoder reads, in input order.
pub trait Sink {
    /// A parsed audit event. It borrows from the input buffer: copy what outlives the call.
    fn event(&mut self, event: &AuditEvent<'_>);

    /// A log event (or text line) that is not an audit line, whole, with the reason.
    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        let _ = line;
    }

    /// A record that could not be read at all (bad base64, gzip or envelope), whole.
    fn failed_record(&mut self, record: &FailedRecord<'_>) {
        let _ = record;
    }

    /// The record is decoded: nothing more reaches this sink, which waits for its turn to be
    /// written (records decoded ahead in parallel wait long, and many at once). A sink may
    /// give back here what it needs only while events come: the CLI's writer (its caches
    /// warm) goes to the next record's sink instead of each sink starting one cold.
    fn finish(&mut self) {}
}

impl<F: FnMut(&AuditEvent<'_>)> Sink for F {
    fn event(&mut self, event: &AuditEvent<'_>) {
        self(event);
    }
}

/// A sink that counts events (and only counts: unparsed lines and failed records are in the
/// [`crate::report::Report`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u64);

impl Sink for Count {
    fn event(&mut self, _: &AuditEvent<'_>) {
        self.0 += 1;
    }
}

/// A log event that did not parse, with everything needed to find, fix and replay it.
#[derive(Debug, Clone, Copy)]
pub struct UnparsedLine<'a> {
    /// The whole message (CloudWatch log event) or text line, as read (no newline).
    pub bytes: &'a [u8],
    /// Why it is not an audit line.
    pub reason: LineError,
    /// 0-based index of the record (Kinesis record, CloudWatch payload) it came in, when it
    /// came in one.
    pub record_index: Option<usize>,
    /// `kinesis.sequenceNumber` of that record, when known.
    pub sequence_number: Option<&'a str>,
    /// CloudWatch Logs log group, when the line came in an envelope.
    pub log_group: Option<&'a str>,
    /// CloudWatch Logs log stream, when the line came in an envelope.
    pub log_stream: Option<&'a str>,
    /// CloudWatch Logs event `id`, when the line came in an envelope.
    pub event_id: Option<&'a str>,
    /// 1-based line number, when the line came from a plain log file.
    pub line_number: Option<u64>,
    /// The input file, as its front end names it (see [`crate::Provenance::file`]).
    pub file: Option<&'a str>,
    /// Where the log event is in `aws logs` API output (its page, its index in `events`):
    /// `line_number` is then the line within its message.
    pub place: Option<EventPlace>,
}

impl<'a> UnparsedLine<'a> {
    /// A line of a plain log file (no record, no envelope): its bytes, reason and line.
    #[must_use]
    pub fn of_text(bytes: &'a [u8], reason: LineError, line_number: u64) -> Self {
        UnparsedLine {
            bytes,
            reason,
            record_index: None,
            sequence_number: None,
            log_group: None,
            log_stream: None,
            event_id: None,
            line_number: Some(line_number),
            file: None,
            place: None,
        }
    }
}

/// A record that could not be read, kept whole.
#[derive(Debug, Clone, Copy)]
pub struct FailedRecord<'a> {
    /// 0-based index of the record in its input.
    pub index: usize,
    /// `kinesis.sequenceNumber`, when known (the `itemIdentifier` of a partial batch failure).
    pub sequence_number: Option<&'a str>,
    /// The record's payload exactly as delivered (base64 text for Lambda events, gzip bytes
    /// for payload files, JSON for envelope files; empty when the record had no payload).
    pub payload: &'a [u8],
    /// Why it could not be read.
    pub error: &'a RecordError,
    /// The input file, as its front end names it (see [`crate::Provenance::file`]).
    pub file: Option<&'a str>,
}

/// An output format. Every format writes the same fields, named by [`COLUMNS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// One JSON object per line ([`ndjson`]).
    Ndjson,
    /// RFC 4180 CSV with a header row ([`csv`]).
    Csv,
    /// Tab-separated, never quoted (a backslash, tab, LF, CR and NUL written `\\`, `\t`, `\n`, `\r`, `\0`), with a header row ([`csv`]).
    Tsv,
    /// One QUERY statement per line ([`sql`]).
    Sql,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 4] = [Format::Ndjson, Format::Csv, Format::Tsv, Format::Sql];

    /// The format's name on the command line (`--format`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Sql => "sql",
        }
    }

    /// One line saying what the format writes.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Format::Ndjson => "One JSON object per line (keys below)",
            Format::Csv => "RFC 4180 CSV with a header row",
            Format::Tsv => {
                r"Tab-separated, never quoted (\\, \t, \n, \r, \0 escapes), with a header row"
            }
            Format::Sql => "One QUERY statement per line",
        }
    }

    /// The format named `name` ([`Format::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The output fields, in order: NDJSON keys and CSV/TSV columns. NDJSON writes
/// `ambiguous`, `readings` and `alternatives_omitted` only for an ambiguous event (and adds
/// `alternatives`, the other readings, which CSV and TSV do not carry), and each of the last
/// four, `serverhost_base64` to `database_base64`, only when its name is not valid UTF-8,
/// right after the name (as `object_base64` after `object`); CSV and TSV have them last, so
/// that the columns before them stay where they were.
pub const COLUMNS: [&str; 28] = [
    "timestamp",
    "timestamp_us",
    "dialect",
    "serverhost",
    "username",
    "host",
    "connection_id",
    "query_id",
    "operation",
    "database",
    "object",
    "object_base64",
    "retcode",
    "extra",
    "ambiguous",
    "readings",
    "alternatives_omitted",
    "log_group",
    "log_stream",
    "event_id",
    "cloudwatch_timestamp_ms",
    "sequence_number",
    "file",
    "line",
    "serverhost_base64",
    "username_base64",
    "host_base64",
    "database_base64",
];

/// Writes events in one [`Format`], reusing its scratch buffers from event to event.
#[derive(Debug)]
pub struct EventWriter {
    format: Format,
    ndjson: NdjsonWriter,
    csv: csv::CsvWriter,
    sql: sql::SqlWriter,
}

impl EventWriter {
    /// A writer for `format`.
    #[must_use]
    pub fn new(format: Format) -> Self {
        let delimiter = if format == Format::Tsv { b'\t' } else { b',' };
        EventWriter {
            format,
            ndjson: NdjsonWriter::new(),
            csv: csv::CsvWriter::new(delimiter),
            sql: sql::SqlWriter::new(),
        }
    }

    /// SQL: this writer writes a piece of an output placed later; the `USE` before its first
    /// statement is left to the caller ([`sql::SqlWriter::piece`]).
    #[must_use]
    pub fn sql_piece(mut self) -> Self {
        self.sql = sql::SqlWriter::piece();
        self
    }

    /// The SQL writer: the databases of what it wrote, for joining pieces.
    pub fn sql(&mut self) -> &mut sql::SqlWriter {
        &mut self.sql
    }

    /// CSV/TSV: write cells as they are instead of neutralising formulas ([`csv`]).
    #[must_use]
    pub fn csv_raw(mut self, raw: bool) -> Self {
        self.csv = self.csv.raw(raw);
        self
    }

    /// The input file the events written from now on were read from, for those whose
    /// [`crate::Provenance::file`] is `None` ([`NdjsonWriter::set_file`]; SQL names no file).
    ///
    /// Only the writer of the format is told: a sink made for each record says it for each,
    /// and the others would keep a copy of the name they never write.
    pub fn set_file(&mut self, file: Option<&str>) {
        match self.format {
            Format::Ndjson => self.ndjson.set_file(file),
            Format::Csv | Format::Tsv => self.csv.set_file(file),
            Format::Sql => {}
        }
    }

    /// What goes before the first event: the header row for CSV/TSV, nothing otherwise.
    #[must_use]
    pub fn header(&self) -> Vec<u8> {
        match self.format {
            Format::Csv | Format::Tsv => self.csv.header(),
            Format::Ndjson | Format::Sql => Vec::new(),
        }
    }

    /// Appends `event` to `out`. Returns whether anything was written (SQL writes only QUERY
    /// events with a statement).
    pub fn write(&mut self, event: &AuditEvent<'_>, out: &mut Vec<u8>) -> bool {
        match self.format {
            Format::Ndjson => {
                self.ndjson.write(event, out);
                true
            }
            Format::Csv | Format::Tsv => {
                self.csv.write(event, out);
                true
            }
            Format::Sql => self.sql.write(event, out),
        }
    }
}
