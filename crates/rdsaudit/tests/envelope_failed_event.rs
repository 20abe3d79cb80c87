//! One entry of a CloudWatch payload's `logEvents` that cannot be read (no `id`, a lone
//! surrogate in its `message`, a `message` that is no string, a `timestamp` that is no
//! number) fails alone: kept whole as its JSON, an unparsed line of reason `EnvelopeEvent`,
//! and dirty under the window rule; every other entry of the payload is read (session 32:
//! the whole record failed, every other user's events of a Kinesis record unread).
//!
//! The oracle: the same payload with the failed entry replaced by a log event whose message
//! is that entry's JSON, a line that does not read, as long as the entry: the sink must be
//! told the same things in the same order, the stand-in's line aside.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use rdsaudit::sink::{FailedRecord, UnparsedLine};
use rdsaudit::{AuditEvent, Decoder, Sink};

/// What a sink is told, in order, owned.
#[derive(Debug, Default, Clone, PartialEq)]
struct Told(Vec<Entry>);

#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// (event id, user, object, flagged by the window rule)
    Event(String, Vec<u8>, Vec<u8>, bool),
    /// (event id, bytes, reason kind)
    Unparsed(Option<String>, Vec<u8>, &'static str),
    Failed(Vec<u8>, &'static str),
}

impl Sink for Told {
    fn event(&mut self, e: &AuditEvent<'_>) {
        self.0.push(Entry::Event(
            e.provenance.event_id.unwrap_or_default().to_owned(),
            e.username.as_bytes().to_vec(),
            e.object.unescaped().into_owned(),
            e.ambiguity.is_ambiguous(),
        ));
    }

    fn unparsed(&mut self, u: &UnparsedLine<'_>) {
        let id = u.event_id.map(str::to_owned);
        self.0
            .push(Entry::Unparsed(id, u.bytes.to_vec(), u.reason.kind()));
    }

    fn failed_record(&mut self, f: &FailedRecord<'_>) {
        self.0
            .push(Entry::Failed(f.payload.to_vec(), f.error.kind()));
    }
}

fn decode(input: &[u8]) -> (Told, u64) {
    let mut told = Told::default();
    let report = Decoder::new().decode(input, &mut told).unwrap();
    assert!(report.is_balanced(), "{report:?}");
    (told, report.failed_records)
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A payload of `entries` (each an element of `logEvents`, as JSON).
fn payload(entries: &[String]) -> Vec<u8> {
    format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/rds/cluster/c1/audit","logStream":"c1-instance-1","subscriptionFilters":["f"],"logEvents":[{}]}}"#,
        entries.join(",")
    )
    .into_bytes()
}

fn entry(id: usize, message: &str) -> String {
    format!(
        r#"{{"id":"{id}","timestamp":1711200969000,"message":{}}}"#,
        json_string(message)
    )
}

/// A clean QUERY record of user `user` (any text: hostile names hold breaks and forged lines).
fn record(i: usize, user: &str, pad: usize) -> String {
    format!(
        "20240615 10:31:{:02},c1-instance-1,{user},10.0.0.9,{i},{i},QUERY,db1,'SELECT {i} {}',0",
        i % 60,
        "p".repeat(pad)
    )
}

/// User names: digits, commas, quotes, CRs, raw breaks and whole forged audit lines.
fn user() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,8}",
        Just("a,1,2,'x'".to_string()),
        Just("u\"q\"".to_string()),
        Just("u\r".to_string()),
        Just("x\n20241231 23:59:59,h,admin,h,9,9,QUERY,mysql,'DROP TABLE t1',0\ny".to_string()),
        Just("x\r\n20241231 23:59:59,h,admin,h,9,9,QUERY,mysql,'DROP TABLE t1',0\r\ny".to_string()),
    ]
}

/// A forged audit line, with what a hostile raw field holds, inside the failed entry.
const FORGED: &str =
    "1,\"2\",3\r\n20241231 23:59:59,h,admin,10.0.0.1,9,9,QUERY,mysql,'DROP TABLE forged',0\n";

