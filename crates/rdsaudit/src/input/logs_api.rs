//! `aws logs filter-log-events` and `aws logs get-log-events` output: CloudWatch Logs read
//! through its API instead of a subscription.
//!
//! ```json
//! {"events":[{"logStreamName":"db1","timestamp":1714564800123,
//!   "message":"20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0",
//!   "ingestionTime":1714564800456,"eventId":"37605431982366218745392619003296741302869208427839209472"}],
//!  "searchedLogStreams":[{"logStreamName":"db1","searchedCompletely":true}],"nextToken":"..."}
//! ```
//!
//! `get-log-events` has the same `events` without `logStreamName` and `eventId`, and
//! `nextForwardToken` / `nextBackwardToken` instead. Pages written one after another (a loop
//! over `--next-token`) are back-to-back objects, read in order. Each event needs a string
//! `message` and an integer `timestamp`; the rest is kept when present. Unknown keys are
//! ignored.
//!
//! What cannot be read is never read in part. A page whose `events` key appears twice fails
//! the whole input (which array the page meant cannot be told, and keeping either would drop
//! the other's events). A page that is not JSON (cut short, damaged) among others is one
//! failed event kept whole ([`EventProblem::Page`]): its events before the fault are read,
//! the rest of it to where the next page starts is kept, and the other pages are read; a
//! first page with no page after it is the output, refused ([`LogsApiError::Syntax`]).
//! An event that cannot be read fails
//! alone, kept as its bytes in the input ([`FailedApiEvent`]): one that is not an object,
//! lacks `message` or `timestamp` or has one of another type, has a key we read (`message`,
//! `timestamp`, `logStreamName`, `eventId`, `ingestionTime`) twice, or holds a lone
//! surrogate escape (`\ud800`, no character) anywhere in it.
//!
//! Read by the validating walk the Lambda event is read by (`input/json/walk.rs`),
//! which knows where each event lies in the text (simd-json's tape does not) and can read a
//! lone surrogate as U+FFFD and say so, where simd-json fails the whole text.

use std::ops::Range;

use crate::input::json::walk::{Kind, LoneSurrogate, Walk};
use crate::input::json::{JsonError, MAX_EVENT_VALUES, Twice, line_column, next_page_start};
use crate::input::record::PagePart;

/// One log event of the API output. Strings borrow from the parsed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLogEvent<'a> {
    /// `logStreamName` (`filter-log-events` only).
    pub log_stream: Option<&'a str>,
    /// `eventId` (`filter-log-events` only): the same id a subscription delivers.
    pub event_id: Option<&'a str>,
    /// `timestamp`: the log event's time, epoch milliseconds.
    pub timestamp: i64,
    /// `ingestionTime`: when CloudWatch Logs received it, epoch milliseconds.
    pub ingestion_time: Option<i64>,
    /// `message`: the audit line(s), JSON-unescaped.
    pub message: &'a str,
    /// Where it is in the output: its page and its index in the page's `events`.
    pub place: EventPlace,
}

/// Where an event is in API output, as users count: its page (1-based, named only when the
/// output holds several) and its 1-based index in the page's `events`. `get-log-events`
/// output has no event ids, so this is all that tells an event that does not read from the
/// others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventPlace {
    /// The page (1-based), when the output holds several pages back to back.
    pub page: Option<u32>,
    /// 1-based index in its page's `events`.
    pub index: u32,
}

impl std::fmt::Display for EventPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(page) = self.page {
            write!(f, "page {page}, ")?;
        }
        write!(f, "event {}", self.index)
    }
}

/// An event that could not be read, as it is in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedApiEvent<'a> {
    /// The event's JSON value as it is in the input, from its first byte to its last.
    pub raw: &'a [u8],
    /// Why it could not be read.
    pub error: ApiEventError,
}

/// Why an event of the API output could not be read: where it is and the problem (the
/// message is the problem; the place is told beside it, as a record's number is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{problem}")]
pub struct ApiEventError {
    /// Its page and its index in the page's `events`.
    pub place: EventPlace,
    /// What is wrong.
    pub problem: EventProblem,
}

/// What is wrong with an event ([`ApiEventError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EventProblem {
    /// The element is not an object.
    #[error("should be an object, found {found}")]
    NotAnObject {
        /// What it is.
        found: &'static str,
    },
    /// A field lacks or has the wrong type.
    #[error("`{field}` should be {expected}, found {found}")]
    Field {
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
        /// What it is (`missing` if absent).
        found: &'static str,
    },
    /// A key read appears twice: which value the server logged cannot be told.
    #[error("the key `{0}` appears twice (which value is the event's cannot be told)")]
    Twice(&'static str),
    /// A lone surrogate escape: no character, the string holding it cannot be read as text.
    #[error("lone surrogate \\u{unit:04x} at byte {offset} (no character: not text)")]
    LoneSurrogate {
        /// The escape's code unit.
        unit: u16,
        /// Where its backslash is in the input.
        offset: usize,
    },
    /// Part of a text of pages back to back that does not read (a page cut short or
    /// damaged, from just after its last event read whole; or text after a page that is no
    /// page), kept whole as this failed event; the pages around it are read. Its place is
    /// its page and the index its first event would have.
    #[error("{0}")]
    Page(PagePart),
}

