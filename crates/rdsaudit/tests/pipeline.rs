//! The parallel pipeline against the synthetic corpus generator: order, accounting, reuse.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use bumpalo::Bump;
use rdsaudit::AuditEvent;
use rdsaudit::LineError;
use rdsaudit::audit::event::Dialect;
use rdsaudit::input::source::{self, Payload, RecordProblem, SourceRecord};
use rdsaudit::pipeline::*;
use rdsaudit_synth::{Corpus, Spec, delivery};

/// The JSON followed by simd-json's padding, and its length.
fn padded(json: &[u8]) -> (Vec<u8>, usize) {
    let mut buf = json.to_vec();
    buf.resize(json.len() + simd_json::INPUT_PADDING, 0);
    (buf, json.len())
}

/// Each record's output: (event id, unescaped object) of every event, in order.
type Seen = Vec<(String, Vec<u8>)>;

fn collect(e: &AuditEvent<'_>, arena: &Bump, out: &mut Seen) {
    let id = e.provenance.event_id.unwrap_or_default().to_owned();
    out.push((id, e.object.unescaped_in(arena).to_vec()));
}

fn corpus(dialect: Dialect) -> Corpus {
    Corpus::generate(&Spec {
        records: 40,
        lines_per_record: 7,
        hard_percent: 50,
        ..Spec::new(dialect)
    })
}

#[test]
fn parallel_and_sequential_agree_with_the_generator() {
    for dialect in [Dialect::Aurora, Dialect::MariaDb, Dialect::RdsMySql] {
        let c = corpus(dialect);
        let (mut event, len) = padded(&c.kinesis_event());
        let records =
            source::parse_kinesis_event(&mut event, len, &mut source::SourceParser::new()).unwrap();
        let pipeline = Pipeline::new();
        let seq = pipeline.process(&records, false, collect);
        let par = pipeline.process(&records, true, collect);
        let expected: Vec<Seen> = c
            .records
            .iter()
            .map(|r| {
                r.lines
                    .iter()
                    .map(|l| (l.event_id.clone(), l.expected.object.clone()))
                    .collect()
            })
            .collect();
        // Lines that are not UTF-8 travel lossily through CloudWatch; compare the rest exactly.
        for (outcome, want) in seq.records.iter().zip(&expected) {
            assert_eq!(outcome.output.len(), want.len());
            for (got, want) in outcome.output.iter().zip(want) {
                assert_eq!(got.0, want.0);
                if std::str::from_utf8(&want.1).is_ok() {
                    assert_eq!(got.1, want.1, "{dialect:?}");
                }
            }
        }
        let outputs = |b: &BatchOutput<Seen>| {
            b.records
                .iter()
                .map(|o| o.output.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(outputs(&seq), outputs(&par));
        assert_eq!(seq.report, par.report);
        assert_eq!(seq.report.records, 40);
        assert_eq!(seq.report.data_records, 40);
        assert_eq!(seq.report.parsed_events, 280);
        assert!(seq.report.is_balanced());
    }
}

#[test]
fn every_record_is_counted_with_a_reason() {
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
    let batch = Pipeline::new().process(&records, true, collect);
    let r = &batch.report;
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
    let unparsed = &batch.records[6].unparsed[0];
    assert_eq!(unparsed.event_id.as_deref(), Some("b"));
    assert_eq!(unparsed.reason, LineError::Timestamp);
    assert!(matches!(batch.records[1].status, RecordStatus::Control));
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
    pipeline.process(&records, false, collect);
    assert_eq!(pipeline.pooled_workers(), 1);
    for _ in 0..3 {
        pipeline.process(&records, true, collect);
    }
    // Never more workers than rayon ran at once, however many batches went through.
    assert!(pipeline.pooled_workers() <= rayon::current_num_threads().max(1) * 2);
}

#[test]
fn plain_text_counts_lines_and_numbers_failures() {
    let c = corpus(Dialect::RdsMySql);
    let mut log = c.plain_text();
    log.extend_from_slice(b"this line is not audit output\n");
    let total = c.lines().count() as u64;
    for parallel in [false, true] {
        let batch = Pipeline::new().process_text(&log, parallel, collect);
        let r = &batch.report;
        assert_eq!(
            (r.records, r.log_events, r.parsed_events, r.unparsed_events),
            (0, total + 1, total, 1)
        );
        assert!(r.is_balanced());
        let unparsed: Vec<_> = batch.records.iter().flat_map(|o| &o.unparsed).collect();
        assert_eq!(unparsed[0].line_number, Some(total + 1));
        let objects: Vec<Vec<u8>> = batch
            .records
            .into_iter()
            .flat_map(|o| o.output)
            .map(|(_, obj)| obj)
            .collect();
        let want: Vec<Vec<u8>> = c.lines().map(|l| l.expected.object.clone()).collect();
        assert_eq!(objects, want);
    }
}

#[test]
fn a_flood_of_bad_lines_keeps_few_details_and_every_count() {
    let events: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"id":"{i}","timestamp":1,"message":"bad {i}"}}"#))
        .collect();
    let json = format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{}]}}"#,
        events.join(",")
    );
    let records = [SourceRecord::new(Payload::Json(json.as_bytes()))];
    let batch = Pipeline::new().process(&records, false, collect);
    let outcome = &batch.records[0];
    assert_eq!(outcome.unparsed.len(), MAX_UNPARSED_DETAILS);
    assert_eq!(outcome.unparsed_count(), 1000);
    assert_eq!(outcome.unparsed[63].event_id.as_deref(), Some("63"));
    assert_eq!(
        batch.report.unparsed_by_reason.get("Timestamp"),
        Some(&1000)
    );
    assert_eq!(batch.report.unparsed_events, 1000);
    assert!(batch.report.is_balanced());
}
