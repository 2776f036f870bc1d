#!/usr/bin/env bash
# scripts/security-test.sh LINE [pytest args…] — the security suite (tests/security, issue 11: every
# known way around the policy, each as an attack and its blocked outcome) on one Spark line, with
# that line's venv and extension jar: scripts/spark-test.sh with LAKEGATE_SUITE=security.
# Examples: scripts/security-test.sh 3.5 -k forged;  scripts/security-test.sh 4.0 test_paths_writes.py -x
LAKEGATE_SUITE=security exec "$(dirname "$0")/spark-test.sh" "$@"
