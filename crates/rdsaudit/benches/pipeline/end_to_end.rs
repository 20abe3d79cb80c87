//! `end_to_end`: a batch of Kinesis `data` strings to the unescaped object of every audit
//! event. Ours through `rdsaudit::pipeline::Pipeline` (base64, libdeflate, simd-json in place,
//! the line scanner, typed events, objects unescaped into the sink's scratch buffer) on one thread
//! and on rayon's pool; the naive baseline; and the floor, libdeflate inflating the same
//! payloads and nothing else.
//!
//! Before timing, each batch's correctness share is printed: the share of data log events
//! whose naive field 8 equals our unescaped object.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use rdsaudit::input::SourceRecord;
use rdsaudit::pipeline::Pipeline;
use rdsaudit::report::Report;
use rdsaudit::{AuditEvent, Sink};

use crate::corpora::Batch;
use crate::{inflate, naive};

pub fn bench(c: &mut Criterion, batches: &[Batch]) {
    for batch in batches {
        report_correctness(batch);
    }
    let mut group = c.benchmark_group("end_to_end");
    group.sampling_mode(SamplingMode::Flat);
    for batch in batches {
        let records = batch.records();
        let pipeline = Pipeline::new();
        group.throughput(Throughput::Bytes(batch.inflated_len()));
        group.sample_size(if crate::corpora::quick() { 10 } else { 30 });
        group.bench_with_input(
            BenchmarkId::new("ours-1-thread", batch.name),
            &records,
            |b, r| {
                b.iter(|| ours(&pipeline, r, false));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("ours-rayon", batch.name),
            &records,
            |b, r| {
                b.iter(|| ours(&pipeline, r, true));
            },
        );
        let payloads = batch.gzip();
        group.bench_with_input(
            BenchmarkId::new("floor-libdeflate", batch.name),
            &payloads,
            |b, p| {
                let mut inflater = rdsaudit::input::gzip::Inflater::new();
                b.iter(|| inflate::libdeflate(&mut inflater, p));
            },
        );
        group.sample_size(10);
        group.bench_with_input(
            BenchmarkId::new("naive", batch.name),
            &batch.data,
            |b, data| {
                b.iter(|| naive_batch(data));
            },
        );
    }
    group.finish();
}

/// Unescapes every object into one reused buffer and counts the bytes.
#[derive(Default)]
struct Unescaped {
    scratch: Vec<u8>,
    total: usize,
}

impl Sink for Unescaped {
    fn event(&mut self, event: &AuditEvent<'_>) {
        self.scratch.clear();
        event.object.unescape_into(&mut self.scratch);
        self.total += black_box(&self.scratch).len();
    }
}

/// Collects the unescaped objects.
#[derive(Default)]
struct Objects(Vec<Vec<u8>>);

impl Sink for Objects {
    fn event(&mut self, event: &AuditEvent<'_>) {
        self.0.push(event.object.unescaped().into_owned());
    }
}

/// Our pipeline; returns the bytes of unescaped objects.
fn ours(pipeline: &Pipeline, records: &[SourceRecord<'_>], parallel: bool) -> usize {
    let done = pipeline.process(records, 0, parallel, Unescaped::default);
    let mut report = Report::default();
    done.iter().for_each(|(o, _)| report.add(o, true));
    assert!(report.is_balanced());
    done.iter().map(|(_, s)| s.total).sum()
}

fn naive_batch(data: &[String]) -> usize {
    data.iter()
        .flat_map(|d| naive::record_objects(d).expect("the baseline reads the corpus"))
        .map(|object| black_box(object).map_or(0, |o| o.len()))
        .sum()
}

/// Prints how many data log events the naive baseline gets right, record by record.
fn report_correctness(batch: &Batch) {
    let pipeline = Pipeline::new();
    let (mut events, mut right) = (0usize, 0usize);
    for (data, record) in batch.data.iter().zip(batch.records()) {
        let theirs = naive::record_objects(data).expect("the baseline reads the corpus");
        let ours = pipeline.process(&[record], 0, false, Objects::default);
        let (outcome, objects) = &ours[0];
        // Our unparsed lines would break the pairing by position; the corpora have none.
        assert_eq!(
            outcome.unparsed_count(),
            0,
            "{}: we failed a line",
            batch.name
        );
        assert_eq!(
            theirs.len(),
            objects.0.len(),
            "{}: event counts differ",
            batch.name
        );
        events += theirs.len();
        right += theirs
            .iter()
            .zip(&objects.0)
            .filter(|(t, o)| t.as_ref().map(String::as_bytes) == Some(o.as_slice()))
            .count();
    }
    println!(
        "naive correctness on {}: {right} of {events} events ({:.1}%)",
        batch.name,
        100.0 * right as f64 / events.max(1) as f64
    );
}
