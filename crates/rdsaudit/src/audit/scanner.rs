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

use std::borrow::Cow;
use std::ops::ControlFlow;

use crate::audit::dialect::{self, Dialect, OpClass, TailForm, TimestampForm};
use crate::audit::event::{Ambiguity, AuditEvent, Extra, Object, Operation, Provenance, Timestamp};
use crate::swar::{BLOCK, escaped_mask, find_pair, find_pair_after_first, find2, masks_at};

use super::timestamp::{parse_timestamp, same_day_epoch_us};

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
    /// The last field is not a return code of the operation's dialect.
    #[error("the return code at byte {at} is not an integer (or, for TABLE events, empty)")]
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

/// [`parse_unbroken_line`] written into `out`, the slot its caller keeps the parse in. The
/// old parse is dropped first, before the line is parsed (measured: 7 M instructions fewer
/// on `p20.log` than assigning the parse over the old one), and the event is built in the
/// slot ([`parse_then`]).
pub(crate) fn parse_unbroken_into<'a>(line: &'a [u8], out: &mut Result<AuditEvent<'a>, LineError>) {
    *out = Err(LineError::Empty);
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

// ---- the fixed start ----

/// A line cut at its fixed start.
struct Frame<'a> {
    line: &'a [u8],
    timestamp: &'a [u8],
    form: TimestampForm,
    serverhost: &'a [u8],
    /// Everything after the server host's comma.
    middle: &'a [u8],
    /// Where `middle` starts in `line`.
    at: usize,
    /// What the line's reader knows of raw line breaks in it.
    breaks: Breaks,
}

impl<'a> Frame<'a> {
    #[cfg(test)]
    fn new(line: &'a [u8]) -> Result<Self, LineError> {
        let frame = Frame::unchecked(line, Breaks::Unknown)?;
        frame.check_host()?;
        Ok(frame)
    }

    /// [`Frame::new`] without [`Frame::check_host`].
    fn unchecked(line: &'a [u8], breaks: Breaks) -> Result<Self, LineError> {
        if line.is_empty() {
            return Err(LineError::Empty);
        }
        let (ts_len, form) = dialect::timestamp_shape(line).ok_or(LineError::Timestamp)?;
        Frame::after_timestamp(line, ts_len, form, breaks)
    }

    /// The frame once the timestamp's shape is known: `line[..ts_len]` has `form` and a comma
    /// follows it. The server host is not checked for line breaks yet ([`Frame::check_host`]).
    fn after_timestamp(
        line: &'a [u8],
        ts_len: usize,
        form: TimestampForm,
        breaks: Breaks,
    ) -> Result<Self, LineError> {
        let after_ts = line.get(ts_len + 1..).unwrap_or_default();
        // The server host is a few dozen bytes, where `memchr`'s start (~40 instructions a
        // line) cost more than its search: `find2`'s SSE2 start is a load.
        let host_end = find2(after_ts, b',', b',').ok_or(LineError::Header)?;
        let at = ts_len + 1 + host_end + 1;
        Ok(Frame {
            line,
            timestamp: line.get(..ts_len).unwrap_or_default(),
            form,
            serverhost: after_ts.get(..host_end).unwrap_or_default(),
            middle: line.get(at..).unwrap_or_default(),
            at,
            breaks,
        })
    }

    /// A server host holding a line break is no server host ([`LineError::Header`]): the
    /// text before the break is a record's start cut short.
    ///
    /// Checked apart from the frame: [`sole_plain_split`] proves the whole text before the
    /// object free of breaks (the server host included) with one search, so only the lines
    /// it does not read need this one (a search per line, ~60 instructions, saved).
    fn check_host(&self) -> Result<(), LineError> {
        if self.breaks == Breaks::None || dialect::is_server_host(self.serverhost) {
            Ok(())
        } else {
            Err(LineError::Header)
        }
    }

    /// [`Frame::unchecked`] and the time of its timestamp, from [`LAST_CIVIL`] when the line
    /// starts with the civil timestamp read last on this thread, or with one of the same day
    /// (its time of day read alone, [`same_day_epoch_us`]: `p20.log` changes its second every
    /// five lines). A frame whose timestamp is out of range reports a bad server host first,
    /// as [`Frame::new`] before its time would.
    ///
    /// Always inlined, as [`Ends::new`] and [`sole_plain_split`]: [`parse`] and
    /// [`scan_counted`] both call them, and called, each returned its struct through memory
    /// (`p20.log`: +5.5 M instructions).
    #[inline(always)]
    fn timed(line: &'a [u8], breaks: Breaks) -> Result<(Self, i64), LineError> {
        if let (Some(head), Some((key, key_us))) = (line.first_chunk(), LAST_CIVIL.get()) {
            let epoch_us = if *head == key {
                Some(key_us)
            } else {
                let same_day = same_day_epoch_us(head, &key, key_us);
                if let Some(us) = same_day {
                    LAST_CIVIL.set(Some((*head, us)));
                }
                same_day
            };
            if let Some(epoch_us) = epoch_us {
                let frame =
                    Frame::after_timestamp(line, dialect::CIVIL_LEN, TimestampForm::Civil, breaks)?;
                return Ok((frame, epoch_us));
            }
        }
        let frame = Frame::unchecked(line, breaks)?;
        let epoch_us = match parse_timestamp(frame.timestamp, frame.form) {
            Ok(t) => t,
            Err(e) => {
                frame.check_host()?;
                return Err(e);
            }
        };
        if frame.form == TimestampForm::Civil
            && let Some(key) = line.first_chunk()
        {
            LAST_CIVIL.set(Some((*key, epoch_us)));
        }
        Ok((frame, epoch_us))
    }

    fn get(&self, span: Span) -> &'a [u8] {
        self.middle.get(span.0..span.1).unwrap_or_default()
    }
}

