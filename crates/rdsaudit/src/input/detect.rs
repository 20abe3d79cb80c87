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
/// fails its check is text. Text is told by its first line, unless lines past the reach of a
/// record's names show a log of another shape cut inside a record (see `shape_by_lines`): a
/// whole log keeps its shape however many lines its names forge.
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

/// Whether most rows read: with a `@timestamp` that is an Insights date-time, or else with an
/// audit line in `@message` (whether its `@timestamp` is a date-time or not: an Insights CSV
/// whose times were rewritten, say by a spreadsheet, is read as one, those rows failing, kept
/// whole). Audit text under a forged header fails: its rows are audit lines cut at commas,
/// whose first field is no Insights date-time and no field of which is a whole audit line.
///
/// The rows that start past [`REACH`] decide when there are two of them or more (the first
/// [`INSIGHTS_ROWS`] of them): a log cut at a header forged in a name also has rows forged in
/// that name, all of them within the reach of the record's first line (a failed login's user
/// name holds ten lines: five forged rows outvoted three of the log's own), and the rows past
/// it are the log's. A shorter text is told by its first [`INSIGHTS_ROWS`] rows.
///
/// A row that fails at the end of the text is not counted: it may be cut by a sniff (a first
/// message longer than 64 KiB). But when it holds two lines of a log's shape past the reach of
/// its start, it is no message (a message's raw breaks are in its names): a quote opened
/// after a forged header (a name `x⏎@message⏎"`) made the rest of the log one row.
fn rows_read(input: &[u8]) -> bool {
    let (Some(rows), Some(loose)) = (
        super::insights_csv::rows(input),
        super::insights_csv::rows(input).map(super::insights_csv::Rows::timestamp_unread),
    ) else {
        return false;
    };
    let (mut first, mut far) = (Votes::default(), Votes::default());
    let mut rows = rows.zip(loose).peekable();
    while let Some((row, loose)) = rows.next() {
        let raw = match &row {
            Ok(r) => r.raw,
            Err(bad) => bad.raw,
        };
        if row.is_err() && rows.peek().is_none() {
            if holds_log_lines(raw) {
                return false;
            }
            break;
        }
        let reads = row_reads(&row, &loose);
        if first.seen < INSIGHTS_ROWS {
            first.add(reads);
        }
        // Where the row starts in `input` (it is a part of it).
        if (raw.as_ptr() as usize).saturating_sub(input.as_ptr() as usize) >= REACH {
            far.add(reads);
            if far.seen == INSIGHTS_ROWS {
                break;
            }
        }
    }
    if far.seen >= 2 {
        return far.most();
    }
    // A header alone (no whole row yet) is taken at its word.
    first.seen == 0 || first.most()
}

/// Rows looked at, and how many of them read.
#[derive(Debug, Default)]
struct Votes {
    seen: usize,
    read: usize,
}

impl Votes {
    fn add(&mut self, reads: bool) {
        self.seen += 1;
        self.read += usize::from(reads);
    }

    fn most(&self) -> bool {
        self.read * 2 > self.seen
    }
}

/// Whether a row reads as Insights CSV (see [`rows_read`]); `loose` is the same row read with
/// its `@timestamp` left unread.
fn row_reads(
    row: &Result<super::insights_csv::InsightsRow<'_>, super::insights_csv::BadRow<'_>>,
    loose: &Result<super::insights_csv::InsightsRow<'_>, super::insights_csv::BadRow<'_>>,
) -> bool {
    use super::insights_csv::{BadRow, InsightsError};
    let holds_audit_line = |r: &super::insights_csv::InsightsRow<'_>| {
        crate::audit::scanner::starts_with_timestamp(&r.message)
    };
    match (row, loose) {
        (Ok(r), _) => r.time_us.is_some() || holds_audit_line(r),
        (
            Err(BadRow {
                error: InsightsError::Timestamp { .. },
                ..
            }),
            Ok(r),
        ) => holds_audit_line(r),
        _ => false,
    }
}

