#!/usr/bin/env python3
"""Spark planning time with and without lakegate, on the 22 TPC-H query shapes.

Planning time = `spark.sql(q)` (parse + analysis, where lakegate decides) plus
`queryExecution.optimizedPlan` forced, measured from Python around both calls (the py4j overhead
is in both sides alike). Plain Spark and Spark with the extension run in alternating driver JVMs
of the same run (plain, lakegate, plain, lakegate), over the same Hive metastore (Derby) and
tables, with Delta's extension and catalog on both sides; samples are pooled per side.

Measured per query:
  plain        plain Spark, after warm-up (median ms)
  admin warm   lakegate, admin (full access everywhere), decision cache warm
  analyst warm lakegate, analyst (group analysts: a mask on customer.c_phone, a row filter on
               orders, plain grants on the other tables), decision cache warm
  analyst cold the same with lakegate's decision cache emptied before each run: one planner round
               trip inside the timing (the planner's own session and decision state stays warm,
               the JVM is warm: this isolates what a first query of a user costs)
  requests     planner Authorize requests per query, from the planner's /metrics (cold; warm)
  plan equal   admin's optimized plan equals plain Spark's (expression ids stripped)

Usage (after make build, spark/build.sh 3.5_2.12, scripts/spark-env.sh 3.5):
  .venv-spark35/bin/python bench/spark/planning.py [--warm N] [--cold N] [--rounds N]
  (make bench-spark runs it; LAKEGATE_SPARK_LINE=4.0 with .venv-spark40 for Spark 4.0)
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "spark"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness as h  # noqa: E402  (the real planner process, keys and Spark helpers of the e2e suite)
from tpch_queries import QUERIES, TABLES  # noqa: E402

FULL_TABLES = ["region", "nation", "supplier", "part", "partsupp", "lineitem"]
POLICY = ";\n".join(
    ["CREATE ROLE analyst", "GRANT ROLE analyst TO GROUP analysts", "CREATE ATTRIBUTE pii.phone",
     "ALTER TABLE tpch.customer ADD COLUMN ATTRIBUTE c_phone pii.phone",
     "GRANT SELECT ON TABLE tpch.customer TRANSFORM pii.phone WITH mask() TO ROLE analyst",
     "GRANT SELECT ON TABLE tpch.orders WHERE o_orderpriority <> '1-URGENT' TO ROLE analyst"]
    + [f"GRANT SELECT ON TABLE tpch.{t} TO ROLE analyst" for t in FULL_TABLES])
IDS = re.compile(r"#\d+L?")


def plan_ms(spark, q: str) -> tuple[float, str]:
    t0 = time.perf_counter_ns()
    df = spark.sql(q)
    plan = df._jdf.queryExecution().optimizedPlan()
    ms = (time.perf_counter_ns() - t0) / 1e6
    return ms, plan


def authorize_requests(planner: h.Planner) -> float:
    return sum(v for k, v in planner.metrics().items()
               if k.startswith("lakegate_requests_total") and "Authorize" in k)


def clear_decisions(spark) -> None:
    jvm = spark.sparkContext._jvm
    jvm.io.lakegate.spark.LakegateRuntime.get(spark._jsparkSession).authorizer().clearCache()


def measure_plain(spark, args, out: dict, plans: dict) -> None:
    """Round robin over the queries, twice per query and pass, as the lakegate side runs each
    query twice per pass (admin, analyst): both JVMs see the same amount of warm-up."""
    for p in range(args.warmup + args.warm):
        for name, q in QUERIES.items():
            for _ in range(2):
                ms, plan = plan_ms(spark, q)
                if p >= args.warmup:
                    out.setdefault(name, []).append(ms)
            plans[name] = IDS.sub("#", plan.toString())


USERS = (("admin", "admin"), ("analyst1", "analysts"))


def measure_lakegate(spark, planner, args, out: dict, plans: dict) -> None:
    """Round robin over the queries; per query and pass one run as admin and one as the analyst
    (warm), then passes with the decision cache emptied before each analyst run (cold)."""
    sc = spark.sparkContext
    for p in range(args.warmup + args.warm):
        for name, q in QUERIES.items():
            before = authorize_requests(planner) if p >= args.warmup else 0
            for user, groups in USERS:
                sc.setLocalProperty("user", user)
                sc.setLocalProperty("groups", groups)
                ms, plan = plan_ms(spark, q)
                if p >= args.warmup:
                    out.setdefault((user, "warm", name), []).append(ms)
                if user == "admin":
                    plans[name] = IDS.sub("#", plan.toString())
            if p >= args.warmup:
                out.setdefault(("warm-requests", name), []).append((authorize_requests(planner) - before) / 2)
    sc.setLocalProperty("user", "analyst1")
    sc.setLocalProperty("groups", "analysts")
    for _ in range(args.cold):
        for name, q in QUERIES.items():
            clear_decisions(spark)
            before = authorize_requests(planner)
            ms, _ = plan_ms(spark, q)
            out.setdefault(("analyst1", "cold", name), []).append(ms)
            out.setdefault(("cold-requests", name), []).append(authorize_requests(planner) - before)
    sc.setLocalProperty("user", None)
    sc.setLocalProperty("groups", None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=10, help="timed passes over the queries per round (warm)")
    ap.add_argument("--cold", type=int, default=4, help="timed passes per round with the decision cache emptied")
    ap.add_argument("--warmup", type=int, default=4, help="untimed passes over the queries first, per JVM")
    ap.add_argument("--rounds", type=int, default=2, help="plain/lakegate JVM pairs")
    ap.add_argument("--jfr", metavar="FILE", help="record the last lakegate JVM with Java Flight Recorder "
                    "(read it with bench/spark/jfr_share.py FILE)")
    args = ap.parse_args()
    line = h.spark_line()
    jar = h.extension_jar(line)
    if not jar.is_file() or not h.BIN.is_file():
        print(f"planning.py: needs {h.BIN} (make build) and {jar} (spark/build.sh)", file=sys.stderr)
        return 1
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    work = Path(tempfile.mkdtemp(prefix="lakegate-bench-spark."))
    planner = None
    plain: dict = {}
    lg: dict = {}
    plain_plans: dict = {}
    admin_plans: dict = {}
    try:
        keys = h.Keys.generate(work / "keys")
        planner = h.Planner(work, keys).start()
        import pyspark

        print(f"Spark {pyspark.__version__} (line {line}), extension {jar.name}, planner {planner.address}")
        print(f"machine: {os.cpu_count()} CPUs, load average at start {open('/proc/loadavg').read().split()[:3]}")
        print(f"passes over the 22 queries per JVM: {args.warmup} warm-up (untimed), {args.warm} warm, "
              f"{args.cold} cold; {args.rounds} rounds (JVM pairs)\n")
        for rnd in range(args.rounds):
            for side in ("plain", "lakegate"):
                conf = h.spark_conf(work, planner if side == "lakegate" else None, lakegate=side == "lakegate",
                                    extra={"spark.app.name": f"bench-planning-{side}"})
                if args.jfr and side == "lakegate" and rnd == args.rounds - 1:
                    conf["spark.driver.extraJavaOptions"] += (
                        f" -XX:StartFlightRecording=filename={Path(args.jfr).resolve()},settings=profile,"
                        "dumponexit=true -XX:FlightRecorderOptions:stackdepth=2048")
                t0 = time.monotonic()
                spark = h.start_spark(conf)
                try:
                    if rnd == 0 and side == "plain":
                        spark.sql("CREATE DATABASE tpch")
                        for t, select in TABLES.items():
                            spark.sql(f"CREATE TABLE tpch.{t} USING parquet AS {select}")
                    if rnd == 0 and side == "lakegate":
                        with h.as_user(spark, "admin", "admin"):  # the planner learns the tables
                            for t in TABLES:
                                spark.sql(f"SELECT * FROM tpch.{t}").schema  # noqa: B018
                        for t in TABLES:
                            planner.wait_known("tpch", t)
                        planner.sql(POLICY)
                    print(f"round {rnd + 1} {side}: driver up in {time.monotonic() - t0:.1f}s", flush=True)
                    t0 = time.monotonic()
                    if side == "plain":
                        measure_plain(spark, args, plain, plain_plans)
                    else:
                        measure_lakegate(spark, planner, args, lg, admin_plans)
                    print(f"round {rnd + 1} {side}: measured in {time.monotonic() - t0:.1f}s", flush=True)
                finally:
                    h.stop_spark(spark)
        report(plain, lg, plain_plans, admin_plans)
        return 0
    finally:
        if planner is not None:
            planner.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(plain: dict, lg: dict, plain_plans: dict, admin_plans: dict) -> None:
    med = statistics.median
    rows = []
    print(f"\n{'query':6} {'plain':>8} {'admin warm':>15} {'analyst warm':>15} {'analyst cold':>16} "
          f"{'requests':>9} {'plan equal':>10}")
    print(f"{'':6} {'ms':>8} {'ms (ratio)':>15} {'ms (ratio)':>15} {'ms (+ms)':>16} {'cold;warm':>9}")
    for name in QUERIES:
        p = med(plain[name])
        aw = med(lg[("admin", "warm", name)])
        nw = med(lg[("analyst1", "warm", name)])
        nc = med(lg[("analyst1", "cold", name)])
        cold_req = lg[("cold-requests", name)]
        warm_req = lg[("warm-requests", name)]
        equal = plain_plans[name] == admin_plans[name]
        rows.append((p, aw, nw, nc, cold_req, warm_req, equal))
        print(f"{name:6} {p:8.2f} {aw:8.2f} ({aw / p:4.2f}) {nw:8.2f} ({nw / p:4.2f}) {nc:8.2f} ({nc - p:+6.2f}) "
              f"{_fmt(cold_req)};{_fmt(warm_req)} {'yes' if equal else 'NO':>10}")

    def geo(xs):
        return math.exp(sum(math.log(x) for x in xs) / len(xs))

    print("\nsummary over the 22 queries (per-query medians):")
    print(f"  admin warm:   geometric mean ratio {geo([r[1] / r[0] for r in rows]):.3f}x, "
          f"mean added {statistics.mean(r[1] - r[0] for r in rows):+.2f} ms, max added {max(r[1] - r[0] for r in rows):+.2f} ms")
    print(f"  analyst warm: geometric mean ratio {geo([r[2] / r[0] for r in rows]):.3f}x, "
          f"mean added {statistics.mean(r[2] - r[0] for r in rows):+.2f} ms, max added {max(r[2] - r[0] for r in rows):+.2f} ms")
    print(f"  analyst cold: mean added {statistics.mean(r[3] - r[0] for r in rows):+.2f} ms, "
          f"max added {max(r[3] - r[0] for r in rows):+.2f} ms")
    cold_all = [x for r in rows for x in r[4]]
    warm_all = [x for r in rows for x in r[5]]
    print(f"  planner requests per query: cold min {min(cold_all):g} max {max(cold_all):g}; "
          f"warm mean {statistics.mean(warm_all):.3f} (a warm request is the cache's TTL expiring)")
    print(f"  admin's optimized plan equal to plain Spark's: {sum(r[6] for r in rows)}/{len(rows)}")


def _fmt(xs) -> str:
    lo, hi = min(xs), max(xs)
    return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"


if __name__ == "__main__":
    sys.exit(main())