thread_local! {
    /// The civil timestamp read last on this thread with its comma (`YYYYMMDD HH:MM:SS,`)
    /// and its time: a log's lines come several to a second, and the shape check and the
    /// date arithmetic cost ~200 instructions a line. A pure function of those 18 bytes, so
    /// a line starting with them reads as it would without.
    static LAST_CIVIL: std::cell::Cell<Option<([u8; dialect::CIVIL_LEN + 1], i64)>> =
        const { std::cell::Cell::new(None) };
}

// ---- the fixed end ----

/// `[start, end)` in `middle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span(usize, usize);

/// The end of a QUERY line.
#[derive(Debug, Clone, Copy)]
struct QueryEnd {
    /// The comma before the opening quote: where the database ends.
    db_end: usize,
    /// The object between the quotes.
    object: Span,
    retcode: Span,
    tail: TailForm,
}

/// The end of a connection line.
#[derive(Debug, Clone, Copy)]
struct ConnectionEnd {
    db_end: usize,
    object: Span,
    retcode: Span,
    extra: Option<Span>,
    tail: TailForm,
}

/// The fixed ends that fit the line, one per operation class, or why none of a class does.
#[derive(Clone, Copy)]
struct Ends {
    query: Result<QueryEnd, NoQueryEnd>,
    connection: Option<ConnectionEnd>,
    /// The comma before a TABLE event's return code.
    table: Option<usize>,
    /// The commas of `middle`'s first block: its masks of commas and quotes are taken once,
    /// for the QUERY end's search for `,'` and for [`first_commas`] (one mask of a block
    /// fewer a line).
    first_commas: u64,
}

impl Ends {
    #[inline(always)]
    fn new(frame: &Frame<'_>) -> Self {
        let middle = frame.middle;
        let first = masks_at(middle, 0, [b',', b'\'']);
        let query = query_end(frame, first);
        // A line that ends like a QUERY ends like no connection line (a quote before the
        // return code's comma is no connection object's byte, and the fork's `,,` leaves an
        // empty last field, no connection type), so the connection end is looked for only
        // on the others (`a_query_end_is_no_connection_end` holds the grammar to it).
        let connection = match query {
            Err(NoQueryEnd::Tail) => dialect::connection_end(frame.form, middle),
            _ => None,
        };
        let connection = connection.map(|c| ConnectionEnd {
            db_end: c.object_comma,
            object: Span(c.object.start, c.object.end),
            retcode: Span(c.retcode.start, c.retcode.end),
            extra: c.extra.map(|r| Span(r.start, r.end)),
            tail: c.tail,
        });
        Ends {
            query,
            connection,
            table: dialect::table_end(frame.form, middle),
            first_commas: first[0],
        }
    }

    /// Where the database of an anchor of this class must end by, if the class fits.
    fn bound(&self, class: OpClass) -> Option<usize> {
        match class {
            OpClass::Query => self.query.as_ref().ok().map(|q| q.db_end),
            OpClass::Connection => self.connection.map(|c| c.db_end),
            // A table name is never empty: the database ends two bytes before the return
            // code's comma at the latest.
            OpClass::Table => self.table.and_then(|t| t.checked_sub(1)),
        }
    }
}

/// Why a line has no QUERY end.
#[derive(Debug, Clone, Copy)]
enum NoQueryEnd {
    /// The line does not end like a QUERY (a quote, the return code, the fork's `,,`): the
    /// error is worked out only when it is reported ([`query_end_error`]). Most such lines
    /// are connection and TABLE events, read by another class, and working it out on each
    /// (a `memmem` over the line) cost ~450 instructions a line on them.
    Tail,
    /// The line ends like a QUERY, but its statement does not open or close as one.
    Object(LineError),
}

/// The QUERY end: closing quote from the right, opening quote at the last `,'` before it,
/// no unescaped quote in between.
///
/// The opening quote is searched forwards: a candidate `,'` whose body reaches the closing
/// quote without an unescaped quote is the last `,'` (a valid body holds none, since a quote
/// after a comma is never escaped), and a candidate whose body meets an unescaped quote first
/// lies in a name, with the next candidate at or after that quote. So the statement is
/// crossed once, by the block scan, as in a line without hostile names.
///
/// `first` holds the masks of commas and quotes over `middle`'s first block, where the first
/// candidate nearly always lies.
#[inline(always)]
fn query_end(frame: &Frame<'_>, first: [u64; 2]) -> Result<QueryEnd, NoQueryEnd> {
    let middle = frame.middle;
    let at = frame.at;
    let Some((close, retcode, tail)) = dialect::query_end(frame.form, middle) else {
        return Err(NoQueryEnd::Tail);
    };
    let head = middle.get(..close).unwrap_or_default();
    let mut candidate = find_pair_after_first(head, first, b',', b'\'');
    let mut stray = None;
    while let Some(db_end) = candidate {
        let object = Span(db_end + 2, close);
        match first_stray(frame.get(object), frame.breaks) {
            None => {
                return Ok(QueryEnd {
                    db_end,
                    object,
                    retcode: Span(retcode.start, retcode.end),
                    tail,
                });
            }
            Some(q) => {
                stray = Some(object.0 + q);
                candidate = find_pair(head, db_end + 1, b',', b'\'');
            }
        }
    }
    Err(NoQueryEnd::Object(match stray {
        Some(q) if middle.get(q) == Some(&b'\'') => LineError::StrayQuote { at: at + q },
        Some(_) => LineError::UnterminatedObject { start: at + close },
        None => LineError::UnquotedQuery { start: at + close },
    }))
}

/// Why the line does not end like a QUERY.
fn query_end_error(frame: &Frame<'_>) -> LineError {
    let middle = frame.middle;
    let at = frame.at;
    if middle.ends_with(b"'") {
        return LineError::MissingRetcode {
            at: at + middle.len(),
        };
    }
    let body = middle.strip_suffix(b",,").unwrap_or(middle);
    let last = memchr::memrchr(b',', body).map_or(0, |c| c + 1);
    if !dialect::is_integer(body.get(last..).unwrap_or_default()) {
        return LineError::Retcode { at: at + last };
    }
    match memchr::memmem::find(middle, b",'") {
        Some(open) => LineError::UnterminatedObject {
            start: at + open + 1,
        },
        None => LineError::UnquotedQuery { start: at + last },
    }
}

