# Shared by bench/h1.sh and bench/h2.sh (sourced, not run): checks, build,
# starting and watching the two servers, CPU accounting from /proc, the
# interleaved run loop and the report.
#
# The sourcing script sets ROOT, RESULTS, SERVER_CPU, CLIENT_CPU, RUNS,
# WARMUP, WORKLOADS, OURS_*/HYPER_* and SKIP_BUILD, and defines
#   http_code URL OUT    -> the status string of a GET (body to OUT)
#   run_one NAME WORKLOAD PORT RUN   -> one measured run (see record_run)
#   label WORKLOAD       -> the table's name for WORKLOAD
# with OK_CODE (what http_code says for a good answer) and OK_DESC (how a
# startup failure describes it).

HELLO="Hello, World!"
BIG_LEN=1048576
SELF=$(basename "$0")

die() {
    echo "$SELF: ERROR: $*" >&2
    exit 1
}
log() { echo "$SELF: $*" >&2; }

# require_tools TOOL... -> fails, with install hints, if any is missing
require_tools() {
    local tool hint missing=0
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            case $tool in
                wrk) hint="apt-get install wrk" ;;
                h2load) hint="apt-get install nghttp2-client" ;;
                taskset) hint="apt-get install util-linux" ;;
                curl) hint="apt-get install curl" ;;
                *) hint="install $tool" ;;
            esac
            echo "$SELF: ERROR: '$tool' not found on PATH; $hint" >&2
            missing=1
        fi
    done
    [ "$missing" = 0 ] || exit 1
}

# check_cpus CLIENT_TOOL -> sets NCPU and CLK_TCK
check_cpus() {
    NCPU=$(nproc)
    [ "$SERVER_CPU" -lt "$NCPU" ] && [ "$CLIENT_CPU" -lt "$NCPU" ] ||
        die "SERVER_CPU=$SERVER_CPU / CLIENT_CPU=$CLIENT_CPU but only $NCPU CPUs"
    [ "$SERVER_CPU" != "$CLIENT_CPU" ] || log "warning: server and $1 share CPU $SERVER_CPU"
    CLK_TCK=$(getconf CLK_TCK)
}

# build_servers -> builds the release examples (unless SKIP_BUILD=1) and
# checks both server binaries exist
build_servers() {
    if [ "$SKIP_BUILD" != 1 ]; then
        log "building release examples"
        CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release \
            -p adapter-tokio --example hello -p tests --example hyper_hello >&2 ||
            die "cargo build failed"
    fi
    [ -x "$OURS_BIN" ] || die "no server binary at $OURS_BIN"
    [ -x "$HYPER_BIN" ] || die "no server binary at $HYPER_BIN"
}

# make_workdir PREFIX -> sets WORK (removed at exit) and PID (server pids,
# killed at exit)
make_workdir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    declare -gA PID=()
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}
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
        [ "$code" = "$OK_CODE" ] && break
        sleep 0.1
    done
    [ "$code" = "$OK_CODE" ] ||
        die "$name server on 127.0.0.1:$port not answering $OK_DESC (last '$code'); log:$(printf '\n'; cat "$WORK/$name.log")"
    [ "$(cat "$WORK/$name.body")" = "$HELLO" ] ||
        die "$name server: GET / body is '$(head -c 100 "$WORK/$name.body")', want '$HELLO'"
    code=$(http_code "http://127.0.0.1:$port/big" "$WORK/$name.big")
    [ "$code" = "$OK_CODE" ] || die "$name server: GET /big answered '$code', want '$OK_CODE'"
    [ "$(wc -c <"$WORK/$name.big")" = "$BIG_LEN" ] ||
        die "$name server: GET /big gave $(wc -c <"$WORK/$name.big") bytes, want $BIG_LEN"
    log "$name up: pid ${PID[$name]}, $bin${*:+ $*} on 127.0.0.1:$port (CPU $SERVER_CPU)"
}

cpu_ticks() { # pid -> utime+stime of the whole process, in clock ticks
    local line
    read -r line <"/proc/$1/stat" || die "cannot read /proc/$1/stat"
    # the comm field may contain spaces; fields after ") " start at state (3)
    # shellcheck disable=SC2086
    set -- ${line##*) }
    echo $((${12} + ${13}))
}

# record_run WORKLOAD NAME RUN REQUESTS REQ_PER_S TICKS WALL_NS [EXTRA...]
# -> appends a line to $WORK/runs.tsv (the EXTRA columns last) and sets
# CPU_US (server CPU per request, us) and BUSY (server CPU / wall time, %)
record_run() {
    local workload=$1 name=$2 run=$3 reqs=$4 rps=$5 ticks=$6 ns=$7
    shift 7
    CPU_US=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$reqs" \
        'BEGIN{printf "%.3f", t / hz / n * 1e6}')
    BUSY=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v ns="$ns" \
        'BEGIN{printf "%.1f", t / hz / (ns / 1e9) * 100}')
    local line
    line=$(printf '%s\t' "$workload" "$name" "$run" "$reqs" "$rps" "$ticks" "$CPU_US" "$BUSY" "$@")
    echo "${line%$'\t'}" >>"$WORK/runs.tsv"
}

# run_all WARMUP_WHAT RUN_WHAT -> starts both servers, warms them up and runs
# every workload RUNS times, interleaved (ours, hyper, ours, ...)
run_all() {
    # shellcheck disable=SC2086
    start_server ours "$OURS_BIN" "$OURS_PORT" $OURS_ARGS
    # shellcheck disable=SC2086
    start_server hyper "$HYPER_BIN" "$HYPER_PORT" $HYPER_ARGS

    if [ "$WARMUP" != 0 ]; then
        log "warm-up: $1 each"
        run_one ours warmup "$OURS_PORT" 0
        run_one hyper warmup "$HYPER_PORT" 0
    fi

    : >"$WORK/runs.tsv"
    local workload run
    for workload in $WORKLOADS; do
        label "$workload" >/dev/null || die "unknown workload '$workload'"
        log "$workload: $RUNS interleaved runs$2"
        for run in $(seq "$RUNS"); do
            run_one ours "$workload" "$OURS_PORT" "$run"
            run_one hyper "$workload" "$HYPER_PORT" "$run"
        done
    done
}

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

# machine_info -> sets CPU_MODEL, KERNEL, RUSTC and COMMIT
machine_info() {
    CPU_MODEL=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)
    KERNEL=$(uname -r)
    RUSTC=$(rustc --version 2>/dev/null || echo unknown)
    COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    [ -z "$(git status --porcelain 2>/dev/null)" ] || COMMIT="$COMMIT (dirty tree)"
}

# table -> the markdown table of every workload in $WORKLOADS (and the /big note)
table() {
    echo "| workload | ours req/s | hyper req/s | ours/hyper | ours µs CPU/req | hyper µs CPU/req | server CPU busy ours / hyper |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    local workload om omin omax hm hmin hmax rm rmin rmax oc ocmin ocmax hc hcmin hcmax ob hb
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
}

# write_results NAME TSV_HEADER -> the per-run numbers to
# bench/results/NAME-runs-latest.tsv, then prints $MD (already written)
write_results() {
    {
        printf '%s\n' "$2"
        cat "$WORK/runs.tsv"
    } >"$RESULTS/$1-runs-latest.tsv"

    echo
    cat "$MD"
    echo
    log "written: ${MD#"$ROOT"/} and bench/results/$1-runs-latest.tsv"
}
