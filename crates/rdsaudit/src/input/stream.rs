//! Plain audit log text from any [`Read`] (a file, a pipe, a gzip decoder) in bounded pieces
//! cut where the text reader's record rule allows: a log of any size is read in constant
//! memory, and its first events can be written before its end has been read (or written:
//! `tail -f`, a pipe).
//!
//! This module does not know the record rule; [`crate::input::text`] does. The stream reads
//! into a window, asks the text reader where the window can be cut, hands out the text
//! before the cut and carries the unfinished tail over to the next window:
//!
//! - usually at the last record boundary among the window's last lines
//!   ([`text::last_boundary`], a few lines looked at): the piece is [`Piece::Text`], read with
//!   [`text::records`];
//! - when there is none there (a record still open, lines that do not parse),
//!   [`text::records_in_window`] reads the window through and says where it can be cut: the
//!   piece is [`Piece::Window`], the window read the same way up to the cut (the rule may
//!   have looked past the cut to decide the records before it).
//!
//! Prefixed text ([`TextStream::prefixed`]) is cut before its last whole line with the prefix
//! ([`crate::input::prefixed::last_event_start`]): an event runs to the next such line. Its
//! line breaks ([`Breaks`]: `\n`, or any break when the text has no `\n`) are decided before
//! its first piece, from the text's first [`crate::input::prefixed::DECIDE_BYTES`] as for a
//! text in memory ([`Breaks::of`]), and hold for the whole stream (for a followed file, until
//! it is rotated): [`TextStream::breaks`].
//!
//! So the pieces read in order, with line numbers offset by the line breaks of the pieces
//! before ([`text::count_lines`]), give exactly the records of the whole text, for any piece
//! size and any sizes the reader returns (a property test checks it; the window rule's flags
//! near a piece's ends come from its neighbours, [`text::Edges`]). A record is handed out once
//! the record rule can no longer change it: the next record has started, and every line the
//! rule looks at after it has been read. The decoder ([`crate::Decoder::decode_text_stream`])
//! then holds a piece until the [`text::MAX_NAMES_BYTES`] (4 KiB) of text after its last
//! record are read (the window rule,
//! [`text::Records::next_parsed`]) or the input ends: a pipe shows a piece's records that
//! much later. A followed file ([`TextStream::live`]) shows them once the reader has caught
//! up with its writer, the last record too when the text read ends with a line break; behind
//! a line not whole yet, the records within reach before it wait for it
//! ([`TextStream::waits_for_a_line`]).
//!
//! A UTF-8 byte order mark at the start is dropped, as [`crate::input::encoding`] drops it
//! for a whole input.
//!
//! A followed file can be rotated: a live reader says so with [`next_file`] and reads the
//! file its path names next. The text read from the old one goes out as at the end of an
//! input (a line not whole stays as it is, never joined to the new file's first line), and
//! the next piece starts the new file ([`TextStream::starts_file`]): its line numbers start
//! again at 1.
//!
//! A read error ends the stream: the bytes read before it come out as a last piece, then the
//! error (a truncated `.gz` still gives every line before the cut).
//!
//! Memory: the window holds about `piece_bytes` plus one read, plus the record being
//! completed; it grows past `piece_bytes` only while no cut is possible, and never past
//! `max_record` (default [`DEFAULT_MAX_RECORD`]), but for prefixed text, whose line breaks
//! are decided from its first [`crate::input::prefixed::DECIDE_BYTES`] (64 KiB) before its
//! first piece: with a `max_record` below that, the window may hold those 64 KiB. Past it, the first line is handed out alone
//! (a record split over lines adding up to more than that is not rejoined), or, when the
//! window holds no whole line, the line is skipped to its end and handed out as
//! [`Piece::TooLong`] with its first `max_record` bytes and its length. (The decoder also
//! holds decoded pieces for the window rule, bounded by
//! [`crate::decoder::DecoderBuilder::max_held_bytes`].)
//!
//! ```
//! use rdsaudit::input::stream::{Piece, TextStream};
//! use rdsaudit::input::text;
//! let log: &[u8] = b"20240615 10:31:00,db1,app,localhost,43,17,READ,shop,orders,\n\
//!                    20240615 10:31:01,db1,new\nline,localhost,43,0,DISCONNECT,,,0\n";
//! let (mut lines, mut first_line) = (Vec::new(), 1);
//! for piece in TextStream::new(log).piece_bytes(16) {
//!     let piece = piece?;
//!     let (records, own) = match &piece {
//!         Piece::Text(bytes) => (text::records(bytes), &bytes[..]),
//!         Piece::Window { bytes, until } => (
//!             text::records_in_window(bytes).stop_at(*until),
//!             &bytes[..*until],
//!         ),
//!         Piece::TooLong { .. } => unreachable!(),
//!     };
//!     for r in records {
//!         lines.push(first_line + r.line_number - 1);
//!     }
//!     first_line += text::count_lines(own);
//! }
//! assert_eq!(lines, [1, 2]); // the record split by a raw newline stayed whole
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Read};

