//! The Lambda event of a Kinesis event source mapping, the main input shape. Each record's
//! `data` is base64 of the gzip that CloudWatch Logs wrote to the stream:
//!
//! ```json
//! {"Records":[{
//!   "kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"8b1e3c6c8c3c1c1d2b6e0b2f5a4d3c2b",
//!     "sequenceNumber":"49590338271490256608559692538361571095921575989136588898",
//!     "data":"H4sIAAAAAAAA/6VUXW/aMBT9K5af...","approximateArrivalTimestamp":1711200969.123,
//!     "encryptionType":"KMS"},
//!   "eventSource":"aws:kinesis","eventVersion":"1.0",
//!   "eventID":"shardId-000000000000:49590338271490256608559692538361571095921575989136588898",
//!   "eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role",
//!   "awsRegion":"eu-west-1","eventSourceARN":"arn:aws:kinesis:eu-west-1:123456789012:stream/audit"}]}
//! ```
//!
//! A subscription filter that targets a Lambda directly sends `{"awslogs":{"data":"H4sI..."}}`
//! instead. Files (CLI) can also hold a raw gzip payload, the envelope JSON, or plain audit
//! text; [`detect()`](crate::input::detect()) tells them apart by content.
//!
//! The event is read in place by a validating walk over its text (`input/json/walk.rs`: the
//! base64 text is borrowed from the event buffer; JSON escapes such as `\/` are undone in
//! place), one pass, without simd-json's tape: the event is read on one thread before its
//! records are decoded in parallel, so its cost is paid in full however many threads there
//! are. Unknown fields are skipped, and any `encryptionType` string is accepted
//! (`aws_lambda_events` rejects values other than `NONE`/`KMS` and would fail the whole
//! batch). A key the event is read by that appears twice would hide one value's records: a
//! second `Records` fails the event, a second `kinesis`, `kinesis.data` or
//! `kinesis.sequenceNumber` fails the record ([`RecordProblem::DuplicateField`], the first
//! sequence number kept for `batchItemFailures`); other repeated keys: the last one wins. So
//! does a record holding both shapes, `kinesis` and a flat `Data` or `SequenceNumber`
//! ([`RecordProblem::TwoShapes`], the Lambda record's sequence number kept, else the flat
//! one's). The
//! tape walk this replaced is kept as the property tests' oracle (`kinesis/reference.rs`).
//!
//! A record whose own shape is wrong does not fail the event: it becomes a [`SourceRecord`] with
//! [`Payload::Invalid`], keeping its `sequenceNumber` so the Lambda can report it in
//! `batchItemFailures`. So does a record holding a lone surrogate escape (`\ud800` without
//! its pair) in any string ([`RecordProblem::LoneSurrogate`]; a kept string holding it, a
//! sequence number, is dropped, never made up); outside the records it is invalid JSON.
//!
//! ```
//! use rdsaudit::input::{decode_base64, parse_kinesis_event, Payload, SourceParser};
//! let event = br#"{"Records":[
//!   {"eventID":"shardId-000000000000:1","kinesis":{"data":"aGVsbG8=","sequenceNumber":"1","encryptionType":"SOME_NEW_TYPE"}},
//!   {"eventID":"shardId-000000000000:2","kinesis":{"sequenceNumber":"2"}}]}"#;
//! let mut buf = event.to_vec();
//! buf.resize(event.len() + simd_json::INPUT_PADDING, 0);
//! let records = parse_kinesis_event(&mut buf, event.len(), &mut SourceParser::new())?;
//! assert_eq!(records.len(), 2);
//! assert_eq!(records[0].encryption_type, Some("SOME_NEW_TYPE"));
//! let Payload::Base64(b64) = records[0].payload else { unreachable!() };
//! let mut out = Vec::new();
//! decode_base64(b64, &mut out)?;
//! assert_eq!(out, b"hello");
//! // The broken record is kept, with its sequence number, for the failure report.
//! assert!(matches!(records[1].payload, Payload::Invalid(_)));
//! assert_eq!(records[1].sequence_number, Some("2"));
//! # Ok::<(), rdsaudit::input::SourceError>(())
//! ```

use std::borrow::Cow;
use std::ops::Range;

use super::get_records::FlatRecord;
use super::json::walk::{Kind, LoneSurrogate, Walk};
use super::json::{JsonError, MAX_EVENT_VALUES, Twice, check_padding, fits, next_page_start};
use super::record::{
    PagePart, Payload, RecordProblem, SourceError, SourceParser, SourceRecord, open_event,
};

