#!/usr/bin/env bash
# Whole-process comparison: `rdsaudit parse` against benches/naive_baseline.py (Python stdlib:
# base64, gzip, json, csv) on the same generated Kinesis event, output to /dev/null.
# Usage: benches/compare.sh [--quick]   (--quick: 1,000 records instead of 10,000)
# Uses hyperfine when installed (apt-get install -y hyperfine), else a bash timing loop.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10
gen_args=(--preset max-lambda-batch)
if [[ "${1:-}" == "--quick" ]]; then
    runs=3
    gen_args=(--records 1000 --lines-per-record 1)
fi

cargo build --release --quiet --bin rdsaudit
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
rdsaudit="$target_dir/release/rdsaudit"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
event="$work/kinesis-event.json"
"$rdsaudit" gen "${gen_args[@]}" --dialect rds-mysql --output kinesis --out "$event"
echo "input: $event, $(wc -c <"$event") bytes"
echo "python: $(python3 --version 2>&1), rdsaudit: $("$rdsaudit" --version)"

ours=("$rdsaudit" parse "$event" --format ndjson)
theirs=(python3 benches/naive_baseline.py "$event")
# Same work: both must read every event.
ours_events=$("${ours[@]}" | wc -l)
theirs_events=$("${theirs[@]}" 2>/dev/null | wc -l)
echo "events: rdsaudit $ours_events, python $theirs_events"
[[ "$ours_events" == "$theirs_events" ]] || { echo "event counts differ" >&2; exit 1; }

mean_seconds() { # command... -> mean wall seconds over $runs runs
    local start end
    start=$(date +%s.%N)
    for _ in $(seq "$runs"); do "$@" >/dev/null 2>&1; done
    end=$(date +%s.%N)
    python3 -c "print(($end - $start) / $runs)"
}

if command -v hyperfine >/dev/null; then
    json="$work/hyperfine.json"
    hyperfine --warmup 1 --runs "$runs" --export-json "$json" \
        -n rdsaudit "${ours[*]} >/dev/null" -n python "${theirs[*]} >/dev/null 2>&1"
    read -r t_ours t_theirs < <(python3 -c "
import json; r = {x['command']: x['median'] for x in json.load(open('$json'))['results']}
print(r['rdsaudit'], r['python'])")
    label=median
else
    t_ours=$(mean_seconds "${ours[@]}")
    t_theirs=$(mean_seconds "${theirs[@]}")
    label=mean
fi
python3 -c "print(f'$label wall time: rdsaudit {$t_ours:.3f} s, python {$t_theirs:.3f} s; rdsaudit is {$t_theirs / $t_ours:.1f}x faster')"