/// The first byte in `body` that a statement as the plugin writes it never holds: a quote
/// not escaped by a backslash, or a raw line break (the plugin writes `\n` and `\r` as
/// escapes, so a raw break means the quote that seemed to open the statement lies in a
/// name, before a break that cuts a record).
///
/// The quote is searched first ([`first_unescaped_quote`]), then the breaks before it with
/// one vector `memchr2`: two more SWAR masks per block for the breaks made a 64 KB statement
/// 43% slower to scan (`split/ours-scan/64KB`), and breaks are searched only up to the
/// quote, so crossing the line stays linear over the candidates of [`query_end`].
///
/// A line known to hold no break ([`Breaks::None`]) has none in its statement: only the
/// quote is searched.
fn first_stray(body: &[u8], breaks: Breaks) -> Option<usize> {
    let quote = first_unescaped_quote(body);
    if breaks == Breaks::None {
        return quote;
    }
    let before = body.get(..quote.unwrap_or(body.len())).unwrap_or_default();
    find2(before, b'\n', b'\r').or(quote)
}

/// The first quote in `body` not escaped by a backslash.
///
/// Works on 64-byte blocks: one bit mask of quotes and one of backslashes per block, and the
/// escaped bytes from the backslash mask with carry arithmetic (simdjson's trick), so the
/// cost does not grow with the number of escapes. Statements are dense with `\'` (every
/// string literal has two), and a `memchr2` call per escape spent more time starting than
/// searching.
fn first_unescaped_quote(body: &[u8]) -> Option<usize> {
    // Whether the first byte of the next block is escaped by a backslash ending this one.
    let mut carry = 0u64;
    let mut base = 0;
    while base < body.len() {
        let [backslashes, quotes] = masks_at(body, base, [b'\\', b'\'']);
        let escaped = escaped_mask(backslashes, &mut carry);
        let quotes = quotes & !escaped;
        if quotes != 0 {
            return Some(base + quotes.trailing_zeros() as usize);
        }
        base += BLOCK;
    }
    None
}

// ---- anchors and splits ----

/// `,<host>,<connection id>,<query id>,<OPERATION>,` in `middle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Anchor {
    /// The comma between user and host.
    user_end: usize,
    host: Span,
    connection_id: Span,
    query_id: Span,
    operation: Span,
    /// What the operation token names.
    op: Operation<'static>,
    class: OpClass,
    /// Just after the operation's comma: where the database starts.
    db_start: usize,
}

/// One reading of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Split {
    anchor: Anchor,
    database: Span,
    object: Span,
    quoted: bool,
    retcode: Span,
    extra: Option<Span>,
    tail: TailForm,
}

/// The operation token at `k + 1` when `middle[k]` is a comma and a comma follows the token,
/// and what it names (only an operation some dialect logs can be an anchor's).
fn operation_at(middle: &[u8], k: usize) -> Option<(Span, Operation<'static>, OpClass)> {
    let rest = middle.get(k + 1..)?;
    let n = rest
        .iter()
        .take(15)
        .take_while(|&&b| b.is_ascii_uppercase() || b == b'_')
        .count();
    if rest.get(n) != Some(&b',') {
        return None;
    }
    let op = Operation::known(rest.get(..n)?)?;
    let class = OpClass::of(&op)?;
    Some((Span(k + 1, k + 1 + n), op, class))
}

/// [`operation_at`] when the comma after `k` is known to be at `end`: the token between
/// them, looked up whole (every known token is upper-case letters and `_`, at most 14 bytes,
/// so a token [`operation_at`] reads is one of them, and a known one ends at the next comma).
#[inline(always)]
fn operation_between(
    middle: &[u8],
    k: usize,
    end: usize,
) -> Option<(Span, Operation<'static>, OpClass)> {
    let op = Operation::known(middle.get(k + 1..end)?)?;
    let class = OpClass::of(&op)?;
    Some((Span(k + 1, end), op, class))
}

/// The digits that end just before the comma at `end`, and the comma before them.
fn digits_before(middle: &[u8], end: usize) -> Option<(Span, usize)> {
    let head = middle.get(..end)?;
    let n = head.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let comma = end.checked_sub(n + 1)?;
    (n > 0 && middle.get(comma) == Some(&b',')).then_some((Span(comma + 1, end), comma))
}

/// The anchor whose operation token follows the comma at `k`.
fn anchor_at(middle: &[u8], k: usize) -> Option<Anchor> {
    let (operation, op, class) = operation_at(middle, k)?;
    let (query_id, q) = digits_before(middle, k)?;
    let (connection_id, c) = digits_before(middle, q)?;
    let head = middle.get(..c)?;
    let n = head
        .iter()
        .rev()
        .take_while(|&&b| b != b',' && dialect::is_host_byte(b))
        .count();
    let user_end = c.checked_sub(n + 1)?;
    let host = Span(user_end + 1, c);
    if n == 0 || middle.get(user_end) != Some(&b',') {
        return None;
    }
    Some(Anchor {
        user_end,
        host,
        connection_id,
        query_id,
        operation,
        op,
        class,
        db_start: operation.1 + 1,
    })
}