/// Parses a Lambda Kinesis event in place (`buf[..len]` is the JSON, followed by at least
/// `simd_json::INPUT_PADDING` bytes, the contract every event parser shares).
///
/// Returns one [`SourceRecord`] per element of `Records`, in order (of every page, when objects
/// come back to back: `aws kinesis get-records` in a shell loop). A record whose own shape is
/// wrong (no `kinesis`, no `data`, `data` not a string, ...) is returned with
/// [`Payload::Invalid`] and whatever metadata it has, so the caller can count it as failed and
/// report its `sequenceNumber`. Metadata fields of the wrong type are treated as absent.
///
/// # Errors
/// Only for an unusable event: invalid JSON, more than [`MAX_EVENT_VALUES`] values (in a page,
/// when pages come back to back; their records all together may take no more memory than
/// the text's size, [`JsonError::TooManyKept`]), not an object, no `Records` array (in one
/// page; among several, such a page is a failed record kept whole), `Records` twice (a
/// page's problem names the page, [`SourceError::Page`], when there are several).
pub fn parse_kinesis_event<'a>(
    buf: &'a mut [u8],
    len: usize,
    parser: &mut SourceParser,
) -> Result<Vec<SourceRecord<'a>>, SourceError> {
    parse_kinesis_event_with(buf, len, 0, parser, &mut |_, _| {})
}

/// [`parse_kinesis_event`], handing each record to `found` as soon as the walk has read it,
/// with the event text its ranges point into: the record's strings are final then (each is
/// unescaped as it is read, and the walk only goes on past them), so a caller can copy the
/// record out and decode it while the rest of the event is still walked. Whether the event is
/// usable at all is only known when this returns. The JSON starts at byte `from` (past a
/// UTF-8 byte order mark the decoder leaves in place: offsets are then the file's).
pub(crate) fn parse_kinesis_event_with<'a>(
    buf: &'a mut [u8],
    len: usize,
    from: usize,
    parser: &mut SourceParser,
    found: &mut dyn FnMut(&RawRecord, &[u8]),
) -> Result<Vec<SourceRecord<'a>>, SourceError> {
    check_padding(buf, len)?;
    let text = buf.get_mut(..len).unwrap_or_default();
    let walk = Walk::new(text, &mut parser.open, MAX_EVENT_VALUES)
        .starting_at(from)
        .keeping_originals()
        .lone_surrogates();
    let raw = read_event(walk, found)?;
    let text = EventText::new(buf);
    let resolved = raw.iter().enumerate().map(|(i, r)| {
        if let Some(ahead) = raw.get(i + RESOLVE_AHEAD) {
            crate::prefetch::value(ahead);
            ahead.prefetch(text.bytes);
        }
        r.resolve(&text)
    });
    Ok(resolved.collect())
}

/// How many records ahead of the one being resolved its text and entry are asked for
/// ([`crate::prefetch`]): a resolve is a few dozen instructions, and what it reads was last
/// read by the walk, megabytes ago. 6,000 one-line records: `RawRecord::resolve`'s perf
/// samples 239 -> under 60.
const RESOLVE_AHEAD: usize = 8;

/// The text a [`RawRecord`]'s ranges point into, checked as UTF-8 once as a whole.
///
/// The walk checked every string already; borrowing one as `&str` still needs a proof, and a
/// `simdutf8` call per string (four per record) was 1.2% of the instructions on 6,000
/// one-line records, serial before the decoding starts. One check of the whole text is a
/// fraction of that; a string is then its range of the checked text. The whole text is not
/// UTF-8 when a string unescaped in place left part of a character behind it (or the event
/// was invalid where the walk stopped): each string is then checked on its own, as before.
pub(crate) struct EventText<'t> {
    bytes: &'t [u8],
    whole: Option<&'t str>,
}

impl<'t> EventText<'t> {
    pub(crate) fn new(bytes: &'t [u8]) -> Self {
        let whole = simdutf8::basic::from_utf8(bytes).ok();
        EventText { bytes, whole }
    }

    fn bytes(&self, r: Range<usize>) -> &'t [u8] {
        self.bytes.get(r).unwrap_or_default()
    }

    /// The string at `r`: a slice of the checked text when `r` falls on character
    /// boundaries, else its bytes checked on their own (the result is the same either way).
    pub(crate) fn str(&self, r: Range<usize>) -> Option<&'t str> {
        self.whole
            .and_then(|whole| whole.get(r.clone()))
            .or_else(|| simdutf8::basic::from_utf8(self.bytes.get(r)?).ok())
    }
}

/// What one element of `Records` counts for against [`MAX_EVENT_VALUES`], its own value
/// included ([`Walk::keep`]): its [`RawRecord`] and [`SourceRecord`] take no more memory
/// than 16 of simd-json's tape nodes did (a test checks), so an event of minimal elements
/// (`[0,0,0,...]`) is held to the memory the cap gave before (at most 2^16 elements; a
/// Lambda batch holds at most 10,000 records), and pages back to back to the text's size.
const RECORD_VALUES: usize = 16;

/// Where a page's `Records` stands after the walk.
enum Records {
    Missing,
    Array,
    Not(&'static str),
    /// Seen twice (the walk goes on, so invalid JSON anywhere is still reported first).
    Twice,
}

impl Records {
    /// What stood where the page's `Records` array should be, when it is missing or no
    /// array: the page is then kept whole ([`keep_shapeless_page`]).
    fn shapeless(&self) -> Option<&'static str> {
        match self {
            Records::Missing => Some("missing"),
            Records::Not(found) => Some(found),
            Records::Array | Records::Twice => None,
        }
    }

