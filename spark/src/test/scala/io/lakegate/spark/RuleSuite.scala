package io.lakegate.spark

import java.nio.file.Files

import org.apache.spark.sql.{DataFrame, Row, SparkSession}
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

import io.lakegate.spark.client._
import io.lakegate.spark.plan.LakegateSecured

/** The plan rewrites against a recorded planner (FakePlanner), on an in-process local Spark. */
class RuleSuite extends AnyFunSuite with BeforeAndAfterAll {
  private val client = FakePlanner.client()
  private val warehouse = Files.createTempDirectory("lakegate-warehouse").toFile
  private val settings = Settings.load(Map(
    "spark.lakegate.planner" -> "recorded:12050",
    "spark.lakegate.selfSigned" -> "true",
    "spark.lakegate.groupsProperty" -> "lakegate.groups").get, _ => None)

  private lazy val spark: SparkSession = {
    LakegateRuntime.testClient = Some(client)
    LakegateRuntime.testSettings = Some(settings)
    LakegateRuntime.resetAll()
    SparkSession.builder()
      .master("local[2]")
      .appName("lakegate-rule-suite")
      .config("spark.ui.enabled", "false")
      .config("spark.sql.extensions", classOf[LakegateSparkExtension].getName)
      .config("spark.sql.catalogImplementation", "in-memory")
      .config("spark.sql.warehouse.dir", warehouse.getAbsolutePath)
      .config("spark.sql.shuffle.partitions", "2")
      .config("spark.driver.bindAddress", "127.0.0.1")
      .config("spark.driver.host", "127.0.0.1")
      .getOrCreate()
  }

  private def as[T](user: String)(f: => T): T = {
    val sc = spark.sparkContext
    val old = sc.getLocalProperty("user")
    sc.setLocalProperty("user", user)
    try f finally sc.setLocalProperty("user", old)
  }

  private def rt = LakegateRuntime.get(spark)
  private def fresh(): Unit = { rt.authorizer.clearCache(); client.reset() }
  private def rows(df: DataFrame): Seq[Row] = df.collect().toSeq

  override def beforeAll(): Unit = {
    as("admin") {
      spark.sql("CREATE DATABASE lg")
      spark.sql("CREATE DATABASE lg_sandbox")
      spark.sql("CREATE TABLE lg.users (uid INT, gender STRING, ccn STRING, ssn STRING) USING parquet")
      spark.sql("INSERT INTO lg.users VALUES (1, 'F', '4111-1111-1111-1234', '123-45'), " +
        "(2, 'M', '5500-0000-0000-0004', '456-78'), (3, 'F', '3400-0000-0000-0009', '789-01')")
      spark.sql("CREATE TABLE lg.cond (id INT, region STRING, secret STRING) USING parquet")
      spark.sql("INSERT INTO lg.cond VALUES (1, 'EU', 'abc'), (2, 'US', 'defg')")
      spark.sql("CREATE TABLE lg.secret (x INT) USING parquet")
      spark.sql("CREATE VIEW lg.v_users AS SELECT uid, ccn, ssn FROM lg.users")
    }
  }

  override def afterAll(): Unit = {
    spark.stop()
    LakegateRuntime.testClient = None
    LakegateRuntime.testSettings = None
  }

