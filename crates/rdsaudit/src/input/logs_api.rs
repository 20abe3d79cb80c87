//! `aws logs filter-log-events` and `aws logs get-log-events` output: CloudWatch Logs read
//! through its API instead of a subscription.
//!
//! ```json
//! {"events":[{"logStreamName":"db1","timestamp":1714564800123,
//!   "message":"20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0",
//!   "ingestionTime":1714564800456,"eventId":"37605431982366218745392619003296741302869208427839209472"}],
//!  "searchedLogStreams":[{"logStreamName":"db1","searchedCompletely":true}],"nextToken":"..."}
//! ```
//!
//! `get-log-events` has the same `events` without `logStreamName` and `eventId`, and
//! `nextForwardToken` / `nextBackwardToken` instead. Pages written one after another (a loop
//! over `--next-token`) are back-to-back objects, read in order. Each event needs a string
//! `message` and an integer `timestamp`; the rest is kept when present. Unknown keys are
//! ignored.

use std::ops::Range;

use simd_json::StaticNode;
use simd_json::tape::Node;

use crate::input::json::{
    BadNode, JsonError, TapeParser, array_elements, kind, line_column, locate_syntax_error,
    object_entries,
};

/// One log event of the API output. Strings borrow from the parsed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLogEvent<'a> {
    /// `logStreamName` (`filter-log-events` only).
    pub log_stream: Option<&'a str>,
    /// `eventId` (`filter-log-events` only): the same id a subscription delivers.
    pub event_id: Option<&'a str>,
    /// `timestamp`: the log event's time, epoch milliseconds.
    pub timestamp: i64,
    /// `ingestionTime`: when CloudWatch Logs received it, epoch milliseconds.
    pub ingestion_time: Option<i64>,
    /// `message`: the audit line(s), JSON-unescaped.
    pub message: &'a str,
}

/// Why API output could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogsApiError {
    /// Not usable JSON.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// Not JSON: where it goes wrong (from the start of the input, whatever page) and how.
    #[error("invalid JSON at line {line}, column {column} (byte {offset}): {msg}")]
    Syntax {
        /// Byte offset of the fault in the input (UTF-8, after a byte order mark).
        offset: usize,
        /// Its 1-based line.
        line: usize,
        /// Its 1-based column, in characters.
        column: usize,
        /// What is wrong there.
        msg: String,
    },
    /// A page (by its 0-based position in the input) has no `events` array.
    #[error("page {page}: `events` should be an array, found {found}")]
    Events {
        /// Which back-to-back object.
        page: usize,
        /// What stood there (`missing` if absent).
        found: &'static str,
    },
    /// An event lacks a field or has the wrong type.
    #[error("page {page}: events[{index}].{field} should be {expected}, found {found}")]
    BadEvent {
        /// Which back-to-back object.
        page: usize,
        /// Index in `events`.
        index: usize,
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
        /// What it is (`missing` if absent).
        found: &'static str,
    },
    /// The simd-json tape was not shaped as documented (defensive).
    #[error("internal error: malformed simd-json tape at node {0}")]
    Tape(usize),
}

impl From<BadNode> for LogsApiError {
    fn from(BadNode(at): BadNode) -> Self {
        Self::Tape(at)
    }
}

/// Reusable parser for API output (simd-json scratch kept across calls).
#[derive(Debug, Default)]
pub struct LogsApiParser {
    json: TapeParser,
    pieces: Vec<Range<usize>>,
}

impl LogsApiParser {
    /// A parser with empty buffers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every event of every page of `text` (one or more back-to-back JSON objects), in
    /// order. Each page is parsed from a copy, so `text` is left as it is.
    ///
    /// # Errors
    /// [`LogsApiError`] for invalid JSON, a page without `events`, or a malformed event.
    pub fn parse<'a>(
        &mut self,
        text: &[u8],
        scratch: &'a mut Vec<u8>,
    ) -> Result<Vec<ApiLogEvent<'a>>, LogsApiError> {
        if !crate::input::envelope::split_objects(text, &mut self.pieces) {
            self.pieces.clear();
            self.pieces.push(0..text.len());
        }
        // All pages into one padded buffer, back to back, so events can borrow from it.
        scratch.clear();
        let mut ranges = Vec::with_capacity(self.pieces.len());
        for piece in &self.pieces {
            let start = scratch.len();
            scratch.extend_from_slice(text.get(piece.clone()).unwrap_or_default());
            ranges.push(start..scratch.len());
            scratch.extend_from_slice(&[b' '; crate::input::json::PADDING]);
        }
        let mut events = Vec::new();
        let mut rest: &'a mut [u8] = scratch.as_mut_slice();
        let mut consumed = 0;
        for (page, (range, piece)) in ranges.into_iter().zip(&self.pieces).enumerate() {
            let (_, tail) = rest
                .split_at_mut_checked(range.start - consumed)
                .ok_or(LogsApiError::Tape(0))?;
            let (this, tail) = tail
                .split_at_mut_checked(range.len() + crate::input::json::PADDING)
                .ok_or(LogsApiError::Tape(0))?;
            rest = tail;
            consumed = range.end + crate::input::json::PADDING;
            self.json
                .parse_padded(
                    this,
                    range.len(),
                    crate::input::json::MAX_EVENT_VALUES,
                    |tape| page_events(tape, page, &mut events),
                )
                .map_err(|e| located(e, text, piece.clone()))?;
        }
        Ok(events)
    }
}

