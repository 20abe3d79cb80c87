//! `rdsaudit parse --rejects FILE`: every line and record that is not an event, kept whole
//! with where it came from and why, one JSON object per line, so it can be fixed and replayed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use cli_common::*;
use rdsaudit_synth::delivery::{KinesisRecord, base64, kinesis_event};
use serde_json::Value;

const GOOD: &str = "20240615 10:31:00,db1,app,10.0.0.5,7,1,QUERY,shop,'SELECT 1',0\n";

fn rejects(path: &Path) -> Vec<Value> {
    ndjson(&std::fs::read(path).unwrap())
}

/// The exact bytes a reject holds: `raw_base64` when present, else `raw`.
fn raw(v: &Value) -> Vec<u8> {
    match v.get("raw_base64") {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap(),
        None => v["raw"].as_str().unwrap().as_bytes().to_vec(),
    }
}

#[test]
fn every_unparsed_text_line_is_kept_whole_with_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let long_junk = format!("{},{}", "x".repeat(300), "y".repeat(300));
    let mut text = Vec::new();
    text.extend_from_slice(GOOD.as_bytes());
    text.extend_from_slice(b"20240615 10:31:01,db1,app,10.0.0.5,7,2,QUERY,shop,'SELECT 2'\n");
    text.extend_from_slice(long_junk.as_bytes());
    text.push(b'\n');
    text.extend_from_slice(b"caf\xe9 \x00 junk\r\n");
    // More bad lines than the summary keeps details of.
    for i in 0..100 {
        text.extend_from_slice(format!("junk {i}\n").as_bytes());
    }
    text.extend_from_slice(GOOD.as_bytes());
    let log = write(dir.path(), "audit.log", &text);
    let out = dir.path().join("rejects.ndjson");
    let (code, events, stderr) =
        parse(&[OsStr::new("--rejects"), out.as_os_str(), log.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(events.len(), 2);
    let got = rejects(&out);
    assert_eq!(got.len(), 103, "{stderr}");
    // The summary says where they went.
    assert!(stderr.contains(&*out.to_string_lossy()), "{stderr}");
    assert_eq!(balanced(&stderr, "audit lines"), [2, 103]);
    let name = log.display().to_string();
    for (i, v) in got.iter().enumerate() {
        assert_eq!(v["kind"], "line", "{v}");
        assert_eq!(v["file"], name, "{v}");
        assert_eq!(v["line"], i as u64 + 2, "{v}");
        assert!(v["reason"].is_string() && v["error"].is_string(), "{v}");
    }
    assert_eq!(got[0]["reason"], "MissingRetcode");
    assert_eq!(
        raw(&got[0]),
        b"20240615 10:31:01,db1,app,10.0.0.5,7,2,QUERY,shop,'SELECT 2'"
    );
    // Whole, not a 160-byte excerpt.
    assert_eq!(got[1]["raw"], long_junk);
    // Not UTF-8: the exact bytes in base64 (without its CRLF: a line break, as LF and CR are).
    assert!(got[2].get("raw_base64").is_some(), "{}", got[2]);
    assert_eq!(raw(&got[2]), b"caf\xe9 \x00 junk");
    assert_eq!(got[102]["raw"], "junk 99");
}

#[test]
fn rejects_can_be_fixed_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "20240615 10:31:01,db1,app,10.0.0.5,7,2,QUERY,shop,'SELECT 2'";
    let log = write(
        dir.path(),
        "audit.log",
        format!("{GOOD}{broken}\n").as_bytes(),
    );
    let out = dir.path().join("rejects.ndjson");
    rdsaudit()
        .args(["parse", "--quiet", "--rejects"])
        .arg(&out)
        .arg(&log)
        .output()
        .unwrap();
    // The user appends the missing return code and pipes the raw lines back in.
    let mut fixed = Vec::new();
    for v in rejects(&out) {
        fixed.extend(raw(&v));
        fixed.extend_from_slice(b",0\n");
    }
    let replay = rdsaudit()
        .args(["parse", "-"])
        .write_stdin(fixed)
        .output()
        .unwrap();
    assert!(replay.status.success());
    let events = ndjson(&replay.stdout);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["object"], "SELECT 2");
}

