//! The window rule for files (docs/HOSTILE.md rule 4): an event is plain only when every line
//! within 512 lines of it reads alone. Checked against an oracle over logs of clean records
//! with a few dirty lines (blank, comment, a record split by a raw break), and the same output
//! whole, streamed in pieces of any size, on one thread and on two.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use rdsaudit::Decoder;
use rdsaudit::decoder::{Done, Next};
use rdsaudit::input::stream::TextStream;
use rdsaudit::sink::NdjsonBuffer;

const REACH: usize = 512;

/// What is put at a line: a clean record, or one of the dirty shapes.
#[derive(Debug, Clone, Copy)]
enum Dirt {
    Blank,
    Comment,
    /// A record whose user name holds a raw break: two lines, neither reads alone.
    Split,
}

/// The log, and for each of its lines whether it reads alone.
fn build(clean: usize, dirt: &[(usize, Dirt)]) -> (Vec<u8>, Vec<bool>) {
    let (mut log, mut reads) = (Vec::new(), Vec::new());
    for i in 0..clean {
        for (_, d) in dirt.iter().filter(|(at, _)| *at == i) {
            match d {
                Dirt::Blank => log.extend_from_slice(b"\n"),
                Dirt::Comment => log.extend_from_slice(b"# rotated\n"),
                Dirt::Split => {
                    log.extend_from_slice(b"20240615 10:31:00,h,new\nuser,l,1,0,CONNECT,,,0\n");
                    reads.push(false);
                }
            }
            reads.push(false);
        }
        let line = format!("20240615 10:31:00,h,u{i},l,1,{i},QUERY,,'SELECT {i}',0\n");
        log.extend_from_slice(line.as_bytes());
        reads.push(true);
    }
    (log, reads)
}

fn whole(log: &[u8]) -> (Vec<u8>, String) {
    let mut sink = NdjsonBuffer::default();
    let report = Decoder::builder()
        .parallel(false)
        .build()
        .decode(log, &mut sink)
        .unwrap();
    (sink.out, format!("{report:?}"))
}

fn streamed(log: &[u8], piece: usize, parallel: bool) -> (Vec<u8>, String) {
    let mut out = Vec::new();
    let decoder = Decoder::builder().parallel(parallel).build();
    let stream = TextStream::new(std::io::Cursor::new(log.to_vec())).piece_bytes(piece);
    let report = decoder
        .decode_text_stream(
            stream,
            NdjsonBuffer::default,
            |done: Done<'_, NdjsonBuffer>| {
                out.extend_from_slice(&done.sink.out);
                Ok(Next::Continue)
            },
        )
        .unwrap();
    (out, format!("{report:?}"))
}

fn dirt() -> impl Strategy<Value = Vec<(usize, Dirt)>> {
    let kind = prop_oneof![Just(Dirt::Blank), Just(Dirt::Comment), Just(Dirt::Split)];
    prop::collection::vec((0usize..2500, kind), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn plain_exactly_when_every_line_within_reach_reads_alone(
        clean in 600usize..2500,
        dirt in dirt(),
        piece in 200usize..40_000,
    ) {
        let (log, reads) = build(clean, &dirt);
        let (ndjson, report) = whole(&log);
        // The oracle: each event's line, and whether a line within reach does not read alone.
        let mut expected = Vec::new();
        for (i, _) in reads.iter().enumerate().filter(|(_, r)| **r) {
            let near = reads[i.saturating_sub(REACH)..(i + REACH + 1).min(reads.len())]
                .iter()
                .any(|r| !r);
            expected.push((i as u64 + 1, near));
        }
        let got: Vec<(u64, bool)> = ndjson
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_slice(l).unwrap();
                let ambiguous = v.get("ambiguous").and_then(serde_json::Value::as_bool);
                (v["line"].as_u64().unwrap(), ambiguous == Some(true))
            })
            .filter(|(line, _)| reads.get(*line as usize - 1) == Some(&true))
            .collect();
        prop_assert_eq!(got, expected);
        for parallel in [false, true] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
            let streamed = pool.install(|| streamed(&log, piece, parallel));
            let differ = streamed
                .0
                .split(|&b| b == b'\n')
                .zip(ndjson.split(|&b| b == b'\n'))
                .position(|(a, b)| a != b);
            prop_assert!(
                streamed == (ndjson.clone(), report.clone()),
                "piece {} parallel {}: first NDJSON line that differs: {:?}",
                piece,
                parallel,
                differ
            );
        }
    }
}