/// Whether `raw` (a row never closed) holds two whole lines past [`REACH`] of its start that
/// are lines of a log: export or syslog lines, or audit lines that read alone (an Insights
/// row's own line starts with a date-time too, but does not read as an audit line).
fn holds_log_lines(raw: &[u8]) -> bool {
    let head = raw.get(..TEXT_PROBE).unwrap_or(raw);
    // From the first line that starts past the reach: after a break at `REACH - 1` or later.
    let Some(i) = head
        .get(REACH - 1..)
        .and_then(|past| memchr::memchr2(b'\n', b'\r', past))
    else {
        return false;
    };
    let (mut at, mut lines) = (REACH + i, 0);
    while let Some(i) = memchr::memchr2(b'\n', b'\r', head.get(at..).unwrap_or_default()) {
        let line = head.get(at..at + i).unwrap_or_default();
        let counts = match line_kind_of(line) {
            LineKind::Exported | LineKind::Syslog | LineKind::SyslogNoTime => true,
            LineKind::Audit => crate::audit::scanner::parse_unbroken_line(line).is_ok(),
            LineKind::Other => false,
        };
        lines += usize::from(counts);
        if lines == 2 {
            return true;
        }
        at += i + 1;
    }
    false
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
    // One byte rules out JSON's indented lines before their end is looked for.
    if !starts_like_a_shape(text) {
        return LineKind::Other;
    }
    // A line ends at `\n` or `\r` (as the text reader ends it, so the lines looked at never
    // overlap: linear in the probe), and no shape needs more than its first bytes to be told.
    let head = text.get(..LINE_LOOK).unwrap_or(text);
    let line = head
        .get(..memchr::memchr2(b'\n', b'\r', head).unwrap_or(head.len()))
        .unwrap_or(head);
    line_kind_of(line)
}

/// Whether `text` starts as every line of the shapes does: with a digit (a time) or a letter
/// (a month), or `<` (a syslog `<PRI>`).
fn starts_like_a_shape(text: &[u8]) -> bool {
    text.first()
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'<')
}

/// The kind of `line`, cut at its break.
fn line_kind_of(line: &[u8]) -> LineKind {
    if !starts_like_a_shape(line) {
        return LineKind::Other;
    }
    let line = line.get(..LINE_LOOK).unwrap_or(line);
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

/// How far past the start of a record's first line a line forged in its names can start: the
/// record's text before its statement, where its raw breaks are
/// ([`super::text::MAX_NAMES_BYTES`], with the syslog header or export prefix well within it).
/// So a log cut inside a record has its forged lines in its first `REACH` bytes, and a line
/// forged in a whole log lies within `REACH` after a line that starts a record of its shape.
const REACH: usize = super::text::MAX_NAMES_BYTES as usize;

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
    /// The lines of other kinds more than [`REACH`] past the last line that starts a record
    /// of the first line's shape: no name of a record of that shape holds them.
    far: Far,
    /// Where the last line starting a record of the first line's shape starts.
    last_start: usize,
    /// Whole lines from [`REACH`] on: how many are export lines, and whether one is neither an
    /// export nor an audit line (blank, another program's, a name's, syslog).
    body_exported: usize,
    body_mixed: bool,
}

/// Lines of each kind counted in [`Tally::far`].
#[derive(Debug, Default, Clone, Copy)]
struct Far {
    audit: usize,
    exported: usize,
    /// Syslog lines, with an RFC 3339 time or not.
    syslog: usize,
}

impl Far {
    fn total(self) -> usize {
        self.audit + self.exported + self.syslog
    }
}

impl Tally {
    fn of(input: &[u8]) -> Tally {
        let head = input.get(..TEXT_PROBE).unwrap_or(input);
        let mut tally = Tally::default();
        let mut at = 0;
        while at < head.len() {
            let rest = head.get(at..).unwrap_or_default();
            let end = memchr::memchr2(b'\n', b'\r', rest).map(|i| at + i);
            let next = end.map_or(head.len(), |e| e + 1);
            // The `\n` of a CRLF is no line of its own.
            let crlf = rest.first() == Some(&b'\n') && at > 0 && head.get(at - 1) == Some(&b'\r');
            if !crlf {
                // A line cut by the probe's end (no break after it) is told by its start
                // (`line_kind` looks on into `input`) but is no evidence past the first
                // line's reach: its kind may change with bytes the probe does not hold.
                let kind = match end {
                    Some(e) => line_kind_of(input.get(at..e).unwrap_or_default()),
                    None => line_kind(input.get(at..).unwrap_or_default()),
                };
                tally.add(at, kind, rest, end.is_some());
            }
            at = next;
        }
        tally
    }

