#!/usr/bin/env bash
# scripts/ensemble-env.sh — the Python venv of the ensemble's client tests (.venv-ensemble):
# boto3, the AWS CLI (v1, from PyPI), moto's S3 server (the upstream stand-in) and pytest, pinned.
# pip's cache stays in .cache/pip. Idempotent: an up-to-date venv is only checked.
# Environment: LAKEGATE_PYTHON (default python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${LAKEGATE_PYTHON:-python3.11}
VENV=.venv-ensemble
WANT="boto3==1.44.8 botocore==1.44.8 awscli==1.46.2 moto[server]==5.2.5 pytest==9.2.0"
export PIP_CACHE_DIR=$PWD/.cache/pip
say() { echo "ensemble-env: $*"; }
command -v "$PYTHON" >/dev/null 2>&1 || { echo "ensemble-env: error: $PYTHON not found (set LAKEGATE_PYTHON)" >&2; exit 1; }
stamp=$VENV/.lakegate-ensemble-env
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$WANT" ] &&
	"$VENV/bin/python" -c 'import boto3, moto, pytest, awscli' 2>/dev/null && [ -x "$VENV/bin/aws" ]; then
	say "$VENV up to date ($WANT)"
	exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
	say "creating $VENV with $("$PYTHON" -V 2>&1)"
	"$PYTHON" -m venv "$VENV"
fi
say "pip install $WANT (cache $PIP_CACHE_DIR)"
# shellcheck disable=SC2086
"$VENV/bin/pip" install --quiet --disable-pip-version-check $WANT
"$VENV/bin/python" -c 'import boto3, moto, pytest, awscli'
echo "$WANT" >"$stamp"
say "ready: $VENV"