#[test]
fn unparsed_log_events_and_failed_records_of_a_kinesis_event() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::Aurora, 3, 2, 0);
    let mut records: Vec<KinesisRecord> = corpus.kinesis_records();
    // Record 1: a log event that is not an audit line, among good ones.
    let mut bad = corpus.records[0].clone();
    bad.lines[1].line = b"not an audit line, but kept".to_vec();
    records[0].data = base64(&flate2_gzip(&bad.envelope()));
    // Record 3: data that is not base64.
    records[2].data = "!!! not base64 !!!".to_owned();
    let event = write(dir.path(), "event.json", &kinesis_event(&records));
    let out = dir.path().join("rejects.ndjson");
    let (code, events, stderr) =
        parse(&[OsStr::new("--rejects"), out.as_os_str(), event.as_os_str()]);
    assert_eq!(code, 1);
    assert_eq!(events.len(), 3);
    let got = rejects(&out);
    assert_eq!(got.len(), 2, "{stderr}");
    let line = &got[0];
    assert_eq!(line["kind"], "line");
    assert_eq!(line["file"], event.display().to_string());
    assert_eq!(line["record"], 1);
    assert_eq!(line["sequence_number"], corpus.records[0].sequence_number);
    assert_eq!(line["event_id"], bad.lines[1].event_id);
    assert_eq!(line["log_stream"], bad.log_stream);
    assert_eq!(line["raw"], "not an audit line, but kept");
    assert_eq!(line["reason"], "Timestamp");
    let record = &got[1];
    assert_eq!(record["kind"], "record");
    assert_eq!(record["record"], 3);
    assert_eq!(record["sequence_number"], corpus.records[2].sequence_number);
    assert_eq!(record["reason"], "base64");
    assert_eq!(raw(record), b"!!! not base64 !!!");
}

#[test]
fn rejects_from_stdin_have_no_file_and_a_clean_run_writes_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rejects.ndjson");
    let run = rdsaudit()
        .args(["parse", "--rejects"])
        .arg(&out)
        .arg("-")
        .write_stdin(format!("{GOOD}junk\n"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let got = rejects(&out);
    assert_eq!(got.len(), 1);
    assert!(got[0].get("file").is_none(), "{}", got[0]);
    assert_eq!(got[0]["line"], 2);
    // Nothing rejected: the file exists and is empty, so a script can rely on it.
    let clean = dir.path().join("clean.ndjson");
    let mut f = std::fs::File::create(&clean).unwrap();
    f.write_all(b"stale\n").unwrap();
    let run = rdsaudit()
        .args(["parse", "--rejects"])
        .arg(&clean)
        .arg("-")
        .write_stdin(GOOD)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(std::fs::read(&clean).unwrap(), b"");
}

/// An input that cannot be opened (a missing file, a pattern that matches nothing) is a line
/// of its own in the rejects file too (reason `unreadable`), with and without `--merge` (in
/// the order the inputs were given without it; with it, patterns come first, as they are
/// expanded before the inputs are read).
#[test]
fn an_unreadable_input_is_in_the_rejects_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.log", GOOD.as_bytes());
    let missing = dir.path().join("missing.log");
    let nothing = dir.path().join("nothing-*.log");
    let out = dir.path().join("rejects.ndjson");
    for merge in [false, true] {
        let mut args = vec!["--rejects".as_ref(), out.as_os_str()];
        if merge {
            args.push("--merge".as_ref());
        }
        args.extend([missing.as_os_str(), good.as_os_str(), nothing.as_os_str()]);
        let (code, events, stderr) = parse(&args);
        assert_eq!((code, events.len()), (2, 1), "{stderr}");
        let kept = rejects(&out);
        let files: Vec<&str> = kept.iter().map(|r| r["file"].as_str().unwrap()).collect();
        let mut expected = [missing.to_str().unwrap(), nothing.to_str().unwrap()];
        if merge {
            expected.reverse();
        }
        assert_eq!(files, expected, "merge {merge}: {kept:?}");
        for r in &kept {
            assert_eq!(
                (&r["kind"], &r["reason"]),
                (&"input".into(), &"unreadable".into())
            );
            assert!(!r["error"].as_str().unwrap().is_empty(), "{r}");
        }
        assert!(stderr.contains("rejects:    2 written"), "{stderr}");
    }
}

