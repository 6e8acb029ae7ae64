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
HELLO="Hello, World!"
BIG_LEN=1048576

die() {
    echo "h2.sh: ERROR: $*" >&2
    exit 1
}
log() { echo "h2.sh: $*" >&2; }

# ---------------------------------------------------------------- tools
missing=0
for tool in h2load taskset curl getconf awk; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case $tool in
            h2load) hint="apt-get install nghttp2-client" ;;
            taskset) hint="apt-get install util-linux" ;;
            curl) hint="apt-get install curl" ;;
            *) hint="install $tool" ;;
        esac
        echo "h2.sh: ERROR: '$tool' not found on PATH; $hint" >&2
        missing=1
    fi
done
[ "$missing" = 0 ] || exit 1

NCPU=$(nproc)
[ "$SERVER_CPU" -lt "$NCPU" ] && [ "$CLIENT_CPU" -lt "$NCPU" ] ||
    die "SERVER_CPU=$SERVER_CPU / CLIENT_CPU=$CLIENT_CPU but only $NCPU CPUs"
[ "$SERVER_CPU" != "$CLIENT_CPU" ] || log "warning: server and h2load share CPU $SERVER_CPU"
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- build
if [ "$SKIP_BUILD" != 1 ]; then
    log "building release examples"
    CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release \
        -p adapter-tokio --example hello -p tests --example hyper_hello >&2 ||
        die "cargo build failed"
fi
[ -x "$OURS_BIN" ] || die "no server binary at $OURS_BIN"
[ -x "$HYPER_BIN" ] || die "no server binary at $HYPER_BIN"

