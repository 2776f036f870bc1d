"""Fixtures of the Databricks kit suite (README.md beside this file).

The pieces are real: bin/lakegate generates and stages the init script and the jars
(`lakegate databricks upload-libs`), the script runs unchanged under /bin/sh in a sandbox that
LAKEGATE_DB_ROOT re-roots, planners are real `lakegate serve` processes, and Spark is the venvs'
pyspark started from the configuration the script wrote (sandbox_spark.py). The helpers of the
Spark suite (tests/spark/harness.py: planner, keys, tokens) are imported, not copied.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "spark"))
import dbconf  # noqa: E402
import harness as h  # noqa: E402
from common_fixtures import planner_bin  # noqa: E402,F401  (fixture)

REPO = h.REPO
JARS_DIR = Path(os.environ.get("LAKEGATE_DATABRICKS_JARS", REPO / "build" / "spark"))
VARIANTS = ("3.5_2.12", "3.5_2.13", "4.0_2.13")
LIBS_FROM = "dbfs:/lakegate"

# The policy of this suite. Databricks puts no groups into Spark local properties, so signed
# tokens carry none: roles go to users (docs/databricks.md), as a Databricks admin would grant them.
POLICY = """
CREATE ROLE dbadmin;  GRANT ALL ON CATALOG TO ROLE dbadmin;  GRANT ROLE dbadmin TO USER admin;
CREATE ROLE analyst;  GRANT ROLE analyst TO USER alice;
GRANT SELECT ON TABLE okera_sample.users TRANSFORM pii.credit_card WITH mask_ccn() WHERE gender = 'F'
  TO ROLE analyst;
"""


def sha256(p: Path) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def lakegate(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """bin/lakegate with a clean environment (no OKERA_*/LAKEGATE_* of the caller)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("OKERA_", "LAKEGATE_"))}
    e.update(env or {})
    return h.run([str(h.BIN), *args], check=check, env=e)


@dataclass
class Libs:
    """What `upload-libs` staged: the three jars and the init script pinned to their checksums."""

    dir: Path

    @property
    def script(self) -> Path:
        return self.dir / "lakegate-init.sh"

    def jar(self, variant: str) -> Path:
        return self.dir / f"lakegate-spark-{variant}.jar"


class Sandbox:
    """A node's file system as the init script sees it: ROOT/databricks/… and ROOT/dbfs/…"""

    def __init__(self, root: Path, libs: Libs, *, link_libs: bool = True):
        self.root = Path(root)
        self.libs = libs
        dbfs = self.root / "dbfs" / LIBS_FROM.removeprefix("dbfs:/")
        dbfs.parent.mkdir(parents=True, exist_ok=True)
        if link_libs:
            dbfs.symlink_to(libs.dir, target_is_directory=True)  # DBFS is a shared mount on Databricks too
        else:
            shutil.copytree(libs.dir, dbfs)
        self.dbfs_libs = dbfs

    # -- inputs ----------------------------------------------------------------------------------
    def write(self, rel: str, text: str) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def dbr_version_file(self, version: str) -> None:
        self.write("databricks/DBR_VERSION", version + "\n")

    def deploy_conf(self, spark_version_key: str) -> None:
        self.write("databricks/common/conf/deploy.conf",
                   'all-projects {\n  spark.databricks.clusterUsageTags.sparkVersion = "%s"\n}\n' % spark_version_key)

    # -- running the script ----------------------------------------------------------------------
    def run(self, env: dict, *, script: Path | None = None, shell: str = "sh", path: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        """The init script, unchanged, with only `env` (plus PATH, HOME and LAKEGATE_DB_ROOT) in its
        environment, as Databricks gives a node the cluster's spark_env_vars."""
        e = {"PATH": path or os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root),
             "LAKEGATE_DB_ROOT": str(self.root)}
        e.update(env)
        return subprocess.run([shell, str(script or self.libs.script)], env=e, capture_output=True, text=True,
                              timeout=timeout)

    # -- outputs ---------------------------------------------------------------------------------
    @property
    def conf_dir(self) -> Path:
        return self.root / "databricks" / "driver" / "conf"

    @property
    def conf_file(self) -> Path:
        return self.conf_dir / "00-lakegate-spark.conf"

    def conf(self) -> dict[str, str]:
        return dbconf.parse(self.conf_file.read_text(), source=str(self.conf_file))

    def jars(self) -> list[str]:
        d = self.root / "databricks" / "jars"
        return sorted(p.name for p in d.glob("lakegate-spark-*.jar")) if d.is_dir() else []

    @property
    def secrets_dir(self) -> Path:
        return self.root / "databricks" / "lakegate" / "secrets"

    @property
    def log_file(self) -> Path:
        return self.root / "databricks" / "init_scripts" / "lakegate-init.log"

    def log(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""

    def written(self) -> list[Path]:
        """Every file the script left under ROOT/databricks (the inputs excepted)."""
        inputs = {self.root / "databricks" / "DBR_VERSION", self.root / "databricks/common/conf/deploy.conf"}
        d = self.root / "databricks"
        return sorted(p for p in d.rglob("*") if p.is_file() and p not in inputs) if d.is_dir() else []


@pytest.fixture(scope="session")
def libs(planner_bin, tmp_path_factory) -> Libs:
    missing = [v for v in VARIANTS if not (JARS_DIR / f"lakegate-spark-{v}.jar").is_file()]
    if missing:
        pytest.fail(f"jars missing in {JARS_DIR}: {missing} (spark/build.sh all builds them)")
    d = tmp_path_factory.mktemp("libs")
    stage = tmp_path_factory.mktemp("stage")
    p = lakegate("databricks", "upload-libs", "--to", str(d), "--libs-from", LIBS_FROM,
                 "--jars-dir", str(JARS_DIR), "--stage", str(stage))
    assert f"init script: {LIBS_FROM}/lakegate-init.sh" in p.stdout, p.stdout
    libs = Libs(d)
    for v in VARIANTS:
        assert sha256(libs.jar(v)) == sha256(stage / f"lakegate-spark-{v}.jar")
    assert os.access(libs.script, os.X_OK)
    return libs


@pytest.fixture
def sandbox(tmp_path, libs) -> Sandbox:
    return Sandbox(tmp_path / "node", libs)


@pytest.fixture(scope="session")
def keys(planner_bin, tmp_path_factory) -> h.Keys:
    return h.Keys.generate(tmp_path_factory.mktemp("keys"))


def _planner(keys, tmp_path_factory, name, extra=()):
    p = h.Planner(tmp_path_factory.mktemp(name), keys, extra=list(extra), name=name).start()
    p.sql(POLICY)
    return p


@pytest.fixture(scope="session")
def planner(keys, tmp_path_factory):
    p = _planner(keys, tmp_path_factory, "planner")
    yield p
    p.stop()


@pytest.fixture(scope="session")
def insecure_planner(keys, tmp_path_factory):
    """A planner that accepts self-signed tokens (proofs of concept)."""
    p = _planner(keys, tmp_path_factory, "insecure-planner", ["--insecure-accept-self-signed"])
    yield p
    p.stop()
