"""boto3 through the proxy: two users, allowed and denied reads, writes, listings, deletes, copies,
multipart uploads, presigned URLs, and the attacks on keys."""

import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError


def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_get(alice, bob):
    assert alice.get_object(Bucket="lake", Key="sales/2024/part-0.parquet")["Body"].read() == b"sales data"
    assert bob.get_object(Bucket="lake", Key="sales/public/readme")["Body"].read() == b"public"
    for client, key in [(alice, "eng/secret.txt"), (alice, "salesx/secret"), (bob, "sales/2024/part-0.parquet")]:
        with pytest.raises(ClientError) as e:
            client.get_object(Bucket="lake", Key=key)
        assert code(e) == "AccessDenied", key


def test_range_and_errors_pass_through(alice):
    r = alice.get_object(Bucket="lake", Key="sales/2024/part-0.parquet", Range="bytes=6-9")
    assert r["Body"].read() == b"data"
    with pytest.raises(ClientError) as e:
        alice.get_object(Bucket="lake", Key="sales/missing")
    assert code(e) == "NoSuchKey"


def test_put(world, alice, bob):
    alice.put_object(Bucket="lake", Key="scratch/alice/b3.txt", Body=b"from boto3")
    assert world.direct.get_object(Bucket="lake", Key="scratch/alice/b3.txt")["Body"].read() == b"from boto3"
    with pytest.raises(ClientError) as e:
        alice.put_object(Bucket="lake", Key="sales/new", Body=b"x")
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        bob.put_object(Bucket="lake", Key="scratch/alice/bob", Body=b"x")
    assert code(e) == "AccessDenied"


def test_list(alice, bob):
    keys = [o["Key"] for o in alice.list_objects_v2(Bucket="lake", Prefix="sales/")["Contents"]]
    assert sorted(keys) == ["sales/2024/part-0.parquet", "sales/public/readme"]
    for prefix in ("sales", ""):
        with pytest.raises(ClientError) as e:
            alice.list_objects_v2(Bucket="lake", Prefix=prefix)
        assert code(e) == "AccessDenied", f"prefix {prefix!r} is wider than the grant"
    assert [o["Key"] for o in bob.list_objects(Bucket="lake", Prefix="sales/public/")["Contents"]] == ["sales/public/readme"]
    with pytest.raises(ClientError):
        bob.list_objects_v2(Bucket="lake", Prefix="sales/")


def test_buckets(alice, bob):
    assert [b["Name"] for b in bob.list_buckets()["Buckets"]] == ["other"]
    assert alice.list_buckets()["Buckets"] == []
    bob.head_bucket(Bucket="other")
    with pytest.raises(ClientError):
        alice.head_bucket(Bucket="lake")


def test_delete(world, alice, bob):
    alice.put_object(Bucket="lake", Key="scratch/alice/d1", Body=b"1")
    alice.put_object(Bucket="lake", Key="scratch/alice/d2", Body=b"2")
    alice.delete_object(Bucket="lake", Key="scratch/alice/d1")
    with pytest.raises(ClientError) as e:
        bob.delete_object(Bucket="lake", Key="sales/public/readme")
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        alice.delete_objects(Bucket="lake", Delete={"Objects": [{"Key": "scratch/alice/d2"}, {"Key": "eng/secret.txt"}]})
    assert code(e) == "AccessDenied"
    world.direct.head_object(Bucket="lake", Key="scratch/alice/d2")  # nothing of a refused batch is deleted
    alice.delete_objects(Bucket="lake", Delete={"Objects": [{"Key": "scratch/alice/d2"}]})
    with pytest.raises(ClientError):
        world.direct.head_object(Bucket="lake", Key="scratch/alice/d2")


def test_copy(alice):
    with pytest.raises(ClientError) as e:
        alice.copy_object(Bucket="lake", Key="scratch/alice/stolen", CopySource={"Bucket": "lake", "Key": "hr/salaries.csv"})
    assert code(e) == "AccessDenied"
    alice.copy_object(Bucket="lake", Key="scratch/alice/copied", CopySource={"Bucket": "lake", "Key": "sales/public/readme"})
    assert alice.get_object(Bucket="lake", Key="scratch/alice/copied")["Body"].read() == b"public"


