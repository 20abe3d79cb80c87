//! Memory does not grow with the number of lines that do not read (session 30's review, F2
//! addendum: one CloudWatch log event whose message held 500,000 one-byte lines between two
//! audit lines peaked at 213 MB in `parse`, ~430 bytes held per unparsed line until the
//! message ended; a 16 MiB record holds ~8 M such lines).
//!
//! Nor with the number of audit lines of a message that reads (session 31's adversary B,
//! F1: one message of 400,000 clean lines held 400,000 reads of ~430 bytes until it ended,
//! for the window rule; 10 messages of 15,000 records whose user names end in a raw break,
//! each event listing its readings, peaked at 1 GB in `parse`).
//!
//! The heap is measured by a counting allocator (this test binary's own), not by the
//! process's resident size: nothing here depends on the load of the machine. One test only,
//! so that no other test allocates while it measures.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use rdsaudit::input::{Payload, SourceRecord};
use rdsaudit::pipeline::Pipeline;
use rdsaudit::sink::{FailedRecord, Sink, UnparsedLine};
use rdsaudit::{AuditEvent, Decoder};

/// The system allocator, with the bytes allocated now and the most allocated at once.
struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = NOW.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed on to `System` unchanged; only counters are kept beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as the new block before the old one goes: a copy holds both.
        grew(new_size);
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result and the most bytes it had allocated at once beyond what
/// was allocated when it started.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = NOW.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// Counts what it is told, keeps nothing; checks the unparsed lines come in order, each
/// with its line within the message and its bytes.
#[derive(Default)]
struct Counted {
    events: u64,
    unparsed: u64,
    next_line: u64,
    failed: u64,
}

impl Sink for Counted {
    fn event(&mut self, _: &AuditEvent<'_>) {
        self.events += 1;
    }

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        // Line 1 of the message is the first audit line: the junk is lines 2, 3, ...
        let expected = self.next_line.max(2);
        assert_eq!(
            line.line_number,
            Some(expected),
            "in order, each with its line"
        );
        assert_eq!(line.bytes, b"a");
        assert_eq!(line.event_id, Some("1"));
        self.next_line = expected + 1;
        self.unparsed += 1;
    }

    fn failed_record(&mut self, _: &FailedRecord<'_>) {
        self.failed += 1;
    }
}

const AUDIT: &str = "20240615 10:31:05,db1,app,10.0.0.9,7,2,QUERY,shop,'SELECT 1',0";
const JUNK_LINES: u64 = 200_000;

/// A CloudWatch payload of one log event: an audit line, `JUNK_LINES` lines `a`, an audit
/// line (session 30's `ev_onemsg.json`, smaller).
fn payload() -> Vec<u8> {
    let mut message = String::from(AUDIT);
    for _ in 0..JUNK_LINES {
        message.push_str("\\na");
    }
    message.push_str("\\n");
    message.push_str(AUDIT);
    format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/rds/instance/db1/audit","logStream":"db1","subscriptionFilters":["f"],"logEvents":[{{"id":"1","timestamp":1,"message":"{message}"}}]}}"#
    )
    .into_bytes()
}

