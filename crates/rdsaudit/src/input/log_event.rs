//! CloudWatch log events read from the shapes that are not subscription payloads: the logs
//! API's JSON ([`super::logs_api`]), prefixed text ([`super::prefixed`]), Logs Insights CSV
//! ([`super::insights_csv`]) and syslog ([`super::syslog`], read as prefixed text). Each becomes a [`LogEvent`] with
//! whatever provenance its shape carries, so the pipeline reads all of them one way: split the
//! message into audit lines ([`super::multiline`]), scan each, attach the provenance.

use std::borrow::Cow;

use super::envelope::LogEventError;
use super::insights_csv::{BadRow, InsightsError, InsightsRow};
use super::logs_api::{ApiEventError, ApiLogEvent, EventPlace, FailedApiEvent};
use super::prefixed::{PrefixedEvent, Shape};

/// One log event and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent<'a> {
    /// The message: one or more audit lines (or whatever the log held).
    pub message: Cow<'a, [u8]>,
    /// The log group, when the shape names it (Insights `@log`).
    pub log_group: Option<Cow<'a, str>>,
    /// The log stream (`logStreamName`, `aws logs tail`'s second column, `@logStream`).
    pub log_stream: Option<Cow<'a, str>>,
    /// The CloudWatch event id (`filter-log-events`' `eventId`).
    pub event_id: Option<&'a str>,
    /// The log event's CloudWatch time, epoch milliseconds (`timestamp`, the prefix's time,
    /// `@timestamp`).
    pub cloudwatch_timestamp_ms: Option<i64>,
    /// 1-based line of the input the event starts on (text shapes).
    pub line_number: Option<u64>,
    /// The event time to put on the audit event instead of the line's own, in microseconds:
    /// syslog lines carry none of their own ([`super::syslog::audit_line`] puts the time to
    /// the second in the line; this keeps the fraction).
    pub time_us: Option<i64>,
    /// Why the log event could not be read out of its shape (a broken Insights CSV row, a
    /// logs API event with a key twice or a lone surrogate): it
    /// is then one unparsed line, `message` holding its bytes as read.
    pub failure: Option<EventError>,
    /// The event's bytes as read when `message` was rebuilt or cut from them (a syslog line;
    /// an export's or `aws logs tail` line, whose prefix is not part of the message:
    /// [`LogEvent::from_prefixed`]): an unparsed first line of the message is reported with
    /// them ([`Rebuilt::first_line_as_read`]), as it is in the input, never with bytes the
    /// input does not hold or without its prefix.
    pub rebuilt_from: Option<Rebuilt<'a>>,
    /// Where a logs API event is in its output (page, index in `events`): what locates one
    /// without an event id (`get-log-events`) when it or a line of it does not read.
    pub place: Option<EventPlace>,
}

/// What a rebuilt message ([`LogEvent::rebuilt_from`]) was made of: its first `made` bytes
/// stand for the first `replaced` bytes of `read`, the rest of it is the rest of `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt<'a> {
    /// The event's bytes as read (a syslog line: its header, the record, its continuation
    /// lines).
    pub read: &'a [u8],
    /// How many bytes of `read` the message does not hold (an export's prefix; the syslog
    /// header and info).
    pub replaced: usize,
    /// How many bytes at the start of the message stand in for them (a syslog record's audit
    /// timestamp; none for an export's prefix).
    pub made: usize,
}

/// Why a log event could not be read out of its shape ([`LogEvent::failure`]), reported as
/// an unparsed line ([`crate::LineError::LogEvent`]) holding the event's bytes as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// A Logs Insights CSV row.
    #[error(transparent)]
    Insights(#[from] InsightsError),
    /// An event of the logs API's JSON.
    #[error(transparent)]
    LogsApi(#[from] ApiEventError),
    /// An entry of a CloudWatch Logs subscription payload's `logEvents`
    /// ([`super::envelope::FailedLogEvent`]).
    #[error(transparent)]
    Envelope(#[from] LogEventError),
}

impl EventError {
    /// The stable name the reason is counted and reported under.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            EventError::Insights(_) => "InsightsRow",
            EventError::LogsApi(_) => "LogsApiEvent",
            EventError::Envelope(_) => "EnvelopeEvent",
        }
    }
}

