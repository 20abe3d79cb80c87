//! Bad input: a one-line error naming the file and the record or line, good records still
//! emitted, failures counted in a summary that adds up, exit status 1 (2 for unreadable
//! inputs), never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use cli_common::*;
use rdsaudit_synth::delivery::{KinesisRecord, base64, control_message, kinesis_event};
use rdsaudit_synth::{Corpus, SynthLine};

fn event_with(corpus: &Corpus, replace: &[(usize, String)]) -> Vec<u8> {
    let mut records: Vec<KinesisRecord> = corpus.kinesis_records();
    for (i, data) in replace {
        records[*i].data = data.clone();
    }
    kinesis_event(&records)
}

/// Lines of every record except those listed.
fn lines_except<'c>(corpus: &'c Corpus, skip: &[usize]) -> Vec<&'c SynthLine> {
    let kept = corpus
        .records
        .iter()
        .enumerate()
        .filter(|(i, _)| !skip.contains(i));
    kept.flat_map(|(_, r)| r.lines.iter()).collect()
}

#[test]
fn broken_records_among_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::Aurora, 8, 5, 20);
    let truncated_gzip = flate2_gzip(&corpus.records[5].envelope());
    let event = event_with(
        &corpus,
        &[
            (2, "!!! not base64 !!!".to_owned()),
            (5, base64(&truncated_gzip[..truncated_gzip.len() / 2])),
            (6, base64(&flate2_gzip(&control_message()))),
        ],
    );
    let path = write(dir.path(), "batch.json", &event);
    let (code, events, stderr) = parse(&[path.as_os_str()]);
    assert_eq!(code, 1);
    let good = lines_except(&corpus, &[2, 5, 6]);
    assert_eq!(events.len(), good.len());
    for (v, line) in events.iter().zip(good) {
        assert_event(v, line, true);
    }
    let seq = |i: usize| &corpus.records[i].sequence_number;
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(": record ")).collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    let base64_error = format!("batch.json: record 3 (sequence {}): base64: ", seq(2));
    assert!(
        errors[0].starts_with("rdsaudit: ") && errors[0].contains(&base64_error),
        "{stderr}"
    );
    assert!(
        errors[1].contains(&format!(
            "batch.json: record 6 (sequence {}): gzip: ",
            seq(5)
        )),
        "{stderr}"
    );
    assert_eq!(balanced(&stderr, "records"), [5, 1, 2]);
    assert_eq!(balanced(&stderr, "audit lines"), [25, 0]);
    assert!(stderr.contains("(base64: 1, gzip: 1)"), "{stderr}");
}

#[test]
fn control_messages_are_skipped_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::RdsMySql, 3, 2, 0);
    let event = event_with(&corpus, &[(1, base64(&flate2_gzip(&control_message())))]);
    let (code, events, stderr) = parse(&[write(dir.path(), "k", &event).as_os_str()]);
    assert_eq!((code, events.len()), (0, 4), "{stderr}");
    assert_eq!(balanced(&stderr, "records"), [2, 1, 0]);
}

#[test]
fn truncated_gzip_files() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::MariaDb, 1, 50, 20);
    let payload = flate2_gzip(&corpus.records[0].envelope());
    let path = write(dir.path(), "payload.gz", &payload[..payload.len() - 9]);
    let (code, events, stderr) = parse(&[path.as_os_str()]);
    assert_eq!((code, events.len()), (1, 0));
    assert!(stderr.contains("payload.gz: record 1: gzip: "), "{stderr}");
    assert_eq!(balanced(&stderr, "records"), [0, 0, 1]);
    let text = flate2_gzip(&corpus.plain_text());
    let path = write(dir.path(), "audit.log.gz", &text[..text.len() / 2]);
    let (code, events, stderr) = parse(&["--input".as_ref(), "text".as_ref(), path.as_os_str()]);
    assert_eq!(code, 1);
    // Streamed: the lines before the cut are read, then the error says where it stopped.
    assert!(!events.is_empty() && events.len() < 50, "{stderr}");
    assert!(
        stderr.contains("audit.log.gz: gzip stream failed at compressed byte "),
        "{stderr}"
    );
    assert_eq!(balanced(&stderr, "inputs"), [1, 0, 0]);
    assert_eq!(balanced(&stderr, "records"), [0, 0, 1]);
}

