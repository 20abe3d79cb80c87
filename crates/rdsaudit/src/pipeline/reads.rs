//! A record's messages read as the text they came from: each audit line read into the slot
//! where it waits ([`Reads`]: held for the window rule, delivered, or discarded), and the
//! reach of a dirty line across messages ([`Reach`]).

use crate::audit::event::{AuditEvent, Provenance};
use crate::audit::scanner::LineError;
use crate::input::log_event::Rebuilt;
use crate::input::logs_api::EventPlace;
use crate::input::{multiline, text};
use crate::report::RecordOutcome;
use crate::sink::{Sink, UnparsedLine};

/// An audit line of a log event's message, read: the line, its event or why it is none.
/// Built where it is kept until delivered ([`Reads`]): an event is a few hundred bytes, and
/// each move of one is a `memcpy` call.
#[derive(Debug)]
pub(super) struct Read<'a> {
    bytes: &'a [u8],
    /// Its line number (the event's provenance has it too).
    line_number: Option<u64>,
    /// Its log event's id (the event's provenance has it too).
    event_id: Option<&'a str>,
    parsed: Result<AuditEvent<'a>, LineError>,
}

/// A [`Read`] before its parse is written: its line, line number and log event's id.
#[derive(Debug, Clone, Copy)]
pub(super) struct Unread<'a> {
    bytes: &'a [u8],
    line_number: Option<u64>,
    event_id: Option<&'a str>,
}

impl<'a> Read<'a> {
    /// The read of `line`, its parse not yet written (`Err(LineError::Empty)`).
    #[inline]
    fn unread(line: Unread<'a>) -> Self {
        Read {
            bytes: line.bytes,
            line_number: line.line_number,
            event_id: line.event_id,
            parsed: Err(LineError::Empty),
        }
    }

    /// Becomes the read of `line`, its parse not yet written: [`Read::unread`] field by
    /// field over a slot of [`Ring`], so that nothing of the read's few hundred bytes is
    /// built aside and copied.
    #[inline(always)]
    fn reset(&mut self, line: Unread<'a>) {
        self.bytes = line.bytes;
        self.line_number = line.line_number;
        self.event_id = line.event_id;
        self.parsed = Err(LineError::Empty);
    }

    /// Flags the event with a reading unlisted (the window rule: a dirty line within reach),
    /// unless it already has one.
    fn flag(&mut self) {
        if let Ok(event) = &mut self.parsed
            && event.ambiguity.omitted() == 0
        {
            event.ambiguity = event.ambiguity.with_unlisted_reading(self.bytes);
        }
    }

    /// Hands the read to `sink` and counts it; an unparsed line is told where it came from
    /// by `origin` (what its log event's reads share: its record, envelope, file) and the
    /// read. By reference: see [`Read`].
    fn deliver<S: Sink>(&self, origin: Origin<'_>, sink: &mut S, outcome: &mut RecordOutcome) {
        match &self.parsed {
            Ok(event) => {
                sink.event(event);
                outcome.add_parsed(event);
            }
            Err(reason) => {
                sink.unparsed(&UnparsedLine {
                    bytes: self.bytes,
                    reason: *reason,
                    record_index: origin.record_index,
                    sequence_number: origin.base.sequence_number,
                    log_group: origin.base.log_group,
                    log_stream: origin.base.log_stream,
                    event_id: self.event_id,
                    line_number: self.line_number,
                    file: origin.base.file,
                    place: origin.place,
                });
                outcome.add_unparsed(*reason);
            }
        }
    }
}

/// Where an unparsed line came from, beside its own line number and log event id
/// ([`Read::deliver`]): its record's index and `base`'s sequence number, log group and
/// stream, and file.
#[derive(Debug, Clone, Copy)]
struct Origin<'o> {
    record_index: Option<usize>,
    base: &'o Provenance<'o>,
    /// A logs API event's place in its output.
    place: Option<EventPlace>,
}

