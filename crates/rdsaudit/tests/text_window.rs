//! The window rule for files (docs/HOSTILE.md rule 4): an event is plain only when every line
//! within `MAX_NAMES_BYTES` (4 KiB) of it reads alone. Checked against an oracle
//! (`window_oracle`) over logs of clean records with a few dirty lines (blank, comment, a
//! record split by a raw break, a failed login whose name holds raw breaks and forged lines),
//! at the reach's edge (N-1, N, N+1 bytes, LF and CRLF), and the same output whole, streamed
//! in pieces of any size, on one thread and on two.

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
use rdsaudit::input::text::MAX_NAMES_BYTES;
use rdsaudit::sink::NdjsonBuffer;

mod window_oracle;

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
    // Each case decodes a log of up to 2,500 lines three ways (whole, streamed on one and on
    // two threads). The count applies when PROPTEST_CASES is unset: the variable overrides it
    // (proptest's `contextualize_config`), so CI draws 2,000 cases (the whole file: 192 s in
    // a CI run at load ~5, 320 s before the library's tests were built at opt-level 1).
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn plain_exactly_when_every_line_within_reach_reads_alone(
        clean in 600usize..2500,
        dirt in dirt(),
        piece in 200usize..40_000,
    ) {
        let (log, reads) = build(clean, &dirt);
        let ndjson = every_way(&log, piece)?;
        let got: Vec<(u64, bool)> = flags(&ndjson)
            .into_iter()
            .filter(|(line, _)| reads.get(*line as usize - 1) == Some(&true))
            .collect();
        prop_assert_eq!(got, window_oracle::expected(&log, &reads));
    }

    /// A real failed login (no account needed) whose user name holds raw breaks, written as
    /// MariaDB writes it (FAILED_CONNECT, then DISCONNECT with the same name), between clean
    /// records: the clean records are flagged exactly when within reach of a line that does
    /// not read alone (so only those near the attempt), and no line of the name that reads
    /// alone (a forged record) is ever a plain event.
    #[test]
    fn a_failed_login_flags_only_what_is_within_reach(
        before in 0usize..300,
        after in 0usize..300,
        name in name(),
        piece in 64usize..20_000,
    ) {
        let (mut log, mut reads) = (Vec::new(), Vec::new());
        for i in 0..before + after {
            if i == before {
                for op in ["FAILED_CONNECT,,,1045", "DISCONNECT,,,0"] {
                    let record = format!("20240615 10:31:05,h,{name},10.0.0.9,77,0,{op}\n");
                    log.extend_from_slice(record.as_bytes());
                    // The reader joins the name's lines into the record: all dirty, even
                    // one that reads alone (a forged record before a break).
                    reads.resize(window_oracle::spans(&log).len(), false);
                }
            }
            let record = format!("20240615 10:31:00,h,u{i},l,1,{i},QUERY,,'SELECT {i}',0\n");
            log.extend_from_slice(record.as_bytes());
            reads.push(true);
        }
        let clean_lines: Vec<u64> = (1..=reads.len() as u64)
            .filter(|&l| reads[l as usize - 1])
            .collect();
        let ndjson = every_way(&log, piece)?;
        let got = flags(&ndjson);
        let expected: Vec<(u64, bool)> = window_oracle::expected(&log, &reads)
            .into_iter()
            .filter(|(l, _)| clean_lines.contains(l))
            .collect();
        let clean: Vec<(u64, bool)> =
            got.iter().copied().filter(|(l, _)| clean_lines.contains(l)).collect();
        prop_assert_eq!(clean, expected);
        for (l, ambiguous) in got.iter().filter(|(l, _)| !clean_lines.contains(l)) {
            prop_assert!(*ambiguous, "line {} of the failed login is a plain event", l);
        }
    }
}

/// User names a client that cannot log in sends: raw breaks, forged whole audit lines, a
/// forged record before a break, a timestamp line, CRs.
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
        "[a-z,0-9]{0,20}\n[a-z,0-9 ]{0,30}",
    ]
}

