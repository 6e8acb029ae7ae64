#!/usr/bin/env bash
# The benchmark suite, one command: every adapter of ours against hyper
# (same handler, one thread), nghttpd, nginx and a no-protocol ceiling
# server, HTTP/1.1 and HTTP/2, on this machine, in one run.
#
#   bench/run.sh                       # DUR=5 RUNS=5, every server and workload
#   DUR=2 RUNS=1 bench/run.sh          # a quick check
#   SERVERS="tokio hyper" WORKLOADS="h1-plain h2-c16m32" bench/run.sh
#
# Writes the tables into BENCHMARKS.md (between `<!-- bench:begin -->` and
# `<!-- bench:end -->`) and the chart to bench/chart.svg (UPDATE_DOCS=0
# leaves both alone and draws bench/results/chart.svg), and everything
# measured to bench/results/ (git-ignored):
# runs.tsv (one line per run), mem.tsv (idle memory), tables.md.
#
# Method (details in BENCHMARKS.md):
# - Servers are pinned to CPU $SERVER_CPU, the load generator (one thread)
#   to CPU $CLIENT_CPU, over loopback.
# - Each repetition runs the baseline (hyper) before and after every other
#   server (PAIRED=1): hyper, A, hyper, B, hyper, ...; the order of the
#   others rotates from one repetition to the next. A server's ratio in a
#   repetition is its req/s over the geometric mean of the two hyper runs
#   around it; the table gives the median of those ratios (min-max).
# - Server CPU per request: utime+stime from /proc over the run / requests.
# - Waiting for a CPU: the run delay in /proc/PID/task/*/schedstat over the
#   run's wall time. A run where the server waited more than MAX_WAIT % is
#   discarded (with its pair). For adapter-std (threads per connection on one
#   CPU, which queue behind each other) the CPU time others took on the
#   server's CPU (/proc/stat) is used instead.
# - Idle memory: a fresh server's RSS growth with IDLE_N connections open
#   (HTTP/1.1: after one request each; HTTP/2: after the SETTINGS exchange).
#
# Needs wrk, h2load, curl, taskset, python3; nghttpd and nginx are installed
# with apt-get when missing (as root) if they are in SERVERS.
#
# Knobs (environment):
#   SERVERS="tokio smol std hyper ceiling nghttpd nginx"   (also: byo)
#   WORKLOADS="h1-plain h1-pipelined h1-big h1-upload h1-c1000 h1-idle
#              h2-c16m32 h2-c1m100 h2-big h2-upload h2-c1000 h2-idle"
#   DUR=5 RUNS=5 WARMUP=1 PAIRED=1 MAX_WAIT=5 IDLE_N=1000
#   CONNS=50 BIG_CONNS=10 DEPTH=16
#   N_MANY N_SINGLE N_BIG N_UPLOAD N_C1000   h2load request counts (from DUR)
#   SERVER_CPU=0 CLIENT_CPU=1 PORT_BASE=18100
#   CLEAN_TREE=1   build the committed HEAD in a git worktree at BENCH_TREE
#                  (default /tmp/main-bench-tree); 0: build this tree,
#                  uncommitted changes included
#   SKIP_BUILD=1 UPDATE_DOCS=0 NOTE="text for the report"
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

SERVERS=${SERVERS:-"tokio smol std hyper ceiling nghttpd nginx"}
BASELINE=hyper
DUR=${DUR:-5}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
PAIRED=${PAIRED:-1}
MAX_WAIT=${MAX_WAIT:-5}
IDLE_N=${IDLE_N:-1000}
CONNS=${CONNS:-50}
BIG_CONNS=${BIG_CONNS:-10}
DEPTH=${DEPTH:-16}
# h2load counts requests, not seconds: sized to last about DUR seconds here
N_MANY=${N_MANY:-$((DUR * 40000))}
N_SINGLE=${N_SINGLE:-$((DUR * 30000))}
N_BIG=${N_BIG:-$((DUR * 200))}
N_UPLOAD=${N_UPLOAD:-$((DUR * 100))}
N_C1000=${N_C1000:-$((DUR * 20000))}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_BASE=${PORT_BASE:-18100}
SKIP_BUILD=${SKIP_BUILD:-0}
CLEAN_TREE=${CLEAN_TREE:-1}
BENCH_TREE=${BENCH_TREE:-${TMPDIR:-/tmp}/$(basename "$ROOT")-bench-tree}
UPDATE_DOCS=${UPDATE_DOCS:-1}
NOTE=${NOTE:-}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RESULTS=$ROOT/bench/results
BIN=$RESULTS/bin

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