    fn problem(self) -> Option<SourceError> {
        match self {
            Records::Array => None,
            Records::Missing => Some(SourceError::MissingField("Records")),
            Records::Twice => Some(SourceError::DuplicateField("Records")),
            Records::Not(found) => Some(SourceError::WrongType {
                field: "Records",
                expected: "an array",
                found,
            }),
        }
    }
}

/// Walks the whole event (so invalid JSON anywhere is reported before any shape problem, as
/// a parser that reads everything first would) and returns its records. Objects back to back
/// are pages read in turn, their records numbered on: `aws kinesis get-records` run in a
/// shell loop writes one page per call (`{"Records":[...],"NextShardIterator":...}{...}`).
/// Each page is held to the value cap on its own, the records of all to the text's size
/// ([`Walk::next_page`]); a problem of a page in a text of several names the page.
///
/// A page that is not JSON (cut short, damaged), or text after a page that is no page, is
/// one failed record kept whole ([`RecordProblem::Page`], [`keep_bad_part`]) and the pages
/// after it are read, where the text's structure shows where it ends. A first page that
/// does not read and shows no page after it is the whole event: refused as before.
fn read_event(
    mut walk: Walk<'_>,
    found: &mut dyn FnMut(&RawRecord, &[u8]),
) -> Result<Vec<RawRecord>, SourceError> {
    let mut list = Vec::new();
    let mut problem = None;
    // The problem of the first page, when kept whole by [`keep_shapeless_page`]: the event's
    // if it is the only page.
    let mut first_shapeless = None;
    let mut page = PageAt {
        number: 1,
        offset: 0,
    };
    walk.at_object();
    loop {
        page.offset = walk.at();
        walk.forget_originals();
        let mut resume = Resume { at: page.offset };
        let number = u32::try_from(page.number).unwrap_or(u32::MAX);
        match read_page(&mut walk, &mut list, found, (number, &mut resume)) {
            Ok(records) => {
                let kept = match records.shapeless() {
                    Some(what) => keep_shapeless_page(&mut walk, &mut list, found, page, what)?,
                    None => false,
                };
                match records.problem() {
                    // A page kept whole when others are read; alone, it is the event.
                    Some(e) if kept => first_shapeless = first_shapeless.or(Some(e)),
                    e => problem = problem.or(e.map(|e| (page, e))),
                }
            }
            Err(e) => keep_bad_part(&mut walk, &mut list, found, (page, resume), e, false)?,
        }
        walk.page_mark();
        if !walk.at_object() {
            if walk.at_end() {
                break;
            }
            // Text after the page that is no page (a stray byte between two).
            let resume = Resume { at: walk.at() };
            let Err(e) = walk.end() else { break };
            keep_bad_part(&mut walk, &mut list, found, (page, resume), e.into(), true)?;
            walk.page_mark();
            if !walk.at_object() {
                break;
            }
        }
        walk.next_page();
        page.number += 1;
    }
    walk.end()?;
    // One page is the whole event: its problem is the event's.
    let several = page.number > 1;
    if let Some(e) = first_shapeless.filter(|_| !several) {
        return Err(e);
    }
    match problem {
        None => Ok(list),
        Some((at, e)) if several => Err(at.wrap(e)),
        Some((_, e)) => Err(e),
    }
}

/// Where the part of a page that does not read starts: just after its last record read
/// whole (or the page's start).
#[derive(Debug, Clone, Copy)]
struct Resume {
    at: usize,
}

/// A page that did not read (`error`, the walk's: the records it read before are kept), or
/// text after a page that is no page (`between`), from `resume` on: kept whole as one failed
/// record ([`RecordProblem::Page`]), its bytes as in the input (the strings the walk
/// unescaped in place put back), and the walk goes on at the next page.
///
/// The part ends where the text's structure shows the next page starts
/// ([`next_page_start`]: the next `{` that opens an object whose first key is `Records`,
/// which no string's text can be, whatever brackets and quotes it holds, and which a
/// damage that broke a string's quotes does not hide), or at the end of the input. Nothing
/// inside a string becomes a record; a page whose first key is not `Records` after a part
/// that does not read is in the part (kept whole, not read).
///
/// Refused as before (the error, unnamed): a first page that shows no page after it (it is
/// the whole event); any error but invalid JSON (a value cap: a limit, not damage); a part
/// whose bytes as read are not all kept ([`SourceError::PageRefused`]).
fn keep_bad_part(
    walk: &mut Walk<'_>,
    list: &mut Vec<RawRecord>,
    found: &mut dyn FnMut(&RawRecord, &[u8]),
    (page, resume): (PageAt, Resume),
    error: SourceError,
    between: bool,
) -> Result<(), SourceError> {
    let SourceError::Json(JsonError::Invalid { offset, .. }) = error else {
        return Err(page.named(error));
    };
    if !walk.originals_whole() {
        return Err(if page.number > 1 {
            SourceError::PageRefused {
                page: page.number,
                offset: page.offset,
                problem: Box::new(error),
                why: "its strings with escapes, unescaped in place, are longer than are kept",
            }
        } else {
            error
        });
    }
    walk.restore_originals();
    let text = walk.text();
    // Past the page's own start, when its part starts there.
    let from = resume.at + usize::from(resume.at == page.offset);
    let next = next_page_start(text, from, b"Records");
    if next.is_none() && page.number == 1 && !between {
        return Err(error);
    }
    let end = next.unwrap_or(text.len());
    let part = trimmed(text, resume.at, end, next.is_some());
    let mut failed = RawRecord::new(RecordProblem::Page(PagePart {
        page: u32::try_from(page.number).unwrap_or(u32::MAX),
        offset: part.start,
        fault: offset,
        what: walk.last_fault(),
        between,
        to_end: next.is_none(),
        events: false,
        shape: false,
    }));
    failed.as_read = Some(AsRead::At(part));
    walk.resume_at(end);
    walk.keep(RECORD_VALUES)?;
    found(&failed, walk.text());
    list.push(failed);
    Ok(())
}