/// Calls `visit` with every anchor whose class fits the line's end, left to right.
///
/// Names are walked comma by comma. Inside a QUERY's statement only a TABLE anchor can fit
/// (a QUERY or connection tail never ends inside a statement), and only when the line's last
/// field is a TABLE return code; that stretch is searched for the TABLE operations a 64-byte
/// block at a time ([`table_operations`]), so a long statement is crossed at memory speed.
fn for_each_anchor(
    middle: &[u8],
    ends: &Ends,
    visit: &mut impl FnMut(Anchor) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let fits = |a: &Anchor| ends.bound(a.class).is_some_and(|b| a.db_start <= b);
    let names_end = match (&ends.query, ends.table) {
        (Ok(q), Some(_)) => q.db_end,
        _ => [OpClass::Query, OpClass::Connection, OpClass::Table]
            .into_iter()
            .filter_map(|c| ends.bound(c))
            .max()
            .unwrap_or(0),
    };
    let names = middle.get(..names_end).unwrap_or_default();
    for k in memchr::memchr_iter(b',', names) {
        if let Some(a) = anchor_at(middle, k).filter(fits) {
            visit(a)?;
        }
    }
    if let (Ok(_), Some(t)) = (&ends.query, ends.table) {
        let statement = middle.get(names_end..t).unwrap_or_default();
        table_operations(
            statement,
            &mut |k| match anchor_at(middle, names_end + k).filter(fits) {
                Some(a) => visit(a),
                None => ControlFlow::Continue(()),
            },
        )?;
    }
    ControlFlow::Continue(())
}

/// Calls `visit` with every place in `s` where a TABLE operation `,OP,` starts (its leading
/// comma), left to right.
///
/// A TABLE token is four to six bytes, so its leading comma has another comma five to seven
/// bytes on, and an `R` one, two or five bytes on (`READ`, `WRITE`, `CREATE`, `ALTER`,
/// `DROP`, `RENAME`): one mask of commas and one of `R`s per 64-byte block (the next
/// block's for the bytes past its end) give those candidates, and only they are read as a
/// token. A SIMD multi-pattern searcher (Teddy) cost ~230 instructions a statement to start
/// (an RDS for MySQL QUERY line's statement is searched whole: its `,,` tail also fits a
/// TABLE end, as an Aurora line's integer return code does). (The comma mask alone was
/// tried: a second caller of the one-byte `masks_at` got it outlined from [`first_commas`],
/// +19 instructions a line on a plain log.)
fn table_operations(s: &[u8], visit: &mut impl FnMut(usize) -> ControlFlow<()>) -> ControlFlow<()> {
    let mut base = 0;
    let [mut commas, mut rs] = masks_at(s, 0, [b',', b'R']);
    while base < s.len() {
        let after = base + BLOCK;
        let [next_commas, next_rs] = if after < s.len() {
            masks_at(s, after, [b',', b'R'])
        } else {
            [0, 0]
        };
        // Truncated to this block's bits: what lies 1 to 7 bytes after each position.
        let both = u128::from(commas) | (u128::from(next_commas) << BLOCK);
        let closing = ((both >> 5) | (both >> 6) | (both >> 7)) as u64;
        let both = u128::from(rs) | (u128::from(next_rs) << BLOCK);
        let r = ((both >> 1) | (both >> 2) | (both >> 5)) as u64;
        let mut candidates = commas & closing & r;
        while candidates != 0 {
            let k = base + candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            if operation_at(s, k).is_some_and(|(_, _, class)| class == OpClass::Table) {
                visit(k)?;
            }
        }
        (base, commas, rs) = (after, next_commas, next_rs);
    }
    ControlFlow::Continue(())
}

/// Calls `visit` with every split, left to right (TABLE splits by database end).
fn for_each_split(
    frame: &Frame<'_>,
    ends: &Ends,
    visit: &mut impl FnMut(Split) -> ControlFlow<()>,
) -> ControlFlow<()> {
    for_each_anchor(frame.middle, ends, &mut |a| {
        splits_of(frame.middle, ends, a, visit)
    })
}

/// Calls `visit` with the splits of one anchor.
fn splits_of(
    middle: &[u8],
    ends: &Ends,
    a: Anchor,
    visit: &mut impl FnMut(Split) -> ControlFlow<()>,
) -> ControlFlow<()> {
    match a.class {
        OpClass::Query => match &ends.query {
            Ok(q) => visit(query_split(a, q, middle.len())),
            Err(_) => ControlFlow::Continue(()),
        },
        OpClass::Connection => match &ends.connection {
            Some(c) => visit(connection_split(a, c)),
            None => ControlFlow::Continue(()),
        },
        OpClass::Table => {
            let Some(t) = ends.table else {
                return ControlFlow::Continue(());
            };
            let region = middle
                .get(a.db_start..t.saturating_sub(1))
                .unwrap_or_default();
            for c in memchr::memchr_iter(b',', region) {
                visit(table_split(a, a.db_start + c, t, middle.len()))?;
            }
            ControlFlow::Continue(())
        }
    }
}

/// A QUERY anchor's one split: its database runs to the statement's opening quote.
fn query_split(a: Anchor, q: &QueryEnd, len: usize) -> Split {
    Split {
        anchor: a,
        database: Span(a.db_start, q.db_end),
        object: q.object,
        quoted: true,
        retcode: q.retcode,
        extra: extra_of(q.tail, q.retcode, len),
        tail: q.tail,
    }
}

/// A connection anchor's one split, from the line's connection end.
fn connection_split(a: Anchor, c: &ConnectionEnd) -> Split {
    Split {
        anchor: a,
        database: Span(a.db_start, c.db_end),
        object: c.object,
        quoted: false,
        retcode: c.retcode,
        extra: c.extra,
        tail: c.tail,
    }
}

/// A TABLE anchor's split whose database ends at the comma `db_end` and whose table ends at
/// the comma `t` before the return code.
fn table_split(a: Anchor, db_end: usize, t: usize, len: usize) -> Split {
    Split {
        anchor: a,
        database: Span(a.db_start, db_end),
        object: Span(db_end + 1, t),
        quoted: false,
        retcode: Span(t + 1, len),
        extra: None,
        tail: TailForm::Ten,
    }
}

/// The RDS fork's `,,` after a QUERY's return code: two empty fields.
fn extra_of(tail: TailForm, retcode: Span, len: usize) -> Option<Span> {
    (tail == TailForm::RdsFork).then_some(Span(retcode.1 + 1, len))
}

