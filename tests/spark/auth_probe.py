"""A pyspark driver run as a subprocess by test_auth_modes.py: the authentication modes need
their own static Spark confs and environment (the extension reads them from SparkConf and the
environment only), hence their own driver JVM.

Usage: python auth_probe.py SPEC.json. SPEC: {"contexts": [{"name": "…", "conf": {...},
"steps": [{"user": "alice", "groups": "analysts", "sql": "SELECT …"}, …]}, …]}. Each context is
a SparkContext of its own, one after the other in the same driver JVM (the extension keeps its
settings per SparkSession, read from that context's SparkConf; a JVM start costs far more than a
context); the environment is the caller's and so the same for all of them. Prints one line per
step: `PROBE <name> {"rows": [[…], …]}` or `PROBE <name> {"error": "message"}`; exit status 0
unless the harness itself broke.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness as h  # noqa: E402


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    tmp = Path(tempfile.mkdtemp(prefix="lakegate-probe-"))
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    base = h.spark_conf(tmp, None, lakegate=False, hive=False, delta=False, extra={"spark.master": "local[1]"})
    base["spark.jars"] = str(h.extension_jar())
    base["spark.sql.extensions"] = h.EXTENSION_CLASS
    keys = {k for c in spec["contexts"] for k in c.get("conf", {})}
    spark = None
    try:
        for ctx in spec["contexts"]:
            if spark is not None:
                # The next context starts with its own SparkConf; the JVM stays. spark-submit made
                # the first context's confs JVM system properties, which a new SparkConf loads: clear
                # the ones the contexts vary, so none leaks from one context into the next.
                spark.stop()
                from pyspark import SparkContext

                for k in keys:
                    SparkContext._jvm.java.lang.System.clearProperty(k)
            conf = {k: v for k, v in base.items() if k not in keys}
            conf.update(ctx.get("conf", {}))
            spark = h.start_spark(conf)
            sc = spark.sparkContext
            for k in keys:
                want = ctx.get("conf", {}).get(k)
                assert sc.getConf().get(k) == want, f"{k} is {sc.getConf().get(k)!r} in context {ctx['name']}"
            for step in ctx["steps"]:
                sc.setLocalProperty("user", step.get("user"))
                sc.setLocalProperty("groups", step.get("groups"))
                try:
                    out = {"rows": [list(r) for r in spark.sql(step["sql"]).collect()]}
                except Exception as e:  # noqa: BLE001
                    out = {"error": str(e)[:4000]}
                print(f"PROBE {ctx['name']} " + json.dumps(out), flush=True)
    finally:
        if spark is not None:
            h.stop_spark(spark)
        h.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
