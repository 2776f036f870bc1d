// A Spark 3.5 / Scala 2.13 driver for scripts/spark-smoke-213.sh: PyPI's pyspark 3.5 ships Scala
// 2.12 only, so this checks that lakegate-spark-3.5_2.13.jar loads and enforces on Spark's own
// Scala 2.13 jars (from Maven). Args: PLANNER_HOST:PORT SIGNING_KEY_PEM USERS_PARQUET_DIR WORK_DIR.
// Prints "SMOKE <name> <value>" lines; exits 1 on the first unexpected result.
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

public class Smoke {
  static SparkSession spark;

  static void as(String user, String groups) {
    spark.sparkContext().setLocalProperty("user", user);
    spark.sparkContext().setLocalProperty("groups", groups);
  }

  static String first(String sql) {
    List<Row> rows = spark.sql(sql).collectAsList();
    return rows.isEmpty() ? "<no rows>" : rows.get(0).mkString("|");
  }

  static void expect(String name, String got, String want) {
    System.out.println("SMOKE " + name + " " + got);
    if (!got.equals(want)) {
      System.out.println("SMOKE-FAIL " + name + ": got " + got + ", want " + want);
      System.exit(1);
    }
  }

  public static void main(String[] a) {
    spark = SparkSession.builder().master("local[1]").appName("lakegate-smoke-2.13")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", a[3] + "/warehouse")
        .config("spark.sql.extensions", "io.lakegate.spark.LakegateSparkExtension")
        .config("spark.lakegate.planner", a[0])
        .config("spark.lakegate.jwtSigningKey", a[1])
        .config("spark.lakegate.groupsProperty", "groups")
        .getOrCreate();
    expect("scala", scala.util.Properties.versionNumberString().substring(0, 4), "2.13");
    as("admin", "admin");
    spark.sql("CREATE DATABASE okera_sample");
    spark.sql("CREATE TABLE okera_sample.users USING parquet LOCATION '" + a[2] + "'");
    expect("admin-count", first("SELECT count(*) FROM okera_sample.users"), "300");
    as("alice", "analysts");
    expect("whoami", first("SELECT * FROM okera_sample.whoami"), "alice");
    expect("alice-count", first("SELECT count(*) FROM okera_sample.users"), "150");
    expect("alice-masked", first("SELECT count(*) FROM okera_sample.users WHERE ccn LIKE 'XXXX-XXXX-XXXX-%'"), "150");
    expect("builtin", first("SELECT okera_udfs.mask_ccn('abcd-efgh')"), "XXXX-efgh");
    as("bob", "");
    String denied;
    try {
      spark.sql("SELECT * FROM okera_sample.users").collectAsList();
      denied = "no error";
    } catch (Exception e) {
      denied = e.getMessage().startsWith("lakegate:") && e.getMessage().contains("bob") ? "denied" : e.getMessage();
    }
    expect("bob", denied, "denied");
    spark.stop();
    System.out.println("SMOKE ok");
  }
}