use crate::input::encoding::UTF8_BOM;
use crate::input::prefixed::Breaks;
use crate::input::text;

/// Default size a piece is cut at (the last place the record rule allows before it):
/// 256 KiB. Against 1 MiB on a 100 MB log: two threads -9.5% wall, peak RSS 38.6 -> 14.2 MB;
/// one thread unchanged (BENCHMARKS.md "Session 15").
pub const DEFAULT_PIECE_BYTES: usize = 256 << 10;

/// Default longest record: 64 MiB, the per-record inflate limit
/// ([`crate::input::gzip::DEFAULT_MAX_OUTPUT`]). The plugin's statement limit
/// (`server_audit_query_log_limit`) can be raised to about 2 GiB; longer lines are reported.
pub const DEFAULT_MAX_RECORD: usize = 64 << 20;

/// Bytes asked of the reader at a time (less for small pieces, at least [`MIN_READ_BYTES`]).
const READ_BYTES: usize = 256 << 10;
const MIN_READ_BYTES: usize = 4 << 10;

/// How many of a window's last lines are looked at for a record boundary.
const BOUNDARY_LINES: usize = 64;

/// How many buffers given back ([`TextStream::reuse`]) are kept for the next pieces: about
/// the pieces in flight with two threads (~12), so a burst given back is kept rather than
/// dropped and faulted in afresh (with 4, a 100 MB log at two threads allocated 27-69 new
/// 512 KiB buffers: BENCHMARKS.md "Session 29: two threads"). At most 16 buffers of up to
/// twice a piece's capacity.
const MAX_SPARES: usize = 16;

/// What a [`TextStream::live`] reader returns, as the error of a read, when the file it
/// follows was rotated (renamed away and created again, or truncated): the text read so far
/// ends there and its next read starts the next file (see the module docs).
pub fn next_file() -> io::Error {
    io::Error::other(NextFile)
}

/// Whether `error` is [`next_file`]'s.
pub fn is_next_file(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|e| e.is::<NextFile>())
}

/// The payload of [`next_file`]'s error.
#[derive(Debug)]
struct NextFile;

impl std::fmt::Display for NextFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the followed file was rotated")
    }
}

impl std::error::Error for NextFile {}

/// What [`TextStream`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text holding whole records (run [`text::records`] over it); it ends with a line
    /// break, except at the end of the input (and is empty only when a
    /// [`TextStream::live`] stream caught up with nothing to cut).
    Text(Vec<u8>),
    /// A window of the text whose records before `until` are the piece: read them with
    /// [`text::records_in_window`] and [`text::Records::stop_at`]`(until)`. The text from
    /// `until` on comes again in the next piece.
    Window {
        /// The window.
        bytes: Vec<u8>,
        /// Where the piece ends in it.
        until: usize,
    },
    /// A line longer than the stream's `max_record`: not parsed. Its line break, if any,
    /// starts the next piece (read as a blank line), so it holds no line break itself.
    TooLong {
        /// Its first `max_record` bytes.
        head: Vec<u8>,
        /// Its whole length in bytes, without the line break.
        len: u64,
    },
}

