//! Plain audit log files, as RDS writes them and as `aws rds download-db-log-file-portion`
//! returns them: one record per line.
//!
//! The plugin escapes newlines inside statements, but writes user, host, database and table
//! names raw; a raw newline in one of those breaks a record over two physical lines. So when
//! a line does not scan on its own and the lines after it do not start with an audit
//! timestamp, up to [`MAX_CONTINUATIONS`] of them are joined to it, and the first join that
//! scans makes the record (zero-copy: the record is the contiguous slice, newlines included).
//! When none does, the line stands alone; a line that scans never takes the next one. So
//! junk is reported line by line, never absorbed, and the cost stays linear. Blank lines are
//! skipped.
//!
//! ```
//! let log = b"20240615 10:31:00,db1,app,localhost,43,17,READ,shop,orders,\n\
//!             20240615 10:31:01,db1,new\nline,localhost,43,0,DISCONNECT,,,0\n";
//! let records: Vec<_> = rdsaudit::input::text::records(log).collect();
//! assert_eq!(records.len(), 2);
//! assert_eq!(records[1].line_number, 2);
//! let event = rdsaudit::audit::scanner::parse_line(records[1].bytes)?;
//! assert_eq!(event.username, "new\nline");
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

use crate::audit::scanner::starts_with_timestamp;

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
    }
}

/// Iterator returned by [`records`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Line number of the physical line at `pos`.
    line_number: u64,
}

impl<'a> Records<'a> {
    /// End of the physical line starting at `from` (index of its `\n`, or the buffer's end).
    fn line_end(&self, from: usize) -> usize {
        memchr::memchr(b'\n', self.buf.get(from..).unwrap_or_default())
            .map_or(self.buf.len(), |i| from + i)
    }

    /// Whether the physical line starting at `from` continues the record before it.
    fn is_continuation(&self, from: usize) -> bool {
        let rest = self.buf.get(from..).unwrap_or_default();
        !rest.is_empty() && !is_blank_line(rest) && !starts_with_timestamp(rest)
    }
}

/// How many continuation lines may be joined to a record that does not scan alone.
pub const MAX_CONTINUATIONS: u64 = 8;

impl Records<'_> {
    /// The end of the record starting at `start`, and the number of lines joined, when the
    /// line ending at `first_end` does not scan and joining continuation lines makes it scan.
    fn rejoined(&self, start: usize, first_end: usize) -> Option<(usize, u64)> {
        let scans = |end: usize| {
            self.buf
                .get(start..end)
                .is_some_and(|r| crate::audit::scanner::scan(r).is_ok())
        };
        // Checked first: the common case, a record followed by a record, costs no scan here.
        let continued = first_end < self.buf.len() && self.is_continuation(first_end + 1);
        if !continued || scans(first_end) {
            return None;
        }
        let mut end = first_end;
        for joined in 1..=MAX_CONTINUATIONS {
            if end >= self.buf.len() || !self.is_continuation(end + 1) {
                return None;
            }
            end = self.line_end(end + 1);
            if scans(end) {
                return Some((end, joined));
            }
        }
        None
    }
}

/// Whether the line at the start of `rest` is empty (or only a CR).
pub(crate) fn is_blank_line(rest: &[u8]) -> bool {
    matches!(rest.first(), Some(b'\n')) || rest.starts_with(b"\r\n") || rest == b"\r"
}

impl<'a> Iterator for Records<'a> {
    type Item = TextRecord<'a>;

    fn next(&mut self) -> Option<TextRecord<'a>> {
        // Skip blank lines.
        while self.pos < self.buf.len() && is_blank_line(self.buf.get(self.pos..)?) {
            self.pos = self.line_end(self.pos) + 1;
            self.line_number += 1;
        }
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        let line_number = self.line_number;
        let first_end = self.line_end(start);
        let (end, joined) = self.rejoined(start, first_end).unwrap_or((first_end, 0));
        self.line_number += 1 + joined;
        self.pos = end + 1;
        let bytes = self.buf.get(start..end)?;
        Some(TextRecord { line_number, bytes })
    }
}

/// Splits `buf` into at most `parts` pieces that each start at a record boundary, with the
/// line number each starts at, so pieces can be parsed in parallel.
pub fn split_for_parallel(buf: &[u8], parts: usize) -> Vec<(u64, &[u8])> {
    let parts = parts.max(1);
    let target = buf.len() / parts + 1;
    let mut pieces = Vec::with_capacity(parts);
    let (mut start, mut line_number) = (0usize, 1u64);
    while start < buf.len() {
        let end = boundary_after(buf, start + target);
        let piece = buf.get(start..end).unwrap_or_default();
        pieces.push((line_number, piece));
        line_number += memchr::memchr_iter(b'\n', piece).count() as u64;
        start = end;
    }
    pieces
}

/// The first record start at or after `at` (just past a newline), or the buffer's end.
fn boundary_after(buf: &[u8], at: usize) -> usize {
    let mut pos = at;
    while pos < buf.len() {
        let Some(nl) = memchr::memchr(b'\n', buf.get(pos..).unwrap_or_default()) else {
            return buf.len();
        };
        let next = pos + nl + 1;
        let rest = buf.get(next..).unwrap_or_default();
        if rest.is_empty() || starts_with_timestamp(rest) {
            return next;
        }
        pos = next;
    }
    buf.len()
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

    #[test]
    fn a_first_line_without_timestamp_is_its_own_record() {
        let r: Vec<_> = records(b"garbage\n20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0").collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].bytes, b"garbage");
    }

    #[test]
    fn parallel_split_preserves_records_and_line_numbers() {
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
        for parts in [1, 2, 3, 8, 1000] {
            let pieces = split_for_parallel(&log, parts);
            let joined: Vec<_> = pieces
                .iter()
                .flat_map(|&(first, piece)| {
                    records(piece).map(move |r| TextRecord {
                        line_number: r.line_number + first - 1,
                        ..r
                    })
                })
                .collect();
            assert_eq!(joined, whole, "parts={parts}");
        }
    }
}
