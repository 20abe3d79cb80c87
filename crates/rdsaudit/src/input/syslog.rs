//! The MariaDB audit plugin's syslog output (`server_audit_output_type=SYSLOG`).
//!
//! The plugin hands syslog the line without its timestamp, after `server_audit_syslog_info`
//! and a space (`"%s %.*s"`), under the ident `server_audit_syslog_ident`
//! (`mysql-server_auditing` by default); the syslog daemon adds its own time and host:
//!
//! ```text
//! 2024-05-01T12:00:00.123456+00:00 db1 mysql-server_auditing:  db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0
//! <85>May  1 12:00:00 db1 mysql-server_auditing: info db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0
//! ```
//!
//! The event's time is the syslog time. With an RFC 3339 syslog time (rsyslog's
//! `RSYSLOG_FileFormat`, journald's `short-iso`) that is a full date and the line is read as
//! the MariaDB dialect. The traditional RFC 3164 time (`May  1 12:00:00`) has no year and no
//! zone, so no event time can be given without making one up: such a file is refused as a
//! whole, naming the format ([`SyslogError`]).
//!
//! A text of such lines is read as prefixed text ([`crate::input::prefixed::Shape::Syslog`]):
//! the syslog header up to the ident is the prefix, a line without it continues the event
//! before it (a user name's raw break, when the daemon keeps raw breaks), and the window rule
//! flags every event within 4 KiB of a line that does not read alone, so a name cannot forge
//! a whole syslog line into a plain event (docs/HOSTILE.md rule 4).

use std::io::Write as _;

use crate::audit::iso_time::parse_prefix;

/// The plugin's default syslog ident. Syslog daemons write it followed by `:` (the plugin
/// opens the log without `LOG_PID`); journald's `journalctl` adds the process id,
/// `mysql-server_auditing[<pid>]:`.
const IDENT: &[u8] = b"mysql-server_auditing";

/// Longest process id read in `[<pid>]` (Linux's are at most 7 digits; 10 fit any `pid_t`).
const MAX_PID_DIGITS: usize = 10;

/// Longest syslog header looked at: PRI, version, an RFC 3339 time and a host name.
const MAX_HEADER: usize = 320;

/// One line of syslog output holding an audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    /// The syslog time, epoch microseconds (`None`: RFC 3164, no year).
    pub time_us: Option<i64>,
    /// The audit record without its timestamp: `serverhost,user,host,...`.
    pub audit: &'a [u8],
}

/// Why syslog output cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyslogError {
    /// RFC 3164 times: no year, no zone.
    #[error(
        "line {line}: MariaDB audit plugin syslog output with RFC 3164 syslog times (`May  1 12:00:00`, no year and no zone), so no event time can be given; log to a file (server_audit_output_type=FILE) or have the syslog daemon write RFC 3339 times (rsyslog RSYSLOG_FileFormat, journalctl -o short-iso)"
    )]
    NoYear {
        /// 1-based line of the first such record.
        line: u64,
    },
}

/// Reads one syslog line; `None` when it is not the plugin's (no ident, or no record after
/// it).
#[must_use]
pub fn parse(line: &[u8]) -> Option<SyslogLine<'_>> {
    let (time_us, at) = record_start(line)?;
    let audit = line.get(at..)?;
    Some(SyslogLine {
        time_us,
        audit: audit.strip_suffix(b"\r").unwrap_or(audit),
    })
}

/// The syslog time of a line of the plugin's and where its record starts in it (the record
/// runs to the line's end); `None` when the line is not the plugin's.
#[must_use]
pub fn record_start(line: &[u8]) -> Option<(Option<i64>, usize)> {
    // The ident ends the syslog header, which is short and has no comma (an audit line that
    // quotes the ident in a statement is not syslog output).
    let at = memchr::memmem::find(line.get(..line.len().min(MAX_HEADER))?, IDENT)?;
    let header = line.get(..at)?;
    if memchr::memchr(b',', header).is_some() {
        return None;
    }
    let from = at + IDENT.len() + ident_tail(line.get(at + IDENT.len()..)?)?;
    let message = line.get(from..)?;
    // `<syslog_info> <record>`: the record starts after the last space before its first
    // comma (a server host holds no space; the info may).
    let comma = memchr::memchr(b',', message)?;
    let space = memchr::memrchr(b' ', message.get(..comma)?)?;
    Some((header_time(header), from + space + 1))
}