/// A gzip text whose first match reaches back before the start of the stream is corrupt, as
/// zlib says, in both readers: flate2's default backend (miniz_oxide) read it from a zeroed
/// window, so this file (100,000 zero bytes, CRC-32 right) streamed as one line of NULs.
#[test]
fn a_gzip_match_before_the_stream_start_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let gz = include_bytes!("../../rdsaudit/tests/fixtures/distance-too-far.gz");
    let path = write(dir.path(), "zeros.log.gz", gz);
    let (code, events, stderr) = parse(&["--input".as_ref(), "text".as_ref(), path.as_os_str()]);
    assert_eq!((code, events.len()), (1, 0), "{stderr}");
    assert!(
        stderr.contains("zeros.log.gz: gzip stream failed at compressed byte "),
        "{stderr}"
    );
    assert!(!stderr.contains("\\0"), "{stderr}");
    let (code, events, stderr) = parse(&[path.as_os_str()]);
    assert_eq!((code, events.len()), (1, 0), "{stderr}");
    assert!(
        stderr.contains("zeros.log.gz: record 1: gzip: "),
        "{stderr}"
    );
}

/// Review 8 (F4): a streamed gzip text is checked only at its end. When its CRC-32 fails (or
/// it ends in its trailer), every event was already written: the error says so, names the
/// last line read and the compressed byte, and the rest is one failed `gzip` record kept in
/// `--rejects` (it was "not an event/payload", "after line 51" of 50, nothing in rejects).
#[test]
fn a_streamed_gzip_that_fails_its_check_is_a_failed_record_after_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let text = corpus(rdsaudit::Dialect::MariaDb, 1, 50, 0).plain_text();
    let lines = text.iter().filter(|b| **b == b'\n').count();
    let gz = flate2_gzip(&text);
    let (code, whole, stderr) = parse(&[write(dir.path(), "good.log.gz", &gz).as_os_str()]);
    assert_eq!(code, 0, "{stderr}");
    let mut flipped = gz.clone();
    let crc = flipped.len() - 8;
    flipped[crc] ^= 0x55;
    let cut = &gz[..gz.len() - 4];
    for (name, bytes, cause) in [
        ("flip.log.gz", &flipped[..], "checksum"),
        ("cut.log.gz", cut, "end of file"),
    ] {
        let path = write(dir.path(), name, bytes);
        let rejects = dir.path().join(format!("{name}.rejects"));
        let (code, events, stderr) =
            parse(&["--rejects".as_ref(), rejects.as_os_str(), path.as_os_str()]);
        assert_eq!(code, 1, "{stderr}");
        let unnamed = |v: &[serde_json::Value]| -> Vec<serde_json::Value> {
            let mut v = v.to_vec();
            for e in &mut v {
                e.as_object_mut().unwrap().remove("file");
            }
            v
        };
        assert_eq!(
            unnamed(&events),
            unnamed(&whole),
            "{name}: every event was written before the check"
        );
        let said = format!(
            "{name}: gzip stream failed at compressed byte {}, after line {lines}: ",
            bytes.len()
        );
        assert!(stderr.contains(&said), "{said}\n{stderr}");
        assert!(stderr.contains(cause), "{stderr}");
        assert!(
            stderr.contains(
                "the events before it from this file were written before the check failed"
            ),
            "{stderr}"
        );
        assert_eq!(balanced(&stderr, "inputs"), [1, 0, 0]);
        assert_eq!(balanced(&stderr, "records"), [0, 0, 1]);
        assert!(stderr.contains("failed (gzip: 1)"), "{stderr}");
        let kept = ndjson(&std::fs::read(&rejects).unwrap());
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(kept[0]["kind"], "record");
        assert_eq!(kept[0]["reason"], "gzip");
        assert_eq!(kept[0]["offset"], bytes.len() as u64);
        assert_eq!(kept[0]["file"], path.to_str().unwrap());
    }
}