/// Why API output could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogsApiError {
    /// Not usable JSON (a value cap).
    #[error(transparent)]
    Json(#[from] JsonError),
    /// Not JSON: where it goes wrong (from the start of the input, whatever page) and how.
    #[error("invalid JSON at line {line}, column {column} (byte {offset}): {msg}")]
    Syntax {
        /// Byte offset of the fault in the input (its UTF-8 byte order mark counted, if it has
        /// one; UTF-16 input: in the UTF-8 it is transcoded to).
        offset: usize,
        /// Its 1-based line.
        line: usize,
        /// Its 1-based column, in characters.
        column: usize,
        /// What is wrong there.
        msg: String,
    },
    /// A page (by its 1-based position in the input) holds more values than allowed, or the
    /// pages hold more events than the input's size allows ([`JsonError::TooManyValues`],
    /// [`JsonError::TooManyKept`]).
    #[error("page {page}: {cap}")]
    Capped {
        /// Which back-to-back object.
        page: usize,
        /// The cap.
        cap: JsonError,
    },
    /// A page (by its 1-based position in the input) has no `events` array.
    #[error("page {page}: `events` should be an array, found {found}")]
    Events {
        /// Which back-to-back object.
        page: usize,
        /// What stood there (`missing` if absent).
        found: &'static str,
    },
    /// A page names `events` twice: which array holds the page's events cannot be told, and
    /// reading either would drop the other's.
    #[error("page {page}: the key `events` appears twice (the events of one array would be lost)")]
    EventsTwice {
        /// Which back-to-back object.
        page: usize,
    },
    /// A lone surrogate escape outside the events (a key or value of the page itself).
    #[error("page {page}: lone surrogate \\u{unit:04x} at byte {offset}, outside `events`")]
    LoneSurrogate {
        /// Which back-to-back object.
        page: usize,
        /// The escape's code unit.
        unit: u16,
        /// Where its backslash is in the input.
        offset: usize,
    },
}

/// Reusable parser for API output (the walk's nesting stack kept across calls).
#[derive(Debug, Default)]
pub struct LogsApiParser {
    open: Vec<u8>,
}

/// An event as read by the walk: where it lies in the input, its page and index (1-based),
/// and its fields (ranges of the unescaped copy) or why it cannot be read.
#[derive(Debug)]
struct RawEvent {
    span: Range<usize>,
    page: u32,
    index: u32,
    read: Result<RawFields, EventProblem>,
}

/// An event's fields as ranges of the unescaped copy.
#[derive(Debug)]
struct RawFields {
    log_stream: Option<Range<usize>>,
    event_id: Option<Range<usize>>,
    timestamp: i64,
    ingestion_time: Option<i64>,
    message: Range<usize>,
}

/// The fields of an event being read.
#[derive(Debug, Default)]
struct Seen {
    log_stream: Option<Range<usize>>,
    event_id: Option<Range<usize>>,
    timestamp: Option<i64>,
    ingestion_time: Option<i64>,
    message: Option<Range<usize>>,
}

/// The keys of an event that are read, numbered for [`Twice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Message,
    Timestamp,
    LogStreamName,
    EventId,
    IngestionTime,
    Other,
}

impl Key {
    fn of(key: &[u8]) -> Self {
        match key {
            b"message" => Key::Message,
            b"timestamp" => Key::Timestamp,
            b"logStreamName" => Key::LogStreamName,
            b"eventId" => Key::EventId,
            b"ingestionTime" => Key::IngestionTime,
            _ => Key::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Key::Message => "message",
            Key::Timestamp => "timestamp",
            Key::LogStreamName => "logStreamName",
            Key::EventId => "eventId",
            Key::IngestionTime => "ingestionTime",
            Key::Other => "",
        }
    }
}

impl LogsApiParser {
    /// A parser with empty buffers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every event of every page of `text` (one or more back-to-back JSON objects), in
    /// order: each read, or failed alone and kept as its bytes in `text`. The strings are
    /// unescaped in `scratch` (a copy of `text`), so `text` is left as it is.
    ///
    /// # Errors
    /// [`LogsApiError`] for invalid JSON in a first page with no page after it, a page
    /// without an `events` array that is the only page (among others it is a failed event
    /// kept whole), a page with `events` twice, or a lone surrogate outside the events.
    pub fn parse<'a>(
        &mut self,
        text: &'a [u8],
        scratch: &'a mut Vec<u8>,
    ) -> Result<Vec<Result<ApiLogEvent<'a>, FailedApiEvent<'a>>>, LogsApiError> {
        self.parse_from(text, 0, scratch)
    }

    /// [`LogsApiParser::parse`] of JSON that starts at byte `from` of `text` (past a UTF-8
    /// byte order mark the decoder leaves in place): every offset is of `text`, the file's;
    /// a column of the first line does not count the mark (editors do not show it).
    pub(crate) fn parse_from<'a>(
        &mut self,
        text: &'a [u8],
        from: usize,
        scratch: &'a mut Vec<u8>,
    ) -> Result<Vec<Result<ApiLogEvent<'a>, FailedApiEvent<'a>>>, LogsApiError> {
        // Pages back to back, walked value after value, each held to the value cap on its own
        // and the events of all to the text's size (as the Kinesis reader's pages are:
        // [`Walk::next_page`]); a fault is found where it is, its offset of the input.
        scratch.clear();
        scratch.extend_from_slice(text);
        let mut raw = Vec::new();
        // The strings unescaped in place since the last event read whole are kept as they
        // were: a part that does not read is looked at, and the pages after it read, in the
        // text as it is in the input.
        let mut walk = Walk::new(scratch, &mut self.open, MAX_EVENT_VALUES)
            .lone_surrogates()
            .keeping_originals()
            .starting_at(from);
        let mut page = 1;
        // The first page's problem when it was kept whole by [`keep_shapeless_page`].
        let mut first_shapeless = None;
        loop {
            walk.at_object();
            let resume = walk.at();
            walk.forget_originals();
            let mut reader = Page {
                walk: &mut walk,
                page,
                out: &mut raw,
                resume,
            };
            if let Err(e) = reader.read() {
                let at = PartAt {
                    page,
                    start: resume,
                    resume: reader.resume,
                };
                match e {
                    LogsApiError::Events { found, .. }
                        if keep_shapeless_page(&mut walk, &mut raw, at, found)? =>
                    {
                        // Alone in the input, it is the output: refused, as before.
                        first_shapeless = first_shapeless.or((page == 1).then_some(e));
                    }
                    e => keep_bad_part(&mut walk, &mut raw, at, e, false)
                        .map_err(|e| located(e, text, from, page))?,
                }
            }
            walk.page_mark();
            if walk.at_end() {
                break;
            }
            if !walk.at_object() {
                // Text after the page that is no page (a stray byte between two).
                let at = PartAt {
                    page,
                    start: resume,
                    resume: walk.at(),
                };
                let Err(e) = walk.end() else { break };
                keep_bad_part(&mut walk, &mut raw, at, e.into(), true)
                    .map_err(|e| located(e, text, from, page))?;
                walk.page_mark();
                if walk.at_end() {
                    break;
                }
            }
            walk.next_page();
            page += 1;
        }
        let several = page > 1;
        if let Some(e) = first_shapeless.filter(|_| !several) {
            return Err(e);
        }
        let scratch: &'a [u8] = scratch;
        Ok(raw
            .into_iter()
            .map(|e| finish(e, several, text, scratch))
            .collect())
    }
}

