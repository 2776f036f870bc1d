#!/usr/bin/env python3
"""Spark planning time with and without lakegate, on the 22 TPC-H query shapes.

Planning time = `spark.sql(q)` (parse + analysis, where lakegate decides) plus
`queryExecution.optimizedPlan` forced, timed inside the driver's Python process (the py4j overhead
is in both sides alike). Two driver JVMs run side by side for the whole run, each in its own worker
process with its own Hive metastore (Derby) and identical generated tables, Delta's extension and
catalog on both: plain Spark, and Spark with the lakegate extension. The benchmark alternates
between them query by query (plain, plain+policy, admin, analyst, …), so a change of load on the
machine hits both sides alike; both get the same untimed warm-up passes first.

Measured per query (medians):
  plain        plain Spark
  plain+policy plain Spark running the query with the analyst's policy written into it by hand (a
               subquery masking c_phone, one filtering orders): what the policy itself costs Spark
  admin warm   lakegate, admin (full access everywhere), decision cache warm; ratio to plain
  analyst warm lakegate, analyst (group analysts: a mask on customer.c_phone, a row filter on
               orders, plain grants on the other tables), decision cache warm; ratio to plain+policy
  analyst cold the same with lakegate's decision cache emptied before each run: one planner round
               trip inside the timing (the planner's own session and decision state stays warm,
               the JVM is warm: this isolates what a first query of a user costs)
  requests     planner Authorize requests per query, from the planner's /metrics (cold; warm)
  plan equal   admin's optimized plan equals plain Spark's (expression ids stripped)

Usage (after make build, spark/build.sh 3.5_2.12, scripts/spark-env.sh 3.5):
  .venv-spark35/bin/python bench/spark/planning.py [--warm N] [--cold N] [--warmup N] [--jfr FILE]
  (make bench-spark runs it; LAKEGATE_SPARK_LINE=4.0 with .venv-spark40 for Spark 4.0)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
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

# The analyst's policy written into the query by hand, for plain Spark: what the same policy costs
# Spark without lakegate (mask() replaces every character with 'x', as regexp_replace does here).
POLICY_SUBQUERIES = {
    "tpch.customer": "(SELECT c_custkey, c_name, c_address, c_nationkey, regexp_replace(c_phone, '.', 'x') AS c_phone, "
                     "c_acctbal, c_mktsegment, c_comment FROM tpch.customer) customer",
    "tpch.orders": "(SELECT * FROM tpch.orders WHERE o_orderpriority <> '1-URGENT') orders",
}


def with_policy(q: str) -> str:
    for table, sub in POLICY_SUBQUERIES.items():
        q = re.sub(re.escape(table) + r"\b", sub, q)
    return q


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


def worker(side: str, spec_path: str) -> int:
    """One driver JVM, serving commands read from stdin as JSON lines; answers `@@ {json}`."""
    spec = json.loads(Path(spec_path).read_text())
    spark = h.start_spark(spec["conf"])
    sc = spark.sparkContext
    reply = sys.stdout

    def answer(obj):
        reply.write("@@ " + json.dumps(obj) + "\n")
        reply.flush()

    try:
        if side == "lakegate":
            sc.setLocalProperty("user", "admin")
            sc.setLocalProperty("groups", "admin")
        spark.sql("CREATE DATABASE tpch")
        for t, select in TABLES.items():
            spark.sql(f"CREATE TABLE tpch.{t} USING parquet AS {select}")
            spark.sql(f"SELECT * FROM tpch.{t}").schema  # noqa: B018  (lakegate: the planner learns it)
        answer({"ready": True})
        for line in sys.stdin:
            cmd = json.loads(line)
            if cmd.get("quit"):
                break
            if side == "lakegate":
                sc.setLocalProperty("user", cmd["user"])
                sc.setLocalProperty("groups", cmd["groups"])
                if cmd.get("clear"):
                    clear_decisions(spark)
            ms, plan = plan_ms(spark, cmd["q"])
            answer({"ms": ms, "plan": IDS.sub("#", plan.toString()) if cmd.get("want_plan") else None})
        return 0
    finally:
        h.stop_spark(spark)


class Worker:
    def __init__(self, side: str, conf: dict, work: Path):
        spec = work / f"worker-{side}.json"
        spec.write_text(json.dumps({"conf": conf}))
        self.log = open(work / f"worker-{side}.log", "w")
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", side, str(spec)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)
        self.side = side
        self.work = work

    def _read(self) -> dict:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"worker {self.side} exited: see {self.work}/worker-{self.side}.log:\n"
                                   + (self.work / f"worker-{self.side}.log").read_text()[-3000:])
            if line.startswith("@@ "):
                return json.loads(line[3:])

    def ready(self) -> None:
        self._read()

    def plan(self, q: str, user: str = "", groups: str = "", clear: bool = False, want_plan: bool = False) -> dict:
        self.proc.stdin.write(json.dumps({"q": q, "user": user, "groups": groups, "clear": clear,
                                          "want_plan": want_plan}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)
        except Exception:  # noqa: BLE001
            self.proc.kill()
        self.log.close()


ADMIN = ("admin", "admin")
ANALYST = ("analyst1", "analysts")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=10, help="timed passes over the queries (warm)")
    ap.add_argument("--cold", type=int, default=5, help="timed passes with the decision cache emptied")
    ap.add_argument("--warmup", type=int, default=5, help="untimed passes over the queries first")
    ap.add_argument("--jfr", metavar="FILE", help="record the lakegate JVM with Java Flight Recorder "
                    "(read it with bench/spark/jfr_share.py FILE)")
    ap.add_argument("--worker", nargs=2, metavar=("SIDE", "SPEC"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(*args.worker)
    line = h.spark_line()
    jar = h.extension_jar(line)
    if not jar.is_file() or not h.BIN.is_file():
        print(f"planning.py: needs {h.BIN} (make build) and {jar} (spark/build.sh)", file=sys.stderr)
        return 1
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    work = Path(tempfile.mkdtemp(prefix="lakegate-bench-spark."))
    planner = None
    workers: dict[str, Worker] = {}
    t: dict = {}
    plans: dict = {}
    try:
        keys = h.Keys.generate(work / "keys")
        planner = h.Planner(work, keys).start()
        import pyspark

        print(f"Spark {pyspark.__version__} (line {line}), extension {jar.name}, planner {planner.address}")
        print(f"machine: {os.cpu_count()} CPUs, load average at start {open('/proc/loadavg').read().split()[:3]}")
        print(f"passes over the 22 queries: {args.warmup} warm-up (untimed), {args.warm} warm, {args.cold} cold; "
              "plain and lakegate JVMs side by side, alternating query by query\n", flush=True)
        t0 = time.monotonic()
        for side in ("plain", "lakegate"):
            d = work / side
            d.mkdir()
            conf = h.spark_conf(d, planner if side == "lakegate" else None, lakegate=side == "lakegate",
                                extra={"spark.app.name": f"bench-planning-{side}", "spark.master": "local[1]"})
            if args.jfr and side == "lakegate":
                conf["spark.driver.extraJavaOptions"] += (
                    f" -XX:StartFlightRecording=filename={Path(args.jfr).resolve()},settings=profile,"
                    "dumponexit=true -XX:FlightRecorderOptions:stackdepth=2048")
            workers[side] = Worker(side, conf, work)
        for w in workers.values():
            w.ready()
        for tname in TABLES:
            planner.wait_known("tpch", tname)
        planner.sql(POLICY)
        print(f"two drivers up, tables loaded, policy applied in {time.monotonic() - t0:.1f}s", flush=True)
        plain, lg = workers["plain"], workers["lakegate"]
        t0 = time.monotonic()
        for p in range(args.warmup + args.warm):
            timed = p >= args.warmup
            for name, q in QUERIES.items():
                last = p == args.warmup + args.warm - 1
                r_plain = plain.plan(q, want_plan=last)
                r_policy = plain.plan(with_policy(q))
                before = authorize_requests(planner) if timed else 0
                r_admin = lg.plan(q, *ADMIN, want_plan=last)
                r_analyst = lg.plan(q, *ANALYST)
                if timed:
                    t.setdefault(("warm-requests", name), []).append((authorize_requests(planner) - before) / 2)
                    for key, r in (("plain", r_plain), ("policy", r_policy), ("admin", r_admin), ("analyst", r_analyst)):
                        t.setdefault((key, name), []).append(r["ms"])
                if last:
                    plans[name] = (r_plain["plan"], r_admin["plan"])
        for _ in range(args.cold):
            for name, q in QUERIES.items():
                r_policy = plain.plan(with_policy(q))
                before = authorize_requests(planner)
                r_cold = lg.plan(q, *ANALYST, clear=True)
                t.setdefault(("cold-requests", name), []).append(authorize_requests(planner) - before)
                t.setdefault(("cold", name), []).append(r_cold["ms"])
                t.setdefault(("policy-cold-pass", name), []).append(r_policy["ms"])
        print(f"measured in {time.monotonic() - t0:.1f}s", flush=True)
        report(t, plans)
        return 0
    finally:
        for w in workers.values():
            w.close()
        if planner is not None:
            planner.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(t: dict, plans: dict) -> None:
    med = statistics.median
    rows = []
    print(f"\n{'query':6} {'plain':>8} {'admin warm':>15} {'plain+policy':>12} {'analyst warm':>15} "
          f"{'analyst cold':>16} {'requests':>9} {'plan equal':>10}")
    print(f"{'':6} {'ms':>8} {'ms (ratio)':>15} {'ms':>12} {'ms (ratio)':>15} {'ms (+ms)':>16} {'cold;warm':>9}")
    for name in QUERIES:
        p, pp = med(t[("plain", name)]), med(t[("policy", name)])
        aw, nw, nc = med(t[("admin", name)]), med(t[("analyst", name)]), med(t[("cold", name)])
        cold_req, warm_req = t[("cold-requests", name)], t[("warm-requests", name)]
        equal = plans[name][0] == plans[name][1]
        rows.append((p, aw, nw, nc, cold_req, warm_req, equal, pp))
        print(f"{name:6} {p:8.2f} {aw:8.2f} ({aw / p:4.2f}) {pp:12.2f} {nw:8.2f} ({nw / pp:4.2f}) "
              f"{nc:8.2f} ({nc - pp:+6.2f}) {_fmt(cold_req)};{_fmt(warm_req)} {'yes' if equal else 'NO':>10}")

    def geo(xs):
        return math.exp(sum(math.log(x) for x in xs) / len(xs))

    def line(label, num, den):
        ratios = [r[num] / r[den] for r in rows]
        added = [r[num] - r[den] for r in rows]
        print(f"  {label}: geometric mean ratio {geo(ratios):.3f}x, mean added {statistics.mean(added):+.2f} ms, "
              f"max added {max(added):+.2f} ms")

    print("\nsummary over the 22 queries (per-query medians):")
    line("admin warm vs plain              ", 1, 0)
    line("analyst warm vs plain+policy     ", 2, 7)
    line("analyst warm vs plain            ", 2, 0)
    line("plain+policy vs plain (the policy)", 7, 0)
    line("analyst cold vs plain+policy     ", 3, 7)
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
