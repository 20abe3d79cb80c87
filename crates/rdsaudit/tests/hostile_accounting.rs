//! The accounting invariant as a property (issue 7): for any mix of good and bad Kinesis
//! records, through the handler path (`parse_kinesis_event` + `Pipeline::process`),
//!
//! - records in = data + control + failed, and log events = parsed + unparsed;
//! - and every count equals what the mix was built with: not just balanced, but right.
//!
//! Good records come from `rdsaudit_synth` (every dialect, hard cases included), gzip'd by
//! flate2; bad ones are invalid base64, not gzip, truncated gzip, a small gzip bomb, an unknown
//! `messageType`, control messages, and data records mixing good lines with unparsable ones.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

// Shared builders; this test uses a subset of them.
#[allow(dead_code)]
#[path = "fuzz_bodies/payload.rs"]
mod payload;

use std::collections::BTreeMap;

use proptest::prelude::*;
use rdsaudit::Dialect;
use rdsaudit::input::text::MAX_NAMES_BYTES;
use rdsaudit::input::{SourceParser, parse_kinesis_event};
use rdsaudit::pipeline::Pipeline;
use rdsaudit::report::{RecordStatus, Report};
use rdsaudit::sink::Count;
use rdsaudit_synth::{Corpus, Spec};

use payload::{b64, control_message, data_message, gzip, kinesis_event};

/// The pipeline's per-record inflate cap in this test: small, so a bomb is cheap.
const LIMIT: usize = 64 << 10;

/// Lines that are not audit records, with the reason key the report counts them under.
const BAD_LINES: &[(&str, &str)] = &[
    ("", "Empty"),
    ("CWL CONTROL MESSAGE: not an audit line", "Timestamp"),
    ("1711200969123456,i1,admin,10.0.1.5,35,698024", "Header"),
    (
        "1711200969123456,i1,admin,10.0.1.5,35,698024,QUERY,shop,'SELECT 1,0",
        "UnterminatedObject",
    ),
    (
        "1711200969123456,i1,admin,10.0.1.5,35,698024,QUERY,shop,'SELECT 1'",
        "MissingRetcode",
    ),
    ("20240323 13:36:09,h,u,l,4,1,QUERY,,'x',zero,,", "Retcode"),
];

/// One record of the mix.
#[derive(Debug, Clone)]
enum Part {
    /// `lines` synthetic lines of a dialect, generated from `seed`.
    Good {
        dialect: Dialect,
        seed: u64,
        lines: usize,
    },
    /// Good lines with bad ones (indices into [`BAD_LINES`]) appended.
    Mixed {
        seed: u64,
        lines: usize,
        bad: Vec<usize>,
    },
    Control,
    BadBase64,
    NotGzip,
    /// A good record's gzip cut to `keep` per mille of its length.
    Truncated {
        keep: u16,
    },
    /// Zeros that inflate past [`LIMIT`].
    Bomb,
    UnknownMessageType,
}

fn part() -> impl Strategy<Value = Part> {
    let dialect = prop_oneof![
        Just(Dialect::Aurora),
        Just(Dialect::MariaDb),
        Just(Dialect::RdsMySql)
    ];
    prop_oneof![
        3 => (dialect, any::<u64>(), 0..20usize)
            .prop_map(|(dialect, seed, lines)| Part::Good { dialect, seed, lines }),
        2 => (any::<u64>(), 0..10usize, prop::collection::vec(0..BAD_LINES.len(), 1..6))
            .prop_map(|(seed, lines, bad)| Part::Mixed { seed, lines, bad }),
        1 => Just(Part::Control),
        1 => Just(Part::BadBase64),
        1 => Just(Part::NotGzip),
        1 => (0..1000u16).prop_map(|keep| Part::Truncated { keep }),
        1 => Just(Part::Bomb),
        1 => Just(Part::UnknownMessageType),
    ]
}

fn synth_lines(dialect: Dialect, seed: u64, lines: usize) -> Vec<String> {
    let spec = Spec {
        seed,
        records: 1,
        lines_per_record: lines,
        hard_percent: 30,
        ..Spec::new(dialect)
    };
    Corpus::generate(&spec)
        .lines()
        .map(|l| String::from_utf8_lossy(&l.line).into_owned())
        .collect()
}

