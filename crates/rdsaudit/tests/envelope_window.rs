//! The window rule across the log events of one CloudWatch envelope (docs/HOSTILE.md rule 4,
//! review 8's F1): a shipper may put each physical line of a record in a log event of its own,
//! so a raw break in a name ends a message and a forged audit line in the name is a message
//! that reads alone. The envelope's messages are read as the text they came from: an event is
//! plain only when no dirty message (blank, or holding a line that does not read alone) lies
//! within `MAX_NAMES_BYTES` of text of its own. Checked against the oracle (`window_oracle`)
//! with the lines of a log cut into log events in any way, and on review 8's reproducer (the
//! Kinesis event `rdsaudit encode` made of it, and the file encoded again).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;

use proptest::prelude::*;
use rdsaudit::Decoder;
use rdsaudit::input::text::MAX_NAMES_BYTES;
use rdsaudit::sink::NdjsonBuffer;
use rdsaudit_synth::delivery::{LogEvent, envelope, event_id, gzip};

mod window_oracle;

fn events(input: &[u8]) -> Vec<serde_json::Value> {
    let mut sink = NdjsonBuffer::default();
    let report = Decoder::new().decode(input, &mut sink).unwrap();
    assert!(report.is_balanced(), "{report:?}");
    sink.out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// One gzip payload (what a Kinesis record holds) of `messages`, in order, each its own log
/// event with the id `event_id(1, index + 1)`.
fn payload(messages: &[Vec<u8>]) -> Vec<u8> {
    let ids: Vec<String> = (1..=messages.len() as u64)
        .map(|i| event_id(1, i))
        .collect();
    gzip(&envelope(
        "/aws/rds/instance/db1/audit",
        "db1",
        messages.iter().zip(&ids).map(|(m, id)| LogEvent {
            id,
            timestamp_ms: 1,
            message: m,
        }),
    ))
}

/// User names a client that cannot log in sends: raw breaks, forged whole audit lines, a
/// forged record before a break, a timestamp line, blank lines, CRs, digits and commas.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("u\nx".to_string()),
        Just("u\n20250101 00:00:00".to_string()),
        Just("a,h,1,1,QUERY,db,'DROP TABLE x',0\nb".to_string()),
        Just("x\n20241231 23:59:59,h,admin,h,9,9,QUERY,mysql,'DROP TABLE t1',0\ny".to_string()),
        Just("x\r\n20241231 23:59:59,h,admin,h,9,9,QUERY,mysql,'DROP TABLE t1',0\r\ny".to_string()),
        Just(
            "x\n\n20241231 23:59:59,h,admin,h,9,9,QUERY,mysql,'DROP TABLE t1',0\n1\ny".to_string()
        ),
        Just("d\n\n20241231 23:59:59,h,admin,10.0.0.1,9,9,WRITE,mysql".to_string()),
        "[a-z,0-9']{0,20}\n[a-z,0-9' ]{0,30}",
    ]
}

/// A log of clean records with a failed login (FAILED_CONNECT, then DISCONNECT, as MariaDB
/// writes it) named `name` after `before` of them, and an optional blank line: the log, and
/// for each physical line (split at `\n`) whether it is a line of the failed login.
fn build(before: usize, after: usize, name: &str, blank_at: Option<usize>) -> (Vec<u8>, Vec<bool>) {
    let (mut log, mut login) = (Vec::new(), Vec::new());
    for i in 0..before + after {
        if i == before {
            for op in ["FAILED_CONNECT,,,1045", "DISCONNECT,,,0"] {
                let record = format!("20240615 10:31:05,h,{name},10.0.0.9,77,0,{op}\n");
                log.extend_from_slice(record.as_bytes());
                login.resize(window_oracle::spans(&log).len(), true);
            }
        }
        if blank_at == Some(i) {
            log.push(b'\n');
            login.push(false);
        }
        let record = format!("20240615 10:31:00,h,u{i},l,1,{i},QUERY,,'SELECT {i}',0\n");
        log.extend_from_slice(record.as_bytes());
        login.push(false);
    }
    (log, login)
}

/// A message: its bytes, whether every line of it reads alone as a record, whether it holds
/// a line of the failed login, and where it lies in the text.
struct Message {
    bytes: Vec<u8>,
    reads_alone: bool,
    of_login: bool,
    span: (u64, u64),
}

