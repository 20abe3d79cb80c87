//! One CloudWatch log event holding several audit lines.
//!
//! The CloudWatch agent and custom shippers sometimes put several audit lines, joined by `\n`
//! (or `\r\n`, or a lone `\r`: the same line breaks as in a file), into one log event:
//!
//! ```text
//! "message": "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'DELETE FROM t',0\n20240501 12:00:01,db1,app,10.0.0.5,7,10,QUERY,shop,'SELECT 1',0"
//! ```
//!
//! Read as one line, the second statement vanished into the first event. A message is split
//! exactly as a plain log file is ([`crate::input::text::records`], one rule for both, with
//! its flags): at a newline followed by a record start, and only where the part before it is
//! a whole record; a raw newline inside a user, host or database name (which the plugin
//! writes raw) does not split, and a part that would only read by cutting a name at its raw
//! newline is flagged ambiguous, never a plain event. RDS's truncation marker is not read in
//! a message (RDS writes it only into downloaded log pages): there it is name text. Each part keeps its 1-based line within
//! the message, so `(event_id, line)` stays unique for de-duplication.

use crate::audit::event::AuditEvent;
use crate::audit::scanner::{LineError, parse_line, parse_unbroken_into};
use crate::input::text;

/// The audit lines of one log event's `message`, each with its 1-based line in the message.
/// A message without a newline is one line (no scan is spent on it), an empty one too, so it
/// is reported, not lost; blank lines are skipped and counted
/// ([`AuditLines::blank_lines`]), as in a file.
///
/// ```
/// use rdsaudit::input::multiline::audit_lines;
/// let message = b"20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'DELETE FROM t',0\n\
///                 20240501 12:00:01,db1,app,10.0.0.5,7,10,QUERY,shop,'SELECT 1',0";
/// let lines: Vec<_> = audit_lines(message).collect();
/// assert_eq!(lines.len(), 2);
/// assert_eq!(lines[1].0, 2);
/// assert!(lines[0].1.ends_with(b"'DELETE FROM t',0"));
/// ```
pub fn audit_lines(message: &[u8]) -> AuditLines<'_> {
    // Any line break the file reader splits at: `\n`, `\r\n` or a lone `\r`.
    let several = memchr::memchr2(b'\n', b'\r', message).is_some();
    AuditLines {
        message,
        records: several.then(|| {
            Box::new(Split {
                records: text::records_in_message(message),
                parsed: Err(LineError::Empty),
            })
        }),
        yielded: false,
        // A message holds what the server wrote as one record (or, from a shipper, several
        // whole ones): a line in it that cannot stand alone is a piece of a record some raw
        // name cut, and the text rule's local look may miss which.
        cut_by_a_name: several && !text::every_line_reads_alone(message),
    }
}

/// [`audit_lines`] of a message known to hold no line break (`\n`, `\r`), without looking
/// for one: the envelope reader knows it of a JSON string none of whose escapes stands for
/// one ([`crate::input::envelope::LogEnvelope::unbroken`]). The message is one line.
pub(crate) fn unbroken_lines(message: &[u8]) -> AuditLines<'_> {
    debug_assert!(memchr::memchr2(b'\n', b'\r', message).is_none());
    AuditLines {
        message,
        records: None,
        yielded: false,
        cut_by_a_name: false,
    }
}

/// Iterator returned by [`audit_lines`].
#[derive(Debug, Clone)]
pub struct AuditLines<'a> {
    message: &'a [u8],
    /// `None` for a message without a newline. Boxed: the reader's state is a few hundred
    /// bytes, and kept here it was copied for every message, most of which hold one line.
    records: Option<Box<Split<'a>>>,
    yielded: bool,
    /// Some line of the message does not read alone (or is blank): every event of the
    /// message is flagged, with a reading unlisted.
    cut_by_a_name: bool,
}

/// The reader of a message with line breaks, and the parse of the line it read last (kept
/// until [`AuditLines::parse_into`] takes it).
#[derive(Debug, Clone)]
struct Split<'a> {
    records: text::Records<'a>,
    parsed: Result<AuditEvent<'a>, LineError>,
}

impl<'a> AuditLines<'a> {
    /// The next audit line and its parse, under the text reader's rule (see
    /// [`text::Records::next_parsed`]).
    pub fn next_parsed(&mut self) -> Option<(u64, &'a [u8], Result<AuditEvent<'a>, LineError>)> {
        let (number, bytes) = self.next()?;
        let mut parsed = Err(LineError::Empty);
        self.parse_into(&mut parsed);
        Some((number, bytes, parsed))
    }