# ---------------------------------------------------------------- servers
WORK=$(mktemp -d "${TMPDIR:-/tmp}/h2bench.XXXXXX")
declare -A PID=()
cleanup() {
    local name
    for name in "${!PID[@]}"; do
        kill "${PID[$name]}" 2>/dev/null || true
    done
    for name in "${!PID[@]}"; do
        wait "${PID[$name]}" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# http_code URL OUT -> status of an HTTP/2 prior-knowledge GET ("000" if none)
http_code() {
    curl -s --http2-prior-knowledge -o "$2" -w '%{http_code} %{http_version}' --max-time 5 "$1" || true
}

start_server() { # name bin port args...
    local name=$1 bin=$2 port=$3
    shift 3
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
        die "something already answers on 127.0.0.1:$port (set ${name^^}_PORT)"
    fi
    # taskset execs the server, so $! is the server's own pid.
    # shellcheck disable=SC2068
    taskset -c "$SERVER_CPU" "$bin" "127.0.0.1:$port" $@ >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    local i code=
    for i in $(seq 100); do
        kill -0 "${PID[$name]}" 2>/dev/null ||
            die "$name server ($bin) exited at startup; log:$(printf '\n'; cat "$WORK/$name.log")"
        code=$(http_code "http://127.0.0.1:$port/" "$WORK/$name.body")
        [ "$code" = "200 2" ] && break
        sleep 0.1
    done
    [ "$code" = "200 2" ] ||
        die "$name server on 127.0.0.1:$port not answering 200 over HTTP/2 (last '$code'); log:$(printf '\n'; cat "$WORK/$name.log")"
    [ "$(cat "$WORK/$name.body")" = "$HELLO" ] ||
        die "$name server: GET / body is '$(head -c 100 "$WORK/$name.body")', want '$HELLO'"
    code=$(http_code "http://127.0.0.1:$port/big" "$WORK/$name.big")
    [ "$code" = "200 2" ] || die "$name server: GET /big answered '$code', want '200 2'"
    [ "$(wc -c <"$WORK/$name.big")" = "$BIG_LEN" ] ||
        die "$name server: GET /big gave $(wc -c <"$WORK/$name.big") bytes, want $BIG_LEN"
    log "$name up: pid ${PID[$name]}, $bin $* on 127.0.0.1:$port (CPU $SERVER_CPU)"
}

cpu_ticks() { # pid -> utime+stime of the whole process, in clock ticks
    local line
    read -r line <"/proc/$1/stat" || die "cannot read /proc/$1/stat"
    # the comm field may contain spaces; fields after ") " start at state (3)
    # shellcheck disable=SC2086
    set -- ${line##*) }
    echo $((${12} + ${13}))
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
    local cpu_us busy
    cpu_us=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$n" \
        'BEGIN{printf "%.3f", t / hz / n * 1e6}')
    busy=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v ns=$((t1 - t0)) \
        'BEGIN{printf "%.1f", t / hz / (ns / 1e9) * 100}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workload" "$name" "$run" "$n" "$rps" \
        $((after - before)) "$cpu_us" "$busy" "$secs" >>"$WORK/runs.tsv"
    log "  $(printf '%-6s %-5s run %s: %10.0f req/s  %8.2f us CPU/req  %5.1f%% CPU busy  (%s requests in %ss)' \
        "$workload" "$name" "$run" "$rps" "$cpu_us" "$busy" "$n" "$secs")"
}

# shellcheck disable=SC2086
start_server ours "$OURS_BIN" "$OURS_PORT" $OURS_ARGS
# shellcheck disable=SC2086
start_server hyper "$HYPER_BIN" "$HYPER_PORT" $HYPER_ARGS

if [ "$WARMUP" != 0 ]; then
    log "warm-up: 20000 requests each"
    run_one ours warmup "$OURS_PORT" 0
    run_one hyper warmup "$HYPER_PORT" 0
fi

: >"$WORK/runs.tsv"
for workload in $WORKLOADS; do
    label "$workload" >/dev/null || die "unknown workload '$workload'"
    log "$workload: $RUNS interleaved runs"
    for run in $(seq "$RUNS"); do
        run_one ours "$workload" "$OURS_PORT" "$run"
        run_one hyper "$workload" "$HYPER_PORT" "$run"
    done
done

# ---------------------------------------------------------------- report
median_min_max() {
    sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) { print "nan nan nan"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        print m, v[1], v[NR] }'
}
# stats COLUMN WORKLOAD NAME -> "median min max"
stats() {
    awk -F'\t' -v c="$1" -v w="$2" -v s="$3" '$1 == w && $2 == s {print $c}' "$WORK/runs.tsv" |
        median_min_max
}
# ratio_stats WORKLOAD -> "median min max" of per-run ours/hyper req/s
ratio_stats() {
    awk -F'\t' -v w="$1" '$1 == w && $2 == "ours" {o[$3] = $5}
                          $1 == w && $2 == "hyper" {h[$3] = $5}
        END {for (r in o) if (r in h && h[r] > 0) print o[r] / h[r]}' "$WORK/runs.tsv" |
        median_min_max
}

CPU_MODEL=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)
KERNEL=$(uname -r)
RUSTC=$(rustc --version 2>/dev/null || echo unknown)
H2LOAD=$(h2load --version 2>/dev/null | head -1)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || COMMIT="$COMMIT (dirty tree)"
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
    echo "| workload | ours req/s | hyper req/s | ours/hyper | ours µs CPU/req | hyper µs CPU/req | server CPU busy ours / hyper |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for workload in $WORKLOADS; do
        read -r om omin omax <<<"$(stats 5 "$workload" ours)"
        read -r hm hmin hmax <<<"$(stats 5 "$workload" hyper)"
        read -r rm rmin rmax <<<"$(ratio_stats "$workload")"
        read -r oc ocmin ocmax <<<"$(stats 7 "$workload" ours)"
        read -r hc hcmin hcmax <<<"$(stats 7 "$workload" hyper)"
        read -r ob _ _ <<<"$(stats 8 "$workload" ours)"
        read -r hb _ _ <<<"$(stats 8 "$workload" hyper)"
        printf '| %s | %.0f (%.0f–%.0f) | %.0f (%.0f–%.0f) | %.2f (%.2f–%.2f) | %.2f (%.2f–%.2f) | %.2f (%.2f–%.2f) | %.0f%% / %.0f%% |\n' \
            "$(label "$workload")" "$om" "$omin" "$omax" "$hm" "$hmin" "$hmax" \
            "$rm" "$rmin" "$rmax" "$oc" "$ocmin" "$ocmax" "$hc" "$hcmin" "$hcmax" "$ob" "$hb"
    done
    case " $WORKLOADS " in
        *" big "*) echo; echo "For /big, 1 request = 1 MiB, so req/s = MiB/s." ;;
    esac
} >"$MD"
{
    printf 'workload\tserver\trun\trequests\treq_per_s\tcpu_ticks\tcpu_us_per_req\tcpu_busy_pct\tseconds\n'
    cat "$WORK/runs.tsv"
} >"$RESULTS/h2-runs-latest.tsv"

echo
cat "$MD"
echo
log "written: ${MD#"$ROOT"/} and bench/results/h2-runs-latest.tsv"
