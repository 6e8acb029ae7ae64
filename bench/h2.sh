#!/usr/bin/env bash
# HTTP/2 (prior knowledge, cleartext) server benchmark: ours (adapter-tokio
# `hello` example, --h2-only) against hyper (tests `hyper_hello` example,
# --h2: hyper's http2::Builder), same handler, same machine, same run.
#
#   bench/h2.sh                       # RUNS=5
#   RUNS=3 bench/h2.sh
#
# Both servers are pinned to CPU $SERVER_CPU (default 0) and run one tokio
# worker thread (current-thread runtime); h2load runs one thread pinned to
# CPU $CLIENT_CPU (default 1). Runs are interleaved (ours, hyper, ours, ...)
# so slow drifts of a noisy machine hit both sides alike; the ratio column is
# the median of per-run ours/hyper req/s. Server CPU time per request comes
# from /proc/PID/stat (utime+stime) read before and after each run, divided
# by the requests h2load completed. Any failed, errored or timed-out request
# or non-2xx status aborts the benchmark.
#
# Workloads (h2load arguments):
#   many    -c 16 -m 32  -n 200000  /      16 connections x 32 streams in flight
#   single  -c 1  -m 100 -n 100000  /      one connection, 100 streams in flight
#   big     -c 4  -m 4   -n 2000    /big   1 MiB responses (flow control, DATA framing)
#
# Output: a table on stdout, the same table as markdown in
# bench/results/h2-latest.md and the per-run numbers in
# bench/results/h2-runs-latest.tsv.
#
# Knobs (environment):
#   RUNS=5 WARMUP=1 SERVER_CPU=0 CLIENT_CPU=1 OURS_PORT=18090 HYPER_PORT=18091
#   WORKLOADS="many single big"
#   N_MANY=200000 N_SINGLE=100000 N_BIG=2000   request counts
#   OURS_BIN=... HYPER_BIN=...    binaries to compare (default: release examples)
#   OURS_ARGS=--h2-only HYPER_ARGS=--h2   server arguments
#   SKIP_BUILD=1                  do not run cargo build
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OURS_PORT=${OURS_PORT:-18090}
HYPER_PORT=${HYPER_PORT:-18091}
WORKLOADS=${WORKLOADS:-"many single big"}
N_MANY=${N_MANY:-200000}
N_SINGLE=${N_SINGLE:-100000}
N_BIG=${N_BIG:-2000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OURS_BIN=${OURS_BIN:-$TARGET_DIR/release/examples/hello}
HYPER_BIN=${HYPER_BIN:-$TARGET_DIR/release/examples/hyper_hello}
OURS_ARGS=${OURS_ARGS:---h2-only}
HYPER_ARGS=${HYPER_ARGS:---h2}
SKIP_BUILD=${SKIP_BUILD:-0}

RESULTS=$ROOT/bench/results
OK_CODE="200 2"
OK_DESC="200 over HTTP/2"

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

require_tools h2load taskset curl getconf awk
check_cpus h2load
build_servers
make_workdir h2bench

# http_code URL OUT -> status of an HTTP/2 prior-knowledge GET ("000" if none)
http_code() {
    curl -s --http2-prior-knowledge -o "$2" -w '%{http_code} %{http_version}' --max-time 5 "$1" || true
}

h2load_args() { # workload port -> h2load argument list, one per line
    local url="http://127.0.0.1:$2/"
    case $1 in
        many) printf '%s\n' -t1 -c16 -m32 "-n$N_MANY" "$url" ;;
        single) printf '%s\n' -t1 -c1 -m100 "-n$N_SINGLE" "$url" ;;
        big) printf '%s\n' -t1 -c4 -m4 "-n$N_BIG" "${url}big" ;;
        warmup) printf '%s\n' -t1 -c16 -m32 -n20000 "$url" ;;
        *) die "unknown workload '$1'" ;;
    esac
}

label() {
    case $1 in
        many) echo "16 conns x 32 streams, GET / (n=$N_MANY)" ;;
        single) echo "1 conn x 100 streams, GET / (n=$N_SINGLE)" ;;
        big) echo "1 MiB GET /big, 4 conns x 4 streams (n=$N_BIG)" ;;
    esac
}