/// Where [`read_message`] builds its reads.
pub(super) trait Reads<'a> {
    /// Keeps the read of `line` where it stays until it is delivered, and there has `fill`
    /// write its parse.
    fn put(&mut self, line: Unread<'a>, fill: impl FnOnce(&mut Read<'a>));
}

/// Reads delivered as they are read, flagged when a dirty message is `near`
/// ([`visit_event`](super::visit_event): the window is known before the log event is read).
pub(super) struct Deliver<'d, 'b, 'a, S> {
    pub(super) sink: &'d mut S,
    pub(super) outcome: &'d mut RecordOutcome,
    pub(super) near: bool,
    pub(super) base: &'d Provenance<'b>,
    /// A logs API event's place in its output ([`crate::input::log_event::LogEvent::place`]).
    pub(super) place: Option<EventPlace>,
    /// What the message was rebuilt from ([`crate::input::log_event::LogEvent::rebuilt_from`]), until its first line
    /// is read: that line, unparsed, is reported with its bytes as read.
    pub(super) rebuilt: Option<Rebuilt<'a>>,
}

impl<'a, S: Sink> Reads<'a> for Deliver<'_, '_, 'a, S> {
    #[inline]
    fn put(&mut self, line: Unread<'a>, fill: impl FnOnce(&mut Read<'a>)) {
        let mut read = Read::unread(line);
        fill(&mut read);
        // The rebuilt line is the message's first, never blank: the first one read.
        if let Some(rebuilt) = self.rebuilt.take()
            && let Err(reason) = read.parsed
        {
            read.bytes = rebuilt.first_line_as_read(read.bytes);
            read.parsed = Err(positions_as_read(reason, &rebuilt));
        }
        if self.near {
            read.flag();
        }
        let origin = Origin {
            record_index: None,
            base: self.base,
            place: self.place,
        };
        read.deliver(origin, self.sink, self.outcome);
    }
}

/// `reason`, found in the audit line rebuilt from a line as read (`rebuilt`), with its byte
/// positions counted from the start of the line as read, the one reported: an export's or
/// `aws logs tail`'s prefix, a syslog header, come before the audit line (they counted from
/// the audit line's start: an export's return code "at byte 61" was at byte 86 of its line).
fn positions_as_read(reason: LineError, rebuilt: &Rebuilt<'_>) -> LineError {
    // A position in the bytes made up (a syslog record's timestamp) is the record's start.
    let at = |p: usize| p.saturating_sub(rebuilt.made) + rebuilt.replaced;
    match reason {
        LineError::UnterminatedObject { start } => {
            LineError::UnterminatedObject { start: at(start) }
        }
        LineError::StrayQuote { at: p } => LineError::StrayQuote { at: at(p) },
        LineError::UnquotedQuery { start } => LineError::UnquotedQuery { start: at(start) },
        LineError::MissingRetcode { at: p } => LineError::MissingRetcode { at: at(p) },
        LineError::Retcode { at: p } => LineError::Retcode { at: at(p) },
        LineError::ConnectionIdRange { at: p } => LineError::ConnectionIdRange { at: at(p) },
        LineError::QueryIdRange { at: p } => LineError::QueryIdRange { at: at(p) },
        LineError::RetcodeRange { at: p } => LineError::RetcodeRange { at: at(p) },
        other => other,
    }
}

/// The bytes from which a message of an envelope is read by [`Reach::long_message`], its
/// reads not held: far more than the window rule's reach (a message longer than it leaves
/// no read before it within reach of the messages after it), and few enough reads held
/// below it (~1,600 audit lines of ~40 bytes, under 1 MB) that the messages of ordinary
/// logs (one audit line each, or a shipper's batch of a few) take the usual way.
pub(super) const LONG_MESSAGE: usize = 64 << 10;

/// Reads delivered as they are read, all flagged or none: a message whose fate is known
/// before it is read ([`Reach::long_message`]).
pub(super) struct Direct<'d, S> {
    sink: &'d mut S,
    outcome: &'d mut RecordOutcome,
    origin: Origin<'d>,
    flag: bool,
}

