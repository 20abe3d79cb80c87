//! The line scanner: one audit line in, borrowed fields out, in one pass.
//!
//! A line has ten comma-separated fields (more on RDS for MySQL):
//!
//! ```text
//! 20240323 13:36:08,ip-172-17-4-137,rdsadmin,localhost,4,149868,QUERY,,'SELECT \'a,b\'',0,,
//! └ timestamp ─────┘└ serverhost ──┘└ user ┘└ host ──┘│└ qid ┘└ op ┘│└ object ────────┘│└ extra
//!                                       connection id ┘     database ┘          retcode ┘
//! ```
//!
//! Counting commas is wrong twice over: the object (SQL text) holds commas and escaped quotes,
//! and the plugin writes user, host, database and table names raw, so they may hold commas,
//! quotes or newlines too. The scanner anchors on structure instead:
//!
//! 1. the timestamp has a fixed shape (`YYYYMMDD HH:MM:SS,` or epoch microseconds);
//! 2. the server host runs to the next comma (host names hold no commas);
//! 3. user and host end at the first `,<digits>,<digits>,<OPERATION>,` after them; the host is
//!    what follows the last comma before it (a host holds no comma, a user may);
//! 4. the database ends at the first comma after which the rest parses as an object, a numeric
//!    (or, for TABLE events, empty) return code and optional extra fields;
//! 5. a quoted object ends at the first `'` not preceded by an escaping `\` and followed by `,`
//!    or the end of the line; `\x` is one unit. Found with `memchr2`, so a statement is crossed
//!    at memory speed.
//!
//! ```
//! use rdsaudit::audit::scanner::parse_line;
//!
//! let line = br"20240323 13:36:08,ip-172-17-4-137,rdsadmin,localhost,4,149868,QUERY,,'SELECT \'a,b\'',0,,";
//! let event = parse_line(line)?;
//! assert_eq!(event.username, "rdsadmin");
//! assert_eq!(event.object.text(), "SELECT 'a,b'");
//! assert_eq!(event.extra.fields().count(), 2);
//! assert_eq!(event.timestamp.dialect, rdsaudit::Dialect::RdsMySql);
//! # Ok::<(), rdsaudit::LineError>(())
//! ```
//!
//! [`super::reference::split`] is the obviously-correct byte-at-a-time twin of the object scan; the
//! property tests check one against the other.

use std::borrow::Cow;

use crate::audit::event::{AuditEvent, Dialect, Extra, Object, Operation, Provenance, Timestamp};
use crate::swar::{BLOCK, block_at, byte_mask, escaped_mask};

use super::timestamp::{self, parse_timestamp};

/// How many database/object splits are tried before a line is given up as ambiguous. Only
/// lines whose database name holds commas need more than one; the cap keeps hostile lines
/// linear.
const MAX_SPLITS: usize = 16;

/// Why a line could not be read as an audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum LineError {
    #[error("empty line")]
    Empty,
    #[error(
        "line does not start with an audit timestamp (`YYYYMMDD HH:MM:SS,` or epoch microseconds)"
    )]
    Timestamp,
    #[error("no `,<connection id>,<query id>,<OPERATION>,` after the server host, user and host")]
    Header,
    #[error(
        "the object starting at byte {start} has no closing quote followed by a comma or the end of the line"
    )]
    UnterminatedObject { start: usize },
    #[error("the QUERY object at byte {start} is not quoted")]
    UnquotedQuery { start: usize },
    #[error("no return code after the object at byte {at} (fewer than 10 fields)")]
    MissingRetcode { at: usize },
    #[error("the return code at byte {at} is not an integer")]
    Retcode { at: usize },
    /// Not from the scanner: a text line longer than the longest record a stream reads
    /// ([`crate::input::stream`]); it was skipped, its first bytes kept.
    #[error("the line is {len} bytes long, more than the longest record read")]
    TooLong { len: u64 },
}

impl LineError {
    /// The variant's name, without positions: the key reasons are counted under.
    pub fn kind(&self) -> &'static str {
        match self {
            LineError::Empty => "Empty",
            LineError::Timestamp => "Timestamp",
            LineError::Header => "Header",
            LineError::UnterminatedObject { .. } => "UnterminatedObject",
            LineError::UnquotedQuery { .. } => "UnquotedQuery",
            LineError::MissingRetcode { .. } => "MissingRetcode",
            LineError::Retcode { .. } => "Retcode",
            LineError::TooLong { .. } => "TooLong",
        }
    }
}