    /// Writes the parse of the line [`Iterator::next`] returned last into `slot` (once a
    /// line): what the pipeline reads. The parse of a message of one line (nearly all) is
    /// made here, built in the caller's slot ([`parse_unbroken_into`]): returned, it was a
    /// few hundred bytes copied out of the scanner's frame and again into the caller's slot.
    #[inline]
    pub(crate) fn parse_into(&mut self, slot: &mut Result<AuditEvent<'a>, LineError>) {
        match self.records.as_deref_mut() {
            // No `\n` or `\r` in the message ([`audit_lines`]): the scanner's searches for
            // raw line breaks are skipped.
            None => parse_unbroken_into(self.message, slot),
            Some(split) => *slot = std::mem::replace(&mut split.parsed, Err(LineError::Empty)),
        }
    }

    /// [`Iterator::next`] of a message with line breaks: its parse is kept for
    /// [`AuditLines::parse_into`].
    fn next_of_records(&mut self) -> Option<(u64, &'a [u8])> {
        let (cut, message, yielded) = (self.cut_by_a_name, self.message, self.yielded);
        let split = self.records.as_deref_mut()?;
        let line = match split.records.next_parsed() {
            Some((r, mut parsed)) => {
                if let (true, Ok(event)) = (cut, parsed.as_mut()) {
                    event.ambiguity = event.ambiguity.with_unlisted_reading(r.bytes);
                }
                split.parsed = parsed;
                (r.line_number, r.bytes)
            }
            None if !yielded && split.records.blank_lines() == 0 => {
                split.parsed = parse_line(message);
                (1, message)
            }
            None => return None,
        };
        self.yielded = true;
        Some(line)
    }

    /// Blank lines skipped so far (the text reader's count, [`text::Records::blank_lines`]).
    #[must_use]
    pub fn blank_lines(&self) -> u64 {
        self.records
            .as_ref()
            .map_or(0, |split| split.records.blank_lines())
    }

    /// Whether some line of the message does not read alone (or is blank): a piece of a record
    /// a raw name cut, so the message is dirty under the window rule
    /// ([`crate::input::text::MAX_NAMES_BYTES`]); its events are flagged.
    #[must_use]
    pub fn is_cut(&self) -> bool {
        self.cut_by_a_name
    }

    /// Whether the message was split into more than one line (then `line` is worth showing).
    #[must_use]
    pub fn is_split(&self) -> bool {
        self.records
            .as_ref()
            .is_some_and(|split| split.records.clone().take(2).count() > 1)
    }
}

impl<'a> Iterator for AuditLines<'a> {
    type Item = (u64, &'a [u8]);

    /// The next audit line; its parse is `AuditLines::parse_into`'s (a message of one line
    /// is not parsed here).
    #[inline]
    fn next(&mut self) -> Option<(u64, &'a [u8])> {
        if self.records.is_none() {
            if self.yielded {
                return None;
            }
            self.yielded = true;
            return Some((1, self.message));
        }
        self.next_of_records()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::scanner::parse_line;

    const A: &str = "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'DELETE FROM t',0";
    const B: &str = "1714564801000000,db1,app,10.0.0.5,7,10,QUERY,shop,'SELECT 1',0";

    #[test]
    fn joined_lines_are_split_and_names_with_newlines_are_not() {
        let message = format!("{A}\n{B}\n");
        let lines: Vec<_> = audit_lines(message.as_bytes()).collect();
        assert_eq!(lines, [(1, A.as_bytes()), (2, B.as_bytes())]);
        assert!(audit_lines(message.as_bytes()).is_split());
        // A raw newline in a user name: one record, rejoined.
        let odd = "20240501 12:00:00,db1,new\nuser,10.0.0.5,7,0,CONNECT,shop,,0";
        let lines: Vec<_> = audit_lines(odd.as_bytes()).collect();
        assert_eq!(lines, [(1, odd.as_bytes())]);
        assert_eq!(parse_line(lines[0].1).unwrap().username, "new\nuser");
    }

    #[test]
    fn every_message_yields_a_line_or_counted_blank_lines() {
        for message in [&b""[..], b"junk", A.as_bytes()] {
            let lines: Vec<_> = audit_lines(message).collect();
            assert_eq!(lines.len(), 1, "{message:?}");
            assert!(!audit_lines(message).is_split());
        }
        for (message, blanks) in [(&b"\n"[..], 1), (b"\n\r\n\r", 3), (b"\r\r", 2)] {
            let mut lines = audit_lines(message);
            assert!(lines.next_parsed().is_none(), "{message:?}");
            assert_eq!(lines.blank_lines(), blanks, "{message:?}");
        }
        let message = format!("\n{A}\n\n\n{B}\n");
        let mut lines = audit_lines(message.as_bytes());
        assert_eq!(lines.by_ref().count(), 2);
        assert_eq!(lines.blank_lines(), 3);
    }
}
