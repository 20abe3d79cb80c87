//! Plain audit log files, as RDS writes them and as `aws rds download-db-log-file-portion`
//! returns them: one record per line.
//!
//! A line ends at `\n`, `\r\n` or a lone `\r`. The plugin escapes line breaks inside
//! statements, but writes user, host, database and table names raw; a raw break in one of
//! those cuts a record over several physical lines, and the text on either side of the break
//! may look like a record of its own (a user name can hold `\n` and a whole forged audit
//! line, or a whole forged record followed by `\n`). The rule follows from one fact: a line
//! that does not start a record can never be a record on its own, so the join with it must
//! always be considered.
//!
//! - A line *starts a record* when it begins with an audit timestamp and reads as a record
//!   alone, or joined with the lines after it that do not read alone (blank lines included),
//!   or when the lines after it without a timestamp end at RDS's truncation marker (it
//!   starts the record RDS cut, see below). When such a line only reads joined, the record
//!   before it may also read with it: that reading is listed on the record before (flagged).
//! - After a record's first line come its *continuation candidates*: the lines up to the next
//!   line that starts a record, blank lines included (a name can hold `\n\n`), at most
//!   [`MAX_CONTINUATIONS`] of them. A line that begins with a timestamp but starts no record
//!   is a candidate too (a name holding `\n` and a timestamp).
//! - The longest join of the first line with the candidates that reads is the record (the
//!   candidates after it cannot stand alone, so a shorter reading would leave them orphaned).
//!   When the first line, or a shorter join, also reads, the scanner lists those readings as
//!   alternatives of the record ([`crate::audit::scanner`], the text before each raw break):
//!   a forged record before a line break is never an event of its own, and the true, joined
//!   reading is never lost.
//! - When no join reads, the first line stands alone: junk is reported line by line, never
//!   absorbed. But when more than [`MAX_CONTINUATIONS`] candidates follow a record, and a
//!   line past them ends the way a record ends, the record may be longer than is joined: it
//!   is flagged ambiguous with one reading unlisted (`alternatives_omitted`), so a forged
//!   record before more line breaks than are joined is never a plain event. Junk that ends
//!   like no record (comments, a damaged stretch) leaves the record before it unflagged.
//! - A record that reads right after a line that did not, where the two read as one record,
//!   is flagged ambiguous with the joined reading among its alternatives; the line before
//!   stays an unparsed line with its reason.
//! - The window rule, over all of the above: a record is plain only when every physical line
//!   within [`MAX_NAMES_BYTES`] bytes before and after it reads alone ([`within_reach`]: from
//!   the end of one line's text to the start of the other, breaks and lines between counted).
//!   A line that does not (blank, unparsed, or a line of a record joined over several:
//!   *dirty*) may be a piece of a record whose names hold raw breaks, and the local look
//!   above may miss which; so every event within reach of one gets a reading unlisted
//!   (`alternatives_omitted`). Sound: a forged line lies inside a true record, between its
//!   first and last raw break; if every line of that record reads alone, the text is byte
//!   for byte records one per line (docs/HOSTILE.md, "Two records or one?"); if one does
//!   not, that dirty line lies in the same stretch of names, at most [`MAX_NAMES_BYTES`]
//!   away. No second parse: a record read alone and parsed is a clean line. A record is held
//!   until the text within reach after it is read (bounded: 4 KiB past it); a piece read
//!   alone reports its dirty lines and plain records ([`Edges`]) and is read again
//!   [`Records::around`] its neighbours' only when they flag one of its records.
//!
//! `aws rds download-db-log-file-portion` returns pages of at most 1 MB; a record cut at a
//! page end is followed by RDS's marker line ` [Your log message was truncated]` (or the
//! marker ends the cut line), and the next page may start mid-record. Nothing is ever joined
//! across the marker: the cut record (with the candidates before the marker) is an unparsed
//! record with reason [`LineError::Truncated`], never read as if whole; the marker line is an
//! unparsed line of its own ([`LineError::TruncationMarker`], counted, not silently dropped);
//! the fragment after it has no timestamp, so it is an unparsed line with its own reason.
//!
//! Blank lines between records are skipped and counted ([`Records::blank_lines`]).
//! Records are zero-copy: the record is the contiguous slice, its interior breaks kept.
//! The cost stays linear: a join is only tried from a line that begins with a timestamp,
//! over at most [`MAX_CONTINUATIONS`] lines.
//!
//! ```
//! let log = b"20240615 10:31:00,db1,app,localhost,43,17,READ,shop,orders,\n\
//!             20240615 10:31:01,db1,new\nline,localhost,43,0,DISCONNECT,,,0\r\
//!             20240615 10:31:02,db1,app,localhost,44,0,CONNECT,,,0\n";
//! let records: Vec<_> = rdsaudit::input::text::records(log).collect();
//! assert_eq!(records.len(), 3);
//! assert_eq!(records[1].line_number, 2);
//! assert_eq!(records[2].line_number, 4);
//! let event = rdsaudit::audit::scanner::parse_line(records[1].bytes)?;
//! assert_eq!(event.username, "new\nline");
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

use crate::audit::event::AuditEvent;
use crate::audit::scanner::{
    LineError, parse_line, parse_unbroken_into, parse_unbroken_line, starts_with_timestamp,
};