impl<'a, S: Sink> Reads<'a> for Direct<'_, S> {
    fn put(&mut self, line: Unread<'a>, fill: impl FnOnce(&mut Read<'a>)) {
        let mut read = Read::unread(line);
        fill(&mut read);
        if self.flag {
            read.flag();
        }
        read.deliver(self.origin, self.sink, self.outcome);
    }
}

/// Reads only read, to know whether the message is dirty ([`is_dirty`](super::is_dirty)).
pub(super) struct Discard;

impl<'a> Reads<'a> for Discard {
    fn put(&mut self, line: Unread<'a>, fill: impl FnOnce(&mut Read<'a>)) {
        fill(&mut Read::unread(line));
    }
}

/// One log event's message, split into its audit lines (`lines`: [`multiline::audit_lines`]),
/// each scanned into `out` with `base`'s provenance. `line` is the input line for text
/// shapes (`base.line_number` is where the event starts), the line within the message for a
/// CloudWatch event that held several, and absent otherwise. `time_us` replaces the time of
/// the message's first line (syslog: the header's time, which the line lacks). Returns the
/// blank lines skipped and whether the message is dirty under the window rule (a line of it
/// does not read alone, or it is blank: [`Reach`]).
#[inline(always)]
pub(super) fn read_message<'a>(
    lines: multiline::AuditLines<'a>,
    base: &Provenance<'a>,
    time_us: Option<i64>,
    out: &mut impl Reads<'a>,
) -> (u64, bool) {
    let split = lines.is_split();
    read_lines((lines, split), base, time_us, out)
}

/// [`read_message`] of `lines` whose [`multiline::AuditLines::is_split`] is known: `false`
/// for [`multiline::unbroken_lines`] (one line), where asking was a call of ~25
/// instructions for every log event of an envelope.
#[inline(always)]
pub(super) fn read_lines<'a>(
    (mut lines, split): (multiline::AuditLines<'a>, bool),
    base: &Provenance<'a>,
    time_us: Option<i64>,
    out: &mut impl Reads<'a>,
) -> (u64, bool) {
    debug_assert_eq!(split, lines.is_split());
    let mut unparsed = false;
    while let Some((in_message, bytes)) = lines.next() {
        let line_number = match base.line_number {
            Some(first) => Some(first + in_message - 1),
            None => split.then_some(in_message),
        };
        let unread = Unread {
            bytes,
            line_number,
            event_id: base.event_id,
        };
        out.put(unread, |read| {
            lines.parse_into(&mut read.parsed);
            match &mut read.parsed {
                Ok(event) => {
                    event.provenance = Provenance {
                        line_number,
                        ..*base
                    };
                    if let Some(us) = time_us.filter(|_| in_message == 1) {
                        event.timestamp.epoch_us = us;
                    }
                }
                Err(_) => unparsed = true,
            }
        });
    }
    let blank_lines = lines.blank_lines();
    (blank_lines, unparsed || blank_lines > 0 || lines.is_cut())
}

/// Where a message lies in the text its envelope's messages came from, given where it starts:
/// its text (up to its own final `\n`, when a shipper kept it), and where the next message
/// starts (after that break, or after the one a shipper took out).
pub(super) fn text_span(message: &[u8], at: u64) -> ((u64, u64), u64) {
    let own_break = u64::from(message.ends_with(b"\n"));
    let len = message.len() as u64;
    ((at, at + len - own_break), at + len + 1 - own_break)
}

