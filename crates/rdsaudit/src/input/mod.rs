//! Every delivery shape an audit line arrives in, one file each, and the one [`InputKind`] that
//! names them.
//!
//! | shape | file |
//! | --- | --- |
//! | Lambda event from a Kinesis event source mapping | [`kinesis`] |
//! | Lambda event from a CloudWatch Logs subscription (`awslogs`) | [`awslogs`] |
//! | base64 of a record's `data` | [`base64`] |
//! | gzip (libdeflate, every member, bounded) | [`gzip`] |
//! | CloudWatch Logs subscription payload (envelope JSON) | [`envelope`] |
//! | plain audit log text | [`text`] |
//! | `aws kinesis get-records` output | [`get_records`] |
//! | one record's `Data`, pasted | [`base64_data`] |
//! | `aws logs filter-log-events` / `get-log-events` | [`logs_api`] |
//! | CloudWatch export to S3, `aws logs tail` | [`prefixed`] |
//! | Logs Insights CSV | [`insights_csv`] |
//! | the plugin's syslog output | [`syslog`] |
//! | their log events, read one way | [`log_event`], [`multiline`] |
//! | UTF-8 BOM, UTF-16 | [`encoding`] |
//! | telling them apart by content | [`detect`](mod@detect) |
//!
//! A Lambda event is parsed into [`SourceRecord`]s ([`record`]), whose payloads the
//! [`crate::pipeline`] inflates and walks.

pub mod awslogs;
pub mod base64;
pub mod base64_data;
pub mod detect;
pub mod encoding;
pub mod envelope;
pub mod get_records;
pub mod gzip;
pub mod insights_csv;
mod json;
pub mod kinesis;
pub mod log_event;
pub mod logs_api;
pub mod multiline;
pub mod prefixed;
pub mod record;
pub mod stream;
pub mod syslog;
pub mod text;

pub use awslogs::parse_awslogs_event;
pub use base64::{MAX_DECODED_LEN, decode_base64, decode_base64_with_limit};
pub use detect::detect;
pub use json::MAX_EVENT_VALUES;
pub use kinesis::parse_kinesis_event;
pub use record::{JsonError, Payload, RecordProblem, SourceError, SourceParser, SourceRecord};

/// What an input holds. Any of them may also arrive gzip-compressed as a whole (a `.gz` file);
/// the [`crate::Decoder`] inflates it and detects what is inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputKind {
    /// A Lambda event from Kinesis: `{"Records":[{"kinesis":{"data":"<base64 gzip>",...}}]}`.
    KinesisEvent,
    /// A Lambda event from a CloudWatch Logs subscription: `{"awslogs":{"data":"<base64 gzip>"}}`.
    AwslogsEvent,
    /// A CloudWatch Logs subscription payload, gzip (what a Kinesis record's data decodes to);
    /// several members back to back are several payloads (Firehose-to-S3 objects).
    CloudWatchGzip,
    /// A CloudWatch Logs subscription payload, decompressed JSON (one or more objects back to
    /// back).
    CloudWatchJson,
    /// Audit log text, one event per line, in any dialect (a downloaded RDS log file).
    AuditText,
    /// `aws kinesis get-records` output: `{"Records":[{"SequenceNumber","Data",...}]}`
    /// ([`get_records`]).
    KinesisGetRecords,
    /// One Kinesis record's `Data` pasted alone: base64 of a gzip payload ([`base64_data`]).
    Base64Data,
    /// `aws logs filter-log-events` / `get-log-events` output: `{"events":[...]}`
    /// ([`logs_api`]).
    LogsApi,
    /// Log events behind a time prefix: CloudWatch Logs export to S3, `aws logs tail`
    /// ([`prefixed`]).
    PrefixedText,
    /// CloudWatch Logs Insights results as CSV, `@timestamp,@message` ([`insights_csv`]).
    InsightsCsv,
    /// The MariaDB audit plugin's syslog output ([`syslog`]).
    Syslog,
}

impl InputKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [InputKind; 11] = [
        InputKind::KinesisEvent,
        InputKind::AwslogsEvent,
        InputKind::CloudWatchGzip,
        InputKind::CloudWatchJson,
        InputKind::AuditText,
        InputKind::KinesisGetRecords,
        InputKind::Base64Data,
        InputKind::LogsApi,
        InputKind::PrefixedText,
        InputKind::InsightsCsv,
        InputKind::Syslog,
    ];

    /// The kind's name on the command line (`--input`) and in messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            InputKind::KinesisEvent => "kinesis",
            InputKind::AwslogsEvent => "awslogs",
            InputKind::CloudWatchGzip => "cloudwatch-gzip",
            InputKind::CloudWatchJson => "cloudwatch-json",
            InputKind::AuditText => "text",
            InputKind::KinesisGetRecords => "kinesis-get-records",
            InputKind::Base64Data => "base64",
            InputKind::LogsApi => "logs-api",
            InputKind::PrefixedText => "logs-text",
            InputKind::InsightsCsv => "insights-csv",
            InputKind::Syslog => "syslog",
        }
    }

    /// One line saying what the kind looks like.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            InputKind::KinesisEvent => {
                r#"Lambda event from Kinesis: {"Records":[{"kinesis":{"data":...}}]}"#
            }
            InputKind::AwslogsEvent => {
                r#"Lambda event from a CloudWatch Logs subscription: {"awslogs":{"data":...}}"#
            }
            InputKind::CloudWatchGzip => {
                "CloudWatch Logs subscription payload, gzip (what a Kinesis record's data decodes to)"
            }
            InputKind::CloudWatchJson => "CloudWatch Logs subscription payload, decompressed JSON",
            InputKind::AuditText => "Audit log text, one event per line, in any dialect",
            InputKind::KinesisGetRecords => {
                r#"aws kinesis get-records output (pages back to back too): {"Records":[{"SequenceNumber":...,"Data":...}]}"#
            }
            InputKind::Base64Data => "One Kinesis record's Data pasted alone (base64 of gzip)",
            InputKind::LogsApi => {
                r#"aws logs filter-log-events / get-log-events output: {"events":[...]}"#
            }
            InputKind::PrefixedText => {
                "CloudWatch Logs export to S3 (000000.gz) or aws logs tail: <ISO time> [<stream>] <audit line>"
            }
            InputKind::InsightsCsv => "Logs Insights results as CSV: @timestamp,@message",
            InputKind::Syslog => {
                "MariaDB audit plugin syslog output (mysql-server_auditing:), RFC 3339 times (no zone: UTC; RFC 3164 times refused)"
            }
        }
    }

    /// The kind named `name` ([`InputKind::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<InputKind> {
        InputKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

#[cfg(test)]
mod tests;
