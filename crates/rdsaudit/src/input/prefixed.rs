//! Text where each CloudWatch log event is a line with a prefix: CloudWatch Logs exports to
//! S3 and `aws logs tail`.
//!
//! ```text
//! 2024-05-01T12:00:00.123Z 20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0          export to S3 (000000.gz)
//! 2024-05-01T12:00:00.123000+00:00 db1 20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0   aws logs tail
//! 2024-05-01T12:00:00 20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0                 aws logs tail --format short
//! ```
//!
//! The prefix is the log event's time (the CloudWatch timestamp, not the audit line's own) and,
//! for `tail`, its log stream; both are kept as provenance. A log stream name is taken only
//! when an audit timestamp follows it, so a line that is not audit text is never cut into a
//! made-up stream and message. A physical line without the prefix continues the event before
//! it (a message that held a raw newline, or several audit lines in one event); the message
//! then spans those lines and is split into audit lines like any log event's message.
//!
//! A prefixed line is told from an audit line whose timestamp is ISO
//! (`server_audit_timestamp_format`) by what follows the time: a space here, a comma there.

use crate::audit::iso_time::parse_prefix;
use crate::audit::scanner::starts_with_timestamp;
use crate::input::text::MAX_NAMES_BYTES;

/// One log event of prefixed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixedEvent<'a> {
    /// 1-based line of the file the event starts on.
    pub line_number: u64,
    /// The prefix's time, epoch microseconds (`None` for text before the first prefix).
    pub time_us: Option<i64>,
    /// The log stream named by the prefix (`aws logs tail`).
    pub log_stream: Option<&'a str>,
    /// The message: from after the prefix to the end of its last continuation line.
    pub message: &'a [u8],
    /// Where the event's first line starts in the text (its prefix).
    pub start: usize,
    /// Where its last line's text ends in the text (its line break, or the text's end).
    pub end: usize,
}

/// Whether `line` (from its start to the text's end) starts a log event of an audit log: the
/// prefix, then an audit line. A prefix before other text (another program's log, syslog
/// output with RFC 3339 times) is not evidence of an audit log's export.
#[must_use]
pub(crate) fn starts_audit_event(line: &[u8]) -> bool {
    prefix(line).is_some_and(|(_, _, at)| starts_with_timestamp(line.get(at..).unwrap_or_default()))
}

/// Which prefix a text's log events start with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shape {
    /// `<time> [<log stream> ]<message>`: CloudWatch exports to S3 and `aws logs tail`.
    #[default]
    CloudWatch,
    /// The plugin's syslog output, `<syslog header> mysql-server_auditing: <info> <record
    /// without its time>` ([`crate::input::syslog`]); the message is the record.
    Syslog,
}

impl Shape {
    /// `(time, stream, offset of the message)` when the line starting `text` has the prefix.
    fn prefix(self, text: &[u8]) -> Option<(i64, Option<&str>, usize)> {
        match self {
            Shape::CloudWatch => prefix(text),
            Shape::Syslog => {
                let line = text.get(..memchr::memchr(b'\n', text).unwrap_or(text.len()))?;
                let (time, at) = crate::input::syslog::record_start(line)?;
                Some((time?, None, at))
            }
        }
    }
}

/// `(time, stream, offset of the message)` when `line` starts with the prefix.
fn prefix(line: &[u8]) -> Option<(i64, Option<&str>, usize)> {
    let time = parse_prefix(line)?;
    if line.get(time.len) != Some(&b' ') {
        return None;
    }
    let after = time.len + 1;
    let rest = line.get(after..).unwrap_or_default();
    if starts_with_timestamp(rest) {
        return Some((time.epoch_us, None, after));
    }
    let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    let stream = memchr::memchr(b' ', rest.get(..line_end).unwrap_or_default()).and_then(|space| {
        let message = rest.get(space + 1..)?;
        let name = std::str::from_utf8(rest.get(..space)?).ok()?;
        starts_with_timestamp(message).then_some((name, after + space + 1))
    });
    Some(match stream {
        Some((name, message)) => (time.epoch_us, Some(name), message),
        None => (time.epoch_us, None, after),
    })
}