#[test]
fn not_json() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("cut.json", &br#"{"Records":[{"kinesis":{"data":"#[..]),
        ("awslogs.json", br#"{"awslogs":{"data":5}}"#),
    ] {
        let path = write(dir.path(), name, bytes);
        let (code, events, stderr) = parse(&[path.as_os_str()]);
        assert_eq!((code, events.len()), (1, 0));
        let first = stderr.lines().next().unwrap();
        assert!(
            first.starts_with(&format!("rdsaudit: {}: not a ", path.display())),
            "{stderr}"
        );
        assert_eq!(balanced(&stderr, "inputs"), [0, 1, 0]);
    }
}

/// `aws logs` output that is not JSON: the error names the line, column and byte of the fault
/// in the file (simd-json said "at byte 1" for a bad escape on line 3) and the shape expected.
#[test]
fn logs_api_output_that_is_not_json_names_where_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let page = r#"{"events":[{"timestamp":1714564800123,"message":"20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0"}]}"#;
    let bad = "{\"events\":[{\"timestamp\":1714564800124,\n  \"message\":\"a\\qb\"}]}\n";
    // A bad page after a good one is one failed event kept whole, the good page read
    // (session 31; the whole output was refused).
    let two = write(
        dir.path(),
        "pages.json",
        format!("{page}\n{bad}").as_bytes(),
    );
    let (code, events, stderr) = parse(&[two.as_os_str()]);
    assert_eq!((code, events.len()), (1, 1), "{stderr}");
    let at = page.len() + 1;
    assert!(
        stderr.contains(&format!("page 2 does not read from byte {at} to the end of the input (kept whole; its events before are read): invalid JSON at byte {}: invalid escape", at + bad.find('\\').unwrap())),
        "{stderr}"
    );
    // Alone, the page is the output: refused, named where.
    let path = write(dir.path(), "page.json", format!("\n{bad}").as_bytes());
    let (code, events, stderr) = parse(&[path.as_os_str()]);
    assert_eq!((code, events.len()), (1, 0), "{stderr}");
    let offset = 1 + bad.find('\\').unwrap();
    assert_eq!(
        stderr.lines().next().unwrap(),
        format!(
            "rdsaudit: {}: invalid JSON at line 3, column 15 (byte {offset}): invalid escape; \
             expected `aws logs filter-log-events` / `get-log-events` output: {{\"events\":[...]}}",
            path.display()
        )
    );
    assert_eq!(balanced(&stderr, "inputs"), [0, 1, 0]);
}

