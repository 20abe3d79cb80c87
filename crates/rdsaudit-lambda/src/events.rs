//! Your own code in the function: an [`EventHandler`] receives the decoded events, typed and
//! borrowed, and says which it failed to handle; the crate turns that into
//! `batchItemFailures`, quarantine and the summary line.
//!
//! ```no_run
//! use rdsaudit_lambda::{Event, EventHandler, Operation};
//!
//! struct PrintWrites;
//!
//! impl EventHandler for PrintWrites {
//!     async fn handle(&self, events: &[Event<'_>]) -> Vec<usize> {
//!         for e in events.iter().filter(|e| e.event.operation == Operation::Write) {
//!             println!("{}.{} written by {}", e.event.database, e.event.object.text(), e.event.username);
//!         }
//!         Vec::new() // nothing failed
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), rdsaudit_lambda::Error> {
//!     rdsaudit_lambda::run_handler(PrintWrites).await
//! }
//! ```
//!
//! ## Delivery contract (at least once)
//!
//! Events come in input order, in slices bounded by memory (a slice is never larger than a
//! few MB of events, so a 10,000-record batch arrives in several calls). When the handler
//! returns positions, the crate takes the lowest one, reports the Kinesis record holding that
//! event in `batchItemFailures` and hands over nothing after it: Lambda retries from that
//! record, so the handler sees that event again, and possibly events it already handled
//! (those of the same record before it, and the rest of the slice). De-duplicate on
//! [`Event::dedup_id`] (the CloudWatch Logs event id and the index of the event among the
//! events read from that log event's message, 0 for the first; lines that do not parse are
//! not counted), which is the same on every retry.

use std::future::Future;
use std::ops::Range;

use rdsaudit::{Ambiguity, AuditEvent, Extra, Name, Object, Operation, Provenance, Timestamp};

/// One decoded event, with where it came from.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The audit event, typed (`operation`, `database`, `object`, `retcode`, ...).
    pub event: AuditEvent<'a>,
    /// 0-based index of the Kinesis record (in the invocation's `Records`) holding it.
    pub record: usize,
    /// `kinesis.sequenceNumber` of that record (`None` for a direct CloudWatch Logs event).
    pub sequence_number: Option<&'a str>,
    /// The de-duplication key: CloudWatch Logs event id, `-`, the 0-based index of this event
    /// among the events read from that log event (unparsed lines not counted:
    /// `37305369863776743677097329427460282368186004283442544640-0`). For a log event with an
    /// empty id: `record-<sequence number>-event-<n>`, `n` the event's 0-based
    /// index among the record's events, or `record-sha256-<hex>-event-<n>` (of the record's
    /// data) without a sequence number. An id that is not all digits (CloudWatch writes
    /// decimal ids) is written `id-<escaped id>-<n>`, every byte outside `A-Z a-z 0-9 .` as
    /// `_` and two hex digits, so that no id spells another log event's key.
    pub dedup_id: &'a str,
}