/// Each event's line and whether it is flagged ambiguous.
fn flags(ndjson: &[u8]) -> Vec<(u64, bool)> {
    ndjson
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).unwrap();
            let ambiguous = v.get("ambiguous").and_then(serde_json::Value::as_bool);
            (v["line"].as_u64().unwrap(), ambiguous == Some(true))
        })
        .collect()
}

/// The NDJSON of `log` read whole, after checking that streaming it in pieces of `piece`
/// bytes, on one thread and on two, gives the same bytes and report.
fn every_way(log: &[u8], piece: usize) -> Result<Vec<u8>, TestCaseError> {
    let (ndjson, report) = whole(log);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    // Inside `install` the stream is decoded on the calling thread (it is one of the pool's);
    // outside, its pieces are handed to the global pool while the caller writes them out.
    let ways = [
        ("on a pool's thread", false, false),
        ("on a pool's thread", true, false),
        ("beside the global pool", true, true),
    ];
    for (place, parallel, outside) in ways {
        let streamed = if outside {
            streamed(log, piece, parallel)
        } else {
            pool.install(|| streamed(log, piece, parallel))
        };
        let differ = streamed
            .0
            .split(|&b| b == b'\n')
            .zip(ndjson.split(|&b| b == b'\n'))
            .position(|(a, b)| a != b);
        prop_assert!(
            streamed == (ndjson.clone(), report.clone()),
            "piece {} parallel {} {}: first NDJSON line that differs: {:?}",
            piece,
            parallel,
            place,
            differ
        );
    }
    Ok(ndjson)
}

/// A clean record of exactly `len` bytes with its line end `eol`.
fn clean_of_len(len: usize, id: usize, eol: &str) -> String {
    let bare = format!("20240615 10:31:00,h,f,l,1,{id},QUERY,,'',0{eol}");
    let pad = "x".repeat(len - bare.len());
    format!("20240615 10:31:00,h,f,l,1,{id},QUERY,,'{pad}',0{eol}")
}

/// At the reach's edge: a record `d` bytes from a blank line (from the blank line's start,
/// which is where its text ends, to the record's start; or from the record's text end to the
/// blank line's start), line ends LF and CRLF counted: flagged at N-1 and N, plain at N+1,
/// read whole and streamed.
#[test]
fn the_reach_ends_at_max_names_bytes() {
    let n = MAX_NAMES_BYTES as usize;
    for eol in ["\n", "\r\n"] {
        for d in [n - 1, n, n + 1] {
            let target = format!("20240615 10:31:00,h,target,l,1,1,QUERY,,'SELECT 1',0{eol}");
            let filler = clean_of_len(d - eol.len(), 2, eol);
            let first = format!("20240615 10:31:00,h,first,l,1,0,QUERY,,'SELECT 0',0{eol}");
            let last = format!("20240615 10:31:00,h,last,l,1,3,QUERY,,'SELECT 3',0{eol}");
            let before = format!("{first}{eol}{filler}{target}{last}");
            let after = format!("{first}{target}{filler}{eol}{last}");
            for log in [before, after] {
                for piece in [16, 100, 4096, 1 << 20] {
                    let ndjson = every_way(log.as_bytes(), piece).unwrap();
                    let target = ndjson
                        .split(|&b| b == b'\n')
                        .map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap())
                        .find(|v| v["username"] == "target")
                        .unwrap();
                    assert_eq!(
                        target.get("ambiguous") == Some(&serde_json::Value::Bool(true)),
                        d <= n,
                        "{d} bytes, eol {eol:?}, piece {piece}: {target}"
                    );
                }
            }
        }
    }
}

/// Review 5's reproductions (R5-1 to R5-4, `/work/notes/review5.md`; `real-*` written by a
/// MariaDB 10.11 server): each gave a plain forged event (a QUERY `DROP TABLE` or a
/// DISCONNECT by `admin`, a WRITE on `mysql.user`) and hid the real record. Each holds lines
/// that do not read alone within reach of every record, so no event is plain, read
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

