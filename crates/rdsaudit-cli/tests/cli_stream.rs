//! Inputs of any size in bounded memory: text logs are streamed (output starts before the
//! input ends; `--follow` for a growing file or a pipe), JSON documents are read whole up to
//! `--max-file-size`, whose error names the file and the limit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use cli_common::*;
use serde_json::Value;

/// How long a test waits for an event that should come at once (generous: CI is slow).
const PATIENCE: Duration = Duration::from_secs(30);

fn line(query_id: u64) -> String {
    format!("20240615 10:31:00,db1,app,10.0.0.5,7,{query_id},QUERY,shop,'SELECT {query_id}',0\n")
}

fn spawn(args: &[&str], path: Option<&std::path::Path>) -> Killed {
    spawn_to(args, path, Stdio::null())
}

/// [`spawn`] with stderr to `stderr` (a file the test reads once the child is killed).
fn spawn_to(args: &[&str], path: Option<&std::path::Path>, stderr: impl Into<Stdio>) -> Killed {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("rdsaudit"));
    cmd.arg("parse").args(args);
    if let Some(p) = path {
        cmd.arg(p);
    }
    Killed(
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap(),
    )
}

/// A child killed when dropped, so a failing test does not leave a `--follow` running (it
/// would hold whatever the test run holds: pipes, a lock).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Killed {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Killed {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// The child's stdout, line by line, as it comes.
fn events_of(child: &mut Child) -> Receiver<Value> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                return;
            }
        }
    });
    rx
}

fn next_query_id(rx: &Receiver<Value>) -> u64 {
    let v = rx
        .recv_timeout(PATIENCE)
        .expect("an event while the input is still open");
    v["query_id"].as_u64().unwrap()
}

/// The next event's query id and line.
fn next_query_and_line(rx: &Receiver<Value>) -> (u64, u64) {
    let v = rx
        .recv_timeout(PATIENCE)
        .expect("an event while the input is still open");
    (v["query_id"].as_u64().unwrap(), v["line"].as_u64().unwrap())
}

/// Lines of clean records `from..=to`.
fn lines(from: u64, to: u64) -> String {
    (from..=to).map(line).collect()
}