impl<'a> LogEvent<'a> {
    /// An event with a message and nothing else known.
    #[must_use]
    pub fn new(message: Cow<'a, [u8]>) -> Self {
        LogEvent {
            message,
            log_group: None,
            log_stream: None,
            event_id: None,
            cloudwatch_timestamp_ms: None,
            line_number: None,
            time_us: None,
            failure: None,
            rebuilt_from: None,
            place: None,
        }
    }
}

impl<'a> Rebuilt<'a> {
    /// The bytes as read of `line`, the first line of the rebuilt message
    /// ([`super::multiline::audit_lines`]), which starts with the `made` bytes the input does
    /// not hold: the event's bytes as read up to where `line` ends.
    #[must_use]
    pub fn first_line_as_read(&self, line: &[u8]) -> &'a [u8] {
        let end = (line.len() + self.replaced).saturating_sub(self.made);
        self.read.get(..end).unwrap_or(self.read)
    }
}

impl<'a> From<&ApiLogEvent<'a>> for LogEvent<'a> {
    fn from(e: &ApiLogEvent<'a>) -> Self {
        LogEvent {
            log_stream: e.log_stream.map(Cow::Borrowed),
            event_id: e.event_id,
            cloudwatch_timestamp_ms: Some(e.timestamp),
            place: Some(e.place),
            ..LogEvent::new(Cow::Borrowed(e.message.as_bytes()))
        }
    }
}

impl<'a> LogEvent<'a> {
    /// An event of the logs API's output; one that cannot be read is a failed event
    /// ([`LogEvent::failure`]) whose message is its JSON as it is in the input.
    #[must_use]
    pub fn from_api(e: &Result<ApiLogEvent<'a>, FailedApiEvent<'a>>) -> Self {
        match e {
            Ok(e) => LogEvent::from(e),
            Err(failed) => LogEvent {
                failure: Some(EventError::LogsApi(failed.error)),
                place: Some(failed.error.place),
                ..LogEvent::new(Cow::Borrowed(failed.raw))
            },
        }
    }
}

impl<'a> From<PrefixedEvent<'a>> for LogEvent<'a> {
    fn from(e: PrefixedEvent<'a>) -> Self {
        LogEvent {
            log_stream: e.log_stream.map(Cow::Borrowed),
            cloudwatch_timestamp_ms: e.time_us.map(|us| us.div_euclid(1000)),
            line_number: Some(e.line_number),
            ..LogEvent::new(Cow::Borrowed(e.message))
        }
    }
}

impl<'a> LogEvent<'a> {
    /// A Logs Insights row; a row that cannot be read is a failed event ([`LogEvent::failure`])
    /// whose message is the row as it is in the file, so it is reported whole, with its line.
    #[must_use]
    pub fn from_insights(row: Result<InsightsRow<'a>, BadRow<'a>>) -> Self {
        match row {
            Ok(r) => LogEvent {
                log_group: r.log_group.map(lossy),
                log_stream: r.log_stream.map(lossy),
                cloudwatch_timestamp_ms: r.time_us.map(|us| us.div_euclid(1000)),
                line_number: Some(r.line_number),
                ..LogEvent::new(r.message)
            },
            Err(bad) => LogEvent {
                line_number: Some(bad.error.line()),
                failure: Some(EventError::Insights(bad.error)),
                ..LogEvent::new(Cow::Borrowed(bad.raw))
            },
        }
    }
}

fn lossy(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(b) => String::from_utf8_lossy(b),
        Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
    }
}