/// A syntax error of the page at `piece` of `text`, told where it is in `text` (see
/// [`locate_syntax_error`]); any other error as it is.
#[cold]
fn located(error: LogsApiError, text: &[u8], piece: Range<usize>) -> LogsApiError {
    let LogsApiError::Json(JsonError::Invalid { .. }) = error else {
        return error;
    };
    let page = text.get(piece.clone()).unwrap_or_default();
    let Some((at, msg)) = locate_syntax_error(page) else {
        return error;
    };
    let offset = piece.start + at;
    let (line, column) = line_column(text, offset);
    LogsApiError::Syntax {
        offset,
        line,
        column,
        msg,
    }
}

fn page_events<'a>(
    tape: &[Node<'a>],
    page: usize,
    out: &mut Vec<ApiLogEvent<'a>>,
) -> Result<(), LogsApiError> {
    let events_at = match tape.first() {
        Some(Node::Object { .. }) => object_entries(tape, 0)?
            .map_while(Result::ok)
            .filter(|(k, _)| *k == "events")
            .map(|(_, v)| v)
            .last(),
        _ => None,
    };
    let events_at = match events_at.map(|at| (at, tape.get(at))) {
        Some((at, Some(Node::Array { .. }))) => at,
        Some((_, other)) => {
            return Err(LogsApiError::Events {
                page,
                found: other.map_or("nothing", kind),
            });
        }
        None => {
            return Err(LogsApiError::Events {
                page,
                found: "missing",
            });
        }
    };
    for (index, el) in array_elements(tape, events_at)?.enumerate() {
        out.push(event(tape, el?, page, index)?);
    }
    Ok(())
}

fn event<'a>(
    tape: &[Node<'a>],
    at: usize,
    page: usize,
    index: usize,
) -> Result<ApiLogEvent<'a>, LogsApiError> {
    let bad = |field, expected, found| LogsApiError::BadEvent {
        page,
        index,
        field,
        expected,
        found,
    };
    match tape.get(at) {
        Some(Node::Object { .. }) => {}
        other => return Err(bad("", "an object", other.map_or("nothing", kind))),
    }
    let (mut log_stream, mut event_id, mut timestamp, mut ingestion_time, mut message) =
        (None, None, None, None, None);
    for entry in object_entries(tape, at)? {
        let (key, v) = entry?;
        let node = tape.get(v).ok_or(LogsApiError::Tape(v))?;
        match key {
            "logStreamName" => log_stream = string(node),
            "eventId" => event_id = string(node),
            "message" => {
                message = Some(string(node).ok_or_else(|| bad("message", "a string", kind(node)))?)
            }
            "timestamp" => {
                timestamp =
                    Some(integer(node).ok_or_else(|| bad("timestamp", "an integer", kind(node)))?);
            }
            "ingestionTime" => ingestion_time = integer(node),
            _ => {}
        }
    }
    Ok(ApiLogEvent {
        log_stream,
        event_id,
        timestamp: timestamp.ok_or_else(|| bad("timestamp", "an integer", "missing"))?,
        ingestion_time,
        message: message.ok_or_else(|| bad("message", "a string", "missing"))?,
    })
}

fn string<'a>(node: &Node<'a>) -> Option<&'a str> {
    match node {
        Node::String(s) => Some(s),
        _ => None,
    }
}

fn integer(node: &Node<'_>) -> Option<i64> {
    match node {
        Node::Static(StaticNode::I64(v)) => Some(*v),
        Node::Static(StaticNode::U64(v)) => i64::try_from(*v).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILTER: &str = r#"{
    "events": [
        {
            "logStreamName": "db1",
            "timestamp": 1714564800123,
            "message": "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT \"x\"',0",
            "ingestionTime": 1714564800456,
            "eventId": "37605431982366218745392619003296741302869208427839209472"
        }
    ],
    "searchedLogStreams": [{"logStreamName": "db1", "searchedCompletely": true}],
    "nextToken": "Bxkq6kVGFtq2y_MoigeqscPOdhXVbhiVtLoAmXb5jCqy"
}"#;

    const GET: &str = r#"{"events":[{"timestamp":1714564801000,"message":"a","ingestionTime":1714564801001},{"timestamp":1714564802000,"message":"b"}],"nextForwardToken":"f/1","nextBackwardToken":"b/1"}"#;

    #[test]
    fn filter_and_get_log_events_pages_are_read_in_order() {
        let text = format!("{FILTER}\n{GET}\n");
        let mut scratch = Vec::new();
        let events = LogsApiParser::new()
            .parse(text.as_bytes(), &mut scratch)
            .unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[0],
            ApiLogEvent {
                log_stream: Some("db1"),
                event_id: Some("37605431982366218745392619003296741302869208427839209472"),
                timestamp: 1_714_564_800_123,
                ingestion_time: Some(1_714_564_800_456),
                message: "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT \"x\"',0",
            }
        );
        assert_eq!((events[1].message, events[1].log_stream), ("a", None));
        assert_eq!((events[2].message, events[2].ingestion_time), ("b", None));
    }

    #[test]
    fn errors_name_the_page_the_event_and_the_field() {
        let text = format!(r#"{GET}{{"events":[{{"timestamp":1}}]}}"#);
        let e = LogsApiParser::new()
            .parse(text.as_bytes(), &mut Vec::new())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "page 1: events[0].message should be a string, found missing"
        );
        let e = LogsApiParser::new()
            .parse(br#"{"nextToken":"x"}"#, &mut Vec::new())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "page 0: `events` should be an array, found missing"
        );
    }
}
