#!/usr/bin/env bash
# scripts/ensemble-s3a-test.sh [3.5|4.0|all] [pytest args] — Spark's s3a through the ensemble with
# the extension's OKERA_ENABLE_OKERA_FS (tests/ensemble/s3a), on one Spark line or both (default):
#   3.5: pyspark 3.5 (.venv-spark35), hadoop-aws 3.3.4 + aws-java-sdk-bundle 1.12.262 (SDK v1)
#   4.0: pyspark 4.0 (.venv-spark40), hadoop-aws 3.4.1 + bundle 2.24.6 (SDK v2)
# (the Hadoop of each pyspark), fetched with Maven into .cache/jars/ensemble-s3a-<line>; the
# extension jar of that line (build/spark, spark/build.sh); moto's S3 server from .venv-ensemble
# (scripts/ensemble-env.sh); the real binary (LAKEGATE_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
line="${1:-all}"
case "$line" in
3.5 | 4.0 | all) shift || true ;;
*) line=all ;;
esac
if [ "$line" = all ]; then
	"$0" 3.5 "$@"
	exec "$0" 4.0 "$@"
fi
if [ "$line" = 3.5 ]; then
	artifacts=(org.apache.hadoop:hadoop-aws:3.3.4 com.amazonaws:aws-java-sdk-bundle:1.12.262)
	variant=3.5_2.12
else
	artifacts=(org.apache.hadoop:hadoop-aws:3.4.1 software.amazon.awssdk:bundle:2.24.6)
	variant=4.0_2.13
fi
JARS=.cache/jars/ensemble-s3a-$line
scripts/ensemble-env.sh
scripts/spark-env.sh "$line"
mkdir -p "$JARS"
for a in "${artifacts[@]}"; do
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
export LAKEGATE_S3A_JARS=$ROOT/$JARS
export LAKEGATE_SPARK_JAR=${LAKEGATE_SPARK_JAR_OVERRIDE:-$ROOT/build/spark/lakegate-spark-$variant.jar}
[ -f "$LAKEGATE_SPARK_JAR" ] || { echo "ensemble-s3a-test: $LAKEGATE_SPARK_JAR is missing; run spark/build.sh $variant" >&2; exit 1; }
echo "ensemble-s3a-test: Spark $line, $(basename "$LAKEGATE_SPARK_JAR"), ${artifacts[*]}"
exec ".venv-spark${line/./}/bin/python" -m pytest -c tests/ensemble/s3a/pytest.ini tests/ensemble/s3a "$@"
