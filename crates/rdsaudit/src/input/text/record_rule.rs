//! The record rule: where a record starts and ends (its first line, the continuation
//! candidates after it, the longest join that reads, RDS's truncation marker), each line's
//! parse kept for when it is read. The window rule over it is in the parent module.

use crate::audit::event::AuditEvent;
use crate::audit::scanner::{
    LineError, parse_line, parse_unbroken_into, parse_unbroken_line, starts_with_timestamp,
};

use super::{
    MAX_CONTINUATIONS, MAX_NAME_BREAKS, Records, Span, ends_with_marker, is_blank_line, is_marker,
    line_found, line_of,
};

impl<'a> Records<'a> {
    /// Reads the next record under the record rule onto the back of `held`, its parse written
    /// in place into its slot. Under the window rule, a dirty record (it joined lines or does
    /// not parse) flags the records held near it, itself included. Always inlined: the
    /// common line is then read inside `next_in_place`'s loop, with no call of its own.
    #[inline(always)]
    pub(super) fn next_record(&mut self) -> Option<()> {
        match self.next_alone() {
            Some(read) => read,
            None => self.next_general(),
        }
    }

    /// [`Records::next_record`] for any record: the general way. Out of line: its frame and
    /// saved registers are not paid by the common line's read.
    #[inline(never)]
    fn next_general(&mut self) -> Option<()> {
        // Skip blank lines. A name can hold `\n\n`: the line before them stays the possible
        // head of the next record (`head_before`) across as many as a name can hold.
        while self.pos < self.buf.len().min(self.stop) {
            let rest = self.tail(self.pos);
            // In a window, a line that is not whole is not known to be blank (a last CR may
            // be half a CRLF).
            if self.looked_past() || !is_blank_line(rest) {
                break;
            }
            let (end, next) = self.line_at(self.pos);
            if self.window_rule {
                self.dirty(self.pos as u64, end as u64);
            }
            self.pos = next;
            self.line_number += 1;
            self.blank_lines += 1;
        }
        if self.pos >= self.buf.len().min(self.stop) || self.looked_past() {
            return None;
        }
        let start = self.pos;
        let line_number = self.line_number;
        // The record's parse's slot, filled in place by `record_at` (no move of the parse
        // after).
        self.reading = self.take_slot();
        let span = self.record_at(start);
        self.finish_record(start, line_number, span)
    }

    /// The rest of [`Records::next_record`] once the record starting at `start` (on line
    /// `line_number`) is read to `span`, its parse in its slot: the heads, chains and flags
    /// of the rule, and the record held.
    fn finish_record(&mut self, start: usize, line_number: u64, span: Span) -> Option<()> {
        let Span {
            end,
            next,
            joined,
            last_line,
            forward_end,
        } = span;
        if self.looked_past() {
            // Not final: the text after the window may change it.
            self.drop_reading();
            return None;
        }
        let reads = self.last_reads();
        let plain = reads && joined == 0 && forward_end.is_none() && !self.orphans;
        if self.alone_way && plain && self.head_before.is_none() {
            return self.hold_alone(start, line_number, end, next);
        }
        if self.line_number.saturating_sub(self.head_line) > MAX_NAME_BREAKS {
            // Farther back than a name's line breaks reach.
            self.head_before = None;
        }
        // Records each the possible head of the next (lines no join took, heads kept across
        // unparsed records) are a chain the text cannot be cut inside. A chain is cut once it
        // is longer than a name's breaks reach, so that a flood of such records (review 5's
        // R5-5) cannot pin a stream's window: the record there is flagged, its head's reading
        // unlisted.
        let chain_cut = self.head_before.is_some()
            && line_number.saturating_sub(self.chain_line) > MAX_NAME_BREAKS;
        if chain_cut {
            (self.head_before, self.last_head) = (None, None);
        }
        // A record that does not read, after a head with a timestamp, may be a piece of the
        // same record (a name holding `x⏎1⏎<forged line>`): the head stays the head.
        let keep_head = !reads
            && self
                .head_before
                .is_some_and(|h| starts_with_timestamp(self.tail(h)));
        if self.head_before.is_none() || (!reads && !keep_head) {
            // Nothing before this record can change it (`head_before` only flags a record
            // that parses): the text can be cut here.
            (self.chain_start, self.chain_line) = (start, line_number);
        }
        if reads {
            // The line before may be the head of this record (it did not parse, or a join
            // took it), and the next record may be its rest (it only reads joined); where
            // they read as one record with this one, a raw line break in a name may have cut
            // a record here: flag it.
            let from = match (self.last_head, self.head_before) {
                (Some(near), Some(far)) if near != far && self.parse(near, end).is_ok() => near,
                (_, far) => far.unwrap_or(start),
            };
            let to = forward_end.unwrap_or(end);
            let buf = self.buf;
            if let Some(Ok(event)) = self.last_parsed() {
                if from < start || to > end {
                    let record = buf.get(from..to).unwrap_or_default();
                    let (own_start, own_end) = (start - from, end - from);
                    crate::audit::scanner::flag_cut_record(event, record, own_start, own_end);
                }
                if chain_cut {
                    let record = buf.get(start..end).unwrap_or_default();
                    event.ambiguity = event.ambiguity.with_unlisted_reading(record);
                }
            }
        }
        let (head, head_line) = match reads {
            false if keep_head => (self.head_before, self.head_line),
            true if self.orphans => (Some(start), line_number),
            false => (Some(start), line_number),
            true => (
                last_line.filter(|&l| starts_with_timestamp(self.tail(l))),
                line_number + joined,
            ),
        };
        let near = (!reads)
            .then_some(start)
            .filter(|&s| starts_with_timestamp(self.tail(s)));
        self.last_head = near.or(if keep_head { self.last_head } else { None });
        (self.head_before, self.head_line) = (head, head_line);
        self.line_number += 1 + joined;
        self.pos = next;
        let dirty = joined > 0 || !reads;
        if dirty && self.window_rule {
            self.dirty(start as u64, end as u64);
        }
        self.hold(line_number, start, end, dirty)
    }

