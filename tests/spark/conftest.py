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

NO_EXTENSION = os.environ.get("LAKEGATE_E2E_NO_EXTENSION") == "1"  # debugging the harness only


def pytest_report_header(config):
    line = h.spark_line()
    jar = h.extension_jar(line)
    import pyspark

    return [f"lakegate e2e: Spark line {line} (pyspark {pyspark.__version__}), planner {h.BIN}",
            f"extension jar: {jar} ({'present' if jar.is_file() else 'MISSING: Spark tests skip'})",
            "Delta jars: " + ", ".join(p.name for p in h.delta_jars(line))]


@pytest.fixture(scope="session")
def line() -> str:
    return h.spark_line()


@pytest.fixture(scope="session")
def planner_bin() -> Path:
    if not h.BIN.is_file():
        pytest.fail(f"{h.BIN} is missing: run `make build` first")
    return h.BIN


@pytest.fixture(scope="session")
def jar(line) -> Path | None:
    if NO_EXTENSION:
        return None
    j = h.extension_jar(line)
    if not j.is_file():
        if os.environ.get("LAKEGATE_SPARK_REQUIRE_JAR") == "1":
            pytest.fail(f"the extension jar {j} is missing (spark/build.sh {line}_{h.LINES[line]} builds it)")
        pytest.skip(f"SKIPPED, NOT PASSED: the extension jar {j} is missing "
                    f"(build it with spark/build.sh {line}_{h.LINES[line]})")
    return j


@pytest.fixture(scope="session")
def keys(planner_bin, tmp_path_factory) -> h.Keys:
    return h.Keys.generate(tmp_path_factory.mktemp("keys"))


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