/// Where `window`, the start of a longer prefixed text, can be cut: the start of its last
/// whole line (one that ends with `\n` in the window) that has the prefix, looking at its last
/// `lines` lines. An event runs to the next prefixed line, so the events before the cut and
/// from it on are those of the whole text ([`crate::input::stream`]). `None` when there is
/// none, or only at the start.
#[must_use]
pub fn last_event_start(window: &[u8], lines: usize) -> Option<usize> {
    let mut end = memchr::memrchr(b'\n', window)?;
    for _ in 0..lines {
        let start = memchr::memrchr(b'\n', window.get(..end)?).map_or(0, |i| i + 1);
        if start == 0 {
            return None;
        }
        if prefix(window.get(start..=end)?).is_some() {
            return Some(start);
        }
        end = start - 1;
    }
    None
}

/// Where an in-memory prefixed text can be cut at or after byte `at`: the start of the first
/// line there that has the prefix (events before and after it are those of the whole
/// text), or the text's end.
#[must_use]
pub fn boundary_after(text: &[u8], at: usize) -> usize {
    let mut from = at;
    while let Some(i) = memchr::memchr(b'\n', text.get(from..).unwrap_or_default()) {
        let start = from + i + 1;
        if prefix(text.get(start..).unwrap_or_default()).is_some() {
            return start;
        }
        from = start;
    }
    text.len()
}

/// The dirty lines of a piece of prefixed text (the window rule, [`crate::input::text`]):
/// lines that do not read alone as an audit record. A prefixed event is clean when its
/// message is one line that parses; a message with a line break, an unparsed message, a
/// line without the prefix and a blank line are dirty. Kept as runs of byte positions (where
/// the first line starts, where the last one's text ends), in order, so a message of many
/// lines costs one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dirt {
    runs: Vec<(u64, u64)>,
}

impl Dirt {
    /// The lines from byte `first` to byte `last` are dirty (added in order of `first`).
    pub fn add(&mut self, first: u64, last: u64) {
        match self.runs.last_mut() {
            Some(run) if first >= run.0 && first <= run.1.saturating_add(1) => {
                run.1 = run.1.max(last);
            }
            _ => self.runs.push((first, last)),
        }
    }

    /// Whether no line is dirty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Where the first dirty line starts and the last one's text ends.
    #[must_use]
    pub fn bounds(&self) -> (Option<u64>, Option<u64>) {
        (
            self.runs.first().map(|r| r.0),
            self.runs.last().map(|r| r.1),
        )
    }

    /// Whether a dirty line lies within [`MAX_NAMES_BYTES`] of the lines from byte `start` to
    /// byte `end` ([`crate::input::text::within_reach`]).
    #[must_use]
    pub fn near(&self, start: u64, end: u64) -> bool {
        let at = self
            .runs
            .partition_point(|r| r.1.saturating_add(MAX_NAMES_BYTES) < start);
        self.runs
            .get(at)
            .is_some_and(|r| r.0 <= end.saturating_add(MAX_NAMES_BYTES))
    }
}

/// The events of `text`, in order.
pub fn events(text: &[u8]) -> Events<'_> {
    events_of(text, Shape::CloudWatch)
}

/// The events of `text` whose lines start with `shape`'s prefix, in order.
pub fn events_of(text: &[u8], shape: Shape) -> Events<'_> {
    Events {
        text,
        shape,
        pos: 0,
        line_number: 1,
    }
}

/// Iterator returned by [`events`].
#[derive(Debug, Clone)]
pub struct Events<'a> {
    text: &'a [u8],
    shape: Shape,
    pos: usize,
    line_number: u64,
}

