//! Plain audit log text from any [`Read`] (a file, a pipe, a gzip decoder) in bounded pieces
//! cut at record boundaries: a log of any size is read in constant memory, and its first
//! events can be written before its end has been read (or written: `tail -f`, a pipe).
//!
//! The pieces hold whole records. [`text::records`] run over each piece, with line numbers
//! shifted by the piece's `first_line`, gives exactly the records of the whole text, for any
//! piece size and any sizes the reader returns (a property test checks it). The cut follows
//! the text reader's rejoining rule: a record that does not scan alone takes up to
//! [`MAX_CONTINUATIONS`] following lines that neither are blank nor start with an audit
//! timestamp. So a piece may end
//!
//! - before a whole line that is blank or starts with a timestamp (it starts a record), or
//! - after a record that can take no more lines: one that scans (alone or rejoined), one
//!   whose first line has no timestamp (it never scans, so it stands alone), one already
//!   followed by [`MAX_CONTINUATIONS`] lines, or the end of the input.
//!
//! The second rule is what lets `aws logs tail --follow | rdsaudit parse` print each line as
//! it comes, without waiting for the next one.
//!
//! A read error ends the stream: the bytes read before it come out as a last piece, then the
//! error (a truncated `.gz` still gives every line before the cut).
//!
//! Memory: the buffer holds at most about `piece_bytes` plus one read plus the record being
//! completed; it grows past `piece_bytes` only while no cut is possible, and never past
//! `max_record` (default [`DEFAULT_MAX_RECORD`]): then the first line is cut off alone (a
//! record split over lines adding up to more than that is not rejoined), or, when the buffer
//! holds no newline at all, the line is skipped to its end and reported as
//! [`Piece::Oversize`] with its first `max_record` bytes and its length.
//!
//! ```
//! use rdsaudit::input::stream::{Piece, TextStream};
//! let log: &[u8] = b"20240615 10:31:00,db1,app,localhost,43,17,READ,shop,orders,\n\
//!                    20240615 10:31:01,db1,new\nline,localhost,43,0,DISCONNECT,,,0\n";
//! let mut lines = Vec::new();
//! for piece in TextStream::new(log).piece_bytes(16) {
//!     let Piece::Records { first_line, bytes } = piece? else { unreachable!() };
//!     for r in rdsaudit::input::text::records(&bytes) {
//!         lines.push(first_line + r.line_number - 1);
//!     }
//! }
//! assert_eq!(lines, [1, 2]); // the record split by a raw newline stayed whole
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Read};

use crate::audit::scanner::{scan, starts_with_timestamp};
use crate::input::text::{self, MAX_CONTINUATIONS, is_blank_line};

/// Default size a piece is cut at (the next record boundary after it): 1 MiB.
pub const DEFAULT_PIECE_BYTES: usize = 1 << 20;

/// Default longest record: 64 MiB, the per-record inflate limit
/// ([`crate::input::gzip::DEFAULT_MAX_OUTPUT`]). The plugin's statement limit
/// (`server_audit_query_log_limit`) can be raised to about 2 GiB; longer lines are reported.
pub const DEFAULT_MAX_RECORD: usize = 64 << 20;

/// Bytes asked of the reader at a time (less for small pieces, at least [`MIN_READ_BYTES`]).
const READ_BYTES: usize = 256 << 10;
const MIN_READ_BYTES: usize = 4 << 10;

/// What [`TextStream`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Whole records (run [`text::records`] over `bytes`).
    Records {
        /// 1-based number of the physical line `bytes` starts with.
        first_line: u64,
        /// Whole lines; the last one has no newline only at the end of the input.
        bytes: Vec<u8>,
    },
    /// A physical line longer than the stream's `max_record`: skipped, not parsed.
    Oversize {
        /// 1-based number of the line.
        line_number: u64,
        /// Its first `max_record` bytes.
        head: Vec<u8>,
        /// Its whole length in bytes, without the newline.
        len: u64,
    },
}

/// Pieces of the text read from `R` (see the module docs). An iterator of `io::Result<Piece>`.
#[derive(Debug)]
pub struct TextStream<R> {
    reader: R,
    /// Bytes read and not yet handed out; `buf[0]` starts a record.
    buf: Vec<u8>,
    /// What each read goes to (allocated at the first read).
    chunk: Vec<u8>,
    /// Line number of `buf[0]`.
    first_line: u64,
    piece_bytes: usize,
    max_record: usize,
    eager: bool,
    eof: bool,
    /// A read error, returned once what was read before it has been handed out.
    failed: Option<io::Error>,
}