impl<'a> LogEvent<'a> {
    /// A log event of prefixed text of `shape` ([`super::prefixed::events_of`] of `text`). A
    /// syslog event's message is rebuilt as a scannable audit line
    /// ([`super::syslog::audit_line`]: the syslog time to the second put in front of the
    /// record, the event keeping the microseconds), and the line as read kept beside it
    /// ([`LogEvent::rebuilt_from`]) for reporting it; text before the first prefix is kept as
    /// it is.
    #[must_use]
    pub fn from_prefixed(e: PrefixedEvent<'a>, shape: Shape, text: &'a [u8]) -> Self {
        // The line as read: from its prefix to the end of its last continuation line (the
        // message is its tail).
        let read = text.get(e.start..e.end).unwrap_or_default();
        let read = read.strip_suffix(b"\r").unwrap_or(read);
        let time_us = match (shape, e.time_us) {
            (Shape::CloudWatch, _) | (Shape::Syslog, None) => {
                // An export's line reported as it is in the file, its prefix (the CloudWatch
                // time, the log stream) with it.
                let rebuilt_from = as_read(read, e.message, 0);
                return LogEvent {
                    rebuilt_from,
                    ..LogEvent::from(e)
                };
            }
            (Shape::Syslog, Some(us)) => us,
        };
        let line = super::syslog::SyslogLine {
            time_us: Some(time_us),
            audit: e.message,
        };
        let mut scratch = Vec::new();
        let rebuilt = super::syslog::audit_line(&line, &mut scratch).is_some();
        let made = scratch.len().saturating_sub(e.message.len());
        let rebuilt_from = as_read(read, e.message, made).filter(|_| rebuilt);
        let message = if rebuilt {
            Cow::Owned(scratch)
        } else {
            Cow::Borrowed(e.message)
        };
        LogEvent {
            line_number: Some(e.line_number),
            time_us: Some(time_us),
            rebuilt_from,
            ..LogEvent::new(message)
        }
    }
}

/// `read` as what a message of `made` bytes standing for its head, then `message`, was made
/// from, when `message` is its tail after a head (a prefix, a syslog header) of some bytes.
fn as_read<'a>(read: &'a [u8], message: &[u8], made: usize) -> Option<Rebuilt<'a>> {
    read.len()
        .checked_sub(message.len())
        .filter(|&replaced| replaced > 0 && read.get(replaced..) == Some(message))
        .map(|replaced| Rebuilt {
            read,
            replaced,
            made,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_keeps_its_provenance() {
        let text =
            b"2024-05-01T12:00:00.123000+00:00 db1 20240501 12:00:00,db1,u,h,1,2,QUERY,,'x',0\n";
        let e = super::super::prefixed::events(text).next().unwrap();
        let e = LogEvent::from_prefixed(e, Shape::CloudWatch, text);
        assert_eq!(e.log_stream.as_deref(), Some("db1"));
        assert_eq!(e.cloudwatch_timestamp_ms, Some(1_714_564_800_123));
        assert_eq!(e.line_number, Some(1));
        // Its first line, reported, is the line as read: with its prefix.
        let cut = e.rebuilt_from.unwrap();
        assert_eq!(
            cut.first_line_as_read(b"20240501 12:00:00,db1"),
            b"2024-05-01T12:00:00.123000+00:00 db1 20240501 12:00:00,db1"
        );
        let csv = b"@timestamp,@message,@log\n2024-05-01 12:00:00.123,x,123456789012:/g\nbad\n";
        let rows: Vec<_> = super::super::insights_csv::rows(csv)
            .unwrap()
            .map(LogEvent::from_insights)
            .collect();
        assert_eq!(rows[0].log_group.as_deref(), Some("/g"));
        assert_eq!(rows[1].line_number, Some(3));
        // A row that does not read is kept as it is in the file, its error beside it.
        assert_eq!(&rows[1].message[..], b"bad");
        assert_eq!(
            rows[1].failure.map(|e| e.to_string()),
            Some("1 fields where the header names 3".to_owned())
        );
        let text =
            b"2024-05-01T12:00:00.5Z h mysql-server_auditing:  db1,u,h,1,2,QUERY,,'x',0\nnoise\n";
        let syslog: Vec<_> = super::super::prefixed::events_of(text, Shape::Syslog)
            .map(|e| LogEvent::from_prefixed(e, Shape::Syslog, text))
            .collect();
        // A line without the prefix continues the message (a name's raw break).
        assert_eq!(syslog.len(), 1);
        assert_eq!(syslog[0].time_us, Some(1_714_564_800_500_000));
        assert_eq!(
            &syslog[0].message[..],
            b"20240501 12:00:00,db1,u,h,1,2,QUERY,,'x',0\nnoise"
        );
        // Its first line, reported, is the line as read, not the rebuilt one.
        let rebuilt = syslog[0].rebuilt_from.unwrap();
        assert_eq!(
            rebuilt.first_line_as_read(&syslog[0].message),
            text.strip_suffix(b"\n").unwrap()
        );
        assert_eq!(
            rebuilt.first_line_as_read(b"20240501 12:00:00,db1,u"),
            b"2024-05-01T12:00:00.5Z h mysql-server_auditing:  db1,u"
        );
    }
}