/// Pieces of the text read from `R` (see the module docs). An iterator of `io::Result<Piece>`.
#[derive(Debug)]
pub struct TextStream<R> {
    reader: R,
    /// The window: `buf[..filled]` are the bytes read and not yet handed out (`buf[0]` is
    /// where a cut left off). The rest is room for the next read, zeroed once when the
    /// buffer first grows over it: the reader reads straight into it, not into a chunk
    /// copied over, and a buffer given back keeps its room ([`TextStream::reuse`]).
    buf: Vec<u8>,
    filled: usize,
    /// Buffers of pieces handed out and given back ([`TextStream::reuse`]), empty.
    spares: Vec<Vec<u8>>,
    piece_bytes: usize,
    max_record: usize,
    eager: bool,
    /// Prefixed text (CloudWatch exports, `aws logs tail`) rather than audit text.
    prefixed: bool,
    /// The line breaks of prefixed text, once its start has told them (the file's, for a
    /// followed file: each file rotated to tells its own).
    breaks: Option<Breaks>,
    /// Those of the last piece handed out ([`TextStream::breaks`]).
    piece_breaks: Breaks,
    eof: bool,
    /// Whether the start has been looked at for a byte order mark.
    started: bool,
    /// A read error, returned once what was read before it has been handed out.
    failed: Option<io::Error>,
    /// The reader is a followed file ([`TextStream::live`]).
    live: bool,
    /// Whether the last piece was handed out because the followed file had nothing more.
    caught_up: bool,
    /// How long the window was when a cut was last looked for in vain (0: not since the last
    /// piece).
    tried: usize,
    /// The live reader said [`next_file`] and the window has not been handed out yet.
    rotated: bool,
    /// The next piece handed out is the first of a new file.
    file_start: bool,
    /// The last piece handed out was the first of a new file ([`TextStream::starts_file`]).
    starts_file: bool,
    /// The next piece's end, found with the last one's (see [`TextStream::cut`]).
    second_cut: Option<usize>,
}

impl<R: Read> TextStream<R> {
    /// A stream over `reader` with the default sizes, waiting for full pieces.
    pub fn new(reader: R) -> Self {
        TextStream {
            reader,
            buf: Vec::new(),
            filled: 0,
            spares: Vec::new(),
            piece_bytes: DEFAULT_PIECE_BYTES,
            max_record: DEFAULT_MAX_RECORD,
            eager: false,
            prefixed: false,
            breaks: None,
            piece_breaks: Breaks::Lf,
            eof: false,
            started: false,
            failed: None,
            live: false,
            caught_up: false,
            tried: 0,
            rotated: false,
            file_start: false,
            starts_file: false,
            second_cut: None,
        }
    }

    /// Cut pieces once they hold at least `bytes` (at least 1).
    #[must_use]
    pub fn piece_bytes(mut self, bytes: usize) -> Self {
        self.piece_bytes = bytes.max(1);
        self
    }

