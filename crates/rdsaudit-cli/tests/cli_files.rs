//! Several inputs at once: files, directories and glob patterns; every event names its file
//! (`file`) and its line in that file; `--merge` writes them in timestamp order.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use std::ffi::OsStr;
use std::path::Path;

use cli_common::*;
use serde_json::Value;

/// An upstream MariaDB QUERY line at `sec` seconds past 10:00:00 with statement `sql`.
fn line(sec: u32, sql: &str) -> String {
    format!(
        "20240615 10:{:02}:{:02},db1,app,10.0.0.5,7,{sec},QUERY,shop,'{sql}',0\n",
        sec / 60,
        sec % 60
    )
}

fn os(p: &Path) -> &OsStr {
    p.as_os_str()
}

fn files_and_lines(events: &[Value]) -> Vec<(String, u64)> {
    events
        .iter()
        .map(|v| {
            (
                v["file"].as_str().unwrap_or("<none>").to_owned(),
                v["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_event_names_its_file_and_its_line_in_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.log",
        format!("{}junk\n{}", line(1, "SELECT 1"), line(2, "SELECT 2")).as_bytes(),
    );
    let b = write(
        dir.path(),
        "b.log.gz",
        &flate2_gzip(format!("{}{}", line(3, "SELECT 3"), line(4, "SELECT 4")).as_bytes()),
    );
    let (code, events, stderr) = parse(&[os(&a), os(&b)]);
    assert_eq!(code, 1, "the junk line is a failure: {stderr}");
    let (a, b) = (a.display().to_string(), b.display().to_string());
    assert_eq!(
        files_and_lines(&events),
        [
            (a.clone(), 1),
            (a.clone(), 3),
            (b.clone(), 1),
            (b.clone(), 2)
        ]
    );
    // The error names the file and the line in it too.
    assert!(stderr.contains(&format!("{a}: line 2")), "{stderr}");
}

#[test]
fn stdin_events_have_no_file_key() {
    let out = rdsaudit()
        .args(["parse", "-"])
        .write_stdin(line(1, "SELECT 1"))
        .output()
        .unwrap();
    let events = ndjson(&out.stdout);
    assert_eq!(events.len(), 1);
    assert!(events[0].get("file").is_none(), "{}", events[0]);
    assert_eq!(events[0]["line"], 1);
}

#[test]
fn csv_has_a_file_column() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.log", line(1, "SELECT 1").as_bytes());
    let out = rdsaudit()
        .args(["parse", "--format", "csv"])
        .arg(&a)
        .output()
        .unwrap();
    let mut csv = csv::ReaderBuilder::new().from_reader(&out.stdout[..]);
    let headers = csv.headers().unwrap().clone();
    let at = headers
        .iter()
        .position(|h| h == "file")
        .expect("a file column");
    let row = csv.records().next().unwrap().unwrap();
    assert_eq!(&row[at], a.display().to_string());
}

#[test]
fn directories_and_patterns_are_read_file_by_file_in_natural_order() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("audit");
    std::fs::create_dir(&logs).unwrap();
    // RDS numbers rotated files: .2 comes before .10.
    for (name, sec) in [("audit.log.10", 10), ("audit.log.2", 2), ("audit.log", 0)] {
        write(&logs, name, line(sec, &format!("SELECT {sec}")).as_bytes());
    }
    write(&logs, ".hidden", b"not an audit log\n");
    let (code, events, stderr) = parse(&[os(&logs)]);
    assert_eq!(code, 0, "{stderr}");
    let names: Vec<&str> = events
        .iter()
        .map(|v| {
            Path::new(v["file"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["audit.log", "audit.log.2", "audit.log.10"]);
    // A pattern the shell did not expand (quoted) is expanded by rdsaudit.
    let pattern = logs.join("audit.log.*");
    let (code, events, _) = parse(&[os(&pattern)]);
    assert_eq!(code, 0);
    assert_eq!(events.len(), 2);
    // Nothing matched: an error naming the pattern, exit 2, the other inputs still read.
    let nothing = dir.path().join("nothing-*.log");
    let (code, events, stderr) = parse(&[os(&nothing), os(&logs.join("audit.log"))]);
    assert_eq!(code, 2);
    assert_eq!(events.len(), 1);
    assert!(stderr.contains(&*nothing.to_string_lossy()), "{stderr}");
}

#[test]
fn merge_writes_several_files_in_timestamp_order() {
    let dir = tempfile::tempdir().unwrap();
    // Two concurrent Aurora-style files whose lines interleave in time, one of them with a
    // line a little out of order (concurrent writers), and a gzip rotated file.
    let mut one = String::new();
    for sec in [1, 4, 6, 5, 9, 12] {
        one.push_str(&line(sec, &format!("SELECT {sec}")));
    }
    let mut two = String::new();
    for sec in [2, 3, 7, 8, 10] {
        two.push_str(&line(sec, &format!("SELECT {sec}")));
    }
    let one = write(dir.path(), "one.log", one.as_bytes());
    let two = write(dir.path(), "two.log", two.as_bytes());
    let three = write(
        dir.path(),
        "three.log.gz",
        &flate2_gzip(line(11, "SELECT 11").as_bytes()),
    );
    let (code, events, stderr) = parse(&[OsStr::new("--merge"), os(&one), os(&two), os(&three)]);
    assert_eq!(code, 0, "{stderr}");
    let seconds: Vec<i64> = events
        .iter()
        .map(|v| (v["timestamp_us"].as_i64().unwrap() / 1_000_000) % 60)
        .collect();
    assert_eq!(seconds, (1..=12).collect::<Vec<_>>());
    // Each event still says where it came from.
    let fourth = &events[3];
    assert_eq!(fourth["file"], one.display().to_string());
    assert_eq!(fourth["line"], 2);
    // Without --merge: file by file.
    let (_, events, _) = parse(&[os(&one), os(&two)]);
    assert_eq!(events[0]["file"], one.display().to_string());
    assert_eq!(events[6]["file"], two.display().to_string());
}

#[test]
fn merge_keeps_every_event_and_counts_the_late_ones() {
    let dir = tempfile::tempdir().unwrap();
    // One line 10,000 lines after its place: further than the merge window.
    let mut text = String::new();
    for i in 0..10_000u32 {
        text.push_str(&line(100 + i / 5, "SELECT 1"));
    }
    text.push_str(&line(0, "SELECT late"));
    let one = write(dir.path(), "one.log", text.as_bytes());
    let two = write(dir.path(), "two.log", line(5, "SELECT 5").as_bytes());
    let (code, events, stderr) = parse(&[OsStr::new("--merge"), os(&one), os(&two)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(events.len(), 10_002);
    assert!(stderr.contains("; 1 events out of order"), "{stderr}");
}

/// `--merge` reads its inputs at once, on threads; their error lines still come out in one
/// order: input by input, as given, each input's own in its order (they came out in a
/// different order from run to run).
#[test]
fn merged_error_lines_come_out_input_by_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for input in 0..3u32 {
        // Junk lines spread through each file (more than are shown for one input), so the
        // readers meet them while the others are still reading.
        let mut text = String::new();
        for i in 0..3_000u32 {
            text.push_str(&line(i / 60, "SELECT 1"));
            if i % 100 == 0 {
                text.push_str(&format!("junk {input} {i}\n"));
            }
        }
        names.push(write(
            dir.path(),
            &format!("in{input}.log"),
            text.as_bytes(),
        ));
    }
    // A missing file first, a pattern that matches nothing last (patterns are expanded
    // before the inputs are read: its line still comes in its place).
    let missing = dir.path().join("missing.log");
    let nothing = dir.path().join("nothing-*.log");
    let mut args = vec![OsStr::new("--merge"), os(&missing)];
    args.extend(names.iter().map(|p| os(p)));
    args.push(os(&nothing));
    let errors = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|l| l.starts_with("rdsaudit: ") && *l != "rdsaudit: summary")
            .map(str::to_owned)
            .collect()
    };
    let (code, events, stderr) = parse(&args);
    // An unreadable input: exit status 2.
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(events.len(), 9_000);
    let first = errors(&stderr);
    // The missing input first, then each input's 20 lines and its count of the rest, then
    // the pattern.
    assert_eq!(first.len(), 1 + 3 * 21 + 1, "{stderr}");
    assert!(first[0].contains("missing.log"), "{stderr}");
    assert!(first[64].contains("nothing-*.log"), "{stderr}");
    for (input, lines) in first[1..64].chunks(21).enumerate() {
        let name = names[input].display().to_string();
        assert!(lines.iter().all(|l| l.contains(&name)), "{stderr}");
        assert!(lines[0].contains(&format!("junk {input} 0")), "{stderr}");
        assert!(lines[20].ends_with("10 more errors not shown"), "{stderr}");
    }
    for _ in 0..4 {
        let (_, _, again) = parse(&args);
        assert_eq!(errors(&again), first);
    }
}

/// Merged SQL: each statement after the `USE` its database needs, wherever it lands; unparsed
/// lines go to the rejects file, not the output.
#[test]
fn merged_sql_keeps_each_statement_in_its_database() {
    let dir = tempfile::tempdir().unwrap();
    let one = line(1, "SELECT 1") + &line(3, "SELECT 3");
    let two = line(2, "SELECT 2").replace(",shop,", ",billing,") + &line(4, "SELECT 4");
    let one = write(dir.path(), "one.log", one.as_bytes());
    let two = write(dir.path(), "two.log", two.as_bytes());
    // In a file of its own: beside records, a line that is no record may be the rest of one
    // of their names, which flags them ambiguous (SQL then writes them as comments).
    let junk = write(dir.path(), "junk.log", b"junk\n");
    let rejects = dir.path().join("rejects.ndjson");
    let out = rdsaudit()
        .args(["parse", "-q", "--merge", "--format", "sql", "--rejects"])
        .args([os(&rejects), os(&one), os(&two), os(&junk)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "USE `shop`;\nSELECT 1;\nUSE `billing`;\nSELECT 2;\nUSE `shop`;\nSELECT 3;\nSELECT 4;\n"
    );
    let rejected = ndjson(&std::fs::read(&rejects).unwrap());
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["raw"], "junk");
    assert_eq!(rejected[0]["line"], 1);
}

/// `--merge` puts one input's own lines in time order too: its SQL is then that of the file
/// sorted by time (each `USE` where its statement lands), and, when the file is in order, its
/// SQL without `--merge`.
#[test]
fn merged_sql_of_one_file_is_its_sql_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let billing = |sec, sql| line(sec, sql).replace(",shop,", ",billing,");
    // A statement reaching the log limit: a comment that selects no database.
    let cut = format!("SELECT {}", "x".repeat(1030));
    let sorted = [
        line(1, "SELECT 1"),
        billing(2, "SELECT 2"),
        line(3, &cut),
        line(4, "SELECT 4"),
    ];
    let shuffled = [&sorted[1], &sorted[0], &sorted[2], &sorted[3]];
    let sorted = write(dir.path(), "sorted.log", sorted.concat().as_bytes());
    let shuffled = write(
        dir.path(),
        "shuffled.log",
        shuffled.map(String::as_str).concat().as_bytes(),
    );
    let sql = |merge: bool, path: &Path| {
        let mut cmd = rdsaudit();
        cmd.args(["parse", "-q", "--format", "sql"]);
        if merge {
            cmd.arg("--merge");
        }
        let out = cmd.arg(path).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let in_order = format!(
        "USE `shop`;\nSELECT 1;\nUSE `billing`;\nSELECT 2;\n\
         -- rdsaudit: not run, may be cut at the audit log limit (1024 bytes): {cut}\n\
         USE `shop`;\nSELECT 4;\n"
    );
    assert_eq!(sql(false, &sorted), in_order);
    assert_eq!(sql(true, &sorted), in_order);
    assert_eq!(sql(true, &shuffled), in_order);
    assert_eq!(
        sql(false, &shuffled),
        format!(
            "USE `billing`;\nSELECT 2;\nUSE `shop`;\nSELECT 1;\n\
             -- rdsaudit: not run, may be cut at the audit log limit (1024 bytes): {cut}\n\
             SELECT 4;\n"
        ),
        "without --merge, the file's order"
    );
}

/// Review 8 (F8): a named pipe below a directory is reported and skipped, not read (with no
/// writer, reading it would block the run for ever); the files beside it are read.
#[cfg(unix)]
#[test]
fn a_pipe_below_a_directory_is_skipped_with_a_word() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("d");
    std::fs::create_dir(&logs).unwrap();
    write(&logs, "a.log", line(1, "SELECT 1").as_bytes());
    let fifo = logs.join("b.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = rdsaudit()
        .args(["parse", "-q"])
        .arg(&logs)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(ndjson(&out.stdout).len(), 1);
    assert!(
        stderr.contains("b.fifo") && stderr.contains("not a regular file"),
        "{stderr}"
    );
}

/// Review 8 (F17): `--rejects` (and `encode --out`) naming one of the inputs, directly, as
/// `./name` or through a link, is refused before anything is written: the log stays whole.
#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "a.log", line(1, "SELECT 1").as_bytes());
    let before = std::fs::read(&log).unwrap();
    let link = dir.path().join("link.log");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&log, &link).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(&log, &link).unwrap();
    let dotted = dir.path().join(".").join("a.log");
    for (rejects, input) in [(&log, &log), (&dotted, &log), (&link, &log)] {
        let out = rdsaudit()
            .args(["parse", "--rejects"])
            .arg(rejects)
            .arg(input)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if cfg!(unix) || rejects != &link {
            assert_eq!(out.status.code(), Some(2), "{stderr}");
            assert!(stderr.contains("also an input"), "{stderr}");
        }
        assert_eq!(std::fs::read(&log).unwrap(), before);
    }
    // A glob after a forgotten rejects name: the first log is not emptied.
    let out = rdsaudit()
        .args(["encode", "--out"])
        .arg(&log)
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&log).unwrap(), before);
}
