//! `rdsaudit parse` on every input kind: each event must carry exactly what the generator
//! meant, for every dialect, with the hard cases included.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use cli_common::*;
use rdsaudit_synth::delivery::awslogs_event;

#[test]
fn kinesis_event_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    for dialect in DIALECTS {
        let corpus = corpus(dialect, 12, 8, 40);
        // Named like a log file: detection goes by content.
        let path = write(dir.path(), "audit.log", &corpus.kinesis_event());
        let (code, events, stderr) = parse(&[path.as_os_str()]);
        assert_eq!(code, 0, "{stderr}");
        let lines: Vec<_> = corpus.lines().collect();
        assert_eq!(events.len(), lines.len());
        for (v, line) in events.iter().zip(&lines) {
            assert_event(v, line, true);
        }
        // Every record's events carry that record's Kinesis and CloudWatch provenance.
        let mut it = events.iter();
        for record in &corpus.records {
            for _ in &record.lines {
                let v = it.next().unwrap();
                assert_eq!(v["sequence_number"], record.sequence_number);
                assert_eq!(v["log_group"], record.log_group);
                assert_eq!(v["log_stream"], record.log_stream);
            }
        }
        assert_eq!(balanced(&stderr, "records"), [12, 0, 0]);
        assert_eq!(balanced(&stderr, "audit lines"), [96, 0]);
    }
}

#[test]
fn awslogs_event_raw_gzip_and_envelope_json() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::MariaDb, 1, 30, 50);
    let record = &corpus.records[0];
    let envelope = record.envelope();
    let inputs = [
        ("awslogs", awslogs_event(&flate2_gzip(&envelope))),
        ("payload.json", flate2_gzip(&envelope)),
        ("payload.gz", envelope.clone()),
    ];
    for (name, bytes) in inputs {
        let path = write(dir.path(), name, &bytes);
        let (code, events, stderr) = parse(&[path.as_os_str()]);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert_eq!(events.len(), 30, "{name}");
        for (v, line) in events.iter().zip(&record.lines) {
            assert_event(v, line, true);
            assert_eq!(v["log_group"], "/aws/rds/instance/mariadb-prod/audit");
            assert!(
                v.get("sequence_number").is_none(),
                "{name}: no Kinesis here"
            );
        }
    }
}

#[test]
fn plain_text_and_gzip_text_keep_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for dialect in DIALECTS {
        let corpus = corpus(dialect, 5, 40, 60);
        let text = corpus.plain_text();
        for (name, bytes) in [("a.json", text.clone()), ("a.log.gz", flate2_gzip(&text))] {
            let path = write(dir.path(), name, &bytes);
            let (code, events, stderr) = parse(&[path.as_os_str()]);
            assert_eq!(code, 0, "{stderr}");
            assert_eq!(events.len(), 200);
            for (i, (v, line)) in events.iter().zip(corpus.lines()).enumerate() {
                assert_event(v, line, false);
                assert_eq!(v["line"], i + 1);
            }
            assert_eq!(balanced(&stderr, "audit lines"), [200, 0]);
        }
    }
}

#[test]
fn stdin_dash_and_no_path() {
    let corpus = corpus(rdsaudit::Dialect::Aurora, 3, 5, 30);
    let event = corpus.kinesis_event();
    for args in [&["parse", "-"][..], &["parse"][..]] {
        let out = rdsaudit()
            .args(args)
            .write_stdin(event.clone())
            .output()
            .unwrap();
        assert!(out.status.success());
        let events = ndjson(&out.stdout);
        assert_eq!(events.len(), 15);
        for (v, line) in events.iter().zip(corpus.lines()) {
            assert_event(v, line, true);
        }
        assert!(String::from_utf8_lossy(&out.stderr).contains("records:    3 = 3 data"));
    }
}

#[test]
fn several_inputs_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = corpus(rdsaudit::Dialect::Aurora, 2, 3, 0);
    let b = corpus(rdsaudit::Dialect::RdsMySql, 1, 4, 0);
    let pa = write(dir.path(), "a", &a.kinesis_event());
    let pb = write(dir.path(), "b", &b.plain_text());
    let (code, events, stderr) = parse(&[pa.as_os_str(), pb.as_os_str()]);
    assert_eq!(code, 0);
    let lines: Vec<_> = a.lines().chain(b.lines()).collect();
    assert_eq!(events.len(), 10);
    for (i, (v, line)) in events.iter().zip(lines).enumerate() {
        assert_event(v, line, i < 6);
    }
    assert_eq!(balanced(&stderr, "inputs"), [2, 0, 0]);
}

#[test]
fn input_kind_override() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::Aurora, 1, 6, 0);
    let envelope = write(dir.path(), "e", &corpus.records[0].envelope());
    let (code, events, _) = parse(&[
        "--input".as_ref(),
        "cloudwatch-json".as_ref(),
        envelope.as_os_str(),
    ]);
    assert_eq!((code, events.len()), (0, 6));
    // Told it is a Kinesis event, an envelope is rejected as a whole, with a reason.
    let (code, events, stderr) =
        parse(&["--input".as_ref(), "kinesis".as_ref(), envelope.as_os_str()]);
    assert_eq!((code, events.len()), (1, 0));
    assert!(stderr.contains("e: not a Lambda Kinesis event"), "{stderr}");
    // Told it is text, the envelope's lines are not audit lines: one unparsed record.
    let (code, events, stderr) =
        parse(&["--input".as_ref(), "text".as_ref(), envelope.as_os_str()]);
    assert_eq!((code, events.len()), (1, 0));
    assert_eq!(balanced(&stderr, "audit lines"), [0, 1]);
    let gz = write(dir.path(), "g", &flate2_gzip(&corpus.records[0].envelope()));
    let (code, events, _) = parse(&[
        "--input".as_ref(),
        "cloudwatch-gzip".as_ref(),
        gz.as_os_str(),
    ]);
    assert_eq!((code, events.len()), (0, 6));
}

/// A Kinesis event file of more than 1 MiB is read in two halves at once (more than 2 MiB:
/// into a buffer given huge pages where the kernel has them): its events are those of the
/// same bytes read from stdin in one go (apart from the `file` key), on one thread and on
/// two.
#[test]
fn a_large_event_file_reads_as_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::RdsMySql, 260, 200, 30);
    let event = corpus.kinesis_event();
    assert!(event.len() > 2 << 20, "{} bytes", event.len());
    let path = write(dir.path(), "event.json", &event);
    let piped = rdsaudit()
        .args(["--threads", "1", "parse", "-"])
        .write_stdin(event)
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(0));
    let want = ndjson(&piped.stdout);
    assert_eq!(want.len(), 260 * 200);
    for threads in ["1", "2"] {
        let out = rdsaudit()
            .args(["--threads", threads, "parse"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let mut got = ndjson(&out.stdout);
        for v in &mut got {
            assert_eq!(v["file"], path.to_str().unwrap());
            v.as_object_mut().unwrap().remove("file");
        }
        assert_eq!(got, want, "--threads {threads}");
    }
}