/// The fields of one line as borrowed slices, before any conversion. What the fast scanner
/// and [`super::reference::split`] are compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLine<'a> {
    pub timestamp: &'a [u8],
    pub serverhost: &'a [u8],
    pub username: &'a [u8],
    pub host: &'a [u8],
    pub connection_id: &'a [u8],
    pub query_id: &'a [u8],
    pub operation: &'a str,
    pub database: &'a [u8],
    pub object: &'a [u8],
    pub quoted: bool,
    pub retcode: &'a [u8],
    /// Everything after the comma that ends the return code.
    pub extra: Option<&'a [u8]>,
}

/// Parses one audit line (a trailing `\n` or `\r\n` is ignored).
pub fn parse_line(line: &[u8]) -> Result<AuditEvent<'_>, LineError> {
    let raw = scan(line)?;
    let (epoch_us, epoch_format) = parse_timestamp(raw.timestamp).ok_or(LineError::Timestamp)?;
    let dialect = match (epoch_format, raw.extra.is_some()) {
        (true, _) => Dialect::Aurora,
        (false, true) => Dialect::RdsMySql,
        (false, false) => Dialect::MariaDb,
    };
    Ok(AuditEvent {
        timestamp: Timestamp { epoch_us, dialect },
        serverhost: lossy(raw.serverhost),
        username: lossy(raw.username),
        host: lossy(raw.host),
        connection_id: parse_u64(raw.connection_id).ok_or(LineError::Header)?,
        query_id: parse_u64(raw.query_id).ok_or(LineError::Header)?,
        operation: Operation::from_token(raw.operation),
        database: lossy(raw.database),
        object: Object::new(raw.object, raw.quoted),
        retcode: parse_retcode(raw.retcode),
        extra: Extra::new(raw.extra),
        provenance: Provenance::default(),
    })
}

/// Splits one line into its raw fields (see the module docs for the rules).
pub fn scan(line: &[u8]) -> Result<RawLine<'_>, LineError> {
    let line = trim_newline(line);
    if line.is_empty() {
        return Err(LineError::Empty);
    }
    let ts_len = timestamp::shape_len(line).ok_or(LineError::Timestamp)?;
    let (timestamp, rest) = split_at_comma(line, ts_len).ok_or(LineError::Timestamp)?;
    let host_end = memchr::memchr(b',', rest).ok_or(LineError::Header)?;
    let (serverhost, rest) = split_at_comma(rest, host_end).ok_or(LineError::Header)?;
    let header = find_header(rest).ok_or(LineError::Header)?;
    let tail_offset = line.len() - header.tail.len();
    let tail = scan_tail(header.operation, header.tail, tail_offset)?;
    Ok(RawLine {
        timestamp,
        serverhost,
        username: header.username,
        host: header.host,
        connection_id: header.connection_id,
        query_id: header.query_id,
        operation: header.operation,
        database: tail.database,
        object: tail.object,
        quoted: tail.quoted,
        retcode: tail.retcode,
        extra: tail.extra,
    })
}

/// Whether `s` starts with an audit timestamp followed by a comma: how a record starts.
pub fn starts_with_timestamp(s: &[u8]) -> bool {
    timestamp::shape_len(s).is_some()
}

pub(crate) fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `(s[..at], s[at + 1..])`, where `s[at]` is the comma between them.
fn split_at_comma(s: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// The field as text; borrowed unless it holds invalid UTF-8. `from_utf8` first: the lossy
/// conversion walks its input in chunks and costs several times more on valid text.
fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Digits only, at most 20 of them: ids are unsigned 64-bit counters.
fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        let digit = c.checked_sub(b'0').filter(|d| *d < 10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// An integer, or nothing where `empty_ok` (upstream TABLE events end with an empty one).
fn is_retcode(b: &[u8], empty_ok: bool) -> bool {
    if b.is_empty() {
        return empty_ok;
    }
    parse_retcode(b).is_some()
}

fn parse_retcode(b: &[u8]) -> Option<i64> {
    let (negative, digits) = match b.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, b),
    };
    if digits.len() > 18 {
        return None;
    }
    let magnitude = i64::try_from(parse_u64(digits)?).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

struct Header<'a> {
    username: &'a [u8],
    host: &'a [u8],
    connection_id: &'a [u8],
    query_id: &'a [u8],
    operation: &'a str,
    /// What follows `OPERATION,`.
    tail: &'a [u8],
}

