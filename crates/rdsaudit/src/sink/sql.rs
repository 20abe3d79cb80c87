//! SQL: each QUERY event's statement on one line, ending in `;`, for reading a session or
//! replaying it with the `mysql` client. Other operations are not written.
//!
//! A statement is put on one line without changing what it means to MySQL (default
//! `sql_mode`; with `NO_BACKSLASH_ESCAPES` or `ANSI_QUOTES` strings are read differently):
//! line breaks between tokens become spaces, line breaks inside a string literal become the
//! `\n` / `\r` escapes (the same value), and a `-- ` or `#` comment, which would otherwise run
//! to the end of the line and swallow the rest of the statement (`DELETE FROM t -- note` +
//! newline + `WHERE id<10` flattened is an unscoped DELETE), becomes a `/* */` comment (a `*/`
//! inside it broken up as `* /`; dropped inside a `/*! */` executable comment, which cannot
//! hold one). A statement that cannot be written so, because it ends inside a string, a
//! quoted identifier or a comment (what a statement cut at `server_audit_query_log_limit`
//! looks like: its `;` would fall inside the string and the next statement would join it) or
//! has a line break inside a back-quoted identifier, is written as a `-- rdsaudit:` comment
//! line that says why, with its text (line breaks as `\n`): read, never run.
//!
//! A statement that came through CloudWatch Logs ends with `-- event_id=<id>` after its `;`,
//! so a file of statements delivered twice (Kinesis delivers at least once) can be
//! de-duplicated line by line (`sort -u`, `awk '!seen[$0]++'`).
//!
//! ```
//! let event = rdsaudit::parse_line(br"20240323 13:36:09,ip-172-17-4-137,app,10.0.0.5,4,149869,QUERY,shop,'DELETE FROM t -- old rows\nWHERE id<10',0,,")?;
//! let mut out = Vec::new();
//! assert!(rdsaudit::sink::sql::write(&event, &mut out));
//! assert_eq!(out, b"DELETE FROM t /* old rows */ WHERE id<10;\n");
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

use crate::audit::event::{AuditEvent, Operation};