/// 200,000 lines that do not read in one message: every one reaches the sink (in order, with
/// its line and bytes), counted, and the heap never holds more than a few MB more than the
/// input (before: ~430 bytes a line held until the message ended, 100+ MB here). Through the
/// pipeline (the Lambda's door) and through the decoder (`parse`'s, a payload file).
#[test]
fn unparsed_lines_are_not_held_until_their_message_ends() {
    // Far above what is held now (a window of reads, the sink's counts), far below 200,000
    // reads of a few hundred bytes.
    const BOUND: usize = 16 << 20;
    let json = payload();
    let pipeline = Pipeline::new();
    // Once before measuring: the worker's buffers (the payload's copy) are made here.
    let records = [SourceRecord::new(Payload::Json(&json))];
    let _ = pipeline.process(&records, 0, false, Counted::default);

    let (done, peak) = peak_of(|| pipeline.process(&records, 0, false, Counted::default));
    let (outcome, sink) = &done[0];
    assert_eq!(
        (sink.events, sink.unparsed, sink.failed),
        (2, JUNK_LINES, 0)
    );
    assert_eq!((outcome.parsed, outcome.unparsed_count()), (2, JUNK_LINES));
    assert!(
        peak < BOUND,
        "pipeline: {peak} bytes at once for {JUNK_LINES} unparsed lines"
    );

    let (report, peak) = peak_of(|| {
        let mut sink = Counted::default();
        let report = Decoder::new().decode(&json, &mut sink).unwrap();
        assert_eq!((sink.events, sink.unparsed), (2, JUNK_LINES));
        report
    });
    assert!(report.is_balanced());
    assert_eq!(
        (report.parsed_events, report.unparsed_events),
        (2, JUNK_LINES)
    );
    // The decoder copies the input once (its own buffers): allowed for.
    let allowed = BOUND + 2 * json.len();
    assert!(
        peak < allowed,
        "decoder: {peak} bytes at once for {JUNK_LINES} unparsed lines"
    );

    // In the same test: another would allocate while this one measures.
    reads_of_a_long_message_are_not_held_until_it_ends();
}

/// Counts events and those flagged; keeps nothing.
#[derive(Default)]
struct Tally {
    events: u64,
    flagged: u64,
    other: u64,
}

impl Sink for Tally {
    fn event(&mut self, e: &AuditEvent<'_>) {
        self.events += 1;
        self.flagged += u64::from(e.ambiguity.is_ambiguous());
    }

    fn unparsed(&mut self, _: &UnparsedLine<'_>) {
        self.other += 1;
    }

    fn failed_record(&mut self, _: &FailedRecord<'_>) {
        self.other += 1;
    }
}

/// A CloudWatch payload of one log event of `lines` audit lines whose user is `user`.
fn payload_of_lines(lines: u64, user: &str) -> Vec<u8> {
    let message: Vec<String> = (0..lines)
        .map(|i| format!("20240615 10:31:05,db1,{user},10.0.0.9,{i},7,QUERY,shop,'SELECT {i}',0"))
        .collect();
    let message = message.join("\\n");
    format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/rds/instance/db1/audit","logStream":"db1","subscriptionFilters":["f"],"logEvents":[{{"id":"1","timestamp":1,"message":"{message}"}},{{"id":"2","timestamp":1,"message":"x"}}]}}"#
    )
    .into_bytes()
}

/// One message of 100,000 audit lines that read, and one of 20,000 records whose user name
/// ends in a raw line break (each event flagged, listing its readings), each followed by a
/// line that does not read (which flags the clean one's events, the whole message being
/// within its reach: known before they are read, `Reach::long_message`): every event
/// reaches the sink, flagged as before, and the heap holds a few MB beyond the payload
/// (before: ~430 bytes a read held until the message ended, and the readings listed: 60+
/// MB for each).
fn reads_of_a_long_message_are_not_held_until_it_ends() {
    const BOUND: usize = 16 << 20;
    for (lines, user) in [(100_000, "app"), (20_000, "u\\n")] {
        let json = payload_of_lines(lines, user);
        let pipeline = Pipeline::new();
        let records = [SourceRecord::new(Payload::Json(&json))];
        let _ = pipeline.process(&records, 0, false, Tally::default);
        let (done, peak) = peak_of(|| pipeline.process(&records, 0, false, Tally::default));
        let (outcome, sink) = &done[0];
        assert_eq!((sink.events, sink.flagged, sink.other), (lines, lines, 1));
        assert_eq!((outcome.parsed, outcome.unparsed_count()), (lines, 1));
        assert!(
            peak < BOUND,
            "{peak} bytes at once for a message of {lines} lines (user {user:?})"
        );
    }
}
