"""A local stand-in for a Databricks driver: starts pyspark with exactly the Spark configuration the
lakegate init script wrote into a sandbox (ROOT/databricks/driver/conf/*.conf) and the jars it
installed (ROOT/databricks/jars/* on the driver's classpath, as /databricks/jars is on Databricks),
plus only what a local Spark needs to run (local master, no UI, warehouse and Derby under ROOT).
It refuses to start if the environment holds an OKERA_* or LAKEGATE_* variable, so whatever
lakegate does comes from the files the script wrote.

Queries run as a user the way Databricks runs a notebook command: the Spark local property `user`.

  # one context, a few statements (docs/databricks.md, local sandbox)
  python sandbox_spark.py --root /tmp/lakegate-sandbox --load-sample-as admin \
      --as alice "SELECT * FROM okera_sample.whoami" "SELECT * FROM okera_sample.users LIMIT 3"

  # tests: several contexts, one after the other in one driver JVM (a JVM start costs far more
  # than a context); prints `RESULT <context> <json>` per step
  python sandbox_spark.py --spec spec.json

SPEC: {"contexts": [{"name": "…", "root": "…", "steps": [{"user": "alice", "sql": "…"} |
{"user": "admin", "load_sample": true}, …]}, …]}. A step's result is {"rows": [[…], …]} or
{"error": "…"}; each context also prints {"conf": {spark.lakegate.* and spark.sql.extensions as
the SparkContext holds them}, "jars": [classpath jars under ROOT]}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "spark"))
import dbconf  # noqa: E402
import harness as h  # noqa: E402

SAMPLE_PARQUET = h.USERS_PARQUET


def local_conf(root: Path) -> dict[str, str]:
    """What a local Spark needs besides the script's configuration (nothing lakegate reads): the
    Spark suite's local settings (tests/spark/harness.py: no UI, driver on 127.0.0.1, Derby and the
    warehouse under ROOT/tmp), a Hive catalog as on Databricks, and ROOT/databricks/jars/* on the
    driver's classpath, as /databricks/jars is on a Databricks driver."""
    tmp = root / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    conf = h.spark_conf(tmp, None, lakegate=False, hive=False, delta=False)
    conf.update({
        "spark.master": "local[1]",
        "spark.app.name": "lakegate-databricks-sandbox",
        "spark.sql.catalogImplementation": "hive",
        "spark.driver.extraClassPath": str(root / "databricks" / "jars" / "*"),
    })
    return conf


def context_conf(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(the script's configuration, the full configuration to start Spark with)."""
    written = dbconf.read_dir(root / "databricks" / "driver" / "conf")
    if not written:
        raise SystemExit(f"no driver configuration in {root}/databricks/driver/conf: run the init script first")
    local = local_conf(root)
    clash = sorted(set(written) & set(local))
    if clash:
        raise SystemExit(f"the init script wrote settings the sandbox also sets: {clash}")
    return written, {**local, **written}


def load_sample(spark, root: Path) -> None:
    """okera_sample.users from data/okera_sample/users.parquet (copied under ROOT)."""
    d = root / "lake" / "okera_sample" / "users"
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE_PARQUET, d / "users.parquet")
    spark.sql("CREATE DATABASE IF NOT EXISTS okera_sample")
    spark.sql(f"CREATE TABLE IF NOT EXISTS okera_sample.users USING parquet LOCATION '{d}'")


def run(contexts: list[dict], emit) -> None:
    leaked = sorted(k for k in os.environ if k.startswith(("OKERA_", "LAKEGATE_")))
    if leaked:
        raise SystemExit(f"refusing to start: the environment sets {leaked}; lakegate must be configured "
                         "only by the files the init script wrote")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark, previous = None, set()
    try:
        for ctx in contexts:
            root = Path(ctx["root"])
            written, conf = context_conf(root)
            if spark is not None:
                # The next context starts from its own SparkConf in the same JVM. spark-submit made the
                # first context's settings JVM system properties, which a new SparkConf reads: clear
                # them so nothing of one context leaks into the next.
                spark.stop()
                from pyspark import SparkContext

                for k in previous:
                    SparkContext._jvm.java.lang.System.clearProperty(k)
            previous = set(conf)
            spark = h.start_spark(conf)
            sc = spark.sparkContext
            held = {k: v for k, v in sc.getConf().getAll()
                    if k.startswith("spark.lakegate.") or k == "spark.sql.extensions"}
            cp = sc._jvm.java.lang.System.getProperty("java.class.path").split(os.pathsep)
            emit(ctx["name"], {"conf": held, "jars": [p for p in cp if p.startswith(str(root.parent))]})
            for step in ctx["steps"]:
                sc.setLocalProperty("user", step.get("user"))
                try:
                    if step.get("load_sample"):
                        load_sample(spark, root)
                        out = {"rows": []}
                    else:
                        out = {"rows": [list(r) for r in spark.sql(step["sql"]).collect()]}
                except Exception as e:  # noqa: BLE001 — the step's result is the error
                    out = {"error": str(e)[:4000]}
                emit(ctx["name"], out)
    finally:
        if spark is not None:
            h.stop_spark(spark)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", help="JSON spec of contexts and steps (tests)")
    ap.add_argument("--root", help="the sandbox root the init script ran in (LAKEGATE_DB_ROOT)")
    ap.add_argument("--load-sample-as", metavar="USER", help="first create okera_sample.users as USER")
    ap.add_argument("--as", dest="user", default="admin", help="the notebook user (Spark local property `user`)")
    ap.add_argument("sql", nargs="*", help="statements to run")
    a = ap.parse_args()
    if a.spec:
        spec = json.loads(Path(a.spec).read_text())

        def emit(name, out):
            print(f"RESULT {name} {json.dumps(out, default=str)}", flush=True)

        run(spec["contexts"], emit)
        return 0
    if not a.root:
        ap.error("give --root (or --spec)")
    steps = ([{"user": a.load_sample_as, "load_sample": True}] if a.load_sample_as else []) + \
        [{"user": a.user, "sql": s} for s in a.sql]
    failed = False

    def show(_name, out):
        nonlocal failed
        if "conf" in out:
            for k, v in sorted(out["conf"].items()):
                print(f"  {k} = {v}")
        elif "error" in out:
            failed = True
            print("ERROR:", out["error"].splitlines()[0])
        else:
            for r in out["rows"]:
                print(" | ".join(map(str, r)))

    run([{"name": "sandbox", "root": a.root, "steps": steps}], show)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
