//! Plain audit log files, as RDS writes them and as `aws rds download-db-log-file-portion`
//! returns them: one record per line.
//!
//! A line ends at `\n`, `\r\n` or a lone `\r`. The plugin escapes line breaks inside
//! statements, but writes user, host, database and table names raw; a raw break in one of
//! those cuts a record over several physical lines, and the text after the break may even
//! look like a record of its own (a user name can hold `\n` and a whole forged audit line).
//! So:
//!
//! - a line that does not parse alone is joined with the lines after it that cannot start a
//!   record (no timestamp), up to [`MAX_CONTINUATIONS`] of them, and the first join that
//!   parses is the record;
//! - a line that parses alone takes those lines too when the join parses; the scanner then
//!   lists the first line's own reading as an alternative, so a name holding a complete
//!   forged record before its line break does not become an event of its own;
//! - a record that parses right after a line that did not, where the two read as one record
//!   (a user name holding a newline and a whole forged audit line), is flagged ambiguous with
//!   the joined reading among its alternatives: the line before stays an unparsed line with
//!   its reason, and the forged-looking record is never a plain event;
//! - otherwise the line stands alone: junk is reported line by line, never absorbed, and the
//!   cost stays linear (each line is scanned at most `2 + MAX_CONTINUATIONS` times).
//!
//! Blank lines are skipped. Records are zero-copy: the record is the contiguous slice, its
//! interior breaks kept.
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
use crate::audit::scanner::{LineError, parse_line, starts_with_timestamp};

/// One record of a plain log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRecord<'a> {
    /// 1-based number of the physical line the record starts on.
    pub line_number: u64,
    /// The record, without its final newline; interior newlines of rejoined lines kept.
    pub bytes: &'a [u8],
}

/// Iterates over the records of `buf` (see the module docs).
pub fn records(buf: &[u8]) -> Records<'_> {
    Records {
        buf,
        pos: 0,
        line_number: 1,
        unparsed_before: None,
        known_end: buf.len(),
        open: false,
    }
}

/// The records of `window`, the start of a longer text (or of what is left of it after a
/// [`Records::cut`]) whose end has not been read yet: the iterator stops before the first
/// record that text after the window could still change (its lines, or the lines the record
/// rule looks at after it, are not all in the window; a CR at its very end may be the first
/// half of a CRLF). [`Records::cut`] then says where the window can be cut.
///
/// ```
/// use rdsaudit::input::text::records_in_window;
/// let window = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n20240615 10:31:01,h,u,l,1,3,QU";
/// let mut records = records_in_window(window);
/// // The first record may still take the next line, if it does not start a record.
/// assert!(records.next().is_none());
/// assert_eq!(records.cut(), 0);
/// let window = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n\
///                20240615 10:31:01,h,u,l,1,3,QUERY,,'y',0\n\
///                20240615 10:31:02,h,u,l,1,4,QUERY,,'z',0\n";
/// let mut records = records_in_window(window);
/// assert_eq!(records.by_ref().count(), 2);
/// assert_eq!(records.cut(), 82);
/// ```
pub fn records_in_window(window: &[u8]) -> Records<'_> {
    Records {
        known_end: whole_lines_end(window),
        open: true,
        ..records(window)
    }
}

/// Iterator returned by [`records`] and [`records_in_window`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Line number of the physical line at `pos`.
    line_number: u64,
    /// Where the record just read starts, when it did not parse and ends right before `pos`
    /// (no blank line between): the next record may be the rest of it.
    unparsed_before: Option<usize>,
    /// Lines starting before this are whole (the buffer's length unless `open`).
    known_end: usize,
    /// Whether the text goes on after `buf` ([`records_in_window`]).
    open: bool,
}

/// A record and what the scanner made of it.
pub type Parsed<'a> = (TextRecord<'a>, Result<AuditEvent<'a>, LineError>);

