#!/usr/bin/env bash
# HTTP/1.1 server benchmark: ours (adapter-tokio `hello` example) against hyper
# (tests `hyper_hello` example), same handler, same machine, same run.
#
#   bench/h1.sh                       # DUR=5 RUNS=5
#   DUR=10 RUNS=7 bench/h1.sh
#
# Both servers are pinned to CPU $SERVER_CPU (default 0) and run one tokio
# worker thread; wrk is pinned to CPU $CLIENT_CPU (default 1). Runs are
# interleaved (ours, hyper, ours, hyper, ...) so slow drifts of a noisy machine
# hit both sides alike; the ratio column is the median of per-run ratios.
# Server CPU time per request comes from /proc/PID/stat (utime+stime) read
# before and after each run, divided by the requests wrk completed.
#
# Output: a table on stdout, the same table as markdown in
# bench/results/h1-latest.md and the per-run numbers in
# bench/results/h1-runs-latest.tsv (bench/results/ is git-ignored).
#
# Knobs (environment):
#   DUR=5 RUNS=5 CONNS=50 BIG_CONNS=10 DEPTH=16 WARMUP=1
#   SERVER_CPU=0 CLIENT_CPU=1 OURS_PORT=18080 HYPER_PORT=18081
#   WORKLOADS="plain pipelined big"
#   OURS_BIN=... HYPER_BIN=...    binaries to compare (default: release examples)
#   OURS_ARGS=... HYPER_ARGS=...  extra server arguments (e.g. HYPER_ARGS=--pipeline-flush)
#   SKIP_BUILD=1                  do not run cargo build
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

DUR=${DUR:-5}
RUNS=${RUNS:-5}
CONNS=${CONNS:-50}
BIG_CONNS=${BIG_CONNS:-10}
DEPTH=${DEPTH:-16}
WARMUP=${WARMUP:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OURS_PORT=${OURS_PORT:-18080}
HYPER_PORT=${HYPER_PORT:-18081}
WORKLOADS=${WORKLOADS:-"plain pipelined big"}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OURS_BIN=${OURS_BIN:-$TARGET_DIR/release/examples/hello}
HYPER_BIN=${HYPER_BIN:-$TARGET_DIR/release/examples/hyper_hello}
OURS_ARGS=${OURS_ARGS:-}
HYPER_ARGS=${HYPER_ARGS:-}
SKIP_BUILD=${SKIP_BUILD:-0}

RESULTS=$ROOT/bench/results
OK_CODE=200
OK_DESC=200

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

require_tools wrk taskset curl getconf awk
check_cpus wrk
build_servers
make_workdir h1bench

http_code() { curl -s -o "$2" -w '%{http_code}' --max-time 5 "$1" || true; }

# Fails loudly if server NAME is gone: its exit status and the end of its log
# (kept in bench/results/NAME-server.log).
check_alive() {
    local name=$1 rc=0
    local stat=""
    { read -r stat <"/proc/${PID[$name]}/stat"; } 2>/dev/null || true
    stat=${stat##*) }
    [ -n "$stat" ] && [ "${stat:0:1}" != Z ] && return 0
    wait "${PID[$name]}" 2>/dev/null || rc=$?
    unset "PID[$name]"
    mkdir -p "$RESULTS"
    cp "$WORK/$name.log" "$RESULTS/$name-server.log" 2>/dev/null || true
    die "$name server died (exit status $rc; >128 means signal $((rc > 128 ? rc - 128 : 0))) $2; log tail:$(printf '\n'; tail -20 "$WORK/$name.log")"
}

wrk_args() { # workload port -> wrk argument list, one per line
    local url="http://127.0.0.1:$2/"
    case $1 in
        plain) printf '%s\n' -t1 "-c$CONNS" "-d${DUR}s" "$url" ;;
        pipelined) printf '%s\n' -t1 "-c$CONNS" "-d${DUR}s" -s "$ROOT/bench/pipeline.lua" "$url" -- "$DEPTH" ;;
        big) printf '%s\n' -t1 "-c$BIG_CONNS" "-d${DUR}s" "${url}big" ;;
        warmup) printf '%s\n' -t1 "-c$CONNS" "-d${WARMUP}s" "$url" ;;
        *) die "unknown workload '$1'" ;;
    esac
}

