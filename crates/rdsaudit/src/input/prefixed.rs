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
//!
//! Lines end at `\n` (a `\r` before it is dropped): a lone `\r` is a byte of the message, a
//! user name's raw CR, never a line break that could start a forged event. A text with no
//! `\n` at all (classic Mac line ends, `tr '\n' '\r'`) breaks its lines at `\r` too, as
//! audit text does ([`Breaks`], decided once for the whole text from its first
//! [`DECIDE_BYTES`]).

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
    prefix(line, Breaks::Lf)
        .is_some_and(|(_, _, at)| starts_with_timestamp(line.get(at..).unwrap_or_default()))
}

/// How much of a text's start [`Breaks::of`] looks at for a `\n`: 64 KiB, the start
/// detection reads line by line ([`crate::input::detect()`]). A stream decides it before its
/// first piece, so a streamed text and the same text in memory break their lines alike.
pub const DECIDE_BYTES: usize = 64 << 10;

/// Which bytes end a line of prefixed text: decided once for a whole text (or stream), never
/// line by line, so a name's raw CR cannot choose how the lines after it are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Breaks {
    /// `\n` only (a `\r` right before it is dropped from the line): a lone `\r` is a byte of
    /// the message (a user name's raw CR), not the start of another line, which could be a
    /// forged prefixed line.
    #[default]
    Lf,
    /// `\n`, `\r\n` and a lone `\r`, as in audit text ([`crate::input::text`]): for a text
    /// with no `\n` in its first [`DECIDE_BYTES`] and a `\r` past [`CR_REACH`] in them
    /// (classic Mac line ends, `tr '\n' '\r'`), which read the LF way would be one log event
    /// holding every line.
    Any,
}

/// How far into a text with no `\n` a `\r` (followed by more text) shows that the text's
/// lines end at CRs: 8 KiB. One line of LF text holds a raw `\r` only in its prefix (a log
/// stream, at most 512 bytes) or its names (within [`MAX_NAMES_BYTES`] of the record's
/// start): the plugin escapes a statement's CR. So a name's CR cannot make an LF text read
/// the CR way, even a text whose first line is longer than [`DECIDE_BYTES`] (one long
/// statement: a raw name's CR then split it into forged lines that each read alone,
/// unflagged, adversarial review, session 29), and neither can a followed file's write cut
/// right after a name's CR. A CR-only text shorter than that, or whose first CR comes later
/// (a first line longer than 8 KiB), is read the LF way: one log event, flagged.
pub const CR_REACH: usize = 2 * MAX_NAMES_BYTES as usize;

impl Breaks {
    /// The breaks of `text`, a whole text: [`Breaks::Any`] when its first [`DECIDE_BYTES`]
    /// hold no `\n` and a `\r` past [`CR_REACH`] followed by more text.
    #[must_use]
    pub fn of(text: &[u8]) -> Breaks {
        Breaks::known(text, true).unwrap_or_default()
    }

    /// The breaks of a text that starts with `head` (all of it when `ended`), once `head`
    /// tells them: [`Breaks::Lf`] at a `\n` in its first [`DECIDE_BYTES`], [`Breaks::Any`]
    /// at a `\r` past [`CR_REACH`] followed by more text before any `\n`, else
    /// [`Breaks::Lf`] once that many bytes are read or the text ends. `None` while more of
    /// the text must be read (a followed file's text so far: the next write may bring either).
    #[must_use]
    pub fn known(head: &[u8], ended: bool) -> Option<Breaks> {
        let decided = head.get(..DECIDE_BYTES).unwrap_or(head);
        let first_lf = memchr::memchr(b'\n', decided).unwrap_or(decided.len());
        // A `\r` right before the first `\n`, or the last byte read, is (or may be) half of
        // a `\r\n`.
        let before_lf = head.get(..first_lf.min(head.len()).saturating_sub(1));
        let late_cr = before_lf
            .and_then(|b| b.get(CR_REACH..))
            .is_some_and(|b| memchr::memchr(b'\r', b).is_some());
        if late_cr {
            Some(Breaks::Any)
        } else if first_lf < decided.len() || ended || head.len() >= DECIDE_BYTES {
            Some(Breaks::Lf)
        } else {
            None
        }
    }

    /// Where the text of the line at the start of `line` ends (its first break).
    fn text_end(self, line: &[u8]) -> usize {
        match self {
            Breaks::Lf => memchr::memchr(b'\n', line),
            Breaks::Any => memchr::memchr2(b'\n', b'\r', line),
        }
        .unwrap_or(line.len())
    }

