//! Criterion benchmarks of the pipeline against the naive baseline (`benches/naive`).
//! Groups: `split`, `inflate`, `envelope`, `end_to_end`; filter with
//! `cargo bench --bench pipeline -- <group>`. Results, commands and profiling: BENCHMARKS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../naive/mod.rs"]
mod naive;

mod corpora;
mod end_to_end;
mod envelope;
mod inflate;
mod split;

use std::time::Duration;

use criterion::Criterion;

fn config() -> Criterion {
    let quick = corpora::quick();
    Criterion::default()
        .warm_up_time(Duration::from_secs(if quick { 1 } else { 2 }))
        .measurement_time(Duration::from_secs(if quick { 1 } else { 4 }))
        .sample_size(if quick { 10 } else { 30 })
        .configure_from_args()
}

fn batch_groups(c: &mut Criterion) {
    let mut batches = vec![corpora::recorded()];
    batches.extend(corpora::synthetic());
    inflate::bench(c, &batches);
    envelope::bench(c, &batches);
    end_to_end::bench(c, &batches);
}

criterion::criterion_group! {
    name = benches;
    config = config();
    targets = split::bench, batch_groups
}
criterion::criterion_main!(benches);