/// One record of a plain log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRecord<'a> {
    /// 1-based number of the physical line the record starts on.
    pub line_number: u64,
    /// The record, without its final newline; interior newlines of rejoined lines kept.
    pub bytes: &'a [u8],
}

/// The marker RDS writes after a record cut at a `download-db-log-file-portion` page end.
pub const TRUNCATION_MARKER: &[u8] = b"[Your log message was truncated]";

/// Iterates over the records of `buf` (see the module docs).
pub fn records(buf: &[u8]) -> Records<'_> {
    Records {
        buf,
        pos: 0,
        line_number: 1,
        head_before: None,
        head_line: 0,
        last_head: None,
        orphans: false,
        blank_lines: 0,
        lookahead_at: None,
        lookahead: 0,
        parses: vec![Err(LineError::Empty)],
        free: Vec::new(),
        reading: 0,
        window: None,
        chain_start: 0,
        chain_line: 1,
        stop: usize::MAX,
        markers: true,
        window_rule: true,
        base: 0,
        held: std::collections::VecDeque::new(),
        released: false,
        flag_before: 0,
        dirty_after: None,
        ended: false,
        edges: Edges::default(),
        alone_way: true,
        breaks: BreakSearch::new(),
    }
}

/// The records of one CloudWatch log event's `message` ([`crate::input::multiline`]): the
/// rule of [`records`] without RDS's truncation marker, which RDS writes only into
/// `download-db-log-file-portion` pages, never into CloudWatch Logs; in a message the marker's
/// text can only come from a client-chosen name, so it is read as name text.
pub fn records_in_message(message: &[u8]) -> Records<'_> {
    Records {
        markers: false,
        window_rule: false,
        ..records(message)
    }
}

/// The records of `window`, the start of a longer text (or of what is left of it after a
/// [`Records::cut`]) whose end has not been read yet: the iterator stops before the first
/// record that text after the window could still change (the rule looked at a line that is
/// not whole in the window; a CR at its very end may be the first half of a CRLF; or a line
/// after the window may flag it, the window rule). [`Records::cut`] then says where the
/// window can be cut for the record rule (the window rule's state does not cross a cut: a
/// piece's [`Edges`] say which records its neighbours may flag).
///
/// ```
/// use rdsaudit::input::text::records_in_window;
/// let window = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n20240615 10:31:01,h,u,l,1,3,QU";
/// let mut records = records_in_window(window);
/// // Whether the first record takes the next line depends on the rest of that line.
/// assert!(records.next().is_none());
/// assert_eq!(records.cut(), 0);
/// let window = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n\
///                20240615 10:31:01,h,u,l,1,3,QUERY,,'y',0\n\
///                20240615 10:31:02,h,u,l,1,4,QUERY,,'z',0\n";
/// let mut records = records_in_window(window);
/// // Lines after the window may still flag all three (the window rule): none is final.
/// assert_eq!(records.by_ref().count(), 0);
/// assert_eq!(records.cut(), 82);
/// ```
pub fn records_in_window(window: &[u8]) -> Records<'_> {
    Records {
        window: Some(Window {
            whole_end: whole_lines_end(window),
            looked_past: std::cell::Cell::new(false),
        }),
        ..records(window)
    }
}

/// Where the whole lines of a window end, and whether the rule looked past them.
#[derive(Debug, Clone)]
struct Window {
    whole_end: usize,
    looked_past: std::cell::Cell<bool>,
}

/// Iterator returned by [`records`] and [`records_in_window`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Line number of the physical line at `pos`.
    line_number: u64,
    /// Where a line that may be the head of the next record starts, when it ends right before
    /// `pos` (no blank line between): the record just read, when it did not parse, or the
    /// last line it joined, when that line begins with a timestamp.
    head_before: Option<usize>,
    /// The line number of `head_before`.
    head_line: u64,
    /// The last record since `head_before` that did not read and begins with a timestamp:
    /// the nearer possible head (`head_before` is the farther one).
    last_head: Option<usize>,
    /// Whether the record read last was followed by lines no join took (see
    /// [`Records::record_at`]): they belong to it or to a record around it, so it is the head
    /// of what follows.
    orphans: bool,
    /// Blank lines skipped between records (none of a record's own lines).
    blank_lines: u64,
    /// The line parsed alone in `lookahead`, as (where it starts, where its text ends, where
    /// the next line starts): kept from the look-ahead that asked whether it starts a
    /// record, so the next record neither scans its first line again nor looks for its end.
    lookahead_at: Option<(usize, usize, usize)>,
    /// That parse's slot in `parses`: it becomes the record's own slot when the record is
    /// read (an index swapped, not the parse moved).
    lookahead: usize,
    /// The parses of the records held and of the look-ahead, each in a slot that stays where
    /// it is from the parse until the record is handed out: an event is a few hundred
    /// bytes, and each move of it (into a record's place in `held`, from the look-ahead into
    /// that place) was a copy per line. A slot handed out is reused (its parse dropped when
    /// overwritten); there are never more slots than records held at once, plus one.
    parses: Vec<Result<AuditEvent<'a>, LineError>>,
    /// The slots of `parses` free for the next record.
    free: Vec<usize>,
    /// The slot of the record being read: it joins `held` once read, so the rule's many
    /// looks at its parse while reading it go straight to the slot, not through the queue.
    reading: usize,
    /// Set for [`records_in_window`].
    window: Option<Window>,
    /// Where the records tied to the next one by `head_before` begin: the last place where
    /// the text can be cut ([`Records::cut`]).
    chain_start: usize,
    /// The line number of `chain_start`.
    chain_line: u64,
    /// No record starting here or after is read ([`Records::stop_at`]).
    stop: usize,
    /// Whether RDS's truncation marker is read as one (files; not CloudWatch messages).
    markers: bool,
    /// Whether the window rule applies (a file: reach [`MAX_NAMES_BYTES`]); not in a
    /// CloudWatch message, which is flagged whole instead.
    window_rule: bool,
    /// Where `buf` starts in the whole text (a piece's byte offset, [`Records::at`]): the
    /// positions of [`Edges`] and [`Around`] are the whole text's.
    base: u64,
    /// Records read and not handed out yet: the lines after them that may flag them are not
    /// all read.
    held: std::collections::VecDeque<Held<'a>>,
    /// Whether the first record held was handed out in place ([`Records::next_in_place`]):
    /// it is dropped at the next call.
    released: bool,
    /// Records that start before this position of `buf` and parse are flagged (a dirty line
    /// ends within the window's reach before them).
    flag_before: u64,
    /// Where the first dirty line after the text starts (whole-text position), when it is a
    /// piece of a longer one ([`Records::around`]).
    dirty_after: Option<u64>,
    /// Whether the record rule has read its last record.
    ended: bool,
    /// What the window rule saw (see [`Edges`]).
    edges: Edges,
    /// Whether a line that reads alone, followed by one that reads alone, is read the short
    /// way ([`Records::next_reads_alone`], [`Records::hold_alone`]): nearly every line of a
    /// real log, which the general rule reads through many more looks. The general way is the
    /// reference; off only where a test checks the two give the same.
    alone_way: bool,
    /// The search for line breaks, made once.
    breaks: BreakSearch,
}