/// Finds `user,host` followed by `,<digits>,<digits>,<OPERATION>,` in `rest`.
fn find_header(rest: &[u8]) -> Option<Header<'_>> {
    // The first comma separates user from host at the earliest, so the anchor comes later.
    let first = memchr::memchr(b',', rest)?;
    for comma in memchr::memchr_iter(b',', rest.get(first + 1..)?).map(|c| c + first + 1) {
        let (user_host, after) = split_at_comma(rest, comma)?;
        if let Some((connection_id, query_id, operation, tail)) = anchor(after) {
            let sep = memchr::memrchr(b',', user_host)?;
            let (username, host) = split_at_comma(user_host, sep)?;
            return Some(Header {
                username,
                host,
                connection_id,
                query_id,
                operation,
                tail,
            });
        }
    }
    None
}

type Anchor<'a> = (&'a [u8], &'a [u8], &'a str, &'a [u8]);

/// Matches `<digits>,<digits>,<OPERATION>,` at the start of `s`.
fn anchor(s: &[u8]) -> Option<Anchor<'_>> {
    let (connection_id, s) = token(s, 20, |b| b.is_ascii_digit())?;
    let (query_id, s) = token(s, 20, |b| b.is_ascii_digit())?;
    let (operation, s) = token(s, 32, |b| b.is_ascii_uppercase() || b == b'_')?;
    Some((
        connection_id,
        query_id,
        std::str::from_utf8(operation).ok()?,
        s,
    ))
}

/// A non-empty run of at most `max` bytes matching `class`, then a comma.
fn token(s: &[u8], max: usize, class: impl Fn(u8) -> bool) -> Option<(&[u8], &[u8])> {
    let n = s.iter().take(max + 1).take_while(|&&b| class(b)).count();
    if n == 0 || n > max || s.get(n) != Some(&b',') {
        return None;
    }
    split_at_comma(s, n)
}

struct Tail<'a> {
    database: &'a [u8],
    object: &'a [u8],
    quoted: bool,
    retcode: &'a [u8],
    extra: Option<&'a [u8]>,
}

/// Whether the object may be held between quotes, for an operation.
fn may_be_quoted(op: &Operation<'_>) -> bool {
    !(op.is_table() || op.is_connection())
}