/// The window rule across the log events of one envelope (docs/HOSTILE.md rule 4). A shipper
/// may put each physical line of a record in a log event of its own, so a name's raw break
/// can end a message and a forged line in the name be a message that reads alone. The
/// envelope's messages are read as the text they came from, one after the other with a break
/// between: an event is plain only when no dirty message (one that is blank, holds a line
/// that does not read alone, or is a piece of a record) lies within
/// [`text::MAX_NAMES_BYTES`] of text of its own. Reads wait here until no message still to
/// come can reach them (at most 4 KiB of text of them), then go to the sink in order.
pub(super) struct Reach<'a> {
    /// Reads not yet delivered, each with where its message's text ends.
    pub(super) held: Ring<'a>,
    /// Where the last dirty message's text ends.
    pub(super) last_dirty: Option<u64>,
    /// Where the envelope's unparsed lines came from (its log events' provenance, less the
    /// event's id: [`Read::deliver`]).
    pub(super) origin: (Option<usize>, Provenance<'a>),
}

impl<'a> Reach<'a> {
    /// Delivers the reads that no message starting at `start` or later can reach.
    pub(super) fn settle<S: Sink>(
        &mut self,
        start: u64,
        sink: &mut S,
        outcome: &mut RecordOutcome,
    ) {
        while let Some((end, read)) = self.held.front() {
            if text::within_reach(*end, start) {
                break;
            }
            read.deliver(self.origin(), sink, outcome);
            self.held.pop_front();
        }
    }

    /// Reads a message of one line whose text lies from `start` to `end` in the envelope's:
    /// `read` hands its read to the [`Hold`] and says whether the message is dirty. Its read
    /// is held to the message's end (it ends right after it).
    #[inline(always)]
    pub(super) fn message(
        &mut self,
        (start, end): (u64, u64),
        read: impl FnOnce(&mut Hold<'_, 'a, Kept>) -> bool,
    ) {
        let near = self.near(start);
        let dirty = read(&mut Hold {
            held: &mut self.held,
            end,
            near,
            out: Kept,
        });
        self.ended(end, dirty);
    }