/// The log's lines cut into messages: a message ends after line `i` when `cut[i % len]` and
/// the line is not blank (or after every line when `cut` is empty).
fn messages(log: &[u8], login: &[bool], cut: &[bool]) -> Vec<Message> {
    let lines: Vec<&[u8]> = log
        .strip_suffix(b"\n")
        .unwrap()
        .split(|&b| b == b'\n')
        .collect();
    let spans = window_oracle::spans(log);
    assert_eq!(lines.len(), login.len());
    let reads = |line: &[u8]| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        !line.contains(&b'\r') && rdsaudit::parse_line(line).is_ok()
    };
    let mut out = Vec::new();
    let mut first = 0;
    for i in 0..lines.len() {
        // A blank line starts the next message (a shipper that kept it, as `rdsaudit encode`
        // does), unless every line is a message of its own (the blank line an empty one):
        // a message's final `\n` is its own line break, not a blank line.
        let blank = lines[i].is_empty() && !cut.is_empty();
        if cut.is_empty() || (cut[i % cut.len()] && !blank) || i + 1 == lines.len() {
            out.push(Message {
                bytes: lines[first..=i].join(&b'\n'),
                reads_alone: lines[first..=i].iter().all(|l| reads(l)),
                of_login: login[first..=i].iter().any(|l| *l),
                span: (spans[first].0, spans[i].1),
            });
            first = i + 1;
        }
    }
    out
}

proptest! {
    // Each case decodes an envelope of up to 600 log events; PROPTEST_CASES overrides the
    // count (proptest's `contextualize_config`).
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever way the lines are cut into log events: an event of a message of true records
    /// is plain exactly when no message with a line that does not read alone lies within reach
    /// (the oracle over the messages' spans in the text they came from), and every event of a
    /// message holding a line of the failed login (a forged record among them) or a line that
    /// does not read alone is flagged.
    #[test]
    fn no_line_of_a_record_cut_across_log_events_is_a_plain_event(
        before in 0usize..300,
        // At least one record after the failed login: with none before or after, `build` made
        // an empty log and no login (CI's random seed 6448521887808428308 drew it).
        after in 1usize..300,
        name in name(),
        blank_at in proptest::option::of(0usize..600),
        cut in prop_oneof![Just(Vec::new()), prop::collection::vec(any::<bool>(), 1..64)],
    ) {
        let (log, login) = build(before, after, &name, blank_at);
        let messages = messages(&log, &login, &cut);
        let spans: Vec<(u64, u64)> = messages.iter().map(|m| m.span).collect();
        let reads_alone: Vec<bool> = messages.iter().map(|m| m.reads_alone).collect();
        let near: HashMap<usize, bool> =
            window_oracle::near_dirt(&spans, &reads_alone).into_iter().collect();
        let bytes: Vec<Vec<u8>> = messages.iter().map(|m| m.bytes.clone()).collect();
        let ids: HashMap<String, usize> =
            (0..bytes.len()).map(|i| (event_id(1, i as u64 + 1), i)).collect();
        for e in events(&payload(&bytes)) {
            let i = ids[e["event_id"].as_str().unwrap()];
            let flagged = e["ambiguous"] == true;
            match near.get(&i) {
                Some(&near) if !messages[i].of_login => {
                    prop_assert_eq!(flagged, near, "message {}: {}", i, e);
                }
                _ => prop_assert!(flagged, "message {} (dirty or of the failed login): plain {}", i, e),
            }
        }
    }
}

/// Review 8's F1: `f1-split-record.log` (root's WRITE on the database
/// `d⏎⏎20241231 23:59:59,vm,admin,10.0.0.1,9,9,WRITE,mysql`, table `user`) as the Kinesis event
/// the old `rdsaudit encode` made of it (one log event per line, the blank line dropped), and
/// as it is encoded now (the blank line kept in the message before it): the forged WRITE on
/// `mysql.user` is no plain event in either, nor is anything else.
#[test]
fn review8_f1_split_record_has_no_plain_event() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/review8");
    let event = std::fs::read(format!("{dir}/f1-split-record.event.json")).unwrap();
    let head = b"20261130 09:35:27,vm,root,localhost,12,27,WRITE,d".to_vec();
    let forged = b"20241231 23:59:59,vm,admin,10.0.0.1,9,9,WRITE,mysql,user,".to_vec();
    let after = b"20261130 09:35:27,vm,root,localhost,12,0,DISCONNECT,,,0".to_vec();
    let mut head_and_blank = head.clone();
    head_and_blank.push(b'\n');
    let shapes = [
        event,
        payload(&[head.clone(), Vec::new(), forged.clone(), after.clone()]),
        payload(&[head_and_blank, forged, after]),
    ];
    for input in shapes {
        let events = events(&input);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["database"], "mysql");
        for e in events {
            assert_eq!(e["ambiguous"], true, "plain {e}");
            assert_eq!(e["alternatives_omitted"], 1, "{e}");
        }
    }
}

