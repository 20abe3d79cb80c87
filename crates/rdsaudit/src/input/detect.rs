//! Telling input kinds apart by content, never by file name.

use super::InputKind;
use super::json::{skip_string, skip_ws};

/// Detects the kind of `input` from its content, never from a file name.
///
/// gzip magic (`1f 8b`) gives [`InputKind::CloudWatchGzip`]; the [`crate::Decoder`] inflates
/// such an input and detects again, so a compressed Lambda event or `.log.gz` file is read for
/// what it holds. A leading `{` (after whitespace) is classified by its first recognised
/// top-level key: `Records` (Kinesis event), `awslogs` (CloudWatch Logs event), `messageType` /
/// `logEvents` (envelope), `events` (`aws logs` API output); `Records` whose first record is
/// flat and capitalised is `aws kinesis get-records` output. A JSON object with none of those
/// keys is still reported as [`InputKind::CloudWatchJson`], because the envelope parser then
/// gives a precise error (an audit line never starts with `{`). Text that is not JSON is a
/// pasted base64 record, a Logs Insights CSV, or told by its lines: plugin syslog output,
/// prefixed log events (export to S3, `aws logs tail`) or audit text.
///
/// Anyone can put a line break and a whole first line of any shape in a user or database name,
/// so a log cut at a line (`tail -n`) may start with a forged `{"Records":[` or
/// `@timestamp,@message`. A document shape is therefore checked against the lines after it:
/// JSON never has a line (in its first or last [`JSON_PROBE`] bytes) that starts with an audit,
/// export or syslog line, and an Insights CSV's first rows hold audit lines; an input that
/// fails its check is text.
///
/// ```
/// use rdsaudit::input::{detect, InputKind};
/// assert_eq!(detect(br#" {"Records":[]}"#), InputKind::KinesisEvent);
/// assert_eq!(detect(br#"{"awslogs":{"data":""}}"#), InputKind::AwslogsEvent);
/// assert_eq!(detect(br#"{"owner":"1","messageType":"DATA_MESSAGE"}"#), InputKind::CloudWatchJson);
/// assert_eq!(detect(b"\x1f\x8b\x08\x00"), InputKind::CloudWatchGzip);
/// assert_eq!(detect(b"{ note }\n20240615 10:31:00,db1,u,h,1,2,QUERY,,'x',0\n"), InputKind::AuditText);
/// // A user name `x<LF>{"Records":[` and the log cut at its line break:
/// assert_eq!(
///     detect(b"{\"Records\":[,10.0.0.5,7,0,CONNECT,shop,,0\n20240615 10:31:00,db1,u,h,1,2,QUERY,,'x',0\n"),
///     InputKind::AuditText,
/// );
/// assert_eq!(detect(b"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,\n"), InputKind::AuditText);
/// ```
#[must_use]
pub fn detect(input: &[u8]) -> InputKind {
    if input.starts_with(&GZIP_MAGIC) {
        return InputKind::CloudWatchGzip;
    }
    let start = skip_ws(input, 0);
    if input.get(start) != Some(&b'{') || holds_text_lines(input) {
        return detect_text(input);
    }
    match first_known_key(input, start + 1) {
        Some(Key::Records) if super::get_records::looks_like_get_records(input) => {
            InputKind::KinesisGetRecords
        }
        Some(Key::Records) => InputKind::KinesisEvent,
        Some(Key::Awslogs) => InputKind::AwslogsEvent,
        Some(Key::Events) => InputKind::LogsApi,
        Some(Key::Envelope) | None => InputKind::CloudWatchJson,
    }
}

/// How far into each end of an input that starts with `{` lines of text are looked for. A
/// forged first line is followed by the rest of its audit line (names, and a statement cut at
/// `server_audit_query_log_limit`, 1,024 bytes by default) and then by a line the server
/// started, well within this.
pub const JSON_PROBE: usize = 256 * 1024;

/// How far into text its lines are looked at to tell its shape.
const TEXT_PROBE: usize = 64 * 1024;

/// Whether a line starting in the first or last [`JSON_PROBE`] bytes is an audit, export or
/// syslog line: JSON holds none (a JSON string holds no raw line break, and no JSON value is
/// followed by ` HH:MM` or `,`), so `input` is text whose first line starts with `{`.
fn holds_text_lines(input: &[u8]) -> bool {
    let tail_from = input.len().saturating_sub(JSON_PROBE).max(JSON_PROBE);
    let ends = [0..input.len().min(JSON_PROBE), tail_from..input.len()];
    ends.into_iter().any(|range| {
        let from = range.start;
        let window = input.get(range).unwrap_or_default();
        memchr::memchr2_iter(b'\n', b'\r', window)
            .any(|b| line_kind(input.get(from + b + 1..).unwrap_or_default()) != LineKind::Other)
    })
}

