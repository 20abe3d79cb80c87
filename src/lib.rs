//! rdsaudit: turn Aurora MySQL / RDS for MySQL / RDS for MariaDB audit logs into typed events.
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! ```text
//! source  (Lambda Kinesis / awslogs event, base64)      -> SourceRecord
//! inflate (libdeflate, multi-member gzip, size limit)   -> decompressed bytes, padded
//! envelope(simd-json in place, tape walk)               -> LogEnvelope { logEvents[] }
//! line    (memchr quote-state scanner)                  -> RawLine / AuditEvent
//! batch   (rayon, worker pool, bumpalo arenas, Report)  -> visitor output per record
//! sink    (NDJSON with fixed keys)                      -> bytes
//! ```
//!
//! Plain log files go through [`text`] instead of the first three stages. [`filter`] holds
//! the filters the CLI and the Lambda share; [`synth`] generates seeded corpora.

// Tests may unwrap and index: a failing test should panic.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod batch;
pub mod envelope;
pub mod event;
pub mod filter;
pub mod inflate;
mod json;
pub mod line;
pub mod shape;
pub mod sink;
pub mod source;
mod swar;
pub mod synth;
pub mod text;
pub mod unescape;

#[cfg(test)]
pub(crate) mod test_support;

pub use event::{AuditEvent, Dialect, Extra, Object, Operation, Provenance, Timestamp};
pub use line::LineError;
