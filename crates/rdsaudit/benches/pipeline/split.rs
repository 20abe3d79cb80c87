//! `split`: from one audit line to its unescaped object (field 8), three ways.
//!
//! - `ours`: `line::scan` then `unescape_into` a reused buffer (`ours-scan`: the fields only,
//!   the object left escaped, as our pipeline keeps it until asked);
//! - `regex`: the naive baseline's lookahead split, index 8, trim and `\'` replacement;
//! - `csv`: the `csv` crate with `'` quotes and `\` escapes, field 8, over the lines joined
//!   by newlines (one reader for all, its best case).

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use std::hint::black_box;

use crate::corpora;
use crate::naive;

pub fn bench(c: &mut Criterion) {
    let quick = corpora::quick();
    let short: Vec<String> = corpora::recorded_lines("corpus/mariadb/audit-full.log")
        .into_iter()
        .filter(|l| l.len() < 256)
        .collect();
    let sets = [
        ("short", short),
        ("1KB", vec![corpora::insert_line(1024); 64]),
        ("64KB", vec![corpora::insert_line(64 * 1024)]),
    ];
    let mut group = c.benchmark_group("split");
    group.sampling_mode(SamplingMode::Flat);
    for (name, lines) in &sets {
        let joined = lines.join("\n");
        group.throughput(Throughput::Bytes(corpora::total_len(lines)));
        group.sample_size(if quick { 10 } else { 30 });
        group.bench_with_input(BenchmarkId::new("ours", name), lines, |b, lines| {
            let mut object = Vec::new();
            b.iter(|| ours(lines, &mut object));
        });
        group.bench_with_input(BenchmarkId::new("ours-scan", name), lines, |b, lines| {
            b.iter(|| scan(lines));
        });
        group.bench_with_input(BenchmarkId::new("csv", name), &joined, |b, joined| {
            b.iter(|| csv_objects(joined));
        });
        // The regex is quadratic in the line length (each comma scans to the end of the line):
        // ten samples of one iteration each at 64 KB.
        group.sample_size(10);
        group.bench_with_input(BenchmarkId::new("regex", name), lines, |b, lines| {
            b.iter(|| regex(lines));
        });
    }
    group.finish();
}

fn ours(lines: &[String], object: &mut Vec<u8>) -> usize {
    let mut total = 0;
    for line in lines {
        let raw = rdsaudit::audit::scanner::scan(line.as_bytes()).expect("bench lines parse");
        object.clear();
        rdsaudit::audit::unescape::unescape_into(raw.object, object);
        total += black_box(&object).len();
    }
    total
}

fn scan(lines: &[String]) -> usize {
    lines
        .iter()
        .map(|l| {
            black_box(
                rdsaudit::audit::scanner::scan(l.as_bytes())
                    .expect("bench lines parse")
                    .object,
            )
            .len()
        })
        .sum()
}

fn regex(lines: &[String]) -> usize {
    lines
        .iter()
        .map(|l| {
            naive::object(l)
                .expect("the regex runs")
                .map_or(0, |o| black_box(o).len())
        })
        .sum()
}

fn csv_objects(joined: &str) -> usize {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .quote(b'\'')
        .escape(Some(b'\\'))
        .double_quote(false)
        .from_reader(joined.as_bytes());
    let mut record = csv::ByteRecord::new();
    let mut total = 0;
    while reader.read_byte_record(&mut record).expect("csv reads") {
        total += black_box(record.get(8)).map_or(0, <[u8]>::len);
    }
    total
}