/// Text that is not JSON: a pasted base64 record, an Insights CSV, else told by its lines.
fn detect_text(input: &[u8]) -> InputKind {
    if super::base64_data::looks_like_base64_data(input) {
        InputKind::Base64Data
    } else if super::insights_csv::looks_like_insights_csv(input) && rows_read(input) {
        InputKind::InsightsCsv
    } else {
        shape_by_lines(input)
    }
}

/// Rows of an Insights CSV checked.
const INSIGHTS_ROWS: usize = 8;

/// Whether most of the first [`INSIGHTS_ROWS`] rows read: with a `@timestamp` that is an
/// Insights date-time, or else with an audit line in `@message`. Audit text under a forged
/// header fails: its rows are audit lines cut at commas, whose first field is no Insights
/// date-time and no field of which is a whole audit line. A row that fails at the end of the
/// text is not counted: it may be cut by a sniff (a first message longer than 64 KiB).
fn rows_read(input: &[u8]) -> bool {
    let Some(rows) = super::insights_csv::rows(input) else {
        return false;
    };
    let mut rows = rows.peekable();
    let (mut seen, mut read) = (0usize, 0usize);
    while let Some(row) = rows.next() {
        if seen == INSIGHTS_ROWS || (row.is_err() && rows.peek().is_none()) {
            break;
        }
        seen += 1;
        let reads = |r: &super::insights_csv::InsightsRow<'_>| {
            r.time_us.is_some() || crate::audit::scanner::starts_with_timestamp(&r.message)
        };
        if row.is_ok_and(|r| reads(&r)) {
            read += 1;
        }
    }
    // A header alone (no whole row yet) is taken at its word.
    seen == 0 || read * 2 > seen
}

/// What a line's start says about the text it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    /// An audit line (its timestamp and a comma).
    Audit,
    /// A log event of an export to S3 or `aws logs tail` holding an audit line.
    Exported,
    /// The plugin's syslog output with an RFC 3339 time.
    Syslog,
    /// The plugin's syslog output with an RFC 3164 time (no year, no zone): refused whole.
    SyslogNoTime,
    /// Anything else: a blank line, a name's raw line break, another program's line.
    Other,
}

/// How much of a line is looked at to tell its kind: a syslog header (at most 320 bytes) and
/// the plugin's info, or an export's time and log stream (at most 512 bytes), then the audit
/// line's start.
const LINE_LOOK: usize = 2048;

/// The kind of the line starting `text` (it runs to the next line break).
fn line_kind(text: &[u8]) -> LineKind {
    // Every line of the shapes starts with a digit (a time) or a letter (a month, a `<PRI>` is
    // `<`): one byte rules out JSON's indented lines cheaply.
    if !text
        .first()
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'<')
    {
        return LineKind::Other;
    }
    // A line ends at `\n` or `\r` (as the text reader ends it, so the lines looked at never
    // overlap: linear in the probe), and no shape needs more than its first bytes to be told.
    let head = text.get(..LINE_LOOK).unwrap_or(text);
    let line = head
        .get(..memchr::memchr2(b'\n', b'\r', head).unwrap_or(head.len()))
        .unwrap_or(head);
    if crate::audit::scanner::starts_with_timestamp(line) {
        LineKind::Audit
    } else if super::prefixed::starts_audit_event(line) {
        LineKind::Exported
    } else {
        match super::syslog::record_start(line) {
            Some((Some(_), _)) => LineKind::Syslog,
            Some((None, _)) => LineKind::SyslogNoTime,
            None => LineKind::Other,
        }
    }
}

/// The lines' kinds in the first [`TEXT_PROBE`] bytes of a text.
#[derive(Debug, Default)]
struct Tally {
    /// The first line that is not blank.
    first: Option<LineKind>,
    audit: usize,
    exported: usize,
    syslog: usize,
    syslog_no_time: usize,
    /// Which of export and syslog lines came first.
    exported_first: bool,
}

