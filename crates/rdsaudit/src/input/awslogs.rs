//! The Lambda event of a CloudWatch Logs subscription filter that targets the function
//! directly: `{"awslogs":{"data":"<base64 of the gzip payload>"}}`, one record.
//!
//! Read by the same validating walk as the Kinesis event (`input/json/walk.rs`), so both
//! Lambda event shapes accept exactly RFC 8259 JSON: simd-json, which read this one before,
//! took `-0+1` or `1.5.e9` as numbers (review 6, R6-5), and refused a number it could not hold
//! in a field we never read.

use std::ops::Range;

use super::json::walk::{Kind, Walk};
use super::json::{JsonError, MAX_EVENT_VALUES, check_padding};
use super::record::{Payload, SourceError, SourceParser, SourceRecord, open_event};

/// Parses a Lambda CloudWatch Logs event `{"awslogs":{"data":"<base64>"}}` in place into one
/// record (no sequence number); `buf[..len]` is the JSON, followed by at least
/// `simd_json::INPUT_PADDING` bytes, the contract every event parser shares. Unknown keys are
/// ignored.
///
/// ```
/// use rdsaudit::input::{parse_awslogs_event, Payload, SourceParser};
/// let event = br#"{"awslogs":{"data":"H4sIAAAAAAAA/6tWSkksSVSyUoIA"}}"#;
/// let mut buf = event.to_vec();
/// buf.resize(event.len() + simd_json::INPUT_PADDING, 0);
/// let record = parse_awslogs_event(&mut buf, event.len(), &mut SourceParser::new())?;
/// assert_eq!(record.payload, Payload::Base64(b"H4sIAAAAAAAA/6tWSkksSVSyUoIA"));
/// # Ok::<(), rdsaudit::input::SourceError>(())
/// ```
///
/// # Errors
/// Invalid JSON, not an object, or `awslogs` / `awslogs.data` missing, repeated (which one
/// CloudWatch meant cannot be told) or of the wrong type; invalid JSON anywhere comes first.
pub fn parse_awslogs_event<'a>(
    buf: &'a mut [u8],
    len: usize,
    parser: &mut SourceParser,
) -> Result<SourceRecord<'a>, SourceError> {
    parse_awslogs_event_from(buf, len, 0, parser)
}

/// [`parse_awslogs_event`] of JSON that starts at byte `from` (past a UTF-8 byte order mark
/// the decoder leaves in place: offsets are then the file's).
pub(crate) fn parse_awslogs_event_from<'a>(
    buf: &'a mut [u8],
    len: usize,
    from: usize,
    parser: &mut SourceParser,
) -> Result<SourceRecord<'a>, SourceError> {
    check_padding(buf, len)?;
    let text = buf.get_mut(..len).unwrap_or_default();
    let walk = Walk::new(text, &mut parser.open, MAX_EVENT_VALUES).starting_at(from);
    let data = read_event(walk)?;
    let text: &'a [u8] = buf;
    Ok(SourceRecord::new(Payload::Base64(
        text.get(data).unwrap_or_default(),
    )))
}

/// How often a key was seen, with what its first value gave.
enum Seen<T> {
    Never,
    Once(T),
    Twice,
}

impl<T> Seen<T> {
    /// The key seen again: its value is read and dropped.
    fn again(self, walk: &mut Walk<'_>, kind: Kind) -> Result<Self, JsonError> {
        walk.skip(kind)?;
        Ok(Seen::Twice)
    }
}

/// Walks the whole event and returns the range of `awslogs.data`.
fn read_event(mut walk: Walk<'_>) -> Result<Range<usize>, SourceError> {
    open_event(&mut walk)?;
    let mut awslogs = Seen::Never;
    while let Some(key) = walk.next_key()? {
        let is_awslogs = walk.bytes(&key) == b"awslogs";
        let kind = walk.value()?;
        awslogs = match awslogs {
            Seen::Never if is_awslogs => Seen::Once(read_awslogs(&mut walk, kind)?),
            seen if is_awslogs => seen.again(&mut walk, kind)?,
            seen => {
                walk.skip(kind)?;
                seen
            }
        };
    }
    walk.end()?;
    match awslogs {
        Seen::Never => Err(SourceError::MissingField("awslogs")),
        Seen::Twice => Err(SourceError::DuplicateField("awslogs")),
        Seen::Once(data) => data,
    }
}

/// The `awslogs` object: the range of its `data`, or what is wrong with it (reported once the
/// event is read).
fn read_awslogs(
    walk: &mut Walk<'_>,
    kind: Kind,
) -> Result<Result<Range<usize>, SourceError>, JsonError> {
    let wrong = |field, expected, found| SourceError::WrongType {
        field,
        expected,
        found,
    };
    if kind != Kind::Object {
        walk.skip(kind)?;
        return Ok(Err(wrong("awslogs", "an object", kind.name())));
    }
    walk.open(kind)?;
    let mut data = Seen::Never;
    while let Some(key) = walk.next_key()? {
        let is_data = walk.bytes(&key) == b"data";
        let kind = walk.value()?;
        data = match data {
            Seen::Never if is_data && kind == Kind::String => Seen::Once(Ok(walk.string()?)),
            Seen::Never if is_data => {
                walk.skip(kind)?;
                Seen::Once(Err(kind.name()))
            }
            seen if is_data => seen.again(walk, kind)?,
            seen => {
                walk.skip(kind)?;
                seen
            }
        };
    }
    Ok(match data {
        Seen::Never => Err(SourceError::MissingField("awslogs.data")),
        Seen::Twice => Err(SourceError::DuplicateField("awslogs.data")),
        Seen::Once(Ok(range)) => Ok(range),
        Seen::Once(Err(found)) => Err(wrong("awslogs.data", "a base64 string", found)),
    })
}

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;