  private def lakegateError(f: => Any): String = {
    val e = intercept[Exception](f)
    val msg = Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).map(_.getMessage).find(m => m != null && m.contains("lakegate:"))
    assert(msg.isDefined, s"not a lakegate error: $e")
    msg.get
  }

  test("whoami returns the user the planner authenticated, from SQL and from spark.table") {
    as("alice") {
      assert(rows(spark.sql("SELECT * FROM okera_sample.whoami")) == Seq(Row("alice")))
      assert(spark.table("okera_sample.whoami").columns.toSeq == Seq("user"))
      assert(rows(spark.table("okera_sample.whoami")) == Seq(Row("alice")))
    }
    as("bob")(assert(rows(spark.sql("SELECT user FROM okera_sample.whoami")) == Seq(Row("bob"))))
  }

  test("removed columns disappear from SELECT *, masks keep the column name, the row filter applies") {
    fresh()
    as("alice") {
      val df = spark.sql("SELECT * FROM lg.users ORDER BY uid")
      assert(df.columns.toSeq == Seq("uid", "gender", "ccn"))
      assert(rows(df) == Seq(Row(1, "F", "XXXX-XXXX-XXXX-1234"), Row(3, "F", "XXXX-XXXX-XXXX-0009")))
      assert(client.count == 1, "one request per query")
      val req = client.requests.head
      assert(req.objects.map(_.displayName) == Seq("lg.users"))
      assert(req.objects.head.columns.map(_.name) == Seq("uid", "gender", "ccn", "ssn"), "all columns are sent")
    }
  }

  test("naming a removed column fails as not authorized, from SQL and the DataFrame API") {
    as("alice") {
      assert(lakegateError(spark.sql("SELECT ssn FROM lg.users").collect()).contains("not authorized"))
      assert(lakegateError(spark.sql("SELECT uid FROM lg.users WHERE ssn = '1'").collect()).contains("not authorized"))
      assert(lakegateError(spark.table("lg.users").select("ssn").collect()).contains("not authorized"))
    }
  }

  test("a WHERE on a masked column compares masked values; the row filter sees raw values") {
    as("alice") {
      assert(rows(spark.sql("SELECT uid FROM lg.users WHERE ccn = '4111-1111-1111-1234'")).isEmpty)
      assert(rows(spark.sql("SELECT uid FROM lg.users WHERE ccn = 'XXXX-XXXX-XXXX-1234'")) == Seq(Row(1)))
      assert(rows(spark.table("lg.users").filter("gender = 'M'")).isEmpty)
      assert(rows(spark.table("lg.users").groupBy("gender").count()) == Seq(Row("F", 2L)))
    }
  }

  test("conditional columns become a CASE: raw in EU rows, masked elsewhere") {
    as("alice") {
      assert(rows(spark.sql("SELECT id, secret FROM lg.cond ORDER BY id")) == Seq(Row(1, "abc"), Row(2, "xxxx")))
    }
  }

  test("denial fails the query with the planner's reason naming user, privilege and object") {
    as("alice") {
      val msg = lakegateError(spark.sql("SELECT * FROM lg.secret").collect())
      assert(msg.startsWith("lakegate: ") && msg.contains("alice") && msg.contains("SELECT") && msg.contains("lg.secret"))
      assert(lakegateError(spark.sql("SELECT u.uid FROM lg.users u JOIN lg.secret s ON u.uid = s.x").collect()).contains("lg.secret"))
    }
    as("bob")(assert(lakegateError(spark.table("lg.users").collect()).contains("bob")))
  }

  test("full access: the optimized plan is identical to plain Spark's") {
    val q = "SELECT gender, count(*) FROM lg.users u JOIN lg.cond c ON u.uid = c.id WHERE uid > 1 GROUP BY gender"
    as("admin") {
      val withLakegate = spark.sql(q).queryExecution.optimizedPlan
      val plain = Guard(spark.sql(q).queryExecution.optimizedPlan)
      assert(withLakegate.canonicalized == plain.canonicalized, s"\n$withLakegate\nvs\n$plain")
      assert(spark.sql(q).queryExecution.analyzed.find(_.isInstanceOf[LakegateSecured]).isEmpty)
    }
  }

  test("markers never survive optimization and are not applied twice on re-analysis") {
    as("alice") {
      val df = spark.table("lg.users")
      val df2 = df.filter("uid > 0").select("uid", "ccn")
      val markers = df2.queryExecution.analyzed.collect { case m: LakegateSecured => m }
      assert(markers.size == 1)
      assert(df2.queryExecution.optimizedPlan.find(_.isInstanceOf[LakegateSecured]).isEmpty)
      assert(rows(df2.orderBy("uid")) == Seq(Row(1, "XXXX-XXXX-XXXX-1234"), Row(3, "XXXX-XXXX-XXXX-0009")))
    }
  }

  test("a temporary view built by admin is governed by the reader's policy") {
    as("admin") {
      spark.table("lg.users").createOrReplaceTempView("tv_admin")
      spark.sql("SELECT uid, ccn FROM lg.users").createOrReplaceTempView("tv_admin_cols")
      spark.sql("CREATE OR REPLACE TEMP VIEW tv_sql AS SELECT * FROM lg.users")
      assert(rows(spark.sql("SELECT count(*) FROM tv_admin")) == Seq(Row(3L)))
    }
    as("alice") {
      assert(rows(spark.sql("SELECT uid, ccn FROM tv_admin_cols ORDER BY uid")) ==
        Seq(Row(1, "XXXX-XXXX-XXXX-1234"), Row(3, "XXXX-XXXX-XXXX-0009")))
      assert(rows(spark.sql("SELECT count(*) FROM tv_admin")) == Seq(Row(2L)))
      assert(rows(spark.sql("SELECT count(*) FROM tv_sql")) == Seq(Row(2L)))
      assert(lakegateError(spark.sql("SELECT ssn FROM tv_admin").collect()).contains("not authorized"))
    }
    as("bob")(assert(lakegateError(spark.sql("SELECT * FROM tv_admin").collect()).contains("bob")))
  }

  test("a table cached by admin does not leak to another user") {
    as("admin") {
      spark.sql("CACHE TABLE lg.users")
      assert(rows(spark.sql("SELECT count(*) FROM lg.users")) == Seq(Row(3L)))
    }
    try {
      as("alice") {
        assert(rows(spark.sql("SELECT ccn FROM lg.users ORDER BY uid")) == Seq(Row("XXXX-XXXX-XXXX-1234"), Row("XXXX-XXXX-XXXX-0009")))
      }
    } finally as("admin")(spark.sql("UNCACHE TABLE lg.users"))
  }

  test("view-only grant: carol reads the view without grants on its table; the table goes with underView") {
    fresh()
    as("carol") {
      assert(rows(spark.sql("SELECT uid, ssn FROM lg.v_users ORDER BY uid")).map(_.getInt(0)) == Seq(1, 2, 3))
      val objs = client.requests.last.objects
      assert(objs.exists(o => o.displayName == "lg.v_users" && o.isView && o.underView.isEmpty))
      assert(objs.exists(o => o.displayName == "lg.users" && o.underView == "lg.v_users"))
      assert(client.count == 1)
      assert(lakegateError(spark.table("lg.users").collect()).contains("carol"))
    }
  }

  test("a planner that fails, answers garbage or a wrong count fails closed") {
    val broken = new RecordedPlannerClient(_ => throw new PlannerUnavailable("cannot connect (refused)"), "10.0.0.1:12050")
    val wrongCount = new RecordedPlannerClient(_ => AuthorizeResponse(Nil, 1, "alice", "r"))
    val unknownEnum = new RecordedPlannerClient(_ => Json.authorizeResponse(
      """{"decisions":[{"object":"lg.users","allowed":true,"columns":[{"name":"uid","action":"COLUMN_ACTION_SOMETHING"}]}]}"""))
    val alice = io.lakegate.spark.auth.Identity("alice", Nil, "")
    for (c <- Seq(broken, wrongCount)) {
      val a = new Authorizer(settings, c, new io.lakegate.spark.auth.Credentials(settings))
      val msg = intercept[LakegateException](a.authorize(alice, Seq(AuthObject("lg", "users", columns = Seq(Column("uid", "int")))), "")).getMessage
      assert(msg.startsWith(s"lakegate: the planner at ${c.address} could not authorize this query: "), msg)
    }
    intercept[Json.MalformedAnswer](unknownEnum.authorize(AuthorizeRequest("", "", Nil), "t"))
  }

  test("writes and DDL ask for INSERT / CREATE / DROP in the same request as the reads") {
    fresh()
    as("alice") {
      spark.sql("CREATE TABLE lg_sandbox.t (uid INT, ccn STRING) USING parquet")
      assert(client.requests.last.objects.exists(o => o.database == "lg_sandbox" && o.table.isEmpty && o.action == Action.Create))
      client.reset()
      spark.sql("INSERT INTO lg_sandbox.t SELECT uid, ccn FROM lg.users")
      assert(client.count == 1, client.requests.map(_.objects.map(_.displayName)).toString)
      val objs = client.requests.head.objects
      assert(objs.exists(o => o.displayName == "lg_sandbox.t" && o.action == Action.Insert))
      assert(objs.exists(o => o.displayName == "lg.users" && o.action == Action.Select))
      assert(rows(spark.sql("SELECT ccn FROM lg_sandbox.t ORDER BY uid")) == Seq(Row("XXXX-XXXX-XXXX-1234"), Row("XXXX-XXXX-XXXX-0009")),
        "the data written is what alice may read")
      assert(lakegateError(spark.sql("INSERT INTO lg.users VALUES (9, 'F', 'x', 'y')")).contains("INSERT"))
      assert(lakegateError(spark.sql("CREATE TABLE lg.t2 (x INT) USING parquet")).contains("CREATE"))
      assert(lakegateError(spark.sql("DROP TABLE lg.secret")).contains("DROP"))
      spark.sql("CREATE TABLE lg_sandbox.ctas USING parquet AS SELECT * FROM lg.users")
      assert(spark.table("lg_sandbox.ctas").columns.toSeq == Seq("uid", "gender", "ccn"))
      spark.sql("DROP TABLE lg_sandbox.ctas")
      assert(lakegateError(spark.sql("CREATE TABLE lg_sandbox.c2 USING parquet AS SELECT * FROM lg.secret")).contains("lg.secret"))
      assert(lakegateError(spark.sql("ALTER TABLE lg.users SET TBLPROPERTIES ('a' = 'b')")).contains("ALTER"))
    }
  }

  test("SHOW TABLES / SHOW DATABASES list what the user may see; DESCRIBE hides removed columns") {
    as("alice") {
      val tables = rows(spark.sql("SHOW TABLES IN lg")).filterNot(_.getBoolean(2)).map(_.getString(1)).toSet
      assert(tables == Set("users", "v_users"), tables)
      val dbs = rows(spark.sql("SHOW DATABASES")).map(_.getString(0)).toSet
      assert(dbs.contains("lg"))
      val cols = rows(spark.sql("DESCRIBE lg.users")).map(_.getString(0))
      assert(cols.contains("ccn") && !cols.contains("ssn"), cols)
      assert(lakegateError(spark.sql("DESCRIBE lg.users ssn")).contains("not authorized"))
    }
    as("admin") {
      assert(rows(spark.sql("SHOW TABLES IN lg")).filterNot(_.getBoolean(2)).map(_.getString(1)).toSet == Set("users", "cond", "secret", "v_users"))
    }
  }

  test("builtins are callable as okera_udfs.fn(x)") {
    as("admin") {
      assert(rows(spark.sql("SELECT okera_udfs.mask('abcd'), okera_udfs.mask_ccn('abcd-efgh'), okera_udfs.sha2('abcd'), " +
        "okera_udfs.zero('x'), okera_udfs.phi_age(95)")) == Seq(Row("xxxx", "XXXX-efgh", 616221734123496248L, "", 90)))
      assert(rows(spark.sql("SELECT okera_udfs.tokenize(ccn) FROM lg.users WHERE uid = 1")) == Seq(Row("8707-6387-6340-4662")))
      assert(spark.sql("SELECT okera_udfs.diff_privacy(1.5D, 0.5)").collect().length == 1)
      intercept[Exception](spark.sql("SELECT okera_udfs.diff_privacy(1.5D, 0)").collect())
    }
  }

  test("the builtins database is each session's own setting (OKERA_BUILTINS_DB)") {
    rt // this session's runtime (builtins in okera_udfs) exists before the other's is made
    LakegateRuntime.testSettings = Some(settings.copy(builtinsDb = "corp_udfs"))
    try as("admin") {
      val other = spark.newSession()
      assert(rows(other.sql("SELECT corp_udfs.mask('abcd')")) == Seq(Row("xxxx")))
      intercept[Exception](other.sql("SELECT okera_udfs.mask('abcd')").collect())
    } finally LakegateRuntime.testSettings = Some(settings)
    as("admin") {
      assert(rows(spark.sql("SELECT okera_udfs.mask('abcd')")) == Seq(Row("xxxx")))
      intercept[Exception](spark.sql("SELECT corp_udfs.mask('abcd')").collect())
    }
  }

  test("path-based reads are URI objects, denied without a URI grant") {
    val allowed = new java.io.File("/tmp/lakegate-allowed/p1")
    val denied = Files.createTempDirectory("lakegate-denied").toFile
    as("admin") {
      spark.range(3).write.mode("overwrite").parquet(allowed.getAbsolutePath)
      spark.range(3).write.mode("overwrite").parquet(denied.getAbsolutePath + "/d")
    }
    fresh()
    as("alice") {
      assert(spark.read.parquet(allowed.getAbsolutePath).count() == 3)
      assert(client.requests.head.objects.map(_.uri) == Seq("file:///tmp/lakegate-allowed/p1"))
      assert(rows(spark.sql(s"SELECT count(*) FROM parquet.`${allowed.getAbsolutePath}`")) == Seq(Row(3L)))
      assert(lakegateError(spark.read.parquet(denied.getAbsolutePath + "/d").count()).contains("may not"))
      assert(lakegateError(spark.sql(s"SELECT * FROM parquet.`${denied.getAbsolutePath}/d`").collect()).contains("may not"))
    }
  }

  test("cached decisions: a repeated query costs no request; SQL with CTE, UNION, subqueries works") {
    fresh()
    as("alice") {
      spark.sql("SELECT uid FROM lg.users").collect()
      spark.sql("SELECT uid FROM lg.users").collect()
      assert(client.count == 1)
      assert(rows(spark.sql("WITH f AS (SELECT * FROM lg.users) SELECT count(*) FROM f")) == Seq(Row(2L)))
      assert(rows(spark.sql("SELECT uid FROM lg.users UNION ALL SELECT id FROM lg.cond")).size == 4)
      fresh()
      assert(rows(spark.sql("SELECT id FROM lg.cond WHERE id IN (SELECT uid FROM lg.users)")) == Seq(Row(1)))
      assert(client.count == 1, "tables of subqueries go in the query's one request")
      assert(client.requests.head.objects.map(_.displayName).toSet == Set("lg.cond", "lg.users"))
      assert(rows(spark.sql("SELECT id FROM lg.cond c WHERE EXISTS (SELECT 1 FROM lg.users u WHERE u.uid = c.id AND u.ccn LIKE 'XXXX%')")) == Seq(Row(1)))
    }
  }
}
