//! Telling input kinds apart by content, never by file name.

use super::InputKind;
use super::json::{skip_string, skip_ws};

/// Detects the kind of `input` from its content, never from a file name.
///
/// gzip magic (`1f 8b`) gives [`InputKind::CloudWatchGzip`]; the [`crate::Decoder`] inflates
/// such an input and detects again, so a compressed Lambda event or `.log.gz` file is read for
/// what it holds. A leading `{` (after whitespace) is classified by its first recognised
/// top-level key: `Records` (Kinesis event), `awslogs` (CloudWatch Logs event), `messageType` /
/// `logEvents` (envelope). A JSON object with none of those keys is still reported as
/// [`InputKind::CloudWatchJson`], because the envelope parser then gives a precise error (an
/// audit line never starts with `{`). Anything else is [`InputKind::AuditText`].
///
/// ```
/// use rdsaudit::input::{detect, InputKind};
/// assert_eq!(detect(br#" {"Records":[]}"#), InputKind::KinesisEvent);
/// assert_eq!(detect(br#"{"awslogs":{"data":""}}"#), InputKind::AwslogsEvent);
/// assert_eq!(detect(br#"{"owner":"1","messageType":"DATA_MESSAGE"}"#), InputKind::CloudWatchJson);
/// assert_eq!(detect(b"\x1f\x8b\x08\x00"), InputKind::CloudWatchGzip);
/// assert_eq!(detect(b"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,\n"), InputKind::AuditText);
/// ```
#[must_use]
pub fn detect(input: &[u8]) -> InputKind {
    if input.starts_with(&GZIP_MAGIC) {
        return InputKind::CloudWatchGzip;
    }
    let start = skip_ws(input, 0);
    if input.get(start) != Some(&b'{') {
        return InputKind::AuditText;
    }
    match first_known_key(input, start + 1) {
        Some(Key::Records) => InputKind::KinesisEvent,
        Some(Key::Awslogs) => InputKind::AwslogsEvent,
        Some(Key::Envelope) | None => InputKind::CloudWatchJson,
    }
}

/// The first two bytes of every gzip member (RFC 1952).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

enum Key {
    Records,
    Awslogs,
    Envelope,
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
