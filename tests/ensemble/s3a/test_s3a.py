"""OKERA_ENABLE_OKERA_FS: spark.read.parquet("s3a://…") through the ensemble succeeds only where the
query's user holds the grant. Every s3a request is signed with the key of the user it works for
(the extension exchanges the user's JWT at the ensemble and hands the key to the query's tasks),
so the proxy decides, also for what the extension never sees (the RDD API). Writes (uploads run
on s3a's own threads, signed chunk by chunk) need INSERT, and Spark's commit (rename = copy +
delete) needs ALL."""

import urllib.request

import pytest
from py4j.protocol import Py4JJavaError

SALES = "s3a://lake/sales/2024"
HR = "s3a://lake/hr/salaries"


@pytest.fixture(scope="module", autouse=True)
def grants(world):
    world.sql("""CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
                 GRANT SELECT ON URI 's3://lake/sales' TO ROLE analyst;
                 GRANT ALL ON URI 's3://lake/scratch/alice' TO ROLE analyst""")


@pytest.fixture(scope="module")
def data(spark, grants):
    spark.sparkContext.setLocalProperty("user", "admin")
    spark.sparkContext.setLocalProperty("groups", "admin")
    spark.range(0, 1000).selectExpr("id", "id % 7 AS k").write.mode("overwrite").parquet(SALES)
    spark.range(0, 10).selectExpr("id", "'secret' AS salary").write.mode("overwrite").parquet(HR)
    return True


def error_text(exc: Exception) -> str:
    """The Java exception and its causes (Spark 4 wraps task failures in a summary)."""
    if not isinstance(exc, Py4JJavaError):
        return str(exc)
    parts, e = [], exc.java_exception
    while e is not None and len(parts) < 20:
        parts.append(e.toString())
        e = e.getCause()
    return "\n".join(parts)


def refused_by_proxy(exc: Exception) -> bool:
    s = error_text(exc)
    return "AccessDenied" in s or "403" in s or "Forbidden" in s


def test_admin_wrote_through_the_proxy(spark, data, as_user, world):
    as_user("admin")
    assert spark.read.parquet(SALES).count() == 1000
    # The objects are in the upstream store, written by Spark's commit through the proxy.
    with urllib.request.urlopen(world.moto + "/lake?list-type=2&prefix=sales/2024/", timeout=10) as r:
        listing = r.read().decode()
    assert "sales/2024/_SUCCESS" in listing and ".parquet" in listing


def test_granted_read(spark, data, as_user):
    as_user("alice")
    df = spark.read.parquet(SALES)
    assert df.count() == 1000
    assert df.where("k = 3").count() == len([i for i in range(1000) if i % 7 == 3])


def test_denied_read(spark, data, as_user):
    as_user("alice")
    with pytest.raises(Exception) as e:
        spark.read.parquet(HR).collect()
    assert refused_by_proxy(e.value), error_text(e.value)
    as_user("bob")
    with pytest.raises(Exception) as e:
        spark.read.parquet(SALES).collect()
    assert refused_by_proxy(e.value), error_text(e.value)


def test_rdd_api_is_governed_by_the_proxy(spark, data, as_user):
    """The RDD API never reaches the extension's planning: only the per-user key stops it."""
    as_user("alice")
    files = spark.sparkContext.binaryFiles(SALES).map(lambda kv: len(kv[1])).collect()
    assert files and all(n > 0 for n in files)
    with pytest.raises(Exception) as e:
        spark.sparkContext.binaryFiles(HR).map(lambda kv: len(kv[1])).collect()
    assert refused_by_proxy(e.value), error_text(e.value)
    as_user("bob")
    with pytest.raises(Exception) as e:
        spark.sparkContext.binaryFiles(SALES).count()
    assert refused_by_proxy(e.value), error_text(e.value)


def test_keys_follow_the_user_within_one_session(spark, data, as_user):
    for user, allowed in [("alice", True), ("bob", False), ("alice", True), ("admin", True), ("bob", False)]:
        as_user(user)
        if allowed:
            assert spark.read.parquet(SALES).where("k = 1").count() > 0
        else:
            with pytest.raises(Exception):
                spark.read.parquet(SALES).where("k = 1").count()


def test_s3_scheme_goes_through_the_proxy_too(spark, data, as_user):
    as_user("alice")
    assert spark.read.parquet(SALES.replace("s3a://", "s3://")).count() == 1000
    with pytest.raises(Exception) as e:
        spark.read.parquet(HR.replace("s3a://", "s3://")).collect()
    assert refused_by_proxy(e.value), error_text(e.value)


def test_write_where_granted(spark, data, as_user):
    as_user("alice")
    spark.range(0, 50).write.mode("overwrite").parquet("s3a://lake/scratch/alice/out")
    assert spark.read.parquet("s3a://lake/scratch/alice/out").count() == 50


def test_write_where_only_read_is_granted(spark, data, as_user):
    as_user("alice")
    with pytest.raises(Exception) as e:
        spark.range(0, 5).write.mode("append").parquet("s3a://lake/sales/2025")
    assert refused_by_proxy(e.value) or "may not" in error_text(e.value), error_text(e.value)


def test_rdd_write_where_not_granted(spark, data, as_user):
    """An RDD write never reaches the extension: the proxy refuses bob's upload."""
    as_user("bob")
    with pytest.raises(Exception) as e:
        spark.sparkContext.parallelize(["x"], 1).saveAsTextFile("s3a://lake/scratch/alice/from-bob")
    assert refused_by_proxy(e.value), error_text(e.value)