/// The length of what ends the ident: `:` or journald's `[<pid>]:`; `None` for anything else
/// (`mysql-server_auditing_x:` is another program's ident).
fn ident_tail(rest: &[u8]) -> Option<usize> {
    match rest.first()? {
        b':' => Some(1),
        b'[' => {
            let digits = rest
                .iter()
                .skip(1)
                .take_while(|b| b.is_ascii_digit())
                .count();
            let valid = (1..=MAX_PID_DIGITS).contains(&digits);
            let close = rest.get(1 + digits..3 + digits)? == b"]:";
            (valid && close).then_some(digits + 3)
        }
        _ => None,
    }
}

/// The RFC 3339 time of a syslog header (`[<PRI>][1 ]<time> <host> `), if it has one.
fn header_time(header: &[u8]) -> Option<i64> {
    let mut rest = header;
    if rest.first() == Some(&b'<') {
        rest = rest.get(memchr::memchr(b'>', rest)? + 1..)?;
    }
    // RFC 5424 puts a version before the time.
    rest = rest.strip_prefix(b"1 ").unwrap_or(rest);
    parse_prefix(rest).map(|t| t.epoch_us)
}

/// The line `YYYYMMDD HH:MM:SS,<record>` in `scratch`, for the line scanner: the syslog time
/// to the second (the caller keeps the microseconds). `None` without a syslog date.
pub fn audit_line<'s>(line: &SyslogLine<'_>, scratch: &'s mut Vec<u8>) -> Option<&'s [u8]> {
    let us = line.time_us?;
    let secs = us.div_euclid(1_000_000);
    let (y, mo, d) = crate::audit::timestamp::civil_from_days(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    scratch.clear();
    write!(
        scratch,
        "{y:04}{mo:02}{d:02} {:02}:{:02}:{:02},",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
    .ok()?;
    scratch.extend_from_slice(line.audit);
    Some(scratch)
}

/// Checks that `text` can be read. A file's syslog daemon writes one time format, so an RFC
/// 3164 time on its first plugin line refuses it, unless most plugin lines within
/// [`TIMED_LINE_PROBE`] bytes have an RFC 3339 time: a log cut at a line (`tail -n`) may start
/// with RFC 3164 lines forged in a user name (and one RFC 3339 line forged so must not unlock
/// an RFC 3164 file). A later line with an RFC 3164 time is no prefix
/// ([`crate::input::prefixed::Shape::Syslog`]): it continues the event before it and is dirty
/// under the window rule. It may lie inside a user name (a failed login's raw breaks), so it
/// must not hide the file's other events (review 9's R9-2).
///
/// # Errors
/// [`SyslogError::NoYear`] naming that line.
pub fn check(text: &[u8]) -> Result<(), SyslogError> {
    // Lines as the reader breaks them (at CRs too in a text without LFs).
    let breaks = crate::input::prefixed::Breaks::of(text);
    let mut plugin_lines = breaks
        .lines(text)
        .enumerate()
        .filter_map(|(i, line)| parse(line).map(|l| (i, l)));
    let Some((i, first)) = plugin_lines.next() else {
        return Ok(());
    };
    let mostly_timed = || {
        let head = text.get(..TIMED_LINE_PROBE).unwrap_or(text);
        let (mut timed, mut all) = (0usize, 0usize);
        for line in breaks.lines(head).filter_map(parse) {
            all += 1;
            timed += usize::from(line.time_us.is_some());
        }
        timed * 2 > all
    };
    if first.time_us.is_none() && !mostly_timed() {
        return Err(SyslogError::NoYear { line: i as u64 + 1 });
    }
    Ok(())
}

/// How far plugin lines are counted after an RFC 3164 first one.
pub const TIMED_LINE_PROBE: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::scanner::parse_line;
    use crate::input::InputKind;
    use crate::{Dialect, Operation};

    #[test]
    fn an_rfc_3164_file_is_refused_unless_most_of_its_plugin_lines_have_a_year() {
        let old = |i: usize| {
            format!("Dec  4 08:00:0{i} h mysql-server_auditing: x db1,u,h,{i},1,QUERY,,'x',0\n")
        };
        let new = |i: usize| {
            format!(
                "2024-12-04T08:00:0{i}+00:00 h mysql-server_auditing: x db1,u,h,{i},1,QUERY,,'x',0\n"
            )
        };
        // One RFC 3339 line forged in a name does not unlock an RFC 3164 file...
        let text: String = (0..5)
            .map(old)
            .chain([new(9)])
            .chain((5..9).map(old))
            .collect();
        assert_eq!(check(text.as_bytes()), Err(SyslogError::NoYear { line: 1 }));
        // ... and RFC 3164 lines forged at the top of a cut RFC 3339 file do not refuse it.
        let text: String = (0..2).map(old).chain((0..5).map(new)).collect();
        check(text.as_bytes()).unwrap();
    }

    #[test]
    fn rfc3339_syslog_lines_become_events_at_the_syslog_time() {
        let text = b"2024-05-01T12:00:00.123456+00:00 db1 mysql-server_auditing:  db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1, 2',0\n\
            <85>1 2024-05-01T12:00:01Z db1 mysql-server_auditing: my info db1,app,10.0.0.5,7,0,DISCONNECT,shop,,0\r\n";
        assert_eq!(crate::input::detect(text), InputKind::Syslog);
        check(text).unwrap();
        let mut scratch = Vec::new();
        let lines: Vec<_> = text.split(|b| *b == b'\n').filter_map(parse).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].time_us, Some(1_714_564_800_123_456));
        assert_eq!(lines[1].audit, b"db1,app,10.0.0.5,7,0,DISCONNECT,shop,,0");
        let event = parse_line(audit_line(&lines[0], &mut scratch).unwrap()).unwrap();
        assert_eq!(event.timestamp.epoch_us, 1_714_564_800_000_000);
        assert_eq!(event.timestamp.dialect, Dialect::MariaDb);
        assert_eq!(event.object.text(), "SELECT 1, 2");
        let event = parse_line(audit_line(&lines[1], &mut scratch).unwrap()).unwrap();
        assert_eq!(event.operation, Operation::Disconnect);
        assert_eq!(event.serverhost, "db1");
    }

    #[test]
    fn rfc3164_syslog_is_refused_naming_the_format() {
        let text = b"\n<85>May  1 12:00:00 db1 mysql-server_auditing:  db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0\n";
        assert_eq!(crate::input::detect(text), InputKind::Syslog);
        let e = check(text).unwrap_err();
        assert_eq!(e, SyslogError::NoYear { line: 2 });
        assert!(e.to_string().contains("RFC 3164"), "{e}");
        // Only the first plugin line decides: a later RFC 3164 line (in a name) refuses nothing.
        let mut later = b"2024-05-01T12:00:00Z db1 mysql-server_auditing:  db1,x\n".to_vec();
        later.extend_from_slice(text.strip_prefix(b"\n").unwrap());
        assert_eq!(check(&later), Ok(()));
        assert_ne!(
            crate::input::detect(
                b"20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'mysql-server_auditing: x',0"
            ),
            InputKind::Syslog
        );
    }

    #[test]
    fn journald_lines_with_a_pid_are_the_plugins() {
        let line = b"2024-05-01T12:00:00+0000 db1 mysql-server_auditing[1234]:  db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0";
        assert_eq!(crate::input::detect(line), InputKind::Syslog);
        let parsed = parse(line).unwrap();
        assert_eq!(parsed.time_us, Some(1_714_564_800_000_000));
        assert_eq!(
            parsed.audit,
            b"db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0"
        );
        // Anything else after the ident is another program's line.
        for other in [
            &b"2024-05-01T12:00:00Z db1 mysql-server_auditing[]: db1,app,h,7,9,QUERY,s,'x',0"[..],
            b"2024-05-01T12:00:00Z db1 mysql-server_auditing[12a]: db1,app,h,7,9,QUERY,s,'x',0",
            b"2024-05-01T12:00:00Z db1 mysql-server_auditing[12] db1,app,h,7,9,QUERY,s,'x',0",
            b"2024-05-01T12:00:00Z db1 mysql-server_auditing[12345678901]: db1,app,h,7,9,QUERY,s,'x',0",
            b"2024-05-01T12:00:00Z db1 mysql-server_auditing_x: db1,app,h,7,9,QUERY,s,'x',0",
            b"2024-05-01T12:00:00Z db1 mysql-server_auditing[12",
        ] {
            assert_eq!(parse(other), None, "{}", String::from_utf8_lossy(other));
        }
    }
}
