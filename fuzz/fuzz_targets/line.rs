//! libFuzzer target; the body (and what it checks) is shared with the stable runner.
#![no_main]

#[path = "../../crates/rdsaudit/tests/fuzz_bodies/line.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