/// A record goes out once the lines after it that could flag it have been read (the window
/// rule: 4 KiB of text; until then a line could still show that a raw line break in a name cut
/// it), or when the input ends. What one read brings is one piece, whose records go out
/// together: once the 4 KiB after its last record are read.
#[test]
fn output_starts_before_a_pipe_ends() {
    // `aws logs tail --follow | rdsaudit parse`: the pipe stays open.
    let mut child = spawn(&["-"], None);
    let rx = events_of(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(lines(1, 100).as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(lines(101, 1100).as_bytes()).unwrap();
    stdin.flush().unwrap();
    assert_eq!(next_query_id(&rx), 1);
    // A line written in two parts is one event, not an unparsed half.
    let last = line(1101);
    let (a, b) = last.split_at(20);
    stdin.write_all(a.as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(b.as_bytes()).unwrap();
    stdin.flush().unwrap();
    drop(stdin);
    for id in 2..=1101 {
        assert_eq!(next_query_id(&rx), id);
    }
    assert!(child.wait().unwrap().success());
}

/// `--format sql` from a pipe: each pause of the writer cuts a piece, written apart and
/// joined; a `USE` goes right before the statement that needs it, not at the start of a piece
/// that opens with a statement cut at the log limit (a comment selecting no database), so the
/// output is the same wherever the pauses fall (review 20: it moved with the pipe's reads).
#[test]
fn sql_from_a_pipe_does_not_depend_on_its_pauses() {
    let cut = format!("SELECT {}", "x".repeat(1030));
    let query = |id: u64, db: &str, sql: &str| {
        format!("20240615 10:31:00,db1,app,10.0.0.5,7,{id},QUERY,{db},'{sql}',0\n")
    };
    let input = [
        query(1, "shop", "SELECT 1"),
        query(2, "billing", &cut),
        query(3, "billing", "SELECT 3"),
        query(4, "billing", "SELECT 4"),
    ];
    let want = format!(
        "USE `shop`;\nSELECT 1;\n\
         -- rdsaudit: not run, may be cut at the audit log limit (1024 bytes): {cut}\n\
         USE `billing`;\nSELECT 3;\nSELECT 4;\n"
    );
    for threads in ["1", "2"] {
        // A pause after line 2 cuts the piece before it (its record could go on): the next
        // piece opens with the cut statement.
        for pause in 1..input.len() {
            let mut child = spawn(&["-q", "--format", "sql", "--threads", threads, "-"], None);
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input[..pause].concat().as_bytes()).unwrap();
            stdin.flush().unwrap();
            std::thread::sleep(Duration::from_millis(300));
            stdin.write_all(input[pause..].concat().as_bytes()).unwrap();
            drop(stdin);
            let mut out = String::new();
            std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
            assert!(child.wait().unwrap().success());
            assert_eq!(out, want, "--threads {threads}, a pause after line {pause}");
        }
    }
}

/// `aws logs tail --follow | rdsaudit parse`: prefixed lines, streamed too, under the window
/// rule as a plain file is (an event goes out once the 4 KiB after it are read).
#[test]
fn aws_logs_tail_output_is_streamed() {
    let mut child = spawn(&["-"], None);
    let rx = events_of(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    let tail = |id: u64| {
        format!(
            "2024-06-15T10:31:00.000000+00:00 db1.audit.log {}",
            line(id)
        )
    };
    let text = |ids: std::ops::RangeInclusive<u64>| ids.map(tail).collect::<String>();
    stdin.write_all(text(1..=50).as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    stdin.write_all(text(51..=600).as_bytes()).unwrap();
    stdin.flush().unwrap();
    // The first read's events go out while the pipe is open (the 4 KiB after them are
    // read).
    assert_eq!(next_query_id(&rx), 1);
    drop(stdin);
    for id in 2..=600 {
        assert_eq!(next_query_id(&rx), id);
    }
    assert!(child.wait().unwrap().success());
}

/// A slow writer's first read is cut short: one byte of the gzip magic, half of `aws logs
/// tail`'s prefix, half an audit line. The input's kind waits for its first whole line
/// (review 16's R16-1: the gzip stream and the prefixed text were read as audit text, every
/// line unparsed), so the events are those of the same bytes written at once.
#[test]
fn a_first_read_cut_short_decides_nothing() {
    let plain = lines(1, 40);
    let tail: String = (1..=40)
        .map(|id| {
            format!(
                "2024-06-15T10:31:00.000000+00:00 db1.audit.log {}",
                line(id)
            )
        })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(plain.as_bytes()).unwrap();
    let gzip = gz.finish().unwrap();
    for (input, first) in [
        (gzip.as_slice(), 1),
        (tail.as_bytes(), 17),
        (plain.as_bytes(), 10),
    ] {
        let mut child = spawn(&["-"], None);
        let rx = events_of(&mut child);
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&input[..first]).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        stdin.write_all(&input[first..]).unwrap();
        drop(stdin);
        for id in 1..=40 {
            assert_eq!(next_query_id(&rx), id, "first read of {first} bytes");
        }
        assert!(
            child.wait().unwrap().success(),
            "first read of {first} bytes"
        );
    }
}

#[test]
fn a_followed_file_s_rejects_are_written_as_they_are_read() {
    // A `--follow` run ends by a signal: a reject held in a buffer was lost with it (review
    // 30: SIGTERM left the rejects file empty while the events and stderr had both lines).
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{}not an audit line\n{}", lines(1, 50), lines(51, 200));
    let path = write(dir.path(), "audit.log", text.as_bytes());
    let rejects = dir.path().join("rejects.ndjson");
    let rejects_arg = rejects.to_str().unwrap();
    let mut child = spawn(&["--follow", "--rejects", rejects_arg], Some(&path));
    let rx = events_of(&mut child);
    // An event after the bad line: its chunk's rejects are written before its events.
    for id in 1..=60 {
        assert_eq!(next_query_id(&rx), id);
    }
    let written = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        written.contains(r#""raw":"not an audit line""#),
        "{written:?}"
    );
    assert!(child.try_wait().unwrap().is_none());
}

#[test]
fn follow_reads_what_is_appended_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "audit.log", lines(1, 100).as_bytes());
    let mut child = spawn(&["--follow"], Some(&path));
    let rx = events_of(&mut child);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    file.write_all(lines(101, 1100).as_bytes()).unwrap();
    file.flush().unwrap();
    assert_eq!(next_query_id(&rx), 1);
    let next = line(1101);
    let (a, b) = next.split_at(25);
    file.write_all(a.as_bytes()).unwrap();
    file.flush().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    file.write_all(format!("{b}{}", lines(1102, 1700)).as_bytes())
        .unwrap();
    file.flush().unwrap();
    // What was appended is read: the pieces 4 KiB before the end go out.
    for id in 2..=1000 {
        assert_eq!(next_query_id(&rx), id);
    }
    // It keeps waiting for more (the last lines wait for the lines after them); the user
    // stops it.
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none());
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `copytruncate` and the server writing again before the reader's next look: the file is
/// no shorter than what was read, but its bytes are new. Read from its start (review 30:
/// reading went on at the old offset, mid-line, and the 968 records before it were skipped
/// with one unparsed line to show for them).
#[test]
fn follow_reads_a_file_truncated_and_written_past_its_old_size_between_two_looks() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "server_audit.log", lines(1, 1000).as_bytes());
    let stderr = dir.path().join("stderr");
    let mut child = spawn_to(
        &["--follow"],
        Some(&path),
        std::fs::File::create(&stderr).unwrap(),
    );
    let rx = events_of(&mut child);
    for id in 1..=900 {
        assert_eq!(next_query_id(&rx), id);
    }
    std::thread::sleep(Duration::from_millis(600));
    // One write of the whole new text, longer than the old: no look sees it shorter.
    let new: String = (5001..=6500).map(line).collect();
    std::fs::write(&path, new).unwrap();
    let mut next = next_query_and_line(&rx);
    // The old file's last records go out at its end.
    while next.0 <= 1000 {
        next = next_query_and_line(&rx);
    }
    assert_eq!(next, (5001, 1));
    for id in 5002..=6000 {
        assert_eq!(next_query_id(&rx), id);
    }
    drop(child);
    let said = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        said.contains("server_audit.log: written anew (the first or last bytes read are no longer where they were): reading it again from its start"),
        "{said}"
    );
}

