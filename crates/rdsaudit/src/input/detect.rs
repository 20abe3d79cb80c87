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
/// flat and capitalised is `aws kinesis get-records` output; none of those, with a later line
/// that starts with an audit timestamp, is audit text whose first line starts with `{`. Text that is not JSON is a pasted
/// base64 record, a Logs Insights CSV, plugin syslog output, prefixed log events (export to S3,
/// `aws logs tail`) or audit text, in that order of checks. A JSON object with none of those keys is still reported as
/// [`InputKind::CloudWatchJson`], because the envelope parser then gives a precise error (an
/// audit line never starts with `{`). Anything else is [`InputKind::AuditText`].
///
/// ```
/// use rdsaudit::input::{detect, InputKind};
/// assert_eq!(detect(br#" {"Records":[]}"#), InputKind::KinesisEvent);
/// assert_eq!(detect(br#"{"awslogs":{"data":""}}"#), InputKind::AwslogsEvent);
/// assert_eq!(detect(br#"{"owner":"1","messageType":"DATA_MESSAGE"}"#), InputKind::CloudWatchJson);
/// assert_eq!(detect(b"\x1f\x8b\x08\x00"), InputKind::CloudWatchGzip);
/// assert_eq!(detect(b"{ note }\n20240615 10:31:00,db1,u,h,1,2,QUERY,,'x',0\n"), InputKind::AuditText);
/// assert_eq!(detect(b"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,\n"), InputKind::AuditText);
/// ```
#[must_use]
pub fn detect(input: &[u8]) -> InputKind {
    if input.starts_with(&GZIP_MAGIC) {
        return InputKind::CloudWatchGzip;
    }
    let start = skip_ws(input, 0);
    if input.get(start) != Some(&b'{') {
        return detect_text(input);
    }
    match first_known_key(input, start + 1) {
        Some(Key::Records) if super::get_records::looks_like_get_records(input) => {
            InputKind::KinesisGetRecords
        }
        Some(Key::Records) => InputKind::KinesisEvent,
        Some(Key::Awslogs) => InputKind::AwslogsEvent,
        Some(Key::Events) => InputKind::LogsApi,
        Some(Key::Envelope) => InputKind::CloudWatchJson,
        // A text file whose first line happens to start with `{` (a note, a pasted object)
        // and holds audit lines: read as text, the `{` line reported line by line, rather
        // than every line lost in one failed JSON record.
        None if holds_audit_lines(input) => InputKind::AuditText,
        None => InputKind::CloudWatchJson,
    }
}

/// How far into an input that starts with `{` audit lines are looked for.
const AUDIT_LINE_PROBE: usize = 64 * 1024;

/// Whether a line within the first [`AUDIT_LINE_PROBE`] bytes starts with an audit timestamp.
fn holds_audit_lines(input: &[u8]) -> bool {
    let head = input.get(..AUDIT_LINE_PROBE).unwrap_or(input);
    memchr::memchr2_iter(b'\n', b'\r', head).any(|b| {
        crate::audit::scanner::starts_with_timestamp(head.get(b + 1..).unwrap_or_default())
    })
}

/// Text that is not JSON: a pasted base64 record, an Insights CSV, syslog output, prefixed log
/// events, else audit text (whose own errors are then reported line by line).
fn detect_text(input: &[u8]) -> InputKind {
    if super::base64_data::looks_like_base64_data(input) {
        InputKind::Base64Data
    } else if super::insights_csv::looks_like_insights_csv(input) {
        InputKind::InsightsCsv
    } else if super::syslog::looks_like_syslog(input) {
        InputKind::Syslog
    } else if super::prefixed::looks_prefixed(input) {
        InputKind::PrefixedText
    } else {
        InputKind::AuditText
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