    /// Holds the record being read, which starts at `start` on line `line_number` and whose
    /// last line's text ends at `end`: its slot, written where it lies, joins `held`.
    /// `dirty`: it does not read alone (it is flagged, as are records starting within the
    /// window's reach after a dirty line).
    #[inline(always)]
    fn hold(&mut self, line_number: u64, start: usize, end: usize, dirty: bool) -> Option<()> {
        let flagged = dirty || (start as u64) < self.flag_before;
        let slot = self.parses.get_mut(self.reading)?;
        (slot.line_number, slot.start, slot.end, slot.flagged) = (line_number, start, end, flagged);
        self.held.push_back(self.reading);
        if self.window_rule && self.held.len() == 1 {
            self.note_front();
        }
        Some(())
    }

    /// [`Records::next_record`] for the common line, whole: the line at `pos` was parsed alone
    /// by the look-ahead and reads, no record before it may be its head (`head_before`, lines
    /// no join took), it ends with no marker, and the text is no window. It is then its
    /// record when the line after it reads alone too (or the text ends), asked here with the
    /// look-ahead moved on to that line: what the general way finds through its blank-line
    /// skip, [`Records::record_at`]'s first look and [`Records::hold_alone`], without their
    /// other cases. When the line after does not read alone, the record is read on the
    /// general way from there. `None` (nothing done) when the line is not such a line.
    // Always inlined into `next_record`, and its helpers into it: the common line's whole
    // read is then one function with no calls but the break search and the parse (each call
    // of a helper saved and restored a handful of registers, ~15% of the reader's own
    // instructions on a plain log).
    #[inline(always)]
    fn next_alone(&mut self) -> Option<Option<()>> {
        let start = self.pos;
        let (at, end, next) = self.lookahead_at?;
        let common = at == start
            && self.alone_way
            && start < self.stop
            && self.window.is_none()
            && self.head_before.is_none()
            && !self.orphans
            && self.lookahead_reads(start);
        if !common || self.ends_with_marker(self.buf.get(start..end)?) {
            return None;
        }
        let line_number = self.line_number;
        // The record takes the look-ahead's slot, the look-ahead a free one (as
        // `parse_alone` swaps them).
        let free = self.take_slot();
        self.reading = std::mem::replace(&mut self.lookahead, free);
        self.lookahead_at = None;
        if !self.next_reads_alone(next) {
            return Some(self.joined_after_alone(start, line_number, end, next));
        }
        Some(self.hold_alone(start, line_number, end, next))
    }