/// Review 8 (F5): an input that fails whole (a Lambda event cut short, one past
/// `--max-file-size`) is a line of its own in the rejects file, not only an error on stderr.
#[test]
fn an_input_that_fails_whole_is_in_the_rejects_file() {
    let dir = tempfile::tempdir().unwrap();
    let broken = write(
        dir.path(),
        "broken.json",
        br#"{"Records":[{"kinesis":{"data":"H4sI"#,
    );
    let good = write(dir.path(), "good.log", GOOD.as_bytes());
    let out = dir.path().join("rejects.ndjson");
    let (code, events, stderr) = parse(&[
        "--rejects".as_ref(),
        out.as_os_str(),
        broken.as_os_str(),
        good.as_os_str(),
    ]);
    assert_eq!((code, events.len()), (1, 1), "{stderr}");
    let kept = rejects(&out);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["kind"], "input");
    assert_eq!(kept[0]["file"], broken.to_str().unwrap());
    assert_eq!(kept[0]["reason"], "not_an_event");
    assert!(
        kept[0]["error"]
            .as_str()
            .unwrap()
            .contains("invalid JSON at byte"),
        "{kept:?}"
    );
    assert!(stderr.contains("rejects:    1 written"), "{stderr}");
    // Past the size limit: reason too_large.
    let mut big = br#"{"Records":["#.to_vec();
    big.resize(2048, b' ');
    big.extend_from_slice(b"]}");
    let big = write(dir.path(), "big.json", &big);
    let (_, _, stderr) = parse(&[
        "--max-file-size".as_ref(),
        "1KiB".as_ref(),
        "--rejects".as_ref(),
        out.as_os_str(),
        big.as_os_str(),
    ]);
    let kept = rejects(&out);
    assert_eq!(kept.len(), 1, "{stderr}");
    assert_eq!(kept[0]["reason"], "too_large");
}

