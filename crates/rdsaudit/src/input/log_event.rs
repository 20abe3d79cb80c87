//! CloudWatch log events read from the shapes that are not subscription payloads: the logs
//! API's JSON ([`super::logs_api`]), prefixed text ([`super::prefixed`]), Logs Insights CSV
//! ([`super::insights_csv`]) and syslog ([`super::syslog`], read as prefixed text). Each becomes a [`LogEvent`] with
//! whatever provenance its shape carries, so the pipeline reads all of them one way: split the
//! message into audit lines ([`super::multiline`]), scan each, attach the provenance.

use std::borrow::Cow;

use super::insights_csv::{InsightsError, InsightsRow};
use super::logs_api::ApiLogEvent;
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
        }
    }
}

impl<'a> From<&ApiLogEvent<'a>> for LogEvent<'a> {
    fn from(e: &ApiLogEvent<'a>) -> Self {
        LogEvent {
            log_stream: e.log_stream.map(Cow::Borrowed),
            event_id: e.event_id,
            cloudwatch_timestamp_ms: Some(e.timestamp),
            ..LogEvent::new(Cow::Borrowed(e.message.as_bytes()))
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
    /// A Logs Insights row; a row that cannot be read keeps its line and, as its message, the
    /// error (so it is reported, with where it was, rather than dropped).
    #[must_use]
    pub fn from_insights(row: Result<InsightsRow<'a>, InsightsError>) -> Self {
        match row {
            Ok(r) => LogEvent {
                log_group: r.log_group.map(lossy),
                log_stream: r.log_stream.map(lossy),
                cloudwatch_timestamp_ms: r.time_us.map(|us| us.div_euclid(1000)),
                line_number: Some(r.line_number),
                ..LogEvent::new(r.message)
            },
            Err(e) => LogEvent {
                line_number: Some(error_line(e)),
                ..LogEvent::new(Cow::Owned(e.to_string().into_bytes()))
            },
        }
    }
}

fn error_line(e: InsightsError) -> u64 {
    match e {
        InsightsError::Unterminated { line }
        | InsightsError::Fields { line, .. }
        | InsightsError::Timestamp { line } => line,
    }
}

fn lossy(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(b) => String::from_utf8_lossy(b),
        Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
    }
}

impl<'a> LogEvent<'a> {
    /// A log event of prefixed text of `shape` ([`super::prefixed::events_of`]). A syslog
    /// event's message is rebuilt as a scannable audit line ([`super::syslog::audit_line`]: the
    /// syslog time to the second put in front, the event keeping the microseconds); text
    /// before the first prefix is kept as it is.
    #[must_use]
    pub fn from_prefixed(e: PrefixedEvent<'a>, shape: Shape) -> Self {
        let time_us = match (shape, e.time_us) {
            (Shape::CloudWatch, _) | (Shape::Syslog, None) => return LogEvent::from(e),
            (Shape::Syslog, Some(us)) => us,
        };
        let line = super::syslog::SyslogLine {
            time_us: Some(time_us),
            audit: e.message,
        };
        let mut scratch = Vec::new();
        let rebuilt = super::syslog::audit_line(&line, &mut scratch).is_some();
        let message = if rebuilt {
            Cow::Owned(scratch)
        } else {
            Cow::Borrowed(e.message)
        };
        LogEvent {
            line_number: Some(e.line_number),
            time_us: Some(time_us),
            ..LogEvent::new(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_keeps_its_provenance() {
        let text =
            b"2024-05-01T12:00:00.123000+00:00 db1 20240501 12:00:00,db1,u,h,1,2,QUERY,,'x',0\n";
        let e = LogEvent::from(super::super::prefixed::events(text).next().unwrap());
        assert_eq!(e.log_stream.as_deref(), Some("db1"));
        assert_eq!(e.cloudwatch_timestamp_ms, Some(1_714_564_800_123));
        assert_eq!(e.line_number, Some(1));
        let csv = b"@timestamp,@message,@log\n2024-05-01 12:00:00.123,x,123456789012:/g\nbad\n";
        let rows: Vec<_> = super::super::insights_csv::rows(csv)
            .unwrap()
            .map(LogEvent::from_insights)
            .collect();
        assert_eq!(rows[0].log_group.as_deref(), Some("/g"));
        assert_eq!(rows[1].line_number, Some(3));
        assert!(rows[1].message.starts_with(b"line 3: "));
        let text =
            b"2024-05-01T12:00:00.5Z h mysql-server_auditing:  db1,u,h,1,2,QUERY,,'x',0\nnoise\n";
        let syslog: Vec<_> = super::super::prefixed::events_of(text, Shape::Syslog)
            .map(|e| LogEvent::from_prefixed(e, Shape::Syslog))
            .collect();
        // A line without the prefix continues the message (a name's raw break).
        assert_eq!(syslog.len(), 1);
        assert_eq!(syslog[0].time_us, Some(1_714_564_800_500_000));
        assert_eq!(
            &syslog[0].message[..],
            b"20240501 12:00:00,db1,u,h,1,2,QUERY,,'x',0\nnoise"
        );
    }
}
