//! The front door and the parallel pipeline against the synthetic corpus generator: order,
//! accounting, whole unparsed lines and failed records, worker reuse.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use rdsaudit::audit::event::Dialect;
use rdsaudit::decoder::{Done, Next};
use rdsaudit::input::{Payload, RecordProblem, SourceRecord};
use rdsaudit::pipeline::Pipeline;
use rdsaudit::report::{RecordOutcome, RecordStatus, Report};
use rdsaudit::sink::{FailedRecord, UnparsedLine};
use rdsaudit::{AuditEvent, Decoder, LineError, Sink};
use rdsaudit_synth::{Corpus, Spec, delivery};

/// An unparsed line as the sink saw it: (event id, line number, whole line, reason).
type Unparsed = (Option<String>, Option<u64>, Vec<u8>, LineError);

/// Everything a sink is told, owned.
#[derive(Debug, Default, Clone, PartialEq)]
struct Seen {
    /// (event id, unescaped object) of every event.
    events: Vec<(String, Vec<u8>)>,
    /// (event id, line number, whole line, reason) of every unparsed line.
    unparsed: Vec<Unparsed>,
    /// (index, payload, error kind) of every failed record.
    failed: Vec<(usize, Vec<u8>, &'static str)>,
}

impl Sink for Seen {
    fn event(&mut self, e: &AuditEvent<'_>) {
        let id = e.provenance.event_id.unwrap_or_default().to_owned();
        self.events.push((id, e.object.unescaped().into_owned()));
    }

    fn unparsed(&mut self, u: &UnparsedLine<'_>) {
        let id = u.event_id.map(str::to_owned);
        self.unparsed
            .push((id, u.line_number, u.bytes.to_vec(), u.reason));
    }

    fn failed_record(&mut self, f: &FailedRecord<'_>) {
        self.failed
            .push((f.index, f.payload.to_vec(), f.error.kind()));
    }
}

fn corpus(dialect: Dialect) -> Corpus {
    Corpus::generate(&Spec {
        records: 40,
        lines_per_record: 7,
        hard_percent: 50,
        ..Spec::new(dialect)
    })
}

/// Decodes `input` in parallel (chunks of `chunk` records), one `Seen` per record, in order.
fn parallel(input: &[u8], chunk: usize) -> (Report, Vec<(RecordOutcome, Seen)>) {
    let decoder = Decoder::builder().records_per_chunk(chunk).build();
    let mut done = Vec::new();
    let report = decoder
        .decode_parallel(&mut input.to_vec(), Seen::default, |d: Done<'_, Seen>| {
            done.push((d.outcome, d.sink));
            Ok(Next::Continue)
        })
        .unwrap();
    (report, done)
}

#[test]
fn parallel_and_sequential_agree_with_the_generator() {
    for dialect in [Dialect::Aurora, Dialect::MariaDb, Dialect::RdsMySql] {
        let c = corpus(dialect);
        let event = c.kinesis_event();
        let mut seq = Seen::default();
        let seq_report = Decoder::new().decode(&event, &mut seq).unwrap();
        let (par_report, par) = parallel(&event, 7);
        let expected: Vec<(String, Vec<u8>)> = c
            .lines()
            .map(|l| (l.event_id.clone(), l.expected.object.clone()))
            .collect();
        // Lines that are not UTF-8 travel lossily through CloudWatch; compare the rest exactly.
        assert_eq!(seq.events.len(), expected.len());
        for (got, want) in seq.events.iter().zip(&expected) {
            assert_eq!(got.0, want.0);
            if std::str::from_utf8(&want.1).is_ok() {
                assert_eq!(got.1, want.1, "{dialect:?}");
            }
        }
        let par_events: Vec<_> = par.iter().flat_map(|(_, s)| s.events.clone()).collect();
        assert_eq!(seq.events, par_events);
        assert_eq!(seq_report, par_report);
        assert_eq!(par.len(), 40);
        assert_eq!(seq_report.records, 40);
        assert_eq!(seq_report.data_records, 40);
        assert_eq!(seq_report.parsed_events, 280);
        assert!(seq_report.is_balanced());
    }
}