// ---- counting ----

/// A line's readings, counted.
struct Counted<'a> {
    frame: Frame<'a>,
    ends: Ends,
    epoch_us: i64,
    /// The split with the rightmost anchor: the event.
    primary: Split,
    /// Its numbers (read once: checking that they are in range parses them).
    numbers: Numbers,
    /// How many splits satisfy the grammar with every number in range.
    valid: u64,
}

/// Frames `line`, reads its timestamp, counts its splits and picks the primary one.
fn scan_counted(line: &[u8], breaks: Breaks) -> Result<Counted<'_>, LineError> {
    let (frame, epoch_us) = Frame::timed(line, breaks)?;
    let ends = Ends::new(&frame);
    // The plain path's proof covers the server host ([`Frame::check_host`]).
    if let Some((primary, numbers)) = sole_plain_split(&frame, &ends) {
        return Ok(Counted {
            frame,
            ends,
            epoch_us,
            primary,
            numbers,
            valid: 1,
        });
    }
    frame.check_host()?;
    count_splits(frame, ends, epoch_us)
}

/// Counts every split of a framed line (the general case of [`scan_counted`]).
fn count_splits<'a>(frame: Frame<'a>, ends: Ends, epoch_us: i64) -> Result<Counted<'a>, LineError> {
    let middle = frame.middle;
    let mut valid = 0u64;
    let mut primary = None;
    let mut range_error = None;
    let mut commas = CommaCounter::default();
    let _ = for_each_anchor(middle, &ends, &mut |a| {
        let n = match a.class {
            OpClass::Table => ends
                .table
                .map_or(0, |t| commas.table_splits(middle, a.db_start, t)),
            _ => 1,
        };
        if n == 0 {
            return ControlFlow::Continue(());
        }
        let retcode = split_retcode(&ends, a.class, middle.len());
        match read_numbers(&frame, &a, retcode) {
            Ok(read) => {
                valid = valid.saturating_add(n);
                if !forged_in_statement(&ends, primary.as_ref().map(|(p, _)| p), &a) {
                    primary = Some((a, read));
                }
            }
            Err(e) => range_error = Some(e),
        }
        ControlFlow::Continue(())
    });
    let Some((anchor, numbers)) = primary else {
        return Err(range_error.unwrap_or_else(|| no_split_error(&frame, &ends)));
    };
    // Its first split has the class's return code, the one the numbers were read with.
    let primary = first_split(&frame, &ends, anchor).ok_or(LineError::Header)?;
    Ok(Counted {
        frame,
        ends,
        epoch_us,
        primary,
        numbers,
        valid,
    })
}

/// The common line's one reading, when a few checks prove it is the only one; `None` sends
/// the line to the full count in [`scan_counted`] (which the property tests hold to the
/// reference twin, and this to the full count).
///
/// Read forwards, a line whose user, database and table hold no comma has its anchor at the
/// fourth comma of `middle`. The proof that no other split exists:
/// - no other anchor of the same class: every comma before the database's end is one of the
///   anchor's five, and a TABLE anchor's database and table are cut by the one comma
///   between them;
/// - no anchor of another class: the other ends do not fit the line, except a TABLE end on
///   a QUERY or connection line (its empty or Aurora return code), where no TABLE
///   operation that reads as an anchor may follow the database (the search of
///   [`for_each_anchor`]);
/// - the numbers are in range, and no raw line break stands before the object (so the
///   record has no reading cut by a line break either, see [`break_readings`]; the search
///   starts at the line's start, so it also proves the server host, [`Frame::check_host`];
///   a line whose reader cut it at its first break, [`Breaks::None`], needs no search).
#[inline(always)]
fn sole_plain_split(frame: &Frame<'_>, ends: &Ends) -> Option<(Split, Numbers)> {
    let middle = frame.middle;
    let [user_end, host_end, cid_end, op_comma, op_end, db_end] =
        first_commas(middle, ends.first_commas)?;
    // What `anchor_at(middle, op_comma)` finds when the user holds no comma, checked field
    // by field since the commas are known.
    let (operation, op, class) = operation_between(middle, op_comma, op_end)?;
    let host = Span(user_end + 1, host_end);
    let connection_id = Span(host_end + 1, cid_end);
    let query_id = Span(cid_end + 1, op_comma);
    // Read where they are checked: `parse_u64` takes digits only, and an id out of range
    // sends the line to the full count as a failed `read_numbers` did.
    let (Some(cid), Some(qid)) = (
        parse_u64_at(middle, connection_id),
        parse_u64_at(middle, query_id),
    ) else {
        return None;
    };
    if operation.1 != op_end || !dialect::is_host_at(middle, host.0, host.1) {
        return None;
    }
    let anchor = Anchor {
        user_end,
        host,
        connection_id,
        query_id,
        operation,
        op,
        class,
        db_start: op_end + 1,
    };
    let table_end = match anchor.class {
        OpClass::Query => {
            let q = ends.query.as_ref().ok()?;
            if q.db_end != db_end || ends.connection.is_some() {
                return None;
            }
            ends.table
        }
        OpClass::Connection => {
            let c = ends.connection?;
            if c.db_end != db_end || ends.query.is_ok() {
                return None;
            }
            ends.table
        }
        OpClass::Table => {
            let t = ends.table?;
            let table = middle.get(db_end + 1..t).unwrap_or_default();
            let one_cut = !table.is_empty() && !table.contains(&b',');
            if !one_cut || ends.query.is_ok() || ends.connection.is_some() {
                return None;
            }
            // The TABLE end is this anchor's own.
            None
        }
    };
    if let Some(t) = table_end {
        // A TABLE anchor needs its database to start before the return code's comma.
        let rest = middle.get(db_end..t).unwrap_or_default();
        let fits = |a: &Anchor| a.class == OpClass::Table && a.db_start < t;
        let found = table_operations(
            rest,
            &mut |k| match anchor_at(middle, db_end + k).filter(fits) {
                Some(_) => ControlFlow::Break(()),
                None => ControlFlow::Continue(()),
            },
        );
        if found.is_break() {
            return None;
        }
    }
    // The anchor's first split, built here: its database ends at the sixth comma (for a
    // TABLE anchor, the one cut checked above), and returning it from `first_split` was a
    // copy of it.
    let split = split_ending(middle, ends, anchor, db_end)?;
    let retcode = match frame.get(split.retcode) {
        [] => None,
        ret => Some(parse_i64(ret)?),
    };
    let read = Numbers {
        connection_id: cid,
        query_id: qid,
        retcode,
    };
    if frame.breaks == Breaks::Unknown && find2(names_of(frame, &split), b'\n', b'\r').is_some() {
        return None;
    }
    Some((split, read))
}

