//! CloudWatch Logs Insights results downloaded as CSV.
//!
//! ```text
//! @timestamp,@message
//! 2024-05-01 12:00:00.123,"20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT ""x""',0"
//! ```
//!
//! The header names the columns; `@message` is required, `@timestamp`, `@logStream` and `@log`
//! (`<account>:<log group>`) are kept as provenance when present, in any order, and other
//! columns are ignored; a header naming one of these four twice is refused (which one holds
//! the message or its time could not be told). Fields follow RFC 4180: a quoted field may
//! hold commas, newlines and `""` for a quote.
//!
//! A row that does not read as the header says (a quoted field never closed, text after a
//! closing quote, more or fewer fields than the header names, a `@timestamp` that is no date)
//! is a [`BadRow`]: its bytes as they are in the file, kept whole, never a message made of
//! some of its fields.
//!
//! Why a reader here and not the `csv` crate: the core detects every input shape in one place
//! and must not depend on CLI-side crates, and what is needed is RFC 4180's quoting for one
//! file shape, about forty lines. The `csv` crate is the reference it is property-tested
//! against.

use std::borrow::Cow;

/// One row of the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightsRow<'a> {
    /// 1-based line of the file the row starts on.
    pub line_number: u64,
    /// The row as it is in the file (quotes and all), without its line break.
    pub raw: &'a [u8],
    /// `@timestamp`, epoch microseconds.
    pub time_us: Option<i64>,
    /// `@logStream`.
    pub log_stream: Option<Cow<'a, [u8]>>,
    /// The log group of `@log` (after the account id).
    pub log_group: Option<Cow<'a, [u8]>>,
    /// `@message`, unquoted.
    pub message: Cow<'a, [u8]>,
}

/// A row that could not be read, and its bytes as they are in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadRow<'a> {
    /// The row as it is in the file (quotes and all), without its line break; for a quoted
    /// field never closed, the rest of the file.
    pub raw: &'a [u8],
    /// Why it could not be read.
    pub error: InsightsError,
}

/// Why a row could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum InsightsError {
    /// A quoted field is never closed: the rest of the file is one broken row.
    #[error("a quoted field is never closed (expected `\"` before the end of the file)")]
    Unterminated {
        /// Line the row starts on.
        line: u64,
    },
    /// Text after a quoted field's closing quote, before the `,` or line break that ends it
    /// (`"abc"def`): no RFC 4180 field, and which bytes belong to the message cannot be told.
    #[error("text after the closing quote of field {field} (expected `,` or the end of the line)")]
    AfterQuote {
        /// Line the row starts on.
        line: u64,
        /// The field, 1-based.
        field: usize,
    },
    /// A row has more or fewer fields than the header names.
    #[error("{found} fields where the header names {expected}")]
    Fields {
        /// Line the row starts on.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// `@timestamp` is not an ISO date-time.
    #[error("@timestamp is not a date-time like `2024-05-01 12:00:00.123`")]
    Timestamp {
        /// Line the row starts on.
        line: u64,
    },
}

impl InsightsError {
    /// The line the row starts on.
    #[must_use]
    pub fn line(&self) -> u64 {
        match *self {
            InsightsError::Unterminated { line }
            | InsightsError::AfterQuote { line, .. }
            | InsightsError::Fields { line, .. }
            | InsightsError::Timestamp { line } => line,
        }
    }
}

/// Why the header of an Insights CSV cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The header names no `@message` column.
    #[error("the first line should be a header naming `@message`")]
    NoMessage,
    /// The header row itself does not read.
    #[error("the header does not read: {0}")]
    Row(InsightsError),
    /// A column we read is named twice: which one holds the value cannot be told.
    #[error("the header names `{name}` twice (columns {first} and {second})")]
    Twice {
        /// The column name.
        name: &'static str,
        /// Its first column, 1-based.
        first: usize,
        /// Its second column, 1-based.
        second: usize,
    },
}

/// Whether `text` starts with an Insights header naming `@message`.
#[must_use]
pub fn looks_like_insights_csv(text: &[u8]) -> bool {
    let first = text.get(..past_break(text)).unwrap_or_default();
    (first.starts_with(b"@") || first.starts_with(b"\"@"))
        && memchr::memmem::find(first, b"@message").is_some()
}

/// Column positions from the header.
#[derive(Debug, Clone, Copy, Default)]
struct Columns {
    count: usize,
    message: usize,
    timestamp: Option<usize>,
    log_stream: Option<usize>,
    log: Option<usize>,
}

/// The rows of `text` after its header; `None` when the header cannot be read
/// ([`read_rows`] says why).
#[must_use]
pub fn rows(text: &[u8]) -> Option<Rows<'_>> {
    read_rows(text).ok()
}

