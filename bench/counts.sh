#!/usr/bin/env bash
# Deterministic counts: instructions per request under callgrind and syscalls
# per request under strace, for the core alone, our servers and hyper.
#
#   bench/counts.sh            # everything (about 10 minutes on 2 vCPUs)
#   ONLY=core bench/counts.sh  # only the core-only cycles (core | servers | syscalls)
#
# Instructions per request = (total at N2 - total at N1) / (N2 - N1): startup,
# connection setup and teardown cancel out; callgrind counts instructions, so
# the figure does not move with the machine's load. For servers, the server
# runs under callgrind, a client sends N requests on ONE connection, and the
# counts are zeroed/dumped around each client run with callgrind_control
# (the whole server process: protocol, runtime, syscall wrappers; not the
# kernel). Syscalls: strace -f -c attached to the (native) server for one
# client run. Output: a markdown section on stdout and in
# bench/results/counts-latest.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
ONLY=${ONLY:-all}
N1=${N1:-2000}
N2=${N2:-4000}
PORT=${PORT:-18431}
# shellcheck source=bench/prelude.sh
. "$ROOT/bench/prelude.sh"
need valgrind valgrind
need callgrind_control valgrind
need strace strace
need h2load nghttp2-client
need python3 python3

export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
# Its own target directory: other scripts build other trees (e.g. a HEAD
# worktree) into target/, and a measurement must be of this tree.
export CARGO_TARGET_DIR=${COUNTS_TARGET_DIR:-$ROOT/target/counts}
log "building (release) into $CARGO_TARGET_DIR"
cargo build -q --release -p proto-core --example h1_cycle --example h2_cycle --example pair_cycle --example byo_loop
cargo build -q --release -p tests --example hyper_hello --example ceiling
BIN=$CARGO_TARGET_DIR/release/examples

# A fixed-count HTTP/1.1 client: N GETs on one keep-alive connection, DEPTH
# requests per write (pipelined when > 1); waits for every body.
cat >"$WORK/h1client.py" <<'PY'
import socket, sys
port, n, depth, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
req = ("GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: counts\r\n\r\n" % path).encode()
mark = b"Hello, World!" if path == "/" else None
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
done, tail, got = 0, b"", 0
while done < n:
    k = min(depth, n - done)
    s.sendall(req * k)
    want = done + k
    while done < want:
        data = s.recv(1 << 20)
        if not data:
            sys.exit("server closed after %d responses" % done)
        if mark:
            buf = tail + data
            done += buf.count(mark)
            tail = buf[-(len(mark) - 1):]
        else:  # 1 MiB bodies: count bytes
            got += len(data)
            done = got // (1 << 20)
s.close()
PY

# client KIND N: one client run against $PORT (h1 | h1p16 | h2 | h2m100 | h1big | h2big)
client() {
    case $1 in
        h1) python3 "$WORK/h1client.py" "$PORT" "$2" 1 / ;;
        h1p16) python3 "$WORK/h1client.py" "$PORT" "$2" 16 / ;;
        h1big) python3 "$WORK/h1client.py" "$PORT" "$2" 1 /big ;;
        h2) h2load -n "$2" -c 1 -m 1 "http://127.0.0.1:$PORT/" >"$WORK/h2load.out" ;;
        h2m100) h2load -n "$2" -c 1 -m 100 "http://127.0.0.1:$PORT/" >"$WORK/h2load.out" ;;
        h2big) h2load -n "$2" -c 1 -m 1 "http://127.0.0.1:$PORT/big" >"$WORK/h2load.out" ;;
    esac
    case $1 in h2*) grep -q "$2 succeeded" "$WORK/h2load.out" || { cat "$WORK/h2load.out" >&2; log "h2load failed"; return 1; } ;; esac
}

# Instructions in the last callgrind dump of PID: the "totals:" line.
cg_total() { # PID
    local f
    f=$(ls -t "$WORK"/cg."$1"* | head -1)
    awk '/^(totals|summary):/ {print $2; exit}' "$f"
}

# ir_server BINARY ARGS... ; uses $KIND -> instructions per request
ir_server() {
    rm -f "$WORK"/cg.*
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" "$@" >/dev/null 2>"$WORK/vg.err" &
    SERVER_PID=$!
    wait_port
    client "$KIND" 200 # warm up: code paths, allocator, buffers
    local totals=()
    for n in "$N1" "$N2"; do
        callgrind_control -z "$SERVER_PID" >/dev/null 2>&1
        client "$KIND" "$n"
        sleep 0.5 # the server finishes closing the connection
        callgrind_control -d "$SERVER_PID" >/dev/null 2>&1
        totals+=("$(cg_total "$SERVER_PID")")
    done
    stop_server
    echo $(((totals[1] - totals[0]) / (N2 - N1)))
}