/// Long clean lines (a raised `server_audit_query_log_limit`) in pieces larger than
/// `max_held_bytes` (the second bound: the reach alone holds a piece until 4 KiB past it are
/// decoded, here the next 64 KiB piece): the pieces a stream holds stay within the bound;
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
    let bound = 32 << 10;
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

/// A panic while a piece is decoded on the pool (here, in the sink factory) reaches the
/// caller, as it did when pieces were decoded in groups, instead of leaving it waiting for
/// that piece for ever (review 13).
#[test]
fn a_panic_in_a_piece_reaches_the_caller() {
    let log: String = (0..20_000).map(|i| clean_of_len(120, i, "\n")).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let made = std::sync::atomic::AtomicUsize::new(0);
        let make = || {
            let n = made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert!(n != 5, "the sixth sink panics");
            NdjsonBuffer::default()
        };
        let stream = TextStream::new(std::io::Cursor::new(log.into_bytes())).piece_bytes(16 << 10);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Decoder::new()
                .decode_text_stream(stream, make, |_: Done<'_, NdjsonBuffer>| Ok(Next::Continue))
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

/// A log of `lines` (`(kind, line end)`: blank, comment or record; LF, CRLF or lone CR), its
/// last line's break dropped unless `last_break`.
fn mixed_line_ends(lines: &[(u8, u8)], last_break: bool) -> Vec<u8> {
    let mut log = Vec::new();
    for (i, &(kind, eol)) in lines.iter().enumerate() {
        match kind {
            0 => {}
            1 => log.extend_from_slice(b"# rotated"),
            _ => log.extend_from_slice(
                format!("20240615 10:31:00,h,u{i},l,1,{i},QUERY,,'SELECT {i}',0").as_bytes(),
            ),
        }
        if last_break || i + 1 < lines.len() {
            log.extend_from_slice([&b"\n"[..], b"\r\n", b"\r"][usize::from(eol % 3)]);
        }
    }
    log
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Line numbers across piece boundaries: a piece's first line comes from the line breaks
    /// of the pieces before it, counted by the reading thread when pieces are decoded in
    /// parallel and by each piece's decode when they are decoded one at a time. LF, CRLF and
    /// lone CR, blank lines, comments and a last line with no break, in pieces of any size:
    /// the same lines as read whole, on one thread and on two.
    #[test]
    fn line_numbers_cross_pieces_with_any_line_ends(
        lines in prop::collection::vec((0u8..6, 0u8..3), 1..400),
        last_break in any::<bool>(),
        piece in 64usize..6_000,
    ) {
        every_way(&mixed_line_ends(&lines, last_break), piece)?;
    }
}

/// Gives its text, then fails.
struct FailsAfter(std::io::Cursor<Vec<u8>>);

impl std::io::Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(std::io::Error::other("disk gone")),
            n => Ok(n),
        }
    }
}

/// A read that fails is reported at the line after the last break read, whether the pieces'
/// line breaks were counted by the reading thread (two threads) or by their decode (one):
/// with the text ending in a break, and in the middle of a line.
#[test]
fn a_read_error_names_the_line_it_stopped_at() {
    let lines: Vec<(u8, u8)> = (0u16..3000)
        .map(|i| (2 + (i % 4) as u8, (i % 3) as u8))
        .collect();
    for last_break in [true, false] {
        let log = mixed_line_ends(&lines, last_break);
        let breaks = rdsaudit::input::text::count_lines(&log);
        for parallel in [false, true] {
            let stream =
                TextStream::new(FailsAfter(std::io::Cursor::new(log.clone()))).piece_bytes(4 << 10);
            let decoder = Decoder::builder().parallel(parallel).build();
            let stopped = decoder.decode_text_stream(
                stream,
                NdjsonBuffer::default,
                |_: Done<'_, NdjsonBuffer>| Ok(Next::Continue),
            );
            let Err(rdsaudit::decoder::StopError::Read { line, .. }) = stopped else {
                panic!("no read error: {stopped:?}");
            };
            assert_eq!(
                line,
                breaks + 1,
                "last break {last_break}, parallel {parallel}"
            );
        }
    }
}