    /// Counts the line starting at `at` (`rest` is the probe from it on).
    fn add(&mut self, at: usize, kind: LineKind, rest: &[u8], whole: bool) {
        let blank = rest.first().is_some_and(|b| matches!(b, b'\n' | b'\r'));
        if self.first.is_none() && !blank {
            self.first = Some(kind);
        }
        if kind == LineKind::Exported && self.syslog == 0 && self.exported == 0 {
            self.exported_first = true;
        }
        if let Some(n) = self.count(kind) {
            *n += 1;
        }
        let Some(first) = self.first else {
            return;
        };
        if starts_record_of(first, kind) {
            self.last_start = at;
            self.far = Far::default();
        } else if whole && at > self.last_start.saturating_add(REACH) {
            match kind {
                LineKind::Audit => self.far.audit += 1,
                LineKind::Exported => self.far.exported += 1,
                LineKind::Syslog | LineKind::SyslogNoTime => self.far.syslog += 1,
                LineKind::Other => {}
            }
        }
        if whole && at >= REACH {
            match kind {
                LineKind::Exported => self.body_exported += 1,
                LineKind::Audit => {}
                _ => self.body_mixed = true,
            }
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

    /// The shape of the lines more than [`REACH`] past the last line starting a record of the
    /// first line's shape, when at least two lines lie there: no whole or cut log of the
    /// first line's shape has them (a name holding them would be a record's, within reach of
    /// its first line), so the first line was forged in a name of a log cut inside it. Export
    /// first when export lines lie there (it reads audit lines too), then syslog, then audit.
    fn far_shape(&self) -> Option<InputKind> {
        let far = self.far;
        if far.total() < 2 {
            None
        } else if far.exported > 0 && far.exported >= far.syslog {
            Some(InputKind::PrefixedText)
        } else if far.syslog > 0 {
            Some(InputKind::Syslog)
        } else {
            Some(InputKind::AuditText)
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

/// Whether a line of kind `kind` starts a record in a log whose first line is of kind `first`:
/// an audit line in audit text; an export line or an audit line (a log event holding several)
/// in an export; a plugin line with an RFC 3339 time in syslog output.
fn starts_record_of(first: LineKind, kind: LineKind) -> bool {
    match first {
        LineKind::Audit => kind == LineKind::Audit,
        LineKind::Exported => matches!(kind, LineKind::Exported | LineKind::Audit),
        LineKind::Syslog => kind == LineKind::Syslog,
        LineKind::SyslogNoTime | LineKind::Other => false,
    }
}

/// Whether audit text whose first line is an audit line is a cut export whose log events hold
/// several audit lines (`tail -n` starting inside one): past the first [`REACH`] bytes, at
/// least two whole lines are export lines and every other whole line is an audit line that
/// reads alone. In audit text an export line is held in a name only: the record's first line
/// before it, cut at the name's break, reads alone only when the name was made to (docs/
/// HOSTILE.md, "Two records or one?"), and so does the rest of the record after it.
fn is_cut_multiline_export(input: &[u8], tally: &Tally) -> bool {
    if tally.body_exported < 2 || tally.body_mixed {
        return false;
    }
    let head = input.get(..TEXT_PROBE).unwrap_or(input);
    let mut at = 0;
    while let Some(i) = memchr::memchr2(b'\n', b'\r', head.get(at..).unwrap_or_default()) {
        let line = head.get(at..at + i).unwrap_or_default();
        let next = at + i + 1;
        if at >= REACH
            && !line.is_empty()
            && line_kind_of(line) == LineKind::Audit
            && crate::audit::scanner::parse_unbroken_line(line).is_err()
        {
            return false;
        }
        at = next;
    }
    true
}

/// Text's shape by its lines: plugin syslog output, an export (S3, `aws logs tail`), or audit
/// text (whose own errors are then reported line by line).
///
/// The first line that is not blank decides, when it is one of them, unless the lines after
/// it show a cut log whose first lines were forged in a name:
///
/// - lines of another shape lie more than [`REACH`] past the last line that starts a record
///   of the first line's shape (two at least): a name holding them would be a record's, and a
///   record's names end within that reach of its first line. The log is read as those lines'
///   shape. However many lines names forge, a whole log keeps its shape: each lies within
///   reach of its record's first line;
/// - the first line is an audit line, and past the first [`REACH`] bytes every line is an
///   export line (two at least) or an audit line that reads alone: an export whose log events
///   hold several audit lines, cut inside one ([`is_cut_multiline_export`]);
/// - the first line is alone of its kind among lines of another (a short cut log).
///
/// Otherwise (the first line is another program's syslog line or a note) the export and
/// syslog shapes come first, the one with more lines: read so, audit text loses nothing (a
/// line without the prefix continues the event before it and is split into audit lines). The
/// RFC 3164 syslog shape, refused whole, needs most of the lines.
fn shape_by_lines(input: &[u8]) -> InputKind {
    let mut t = Tally::of(input);
    if matches!(
        t.first,
        Some(LineKind::Audit | LineKind::Exported | LineKind::Syslog)
    ) {
        if let Some(kind) = t.far_shape() {
            return kind;
        }
        if t.first == Some(LineKind::Audit) && is_cut_multiline_export(input, &t) {
            return InputKind::PrefixedText;
        }
    }
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
