//! The cost of `--enrich` per event: NDJSON without and with the semantic keys, and the parts
//! (sqlparser/token analysis, fingerprint). Events: the recorded MariaDB corpus and a seeded
//! synthetic Aurora corpus (20% hard cases). Run with
//! `cargo bench -p rdsaudit-sql --bench enrich`; results in BENCHMARKS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rdsaudit::sink::NdjsonWriter;
use rdsaudit::{AuditEvent, Dialect, parse_line};
use rdsaudit_sql::{Enricher, analyze, fingerprint};
use rdsaudit_synth::{Corpus, Spec};

/// Audit lines: (name, lines).
fn corpora() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let recorded = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../corpus/mariadb/audit-full.log"
    ))
    .unwrap();
    let recorded: Vec<Vec<u8>> = recorded
        .split(|&b| b == b'\n')
        .filter(|l| parse_line(l).is_ok())
        .map(<[u8]>::to_vec)
        .collect();
    let synthetic = Corpus::generate(&Spec {
        records: 20,
        lines_per_record: 100,
        ..Spec::new(Dialect::Aurora)
    });
    let synthetic: Vec<Vec<u8>> = synthetic.lines().map(|l| l.line.clone()).collect();
    vec![
        ("mariadb-recorded", recorded),
        ("aurora-synthetic", synthetic),
    ]
}

fn bench(c: &mut Criterion) {
    for (name, lines) in corpora() {
        let events: Vec<AuditEvent<'_>> = lines.iter().map(|l| parse_line(l).unwrap()).collect();
        let mut group = c.benchmark_group(format!("enrich/{name}"));
        group.throughput(Throughput::Elements(events.len() as u64));
        let mut out = Vec::with_capacity(1 << 20);
        group.bench_function("ndjson", |b| {
            let mut w = NdjsonWriter::new();
            b.iter(|| {
                out.clear();
                for e in &events {
                    w.write(e, &mut out);
                }
                black_box(out.len())
            });
        });
        group.bench_function("ndjson+enrich", |b| {
            let mut w = NdjsonWriter::new();
            b.iter(|| {
                out.clear();
                let mut enricher = Enricher::default();
                for e in &events {
                    let s = enricher.enrich(e);
                    w.write_with(e, &mut out, |o| s.write_ndjson(o));
                }
                black_box(out.len())
            });
        });
        let sql: Vec<Vec<u8>> = events
            .iter()
            .filter(|e| e.operation == rdsaudit::Operation::Query)
            .map(|e| e.object.unescaped().into_owned())
            .collect();
        group.throughput(Throughput::Elements(sql.len() as u64));
        group.bench_function("analyze (queries only)", |b| {
            b.iter(|| sql.iter().map(|s| analyze(s).tables.len()).sum::<usize>());
        });
        group.bench_function("fingerprint (queries only)", |b| {
            b.iter(|| sql.iter().map(|s| fingerprint(s).len()).sum::<usize>());
        });
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args()
}

criterion_group! { name = benches; config = config(); targets = bench }
criterion_main!(benches);