#[test]
fn every_record_is_counted_and_failures_reach_the_sink_whole() {
    let c = corpus(Dialect::MariaDb);
    let good = c.kinesis_records();
    let control = delivery::base64(&delivery::gzip(&delivery::control_message()));
    let bad_line_envelope =
        br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[
        {"id":"a","timestamp":1,"message":"20240323 13:36:09,h,u,l,4,5,QUERY,,'SELECT 1',0"},
        {"id":"b","timestamp":2,"message":"garbage"}]}"#;
    let gz = delivery::gzip(&good[0].data.as_bytes()[..0]);
    let truncated = delivery::gzip(&c.records[0].envelope());
    let records = vec![
        SourceRecord::new(Payload::Base64(good[0].data.as_bytes())),
        SourceRecord::new(Payload::Base64(control.as_bytes())),
        SourceRecord::new(Payload::Base64(b"not base64!")),
        SourceRecord::new(Payload::Gzip(b"plain bytes, not gzip")),
        SourceRecord::new(Payload::Gzip(&truncated[..truncated.len() / 2])),
        SourceRecord::new(Payload::Gzip(&gz)),
        SourceRecord::new(Payload::Json(bad_line_envelope)),
        SourceRecord::new(Payload::Invalid(RecordProblem::MissingData)),
    ];
    let done = Pipeline::new().process(&records, 0, true, Seen::default);
    let mut r = Report::default();
    for (outcome, _) in &done {
        r.add(outcome, true);
    }
    assert_eq!(
        (
            r.records,
            r.data_records,
            r.control_records,
            r.failed_records
        ),
        (8, 2, 1, 5)
    );
    assert_eq!(
        (r.log_events, r.parsed_events, r.unparsed_events),
        (9, 8, 1)
    );
    assert_eq!(r.failed_by_kind.get("base64"), Some(&1));
    assert_eq!(r.failed_by_kind.get("gzip"), Some(&2));
    assert_eq!(r.failed_by_kind.get("envelope"), Some(&1));
    assert_eq!(r.failed_by_kind.get("shape"), Some(&1));
    assert!(r.is_balanced());
    let unparsed = &done[6].1.unparsed;
    assert_eq!(
        unparsed,
        &[(
            Some("b".into()),
            None,
            b"garbage".to_vec(),
            LineError::Timestamp
        )]
    );
    assert!(matches!(done[1].0.status, RecordStatus::Control));
    // A failed record reaches the sink once, whole, with its index.
    assert_eq!(
        done[3].1.failed,
        [(3, b"plain bytes, not gzip".to_vec(), "gzip")]
    );
    assert_eq!(done[2].1.failed, [(2, b"not base64!".to_vec(), "base64")]);
    assert_eq!(done[7].1.failed, [(7, Vec::new(), "shape")]);
}

#[test]
fn workers_are_reused_across_batches() {
    let c = corpus(Dialect::Aurora);
    let data: Vec<String> = c.kinesis_records().into_iter().map(|r| r.data).collect();
    let records: Vec<_> = data
        .iter()
        .map(|d| SourceRecord::new(Payload::Base64(d.as_bytes())))
        .collect();
    let pipeline = Pipeline::new();
    pipeline.process(&records, 0, false, Seen::default);
    assert_eq!(pipeline.pooled_workers(), 1);
    for _ in 0..3 {
        pipeline.process(&records, 0, true, Seen::default);
    }
    // Never more workers than rayon ran at once, however many batches went through.
    assert!(pipeline.pooled_workers() <= rayon::current_num_threads().max(1) * 2);
}

#[test]
fn plain_text_counts_lines_and_keeps_failures_whole() {
    let c = corpus(Dialect::RdsMySql);
    let mut log = c.plain_text();
    log.extend_from_slice(b"this line is not audit output\n");
    let total = c.lines().count() as u64;
    let mut seq = Seen::default();
    let seq_report = Decoder::new().decode(&log, &mut seq).unwrap();
    let (par_report, par) = parallel(&log, 1);
    assert_eq!(seq_report, par_report);
    let r = &seq_report;
    assert_eq!(
        (r.records, r.log_events, r.parsed_events, r.unparsed_events),
        (0, total + 1, total, 1)
    );
    assert!(r.is_balanced());
    let unparsed: Vec<_> = par.iter().flat_map(|(_, s)| s.unparsed.clone()).collect();
    assert_eq!(
        unparsed,
        [(
            None,
            Some(total + 1),
            b"this line is not audit output".to_vec(),
            LineError::Timestamp
        )]
    );
    let objects: Vec<Vec<u8>> = par
        .into_iter()
        .flat_map(|(_, s)| s.events)
        .map(|(_, obj)| obj)
        .collect();
    let want: Vec<Vec<u8>> = c.lines().map(|l| l.expected.object.clone()).collect();
    assert_eq!(objects, want);
}