impl<'a> Records<'a> {
    /// The next record and its parse, parsed once: the record rule needs to know whether a
    /// line parses, so the result is handed on rather than computed again.
    pub fn next_parsed(&mut self) -> Option<Parsed<'a>> {
        // Skip blank lines.
        while self.known(self.pos) && is_blank_line(self.tail(self.pos)) {
            self.pos = self.line_at(self.pos).1;
            self.line_number += 1;
            self.unparsed_before = None;
        }
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        let line_number = self.line_number;
        // `None`: the record is not final yet (only with `open`).
        let (end, next, joined, mut parsed) = self.record_at(start)?;
        if let (Some(before), Ok(event)) = (self.unparsed_before, parsed.as_mut()) {
            // The line before did not parse; if it and this record read as one record, a raw
            // line break in a name may have cut that record here: flag it.
            let joined = self.buf.get(before..end).unwrap_or_default();
            crate::audit::scanner::flag_cut_record(event, joined, start - before);
        }
        self.unparsed_before = parsed.is_err().then_some(start);
        self.line_number += 1 + joined;
        self.pos = next;
        let bytes = self.buf.get(start..end)?;
        Some((TextRecord { line_number, bytes }, parsed))
    }

    /// Where the text can be cut after the records handed out so far: decoding the text before
    /// the cut and the text from it on (from line 1 or the line it is, with [`records`] or
    /// [`records_in_window`]) gives the same records, parses and line numbers as decoding the
    /// whole. That is where the next record starts, or the start of the last record handed out
    /// when it did not parse and the next one could still be read as its rest.
    pub fn cut(&self) -> usize {
        self.unparsed_before.unwrap_or(self.pos)
    }

    /// Whether the line starting at `from` is whole in the buffer.
    fn known(&self, from: usize) -> bool {
        from < self.known_end
    }

    /// The physical line starting at `from`: its end (index of its break, or the buffer's
    /// end) and where the next line starts.
    fn line_at(&self, from: usize) -> (usize, usize) {
        line_at(self.buf, from)
    }

    /// Whether the line starting at `from` exists and is not blank.
    fn has_line(&self, from: usize) -> bool {
        let rest = self.tail(from);
        !rest.is_empty() && !is_blank_line(rest)
    }

    fn parse(&self, start: usize, end: usize) -> Result<AuditEvent<'a>, LineError> {
        parse_line(self.buf.get(start..end).unwrap_or_default())
    }

    fn tail(&self, from: usize) -> &'a [u8] {
        self.buf.get(from..).unwrap_or_default()
    }

    /// The record starting at `start`: its end, where the next line starts, how many lines
    /// were joined to its first one, and its parse (see the module docs for the rule); `None`
    /// when a line it depends on is not whole in the buffer.
    fn record_at(
        &self,
        start: usize,
    ) -> Option<(usize, usize, u64, Result<AuditEvent<'a>, LineError>)> {
        if self.open && !self.known(start) {
            return None;
        }
        let (first_end, first_next) = self.line_at(start);
        let alone = self.parse(start, first_end);
        // Only lines that cannot start a record are taken.
        let may_take = |from: usize| self.has_line(from) && !starts_with_timestamp(self.tail(from));
        let mut next = first_next;
        for joined in 1..=MAX_CONTINUATIONS {
            if self.open && !self.known(next) {
                return None;
            }
            if !may_take(next) {
                break;
            }
            let end;
            (end, next) = self.line_at(next);
            if let Ok(event) = self.parse(start, end) {
                return Some((end, next, joined, Ok(event)));
            }
        }
        Some((first_end, first_next, 0, alone))
    }
}

/// How many lines may be joined to a record's first line.
pub const MAX_CONTINUATIONS: u64 = 8;

/// The end of the line starting at `from` in `buf` (its break or the buffer's end) and where
/// the next line starts: after `\n`, `\r\n` or a lone `\r`.
fn line_at(buf: &[u8], from: usize) -> (usize, usize) {
    let rest = buf.get(from..).unwrap_or_default();
    match memchr::memchr2(b'\n', b'\r', rest) {
        None => (buf.len(), buf.len()),
        Some(i) => {
            let crlf = rest.get(i..i + 2) == Some(b"\r\n");
            (from + i, from + i + if crlf { 2 } else { 1 })
        }
    }
}

fn is_blank_line(rest: &[u8]) -> bool {
    matches!(rest.first(), Some(b'\n' | b'\r'))
}