/// Where a part that does not read is: its page (1-based) and where the part starts (just
/// after the page's last event read whole, or the page's start; for text after a page,
/// where that text starts).
#[derive(Debug, Clone, Copy)]
struct PartAt {
    page: usize,
    /// Where the page starts.
    start: usize,
    resume: usize,
}

/// A page that did not read (`error`, the walk's: the events it read before are kept), or
/// text after a page that is no page (`between`): kept whole as one failed event
/// ([`EventProblem::Page`]), its bytes as in the input, from the part's start to where the
/// next page starts ([`next_page_start`], the one rule of `get-records` output: an object
/// whose first key is `events`, which no string's text can be), or to the end of the input;
/// the walk goes on at the next page. As the Kinesis reader does
/// ([`crate::input::kinesis`]).
///
/// Refused (the error, for [`located`]): a first page after which no page starts (it is the
/// whole output); any error but invalid JSON (a value cap, `events` twice or missing, a lone
/// surrogate outside the events: the page's shape, not damage).
fn keep_bad_part(
    walk: &mut Walk<'_>,
    raw: &mut Vec<RawEvent>,
    at: PartAt,
    error: LogsApiError,
    between: bool,
) -> Result<(), LogsApiError> {
    let LogsApiError::Json(JsonError::Invalid { offset: fault, .. }) = error else {
        return Err(error);
    };
    // Its strings unescaped in place put back (more than the walk keeps: refused, as
    // before, rather than looked at unescaped, where a string may spell a page).
    if !walk.originals_whole() {
        return Err(error);
    }
    walk.restore_originals();
    let text = walk.text();
    // Past the page's own start, when its part starts there.
    let from = at.resume + usize::from(at.resume == at.start);
    let next = next_page_start(text, from, b"events");
    if next.is_none() && at.page == 1 && !between {
        return Err(error);
    }
    let end = next.unwrap_or(text.len());
    let span = trimmed(text, at.resume, end);
    let page = u32::try_from(at.page).unwrap_or(u32::MAX);
    // Its place: the index the page's next event would have.
    let index = raw.iter().rev().take_while(|e| e.page == page).count();
    let part = PagePart {
        page,
        offset: span.start,
        fault,
        what: walk.last_fault(),
        between,
        to_end: next.is_none(),
        events: true,
        shape: false,
    };
    walk.resume_at(end);
    walk.keep(EVENT_VALUES)?;
    raw.push(RawEvent {
        span,
        page,
        index: u32::try_from(index + 1).unwrap_or(u32::MAX),
        read: Err(EventProblem::Page(part)),
    });
    Ok(())
}

/// A page that reads as JSON (the walk is just past its end) but has no `events` array
/// (its key damaged into another valid one, `"evets"`, or its value no array: `found`
/// stood there), and none of whose events was read: kept whole as one failed event
/// ([`EventProblem::Page`], `shape`), its bytes as in the input, and the pages around it
/// are read (session 31's adversary B, F2: such a page refused every page of the input).
/// Returns whether it was kept: not when an event was read from it, or its strings
/// unescaped in place are longer than the walk keeps (the page's problem then refuses the
/// input, as before); alone in the input it is the output (refused by the caller).
fn keep_shapeless_page(
    walk: &mut Walk<'_>,
    raw: &mut Vec<RawEvent>,
    at: PartAt,
    found: &'static str,
) -> Result<bool, LogsApiError> {
    if at.resume != at.start || !walk.originals_whole() {
        return Ok(false);
    }
    walk.restore_originals();
    let span = trimmed(walk.text(), at.start, walk.at());
    let page = u32::try_from(at.page).unwrap_or(u32::MAX);
    let part = PagePart {
        page,
        offset: span.start,
        fault: span.start,
        what: found,
        between: false,
        to_end: false,
        events: true,
        shape: true,
    };
    walk.keep(EVENT_VALUES)
        .map_err(|cap| LogsApiError::Capped { page: at.page, cap })?;
    raw.push(RawEvent {
        span,
        page,
        index: 1,
        read: Err(EventProblem::Page(part)),
    });
    Ok(true)
}

/// `text[from..to]` without the whitespace around it, a comma that starts it (the page's,
/// between its events), or a byte order mark before the next page (not content:
/// [`Walk::page_mark`]).
fn trimmed(text: &[u8], from: usize, to: usize) -> Range<usize> {
    crate::input::kinesis::trimmed(text, from, to, to < text.len())
}

/// A syntax error told where it is in `text`: line, column and byte; a value cap with its
/// page (1-based); any other error as it is.
#[cold]
fn located(error: LogsApiError, text: &[u8], from: usize, page: usize) -> LogsApiError {
    let (offset, msg) = match error {
        LogsApiError::Json(JsonError::Invalid { offset, msg, .. }) => (offset, msg),
        LogsApiError::Json(cap) => return LogsApiError::Capped { page, cap },
        other => return other,
    };
    // Most often a text cut short (a page of `aws` output saved half-written).
    let msg = if offset >= text.len() {
        format!("{msg}, found the end of the text")
    } else {
        msg
    };
    // The bytes before `from` (a byte order mark) hold no line break, and are no column.
    let (line, column) = line_column(
        text.get(from..).unwrap_or_default(),
        offset.saturating_sub(from),
    );
    LogsApiError::Syntax {
        offset,
        line,
        column,
        msg,
    }
}