#[test]
fn a_flood_of_bad_lines_reaches_the_sink_line_by_line() {
    let events: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"id":"{i}","timestamp":1,"message":"bad {i}"}}"#))
        .collect();
    let json = format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{}]}}"#,
        events.join(",")
    );
    let mut seen = Seen::default();
    let report = Decoder::new().decode(json.as_bytes(), &mut seen).unwrap();
    assert_eq!(seen.unparsed.len(), 1000);
    assert_eq!(seen.unparsed[999].2, b"bad 999");
    assert_eq!(report.unparsed_by_reason.get("Timestamp"), Some(&1000));
    assert_eq!(report.unparsed_events, 1000);
    assert!(report.is_balanced());
}

#[test]
fn emit_can_stop_and_only_what_was_handed_over_is_counted() {
    let event = corpus(Dialect::Aurora).kinesis_event();
    let decoder = Decoder::builder().records_per_chunk(4).build();
    let mut handed = 0;
    let report = decoder
        .decode_parallel(&mut event.clone(), Seen::default, |_| {
            handed += 1;
            Ok(if handed == 10 {
                Next::Stop
            } else {
                Next::Continue
            })
        })
        .unwrap();
    assert_eq!((handed, report.records, report.parsed_events), (10, 10, 70));
}

#[test]
fn a_gzip_compressed_event_is_read_for_what_it_holds() {
    let event = corpus(Dialect::MariaDb).kinesis_event();
    let mut seen = Seen::default();
    let report = Decoder::new()
        .decode(&delivery::gzip(&event), &mut seen)
        .unwrap();
    assert_eq!((report.records, report.parsed_events), (40, 280));
    let not_an_event = Decoder::new().decode(br#"{"Records":7}"#, &mut Seen::default());
    assert_eq!(
        not_an_event.unwrap_err().to_string(),
        "not a Lambda Kinesis event: `Records` should be an array, found a number"
    );
}

/// Runs `f` on a pool of three threads: the calling one walks the event and writes, two decode
/// (whatever the machine's core count, so the parallel path is the one tested).
fn on_three_threads<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap()
        .install(f)
}

/// An event whose payloads are several times what is decoded ahead of the output (256 KiB):
/// its first records are copied out and decoded while the walk goes on, the rest after it.
fn large_event() -> (Corpus, Vec<u8>) {
    let c = Corpus::generate(&Spec {
        records: 160,
        lines_per_record: 120,
        hard_percent: 30,
        ..Spec::new(Dialect::RdsMySql)
    });
    let event = c.kinesis_event();
    assert!(event.len() > 3 * (256 << 10), "{} bytes", event.len());
    (c, event)
}

#[test]
fn a_large_event_decoded_while_walked_reads_as_in_turn() {
    let (_, event) = large_event();
    let mut seq = Seen::default();
    let seq_report = Decoder::new().decode(&event, &mut seq).unwrap();
    for per_chunk in [1, 3, 512] {
        let decoder = Decoder::builder().records_per_chunk(per_chunk).build();
        let (mut indices, mut sequence_numbers, mut sinks) = (Vec::new(), Vec::new(), Vec::new());
        let report = on_three_threads(|| {
            decoder.decode_parallel(&mut event.clone(), Seen::default, |d: Done<'_, Seen>| {
                indices.push(d.index);
                sequence_numbers.push(d.record.and_then(|r| r.sequence_number).map(str::to_owned));
                sinks.push(d.sink);
                Ok(Next::Continue)
            })
        })
        .unwrap();
        assert_eq!(report, seq_report);
        assert_eq!(indices, (0..160).collect::<Vec<_>>());
        assert!(sequence_numbers.iter().all(Option::is_some));
        let mut all = Seen::default();
        for s in sinks {
            all.events.extend(s.events);
            all.unparsed.extend(s.unparsed);
            all.failed.extend(s.failed);
        }
        assert_eq!(all, seq, "records_per_chunk {per_chunk}");
    }
    assert_eq!(seq_report.records, 160);
    assert!(seq_report.is_balanced());
}