/// The split of anchor `a` whose database ends at the comma `db_end`, when [`splits_of`]
/// visits one.
///
/// Always inlined: called, its ~190-byte split came back through a temporary and was copied
/// twice on the plain path (into [`sole_plain_split`]'s answer, then into [`Counted`]), two
/// `memcpy` calls a line; inlined, both copies go (`p20.log`: -16 M instructions, -2.7%).
#[inline(always)]
fn split_ending(middle: &[u8], ends: &Ends, a: Anchor, db_end: usize) -> Option<Split> {
    match a.class {
        OpClass::Query => {
            let q = ends.query.as_ref().ok().filter(|q| q.db_end == db_end)?;
            Some(query_split(a, q, middle.len()))
        }
        OpClass::Connection => {
            let c = ends.connection.as_ref().filter(|c| c.db_end == db_end)?;
            Some(connection_split(a, c))
        }
        OpClass::Table => {
            let t = ends.table?;
            let in_region = a.db_start <= db_end && db_end < t.saturating_sub(1);
            (in_region && middle.get(db_end) == Some(&b','))
                .then(|| table_split(a, db_end, t, middle.len()))
        }
    }
}

/// Whether `a` is a TABLE anchor inside the statement of a QUERY reading already found: the
/// statement's author wrote it (any client can put `,h,1,2,READ,d,t` in a statement), so it
/// is a reading, never the event; the QUERY stays the event. (Forgeries in names lie to the
/// left of the real anchor, where the rightmost anchor wins.)
fn forged_in_statement(ends: &Ends, primary: Option<&Anchor>, a: &Anchor) -> bool {
    let query_found = primary.is_some_and(|p| p.class == OpClass::Query);
    let inside = |q: &QueryEnd| q.object.0 <= a.user_end && a.user_end < q.object.1;
    a.class == OpClass::Table && query_found && ends.query.as_ref().is_ok_and(inside)
}

/// Commas counted left to right, so that counting every TABLE anchor's splits stays linear.
#[derive(Default)]
struct CommaCounter {
    /// Position counted up to.
    pos: usize,
    /// Commas before `pos`.
    count: u64,
    /// Commas before the fixed end of the TABLE region, counted once.
    before_end: Option<u64>,
}

impl CommaCounter {
    /// Commas in `[db_start, t - 1)`: each ends a database and leaves a non-empty table.
    /// Anchors come left to right, so `db_start` never decreases; `t` is fixed per line.
    fn table_splits(&mut self, middle: &[u8], db_start: usize, t: usize) -> u64 {
        let end = t.saturating_sub(1);
        if db_start >= end {
            return 0;
        }
        let count = |s: &[u8]| memchr::memchr_iter(b',', s).count() as u64;
        if db_start > self.pos {
            self.count += count(middle.get(self.pos..db_start).unwrap_or_default());
            self.pos = db_start;
        }
        let before_end = *self
            .before_end
            .get_or_insert_with(|| count(middle.get(..end).unwrap_or_default()));
        before_end.saturating_sub(self.count)
    }
}

/// The return code span shared by every split of a class.
fn split_retcode(ends: &Ends, class: OpClass, len: usize) -> Span {
    match class {
        OpClass::Query => ends.query.as_ref().map(|q| q.retcode).unwrap_or_default(),
        OpClass::Connection => ends.connection.map(|c| c.retcode).unwrap_or_default(),
        OpClass::Table => ends.table.map(|t| Span(t + 1, len)).unwrap_or_default(),
    }
}

/// The numbers of a reading.
#[derive(Debug, Clone, Copy)]
struct Numbers {
    connection_id: u64,
    query_id: u64,
    /// `None` when the field is empty (upstream TABLE events).
    retcode: Option<i64>,
}

/// The numbers of an anchor with its class's return code, when in range: ids fit `u64`,
/// the return code fits `i64`.
fn read_numbers(frame: &Frame<'_>, a: &Anchor, retcode: Span) -> Result<Numbers, LineError> {
    let at = frame.at;
    let connection_id =
        parse_u64(frame.get(a.connection_id)).ok_or(LineError::ConnectionIdRange {
            at: at + a.connection_id.0,
        })?;
    let query_id = parse_u64(frame.get(a.query_id)).ok_or(LineError::QueryIdRange {
        at: at + a.query_id.0,
    })?;
    let retcode = match frame.get(retcode) {
        [] => None,
        ret => Some(parse_i64(ret).ok_or(LineError::RetcodeRange { at: at + retcode.0 })?),
    };
    Ok(Numbers {
        connection_id,
        query_id,
        retcode,
    })
}

/// The first split of an anchor.
fn first_split(frame: &Frame<'_>, ends: &Ends, anchor: Anchor) -> Option<Split> {
    let mut found = None;
    let _ = splits_of(frame.middle, ends, anchor, &mut |s| {
        found = Some(s);
        ControlFlow::Break(())
    });
    found
}

