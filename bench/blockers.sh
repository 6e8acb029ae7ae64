#!/usr/bin/env bash
# The figures behind "Measured blockers" in BENCHMARKS.md: what each adapter
# asks of the kernel per request, and how busy the server and the load
# generator each are in the HTTP/2 runs against nghttpd.
#
#   bench/blockers.sh               # both parts (about 2 minutes)
#   ONLY=kernel bench/blockers.sh   # per-request syscalls and context switches
#   ONLY=load bench/blockers.sh     # server vs load-generator CPU, ours and nghttpd
#
# Server pinned to CPU 0, load generator to CPU 1, as in bench/run.sh.
# kernel: perf software events and syscall tracepoints on the server process
# (all its threads) during `wrk -t1 -c50 -d3s` (HTTP/1.1) and
# `h2load -c1 -m100 -n200000` (HTTP/2), divided by the requests answered.
# These are counts, not timings: they repeat within a few percent.
# load: utime+stime of the server (from /proc) and of h2load (from
# /usr/bin/time) over a fixed request count, per request and as a share of
# the run's wall time, RUNS times in turn. A share near 100% means that side
# sets the pace.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ONLY=${ONLY:-all}
RUNS=${RUNS:-3}
PORT=${PORT:-18531}
# shellcheck source=bench/prelude.sh
. "$ROOT/bench/prelude.sh"
need perf linux-perf
need wrk wrk
need h2load nghttp2-client
need nghttpd nghttp2-server
need python3 python3
[ -x /usr/bin/time ] || need /usr/bin/time time

export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
# Its own target directory, shared with counts.sh (same profile, same tree).
export CARGO_TARGET_DIR=${COUNTS_TARGET_DIR:-$ROOT/target/counts}
log "building (release) into $CARGO_TARGET_DIR"
for a in tokio smol std; do
    cargo build -q --release -p "adapter-$a" --example "${a}_hello"
done
BIN=$CARGO_TARGET_DIR/release/examples

# nghttpd's docroot: the same 13-byte body as the examples' `/`, and `/big`.
mkdir -p "$WORK/docroot"
printf 'Hello, World!' >"$WORK/docroot/index.html"
head -c 1048576 /dev/zero | tr '\0' x >"$WORK/docroot/big"

start() { # NAME PROTO: starts the server on CPU 0, sets SERVER_PID
    local addr=127.0.0.1:$PORT
    case $1 in
        nghttpd) taskset -c 0 nghttpd --no-tls -n 1 -w 20 -W 20 -a 127.0.0.1 -d "$WORK/docroot" "$PORT" >/dev/null 2>&1 & ;;
        *) taskset -c 0 "$BIN/$1_hello" "$addr" "--$2-only" >/dev/null 2>&1 & ;;
    esac
    SERVER_PID=$!
    wait_port || exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

if [ "$ONLY" = all ] || [ "$ONLY" = kernel ]; then
    EVENTS=context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex
    kernel_row() { # NAME PROTO
        start "$1" "$2"
        perf stat -x, -e "$EVENTS" -p "$SERVER_PID" -o "$WORK/perf.csv" &
        local perf=$! n out
        sleep 0.3
        if [ "$2" = h1 ]; then
            out=$(taskset -c 1 wrk -t1 -c50 -d3s "http://127.0.0.1:$PORT/")
            n=$(awk '/requests in/ {print $1}' <<<"$out")
        else
            out=$(taskset -c 1 h2load -n 200000 -c1 -m100 "http://127.0.0.1:$PORT/")
            n=$(awk '/^requests:/ {print $8}' <<<"$out")
        fi
        kill -INT "$perf"
        wait "$perf" || true
        stop_server
        python3 - "$WORK/perf.csv" "$n" "$1" "$2" <<'PY'
import sys
path, n, name, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
per = {}
for line in open(path):
    f = line.strip().split(",")
    if len(f) > 2 and f[0].replace(".", "", 1).isdigit():
        per[f[2].split(":")[-1]] = float(f[0]) / n
cols = ["raw_syscalls:sys_enter", "sys_enter_recvfrom", "sys_enter_epoll_ctl", "sys_enter_futex", "context-switches"]
cols = [c.split(":")[-1] for c in cols]
print(f"| {name} | {'HTTP/1.1 wrk c50' if proto == 'h1' else 'HTTP/2 h2load c1 m100'} | {n} | "
      + " | ".join(f"{per.get(c, 0):.3f}" for c in cols) + " |")
PY
    }
    echo "### Per request, from the kernel's side ($(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "| server | workload | requests | syscalls | recvfrom | epoll_ctl | futex | context switches |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    for proto in h1 h2; do
        for s in tokio smol std; do kernel_row "$s" "$proto"; done
    done
    echo
fi

if [ "$ONLY" = all ] || [ "$ONLY" = load ]; then
    load_row() { # NAME C M N PATH
        local name=$1 c=$2 m=$3 n=$4 path=$5 t0 t1 out
        start "$name" h2
        taskset -c 1 h2load -n "$((n / 10))" "-c$c" "-m$m" "http://127.0.0.1:$PORT/$path" >/dev/null 2>&1
        t0=$(cpu_ticks "$SERVER_PID")
        out=$({ /usr/bin/time -f "CLIENT %U %S %e" taskset -c 1 h2load -n "$n" "-c$c" "-m$m" "http://127.0.0.1:$PORT/$path"; } 2>&1)
        t1=$(cpu_ticks "$SERVER_PID")
        stop_server
        OUT=$out python3 - "$name" "$c" "$m" "$n" "$path" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY'
import os, sys
name, c, m, n, path, t0, t1, hz = sys.argv[1:]
n = int(n); hz = int(hz)
out = os.environ["OUT"]
ok = [l for l in out.splitlines() if l.startswith("requests:")]
rps = [l for l in out.splitlines() if l.startswith("finished in")]
cl = [l for l in out.splitlines() if l.startswith("CLIENT")]
if not (ok and rps and cl) or int(ok[0].split()[7]) != n:
    print(f"| {name} | c{c} m{m} /{path} | failed run | | | | |")
    sys.exit()
u, s, wall = (float(x) for x in cl[0].split()[1:4])
srv = (float(t1) - float(t0)) / hz
print(f"| {name} | c{c} m{m} /{path} | {float(rps[0].split()[3]):,.0f} | {srv * 1e6 / n:.2f} | {srv / wall * 100:.0f}% "
      f"| {(u + s) * 1e6 / n:.2f} | {(u + s) / wall * 100:.0f}% |")
PY
    }
    echo "### Server and load generator, HTTP/2 ($(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "| server | workload | req/s | server CPU µs/req | server busy | h2load CPU µs/req | h2load busy |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for r in $(seq "$RUNS"); do
        for s in tokio nghttpd; do load_row "$s" 16 32 400000 ""; done
        for s in tokio nghttpd; do load_row "$s" 4 4 3000 big; done
    done
    echo
fi