/// Session 31's adversary A, F9: a file written anew in place, longer than before, whose
/// last 256 bytes read are the same bytes at the same place (`same_tail`), or whose last
/// 256 bytes read held a NUL (a client can put one in a statement: it turned the check
/// off), was read on at the old offset: the new file's first records skipped without a
/// word. Its first bytes tell it now, and a NUL exempts only itself.
#[cfg(unix)]
#[test]
fn follow_tells_a_file_written_anew_by_its_first_bytes_and_past_a_nul() {
    use std::os::unix::fs::FileExt as _;
    let with_nul = |id: u64| line(id).replace("'SELECT ", "'SELECT \0");
    for same_tail in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let old = if same_tail {
            lines(1001, 2000)
        } else {
            lines(1001, 1999) + &with_nul(2000)
        };
        let path = write(dir.path(), "server_audit.log", old.as_bytes());
        let stderr = dir.path().join("stderr");
        let mut child = spawn_to(
            &["--follow"],
            Some(&path),
            std::fs::File::create(&stderr).unwrap(),
        );
        let rx = events_of(&mut child);
        for id in 1001..=2000 {
            assert_eq!(next_query_id(&rx), id);
        }
        std::thread::sleep(Duration::from_millis(600));
        // Written over in place (no truncation, so no look sees it shorter): new records,
        // then (`same_tail`) the old last lines at their old place, then more.
        let new = if same_tail {
            lines(3001, 3994) + &lines(1995, 2000) + &lines(4001, 4100)
        } else {
            lines(3001, 4100)
        };
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(new.as_bytes(), 0).unwrap();
        assert_eq!(
            next_query_and_line(&rx),
            (3001, 1),
            "read again from its start (same_tail {same_tail})"
        );
        drop(child);
        let said = std::fs::read_to_string(&stderr).unwrap();
        assert!(
            said.contains("server_audit.log: written anew (the first or last bytes read are no longer where they were): reading it again from its start"),
            "{said}"
        );
    }
}

/// `copytruncate` while the reader is behind its writer (its output not taken): the next read
/// would go on at the old offset in the new text. Read from its start instead (review 30: an
/// old line's start was joined to a new line's end as one plain event, and the new file's
/// first 21,862 lines were lost without a word).
#[test]
fn follow_reads_a_file_rewritten_while_its_reader_is_behind_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let old: String = (1..=200_000).map(line).collect();
    let path = write(dir.path(), "server_audit.log", old.as_bytes());
    let mut child = spawn(&["--follow"], Some(&path));
    // Nothing of the output is taken: the writer blocks, then the reader.
    std::thread::sleep(Duration::from_millis(1500));
    let new: String = (1_000_001..=1_200_000).map(line).collect();
    std::fs::write(&path, new).unwrap();
    let rx = events_of(&mut child);
    let mut next = next_query_and_line(&rx);
    let mut expected = 1;
    while next.0 < 1_000_000 {
        assert_eq!(next.0, expected, "the old file's records in order");
        expected += 1;
        next = next_query_and_line(&rx);
    }
    assert!(
        expected > 1000 && expected < 200_000,
        "read behind: {expected}"
    );
    assert_eq!(next, (1_000_001, 1), "the new file from its start");
    for id in 1_000_002..=1_100_000 {
        assert_eq!(next_query_id(&rx), id);
    }
}

