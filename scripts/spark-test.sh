#!/usr/bin/env bash
# scripts/spark-test.sh LINE [pytest args…] — the Spark end-to-end suite (tests/spark) on one Spark
# line, in that line's venv, with that line's extension jar:
#   3.5   .venv-spark35 (pyspark 3.5.8, Scala 2.12) + build/spark/lakegate-spark-3.5_2.12.jar
#   4.0   .venv-spark40 (pyspark 4.0.4, Scala 2.13) + build/spark/lakegate-spark-4.0_2.13.jar
# Sets the venv up first (scripts/spark-env.sh, idempotent; LAKEGATE_SKIP_ENV=1 skips it).
# A missing jar makes the Spark tests skip (reported as SKIPPED, never as passed), or fail the run
# when LAKEGATE_SPARK_REQUIRE_JAR=1 (make test). Needs bin/lakegate (make build).
# Examples: scripts/spark-test.sh 3.5 -k whoami;  scripts/spark-test.sh 4.0 test_reads.py -x
# LAKEGATE_SUITE=security runs tests/security instead (scripts/security-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${LAKEGATE_SUITE:-spark}
case $suite in spark | security) ;; *) echo "LAKEGATE_SUITE must be spark or security" >&2; exit 2 ;; esac
name=$suite-test
ROOT=$PWD
line=${1:-}
[ $# -gt 0 ] && shift
case $line in
3.5) venv=.venv-spark35 scala=2.12 ;;
4.0) venv=.venv-spark40 scala=2.13 ;;
*) echo "usage: $0 3.5|4.0 [pytest args…]" >&2; exit 2 ;;
esac
if [ "${LAKEGATE_SKIP_ENV:-0}" != 1 ]; then
	scripts/spark-env.sh "$line" >/dev/null || { echo "$name: scripts/spark-env.sh $line failed" >&2; exit 1; }
fi
BIN=${LAKEGATE_BIN:-$ROOT/bin/lakegate}
[ -x "$BIN" ] || { echo "$name: $BIN is missing: run make build" >&2; exit 1; }
jar=${LAKEGATE_SPARK_JAR:-$ROOT/build/spark/lakegate-spark-${line}_$scala.jar}
if [ ! -s "$jar" ]; then
	if [ "${LAKEGATE_SPARK_REQUIRE_JAR:-0}" = 1 ]; then
		echo "$name: $jar is missing (spark/build.sh ${line}_$scala builds it)" >&2
		exit 1
	fi
	echo "$name: WARNING: $jar is missing: the $suite tests will be SKIPPED" >&2
fi
if [ -z "${JAVA_HOME:-}" ] && [ -d /usr/lib/jvm/java-17-openjdk-amd64 ]; then
	export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi
# Nothing from the caller's environment may decide who the tests run as or which planner they ask.
unset SPARK_HOME PYSPARK_SUBMIT_ARGS OKERA_PLANNER OKERA_TOKEN LAKEGATE_JWT_SIGNING_KEY LAKEGATE_CLUSTER_TOKEN
export LAKEGATE_SPARK_LINE=$line LAKEGATE_SPARK_JAR=$jar LAKEGATE_BIN=$BIN
export PYSPARK_PYTHON=$ROOT/$venv/bin/python PYSPARK_DRIVER_PYTHON=$ROOT/$venv/bin/python
export SPARK_LOCAL_IP=127.0.0.1 PYTHONDONTWRITEBYTECODE=1
cd "tests/$suite"
start=$SECONDS
set +e
"$ROOT/$venv/bin/python" -m pytest -p no:cacheprovider "$@"
rc=$?
set -e
echo "$name: Spark $line: pytest exit $rc in $((SECONDS - start)) s"
exit $rc