# run_one name workload port run -> appends a line to $WORK/runs.tsv
run_one() {
    local name=$1 workload=$2 port=$3 run=$4 out="$WORK/h2load.out" before after
    local -a args
    mapfile -t args < <(h2load_args "$workload" "$port")
    local n=${args[3]#-n}
    local t0 t1
    t0=$(date +%s%N)
    before=$(cpu_ticks "${PID[$name]}")
    taskset -c "$CLIENT_CPU" h2load "${args[@]}" >"$out" 2>&1 ||
        die "h2load failed against $name ($workload):$(printf '\n'; cat "$out")"
    after=$(cpu_ticks "${PID[$name]}")
    t1=$(date +%s%N)
    kill -0 "${PID[$name]}" 2>/dev/null ||
        die "$name server died during $workload run $run; log:$(printf '\n'; tail -20 "$WORK/$name.log")"
    grep -qx "requests: $n total, $n started, $n done, $n succeeded, 0 failed, 0 errored, 0 timeout" "$out" ||
        die "$name: not all $n requests succeeded ($workload run $run):$(printf '\n'; cat "$out")"
    grep -qx "status codes: $n 2xx, 0 3xx, 0 4xx, 0 5xx" "$out" ||
        die "$name: non-2xx answers ($workload run $run):$(printf '\n'; cat "$out")"
    [ "$workload" = warmup ] && return 0
    local rps secs
    rps=$(awk '/^finished in /{gsub(",", "", $4); print $4; exit}' "$out")
    secs=$(awk '/^finished in /{v = $3; sub(/,$/, "", v);
        if (v ~ /ms$/) { sub(/ms$/, "", v); v /= 1000 } else sub(/s$/, "", v); print v; exit}' "$out")
    [ -n "$rps" ] || die "cannot parse h2load output:$(printf '\n'; cat "$out")"
    record_run "$workload" "$name" "$run" "$n" "$rps" $((after - before)) $((t1 - t0)) "$secs"
    log "  $(printf '%-6s %-5s run %s: %10.0f req/s  %8.2f us CPU/req  %5.1f%% CPU busy  (%s requests in %ss)' \
        "$workload" "$name" "$run" "$rps" "$CPU_US" "$BUSY" "$n" "$secs")"
}

run_all "20000 requests" ""

# ---------------------------------------------------------------- report
machine_info
H2LOAD=$(h2load --version 2>/dev/null | head -1)
CMD="RUNS=$RUNS bench/h2.sh"
[ "$HYPER_ARGS" = --h2 ] || CMD="HYPER_ARGS='$HYPER_ARGS' $CMD"
[ "$OURS_ARGS" = --h2-only ] || CMD="OURS_ARGS='$OURS_ARGS' $CMD"

mkdir -p "$RESULTS"
MD=$RESULTS/h2-latest.md
{
    echo "Command: \`$CMD\` ($(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT)"
    echo
    echo "Machine: $NCPU CPUs ($CPU_MODEL), Linux $KERNEL, $RUSTC, $H2LOAD."
    echo "HTTP/2 prior knowledge over loopback. Servers (ours \`hello $OURS_ARGS\`, hyper \`hyper_hello $HYPER_ARGS\`) pinned to CPU $SERVER_CPU, one tokio worker thread each; h2load 1 thread pinned to CPU $CLIENT_CPU."
    echo "Each cell: median of $RUNS interleaved runs (min–max); every run had all requests succeed with 2xx. Ratio: median of per-run ours/hyper req/s."
    echo "CPU/req: server utime+stime from /proc/PID/stat over the run / requests (median, min–max)."
    echo "CPU busy: that CPU time / wall time of the run (median); well under 100% means the server was not the bottleneck."
    [ "$(basename "$OURS_BIN")" = hello ] || echo "**ours = $OURS_BIN** (not the adapter-tokio hello example)."
    echo
    table
} >"$MD"
write_results h2 "$(printf 'workload\tserver\trun\trequests\treq_per_s\tcpu_ticks\tcpu_us_per_req\tcpu_busy_pct\tseconds')"