/// Session 28 review: an event of `aws logs` output that did not read, or whose message is no
/// audit line, was said to be in "record 1" (a chunk of 4096 events) as "event ?". Session 29
/// (F6, F7): an event without an id (`get-log-events` output) was named by nothing, a line of
/// its message by that line as if it were the file's, and pages were numbered from 0. Each
/// is named by its page (when there are several) and its 1-based index in the page's
/// `events`, its id beside them, the line within its message; on stderr and in `--rejects`.
#[test]
fn a_logs_api_event_is_named_by_what_is_known_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let page1 = concat!(
        r#"{"events":[{"timestamp":1714564800123,"message":"20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0"},"#,
        r#"{"timestamp":1714564800124},"#,
        r#"{"timestamp":1714564800125,"message":"not an audit line"},"#,
        r#"{"timestamp":1714564800126,"message":"neither","eventId":"3760"}]}"#,
    );
    let page2 = r#"{"events":[{"timestamp":1714564800127,"message":"junk\n20240501 12:00:01,x"}]}"#;
    let path = write(
        dir.path(),
        "api.json",
        format!("{page1}\n{page2}\n").as_bytes(),
    );
    let out = dir.path().join("rejects.ndjson");
    let (code, events, stderr) = parse(&[
        std::ffi::OsStr::new("--rejects"),
        out.as_os_str(),
        path.as_os_str(),
    ]);
    assert_eq!((code, events.len()), (1, 1), "{stderr}");
    let said: Vec<_> = stderr.lines().take(5).collect();
    let name = path.display();
    let raw = r#"{"timestamp":1714564800124}"#;
    assert_eq!(
        said[0],
        format!(
            "rdsaudit: {name}: page 1, event 2: `message` should be a string, found missing: {raw:?}"
        )
    );
    let starts = |i: usize, with: &str| {
        let line = said[i];
        assert!(
            line.starts_with(&format!(
                "rdsaudit: {name}: {with}: line does not start with"
            )),
            "{stderr}"
        );
    };
    starts(1, "page 1, event 3");
    assert!(said[1].ends_with(r#": "not an audit line""#), "{stderr}");
    starts(2, "page 1, event 4 (id 3760)");
    starts(3, "page 2, event 1, line 1");
    assert!(said[3].ends_with(r#": "junk""#), "{stderr}");
    assert!(
        said[4].starts_with(&format!("rdsaudit: {name}: page 2, event 1, line 2: ")),
        "{stderr}"
    );
    assert!(
        !stderr.contains('?') && !stderr.contains("record 1"),
        "{stderr}"
    );
    let kept: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let places: Vec<_> = kept
        .iter()
        .map(|r| (r["page"].as_u64(), r["event"].as_u64(), r["line"].as_u64()))
        .collect();
    assert_eq!(
        places,
        [
            (Some(1), Some(2), None),
            (Some(1), Some(3), None),
            (Some(1), Some(4), None),
            (Some(2), Some(1), Some(1)),
            (Some(2), Some(1), Some(2)),
        ]
    );
    assert_eq!(
        kept[0]["error"],
        "`message` should be a string, found missing"
    );
    // One page: no page named.
    let path = write(dir.path(), "one.json", page1.as_bytes());
    let (_, _, stderr) = parse(&[path.as_os_str()]);
    let name = path.display();
    assert!(
        stderr.starts_with(&format!("rdsaudit: {name}: event 2: `message` should be")),
        "{stderr}"
    );
}

/// Base64 in the URL-safe alphabet, in a Lambda event's record or pasted alone, is named as
/// such at its first `-` or `_` (it was a bare "Invalid symbol 95, offset 7", and a pasted one
/// was read as a line of audit text that names no timestamp).
#[test]
fn url_safe_base64_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::Aurora, 3, 5, 0);
    // A payload whose standard base64 holds a `+` or `/`: the URL-safe one differs.
    let (index, standard) = corpus
        .kinesis_records()
        .iter()
        .map(|r| r.data.clone())
        .enumerate()
        .find(|(_, d)| d.contains(['+', '/']))
        .unwrap();
    let url_safe = standard.replace('+', "-").replace('/', "_");
    let at = url_safe.find(['-', '_']).unwrap();
    let byte = &url_safe[at..=at];
    let said = format!(
        "URL-safe base64 ('{byte}' at offset {at}): Kinesis data is standard base64, with '+' and '/'"
    );
    let event = event_with(&corpus, &[(index, url_safe.clone())]);
    let path = write(dir.path(), "batch.json", &event);
    let (code, events, stderr) = parse(&[path.as_os_str()]);
    assert_eq!((code, events.len()), (1, 10), "{stderr}");
    let seq = &corpus.records[index].sequence_number;
    assert_eq!(
        stderr.lines().next().unwrap(),
        format!(
            "rdsaudit: {}: record {} (sequence {seq}): base64: {said}",
            path.display(),
            index + 1
        )
    );
    let pasted = write(dir.path(), "data.txt", format!("{url_safe}\n").as_bytes());
    let (code, events, stderr) = parse(&[pasted.as_os_str()]);
    assert_eq!((code, events.len()), (1, 0), "{stderr}");
    let first = stderr.lines().next().unwrap();
    assert!(first.ends_with(&format!(": {said}")), "{stderr}");
    assert_eq!(balanced(&stderr, "inputs"), [0, 1, 0]);
}

#[test]
fn unparsed_lines_in_a_text_file() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::RdsMySql, 1, 10, 30);
    let mut text = Vec::new();
    for (i, line) in corpus.lines().enumerate() {
        text.extend_from_slice(&line.line);
        text.push(b'\n');
        if i == 3 {
            text.extend_from_slice(b"20240323 13:36:09,ip-172-17-4-137,app,10.0.0.1,5,77,QUERY,shop,'SELECT 1',notanumber,,\n");
        }
    }
    let path = write(dir.path(), "audit.log", &text);
    let (code, events, stderr) = parse(&[path.as_os_str()]);
    assert_eq!((code, events.len()), (1, 10));
    for (v, line) in events.iter().zip(corpus.lines()) {
        assert_event(v, line, false);
    }
    assert!(
        stderr.contains("audit.log: line 5: the field at byte 74 is not a return code"),
        "{stderr}"
    );
    assert_eq!(balanced(&stderr, "audit lines"), [10, 1]);
}

