//! The line scanner: one audit line in, borrowed fields out, every reading of it counted.
//!
//! A line has ten comma-separated fields (more on RDS for MySQL):
//!
//! ```text
//! 20240323 13:36:08,ip-172-17-4-137,rdsadmin,localhost,4,149868,QUERY,,'SELECT \'a,b\'',0,,
//! └ timestamp ─────┘└ serverhost ──┘└ user ┘└ host ──┘│└ qid ┘└ op ┘│└ object ────────┘│└ extra
//!                                       connection id ┘     database ┘          retcode ┘
//! ```
//!
//! The plugin writes user, host, database and table names raw, so a name may hold commas,
//! quotes, digits, newlines and whole forged audit lines; only the object (a statement) is
//! escaped. So the scanner reads the line from both ends, from the structure the server
//! controls ([`super::dialect`] has the grammar):
//!
//! 1. the start: the timestamp (fixed shape) and the server host (up to the first comma);
//! 2. the end: the return code, the RDS fork's trailing fields, and for a QUERY the quoted
//!    object, whose closing quote is found from the right and whose opening quote is the last
//!    `,'` before it (an escaped object never holds `,'`: its quotes follow a backslash);
//! 3. in between: every anchor `,<host>,<connection id>,<query id>,<OPERATION>,` whose
//!    operation's tail fits the end, and for TABLE events every comma that can separate the
//!    database from the table. Each is a *split*: one reading of the line.
//!
//! One split is the event. More than one: the event is the split with the rightmost anchor
//! (the one that gives the longest user name: a client that cannot log in controls only the
//! user name, so its forgeries are anchors to the left), flagged ambiguous, every split
//! counted and the others listed by [`crate::audit::event::Ambiguity::alternatives`]. A raw
//! line break followed by a record start inside a record, or a record whose first line reads
//! as a record on its own, is ambiguous the same way ([`parse_line`]).
//!
//! Counting is linear: anchors are found with one pass over the names (and, where a TABLE
//! tail could start inside a statement, one block-mask search over it), and the splits of
//! a TABLE anchor are counted from running comma counts, never enumerated.
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
//! assert!(!event.ambiguity.is_ambiguous());
//!
//! // A failed login whose user name forges a statement stays a failed login.
//! let forged = b"20240323 13:36:08,db1,x,h,1,2,QUERY,db,'GRANT ALL ON *.* TO evil',0,10.0.0.9,5,0,FAILED_CONNECT,,,1045";
//! let event = parse_line(forged)?;
//! assert_eq!(event.operation, rdsaudit::Operation::FailedConnect);
//! assert_eq!(event.username, "x,h,1,2,QUERY,db,'GRANT ALL ON *.* TO evil',0");
//! assert!(!event.ambiguity.is_ambiguous());
//! # Ok::<(), rdsaudit::LineError>(())
//! ```
//!
//! [`super::reference`] is the exhaustive byte-at-a-time twin; the property tests check the
//! two agree on every split.

use std::ops::ControlFlow;

use crate::audit::dialect::{self, Dialect};
use crate::audit::event::{Ambiguity, AuditEvent};
use crate::swar::find2;

mod anchors;
mod counting;
mod end;
mod readings;
mod start;

use anchors::*;
use counting::*;
use end::*;
use readings::*;
use start::*;

