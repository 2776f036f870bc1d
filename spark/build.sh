#!/usr/bin/env bash
# Build lakegate-spark for one Spark line or all, and copy the jars to build/spark/:
#   spark/build.sh [all|3.5_2.12|3.5_2.13|4.0_2.13] [extra maven args, e.g. -DskipTests]
# Maven's repository is kept in the repo's ignored .cache/m2 so CI can cache it.
# Unit tests (ScalaTest) run unless -DskipTests; for 3.5 only on the Scala 2.12 build (3.5_2.13
# skips them: the same tests again only cost time on a 2-core machine; scripts/spark-smoke-213.sh
# runs that jar in Spark).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
target="${1:-all}"
shift || true
out="$root/build/spark"
mkdir -p "$out" "$root/.cache/m2"
mvn_args=(-B -q -Dmaven.repo.local="$root/.cache/m2" -Dstyle.color=never "$@")

build() { # line scala profiles... ; extra args after --
  local line="$1" scala="$2"; shift 2
  local profiles=() extra=()
  while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
    profiles+=("$1"); shift
  done
  local name="lakegate-spark-${line}_${scala}.jar"
  echo "spark/build.sh: building $name" >&2
  local start=$SECONDS
  # Each line builds in its own output directory so they never mix classes.
  (cd "$here" && mvn "${mvn_args[@]}" ${profiles[@]+"${profiles[@]}"} ${extra[@]+"${extra[@]}"} \
      -DbuildDirectory="target/$line-$scala" package)
  cp "$here/target/$line-$scala/lakegate-spark-"*.jar "$out/$name"
  echo "spark/build.sh: $out/$name ($((SECONDS - start)) s)" >&2
}

case "$target" in
  3.5_2.12) build 3.5 2.12 -Pspark-3.5 ;;
  3.5_2.13) build 3.5 2.13 -Pspark-3.5 -Pscala-2.13 -- -DskipTests -Dmaven.test.skip=true ;;
  4.0_2.13) build 4.0 2.13 -Pspark-4.0 ;;
  all)
    build 3.5 2.12 -Pspark-3.5
    build 3.5 2.13 -Pspark-3.5 -Pscala-2.13 -- -DskipTests -Dmaven.test.skip=true
    build 4.0 2.13 -Pspark-4.0
    ;;
  *) echo "usage: spark/build.sh [all|3.5_2.12|3.5_2.13|4.0_2.13] [maven args]" >&2; exit 2 ;;
esac