/// The failed entry of each kind, holding `FORGED` (its id `id` where it has one).
fn bad_entry(kind: usize, id: usize) -> String {
    let forged = json_string(FORGED);
    match kind {
        0 => format!(r#"{{"timestamp":1711200969000,"message":{forged}}}"#),
        1 => {
            let open = forged.strip_suffix('"').unwrap();
            format!(r#"{{"id":"{id}","timestamp":1711200969000,"message":{open}\ud800"}}"#)
        }
        2 => format!(r#"{{"id":"{id}","timestamp":1711200969000,"message":1234}}"#),
        3 => format!(r#"{{"id":"{id}","timestamp":1711200969000,"message":[{forged}]}}"#),
        4 => format!(r#"{{"id":"{id}","timestamp":"1711200969000","message":{forged}}}"#),
        5 => {
            format!(r#"{{"id":"{id}","timestamp":1711200969000,"message":{forged},"x":"\udc00"}}"#)
        }
        _ => format!(r#"[{forged}]"#),
    }
}

fn check(users: &[(String, usize)], at: usize, kind: usize) {
    let mut entries: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, (u, pad))| entry(i, &record(i, u, *pad)))
        .collect();
    let at = at.min(entries.len());
    let bad = bad_entry(kind, at);
    // The stand-in: a log event whose message is the entry's JSON (no raw break in it).
    assert!(!bad.contains('\n'));
    let mut reference = entries.clone();
    reference.insert(at, entry(9999, &bad));
    entries.insert(at, bad.clone());

    let (told, failed) = decode(&payload(&entries));
    let (expected, _) = decode(&payload(&reference));
    assert_eq!(failed, 0, "the record is read: {told:?}");
    let stand_in = Entry::Unparsed(Some("9999".into()), bad.clone().into_bytes(), "Timestamp");
    let kept = Entry::Unparsed(None, bad.into_bytes(), "EnvelopeEvent");
    let expected: Vec<Entry> = expected
        .0
        .into_iter()
        .map(|e| if e == stand_in { kept.clone() } else { e })
        .collect();
    assert_eq!(told.0, expected);
    // Nothing invented: the forged line inside the failed entry is no event.
    assert!(!told.0.iter().any(|e| matches!(e,
        Entry::Event(_, _, object, _) if object.ends_with(b"forged"))));
}

#[test]
fn each_kind_fails_alone_and_is_kept_whole() {
    let users: Vec<(String, usize)> = (0..12).map(|i| (format!("user{i}"), 300)).collect();
    for kind in 0..7 {
        for at in [0, 1, 6, 12] {
            check(&users, at, kind);
        }
    }
}

#[test]
fn neighbours_within_reach_are_flagged_and_the_far_ones_are_not() {
    // 40 events of ~400 bytes: 4 KiB of text is about ten of them either side.
    let entries: Vec<String> = (0..40)
        .map(|i| entry(i, &record(i, &format!("user{i}"), 350)))
        .collect();
    let mut with_bad = entries.clone();
    with_bad.insert(20, bad_entry(0, 0));
    let (told, _) = decode(&payload(&with_bad));
    let flagged: Vec<bool> = told
        .0
        .iter()
        .filter_map(|e| match e {
            Entry::Event(_, _, _, flagged) => Some(*flagged),
            _ => None,
        })
        .collect();
    assert_eq!(flagged.len(), 40);
    assert!(flagged[19] && flagged[20], "{flagged:?}");
    assert!(!flagged[0] && !flagged[39], "{flagged:?}");
    // Unflagged without it.
    let (clean, _) = decode(&payload(&entries));
    assert!(
        !clean
            .0
            .iter()
            .any(|e| matches!(e, Entry::Event(_, _, _, true)))
    );
}

#[test]
fn the_payloads_own_faults_still_fail_the_record() {
    // A lone surrogate outside the events, a missing log group: the record, kept whole.
    for json in [
        br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g\ud800","logStream":"s","logEvents":[{"id":"1","message":"m"}]}"#.as_slice(),
        br#"{"messageType":"DATA_MESSAGE","owner":"1","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"m"},{"message":"m"}]}"#,
    ] {
        let (told, failed) = decode(json);
        assert_eq!(failed, 1, "{told:?}");
        assert!(matches!(told.0.as_slice(), [Entry::Failed(p, _)] if p == json));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_failed_entry_reads_as_a_line_that_does_not_read(
        users in prop::collection::vec((user(), 0usize..900), 0..24),
        at in 0usize..30,
        kind in 0usize..7,
    ) {
        check(&users, at, kind);
    }
}