/// The rows of `text` after its header.
///
/// # Errors
/// [`HeaderError`] when the header does not read, names no `@message`, or names one of the
/// columns read twice.
pub fn read_rows(text: &[u8]) -> Result<Rows<'_>, HeaderError> {
    let mut fields = Fields {
        text,
        pos: 0,
        line: 1,
    };
    let (header, _) = fields.row().map_err(HeaderError::Row)?;
    let find = |name: &'static str| -> Result<Option<usize>, HeaderError> {
        let mut at = header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.as_ref() == name.as_bytes())
            .map(|(i, _)| i);
        match (at.next(), at.next()) {
            (Some(first), Some(second)) => Err(HeaderError::Twice {
                name,
                first: first + 1,
                second: second + 1,
            }),
            (first, _) => Ok(first),
        }
    };
    let columns = Columns {
        count: header.len(),
        message: find("@message")?.ok_or(HeaderError::NoMessage)?,
        timestamp: find("@timestamp")?,
        log_stream: find("@logStream")?,
        log: find("@log")?,
    };
    Ok(Rows { fields, columns })
}

/// Iterator returned by [`rows`].
#[derive(Debug, Clone)]
pub struct Rows<'a> {
    fields: Fields<'a>,
    columns: Columns,
}

impl Rows<'_> {
    /// The same rows with `@timestamp` left unread: a row whose `@timestamp` is no date-time
    /// reads (without a time) when nothing else is wrong with it. For detection, which asks
    /// what such a row's `@message` holds.
    #[must_use]
    pub(crate) fn timestamp_unread(mut self) -> Self {
        self.columns.timestamp = None;
        self
    }
}

impl<'a> Iterator for Rows<'a> {
    type Item = Result<InsightsRow<'a>, BadRow<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.fields.pos >= self.fields.text.len() {
                return None;
            }
            let line = self.fields.line;
            let start = self.fields.pos;
            let row = self.fields.row();
            let raw = without_break(self.fields.text.get(start..self.fields.pos));
            let bad = |error| Some(Err(BadRow { raw, error }));
            let mut fields = match row {
                Ok((_, true)) => continue,
                Ok((fields, false)) => fields,
                Err(e) => return bad(e),
            };
            let c = self.columns;
            // More fields than the header names are refused as fewer are: the extra ones
            // may hold the message's text, cut by a writer that did not quote it.
            if fields.len() != c.count {
                return bad(InsightsError::Fields {
                    line,
                    expected: c.count,
                    found: fields.len(),
                });
            }
            let mut take = |i: Option<usize>| i.and_then(|i| fields.get_mut(i)).map(std::mem::take);
            let time_us = match take(c.timestamp) {
                Some(t) => match crate::audit::iso_time::parse_prefix(&t) {
                    Some(iso) if iso.len == t.len() => Some(iso.epoch_us),
                    _ => return bad(InsightsError::Timestamp { line }),
                },
                None => None,
            };
            let log_stream = take(c.log_stream);
            let log_group = take(c.log).map(|log| match log {
                Cow::Borrowed(b) => Cow::Borrowed(after_account(b)),
                Cow::Owned(v) => Cow::Owned(after_account(&v).to_vec()),
            });
            let message = take(Some(c.message)).unwrap_or_default();
            return Some(Ok(InsightsRow {
                line_number: line,
                raw,
                time_us,
                log_stream,
                log_group,
                message,
            }));
        }
    }
}

/// `123456789012:/aws/rds/instance/db1/audit` -> the log group.
fn after_account(log: &[u8]) -> &[u8] {
    memchr::memchr(b':', log).map_or(log, |i| log.get(i + 1..).unwrap_or_default())
}

/// A row's fields, and whether it was a blank line.
type Row<'a> = (Vec<Cow<'a, [u8]>>, bool);

/// `bytes` without the line break that ends them (`\n`, `\r\n` or `\r`).
fn without_break(bytes: Option<&[u8]>) -> &[u8] {
    let bytes = bytes.unwrap_or_default();
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// Where the line starting `rest` ends: past its break (`\n`, `\r\n` or a lone `\r`, as a
/// row ends), or at the end of `rest`.
fn past_break(rest: &[u8]) -> usize {
    match memchr::memchr2(b'\n', b'\r', rest) {
        Some(i) if rest.get(i..i + 2) == Some(b"\r\n") => i + 2,
        Some(i) => i + 1,
        None => rest.len(),
    }
}

/// The line breaks in `bytes`, counted as rows end (`\n`, `\r\n` and a lone `\r` once each):
/// a file written with lone CRs has its rows on lines of their own.
fn breaks(bytes: &[u8]) -> u64 {
    let crlf = memchr::memmem::find_iter(bytes, b"\r\n").count();
    (memchr::memchr2_iter(b'\n', b'\r', bytes).count() - crlf) as u64
}

/// The RFC 4180 field reader.
#[derive(Debug, Clone)]
struct Fields<'a> {
    text: &'a [u8],
    pos: usize,
    /// Line of `pos`.
    line: u64,
}