/// The search for a line's break (`\n` or `\r`), made once: memchr's AVX2 searcher when the
/// CPU has AVX2 (a `memchr2` call looks up and builds it for every line, a quarter of the
/// search's instructions on a log line), else `memchr2`. The searcher is a static's (its
/// vectors would make every [`Records`] 32-byte aligned and a hundred bytes longer).
#[derive(Debug, Clone, Copy)]
struct BreakSearch {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<&'static memchr::arch::x86_64::avx2::memchr::Two>,
}

#[cfg(target_arch = "x86_64")]
static AVX2_BREAKS: std::sync::OnceLock<Option<memchr::arch::x86_64::avx2::memchr::Two>> =
    std::sync::OnceLock::new();

impl BreakSearch {
    fn new() -> Self {
        BreakSearch {
            #[cfg(target_arch = "x86_64")]
            avx2: AVX2_BREAKS
                .get_or_init(|| memchr::arch::x86_64::avx2::memchr::Two::new(b'\n', b'\r'))
                .as_ref(),
        }
    }

    /// Where the first `\n` or `\r` of `rest` is.
    fn find(&self, rest: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(two) = self.avx2 {
            return two.find(rest);
        }
        memchr::memchr2(b'\n', b'\r', rest)
    }
}

/// A record the window rule holds until the lines after it are known.
#[derive(Debug, Clone)]
struct Held<'a> {
    record: TextRecord<'a>,
    /// Where the record starts and its last line's text ends (before its break), in `buf`.
    start: u64,
    end: u64,
    /// Its parse's slot in [`Records::parses`].
    slot: usize,
    /// Whether a dirty line lies within the window's reach of it (or it is dirty itself).
    flagged: bool,
}

/// Where a piece of a text has dirty lines (lines that do not read alone as a record: blank,
/// unparsed, or a line of a record joined over several) and plain records (events the window
/// rule left unflagged), by byte position in the whole text: what a piece decoded on its own
/// needs from its neighbours ([`Edges::needs`]). A distance is counted from where one line's
/// text ends (its break included in the distance) to where the other starts, so every
/// position here is where a line starts (`first_*`) or where its text ends, before its break
/// (`last_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Edges {
    /// Where the first dirty line starts.
    pub first_dirty: Option<u64>,
    /// Where the last dirty line's text ends.
    pub last_dirty: Option<u64>,
    /// Where the first plain record starts.
    pub first_plain: Option<u64>,
    /// Where the last plain record's text ends.
    pub last_plain: Option<u64>,
}

/// The dirty lines nearest to a piece outside it, by byte position in the whole text: where
/// the text of the last one before it ends, and where the first one after it starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Around {
    /// Where the last dirty line before the piece ends (before its break).
    pub before: Option<u64>,
    /// Where the first dirty line after the piece starts.
    pub after: Option<u64>,
}

/// Whether a line whose text ends at `end` and a line after it starting at `start` (byte
/// positions, the break and every line between counted) lie within the window rule's reach.
#[must_use]
pub fn within_reach(end: u64, start: u64) -> bool {
    start.saturating_sub(end) <= MAX_NAMES_BYTES
}

impl Edges {
    /// Whether dirty lines around the piece (`around`, whole-text positions) flag one of its
    /// plain records: then the piece must be read again [`Records::around`] them.
    #[must_use]
    pub fn needs(&self, around: Around) -> bool {
        let near = |end: Option<u64>, start: Option<u64>| {
            end.zip(start).is_some_and(|(e, s)| within_reach(e, s))
        };
        near(around.before, self.first_plain) || near(self.last_plain, around.after)
    }