/// Your code: called with the events of each slice of a batch, in order.
pub trait EventHandler {
    /// Handles `events`; returns the positions (indexes into `events`) it failed to handle,
    /// or an empty `Vec` when all went well. See the module docs for what happens next.
    fn handle(&self, events: &[Event<'_>]) -> impl Future<Output = Vec<usize>>;
}

/// An event's fields copied into a slice's buffer, so [`Event`]s can borrow from it after the
/// record's own buffers are reused.
#[derive(Debug, Clone)]
pub(crate) struct Stashed {
    timestamp: Timestamp,
    serverhost: Range<usize>,
    username: Range<usize>,
    host: Range<usize>,
    connection_id: u64,
    query_id: u64,
    operation: Range<usize>,
    database: Range<usize>,
    object: Range<usize>,
    object_quoted: bool,
    retcode: Option<i64>,
    extra: Option<Range<usize>>,
    log_group: Option<Range<usize>>,
    log_stream: Option<Range<usize>>,
    event_id: Option<Range<usize>>,
    cloudwatch_timestamp_ms: Option<i64>,
    /// The ambiguity, with the bytes its readings are read from.
    ambiguity: (Ambiguity<'static>, Range<usize>),
}

fn put(text: &mut Vec<u8>, bytes: &[u8]) -> Range<usize> {
    let start = text.len();
    text.extend_from_slice(bytes);
    start..text.len()
}

impl Stashed {
    /// Copies `e`'s fields to the end of `text`.
    pub(crate) fn new(e: &AuditEvent<'_>, text: &mut Vec<u8>) -> Self {
        let p = &e.provenance;
        Stashed {
            timestamp: e.timestamp,
            serverhost: put(text, e.serverhost.as_bytes()),
            username: put(text, e.username.as_bytes()),
            host: put(text, e.host.as_bytes()),
            connection_id: e.connection_id,
            query_id: e.query_id,
            operation: put(text, e.operation.as_str().as_bytes()),
            database: put(text, e.database.as_bytes()),
            object: put(text, e.object.raw()),
            object_quoted: e.object.is_quoted(),
            retcode: e.retcode,
            extra: e.extra.raw().map(|x| put(text, x)),
            log_group: p.log_group.map(|x| put(text, x.as_bytes())),
            log_stream: p.log_stream.map(|x| put(text, x.as_bytes())),
            event_id: p.event_id.map(|x| put(text, x.as_bytes())),
            cloudwatch_timestamp_ms: p.cloudwatch_timestamp_ms,
            ambiguity: (e.ambiguity.rebased(&[]), put(text, e.ambiguity.record())),
        }
    }

    /// The event again, borrowing from `text` (the buffer [`Stashed::new`] wrote to).
    pub(crate) fn event<'t>(
        &self,
        text: &'t [u8],
        sequence_number: Option<&'t str>,
    ) -> AuditEvent<'t> {
        let bytes = |r: &Range<usize>| text.get(r.clone()).unwrap_or_default();
        // Every string field was copied from a `str`, so it is still UTF-8; a name keeps its
        // bytes, UTF-8 or not, and is checked again.
        let s = |r: &Range<usize>| std::str::from_utf8(bytes(r)).unwrap_or_default();
        let name = |r: &Range<usize>| Name::new(bytes(r));
        AuditEvent {
            timestamp: self.timestamp,
            serverhost: name(&self.serverhost),
            username: name(&self.username),
            host: name(&self.host),
            connection_id: self.connection_id,
            query_id: self.query_id,
            operation: Operation::from_token(s(&self.operation)),
            database: name(&self.database),
            object: Object::new(bytes(&self.object), self.object_quoted),
            retcode: self.retcode,
            extra: Extra::new(self.extra.as_ref().map(bytes)),
            provenance: Provenance {
                log_group: self.log_group.as_ref().map(s),
                log_stream: self.log_stream.as_ref().map(s),
                event_id: self.event_id.as_ref().map(s),
                cloudwatch_timestamp_ms: self.cloudwatch_timestamp_ms,
                sequence_number,
                file: None,
                line_number: None,
            },
            ambiguity: self.ambiguity.0.rebased(bytes(&self.ambiguity.1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stashed_event_comes_back_equal() {
        let lines: [&[u8]; 4] = [
            br"20240323 13:36:08,ip-172-17-4-137,rdsadmin,localhost,4,149868,QUERY,,'INSERT INTO t VALUES (\'a,b\', 1)',0,,",
            b"1653053459680124,c731-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0",
            b"20240323 13:36:09,h,u,l,5,0,CONNECT,shop,,0,SSL",
            // Names that are not UTF-8 keep their bytes.
            b"20240323 13:36:09,h\xfe,u\xff,l,5,0,CONNECT,d\xfd,,0,SSL",
        ];
        let mut text = Vec::new();
        let mut stashed = Vec::new();
        let mut originals = Vec::new();
        for line in lines {
            let mut e = rdsaudit::parse_line(line).unwrap();
            e.provenance.log_group = Some("/aws/rds/instance/db1/audit");
            e.provenance.event_id = Some("3758376827739062468726826713424089744591843451231");
            e.provenance.cloudwatch_timestamp_ms = Some(1_711_200_969_000);
            e.provenance.sequence_number = Some("49630");
            stashed.push(Stashed::new(&e, &mut text));
            originals.push(e);
        }
        for (s, e) in stashed.iter().zip(&originals) {
            assert_eq!(&s.event(&text, Some("49630")), e);
        }
    }
}