    /// [`Reach::message`] for a message of any number of lines: once a line of it does not
    /// read, the reads held go to `sink` and the message's next reads as they are read
    /// ([`Hold::put`]).
    #[inline(always)]
    pub(super) fn message_of_lines<S: Sink>(
        &mut self,
        (start, end): (u64, u64),
        (sink, outcome): (&mut S, &mut RecordOutcome),
        read: impl FnOnce(&mut Hold<'_, 'a, Streamed<'_, S>>) -> bool,
    ) {
        let near = self.near(start);
        let (record_index, ref base) = self.origin;
        let origin = Origin {
            record_index,
            base,
            place: None,
        };
        let dirty = read(&mut Hold {
            held: &mut self.held,
            end,
            near,
            out: Streamed {
                sink,
                outcome,
                origin,
                dirty: false,
            },
        });
        self.ended(end, dirty);
    }

    /// Reads a message of at least [`LONG_MESSAGE`] bytes whose text lies from `start` to
    /// `end` (the next message starting at `next`) without holding its reads, when its fate
    /// can be known before it is read: `read` reads it into the [`Direct`] it is given and
    /// returns the blank lines it skipped, returned here. `None` (nothing read, nothing
    /// delivered) when reads held before it would wait past it, for
    /// [`Reach::message_of_lines`] to read it.
    ///
    /// A held read waits only to learn whether a dirty message within reach follows: a
    /// clean message of 400,000 lines held 400,000 reads of ~430 bytes (more with listed
    /// readings) to its end (session 31's adversary B, F1: 376 MB, and 1 GB for 10 messages
    /// of 15,000 records cut by names). What can flag a message's reads is known before
    /// they are read: `dirty` (the message itself, read once into nothing) and `after` (a
    /// message within reach after its end is dirty), or a dirty message before it within
    /// reach. So:
    /// - dirty: every read held is flagged and delivered (as its end would), and its reads
    ///   are flagged and delivered as they are read;
    /// - clean: the reads held go out as the next message's start would send them (it
    ///   flags none, and no message after it is within reach of them: it is longer than
    ///   the reach), then its reads, flagged when a dirty message is within reach before or
    ///   `after` it.
    ///
    /// The sink is told the same things in the same order as when they were held.
    pub(super) fn long_message<S: Sink>(
        &mut self,
        ((start, end), next): ((u64, u64), u64),
        (sink, outcome): (&mut S, &mut RecordOutcome),
        (dirty, after): (bool, impl FnOnce() -> bool),
        read: impl FnOnce(&mut Direct<'_, S>) -> u64,
    ) -> Option<u64> {
        let flag = if dirty {
            self.flush_flagged(sink, outcome);
            true
        } else {
            self.settle(next, sink, outcome);
            if self.held.front().is_some() {
                return None;
            }
            self.near(start) || after()
        };
        let (record_index, ref base) = self.origin;
        let blank_lines = read(&mut Direct {
            sink,
            outcome,
            origin: Origin {
                record_index,
                base,
                place: None,
            },
            flag,
        });
        self.ended(end, dirty);
        Some(blank_lines)
    }

    /// An entry of the envelope's `logEvents` that could not be read (`line`: its JSON, kept
    /// whole), whose text lies from `start` to `end`: dirty, as a line that does not read
    /// is (what its message held cannot be known). The reads held within reach of it are
    /// flagged, and they, then it, go to `sink`.
    pub(super) fn failed_event<S: Sink>(
        &mut self,
        (start, end): (u64, u64),
        line: &UnparsedLine<'_>,
        sink: &mut S,
        outcome: &mut RecordOutcome,
    ) {
        self.settle(start, sink, outcome);
        self.ended(end, true);
        self.finish(sink, outcome);
        sink.unparsed(line);
        outcome.add_unparsed(line.reason);
    }

    /// Flags every read held and delivers them, in order (a dirty message follows).
    fn flush_flagged<S: Sink>(&mut self, sink: &mut S, outcome: &mut RecordOutcome) {
        self.held.for_each(Read::flag);
        self.finish(sink, outcome);
    }

    /// Whether the last dirty message lies within reach of a message starting at `start`.
    #[inline(always)]
    fn near(&self, start: u64) -> bool {
        self.last_dirty
            .is_some_and(|d| text::within_reach(d, start))
    }

    /// A message whose text ends at `end` was read.
    #[inline(always)]
    fn ended(&mut self, end: u64, dirty: bool) {
        if dirty {
            // Every read still held ends within reach of this message's start.
            self.held.for_each(Read::flag);
            self.last_dirty = Some(end);
        }
    }

    /// Delivers every read still held (the envelope's end).
    pub(super) fn finish<S: Sink>(&mut self, sink: &mut S, outcome: &mut RecordOutcome) {
        let origin = self.origin();
        let (front, back) = self.held.pending();
        for (_, read) in front.iter().chain(back) {
            read.deliver(origin, sink, outcome);
        }
        self.held.clear();
    }

    fn origin(&self) -> Origin<'_> {
        let (record_index, ref base) = self.origin;
        Origin {
            record_index,
            base,
            place: None,
        }
    }
}

/// Where [`Reach::message`]'s reads of one message go: each is built at the back of the held
/// reads (until a line of the message does not read: [`Streamed`]). A type of its own, not
/// a `dyn` closure: [`read_message`] is then compiled with the push inlined, not called
/// through a pointer per read.
pub(super) struct Hold<'h, 'a, O> {
    held: &'h mut Ring<'a>,
    /// Where the message's text ends.
    end: u64,
    /// Whether a dirty message before it lies within reach.
    near: bool,
    /// Where the reads of a message known dirty go.
    out: O,
}

/// Where a [`Hold`] sends the reads of a message once a line of it does not read.
pub(super) trait Outlet<'a> {
    /// Whether it takes them then (else they are held to the message's end).
    const STREAMS: bool;

    /// Whether a line of the message did not read (always `false` when not
    /// [`Outlet::STREAMS`]).
    fn dirty(&self) -> bool;

    /// Notes that a line of the message did not read.
    fn turn_dirty(&mut self);