    /// Whether a piece's plain records are final once the text is known up to byte `next`
    /// (excluded) with no dirty line after the piece: no line that could flag them is still
    /// unread (a line starting at `next` or later is out of reach).
    #[must_use]
    pub fn settled_by(&self, next: u64) -> bool {
        self.last_plain.is_none_or(|p| !within_reach(p, next))
    }
}

/// A record and what the scanner made of it.
pub type Parsed<'a> = (TextRecord<'a>, Result<AuditEvent<'a>, LineError>);

/// Where a record ends and what it reads as.
struct Span {
    /// End of the record's last line (its break, or the buffer's end).
    end: usize,
    /// Where the line after the record starts.
    next: usize,
    /// How many lines were joined to the first one.
    joined: u64,
    /// Where the last joined line starts (none when nothing was joined).
    last_line: Option<usize>,
    /// Where a reading of this record joined with the next record ends, when there is one.
    forward_end: Option<usize>,
}

impl<'a> Records<'a> {
    /// The next record and its parse, parsed once: the record rule needs to know whether a
    /// line parses, so the result is handed on rather than computed again. The window rule
    /// applies: a record is held until the text within [`MAX_NAMES_BYTES`] after it is read
    /// (or the text ends), and an event with a dirty line that near, before or after it, is
    /// flagged with a reading unlisted (see the module docs).
    pub fn next_parsed(&mut self) -> Option<Parsed<'a>> {
        self.next_in_place()?;
        self.released = false;
        let Held { record, slot, .. } = self.held.pop_front()?;
        self.free.push(slot);
        let parsed = self.parses.get_mut(slot)?;
        Some((record, std::mem::replace(parsed, Err(LineError::Empty))))
    }

    /// [`Records::next_parsed`] without moving the parse out: it stays where the window rule
    /// held it, for the caller to read (and fill in) until the next call. An event is a few
    /// hundred bytes; each move of it costs a copy per line.
    pub fn next_in_place(
        &mut self,
    ) -> Option<(TextRecord<'a>, &mut Result<AuditEvent<'a>, LineError>)> {
        self.drop_released();
        let (record, slot) = if self.window_rule {
            self.settle_front()?
        } else {
            self.next_record()?;
            let front = self.held.front()?;
            (front.record, front.slot)
        };
        self.released = true;
        Some((record, self.parses.get_mut(slot)?))
    }

    /// Lets go of the record handed out in place: its slot is free for the next record (its
    /// parse stays there, dropped when the slot is overwritten: no move).
    fn drop_released(&mut self) {
        if std::mem::take(&mut self.released)
            && let Some(held) = self.held.pop_front()
        {
            self.free.push(held.slot);
        }
    }

    /// A free slot of `parses` for a new record's parse.
    fn take_slot(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.parses.push(Err(LineError::Empty));
            self.parses.len() - 1
        })
    }

    /// Drops the record being read, its slot freed.
    fn drop_reading(&mut self) {
        self.free.push(self.reading);
    }

    /// The parse of the record being read.
    fn last_parsed(&mut self) -> Option<&mut Result<AuditEvent<'a>, LineError>> {
        self.parses.get_mut(self.reading)
    }

    /// Reads until the first record held is final, and marks it; returns it and its parse's
    /// slot (`None` when there is none).
    fn settle_front(&mut self) -> Option<(TextRecord<'a>, usize)> {
        loop {
            // A line not read yet starts at `pos` or later.
            let next = self.pos as u64;
            let settled = self
                .held
                .front()
                .is_some_and(|h| h.flagged || !within_reach(h.end, next));
            if settled || self.ended {
                return self.release();
            }
            match self.next_record() {
                Some(()) => {}
                // Not final: the text after the window may change what is held.
                None if self.looked_past() => return None,
                None => self.ended = true,
            }
        }
    }

    /// The same records read as a piece of a longer text that starts at byte `base` of it:
    /// the positions of [`Records::edges`] and [`Records::around`] are the longer text's.
    #[must_use]
    pub fn at(mut self, base: u64) -> Self {
        self.base = base;
        self
    }

    /// Notes dirty lines from `from` (where the first starts) to `to` (where the last one's
    /// text ends): the records held whose text ends within reach before them are flagged, and
    /// so are those read that start within reach after them. Each record is looked at once:
    /// a record flagged already has every record within reach before it flagged.
    fn dirty(&mut self, from: u64, to: u64) {
        for held in self.held.iter_mut().rev() {
            if held.flagged || !within_reach(held.end, from) {
                break;
            }
            held.flagged = true;
        }
        self.flag_before = self.flag_before.max(to.saturating_add(MAX_NAMES_BYTES + 1));
        let (from, to) = (self.base + from, self.base + to);
        self.edges.first_dirty = self.edges.first_dirty.or(Some(from));
        self.edges.last_dirty = Some(to);
    }

    /// Readies the first record held to be handed out, flagged when a dirty line lies
    /// within reach; returns it and its parse's slot.
    fn release(&mut self) -> Option<(TextRecord<'a>, usize)> {
        let &Held {
            record,
            start,
            end,
            slot,
            flagged,
        } = self.held.front()?;
        let (start, end) = (self.base + start, self.base + end);
        let near_after = self.dirty_after.is_some_and(|d| within_reach(end, d));
        if let Some(Ok(event)) = self.parses.get_mut(slot) {
            if flagged || near_after {
                event.ambiguity = event.ambiguity.with_unlisted_reading(record.bytes);
            } else {
                self.edges.first_plain = self.edges.first_plain.or(Some(start));
                self.edges.last_plain = Some(end);
            }
        }
        Some((record, slot))
    }

    /// The same records read as a piece of a longer text (at the position [`Records::at`]
    /// gives) with the dirty lines nearest to it outside it (whole-text positions): its
    /// records near its ends are flagged as they are in the whole text.
    #[must_use]
    pub fn around(mut self, around: Around) -> Self {
        if self.window_rule {
            if let Some(before) = around.before.filter(|&b| b <= self.base) {
                // A record starting before `before + reach + 1` (whole text) is within reach.
                self.flag_before =
                    (before.saturating_add(MAX_NAMES_BYTES + 1)).saturating_sub(self.base);
            }
            self.dirty_after = around.after;
        }
        self
    }

    /// Where the window rule saw dirty lines and left records plain (complete once every
    /// record has been read), in positions of the whole text ([`Records::at`]).
    #[must_use]
    pub fn edges(&self) -> Edges {
        self.edges
    }

    /// Reads the next record under the record rule onto the back of `held`, its parse written
    /// in place into its slot. Under the window rule, a dirty record (it joined lines or does
    /// not parse) flags the records held near it, itself included.
    fn next_record(&mut self) -> Option<()> {
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
        let Span {
            end,
            next,
            joined,
            last_line,
            forward_end,
        } = self.record_at(start);
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
        let Some(bytes) = self.buf.get(start..end) else {
            self.drop_reading();
            return None;
        };
        let (start, end) = (start as u64, end as u64);
        let dirty = joined > 0 || !reads;
        if dirty && self.window_rule {
            self.dirty(start, end);
        }
        self.held.push_back(Held {
            record: TextRecord { line_number, bytes },
            start,
            end,
            slot: self.reading,
            flagged: dirty || start < self.flag_before,
        });
        Some(())
    }

    /// [`Records::next_record`]'s end for a record that is its one line, read alone, after a
    /// record that is no possible head of it (`head_before` is none), with no record after
    /// it read with it: what the general end does then, without the cases that cannot arise
    /// (no head to flag it from, no chain to cut, nothing dirty). The text can be cut before
    /// it, and it is no head of the next record.
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
        let Some(bytes) = self.buf.get(start..end) else {
            self.drop_reading();
            return None;
        };
        let (start, end) = (start as u64, end as u64);
        self.held.push_back(Held {
            record: TextRecord { line_number, bytes },
            start,
            end,
            slot: self.reading,
            flagged: start < self.flag_before,
        });
        Some(())
    }

    /// Whether the record being read parses (as far as it is read).
    fn last_reads(&self) -> bool {
        self.parses.get(self.reading).is_some_and(Result::is_ok)
    }

    /// Writes the parse of the record being read into its slot.
    fn set_parsed(&mut self, parsed: Result<AuditEvent<'a>, LineError>) {
        if let Some(slot) = self.last_parsed() {
            *slot = parsed;
        }
    }

    /// Where the text can be cut after the records read so far: decoding the text before
    /// the cut and the text from it on separately (from line 1 or the line it is, each with
    /// [`records`], or the first with [`records_in_window`] and [`Records::stop_at`] the cut)
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
    fn general_way(mut self) -> Self {
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
    fn looked_past(&self) -> bool {
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
    fn parse_ahead(&mut self, from: usize, end: usize, next: usize) -> bool {
        if self.lookahead_at.is_some_and(|(at, ..)| at == from) {
            return self.lookahead_reads(from);
        }
        // Parsed in its slot (no move of the parse); the line ends at its first break.
        let line = self.buf.get(from..end).unwrap_or_default();
        let reads = match self.parses.get_mut(self.lookahead) {
            Some(slot) => {
                parse_unbroken_into(line, slot);
                slot.is_ok()
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
    fn next_reads_alone(&mut self, next: usize) -> bool {
        if self.tail(next).is_empty() {
            return true;
        }
        let (end, after) = self.line_at(next);
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
        let mut span = Span {
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
            && self.parses.get(self.lookahead).is_some_and(Result::is_ok)
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

/// How many raw line breaks the names of one record can hold at most, as a bound on how far
/// past the join window a record's end is looked for: a user name reaches the log with at
/// most 128 bytes, a database and a table name with at most 64 characters each.
pub const MAX_NAME_BREAKS: u64 = 512;

/// The window rule's reach: how many bytes of text may lie between a forged line and a dirty
/// line of the one true record both are cut from (docs/HOSTILE.md rule 4 has the derivation
/// and its sources).
///
/// Every byte between two lines of one record lies between the record's first and last raw
/// break, and raw breaks are only in its names (user, database, table; the statement is
/// escaped, the client host is an address or a resolved name, the rest is numbers and the
/// operation). So the distance is at most the record's text before its statement:
///
/// - MariaDB's `server_audit` (RDS for MariaDB) formats a connection, table, rename or proxy
///   record in a 1024-byte buffer (`char message[1024]`, `sizeof(message)-1`: at most 1023
///   bytes before its newline), and a QUERY's header and database in a 2048-byte one
///   (`message_loc[2048]`) before the statement: at most 2047 bytes;
/// - AWS's fork for RDS for MySQL uses 1024 bytes for both (no TABLE events);
/// - Aurora MySQL (closed source) by the server's limits: a user name is clipped at login to
///   32 characters (MySQL 8 `USERNAME_CHAR_LENGTH`, utf8mb3: 96 bytes; MariaDB's 128: 384),
///   a client host at most 255 bytes, two ids of at most 20 digits, an operation of at most
///   14 bytes, database and table names 64 characters of at most 4 bytes (256 bytes) each,
///   a RENAME's `old|newdb.newtable` three of them, and the commas: under 1,500 bytes.
///
/// Twice the largest, 2047, for a margin: 4 KiB.
pub const MAX_NAMES_BYTES: u64 = 4096;

/// How many lines may be joined to a record's first line.
pub const MAX_CONTINUATIONS: u64 = 8;

/// The line at the start of `rest`, without its break.
fn line_of(rest: &[u8]) -> &[u8] {
    let end = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

/// Whether `line` is RDS's truncation marker alone (spaces around it allowed).
fn is_marker(line: &[u8]) -> bool {
    line.trim_ascii() == TRUNCATION_MARKER
}

/// Whether `line` ends with RDS's truncation marker: the record was cut on this line.
fn ends_with_marker(line: &[u8]) -> bool {
    let line = line.trim_ascii_end();
    // The last byte first: a log line's rejects the marker without comparing its 32 bytes.
    line.last() == TRUNCATION_MARKER.last() && line.ends_with(TRUNCATION_MARKER)
}

/// The end of the line starting at `from` in `buf` (its break or the buffer's end) and where
/// the next line starts: after `\n`, `\r\n` or a lone `\r`.
fn line_at(buf: &[u8], from: usize) -> (usize, usize) {
    let rest = buf.get(from..).unwrap_or_default();
    line_found(buf, from, memchr::memchr2(b'\n', b'\r', rest))
}

/// [`line_at`] from where the line's first break was found (`found`, from `from` on).
fn line_found(buf: &[u8], from: usize, found: Option<usize>) -> (usize, usize) {
    let rest = buf.get(from..).unwrap_or_default();
    match found {
        None => (buf.len(), buf.len()),
        Some(i) => {
            let crlf = rest.get(i..i + 2) == Some(b"\r\n");
            (from + i, from + i + if crlf { 2 } else { 1 })
        }
    }
}

/// Whether every physical line of `text` reads alone as a record (no blank line, no line that
/// does not parse): then `text` is, byte for byte, a sequence of records, one per line. When it
/// is not, a raw line break in a name cut some record, and the rule's readings may not be all
/// the text allows (docs/HOSTILE.md, "Limits"): a CloudWatch message is then flagged whole.
pub(crate) fn every_line_reads_alone(text: &[u8]) -> bool {
    let mut from = 0;
    while from < text.len() {
        let (end, next) = line_at(text, from);
        let line = text.get(from..end).unwrap_or_default();
        // Cut at its first break by `line_at`.
        if parse_unbroken_line(line).is_err() {
            return false;
        }
        from = next;
    }
    true
}

/// Whether the line at the start of `rest` is blank (nothing before its break).
pub(crate) fn is_blank_line(rest: &[u8]) -> bool {
    matches!(rest.first(), Some(b'\n' | b'\r'))
}

impl<'a> Iterator for Records<'a> {
    type Item = TextRecord<'a>;

    fn next(&mut self) -> Option<TextRecord<'a>> {
        self.next_parsed().map(|(record, _)| record)
    }
}

/// The first line start at or after `at` where records split ([`is_boundary`]), or the
/// buffer's end: where a text in memory is cut into pieces decoded in parallel.
#[must_use]
pub fn boundary_after(buf: &[u8], at: usize) -> usize {
    let mut line_start = at
        .checked_sub(1)
        .map(|p| line_start_before(buf, p))
        .unwrap_or_default();
    while line_start < buf.len() {
        let next = line_at(buf, line_start).1;
        if next >= buf.len() {
            return buf.len();
        }
        if next >= at && is_boundary(buf, next) {
            return next;
        }
        line_start = next;
    }
    buf.len()
}

/// Whether the records of `buf` split at `at`, the start of a line: the records of
/// `buf[..at]` followed by those of `buf[at..]` (line numbers shifted) are the records of
/// `buf`, whatever follows `buf`. True when the line before `at` and the line at `at` each
/// begin with a timestamp and read as a record alone, and the line at `at` is whole (a
/// break ends it): then no record crosses `at` and neither side's rule looks across it.
/// What a streaming reader cuts at.
///
/// ```
/// use rdsaudit::input::text::is_boundary;
/// let log = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'SELECT 1',0\n\
///             20240615 10:31:01,h,u,l,1,3,QUERY,,'SELECT 2',0\n";
/// let second = log.iter().position(|&b| b == b'\n').unwrap() + 1;
/// assert!(is_boundary(log, second));
/// assert!(!is_boundary(&log[..second + 10], second)); // the second line is not whole yet
/// assert_eq!(rdsaudit::input::text::last_boundary(log, 4), Some(second));
/// ```
#[must_use]
pub fn is_boundary(buf: &[u8], at: usize) -> bool {
    // Each line is cut at its first break by `line_at`.
    let parses = |a: usize, b: usize| {
        buf.get(a..b)
            .is_some_and(|r| parse_unbroken_line(r).is_ok())
    };
    let before = line_start_ending_at(buf, at);
    let line_before = line_at(buf, before);
    let (end, next) = line_at(buf, at);
    at > 0 && line_before.1 == at && next > end && parses(before, line_before.0) && parses(at, end)
}

/// The start of the line whose break ends at `at` (or, without a break there, of the line
/// holding `at`).
fn line_start_ending_at(buf: &[u8], at: usize) -> usize {
    let head = buf.get(..at).unwrap_or_default();
    let content = head
        .strip_suffix(b"\r\n")
        .or_else(|| head.strip_suffix(b"\n"))
        .or_else(|| head.strip_suffix(b"\r"))
        .unwrap_or(head);
    line_start_before(buf, content.len())
}

/// The last place, within the last `lines` lines of `buf`, where its records split
/// ([`is_boundary`]): what a streaming reader can hand on while it waits for more input.
#[must_use]
pub fn last_boundary(buf: &[u8], lines: usize) -> Option<usize> {
    let mut end = buf.len();
    for _ in 0..lines {
        let start = line_start_ending_at(buf, end);
        if start == 0 {
            return None;
        }
        if is_boundary(buf, start) {
            return Some(start);
        }
        end = start;
    }
    None
}

/// How many line breaks `piece` holds (`\r\n` is one): what the line number moves on by
/// across it, so pieces get their first line numbers in parallel.
#[must_use]
pub fn count_lines(piece: &[u8]) -> u64 {
    let lf = memchr::memchr_iter(b'\n', piece).count();
    let lone_cr = memchr::memchr_iter(b'\r', piece)
        .filter(|&i| piece.get(i + 1) != Some(&b'\n'))
        .count();
    (lf + lone_cr) as u64
}

/// Where the second line of `window` starts, when its first line is whole.
#[must_use]
pub fn first_line_end(window: &[u8]) -> Option<usize> {
    (whole_lines_end(window) > 0).then(|| line_at(window, 0).1)
}

/// Where the whole lines of `window` end (after the last line break); a CR at its very end
/// may be the first half of a CRLF, so the line it ends is not whole yet.
fn whole_lines_end(window: &[u8]) -> usize {
    let end = window.len() - usize::from(window.last() == Some(&b'\r'));
    memchr::memrchr2(b'\n', b'\r', window.get(..end).unwrap_or_default()).map_or(0, |i| i + 1)
}

/// The start of the line holding byte `p`.
fn line_start_before(buf: &[u8], p: usize) -> usize {
    memchr::memrchr2(b'\n', b'\r', buf.get(..p).unwrap_or_default()).map_or(0, |i| i + 1)
}

#[cfg(test)]
mod hostile;

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &[u8] = b"20240615 10:31:00,h,app,l,1,2,QUERY,,'SELECT 1',0\r\n\
        \r\n\
        20240615 10:31:01,h,odd\nuser\nname,l,1,0,CONNECT,,,0\n\
        \n\
        1653053459680124,c731,admin,1.2.3.4,35,698024,WRITE,testdb,test2,0";

    #[test]
    fn rejoins_and_skips_blanks() {
        let r: Vec<_> = records(LOG).collect();
        assert_eq!(r.len(), 3);
        assert_eq!(
            r.iter().map(|r| r.line_number).collect::<Vec<_>>(),
            [1, 3, 7]
        );
        assert_eq!(
            r[1].bytes,
            b"20240615 10:31:01,h,odd\nuser\nname,l,1,0,CONNECT,,,0"
        );
        for rec in r {
            crate::audit::scanner::parse_line(rec.bytes).unwrap();
        }
    }

    #[test]
    fn junk_after_a_broken_record_stays_line_by_line() {
        let mut log = b"20240615 10:31:00,x\n".to_vec();
        for _ in 0..100_000 {
            log.extend_from_slice(b"a,b,c,d,e,f,g,h\n");
        }
        let r: Vec<_> = records(&log).collect();
        assert_eq!(r.len(), 100_001);
        assert_eq!(r[0].bytes, b"20240615 10:31:00,x");
        assert_eq!(r[100_000].line_number, 100_001);
        // A record split over more lines than the cap is not rejoined.
        let mut split = b"20240615 10:31:01,h,u".to_vec();
        for _ in 0..=MAX_CONTINUATIONS {
            split.extend_from_slice(b"\nx");
        }
        split.extend_from_slice(b",l,1,0,CONNECT,,,0\n");
        assert_eq!(records(&split).count() as u64, MAX_CONTINUATIONS + 2);
    }

    #[test]
    fn junk_after_a_complete_record_is_not_absorbed() {
        let log = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0,,\njunk\n";
        let r: Vec<_> = records(log).collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].bytes, b"junk");
        assert_eq!(r[1].line_number, 2);
    }

    /// Issue 11, case 2: a failed login whose user name holds a newline and a forged line.
    /// The first line stays unparsed (with its reason); the forged-looking second line is
    /// never a plain event: flagged, with the true reading listed.
    #[test]
    fn a_forged_line_inside_a_user_name_is_flagged() {
        let user = "x\n20250101 00:00:00,db1,admin,h,1,2,QUERY,db,'DROP TABLE t',0";
        let log = format!(
            "20261130 04:00:00,db1,{user},10.0.0.9,5,0,FAILED_CONNECT,,,1045\n\
             20261130 04:00:00,db1,{user},10.0.0.9,5,0,DISCONNECT,,,0\n"
        );
        let parsed: Vec<_> = std::iter::from_fn({
            let mut r = records(log.as_bytes());
            move || r.next_parsed()
        })
        .collect();
        assert_eq!(parsed.len(), 4);
        for (i, op) in [(0, "FAILED_CONNECT"), (2, "DISCONNECT")] {
            assert_eq!(parsed[i].1, Err(LineError::Header));
            let e = parsed[i + 1].1.as_ref().unwrap();
            assert_eq!(parsed[i + 1].0.line_number, i as u64 + 2);
            assert_eq!(e.operation.as_str(), op);
            assert!(e.ambiguity.is_ambiguous());
            let alternatives = e.ambiguity.alternatives();
            assert!(
                alternatives
                    .iter()
                    .any(|a| a.username == user && a.operation.as_str() == op),
                "{alternatives:?}"
            );
        }
    }

    /// A name holding a complete forged record before its newline: the line parses alone,
    /// but the rest of the record follows; one record, the forged reading listed.
    #[test]
    fn a_complete_forged_record_before_a_newline_is_not_an_event() {
        let log = b"20261130 04:00:00,db1,a,h,1,2,QUERY,,'GRANT ALL ON *.* TO a',0\n\
                    x,10.0.0.9,5,0,FAILED_CONNECT,,,1045\n";
        let mut r = records(log);
        let (rec, event) = r.next_parsed().unwrap();
        assert!(r.next().is_none());
        let e = event.unwrap();
        assert_eq!(rec.bytes.len(), log.len() - 1);
        assert_eq!(e.operation.as_str(), "FAILED_CONNECT");
        assert!(e.ambiguity.is_ambiguous());
        assert!(
            e.ambiguity
                .alternatives()
                .iter()
                .any(|a| a.object.text() == "GRANT ALL ON *.* TO a")
        );
    }

    /// Issue 11, case 5: records separated by a lone CR are two records.
    #[test]
    fn a_lone_cr_ends_a_line() {
        let log = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'SELECT 1',0\r20240615 10:31:01,h,u,l,1,3,QUERY,,'DELETE FROM t',0\r";
        let r: Vec<_> = records(log).collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].line_number, 2);
    }

    /// `n` QUERY records, each a line, with `extra` after every `every`-th (from the first).
    fn queries_with(n: usize, every: usize, extra: &[u8]) -> Vec<u8> {
        let mut log = Vec::new();
        for i in 0..n {
            log.extend_from_slice(
                format!("20240615 10:31:00,h,u{i},l,1,{i},QUERY,,'SELECT {i}',0\n").as_bytes(),
            );
            if i % every == 0 {
                log.extend_from_slice(extra);
            }
        }
        log
    }

    /// The parses stay in slots reused record after record: handed out in place or moved
    /// out, the records and parses are the same, and the slots never outnumber the records
    /// held at once (plus the look-ahead's).
    #[test]
    fn parse_slots_are_reused_and_bounded() {
        let log = queries_with(
            2000,
            97,
            b"junk\n\n20240615 10:31:00,h,x\ny,l,1,0,CONNECT,,,0\n",
        );
        let moved: Vec<_> = std::iter::from_fn({
            let mut r = records(&log);
            move || r.next_parsed()
        })
        .collect();
        let mut r = records(&log);
        let mut most_held = 0;
        let mut n = 0;
        while let Some((record, parsed)) = r.next_in_place() {
            assert_eq!((record, parsed.clone()), moved[n]);
            n += 1;
            most_held = most_held.max(r.held.len());
        }
        assert_eq!(n, moved.len());
        assert!(r.parses.len() <= most_held + 1, "{} slots", r.parses.len());
    }

    proptest::proptest! {
        /// The search made once finds what `memchr2` finds, at every offset of texts of every
        /// length around the vector widths.
        #[test]
        fn the_break_search_is_memchr2(
            text in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b'\n', b'\r', b',', 0xff]),
                0..200,
            ),
        ) {
            let search = BreakSearch::new();
            for from in 0..=text.len() {
                let rest = &text[from..];
                proptest::prop_assert_eq!(search.find(rest), memchr::memchr2(b'\n', b'\r', rest));
            }
        }
    }

    /// [`Records::record_at`] asks whether a line is the marker alone only when it ends with
    /// the marker: the first must imply the second.
    #[test]
    fn the_marker_alone_ends_with_the_marker() {
        for line in [
            &b"[Your log message was truncated]"[..],
            b" [Your log message was truncated]",
            b"\t[Your log message was truncated] \x0c",
            b"  [Your log message was truncated]  ",
        ] {
            assert!(is_marker(line) && ends_with_marker(line));
        }
    }

    #[test]
    fn a_first_line_without_timestamp_is_its_own_record() {
        let r: Vec<_> = records(b"garbage\n20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0").collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].bytes, b"garbage");
    }

    #[test]
    fn boundaries_preserve_records_and_line_numbers() {
        let log = queries_with(500, 7, b"\n");
        let whole: Vec<_> = records(&log).collect();
        for piece in [1, 100, 4000, 1 << 20] {
            let (mut joined, mut rest, mut first) = (Vec::new(), &log[..], 1);
            while !rest.is_empty() {
                let (piece, after) = rest.split_at(boundary_after(rest, piece));
                joined.extend(records(piece).map(|r| TextRecord {
                    line_number: r.line_number + first - 1,
                    ..r
                }));
                first += count_lines(piece);
                rest = after;
            }
            assert_eq!(joined, whole, "piece={piece}");
        }
    }
}