/// A file grown by a hole (read as NULs before it is written) and then filled in place, as a
/// preallocating copier or an NFS client may: read on, never again from its start (review 30:
/// a first version of the check above read all 100 events twice).
#[cfg(unix)]
#[test]
fn follow_reads_a_hole_filled_in_place_once() {
    use std::os::unix::fs::FileExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "server_audit.log", lines(1, 100).as_bytes());
    let mut child = spawn(&["--follow"], Some(&path));
    let rx = events_of(&mut child);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let end = file.metadata().unwrap().len();
    std::thread::sleep(Duration::from_millis(600));
    let filled = lines(101, 102);
    file.set_len(end + filled.len() as u64).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    file.write_all_at(filled.as_bytes(), end).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let mut appended = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    appended.write_all(lines(103, 400).as_bytes()).unwrap();
    let mut seen = Vec::new();
    while seen.last() != Some(&300) {
        seen.push(next_query_id(&rx));
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an event read twice: {seen:?}");
}

/// A writer that extends the followed file before it writes the text (`ftruncate`, then the
/// text written into the hole it made), or writes a line past a hole and fills the hole
/// after: every event comes out, in order (session 32's adversary X, F5: the events written
/// into the holes were one unparsed line of NULs). A hole never filled, with text after it,
/// is read as it is once waited on (2 s): one unparsed line kept whole, NULs and all.
#[cfg(unix)]
#[test]
fn follow_reads_the_text_written_into_a_hole() {
    use std::os::unix::fs::FileExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "server_audit.log", lines(1, 10).as_bytes());
    let rejects = dir.path().join("rejects.ndjson");
    let mut child = Killed(
        Command::new(assert_cmd::cargo::cargo_bin("rdsaudit"))
            .args(["parse", "--follow", "--rejects"])
            .arg(&rejects)
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = events_of(&mut child);
    for id in 1..=10 {
        assert_eq!(next_query_id(&rx), id);
    }
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let mut end = file.metadata().unwrap().len();
    for id in 11..=14 {
        let text = line(id);
        file.set_len(end + text.len() as u64).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        file.write_all_at(text.as_bytes(), end).unwrap();
        end += text.len() as u64;
        assert_eq!(next_query_id(&rx), id);
    }
    let (a, b) = (line(15), line(16));
    file.write_all_at(b.as_bytes(), end + a.len() as u64)
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    file.write_all_at(a.as_bytes(), end).unwrap();
    end += (a.len() + b.len()) as u64;
    assert_eq!(next_query_id(&rx), 15);
    assert_eq!(next_query_id(&rx), 16);
    // Never filled: read as it is, with the line after it.
    let last = line(17);
    file.write_all_at(last.as_bytes(), end + 50).unwrap();
    std::thread::sleep(Duration::from_millis(3000));
    let pid = child.id().to_string();
    let interrupted = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(interrupted.success());
    let mut stderr = String::new();
    let mut err = child.stderr.take().unwrap();
    std::io::Read::read_to_string(&mut err, &mut stderr).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(1), "{stderr}");
    assert!(rx.try_recv().is_err(), "only 16 events");
    assert!(stderr.contains("17 = 16 parsed + 1 unparsed"), "{stderr}");
    let kept: Vec<Value> = ndjson(std::fs::read(&rejects).unwrap().as_slice());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        kept[0]["raw"],
        format!("{}{}", "\0".repeat(50), last.trim_end())
    );
}

