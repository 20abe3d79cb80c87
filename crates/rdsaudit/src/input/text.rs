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
use crate::audit::scanner::{LineError, parse_unbroken_line};

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
        parses: vec![Slot::empty()],
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
        front_settles_at: u64::MAX,
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
    /// it is from the parse until the record is handed out (the slot also says where a held
    /// record is): an event is a few hundred bytes, and each move of it (into a record's
    /// place in `held`, from the look-ahead into that place) was a copy per line. A slot
    /// handed out is reused (its parse dropped when overwritten); there are never more slots
    /// than records held at once, plus one.
    parses: Vec<Slot<'a>>,
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
    /// The slots of the records read and not handed out yet, in order: the lines after them
    /// that may flag them are not all read. Indices: a record is held where its parse lies
    /// (a 56-byte entry built on the stack and copied into the queue stalled: the copy's
    /// 16-byte loads of the 8-byte stores just made, ~3% of a plain log's time for 1% of
    /// its instructions).
    held: std::collections::VecDeque<usize>,
    /// Where the text read must reach (`pos`) for the first record held to be final under the
    /// window rule: past [`MAX_NAMES_BYTES`] after it, 0 when it is flagged, never when
    /// nothing is held. Kept as the front changes ([`Records::note_front`]): the loop that
    /// reads until the front is final asks twice a line, and its slot's look-up cost ~25
    /// instructions each time.
    front_settles_at: u64,
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
    #[inline(always)]
    fn find(&self, rest: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(two) = self.avx2 {
            return two.find(rest);
        }
        memchr::memchr2(b'\n', b'\r', rest)
    }
}

/// A slot of [`Records::parses`]: a record's parse and, once the record is held until the
/// lines after it are known (the window rule), where the record is. Written field by field
/// where it lies.
#[derive(Debug, Clone)]
struct Slot<'a> {
    parsed: Result<AuditEvent<'a>, LineError>,
    /// 1-based number of the record's first line.
    line_number: u64,
    /// Where the record starts and its last line's text ends (before its break), in `buf`.
    start: usize,
    end: usize,
    /// Whether a dirty line lies within the window's reach of it (or it is dirty itself).
    flagged: bool,
}

impl Slot<'_> {
    fn empty() -> Self {
        Slot {
            parsed: Err(LineError::Empty),
            line_number: 0,
            start: 0,
            end: 0,
            flagged: false,
        }
    }
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