def test_multipart(world, alice, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"p" * (9 << 20))  # above boto3's 8 MiB multipart threshold
    alice.upload_file(str(big), "lake", "scratch/alice/big.bin")
    assert world.direct.head_object(Bucket="lake", Key="scratch/alice/big.bin")["ContentLength"] == 9 << 20
    got = tmp_path / "got.bin"
    alice.download_file("lake", "scratch/alice/big.bin", str(got))  # ranged GETs in parallel
    assert got.read_bytes() == big.read_bytes()
    with pytest.raises(ClientError) as e:
        alice.create_multipart_upload(Bucket="lake", Key="sales/big.bin")
    assert code(e) == "AccessDenied"
    up = world.direct.create_multipart_upload(Bucket="lake", Key="eng/big.bin")
    with pytest.raises(ClientError) as e:
        alice.upload_part(Bucket="lake", Key="eng/big.bin", UploadId=up["UploadId"], PartNumber=1, Body=b"x")
    assert code(e) == "AccessDenied"


def test_presigned(alice):
    url = alice.generate_presigned_url("get_object", Params={"Bucket": "lake", "Key": "sales/2024/part-0.parquet"}, ExpiresIn=300)
    assert http_get(url) == (200, b"sales data")
    status, body = http_get(url.replace("sales/2024/part-0.parquet", "hr/salaries.csv"))
    assert status == 403 and b"SignatureDoesNotMatch" in body, "tampered"
    denied = alice.generate_presigned_url("get_object", Params={"Bucket": "lake", "Key": "hr/salaries.csv"}, ExpiresIn=300)
    status, body = http_get(denied)
    assert status == 403 and b"AccessDenied" in body
    short = alice.generate_presigned_url("get_object", Params={"Bucket": "lake", "Key": "sales/2024/part-0.parquet"}, ExpiresIn=1)
    time.sleep(2.1)
    status, body = http_get(short)
    assert status == 403 and b"expired" in body, "expired"


def test_sigv2_presign_refused(world):
    import boto3
    from botocore.config import Config
    c = boto3.client("s3", endpoint_url=world.endpoint, region_name="us-east-1", aws_access_key_id=world.alice_creds["AccessKeyId"],
                     aws_secret_access_key=world.alice_creds["SecretAccessKey"], config=Config(s3={"addressing_style": "path"}, signature_version="s3"))
    status, body = http_get(c.generate_presigned_url("get_object", Params={"Bucket": "lake", "Key": "sales/public/readme"}))
    assert status == 400 and b"signature version 2" in body


def test_key_attacks(world):
    good = world.alice_creds
    wrong = world.client({"AccessKeyId": good["AccessKeyId"], "SecretAccessKey": ("A" if good["SecretAccessKey"][0] != "A" else "B") + good["SecretAccessKey"][1:]})
    with pytest.raises(ClientError) as e:
        wrong.get_object(Bucket="lake", Key="sales/2024/part-0.parquet")
    assert code(e) == "SignatureDoesNotMatch"
    unknown = world.client({"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
    with pytest.raises(ClientError) as e:
        unknown.get_object(Bucket="lake", Key="sales/2024/part-0.parquet")
    assert code(e) == "InvalidAccessKeyId"


def test_revoked_key(world):
    from conftest import clean_env, lakegate
    creds = world.credentials(world.alice_token)
    c = world.client(creds)
    c.head_object(Bucket="lake", Key="sales/2024/part-0.parquet")
    lakegate("ensemble", "revoke", "--access-key-id", creds["AccessKeyId"],
             env=clean_env(OKERA_TOKEN=world.alice_token, LAKEGATE_ENSEMBLE=world.endpoint))
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket="lake", Key="sales/2024/part-0.parquet")
    assert code(e) == "InvalidAccessKeyId"


def test_path_tricks(alice):
    for key in ["sales/../eng/secret.txt", "sales/./x", "sales//2024/part-0.parquet", "sales\u2215..\u2215eng"]:
        with pytest.raises(ClientError) as e:
            alice.get_object(Bucket="lake", Key=key)
        assert code(e) == "AccessDenied", key