    /// Hands `read` to the sink.
    fn deliver(&mut self, read: &Read<'a>);
}

/// A message of one line: its read is held to its end, right after it (no cost for the
/// envelopes whose messages hold no break, [`crate::input::envelope::LogEnvelope::unbroken`]).
pub(super) struct Kept;

impl<'a> Outlet<'a> for Kept {
    const STREAMS: bool = false;

    #[inline(always)]
    fn dirty(&self) -> bool {
        false
    }

    fn turn_dirty(&mut self) {}

    fn deliver(&mut self, _: &Read<'a>) {}
}

/// A message of any number of lines: once one of them does not read, the reads go to `sink`.
pub(super) struct Streamed<'o, S> {
    sink: &'o mut S,
    outcome: &'o mut RecordOutcome,
    origin: Origin<'o>,
    /// Whether a line of the message did not read.
    dirty: bool,
}

impl<'a, S: Sink> Outlet<'a> for Streamed<'_, S> {
    const STREAMS: bool = true;

    #[inline(always)]
    fn dirty(&self) -> bool {
        self.dirty
    }

    fn turn_dirty(&mut self) {
        self.dirty = true;
    }

    fn deliver(&mut self, read: &Read<'a>) {
        read.deliver(self.origin, self.sink, self.outcome);
    }
}

impl<'a, O: Outlet<'a>> Reads<'a> for Hold<'_, 'a, O> {
    /// Keeps `read` at the back, its parse written there, flagged if a dirty message is near.
    /// Always inlined: as a call (one a log event) it saved and restored six registers and
    /// took its line and `fill`'s captures through the stack.
    ///
    /// With [`Streamed`], a read that does not parse makes its message dirty: the reads held
    /// (this message's, and those before it within reach) are flagged now, as the message's
    /// end would flag them, and nothing still to come can change them, so they go to the
    /// sink here; the message's reads after it are flagged and delivered as they are read.
    /// So an unparsed line is never held: a message of 500,000 lines that do not read held
    /// 500,000 reads of ~430 bytes each until its end (session 30's review: 213 MB for a
    /// 2,890-byte Kinesis event; a 16 MiB record, GBs).
    #[inline(always)]
    fn put(&mut self, line: Unread<'a>, fill: impl FnOnce(&mut Read<'a>)) {
        if O::STREAMS && self.out.dirty() {
            self.deliver_now(line, fill);
            return;
        }
        // Always there (just made); were it not, the line would be lost, not a panic.
        if let Some(read) = self.held.push_back(self.end, line) {
            fill(read);
            if self.near {
                read.flag();
            }
            if O::STREAMS && read.parsed.is_err() {
                self.turn_dirty();
            }
        }
    }
}

impl<'a, O: Outlet<'a>> Hold<'_, 'a, O> {
    /// A read of a message known dirty: flagged, delivered at once.
    #[inline(never)]
    fn deliver_now(&mut self, line: Unread<'a>, fill: impl FnOnce(&mut Read<'a>)) {
        let mut read = Read::unread(line);
        fill(&mut read);
        read.flag();
        self.out.deliver(&read);
    }

    /// The message is dirty: every read held is flagged and delivered, in order.
    #[inline(never)]
    fn turn_dirty(&mut self) {
        self.out.turn_dirty();
        self.held.for_each(Read::flag);
        let (front, back) = self.held.pending();
        for (_, read) in front.iter().chain(back) {
            self.out.deliver(read);
        }
        self.held.clear();
    }
}

/// A read and where its message's text ends.
type Slot<'a> = (u64, Read<'a>);

/// The reads a [`Reach`] holds, in order: a ring over the slots of a `Vec`, `count` of them
/// from `head` on (wrapping); the other slots hold reads delivered (dropped when a read is
/// made over them) or blank ones. Not a `VecDeque`: its only way to build a read in place
/// at the back, `resize_with`, was a call of 61 instructions a read on 500 records of 200
/// events, and `push_back` builds the read aside and copies it in (a `memcpy` call).
#[derive(Debug)]
pub(super) struct Ring<'a> {
    slots: Vec<Slot<'a>>,
    head: usize,
    count: usize,
}