    /// [`Records::next_alone`]'s record (its first line ending at `end`, the next line at
    /// `next`) when the line after it does not read alone: read on from its first line the
    /// general way. Out of line: the common line's read stays small.
    #[inline(never)]
    fn joined_after_alone(
        &mut self,
        start: usize,
        line_number: u64,
        end: usize,
        next: usize,
    ) -> Option<()> {
        let span = Span {
            end,
            next,
            joined: 0,
            last_line: None,
            forward_end: None,
        };
        let span = self.join_after(start, span, true);
        self.finish_record(start, line_number, span)
    }

    /// [`Records::next_record`]'s end for a record that is its one line, read alone, after a
    /// record that is no possible head of it (`head_before` is none), with no record after
    /// it read with it: what the general end does then, without the cases that cannot arise
    /// (no head to flag it from, no chain to cut, nothing dirty). The text can be cut before
    /// it, and it is no head of the next record.
    #[inline(always)]
    fn hold_alone(
        &mut self,
        start: usize,
        line_number: u64,
        end: usize,
        next: usize,
    ) -> Option<()> {
        (self.chain_start, self.chain_line) = (start, line_number);
        (self.head_line, self.last_head) = (line_number, None);
        self.line_number += 1;
        self.pos = next;
        self.hold(line_number, start, end, false)
    }

    /// Whether the record being read parses (as far as it is read).
    fn last_reads(&self) -> bool {
        self.parses
            .get(self.reading)
            .is_some_and(|s| s.parsed.is_ok())
    }

    /// Writes the parse of the record being read into its slot.
    fn set_parsed(&mut self, parsed: Result<AuditEvent<'a>, LineError>) {
        if let Some(slot) = self.last_parsed() {
            *slot = parsed;
        }
    }

    /// Where the text can be cut after the records read so far: decoding the text before
    /// the cut and the text from it on separately (from line 1 or the line it is, each with
    /// [`records`](super::records), or the first with [`records_in_window`](super::records_in_window) and [`Records::stop_at`] the cut)
    /// gives the same records, parses and line numbers as decoding the whole. That is where
    /// the next record starts, or, when the record read last may be the head of the next one
    /// (`head_before`), where the last record that nothing before it could change starts
    /// (one that did not parse, or had no head before it).
    #[must_use]
    pub fn cut(&self) -> usize {
        if self.head_before.is_some() {
            self.chain_start
        } else {
            self.pos
        }
    }

    /// Blank lines skipped so far between the records read (a blank line inside a record,
    /// joined to it, is the record's): counted, so that every line of the text is a record's
    /// or a counted blank line.
    #[must_use]
    pub fn blank_lines(&self) -> u64 {
        self.blank_lines
    }

    /// The same records read the general way only (no short way for a line that reads
    /// alone): the reference the short way is checked against.
    #[cfg(test)]
    pub(super) fn general_way(mut self) -> Self {
        self.alone_way = false;
        self
    }

    /// Reads no record that starts at `stop` or after (the rest of a window past its cut).
    #[must_use]
    pub fn stop_at(mut self, stop: usize) -> Self {
        self.stop = stop;
        self
    }

    /// With a window: whether the rule has looked at a line that is not whole in it (the
    /// record being read is not final).
    pub(super) fn looked_past(&self) -> bool {
        self.window.as_ref().is_some_and(|w| w.looked_past.get())
    }

    /// Notes a look at the line starting at `from` (a window's lines past its whole ones are
    /// not known yet).
    fn look(&self, from: usize) {
        if let Some(w) = &self.window
            && from >= w.whole_end
        {
            w.looked_past.set(true);
        }
    }

    /// The physical line starting at `from`: its end (index of its break, or the buffer's
    /// end) and where the next line starts.
    fn line_at(&self, from: usize) -> (usize, usize) {
        self.look(from);
        line_found(
            self.buf,
            from,
            self.breaks.find(self.buf.get(from..).unwrap_or_default()),
        )
    }