/// `rdsaudit parse [--follow] <(ssh host tail -F audit.log)`: a named pipe is read as stdin
/// is, as it comes, to its end (session 32's adversary X, F6: with `--follow` its second read
/// stopped the input, `Illegal seek`, exit 1, after the first line; session 33: without it,
/// nothing came out until a whole piece had been read, the first event not while the pipe
/// was open).
#[cfg(unix)]
#[test]
fn a_named_pipe_is_read_as_it_comes_to_its_end() {
    let ways: [&[&str]; 4] = [
        &["--follow"],
        &["--follow", "--threads", "1"],
        &[],
        &["--threads", "1"],
    ];
    for args in ways {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("audit.fifo");
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let mut child = Killed(
            Command::new(assert_cmd::cargo::cargo_bin("rdsaudit"))
                .arg("parse")
                .args(args)
                .arg(&fifo)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let rx = events_of(&mut child);
        // Opening the write end waits for the reader.
        let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        send(&mut writer, &lines(1, 100));
        std::thread::sleep(Duration::from_millis(300));
        send(&mut writer, &lines(101, 300));
        // Out while the pipe is still open: the first record once 4 KiB follow it.
        assert_eq!(next_query_id(&rx), 1, "{args:?}");
        std::thread::sleep(Duration::from_millis(300));
        send(&mut writer, &lines(301, 400));
        drop(writer);
        for id in 2..=400 {
            assert_eq!(next_query_id(&rx), id, "{args:?}");
        }
        let mut stderr = String::new();
        let mut err = child.stderr.take().unwrap();
        std::io::Read::read_to_string(&mut err, &mut stderr).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.contains("400 = 400 parsed + 0 unparsed"), "{stderr}");
    }
}

/// `--follow` across rotation (`tail -F`): the audit plugin renames `server_audit.log` away
/// and creates it again; logrotate's `copytruncate` truncates it in place. Every line of the
/// old file, then of the new one, comes out once, in order (ids checked well before the end:
/// a record goes out once enough lines after it are read), and `line` is the line in its own
/// file, from 1 again after each rotation (it went on counting: the new file's first line was
/// 201, then 1301).
#[test]
fn follow_goes_on_across_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let lines = |from: u64, to: u64| (from..=to).map(line).collect::<String>();
    let path = write(dir.path(), "server_audit.log", lines(1, 100).as_bytes());
    let stderr = dir.path().join("stderr");
    let mut child = spawn_to(
        &["--follow"],
        Some(&path),
        std::fs::File::create(&stderr).unwrap(),
    );
    let rx = events_of(&mut child);
    std::thread::sleep(Duration::from_millis(600));
    // Rotation: the server's last lines go to the renamed file, then a new file starts.
    let rotated = dir.path().join("server_audit.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    let mut old = std::fs::OpenOptions::new()
        .append(true)
        .open(&rotated)
        .unwrap();
    old.write_all(lines(101, 200).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(&path, lines(201, 1300)).unwrap();
    for id in 1..=700 {
        let line = if id <= 200 { id } else { id - 200 };
        assert_eq!(next_query_and_line(&rx), (id, line));
    }
    // Truncation in place, then fewer bytes than were read from it.
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let mut new = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    new.write_all(lines(1301, 1900).as_bytes()).unwrap();
    for id in 701..=1350 {
        let line = if id <= 1300 { id - 200 } else { id - 1300 };
        assert_eq!(next_query_and_line(&rx), (id, line));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Each restart is said once, as `tail -F` says it.
    let said = std::fs::read_to_string(&stderr).unwrap();
    let told = |what: &str| said.matches(&format!("server_audit.log: {what}")).count();
    assert_eq!(
        told("replaced (renamed away and created again)"),
        1,
        "{said}"
    );
    assert_eq!(
        told("truncated: reading it again from its start"),
        1,
        "{said}"
    );
    assert_eq!(told("written anew"), 0, "{said}");
}

/// Session 32's adversary, F1: a followed file rotated before its first line was whole (the
/// server had written `20241205 09:59:00,srv,` when the reader opened it). The old file's
/// text ends there: the new file's first line is read alone, with its own time and user, not
/// joined to the old text as one event (`"username":"20240615 10:31:00,db1,app"`, unflagged).
#[test]
fn follow_never_joins_a_first_line_cut_by_rotation_to_the_next_file() {
    for threads in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "server_audit.log", b"20241205 09:59:00,srv,");
        let (_child, rx, _file) = follow(threads, &path);
        std::thread::sleep(Duration::from_millis(600));
        std::fs::rename(&path, dir.path().join("server_audit.log.1")).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        std::fs::write(&path, lines(2, 3)).unwrap();
        for id in 2..=3 {
            let v = rx.recv_timeout(PATIENCE).expect("an event of the new file");
            assert_eq!(v["query_id"], id, "--threads {threads}: {v}");
            assert_eq!(v["line"], id - 1, "--threads {threads}: {v}");
            assert_eq!(v["username"], "app", "--threads {threads}: {v}");
            assert_eq!(
                v["timestamp"], "2024-06-15T10:31:00.000000Z",
                "--threads {threads}: {v}"
            );
        }
    }
}

/// A file followed from `rdsaudit parse --threads N --follow`, and the file appended to.
fn follow(threads: &str, path: &std::path::Path) -> (Killed, Receiver<Value>, std::fs::File) {
    let mut child = spawn(&["--threads", threads, "--follow"], Some(path));
    let rx = events_of(&mut child);
    let file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    (child, rx, file)
}

