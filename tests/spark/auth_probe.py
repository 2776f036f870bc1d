"""A pyspark driver run as a subprocess by test_auth_modes.py: the authentication modes need
their own static Spark confs and environment (the extension reads them from SparkConf and the
environment only), hence their own driver JVM.

Usage: python auth_probe.py SPEC.json. SPEC: {"conf": {...}, "steps": [{"user": "alice",
"groups": "analysts", "sql": "SELECT …"}, …]}; the environment is the caller's. Prints one JSON
line per step: {"rows": [[…], …]} or {"error": "message"}; exit status 0 unless the harness
itself broke.
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
    conf = h.spark_conf(tmp, None, lakegate=False, hive=False, delta=False,
                        extra={"spark.master": "local[1]"})
    conf["spark.jars"] = str(h.extension_jar())
    conf["spark.sql.extensions"] = h.EXTENSION_CLASS
    conf.update(spec.get("conf", {}))
    spark = h.start_spark(conf)
    try:
        sc = spark.sparkContext
        for step in spec["steps"]:
            sc.setLocalProperty("user", step.get("user"))
            sc.setLocalProperty("groups", step.get("groups"))
            try:
                out = {"rows": [list(r) for r in spark.sql(step["sql"]).collect()]}
            except Exception as e:  # noqa: BLE001
                out = {"error": str(e)[:4000]}
            print("PROBE " + json.dumps(out), flush=True)
    finally:
        h.stop_spark(spark)
        h.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
