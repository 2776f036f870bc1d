"""Processes for the ensemble's end-to-end tests (tests/ensemble, tests/ensemble/s3a): the lakegate
binary, free ports, an environment without the caller's lakegate/Okera/AWS settings, and waiting
for a started server to answer."""

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("LAKEGATE_BIN") or str(ROOT / "bin" / "lakegate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEGATE_", "OKERA_", "AWS_"))}
    env.update(extra)
    return env


def lakegate(*args, env=None, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run([BIN, *args], env=env or clean_env(), capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"lakegate {' '.join(args)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def wait_http(url: str, proc: subprocess.Popen, log, what: str) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start:\n{Path(log).read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready in 30s:\n{Path(log).read_text()}")