/// A page that reads as JSON (the walk is just past its end) but has no `Records` array
/// (its key damaged into another valid one, `"Recrds"`, or its value no array: `what`
/// stood there): kept whole as one failed record ([`RecordProblem::Page`], `shape`), its
/// bytes as in the input, and the pages around it are read (session 31's adversary B, F2:
/// such a page refused every page of the input). None of its records is read: which
/// array, if any, held them cannot be told. Returns whether it was kept: not when its
/// strings unescaped in place are longer than the walk keeps (the page's problem then
/// refuses the input, as before); alone in the input it is the event ([`read_event`]).
fn keep_shapeless_page(
    walk: &mut Walk<'_>,
    list: &mut Vec<RawRecord>,
    found: &mut dyn FnMut(&RawRecord, &[u8]),
    page: PageAt,
    what: &'static str,
) -> Result<bool, SourceError> {
    if !walk.originals_whole() {
        return Ok(false);
    }
    walk.restore_originals();
    let part = trimmed(walk.text(), page.offset, walk.at(), false);
    let mut failed = RawRecord::new(RecordProblem::Page(PagePart {
        page: u32::try_from(page.number).unwrap_or(u32::MAX),
        offset: part.start,
        fault: part.start,
        what,
        between: false,
        to_end: false,
        events: false,
        shape: true,
    }));
    failed.as_read = Some(AsRead::At(part));
    walk.keep(RECORD_VALUES)?;
    found(&failed, walk.text());
    list.push(failed);
    Ok(true)
}

/// `text[from..to]` without the whitespace around it, a comma that starts it, or a byte
/// order mark before the next page (not content: [`Walk::page_mark`]).
pub(crate) fn trimmed(text: &[u8], from: usize, to: usize, page_next: bool) -> Range<usize> {
    let part = text.get(from..to).unwrap_or_default();
    let ws = |b: &u8| super::json::is_ws(*b);
    // From the record the fault lies in: the comma before it is the page's, as the text
    // between its other records is.
    let mut lead = part.iter().take_while(|b| ws(b)).count();
    if part.get(lead) == Some(&b',') {
        lead += 1 + part.iter().skip(lead + 1).take_while(|b| ws(b)).count();
    }
    let mut rest = part.get(lead..).unwrap_or_default();
    rest = rest
        .get(..rest.len() - rest.iter().rev().take_while(|b| ws(b)).count())
        .unwrap_or_default();
    if let Some(before) = rest
        .strip_suffix(super::encoding::UTF8_BOM)
        .filter(|_| page_next)
    {
        rest = before
            .get(..before.len() - before.iter().rev().take_while(|b| ws(b)).count())
            .unwrap_or_default();
    }
    from + lead..from + lead + rest.len()
}

/// Which page of the text is read (1-based) and the byte its `{` is at.
#[derive(Debug, Clone, Copy)]
struct PageAt {
    number: usize,
    offset: usize,
}

impl PageAt {
    /// `e`, said to be of this page when the page is not the first (the first may be the
    /// whole event: its errors read as before; a syntax error gives its byte either way).
    fn named(self, e: SourceError) -> SourceError {
        if self.number > 1 { self.wrap(e) } else { e }
    }

    #[cold]
    fn wrap(self, e: SourceError) -> SourceError {
        SourceError::Page {
            page: self.number,
            offset: self.offset,
            problem: Box::new(e),
        }
    }
}

