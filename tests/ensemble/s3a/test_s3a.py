"""spark.read.parquet("s3a://…") through the ensemble succeeds only where the user holds the grant;
writes (the AWS SDK for Java v1 signs uploads over HTTP as STREAMING-AWS4-HMAC-SHA256-PAYLOAD, each
chunk signed) need INSERT, and Spark's commit (rename = copy + delete) needs ALL."""

import pytest
from py4j.protocol import Py4JJavaError


@pytest.fixture(scope="module")
def keys(world):
    world.sql("""CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
                 GRANT SELECT ON URI 's3://lake/sales' TO ROLE analyst;
                 GRANT ALL ON URI 's3://lake/scratch/alice' TO ROLE analyst""")
    return {"admin": world.key("root", "admin"), "alice": world.key("alice", "analysts"), "bob": world.key("bob", "eng")}


@pytest.fixture(scope="module")
def data(spark, keys):
    from pyspark.sql import SparkSession  # noqa: F401
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    conf.set("fs.s3a.access.key", keys["admin"]["AccessKeyId"])
    conf.set("fs.s3a.secret.key", keys["admin"]["SecretAccessKey"])
    spark.range(0, 1000).selectExpr("id", "id % 7 AS k").write.parquet("s3a://lake/sales/2024")
    spark.range(0, 10).selectExpr("id", "'secret' AS salary").write.parquet("s3a://lake/hr/salaries")
    return True


def denied(exc: Py4JJavaError) -> bool:
    s = str(exc.java_exception)
    return "403" in s or "AccessDenied" in s or "Forbidden" in s


def test_admin_wrote_through_the_proxy(spark, keys, data, as_user):
    as_user(keys["admin"])
    assert spark.read.parquet("s3a://lake/sales/2024").count() == 1000


def test_granted_read(spark, keys, data, as_user):
    as_user(keys["alice"])
    df = spark.read.parquet("s3a://lake/sales/2024")
    assert df.count() == 1000
    assert df.where("k = 3").count() == len([i for i in range(1000) if i % 7 == 3])


def test_denied_read(spark, keys, data, as_user):
    as_user(keys["alice"])
    with pytest.raises(Py4JJavaError) as e:
        spark.read.parquet("s3a://lake/hr/salaries").collect()
    assert denied(e.value)
    as_user(keys["bob"])
    with pytest.raises(Py4JJavaError) as e:
        spark.read.parquet("s3a://lake/sales/2024").collect()
    assert denied(e.value)


def test_write_where_granted(spark, keys, data, as_user):
    as_user(keys["alice"])
    spark.range(0, 50).write.mode("overwrite").parquet("s3a://lake/scratch/alice/out")
    assert spark.read.parquet("s3a://lake/scratch/alice/out").count() == 50


def test_write_where_only_read_is_granted(spark, keys, data, as_user):
    as_user(keys["alice"])
    with pytest.raises(Py4JJavaError) as e:
        spark.range(0, 5).write.mode("append").parquet("s3a://lake/sales/2025")
    assert denied(e.value)