fn send(file: &mut std::fs::File, text: &str) {
    file.write_all(text.as_bytes()).unwrap();
    file.flush().unwrap();
}

/// A quiet followed log: once the reader has caught up with the server, every record read
/// goes out, the last one too (docs/HOSTILE.md, "Live input"; it used to wait for the next
/// record to start); a record whose next line is not whole yet still waits for it.
#[test]
fn a_quiet_followed_log_shows_each_record_at_once() {
    for threads in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "audit.log", b"");
        let (_child, rx, mut file) = follow(threads, &path);
        for id in 1..=3 {
            send(&mut file, &line(id));
            assert_eq!(next_query_id(&rx), id, "--threads {threads}");
        }
        let fifth = line(5);
        let (a, b) = fifth.split_at(20);
        send(&mut file, &format!("{}{a}", line(4)));
        std::thread::sleep(Duration::from_millis(600));
        assert!(rx.try_recv().is_err(), "line 4 before line 5 was whole");
        send(&mut file, b);
        assert_eq!(next_query_id(&rx), 4, "--threads {threads}");
        assert_eq!(next_query_id(&rx), 5, "--threads {threads}");
    }
}

/// A followed export written with CR line ends only (no LF anywhere): once it is told CR
/// text (a CR past 8 KiB, `prefixed::CR_REACH`), each record goes out once written, with its
/// line number (before: nothing until Ctrl-C, the file's last line ever "not whole", and all
/// of it one event).
#[test]
fn a_followed_cr_only_export_shows_each_record_at_once() {
    let export = |id| format!("2024-06-15T10:31:00.000Z {}", line(id)).replace('\n', "\r");
    for threads in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "export.txt", b"");
        let (_child, rx, mut file) = follow(threads, &path);
        let first: String = (1..=200).map(export).collect();
        assert!(first.len() > 9 << 10);
        send(&mut file, &first);
        for id in 1..=200 {
            assert_eq!(next_query_and_line(&rx), (id, id), "--threads {threads}");
        }
        for id in 201..=204 {
            send(&mut file, &export(id));
            let got = next_query_and_line(&rx);
            assert_eq!(got, (id, id), "--threads {threads}");
        }
    }
}

/// Lines of clean records from `from` on, exactly `bytes` long (the last statement padded
/// with spaces), and the id after the last.
fn lines_of(from: u64, bytes: usize) -> (String, u64) {
    let (mut text, mut id) = (String::new(), from);
    while text.len() + 2 * line(id).len() <= bytes {
        text.push_str(&line(id));
        id += 1;
    }
    let pad = " ".repeat(bytes - text.len() - line(id).len());
    text.push_str(&line(id).replace("',0", &format!("{pad}',0")));
    assert_eq!(text.len(), bytes);
    (text, id + 1)
}

/// One write that fills the stream's 256 KiB piece exactly, then one whose second read is
/// short but fills a piece with the record carried over: each is read as caught up (both
/// were held until the next write: 1,977 of 3,896 lines of a 524,241-byte write).
#[test]
fn a_followed_write_that_fills_a_piece_is_shown_whole() {
    for threads in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "audit.log", b"");
        let (_child, rx, mut file) = follow(threads, &path);
        std::thread::sleep(Duration::from_millis(300));
        let mut next = 1;
        for bytes in [256 << 10, (512 << 10) - 8] {
            let (text, end) = lines_of(next, bytes);
            send(&mut file, &text);
            for id in next..end {
                assert_eq!(next_query_id(&rx), id, "--threads {threads}, {bytes} bytes");
            }
            next = end;
        }
    }
}

