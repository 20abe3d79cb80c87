//! `envelope`: the decompressed CloudWatch Logs payloads of a batch, simd-json in place
//! (`rdsaudit::input::envelope::EnvelopeParser`, borrowed strings) against `serde_json::Value`
//! (what the naive baseline does). simd-json rewrites its buffer, so each iteration first
//! copies the payload into a reused padded buffer; that copy is measured too.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use rdsaudit::input::envelope::{EnvelopeParser, parse_unpadded};

use crate::corpora::Batch;

pub fn bench(c: &mut Criterion, batches: &[Batch]) {
    let mut group = c.benchmark_group("envelope");
    for batch in batches {
        let payloads = batch.json();
        group.throughput(Throughput::Bytes(batch.inflated_len()));
        group.bench_with_input(
            BenchmarkId::new("simd-json", batch.name),
            &payloads,
            |b, payloads| {
                let mut parser = EnvelopeParser::new();
                let mut scratch = Vec::new();
                b.iter(|| simd(&mut parser, &mut scratch, payloads));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("serde_json", batch.name),
            &payloads,
            |b, payloads| {
                b.iter(|| serde(payloads));
            },
        );
    }
    group.finish();
}

fn simd(parser: &mut EnvelopeParser, scratch: &mut Vec<u8>, payloads: &[Vec<u8>]) -> usize {
    payloads
        .iter()
        .map(|json| {
            let envelopes = parse_unpadded(parser, json, scratch).expect("corpus JSON");
            envelopes
                .iter()
                .map(|e| black_box(&e.log_events).len())
                .sum::<usize>()
        })
        .sum()
}

fn serde(payloads: &[Vec<u8>]) -> usize {
    payloads
        .iter()
        .map(|json| {
            let value: serde_json::Value = serde_json::from_slice(json).expect("corpus JSON");
            black_box(value["logEvents"].as_array()).map_or(0, Vec::len)
        })
        .sum()
}