    /// The longest record (see the module docs); at least 1.
    #[must_use]
    pub fn max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes.max(1);
        self
    }

    /// When a read returns less than was asked (a pipe or a growing file with nothing more
    /// for now), hand out the records read so far instead of waiting for a full piece:
    /// latency over piece size.
    #[must_use]
    pub fn eager(mut self, eager: bool) -> Self {
        self.eager = eager;
        self
    }

    /// Reads prefixed text ([`crate::input::prefixed`]: CloudWatch exports to S3, `aws logs
    /// tail`): cut before a line with the prefix, where an event starts whatever follows.
    #[must_use]
    pub fn prefixed(mut self, prefixed: bool) -> Self {
        self.prefixed = prefixed;
        self
    }

    /// Gives a piece back once it has been read: its buffer holds a later piece. A new
    /// piece's buffer is otherwise fresh memory (page faults, and memory handed back and
    /// forth with the system, a piece at a time). Keeps at most a few, of the usual size.
    pub fn reuse(&mut self, piece: Piece) {
        let (Piece::Text(buf) | Piece::Window { bytes: buf, .. }) = piece else {
            return;
        };
        let usual = self.piece_capacity();
        // Not cleared: its bytes are the next window's room, zeroed already.
        if self.spares.len() < MAX_SPARES && (usual..=2 * usual).contains(&buf.capacity()) {
            self.spares.push(buf);
        }
    }

    /// The reader is a file followed as it grows (`--follow`), whose writer writes each
    /// record whole: a read that returns less than was asked, or that fails with
    /// [`io::ErrorKind::WouldBlock`] (nothing more for now; the reader should wait for more
    /// on the next read rather than fail so again), reached what it has written
    /// ([`TextStream::caught_up`]). The text read then goes out whole when it ends with a line
    /// break: its last record is whole. Implies [`TextStream::eager`]. Not for a pipe, whose
    /// reads end anywhere its writer's writes do (`cat` writes 128 KiB at a time).
    #[must_use]
    pub fn live(mut self, live: bool) -> Self {
        self.live = live;
        self.eager |= live;
        self
    }

    /// Whether the last piece of a [`TextStream::live`] stream was handed out because the
    /// followed file had nothing more at that moment. Such a piece may be empty: nothing
    /// could be cut, but what was handed out before is all the file holds yet.
    pub fn caught_up(&self) -> bool {
        self.caught_up
    }

    /// Whether the stream caught up ([`TextStream::caught_up`]) with a line not whole yet
    /// left in its window: the records handed out before it may still be flagged by it (once
    /// whole, or at the end of the input, it is read like any line; a log cut inside its last
    /// line flags the records within reach before that line), so they wait for it as in any
    /// stream rather than going out at once.
    pub fn waits_for_a_line(&self) -> bool {
        self.caught_up && self.filled > 0
    }

    /// Whether the last piece handed out is the first of the file a [`TextStream::live`]
    /// reader went on to after a rotation ([`next_file`]): line numbers start again there.
    pub fn starts_file(&self) -> bool {
        self.starts_file
    }

    /// Whether this is prefixed text ([`TextStream::prefixed`]).
    pub fn is_prefixed(&self) -> bool {
        self.prefixed
    }

    /// The line breaks of the last piece handed out, of prefixed text: those of the whole
    /// text (of the file, for a followed file rotated), as [`Breaks::of`] tells them for the
    /// text in memory. Read its events with
    /// [`crate::input::prefixed::events_in`]`(piece, shape, stream.breaks())`.
    pub fn breaks(&self) -> Breaks {
        self.piece_breaks
    }

    /// The next piece, `None` at the end of the input.
    ///
    /// # Errors
    /// The reader's error, once everything read before it has been handed out.
    pub fn next_piece(&mut self) -> io::Result<Option<Piece>> {
        let piece = self.next_of_file()?;
        self.starts_file = piece.is_some() && std::mem::take(&mut self.file_start);
        if std::mem::take(&mut self.rotated) {
            // This piece ended the old file: the next one starts the new file.
            self.file_start = true;
        }
        Ok(piece)
    }

    /// The next piece (see [`TextStream::next_piece`]), the last of a file when `rotated`.
    fn next_of_file(&mut self) -> io::Result<Option<Piece>> {
        if let Some(cut) = self.second_cut.take() {
            return Ok(Some(self.take(cut)));
        }
        loop {
            if self.eof {
                if self.filled > 0 {
                    self.decide_breaks(true);
                    return Ok(Some(self.take(self.filled)));
                }
                return self.failed.take().map_or(Ok(None), Err);
            }
            // A read error ends the input: what was read before it goes out first.
            let short = match self.fill() {
                Ok(short) => short,
                Err(e) => {
                    self.failed = Some(e);
                    self.eof = true;
                    continue;
                }
            };
            if self.rotated {
                // The old file is all read (its writer moved on): what is left of it goes out
                // whole, as at the end of an input; the new file's text starts a piece of
                // its own, and its byte order mark is looked for.
                self.started = false;
                self.caught_up = true;
                if self.filled > 0 {
                    self.decide_breaks(true);
                    let piece = self.take(self.filled);
                    self.breaks = None;
                    return Ok(Some(piece));
                }
                self.breaks = None;
                self.rotated = false;
                self.file_start = true;
                continue;
            }
            let full = self.filled >= self.piece_bytes.min(self.max_record);
            if self.eof || !(full || (self.eager && short)) {
                continue;
            }
            // A followed file's text so far is not all of it: its breaks are decided by what
            // it holds ([`Breaks::known`]), never by where a write ended (a write cut right
            // after a name's CR made an LF export read the CR way, a forged line unflagged).
            if !self.decide_breaks(false) {
                continue;
            }
            // A short read of a followed file reached what its writer has written, however
            // full the window is: a write that filled a piece was held till the next write
            // when this said `!full` (1,977 of 3,896 lines out of 524,241 bytes written at
            // once).
            let told = self.caught_up;
            self.caught_up = self.live && short;
            if self.worth_a_look() {
                if let Some(piece) = self.cut() {
                    return Ok(Some(piece));
                }
                self.tried = self.filled;
            }
            if self.caught_up && !told {
                // Nothing to cut (a line not whole yet, or nothing read since a full piece),
                // but the pieces handed out before are all there is for now: an empty piece
                // says so to the decoder, which would otherwise hold them for the next write.
                return Ok(Some(Piece::Text(Vec::new())));
            }
            if self.filled >= self.max_record {
                return self.forced_cut().map(Some);
            }
        }
    }

    /// Whether the line breaks are known (always, for audit text): for prefixed text, once
    /// the window tells them ([`Breaks::known`]; `ended`: the window is all of the text, or
    /// of the followed file). No piece is cut before: a piece may hold no `\n` of a text
    /// that has some, and its events are those of the whole text only read with its breaks.
    fn decide_breaks(&mut self, ended: bool) -> bool {
        if !self.prefixed || self.breaks.is_some() {
            return true;
        }
        self.breaks = Breaks::known(self.window(), ended);
        self.breaks.is_some()
    }

    /// The line breaks of prefixed text (decided: see [`TextStream::decide_breaks`]).
    fn prefixed_breaks(&self) -> Breaks {
        self.breaks.unwrap_or_default()
    }

    /// A piece cut off the window, if it can be cut yet (see the module docs).
    fn cut(&mut self) -> Option<Piece> {
        let window = self.window();
        // Prefixed text with no LF at its start ends its lines at CRs: a CR at the end ends
        // a line too (a writer that writes each record whole does not split a CRLF), else a
        // followed CR-only export showed nothing until Ctrl-C (every write left its last
        // line "not whole", and the records before it waited for it).
        let cr_ends = self.prefixed && self.prefixed_breaks() == Breaks::Any;
        let whole = window.last() == Some(&b'\n') || (cr_ends && window.last() == Some(&b'\r'));
        if self.caught_up && whole {
            // Caught up with a writer that writes each record whole: the last record read is
            // whole too, and goes out now rather than when the next one starts (a quiet
            // followed log lagged a record behind). A line not whole yet waits (a CR at the
            // end may be half a CRLF), and so do the records within reach before it (below).
            return Some(self.take(self.filled));
        }
        if let Some(cut) = self.boundary(window) {
            if self.caught_up {
                // Caught up behind a line not whole yet ([`TextStream::waits_for_a_line`]):
                // the records within reach before it wait for it; those before them go out
                // in a piece of their own, which they would wait with otherwise (a followed
                // 200 KB log cut inside its last line showed nothing until Ctrl-C).
                let reach = 2 * text::MAX_NAMES_BYTES as usize;
                let early = window.get(..cut.saturating_sub(reach)).unwrap_or_default();
                if let Some(early) = self.boundary(early) {
                    self.second_cut = Some(cut - early);
                    return Some(self.take(early));
                }
            }
            return Some(self.take(cut));
        }
        if self.prefixed {
            return None;
        }
        let mut records = text::records_in_window(window);
        while records.next_parsed().is_some() {}
        let until = records.cut();
        if until == 0 {
            return None;
        }
        let bytes = self.hand_out(until, self.filled);
        Some(Piece::Window { bytes, until })
    }

    /// The last place among the last lines of `window` where it can be cut: before a line
    /// with the prefix for prefixed text, else at a record boundary.
    fn boundary(&self, window: &[u8]) -> Option<usize> {
        if self.prefixed {
            crate::input::prefixed::last_event_start(window, BOUNDARY_LINES, self.prefixed_breaks())
        } else {
            text::last_boundary(window, BOUNDARY_LINES)
        }
    }

    /// Whether a cut is worth looking for again after one was not found: a line break has
    /// come since (a CR then may end a line now), the window has doubled, or a followed file
    /// has caught up (its last record may go out). Looking at every
    /// read scanned the window again each time, the line not whole yet too: a 32 MiB line
    /// through a pipe took 48 s (16 MiB: 3.9 s), a 376 MB log with lines past 64 MiB over
    /// 180 s. A look the window has not doubled for waits for a break: the cut found later
    /// is one the record rule allows as well (pieces of any size give the same records).
    fn worth_a_look(&self) -> bool {
        let new = self.buf.get(self.tried.saturating_sub(1)..self.filled);
        self.tried == 0
            || self.caught_up
            || self.filled >= 2 * self.tried
            || new.is_some_and(|new| memchr::memchr2(b'\n', b'\r', new).is_some())
    }

    /// The bytes read and not handed out yet.
    fn window(&self) -> &[u8] {
        self.buf.get(..self.filled).unwrap_or_default()
    }

    /// Drops the window's first `n` bytes.
    fn consume(&mut self, n: usize) {
        self.tried = 0;
        self.buf.copy_within(n.min(self.filled)..self.filled, 0);
        self.filled = self.filled.saturating_sub(n);
    }

    /// Reads once into the buffer; returns whether the read was short (end of input noted).
    fn fill(&mut self) -> io::Result<bool> {
        let want = self.read_bytes();
        let end = self.filled + want;
        if self.buf.capacity() == 0 {
            self.buf = self.spare();
        }
        if self.buf.len() < end {
            // Only room never read into is zeroed (past a fresh buffer's, once).
            self.buf.resize(end, 0);
        }
        let room = self.buf.get_mut(self.filled..end).unwrap_or_default();
        let n = loop {
            match self.reader.read(room) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A followed file with nothing more for now (see `live`).
                Err(e) if self.live && e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                // Rotated: the file read so far is all read.
                Err(e) if self.live && is_next_file(&e) => {
                    self.rotated = true;
                    return Ok(true);
                }
                other => break other?,
            }
        };
        self.filled += n.min(want);
        self.eof = n == 0;
        if !self.started {
            // Until the first bytes are seen to be no byte order mark (or all of one), no
            // piece can be cut: they hold no line break.
            let window = self.window();
            let head = window.get(..UTF8_BOM.len()).unwrap_or(window);
            let bom = head == UTF8_BOM;
            self.started = bom || !UTF8_BOM.starts_with(head) || self.eof;
            if bom {
                self.consume(UTF8_BOM.len());
            }
        }
        Ok(n < want)
    }

    fn read_bytes(&self) -> usize {
        READ_BYTES.min(self.piece_bytes.max(MIN_READ_BYTES))
    }

    /// What a window holds when a piece is cut (the reads that fill it to `piece_bytes`).
    fn piece_capacity(&self) -> usize {
        self.piece_bytes.min(self.max_record) + self.read_bytes()
    }

    /// A buffer for the next window: one given back (its bytes are room), or a new one,
    /// zeroed by `calloc`: fresh pages are zero already, so a page is touched only when a read
    /// fills it (a 5-line file: 327 -> 237 page faults and ~0.5 ms cpu of ~3, where a `resize`
    /// wrote 256 KiB first).
    fn spare(&mut self) -> Vec<u8> {
        self.spares
            .pop()
            .unwrap_or_else(|| vec![0; self.piece_capacity()])
    }

    /// Hands out `buf[..cut]` as a piece; the rest stays.
    fn take(&mut self, cut: usize) -> Piece {
        self.piece_breaks = self.prefixed_breaks();
        Piece::Text(self.hand_out(cut, cut))
    }

    /// Hands out `buf[..len]`; the window starts again at `cut`, in another buffer.
    fn hand_out(&mut self, cut: usize, len: usize) -> Vec<u8> {
        self.tried = 0;
        self.piece_breaks = self.prefixed_breaks();
        let mut next = self.spare();
        let rest = self.buf.get(cut..self.filled).unwrap_or_default();
        if next.len() < rest.len() {
            next.resize(rest.len(), 0);
        }
        if let Some(to) = next.get_mut(..rest.len()) {
            to.copy_from_slice(rest);
        }
        self.filled = rest.len();
        let mut out = std::mem::replace(&mut self.buf, next);
        out.truncate(len);
        out
    }

    /// No cut is possible and the buffer is full: the first line goes alone, or, when there
    /// is no line break at all, the line is skipped as too long.
    fn forced_cut(&mut self) -> io::Result<Piece> {
        let first_line_end = if self.prefixed && self.prefixed_breaks() == Breaks::Lf {
            // A name's lone CR is no line break in text that has LFs.
            memchr::memchr(b'\n', self.window()).map(|i| i + 1)
        } else {
            text::first_line_end(self.window())
        };
        match first_line_end {
            Some(next) => Ok(self.take(next)),
            None => self.skip_too_long(),
        }
    }

    /// Reads the rest of a line that is too long and drops it, up to its line break (which
    /// stays, to start the next piece).
    fn skip_too_long(&mut self) -> io::Result<Piece> {
        let (mut head, mut len) = (Vec::new(), 0u64);
        loop {
            // A CR at the very end may be half a CRLF: it stays for the next look.
            let window = self.window();
            let end = window.len() - usize::from(window.last() == Some(&b'\r'));
            let scanned = window.get(..end).unwrap_or_default();
            let found = memchr::memchr2(b'\n', b'\r', scanned);
            let part = found.unwrap_or(end);
            let room = self.max_record.saturating_sub(head.len());
            head.extend_from_slice(window.get(..part.min(room)).unwrap_or_default());
            len += part as u64;
            self.consume(part);
            if found.is_some() || self.eof || self.rotated {
                break;
            }
            if let Err(e) = self.fill() {
                self.failed = Some(e);
                self.eof = true;
            }
        }
        Ok(Piece::TooLong { head, len })
    }
}

impl<R: Read> Iterator for TextStream<R> {
    type Item = io::Result<Piece>;

    fn next(&mut self) -> Option<io::Result<Piece>> {
        self.next_piece().transpose()
    }
}

#[cfg(test)]
mod tests;
