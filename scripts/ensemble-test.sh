#!/usr/bin/env bash
# scripts/ensemble-test.sh [pytest args] — the ensemble's client tests with boto3 and the AWS CLI
# (tests/ensemble/*.py) against the real binary (LAKEGATE_BIN, default bin/lakegate), a real planner
# and moto's S3 server as the upstream. Creates .venv-ensemble first (scripts/ensemble-env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensemble-env.sh
export LAKEGATE_BIN=${LAKEGATE_BIN:-$PWD/bin/lakegate}
[ -x "$LAKEGATE_BIN" ] || { echo "ensemble-test: $LAKEGATE_BIN is missing; run make build" >&2; exit 1; }
exec .venv-ensemble/bin/python -m pytest -c tests/ensemble/pytest.ini tests/ensemble "$@"