/// Why no split fits: the diagnosis of the rightmost anchor with a known operation.
fn no_split_error(frame: &Frame<'_>, ends: &Ends) -> LineError {
    let middle = frame.middle;
    let last = memchr::memrchr_iter(b',', middle).find_map(|k| anchor_at(middle, k));
    let Some(anchor) = last else {
        return LineError::Header;
    };
    let at = frame.at;
    let rest_at = at + anchor.db_start;
    match anchor.class {
        OpClass::Query => match ends.query {
            Err(NoQueryEnd::Tail) => query_end_error(frame),
            Err(NoQueryEnd::Object(e)) => e,
            Ok(_) => LineError::UnquotedQuery { start: rest_at },
        },
        _ => {
            let rest = middle.get(anchor.db_start..).unwrap_or_default();
            match memchr::memrchr(b',', rest) {
                Some(c) if memchr::memchr(b',', rest.get(..c).unwrap_or_default()).is_some() => {
                    LineError::Retcode {
                        at: rest_at + c + 1,
                    }
                }
                _ => LineError::MissingRetcode {
                    at: at + middle.len(),
                },
            }
        }
    }
}

/// The first six commas of `s`, found a 64-byte block at a time: names are short, and a
/// `memchr` call per comma costs more in starting than in searching. `first` is the mask of
/// the commas of `s`'s first block ([`Ends`] takes it).
#[inline(always)]
fn first_commas(s: &[u8], first: u64) -> Option<[usize; 6]> {
    let mut out = [0; 6];
    let mut n = 0;
    let mut base = 0;
    let mut mask = first;
    while base < s.len() {
        if base > 0 {
            [mask] = masks_at(s, base, [b',']);
        }
        while mask != 0 {
            *out.get_mut(n)? = base + mask.trailing_zeros() as usize;
            n += 1;
            if n == out.len() {
                return Some(out);
            }
            mask &= mask - 1;
        }
        base += BLOCK;
    }
    None
}

// ---- line breaks inside a record ----

/// The line up to a split's object: every raw name (the whole line when the object is a
/// table name). A quoted statement never holds a raw line break: the plugin escapes them.
fn names_of<'a>(frame: &Frame<'a>, split: &Split) -> &'a [u8] {
    let end = if split.quoted {
        frame.at + split.object.0
    } else {
        frame.line.len()
    };
    frame.line.get(..end).unwrap_or_default()
}

/// The pieces a raw line break inside the names cuts the record into, that may be records
/// of their own: the text before a break, and the text after a break that starts with a
/// timestamp, up to the record's end or up to a later break (a record joined over several
/// lines may hold whole records between its breaks). At most [`MAX_BREAKS`] breaks are
/// examined.
fn break_pieces<'a>(frame: &Frame<'a>, primary: &Split) -> Vec<&'a [u8]> {
    let line = frame.line;
    let names = names_of(frame, primary);
    // Each break as (where it starts, where the text after it starts); `\r\n` is one.
    let breaks: Vec<(usize, usize)> = memchr::memchr2_iter(b'\n', b'\r', names)
        .filter(|&b| !(names.get(b) == Some(&b'\n') && b > 0 && names.get(b - 1) == Some(&b'\r')))
        .take(MAX_BREAKS)
        .map(|b| {
            let crlf = line.get(b..b + 2) == Some(b"\r\n");
            (b, b + if crlf { 2 } else { 1 })
        })
        .collect();
    let mut pieces = Vec::new();
    for (i, &(b, after)) in breaks.iter().enumerate() {
        pieces.push(line.get(..b).unwrap_or_default());
        if !starts_with_timestamp(line.get(after..).unwrap_or_default()) {
            continue;
        }
        pieces.push(line.get(after..).unwrap_or_default());
        for &(later, _) in breaks.get(i + 1..).unwrap_or_default() {
            pieces.push(line.get(after..later).unwrap_or_default());
        }
    }
    pieces
}

/// How many readings the pieces cut by raw line breaks have (each read on its own).
fn break_readings(frame: &Frame<'_>, primary: &Split) -> u64 {
    break_pieces(frame, primary)
        .into_iter()
        .filter_map(|piece| scan_counted(piece, Breaks::Unknown).ok())
        .map(|c| c.valid)
        .fold(0u64, u64::saturating_add)
}

// ---- building the event ----

fn raw_of<'a>(frame: &Frame<'a>, s: &Split) -> RawLine<'a> {
    let a = &s.anchor;
    RawLine {
        timestamp: frame.timestamp,
        serverhost: frame.serverhost,
        username: frame.get(Span(0, a.user_end)),
        host: frame.get(a.host),
        connection_id: frame.get(a.connection_id),
        query_id: frame.get(a.query_id),
        operation: a.op.as_str(),
        database: frame.get(s.database),
        object: frame.get(s.object),
        quoted: s.quoted,
        retcode: frame.get(s.retcode),
        extra: s.extra.map(|e| frame.get(e)),
        dialect: Dialect::of(frame.form, s.tail),
    }
}

/// One reading of a line as an event (an alternative: no ambiguity of its own), unless its
/// numbers are out of range.
fn reading<'a>(
    frame: &Frame<'a>,
    split: &Split,
    epoch_us: i64,
) -> Result<AuditEvent<'a>, LineError> {
    let read = read_numbers(frame, &split.anchor, split.retcode)?;
    Ok(event_of(frame, split, read, epoch_us, Ambiguity::default()))
}

/// The event of a split whose numbers have been read.
///
/// Always inlined, and read from the split's fields (not from [`raw_of`]'s whole
/// [`RawLine`]): called from [`parse`], the split was first copied out of
/// [`sole_plain_split`]'s answer into memory for the call.
#[inline(always)]
fn event_of<'a>(
    frame: &Frame<'a>,
    split: &Split,
    numbers: Numbers,
    epoch_us: i64,
    ambiguity: Ambiguity<'a>,
) -> AuditEvent<'a> {
    let names = Names::of(frame, split);
    AuditEvent {
        timestamp: Timestamp {
            epoch_us,
            dialect: Dialect::of(frame.form, split.tail),
        },
        serverhost: names.text(frame.timestamp.len() + 1, frame.at - 1),
        username: names.middle(Span(0, split.anchor.user_end)),
        host: names.middle(split.anchor.host),
        connection_id: numbers.connection_id,
        query_id: numbers.query_id,
        operation: split.anchor.op,
        database: names.middle(split.database),
        object: Object::new(frame.get(split.object), split.quoted),
        retcode: numbers.retcode,
        extra: Extra::new(split.extra.map(|e| frame.get(e))),
        provenance: Provenance::default(),
        ambiguity,
    }
}

