#!/usr/bin/env bash
# scripts/spark-smoke-213.sh — smoke test of build/spark/lakegate-spark-3.5_2.13.jar. PyPI's pyspark
# 3.5 ships Scala 2.12 only, so this runs a small Java driver (tests/spark/smoke213/Smoke.java) on
# Spark 3.5.8's Scala 2.13 jars from Maven (spark-sql_2.13, already in .cache/m2 once the jar was
# built) against a real planner: whoami, a masked and filtered read, a builtin, a denial.
# A missing jar: "SKIPPED" and exit 0, or exit 1 when LAKEGATE_SPARK_REQUIRE_JAR=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${LAKEGATE_BIN:-$ROOT/bin/lakegate}
JAR=${LAKEGATE_SPARK_JAR:-$ROOT/build/spark/lakegate-spark-3.5_2.13.jar}
SPARK_VERSION=3.5.8
MVN=${MVN:-mvn}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
JAVA=$JAVA_HOME/bin/java
die() { echo "spark-smoke-213: error: $*" >&2; exit 1; }
if [ ! -s "$JAR" ]; then
	[ "${LAKEGATE_SPARK_REQUIRE_JAR:-0}" = 1 ] && die "$JAR is missing (spark/build.sh 3.5_2.13 builds it)"
	echo "spark-smoke-213: SKIPPED: $JAR is missing (spark/build.sh 3.5_2.13 builds it)"
	exit 0
fi
[ -x "$BIN" ] || die "$BIN is missing: run make build"
start=$SECONDS
dir=$ROOT/.cache/spark-smoke-213
mkdir -p "$dir/classes"
if [ ! -s "$dir/classpath.txt" ]; then
	cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.lakegate</groupId><artifactId>spark-smoke-213</artifactId><version>0</version>
  <dependencies>
    <dependency><groupId>org.apache.spark</groupId><artifactId>spark-sql_2.13</artifactId><version>$SPARK_VERSION</version></dependency>
  </dependencies>
</project>
POM
	"$MVN" -B -q -f "$dir/pom.xml" -Dmaven.repo.local="$ROOT/.cache/m2" dependency:build-classpath \
		-Dmdep.outputFile="$dir/classpath.txt" >"$dir/mvn.log" 2>&1 || { cat "$dir/mvn.log" >&2; die "Maven could not resolve spark-sql_2.13:$SPARK_VERSION"; }
fi
CP=$(cat "$dir/classpath.txt")
src=$ROOT/tests/spark/smoke213/Smoke.java
if [ ! -s "$dir/classes/Smoke.class" ] || [ "$src" -nt "$dir/classes/Smoke.class" ]; then
	"$JAVA_HOME/bin/javac" -d "$dir/classes" -cp "$CP" "$src" || die "javac failed"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lakegate-smoke213.XXXXXX")
pid=
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" keygen --out "$work/keys" >/dev/null
"$BIN" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --jwt-public-key "$work/keys/jwt-public.pem" >"$work/planner.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	"$BIN" whoami --planner "127.0.0.1:$port" --token "$("$BIN" token --key "$work/keys/jwt-private.pem" --user probe)" >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/planner.log" >&2; die "the planner did not start"; }
	sleep 0.1
done
"$BIN" sql --planner "127.0.0.1:$port" --token "$("$BIN" token --key "$work/keys/jwt-private.pem" --user admin --groups admin)" \
	"CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
	 GRANT SELECT ON TABLE okera_sample.users TRANSFORM pii.credit_card WITH mask_ccn() WHERE gender = 'F' TO ROLE analyst" >/dev/null
mkdir -p "$work/users" && cp data/okera_sample/users.parquet "$work/users/"
opens="--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false"
# shellcheck disable=SC2086
if SPARK_LOCAL_IP=127.0.0.1 "$JAVA" $opens -Xmx1g -cp "$dir/classes:$JAR:$CP" Smoke "127.0.0.1:$port" \
	"$work/keys/jwt-private.pem" "$work/users" "$work" >"$work/smoke.log" 2>&1; then
	grep '^SMOKE' "$work/smoke.log"
	echo "spark-smoke-213: passed in $((SECONDS - start)) s"
else
	grep '^SMOKE' "$work/smoke.log" || true
	tail -40 "$work/smoke.log" >&2
	die "the Scala 2.13 smoke test failed"
fi