/// Splits `database,object,retcode[,extra]`. `offset` is where `tail` starts in the line, for
/// error positions.
///
/// The database ends at the first comma after which the rest parses *cleanly* (no stray
/// unescaped quote inside a quoted object); failing that, at the first where it parses at all.
fn scan_tail<'a>(operation: &str, tail: &'a [u8], offset: usize) -> Result<Tail<'a>, LineError> {
    let op = Operation::from_token(operation);
    let mut first_error = None;
    let mut fallback = None;
    for db_end in memchr::memchr_iter(b',', tail).take(MAX_SPLITS) {
        let Some((database, after)) = split_at_comma(tail, db_end) else {
            break;
        };
        let at = offset + db_end + 1;
        match scan_object(&op, after, at) {
            Ok((obj, clean)) => {
                let found = Tail {
                    database,
                    object: obj.object,
                    quoted: obj.quoted,
                    retcode: obj.retcode,
                    extra: obj.extra,
                };
                if clean {
                    return Ok(found);
                }
                fallback.get_or_insert(found);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    fallback.ok_or(first_error.unwrap_or(LineError::MissingRetcode { at: offset }))
}

struct ObjectTail<'a> {
    object: &'a [u8],
    quoted: bool,
    retcode: &'a [u8],
    extra: Option<&'a [u8]>,
}

/// Reads `object,retcode[,extra]` from `s` (which starts at byte `at` of the line). The flag
/// is false when a quoted object had to swallow a stray unescaped quote.
fn scan_object<'a>(
    op: &Operation<'_>,
    s: &'a [u8],
    at: usize,
) -> Result<(ObjectTail<'a>, bool), LineError> {
    let quoted = may_be_quoted(op) && s.first() == Some(&b'\'');
    if !quoted {
        if *op == Operation::Query {
            return Err(LineError::UnquotedQuery { start: at });
        }
        let end = memchr::memchr(b',', s).unwrap_or(s.len());
        let (object, post) = s.split_at(end);
        let (retcode, extra) = retcode_and_extra(post, at + end, op.is_table())?;
        let tail = ObjectTail {
            object,
            quoted,
            retcode,
            extra,
        };
        return Ok((tail, true));
    }
    let body = s.get(1..).unwrap_or_default();
    let mut from = 0;
    let mut clean = true;
    // The error of the first closing candidate, the most likely intended end.
    let mut first_error = None;
    loop {
        let Some(close) = find_close(body, from) else {
            let error = first_error.unwrap_or(LineError::UnterminatedObject { start: at });
            return close_from_end(body, at)
                .map(|tail| (tail, false))
                .ok_or(error);
        };
        clean &= close.clean;
        let (object, post) = body.split_at(close.pos);
        let post = post.get(1..).unwrap_or_default();
        // A closing candidate whose return code does not parse was a quote inside the object.
        match retcode_and_extra(post, at + 2 + close.pos, false) {
            Ok((retcode, extra)) => {
                let tail = ObjectTail {
                    object,
                    quoted,
                    retcode,
                    extra,
                };
                return Ok((tail, clean));
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        clean = false;
        from = close.pos + 1;
    }
}

/// How many quotes from the end [`close_from_end`] tries.
const MAX_CLOSES_FROM_END: usize = 4;

/// The last resort for a quoted object with no closing quote by the escaping rules: the
/// plugin copies a masked password's tail without escaping it, so
/// `ALTER USER u IDENTIFIED BY \` is logged as `'ALTER USER u IDENTIFIED BY \',1064`, whose
/// closing quote looks escaped. Take the last quote followed by a valid return code.
fn close_from_end(body: &[u8], at: usize) -> Option<ObjectTail<'_>> {
    memchr::memrchr_iter(b'\'', body)
        .take(MAX_CLOSES_FROM_END)
        .find_map(|pos| {
            let post = body.get(pos + 1..)?;
            let (retcode, extra) = retcode_and_extra(post, at + 2 + pos, false).ok()?;
            Some(ObjectTail {
                object: body.get(..pos)?,
                quoted: true,
                retcode,
                extra,
            })
        })
}

/// `post` is what follows the object: `,retcode` then optionally `,extra...`.
type RetcodeExtra<'a> = (&'a [u8], Option<&'a [u8]>);

fn retcode_and_extra(
    post: &[u8],
    at: usize,
    empty_ok: bool,
) -> Result<RetcodeExtra<'_>, LineError> {
    let rest = post
        .strip_prefix(b",")
        .ok_or(LineError::MissingRetcode { at })?;
    let (retcode, extra) = match memchr::memchr(b',', rest) {
        Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i + 1..)),
        None => (rest, None),
    };
    if !is_retcode(retcode, empty_ok) {
        return Err(LineError::Retcode { at: at + 1 });
    }
    Ok((retcode, extra))
}

struct Close {
    /// Index of the closing quote in the body.
    pos: usize,
    /// False when an unescaped quote not followed by a comma was skipped on the way.
    clean: bool,
}

/// Finds the first unescaped `'` at or after `from` that is followed by `,` or the end.
///
/// Works on 64-byte blocks: one bit mask of quotes and one of backslashes per block, and the
/// escaped bytes from the backslash mask with carry arithmetic (simdjson's trick), so the
/// cost does not grow with the number of escapes. Statements are dense with `\'` (every
/// string literal has two), and a `memchr2` call per escape spent more time starting than
/// searching.
fn find_close(body: &[u8], from: usize) -> Option<Close> {
    let mut clean = true;
    // Whether the first byte of the next block is escaped by a backslash ending this one.
    let mut carry = 0u64;
    let mut base = from;
    while base < body.len() {
        let block = block_at(body, base);
        let escaped = escaped_mask(byte_mask(&block, b'\\'), &mut carry);
        let mut quotes = byte_mask(&block, b'\'') & !escaped;
        while quotes != 0 {
            let pos = base + quotes.trailing_zeros() as usize;
            match body.get(pos + 1) {
                None | Some(b',') => return Some(Close { pos, clean }),
                Some(_) => clean = false,
            }
            quotes &= quotes - 1;
        }
        base += BLOCK;
    }
    None
}

#[cfg(test)]
mod tests;
