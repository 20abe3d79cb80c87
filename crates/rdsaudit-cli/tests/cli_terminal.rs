//! `rdsaudit` on a real terminal: a pseudo-terminal is its stdout and stderr at once, as in an
//! interactive shell, and what the terminal receives is read back from the other side.
#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use std::fs::OpenOptions;
use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use cli_common::*;
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

/// A pseudo-terminal of 80 columns: (the side the program reads and writes, the side the
/// test reads what the terminal shows from).
fn terminal() -> (OwnedFd, std::fs::File) {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let size = Winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(&slave, size).unwrap();
    (OwnedFd::from(slave), std::fs::File::from(master))
}

/// Runs `rdsaudit <args>` with the terminal as its stdout and stderr; what the terminal
/// received (CR LF turned back into LF) and the exit code.
fn on_terminal(args: &[&std::ffi::OsStr]) -> (String, i32) {
    let (slave, mut master) = terminal();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("rdsaudit"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    // The Command, and with it this side's copies of the terminal, is gone: the reads below
    // end (EIO) when the program has closed it.
    let mut shown = Vec::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => shown.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // Linux: reading the master once every slave is closed.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let code = child.wait().unwrap().code().unwrap();
    let text = String::from_utf8(shown).unwrap().replace("\r\n", "\n");
    (text, code)
}

/// An audit log past the size that gets a progress bar (4 MiB), of `n` lines.
fn big_log(dir: &std::path::Path) -> (std::path::PathBuf, usize) {
    let statement = "x".repeat(1000);
    let line = format!(
        "20240323 13:36:08,ip-172-17-4-137,admin,localhost,4,149868,QUERY,shop,'SELECT \\'{statement}\\'',0,,\n"
    );
    let n = (5 << 20) / line.len() + 1;
    (write(dir, "big.log", line.repeat(n).as_bytes()), n)
}

/// When the events go to the terminal the bar is on, a bar would be drawn between them and a
/// line of them joined to its half-drawn line: no bar then, only events and the summary.
#[test]
fn events_on_the_terminal_are_not_mixed_with_a_progress_bar() {
    let dir = tempfile::tempdir().unwrap();
    let (log, n) = big_log(dir.path());
    let (shown, code) = on_terminal(&["parse".as_ref(), log.as_os_str()]);
    assert_eq!(code, 0, "{}", &shown[shown.len().saturating_sub(2000)..]);
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\r'),
        "terminal control in the output: {:?}",
        shown
            .lines()
            .find(|l| l.contains('\u{1b}') || l.contains('\r'))
    );
    let events = shown.lines().filter(|l| l.starts_with('{')).count();
    for l in shown.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
    }
    assert_eq!(events, n);
    assert!(shown.contains("rdsaudit: summary"), "{shown}");
}

/// `stats` writes once everything is read and the bar is gone: the bar is kept.
#[test]
fn stats_on_the_terminal_keeps_its_progress_bar_and_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = big_log(dir.path());
    let (shown, code) = on_terminal(&["stats".as_ref(), log.as_os_str()]);
    assert_eq!(code, 0, "{shown}");
    // The bar was drawn (its first draw is at once) and erased before the report.
    let report = shown.find("events").unwrap();
    assert!(shown[..report].contains("/5.00 MiB"), "{shown}");
    assert!(!shown[report..].contains('\u{1b}'), "{shown}");
}