/// A followed file's reads: each of `reads` in turn, in reads as large as asked for (the
/// last one short: the writer paused), `None` the file rotated
/// ([`rdsaudit::input::stream::next_file`]); then the end.
struct Rotating(std::collections::VecDeque<Option<Vec<u8>>>);

impl std::io::Read for Rotating {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        match self.0.pop_front() {
            Some(Some(mut data)) => {
                let n = data.len().min(out.len());
                out[..n].copy_from_slice(&data[..n]);
                if n < data.len() {
                    self.0.push_front(Some(data.split_off(n)));
                }
                Ok(n)
            }
            Some(None) => Err(rdsaudit::input::stream::next_file()),
            None => Ok(0),
        }
    }
}

/// Events as NDJSON, and the line numbers of the lines that did not parse.
#[derive(Default)]
struct Lines {
    events: NdjsonBuffer,
    unparsed: Vec<Option<u64>>,
}

impl rdsaudit::Sink for Lines {
    fn event(&mut self, event: &rdsaudit::AuditEvent<'_>) {
        self.events.event(event);
    }

    fn unparsed(&mut self, line: &rdsaudit::sink::UnparsedLine<'_>) {
        self.unparsed.push(line.line_number);
    }
}

/// A followed file rotated twice (renamed away or truncated), each file written at once: each
/// file's events are those of that file read whole (in pieces of 1 KiB here), line numbers
/// from 1 (`line`: per file), its flags its own (a dirty line in the old file flags nothing
/// in the new one), and a last line not whole is kept as it is, not joined to the next
/// file's first line (they went on counting, and the two were read as one line).
#[test]
fn a_rotated_follow_reads_each_file_as_it_would_be_read_alone() {
    let clean = |ids: std::ops::Range<u64>| -> Vec<u8> {
        ids.flat_map(|i| {
            format!("20240615 10:31:00,h,u,l,1,{i},QUERY,,'SELECT {i}',0\n").into_bytes()
        })
        .collect()
    };
    let mut old = clean(0..30);
    old.extend_from_slice(b"20240615 10:31:00,h,new\nuser,l,1,0,CONNECT,,,0\n");
    old.extend_from_slice(&clean(30..35));
    old.extend_from_slice(b"20240615 10:31:00,h,u,l,1,99,QU");
    let new = clean(100..400);
    let last = clean(200..203);
    let mut want = whole(&old).0;
    want.extend_from_slice(&whole(&new).0);
    want.extend_from_slice(&whole(&last).0);
    for parallel in [false, true] {
        let reads = [
            Some(old.clone()),
            None,
            Some(new.clone()),
            None,
            Some(last.clone()),
        ];
        let stream = TextStream::new(Rotating(reads.into_iter().collect()))
            .piece_bytes(1 << 10)
            .live(true);
        let decoder = Decoder::builder().parallel(parallel).build();
        let (mut out, mut unparsed) = (Vec::new(), Vec::new());
        decoder
            .decode_text_stream(stream, Lines::default, |done: Done<'_, Lines>| {
                out.extend_from_slice(&done.sink.events.out);
                unparsed.extend_from_slice(&done.sink.unparsed);
                Ok(Next::Continue)
            })
            .unwrap();
        let lines = |ndjson: &[u8]| -> Vec<String> {
            String::from_utf8_lossy(ndjson)
                .lines()
                .map(str::to_owned)
                .collect()
        };
        let (got, wanted) = (lines(&out), lines(&want));
        for (i, (g, w)) in got.iter().zip(&wanted).enumerate() {
            assert_eq!(g, w, "event {i}, parallel: {parallel}");
        }
        assert_eq!(got.len(), wanted.len(), "parallel: {parallel}");
        // The old file's last line, not whole: its own line number.
        assert_eq!(unparsed, [Some(38)], "parallel: {parallel}");
    }
}