/// Review 5's reproductions (R5-1 to R5-4, `/work/notes/review5.md`; `real-*` written by a
/// MariaDB 10.11 server): each gave a plain forged event (a QUERY `DROP TABLE` or a
/// DISCONNECT by `admin`, a WRITE on `mysql.user`) and hid the real record. Each holds lines
/// that do not read alone within 512 lines of every record, so no event is plain, read
/// whole or streamed in small pieces.
#[test]
fn review5_files_have_no_plain_event() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/review5");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 17);
    for path in files {
        let log = std::fs::read(&path).unwrap();
        let (ndjson, _) = whole(&log);
        for piece in [16, 100] {
            assert_eq!(
                streamed(&log, piece, true).0,
                ndjson,
                "{path:?} piece {piece}"
            );
        }
        let events: Vec<serde_json::Value> = ndjson
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert!(!events.is_empty(), "{path:?}");
        for e in events {
            assert_eq!(e["ambiguous"], true, "plain {e} in {path:?}");
        }
    }
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        Ok(n)
    }
}

/// Long clean lines (a raised `server_audit_query_log_limit`): the pieces a stream holds for
/// the lines after them stay within `max_held_bytes` (512 lines of 5 KB would be 2.5 MB);
/// those sent out early are flagged, never dropped or changed.
#[test]
fn pieces_held_for_the_window_rule_are_bounded() {
    let statement = "x".repeat(5000);
    let log: Vec<u8> = (0..1200)
        .flat_map(|i| {
            format!("20240615 10:31:00,h,u,l,1,{i:04},QUERY,,'SELECT {statement}',0\n").into_bytes()
        })
        .collect();
    let len = log.len() / 1200;
    let (whole_out, _) = whole(&log);
    let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let reader = Counted {
        inner: std::io::Cursor::new(log.clone()),
        read: std::sync::Arc::clone(&read),
    };
    let bound = 256 << 10;
    let decoder = Decoder::builder()
        .parallel(false)
        .max_held_bytes(bound)
        .build();
    let stream = TextStream::new(reader).piece_bytes(64 << 10);
    let (mut out, mut events, mut most_held) = (Vec::new(), 0usize, 0usize);
    decoder
        .decode_text_stream(
            stream,
            NdjsonBuffer::default,
            |done: Done<'_, NdjsonBuffer>| {
                let in_flight = read
                    .load(std::sync::atomic::Ordering::SeqCst)
                    .saturating_sub(events * len);
                most_held = most_held.max(in_flight);
                events += done.sink.out.iter().filter(|&&b| b == b'\n').count();
                out.extend_from_slice(&done.sink.out);
                Ok(Next::Continue)
            },
        )
        .unwrap();
    assert!(
        most_held <= bound + (1 << 20),
        "{most_held} bytes in flight"
    );
    let parse = |ndjson: &[u8]| -> Vec<serde_json::Value> {
        ndjson
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    };
    let (whole_events, streamed_events) = (parse(&whole_out), parse(&out));
    assert_eq!((whole_events.len(), streamed_events.len()), (1200, 1200));
    assert!(whole_events.iter().all(|e| e.get("ambiguous").is_none()));
    let flagged = streamed_events
        .iter()
        .filter(|e| e["ambiguous"] == true)
        .count();
    assert!(flagged > 0 && flagged < 1200, "{flagged} flagged");
    for (w, s) in whole_events.iter().zip(&streamed_events) {
        assert_eq!((&w["object"], &w["line"]), (&s["object"], &s["line"]));
    }
}
