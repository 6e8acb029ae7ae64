# Sourced (not run) by bench/counts.sh and bench/blockers.sh: a scratch
# directory WORK and the server in SERVER_PID, both cleaned up on exit;
# `log`, `wait_port`, `stop_server`; and `need TOOL PACKAGE`, which installs a
# missing tool with apt.

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "$(basename "$0"): $*" >&2; }

# Waits (up to 30 s) until something listens on 127.0.0.1:$PORT.
wait_port() {
    for _ in $(seq 1 300); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT)).close()" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "server did not listen on $PORT"
    return 1
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

need() { # TOOL PACKAGE
    command -v "$1" >/dev/null && return
    log "installing $2"
    apt-get install -y "$2" >/dev/null || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }
}
