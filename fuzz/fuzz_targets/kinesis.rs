//! libFuzzer target; the body (and what it checks) is shared with the stable runner.
#![no_main]

#[path = "../../crates/rdsaudit/tests/fuzz_bodies/kinesis.rs"]
mod body;
// Shared builders; this target uses only those the kinesis body needs.
#[allow(dead_code)]
#[path = "../../crates/rdsaudit/tests/fuzz_bodies/payload.rs"]
mod payload;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