label() {
    case $1 in
        plain) echo "plain keep-alive (c$CONNS)" ;;
        pipelined) echo "pipelined depth $DEPTH (c$CONNS)" ;;
        big) echo "1 MiB download /big (c$BIG_CONNS)" ;;
    esac
}

# run_one name workload port run -> appends a line to $WORK/runs.tsv
run_one() {
    local name=$1 workload=$2 port=$3 run=$4 out="$WORK/wrk.out" before after
    local -a args
    mapfile -t args < <(wrk_args "$workload" "$port")
    local t0 t1
    t0=$(date +%s%N)
    check_alive "$name" "before $workload run $run"
    before=$(cpu_ticks "${PID[$name]}")
    taskset -c "$CLIENT_CPU" wrk "${args[@]}" >"$out" 2>&1 ||
        die "wrk failed against $name ($workload):$(printf '\n'; cat "$out")"
    check_alive "$name" "during $workload run $run"
    after=$(cpu_ticks "${PID[$name]}")
    t1=$(date +%s%N)
    if grep -q 'Non-2xx or 3xx responses' "$out"; then
        die "$name answered non-2xx during $workload:$(printf '\n'; cat "$out")"
    fi
    local reqs rps errs
    reqs=$(awk '/ requests in /{print $1; exit}' "$out")
    rps=$(awk '/^Requests\/sec:/{print $2; exit}' "$out")
    [ -n "$reqs" ] && [ -n "$rps" ] && [ "$reqs" -gt 0 ] ||
        die "no requests completed against $name ($workload):$(printf '\n'; cat "$out")"
    errs=$(awk '/Socket errors:/{sub(/^ *Socket errors: */, ""); print; exit}' "$out")
    [ -z "$errs" ] || log "  note: $name $workload run $run socket errors: $errs"
    [ "$workload" = warmup ] && return 0
    record_run "$workload" "$name" "$run" "$reqs" "$rps" $((after - before)) $((t1 - t0))
    log "  $(printf '%-9s %-5s run %s: %10.0f req/s  %8.2f us CPU/req  %5.1f%% CPU busy  (%s requests)' \
        "$workload" "$name" "$run" "$rps" "$CPU_US" "$BUSY" "$reqs")"
}

run_all "${WARMUP}s" " of ${DUR}s"

# ---------------------------------------------------------------- report
machine_info
CMD="DUR=$DUR RUNS=$RUNS bench/h1.sh"
[ -z "$HYPER_ARGS" ] || CMD="HYPER_ARGS='$HYPER_ARGS' $CMD"
[ -z "$OURS_ARGS" ] || CMD="OURS_ARGS='$OURS_ARGS' $CMD"

mkdir -p "$RESULTS"
MD=$RESULTS/h1-latest.md
{
    echo "Command: \`$CMD\` ($(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT)"
    echo
    echo "Machine: $NCPU CPUs ($CPU_MODEL), Linux $KERNEL, $RUSTC."
    echo "Servers pinned to CPU $SERVER_CPU (one tokio worker thread each), wrk 1 thread pinned to CPU $CLIENT_CPU; loopback."
    echo "Each cell: median of $RUNS interleaved ${DUR}s runs (min–max). Ratio: median of per-run ours/hyper req/s."
    echo "CPU/req: server utime+stime from /proc/PID/stat over the run / requests completed (median, min–max)."
    echo "CPU busy: that CPU time / wall time of the run (median); well under 100% means the server was not the bottleneck (or was starved)."
    [ "$(basename "$OURS_BIN")" = hello ] || echo "**ours = $OURS_BIN** (not the adapter-tokio hello example)."
    [ -z "$HYPER_ARGS$OURS_ARGS" ] || echo "Server arguments: ours '$OURS_ARGS', hyper '$HYPER_ARGS'."
    echo
    table
} >"$MD"
write_results h1 "$(printf 'workload\tserver\trun\trequests\treq_per_s\tcpu_ticks\tcpu_us_per_req\tcpu_busy_pct')"
