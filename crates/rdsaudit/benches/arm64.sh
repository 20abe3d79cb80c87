#!/usr/bin/env bash
# Graviton without Graviton: the whole process on aarch64, in guest instructions under
# qemu-aarch64 (benches/qemu_count.py), rdsaudit (one thread, NDJSON) against the floor
# (benches/floor), on a tenth of compare.sh's inputs: the Kinesis event of 50 records x 200
# lines, 600 one-line records, and a 2 MB plain MariaDB log (15 x 1,000 lines).
# Instructions are not time (no cache, no pipeline, NEON and scalar counted alike), but they
# are exact and repeatable on a shared machine, and they see what an x86 profile cannot: the
# aarch64 code paths (NEON or the portable fallbacks) the Lambda runs.
#
# Usage: benches/arm64.sh [--top N]     (N: also list the N symbols executing the most)
#   RDSAUDIT_ARM_BIN and FLOOR_ARM_BIN: aarch64 binaries to use instead of building them.
# Needs: the aarch64-unknown-linux-gnu Rust target, gcc-aarch64-linux-gnu (libdeflate's C and
# the link), qemu-user and libc6-arm64-cross (Debian; installed here if missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
top=()
if [[ "${1:-}" == "--top" ]]; then top=(--top "$2"); fi

if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null \
    || [[ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]]; then
    sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6-arm64-cross \
        gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
fi
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
if [[ -z "${RDSAUDIT_ARM_BIN:-}" || -z "${FLOOR_ARM_BIN:-}" ]]; then
    rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        cargo build --release --quiet --target aarch64-unknown-linux-gnu \
        -p rdsaudit-cli --bin rdsaudit -p rdsaudit --example floor
fi
built="$target_dir/aarch64-unknown-linux-gnu/release"
rdsaudit="${RDSAUDIT_ARM_BIN:-$built/rdsaudit}"
floor="${FLOOR_ARM_BIN:-$built/examples/floor}"
run() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"; }

work="$target_dir/arm64"
mkdir -p "$work"
gen() { # name, gen args...
    local out="$work/$1"
    shift
    [[ -s "$out" ]] || run "$rdsaudit" gen "$@" --out "$out"
    echo "$out"
}
event=$(gen event-50x200.json --records 50 --lines-per-record 200 --dialect rds-mysql --output kinesis)
oneline=$(gen oneline-600.json --records 600 --lines-per-record 1 --dialect rds-mysql --output kinesis)
plain=$(gen plain-2mb.log --records 15 --lines-per-record 1000 --dialect mariadb --output lines)

count() { # command...: guest instructions (the first line of qemu_count.py's report)
    local fifo
    fifo="$(mktemp -u "$work/log.XXXXXX")"
    mkfifo "$fifo"
    python3 benches/qemu_count.py "${top[@]}" <"$fifo" >"$fifo.out" &
    qemu-aarch64 -L /usr/aarch64-linux-gnu -d in_asm,exec,nochain -D "$fifo" "$@" >/dev/null
    wait $!
    rm -f "$fifo"
    [[ ${#top[@]} -eq 0 ]] || cat "$fifo.out" >&2
    head -1 "$fifo.out" | awk '{print $2}'
    rm -f "$fifo.out"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); qemu $(qemu-aarch64 --version | head -1 | awk '{print $3}')"
echo "| input | NDJSON bytes | rdsaudit instructions | floor instructions | floor / rdsaudit |"
echo "|---|---|---|---|---|"
for pair in "event=$event" "oneline=$oneline" "plain=$plain"; do
    name=${pair%%=*} input=${pair#*=}
    bytes=$(run "$rdsaudit" --threads 1 parse --quiet "$input" | wc -c)
    ours=$(count "$rdsaudit" --threads 1 parse --quiet "$input")
    base=$(count "$floor" "$input" "$bytes" 2>/dev/null)
    python3 -c "import sys; n,b,o,f=sys.argv[1:]; print(f'| {n} | {int(b):,} | {int(o):,} | {int(f):,} | {100*int(f)/int(o):.0f}% |')" \
        "$name" "$bytes" "$ours" "$base"
done
