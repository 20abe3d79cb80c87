//! Criterion benchmarks of the pipeline against the naive baseline (`benches/naive`).
//! Groups: `split`. See BENCHMARKS.md for the results and how to run and profile them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../naive/mod.rs"]
mod naive;

mod corpora;
mod split;

criterion::criterion_group!(benches, split::bench);
criterion::criterion_main!(benches);