    fn parse(&self, start: usize, end: usize) -> Result<AuditEvent<'a>, LineError> {
        parse_line(self.buf.get(start..end).unwrap_or_default())
    }

    /// [`Records::parse`] of the one line at `start`, whose end `end` is
    /// [`Records::line_at`]'s: its first `\n` or `\r` (or the buffer's end), so the line holds
    /// no break and the scanner skips its searches for one ([`parse_unbroken_line`]).
    fn parse_one_line(&self, start: usize, end: usize) -> Result<AuditEvent<'a>, LineError> {
        parse_unbroken_line(self.buf.get(start..end).unwrap_or_default())
    }

    /// Reads the line at `start` alone into the record's slot, from the look-ahead when it
    /// was read there (the slots swapped: the record takes the look-ahead's, the look-ahead
    /// the record's empty one).
    fn parse_alone(&mut self, start: usize, end: usize) {
        if self.lookahead_at.take().is_some_and(|(at, ..)| at == start) {
            std::mem::swap(&mut self.reading, &mut self.lookahead);
        } else {
            let parsed = self.parse_one_line(start, end);
            self.set_parsed(parsed);
        }
    }

    /// The text from `from` on: every look of the rule at a line goes through here or
    /// [`Records::line_at`], so a window knows when the rule looked past its whole lines.
    fn tail(&self, from: usize) -> &'a [u8] {
        self.look(from);
        self.buf.get(from..).unwrap_or_default()
    }

    /// Whether the line at `from` starts a record (see the module docs); its parse alone is
    /// kept for when it is read. Parsed first: a line that parses begins with a timestamp,
    /// so the common line's timestamp is read once, by the parse.
    fn starts_record(&mut self, from: usize) -> bool {
        let (end, next) = self.line_at(from);
        let reads = self.parse_ahead(from, end, next);
        reads
            || (starts_with_timestamp(self.tail(from))
                && (self.ends_with_marker(self.buf.get(from..end).unwrap_or_default())
                    || self.first_join(from, next).is_some()
                    || self.marker_after_plain(next)))
    }

    /// Parses the line at `from` (ending at `end`, the next line at `next`) alone into the
    /// look-ahead, unless it is there already (the common line's look-ahead asks first
    /// whether the next line reads alone, [`Records::next_reads_alone`], and the rule may then
    /// ask whether it starts a record); returns whether it reads.
    #[inline(always)]
    fn parse_ahead(&mut self, from: usize, end: usize, next: usize) -> bool {
        if self.lookahead_at.is_some_and(|(at, ..)| at == from) {
            return self.lookahead_reads(from);
        }
        // Parsed in its slot (no move of the parse); the line ends at its first break.
        let line = self.buf.get(from..end).unwrap_or_default();
        let reads = match self.parses.get_mut(self.lookahead) {
            Some(slot) => {
                parse_unbroken_into(line, &mut slot.parsed);
                slot.parsed.is_ok()
            }
            None => parse_unbroken_line(line).is_ok(),
        };
        self.lookahead_at = Some((from, end, next));
        reads
    }

    /// Whether the text ends at `next` or the line there reads alone (parsed into the
    /// look-ahead): then a first line that reads alone is its record, whole. It neither joins
    /// the next line (a line that reads alone starts a record and stands, so the join loop
    /// stops at it) nor is read with it (the record after reads alone: no forward join).
    #[inline(always)]
    fn next_reads_alone(&mut self, next: usize) -> bool {
        let rest = self.tail(next);
        if rest.is_empty() {
            return true;
        }
        // `line_at`, inlined (`tail` has noted the look).
        let (end, after) = line_found(self.buf, next, self.breaks.find(rest));
        self.parse_ahead(next, end, after)
    }

    /// Whether a marker line follows the plain continuations from `next` on (at most
    /// [`MAX_CONTINUATIONS`]): the timestamp line before them starts the record RDS cut.
    fn marker_after_plain(&self, mut next: usize) -> bool {
        for _ in 0..=MAX_CONTINUATIONS {
            let rest = self.tail(next);
            if self.is_marker(line_of(rest)) && !rest.is_empty() {
                return true;
            }
            if rest.is_empty() || !self.is_plain_continuation(rest) {
                return false;
            }
            next = self.line_at(next).1;
        }
        false
    }

    /// Where the first join of the line at `start` with the lines from `next` on that parses
    /// ends: blank lines and lines that do not read alone, no marker, at most
    /// [`MAX_CONTINUATIONS`].
    fn first_join(&self, start: usize, mut next: usize) -> Option<usize> {
        for _ in 0..MAX_CONTINUATIONS {
            let rest = self.tail(next);
            let (end, after) = self.line_at(next);
            let stands = starts_with_timestamp(rest) && self.parse_one_line(next, end).is_ok();
            if rest.is_empty() || self.is_marker(line_of(rest)) || stands {
                return None;
            }
            if !is_blank_line(rest) && self.parse(start, end).is_ok() {
                return Some(end);
            }
            next = after;
        }
        None
    }

    /// The record starting at `start` (see the module docs for the rule).
    /// Its parse is written into its slot, the last record held: the first line alone, until
    /// a longer join that reads takes its place (each move of a parse, a few hundred bytes,
    /// is a copy per line).
    fn record_at(&mut self, start: usize) -> Span {
        let (first_end, first_next) = match self.lookahead_at {
            // The look-ahead found where this line ends (a `memchr2` per line saved).
            Some((at, end, next)) if at == start => {
                self.look(start);
                (end, next)
            }
            _ => self.line_at(start),
        };
        let span = Span {
            end: first_end,
            next: first_next,
            joined: 0,
            last_line: None,
            forward_end: None,
        };
        let first = self.buf.get(start..first_end).unwrap_or_default();
        // The marker alone also ends with the marker: for a log line, ending with the
        // marker's last byte or not settles both (the marker's trims and compare skipped).
        if self.ends_with_marker(first) {
            let cut = if self.is_marker(first) {
                LineError::TruncationMarker
            } else {
                LineError::Truncated
            };
            self.set_parsed(Err(cut));
            return span;
        }
        self.parse_alone(start, first_end);
        let alone_reads = self.last_reads();
        if self.alone_way && alone_reads && self.next_reads_alone(first_next) {
            // The common line: what the loop below finds in its first look, without it.
            self.orphans = false;
            return span;
        }
        self.join_after(start, span, alone_reads)
    }

    /// [`Records::record_at`] after its first line (`span`: that line alone, its parse in the
    /// record's slot; `alone_reads`: whether it reads): the continuation candidates, the
    /// longest join that reads, the marker, the forward join and the look past the window.
    fn join_after(&mut self, start: usize, mut span: Span, alone_reads: bool) -> Span {
        let (first_end, first_next) = (span.end, span.next);
        let first = self.buf.get(start..first_end).unwrap_or_default();
        // A join can only read from a line that begins with a timestamp (as every line that
        // parses does).
        let joinable = alone_reads || starts_with_timestamp(first);
        let (mut end, mut next) = (first_end, first_next);
        let mut window_full = true;
        let mut forward = None;
        // Where the last line that is not blank ends, of those after the first.
        let mut last_text_end = None;
        self.orphans = false;
        for joined in 1..=MAX_CONTINUATIONS {
            let rest = self.tail(next);
            if rest.is_empty() {
                window_full = false;
                break;
            }
            // A line that starts a record only joined with the lines after it is still taken
            // by a first line that reads no other way: one record, never two unparsed halves.
            if self.starts_record(next) {
                let joined_only = !self.lookahead_reads(next);
                if !(joined_only && joinable && !alone_reads && span.joined == 0) {
                    window_full = false;
                    let orphaned = last_text_end.is_some_and(|e| e > span.end);
                    forward = self.forward_join(start, next, orphaned);
                    break;
                }
            }
            if self.is_marker(line_of(rest)) {
                // RDS cut the record here: everything since its first line is the cut record.
                (span.end, span.next, span.joined, span.last_line) = (end, next, joined - 1, None);
                self.set_parsed(Err(LineError::Truncated));
                return span;
            }
            let blank = is_blank_line(rest);
            let line = next;
            (end, next) = self.line_at(next);
            if !blank {
                last_text_end = Some(end);
            }
            if joinable
                && !blank
                && let Ok(event) = self.parse(start, end)
            {
                (span.end, span.next, span.joined, span.last_line) =
                    (end, next, joined, Some(line));
                self.set_parsed(Ok(event));
            }
        }
        span.forward_end = forward;
        let reads = self.last_reads();
        self.orphans = reads && last_text_end.is_some_and(|e| e > span.end);
        if window_full && reads && self.record_may_end_past(start, next) {
            // More lines that cannot stand alone follow than are joined, and one ends like a
            // record: the reading may be the forged start of a longer record.
            let record = self.buf.get(start..span.end).unwrap_or_default();
            if let Some(Ok(event)) = self.last_parsed() {
                event.ambiguity = event.ambiguity.with_unlisted_reading(record);
            }
        }
        span
    }

    /// When the line at `next` starts a record only joined with lines after it, or lines no
    /// join took lie between (`orphaned`: they belong to some record, so the record at
    /// `start` may run through them), where the record at `start` joined with it and those
    /// lines ends when it reads (the two records may be one: listed on the record at `start`).
    fn forward_join(&mut self, start: usize, mut next: usize, orphaned: bool) -> Option<usize> {
        if (!orphaned && self.lookahead_reads(next)) || !starts_with_timestamp(self.tail(start)) {
            return None;
        }
        // The longest join that reads (the shorter ones are listed as its prefixes).
        let mut longest = None;
        for taken in 0..=MAX_CONTINUATIONS {
            let rest = self.tail(next);
            let (end, after) = self.line_at(next);
            let stands =
                taken > 0 && starts_with_timestamp(rest) && self.parse_one_line(next, end).is_ok();
            if rest.is_empty() || self.is_marker(line_of(rest)) || stands {
                break;
            }
            if !is_blank_line(rest) && self.parse(start, end).is_ok() {
                longest = Some(end);
            }
            next = after;
        }
        longest
    }

    /// A candidate of the rule for whether a timestamp line starts a record: a line that is
    /// not blank, has no timestamp and is no marker.
    fn is_plain_continuation(&self, rest: &[u8]) -> bool {
        !is_blank_line(rest) && !starts_with_timestamp(rest) && !self.is_marker(line_of(rest))
    }

    /// Whether `line` is RDS's truncation marker, where markers are read.
    fn is_marker(&self, line: &[u8]) -> bool {
        self.markers && is_marker(line)
    }

    /// Whether `line` ends with RDS's truncation marker, where markers are read.
    #[inline(always)]
    fn ends_with_marker(&self, line: &[u8]) -> bool {
        self.markers && ends_with_marker(line)
    }

    /// Whether the line at `at` begins with a timestamp and reads as a record, alone or joined
    /// with the lines after it: a record of its own ends whatever came before. A timestamp
    /// line that reads neither way is text a name may hold (`x\n20250101 00:00:00,\nz`).
    fn stands(&self, at: usize) -> bool {
        if !starts_with_timestamp(self.tail(at)) {
            return false;
        }
        let (end, after) = self.line_at(at);
        self.parse_one_line(at, end).is_ok() || self.first_join(at, after).is_some()
    }

    /// Whether the line at `at` read alone in the look-ahead.
    fn lookahead_reads(&self, at: usize) -> bool {
        self.lookahead_at.is_some_and(|(l, ..)| l == at)
            && self
                .parses
                .get(self.lookahead)
                .is_some_and(|s| s.parsed.is_ok())
    }

    /// Whether a line past the join window, from `next` on and before the next line with a
    /// timestamp (at most [`MAX_NAME_BREAKS`] lines), could end the record whose first line
    /// is `first`: then the record may be longer than the window, and no reading of it is
    /// trusted. Junk after a record (comments, a damaged stretch) ends like no record, so the
    /// record stands.
    /// A line that stands ends the look, unless the record joined through it reads: the
    /// lines between cannot stand, so the record may run through it.
    fn record_may_end_past(&self, start: usize, mut next: usize) -> bool {
        let first = line_of(self.tail(start));
        for _ in 0..MAX_NAME_BREAKS {
            let rest = self.tail(next);
            if rest.is_empty() || self.is_marker(line_of(rest)) {
                return false;
            }
            if self.stands(next) {
                let (end, after) = self.line_at(next);
                return std::iter::once(end)
                    .chain(self.first_join(next, after))
                    .any(|end| self.parse(start, end).is_ok());
            }
            if crate::audit::dialect::could_end_record(first, line_of(rest)) {
                return true;
            }
            next = self.line_at(next).1;
        }
        true
    }
}