# ir_median3 BINARY ARGS... -> the median (min–max) of three ir_server runs
ir_median3() {
    local runs
    runs=$(for _ in 1 2 3; do ir_server "$@" || return 1; done | sort -n | tr '\n' ' ')
    # shellcheck disable=SC2086 # split into the three figures
    set -- $runs
    echo "$2 ($1–$3)"
}

# ir_example ARGS_AT_N1 ARGS_AT_N2 PER -> instructions per request of a
# whole program run (core-only cycles); PER = requests per unit of N
ir_example() {
    local a b
    a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $1 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $2 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    echo $(((b - a) / $3))
}

OUT=$WORK/counts.md
{
    echo "\`bench/counts.sh\` (N1 = $N1, N2 = $N2), $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git rev-parse --short HEAD)$(git diff --quiet -- proto-core adapter-* || echo ' + uncommitted changes'), $(valgrind --version), $(rustc --version | cut -d' ' -f1-2)."
    echo
} >"$OUT"

if [ "$ONLY" = all ] || [ "$ONLY" = core ]; then
    log "core-only cycles"
    {
        echo "Core only (no sockets, no runtime; \`proto-core/examples/\`), instructions per request:"
        echo
        echo "| cycle | Ir/request |"
        echo "|---|---:|"
        echo "| HTTP/1.1 server (\`h1_cycle\`) | $(ir_example "$BIN/h1_cycle $N1" "$BIN/h1_cycle $N2" $((N2 - N1))) |"
        echo "| HTTP/1.1 server, 16 pipelined per recv (\`h1_cycle --pipelined\`) | $(ir_example "$BIN/h1_cycle $((N1 / 16)) --pipelined" "$BIN/h1_cycle $((N2 / 16)) --pipelined" $(((N2 / 16 - N1 / 16) * 16))) |"
        echo "| HTTP/2 server (\`h2_cycle\`) | $(ir_example "$BIN/h2_cycle $N1" "$BIN/h2_cycle $N2" $((N2 - N1))) |"
        echo "| HTTP/2 server, 16 streams per recv (\`h2_cycle N 16\`) | $(ir_example "$BIN/h2_cycle $N1 16" "$BIN/h2_cycle $N2 16" $((N2 - N1))) |"
        echo "| HTTP/1.1 client + server pair (\`pair_cycle h1\`) | $(ir_example "$BIN/pair_cycle h1 $N1" "$BIN/pair_cycle h1 $N2" $((N2 - N1))) |"
        echo "| HTTP/2 client + server pair (\`pair_cycle h2\`) | $(ir_example "$BIN/pair_cycle h2 $N1" "$BIN/pair_cycle h2 $N2" $((N2 - N1))) |"
        echo "| HTTP/2 client + server pair, 16 in flight (\`pair_cycle h2 N 16\`) | $(ir_example "$BIN/pair_cycle h2 $N1 16" "$BIN/pair_cycle h2 $N2 16" $((N2 - N1))) |"
        echo
    } >>"$OUT"
fi

# The servers: each adapter's `<name>_hello` example, copied out as `hello-<name>`.
build_named() {
    cargo build -q --release -p "$1" --example "$2_hello"
    cp "$BIN/$2_hello" "$WORK/hello-$2"
}
if [ "$ONLY" = all ] || [ "$ONLY" = servers ] || [ "$ONLY" = syscalls ]; then
    build_named adapter-smol smol
    build_named adapter-std std
    build_named adapter-tokio tokio
fi
srv() { # NAME PROTO -> argv
    local addr=127.0.0.1:$PORT flag
    case $2 in h1) flag=--h1-only ;; h2) flag=--h2-only ;; esac
    case $1 in
        hyper) if [ "$2" = h2 ]; then echo "$BIN/hyper_hello $addr --h2"; else echo "$BIN/hyper_hello $addr"; fi ;;
        hyper-pf) echo "$BIN/hyper_hello $addr --pipeline-flush" ;;
        byo) echo "$BIN/byo_loop $addr" ;;
        ceiling) echo "$BIN/ceiling $addr" ;;
        *) echo "$WORK/hello-$1 $addr $flag" ;;
    esac
}

