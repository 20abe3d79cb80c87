//! Where every input went: the library's [`Report`] summed over all inputs, plus inputs that
//! could not be read at all, and the one-line error for each failure.

use std::fmt::Write as _;

use indicatif::ProgressBar;
use rdsaudit::LineError;
use rdsaudit::decoder::Done;
use rdsaudit::input::logs_api::EventPlace;
use rdsaudit::report::Report;
use rdsaudit::sink::{FailedRecord, UnparsedLine};

use super::input::Filtered;

/// Error lines shown per input; the rest are counted in the summary.
const SHOWN_PER_INPUT: u64 = 20;
/// How much of an unparsed line an error message quotes.
const EXCERPT_LEN: usize = 160;

/// One thing that went wrong in a record, for the error lines on stderr.
#[derive(Debug)]
pub enum Problem {
    Failed(String),
    Unparsed {
        /// A logs API event's page and index in `events`.
        place: Option<EventPlace>,
        event_id: Option<String>,
        line: Option<u64>,
        reason: LineError,
        /// The start of the line (at most [`EXCERPT_LEN`] bytes, lossy UTF-8).
        excerpt: String,
    },
}

/// The problems of one record or text piece: the first few kept, the rest counted.
#[derive(Debug, Default)]
pub struct Problems {
    shown: Vec<Problem>,
    more: u64,
}

impl Problems {
    fn push(&mut self, make: impl FnOnce() -> Problem) {
        if (self.shown.len() as u64) < SHOWN_PER_INPUT {
            self.shown.push(make());
        } else {
            self.more += 1;
        }
    }

    pub fn unparsed(&mut self, u: &UnparsedLine<'_>) {
        self.push(|| Problem::Unparsed {
            place: u.place,
            event_id: u.event_id.map(str::to_owned),
            line: u.line_number,
            reason: u.reason,
            excerpt: String::from_utf8_lossy(u.bytes.get(..EXCERPT_LEN).unwrap_or(u.bytes))
                .into_owned(),
        });
    }

    pub fn failed(&mut self, r: &FailedRecord<'_>) {
        self.push(|| Problem::Failed(r.error.to_string()));
    }
}

#[derive(Debug, Default)]
pub struct Accounting {
    pub report: Report,
    /// Inputs that were opened but are not a readable event or payload at all.
    pub failed_inputs: u64,
    /// Inputs that could not be opened or read.
    pub unreadable_inputs: u64,
    shown: u64,
    hidden: u64,
    bar: Option<ProgressBar>,
    /// `--merge`: the error lines of an input read on its own thread, kept until the merge
    /// ends and shown then in input order ([`Accounting::holding`]); `None`: shown at once.
    held: Option<Vec<String>>,
}

impl Accounting {
    /// An accounting whose error lines wait for [`Accounting::absorb`] instead of going to
    /// stderr: inputs read at once on threads of their own would otherwise interleave their
    /// lines in whatever order the threads ran. At most [`SHOWN_PER_INPUT`] lines an input,
    /// plus the count of the rest, are kept.
    pub fn holding() -> Self {
        Accounting {
            held: Some(Vec::new()),
            ..Accounting::default()
        }
    }

    /// Starts a new input: resets the per-input error budget, shows errors above `bar`.
    pub fn start_input(&mut self, bar: Option<ProgressBar>) {
        self.shown = 0;
        self.bar = bar;
    }

    /// Ends the current input; says how many of its errors were not shown.
    pub fn finish_input(&mut self, name: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.hidden > 0 {
            let line = format!("rdsaudit: {name}: {} more errors not shown", self.hidden);
            self.show(line);
            self.hidden = 0;
        }
    }

    pub fn unreadable(&mut self, name: &str, error: &std::io::Error) {
        self.unreadable_inputs += 1;
        self.show(format!("rdsaudit: {name}: {error}"));
    }

    pub fn input_failed(&mut self, name: &str, what: &str) {
        self.failed_inputs += 1;
        self.error(format!("rdsaudit: {name}: {what}"));
    }