/// The record's `data`, and the report it alone must produce.
fn build(index: usize, part: &Part) -> (String, Report) {
    let failed = |kind: &'static str| Report {
        failed_records: 1,
        failed_by_kind: BTreeMap::from([(kind, 1)]),
        ..Report::default()
    };
    let good = |messages: &[&str], unparsed: &[&'static str]| Report {
        data_records: 1,
        log_events: messages.len() as u64,
        parsed_events: (messages.len() - unparsed.len()) as u64,
        unparsed_events: unparsed.len() as u64,
        unparsed_by_reason: unparsed.iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(*r).or_default() += 1;
            m
        }),
        ..Report::default()
    };
    let gz = |json: &str| b64(&gzip(json.as_bytes()));
    let (data, mut report) = match part {
        Part::Good {
            dialect,
            seed,
            lines,
        } => {
            let lines = synth_lines(*dialect, *seed, *lines);
            let messages: Vec<&str> = lines.iter().map(String::as_str).collect();
            (gz(&data_message(index, &messages)), good(&messages, &[]))
        }
        Part::Mixed { seed, lines, bad } => {
            let lines = synth_lines(Dialect::RdsMySql, *seed, *lines);
            let mut messages: Vec<&str> = lines.iter().map(String::as_str).collect();
            messages.extend(bad.iter().map(|&i| BAD_LINES[i].0));
            let reasons: Vec<&str> = bad.iter().map(|&i| BAD_LINES[i].1).collect();
            // The window rule across the envelope's log events (docs/HOSTILE.md rule 4): a
            // good line within 4 KiB of text of the first bad one (the bytes of the lines
            // between and a break each) is flagged.
            let mut reach = 1u64;
            let flagged = lines
                .iter()
                .rev()
                .take_while(|l| {
                    let near = reach <= MAX_NAMES_BYTES;
                    reach += l.len() as u64 + 1;
                    near
                })
                .count() as u64;
            (
                gz(&data_message(index, &messages)),
                Report {
                    ambiguous_events: flagged,
                    ..good(&messages, &reasons)
                },
            )
        }
        Part::Control => (
            b64(&gzip(&control_message())),
            Report {
                control_records: 1,
                control_messages: 1,
                ..Report::default()
            },
        ),
        Part::BadBase64 => ("not*base64".to_owned(), failed("base64")),
        Part::NotGzip => (b64(data_message(index, &[]).as_bytes()), failed("gzip")),
        Part::Truncated { keep } => {
            let whole = gzip(data_message(index, &[payload::AURORA_LINE]).as_bytes());
            let cut = whole.len() * usize::from(*keep) / 1000;
            (b64(&whole[..cut]), failed("gzip"))
        }
        Part::Bomb => (b64(&gzip(&vec![0; LIMIT * 4])), failed("gzip")),
        Part::UnknownMessageType => {
            let json = data_message(index, &[payload::AURORA_LINE]).replacen(
                "DATA_MESSAGE",
                "FUTURE_MESSAGE",
                1,
            );
            (gz(&json), failed("message_type"))
        }
    };
    report.records = 1;
    (data, report)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn counts_add_up_and_match_the_mix(
        parts in prop::collection::vec(part(), 0..24),
        parallel in any::<bool>(),
    ) {
        let (data, reports): (Vec<String>, Vec<Report>) =
            parts.iter().enumerate().map(|(i, p)| build(i, p)).unzip();
        let event = kinesis_event(&data);
        let mut buf = event.clone();
        buf.resize(event.len() + simd_json::INPUT_PADDING, 0);
        let records = parse_kinesis_event(&mut buf, event.len(), &mut SourceParser::new()).unwrap();
        let done = Pipeline::with_max_output(LIMIT).process(&records, 0, parallel, Count::default);
        let mut report = Report::default();
        done.iter().for_each(|(outcome, _)| report.add(outcome, true));

        let mut expected = Report::default();
        reports.iter().for_each(|r| expected.merge(r));
        prop_assert!(report.is_balanced(), "{:?}", report);
        prop_assert_eq!(&report, &expected);
        // Record by record, in order: the status kind and the events the sink saw.
        for (((outcome, count), want), part) in done.iter().zip(&reports).zip(&parts) {
            let status_ok = match &outcome.status {
                RecordStatus::Data => want.data_records == 1,
                RecordStatus::Control => want.control_records == 1,
                RecordStatus::Failed(e) => want.failed_by_kind.contains_key(e.kind()),
            };
            prop_assert!(status_ok, "{:?} for {:?}", outcome.status, part);
            prop_assert_eq!(count.0, want.parsed_events, "{:?}", part);
        }
    }
}
