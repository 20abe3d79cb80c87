//! rdsaudit: turn Aurora MySQL / RDS for MySQL / RDS for MariaDB audit logs into typed events.
//!
//! One front door, the [`Decoder`]: any input's bytes in (a Lambda Kinesis or CloudWatch Logs
//! event, a CloudWatch payload, a plain or gzip'd audit log), every [`AuditEvent`] pushed into a
//! [`Sink`] (a closure will do), and a [`Report`] whose counts prove nothing was lost.
//!
//! ```
//! use rdsaudit::{AuditEvent, Decoder};
//!
//! // What a Lambda function receives from a Kinesis event source mapping.
//! let event = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpus/kinesis/kinesis-event.json"))?;
//! let mut statements = Vec::new();
//! let report = Decoder::new().decode(&event, &mut |e: &AuditEvent<'_>| {
//!     statements.push(format!("{} {}@{}: {}", e.operation, e.username, e.host, e.object.text()));
//! })?;
//! assert!(report.is_balanced() && report.failed_records == 0);
//! println!("{} events, first: {}", statements.len(), statements[0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Inside, data flows one way, one folder per concern:
//!
//! ```text
//! input/     Lambda events, base64, gzip, CloudWatch envelopes, plain text -> records / lines
//! audit/     the scanner (and its reference twin), timestamps, unescape    -> AuditEvent
//! pipeline   rayon over records, pooled workers, in order                  -> Sink
//! sink/      the Sink trait; NDJSON, CSV/TSV, SQL                          -> bytes
//! report     the accounting                                                -> Report
//! ```
//!
//! [`filter`] holds the filters the CLI and the Lambda share.

#![deny(missing_docs)]
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
pub mod decoder;
pub mod filter;
pub mod input;
pub mod pipeline;
mod prefetch;
pub mod quarantine;
pub mod report;
pub mod sink;
mod swar;

#[cfg(test)]
pub(crate) mod test_support;

pub use audit::event::{
    Ambiguity, AuditEvent, Dialect, Extra, Name, Object, Operation, Provenance, Timestamp,
};
pub use audit::scanner::{LineError, parse_line};
pub use decoder::{Decoder, DecoderBuilder};
pub use report::Report;
pub use sink::Sink;
