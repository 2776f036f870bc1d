#!/usr/bin/env bash
# scripts/databricks-test.sh [pytest args…] — the Databricks kit suite (tests/databricks): the
# generated init script run unchanged in sandboxes, then real pyspark 3.5 and 4.0 started with the
# configuration it wrote, against real planners; plus the kit's Go tests with shellcheck required.
#
# Sets up what it needs first: shellcheck from the Debian packages (apt-get install shellcheck, as
# root or through sudo), the Spark venvs (scripts/spark-env.sh 3.5 4.0, idempotent;
# LAKEGATE_SKIP_ENV=1 skips that). Needs bin/lakegate (make build) and the three jars in
# build/spark (spark/build.sh all); `make test-databricks` builds both first.
# Examples: scripts/databricks-test.sh;  scripts/databricks-test.sh test_init_script.py -k restart
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if ! command -v shellcheck >/dev/null 2>&1; then
	echo "databricks-test: installing shellcheck (Debian package)"
	if [ "$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo=sudo; else
		echo "databricks-test: shellcheck is missing and this user cannot install it: apt-get install shellcheck" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get install -y -q shellcheck >/dev/null 2>&1 ||
		{ $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q shellcheck >/dev/null; } ||
		{ echo "databricks-test: apt-get install shellcheck failed" >&2; exit 1; }
fi
echo "databricks-test: $(shellcheck --version | sed -n 's/^version: /shellcheck /p')"

if [ "${LAKEGATE_SKIP_ENV:-0}" != 1 ]; then
	scripts/spark-env.sh 3.5 4.0 >/dev/null || { echo "databricks-test: scripts/spark-env.sh 3.5 4.0 failed" >&2; exit 1; }
fi
BIN=${LAKEGATE_BIN:-$ROOT/bin/lakegate}
[ -x "$BIN" ] || { echo "databricks-test: $BIN is missing: run make build" >&2; exit 1; }
for v in 3.5_2.12 3.5_2.13 4.0_2.13; do
	[ -s "build/spark/lakegate-spark-$v.jar" ] ||
		{ echo "databricks-test: build/spark/lakegate-spark-$v.jar is missing (spark/build.sh $v)" >&2; exit 1; }
done
if [ -z "${JAVA_HOME:-}" ] && [ -d /usr/lib/jvm/java-17-openjdk-amd64 ]; then
	export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi

start=$SECONDS
LAKEGATE_REQUIRE_SHELLCHECK=1 "${GO:-go}" test -count=1 ./internal/databricks
unset SPARK_HOME PYSPARK_SUBMIT_ARGS
export LAKEGATE_BIN=$BIN PYTHONDONTWRITEBYTECODE=1
cd tests/databricks
set +e
"$ROOT/.venv-spark35/bin/python" -m pytest -p no:cacheprovider "$@"
rc=$?
set -e
echo "databricks-test: pytest exit $rc in $((SECONDS - start)) s"
exit $rc