impl Tally {
    fn of(input: &[u8]) -> Tally {
        let head = input.get(..TEXT_PROBE).unwrap_or(input);
        let breaks = memchr::memchr2_iter(b'\n', b'\r', head).map(|b| b + 1);
        let mut tally = Tally::default();
        for at in std::iter::once(0)
            .chain(breaks)
            .take_while(|at| *at < head.len())
        {
            let line = input.get(at..).unwrap_or_default();
            let kind = line_kind(line);
            if tally.first.is_none() && !line.first().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
                tally.first = Some(kind);
            }
            if kind == LineKind::Exported && tally.syslog == 0 && tally.exported == 0 {
                tally.exported_first = true;
            }
            if let Some(n) = tally.count(kind) {
                *n += 1;
            }
            if tally.settled() {
                break;
            }
        }
        tally
    }

    /// Whether the first line stands whatever the lines after: it is of a shape read line by
    /// line and has its like (a whole log's lines are seldom looked at past the second).
    fn settled(&mut self) -> bool {
        match self.first {
            Some(first @ (LineKind::Audit | LineKind::Exported | LineKind::Syslog)) => {
                self.count(first).is_some_and(|n| *n >= 2)
            }
            _ => false,
        }
    }

    fn count(&mut self, kind: LineKind) -> Option<&mut usize> {
        match kind {
            LineKind::Audit => Some(&mut self.audit),
            LineKind::Exported => Some(&mut self.exported),
            LineKind::Syslog => Some(&mut self.syslog),
            LineKind::SyslogNoTime => Some(&mut self.syslog_no_time),
            LineKind::Other => None,
        }
    }

    /// The first line's kind, when the lines after it do not contradict it: a cut log's
    /// forged first line is alone of its kind among lines of another, a whole log's first
    /// line has its like in the lines after it.
    fn first_standing(&mut self) -> Option<LineKind> {
        let first = self.first?;
        let alone = *self.count(first)? == 1;
        let others = [self.audit, self.exported, self.syslog, self.syslog_no_time];
        let outvoted = alone && others.iter().any(|n| *n >= 2);
        (!outvoted).then_some(first)
    }
}

/// Text's shape by its lines: plugin syslog output, an export (S3, `aws logs tail`), or audit
/// text (whose own errors are then reported line by line).
///
/// The first line that is not blank decides, when it is one of them and not alone of its kind
/// among lines of another: a whole log's first line is the server's, so a line forged later
/// on cannot change how the log is read. Otherwise (a cut log, whose first line may be forged
/// in a name; another program's syslog line; a note) the export and syslog shapes come first,
/// the one with more lines: read so, audit text loses nothing (a line without the prefix
/// continues the event before it and is split into audit lines). The RFC 3164 syslog shape,
/// refused whole, needs most of the lines.
fn shape_by_lines(input: &[u8]) -> InputKind {
    let mut t = Tally::of(input);
    let recognised = t.audit + t.exported + t.syslog + t.syslog_no_time;
    let most_no_time = t.syslog_no_time * 2 > recognised;
    match t.first_standing() {
        Some(LineKind::Audit) => return InputKind::AuditText,
        Some(LineKind::Exported) => return InputKind::PrefixedText,
        Some(LineKind::Syslog) => return InputKind::Syslog,
        Some(LineKind::SyslogNoTime) if most_no_time => return InputKind::Syslog,
        _ => {}
    }
    match (t.exported, t.syslog) {
        (0, 0) if most_no_time => InputKind::Syslog,
        (0, 0) => InputKind::AuditText,
        (e, s) if e > s || (e == s && t.exported_first) => InputKind::PrefixedText,
        _ => InputKind::Syslog,
    }
}

/// The first two bytes of every gzip member (RFC 1952).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

enum Key {
    Records,
    Awslogs,
    Envelope,
    Events,
}

/// Walks the top-level keys of the object whose body starts at `at`, skipping values with a
/// string-aware bracket counter, until a recognised key. Linear, no recursion, no allocation.
fn first_known_key(input: &[u8], mut at: usize) -> Option<Key> {
    loop {
        at = skip_ws(input, at);
        match input.get(at)? {
            b',' => at += 1,
            b'"' => {
                let end = skip_string(input, at + 1)?;
                let key = input.get(at + 1..end - 1)?;
                match key {
                    b"Records" => return Some(Key::Records),
                    b"awslogs" => return Some(Key::Awslogs),
                    b"messageType" | b"logEvents" => return Some(Key::Envelope),
                    b"events" | b"nextForwardToken" | b"searchedLogStreams" => {
                        return Some(Key::Events);
                    }
                    _ => {}
                }
                at = skip_ws(input, end);
                if input.get(at) != Some(&b':') {
                    return None;
                }
                at = skip_value(input, at + 1)?;
            }
            _ => return None,
        }
    }
}

/// Index just past the JSON value starting at (or after whitespace from) `at`; for a bare
/// scalar, the index of the `,` or `}` that ends it.
fn skip_value(input: &[u8], at: usize) -> Option<usize> {
    let mut at = skip_ws(input, at);
    let mut depth = 0usize;
    loop {
        match input.get(at)? {
            b'"' => {
                at = skip_string(input, at + 1)?;
                if depth == 0 {
                    return Some(at);
                }
            }
            b'{' | b'[' => {
                depth += 1;
                at += 1;
            }
            b'}' | b']' => {
                if depth == 0 {
                    return Some(at);
                }
                depth -= 1;
                at += 1;
                if depth == 0 {
                    return Some(at);
                }
            }
            b',' if depth == 0 => return Some(at),
            _ => at += 1,
        }
    }
}