/// Reads one top-level object's `Records` onto `list`; `resume` follows the last record read
/// whole (where a part that does not read would start: [`keep_bad_part`]).
fn read_page(
    walk: &mut Walk<'_>,
    list: &mut Vec<RawRecord>,
    found: &mut dyn FnMut(&RawRecord, &[u8]),
    (number, resume): (u32, &mut Resume),
) -> Result<Records, SourceError> {
    open_event(walk)?;
    let mut records = Records::Missing;
    while let Some(key) = walk.next_key()? {
        outside_records(walk)?;
        let is_records = walk.bytes(&key) == b"Records";
        let kind = walk.value()?;
        if !is_records {
            walk.skip(kind)?;
        } else if !matches!(records, Records::Missing) {
            walk.skip(kind)?;
            records = Records::Twice;
        } else if kind == Kind::Array {
            let mut seen = layout::Seen::default();
            walk.open(kind)?;
            // The originals kept are forgotten once a record is read whole: from there on
            // they are the next record's, or a part that does not read ([`keep_bad_part`]).
            while walk.next_element()? {
                let n = list.len() + 1;
                let kind = walk.value().map_err(|e| e.in_record(n))?;
                walk.page_inside(b"Records", PAGE_INSIDE)?;
                walk.keep(RECORD_VALUES)?;
                let start = walk.at();
                let mut record = read_record(walk, kind, &mut seen).map_err(|e| e.in_record(n))?;
                if let RawPayload::Invalid(RecordProblem::NoRecordKey { page, .. }) =
                    &mut record.payload
                {
                    *page = number;
                }
                if let Some(lone) = walk.take_lone_surrogate() {
                    record.fail_lone_surrogate(walk, lone);
                }
                if matches!(record.payload, RawPayload::Invalid(_)) {
                    record.keep_as_read(walk, start);
                }
                found(&record, walk.text());
                list.push(record);
                walk.forget_originals();
                *resume = Resume { at: walk.at() };
            }
            records = Records::Array;
        } else {
            walk.skip(kind)?;
            records = Records::Not(kind.name());
        }
        outside_records(walk)?;
    }
    Ok(records)
}

/// The fault of a page that starts where a record should ([`Walk::page_inside`]).
const PAGE_INSIDE: &str =
    "a page starts inside `Records` of the page before (the page before has no end)";

/// A lone surrogate escape read outside the records (a key or value of the page itself) is
/// invalid JSON, as the walk would have said where it read it: which records it would hide
/// cannot be told. Inside a record it fails the record alone ([`RawRecord::fail_lone_surrogate`]).
fn outside_records(walk: &mut Walk<'_>) -> Result<(), JsonError> {
    match walk.take_lone_surrogate() {
        None => Ok(()),
        Some(lone) => Err(walk.lone_surrogate_error(lone)),
    }
}

/// A [`SourceRecord`] whose strings are still byte ranges of the event text (the text is
/// being unescaped in place while the walk goes on).
#[derive(Debug, Clone)]
pub(crate) struct RawRecord {
    pub(crate) payload: RawPayload,
    pub(crate) sequence_number: Option<Range<usize>>,
    pub(crate) event_id: Option<Range<usize>>,
    pub(crate) partition_key: Option<Range<usize>>,
    pub(crate) approximate_arrival_timestamp: Option<f64>,
    pub(crate) encryption_type: Option<Range<usize>>,
    /// A record whose shape is wrong: its JSON, as it is in the input
    /// ([`RawRecord::keep_as_read`]).
    pub(crate) as_read: Option<AsRead>,
}

/// Where a failed record's JSON as it is in the input is.
#[derive(Debug, Clone)]
pub(crate) enum AsRead {
    /// In the event text, its escapes put back.
    At(Range<usize>),
    /// In a copy: a string the record keeps (its sequence number) held an escape, and stays
    /// unescaped in the text for the record to be reported by.
    Copy(Box<[u8]>),
}

/// [`Payload`] as a range of the event text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawPayload {
    Base64(Range<usize>),
    Invalid(RecordProblem),
}

impl RawRecord {
    pub(crate) fn new(problem: RecordProblem) -> Self {
        RawRecord {
            payload: RawPayload::Invalid(problem),
            sequence_number: None,
            event_id: None,
            partition_key: None,
            approximate_arrival_timestamp: None,
            encryption_type: None,
            as_read: None,
        }
    }

    /// Fails the record: a string of it held a lone surrogate escape, read as U+FFFD
    /// ([`Walk::lone_surrogates`]). A string it keeps that holds U+FFFD is dropped (that may
    /// be the escape, and a sequence number made up of it would name no record); its bytes
    /// as read are kept whole ([`RawRecord::keep_as_read`]).
    #[cold]
    fn fail_lone_surrogate(&mut self, walk: &Walk<'_>, lone: LoneSurrogate) {
        self.payload = RawPayload::Invalid(RecordProblem::LoneSurrogate {
            unit: lone.unit,
            offset: lone.offset,
        });
        let made_up = |r: &Option<Range<usize>>| {
            r.as_ref().is_some_and(|r| {
                memchr::memmem::find(walk.bytes(r), "\u{fffd}".as_bytes()).is_some()
            })
        };
        for kept in [
            &mut self.sequence_number,
            &mut self.event_id,
            &mut self.partition_key,
            &mut self.encryption_type,
        ] {
            if made_up(kept) {
                *kept = None;
            }
        }
    }

