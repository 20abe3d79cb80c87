#!/usr/bin/env bash
# The library on aarch64 (the Lambda's Graviton), where its vector code is NEON, not SSE2:
# clippy for that target, then the unit tests of the vector code (every fast path against
# its byte-at-a-time reference) cross-built and run under qemu-aarch64. x86 CI runs the same
# tests against the SSE2 paths; without this step the NEON paths would be tested by nobody.
#
# Usage: crates/rdsaudit/tests/arm64-lib.sh [TEST FILTER...]   (default: the vector modules,
# and the scanner and dialect, whose masks and host classification are NEON there)
# Needs the aarch64-unknown-linux-gnu Rust target (added here), gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross (libdeflate's C, the link), qemu-user and libc6-arm64-cross.
set -euo pipefail
cd "$(dirname "$0")/../../.."
rustup target add aarch64-unknown-linux-gnu >/dev/null
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
# qemu runs the debug tests ~20x slower than native: fewer cases than x86 CI's 2,000.
export PROPTEST_CASES="${RDSAUDIT_ARM64_PROPTEST_CASES:-500}"
filters=("$@")
[ ${#filters[@]} -gt 0 ] || filters=(swar json_escape sink::csv input::json::walk input::envelope::fast audit::scanner audit::dialect)
cargo clippy --target aarch64-unknown-linux-gnu -p rdsaudit --lib --tests -- -D warnings
cargo test --target aarch64-unknown-linux-gnu -p rdsaudit --lib -- "${filters[@]}"
