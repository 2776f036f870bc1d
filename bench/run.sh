#!/usr/bin/env bash
# Runs every lakegate benchmark and prints the figures (see bench/RESULTS.md).
# Usage: bench/run.sh   (or: make bench)
# Takes about 5 minutes on 2 cores, plus the first build of bench/opa (OPA).
# Knobs: LAKEGATE_BENCH_SESSIONS (default 1000000), LOADGEN_FLAGS, OPA_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

section() { printf '\n==== %s\n$ %s\n\n' "$1" "$2"; }

echo "lakegate benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/{print $2}') GiB; $(go version | cut -d' ' -f3-)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"

section "build" "make build"
make build

section "1. policy engine in process (go test -bench)" \
  "go test ./internal/policy -run '^\$' -bench . -benchtime 1s"
go test ./internal/policy -run '^$' -bench . -benchtime 1s

section "2. lakegate vs OPA, same policy, same requests, same run" \
  "(cd bench/opa && go run . ${OPA_FLAGS:-})"
(cd bench/opa && go run . ${OPA_FLAGS:-})

section "3. real binary over loopback HTTP, cold start" \
  "go run ./bench/loadgen -bin bin/lakegate ${LOADGEN_FLAGS:-}"
go run ./bench/loadgen -bin bin/lakegate ${LOADGEN_FLAGS:-}

section "4. planner handler without HTTP, and through its HTTP handler in process" \
  "go test ./internal/planner -run '^\$' -bench 'PlannerAuthorize|PlannerHTTP' -benchtime 2s"
go test ./internal/planner -run '^$' -bench 'PlannerAuthorize|PlannerHTTP' -benchtime 2s

section "5. session table memory" \
  "LAKEGATE_BENCH_SESSIONS=${LAKEGATE_BENCH_SESSIONS:-1000000} go test ./internal/planner -run '^\$' -bench SessionMemory -benchtime 1x -timeout 30m"
LAKEGATE_BENCH_SESSIONS="${LAKEGATE_BENCH_SESSIONS:-1000000}" \
  go test ./internal/planner -run '^$' -bench SessionMemory -benchtime 1x -timeout 30m

echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
