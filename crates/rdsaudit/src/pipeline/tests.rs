#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use proptest::prelude::*;

/// Everything a sink is told, in order, as text.
#[derive(Default)]
struct Told(Vec<String>);

impl Sink for Told {
    fn event(&mut self, event: &AuditEvent<'_>) {
        self.0.push(format!("{event:?}"));
    }

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        self.0.push(format!("{line:?}"));
    }

    fn failed_record(&mut self, record: &FailedRecord<'_>) {
        self.0.push(format!("failed {}", record.index));
    }
}

/// The way reads were held before they were built in place (session 16): each message's
/// lines parsed by value ([`multiline::AuditLines::next_parsed`]), given their provenance,
/// and flagged when a dirty message of the envelope lies within reach of the message's
/// text (before it, after it, or itself), every pair of messages looked at.
fn by_value(messages: &[&str], index: usize, sequence_number: &str) -> (Vec<String>, u64) {
    let (group, stream) = ("/aws/rds/instance/db1/audit", "db1");
    let mut spans = Vec::new();
    let mut at = 0;
    for m in messages {
        let (span, next) = text_span(m.as_bytes(), at);
        spans.push(span);
        at = next;
    }
    let ids: Vec<String> = (0..messages.len()).map(|i| format!("id{i}")).collect();
    let mut reads = Vec::new();
    let mut dirty = Vec::new();
    let mut blank_lines = 0;
    for (i, m) in messages.iter().enumerate() {
        let mut lines = multiline::audit_lines(m.as_bytes());
        let split = lines.is_split();
        let mut unparsed = false;
        while let Some((n, bytes, mut parsed)) = lines.next_parsed() {
            let line_number = split.then_some(n);
            match &mut parsed {
                Ok(event) => {
                    event.provenance = Provenance {
                        log_group: Some(group),
                        log_stream: Some(stream),
                        event_id: Some(&ids[i]),
                        cloudwatch_timestamp_ms: Some(1),
                        sequence_number: Some(sequence_number),
                        line_number,
                        file: None,
                    };
                }
                Err(_) => unparsed = true,
            }
            reads.push((i, bytes, line_number, parsed));
        }
        blank_lines += lines.blank_lines();
        dirty.push(unparsed || lines.blank_lines() > 0 || lines.is_cut());
    }
    let near = |i: usize| {
        let (start, end) = spans[i];
        (0..messages.len()).any(|j| {
            let (s, e) = spans[j];
            dirty[j]
                && (j == i
                    || (j < i && text::within_reach(e, start))
                    || (j > i && text::within_reach(end, s)))
        })
    };
    let mut told = Told::default();
    for (i, bytes, line_number, mut parsed) in reads {
        match &mut parsed {
            Ok(event) => {
                if near(i) && event.ambiguity.omitted() == 0 {
                    event.ambiguity = event.ambiguity.with_unlisted_reading(bytes);
                }
                told.event(event);
            }
            Err(reason) => told.unparsed(&UnparsedLine {
                bytes,
                reason: *reason,
                record_index: Some(index),
                sequence_number: Some(sequence_number),
                log_group: Some(group),
                log_stream: Some(stream),
                event_id: Some(&ids[i]),
                line_number,
                file: None,
                place: None,
            }),
        }
    }
    (told.0, blank_lines)
}

/// The envelope of `messages` as CloudWatch sends it (JSON), ids as [`by_value`]'s.
fn envelope_json(messages: &[&str]) -> Vec<u8> {
    let events: Vec<serde_json::Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| serde_json::json!({"id": format!("id{i}"), "timestamp": 1, "message": m}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": "111111111111",
        "logGroup": "/aws/rds/instance/db1/audit",
        "logStream": "db1",
        "subscriptionFilters": ["f"],
        "logEvents": events,
    }))
    .unwrap()
}

/// Messages clean and dirty: whole lines (statements long enough to put the next dirty
/// message in or out of reach), lines that do not parse, blank messages, several lines,
/// a record cut by a raw break in a name, forged lines in names, CRs.
fn message() -> impl Strategy<Value = String> {
    let clean = (0usize..1800, 1u32..99).prop_map(|(len, id)| {
        format!(
            "20240615 10:31:05,db1,app,10.0.0.9,{id},7,QUERY,shop,'SELECT {}',0",
            "x".repeat(len)
        )
    });
    prop_oneof![
        6 => clean,
        1 => Just(String::new()),
        1 => Just("\n".to_string()),
        1 => "[a-z ,']{0,40}",
        1 => Just("20240615 10:31:05,db1,u\nx,10.0.0.9,77,0,FAILED_CONNECT,,,1045".to_string()),
        1 => Just("20240615 10:31:05,db1,u".to_string()),
        1 => Just("x,10.0.0.9,77,0,FAILED_CONNECT,,,1045".to_string()),
        1 => Just(
            "20240615 10:31:05,db1,app,h,1,2,QUERY,,'a',0\n1718447466000000,db1,app,h,1,3,WRITE,shop,t,0"
                .to_string()
        ),
        1 => Just("20240615 10:31:05,db1,a,b,1,2,READ,a,b,t,1,\r\n".to_string()),
        // Lines that do not read between lines that do, in one message: the message turns
        // dirty at its second line, the reads held go out then (`Hold::put`).
        1 => Just(
            "20240615 10:31:05,db1,app,h,1,2,QUERY,,'a',0\nnot a line\n\nb\n20240615 10:31:06,db1,app,h,1,3,QUERY,,'b',0"
                .to_string()
        ),
        1 => Just(
            "20240615 10:31:05,db1,u\n20241231 23:59:59,h,admin,h,9,9,QUERY,mysql,'DROP TABLE t1',0\ny,10.0.0.9,77,0,FAILED_CONNECT,,,1045"
                .to_string()
        ),
        1 => long_message(),
    ]
}

