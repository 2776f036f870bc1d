"""Fixtures of the security suite (see README.md beside this file).

The harness of the Spark end-to-end suite (tests/spark/harness.py: the real planner process, keys
and tokens, Spark confs, a SparkSession in a fresh driver JVM per module) is imported, not copied.
Scopes as there: one key pair per run; per module one planner, one SparkSession and the part of
the world (secworld.py) the module loads.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

SPARK_TESTS = Path(__file__).resolve().parents[1] / "spark"
if str(SPARK_TESTS) not in sys.path:
    sys.path.insert(1, str(SPARK_TESTS))  # after this directory: our module names win

import harness as h  # noqa: E402  (tests/spark/harness.py)
import secworld  # noqa: E402
from common_fixtures import jar, keys, line, planner_bin, report_header  # noqa: E402,F401  (fixtures)


def pytest_report_header(config):
    return report_header("security")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, request) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def lake(workdir) -> Path:
    return workdir / "lake"


@pytest.fixture(scope="module")
def spark_extra(keys) -> dict:
    """Extra Spark confs; a module overrides this fixture to change them."""
    return {"spark.databricks.delta.snapshotPartitions": "2"}


@pytest.fixture(scope="module")
def driver_env() -> dict:
    """Environment variables of the driver JVM (set while it starts); a module overrides this."""
    return {}


@pytest.fixture(scope="module")
def planner(keys, workdir, lake):
    p = h.Planner(workdir, keys).start()
    secworld.declare(p, lake)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def spark(jar, planner, workdir, spark_extra, driver_env):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    saved = {k: os.environ.get(k) for k in driver_env}
    os.environ.update(driver_env)
    t0 = time.monotonic()
    conf = h.spark_conf(workdir, planner, extra=spark_extra)
    # Hive's metastore on an in-memory Derby database: the module's driver JVM is its only user,
    # and creating the metastore's schema in memory takes a third of the time it takes on disk.
    conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = "jdbc:derby:memory:metastore_db;create=true"
    try:
        s = h.start_spark(conf)
    finally:
        for k, v in saved.items():  # only the driver JVM keeps them
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    s.sparkContext.setLocalProperty("user", "admin")
    s.sparkContext.setLocalProperty("groups", "admin")
    print(f"SparkSession {s.version} up in {time.monotonic() - t0:.1f}s")
    yield s
    h.stop_spark(s)


@pytest.fixture
def as_user(spark):
    """as_user("alice") → a context manager running Spark as alice (her groups from USERS)."""

    def enter(user: str, job_group: str | None = None, groups: str | None = None):
        return h.as_user(spark, user, secworld.USERS.get(user, "") if groups is None else groups, job_group)

    return enter
