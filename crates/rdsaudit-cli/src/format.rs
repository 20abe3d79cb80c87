//! Output formats for `rdsaudit parse`. NDJSON is the library's [`NdjsonWriter`]; CSV and TSV
//! have the same columns in the same order; SQL is one QUERY statement per line.

use std::borrow::Cow;

use base64::Engine as _;
use rdsaudit::AuditEvent;
use rdsaudit::audit::timestamp::Rfc3339;
use rdsaudit::sink::{NdjsonWriter, json_str};

use super::args::Format;

/// CSV/TSV columns: the NDJSON keys, in NDJSON order.
pub const COLUMNS: [&str; 20] = [
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
    "log_group",
    "log_stream",
    "event_id",
    "cloudwatch_timestamp_ms",
    "sequence_number",
    "line",
];

/// The formatted output of one record (or one piece of a text file), written in input order.
#[derive(Default)]
pub struct Chunk {
    bytes: Vec<u8>,
    /// Events written (after filtering).
    pub events: u64,
    ndjson: NdjsonWriter,
    table: Option<csv::Writer<Vec<u8>>>,
}

impl Chunk {
    pub fn write(&mut self, format: Format, e: &AuditEvent<'_>) {
        let written = match format {
            Format::Ndjson => {
                self.ndjson.write(e, &mut self.bytes);
                true
            }
            Format::Csv | Format::Tsv => {
                let table = self.table.get_or_insert_with(|| table_writer(format));
                // Writing to a Vec cannot fail; a failure would only drop this row.
                table
                    .write_record(row(e).iter().map(|f| f.as_bytes()))
                    .is_ok()
            }
            Format::Sql => write_sql(e, &mut self.bytes),
        };
        self.events += u64::from(written);
    }

    /// The bytes to print.
    pub fn into_bytes(self) -> Vec<u8> {
        match self.table {
            Some(table) => table.into_inner().unwrap_or_default(),
            None => self.bytes,
        }
    }
}

/// The header row for CSV/TSV, nothing for the others.
pub fn header(format: Format) -> Vec<u8> {
    if !matches!(format, Format::Csv | Format::Tsv) {
        return Vec::new();
    }
    let mut table = table_writer(format);
    let _ = table.write_record(COLUMNS);
    table.into_inner().unwrap_or_default()
}

fn table_writer(format: Format) -> csv::Writer<Vec<u8>> {
    let delimiter = if format == Format::Tsv { b'\t' } else { b',' };
    csv::WriterBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .from_writer(Vec::new())
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

fn row<'e>(e: &'e AuditEvent<'_>) -> [Cow<'e, str>; 20] {
    let (object, object_base64) = object_text(e);
    let p = &e.provenance;
    let opt = |v: Option<&'e str>| Cow::Borrowed(v.unwrap_or(""));
    let num = |v: Option<i64>| v.map_or(Cow::Borrowed(""), |n| n.to_string().into());
    let mut extra = Vec::new();
    json_extra(e, &mut extra);
    [
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
        String::from_utf8_lossy(&extra).into_owned().into(),
        opt(p.log_group),
        opt(p.log_stream),
        opt(p.event_id),
        num(p.cloudwatch_timestamp_ms),
        opt(p.sequence_number),
        p.line_number
            .map_or(Cow::Borrowed(""), |n| n.to_string().into()),
    ]
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
    out.push(b']');
}

/// A QUERY's statement on one line, ending in `;`. Returns whether anything was written.
fn write_sql(e: &AuditEvent<'_>, out: &mut Vec<u8>) -> bool {
    if e.operation != rdsaudit::Operation::Query {
        return false;
    }
    let text = e.object.text();
    let statement = text.trim();
    if statement.is_empty() {
        return false;
    }
    out.extend(
        statement
            .bytes()
            .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    if !statement.ends_with(';') {
        out.push(b';');
    }
    out.push(b'\n');
    true
}
