//! `inflate`: the gzip payloads of a batch, libdeflate (`rdsaudit::input::gzip::Inflater`, reused
//! buffer, CRC checked) against `flate2`'s `GzDecoder` into a reused `Vec`.

use std::hint::black_box;
use std::io::Read as _;

use criterion::{BenchmarkId, Criterion, Throughput};

use crate::corpora::Batch;

pub fn bench(c: &mut Criterion, batches: &[Batch]) {
    let mut group = c.benchmark_group("inflate");
    for batch in batches {
        let payloads = batch.gzip();
        group.throughput(Throughput::Bytes(batch.inflated_len()));
        group.bench_with_input(
            BenchmarkId::new("libdeflate", batch.name),
            &payloads,
            |b, payloads| {
                let mut inflater = rdsaudit::input::gzip::Inflater::new();
                b.iter(|| libdeflate(&mut inflater, payloads));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("flate2", batch.name),
            &payloads,
            |b, payloads| {
                let mut out = Vec::new();
                b.iter(|| flate2(&mut out, payloads));
            },
        );
    }
    group.finish();
}

/// What `end_to_end` compares against: decompression alone, the floor of the pipeline.
pub fn libdeflate(inflater: &mut rdsaudit::input::gzip::Inflater, payloads: &[Vec<u8>]) -> usize {
    payloads
        .iter()
        .map(|gz| black_box(inflater.inflate(gz).expect("corpus gzip").bytes()).len())
        .sum()
}

fn flate2(out: &mut Vec<u8>, payloads: &[Vec<u8>]) -> usize {
    payloads
        .iter()
        .map(|gz| {
            out.clear();
            flate2::read::GzDecoder::new(gz.as_slice())
                .read_to_end(out)
                .expect("corpus gzip");
            black_box(&out).len()
        })
        .sum()
}
