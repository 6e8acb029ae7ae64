# The benchmark machinery behind bench/run.sh (sourced, not run): the
# servers, starting and watching them, CPU and scheduling accounting from
# /proc, the load generators, the paired run loop and the idle-memory probe.
# bench/report.py turns what this records into tables and a chart.
#
# The sourcing script sets ROOT, RESULTS, BIN, WORK (a temp dir), SERVERS,
# BASELINE, DUR, RUNS, WARMUP, SERVER_CPU, CLIENT_CPU, PORT_BASE, PAIRED,
# IDLE_N and the workload sizes (CONNS, BIG_CONNS, DEPTH, N_*).

HELLO="Hello, World!"
BIG_LEN=1048576
SELF=$(basename "$0")

die() {
    echo "$SELF: ERROR: $*" >&2
    exit 1
}
log() { echo "$SELF: $*" >&2; }

# ------------------------------------------------------------- servers
# Every server this script knows, in a fixed order (it also fixes their
# ports: PORT_BASE + 2 * index; the ceiling also uses the next port).
ALL_SERVERS="tokio smol std byo hyper ceiling nghttpd nginx"

# server_protos NAME -> the protocols NAME serves here
server_protos() {
    case $1 in
        nghttpd) echo h2 ;;
        *) echo "h1 h2" ;;
    esac
}

# server_skips NAME WORKLOAD -> why NAME sits WORKLOAD out (fails if it does not)
server_skips() {
    case $1:$2 in
        nginx:h2-upload) echo "nginx answers \`return 200\` over HTTP/2 before the body arrives and resets the stream, so the body is never sent: not an upload (over HTTP/1.1 it reads the body to discard it)" ;;
        *) return 1 ;;
    esac
}

# server_desc NAME -> one line for the report
server_desc() {
    case $1 in
        tokio) echo "adapter-tokio \`tokio_hello\` example, current-thread runtime (\`--h1-only\` / \`--h2-only\`)" ;;
        smol) echo "adapter-smol \`smol_hello\` example, one executor thread (\`--h1-only\` / \`--h2-only\`)" ;;
        std) echo "adapter-std \`std_hello\` example: threads per connection, all pinned to the server CPU (\`--h1-only\` / \`--h2-only\`)" ;;
        byo) echo "proto-core \`byo_loop\` example: the core on a bare mio loop, one thread (HTTP/1 and HTTP/2 on one port)" ;;
        hyper) echo "hyper 1.x, \`tests/examples/hyper_hello.rs\`, current-thread tokio runtime (\`http1::Builder\` / \`--h2\`: \`http2::Builder\`)" ;;
        ceiling) echo "\`tests/examples/ceiling.rs\`: no protocol code, canned answers from one mio thread (the bound)" ;;
        nghttpd) echo "nghttpd $(nghttpd --version 2>/dev/null | awk '{print $2}') (\`--no-tls -n 1 -w 20 -W 20\`: one thread, 1 MiB windows as hyper's; files from a temp docroot), HTTP/2 only" ;;
        nginx) echo "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') (one worker, \`return 200\` / a 1 MiB file; h2c on its own \`listen ... http2\` port)" ;;
    esac
}

# single-threaded servers: their waiting for a CPU is schedstat run delay;
# the others' threads also queue behind each other on the one pinned CPU
server_single_thread() { [ "$1" != std ]; }

server_port() { # NAME -> its port
    local i=0 s
    for s in $ALL_SERVERS; do
        [ "$s" = "$1" ] && { echo $((PORT_BASE + 2 * i)); return; }
        i=$((i + 1))
    done
    die "unknown server '$1' (known: $ALL_SERVERS)"
}

server_big_port() { # NAME -> the port that serves GET /big
    local port
    port=$(server_port "$1")
    [ "$1" = ceiling ] && port=$((port + 1))
    echo "$port"
}

# server_cmd NAME PROTO PORT -> the server's command line, one word a line
server_cmd() {
    local name=$1 proto=$2 port=$3 addr="127.0.0.1:$3"
    case $name in
        tokio | smol | std)
            printf '%s\n' "$BIN/hello-$name" "$addr" "--${proto}-only" ;;
        byo) printf '%s\n' "$BIN/byo_loop" "$addr" ;;
        hyper)
            printf '%s\n' "$BIN/hyper_hello" "$addr"
            [ "$proto" = h1 ] || echo --h2 ;;
        ceiling) printf '%s\n' "$BIN/ceiling" "$addr" ;;
        nghttpd)
            # 1 MiB windows (-w/-W 20), as hyper's defaults: the stock 64 KiB
            # stream window would make uploads a flow-control benchmark
            printf '%s\n' nghttpd --no-tls -n 1 -w 20 -W 20 -a 127.0.0.1 -d "$WORK/docroot" "$port" ;;
        nginx)
            nginx_conf "$proto" "$port"
            printf '%s\n' nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e stderr ;;
        *) die "unknown server '$name'" ;;
    esac
}

