"""Fixtures of the Spark end-to-end suite (see README.md beside this file).

Scopes: one key pair per run; per module one planner (a real `lakegate serve`), one SparkSession
in its own driver JVM (local[2], Derby metastore and warehouse in the module's temp dir, Delta and
the lakegate extension), and the world the module needs, loaded as admin through that session.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import harness as h
from common_fixtures import NO_EXTENSION, jar, keys, line, planner_bin, report_header  # noqa: F401  (fixtures)


def pytest_report_header(config):
    return report_header("e2e")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, request) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def planner_args() -> list[str]:
    """Extra `lakegate serve` flags; a module overrides this fixture to change them."""
    return []


@pytest.fixture(scope="module")
def spark_extra() -> dict:
    """Extra Spark confs; a module overrides this fixture to change them."""
    return {"spark.databricks.delta.snapshotPartitions": "2"}


@pytest.fixture(scope="module")
def planner(keys, workdir, planner_args):
    p = h.Planner(workdir, keys, extra=planner_args).start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def spark(jar, planner, workdir, spark_extra):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    t0 = time.monotonic()
    s = h.start_spark(h.spark_conf(workdir, planner, lakegate=not NO_EXTENSION, extra=spark_extra))
    s.sparkContext.setLocalProperty("user", "admin")
    s.sparkContext.setLocalProperty("groups", "admin")
    print(f"SparkSession {s.version} up in {time.monotonic() - t0:.1f}s")
    yield s
    h.stop_spark(s)


@pytest.fixture
def as_user(spark):
    """as_user("alice") → a context manager running Spark as alice (her groups from USERS)."""
    from world import USERS

    def enter(user: str, job_group: str | None = None):
        return h.as_user(spark, user, USERS.get(user, ""), job_group)

    return enter