impl<'a> Iterator for Records<'a> {
    type Item = TextRecord<'a>;

    fn next(&mut self) -> Option<TextRecord<'a>> {
        self.next_parsed().map(|(record, _)| record)
    }
}

/// Where `window`, the start of a longer text, surely can be cut, looking only at a few lines
/// from `at` on: the first line start at or after `at` where a record surely starts whatever
/// follows the window, `None` when there is none. A cut found here is one [`Records::cut`]
/// could give, without reading the window from its start.
pub fn cut_after(window: &[u8], at: usize) -> Option<usize> {
    if at >= window.len() {
        return None;
    }
    boundary(window, at, whole_lines_end(window))
}

/// The last cut [`cut_after`] finds in `window`: before its last whole line, when that line
/// and the one before it parse alone.
pub fn last_cut(window: &[u8]) -> Option<usize> {
    let known_end = whole_lines_end(window);
    let last_start = line_start_before(window, known_end.checked_sub(1)?);
    boundary(window, last_start, known_end)
}

/// Where the second line of `window` starts, when its first line is whole.
pub fn first_line_end(window: &[u8]) -> Option<usize> {
    (whole_lines_end(window) > 0).then(|| line_at(window, 0).1)
}

/// Where the whole lines of `window` end (after the last line break); a CR at its very end
/// may be the first half of a CRLF, so the line it ends is not whole yet.
fn whole_lines_end(window: &[u8]) -> usize {
    let end = window.len() - usize::from(window.last() == Some(&b'\r'));
    memchr::memrchr2(b'\n', b'\r', window.get(..end).unwrap_or_default()).map_or(0, |i| i + 1)
}

/// The first line start at or after `at`, with a whole line before `known_end`, where a record
/// surely starts: the line before it parses alone and so does the line itself (a line that
/// does not parse may be joined with the next, see the module docs).
fn boundary(buf: &[u8], at: usize, known_end: usize) -> Option<usize> {
    let parses = |a: usize, b: usize| {
        buf.get(a..b)
            .is_some_and(|r| crate::audit::scanner::parse_line(r).is_ok())
    };
    let mut line_start = at
        .checked_sub(1)
        .map(|p| line_start_before(buf, p))
        .unwrap_or_default();
    while line_start < known_end {
        let (end, next) = line_at(buf, line_start);
        if next >= known_end {
            return None;
        }
        if next >= at && parses(line_start, end) && parses(next, line_at(buf, next).0) {
            return Some(next);
        }
        line_start = next;
    }
    None
}

/// How many line breaks `piece` holds (`\r\n` is one): the line number of the text after it,
/// less one.
pub fn count_lines(piece: &[u8]) -> u64 {
    let lf = memchr::memchr_iter(b'\n', piece).count();
    let lone_cr = memchr::memchr_iter(b'\r', piece)
        .filter(|&i| piece.get(i + 1) != Some(&b'\n'))
        .count();
    (lf + lone_cr) as u64
}

/// The start of the line holding byte `p`.
fn line_start_before(buf: &[u8], p: usize) -> usize {
    memchr::memrchr2(b'\n', b'\r', buf.get(..p).unwrap_or_default()).map_or(0, |i| i + 1)
}

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

    #[test]
    fn a_first_line_without_timestamp_is_its_own_record() {
        let r: Vec<_> = records(b"garbage\n20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0").collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].bytes, b"garbage");
    }

    #[test]
    fn cuts_preserve_records_and_line_numbers() {
        let mut log = Vec::new();
        for i in 0..500 {
            log.extend_from_slice(
                format!("20240615 10:31:00,h,u{i},l,1,{i},QUERY,,'SELECT {i}',0\n").as_bytes(),
            );
            if i % 7 == 0 {
                log.extend_from_slice(b"\n");
            }
        }
        let whole: Vec<_> = records(&log).collect();
        for piece in [1, 100, 4000, 1 << 20] {
            let (mut joined, mut rest, mut first) = (Vec::new(), &log[..], 1);
            while !rest.is_empty() {
                let end = cut_after(rest, piece).unwrap_or(rest.len());
                let (piece, after) = rest.split_at(end);
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