/// The event with its strings, or failed with its bytes as in `text`; its page named when
/// the output holds `several`.
fn finish<'a>(
    e: RawEvent,
    several: bool,
    text: &'a [u8],
    scratch: &'a [u8],
) -> Result<ApiLogEvent<'a>, FailedApiEvent<'a>> {
    let raw = text.get(e.span).unwrap_or_default();
    let place = EventPlace {
        page: several.then_some(e.page),
        index: e.index,
    };
    let fields = e.read.map_err(|problem| FailedApiEvent {
        raw,
        error: ApiEventError { place, problem },
    })?;
    // The walk checked that every string is UTF-8 (a lone surrogate fails its event).
    let string = |r: Range<usize>| std::str::from_utf8(scratch.get(r)?).ok();
    Ok(ApiLogEvent {
        log_stream: fields.log_stream.and_then(string),
        event_id: fields.event_id.and_then(string),
        timestamp: fields.timestamp,
        ingestion_time: fields.ingestion_time,
        message: string(fields.message).unwrap_or_default(),
        place,
    })
}

/// What one element of `events` counts for against the value cap, its own value included
/// ([`Walk::keep`]): its [`RawEvent`] and the event or failure it becomes take no more
/// memory than this many of simd-json's tape nodes (a test checks). A page of
/// `get-log-events` holds at most 10,000 events, of about 11 values each; an auto-paginated
/// `filter-log-events` document, any number (each event is held to the cap alone).
const EVENT_VALUES: usize = 14;

/// One page being walked (`page`: 1-based); `resume`: just after its last event read whole
/// (its start before any), where a part that does not read starts ([`keep_bad_part`]).
struct Page<'p, 'w, 'o> {
    walk: &'p mut Walk<'w>,
    page: usize,
    out: &'o mut Vec<RawEvent>,
    resume: usize,
}

impl Page<'_, '_, '_> {
    /// The page: its events into `out`. Walked to its end (invalid JSON anywhere fails the
    /// page, [`keep_bad_part`]) before a shape problem is told.
    fn read(&mut self) -> Result<(), LogsApiError> {
        let page = self.page;
        let kind = self.walk.value()?;
        if kind != Kind::Object {
            self.walk.skip(kind)?;
            let found = "missing";
            return Err(LogsApiError::Events { page, found });
        }
        // `Ok(read)`: whether an `events` array was read; `Err(found)`: it was no array.
        let mut events: Result<bool, &'static str> = Ok(false);
        let mut twice = Twice::default();
        let mut outside = None;
        self.walk.open(kind)?;
        while let Some(key) = self.walk.next_key()? {
            let is_events = self.walk.bytes(&key) == b"events";
            let kind = self.walk.value()?;
            if !is_events || twice.see(0, "events") {
                self.walk.skip(kind)?;
            } else if kind == Kind::Array {
                outside = outside.or(self.walk.take_lone_surrogate());
                self.events(kind)?;
                events = Ok(true);
            } else {
                self.walk.skip(kind)?;
                events = Err(kind.name());
            }
        }
        if let Some(lone) = outside.or(self.walk.take_lone_surrogate()) {
            return Err(LogsApiError::LoneSurrogate {
                page,
                unit: lone.unit,
                offset: lone.offset,
            });
        }
        if twice.first().is_some() {
            return Err(LogsApiError::EventsTwice { page });
        }
        match events {
            Ok(true) => Ok(()),
            Ok(false) => Err(LogsApiError::Events {
                page,
                found: "missing",
            }),
            Err(found) => Err(LogsApiError::Events { page, found }),
        }
    }

    /// The elements of `events`, each an event read or failed.
    fn events(&mut self, kind: Kind) -> Result<(), LogsApiError> {
        self.walk.open(kind)?;
        // 1-based, as users count. Past 2^32 (pages of two bytes in an 8 GiB input; events
        // are kept within a fourteenth of the text's size a quarter) a number would
        // saturate, never wrap.
        let page = u32::try_from(self.page).unwrap_or(u32::MAX);
        let mut index = 1u32;
        while self.walk.next_element()? {
            // Each event is held to the value cap on its own, not the page: the walk builds
            // nothing for the values inside an event, only its [`RawEvent`], which
            // [`Walk::keep`] bounds by the text's size. `aws logs filter-log-events`
            // paginates by itself and writes one document of every page's events: one
            // `events` of more than about 40,000 events passed the page's cap and was
            // refused whole (session 29).
            self.walk.count_afresh();
            let kind = self.walk.value()?;
            self.walk.page_inside(
                b"events",
                "a page starts inside `events` of the page before (the page before has no end)",
            )?;
            self.walk.keep(EVENT_VALUES)?;
            let start = self.walk.at();
            let read = match (self.event(kind)?, self.walk.take_lone_surrogate()) {
                (_, Some(lone)) => Err(self.lone(lone)),
                (read, None) => read,
            };
            self.out.push(RawEvent {
                span: start..self.walk.at(),
                page,
                index,
                read,
            });
            self.resume = self.walk.at();
            self.walk.forget_originals();
            index = index.saturating_add(1);
        }
        Ok(())
    }

    fn lone(&self, lone: LoneSurrogate) -> EventProblem {
        EventProblem::LoneSurrogate {
            unit: lone.unit,
            offset: lone.offset,
        }
    }

    /// One event (a value of `kind`): its fields, or what is wrong with it. Read to its end
    /// either way.
    fn event(&mut self, kind: Kind) -> Result<Result<RawFields, EventProblem>, LogsApiError> {
        let walk = &mut self.walk;
        if kind != Kind::Object {
            walk.skip(kind)?;
            return Ok(Err(EventProblem::NotAnObject { found: kind.name() }));
        }
        let mut fields = Seen::default();
        let mut twice = Twice::default();
        let mut wrong = None;
        walk.open(kind)?;
        while let Some(key) = walk.next_key()? {
            let key = Key::of(walk.bytes(&key));
            let kind = walk.value()?;
            if key != Key::Other {
                twice.see(key as u8, key.name());
            }
            match key {
                Key::Message if kind == Kind::String => fields.message = Some(walk.string()?),
                Key::Timestamp if kind == Kind::Number => {
                    let range = walk.number()?;
                    fields.timestamp = integer(walk.bytes(&range));
                    if fields.timestamp.is_none() {
                        wrong = wrong.or(Some((key, "a number that is no 64-bit integer")));
                    }
                }
                Key::Message | Key::Timestamp => {
                    walk.skip(kind)?;
                    wrong = wrong.or(Some((key, kind.name())));
                }
                Key::LogStreamName if kind == Kind::String => {
                    fields.log_stream = Some(walk.string()?);
                }
                Key::EventId if kind == Kind::String => fields.event_id = Some(walk.string()?),
                Key::IngestionTime if kind == Kind::Number => {
                    let range = walk.number()?;
                    fields.ingestion_time = integer(walk.bytes(&range));
                }
                // Another type for a field only kept: the event is read without it.
                Key::LogStreamName | Key::EventId | Key::IngestionTime | Key::Other => {
                    walk.skip(kind)?;
                }
            }
        }
        if let Some(name) = twice.first() {
            return Ok(Err(EventProblem::Twice(name)));
        }
        let field = |key: Key, found| EventProblem::Field {
            field: key.name(),
            expected: if key == Key::Timestamp {
                "an integer"
            } else {
                "a string"
            },
            found,
        };
        if let Some((key, found)) = wrong {
            return Ok(Err(field(key, found)));
        }
        let Some(message) = fields.message else {
            return Ok(Err(field(Key::Message, "missing")));
        };
        let Some(timestamp) = fields.timestamp else {
            return Ok(Err(field(Key::Timestamp, "missing")));
        };
        Ok(Ok(RawFields {
            log_stream: fields.log_stream,
            event_id: fields.event_id,
            timestamp,
            ingestion_time: fields.ingestion_time,
            message,
        }))
    }
}