    /// A record whose shape is wrong, read from `start` to where `walk` is, kept as it is in
    /// the input to be reported whole: its strings unescaped in place are put back. When a
    /// string it keeps (a sequence number, for `batchItemFailures`) held an escape, the text
    /// keeps it unescaped and the record's bytes as read are a copy (session 30: such a
    /// record was kept without its bytes; at most the record's size, once, so what is kept
    /// stays within the text's size). However long its strings with escapes (session 31:
    /// past 2 MiB of them it was kept without its bytes). A real Lambda event's strings hold
    /// no escapes.
    fn keep_as_read(&mut self, walk: &mut Walk<'_>, start: usize) {
        let kept = [
            &self.sequence_number,
            &self.event_id,
            &self.partition_key,
            &self.encryption_type,
        ];
        let range = start..walk.at();
        if kept.into_iter().flatten().any(|r| walk.changed_within(r)) {
            self.as_read = walk
                .original_of(range)
                .map(|copy| AsRead::Copy(copy.into()));
            walk.forget_originals();
            return;
        }
        if !walk.originals_whole() {
            walk.forget_originals();
            return;
        }
        walk.restore_originals();
        self.as_read = Some(AsRead::At(range));
    }

    /// Asks for the cache lines of `text` where the record's strings start and end (what
    /// [`RawRecord::resolve`] reads).
    fn prefetch(&self, text: &[u8]) {
        let ranges = [
            &self.sequence_number,
            &self.event_id,
            &self.partition_key,
            &self.encryption_type,
        ];
        for r in ranges.into_iter().flatten() {
            crate::prefetch::line(text, r.start);
            crate::prefetch::line(text, r.end);
        }
    }

    /// The record, its strings borrowed from the (now unescaped) event text.
    pub(crate) fn resolve<'t>(&self, text: &EventText<'t>) -> SourceRecord<'t> {
        let str_at = |r: &Option<Range<usize>>| text.str(r.clone()?);
        SourceRecord {
            payload: match &self.payload {
                RawPayload::Base64(r) => Payload::Base64(text.bytes(r.clone())),
                RawPayload::Invalid(problem) => Payload::Invalid(*problem),
            },
            sequence_number: str_at(&self.sequence_number),
            event_id: str_at(&self.event_id),
            partition_key: str_at(&self.partition_key),
            approximate_arrival_timestamp: self.approximate_arrival_timestamp,
            encryption_type: str_at(&self.encryption_type),
            as_read: match &self.as_read {
                Some(AsRead::At(r)) => Cow::Borrowed(text.bytes(r.clone())),
                Some(AsRead::Copy(bytes)) => Cow::Owned(bytes.to_vec()),
                None => Cow::Borrowed(&[]),
            },
        }
    }

    /// The record with the strings it names in `text` copied to the end of `out`, its ranges
    /// now ranges of `out` (to be [`RawRecord::resolve`]d against it).
    pub(crate) fn copy_to(&self, text: &[u8], out: &mut Vec<u8>) -> RawRecord {
        let mut copy = |r: &Option<Range<usize>>| {
            let bytes = text.get(r.clone()?)?;
            let start = out.len();
            out.extend_from_slice(bytes);
            Some(start..out.len())
        };
        RawRecord {
            payload: match &self.payload {
                RawPayload::Base64(r) => {
                    RawPayload::Base64(copy(&Some(r.clone())).unwrap_or_default())
                }
                RawPayload::Invalid(problem) => RawPayload::Invalid(*problem),
            },
            sequence_number: copy(&self.sequence_number),
            event_id: copy(&self.event_id),
            partition_key: copy(&self.partition_key),
            approximate_arrival_timestamp: self.approximate_arrival_timestamp,
            encryption_type: copy(&self.encryption_type),
            as_read: match &self.as_read {
                Some(AsRead::At(r)) => copy(&Some(r.clone())).map(AsRead::At),
                Some(AsRead::Copy(bytes)) => {
                    let start = out.len();
                    out.extend_from_slice(bytes);
                    Some(AsRead::At(start..out.len()))
                }
                None => None,
            },
        }
    }
}

/// One element of `Records`: a Lambda record (`kinesis.data`), or, when it has no `kinesis`
/// key, an `aws kinesis get-records` record (`Data`), read in the same pass. `seen`: what
/// the records before repeat ([`layout::Seen`]).
fn read_record(
    walk: &mut Walk<'_>,
    kind: Kind,
    seen: &mut layout::Seen,
) -> Result<RawRecord, JsonError> {
    if let Some(record) = layout::read(walk, seen) {
        return Ok(record);
    }
    read_any_record(walk, kind)
}

