//! The simd-json tape walk the `awslogs` event was read with before [`super::parse_awslogs_event`]
//! walked the text itself: kept as the oracle its property tests compare it to.

use simd_json::tape::Node;

use crate::input::json::{MAX_EVENT_VALUES, TapeParser, kind, neutralize_wide_numbers};
use crate::input::kinesis::reference::field;
use crate::input::{Payload, SourceError, SourceRecord};

/// The record as simd-json's tape gives it.
pub(crate) fn parse_awslogs_event<'a>(
    buf: &'a mut [u8],
    len: usize,
    json: &mut TapeParser,
) -> Result<SourceRecord<'a>, SourceError> {
    // A number simd-json cannot hold, in a field we do not read, must not cost the event.
    neutralize_wide_numbers(buf.get_mut(..len).unwrap_or_default());
    json.parse_padded(buf, len, MAX_EVENT_VALUES, |tape| {
        let awslogs =
            field(tape, 0, "awslogs", "awslogs")?.ok_or(SourceError::MissingField("awslogs"))?;
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
