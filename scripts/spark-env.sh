#!/usr/bin/env bash
# scripts/spark-env.sh [all|3.5|4.0]...  — the Python/JVM environment of the Spark end-to-end tests.
#
# For each Spark line: a Python 3.11 venv with pyspark, delta-spark and pytest (.venv-spark35,
# .venv-spark40), and Delta Lake's JVM jars fetched with Maven into .cache/jars/<line>/ (passed to
# Spark with spark.jars; Spark's Ivy --packages is not used). Everything stays in the repo's ignored
# folders: pip's cache in .cache/pip, Maven's repository in .cache/m2. Idempotent: a line whose
# venv and jars are already complete is only checked. Exit status non-zero, with the reason, on failure.
#
# Versions (Delta's compatibility table: Delta 3.3.x ↔ Spark 3.5.x, Delta 4.0.x ↔ Spark 4.0.x):
#   3.5: pyspark 3.5.8 (Scala 2.12), delta-spark 3.3.2
#   4.0: pyspark 4.0.4 (Scala 2.13), delta-spark 4.0.1
# Environment: LAKEGATE_PYTHON (default python3.11), MVN (default mvn), PYTEST_VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${LAKEGATE_PYTHON:-python3.11}
MVN=${MVN:-mvn}
PYTEST_VERSION=${PYTEST_VERSION:-9.2.0}
export PIP_CACHE_DIR=$ROOT/.cache/pip
M2=$ROOT/.cache/m2

die() { echo "spark-env: error: $*" >&2; exit 1; }
say() { echo "spark-env: $*"; }

line_vars() { # sets VENV PYSPARK DELTA SCALA JARDIR for a Spark line
	case $1 in
	3.5) VENV=.venv-spark35 PYSPARK=3.5.8 DELTA=3.3.2 SCALA=2.12 JARDIR=.cache/jars/spark35 ;;
	4.0) VENV=.venv-spark40 PYSPARK=4.0.4 DELTA=4.0.1 SCALA=2.13 JARDIR=.cache/jars/spark40 ;;
	*) die "unknown Spark line '$1' (expected 3.5 or 4.0)" ;;
	esac
}

check_tools() {
	command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set LAKEGATE_PYTHON to a Python 3.11 interpreter)"
	"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' ||
		die "$PYTHON is not Python 3.11 ($("$PYTHON" -V 2>&1 || echo does not run)); set LAKEGATE_PYTHON"
	command -v "$MVN" >/dev/null 2>&1 || die "Maven ($MVN) not found: apt-get install maven"
	if [ -z "${JAVA_HOME:-}" ] && [ -d /usr/lib/jvm/java-17-openjdk-amd64 ]; then
		export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
	fi
	command -v java >/dev/null 2>&1 || [ -x "${JAVA_HOME:-/nonexistent}/bin/java" ] || die "no Java found (Spark needs Java 17)"
}

setup_venv() { # $1 = line
	local stamp want
	want="pyspark==$PYSPARK delta-spark==$DELTA pytest==$PYTEST_VERSION"
	stamp=$VENV/.lakegate-spark-env
	if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
		"$VENV/bin/python" -c "import pyspark, delta, pytest; assert pyspark.__version__ == '$PYSPARK'" 2>/dev/null; then
		say "$1: $VENV up to date ($want)"
		return
	fi
	if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
		say "$1: creating $VENV with $("$PYTHON" -V 2>&1)"
		rm -rf "$VENV"
		"$PYTHON" -m venv "$VENV" || die "could not create $VENV"
	fi
	say "$1: pip install $want (cache $PIP_CACHE_DIR)"
	# shellcheck disable=SC2086
	"$VENV/bin/python" -m pip install --quiet $want || die "pip install $want into $VENV failed"
	"$VENV/bin/python" -c "import pyspark, delta, pytest; assert pyspark.__version__ == '$PYSPARK', pyspark.__version__" ||
		die "$VENV: pyspark $PYSPARK / delta-spark / pytest do not import"
	echo "$want" >"$stamp"
}

fetch_jar() { # group:artifact:version → $JARDIR/artifact-version.jar
	local coord=$1 a v
	a=$(cut -d: -f2 <<<"$coord") v=$(cut -d: -f3 <<<"$coord")
	if [ -s "$JARDIR/$a-$v.jar" ]; then return; fi
	say "  mvn dependency:copy $coord → $JARDIR"
	"$MVN" -B -q -Dmaven.repo.local="$M2" dependency:copy -Dartifact="$coord" -DoutputDirectory="$JARDIR" \
		>"$ROOT/.cache/mvn-fetch.log" 2>&1 || { cat "$ROOT/.cache/mvn-fetch.log" >&2; die "Maven could not fetch $coord"; }
	[ -s "$JARDIR/$a-$v.jar" ] || die "Maven reported success but $JARDIR/$a-$v.jar is missing"
}

setup_jars() { # $1 = line
	mkdir -p "$JARDIR"
	fetch_jar "io.delta:delta-spark_$SCALA:$DELTA"
	fetch_jar "io.delta:delta-storage:$DELTA"
	say "$1: Delta jars: $(cd "$JARDIR" && ls -- *.jar | tr '\n' ' ')"
}

report() { # what the line's pyspark ships
	local sp jars scala hadoop
	sp=$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
	jars=$sp/jars
	scala=$(cd "$jars" && ls scala-library-*.jar | sed 's/scala-library-\(.*\)\.jar/\1/')
	hadoop=$(cd "$jars" && ls hadoop-client-api-*.jar 2>/dev/null | sed 's/hadoop-client-api-\(.*\)\.jar/\1/')
	case $scala in "$SCALA".*) ;; *) die "$1: pyspark ships Scala $scala, expected $SCALA" ;; esac
	say "$1: $VENV: $("$VENV/bin/python" -V 2>&1), pyspark $PYSPARK (Scala $scala, Hadoop ${hadoop:-?}), delta-spark $DELTA, pytest $PYTEST_VERSION"
	say "$1: extension jar build/spark/lakegate-spark-$1_$SCALA.jar: $([ -s "build/spark/lakegate-spark-$1_$SCALA.jar" ] && echo present || echo 'missing (spark/build.sh builds it)')"
}

lines=("$@")
if [ ${#lines[@]} -eq 0 ] || [ "${lines[0]}" = all ]; then lines=(3.5 4.0); fi
check_tools
mkdir -p .cache/pip .cache/m2 .cache/jars
start=$SECONDS
for l in "${lines[@]}"; do
	line_vars "$l"
	setup_venv "$l"
	setup_jars "$l"
	report "$l"
done
say "ready in $((SECONDS - start)) s (JAVA_HOME=${JAVA_HOME:-unset})"