/// Why a line could not be read as an audit record. Positions are byte offsets in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Nothing but a line break.
    #[error("empty line")]
    Empty,
    /// The line does not start with a timestamp of a known form.
    #[error(
        "line does not start with an audit timestamp (`YYYYMMDD HH:MM:SS,`, epoch microseconds or an ISO 8601 date-time)"
    )]
    Timestamp,
    /// An epoch timestamp that is not 16 digits: 10 are seconds, 13 milliseconds.
    #[error(
        "the epoch timestamp has {digits} digits: Aurora writes microseconds (16 digits); 10 digits are seconds, 13 milliseconds"
    )]
    EpochWidth {
        /// How many digits the timestamp has.
        digits: usize,
    },
    /// A civil time that does not exist or lies past 9999-12-31T23:59:59 (RFC 3339 years have
    /// four digits).
    #[error("the timestamp is not a valid date and time up to 9999-12-31T23:59:59")]
    TimestampRange,
    /// No `,<host>,<connection id>,<query id>,<OPERATION>,` with a known operation whose tail
    /// fits the end of the line.
    #[error(
        "no `,<host>,<connection id>,<query id>,<OPERATION>,` after the server host whose operation fits the end of the line"
    )]
    Header,
    /// A QUERY object that opens but has no closing quote before the return code.
    #[error("the object starting at byte {start} has no closing quote followed by the return code")]
    UnterminatedObject {
        /// The opening quote.
        start: usize,
    },
    /// An unescaped quote inside a QUERY object: the plugin escapes every quote it writes.
    #[error("unescaped quote at byte {at} inside the QUERY object")]
    StrayQuote {
        /// The stray quote.
        at: usize,
    },
    /// A QUERY whose object is not quoted.
    #[error("the QUERY object at byte {start} is not quoted")]
    UnquotedQuery {
        /// Where the object starts.
        start: usize,
    },
    /// The line ends with the object.
    #[error("no return code after the object at byte {at} (fewer than 10 fields)")]
    MissingRetcode {
        /// The end of the object.
        at: usize,
    },
    /// The line does not end with a return code of the operation's dialect: the field at `at`
    /// is neither the return code nor a trailing field the dialect writes after it.
    #[error(
        "the field at byte {at} is not a return code (an integer, or empty for TABLE events) nor a trailing field of the dialect (RDS for MySQL: `,,` after a QUERY's, a connection type after a connection's)"
    )]
    Retcode {
        /// Where the return code starts.
        at: usize,
    },
    /// A connection id past `u64::MAX`.
    #[error("the connection_id at byte {at} does not fit an unsigned 64-bit integer")]
    ConnectionIdRange {
        /// Where the connection id starts.
        at: usize,
    },
    /// A query id past `u64::MAX`.
    #[error("the query_id at byte {at} does not fit an unsigned 64-bit integer")]
    QueryIdRange {
        /// Where the query id starts.
        at: usize,
    },
    /// A return code outside the signed 64-bit range.
    #[error("the retcode at byte {at} does not fit a signed 64-bit integer")]
    RetcodeRange {
        /// Where the return code starts.
        at: usize,
    },
    /// Not from the scanner: a record longer than the longest record a stream reads
    /// ([`crate::input::stream`]); it was not parsed, its first bytes kept.
    #[error("the record is {len} bytes long, more than the longest record read")]
    TooLong {
        /// Its length in bytes (at least; the rest was not read).
        len: u64,
    },
    /// A record that RDS cut at a `download-db-log-file-portion` page end: the marker
    /// `[Your log message was truncated]` follows it (or ends it). Never read as if whole.
    #[error(
        "the record was truncated by RDS at a download-db-log-file-portion page end (`[Your log message was truncated]` follows it)"
    )]
    Truncated,
    /// RDS's page-end marker line itself, `[Your log message was truncated]`.
    #[error(
        "RDS's page-end marker `[Your log message was truncated]`: the record before it is cut, the page after it may start mid-record"
    )]
    TruncationMarker,
    /// Not from the scanner: a log event that could not be read out of its shape (a Logs
    /// Insights CSV row, an event of the logs API's JSON); the line reported is its bytes as
    /// read.
    #[error("{0}")]
    LogEvent(crate::input::log_event::EventError),
}

impl LineError {
    /// The variant's name, without positions: the key reasons are counted under.
    pub fn kind(&self) -> &'static str {
        match self {
            LineError::Empty => "Empty",
            LineError::Timestamp => "Timestamp",
            LineError::EpochWidth { .. } => "EpochWidth",
            LineError::TimestampRange => "TimestampRange",
            LineError::Header => "Header",
            LineError::UnterminatedObject { .. } => "UnterminatedObject",
            LineError::StrayQuote { .. } => "StrayQuote",
            LineError::UnquotedQuery { .. } => "UnquotedQuery",
            LineError::MissingRetcode { .. } => "MissingRetcode",
            LineError::Retcode { .. } => "Retcode",
            LineError::ConnectionIdRange { .. } => "ConnectionIdRange",
            LineError::QueryIdRange { .. } => "QueryIdRange",
            LineError::RetcodeRange { .. } => "RetcodeRange",
            LineError::TooLong { .. } => "TooLong",
            LineError::Truncated => "Truncated",
            LineError::TruncationMarker => "TruncationMarker",
            LineError::LogEvent(e) => e.kind(),
        }
    }
}