impl<'a> Fields<'a> {
    /// The fields of the row at `pos` and whether the row was a blank line; moves past it
    /// (past its line break; on an error, past the line the error ends on, or to the end of
    /// the text for a quoted field never closed).
    fn row(&mut self) -> Result<Row<'a>, InsightsError> {
        let start_line = self.line;
        let row_start = self.pos;
        let result = self.fields(start_line);
        let consumed = self.text.get(row_start..self.pos).unwrap_or_default();
        self.line += breaks(consumed);
        let fields = result?;
        let blank = fields.len() == 1 && fields.first().is_some_and(|f| f.is_empty());
        Ok((fields, blank))
    }

    /// [`Fields::row`]'s fields.
    fn fields(&mut self, start_line: u64) -> Result<Vec<Cow<'a, [u8]>>, InsightsError> {
        let mut fields = Vec::new();
        loop {
            let quoted = self.text.get(self.pos) == Some(&b'"');
            let field = if quoted {
                match self.quoted(start_line) {
                    Ok(field) => field,
                    Err(e) => {
                        self.pos = self.text.len();
                        return Err(e);
                    }
                }
            } else {
                let rest = self.text.get(self.pos..).unwrap_or_default();
                let len = memchr::memchr3(b',', b'\n', b'\r', rest).unwrap_or(rest.len());
                self.pos += len;
                Cow::Borrowed(rest.get(..len).unwrap_or_default())
            };
            fields.push(field);
            match self.text.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'\r') if self.text.get(self.pos + 1) == Some(&b'\n') => {
                    self.pos += 2;
                    break;
                }
                Some(b'\n' | b'\r') => {
                    self.pos += 1;
                    break;
                }
                None => break,
                // Text after a closing quote (only a quoted field stops elsewhere): the row
                // is refused, up to the end of the line it is found on.
                Some(_) => {
                    let rest = self.text.get(self.pos..).unwrap_or_default();
                    self.pos += past_break(rest);
                    return Err(InsightsError::AfterQuote {
                        line: start_line,
                        field: fields.len(),
                    });
                }
            }
        }
        Ok(fields)
    }

    /// A quoted field at `pos`; `""` inside it is one quote.
    fn quoted(&mut self, line: u64) -> Result<Cow<'a, [u8]>, InsightsError> {
        let body_start = self.pos + 1;
        let mut at = body_start;
        let mut owned: Option<Vec<u8>> = None;
        loop {
            let rest = self.text.get(at..).unwrap_or_default();
            let quote = memchr::memchr(b'"', rest).ok_or(InsightsError::Unterminated { line })?;
            let run = rest.get(..quote).unwrap_or_default();
            if self.text.get(at + quote + 1) == Some(&b'"') {
                let buf = owned.get_or_insert_with(|| {
                    self.text.get(body_start..at).unwrap_or_default().to_vec()
                });
                buf.extend_from_slice(run);
                buf.push(b'"');
                at += quote + 2;
                continue;
            }
            self.pos = at + quote + 1;
            return Ok(match owned {
                Some(mut buf) => {
                    buf.extend_from_slice(run);
                    Cow::Owned(buf)
                }
                None => Cow::Borrowed(self.text.get(body_start..at + quote).unwrap_or_default()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIT: &str = r#"20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT "x", 1',0"#;

    #[test]
    fn insights_download_is_read_with_its_provenance() {
        let text = format!(
            "@timestamp,@message,@logStream,@log\r\n\
             2024-05-01 12:00:00.123,\"{}\",db1,123456789012:/aws/rds/instance/db1/audit\r\n\
             \r\n\
             2024-05-01 12:00:01.000,plain,db1,g\n",
            AUDIT.replace('"', "\"\"")
        );
        assert!(looks_like_insights_csv(text.as_bytes()));
        let rows: Vec<_> = rows(text.as_bytes())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].message, AUDIT.as_bytes());
        assert_eq!(rows[0].time_us, Some(1_714_564_800_123_000));
        assert_eq!(rows[0].log_stream.as_deref(), Some(&b"db1"[..]));
        assert_eq!(
            rows[0].log_group.as_deref(),
            Some(&b"/aws/rds/instance/db1/audit"[..])
        );
        assert_eq!(rows[1].line_number, 4);
        assert_eq!(rows[1].message, &b"plain"[..]);
    }

    #[test]
    fn broken_rows_name_their_line_and_keep_their_bytes() {
        let text = b"@timestamp,@message\n2024-05-01 12:00:00.123\nyesterday,x\r\n2024-05-01 12:00:00.123,\"open\n";
        let got: Vec<_> = rows(text).unwrap().collect();
        let bad = |raw: &'static [u8], error| Err(BadRow { raw, error });
        assert_eq!(
            got,
            [
                bad(
                    b"2024-05-01 12:00:00.123",
                    InsightsError::Fields {
                        line: 2,
                        expected: 2,
                        found: 1
                    }
                ),
                bad(b"yesterday,x", InsightsError::Timestamp { line: 3 }),
                bad(
                    b"2024-05-01 12:00:00.123,\"open",
                    InsightsError::Unterminated { line: 4 }
                ),
            ]
        );
        assert_eq!(
            read_rows(b"@timestamp,@ptr\n").err(),
            Some(HeaderError::NoMessage)
        );
        assert!(!looks_like_insights_csv(AUDIT.as_bytes()));
    }

    /// What the reader used to drop silently (review of session 27): text after a closing
    /// quote, fields past the header's, a second `@message` column. Each row is refused
    /// whole, the rows around it read.
    #[test]
    fn text_after_a_quote_and_extra_fields_refuse_the_row() {
        let row = format!("2024-05-01 12:00:00.123,\"{}\"", AUDIT.replace('"', "\"\""));
        let after = format!("{row}x, \"y\"");
        let extra = format!("{row},{AUDIT}");
        let text = format!("@timestamp,@message\n{row}\n{after}\r\n{extra}\n{row}\n");
        let got: Vec<_> = rows(text.as_bytes()).unwrap().collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0].as_ref().unwrap().message, AUDIT.as_bytes());
        assert_eq!(got[0].as_ref().unwrap().raw, row.as_bytes());
        assert_eq!(
            got[1],
            Err(BadRow {
                raw: after.as_bytes(),
                error: InsightsError::AfterQuote { line: 3, field: 2 }
            })
        );
        assert_eq!(
            got[2],
            Err(BadRow {
                raw: extra.as_bytes(),
                error: InsightsError::Fields {
                    line: 4,
                    expected: 2,
                    found: 13
                }
            })
        );
        assert_eq!(got[3].as_ref().unwrap().line_number, 5);
        assert_eq!(
            got[1].as_ref().unwrap_err().error.to_string(),
            "text after the closing quote of field 2 (expected `,` or the end of the line)"
        );
        // Rows ended by lone CRs: the refused row ends at its own break, the rows after it
        // read, each on its own line (session 28: the rest of the file was one reject, every
        // row "line 1").
        let text = text.replace("\r\n", "\n").replace('\n', "\r");
        let got: Vec<_> = rows(text.as_bytes()).unwrap().collect();
        let lines: Vec<_> = got
            .iter()
            .map(|r| match r {
                Ok(row) => (row.line_number, true),
                Err(bad) => (bad.error.line(), false),
            })
            .collect();
        assert_eq!(lines, [(2, true), (3, false), (4, false), (5, true)]);
        assert_eq!(got[1].as_ref().unwrap_err().raw, after.as_bytes());
        for (header, name) in [
            ("@timestamp,@message,@message", "@message"),
            ("@message,@timestamp,@logStream,@timestamp", "@timestamp"),
            ("@log,@message,@log", "@log"),
        ] {
            let e = read_rows(format!("{header}\n").as_bytes()).err().unwrap();
            assert!(
                matches!(e, HeaderError::Twice { name: n, .. } if n == name),
                "{header}: {e:?}"
            );
        }
        assert_eq!(
            read_rows(b"@ptr,@message,x,@message\n")
                .err()
                .unwrap()
                .to_string(),
            "the header names `@message` twice (columns 2 and 4)"
        );
    }

    proptest::proptest! {
        /// The reader agrees with the `csv` crate on any message (commas, quotes, newlines,
        /// CR, whole forged audit lines).
        #[test]
        fn agrees_with_the_csv_crate(messages in proptest::collection::vec(
            proptest::prop_oneof![
                "[a-z,\"'\\n\\r 0-9]{0,20}",
                proptest::strategy::Just(format!("{AUDIT}\n{AUDIT}")),
            ], 1..6)) {
            let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
            writer.write_record(["@timestamp", "@message"]).unwrap();
            for m in &messages {
                writer.write_record(["2024-05-01 12:00:00.123", m.as_str()]).unwrap();
            }
            let text = writer.into_inner().unwrap();
            let mut reference = csv::ReaderBuilder::new().from_reader(&text[..]);
            let expected: Vec<String> = reference
                .records()
                .map(|r| r.unwrap()[1].to_owned())
                .collect();
            let got: Vec<String> = rows(&text)
                .unwrap()
                .map(|r| String::from_utf8(r.unwrap().message.into_owned()).unwrap())
                .collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }
}
