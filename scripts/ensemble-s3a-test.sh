#!/usr/bin/env bash
# scripts/ensemble-s3a-test.sh [pytest args] — Spark's s3a through the ensemble (tests/ensemble/s3a):
# pyspark 3.5 (.venv-spark35, made by scripts/spark-env.sh 3.5), hadoop-aws 3.3.4 (the Hadoop of
# pyspark 3.5) and its AWS SDK bundle fetched with Maven into .cache/jars/ensemble-s3a, moto's S3
# server from .venv-ensemble (scripts/ensemble-env.sh), and the real binary (LAKEGATE_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JARS=.cache/jars/ensemble-s3a
scripts/ensemble-env.sh
scripts/spark-env.sh 3.5
mkdir -p "$JARS"
for a in org.apache.hadoop:hadoop-aws:3.3.4 com.amazonaws:aws-java-sdk-bundle:1.12.262; do
	IFS=: read -r _ art ver <<<"$a"
	if [ ! -s "$JARS/$art-$ver.jar" ]; then
		echo "ensemble-s3a-test: fetching $a"
		${MVN:-mvn} -B -q -Dmaven.repo.local="$ROOT/.cache/m2" dependency:copy -Dartifact="$a" -DoutputDirectory="$ROOT/$JARS"
	fi
done
if [ -z "${JAVA_HOME:-}" ] && [ -d /usr/lib/jvm/java-17-openjdk-amd64 ]; then
	export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi
export LAKEGATE_BIN=${LAKEGATE_BIN:-$ROOT/bin/lakegate}
[ -x "$LAKEGATE_BIN" ] || { echo "ensemble-s3a-test: $LAKEGATE_BIN is missing; run make build" >&2; exit 1; }
exec .venv-spark35/bin/python -m pytest -c tests/ensemble/s3a/pytest.ini tests/ensemble/s3a "$@"