/// The fields of one reading of a line as borrowed slices, before any conversion. What the
/// fast scanner and [`super::reference::splits`] are compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawLine<'a> {
    /// The timestamp field.
    pub timestamp: &'a [u8],
    /// The server host field.
    pub serverhost: &'a [u8],
    /// The user name, raw.
    pub username: &'a [u8],
    /// The client host.
    pub host: &'a [u8],
    /// The connection id's digits.
    pub connection_id: &'a [u8],
    /// The query id's digits.
    pub query_id: &'a [u8],
    /// The operation token.
    pub operation: &'a str,
    /// The database name, raw.
    pub database: &'a [u8],
    /// The object as written (between the quotes when quoted).
    pub object: &'a [u8],
    /// Whether the object was written between quotes.
    pub quoted: bool,
    /// The return code field (empty on upstream TABLE events).
    pub retcode: &'a [u8],
    /// Everything after the comma that ends the return code (RDS fork only).
    pub extra: Option<&'a [u8]>,
    /// The dialect this reading implies.
    pub dialect: Dialect,
}

/// How many alternative readings of an ambiguous line are listed at most; the rest are
/// counted ([`crate::audit::event::Ambiguity::omitted`]).
pub const MAX_ALTERNATIVES: usize = 16;

/// How many bytes of field text the listed alternatives of one line hold at most together
/// (the first is always listed): what an ambiguous line adds to the output stays bounded
/// whatever its length (a 1 MiB statement read 16 ways would otherwise write 17 MiB). The
/// rest are counted.
pub const MAX_ALTERNATIVES_BYTES: usize = 16 * 1024;

/// How many raw line breaks inside one record are examined for a record start.
pub const MAX_BREAKS: usize = 8;

/// Parses one audit record (a trailing `\n` or `\r\n` is ignored).
///
/// When the record can be read more than one way (see the module docs) the event is the
/// split with the rightmost anchor and [`AuditEvent::ambiguity`] counts the readings.
pub fn parse_line(line: &[u8]) -> Result<AuditEvent<'_>, LineError> {
    parse(trim_newline(line), Breaks::Unknown)
}

/// [`parse_line`] of one physical line that its reader cut at its first `\n` or `\r` (or
/// at the text's end): it holds no raw line break, so the searches for one
/// ([`Breaks::None`]) are skipped, two `find2` calls a line (~130 instructions). The caller's
/// cut is the proof; debug builds check it.
pub(crate) fn parse_unbroken_line(line: &[u8]) -> Result<AuditEvent<'_>, LineError> {
    parse(unbroken(line), Breaks::None)
}

/// [`parse_unbroken_line`] written into `out`, the slot its caller keeps the parse in: the
/// event is built in the slot ([`parse_then`]). An event owns nothing (its names borrow
/// from the line, [`crate::Name`]), so the old parse needs no drop: the parse is assigned
/// over it. (When names were `Cow<str>`, the old parse was emptied first and forgotten: an
/// assignment's drop of it cost 7 M instructions on `p20.log`.)
pub(crate) fn parse_unbroken_into<'a>(line: &'a [u8], out: &mut Result<AuditEvent<'a>, LineError>) {
    parse_then(unbroken(line), Breaks::None, |parsed| *out = parsed);
}

/// `line`, which its reader cut at its first `\n` or `\r`: the caller's cut is the proof
/// that it holds no break; debug builds check it.
fn unbroken(line: &[u8]) -> &[u8] {
    debug_assert!(
        find2(line, b'\n', b'\r').is_none(),
        "an unbroken line holds a break"
    );
    line
}

/// What a line's reader knows of raw line breaks in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Breaks {
    /// Nothing: the scanner searches for them where they matter.
    Unknown,
    /// The line holds none (see [`parse_unbroken_line`]): every search for one would find
    /// nothing, so none is made.
    None,
}

/// [`parse_line`] of a line without its trailing break.
///
/// The common line's event is built from [`sole_plain_split`]'s reading without a
/// [`Counted`]: returning one (~450 bytes) and reading the event from it was a copy of it per
/// line (`p20.log`: ~97 instructions a line).
fn parse(line: &[u8], breaks: Breaks) -> Result<AuditEvent<'_>, LineError> {
    parse_then(line, breaks, |parsed| parsed)
}

