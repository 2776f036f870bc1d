"""The AWS CLI (v1, botocore) through the proxy, with the access key from credential_process:
`lakegate ensemble credentials --output json` run by the CLI itself."""

import os
import subprocess

import pytest

from conftest import BIN, clean_env


@pytest.fixture(scope="module")
def aws(world, tmp_path_factory):
    home = tmp_path_factory.mktemp("awshome")
    cfg = home / "config"

    def run(user_token: str, *args, check=True):
        cfg.write_text("[default]\nregion = us-east-1\n"
                       f"credential_process = {BIN} ensemble credentials --output json\n"
                       "s3 =\n    addressing_style = path\n    signature_version = s3v4\n")
        env = clean_env(AWS_CONFIG_FILE=str(cfg), AWS_SHARED_CREDENTIALS_FILE=str(home / "none"),
                        OKERA_TOKEN=user_token, LAKEGATE_ENSEMBLE=world.endpoint, AWS_EC2_METADATA_DISABLED="true",
                        AWS_MAX_ATTEMPTS="1", HOME=str(home))
        aws_bin = os.path.join(os.path.dirname(os.path.realpath(__import__("sys").executable)), "aws")
        r = subprocess.run([aws_bin, "--endpoint-url", world.endpoint, *args], env=env, capture_output=True,
                           text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    return run


def test_cli_reads_and_lists(world, aws):
    r = aws(world.alice_token, "s3", "cp", "s3://lake/sales/2024/part-0.parquet", "-")
    assert r.stdout == "sales data"
    r = aws(world.alice_token, "s3", "ls", "s3://lake/sales/")
    assert "2024/" in r.stdout and "public/" in r.stdout
    r = aws(world.alice_token, "s3", "cp", "s3://lake/hr/salaries.csv", "-", check=False)
    assert r.returncode != 0 and "403" in r.stderr
    r = aws(world.alice_token, "s3", "ls", "s3://lake/", check=False)
    assert r.returncode != 0 and "AccessDenied" in r.stderr
    r = aws(world.bob_token, "s3api", "get-object", "--bucket", "lake", "--key", "sales/2024/part-0.parquet", "/dev/null", check=False)
    assert r.returncode != 0 and "AccessDenied" in r.stderr


def test_cli_writes_copies_deletes(world, aws, tmp_path):
    src = tmp_path / "f.txt"
    src.write_text("from the aws cli")
    aws(world.alice_token, "s3", "cp", str(src), "s3://lake/scratch/alice/cli.txt")
    assert world.direct.get_object(Bucket="lake", Key="scratch/alice/cli.txt")["Body"].read() == b"from the aws cli"
    r = aws(world.alice_token, "s3", "cp", str(src), "s3://lake/sales/cli.txt", check=False)
    assert r.returncode != 0 and "AccessDenied" in r.stderr
    aws(world.alice_token, "s3", "cp", "s3://lake/sales/public/readme", "s3://lake/scratch/alice/readme-copy")
    r = aws(world.alice_token, "s3", "cp", "s3://lake/eng/secret.txt", "s3://lake/scratch/alice/stolen", check=False)
    assert r.returncode != 0
    aws(world.alice_token, "s3", "rm", "s3://lake/scratch/alice/cli.txt")
    r = aws(world.bob_token, "s3", "rm", "s3://lake/sales/public/readme", check=False)
    assert r.returncode != 0 and "AccessDenied" in r.stderr


def test_cli_multipart(world, aws, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1 << 20) * 9)  # 9 MiB: the CLI uploads it in parts
    aws(world.bob_token, "s3", "cp", str(big), "s3://lake/eng/big.bin")
    assert world.direct.head_object(Bucket="lake", Key="eng/big.bin")["ContentLength"] == 9 << 20
    r = aws(world.bob_token, "s3", "cp", str(big), "s3://lake/sales/big.bin", check=False)
    assert r.returncode != 0


def test_cli_presign(world, aws):
    import urllib.request
    url = aws(world.alice_token, "s3", "presign", "s3://lake/sales/public/readme", "--expires-in", "60").stdout.strip()
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"public"
