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
HELLO="Hello, World!"
BIG_LEN=1048576

die() {
    echo "h1.sh: ERROR: $*" >&2
    exit 1
}
log() { echo "h1.sh: $*" >&2; }

# ---------------------------------------------------------------- tools
missing=0
for tool in wrk taskset curl getconf awk; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case $tool in
            wrk) hint="apt-get install wrk" ;;
            taskset) hint="apt-get install util-linux" ;;
            curl) hint="apt-get install curl" ;;
            *) hint="install $tool" ;;
        esac
        echo "h1.sh: ERROR: '$tool' not found on PATH; $hint" >&2
        missing=1
    fi
done
[ "$missing" = 0 ] || exit 1

NCPU=$(nproc)
[ "$SERVER_CPU" -lt "$NCPU" ] && [ "$CLIENT_CPU" -lt "$NCPU" ] ||
    die "SERVER_CPU=$SERVER_CPU / CLIENT_CPU=$CLIENT_CPU but only $NCPU CPUs"
[ "$SERVER_CPU" != "$CLIENT_CPU" ] || log "warning: server and wrk share CPU $SERVER_CPU"
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
WORK=$(mktemp -d "${TMPDIR:-/tmp}/h1bench.XXXXXX")
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

http_code() { curl -s -o "$2" -w '%{http_code}' --max-time 5 "$1" || true; }

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
    local i code
    for i in $(seq 100); do
        kill -0 "${PID[$name]}" 2>/dev/null ||
            die "$name server ($bin) exited at startup; log:$(printf '\n'; cat "$WORK/$name.log")"
        code=$(http_code "http://127.0.0.1:$port/" "$WORK/$name.body")
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    [ "$code" = 200 ] ||
        die "$name server on 127.0.0.1:$port not answering 200 (last status '$code'); log:$(printf '\n'; cat "$WORK/$name.log")"
    [ "$(cat "$WORK/$name.body")" = "$HELLO" ] ||
        die "$name server: GET / body is '$(head -c 100 "$WORK/$name.body")', want '$HELLO'"
    code=$(http_code "http://127.0.0.1:$port/big" "$WORK/$name.big")
    [ "$code" = 200 ] || die "$name server: GET /big answered '$code', want 200"
    [ "$(wc -c <"$WORK/$name.big")" = "$BIG_LEN" ] ||
        die "$name server: GET /big gave $(wc -c <"$WORK/$name.big") bytes, want $BIG_LEN"
    log "$name up: pid ${PID[$name]}, $bin on 127.0.0.1:$port (CPU $SERVER_CPU)"
}

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

cpu_ticks() { # pid -> utime+stime of the whole process, in clock ticks
    local line
    read -r line <"/proc/$1/stat" || die "cannot read /proc/$1/stat"
    # the comm field may contain spaces; fields after ") " start at state (3)
    # shellcheck disable=SC2086
    set -- ${line##*) }
    echo $((${12} + ${13}))
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
    local cpu_us busy
    cpu_us=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$reqs" \
        'BEGIN{printf "%.3f", t / hz / n * 1e6}')
    busy=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v ns=$((t1 - t0)) \
        'BEGIN{printf "%.1f", t / hz / (ns / 1e9) * 100}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workload" "$name" "$run" "$reqs" "$rps" \
        $((after - before)) "$cpu_us" "$busy" >>"$WORK/runs.tsv"
    log "  $(printf '%-9s %-5s run %s: %10.0f req/s  %8.2f us CPU/req  %5.1f%% CPU busy  (%s requests)' \
        "$workload" "$name" "$run" "$rps" "$cpu_us" "$busy" "$reqs")"
}

# shellcheck disable=SC2086
start_server ours "$OURS_BIN" "$OURS_PORT" $OURS_ARGS
# shellcheck disable=SC2086
start_server hyper "$HYPER_BIN" "$HYPER_PORT" $HYPER_ARGS

if [ "$WARMUP" != 0 ]; then
    log "warm-up: ${WARMUP}s each"
    run_one ours warmup "$OURS_PORT" 0
    run_one hyper warmup "$HYPER_PORT" 0
fi

: >"$WORK/runs.tsv"
for workload in $WORKLOADS; do
    label "$workload" >/dev/null || die "unknown workload '$workload'"
    log "$workload: $RUNS interleaved runs of ${DUR}s"
    for run in $(seq "$RUNS"); do
        run_one ours "$workload" "$OURS_PORT" "$run"
        run_one hyper "$workload" "$HYPER_PORT" "$run"
    done
done

# ---------------------------------------------------------------- report
# stats COLUMN WORKLOAD NAME -> "median min max"
stats() {
    awk -F'\t' -v c="$1" -v w="$2" -v s="$3" '$1 == w && $2 == s {print $c}' "$WORK/runs.tsv" |
        sort -g | awk '{v[NR] = $1} END {
            if (NR == 0) { print "nan nan nan"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            print m, v[1], v[NR] }'
}
# ratio_stats WORKLOAD -> "median min max" of per-run ours/hyper req/s
ratio_stats() {
    awk -F'\t' -v w="$1" '$1 == w && $2 == "ours" {o[$3] = $5}
                          $1 == w && $2 == "hyper" {h[$3] = $5}
        END {for (r in o) if (r in h && h[r] > 0) print o[r] / h[r]}' "$WORK/runs.tsv" |
        sort -g | awk '{v[NR] = $1} END {
            if (NR == 0) { print "nan nan nan"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            print m, v[1], v[NR] }'
}

CPU_MODEL=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)
KERNEL=$(uname -r)
RUSTC=$(rustc --version 2>/dev/null || echo unknown)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || COMMIT="$COMMIT (dirty tree)"
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
    printf 'workload\tserver\trun\trequests\treq_per_s\tcpu_ticks\tcpu_us_per_req\tcpu_busy_pct\n'
    cat "$WORK/runs.tsv"
} >"$RESULTS/h1-runs-latest.tsv"

echo
cat "$MD"
echo
log "written: ${MD#"$ROOT"/} and bench/results/h1-runs-latest.tsv"