    /// A streamed input whose stream failed after part of it was read (counted as usual):
    /// the rest is one failed record of `kind`.
    pub fn stream_failed(&mut self, name: &str, kind: &'static str, what: &str) {
        let r = &mut self.report;
        r.records += 1;
        r.failed_records += 1;
        *r.failed_by_kind.entry(kind).or_default() += 1;
        self.error(format!("rdsaudit: {name}: {what}"));
    }

    /// Reports the problems of one record or text piece (its counts are in the decoder's
    /// report).
    pub fn record<T>(&mut self, name: &str, done: &Done<'_, Filtered<'_, T>>) {
        let problems = &done.sink.problems;
        self.hidden += problems.more;
        if problems.shown.is_empty() {
            // The usual record: nothing to say (and no message built for it).
            return;
        }
        let mut record = format!("record {}", done.index + 1);
        if let Some(seq) = done.record.and_then(|r| r.sequence_number) {
            let _ = write!(record, " (sequence {})", plain(seq));
        }
        // An unparsed event of a piece of text or of a chunk of log events (the logs API,
        // Insights) is in no record: the piece's or chunk's number is no place of it.
        let in_record = done.record.is_some().then_some(record.as_str());
        for p in &problems.shown {
            let line = match p {
                Problem::Failed(e) => format!("rdsaudit: {name}: {record}: {e}"),
                Problem::Unparsed {
                    place: Some(place),
                    event_id,
                    line,
                    reason,
                    excerpt,
                } => api_event_line(name, *place, event_id.as_deref(), *line, reason, excerpt),
                Problem::Unparsed {
                    place: None,
                    event_id,
                    line,
                    reason,
                    excerpt,
                } => unparsed_line(name, in_record, event_id.as_deref(), *line, reason, excerpt),
            };
            self.error(line);
        }
    }

    fn error(&mut self, line: String) {
        if self.shown >= SHOWN_PER_INPUT {
            self.hidden += 1;
            return;
        }
        self.shown += 1;
        self.show(line);
    }

    /// Writes an error line to stderr (above the progress bar), or keeps it when holding.
    fn show(&mut self, line: String) {
        match (&mut self.held, &self.bar) {
            (Some(held), _) => held.push(line),
            (None, Some(bar)) => bar.suspend(|| ewriteln!("{line}")),
            (None, None) => ewriteln!("{line}"),
        }
    }

    /// Adds what another input's accounting counted (`--merge` reads inputs on threads), and
    /// shows the error lines it held.
    pub fn absorb(&mut self, other: Accounting) {
        for line in other.held.into_iter().flatten() {
            self.show(line);
        }
        self.report.merge(&other.report);
        self.failed_inputs += other.failed_inputs;
        self.unreadable_inputs += other.unreadable_inputs;
    }

    /// Whether anything failed (exit status 1).
    pub fn has_failures(&self) -> bool {
        let r = &self.report;
        self.failed_inputs > 0 || r.failed_records > 0 || r.unparsed_events > 0
    }

    /// The accounting summary under `title`: each total equals the sum of its parts. `kept`
    /// is how many parsed events were selected (filters, and QUERY only for `--format sql`).
    pub fn summary(&self, title: &str, inputs: u64, kept: u64) -> String {
        let r = &self.report;
        let mut s = format!("{title}\n");
        let _ = writeln!(
            s,
            "  inputs:     {inputs} = {} read + {} not an event/payload + {} unreadable",
            inputs - self.failed_inputs - self.unreadable_inputs,
            self.failed_inputs,
            self.unreadable_inputs
        );
        let _ = writeln!(
            s,
            "  records:    {} = {} data + {} control (skipped by rule) + {} failed{}",
            r.records,
            r.data_records,
            r.control_records,
            r.failed_records,
            breakdown(r.failed_by_kind.iter().map(|(k, v)| (*k, *v)))
        );
        // Control payloads among data payloads (a Firehose object) are in no record count.
        if r.control_messages != r.control_records {
            let _ = writeln!(
                s,
                "  control messages: {} (CONTROL_MESSAGE payloads, skipped by rule)",
                r.control_messages
            );
        }
        let _ = writeln!(
            s,
            "  audit lines: {} = {} parsed + {} unparsed{}",
            r.log_events,
            r.parsed_events,
            r.unparsed_events,
            breakdown(r.unparsed_by_reason.iter().map(|(k, v)| (*k, *v)))
        );
        if r.blank_lines > 0 {
            let _ = writeln!(s, "  blank lines: {} (no text, skipped)", r.blank_lines);
        }
        if r.ambiguous_events > 0 {
            let _ = writeln!(
                s,
                "  ambiguous:  {} of {} parsed (a raw line break in a name may have cut or forged \
                 them: other readings are in `alternatives`, those not listed counted in \
                 `alternatives_omitted`; docs/HOSTILE.md)",
                r.ambiguous_events, r.parsed_events
            );
        }
        let _ = writeln!(
            s,
            "  selected:   {kept} of {} parsed ({} not selected)",
            r.parsed_events,
            r.parsed_events.saturating_sub(kept)
        );
        s
    }
}