/// [`read_record`] key by key, whatever the order, spacing and escapes: the reference that
/// [`layout::read`] must agree with.
fn read_any_record(walk: &mut Walk<'_>, kind: Kind) -> Result<RawRecord, JsonError> {
    if kind != Kind::Object {
        walk.skip(kind)?;
        return Ok(RawRecord::new(RecordProblem::NotAnObject(kind.name())));
    }
    let mut rec = RawRecord::new(RecordProblem::MissingKinesis);
    let mut flat = FlatRecord::default();
    let (mut kinesis_seen, mut kinesis_twice) = (false, false);
    let offset = walk.at();
    // A key only a page has: the element is a page (the page before it lost its end).
    let mut page_key = false;
    walk.open(kind)?;
    while let Some(key) = walk.next_key()? {
        let bytes = walk.bytes(&key);
        page_key |= matches!(
            bytes,
            b"Records" | b"NextShardIterator" | b"MillisBehindLatest"
        );
        let key = RecordKey::of(bytes);
        let kind = walk.value()?;
        if matches!(key, RecordKey::Kinesis) {
            kinesis_twice |= std::mem::replace(&mut kinesis_seen, true);
        }
        match key {
            RecordKey::EventId => rec.event_id = string_or_none(walk, kind)?,
            RecordKey::Kinesis if kind == Kind::Object => {
                rec.payload = RawPayload::Invalid(RecordProblem::MissingData);
                read_kinesis(walk, &mut rec)?;
            }
            RecordKey::Kinesis => {
                walk.skip(kind)?;
                rec.payload = RawPayload::Invalid(RecordProblem::KinesisNotAnObject(kind.name()));
            }
            RecordKey::Other(key) => flat.field(key, walk, kind)?,
        }
    }
    if kinesis_twice {
        rec.payload = RawPayload::Invalid(RecordProblem::DuplicateField("kinesis"));
    }
    if rec.payload == RawPayload::Invalid(RecordProblem::MissingKinesis) {
        return Ok(flat.finish().unwrap_or_else(|| {
            // Neither shape: say what it is and where (its page is set by the page's reader).
            rec.payload = RawPayload::Invalid(RecordProblem::NoRecordKey {
                page: 1,
                offset,
                found: if page_key { PAGE_KEYS } else { NO_KEYS },
            });
            rec
        }));
    }
    Ok(flat.beside(rec))
}

/// What an element of `Records` with none of a record's keys holds
/// ([`RecordProblem::NoRecordKey`]): a page's keys.
const PAGE_KEYS: &str = "an object with a page's keys (`Records`, `NextShardIterator`): the page before it has no end, and this page is kept whole as this record";
/// See [`PAGE_KEYS`]: no key of either shape.
const NO_KEYS: &str = "an object with no `kinesis` object (a Lambda record) and no `Data` or `SequenceNumber` (a get-records record)";

/// The keys of a Lambda record that are read; any other goes to the `get-records` reading.
enum RecordKey {
    EventId,
    Kinesis,
    Other(KinesisKey),
}

impl RecordKey {
    fn of(key: &[u8]) -> Self {
        match key {
            b"eventID" => RecordKey::EventId,
            b"kinesis" => RecordKey::Kinesis,
            other => RecordKey::Other(KinesisKey::of_flat(other)),
        }
    }
}

/// The fields of one Kinesis record that are read, under either spelling: the Lambda event's
/// `kinesis` object (`data`, `sequenceNumber`, ...) or a flat `aws kinesis get-records` record
/// (`Data`, `SequenceNumber`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KinesisKey {
    Data,
    SequenceNumber,
    PartitionKey,
    EncryptionType,
    ApproximateArrivalTimestamp,
    Other,
}

impl KinesisKey {
    /// A key of a Lambda record's `kinesis` object (camelCase).
    pub(crate) fn of_lambda(key: &[u8]) -> Self {
        match key {
            b"data" => KinesisKey::Data,
            b"sequenceNumber" => KinesisKey::SequenceNumber,
            b"partitionKey" => KinesisKey::PartitionKey,
            b"encryptionType" => KinesisKey::EncryptionType,
            b"approximateArrivalTimestamp" => KinesisKey::ApproximateArrivalTimestamp,
            _ => KinesisKey::Other,
        }
    }

    /// A key of a `get-records` record (CamelCase, as the Kinesis API spells it).
    pub(crate) fn of_flat(key: &[u8]) -> Self {
        match key {
            b"Data" => KinesisKey::Data,
            b"SequenceNumber" => KinesisKey::SequenceNumber,
            b"PartitionKey" => KinesisKey::PartitionKey,
            b"EncryptionType" => KinesisKey::EncryptionType,
            b"ApproximateArrivalTimestamp" => KinesisKey::ApproximateArrivalTimestamp,
            _ => KinesisKey::Other,
        }
    }
}

