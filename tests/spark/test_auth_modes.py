"""The extension's authentication modes, each in its own pyspark driver (auth_probe.py), since the
extension reads them from static Spark confs and the environment:

- shared signing key: every other module (users switched by local properties);
- per-cluster token: one identity whatever the local user (configured by environment only:
  OKERA_PLANNER, LAKEGATE_AUTH_MODE, LAKEGATE_CLUSTER_TOKEN);
- self-signed: refused by a strict planner with a clear error, accepted by one started with
  --insecure-accept-self-signed;
- OKERA_TOKEN (environment) and spark.lakegate.token (conf) override everything else;
- forged tokens (another key, an altered payload, a signing key the planner does not trust) are
  refused, and nothing is returned.

The probes run concurrently (a few at a time) in one module fixture; each test reads its result.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import harness as h

HERE = Path(__file__).resolve().parent
WHOAMI = "SELECT * FROM okera_sample.whoami"
CLEAN_ENV_PREFIXES = ("OKERA_", "LAKEGATE_JWT", "LAKEGATE_AUTH", "LAKEGATE_CLUSTER", "LAKEGATE_SELF",
                      "LAKEGATE_PLANNER", "LAKEGATE_TOKEN")


def tamper(token: str, **claims) -> str:
    head, payload, sig = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(claims)
    p = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{head}.{p}.{sig}"


@pytest.fixture(scope="module")
def insecure_planner(keys, workdir):
    p = h.Planner(workdir, keys, extra=["--insecure-accept-self-signed"], name="insecure-planner").start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def probes(jar, keys, planner, insecure_planner, workdir):
    foreign = h.Keys.generate(workdir / "foreign-keys")
    alice = keys.token("alice", "analysts")
    signing = {"spark.lakegate.planner": planner.address}
    specs = {
        "cluster_token_env": (
            {}, {"OKERA_PLANNER": planner.address, "LAKEGATE_AUTH_MODE": "cluster-token",
                 "LAKEGATE_CLUSTER_TOKEN": keys.token("svc_etl", "etl")},
            [("alice", "analysts", WHOAMI), ("bob", "", WHOAMI)]),
        "self_signed_strict": (
            {**signing, "spark.lakegate.selfSigned": "true"}, {},
            [("alice", "analysts", WHOAMI)]),
        "self_signed_insecure": (
            {"spark.lakegate.planner": insecure_planner.address}, {"LAKEGATE_SELF_SIGNED": "true"},
            [("alice", "analysts", WHOAMI), ("bob", "", WHOAMI)]),
        "okera_token_env_overrides_signing_key": (
            {**signing, "spark.lakegate.authMode": "signing-key", "spark.lakegate.jwtSigningKey": str(keys.private)},
            {"OKERA_TOKEN": keys.token("okera_token_user")},
            [("alice", "analysts", WHOAMI), ("admin", "admin", WHOAMI)]),
        "token_conf_and_builtins_db": (
            {**signing, "spark.lakegate.token": keys.token("conf_token_user"),
             "spark.lakegate.clusterToken": keys.token("svc_etl", "etl"),
             "spark.lakegate.builtinsDb": "my_udfs"}, {},
            [("alice", "analysts", WHOAMI), (None, None, "SELECT my_udfs.mask('abcd'), my_udfs.mask_ccn('abcd-efgh')")]),
        "forged_other_key": (
            signing, {"OKERA_TOKEN": foreign.token("admin", "admin")},
            [("admin", "admin", WHOAMI)]),
        "forged_altered_payload": (
            signing, {"OKERA_TOKEN": tamper(alice, sub="admin", groups=["admin"])},
            [("admin", "admin", WHOAMI)]),
        "signing_key_not_trusted": (
            {**signing, "spark.lakegate.jwtSigningKey": foreign.private.read_text()}, {},
            [("admin", "admin", WHOAMI)]),
    }

    def run_probe(name):
        conf, env_extra, steps = specs[name]
        spec = {"conf": conf, "steps": [{"user": u, "groups": g, "sql": s} for (u, g, s) in steps]}
        path = workdir / f"probe-{name}.json"
        path.write_text(json.dumps(spec))
        env = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN_ENV_PREFIXES)}
        env.update(env_extra)
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, str(HERE / "auth_probe.py"), str(path)], env=env,
                           capture_output=True, text=True, timeout=300)
        out = [json.loads(line[6:]) for line in p.stdout.splitlines() if line.startswith("PROBE ")]
        return name, {"rc": p.returncode, "results": out, "stderr": p.stderr[-3000:],
                      "seconds": round(time.monotonic() - t0, 1)}

    with ThreadPoolExecutor(max_workers=int(os.environ.get("LAKEGATE_E2E_PROBES", "3"))) as ex:
        results = dict(ex.map(run_probe, specs))
    for name, r in results.items():
        print(f"probe {name}: {r['seconds']}s rc={r['rc']}")
    return results


def result(probes, name):
    r = probes[name]
    assert r["rc"] == 0 and r["results"], f"probe {name} broke (rc {r['rc']}):\n{r['stderr']}"
    return r["results"]


def test_cluster_token_one_identity_for_everyone(probes):
    assert result(probes, "cluster_token_env") == [{"rows": [["svc_etl"]]}, {"rows": [["svc_etl"]]}]


def test_self_signed_refused_by_strict_planner(probes, planner):
    [r] = result(probes, "self_signed_strict")
    assert "error" in r, r
    msg = r["error"]
    assert "lakegate:" in msg and planner.address in msg, msg
    assert "self-signed" in msg.lower() or "self_signed" in msg.lower(), msg
    assert "insecure-accept-self-signed" in msg, msg  # says what to do


def test_self_signed_accepted_by_insecure_planner(probes):
    assert result(probes, "self_signed_insecure") == [{"rows": [["alice"]]}, {"rows": [["bob"]]}]


def test_okera_token_overrides_all(probes):
    assert result(probes, "okera_token_env_overrides_signing_key") == [
        {"rows": [["okera_token_user"]]}, {"rows": [["okera_token_user"]]}]


def test_token_conf_overrides_and_builtins_db(probes):
    assert result(probes, "token_conf_and_builtins_db") == [
        {"rows": [["conf_token_user"]]}, {"rows": [["xxxx", "XXXX-efgh"]]}]


@pytest.mark.parametrize("name", ["forged_other_key", "forged_altered_payload", "signing_key_not_trusted"])
def test_forged_tokens_refused(probes, planner, name):
    [r] = result(probes, name)
    assert "rows" not in r, f"a forged token was accepted: {r}"
    msg = r["error"]
    assert "lakegate:" in msg and planner.address in msg, msg
    assert "signature" in msg.lower(), msg
