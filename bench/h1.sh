#!/usr/bin/env bash
# HTTP/1.1 only: bench/run.sh with the HTTP/1.1 workloads, ours (adapter-tokio)
# against hyper by default; BENCHMARKS.md is left alone (UPDATE_DOCS=0), the
# tables go to bench/results/tables.md. Every knob of bench/run.sh applies:
#
#   bench/h1.sh
#   SERVERS="tokio smol std hyper" DUR=10 RUNS=7 bench/h1.sh
set -euo pipefail
export SERVERS=${SERVERS:-"tokio hyper"}
export WORKLOADS=${WORKLOADS:-"h1-plain h1-pipelined h1-big"}
export UPDATE_DOCS=${UPDATE_DOCS:-0}
exec "$(dirname "$0")/run.sh"