/// A panic while a chunk of records is decoded on the pool (here, in the sink factory, a few
/// chunks in) reaches the caller instead of leaving it asleep waiting for that chunk: the
/// writer is woken only for the oldest chunk, and a chunk that panicked is posted too.
#[test]
fn a_panic_in_a_chunk_of_records_reaches_the_caller() {
    let (_, event) = large_event();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let made = std::sync::atomic::AtomicUsize::new(0);
        let make = || {
            let n = made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert!(n != 20, "the 21st sink panics");
            Seen::default()
        };
        let decoder = Decoder::builder().records_per_chunk(3).build();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            on_three_threads(|| {
                decoder.decode_parallel(&mut event.clone(), make, |_: Done<'_, Seen>| {
                    Ok(Next::Continue)
                })
            })
        }));
        let _ = tx.send(run.is_err());
    });
    let panicked = rx.recv_timeout(std::time::Duration::from_secs(120));
    assert_eq!(
        panicked,
        Ok(true),
        "the decoder returned or hung instead of panicking"
    );
}

/// A sink that notes whether it was told [`Sink::finish`], and anything it was told after.
#[derive(Debug, Default)]
struct Finished {
    events: usize,
    finished: bool,
    after: usize,
}

impl Sink for Finished {
    fn event(&mut self, _: &AuditEvent<'_>) {
        self.events += 1;
        self.after += usize::from(self.finished);
    }

    fn finish(&mut self) {
        self.after += usize::from(self.finished);
        self.finished = true;
    }
}

#[test]
fn every_record_decoded_in_parallel_is_finished_once_after_its_events() {
    let (_, event) = large_event();
    let sinks = on_three_threads(|| {
        let mut sinks = Vec::new();
        Decoder::new()
            .decode_parallel(&mut event.clone(), Finished::default, |d| {
                sinks.push(d.sink);
                Ok(Next::Continue)
            })
            .unwrap();
        sinks
    });
    assert_eq!(sinks.len(), 160);
    assert!(sinks.iter().all(|s| s.finished && s.after == 0));
    assert_eq!(sinks.iter().map(|s| s.events).sum::<usize>(), 160 * 120);
}

#[test]
fn a_large_event_broken_at_its_end_hands_nothing_over() {
    let (_, mut event) = large_event();
    event.truncate(event.len() - 2);
    let mut handed = 0;
    let result = on_three_threads(|| {
        Decoder::new().decode_parallel(&mut event, Seen::default, |_| {
            handed += 1;
            Ok(Next::Continue)
        })
    });
    assert!(
        matches!(result, Err(rdsaudit::decoder::StopError::Decode(_))),
        "{result:?}"
    );
    assert_eq!(handed, 0);
}

#[test]
fn a_large_event_stops_where_emit_says() {
    let (_, event) = large_event();
    for stop_at in [1, 50, 159] {
        let mut handed = Vec::new();
        let report = on_three_threads(|| {
            Decoder::new().decode_parallel(&mut event.clone(), Seen::default, |d| {
                handed.push(d.index);
                Ok(if d.index + 1 == stop_at {
                    Next::Stop
                } else {
                    Next::Continue
                })
            })
        })
        .unwrap();
        assert_eq!(handed, (0..stop_at).collect::<Vec<_>>());
        assert_eq!(report.records, stop_at as u64);
        let failed = on_three_threads(|| {
            Decoder::new().decode_parallel(&mut event.clone(), Seen::default, |d| {
                if d.index + 1 == stop_at {
                    return Err(std::io::Error::other("stdout closed"));
                }
                Ok(Next::Continue)
            })
        });
        assert!(matches!(
            failed,
            Err(rdsaudit::decoder::StopError::Output(_))
        ));
    }
}