/// The line up to its object (every name), checked as UTF-8 once: a `from_utf8` call per
/// field cost more in starting than in checking (names are a few bytes each).
struct Names<'a> {
    line: &'a [u8],
    /// Where `middle` starts in `line`.
    at: usize,
    /// `line[..end]` as text, when it is valid UTF-8 (nearly always).
    text: Option<&'a str>,
}

impl<'a> Names<'a> {
    fn of(frame: &Frame<'a>, split: &Split) -> Self {
        // A statement is checked by whoever reads it; a table name is short.
        Names {
            line: frame.line,
            at: frame.at,
            text: utf8(names_of(frame, split)),
        }
    }

    /// `line[start..end]` as text: a slice of the checked text when it lies in it (a
    /// field's ends are commas, so char boundaries), else checked on its own.
    fn text(&self, start: usize, end: usize) -> Cow<'a, str> {
        match self.text.and_then(|t| t.get(start..end)) {
            Some(s) => Cow::Borrowed(s),
            None => lossy(self.line.get(start..end).unwrap_or_default()),
        }
    }

    /// A field of `middle` as text.
    fn middle(&self, span: Span) -> Cow<'a, str> {
        self.text(self.at + span.0, self.at + span.1)
    }
}

/// `b` as text when it is valid UTF-8: ASCII checked first (names nearly always are, and the
/// check of a few dozen bytes costs a quarter of a UTF-8 validator's start), else validated.
fn utf8(b: &[u8]) -> Option<&str> {
    if crate::swar::is_ascii(b) {
        // SAFETY: ASCII bytes are valid UTF-8 (each is a one-byte code point).
        return Some(unsafe { std::str::from_utf8_unchecked(b) });
    }
    simdutf8::basic::from_utf8(b).ok()
}

/// The field as text; borrowed unless it holds invalid UTF-8. `from_utf8` first: the lossy
/// conversion walks its input in chunks and costs several times more on valid text.
fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Digits only: ids are unsigned 64-bit counters.
fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    // Up to 19 digits (below 10^19 < u64::MAX) cannot overflow: the common case, read without
    // an overflow check per digit (three numbers per line, 2.7% of a plain log's run).
    if b.len() <= 19 {
        let mut n = 0u64;
        for &c in b {
            let digit = c.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            n = n * 10 + u64::from(digit);
        }
        return Some(n);
    }
    b.iter().try_fold(0u64, |acc, &c| {
        let digit = c.checked_sub(b'0').filter(|d| *d < 10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// [`parse_u64`] of `s[span]`: a number of five to eight digits with eight bytes of `s` ending
/// where it ends (a busy server's query ids) is read as one word ([`digits_in_word`], ~30
/// instructions), where the digit loop costs ~8 a digit; shorter numbers (connection ids,
/// return codes) are cheaper by the loop, longer ones need its overflow checks. Held to
/// [`parse_u64`] by `numbers_at_read_as_parse_u64`.
#[inline(always)]
fn parse_u64_at(s: &[u8], span: Span) -> Option<u64> {
    let Span(start, end) = span;
    let n = end.wrapping_sub(start);
    let word = end
        .checked_sub(8)
        .and_then(|from| s.get(from..end))
        .and_then(|w| w.first_chunk::<8>());
    match word {
        Some(word) if (5..=8).contains(&n) => digits_in_word(u64::from_le_bytes(*word), n),
        _ => parse_u64(s.get(start..end).unwrap_or_default()),
    }
}

/// The number the last `n` bytes (1 to 8) of `word` write, read little-endian (the text's
/// order), when all of them are digits: the bytes before them taken as `0`s, every byte
/// checked at once, then digits paired into tens, hundreds and ten-thousands by three
/// multiplications (no product crosses its lane: 9 * 10 + 9, 99 * 100 + 99 and
/// 9999 * 10000 + 9999 fit eight, sixteen and thirty-two bits).
#[inline(always)]
fn digits_in_word(word: u64, n: usize) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    let keep = u64::MAX << (8 * (8 - n));
    let w = (word & keep) | (ZEROS & !keep);
    // A digit is `0x30..=0x39`: high nibble 3, and still 3 with 6 added. Both nibbles of
    // each byte side by side, compared at once (a byte whose addition carries into the next
    // byte has high nibble `f`, so the line fails on it whatever the carry does).
    let nibbles = (w & HIGH) | ((w.wrapping_add(0x0606_0606_0606_0606) & HIGH) >> 4);
    if nibbles != 0x3333_3333_3333_3333 {
        return None;
    }
    let d = w - ZEROS;
    let d = (d.wrapping_mul(10) + (d >> 8)) & 0x00ff_00ff_00ff_00ff;
    let d = (d.wrapping_mul(100) + (d >> 16)) & 0x0000_ffff_0000_ffff;
    Some((d.wrapping_mul(10_000) + (d >> 32)) & 0xffff_ffff)
}

/// `-?digits` in the signed 64-bit range (`i64::MIN` included). Inlined: a call per line
/// (the return code) cost more than its few digits.
#[inline(always)]
fn parse_i64(b: &[u8]) -> Option<i64> {
    // `split_first`, not `strip_prefix`: the latter compared through an out-of-line slice
    // comparison, ~30 instructions a line.
    let (negative, digits) = match b.split_first() {
        Some((b'-', d)) => (true, d),
        _ => (false, b),
    };
    let magnitude = parse_u64(digits)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

#[cfg(test)]
pub(crate) mod tests;