/// A clean stream stays unflagged, however its lines are grouped into log events; one dirty
/// message flags exactly the events within 4 KiB of text of it, on both sides.
#[test]
fn a_clean_stream_stays_plain_and_dirt_reaches_4_kib() {
    let line = |i: usize| format!("20240615 10:31:00,h,u,l,1,{i:04},QUERY,,'SELECT 1',0");
    let clean: Vec<Vec<u8>> = (0..400).map(|i| line(i).into_bytes()).collect();
    assert!(
        events(&payload(&clean))
            .iter()
            .all(|e| e.get("ambiguous").is_none())
    );
    let mut dirty = clean.clone();
    dirty[200] = b"20240615 10:31:00,h,x".to_vec();
    let mut spans = Vec::new();
    let mut at = 0;
    for m in &dirty {
        spans.push((at, at + m.len() as u64));
        at += m.len() as u64 + 1;
    }
    let events = events(&payload(&dirty));
    assert_eq!(events.len(), 399);
    let ids: HashMap<String, usize> = (0..400).map(|i| (event_id(1, i as u64 + 1), i)).collect();
    let mut flagged = 0;
    for e in events {
        let i = ids[e["event_id"].as_str().unwrap()];
        let ((start, end), (dirt_start, dirt_end)) = (spans[i], spans[200]);
        let near = if i < 200 {
            dirt_start - end <= MAX_NAMES_BYTES
        } else {
            start - dirt_end <= MAX_NAMES_BYTES
        };
        flagged += usize::from(near);
        assert_eq!(e["ambiguous"] == true, near, "message {i}: {e}");
    }
    // Within 4,096 bytes of text on each side: 81 messages of 50 bytes and their breaks.
    assert_eq!(flagged, 2 * 81);
}

/// The synthetic corpora (every dialect, 40% hard lines: names with commas, quotes and
/// digits, long statements) as Kinesis events: the window rule flags no event of them, as
/// read as plain files.
#[test]
fn synthetic_corpora_stay_unflagged_as_log_events() {
    use rdsaudit::Dialect;
    use rdsaudit_synth::{Corpus, Spec};
    for dialect in [Dialect::Aurora, Dialect::MariaDb, Dialect::RdsMySql] {
        let corpus = Corpus::generate(&Spec {
            records: 8,
            lines_per_record: 250,
            hard_percent: 40,
            ..Spec::new(dialect)
        });
        let unlisted = |events: &[serde_json::Value]| {
            events
                .iter()
                .filter(|e| e.get("alternatives_omitted").is_some())
                .count()
        };
        let kinesis = events(&corpus.kinesis_event());
        assert_eq!(kinesis.len(), 2000, "{dialect:?}");
        assert_eq!(unlisted(&kinesis), 0, "{dialect:?}");
        assert_eq!(unlisted(&events(&corpus.plain_text())), 0, "{dialect:?}");
    }
}

/// `messages` (stream, message) as `aws logs filter-log-events` prints them.
fn logs_api(messages: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let events: Vec<serde_json::Value> = messages
        .iter()
        .enumerate()
        .map(|(i, (stream, m))| {
            serde_json::json!({"logStreamName": stream, "timestamp": 1_796_071_755_715_i64,
                "message": String::from_utf8(m.clone()).unwrap(),
                "ingestionTime": 1_796_071_755_800_i64, "eventId": (i + 1).to_string()})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"events": events, "searchedLogStreams": []})).unwrap()
}

/// `messages` as a Logs Insights CSV export (`@timestamp,@message`, no stream named).
fn insights(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut csv = b"@timestamp,@message\n".to_vec();
    for m in messages {
        let quoted = String::from_utf8(m.clone()).unwrap().replace('"', "\"\"");
        csv.extend_from_slice(format!("2026-11-30 09:35:27.715,\"{quoted}\"\n").as_bytes());
    }
    csv
}

fn clean_line(host: &str, i: usize) -> Vec<u8> {
    format!("20240615 10:31:00,{host},u,l,1,{i:04},QUERY,,'SELECT 1',0").into_bytes()
}