impl<'a> Ring<'a> {
    /// A ring holding no read over `slots`' room (`slots` is emptied).
    pub(super) fn new(mut slots: Vec<Slot<'a>>) -> Self {
        slots.clear();
        Ring {
            slots,
            head: 0,
            count: 0,
        }
    }

    /// Its slots, emptied, for the room to be kept.
    pub(super) fn into_slots(mut self) -> Vec<Slot<'a>> {
        self.slots.clear();
        self.slots
    }

    /// The first read held.
    fn front(&self) -> Option<&Slot<'a>> {
        self.slots.get(self.head).filter(|_| self.count > 0)
    }

    /// Lets the first read go (it is dropped when a read is made over its slot).
    fn pop_front(&mut self) {
        if self.count > 0 {
            self.count -= 1;
            self.head = self.wrap(self.head + 1);
        }
    }

    /// Makes the read of `line` at the back, its message's text ending at `end`: over the
    /// slot after the last read held, field by field ([`Read::reset`]); when every slot
    /// holds one, in a new slot at the end if they are in order (`Vec::resize_with`, built in
    /// place and inlined), else after the slots are put in order and doubled with blank
    /// reads, so each read is moved a bounded number of times on average.
    #[inline(always)]
    fn push_back(&mut self, end: u64, line: Unread<'a>) -> Option<&mut Read<'a>> {
        if self.count == self.slots.len() {
            if self.head == 0 {
                // Every record's first read lands here: sixteen blank slots made for it
                // cost more than the read (6,000 one-line records: +0.8 M, not -0.6 M).
                let len = self.slots.len();
                self.slots
                    .resize_with(len + 1, || (end, Read::unread(line)));
                self.count += 1;
                return self.slots.last_mut().map(|(_, read)| read);
            }
            self.grow();
        }
        let at = self.wrap(self.head + self.count);
        let (slot_end, read) = self.slots.get_mut(at)?;
        self.count += 1;
        *slot_end = end;
        read.reset(line);
        Some(read)
    }

    /// Puts the reads in order from the first slot and doubles the slots.
    #[inline(never)]
    fn grow(&mut self) {
        self.slots.rotate_left(self.head);
        self.head = 0;
        let more = self.slots.len();
        let blank = Unread {
            bytes: &[],
            line_number: None,
            event_id: None,
        };
        self.slots
            .resize_with(self.slots.len() + more, || (0, Read::unread(blank)));
    }

    /// `at` (below twice the slots) as a slot's index.
    #[inline(always)]
    fn wrap(&self, at: usize) -> usize {
        if at >= self.slots.len() {
            at - self.slots.len()
        } else {
            at
        }
    }

    /// The reads held, in order: those up to the end of the slots, then those from the
    /// first slot.
    fn pending(&self) -> (&[Slot<'a>], &[Slot<'a>]) {
        let (before, after) = self.slots.split_at(self.head.min(self.slots.len()));
        let first = after.len().min(self.count);
        let front = after.get(..first).unwrap_or_default();
        let back = before.get(..self.count - first).unwrap_or_default();
        (front, back)
    }

    /// Runs `f` on each read held.
    fn for_each(&mut self, mut f: impl FnMut(&mut Read<'a>)) {
        let head = self.head.min(self.slots.len());
        let (before, after) = self.slots.split_at_mut(head);
        let first = after.len().min(self.count);
        let front = after.get_mut(..first).unwrap_or_default();
        let back = before.get_mut(..self.count - first).unwrap_or_default();
        front.iter_mut().chain(back).for_each(|(_, read)| f(read));
    }

    /// Holds no read, the slots' room kept.
    fn clear(&mut self) {
        self.slots.clear();
        (self.head, self.count) = (0, 0);
    }

    /// How many slots it has room for.
    pub(super) fn capacity(&self) -> usize {
        self.slots.capacity()
    }
}

#[cfg(test)]
mod tests;