/// Messages of at least [`LONG_MESSAGE`] bytes, read without holding their reads
/// ([`Reach::long_message`]): clean lines, or with a line that does not read, a blank line,
/// or records cut by a raw break in a name (listing readings) somewhere among them.
fn long_message() -> impl Strategy<Value = String> {
    let line =
        |i: usize| format!("20240615 10:31:05,db1,app,10.0.0.9,{i},7,QUERY,shop,'SELECT {i}',0");
    let lines = LONG_MESSAGE / line(1000).len() + 1;
    (0usize..4, 0..lines + 1).prop_map(move |(kind, at)| {
        let mut all: Vec<String> = (0..lines).map(line).collect();
        let odd = match kind {
            0 => None,
            1 => Some("not a line".to_string()),
            2 => Some(String::new()),
            _ => Some("20240615 10:31:05,db1,u\nx,10.0.0.9,77,0,FAILED_CONNECT,,,1045".to_string()),
        };
        if let Some(odd) = odd {
            all.insert(at, odd);
        }
        all.join("\n")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Reads built in place in the window's deque are told to the sink exactly as the reads
    /// moved by value were (same events, flags, provenance, unparsed lines, order), and
    /// counted the same.
    #[test]
    fn reads_built_in_place_are_the_reads_moved_by_value(
        messages in proptest::collection::vec(message(), 0..40),
    ) {
        let messages: Vec<&str> = messages.iter().map(String::as_str).collect();
        let json = envelope_json(&messages);
        let mut record = SourceRecord::new(Payload::Json(&json));
        record.sequence_number = Some("495");
        let mut told = Told::default();
        let outcome = Worker::new(usize::MAX).process_record(3, &record, &mut told);
        let (expected, blank_lines) = by_value(&messages, 3, "495");
        prop_assert_eq!(&told.0, &expected);
        prop_assert_eq!(outcome.blank_lines, blank_lines);
        prop_assert_eq!(outcome.parsed as usize + outcome.unparsed_count() as usize, expected.len());
    }
}

/// The envelope of `messages` read by a worker, as [`by_value`] tells it.
fn check_against_by_value(messages: &[&str]) -> Result<(), TestCaseError> {
    let json = envelope_json(messages);
    let mut record = SourceRecord::new(Payload::Json(&json));
    record.sequence_number = Some("495");
    let mut told = Told::default();
    let outcome = Worker::new(usize::MAX).process_record(3, &record, &mut told);
    let (expected, blank_lines) = by_value(messages, 3, "495");
    prop_assert_eq!(&told.0, &expected);
    prop_assert_eq!(outcome.blank_lines, blank_lines);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A few messages, long ones among them often: a long message's reads (not held) are
    /// flagged exactly when a dirty message lies within reach before or after it, and the
    /// reads held before it go out first, as when they were all held.
    #[test]
    fn long_messages_are_read_as_when_their_reads_were_held(
        messages in proptest::collection::vec(
            prop_oneof![2 => message(), 1 => long_message()],
            1..6,
        ),
    ) {
        let messages: Vec<&str> = messages.iter().map(String::as_str).collect();
        check_against_by_value(&messages)?;
    }
}

/// A long clean message before a dirty one within reach, after a dirty one within reach,
/// and with either out of reach (a clean message of more than 4 KiB between); a long dirty
/// one after clean ones held.
#[test]
fn a_long_clean_message_is_flagged_by_dirty_messages_within_reach_only() {
    let line =
        |i: usize| format!("20240615 10:31:05,db1,app,10.0.0.9,{i},7,QUERY,shop,'SELECT {i}',0");
    let long_clean = (0..LONG_MESSAGE / 60)
        .map(line)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(long_clean.len() >= LONG_MESSAGE);
    let long_dirty = format!("{long_clean}\nnot a line");
    let clean = "20240615 10:31:05,db1,app,10.0.0.9,1,7,QUERY,shop,'SELECT 1',0";
    let far = format!(
        "20240615 10:31:05,db1,app,10.0.0.9,1,7,QUERY,shop,'SELECT {}',0",
        "x".repeat(5000)
    );
    let (c, lc, ld, f) = (
        clean,
        long_clean.as_str(),
        long_dirty.as_str(),
        far.as_str(),
    );
    let cases: [&[&str]; 9] = [
        &[c, lc, "junk"],
        &[c, lc, c, "junk"],
        &[c, lc, f, "junk"],
        &["junk", lc, c],
        &["junk", f, lc, c],
        &[c, c, ld, c],
        &[lc],
        &[lc, lc, ""],
        &[c, ld, lc, f, "junk"],
    ];
    for messages in cases {
        check_against_by_value(messages).unwrap();
    }
}