/// The first position out of the window rule's reach of a line whose text ends at `end`: a
/// line starting there or later is not [`within_reach`] of it.
fn past_reach(end: u64) -> u64 {
    end.saturating_add(MAX_NAMES_BYTES + 1)
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
        let (record, _) = self.next_in_place()?;
        self.released = false;
        let slot = self.pop_held()?;
        self.free.push(slot);
        let parsed = &mut self.parses.get_mut(slot)?.parsed;
        Some((record, std::mem::replace(parsed, Err(LineError::Empty))))
    }

    /// [`Records::next_parsed`] without moving the parse out: it stays where the window rule
    /// held it, for the caller to read (and fill in) until the next call. An event is a few
    /// hundred bytes; each move of it costs a copy per line.
    pub fn next_in_place(
        &mut self,
    ) -> Option<(TextRecord<'a>, &mut Result<AuditEvent<'a>, LineError>)> {
        self.drop_released();
        if self.window_rule {
            return self.settle_front();
        }
        self.next_record()?;
        let slot = self.parses.get_mut(*self.held.front()?)?;
        let bytes = self.buf.get(slot.start..slot.end)?;
        let record = TextRecord {
            line_number: slot.line_number,
            bytes,
        };
        self.released = true;
        Some((record, &mut slot.parsed))
    }

    /// Lets go of the record handed out in place: its slot is free for the next record (its
    /// parse stays there, dropped when the slot is overwritten: no move).
    fn drop_released(&mut self) {
        if std::mem::take(&mut self.released)
            && let Some(slot) = self.pop_held()
        {
            self.free.push(slot);
        }
    }

    /// Takes the first record held off `held`.
    #[inline(always)]
    fn pop_held(&mut self) -> Option<usize> {
        let slot = self.held.pop_front();
        if self.window_rule {
            self.note_front();
        }
        slot
    }

    /// Notes where the first record held becomes final (`front_settles_at`), after `held`
    /// or the flags of its records changed.
    fn note_front(&mut self) {
        let front = self.held.front().and_then(|&slot| self.parses.get(slot));
        self.front_settles_at = match front {
            None => u64::MAX,
            Some(h) if h.flagged => 0,
            Some(h) => past_reach(h.end as u64),
        };
    }

    /// A free slot of `parses` for a new record's parse.
    #[inline(always)]
    fn take_slot(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.parses.push(Slot::empty());
            self.parses.len() - 1
        })
    }

    /// Drops the record being read, its slot freed.
    fn drop_reading(&mut self) {
        self.free.push(self.reading);
    }

    /// The parse of the record being read.
    fn last_parsed(&mut self) -> Option<&mut Result<AuditEvent<'a>, LineError>> {
        self.parses
            .get_mut(self.reading)
            .map(|slot| &mut slot.parsed)
    }

    /// Reads until the first record held is final, and marks it and hands it out in place
    /// (`None` when there is none).
    fn settle_front(&mut self) -> Option<(TextRecord<'a>, &mut Result<AuditEvent<'a>, LineError>)> {
        loop {
            // A line not read yet starts at `pos` or later.
            let next = self.pos as u64;
            // Flagged, or `next` out of its reach (`front_settles_at`).
            let settled = next >= self.front_settles_at;
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
        for &slot in self.held.iter().rev() {
            let Some(held) = self.parses.get_mut(slot) else {
                break;
            };
            if held.flagged || !within_reach(held.end as u64, from) {
                break;
            }
            held.flagged = true;
        }
        self.note_front();
        self.flag_before = self.flag_before.max(past_reach(to));
        let (from, to) = (self.base + from, self.base + to);
        self.edges.first_dirty = self.edges.first_dirty.or(Some(from));
        self.edges.last_dirty = Some(to);
    }

    /// Readies the first record held to be handed out in place, flagged when a dirty line
    /// lies within reach; returns it and its parse (looked up once, for the flag and the
    /// caller).
    fn release(&mut self) -> Option<(TextRecord<'a>, &mut Result<AuditEvent<'a>, LineError>)> {
        let slot = self.parses.get_mut(*self.held.front()?)?;
        let record = TextRecord {
            line_number: slot.line_number,
            bytes: self.buf.get(slot.start..slot.end)?,
        };
        let (start, end) = (self.base + slot.start as u64, self.base + slot.end as u64);
        let near_after = self.dirty_after.is_some_and(|d| within_reach(end, d));
        self.released = true;
        let parsed = &mut slot.parsed;
        if let Ok(event) = parsed {
            if slot.flagged || near_after {
                event.ambiguity = event.ambiguity.with_unlisted_reading(record.bytes);
            } else {
                self.edges.first_plain = self.edges.first_plain.or(Some(start));
                self.edges.last_plain = Some(end);
            }
        }
        Some((record, parsed))
    }

    /// The same records read as a piece of a longer text (at the position [`Records::at`]
    /// gives) with the dirty lines nearest to it outside it (whole-text positions): its
    /// records near its ends are flagged as they are in the whole text.
    #[must_use]
    pub fn around(mut self, around: Around) -> Self {
        if self.window_rule {
            if let Some(before) = around.before.filter(|&b| b <= self.base) {
                // A record starting before `before + reach + 1` (whole text) is within reach.
                self.flag_before = past_reach(before).saturating_sub(self.base);
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

    /// How many line breaks the records read so far passed (`\r\n` is one): once every
    /// record is read, [`count_lines`] of the text (up to a [`Records::stop_at`]), found
    /// without a pass of its own. Every line read moved the line number on; a last line with
    /// no break did too.
    pub(crate) fn breaks_passed(&self) -> u64 {
        let read = self.buf.get(..self.pos).unwrap_or_default();
        let unbroken = !matches!(read.last(), None | Some(b'\n' | b'\r'));
        self.line_number.saturating_sub(1 + u64::from(unbroken))
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
#[inline(always)]
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
#[inline(always)]
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

mod boundaries;
mod record_rule;

use boundaries::whole_lines_end;
pub use boundaries::{boundary_after, count_lines, first_line_end, is_boundary, last_boundary};

#[cfg(test)]
mod hostile;

#[cfg(test)]
mod tests;