/// `aws logs tail ... > file` followed from when the file is empty, its first line written
/// in two parts: the input's kind waits for that line (it was decided on the empty file:
/// audit text, every prefixed line unparsed).
#[test]
fn a_followed_file_that_starts_empty_is_told_by_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "tail.log", b"");
    let (_child, rx, mut file) = follow("2", &path);
    let text: String = (1..=40)
        .map(|id| {
            format!(
                "2024-06-15T10:31:00.000000+00:00 db1.audit.log {}",
                line(id)
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    send(&mut file, &text[..17]);
    std::thread::sleep(Duration::from_millis(300));
    send(&mut file, &text[17..]);
    for id in 1..=40 {
        assert_eq!(next_query_id(&rx), id);
    }
}

/// Ctrl-C ends a followed file (its help says so): the records still held are written and the
/// summary printed, instead of the process dying with what it read. Records are held at
/// Ctrl-C only behind a line not whole yet (the server was writing it, or the log was cut):
/// those within reach before it (4 KiB, here about 8 KiB: some 100 records), for it may yet
/// flag them. That line is kept as a failure (exit 1, `--rejects`), every line before it is
/// an event.
#[cfg(unix)]
#[test]
fn ctrl_c_ends_a_followed_file_with_every_record_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let partial = &line(401)[..30];
    let path = write(
        dir.path(),
        "audit.log",
        format!("{}{partial}", lines(1, 400)).as_bytes(),
    );
    let rejects = dir.path().join("rejects.ndjson");
    let mut child = Killed(
        Command::new(assert_cmd::cargo::cargo_bin("rdsaudit"))
            .args(["parse", "--follow", "--rejects"])
            .arg(&rejects)
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = events_of(&mut child);
    let mut stderr = child.stderr.take().unwrap();
    // The reader caught up with the file: the last records wait for the line after them.
    for id in 1..=200 {
        assert_eq!(next_query_id(&rx), id);
    }
    let mut next = 201;
    while let Ok(v) = rx.recv_timeout(Duration::from_millis(300)) {
        assert_eq!(v["query_id"], next);
        next += 1;
    }
    assert!(next < 400, "record {next} out before line 401 was whole");
    // Ctrl-C ends it:
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    for id in next..=400 {
        assert_eq!(next_query_id(&rx), id);
    }
    let status = child.wait().unwrap();
    let mut stderr_text = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut stderr_text).unwrap();
    let stderr = stderr_text;
    assert!(rx.try_recv().is_err(), "only 400 events");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("audit.log: line 401: "), "{stderr}");
    assert!(stderr.contains("401 = 400 parsed + 1 unparsed"), "{stderr}");
    let kept = std::fs::read_to_string(&rejects).unwrap();
    let kept: Vec<Value> = ndjson(kept.as_bytes());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["line"], 401);
    assert_eq!(kept[0]["raw"], partial);
}

/// A followed log cut inside its last line (a CRLF log cut at 200,000 bytes): that line may
/// be a record's dirty last part, so the records within reach before it wait for it rather
/// than go out at once, and at Ctrl-C it flags them as the same text read whole does (under
/// `--follow`, 1 of 1,383 events was flagged, 33 read whole). The events before the reach go
/// out first.
#[cfg(unix)]
#[test]
fn a_followed_log_cut_inside_a_line_is_flagged_as_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let text = lines(1, 400).replace('\n', "\r\n");
    let path = write(dir.path(), "cut.log", &text.as_bytes()[..text.len() - 40]);
    let (code, whole, _) = parse(&[path.as_os_str()]);
    assert_eq!(code, 1);
    let flagged = whole.iter().filter(|v| v["ambiguous"] == true).count();
    assert!(flagged > 40, "{flagged} flagged read whole");
    for threads in ["1", "2"] {
        let mut child = Killed(
            Command::new(assert_cmd::cargo::cargo_bin("rdsaudit"))
                .args(["--threads", threads, "parse", "--follow"])
                .arg(&path)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let rx = events_of(&mut child);
        let mut followed = vec![rx.recv_timeout(PATIENCE).expect("the first event at once")];
        let pid = child.id().to_string();
        let interrupted = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(interrupted.success());
        assert_eq!(child.wait().unwrap().code(), Some(1));
        followed.extend(rx.iter());
        assert_eq!(followed.len(), whole.len(), "--threads {threads}");
        for (f, w) in followed.iter().zip(&whole) {
            assert_eq!(f, w, "--threads {threads}");
        }
    }
}

