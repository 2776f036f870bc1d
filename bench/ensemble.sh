#!/usr/bin/env bash
# bench/ensemble.sh — the ensemble S3 proxy's benchmark (see bench/RESULTS.md, section "Ensemble"):
# 64 MiB GET throughput through the proxy vs direct, 4 KiB GET added latency, and the proxy's memory
# with 100 concurrent 1 GiB streams, in one run on loopback. Builds bin/lakegate first.
# Knobs: ENSEMBLE_BENCH_FLAGS (e.g. "-streams 20 -stream-size 268435456" for a quick run).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
make build
echo "\$ go run ./bench/ensemble -bin bin/lakegate ${ENSEMBLE_BENCH_FLAGS:-}"
# shellcheck disable=SC2086
go run ./bench/ensemble -bin bin/lakegate ${ENSEMBLE_BENCH_FLAGS:-}
