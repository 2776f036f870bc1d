"""A real planner (`lakegate serve`), the real proxy (`lakegate ensemble`) and moto's S3 server as the
upstream, each a process on a free port, for boto3 and AWS CLI tests. The planner trusts the proxy's
service user (--trusted-proxy); users get access keys with `lakegate ensemble credentials`."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import boto3
import pytest
from botocore.config import Config

from procs import BIN, clean_env, free_port, lakegate, wait_http

UPSTREAM_KEY = ("moto-upstream", "moto-upstream-secret")


class World:
    def __init__(self, root: str):
        self.root = root
        self.procs: list[subprocess.Popen] = []
        self.keys = os.path.join(root, "k")
        lakegate("keygen", "--out", self.keys)
        self.master = os.path.join(root, "master.key")
        lakegate("ensemble", "keygen", "--out", self.master)

        self.moto_port = free_port()
        self.upstream = f"http://127.0.0.1:{self.moto_port}"
        self._start([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.moto_port)],
                    "moto", self.upstream + "/moto-api/", clean_env())

        self.planner_addr = f"127.0.0.1:{free_port()}"
        self._start([BIN, "serve", "--listen", self.planner_addr, "--data-dir", os.path.join(root, "planner"),
                     "--jwt-public-key", os.path.join(self.keys, "jwt-public.pem"), "--trusted-proxy", "svc-ensemble"],
                    "planner", f"http://{self.planner_addr}/readyz", clean_env())
        self.admin = self.token("root", "admin")

        self.ens_addr = f"127.0.0.1:{free_port()}"
        self.endpoint = f"http://{self.ens_addr}"
        self.ens_dir = os.path.join(root, "ensemble")
        self._start([BIN, "ensemble", "--listen", self.ens_addr, "--planner", self.planner_addr,
                     "--upstream", self.upstream, "--upstream-style", "path", "--master-key-file", self.master,
                     "--data-dir", self.ens_dir, "--decision-cache-ttl", "1s"],
                    "ensemble", self.endpoint + "/_lakegate/healthz",
                    clean_env(OKERA_TOKEN=self.token("svc-ensemble", ttl="24h"), AWS_ACCESS_KEY_ID=UPSTREAM_KEY[0],
                              AWS_SECRET_ACCESS_KEY=UPSTREAM_KEY[1], AWS_REGION="us-east-1",
                              AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                              AWS_EC2_METADATA_DISABLED="true"))
        self.direct = boto3.client("s3", endpoint_url=self.upstream, region_name="us-east-1",
                                   aws_access_key_id=UPSTREAM_KEY[0], aws_secret_access_key=UPSTREAM_KEY[1])

    def _start(self, argv, name, ready_url, env):
        log = os.path.join(self.root, name + ".log")
        proc = subprocess.Popen(argv, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        self.procs.append(proc)
        wait_http(ready_url, proc, log, name)

    def token(self, user: str, *groups: str, ttl: str = "1h") -> str:
        args = ["token", "--key", os.path.join(self.keys, "jwt-private.pem"), "--user", user, "--ttl", ttl]
        if groups:
            args += ["--groups", ",".join(groups)]
        return lakegate(*args).stdout.strip()

    def sql(self, stmts: str) -> None:
        lakegate("sql", stmts, env=clean_env(OKERA_PLANNER=self.planner_addr, OKERA_TOKEN=self.admin))

    def credentials(self, token: str) -> dict:
        r = lakegate("ensemble", "credentials", env=clean_env(OKERA_TOKEN=token, LAKEGATE_ENSEMBLE=self.endpoint))
        return json.loads(r.stdout)

    def client(self, creds: dict, **kw):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                          retries={"max_attempts": 1}, **kw))

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="session")
def world():
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"{BIN} is not an executable lakegate binary: run make build or set LAKEGATE_BIN")
    root = tempfile.mkdtemp(prefix="lakegate-ensemble-")
    w = World(root)
    try:
        for b in ("lake", "other"):
            w.direct.create_bucket(Bucket=b)
        for key, body in {"sales/2024/part-0.parquet": b"sales data", "sales/public/readme": b"public",
                          "salesx/secret": b"not sales", "eng/secret.txt": b"engineering",
                          "hr/salaries.csv": b"salaries"}.items():
            w.direct.put_object(Bucket="lake", Key=key, Body=body)
        w.sql("""CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
                 GRANT SELECT ON URI 's3://lake/sales' TO ROLE analyst;
                 GRANT ALL ON URI 's3://lake/scratch/alice' TO ROLE analyst;
                 CREATE ROLE engineer; GRANT ROLE engineer TO GROUP eng;
                 GRANT ALL ON URI 's3://lake/eng' TO ROLE engineer;
                 GRANT SELECT ON URI 's3://lake/sales/public' TO ROLE engineer;
                 GRANT INSERT ON URI 's3://other' TO ROLE engineer""")
        w.alice_token = w.token("alice", "analysts")
        w.bob_token = w.token("bob", "eng")
        w.alice_creds = w.credentials(w.alice_token)
        w.bob_creds = w.credentials(w.bob_token)
        yield w
    finally:
        w.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def alice(world):
    return world.client(world.alice_creds)


@pytest.fixture(scope="session")
def bob(world):
    return world.client(world.bob_creds)
