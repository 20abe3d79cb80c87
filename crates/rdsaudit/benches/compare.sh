#!/usr/bin/env bash
# Whole-process comparison on generated inputs: `rdsaudit parse` (NDJSON, 1 and 2 threads),
# the floor (benches/floor: only base64 + libdeflate + one pass + writing as many bytes),
# and the Python and Node.js peers (benches/peers/lambda.{py,js}), interleaved, output to
# /dev/null; medians of CPU (user+sys) and wall time, ratios (benches/compare.py).
#
# Usage: benches/compare.sh [--quick] [ROUNDS]
#   default: the Kinesis event of 500 records x 200 lines (4 MB, 16 MB inflated), 6,000 one-line records
#   (`--preset max-lambda-payload`) and a ~100 MB plain MariaDB log; 7 rounds.
#   --quick: a tenth of each, 3 rounds. Set RDSAUDIT_COMPARE_NO_PEERS=1 to skip the peers,
#   RDSAUDIT_COMPARE_BEFORE=<another rdsaudit binary> to time it too (`before-1t`).
#   RDSAUDIT_BIN and FLOOR_BIN: use these binaries instead of building (a shared target
#   directory's release/ may be rebuilt by someone else while this runs).
# Inputs are cached in $CARGO_TARGET_DIR/compare (or target/compare) by size.
set -euo pipefail
cd "$(dirname "$0")/.."

scale=1
rounds=7
if [[ "${1:-}" == "--quick" ]]; then scale=10; rounds=3; shift; fi
rounds="${1:-$rounds}"

target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
if [[ -z "${RDSAUDIT_BIN:-}" ]]; then
    cargo build --release --quiet -p rdsaudit-cli --bin rdsaudit
    cargo build --release --quiet -p rdsaudit --example floor
fi
rdsaudit="${RDSAUDIT_BIN:-$target_dir/release/rdsaudit}"
floor="${FLOOR_BIN:-$target_dir/release/examples/floor}"

work="$target_dir/compare"
mkdir -p "$work"
gen() { # name, gen args...
    local out="$work/$1"
    shift
    [[ -s "$out" ]] || "$rdsaudit" gen "$@" --out "$out"
    echo "$out"
}
event=$(gen "event-500x200-s$scale.json" --records $((500 / scale)) --lines-per-record 200 --dialect rds-mysql --output kinesis)
oneline=$(gen "oneline-6000-s$scale.json" --records $((6000 / scale)) --lines-per-record 1 --dialect rds-mysql --output kinesis)
plain=$(gen "plain-100mb-s$scale.log" --records $((760 / scale)) --lines-per-record 1000 --dialect mariadb --output lines)

echo "inputs:"; ls -l "$event" "$oneline" "$plain" | awk '{print "  " $5 " bytes  " $9}'
echo "rdsaudit: $("$rdsaudit" --version); $(python3 --version 2>&1); node $(node --version 2>/dev/null || echo missing)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"

commands=(
    "rdsaudit-1t=$rdsaudit --threads 1 parse --quiet {input}"
    "rdsaudit-2t=$rdsaudit --threads 2 parse --quiet {input}"
    "floor=$floor {input} {ndjson_bytes}"
)
if [[ -n "${RDSAUDIT_COMPARE_BEFORE:-}" ]]; then
    commands+=("before-1t=$RDSAUDIT_COMPARE_BEFORE --threads 1 parse --quiet {input}")
fi
if [[ -z "${RDSAUDIT_COMPARE_NO_PEERS:-}" ]]; then
    commands+=("peer-python=python3 benches/peers/lambda.py {input}")
    command -v node >/dev/null && commands+=("peer-node=node benches/peers/lambda.js {input}")
fi
python3 benches/compare.py "$rounds" "event=$event" "oneline=$oneline" "plain=$plain" -- "${commands[@]}"