# --- attacks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("key,value", [
    ("fs.s3a.endpoint", "http://127.0.0.1:9"),
    ("fs.s3a.aws.credentials.provider", "com.amazonaws.auth.EnvironmentVariableCredentialsProvider"),
    ("fs.s3a.bucket.lake.endpoint", "http://127.0.0.1:9"),
    ("spark.hadoop.fs.s3a.audit.service.classname", "org.apache.hadoop.fs.s3a.audit.impl.NoopAuditor"),
    ("fs.s3a.s3.client.factory.impl", "org.apache.hadoop.fs.s3a.DefaultS3ClientFactory"),
])
def test_a_session_cannot_reroute_s3a(spark, data, as_user, key, value):
    """SET/spark.conf.set of an s3 routing setting reaches the Hadoop configuration of the
    session's queries: refused, every query fails until it is removed."""
    as_user("alice")
    spark.conf.set(key, value)
    try:
        with pytest.raises(Exception) as e:
            spark.read.parquet(SALES).count()
        assert "OKERA_ENABLE_OKERA_FS" in error_text(e.value) and key in error_text(e.value)
        with pytest.raises(Exception):
            spark.sql("SELECT 1").collect()
    finally:
        spark.conf.unset(key)
    assert spark.read.parquet(SALES).count() == 1000


def test_tuning_settings_stay_allowed(spark, data, as_user):
    as_user("alice")
    spark.conf.set("fs.s3a.readahead.range", "128K")
    try:
        assert spark.read.parquet(SALES).count() == 1000
    finally:
        spark.conf.unset("fs.s3a.readahead.range")


def test_another_users_dataframe_does_not_lend_its_key(spark, data, as_user):
    """A DataFrame planned as alice and run again as bob: its tasks carry alice's key bound to
    alice, and bob's tasks refuse to use it."""
    as_user("alice")
    df = spark.read.parquet(SALES)
    assert df.count() == 1000
    rows = df.where("k = 2")
    assert len(rows.collect()) > 0
    as_user("bob")
    with pytest.raises(Exception) as e:
        rows.collect()
    assert "runs for user 'bob' but carries the access key taken for 'alice'" in error_text(e.value), \
        error_text(e.value)


def test_the_driver_binds_the_key_of_whoever_touches_s3a(spark, data, as_user):
    """A file system call on the driver outside any query takes the current user's key and
    binds it to the thread, so the jobs that follow carry it."""
    sc = spark.sparkContext
    for user in ("alice", "bob"):
        as_user(user)
        for p in ("spark.lakegate.ensemble.accessKey", "spark.lakegate.ensemble.secretKey",
                  "spark.lakegate.ensemble.boundTo"):
            sc.setLocalProperty(p, None)
        path = spark._jvm.org.apache.hadoop.fs.Path(SALES)
        fs = path.getFileSystem(sc._jsc.hadoopConfiguration())
        if user == "alice":
            assert len(fs.listStatus(path)) > 0
        else:
            with pytest.raises(Exception) as e:
                fs.listStatus(path)
            assert refused_by_proxy(e.value), error_text(e.value)
        assert sc.getLocalProperty("spark.lakegate.ensemble.boundTo") == user


def test_a_reader_option_cannot_reroute_a_bucket_in_use(spark, data, as_user):
    """spark.read.option("fs.s3a.endpoint", …) on a bucket whose s3a file system exists: the query
    is refused (the option reached the Hadoop configuration the files were listed with)."""
    as_user("alice")
    with pytest.raises(Exception) as e:
        spark.read.option("fs.s3a.endpoint", "http://127.0.0.1:9").parquet(SALES).count()
    assert "this read sets fs.s3a.endpoint" in error_text(e.value), error_text(e.value)
    assert spark.read.parquet(SALES).count() == 1000


def test_a_reader_option_cannot_make_a_misrouted_file_system(spark, data, as_user, world):
    """On a bucket no one touched yet in this JVM, the option would make the bucket's s3a file
    system, cached for everyone: lakegate's auditor refuses to start it, so nothing is cached and
    the next reader of that bucket gets one that goes through the ensemble."""
    urllib.request.urlopen(urllib.request.Request(world.moto + "/spare", method="PUT"), timeout=10).close()
    as_user("admin")
    with pytest.raises(Exception) as e:
        spark.read.option("fs.s3a.endpoint", "http://127.0.0.1:9").parquet("s3a://spare/x").count()
    assert "does not go through the ensemble" in error_text(e.value), error_text(e.value)
    spark.range(0, 3).write.mode("overwrite").parquet("s3a://spare/x")
    assert spark.read.parquet("s3a://spare/x").count() == 3


def test_with_the_ensemble_down_only_s3_fails(spark, data, as_user, world):
    """Last in the module: stops the ensemble. A user who holds no key yet: queries that read no
    S3 still run; an S3 read fails closed, saying the ensemble could not issue a key."""
    world.ensemble.terminate()
    world.ensemble.wait(timeout=20)
    as_user("carol")
    assert spark.sql("SELECT 1 AS x").collect()[0].x == 1
    assert spark.range(0, 10).count() == 10
    with pytest.raises(Exception) as e:
        spark.read.parquet(SALES).count()
    assert "could not issue an S3 access key for user 'carol'" in error_text(e.value), error_text(e.value)
    with pytest.raises(Exception) as e:
        spark.sparkContext.binaryFiles(SALES).count()
    assert "could not issue an S3 access key for user 'carol'" in error_text(e.value), error_text(e.value)