impl<R: Read> TextStream<R> {
    /// A stream over `reader` with the default sizes, waiting for full pieces.
    pub fn new(reader: R) -> Self {
        TextStream {
            reader,
            buf: Vec::new(),
            chunk: Vec::new(),
            first_line: 1,
            piece_bytes: DEFAULT_PIECE_BYTES,
            max_record: DEFAULT_MAX_RECORD,
            eager: false,
            eof: false,
            failed: None,
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

    /// The next piece, `None` at the end of the input.
    pub fn next_piece(&mut self) -> io::Result<Option<Piece>> {
        loop {
            if self.eof {
                if !self.buf.is_empty() {
                    return Ok(Some(self.take(self.buf.len())));
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
            let full = self.buf.len() >= self.piece_bytes.min(self.max_record);
            if self.eof || !(full || (self.eager && short)) {
                continue;
            }
            if let Some(cut) = self.last_cut() {
                return Ok(Some(self.take(cut)));
            }
            if self.buf.len() >= self.max_record {
                return self.forced_cut().map(Some);
            }
        }
    }

    /// Reads once into the buffer; returns whether the read was short (end of input noted).
    fn fill(&mut self) -> io::Result<bool> {
        if self.chunk.is_empty() {
            self.chunk = vec![0; self.read_bytes()];
        }
        let n = loop {
            match self.reader.read(&mut self.chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.buf
            .extend_from_slice(self.chunk.get(..n).unwrap_or_default());
        self.eof = n == 0;
        Ok(n < self.chunk.len())
    }

    fn read_bytes(&self) -> usize {
        READ_BYTES.min(self.piece_bytes.max(MIN_READ_BYTES))
    }

    /// Hands out `buf[..cut]` as a piece; the rest stays.
    fn take(&mut self, cut: usize) -> Piece {
        let mut rest =
            Vec::with_capacity(self.piece_bytes.min(self.max_record) + self.read_bytes());
        rest.extend_from_slice(self.buf.get(cut..).unwrap_or_default());
        self.buf.truncate(cut);
        let bytes = std::mem::replace(&mut self.buf, rest);
        let first_line = self.first_line;
        self.first_line += memchr::memchr_iter(b'\n', &bytes).count() as u64;
        Piece::Records { first_line, bytes }
    }

    /// The last place the buffer can be cut (just after a newline), if any. Not safe at a
    /// newline means a timestamp line at most [`MAX_CONTINUATIONS`] lines back, before which
    /// a cut is safe: so few candidates are tried.
    fn last_cut(&self) -> Option<usize> {
        let mut end = self.buf.len();
        for _ in 0..MAX_CONTINUATIONS + 2 {
            let newline = memchr::memrchr(b'\n', self.buf.get(..end)?)?;
            let cut = newline + 1;
            if self.next_line_starts_record(cut) || self.record_closed_before(cut) {
                return Some(cut);
            }
            end = newline;
        }
        None
    }

    /// Whether the line at `at` is whole in the buffer and is blank or starts with a timestamp.
    fn next_line_starts_record(&self, at: usize) -> bool {
        let rest = self.buf.get(at..).unwrap_or_default();
        memchr::memchr(b'\n', rest).is_some()
            && (is_blank_line(rest) || starts_with_timestamp(rest))
    }

    /// Whether the record holding the line that ends just before `cut` can take no more lines.
    fn record_closed_before(&self, cut: usize) -> bool {
        let mut line_end = cut.saturating_sub(1);
        let mut continuations = 0;
        loop {
            let before = self.buf.get(..line_end).unwrap_or_default();
            let start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
            let line = self.buf.get(start..).unwrap_or_default();
            if is_blank_line(line) {
                return true;
            }
            if starts_with_timestamp(line) {
                return continuations >= MAX_CONTINUATIONS || self.scans(start, cut - 1);
            }
            continuations += 1;
            // A first line without timestamp stands alone; past the cap nothing joins.
            if start == 0 || continuations >= MAX_CONTINUATIONS {
                return true;
            }
            line_end = start - 1;
        }
    }

    /// Whether the record that the text reader makes at `start`, seeing only up to `end`,
    /// scans (then more lines would not change it).
    fn scans(&self, start: usize, end: usize) -> bool {
        let window = self.buf.get(start..end).unwrap_or_default();
        text::records(window)
            .next()
            .is_some_and(|r| scan(r.bytes).is_ok())
    }

    /// No cut is possible and the buffer is full: the first line goes alone, or, when there
    /// is no newline at all, the line is skipped as oversize.
    fn forced_cut(&mut self) -> io::Result<Piece> {
        match memchr::memchr(b'\n', &self.buf) {
            Some(newline) => Ok(self.take(newline + 1)),
            None => self.skip_oversize(),
        }
    }

    /// Reads the rest of an oversize line and drops it; what follows stays in the buffer.
    fn skip_oversize(&mut self) -> io::Result<Piece> {
        let line_number = self.first_line;
        let mut head = std::mem::take(&mut self.buf);
        let mut len = head.len() as u64;
        head.truncate(self.max_record);
        while !self.eof {
            self.fill()?;
            match memchr::memchr(b'\n', &self.buf) {
                Some(newline) => {
                    len += newline as u64;
                    self.buf.drain(..=newline);
                    break;
                }
                None => {
                    len += self.buf.len() as u64;
                    self.buf.clear();
                }
            }
        }
        self.first_line += 1;
        Ok(Piece::Oversize {
            line_number,
            head,
            len,
        })
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