/// [`parse`], its answer handed to `done` on each of its three ways out: with `done` storing
/// it in a caller's slot ([`parse_unbroken_into`]) each way stores it there. Returned, the
/// parse (~250 bytes) came back through one temporary from the three ways and was copied into
/// the slot, a `memcpy` call a line (`p20.log`: 9.6 M instructions).
#[inline(always)]
fn parse_then<'a, R>(
    line: &'a [u8],
    breaks: Breaks,
    done: impl FnOnce(Result<AuditEvent<'a>, LineError>) -> R,
) -> R {
    let (frame, epoch_us) = match Frame::timed(line, breaks) {
        Ok(timed) => timed,
        Err(e) => return done(Err(e)),
    };
    let ends = Ends::new(&frame);
    if let Some((primary, numbers)) = sole_plain_split(&frame, &ends) {
        return done(Ok(event_of(
            &frame,
            &primary,
            numbers,
            epoch_us,
            Ambiguity::default(),
        )));
    }
    done(parse_counted(frame, ends, epoch_us))
}

/// [`parse`] of a line [`sole_plain_split`] does not read: every split and every piece cut
/// by a raw line break counted.
#[inline(never)]
fn parse_counted<'a>(
    frame: Frame<'a>,
    ends: Ends,
    epoch_us: i64,
) -> Result<AuditEvent<'a>, LineError> {
    frame.check_host()?;
    // Read in place: `?` would move the scan (~450 bytes) out of the `Result`, a `memcpy`.
    let counted = count_splits(frame, ends, epoch_us);
    let scan = match &counted {
        Ok(scan) => scan,
        Err(e) => return Err(*e),
    };
    let frame = &scan.frame;
    let readings = scan
        .valid
        .saturating_add(break_readings(frame, &scan.primary));
    let ambiguity = if readings > 1 {
        Ambiguity::new(frame.line, 0, readings)
    } else {
        Ambiguity::default()
    };
    Ok(event_of(
        frame,
        &scan.primary,
        scan.numbers,
        scan.epoch_us,
        ambiguity,
    ))
}

/// Flags `event`, parsed from `record[own_start..own_end]`, when the text around it reads as
/// one record with it: the line before it that may be its head (`record[..own_end]`, and the
/// head joined with the first lines of the event's record), or the next record that only
/// reads joined (`record[own_start..]`). A raw line break in a name may have cut a record
/// there. Those readings are added to the event's alternatives.
pub(crate) fn flag_cut_record<'a>(
    event: &mut AuditEvent<'a>,
    record: &'a [u8],
    own_start: usize,
    own_end: usize,
) {
    let count = |piece: &[u8]| scan_counted(piece, Breaks::Unknown).map_or(0, |c| c.valid);
    let mut added = 0u64;
    if own_start > 0 {
        let head = record.get(..own_end).unwrap_or_default();
        added = head_pieces(head, own_start)
            .map(count)
            .fold(count(head), u64::saturating_add);
    }
    if own_end < record.len() {
        added = tail_pieces(record, own_start, own_end)
            .map(count)
            .fold(added, u64::saturating_add);
    }
    if added == 0 {
        return;
    }
    let readings = event.ambiguity.readings().saturating_add(added);
    event.ambiguity = Ambiguity::around(record, own_start, own_end, readings);
}

/// The event's record joined with the text after it (`record[own_end..]`), up to each raw
/// line break there and up to the end: a next record that only reads joined, and the forged
/// or cut records in between. At most [`MAX_BREAKS`].
fn tail_pieces(record: &[u8], own_start: usize, own_end: usize) -> impl Iterator<Item = &[u8]> {
    let after = record.get(own_end + 1..).unwrap_or_default();
    memchr::memchr2_iter(b'\n', b'\r', after)
        .filter(move |&b| {
            !(after.get(b) == Some(&b'\n') && b > 0 && after.get(b - 1) == Some(&b'\r'))
        })
        .take(MAX_BREAKS)
        .map(move |b| own_end + 1 + b)
        .chain(std::iter::once(record.len()))
        .filter_map(move |end| record.get(own_start..end))
}