WORKLOADS=${WORKLOADS:-$ALL_WORKLOADS}
for w in $WORKLOADS; do wl_label "$w" >/dev/null || die "unknown workload '$w' (known: $ALL_WORKLOADS)"; done
for s in $SERVERS; do server_port "$s" >/dev/null; done

# ------------------------------------------------------------- tools
require_tools() {
    local tool missing=0
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 && continue
        echo "$SELF: ERROR: '$tool' not found on PATH" >&2
        missing=1
    done
    [ "$missing" = 0 ] || exit 1
}
apt_install() { # TOOL PACKAGE -> installs PACKAGE if TOOL is missing
    command -v "$1" >/dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] || die "'$1' is missing: apt-get install $2 (as root), or leave it out of SERVERS"
    log "installing $2"
    apt-get install -y "$2" >&2 || { apt-get update >&2 && apt-get install -y "$2" >&2; } ||
        die "apt-get install $2 failed"
}
case " $SERVERS " in *" nghttpd "*) apt_install nghttpd nghttp2-server ;; esac
case " $SERVERS " in *" nginx "*) apt_install nginx nginx-light ;; esac
require_tools wrk h2load curl taskset getconf awk python3

NCPU=$(nproc)
[ "$SERVER_CPU" -lt "$NCPU" ] && [ "$CLIENT_CPU" -lt "$NCPU" ] ||
    die "SERVER_CPU=$SERVER_CPU / CLIENT_CPU=$CLIENT_CPU but only $NCPU CPUs"
[ "$SERVER_CPU" != "$CLIENT_CPU" ] || log "warning: server and load generator share CPU $SERVER_CPU"
CLK_TCK=$(getconf CLK_TCK)
# 1,000 connections per side, and wrk's own
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 4096 ] || die "ulimit -n is $(ulimit -n); need 4096"

# ------------------------------------------------------------- build
# Each server is copied out of target/ right after its own build (the
# adapters' `<name>_hello` examples become `hello-<name>`).
# CLEAN_TREE=1 builds the committed HEAD from a git worktree outside this
# tree ($BENCH_TREE, sharing target/), so that the figures belong to a commit
# and not to whatever is being edited here.
mkdir -p "$BIN"
MANIFEST=$ROOT/Cargo.toml
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || COMMIT="$COMMIT + uncommitted changes"
if [ "$CLEAN_TREE" = 1 ] && [ "$SKIP_BUILD" != 1 ]; then
    TREE=$BENCH_TREE
    head=$(git rev-parse HEAD)
    if [ -e "$TREE/.git" ]; then
        git -C "$TREE" checkout -q --detach "$head" || die "cannot check out $head in $TREE"
    else
        git worktree add -q --detach "$TREE" "$head" || die "cannot create the worktree $TREE"
    fi
    MANIFEST=$TREE/Cargo.toml
    COMMIT=$(git rev-parse --short HEAD)
fi
build() { # PACKAGE EXAMPLE COPY_AS
    CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -q \
        --manifest-path "$MANIFEST" -p "$1" --example "$2" >&2 ||
        die "cargo build -p $1 --example $2 failed"
    cp "$TARGET_DIR/release/examples/$2" "$BIN/$3"
}
if [ "$SKIP_BUILD" != 1 ]; then
    log "building release examples of ${MANIFEST%/Cargo.toml} ($COMMIT) into ${BIN#"$ROOT"/}"
    echo "$COMMIT" >"$BIN/commit"
    for s in $SERVERS; do
        case $s in
            tokio | smol | std) build "adapter-$s" "${s}_hello" "hello-$s" ;;
            byo) build proto-core byo_loop byo_loop ;;
            hyper) build tests hyper_hello hyper_hello ;;
            ceiling) build tests ceiling ceiling ;;
        esac
    done
fi

