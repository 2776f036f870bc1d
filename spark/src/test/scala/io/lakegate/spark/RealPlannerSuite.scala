package io.lakegate.spark

import java.io.File
import java.net.ServerSocket
import java.nio.file.Files

import scala.sys.process._

import org.apache.spark.sql.{Row, SparkSession}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/**
 * Against the real planner binary (bin/lakegate, built by `make build`; the suite is skipped
 * without it): the wire format, JWT signing with a shared key, masks, filters and denials as
 * the planner decides them, and failing closed when the planner is gone.
 */
class RealPlannerSuite extends AnyFunSuite with BeforeAndAfterAll {
  private val root = new File(Option(System.getProperty("lakegate.repo.root")).getOrElse("..")).getCanonicalFile
  private val bin = Option(System.getenv("LAKEGATE_BIN")).map(new File(_)).getOrElse(new File(root, "bin/lakegate"))
  private val available = bin.canExecute
  private val dir = Files.createTempDirectory("lakegate-real").toFile
  private val port = { val s = new ServerSocket(0); try s.getLocalPort finally s.close() }
  private val address = s"127.0.0.1:$port"
  private var server: Process = _
  private var spark: SparkSession = _

  private def run(args: String*): String = {
    val out = new StringBuilder
    val code = Process(bin.getPath +: args).!(ProcessLogger(l => out.append(l).append('\n'), l => out.append(l).append('\n')))
    assert(code == 0, s"lakegate ${args.mkString(" ")}: $out")
    out.toString
  }

  private def token(user: String, groups: String = ""): String =
    run(Seq("token", "--key", s"$dir/k/jwt-private.pem", "--user", user) ++ (if (groups.nonEmpty) Seq("--groups", groups) else Nil): _*).trim

  private def sql(statements: String): Unit =
    run("sql", "--planner", address, "--token", token("root", "admin"), statements)

  override def beforeAll(): Unit = {
    if (!available) return
    run("keygen", "--out", s"$dir/k")
    server = Process(Seq(bin.getPath, "serve", "--listen", address, "--data-dir", s"$dir/data",
      "--jwt-public-key", s"$dir/k/jwt-public.pem", "--log-level", "warn")).run(ProcessLogger(_ => (), _ => ()))
    val deadline = System.currentTimeMillis() + 20000
    var up = false
    while (!up && System.currentTimeMillis() < deadline) {
      up = scala.util.Try(new java.net.Socket("127.0.0.1", port).close()).isSuccess
      if (!up) Thread.sleep(100)
    }
    assert(up, "the planner did not start")
    sql("""CREATE DATABASE lgr; CREATE TABLE lgr.users (uid int, gender string, ccn string, ssn string);
      ALTER TABLE lgr.users ADD COLUMN ATTRIBUTE ccn pii.credit_card;
      CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
      GRANT SELECT(uid, gender, ccn) ON TABLE lgr.users TRANSFORM pii.credit_card WITH mask_ccn() WHERE gender = 'F' TO ROLE analyst""")
    LakegateRuntime.testClient = None
    LakegateRuntime.testSettings = Some(Settings.load(Map(
      "spark.lakegate.planner" -> address,
      "spark.lakegate.jwtSigningKey" -> s"$dir/k/jwt-private.pem",
      "spark.lakegate.groupsProperty" -> "lakegate.groups",
      "spark.lakegate.requestTimeoutMs" -> "5000").get, _ => None))
    LakegateRuntime.resetAll()
    spark = SparkSession.builder().master("local[2]").appName("lakegate-real-planner")
      .config("spark.ui.enabled", "false")
      .config("spark.sql.extensions", classOf[LakegateSparkExtension].getName)
      .config("spark.sql.catalogImplementation", "in-memory")
      .config("spark.sql.warehouse.dir", s"$dir/warehouse")
      .config("spark.sql.shuffle.partitions", "2")
      .config("spark.driver.bindAddress", "127.0.0.1")
      .config("spark.driver.host", "127.0.0.1")
      .getOrCreate()
    as("root", "admin") {
      spark.sql("CREATE DATABASE lgr")
      spark.sql("CREATE TABLE lgr.users (uid INT, gender STRING, ccn STRING, ssn STRING) USING parquet")
      spark.sql("INSERT INTO lgr.users VALUES (1, 'F', '4111-1111-1111-1234', 'a'), (2, 'M', '5500-0000-0000-0004', 'b')")
    }
  }

  override def afterAll(): Unit = {
    if (spark != null) spark.stop()
    if (server != null) server.destroy()
    LakegateRuntime.testSettings = None
    LakegateRuntime.resetAll()
  }

  private def as[T](user: String, groups: String = "")(f: => T): T = {
    val sc = spark.sparkContext
    sc.setLocalProperty("user", user)
    sc.setLocalProperty("lakegate.groups", groups)
    try f finally { sc.setLocalProperty("user", null); sc.setLocalProperty("lakegate.groups", null) }
  }

  private def lakegateError(f: => Any): String = {
    val e = intercept[Exception](f)
    Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).map(_.getMessage)
      .find(m => m != null && m.contains("lakegate:")).getOrElse(fail(s"not a lakegate error: $e"))
  }

  test("whoami, masks, row filter, removed columns and denial as the real planner decides") {
    assume(available, s"$bin not built (make build)")
    as("alice", "analysts") {
      assert(spark.sql("SELECT * FROM okera_sample.whoami").collect().toSeq == Seq(Row("alice")))
      val df = spark.sql("SELECT * FROM lgr.users")
      assert(df.columns.toSeq == Seq("uid", "gender", "ccn"))
      assert(df.collect().toSeq == Seq(Row(1, "F", "XXXX-XXXX-XXXX-1234")))
      assert(lakegateError(spark.sql("SELECT ssn FROM lgr.users").collect()).contains("not authorized"))
    }
    as("bob") {
      val msg = lakegateError(spark.table("lgr.users").collect())
      assert(msg.contains("bob") && msg.contains("SELECT") && msg.contains("lgr.users"), msg)
    }
  }

  test("a stopped planner fails every governed query closed, naming the planner") {
    assume(available, s"$bin not built (make build)")
    server.destroy()
    server.exitValue()
    LakegateRuntime.get(spark).authorizer.clearCache()
    as("alice", "analysts") {
      val msg = lakegateError(spark.sql("SELECT * FROM lgr.users").collect())
      assert(msg.startsWith(s"lakegate: the planner at $address could not authorize this query: "), msg)
    }
  }
}