/// The texts before the raw line breaks of `joined` that lie inside the event's record (past
/// `own_start`): the head joined with the first lines of the event's record. At most
/// [`MAX_BREAKS`].
fn head_pieces(joined: &[u8], own_start: usize) -> impl Iterator<Item = &[u8]> {
    let own = joined.get(own_start..).unwrap_or_default();
    memchr::memchr2_iter(b'\n', b'\r', own)
        .filter(move |&b| !(own.get(b) == Some(&b'\n') && b > 0 && own.get(b - 1) == Some(&b'\r')))
        .take(MAX_BREAKS)
        .filter_map(move |b| joined.get(..own_start + b))
}

/// The primary split of one line (see [`parse_line`]), as raw fields.
pub fn scan(line: &[u8]) -> Result<RawLine<'_>, LineError> {
    let scan = scan_counted(trim_newline(line), Breaks::Unknown)?;
    Ok(raw_of(&scan.frame, &scan.primary))
}

/// Every reading of `record` but the event's own, within [`MAX_ALTERNATIVES`] and
/// [`MAX_ALTERNATIVES_BYTES`]; what [`Ambiguity::alternatives`] returns. The event was read
/// from `record[own_start..own_end]`; the readings with the text before it (see
/// [`flag_cut_record`]) and with the text after it follow its own.
pub(crate) fn alternatives(record: &[u8], own_start: usize, own_end: usize) -> Vec<AuditEvent<'_>> {
    let mut listing = Listing::default();
    let own = record.get(own_start..own_end).unwrap_or_default();
    if own_alternatives(own, &mut listing).is_break() {
        return listing.out;
    }
    let head = record.get(..own_end).unwrap_or_default();
    let heads = (own_start > 0)
        .then(|| std::iter::once(head).chain(head_pieces(head, own_start)))
        .into_iter()
        .flatten();
    let forward = (own_end < record.len())
        .then(|| tail_pieces(record, own_start, own_end))
        .into_iter()
        .flatten();
    for piece in heads.chain(forward) {
        let Ok(whole) = scan_counted(piece, Breaks::Unknown) else {
            continue;
        };
        let frame = &whole.frame;
        let flow = for_each_split(frame, &whole.ends, &mut |s| {
            listing.push(reading(frame, &s, whole.epoch_us))
        });
        if flow.is_break() {
            break;
        }
    }
    listing.out
}

/// The alternatives listed so far, within [`MAX_ALTERNATIVES`] and
/// [`MAX_ALTERNATIVES_BYTES`].
#[derive(Default)]
struct Listing<'a> {
    out: Vec<AuditEvent<'a>>,
    bytes: usize,
}

impl<'a> Listing<'a> {
    /// Lists `e` if it fits; `Break` once the listing is full.
    fn push(&mut self, e: Result<AuditEvent<'a>, LineError>) -> ControlFlow<()> {
        let Ok(e) = e else {
            return ControlFlow::Continue(());
        };
        let size = e.username.len() + e.host.len() + e.database.len() + e.object.raw().len();
        let over = self.bytes.saturating_add(size) > MAX_ALTERNATIVES_BYTES;
        if self.out.len() >= MAX_ALTERNATIVES || (over && !self.out.is_empty()) {
            return ControlFlow::Break(());
        }
        self.bytes = self.bytes.saturating_add(size);
        self.out.push(e);
        ControlFlow::Continue(())
    }
}

/// Lists the readings of `record` other than its primary one: its other splits, then those of
/// the pieces its raw line breaks cut.
fn own_alternatives<'a>(record: &'a [u8], listing: &mut Listing<'a>) -> ControlFlow<()> {
    let Ok(scan) = scan_counted(record, Breaks::Unknown) else {
        return ControlFlow::Continue(());
    };
    let frame = &scan.frame;
    for_each_split(frame, &scan.ends, &mut |s| {
        if s == scan.primary {
            return ControlFlow::Continue(());
        }
        listing.push(reading(frame, &s, scan.epoch_us))
    })?;
    for piece in break_pieces(frame, &scan.primary) {
        let Ok(sub) = scan_counted(piece, Breaks::Unknown) else {
            continue;
        };
        for_each_split(&sub.frame, &sub.ends, &mut |s| {
            listing.push(reading(&sub.frame, &s, sub.epoch_us))
        })?;
    }
    ControlFlow::Continue(())
}

/// Whether `s` starts with an audit timestamp followed by a comma: how a record starts.
pub fn starts_with_timestamp(s: &[u8]) -> bool {
    dialect::timestamp_shape(s).is_some()
}

pub(crate) fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
pub(crate) mod tests;
