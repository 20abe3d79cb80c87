//! rdsaudit: turn Aurora MySQL / RDS for MySQL / RDS for MariaDB audit logs into typed events.
//!
//! The pipeline, one folder per concern, data flowing one way:
//!
//! ```text
//! input::source   (Lambda Kinesis / awslogs event, base64)    -> SourceRecord
//! input::gzip     (libdeflate, multi-member gzip, size limit) -> decompressed bytes, padded
//! input::envelope (simd-json in place, tape walk)             -> LogEnvelope { logEvents[] }
//! audit::scanner  (memchr quote-state scanner)                -> RawLine / AuditEvent
//! pipeline        (rayon, worker pool, bumpalo arenas, Report)-> visitor output per record
//! sink            (NDJSON with fixed keys)                    -> bytes
//! ```
//!
//! Plain log files go through [`input::text`] instead of the first three stages. [`filter`]
//! holds the filters the CLI and the Lambda share.

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

pub mod audit;
pub mod filter;
pub mod input;
pub mod pipeline;
pub mod shape;
pub mod sink;
mod swar;

#[cfg(test)]
pub(crate) mod test_support;

pub use audit::event::{
    Ambiguity, AuditEvent, Dialect, Extra, Object, Operation, Provenance, Timestamp,
};
pub use audit::scanner::{LineError, parse_line};