# docroot for nghttpd and nginx: `/` is Hello, World!, `/big` is 1 MiB
make_docroot() {
    # nginx workers run as nobody: the docroot must be readable
    chmod 755 "$WORK"
    mkdir -p "$WORK/docroot"
    printf '%s' "$HELLO" >"$WORK/docroot/index.html"
    head -c "$BIG_LEN" /dev/zero | tr '\0' x >"$WORK/docroot/big"
}

# nginx_conf PROTO PORT -> writes $WORK/nginx/nginx.conf (loopback, one worker)
nginx_conf() {
    local listen="127.0.0.1:$2"
    [ "$1" = h1 ] || listen="$listen http2"
    mkdir -p "$WORK/nginx/logs"
    cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
    http2_max_requests 1000000000;
    http2_max_concurrent_streams 128;
    client_max_body_size 0;
    sendfile on;
    tcp_nodelay on;
    server {
        listen $listen;
        root $WORK/docroot;
        location = /big { default_type text/plain; }
        location / { default_type text/plain; return 200 "$HELLO"; }
    }
}
EOF
}

# start_server NAME PROTO -> PID[NAME]; checks `/` and `/big` answer right
start_server() {
    local name=$1 proto=$2 port big
    port=$(server_port "$name")
    big=$(server_big_port "$name")
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
        die "something already answers on 127.0.0.1:$port (set PORT_BASE)"
    fi
    local -a cmd
    mapfile -t cmd < <(server_cmd "$name" "$proto" "$port")
    # taskset execs the server, so $! is the server's own pid; children
    # (nginx's worker) inherit the CPU.
    taskset -c "$SERVER_CPU" "${cmd[@]}" >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    local i code=
    for i in $(seq 100); do
        kill -0 "${PID[$name]}" 2>/dev/null ||
            die "$name server exited at startup; log:$(printf '\n'; cat "$WORK/$name.log")"
        code=$(http_code "$proto" "http://127.0.0.1:$port/" "$WORK/$name.body")
        [ "$code" = "$(ok_code "$proto")" ] && break
        sleep 0.1
    done
    [ "$code" = "$(ok_code "$proto")" ] ||
        die "$name server on 127.0.0.1:$port not answering 200 over $proto (last '$code'); log:$(printf '\n'; cat "$WORK/$name.log")"
    [ "$(cat "$WORK/$name.body")" = "$HELLO" ] ||
        die "$name server: GET / body is '$(head -c 100 "$WORK/$name.body")', want '$HELLO'"
    code=$(http_code "$proto" "http://127.0.0.1:$big/big" "$WORK/$name.big")
    [ "$code" = "$(ok_code "$proto")" ] || die "$name server: GET /big answered '$code' over $proto"
    [ "$(wc -c <"$WORK/$name.big")" = "$BIG_LEN" ] ||
        die "$name server: GET /big gave $(wc -c <"$WORK/$name.big") bytes, want $BIG_LEN"
    log "$name up ($proto): pid ${PID[$name]}, ${cmd[*]} (CPU $SERVER_CPU)"
}

stop_server() { # NAME
    [ -n "${PID[$1]:-}" ] || return 0
    kill "${PID[$1]}" 2>/dev/null || true
    wait "${PID[$1]}" 2>/dev/null || true
    unset "PID[$1]"
}

ok_code() { [ "$1" = h1 ] && echo "200 1.1" || echo "200 2"; }
# http_code PROTO URL OUT -> "STATUS VERSION" of a GET (body to OUT)
http_code() {
    local flag=--http1.1
    [ "$1" = h1 ] || flag=--http2-prior-knowledge
    curl -s "$flag" -o "$3" -w '%{http_code} %{http_version}' --max-time 5 "$2" || true
}