/// Review 9's R9-1: the logs API's JSON and Insights CSV are read one log event at a time;
/// review 8's F1 record cut one line per log event is no plain event there either, with
/// another stream's 5 KiB between its lines (`filter-log-events` interleaves a group's
/// streams; the window runs per stream), and the other stream's clean events stay plain.
#[test]
fn review9_r1_logs_api_and_insights_have_no_plain_event() {
    let head = b"20261130 09:35:27,vm,root,localhost,12,27,WRITE,d".to_vec();
    let forged = b"20241231 23:59:59,vm,admin,10.0.0.1,9,9,WRITE,mysql,user,".to_vec();
    let after = b"20261130 09:35:27,vm,root,localhost,12,0,DISCONNECT,,,0".to_vec();
    let others = |from: usize| (from..from + 100).map(|i| ("db-2", clean_line("db2", i)));
    let mut api = vec![("db-1", head.clone())];
    api.extend(others(0));
    api.push(("db-1", forged.clone()));
    api.extend(others(100));
    api.push(("db-1", after.clone()));
    let shapes = [
        logs_api(&api),
        insights(&[head.clone(), forged.clone(), after.clone()]),
    ];
    for input in shapes {
        let events = events(&input);
        let vm: Vec<_> = events.iter().filter(|e| e["serverhost"] == "vm").collect();
        assert_eq!(vm.len(), 2, "{events:?}");
        assert_eq!(vm[0]["database"], "mysql");
        for e in vm {
            assert_eq!(e["ambiguous"], true, "plain {e}");
        }
        let db2 = events.iter().filter(|e| e["serverhost"] == "db2");
        assert!(db2.clone().all(|e| e.get("ambiguous").is_none()));
    }
}

/// Log events are handed over 4,096 at a time, each chunk to a sink of its own: a chunk is
/// no window edge. A dirty message just after a chunk's last event flags it (and just before
/// a chunk's first, that one); events farther than 4 KiB stay plain, and a clean input of
/// several chunks stays plain.
#[test]
fn dirt_reaches_across_chunks_of_api_events() {
    let read = |messages: &[(&str, Vec<u8>)]| {
        let mut out = Vec::new();
        let mut input = logs_api(messages);
        Decoder::new()
            .decode_parallel(&mut input, NdjsonBuffer::default, |done| {
                out.extend_from_slice(&done.sink.out);
                Ok(rdsaudit::decoder::Next::Continue)
            })
            .unwrap();
        let lines = out.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        lines
            .map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap())
            .map(|e| (e["connection_id"].as_u64().unwrap(), e["ambiguous"] == true))
            .collect::<HashMap<u64, bool>>()
    };
    let line = |i: usize| format!("20240615 10:31:00,h,u,l,{i},1,QUERY,,'SELECT 1',0");
    let clean: Vec<(&str, Vec<u8>)> = (0..9000).map(|i| ("s", line(i).into_bytes())).collect();
    assert!(read(&clean).values().all(|f| !f));
    for dirty_at in [4096, 4095, 8192] {
        let mut messages = clean.clone();
        messages[dirty_at].1 = b"20240615 10:31:00,h,x".to_vec();
        let flagged = read(&messages);
        assert_eq!(flagged.len(), 8999);
        for (id, f) in flagged {
            let near = (id as usize).abs_diff(dirty_at) <= 2;
            if near {
                assert!(f, "{id} near {dirty_at}");
            }
            if (id as usize).abs_diff(dirty_at) > 200 {
                assert!(!f, "{id} far from {dirty_at}");
            }
        }
    }
}

/// One worker reads a record after others as a fresh worker does: the room its window keeps
/// from record to record, and the envelope lists it recycles, carry nothing over (a dirty
/// message last, with reads held near it; a clean record after; a short dirty one).
#[test]
fn a_worker_reads_each_record_as_a_fresh_one() {
    use rdsaudit::input::{Payload, SourceRecord};
    use rdsaudit::pipeline::{Pipeline, Worker};
    let line = |i: usize| format!("20240615 10:31:00,h,u,l,1,{i:04},QUERY,,'SELECT 1',0");
    let clean: Vec<Vec<u8>> = (0..30).map(|i| line(i).into_bytes()).collect();
    let mut dirty = clean.clone();
    dirty[29] = b"20240615 10:31:00,h,x".to_vec();
    let records = [
        payload(&dirty),
        payload(&clean),
        payload(&dirty[25..]),
        payload(&clean[..3]),
    ];
    let read = |worker: &mut Worker, gz: &[u8]| {
        let mut sink = NdjsonBuffer::default();
        worker.process_record(0, &SourceRecord::new(Payload::Gzip(gz)), &mut sink);
        sink.out
    };
    let max = rdsaudit::input::gzip::DEFAULT_MAX_OUTPUT;
    let fresh: Vec<Vec<u8>> = records
        .iter()
        .map(|r| read(&mut Worker::new(max), r))
        .collect();
    assert!(fresh.iter().all(|out| !out.is_empty()));
    let reused = Pipeline::new().with_worker(|w| {
        let twice = records.iter().chain(&records);
        twice.map(|r| read(w, r)).collect::<Vec<_>>()
    });
    assert_eq!(reused, [fresh.clone(), fresh].concat());
}