impl Events<'_> {
    /// End of the physical line starting at `from` (its `\n`, or the end of the text).
    fn line_end(&self, from: usize) -> usize {
        memchr::memchr(b'\n', self.text.get(from..).unwrap_or_default())
            .map_or(self.text.len(), |i| from + i)
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = PrefixedEvent<'a>;

    fn next(&mut self) -> Option<PrefixedEvent<'a>> {
        // Blank lines between events are not events.
        while let Some(rest) = self.text.get(self.pos..).filter(|r| !r.is_empty()) {
            let end = self.line_end(self.pos);
            if !rest.get(..end - self.pos)?.trim_ascii().is_empty() {
                break;
            }
            self.pos = end + 1;
            self.line_number += 1;
        }
        let start = self.pos;
        let line = self.text.get(start..).filter(|r| !r.is_empty())?;
        let (time_us, log_stream, message_at) = match self.shape.prefix(line) {
            Some((t, s, m)) => (Some(t), s, start + m),
            None => (None, None, start),
        };
        let line_number = self.line_number;
        let mut end = self.line_end(start);
        let mut lines = 1;
        // Continuation lines: anything up to the next prefixed line; blank lines only when
        // more of the message follows them.
        let (mut ahead, mut ahead_lines) = (end, lines);
        while ahead < self.text.len() {
            let next = self.text.get(ahead + 1..).unwrap_or_default();
            if next.is_empty() || self.shape.prefix(next).is_some() {
                break;
            }
            let next_end = self.line_end(ahead + 1);
            ahead_lines += 1;
            if !next.get(..next_end - ahead - 1)?.trim_ascii().is_empty() {
                (end, lines) = (next_end, ahead_lines);
            }
            ahead = next_end;
        }
        self.line_number += lines;
        self.pos = end + 1;
        let message = self.text.get(message_at..end)?;
        Some(PrefixedEvent {
            line_number,
            time_us,
            log_stream,
            message: message.strip_suffix(b"\r").unwrap_or(message),
            start,
            end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputKind;

    const AUDIT: &str = "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0";
    const T: i64 = 1_714_564_800_123_000;

    #[test]
    fn export_and_tail_lines_keep_time_and_stream() {
        let text = format!(
            "2024-05-01T12:00:00.123Z {AUDIT}\n\
             2024-05-01T12:00:00.123000+00:00 db1.audit.log.0 {AUDIT}\n\n\
             2024-05-01T12:00:00.123Z not audit text at all\r\n"
        );
        assert_eq!(
            crate::input::detect(text.as_bytes()),
            InputKind::PrefixedText
        );
        let events: Vec<_> = events(text.as_bytes()).collect();
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[0],
            PrefixedEvent {
                line_number: 1,
                time_us: Some(T),
                log_stream: None,
                message: AUDIT.as_bytes(),
                start: 0,
                end: 25 + AUDIT.len(),
            }
        );
        assert_eq!(events[1].log_stream, Some("db1.audit.log.0"));
        assert_eq!(events[1].message, AUDIT.as_bytes());
        // No stream is made up from words of a line that is not audit text.
        assert_eq!(events[2].line_number, 4);
        assert_eq!(events[2].log_stream, None);
        assert_eq!(events[2].message, b"not audit text at all");
    }

    #[test]
    fn unprefixed_lines_continue_the_event() {
        let text =
            format!("2024-05-01T12:00:00.123Z {AUDIT}\n{AUDIT}\nuser\n2024-05-01T12:00:01Z x\n");
        let events: Vec<_> = events(text.as_bytes()).collect();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].message,
            format!("{AUDIT}\n{AUDIT}\nuser").as_bytes()
        );
        assert_eq!(events[1].line_number, 4);
        assert_eq!(events[1].time_us, Some(1_714_564_801_000_000));
    }

    #[test]
    fn audit_lines_with_iso_timestamps_are_not_prefixed() {
        let prefixed = |text: &[u8]| crate::input::detect(text) == InputKind::PrefixedText;
        assert!(!prefixed(
            b"2024-05-01 12:00:00.123456,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0\n"
        ));
        assert!(!prefixed(AUDIT.as_bytes()));
        assert!(!prefixed(b"{\"events\":[]}"));
    }

    proptest::proptest! {
        /// Every non-blank line is in exactly one event, and events cover nothing else but
        /// blank lines inside a message.
        #[test]
        fn every_non_blank_line_is_in_exactly_one_event(lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(format!("2024-05-01T12:00:00Z {AUDIT}")),
                proptest::strategy::Just(format!("2024-05-01T12:00:00Z s {AUDIT}")),
                proptest::strategy::Just(String::new()),
                "[a-z ,'0-9]{0,12}",
            ], 0..12)) {
            let text = lines.join("\n");
            let mut covered = vec![0u32; lines.len()];
            for e in events(text.as_bytes()) {
                let span = memchr::memchr_iter(b'\n', e.message).count();
                for line in e.line_number..=e.line_number + span as u64 {
                    covered[usize::try_from(line).unwrap() - 1] += 1;
                }
                proptest::prop_assert!(!lines[usize::try_from(e.line_number).unwrap() - 1].trim().is_empty());
            }
            for (line, n) in lines.iter().zip(&covered) {
                proptest::prop_assert!(*n <= 1);
                proptest::prop_assert!(*n == 1 || line.trim().is_empty(), "{line:?} lost");
            }
        }
    }
}