/// Review of session 27: a Logs Insights row that did not read went to `--rejects` with its
/// error text as `raw`, and one with text after a closing quote or extra fields was read from
/// some of its fields (exit 0); an unparsed syslog line's `raw` was rebuilt (a made-up audit
/// timestamp in place of its header). Each `raw` is now the bytes as they are in the file,
/// and the run exits 1.
#[test]
fn insights_rows_and_syslog_lines_are_rejected_as_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = GOOD.trim_end();
    let row = format!("2024-06-15 10:31:00.000,\"{good}\"");
    let after = format!("{row}x,\"we\"\"i,rd\r\n1\"");
    let extra = format!("{row},{good}");
    // Most of the first rows read (detection asks it of an Insights CSV).
    let rows = format!("{row}\n").repeat(5);
    let csv = format!("@timestamp,@message\n{rows}{after}\n{extra}\n");
    let csv = write(dir.path(), "insights.csv", csv.as_bytes());
    let head = "2024-06-15T10:31:00.500000+00:00 db1 mysql-server_auditing: ";
    let broken = format!("{head} db1,app,10.0.0.5,7,2,QUERY,shop,'SELECT 2'");
    let syslog = format!("{head} db1,app,10.0.0.5,7,0,DISCONNECT,shop,,0\n{broken}\n");
    let syslog = write(dir.path(), "audit.syslog", syslog.as_bytes());
    let out = dir.path().join("rejects.ndjson");
    let (code, events, stderr) = parse(&[
        OsStr::new("--rejects"),
        out.as_os_str(),
        csv.as_os_str(),
        syslog.as_os_str(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(events.len(), 6, "{stderr}");
    let got = rejects(&out);
    let seen: Vec<_> = got
        .iter()
        .map(|v| {
            let file = Path::new(v["file"].as_str().unwrap()).file_name().unwrap();
            let file = file.to_str().unwrap().to_owned();
            let raw = String::from_utf8(raw(v)).unwrap();
            (
                file,
                v["line"].as_u64(),
                v["reason"].as_str().unwrap().to_owned(),
                raw,
            )
        })
        .collect();
    let reject = |file: &str, line, reason: &str, raw: &str| {
        (
            file.to_owned(),
            Some(line),
            reason.to_owned(),
            raw.to_owned(),
        )
    };
    // A row refused for text after a quote ends with the line it is found on (where the row
    // would end cannot be told any more): the rest of a quoted field in that text is a row
    // of its own, refused too. Every byte is in one reject or another.
    let (after, rest) = after.split_once("\r\n").unwrap();
    assert_eq!(
        seen,
        [
            reject("insights.csv", 7, "InsightsRow", after),
            reject("insights.csv", 8, "InsightsRow", rest),
            reject("insights.csv", 9, "InsightsRow", &extra),
            reject("audit.syslog", 2, "MissingRetcode", &broken),
        ],
        "{stderr}"
    );
    assert!(
        got[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("text after the closing quote of field 2"),
        "{}",
        got[0]
    );
}

/// Session 28: an unparsed line of an export to S3 or of `aws logs tail` went to
/// `--rejects` without its prefix (the CloudWatch time and log stream were lost from the
/// reject, and a replay of `raw` read it as audit text). `raw` is now the line as it is in
/// the file; a continuation line (no prefix) is itself.
#[test]
fn export_lines_are_rejected_with_their_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let good = GOOD.trim_end();
    let broken = "20240615 10:31:01,db1,app,10.0.0.5,7,2,QUERY,shop,'SELECT 2'";
    let tail = format!(
        "2024-06-15T10:31:00.100000+00:00 db1 {good}\n\
         2024-06-15T10:31:01.100000+00:00 db1 {broken}\n{broken}\n\
         2024-06-15T10:31:02.100000+00:00 db1 {good}\n"
    );
    let tail = write(dir.path(), "tail.txt", tail.as_bytes());
    let out = dir.path().join("rejects.ndjson");
    let (code, events, stderr) =
        parse(&[OsStr::new("--rejects"), out.as_os_str(), tail.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(events.len(), 2, "{stderr}");
    let got: Vec<_> = rejects(&out)
        .iter()
        .map(|v| (v["line"].as_u64(), String::from_utf8(raw(v)).unwrap()))
        .collect();
    let first = format!("2024-06-15T10:31:01.100000+00:00 db1 {broken}");
    assert_eq!(
        got,
        [(Some(2), first), (Some(3), broken.to_owned())],
        "{stderr}"
    );
}

/// The `byte N` of an export's, `aws logs tail`'s or syslog's unparsed line counts from the
/// start of the line as read, the `raw` reported (and the file's line), as a user opening
/// the file would: it counted from the audit line, after the prefix (25, 39 or 62 bytes
/// early). A continuation line (no prefix) counts from its own start.
#[test]
fn byte_positions_of_prefixed_rejects_count_from_the_line_as_read() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',x";
    let record = bad.split_once(',').unwrap().1;
    let inputs = [
        (
            "export.txt",
            format!("2024-05-01T12:00:00.123Z {bad}\n{bad}\n"),
        ),
        (
            "tail.txt",
            format!("2024-05-01T12:00:00.123000+00:00 db1.audit.log {bad}\n"),
        ),
        (
            "audit.syslog",
            format!("2024-05-01T12:00:00.250000+00:00 db1 mysql-server_auditing:  db1,{record}\n"),
        ),
        // CR line ends: the same.
        ("cr.txt", format!("2024-05-01T12:00:00.123Z {bad}\r{bad}\r")),
    ];
    let mut args = vec![OsStr::new("--rejects").to_owned()];
    let out = dir.path().join("rejects.ndjson");
    args.push(out.clone().into_os_string());
    for (name, text) in &inputs {
        args.push(write(dir.path(), name, text.as_bytes()).into_os_string());
    }
    let args: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (code, events, stderr) = parse(&args);
    assert_eq!(code, 1, "{stderr}");
    assert!(events.is_empty(), "{stderr}");
    let got = rejects(&out);
    assert_eq!(got.len(), 6, "{stderr}");
    for r in &got {
        let error = r["error"].as_str().unwrap();
        let at: usize = error
            .split_once("at byte ")
            .and_then(|(_, rest)| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{error}"));
        let raw = raw(r);
        assert_eq!(raw.get(at..), Some(&b"x"[..]), "{r}");
        assert!(stderr.contains(&format!("at byte {at} ")), "{stderr}");
    }
}

/// Review of session 27: `aws logs filter-log-events` output with a `message` twice in an
/// event, or a lone surrogate escape, was read from the last `message` (exit 0) or failed
/// whole. The event fails alone, kept in `--rejects` as its JSON in the file; a second
/// `events` array fails the input, naming the key.
#[test]
fn logs_api_events_that_do_not_read_are_rejected_as_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = serde_json::to_string(GOOD.trim_end()).unwrap();
    let forged = r#""20240615 10:31:09,db1,root,10.0.0.9,1,2,QUERY,mysql,'DROP TABLE users',0""#;
    let twice =
        format!(r#"{{"logStreamName":"s","timestamp":2,"message":{good},"message":{forged}}}"#);
    let lone =
        r#"{"timestamp":3,"message":"20240615 10:31:02,db1,x\udc80,h,7,0,DISCONNECT,shop,,0"}"#;
    let api = format!(
        "{{\"events\":[{{\"logStreamName\":\"s\",\"timestamp\":1,\"message\":{good}}},\n{twice},\n{lone}]}}\n"
    );
    let api = write(dir.path(), "events.json", api.as_bytes());
    let both = format!(r#"{{"events":[],"events":[{{"timestamp":1,"message":{forged}}}]}}"#);
    let both = write(dir.path(), "both.json", both.as_bytes());
    let out = dir.path().join("rejects.ndjson");
    let (code, events, stderr) = parse(&[
        OsStr::new("--rejects"),
        out.as_os_str(),
        api.as_os_str(),
        both.as_os_str(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(events.len(), 1, "{stderr}");
    assert_eq!(events[0]["object"], "SELECT 1");
    let got = rejects(&out);
    assert_eq!(got.len(), 3, "{stderr}");
    assert_eq!(
        (got[0]["kind"].as_str(), got[0]["reason"].as_str()),
        (Some("line"), Some("LogsApiEvent"))
    );
    assert_eq!(raw(&got[0]), twice.as_bytes());
    assert_eq!(raw(&got[1]), lone.as_bytes());
    assert!(
        got[1]["error"]
            .as_str()
            .unwrap()
            .starts_with(r"lone surrogate \udc80 at byte"),
        "{}",
        got[1]
    );
    // Where it is: one page, so no page; its 1-based index in `events`.
    assert_eq!((got[1].get("page"), &got[1]["event"]), (None, &3.into()));
    assert_eq!(got[2]["kind"], "input");
    assert!(
        got[2]["error"]
            .as_str()
            .unwrap()
            .contains("the key `events` appears twice"),
        "{}",
        got[2]
    );
}

/// Session 30 (json2): `aws kinesis get-records` pages back to back, one cut short at the
/// end of the file and a stray byte between two: the good pages' events are written, each
/// bad part is one failed record whose `raw` is its bytes in the file, named on stderr by
/// page and byte (the input was refused whole: no event). A failed record whose sequence
/// number held a JSON escape keeps its bytes too (its `raw` was empty), and is reported
/// under the unescaped number.
#[test]
fn bad_get_records_pages_are_kept_whole_and_the_others_read() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::Aurora, 4, 2, 0);
    let page = |records: &[KinesisRecord]| {
        let list: Vec<String> = records
            .iter()
            .map(|r| {
                format!(
                    r#"{{"SequenceNumber":"{}","Data":"{}","PartitionKey":"k"}}"#,
                    r.sequence_number, r.data
                )
            })
            .collect();
        format!(
            "{{\"Records\":[{}],\"NextShardIterator\":\"A\"}}\n",
            list.join(",")
        )
    };
    let records = corpus.kinesis_records();
    let escaped = r#"{"SequenceNumber":"7\u0037","Data":12}"#;
    let first = page(&records[..2]).replace("\"Records\":[", &format!("\"Records\":[{escaped},"));
    let stray = "x\n";
    let last = page(&records[2..]);
    let cut = &last[..60];
    let text = format!("{first}{stray}{}{cut}", page(&records[..1]));
    let file = write(dir.path(), "pages.json", text.as_bytes());
    let out = dir.path().join("rejects.ndjson");
    let (code, events, stderr) =
        parse(&[OsStr::new("--rejects"), out.as_os_str(), file.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    // Records 1-2 (page 1) and record 1 again (page 2); page 3 cut inside its first record.
    assert_eq!(events.len(), 3 * 2, "{stderr}");
    let got = rejects(&out);
    assert_eq!(got.len(), 3, "{stderr}");
    assert_eq!(got[0]["sequence_number"], "77");
    assert_eq!(raw(&got[0]), escaped.as_bytes());
    assert_eq!(raw(&got[1]), b"x");
    let at = text.rfind(cut).unwrap();
    assert_eq!(raw(&got[2]), cut.trim_end().as_bytes());
    assert!(
        stderr.contains(&format!("text after page 1, from byte {}", first.len())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "page 3 does not read from byte {at} to the end of the input"
        )),
        "{stderr}"
    );
}

/// A log of 20,000 lines that do not read: ~4 MB of reject lines, past the 1 MiB a chunk
/// keeps in memory.
fn junk_log(dir: &Path) -> std::path::PathBuf {
    write(
        dir,
        "junk.log",
        "not an audit line\n".repeat(20_000).as_bytes(),
    )
}

/// Review 31 (advB F3): with a `TMPDIR` where no file can be made, a run with more than 1 MiB
/// of reject lines failed (exit 2) and wrote nothing; they now stay in memory, said once.
#[test]
fn reject_lines_stay_in_memory_when_no_temporary_file_can_be_made() {
    let dir = tempfile::tempdir().unwrap();
    let log = junk_log(dir.path());
    let rejects_path = dir.path().join("r.ndjson");
    let out = rdsaudit()
        .env("TMPDIR", dir.path().join("missing"))
        .args(["--threads", "1", "parse", "-q", "--rejects"])
        .arg(&rejects_path)
        .arg(&log)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("they are kept in memory").count(),
        1,
        "{stderr}"
    );
    assert_eq!(rejects(&rejects_path).len(), 20_000);
}

/// Session 32's adversary M: a temporary file that fills up after its first write (a small
/// `TMPDIR`) made the run fail (exit 2) and lose the chunk's lines and every input after
/// it. Now the file is cut back to what was whole in it and the rest stays in memory, said
/// once. The file size limit (`ulimit -f`, SIGXFSZ ignored so a write past it fails with
/// EFBIG) stands in for a full disk: it lets the first 1 MiB spill be written, not the next.
#[test]
fn reject_lines_stay_in_memory_when_the_temporary_file_fills_up() {
    let dir = tempfile::tempdir().unwrap();
    let log = junk_log(dir.path());
    let bin = assert_cmd::cargo::cargo_bin("rdsaudit");
    let out = std::process::Command::new("bash")
        .args(["-c", "trap '' XFSZ; ulimit -f 1536; exec \"$0\" \"$@\""])
        .arg(&bin)
        .args(["--threads", "1", "parse", "-q", "--rejects", "/dev/stdout"])
        .arg(&log)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("the temporary file is full").count(),
        1,
        "{stderr}"
    );
    let lines = ndjson(&out.stdout);
    assert_eq!(lines.len(), 20_000);
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(line["line"], n as u64 + 1, "every line, in order");
    }
}

/// Session 32's adversary L, F4: an output that could not be written failed the run with
/// `rdsaudit: File too large (os error 27)`, saying neither which output nor which file.
/// Standard output and the rejects file are named (exit code 2, as before); a file size
/// limit (`ulimit -f`, SIGXFSZ ignored) and `/dev/full` stand in for a full disk.
#[test]
fn a_write_error_names_the_output_that_failed() {
    let dir = tempfile::tempdir().unwrap();
    let line = "20240615 10:31:05,db1,app,10.0.0.9,7,2,QUERY,shop,'SELECT 1',0\n";
    let log = write(dir.path(), "audit.log", line.repeat(20_000).as_bytes());
    let junk = junk_log(dir.path());
    let bin = assert_cmd::cargo::cargo_bin("rdsaudit");
    // The error ends the run (a temporary file's notice may come before it).
    let last_line = |stderr: &str| stderr.lines().last().unwrap_or_default().to_owned();
    let limited = |args: &[&OsStr]| {
        std::process::Command::new("bash")
            .args([
                "-c",
                "trap '' XFSZ; ulimit -f 64; exec \"$0\" \"$@\" > \"$OUT\"",
            ])
            .env("OUT", dir.path().join("out.ndjson"))
            .arg(&bin)
            .args(args)
            .output()
            .unwrap()
    };
    let out = limited(&[OsStr::new("parse"), log.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        last_line(&stderr).starts_with("rdsaudit: writing standard output: File too large"),
        "{stderr}"
    );
    let rejects = dir.path().join("r.ndjson");
    let out = limited(&[
        OsStr::new("parse"),
        OsStr::new("--rejects"),
        rejects.as_os_str(),
        junk.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let named = format!(
        "rdsaudit: writing the rejects file {}: File too large",
        rejects.display()
    );
    assert!(last_line(&stderr).starts_with(&named), "{stderr}");
    if Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = std::process::Command::new(&bin)
            .args(["parse", "-q"])
            .arg(&log)
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            last_line(&stderr)
                .starts_with("rdsaudit: writing standard output: No space left on device"),
            "{stderr}"
        );
    }
}

/// `--rejects` to a pipe whose reader went away (`--rejects >(head -c 100)`, here
/// `/dev/stderr` on a pipe whose read end is closed): the rejects cannot be kept, an I/O error,
/// exit 2, as `--rejects /dev/full` is. Fails on eb0ec8c (session 34's adversary, SEVERE-1):
/// the rejects file's `BrokenPipe` was taken for standard output's `parse | head`, and the run
/// stopped quietly with exit 0, the event after the 200,000 lines that are no audit lines
/// never written and no word of the rejects lost.
#[test]
fn a_closed_pipe_on_the_rejects_file_is_an_error_not_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..200_000 {
        text.push_str(&format!("not an audit line {i}\n"));
    }
    text.push_str(GOOD);
    let log = write(dir.path(), "a.log", text.as_bytes());
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rdsaudit"))
        .args(["parse", "-q", "--rejects", "/dev/stderr"])
        .arg(&log)
        .stderr(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "rejects lost: an I/O error");
}
