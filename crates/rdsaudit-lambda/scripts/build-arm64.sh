#!/usr/bin/env bash
# Graviton for real: builds the function for arm64 (provided.al2023) with cargo-lambda, lints the
# SAM template, and runs the end-to-end tests on that arm64 binary under qemu-aarch64, checking
# that simd-json took its NEON path.
#
# Installs what it needs: cargo-lambda (which brings zig) and cfn-lint from PyPI into a
# virtualenv, the aarch64 Rust target, and Debian's qemu-user and arm64 C library (for the
# dynamically linked binary). Run from anywhere; honours CARGO_TARGET_DIR.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
venv=${RDSAUDIT_VENV:-$target_dir/lambda-venv}

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

step "tools: cargo-lambda and cfn-lint from PyPI into $venv"
[ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda cfn-lint
export PATH="$venv/bin:$PATH"
cargo lambda --version
cfn-lint --version

step "tools: aarch64 Rust target, qemu-user, arm64 C library"
rustup target add aarch64-unknown-linux-gnu
if ! command -v qemu-aarch64 >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6-arm64-cross >/dev/null
fi

step "cfn-lint crates/rdsaudit-lambda/template.yaml"
cfn-lint crates/rdsaudit-lambda/template.yaml

step "cargo lambda build --release --arm64"
cargo lambda build --release --arm64 -p rdsaudit-lambda
bin=$target_dir/lambda/bootstrap/bootstrap
command -v file >/dev/null && file "$bin"
ls -l "$bin"

# e2e_destinations runs the arm64 binary against moto (started by the test, natively) for its
# AWS SDK clients, TLS stack and delivery contract. tests/destinations.rs is not listed: it
# tests the destination library in the test process itself, which is the host's.
step "end-to-end tests on the arm64 binary under qemu-aarch64"
RDSAUDIT_LAMBDA_BIN=$bin \
RDSAUDIT_LAMBDA_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
RDSAUDIT_LAMBDA_EXPECT_SIMD=NEON \
    cargo test -p rdsaudit-lambda --test e2e --test e2e_memory --test e2e_destinations -- --nocapture

step "done"