    /// The last byte of the break of the line starting at `from` in `text` (the `\n` of a
    /// `\r\n`), or the text's end: the next line starts one byte after it.
    fn line_end(self, text: &[u8], from: usize) -> usize {
        let rest = text.get(from..).unwrap_or_default();
        let end = from + self.text_end(rest);
        if self == Breaks::Any && text.get(end..end + 2) == Some(b"\r\n") {
            end + 1
        } else {
            end
        }
    }

    /// Where the line that ends right before `end` (a line start, or the window's end)
    /// started: after the last break before its text's end. For `\r\n`, `end - 1` is the
    /// `\n` and the text before it ends at the `\r`.
    fn line_start(self, window: &[u8], end: usize) -> usize {
        let before = window.get(..end).unwrap_or_default();
        match self {
            Breaks::Lf => memchr::memrchr(b'\n', before),
            Breaks::Any => memchr::memrchr2(b'\n', b'\r', before),
        }
        .map_or(0, |i| i + 1)
    }

    /// The physical lines of `text`, without their breaks (a `\r` before a `\n` kept).
    pub(crate) fn lines(self, text: &[u8]) -> impl Iterator<Item = &[u8]> {
        let mut from = 0;
        std::iter::from_fn(move || {
            if from > text.len() {
                return None;
            }
            let end = self.line_end(text, from);
            let line = text.get(from..self.text_end(text.get(from..)?) + from);
            from = end + 1;
            line
        })
    }

    /// How many lines a text of these breaks moves the line number on by (`\r\n` is one).
    #[must_use]
    pub fn count(self, text: &[u8]) -> u64 {
        match self {
            Breaks::Lf => memchr::memchr_iter(b'\n', text).count() as u64,
            Breaks::Any => crate::input::text::count_lines(text),
        }
    }

    /// Whether `text` ends with a line break (its last line is whole).
    #[must_use]
    pub fn ends_line(self, text: &[u8]) -> bool {
        match self {
            Breaks::Lf => text.ends_with(b"\n"),
            Breaks::Any => matches!(text.last(), Some(b'\n' | b'\r')),
        }
    }
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
    fn prefix(self, text: &[u8], breaks: Breaks) -> Option<(i64, Option<&str>, usize)> {
        match self {
            Shape::CloudWatch => prefix(text, breaks),
            Shape::Syslog => {
                let line = text.get(..breaks.text_end(text))?;
                let (time, at) = crate::input::syslog::record_start(line)?;
                Some((time?, None, at))
            }
        }
    }
}

/// `(time, stream, offset of the message)` when `line` starts with the prefix (a log
/// stream's name is looked for in the line's text, up to its first break of `breaks`).
fn prefix(line: &[u8], breaks: Breaks) -> Option<(i64, Option<&str>, usize)> {
    let time = parse_prefix(line)?;
    if line.get(time.len) != Some(&b' ') {
        return None;
    }
    let after = time.len + 1;
    let rest = line.get(after..).unwrap_or_default();
    if starts_with_timestamp(rest) {
        return Some((time.epoch_us, None, after));
    }
    let line_end = breaks.text_end(rest);
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

/// Where `window`, the start of a longer prefixed text whose lines end at `breaks`, can be
/// cut: the start of its last whole line (one that ends with a break in the window) that has
/// the prefix, looking at its last `lines` lines. An event runs to the next prefixed line, so
/// the events before the cut and from it on are those of the whole text
/// ([`crate::input::stream`]). `None` when there is none, or only at the start.
#[must_use]
pub fn last_event_start(window: &[u8], lines: usize, breaks: Breaks) -> Option<usize> {
    // The last line break (for `\r\n`, its `\n`): the lines before it are whole.
    let mut end = breaks.line_start(window, window.len()).checked_sub(1)?;
    for _ in 0..lines {
        // Between the `\r` and the `\n` of a `\r\n` is no line: it starts no event.
        let start = breaks.line_start(window, end);
        if start == 0 {
            return None;
        }
        if prefix(window.get(start..=end)?, breaks).is_some() {
            return Some(start);
        }
        end = start - 1;
    }
    None
}

/// Where an in-memory prefixed text whose lines end at `breaks` can be cut at or after byte
/// `at`: the start of the first line there that has the prefix (events before and after it
/// are those of the whole text), or the text's end.
#[must_use]
pub fn boundary_after(text: &[u8], at: usize, breaks: Breaks) -> usize {
    let mut from = at;
    while from < text.len() {
        let start = breaks.line_end(text, from) + 1;
        if start < text.len() && prefix(text.get(start..).unwrap_or_default(), breaks).is_some() {
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

/// The events of `text`, a whole text, in order.
pub fn events(text: &[u8]) -> Events<'_> {
    events_of(text, Shape::CloudWatch)
}

/// The events of `text`, a whole text whose lines start with `shape`'s prefix, in order (its
/// line breaks told by [`Breaks::of`]).
pub fn events_of(text: &[u8], shape: Shape) -> Events<'_> {
    events_in(text, shape, Breaks::of(text))
}

/// The events of `text`, a whole text or a piece of one whose lines end at `breaks` (those of
/// the whole text: a piece may hold no `\n` of an LF text), in order.
pub fn events_in(text: &[u8], shape: Shape, breaks: Breaks) -> Events<'_> {
    Events {
        text,
        shape,
        breaks,
        pos: 0,
        line_number: 1,
    }
}

/// Iterator returned by [`events`].
#[derive(Debug, Clone)]
pub struct Events<'a> {
    text: &'a [u8],
    shape: Shape,
    breaks: Breaks,
    pos: usize,
    line_number: u64,
}