#[test]
fn many_failures_are_capped_but_all_counted() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "20240323 13:36:09,h,u,l,1,2,QUERY,db,'x',oops\n".repeat(30);
    let (code, _, stderr) = parse(&[write(dir.path(), "bad.log", bad.as_bytes()).as_os_str()]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("bad.log: line "))
            .count(),
        20
    );
    assert!(
        stderr.contains("bad.log: 10 more errors not shown"),
        "{stderr}"
    );
    assert_eq!(balanced(&stderr, "audit lines"), [0, 30]);
}

#[test]
fn unreadable_input_exits_2_and_the_others_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::Aurora, 1, 4, 0);
    let good = write(dir.path(), "good.log", &corpus.plain_text());
    let missing = dir.path().join("missing.log");
    let (code, events, stderr) = parse(&[missing.as_os_str(), good.as_os_str()]);
    assert_eq!((code, events.len()), (2, 4));
    assert!(
        stderr.starts_with(&format!("rdsaudit: {}: ", missing.display())),
        "{stderr}"
    );
    assert_eq!(balanced(&stderr, "inputs"), [1, 0, 1]);
}

#[test]
fn quiet_silences_the_summary_not_the_errors() {
    let out = rdsaudit()
        .args(["parse", "--quiet"])
        .write_stdin("20240323 13:36:09,h,u,l,1,2,QUERY,db,'x',oops\n20240323 13:36:09,h,u,l,1,3,QUERY,db,'y',0\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(ndjson(&out.stdout).len(), 1);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().collect::<Vec<_>>().len(), 1, "{stderr}");
    assert!(stderr.starts_with("rdsaudit: -: line 1: "), "{stderr}");
}

/// Review of session 28: a sequence number or event id holding a line break forged error
/// and summary lines on stderr, and an ESC reached the terminal. Ids with a control
/// character are shown quoted with escapes, one error a line.
#[test]
fn ids_from_the_input_cannot_forge_stderr_lines() {
    let dir = tempfile::tempdir().unwrap();
    let forged = "1\nrdsaudit: summary\n  inputs: 0\u{1b}[2J";
    let id = serde_json::to_string(forged).unwrap();
    let event = format!(r#"{{"Records":[{{"kinesis":{{"sequenceNumber":{id}}}}}]}}"#);
    let logs = format!(r#"{{"events":[{{"eventId":{id},"timestamp":1,"message":"x"}}]}}"#);
    for (name, text) in [("event.json", event), ("logs.json", logs)] {
        let path = write(dir.path(), name, text.as_bytes());
        let (code, _, stderr) = parse(&[path.as_os_str()]);
        assert_eq!(code, 1, "{stderr}");
        let summaries = stderr
            .lines()
            .filter(|l| l.starts_with("rdsaudit: summary"));
        assert_eq!(summaries.count(), 1, "{stderr}");
        assert!(!stderr.contains('\u{1b}'), "{stderr}");
        assert!(stderr.contains(r#""1\nrdsaudit: summary"#), "{stderr}");
    }
}
