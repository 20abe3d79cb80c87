//! Deterministic synthetic audit logs, for tests, benchmarks and `rdsaudit gen`.
//!
//! A [`Spec`] (seed, records × lines per record, dialect, share of hard cases) always gives
//! the same [`Corpus`]. Each generated line carries what it *means* ([`Expected`]): the
//! fields and the exact unescaped object a correct parser must return. The corpus can be
//! delivered as plain log text, CloudWatch Logs envelopes, gzip payloads or a Lambda Kinesis
//! event (see [`delivery`]), with real gzip (libdeflate) and realistic ids.
//!
//! ```
//! use rdsaudit_synth::{Corpus, Spec};
//! use rdsaudit::Dialect;
//!
//! let corpus = Corpus::generate(&Spec { records: 2, lines_per_record: 3, ..Spec::new(Dialect::RdsMySql) });
//! assert_eq!(corpus.lines().count(), 6);
//! for line in corpus.lines() {
//!     let event = rdsaudit::parse_line(&line.line)?;
//!     assert_eq!(*event.object.unescaped(), line.expected.object[..]);
//!     assert_eq!(event.operation.as_str(), line.expected.operation);
//! }
//! // The same spec gives the same bytes; a Kinesis event wraps one gzip payload per record.
//! assert_eq!(corpus.kinesis_event(), Corpus::generate(&corpus.spec).kinesis_event());
//! assert!(corpus.kinesis_event().starts_with(br#"{"Records":[{"kinesis":{"#));
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

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

pub mod delivery;
mod render;
pub mod rng;
mod statements;
pub mod tsv;

use rdsaudit::audit::event::Dialect;
use render::Renderer;
use rng::Rng;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub seed: u64,
    /// Kinesis records (each one CloudWatch envelope from one log stream).
    pub records: usize,
    /// Audit lines per record (`logEvents` per envelope).
    pub lines_per_record: usize,
    pub dialect: Dialect,
    /// Percentage (0 to 100) of lines taken from the hard cases.
    pub hard_percent: u8,
}

impl Spec {
    /// A small corpus of `dialect`: seed 1, 10 records of 10 lines, 20% hard cases.
    pub fn new(dialect: Dialect) -> Self {
        Spec {
            seed: 1,
            records: 10,
            lines_per_record: 10,
            dialect,
            hard_percent: 20,
        }
    }

    /// The largest `BatchSize` a Kinesis event source mapping allows: 10,000 records of one
    /// audit line each. The event is about 9.6 MB, more than Lambda's 6 MB invocation payload,
    /// so a real stream delivers it split; use [`Spec::max_lambda_payload`] for the largest
    /// event one invocation actually receives.
    pub fn max_lambda_batch(dialect: Dialect) -> Self {
        Spec {
            records: 10_000,
            lines_per_record: 1,
            ..Spec::new(dialect)
        }
    }

    /// The largest event one invocation receives with one line per record: 6,000 records,
    /// about 5.7 MB, under the 6 MB synchronous payload limit.
    pub fn max_lambda_payload(dialect: Dialect) -> Self {
        Spec {
            records: 6_000,
            ..Spec::max_lambda_batch(dialect)
        }
    }
}

/// What one line means: the values a correct parser reads from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub dialect: Dialect,
    /// The event time as the parser must normalise it (whole seconds for MariaDB-style lines).
    pub timestamp_us: i64,
    pub serverhost: String,
    pub username: String,
    pub host: String,
    pub connection_id: u64,
    pub query_id: u64,
    pub operation: &'static str,
    pub database: String,
    /// The unescaped object: the statement as the plugin kept it (cut at 1024 bytes, possibly
    /// inside a character), a table name, or empty.
    pub object: Vec<u8>,
    pub retcode: Option<i64>,
    pub extra: Vec<&'static str>,
}

/// One generated audit line and where CloudWatch put it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthLine {
    /// The line as the plugin writes it, without the newline.
    pub line: Vec<u8>,
    /// CloudWatch Logs event id (56 digits).
    pub event_id: String,
    pub cloudwatch_timestamp_ms: i64,
    pub expected: Expected,
}