impl Events<'_> {
    /// End of the physical line starting at `from` (the last byte of its break, or the end of
    /// the text).
    fn line_end(&self, from: usize) -> usize {
        self.breaks.line_end(self.text, from)
    }

    /// `(time, stream, offset of the message)` when the line starting `text` has the prefix.
    fn prefix<'t>(&self, text: &'t [u8]) -> Option<(i64, Option<&'t str>, usize)> {
        self.shape.prefix(text, self.breaks)
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
        let (time_us, log_stream, message_at) = match self.prefix(line) {
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
            if next.is_empty() || self.prefix(next).is_some() {
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

    /// An event's line, time, stream and message.
    type Fields<'a> = (u64, Option<i64>, Option<&'a str>, &'a [u8]);

    /// The fields of the events of `text` read whole.
    fn read(text: &[u8]) -> Vec<Fields<'_>> {
        events(text)
            .map(|e| (e.line_number, e.time_us, e.log_stream, e.message))
            .collect()
    }

    /// Export lines ending in CRs, more than [`CR_REACH`] of them: CR text.
    fn filler() -> String {
        format!("2024-05-01T12:00:02Z {AUDIT}\r").repeat(CR_REACH / AUDIT.len() + 1)
    }

    /// CR line ends only (classic Mac, `tr '\n' '\r'`): the CRs break the lines. Before: one
    /// event, every later line in its message (the first event's user name).
    #[test]
    fn a_text_without_lf_breaks_its_lines_at_cr() {
        let text = format!(
            "2024-05-01T12:00:00.123Z {AUDIT}\r\r2024-05-01T12:00:00.123000+00:00 s {AUDIT}\r\
             {AUDIT}\r2024-05-01T12:00:01Z x\r{}",
            filler()
        );
        assert_eq!(Breaks::of(text.as_bytes()), Breaks::Any);
        let audit = AUDIT.as_bytes();
        let continued = format!("{AUDIT}\r{AUDIT}");
        assert_eq!(
            read(text.as_bytes())[..3],
            [
                (1, Some(T), None, audit),
                (3, Some(T), Some("s"), continued.as_bytes()),
                (5, Some(1_714_564_801_000_000), None, &b"x"[..]),
            ]
        );
        // The same lines with LF or CRLF: the same events (a message of two lines holds
        // the text's own break).
        let lines = |text: &str| -> Vec<_> { read(text.as_bytes()).iter().map(|e| e.0).collect() };
        for other in [text.replace('\r', "\n"), text.replace('\r', "\r\n")] {
            assert_eq!(Breaks::of(other.as_bytes()), Breaks::Lf);
            assert_eq!(lines(&other)[..3], [1, 3, 5]);
        }
    }

    /// What tells CR text: a CR past [`CR_REACH`] followed by more text, before any LF. A
    /// CR-only text shorter than that is read the LF way (one event, flagged by the
    /// pipeline); so is an LF text whose first line is a long statement, however many of its
    /// names' CRs come first (adversarial review, session 29: read the CR way, its forged
    /// lines read alone, unflagged), and a text whose last byte read is a CR past it (half a
    /// CRLF, or a followed file's write cut after a name's CR).
    #[test]
    fn a_cr_past_its_reach_tells_cr_text() {
        let short = format!("2024-05-01T12:00:00.123Z {AUDIT}\r2024-05-01T12:00:01Z {AUDIT}\r");
        assert_eq!(Breaks::of(short.as_bytes()), Breaks::Lf);
        assert_eq!(Breaks::known(short.as_bytes(), false), None);
        let forged = "2024-05-01T12:00:09Z 20240501 12:00:09,db1,root,h,1,1,QUERY,shop,'DROP',0";
        let names =
            format!("2024-05-01T12:00:00Z 20240501 12:00:00,db1,a\r{forged}\rb,h,1,2,QUERY,shop,'");
        let long = format!("{names}{}',0\n{AUDIT}\n", "y".repeat(DECIDE_BYTES));
        assert_eq!(Breaks::of(long.as_bytes()), Breaks::Lf);
        assert_eq!(
            Breaks::known(&long.as_bytes()[..DECIDE_BYTES], false),
            Some(Breaks::Lf)
        );
        let cr = format!("{}\r", "y".repeat(CR_REACH));
        assert_eq!(Breaks::known(cr.as_bytes(), false), None);
        assert_eq!(
            Breaks::known(format!("{cr}x").as_bytes(), false),
            Some(Breaks::Any)
        );
        assert_eq!(
            Breaks::known(format!("{cr}\n").as_bytes(), false),
            Some(Breaks::Lf)
        );
    }

    /// A user name holding a lone CR before a forged prefixed line, in LF text: one event,
    /// the CR and the forged line in its message (a CR is no break where LFs are). The same
    /// lines with CR line ends: the forged line is an event of its own (the pipeline flags
    /// it: its neighbour's message does not read alone).
    #[test]
    fn a_names_cr_breaks_no_line_of_lf_text() {
        let forged = "2024-05-01T12:00:09Z 20240501 12:00:09,db1,root,h,1,1,QUERY,shop,'DROP',0";
        let hostile = format!(
            "2024-05-01T12:00:00.123Z 20240501 12:00:00,db1,ap\r{forged}\rp,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0"
        );
        let lf = format!("{hostile}\n2024-05-01T12:00:00.123Z {AUDIT}\n");
        let events: Vec<_> = events(lf.as_bytes()).collect();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].message, &hostile.as_bytes()[25..]);
        assert_eq!(events[1].line_number, 2);
        let cr = format!("{}{}", lf.replace('\n', "\r"), filler());
        let lines: Vec<_> = read(cr.as_bytes()).iter().map(|e| e.0).collect();
        assert_eq!(lines[..4], [1, 2, 4, 5]);
    }

    /// A text with a CR past [`CR_REACH`] before its first LF breaks at every break, `\r\n`
    /// as one; cut anywhere with [`boundary_after`] or [`last_event_start`], its pieces give
    /// the events of the whole text.
    #[test]
    fn any_breaks_cut_anywhere_give_the_whole_texts_events() {
        let long = format!("2024-05-01T12:00:00Z {}", "y".repeat(CR_REACH));
        let text = format!(
            "{long}\r2024-05-01T12:00:00.123Z {AUDIT}\r\n\r\nname\r2024-05-01T12:00:00.123Z {AUDIT}\n\
             2024-05-01T12:00:00.123Z {AUDIT}\r"
        );
        let text = text.as_bytes();
        assert_eq!(Breaks::of(text), Breaks::Any);
        let whole = read(text);
        assert_eq!(whole.iter().map(|e| e.0).collect::<Vec<_>>(), [1, 2, 5, 6]);
        assert_eq!(whole[1].3, format!("{AUDIT}\r\n\r\nname").as_bytes());
        for at in 0..text.len() {
            let cut = boundary_after(text, at, Breaks::Any);
            let last = last_event_start(text.get(..at).unwrap(), 8, Breaks::Any);
            for cut in [Some(cut), last].into_iter().flatten() {
                let (head, tail) = text.split_at(cut);
                let mut pieces: Vec<_> = events_in(head, Shape::CloudWatch, Breaks::Any)
                    .map(|e| (e.line_number, e.time_us, e.log_stream, e.message))
                    .collect();
                let lines = Breaks::Any.count(head);
                pieces.extend(
                    events_in(tail, Shape::CloudWatch, Breaks::Any)
                        .map(|e| (e.line_number + lines, e.time_us, e.log_stream, e.message)),
                );
                assert_eq!(pieces, whole, "cut at {cut}");
            }
        }
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
