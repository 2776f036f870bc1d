"""Session fixtures shared by the Spark end-to-end suite and the security suite (tests/security
imports this module from its conftest): the Spark line, the planner binary, the extension jar,
the key pair. A conftest that imports them makes them its own fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import harness as h

NO_EXTENSION = os.environ.get("LAKEGATE_E2E_NO_EXTENSION") == "1"  # debugging the harness only


def report_header(suite: str) -> list[str]:
    line = h.spark_line()
    jar = h.extension_jar(line)
    import pyspark

    return [f"lakegate {suite}: Spark line {line} (pyspark {pyspark.__version__}), planner {h.BIN}",
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
