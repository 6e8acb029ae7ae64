#!/usr/bin/env bash
# HTTP/2 only: bench/run.sh with the HTTP/2 workloads, ours (adapter-tokio)
# against hyper by default; BENCHMARKS.md is left alone (UPDATE_DOCS=0), the
# tables go to bench/results/tables.md. Every knob of bench/run.sh applies:
#
#   bench/h2.sh
#   SERVERS="tokio hyper nghttpd" RUNS=3 bench/h2.sh
set -euo pipefail
export SERVERS=${SERVERS:-"tokio hyper"}
export WORKLOADS=${WORKLOADS:-"h2-c16m32 h2-c1m100 h2-big"}
export UPDATE_DOCS=${UPDATE_DOCS:-0}
exec "$(dirname "$0")/run.sh"
