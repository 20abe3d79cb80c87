//! rdsaudit: turn Aurora MySQL / RDS for MySQL / RDS for MariaDB audit logs into typed events.
//!
//! The pipeline, one module per stage, data flowing one way:
//! `source` (Lambda events) -> `inflate` (gzip) -> `envelope` (CloudWatch JSON) -> `line` (audit line
//! scanner) -> `event` (typed `AuditEvent`) -> `batch` (parallel, accounted) -> `sink` (NDJSON).

pub mod envelope;
pub mod event;
pub mod inflate;
pub mod line;
pub mod source;
pub mod synth;
pub mod unescape;

pub use event::{AuditEvent, Dialect, Extra, Object, Operation, Provenance, Timestamp};
pub use line::LineError;
pub mod filter;
pub mod sink;
pub mod text;
