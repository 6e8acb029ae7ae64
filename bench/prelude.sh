# Sourced (not run) by bench/counts.sh and bench/blockers.sh: a scratch
# directory WORK and the server in SERVER_PID, both cleaned up on exit;
# `log`; and `need TOOL PACKAGE`, which installs a missing tool with apt.

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "$(basename "$0"): $*" >&2; }

need() { # TOOL PACKAGE
    command -v "$1" >/dev/null && return
    log "installing $2"
    apt-get install -y "$2" >/dev/null || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }
}
