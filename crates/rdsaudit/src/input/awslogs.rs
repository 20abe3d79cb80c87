//! The Lambda event of a CloudWatch Logs subscription filter that targets the function
//! directly: `{"awslogs":{"data":"<base64 of the gzip payload>"}}`, one record.

use simd_json::tape::Node;

use super::json::{MAX_EVENT_VALUES, kind};
use super::record::{Payload, SourceError, SourceParser, SourceRecord, field};

/// Parses a Lambda CloudWatch Logs event `{"awslogs":{"data":"<base64>"}}` in place into one
/// record (no sequence number). Unknown keys are ignored.
///
/// # Errors
/// Invalid JSON, not an object, or `awslogs` / `awslogs.data` missing or of the wrong type.
pub fn parse_awslogs_event<'a>(
    buf: &'a mut [u8],
    len: usize,
    parser: &mut SourceParser,
) -> Result<SourceRecord<'a>, SourceError> {
    // A number simd-json cannot hold, in a field we do not read, must not cost the event.
    super::json::neutralize_wide_numbers(buf.get_mut(..len).unwrap_or_default());
    parser
        .json
        .parse_padded(buf, len, MAX_EVENT_VALUES, |tape| {
            let awslogs = field(tape, 0, "awslogs", "awslogs")?
                .ok_or(SourceError::MissingField("awslogs"))?;
            match tape.get(awslogs) {
                Some(Node::Object { .. }) => {}
                other => {
                    return Err(SourceError::WrongType {
                        field: "awslogs",
                        expected: "an object",
                        found: other.map_or("nothing", kind),
                    });
                }
            }
            let data = field(tape, awslogs, "data", "awslogs.data")?
                .ok_or(SourceError::MissingField("awslogs.data"))?;
            match tape.get(data) {
                Some(Node::String(s)) => Ok(SourceRecord::new(Payload::Base64(s.as_bytes()))),
                other => Err(SourceError::WrongType {
                    field: "awslogs.data",
                    expected: "a base64 string",
                    found: other.map_or("nothing", kind),
                }),
            }
        })
}
