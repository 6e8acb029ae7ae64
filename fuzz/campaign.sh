#!/usr/bin/env bash
# A fuzz campaign: run cargo-fuzz targets for a fixed wall-clock time each
# and print one summary line per target (executions, corpus size, crashes).
#
#   fuzz/campaign.sh SECONDS [JOBS] [TARGET...]
#
# SECONDS per target; JOBS targets at a time (default 1); no TARGET = all.
# The working corpus grows in fuzz/campaign-corpus/<target> (not committed),
# seeded from the committed fuzz/corpus/<target>; logs go to
# fuzz/campaign-log/<target>.log; crashes land in fuzz/artifacts/<target>/.
# Runs at the lowest CPU priority so it can share a machine with builds:
# the executions column, not the time, says how much fuzzing happened.
set -u
cd "$(dirname "$0")"
secs=${1:?usage: campaign.sh SECONDS [JOBS] [TARGET...]}
jobs=${2:-1}
shift $(( $# >= 2 ? 2 : 1 ))
targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(cargo +nightly fuzz list)
mkdir -p campaign-log
cargo +nightly fuzz build --release >/dev/null 2>&1 || { echo "fuzz build failed" >&2; exit 1; }

run_one() {
    local t=$1 log=campaign-log/$1.log
    mkdir -p "campaign-corpus/$t" "artifacts/$t"
    local start; start=$(date -u +%FT%TZ)
    nice -n 19 cargo +nightly fuzz run --release "$t" "campaign-corpus/$t" "corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -close_fd_mask=3 >"$log" 2>&1
    local rc=$?
    local execs; execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    local corpus; corpus=$(find "campaign-corpus/$t" -type f | wc -l)
    local crashes; crashes=$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
    echo "$t start=$start seconds=$secs executions=${execs:-?} corpus=$corpus crash_files=$crashes exit=$rc"
}

running=0
for t in "${targets[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