# Fails loudly if server NAME is gone: its exit status and the end of its log
# (kept in bench/results/NAME-server.log).
check_alive() {
    local name=$1 rc=0 stat=""
    { read -r stat <"/proc/${PID[$name]}/stat"; } 2>/dev/null || true
    stat=${stat##*) }
    [ -n "$stat" ] && [ "${stat:0:1}" != Z ] && return 0
    wait "${PID[$name]}" 2>/dev/null || rc=$?
    unset "PID[$name]"
    cp "$WORK/$name.log" "$RESULTS/$name-server.log" 2>/dev/null || true
    die "$name server died (exit status $rc; >128 means signal $((rc > 128 ? rc - 128 : 0))) $2; log tail:$(printf '\n'; tail -20 "$WORK/$name.log")"
}

# ------------------------------------------------------------- /proc
tree_pids() { # PID -> PID and all its descendants
    echo "$1"
    local c
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        tree_pids "$c"
    done
}

# proc_sample PID -> "CPU_TICKS RUN_DELAY_NS RSS_KIB" summed over the process
# tree: utime+stime (dead threads included), the schedstat run delay (time
# runnable but waiting for a CPU) of the live threads, VmRSS.
proc_sample() {
    local p ticks=0 delay=0 rss=0 line f
    for p in $(tree_pids "$1"); do
        { read -r line <"/proc/$p/stat"; } 2>/dev/null || continue
        # the comm field may contain spaces; fields after ") " start at state (3)
        # shellcheck disable=SC2086
        set -- ${line##*) }
        ticks=$((ticks + ${12} + ${13}))
        for f in /proc/"$p"/task/*/schedstat; do
            { read -r line <"$f"; } 2>/dev/null || continue
            set -- $line
            delay=$((delay + $2))
        done
        line=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || true)
        rss=$((rss + ${line:-0}))
    done
    echo "$ticks $delay $rss"
}

cpu_busy_ticks() { # -> user+nice+system+steal ticks of SERVER_CPU
    awk -v c="cpu$SERVER_CPU" '$1 == c {print $2 + $3 + $4 + $9; exit}' /proc/stat
}

# ------------------------------------------------------------- workloads
# Names: PROTO-KIND. `idle` workloads are the memory probe, not a run.
ALL_WORKLOADS="h1-plain h1-pipelined h1-big h1-upload h1-c1000 h1-idle h2-c16m32 h2-c1m100 h2-big h2-upload h2-c1000 h2-idle"

wl_label() {
    case $1 in
        h1-plain) echo "HTTP/1.1 keep-alive, wrk c$CONNS" ;;
        h1-pipelined) echo "HTTP/1.1 pipelined $DEPTH, wrk c$CONNS" ;;
        h1-big) echo "HTTP/1.1 1 MiB download, wrk c$BIG_CONNS" ;;
        h1-upload) echo "HTTP/1.1 1 MiB upload, wrk c$BIG_CONNS" ;;
        h1-c1000) echo "HTTP/1.1 keep-alive, wrk c1000" ;;
        h1-idle) echo "HTTP/1.1 idle connection (after one request)" ;;
        h2-c16m32) echo "HTTP/2 h2load c16 m32 (n=$N_MANY)" ;;
        h2-c1m100) echo "HTTP/2 h2load c1 m100 (n=$N_SINGLE)" ;;
        h2-big) echo "HTTP/2 1 MiB download, c4 m4 (n=$N_BIG)" ;;
        h2-upload) echo "HTTP/2 1 MiB upload, c4 m4 (n=$N_UPLOAD)" ;;
        h2-c1000) echo "HTTP/2 h2load c1000 m1 (n=$N_C1000)" ;;
        h2-idle) echo "HTTP/2 idle connection (after the SETTINGS exchange)" ;;
        *) return 1 ;;
    esac
}

# client_cmd WORKLOAD PORT BIGPORT -> the load generator's command, one word a line
client_cmd() {
    local url="http://127.0.0.1:$2/" big="http://127.0.0.1:$3/big"
    case $1 in
        h1-plain) printf '%s\n' wrk -t1 "-c$CONNS" "-d${DUR}s" "$url" ;;
        h1-pipelined) printf '%s\n' wrk -t1 "-c$CONNS" "-d${DUR}s" -s "$ROOT/bench/pipeline.lua" "$url" -- "$DEPTH" ;;
        h1-big) printf '%s\n' wrk -t1 "-c$BIG_CONNS" "-d${DUR}s" "$big" ;;
        h1-upload) printf '%s\n' wrk -t1 "-c$BIG_CONNS" "-d${DUR}s" -s "$ROOT/bench/upload.lua" "$url" ;;
        h1-c1000) printf '%s\n' wrk -t1 -c1000 "-d${DUR}s" --timeout 10s "$url" ;;
        h1-warmup) printf '%s\n' wrk -t1 "-c$CONNS" "-d${WARMUP}s" "$url" ;;
        h2-c16m32) printf '%s\n' h2load -t1 -c16 -m32 "-n$N_MANY" --log-file="$WORK/h2load.log" "$url" ;;
        h2-c1m100) printf '%s\n' h2load -t1 -c1 -m100 "-n$N_SINGLE" "$url" ;;
        h2-big) printf '%s\n' h2load -t1 -c4 -m4 "-n$N_BIG" "$big" ;;
        h2-upload) printf '%s\n' h2load -t1 -c4 -m4 "-n$N_UPLOAD" -d "$WORK/upload.bin" "$url" ;;
        h2-c1000) printf '%s\n' h2load -t1 -c1000 -m1 "-n$N_C1000" "$url" ;;
        h2-warmup) printf '%s\n' h2load -t1 -c16 -m32 -n$((WARMUP * 20000)) "$url" ;;
        *) die "unknown workload '$1'" ;;
    esac
}

# parse_client WORKLOAD OUT -> "REQUESTS REQ_PER_S P99_MS FAILURE": P99 is
# "-" unless measured; FAILURE is "-" or what went wrong (non-2xx answers,
# failed requests, nothing answered); fails only on output it cannot read
parse_client() {
    local w=$1 out=$2
    case $w in
        h1-*)
            awk '/ requests in /{n = $1} /^Requests\/sec:/{r = $2}
                 /Non-2xx or 3xx responses:/{bad = $NF}
                 END {
                     if (n == "" || r == "") exit 1
                     f = "-"
                     if (bad > 0) f = "non-2xx:" bad
                     else if (n == 0) f = "no-answers"
                     print n, r, "-", f }' "$out" ;;
        h2-*)
            # requests: N total, N started, N done, N succeeded, F failed, E errored, T timeout
            # status codes: A 2xx, B 3xx, C 4xx, D 5xx
            local n ok ok2 rps p99=- f=-
            read -r n ok <<<"$(awk '/^requests: /{print $2, $8; exit}' "$out")"
            ok2=$(awk '/^status codes: /{print $3; exit}' "$out")
            rps=$(awk '/^finished in /{gsub(",", "", $4); print $4; exit}' "$out")
            [ -n "$n" ] && [ -n "$ok" ] && [ -n "$rps" ] || return 1
            [ "$ok" = "$n" ] && [ "${ok2:-0}" = "$n" ] || f="2xx:${ok2:-0}/$n"
            if [ "$w" = h2-c16m32 ] && [ -s "$WORK/h2load.log" ]; then
                # columns: start (us since epoch), status, duration (us)
                p99=$(cut -f3 "$WORK/h2load.log" | sort -n |
                    awk '{v[NR] = $1} END {i = int(NR * 0.99); if (i < 1) i = 1; printf "%.3f", v[i] / 1000}')
            fi
            echo "$n $rps $p99 $f" ;;
    esac
}

# run_one WORKLOAD NAME REP SEQ -> one measured run appended to runs.tsv
# (SEQ orders the runs of a repetition, so the report can find the baseline
# runs on either side of each server's run)
run_one() {
    local w=$1 name=$2 rep=$3 seq=$4 out="$WORK/client.out"
    local port big
    port=$(server_port "$name")
    big=$(server_big_port "$name")
    local -a cmd
    mapfile -t cmd < <(client_cmd "$w" "$port" "$big")
    rm -f "$WORK/h2load.log"
    check_alive "$name" "before $w"
    local s0 s1 c0 c1 t0 t1
    c0=$(cpu_busy_ticks)
    s0=$(proc_sample "${PID[$name]}")
    t0=$(date +%s%N)
    local rc=0
    taskset -c "$CLIENT_CPU" "${cmd[@]}" >"$out" 2>&1 || rc=$?
    t1=$(date +%s%N)
    s1=$(proc_sample "${PID[$name]}")
    c1=$(cpu_busy_ticks)
    check_alive "$name" "during $w rep $rep"
    case $w in *-warmup)
        [ "$rc" = 0 ] || die "${cmd[0]} failed warming up $name:$(printf '\n'; cat "$out")"
        return 0 ;;
    esac
    local parsed reqs rps p99 failure
    parsed=$(parse_client "$w" "$out") || parsed="0 0 - ${cmd[0]}-exit-status-$rc"
    read -r reqs rps p99 failure <<<"$parsed"
    if [ "$failure" != - ]; then
        log "  FAILED: $name $w rep $rep: $failure (the run is recorded, and left out of the figures)"
        cp "$out" "$RESULTS/failed-$name-$w-$rep.txt"
    fi
    local errs
    errs=$(awk '/Socket errors:/{sub(/^ *Socket errors: */, ""); gsub(/ /, ""); print; exit}' "$out")
    [ -z "$errs" ] || log "  note: $name $w rep $rep socket errors: $errs"
    # shellcheck disable=SC2086
    set -- $s0 $s1
    local ticks=$(($4 - $1)) delay=$(($5 - $2)) ns=$((t1 - t0))
    [ "$delay" -ge 0 ] || delay=0
    local line
    line=$(awk -v w="$w" -v s="$name" -v r="$rep" -v q="$seq" -v n="$reqs" -v rps="$rps" \
        -v t="$ticks" -v hz="$CLK_TCK" -v ns="$ns" -v d="$delay" -v cb=$((c1 - c0)) \
        -v p99="$p99" -v e="${errs:--}" -v f="$failure" 'BEGIN {
            cpu = t / hz; wall = ns / 1e9
            # tick-granular counters: clamp what rounding pushes out of range
            other = (cb - t) / hz / wall * 100; if (other < 0) other = 0; if (other > 100) other = 100
            printf "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.3f\t%.1f\t%.2f\t%.2f\t%s\t%s\t%s\n",
                w, s, r, q, n, rps, t, (n > 0 ? cpu / n * 1e6 : 0), cpu / wall * 100,
                d / ns * 100, other, p99, e, f }')
    echo "$line" >>"$RESULTS/runs.tsv"
    # shellcheck disable=SC2086
    set -- $line
    log "  $(printf '%-12s %-8s rep %s: %10.0f req/s %8.2f us CPU/req %5.1f%% busy, waited %4.1f%%, others on its CPU %4.1f%%%s' \
        "$w" "$name" "$rep" "$rps" "$8" "$9" "${10}" "${11}" "$([ "$p99" = - ] || echo ", p99 ${p99} ms")")"
}