/// `rdsaudit parse --follow PATH` with stdout and stderr kept, for a run that should end by
/// itself.
fn spawn_follow(path: &std::path::Path) -> Killed {
    Killed(
        Command::new(assert_cmd::cargo::cargo_bin("rdsaudit"))
            .args(["parse", "--follow"])
            .arg(path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// The exit code, stdout and stderr of a child that should end by itself within [`PATIENCE`].
fn ended(mut child: Killed) -> (Option<i32>, String, String) {
    let deadline = std::time::Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |r: Option<&mut dyn std::io::Read>| {
        let mut text = String::new();
        r.unwrap().read_to_string(&mut text).unwrap();
        text
    };
    let stdout = read(child.stdout.as_mut().map(|r| r as &mut dyn std::io::Read));
    let stderr = read(child.stderr.as_mut().map(|r| r as &mut dyn std::io::Read));
    (status.code(), stdout, stderr)
}

/// `--follow` follows a log written a line at a time; a shape read whole is refused, naming
/// the file and the shape, before anything is read (exit 2). A Kinesis event written in two
/// parts to a followed empty file was read half: an invalid document, exit 1; written at
/// once, its events, and the run ended by itself. A `.gz` without a line break was waited
/// on until Ctrl-C.
#[test]
fn follow_refuses_what_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::RdsMySql, 2, 20, 0);
    let event = corpus.kinesis_event();
    let path = write(dir.path(), "event.json", b"");
    let child = spawn_follow(&path);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    file.write_all(&event[..26]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Written after the refusal, or before: the same error either way.
    let _ = file.write_all(&event[26..]);
    let one_line = corpus
        .plain_text()
        .split(|&b| b == b'\n')
        .next()
        .unwrap()
        .to_vec();
    let at =
        |name: &'static str, bytes: &[u8]| (spawn_follow(&write(dir.path(), name, bytes)), name);
    let cases = [
        ((child, "event.json"), "`kinesis`"),
        (at("whole.json", &event), "`kinesis`"),
        (
            at("payloads.json", &corpus.records[0].envelope()),
            "`cloudwatch-json`",
        ),
        (
            at("audit.log.gz", &flate2_gzip(&corpus.plain_text())),
            "gzip",
        ),
        (at("line.gz", &flate2_gzip(&one_line)), "gzip"),
    ];
    for ((child, name), shape) in cases {
        let (code, stdout, stderr) = ended(child);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stdout, "");
        assert!(
            stderr.contains(&format!("{name}: --follow"))
                && stderr.contains(shape)
                && stderr.contains("read it without --follow"),
            "{stderr}"
        );
        assert!(!stderr.contains("summary"), "{stderr}");
    }
}

#[test]
fn a_json_document_past_the_file_limit_names_the_file_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    // CloudWatch payloads back to back (a Firehose object): JSON, read whole.
    let corpus = corpus(rdsaudit::Dialect::Aurora, 300, 20, 20);
    let event: Vec<u8> = corpus.records.iter().flat_map(|r| r.envelope()).collect();
    assert!(event.len() > 1 << 20);
    let plain = write(dir.path(), "payloads.json", &event);
    let gz = write(dir.path(), "payloads.json.gz", &flate2_gzip(&event));
    assert!(std::fs::metadata(&gz).unwrap().len() < 1 << 20);
    for path in [&plain, &gz] {
        let out = rdsaudit()
            .args(["parse", "--max-file-size", "1MiB"])
            .arg(path)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(out.stdout.is_empty());
        let error = stderr
            .lines()
            .find(|l| l.contains(&*path.to_string_lossy()))
            .unwrap_or_else(|| panic!("no error naming the file: {stderr}"));
        assert!(
            error.contains("1 MiB") && error.contains("--max-file-size"),
            "{error}"
        );
        assert!(!error.contains("64 MiB"), "{error}");
        // Raised: read whole.
        let (code, events, stderr) = parse(&[
            "--max-file-size".as_ref(),
            "4MiB".as_ref(),
            path.as_os_str(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(events.len(), 6000);
    }
}

#[test]
fn text_logs_are_streamed_past_the_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::MariaDb, 500, 20, 20);
    let text = corpus.plain_text();
    assert!(text.len() > 1 << 20);
    for (name, bytes) in [
        ("audit.log", text.clone()),
        ("audit.log.gz", flate2_gzip(&text)),
    ] {
        let path = write(dir.path(), name, &bytes);
        let (code, events, stderr) = parse(&[
            "--max-file-size".as_ref(),
            "1MiB".as_ref(),
            path.as_os_str(),
        ]);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert_eq!(events.len(), 10_000, "{name}");
        // Line numbers run on across pieces (a line with a raw newline in a name takes two).
        let mut at = 1;
        for (v, l) in events.iter().zip(corpus.lines()) {
            assert_event(v, l, false);
            assert_eq!(v["line"], at);
            at += 1 + l.line.iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }
}

#[test]
fn max_file_size_takes_units_and_rejects_nonsense() {
    let out = rdsaudit()
        .args(["parse", "--max-file-size", "lots", "-"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    for ok in ["512", "64KiB", "2MiB", "1GiB", "3G", "10M"] {
        let out = rdsaudit()
            .args(["parse", "--max-file-size", ok, "-"])
            .write_stdin(line(1))
            .output()
            .unwrap();
        assert!(out.status.success(), "{ok}");
    }
}
