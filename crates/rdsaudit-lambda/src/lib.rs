//! The rdsaudit Lambda function as a library: where decoded events are delivered.

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

pub mod destination;