/// ` (gzip: 1, base64: 2)`, or nothing when there are no failures.
fn breakdown<'a>(counts: impl Iterator<Item = (&'a str, u64)>) -> String {
    let parts: Vec<String> = counts.map(|(k, v)| format!("{k}: {v}")).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// An id from the input (a sequence number, an event id) as it can be shown on a line of
/// stderr: as it is when it holds no control character, else quoted with Rust's escapes. An
/// id is anyone's text (a hand-made event): a line break in it forged error and summary
/// lines, an ESC reached the terminal (review of session 28).
fn plain(id: &str) -> std::borrow::Cow<'_, str> {
    if id.chars().any(char::is_control) {
        format!("{id:?}").into()
    } else {
        id.into()
    }
}

/// The error line of a log event of `aws logs` API output (or a line of its message) that does
/// not read: named by its page (when the output has several) and its 1-based index in the
/// page's `events`, its event id beside them where it has one, and the line within its
/// message where it held several (session 29, F6: an event of `get-log-events` output, which
/// has no ids, was named by nothing, or by the message's line as if it were the file's).
/// Shown, as a line of text is, unless its id names it.
fn api_event_line(
    name: &str,
    place: EventPlace,
    event_id: Option<&str>,
    line: Option<u64>,
    reason: &LineError,
    excerpt: &str,
) -> String {
    let mut at = format!("rdsaudit: {name}: {place}");
    if let Some(id) = event_id {
        let _ = write!(at, " (id {})", plain(id));
    }
    if let Some(n) = line {
        let _ = write!(at, ", line {n}");
    }
    match event_id {
        Some(_) => format!("{at}: {reason}"),
        None => format!("{at}: {reason}: {excerpt:?}"),
    }
}

/// The error line of an unparsed line or log event of input `name`, in `record` (`record 3
/// (sequence ...)`) if it came in one: named by its event id and its line within the message
/// where known, a place unknown left out (never written `?`). A line of text is named by its
/// line and shown; so is an event known by nothing (a logs API event that did not read,
/// whose reason names its page and index; `get-log-events` output has no event ids).
fn unparsed_line(
    name: &str,
    record: Option<&str>,
    event_id: Option<&str>,
    line: Option<u64>,
    reason: &LineError,
    excerpt: &str,
) -> String {
    let mut at = format!("rdsaudit: {name}");
    if let Some(record) = record {
        let _ = write!(at, ": {record}");
    }
    let event_id = event_id.map(plain);
    match (event_id, line) {
        // A line of a CloudWatch message: its place is the record's and event's.
        (Some(event), Some(n)) if record.is_some() => {
            format!("{at}, event {event}, line {n}: {reason}")
        }
        (Some(event), Some(n)) => format!("{at}: event {event}, line {n}: {reason}"),
        (Some(event), None) if record.is_some() => format!("{at}, event {event}: {reason}"),
        (Some(event), None) => format!("{at}: event {event}: {reason}"),
        // The record's number is not the text's: a line of text is named by its line.
        (None, Some(n)) => format!("rdsaudit: {name}: line {n}: {reason}: {excerpt:?}"),
        (None, None) => format!("{at}: {reason}: {excerpt:?}"),
    }
}
