//! Where a text is cut into pieces decoded apart: record boundaries (a line that starts a
//! record and that the lines before it cannot be joined to), line counts and whole lines.

use crate::audit::scanner::parse_unbroken_line;

use super::line_at;

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
pub(super) fn whole_lines_end(window: &[u8]) -> usize {
    let end = window.len() - usize::from(window.last() == Some(&b'\r'));
    memchr::memrchr2(b'\n', b'\r', window.get(..end).unwrap_or_default()).map_or(0, |i| i + 1)
}

/// The start of the line holding byte `p`.
fn line_start_before(buf: &[u8], p: usize) -> usize {
    memchr::memrchr2(b'\n', b'\r', buf.get(..p).unwrap_or_default()).map_or(0, |i| i + 1)
}
