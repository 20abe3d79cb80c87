//! Every delivery shape an audit line arrives in: Lambda events, gzip, CloudWatch Logs
//! envelopes, plain log files.

pub mod base64_data;
pub mod encoding;
pub mod envelope;
pub mod get_records;
pub mod gzip;
pub mod insights_csv;
mod json;
pub mod log_event;
pub mod logs_api;
pub mod multiline;
pub mod prefixed;
pub mod source;
pub mod syslog;
pub mod text;
