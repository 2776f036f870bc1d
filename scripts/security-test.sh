#!/usr/bin/env bash
# scripts/security-test.sh LINE [pytest args…] — the security suite (tests/security, issue 11: every
# known way around the policy, each as an attack and its blocked outcome) on one Spark line, in that
# line's venv, with that line's extension jar:
#   3.5   .venv-spark35 (pyspark 3.5.8, Scala 2.12) + build/spark/lakegate-spark-3.5_2.12.jar
#   4.0   .venv-spark40 (pyspark 4.0.4, Scala 2.13) + build/spark/lakegate-spark-4.0_2.13.jar
# Sets the venv up first (scripts/spark-env.sh, idempotent; LAKEGATE_SKIP_ENV=1 skips it).
# A missing jar makes the tests skip (reported as SKIPPED, never as passed), or fails the run when
# LAKEGATE_SPARK_REQUIRE_JAR=1 (make test). Needs bin/lakegate (make build).
# Examples: scripts/security-test.sh 3.5 -k forged;  scripts/security-test.sh 4.0 test_paths_writes.py -x
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
line=${1:-}
[ $# -gt 0 ] && shift
case $line in
3.5) venv=.venv-spark35 scala=2.12 ;;
4.0) venv=.venv-spark40 scala=2.13 ;;
*) echo "usage: $0 3.5|4.0 [pytest args…]" >&2; exit 2 ;;
esac
if [ "${LAKEGATE_SKIP_ENV:-0}" != 1 ]; then
	scripts/spark-env.sh "$line" >/dev/null || { echo "security-test: scripts/spark-env.sh $line failed" >&2; exit 1; }
fi
BIN=${LAKEGATE_BIN:-$ROOT/bin/lakegate}
[ -x "$BIN" ] || { echo "security-test: $BIN is missing: run make build" >&2; exit 1; }
jar=${LAKEGATE_SPARK_JAR:-$ROOT/build/spark/lakegate-spark-${line}_$scala.jar}
if [ ! -s "$jar" ]; then
	if [ "${LAKEGATE_SPARK_REQUIRE_JAR:-0}" = 1 ]; then
		echo "security-test: $jar is missing (spark/build.sh ${line}_$scala builds it)" >&2
		exit 1
	fi
	echo "security-test: WARNING: $jar is missing: the security tests will be SKIPPED" >&2
fi
if [ -z "${JAVA_HOME:-}" ] && [ -d /usr/lib/jvm/java-17-openjdk-amd64 ]; then
	export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi
# Nothing from the caller's environment may decide who the tests run as or which planner they ask.
unset SPARK_HOME PYSPARK_SUBMIT_ARGS OKERA_PLANNER OKERA_TOKEN LAKEGATE_JWT_SIGNING_KEY LAKEGATE_CLUSTER_TOKEN
export LAKEGATE_SPARK_LINE=$line LAKEGATE_SPARK_JAR=$jar LAKEGATE_BIN=$BIN
export PYSPARK_PYTHON=$ROOT/$venv/bin/python PYSPARK_DRIVER_PYTHON=$ROOT/$venv/bin/python
export SPARK_LOCAL_IP=127.0.0.1 PYTHONDONTWRITEBYTECODE=1
cd tests/security
start=$SECONDS
set +e
"$ROOT/$venv/bin/python" -m pytest -p no:cacheprovider "$@"
rc=$?
set -e
echo "security-test: Spark $line: pytest exit $rc in $((SECONDS - start)) s"
exit $rc