/// An integer JSON number token as `i64` (`None` for a fraction, an exponent, or past 64
/// bits).
fn integer(token: &[u8]) -> Option<i64> {
    std::str::from_utf8(token).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILTER: &str = r#"{
    "events": [
        {
            "logStreamName": "db1",
            "timestamp": 1714564800123,
            "message": "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT \"x\"',0",
            "ingestionTime": 1714564800456,
            "eventId": "37605431982366218745392619003296741302869208427839209472"
        }
    ],
    "searchedLogStreams": [{"logStreamName": "db1", "searchedCompletely": true}],
    "nextToken": "Bxkq6kVGFtq2y_MoigeqscPOdhXVbhiVtLoAmXb5jCqy"
}"#;

    const GET: &str = r#"{"events":[{"timestamp":1714564801000,"message":"a","ingestionTime":1714564801001},{"timestamp":1714564802000,"message":"b"}],"nextForwardToken":"f/1","nextBackwardToken":"b/1"}"#;

    /// The events of `text`, a failed one as `error | raw`; the input's error as text.
    fn read(text: &str) -> Result<Vec<Result<ApiLogEvent<'_>, String>>, String> {
        // The scratch is leaked (a test's few bytes), so the events can outlive the call.
        let scratch = Box::leak(Box::new(Vec::new()));
        let events = LogsApiParser::new()
            .parse(text.as_bytes(), scratch)
            .map_err(|e| e.to_string())?;
        Ok(events
            .into_iter()
            .map(|e| {
                e.map_err(|f| {
                    let raw = String::from_utf8_lossy(f.raw);
                    format!("{}: {} | {raw}", f.error.place, f.error)
                })
            })
            .collect())
    }

    /// Session 31's adversary B, F2 (`dk_la_key.json`): a page whose `events` key is damaged
    /// into another valid one (`"evets"`), or whose `events` is no array, refused every page
    /// of the input. It is one failed event kept whole, none of its events read (a damaged
    /// key's array is not taken for the page's), and the pages around it are read; alone,
    /// it is the output, refused as before.
    #[test]
    fn a_page_without_events_is_kept_whole_among_others() {
        for bad in [
            r#"{"evets":[{"timestamp":7,"message":"forged?"}],"nextToken":"n"}"#,
            r#"{"events":{"timestamp":7,"message":"x"}}"#,
            r#"{"message":"hi"}"#,
        ] {
            for at in 0..3 {
                let mut pages = vec![GET.to_owned(), GET.to_owned()];
                pages.insert(at, bad.to_owned());
                let text = pages.join("\n");
                let events = read(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
                assert_eq!(events.len(), 5, "{text}");
                let failed: Vec<_> = events.iter().filter_map(|e| e.as_ref().err()).collect();
                let offset = text.find(bad).unwrap();
                let found = if bad.contains(r#""events":{"#) {
                    "an object"
                } else {
                    "missing"
                };
                assert_eq!(
                    failed,
                    [&format!(
                        "page {page}, event 1: page {page} at byte {offset} is no page (kept \
                         whole, none of its events read; the pages around it are read): \
                         `events` should be an array, found {found} | {bad}",
                        page = at + 1
                    )],
                    "{text}"
                );
                assert!(
                    events
                        .iter()
                        .flatten()
                        .all(|e| ["a", "b"].contains(&e.message))
                );
            }
            assert_eq!(
                read(bad).unwrap_err(),
                format!(
                    "page 1: `events` should be an array, found {}",
                    if bad.contains(r#""events":{"#) {
                        "an object"
                    } else {
                        "missing"
                    }
                )
            );
        }
    }

    #[test]
    fn filter_and_get_log_events_pages_are_read_in_order() {
        let text = format!("{FILTER}\n{GET}\n");
        let events: Vec<_> = read(&text)
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[0],
            ApiLogEvent {
                log_stream: Some("db1"),
                event_id: Some("37605431982366218745392619003296741302869208427839209472"),
                timestamp: 1_714_564_800_123,
                ingestion_time: Some(1_714_564_800_456),
                message: "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT \"x\"',0",
                place: EventPlace {
                    page: Some(1),
                    index: 1
                },
            }
        );
        assert_eq!((events[1].message, events[1].log_stream), ("a", None));
        // Where each is, as users count (session 29, F7: pages were numbered from 0).
        assert_eq!(events[2].place.to_string(), "page 2, event 2");
        let one = read(GET).unwrap();
        assert_eq!(one[1].as_ref().unwrap().place.to_string(), "event 2");
        assert_eq!((events[2].message, events[2].ingestion_time), ("b", None));
    }

    /// Session 29 (F9): pages appended one after another by a Windows tool (PowerShell's
    /// `>>`) each start with a UTF-8 byte order mark; the file was refused at the second
    /// page's mark. A mark where a page starts is stepped over; anywhere else it is an error
    /// at its byte, as before.
    #[test]
    fn a_byte_order_mark_before_a_page_is_not_content() {
        const BOM: &str = "\u{feff}";
        let text = format!("{FILTER}\r\n{BOM}{GET}\r\n{BOM}\r\n{GET}{BOM}{FILTER}");
        let events = read(&text).unwrap();
        let messages: Vec<_> = events.iter().map(|e| e.as_ref().unwrap().message).collect();
        assert_eq!(messages.len(), 6);
        assert_eq!(messages[1..5], ["a", "b", "a", "b"]);
        assert_eq!(messages[5], messages[0]);
        for bad in [
            format!("{GET}\n{BOM}"),
            format!("{GET}\n{BOM}\n"),
            format!("{GET}{BOM}{BOM}{GET}"),
            format!("{GET}{BOM}[]"),
            format!("{GET}{{{BOM}\"events\":[]}}"),
            format!("{GET}{{\"events\":{BOM}[]}}"),
            format!("{GET}{{\"events\":[{BOM}]}}"),
        ] {
            // After a page (session 30: the input was refused): a part that does not read,
            // kept whole, the others read.
            let events = read(&bad).unwrap();
            let at = bad.find(BOM).unwrap();
            let failed: Vec<_> = events.iter().filter_map(|e| e.as_ref().err()).collect();
            assert_eq!(failed.len(), 1, "{bad:?}: {events:?}");
            assert!(
                failed[0].contains(&format!("invalid JSON at byte {at}")),
                "{bad:?}: {failed:?}"
            );
            // Alone, the page is the output: refused at its byte as before.
            let alone = &bad[GET.len()..];
            if alone.starts_with('{') {
                let e = read(alone).unwrap_err();
                let at = alone.find(BOM).unwrap();
                assert!(e.contains(&format!("(byte {at})")), "{alone:?}: {e}");
            }
        }
    }

    #[test]
    fn errors_name_the_page_the_event_and_the_field() {
        // A broken event fails alone, kept as it is in the input.
        let text =
            format!(r#"{GET}{{"events":[{{"timestamp":1}}, {{"timestamp":2,"message":"c"}}]}}"#);
        let events = read(&text).unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(
            events[2],
            Err(
                r#"page 2, event 1: `message` should be a string, found missing | {"timestamp":1}"#
                    .to_owned()
            )
        );
        assert_eq!(events[3].as_ref().unwrap().message, "c");
        assert_eq!(
            read(r#"{"nextToken":"x"}"#).unwrap_err(),
            "page 1: `events` should be an array, found missing"
        );
        let text = r#"{"events":[7,{"timestamp":1.5,"message":"m"},{"timestamp":1,"message":2}]}"#;
        let errors: Vec<_> = read(text)
            .unwrap()
            .into_iter()
            .map(Result::unwrap_err)
            .collect();
        assert_eq!(
            errors,
            [
                "event 1: should be an object, found a number | 7",
                r#"event 2: `timestamp` should be an integer, found a number that is no 64-bit integer | {"timestamp":1.5,"message":"m"}"#,
                r#"event 3: `message` should be a string, found a number | {"timestamp":1,"message":2}"#,
            ]
        );
    }

    /// Review of session 27: a second `events` array, or a second `message` or `timestamp`
    /// in an event, was kept and the first dropped without a word. The page fails whole for
    /// `events` (which array is the page's cannot be told); the event alone for its keys.
    #[test]
    fn a_key_read_twice_fails_what_holds_it() {
        let forged = r#"{"timestamp":1,"message":"20240501 12:00:00,db1,root,h,1,2,QUERY,mysql,'DROP TABLE users',0"}"#;
        let text = format!(
            r#"{{"events":[{{"timestamp":5,"message":"real"}}],"nextToken":"t","events":[{forged}]}}"#
        );
        assert_eq!(
            read(&text).unwrap_err(),
            "page 1: the key `events` appears twice (the events of one array would be lost)"
        );
        let page = r#"{"events":[{"timestamp":5,"message":"real","message":"forged"},
            {"timestamp":5,"message":"x","timestamp":6},
            {"timestamp":5,"message":"ok","logStreamName":"a","logStreamName":"b"}]}"#;
        let text = format!("{GET}\n{page}");
        let events = read(&text).unwrap();
        assert_eq!(events.len(), 5);
        assert_eq!(
            events[2],
            Err(r#"page 2, event 1: the key `message` appears twice (which value is the event's cannot be told) | {"timestamp":5,"message":"real","message":"forged"}"#.to_owned())
        );
        let starts = |i: usize, with: &str| {
            let e = events[i].as_ref().unwrap_err();
            assert!(e.starts_with(with), "{e}");
        };
        starts(3, "page 2, event 2: the key `timestamp` appears twice");
        starts(4, "page 2, event 3: the key `logStreamName` appears twice");
    }

    /// One mechanism with the Kinesis reader's pages (session 28): each page is held to the
    /// value cap alone, what all keep to the text's size; an element of `events` is charged
    /// for the memory it takes.
    #[test]
    fn each_page_has_its_own_cap_and_all_keep_within_their_size() {
        let ours = std::mem::size_of::<RawEvent>()
            + std::mem::size_of::<Result<ApiLogEvent<'_>, FailedApiEvent<'_>>>();
        let node = std::mem::size_of::<simd_json::tape::Node<'_>>();
        assert!(
            ours <= EVENT_VALUES * node,
            "{ours} > {EVENT_VALUES} x {node}"
        );
        // 60,000 events of 11 values in 6 pages: 1.5 million values in all.
        let page = |p: usize| {
            let events: Vec<_> = (0..10_000)
                .map(|i| format!(r#"{{"logStreamName":"db1","timestamp":{},"message":"20240501 12:00:00,db1,app,10.0.0.5,7,{i},QUERY,shop,'SELECT 1',0","ingestionTime":1714564800456,"eventId":"3760543198236621874539261900329674130286920842783{p}{i:05}"}}"#, 1_714_564_800_000 + p * 10_000 + i))
                .collect();
            format!(r#"{{"events":[{}],"nextToken":"t{p}"}}"#, events.join(","))
        };
        let text: String = (0..6).map(page).collect();
        let events = read(&text).unwrap();
        assert_eq!(events.len(), 60_000);
        for (i, e) in events.iter().enumerate() {
            let e = e.as_ref().unwrap();
            assert_eq!(e.timestamp, 1_714_564_800_000 + i as i64);
        }
        // `aws logs get-log-events` pages of 10,000 events without ids, compact, about 150
        // bytes each: 120,000 in 12 pages read whole (review of session 28: refused whole
        // past ~75,000 at one value's worth per 16 bytes of text).
        let page = |p: usize| {
            let events: Vec<_> = (0..10_000)
                .map(|i| format!(r#"{{"timestamp":{},"message":"20240501 12:00:00,db1,rdsadmin,localhost,7,{i},CONNECT,,,0","ingestionTime":1}}"#, p * 10_000 + i))
                .collect();
            format!(
                r#"{{"events":[{}],"nextForwardToken":"f/{p}"}}"#,
                events.join(",")
            )
        };
        let text: String = (0..12).map(page).collect();
        assert!(text.len() / 120_000 < 160, "{}", text.len() / 120_000);
        assert_eq!(read(&text).unwrap().len(), 120_000);
        // `aws logs filter-log-events` paginates by itself: one document, one `events` of
        // 100,000 events (session 29: each event is held to the cap, not the page, which
        // refused it whole), their memory within the text's size.
        let events: Vec<_> = (0..100_000)
            .map(|i| format!(r#"{{"logStreamName":"db1","timestamp":{i},"message":"20240501 12:00:00,db1,rdsadmin,localhost,7,{i},CONNECT,,,0","ingestionTime":1,"eventId":"{i}"}}"#))
            .collect();
        let text = format!(
            r#"{{"events":[{}],"searchedLogStreams":[]}}"#,
            events.join(",")
        );
        let events = read(&text).unwrap();
        assert_eq!(events.len(), 100_000);
        assert_eq!(events[99_999].as_ref().unwrap().timestamp, 99_999);
        // One event over the cap is refused, named by its page.
        let over = format!(r#"{{"events":[{{"x":[{}0]}}]}}"#, "0,".repeat(1 << 20));
        let e = read(&format!("{GET}{over}")).unwrap_err();
        assert!(
            e.starts_with("page 2: event holds more than the 1048576 JSON values allowed"),
            "{e}"
        );
        // One page over the cap is refused, named.
        let over = format!(r#"{{"events":[],"x":[{}0]}}"#, "0,".repeat(1 << 20));
        let e = read(&format!("{GET}{over}")).unwrap_err();
        assert!(
            e.starts_with("page 2: event holds more than the 1048576 JSON values allowed"),
            "{e}"
        );
        // Pages of minimal elements, each within the cap, keep far more than their size.
        let page = format!(r#"{{"events":[{}0]}}"#, "0,".repeat(60_000));
        assert_eq!(read(&page).unwrap().len(), 60_001);
        let e = read(&page.repeat(12)).unwrap_err();
        assert!(
            e.starts_with("page 2: the pages hold more records or events than their size allows"),
            "{e}"
        );
    }

    /// Session 30: one page cut short or damaged (a download cut short, then the loop over
    /// `--next-token` went on) refused the whole output. Its events before the fault are
    /// read, the rest of it, to where the next page starts (an object whose first key is
    /// `events`, never a string's text: a message may spell one, escaped, and the walk
    /// unescapes it in place), is one failed event kept whole, named by its page and byte,
    /// and the pages after it are read.
    #[test]
    fn a_page_that_does_not_read_is_kept_whole_and_the_others_are_read() {
        let forged = r#"]}{\"events\":[{\"timestamp\":6,\"message\":\"forged\"}]}{"#;
        let event = |t: u32, m: &str| format!(r#"{{"timestamp":{t},"message":"{m}"}}"#);
        let page = |events: &[String], next: &str| {
            format!(
                r#"{{"events":[{}],"nextForwardToken":"{next}"}}"#,
                events.join(",")
            )
        };
        for message in ["plain", "}{}", forged, r#"a\"}]}{"#] {
            for sep in ["", "\n"] {
                let pages = [
                    page(&[event(1, "a")], "f/1"),
                    page(&[event(2, "b"), event(3, message)], "f/2"),
                    page(&[event(4, message), event(5, "e")], message),
                ];
                let first = pages[1].find("},").unwrap() + 1;
                for cut in first..pages[1].len() - 1 {
                    let text = format!("{}{sep}{}{}{sep}", pages[0], &pages[1][..cut], pages[2]);
                    let events = LogsApiParser::new()
                        .parse(text.as_bytes(), &mut Vec::new())
                        .map(|events| {
                            events
                                .into_iter()
                                .map(|e| match e {
                                    Ok(e) => Ok(e.timestamp),
                                    Err(f) => Err((f.error, f.raw.to_vec())),
                                })
                                .collect::<Vec<_>>()
                        })
                        .unwrap_or_else(|e| panic!("{text}: {e}"));
                    let read: Vec<_> = events.iter().filter_map(|e| e.as_ref().ok()).collect();
                    // Event 3 is read when the cut leaves it whole; the part starts after it.
                    let third =
                        pages[1].find(&event(3, message)).unwrap() + event(3, message).len();
                    let from = if cut >= third { third } else { first };
                    let failed: Vec<_> = events.iter().filter_map(|e| e.as_ref().err()).collect();
                    assert_eq!(failed.len(), 1, "{text}: {events:?}");
                    let (error, raw) = failed[0];
                    let EventProblem::Page(part) = error.problem else {
                        panic!("{text}: {error}")
                    };
                    assert_eq!((part.page, part.between, part.to_end), (2, false, false));
                    assert_eq!(error.place.page, Some(2));
                    let at = pages[0].len() + sep.len();
                    let kept = pages[1][from..cut].trim_start_matches(',');
                    assert_eq!(raw, kept.as_bytes(), "{text}");
                    assert_eq!(part.offset, at + cut - kept.len(), "{text}");
                    assert!(error.to_string().starts_with(&format!(
                        "page 2 does not read from byte {} to the next page (kept whole; its events before are read): invalid JSON at byte",
                        part.offset
                    )), "{error}");
                    let expected: &[i64] = if cut >= third {
                        &[1, 2, 3, 4, 5]
                    } else {
                        &[1, 2, 4, 5]
                    };
                    assert_eq!(
                        read,
                        expected.iter().collect::<Vec<_>>(),
                        "{text}: {events:?}"
                    );
                }
            }
        }
        // The first page cut short, nothing after it: the output, refused as before.
        let e = read(&pages_cut()).unwrap_err();
        assert!(e.starts_with("invalid JSON at line 1"), "{e}");
        // Text after a page that is no page, and a byte order mark not before a page.
        let text = format!("{GET} x {GET}\u{feff}");
        let events = read(&text).unwrap();
        let errors: Vec<_> = events.iter().filter_map(|e| e.as_ref().err()).collect();
        assert_eq!(events.len(), 6, "{events:?}");
        let (x, mark) = (GET.len() + 1, text.len() - 3);
        assert!(
            errors[0].starts_with(&format!(
                "page 1, event 3: text after page 1, from byte {x} to the next page, is no page (kept whole)"
            )),
            "{errors:?}"
        );
        assert!(errors[0].ends_with("| x"), "{errors:?}");
        assert!(
            errors[1].contains(&format!(
                "text after page 2, from byte {mark} to the end of the input"
            )),
            "{errors:?}"
        );
    }

    /// The first page of [`GET`], cut short.
    fn pages_cut() -> String {
        GET[..GET.len() / 2].to_owned()
    }

    /// Review of session 27: a lone surrogate escape failed the whole input in simd-json. It
    /// fails the event holding it, named with its byte; outside the events, the input.
    #[test]
    fn a_lone_surrogate_fails_its_event() {
        let text = r#"{"events":[{"timestamp":1,"message":"a"},{"timestamp":2,"message":"x\ud800y"},{"timestamp":3,"message":"\udc00","logStreamName":"\ud83d\ude00"},{"timestamp":4,"message":"b","eventId":"\ud83d"}]}"#;
        let events = read(text).unwrap();
        assert_eq!(events[0].as_ref().unwrap().message, "a");
        let at = text.find(r"\ud800").unwrap();
        assert_eq!(
            events[1],
            Err(format!(
                r#"event 2: lone surrogate \ud800 at byte {at} (no character: not text) | {{"timestamp":2,"message":"x\ud800y"}}"#
            ))
        );
        let has = |i: usize, part: &str| {
            let e = events[i].as_ref().unwrap_err();
            assert!(e.contains(part), "{e}");
        };
        has(2, r"lone surrogate \udc00 at byte");
        has(3, r"lone surrogate \ud83d at byte");
        // A pair is a character.
        let pair = read(r#"{"events":[{"timestamp":1,"message":"\ud83d\ude00"}]}"#).unwrap();
        assert_eq!(pair[0].as_ref().unwrap().message, "\u{1f600}");
        let outside = r#"{"events":[],"nextToken":"\udfff"}"#;
        assert_eq!(
            read(outside).unwrap_err(),
            format!(
                r"page 1: lone surrogate \udfff at byte {}, outside `events`",
                outside.find('\\').unwrap()
            )
        );
        // Anything else that is not JSON fails its page (the output, when it is the only
        // page), at its byte in the input.
        let bad = r#"{"events":[{"timestamp":1,"message":"\x"}]}"#;
        let e = read(bad).unwrap_err();
        let at = bad.find('\\').unwrap();
        assert_eq!(
            e,
            format!(
                "invalid JSON at line 1, column {} (byte {at}): invalid escape",
                at + 1
            )
        );
        let two = format!("{GET}{bad}");
        let events = read(&two).unwrap();
        let at = GET.len() + at;
        assert!(
            events[2].as_ref().unwrap_err().contains(&format!(
                "page 2 does not read from byte {} to the end of the input (kept whole; its events before are read): invalid JSON at byte {at}: invalid escape | {bad}",
                GET.len()
            )),
            "{events:?}"
        );
    }
}