/// Appends a QUERY's statement and `;\n` to `out` (see the module docs). Returns whether
/// anything was written.
pub fn write(e: &AuditEvent<'_>, out: &mut Vec<u8>) -> bool {
    if e.operation != Operation::Query {
        return false;
    }
    let text = e.object.text();
    let statement = text.trim();
    if statement.is_empty() {
        return false;
    }
    let start = out.len();
    match one_line(statement.as_bytes(), out) {
        Ok(()) => {
            if !out.ends_with(b";") {
                out.push(b';');
            }
        }
        Err(why) => {
            out.truncate(start);
            out.extend_from_slice(format!("-- rdsaudit: not written as SQL, {why}: ").as_bytes());
            for b in statement.bytes() {
                match b {
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
    }
    if let Some(id) = e.provenance.event_id.filter(|id| is_plain_id(id)) {
        out.extend_from_slice(b" -- event_id=");
        out.extend_from_slice(id.as_bytes());
    }
    out.push(b'\n');
    true
}

/// CloudWatch event ids are digits; anything else (a hand-made envelope) is left out rather
/// than written into a comment.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a statement cannot be put on one line without changing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Unwritable {
    /// It ends inside a string literal (a statement cut at the plugin's length limit).
    #[error("it ends inside a string")]
    OpenString,
    /// It ends inside a back-quoted identifier.
    #[error("it ends inside a quoted identifier")]
    OpenIdentifier,
    /// It ends inside a `/* */` comment.
    #[error("it ends inside a comment")]
    OpenComment,
    /// A back-quoted identifier holds a line break, which no escape can write.
    #[error("a quoted identifier holds a line break")]
    BreakInIdentifier,
}

/// Appends `sql` to `out` on one line, meaning the same to MySQL (default `sql_mode`):
/// line breaks between tokens become spaces, line breaks inside strings become `\n` / `\r`
/// escapes, and `-- ` / `#` comments become `/* */` comments (dropped inside a `/*! */`
/// executable comment, which cannot nest one). On error `out` holds a partial line.
fn one_line(sql: &[u8], out: &mut Vec<u8>) -> Result<(), Unwritable> {
    let mut i = 0;
    let mut executable = false;
    while let Some(&b) = sql.get(i) {
        let next = sql.get(i + 1).copied();
        i = match b {
            b'\'' | b'"' => string(sql, i, out)?,
            b'`' => identifier(sql, i, out)?,
            b'#' => line_comment(sql, i + 1, executable, out),
            b'-' if next == Some(b'-') && starts_dash_comment(sql.get(i + 2).copied()) => {
                line_comment(sql, i + 2, executable, out)
            }
            b'/' if next == Some(b'*') && !executable && is_executable(sql, i + 2) => {
                executable = true;
                out.extend_from_slice(b"/*");
                i + 2
            }
            b'/' if next == Some(b'*') => block_comment(sql, i, out)?,
            b'*' if next == Some(b'/') && executable => {
                executable = false;
                out.extend_from_slice(b"*/");
                i + 2
            }
            b'\n' | b'\r' => {
                out.push(b' ');
                i + 1
            }
            _ => {
                out.push(b);
                i + 1
            }
        };
    }
    if executable {
        return Err(Unwritable::OpenComment);
    }
    Ok(())
}

/// MySQL: `--` starts a comment only when followed by whitespace, a control character or
/// the end of the statement (`1--1` is one minus minus one).
fn starts_dash_comment(after: Option<u8>) -> bool {
    after.is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control())
}

/// `/*!` (MySQL) and `/*M!` (MariaDB) comments hold code the server runs.
fn is_executable(sql: &[u8], body: usize) -> bool {
    let rest = sql.get(body..).unwrap_or_default();
    rest.starts_with(b"!") || rest.starts_with(b"M!")
}

/// Copies the string literal starting at `start` (a quote), line breaks escaped; returns
/// the index after its closing quote.
fn string(sql: &[u8], start: usize, out: &mut Vec<u8>) -> Result<usize, Unwritable> {
    let quote = sql.get(start).copied().unwrap_or(b'\'');
    out.push(quote);
    let mut i = start + 1;
    while let Some(&b) = sql.get(i) {
        match b {
            b'\\' => {
                out.push(b'\\');
                let Some(&escaped) = sql.get(i + 1) else {
                    break;
                };
                push_escaped(escaped, out);
                i += 2;
            }
            b if b == quote && sql.get(i + 1) == Some(&quote) => {
                out.extend_from_slice(&[quote, quote]);
                i += 2;
            }
            b if b == quote => {
                out.push(quote);
                return Ok(i + 1);
            }
            b'\n' | b'\r' => {
                out.push(b'\\');
                push_escaped(b, out);
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Err(Unwritable::OpenString)
}

/// The byte after a backslash: a raw line break becomes its escape letter (same value).
fn push_escaped(b: u8, out: &mut Vec<u8>) {
    out.push(match b {
        b'\n' => b'n',
        b'\r' => b'r',
        other => other,
    });
}

/// Copies the back-quoted identifier starting at `start`; returns the index after it.
fn identifier(sql: &[u8], start: usize, out: &mut Vec<u8>) -> Result<usize, Unwritable> {
    out.push(b'`');
    let mut i = start + 1;
    while let Some(&b) = sql.get(i) {
        match b {
            b'`' if sql.get(i + 1) == Some(&b'`') => {
                out.extend_from_slice(b"``");
                i += 2;
            }
            b'`' => {
                out.push(b'`');
                return Ok(i + 1);
            }
            b'\n' | b'\r' => return Err(Unwritable::BreakInIdentifier),
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Err(Unwritable::OpenIdentifier)
}

/// A `--` or `#` comment whose text starts at `body`, written as `/* text */` (with `*/`
/// inside broken up), or dropped inside an executable comment. Returns the index of the
/// line break that ends it (it becomes a space), or the end.
fn line_comment(sql: &[u8], body: usize, executable: bool, out: &mut Vec<u8>) -> usize {
    let rest = sql.get(body..).unwrap_or_default();
    let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    if executable {
        out.push(b' ');
        return body + end;
    }
    let text = rest.get(..end).unwrap_or_default().trim_ascii();
    out.extend_from_slice(b"/* ");
    for (k, &b) in text.iter().enumerate() {
        match b {
            b'\r' => out.push(b' '),
            b'*' if text.get(k + 1) == Some(&b'/') => out.extend_from_slice(b"* "),
            _ => out.push(b),
        }
    }
    if !text.is_empty() {
        out.push(b' ');
    }
    out.extend_from_slice(b"*/");
    body + end
}

/// Copies the `/* */` comment starting at `start`, line breaks as spaces; returns the index
/// after it.
fn block_comment(sql: &[u8], start: usize, out: &mut Vec<u8>) -> Result<usize, Unwritable> {
    let body = start + 2;
    let rest = sql.get(body..).unwrap_or_default();
    let Some(end) = memchr::memmem::find(rest, b"*/") else {
        return Err(Unwritable::OpenComment);
    };
    out.extend_from_slice(b"/*");
    out.extend(
        rest.get(..end)
            .unwrap_or_default()
            .iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    out.extend_from_slice(b"*/");
    Ok(body + end + 2)
}

#[cfg(test)]
mod tests;