/// One Kinesis record's worth of lines, all from one log stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub log_group: String,
    pub log_stream: String,
    /// Kinesis sequence number (56 digits, increasing).
    pub sequence_number: String,
    pub lines: Vec<SynthLine>,
}

/// A generated corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corpus {
    pub spec: Spec,
    pub records: Vec<Record>,
}

impl Corpus {
    pub fn generate(spec: &Spec) -> Corpus {
        let mut rng = Rng::new(spec.seed);
        let mut renderer = Renderer::new(spec.dialect);
        let records = (0..spec.records)
            .map(|index| {
                let instance = renderer.instance(rng.below(2));
                let lines = (0..spec.lines_per_record)
                    .map(|_| renderer.next_line(&mut rng, &instance, spec.hard_percent))
                    .collect();
                Record {
                    log_group: instance.log_group,
                    log_stream: instance.log_stream,
                    sequence_number: delivery::sequence_number(spec.seed, index),
                    lines,
                }
            })
            .collect();
        Corpus {
            spec: *spec,
            records,
        }
    }

    /// Every line, in record order.
    pub fn lines(&self) -> impl Iterator<Item = &SynthLine> {
        self.records.iter().flat_map(|r| r.lines.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdsaudit::parse_line;

    /// Every line of every dialect, hard cases included, parses to exactly what it meant.
    #[test]
    fn parser_reads_what_the_generator_meant() {
        for dialect in [Dialect::Aurora, Dialect::MariaDb, Dialect::RdsMySql] {
            let spec = Spec {
                records: 40,
                hard_percent: 50,
                ..Spec::new(dialect)
            };
            for line in Corpus::generate(&spec).lines() {
                let e = parse_line(&line.line).unwrap();
                let x = &line.expected;
                let extra: Vec<&[u8]> = e.extra.fields().collect();
                let want_extra: Vec<&[u8]> = x.extra.iter().map(|s| s.as_bytes()).collect();
                assert_eq!(
                    (
                        e.timestamp.dialect,
                        e.timestamp.epoch_us,
                        e.serverhost.as_bytes(),
                        e.username.as_bytes(),
                        e.host.as_bytes()
                    ),
                    (
                        x.dialect,
                        x.timestamp_us,
                        x.serverhost.as_bytes(),
                        x.username.as_bytes(),
                        x.host.as_bytes()
                    )
                );
                assert_eq!(
                    (e.connection_id, e.query_id, e.operation.as_str()),
                    (x.connection_id, x.query_id, x.operation)
                );
                assert_eq!(
                    (e.database.as_bytes(), &*e.object.unescaped(), e.retcode),
                    (x.database.as_bytes(), &x.object[..], x.retcode)
                );
                assert_eq!(extra, want_extra, "{}", String::from_utf8_lossy(&line.line));
            }
        }
    }

    #[test]
    fn hard_share_and_seed_change_the_corpus() {
        let base = Spec::new(Dialect::Aurora);
        let other_seed = Corpus::generate(&Spec { seed: 2, ..base });
        assert_ne!(
            Corpus::generate(&base).plain_text(),
            other_seed.plain_text()
        );
        let all_hard = Corpus::generate(&Spec {
            hard_percent: 100,
            ..base
        });
        let none_hard = Corpus::generate(&Spec {
            hard_percent: 0,
            ..base
        });
        let has_escape = |c: &Corpus| c.lines().filter(|l| l.line.contains(&b'\\')).count();
        assert!(has_escape(&all_hard) > has_escape(&none_hard));
    }

    #[test]
    fn lambda_presets_have_the_documented_sizes() {
        for dialect in [Dialect::Aurora, Dialect::MariaDb, Dialect::RdsMySql] {
            let batch = Corpus::generate(&Spec::max_lambda_batch(dialect));
            assert_eq!(batch.records.len(), 10_000);
            let size = batch.kinesis_event().len();
            assert!(
                (8_500_000..10_500_000).contains(&size),
                "{dialect:?} batch: {size} bytes"
            );
            let payload = Corpus::generate(&Spec::max_lambda_payload(dialect)).kinesis_event();
            assert!(
                (5_000_000..6_000_000).contains(&payload.len()),
                "{dialect:?} payload: {} bytes",
                payload.len()
            );
        }
    }
}