/// The `kinesis` object of a Lambda record. A repeated `data` or `sequenceNumber` fails the
/// record; the first sequence number (of any `kinesis` object) is kept.
fn read_kinesis(walk: &mut Walk<'_>, rec: &mut RawRecord) -> Result<(), JsonError> {
    let mut twice = Twice::default();
    walk.open(Kind::Object)?;
    while let Some(key) = walk.next_key()? {
        let key = KinesisKey::of_lambda(walk.bytes(&key));
        let kind = walk.value()?;
        match key {
            KinesisKey::Data => {
                twice.see(DATA, "kinesis.data");
            }
            KinesisKey::SequenceNumber => {
                twice.see(SEQUENCE_NUMBER, "kinesis.sequenceNumber");
            }
            _ => {}
        }
        match key {
            KinesisKey::Data if kind == Kind::String => {
                rec.payload = RawPayload::Base64(walk.string()?);
            }
            KinesisKey::Data => {
                walk.skip(kind)?;
                rec.payload = RawPayload::Invalid(RecordProblem::DataNotAString(kind.name()));
            }
            KinesisKey::SequenceNumber => {
                let value = string_or_none(walk, kind)?;
                rec.sequence_number = rec.sequence_number.take().or(value);
            }
            KinesisKey::PartitionKey => rec.partition_key = string_or_none(walk, kind)?,
            KinesisKey::EncryptionType => rec.encryption_type = string_or_none(walk, kind)?,
            KinesisKey::ApproximateArrivalTimestamp => {
                rec.approximate_arrival_timestamp = number_or_none(walk, kind)?;
            }
            KinesisKey::Other => walk.skip(kind)?,
        }
    }
    fail_twice(&twice, &mut rec.payload);
    Ok(())
}

/// The key bits of a record's payload and sequence number ([`Twice`]).
pub(crate) const DATA: u8 = 0;
/// See [`DATA`].
pub(crate) const SEQUENCE_NUMBER: u8 = 1;

/// Fails the record when its payload or sequence number key was seen twice.
pub(crate) fn fail_twice(twice: &Twice, payload: &mut RawPayload) {
    if let Some(name) = twice.first() {
        *payload = RawPayload::Invalid(RecordProblem::DuplicateField(name));
    }
}

/// The string value, or `None` (the value read and dropped) when it is of another type.
#[inline(always)]
pub(crate) fn string_or_none(
    walk: &mut Walk<'_>,
    kind: Kind,
) -> Result<Option<Range<usize>>, JsonError> {
    if kind == Kind::String {
        return walk.string().map(Some);
    }
    walk.skip(kind)?;
    Ok(None)
}

/// The number value as `f64`, or `None` when it is of another type or beyond `f64` (as the
/// tape walk read it: simd-json could not hold it, so it never made one up).
pub(crate) fn number_or_none(walk: &mut Walk<'_>, kind: Kind) -> Result<Option<f64>, JsonError> {
    if kind != Kind::Number {
        walk.skip(kind)?;
        return Ok(None);
    }
    let range = walk.number()?;
    Ok(number_value(walk.bytes(&range)))
}

/// A JSON number's token as `f64`, or `None` when it is beyond `f64` ([`number_or_none`]).
pub(crate) fn number_value(token: &[u8]) -> Option<f64> {
    if let Some(exact) = short_number(token) {
        return Some(exact);
    }
    fits(token)
        .then(|| std::str::from_utf8(token).ok()?.parse::<f64>().ok())
        .flatten()
}

/// A JSON number of at most 15 digits with no exponent (`1653053459.68`, an
/// `approximateArrivalTimestamp`) as `f64`, without the general parse: its digits are an
/// integer below 2^53 and its scale a power of ten up to 10^15, both exact as `f64`, so
/// their quotient, rounded once, is the correctly rounded value `str::parse` gives (Clinger's
/// fast path; a property test checks). `None` for any other token (the caller parses it).
fn short_number(token: &[u8]) -> Option<f64> {
    let (negative, digits) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    // 15 digits and a point at most: the digits then fit a u64 with room to spare.
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    // One pass, a digit test per byte: the walk parses every record's timestamp on the
    // calling thread before any record is decoded (counting digits and fraction digits per
    // byte was 250 instructions a record, one-line records).
    let (mut mantissa, mut point) = (0u64, None::<usize>);
    for (at, &b) in digits.iter().enumerate() {
        let digit = b.wrapping_sub(b'0');
        if digit <= 9 {
            mantissa = mantissa * 10 + u64::from(digit);
        } else if b == b'.' && point.is_none() {
            point = Some(at);
        } else {
            return None;
        }
    }
    let count = digits.len() - usize::from(point.is_some());
    if count == 0 || count > 15 {
        return None;
    }
    let scale = point.map_or(0, |at| digits.len() - 1 - at);
    let value = scaled(mantissa, scale)?;
    Some(if negative { -value } else { value })
}

/// `mantissa / 10^scale` as `f64`, for a `mantissa` of at most 15 digits (below 2^53, exact
/// as `f64`) and `scale <= 15`: one correctly rounded division of two exact values, the value
/// `str::parse` gives the decimal ([`short_number`]).
fn scaled(mantissa: u64, scale: usize) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    Some(mantissa as f64 / POW10.get(scale)?)
}

mod layout;
#[cfg(test)]
pub(crate) mod reference;
#[cfg(test)]
mod tests;