# ------------------------------------------------------------- idle memory
# measure_idle NAME PROTO -> appends to mem.tsv: the server's RSS growth per
# idle connection with IDLE_N of them open
measure_idle() {
    local name=$1 proto=$2 port rss0 rss1 s
    port=$(server_port "$name")
    read -r _ _ rss0 <<<"$(proc_sample "${PID[$name]}")"
    local fifo="$WORK/idle.fifo"
    rm -f "$fifo"
    mkfifo "$fifo"
    taskset -c "$CLIENT_CPU" python3 "$ROOT/bench/idle.py" 127.0.0.1 "$port" "$IDLE_N" "$proto" \
        <"$fifo" >"$WORK/idle.out" 2>&1 &
    local ipid=$!
    exec 9>"$fifo"
    local i
    for i in $(seq 600); do
        grep -q '^ready' "$WORK/idle.out" && break
        kill -0 "$ipid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^ready' "$WORK/idle.out" || {
        exec 9>&-
        wait "$ipid" 2>/dev/null || true
        die "$name: could not hold $IDLE_N idle $proto connections: $(cat "$WORK/idle.out")"
    }
    # RSS settles once the server has handled every connection
    rss1=0
    for i in $(seq 50); do
        sleep 0.2
        read -r _ _ s <<<"$(proc_sample "${PID[$name]}")"
        [ "$s" = "$rss1" ] && break
        rss1=$s
    done
    echo >&9
    exec 9>&-
    wait "$ipid" 2>/dev/null || true
    check_alive "$name" "after $IDLE_N idle connections"
    printf '%s-idle\t%s\t%s\t%s\t%s\t%.2f\n' "$proto" "$name" "$IDLE_N" "$rss0" "$rss1" \
        "$(awk -v a="$rss0" -v b="$rss1" -v n="$IDLE_N" 'BEGIN{print (b - a) / n}')" >>"$RESULTS/mem.tsv"
    log "  $proto-idle $name: RSS $rss0 -> $rss1 KiB with $IDLE_N connections: $(awk -v a="$rss0" -v b="$rss1" -v n="$IDLE_N" 'BEGIN{printf "%.2f", (b - a) / n}') KiB each"
}