if [ "$ONLY" = all ] || [ "$ONLY" = servers ]; then
    log "servers under callgrind"
    {
        echo "Whole servers under callgrind (protocol + runtime + syscall wrappers), one connection, instructions per request:"
        echo
        echo "| server | HTTP/1.1 | HTTP/1.1 pipelined ×16 | HTTP/2 (1 stream) | HTTP/2 (100 streams) |"
        echo "|---|---:|---:|---:|---:|"
    } >>"$OUT"
    for s in tokio smol std byo hyper hyper-pf ceiling; do
        row="| $s"
        for kind in h1 h1p16 h2 h2m100; do
            proto=${kind:0:2}
            if [ "$s" = hyper-pf ] && [ "$proto" = h2 ]; then row="$row | –"; continue; fi
            log "$s $kind"
            if [ "$s" = byo ]; then
                # shellcheck disable=SC2046
                row="$row | $(KIND=$kind ir_median3 $(srv "$s" "$proto") || echo failed)"
                continue
            fi
            # shellcheck disable=SC2046
            row="$row | $(KIND=$kind ir_server $(srv "$s" "$proto") || echo failed)"
        done
        echo "$row |" >>"$OUT"
    done
    {
        echo
        echo "hyper-pf: hyper with \`pipeline_flush\`. std is a thread per connection; all threads counted. byo: the core on a bare mio loop (\`proto-core/examples/byo_loop\`), median (min–max) of three runs: its count moves with the number of wake-ups per request. ceiling: no protocol code (\`tests/examples/ceiling.rs\`)."
        echo
    } >>"$OUT"
fi

# sys_server KIND N BINARY ARGS... -> "calls writes" over one client run
sys_server() {
    local kind=$1 n=$2
    shift 2
    "$@" >/dev/null 2>&1 &
    SERVER_PID=$!
    wait_port
    client "$kind" 10
    strace -f -c -o "$WORK/strace.out" -p "$SERVER_PID" 2>/dev/null &
    local st=$!
    sleep 1 # strace attaches to every thread
    client "$kind" "$n"
    sleep 0.3
    kill -INT "$st"
    wait "$st" 2>/dev/null || true
    stop_server
    # strace -c: "% time seconds usecs/call calls errors syscall"; total line last
    # rows: "% time  seconds  usecs/call  calls  [errors]  syscall"; the
    # calls column is the 4th whether or not errors is filled in
    awk -v n="$n" '
        $1 ~ /^[0-9.]+$/ && $NF != "total" { t += $4 }
        $1 ~ /^[0-9.]+$/ && $NF ~ /^(write|writev|sendto|sendmsg)$/ { w += $4 }
        END { printf "%.3f / %.3f", t / n, w / n }' "$WORK/strace.out"
}

if [ "$ONLY" = all ] || [ "$ONLY" = syscalls ]; then
    log "syscalls under strace"
    NS=${NS:-20000}
    NB=${NB:-64}
    {
        echo "Syscalls (strace -f -c on the native release server, one connection), per request (per 1 MiB for the /big columns), as all syscalls / write-family calls:"
        echo
        echo "| server | HTTP/1.1 pipelined ×16 | HTTP/2, 100 streams | HTTP/1.1 1 MiB | HTTP/2 1 MiB |"
        echo "|---|---:|---:|---:|---:|"
    } >>"$OUT"
    for s in tokio smol std hyper; do
        row="| $s"
        # shellcheck disable=SC2046
        row="$row | $(sys_server h1p16 "$NS" $(srv "$s" h1))"
        # shellcheck disable=SC2046
        row="$row | $(sys_server h2m100 "$NS" $(srv "$s" h2))"
        # shellcheck disable=SC2046
        row="$row | $(sys_server h1big "$NB" $(srv "$s" h1))"
        # shellcheck disable=SC2046
        row="$row | $(sys_server h2big "$NB" $(srv "$s" h2))"
        echo "$row |" >>"$OUT"
    done
    {
        echo
        echo "Write-family: write, writev, sendto, sendmsg. HTTP/1.1 pipelined: $NS requests, 16 per client write; HTTP/2: \`h2load -n $NS -c 1 -m 100\`; 1 MiB: $NB sequential \`GET /big\` on one connection (h2load -m 1 for HTTP/2)."
        echo
    } >>"$OUT"
fi

cp "$OUT" "$RESULTS/counts-latest.md"
cat "$OUT"