# ------------------------------------------------------------- run
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
declare -A PID=()
cleanup() {
    local name
    for name in "${!PID[@]}"; do stop_server "$name"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
make_docroot
head -c "$BIG_LEN" /dev/zero | tr '\0' x >"$WORK/upload.bin"

printf 'workload\tserver\trep\tseq\trequests\treq_per_s\tcpu_ticks\tcpu_us_per_req\tcpu_busy_pct\twait_pct\tothers_pct\tp99_ms\tsocket_errors\tfailure\n' >"$RESULTS/runs.tsv"
printf 'workload\tserver\tconnections\trss_before_kib\trss_after_kib\tkib_per_conn\n' >"$RESULTS/mem.tsv"
START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

in_list() { case " $2 " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

for proto in h1 h2; do
    servers=
    for s in $SERVERS; do in_list "$proto" "$(server_protos "$s")" && servers="$servers $s"; done
    loads=
    for w in $WORKLOADS; do
        case $w in "$proto-idle") ;; "$proto"-*) loads="$loads $w" ;; esac
    done
    in_list "$proto-idle" "$WORKLOADS" || [ -n "$loads" ] || continue
    others=
    for s in $servers; do [ "$s" = "$BASELINE" ] || others="$others $s"; done
    # skip_list WORKLOAD -> the servers that sit it out
    skip_list() { local s; for s in $servers; do server_skips "$s" "$1" >/dev/null && echo "$s"; done; true; }
    for s in $servers; do
        start_server "$s" "$proto"
        in_list "$proto-idle" "$WORKLOADS" && measure_idle "$s" "$proto"
        [ "$WARMUP" = 0 ] || run_one "$proto-warmup" "$s" 0 0
    done
    for w in $loads; do
        log "$w: $RUNS repetitions ($(wl_label "$w"))"
        for rep in $(seq "$RUNS"); do
            # rotate the order of the other servers by one each repetition
            set -- $others
            n=$#
            order=
            for i in $(seq 0 $((n - 1))); do
                j=$(((i + rep - 1) % n + 1))
                order="$order ${!j}"
            done
            skip=$(skip_list "$w")
            [ -z "$skip" ] || for s in $skip; do order=$(echo " $order " | sed "s/ $s / /"); done
            seq=0
            if in_list "$BASELINE" "$servers"; then
                run_one "$w" "$BASELINE" "$rep" $((seq += 1))
                for s in $order; do
                    run_one "$w" "$s" "$rep" $((seq += 1))
                    [ "$PAIRED" = 0 ] || run_one "$w" "$BASELINE" "$rep" $((seq += 1))
                done
            else
                for s in $order; do run_one "$w" "$s" "$rep" $((seq += 1)); done
            fi
        done
    done
    for s in $servers; do stop_server "$s"; done
done

# ------------------------------------------------------------- report
# SKIP_BUILD=1: the binaries are those of the last build
[ "$SKIP_BUILD" != 1 ] || COMMIT="$(cat "$BIN/commit" 2>/dev/null || echo unknown) (SKIP_BUILD=1: binaries of an earlier build)"
{
    echo "command=$(printf 'SERVERS="%s" DUR=%s RUNS=%s' "$SERVERS" "$DUR" "$RUNS")$([ "$WORKLOADS" = "$ALL_WORKLOADS" ] || printf ' WORKLOADS="%s"' "$WORKLOADS")$([ "$PAIRED" = 1 ] || echo ' PAIRED=0') bench/run.sh"
    echo "start=$START"
    echo "end=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$COMMIT"
    echo "machine=$NCPU CPUs ($(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)), Linux $(uname -r)"
    echo "rustc=$(rustc --version 2>/dev/null || echo unknown)"
    echo "tools=$(wrk --version 2>&1 | head -1 | awk '{print $1, $2}'), $(h2load --version | head -1)"
    echo "load_before=$LOAD_BEFORE"
    echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "server_cpu=$SERVER_CPU"
    echo "client_cpu=$CLIENT_CPU"
    echo "runs=$RUNS"
    echo "dur=$DUR"
    echo "paired=$PAIRED"
    echo "max_wait=$MAX_WAIT"
    echo "idle_n=$IDLE_N"
    echo "baseline=$BASELINE"
    echo "note=$NOTE"
    for s in $SERVERS; do echo "server.$s=$(server_desc "$s")"; done
    for s in $SERVERS; do
        for w in $WORKLOADS; do
            why=$(server_skips "$s" "$w") && echo "skip.$s.$w=$why"
        done
    done
    for w in $WORKLOADS; do echo "label.$w=$(wl_label "$w")"; done
} >"$RESULTS/meta.txt"

# The committed chart goes with BENCHMARKS.md; partial runs draw theirs in results/.
CHART=$ROOT/bench/chart.svg
[ "$UPDATE_DOCS" != 0 ] || CHART=$RESULTS/chart.svg
args=("$RESULTS" --chart "$CHART")
[ "$UPDATE_DOCS" = 0 ] || args+=(--doc "$ROOT/BENCHMARKS.md")
python3 "$ROOT/bench/report.py" "${args[@]}"
cat "$RESULTS/tables.md"
log "written: bench/results/{runs,mem}.tsv, bench/results/tables.md, ${CHART#"$ROOT"/}$([ "$UPDATE_DOCS" = 0 ] || echo ', BENCHMARKS.md')"
