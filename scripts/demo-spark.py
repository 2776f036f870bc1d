#!/usr/bin/env python3
"""make demo, with real Spark: a planner on its embedded store, local Spark (Hive metastore on
embedded Derby, Delta Lake, the lakegate extension), okera_sample.users and a Delta table loaded as
admin, the sample policy, and the same queries run as admin, alice (group analysts) and bob (no
grants) side by side, plus whoami for each.

Run with the Spark 3.5 venv (scripts/spark-env.sh 3.5 makes it) after `make build` and
`spark/build.sh 3.5_2.12`:   .venv-spark35/bin/python scripts/demo-spark.py
Environment: LAKEGATE_SPARK_JAR (default build/spark/lakegate-spark-3.5_2.12.jar), LAKEGATE_BIN.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "spark"))
import harness as h  # noqa: E402  (the planner process, keys and Spark helpers of the e2e suite)

USERS = [("admin", "admin"), ("alice", "analysts"), ("bob", "")]
WIDTH = 44

POLICY = """CREATE ROLE analyst;
GRANT ROLE analyst TO GROUP analysts;
GRANT SELECT ON TABLE okera_sample.users TRANSFORM pii.credit_card WITH mask_ccn() WHERE gender = 'F' TO ROLE analyst;
ALTER TABLE demo.purchases ADD COLUMN ATTRIBUTE ccn pii.credit_card;
GRANT SELECT ON TABLE demo.purchases TRANSFORM pii.credit_card WITH mask_ccn() TO ROLE analyst"""

QUERIES = [
    "SELECT * FROM okera_sample.whoami",
    "SELECT uid, gender, ccn FROM okera_sample.users ORDER BY uid LIMIT 6",
    "SELECT gender, count(*) AS n FROM okera_sample.users GROUP BY gender ORDER BY gender",
    "SELECT uid, ccn, amount FROM demo.purchases ORDER BY uid LIMIT 3",
]


def bold(s: str) -> str:
    return f"\033[1m{s}\033[0m" if sys.stdout.isatty() else s


def say(s: str) -> None:
    print(f"\n{bold('== ' + s)}", flush=True)


def cell(spark, sql: str) -> list[str]:
    try:
        df = spark.sql(sql)
        table = [[f.name for f in df.schema.fields]]
        table += [["NULL" if v is None else str(v) for v in r] for r in df.collect()]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        return ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in table]
    except Exception as e:  # noqa: BLE001 — show the error the user would see
        msg = str(e).splitlines()[0]
        return textwrap.wrap(msg, WIDTH - 2) or ["(error)"]


def side_by_side(columns: dict[str, list[str]]) -> None:
    heads = list(columns)
    print("  ".join(bold(h.ljust(WIDTH)) if sys.stdout.isatty() else h.ljust(WIDTH) for h in heads))
    print("  ".join("-" * WIDTH for _ in heads))
    for i in range(max(len(v) for v in columns.values())):
        print("  ".join((columns[h][i] if i < len(columns[h]) else "")[:WIDTH].ljust(WIDTH) for h in heads))


def main() -> int:
    jar = Path(os.environ.get("LAKEGATE_SPARK_JAR", ROOT / "build/spark/lakegate-spark-3.5_2.12.jar"))
    os.environ["LAKEGATE_SPARK_JAR"] = str(jar)
    if not jar.is_file():
        print(f"demo-spark: {jar} is missing: build it with spark/build.sh 3.5_2.12", file=sys.stderr)
        return 1
    if not h.BIN.is_file():
        print(f"demo-spark: {h.BIN} is missing: run make build", file=sys.stderr)
        return 1
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    work = Path(tempfile.mkdtemp(prefix="lakegate-demo-spark."))
    planner, spark = None, None
    try:
        say(f"keys and a planner on an embedded store ({work}/planner-data)")
        keys = h.Keys.generate(work / "keys")
        planner = h.Planner(work, keys).start()
        print(f"planner ready on {planner.address}")

        say("local Spark: Hive metastore (Derby), Delta Lake, lakegate in signing-key mode")
        conf = h.spark_conf(work, planner, extra={"spark.databricks.delta.snapshotPartitions": "2"})
        for k in ("spark.sql.extensions", "spark.sql.catalog.spark_catalog", "spark.lakegate.planner",
                  "spark.lakegate.authMode", "spark.lakegate.jwtSigningKey", "spark.lakegate.groupsProperty"):
            print(f"  {k}={conf[k]}")
        t0 = time.monotonic()
        spark = h.start_spark(conf)
        print(f"Spark {spark.version} up in {time.monotonic() - t0:.0f}s")
        sc = spark.sparkContext

        say("as admin: okera_sample.users (300 rows) and the Delta table demo.purchases")
        sc.setLocalProperty("user", "admin")
        sc.setLocalProperty("groups", "admin")
        users_dir = work / "lake" / "okera_sample" / "users"
        users_dir.mkdir(parents=True)
        shutil.copy(h.USERS_PARQUET, users_dir / "users.parquet")
        for stmt in [
            "CREATE DATABASE okera_sample",
            f"CREATE TABLE okera_sample.users USING parquet LOCATION '{users_dir}'",
            "CREATE DATABASE demo",
            "CREATE TABLE demo.purchases USING delta AS SELECT uid, ccn, "
            "CAST(CAST(substr(uid, 2) AS INT) * 37 % 500 AS DECIMAL(10,2)) AS amount FROM okera_sample.users",
        ]:
            print(f"  {stmt}")
            spark.sql(stmt)
        planner.sql("CREATE DATABASE IF NOT EXISTS demo;"
                    "CREATE TABLE IF NOT EXISTS demo.purchases (uid string, ccn string, amount decimal(10,2))")

        say("the sample policy, applied as admin (lakegate sql)")
        print(POLICY)
        planner.sql(POLICY)

        for q in QUERIES:
            say(q)
            cols = {}
            for user, groups in USERS:
                sc.setLocalProperty("user", user)
                sc.setLocalProperty("groups", groups or None)
                cols[f"{user}" + (f" ({groups})" if groups and groups != user else "")] = cell(spark, q)
            side_by_side(cols)
        say("what the planner recorded (its audit log, last decisions)")
        planner.stop()
        for rec in planner.audit("--limit", "200")[-6:]:
            print(f"  {rec.get('user')}: {rec.get('statement_type') or ''} {rec.get('objects')} -> {rec.get('outcome')}")
        return 0
    finally:
        if spark is not None:
            h.stop_spark(spark)
        if planner is not None:
            planner.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
